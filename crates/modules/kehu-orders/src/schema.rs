//! The order module's table and column names, shared by its migrations and its stores.

use sea_query::Iden;

/// 产品 (`product`): not owned; everyone with `product.read` sees every product.
#[derive(Iden, Clone, Copy)]
pub enum Products {
    Table,
    Id,
    Name,
    Model,
    /// 等级/批次.
    Grade,
    Unit,
    /// Fen.
    Price,
    /// Fen.
    Cost,
    Memo,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// 库存 (`storage`): one row per product, warehouse and location.
#[derive(Iden, Clone, Copy)]
pub enum Stock {
    Table,
    Id,
    ProductId,
    Warehouse,
    Location,
    /// Thousandths.
    Quantity,
    Memo,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// 订单 (`orders`): owned through its customer (in a manager's scope when the customer is).
#[derive(Iden, Clone, Copy)]
pub enum Orders {
    Table,
    Id,
    Number,
    CustomerId,
    OrderDate,
    DeliveryAddress,
    Status,
    /// Fen: the sum of the line totals.
    Total,
    Memo,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// 订单明细 (`orders_line`): reached only through its order.
#[derive(Iden, Clone, Copy)]
pub enum OrderLines {
    Table,
    Id,
    OrderId,
    Position,
    ProductId,
    /// The product's name, model and unit when the order was placed.
    ProductName,
    Model,
    Unit,
    /// Thousandths.
    Quantity,
    /// Fen per unit.
    Price,
    /// Fen: quantity × price, rounded half up.
    Total,
    /// Fen: the line's cost — the product's cost per unit when the line was priced × the
    /// quantity, rounded half up; `NULL` when the product had no cost then.
    Cost,
}

/// The last order number's sequence of each day.
#[derive(Iden, Clone, Copy)]
pub enum OrderNumbers {
    Table,
    Day,
    Last,
}

/// 订单统计 (`order_figures`): per period and customer, the orders that count (not cancelled)
/// and their amount, moved in the transaction of every order change (`figures.rs`). Owned
/// through its customer.
#[derive(Iden, Clone, Copy)]
pub enum OrderFigures {
    Table,
    /// `all`, a year `2026`, a quarter `2026-Q4` or a month `2026-11`.
    Period,
    CustomerId,
    Orders,
    /// Fen.
    Amount,
}

/// 产品销售统计 (`product_figures`): per period and product, the orders that count (not
/// cancelled) with the product, its quantity, revenue and cost, moved in the transaction of
/// every order change (`product_figures.rs`). Not owned: every customer's orders are in it,
/// so only a reader whose scope is every customer reads it (a narrower scope sums its own
/// customers' order lines instead).
#[derive(Iden, Clone, Copy)]
pub enum ProductFigures {
    Table,
    /// `all`, a year `2026`, a quarter `2026-Q4` or a month `2026-11`.
    Period,
    ProductId,
    Orders,
    /// Thousandths.
    Quantity,
    /// Fen: the sum of the lines' totals.
    Revenue,
    /// Fen: the cost of the lines with a cost.
    Cost,
    /// Fen: the revenue of the lines with a cost (what `cost` is set against).
    Costed,
}
