//! The pipeline's running totals (`opportunity_totals`): per owner, status and currency, the
//! number of opportunities and their summed and weighted expected amounts. The opportunity
//! store moves an opportunity's share from one row to another in the transaction of every
//! change, so the board reads a few rows per owner whatever the number of opportunities.

use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::db::{Db, Tx};
use kehu_store::scope::{Owned, Scoped};
use sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SelectStatement};

use crate::schema::OpportunityTotals;

/// The one builder of every statement on `opportunity_totals` except the upsert.
fn totals(scope: OwnerFilter) -> Scoped<OpportunityTotals> {
    Scoped::new(
        Owned {
            table: OpportunityTotals::Table,
            owner: OpportunityTotals::OwnerId,
        },
        scope,
    )
}

/// One opportunity's share of the totals: the row it counts in and what it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Share {
    pub owner_id: i64,
    pub status: String,
    pub currency: String,
    /// Fen (0 without an expected amount).
    pub amount: i64,
    /// Percent.
    pub rate: i16,
}

/// A change of one totals row.
#[derive(Debug, PartialEq, Eq)]
struct Delta {
    key: (i64, String, String),
    count: i64,
    amount: i64,
    weighted: i64,
}

impl Share {
    fn delta(&self, sign: i64) -> Delta {
        Delta {
            key: (self.owner_id, self.status.clone(), self.currency.clone()),
            count: sign,
            amount: sign * self.amount,
            weighted: sign * self.amount * i64::from(self.rate),
        }
    }
}

/// Moves an opportunity's share from `before` (none: it is new) to `after` (none: it is
/// gone). Rows are changed in key order, so two transactions moving shares between the same
/// two rows lock them in the same order on PostgreSQL and never deadlock.
pub(crate) async fn shift(
    tx: &mut Tx,
    before: Option<&Share>,
    after: Option<&Share>,
) -> StoreResult<()> {
    if before == after {
        return Ok(());
    }
    let mut deltas: Vec<Delta> = before
        .map(|s| s.delta(-1))
        .into_iter()
        .chain(after.map(|s| s.delta(1)))
        .collect();
    if let [a, b] = deltas.as_mut_slice()
        && a.key == b.key
    {
        b.count += a.count;
        b.amount += a.amount;
        b.weighted += a.weighted;
        deltas.remove(0);
    }
    deltas.sort_by(|a, b| a.key.cmp(&b.key));
    for d in deltas {
        add(tx, &d).await?;
    }
    Ok(())
}

async fn add(tx: &mut Tx, d: &Delta) -> StoreResult<()> {
    use OpportunityTotals as T;
    let plus = |c: T, n: i64| (c, Expr::col((T::Table, c)).add(n));
    let (owner, status, currency) = &d.key;
    let mut q = Query::insert()
        .into_table(T::Table)
        .columns([
            T::OwnerId,
            T::Status,
            T::Currency,
            T::Count,
            T::Amount,
            T::Weighted,
        ])
        .values_panic([
            (*owner).into(),
            status.as_str().into(),
            currency.as_str().into(),
            d.count.into(),
            d.amount.into(),
            d.weighted.into(),
        ])
        .to_owned();
    let mut on = OnConflict::columns([T::OwnerId, T::Status, T::Currency]);
    for (c, e) in [
        plus(T::Count, d.count),
        plus(T::Amount, d.amount),
        plus(T::Weighted, d.weighted),
    ] {
        on.value(c, e);
    }
    q.on_conflict(on);
    tx.execute(&q).await?;
    Ok(())
}

/// The totals of one status in one currency, over the owners in a scope.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StageTotal {
    pub status: String,
    pub currency: String,
    pub count: i64,
    /// Fen.
    pub amount: i64,
    /// Σ fen × percent.
    pub weighted: i64,
}

impl StageTotal {
    /// The weighted amount in fen: Σ fen × percent / 100, rounded half up.
    pub fn weighted_fen(&self) -> i64 {
        (self.weighted + 50).div_euclid(100)
    }
}

/// The totals of `status` that hold opportunities, one per currency, CNY first (a board's
/// column, the pipeline API's stage).
pub fn of_status<'a>(totals: &'a [StageTotal], status: &str) -> Vec<&'a StageTotal> {
    let mut rows: Vec<&StageTotal> = totals
        .iter()
        .filter(|t| t.status == status && t.count > 0)
        .collect();
    rows.sort_by_key(|t| (t.currency != "CNY", t.currency.clone()));
    rows
}

/// The open opportunities (neither won nor lost) in one currency: the weighted pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTotal {
    pub currency: String,
    pub count: i64,
    /// Fen.
    pub amount: i64,
    /// Σ fen × percent.
    pub weighted: i64,
}

impl OpenTotal {
    /// The weighted amount in fen: Σ fen × percent / 100, rounded half up once, over all of
    /// them (not per status).
    pub fn weighted_fen(&self) -> i64 {
        (self.weighted + 50).div_euclid(100)
    }
}

/// The open statuses of `totals` summed per currency (the currencies with an open
/// opportunity), CNY first.
pub fn open_by_currency(totals: &[StageTotal]) -> Vec<OpenTotal> {
    let mut out: Vec<OpenTotal> = Vec::new();
    let open = totals.iter().filter(|t| {
        t.count > 0
            && kehu_domain::opportunity::Status::from_code(&t.status)
                .is_some_and(|s| !s.is_closed())
    });
    for t in open {
        match out.iter_mut().find(|o| o.currency == t.currency) {
            Some(o) => {
                o.count += t.count;
                o.amount += t.amount;
                o.weighted += t.weighted;
            }
            None => out.push(OpenTotal {
                currency: t.currency.clone(),
                count: t.count,
                amount: t.amount,
                weighted: t.weighted,
            }),
        }
    }
    out.sort_by_key(|t| (t.currency != "CNY", t.currency.clone()));
    out
}

/// The totals of every status and currency over the owners in `scope`.
pub(crate) async fn read(db: &Db, scope: OwnerFilter) -> StoreResult<Vec<StageTotal>> {
    use OpportunityTotals as T;
    let col = |c: T| Expr::col((T::Table, c));
    // SUM of BIGINT is NUMERIC on PostgreSQL: read back as BIGINT.
    let sum = |c: T| col(c).sum().cast_as("BIGINT");
    let mut q = totals(scope).select();
    q.expr_as(col(T::Status), Alias::new("status"))
        .expr_as(col(T::Currency), Alias::new("currency"))
        .expr_as(sum(T::Count), Alias::new("count"))
        .expr_as(sum(T::Amount), Alias::new("amount"))
        .expr_as(sum(T::Weighted), Alias::new("weighted"))
        .group_by_col((T::Table, T::Status))
        .group_by_col((T::Table, T::Currency));
    Ok(db.fetch_all(&q).await?)
}

/// Replaces every total by the sums of `sums` (owner, status, currency, count, amount,
/// weighted), after a bulk load that went around the store (`kehu demo`).
pub(crate) async fn rebuild(tx: &mut Tx, sums: SelectStatement) -> StoreResult<()> {
    use OpportunityTotals as T;
    tx.execute(&totals(OwnerFilter::system()).delete()).await?;
    let q = Query::insert()
        .into_table(T::Table)
        .columns([
            T::OwnerId,
            T::Status,
            T::Currency,
            T::Count,
            T::Amount,
            T::Weighted,
        ])
        .select_from(sums)
        .map_err(|e| kehu_store::StoreError::Other(e.into()))?
        .to_owned();
    tx.execute(&q).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(weighted: i64) -> StageTotal {
        StageTotal {
            status: "developing".into(),
            currency: "CNY".into(),
            count: 1,
            amount: 0,
            weighted,
        }
    }

    fn stage(status: &str, currency: &str, count: i64, amount: i64, weighted: i64) -> StageTotal {
        StageTotal {
            status: status.into(),
            currency: currency.into(),
            count,
            amount,
            weighted,
        }
    }

    #[test]
    fn the_weighted_pipeline_sums_the_open_statuses_per_currency_and_rounds_once() {
        // 100.01 yuan at 50 % and 100.01 at 50 % are 50.005 each: 100.01 together, where
        // rounding each would make 100.02. The won and lost do not count.
        let totals = [
            stage("developing", "CNY", 1, 10_001, 10_001 * 50),
            stage("assigned", "CNY", 1, 10_001, 10_001 * 50),
            stage("success", "CNY", 4, 90_000, 9_000_000),
            stage("failure", "USD", 1, 500, 5_000),
            stage("unassigned", "USD", 2, 1_000, 30_000),
            stage("unassigned", "EUR", 0, 0, 0),
        ];
        let open = open_by_currency(&totals);
        let view: Vec<(&str, i64, i64, i64)> = open
            .iter()
            .map(|t| (t.currency.as_str(), t.count, t.amount, t.weighted_fen()))
            .collect();
        assert_eq!(
            view,
            vec![("CNY", 2, 20_002, 10_001), ("USD", 2, 1_000, 300)]
        );
    }

    #[test]
    fn weighted_amounts_round_half_up_to_the_fen() {
        // 333.33 yuan at 50 % is 166.665 → 166.67; at 33 %, 109.9989 → 110.00.
        assert_eq!(total(33_333 * 50).weighted_fen(), 16_667);
        assert_eq!(total(33_333 * 33).weighted_fen(), 11_000);
        assert_eq!(total(0).weighted_fen(), 0);
    }
}
