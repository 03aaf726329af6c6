//! The loss scan's settings as an administrator stored them (`loss_settings`, one row):
//! the threshold and whether customers that never ordered are judged. Until someone stores
//! them the configuration's hold. Every change is audited.

use chrono::Utc;
use kehu_domain::DomainError;
use kehu_store::StoreResult;
use kehu_store::audit::{self, Action, Actor};
use kehu_store::db::Db;
use sea_query::{Expr, ExprTrait, Order, Query};

use crate::domain::{Settings, Threshold};
use crate::schema::LossSettings;

/// The scan's settings: an administrator's, or else `configured`; with the stored
/// version (none: nobody has set them).
pub async fn get(db: &Db, configured: Settings) -> StoreResult<(Settings, Option<i32>)> {
    let q = Query::select()
        .columns([
            LossSettings::ThresholdMonths,
            LossSettings::NeverOrdered,
            LossSettings::Version,
        ])
        .from(LossSettings::Table)
        .order_by(LossSettings::Id, Order::Asc)
        .limit(1)
        .to_owned();
    let row: Option<(i32, bool, i32)> = db.fetch_optional(&q).await?;
    Ok(match row {
        Some((months, never_ordered, version)) => (
            Settings {
                threshold: Threshold::new(i64::from(months)).unwrap_or(configured.threshold),
                never_ordered,
            },
            Some(version),
        ),
        None => (configured, None),
    })
}

/// Stores the scan's settings `s`. `version`: the one the user saw (none: they saw the
/// configuration's, and nobody may have stored any since). Audited.
pub async fn save(db: &Db, s: &Settings, version: Option<i32>, actor: &Actor) -> StoreResult<()> {
    use LossSettings as S;
    db.write(async |tx| {
        let q = Query::select()
            .columns([S::Id, S::ThresholdMonths, S::NeverOrdered, S::Version])
            .from(S::Table)
            .order_by(S::Id, Order::Asc)
            .limit(1)
            .to_owned();
        let row: Option<(i64, i32, bool, i32)> = tx.fetch_optional(&q).await?;
        let after = serde_json::json!({
            "threshold_months": s.threshold.months(),
            "never_ordered": s.never_ordered,
        });
        let now = Utc::now();
        match row {
            None if version.is_some() => Err(DomainError::StaleVersion.into()),
            None => {
                let q = Query::insert()
                    .into_table(S::Table)
                    .columns([
                        S::ThresholdMonths,
                        S::NeverOrdered,
                        S::CreatedAt,
                        S::CreatedBy,
                        S::UpdatedAt,
                        S::UpdatedBy,
                    ])
                    .values_panic([
                        Expr::val(s.threshold.months() as i32),
                        Expr::val(s.never_ordered),
                        Expr::val(now),
                        Expr::val(actor.user_id),
                        Expr::val(now),
                        Expr::val(actor.user_id),
                    ])
                    .returning_col(S::Id)
                    .to_owned();
                let (id,): (i64,) = tx.fetch_one(&q).await?;
                audit::record(
                    tx,
                    actor,
                    Action::Create,
                    "loss_settings",
                    id,
                    None,
                    Some(&after),
                )
                .await
            }
            Some((id, months, never, v)) => {
                if version != Some(v) {
                    return Err(DomainError::StaleVersion.into());
                }
                let q = Query::update()
                    .table(S::Table)
                    .values([
                        (S::ThresholdMonths, Expr::val(s.threshold.months() as i32)),
                        (S::NeverOrdered, Expr::val(s.never_ordered)),
                        (S::UpdatedAt, Expr::val(now)),
                        (S::UpdatedBy, Expr::val(actor.user_id)),
                        (S::Version, Expr::col(S::Version).add(1)),
                    ])
                    .and_where(Expr::col(S::Id).eq(id))
                    .to_owned();
                tx.execute(&q).await?;
                let before = serde_json::json!({
                    "threshold_months": months, "never_ordered": never,
                });
                audit::record(
                    tx,
                    actor,
                    Action::Update,
                    "loss_settings",
                    id,
                    Some(&before),
                    Some(&after),
                )
                .await
            }
        }
    })
    .await
}
