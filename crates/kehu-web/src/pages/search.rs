//! The header search (搜索): one box on every page, answered here over what the user may
//! see — the records the modules index (`Module::searchable`: customers, contacts …, each
//! kind with its right, within the user's data scope), users by user name or name
//! (`system.users`), roles by name or description (`system.roles`), dictionary entries by
//! item, value or kind (`system.dictionary`).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kehu_domain::Right;
use kehu_store::PageRequest;
use kehu_store::users::UserFilter;
use serde::Deserialize;

use crate::context::PageUser;
use crate::error::PageError;
use crate::i18n::FluentArg;
use crate::pages::dictionary::kind_label;
use crate::state::AppState;
use crate::views::{Chrome, render};

/// Results shown per kind; the rest is behind "see all" or counted.
const SHOWN: usize = 10;
/// The longest query taken (the box's `maxlength`).
const MAX_QUERY: usize = 64;

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search))
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    q: Option<String>,
}

/// One result: what it is, where it opens.
pub struct Hit {
    pub href: String,
    pub title: String,
    pub detail: String,
}

/// The results of one kind of record.
pub struct Section {
    pub id: &'static str,
    pub title: String,
    pub hits: Vec<Hit>,
    pub total: usize,
    /// What the count badge says: the total, or "10+" when only the best are known.
    pub count: String,
    /// The list page filtered by the query, when it can show all of them.
    pub more: Option<String>,
    /// "显示前 10 条，共 24 条" when not all are shown.
    pub note: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    sections: Vec<Section>,
    /// What this user can search, e.g. "用户、角色、数据字典" (empty: nothing).
    scope: String,
}

/// Case-insensitive containment (queries and names are short).
fn matches(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(needle)
}

async fn search(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
    Query(query): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let mut c = Chrome::new(&ctx, "");
    let q: String = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_QUERY)
        .collect();
    c.search_q = q.clone();
    let needle = q.to_lowercase();
    let mut kinds = Vec::new();
    let mut sections = Vec::new();

    // The modules' indexed records, each kind the user holds the right for, within their
    // data scope; the best few of each kind (the index ranks, it does not count).
    let scope = user.owner_filter();
    for s in state.searchables_for(&user) {
        kinds.push(c.t(s.label));
        if q.is_empty() {
            continue;
        }
        let mut hits = state
            .store
            .search
            .search(&scope, &q, Some(&[s.entity]), SHOWN + 1)
            .await?;
        let more = hits.len() > SHOWN;
        hits.truncate(SHOWN);
        sections.push(Section {
            id: s.entity,
            title: c.t(s.label),
            count: if more {
                format!("{SHOWN}+")
            } else {
                hits.len().to_string()
            },
            total: hits.len(),
            more: None,
            note: if more {
                c.tr.t_args("search-best-shown", &[("shown", count(SHOWN))])
            } else {
                String::new()
            },
            hits: hits
                .into_iter()
                .map(|h| Hit {
                    href: (s.href)(h.entity_id),
                    title: h.title,
                    detail: h.subtitle,
                })
                .collect(),
        });
    }

    if user.can(Right::SystemUsers) {
        kinds.push(c.t("nav-users"));
        if !q.is_empty() {
            let filter = UserFilter {
                q: Some(q.clone()),
                ..UserFilter::default()
            };
            let page = state
                .store
                .users
                .list(&filter, PageRequest::new(Some(1), Some(SHOWN as u64)))
                .await?;
            let total = usize::try_from(page.count.value).unwrap_or(usize::MAX);
            sections.push(Section {
                id: "users",
                title: c.t("home-users"),
                more: (total > SHOWN).then(|| {
                    format!(
                        "/users?{}",
                        serde_urlencoded::to_string([("q", q.as_str())]).unwrap_or_default()
                    )
                }),
                note: String::new(),
                count: total.to_string(),
                hits: page
                    .items
                    .into_iter()
                    .map(|u| Hit {
                        href: format!("/users/{}", u.id),
                        detail: format!("{} · {}", u.username, c.role(&u.role_name)),
                        title: u.display_name,
                    })
                    .collect(),
                total,
            });
        }
    }

    if user.can(Right::SystemRoles) {
        kinds.push(c.t("nav-roles"));
        if !q.is_empty() {
            let hits: Vec<Hit> = state
                .store
                .roles
                .list()
                .await?
                .into_iter()
                .filter(|r| {
                    matches(&r.role.name, &needle)
                        || matches(&c.role(&r.role.name), &needle)
                        || r.role
                            .description
                            .as_deref()
                            .is_some_and(|d| matches(d, &needle))
                })
                .map(|r| Hit {
                    href: format!("/roles/{}", r.role.id),
                    title: c.role(&r.role.name),
                    detail: c.t(&format!("scope-{}", r.role.data_scope)),
                })
                .collect();
            sections.push(shown(
                "roles",
                c.t("home-roles"),
                hits,
                Some("/roles".into()),
            ));
        }
    }

    if user.can(Right::SystemDictionary) {
        kinds.push(c.t("nav-dictionary"));
        if !q.is_empty() {
            let mut hits = Vec::new();
            let mut page_no = 1;
            loop {
                let page = state
                    .store
                    .dictionary
                    .list(
                        None,
                        PageRequest::new(Some(page_no), Some(PageRequest::MAX_PER_PAGE)),
                    )
                    .await?;
                for e in &page.items {
                    let kind = kind_label(&c.tr, &e.kind);
                    if matches(&e.item, &needle)
                        || matches(&e.value, &needle)
                        || matches(&kind, &needle)
                    {
                        hits.push(Hit {
                            href: format!("/dictionary/{}", e.id),
                            title: e.item.clone(),
                            detail: format!("{kind} · {}", e.value),
                        });
                    }
                }
                if page_no >= page.pages() {
                    break;
                }
                page_no += 1;
            }
            sections.push(shown(
                "dictionary",
                c.t("search-section-dictionary"),
                hits,
                None,
            ));
        }
    }

    let p = SearchPage {
        scope: kinds.join(&c.t("search-list-separator")),
        sections: sections
            .into_iter()
            .filter(|s| s.total > 0)
            .map(|s| Section {
                note: if !s.note.is_empty() {
                    s.note.clone()
                } else if s.total > s.hits.len() {
                    c.tr.t_args(
                        "search-shown",
                        &[("shown", count(s.hits.len())), ("count", count(s.total))],
                    )
                } else {
                    String::new()
                },
                ..s
            })
            .collect(),
        q,
        c,
    };
    Ok(render(&p)?.into_response())
}

/// A section showing the first [`SHOWN`] of `hits`; `more` links to where all are listed.
fn shown(id: &'static str, title: String, mut hits: Vec<Hit>, more: Option<String>) -> Section {
    let total = hits.len();
    hits.truncate(SHOWN);
    Section {
        id,
        title,
        hits,
        total,
        count: total.to_string(),
        more: more.filter(|_| total > SHOWN),
        note: String::new(),
    }
}

fn count(n: usize) -> FluentArg {
    FluentArg::Num(i64::try_from(n).unwrap_or(i64::MAX))
}
