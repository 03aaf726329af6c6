//! `/api/v1/loss-records`: loss records (客户流失) with their measures, over JSON on the
//! platform's conventions (`ListOf`, problem+json): list, one, log a measure (暂缓流失),
//! confirm the loss (确定流失); and `/api/v1/loss-settings`, the scan's threshold. Records are
//! within the caller's data scope: another manager's is 404. A measure or confirmation on a
//! record that is no longer open is 409 `not_allowed` with reason `err-loss-closed`. The scan
//! itself is the job `loss-scan` (`POST /api/v1/jobs/loss-scan`, `GET /api/v1/jobs/runs`).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use kehu_domain::error::Errors;
use kehu_store::page::Sort;
use kehu_web::AppState;
use kehu_web::api::{
    BadRequest, Conflict, Decimal, Forbidden, Granted, Invalid, Json, ListOf, NotFound, Path,
    Query, Unauthenticated, blank_as_none, created, list_request, period, rules,
};
use kehu_web::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::domain::{
    ConfirmDraft, ConfirmInput, MeasureDraft, MeasureInput, Settings, SettingsInput, Status,
};
use crate::need;
use crate::store::{LossFilter, LossRecord, LossSort, Measure};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/loss-records", get(loss_list))
        .route("/api/v1/loss-records/{id}", get(show_record))
        .route("/api/v1/loss-records/{id}/measures", post(add_measure))
        .route("/api/v1/loss-records/{id}/confirm", post(confirm))
        .route("/api/v1/loss-settings", get(settings).put(set_settings))
}

#[derive(OpenApi)]
#[openapi(
    paths(loss_list, show_record, add_measure, confirm, settings, set_settings),
    tags((name = "loss", description = "Customer loss management (客户流失管理): warnings the nightly scan opens, measures, confirmed losses, win-backs"))
)]
pub struct LossApi;

/// A measure logged on a loss record (暂缓流失措施).
#[derive(Debug, Serialize, ToSchema)]
pub struct LossMeasureOut {
    pub id: i64,
    pub measure: String,
    /// Its author.
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<&Measure> for LossMeasureOut {
    fn from(m: &Measure) -> Self {
        Self {
            id: m.id,
            measure: m.measure.clone(),
            created_by: m.created_by,
            created_by_name: m.author.clone(),
            created_at: m.created_at,
        }
    }
}

/// A loss record (客户流失).
#[derive(Debug, Serialize, ToSchema)]
pub struct LossRecordOut {
    pub id: i64,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    /// The customer's region (dictionary `region`).
    pub region: Option<String>,
    /// The account manager.
    pub owner_id: i64,
    pub owner_name: String,
    /// The customer's last order when warned; null: it never ordered.
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_order_at: Option<DateTime<Utc>>,
    /// Whole days since that order, now.
    pub days_since_order: Option<i64>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub warned_at: DateTime<Utc>,
    /// `warning`, `deferring`, `confirmed` or `won_back`.
    pub status: String,
    /// Once confirmed: a `loss_reason` dictionary value, and the manager's words.
    pub reason: Option<String>,
    pub detail: Option<String>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmed_by: Option<i64>,
    /// Once won back: when, and the order (null when the scan saw a newer order).
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub won_back_at: Option<DateTime<Utc>>,
    pub won_back_order_id: Option<i64>,
    /// What was done about it, oldest first.
    pub measures: Vec<LossMeasureOut>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back on confirm (optimistic locking).
    pub version: i32,
}

impl LossRecordOut {
    fn of(r: LossRecord, measures: &[Measure]) -> Self {
        Self {
            days_since_order: r.days_since_order(Utc::now()),
            measures: measures
                .iter()
                .filter(|m| m.record_id == r.id)
                .map(LossMeasureOut::from)
                .collect(),
            id: r.id,
            customer_id: r.customer_id,
            customer_code: r.customer_code,
            customer_name: r.customer_name,
            region: r.region,
            owner_id: r.owner_id,
            owner_name: r.owner_name,
            last_order_at: r.last_order_at,
            warned_at: r.warned_at,
            status: r.status,
            reason: r.reason,
            detail: r.detail,
            confirmed_at: r.confirmed_at,
            confirmed_by: r.confirmed_by,
            won_back_at: r.won_back_at,
            won_back_order_id: r.won_back_order_id,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

fn loss_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<LossSort>()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LossQuery {
    /// `warning`, `deferring`, `confirmed` or `won_back`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(value_type = Option<String>)]
    status: Option<Status>,
    /// The account manager.
    #[serde(default, deserialize_with = "blank_as_none")]
    owner_id: Option<i64>,
    #[serde(default, deserialize_with = "blank_as_none")]
    customer_id: Option<i64>,
    /// The customer's region (a value of the dictionary `region`).
    #[param(max_length = 64)]
    region: Option<String>,
    /// Warned on or after this day (`2026-03-01`) or instant (RFC 3339).
    warned_from: Option<String>,
    /// Warned on or before this day, or before this instant.
    warned_to: Option<String>,
    /// `warned_at` (`-warned_at`, newest first, is the default) or `last_order_at` (the
    /// longest without an order first); `-` in front sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = loss_sort)]
    sort: Option<Sort<LossSort>>,
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

impl LossQuery {
    fn filter(&self, zone: kehu_web::config::TimeZone) -> Result<LossFilter, ApiError> {
        let mut e = Errors::new();
        let (from, to) = period(
            &mut e,
            "warned",
            (self.warned_from.as_deref(), self.warned_to.as_deref()),
            zone,
        );
        e.finish()?;
        Ok(LossFilter {
            status: self.status,
            owner_id: self.owner_id,
            customer_id: self.customer_id,
            region: self.region.clone().filter(|s| !s.trim().is_empty()),
            warned_from: from,
            warned_to: to,
            ..LossFilter::default()
        })
    }
}

#[utoipa::path(get, path = "/api/v1/loss-records", tag = "loss", params(LossQuery),
    responses(
        (status = 200, description = "One page of the loss records in the caller's scope, newest warning first unless `sort` says otherwise, each with its measures", body = ListOf<LossRecordOut>),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn loss_list(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Loss>,
    Query(q): Query<LossQuery>,
) -> Result<axum::Json<ListOf<LossRecordOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = q.filter(state.config.time_zone)?;
    let store = crate::losses(&state);
    let scope = user.owner_filter();
    let l = store.list(scope, &f, req).await?;
    let ids: Vec<i64> = l.items.iter().map(|r| r.id).collect();
    let measures = store.measures(scope, &ids).await?;
    Ok(axum::Json(ListOf::from_listing(l, |r| {
        LossRecordOut::of(r, &measures)
    })))
}

/// Record `id` in the caller's scope with its measures.
async fn one(
    state: &AppState,
    user: &kehu_domain::Principal,
    id: i64,
) -> Result<LossRecordOut, ApiError> {
    let store = crate::losses(state);
    let scope = user.owner_filter();
    let r = store.get(scope, id).await?;
    let measures = store.measures(scope, &[id]).await?;
    Ok(LossRecordOut::of(r, &measures))
}

#[utoipa::path(get, path = "/api/v1/loss-records/{id}", tag = "loss",
    params(("id" = i64, Path, description = "Loss record id", minimum = 1)),
    responses(
        (status = 200, description = "The loss record with its measures", body = LossRecordOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show_record(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Loss>,
    Path(id): Path<i64>,
) -> Result<axum::Json<LossRecordOut>, ApiError> {
    Ok(axum::Json(one(&state, &user, id).await?))
}

/// A measure to log.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LossMeasureBody {
    /// What was done about it (暂缓流失), 1–2000 characters.
    pub measure: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/loss-records/{id}/measures", tag = "loss",
    params(("id" = i64, Path, description = "Loss record id", minimum = 1)),
    request_body = LossMeasureBody,
    responses(
        (status = 201, description = "Logged (暂缓流失) with its time and author; a `warning` becomes `deferring`. Answers the record with its measures", body = LossRecordOut,
            headers(("Location" = String, description = "The record's URL"))),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn add_measure(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::LossHandle>,
    Path(id): Path<i64>,
    Json(b): Json<LossMeasureBody>,
) -> Result<Response, ApiError> {
    let d = MeasureDraft::parse(&MeasureInput {
        measure: b.measure.unwrap_or_default(),
    })?;
    crate::losses(&state)
        .add_measure(user.owner_filter(), id, &d, &ctx.actor())
        .await?;
    let r = one(&state, &user, id).await?;
    Ok(created(format!("/api/v1/loss-records/{id}"), r))
}

/// A confirmation of the loss.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfirmBody {
    /// A value of the dictionary `loss_reason` (`price`, `quality`, `service` …).
    pub reason: Option<String>,
    /// The reason in the manager's words, at most 2000 characters.
    pub detail: Option<String>,
    /// The record's `version` last read.
    pub version: Option<i32>,
}

#[utoipa::path(post, path = "/api/v1/loss-records/{id}/confirm", tag = "loss",
    params(("id" = i64, Path, description = "Loss record id", minimum = 1)),
    request_body = LossConfirmBody,
    responses(
        (status = 200, description = "Confirmed (确定流失): `confirmed` with its reason, the customer `lost` until it orders again", body = LossRecordOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::LossHandle>,
    Path(id): Path<i64>,
    Json(b): Json<LossConfirmBody>,
) -> Result<axum::Json<LossRecordOut>, ApiError> {
    let reasons = crate::reasons(&state).await?;
    let d = ConfirmDraft::parse(
        &ConfirmInput {
            reason: b.reason.unwrap_or_default(),
            detail: b.detail.unwrap_or_default(),
        },
        &reasons,
    )?;
    crate::losses(&state)
        .confirm(user.owner_filter(), id, &d, b.version, &ctx.actor())
        .await?;
    Ok(axum::Json(one(&state, &user, id).await?))
}

/// The loss scan's settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct LossSettingsOut {
    /// Months without an order that make a customer at risk (1–120).
    pub threshold_months: i64,
    /// Whether customers that never ordered are judged from their creation date.
    pub never_ordered: bool,
    /// False while they are the configuration's (`KEHU_LOSS_THRESHOLD_MONTHS` …).
    pub stored: bool,
    /// Send it back on PUT; null while nobody stored any.
    pub version: Option<i32>,
}

async fn settings_out(state: &AppState) -> Result<LossSettingsOut, ApiError> {
    let (s, version) = crate::settings::get(&state.store.db, crate::configured(state)).await?;
    Ok(LossSettingsOut {
        threshold_months: s.threshold.months(),
        never_ordered: s.never_ordered,
        stored: version.is_some(),
        version,
    })
}

#[utoipa::path(get, path = "/api/v1/loss-settings", tag = "loss",
    responses(
        (status = 200, description = "The scan's threshold as it stands", body = LossSettingsOut),
        Unauthenticated, Forbidden,
    ))]
pub async fn settings(
    State(state): State<AppState>,
    _: Granted<need::Jobs>,
) -> Result<axum::Json<LossSettingsOut>, ApiError> {
    Ok(axum::Json(settings_out(&state).await?))
}

/// The loss scan's settings to store.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LossSettingsBody {
    /// Months without an order (1–120).
    pub threshold_months: Option<Decimal>,
    /// Judge customers that never ordered from their creation date (default false).
    pub never_ordered: Option<bool>,
    /// The `version` last read (none while nobody stored any).
    pub version: Option<i32>,
}

#[utoipa::path(put, path = "/api/v1/loss-settings", tag = "loss",
    request_body = LossSettingsBody,
    responses(
        (status = 200, description = "Stored; the next scan uses them", body = LossSettingsOut),
        BadRequest, Unauthenticated, Forbidden, Conflict, Invalid,
    ))]
pub async fn set_settings(
    State(state): State<AppState>,
    Granted { ctx, .. }: Granted<need::Jobs>,
    Json(b): Json<LossSettingsBody>,
) -> Result<axum::Json<LossSettingsOut>, ApiError> {
    let s = Settings::parse(&SettingsInput {
        threshold_months: b
            .threshold_months
            .as_ref()
            .map(Decimal::text)
            .unwrap_or_default(),
        never_ordered: b.never_ordered.filter(|v| *v).map(|_| "true".to_owned()),
    })?;
    crate::settings::save(&state.store.db, &s, b.version, &ctx.actor()).await?;
    Ok(axum::Json(settings_out(&state).await?))
}
