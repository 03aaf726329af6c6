//! Customer-value analytics (客户价值分析): RFM scores, the 80/20 (ABC) rule, four value
//! classes, BG/NBD + Gamma-Gamma lifetime value, named segments, k-means clusters, and
//! product analytics. Pure computation over columns and structs; the only IO lives in
//! [`csv_io`] and [`command`] (`kehu analyze`).
//!
//! # Pipeline
//! [`csv_io::read_transactions`] → [`summary::summarize`] → [`analysis::analyze`] →
//! [`csv_io::write_customers`] + model.json + summary.json ([`command::run`]); with product
//! columns also [`products::product_figures`] → [`csv_io::write_products`] (products.csv).
//!
//! # Definitions
//! Days are whole calendar days ([`Day`] = days from the Common Era, as chrono's
//! `num_days_from_ce`). *as-of* is the last observed day, inclusive; rows after it are ignored.
//!
//! **Purchase days and refunds.** All rows of one customer on one day are summed into the
//! *day total*. Negative amounts are refunds: they reduce their day's total (and the
//! customer's revenue). As in `lifetimes` (`summary_data_from_transaction_data`) and the
//! BG/NBD literature, every transaction day is a purchase: a day is a *purchase day* when
//! it has at least one row with amount ≥ 0, whatever its total. So 0.00 rows are purchases
//! (a customer whose only row is 0.00 is a buyer with x = 0), a day whose refunds match or
//! exceed its purchases is a purchase day with a total ≤ 0, and only a day of refunds alone
//! is not a purchase (`lifetimes` would count that too). A customer with no purchase day
//! at all (only refunds) stays in RFM, ABC and the clusters, has empty first/last purchase,
//! frequency = recency = T = monetary value = 0, recency_days measured from their last row,
//! and is left out of both model fits with p_alive = expected_purchases = expected_spend =
//! clv = 0.
//!
//! **Model summary** (the `lifetimes` conventions, time in weeks):
//! - `frequency` x = number of purchase days after the first;
//! - `recency` tₓ = (last − first purchase day) / 7;
//! - `T` = (as-of − first purchase day) / 7;
//! - `monetary_value` m = mean of the repeat purchase days' totals (first day excluded),
//!   in currency units; 0 when x = 0. 0.00 days count as totals of 0, so m can be 0, and
//!   refunds can make it negative.
//!
//! **RFM.** `recency_days` = as-of − last purchase day; `orders` = number of input rows
//! (refund rows included); `revenue` = net total, exact in cents. Each score is 1–5 (5
//! best) by rank: customers are ranked 1..n from worst to best, ties broken by customer id
//! ascending (numerically when every id is an integer, else bytewise), and
//! score = ⌊(rank − 1)·5 / n⌋ + 1. For R a larger `recency_days` is worse; F ranks
//! `orders`, M ranks `revenue`.
//!
//! **ABC (Pareto).** Customers by revenue descending, ties by id ascending. With the
//! running revenue *including* the customer: A while running ≤ 80 % of the total, B while
//! ≤ 95 %, else C, compared exactly in integer cents (100·running ≤ 80·total). When the
//! total is ≤ 0 the rule is applied literally (customers with positive running totals are C).
//!
//! **BG/NBD** (Fader, Hardie & Lee 2005), parameters r, α (weeks), a, b, fitted by maximum
//! likelihood over ln-parameters from ln θ = 0.1 with BFGS, time rescaled so max T = 10
//! during the fit, like `lifetimes`' `BetaGeoFitter` (penalizer 0 by default). Per customer:
//! - ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
//!   + ln[(α+T)^−(r+x) + 1{x>0}·a/(b+x−1)·(α+tₓ)^−(r+x)];
//! - P(alive) = 1 / (1 + 1{x>0}·a/(b+x−1)·((α+T)/(α+tₓ))^(r+x)) (1 when x = 0);
//! - E[X(t)] = (a+b+x−1)/(a−1)·[1 − ((α+T)/(α+T+t))^(r+x)·₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
//!   / (1 + 1{x>0}·a/(b+x−1)·((α+T)/(α+tₓ))^(r+x)); `expected_purchases` = E[X(4.345·H)].
//!
//! **Gamma-Gamma** (Fader, Hardie & Lee 2005b; Hardie's note 025), parameters p, q, γ
//! (currency units), fitted like `GammaGammaFitter` on the repeat customers with a positive
//! monetary value (x > 0 and m > 0, the filter `lifetimes` requires: the model's spends
//! are > 0):
//! ln f = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(xm+γ).
//! For those customers `expected_spend` = (1−w)·γp/(q−1) + w·m with w = px/(px+q−1); every
//! other buyer (x = 0, or x > 0 with m ≤ 0) has no usable spend of their own and gets the
//! population mean γp/(q−1). When q ≤ 1 (infinite mean) or the model is not fitted, the
//! population mean is replaced by the mean monetary value of the repeat customers with
//! m > 0 (model.json says which), and without a fit such a customer's expected spend is
//! their own m.
//!
//! **CLV** over H months, monthly discount rate d, a month being 4.345 weeks:
//! CLV = Σ_{m=1..H} expected_spend · (E[X(4.345m)] − E[X(4.345(m−1))]) / (1+d)^m.
//!
//! **Degenerate populations.** When the BG/NBD cannot be identified (no buyer, nobody
//! repeats, every first purchase on the as-of day) or its optimiser does not converge,
//! model.json has `"fitted": false` and a `reason`; buyers get p_alive = 1 (the value for
//! x = 0; the data hold no evidence of churn), expected_purchases = 0 and clv = 0. The
//! Gamma-Gamma needs at least two repeat customers with m > 0 and different spends. A non-finite
//! prediction (₂F₁ not converging for extreme parameters) is set to 0 and counted in
//! model.json (`non_finite_predictions`): the outputs never hold NaN.
//!
//! **Value classes** (价值类别): current value = net revenue of the rows in the last 12
//! calendar months (after as-of − 12 months, up to as-of); potential value = CLV. Each axis
//! is "high" when *strictly above* its quantile (default the medians; numpy's linear
//! interpolation), so with a median of 0 the zeros are low.
//!
//! | current | potential | class |
//! |---|---|---|
//! | high | high | `high` 高价值 |
//! | high | low | `sub` 次价值 |
//! | low | high | `potential` 潜在价值 |
//! | low | low | `low` 低价值 |
//!
//! **Named RFM segments** — the first matching row wins (R, F, M scores):
//!
//! | segment | rule |
//! |---|---|
//! | `champions` 重要价值客户 | R ≥ 4, F ≥ 4, M ≥ 4 |
//! | `loyal` 忠诚客户 | R ≥ 3, F ≥ 4 |
//! | `potential_loyalist` 潜在忠诚客户 | R ≥ 4, F 2–3 |
//! | `new` 新客户 | R = 5, F = 1 |
//! | `promising` 有希望的客户 | R = 4, F = 1 |
//! | `need_attention` 需要关注的客户 | R = 3, F 2–3 |
//! | `about_to_sleep` 即将流失的客户 | R = 3, F = 1 |
//! | `cant_lose` 不能失去的客户 | R ≤ 2, F ≥ 4, M ≥ 4 |
//! | `at_risk` 有流失风险的客户 | R ≤ 2, F ≥ 3 |
//! | `hibernating` 休眠客户 | R = 2, F ≤ 2 |
//! | `lost` 已流失客户 | R = 1, F ≤ 2 |
//!
//! **Clusters.** k-means on log1p(recency_days), log1p(orders), log1p(max(revenue, 0))
//! (revenue in currency units), each standardised to mean 0 / sd 1; k-means++ seeding from a
//! fixed SplitMix64 seed, Lloyd iterations until stable; clusters numbered by centre revenue
//! descending. Deterministic for a given input.
//!
//! **Product analytics** ([`products`]): sales composition by product and category (share
//! of revenue), gross margin per product (revenue − cost; products with a missing cost are
//! listed apart), stock turnover = COGS / ((opening + closing stock)/2) and days of
//! inventory = period days / turnover.
//!
//! **products.csv** (`kehu analyze` with a product column), one row per product by revenue
//! descending, then product: `revenue` = net total of its lines; `cost` = total cost and
//! `gross_margin` = revenue − cost, empty when a line of it has no cost; `margin_rate` =
//! margin / revenue, empty also when the revenue is 0; `quantity` = total units, empty when
//! a line has none; `customers` = customers with a purchase day of the product (a day with
//! a line of it whose amount is ≥ 0, as for the customers' purchase days: a day of its
//! refunds alone is none); `repeat_customers` = those with two or more such days;
//! `repeat_rate` = repeat customers / customers, empty when nobody bought it.
//!
//! # Input CSV (`kehu analyze`)
//! Header `customer_id,date,amount` (any order, nothing else), ISO dates (`YYYY-MM-DD`, a
//! time part after `T` is ignored), decimal amounts with at most two decimals (negative =
//! refund). Optionally a `product` column, with `quantity` (whole units, negative = return)
//! and `cost` (a decimal amount like `amount`) beside it: each row is then one sold line.
//! A row with an empty product counts for the customers only; a product row may leave
//! quantity or cost empty. Errors name the line: missing/extra/duplicate columns (quantity or
//! cost without a product column), a repeated header line, wrong field count, unparsable
//! dates, amounts, quantities or costs, empty customer ids, a quantity or cost on a row
//! without a product, an empty file.

pub mod analysis;
pub mod bgnbd;
pub mod command;
pub mod csv_io;
pub mod gamma_gamma;
pub mod kmeans;
pub mod optimize;
pub mod products;
pub mod rfm;
pub mod special;
pub mod summary;
pub mod value;

/// A calendar day: days from the Common Era (0001-01-01 is day 1).
pub type Day = i32;
