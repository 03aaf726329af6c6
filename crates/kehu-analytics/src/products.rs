//! Product analytics for the reports: sales composition by product and by category, gross
//! margin per product, stock turnover, and each product's figures with its buyers and
//! repeat buyers (`kehu analyze`'s products.csv).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Day;

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
                let (gross, margin_rate) = margin(revenue_cents, cost_cents);
                margins.push(Margin {
                    product: product.to_string(),
                    revenue_cents,
                    cost_cents,
                    gross_margin_cents: gross,
                    margin_rate,
                });
            }
            None => missing.push(product.to_string()),
        }
    }
    (margins, missing)
}

/// revenue − cost, and that margin over the revenue (`None` when the revenue is 0).
fn margin(revenue_cents: i64, cost_cents: i64) -> (i64, Option<f64>) {
    let gross = revenue_cents - cost_cents;
    (
        gross,
        (revenue_cents != 0).then(|| gross as f64 / revenue_cents as f64),
    )
}

/// One sold line of a product: who bought it and when, as `kehu analyze` reads it. Product
/// and customer are dense indices (their names are kept once, apart), so a file of millions
/// of lines costs no string per line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductSale {
    pub product: u32,
    pub customer: u32,
    pub day: Day,
    /// Units sold (negative for a return); `None` when the line does not say.
    pub quantity: Option<i64>,
    /// Net amount; negative for a refund.
    pub amount_cents: i64,
    /// Cost of the line; `None` when the line does not say.
    pub cost_cents: Option<i64>,
}

/// One product's figures over its sold lines.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductFigures {
    pub product: String,
    /// Net total of its lines (refunds reduce it).
    pub revenue_cents: i64,
    /// Total cost; `None` when a line lacks its cost (as in [`gross_margins`]: the margin
    /// would be overstated), and then the margin and its rate are `None` too.
    pub cost_cents: Option<i64>,
    /// revenue − cost.
    pub gross_margin_cents: Option<i64>,
    /// margin / revenue; `None` also when the revenue is 0.
    pub margin_rate: Option<f64>,
    /// Total units; `None` when a line lacks its quantity.
    pub quantity: Option<i64>,
    /// Customers with a purchase day of the product: a day with a line of it whose amount
    /// is ≥ 0 (0.00 included). A day of its refunds alone is not a purchase, as for the
    /// customers' purchase days.
    pub customers: u64,
    /// Customers who bought it on two or more distinct days.
    pub repeat_customers: u64,
    /// repeat customers / customers; `None` when nobody bought it.
    pub repeat_rate: Option<f64>,
}

/// Each product's figures, one per product with at least one line, sorted by revenue
/// descending, then product name. `names[i]` is the name of product `i`.
pub fn product_figures(lines: &[ProductSale], names: &[String]) -> Vec<ProductFigures> {
    #[derive(Clone, Copy)]
    struct Totals {
        lines: u64,
        revenue: i64,
        cost: Option<i64>,
        quantity: Option<i64>,
        customers: u64,
        repeat_customers: u64,
    }
    let mut totals = vec![
        Totals {
            lines: 0,
            revenue: 0,
            cost: Some(0),
            quantity: Some(0),
            customers: 0,
            repeat_customers: 0,
        };
        names.len()
    ];
    for l in lines {
        let t = &mut totals[l.product as usize];
        t.lines += 1;
        t.revenue += l.amount_cents;
        t.cost = t.cost.zip(l.cost_cents).map(|(a, b)| a + b);
        t.quantity = t.quantity.zip(l.quantity).map(|(a, b)| a + b);
    }
    // Each product's buyers: its distinct (customer, purchase day) pairs, grouped by customer.
    let mut purchases: Vec<(u32, u32, Day)> = lines
        .iter()
        .filter(|l| l.amount_cents >= 0)
        .map(|l| (l.product, l.customer, l.day))
        .collect();
    purchases.sort_unstable();
    purchases.dedup();
    for days in purchases.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let t = &mut totals[days[0].0 as usize];
        t.customers += 1;
        if days.len() >= 2 {
            t.repeat_customers += 1;
        }
    }
    let mut figures: Vec<ProductFigures> = names
        .iter()
        .zip(totals)
        .filter(|(_, t)| t.lines > 0)
        .map(|(name, t)| {
            let margin = t.cost.map(|cost| margin(t.revenue, cost));
            ProductFigures {
                product: name.clone(),
                revenue_cents: t.revenue,
                cost_cents: t.cost,
                gross_margin_cents: margin.map(|m| m.0),
                margin_rate: margin.and_then(|m| m.1),
                quantity: t.quantity,
                customers: t.customers,
                repeat_customers: t.repeat_customers,
                repeat_rate: (t.customers > 0)
                    .then(|| t.repeat_customers as f64 / t.customers as f64),
            }
        })
        .collect();
    figures.sort_by(|a, b| {
        b.revenue_cents
            .cmp(&a.revenue_cents)
            .then_with(|| a.product.cmp(&b.product))
    });
    figures
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

    fn sale(
        product: u32,
        customer: u32,
        day: Day,
        quantity: Option<i64>,
        amount: i64,
        cost: Option<i64>,
    ) -> ProductSale {
        ProductSale {
            product,
            customer,
            day,
            quantity,
            amount_cents: amount,
            cost_cents: cost,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    /// Three products over four customers, days as plain numbers.
    fn sales() -> Vec<ProductSale> {
        vec![
            // tea (0): customer 0 twice on day 10 (one purchase day), customer 1 on days 10
            // and 12 (a repeat buyer), customer 2 only a refund (no buyer).
            sale(0, 0, 10, Some(2), 600, Some(200)),
            sale(0, 0, 10, Some(1), 300, Some(100)),
            sale(0, 1, 10, Some(1), 300, Some(100)),
            sale(0, 1, 12, Some(1), 300, Some(100)),
            sale(0, 2, 15, Some(-1), -300, Some(-100)),
            // cake (1): customer 0 on days 11 and 20; one line without its cost, one
            // without its quantity.
            sale(1, 0, 11, Some(1), 500, None),
            sale(1, 0, 20, None, 500, Some(200)),
            // coffee (2): customer 2 buys on day 11 and returns it on day 13 (a refund day
            // is no second purchase day); customer 3 gets one free (0.00 is a purchase).
            sale(2, 2, 11, Some(1), 1000, Some(400)),
            sale(2, 2, 13, Some(-1), -1000, Some(-400)),
            sale(2, 3, 13, Some(1), 0, Some(0)),
        ]
    }

    #[test]
    fn product_figures_sum_each_product_and_count_its_buyers_and_repeat_buyers() {
        let figures = product_figures(&sales(), &names(&["tea", "cake", "coffee"]));
        assert_eq!(
            figures,
            vec![
                // 6 + 3 + 3 + 3 − 3 = 12.00; cost 2 + 1 + 1 + 1 − 1 = 4.00; margin 8.00 = 2/3;
                // 2 + 1 + 1 + 1 − 1 = 4 units; buyers 0 and 1, of whom 1 on two days.
                ProductFigures {
                    product: "tea".into(),
                    revenue_cents: 1200,
                    cost_cents: Some(400),
                    gross_margin_cents: Some(800),
                    margin_rate: Some(800.0 / 1200.0),
                    quantity: Some(4),
                    customers: 2,
                    repeat_customers: 1,
                    repeat_rate: Some(0.5),
                },
                // 5 + 5 = 10.00, cost and quantity unknown; one buyer, on two days.
                ProductFigures {
                    product: "cake".into(),
                    revenue_cents: 1000,
                    cost_cents: None,
                    gross_margin_cents: None,
                    margin_rate: None,
                    quantity: None,
                    customers: 1,
                    repeat_customers: 1,
                    repeat_rate: Some(1.0),
                },
                // 10 − 10 + 0 = 0.00 (no margin rate on no revenue); 1 − 1 + 1 = 1 unit;
                // buyers 2 and 3, each on one day.
                ProductFigures {
                    product: "coffee".into(),
                    revenue_cents: 0,
                    cost_cents: Some(0),
                    gross_margin_cents: Some(0),
                    margin_rate: None,
                    quantity: Some(1),
                    customers: 2,
                    repeat_customers: 0,
                    repeat_rate: Some(0.0),
                },
            ]
        );
    }

    #[test]
    fn product_figures_break_revenue_ties_by_name_and_leave_out_products_without_lines() {
        let lines = [
            sale(0, 0, 1, Some(1), 500, None),
            sale(1, 0, 1, Some(1), 500, None),
            sale(3, 1, 2, Some(-1), -200, None),
        ];
        let figures = product_figures(&lines, &names(&["b", "a", "unsold", "returned"]));
        let order: Vec<&str> = figures.iter().map(|f| f.product.as_str()).collect();
        assert_eq!(order, ["a", "b", "returned"]);
        // Refunds alone: nobody bought it, so no repeat rate.
        assert_eq!(figures[2].customers, 0);
        assert_eq!(figures[2].repeat_rate, None);
        assert!(product_figures(&[], &[]).is_empty());
    }

    #[test]
    fn product_figures_agree_with_sales_composition_and_gross_margins() {
        let sales = sales();
        let names = names(&["tea", "cake", "coffee"]);
        let lines: Vec<SaleLine> = sales
            .iter()
            .map(|s| SaleLine {
                product: names[s.product as usize].clone(),
                category: String::new(),
                quantity: s.quantity.unwrap_or(0),
                amount_cents: s.amount_cents,
                cost_cents: s.cost_cents,
            })
            .collect();
        let figures = product_figures(&sales, &names);
        let (composition, _) = sales_composition(&lines);
        assert_eq!(
            composition
                .iter()
                .map(|c| (c.key.as_str(), c.revenue_cents))
                .collect::<Vec<_>>(),
            figures
                .iter()
                .map(|f| (f.product.as_str(), f.revenue_cents))
                .collect::<Vec<_>>(),
            "same revenue, same order"
        );
        let (margins, missing) = gross_margins(&lines);
        for m in &margins {
            let f = figures.iter().find(|f| f.product == m.product);
            assert_eq!(
                f.map(|f| (f.cost_cents, f.gross_margin_cents, f.margin_rate)),
                Some((
                    Some(m.cost_cents),
                    Some(m.gross_margin_cents),
                    m.margin_rate
                ))
            );
        }
        assert_eq!(missing, ["cake"]);
        assert_eq!(figures[1].gross_margin_cents, None);
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
