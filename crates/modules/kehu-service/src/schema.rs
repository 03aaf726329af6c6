//! The service module's table and column names, shared by its migrations and its store.

use sea_query::Iden;

/// 服务 (`cst_service`): a customer's request from creation to archive. Owned by the one who
/// took it (`owner_id`) and, once assigned, also by its handler (`assignee_id`): an account
/// manager sees the requests they entered, a handler those given to them.
#[derive(Iden, Clone, Copy)]
pub enum Services {
    Table,
    Id,
    /// `FW` + day + sequence (`FW20261207-0001`).
    Number,
    /// Dictionary `service_type`: `consultation`, `complaint`, `suggestion` …
    ServiceType,
    Title,
    CustomerId,
    ContactId,
    /// Dictionary `activity_channel`: how the request came in.
    Channel,
    /// The request in the customer's words.
    Request,
    /// `low`, `normal`, `high`, `urgent`.
    Priority,
    /// `new`, `assigned`, `handled`, `archived`.
    Status,
    /// Who took the request (its creator).
    OwnerId,
    /// Its handler.
    AssigneeId,
    AssignedAt,
    /// How it was handled (服务处理).
    Handling,
    HandledBy,
    HandledAt,
    /// The result the customer confirmed (服务反馈).
    Result,
    /// 1–5.
    Satisfaction,
    FeedbackAt,
    ArchivedAt,
    /// The handler's first step or handling.
    RespondedAt,
    /// Targets from the service level agreement, set on creation.
    RespondDueAt,
    ResolveDueAt,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// A complaint's recorded steps (投诉处理), oldest first; never changed once recorded.
#[derive(Iden, Clone, Copy)]
pub enum ServiceSteps {
    Table,
    Id,
    ServiceId,
    /// `validity`, `department`, `cause`, `resolution`, `approval`, `execution`, `summary`,
    /// `reopened`.
    Step,
    /// A decision's outcome (the complaint stands; the resolution is approved).
    Accepted,
    Content,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// The day's last service number.
#[derive(Iden, Clone, Copy)]
pub enum ServiceNumbers {
    Table,
    /// `YYYYMMDD`.
    Day,
    Last,
}

/// How new services of a type are distributed (ACD), and the last handler given one.
#[derive(Iden, Clone, Copy)]
pub enum ServiceRouting {
    Table,
    Id,
    ServiceType,
    /// `manual`, `round_robin`, `least_load`.
    Mode,
    /// Round-robin: who was given the last one.
    LastUserId,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// Service level targets: per type and customer level (an empty level: any level), minutes
/// to respond and to resolve.
#[derive(Iden, Clone, Copy)]
pub enum ServiceSla {
    Table,
    Id,
    ServiceType,
    CustomerLevel,
    RespondMinutes,
    ResolveMinutes,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}
