//! The in-app inbox (通知): notices for one user about a record of theirs ("服务 FW… has been
//! assigned to you", "… has been handled"), each read or not. A module pushes a notice in the
//! transaction that makes the change, so there is no notice of a change that did not happen;
//! the page frame shows the unread count as a badge, `/notifications` and
//! `/api/v1/notifications` list them. Notices are the user's own: read and marked only through
//! the scoped builder, with the user's `own_records()` filter.

use chrono::{DateTime, Utc};
use kehu_domain::policy::OwnerFilter;
use sea_query::{Expr, ExprTrait, Query, SelectStatement};
use serde::Serialize;

use crate::db::{Db, Tx};
use crate::error::StoreResult;
use crate::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use crate::schema::Notices;
use crate::scope::{Owned, Scoped};

/// The most unread notices counted for the badge ("99+").
pub const UNREAD_CAP: u64 = 99;

fn notices(scope: OwnerFilter) -> Scoped<Notices> {
    Scoped::new(
        Owned {
            table: Notices::Table,
            owner: Notices::UserId,
        },
        scope,
    )
}

/// A notice as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Notice {
    pub id: i64,
    pub user_id: i64,
    /// What happened, a message key's stem: `service-assigned`, `service-handled` …
    pub kind: String,
    /// The kind of record it is about (`service`) and its id: where the notice links to.
    pub record: String,
    pub record_id: i64,
    /// What the record is called (`FW20261207-0001 货物破损`), as it was then.
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A notice to push.
#[derive(Debug, Clone, Copy)]
pub struct NoticeDraft<'a> {
    pub kind: &'a str,
    pub record: &'a str,
    pub record_id: i64,
    pub subject: &'a str,
}

/// Tells `user_id` about `n`, within the transaction that makes the change.
pub async fn push(tx: &mut Tx, user_id: i64, n: NoticeDraft<'_>) -> StoreResult<()> {
    let subject: String = n.subject.chars().take(200).collect();
    tx.execute(
        Query::insert()
            .into_table(Notices::Table)
            .columns([
                Notices::UserId,
                Notices::Kind,
                Notices::Record,
                Notices::RecordId,
                Notices::Subject,
                Notices::CreatedAt,
            ])
            .values_panic([
                user_id.into(),
                n.kind.into(),
                n.record.into(),
                n.record_id.into(),
                subject.into(),
                Utc::now().into(),
            ]),
    )
    .await?;
    Ok(())
}

fn select_notices(mine: OwnerFilter) -> SelectStatement {
    notices(mine)
        .select()
        .columns(
            [
                Notices::Id,
                Notices::UserId,
                Notices::Kind,
                Notices::Record,
                Notices::RecordId,
                Notices::Subject,
                Notices::CreatedAt,
                Notices::ReadAt,
            ]
            .map(|c| (Notices::Table, c)),
        )
        .to_owned()
}

/// The inbox list's one order: newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeSort {
    Created,
}

impl SortKey for NoticeSort {
    const ALL: &'static [Self] = &[NoticeSort::Created];
    const DEFAULT: Sort<Self> = Sort {
        key: NoticeSort::Created,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        "created_at"
    }

    fn kind(self) -> KeyKind {
        KeyKind::Time
    }

    fn column(self) -> Expr {
        Expr::col((Notices::Table, Notices::CreatedAt))
    }
}

impl Keyed<NoticeSort> for Notice {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, _: NoticeSort) -> KeyValue {
        KeyValue::Time(self.created_at)
    }
}

/// One user's notices.
#[derive(Clone, Debug)]
pub struct InboxStore {
    db: Db,
}

impl InboxStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// How many of `mine` are unread, at most [`UNREAD_CAP`] + 1 read (the badge's "99+").
    pub async fn unread(&self, mine: OwnerFilter) -> StoreResult<u64> {
        let q = notices(mine)
            .select()
            .expr(Expr::cust("1"))
            .and_where(Expr::col((Notices::Table, Notices::ReadAt)).is_null())
            .to_owned();
        page::count_at_most(&self.db, q, UNREAD_CAP + 1).await
    }

    /// One page of `mine`, newest first; `unread` only the unread ones.
    pub async fn list(
        &self,
        mine: OwnerFilter,
        unread: bool,
        req: impl Into<ListRequest<NoticeSort>>,
    ) -> StoreResult<Listing<Notice>> {
        let only = |mut q: SelectStatement| {
            if unread {
                q.and_where(Expr::col((Notices::Table, Notices::ReadAt)).is_null());
            }
            q
        };
        let q = only(select_notices(mine));
        let count = only(notices(mine).select().expr(Expr::cust("1")).to_owned());
        let id = Expr::col((Notices::Table, Notices::Id));
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// Marks `ids` of `mine` read (all of them when `None`); how many were unread.
    pub async fn mark_read(&self, mine: OwnerFilter, ids: Option<&[i64]>) -> StoreResult<u64> {
        let mut q = notices(mine).update();
        q.value(Notices::ReadAt, Utc::now())
            .and_where(Expr::col((Notices::Table, Notices::ReadAt)).is_null());
        if let Some(ids) = ids {
            q.and_where(Expr::col((Notices::Table, Notices::Id)).is_in(ids.iter().copied()));
        }
        Ok(self.db.execute(&q).await?)
    }

    /// Marks read the notices of `mine` about `record` `record_id` (its page was opened).
    pub async fn mark_record_read(
        &self,
        mine: OwnerFilter,
        record: &str,
        record_id: i64,
    ) -> StoreResult<u64> {
        let mut q = notices(mine).update();
        q.value(Notices::ReadAt, Utc::now())
            .and_where(Expr::col((Notices::Table, Notices::ReadAt)).is_null())
            .and_where(Expr::col((Notices::Table, Notices::Record)).eq(record))
            .and_where(Expr::col((Notices::Table, Notices::RecordId)).eq(record_id));
        Ok(self.db.execute(&q).await?)
    }
}
