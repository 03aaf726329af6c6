//! The plan items (客户开发计划) of the opportunities: reached only through their opportunity,
//! every select joined onto the opportunity store's scoped select. The store
//! (`crate::store::OpportunityStore`) asks the workflow before it calls these.

use chrono::{DateTime, NaiveDate, Utc};
use kehu_domain::DomainError;
use kehu_domain::policy::OwnerFilter;
use kehu_store::StoreResult;
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};
use kehu_store::write::{self, Record, Table};
use sea_query::{Expr, ExprTrait, SelectStatement};
use serde::Serialize;

use crate::domain::PlanItemDraft;
use crate::schema::PlanItems;
use crate::store;

/// A plan item (开发计划项) as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PlanItem {
    pub id: i64,
    pub opportunity_id: i64,
    pub date: NaiveDate,
    pub todo: String,
    pub result: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl PlanItem {
    /// Not carried out and its day is before `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.result.is_none() && self.date < today
    }
}

/// The plan items of the opportunities in `scope`: joined onto their opportunity's scoped
/// select, so an item is reached only through an opportunity the caller may see.
fn select_items(scope: OwnerFilter) -> SelectStatement {
    let mut q = store::in_scope(scope);
    q.columns(
        [
            PlanItems::Id,
            PlanItems::OpportunityId,
            PlanItems::Date,
            PlanItems::Todo,
            PlanItems::Result,
            PlanItems::CreatedAt,
            PlanItems::UpdatedAt,
            PlanItems::Version,
        ]
        .map(|c| (PlanItems::Table, c)),
    )
    .inner_join(
        PlanItems::Table,
        Expr::col((PlanItems::Table, PlanItems::OpportunityId)).eq(store::id_column()),
    );
    q
}

impl Record for PlanItem {
    type Col = PlanItems;
    const TABLE: Table<PlanItems> = Table {
        table: PlanItems::Table,
        id: PlanItems::Id,
        version: PlanItems::Version,
        created_at: PlanItems::CreatedAt,
        created_by: PlanItems::CreatedBy,
        updated_at: PlanItems::UpdatedAt,
        updated_by: PlanItems::UpdatedBy,
        entity: "plan_item",
        unique: "todo",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        let mut q = select_items(OwnerFilter::system());
        q.and_where(Expr::col((PlanItems::Table, PlanItems::Id)).eq(id));
        tx.fetch_found(&q).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "opportunity_id": self.opportunity_id, "date": self.date.to_string(),
            "todo": self.todo, "result": self.result,
        })
    }
}

/// Adds a plan item to opportunity `id`.
pub(crate) async fn insert(
    tx: &mut Tx,
    id: i64,
    d: &PlanItemDraft,
    actor: &Actor,
) -> StoreResult<PlanItem> {
    let values = vec![
        (PlanItems::OpportunityId, Expr::val(id)),
        (PlanItems::Date, Expr::val(d.date)),
        (PlanItems::Todo, Expr::val(d.todo.as_str())),
    ];
    write::create::<PlanItem>(tx, values, actor, async |_, _| Ok(())).await
}

/// The plan of opportunity `id`, by date, if the opportunity is in `scope`.
pub(crate) async fn of(db: &Db, scope: OwnerFilter, id: i64) -> StoreResult<Vec<PlanItem>> {
    let mut q = select_items(scope);
    q.and_where(Expr::col((PlanItems::Table, PlanItems::OpportunityId)).eq(id))
        .order_by((PlanItems::Table, PlanItems::Date), sea_query::Order::Asc)
        .order_by((PlanItems::Table, PlanItems::Id), sea_query::Order::Asc);
    Ok(db.fetch_all(&q).await?)
}

/// Writes `result` on plan item `item_id` of opportunity `id` if it still has `version`.
pub(crate) async fn set_result(
    tx: &mut Tx,
    id: i64,
    item_id: i64,
    result: &str,
    version: i32,
    actor: &Actor,
) -> StoreResult<PlanItem> {
    let before = PlanItem::load(tx, item_id).await?;
    if before.opportunity_id != id {
        return Err(DomainError::NotFound.into());
    }
    let values = vec![(PlanItems::Result, Expr::val(result))];
    write::update(tx, &before, version, values, actor, async |_| Ok(())).await
}

/// A plan item to carry out, with its opportunity's title.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueItem {
    pub id: i64,
    pub opportunity_id: i64,
    pub opportunity_title: String,
    pub date: NaiveDate,
    pub todo: String,
}

impl DueItem {
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.date < today
    }
}

/// The items without a result dated on or before `today` of the opportunities in `mine` (a
/// user's own records) being developed, oldest first (`n` of them), and how many there are.
pub(crate) async fn due(
    db: &Db,
    mine: OwnerFilter,
    today: NaiveDate,
    n: u64,
) -> StoreResult<(Vec<DueItem>, u64)> {
    let col = |c: PlanItems| (PlanItems::Table, c);
    let mut q = store::developing_in_scope(mine);
    q.inner_join(
        PlanItems::Table,
        Expr::col(col(PlanItems::OpportunityId)).eq(store::id_column()),
    )
    .and_where(Expr::col(col(PlanItems::Result)).is_null())
    .and_where(Expr::col(col(PlanItems::Date)).lte(today));
    let mut count = q.clone();
    // Only the count: the opportunity's title selected above would be read as the number.
    count
        .clear_selects()
        .expr(Expr::col(col(PlanItems::Id)).count());
    q.columns(
        [
            PlanItems::Id,
            PlanItems::OpportunityId,
            PlanItems::Date,
            PlanItems::Todo,
        ]
        .map(col),
    )
    .order_by(col(PlanItems::Date), sea_query::Order::Asc)
    .order_by(col(PlanItems::Id), sea_query::Order::Asc)
    .limit(n);
    let items = db.fetch_all(&q).await?;
    let (total,): (i64,) = db.fetch_one(&count).await?;
    Ok((items, u64::try_from(total).unwrap_or(0)))
}

/// Writes `items` (their `id` aside; each beside the user who wrote it) in multi-row inserts,
/// their opportunities' own, and records their creation in the audit log as `actor`'s: a bulk
/// load's plans (`kehu demo`).
pub(crate) async fn insert_many(
    tx: &mut Tx,
    items: &[(PlanItem, i64)],
    actor: &Actor,
) -> StoreResult<()> {
    use PlanItems as P;
    let columns = [
        P::OpportunityId,
        P::Date,
        P::Todo,
        P::Result,
        P::CreatedAt,
        P::CreatedBy,
        P::UpdatedAt,
        P::UpdatedBy,
        P::Version,
    ];
    let values = items
        .iter()
        .map(|(item, by)| {
            vec![
                Expr::val(item.opportunity_id),
                Expr::val(item.date),
                Expr::val(item.todo.as_str()),
                Expr::val(item.result.clone()),
                Expr::val(item.created_at),
                Expr::val(*by),
                Expr::val(item.updated_at),
                Expr::val(*by),
                Expr::val(item.version),
            ]
        })
        .collect();
    let ids = kehu_store::write::insert_many(tx, P::Table, P::Id, &columns, values).await?;
    let audited: Vec<(i64, serde_json::Value)> = items
        .iter()
        .zip(ids)
        .map(|((item, _), id)| (id, item.snapshot()))
        .collect();
    kehu_store::audit::record_created(tx, actor, "plan_item", &audited).await
}
