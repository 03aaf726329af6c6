//! `/api/v1/users`: user administration (用户管理) over JSON, with the same rules as the pages:
//! the domain parses every field, the store writes the audit log. Right: `system.users`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use kehu_domain::user::{AccountChanges, EditedAccount, NewAccount, NewPassword};
use kehu_store::page::Sort;
use kehu_store::users::{User, UserFilter, UserSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{
    BadRequest, Conflict, Forbidden, Granted, Invalid, Json, ListOf, NotFound, Path, Query,
    Unauthenticated, blank_as_none, created, list_request, merge_patch, need, nullable,
    required_version, rules,
};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route("/api/v1/users/{id}", get(show).patch(update))
        .route("/api/v1/users/{id}/password", post(reset_password))
}

/// A user account (系统用户); never the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role_id: i64,
    /// The role's name.
    pub role: String,
    /// Preferred UI language (`zh-CN`, `en`), if chosen.
    pub language: Option<String>,
    pub disabled: bool,
    /// True until the user replaces an administrator-set password.
    pub must_change_password: bool,
    #[serde(serialize_with = "super::time::rfc3339_opt")]
    pub last_login_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back on PATCH (optimistic locking).
    pub version: i32,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            email: u.email,
            role_id: u.role_id,
            role: u.role_name,
            language: u.language,
            disabled: u.disabled,
            must_change_password: u.must_change_password,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Part of the user name or display name (case-insensitive; the first 64 characters).
    #[param(max_length = 64)]
    q: Option<String>,
    /// Only users holding this role.
    #[serde(default, deserialize_with = "blank_as_none")]
    role_id: Option<i64>,
    /// `username` (the default), `display_name`, `last_login_at` (never signed in is oldest)
    /// or `created_at`; `-` in front sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = rules::user_sort)]
    sort: Option<Sort<UserSort>>,
    /// Where to continue: `next_cursor` or `prev_cursor` of a previous answer with the same
    /// sort. Takes the place of `page`.
    #[param(max_length = 512)]
    cursor: Option<String>,
    /// 1-based page number, when there is no `cursor`.
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
    path = "/api/v1/users",
    tag = "users",
    params(UserQuery),
    responses(
        (status = 200, description = "One page of users, by user name unless `sort` says otherwise", body = ListOf<UserOut>),
        BadRequest, Unauthenticated, Forbidden,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _: Granted<need::Users>,
    Query(q): Query<UserQuery>,
) -> Result<axum::Json<ListOf<UserOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let filter = UserFilter {
        q: q.q.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        role_id: q.role_id,
    };
    let listing = state.store.users.list(&filter, req).await?;
    Ok(axum::Json(ListOf::from_listing(listing, UserOut::from)))
}

/// A new account. The password is temporary: the user must change it at first sign-in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// 3–32 of `a-z 0-9 _ . -`, starting with a letter or digit, stored lower-case.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 3,
        max_length = 32,
        pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
    )]
    pub username: String,
    /// 1–64 characters, one line.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: String,
    /// An e-mail address, up to 254 characters; empty or `null` for none.
    #[serde(default)]
    #[schema(max_length = 254, format = Email)]
    pub email: Option<String>,
    /// The role's id (`GET /api/v1/roles`).
    #[serde(default)]
    #[schema(required = true, minimum = 1)]
    pub role_id: Option<i64>,
    /// 12–128 characters, not one of the most common passwords.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 12,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub password: String,
}

/// The password is a secret: never in logs.
impl std::fmt::Debug for NewUserBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserBody")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("role_id", &self.role_id)
            .field("password", &"***")
            .finish()
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = NewUserBody,
    responses(
        (status = 201, description = "Created", body = UserOut,
            headers(("Location" = String, description = "The new user's URL"))),
        BadRequest, Unauthenticated, Forbidden, Conflict, Invalid,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Users>,
    Json(b): Json<NewUserBody>,
) -> Result<Response, ApiError> {
    let email = b.email.unwrap_or_default();
    let a = NewAccount::parse(&b.username, &b.display_name, &email, b.role_id, &b.password)?;
    let u = state.store.users.create_account(a, &ctx.actor()).await?;
    Ok(created(format!("/api/v1/users/{}", u.id), UserOut::from(u)))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1)),
    responses(
        (status = 200, description = "The user", body = UserOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    _: Granted<need::Users>,
    Path(id): Path<i64>,
) -> Result<axum::Json<UserOut>, ApiError> {
    Ok(axum::Json(state.store.users.get(id).await?.into()))
}

/// Changes to an account; absent fields stay as they are, `email: null` clears the address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// 1–64 characters, one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: Option<String>,
    /// Up to 254 characters; `null` or empty clears the address.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, max_length = 254, format = Email)]
    pub email: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub role_id: Option<i64>,
    /// Nobody disables themselves or changes their own role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// The `version` last read; a stale one answers 409 `version_conflict`.
    #[schema(required = true)]
    pub version: Option<i32>,
}

/// An account's editable values, onto which a [`UserPatch`] is merged.
#[derive(Serialize, Deserialize)]
struct AccountValues {
    display_name: String,
    #[serde(default)]
    email: Option<String>,
    role_id: i64,
    disabled: bool,
}

impl From<User> for AccountValues {
    fn from(u: User) -> Self {
        Self {
            display_name: u.display_name,
            email: u.email,
            role_id: u.role_id,
            disabled: u.disabled,
        }
    }
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1)),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The changed user", body = UserOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Users>,
    Path(id): Path<i64>,
    Json(p): Json<UserPatch>,
) -> Result<axum::Json<UserOut>, ApiError> {
    let current = state.store.users.get(id).await?;
    let version = required_version(p.version)?;
    let edited = EditedAccount {
        role_id: current.role_id,
        is_self: id == user.user_id,
    };
    let v = merge_patch(AccountValues::from(current), &p)?;
    let a = AccountChanges::parse(
        &v.display_name,
        v.email.as_deref().unwrap_or_default(),
        Some(v.role_id),
        v.disabled,
        edited,
    )?;
    let u = state
        .store
        .users
        .apply_changes(id, a, version, &ctx.actor())
        .await?;
    Ok(axum::Json(u.into()))
}

/// A temporary password set by an administrator.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// 12–128 characters, not one of the most common passwords; the user must change it at
    /// their next sign-in.
    #[serde(default)]
    #[schema(
        required = true,
        min_length = 12,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub password: String,
}

/// The password is a secret: never in logs.
impl std::fmt::Debug for PasswordBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordBody { password: *** }")
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/password",
    tag = "users",
    params(("id" = i64, Path, description = "User id", minimum = 1)),
    request_body = PasswordBody,
    responses(
        (status = 204, description = "Password reset; the user's sessions end and they must \
            choose a new password at their next sign-in. Refused (403 `own_account`) for the \
            caller's own account, and (403 `target_outranks`) for a user holding rights the \
            caller lacks"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Invalid,
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Users>,
    Path(id): Path<i64>,
    Json(b): Json<PasswordBody>,
) -> Result<Response, ApiError> {
    let p = NewPassword::parse("password", &b.password).map_err(kehu_domain::DomainError::from)?;
    let hash = crate::passwords::hash(p.expose()).await?;
    state
        .store
        .users
        .reset_password(id, &hash, &ctx.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
