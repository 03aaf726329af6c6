//! 客户管理 pages: the customer list on the list kit (filters, sort headers, pager, column
//! chooser, saved filters, phone cards, transfer of the ticked rows), the trash, the create and
//! edit form (`form::submit`, `form::submit_edit` with its conflict flow), and the contacts
//! (add, edit, make primary, delete) of the customer page (`show.rs`). Everything within the
//! user's data scope.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_domain::Principal;
use kehu_domain::policy::OwnerFilter;
use kehu_domain::user::Language;
use kehu_store::page::ListRequest;
use kehu_store::users::UserFilter;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::{AppError, PageError};
use kehu_web::form;
use kehu_web::i18n::Tr;
use kehu_web::labels::Labels;
use kehu_web::listing::{self, Col, Empty, ListPage, ListParams, ListState, ListView, Saved};
use kehu_web::pages::SavedQuery;
use kehu_web::views::{Chrome, FormErrors, Opt, render, when};
use serde::Deserialize;

use crate::domain::{
    ContactDraft, ContactInput, CustomerDraft, CustomerInput, Gender, Size, Status, fen_to_decimal,
    kinds,
};
use crate::need;
use crate::store::{Contact, Customer, CustomerFilter, CustomerSort, CustomerStore};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(listing::routes::<CustomerList<false>>())
        .merge(listing::routes::<CustomerList<true>>())
        .route("/customers", post(create))
        .route("/customers/new", get(new_form))
        .route("/customers/transfer", post(transfer))
        .route("/customers/{id}", get(crate::show::show).post(update))
        .route("/customers/{id}/edit", get(edit_form))
        .route("/customers/{id}/delete", post(delete))
        .route("/customers/{id}/restore", post(restore))
        .route("/customers/{id}/contacts", post(add_contact))
        .route("/contacts/{id}", get(contact_form).post(update_contact))
        .route("/contacts/{id}/primary", post(make_primary))
        .route("/contacts/{id}/delete", post(delete_contact))
}

/// The dictionary kinds a customer's coded fields take their values from.
pub(crate) const KINDS: [&str; 5] = [
    kinds::REGION,
    kinds::LEVEL,
    kinds::INDUSTRY,
    kinds::SOURCE,
    kinds::CHANNEL,
];

/// The options of a closed set of codes, labelled `<prefix>-<code>`.
fn code_options<'a>(
    tr: &Tr,
    prefix: &str,
    codes: impl IntoIterator<Item = &'a str>,
    current: &str,
) -> Vec<Opt> {
    Opt::list(
        codes
            .into_iter()
            .map(|code| (code, tr.t(&format!("{prefix}-{}", code.replace('_', "-"))))),
        current,
    )
}

pub(crate) fn gender_options(tr: &Tr, current: &str) -> Vec<Opt> {
    code_options(tr, "gender", Gender::ALL.iter().map(|s| s.code()), current)
}

/// A rendered page at the status its form errors call for (200 without any).
pub(crate) use kehu_web::views::answer;

fn status_options(tr: &Tr, current: &str) -> Vec<Opt> {
    code_options(
        tr,
        "customer-status",
        Status::ALL.iter().map(|s| s.code()),
        current,
    )
}

/// The account managers to pick from (active users, by name).
async fn owner_options(state: &AppState, current: &str) -> Result<Vec<Opt>, PageError> {
    let users = state
        .store
        .users
        .list(&UserFilter::default(), ListRequest::first(200))
        .await?;
    Ok(Opt::list(
        users
            .items
            .into_iter()
            .filter(|u| !u.disabled)
            .map(|u| (u.id, u.display_name)),
        current,
    ))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    region: Option<String>,
    level: Option<String>,
    industry: Option<String>,
    status: Option<String>,
    tag: Option<String>,
    segment: Option<String>,
    value_class: Option<String>,
    owner: Option<String>,
    /// Created from this day (`2026-03-01`), inclusive.
    created_from: Option<String>,
    /// Created to this day, inclusive.
    created_to: Option<String>,
    /// `?saved=1` after a transfer: the flash.
    saved: Option<String>,
    #[serde(flatten)]
    list: ListParams,
}

/// One row of the list.
struct Row {
    id: i64,
    code: String,
    name: String,
    owner: String,
    region: String,
    level: String,
    status: String,
    tags: String,
    phone: String,
    created: String,
    updated: String,
    last_order: String,
    version: i32,
}

#[derive(Template)]
#[template(path = "customers/list.html")]
struct ListTemplate {
    c: Chrome,
    rows: Vec<Row>,
    q: ListQuery,
    regions: Vec<Opt>,
    levels: Vec<Opt>,
    industries: Vec<Opt>,
    statuses: Vec<Opt>,
    owners: Vec<Opt>,
    /// What the customer-value analysis found (segments, value classes).
    segments: Vec<Opt>,
    value_classes: Vec<Opt>,
    /// The trash instead of the list.
    trash: bool,
    /// The user sees every customer: the owner filter and the transfer are offered.
    all: bool,
    l: ListView,
    saved: bool,
    /// The filters as the export API takes them, when the user may export.
    export: Option<String>,
    /// The user may import.
    import: bool,
}

const COLUMNS: &[Col<CustomerSort>] = &[
    Col::sorted("code", "col-code", CustomerSort::Code),
    Col::sorted("name", "field-customer-name", CustomerSort::Name).fixed(),
    Col::plain("owner", "field-owner-id"),
    Col::plain("region", "field-region"),
    Col::plain("level", "field-level"),
    Col::plain("status", "col-status"),
    Col::plain("tags", "field-tags"),
    Col::plain("phone", "field-phone").hidden(),
    Col::sorted("last_order", "col-last-order", CustomerSort::LastOrder),
    Col::sorted("updated", "col-updated", CustomerSort::Updated).hidden(),
    Col::sorted("created", "col-created", CustomerSort::Created),
];

/// 客户管理 (`TRASH = false`: the customers in the user's scope) and its 回收站 (`true`: the
/// user's deleted customers, to restore): one list, two places.
struct CustomerList<const TRASH: bool>;

impl<const TRASH: bool> ListPage for CustomerList<TRASH> {
    type Need = need::Customers;
    type Query = ListQuery;
    const PATH: &'static str = if TRASH {
        "/customers/trash"
    } else {
        "/customers"
    };
    const KEY: &'static str = if TRASH {
        "customers/trash"
    } else {
        "customers"
    };

    async fn render(
        state: &AppState,
        ctx: &Ctx,
        user: &Principal,
        q: ListQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        list_page(state, ctx, user, q, saved, TRASH).await
    }
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    q: ListQuery,
    saved: Saved,
    trash: bool,
) -> Result<Response, PageError> {
    let flash = q.saved.is_some();
    let path = if trash {
        CustomerList::<true>::PATH
    } else {
        CustomerList::<false>::PATH
    };
    let at = ListState::<CustomerSort>::new(
        path,
        &q.list,
        COLUMNS,
        &[
            ("q", q.q.as_deref()),
            ("region", q.region.as_deref()),
            ("level", q.level.as_deref()),
            ("industry", q.industry.as_deref()),
            ("status", q.status.as_deref()),
            ("tag", q.tag.as_deref()),
            ("segment", q.segment.as_deref()),
            ("value_class", q.value_class.as_deref()),
            ("owner", q.owner.as_deref()),
            ("created_from", q.created_from.as_deref()),
            ("created_to", q.created_to.as_deref()),
        ],
    );
    // Pages are lenient: a period bound that is not a date is left out.
    let day = |s: &Option<String>, end: bool| {
        kehu_web::api::period_bound("created", s.as_deref(), end, state.config.time_zone)
            .ok()
            .flatten()
    };
    let filter = CustomerFilter {
        q: blank(&q.q),
        region: blank(&q.region),
        level: blank(&q.level),
        industry: blank(&q.industry),
        owner_id: kehu_web::pages::opt_i64(&q.owner),
        status: blank(&q.status).and_then(|s| Status::from_code(&s)),
        tag: blank(&q.tag),
        segment: blank(&q.segment),
        value_class: blank(&q.value_class),
        created_from: day(&q.created_from, false),
        created_to: day(&q.created_to, true),
    };
    let store = crate::store(state);
    let scope = user.owner_filter();
    let listing = if trash {
        store.trash(scope, &filter, at.request()).await?
    } else {
        store.list(scope, &filter, at.request()).await?
    };
    let c = Chrome::new(ctx, "/customers");
    let labels = Labels::load(state, ctx.tr.lang, &KINDS).await?;
    let empty = if trash {
        Empty {
            filtered: "customers-empty-filtered",
            none: "customers-trash-empty",
            action: None,
        }
    } else {
        Empty {
            filtered: "customers-empty-filtered",
            none: "customers-empty",
            action: Some(("customers-new", "/customers/new")),
        }
    };
    let l = at.view(&c.tr, &listing, empty, saved);
    let rows = listing
        .items
        .iter()
        .map(|cu| Row {
            id: cu.id,
            code: cu.code.clone(),
            name: cu.name.clone(),
            owner: cu.owner_name.clone(),
            region: labels.of(kinds::REGION, cu.region.as_deref()),
            level: labels.of(kinds::LEVEL, cu.level.as_deref()),
            status: c.t(&format!("customer-status-{}", cu.status.replace('_', "-"))),
            tags: cu.tag_list().join("、"),
            phone: cu.phone.clone().unwrap_or_default(),
            created: when(&c.tr, &cu.created_at),
            updated: when(&c.tr, &cu.updated_at),
            last_order: cu
                .last_order_at
                .map(|t| when(&c.tr, &t))
                .unwrap_or_default(),
            version: cu.version,
        })
        .collect();
    let all = scope.owner().is_none();
    let owner = q.owner.clone().unwrap_or_default();
    let status = l.saved.status;
    let p = ListTemplate {
        rows,
        regions: labels.options(kinds::REGION, q.region.as_deref().unwrap_or_default()),
        levels: labels.options(kinds::LEVEL, q.level.as_deref().unwrap_or_default()),
        industries: labels.options(kinds::INDUSTRY, q.industry.as_deref().unwrap_or_default()),
        statuses: status_options(&c.tr, q.status.as_deref().unwrap_or_default()),
        segments: Opt::list(
            crate::values::SEGMENTS
                .iter()
                .map(|k| (*k, c.t(&format!("segment-{k}")))),
            q.segment.as_deref().unwrap_or_default(),
        ),
        value_classes: Opt::list(
            crate::values::VALUE_CLASSES
                .iter()
                .map(|k| (*k, c.t(&format!("value-class-{k}")))),
            q.value_class.as_deref().unwrap_or_default(),
        ),
        owners: if all {
            owner_options(state, &owner).await?
        } else {
            Vec::new()
        },
        export: user
            .can(kehu_domain::Right::CustomerExport)
            .then(|| crate::export::list_query(&filter, q.owner.as_deref())),
        import: user.can(kehu_domain::Right::CustomerImport),
        q,
        trash,
        all,
        l,
        saved: flash,
        c,
    };
    Ok((status, render(&p)?).into_response())
}

/// The transfer form on the list: the ticked rows (`pick-<id>`) and the new manager.
#[derive(Deserialize)]
struct TransferForm {
    #[serde(default)]
    to_owner_id: String,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

async fn transfer(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    CsrfForm(f): CsrfForm<TransferForm>,
) -> Result<Response, PageError> {
    let ids: Vec<i64> = f
        .rest
        .keys()
        .filter_map(|k| k.strip_prefix("pick-")?.parse().ok())
        .collect();
    let to = f.to_owner_id.trim().parse::<i64>().unwrap_or_default();
    let moved = crate::store(&state)
        .transfer(user.owner_filter(), &ids, to, &ctx.actor())
        .await;
    match moved {
        Ok(_) => Ok(Redirect::to("/customers?saved=1").into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(&ctx.tr, AppError::from(e))?;
            let message = errors
                .fields
                .values()
                .next()
                .cloned()
                .or(errors.form.clone())
                .unwrap_or_default();
            let detail = kehu_web::views::error_page(
                &ctx.tr,
                422,
                &ctx.tr.t("customers-transfer"),
                &message,
            );
            Ok((errors.status(), axum::response::Html(detail)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "customers/form.html")]
struct FormPage {
    c: Chrome,
    id: Option<i64>,
    code: String,
    f: CustomerInput,
    version: i32,
    regions: Vec<Opt>,
    levels: Vec<Opt>,
    industries: Vec<Opt>,
    sources: Vec<Opt>,
    sizes: Vec<Opt>,
    genders: Vec<Opt>,
    owners: Vec<Opt>,
    errors: FormErrors,
    saved: bool,
}

/// The form filled with customer `c` as stored.
fn input_of(c: &Customer) -> CustomerInput {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let n = |v: Option<i16>| v.map(|n| n.to_string()).unwrap_or_default();
    CustomerInput {
        name: c.name.clone(),
        owner_id: c.owner_id.to_string(),
        region: s(&c.region),
        level: s(&c.level),
        industry: s(&c.industry),
        source: s(&c.source),
        satisfaction: n(c.satisfaction),
        credit: n(c.credit),
        address: s(&c.address),
        postcode: s(&c.postcode),
        phone: s(&c.phone),
        fax: s(&c.fax),
        website: s(&c.website),
        licence_no: s(&c.licence_no),
        legal_rep: s(&c.legal_rep),
        registered_capital: c.registered_capital.map(fen_to_decimal).unwrap_or_default(),
        annual_turnover: c.annual_turnover.map(fen_to_decimal).unwrap_or_default(),
        bank: s(&c.bank),
        bank_account: s(&c.bank_account),
        local_tax_no: s(&c.local_tax_no),
        national_tax_no: s(&c.national_tax_no),
        size: s(&c.size),
        gender: s(&c.gender),
        birthday: c.birthday.map(|d| d.to_string()).unwrap_or_default(),
        income_band: s(&c.income_band),
        tags: c.tag_list().join(", "),
        memo: s(&c.memo),
    }
}

struct FormArgs {
    id: Option<i64>,
    code: String,
    version: i32,
    saved: bool,
}

async fn form_page(
    state: &AppState,
    c: Chrome,
    all: bool,
    a: FormArgs,
    f: CustomerInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let labels = Labels::load(state, c.tr.lang, &KINDS).await?;
    let tr = c.tr;
    let p = FormPage {
        regions: labels.options(kinds::REGION, &f.region),
        levels: labels.options(kinds::LEVEL, &f.level),
        industries: labels.options(kinds::INDUSTRY, &f.industry),
        sources: labels.options(kinds::SOURCE, &f.source),
        sizes: code_options(&tr, "size", Size::ALL.iter().map(|s| s.code()), &f.size),
        genders: gender_options(&tr, &f.gender),
        owners: if all {
            owner_options(state, &f.owner_id).await?
        } else {
            Vec::new()
        },
        id: a.id,
        code: a.code,
        version: a.version,
        saved: a.saved,
        f,
        errors,
        c,
    };
    answer(&p, &p.errors)
}

async fn new_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
) -> Result<Response, PageError> {
    let f = CustomerInput {
        owner_id: user.user_id.to_string(),
        ..CustomerInput::default()
    };
    let a = FormArgs {
        id: None,
        code: String::new(),
        version: 0,
        saved: false,
    };
    let all = user.owner_filter().owner().is_none();
    form_page(
        &state,
        Chrome::new(&ctx, "/customers"),
        all,
        a,
        f,
        FormErrors::default(),
    )
    .await
}

/// Parses the form against the dictionary as it is now.
async fn parse(
    store: &CustomerStore,
    f: &CustomerInput,
) -> Result<Result<CustomerDraft, AppError>, PageError> {
    let dict = store.dictionary().await?;
    Ok(CustomerDraft::parse(f, &dict).map_err(AppError::from))
}

async fn create(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    CsrfForm(f): CsrfForm<CustomerInput>,
) -> Result<Response, PageError> {
    let store = crate::store(&state);
    let (st, scope, actor) = (&state, user.owner_filter(), ctx.actor());
    let parsed = parse(&store, &f).await?;
    form::submit(
        ctx.tr,
        parsed,
        |d| async move { store.create(scope, &d, &actor).await },
        |c: &Customer| format!("/customers/{}", c.id),
        |errors| async move {
            let a = FormArgs {
                id: None,
                code: String::new(),
                version: 0,
                saved: false,
            };
            let c = Chrome::new(&ctx, "/customers");
            form_page(st, c, scope.owner().is_none(), a, f, errors).await
        },
    )
    .await
}

async fn edit_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let scope = user.owner_filter();
    let cu = crate::store(&state).get(scope, id).await?;
    let a = FormArgs {
        id: Some(id),
        code: cu.code.clone(),
        version: cu.version,
        saved: false,
    };
    let c = Chrome::new(&ctx, "/customers");
    form_page(
        &state,
        c,
        scope.owner().is_none(),
        a,
        input_of(&cu),
        FormErrors::default(),
    )
    .await
}

/// The fields a version conflict compares, as the form's inputs carry them.
fn compared(f: &CustomerInput) -> Vec<(&'static str, String)> {
    vec![
        ("name", f.name.clone()),
        ("owner_id", f.owner_id.clone()),
        ("region", f.region.clone()),
        ("level", f.level.clone()),
        ("industry", f.industry.clone()),
        ("source", f.source.clone()),
        ("satisfaction", f.satisfaction.clone()),
        ("credit", f.credit.clone()),
        ("address", f.address.clone()),
        ("postcode", f.postcode.clone()),
        ("phone", f.phone.clone()),
        ("fax", f.fax.clone()),
        ("website", f.website.clone()),
        ("tags", f.tags.clone()),
        ("memo", f.memo.clone()),
    ]
}

/// Customer `id` as stored now, for a version conflict: the account manager by name and the
/// dictionary fields by their labels, as the form's selects show them.
async fn stored(
    state: &AppState,
    store: &CustomerStore,
    scope: OwnerFilter,
    id: i64,
    lang: Language,
) -> Result<form::Stored, AppError> {
    let cu = store.get(scope, id).await?;
    let last = store.last_change(id).await?;
    let labels = Labels::load(state, lang, &KINDS).await?;
    let fields = compared(&input_of(&cu))
        .into_iter()
        .map(|(field, value)| {
            let kind = match field {
                "owner_id" => {
                    return form::StoredField::labelled(field, value, cu.owner_name.clone());
                }
                "region" => kinds::REGION,
                "level" => kinds::LEVEL,
                "industry" => kinds::INDUSTRY,
                "source" => kinds::SOURCE,
                _ => return form::StoredField::text(field, value),
            };
            let label = labels.of(kind, Some(&value));
            form::StoredField::labelled(field, value, label)
        })
        .collect();
    Ok(form::Stored {
        version: cu.version,
        last,
        fields,
    })
}

async fn update(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    form::EditForm(f, versions): form::EditForm<CustomerInput>,
) -> Result<Response, PageError> {
    let store = crate::store(&state);
    let scope = user.owner_filter();
    let current = store.get(scope, id).await?;
    let (st, actor, s, lang) = (&state, ctx.actor(), &store, ctx.tr.lang);
    let edit = form::Edit {
        mine: compared(&f),
        stored: || stored(st, s, scope, id, lang),
        versions,
    };
    let version = edit.versions.to_save();
    let parsed = parse(&store, &f).await?;
    form::submit_edit(
        ctx.tr,
        edit,
        parsed,
        |d, version| async move { s.update(scope, id, &d, version, &actor).await },
        |_| format!("/customers/{id}"),
        |errors| async move {
            let a = FormArgs {
                id: Some(id),
                code: current.code,
                version,
                saved: false,
            };
            let c = Chrome::new(&ctx, "/customers");
            form_page(st, c, scope.owner().is_none(), a, f, errors).await
        },
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct VersionForm {
    #[serde(default)]
    pub(crate) version: i32,
}

async fn delete(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    crate::store(&state)
        .delete(user.owner_filter(), id, v.version, &ctx.actor())
        .await?;
    Ok(Redirect::to("/customers?saved=1").into_response())
}

async fn restore(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    crate::store(&state)
        .restore(user.owner_filter(), id, v.version, &ctx.actor())
        .await?;
    Ok(Redirect::to(&form::saved_at(&format!("/customers/{id}"))).into_response())
}

/// A contact form's fields: the checkbox `is_primary` arrives as `on` or not at all.
#[derive(Deserialize, Default, Clone)]
struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    memo: String,
    #[serde(default)]
    is_primary: Option<String>,
}

impl From<ContactForm> for ContactInput {
    fn from(f: ContactForm) -> Self {
        Self {
            name: f.name,
            gender: f.gender,
            position: f.position,
            phone: f.phone,
            mobile: f.mobile,
            email: f.email,
            memo: f.memo,
            is_primary: f.is_primary.is_some(),
        }
    }
}

async fn add_contact(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ContactForm>,
) -> Result<Response, PageError> {
    let store = crate::store(&state);
    let (st, scope, actor, u) = (&state, user.owner_filter(), ctx.actor(), &user);
    let input = ContactInput::from(f);
    form::submit(
        ctx.tr,
        ContactDraft::parse(&input),
        |d| async move { store.add_contact(scope, id, &d, &actor).await },
        |_: &Contact| format!("/customers/{id}"),
        |errors| async move {
            let forms = crate::show::Forms {
                contact: input,
                contact_errors: errors,
                ..Default::default()
            };
            crate::show::page(st, &ctx, u, id, forms, false).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "customers/contact.html")]
struct ContactPage {
    c: Chrome,
    k: Contact,
    f: ContactInput,
    genders: Vec<Opt>,
    errors: FormErrors,
    saved: bool,
}

fn contact_input(k: &Contact) -> ContactInput {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    ContactInput {
        name: k.name.clone(),
        gender: s(&k.gender),
        position: s(&k.position),
        phone: s(&k.phone),
        mobile: s(&k.mobile),
        email: s(&k.email),
        memo: s(&k.memo),
        is_primary: k.is_primary,
    }
}

async fn contact_page(
    c: Chrome,
    k: Contact,
    f: ContactInput,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let p = ContactPage {
        genders: gender_options(&c.tr, &f.gender),
        k,
        f,
        errors,
        saved,
        c,
    };
    answer(&p, &p.errors)
}

async fn contact_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Customers>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let k = crate::store(&state)
        .contact(user.owner_filter(), id)
        .await?;
    let f = contact_input(&k);
    contact_page(
        Chrome::new(&ctx, "/customers"),
        k,
        f,
        FormErrors::default(),
        q.saved.is_some(),
    )
    .await
}

fn contact_compared(f: &ContactInput) -> Vec<(&'static str, String)> {
    vec![
        ("name", f.name.clone()),
        ("position", f.position.clone()),
        ("phone", f.phone.clone()),
        ("mobile", f.mobile.clone()),
        ("email", f.email.clone()),
        ("memo", f.memo.clone()),
    ]
}

async fn update_contact(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    form::EditForm(f, versions): form::EditForm<ContactForm>,
) -> Result<Response, PageError> {
    let store = crate::store(&state);
    let scope = user.owner_filter();
    let current = store.contact(scope, id).await?;
    let (actor, s) = (ctx.actor(), &store);
    let input = ContactInput::from(f);
    let edit = form::Edit {
        mine: contact_compared(&input),
        stored: || async move {
            let k = s.contact(scope, id).await?;
            let last = s.contact_last_change(id).await?;
            let fields = contact_compared(&contact_input(&k))
                .into_iter()
                .map(|(field, value)| form::StoredField::text(field, value))
                .collect();
            Ok(form::Stored {
                version: k.version,
                last,
                fields,
            })
        },
        versions,
    };
    form::submit_edit(
        ctx.tr,
        edit,
        ContactDraft::parse(&input),
        |d, version| async move { s.update_contact(scope, id, &d, version, &actor).await },
        |k: &Contact| format!("/customers/{}", k.customer_id),
        |errors| async move {
            contact_page(
                Chrome::new(&ctx, "/customers"),
                current,
                input,
                errors,
                false,
            )
            .await
        },
    )
    .await
}

async fn make_primary(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    let store = crate::store(&state);
    let scope = user.owner_filter();
    let k = store.contact(scope, id).await?;
    let d = ContactDraft::parse(&ContactInput {
        is_primary: true,
        ..contact_input(&k)
    })?;
    store
        .update_contact(scope, id, &d, v.version, &ctx.actor())
        .await?;
    Ok(Redirect::to(&form::saved_at(&format!("/customers/{}", k.customer_id))).into_response())
}

async fn delete_contact(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerWrite>,
    Path(id): Path<i64>,
    CsrfForm(v): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    let store = crate::store(&state);
    let scope = user.owner_filter();
    let k = store.contact(scope, id).await?;
    store
        .delete_contact(scope, id, v.version, &ctx.actor())
        .await?;
    Ok(Redirect::to(&form::saved_at(&format!("/customers/{}", k.customer_id))).into_response())
}
