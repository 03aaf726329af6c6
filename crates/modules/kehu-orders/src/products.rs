//! The product store: products (产品) and their stock (库存) by warehouse and location. Not
//! owned records: whoever holds `product.read` sees all of them. Writes go through the write
//! kit (version checked, audited). A product on an order is never deleted (the order keeps
//! pointing at it): deleting one is refused with `err-product-in-use`; its stock rows go with
//! a product that may be deleted.

use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::money::{Money, Quantity};
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use kehu_store::write::{self, Record, Table};
use kehu_store::{LastChange, StoreResult};
use sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use serde::Serialize;

use crate::domain::{NewProduct, NewStock};
use crate::schema::{OrderLines, Products, Stock};

/// The longest name or model prefix a filter uses; the rest is ignored.
pub const MAX_SEARCH: usize = 64;

/// A product (产品) as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub model: String,
    pub grade: Option<String>,
    pub unit: String,
    /// Fen.
    pub price: i64,
    /// Fen.
    pub cost: Option<i64>,
    pub memo: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl Product {
    pub fn price(&self) -> Money {
        Money::from_fen(self.price)
    }

    pub fn cost(&self) -> Option<Money> {
        self.cost.map(Money::from_fen)
    }
}

fn select_products() -> SelectStatement {
    Query::select()
        .columns([
            (Products::Table, Products::Id),
            (Products::Table, Products::Name),
            (Products::Table, Products::Model),
            (Products::Table, Products::Grade),
            (Products::Table, Products::Unit),
            (Products::Table, Products::Price),
            (Products::Table, Products::Cost),
            (Products::Table, Products::Memo),
            (Products::Table, Products::CreatedAt),
            (Products::Table, Products::UpdatedAt),
            (Products::Table, Products::Version),
        ])
        .from(Products::Table)
        .to_owned()
}

impl Record for Product {
    type Col = Products;
    const TABLE: Table<Products> = Table {
        table: Products::Table,
        id: Products::Id,
        version: Products::Version,
        created_at: Products::CreatedAt,
        created_by: Products::CreatedBy,
        updated_at: Products::UpdatedAt,
        updated_by: Products::UpdatedBy,
        entity: "product",
        unique: "name",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_products(), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "model": self.model, "grade": self.grade, "unit": self.unit,
            "price": self.price().to_string(), "cost": self.cost().map(|c| c.to_string()),
            "memo": self.memo,
        })
    }
}

fn product_values(d: &NewProduct) -> Vec<(Products, SimpleExpr)> {
    vec![
        (Products::Name, Expr::val(d.name.as_str())),
        (Products::Model, Expr::val(d.model.as_str())),
        (Products::Grade, Expr::val(d.grade.clone())),
        (Products::Unit, Expr::val(d.unit.as_str())),
        (Products::Price, Expr::val(d.price.fen())),
        (Products::Cost, Expr::val(d.cost.map(Money::fen))),
        (Products::Memo, Expr::val(d.memo.clone())),
    ]
}

/// `col` starts with `prefix`: a range on the column's index on both databases.
fn starts_with(col: Expr, prefix: &str) -> Expr {
    let prefix: String = prefix.chars().take(MAX_SEARCH).collect();
    col.clone()
        .gte(prefix.as_str())
        .and(col.lt(format!("{prefix}\u{10FFFF}")))
}

/// The products whose name or model starts with `q` (case as typed; models upper-cased too).
fn name_or_model(q: &str) -> Expr {
    let name = Expr::col((Products::Table, Products::Name));
    let model = Expr::col((Products::Table, Products::Model));
    starts_with(name, q)
        .or(starts_with(model.clone(), q))
        .or(starts_with(model, &q.to_uppercase()))
}

/// Filters of the product list.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// The beginning of the name or of the model.
    pub q: Option<String>,
}

impl ProductFilter {
    fn apply(&self, q: &mut SelectStatement) {
        if let Some(text) = self.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            q.and_where(name_or_model(text));
        }
    }
}

/// The product list's sorts, each with an index on `(column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductSort {
    Name,
    Model,
    Price,
    Updated,
}

impl SortKey for ProductSort {
    const ALL: &'static [Self] = &[
        ProductSort::Name,
        ProductSort::Model,
        ProductSort::Price,
        ProductSort::Updated,
    ];
    const DEFAULT: Sort<Self> = Sort {
        key: ProductSort::Name,
        dir: Dir::Asc,
    };

    fn code(self) -> &'static str {
        match self {
            ProductSort::Name => "name",
            ProductSort::Model => "model",
            ProductSort::Price => "price",
            ProductSort::Updated => "updated_at",
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            ProductSort::Name | ProductSort::Model => KeyKind::Text,
            ProductSort::Price => KeyKind::Int,
            ProductSort::Updated => KeyKind::Time,
        }
    }

    fn column(self) -> Expr {
        let col = match self {
            ProductSort::Name => Products::Name,
            ProductSort::Model => Products::Model,
            ProductSort::Price => Products::Price,
            ProductSort::Updated => Products::UpdatedAt,
        };
        Expr::col((Products::Table, col))
    }

    fn first_dir(self) -> Dir {
        match self {
            ProductSort::Updated => Dir::Desc,
            _ => Dir::Asc,
        }
    }
}

impl Keyed<ProductSort> for Product {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: ProductSort) -> KeyValue {
        match key {
            ProductSort::Name => KeyValue::Text(self.name.clone()),
            ProductSort::Model => KeyValue::Text(self.model.clone()),
            ProductSort::Price => KeyValue::Int(self.price),
            ProductSort::Updated => KeyValue::Time(self.updated_at),
        }
    }
}

/// A stock row (库存) with its product's name, model and unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StockRow {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub model: String,
    pub unit: String,
    pub warehouse: String,
    pub location: String,
    /// Thousandths.
    pub quantity: i64,
    pub memo: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl StockRow {
    pub fn quantity(&self) -> Quantity {
        Quantity::from_milli(self.quantity)
    }
}

/// A product's stock over every warehouse and location ([`ProductStore::stock_by_product`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ProductStock {
    pub product_id: i64,
    pub name: String,
    pub model: String,
    pub unit: String,
    /// Thousandths.
    pub quantity: i64,
}

fn select_stock() -> SelectStatement {
    Query::select()
        .columns([
            (Stock::Table, Stock::Id),
            (Stock::Table, Stock::ProductId),
            (Stock::Table, Stock::Warehouse),
            (Stock::Table, Stock::Location),
            (Stock::Table, Stock::Quantity),
            (Stock::Table, Stock::Memo),
            (Stock::Table, Stock::UpdatedAt),
            (Stock::Table, Stock::Version),
        ])
        .expr_as(
            Expr::col((Products::Table, Products::Name)),
            Alias::new("product_name"),
        )
        .columns([
            (Products::Table, Products::Model),
            (Products::Table, Products::Unit),
        ])
        .from(Stock::Table)
        .inner_join(
            Products::Table,
            Expr::col((Products::Table, Products::Id)).equals((Stock::Table, Stock::ProductId)),
        )
        .to_owned()
}

impl Record for StockRow {
    type Col = Stock;
    const TABLE: Table<Stock> = Table {
        table: Stock::Table,
        id: Stock::Id,
        version: Stock::Version,
        created_at: Stock::CreatedAt,
        created_by: Stock::CreatedBy,
        updated_at: Stock::UpdatedAt,
        updated_by: Stock::UpdatedBy,
        entity: "stock",
        // The one unique index: a second row for the same product, warehouse and location.
        unique: "location",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_stock(), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "product_id": self.product_id, "warehouse": self.warehouse,
            "location": self.location, "quantity": self.quantity().to_string(),
            "memo": self.memo,
        })
    }
}

/// Filters of the stock query (库存查询).
#[derive(Debug, Clone, Default)]
pub struct StockFilter {
    /// The beginning of the product's name or model.
    pub q: Option<String>,
    pub warehouse: Option<String>,
    pub product_id: Option<i64>,
}

impl StockFilter {
    fn apply(&self, q: &mut SelectStatement) {
        if let Some(text) = self.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            q.and_where(name_or_model(text));
        }
        if let Some(w) = self
            .warehouse
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            q.and_where(Expr::col((Stock::Table, Stock::Warehouse)).eq(w));
        }
        if let Some(p) = self.product_id {
            q.and_where(Expr::col((Stock::Table, Stock::ProductId)).eq(p));
        }
    }
}

/// The stock query's sorts, each with an index on `(column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockSort {
    Warehouse,
    Updated,
}

impl SortKey for StockSort {
    const ALL: &'static [Self] = &[StockSort::Warehouse, StockSort::Updated];
    const DEFAULT: Sort<Self> = Sort {
        key: StockSort::Warehouse,
        dir: Dir::Asc,
    };

    fn code(self) -> &'static str {
        match self {
            StockSort::Warehouse => "warehouse",
            StockSort::Updated => "updated_at",
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            StockSort::Warehouse => KeyKind::Text,
            StockSort::Updated => KeyKind::Time,
        }
    }

    fn column(self) -> Expr {
        let col = match self {
            StockSort::Warehouse => Stock::Warehouse,
            StockSort::Updated => Stock::UpdatedAt,
        };
        Expr::col((Stock::Table, col))
    }

    fn first_dir(self) -> Dir {
        match self {
            StockSort::Warehouse => Dir::Asc,
            StockSort::Updated => Dir::Desc,
        }
    }
}

impl Keyed<StockSort> for StockRow {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: StockSort) -> KeyValue {
        match key {
            StockSort::Warehouse => KeyValue::Text(self.warehouse.clone()),
            StockSort::Updated => KeyValue::Time(self.updated_at),
        }
    }
}

fn stock_values(d: &NewStock) -> Vec<(Stock, SimpleExpr)> {
    vec![
        (Stock::ProductId, Expr::val(d.product_id)),
        (Stock::Warehouse, Expr::val(d.warehouse.as_str())),
        (Stock::Location, Expr::val(d.location.as_str())),
        (Stock::Quantity, Expr::val(d.quantity.milli())),
        (Stock::Memo, Expr::val(d.memo.clone())),
    ]
}

/// Products and stock over the application's database.
#[derive(Clone, Debug)]
pub struct ProductStore {
    db: Db,
}

impl ProductStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// One page of the products.
    pub async fn list(
        &self,
        f: &ProductFilter,
        req: impl Into<ListRequest<ProductSort>>,
    ) -> StoreResult<Listing<Product>> {
        let mut q = select_products();
        f.apply(&mut q);
        let mut count = Query::select()
            .expr(Expr::cust("1"))
            .from(Products::Table)
            .to_owned();
        f.apply(&mut count);
        let id = Expr::col((Products::Table, Products::Id));
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// Product `id`, or `NotFound`.
    pub async fn get(&self, id: i64) -> StoreResult<Product> {
        let q = select_products()
            .and_where(Expr::col((Products::Table, Products::Id)).eq(id))
            .to_owned();
        self.db.fetch_found(&q).await
    }

    /// Who saved product `id` last, and when.
    pub async fn last_change(&self, id: i64) -> StoreResult<LastChange> {
        write::last_change::<Product>(&self.db, id).await
    }

    pub async fn create(&self, d: &NewProduct, actor: &Actor) -> StoreResult<Product> {
        self.db
            .write(async |tx| create_product_in(tx, d, actor).await)
            .await
    }

    /// Changes product `id` if it still has `version`. Orders keep the name, unit and price
    /// they were placed with.
    pub async fn update(
        &self,
        id: i64,
        d: &NewProduct,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Product> {
        self.db
            .write(async |tx| {
                let before = Product::load(tx, id).await?;
                write::update(tx, &before, version, product_values(d), actor, async |_| {
                    Ok(())
                })
                .await
            })
            .await
    }

    /// Deletes product `id` (with its stock rows) if it still has `version` and no order
    /// names it; otherwise `err-product-in-use` (409 `not_allowed`).
    pub async fn delete(&self, id: i64, version: i32, actor: &Actor) -> StoreResult<()> {
        self.db
            .write(async |tx| {
                let before = Product::load(tx, id).await?;
                let used: Option<(i64,)> = tx
                    .fetch_optional(
                        Query::select()
                            .column(OrderLines::Id)
                            .from(OrderLines::Table)
                            .and_where(Expr::col(OrderLines::ProductId).eq(id))
                            .limit(1),
                    )
                    .await?;
                if used.is_some() {
                    return Err(DomainError::NotAllowed("err-product-in-use").into());
                }
                write::delete(tx, &before, version, actor).await
            })
            .await
    }

    /// Every product that has stock rows, with the sum of its quantities (thousandths) over
    /// every warehouse and location: the stock turnover's stock (库存), by the product's index
    /// of the stock rows.
    pub async fn stock_by_product(&self) -> StoreResult<Vec<ProductStock>> {
        let q = Query::select()
            .expr_as(
                Expr::col((Stock::Table, Stock::ProductId)),
                Alias::new("product_id"),
            )
            .columns([
                (Products::Table, Products::Name),
                (Products::Table, Products::Model),
                (Products::Table, Products::Unit),
            ])
            // SUM of BIGINT is NUMERIC on PostgreSQL.
            .expr_as(
                Expr::col((Stock::Table, Stock::Quantity))
                    .sum()
                    .cast_as("BIGINT"),
                Alias::new("quantity"),
            )
            .from(Stock::Table)
            .inner_join(
                Products::Table,
                Expr::col((Products::Table, Products::Id)).equals((Stock::Table, Stock::ProductId)),
            )
            .group_by_col((Stock::Table, Stock::ProductId))
            .group_by_columns([
                (Products::Table, Products::Name),
                (Products::Table, Products::Model),
                (Products::Table, Products::Unit),
            ])
            .to_owned();
        Ok(self.db.fetch_all(&q).await?)
    }

    /// One page of the stock query.
    pub async fn stock(
        &self,
        f: &StockFilter,
        req: impl Into<ListRequest<StockSort>>,
    ) -> StoreResult<Listing<StockRow>> {
        let mut q = select_stock();
        f.apply(&mut q);
        let mut count = select_stock();
        f.apply(&mut count);
        let id = Expr::col((Stock::Table, Stock::Id));
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// Stock row `id`, or `NotFound`.
    pub async fn stock_row(&self, id: i64) -> StoreResult<StockRow> {
        let q = select_stock()
            .and_where(Expr::col((Stock::Table, Stock::Id)).eq(id))
            .to_owned();
        self.db.fetch_found(&q).await
    }

    /// Adds a stock row; the product must exist (`err-product-unknown` on `product_id`), and a
    /// second row for the same place is a conflict on `location`.
    pub async fn add_stock(&self, d: &NewStock, actor: &Actor) -> StoreResult<StockRow> {
        self.db
            .write(async |tx| {
                product_exists(tx, d.product_id, "product_id").await?;
                write::create::<StockRow>(tx, stock_values(d), actor, async |_, _| Ok(())).await
            })
            .await
    }

    /// Changes stock row `id` if it still has `version`.
    pub async fn update_stock(
        &self,
        id: i64,
        d: &NewStock,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<StockRow> {
        self.db
            .write(async |tx| {
                let before = StockRow::load(tx, id).await?;
                product_exists(tx, d.product_id, "product_id").await?;
                write::update(tx, &before, version, stock_values(d), actor, async |_| {
                    Ok(())
                })
                .await
            })
            .await
    }
}

/// Product `id` in `tx`, or `err-product-unknown` on `field`.
pub async fn product_in(tx: &mut Tx, id: i64, field: &str) -> StoreResult<Product> {
    let q = select_products()
        .and_where(Expr::col((Products::Table, Products::Id)).eq(id))
        .to_owned();
    tx.fetch_optional(&q)
        .await?
        .ok_or_else(|| DomainError::field(field, "err-product-unknown").into())
}

/// The products named any of `names`, read in `tx` (an import's duplicate check and the
/// order import's product column).
pub async fn products_named_in(tx: &mut Tx, names: &[String]) -> StoreResult<Vec<Product>> {
    let mut found = Vec::new();
    for chunk in names.chunks(500) {
        let q = select_products()
            .and_where(Expr::col((Products::Table, Products::Name)).is_in(chunk.iter().cloned()))
            .to_owned();
        found.extend(tx.fetch_all::<Product>(&q).await?);
    }
    Ok(found)
}

/// Creates a product in `tx`, audited.
pub async fn create_product_in(tx: &mut Tx, d: &NewProduct, actor: &Actor) -> StoreResult<Product> {
    write::create::<Product>(tx, product_values(d), actor, async |_, _| Ok(())).await
}

/// Changes product `before` (read in `tx`) to `d`, audited.
pub async fn update_product_in(
    tx: &mut Tx,
    before: &Product,
    d: &NewProduct,
    actor: &Actor,
) -> StoreResult<Product> {
    write::update(
        tx,
        before,
        before.version,
        product_values(d),
        actor,
        async |_| Ok(()),
    )
    .await
}

async fn product_exists(tx: &mut Tx, id: i64, field: &str) -> StoreResult<()> {
    product_in(tx, id, field).await.map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use kehu_store::statement::Explain;
    use sea_query::Order;

    use super::*;

    /// The product list and the stock query, each filter with each sort: an index, never a
    /// scan of the products or stock table.
    #[tokio::test]
    async fn the_product_and_stock_queries_read_indexes_not_tables() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let mut all = kehu_customers::migrations::MIGRATIONS.to_vec();
        all.extend_from_slice(crate::migrations::MIGRATIONS);
        kehu_store::migrations::migrate_with(&db, &all)
            .await
            .unwrap();
        let bare = |plan: &[(i64, i64, i64, String)]| {
            plan.iter()
                .any(|(.., d)| d == "SCAN products" || d == "SCAN stock")
        };
        // The check itself: a condition on a column without an index is a scan.
        let mut unindexed = select_products();
        unindexed.and_where(Expr::col((Products::Table, Products::Memo)).eq("x"));
        let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&unindexed)).await.unwrap();
        assert!(bare(&plan), "{plan:?}");
        let mut scans = Vec::new();
        for f in [
            ProductFilter::default(),
            ProductFilter {
                q: Some("激光".into()),
            },
        ] {
            for sort in ProductSort::ALL {
                let mut q = select_products();
                f.apply(&mut q);
                q.order_by_expr(sort.column(), Order::Asc).limit(51);
                let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&q)).await.unwrap();
                if bare(&plan) {
                    scans.push(format!("products {f:?} by {}: {plan:?}", sort.code()));
                }
            }
        }
        let none = StockFilter::default;
        for f in [
            none(),
            StockFilter {
                q: Some("激光".into()),
                ..none()
            },
            StockFilter {
                warehouse: Some("广州仓".into()),
                ..none()
            },
            StockFilter {
                product_id: Some(3),
                ..none()
            },
        ] {
            for sort in StockSort::ALL {
                let mut q = select_stock();
                f.apply(&mut q);
                q.order_by_expr(sort.column(), Order::Asc).limit(51);
                let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&q)).await.unwrap();
                if bare(&plan) {
                    scans.push(format!("stock {f:?} by {}: {plan:?}", sort.code()));
                }
            }
        }
        assert!(scans.is_empty(), "table scans: {scans:#?}");
        db.close().await;
    }
}
