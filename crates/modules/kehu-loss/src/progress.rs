//! The loss scan's progress (`loss_scans`): a row per scan with its cutoff, the last customer
//! id done and the figures so far, moved in each batch's transaction. A scan that stopped
//! (the instance stopped, the database failed) is taken up by the next one on the same
//! cutoff within a day, where it stopped.

use chrono::{DateTime, Duration, Utc};
use kehu_store::StoreResult;
use kehu_store::db::{Db, Tx};
use sea_query::{Expr, ExprTrait, Order, Query};

use crate::schema::LossScans as S;
use crate::store::ScanFigures;

/// A scan's row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScanRow {
    pub id: i64,
    pub cutoff: DateTime<Utc>,
    pub never_ordered: bool,
    pub done_to: i64,
    pub scanned: i64,
    pub warned: i64,
    pub closed: i64,
}

impl ScanRow {
    fn figures(&self) -> ScanFigures {
        ScanFigures {
            scanned: self.scanned,
            warned: self.warned,
            closed: self.closed,
            errors: 0,
        }
    }
}

/// The scan to run: the unfinished one of the last day on `cutoff` and `never_ordered`, or a
/// new one (an older unfinished one stays as it stopped); with its figures so far.
pub async fn take_up(
    db: &Db,
    cutoff: DateTime<Utc>,
    never_ordered: bool,
) -> StoreResult<(ScanRow, ScanFigures)> {
    db.write(async |tx| {
        let q = Query::select()
            .columns([
                S::Id,
                S::Cutoff,
                S::NeverOrdered,
                S::DoneTo,
                S::Scanned,
                S::Warned,
                S::Closed,
            ])
            .from(S::Table)
            .and_where(Expr::col(S::FinishedAt).is_null())
            .and_where(Expr::col(S::StartedAt).gt(Utc::now() - Duration::days(1)))
            .and_where(Expr::col(S::Cutoff).eq(cutoff))
            .and_where(Expr::col(S::NeverOrdered).eq(never_ordered))
            .order_by(S::Id, Order::Desc)
            .limit(1)
            .to_owned();
        if let Some(r) = tx.fetch_optional::<ScanRow>(&q).await? {
            let f = r.figures();
            return Ok((r, f));
        }
        let q = Query::insert()
            .into_table(S::Table)
            .columns([
                S::Cutoff,
                S::NeverOrdered,
                S::DoneTo,
                S::Scanned,
                S::Warned,
                S::Closed,
                S::StartedAt,
            ])
            .values_panic([
                Expr::val(cutoff),
                Expr::val(never_ordered),
                Expr::val(0i64),
                Expr::val(0i64),
                Expr::val(0i64),
                Expr::val(0i64),
                Expr::val(Utc::now()),
            ])
            .returning_col(S::Id)
            .to_owned();
        let (id,): (i64,) = tx.fetch_one(&q).await?;
        let row = ScanRow {
            id,
            cutoff,
            never_ordered,
            done_to: 0,
            scanned: 0,
            warned: 0,
            closed: 0,
        };
        Ok((row, ScanFigures::default()))
    })
    .await
}

/// Records in `tx` (the batch's) that scan `id` has done the customers up to `upto`, with
/// the batch's figures.
pub async fn batch_done(tx: &mut Tx, id: i64, upto: i64, b: &ScanFigures) -> StoreResult<()> {
    let q = Query::update()
        .table(S::Table)
        .values([
            (S::DoneTo, Expr::val(upto)),
            (S::Scanned, Expr::col(S::Scanned).add(b.scanned)),
            (S::Warned, Expr::col(S::Warned).add(b.warned)),
            (S::Closed, Expr::col(S::Closed).add(b.closed)),
        ])
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    tx.execute(&q).await?;
    Ok(())
}

/// Marks scan `id` finished.
pub async fn finished(db: &Db, id: i64) -> StoreResult<()> {
    let q = Query::update()
        .table(S::Table)
        .value(S::FinishedAt, Expr::val(Utc::now()))
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}
