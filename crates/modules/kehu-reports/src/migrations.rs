//! The reports module's migrations (versions 5000–5999). Never edit a shipped one.

use kehu_store::migrations::{Ddl, Migration};

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 5000,
    name: "reports_for_account_managers",
    build: managers_read,
}];

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
