//! The order module's migrations (versions 4000–4999). Every list sort and filter has an
//! index ending in the id (the list kit's tie-breaker). Never edit a shipped one.

use kehu_store::migrations::{Ddl, Migration, audited, id_col, index};
use sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, Table};

use crate::schema::{
    OrderFigures, OrderLines, OrderNumbers, Orders, ProductFigures, Products, Stock,
};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 4000,
        name: "orders",
        build: orders,
    },
    Migration {
        version: 4001,
        name: "order_figures",
        build: order_figures,
    },
    Migration {
        version: 4002,
        name: "product_figures",
        build: product_figures,
    },
];

fn orders() -> Vec<Ddl> {
    let mut products = Table::create()
        .table(Products::Table)
        .col(id_col(Products::Id))
        .col(ColumnDef::new(Products::Name).string_len(80).not_null())
        .col(
            ColumnDef::new(Products::Model)
                .string_len(64)
                .not_null()
                .default(""),
        )
        .col(ColumnDef::new(Products::Grade).string_len(64).null())
        .col(ColumnDef::new(Products::Unit).string_len(16).not_null())
        .col(ColumnDef::new(Products::Price).big_integer().not_null())
        .col(ColumnDef::new(Products::Cost).big_integer().null())
        .col(ColumnDef::new(Products::Memo).text().null())
        .to_owned();
    audited(
        &mut products,
        Products::CreatedAt,
        Products::CreatedBy,
        Products::UpdatedAt,
        Products::UpdatedBy,
        Products::Version,
    );

    let mut stock = Table::create()
        .table(Stock::Table)
        .col(id_col(Stock::Id))
        .col(ColumnDef::new(Stock::ProductId).big_integer().not_null())
        .col(ColumnDef::new(Stock::Warehouse).string_len(64).not_null())
        .col(
            ColumnDef::new(Stock::Location)
                .string_len(64)
                .not_null()
                .default(""),
        )
        .col(ColumnDef::new(Stock::Quantity).big_integer().not_null())
        .col(ColumnDef::new(Stock::Memo).text().null())
        .foreign_key(
            ForeignKey::create()
                .from(Stock::Table, Stock::ProductId)
                .to(Products::Table, Products::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    audited(
        &mut stock,
        Stock::CreatedAt,
        Stock::CreatedBy,
        Stock::UpdatedAt,
        Stock::UpdatedBy,
        Stock::Version,
    );

    // The customer is the customer module's table: named as a string, not through its
    // `Iden` (only that module's store may name it).
    let mut orders = Table::create()
        .table(Orders::Table)
        .col(id_col(Orders::Id))
        .col(ColumnDef::new(Orders::Number).string_len(16).not_null())
        .col(ColumnDef::new(Orders::CustomerId).big_integer().not_null())
        .col(ColumnDef::new(Orders::OrderDate).date().not_null())
        .col(
            ColumnDef::new(Orders::DeliveryAddress)
                .string_len(200)
                .null(),
        )
        .col(ColumnDef::new(Orders::Status).string_len(16).not_null())
        .col(ColumnDef::new(Orders::Total).big_integer().not_null())
        .col(ColumnDef::new(Orders::Memo).text().null())
        .foreign_key(
            ForeignKey::create()
                .from(Orders::Table, Orders::CustomerId)
                .to(
                    sea_query::Alias::new("customers"),
                    sea_query::Alias::new("id"),
                )
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    audited(
        &mut orders,
        Orders::CreatedAt,
        Orders::CreatedBy,
        Orders::UpdatedAt,
        Orders::UpdatedBy,
        Orders::Version,
    );

    let lines = Table::create()
        .table(OrderLines::Table)
        .col(id_col(OrderLines::Id))
        .col(ColumnDef::new(OrderLines::OrderId).big_integer().not_null())
        .col(ColumnDef::new(OrderLines::Position).integer().not_null())
        .col(
            ColumnDef::new(OrderLines::ProductId)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(OrderLines::ProductName)
                .string_len(80)
                .not_null(),
        )
        .col(
            ColumnDef::new(OrderLines::Model)
                .string_len(64)
                .not_null()
                .default(""),
        )
        .col(ColumnDef::new(OrderLines::Unit).string_len(16).not_null())
        .col(
            ColumnDef::new(OrderLines::Quantity)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(OrderLines::Price).big_integer().not_null())
        .col(ColumnDef::new(OrderLines::Total).big_integer().not_null())
        .foreign_key(
            ForeignKey::create()
                .from(OrderLines::Table, OrderLines::OrderId)
                .to(Orders::Table, Orders::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        // A product on an order stays: deleting it is refused (see the product store).
        .foreign_key(
            ForeignKey::create()
                .from(OrderLines::Table, OrderLines::ProductId)
                .to(Products::Table, Products::Id),
        )
        .to_owned();

    let numbers = Table::create()
        .table(OrderNumbers::Table)
        .col(
            ColumnDef::new(OrderNumbers::Day)
                .string_len(8)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(OrderNumbers::Last).big_integer().not_null())
        .to_owned();

    use OrderLines as L;
    use Orders as O;
    use Products as P;
    vec![
        Ddl::Table(products),
        Ddl::Table(stock),
        Ddl::Table(orders),
        Ddl::Table(lines),
        Ddl::Table(numbers),
        // Products: the sorts (name, model, price, updated) and the name/model prefix filters.
        index("ix_products_name", P::Table, &[&P::Name, &P::Id]),
        index("ix_products_model", P::Table, &[&P::Model, &P::Id]),
        index("ix_products_price", P::Table, &[&P::Price, &P::Id]),
        index("ix_products_updated", P::Table, &[&P::UpdatedAt, &P::Id]),
        // Stock: one row per product, warehouse and location; by warehouse; by product.
        index(
            "ux_stock_place",
            Stock::Table,
            &[&Stock::ProductId, &Stock::Warehouse, &Stock::Location],
        )
        .unique(),
        index(
            "ix_stock_warehouse",
            Stock::Table,
            &[&Stock::Warehouse, &Stock::Id],
        ),
        index(
            "ix_stock_updated",
            Stock::Table,
            &[&Stock::UpdatedAt, &Stock::Id],
        ),
        index(
            "ix_stock_product",
            Stock::Table,
            &[&Stock::ProductId, &Stock::Id],
        ),
        // Orders: the number, the sorts (date, number, total) and the filters (customer,
        // status, date period, amount), each with the default sort (newest first) after it.
        index("ux_orders_number", O::Table, &[&O::Number]).unique(),
        index("ix_orders_date", O::Table, &[&O::OrderDate, &O::Id]),
        index("ix_orders_total", O::Table, &[&O::Total, &O::Id]),
        index(
            "ix_orders_customer_date",
            O::Table,
            &[&O::CustomerId, &O::OrderDate, &O::Id],
        ),
        index(
            "ix_orders_status_date",
            O::Table,
            &[&O::Status, &O::OrderDate, &O::Id],
        ),
        index(
            "ix_order_lines_order",
            L::Table,
            &[&L::OrderId, &L::Position],
        ),
        index("ix_order_lines_product", L::Table, &[&L::ProductId, &L::Id]),
    ]
}

/// The orders' running figures per period and customer (`figures.rs`), filled from the orders
/// there are. The key leads with the period: a report reads one period's rows; the
/// contribution report's sorts (amount, orders) walk an index of the period and the sort,
/// newest id last; a customer's rows by customer (its purge).
fn order_figures() -> Vec<Ddl> {
    use OrderFigures as F;
    let table = Table::create()
        .table(F::Table)
        .col(ColumnDef::new(F::Period).string_len(8).not_null())
        .col(ColumnDef::new(F::CustomerId).big_integer().not_null())
        .col(ColumnDef::new(F::Orders).big_integer().not_null())
        .col(ColumnDef::new(F::Amount).big_integer().not_null())
        .primary_key(sea_query::Index::create().col(F::Period).col(F::CustomerId))
        .foreign_key(
            ForeignKey::create()
                .from(F::Table, F::CustomerId)
                .to(
                    sea_query::Alias::new("customers"),
                    sea_query::Alias::new("id"),
                )
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    vec![
        Ddl::Table(table),
        index(
            "ix_order_figures_amount",
            F::Table,
            &[&F::Period, &F::Amount, &F::CustomerId],
        ),
        index(
            "ix_order_figures_orders",
            F::Table,
            &[&F::Period, &F::Orders, &F::CustomerId],
        ),
        index(
            "ix_order_figures_customer",
            F::Table,
            &[&F::CustomerId, &F::Period],
        ),
        Ddl::PerBackend {
            sqlite: crate::figures::FILL_SQLITE,
            postgres: crate::figures::FILL_POSTGRES,
        },
    ]
}

/// Each order line's cost (the product's cost per unit × the quantity: lines placed before
/// this migration take the product's cost as it is now, the nearest known), and the running
/// figures per period and product (`product_figures.rs`), filled from the orders there are.
/// The key leads with the period: a report reads one period's rows, largest revenue first by
/// an index of the period and the revenue.
fn product_figures() -> Vec<Ddl> {
    use ProductFigures as F;
    let cost = Table::alter()
        .table(OrderLines::Table)
        .add_column(ColumnDef::new(OrderLines::Cost).big_integer().null())
        .to_owned();
    let table = Table::create()
        .table(F::Table)
        .col(ColumnDef::new(F::Period).string_len(8).not_null())
        .col(ColumnDef::new(F::ProductId).big_integer().not_null())
        .col(ColumnDef::new(F::Orders).big_integer().not_null())
        .col(ColumnDef::new(F::Quantity).big_integer().not_null())
        .col(ColumnDef::new(F::Revenue).big_integer().not_null())
        .col(ColumnDef::new(F::Cost).big_integer().not_null())
        .col(ColumnDef::new(F::Costed).big_integer().not_null())
        .primary_key(sea_query::Index::create().col(F::Period).col(F::ProductId))
        .foreign_key(
            ForeignKey::create()
                .from(F::Table, F::ProductId)
                .to(Products::Table, Products::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    vec![
        Ddl::AddColumn(cost),
        Ddl::PerBackend {
            sqlite: crate::product_figures::LINE_COST,
            postgres: crate::product_figures::LINE_COST,
        },
        Ddl::Table(table),
        index(
            "ix_product_figures_revenue",
            F::Table,
            &[&F::Period, &F::Revenue, &F::ProductId],
        ),
        Ddl::PerBackend {
            sqlite: crate::product_figures::FILL_SQLITE,
            postgres: crate::product_figures::FILL_POSTGRES,
        },
    ]
}
