//! The loss scan's settings (administrators, `system.jobs`): the threshold in months and
//! whether customers that never ordered are judged from their creation. Until someone saves
//! them the configuration's hold (`loss_threshold_months`, `loss_include_never_ordered`). The
//! scan's schedule is the job's, on the jobs page. Every change is audited.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::PageError;
use kehu_web::pages::SavedQuery;
use kehu_web::record::{Versioned, act};
use kehu_web::views::{Chrome, FormErrors, answer};
use serde::Deserialize;

use crate::domain::{Settings, SettingsInput};
use crate::need;

#[derive(Template)]
#[template(path = "loss/settings.html")]
struct SettingsPage {
    c: Chrome,
    threshold: String,
    never_ordered: bool,
    /// Whether the values are the configuration's (nobody saved any).
    configured: bool,
    version: Option<i32>,
    errors: FormErrors,
    saved: bool,
}

async fn settings_page(
    state: &AppState,
    ctx: &Ctx,
    entered: Option<&SettingsInput>,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let (s, version) = crate::settings::get(&state.store.db, crate::configured(state)).await?;
    let (threshold, never_ordered) = match entered {
        Some(i) => (i.threshold_months.clone(), i.never_ordered.is_some()),
        None => (s.threshold.months().to_string(), s.never_ordered),
    };
    let p = SettingsPage {
        c: Chrome::new(ctx, "/loss"),
        threshold,
        never_ordered,
        configured: version.is_none(),
        version,
        errors,
        saved,
    };
    answer(&p, &p.errors)
}

pub(super) async fn page(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Jobs>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    settings_page(&state, &ctx, None, FormErrors::default(), q.saved.is_some()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SettingsForm {
    #[serde(flatten)]
    input: SettingsInput,
    #[serde(flatten)]
    v: Versioned,
}

pub(super) async fn save(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Jobs>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, PageError> {
    let parsed = Settings::parse(&form.input);
    let (db, actor, version) = (state.store.db.clone(), ctx.actor(), form.v.version());
    let save = async |s: Settings| crate::settings::save(&db, &s, version, &actor).await;
    let tr = ctx.tr;
    let input = form.input;
    act(
        tr,
        parsed,
        save,
        "/loss/settings".to_owned(),
        |errors| async move { settings_page(&state, &ctx, Some(&input), errors, false).await },
    )
    .await
}
