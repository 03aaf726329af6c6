//! The audit log (操作日志): every create, update and delete of business data, with who, when,
//! and the changed fields before and after. Written in the same transaction as the change.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;
use serde_json::{Map, Value, json};

use kehu_domain::DomainError;
use kehu_domain::policy::Authority;

use crate::db::{Db, Tx};
use crate::error::{StoreError, StoreResult};
use crate::page::{Page, PageRequest};
use crate::schema::AuditLog;

/// Who makes a change: a user, or the system (CLI, scheduled jobs), with what they hold — the
/// delegation policy lets an actor grant only what its authority covers.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: String,
    pub authority: Authority,
}

impl Actor {
    pub fn user(user_id: i64, username: impl Into<String>, authority: Authority) -> Self {
        Self {
            user_id: Some(user_id),
            username: username.into(),
            authority,
        }
    }

    /// The operator at the command line, or a job: every right.
    pub fn system() -> Self {
        Self {
            user_id: None,
            username: "system".into(),
            authority: Authority::full(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    /// A change the policy refused (nothing was changed); recorded with [`event`].
    Denied,
    /// A sign-in with a wrong user name or password.
    SignInFailed,
    /// A sign-in attempt refused by throttling before the password was checked.
    SignInThrottled,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Denied => "denied",
            Action::SignInFailed => "sign_in_failed",
            Action::SignInThrottled => "sign_in_throttled",
        }
    }
}

/// Bookkeeping fields that change with every write and say nothing about the change.
const SKIPPED: &[&str] = &[
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "version",
];

/// The changed fields as `{field: {"before": …, "after": …}}`.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    let keys = b.keys().chain(a.keys().filter(|k| !b.contains_key(*k)));
    for k in keys {
        if SKIPPED.contains(&k.as_str()) {
            continue;
        }
        let (bv, av) = (b.get(k), a.get(k));
        if bv != av {
            let side = |v: Option<&Value>, present: bool| {
                if present {
                    v.cloned().unwrap_or(Value::Null)
                } else {
                    Value::Null
                }
            };
            out.insert(
                k.clone(),
                json!({"before": side(bv, before.is_some()), "after": side(av, after.is_some())}),
            );
        }
    }
    Value::Object(out)
}

/// Records one change. `before` is `None` for a create, `after` is `None` for a delete; an
/// update that changed nothing is not recorded.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: Action,
    entity: &str,
    entity_id: impl ToString,
    before: Option<&Value>,
    after: Option<&Value>,
) -> StoreResult<()> {
    let changes = diff(before, after);
    if action == Action::Update && changes.as_object().is_some_and(Map::is_empty) {
        return Ok(());
    }
    insert_entry(tx, actor, action, entity, &entity_id.to_string(), &changes).await
}

/// Records a security event that changed nothing (a refused change, a failed sign-in) in its
/// own transaction: the attempt stays in the log even though the change it asked for did not
/// happen. `before`/`after` say what was asked (e.g. the role someone tried to assign) and are
/// stored as a diff like a change, so the audit page shows them the same way.
pub async fn event(
    db: &Db,
    actor: &Actor,
    action: Action,
    entity: &str,
    entity_id: impl ToString,
    before: Option<&Value>,
    after: Option<&Value>,
) -> StoreResult<()> {
    let changes = diff(before, after);
    let id = entity_id.to_string();
    db.write(async |tx| insert_entry(tx, actor, action, entity, &id, &changes).await)
        .await
}

async fn insert_entry(
    tx: &mut Tx,
    actor: &Actor,
    action: Action,
    entity: &str,
    entity_id: &str,
    changes: &Value,
) -> StoreResult<()> {
    tx.execute(
        Query::insert()
            .into_table(AuditLog::Table)
            .columns([
                AuditLog::At,
                AuditLog::UserId,
                AuditLog::Username,
                AuditLog::Action,
                AuditLog::Entity,
                AuditLog::EntityId,
                AuditLog::Changes,
            ])
            .values_panic([
                Expr::val(Utc::now()),
                actor.user_id.into(),
                actor.username.as_str().into(),
                action.code().into(),
                entity.into(),
                entity_id.into(),
                changes.to_string().into(),
            ]),
    )
    .await?;
    Ok(())
}

/// Passes `result` through; when the delegation policy refused the change, the attempt is also
/// recorded as a `denied` event (what was asked and why it was refused) and logged.
pub async fn note_refusal<T>(
    db: &Db,
    result: StoreResult<T>,
    actor: &Actor,
    entity: &str,
    entity_id: impl ToString,
    attempt: Value,
) -> StoreResult<T> {
    if let Err(StoreError::Domain(DomainError::Refused(r))) = &result {
        let mut after = attempt;
        if let Some(m) = after.as_object_mut() {
            m.insert("refusal".into(), r.code().into());
        }
        let id = entity_id.to_string();
        tracing::warn!(user = %actor.username, entity, id = %id, refusal = r.code(), "administrative change refused");
        event(db, actor, Action::Denied, entity, id, None, Some(&after)).await?;
    }
    result
}

/// One audit entry as read back.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub username: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub changes: String,
}

impl AuditEntry {
    /// The changes as JSON (`{}` if the stored text is somehow not JSON).
    pub fn changes_json(&self) -> Value {
        serde_json::from_str(&self.changes).unwrap_or_else(|_| json!({}))
    }
}

/// Filters of the audit page and API.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    fn apply(&self, q: &mut SelectStatement) {
        if let Some(u) = self.user_id {
            q.and_where(Expr::col(AuditLog::UserId).eq(u));
        }
        if let Some(e) = &self.entity {
            q.and_where(Expr::col(AuditLog::Entity).eq(e.as_str()));
        }
        if let Some(e) = &self.entity_id {
            q.and_where(Expr::col(AuditLog::EntityId).eq(e.as_str()));
        }
        if let Some(from) = self.from {
            q.and_where(Expr::col(AuditLog::At).gte(from));
        }
        if let Some(to) = self.to {
            q.and_where(Expr::col(AuditLog::At).lt(to));
        }
    }
}

#[derive(Clone, Debug)]
pub struct AuditStore {
    db: Db,
}

impl AuditStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn list(&self, f: &AuditFilter, page: PageRequest) -> StoreResult<Page<AuditEntry>> {
        let mut count = Query::select()
            .expr(Expr::col(AuditLog::Id).count())
            .from(AuditLog::Table)
            .to_owned();
        f.apply(&mut count);
        let (total,): (i64,) = self.db.fetch_one(&count).await?;
        let mut q = Query::select()
            .columns([
                AuditLog::Id,
                AuditLog::At,
                AuditLog::UserId,
                AuditLog::Username,
                AuditLog::Action,
                AuditLog::Entity,
                AuditLog::EntityId,
                AuditLog::Changes,
            ])
            .from(AuditLog::Table)
            .order_by(AuditLog::Id, Order::Desc)
            .limit(page.per_page)
            .offset(page.offset())
            .to_owned();
        f.apply(&mut q);
        Ok(Page::new(self.db.fetch_all(&q).await?, total, page))
    }

    /// The distinct entity names seen in the log (for the filter).
    pub async fn entities(&self) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = self
            .db
            .fetch_all(
                Query::select()
                    .distinct()
                    .column(AuditLog::Entity)
                    .from(AuditLog::Table)
                    .order_by(AuditLog::Entity, Order::Asc),
            )
            .await?;
        Ok(rows.into_iter().map(|(e,)| e).collect())
    }

    pub async fn count_since(&self, since: DateTime<Utc>) -> StoreResult<i64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                Query::select()
                    .expr(Expr::col(AuditLog::Id).count())
                    .from(AuditLog::Table)
                    .and_where(Expr::col(AuditLog::At).gte(since)),
            )
            .await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_lists_only_changed_fields_and_skips_bookkeeping() {
        let b = json!({"name": "甲", "email": null, "version": 1, "disabled": false});
        let a = json!({"name": "乙", "email": null, "version": 2, "disabled": true});
        let d = diff(Some(&b), Some(&a));
        assert_eq!(
            d,
            json!({"name": {"before": "甲", "after": "乙"},
                   "disabled": {"before": false, "after": true}})
        );
    }

    #[test]
    fn a_create_has_no_before_and_a_delete_no_after() {
        let v = json!({"name": "甲"});
        assert_eq!(
            diff(None, Some(&v)),
            json!({"name": {"before": null, "after": "甲"}})
        );
        assert_eq!(
            diff(Some(&v), None),
            json!({"name": {"before": "甲", "after": null}})
        );
    }
}
