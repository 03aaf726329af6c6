//! The JSON API under `/api/v1`, one file per platform module, and the API's shared kit:
//! extractors whose rejections are problem+json, paging, PATCH merging, the problem responses
//! of the OpenAPI 3.1 document (generated from the handlers' annotations, merged from every
//! module, browsable at `/api/docs`).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use axum::Router;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kehu_domain::{DomainError, FieldError};
use kehu_store::PageRequest;
use kehu_store::page::{Cursor, ListRequest, Listing, Sort, SortKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

pub use crate::access::{Granted, NeedsRight, need};
use crate::error::{ApiError, AppError, InvalidParam, Problem};
use crate::i18n::FluentArg;
use crate::state::AppState;

pub mod audit;
pub mod dictionary;
pub mod jobs;
pub mod me;
pub mod notifications;
pub mod rights;
pub mod roles;
pub mod search;
pub mod time;
pub mod tokens;
pub mod users;

/// The API's common part of the OpenAPI document: title, security schemes, problem
/// documents. Each module merges in its own paths, schemas and tags (`Modules::openapi`).
#[derive(OpenApi)]
#[openapi(
    info(title = "kehu API", description = "kehu (客户), the customer relationship manager."),
    components(schemas(Problem, InvalidParam)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("kehu_session"))),
        );
    }
}

/// The OpenAPI document and its browsable UI (assets vendored into the binary).
pub fn docs_router(doc: utoipa::openapi::OpenApi) -> Router<AppState> {
    SwaggerUi::new("/api/docs")
        .url("/api/openapi.json", doc)
        // No online-validator badge: it would send the document's address to a third party,
        // and the content security policy blocks its image anyway.
        .config(utoipa_swagger_ui::Config::default().validator_url("none"))
        .into()
}

/// One page of a list, as every list endpoint answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOf<T> {
    pub items: Vec<T>,
    /// How many rows match. Counting stops at 10,000: with more, `total` is 10,000 and
    /// `total_exact` is false ("10,000+").
    pub total: u64,
    /// False when more than `total` rows match (see `total`).
    pub total_exact: bool,
    /// The `page` asked for (1 when paging by `cursor`).
    pub page: u64,
    pub per_page: u64,
    /// Pass as `cursor` for the rows after this page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Pass as `cursor` for the rows before this page; `null` on the first page.
    pub prev_cursor: Option<String>,
}

impl<T> ListOf<T> {
    /// One page of a list the store returns whole (roles, rights, kinds, tokens: a handful).
    pub fn from_vec(all: Vec<T>, req: PageRequest) -> Self {
        let total = all.len() as u64;
        let skip = usize::try_from(req.offset()).unwrap_or(usize::MAX);
        let take = usize::try_from(req.per_page).unwrap_or(usize::MAX);
        Self {
            items: all.into_iter().skip(skip).take(take).collect(),
            total,
            total_exact: true,
            page: req.page,
            per_page: req.per_page,
            next_cursor: None,
            prev_cursor: None,
        }
    }

    pub fn from_page<U>(p: kehu_store::Page<U>, f: impl FnMut(U) -> T) -> Self {
        Self {
            total: p.total,
            total_exact: true,
            page: p.page,
            per_page: p.per_page,
            items: p.items.into_iter().map(f).collect(),
            next_cursor: None,
            prev_cursor: None,
        }
    }

    /// A page of a list on the list kit (keyset paging, capped count).
    pub fn from_listing<U>(l: Listing<U>, f: impl FnMut(U) -> T) -> Self {
        Self {
            total: l.count.value,
            total_exact: l.count.exact,
            page: l.page,
            per_page: l.per_page,
            next_cursor: l.next.as_ref().map(Cursor::encode),
            prev_cursor: l.prev.as_ref().map(Cursor::encode),
            items: l.items.into_iter().map(f).collect(),
        }
    }
}

/// What a list endpoint was asked for: its sort (the list's default when absent), and a
/// `cursor`, else the offset `page`. A cursor this list did not make for this sort is a 400
/// `invalid_cursor`.
pub fn list_request<K: SortKey>(
    sort: Option<Sort<K>>,
    cursor: Option<&str>,
    page: Option<u64>,
    per_page: Option<u64>,
) -> Result<ListRequest<K>, AppError> {
    let sort = sort.unwrap_or_default();
    let cursor = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(Cursor::decode(c, sort).map_err(|_| {
            let tr = crate::context::current_tr();
            AppError::BadParam {
                code: "invalid_cursor",
                reason: tr.t("err-cursor"),
                param: FieldError::new("cursor", "err-cursor"),
            }
        })?),
    };
    Ok(ListRequest::new(
        sort,
        cursor,
        PageRequest::new(page, per_page),
    ))
}

/// A period bound: an RFC 3339 instant, or a day in time zone `zone` (the configured one)
/// whose start (`from`) or end (`to`) is meant: 2026-03-01 in Beijing begins at 16:00 UTC the
/// day before. Empty is no bound; anything else is a field error (`err-date`). Lists filter
/// periods with it.
pub fn period_bound(
    field: &str,
    input: Option<&str>,
    end_of_day: bool,
    zone: crate::config::TimeZone,
) -> Result<Option<DateTime<Utc>>, FieldError> {
    let Some(s) = input.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| if end_of_day { d.succ_opt() } else { Some(d) })
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| zone.tz().from_local_datetime(&t).earliest())
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(|| FieldError::new(field, "err-date"))
}

/// A list's period filter, `{name}_from` and `{name}_to` ([`period_bound`]: the first day's
/// start, the last day's end), a bad bound a field error in `e` under its own name.
pub fn period(
    e: &mut kehu_domain::error::Errors,
    name: &str,
    (from, to): (Option<&str>, Option<&str>),
    zone: crate::config::TimeZone,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let from = e.check(period_bound(&format!("{name}_from"), from, false, zone));
    let to = e.check(period_bound(&format!("{name}_to"), to, true, zone));
    (from.flatten(), to.flatten())
}

/// JSON body whose rejections are problem+json (`malformed_json`), never axum's plain text.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError(AppError::bad_request(
                "unsupported_media_type",
                "Content-Type must be application/json",
            ))),
            Err(e) => Err(ApiError(AppError::bad_request(
                "malformed_json",
                e.body_text(),
            ))),
        }
    }
}

/// Query string whose rejections are problem+json naming the parameter: `malformed_query`
/// when a value does not parse, `parameter_out_of_range` when a number is outside its bounds.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
        // The path to the error names the parameter, which axum's own `Query` does not say.
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let name = match e.path().to_string() {
                    p if p == "." => "query".to_owned(),
                    p => p,
                };
                ApiError(bad_param(name, &e.inner().to_string()))
            })
    }
}

/// Path parameters whose rejections are problem+json (`malformed_path`, naming the parameter),
/// never axum's plain text.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let rejection = match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => return Ok(Path(v)),
            Err(r) => r,
        };
        let names: Vec<String> = RawPathParams::from_request_parts(parts, state)
            .await
            .map(|p| p.iter().map(|(k, _)| k.to_owned()).collect())
            .unwrap_or_default();
        let name = match &rejection {
            PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
                ErrorKind::ParseErrorAtKey { key, .. } => Some(key.clone()),
                ErrorKind::ParseErrorAtIndex { index, .. } => names.get(*index).cloned(),
                _ => None,
            },
            _ => None,
        };
        let name = name
            .or_else(|| (names.len() == 1).then(|| names[0].clone()))
            .unwrap_or_else(|| "path".to_owned());
        let tr = crate::context::current_tr();
        Err(ApiError(AppError::BadParam {
            code: "malformed_path",
            reason: tr.t("err-param-malformed"),
            param: FieldError::new(name, "err-param-malformed"),
        }))
    }
}

/// Marks a bounds error in a query value, so [`Query`] can tell it from a parse error.
const OUT_OF_RANGE: &str = "out of range ";

/// The problem for parameter `name` from the deserializer's message.
fn bad_param(name: String, message: &str) -> AppError {
    let tr = crate::context::current_tr();
    if let Some((min, max)) = message
        .strip_prefix(OUT_OF_RANGE)
        .and_then(|r| r.split_once(".."))
        .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
    {
        let reason = tr.t_args(
            "err-param-range",
            &[("min", FluentArg::Num(min)), ("max", FluentArg::Num(max))],
        );
        return AppError::BadParam {
            code: "parameter_out_of_range",
            param: FieldError::new(name, "err-param-range"),
            reason,
        };
    }
    AppError::BadParam {
        code: "malformed_query",
        reason: tr.t("err-param-malformed"),
        param: FieldError::new(name, "err-param-malformed"),
    }
}

/// The highest page number a list accepts (with 200 rows a page: 200 million rows).
pub const MAX_PAGE: u64 = 1_000_000;

/// Which page of a list: `?page=&per_page=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number.
    #[serde(default, deserialize_with = "page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Rows per page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "per_page")]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

impl PageQuery {
    pub fn request(&self) -> PageRequest {
        PageRequest::new(self.page, self.per_page)
    }
}

/// `page`: blank is absent, else 1 to [`MAX_PAGE`].
pub fn page_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    bounded(d, 1, MAX_PAGE)
}

/// `per_page`: blank is absent, else 1 to [`PageRequest::MAX_PER_PAGE`].
pub fn per_page<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    bounded(d, 1, PageRequest::MAX_PER_PAGE)
}

/// A whole number from `min` to `max`; blank is absent.
pub fn bounded<'de, D: Deserializer<'de>>(
    d: D,
    min: u64,
    max: u64,
) -> Result<Option<u64>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let out_of_range = || serde::de::Error::custom(format!("{OUT_OF_RANGE}{min}..{max}"));
    // Digits only: a number too large for u64 is out of range, not malformed.
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom("not a whole number"));
    }
    match s.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(out_of_range()),
    }
}

/// The version a delete must carry: `?version=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// The `version` last read; a stale one answers 409 `version_conflict`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(required = true)]
    pub version: Option<i32>,
}

/// The `version` every change must carry: absent is a field error, not a silent overwrite.
pub fn required_version(v: Option<i32>) -> Result<i32, AppError> {
    v.ok_or_else(|| DomainError::field("version", "err-required").into())
}

/// A query value where empty means absent (`?role_id=` from a form), and anything else must
/// parse or the request is a `malformed_query`.
pub fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// A PATCH field that distinguishes absent (keep) from `null` (clear) and a value (set).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A PATCH body applied to the stored values (JSON merge patch, RFC 7396, on a flat record):
/// each field the body names replaces the stored one, a field sent as `null` is cleared where
/// the body's type allows `null` (`Option<Option<T>>` read with [`nullable`]), absent fields
/// keep their stored values. `current` is the record's editable values; the patch serialises
/// only the fields the client sent (`#[serde(skip_serializing_if = "Option::is_none")]`), and
/// its fields the values lack (the `version`) are not merged. The result is parsed like a new
/// record, so a PATCH obeys the same rules as a create.
pub fn merge_patch<V: Serialize + DeserializeOwned>(
    current: V,
    patch: &impl Serialize,
) -> Result<V, AppError> {
    use anyhow::Context as _;
    let mut merged = serde_json::to_value(current).context("serialising the stored values")?;
    let patch = serde_json::to_value(patch).context("serialising the patch")?;
    if let (serde_json::Value::Object(values), serde_json::Value::Object(fields)) =
        (&mut merged, patch)
    {
        for (name, value) in fields {
            if !values.contains_key(&name) {
                continue;
            }
            if value.is_null() {
                values.remove(&name);
            } else {
                values.insert(name, value);
            }
        }
    }
    Ok(serde_json::from_value(merged).context("reading the merged values")?)
}

/// Declares a record's API body (every field optional: a create's values, and what a patch is
/// merged onto) and its patch (each field absent = keep, `null` = clear, a value = set; plus
/// the `version`), from one list of fields.
#[macro_export]
macro_rules! bodies {
    ($(#[$bdoc:meta])* $body:ident, $(#[$pdoc:meta])* $patch:ident {
        $($(#[doc = $doc:literal])* $field:ident: $ty:ty),* $(,)?
    }) => {
        $(#[$bdoc])*
        #[derive(Debug, Default, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(default, deny_unknown_fields)]
        pub struct $body {
            $($(#[doc = $doc])* pub $field: Option<$ty>,)*
        }

        $(#[$pdoc])*
        #[derive(Debug, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $patch {
            $(
                $(#[doc = $doc])*
                #[serde(
                    default,
                    deserialize_with = "kehu_web::api::nullable",
                    skip_serializing_if = "Option::is_none"
                )]
                #[schema(value_type = Option<$ty>)]
                pub $field: Option<Option<$ty>>,
            )*
            /// The `version` last read; a stale one answers 409 `version_conflict`.
            #[schema(required = true)]
            pub version: Option<i32>,
        }
    };
}

/// A decimal as JSON carries it: a string (`"1.5"`) or a number (`1.5`); read as its text,
/// which the domain's parser checks like a form's field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Decimal {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}

impl Decimal {
    pub fn text(&self) -> String {
        match self {
            Decimal::Text(s) => s.clone(),
            Decimal::Number(n) => n.to_string(),
        }
    }
}

/// `201 Created` with the new resource's `Location` and body.
pub fn created<T: Serialize>(location: String, body: T) -> Response {
    let mut resp = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn problem_response(
    status: u16,
    description: &str,
) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", content);
    if status == 401 {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new().description(Some("`Bearer`")).build(),
        );
    }
    BTreeMap::from([(status.to_string(), response.build().into())])
}

/// Problem responses shared by the paths; each path lists the ones it can answer.
macro_rules! problems {
    ($($(#[$doc:meta])* $name:ident = $status:literal, $description:literal;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                problem_response($status, $description)
            }
        }
    )*};
}

problems! {
    /// `malformed_json`, `malformed_query`, `malformed_path`, `parameter_out_of_range`,
    /// `invalid_cursor`, `unsupported_media_type`.
    BadRequest = 400, "Malformed JSON body (`malformed_json`, `unsupported_media_type`), or a query \
        or path parameter that does not parse (`malformed_query`, `malformed_path`), is out of \
        its documented range (`parameter_out_of_range`), or is a list `cursor` this list did not \
        give out for this sort (`invalid_cursor`); `errors` names the parameter";
    /// `unauthenticated`.
    Unauthenticated = 401, "No valid session or API token (`unauthenticated`)";
    /// `forbidden`, `csrf_failed`, `password_change_required`, and the delegation refusals
    /// `rights_not_held`, `target_outranks`, `last_administrator`, `own_account`.
    Forbidden = 403, "The role lacks the right (`forbidden`), a cookie-authenticated write lacks \
        `X-CSRF-Token` (`csrf_failed`), the initial password must be changed first \
        (`password_change_required`), or the change would grant rights the caller does not hold \
        (`rights_not_held`), touch a user or role holding rights the caller lacks \
        (`target_outranks`), leave no active administrator (`last_administrator`), or reset the \
        caller's own password (`own_account`)";
    /// `not_found`.
    NotFound = 404, "No such record (`not_found`)";
    /// `already_exists`, `version_conflict`, `not_allowed`.
    Conflict = 409, "A unique value is taken (`already_exists`, naming the field), the record \
        changed since it was read (`version_conflict`), or its state forbids this (`not_allowed`, \
        with `reason`: `err-role-builtin`, `err-role-in-use`, `err-dict-protected`)";
    /// `validation_failed` with `errors[]`.
    Invalid = 422, "Invalid fields (`validation_failed`); `errors` names each one";
}

/// What the domain parsers accept, stated in the OpenAPI document (`#[schema(...)]`). The
/// patterns describe a canonical valid value; the parsers are a little more lenient (they trim
/// surrounding whitespace and lower-case user names) and refuse what JSON Schema cannot say
/// (an e-mail address's grammar, a role that does not exist, a common password).
pub mod rules {
    use kehu_domain::{DataScope, Right};
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    use utoipa::openapi::{RefOr, Schema};

    // Patterns (string literals in the `#[schema]` attributes, which take no constants):
    // one line of text `^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$`
    // (a visible character, no control characters), longer text without control characters
    // but line breaks and tabs, passwords without control characters, user names
    // `^[A-Za-z0-9][A-Za-z0-9_.-]*$`, dictionary kinds `^[a-z][a-z0-9_]*$`.

    fn codes<'a>(codes: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes.into_iter().collect::<Vec<_>>()))
    }

    /// A role's data scope: `own` or `all`.
    pub fn data_scope() -> RefOr<Schema> {
        codes([DataScope::Own.code(), DataScope::All.code()])
            .description(Some(
                "`own` (only the user's own records) or `all` (every record)",
            ))
            .into()
    }

    /// Right codes, each from `GET /api/v1/rights`.
    pub fn right_codes() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(codes(Right::ALL.iter().map(|r| r.code())))
            .description(Some("Right codes from `GET /api/v1/rights`"))
            .into()
    }

    /// A list's `sort` parameter: one of its keys, `-` in front for descending.
    pub fn sort<K: kehu_store::page::SortKey>() -> RefOr<Schema> {
        let all = kehu_store::page::Sort::<K>::codes();
        codes(all.iter().map(String::as_str))
            .description(Some(
                "The sort key; a leading `-` sorts descending. Ties are broken by id.",
            ))
            .into()
    }

    /// The users list's sorts.
    pub fn user_sort() -> RefOr<Schema> {
        sort::<kehu_store::users::UserSort>()
    }

    /// The audit log's sorts.
    pub fn audit_sort() -> RefOr<Schema> {
        sort::<kehu_store::audit::AuditSort>()
    }

    /// The audit log's action codes.
    pub fn audit_action() -> RefOr<Schema> {
        codes(kehu_store::audit::Action::ALL.iter().map(|a| a.code()))
            .description(Some("Only entries of this action"))
            .into()
    }

    /// Like [`data_scope`], or `null` to keep the role's.
    pub fn data_scope_or_null() -> RefOr<Schema> {
        codes([DataScope::Own.code(), DataScope::All.code()])
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::String,
                Type::Null,
            ]))
            .description(Some("`own` or `all`; absent or `null` keeps the role's"))
            .into()
    }

    /// Like [`right_codes`], absent to keep the role's rights.
    pub fn right_codes_or_null() -> RefOr<Schema> {
        ArrayBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::Array,
                Type::Null,
            ]))
            .items(codes(Right::ALL.iter().map(|r| r.code())))
            .description(Some(
                "Right codes from `GET /api/v1/rights`; replaces the whole set",
            ))
            .into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::{merge_patch, nullable};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Values {
        name: String,
        #[serde(default)]
        note: Option<String>,
        tags: Vec<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct Patch {
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(
            default,
            deserialize_with = "nullable",
            skip_serializing_if = "Option::is_none"
        )]
        note: Option<Option<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tags: Option<Vec<String>>,
        version: Option<i32>,
    }

    fn stored() -> Values {
        Values {
            name: "华强电子".into(),
            note: Some("老客户".into()),
            tags: vec!["a".into(), "b".into()],
        }
    }

    fn patch(json: &str) -> Patch {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn absent_fields_keep_their_stored_values() {
        let merged = merge_patch(stored(), &patch(r#"{"version": 3}"#)).unwrap();
        assert_eq!(merged, stored());
    }

    #[test]
    fn named_fields_replace_and_null_clears_a_nullable_field() {
        let p = patch(r#"{"name": "华强", "note": null, "tags": ["c"], "version": 3}"#);
        let merged = merge_patch(stored(), &p).unwrap();
        assert_eq!(
            merged,
            Values {
                name: "华强".into(),
                note: None,
                tags: vec!["c".into()],
            }
        );
    }

    #[test]
    fn null_on_a_field_that_cannot_be_null_keeps_the_stored_value() {
        let merged = merge_patch(stored(), &patch(r#"{"name": null}"#)).unwrap();
        assert_eq!(merged.name, "华强电子");
    }

    #[test]
    fn a_periods_days_are_the_configured_zones() {
        use super::period_bound;
        let beijing = crate::config::TimeZone::default();
        let at = |s: &str, end| {
            period_bound("from", Some(s), end, beijing)
                .unwrap()
                .unwrap()
                .to_rfc3339()
        };
        // 1 March in Beijing: from 16:00 UTC the day before, to the same hour a day later.
        assert_eq!(at("2026-03-01", false), "2026-02-28T16:00:00+00:00");
        assert_eq!(at("2026-03-01", true), "2026-03-01T16:00:00+00:00");
        // An instant is taken as it is; nothing is no bound; a wrong day a field error.
        assert_eq!(
            at("2026-03-01T08:00:00+08:00", false),
            "2026-03-01T00:00:00+00:00"
        );
        assert_eq!(
            period_bound("from", Some(" "), false, beijing).unwrap(),
            None
        );
        let e = period_bound("warned_from", Some("yesterday"), false, beijing).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("warned_from", "err-date")
        );
    }
}
