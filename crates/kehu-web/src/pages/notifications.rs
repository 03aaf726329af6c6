//! 通知: the signed-in user's notices, newest first (the unread ones marked), each linking to
//! its record; "mark all as read". The header's bell shows how many are unread.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_store::page::ListRequest;
use serde::Deserialize;

use crate::api::notifications::{href, text};
use crate::context::{CsrfForm, PageUser};
use crate::error::PageError;
use crate::state::AppState;
use crate::views::{Chrome, render, when};

/// Notices shown on the page.
const SHOWN: u64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(page))
        .route("/notifications/read", post(mark_all))
}

#[derive(Deserialize, Default)]
struct PageQuery {
    unread: Option<String>,
}

struct Item {
    href: String,
    text: String,
    when: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NoticesPage {
    c: Chrome,
    items: Vec<Item>,
    only_unread: bool,
    unread: i64,
}

async fn page(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let only_unread = q.unread.as_deref().is_some_and(|u| !u.trim().is_empty());
    let inbox = &state.store.inbox;
    let l = inbox
        .list(user.own_records(), only_unread, ListRequest::first(SHOWN))
        .await?;
    let c = Chrome::new(&ctx, "/notifications");
    let items = l
        .items
        .iter()
        .map(|n| Item {
            href: href(n),
            text: text(&c.tr, n),
            when: when(&c.tr, &n.created_at),
            unread: n.read_at.is_none(),
        })
        .collect();
    let p = NoticesPage {
        unread: i64::try_from(c.notices).unwrap_or(i64::MAX),
        c,
        items,
        only_unread,
    };
    Ok(render(&p)?.into_response())
}

#[derive(Deserialize)]
struct MarkAll {}

async fn mark_all(
    State(state): State<AppState>,
    PageUser { user, .. }: PageUser,
    CsrfForm(_): CsrfForm<MarkAll>,
) -> Result<Response, PageError> {
    state
        .store
        .inbox
        .mark_read(user.own_records(), None)
        .await?;
    Ok(Redirect::to("/notifications").into_response())
}
