//! A loss record's page: the customer, its manager, last order and days since, when warned,
//! the status; the measures logged (暂缓流失), each with time and author; the forms to log one
//! and to confirm the loss (确定流失) while it is open and the user may handle it; the reason
//! once confirmed, the order that won the customer back; and its history from the audit log.
//! Each form posts here; a field error, a refusal (a closed record: 409) or a stale version
//! shows the page again with that form's message.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Utc;
use kehu_customers::domain::kinds;
use kehu_domain::{DomainError, Principal, Right};
use kehu_store::audit::AuditEntry;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::PageError;
use kehu_web::history::{self, Change, Names};
use kehu_web::i18n::Tr;
use kehu_web::labels::Labels;
use kehu_web::pages::SavedQuery;
use kehu_web::record::{Versioned, act};
use kehu_web::views::{Chrome, FormErrors, Opt, answer, day, when};
use serde::Deserialize;

use super::status_label;
use crate::domain::{ConfirmDraft, ConfirmInput, MeasureDraft, MeasureInput, REASON};
use crate::need;
use crate::store::{LossRecord, Measure};

/// How many history entries the page shows.
const HISTORY_LATEST: u64 = 50;

struct Field {
    label: String,
    value: String,
}

struct MeasureRow {
    text: String,
    by: String,
    at: String,
}

/// The page's action forms as entered, and the errors of the one that came back.
#[derive(Default)]
pub(super) struct Forms {
    /// Which form came back: `measure` or `confirm`.
    which: &'static str,
    errors: FormErrors,
    measure: MeasureInput,
    confirm: ConfirmInput,
}

#[derive(Template)]
#[template(path = "loss/show.html")]
struct ShowPage {
    c: Chrome,
    r: LossRecord,
    status: String,
    facts: Vec<Field>,
    measures: Vec<MeasureRow>,
    reason: String,
    /// The user may log measures and confirm (it is open and they handle losses).
    can_act: bool,
    reasons: Vec<Opt>,
    f: Forms,
    history: Vec<Change>,
    saved: bool,
}

impl ShowPage {
    /// The error of `field` when form `which` came back.
    fn err(&self, which: &str, field: &str) -> Option<&str> {
        (self.f.which == which)
            .then(|| self.f.errors.get(field))
            .flatten()
    }
}

/// What the history needs to show values by their names.
struct Named<'a> {
    labels: &'a Labels,
    customer: (String, &'a str),
    /// Those who may handle losses (a record's managers, past and present), by id.
    people: &'a [(i64, String)],
}

impl Names for Named<'_> {
    fn entity(&self) -> &str {
        "loss_record"
    }

    fn label(&self, tr: &Tr, field: &str) -> String {
        let key = match field {
            "customer_id" => "loss-customer",
            "owner_id" => "loss-manager",
            "last_order_at" => "loss-last-order",
            "reason" => "loss-reason",
            "detail" => "loss-detail",
            "measure" => "loss-measure",
            "won_back_order_id" => "loss-won-back-order",
            other => return kehu_web::views::field_label(tr, other),
        };
        tr.t(key)
    }

    fn shown(&self, tr: &Tr, field: &str, value: String) -> String {
        match field {
            "status" => status_label(tr, &value),
            "reason" => self.labels.of(REASON, Some(&value)),
            "customer_id" if value == self.customer.0 => self.customer.1.to_owned(),
            "last_order_at" => chrono::DateTime::parse_from_rfc3339(&value)
                .map(|t| day(tr, &t.to_utc()))
                .unwrap_or(value),
            "owner_id" | "confirmed_by" => value
                .parse::<i64>()
                .ok()
                .and_then(|id| self.people.iter().find(|(i, _)| *i == id))
                .map_or(value, |(_, n)| n.clone()),
            _ => value,
        }
    }

    fn hidden(&self, field: &str) -> bool {
        field == "record_id"
    }
}

/// The record's facts that have a value.
fn facts(c: &Chrome, labels: &Labels, r: &LossRecord) -> Vec<Field> {
    let tr = &c.tr;
    let t = |v: Option<chrono::DateTime<Utc>>| v.map(|t| when(tr, &t)).unwrap_or_default();
    let rows: Vec<(&str, String)> = vec![
        ("loss-manager", r.owner_name.clone()),
        (
            "field-region",
            labels.of(kinds::REGION, r.region.as_deref()),
        ),
        (
            "loss-last-order",
            r.last_order_at
                .map_or_else(|| c.t("loss-never-ordered"), |t| day(tr, &t)),
        ),
        (
            "loss-days",
            r.days_since_order(Utc::now())
                .map(|d| c.t_num("loss-days-count", "count", d))
                .unwrap_or_default(),
        ),
        ("loss-warned-at", when(tr, &r.warned_at)),
        ("loss-confirmed-at", t(r.confirmed_at)),
        ("loss-won-back-at", t(r.won_back_at)),
    ];
    rows.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(label, value)| Field {
            label: c.t(label),
            value,
        })
        .collect()
}

fn measure_rows(tr: &Tr, measures: &[Measure]) -> Vec<MeasureRow> {
    measures
        .iter()
        .map(|m| MeasureRow {
            text: m.measure.clone(),
            by: m.author.clone().unwrap_or_default(),
            at: when(tr, &m.created_at),
        })
        .collect()
}

/// The record's page, with `f` as entered (and its errors) after a failed action.
pub(super) async fn page(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    id: i64,
    f: Forms,
    saved: bool,
) -> Result<Response, PageError> {
    let store = crate::losses(state);
    let scope = user.owner_filter();
    let r = store.get(scope, id).await?;
    let measures = store.measures(scope, &[id]).await?;
    let measure_ids: Vec<i64> = measures.iter().map(|m| m.id).collect();
    let entries: Vec<AuditEntry> = state
        .store
        .audit
        .latest_of(
            &[("loss_record", &[id]), ("loss_measure", &measure_ids)],
            HISTORY_LATEST,
        )
        .await?;
    let labels = Labels::load(state, ctx.tr.lang, &[REASON, kinds::REGION]).await?;
    let c = Chrome::new(ctx, "/loss");
    let tr = c.tr;
    let people = state.store.users.holding(Right::LossHandle, 500).await?;
    let named = Named {
        labels: &labels,
        customer: (r.customer_id.to_string(), &r.customer_name),
        people: &people,
    };
    let history = entries
        .iter()
        .map(|e| history::change(&tr, &named, e))
        .collect();
    let p = ShowPage {
        status: status_label(&tr, &r.status),
        facts: facts(&c, &labels, &r),
        measures: measure_rows(&tr, &measures),
        reason: r
            .reason
            .as_deref()
            .map(|v| labels.of(REASON, Some(v)))
            .unwrap_or_default(),
        can_act: r.status().is_open() && user.can(Right::LossHandle),
        reasons: labels.options(REASON, &f.confirm.reason),
        history,
        saved,
        r,
        f,
        c,
    };
    answer(&p, &p.f.errors)
}

pub(super) async fn show(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Loss>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    page(&state, &ctx, &user, id, Forms::default(), q.saved.is_some()).await
}

/// Runs form `f.which` of record `id`'s page (see `kehu_web::record::act`).
async fn run<I, T>(
    state: &AppState,
    ctx: Ctx,
    user: &Principal,
    id: i64,
    f: Forms,
    parsed: Result<I, DomainError>,
    save: impl AsyncFnOnce(I) -> kehu_store::StoreResult<T>,
) -> Result<Response, PageError> {
    let tr = ctx.tr;
    act(
        tr,
        parsed,
        save,
        format!("/loss/{id}"),
        |errors| async move { page(state, &ctx, user, id, Forms { errors, ..f }, false).await },
    )
    .await
}

pub(super) async fn add_measure(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::LossHandle>,
    Path(id): Path<i64>,
    CsrfForm(input): CsrfForm<MeasureInput>,
) -> Result<Response, PageError> {
    let parsed = MeasureDraft::parse(&input);
    let (store, scope, actor) = (crate::losses(&state), user.owner_filter(), ctx.actor());
    let f = Forms {
        which: "measure",
        measure: input,
        ..Forms::default()
    };
    let save = async |d: MeasureDraft| store.add_measure(scope, id, &d, &actor).await;
    run(&state, ctx.clone(), &user, id, f, parsed, save).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ConfirmForm {
    #[serde(flatten)]
    input: ConfirmInput,
    #[serde(flatten)]
    v: Versioned,
}

pub(super) async fn confirm(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::LossHandle>,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Result<Response, PageError> {
    let reasons = crate::reasons(&state).await?;
    let parsed = ConfirmDraft::parse(&form.input, &reasons);
    let (store, scope, actor) = (crate::losses(&state), user.owner_filter(), ctx.actor());
    let version = form.v.version();
    let f = Forms {
        which: "confirm",
        confirm: form.input,
        ..Forms::default()
    };
    let save = async |d: ConfirmDraft| store.confirm(scope, id, &d, version, &actor).await;
    run(&state, ctx.clone(), &user, id, f, parsed, save).await
}
