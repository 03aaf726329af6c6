//! The data dictionary (`bas_dict`): items by kind. Non-editable items are protected.

use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::dictionary::DictInput;
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::audit::{self, Action, Actor};
use crate::cache;
use crate::db::{Db, Tx};
use crate::error::{StoreResult, unique_as};
use crate::notify::Notifier;
use crate::page::{Page, PageRequest};
use crate::schema::Dictionary;

/// 数据字典条目.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DictEntry {
    pub id: i64,
    pub kind: String,
    pub item: String,
    pub value: String,
    pub sort: i32,
    pub editable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

fn snapshot(e: &DictEntry) -> serde_json::Value {
    serde_json::json!({"kind": e.kind, "item": e.item, "value": e.value, "sort": e.sort})
}

fn select_entries() -> SelectStatement {
    Query::select()
        .columns([
            Dictionary::Id,
            Dictionary::Kind,
            Dictionary::Item,
            Dictionary::Value,
            Dictionary::Sort,
            Dictionary::Editable,
            Dictionary::CreatedAt,
            Dictionary::UpdatedAt,
            Dictionary::Version,
        ])
        .from(Dictionary::Table)
        .to_owned()
}

/// The whole dictionary as loaded at an instant.
type Snapshot = (Instant, Arc<Vec<DictEntry>>);

#[derive(Clone, Debug)]
pub struct DictionaryStore {
    db: Db,
    cache: Arc<Mutex<Option<Snapshot>>>,
    notifier: Notifier,
}

impl DictionaryStore {
    pub fn new(db: Db, notifier: Notifier) -> Self {
        Self {
            db,
            cache: Arc::new(Mutex::new(None)),
            notifier,
        }
    }

    /// Every entry in display order (kind, sort, id). The dictionary is small and read by
    /// every form, so it is kept in memory: changes show at once here and, through
    /// [`crate::notify`], on the other instances ([`cache::TTL`] bounds a lost notification).
    async fn snapshot(&self) -> StoreResult<Arc<Vec<DictEntry>>> {
        if let Some((at, all)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && at.elapsed() < cache::TTL
        {
            return Ok(Arc::clone(all));
        }
        let q = select_entries()
            .order_by(Dictionary::Kind, Order::Asc)
            .order_by(Dictionary::Sort, Order::Asc)
            .order_by(Dictionary::Id, Order::Asc)
            .to_owned();
        let all = Arc::new(self.db.fetch_all::<DictEntry>(&q).await?);
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), Arc::clone(&all)));
        Ok(all)
    }

    /// Forgets the snapshot here and on the other instances.
    fn forget(&self) {
        self.forget_local();
        self.notifier.publish();
    }

    /// Forgets the snapshot in this instance (another instance changed the dictionary).
    pub fn forget_local(&self) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Every kind with its item count, alphabetically.
    pub async fn kinds(&self) -> StoreResult<Vec<(String, i64)>> {
        let all = self.snapshot().await?;
        let mut kinds: Vec<(String, i64)> = Vec::new();
        for e in all.iter() {
            match kinds.last_mut() {
                Some((k, n)) if *k == e.kind => *n += 1,
                _ => kinds.push((e.kind.clone(), 1)),
            }
        }
        Ok(kinds)
    }

    pub async fn list(
        &self,
        kind: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<DictEntry>> {
        let all = self.snapshot().await?;
        let matching = all.iter().filter(|e| kind.is_none_or(|k| e.kind == k));
        let total = i64::try_from(matching.clone().count()).unwrap_or(i64::MAX);
        let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let take = usize::try_from(page.per_page).unwrap_or(usize::MAX);
        let items = matching.skip(skip).take(take).cloned().collect();
        Ok(Page::new(items, total, page))
    }

    pub async fn count(&self) -> StoreResult<i64> {
        Ok(i64::try_from(self.snapshot().await?.len()).unwrap_or(i64::MAX))
    }

    pub async fn get(&self, id: i64) -> StoreResult<DictEntry> {
        let q = select_entries()
            .and_where(Expr::col(Dictionary::Id).eq(id))
            .to_owned();
        self.db
            .fetch_optional(&q)
            .await?
            .ok_or(DomainError::NotFound.into())
    }

    async fn get_in(tx: &mut Tx, id: i64) -> StoreResult<DictEntry> {
        let q = select_entries()
            .and_where(Expr::col(Dictionary::Id).eq(id))
            .to_owned();
        tx.fetch_optional(&q)
            .await?
            .ok_or(DomainError::NotFound.into())
    }

    pub async fn create(&self, input: &DictInput, actor: &Actor) -> StoreResult<DictEntry> {
        let mut tx = self.db.begin().await?;
        let id = insert(&mut tx, input, true, actor).await?;
        let after = Self::get_in(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            Action::Create,
            "dictionary",
            id,
            None,
            Some(&snapshot(&after)),
        )
        .await?;
        tx.commit().await?;
        self.forget();
        Ok(after)
    }

    pub async fn update(
        &self,
        id: i64,
        input: &DictInput,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<DictEntry> {
        let mut tx = self.db.begin().await?;
        let before = Self::get_in(&mut tx, id).await?;
        if !before.editable {
            return Err(DomainError::NotAllowed("err-dict-protected").into());
        }
        let n = tx
            .execute(
                Query::update()
                    .table(Dictionary::Table)
                    .values([
                        (Dictionary::Kind, input.kind.as_str().into()),
                        (Dictionary::Item, input.item.as_str().into()),
                        (Dictionary::Value, input.value.as_str().into()),
                        (Dictionary::Sort, input.sort.into()),
                        (Dictionary::UpdatedAt, Expr::val(Utc::now())),
                        (Dictionary::UpdatedBy, actor.user_id.into()),
                        (Dictionary::Version, Expr::col(Dictionary::Version).add(1)),
                    ])
                    .and_where(Expr::col(Dictionary::Id).eq(id))
                    .and_where(Expr::col(Dictionary::Version).eq(version)),
            )
            .await
            .map_err(unique_as("item"))?;
        if n == 0 {
            return Err(DomainError::StaleVersion.into());
        }
        let after = Self::get_in(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            Action::Update,
            "dictionary",
            id,
            Some(&snapshot(&before)),
            Some(&snapshot(&after)),
        )
        .await?;
        tx.commit().await?;
        self.forget();
        Ok(after)
    }

    pub async fn delete(&self, id: i64, version: i32, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let before = Self::get_in(&mut tx, id).await?;
        if !before.editable {
            return Err(DomainError::NotAllowed("err-dict-protected").into());
        }
        audit::delete_versioned(
            &mut tx,
            (Dictionary::Table, Dictionary::Id, Dictionary::Version),
            id,
            version,
            actor,
            "dictionary",
            &snapshot(&before),
        )
        .await?;
        tx.commit().await?;
        self.forget();
        Ok(())
    }
}

/// Inserts one item; `(kind, item)` is unique.
pub(crate) async fn insert(
    tx: &mut Tx,
    input: &DictInput,
    editable: bool,
    actor: &Actor,
) -> StoreResult<i64> {
    let now = Utc::now();
    let (id,): (i64,) = tx
        .fetch_one(
            Query::insert()
                .into_table(Dictionary::Table)
                .columns([
                    Dictionary::Kind,
                    Dictionary::Item,
                    Dictionary::Value,
                    Dictionary::Sort,
                    Dictionary::Editable,
                    Dictionary::CreatedAt,
                    Dictionary::CreatedBy,
                    Dictionary::UpdatedAt,
                    Dictionary::UpdatedBy,
                ])
                .values_panic([
                    input.kind.as_str().into(),
                    input.item.as_str().into(),
                    input.value.as_str().into(),
                    input.sort.into(),
                    editable.into(),
                    Expr::val(now),
                    actor.user_id.into(),
                    Expr::val(now),
                    actor.user_id.into(),
                ])
                .returning_col(Dictionary::Id),
        )
        .await
        .map_err(unique_as("item"))?;
    Ok(id)
}
