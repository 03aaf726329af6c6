//! `GET /api/v1/audit`: the audit log (操作日志), newest first, filtered by user, action,
//! entity (and record) and period — each filter an index, no text search — paged by cursor;
//! each entry carries its changed fields before and after. Right: `system.audit`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use kehu_domain::FieldError;
use kehu_domain::error::Errors;
use kehu_store::audit::{Action, AuditEntry, AuditFilter, AuditSort};
use kehu_store::page::Sort;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{
    BadRequest, Forbidden, Granted, Invalid, ListOf, Query, Unauthenticated, blank_as_none,
    list_request, need, period_bound, rules,
};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list))
}

/// One change of business data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    #[serde(serialize_with = "super::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// Who made the change; `null` for the system (CLI, seeding).
    pub user_id: Option<i64>,
    pub username: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// e.g. `user`, `role`, `dictionary`, `api_token`.
    pub entity: String,
    pub entity_id: String,
    /// The changed fields: `{"display_name": {"before": "张伟", "after": "张伟明"}}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

impl From<AuditEntry> for AuditOut {
    fn from(e: AuditEntry) -> Self {
        Self {
            changes: e.changes_json(),
            id: e.id,
            at: e.at,
            user_id: e.user_id,
            username: e.username,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Changes made by this user.
    #[serde(default, deserialize_with = "blank_as_none")]
    user_id: Option<i64>,
    /// Only entries of this action.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = rules::audit_action)]
    action: Option<Action>,
    /// e.g. `user`.
    #[param(max_length = 32)]
    entity: Option<String>,
    /// With `entity` (required then): one record's history.
    #[param(max_length = 64)]
    entity_id: Option<String>,
    /// From this day (`2025-03-01`, from its start, UTC) or instant (RFC 3339), inclusive.
    from: Option<String>,
    /// To this day (`2025-03-31`, to its end, UTC) inclusive, or before this instant (RFC 3339).
    to: Option<String>,
    /// `-at` (newest first, the default) or `at`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = rules::audit_sort)]
    sort: Option<Sort<AuditSort>>,
    /// Where to continue: `next_cursor` or `prev_cursor` of a previous answer with the same
    /// sort. Takes the place of `page`.
    #[param(max_length = 512)]
    cursor: Option<String>,
    /// 1-based page number, when there is no `cursor` (reads every row before the page: use
    /// the cursors to go deep).
    #[serde(default, deserialize_with = "crate::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    /// Rows per page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "crate::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of entries, newest first unless `sort=at`", body = ListOf<AuditOut>),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _: Granted<need::Audit>,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<ListOf<AuditOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let zone = state.config.time_zone;
    let mut errors = Errors::new();
    let from = errors
        .check(period_bound("from", q.from.as_deref(), false, zone))
        .flatten();
    let to = errors
        .check(period_bound("to", q.to.as_deref(), true, zone))
        .flatten();
    let entity = non_empty(q.entity);
    let entity_id = non_empty(q.entity_id);
    if entity_id.is_some() && entity.is_none() {
        errors.push(FieldError::new(
            "entity_id",
            "err-audit-record-needs-entity",
        ));
    }
    errors.finish()?;
    let filter = AuditFilter {
        user_id: q.user_id,
        action: q.action.map(|a| a.code().to_owned()),
        entity,
        entity_id,
        from,
        to,
    };
    let listing = state.store.audit.list(&filter, req).await?;
    Ok(axum::Json(ListOf::from_listing(listing, AuditOut::from)))
}
