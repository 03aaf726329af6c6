//! A customer's change history: the audit entries of the customer itself and of every record
//! that hangs off it — contacts, interactions, and whatever other modules link with [`link`]
//! (orders, services …) — deleted ones included. The audit log knows records only by entity
//! name and id, so each such record is registered here, in the transaction that creates it.

use kehu_store::StoreResult;
use kehu_store::audit::{AuditEntry, ENTRY_COLUMNS};
use kehu_store::db::{Db, Tx};
use kehu_store::schema::AuditLog;
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement, UnionType};

use crate::schema::CustomerRecords;

/// Registers record `entity` `id` (as the audit log names it, e.g. `contact` 7) as one of
/// customer `customer_id`'s: its changes join the customer's history. Call it in the
/// transaction that creates the record; twice is harmless.
pub async fn link(tx: &mut Tx, customer_id: i64, entity: &str, id: i64) -> StoreResult<()> {
    link_many(tx, entity, &[(customer_id, id)]).await
}

/// [`link`] for many records of `entity` at once (a bulk load): `(customer_id, id)` pairs, in
/// multi-row inserts.
pub async fn link_many(tx: &mut Tx, entity: &str, links: &[(i64, i64)]) -> StoreResult<()> {
    // 3 values a row: well under both databases' bound values per statement.
    for chunk in links.chunks(5_000) {
        let mut q = Query::insert()
            .into_table(CustomerRecords::Table)
            .columns([
                CustomerRecords::CustomerId,
                CustomerRecords::Entity,
                CustomerRecords::EntityId,
            ])
            .to_owned();
        for (customer_id, id) in chunk {
            q.values_panic([(*customer_id).into(), entity.into(), id.to_string().into()]);
        }
        q.on_conflict(
            OnConflict::columns([
                CustomerRecords::CustomerId,
                CustomerRecords::Entity,
                CustomerRecords::EntityId,
            ])
            .do_nothing()
            .to_owned(),
        );
        tx.execute(&q).await?;
    }
    Ok(())
}

/// The latest `limit` entries of customer `customer_id`'s history, newest first. The caller
/// has found the customer in its scope. Two index ranges: the customer's own entries
/// (`ix_audit_log_record_at`), and per linked record the same index, joined from the
/// registry's key.
pub async fn latest(db: &Db, customer_id: i64, limit: u64) -> StoreResult<Vec<AuditEntry>> {
    Ok(db.fetch_all(&latest_query(customer_id, limit)).await?)
}

fn latest_query(customer_id: i64, limit: u64) -> SelectStatement {
    let mut own = Query::select();
    own.columns(ENTRY_COLUMNS)
        .from(AuditLog::Table)
        .and_where(Expr::col(AuditLog::Entity).eq("customer"))
        .and_where(Expr::col(AuditLog::EntityId).eq(customer_id.to_string()));
    let mut linked = Query::select();
    for c in ENTRY_COLUMNS {
        linked.column((AuditLog::Table, c));
    }
    linked
        .from(CustomerRecords::Table)
        .inner_join(
            AuditLog::Table,
            Expr::col((AuditLog::Table, AuditLog::Entity))
                .equals((CustomerRecords::Table, CustomerRecords::Entity))
                .and(
                    Expr::col((AuditLog::Table, AuditLog::EntityId))
                        .equals((CustomerRecords::Table, CustomerRecords::EntityId)),
                ),
        )
        .and_where(
            Expr::col((CustomerRecords::Table, CustomerRecords::CustomerId)).eq(customer_id),
        );
    own.union(UnionType::All, linked)
        .order_by(AuditLog::At, Order::Desc)
        .order_by(AuditLog::Id, Order::Desc)
        .limit(limit)
        .to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
pub(crate) mod tests {
    use kehu_store::statement::Explain;
    use sea_query::SelectStatement;

    use super::*;

    /// A migrated SQLite database in `dir`.
    pub(crate) async fn db(dir: &std::path::Path) -> Db {
        let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()))
            .await
            .unwrap();
        kehu_store::migrations::migrate_with(&db, crate::migrations::MIGRATIONS)
            .await
            .unwrap();
        db
    }

    /// The plan's steps that read a whole table or index instead of a range of one.
    pub(crate) async fn scans(db: &Db, q: &SelectStatement) -> Vec<String> {
        let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(q)).await.unwrap();
        plan.into_iter()
            .map(|(.., d)| d)
            .filter(|d| d.starts_with("SCAN ") && !d.contains("CONSTANT ROW"))
            .collect()
    }

    #[tokio::test]
    async fn the_history_reads_ranges_of_indexes_never_a_whole_table() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path()).await;
        let q = latest_query(42, 50);
        let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&q)).await.unwrap();
        assert!(scans(&db, &q).await.is_empty(), "{plan:#?}");
        assert!(
            plan.iter()
                .any(|(.., d)| d.contains("ix_audit_log_record_at")),
            "{plan:#?}"
        );
        db.close().await;
    }
}
