//! Automatic distribution (ACD, 自动分配) of new services: per service type, `manual` (a
//! supervisor assigns in 服务分配), `round_robin` (the handlers in turn) or `least_load` (the
//! handler with the fewest services in handling). Handlers are the active users whose role
//! holds `service.handle`; disabled users are never picked.
//!
//! One distribution at a time, on every kehu instance on the database: the creating
//! transaction takes [`TxLock::Distribution`] before it reads the turn or the loads, and holds
//! it until it commits, so the next one reads what this one assigned. Two requests at the same
//! moment, on one instance or two, never get the same turn or both the one free handler.

use kehu_domain::{DomainError, Right};
use kehu_store::StoreResult;
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx, TxLock};
use kehu_store::users::holding_in;
use kehu_store::write::{self, Record, Table};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

use crate::schema::ServiceRouting;

/// How the services of a type are distributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Manual,
    RoundRobin,
    LeastLoad,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Manual, Mode::RoundRobin, Mode::LeastLoad];

    pub const fn code(self) -> &'static str {
        match self {
            Mode::Manual => "manual",
            Mode::RoundRobin => "round_robin",
            Mode::LeastLoad => "least_load",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == code.trim())
    }

    /// A mode as entered; anything else is `err-invalid` on `mode`.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        Self::from_code(input).ok_or_else(|| DomainError::field("mode", "err-invalid"))
    }
}

/// The most handlers a distribution considers.
const HANDLERS_MAX: u64 = 1000;

/// A type's routing as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Routing {
    pub id: i64,
    pub service_type: String,
    pub mode: String,
    pub last_user_id: Option<i64>,
    pub version: i32,
}

impl Routing {
    pub fn mode(&self) -> Mode {
        Mode::from_code(&self.mode).unwrap_or(Mode::Manual)
    }
}

fn select_routing() -> SelectStatement {
    Query::select()
        .columns([
            ServiceRouting::Id,
            ServiceRouting::ServiceType,
            ServiceRouting::Mode,
            ServiceRouting::LastUserId,
            ServiceRouting::Version,
        ])
        .from(ServiceRouting::Table)
        .to_owned()
}

impl Record for Routing {
    type Col = ServiceRouting;
    const TABLE: Table<ServiceRouting> = Table {
        table: ServiceRouting::Table,
        id: ServiceRouting::Id,
        version: ServiceRouting::Version,
        created_at: ServiceRouting::CreatedAt,
        created_by: ServiceRouting::CreatedBy,
        updated_at: ServiceRouting::UpdatedAt,
        updated_by: ServiceRouting::UpdatedBy,
        entity: "service_routing",
        unique: "service_type",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_routing(), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    /// The mode only: whose turn it is changes with every service and is no setting.
    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "service_type": self.service_type, "mode": self.mode })
    }
}

async fn routing_of(tx: &mut Tx, service_type: &str) -> StoreResult<Option<Routing>> {
    let q = select_routing()
        .and_where(Expr::col(ServiceRouting::ServiceType).eq(service_type))
        .to_owned();
    Ok(tx.fetch_optional(&q).await?)
}

/// Every type's routing, by type (types without a row are manual).
pub async fn all(db: &Db) -> StoreResult<Vec<Routing>> {
    let q = select_routing()
        .order_by(ServiceRouting::ServiceType, Order::Asc)
        .to_owned();
    Ok(db.fetch_all(&q).await?)
}

/// Sets how services of `service_type` are distributed, audited.
pub async fn set_mode(
    db: &Db,
    service_type: &str,
    mode: Mode,
    actor: &Actor,
) -> StoreResult<Routing> {
    db.write(async |tx| set_mode_in(tx, service_type, mode, actor).await)
        .await
}

/// [`set_mode`] within `tx`.
pub async fn set_mode_in(
    tx: &mut Tx,
    service_type: &str,
    mode: Mode,
    actor: &Actor,
) -> StoreResult<Routing> {
    match routing_of(tx, service_type).await? {
        Some(before) => {
            let v = before.version;
            let values = vec![(ServiceRouting::Mode, Expr::val(mode.code()))];
            write::update(tx, &before, v, values, actor, async |_| Ok(())).await
        }
        None => {
            let values = vec![
                (ServiceRouting::ServiceType, Expr::val(service_type)),
                (ServiceRouting::Mode, Expr::val(mode.code())),
            ];
            write::create::<Routing>(tx, values, actor, async |_, _| Ok(())).await
        }
    }
}

/// The handler a new service of `service_type` goes to, or `None` when its type is assigned
/// by hand or nobody may handle it. Call it in the transaction that inserts the service: the
/// distribution lock is held until that commits.
pub async fn distribute(tx: &mut Tx, service_type: &str) -> StoreResult<Option<i64>> {
    // Manual types (the default) take no lock: only a distributed type's creations queue.
    let Some(routing) = routing_of(tx, service_type).await? else {
        return Ok(None);
    };
    if routing.mode() == Mode::Manual {
        return Ok(None);
    }
    tx.lock(TxLock::Distribution).await?;
    let mut handlers: Vec<i64> = holding_in(tx, Right::ServiceHandle, HANDLERS_MAX)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    handlers.sort_unstable();
    if handlers.is_empty() {
        return Ok(None);
    }
    let chosen = match routing.mode() {
        Mode::Manual => return Ok(None),
        Mode::RoundRobin => {
            // Read again under the lock: the turn another creation has just taken.
            let last = routing_of(tx, service_type)
                .await?
                .and_then(|r| r.last_user_id);
            next_in_turn(&handlers, last)
        }
        Mode::LeastLoad => {
            let loads = crate::store::open_load(tx, &handlers).await?;
            least_loaded(&handlers, &loads)
        }
    };
    tx.execute(
        Query::update()
            .table(ServiceRouting::Table)
            .value(ServiceRouting::LastUserId, chosen)
            .and_where(Expr::col(ServiceRouting::Id).eq(routing.id)),
    )
    .await?;
    Ok(Some(chosen))
}

/// The handler after `last` in id order, round again to the first (`handlers` sorted, not
/// empty).
fn next_in_turn(handlers: &[i64], last: Option<i64>) -> i64 {
    let first = handlers.first().copied().unwrap_or_default();
    match last {
        Some(l) => handlers.iter().copied().find(|h| *h > l).unwrap_or(first),
        None => first,
    }
}

/// The handler with the fewest open services (`loads`: handler, count; absent is none), the
/// lowest id among equals (`handlers` sorted, not empty).
fn least_loaded(handlers: &[i64], loads: &[(i64, i64)]) -> i64 {
    let load = |h: i64| loads.iter().find(|(id, _)| *id == h).map_or(0, |(_, n)| *n);
    handlers
        .iter()
        .copied()
        .min_by_key(|h| (load(*h), *h))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_takes_the_next_and_wraps_skipping_the_gone() {
        let h = [3, 5, 9];
        assert_eq!(next_in_turn(&h, None), 3);
        assert_eq!(next_in_turn(&h, Some(3)), 5);
        assert_eq!(next_in_turn(&h, Some(9)), 3);
        // The last one was disabled since: the next after them still.
        assert_eq!(next_in_turn(&h, Some(4)), 5);
        assert_eq!(next_in_turn(&h, Some(12)), 3);
    }

    #[test]
    fn least_load_takes_the_emptiest_the_first_among_equals() {
        let h = [3, 5, 9];
        assert_eq!(least_loaded(&h, &[]), 3);
        assert_eq!(least_loaded(&h, &[(3, 2), (5, 1)]), 9);
        assert_eq!(least_loaded(&h, &[(3, 2), (5, 1), (9, 1)]), 5);
        // Someone no longer a handler keeps their services: not counted, not chosen.
        assert_eq!(least_loaded(&h, &[(3, 1), (5, 1), (9, 1), (4, 0)]), 3);
    }

    #[test]
    fn a_thousand_in_turn_spread_evenly() {
        let h = [2, 4, 6, 8, 10, 12, 14];
        let mut last = None;
        let mut got = std::collections::HashMap::new();
        for _ in 0..1000 {
            let n = next_in_turn(&h, last);
            *got.entry(n).or_insert(0) += 1;
            last = Some(n);
        }
        let (min, max) = (got.values().min(), got.values().max());
        assert!(
            matches!((min, max), (Some(a), Some(b)) if b - a <= 1),
            "{got:?}"
        );
    }
}
