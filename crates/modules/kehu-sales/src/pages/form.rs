//! The opportunity form: a new one (`form::submit`) and the edit of an unassigned one
//! (`form::submit_edit`, with its version conflict). Whether it may still be edited is the
//! workflow's answer; a refusal is the error page with its reason.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use kehu_customers::domain::kinds;
use kehu_domain::Principal;
use kehu_domain::user::Language;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::{AppError, PageError};
use kehu_web::form;
use kehu_web::labels::Labels;
use kehu_web::views::{Chrome, FormErrors, Opt};

use super::{acting, answer, customers};
use crate::domain::{Action, OpportunityDraft, OpportunityInput};
use crate::need;
use crate::store::{Opportunity, OpportunityStore};

#[derive(Template)]
#[template(path = "sales/form.html")]
struct FormPage {
    c: Chrome,
    /// The opportunity edited (id, title as stored); `None` for a new one.
    id: Option<(i64, String)>,
    version: i32,
    f: OpportunityInput,
    sources: Vec<Opt>,
    errors: FormErrors,
}

async fn form_page(
    state: &AppState,
    ctx: &Ctx,
    id: Option<(i64, String)>,
    version: i32,
    f: OpportunityInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let sources = Labels::load(state, ctx.tr.lang, &[kinds::SOURCE]).await?;
    let p = FormPage {
        c: Chrome::new(ctx, "/opportunities"),
        id,
        version,
        sources: sources.options(kinds::SOURCE, &f.source),
        f,
        errors,
    };
    answer(&p, &p.errors)
}

fn input_of(o: &Opportunity) -> OpportunityInput {
    OpportunityInput {
        title: o.title.clone(),
        prospect_name: o.prospect_name.clone(),
        source: o.source.clone().unwrap_or_default(),
        success_rate: o.success_rate.to_string(),
        contact_name: o.contact_name.clone().unwrap_or_default(),
        contact_phone: o.contact_phone.clone().unwrap_or_default(),
        description: o.description.clone().unwrap_or_default(),
        expected_amount: o
            .expected_amount
            .map(kehu_domain::money::fen_to_decimal)
            .unwrap_or_default(),
        currency: o.currency.clone(),
        expected_close_date: o
            .expected_close_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
    }
}

async fn parse(
    state: &AppState,
    f: &OpportunityInput,
) -> Result<Result<OpportunityDraft, AppError>, PageError> {
    let dict = customers(state).dictionary().await?;
    Ok(OpportunityDraft::parse(f, &dict).map_err(AppError::from))
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::OpportunityWrite>,
) -> Result<Response, PageError> {
    let f = OpportunityInput {
        currency: crate::domain::DEFAULT_CURRENCY.to_owned(),
        ..OpportunityInput::default()
    };
    form_page(&state, &ctx, None, 0, f, FormErrors::default()).await
}

pub(super) async fn create(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OpportunityWrite>,
    CsrfForm(f): CsrfForm<OpportunityInput>,
) -> Result<Response, PageError> {
    let store = crate::opportunities(&state);
    let (st, who) = (&state, acting(&user, &ctx));
    let parsed = parse(&state, &f).await?;
    form::submit(
        ctx.tr,
        parsed,
        |d| async move { store.create(&who, &d).await },
        |o: &Opportunity| format!("/opportunities/{}", o.id),
        |errors| async move { form_page(st, &ctx, None, 0, f, errors).await },
    )
    .await
}

/// Opportunity `id` if `user` may edit it now; otherwise why not (403, or 409 with the
/// workflow's reason).
async fn editable(
    store: &OpportunityStore,
    user: &Principal,
    ctx: &Ctx,
    id: i64,
) -> Result<Opportunity, PageError> {
    let o = store.get(user.owner_filter(), id).await?;
    let actor = kehu_domain::opportunity::Actor {
        user_id: user.user_id,
        supervisor: acting(user, ctx).supervisor,
    };
    o.workflow().allows(Action::Edit, actor)?;
    Ok(o)
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OpportunityWrite>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let store = crate::opportunities(&state);
    let o = editable(&store, &user, &ctx, id).await?;
    let f = input_of(&o);
    let named = Some((id, o.title));
    form_page(&state, &ctx, named, o.version, f, FormErrors::default()).await
}

/// The fields a version conflict compares, as the form's inputs carry them.
fn compared(f: &OpportunityInput) -> Vec<(&'static str, String)> {
    vec![
        ("title", f.title.clone()),
        ("prospect_name", f.prospect_name.clone()),
        ("source", f.source.clone()),
        ("success_rate", f.success_rate.clone()),
        ("contact_name", f.contact_name.clone()),
        ("contact_phone", f.contact_phone.clone()),
        ("description", f.description.clone()),
        ("expected_amount", f.expected_amount.clone()),
        ("currency", f.currency.clone()),
        ("expected_close_date", f.expected_close_date.clone()),
    ]
}

/// Opportunity `id` as stored now, for a version conflict: the source by its label.
async fn stored(
    state: &AppState,
    store: &OpportunityStore,
    user: &Principal,
    id: i64,
    lang: Language,
) -> Result<form::Stored, AppError> {
    let o = store.get(user.owner_filter(), id).await?;
    let last = store.last_change(id).await?;
    let sources = Labels::load(state, lang, &[kinds::SOURCE]).await?;
    let fields = compared(&input_of(&o))
        .into_iter()
        .map(|(field, value)| match field {
            "source" => {
                let label = sources.of(kinds::SOURCE, Some(&value));
                form::StoredField::labelled(field, value, label)
            }
            _ => form::StoredField::text(field, value),
        })
        .collect();
    Ok(form::Stored {
        version: o.version,
        last,
        fields,
    })
}

pub(super) async fn update(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::OpportunityWrite>,
    Path(id): Path<i64>,
    form::EditForm(f, versions): form::EditForm<OpportunityInput>,
) -> Result<Response, PageError> {
    let store = crate::opportunities(&state);
    let current = editable(&store, &user, &ctx, id).await?;
    let (st, s, u, who, lang) = (&state, &store, &user, acting(&user, &ctx), ctx.tr.lang);
    let edit = form::Edit {
        mine: compared(&f),
        stored: || stored(st, s, u, id, lang),
        versions,
    };
    let version = edit.versions.to_save();
    let parsed = parse(&state, &f).await?;
    form::submit_edit(
        ctx.tr,
        edit,
        parsed,
        |d, version| async move { s.update(&who, id, &d, version).await },
        |_| format!("/opportunities/{id}"),
        |errors| async move {
            let named = Some((id, current.title));
            form_page(st, &ctx, named, version, f, errors).await
        },
    )
    .await
}
