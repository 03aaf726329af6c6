//! The list kit: keyset (cursor) pagination on a whitelisted, indexed sort key with the id as
//! tie-breaker, counts capped at [`COUNT_CAP`], and offset pages kept for compatibility.
//!
//! A store declares its sort keys ([`SortKey`]: code, column, kind), composes its filters in
//! one function, and hands [`fetch`] a select statement with those filters plus a count
//! statement with the same filters. [`fetch`] asks for one row more than the page (`LIMIT
//! n+1`) to know whether a next page exists, and never reads the rows before the cursor:
//! `(key, id) > (value, id)` is a range on an index of `(key, id)`, so the thousandth page
//! costs what the first does. Counting stops at `COUNT_CAP + 1` matching rows ("10,000+").

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_query::{
    Alias, Asterisk, Condition, Expr, NullOrdering, Order, Query, SelectStatement,
    SqliteQueryBuilder, UnionType,
};
use serde::Serialize;

use crate::db::{Db, Row};
use crate::error::StoreResult;

/// Counting stops here: a list with more matches shows "10,000+".
pub const COUNT_CAP: u64 = 10_000;

/// Which page of a list to fetch by number (the compatible, offset way): 1-based, at most 200
/// rows a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub per_page: u64,
}

impl PageRequest {
    pub const MAX_PER_PAGE: u64 = 200;
    pub const DEFAULT_PER_PAGE: u64 = 50;

    pub fn new(page: Option<u64>, per_page: Option<u64>) -> Self {
        Self {
            page: page.unwrap_or(1).max(1),
            per_page: per_page
                .unwrap_or(Self::DEFAULT_PER_PAGE)
                .clamp(1, Self::MAX_PER_PAGE),
        }
    }

    /// Rows to skip. Never overflows, and stays within `i64` (what both databases bind):
    /// a page far past the end is simply empty.
    pub fn offset(&self) -> u64 {
        self.page
            .saturating_sub(1)
            .saturating_mul(self.per_page)
            .min(i64::MAX as u64)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(None, None)
    }
}

/// One page of a list held whole in memory (the dictionary) and its total count.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: i64, req: PageRequest) -> Self {
        Self {
            items,
            total: u64::try_from(total).unwrap_or(0),
            page: req.page,
            per_page: req.per_page,
        }
    }

    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.per_page).max(1)
    }
}

/// Several short reads (each with its own order and limit: a board's columns) as one
/// statement, one round trip: each is read as a subquery and their rows follow one another
/// (`UNION ALL`). `None` for no parts.
pub fn union_all(parts: Vec<SelectStatement>) -> Option<SelectStatement> {
    let mut wrapped = parts.into_iter().enumerate().map(|(i, part)| {
        Query::select()
            .column(Asterisk)
            .from_subquery(part, Alias::new(format!("part{i}")))
            .to_owned()
    });
    let mut all = wrapped.next()?;
    for q in wrapped {
        all.union(UnionType::All, q);
    }
    Some(all)
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
pub fn like_contains(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    s.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

impl Dir {
    pub fn reversed(self) -> Self {
        match self {
            Dir::Asc => Dir::Desc,
            Dir::Desc => Dir::Asc,
        }
    }

    fn order(self) -> Order {
        match self {
            Dir::Asc => Order::Asc,
            Dir::Desc => Order::Desc,
        }
    }
}

/// What a sort key holds; a cursor's value must be of its key's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Text,
    Time,
    Int,
    /// A calendar day (an order's date).
    Date,
}

/// The sort keys a list offers: a whitelist per store, each backed by an index on
/// `(column, id)` (see the `list_indexes` migration).
pub trait SortKey: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every key, in the order documentation lists them.
    const ALL: &'static [Self];
    /// The list's sort when none is asked for.
    const DEFAULT: Sort<Self>;
    /// The key's name in URLs and the API (`username`; `-username` sorts descending).
    fn code(self) -> &'static str;
    fn kind(self) -> KeyKind;
    /// The column sorted on, qualified when the list joins tables.
    fn column(self) -> Expr;
    /// A key that may be NULL sorts NULL as its smallest value, on both databases.
    fn nullable(self) -> bool {
        false
    }
    /// The direction a first click on the column sorts in (dates: newest first).
    fn first_dir(self) -> Dir {
        Dir::Asc
    }
}

/// A sort: key and direction, written `key` (ascending) or `-key` (descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<K> {
    pub key: K,
    pub dir: Dir,
}

impl<K: SortKey> Sort<K> {
    pub fn new(key: K, dir: Dir) -> Self {
        Self { key, dir }
    }

    /// `username` or `-username`; anything else (an unknown key) is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (dir, code) = match s.strip_prefix('-') {
            Some(rest) => (Dir::Desc, rest),
            None => (Dir::Asc, s),
        };
        K::ALL
            .iter()
            .find(|k| k.code() == code)
            .map(|&key| Self { key, dir })
    }

    pub fn code(&self) -> String {
        match self.dir {
            Dir::Asc => self.key.code().to_owned(),
            Dir::Desc => format!("-{}", self.key.code()),
        }
    }

    /// Every accepted spelling, for the API document.
    pub fn codes() -> Vec<String> {
        K::ALL
            .iter()
            .flat_map(|k| [k.code().to_owned(), format!("-{}", k.code())])
            .collect()
    }

    /// The sort after a click on `key`'s column header: the same key turns around, another
    /// key starts in its first direction.
    pub fn by(self, key: K) -> Self {
        if key == self.key {
            Self {
                key,
                dir: self.dir.reversed(),
            }
        } else {
            Self {
                key,
                dir: key.first_dir(),
            }
        }
    }
}

impl<K: SortKey> Default for Sort<K> {
    fn default() -> Self {
        K::DEFAULT
    }
}

/// The sort given is not one the list offers.
#[derive(Debug, thiserror::Error)]
#[error("unknown sort; one of: {0}")]
pub struct UnknownSort(String);

impl<K: SortKey> std::str::FromStr for Sort<K> {
    type Err = UnknownSort;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownSort(Self::codes().join(", ")))
    }
}

/// The value of a row's sort key, as a cursor carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyValue {
    Null,
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
    Date(NaiveDate),
}

impl KeyValue {
    fn fits(&self, key: impl SortKey) -> bool {
        match self {
            KeyValue::Null => key.nullable(),
            KeyValue::Text(_) => key.kind() == KeyKind::Text,
            KeyValue::Time(_) => key.kind() == KeyKind::Time,
            KeyValue::Int(_) => key.kind() == KeyKind::Int,
            KeyValue::Date(_) => key.kind() == KeyKind::Date,
        }
    }

    fn expr(&self) -> Expr {
        match self {
            KeyValue::Null => Expr::cust("NULL"),
            KeyValue::Text(s) => Expr::val(s.as_str()),
            KeyValue::Time(t) => Expr::val(*t),
            KeyValue::Int(i) => Expr::val(*i),
            KeyValue::Date(d) => Expr::val(*d),
        }
    }
}

impl From<Option<DateTime<Utc>>> for KeyValue {
    fn from(t: Option<DateTime<Utc>>) -> Self {
        t.map_or(KeyValue::Null, KeyValue::Time)
    }
}

/// A row of a list: its id and the value of each sort key, from which cursors are made.
pub trait Keyed<K> {
    fn id(&self) -> i64;
    fn key(&self, key: K) -> KeyValue;
}

/// A position in a list: the rows after (or before) the row with this sort value and id,
/// under this sort. Opaque to clients: base64url of the fields and a checksum.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    sort: String,
    before: bool,
    value: KeyValue,
    id: i64,
}

/// The cursor is not one this list made: cut short, edited, from another sort, or not a
/// cursor at all. The API answers 400 `invalid_cursor`; pages start from the top.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct BadCursor;

/// Checksum of a cursor's text (FNV-1a, 64 bits). It catches a cursor edited by hand or cut
/// short; it is no secret, and needs none: a forged cursor only names another position in the
/// same list, which the filters (and the caller's scope) still bound.
fn checksum(bytes: &[u8]) -> [u8; 8] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.to_be_bytes()
}

impl Cursor {
    /// The longest cursor accepted (a display name of 64 characters fits easily).
    pub const MAX_LEN: usize = 512;

    /// The rows after the row with sort value `value` and id `id` (which need not exist).
    pub fn after<K: SortKey>(sort: Sort<K>, value: KeyValue, id: i64) -> Self {
        Self {
            sort: sort.code(),
            before: false,
            value,
            id,
        }
    }

    /// The rows before that row, nearest last (a "previous page").
    pub fn before<K: SortKey>(sort: Sort<K>, value: KeyValue, id: i64) -> Self {
        Self {
            before: true,
            ..Self::after(sort, value, id)
        }
    }

    fn at<K: SortKey, T: Keyed<K>>(sort: Sort<K>, row: &T, before: bool) -> Self {
        Self {
            sort: sort.code(),
            before,
            value: row.key(sort.key),
            id: row.id(),
        }
    }

    /// Whether it asks for the rows before its position (a "previous page" link).
    pub fn is_before(&self) -> bool {
        self.before
    }

    pub fn encode(&self) -> String {
        let way = if self.before { 'b' } else { 'a' };
        let value = match &self.value {
            KeyValue::Null => "n".to_owned(),
            KeyValue::Text(s) => format!("s{s}"),
            KeyValue::Time(t) => format!("t{}", t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            KeyValue::Int(i) => format!("i{i}"),
            KeyValue::Date(d) => format!("d{d}"),
        };
        let text = format!("1\n{}\n{way}\n{}\n{value}", self.sort, self.id);
        let mut bytes = text.into_bytes();
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a cursor made by [`Cursor::encode`] for this same sort; anything else is
    /// [`BadCursor`].
    pub fn decode<K: SortKey>(s: &str, sort: Sort<K>) -> Result<Self, BadCursor> {
        if s.len() > Self::MAX_LEN {
            return Err(BadCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| BadCursor)?;
        let split = bytes.len().checked_sub(8).ok_or(BadCursor)?;
        let (text, sum) = bytes.split_at(split);
        if checksum(text) != sum {
            return Err(BadCursor);
        }
        let text = std::str::from_utf8(text).map_err(|_| BadCursor)?;
        let mut parts = text.splitn(5, '\n');
        let mut next = || parts.next().ok_or(BadCursor);
        let (version, code, way, id, value) = (next()?, next()?, next()?, next()?, next()?);
        if version != "1" || code != sort.code() {
            return Err(BadCursor);
        }
        let before = match way {
            "a" => false,
            "b" => true,
            _ => return Err(BadCursor),
        };
        let id = id.parse::<i64>().map_err(|_| BadCursor)?;
        let value = match value.split_at_checked(1).ok_or(BadCursor)? {
            ("n", "") => KeyValue::Null,
            ("s", s) => KeyValue::Text(s.to_owned()),
            ("t", t) => KeyValue::Time(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|_| BadCursor)?
                    .with_timezone(&Utc),
            ),
            ("i", i) => KeyValue::Int(i.parse().map_err(|_| BadCursor)?),
            ("d", d) => KeyValue::Date(d.parse().map_err(|_| BadCursor)?),
            _ => return Err(BadCursor),
        };
        if !value.fits(sort.key) {
            return Err(BadCursor);
        }
        Ok(Self {
            sort: sort.code(),
            before,
            value,
            id,
        })
    }
}

/// What to list: the sort, and where to start — a cursor, or else an offset page.
#[derive(Debug, Clone)]
pub struct ListRequest<K> {
    pub sort: Sort<K>,
    pub cursor: Option<Cursor>,
    /// The page size, and the offset page used when there is no cursor (kept for clients of
    /// `?page=`; deep offset pages read every row before them, cursors do not).
    pub page: PageRequest,
}

impl<K: SortKey> ListRequest<K> {
    pub fn new(sort: Sort<K>, cursor: Option<Cursor>, page: PageRequest) -> Self {
        Self { sort, cursor, page }
    }

    /// The first `per_page` rows under the default sort.
    pub fn first(per_page: u64) -> Self {
        PageRequest::new(None, Some(per_page)).into()
    }

    /// Whether this asks for the list's top: no cursor, offset page 1.
    pub fn is_first_page(&self) -> bool {
        self.cursor.is_none() && self.page.page <= 1
    }
}

impl<K: SortKey> From<PageRequest> for ListRequest<K> {
    fn from(page: PageRequest) -> Self {
        Self::new(K::DEFAULT, None, page)
    }
}

/// How many rows match: exact up to [`COUNT_CAP`], else `COUNT_CAP` and not exact ("10,000+").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: u64,
    pub exact: bool,
}

/// One page of a list: the rows, the (capped) count, and the cursors of the pages around it.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub count: Count,
    /// The rows after this page, if any.
    pub next: Option<Cursor>,
    /// The rows before this page, if this is not the first.
    pub prev: Option<Cursor>,
    /// The offset page asked for (1 with a cursor).
    pub page: u64,
    pub per_page: u64,
}

impl<T> Listing<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listing<U> {
        Listing {
            items: self.items.into_iter().map(f).collect(),
            count: self.count,
            next: self.next,
            prev: self.prev,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// The rows strictly past `(value, id)` in the order `greater` (ascending) or not; NULL is a
/// key's smallest value. A non-NULL value is one row-value comparison, a range on the
/// `(key, id)` index on both databases.
fn past<K: SortKey>(key: K, value: &KeyValue, id_col: &Expr, id: i64, greater: bool) -> Condition {
    // Here only: its `min`/`max` would shadow the integers' elsewhere in this file.
    use sea_query::ExprTrait as _;
    let k = key.column();
    let tuple = || Expr::tuple([k.clone(), id_col.clone()]);
    let at = || Expr::tuple([value.expr(), Expr::val(id)]);
    match (value, greater) {
        (KeyValue::Null, true) => Condition::any()
            .add(
                Condition::all()
                    .add(k.clone().is_null())
                    .add(id_col.clone().gt(id)),
            )
            .add(k.is_not_null()),
        (KeyValue::Null, false) => Condition::all().add(k.is_null()).add(id_col.clone().lt(id)),
        (_, true) => Condition::all().add(tuple().gt(at())),
        (_, false) if key.nullable() => Condition::any().add(tuple().lt(at())).add(k.is_null()),
        (_, false) => Condition::all().add(tuple().lt(at())),
    }
}

/// Orders by the key and then the id, both in `dir`; NULL first ascending, last descending.
fn order_by<K: SortKey>(q: &mut SelectStatement, key: K, dir: Dir, id_col: &Expr) {
    if key.nullable() {
        let nulls = match dir {
            Dir::Asc => NullOrdering::First,
            Dir::Desc => NullOrdering::Last,
        };
        q.order_by_expr_with_nulls(key.column(), dir.order(), nulls);
    } else {
        q.order_by_expr(key.column(), dir.order());
    }
    q.order_by_expr(id_col.clone(), dir.order());
}

/// One page of `select` (a statement with the list's columns, joins and filters) under `req`,
/// and the capped count of `count` (the same filters, selecting anything). `id_col` is the
/// row id, the tie-breaker that makes every order total. Counts are remembered per database
/// ([`CountMemo`]): until the next write, or above the cap for [`CAPPED_TTL`].
///
/// A first page that holds every match is its own count: the short lists of a record page
/// (a customer's orders, its interactions) are then one statement, not two. Other pages are
/// read at the same time as their count.
pub async fn fetch<K: SortKey, T: Row + Keyed<K>>(
    db: &Db,
    select: &SelectStatement,
    count: SelectStatement,
    id_col: Expr,
    req: &ListRequest<K>,
) -> StoreResult<Listing<T>> {
    fetch_arms(db, select, &[], count, id_col, req).await
}

/// [`fetch`] of a table owned by either of two columns, in a scope that names a user
/// ([`crate::scope::Scoped::arms`]), or of a filter read through its own index with the
/// owner checked on each row (one arm: [`crate::scope::Scoped::select_unindexed`]): `select`
/// holds no owner condition and no filter (its rows are looked up by the ids the arms give:
/// with the filters again, PostgreSQL read every row they match to meet the ids — 7 ms where
/// the lookups take 2), `arms` carry the scope and the list's filters. The page is the rows
/// of `select` among the ids the arms give, each arm read in the page's order and stopped
/// after a page; the count is `count`'s (the scope's `OR` and the filters).
pub async fn fetch_arms<K: SortKey, T: Row + Keyed<K>>(
    db: &Db,
    select: &SelectStatement,
    arms: &[SelectStatement],
    count: SelectStatement,
    id_col: Expr,
    req: &ListRequest<K>,
) -> StoreResult<Listing<T>> {
    let page_of = |db, select, id_col, req| page_of(db, select, arms, id_col, req);
    if req.is_first_page() {
        let page = page_of(db, select, &id_col, req).await?;
        let count = match page.next {
            None => Count {
                value: u64::try_from(page.items.len()).unwrap_or(u64::MAX),
                exact: true,
            },
            Some(_) => count_capped(db, count).await?,
        };
        return Ok(listing(req, page, count));
    }
    let (page, count) =
        tokio::try_join!(page_of(db, select, &id_col, req), count_capped(db, count))?;
    Ok(listing(req, page, count))
}

/// [`fetch`] for a filter on a column that no index of the sort begins with (customers of
/// one level by code). Given the choice, SQLite reads the filter's index and sorts every
/// match — 340 ms a page at a million customers for a level a fifth of them have — and full
/// statistics do not change its mind (SQLite 3.51, `ANALYZE` measured). So the count goes
/// first: when the filter matches more than the cap, the page is read with `select(true)`, the
/// statement with the filter kept off its index, which walks the sort's index and stops after
/// a page (matches are dense: one in every few rows); otherwise `select(false)` sorts the few
/// matches.
pub async fn fetch_dense<K: SortKey, T: Row + Keyed<K>>(
    db: &Db,
    select: impl Fn(bool) -> SelectStatement,
    count: SelectStatement,
    id_col: Expr,
    req: &ListRequest<K>,
) -> StoreResult<Listing<T>> {
    let count = count_capped(db, count).await?;
    let page = page_of(db, &select(!count.exact), &[], &id_col, req).await?;
    Ok(listing(req, page, count))
}

fn listing<K: SortKey, T>(req: &ListRequest<K>, page: Paged<T>, count: Count) -> Listing<T> {
    let Paged { items, prev, next } = page;
    Listing {
        count,
        next,
        prev,
        page: if req.cursor.is_some() {
            1
        } else {
            req.page.page
        },
        per_page: req.page.per_page,
        items,
    }
}

/// A page's rows and the cursors around it.
struct Paged<T> {
    items: Vec<T>,
    prev: Option<Cursor>,
    next: Option<Cursor>,
}

async fn page_of<K: SortKey, T: Row + Keyed<K>>(
    db: &Db,
    select: &SelectStatement,
    arms: &[SelectStatement],
    id_col: &Expr,
    req: &ListRequest<K>,
) -> StoreResult<Paged<T>> {
    let ListRequest { sort, cursor, page } = req;
    let n = page.per_page;
    let take = usize::try_from(n).unwrap_or(usize::MAX);
    let limit = n.saturating_add(1);
    if let Some(c) = cursor {
        let dir = if c.before {
            sort.dir.reversed()
        } else {
            sort.dir
        };
        let mut q = select.clone();
        let cond = past(sort.key, &c.value, id_col, c.id, dir == Dir::Asc);
        narrow(&mut q, arms, Some(&cond), sort.key, dir, id_col, limit);
        // With arms the cursor is theirs: the page's own statement only looks up the ids they
        // give (given the range too, PostgreSQL read every row in it to meet the ids).
        if arms.is_empty() {
            q.cond_where(cond);
        }
        order_by(&mut q, sort.key, dir, id_col);
        let mut rows: Vec<T> = db.fetch_all(&limited(q, limit, 0)).await?;
        let more = rows.len() > take;
        rows.truncate(take);
        if !c.before {
            return Ok(Paged {
                prev: rows.first().map(|r| Cursor::at(*sort, r, true)),
                next: more
                    .then(|| rows.last().map(|r| Cursor::at(*sort, r, false)))
                    .flatten(),
                items: rows,
            });
        }
        if more {
            rows.reverse();
            return Ok(Paged {
                prev: rows.first().map(|r| Cursor::at(*sort, r, true)),
                next: rows.last().map(|r| Cursor::at(*sort, r, false)),
                items: rows,
            });
        }
        // Nothing further back: this is the first page, shown whole from the top.
    }
    let mut q = select.clone();
    let offset = cursor.is_none() && page.page > 1;
    let skip = if offset { page.offset() } else { 0 };
    narrow(&mut q, arms, None, sort.key, sort.dir, id_col, skip + limit);
    order_by(&mut q, sort.key, sort.dir, id_col);
    let mut rows: Vec<T> = db.fetch_all(&limited(q, limit, skip)).await?;
    let more = rows.len() > take;
    rows.truncate(take);
    Ok(Paged {
        prev: if offset {
            rows.first().map(|r| Cursor::at(*sort, r, true))
        } else {
            None
        },
        next: more
            .then(|| rows.last().map(|r| Cursor::at(*sort, r, false)))
            .flatten(),
        items: rows,
    })
}

/// Narrows `q` to the ids its `arms` give (none: `q` as it is): each arm past `cond`, in
/// `key`'s order `dir`, at most `n` rows — the first `n` rows of `q` in that order are among
/// them — all united.
fn narrow<K: SortKey>(
    q: &mut SelectStatement,
    arms: &[SelectStatement],
    cond: Option<&Condition>,
    key: K,
    dir: Dir,
    id_col: &Expr,
    n: u64,
) {
    use sea_query::ExprTrait as _;
    let arms = arms.iter().map(|arm| {
        let mut a = arm.clone();
        a.expr_as(id_col.clone(), Alias::new("id"));
        if let Some(c) = cond {
            a.cond_where(c.clone());
        }
        order_by(&mut a, key, dir, id_col);
        a.limit(n).to_owned()
    });
    if let Some(u) = unite(arms) {
        q.and_where(id_col.clone().in_subquery(u));
    }
}

/// `arms` united (`UNION ALL`), each in a subquery of its own (an arm's order and limit need
/// one in a compound select); `None` for no arms.
fn unite(arms: impl IntoIterator<Item = SelectStatement>) -> Option<SelectStatement> {
    arms.into_iter()
        .enumerate()
        .map(|(i, a)| {
            Query::select()
                .column(Asterisk)
                .from_subquery(a, Alias::new(format!("arm{i}")))
                .to_owned()
        })
        .reduce(|mut u, arm| u.union(UnionType::All, arm).to_owned())
}

/// The count statement of a list read by arms ([`fetch_arms`]): each arm (with the list's
/// filters; the arms share no row) selecting a row for each match, at most past the cap, all
/// united — each arm counts on its own column's index, where the scope's `OR` reads both
/// columns' rows and then every one of them for the filters.
pub fn count_of_arms(arms: &[SelectStatement]) -> SelectStatement {
    let counted = arms.iter().map(|arm| {
        let mut a = arm.clone();
        a.expr(Expr::cust("1")).limit(COUNT_CAP + 1).to_owned()
    });
    unite(counted).unwrap_or_else(|| {
        Query::select()
            .expr(Expr::cust("1"))
            .and_where(Expr::cust("1 = 0"))
            .to_owned()
    })
}

/// `q` with `LIMIT limit` (and `OFFSET offset` when not 0).
fn limited(mut q: SelectStatement, limit: u64, offset: u64) -> SelectStatement {
    q.limit(limit);
    if offset > 0 {
        q.offset(offset);
    }
    q
}

/// `SELECT COUNT(*) FROM (q LIMIT n)`: the rows of `q`, at most `n` read.
fn count_up_to(mut q: SelectStatement, n: u64) -> SelectStatement {
    Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(q.limit(n).to_owned(), Alias::new("capped"))
        .to_owned()
}

/// The rows of `q`, at most `n` of them read (a badge's "99+").
pub async fn count_at_most(db: &Db, q: SelectStatement, n: u64) -> StoreResult<u64> {
    count_remembered(db, &count_up_to(q, n)).await
}

/// How long a count above [`COUNT_CAP`] is taken as still above it, writes or not: counting
/// it again would read 10,001 rows to answer "10,000+" once more, which stays true until
/// thousands of rows go away (the audit log never loses rows).
pub const CAPPED_TTL: Duration = Duration::from_secs(10);

/// How long a count read on a database stays true when nothing was written through this
/// process since: writes by another process (a second kehu on the same PostgreSQL, `kehu
/// import` beside `kehu serve`) show in the counts after at most this long.
pub const COUNT_TTL: Duration = Duration::from_secs(5);

/// What a remembered statement read: a count, or a report's rows (of the type that read them).
#[derive(Clone)]
enum Value {
    Count(u64),
    Rows(std::sync::Arc<dyn std::any::Any + Send + Sync>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Count(n) => write!(f, "Count({n})"),
            Value::Rows(_) => f.write_str("Rows(…)"),
        }
    }
}

/// A count as read, and when.
#[derive(Debug)]
struct Remembered {
    value: Value,
    /// The database's writes when the count began.
    writes: u64,
    at: Instant,
    /// Someone is counting it again (it outlived its time).
    recounting: bool,
    /// Above [`COUNT_CAP`]: true for [`CAPPED_TTL`] whatever is written meanwhile.
    over_cap: bool,
}

/// The counts read on one database (the lists' totals, the home page's figures), by
/// statement, until the next write through this process or [`COUNT_TTL`]: a list read again
/// and again between two changes (a team's lists during the day) is counted once, where it
/// was counted on every page — at a million services an account manager's open ones took
/// 1.5 ms of the page's 3.5 on PostgreSQL. Any commit starts them all over, so one's own
/// change always shows at once.
#[derive(Debug, Default)]
pub struct CountMemo(Mutex<HashMap<String, Remembered>>);

impl CountMemo {
    /// Statements remembered at most; past this the memory starts over.
    const MAX: usize = 1024;

    /// The count of `key` if nothing was written since (`writes`), or if it was above the
    /// cap: while one request counts it again after [`COUNT_TTL`] (above the cap,
    /// [`CAPPED_TTL`]), the others go on with the one they have — a list under load otherwise
    /// counted once per request in flight at that moment (32 counts of 10,001 rows at once,
    /// the slowest 1 % of requests at 250 ms where the rest took 10).
    fn get_value(&self, key: &str, writes: u64) -> Option<Value> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let r = map
            .get_mut(key)
            .filter(|r| r.over_cap || r.writes == writes)?;
        let ttl = if r.over_cap { CAPPED_TTL } else { COUNT_TTL };
        if r.at.elapsed() < ttl || r.recounting {
            return Some(r.value.clone());
        }
        r.recounting = true;
        None
    }

    fn put_value(&self, key: String, value: Value, writes: u64, over_cap: bool) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        let r = Remembered {
            value,
            writes,
            at: Instant::now(),
            recounting: false,
            over_cap,
        };
        map.insert(key, r);
    }

    /// [`CountMemo::get_value`] of a count.
    fn get(&self, key: &str, writes: u64) -> Option<u64> {
        match self.get_value(key, writes)? {
            Value::Count(n) => Some(n),
            Value::Rows(_) => None,
        }
    }

    /// [`CountMemo::put_value`] of a count.
    fn put(&self, key: String, value: u64, writes: u64, over_cap: bool) {
        self.put_value(key, Value::Count(value), writes, over_cap);
    }
}

/// The integer `q` selects (a `COUNT(*)`: a list's total, a figure on the home page), read
/// at most once between two writes ([`CountMemo`]).
pub async fn count_remembered(db: &Db, q: &SelectStatement) -> StoreResult<u64> {
    remembered(db, q, u64::MAX).await
}

/// [`count_remembered`], a count above `cap` kept across writes for [`CAPPED_TTL`].
async fn remembered(db: &Db, q: &SelectStatement, cap: u64) -> StoreResult<u64> {
    // The statement with its values written in: the same filter gives the same key.
    let key = q.to_string(SqliteQueryBuilder);
    // Only a count is remembered: the first column of a list's first row would be taken for
    // one (and a list's statement kept in the memo as if it were).
    debug_assert!(
        key.starts_with("SELECT COUNT("),
        "a remembered count must select COUNT(…): {key}"
    );
    // Before the count: a write committed after this moment makes it stale.
    let writes = db.writes();
    if let Some(n) = db.counts().get(&key, writes) {
        return Ok(n);
    }
    let (c,): (i64,) = db.fetch_one(q).await?;
    let n = u64::try_from(c).unwrap_or(0);
    db.counts().put(key, n, writes, n > cap);
    Ok(n)
}

/// The rows of `q` (a report's totals or counts by value: sums over a million rows), read at
/// most once between two writes through this process, or [`COUNT_TTL`], like a list's count
/// ([`CountMemo`]): a report read again and again between two changes sums once.
pub async fn rows_remembered<T>(db: &Db, q: &SelectStatement) -> StoreResult<Vec<T>>
where
    T: crate::db::Row + Clone + Send + Sync + 'static,
{
    // The statement with its values written in, and the type that reads it.
    let key = format!(
        "{} AS {}",
        q.to_string(SqliteQueryBuilder),
        std::any::type_name::<T>()
    );
    let writes = db.writes();
    if let Some(Value::Rows(rows)) = db.counts().get_value(&key, writes)
        && let Some(rows) = rows.downcast_ref::<Vec<T>>()
    {
        return Ok(rows.clone());
    }
    let rows: Vec<T> = db.fetch_all(q).await?;
    let kept = std::sync::Arc::new(rows.clone());
    db.counts().put_value(key, Value::Rows(kept), writes, false);
    Ok(rows)
}

/// Counts the rows of `q`, reading at most `COUNT_CAP + 1` of them.
pub(crate) async fn count_capped(db: &Db, q: SelectStatement) -> StoreResult<Count> {
    let n = remembered(db, &count_up_to(q, COUNT_CAP + 1), COUNT_CAP).await?;
    Ok(Count {
        value: n.min(COUNT_CAP),
        exact: n <= COUNT_CAP,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use sea_query::ExprTrait as _;

    /// Each part: `s = <status> AND o > <after> ORDER BY o LIMIT <n> OFFSET <skip>`.
    fn part(status: &str, after: i64, n: u64, skip: u64) -> SelectStatement {
        Query::select()
            .column(Alias::new("o"))
            .from(Alias::new("t"))
            .and_where(Expr::col(Alias::new("s")).eq(status))
            .and_where(Expr::col(Alias::new("o")).gt(after))
            .order_by(Alias::new("o"), Order::Asc)
            .limit(n)
            .offset(skip)
            .to_owned()
    }

    #[tokio::test]
    async fn a_union_reads_each_part_in_its_own_order_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        db.execute_raw("CREATE TABLE t (s TEXT NOT NULL, o INTEGER NOT NULL)")
            .await
            .unwrap();
        db.execute_raw(
            "INSERT INTO t VALUES ('a', 9), ('a', 1), ('a', 7), ('a', 3), ('a', 5), \
             ('b', 8), ('b', 2), ('b', 6), ('b', 4)",
        )
        .await
        .unwrap();

        let q = union_all(vec![part("a", 1, 2, 1), part("b", 0, 3, 0)]).unwrap();
        let rows: Vec<(i64,)> = db.fetch_all(&q).await.unwrap();

        let got: Vec<i64> = rows.into_iter().map(|r| r.0).collect();
        assert_eq!(
            got,
            [5, 7, 2, 4, 6],
            "a: 3 5 7 9 skip 1 take 2; b: 2 4 6 8 take 3"
        );
        assert!(union_all(Vec::new()).is_none());
    }

    #[test]
    fn a_count_above_the_cap_outlives_writes_and_is_counted_again_by_one_request_only() {
        let memo = CountMemo::default();
        memo.put("level=a".into(), COUNT_CAP + 1, 7, true);
        memo.put("level=b".into(), 12, 7, false);
        // A write: the exact count is read again, the one above the cap is still true.
        assert_eq!(memo.get("level=a", 8), Some(COUNT_CAP + 1));
        assert_eq!(memo.get("level=b", 8), None);

        // Arrange: the capped count runs out.
        let old = Instant::now()
            .checked_sub(CAPPED_TTL + Duration::from_secs(1))
            .unwrap();
        memo.0.lock().unwrap().get_mut("level=a").unwrap().at = old;

        // Act + Assert: the first asker counts; those asking meanwhile do not.
        assert_eq!(memo.get("level=a", 8), None);
        assert_eq!(memo.get("level=a", 8), Some(COUNT_CAP + 1));
        // That count came back at or below the cap: it lasts until the next write.
        memo.put("level=a".into(), 40, 8, false);
        assert_eq!(memo.get("level=a", 8), Some(40));
        assert_eq!(memo.get("level=a", 9), None);
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum K {
        Name,
        Seen,
    }

    impl SortKey for K {
        const ALL: &'static [Self] = &[K::Name, K::Seen];
        const DEFAULT: Sort<Self> = Sort {
            key: K::Name,
            dir: Dir::Asc,
        };
        fn code(self) -> &'static str {
            match self {
                K::Name => "name",
                K::Seen => "seen",
            }
        }
        fn kind(self) -> KeyKind {
            match self {
                K::Name => KeyKind::Text,
                K::Seen => KeyKind::Time,
            }
        }
        fn column(self) -> Expr {
            Expr::cust(self.code())
        }
        fn nullable(self) -> bool {
            self == K::Seen
        }
        fn first_dir(self) -> Dir {
            match self {
                K::Name => Dir::Asc,
                K::Seen => Dir::Desc,
            }
        }
    }

    fn cursor(sort: &str, before: bool, value: KeyValue, id: i64) -> Cursor {
        Cursor {
            sort: sort.into(),
            before,
            value,
            id,
        }
    }

    #[test]
    fn page_requests_are_clamped() {
        let p = PageRequest::new(Some(0), Some(10_000));
        assert_eq!((p.page, p.per_page), (1, 200));
        assert_eq!(PageRequest::new(Some(3), Some(20)).offset(), 40);
        let huge = PageRequest::new(Some(u64::MAX), Some(200));
        assert_eq!(huge.offset(), i64::MAX as u64);
        let zero = PageRequest {
            page: 0,
            per_page: 10,
        };
        assert_eq!(zero.offset(), 0);
        assert_eq!(
            Page::<()>::new(vec![], 41, PageRequest::new(None, Some(20))).pages(),
            3
        );
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn sorts_parse_only_the_offered_keys_and_turn_around_on_a_second_click() {
        let s: Sort<K> = "-seen".parse().unwrap();
        assert_eq!((s.key, s.dir), (K::Seen, Dir::Desc));
        assert_eq!(s.code(), "-seen");
        assert!("password".parse::<Sort<K>>().is_err());
        assert!("--name".parse::<Sort<K>>().is_err());
        assert_eq!(Sort::<K>::codes(), ["name", "-name", "seen", "-seen"]);
        assert_eq!(s.by(K::Seen).code(), "seen");
        assert_eq!(s.by(K::Name).code(), "name");
        assert_eq!(Sort::new(K::Name, Dir::Asc).by(K::Seen).code(), "-seen");
    }

    #[test]
    fn a_cursor_reads_back_as_it_was_made() {
        let sort = Sort::new(K::Name, Dir::Asc);
        for value in [
            KeyValue::Text("张伟\nx".into()),
            KeyValue::Text(String::new()),
        ] {
            let c = cursor("name", true, value, 42);
            assert_eq!(Cursor::decode(&c.encode(), sort), Ok(c));
        }
        let seen = Sort::new(K::Seen, Dir::Desc);
        let t = DateTime::parse_from_rfc3339("2025-03-01T08:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        for value in [KeyValue::Time(t), KeyValue::Null] {
            let c = cursor("-seen", false, value, i64::MAX);
            assert_eq!(Cursor::decode(&c.encode(), seen), Ok(c));
        }
    }

    #[test]
    fn a_changed_cut_or_foreign_cursor_is_refused() {
        let sort = Sort::new(K::Name, Dir::Asc);
        let good = cursor("name", false, KeyValue::Text("li".into()), 7).encode();
        let mut flipped = good.clone().into_bytes();
        flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            flipped.as_str(),
            &good[..good.len() - 2],
            "",
            "not a cursor!",
            "AAAAAAAAAAAAAAAAAAAA",
            &"A".repeat(Cursor::MAX_LEN + 4),
        ] {
            assert_eq!(Cursor::decode(bad, sort), Err(BadCursor), "{bad}");
        }
        // Made for another sort, or another direction of the same key.
        assert_eq!(
            Cursor::decode(&good, Sort::new(K::Name, Dir::Desc)),
            Err(BadCursor)
        );
        // A value of the wrong kind, even with a correct checksum, is refused, and so is a
        // NULL for a key that cannot be NULL.
        let wrong = cursor("-seen", false, KeyValue::Text("x".into()), 1).encode();
        assert_eq!(
            Cursor::decode(&wrong, Sort::new(K::Seen, Dir::Desc)),
            Err(BadCursor)
        );
        let null = cursor("name", false, KeyValue::Null, 1).encode();
        assert_eq!(Cursor::decode(&null, sort), Err(BadCursor));
    }

    #[tokio::test]
    async fn a_count_is_read_again_after_a_write_and_remembered_until_then() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        db.execute_raw("CREATE TABLE t (s TEXT NOT NULL)")
            .await
            .unwrap();
        db.execute_raw("INSERT INTO t VALUES ('a'), ('a'), ('b')")
            .await
            .unwrap();
        let count = || {
            Query::select()
                .expr(Expr::cust("COUNT(*)"))
                .from(Alias::new("t"))
                .and_where(Expr::col(Alias::new("s")).eq("a"))
                .to_owned()
        };
        assert_eq!(count_remembered(&db, &count()).await.unwrap(), 2);

        // Written through this handle: counted again at once.
        db.execute(
            &Query::insert()
                .into_table(Alias::new("t"))
                .columns([Alias::new("s")])
                .values_panic(["a".into()])
                .to_owned(),
        )
        .await
        .unwrap();
        assert_eq!(count_remembered(&db, &count()).await.unwrap(), 3);

        // Written by another process (another handle): the remembered count stands until
        // COUNT_TTL; a different statement is counted afresh.
        let other = Db::connect(&url).await.unwrap();
        other
            .execute_raw("INSERT INTO t VALUES ('a'), ('b')")
            .await
            .unwrap();
        assert_eq!(count_remembered(&db, &count()).await.unwrap(), 3);
        let all = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from(Alias::new("t"))
            .to_owned();
        assert_eq!(count_remembered(&db, &all).await.unwrap(), 6);
        assert_eq!(count_remembered(&other, &count()).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn a_reports_rows_are_summed_again_after_a_write_and_remembered_until_then() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        db.execute_raw("CREATE TABLE t (s TEXT NOT NULL, n BIGINT NOT NULL)")
            .await
            .unwrap();
        db.execute_raw("INSERT INTO t VALUES ('a', 1), ('a', 2), ('b', 5)")
            .await
            .unwrap();
        let sums = Query::select()
            .column(Alias::new("s"))
            .expr(Expr::cust("SUM(n)"))
            .from(Alias::new("t"))
            .group_by_col(Alias::new("s"))
            .order_by(Alias::new("s"), sea_query::Order::Asc)
            .to_owned();
        let read = async || -> Vec<(String, i64)> { rows_remembered(&db, &sums).await.unwrap() };
        assert_eq!(read().await, vec![("a".into(), 3), ("b".into(), 5)]);
        // Another process's write: the remembered sums stand (until COUNT_TTL).
        let other = Db::connect(&url).await.unwrap();
        other
            .execute_raw("INSERT INTO t VALUES ('b', 1)")
            .await
            .unwrap();
        assert_eq!(read().await, vec![("a".into(), 3), ("b".into(), 5)]);
        // Written through this handle: summed again at once.
        db.execute(
            &Query::insert()
                .into_table(Alias::new("t"))
                .columns([Alias::new("s"), Alias::new("n")])
                .values_panic(["a".into(), 10.into()])
                .to_owned(),
        )
        .await
        .unwrap();
        assert_eq!(read().await, vec![("a".into(), 13), ("b".into(), 6)]);
        // The same statement read as another type is another entry, not a wrong cast.
        let counts: Vec<(String, i32)> = rows_remembered(&db, &sums).await.unwrap();
        assert_eq!(counts, vec![("a".into(), 13), ("b".into(), 6)]);
    }

    #[tokio::test]
    #[should_panic(expected = "a remembered count must select COUNT")]
    async fn a_list_statement_is_refused_as_a_count_to_remember() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        let rows = Query::select().expr(Expr::cust("42")).to_owned();
        let _ = count_remembered(&db, &rows).await;
    }
}
