//! 客户构成分析, the composition report: how the customers in the reader's scope (not in the
//! trash) split by level, credit, satisfaction, region or industry — each value with its
//! number of customers and share, most first; "not filled in" where the field is empty.

use kehu_customers::domain::kinds;
pub use kehu_customers::store::Breakdown;
use kehu_domain::Principal;
use kehu_web::AppState;
use kehu_web::error::AppError;
use kehu_web::i18n::Tr;
use kehu_web::labels::Labels;

use crate::table::{Kind, Table, Value, basis_points};

/// One value's share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The stored value (`None`: not filled in).
    pub key: Option<String>,
    pub label: String,
    pub customers: i64,
    /// Basis points of all customers counted.
    pub share: i64,
}

/// The dictionary kind of a breakdown's values (credit and satisfaction are 1–5).
fn kind(by: Breakdown) -> Option<&'static str> {
    match by {
        Breakdown::Level => Some(kinds::LEVEL),
        Breakdown::Region => Some(kinds::REGION),
        Breakdown::Industry => Some(kinds::INDUSTRY),
        Breakdown::Credit | Breakdown::Satisfaction => None,
    }
}

/// The report's parts, most customers first.
pub async fn parts(
    state: &AppState,
    user: &Principal,
    tr: &Tr,
    by: Breakdown,
) -> Result<Vec<Part>, AppError> {
    let counts =
        kehu_customers::store::composition(&state.store.db, user.owner_filter(), by).await?;
    let labels = match kind(by) {
        Some(k) => Some(Labels::load(state, tr.lang, &[k]).await?),
        None => None,
    };
    let all: i64 = counts.iter().map(|(_, n)| n).sum();
    Ok(counts
        .into_iter()
        .map(|(key, customers)| {
            let label = match (&key, kind(by), &labels) {
                (None, _, _) => tr.t("report-not-filled"),
                (Some(k), Some(kind), Some(l)) => l.of(kind, Some(k)),
                (Some(k), _, _) => tr.t_fill("report-stars", &[("n", k)]),
            };
            Part {
                share: basis_points(customers, all),
                key,
                label,
                customers,
            }
        })
        .collect())
}

/// The report as a table with its total.
pub fn table(tr: &Tr, parts: &[Part]) -> Table {
    let mut t = Table::default();
    t.column("key", tr.t("report-key"), Kind::Text)
        .column("label", tr.t("report-label"), Kind::Text)
        .column("customers", tr.t("report-customers"), Kind::Count)
        .column("share", tr.t("report-share"), Kind::Share);
    t.rows = parts
        .iter()
        .map(|p| {
            vec![
                p.key.clone().map_or(Value::Empty, Value::Text),
                Value::Text(p.label.clone()),
                Value::Int(p.customers),
                Value::Int(p.share),
            ]
        })
        .collect();
    let all: i64 = parts.iter().map(|p| p.customers).sum();
    t.totals = Some(vec![
        Value::Text(tr.t("report-total")),
        Value::Empty,
        Value::Int(all),
        Value::Int(if all > 0 { 10_000 } else { 0 }),
    ]);
    t
}
