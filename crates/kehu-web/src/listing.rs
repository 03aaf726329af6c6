//! The list page kit: sortable column headers, the pager (previous and next by cursor, page
//! size, the capped count) and the empty state, for any list on `kehu_store::page`. A list
//! page reads [`ListParams`] with its filters, builds a [`ListState`], asks the store with
//! [`ListState::request`], and hands [`ListState::view`] to `templates/list_kit.html`
//! (`{% import "list_kit.html" as kit %}`, then `kit::thead`, `kit::empty`, `kit::pager`).
//! Pages are lenient where the API is strict: an unknown sort or a bad cursor starts the list
//! from the top instead of answering 400.

use kehu_store::page::{Count, Cursor, ListRequest, Listing, PageRequest, Sort, SortKey};
use serde::Deserialize;

use crate::i18n::{FluentArg, Tr};

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
}

/// A column of a list table: sortable by a key, or not.
#[derive(Debug, Clone, Copy)]
pub enum Column<K> {
    Sorted(K, &'static str),
    Plain(&'static str),
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
pub struct ListState<K> {
    path: &'static str,
    filters: Vec<(&'static str, String)>,
    pub sort: Sort<K>,
    pub per_page: u64,
    cursor: Option<Cursor>,
    page: u64,
}

impl<K: SortKey> ListState<K> {
    /// The state at `path` from its query; `filters` are the page's own parameters as given
    /// (blank ones are left out of the links).
    pub fn new(
        path: &'static str,
        params: &ListParams,
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
        Self {
            path,
            filters,
            sort,
            per_page,
            cursor,
            page,
        }
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

    /// Everything the partial renders for `listing`.
    pub fn view<T>(
        &self,
        tr: &Tr,
        listing: &Listing<T>,
        columns: &[Column<K>],
        empty: Empty,
    ) -> ListView {
        let headers = columns
            .iter()
            .map(|col| match *col {
                Column::Plain(label) => Header {
                    label: tr.t(label),
                    href: None,
                    aria_sort: "none",
                    mark: "",
                },
                Column::Sorted(key, label) => {
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
            size_keep: keep_filters.chain(sort_pair).collect(),
            filter_keep: self
                .list_pairs(self.sort, self.per_page)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            path: self.path.to_owned(),
            colspan: columns.len(),
            headers,
            empty,
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
