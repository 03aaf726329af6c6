//! The sales module's table and column names, shared by its migrations and its store.

use sea_query::Iden;

/// 销售机会 (`sal_chance`): owned by its creator until assigned, then by its assignee (see
/// `store`): an account manager sees the opportunities they created and those given to them.
#[derive(Iden, Clone, Copy)]
pub enum Opportunities {
    Table,
    Id,
    Title,
    /// The prospect (客户名称) the opportunity is about.
    ProspectName,
    /// Dictionary `opportunity_source`.
    Source,
    /// Percent, 0–100.
    SuccessRate,
    ContactName,
    /// E.164.
    ContactPhone,
    Description,
    /// Fen.
    ExpectedAmount,
    /// ISO 4217, `CNY` by default.
    Currency,
    ExpectedCloseDate,
    /// `unassigned`, `assigned`, `developing`, `success`, `failure`.
    Status,
    /// Whose it is now: the creator until assigned, then the assignee.
    OwnerId,
    AssigneeId,
    AssignedAt,
    /// Why it was lost (a failure).
    FailureReason,
    /// The customer it became (a success), or the existing one it was linked to.
    CustomerId,
    ClosedAt,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// 客户开发计划 (`sal_plan`): a dated to-do of an opportunity's development and, once carried
/// out, its result. Reached only through its opportunity.
#[derive(Iden, Clone, Copy)]
pub enum PlanItems {
    Table,
    Id,
    OpportunityId,
    Date,
    Todo,
    Result,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// The pipeline's running totals: per owner, status and currency, how many opportunities and
/// their summed and weighted expected amounts, kept in the transaction of every change to an
/// opportunity, so the board reads a few rows per owner instead of every opportunity.
#[derive(Iden, Clone, Copy)]
pub enum OpportunityTotals {
    Table,
    OwnerId,
    Status,
    Currency,
    Count,
    /// Fen.
    Amount,
    /// Σ fen × success rate (percent): divided by 100, the weighted amount.
    Weighted,
}
