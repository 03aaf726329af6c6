//! The order store: customers' orders (订单) and their lines (订单明细). An order is owned
//! through its customer: every statement on the orders table comes from the one scoped builder
//! [`orders`], whose owner condition is "the customer is in the caller's scope" (the customer
//! module's scoped statement of ids), so an account manager reaches only their customers'
//! orders and anything else is `NotFound`. Lines are reached only through their order (joined
//! on that builder's select). Placing or cancelling an order sets the customer's
//! `last_order_at` (the latest date of its orders that are not cancelled) in the same
//! transaction, and every change (placed, cancelled, lines merged) moves the running figures
//! per customer and per product (`figures.rs`, `product_figures.rs`). Each line keeps its
//! product's cost when it was priced. Writes go through the write kit (version checked,
//! audited).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use kehu_customers::store::CustomerStore;
use kehu_domain::DomainError;
use kehu_domain::money::{Money, Quantity};
use kehu_domain::policy::OwnerFilter;
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use kehu_store::scope::{OwnedVia, Scoped};
use kehu_store::write::{self, DayCounter, DependentsCount, Reaction, Record, Table};
use kehu_store::{LastChange, StoreResult};
use sea_query::{Alias, Expr, ExprTrait, JoinType, Order as SqlOrder, Query};
use sea_query::{SelectStatement, SimpleExpr};
use serde::Serialize;

use crate::domain::{NewOrder, OrderStatus, line_field, order_number};
use crate::products::product_in;
use crate::schema::{OrderLines, OrderNumbers, Orders};

/// The one builder of every statement on `orders` except the insert: the scope's condition
/// (the order's customer is one of the scope's) is already in it.
fn orders(scope: OwnerFilter) -> Scoped<Orders> {
    Scoped::new(
        OwnedVia {
            table: Orders::Table,
            parent_id: Orders::CustomerId,
            parents: kehu_customers::store::ids_in_scope,
        },
        scope,
    )
}

/// The alias of the customers' labels joined onto an order.
fn cu() -> Alias {
    Alias::new("cu")
}

/// Orders in `scope` with their customer's code and name; read in a sort index's order, each
/// order probing its customer's scope (see `Scoped::select_walking`).
fn select_orders(scope: OwnerFilter) -> SelectStatement {
    let mut q = orders(scope).select_walking();
    for c in [
        Orders::Id,
        Orders::Number,
        Orders::CustomerId,
        Orders::OrderDate,
        Orders::DeliveryAddress,
        Orders::Status,
        Orders::Total,
        Orders::Memo,
        Orders::CreatedAt,
        Orders::UpdatedAt,
        Orders::Version,
    ] {
        q.column((Orders::Table, c));
    }
    q.expr_as(
        Expr::col((cu(), Alias::new("code"))),
        Alias::new("customer_code"),
    )
    .expr_as(
        Expr::col((cu(), Alias::new("name"))),
        Alias::new("customer_name"),
    )
    .join_subquery(
        JoinType::InnerJoin,
        kehu_customers::store::labels(),
        cu(),
        Expr::col((cu(), Alias::new("id"))).equals((Orders::Table, Orders::CustomerId)),
    );
    q
}

fn by_id(mut q: SelectStatement, id: i64) -> SelectStatement {
    q.and_where(Expr::col((Orders::Table, Orders::Id)).eq(id));
    q
}

/// An order (订单) with its customer's code and name and (when read one by one) its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Order {
    pub id: i64,
    /// 订单编号, `DD20261123000042`.
    pub number: String,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub order_date: NaiveDate,
    pub delivery_address: Option<String>,
    /// `placed`, `delivered` or `cancelled` ([`OrderStatus`]).
    pub status: String,
    /// Fen: the sum of the line totals.
    pub total: i64,
    pub memo: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// Empty in lists; see [`OrderStore::lines_of`].
    #[sqlx(skip)]
    pub lines: Vec<OrderLine>,
}

impl Order {
    pub fn total(&self) -> Money {
        Money::from_fen(self.total)
    }

    pub fn status(&self) -> OrderStatus {
        OrderStatus::from_code(&self.status).unwrap_or(OrderStatus::Placed)
    }
}

/// One line of an order (订单明细): the product as it was when the order was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OrderLine {
    pub order_id: i64,
    pub position: i32,
    pub product_id: i64,
    pub product_name: String,
    pub model: String,
    pub unit: String,
    /// Thousandths.
    pub quantity: i64,
    /// Fen per unit.
    pub price: i64,
    /// Fen.
    pub total: i64,
    /// Fen: the product's cost per unit when the line was priced × the quantity (`None`: the
    /// product had no cost).
    pub cost: Option<i64>,
}

impl OrderLine {
    pub fn quantity(&self) -> Quantity {
        Quantity::from_milli(self.quantity)
    }

    pub fn price(&self) -> Money {
        Money::from_fen(self.price)
    }

    pub fn total(&self) -> Money {
        Money::from_fen(self.total)
    }
}

/// The columns of a line, as stored and read.
const LINE_COLUMNS: [OrderLines; 10] = [
    OrderLines::OrderId,
    OrderLines::Position,
    OrderLines::ProductId,
    OrderLines::ProductName,
    OrderLines::Model,
    OrderLines::Unit,
    OrderLines::Quantity,
    OrderLines::Price,
    OrderLines::Total,
    OrderLines::Cost,
];

/// The lines of the orders `ids` in `scope`, by order and position.
fn select_lines(scope: OwnerFilter, ids: &[i64]) -> SelectStatement {
    let mut q = orders(scope).select();
    for c in LINE_COLUMNS {
        q.column((OrderLines::Table, c));
    }
    q.inner_join(
        OrderLines::Table,
        Expr::col((OrderLines::Table, OrderLines::OrderId)).equals((Orders::Table, Orders::Id)),
    )
    .and_where(Expr::col((Orders::Table, Orders::Id)).is_in(ids.iter().copied()))
    .order_by((OrderLines::Table, OrderLines::OrderId), SqlOrder::Desc)
    .order_by((OrderLines::Table, OrderLines::Position), SqlOrder::Asc);
    q
}

impl Record for Order {
    type Col = Orders;
    const TABLE: Table<Orders> = Table {
        table: Orders::Table,
        id: Orders::Id,
        version: Orders::Version,
        created_at: Orders::CreatedAt,
        created_by: Orders::CreatedBy,
        updated_at: Orders::UpdatedAt,
        updated_by: Orders::UpdatedBy,
        entity: "order",
        unique: "number",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        let mut o: Order = write::load_by_id(tx, select_orders(OwnerFilter::system()), id).await?;
        o.lines = tx
            .fetch_all(&select_lines(OwnerFilter::system(), &[id]))
            .await?;
        Ok(o)
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        let lines: Vec<serde_json::Value> = self
            .lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "product_id": l.product_id, "product_name": l.product_name,
                    "quantity": l.quantity().to_string(), "unit": l.unit,
                    "price": l.price().to_string(), "total": l.total().to_string(),
                })
            })
            .collect();
        serde_json::json!({
            "number": self.number, "customer_id": self.customer_id,
            "order_date": self.order_date, "delivery_address": self.delivery_address,
            "status": self.status, "total": self.total().to_string(), "memo": self.memo,
            "lines": lines,
        })
    }
}

/// Filters of the order list, composed in [`OrderFilter::apply`]; each has an index.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub customer_id: Option<i64>,
    pub status: Option<OrderStatus>,
    /// Dated on or after.
    pub date_from: Option<NaiveDate>,
    /// Dated on or before.
    pub date_to: Option<NaiveDate>,
    /// A total of at least.
    pub min_total: Option<Money>,
    /// A total of at most.
    pub max_total: Option<Money>,
    /// The beginning of the order number (`DD2026…`).
    pub number: Option<String>,
}

impl OrderFilter {
    fn apply(&self, q: &mut SelectStatement) {
        let col = |c: Orders| Expr::col((Orders::Table, c));
        if let Some(c) = self.customer_id {
            q.and_where(col(Orders::CustomerId).eq(c));
        }
        if let Some(s) = self.status {
            q.and_where(col(Orders::Status).eq(s.code()));
        }
        if let Some(d) = self.date_from {
            q.and_where(col(Orders::OrderDate).gte(d));
        }
        if let Some(d) = self.date_to {
            q.and_where(col(Orders::OrderDate).lte(d));
        }
        if let Some(m) = self.min_total {
            q.and_where(col(Orders::Total).gte(m.fen()));
        }
        if let Some(m) = self.max_total {
            q.and_where(col(Orders::Total).lte(m.fen()));
        }
        if let Some(n) = self
            .number
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let n: String = n.chars().take(32).collect::<String>().to_uppercase();
            q.and_where(
                col(Orders::Number)
                    .gte(n.as_str())
                    .and(col(Orders::Number).lt(format!("{n}\u{10FFFF}"))),
            );
        }
    }
}

/// The order list's sorts, each with an index on `(column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSort {
    Date,
    Number,
    Total,
}

impl SortKey for OrderSort {
    const ALL: &'static [Self] = &[OrderSort::Date, OrderSort::Number, OrderSort::Total];
    const DEFAULT: Sort<Self> = Sort {
        key: OrderSort::Date,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        match self {
            OrderSort::Date => "date",
            OrderSort::Number => "number",
            OrderSort::Total => "total",
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            OrderSort::Date => KeyKind::Date,
            OrderSort::Number => KeyKind::Text,
            OrderSort::Total => KeyKind::Int,
        }
    }

    fn column(self) -> Expr {
        let col = match self {
            OrderSort::Date => Orders::OrderDate,
            OrderSort::Number => Orders::Number,
            OrderSort::Total => Orders::Total,
        };
        Expr::col((Orders::Table, col))
    }

    fn first_dir(self) -> Dir {
        match self {
            OrderSort::Number => Dir::Asc,
            _ => Dir::Desc,
        }
    }
}

impl Keyed<OrderSort> for Order {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: OrderSort) -> KeyValue {
        match key {
            OrderSort::Date => KeyValue::Date(self.order_date),
            OrderSort::Number => KeyValue::Text(self.number.clone()),
            OrderSort::Total => KeyValue::Int(self.total),
        }
    }
}

/// The next order number of `day`: one statement counts the day's sequence up and returns it
/// (the counter's row stays locked until the transaction ends).
async fn next_number(tx: &mut Tx, day: NaiveDate) -> StoreResult<String> {
    let counter = DayCounter {
        table: OrderNumbers::Table,
        day: OrderNumbers::Day,
        last: OrderNumbers::Last,
    };
    let seq = write::next_of_day(tx, counter, day).await?;
    Ok(order_number(day, seq))
}

/// A line ready to insert.
struct PricedLine {
    product_id: i64,
    name: String,
    model: String,
    unit: String,
    quantity: Quantity,
    price: Money,
    total: Money,
    /// The product's cost per unit × the quantity (`None`: the product has no cost).
    cost: Option<Money>,
}

impl PricedLine {
    fn facts(&self) -> crate::product_figures::LineFacts {
        crate::product_figures::LineFacts {
            product_id: self.product_id,
            quantity: self.quantity.milli(),
            total: self.total.fen(),
            cost: self.cost.map(Money::fen),
        }
    }
}

impl OrderLine {
    fn facts(&self) -> crate::product_figures::LineFacts {
        crate::product_figures::LineFacts {
            product_id: self.product_id,
            quantity: self.quantity,
            total: self.total,
            cost: self.cost,
        }
    }
}

/// The lines of `order` as the product figures count them.
fn facts_of(order: &Order) -> Vec<crate::product_figures::LineFacts> {
    order.lines.iter().map(OrderLine::facts).collect()
}

/// How many orders customer `customer_id` has, whatever their status: while it has any, it
/// cannot be deleted for good (they and its revenue history would go with it).
pub fn orders_of_customer(tx: &mut Tx, customer_id: i64) -> DependentsCount<'_> {
    Box::pin(async move {
        let q = orders(OwnerFilter::system())
            .select()
            .expr(Expr::col((Orders::Table, Orders::Id)).count())
            .and_where(Expr::col((Orders::Table, Orders::CustomerId)).eq(customer_id))
            .to_owned();
        let (n,): (i64,) = tx.fetch_one(&q).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    })
}

/// The orders `q` selects, with their lines (one read of them all).
async fn with_lines(tx: &mut Tx, q: &SelectStatement) -> StoreResult<Vec<Order>> {
    let mut found: Vec<Order> = tx.fetch_all(q).await?;
    if found.is_empty() {
        return Ok(found);
    }
    let ids: Vec<i64> = found.iter().map(|o| o.id).collect();
    let mut lines: HashMap<i64, Vec<OrderLine>> = HashMap::new();
    for l in tx
        .fetch_all::<OrderLine>(&select_lines(OwnerFilter::system(), &ids))
        .await?
    {
        lines.entry(l.order_id).or_default().push(l);
    }
    for o in &mut found {
        o.lines = lines.remove(&o.id).unwrap_or_default();
    }
    Ok(found)
}

/// A move of an order's status (`OrderStatus::deliver`, `OrderStatus::cancel`).
pub(crate) type Step = fn(OrderStatus) -> Result<OrderStatus, DomainError>;

#[derive(Clone, Debug)]
pub struct OrderStore {
    db: Db,
    customers: CustomerStore,
    /// The configured time zone's offset: the day of a new number, "today" for dates, and the
    /// instant a customer's `last_order_at` names (the order's day at midnight there).
    utc_offset: FixedOffset,
    /// What other modules do when a customer orders (`write::CUSTOMER_ORDERED`: the loss
    /// module's win-back), in the order's transaction.
    reactions: Arc<[Reaction]>,
}

impl OrderStore {
    pub fn new(db: Db, utc_offset: FixedOffset) -> Self {
        Self {
            customers: CustomerStore::new(db.clone(), utc_offset),
            db,
            utc_offset,
            reactions: Arc::new([]),
        }
    }

    /// The store telling `reactions` of every new order (`AppState::reactions_to`).
    pub fn with_reactions(mut self, reactions: Arc<[Reaction]>) -> Self {
        self.reactions = reactions;
        self
    }

    /// The configured time zone's offset from UTC.
    pub fn utc_offset(&self) -> FixedOffset {
        self.utc_offset
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Today in the configured time zone (an order's date may not lie after it).
    pub fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.utc_offset).date_naive()
    }

    /// One page of the orders in `scope`.
    pub async fn list(
        &self,
        scope: OwnerFilter,
        f: &OrderFilter,
        req: impl Into<ListRequest<OrderSort>>,
    ) -> StoreResult<Listing<Order>> {
        let mut q = select_orders(scope);
        f.apply(&mut q);
        let mut count = orders(scope).select().expr(Expr::cust("1")).to_owned();
        f.apply(&mut count);
        let id = Expr::col((Orders::Table, Orders::Id));
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// One page of the orders of customer `customer_id`, which must be in `scope` (and not in
    /// the trash): `NotFound` otherwise.
    pub async fn of_customer(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
        req: impl Into<ListRequest<OrderSort>>,
    ) -> StoreResult<Listing<Order>> {
        self.customers.get(scope, customer_id).await?;
        self.of_found_customer(scope, customer_id, req).await
    }

    /// [`Self::of_customer`] for a customer the caller has just found in `scope` (the
    /// customer page's panel): the same list, without reading the customer again.
    pub async fn of_found_customer(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
        req: impl Into<ListRequest<OrderSort>>,
    ) -> StoreResult<Listing<Order>> {
        let f = OrderFilter {
            customer_id: Some(customer_id),
            ..OrderFilter::default()
        };
        self.list(scope, &f, req).await
    }

    /// The lines of orders `ids` that are in `scope`.
    pub async fn lines_of(&self, scope: OwnerFilter, ids: &[i64]) -> StoreResult<Vec<OrderLine>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.db.fetch_all(&select_lines(scope, ids)).await?)
    }

    /// Order `id` with its lines if it is in `scope`; otherwise `NotFound`.
    pub async fn get(&self, scope: OwnerFilter, id: i64) -> StoreResult<Order> {
        let mut o: Order = self
            .db
            .fetch_found(&by_id(select_orders(scope), id))
            .await?;
        o.lines = self.lines_of(scope, &[id]).await?;
        Ok(o)
    }

    /// Who saved order `id` last, and when.
    pub async fn last_change(&self, id: i64) -> StoreResult<LastChange> {
        write::last_change::<Order>(&self.db, id).await
    }

    /// Places an order for a customer in `scope` (`NotFound` otherwise): the next number of
    /// today, status `placed`, each line's product as it is now (an unknown product is a field
    /// error on its line) at the line's price or else the product's, the totals exact. The
    /// customer's `last_order_at` follows in the same transaction.
    pub async fn create(
        &self,
        scope: OwnerFilter,
        d: &NewOrder,
        actor: &Actor,
    ) -> StoreResult<Order> {
        self.customers.get(scope, d.customer_id).await?;
        self.db
            .write(async |tx| self.create_in(tx, d, None, actor).await)
            .await
    }

    /// [`OrderStore::create`] in `tx`, for a customer the caller has found in its scope:
    /// numbered `number` (an import keeps the number an order had in its old system) or the
    /// next number of today.
    pub async fn create_in(
        &self,
        tx: &mut Tx,
        d: &NewOrder,
        number: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<Order> {
        let today = self.today();
        if d.date > today {
            return Err(DomainError::field("date", "err-order-date-future").into());
        }
        let lines = price_lines(tx, d).await?;
        let total = total_of(&lines)?;
        let number = match number {
            Some(n) => n.to_owned(),
            None => next_number(tx, today).await?,
        };
        let values: Vec<(Orders, SimpleExpr)> = vec![
            (Orders::Number, Expr::val(number)),
            (Orders::CustomerId, Expr::val(d.customer_id)),
            (Orders::OrderDate, Expr::val(d.date)),
            (
                Orders::DeliveryAddress,
                Expr::val(d.delivery_address.clone()),
            ),
            (Orders::Status, Expr::val(OrderStatus::Placed.code())),
            (Orders::Total, Expr::val(total.fen())),
            (Orders::Memo, Expr::val(d.memo.clone())),
        ];
        let order = write::create::<Order>(tx, values, actor, async |tx, id| {
            insert_lines(tx, id, &lines).await?;
            // The order's changes show in the customer's history.
            kehu_customers::history::link(tx, d.customer_id, "order", id).await
        })
        .await?;
        crate::figures::add(tx, d.customer_id, d.date, 1, total.fen()).await?;
        let placed: Vec<_> = lines.iter().map(PricedLine::facts).collect();
        crate::product_figures::moved(tx, d.date, &[], &placed).await?;
        self.keep_last_order(tx, d.customer_id, actor).await?;
        let ordered = write::Event {
            record_id: d.customer_id,
            cause_id: Some(order.id),
            on: self.midnight(d.date).unwrap_or_else(Utc::now),
        };
        write::react(
            tx,
            &self.reactions,
            write::CUSTOMER_ORDERED,
            &ordered,
            actor,
        )
        .await?;
        Ok(order)
    }

    /// Midnight of day `d` in the configured time zone.
    fn midnight(&self, d: NaiveDate) -> Option<DateTime<Utc>> {
        self.utc_offset
            .from_local_datetime(&d.and_time(NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Puts `d`'s lines on placed order `before` (read in `tx`): a line for a product the order
    /// has takes the new quantity and price, a line for another product is added; the total
    /// follows. Audited as a change of the order. A delivered or cancelled order is
    /// `err-order-not-placed`.
    pub async fn merge_lines_in(
        &self,
        tx: &mut Tx,
        before: &Order,
        d: &NewOrder,
        actor: &Actor,
    ) -> StoreResult<Order> {
        if before.status() != OrderStatus::Placed {
            return Err(DomainError::NotAllowed("err-order-not-placed").into());
        }
        let mut lines: Vec<PricedLine> = before
            .lines
            .iter()
            .map(|l| PricedLine {
                product_id: l.product_id,
                name: l.product_name.clone(),
                model: l.model.clone(),
                unit: l.unit.clone(),
                quantity: l.quantity(),
                price: l.price(),
                total: l.total(),
                cost: l.cost.map(Money::from_fen),
            })
            .collect();
        for new in price_lines(tx, d).await? {
            match lines.iter_mut().find(|l| l.product_id == new.product_id) {
                Some(l) => *l = new,
                None => lines.push(new),
            }
        }
        if lines.len() > crate::domain::LINES_MAX {
            return Err(DomainError::field("lines", "err-order-lines-too-many").into());
        }
        let total = total_of(&lines)?;
        let values = vec![(Orders::Total, Expr::val(total.fen()))];
        let id = before.id;
        let after = write::update(tx, before, before.version, values, actor, async |tx| {
            crate::lines::delete_all(tx, id).await?;
            insert_lines(tx, id, &lines).await
        })
        .await?;
        let more = after.total - before.total;
        crate::figures::add(tx, after.customer_id, after.order_date, 0, more).await?;
        let (was, is) = (facts_of(before), facts_of(&after));
        crate::product_figures::moved(tx, after.order_date, &was, &is).await?;
        Ok(after)
    }

    /// The orders numbered `numbers` (whoever's customer they are: a number is unique), with
    /// their lines, read in `tx`.
    pub async fn by_numbers_in(tx: &mut Tx, numbers: &[String]) -> StoreResult<Vec<Order>> {
        let mut found = Vec::new();
        for chunk in numbers.chunks(500) {
            let q = select_orders(OwnerFilter::system())
                .and_where(Expr::col((Orders::Table, Orders::Number)).is_in(chunk.iter().cloned()))
                .to_owned();
            found.extend(with_lines(tx, &q).await?);
        }
        Ok(found)
    }

    /// The orders of `customers` dated one of `dates`, with their lines: those a file's order
    /// without a number may repeat.
    pub async fn on_days_in(
        tx: &mut Tx,
        customers: &[i64],
        dates: &[NaiveDate],
    ) -> StoreResult<Vec<Order>> {
        let mut found = Vec::new();
        if dates.is_empty() {
            return Ok(found);
        }
        for chunk in customers.chunks(500) {
            let q = select_orders(OwnerFilter::system())
                .and_where(
                    Expr::col((Orders::Table, Orders::CustomerId)).is_in(chunk.iter().copied()),
                )
                .and_where(
                    Expr::col((Orders::Table, Orders::OrderDate)).is_in(dates.iter().copied()),
                )
                .to_owned();
            found.extend(with_lines(tx, &q).await?);
        }
        Ok(found)
    }

    /// Cancels order `id` (in `scope`, placed) if it still has `version`; the customer's
    /// `last_order_at` follows.
    pub async fn cancel(
        &self,
        scope: OwnerFilter,
        id: i64,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Order> {
        self.db
            .write(async |tx| {
                self.transition_in(tx, scope, id, version, actor, OrderStatus::cancel)
                    .await
            })
            .await
    }

    /// Marks order `id` (in `scope`, placed) delivered if it still has `version`.
    pub async fn deliver(
        &self,
        scope: OwnerFilter,
        id: i64,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Order> {
        self.db
            .write(async |tx| {
                self.transition_in(tx, scope, id, version, actor, OrderStatus::deliver)
                    .await
            })
            .await
    }

    /// Moves order `id` (in `scope`) on by `step` (`OrderStatus::deliver`, `…::cancel`) in
    /// `tx`, if it still has `version`: audited, the customer's last order kept right.
    pub(crate) async fn transition_in(
        &self,
        tx: &mut Tx,
        scope: OwnerFilter,
        id: i64,
        version: i32,
        actor: &Actor,
        step: Step,
    ) -> StoreResult<Order> {
        let found: Order = tx.fetch_found(&by_id(select_orders(scope), id)).await?;
        let before = Order::load(tx, found.id).await?;
        if before.version != version {
            return Err(DomainError::StaleVersion.into());
        }
        let next = step(before.status())?;
        let values = vec![(Orders::Status, Expr::val(next.code()))];
        let after = write::update(tx, &before, version, values, actor, async |_| Ok(())).await?;
        if before.status().counts() && !after.status().counts() {
            let (customer, day) = (after.customer_id, after.order_date);
            crate::figures::add(tx, customer, day, -1, -after.total).await?;
            crate::product_figures::moved(tx, day, &facts_of(&after), &[]).await?;
        }
        self.keep_last_order(tx, after.customer_id, actor).await?;
        Ok(after)
    }

    /// Sets customer `customer_id`'s `last_order_at` to the latest date of its orders that
    /// are not cancelled (none: no last order), as midnight of that day in the time zone.
    async fn keep_last_order(
        &self,
        tx: &mut Tx,
        customer_id: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        let q = orders(OwnerFilter::system())
            .select()
            .column((Orders::Table, Orders::OrderDate))
            .and_where(Expr::col((Orders::Table, Orders::CustomerId)).eq(customer_id))
            .and_where(Expr::col((Orders::Table, Orders::Status)).ne(OrderStatus::Cancelled.code()))
            .order_by((Orders::Table, Orders::OrderDate), SqlOrder::Desc)
            .limit(1)
            .to_owned();
        let latest: Option<(NaiveDate,)> = tx.fetch_optional(&q).await?;
        let at = latest.and_then(|(d,)| self.midnight(d));
        kehu_customers::store::set_last_order_at(tx, customer_id, at, actor).await
    }
}

/// The orders in `scope` that count (not cancelled) dated `from` to `to` (either open),
/// summed by customer: `customer_id`, `orders`, `amount` — the contribution report of days
/// that are no kept period ([`crate::contribution`]).
pub(crate) fn counted_by_customer(
    scope: OwnerFilter,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> SelectStatement {
    let col = |c: Orders| Expr::col((Orders::Table, c));
    let mut q = orders(scope).select();
    q.expr_as(col(Orders::CustomerId), Alias::new("customer_id"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("orders"))
        // SUM of BIGINT is NUMERIC on PostgreSQL.
        .expr_as(
            col(Orders::Total).sum().cast_as("BIGINT"),
            Alias::new("amount"),
        )
        .and_where(col(Orders::Status).ne(OrderStatus::Cancelled.code()))
        .group_by_col((Orders::Table, Orders::CustomerId));
    if let Some(from) = from {
        q.and_where(col(Orders::OrderDate).gte(from));
    }
    if let Some(to) = to {
        q.and_where(col(Orders::OrderDate).lte(to));
    }
    q
}

/// The lines of the orders in `scope` that count (not cancelled) dated `from` to `to` (either
/// open), summed by product: `product_id`, `orders` (with the product), `quantity`,
/// `revenue`, `cost`, `costed` (the revenue of the lines with a cost) — the product figures
/// of an account manager, or of days that are no kept period
/// ([`crate::product_figures::sales`]). The orders are found by the scope's customers and
/// the days (an index of either), their lines by order.
pub(crate) fn lines_by_product(
    scope: OwnerFilter,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> SelectStatement {
    let col = |c: Orders| Expr::col((Orders::Table, c));
    let line = |c: OrderLines| Expr::col((OrderLines::Table, c));
    // SUM of BIGINT is NUMERIC on PostgreSQL.
    let sum = |e: Expr| e.sum().cast_as("BIGINT");
    let costed: Expr = Expr::case(line(OrderLines::Cost).is_null(), 0_i64)
        .finally(line(OrderLines::Total))
        .into();
    let mut q = orders(scope).select();
    q.inner_join(
        OrderLines::Table,
        line(OrderLines::OrderId).equals((Orders::Table, Orders::Id)),
    )
    .expr_as(line(OrderLines::ProductId), Alias::new("product_id"))
    .expr_as(
        line(OrderLines::OrderId).count_distinct(),
        Alias::new("orders"),
    )
    .expr_as(sum(line(OrderLines::Quantity)), Alias::new("quantity"))
    .expr_as(sum(line(OrderLines::Total)), Alias::new("revenue"))
    .expr_as(
        sum(Expr::from(sea_query::Func::coalesce([
            line(OrderLines::Cost),
            Expr::val(0_i64),
        ]))),
        Alias::new("cost"),
    )
    .expr_as(sum(costed), Alias::new("costed"))
    .and_where(col(Orders::Status).ne(OrderStatus::Cancelled.code()))
    .group_by_col((OrderLines::Table, OrderLines::ProductId));
    if let Some(from) = from {
        q.and_where(col(Orders::OrderDate).gte(from));
    }
    if let Some(to) = to {
        q.and_where(col(Orders::OrderDate).lte(to));
    }
    q
}

/// The first day of an order in `scope` (whatever its status; none without orders): where an
/// open period begins for a rate per day. The minimum of the date's index.
pub async fn first_order_day(db: &Db, scope: OwnerFilter) -> StoreResult<Option<NaiveDate>> {
    let q = orders(scope)
        .select()
        .expr(Expr::col((Orders::Table, Orders::OrderDate)).min())
        .to_owned();
    let (day,): (Option<NaiveDate>,) = db.fetch_one(&q).await?;
    Ok(day)
}

/// The open orders (placed, not yet delivered) in `scope` of the customers `credits` selects
/// (`id`, `credit`: [`kehu_customers::store::credits`]), by the customer's credit: `credit`,
/// `orders`, `amount` — the credit overview's open amounts, read by the status's index.
pub(crate) fn open_by_credit(scope: OwnerFilter, credits: SelectStatement) -> SelectStatement {
    let cr = Alias::new("cr");
    let credit = Expr::col((cr.clone(), Alias::new("credit")));
    let mut q = orders(scope).select();
    q.expr_as(credit.clone().cast_as("TEXT"), Alias::new("credit"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("orders"))
        .expr_as(
            Expr::col((Orders::Table, Orders::Total))
                .sum()
                .cast_as("BIGINT"),
            Alias::new("amount"),
        )
        .join_subquery(
            JoinType::InnerJoin,
            credits,
            cr.clone(),
            Expr::col((cr, Alias::new("id"))).equals((Orders::Table, Orders::CustomerId)),
        )
        .and_where(Expr::col((Orders::Table, Orders::Status)).eq(OrderStatus::Placed.code()))
        .add_group_by([credit]);
    q
}

/// The orders that count (not cancelled) with an id above `after`, at most `limit`, in id
/// order, every customer's: `id`, `customer_id`, `order_date`, `total` — what the
/// customer-value analysis reads (kehu-reports), a batch at a time along the primary key.
pub fn counted_after(after: i64, limit: u64) -> SelectStatement {
    let col = |c: Orders| Expr::col((Orders::Table, c));
    orders(OwnerFilter::system())
        .select()
        .columns([
            (Orders::Table, Orders::Id),
            (Orders::Table, Orders::CustomerId),
            (Orders::Table, Orders::OrderDate),
            (Orders::Table, Orders::Total),
        ])
        .and_where(col(Orders::Id).gt(after))
        .and_where(col(Orders::Status).ne(OrderStatus::Cancelled.code()))
        .order_by((Orders::Table, Orders::Id), SqlOrder::Asc)
        .limit(limit)
        .to_owned()
}

/// `d`'s lines with each product as it is now (an unknown product is a field error on its
/// line), at the line's price or else the product's, the totals exact.
async fn price_lines(tx: &mut Tx, d: &NewOrder) -> StoreResult<Vec<PricedLine>> {
    let mut lines = Vec::with_capacity(d.lines.len());
    for (i, l) in d.lines.iter().enumerate() {
        let p = product_in(tx, l.product_id, &line_field(i, "product_id")).await?;
        let price = l.price.unwrap_or(p.price());
        let too_much = || DomainError::field(&line_field(i, "quantity"), "err-money");
        let total = price.times(l.quantity).ok_or_else(too_much)?;
        let cost = match p.cost() {
            Some(c) => Some(c.times(l.quantity).ok_or_else(too_much)?),
            None => None,
        };
        lines.push(PricedLine {
            product_id: p.id,
            name: p.name,
            model: p.model,
            unit: p.unit,
            quantity: l.quantity,
            price,
            total,
            cost,
        });
    }
    Ok(lines)
}

/// The order's total: the sum of its lines, or `err-money` when it does not fit.
fn total_of(lines: &[PricedLine]) -> StoreResult<Money> {
    lines
        .iter()
        .enumerate()
        .try_fold(Money::default(), |sum, (i, l)| {
            sum.checked_add(l.total)
                .ok_or_else(|| DomainError::field(&line_field(i, "quantity"), "err-money").into())
        })
}

async fn insert_lines(tx: &mut Tx, order_id: i64, lines: &[PricedLine]) -> StoreResult<()> {
    let mut q = Query::insert()
        .into_table(OrderLines::Table)
        .columns(LINE_COLUMNS)
        .to_owned();
    for (i, l) in lines.iter().enumerate() {
        let position = i32::try_from(i).unwrap_or(i32::MAX);
        q.values_panic([
            order_id.into(),
            position.into(),
            l.product_id.into(),
            l.name.as_str().into(),
            l.model.as_str().into(),
            l.unit.as_str().into(),
            l.quantity.milli().into(),
            l.price.fen().into(),
            l.total.fen().into(),
            l.cost.map(Money::fen).into(),
        ]);
    }
    tx.execute(&q).await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use kehu_store::statement::Explain;

    use super::*;

    fn manager(user_id: i64) -> OwnerFilter {
        kehu_domain::Principal {
            user_id,
            username: "li".into(),
            display_name: "李".into(),
            role_id: 3,
            role_name: "r".into(),
            rights: Default::default(),
            scope: kehu_domain::DataScope::Own,
            must_change_password: false,
            language: None,
        }
        .owner_filter()
    }

    /// Every filter of the order list, alone and with each sort, for a supervisor and for an
    /// account manager (scoped through the customers): SQLite reads a range of an index or
    /// walks one in the sort's order, never the whole orders table.
    #[tokio::test]
    async fn every_filter_and_sort_of_the_order_list_reads_an_index_not_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let mut all = kehu_customers::migrations::MIGRATIONS.to_vec();
        all.extend_from_slice(crate::migrations::MIGRATIONS);
        kehu_store::migrations::migrate_with(&db, &all)
            .await
            .unwrap();
        let none = OrderFilter::default;
        let day = NaiveDate::from_ymd_opt(2026, 1, 1);
        let filters = [
            ("none", none()),
            (
                "customer",
                OrderFilter {
                    customer_id: Some(7),
                    ..none()
                },
            ),
            (
                "status",
                OrderFilter {
                    status: Some(OrderStatus::Placed),
                    ..none()
                },
            ),
            (
                "date",
                OrderFilter {
                    date_from: day,
                    date_to: day,
                    ..none()
                },
            ),
            (
                "amount",
                OrderFilter {
                    min_total: Some(Money::from_fen(100)),
                    ..none()
                },
            ),
            (
                "number",
                OrderFilter {
                    number: Some("DD2026".into()),
                    ..none()
                },
            ),
        ];
        // The check itself: a condition on a column without an index is a scan.
        let mut unindexed = select_orders(OwnerFilter::system());
        unindexed.and_where(Expr::col((Orders::Table, Orders::Memo)).eq("x"));
        let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&unindexed)).await.unwrap();
        assert!(plan.iter().any(|(.., d)| d == "SCAN orders"), "{plan:?}");
        let mut scans = Vec::new();
        for scope in [OwnerFilter::system(), manager(7)] {
            for (name, f) in &filters {
                for sort in OrderSort::ALL {
                    let mut q = select_orders(scope);
                    f.apply(&mut q);
                    q.order_by_expr(sort.column(), SqlOrder::Desc).limit(51);
                    let plan: Vec<(i64, i64, i64, String)> =
                        db.fetch_all(&Explain(&q)).await.unwrap();
                    if plan.iter().any(|(.., d)| d == "SCAN orders") {
                        scans.push(format!("{scope:?} {name} by {}: {plan:?}", sort.code()));
                    }
                }
            }
        }
        assert!(scans.is_empty(), "table scans: {scans:#?}");
        db.close().await;
    }
}
