//! `/api/v1/customers/{id}/activities` and `/api/v1/activities/{id}`: interactions (交往记录)
//! over JSON, on the platform's conventions. Within the caller's data scope: another
//! manager's customer or interaction is 404.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use kehu_web::AppState;
use kehu_web::api::{
    BadRequest, Conflict, Forbidden, Granted, Invalid, Json, ListOf, NotFound, Path, Query,
    Unauthenticated, VersionQuery, created, list_request, merge_patch, required_version,
};
use kehu_web::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{Activity, ActivityDraft, ActivityInput};
use crate::need;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/customers/{id}/activities", get(list).post(create))
        .route(
            "/api/v1/activities/{id}",
            get(show).patch(update).delete(remove),
        )
}

/// The interaction paths, under the customer module's tag (`CustomersApi` describes it).
#[derive(OpenApi)]
#[openapi(paths(list, create, show, update, remove))]
pub struct ActivitiesApi;

/// An interaction (交往记录) with a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityOut {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    /// The contact met, one of the customer's.
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
    /// When it happened.
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// Dictionary value of kind `activity_channel` (e.g. `visit`).
    pub channel: String,
    pub place: Option<String>,
    pub title: String,
    pub description: Option<String>,
    /// Who recorded it (记录人).
    pub recorded_by: Option<i64>,
    pub recorded_by_name: Option<String>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back on PATCH and DELETE (optimistic locking).
    pub version: i32,
}

impl From<Activity> for ActivityOut {
    fn from(a: Activity) -> Self {
        Self {
            id: a.id,
            customer_id: a.customer_id,
            customer_name: a.customer_name,
            contact_id: a.contact_id,
            contact_name: a.contact_name,
            at: a.at,
            channel: a.channel,
            place: a.place,
            title: a.title,
            description: a.description,
            recorded_by: a.recorded_by,
            recorded_by_name: a.recorded_by_name,
            created_at: a.created_at,
            updated_at: a.updated_at,
            version: a.version,
        }
    }
}

kehu_web::bodies! {
    /// An interaction's fields: `at`, `channel` and `title` are required.
    ActivityBody,
    /// Changes to an interaction: absent fields stay, `null` clears a field.
    ActivityPatch {
        /// When it happened: RFC 3339 (`2026-11-23T06:05:00Z`).
        at: String,
        /// Dictionary value of kind `activity_channel`.
        channel: String,
        /// Where, up to 200 characters.
        place: String,
        /// One of the customer's contacts.
        contact_id: i64,
        /// 1–100 characters.
        title: String,
        /// Up to 2000 characters.
        description: String,
    }
}

fn text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl From<ActivityBody> for ActivityInput {
    fn from(b: ActivityBody) -> Self {
        Self {
            at: text(b.at),
            channel: text(b.channel),
            place: text(b.place),
            contact_id: text(b.contact_id),
            title: text(b.title),
            description: text(b.description),
        }
    }
}

impl From<ActivityOut> for ActivityBody {
    fn from(a: ActivityOut) -> Self {
        Self {
            at: Some(a.at.to_rfc3339()),
            channel: Some(a.channel),
            place: a.place,
            contact_id: a.contact_id,
            title: Some(a.title),
            description: a.description,
        }
    }
}

/// Parses `b` against the dictionary as it is now, local times in the configured zone.
async fn draft(state: &AppState, b: ActivityBody) -> Result<ActivityDraft, ApiError> {
    let dict = crate::store(state).dictionary().await?;
    let zone = state.config.time_zone.tz();
    Ok(ActivityDraft::parse(&ActivityInput::from(b), &dict, &zone)?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
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

#[utoipa::path(get, path = "/api/v1/customers/{id}/activities", tag = "customers",
    params(("id" = i64, Path, description = "Customer id", minimum = 1), ActivityQuery),
    responses(
        (status = 200, description = "One page of the customer's interactions, newest first", body = ListOf<ActivityOut>),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn list(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Customers>,
    Path(id): Path<i64>,
    Query(q): Query<ActivityQuery>,
) -> Result<axum::Json<ListOf<ActivityOut>>, ApiError> {
    let req = list_request(None, q.cursor.as_deref(), q.page, q.per_page)?;
    let l = crate::activities(&state)
        .of_customer(user.owner_filter(), id, req)
        .await?;
    Ok(axum::Json(ListOf::from_listing(l, ActivityOut::from)))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/activities", tag = "customers",
    params(("id" = i64, Path, description = "Customer id", minimum = 1)),
    request_body = ActivityBody,
    responses(
        (status = 201, description = "Recorded, by the caller", body = ActivityOut,
            headers(("Location" = String, description = "The new interaction's URL"))),
        BadRequest, Unauthenticated, Forbidden, NotFound, Invalid,
    ))]
pub async fn create(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Json(b): Json<ActivityBody>,
) -> Result<Response, ApiError> {
    let d = draft(&state, b).await?;
    let a = crate::activities(&state)
        .create(user.owner_filter(), id, &d, &ctx.actor())
        .await?;
    Ok(created(
        format!("/api/v1/activities/{}", a.id),
        ActivityOut::from(a),
    ))
}

#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Interaction id", minimum = 1)),
    responses(
        (status = 200, description = "The interaction", body = ActivityOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Customers>,
    Path(id): Path<i64>,
) -> Result<axum::Json<ActivityOut>, ApiError> {
    let a = crate::activities(&state)
        .get(user.owner_filter(), id)
        .await?;
    Ok(axum::Json(a.into()))
}

#[utoipa::path(patch, path = "/api/v1/activities/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Interaction id", minimum = 1)),
    request_body = ActivityPatch,
    responses(
        (status = 200, description = "The changed interaction", body = ActivityOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn update(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Json(p): Json<ActivityPatch>,
) -> Result<axum::Json<ActivityOut>, ApiError> {
    let store = crate::activities(&state);
    let scope = user.owner_filter();
    let current = ActivityOut::from(store.get(scope, id).await?);
    let version = required_version(p.version)?;
    let merged = merge_patch(ActivityBody::from(current), &p)?;
    let d = draft(&state, merged).await?;
    let a = store.update(scope, id, &d, version, &ctx.actor()).await?;
    Ok(axum::Json(a.into()))
}

#[utoipa::path(delete, path = "/api/v1/activities/{id}", tag = "customers",
    params(("id" = i64, Path, description = "Interaction id", minimum = 1), VersionQuery),
    responses(
        (status = 204, description = "Deleted (the customer's history keeps the entry)"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn remove(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::CustomerWrite>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    let version = required_version(v.version)?;
    crate::activities(&state)
        .delete(user.owner_filter(), id, version, &ctx.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
