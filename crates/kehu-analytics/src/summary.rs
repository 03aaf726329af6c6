//! From transactions to one summary per customer: purchase days, the `lifetimes` model
//! summary (frequency, recency, T, monetary value) and the RFM inputs.

use crate::Day;

/// One input row: a customer (dense index), a day and a signed amount in cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub customer: u32,
    pub day: Day,
    pub cents: i64,
}

/// Everything later stages need about one customer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CustomerSummary {
    /// First and last purchase day; `None` when every row of the customer is a refund.
    pub first_purchase: Option<Day>,
    pub last_purchase: Option<Day>,
    /// Number of input rows (refund rows included).
    pub orders: u32,
    /// Net total in cents.
    pub revenue_cents: i64,
    /// Net total of the rows in the last 12 calendar months up to as-of.
    pub revenue_12m_cents: i64,
    /// Purchase days after the first.
    pub frequency: u32,
    /// (last − first purchase day) / 7.
    pub recency: f64,
    /// (as-of − first purchase day) / 7.
    pub t: f64,
    /// Mean of the repeat purchase days' net totals in currency units (0 when frequency is
    /// 0); 0 or negative when those days' refunds match or exceed their purchases.
    pub monetary_value: f64,
    /// as-of − last purchase day (or − last row's day without a purchase day), in days.
    pub recency_days: i32,
}

impl CustomerSummary {
    /// Whether the customer has at least one purchase day (and so enters the models).
    pub fn is_buyer(&self) -> bool {
        self.first_purchase.is_some()
    }
}

/// Sorts rows by (customer, day) on two threads: the rows of the first half of the customers
/// are moved before the others (one pass), then each part is sorted on its own thread. Rows of
/// one customer on one day may end in any order: they are summed.
fn sort_by_customer_and_day(rows: &mut [Transaction], n_customers: usize) {
    let pivot = u32::try_from(n_customers / 2).unwrap_or(u32::MAX);
    let (mut lo, mut hi) = (0, rows.len());
    while lo < hi {
        if rows[lo].customer < pivot {
            lo += 1;
        } else {
            hi -= 1;
            rows.swap(lo, hi);
        }
    }
    let (low, high) = rows.split_at_mut(lo);
    let key = |t: &Transaction| (t.customer, t.day);
    std::thread::scope(|scope| {
        scope.spawn(|| high.sort_unstable_by_key(key));
        low.sort_unstable_by_key(key);
    });
}

/// Summarises transactions per customer.
///
/// `transactions` are sorted in place by (customer, day) when not already so; rows must
/// already exclude days after `as_of`. `twelve_months_ago` is the last day *not* counted
/// in `revenue_12m_cents`. Customers `0..n_customers` without rows get an all-zero summary.
pub fn summarize(
    transactions: &mut [Transaction],
    n_customers: usize,
    as_of: Day,
    twelve_months_ago: Day,
) -> Vec<CustomerSummary> {
    let sorted = transactions
        .windows(2)
        .all(|w| (w[0].customer, w[0].day) <= (w[1].customer, w[1].day));
    if !sorted {
        sort_by_customer_and_day(transactions, n_customers);
    }
    let empty = CustomerSummary {
        first_purchase: None,
        last_purchase: None,
        orders: 0,
        revenue_cents: 0,
        revenue_12m_cents: 0,
        frequency: 0,
        recency: 0.0,
        t: 0.0,
        monetary_value: 0.0,
        recency_days: 0,
    };
    let mut out = vec![empty; n_customers];
    for rows in transactions.chunk_by(|a, b| a.customer == b.customer) {
        let customer = rows[0].customer as usize;
        if let Some(slot) = out.get_mut(customer) {
            *slot = summarize_one(rows, as_of, twelve_months_ago);
        }
    }
    out
}

/// One customer's rows, sorted by day.
fn summarize_one(rows: &[Transaction], as_of: Day, twelve_months_ago: Day) -> CustomerSummary {
    let mut first = None;
    let mut last = None;
    let mut purchase_days = 0_u32;
    let mut repeat_cents: i64 = 0;
    let mut revenue: i64 = 0;
    let mut revenue_12m: i64 = 0;
    for day_rows in rows.chunk_by(|a, b| a.day == b.day) {
        let day = day_rows[0].day;
        let total: i64 = day_rows.iter().map(|t| t.cents).sum();
        revenue += total;
        if day > twelve_months_ago {
            revenue_12m += total;
        }
        // Every transaction day is a purchase, as in lifetimes and the BG/NBD literature,
        // whatever its net total: 0.00 lines (free orders) count, a day of refunds only
        // does not (it records no purchase, only the reversal of an earlier one).
        if day_rows.iter().any(|t| t.cents >= 0) {
            if first.is_none() {
                first = Some(day);
            } else {
                repeat_cents += total;
            }
            last = Some(day);
            purchase_days += 1;
        }
    }
    let last_row_day = rows.last().map_or(as_of, |t| t.day);
    let frequency = purchase_days.saturating_sub(1);
    let (recency, t) = match (first, last) {
        (Some(f), Some(l)) => (f64::from(l - f) / 7.0, f64::from(as_of - f) / 7.0),
        _ => (0.0, 0.0),
    };
    CustomerSummary {
        first_purchase: first,
        last_purchase: last,
        orders: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        revenue_cents: revenue,
        revenue_12m_cents: revenue_12m,
        frequency,
        recency,
        t,
        monetary_value: if frequency > 0 {
            repeat_cents as f64 / 100.0 / f64::from(frequency)
        } else {
            0.0
        },
        recency_days: as_of - last.unwrap_or(last_row_day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(customer: u32, day: Day, cents: i64) -> Transaction {
        Transaction {
            customer,
            day,
            cents,
        }
    }

    #[test]
    fn same_day_rows_are_one_purchase_day_and_monetary_value_excludes_the_first_day() {
        // Customer 0: day 0 (10.00 + 5.00), day 7 (20.00), day 21 (30.00 + 10.00); as-of 28.
        let mut rows = vec![
            tx(0, 21, 3000),
            tx(0, 0, 1000),
            tx(0, 7, 2000),
            tx(0, 0, 500),
            tx(0, 21, 1000),
        ];
        let s = summarize(&mut rows, 1, 28, -1000)[0];
        assert_eq!(s.orders, 5);
        assert_eq!(s.revenue_cents, 7500);
        assert_eq!(s.frequency, 2);
        assert_eq!(s.recency, 3.0);
        assert_eq!(s.t, 4.0);
        assert_eq!(s.monetary_value, 30.0); // (20 + 40) / 2
        assert_eq!(s.recency_days, 7);
        assert_eq!(s.first_purchase, Some(0));
        assert_eq!(s.last_purchase, Some(21));
    }

    #[test]
    fn a_day_with_a_purchase_line_is_a_purchase_day_whatever_its_net_total() {
        // Day 0 buys 50.00; day 7 buys 20.00 and refunds 20.00 (nets 0); day 14 only
        // refunds 5.00 (no purchase day); as-of 14.
        let mut rows = vec![
            tx(0, 0, 5000),
            tx(0, 7, 2000),
            tx(0, 7, -2000),
            tx(0, 14, -500),
        ];
        let s = summarize(&mut rows, 1, 14, -1000)[0];
        assert_eq!(s.frequency, 1);
        assert_eq!(s.revenue_cents, 4500);
        assert_eq!(s.orders, 4);
        assert_eq!(s.last_purchase, Some(7));
        assert_eq!((s.recency, s.t), (1.0, 2.0));
        assert_eq!(s.recency_days, 7);
        assert_eq!(s.monetary_value, 0.0); // the one repeat day nets 0
    }

    #[test]
    fn a_purchase_with_a_larger_refund_the_same_day_is_a_purchase_day_netting_negative() {
        // Day 0 buys 50.00; day 7 buys 10.00 and refunds 30.00 (nets −20.00); day 10 only
        // refunds 4.00; as-of 21.
        let mut rows = vec![
            tx(0, 0, 5000),
            tx(0, 7, 1000),
            tx(0, 7, -3000),
            tx(0, 10, -400),
        ];
        let s = summarize(&mut rows, 1, 21, -1000)[0];
        assert_eq!(s.frequency, 1);
        assert_eq!((s.first_purchase, s.last_purchase), (Some(0), Some(7)));
        assert_eq!((s.recency, s.t), (1.0, 3.0));
        assert_eq!(s.recency_days, 14);
        assert_eq!(s.monetary_value, -20.0);
        assert_eq!(s.revenue_cents, 2600);
    }

    #[test]
    fn a_customer_whose_only_purchase_is_zero_is_a_buyer_with_frequency_zero() {
        // One 0.00 line on day 5; as-of 19.
        let mut rows = vec![tx(0, 5, 0)];
        let s = summarize(&mut rows, 1, 19, -1000)[0];
        assert!(s.is_buyer());
        assert_eq!((s.first_purchase, s.last_purchase), (Some(5), Some(5)));
        assert_eq!((s.frequency, s.recency, s.t), (0, 0.0, 2.0));
        assert_eq!(s.monetary_value, 0.0);
        assert_eq!((s.orders, s.revenue_cents, s.recency_days), (1, 0, 14));
    }

    #[test]
    fn zero_amount_repeat_purchases_count_and_enter_monetary_value_as_zero_totals() {
        // Day 0: 10.00; day 7: 0.00; day 14: 30.00; day 21: 0.00 twice; as-of 28.
        let mut rows = vec![
            tx(0, 0, 1000),
            tx(0, 7, 0),
            tx(0, 14, 3000),
            tx(0, 21, 0),
            tx(0, 21, 0),
        ];
        let s = summarize(&mut rows, 1, 28, -1000)[0];
        assert_eq!(s.frequency, 3);
        assert_eq!((s.recency, s.t), (3.0, 4.0));
        assert_eq!(s.last_purchase, Some(21));
        assert_eq!(s.recency_days, 7);
        assert_eq!(s.monetary_value, 10.0); // (0 + 30 + 0) / 3
    }

    #[test]
    fn a_customer_with_only_refunds_has_no_purchase_day() {
        let mut rows = vec![tx(0, 3, -700)];
        let s = summarize(&mut rows, 2, 10, -1000);
        assert!(!s[0].is_buyer());
        assert_eq!(s[0].recency_days, 7);
        assert_eq!(s[0].revenue_cents, -700);
        assert_eq!((s[0].frequency, s[0].t), (0, 0.0));
        assert_eq!(s[1].orders, 0);
    }

    #[test]
    fn revenue_of_the_last_twelve_months_counts_only_days_after_the_cut() {
        let mut rows = vec![tx(0, 100, 1000), tx(0, 101, 200), tx(0, 400, 30)];
        let s = summarize(&mut rows, 1, 400, 100)[0];
        assert_eq!(s.revenue_12m_cents, 230);
    }
}
