//! The loss module's table and column names, shared by its migrations and its store.

use sea_query::Iden;

/// 客户流失 (`cst_lost`): a customer who stopped ordering, from the warning to the confirmed
/// loss or the win-back. Owned by the customer's account manager (`owner_id`, kept in step
/// with the customer's by every scan). At most one record per customer is live (not won back).
#[derive(Iden, Clone, Copy)]
pub enum LossRecords {
    Table,
    Id,
    CustomerId,
    /// The account manager.
    OwnerId,
    /// The customer's last order when it was warned (none: it never ordered).
    LastOrderAt,
    WarnedAt,
    /// `warning`, `deferring`, `confirmed`, `won_back`.
    Status,
    /// Dictionary `loss_reason`, when confirmed.
    Reason,
    Detail,
    ConfirmedAt,
    ConfirmedBy,
    WonBackAt,
    /// The order that won the customer back (none: a scan saw the customer's newer order).
    WonBackOrderId,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// What was done about a loss warning (暂缓流失措施), oldest first; never changed once logged.
#[derive(Iden, Clone, Copy)]
pub enum LossMeasures {
    Table,
    Id,
    RecordId,
    Measure,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// The scan's settings as an administrator set them (one row; none: the configuration's).
#[derive(Iden, Clone, Copy)]
pub enum LossSettings {
    Table,
    Id,
    ThresholdMonths,
    /// Whether customers that never ordered are judged from their creation.
    NeverOrdered,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// A scan's progress, batch by batch: a scan that stopped half-way is taken up where it
/// stopped by the next one (the same cutoff, the figures so far).
#[derive(Iden, Clone, Copy)]
pub enum LossScans {
    Table,
    Id,
    Cutoff,
    NeverOrdered,
    /// The last customer id done.
    DoneTo,
    Scanned,
    Warned,
    Closed,
    StartedAt,
    FinishedAt,
}
