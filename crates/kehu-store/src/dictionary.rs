//! The data dictionary (`bas_dict`): items by kind. Non-editable items are protected.

use chrono::{DateTime, Utc};
use kehu_domain::DomainError;
use kehu_domain::dictionary::{DictInput, name_in};
use kehu_domain::user::Language;
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, SimpleExpr};
use serde::Serialize;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::audit::Actor;
use crate::cache;
use crate::db::{Db, Tx};
use crate::error::StoreResult;
use crate::notify::Notifier;
use crate::page::{Page, PageRequest};
use crate::schema::Dictionary;
use crate::write::{self, Caches, Record, Table};

/// 数据字典条目.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DictEntry {
    pub id: i64,
    pub kind: String,
    pub item: String,
    /// Its name in the English interface, if it has one ([`DictEntry::name`]).
    pub item_en: Option<String>,
    pub value: String,
    pub sort: i32,
    pub editable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

fn select_entries() -> SelectStatement {
    Query::select()
        .columns([
            Dictionary::Id,
            Dictionary::Kind,
            Dictionary::Item,
            Dictionary::ItemEn,
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

impl DictEntry {
    /// Its name in `lang`: the English one in English when it has one, otherwise the item.
    pub fn name(&self, lang: Language) -> &str {
        name_in(&self.item, self.item_en.as_deref(), lang)
    }
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
        self.db.fetch_found(&q).await
    }

    /// Who saved item `id` last, and when (a form shows it after a version conflict).
    pub async fn last_change(&self, id: i64) -> StoreResult<crate::LastChange> {
        write::last_change::<DictEntry>(&self.db, id).await
    }

    pub async fn create(&self, input: &DictInput, actor: &Actor) -> StoreResult<DictEntry> {
        self.db
            .write_then_clear(self, async |tx| {
                write::create(tx, values(input, true), actor, async |_, _| Ok(())).await
            })
            .await
    }

    pub async fn update(
        &self,
        id: i64,
        input: &DictInput,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<DictEntry> {
        self.db
            .write_then_clear(self, async |tx| {
                let before = editable_in(tx, id).await?;
                // Whether an item may be edited is fixed when it is made: not a field here.
                let values = fields(input);
                write::update(tx, &before, version, values, actor, async |_| Ok(())).await
            })
            .await
    }

    pub async fn delete(&self, id: i64, version: i32, actor: &Actor) -> StoreResult<()> {
        self.db
            .write_then_clear(self, async |tx| {
                let before = editable_in(tx, id).await?;
                write::delete(tx, &before, version, actor).await
            })
            .await
    }
}

impl Caches for DictionaryStore {
    fn clear(&self) {
        self.forget();
    }
}

impl Record for DictEntry {
    type Col = Dictionary;
    const TABLE: Table<Dictionary> = Table {
        table: Dictionary::Table,
        id: Dictionary::Id,
        version: Dictionary::Version,
        created_at: Dictionary::CreatedAt,
        created_by: Dictionary::CreatedBy,
        updated_at: Dictionary::UpdatedAt,
        updated_by: Dictionary::UpdatedBy,
        entity: "dictionary",
        unique: "item",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_entries(), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind, "item": self.item, "item_en": self.item_en, "value": self.value,
            "sort": self.sort,
        })
    }
}

/// Item `id` if it may be changed: seeded items the code relies on are protected.
async fn editable_in(tx: &mut Tx, id: i64) -> StoreResult<DictEntry> {
    let before = DictEntry::load(tx, id).await?;
    if !before.editable {
        return Err(DomainError::NotAllowed("err-dict-protected").into());
    }
    Ok(before)
}

/// The fields an administrator enters for an item.
fn fields(input: &DictInput) -> Vec<(Dictionary, SimpleExpr)> {
    vec![
        (Dictionary::Kind, input.kind.as_str().into()),
        (Dictionary::Item, input.item.as_str().into()),
        (Dictionary::ItemEn, input.item_en.clone().into()),
        (Dictionary::Value, input.value.as_str().into()),
        (Dictionary::Sort, input.sort.into()),
    ]
}

/// The stored columns of a new item.
fn values(input: &DictInput, editable: bool) -> Vec<(Dictionary, SimpleExpr)> {
    let mut v = fields(input);
    v.push((Dictionary::Editable, editable.into()));
    v
}

/// Inserts one item (the seed data: no audit entry); `(kind, item)` is unique.
pub(crate) async fn insert(
    tx: &mut Tx,
    input: &DictInput,
    editable: bool,
    actor: &Actor,
) -> StoreResult<i64> {
    write::insert_row::<DictEntry>(tx, values(input, editable), actor).await
}
