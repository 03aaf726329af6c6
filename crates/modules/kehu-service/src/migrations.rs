//! The service module's migrations (versions 3000–3999). Every list sort and filter has an
//! index ending in the id (the list kit's tie-breaker). Never edit a shipped one.

use kehu_store::migrations::{Ddl, Migration, audited, id_col, index, rebuilt};
use sea_query::{Alias, ColumnDef, ForeignKey, ForeignKeyAction, Index, Table};

use crate::schema::{
    ServiceNumbers as N, ServiceRouting as R, ServiceSla as L, ServiceSteps as St, Services as S,
};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 3000,
        name: "service",
        build: service,
    },
    Migration {
        version: 3001,
        name: "service_people",
        build: people,
    },
    Migration {
        version: 3002,
        name: "service_manager_pages",
        build: manager_pages,
    },
    Migration {
        version: 3003,
        name: "service_reports",
        build: reports,
    },
];

/// The service-level report (统计报表) counts from indexes: the services due for a response
/// or a resolution in a period with what says whether they met it, and the satisfaction of
/// the feedback given in a period — over everyone's, read alone; an account manager's by
/// each of the scope's two arms (who took it; who handles it, with whose it is). A manager's
/// resolutions read the person's due indexes (`ix_services_owner_due`,
/// `ix_services_assignee_due`): their services due in the period, a few. By status in a
/// creation period, the status indexes of the lists count already.
fn reports() -> Vec<Ddl> {
    vec![
        index(
            "ix_services_respond_due_met",
            S::Table,
            &[&S::RespondDueAt, &S::RespondedAt],
        ),
        index(
            "ix_services_resolve_due_met",
            S::Table,
            &[&S::ResolveDueAt, &S::Status, &S::HandledAt],
        ),
        index(
            "ix_services_feedback",
            S::Table,
            &[&S::FeedbackAt, &S::Satisfaction],
        ),
        index(
            "ix_services_owner_respond_due",
            S::Table,
            &[&S::OwnerId, &S::RespondDueAt, &S::RespondedAt],
        ),
        index(
            "ix_services_assignee_respond_due",
            S::Table,
            &[
                &S::AssigneeId,
                &S::RespondDueAt,
                &S::RespondedAt,
                &S::OwnerId,
            ],
        ),
        index(
            "ix_services_owner_feedback",
            S::Table,
            &[&S::OwnerId, &S::FeedbackAt, &S::Satisfaction],
        ),
        index(
            "ix_services_assignee_feedback",
            S::Table,
            &[
                &S::AssigneeId,
                &S::FeedbackAt,
                &S::Satisfaction,
                &S::OwnerId,
            ],
        ),
    ]
}

/// The partial index of the open services (its condition is `store::OPEN`'s, word for word).
const OPEN_INDEX: &str = "CREATE INDEX ix_services_open ON services \
    (created_at, id, status, respond_due_at, responded_at, resolve_due_at, owner_id, assignee_id) \
    WHERE (status || '') IN ('new', 'assigned')";

/// An account manager's pages (theirs, and what they handle for others: the scope's two
/// arms, each read in the list's order and stopped after a page). A stage's page read every
/// service of that status newest first for the few of theirs: the owner's and the handler's
/// status indexes are now in the list's order (the handler's keeps whose a service is and
/// when it is due after it: what waits for them and how much of it is late, counted from the
/// index alone). The type filter and the handler's arm looked up every row to check its type
/// and owner: the newest-first indexes carry them.
fn manager_pages() -> Vec<Ddl> {
    [
        rebuilt(
            "ix_services_owner_created",
            S::Table,
            &[&S::OwnerId, &S::CreatedAt, &S::Id, &S::ServiceType],
        ),
        rebuilt(
            "ix_services_assignee_created",
            S::Table,
            &[
                &S::AssigneeId,
                &S::CreatedAt,
                &S::Id,
                &S::OwnerId,
                &S::ServiceType,
            ],
        ),
        rebuilt(
            "ix_services_owner_status",
            S::Table,
            &[&S::OwnerId, &S::Status, &S::CreatedAt, &S::Id],
        ),
        rebuilt(
            "ix_services_assignee_status",
            S::Table,
            &[
                &S::AssigneeId,
                &S::Status,
                &S::CreatedAt,
                &S::Id,
                &S::OwnerId,
                &S::RespondDueAt,
                &S::RespondedAt,
                &S::ResolveDueAt,
            ],
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What the service lists read at a million services: the home page counts what waits for a
/// user's feedback (taken by them, handled), where the owner's index read every one of
/// theirs; an account manager's list by urgency (each of the scope's two arms in the due
/// order: `Scoped::arms`), which sorted every one of theirs; the overdue list, which walked
/// every service newest first for the few open ones.
fn people() -> Vec<Ddl> {
    vec![
        // A customer's services with whose they are: one customer's in a manager's scope is
        // read and counted from the index alone.
        Ddl::DropIndex(Index::drop().name("ix_services_customer").to_owned()),
        // A handler's services by status with whose they are and when they are due: what
        // waits for them and how much of it is late, and the services a manager handles for
        // others (the scope's second arm), counted from the index alone.
        Ddl::DropIndex(Index::drop().name("ix_services_assignee_status").to_owned()),
        index(
            "ix_services_assignee_status",
            S::Table,
            &[
                &S::AssigneeId,
                &S::Status,
                &S::OwnerId,
                &S::RespondDueAt,
                &S::RespondedAt,
                &S::ResolveDueAt,
                &S::Id,
            ],
        ),
        index(
            "ix_services_customer",
            S::Table,
            &[
                &S::CustomerId,
                &S::CreatedAt,
                &S::Id,
                &S::OwnerId,
                &S::AssigneeId,
            ],
        ),
        index(
            "ix_services_owner_status",
            S::Table,
            &[&S::OwnerId, &S::Status, &S::Id],
        ),
        Ddl::PerBackend {
            sqlite: "CREATE INDEX ix_services_owner_due ON services (owner_id, resolve_due_at, id)",
            postgres: "CREATE INDEX ix_services_owner_due ON services \
                       (owner_id, resolve_due_at NULLS FIRST, id)",
        },
        // The open services newest first, with what says whether they are late and whose
        // they are: the overdue lists and counts (a few thousand in a million) read it alone.
        Ddl::PerBackend {
            sqlite: OPEN_INDEX,
            postgres: OPEN_INDEX,
        },
        Ddl::PerBackend {
            sqlite: "CREATE INDEX ix_services_assignee_due ON services \
                     (assignee_id, resolve_due_at, id)",
            postgres: "CREATE INDEX ix_services_assignee_due ON services \
                       (assignee_id, resolve_due_at NULLS FIRST, id)",
        },
    ]
}

fn service() -> Vec<Ddl> {
    let ts = |c: S| {
        ColumnDef::new(c)
            .timestamp_with_time_zone()
            .null()
            .to_owned()
    };
    let mut services = Table::create()
        .table(S::Table)
        .col(id_col(S::Id))
        .col(
            ColumnDef::new(S::Number)
                .string_len(20)
                .not_null()
                .unique_key(),
        )
        .col(ColumnDef::new(S::ServiceType).string_len(64).not_null())
        .col(ColumnDef::new(S::Title).string_len(100).not_null())
        // The customer module's tables: named as strings, not through their `Iden`.
        .col(ColumnDef::new(S::CustomerId).big_integer().not_null())
        .col(ColumnDef::new(S::ContactId).big_integer().null())
        .col(ColumnDef::new(S::Channel).string_len(64).null())
        .col(ColumnDef::new(S::Request).text().not_null())
        .col(ColumnDef::new(S::Priority).string_len(16).not_null())
        .col(ColumnDef::new(S::Status).string_len(16).not_null())
        .col(ColumnDef::new(S::OwnerId).big_integer().not_null())
        .col(ColumnDef::new(S::AssigneeId).big_integer().null())
        .col(ts(S::AssignedAt))
        .col(ColumnDef::new(S::Handling).text().null())
        .col(ColumnDef::new(S::HandledBy).big_integer().null())
        .col(ts(S::HandledAt))
        .col(ColumnDef::new(S::Result).text().null())
        .col(ColumnDef::new(S::Satisfaction).small_integer().null())
        .col(ts(S::FeedbackAt))
        .col(ts(S::ArchivedAt))
        .col(ts(S::RespondedAt))
        .col(ts(S::RespondDueAt))
        .col(ts(S::ResolveDueAt))
        .foreign_key(
            ForeignKey::create()
                .from(S::Table, S::CustomerId)
                .to(Alias::new("customers"), Alias::new("id"))
                .on_delete(ForeignKeyAction::Restrict),
        )
        .foreign_key(
            ForeignKey::create()
                .from(S::Table, S::ContactId)
                .to(Alias::new("contacts"), Alias::new("id"))
                .on_delete(ForeignKeyAction::SetNull),
        )
        .to_owned();
    audited(
        &mut services,
        S::CreatedAt,
        S::CreatedBy,
        S::UpdatedAt,
        S::UpdatedBy,
        S::Version,
    );

    let mut steps = Table::create()
        .table(St::Table)
        .col(id_col(St::Id))
        .col(ColumnDef::new(St::ServiceId).big_integer().not_null())
        .col(ColumnDef::new(St::Step).string_len(16).not_null())
        .col(ColumnDef::new(St::Accepted).boolean().null())
        .col(ColumnDef::new(St::Content).text().not_null())
        .foreign_key(
            ForeignKey::create()
                .from(St::Table, St::ServiceId)
                .to(S::Table, S::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    audited(
        &mut steps,
        St::CreatedAt,
        St::CreatedBy,
        St::UpdatedAt,
        St::UpdatedBy,
        St::Version,
    );

    let numbers = Table::create()
        .table(N::Table)
        .col(
            ColumnDef::new(N::Day)
                .string_len(8)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(N::Last).big_integer().not_null())
        .to_owned();

    let mut routing = Table::create()
        .table(R::Table)
        .col(id_col(R::Id))
        .col(
            ColumnDef::new(R::ServiceType)
                .string_len(64)
                .not_null()
                .unique_key(),
        )
        .col(ColumnDef::new(R::Mode).string_len(16).not_null())
        .col(ColumnDef::new(R::LastUserId).big_integer().null())
        .to_owned();
    audited(
        &mut routing,
        R::CreatedAt,
        R::CreatedBy,
        R::UpdatedAt,
        R::UpdatedBy,
        R::Version,
    );

    let mut sla = Table::create()
        .table(L::Table)
        .col(id_col(L::Id))
        .col(ColumnDef::new(L::ServiceType).string_len(64).not_null())
        .col(ColumnDef::new(L::CustomerLevel).string_len(64).not_null())
        .col(ColumnDef::new(L::RespondMinutes).integer().not_null())
        .col(ColumnDef::new(L::ResolveMinutes).integer().not_null())
        .index(
            Index::create()
                .name("ux_service_sla_type_level")
                .col(L::ServiceType)
                .col(L::CustomerLevel)
                .unique(),
        )
        .to_owned();
    audited(
        &mut sla,
        L::CreatedAt,
        L::CreatedBy,
        L::UpdatedAt,
        L::UpdatedBy,
        L::Version,
    );

    vec![
        Ddl::Table(services),
        Ddl::Table(steps),
        Ddl::Table(numbers),
        Ddl::Table(routing),
        Ddl::Table(sla),
        // The list's default sort (newest first) and its filters, each ending in the id; the
        // data scope's two owners first where a manager's or a handler's list reads them.
        index("ix_services_created", S::Table, &[&S::CreatedAt, &S::Id]),
        index(
            "ix_services_owner_created",
            S::Table,
            &[&S::OwnerId, &S::CreatedAt, &S::Id],
        ),
        index(
            "ix_services_assignee_created",
            S::Table,
            &[&S::AssigneeId, &S::CreatedAt, &S::Id],
        ),
        // Each stage's page (a status) and the type filter.
        index(
            "ix_services_status_created",
            S::Table,
            &[&S::Status, &S::CreatedAt, &S::Id],
        ),
        index(
            "ix_services_type_created",
            S::Table,
            &[&S::ServiceType, &S::CreatedAt, &S::Id],
        ),
        // The most urgent first (a nullable sort: NULLs first on both databases, read either
        // way on PostgreSQL only with NULLS FIRST in the index).
        Ddl::PerBackend {
            sqlite: "CREATE INDEX ix_services_due ON services (resolve_due_at, id)",
            postgres: "CREATE INDEX ix_services_due ON services (resolve_due_at NULLS FIRST, id)",
        },
        // Overdue and due soon: the open ones by their resolution target; a handler's load.
        index(
            "ix_services_status_due",
            S::Table,
            &[&S::Status, &S::ResolveDueAt, &S::Id],
        ),
        index(
            "ix_services_assignee_status",
            S::Table,
            &[&S::AssigneeId, &S::Status, &S::Id],
        ),
        // The customer page's services.
        index(
            "ix_services_customer",
            S::Table,
            &[&S::CustomerId, &S::CreatedAt, &S::Id],
        ),
        index(
            "ix_service_steps_service",
            St::Table,
            &[&St::ServiceId, &St::Id],
        ),
    ]
}
