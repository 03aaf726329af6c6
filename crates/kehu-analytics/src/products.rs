//! Product analytics for the reports: sales composition by product and by category, gross
//! margin per product, stock turnover.

use std::collections::BTreeMap;

use serde::Serialize;

/// One sold line: product, its category, quantity, net amount and (optional) cost, in cents.
#[derive(Clone, Debug, PartialEq)]
pub struct SaleLine {
    pub product: String,
    pub category: String,
    pub quantity: i64,
    pub amount_cents: i64,
    pub cost_cents: Option<i64>,
}

/// A share of total sales.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Composition {
    pub key: String,
    pub quantity: i64,
    pub revenue_cents: i64,
    /// revenue / total revenue (0 when the total is 0).
    pub share: f64,
}

/// Sales by product and by category, each sorted by revenue descending then key.
pub fn sales_composition(lines: &[SaleLine]) -> (Vec<Composition>, Vec<Composition>) {
    let by = |key: fn(&SaleLine) -> &str| {
        let mut totals: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for l in lines {
            let e = totals.entry(key(l)).or_default();
            e.0 += l.quantity;
            e.1 += l.amount_cents;
        }
        let total: i64 = totals.values().map(|v| v.1).sum();
        let mut rows: Vec<Composition> = totals
            .into_iter()
            .map(|(k, (quantity, revenue_cents))| Composition {
                key: k.to_string(),
                quantity,
                revenue_cents,
                share: if total == 0 {
                    0.0
                } else {
                    revenue_cents as f64 / total as f64
                },
            })
            .collect();
        rows.sort_by(|a, b| {
            b.revenue_cents
                .cmp(&a.revenue_cents)
                .then_with(|| a.key.cmp(&b.key))
        });
        rows
    };
    (by(|l| &l.product), by(|l| &l.category))
}

/// Gross margin of one product.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Margin {
    pub product: String,
    pub revenue_cents: i64,
    pub cost_cents: i64,
    /// revenue − cost.
    pub gross_margin_cents: i64,
    /// margin / revenue; `None` when revenue is 0.
    pub margin_rate: Option<f64>,
}

/// Gross margin per product, sorted by product. A product with any line lacking a cost is
/// left out (its margin would be overstated), and listed in the second return value.
pub fn gross_margins(lines: &[SaleLine]) -> (Vec<Margin>, Vec<String>) {
    let mut totals: BTreeMap<&str, Option<(i64, i64)>> = BTreeMap::new();
    for l in lines {
        let e = totals.entry(&l.product).or_insert(Some((0, 0)));
        *e = match (*e, l.cost_cents) {
            (Some((revenue, cost)), Some(c)) => Some((revenue + l.amount_cents, cost + c)),
            _ => None,
        };
    }
    let mut margins = Vec::new();
    let mut missing = Vec::new();
    for (product, totals) in totals {
        match totals {
            Some((revenue_cents, cost_cents)) => {
                let gross = revenue_cents - cost_cents;
                margins.push(Margin {
                    product: product.to_string(),
                    revenue_cents,
                    cost_cents,
                    gross_margin_cents: gross,
                    margin_rate: (revenue_cents != 0).then(|| gross as f64 / revenue_cents as f64),
                });
            }
            None => missing.push(product.to_string()),
        }
    }
    (margins, missing)
}

/// Stock of one product over a period, valued at cost.
#[derive(Clone, Debug, PartialEq)]
pub struct StockPeriod {
    pub product: String,
    pub opening_stock_cents: i64,
    pub closing_stock_cents: i64,
    /// Cost of the goods sold in the period.
    pub cost_of_goods_sold_cents: i64,
    pub period_days: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Turnover {
    pub product: String,
    /// COGS / average stock, average stock = (opening + closing) / 2; `None` without stock.
    pub turnover: Option<f64>,
    /// period_days / turnover: days a unit of stock waits to be sold; `None` when
    /// nothing was sold or there was no stock.
    pub days_of_inventory: Option<f64>,
}

pub fn stock_turnover(periods: &[StockPeriod]) -> Vec<Turnover> {
    periods
        .iter()
        .map(|p| {
            let average = (p.opening_stock_cents + p.closing_stock_cents) as f64 / 2.0;
            let turnover = (average > 0.0).then(|| p.cost_of_goods_sold_cents as f64 / average);
            Turnover {
                product: p.product.clone(),
                turnover,
                days_of_inventory: turnover
                    .filter(|t| *t > 0.0)
                    .map(|t| f64::from(p.period_days) / t),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(
        product: &str,
        category: &str,
        quantity: i64,
        amount: i64,
        cost: Option<i64>,
    ) -> SaleLine {
        SaleLine {
            product: product.into(),
            category: category.into(),
            quantity,
            amount_cents: amount,
            cost_cents: cost,
        }
    }

    #[test]
    fn composition_sums_by_product_and_category_with_shares() {
        let lines = [
            line("tea", "drinks", 2, 600, Some(200)),
            line("coffee", "drinks", 1, 300, Some(100)),
            line("cake", "food", 1, 100, None),
            line("tea", "drinks", 1, 0, Some(0)),
        ];
        let (products, categories) = sales_composition(&lines);
        assert_eq!(products[0].key, "tea");
        assert_eq!(products[0].quantity, 3);
        assert_eq!(products[0].share, 0.6);
        assert_eq!(categories[0].key, "drinks");
        assert_eq!(categories[0].revenue_cents, 900);
        assert_eq!(categories[1].share, 0.1);
    }

    #[test]
    fn gross_margin_needs_every_cost_and_reports_the_products_without() {
        let lines = [
            line("tea", "drinks", 2, 600, Some(200)),
            line("cake", "food", 1, 100, None),
            line("cake", "food", 1, 100, Some(40)),
        ];
        let (margins, missing) = gross_margins(&lines);
        assert_eq!(margins.len(), 1);
        assert_eq!(margins[0].gross_margin_cents, 400);
        assert_eq!(margins[0].margin_rate, Some(400.0 / 600.0));
        assert_eq!(missing, vec!["cake".to_string()]);
    }

    #[test]
    fn stock_turnover_is_cogs_over_average_stock() {
        let t = stock_turnover(&[
            StockPeriod {
                product: "tea".into(),
                opening_stock_cents: 1000,
                closing_stock_cents: 3000,
                cost_of_goods_sold_cents: 8000,
                period_days: 360,
            },
            StockPeriod {
                product: "ghost".into(),
                opening_stock_cents: 0,
                closing_stock_cents: 0,
                cost_of_goods_sold_cents: 0,
                period_days: 30,
            },
        ]);
        assert_eq!(t[0].turnover, Some(4.0));
        assert_eq!(t[0].days_of_inventory, Some(90.0));
        assert_eq!(t[1].turnover, None);
        assert_eq!(t[1].days_of_inventory, None);
    }
}
