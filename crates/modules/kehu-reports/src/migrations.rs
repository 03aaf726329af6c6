//! The reports module's migrations (versions 5000–5999). Never edit a shipped one.

use kehu_store::migrations::{Ddl, Migration, id_col, ts, ts_null};
use sea_query::{Alias, ColumnDef, Table};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 5000,
        name: "reports_for_account_managers",
        build: managers_read,
    },
    Migration {
        version: 5001,
        name: "analytics_runs",
        build: analytics_runs,
    },
];

/// The customer-value analysis' runs with their figures (`value.rs`): the value reports read
/// the last finished one.
fn analytics_runs() -> Vec<Ddl> {
    let t = Table::create()
        .table(Alias::new("analytics_runs"))
        .col(id_col(Alias::new("id")))
        .col(ts(Alias::new("started_at")))
        .col(ts_null(Alias::new("finished_at")))
        .col(ColumnDef::new(Alias::new("as_of")).date().not_null())
        .col(
            ColumnDef::new(Alias::new("orders"))
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(Alias::new("figures")).text().null())
        .to_owned();
    vec![Ddl::Table(t)]
}

/// Account managers read the reports of their own customers: an installation whose built-in
/// account manager role was seeded before this module came gets `report.read` too (a new one
/// is seeded with it).
const MANAGERS_READ: &str = "INSERT INTO role_rights (role_id, right_code) \
    SELECT id, 'report.read' FROM roles WHERE code = 'account_manager' AND builtin \
    AND NOT EXISTS (SELECT 1 FROM role_rights r WHERE r.role_id = roles.id \
    AND r.right_code = 'report.read') \
    AND EXISTS (SELECT 1 FROM rights WHERE code = 'report.read')";

fn managers_read() -> Vec<Ddl> {
    vec![Ddl::PerBackend {
        sqlite: MANAGERS_READ,
        postgres: MANAGERS_READ,
    }]
}
