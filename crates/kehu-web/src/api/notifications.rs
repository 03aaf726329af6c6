//! `/api/v1/notifications`: the caller's in-app notices (`kehu_store::inbox`), newest first,
//! and marking them read. Each names what it is about and where that is (`href`), with its
//! text in the caller's language.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use kehu_store::inbox::{Notice, NoticeSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::{
    BadRequest, Invalid, Json, ListOf, Query, Unauthenticated, blank_as_none, list_request,
};
use crate::context::ApiUser;
use crate::error::ApiError;
use crate::i18n::{FluentArg, Tr};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notifications", get(list))
        .route("/api/v1/notifications/read", post(mark_read))
}

/// A notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeOut {
    pub id: i64,
    /// What happened: `service-assigned`, `service-handled`, `service-reopened` …
    pub kind: String,
    /// The kind of record it is about (`service`) and its id.
    pub record: String,
    pub record_id: i64,
    /// The record's page.
    pub href: String,
    /// The notice in the caller's language.
    pub text: String,
    #[serde(serialize_with = "crate::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<DateTime<Utc>>,
}

/// The page of the record a notice is about: `/services/12` for a service.
pub fn href(n: &Notice) -> String {
    format!("/{}s/{}", n.record, n.record_id)
}

/// The notice's text in `tr`'s language (`notice-service-assigned` with its subject).
pub fn text(tr: &Tr, n: &Notice) -> String {
    tr.t_args(
        &format!("notice-{}", n.kind),
        &[("subject", FluentArg::Str(n.subject.clone()))],
    )
}

impl NoticeOut {
    pub fn of(n: Notice, tr: &Tr) -> Self {
        Self {
            href: href(&n),
            text: text(tr, &n),
            id: n.id,
            kind: n.kind,
            record: n.record,
            record_id: n.record_id,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    /// `true`: only the unread.
    #[serde(default, deserialize_with = "blank_as_none")]
    unread: Option<bool>,
    /// Where to continue (a `next_cursor` or `prev_cursor`).
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "crate::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "me", params(NoticeQuery),
    responses(
        (status = 200, description = "The caller's notices, newest first", body = ListOf<NoticeOut>),
        BadRequest, Unauthenticated, Invalid,
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser { user, ctx, .. }: ApiUser,
    Query(q): Query<NoticeQuery>,
) -> Result<axum::Json<ListOf<NoticeOut>>, ApiError> {
    let req = list_request::<NoticeSort>(None, q.cursor.as_deref(), None, q.per_page)?;
    let l = state
        .store
        .inbox
        .list(user.own_records(), q.unread.unwrap_or(false), req)
        .await?;
    let tr = ctx.tr;
    Ok(axum::Json(ListOf::from_listing(l, |n| {
        NoticeOut::of(n, &tr)
    })))
}

/// Which notices to mark read.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReadBody {
    /// The notices' ids; absent: all of the caller's.
    pub ids: Option<Vec<i64>>,
}

/// How many notices were marked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadOut {
    pub marked: u64,
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "me",
    request_body = ReadBody,
    responses(
        (status = 200, description = "Marked read (only the caller's own; others' ids are ignored)", body = ReadOut),
        BadRequest, Unauthenticated, Invalid,
    ))]
pub async fn mark_read(
    State(state): State<AppState>,
    ApiUser { user, .. }: ApiUser,
    Json(b): Json<ReadBody>,
) -> Result<axum::Json<ReadOut>, ApiError> {
    let marked = state
        .store
        .inbox
        .mark_read(user.own_records(), b.ids.as_deref())
        .await?;
    Ok(axum::Json(ReadOut { marked }))
}
