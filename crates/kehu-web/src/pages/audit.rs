//! The audit log page (操作日志) on the list kit: newest first, filtered by user, action, object
//! and period, paged by cursor. Each row names its record and links to it ("用户 zhangsan" →
//! `/users/7`) and shows only the fields that changed, under their translated names.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone, Utc};

use kehu_store::audit::{Action, AuditEntry, AuditFilter, AuditSort};
use kehu_store::page::ListRequest;
use kehu_store::users::UserFilter;
use kehu_store::{Page, PageRequest};
use serde::Deserialize;
use serde_json::Value;

use crate::access::need;
use crate::context::Ctx;
use crate::error::PageError;
use crate::i18n::{FluentArg, Tr};
use crate::listing::{self, Col, Empty, ListPage, ListParams, ListState, ListView, Saved};
use crate::pages::opt_i64;
use crate::state::AppState;
use crate::views::{Chrome, Opt, render, when};

pub fn router() -> Router<AppState> {
    Router::new().merge(listing::routes::<AuditList>())
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    /// With `entity`: one record's history (the link from a record's page).
    pub entity_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(flatten)]
    pub list: ListParams,
}

/// A date filter: `from` is the start of its day, `to` the end of its day (inclusive).
pub fn day_start(s: &Option<String>, plus_days: i64) -> Option<chrono::DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(s.as_deref()?.trim(), "%Y-%m-%d").ok()?;
    let d = d.checked_add_signed(chrono::Duration::days(plus_days))?;
    Utc.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).single()
}

fn non_blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl AuditQuery {
    /// The filter; a value that does not parse (an unknown action, a bad date) is no filter.
    pub fn filter(&self) -> AuditFilter {
        let entity = non_blank(&self.entity);
        AuditFilter {
            user_id: opt_i64(&self.user),
            action: non_blank(&self.action)
                .and_then(|a| Action::from_code(&a))
                .map(|a| a.code().to_owned()),
            entity_id: entity.as_ref().and(non_blank(&self.entity_id)),
            entity,
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
    /// "用户 zhangsan".
    pub record: String,
    /// The record's page, when it has one.
    pub href: Option<String>,
    pub changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<Row>,
    users: Vec<Opt>,
    actions: Vec<Opt>,
    entities: Vec<Opt>,
    q: AuditQuery,
    l: ListView,
}

const COLUMNS: &[Col<AuditSort>] = &[
    Col::sorted("at", "col-when", AuditSort::At).fixed(),
    Col::plain("who", "col-who"),
    Col::plain("action", "col-action"),
    Col::plain("record", "col-entity"),
    Col::plain("changes", "col-changes"),
];

/// An entity's name in the page's language (`user` → 用户); unknown ones as stored.
fn entity_label(tr: &Tr, entity: &str) -> String {
    let key = format!("audit-entity-{entity}");
    if tr.has(&key) {
        tr.t(&key)
    } else {
        entity.to_owned()
    }
}

/// A changed field's name in the page's language: `audit-field-<field>`, else the form's
/// `field-<field>` label, else the field as stored.
fn field_label(tr: &Tr, field: &str) -> String {
    let own = format!("audit-field-{field}");
    let form = format!("field-{}", field.replace('_', "-"));
    if tr.has(&own) {
        tr.t(&own)
    } else if tr.has(&form) {
        tr.t(&form)
    } else {
        field.to_owned()
    }
}

fn show(tr: &Tr, v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::Bool(true) => tr.t("audit-yes"),
        Value::Bool(false) => tr.t("audit-no"),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| show(tr, i))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The fields that changed, translated. A field whose before and after are equal is left
/// out, and so is `role_id` next to `role` (the role's name says it).
fn changes(tr: &Tr, e: &AuditEntry) -> Vec<Change> {
    let json = e.changes_json();
    let Some(m) = json.as_object() else {
        return Vec::new();
    };
    m.iter()
        .filter(|(k, v)| v["before"] != v["after"] && !(*k == "role_id" && m.contains_key("role")))
        .map(|(k, v)| Change {
            field: field_label(tr, k),
            before: show(tr, &v["before"]),
            after: show(tr, &v["after"]),
        })
        .collect()
}

/// The names of the records on the page, looked up once per page: users by id, roles and
/// dictionary entries from their (small, cached) lists.
#[derive(Default)]
struct Names {
    users: HashMap<i64, String>,
    roles: HashMap<i64, String>,
    dictionary: HashMap<i64, String>,
}

impl Names {
    async fn load(state: &AppState, c: &Chrome, entries: &[AuditEntry]) -> Result<Self, PageError> {
        let ids = |entity: &str| -> Vec<i64> {
            let mut v: Vec<i64> = entries
                .iter()
                .filter(|e| e.entity == entity)
                .filter_map(|e| e.entity_id.parse().ok())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut names = Names::default();
        let users = ids("user");
        if !users.is_empty() {
            names.users = state
                .store
                .users
                .usernames(&users)
                .await?
                .into_iter()
                .collect();
        }
        if !ids("role").is_empty() {
            names.roles = state
                .store
                .roles
                .list()
                .await?
                .into_iter()
                .map(|r| (r.role.id, c.role(&r.role.name)))
                .collect();
        }
        let wanted = ids("dictionary");
        if !wanted.is_empty() {
            let mut page = 1;
            loop {
                let p: Page<_> = state
                    .store
                    .dictionary
                    .list(None, PageRequest::new(Some(page), Some(200)))
                    .await?;
                let n = p.items.len();
                names.dictionary.extend(
                    p.items
                        .into_iter()
                        .filter(|d| wanted.binary_search(&d.id).is_ok())
                        .map(|d| (d.id, format!("{} · {}", d.kind, d.item))),
                );
                if n < 200 || names.dictionary.len() == wanted.len() {
                    break;
                }
                page += 1;
            }
        }
        Ok(names)
    }

    /// The record's label and, when it still exists and has a page, its link.
    fn record(&self, tr: &Tr, e: &AuditEntry) -> (String, Option<String>) {
        let id = e.entity_id.parse::<i64>().ok();
        let known = |map: &HashMap<i64, String>, path: &str| {
            id.and_then(|id| {
                map.get(&id)
                    .map(|n| (n.clone(), Some(format!("{path}/{id}"))))
            })
        };
        let (name, href) = match e.entity.as_str() {
            "user" => known(&self.users, "/users"),
            "role" => known(&self.roles, "/roles"),
            "dictionary" => known(&self.dictionary, "/dictionary"),
            // A sign-in event's id is the name that was tried.
            "sign_in" => Some((e.entity_id.clone(), None)),
            _ => None,
        }
        .unwrap_or_else(|| (format!("#{}", e.entity_id), None));
        let label = tr.t_args(
            "audit-record",
            &[
                ("entity", FluentArg::Str(entity_label(tr, &e.entity))),
                ("name", FluentArg::Str(name)),
            ],
        );
        (label, href)
    }
}

/// Audit list on the list kit (its routes: `listing::routes`).
struct AuditList;

impl ListPage for AuditList {
    type Need = need::Audit;
    type Query = AuditQuery;
    const PATH: &'static str = "/audit";
    const KEY: &'static str = "audit";

    async fn render(
        state: &AppState,
        ctx: &Ctx,
        _: &kehu_domain::Principal,
        q: AuditQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        let c = Chrome::new(ctx, "/audit");
        let filter = q.filter();
        let at = ListState::<AuditSort>::new(
            "/audit",
            &q.list,
            COLUMNS,
            &[
                ("user", q.user.as_deref()),
                ("action", q.action.as_deref()),
                ("entity", q.entity.as_deref()),
                ("entity_id", q.entity_id.as_deref()),
                ("from", q.from.as_deref()),
                ("to", q.to.as_deref()),
            ],
        );
        let listing = state.store.audit.list(&filter, at.request()).await?;
        let empty = Empty {
            filtered: "audit-empty-filtered",
            none: "audit-empty",
            action: None,
        };
        let l = at.view(&c.tr, &listing, empty, saved);
        let names = Names::load(state, &c, &listing.items).await?;
        let rows = listing
            .items
            .iter()
            .map(|e| {
                let (record, href) = names.record(&c.tr, e);
                Row {
                    at: when(&c.tr, &e.at),
                    username: e.username.clone(),
                    action: c.tr.t(&format!("audit-action-{}", e.action)),
                    record,
                    href,
                    changes: changes(&c.tr, e),
                }
            })
            .collect();
        let users = state
            .store
            .users
            .list(&UserFilter::default(), ListRequest::first(200))
            .await?
            .items;
        let users = Opt::list(
            users.into_iter().map(|u| (u.id, u.display_name)),
            q.user.as_deref().unwrap_or(""),
        );
        let actions = Opt::list(
            Action::ALL
                .iter()
                .map(|a| (a.code(), c.tr.t(&format!("audit-action-{}", a.code())))),
            q.action.as_deref().unwrap_or(""),
        );
        let entities = state.store.audit.entities().await?;
        let entities = Opt::list(
            entities.iter().map(|e| (e, entity_label(&c.tr, e))),
            q.entity.as_deref().unwrap_or(""),
        );
        let p = AuditPage {
            rows,
            users,
            actions,
            entities,
            q,
            l,
            c,
        };
        let status = p.l.saved.status;
        Ok((status, render(&p)?).into_response())
    }
}
