//! 服务创建 and the edit of a new service (`form::submit`, `form::submit_edit` with its version
//! conflict). The customer is picked from the user's (or fixed, coming from the customer's
//! page); whether it may still be edited is the workflow's answer.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use kehu_customers::domain::kinds;
use kehu_domain::Principal;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::{AppError, PageError};
use kehu_web::form;
use kehu_web::labels::Labels;
use kehu_web::views::{Chrome, FormErrors, Opt, answer};
use serde::Deserialize;

use super::{acting, priority_label};
use crate::domain::TYPE;
use crate::domain::{Action, Priority, ServiceDraft, ServiceInput};
use crate::need;
use crate::store::{Service, ServiceStore};

#[derive(Template)]
#[template(path = "service/form.html")]
struct FormPage {
    c: Chrome,
    /// The service edited (id, number); `None` for a new one.
    id: Option<(i64, String)>,
    version: i32,
    f: ServiceInput,
    /// The customer it is for, when fixed (id, name).
    customer: Option<(i64, String)>,
    customers: Vec<Opt>,
    types: Vec<Opt>,
    channels: Vec<Opt>,
    priorities: Vec<Opt>,
    errors: FormErrors,
}

async fn form_page(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    id: Option<(i64, String)>,
    version: i32,
    f: ServiceInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let customers =
        kehu_customers::store::CustomerStore::new(state.store.db.clone(), crate::offset(state));
    let (customer, options) =
        kehu_customers::store::customer_choice(&customers, user.owner_filter(), &f.customer_id)
            .await?;
    let c = Chrome::new(ctx, "/services");
    let priorities = Opt::list(
        Priority::ALL
            .iter()
            .map(|p| (p.code(), priority_label(&c.tr, p.code()))),
        &f.priority,
    );
    let labels = Labels::load(state, ctx.tr.lang, &[TYPE, kinds::CHANNEL]).await?;
    let p = FormPage {
        id,
        version,
        customer,
        customers: options,
        types: labels.options(TYPE, &f.service_type),
        channels: labels.options(kinds::CHANNEL, &f.channel),
        priorities,
        f,
        errors,
        c,
    };
    answer(&p, &p.errors)
}

fn input_of(s: &Service) -> ServiceInput {
    ServiceInput {
        service_type: s.service_type.clone(),
        title: s.title.clone(),
        customer_id: s.customer_id.to_string(),
        contact_id: s.contact_id.map(|c| c.to_string()).unwrap_or_default(),
        channel: s.channel.clone().unwrap_or_default(),
        request: s.request.clone(),
        priority: s.priority.clone(),
    }
}

async fn parse(
    state: &AppState,
    f: &ServiceInput,
) -> Result<Result<ServiceDraft, AppError>, PageError> {
    let dict = crate::services(state).dictionary().await?;
    Ok(ServiceDraft::parse(f, &dict).map_err(AppError::from))
}

#[derive(Deserialize, Default)]
pub(super) struct NewQuery {
    customer_id: Option<String>,
    #[serde(rename = "type")]
    service_type: Option<String>,
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ServiceWrite>,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let f = ServiceInput {
        customer_id: q.customer_id.unwrap_or_default(),
        service_type: q.service_type.unwrap_or_default(),
        priority: Priority::Normal.code().to_owned(),
        channel: "phone".to_owned(),
        ..ServiceInput::default()
    };
    form_page(&state, &ctx, &user, None, 0, f, FormErrors::default()).await
}

pub(super) async fn create(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ServiceWrite>,
    CsrfForm(f): CsrfForm<ServiceInput>,
) -> Result<Response, PageError> {
    let store = crate::services(&state);
    let (st, u, who) = (&state, &user, acting(&user, &ctx));
    let parsed = parse(&state, &f).await?;
    form::submit(
        ctx.tr,
        parsed,
        |d| async move { store.create(&who, &d).await },
        |s: &Service| format!("/services/{}", s.id),
        |errors| async move { form_page(st, &ctx, u, None, 0, f, errors).await },
    )
    .await
}

/// Service `id` if `user` may edit it now; otherwise why not (403, or 409 with the reason).
async fn editable(
    store: &ServiceStore,
    user: &Principal,
    ctx: &Ctx,
    id: i64,
) -> Result<Service, PageError> {
    let s = store.get(user.owner_filter(), id).await?;
    let who = acting(user, ctx);
    let actor = kehu_domain::service::Actor {
        user_id: who.user_id(),
        supervisor: who.supervisor,
    };
    s.workflow().allows(Action::Edit, actor)?;
    Ok(s)
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ServiceWrite>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let store = crate::services(&state);
    let s = editable(&store, &user, &ctx, id).await?;
    let f = input_of(&s);
    let named = Some((id, s.number));
    form_page(
        &state,
        &ctx,
        &user,
        named,
        s.version,
        f,
        FormErrors::default(),
    )
    .await
}

/// The fields a version conflict compares, as the form's inputs carry them.
fn compared(f: &ServiceInput) -> Vec<(&'static str, String)> {
    vec![
        ("type", f.service_type.clone()),
        ("title", f.title.clone()),
        ("contact_id", f.contact_id.clone()),
        ("channel", f.channel.clone()),
        ("request", f.request.clone()),
        ("priority", f.priority.clone()),
    ]
}

async fn stored(store: &ServiceStore, user: &Principal, id: i64) -> Result<form::Stored, AppError> {
    let s = store.get(user.owner_filter(), id).await?;
    let last = store.last_change(id).await?;
    let fields = compared(&input_of(&s))
        .into_iter()
        .map(|(field, value)| form::StoredField::text(field, value))
        .collect();
    Ok(form::Stored {
        version: s.version,
        last,
        fields,
    })
}

pub(super) async fn update(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::ServiceWrite>,
    Path(id): Path<i64>,
    form::EditForm(f, versions): form::EditForm<ServiceInput>,
) -> Result<Response, PageError> {
    let store = crate::services(&state);
    let current = editable(&store, &user, &ctx, id).await?;
    let (st, s, u, who) = (&state, &store, &user, acting(&user, &ctx));
    let edit = form::Edit {
        mine: compared(&f),
        stored: || stored(s, u, id),
        versions,
    };
    let version = edit.versions.to_save();
    let parsed = parse(&state, &f).await?;
    form::submit_edit(
        ctx.tr,
        edit,
        parsed,
        |d, version| async move { s.update(&who, id, &d, version).await },
        |_| format!("/services/{id}"),
        |errors| async move {
            let named = Some((id, current.number));
            form_page(st, &ctx, u, named, version, f, errors).await
        },
    )
    .await
}
