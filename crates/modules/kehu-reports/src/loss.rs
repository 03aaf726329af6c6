//! 客户流失分析, the loss report: the customers in the reader's scope whose loss was
//! confirmed in a period — their manager, last order, the day the loss was confirmed and its
//! reason — newest first, and how many losses each reason accounts for.

use chrono::{DateTime, Utc};
use kehu_domain::Principal;
use kehu_loss::domain::{REASON, Status};
use kehu_loss::store::{LossFilter, LossRecord, LossSort, LossStore};
use kehu_store::StoreResult;
use kehu_store::page::{Dir, ListRequest, Listing, PageRequest, Sort};
use kehu_web::AppState;
use kehu_web::error::AppError;
use kehu_web::i18n::Tr;
use kehu_web::labels::Labels;

use crate::period::Days;
use crate::table::{Kind, Table, Value, basis_points};

/// The report's order: the latest confirmation first.
pub const SORT: Sort<LossSort> = Sort {
    key: LossSort::Confirmed,
    dir: Dir::Desc,
};

fn store(state: &AppState) -> LossStore {
    LossStore::new(state.store.db.clone(), crate::offset(state))
}

/// The loss records of the report: confirmed within `days`.
pub fn filter(state: &AppState, days: Days, owner_id: Option<i64>) -> LossFilter {
    let (from, to) = days.instants(&state.config.time_zone.tz());
    LossFilter {
        status: Some(Status::Confirmed),
        owner_id,
        confirmed_from: from,
        confirmed_to: to,
        ..LossFilter::default()
    }
}

/// One page of the report.
pub async fn page(
    state: &AppState,
    user: &Principal,
    f: &LossFilter,
    req: ListRequest<LossSort>,
) -> StoreResult<Listing<LossRecord>> {
    store(state).list(user.owner_filter(), f, req).await
}

/// A reason's losses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub key: Option<String>,
    pub label: String,
    pub losses: i64,
    pub share: i64,
}

/// How many of the report's losses each reason accounts for, most first.
pub async fn reasons(
    state: &AppState,
    user: &Principal,
    tr: &Tr,
    f: &LossFilter,
) -> Result<Vec<Reason>, AppError> {
    let rows = store(state).reasons(user.owner_filter(), f).await?;
    let labels = Labels::load(state, tr.lang, &[REASON]).await?;
    let all: i64 = rows.iter().map(|r| r.1).sum();
    Ok(rows
        .into_iter()
        .map(|(key, losses)| Reason {
            label: match &key {
                Some(k) => labels.of(REASON, Some(k)),
                None => tr.t("report-not-filled"),
            },
            key,
            losses,
            share: basis_points(losses, all),
        })
        .collect())
}

/// A day in the configured time zone.
fn local_day(state: &AppState, t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Empty, |t| {
        Value::Day(t.with_timezone(&state.config.time_zone.tz()).date_naive())
    })
}

/// The report's columns in the reader's language.
pub fn columns(tr: &Tr) -> Table {
    let mut t = Table::default();
    t.column("customer_code", tr.t("field-code"), Kind::Text)
        .column("customer_name", tr.t("report-customer"), Kind::Text)
        .column("owner", tr.t("loss-manager"), Kind::Text)
        .column("last_order_at", tr.t("loss-last-order"), Kind::Day)
        .column("confirmed_at", tr.t("report-lost-on"), Kind::Day)
        .column("reason", tr.t("report-reason"), Kind::Text);
    t
}

/// A record as a row of the report, its reason by label.
pub fn row(state: &AppState, labels: &Labels, r: &LossRecord) -> Vec<Value> {
    vec![
        Value::Text(r.customer_code.clone()),
        Value::Text(r.customer_name.clone()),
        Value::Text(r.owner_name.clone()),
        local_day(state, r.last_order_at),
        local_day(state, r.confirmed_at),
        Value::Text(labels.of(REASON, r.reason.as_deref())),
    ]
}

/// Every row of the report (an export), read a page at a time.
pub async fn whole(
    state: &AppState,
    user: &Principal,
    tr: &Tr,
    f: &LossFilter,
) -> Result<Table, AppError> {
    let labels = Labels::load(state, tr.lang, &[REASON]).await?;
    let mut t = columns(tr);
    let mut req = ListRequest::new(
        SORT,
        None,
        PageRequest::new(None, Some(PageRequest::MAX_PER_PAGE)),
    );
    loop {
        let l = page(state, user, f, req.clone()).await?;
        t.rows
            .extend(l.items.iter().map(|r| row(state, &labels, r)));
        match l.next {
            Some(next) => req = ListRequest::new(SORT, Some(next), req.page),
            None => break,
        }
    }
    let n = i64::try_from(t.rows.len()).unwrap_or(i64::MAX);
    t.totals = Some(vec![
        Value::Text(tr.t("report-total")),
        Value::Text(tr.t_fill("report-losses-count", &[("count", &n.to_string())])),
        Value::Empty,
        Value::Empty,
        Value::Empty,
        Value::Empty,
    ]);
    Ok(t)
}
