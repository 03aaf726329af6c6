//! 客户服务分析, the service report: how many services in the reader's scope were taken in a
//! period, by type (the dictionary's `service_type`: consultation, complaint, suggestion …)
//! or by month, with each one's share.

use chrono::{Months, NaiveDate};
use kehu_domain::Principal;
use kehu_service::domain::TYPE;
use kehu_web::AppState;
use kehu_web::error::AppError;
use kehu_web::i18n::Tr;
use kehu_web::labels::Labels;

use crate::period::Days;
use crate::table::{Kind, Table, Value, basis_points};

/// What the services are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Type,
    Month,
}

impl By {
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "type" => Some(By::Type),
            "month" => Some(By::Month),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            By::Type => "type",
            By::Month => "month",
        }
    }
}

/// The most months a report by month counts (the last ones of its period).
pub const MONTHS_MAX: usize = 36;

/// One row: a type or a month and its services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// The type's code, or the month `2026-03`.
    pub key: String,
    pub label: String,
    pub services: i64,
    pub share: i64,
}

/// The report's rows: by type most first, by month in order. By month, a period open at
/// either end counts the twelve months up to today's.
pub async fn counts(
    state: &AppState,
    user: &Principal,
    tr: &Tr,
    days: Days,
    by: By,
) -> Result<Vec<Count>, AppError> {
    let store =
        kehu_service::store::ServiceStore::new(state.store.db.clone(), crate::offset(state));
    let scope = user.owner_filter();
    let zone = state.config.time_zone.tz();
    let rows: Vec<(String, String, i64)> = match by {
        By::Type => {
            let (from, to) = days.instants(&zone);
            let labels = Labels::load(state, tr.lang, &[TYPE]).await?;
            store
                .count_by_type(scope, from, to)
                .await?
                .into_iter()
                .map(|(t, n)| (t.clone(), labels.of(TYPE, Some(&t)), n))
                .collect()
        }
        By::Month => {
            let days = match (days.from, days.to) {
                (Some(_), Some(_)) => days,
                _ => last_twelve_months(state),
            };
            let mut rows = Vec::new();
            for m in days.months(MONTHS_MAX) {
                let end = m
                    .checked_add_months(Months::new(1))
                    .and_then(|d| d.pred_opt())
                    .unwrap_or(m);
                // The month's days within the period.
                let within = Days {
                    from: days.from.map(|f| f.max(m)),
                    to: days.to.map(|t| t.min(end)),
                };
                let (from, to) = within.instants(&zone);
                let n = store.count_created(scope, from, to).await?;
                let key = m.format("%Y-%m").to_string();
                rows.push((key.clone(), key, n));
            }
            rows
        }
    };
    let all: i64 = rows.iter().map(|r| r.2).sum();
    Ok(rows
        .into_iter()
        .map(|(key, label, services)| Count {
            key,
            label,
            services,
            share: basis_points(services, all),
        })
        .collect())
}

/// The twelve months up to today's.
fn last_twelve_months(state: &AppState) -> Days {
    let today = crate::today(state);
    let first = NaiveDate::from_ymd_opt(
        chrono::Datelike::year(&today),
        chrono::Datelike::month(&today),
        1,
    );
    Days {
        from: first.and_then(|f| f.checked_sub_months(Months::new(11))),
        to: Some(today),
    }
}

/// The report as a table with its total.
pub fn table(tr: &Tr, by: By, counts: &[Count]) -> Table {
    let mut t = Table::default();
    let (key, label) = match by {
        By::Type => ("report-key", "report-service-type"),
        By::Month => ("report-month", "report-month"),
    };
    t.column("key", tr.t(key), Kind::Text)
        .column("label", tr.t(label), Kind::Text)
        .column("services", tr.t("report-services"), Kind::Count)
        .column("share", tr.t("report-share"), Kind::Share);
    t.rows = counts
        .iter()
        .map(|c| {
            vec![
                Value::Text(c.key.clone()),
                Value::Text(c.label.clone()),
                Value::Int(c.services),
                Value::Int(c.share),
            ]
        })
        .collect();
    let all: i64 = counts.iter().map(|c| c.services).sum();
    t.totals = Some(vec![
        Value::Text(tr.t("report-total")),
        Value::Empty,
        Value::Int(all),
        Value::Int(if all > 0 { 10_000 } else { 0 }),
    ]);
    t
}
