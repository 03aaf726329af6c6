//! A complaint's steps (投诉处理): recorded one after another, never changed, each with who and
//! when. They belong to their service: every read starts from the service store's scoped
//! select and joins the steps onto it, so a step is reached only through a service in the
//! caller's scope.

use chrono::{DateTime, Utc};
use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::audit::Actor;
use kehu_store::db::Tx;
use kehu_store::schema::Users;
use kehu_store::write::{self, Record, Table};
use sea_query::{Alias, Expr, ExprTrait, JoinType, Order, SelectStatement};
use serde::Serialize;

use crate::domain::{Step, StepRecord};
use crate::schema::ServiceSteps;
use crate::store;

/// A complaint step as recorded, with who recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StepRow {
    pub id: i64,
    pub service_id: i64,
    pub step: String,
    pub accepted: Option<bool>,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub created_by_name: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl StepRow {
    pub fn record(&self) -> StepRecord {
        StepRecord {
            step: Step::from_code(&self.step).unwrap_or(Step::Reopened),
            accepted: self.accepted,
        }
    }
}

/// The steps of the services in `scope`, with their author's name.
fn select(scope: OwnerFilter) -> SelectStatement {
    let col = |c: ServiceSteps| (ServiceSteps::Table, c);
    let mut q = store::in_scope(scope);
    q.columns(
        [
            ServiceSteps::Id,
            ServiceSteps::ServiceId,
            ServiceSteps::Step,
            ServiceSteps::Accepted,
            ServiceSteps::Content,
            ServiceSteps::CreatedAt,
            ServiceSteps::CreatedBy,
            ServiceSteps::UpdatedAt,
            ServiceSteps::Version,
        ]
        .map(col),
    )
    .expr_as(
        Expr::col((Alias::new("author"), Users::DisplayName)),
        Alias::new("created_by_name"),
    )
    .inner_join(
        ServiceSteps::Table,
        Expr::col(col(ServiceSteps::ServiceId)).eq(store::id_column()),
    )
    .join_as(
        JoinType::LeftJoin,
        Users::Table,
        Alias::new("author"),
        Expr::col((Alias::new("author"), Users::Id)).equals(col(ServiceSteps::CreatedBy)),
    );
    q
}

/// The steps of service `id` in `scope`, oldest first.
pub(crate) fn of(scope: OwnerFilter, id: i64) -> SelectStatement {
    select(scope)
        .and_where(Expr::col((ServiceSteps::Table, ServiceSteps::ServiceId)).eq(id))
        .order_by((ServiceSteps::Table, ServiceSteps::Id), Order::Asc)
        .to_owned()
}

impl Record for StepRow {
    type Col = ServiceSteps;
    const TABLE: Table<ServiceSteps> = Table {
        table: ServiceSteps::Table,
        id: ServiceSteps::Id,
        version: ServiceSteps::Version,
        created_at: ServiceSteps::CreatedAt,
        created_by: ServiceSteps::CreatedBy,
        updated_at: ServiceSteps::UpdatedAt,
        updated_by: ServiceSteps::UpdatedBy,
        entity: "service_step",
        unique: "step",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select(OwnerFilter::system()), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "service_id": self.service_id, "step": self.step, "accepted": self.accepted,
            "content": self.content,
        })
    }
}

/// Records `step` of service `service_id` (found and allowed by the caller, in `tx`), audited.
pub(crate) async fn insert(
    tx: &mut Tx,
    service_id: i64,
    step: Step,
    accepted: Option<bool>,
    content: &str,
    actor: &Actor,
) -> StoreResult<StepRow> {
    let values = vec![
        (ServiceSteps::ServiceId, Expr::val(service_id)),
        (ServiceSteps::Step, Expr::val(step.code())),
        (ServiceSteps::Accepted, Expr::val(accepted)),
        (ServiceSteps::Content, Expr::val(content)),
    ];
    write::create::<StepRow>(tx, values, actor, async |_, _| Ok(())).await
}

/// Writes `rows` as they are (their `id`, names and `updated_at` aside; each stamped as its
/// `created_by`'s at its `created_at`) in multi-row inserts, their services' own, and records
/// their creation in the audit log as `actor`'s: a bulk load's complaint steps (`kehu demo`).
pub(crate) async fn insert_many(tx: &mut Tx, rows: &[StepRow], actor: &Actor) -> StoreResult<()> {
    use ServiceSteps as P;
    let columns = [
        P::ServiceId,
        P::Step,
        P::Accepted,
        P::Content,
        P::CreatedAt,
        P::CreatedBy,
        P::UpdatedAt,
        P::UpdatedBy,
    ];
    let values = rows
        .iter()
        .map(|r| {
            vec![
                Expr::val(r.service_id),
                Expr::val(r.step.as_str()),
                Expr::val(r.accepted),
                Expr::val(r.content.as_str()),
                Expr::val(r.created_at),
                Expr::val(r.created_by),
                Expr::val(r.created_at),
                Expr::val(r.created_by),
            ]
        })
        .collect();
    let ids = write::insert_many(tx, P::Table, P::Id, &columns, values).await?;
    let audited: Vec<(i64, serde_json::Value)> = rows
        .iter()
        .zip(ids)
        .map(|(r, id)| (id, r.snapshot()))
        .collect();
    kehu_store::audit::record_created(tx, actor, StepRow::TABLE.entity, &audited).await
}
