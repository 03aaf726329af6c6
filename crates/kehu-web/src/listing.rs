//! The list page kit: sortable column headers, the pager (previous and next by cursor, page
//! size, the capped count) and the empty state, for any list on `kehu_store::page`. A list
//! page reads [`ListParams`] with its filters, builds a [`ListState`], asks the store with
//! [`ListState::request`], and hands [`ListState::view`] to `templates/list_kit.html`
//! (`{% import "list_kit.html" as kit %}`, then `kit::thead`, `kit::empty`, `kit::pager`).
//! Pages are lenient where the API is strict: an unknown sort or a bad cursor starts the list
//! from the top instead of answering 400.
//!
//! Every list also gets a column chooser and saved filters. A page declares its columns
//! ([`Col`]: key, label, sort key, shown by default, or fixed); the chosen ones travel in the
//! query as `cols=a,b` (unknown keys ignored), so they work without JS and belong to a saved
//! filter; the template renders a cell only when [`ListView::shows`] its key. Saved filters
//! ([`Saved`], `kehu_store::saved_filters`) are the list's query without its position; the
//! page lists the user's own as chips, saves through [`save_filter`] and deletes through
//! `pages/lists.rs`.
//!
//! A list page implements [`ListPage`] (its address, right, query and rendering) and gets its
//! two routes from [`routes`]: the list, and saving the current filter.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_domain::Principal;
use kehu_store::page::{Count, Cursor, ListRequest, Listing, PageRequest, Sort, SortKey};
use kehu_store::saved_filters::{NewSavedFilter, SavedFilter};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::access::{NeedsRight, PageGranted};
use crate::context::{CsrfForm, Ctx};
use crate::error::PageError;
use crate::i18n::{FluentArg, Tr};
use crate::state::AppState;
use crate::views::FormErrors;

/// The page sizes offered.
pub const PAGE_SIZES: [u64; 4] = [20, 50, 100, 200];

/// The list part of a page's query string, as typed (flatten it into the page's query).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub per_page: Option<String>,
    /// The offset page of older links (`?page=2`); cursors replace it.
    pub page: Option<String>,
    /// The chosen columns, `key,key,…` (absent: the list's default columns).
    pub cols: Option<String>,
}

/// A column of a list table: its key in `cols=`, its label (Fluent key), the sort key it is
/// sortable by, whether it is shown when no columns were chosen, and whether it can be hidden
/// at all (the column naming the record cannot).
#[derive(Debug, Clone, Copy)]
pub struct Col<K> {
    pub key: &'static str,
    pub label: &'static str,
    pub sort: Option<K>,
    pub shown: bool,
    pub fixed: bool,
}

impl<K: Copy> Col<K> {
    /// A column sortable by `sort`, shown by default.
    pub const fn sorted(key: &'static str, label: &'static str, sort: K) -> Self {
        Self {
            key,
            label,
            sort: Some(sort),
            shown: true,
            fixed: false,
        }
    }

    /// A column without a sort, shown by default.
    pub const fn plain(key: &'static str, label: &'static str) -> Self {
        Self {
            key,
            label,
            sort: None,
            shown: true,
            fixed: false,
        }
    }

    /// Shown only when chosen.
    pub const fn hidden(self) -> Self {
        Self {
            shown: false,
            ..self
        }
    }

    /// Always shown: the chooser offers no way to hide it.
    pub const fn fixed(self) -> Self {
        Self {
            fixed: true,
            shown: true,
            ..self
        }
    }
}

/// What an empty list says: with filters set, "nothing matches · clear the filters"; without,
/// `none` and an optional action (label key, href), e.g. "no users yet · new user".
#[derive(Debug, Clone, Copy)]
pub struct Empty {
    pub filtered: &'static str,
    pub none: &'static str,
    pub action: Option<(&'static str, &'static str)>,
}

/// Where a list page is: path, filters, sort, page size and position.
#[derive(Debug, Clone)]
pub struct ListState<K: 'static> {
    path: &'static str,
    filters: Vec<(&'static str, String)>,
    pub sort: Sort<K>,
    pub per_page: u64,
    cursor: Option<Cursor>,
    page: u64,
    columns: &'static [Col<K>],
    /// The columns shown, in the list's order.
    shown: Vec<&'static str>,
    /// True when `shown` is not the default set (then `cols=` is in every link).
    chosen: bool,
}

impl<K: SortKey + 'static> ListState<K> {
    /// The state at `path` from its query; `columns` are the list's columns, `filters` the
    /// page's own parameters as given (blank ones are left out of the links).
    pub fn new(
        path: &'static str,
        params: &ListParams,
        columns: &'static [Col<K>],
        filters: &[(&'static str, Option<&str>)],
    ) -> Self {
        let sort = params
            .sort
            .as_deref()
            .and_then(Sort::parse)
            .unwrap_or_default();
        let per_page = params
            .per_page
            .as_deref()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(PageRequest::DEFAULT_PER_PAGE)
            .clamp(1, PageRequest::MAX_PER_PAGE);
        let cursor = params
            .cursor
            .as_deref()
            .and_then(|c| Cursor::decode(c, sort).ok());
        let page = params
            .page
            .as_deref()
            .and_then(|p| p.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .max(1);
        let filters = filters
            .iter()
            .filter_map(|(k, v)| {
                let v = v.map(str::trim).filter(|v| !v.is_empty())?;
                Some((*k, v.to_owned()))
            })
            .collect();
        let defaults: Vec<&'static str> = columns
            .iter()
            .filter(|c| c.shown || c.fixed)
            .map(|c| c.key)
            .collect();
        let shown: Vec<&'static str> = match params.cols.as_deref() {
            None => defaults.clone(),
            Some(cols) => {
                let asked: Vec<&str> = cols.split(',').map(str::trim).collect();
                columns
                    .iter()
                    .filter(|c| c.fixed || asked.contains(&c.key))
                    .map(|c| c.key)
                    .collect()
            }
        };
        Self {
            path,
            filters,
            sort,
            per_page,
            cursor,
            page,
            columns,
            chosen: shown != defaults,
            shown,
        }
    }

    /// The list's query without its position (filters, sort, page size, columns): what a
    /// saved filter keeps.
    pub fn query(&self) -> String {
        let mut pairs: Vec<(&str, String)> =
            self.filters.iter().map(|(k, v)| (*k, v.clone())).collect();
        pairs.extend(self.list_pairs(self.sort, self.per_page));
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }

    /// What to ask the store for.
    pub fn request(&self) -> ListRequest<K> {
        let page = if self.cursor.is_some() { 1 } else { self.page };
        ListRequest::new(
            self.sort,
            self.cursor.clone(),
            PageRequest::new(Some(page), Some(self.per_page)),
        )
    }

    /// True when a filter is set.
    pub fn filtered(&self) -> bool {
        !self.filters.is_empty()
    }

    /// The sort and page size when they are not the defaults, as query pairs.
    fn list_pairs(&self, sort: Sort<K>, per_page: u64) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if sort != Sort::default() {
            out.push(("sort", sort.code()));
        }
        if per_page != PageRequest::DEFAULT_PER_PAGE {
            out.push(("per_page", per_page.to_string()));
        }
        if self.chosen {
            out.push(("cols", self.shown.join(",")));
        }
        out
    }

    fn href(&self, filters: bool, sort: Sort<K>, cursor: Option<&Cursor>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if filters {
            pairs.extend(self.filters.iter().map(|(k, v)| (*k, v.clone())));
        }
        pairs.extend(self.list_pairs(sort, self.per_page));
        if let Some(c) = cursor {
            pairs.push(("cursor", c.encode()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            self.path.to_owned()
        } else {
            format!("{}?{query}", self.path)
        }
    }

    /// Everything the partial renders for `listing`, with the user's saved filters of the
    /// list.
    pub fn view<T>(&self, tr: &Tr, listing: &Listing<T>, empty: Empty, saved: Saved) -> ListView {
        let shown: Vec<&Col<K>> = self
            .columns
            .iter()
            .filter(|c| self.shown.contains(&c.key))
            .collect();
        let headers = shown
            .iter()
            .map(|col| match col.sort {
                None => Header {
                    label: tr.t(col.label),
                    href: None,
                    aria_sort: "none",
                    mark: "",
                },
                Some(key) => {
                    let label = col.label;
                    let active = key == self.sort.key;
                    let (aria_sort, mark) = match (active, self.sort.dir) {
                        (false, _) => ("none", ""),
                        (true, kehu_store::page::Dir::Asc) => ("ascending", "▲"),
                        (true, kehu_store::page::Dir::Desc) => ("descending", "▼"),
                    };
                    Header {
                        label: tr.t(label),
                        href: Some(self.href(true, self.sort.by(key), None)),
                        aria_sort,
                        mark,
                    }
                }
            })
            .collect();
        let on_first = self.cursor.is_none() && self.page <= 1;
        let first = (!on_first && listing.prev.is_none()).then(|| self.href(true, self.sort, None));
        let empty = listing.items.is_empty().then(|| {
            if self.filtered() {
                EmptyState {
                    message: tr.t(empty.filtered),
                    action: Some(Action {
                        label: tr.t("list-clear-filters"),
                        href: self.href(false, self.sort, None),
                    }),
                }
            } else {
                EmptyState {
                    message: tr.t(empty.none),
                    action: empty.action.map(|(label, href)| Action {
                        label: tr.t(label),
                        href: href.to_owned(),
                    }),
                }
            }
        });
        let keep_filters = self
            .filters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()));
        let sort_pair =
            (self.sort != Sort::default()).then(|| ("sort".to_owned(), self.sort.code()));
        let cols_pair = self
            .chosen
            .then(|| ("cols".to_owned(), self.shown.join(",")));
        ListView {
            count: count_text(tr, listing.count),
            prev: listing
                .prev
                .as_ref()
                .map(|c| self.href(true, self.sort, Some(c))),
            next: listing
                .next
                .as_ref()
                .map(|c| self.href(true, self.sort, Some(c))),
            first,
            sizes: PAGE_SIZES
                .iter()
                .map(|&value| SizeOpt {
                    value,
                    selected: value == self.per_page,
                })
                .collect(),
            size_keep: keep_filters.chain(sort_pair).chain(cols_pair).collect(),
            filter_keep: self
                .list_pairs(self.sort, self.per_page)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            path: self.path.to_owned(),
            colspan: shown.len(),
            headers,
            empty,
            shown: self.shown.clone(),
            chooser: self
                .columns
                .iter()
                .map(|c| ColOpt {
                    key: c.key,
                    label: tr.t(c.label),
                    checked: self.shown.contains(&c.key),
                    fixed: c.fixed,
                })
                .collect(),
            chooser_back: {
                let mut pairs: Vec<(&str, String)> =
                    self.filters.iter().map(|(k, v)| (*k, v.clone())).collect();
                if self.sort != Sort::default() {
                    pairs.push(("sort", self.sort.code()));
                }
                if self.per_page != PageRequest::DEFAULT_PER_PAGE {
                    pairs.push(("per_page", self.per_page.to_string()));
                }
                let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
                if q.is_empty() {
                    self.path.to_owned()
                } else {
                    format!("{}?{q}", self.path)
                }
            },
            saved: saved.view(self),
        }
    }
}

/// The user's saved filters of a list, and the save form as it comes back after an error.
#[derive(Debug, Clone, Default)]
pub struct Saved {
    pub list_key: &'static str,
    pub filters: Vec<SavedFilter>,
    /// The name entered, when the form comes back.
    pub name: String,
    pub errors: FormErrors,
}

impl Saved {
    /// The saved filters of `list_key` that belong to `user`.
    pub async fn load(
        state: &AppState,
        user: &Principal,
        list_key: &'static str,
    ) -> Result<Self, PageError> {
        let filters = state
            .store
            .saved_filters
            .list(user.own_records(), list_key)
            .await?;
        Ok(Self {
            list_key,
            filters,
            ..Self::default()
        })
    }

    fn view<K: SortKey>(self, at: &ListState<K>) -> SavedView {
        let current = at.query();
        let chips = self
            .filters
            .into_iter()
            .map(|f| Chip {
                id: f.id,
                href: if f.query.is_empty() {
                    at.path.to_owned()
                } else {
                    format!("{}?{}", at.path, f.query)
                },
                active: f.query == current,
                name: f.name,
            })
            .collect();
        SavedView {
            list_key: self.list_key,
            chips,
            query: current,
            back: at.href(true, at.sort, None),
            open: !self.errors.is_empty(),
            name: self.name,
            error: self.errors.get("name").map(str::to_owned),
            status: self.errors.status(),
        }
    }
}

/// The body of the "save the current filter" form.
#[derive(Debug, Clone, Default, Deserialize)]
struct SaveFilterForm {
    #[serde(default)]
    pub name: String,
    /// The list's query as the page showed it ([`ListState::query`]).
    #[serde(default)]
    pub query: String,
}

/// A list page on the kit: [`routes`] serves it at `PATH` for holders of `Need`'s right,
/// with the user's saved filters (kept under `KEY`), and saves the current filter at
/// `PATH/saved-filters`.
pub trait ListPage: 'static {
    type Need: NeedsRight + 'static;
    /// The page's query: its filters with [`ListParams`] flattened in.
    type Query: DeserializeOwned + Default + Send + 'static;
    /// The list's address, e.g. `/users`.
    const PATH: &'static str;
    /// The list key its saved filters are kept under.
    const KEY: &'static str;

    /// The page for query `q` as `user` may see it (their data scope), with the saved
    /// filters (and a save error, if any) in `saved`.
    fn render(
        state: &AppState,
        ctx: &Ctx,
        user: &Principal,
        q: Self::Query,
        saved: Saved,
    ) -> impl Future<Output = Result<Response, PageError>> + Send;
}

/// `GET L::PATH` (the list) and `POST L::PATH/saved-filters` (保存当前筛选: back to the list
/// with the filter applied, or the list with the name's error).
pub fn routes<L: ListPage>() -> Router<AppState> {
    Router::new()
        .route(L::PATH, get(show::<L>))
        .route(&format!("{}/saved-filters", L::PATH), post(save::<L>))
}

async fn show<L: ListPage>(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<L::Need>,
    Query(q): Query<L::Query>,
) -> Result<Response, PageError> {
    let saved = Saved::load(&state, &user, L::KEY).await?;
    L::render(&state, &ctx, &user, q, saved).await
}

async fn save<L: ListPage>(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<L::Need>,
    CsrfForm(f): CsrfForm<SaveFilterForm>,
) -> Result<Response, PageError> {
    match save_filter(&state, &ctx, &user, L::KEY, L::PATH, &f).await? {
        Ok(done) => Ok(done),
        Err(saved) => {
            let q = serde_urlencoded::from_str(&f.query).unwrap_or_default();
            L::render(&state, &ctx, &user, q, saved).await
        }
    }
}

/// Saves the filter the user named for list `list_key` at `path`: a 303 back to the list with
/// it applied, or the [`Saved`] to render the list again with the name's error (422).
async fn save_filter(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    list_key: &'static str,
    path: &str,
    form: &SaveFilterForm,
) -> Result<Result<Response, Saved>, PageError> {
    let input = NewSavedFilter::parse(list_key, &form.name, &form.query);
    let saved = match input {
        Ok(input) => {
            let store = &state.store.saved_filters;
            store.create(user.user_id, &input, &ctx.actor()).await
        }
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(f) => {
            let to = if f.query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", f.query)
            };
            Ok(Ok(Redirect::to(&to).into_response()))
        }
        Err(e) => {
            let errors = FormErrors::from_error(&ctx.tr, e.into())?;
            let mut again = Saved::load(state, user, list_key).await?;
            again.name = form.name.clone();
            again.errors = errors;
            Ok(Err(again))
        }
    }
}

/// "共 1,234 条", or "共 10,000+ 条" when counting stopped.
pub fn count_text(tr: &Tr, count: Count) -> String {
    let key = if count.exact {
        "list-count"
    } else {
        "list-count-capped"
    };
    tr.t_args(key, &[("count", FluentArg::Str(grouped(count.value)))])
}

/// 10000 → "10,000".
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The list table's header cell.
#[derive(Debug, Clone)]
pub struct Header {
    pub label: String,
    /// The link that sorts by this column (turning the sort around when it is the sorted one).
    pub href: Option<String>,
    /// `ascending`, `descending` or `none`.
    pub aria_sort: &'static str,
    pub mark: &'static str,
}

#[derive(Debug, Clone)]
pub struct SizeOpt {
    pub value: u64,
    pub selected: bool,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub label: String,
    pub href: String,
}

#[derive(Debug, Clone)]
pub struct EmptyState {
    pub message: String,
    pub action: Option<Action>,
}

/// What `templates/list_kit.html` renders.
#[derive(Debug, Clone)]
pub struct ListView {
    pub headers: Vec<Header>,
    pub colspan: usize,
    pub count: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// Back to the top, when past it with no previous page to link (e.g. an emptied page).
    pub first: Option<String>,
    pub sizes: Vec<SizeOpt>,
    /// Hidden fields of the page-size form: the filters and the sort.
    pub size_keep: Vec<(String, String)>,
    /// Hidden fields of the filter form: the sort and page size.
    pub filter_keep: Vec<(String, String)>,
    pub path: String,
    pub empty: Option<EmptyState>,
    /// The keys of the columns shown.
    pub shown: Vec<&'static str>,
    /// The column chooser: every column, ticked when shown.
    pub chooser: Vec<ColOpt>,
    /// The list's address without its position and columns: where the chooser goes back to.
    pub chooser_back: String,
    pub saved: SavedView,
}

impl ListView {
    /// True when column `key` is shown (the template renders its cells only then).
    pub fn shows(&self, key: &str) -> bool {
        self.shown.contains(&key)
    }
}

#[derive(Debug, Clone)]
pub struct ColOpt {
    pub key: &'static str,
    pub label: String,
    pub checked: bool,
    pub fixed: bool,
}

/// A saved filter as a link that applies it.
#[derive(Debug, Clone)]
pub struct Chip {
    pub id: i64,
    pub name: String,
    pub href: String,
    /// The list shows exactly this filter now.
    pub active: bool,
}

/// The saved filters row and the save form.
#[derive(Debug, Clone)]
pub struct SavedView {
    pub list_key: &'static str,
    pub chips: Vec<Chip>,
    /// The query the save form saves.
    pub query: String,
    /// The list as it is now: where a delete comes back to.
    pub back: String,
    /// The save form is open (it came back with an error).
    pub open: bool,
    pub name: String,
    pub error: Option<String>,
    pub status: axum::http::StatusCode,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(10_000), "10,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
