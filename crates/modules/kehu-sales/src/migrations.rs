//! The sales module's migrations (versions 2000–2999). Every list sort and filter has an
//! index ending in the id (the list kit's tie-breaker). Never edit a shipped one.

use kehu_store::migrations::{Ddl, Migration, audited, id_col, index};
use sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, Index, Table};

use crate::schema::{Opportunities as O, OpportunityTotals as T, PlanItems as P};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 2000,
        name: "sales",
        build: sales,
    },
    Migration {
        version: 2001,
        name: "sales_reports",
        build: reports,
    },
];

/// The pipeline report (统计报表) counts from indexes alone: the opportunities created in a
/// period by source, and those closed (won, lost) in a period — over everyone's, and with the
/// owner first over a manager's own. (By status in a creation period, the status indexes of
/// the list count already.)
fn reports() -> Vec<Ddl> {
    vec![
        index(
            "ix_opportunities_created_source",
            O::Table,
            &[&O::CreatedAt, &O::Source],
        ),
        index(
            "ix_opportunities_owner_created_source",
            O::Table,
            &[&O::OwnerId, &O::CreatedAt, &O::Source],
        ),
        index(
            "ix_opportunities_status_closed",
            O::Table,
            &[&O::Status, &O::ClosedAt],
        ),
        index(
            "ix_opportunities_owner_status_closed",
            O::Table,
            &[&O::OwnerId, &O::Status, &O::ClosedAt],
        ),
    ]
}

/// The index `name` on `cols` (the last a nullable sort key) and the id, its NULLs first on
/// PostgreSQL (SQLite's NULLs always are).
macro_rules! nullable_sort {
    ($name:literal, $cols:literal) => {
        Ddl::PerBackend {
            sqlite: concat!(
                "CREATE INDEX ",
                $name,
                " ON opportunities (",
                $cols,
                ", id)"
            ),
            postgres: concat!(
                "CREATE INDEX ",
                $name,
                " ON opportunities (",
                $cols,
                " NULLS FIRST, id)"
            ),
        }
    };
}

fn sales() -> Vec<Ddl> {
    let mut opportunities = Table::create()
        .table(O::Table)
        .col(id_col(O::Id))
        .col(ColumnDef::new(O::Title).string_len(100).not_null())
        .col(ColumnDef::new(O::ProspectName).string_len(100).not_null())
        .col(ColumnDef::new(O::Source).string_len(64).null())
        .col(ColumnDef::new(O::SuccessRate).small_integer().not_null())
        .col(ColumnDef::new(O::ContactName).string_len(64).null())
        .col(ColumnDef::new(O::ContactPhone).string_len(40).null())
        .col(ColumnDef::new(O::Description).text().null())
        .col(ColumnDef::new(O::ExpectedAmount).big_integer().null())
        .col(ColumnDef::new(O::Currency).string_len(3).not_null())
        .col(ColumnDef::new(O::ExpectedCloseDate).date().null())
        .col(ColumnDef::new(O::Status).string_len(16).not_null())
        .col(ColumnDef::new(O::OwnerId).big_integer().not_null())
        .col(ColumnDef::new(O::AssigneeId).big_integer().null())
        .col(
            ColumnDef::new(O::AssignedAt)
                .timestamp_with_time_zone()
                .null(),
        )
        .col(ColumnDef::new(O::FailureReason).string_len(500).null())
        // The customer module's table: named as a string, not through its `Iden`.
        .col(ColumnDef::new(O::CustomerId).big_integer().null())
        .col(
            ColumnDef::new(O::ClosedAt)
                .timestamp_with_time_zone()
                .null(),
        )
        .foreign_key(
            ForeignKey::create()
                .from(O::Table, O::CustomerId)
                .to(
                    sea_query::Alias::new("customers"),
                    sea_query::Alias::new("id"),
                )
                .on_delete(ForeignKeyAction::SetNull),
        )
        .to_owned();
    audited(
        &mut opportunities,
        O::CreatedAt,
        O::CreatedBy,
        O::UpdatedAt,
        O::UpdatedBy,
        O::Version,
    );

    let mut plan = Table::create()
        .table(P::Table)
        .col(id_col(P::Id))
        .col(ColumnDef::new(P::OpportunityId).big_integer().not_null())
        .col(ColumnDef::new(P::Date).date().not_null())
        .col(ColumnDef::new(P::Todo).string_len(500).not_null())
        .col(ColumnDef::new(P::Result).string_len(2000).null())
        .foreign_key(
            ForeignKey::create()
                .from(P::Table, P::OpportunityId)
                .to(O::Table, O::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    audited(
        &mut plan,
        P::CreatedAt,
        P::CreatedBy,
        P::UpdatedAt,
        P::UpdatedBy,
        P::Version,
    );

    let totals = Table::create()
        .table(T::Table)
        .col(ColumnDef::new(T::OwnerId).big_integer().not_null())
        .col(ColumnDef::new(T::Status).string_len(16).not_null())
        .col(ColumnDef::new(T::Currency).string_len(3).not_null())
        .col(ColumnDef::new(T::Count).big_integer().not_null())
        .col(ColumnDef::new(T::Amount).big_integer().not_null())
        .col(ColumnDef::new(T::Weighted).big_integer().not_null())
        .primary_key(
            Index::create()
                .col(T::OwnerId)
                .col(T::Status)
                .col(T::Currency),
        )
        .to_owned();

    vec![
        Ddl::Table(opportunities),
        Ddl::Table(plan),
        Ddl::Table(totals),
        // The list's default sort (newest first) and its filters, each ending in the id; the
        // data scope (owner) first where a manager's list reads it.
        index(
            "ix_opportunities_created",
            O::Table,
            &[&O::CreatedAt, &O::Id],
        ),
        index(
            "ix_opportunities_owner_created",
            O::Table,
            &[&O::OwnerId, &O::CreatedAt, &O::Id],
        ),
        index(
            "ix_opportunities_status_created",
            O::Table,
            &[&O::Status, &O::CreatedAt, &O::Id],
        ),
        index(
            "ix_opportunities_assignee_created",
            O::Table,
            &[&O::AssigneeId, &O::CreatedAt, &O::Id],
        ),
        // The nullable sorts: the list kit orders NULL first ascending and last descending,
        // which is SQLite's own order and on PostgreSQL an index with NULLS FIRST read either
        // way (the default, NULLS LAST, makes PostgreSQL sort every row: 8 s a page at a
        // million). A manager's own with the owner first.
        nullable_sort!("ix_opportunities_amount", "expected_amount"),
        nullable_sort!("ix_opportunities_owner_amount", "owner_id, expected_amount"),
        nullable_sort!("ix_opportunities_close_date", "expected_close_date"),
        nullable_sort!(
            "ix_opportunities_owner_close_date",
            "owner_id, expected_close_date"
        ),
        // A manager's board column and status filter: their opportunities of one status.
        index(
            "ix_opportunities_owner_status_created",
            O::Table,
            &[&O::OwnerId, &O::Status, &O::CreatedAt, &O::Id],
        ),
        // The customer page's opportunities.
        index(
            "ix_opportunities_customer",
            O::Table,
            &[&O::CustomerId, &O::CreatedAt, &O::Id],
        ),
        // A plan in date order; the home page's due and overdue items.
        index(
            "ix_plan_items_opportunity",
            P::Table,
            &[&P::OpportunityId, &P::Date, &P::Id],
        ),
        index("ix_plan_items_date", P::Table, &[&P::Date, &P::Id]),
    ]
}
