//! `/api/v1/roles`: roles (角色), their rights and data scope over JSON, parsed by the same
//! domain rules as the role editor. Right: `system.roles`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::role::RoleInput;
use kehu_store::roles::RoleDetail;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{
    BadRequest, Conflict, Forbidden, Granted, Invalid, Json, ListOf, NotFound, PageQuery, Path,
    Query, Unauthenticated, VersionQuery, created, merge_patch, need, nullable, required_version,
};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/roles", get(list).post(create))
        .route("/api/v1/roles/{id}", get(show).patch(update).delete(delete))
}

/// A role with its rights and how many users hold it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleOut {
    pub id: i64,
    /// Stable code of a built-in role (`admin`, `sales_supervisor`, `account_manager`,
    /// `executive`); `null` for roles an administrator created.
    pub code: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// `own` or `all`.
    pub data_scope: String,
    /// Built-in roles cannot be deleted.
    pub builtin: bool,
    /// Right codes, e.g. `customer.read`.
    pub rights: Vec<String>,
    /// How many users hold the role.
    pub users: i64,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<RoleDetail> for RoleOut {
    fn from(d: RoleDetail) -> Self {
        Self {
            id: d.role.id,
            code: d.role.code,
            name: d.role.name,
            description: d.role.description,
            data_scope: d.role.data_scope,
            builtin: d.role.builtin,
            rights: d.rights,
            users: d.users,
            created_at: d.role.created_at,
            updated_at: d.role.updated_at,
            version: d.role.version,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/roles",
    tag = "roles",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of roles, oldest first", body = ListOf<RoleOut>),
        BadRequest, Unauthenticated, Forbidden,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _: Granted<need::Roles>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<ListOf<RoleOut>>, ApiError> {
    let roles = state.store.roles.list().await?;
    Ok(axum::Json(ListOf::from_vec(
        roles.into_iter().map(RoleOut::from).collect(),
        q.request(),
    )))
}

/// A new role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoleBody {
    /// 1–64 characters, one line.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Up to 500 characters.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: Option<String>,
    /// `own` (only the user's own records) or `all`.
    #[serde(default)]
    #[schema(required = true, schema_with = crate::api::rules::data_scope)]
    pub data_scope: String,
    /// Right codes from `GET /api/v1/rights`; an unknown code is a field error on `rights`.
    #[serde(default)]
    #[schema(schema_with = crate::api::rules::right_codes)]
    pub rights: Vec<String>,
}

impl NewRoleBody {
    fn parse(&self) -> Result<RoleInput, DomainError> {
        let description = self.description.as_deref().unwrap_or_default();
        RoleInput::parse(&self.name, description, &self.data_scope, &self.rights)
    }
}

/// A stored role's values, onto which a [`RolePatch`] is merged.
impl From<RoleDetail> for NewRoleBody {
    fn from(d: RoleDetail) -> Self {
        Self {
            name: d.role.name,
            description: d.role.description,
            data_scope: d.role.data_scope,
            rights: d.rights,
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/roles",
    tag = "roles",
    request_body = NewRoleBody,
    responses(
        (status = 201, description = "Created", body = RoleOut,
            headers(("Location" = String, description = "The new role's URL"))),
        BadRequest, Unauthenticated, Forbidden, Conflict, Invalid,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Roles>,
    Json(b): Json<NewRoleBody>,
) -> Result<Response, ApiError> {
    let input = b.parse()?;
    let d = state.store.roles.create(&input, &ctx.actor()).await?;
    Ok(created(
        format!("/api/v1/roles/{}", d.role.id),
        RoleOut::from(d),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/roles/{id}",
    tag = "roles",
    params(("id" = i64, Path, description = "Role id", minimum = 1)),
    responses(
        (status = 200, description = "The role", body = RoleOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    _: Granted<need::Roles>,
    Path(id): Path<i64>,
) -> Result<axum::Json<RoleOut>, ApiError> {
    Ok(axum::Json(state.store.roles.get(id).await?.into()))
}

/// Changes to a role; absent fields stay, `rights` replaces the whole set. The administrator
/// role always keeps every right and sees every record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    /// 1–64 characters, one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// Up to 500 characters; `null` clears it.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    pub description: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::api::rules::data_scope_or_null)]
    pub data_scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::api::rules::right_codes_or_null)]
    pub rights: Option<Vec<String>>,
    /// The `version` last read; a stale one answers 409 `version_conflict`.
    #[schema(required = true)]
    pub version: Option<i32>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/roles/{id}",
    tag = "roles",
    params(("id" = i64, Path, description = "Role id", minimum = 1)),
    request_body = RolePatch,
    responses(
        (status = 200, description = "The changed role", body = RoleOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Roles>,
    Path(id): Path<i64>,
    Json(p): Json<RolePatch>,
) -> Result<axum::Json<RoleOut>, ApiError> {
    let current = state.store.roles.get(id).await?;
    let version = required_version(p.version)?;
    let b = merge_patch(NewRoleBody::from(current), &p)?;
    let input = b.parse()?;
    let d = state
        .store
        .roles
        .update(id, &input, version, &ctx.actor())
        .await?;
    Ok(axum::Json(d.into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/roles/{id}",
    tag = "roles",
    params(("id" = i64, Path, description = "Role id", minimum = 1), VersionQuery),
    responses(
        (status = 204, description = "Deleted"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Roles>,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    let version = required_version(q.version)?;
    state.store.roles.delete(id, version, &ctx.actor()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
