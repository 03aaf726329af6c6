//! Order lines (订单明细) written outside the order store's scoped builder: only for an order
//! that the store has just found within the caller's scope (lines have no owner of their
//! own; they are read through their order).

use kehu_store::StoreResult;
use kehu_store::db::Tx;
use sea_query::{Expr, ExprTrait, Query};

use crate::schema::OrderLines;

/// Removes every line of order `order_id` (the store puts the new lines back in the same
/// transaction).
pub(crate) async fn delete_all(tx: &mut Tx, order_id: i64) -> StoreResult<()> {
    tx.execute(
        Query::delete()
            .from_table(OrderLines::Table)
            .and_where(Expr::col(OrderLines::OrderId).eq(order_id)),
    )
    .await?;
    Ok(())
}
