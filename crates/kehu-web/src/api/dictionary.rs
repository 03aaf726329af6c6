//! `/api/v1/dictionary`: the data dictionary (数据字典) over JSON. Any signed-in user reads it
//! (other modules pick from it); writes need `system.dictionary`, and protected items refuse
//! change with 409 `not_allowed`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::dictionary::DictInput;
use kehu_store::PageRequest;
use kehu_store::dictionary::DictEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{
    BadRequest, Conflict, Forbidden, Granted, Invalid, Json, ListOf, NotFound, PageQuery, Path,
    Query, Unauthenticated, VersionQuery, created, merge_patch, need, required_version,
};
use crate::context::ApiUser;
use crate::error::ApiError;
use crate::pages::dictionary::kind_label;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dictionary", get(list).post(create))
        .route("/api/v1/dictionary/kinds", get(kinds))
        .route(
            "/api/v1/dictionary/{id}",
            get(show).patch(update).delete(delete),
        )
}

/// One dictionary item (数据字典条目).
#[derive(Debug, Serialize, ToSchema)]
pub struct DictItemOut {
    pub id: i64,
    /// The list it belongs to, e.g. `customer_level`.
    pub kind: String,
    /// What users see, e.g. 大客户.
    pub item: String,
    /// What the English interface shows, e.g. `Key account` (null: the item).
    pub item_en: Option<String>,
    /// What other modules store, e.g. `key_account`.
    pub value: String,
    pub sort: i32,
    /// False for protected items other modules rely on.
    pub editable: bool,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<DictEntry> for DictItemOut {
    fn from(e: DictEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            item: e.item,
            item_en: e.item_en,
            value: e.value,
            sort: e.sort,
            editable: e.editable,
            created_at: e.created_at,
            updated_at: e.updated_at,
            version: e.version,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DictQuery {
    /// Only items of this kind.
    kind: Option<String>,
    /// 1-based page number.
    #[serde(default, deserialize_with = "crate::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    /// Rows per page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "crate::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/dictionary",
    tag = "dictionary",
    params(DictQuery),
    responses(
        (status = 200, description = "One page of items, by kind and sort order",
            body = ListOf<DictItemOut>),
        BadRequest, Unauthenticated,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _: ApiUser,
    Query(q): Query<DictQuery>,
) -> Result<axum::Json<ListOf<DictItemOut>>, ApiError> {
    let kind = q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let page = state
        .store
        .dictionary
        .list(kind, PageRequest::new(q.page, q.per_page))
        .await?;
    Ok(axum::Json(ListOf::from_page(page, DictItemOut::from)))
}

/// A kind of dictionary item and how many items it has.
#[derive(Debug, Serialize, ToSchema)]
pub struct DictKindOut {
    pub kind: String,
    /// The kind's name in the caller's language (the code for kinds added later).
    pub label: String,
    pub count: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/dictionary/kinds",
    tag = "dictionary",
    params(PageQuery),
    responses(
        (status = 200, description = "Every kind, alphabetically", body = ListOf<DictKindOut>),
        BadRequest, Unauthenticated,
    )
)]
pub async fn kinds(
    State(state): State<AppState>,
    ApiUser { ctx, .. }: ApiUser,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<ListOf<DictKindOut>>, ApiError> {
    let kinds = state.store.dictionary.kinds().await?;
    let items = kinds
        .into_iter()
        .map(|(kind, count)| DictKindOut {
            label: kind_label(&ctx.tr, &kind),
            kind,
            count,
        })
        .collect();
    Ok(axum::Json(ListOf::from_vec(items, q.request())))
}

/// A new item, or the full new state of one (PATCH fills absent fields from the stored item).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDictBody {
    /// snake_case, up to 40 characters, e.g. `industry`; a new kind is created by its first
    /// item.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 40,
        pattern = r"^[a-z][a-z0-9_]*$"
    )]
    pub kind: String,
    /// What users see: 1–64 characters, one line.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub item: String,
    /// What the English interface shows: up to 64 characters, one line; empty or absent: the
    /// item.
    #[serde(default)]
    #[schema(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub item_en: Option<String>,
    /// What other modules store: 1–64 characters, one line.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub value: String,
    /// 0 to 99999 (default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 99999)]
    pub sort: Option<i64>,
}

impl NewDictBody {
    /// Parsed by the same rules as the page's form (`sort` absent means 0).
    fn parse(&self) -> Result<DictInput, DomainError> {
        let sort = self.sort.map(|n| n.to_string()).unwrap_or_default();
        let en = self.item_en.as_deref().unwrap_or_default();
        DictInput::parse(&self.kind, &self.item, en, &self.value, &sort)
    }
}

/// A stored item's values, onto which a [`DictPatch`] is merged.
impl From<DictEntry> for NewDictBody {
    fn from(e: DictEntry) -> Self {
        Self {
            kind: e.kind,
            item: e.item,
            item_en: e.item_en,
            value: e.value,
            sort: Some(i64::from(e.sort)),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/dictionary",
    tag = "dictionary",
    request_body = NewDictBody,
    responses(
        (status = 201, description = "Created", body = DictItemOut,
            headers(("Location" = String, description = "The new item's URL"))),
        BadRequest, Unauthenticated, Forbidden, Conflict, Invalid,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Dictionary>,
    Json(b): Json<NewDictBody>,
) -> Result<Response, ApiError> {
    let input = b.parse()?;
    let e = state.store.dictionary.create(&input, &ctx.actor()).await?;
    Ok(created(
        format!("/api/v1/dictionary/{}", e.id),
        DictItemOut::from(e),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/dictionary/{id}",
    tag = "dictionary",
    params(("id" = i64, Path, description = "Item id", minimum = 1)),
    responses(
        (status = 200, description = "The item", body = DictItemOut),
        BadRequest, Unauthenticated, NotFound,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    _: ApiUser,
    Path(id): Path<i64>,
) -> Result<axum::Json<DictItemOut>, ApiError> {
    Ok(axum::Json(state.store.dictionary.get(id).await?.into()))
}

/// Changes to an item; absent fields stay as they are.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DictPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 40, pattern = r"^[a-z][a-z0-9_]*$")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub item: Option<String>,
    /// Empty: no English name (the item shows).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub item_en: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 99999)]
    pub sort: Option<i64>,
    /// The `version` last read; a stale one answers 409 `version_conflict`.
    #[schema(required = true)]
    pub version: Option<i32>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/dictionary/{id}",
    tag = "dictionary",
    params(("id" = i64, Path, description = "Item id", minimum = 1)),
    request_body = DictPatch,
    responses(
        (status = 200, description = "The changed item", body = DictItemOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Dictionary>,
    Path(id): Path<i64>,
    Json(p): Json<DictPatch>,
) -> Result<axum::Json<DictItemOut>, ApiError> {
    let current = state.store.dictionary.get(id).await?;
    let version = required_version(p.version)?;
    let input = merge_patch(NewDictBody::from(current), &p)?.parse()?;
    let e = state
        .store
        .dictionary
        .update(id, &input, version, &ctx.actor())
        .await?;
    Ok(axum::Json(e.into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/dictionary/{id}",
    tag = "dictionary",
    params(("id" = i64, Path, description = "Item id", minimum = 1), VersionQuery),
    responses(
        (status = 204, description = "Deleted"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Dictionary>,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    let version = required_version(q.version)?;
    state
        .store
        .dictionary
        .delete(id, version, &ctx.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
