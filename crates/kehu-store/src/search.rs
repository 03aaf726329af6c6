//! The search index (搜索索引) behind the header search box: one document per record of any
//! module (customers, contacts, later opportunities and services), written by the module in
//! the record's own write transaction ([`put`], [`remove`]), and [`SearchStore::search`],
//! which finds records across modules within the caller's data scope.
//!
//! How it finds: every document's texts are normalised (lower case, no white space, full-width
//! ASCII folded) and cut into tokens here, the same way on both databases: Chinese bigrams,
//! pinyin syllable pairs and initial pairs (every reading of a polyphone, bounded), Latin and
//! digit trigrams (a phone number also as its digits alone), each run's last one or two
//! characters, and a head token for what a text starts with and a whole token for what it
//! is. SQLite indexes the tokens with FTS5, PostgreSQL with GIN over a `tsvector`; a query is
//! turned into the tokens any match must hold, the index yields candidates, and
//! [`rank_of`]'s exact check keeps the true matches and ranks them: exact, then prefix, then
//! substring. Candidates are read in three tiers (whole, head, anywhere), so a short query
//! (`张`, `zs`) that matches many records still reads only a few hundred.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::LazyLock;

use kehu_domain::policy::OwnerFilter;
use kehu_domain::{DomainError, FieldError};
use pinyin::{ToPinyin, ToPinyinMulti};
use sea_query::{Expr, ExprTrait, OnConflict, Query};

use crate::db::{Backend, Db, Tx};
use crate::error::{StoreError, StoreResult};
use crate::schema::{SearchDocs, SearchFts};
use crate::scope::{Owned, Scoped};

/// The version of the tokeniser, kept with each document: documents written by an older one
/// are written again by [`SearchStore::renew_stale`] (2: a token per Chinese character and per
/// syllable).
pub const TOKENS_VERSION: i16 = 2;

/// The longest query, in characters; the rest is ignored.
pub const QUERY_MAX_CHARS: usize = 64;
/// The most hits one search returns.
pub const LIMIT_MAX: usize = 100;
/// Readings kept per polyphonic character (重: zhong, chong; see [`POLYPHONES`]).
const READINGS_MAX: usize = 2;
/// Texts up to this length also get a whole token (the exact tier).
const WHOLE_MAX_CHARS: usize = 32;
/// Names up to this length also get whole tokens of their pinyin and initials (a person's
/// or a short name's exact tier), in at most [`WHOLE_VARIANTS_MAX`] spellings (polyphones
/// multiply them).
const PINYIN_WHOLE_MAX_CHARS: usize = 6;
const WHOLE_VARIANTS_MAX: usize = 8;
/// Ways of cutting a pinyin query into syllables (`xian`: xian, xi an) that are tried: those
/// with the fewest syllables (`huang jian guo` before `hu ang ji an gu o`), of at most
/// [`SEGMENTATIONS_SEEN`] found.
const SEGMENTATIONS_MAX: usize = 4;
const SEGMENTATIONS_SEEN: usize = 64;

/// The most candidates one read of a search takes (see [`SearchStore::search`]).
const CANDIDATES_MAX: usize = 3200;

/// PostgreSQL: the slices of the documents (ids that are multiples of each) that have a GIN
/// index of their own (migration 8), read before the whole index (1), smallest first (see
/// [`SearchStore::candidates`]). SQLite reads only the whole index.
const SLICES: &[usize] = &[256, 16, 1];

/// The reads of one candidate search on `backend`, in order: see [`SLICES`].
fn reads(backend: Backend) -> &'static [usize] {
    match backend {
        Backend::Sqlite => &SLICES[SLICES.len() - 1..],
        Backend::Postgres => SLICES,
    }
}

/// A prefix token after an alternative's first is kept only when at least this long, or
/// [`PREFIX_LONG_CHARS`] long beside an exact token (see [`ParsedQuery::parse`]).
const PREFIX_MIN_CHARS: usize = 5;
const PREFIX_LONG_CHARS: usize = 7;

/// Pinyin queries at least this long also read the short texts whose whole pinyin they start
/// ([`Tier::Start`]); a shorter prefix would read the union of too many whole tokens (`zhang`*:
/// every name of a 张, 14 ms at a million customers).
const START_MIN_CHARS: usize = 7;

/// A partial syllable is read as the syllables it can end as, exact tokens, when they are at
/// most this many (`l`: 27, `zh`: 20); and all of a query's such readings together are at most
/// [`EXPAND_BUDGET`]. Exact tokens are read only as far as the candidates needed, where a
/// prefix token costs the union of every term it starts, read whole first (`qli`* at a
/// million customers: 40 ms).
const EXPAND_MAX: usize = 40;
const EXPAND_BUDGET: usize = 64;

/// Letter queries up to this length are also read as initials (longer ones only when they
/// cannot be cut into syllables).
const INITIALS_MAX: usize = 5;

/// What a module indexes about one record: who may see it (`owner_id`, for the data scope),
/// what the hit shows (`title`, `subtitle`) and what can find it (`title` and `texts`: name,
/// code, phones, mobile, email …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDoc<'a> {
    /// The module's entity, lower-case letters and `_` (`customer`, `contact`).
    pub entity: &'a str,
    pub entity_id: i64,
    /// The record's owner; `None` is seen only with a scope over every record.
    pub owner_id: Option<i64>,
    pub title: &'a str,
    pub subtitle: &'a str,
    pub texts: &'a [&'a str],
}

/// How well a hit matched, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRank {
    /// A text is the query (or its full pinyin or initials).
    Exact,
    /// A text starts with it.
    Prefix,
    /// A text contains it.
    Substring,
}

/// One record found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchHit {
    pub entity: String,
    pub entity_id: i64,
    pub title: String,
    pub subtitle: String,
    pub rank: MatchRank,
}

/// The one builder of every statement on `search_docs` except the insert (see
/// [`crate::scope`]): the search reads within the caller's scope; writes come from a module
/// that already checked its record's scope, so they use the system's.
fn docs(scope: OwnerFilter) -> Scoped<SearchDocs> {
    Scoped::new(
        Owned {
            table: SearchDocs::Table,
            owner: SearchDocs::OwnerId,
        },
        scope,
    )
}

/// `customer`, `contact` …: what can be a token and a column value.
fn checked_entity(entity: &str) -> StoreResult<&str> {
    let ok = !entity.is_empty()
        && entity.len() <= 32
        && entity.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if ok {
        Ok(entity)
    } else {
        Err(DomainError::Invalid(vec![FieldError::new("entity", "err-search-entity")]).into())
    }
}

/// Writes (or replaces) the document of `doc.entity` `doc.entity_id`, in the record's write
/// transaction so the index never disagrees with a committed record.
pub async fn put(tx: &mut Tx, doc: &SearchDoc<'_>) -> StoreResult<()> {
    put_many(tx, std::slice::from_ref(doc)).await
}

/// Documents written per statement by [`put_many`] into `search_docs` (6 parameters each).
const PUT_BATCH: usize = 200;
/// Rows written per statement into FTS5 (2 parameters each; SQLite takes 32,766).
const FTS_BATCH: usize = 10_000;

/// [`put`] for many documents (an import's batch): a few multi-row statements instead of two
/// per document. On SQLite the FTS5 rows go in one statement at the end: FTS5 writes what it
/// holds in memory to a new segment of the index at every statement that follows, and each
/// segment costs merging later (one per 200 documents halved the fill rate).
pub async fn put_many(tx: &mut Tx, batch: &[SearchDoc<'_>]) -> StoreResult<()> {
    let pg = tx.backend() == Backend::Postgres;
    // One row per record (PostgreSQL refuses to upsert a row twice in one statement, FTS5 to
    // insert a rowid twice): the last document of a record wins.
    let mut last = HashMap::new();
    for (i, doc) in batch.iter().enumerate() {
        last.insert((checked_entity(doc.entity)?, doc.entity_id), i);
    }
    let list: Vec<&SearchDoc<'_>> = batch
        .iter()
        .enumerate()
        .filter(|(i, d)| last.get(&(d.entity, d.entity_id)) == Some(i))
        .map(|(_, d)| d)
        .collect();
    if pg {
        for chunk in list.chunks(PUT_BATCH) {
            put_chunk(tx, chunk, None).await?;
        }
        return Ok(());
    }
    // SQLite: the documents already in the index keep their ids, new ones take the next free
    // ones (the writer holds the database), so no statement has to return a row per document;
    // their FTS5 rows are plain inserts (replacing one costs FTS5 a look-up and a delete).
    let mut known: HashMap<(&str, i64), i64> = HashMap::new();
    let mut entities: Vec<&str> = list.iter().map(|d| d.entity).collect();
    entities.sort_unstable();
    entities.dedup();
    for entity in entities {
        let of_entity: Vec<i64> = list
            .iter()
            .filter(|d| d.entity == entity)
            .map(|d| d.entity_id)
            .collect();
        for ids in of_entity.chunks(FTS_BATCH) {
            let mut q = docs(OwnerFilter::system()).select();
            q.columns([SearchDocs::Id, SearchDocs::EntityId])
                .and_where(Expr::col(SearchDocs::Entity).eq(entity))
                .and_where(Expr::col(SearchDocs::EntityId).is_in(ids.iter().copied()));
            let rows: Vec<(i64, i64)> = tx.fetch_all(&q).await?;
            for (id, entity_id) in rows {
                known.insert((entity, entity_id), id);
            }
        }
    }
    let mut max = docs(OwnerFilter::system()).select();
    max.expr(Expr::col(SearchDocs::Id).max());
    let (max,): (Option<i64>,) = tx.fetch_one(&max).await?;
    let mut next = max.unwrap_or(0);
    let mut new = (Vec::new(), Vec::new());
    let mut old = (Vec::new(), Vec::new());
    for d in list {
        match known.get(&(d.entity, d.entity_id)) {
            Some(&id) => {
                old.0.push(d);
                old.1.push(id);
            }
            None => {
                next += 1;
                new.0.push(d);
                new.1.push(next);
            }
        }
    }
    for ((group, ids), replace) in [(new, false), (old, true)] {
        let mut rows = Vec::with_capacity(group.len());
        for (chunk, ids) in group.chunks(PUT_BATCH).zip(ids.chunks(PUT_BATCH)) {
            let tokens = put_chunk(tx, chunk, Some(ids)).await?;
            rows.extend(ids.iter().copied().zip(tokens));
        }
        insert_fts(tx, &rows, replace).await?;
    }
    Ok(())
}

/// SQLite: the FTS5 rows `(rowid, tokens)`, [`FTS_BATCH`] per statement; `replace`: rows
/// whose rowid FTS5 may hold already (a contentless FTS5 table replaces that row).
async fn insert_fts(tx: &mut Tx, rows: &[(i64, String)], replace: bool) -> StoreResult<()> {
    for chunk in rows.chunks(FTS_BATCH) {
        let mut fts = Query::insert();
        if replace {
            fts.replace();
        }
        fts.into_table(SearchFts::Table)
            .columns([SearchFts::Rowid, SearchFts::Tokens]);
        for (id, tokens) in chunk {
            fts.values([(*id).into(), tokens.as_str().into()])
                .map_err(|e| StoreError::Other(e.into()))?;
        }
        tx.execute(&fts).await?;
    }
    Ok(())
}

/// What a document is, as stored: the columns written from a [`SearchDoc`].
const DOC_COLUMNS: [SearchDocs; 6] = [
    SearchDocs::Entity,
    SearchDocs::EntityId,
    SearchDocs::OwnerId,
    SearchDocs::Title,
    SearchDocs::Subtitle,
    SearchDocs::Body,
];

/// Upserts `docs` (one per record) into `search_docs` with their `ids` when given (SQLite), or
/// with their tokens (PostgreSQL); returns each one's tokens.
async fn put_chunk(
    tx: &mut Tx,
    docs: &[&SearchDoc<'_>],
    ids: Option<&[i64]>,
) -> StoreResult<Vec<String>> {
    let pg = tx.backend() == Backend::Postgres;
    let mut columns = DOC_COLUMNS.to_vec();
    columns.push(SearchDocs::TokensVersion);
    if pg {
        columns.push(SearchDocs::Tokens);
    }
    let update = columns[2..].to_vec();
    if ids.is_some() {
        columns.push(SearchDocs::Id);
    }
    let mut insert = Query::insert()
        .into_table(SearchDocs::Table)
        .columns(columns)
        .to_owned();
    let mut all = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        let (body, tokens) = body_and_tokens(doc);
        let mut values: Vec<Expr> = vec![
            doc.entity.into(),
            doc.entity_id.into(),
            doc.owner_id.into(),
            doc.title.into(),
            doc.subtitle.into(),
            body.into(),
            TOKENS_VERSION.into(),
        ];
        if pg {
            // `'tok' 'tok' …`: lexemes taken as they are (tokens hold no quotes or spaces).
            let quoted = tokens.replace(' ', "' '");
            values.push(Expr::cust_with_values(
                "$1::tsvector",
                [format!("'{quoted}'")],
            ));
        }
        if let Some(ids) = ids {
            values.push(ids.get(i).copied().unwrap_or_default().into());
        }
        insert
            .values(values)
            .map_err(|e| StoreError::Other(e.into()))?;
        all.push(tokens);
    }
    insert.on_conflict(
        OnConflict::columns([SearchDocs::Entity, SearchDocs::EntityId])
            .update_columns(update)
            .to_owned(),
    );
    tx.execute(&insert).await?;
    Ok(all)
}

/// Removes the document of `entity` `entity_id` (nothing when there is none).
pub async fn remove(tx: &mut Tx, entity: &str, entity_id: i64) -> StoreResult<()> {
    let entity = checked_entity(entity)?;
    // On SQLite a trigger removes the FTS5 row with the document (migration `search_index`).
    let mut delete = docs(OwnerFilter::system()).delete();
    delete
        .and_where(Expr::col(SearchDocs::Entity).eq(entity))
        .and_where(Expr::col(SearchDocs::EntityId).eq(entity_id));
    tx.execute(&delete).await?;
    Ok(())
}

/// How many index tokens `doc` costs (one FTS5 / `tsvector` entry each): what a module's
/// import pays per record on top of its own row.
pub fn token_count(doc: &SearchDoc<'_>) -> usize {
    doc_tokens(doc).split(' ').collect::<HashSet<_>>().len()
}

/// Reads the search index.
#[derive(Debug, Clone)]
pub struct SearchStore {
    db: Db,
}

/// SQLite: the FTS5 rows of `batch` (stored as `ids`) written again, as new rows when FTS5 was
/// emptied (`emptied`), and the documents marked current (their row is otherwise unchanged).
async fn renew_fts(
    tx: &mut Tx,
    batch: &[SearchDoc<'_>],
    ids: &[i64],
    emptied: bool,
) -> StoreResult<()> {
    let rows: Vec<(i64, String)> = ids
        .iter()
        .copied()
        .zip(batch.iter().map(doc_tokens))
        .collect();
    insert_fts(tx, &rows, !emptied).await?;
    for chunk in ids.chunks(FTS_BATCH) {
        let mut mark = docs(OwnerFilter::system()).update();
        mark.value(SearchDocs::TokensVersion, TOKENS_VERSION)
            .and_where(Expr::col(SearchDocs::Id).is_in(chunk.iter().copied()));
        tx.execute(&mark).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct StaleDoc {
    id: i64,
    entity: String,
    entity_id: i64,
    owner_id: Option<i64>,
    title: String,
    subtitle: String,
    body: String,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    entity: String,
    entity_id: i64,
    title: String,
    subtitle: String,
    body: String,
}

impl SearchStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The records within `scope` that `q` finds, of the `entities` given (all when `None`),
    /// best first: exact matches, then prefix, then substring; among equals, title matches
    /// first, then shorter titles. At most `limit` (capped at [`LIMIT_MAX`]); an empty query
    /// finds nothing.
    pub async fn search(
        &self,
        scope: &OwnerFilter,
        q: &str,
        entities: Option<&[&str]>,
        limit: usize,
    ) -> StoreResult<Vec<SearchHit>> {
        let limit = limit.min(LIMIT_MAX);
        let query = ParsedQuery::parse(q);
        if limit == 0 || query.alternatives.is_empty() {
            return Ok(Vec::new());
        }
        let entities = match entities {
            Some(list) => Some(
                list.iter()
                    .map(|e| checked_entity(e))
                    .collect::<StoreResult<Vec<_>>>()?,
            ),
            None => None,
        };
        if entities.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let cap = (limit * 4).clamp(50, 400);
        let mut seen = HashSet::new();
        let mut found: Vec<(MatchRank, bool, usize, SearchHit)> = Vec::new();
        // The whole read first (one token, cheap): enough exact matches end the search. A
        // pinyin spelling long enough next reads the short texts it starts (`zhouyongya`:
        // 周勇洋, 周勇艳): a few whole tokens, where the syllable pairs it holds are shared by
        // thousands of documents that the exact check would turn away. Then the head read:
        // enough prefix matches end the search, and every other match would rank below them.
        // Only then the anywhere read. A common query (`zhang`, `138`) is thus one read of
        // its common tokens, not two: on PostgreSQL each such read builds the bitmap of
        // every document that holds them (25 ms at two million documents).
        let order = [Tier::Whole, Tier::Start, Tier::Head, Tier::Anywhere];
        for tier in order {
            let Some(expr) = query.expr(tier) else {
                continue;
            };
            let expr = expr.and(scope_expr(self.db.backend(), scope, entities.as_deref()));
            // A read cut short that held too few true matches (the tokens only narrow) is
            // read again, wider, up to `CANDIDATES_MAX`.
            let mut width = cap;
            let complete = loop {
                let cands = self
                    .candidates(*scope, &expr, entities.as_deref(), width)
                    .await?;
                let cut = cands.len() >= width;
                for c in cands {
                    if !seen.insert(c.id) {
                        continue;
                    }
                    if let Some((rank, in_title)) = rank_of(&c.body, &query) {
                        let len = c.title.chars().count();
                        found.push((
                            rank,
                            !in_title,
                            len,
                            SearchHit {
                                entity: c.entity,
                                entity_id: c.entity_id,
                                title: c.title,
                                subtitle: c.subtitle,
                                rank,
                            },
                        ));
                    }
                }
                if !cut || found.len() >= limit || width >= CANDIDATES_MAX {
                    break tier == Tier::Anywhere && !cut;
                }
                width *= 4;
            };
            if complete || (tier != Tier::Anywhere && found.len() >= limit) {
                break;
            }
        }
        found.sort_by(|a, b| {
            (a.0, a.1, a.2, &a.3.entity, a.3.entity_id).cmp(&(
                b.0,
                b.1,
                b.2,
                &b.3.entity,
                b.3.entity_id,
            ))
        });
        Ok(found.into_iter().take(limit).map(|(.., hit)| hit).collect())
    }

    /// Writes again the documents whose tokens an older tokeniser wrote (see
    /// [`TOKENS_VERSION`]), `batch` per transaction, and answers how many: their texts are in
    /// `body` already normalised, and normalising again changes nothing.
    pub async fn renew_stale(&self, batch: usize) -> StoreResult<u64> {
        let mut renewed = 0;
        let mut after = 0;
        // SQLite, when every document is stale: see the first batch below.
        let mut emptied = false;
        loop {
            let mut q = docs(OwnerFilter::system()).select();
            q.column(SearchDocs::Id)
                .columns(DOC_COLUMNS)
                .and_where(Expr::col(SearchDocs::Id).gt(after))
                .and_where(Expr::col(SearchDocs::TokensVersion).lt(TOKENS_VERSION))
                .order_by(SearchDocs::Id, sea_query::Order::Asc)
                .limit(batch.max(1) as u64);
            let rows: Vec<StaleDoc> = self.db.fetch_all(&q).await?;
            let Some(last) = rows.last() else {
                return Ok(renewed);
            };
            after = last.id;
            // On SQLite, when no document is current (an index an older kehu wrote), FTS5 is
            // emptied first and the rows go in as new ones: replacing each one's row instead
            // leaves FTS5 a deletion mark per document to merge away, which stalled the
            // writer for up to 40 s at a time at two million documents.
            if renewed == 0 && self.db.backend() == Backend::Sqlite {
                let mut current = docs(OwnerFilter::system()).select();
                current
                    .expr(Expr::val(1))
                    .and_where(Expr::col(SearchDocs::TokensVersion).gte(TOKENS_VERSION))
                    .limit(1);
                if self.db.fetch_all::<(i32,)>(&current).await?.is_empty() {
                    self.db
                        .write(async |tx| {
                            tx.execute_raw(
                                "INSERT INTO search_fts(search_fts) VALUES ('delete-all')",
                            )
                            .await
                            .map_err(StoreError::from)
                        })
                        .await?;
                    emptied = true;
                }
            }
            let texts: Vec<Vec<&str>> = rows
                .iter()
                .map(|r| {
                    let mut parts: Vec<&str> = r.body.split('\u{1f}').collect();
                    // The body starts with the title when the title holds anything.
                    if !normalize(&r.title).is_empty() && !parts.is_empty() {
                        parts.remove(0);
                    }
                    parts
                })
                .collect();
            let docs: Vec<SearchDoc<'_>> = rows
                .iter()
                .zip(&texts)
                .map(|(r, texts)| SearchDoc {
                    entity: &r.entity,
                    entity_id: r.entity_id,
                    owner_id: r.owner_id,
                    title: &r.title,
                    subtitle: &r.subtitle,
                    texts,
                })
                .collect();
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            self.db
                .write(async |tx| match tx.backend() {
                    Backend::Postgres => put_many(tx, &docs).await,
                    Backend::Sqlite => renew_fts(tx, &docs, &ids, emptied).await,
                })
                .await?;
            renewed += rows.len() as u64;
        }
    }

    /// The documents (at most `cap`) whose tokens satisfy `expr`, within `scope`. On
    /// PostgreSQL the [`SLICES`] are read first, smallest first: a slice holding `cap` of them
    /// answers (a common query reads 1/256 of its tokens' documents); one holding fewer tells
    /// how many the next can hold, and a slice that cannot reach `cap` by that count is
    /// skipped. Only then the whole index, whose read is the one that can be complete.
    async fn candidates(
        &self,
        scope: OwnerFilter,
        expr: &Match,
        entities: Option<&[&str]>,
        cap: usize,
    ) -> StoreResult<Vec<Candidate>> {
        let backend = self.db.backend();
        // Matches found in the last slice read, scaled to the documents it covers.
        let mut expected: Option<usize> = None;
        let mut found = Vec::new();
        for &slice in reads(backend) {
            if slice > 1 && expected.is_some_and(|e| e * 2 / slice < cap) {
                continue;
            }
            let q = candidate_query(backend, scope, expr, entities, cap, slice);
            found = self.db.fetch_all(&q).await?;
            if found.len() >= cap {
                break;
            }
            expected = Some(found.len() * slice);
        }
        Ok(found)
    }

    /// The database's plan for each candidate read of `q` (`EXPLAIN QUERY PLAN` on SQLite,
    /// `EXPLAIN` on PostgreSQL, there each slice's read too), for tests and the benchmark to show the index in use. On
    /// PostgreSQL sequential scans are switched off for it, so a small table shows the plan
    /// of a large one (the planner rightly scans a table of a few pages whatever its
    /// indexes).
    pub async fn explain(
        &self,
        scope: &OwnerFilter,
        q: &str,
        entities: Option<&[&str]>,
    ) -> StoreResult<Vec<String>> {
        let query = ParsedQuery::parse(q);
        let backend = self.db.backend();
        let mut tx = self.db.begin().await?;
        if backend == Backend::Postgres {
            tx.execute_raw("SET LOCAL enable_seqscan = off").await?;
        }
        let mut plans = Vec::new();
        for tier in [Tier::Whole, Tier::Start, Tier::Head, Tier::Anywhere] {
            let Some(expr) = query.expr(tier) else {
                continue;
            };
            let expr = expr.and(scope_expr(backend, scope, entities));
            for &slice in reads(backend) {
                let stmt = candidate_query(backend, *scope, &expr, entities, 50, slice);
                let lines: Vec<String> = match backend {
                    Backend::Sqlite => {
                        let sql = stmt.to_string(sea_query::SqliteQueryBuilder);
                        let explain = crate::statement::Raw(format!("EXPLAIN QUERY PLAN {sql}"));
                        let rows: Vec<(i64, i64, i64, String)> = tx.fetch_all(&explain).await?;
                        rows.into_iter().map(|r| r.3).collect()
                    }
                    Backend::Postgres => {
                        let sql = stmt.to_string(sea_query::PostgresQueryBuilder);
                        let explain = crate::statement::Raw(format!("EXPLAIN {sql}"));
                        let rows: Vec<(String,)> = tx.fetch_all(&explain).await?;
                        rows.into_iter().map(|r| r.0).collect()
                    }
                };
                plans.push(format!("{tier:?} 1/{slice}:\n  {}", lines.join("\n  ")));
            }
        }
        drop(tx);
        Ok(plans)
    }
}

/// The candidate query: the documents within `scope` whose tokens match, at most `cap`, of
/// those whose id is a multiple of `slice` (1: all; PostgreSQL's partial indexes, see
/// [`SLICES`]).
fn candidate_query(
    backend: Backend,
    scope: OwnerFilter,
    expr: &Match,
    entities: Option<&[&str]>,
    cap: usize,
    slice: usize,
) -> sea_query::SelectStatement {
    let mut q = docs(scope).select();
    q.columns([
        SearchDocs::Id,
        SearchDocs::Entity,
        SearchDocs::EntityId,
        SearchDocs::Title,
        SearchDocs::Subtitle,
        SearchDocs::Body,
    ]);
    if let Some(list) = entities {
        // `entity || ''`: not by the entity's index. SQLite would otherwise walk every
        // document of those entities (all of them, from the header search) testing each
        // against the token read, 30 ms at 380,000 documents where the read itself takes one;
        // PostgreSQL likewise ANDs that index's bitmap in.
        q.and_where(Expr::cust("(entity || '')").is_in(list.iter().copied()));
    }
    match backend {
        Backend::Sqlite => {
            // The index first, with the limit inside: FTS5 stops after `cap` documents.
            q.and_where(Expr::cust_with_values(
                format!(
                    "id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ? LIMIT {cap})"
                ),
                [expr.fts5()],
            ));
        }
        Backend::Postgres => {
            q.and_where(Expr::cust_with_values(
                "tokens @@ $1::tsquery",
                [expr.tsquery()],
            ))
            .limit(cap as u64);
            if slice > 1 {
                // A constant, not a parameter: the planner matches it to the partial index's
                // condition only as written there.
                q.and_where(Expr::cust(format!("id % {slice} = 0")));
            }
        }
    }
    q
}

/// The scope and entity conditions as tokens, so the capped candidate read already holds
/// only documents the caller may see (the scoped builder adds the same as columns).
/// PostgreSQL's GIN reads every document of a token before it can AND: there the entity is
/// left to the column (the entities of the header search are every document, and ANDing
/// them took 150 of a query's 170 ms at two million documents).
fn scope_expr(backend: Backend, scope: &OwnerFilter, entities: Option<&[&str]>) -> Match {
    let mut all = Vec::new();
    if let Some(owner) = scope.owner() {
        all.push(Match::Token(Token::exact('o', owner.to_string())));
    }
    if let Some(list) = entities.filter(|_| backend == Backend::Sqlite) {
        all.push(Match::Any(
            list.iter()
                .map(|e| Match::Token(Token::exact('e', e.replace('_', ""))))
                .collect(),
        ));
    }
    Match::All(all)
}

// ---------------------------------------------------------------------------------------------
// Tokens. Each token is a tag letter and its text; the tags keep the kinds apart:
// c/h Chinese grams anywhere / at a text's start, u/w Chinese characters, p/q pinyin pairs,
// s/t syllables, i/j initial pairs, a/b Latin and digit grams, x whole texts, o owner, e
// entity.

/// One token of a query: exact, or any token starting with it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Token {
    tag: char,
    text: String,
    prefix: bool,
}

impl Token {
    fn exact(tag: char, text: impl Into<String>) -> Self {
        Self {
            tag,
            text: text.into(),
            prefix: false,
        }
    }

    fn prefix(tag: char, text: impl Into<String>) -> Self {
        Self {
            tag,
            text: text.into(),
            prefix: true,
        }
    }
}

/// A condition on a document's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Match {
    Token(Token),
    All(Vec<Match>),
    Any(Vec<Match>),
}

impl Match {
    /// Both conditions (an empty `All` adds nothing).
    fn and(self, b: Match) -> Match {
        match b {
            Match::All(v) if v.is_empty() => self,
            b => Match::All(vec![self, b]),
        }
    }

    /// FTS5's query syntax: `"c华强" AND "c华"*`.
    fn fts5(&self) -> String {
        match self {
            Match::Token(t) => {
                let star = if t.prefix { "*" } else { "" };
                format!("\"{}{}\"{star}", t.tag, t.text)
            }
            Match::All(v) => join(v, " AND ", Match::fts5),
            Match::Any(v) => join(v, " OR ", Match::fts5),
        }
    }

    /// PostgreSQL's `tsquery` syntax: `'c华强' & 'c华':*`.
    fn tsquery(&self) -> String {
        match self {
            Match::Token(t) => {
                let star = if t.prefix { ":*" } else { "" };
                format!("'{}{}'{star}", t.tag, t.text)
            }
            Match::All(v) => join(v, " & ", Match::tsquery),
            Match::Any(v) => join(v, " | ", Match::tsquery),
        }
    }
}

fn join(v: &[Match], sep: &str, f: fn(&Match) -> String) -> String {
    let parts: Vec<String> = v.iter().map(|m| format!("({})", f(m))).collect();
    parts.join(sep)
}

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

/// Letters and digits other than Chinese characters (Latin, digits, other scripts).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_han(c)
}

/// Lower case, white space removed, full-width ASCII folded (`ＡＢＣ１２３` is `abc123`): what
/// both the documents and the queries are compared as.
fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Only the characters a token may hold (punctuation is where tokenizers split).
fn sanitize(s: &str) -> String {
    s.chars().filter(|&c| is_han(c) || is_word(c)).collect()
}

/// The plain readings of a Chinese character (every reading of a polyphone, bounded), `ü` as
/// `v` the way it is typed; none for anything else. Looked up in a table built once (the
/// tokeniser asks for every character of every document).
fn readings(c: char) -> &'static [&'static str] {
    let table = &*READINGS;
    match (c as usize).checked_sub(READINGS_FROM) {
        Some(i) if i < table.len() => &table[i],
        _ if is_han(c) => RARE_READINGS.get(&c).map_or(&[], |v| &v[..]),
        _ => &[],
    }
}

/// The first code point of the [`READINGS`] table (CJK extension A, then the unified block).
const READINGS_FROM: usize = 0x3400;
const READINGS_TO: usize = 0x9FFF;

fn readings_of(c: char) -> Box<[&'static str]> {
    let mut out: Vec<&'static str> = Vec::new();
    if !is_han(c) {
        return out.into_boxed_slice();
    }
    let mut push = |r: &'static str| {
        let r = V_SPELLINGS.get(r).copied().unwrap_or(r);
        if !out.contains(&r) && out.len() < READINGS_MAX {
            out.push(r);
        }
    };
    if let Some(p) = c.to_pinyin() {
        push(p.plain());
    }
    if let Some((_, more)) = POLYPHONES.iter().find(|(k, _)| *k == c) {
        for r in *more {
            push(r);
        }
    }
    out.into_boxed_slice()
}

/// The polyphones whose other reading people type (in names, places and company names):
/// every other character is read its most common way only. The crate's list of every reading
/// holds rare ones too (有 wei, 司 ci, 圳 quan): a pinyin pair for each of them cost a quarter
/// of a company's tokens.
const POLYPHONES: &[(char, &[&str])] = &[
    ('重', &["zhong", "chong"]),
    ('长', &["chang", "zhang"]),
    ('行', &["xing", "hang"]),
    ('乐', &["le", "yue"]),
    ('曾', &["ceng", "zeng"]),
    ('单', &["dan", "shan"]),
    ('解', &["jie", "xie"]),
    ('朴', &["pu", "piao"]),
    ('区', &["qu", "ou"]),
    ('仇', &["chou", "qiu"]),
    ('查', &["cha", "zha"]),
    ('盛', &["sheng", "cheng"]),
    ('都', &["du", "dou"]),
    ('厦', &["sha", "xia"]),
    ('藏', &["cang", "zang"]),
    ('朝', &["chao", "zhao"]),
    ('传', &["chuan", "zhuan"]),
    ('调', &["diao", "tiao"]),
    ('和', &["he", "huo"]),
    ('大', &["da", "dai"]),
    ('石', &["shi", "dan"]),
    ('车', &["che", "ju"]),
    ('柏', &["bai", "bo"]),
    ('秘', &["mi", "bi"]),
    ('尉', &["wei", "yu"]),
    ('缪', &["miao", "mou"]),
    ('翟', &["zhai", "di"]),
    ('召', &["zhao", "shao"]),
    ('种', &["zhong", "chong"]),
    ('员', &["yuan", "yun"]),
    ('会', &["hui", "kuai"]),
    ('参', &["can", "shen"]),
    ('降', &["jiang", "xiang"]),
    ('便', &["bian", "pian"]),
    ('省', &["sheng", "xing"]),
    ('校', &["xiao", "jiao"]),
    ('率', &["lv", "shuai"]),
    ('强', &["qiang", "jiang"]),
    ('蔚', &["wei", "yu"]),
    ('宿', &["su", "xiu"]),
    ('华', &["hua"]),
    ('覃', &["tan", "qin"]),
    ('句', &["ju", "gou"]),
    ('盖', &["gai", "ge"]),
    ('繁', &["fan", "po"]),
    ('万', &["wan", "mo"]),
    ('尾', &["wei", "yi"]),
    ('薄', &["bo", "bao"]),
    ('奇', &["qi", "ji"]),
    ('给', &["gei", "ji"]),
    ('还', &["huan", "hai"]),
    ('血', &["xue", "xie"]),
    ('露', &["lu", "lou"]),
    ('的', &["de", "di"]),
    ('着', &["zhe", "zhao"]),
    ('差', &["cha", "chai"]),
    ('角', &["jiao", "jue"]),
    ('了', &["le", "liao"]),
    ('银', &["yin"]),
];

static READINGS: LazyLock<Vec<Box<[&'static str]>>> = LazyLock::new(|| {
    (READINGS_FROM..=READINGS_TO)
        .map(|u| char::from_u32(u as u32).map_or_else(|| Box::from([]), readings_of))
        .collect()
});

/// The characters outside [`READINGS`] that have readings (compatibility ideographs,
/// extension B on).
static RARE_READINGS: LazyLock<HashMap<char, Box<[&'static str]>>> = LazyLock::new(|| {
    ['\u{F900}'..='\u{FAFF}', '\u{20000}'..='\u{2FA1F}']
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let r = readings_of(c);
            (!r.is_empty()).then_some((c, r))
        })
        .collect()
});

/// Readings spelled with `ü` (lü, nüe …), as typed: `v`. Built once from the crate's data.
static V_SPELLINGS: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for p in all_plain_readings() {
        if p.contains('ü') {
            let typed: &'static str = Box::leak(p.replace('ü', "v").into_boxed_str());
            m.insert(p, typed);
        }
    }
    m
});

fn all_plain_readings() -> BTreeSet<&'static str> {
    let mut set = BTreeSet::new();
    for range in ['\u{3400}'..='\u{4DBF}', '\u{4E00}'..='\u{9FFF}'] {
        for c in range {
            if let Some(multi) = c.to_pinyin_multi() {
                for p in multi {
                    set.insert(p.plain());
                }
            }
        }
    }
    set
}

/// Every syllable (as typed, `v` for `ü`) and every proper prefix of one: what cutting a
/// pinyin query into syllables needs.
static SYLLABLES: LazyLock<(HashSet<&'static str>, HashSet<String>)> = LazyLock::new(|| {
    let mut syllables = HashSet::new();
    let mut prefixes = HashSet::new();
    for p in all_plain_readings() {
        let s = V_SPELLINGS.get(p).copied().unwrap_or(p);
        // Interjections without a vowel (嗯 ng, 呣 m, 哼 hng) would cut `huang` as `hu ang`
        // and `n g`: no one types them.
        let vowel = s.bytes().any(|b| b"aeiouv".contains(&b));
        if s.is_empty() || !vowel || !s.bytes().all(|b| b.is_ascii_lowercase()) {
            continue;
        }
        syllables.insert(s);
        for i in 1..s.len() {
            prefixes.insert(s[..i].to_owned());
        }
    }
    (syllables, prefixes)
});

/// The forms of a text that are searched: the text normalised, and a code's digits alone
/// (`C-2024-0042` also as `20240042`). A phone number (digits and `+-().` only) is searched
/// as its digits alone: `138-1234-5678` as `13812345678`, so `81234` finds it across the
/// dashes, and a query written like a phone number is read as its digits too.
fn forms(text: &str) -> Vec<String> {
    normalized_forms(normalize(text))
}

/// [`forms`] of a text already normalised.
fn normalized_forms(norm: String) -> Vec<String> {
    if norm.is_empty() {
        return Vec::new();
    }
    let digits: String = norm.chars().filter(char::is_ascii_digit).collect();
    // Digits that already stand together in the text (`kh20260101000042`, `wei123@qq.com`)
    // are found in it: a second form would only cost tokens.
    if digits.len() < 3 || digits == norm {
        return vec![norm];
    }
    if is_phone_like(&norm) {
        return vec![digits];
    }
    if norm.contains(&digits) {
        return vec![norm];
    }
    vec![norm, digits]
}

/// Digits and phone punctuation only (`+86 138-1234-5678`, `(0755) 8888.1234`).
fn is_phone_like(norm: &str) -> bool {
    norm.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.'))
}

/// The texts of a document as stored for the exact check: normalised, the title first,
/// separated by U+001F (which normalising never keeps: it is no letter).
#[cfg(test)]
fn body_of(doc: &SearchDoc<'_>) -> String {
    body_and_tokens(doc).0
}

/// Every token of a document, separated by spaces (a token may come twice): what FTS5 and a
/// `tsvector` are given.
fn doc_tokens(doc: &SearchDoc<'_>) -> String {
    body_and_tokens(doc).1
}

/// [`body_of`] and [`doc_tokens`] at once (each text normalised once).
fn body_and_tokens(doc: &SearchDoc<'_>) -> (String, String) {
    let mut body = String::new();
    let mut sink = Sink::default();
    if let Some(o) = doc.owner_id {
        sink.start('o');
        let _ = write!(sink.buf, "{o}");
        sink.end();
    }
    sink.start('e');
    sink.buf.extend(doc.entity.chars().filter(|&c| c != '_'));
    sink.end();
    let mut chars = Vec::new();
    let mut reads = Vec::new();
    for text in std::iter::once(doc.title).chain(doc.texts.iter().copied()) {
        let norm = normalize(text);
        if norm.is_empty() {
            continue;
        }
        if !body.is_empty() {
            body.push('\u{1f}');
        }
        body.push_str(&norm);
        for form in normalized_forms(norm) {
            chars.clear();
            chars.extend(form.chars());
            reads.clear();
            reads.extend(chars.iter().map(|&c| readings(c)));
            form_tokens(&chars, &reads, &mut sink);
        }
    }
    (body, sink.finish())
}

/// A document's tokens, written one after the other into one buffer (no allocation per token).
#[derive(Default)]
struct Sink {
    buf: String,
    spans: Vec<(usize, usize)>,
    open: usize,
}

impl Sink {
    fn start(&mut self, tag: char) {
        self.open = self.buf.len();
        self.buf.push(tag);
    }

    fn end(&mut self) {
        self.spans.push((self.open, self.buf.len()));
    }

    fn add(&mut self, tag: char, parts: &[&str]) {
        self.start(tag);
        for p in parts {
            self.buf.push_str(p);
        }
        self.end();
    }

    fn add_chars(&mut self, tag: char, chars: &[char]) {
        self.start(tag);
        self.buf.extend(chars);
        self.end();
    }

    /// The tokens separated by spaces, repeats kept: FTS5 and a `tsvector` count a token once
    /// per document (sorting them here cost a tenth of the tokenising).
    fn finish(self) -> String {
        let mut out = String::with_capacity(self.buf.len() + self.spans.len());
        for &(a, b) in &self.spans {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&self.buf[a..b]);
        }
        out
    }
}

/// A reading's first letter.
fn initial(reading: &str) -> &str {
    let len = reading.chars().next().map_or(0, char::len_utf8);
    &reading[..len]
}

/// The tokens of one normalised form of a text (its characters).
fn form_tokens(chars: &[char], reads: &[&'static [&'static str]], sink: &mut Sink) {
    let n = chars.len();
    if n <= WHOLE_MAX_CHARS {
        sink.start('x');
        sink.buf
            .extend(chars.iter().filter(|&&c| is_han(c) || is_word(c)));
        if sink.buf.len() > sink.open + 1 {
            sink.end();
        } else {
            sink.buf.truncate(sink.open);
        }
    }
    // Chinese grams and Latin/digit grams, each within its run of characters.
    for i in 0..n {
        let c = chars[i];
        if is_han(c) {
            let len = if chars.get(i + 1).is_some_and(|&d| is_han(d)) {
                2
            } else {
                1
            };
            if i == 0 {
                sink.add_chars('h', &chars[..len]);
                sink.add_chars('w', &chars[..1]);
            }
            sink.add_chars('c', &chars[i..i + len]);
            sink.add_chars('u', &chars[i..=i]);
        } else if is_word(c) {
            let len = chars[i..]
                .iter()
                .take(3)
                .take_while(|&&d| is_word(d))
                .count();
            if i == 0 {
                sink.add_chars('b', &chars[..len]);
            }
            sink.add_chars('a', &chars[i..i + len]);
        }
    }
    // Pinyin: at each Chinese character, its readings alone, and joined with the next one's
    // (or alone at the end of a run).
    for i in 0..n {
        let next = reads.get(i + 1).filter(|r| !r.is_empty());
        for r in reads[i] {
            if i == 0 {
                sink.add('t', &[r]);
            }
            sink.add('s', &[r]);
            match next {
                Some(nx) => {
                    for s in *nx {
                        if i == 0 {
                            sink.add('q', &[r, s]);
                        }
                        sink.add('p', &[r, s]);
                    }
                }
                None => {
                    if i == 0 {
                        sink.add('q', &[r]);
                    }
                    sink.add('p', &[r]);
                }
            }
        }
    }
    // Initials only from the text's start (`cqhg`, `szhq`): those of its first two to
    // `INITIALS_MAX` characters, in at most `WHOLE_VARIANTS_MAX` spellings each (initials in
    // the middle of a text would cost a token per character, each shared by a million
    // documents).
    let head = reads.iter().take_while(|r| !r.is_empty()).count();
    let mut spellings: Vec<String> = vec![String::new()];
    for (k, r) in reads[..head.min(INITIALS_MAX)].iter().enumerate() {
        let mut more: Vec<String> = Vec::new();
        for ini in &spellings {
            for s in *r {
                let mut v = ini.clone();
                v.push_str(initial(s));
                if more.len() < WHOLE_VARIANTS_MAX && !more.contains(&v) {
                    more.push(v);
                }
            }
        }
        spellings = more;
        if k >= 1 {
            for ini in &spellings {
                sink.add('j', &[ini]);
            }
        }
    }
    // The whole form's pinyin and initials (the exact tier for `zhangsan`, `zs`).
    if n <= PINYIN_WHOLE_MAX_CHARS && n > 0 && head == n {
        let mut spellings = vec![(String::new(), String::new())];
        for r in reads {
            let mut more = Vec::new();
            for (full, ini) in &spellings {
                for s in *r {
                    if more.len() < WHOLE_VARIANTS_MAX {
                        more.push((format!("{full}{s}"), format!("{ini}{}", initial(s))));
                    }
                }
            }
            spellings = more;
        }
        for (full, ini) in spellings {
            sink.add('x', &[&full]);
            sink.add('x', &[&ini]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queries.

/// Which candidates a read looks for: texts the query is (whole), starts (head), or is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Whole,
    /// The short texts (names) whose whole pinyin a pinyin query starts.
    Start,
    Head,
    Anywhere,
}

/// One way the query can match: the tokens a matching document holds, the first at the
/// match's start (so it has a head twin).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Alternative {
    tokens: Vec<Token>,
    /// The tag of the first token when the match is at a text's start.
    head_tag: Option<char>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ParsedQuery {
    /// The query normalised.
    text: String,
    /// Letters only: also a pinyin spelling or initials.
    pinyin: bool,
    alternatives: Vec<Alternative>,
}

impl ParsedQuery {
    fn parse(q: &str) -> Self {
        let mut text: String = normalize(q).chars().take(QUERY_MAX_CHARS).collect();
        if text.bytes().any(|b| b.is_ascii_digit()) && is_phone_like(&text) {
            text.retain(|c| c.is_ascii_digit());
        }
        let pinyin = !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase());
        let mut alternatives = Vec::new();
        if let Some(a) = substring_alternative(&text) {
            alternatives.push(a);
        }
        if pinyin {
            let cuts = segmentations(&text);
            // Initials are typed short (`zs`, `szhq`); a longer query that spells syllables
            // (`zhangwei`) is not read as eight initials too, which would cost a read of
            // eight common tokens for nothing.
            // One letter is already read as the start of a syllable (`s`: si, shi …).
            if text.len() >= 2 && (cuts.is_empty() || text.len() <= INITIALS_MAX) {
                alternatives.push(initials_alternative(&text));
                if text.len() >= 3 {
                    alternatives.push(legacy_initials_alternative(&text));
                }
            }
            let mut budget = EXPAND_BUDGET;
            for (syllables, partial) in cuts {
                alternatives.extend(pinyin_alternatives(&syllables, partial, &mut budget));
            }
        }
        // A prefix token (`pqiang`*: every 强 followed by anything) costs the index the union
        // of every term it starts, read whole whatever the other tokens narrow to: after the
        // first token (the head twin's) a short one is left to the exact check (measured at a
        // million documents: `wangqian`'s `pqian`* took 180 ms, the read without it 3 ms).
        for a in &mut alternatives {
            let exact = a.tokens.iter().any(|t| !t.prefix);
            let mut i = 0;
            a.tokens.retain(|t| {
                i += 1;
                let len = t.text.chars().count();
                i == 1
                    || !t.prefix
                    || len >= PREFIX_LONG_CHARS
                    || (!exact && len >= PREFIX_MIN_CHARS)
            });
        }
        let mut seen = HashSet::new();
        alternatives.retain(|a| seen.insert(a.clone()));
        Self {
            text,
            pinyin,
            alternatives,
        }
    }

    /// The condition of a tier's read, or `None` when the tier cannot find anything.
    fn expr(&self, tier: Tier) -> Option<Match> {
        match tier {
            Tier::Whole => {
                let whole = sanitize(&self.text);
                (!whole.is_empty() && self.text.chars().count() <= WHOLE_MAX_CHARS)
                    .then(|| Match::Token(Token::exact('x', whole)))
            }
            Tier::Start => (self.pinyin && self.text.len() >= START_MIN_CHARS)
                .then(|| Match::Token(Token::prefix('x', self.text.clone()))),
            Tier::Head | Tier::Anywhere => {
                let mut any = Vec::new();
                for a in &self.alternatives {
                    let mut tokens = a.tokens.clone();
                    if tier == Tier::Head {
                        match (a.head_tag, tokens.first_mut()) {
                            (Some(tag), Some(first)) => first.tag = tag,
                            _ => continue,
                        }
                    }
                    any.push(Match::All(tokens.into_iter().map(Match::Token).collect()));
                }
                (!any.is_empty()).then_some(Match::Any(any))
            }
        }
    }
}

/// The query as a substring of a text: its Chinese bigrams and Latin/digit trigrams (a run
/// shorter than that as a prefix).
fn substring_alternative(text: &str) -> Option<Alternative> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let han = is_han(chars[i]);
        if !han && !is_word(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (if han {
                is_han(chars[i])
            } else {
                is_word(chars[i])
            })
        {
            i += 1;
        }
        let run = &chars[start..i];
        let (tag, n) = if han { ('c', 2) } else { ('a', 3) };
        if han && run.len() == 1 {
            // The character's own token: `c张`* would read the union of every pair it starts.
            tokens.push(Token::exact('u', run.iter().collect::<String>()));
        } else if run.len() < n {
            tokens.push(Token::prefix(tag, run.iter().collect::<String>()));
        } else {
            // Grams that do not overlap, and the last: every one is needed and fewer are
            // cheaper to intersect than all of them (the exact check does the rest).
            let last = run.len() - n;
            for at in (0..last).step_by(n).chain([last]) {
                tokens.push(Token::exact(
                    tag,
                    run[at..at + n].iter().collect::<String>(),
                ));
            }
        }
    }
    // The head twin of the first token, when the query starts with what it holds.
    let starts = chars.first().is_some_and(|&c| is_han(c) || is_word(c));
    let head_tag = tokens.first().filter(|_| starts).map(|t| match t.tag {
        'u' => 'w',
        'c' => 'h',
        _ => 'b',
    });
    // The first token stays first (it has the head twin); repeats go.
    let mut seen = HashSet::new();
    tokens.retain(|t| seen.insert(t.clone()));
    (!tokens.is_empty()).then_some(Alternative { tokens, head_tag })
}

/// The ways to cut `text` into whole syllables and maybe a last partial one (`zhangs`:
/// zhang + s), at most [`SEGMENTATIONS_MAX`].
fn segmentations(text: &str) -> Vec<(Vec<&str>, &str)> {
    fn go<'t>(rest: &'t str, taken: &mut Vec<&'t str>, out: &mut Vec<(Vec<&'t str>, &'t str)>) {
        if out.len() >= SEGMENTATIONS_SEEN {
            return;
        }
        if rest.is_empty() {
            out.push((taken.clone(), ""));
            return;
        }
        let (syllables, prefixes) = &*SYLLABLES;
        // A rest that is a syllable or begins one ends the match as its partial last
        // syllable: the prefix token it gives also finds the rest as a whole syllable.
        let last = prefixes.contains(rest) || syllables.contains(rest);
        if last {
            out.push((taken.clone(), rest));
        }
        // The longest syllable has six letters (zhuang, chuang, shuang).
        for len in (1..rest.len().min(7)).rev() {
            let head = &rest[..len];
            if syllables.contains(head) {
                taken.push(head);
                go(&rest[len..], taken, out);
                taken.pop();
            }
        }
    }
    let mut out = Vec::new();
    go(text, &mut Vec::new(), &mut out);
    out.sort_by_key(|(syllables, _)| syllables.len());
    out.truncate(SEGMENTATIONS_MAX);
    out
}

/// The tokens of a match of whole syllables and a partial last one, starting at a character:
/// the pairs of syllables, then the last one joined with the partial. The partial is read as
/// each syllable it can end as ([`completions`], within `budget`), else as a prefix; a lone
/// syllable, whole or partial, as the characters read so (`li`: 李, 刘, 林 …).
fn pinyin_alternatives(syllables: &[&str], partial: &str, budget: &mut usize) -> Vec<Alternative> {
    let pairs: Vec<Token> = syllables
        .windows(2)
        .map(|w| Token::exact('p', format!("{}{}", w[0], w[1])))
        .collect();
    let with = |last: Token, head_tag: char| {
        let mut tokens = pairs.clone();
        tokens.push(last);
        Alternative {
            tokens,
            head_tag: Some(head_tag),
        }
    };
    let mut expand = |partial: &str| {
        completions(partial)
            .filter(|ends| ends.len() <= *budget)
            .inspect(|ends| {
                *budget -= ends.len();
            })
    };
    let lone = match (syllables.last(), partial.is_empty()) {
        (Some(last), false) => {
            return match expand(partial) {
                Some(ends) => ends
                    .into_iter()
                    .map(|end| with(Token::exact('p', format!("{last}{end}")), 'q'))
                    .collect(),
                None => vec![with(Token::prefix('p', format!("{last}{partial}")), 'q')],
            };
        }
        (Some(only), true) if syllables.len() == 1 => *only,
        (None, _) => partial,
        _ => {
            return vec![Alternative {
                tokens: pairs,
                head_tag: Some('q'),
            }];
        }
    };
    match expand(lone) {
        Some(ends) => ends
            .into_iter()
            .map(|end| with(Token::exact('s', end), 't'))
            .collect(),
        None => vec![with(Token::prefix('p', lone), 'q')],
    }
}

/// The syllables that start with `partial` (itself among them when it is one), or `None` when
/// there are more than [`EXPAND_MAX`].
fn completions(partial: &str) -> Option<Vec<&'static str>> {
    let sorted = &*SORTED_SYLLABLES;
    let from = sorted.partition_point(|s| *s < partial);
    let ends: Vec<&'static str> = sorted[from..]
        .iter()
        .take_while(|s| s.starts_with(partial))
        .take(EXPAND_MAX + 1)
        .copied()
        .collect();
    (!ends.is_empty() && ends.len() <= EXPAND_MAX).then_some(ends)
}

/// [`SYLLABLES`]' syllables in order, for [`completions`].
static SORTED_SYLLABLES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut all: Vec<&'static str> = SYLLABLES.0.iter().copied().collect();
    all.sort_unstable();
    all
});

/// The tokens of a match of initials (`szhq`) at a text's start: the initials of its first
/// characters (up to [`INITIALS_MAX`]) as one token.
fn initials_alternative(text: &str) -> Alternative {
    let head = text.get(..INITIALS_MAX).unwrap_or(text);
    Alternative {
        tokens: vec![Token::exact('j', head)],
        head_tag: Some('j'),
    }
}

/// The same match in the tokens written before initials were indexed from a text's start only
/// (a pair per character, `j` the first pair): documents indexed then hold no `jcqh`, and are
/// found by these until they are written again. On an index written since, the pairs are in
/// no document and the read ends at once.
fn legacy_initials_alternative(text: &str) -> Alternative {
    let tokens = text
        .as_bytes()
        .windows(2)
        .map(|w| Token::exact('i', String::from_utf8_lossy(w).into_owned()))
        .collect();
    Alternative {
        tokens,
        head_tag: Some('j'),
    }
}

// ---------------------------------------------------------------------------------------------
// The exact check.

/// How well the stored texts (`body`) match the query, and whether the best match is in the
/// title; `None` when the candidate does not match (the tokens only narrow).
fn rank_of(body: &str, query: &ParsedQuery) -> Option<(MatchRank, bool)> {
    let mut best: Option<(MatchRank, bool)> = None;
    for (i, text) in body.split('\u{1f}').enumerate() {
        for form in forms(text) {
            let rank = substring_rank(&form, &query.text).into_iter().chain(
                query
                    .pinyin
                    .then(|| pinyin_rank(&form, &query.text))
                    .flatten(),
            );
            for r in rank {
                let candidate = (r, i == 0);
                let better = match best {
                    None => true,
                    Some((b, t)) => (r, i != 0) < (b, !t),
                };
                if better {
                    best = Some(candidate);
                }
            }
        }
    }
    best
}

fn substring_rank(form: &str, q: &str) -> Option<MatchRank> {
    if form == q {
        Some(MatchRank::Exact)
    } else if form.starts_with(q) {
        Some(MatchRank::Prefix)
    } else if form.contains(q) {
        Some(MatchRank::Substring)
    } else {
        None
    }
}

/// The query as the pinyin of the form's characters from some character on (whole readings
/// with the last one maybe partial), or one initial per character from the first on.
fn pinyin_rank(form: &str, q: &str) -> Option<MatchRank> {
    let reads: Vec<&[&str]> = form.chars().map(readings).collect();
    let n = reads.len();
    let mut best: Option<MatchRank> = None;
    for start in 0..n {
        if reads[start].is_empty() {
            continue;
        }
        let full = full_from(&reads, start, q);
        // Initials match from the text's start only (the index holds no others).
        let ini = if start == 0 {
            initials_from(&reads, start, q)
        } else {
            None
        };
        for whole in full.into_iter().chain(ini) {
            let rank = match (start, whole) {
                (0, true) => MatchRank::Exact,
                (0, false) => MatchRank::Prefix,
                _ => MatchRank::Substring,
            };
            best = Some(best.map_or(rank, |b| b.min(rank)));
        }
    }
    best
}

/// Whether `rest` spells the readings from character `i` on (the last maybe partly):
/// `Some(true)` when it ends exactly with the form's last character.
fn full_from(reads: &[&[&str]], i: usize, rest: &str) -> Option<bool> {
    if rest.is_empty() {
        return Some(i == reads.len());
    }
    let mut best = None;
    for r in *reads.get(i)? {
        if let Some(after) = rest.strip_prefix(r) {
            if let Some(whole) = full_from(reads, i + 1, after) {
                best = Some(best.unwrap_or(false) || whole);
            }
        } else if r.starts_with(rest) {
            best = Some(best.unwrap_or(false));
        }
    }
    best
}

/// Whether `q`'s letters are the initials of the characters from `i` on: `Some(true)` when
/// they cover the form to its end.
fn initials_from(reads: &[&[&str]], i: usize, q: &str) -> Option<bool> {
    for (k, letter) in q.bytes().enumerate() {
        let r = reads.get(i + k)?;
        if !r.iter().any(|s| s.as_bytes().first() == Some(&letter)) {
            return None;
        }
    }
    Some(i + q.len() == reads.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn doc<'a>(title: &'a str, texts: &'a [&'a str]) -> SearchDoc<'a> {
        SearchDoc {
            entity: "customer",
            entity_id: 1,
            owner_id: Some(7),
            title,
            subtitle: "",
            texts,
        }
    }

    /// What the index would say: does some alternative's every token occur in the document?
    fn index_finds(d: &SearchDoc<'_>, q: &str, tier: Tier) -> bool {
        let all = doc_tokens(d);
        let tokens: BTreeSet<String> = all.split(' ').map(str::to_owned).collect();
        let query = ParsedQuery::parse(q);
        let Some(m) = query.expr(tier) else {
            return false;
        };
        fn holds(m: &Match, tokens: &BTreeSet<String>) -> bool {
            match m {
                Match::Token(t) => {
                    let s = format!("{}{}", t.tag, t.text);
                    if t.prefix {
                        tokens.iter().any(|x| x.starts_with(&s))
                    } else {
                        tokens.contains(&s)
                    }
                }
                Match::All(v) => v.iter().all(|m| holds(m, tokens)),
                Match::Any(v) => v.iter().any(|m| holds(m, tokens)),
            }
        }
        holds(&m, &tokens)
    }

    fn finds(title: &str, texts: &[&str], q: &str) -> Option<MatchRank> {
        let d = doc(title, texts);
        let rank = rank_of(&body_of(&d), &ParsedQuery::parse(q)).map(|r| r.0);
        if rank.is_some() {
            assert!(
                index_finds(&d, q, Tier::Anywhere),
                "{q:?} matches {title:?} but the index would not find it"
            );
        }
        rank
    }

    #[test]
    fn chinese_substrings_are_found() {
        assert_eq!(
            finds("深圳华强电子", &[], "华强"),
            Some(MatchRank::Substring)
        );
        assert_eq!(finds("深圳华强电子", &[], "深圳"), Some(MatchRank::Prefix));
        assert_eq!(finds("深圳华强电子", &[], "子"), Some(MatchRank::Substring));
        assert_eq!(finds("深圳华强电子", &[], "华电"), None);
    }

    #[test]
    fn full_pinyin_initials_and_their_mixes_find_a_name() {
        assert_eq!(finds("张三", &[], "zhangsan"), Some(MatchRank::Exact));
        assert_eq!(finds("张三", &[], "zhangs"), Some(MatchRank::Prefix));
        assert_eq!(finds("张三", &[], "zs"), Some(MatchRank::Exact));
        assert_eq!(finds("张三", &[], "zhang"), Some(MatchRank::Prefix));
        assert_eq!(
            finds("深圳华强电子", &[], "huaqiang"),
            Some(MatchRank::Substring)
        );
        assert_eq!(finds("深圳华强电子", &[], "szhq"), Some(MatchRank::Prefix));
        assert_eq!(finds("张三", &[], "lisi"), None);
    }

    #[test]
    fn every_reading_of_a_polyphone_finds_it() {
        assert_eq!(finds("重庆", &[], "chongqing"), Some(MatchRank::Exact));
        assert_eq!(finds("重庆", &[], "zhongqing"), Some(MatchRank::Exact));
        assert_eq!(finds("重庆", &[], "cq"), Some(MatchRank::Exact));
        assert!(readings('重').contains(&"chong"));
    }

    #[test]
    fn any_three_digits_of_a_phone_find_it_across_its_separators() {
        assert_eq!(
            finds("张三", &["+8613812345678"], "1234"),
            Some(MatchRank::Substring)
        );
        assert_eq!(
            finds("张三", &["138-1234-5678"], "1234"),
            Some(MatchRank::Substring)
        );
        assert_eq!(
            finds("张三", &["138-1234-5678"], "81234"),
            Some(MatchRank::Substring)
        );
        assert_eq!(
            finds("张三", &["138-1234-5678"], "13812345678"),
            Some(MatchRank::Exact)
        );
        assert_eq!(finds("张三", &["138-1234-5678"], "4321"), None);
    }

    #[test]
    fn emails_and_codes_match_as_substrings_in_any_case() {
        let texts = ["Zhang.San@Example.COM", "C-2024-0042"];
        assert_eq!(
            finds("张三", &texts, "san@example"),
            Some(MatchRank::Substring)
        );
        assert_eq!(finds("张三", &texts, "ZHANG.s"), Some(MatchRank::Prefix));
        assert_eq!(finds("张三", &texts, "c-2024"), Some(MatchRank::Prefix));
        assert_eq!(finds("张三", &texts, "0042"), Some(MatchRank::Substring));
        assert_eq!(
            finds("Acme Trading", &[], "acme tr"),
            Some(MatchRank::Prefix)
        );
        assert_eq!(finds("ＡＢＣ科技", &[], "abc"), Some(MatchRank::Prefix));
    }

    #[test]
    fn one_and_two_character_queries_are_found_by_the_index() {
        for (title, q) in [
            ("张三", "张"),
            ("张三", "三"),
            ("张三", "zs"),
            ("李四", "s"),
            ("ab", "b"),
        ] {
            assert!(finds(title, &[], q).is_some(), "{q} in {title}");
        }
    }

    #[test]
    fn the_head_tier_holds_exactly_what_starts_a_text() {
        let d = doc("深圳华强电子", &[]);
        assert!(index_finds(&d, "深圳华", Tier::Head));
        assert!(index_finds(&d, "shenzhen", Tier::Head));
        assert!(index_finds(&d, "sz", Tier::Head));
        assert!(!index_finds(&d, "华强", Tier::Head));
        assert!(!index_finds(&d, "huaqiang", Tier::Head));
        assert!(index_finds(&doc("张三", &[]), "zhangsan", Tier::Whole));
        assert!(index_finds(&doc("张三", &[]), "zs", Tier::Whole));
    }

    #[test]
    fn ambiguous_spellings_are_cut_several_ways_the_most_natural_first() {
        let cuts = segmentations("xian");
        assert!(cuts.contains(&(vec![], "xian")), "{cuts:?}");
        assert!(cuts.contains(&(vec!["xi"], "an")), "{cuts:?}");
        let cuts = segmentations("huangjianguo");
        assert_eq!(
            cuts[0],
            (vec!["huang", "jian"], "guo"),
            "the fewest syllables first"
        );
        assert_eq!(cuts.len(), SEGMENTATIONS_MAX);
        assert_eq!(finds("西安", &[], "xian"), Some(MatchRank::Exact));
        assert_eq!(finds("先生", &[], "xian"), Some(MatchRank::Prefix));
    }

    #[test]
    fn a_document_costs_a_bounded_number_of_tokens() {
        let d = doc(
            "深圳华强电子有限公司",
            &["C000123", "13812345678", "sz@huaqiang.com"],
        );
        // Ten characters: each also alone and as its syllable (so that `张` and `li` are
        // exact tokens, read only as far as needed) cost 20 of them.
        let n = token_count(&d);
        assert!(
            n <= 94,
            "{n} tokens (rare readings of polyphones and initials in the middle cost 130)"
        );
    }

    #[test]
    fn initials_are_read_from_a_texts_start_only() {
        assert_eq!(finds("深圳华强电子", &[], "szhqd"), Some(MatchRank::Prefix));
        assert_eq!(finds("深圳华强电子", &[], "szhqdz"), Some(MatchRank::Exact));
        assert_eq!(finds("深圳华强电子", &[], "hq"), None);
        assert_eq!(
            finds("深圳华强电子", &[], "huaq"),
            Some(MatchRank::Substring)
        );
        assert_eq!(
            finds("长城物流", &[], "zcwl"),
            Some(MatchRank::Exact),
            "长 read zhang"
        );
    }

    #[test]
    fn documents_indexed_before_initials_came_from_the_start_only_are_still_found() {
        // 重庆火锅 as the earlier tokeniser wrote it: a pair of initials per character.
        let old: BTreeSet<String> = ["jzq", "jcq", "izq", "icq", "iqh", "ihg", "ig"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let q = ParsedQuery::parse("cqhg");
        let found = |tier| {
            q.expr(tier).is_some_and(|m| {
                fn holds(m: &Match, tokens: &BTreeSet<String>) -> bool {
                    match m {
                        Match::Token(t) => tokens.contains(&format!("{}{}", t.tag, t.text)),
                        Match::All(v) => v.iter().all(|m| holds(m, tokens)),
                        Match::Any(v) => v.iter().any(|m| holds(m, tokens)),
                    }
                }
                holds(&m, &old)
            })
        };
        assert!(found(Tier::Head));
        assert!(found(Tier::Anywhere));
    }

    #[test]
    fn a_long_pinyin_query_reads_the_short_texts_it_starts() {
        let name = doc("周勇洋", &[]);
        assert!(index_finds(&name, "zhouyongya", Tier::Start));
        assert!(!index_finds(&name, "zhouyonga", Tier::Start));
        assert!(!index_finds(&doc("周勇洋", &[]), "zhouy", Tier::Whole));
        // Shorter ones would read the union of too many whole tokens.
        assert_eq!(ParsedQuery::parse("zhou").expr(Tier::Start), None);
        assert_eq!(ParsedQuery::parse("周勇洋").expr(Tier::Start), None);
    }

    /// Whether a condition holds a prefix token of a Chinese or pinyin kind.
    fn reads_a_chinese_or_pinyin_prefix(m: &Match) -> bool {
        match m {
            Match::Token(t) => t.prefix && "chpqstuw".contains(t.tag),
            Match::All(v) | Match::Any(v) => v.iter().any(reads_a_chinese_or_pinyin_prefix),
        }
    }

    #[test]
    fn a_lone_character_or_syllable_is_read_by_exact_tokens() {
        for q in ["张", "li", "wang", "zhang", "zhangs", "l", "guangzhou"] {
            let query = ParsedQuery::parse(q);
            for tier in [Tier::Whole, Tier::Start, Tier::Head, Tier::Anywhere] {
                if let Some(m) = query.expr(tier) {
                    assert!(!reads_a_chinese_or_pinyin_prefix(&m), "{q} {tier:?}: {m:?}");
                }
            }
        }
        assert_eq!(finds("小张", &[], "张"), Some(MatchRank::Substring));
        assert!(index_finds(&doc("张三", &[]), "张", Tier::Head));
        assert!(!index_finds(&doc("小张", &[]), "张", Tier::Head));
        // A partial syllable is each syllable it can end as.
        assert_eq!(finds("刘德华", &[], "li"), Some(MatchRank::Prefix));
        assert_eq!(finds("李四", &[], "li"), Some(MatchRank::Prefix));
        assert_eq!(finds("王小明", &[], "wang"), Some(MatchRank::Prefix));
        assert_eq!(finds("小王", &[], "wang"), Some(MatchRank::Substring));
        assert_eq!(finds("张三", &[], "zhangs"), Some(MatchRank::Prefix));
        assert!(index_finds(&doc("刘德华", &[]), "li", Tier::Head));
        assert!(!index_finds(&doc("小刘", &[]), "li", Tier::Head));
    }

    #[test]
    fn an_entity_name_outside_the_alphabet_is_refused() {
        assert!(checked_entity("customer").is_ok());
        assert!(checked_entity("Customer").is_err());
        assert!(checked_entity("cus tomer").is_err());
        assert!(checked_entity("").is_err());
    }
}
