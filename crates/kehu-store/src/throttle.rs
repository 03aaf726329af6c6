//! Sign-in throttling counters and known devices, in the database so that every kehu process on
//! one PostgreSQL shares them. The policy (which counters, how strict) lives in
//! `kehu_web::throttle`; this store only offers the atomic gate: one statement that both
//! checks and counts an attempt, so parallel attempts cannot all slip through a check made
//! before any of them was counted.

use chrono::{DateTime, Duration, Utc};
use sea_query::{Cond, Condition, Expr, ExprTrait, OnConflict, Query};

use crate::db::Db;
use crate::error::StoreResult;
use crate::schema::{SignInDevices, SignInThrottle};

/// A counter row is forgotten this long after its last attempt (once it no longer blocks).
pub const FORGET_AFTER: Duration = Duration::hours(1);

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One user name, from anywhere.
    Account,
    /// One user name from one client address.
    AccountIp,
    /// One client address, whatever the user name (password spraying).
    Ip,
}

impl Scope {
    fn code(self) -> &'static str {
        match self {
            Scope::Account => "acct",
            Scope::AccountIp => "acct_ip",
            Scope::Ip => "ip",
        }
    }
}

/// How strict a counter is: `free` attempts without delay, then a wait of `base` that doubles
/// with every further attempt, up to `cap`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub free: i32,
    pub base: Duration,
    pub cap: Duration,
}

impl Policy {
    /// The wait imposed after the `n`-th counted attempt.
    pub fn delay_after(&self, n: i32) -> Duration {
        if n < self.free {
            return Duration::zero();
        }
        let doublings = std::cmp::min(u32::try_from(n - self.free).unwrap_or(0), 20);
        self.base
            .checked_mul(2_i32.pow(doublings))
            .map_or(self.cap, |d| std::cmp::min(d, self.cap))
    }

    /// The distinct delays up to the cap, as (n, delay) for n = free, free+1, …
    fn steps(&self) -> Vec<(i32, Duration)> {
        let mut out = Vec::new();
        let mut n = std::cmp::max(self.free, 1);
        loop {
            let d = self.delay_after(n);
            if d >= self.cap || out.len() > 40 {
                break;
            }
            out.push((n, d));
            n += 1;
        }
        out
    }
}

/// The answer of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The attempt may go on; it has been counted as the `n`-th.
    Pass(i32),
    /// Refused without counting: wait until then.
    Wait(DateTime<Utc>),
}

#[derive(Clone, Debug)]
pub struct ThrottleStore {
    db: Db,
}

impl ThrottleStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Counts an attempt on `(scope, subject)` unless the counter currently blocks, in one
    /// statement (`INSERT … ON CONFLICT DO UPDATE … WHERE blocked_until <= now RETURNING`).
    /// The attempt is counted before the password is checked; a success takes it back
    /// ([`Self::reset`] or [`Self::give_back`]).
    pub async fn attempt(
        &self,
        scope: Scope,
        subject: &str,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> StoreResult<Gate> {
        let subject = clip(subject);
        // A counter quiet for long enough starts again from zero. Conditional delete: it can
        // only remove a row that nobody is counting on right now.
        self.db
            .execute(
                Query::delete()
                    .from_table(SignInThrottle::Table)
                    .cond_where(counter(scope, &subject))
                    .and_where(Expr::col(SignInThrottle::LastAt).lt(now - FORGET_AFTER))
                    .and_where(Expr::col(SignInThrottle::BlockedUntil).lte(now)),
            )
            .await?;
        let next = Expr::col((SignInThrottle::Table, SignInThrottle::Failures)).add(1);
        // Below the free attempts the column keeps its value: setting it to `now` would refuse
        // a parallel attempt whose `now` is a moment earlier.
        let keep = Expr::col((SignInThrottle::Table, SignInThrottle::BlockedUntil));
        let blocked = blocked_until(next.clone(), keep, policy, now);
        let row: Option<(i32,)> = self
            .db
            .fetch_optional(
                Query::insert()
                    .into_table(SignInThrottle::Table)
                    .columns([
                        SignInThrottle::Scope,
                        SignInThrottle::Subject,
                        SignInThrottle::Failures,
                        SignInThrottle::LastAt,
                        SignInThrottle::BlockedUntil,
                    ])
                    .values_panic([
                        scope.code().into(),
                        subject.as_str().into(),
                        1.into(),
                        Expr::val(now),
                        Expr::val(first_block(policy, now)),
                    ])
                    .on_conflict(
                        OnConflict::columns([SignInThrottle::Scope, SignInThrottle::Subject])
                            .value(SignInThrottle::Failures, next)
                            .value(SignInThrottle::LastAt, Expr::val(now))
                            .value(SignInThrottle::BlockedUntil, blocked)
                            .action_and_where(
                                Expr::col((SignInThrottle::Table, SignInThrottle::BlockedUntil))
                                    .lte(now),
                            )
                            .to_owned(),
                    )
                    .returning_col(SignInThrottle::Failures),
            )
            .await?;
        if let Some((n,)) = row {
            return Ok(Gate::Pass(n));
        }
        // Refused: read until when, only to tell the client.
        let until: Option<(DateTime<Utc>,)> = self
            .db
            .fetch_optional(
                Query::select()
                    .column(SignInThrottle::BlockedUntil)
                    .from(SignInThrottle::Table)
                    .cond_where(counter(scope, &subject)),
            )
            .await?;
        Ok(Gate::Wait(until.map_or(now, |(t,)| t)))
    }

    /// Forgets a counter (a successful sign-in to that account).
    pub async fn reset(&self, scope: Scope, subject: &str) -> StoreResult<()> {
        let subject = clip(subject);
        self.db
            .execute(
                Query::delete()
                    .from_table(SignInThrottle::Table)
                    .cond_where(counter(scope, &subject)),
            )
            .await?;
        Ok(())
    }

    /// Takes back one counted attempt (a success from an address: it was not a failure, but it
    /// clears nothing the address did to other accounts).
    /// Its block is recomputed for the lower count, so that the attempt given back does not
    /// delay the next one either.
    pub async fn give_back(
        &self,
        scope: Scope,
        subject: &str,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let subject = clip(subject);
        let fewer = Expr::col((SignInThrottle::Table, SignInThrottle::Failures)).sub(1);
        self.db
            .execute(
                Query::update()
                    .table(SignInThrottle::Table)
                    .value(SignInThrottle::Failures, fewer.clone())
                    .value(
                        SignInThrottle::BlockedUntil,
                        blocked_until(fewer, Expr::val(DateTime::UNIX_EPOCH), policy, now),
                    )
                    .cond_where(counter(scope, &subject))
                    .and_where(Expr::col(SignInThrottle::Failures).gt(0)),
            )
            .await?;
        Ok(())
    }

    /// The counted attempts of a counter (0 when there is none).
    pub async fn count(&self, scope: Scope, subject: &str) -> StoreResult<i32> {
        let subject = clip(subject);
        let row: Option<(i32,)> = self
            .db
            .fetch_optional(
                Query::select()
                    .column(SignInThrottle::Failures)
                    .from(SignInThrottle::Table)
                    .cond_where(counter(scope, &subject)),
            )
            .await?;
        Ok(row.map_or(0, |(n,)| n))
    }

    /// Remembers a device (the digest of its cookie) that signed in to `username`.
    pub async fn remember_device(
        &self,
        token_hash: &str,
        username: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.db
            .execute(
                Query::insert()
                    .into_table(SignInDevices::Table)
                    .columns([
                        SignInDevices::TokenHash,
                        SignInDevices::Username,
                        SignInDevices::CreatedAt,
                        SignInDevices::ExpiresAt,
                    ])
                    .values_panic([
                        token_hash.into(),
                        clip(username).into(),
                        Expr::val(now),
                        Expr::val(expires_at),
                    ])
                    .on_conflict(
                        OnConflict::column(SignInDevices::TokenHash)
                            .do_nothing()
                            .to_owned(),
                    ),
            )
            .await?;
        Ok(())
    }

    /// Whether the device with this cookie digest signed in to `username` before.
    pub async fn known_device(
        &self,
        token_hash: &str,
        username: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let row: Option<(String,)> = self
            .db
            .fetch_optional(
                Query::select()
                    .column(SignInDevices::TokenHash)
                    .from(SignInDevices::Table)
                    .and_where(Expr::col(SignInDevices::TokenHash).eq(token_hash))
                    .and_where(Expr::col(SignInDevices::Username).eq(clip(username)))
                    .and_where(Expr::col(SignInDevices::ExpiresAt).gt(now)),
            )
            .await?;
        Ok(row.is_some())
    }

    /// Removes counters that no longer block and were quiet for [`FORGET_AFTER`], and expired
    /// devices; returns how many rows went.
    pub async fn purge(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let counters = self
            .db
            .execute(
                Query::delete()
                    .from_table(SignInThrottle::Table)
                    .and_where(Expr::col(SignInThrottle::LastAt).lt(now - FORGET_AFTER))
                    .and_where(Expr::col(SignInThrottle::BlockedUntil).lte(now)),
            )
            .await?;
        let devices = self
            .db
            .execute(
                Query::delete()
                    .from_table(SignInDevices::Table)
                    .and_where(Expr::col(SignInDevices::ExpiresAt).lte(now)),
            )
            .await?;
        Ok(counters + devices)
    }
}

/// The blocked_until for a counter reaching `count` at `now`, as a CASE over the count with
/// every step's instant computed here: no date arithmetic in SQL, so one statement serves both
/// databases. Below the free attempts it is `free_value`.
fn blocked_until(count: Expr, free_value: Expr, policy: &Policy, now: DateTime<Utc>) -> Expr {
    let mut case = Expr::case(count.clone().lt(policy.free), free_value);
    for (n, d) in policy.steps() {
        case = case.case(count.clone().eq(n), Expr::val(now + d));
    }
    case.finally(Expr::val(now + policy.cap)).into()
}

/// The blocked_until of a new counter: long past while attempts are free.
fn first_block(policy: &Policy, now: DateTime<Utc>) -> DateTime<Utc> {
    match policy.delay_after(1) {
        d if d > Duration::zero() => now + d,
        _ => DateTime::UNIX_EPOCH,
    }
}

/// Subjects fit the column; user names longer than any real one are cut (still counted).
/// The row of one counter: `scope` for `subject` (already clipped).
fn counter(scope: Scope, subject: &str) -> Condition {
    Cond::all()
        .add(Expr::col(SignInThrottle::Scope).eq(scope.code()))
        .add(Expr::col(SignInThrottle::Subject).eq(subject))
}

fn clip(s: &str) -> String {
    s.chars().take(150).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_after_the_free_attempts_up_to_the_cap() {
        let p = Policy {
            free: 3,
            base: Duration::seconds(10),
            cap: Duration::seconds(60),
        };
        let d: Vec<i64> = (1..=8).map(|n| p.delay_after(n).num_seconds()).collect();
        assert_eq!(d, [0, 0, 10, 20, 40, 60, 60, 60]);
        assert_eq!(
            p.steps()
                .iter()
                .map(|(n, d)| (*n, d.num_seconds()))
                .collect::<Vec<_>>(),
            [(3, 10), (4, 20), (5, 40)]
        );
    }
}
