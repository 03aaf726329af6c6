//! The audit log page (操作日志): filter by user, entity and period; each row shows its diff.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{NaiveDate, TimeZone, Utc};

use kehu_store::audit::AuditFilter;
use kehu_store::users::{User, UserFilter};
use kehu_store::{Page, PageRequest};
use serde::Deserialize;

use crate::access::{PageGranted, need};
use crate::error::PageError;
use crate::pages::opt_i64;
use crate::state::AppState;
use crate::views::{Chrome, Opt, render, when};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub entity: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<u64>,
}

/// A date filter: `from` is the start of its day, `to` the end of its day (inclusive).
pub fn day_start(s: &Option<String>, plus_days: i64) -> Option<chrono::DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(s.as_deref()?.trim(), "%Y-%m-%d").ok()?;
    let d = d.checked_add_signed(chrono::Duration::days(plus_days))?;
    Utc.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).single()
}

impl AuditQuery {
    pub fn filter(&self) -> AuditFilter {
        AuditFilter {
            user_id: opt_i64(&self.user),
            entity: self.entity.clone().filter(|e| !e.trim().is_empty()),
            entity_id: None,
            from: day_start(&self.from, 0),
            to: day_start(&self.to, 1),
        }
    }
}

pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

pub struct Row {
    pub at: String,
    pub username: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<Row>,
    users: Vec<Opt>,
    entities: Vec<Opt>,
    q: AuditQuery,
    page: u64,
    pages: u64,
    total: u64,
    query_base: String,
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn list(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Audit>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let c = Chrome::new(&ctx, "/audit");
    let page: Page<_> = state
        .store
        .audit
        .list(&q.filter(), PageRequest::new(q.page, Some(50)))
        .await?;
    let rows = page
        .items
        .iter()
        .map(|e| Row {
            at: when(&c.tr, &e.at),
            username: e.username.clone(),
            action: c.tr.t(&format!("audit-action-{}", e.action)),
            entity: e.entity.clone(),
            entity_id: e.entity_id.clone(),
            changes: e
                .changes_json()
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| Change {
                            field: k.clone(),
                            before: show(&v["before"]),
                            after: show(&v["after"]),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let users: Vec<User> = state
        .store
        .users
        .list(&UserFilter::default(), PageRequest::new(Some(1), Some(200)))
        .await?
        .items;
    let users = Opt::list(
        users.into_iter().map(|u| (u.id, u.display_name)),
        q.user.as_deref().unwrap_or(""),
    );
    let entities = state.store.audit.entities().await?;
    let entities = Opt::list(
        entities.iter().map(|e| (e, e)),
        q.entity.as_deref().unwrap_or(""),
    );
    let query_base = serde_urlencoded::to_string([
        ("user", q.user.clone().unwrap_or_default()),
        ("entity", q.entity.clone().unwrap_or_default()),
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    let p = AuditPage {
        rows,
        users,
        entities,
        page: page.page,
        pages: page.pages(),
        total: page.total,
        query_base,
        q,
        c,
    };
    Ok(render(&p)?.into_response())
}
