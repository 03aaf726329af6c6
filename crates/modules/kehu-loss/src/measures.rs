//! A loss record's measures (暂缓流失措施): a log, each with its time and author, never changed
//! once written. In the data scope of their record: every select starts from the records'
//! scoped select ([`crate::store::in_scope`]) and joins the measures onto it.

use chrono::{DateTime, Utc};
use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};
use kehu_store::schema::Users;
use kehu_store::write::{self, Record, Table};
use sea_query::{Alias, Expr, ExprTrait, JoinType, Order, SelectStatement};
use serde::Serialize;

use crate::schema::LossMeasures;
use crate::store::{id_column, in_scope};

/// A measure, with its author's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Measure {
    pub id: i64,
    pub record_id: i64,
    pub measure: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub author: Option<String>,
}

fn m(c: LossMeasures) -> (LossMeasures, LossMeasures) {
    (LossMeasures::Table, c)
}

/// The measures of the records in `scope`, oldest first.
fn select(scope: OwnerFilter) -> SelectStatement {
    in_scope(scope)
        .columns([
            m(LossMeasures::Id),
            m(LossMeasures::RecordId),
            m(LossMeasures::Measure),
            m(LossMeasures::CreatedAt),
            m(LossMeasures::CreatedBy),
        ])
        .expr_as(
            Expr::col((Users::Table, Users::DisplayName)),
            Alias::new("author"),
        )
        .inner_join(
            LossMeasures::Table,
            Expr::col(m(LossMeasures::RecordId)).eq(id_column()),
        )
        .join(
            JoinType::LeftJoin,
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals(m(LossMeasures::CreatedBy)),
        )
        .order_by(m(LossMeasures::CreatedAt), Order::Asc)
        .order_by(m(LossMeasures::Id), Order::Asc)
        .to_owned()
}

impl Record for Measure {
    type Col = LossMeasures;
    const TABLE: Table<LossMeasures> = Table {
        table: LossMeasures::Table,
        id: LossMeasures::Id,
        version: LossMeasures::Version,
        created_at: LossMeasures::CreatedAt,
        created_by: LossMeasures::CreatedBy,
        updated_at: LossMeasures::UpdatedAt,
        updated_by: LossMeasures::UpdatedBy,
        entity: "loss_measure",
        unique: "id",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        let q = select(OwnerFilter::system())
            .and_where(Expr::col(m(LossMeasures::Id)).eq(id))
            .to_owned();
        tx.fetch_found(&q).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "record_id": self.record_id, "measure": self.measure })
    }
}

/// The measures of records `ids` in `scope`, oldest first.
pub async fn of(db: &Db, scope: OwnerFilter, ids: &[i64]) -> StoreResult<Vec<Measure>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = select(scope)
        .and_where(Expr::col(m(LossMeasures::RecordId)).is_in(ids.iter().copied()))
        .to_owned();
    Ok(db.fetch_all(&q).await?)
}

/// Logs `text` on record `record_id` (found in the caller's scope), audited.
pub(crate) async fn create(
    tx: &mut Tx,
    record_id: i64,
    text: &str,
    actor: &Actor,
) -> StoreResult<Measure> {
    let values = vec![
        (LossMeasures::RecordId, Expr::val(record_id)),
        (LossMeasures::Measure, Expr::val(text)),
    ];
    write::create::<Measure>(tx, values, actor, async |_, _| Ok(())).await
}
