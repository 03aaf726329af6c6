//! Interaction pages: recording one from the customer page (errors come back on that page),
//! the customer's whole timeline (a page of it at a time), and the edit form with its
//! conflict flow and delete. Within the user's data scope.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_store::PageRequest;
use kehu_store::page::{Cursor, ListRequest, Sort};
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::{AppError, PageError};
use kehu_web::form;
use kehu_web::views::{Chrome, FormErrors, Opt};
use serde::Deserialize;

use super::{Activity, ActivityDraft, ActivityInput, ActivitySort};
use crate::domain::kinds;
use crate::need;
use crate::pages::{KINDS, VersionForm, answer};
use crate::show::{Day, Forms, timeline};
use kehu_web::labels::Labels;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/customers/{id}/activities",
            get(all_of_customer).post(record),
        )
        .route("/activities/{id}", get(edit_form).post(update))
        .route("/activities/{id}/delete", post(delete))
}

/// The form's fields as posted.
#[derive(Deserialize, Default, Clone)]
struct ActivityForm {
    #[serde(default)]
    at: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    contact_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

impl From<ActivityForm> for ActivityInput {
    fn from(f: ActivityForm) -> Self {
        Self {
            at: f.at,
            channel: f.channel,
            place: f.place,
            contact_id: f.contact_id,
            title: f.title,
            description: f.description,
        }
    }
}

/// Parses `i` against the dictionary, local times in the configured zone.
async fn parse(
    state: &AppState,
    i: &ActivityInput,
) -> Result<Result<ActivityDraft, AppError>, PageError> {
    let dict = crate::store(state).dictionary().await?;
    let zone = state.config.time_zone.tz();
    Ok(ActivityDraft::parse(i, &dict, &zone).map_err(AppError::from))
}

async fn record(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ActivityForm>,
) -> Result<Response, PageError> {
    let store = crate::activities(&state);
    let (st, scope, actor, u) = (&state, user.owner_filter(), ctx.actor(), &user);
    let input = ActivityInput::from(f);
    let parsed = parse(&state, &input).await?;
    form::submit(
        ctx.tr,
        parsed,
        |d| async move { store.create(scope, id, &d, &actor).await },
        |_: &Activity| format!("/customers/{id}#activities"),
        |errors| async move {
            let forms = Forms {
                activity: input,
                activity_errors: errors,
                ..Forms::default()
            };
            crate::show::page(st, &ctx, u, id, forms, false).await
        },
    )
    .await
}

#[derive(Deserialize, Default)]
struct TimelineQuery {
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "customers/activities.html")]
struct TimelinePage {
    c: Chrome,
    customer_id: i64,
    customer_name: String,
    days: Vec<Day>,
    next: Option<String>,
    prev: Option<String>,
}

/// The customer's whole timeline, 50 interactions a page.
async fn all_of_customer(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Customers>,
    Path(id): Path<i64>,
    Query(q): Query<TimelineQuery>,
) -> Result<Response, PageError> {
    let scope = user.owner_filter();
    let customer = crate::store(&state).get(scope, id).await?;
    // A cursor that is not ours starts from the newest (pages are lenient).
    let sort = Sort::<ActivitySort>::new(ActivitySort::At, kehu_store::page::Dir::Desc);
    let cursor = q
        .cursor
        .as_deref()
        .and_then(|c| Cursor::decode(c, sort).ok());
    let paged = cursor.is_some();
    let req = ListRequest::new(sort, cursor, PageRequest::new(None, Some(50)));
    let listing = crate::activities(&state)
        .of_customer(scope, id, req)
        .await?;
    let labels = Labels::load(&state, ctx.tr.lang, &KINDS).await?;
    let c = Chrome::new(&ctx, "/customers");
    let p = TimelinePage {
        days: timeline(&c.tr, &labels, &listing.items),
        customer_id: id,
        customer_name: customer.name,
        next: listing.next.map(|c| c.encode()),
        prev: listing.prev.filter(|_| paged).map(|c| c.encode()),
        c,
    };
    answer(&p, &FormErrors::default())
}

#[derive(Template)]
#[template(path = "customers/activity.html")]
struct EditPage {
    c: Chrome,
    a: Activity,
    af: ActivityInput,
    aerrors: FormErrors,
    /// `form_top.html` and `form_conflict.html` read `errors`.
    errors: FormErrors,
    channels: Vec<Opt>,
    contact_opts: Vec<Opt>,
}

/// The form filled with interaction `a` as stored (the time in the configured zone).
fn input_of(a: &Activity, ctx: &Ctx) -> ActivityInput {
    ActivityInput {
        at: a
            .at
            .with_timezone(&ctx.tr.zone.tz())
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
        channel: a.channel.clone(),
        place: a.place.clone().unwrap_or_default(),
        contact_id: a.contact_id.map(|i| i.to_string()).unwrap_or_default(),
        title: a.title.clone(),
        description: a.description.clone().unwrap_or_default(),
    }
}

async fn edit_page(
    state: &AppState,
    ctx: &Ctx,
    user: &kehu_domain::Principal,
    a: Activity,
    af: ActivityInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let contacts = crate::store(state)
        .contacts_of(user.owner_filter(), a.customer_id)
        .await?;
    let labels = Labels::load(state, ctx.tr.lang, &KINDS).await?;
    let p = EditPage {
        c: Chrome::new(ctx, "/customers"),
        channels: labels.options(kinds::CHANNEL, &af.channel),
        contact_opts: Opt::list(contacts.into_iter().map(|k| (k.id, k.name)), &af.contact_id),
        a,
        af,
        aerrors: errors.clone(),
        errors,
    };
    answer(&p, &p.errors)
}

async fn edit_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Customers>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let a = crate::activities(&state)
        .get(user.owner_filter(), id)
        .await?;
    let af = input_of(&a, &ctx);
    edit_page(&state, &ctx, &user, a, af, FormErrors::default()).await
}

/// The fields a version conflict compares.
fn compared(f: &ActivityInput) -> Vec<(&'static str, String)> {
    vec![
        ("at", f.at.clone()),
        ("channel", f.channel.clone()),
        ("place", f.place.clone()),
        ("contact_id", f.contact_id.clone()),
        ("title", f.title.clone()),
        ("description", f.description.clone()),
    ]
}

async fn update(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    form::EditForm(f, versions): form::EditForm<ActivityForm>,
) -> Result<Response, PageError> {
    let store = crate::activities(&state);
    let scope = user.owner_filter();
    let current = store.get(scope, id).await?;
    let (st, actor, s, c, u) = (&state, ctx.actor(), &store, &ctx, &user);
    let input = ActivityInput::from(f);
    let edit = form::Edit {
        mine: compared(&input),
        stored: || async move {
            let a = s.get(scope, id).await?;
            let last = s.last_change(id).await?;
            let fields = compared(&input_of(&a, c))
                .into_iter()
                .map(|(field, value)| match field {
                    "contact_id" => form::StoredField::labelled(
                        field,
                        value,
                        a.contact_name.clone().unwrap_or_default(),
                    ),
                    _ => form::StoredField::text(field, value),
                })
                .collect();
            Ok::<_, AppError>(form::Stored {
                version: a.version,
                last,
                fields,
            })
        },
        versions,
    };
    let parsed = parse(&state, &input).await?;
    form::submit_edit(
        ctx.tr,
        edit,
        parsed,
        |d, version| async move { s.update(scope, id, &d, version, &actor).await },
        |a: &Activity| format!("/customers/{}#activities", a.customer_id),
        |errors| async move { edit_page(st, c, u, current, input, errors).await },
    )
    .await
}

async fn delete(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    let a = crate::activities(&state)
        .delete(user.owner_filter(), id, v.version, &ctx.actor())
        .await?;
    Ok(Redirect::to(&form::saved_at(&format!("/customers/{}", a.customer_id))).into_response())
}
