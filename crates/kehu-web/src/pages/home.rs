//! The home page: real numbers for the modules the user can use.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use chrono::{Duration, Utc};
use kehu_domain::Right;
use kehu_store::tokens::TokenFilter;

use crate::context::PageUser;
use crate::error::PageError;
use crate::module::{Panel, record_panels};
use crate::state::AppState;
use crate::views::{Chrome, render, when};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// One figure on the home page, linking to its module.
pub struct Card {
    pub label: String,
    pub value: i64,
    pub href: &'static str,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    cards: Vec<Card>,
    last_login: String,
    rights: Vec<String>,
    /// What the modules put on the home page (`RecordPanel`s of record `home`, rendered for
    /// the user's own id): e.g. the plan items due.
    panels: Vec<Panel>,
}

async fn home(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
) -> Result<Html<String>, PageError> {
    let tr = ctx.tr;
    let s = &state.store;
    let mut cards = Vec::new();
    if user.can(Right::SystemUsers) {
        cards.push(Card {
            label: tr.t("home-users"),
            value: s.users.count().await?,
            href: "/users",
        });
    }
    if user.can(Right::SystemRoles) {
        let n = i64::try_from(s.roles.list().await?.len()).unwrap_or(0);
        cards.push(Card {
            label: tr.t("home-roles"),
            value: n,
            href: "/roles",
        });
    }
    if user.can(Right::SystemDictionary) {
        cards.push(Card {
            label: tr.t("home-dictionary"),
            value: s.dictionary.count().await?,
            href: "/dictionary",
        });
    }
    if user.can(Right::SystemAudit) {
        let since = Utc::now() - Duration::hours(24);
        cards.push(Card {
            label: tr.t("home-audit-24h"),
            value: s.audit.count_since(since).await?,
            href: "/audit",
        });
    }
    // Live (not revoked) tokens of one's own.
    let live = s
        .tokens
        .count(user.own_records(), &TokenFilter::default())
        .await?;
    cards.push(Card {
        label: tr.t("home-my-tokens"),
        value: live,
        href: "/profile",
    });
    let panels = record_panels(&state, &user, &ctx, "home", user.user_id).await?;
    let me = s.users.get(user.user_id).await?;
    let page = HomePage {
        last_login: me.last_login_at.map(|t| when(&tr, &t)).unwrap_or_default(),
        rights: user.rights.iter().map(|r| tr.t(&r.label_key())).collect(),
        c: Chrome::new(&ctx, "/"),
        cards,
        panels,
    };
    render(&page)
}
