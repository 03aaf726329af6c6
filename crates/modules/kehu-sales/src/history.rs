//! An opportunity's history: the audit entries of the opportunity and of its plan items (the
//! audit log knows records by entity name and id only), newest first.

use kehu_store::StoreResult;
use kehu_store::audit::AuditEntry;
use kehu_store::db::Db;
use kehu_store::schema::AuditLog;
use sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};

/// The latest `n` entries of opportunity `id` and of its plan items `items`. The caller has
/// found the opportunity in its scope and read its plan. A range of the audit log's
/// `(entity, entity_id, at)` index per record.
pub async fn latest(db: &Db, id: i64, items: &[i64], n: u64) -> StoreResult<Vec<AuditEntry>> {
    Ok(db.fetch_all(&latest_query(id, items, n)).await?)
}

fn latest_query(id: i64, items: &[i64], n: u64) -> SelectStatement {
    let record = |entity: &str, ids: Vec<String>| {
        Expr::col(AuditLog::Entity)
            .eq(entity)
            .and(Expr::col(AuditLog::EntityId).is_in(ids))
    };
    let items = items.iter().map(i64::to_string).collect();
    Query::select()
        .columns([
            AuditLog::Id,
            AuditLog::At,
            AuditLog::UserId,
            AuditLog::Username,
            AuditLog::Action,
            AuditLog::Entity,
            AuditLog::EntityId,
            AuditLog::Changes,
        ])
        .from(AuditLog::Table)
        .cond_where(
            Cond::any()
                .add(record("opportunity", vec![id.to_string()]))
                .add(record("plan_item", items)),
        )
        .order_by(AuditLog::At, Order::Desc)
        .order_by(AuditLog::Id, Order::Desc)
        .limit(n)
        .to_owned()
}
