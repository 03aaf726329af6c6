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
