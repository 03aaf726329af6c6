//! Service level agreements (服务时限): per service type and customer level, the minutes within
//! which someone of ours must respond and the service be resolved (e.g. complaints from key
//! accounts: respond in 2 h, resolve in 24 h). A type's row for the customer's level wins over
//! its row for any level (an empty level); no row, no targets. Due times are computed once, on
//! creation (and again if a new service's type is changed), so a later change of the targets
//! does not move the services already promised.

use chrono::{DateTime, Duration, Utc};
use kehu_domain::DomainError;
use kehu_domain::error::Errors;
use kehu_store::StoreResult;
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};
use kehu_store::write::{self, Record, Table};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

use crate::schema::ServiceSla;

/// Minutes to respond and to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Targets {
    pub respond_minutes: i32,
    pub resolve_minutes: i32,
}

impl Targets {
    pub fn respond_due(self, from: DateTime<Utc>) -> DateTime<Utc> {
        from + Duration::minutes(i64::from(self.respond_minutes))
    }

    pub fn resolve_due(self, from: DateTime<Utc>) -> DateTime<Utc> {
        from + Duration::minutes(i64::from(self.resolve_minutes))
    }
}

/// The longest target: a year.
pub const MINUTES_MAX: i32 = 366 * 24 * 60;

/// A row of the agreement as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SlaRow {
    pub id: i64,
    pub service_type: String,
    /// A value of `customer_level`, or empty for any level.
    pub customer_level: String,
    pub respond_minutes: i32,
    pub resolve_minutes: i32,
    pub version: i32,
}

fn select_rows() -> SelectStatement {
    Query::select()
        .columns([
            ServiceSla::Id,
            ServiceSla::ServiceType,
            ServiceSla::CustomerLevel,
            ServiceSla::RespondMinutes,
            ServiceSla::ResolveMinutes,
            ServiceSla::Version,
        ])
        .from(ServiceSla::Table)
        .to_owned()
}

impl Record for SlaRow {
    type Col = ServiceSla;
    const TABLE: Table<ServiceSla> = Table {
        table: ServiceSla::Table,
        id: ServiceSla::Id,
        version: ServiceSla::Version,
        created_at: ServiceSla::CreatedAt,
        created_by: ServiceSla::CreatedBy,
        updated_at: ServiceSla::UpdatedAt,
        updated_by: ServiceSla::UpdatedBy,
        entity: "service_sla",
        unique: "customer_level",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_rows(), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "service_type": self.service_type, "customer_level": self.customer_level,
            "respond_minutes": self.respond_minutes, "resolve_minutes": self.resolve_minutes,
        })
    }
}

/// The targets of a service of `service_type` for a customer of `level`, read in `tx`.
pub async fn targets(
    tx: &mut Tx,
    service_type: &str,
    level: Option<&str>,
) -> StoreResult<Option<Targets>> {
    let levels = match level.filter(|l| !l.is_empty()) {
        Some(l) => vec![l, ""],
        None => vec![""],
    };
    // The level's own row sorts before the empty one.
    let q = select_rows()
        .and_where(Expr::col(ServiceSla::ServiceType).eq(service_type))
        .and_where(Expr::col(ServiceSla::CustomerLevel).is_in(levels))
        .order_by(ServiceSla::CustomerLevel, Order::Desc)
        .limit(1)
        .to_owned();
    let row: Option<SlaRow> = tx.fetch_optional(&q).await?;
    Ok(row.map(|r| Targets {
        respond_minutes: r.respond_minutes,
        resolve_minutes: r.resolve_minutes,
    }))
}

/// Whether the agreement has any row, read in `tx`.
pub async fn any_in(tx: &mut Tx) -> StoreResult<bool> {
    let q = select_rows().limit(1).to_owned();
    let row: Option<SlaRow> = tx.fetch_optional(&q).await?;
    Ok(row.is_some())
}

/// Every row of the agreement, by type and level.
pub async fn all(db: &Db) -> StoreResult<Vec<SlaRow>> {
    let q = select_rows()
        .order_by(ServiceSla::ServiceType, Order::Asc)
        .order_by(ServiceSla::CustomerLevel, Order::Asc)
        .to_owned();
    Ok(db.fetch_all(&q).await?)
}

/// A row of the agreement as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaDraft {
    pub service_type: String,
    pub customer_level: String,
    pub targets: Targets,
}

impl SlaDraft {
    /// `respond` and `resolve` are whole minutes, 1 to [`MINUTES_MAX`], the response no later
    /// than the resolution. The type and level are checked against the dictionary by the
    /// caller.
    pub fn parse(
        service_type: String,
        customer_level: String,
        respond: &str,
        resolve: &str,
    ) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let minutes = |field: &str, s: &str| {
            s.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| (1..=MINUTES_MAX).contains(n))
                .ok_or_else(|| kehu_domain::FieldError::new(field, "err-sla-minutes"))
        };
        let respond = e.check(minutes("respond_minutes", respond));
        let resolve = e.check(minutes("resolve_minutes", resolve));
        e.finish()?;
        let (Some(respond_minutes), Some(resolve_minutes)) = (respond, resolve) else {
            return Err(DomainError::field("respond_minutes", "err-sla-minutes"));
        };
        if respond_minutes > resolve_minutes {
            return Err(DomainError::field(
                "respond_minutes",
                "err-sla-respond-after-resolve",
            ));
        }
        Ok(Self {
            service_type,
            customer_level,
            targets: Targets {
                respond_minutes,
                resolve_minutes,
            },
        })
    }
}

/// Sets the targets of `d`'s type and level (a new row, or the existing one changed), audited.
pub async fn set(db: &Db, d: &SlaDraft, actor: &Actor) -> StoreResult<SlaRow> {
    db.write(async |tx| set_in(tx, d, actor).await).await
}

/// [`set`] within `tx` (the seed data).
pub async fn set_in(tx: &mut Tx, d: &SlaDraft, actor: &Actor) -> StoreResult<SlaRow> {
    let existing = select_rows()
        .and_where(Expr::col(ServiceSla::ServiceType).eq(d.service_type.as_str()))
        .and_where(Expr::col(ServiceSla::CustomerLevel).eq(d.customer_level.as_str()))
        .to_owned();
    let row: Option<SlaRow> = tx.fetch_optional(&existing).await?;
    let values = vec![
        (
            ServiceSla::RespondMinutes,
            Expr::val(d.targets.respond_minutes),
        ),
        (
            ServiceSla::ResolveMinutes,
            Expr::val(d.targets.resolve_minutes),
        ),
    ];
    match row {
        Some(before) => {
            let v = before.version;
            write::update(tx, &before, v, values, actor, async |_| Ok(())).await
        }
        None => {
            let mut values = values;
            values.extend([
                (ServiceSla::ServiceType, Expr::val(d.service_type.as_str())),
                (
                    ServiceSla::CustomerLevel,
                    Expr::val(d.customer_level.as_str()),
                ),
            ]);
            write::create::<SlaRow>(tx, values, actor, async |_, _| Ok(())).await
        }
    }
}

/// Removes the row `id` of the agreement, audited (services of its type and level then fall
/// back to the type's row for any level).
pub async fn remove(db: &Db, id: i64, actor: &Actor) -> StoreResult<()> {
    db.write(async |tx| {
        let before: SlaRow = tx
            .fetch_found(
                &select_rows()
                    .and_where(Expr::col(ServiceSla::Id).eq(id))
                    .to_owned(),
            )
            .await?;
        let v = before.version;
        write::delete(tx, &before, v, actor).await
    })
    .await
}

/// The agreement a new installation starts with: every type, and complaints from key
/// accounts and strategic partners sooner.
pub const DEFAULTS: &[(&str, &str, i32, i32)] = &[
    ("consultation", "", 8 * 60, 24 * 60),
    ("complaint", "", 4 * 60, 48 * 60),
    ("complaint", "key_account", 2 * 60, 24 * 60),
    ("complaint", "strategic_partner", 2 * 60, 24 * 60),
    ("suggestion", "", 24 * 60, 7 * 24 * 60),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn targets_are_whole_minutes_the_response_first() {
        let ok = SlaDraft::parse("complaint".into(), String::new(), " 120 ", "1440").unwrap();
        assert_eq!(ok.targets.respond_minutes, 120);
        let code = |r: &str, s: &str| match SlaDraft::parse("x".into(), String::new(), r, s) {
            Err(DomainError::Invalid(f)) => f.into_iter().map(|f| f.code).collect::<Vec<_>>(),
            other => vec![format!("{other:?}")],
        };
        assert_eq!(code("0", "10"), ["err-sla-minutes"]);
        assert_eq!(code("abc", "-1"), ["err-sla-minutes", "err-sla-minutes"]);
        assert_eq!(code("600", "60"), ["err-sla-respond-after-resolve"]);
        assert_eq!(code("1", "999999"), ["err-sla-minutes"]);
    }

    #[test]
    fn due_times_count_from_creation() {
        let t = Targets {
            respond_minutes: 120,
            resolve_minutes: 1440,
        };
        let at = DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(t.respond_due(at).to_rfc3339(), "2026-12-07T11:00:00+00:00");
        assert_eq!(t.resolve_due(at).to_rfc3339(), "2026-12-08T09:00:00+00:00");
    }
}
