//! The loss module's migrations (versions 7000–7999). Every list sort and filter has an
//! index ending in the id (the list kit's tie-breaker). Never edit a shipped one.

use kehu_store::migrations::{Ddl, Migration, audited, id_col, index, ts, ts_null};
use sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, Table};

use crate::schema::{LossMeasures as M, LossRecords as R, LossScans as Sc, LossSettings as St};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 7000,
        name: "loss",
        build: loss,
    },
    Migration {
        version: 7001,
        name: "loss_confirmed",
        build: confirmed,
    },
];

/// The loss report (客户流失分析) lists the losses confirmed in a period, newest first.
fn confirmed() -> Vec<Ddl> {
    vec![index(
        "ix_loss_records_confirmed",
        R::Table,
        &[&R::ConfirmedAt, &R::Id],
    )]
}

/// One live (not won back) record per customer: what keeps a scan run twice, or two at once,
/// from warning a customer twice (`ON CONFLICT DO NOTHING`). Its condition is the store's
/// `LIVE`, word for word.
/// Executives read loss records (客户流失: the loss report's records): an installation whose
/// built-in executive role was seeded before this module came gets the right too (a new one
/// is seeded with it; the right itself exists since the platform's first seed).
const EXECUTIVES_READ: &str = "INSERT INTO role_rights (role_id, right_code) \
    SELECT id, 'loss.read' FROM roles WHERE code = 'executive' AND builtin \
    AND NOT EXISTS (SELECT 1 FROM role_rights r WHERE r.role_id = roles.id \
    AND r.right_code = 'loss.read') \
    AND EXISTS (SELECT 1 FROM rights WHERE code = 'loss.read')";

const LIVE_INDEX: &str = "CREATE UNIQUE INDEX ux_loss_records_live ON loss_records (customer_id) \
     WHERE status <> 'won_back'";

fn loss() -> Vec<Ddl> {
    let mut records = Table::create()
        .table(R::Table)
        .col(id_col(R::Id))
        // The customer module's table: named as a string, not through its `Iden`.
        .col(ColumnDef::new(R::CustomerId).big_integer().not_null())
        .col(ColumnDef::new(R::OwnerId).big_integer().not_null())
        .col(ts_null(R::LastOrderAt))
        .col(ts(R::WarnedAt))
        .col(ColumnDef::new(R::Status).string_len(16).not_null())
        .col(ColumnDef::new(R::Reason).string_len(64).null())
        .col(ColumnDef::new(R::Detail).text().null())
        .col(ts_null(R::ConfirmedAt))
        .col(ColumnDef::new(R::ConfirmedBy).big_integer().null())
        .col(ts_null(R::WonBackAt))
        .col(ColumnDef::new(R::WonBackOrderId).big_integer().null())
        .foreign_key(
            ForeignKey::create()
                .from(R::Table, R::CustomerId)
                .to(
                    sea_query::Alias::new("customers"),
                    sea_query::Alias::new("id"),
                )
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    audited(
        &mut records,
        R::CreatedAt,
        R::CreatedBy,
        R::UpdatedAt,
        R::UpdatedBy,
        R::Version,
    );
    let mut measures = Table::create()
        .table(M::Table)
        .col(id_col(M::Id))
        .col(ColumnDef::new(M::RecordId).big_integer().not_null())
        .col(ColumnDef::new(M::Measure).text().not_null())
        .foreign_key(
            ForeignKey::create()
                .from(M::Table, M::RecordId)
                .to(R::Table, R::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    audited(
        &mut measures,
        M::CreatedAt,
        M::CreatedBy,
        M::UpdatedAt,
        M::UpdatedBy,
        M::Version,
    );
    let mut settings = Table::create()
        .table(St::Table)
        .col(id_col(St::Id))
        .col(ColumnDef::new(St::ThresholdMonths).integer().not_null())
        .col(ColumnDef::new(St::NeverOrdered).boolean().not_null())
        .to_owned();
    audited(
        &mut settings,
        St::CreatedAt,
        St::CreatedBy,
        St::UpdatedAt,
        St::UpdatedBy,
        St::Version,
    );
    let scans = Table::create()
        .table(Sc::Table)
        .col(id_col(Sc::Id))
        .col(ts(Sc::Cutoff))
        .col(ColumnDef::new(Sc::NeverOrdered).boolean().not_null())
        .col(ColumnDef::new(Sc::DoneTo).big_integer().not_null())
        .col(ColumnDef::new(Sc::Scanned).big_integer().not_null())
        .col(ColumnDef::new(Sc::Warned).big_integer().not_null())
        .col(ColumnDef::new(Sc::Closed).big_integer().not_null())
        .col(ts(Sc::StartedAt))
        .col(ts_null(Sc::FinishedAt))
        .to_owned();
    vec![
        Ddl::Table(records),
        Ddl::Table(measures),
        Ddl::Table(settings),
        Ddl::Table(scans),
        Ddl::PerBackend {
            sqlite: LIVE_INDEX,
            postgres: LIVE_INDEX,
        },
        // A customer's history (its 360° page).
        index(
            "ix_loss_records_customer",
            R::Table,
            &[&R::CustomerId, &R::WarnedAt, &R::Id],
        ),
        // The list newest first, by status, by manager, by days since the last order.
        index("ix_loss_records_warned", R::Table, &[&R::WarnedAt, &R::Id]),
        index(
            "ix_loss_records_status",
            R::Table,
            &[&R::Status, &R::WarnedAt, &R::Id, &R::OwnerId],
        ),
        index(
            "ix_loss_records_owner",
            R::Table,
            &[&R::OwnerId, &R::WarnedAt, &R::Id],
        ),
        index(
            "ix_loss_records_owner_status",
            R::Table,
            &[&R::OwnerId, &R::Status, &R::WarnedAt, &R::Id],
        ),
        index(
            "ix_loss_records_last_order",
            R::Table,
            &[&R::LastOrderAt, &R::Id],
        ),
        // A manager's own by days without an order (their home page's at-risk list).
        index(
            "ix_loss_records_owner_last_order",
            R::Table,
            &[&R::OwnerId, &R::LastOrderAt, &R::Id, &R::Status],
        ),
        index(
            "ix_loss_measures_record",
            M::Table,
            &[&M::RecordId, &M::CreatedAt, &M::Id],
        ),
        index(
            "ix_loss_scans_started",
            Sc::Table,
            &[&Sc::StartedAt, &Sc::Id],
        ),
        Ddl::PerBackend {
            sqlite: EXECUTIVES_READ,
            postgres: EXECUTIVES_READ,
        },
    ]
}
