//! The service list on the list kit, with a tab per stage: all, 服务分配 (new), 服务处理
//! (assigned), 服务反馈 (handled), 服务归档 (archived); filters (type, status, priority,
//! handler, customer, created period, overdue only), sort headers, pager, column chooser,
//! saved filters and phone cards. Overdue and due-soon services stand out.

use askama::Template;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use kehu_domain::{Principal, Right};
use kehu_web::AppState;
use kehu_web::context::Ctx;
use kehu_web::error::PageError;
use kehu_web::labels::Labels;
use kehu_web::listing::{Col, Empty, ListPage, ListParams, ListState, ListView, Saved};
use kehu_web::pages::opt_i64;
use kehu_web::views::{Chrome, Opt, render, when};
use serde::Deserialize;

use super::{priority_label, status_label};
use crate::domain::TYPE;
use crate::domain::{Priority, Status};
use crate::need;
use crate::store::{Due, ServiceFilter, ServiceSort};

/// The stages, each a tab: its code, label and the status it shows.
pub(super) const STAGES: &[(&str, &str, Status)] = &[
    ("assign", "service-stage-assign", Status::New),
    ("handle", "service-stage-handle", Status::Assigned),
    ("feedback", "service-stage-feedback", Status::Handled),
    ("archive", "service-stage-archive", Status::Archived),
];

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    stage: Option<String>,
    #[serde(rename = "type")]
    service_type: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    assignee: Option<String>,
    customer_id: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    /// Any value: only the overdue.
    overdue: Option<String>,
    saved: Option<String>,
    #[serde(flatten)]
    list: ListParams,
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl ListQuery {
    fn stage(&self) -> Option<&'static (&'static str, &'static str, Status)> {
        let s = blank(&self.stage)?;
        STAGES.iter().find(|(code, ..)| *code == s)
    }

    fn overdue(&self) -> bool {
        blank(&self.overdue).is_some()
    }
}

struct Row {
    id: i64,
    number: String,
    title: String,
    kind: String,
    customer_id: i64,
    customer: String,
    status: String,
    status_code: String,
    priority: String,
    priority_code: String,
    handler: String,
    /// `overdue`, `due-soon` or empty.
    due: &'static str,
    due_at: String,
    created: String,
}

struct Tab {
    href: String,
    label: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "service/list.html")]
struct ListTemplate {
    c: Chrome,
    title: String,
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    q: ListQuery,
    types: Vec<Opt>,
    statuses: Vec<Opt>,
    priorities: Vec<Opt>,
    /// Empty when the user sees only their own (then the filter is not offered).
    handlers: Vec<Opt>,
    l: ListView,
    can_write: bool,
    can_settle: bool,
    saved: bool,
}

const COLUMNS: &[Col<ServiceSort>] = &[
    Col::plain("number", "service-number").fixed(),
    Col::plain("title", "service-title"),
    Col::plain("type", "service-type"),
    Col::plain("customer", "service-customer"),
    Col::plain("status", "col-status"),
    Col::plain("priority", "service-priority"),
    Col::plain("handler", "service-assignee"),
    Col::sorted("due", "service-resolve-due", ServiceSort::Due),
    Col::sorted("created", "col-created", ServiceSort::Created),
];

/// 服务管理: the services in the user's scope.
pub(super) struct ServiceList;

impl ListPage for ServiceList {
    type Need = need::Services;
    type Query = ListQuery;
    const PATH: &'static str = "/services";
    const KEY: &'static str = "services";

    async fn render(
        state: &AppState,
        ctx: &Ctx,
        user: &Principal,
        q: ListQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        let flash = q.saved.is_some();
        let stage = q.stage();
        let overdue = q.overdue().then_some("1");
        let at = ListState::<ServiceSort>::new(
            Self::PATH,
            &q.list,
            COLUMNS,
            &[
                ("stage", stage.map(|s| s.0)),
                ("type", q.service_type.as_deref()),
                ("status", q.status.as_deref()),
                ("priority", q.priority.as_deref()),
                ("assignee", q.assignee.as_deref()),
                ("customer_id", q.customer_id.as_deref()),
                ("created_from", q.created_from.as_deref()),
                ("created_to", q.created_to.as_deref()),
                ("overdue", overdue),
            ],
        );
        // Pages are lenient: a period bound that is not a date is left out.
        let day = |s: &Option<String>, end: bool| {
            kehu_web::api::period_bound("created", s.as_deref(), end, state.config.time_zone)
                .ok()
                .flatten()
        };
        let filter = ServiceFilter {
            service_type: blank(&q.service_type),
            status: blank(&q.status).and_then(|s| Status::from_code(&s)),
            statuses: stage.map(|s| vec![s.2]).unwrap_or_default(),
            priority: blank(&q.priority).and_then(|p| Priority::from_code(&p)),
            assignee_id: opt_i64(&q.assignee),
            customer_id: opt_i64(&q.customer_id),
            created_from: day(&q.created_from, false),
            created_to: day(&q.created_to, true),
            overdue: q.overdue().then_some(true),
            ..ServiceFilter::default()
        };
        let listing = crate::services(state)
            .list(user.owner_filter(), &filter, at.request())
            .await?;
        let labels = Labels::load(state, ctx.tr.lang, &[TYPE]).await?;
        let c = Chrome::new(ctx, Self::PATH);
        let can_write = user.can(Right::ServiceWrite);
        let empty = Empty {
            filtered: "services-empty-filtered",
            none: "services-empty",
            action: can_write.then_some(("services-new", "/services/new")),
        };
        let l = at.view(&c.tr, &listing, empty, saved);
        let now = Utc::now();
        let rows = listing
            .items
            .iter()
            .map(|s| Row {
                id: s.id,
                number: s.number.clone(),
                title: s.title.clone(),
                kind: labels.of(TYPE, Some(&s.service_type)),
                customer_id: s.customer_id,
                customer: s.customer_name.clone(),
                status: status_label(&c.tr, &s.status),
                status_code: s.status.clone(),
                priority: priority_label(&c.tr, &s.priority),
                priority_code: s.priority.clone(),
                handler: s.assignee_name.clone().unwrap_or_default(),
                due: match s.due(now) {
                    Due::Overdue => "overdue",
                    Due::DueSoon => "due-soon",
                    Due::Met | Due::OnTime => "",
                },
                due_at: s
                    .resolve_due_at
                    .filter(|_| s.status().is_open())
                    .map(|t| when(&c.tr, &t))
                    .unwrap_or_default(),
                created: when(&c.tr, &s.created_at),
            })
            .collect();
        let tab = |code: Option<&str>, label: &str| Tab {
            href: code.map_or_else(
                || Self::PATH.to_owned(),
                |s| format!("{}?stage={s}", Self::PATH),
            ),
            label: c.t(label),
            active: stage.map(|s| s.0) == code,
        };
        let mut tabs = vec![tab(None, "services-all")];
        tabs.extend(STAGES.iter().map(|(code, label, _)| tab(Some(code), label)));
        let title = stage.map_or_else(|| c.t("nav-services"), |s| c.t(s.1));
        let statuses = Opt::list(
            Status::ALL
                .iter()
                .map(|s| (s.code(), status_label(&c.tr, s.code()))),
            q.status.as_deref().unwrap_or_default(),
        );
        let priorities = Opt::list(
            Priority::ALL
                .iter()
                .map(|p| (p.code(), priority_label(&c.tr, p.code()))),
            q.priority.as_deref().unwrap_or_default(),
        );
        let handlers = if user.owner_filter().owner().is_none() {
            Opt::list(
                state.store.users.holding(Right::ServiceHandle, 200).await?,
                q.assignee.as_deref().unwrap_or_default(),
            )
        } else {
            Vec::new()
        };
        let status = l.saved.status;
        let page = ListTemplate {
            title,
            tabs,
            rows,
            types: labels.options(TYPE, q.service_type.as_deref().unwrap_or_default()),
            statuses,
            priorities,
            handlers,
            q,
            l,
            can_write,
            can_settle: user.can(Right::ServiceAssign),
            saved: flash,
            c,
        };
        Ok((status, render(&page)?).into_response())
    }
}
