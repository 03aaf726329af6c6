//! One migration tree for both backends. Each migration builds its DDL with sea-query and
//! renders it for the backend at hand; `kehu_migrations` records what ran. `serve` applies
//! pending migrations at start, as does `kehu migrate`. The platform's migrations are listed
//! here; a product module brings its own list ([`Migration`]), run after the platform's by
//! [`migrate_with`] and recorded in the same table. The helpers (`id_col`, `ts`, `audited`,
//! `index` …) are public so a module builds its tables the way the platform does.

use chrono::Utc;
use sea_query::{
    Alias, Asterisk, ColumnDef, Expr, ExprTrait, ForeignKey, ForeignKeyAction, Iden, Index,
    IndexCreateStatement, IndexDropStatement, PostgresQueryBuilder, Query, SqliteQueryBuilder,
    Table, TableAlterStatement, TableCreateStatement, UpdateStatement,
};

use crate::StoreResult;
use crate::db::{Backend, Db, Tx, TxLock};
use crate::schema::*;

type Build = fn() -> Vec<Ddl>;

/// One DDL statement, rendered per backend when it runs.
#[allow(clippy::large_enum_variant, reason = "built once per migration run")]
pub enum Ddl {
    Table(TableCreateStatement),
    Index(IndexCreateStatement),
    DropIndex(IndexDropStatement),
    /// Widens or retypes a column on PostgreSQL. SQLite does not enforce `VARCHAR(n)` lengths
    /// (and cannot alter a column), so there it is nothing to do.
    WidenOnPostgres(TableAlterStatement),
    /// Where the databases have no common DDL (SQLite's FTS5 virtual tables, PostgreSQL's
    /// `tsvector` and GIN indexes): one statement per backend, either may be empty.
    PerBackend {
        sqlite: &'static str,
        postgres: &'static str,
    },
    /// A column added to a table (nullable, or with a default: both databases can).
    AddColumn(TableAlterStatement),
    /// Rows brought up to a new column (values written into the statement).
    Update(UpdateStatement),
}

impl Ddl {
    fn render(&self, backend: Backend) -> String {
        match (self, backend) {
            (Ddl::Table(t), Backend::Sqlite) => t.to_string(SqliteQueryBuilder),
            (Ddl::Table(t), Backend::Postgres) => t.to_string(PostgresQueryBuilder),
            (Ddl::Index(i), Backend::Sqlite) => i.to_string(SqliteQueryBuilder),
            (Ddl::Index(i), Backend::Postgres) => i.to_string(PostgresQueryBuilder),
            (Ddl::DropIndex(i), Backend::Sqlite) => i.to_string(SqliteQueryBuilder),
            (Ddl::DropIndex(i), Backend::Postgres) => i.to_string(PostgresQueryBuilder),
            (Ddl::WidenOnPostgres(_), Backend::Sqlite) => String::new(),
            (Ddl::WidenOnPostgres(a), Backend::Postgres) => a.to_string(PostgresQueryBuilder),
            (Ddl::PerBackend { sqlite, .. }, Backend::Sqlite) => (*sqlite).to_owned(),
            (Ddl::PerBackend { postgres, .. }, Backend::Postgres) => (*postgres).to_owned(),
            (Ddl::AddColumn(a), Backend::Sqlite) => a.to_string(SqliteQueryBuilder),
            (Ddl::AddColumn(a), Backend::Postgres) => a.to_string(PostgresQueryBuilder),
            (Ddl::Update(u), Backend::Sqlite) => u.to_string(SqliteQueryBuilder),
            (Ddl::Update(u), Backend::Postgres) => u.to_string(PostgresQueryBuilder),
        }
    }
}

/// A product module's migration: its DDL, built per backend when it runs, recorded by
/// `version` in `kehu_migrations`. Never edit one that has shipped; add a new one.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Unique across every module: each module takes a block of [`MODULE_VERSIONS_FROM`]-sized
    /// numbers (customers 1000–1999, sales 2000–2999 …; ARCHITECTURE.md keeps the list).
    pub version: i64,
    /// Recorded with the version; a database that recorded another name for it is refused.
    pub name: &'static str,
    pub build: fn() -> Vec<Ddl>,
}

/// The platform's migrations take the versions below this; modules take blocks above it.
pub const MODULE_VERSIONS_FROM: i64 = 1000;

/// Every migration in order. Never edit one that has shipped; add a new one.
const MIGRATIONS: &[(i64, &str, Build)] = &[
    (1, "platform", platform),
    (2, "sign_in_throttle", sign_in_throttle),
    (3, "list_indexes", list_indexes),
    (4, "saved_filters", saved_filters),
    (6, "search_index", search_index),
    (7, "search_tokens_version", search_tokens_version),
    (8, "search_slices", search_slices),
    (9, "notices", notices),
    (10, "dictionary_english", dictionary_english),
    (11, "jobs", jobs),
];

pub fn id_col<T: Iden + 'static>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

pub fn ts<T: Iden + 'static>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub fn ts_null<T: Iden + 'static>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

/// The bookkeeping every business table carries: who created and last changed a row, when,
/// and a version for optimistic locking.
pub fn audited<C: Iden + Clone + 'static>(
    t: &mut TableCreateStatement,
    created_at: C,
    created_by: C,
    updated_at: C,
    updated_by: C,
    version: C,
) {
    t.col(ts(created_at))
        .col(ColumnDef::new(created_by).big_integer().null())
        .col(ts(updated_at))
        .col(ColumnDef::new(updated_by).big_integer().null())
        .col(ColumnDef::new(version).integer().not_null().default(1));
}

fn platform() -> Vec<Ddl> {
    let mut roles = Table::create()
        .table(Roles::Table)
        .col(id_col(Roles::Id))
        .col(
            ColumnDef::new(Roles::Code)
                .string_len(40)
                .null()
                .unique_key(),
        )
        .col(
            ColumnDef::new(Roles::Name)
                .string_len(64)
                .not_null()
                .unique_key(),
        )
        .col(ColumnDef::new(Roles::Description).string_len(500).null())
        .col(ColumnDef::new(Roles::DataScope).string_len(8).not_null())
        .col(
            ColumnDef::new(Roles::Builtin)
                .boolean()
                .not_null()
                .default(false),
        )
        .to_owned();
    audited(
        &mut roles,
        Roles::CreatedAt,
        Roles::CreatedBy,
        Roles::UpdatedAt,
        Roles::UpdatedBy,
        Roles::Version,
    );

    let rights = Table::create()
        .table(Rights::Table)
        .col(
            ColumnDef::new(Rights::Code)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Rights::Module).string_len(32).not_null())
        .to_owned();

    let role_rights = Table::create()
        .table(RoleRights::Table)
        .col(ColumnDef::new(RoleRights::RoleId).big_integer().not_null())
        .col(
            ColumnDef::new(RoleRights::RightCode)
                .string_len(64)
                .not_null(),
        )
        .primary_key(
            Index::create()
                .col(RoleRights::RoleId)
                .col(RoleRights::RightCode),
        )
        .foreign_key(
            ForeignKey::create()
                .from(RoleRights::Table, RoleRights::RoleId)
                .to(Roles::Table, Roles::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .from(RoleRights::Table, RoleRights::RightCode)
                .to(Rights::Table, Rights::Code)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();

    let mut users = Table::create()
        .table(Users::Table)
        .col(id_col(Users::Id))
        .col(
            ColumnDef::new(Users::Username)
                .string_len(32)
                .not_null()
                .unique_key(),
        )
        .col(ColumnDef::new(Users::DisplayName).string_len(64).not_null())
        .col(ColumnDef::new(Users::Email).string_len(254).null())
        .col(
            ColumnDef::new(Users::PasswordHash)
                .string_len(255)
                .not_null(),
        )
        .col(ColumnDef::new(Users::RoleId).big_integer().not_null())
        .col(ColumnDef::new(Users::Language).string_len(8).null())
        .col(
            ColumnDef::new(Users::Disabled)
                .boolean()
                .not_null()
                .default(false),
        )
        .col(
            ColumnDef::new(Users::MustChangePassword)
                .boolean()
                .not_null()
                .default(false),
        )
        .col(
            ColumnDef::new(Users::FailedLogins)
                .integer()
                .not_null()
                .default(0),
        )
        .col(ts_null(Users::LockedUntil))
        .col(ts_null(Users::LastLoginAt))
        .foreign_key(
            ForeignKey::create()
                .from(Users::Table, Users::RoleId)
                .to(Roles::Table, Roles::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .to_owned();
    audited(
        &mut users,
        Users::CreatedAt,
        Users::CreatedBy,
        Users::UpdatedAt,
        Users::UpdatedBy,
        Users::Version,
    );

    let mut dictionary = Table::create()
        .table(Dictionary::Table)
        .col(id_col(Dictionary::Id))
        .col(ColumnDef::new(Dictionary::Kind).string_len(40).not_null())
        .col(ColumnDef::new(Dictionary::Item).string_len(64).not_null())
        .col(ColumnDef::new(Dictionary::Value).string_len(64).not_null())
        .col(
            ColumnDef::new(Dictionary::Sort)
                .integer()
                .not_null()
                .default(0),
        )
        .col(
            ColumnDef::new(Dictionary::Editable)
                .boolean()
                .not_null()
                .default(true),
        )
        .to_owned();
    audited(
        &mut dictionary,
        Dictionary::CreatedAt,
        Dictionary::CreatedBy,
        Dictionary::UpdatedAt,
        Dictionary::UpdatedBy,
        Dictionary::Version,
    );

    let audit_log = Table::create()
        .table(AuditLog::Table)
        .col(id_col(AuditLog::Id))
        .col(ts(AuditLog::At))
        .col(ColumnDef::new(AuditLog::UserId).big_integer().null())
        .col(ColumnDef::new(AuditLog::Username).string_len(32).not_null())
        .col(ColumnDef::new(AuditLog::Action).string_len(16).not_null())
        .col(ColumnDef::new(AuditLog::Entity).string_len(32).not_null())
        .col(ColumnDef::new(AuditLog::EntityId).string_len(64).not_null())
        .col(ColumnDef::new(AuditLog::Changes).text().not_null())
        .to_owned();

    let sessions = Table::create()
        .table(Sessions::Table)
        .col(
            ColumnDef::new(Sessions::TokenHash)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Sessions::UserId).big_integer().not_null())
        .col(
            ColumnDef::new(Sessions::CsrfToken)
                .string_len(64)
                .not_null(),
        )
        .col(ts(Sessions::CreatedAt))
        .col(ts(Sessions::ExpiresAt))
        .col(ts(Sessions::LastSeenAt))
        .col(ColumnDef::new(Sessions::Ip).string_len(64).null())
        .col(ColumnDef::new(Sessions::UserAgent).string_len(255).null())
        .foreign_key(
            ForeignKey::create()
                .from(Sessions::Table, Sessions::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();

    let api_tokens = Table::create()
        .table(ApiTokens::Table)
        .col(id_col(ApiTokens::Id))
        .col(ColumnDef::new(ApiTokens::UserId).big_integer().not_null())
        .col(ColumnDef::new(ApiTokens::Name).string_len(64).not_null())
        .col(
            ColumnDef::new(ApiTokens::TokenHash)
                .string_len(64)
                .not_null()
                .unique_key(),
        )
        .col(ts(ApiTokens::CreatedAt))
        .col(ts_null(ApiTokens::LastUsedAt))
        .col(ts_null(ApiTokens::ExpiresAt))
        .col(ts_null(ApiTokens::RevokedAt))
        .foreign_key(
            ForeignKey::create()
                .from(ApiTokens::Table, ApiTokens::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();

    vec![
        Ddl::Table(roles),
        Ddl::Table(rights),
        Ddl::Table(role_rights),
        Ddl::Table(users),
        Ddl::Table(dictionary),
        Ddl::Table(audit_log),
        Ddl::Table(sessions),
        Ddl::Table(api_tokens),
        index(
            "ux_dictionary_kind_item",
            Dictionary::Table,
            &[&Dictionary::Kind, &Dictionary::Item],
        )
        .unique(),
        index("ix_audit_log_at", AuditLog::Table, &[&AuditLog::At]),
        index(
            "ix_audit_log_entity",
            AuditLog::Table,
            &[&AuditLog::Entity, &AuditLog::EntityId],
        ),
        index(
            "ix_audit_log_user",
            AuditLog::Table,
            &[&AuditLog::UserId, &AuditLog::At],
        ),
        index("ix_users_role", Users::Table, &[&Users::RoleId]),
        index("ix_sessions_user", Sessions::Table, &[&Sessions::UserId]),
        index(
            "ix_api_tokens_user",
            ApiTokens::Table,
            &[&ApiTokens::UserId],
        ),
    ]
}

/// Sign-in throttling counters and the devices that signed in before (see
/// `kehu_store::throttle`); they replace the per-account lock in `users`.
fn sign_in_throttle() -> Vec<Ddl> {
    let throttle = Table::create()
        .table(SignInThrottle::Table)
        .col(
            ColumnDef::new(SignInThrottle::Scope)
                .string_len(8)
                .not_null(),
        )
        .col(
            ColumnDef::new(SignInThrottle::Subject)
                .string_len(160)
                .not_null(),
        )
        .col(
            ColumnDef::new(SignInThrottle::Failures)
                .integer()
                .not_null()
                .default(0),
        )
        .col(ts(SignInThrottle::LastAt))
        .col(ts(SignInThrottle::BlockedUntil))
        .primary_key(
            Index::create()
                .col(SignInThrottle::Scope)
                .col(SignInThrottle::Subject),
        )
        .to_owned();
    let devices = Table::create()
        .table(SignInDevices::Table)
        .col(
            ColumnDef::new(SignInDevices::TokenHash)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(SignInDevices::Username)
                .string_len(64)
                .not_null(),
        )
        .col(ts(SignInDevices::CreatedAt))
        .col(ts(SignInDevices::ExpiresAt))
        .to_owned();
    // `sign_in_throttled` (17 characters) did not fit migration 1's VARCHAR(16).
    let audit_action = Table::alter()
        .table(AuditLog::Table)
        .modify_column(ColumnDef::new(AuditLog::Action).string_len(32).not_null())
        .to_owned();
    vec![
        Ddl::WidenOnPostgres(audit_action),
        Ddl::Table(throttle),
        Ddl::Table(devices),
        index(
            "ix_sign_in_throttle_last",
            SignInThrottle::Table,
            &[&SignInThrottle::LastAt],
        ),
        index(
            "ix_sign_in_devices_expires",
            SignInDevices::Table,
            &[&SignInDevices::ExpiresAt],
        ),
        index(
            "ix_sessions_expires",
            Sessions::Table,
            &[&Sessions::ExpiresAt],
        ),
    ]
}

/// An index for every sort and filter the lists offer (`kehu_store::page`): each sort key
/// with the id as tie-breaker, so a cursor is a range on one index; each audit filter ahead of
/// the time, so a filtered page is a range too. The indexes of migration 1 that these extend
/// (`(at)`, `(user_id, at)`, `(entity, entity_id)`, `users (role_id)`) give way to them.
fn list_indexes() -> Vec<Ddl> {
    let drop = |name: &str| Ddl::DropIndex(Index::drop().name(name).to_owned());
    vec![
        drop("ix_audit_log_at"),
        drop("ix_audit_log_user"),
        drop("ix_audit_log_entity"),
        drop("ix_users_role"),
        index(
            "ix_audit_log_at_id",
            AuditLog::Table,
            &[&AuditLog::At, &AuditLog::Id],
        ),
        index(
            "ix_audit_log_user_at",
            AuditLog::Table,
            &[&AuditLog::UserId, &AuditLog::At, &AuditLog::Id],
        ),
        index(
            "ix_audit_log_entity_at",
            AuditLog::Table,
            &[&AuditLog::Entity, &AuditLog::At, &AuditLog::Id],
        ),
        index(
            "ix_audit_log_record_at",
            AuditLog::Table,
            &[
                &AuditLog::Entity,
                &AuditLog::EntityId,
                &AuditLog::At,
                &AuditLog::Id,
            ],
        ),
        index(
            "ix_audit_log_action_at",
            AuditLog::Table,
            &[&AuditLog::Action, &AuditLog::At, &AuditLog::Id],
        ),
        index(
            "ix_users_display_name",
            Users::Table,
            &[&Users::DisplayName, &Users::Id],
        ),
        index(
            "ix_users_last_login",
            Users::Table,
            &[&Users::LastLoginAt, &Users::Id],
        ),
        index(
            "ix_users_created",
            Users::Table,
            &[&Users::CreatedAt, &Users::Id],
        ),
        index(
            "ix_users_role_username",
            Users::Table,
            &[&Users::RoleId, &Users::Username],
        ),
    ]
}

/// A user's saved filters of the lists (`kehu_store::saved_filters`): one name per user and
/// list, read by user and list.
fn saved_filters() -> Vec<Ddl> {
    let mut t = Table::create()
        .table(SavedFilters::Table)
        .col(id_col(SavedFilters::Id))
        .col(
            ColumnDef::new(SavedFilters::UserId)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(SavedFilters::ListKey)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(SavedFilters::Name)
                .string_len(160)
                .not_null(),
        )
        .col(
            ColumnDef::new(SavedFilters::Query)
                .string_len(2000)
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .from(SavedFilters::Table, SavedFilters::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    audited(
        &mut t,
        SavedFilters::CreatedAt,
        SavedFilters::CreatedBy,
        SavedFilters::UpdatedAt,
        SavedFilters::UpdatedBy,
        SavedFilters::Version,
    );
    vec![
        Ddl::Table(t),
        index(
            "ux_saved_filters_user_list_name",
            SavedFilters::Table,
            &[
                &SavedFilters::UserId,
                &SavedFilters::ListKey,
                &SavedFilters::Name,
            ],
        )
        .unique(),
    ]
}

/// The search index (`kehu_store::search`): the documents, one per record of any module, and
/// their tokens, indexed by SQLite's FTS5 (a contentless table, only the inverted index) or
/// PostgreSQL's GIN over a `tsvector` column.
fn search_index() -> Vec<Ddl> {
    let docs = Table::create()
        .table(SearchDocs::Table)
        .col(id_col(SearchDocs::Id))
        .col(ColumnDef::new(SearchDocs::Entity).string_len(32).not_null())
        .col(
            ColumnDef::new(SearchDocs::EntityId)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(SearchDocs::OwnerId).big_integer().null())
        .col(ColumnDef::new(SearchDocs::Title).text().not_null())
        .col(ColumnDef::new(SearchDocs::Subtitle).text().not_null())
        .col(ColumnDef::new(SearchDocs::Body).text().not_null())
        .to_owned();
    vec![
        Ddl::Table(docs),
        index(
            "ux_search_docs_entity",
            SearchDocs::Table,
            &[&SearchDocs::Entity, &SearchDocs::EntityId],
        )
        .unique(),
        Ddl::PerBackend {
            // `detail=none`: only which documents hold a token (no positions: the search
            // never asks for phrases), the cheapest index to write; `ascii`: tokens are split
            // only at ASCII punctuation and spaces, so ours (tag letter + text) stay whole.
            sqlite: "CREATE VIRTUAL TABLE search_fts USING fts5(tokens, content='', \
                     contentless_delete=1, detail=none, tokenize='ascii')",
            postgres: "ALTER TABLE search_docs ADD COLUMN tokens tsvector NOT NULL DEFAULT ''",
        },
        Ddl::PerBackend {
            // A document's index row goes with it.
            sqlite: "CREATE TRIGGER search_docs_deleted AFTER DELETE ON search_docs BEGIN \
                     DELETE FROM search_fts WHERE rowid = old.id; END",
            postgres: "CREATE INDEX ix_search_docs_tokens ON search_docs USING gin (tokens)",
        },
    ]
}

/// Which tokeniser wrote a document's tokens: those written before version 2 (which added a
/// token per Chinese character and per syllable) are written again when kehu starts
/// (`SearchStore::renew_stale`), found by the partial index.
fn search_tokens_version() -> Vec<Ddl> {
    vec![
        Ddl::PerBackend {
            sqlite: "ALTER TABLE search_docs ADD COLUMN tokens_version SMALLINT NOT NULL DEFAULT 1",
            postgres: "ALTER TABLE search_docs ADD COLUMN tokens_version SMALLINT NOT NULL DEFAULT 1",
        },
        Ddl::PerBackend {
            sqlite: "CREATE INDEX ix_search_docs_stale_v2 ON search_docs (id) WHERE tokens_version < 2",
            postgres: "CREATE INDEX ix_search_docs_stale_v2 ON search_docs (id) WHERE tokens_version < 2",
        },
    ]
}

/// PostgreSQL: the GIN index again over a fixed 1/16 and 1/256 of the documents (by id), which
/// a search reads before the whole index (see `search::SLICES`): GIN reads every document of a
/// token before it can stop, and the common ones (`c公司`: half of all documents) took 85 ms
/// each at two million documents, their 1/256 slice one. SQLite's FTS5 stops by itself.
///
/// GIN keeps new entries in a pending list that every search reads through until it is merged
/// (by VACUUM, or when it outgrows `gin_pending_list_limit`, 4 MB): a slice's index, written
/// for a few documents in 16, goes without one (`fastupdate = off`); the whole index's is kept
/// to 1 MB. Measured after importing a million customers: 4-8 ms a search with the lists,
/// 1.5-3.5 ms without.
fn search_slices() -> Vec<Ddl> {
    vec![
        Ddl::PerBackend {
            sqlite: "",
            postgres: "CREATE INDEX ix_search_docs_tokens_256 ON search_docs USING gin (tokens) \
                       WITH (fastupdate = off) WHERE id % 256 = 0",
        },
        Ddl::PerBackend {
            sqlite: "",
            postgres: "CREATE INDEX ix_search_docs_tokens_16 ON search_docs USING gin (tokens) \
                       WITH (fastupdate = off) WHERE id % 16 = 0",
        },
        Ddl::PerBackend {
            sqlite: "",
            postgres: "ALTER INDEX ix_search_docs_tokens SET (gin_pending_list_limit = 1024)",
        },
    ]
}

/// The in-app inbox: a user's notices, the unread ones (the badge) and the newest first (the
/// list) read from one index.
fn notices() -> Vec<Ddl> {
    let t = Table::create()
        .table(Notices::Table)
        .col(id_col(Notices::Id))
        .col(ColumnDef::new(Notices::UserId).big_integer().not_null())
        .col(ColumnDef::new(Notices::Kind).string_len(64).not_null())
        .col(ColumnDef::new(Notices::Record).string_len(32).not_null())
        .col(ColumnDef::new(Notices::RecordId).big_integer().not_null())
        .col(ColumnDef::new(Notices::Subject).string_len(200).not_null())
        .col(ts(Notices::CreatedAt))
        .col(ts_null(Notices::ReadAt))
        .foreign_key(
            ForeignKey::create()
                .from(Notices::Table, Notices::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    vec![
        Ddl::Table(t),
        index(
            "ix_notices_user_created",
            Notices::Table,
            &[&Notices::UserId, &Notices::CreatedAt, &Notices::Id],
        ),
        index(
            "ix_notices_user_unread",
            Notices::Table,
            &[&Notices::UserId, &Notices::ReadAt, &Notices::Id],
        ),
    ]
}

/// The scheduled jobs and their runs (`jobs.rs`).
fn jobs() -> Vec<Ddl> {
    let jobs = Table::create()
        .table(Jobs::Table)
        .col(
            ColumnDef::new(Jobs::Name)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Jobs::Schedule).string_len(100).not_null())
        .col(
            ColumnDef::new(Jobs::Enabled)
                .boolean()
                .not_null()
                .default(true),
        )
        .col(ts(Jobs::NextRunAt))
        .col(
            ColumnDef::new(Jobs::Attempt)
                .integer()
                .not_null()
                .default(0),
        )
        .col(ColumnDef::new(Jobs::LeaseHolder).string_len(100).null())
        .col(ts_null(Jobs::LeaseUntil))
        .col(ts(Jobs::UpdatedAt))
        .col(ColumnDef::new(Jobs::UpdatedBy).big_integer().null())
        .to_owned();
    let runs = Table::create()
        .table(JobRuns::Table)
        .col(id_col(JobRuns::Id))
        .col(ColumnDef::new(JobRuns::Job).string_len(64).not_null())
        .col(ColumnDef::new(JobRuns::Trigger).string_len(16).not_null())
        .col(ColumnDef::new(JobRuns::Holder).string_len(100).not_null())
        .col(ColumnDef::new(JobRuns::Attempt).integer().not_null())
        .col(ts(JobRuns::StartedAt))
        .col(ts_null(JobRuns::FinishedAt))
        .col(ColumnDef::new(JobRuns::Status).string_len(16).not_null())
        .col(ColumnDef::new(JobRuns::Figures).text().null())
        .col(ColumnDef::new(JobRuns::Error).text().null())
        .col(ColumnDef::new(JobRuns::StartedBy).big_integer().null())
        .to_owned();
    vec![
        Ddl::Table(jobs),
        Ddl::Table(runs),
        index(
            "ix_job_runs_job_started",
            JobRuns::Table,
            &[&JobRuns::Job, &JobRuns::StartedAt, &JobRuns::Id],
        ),
        index(
            "ix_job_runs_started",
            JobRuns::Table,
            &[&JobRuns::StartedAt, &JobRuns::Id],
        ),
    ]
}

/// The dictionary's items get English names (`item_en`): the English interface shows them.
/// The seeded items that have none get theirs.
fn dictionary_english() -> Vec<Ddl> {
    let add = Table::alter()
        .table(Dictionary::Table)
        .add_column(ColumnDef::new(Dictionary::ItemEn).string_len(64).null())
        .to_owned();
    let mut ddl = vec![Ddl::AddColumn(add)];
    for (kind, item, en, value, _) in kehu_domain::dictionary::seed() {
        if en == item {
            continue;
        }
        ddl.push(Ddl::Update(
            Query::update()
                .table(Dictionary::Table)
                .value(Dictionary::ItemEn, en)
                .and_where(Expr::col(Dictionary::Kind).eq(kind))
                .and_where(Expr::col(Dictionary::Value).eq(value))
                .and_where(Expr::col(Dictionary::ItemEn).is_null())
                .to_owned(),
        ));
    }
    ddl
}

/// An index built again on other columns under its name: dropped, then created.
pub fn rebuilt<T: Iden + 'static>(name: &str, table: T, cols: &[&dyn IdenCol]) -> [Ddl; 2] {
    [
        Ddl::DropIndex(Index::drop().name(name).to_owned()),
        index(name, table, cols),
    ]
}

pub fn index<T: Iden + 'static>(name: &str, table: T, cols: &[&dyn IdenCol]) -> Ddl {
    let mut i = Index::create().name(name).table(table).to_owned();
    for c in cols {
        c.add_to(&mut i);
    }
    Ddl::Index(i)
}

/// A column that can be added to an index, whatever table enum it comes from.
pub trait IdenCol {
    fn add_to(&self, i: &mut IndexCreateStatement);
}

impl<T: Iden + Clone + 'static> IdenCol for T {
    fn add_to(&self, i: &mut IndexCreateStatement) {
        i.col(self.clone());
    }
}

impl Ddl {
    /// The index made unique.
    pub fn unique(self) -> Self {
        match self {
            Ddl::Index(mut i) => Ddl::Index(i.unique().to_owned()),
            other => other,
        }
    }
}

/// Applies every pending platform migration (see [`migrate_with`]).
pub async fn migrate(db: &Db) -> anyhow::Result<Vec<i64>> {
    migrate_with(db, &[]).await
}

/// Applies every pending migration, the platform's and then the modules' (`modules`, in their
/// order), in one transaction, and returns the versions it applied. On PostgreSQL an advisory
/// lock keeps two kehu processes starting at once from migrating twice. A module version
/// below [`MODULE_VERSIONS_FROM`], declared twice, or recorded under another name is refused
/// before anything runs.
pub async fn migrate_with(db: &Db, modules: &[Migration]) -> anyhow::Result<Vec<i64>> {
    use anyhow::Context as _;
    let mut all: Vec<Migration> = MIGRATIONS
        .iter()
        .map(|&(version, name, build)| Migration {
            version,
            name,
            build,
        })
        .collect();
    for m in modules {
        if m.version < MODULE_VERSIONS_FROM {
            anyhow::bail!(
                "module migration {} {}: versions below {MODULE_VERSIONS_FROM} are the platform's",
                m.version,
                m.name
            );
        }
        if let Some(other) = all.iter().find(|o| o.version == m.version) {
            anyhow::bail!(
                "migrations {} and {} both take version {}",
                other.name,
                m.name,
                m.version
            );
        }
        all.push(*m);
    }
    let bookkeeping = Table::create()
        .table(KehuMigrations::Table)
        .if_not_exists()
        .col(
            ColumnDef::new(KehuMigrations::Version)
                .big_integer()
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(KehuMigrations::Name)
                .string_len(64)
                .not_null(),
        )
        .col(ts(KehuMigrations::AppliedAt))
        .to_owned();
    let mut tx = db
        .begin()
        .await
        .context("starting the migration transaction")?;
    tx.lock(TxLock::Startup)
        .await
        .context("taking the migration lock")?;
    tx.execute_raw(&Ddl::Table(bookkeeping).render(tx.backend()))
        .await
        .context("creating kehu_migrations")?;
    let done: Vec<(i64, String)> = tx
        .fetch_all(
            Query::select()
                .columns([KehuMigrations::Version, KehuMigrations::Name])
                .from(KehuMigrations::Table),
        )
        .await
        .context("reading applied migrations")?;
    for m in &all {
        if let Some((_, recorded)) = done.iter().find(|(v, n)| *v == m.version && n != m.name) {
            anyhow::bail!(
                "migration {} is recorded as {recorded:?} but declared as {:?}: two modules share the \
                 version, or a shipped migration was renamed",
                m.version,
                m.name
            );
        }
    }
    let mut applied = Vec::new();
    for Migration {
        version,
        name,
        build,
    } in &all
    {
        if done.iter().any(|(v, _)| v == version) {
            continue;
        }
        for ddl in build() {
            let sql = ddl.render(tx.backend());
            if sql.is_empty() {
                continue;
            }
            tx.execute_raw(&sql)
                .await
                .with_context(|| format!("migration {version} {name}: {sql}"))?;
        }
        tx.execute(
            Query::insert()
                .into_table(KehuMigrations::Table)
                .columns([
                    KehuMigrations::Version,
                    KehuMigrations::Name,
                    KehuMigrations::AppliedAt,
                ])
                .values_panic([(*version).into(), (*name).into(), Expr::val(Utc::now())]),
        )
        .await
        .with_context(|| format!("recording migration {version}"))?;
        applied.push(*version);
    }
    if !applied.is_empty() {
        analyze_new_indexes(&mut tx)
            .await
            .context("reading the new indexes' statistics")?;
    }
    tx.commit().await.context("committing migrations")?;
    Ok(applied)
}

/// On SQLite, the statistics of every index of an analysed table that has none yet (one a
/// migration just created or rebuilt). SQLite keeps them per index and takes an index without
/// them for one that finds ten rows: a service list at a million rows chose a new index it
/// then sorted a quarter of the table from (1.2 s a page) over the one in its order. PostgreSQL
/// keeps statistics per column: nothing to do there.
async fn analyze_new_indexes(tx: &mut Tx) -> StoreResult<()> {
    if tx.backend() != Backend::Sqlite {
        return Ok(());
    }
    let master = Alias::new("sqlite_master");
    let stat = Alias::new("sqlite_stat1");
    let name = Alias::new("name");
    let analysed: Vec<(i64,)> = tx
        .fetch_all(
            Query::select()
                .expr(Expr::col(Asterisk).count())
                .from(master.clone())
                .and_where(Expr::col(name.clone()).eq("sqlite_stat1")),
        )
        .await?;
    if analysed.first().is_none_or(|(n,)| *n == 0) {
        return Ok(());
    }
    let missing: Vec<(String,)> = tx
        .fetch_all(
            Query::select()
                .column(name.clone())
                .from(master)
                .and_where(Expr::col(Alias::new("type")).eq("index"))
                .and_where(Expr::col(name.clone()).not_like("sqlite_%"))
                .and_where(
                    Expr::col(Alias::new("tbl_name")).in_subquery(
                        Query::select()
                            .column(Alias::new("tbl"))
                            .from(stat.clone())
                            .to_owned(),
                    ),
                )
                .and_where(
                    Expr::col(name).not_in_subquery(
                        Query::select()
                            .column(Alias::new("idx"))
                            .from(stat)
                            .and_where(Expr::col(Alias::new("idx")).is_not_null())
                            .to_owned(),
                    ),
                ),
        )
        .await?;
    for (index,) in missing {
        tx.execute_raw(&format!("ANALYZE \"{}\"", index.replace('"', "\"\"")))
            .await?;
    }
    Ok(())
}
