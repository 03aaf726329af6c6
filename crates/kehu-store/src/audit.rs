//! The audit log (操作日志): every create, update and delete of business data, with who, when,
//! and the changed fields before and after. Written in the same transaction as the change.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Query, SelectStatement};
use serde::Serialize;
use serde_json::{Map, Value, json};

use kehu_domain::DomainError;
use kehu_domain::policy::Authority;

use crate::db::{Db, Tx};
use crate::error::{StoreError, StoreResult};
use crate::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
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
    pub const ALL: &'static [Action] = &[
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Denied,
        Action::SignInFailed,
        Action::SignInThrottled,
    ];

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.code() == code)
    }

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

impl std::str::FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s).ok_or_else(|| format!("unknown action {s:?}"))
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

/// The changed fields as `{field: {"before": …, "after": …}}`. A field empty on both sides
/// (absent or null: a create's unset fields, a delete's empty ones) did not change and is left
/// out: a customer created from an import row of a few columns is recorded in a third of the
/// bytes.
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
        let empty = |v: Option<&Value>| v.is_none_or(Value::is_null);
        if bv != av && !(empty(bv) && empty(av)) {
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

/// Records the creation of many records of `entity` at once (a batch of an import): one
/// entry per record, as [`record`] writes it for a create (who, when, every field after), in
/// multi-row inserts.
pub async fn record_created(
    tx: &mut Tx,
    actor: &Actor,
    entity: &str,
    created: &[(i64, Value)],
) -> StoreResult<()> {
    let entries: Vec<(i64, Value)> = created
        .iter()
        .map(|(id, after)| (*id, diff(None, Some(after))))
        .collect();
    record_many(tx, actor, Action::Create, entity, &entries).await
}

/// Records changes of many records of `entity` at once (a scan's batch): one entry per
/// record, `(id, before, after)`, as [`record`] writes an update, in multi-row inserts.
/// Changes that changed nothing are not recorded.
pub async fn record_updated(
    tx: &mut Tx,
    actor: &Actor,
    entity: &str,
    changed: &[(i64, Value, Value)],
) -> StoreResult<()> {
    let entries: Vec<(i64, Value)> = changed
        .iter()
        .map(|(id, before, after)| (*id, diff(Some(before), Some(after))))
        .filter(|(_, d)| !d.as_object().is_some_and(Map::is_empty))
        .collect();
    record_many(tx, actor, Action::Update, entity, &entries).await
}

/// Records an entry of `action` on `entity` for every row `rows` selects, its `entity_id`
/// and `changes` (the JSON text of the diff) as the select names them: a change of many
/// records written in one statement (a scan's batch), however many they are. Answers how
/// many it recorded.
pub async fn record_each(
    tx: &mut Tx,
    actor: &Actor,
    action: Action,
    entity: &str,
    rows: SelectStatement,
) -> StoreResult<u64> {
    let s = sea_query::Alias::new("s");
    let col = |c: &str| Expr::col((s.clone(), sea_query::Alias::new(c)));
    let source = Query::select()
        .expr(Expr::val(Utc::now()))
        .expr(Expr::val(actor.user_id))
        .expr(Expr::val(actor.username.as_str()))
        .expr(Expr::val(action.code()))
        .expr(Expr::val(entity))
        .expr(col("entity_id"))
        .expr(col("changes"))
        .from_subquery(rows, s.clone())
        .to_owned();
    let q = insert()
        .select_from(source)
        .map_err(|e| anyhow::anyhow!("audit of many: {e}"))?
        .to_owned();
    Ok(tx.execute(&q).await?)
}

/// One entry per `(id, changes)`, in multi-row inserts.
async fn record_many(
    tx: &mut Tx,
    actor: &Actor,
    action: Action,
    entity: &str,
    entries: &[(i64, Value)],
) -> StoreResult<()> {
    let now = Utc::now();
    // 7 values a row: well under both databases' limits on bound values per statement.
    for chunk in entries.chunks(1000) {
        let mut q = insert();
        for (id, changes) in chunk {
            q.values_panic(row(now, actor, action, entity, &id.to_string(), changes));
        }
        tx.execute(&q).await?;
    }
    Ok(())
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
    tx.execute(insert().values_panic(row(Utc::now(), actor, action, entity, entity_id, changes)))
        .await?;
    Ok(())
}

/// Every column of an entry, as [`AuditEntry`] reads them.
pub const ENTRY_COLUMNS: [AuditLog; 8] = [
    AuditLog::Id,
    AuditLog::At,
    AuditLog::UserId,
    AuditLog::Username,
    AuditLog::Action,
    AuditLog::Entity,
    AuditLog::EntityId,
    AuditLog::Changes,
];

/// An insert of entries: every column but the id, which is the database's.
fn insert() -> sea_query::InsertStatement {
    Query::insert()
        .into_table(AuditLog::Table)
        .columns(ENTRY_COLUMNS[1..].iter().copied())
        .to_owned()
}

/// The values of one entry of [`insert`].
fn row(
    at: chrono::DateTime<Utc>,
    actor: &Actor,
    action: Action,
    entity: &str,
    entity_id: &str,
    changes: &Value,
) -> [Expr; 7] {
    [
        Expr::val(at),
        actor.user_id.into(),
        actor.username.as_str().into(),
        action.code().into(),
        entity.into(),
        entity_id.into(),
        changes.to_string().into(),
    ]
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

/// The audit log's sort: the time of the change (newest first unless asked otherwise), the id
/// breaking ties. Time is the only key: it is what people page through, and every filter has
/// an index ending in `(at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditSort {
    At,
}

impl SortKey for AuditSort {
    const ALL: &'static [Self] = &[AuditSort::At];
    const DEFAULT: Sort<Self> = Sort {
        key: AuditSort::At,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        "at"
    }

    fn kind(self) -> KeyKind {
        KeyKind::Time
    }

    fn column(self) -> Expr {
        Expr::col(AuditLog::At)
    }

    fn first_dir(self) -> Dir {
        Dir::Desc
    }
}

impl Keyed<AuditSort> for AuditEntry {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, _: AuditSort) -> KeyValue {
        KeyValue::Time(self.at)
    }
}

/// Filters of the audit page and API, composed in [`AuditFilter::apply`]. Each one is served
/// by an index ending in `(at, id)` (migration `list_indexes`), so a filtered page is a range
/// on one index; there is no text search here, which could not be.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Who made the change.
    pub user_id: Option<i64>,
    /// `create`, `update`, `delete`, `denied`, … ([`Action::code`]).
    pub action: Option<String>,
    pub entity: Option<String>,
    /// One record's history; only together with `entity` (that is what the index holds).
    pub entity_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    fn apply(&self, q: &mut SelectStatement) {
        if let Some(u) = self.user_id {
            q.and_where(Expr::col(AuditLog::UserId).eq(u));
        }
        if let Some(a) = &self.action {
            q.and_where(Expr::col(AuditLog::Action).eq(a.as_str()));
        }
        if let Some(e) = &self.entity {
            q.and_where(Expr::col(AuditLog::Entity).eq(e.as_str()));
            if let Some(id) = &self.entity_id {
                q.and_where(Expr::col(AuditLog::EntityId).eq(id.as_str()));
            }
        }
        if let Some(from) = self.from {
            q.and_where(Expr::col(AuditLog::At).gte(from));
        }
        if let Some(to) = self.to {
            q.and_where(Expr::col(AuditLog::At).lt(to));
        }
    }

    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.user_id.is_none()
            && self.action.is_none()
            && self.entity.is_none()
            && self.entity_id.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }
}

fn select_entries() -> SelectStatement {
    Query::select()
        .columns(ENTRY_COLUMNS)
        .from(AuditLog::Table)
        .to_owned()
}

#[derive(Clone, Debug)]
pub struct AuditStore {
    db: Db,
}

impl AuditStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// One page of entries (newest first by default) and their capped count. An `entity_id`
    /// without an `entity` is ignored by the filter: callers refuse it first.
    pub async fn list(
        &self,
        f: &AuditFilter,
        req: impl Into<ListRequest<AuditSort>>,
    ) -> StoreResult<Listing<AuditEntry>> {
        let mut q = select_entries();
        f.apply(&mut q);
        let mut count = Query::select()
            .expr(Expr::cust("1"))
            .from(AuditLog::Table)
            .to_owned();
        f.apply(&mut count);
        let id = Expr::col(AuditLog::Id);
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// The latest `n` entries of `records` (each an entity name and the ids of its records:
    /// a service and its steps), newest first: a record page's history. A range of the log's
    /// `(entity, entity_id, at)` index per record.
    pub async fn latest_of(
        &self,
        records: &[(&str, &[i64])],
        n: u64,
    ) -> StoreResult<Vec<AuditEntry>> {
        let mut any = sea_query::Cond::any();
        for (entity, ids) in records.iter().filter(|(_, ids)| !ids.is_empty()) {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            any = any.add(
                Expr::col(AuditLog::Entity)
                    .eq(*entity)
                    .and(Expr::col(AuditLog::EntityId).is_in(ids)),
            );
        }
        let q = select_entries()
            .cond_where(any)
            .order_by(AuditLog::At, sea_query::Order::Desc)
            .order_by(AuditLog::Id, sea_query::Order::Desc)
            .limit(n)
            .to_owned();
        Ok(self.db.fetch_all(&q).await?)
    }

    /// The distinct entity names seen in the log (for the filter), one index seek each: a
    /// `SELECT DISTINCT` would read the whole index of a log with millions of entries.
    pub async fn entities(&self) -> StoreResult<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        loop {
            let mut q = Query::select()
                .expr(Expr::col(AuditLog::Entity).min())
                .from(AuditLog::Table)
                .to_owned();
            if let Some(last) = out.last() {
                q.and_where(Expr::col(AuditLog::Entity).gt(last.as_str()));
            }
            let (next,): (Option<String>,) = self.db.fetch_one(&q).await?;
            match next {
                Some(e) if out.len() < 1000 => out.push(e),
                _ => return Ok(out),
            }
        }
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

/// Fills the log with `rows` made-up entries ending before `end`, in one transaction and one
/// statement (the database generates the rows): for the list tests and the benchmark, which
/// need a log of a million entries in seconds. Entry `i` (0-based, ids ascending with `i`):
///
/// - `at`: `end` minus `(rows/2 + 1) * 30` s, plus `(i / 2) * 30` s (two entries per instant);
/// - `user_id`: `i % 20 + 1`, `username`: `bench<user_id>`;
/// - `entity`: `dictionary` when `i % 10 < 6`, `user` when `< 8`, `role` when `8`, else
///   `api_token`; `entity_id`: `(i / 10) % 5000`;
/// - `action`: `denied` when `i % 997 == 0`, else `create` when `i % 7 == 0`, `delete` when
///   `i % 7 == 6`, else `update`.
pub async fn fill_synthetic(db: &Db, rows: u64, end: DateTime<Utc>) -> StoreResult<()> {
    if rows == 0 {
        return Ok(());
    }
    let span = i64::try_from(rows / 2 + 1)
        .unwrap_or(i64::MAX)
        .saturating_mul(30);
    let start = end.timestamp().saturating_sub(span);
    let columns = "at, user_id, username, action, entity, entity_id, changes";
    let values = "i % 20 + 1, 'bench' || (i % 20 + 1), \
        CASE WHEN i % 997 = 0 THEN 'denied' WHEN i % 7 = 0 THEN 'create' \
             WHEN i % 7 = 6 THEN 'delete' ELSE 'update' END, \
        CASE WHEN i % 10 < 6 THEN 'dictionary' WHEN i % 10 < 8 THEN 'user' \
             WHEN i % 10 = 8 THEN 'role' ELSE 'api_token' END, \
        CAST((i / 10) % 5000 AS TEXT), '{\"value\":{\"before\":\"a\",\"after\":\"b\"}}'";
    let sql = match db.backend() {
        // The text form sqlx writes for a whole second (RFC 3339, `+00:00`), so these entries
        // compare with the ones the application writes.
        crate::Backend::Sqlite => format!(
            "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < {rows}) \
             INSERT INTO audit_log ({columns}) \
             SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', {start} + (i / 2) * 30, 'unixepoch'), \
             {values} FROM seq"
        ),
        crate::Backend::Postgres => format!(
            "INSERT INTO audit_log ({columns}) \
             SELECT to_timestamp({start} + (i / 2) * 30), {values} \
             FROM generate_series(0::bigint, {rows}::bigint - 1) AS seq(i)"
        ),
    };
    let mut tx = db.begin().await?;
    tx.execute_raw(&sql).await?;
    tx.commit().await?;
    Ok(())
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
        let v = json!({"name": "甲", "email": null});
        assert_eq!(
            diff(None, Some(&v)),
            json!({"name": {"before": null, "after": "甲"}})
        );
        assert_eq!(
            diff(Some(&v), None),
            json!({"name": {"before": "甲", "after": null}})
        );
        // A field null on both sides is no change, on a create or a delete.
        assert_eq!(diff(None, Some(&json!({"email": null}))), json!({}));
    }
}
