//! Data dictionary administration (数据字典): items by kind; protected items are read-only.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use kehu_domain::dictionary::DictInput;
use kehu_store::PageRequest;
use kehu_store::dictionary::DictEntry;
use serde::Deserialize;

use crate::access::{PageGranted, need};
use crate::context::CsrfForm;
use crate::error::{AppError, PageError};
use crate::form;
use crate::i18n::Tr;
use crate::state::AppState;
use crate::views::{Chrome, FormErrors, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dictionary", get(list).post(create))
        .route("/dictionary/new", get(new_form))
        .route("/dictionary/{id}", get(edit_form).post(update))
        .route("/dictionary/{id}/delete", post(delete))
}

/// The label of a kind: translated for the seeded kinds, the code for new ones.
pub fn kind_label(tr: &Tr, kind: &str) -> String {
    let key = format!("dict-kind-{}", kind.replace('_', "-"));
    if tr.has(&key) {
        tr.t(&key)
    } else {
        kind.to_owned()
    }
}

pub struct KindTab {
    pub code: String,
    pub label: String,
    pub count: i64,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "dictionary/list.html")]
struct ListPage {
    c: Chrome,
    kinds: Vec<KindTab>,
    kind: String,
    entries: Vec<DictEntry>,
    page: u64,
    pages: u64,
    query_base: String,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    kind: Option<String>,
    page: Option<u64>,
}

async fn list(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Dictionary>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let c = Chrome::new(&ctx, "/dictionary");
    let kinds = state.store.dictionary.kinds().await?;
    let kind = q
        .kind
        .filter(|k| kinds.iter().any(|(c, _)| c == k))
        .or_else(|| kinds.first().map(|(k, _)| k.clone()))
        .unwrap_or_default();
    let page = state
        .store
        .dictionary
        .list(Some(&kind), PageRequest::new(q.page, Some(100)))
        .await?;
    let tabs = kinds
        .into_iter()
        .map(|(code, count)| KindTab {
            label: kind_label(&c.tr, &code),
            active: code == kind,
            code,
            count,
        })
        .collect();
    let p = ListPage {
        query_base: serde_urlencoded::to_string([("kind", kind.as_str())]).unwrap_or_default(),
        kinds: tabs,
        kind,
        pages: page.pages(),
        page: page.page,
        entries: page.items,
        c,
    };
    Ok(render(&p)?.into_response())
}

#[derive(Deserialize, Default, Clone)]
pub struct EntryForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    item_en: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    version: i32,
}

#[derive(Template)]
#[template(path = "dictionary/form.html")]
struct FormPage {
    c: Chrome,
    id: Option<i64>,
    f: EntryForm,
    editable: bool,
    errors: FormErrors,
    saved: bool,
}

fn form_page(
    c: Chrome,
    id: Option<i64>,
    f: EntryForm,
    editable: bool,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let status = errors.status();
    let p = FormPage {
        c,
        id,
        f,
        editable,
        errors,
        saved,
    };
    Ok((status, render(&p)?).into_response())
}

#[derive(Deserialize, Default)]
struct NewQuery {
    kind: Option<String>,
}

async fn new_form(
    PageGranted { ctx, .. }: PageGranted<need::Dictionary>,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let f = EntryForm {
        kind: q.kind.unwrap_or_default(),
        ..EntryForm::default()
    };
    form_page(
        Chrome::new(&ctx, "/dictionary"),
        None,
        f,
        true,
        FormErrors::default(),
        false,
    )
}

async fn create(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Dictionary>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let (st, actor) = (&state, ctx.actor());
    form::submit(
        ctx.tr,
        DictInput::parse(&f.kind, &f.item, &f.item_en, &f.value, &f.sort),
        |input| async move { st.store.dictionary.create(&input, &actor).await },
        |e| format!("/dictionary/{}", e.id),
        |errors| async move {
            let c = Chrome::new(&ctx, "/dictionary");
            form_page(c, None, f, true, errors, false)
        },
    )
    .await
}

fn values(e: &DictEntry) -> EntryForm {
    EntryForm {
        kind: e.kind.clone(),
        item: e.item.clone(),
        item_en: e.item_en.clone().unwrap_or_default(),
        value: e.value.clone(),
        sort: e.sort.to_string(),
        version: e.version,
    }
}

async fn edit_form(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Dictionary>,
    Path(id): Path<i64>,
    Query(q): Query<crate::pages::SavedQuery>,
) -> Result<Response, PageError> {
    let e = state.store.dictionary.get(id).await?;
    form_page(
        Chrome::new(&ctx, "/dictionary"),
        Some(id),
        values(&e),
        e.editable,
        FormErrors::default(),
        q.saved.is_some(),
    )
}

async fn update(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Dictionary>,
    Path(id): Path<i64>,
    form::EditForm(f, versions): form::EditForm<EntryForm>,
) -> Result<Response, PageError> {
    let current = state.store.dictionary.get(id).await?;
    let (st, actor) = (&state, ctx.actor());
    let edit = form::Edit {
        versions,
        mine: compared(&f),
        stored: || stored(st, id),
    };
    form::submit_edit(
        ctx.tr,
        edit,
        DictInput::parse(&f.kind, &f.item, &f.item_en, &f.value, &f.sort),
        |input, version| async move {
            st.store
                .dictionary
                .update(id, &input, version, &actor)
                .await
        },
        |_| format!("/dictionary/{id}"),
        |errors| async move {
            let c = Chrome::new(&ctx, "/dictionary");
            form_page(c, Some(id), f, current.editable, errors, false)
        },
    )
    .await
}

/// The fields of the item form a version conflict compares, as their inputs carry them.
fn compared(f: &EntryForm) -> Vec<(&'static str, String)> {
    vec![
        ("kind", f.kind.clone()),
        ("item", f.item.clone()),
        ("item_en", f.item_en.clone()),
        ("value", f.value.clone()),
        ("sort", f.sort.clone()),
    ]
}

/// Item `id` as stored now, for a version conflict.
async fn stored(state: &AppState, id: i64) -> Result<form::Stored, AppError> {
    let e = state.store.dictionary.get(id).await?;
    let last = state.store.dictionary.last_change(id).await?;
    Ok(form::Stored {
        version: e.version,
        last,
        fields: compared(&values(&e))
            .into_iter()
            .map(|(field, value)| form::StoredField::text(field, value))
            .collect(),
    })
}

async fn delete(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Dictionary>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let current = state.store.dictionary.get(id).await?;
    let (st, actor, version) = (&state, ctx.actor(), f.version);
    let kind = current.kind.clone();
    form::submit(
        ctx.tr,
        Ok::<_, AppError>(()),
        |()| async move { st.store.dictionary.delete(id, version, &actor).await },
        |()| format!("/dictionary?kind={kind}"),
        |errors| async move {
            let c = Chrome::new(&ctx, "/dictionary");
            form_page(
                c,
                Some(id),
                values(&current),
                current.editable,
                errors,
                false,
            )
        },
    )
    .await
}
