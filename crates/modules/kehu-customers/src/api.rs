//! `/api/v1/customers` and `/api/v1/contacts`: customers (客户) and contacts (联系人) over
//! JSON, on the platform's conventions (`ListOf`, problem+json, `version` on every change, a
//! PATCH as a merge patch parsed like a create). Every call is within the caller's data scope:
//! another manager's customer or contact is 404. Rights: `customer.read` to read,
//! `customer.write` to change, `customer.delete` to delete for good.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, NaiveDate, Utc};
use kehu_domain::error::Errors;
use kehu_store::page::Sort;
use kehu_web::AppState;
use kehu_web::api::{
    BadRequest, Conflict, Forbidden, Granted, Invalid, Json, ListOf, NotFound, Path, Query,
    Unauthenticated, VersionQuery, blank_as_none, created, list_request, merge_patch, period,
    required_version, rules,
};
use kehu_web::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::domain::{
    ContactDraft, ContactInput, CustomerDraft, CustomerInput, Status, fen_to_decimal,
};
use crate::need;
use crate::store::{
    Contact, ContactFilter, ContactSort, Customer, CustomerFilter, CustomerSort, TRANSFER_MAX,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/customers", get(list).post(create))
        .route("/api/v1/customers/trash", get(trash))
        .route("/api/v1/customers/transfer", post(transfer))
        .route(
            "/api/v1/customers/{id}",
            get(show).patch(update).delete(remove),
        )
        .route("/api/v1/customers/{id}/restore", post(restore))
        .route("/api/v1/customers/{id}/purge", delete(purge))
        .route(
            "/api/v1/customers/{id}/contacts",
            get(contacts_of).post(add_contact),
        )
        .route("/api/v1/contacts", get(contact_list))
        .route(
            "/api/v1/contacts/{id}",
            get(show_contact)
                .patch(update_contact)
                .delete(remove_contact),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list, create, trash, transfer, show, update, remove, restore, purge, contacts_of,
        add_contact, contact_list, show_contact, update_contact, remove_contact
    ),
    tags((name = "customers", description = "Customers (客户) and their contacts (联系人)"))
)]
pub struct CustomersApi;

/// A customer (客户).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOut {
    pub id: i64,
    /// `KH` + the day of creation + a sequence, e.g. `KH20261123000042`.
    pub code: String,
    pub name: String,
    /// The account manager (客户经理).
    pub owner_id: i64,
    pub owner_name: String,
    /// Dictionary value of kind `region` (e.g. `440000`).
    pub region: Option<String>,
    /// Dictionary value of kind `customer_level` (e.g. `key_account`).
    pub level: Option<String>,
    /// Dictionary value of kind `industry`.
    pub industry: Option<String>,
    /// Dictionary value of kind `opportunity_source`.
    pub source: Option<String>,
    pub satisfaction: Option<i16>,
    pub credit: Option<i16>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    /// E.164, e.g. `+862088886666`.
    pub phone: Option<String>,
    pub fax: Option<String>,
    pub website: Option<String>,
    pub licence_no: Option<String>,
    pub legal_rep: Option<String>,
    /// Yuan, a decimal string (`"5000000.00"`).
    pub registered_capital: Option<String>,
    pub annual_turnover: Option<String>,
    pub bank: Option<String>,
    pub bank_account: Option<String>,
    pub local_tax_no: Option<String>,
    pub national_tax_no: Option<String>,
    /// `micro`, `small`, `medium` or `large`.
    pub size: Option<String>,
    /// `male` or `female` (a person customer).
    pub gender: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub income_band: Option<String>,
    pub tags: Vec<String>,
    pub memo: Option<String>,
    /// `active`, `loss_warned` or `lost`.
    pub status: String,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    pub last_order_at: Option<DateTime<Utc>>,
    /// Set while the customer is in the trash.
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back on PATCH and DELETE (optimistic locking).
    pub version: i32,
}

impl From<Customer> for CustomerOut {
    fn from(c: Customer) -> Self {
        Self {
            tags: c.tag_list().into_iter().map(str::to_owned).collect(),
            id: c.id,
            code: c.code,
            name: c.name,
            owner_id: c.owner_id,
            owner_name: c.owner_name,
            region: c.region,
            level: c.level,
            industry: c.industry,
            source: c.source,
            satisfaction: c.satisfaction,
            credit: c.credit,
            address: c.address,
            postcode: c.postcode,
            phone: c.phone,
            fax: c.fax,
            website: c.website,
            licence_no: c.licence_no,
            legal_rep: c.legal_rep,
            registered_capital: c.registered_capital.map(fen_to_decimal),
            annual_turnover: c.annual_turnover.map(fen_to_decimal),
            bank: c.bank,
            bank_account: c.bank_account,
            local_tax_no: c.local_tax_no,
            national_tax_no: c.national_tax_no,
            size: c.size,
            gender: c.gender,
            birthday: c.birthday,
            income_band: c.income_band,
            memo: c.memo,
            status: c.status,
            last_order_at: c.last_order_at,
            deleted_at: c.deleted_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

kehu_web::bodies! {
    /// A customer's fields. `name` is required; dictionary fields take the dictionary's values
    /// (`GET /api/v1/dictionary`); phones are parsed (China by default) and stored in E.164.
    CustomerBody,
    /// Changes to a customer: absent fields stay, `null` clears a field.
    CustomerPatch {
        /// 1–80 characters.
        name: String,
        /// The account manager's user id; the caller when absent. An account manager may only
        /// name themselves.
        owner_id: i64,
        /// Dictionary value of kind `region`.
        region: String,
        /// Dictionary value of kind `customer_level`.
        level: String,
        /// Dictionary value of kind `industry`.
        industry: String,
        /// Dictionary value of kind `opportunity_source`.
        source: String,
        /// 1 to 5.
        satisfaction: i16,
        /// 1 to 5.
        credit: i16,
        address: String,
        /// Six digits.
        postcode: String,
        phone: String,
        fax: String,
        website: String,
        /// Letters, digits and `-`.
        licence_no: String,
        legal_rep: String,
        /// Yuan, a decimal with at most two places (`"5000000.00"`).
        registered_capital: String,
        annual_turnover: String,
        bank: String,
        bank_account: String,
        local_tax_no: String,
        national_tax_no: String,
        /// `micro`, `small`, `medium` or `large`.
        size: String,
        /// `male` or `female`.
        gender: String,
        /// `YYYY-MM-DD`.
        birthday: String,
        income_band: String,
        /// At most 10, each up to 20 characters without commas.
        tags: Vec<String>,
        memo: String,
    }
}

fn text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl From<CustomerBody> for CustomerInput {
    fn from(b: CustomerBody) -> Self {
        Self {
            name: text(b.name),
            owner_id: text(b.owner_id),
            region: text(b.region),
            level: text(b.level),
            industry: text(b.industry),
            source: text(b.source),
            satisfaction: text(b.satisfaction),
            credit: text(b.credit),
            address: text(b.address),
            postcode: text(b.postcode),
            phone: text(b.phone),
            fax: text(b.fax),
            website: text(b.website),
            licence_no: text(b.licence_no),
            legal_rep: text(b.legal_rep),
            registered_capital: text(b.registered_capital),
            annual_turnover: text(b.annual_turnover),
            bank: text(b.bank),
            bank_account: text(b.bank_account),
            local_tax_no: text(b.local_tax_no),
            national_tax_no: text(b.national_tax_no),
            size: text(b.size),
            gender: text(b.gender),
            birthday: text(b.birthday),
            income_band: text(b.income_band),
            tags: b.tags.unwrap_or_default().join(","),
            memo: text(b.memo),
        }
    }
}

impl From<CustomerOut> for CustomerBody {
    fn from(c: CustomerOut) -> Self {
        Self {
            name: Some(c.name),
            owner_id: Some(c.owner_id),
            region: c.region,
            level: c.level,
            industry: c.industry,
            source: c.source,
            satisfaction: c.satisfaction,
            credit: c.credit,
            address: c.address,
            postcode: c.postcode,
            phone: c.phone,
            fax: c.fax,
            website: c.website,
            licence_no: c.licence_no,
            legal_rep: c.legal_rep,
            registered_capital: c.registered_capital,
            annual_turnover: c.annual_turnover,
            bank: c.bank,
            bank_account: c.bank_account,
            local_tax_no: c.local_tax_no,
            national_tax_no: c.national_tax_no,
            size: c.size,
            gender: c.gender,
            birthday: c.birthday.map(|d| d.to_string()),
            income_band: c.income_band,
            tags: Some(c.tags),
            memo: c.memo,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// The beginning of the name or of the code (`KH2026…`); the first 64 characters.
    #[param(max_length = 64)]
    q: Option<String>,
    /// Dictionary value of kind `region`.
    region: Option<String>,
    /// Dictionary value of kind `customer_level`.
    level: Option<String>,
    /// Dictionary value of kind `industry`.
    industry: Option<String>,
    /// The account manager's user id.
    #[serde(default, deserialize_with = "blank_as_none")]
    owner_id: Option<i64>,
    /// `active`, `loss_warned` or `lost`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(value_type = Option<String>)]
    status: Option<Status>,
    /// Customers carrying this tag.
    tag: Option<String>,
    /// Customers the customer-value analysis put in this segment (`champions`, `loyal`,
    /// `at_risk` …).
    #[param(max_length = 24)]
    segment: Option<String>,
    /// Customers of this value class: `high`, `sub`, `potential` or `low`.
    #[param(max_length = 12)]
    value_class: Option<String>,
    /// Created from this day (`2026-03-01`, UTC) or instant (RFC 3339), inclusive.
    created_from: Option<String>,
    /// Created to this day (inclusive) or before this instant.
    created_to: Option<String>,
    /// `created_at` (`-created_at`, newest first, is the default), `name`, `code`,
    /// `updated_at` or `last_order_at`; `-` in front sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = customer_sort)]
    sort: Option<Sort<CustomerSort>>,
    /// Where to continue: `next_cursor` or `prev_cursor` of a previous answer with the same
    /// sort. Takes the place of `page`.
    #[param(max_length = 512)]
    cursor: Option<String>,
    /// 1-based page number, when there is no `cursor`.
    #[serde(default, deserialize_with = "kehu_web::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    /// Rows per page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

fn customer_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<CustomerSort>()
}

fn contact_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<ContactSort>()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl CustomerQuery {
    pub(crate) fn filter(
        &self,
        zone: kehu_web::config::TimeZone,
    ) -> Result<CustomerFilter, ApiError> {
        let mut e = Errors::new();
        let (created_from, created_to) = period(
            &mut e,
            "created",
            (self.created_from.as_deref(), self.created_to.as_deref()),
            zone,
        );
        e.finish()?;
        Ok(CustomerFilter {
            q: non_empty(self.q.clone()),
            region: non_empty(self.region.clone()),
            level: non_empty(self.level.clone()),
            industry: non_empty(self.industry.clone()),
            owner_id: self.owner_id,
            status: self.status,
            tag: non_empty(self.tag.clone()),
            segment: non_empty(self.segment.clone()),
            value_class: non_empty(self.value_class.clone()),
            created_from,
            created_to,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses(
        (status = 200, description = "One page of the customers in the caller's scope, newest first unless `sort` says otherwise", body = ListOf<CustomerOut>),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn list(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Customers>,
    Query(q): Query<CustomerQuery>,
) -> Result<axum::Json<ListOf<CustomerOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = q.filter(state.config.time_zone)?;
    let l = crate::store(&state)
        .list(user.owner_filter(), &f, req)
        .await?;
    Ok(axum::Json(ListOf::from_listing(l, CustomerOut::from)))
}

#[utoipa::path(get, path = "/api/v1/customers/trash", tag = "customers", params(CustomerQuery),
    responses(
        (status = 200, description = "One page of the customers in the trash, in the caller's scope", body = ListOf<CustomerOut>),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn trash(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Customers>,
    Query(q): Query<CustomerQuery>,
) -> Result<axum::Json<ListOf<CustomerOut>>, ApiError> {
    let sort = q.sort.or(Some(Sort::new(
        CustomerSort::Updated,
        kehu_store::page::Dir::Desc,
    )));
    let req = list_request(sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = q.filter(state.config.time_zone)?;
    let l = crate::store(&state)
        .trash(user.owner_filter(), &f, req)
        .await?;
    Ok(axum::Json(ListOf::from_listing(l, CustomerOut::from)))
}

/// Parses `b` against the dictionary as it is now.
async fn draft(state: &AppState, b: CustomerBody) -> Result<CustomerDraft, ApiError> {
    let dict = crate::store(state).dictionary().await?;
    Ok(CustomerDraft::parse(&CustomerInput::from(b), &dict)?)
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerBody,
    responses(
        (status = 201, description = "Created, with the next code of the day", body = CustomerOut,
            headers(("Location" = String, description = "The new customer's URL"))),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn create(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Json(b): Json<CustomerBody>,
) -> Result<Response, ApiError> {
    let d = draft(&state, b).await?;
    let c = crate::store(&state)
        .create(user.owner_filter(), &d, &ctx.actor())
        .await?;
    Ok(created(
        format!("/api/v1/customers/{}", c.id),
        CustomerOut::from(c),
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Customer id", minimum = 1)),
    responses(
        (status = 200, description = "The customer", body = CustomerOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Customers>,
    Path(id): Path<i64>,
) -> Result<axum::Json<CustomerOut>, ApiError> {
    let c = crate::store(&state).get(user.owner_filter(), id).await?;
    Ok(axum::Json(c.into()))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Customer id", minimum = 1)),
    request_body = CustomerPatch,
    responses(
        (status = 200, description = "The changed customer", body = CustomerOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn update(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Json(p): Json<CustomerPatch>,
) -> Result<axum::Json<CustomerOut>, ApiError> {
    let store = crate::store(&state);
    let scope = user.owner_filter();
    let current = CustomerOut::from(store.get(scope, id).await?);
    let version = required_version(p.version)?;
    let merged = merge_patch(CustomerBody::from(current), &p)?;
    let d = draft(&state, merged).await?;
    let c = store.update(scope, id, &d, version, &ctx.actor()).await?;
    Ok(axum::Json(c.into()))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Customer id", minimum = 1), VersionQuery),
    responses(
        (status = 200, description = "Moved to the trash (restore it with `POST …/restore`)", body = CustomerOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn remove(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<axum::Json<CustomerOut>, ApiError> {
    to_trash(&state, &user, &ctx, id, v, true).await
}

/// Moves customer `id` to the trash (`into`) or out of it.
async fn to_trash(
    state: &AppState,
    user: &kehu_domain::Principal,
    ctx: &kehu_web::context::Ctx,
    id: i64,
    v: VersionQuery,
    into: bool,
) -> Result<axum::Json<CustomerOut>, ApiError> {
    let version = required_version(v.version)?;
    let (store, scope, actor) = (crate::store(state), user.owner_filter(), ctx.actor());
    let c = if into {
        store.delete(scope, id, version, &actor).await?
    } else {
        store.restore(scope, id, version, &actor).await?
    };
    Ok(axum::Json(c.into()))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/restore", tag = "customers",
    params(("id" = i64, Path, description = "Customer id (in the trash)", minimum = 1), VersionQuery),
    responses(
        (status = 200, description = "Back from the trash", body = CustomerOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn restore(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<axum::Json<CustomerOut>, ApiError> {
    to_trash(&state, &user, &ctx, id, v, false).await
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/purge", tag = "customers",
    params(("id" = i64, Path, description = "Customer id", minimum = 1), VersionQuery),
    responses(
        (status = 204, description = "Deleted for good, with its contacts (right `customer.delete`); while other records hang off it (its orders) 409 `not_allowed` with their reason (`err-customer-has-orders`)"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn purge(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerDelete>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    let version = required_version(v.version)?;
    crate::store(&state)
        .purge(
            user.owner_filter(),
            id,
            version,
            &ctx.actor(),
            &state.dependents_of("customer"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Customers to give to another account manager.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// 1 to 1000 customer ids, all in the caller's scope.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 1000)]
    pub ids: Vec<i64>,
    /// The new account manager's user id.
    #[serde(default)]
    #[schema(required = true)]
    pub to_owner_id: Option<i64>,
}

/// What a transfer did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferOut {
    /// How many customers changed hands (those the manager already had are not counted).
    pub moved: usize,
}

#[utoipa::path(post, path = "/api/v1/customers/transfer", tag = "customers",
    request_body = TransferBody,
    responses(
        (status = 200, description = "Every customer now belongs to `to_owner_id`, each change in the audit log; nothing moves when one id is not found", body = TransferOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Invalid,
    ))]
pub async fn transfer(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Json(b): Json<TransferBody>,
) -> Result<axum::Json<TransferOut>, ApiError> {
    let mut e = Errors::new();
    if b.ids.is_empty() || b.ids.len() > TRANSFER_MAX {
        e.push(kehu_domain::FieldError::new("ids", "err-transfer-count"));
    }
    if b.to_owner_id.is_none() {
        e.push(kehu_domain::FieldError::new("to_owner_id", "err-required"));
    }
    e.finish()?;
    let to = b.to_owner_id.unwrap_or_default();
    let moved = crate::store(&state)
        .transfer(user.owner_filter(), &b.ids, to, &ctx.actor())
        .await?;
    Ok(axum::Json(TransferOut { moved }))
}

/// A contact (联系人) of a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub name: String,
    /// `male` or `female`.
    pub gender: Option<String>,
    pub position: Option<String>,
    /// Office phone, E.164.
    pub phone: Option<String>,
    /// E.164.
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub memo: Option<String>,
    /// The customer's one primary contact.
    pub is_primary: bool,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> Self {
        Self {
            id: c.id,
            customer_id: c.customer_id,
            customer_name: c.customer_name,
            name: c.name,
            gender: c.gender,
            position: c.position,
            phone: c.phone,
            mobile: c.mobile,
            email: c.email,
            memo: c.memo,
            is_primary: c.is_primary,
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

kehu_web::bodies! {
    /// A contact's fields; `name` is required. The first contact of a customer is its primary;
    /// `is_primary: true` makes a contact the primary in place of the old one.
    ContactBody,
    /// Changes to a contact: absent fields stay, `null` clears a field.
    ContactPatch {
        /// 1–64 characters.
        name: String,
        /// `male` or `female`.
        gender: String,
        position: String,
        /// Office phone.
        phone: String,
        mobile: String,
        email: String,
        memo: String,
        is_primary: bool,
    }
}

impl From<ContactBody> for ContactInput {
    fn from(b: ContactBody) -> Self {
        Self {
            name: text(b.name),
            gender: text(b.gender),
            position: text(b.position),
            phone: text(b.phone),
            mobile: text(b.mobile),
            email: text(b.email),
            memo: text(b.memo),
            is_primary: b.is_primary.unwrap_or(false),
        }
    }
}

impl From<ContactOut> for ContactBody {
    fn from(c: ContactOut) -> Self {
        Self {
            name: Some(c.name),
            gender: c.gender,
            position: c.position,
            phone: c.phone,
            mobile: c.mobile,
            email: c.email,
            memo: c.memo,
            is_primary: Some(c.is_primary),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "customers",
    params(("id" = i64, Path, description = "Customer id", minimum = 1)),
    responses(
        (status = 200, description = "The customer's contacts, the primary first", body = ListOf<ContactOut>),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn contacts_of(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Customers>,
    Path(id): Path<i64>,
) -> Result<axum::Json<ListOf<ContactOut>>, ApiError> {
    let all = crate::store(&state)
        .contacts_of(user.owner_filter(), id)
        .await?;
    let all: Vec<ContactOut> = all.into_iter().map(ContactOut::from).collect();
    let per_page = (all.len() as u64).max(1);
    Ok(axum::Json(ListOf::from_vec(
        all,
        kehu_store::PageRequest::new(None, Some(per_page)),
    )))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "customers",
    params(("id" = i64, Path, description = "Customer id", minimum = 1)),
    request_body = ContactBody,
    responses(
        (status = 201, description = "Added", body = ContactOut,
            headers(("Location" = String, description = "The new contact's URL"))),
        BadRequest, Unauthenticated, Forbidden, NotFound, Invalid,
    ))]
pub async fn add_contact(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Json(b): Json<ContactBody>,
) -> Result<Response, ApiError> {
    let d = ContactDraft::parse(&ContactInput::from(b))?;
    let c = crate::store(&state)
        .add_contact(user.owner_filter(), id, &d, &ctx.actor())
        .await?;
    Ok(created(
        format!("/api/v1/contacts/{}", c.id),
        ContactOut::from(c),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Only this customer's contacts.
    #[serde(default, deserialize_with = "blank_as_none")]
    customer_id: Option<i64>,
    /// The beginning of the contact's name.
    #[param(max_length = 64)]
    q: Option<String>,
    /// `name` (the default) or `created_at`; `-` in front sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = contact_sort)]
    sort: Option<Sort<ContactSort>>,
    /// Where to continue (a `next_cursor` or `prev_cursor`).
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

impl ContactQuery {
    pub(crate) fn filter(&self) -> ContactFilter {
        ContactFilter {
            customer_id: self.customer_id,
            q: non_empty(self.q.clone()),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "customers", params(ContactQuery),
    responses(
        (status = 200, description = "One page of the contacts of the customers in the caller's scope", body = ListOf<ContactOut>),
        BadRequest, Unauthenticated, Forbidden,
    ))]
pub async fn contact_list(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Customers>,
    Query(q): Query<ContactQuery>,
) -> Result<axum::Json<ListOf<ContactOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = q.filter();
    let l = crate::store(&state)
        .contact_list(user.owner_filter(), &f, req)
        .await?;
    Ok(axum::Json(ListOf::from_listing(l, ContactOut::from)))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Contact id", minimum = 1)),
    responses(
        (status = 200, description = "The contact", body = ContactOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show_contact(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Customers>,
    Path(id): Path<i64>,
) -> Result<axum::Json<ContactOut>, ApiError> {
    let c = crate::store(&state)
        .contact(user.owner_filter(), id)
        .await?;
    Ok(axum::Json(c.into()))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Contact id", minimum = 1)),
    request_body = ContactPatch,
    responses(
        (status = 200, description = "The changed contact", body = ContactOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn update_contact(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Json(p): Json<ContactPatch>,
) -> Result<axum::Json<ContactOut>, ApiError> {
    let store = crate::store(&state);
    let scope = user.owner_filter();
    let current = ContactOut::from(store.contact(scope, id).await?);
    let version = required_version(p.version)?;
    let merged = merge_patch(ContactBody::from(current), &p)?;
    let d = ContactDraft::parse(&ContactInput::from(merged))?;
    let c = store
        .update_contact(scope, id, &d, version, &ctx.actor())
        .await?;
    Ok(axum::Json(c.into()))
}

#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Contact id", minimum = 1), VersionQuery),
    responses(
        (status = 204, description = "Deleted; when it was the primary, the oldest other contact becomes the primary"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn remove_contact(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    let version = required_version(v.version)?;
    crate::store(&state)
        .delete_contact(user.owner_filter(), id, version, &ctx.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
