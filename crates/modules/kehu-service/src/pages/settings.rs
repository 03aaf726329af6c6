//! 服务设置 (supervisors, `service.assign`): how each type's new services are distributed
//! (by hand, in turn, to the least loaded) and the service level targets per type and
//! customer level. Every change is audited.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_customers::domain::kinds;
use kehu_domain::DomainError;
use kehu_domain::error::Errors;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::PageError;
use kehu_web::form;
use kehu_web::labels::Labels;
use kehu_web::views::{Chrome, FormErrors, Opt, answer};
use serde::Deserialize;

use crate::acd::{self, Mode};
use crate::domain::TYPE;
use crate::need;
use crate::sla::{self, SlaDraft};

struct Route {
    service_type: String,
    label: String,
    modes: Vec<Opt>,
}

struct SlaRow {
    id: i64,
    kind: String,
    level: String,
    respond: i32,
    resolve: i32,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct SlaForm {
    service_type: String,
    customer_level: String,
    respond_minutes: String,
    resolve_minutes: String,
}

#[derive(Template)]
#[template(path = "service/settings.html")]
struct SettingsPage {
    c: Chrome,
    routes: Vec<Route>,
    sla: Vec<SlaRow>,
    f: SlaForm,
    types: Vec<Opt>,
    levels: Vec<Opt>,
    errors: FormErrors,
    saved: bool,
}

async fn settings_page(
    state: &AppState,
    ctx: &Ctx,
    f: SlaForm,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let db = &state.store.db;
    let c = Chrome::new(ctx, "/services");
    let labels = Labels::load(state, ctx.tr.lang, &[TYPE, kinds::LEVEL]).await?;
    let routing = acd::all(db).await?;
    let routes = labels
        .entries(TYPE)
        .iter()
        .map(|(value, label)| {
            let mode = routing
                .iter()
                .find(|r| r.service_type == *value)
                .map_or(Mode::Manual, acd::Routing::mode);
            Route {
                service_type: value.clone(),
                label: label.clone(),
                modes: Opt::list(
                    Mode::ALL
                        .iter()
                        .map(|m| (m.code(), c.t(&format!("settings-mode-{}", m.code())))),
                    mode.code(),
                ),
            }
        })
        .collect();
    let sla = sla::all(db)
        .await?
        .into_iter()
        .map(|r| SlaRow {
            id: r.id,
            kind: labels.of(TYPE, Some(&r.service_type)),
            level: if r.customer_level.is_empty() {
                c.t("settings-sla-level-any")
            } else {
                labels.of(kinds::LEVEL, Some(&r.customer_level))
            },
            respond: r.respond_minutes,
            resolve: r.resolve_minutes,
        })
        .collect();
    let p = SettingsPage {
        routes,
        sla,
        types: labels.options(TYPE, &f.service_type),
        levels: labels.options(kinds::LEVEL, &f.customer_level),
        f,
        errors,
        saved,
        c,
    };
    answer(&p, &p.errors)
}

#[derive(Deserialize, Default)]
pub(super) struct SavedFlag {
    saved: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::ServiceAssign>,
    axum::extract::Query(q): axum::extract::Query<SavedFlag>,
) -> Result<Response, PageError> {
    settings_page(
        &state,
        &ctx,
        SlaForm::default(),
        FormErrors::default(),
        q.saved.is_some(),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RoutingForm {
    service_type: String,
    mode: String,
}

pub(super) async fn set_routing(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::ServiceAssign>,
    CsrfForm(r): CsrfForm<RoutingForm>,
) -> Result<Response, PageError> {
    let types = crate::service_types(&state).await?;
    if !types.contains(&r.service_type) {
        return Err(DomainError::NotFound.into());
    }
    let mode = Mode::parse(&r.mode)?;
    acd::set_mode(&state.store.db, &r.service_type, mode, &ctx.actor()).await?;
    Ok(Redirect::to("/services/settings?saved=1").into_response())
}

pub(super) async fn set_sla(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::ServiceAssign>,
    CsrfForm(f): CsrfForm<SlaForm>,
) -> Result<Response, PageError> {
    let dict = crate::services(&state).dictionary().await?;
    let parsed = (|| {
        let mut e = Errors::new();
        let t = e
            .check(dict.parse("service_type", crate::domain::TYPE, &f.service_type))
            .flatten();
        if t.is_none() && e.is_empty() {
            e.check::<()>(Err(kehu_domain::FieldError::new(
                "service_type",
                "err-required",
            )));
        }
        let level = e
            .check(dict.parse("customer_level", kinds::LEVEL, &f.customer_level))
            .flatten();
        e.finish()?;
        SlaDraft::parse(
            t.unwrap_or_default(),
            level.unwrap_or_default(),
            &f.respond_minutes,
            &f.resolve_minutes,
        )
    })();
    let (st, db, actor) = (&state, &state.store.db, ctx.actor());
    form::submit(
        ctx.tr,
        parsed,
        |d| async move { sla::set(db, &d, &actor).await },
        |_| "/services/settings".to_owned(),
        |errors| async move { settings_page(st, &ctx, f, errors, false).await },
    )
    .await
}

pub(super) async fn remove_sla(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::ServiceAssign>,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<kehu_web::record::Versioned>,
) -> Result<Response, PageError> {
    sla::remove(&state.store.db, id, &ctx.actor()).await?;
    Ok(Redirect::to("/services/settings?saved=1").into_response())
}
