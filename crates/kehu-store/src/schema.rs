//! Table and column names, shared by the migrations and the stores.

use sea_query::Iden;

#[derive(Iden, Clone, Copy)]
pub enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    Email,
    PasswordHash,
    RoleId,
    Language,
    Disabled,
    MustChangePassword,
    FailedLogins,
    LockedUntil,
    LastLoginAt,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum Roles {
    Table,
    Id,
    Code,
    Name,
    Description,
    DataScope,
    Builtin,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum Rights {
    Table,
    Code,
    Module,
}

#[derive(Iden, Clone, Copy)]
pub enum RoleRights {
    Table,
    RoleId,
    RightCode,
}

#[derive(Iden, Clone, Copy)]
pub enum Dictionary {
    Table,
    Id,
    Kind,
    Item,
    /// The item's name in the English interface; empty: the item.
    ItemEn,
    Value,
    Sort,
    Editable,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum AuditLog {
    Table,
    Id,
    At,
    UserId,
    Username,
    Action,
    Entity,
    EntityId,
    Changes,
}

#[derive(Iden, Clone, Copy)]
pub enum Sessions {
    Table,
    TokenHash,
    UserId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
    Ip,
    UserAgent,
}

#[derive(Iden, Clone, Copy)]
pub enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

/// A user's saved list filters (owned records: `user_id` is the owner).
/// The search index's documents (`kehu_store::search`), one per record of any module.
#[derive(Iden, Clone, Copy)]
pub enum SearchDocs {
    Table,
    Id,
    Entity,
    EntityId,
    OwnerId,
    Title,
    Subtitle,
    Body,
    /// PostgreSQL only: the document's tokens (`tsvector`, GIN-indexed).
    Tokens,
    /// The version of the tokeniser that wrote the tokens ([`crate::search::TOKENS_VERSION`]).
    TokensVersion,
}

/// SQLite only: the FTS5 index of the documents' tokens (contentless; `rowid` is the
/// document's id).
#[derive(Iden, Clone, Copy)]
pub enum SearchFts {
    Table,
    Rowid,
    Tokens,
}

#[derive(Iden, Clone, Copy)]
pub enum SavedFilters {
    Table,
    Id,
    UserId,
    ListKey,
    Name,
    Query,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

#[derive(Iden, Clone, Copy)]
pub enum KehuMigrations {
    Table,
    Version,
    Name,
    AppliedAt,
}

/// Sign-in throttling counters, one row per (scope, subject): an account, an account from one
/// address, or an address.
#[derive(Iden, Clone, Copy)]
pub enum SignInThrottle {
    Table,
    Scope,
    Subject,
    Failures,
    LastAt,
    BlockedUntil,
}

/// Devices (browsers) that signed in to an account before: the digest of their device cookie.
#[derive(Iden, Clone, Copy)]
pub enum SignInDevices {
    Table,
    TokenHash,
    Username,
    CreatedAt,
    ExpiresAt,
}

/// The in-app inbox (`inbox.rs`): a notice for one user about one record.
#[derive(Iden, Clone, Copy)]
pub enum Notices {
    Table,
    Id,
    UserId,
    Kind,
    Record,
    RecordId,
    Subject,
    CreatedAt,
    ReadAt,
}

/// The scheduled jobs (`jobs.rs`): one row a job, its schedule and the lease of the instance
/// running it.
#[derive(Iden, Clone, Copy)]
pub enum Jobs {
    Table,
    Name,
    Schedule,
    Enabled,
    NextRunAt,
    /// Failed attempts in a row (0 after a success).
    Attempt,
    LeaseHolder,
    LeaseUntil,
    UpdatedAt,
    UpdatedBy,
}

/// One run of a scheduled job: when, who ran it, how it ended and its figures.
#[derive(Iden, Clone, Copy)]
pub enum JobRuns {
    Table,
    Id,
    Job,
    Trigger,
    Holder,
    Attempt,
    StartedAt,
    FinishedAt,
    Status,
    Figures,
    Error,
    StartedBy,
}
