//! 收入分解 (seed 004), the retention decomposition: each month's revenue is
//! (new customers + existing customers × retention rate) × revenue per customer. "Existing"
//! are the customers who had ordered before the month, the retention rate the share of them
//! who ordered in it, new customers those whose first order falls in it. Everyone's months
//! come from the analysis job's run (it reads every order anyway); a manager's are counted
//! from their customers' running figures.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Months, NaiveDate};
use kehu_domain::policy::OwnerFilter;
use kehu_store::db::Db;
use serde::{Deserialize, Serialize};

use crate::table::{Kind, Table, Value, basis_points};

/// The months a decomposition shows: the last 24 up to the run's or today's.
pub const MONTHS: usize = 24;

/// One month of the decomposition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Month {
    /// `2026-03`.
    pub month: String,
    /// Customers whose first order is in the month.
    pub new: i64,
    /// Customers who had ordered before the month.
    pub existing: i64,
    /// Of those, the ones who ordered in it.
    pub retained: i64,
    /// retained / existing, basis points.
    pub retention: i64,
    /// new + retained: the customers who ordered in the month.
    pub active: i64,
    /// Fen.
    pub revenue: i64,
    /// revenue / active, fen (rounded).
    pub per_customer: i64,
}

/// The month key of day `d`: `2026-03`.
pub fn key(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The decomposition of the `MONTHS` months up to `last`'s from `(customer, month key,
/// amount)` rows — every month each customer ordered in, all their history (the first
/// month decides who is new).
pub fn decompose<C: std::hash::Hash + Eq + Copy>(
    rows: &[(C, String, i64)],
    last: NaiveDate,
) -> Vec<Month> {
    let mut first: HashMap<C, &str> = HashMap::new();
    for (c, m, _) in rows {
        let e = first.entry(*c).or_insert(m.as_str());
        if m.as_str() < *e {
            *e = m.as_str();
        }
    }
    // Customers whose first month is each month: the running sum gives "existing".
    let mut firsts: BTreeMap<&str, i64> = BTreeMap::new();
    for m in first.values() {
        *firsts.entry(m).or_default() += 1;
    }
    let mut active: HashMap<&str, (i64, i64)> = HashMap::new();
    for (_, m, amount) in rows {
        let e = active.entry(m.as_str()).or_default();
        e.0 += 1;
        e.1 += amount;
    }
    let start = NaiveDate::from_ymd_opt(last.year(), last.month(), 1)
        .and_then(|d| d.checked_sub_months(Months::new(MONTHS as u32 - 1)));
    let Some(start) = start else {
        return Vec::new();
    };
    (0..MONTHS as u32)
        .filter_map(|i| start.checked_add_months(Months::new(i)))
        .map(|d| {
            let m = key(d);
            let existing: i64 = firsts.range(..m.as_str()).map(|(_, n)| n).sum();
            let new = firsts.get(m.as_str()).copied().unwrap_or(0);
            let (active, revenue) = active.get(m.as_str()).copied().unwrap_or((0, 0));
            let retained = active - new;
            Month {
                retention: basis_points(retained, existing),
                per_customer: if active > 0 {
                    (revenue * 2 + active) / (active * 2)
                } else {
                    0
                },
                month: m,
                new,
                existing,
                retained,
                active,
                revenue,
            }
        })
        .collect()
}

/// The decomposition in `scope` up to `last`: everyone's is `cached` (the run's), a
/// manager's is counted from their customers' figures.
pub async fn months(
    db: &Db,
    scope: OwnerFilter,
    cached: Option<&[Month]>,
    last: NaiveDate,
) -> anyhow::Result<Vec<Month>> {
    if scope.owner().is_none() {
        return Ok(cached.map(<[Month]>::to_vec).unwrap_or_default());
    }
    let rows = kehu_orders::figures::months_of(db, scope).await?;
    Ok(decompose(&rows, last))
}

/// The decomposition as a table.
pub fn table(tr: &kehu_web::i18n::Tr, months: &[Month]) -> Table {
    let mut t = Table::default();
    t.column("month", tr.t("report-month"), Kind::Text)
        .column("new", tr.t("report-new-customers"), Kind::Count)
        .column("existing", tr.t("report-existing-customers"), Kind::Count)
        .column("retention", tr.t("report-retention-rate"), Kind::Share)
        .column("retained", tr.t("report-retained-customers"), Kind::Count)
        .column("active", tr.t("report-active-customers"), Kind::Count)
        .column("per_customer", tr.t("report-per-customer"), Kind::Money)
        .column("revenue", tr.t("report-amount"), Kind::Money);
    t.rows = months
        .iter()
        .map(|m| {
            vec![
                Value::Text(m.month.clone()),
                Value::Int(m.new),
                Value::Int(m.existing),
                Value::Int(m.retention),
                Value::Int(m.retained),
                Value::Int(m.active),
                Value::Int(m.per_customer),
                Value::Int(m.revenue),
            ]
        })
        .collect();
    t
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn each_months_revenue_is_new_plus_existing_times_retention_times_revenue_per_customer() {
        let m = |s: &str| s.to_owned();
        // Customer 1 since 2026-01, 2 since 2026-02, 3 since 2026-03; 1 and 2 order again in
        // 2026-03.
        let rows = vec![
            (1, m("2026-01"), 100),
            (2, m("2026-02"), 300),
            (1, m("2026-03"), 200),
            (2, m("2026-03"), 100),
            (3, m("2026-03"), 300),
        ];
        let last = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        let months = decompose(&rows, last);
        assert_eq!(months.len(), MONTHS);
        let march = months.last().unwrap();
        assert_eq!(march.month, "2026-03");
        assert_eq!(
            (march.new, march.existing, march.retained, march.active),
            (1, 2, 2, 3)
        );
        assert_eq!(march.retention, 10_000);
        assert_eq!((march.revenue, march.per_customer), (600, 200));
        let feb = &months[MONTHS - 2];
        assert_eq!((feb.new, feb.existing, feb.retained), (1, 1, 0));
        assert_eq!(feb.retention, 0);
        // The identity the report rests on.
        for x in &months {
            assert_eq!(x.new + x.retained, x.active);
        }
        assert!(months[0].month.as_str() < "2026-01");
        assert_eq!(months[0].active, 0);
    }
}
