//! `/api/v1/services`: customers' requests (服务) from creation to archive, and a complaint's
//! steps, over JSON on the platform's conventions (`ListOf`, problem+json, a PATCH as a merge
//! patch parsed like a create), and `/api/v1/service-settings`: automatic distribution and
//! the service level agreement. Services are within the caller's data scope: another
//! manager's is 404. A transition the workflow refuses for the state is 409 `not_allowed` with
//! a `reason` (`err-service-archived` …), for the person 403. Transition bodies may carry the
//! `version` read (a stale one is 409 `version_conflict`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::error::Errors;
use kehu_store::page::Sort;
use kehu_store::scope::Acting;
use kehu_web::AppState;
use kehu_web::api::{
    BadRequest, Conflict, Decimal, Forbidden, Granted, Invalid, Json, ListOf, NotFound, Path,
    Query, Unauthenticated, blank_as_none, created, list_request, merge_patch, period,
    required_version, rules,
};
use kehu_web::context::Ctx;
use kehu_web::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::acd::{self, Mode};
use crate::domain::{
    FeedbackDraft, FeedbackInput, Priority, ServiceDraft, ServiceInput, Status, StepDraft,
    StepInput, text,
};
use crate::need;
use crate::sla::{self, SlaDraft};
use crate::store::{Due, Service, ServiceFilter, ServiceSort, StepRow, acting};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/services", get(service_list).post(create_service))
        .route(
            "/api/v1/services/{id}",
            get(show_service).patch(update_service),
        )
        .route("/api/v1/services/{id}/assign", post(assign))
        .route("/api/v1/services/{id}/handle", post(handle))
        .route("/api/v1/services/{id}/feedback", post(feedback))
        .route(
            "/api/v1/services/{id}/complaint-steps",
            get(complaint_steps).post(add_complaint_step),
        )
        .route("/api/v1/service-settings", get(settings))
        .route("/api/v1/service-settings/routing/{type}", put(set_routing))
        .route("/api/v1/service-settings/sla", put(set_sla))
        .route("/api/v1/service-settings/sla/{id}", delete(remove_sla))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        service_list, create_service, show_service, update_service, assign, handle, feedback,
        complaint_steps, add_complaint_step, settings, set_routing, set_sla, remove_sla
    ),
    tags((name = "service", description = "Service requests (服务管理) and complaints (投诉处理)"))
)]
pub struct ServiceApi;

fn who(user: &kehu_domain::Principal, ctx: &Ctx) -> Acting {
    acting(user, ctx.actor())
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_default()
}

/// A customer's request (服务).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOut {
    pub id: i64,
    /// 服务编号, `FW20261207-0001`.
    pub number: String,
    /// A value of the dictionary `service_type`: `consultation`, `complaint`, `suggestion` …
    #[serde(rename = "type")]
    pub service_type: String,
    pub title: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub contact_id: Option<i64>,
    /// A value of the dictionary `activity_channel`.
    pub channel: Option<String>,
    /// The request in the customer's words.
    pub request: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// `new`, `assigned`, `handled` or `archived`.
    pub status: String,
    /// Who took the request.
    pub owner_id: i64,
    pub owner_name: String,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub assigned_at: Option<DateTime<Utc>>,
    /// How it was handled.
    pub handling: Option<String>,
    pub handled_by: Option<i64>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub handled_at: Option<DateTime<Utc>>,
    /// The result the customer confirmed.
    pub result: Option<String>,
    /// 1–5.
    pub satisfaction: Option<i16>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub feedback_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<DateTime<Utc>>,
    /// When its handler first responded (a complaint step or the handling).
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<DateTime<Utc>>,
    /// The service level targets, set on creation.
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub respond_due_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolve_due_at: Option<DateTime<Utc>>,
    /// `met`, `on_time`, `due_soon` (within two hours) or `overdue`, now.
    pub due: String,
    /// The complaint step it waits for (`validity` … `summary`); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    pub created_by: Option<i64>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back on PATCH and on transitions (optimistic locking).
    pub version: i32,
    /// What the caller may do with it now: `edit`, `assign`, `step`, `handle`, `feedback`.
    pub actions: Vec<String>,
}

fn due_code(d: Due) -> &'static str {
    match d {
        Due::Met => "met",
        Due::OnTime => "on_time",
        Due::DueSoon => "due_soon",
        Due::Overdue => "overdue",
    }
}

impl ServiceOut {
    fn of(s: Service, who: &Acting, next_step: Option<String>) -> Self {
        let actions = s.actions(who).iter().map(|a| a.code().to_owned()).collect();
        Self {
            due: due_code(s.due(Utc::now())).to_owned(),
            next_step,
            actions,
            id: s.id,
            number: s.number,
            service_type: s.service_type,
            title: s.title,
            customer_id: s.customer_id,
            customer_name: s.customer_name,
            contact_id: s.contact_id,
            channel: s.channel,
            request: s.request,
            priority: s.priority,
            status: s.status,
            owner_id: s.owner_id,
            owner_name: s.owner_name,
            assignee_id: s.assignee_id,
            assignee_name: s.assignee_name,
            assigned_at: s.assigned_at,
            handling: s.handling,
            handled_by: s.handled_by,
            handled_at: s.handled_at,
            result: s.result,
            satisfaction: s.satisfaction,
            feedback_at: s.feedback_at,
            archived_at: s.archived_at,
            responded_at: s.responded_at,
            respond_due_at: s.respond_due_at,
            resolve_due_at: s.resolve_due_at,
            created_by: s.created_by,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

kehu_web::bodies! {
    /// A service's fields: `type`, `title`, `customer_id` and `request` are required.
    ServiceBody,
    /// Changes to a service while it is new: absent fields stay, `null` clears a field. The
    /// customer cannot change.
    ServicePatch {
        /// A value of the dictionary `service_type` (`consultation`, `complaint`, `suggestion`).
        r#type: String,
        /// 1–100 characters.
        title: String,
        /// A customer in the caller's scope.
        customer_id: Decimal,
        /// One of the customer's contacts.
        contact_id: Decimal,
        /// A value of the dictionary `activity_channel` (`phone`, `email` …).
        channel: String,
        /// The request in the customer's words, 1–2000 characters.
        request: String,
        /// `low`, `normal` (when empty), `high` or `urgent`.
        priority: String,
    }
}

impl From<ServiceBody> for ServiceInput {
    fn from(b: ServiceBody) -> Self {
        let decimal = |d: Option<Decimal>| d.as_ref().map(Decimal::text).unwrap_or_default();
        Self {
            service_type: opt(b.r#type),
            title: opt(b.title),
            customer_id: decimal(b.customer_id),
            contact_id: decimal(b.contact_id),
            channel: opt(b.channel),
            request: opt(b.request),
            priority: opt(b.priority),
        }
    }
}

impl From<&Service> for ServiceBody {
    fn from(s: &Service) -> Self {
        let id = |n: i64| Decimal::Text(n.to_string());
        Self {
            r#type: Some(s.service_type.clone()),
            title: Some(s.title.clone()),
            customer_id: Some(id(s.customer_id)),
            contact_id: s.contact_id.map(id),
            channel: s.channel.clone(),
            request: Some(s.request.clone()),
            priority: Some(s.priority.clone()),
        }
    }
}

fn service_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<ServiceSort>()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// A value of the dictionary `service_type`.
    #[serde(rename = "type")]
    #[param(max_length = 64)]
    service_type: Option<String>,
    /// `new`, `assigned`, `handled` or `archived`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(value_type = Option<String>)]
    status: Option<Status>,
    #[serde(default, deserialize_with = "blank_as_none")]
    customer_id: Option<i64>,
    /// Handled by this user.
    #[serde(default, deserialize_with = "blank_as_none")]
    assignee_id: Option<i64>,
    /// `low`, `normal`, `high` or `urgent`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(value_type = Option<String>)]
    priority: Option<Priority>,
    /// `true`: open with a service level target passed; `false`: the others.
    #[serde(default, deserialize_with = "blank_as_none")]
    overdue: Option<bool>,
    /// Created on or after this day (`2026-03-01`) or instant (RFC 3339).
    created_from: Option<String>,
    /// Created on or before this day, or before this instant.
    created_to: Option<String>,
    /// `created_at` (`-created_at`, newest first, is the default) or `resolve_due_at` (the
    /// most urgent first); `-` in front sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = service_sort)]
    sort: Option<Sort<ServiceSort>>,
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

impl ServiceQuery {
    fn filter(&self, zone: kehu_web::config::TimeZone) -> Result<ServiceFilter, ApiError> {
        let mut e = Errors::new();
        let (from, to) = period(
            &mut e,
            "created",
            (self.created_from.as_deref(), self.created_to.as_deref()),
            zone,
        );
        e.finish()?;
        Ok(ServiceFilter {
            service_type: self.service_type.clone().filter(|s| !s.trim().is_empty()),
            status: self.status,
            customer_id: self.customer_id,
            assignee_id: self.assignee_id,
            priority: self.priority,
            overdue: self.overdue,
            created_from: from,
            created_to: to,
            ..ServiceFilter::default()
        })
    }
}

#[utoipa::path(get, path = "/api/v1/services", tag = "service", params(ServiceQuery),
    responses(
        (status = 200, description = "One page of the services in the caller's scope, newest first unless `sort` says otherwise", body = ListOf<ServiceOut>),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn service_list(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Services>,
    Query(q): Query<ServiceQuery>,
) -> Result<axum::Json<ListOf<ServiceOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = q.filter(state.config.time_zone)?;
    let l = crate::services(&state)
        .list(user.owner_filter(), &f, req)
        .await?;
    let who = who(&user, &ctx);
    Ok(axum::Json(ListOf::from_listing(l, |s| {
        ServiceOut::of(s, &who, None)
    })))
}

#[utoipa::path(post, path = "/api/v1/services", tag = "service",
    request_body = ServiceBody,
    responses(
        (status = 201, description = "Recorded (服务创建): `new`, or `assigned` when its type is distributed automatically; its service level targets set", body = ServiceOut,
            headers(("Location" = String, description = "The new service's URL"))),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn create_service(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::ServiceWrite>,
    Json(b): Json<ServiceBody>,
) -> Result<Response, ApiError> {
    let store = crate::services(&state);
    let dict = store.dictionary().await?;
    let d = ServiceDraft::parse(&ServiceInput::from(b), &dict)?;
    let who = who(&user, &ctx);
    let s = store.create(&who, &d).await?;
    let next = next_step_of(&state, &user, &s).await?;
    Ok(created(
        format!("/api/v1/services/{}", s.id),
        ServiceOut::of(s, &who, next),
    ))
}

/// The complaint step `s` waits for, as its code.
async fn next_step_of(
    state: &AppState,
    user: &kehu_domain::Principal,
    s: &Service,
) -> Result<Option<String>, ApiError> {
    if !s.is_complaint() {
        return Ok(None);
    }
    let steps = crate::services(state)
        .steps_of_found(user.owner_filter(), s.id)
        .await?;
    let log: Vec<_> = steps.iter().map(StepRow::record).collect();
    Ok(crate::domain::next_step(&log).map(|s| s.code().to_owned()))
}

#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "service",
    params(("id" = i64, Path, description = "Service id", minimum = 1)),
    responses(
        (status = 200, description = "The service", body = ServiceOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show_service(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Services>,
    Path(id): Path<i64>,
) -> Result<axum::Json<ServiceOut>, ApiError> {
    let s = crate::services(&state).get(user.owner_filter(), id).await?;
    let next = next_step_of(&state, &user, &s).await?;
    Ok(axum::Json(ServiceOut::of(s, &who(&user, &ctx), next)))
}

#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "service",
    params(("id" = i64, Path, description = "Service id", minimum = 1)),
    request_body = ServicePatch,
    responses(
        (status = 200, description = "The changed service (only while new, by its creator or a supervisor)", body = ServiceOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn update_service(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::ServiceWrite>,
    Path(id): Path<i64>,
    Json(p): Json<ServicePatch>,
) -> Result<axum::Json<ServiceOut>, ApiError> {
    let store = crate::services(&state);
    let current = store.get(user.owner_filter(), id).await?;
    let version = required_version(p.version)?;
    let merged = merge_patch(ServiceBody::from(&current), &p)?;
    let dict = store.dictionary().await?;
    let d = ServiceDraft::parse(&ServiceInput::from(merged), &dict)?;
    let who = who(&user, &ctx);
    let s = store.update(&who, id, &d, version).await?;
    let next = next_step_of(&state, &user, &s).await?;
    Ok(axum::Json(ServiceOut::of(s, &who, next)))
}

/// Who handles the service.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceAssignBody {
    /// An active user holding `service.handle`.
    pub assignee_id: Option<i64>,
    /// The service's `version` last read.
    pub version: Option<i32>,
}

#[utoipa::path(post, path = "/api/v1/services/{id}/assign", tag = "service",
    params(("id" = i64, Path, description = "Service id", minimum = 1)),
    request_body = ServiceAssignBody,
    responses(
        (status = 200, description = "Assigned (服务分配), or reassigned while not handled; the handler is told", body = ServiceOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn assign(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::ServiceAssign>,
    Path(id): Path<i64>,
    Json(b): Json<ServiceAssignBody>,
) -> Result<axum::Json<ServiceOut>, ApiError> {
    let Some(assignee_id) = b.assignee_id else {
        return Err(DomainError::field("assignee_id", "err-required").into());
    };
    let assignee = state
        .principal(assignee_id)
        .await?
        .ok_or_else(|| DomainError::field("assignee_id", "err-handler-right"))?;
    let who = who(&user, &ctx);
    let s = crate::services(&state)
        .assign(&who, id, &assignee, b.version)
        .await?;
    let next = next_step_of(&state, &user, &s).await?;
    Ok(axum::Json(ServiceOut::of(s, &who, next)))
}

/// How the service was handled.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HandleBody {
    /// 1–2000 characters.
    pub handling: Option<String>,
    /// The service's `version` last read.
    pub version: Option<i32>,
}

#[utoipa::path(post, path = "/api/v1/services/{id}/handle", tag = "service",
    params(("id" = i64, Path, description = "Service id", minimum = 1)),
    request_body = HandleBody,
    responses(
        (status = 200, description = "Handled (服务处理, its handler; a complaint once its steps are complete, else 409 `not_allowed` reason `err-complaint-steps-open`); the creator is told", body = ServiceOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn handle(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::ServiceHandle>,
    Path(id): Path<i64>,
    Json(b): Json<HandleBody>,
) -> Result<axum::Json<ServiceOut>, ApiError> {
    let handling = text("handling", &opt(b.handling)).map_err(DomainError::from)?;
    let who = who(&user, &ctx);
    let s = crate::services(&state)
        .handle(&who, id, &handling, b.version)
        .await?;
    Ok(axum::Json(ServiceOut::of(s, &who, None)))
}

/// The customer's feedback.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackBody {
    /// The result the customer confirmed, 1–2000 characters.
    pub result: Option<String>,
    /// 1 (very unsatisfied) to 5; 3 or more archives the service, less sends it back to its
    /// handler.
    pub satisfaction: Option<Decimal>,
    /// The service's `version` last read.
    pub version: Option<i32>,
}

#[utoipa::path(post, path = "/api/v1/services/{id}/feedback", tag = "service",
    params(("id" = i64, Path, description = "Service id", minimum = 1)),
    request_body = FeedbackBody,
    responses(
        (status = 200, description = "Recorded (服务反馈, its creator or a supervisor, once handled): `archived` (服务归档, read-only from then on) when satisfaction ≥ 3, else back to `assigned` for the same handler", body = ServiceOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn feedback(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Services>,
    Path(id): Path<i64>,
    Json(b): Json<FeedbackBody>,
) -> Result<axum::Json<ServiceOut>, ApiError> {
    let d = FeedbackDraft::parse(&FeedbackInput {
        result: opt(b.result),
        satisfaction: b
            .satisfaction
            .as_ref()
            .map(Decimal::text)
            .unwrap_or_default(),
    })?;
    let who = who(&user, &ctx);
    let s = crate::services(&state)
        .feedback(&who, id, &d, b.version)
        .await?;
    let next = next_step_of(&state, &user, &s).await?;
    Ok(axum::Json(ServiceOut::of(s, &who, next)))
}

/// A recorded complaint step.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    pub id: i64,
    /// `validity`, `department`, `cause`, `resolution`, `approval`, `execution`, `summary`,
    /// or `reopened` (the customer was not satisfied; recorded by the feedback).
    pub step: String,
    /// The decision of `validity` (the complaint stands) and `approval` (approved).
    pub accepted: Option<bool>,
    pub content: String,
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<StepRow> for StepOut {
    fn from(r: StepRow) -> Self {
        Self {
            id: r.id,
            step: r.step,
            accepted: r.accepted,
            content: r.content,
            created_by: r.created_by,
            created_by_name: r.created_by_name,
            created_at: r.created_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/services/{id}/complaint-steps", tag = "service",
    params(("id" = i64, Path, description = "Service id", minimum = 1)),
    responses(
        (status = 200, description = "The complaint's steps, oldest first (empty for other types)", body = Vec<StepOut>),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn complaint_steps(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Services>,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<StepOut>>, ApiError> {
    let rows = crate::services(&state)
        .steps(user.owner_filter(), id)
        .await?;
    Ok(axum::Json(rows.into_iter().map(StepOut::from).collect()))
}

/// A complaint step to record.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StepBody {
    /// The step the complaint waits for (its `next_step`): `validity`, `department`,
    /// `cause`, `resolution`, `approval`, `execution` or `summary`.
    pub step: Option<String>,
    /// What was found, decided or done, 1–2000 characters.
    pub content: Option<String>,
    /// Required for `validity` (the complaint stands) and `approval` (approved).
    pub accepted: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/services/{id}/complaint-steps", tag = "service",
    params(("id" = i64, Path, description = "Service id", minimum = 1)),
    request_body = StepBody,
    responses(
        (status = 201, description = "Recorded, with who and when (its handler; the approval a supervisor). Out of order: 409 `not_allowed` reason `err-complaint-step-order`", body = StepOut,
            headers(("Location" = String, description = "The steps' URL"))),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn add_complaint_step(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Services>,
    Path(id): Path<i64>,
    Json(b): Json<StepBody>,
) -> Result<Response, ApiError> {
    let d = StepDraft::parse(&StepInput {
        step: opt(b.step),
        content: opt(b.content),
        accepted: b.accepted.map(|a| a.to_string()).unwrap_or_default(),
    })?;
    let row = crate::services(&state)
        .add_step(&who(&user, &ctx), id, &d)
        .await?;
    Ok(created(
        format!("/api/v1/services/{id}/complaint-steps"),
        StepOut::from(row),
    ))
}

/// How a type's new services are distributed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingOut {
    #[serde(rename = "type")]
    pub service_type: String,
    /// `manual`, `round_robin` or `least_load`.
    pub mode: String,
}

/// A row of the service level agreement.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaOut {
    pub id: i64,
    #[serde(rename = "type")]
    pub service_type: String,
    /// A value of `customer_level`; empty for any level.
    pub customer_level: String,
    pub respond_minutes: i32,
    pub resolve_minutes: i32,
}

impl From<sla::SlaRow> for SlaOut {
    fn from(r: sla::SlaRow) -> Self {
        Self {
            id: r.id,
            service_type: r.service_type,
            customer_level: r.customer_level,
            respond_minutes: r.respond_minutes,
            resolve_minutes: r.resolve_minutes,
        }
    }
}

/// The service settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsOut {
    /// Every type of the dictionary, `manual` unless set.
    pub routing: Vec<RoutingOut>,
    pub sla: Vec<SlaOut>,
}

#[utoipa::path(get, path = "/api/v1/service-settings", tag = "service",
    responses(
        (status = 200, description = "Automatic distribution per type and the service level agreement", body = SettingsOut),
        Unauthenticated, Forbidden,
    ))]
pub async fn settings(
    State(state): State<AppState>,
    Granted { .. }: Granted<need::ServiceAssign>,
) -> Result<axum::Json<SettingsOut>, ApiError> {
    let db = &state.store.db;
    let types = crate::service_types(&state).await?;
    let routes = acd::all(db).await?;
    let routing = types
        .into_iter()
        .map(|t| RoutingOut {
            mode: routes
                .iter()
                .find(|r| r.service_type == t)
                .map_or(Mode::Manual, acd::Routing::mode)
                .code()
                .to_owned(),
            service_type: t,
        })
        .collect();
    let sla = sla::all(db).await?.into_iter().map(SlaOut::from).collect();
    Ok(axum::Json(SettingsOut { routing, sla }))
}

/// How a type's new services are to be distributed.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingBody {
    /// `manual` (a supervisor assigns), `round_robin` or `least_load`.
    pub mode: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/service-settings/routing/{type}", tag = "service",
    params(("type" = String, Path, description = "A value of the dictionary `service_type`", max_length = 64)),
    request_body = RoutingBody,
    responses(
        (status = 200, description = "Set; new services of the type are distributed so from now on", body = RoutingOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Invalid,
    ))]
pub async fn set_routing(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::ServiceAssign>,
    Path(service_type): Path<String>,
    Json(b): Json<RoutingBody>,
) -> Result<axum::Json<RoutingOut>, ApiError> {
    if !crate::service_types(&state).await?.contains(&service_type) {
        return Err(DomainError::NotFound.into());
    }
    let mode = Mode::parse(&opt(b.mode))?;
    let r = acd::set_mode(&state.store.db, &service_type, mode, &ctx.actor()).await?;
    Ok(axum::Json(RoutingOut {
        mode: r.mode().code().to_owned(),
        service_type: r.service_type,
    }))
}

/// Targets for a type and customer level.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SlaBody {
    /// A value of the dictionary `service_type`.
    pub r#type: Option<String>,
    /// A value of `customer_level`; empty or absent for any level.
    pub customer_level: Option<String>,
    /// Whole minutes, 1–527040, no more than `resolve_minutes`.
    pub respond_minutes: Option<Decimal>,
    pub resolve_minutes: Option<Decimal>,
}

#[utoipa::path(put, path = "/api/v1/service-settings/sla", tag = "service",
    request_body = SlaBody,
    responses(
        (status = 200, description = "Set (created or changed) for services created from now on", body = SlaOut),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn set_sla(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::ServiceAssign>,
    Json(b): Json<SlaBody>,
) -> Result<axum::Json<SlaOut>, ApiError> {
    let dict = crate::services(&state).dictionary().await?;
    let mut e = Errors::new();
    let service_type = e
        .check(dict.parse("type", crate::domain::TYPE, &opt(b.r#type)))
        .flatten();
    if service_type.is_none() && e.is_empty() {
        e.check::<()>(Err(kehu_domain::FieldError::new("type", "err-required")));
    }
    let level = e
        .check(dict.parse(
            "customer_level",
            kehu_customers::domain::kinds::LEVEL,
            &opt(b.customer_level),
        ))
        .flatten();
    e.finish()?;
    let minutes = |d: &Option<Decimal>| d.as_ref().map(Decimal::text).unwrap_or_default();
    let d = SlaDraft::parse(
        service_type.unwrap_or_default(),
        level.unwrap_or_default(),
        &minutes(&b.respond_minutes),
        &minutes(&b.resolve_minutes),
    )?;
    let row = sla::set(&state.store.db, &d, &ctx.actor()).await?;
    Ok(axum::Json(SlaOut::from(row)))
}

#[utoipa::path(delete, path = "/api/v1/service-settings/sla/{id}", tag = "service",
    params(("id" = i64, Path, description = "The row's id", minimum = 1)),
    responses(
        (status = 204, description = "Removed: the type's services of that level fall back to its row for any level"),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn remove_sla(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::ServiceAssign>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    sla::remove(&state.store.db, id, &ctx.actor()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
