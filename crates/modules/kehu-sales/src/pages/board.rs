//! The pipeline board (销售漏斗): a column per status with its count and its summed and
//! weighted expected amounts per currency (the store's running totals, CNY first), the newest
//! cards of each column and a link to the rest in the list. A card carries the moves its user
//! may make (the workflow's actions): links to the opportunity's forms and the one-click
//! "won" form. app.js lets a card be dragged onto a column it may move to and then follows
//! that move; without script the same links and buttons are on the card.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kehu_domain::Principal;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::i18n::{FluentArg, Tr};
use kehu_web::listing::grouped;
use kehu_web::views::{Chrome, render};

use super::{acting, amount_text, money, status_label};
use crate::domain::{Action, Status};
use crate::need;
use crate::pipeline::{self, StageTotal};
use crate::store::{Acting, Opportunity};

/// How many cards a column shows, the newest; the rest are a click away in the filtered list.
/// Twelve fill a laptop's column; at 20 the page (100 cards) measured 51-53 ms p99 at a
/// million opportunities under 32 connections on SQLite (bench/sales).
const COLUMN_CARDS: u64 = 12;

/// A move a card may make: to the column of status `to`, by following `href` or, for "won",
/// by posting the card's form.
struct Move {
    to: &'static str,
    label: String,
    href: String,
    form: bool,
}

struct Card {
    id: i64,
    title: String,
    prospect: String,
    amount: String,
    rate: i16,
    owner: String,
    close: String,
    version: i32,
    moves: Vec<Move>,
}

impl Card {
    /// The statuses it may be dropped on, for the script: `assigned developing`.
    fn targets(&self) -> String {
        self.moves
            .iter()
            .map(|m| m.to)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One currency's sums in a column.
struct Sum {
    amount: String,
    weighted: String,
}

struct Column {
    status: &'static str,
    label: String,
    count: i64,
    sums: Vec<Sum>,
    cards: Vec<Card>,
    /// The list of all of them, when the column shows fewer.
    more: Option<String>,
}

#[derive(Template)]
#[template(path = "sales/board.html")]
struct BoardPage {
    c: Chrome,
    columns: Vec<Column>,
    can_write: bool,
}

/// The moves `who` may make with `o` on the board.
fn moves(tr: &Tr, o: &Opportunity, who: &Acting) -> Vec<Move> {
    let status = o.status();
    let link = |to: &'static str, key: &str, anchor: &str| Move {
        to,
        label: tr.t(key),
        href: format!("/opportunities/{}#{anchor}", o.id),
        form: false,
    };
    o.actions(who)
        .into_iter()
        .filter_map(|a| match a {
            Action::Assign if status == Status::Unassigned => {
                Some(link("assigned", "opportunity-assign", "assign"))
            }
            Action::Plan if status == Status::Assigned => {
                Some(link("developing", "opportunity-plan-start", "plan"))
            }
            Action::Succeed => Some(Move {
                to: "success",
                label: tr.t("opportunity-succeed"),
                href: format!("/opportunities/{}/succeed", o.id),
                form: true,
            }),
            Action::Fail => Some(link("failure", "opportunity-fail", "fail")),
            _ => None,
        })
        .collect()
}

/// A column's sums per currency, CNY first.
fn sums(tr: &Tr, totals: &[&StageTotal]) -> Vec<Sum> {
    totals
        .iter()
        .map(|t| {
            let arg = |fen: i64| FluentArg::Str(format!("{} {}", money(fen), t.currency));
            Sum {
                amount: tr.t_args("pipeline-sum", &[("amount", arg(t.amount))]),
                weighted: tr.t_args("pipeline-weighted", &[("amount", arg(t.weighted_fen()))]),
            }
        })
        .collect()
}

pub(super) async fn board(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Opportunities>,
) -> Result<Response, kehu_web::error::PageError> {
    let store = crate::opportunities(&state);
    let scope = user.owner_filter();
    let totals = store.pipeline(scope).await?;
    let c = Chrome::new(&ctx, "/pipeline");
    let who = acting(&user, &ctx);
    let mut newest = store.newest(scope, &Status::ALL, COLUMN_CARDS).await?;
    let mut columns = Vec::new();
    for status in Status::ALL {
        let code = status.code();
        let mine = pipeline::of_status(&totals, code);
        let count: i64 = mine.iter().map(|t| t.count).sum();
        let (mut these, rest): (Vec<Opportunity>, Vec<Opportunity>) =
            newest.into_iter().partition(|o| o.status == code);
        newest = rest;
        // A union keeps no order of its own.
        these.sort_by_key(|o| std::cmp::Reverse((o.created_at, o.id)));
        let shown = i64::try_from(these.len()).unwrap_or(i64::MAX);
        columns.push(Column {
            status: code,
            label: status_label(&c.tr, code),
            sums: sums(&c.tr, &mine),
            cards: these.iter().map(|o| card(&c.tr, o, &who)).collect(),
            more: (count > shown).then(|| format!("/opportunities?status={code}")),
            count,
        });
    }
    let p = BoardPage {
        can_write: can_write(&user),
        columns,
        c,
    };
    Ok(render(&p)?.into_response())
}

fn can_write(user: &Principal) -> bool {
    user.can(kehu_domain::Right::OpportunityWrite)
}

fn card(tr: &Tr, o: &Opportunity, who: &Acting) -> Card {
    Card {
        id: o.id,
        title: o.title.clone(),
        prospect: o.prospect_name.clone(),
        amount: amount_text(o.expected_amount, &o.currency),
        rate: o.success_rate,
        owner: o.owner_name.clone(),
        close: o
            .expected_close_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
        version: o.version,
        moves: moves(tr, o, who),
    }
}

/// "共 12 个" in a column's head.
fn count_label(tr: &Tr, n: i64) -> String {
    tr.t_args(
        "pipeline-count",
        &[("count", FluentArg::Str(grouped(n.unsigned_abs())))],
    )
}

impl BoardPage {
    fn count(&self, n: &i64) -> String {
        count_label(&self.c.tr, *n)
    }
}
