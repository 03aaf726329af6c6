//! User administration (用户管理): list, create, edit, reset password, disable.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use kehu_domain::DomainError;
use kehu_domain::policy::Authority;
use kehu_domain::user::{AccountChanges, EditedAccount, NewAccount, NewPassword};
use kehu_store::users::{User, UserFilter, UserSort};
use serde::Deserialize;

use crate::access::{PageGranted, need};
use crate::context::CsrfForm;
use crate::error::{AppError, PageError};
use crate::form;
use crate::i18n::Tr;
use crate::listing::{self, Col, Empty, ListPage, ListParams, ListState, ListView, Saved};
use crate::pages::opt_i64;
use crate::state::AppState;
use crate::views::{Chrome, FormErrors, Opt, render, when};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(listing::routes::<UsersList>())
        .route("/users", post(create))
        .route("/users/new", get(new_form))
        .route("/users/{id}", get(edit_form).post(update))
        .route("/users/{id}/password", post(reset_password))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    role: Option<String>,
    #[serde(flatten)]
    list: ListParams,
}

pub struct Row {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role_name: String,
    pub disabled: bool,
    pub last_login: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListTemplate {
    c: Chrome,
    rows: Vec<Row>,
    q: String,
    roles: Vec<Opt>,
    l: ListView,
}

/// The users list's columns, in order (the e-mail address only when chosen).
const COLUMNS: &[Col<UserSort>] = &[
    Col::sorted("username", "field-username", UserSort::Username).fixed(),
    Col::sorted("display_name", "field-display-name", UserSort::DisplayName),
    Col::plain("email", "field-email").hidden(),
    Col::plain("role", "field-role"),
    Col::plain("status", "col-status"),
    Col::sorted("last_login", "col-last-login", UserSort::LastLogin),
    Col::sorted("created", "col-created", UserSort::Created),
];

/// Users list on the list kit (its routes: `listing::routes`).
struct UsersList;

impl ListPage for UsersList {
    type Need = need::Users;
    type Query = ListQuery;
    const PATH: &'static str = "/users";
    const KEY: &'static str = "users";

    async fn render(
        state: &AppState,
        ctx: &crate::context::Ctx,
        _: &kehu_domain::Principal,
        q: ListQuery,
        saved: Saved,
    ) -> Result<Response, PageError> {
        let at = ListState::<UserSort>::new(
            "/users",
            &q.list,
            COLUMNS,
            &[("q", q.q.as_deref()), ("role", q.role.as_deref())],
        );
        let filter = UserFilter {
            q: q.q.clone().filter(|s| !s.trim().is_empty()),
            role_id: opt_i64(&q.role),
        };
        let listing = state.store.users.list(&filter, at.request()).await?;
        let c = Chrome::new(ctx, "/users");
        let empty = Empty {
            filtered: "users-empty-filtered",
            none: "users-empty",
            action: Some(("users-new", "/users/new")),
        };
        let l = at.view(&c.tr, &listing, empty, saved);
        let rows = listing
            .items
            .iter()
            .map(|u| Row {
                id: u.id,
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                email: u.email.clone().unwrap_or_default(),
                role_name: c.role(&u.role_name),
                disabled: u.disabled,
                last_login: u.last_login_at.map(|t| when(&c.tr, &t)).unwrap_or_default(),
                created: when(&c.tr, &u.created_at),
            })
            .collect();
        let status = l.saved.status;
        let p = ListTemplate {
            rows,
            roles: role_options(state, &c, &q.role.clone().unwrap_or_default(), None).await?,
            q: q.q.unwrap_or_default(),
            l,
            c,
        };
        Ok((status, render(&p)?).into_response())
    }
}

/// The values of the user form, as entered (kept when the form comes back with errors).
#[derive(Deserialize, Default, Clone)]
pub struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role_id: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    disabled: Option<String>,
    #[serde(default)]
    version: i32,
}

impl From<User> for UserForm {
    /// The form filled with the account as stored (the password field stays empty).
    fn from(u: User) -> Self {
        Self {
            username: u.username,
            display_name: u.display_name,
            email: u.email.unwrap_or_default(),
            role_id: u.role_id.to_string(),
            password: String::new(),
            disabled: u.disabled.then(|| "on".to_owned()),
            version: u.version,
        }
    }
}

#[derive(Template)]
#[template(path = "users/form.html")]
struct FormPage {
    c: Chrome,
    id: Option<i64>,
    f: UserForm,
    roles: Vec<Opt>,
    errors: FormErrors,
    saved: bool,
}

async fn form_page(
    state: &AppState,
    held: &Authority,
    c: Chrome,
    id: Option<i64>,
    f: UserForm,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let status = errors.status();
    let roles = role_options(state, &c, &f.role_id, Some(held)).await?;
    let p = FormPage {
        c,
        id,
        roles,
        f,
        errors,
        saved,
    };
    Ok((status, render(&p)?).into_response())
}

async fn new_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Users>,
) -> Result<Response, PageError> {
    form_page(
        &state,
        &user.authority(),
        Chrome::new(&ctx, "/users"),
        None,
        UserForm::default(),
        FormErrors::default(),
        false,
    )
    .await
}

/// The role field as entered; empty or not a number is "required".
fn role_id(f: &UserForm) -> Option<i64> {
    f.role_id.trim().parse::<i64>().ok()
}

async fn create(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Users>,
    CsrfForm(f): CsrfForm<UserForm>,
) -> Result<Response, PageError> {
    let (st, actor, held) = (&state, ctx.actor(), user.authority());
    form::submit(
        ctx.tr,
        NewAccount::parse(
            &f.username,
            &f.display_name,
            &f.email,
            role_id(&f),
            &f.password,
        ),
        |a| async move { st.store.users.create_account(a, &actor).await },
        |u| format!("/users/{}", u.id),
        |errors| async move {
            // The password is never sent back.
            let f = UserForm {
                password: String::new(),
                ..f
            };
            let c = Chrome::new(&ctx, "/users");
            form_page(st, &held, c, None, f, errors, false).await
        },
    )
    .await
}

async fn edit_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Users>,
    Path(id): Path<i64>,
    Query(q): Query<crate::pages::SavedQuery>,
) -> Result<Response, PageError> {
    let u = state.store.users.get(id).await?;
    let f = UserForm::from(u);
    form_page(
        &state,
        &user.authority(),
        Chrome::new(&ctx, "/users"),
        Some(id),
        f,
        FormErrors::default(),
        q.saved.is_some(),
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Users>,
    Path(id): Path<i64>,
    form::EditForm(f, versions): form::EditForm<UserForm>,
) -> Result<Response, PageError> {
    let current = state.store.users.get(id).await?;
    let edited = EditedAccount {
        role_id: current.role_id,
        is_self: id == user.user_id,
    };
    let (st, actor, held, tr) = (&state, ctx.actor(), user.authority(), ctx.tr);
    let edit = form::Edit {
        versions,
        mine: compared(&f),
        stored: || stored(st, tr, id),
    };
    form::submit_edit(
        ctx.tr,
        edit,
        AccountChanges::parse(
            &f.display_name,
            &f.email,
            role_id(&f),
            f.disabled.is_some(),
            edited,
        ),
        |a, version| async move { st.store.users.apply_changes(id, a, version, &actor).await },
        |_| format!("/users/{id}"),
        |errors| async move {
            let f = UserForm {
                username: current.username,
                ..f
            };
            let c = Chrome::new(&ctx, "/users");
            form_page(st, &held, c, Some(id), f, errors, false).await
        },
    )
    .await
}

/// The fields of the user form a version conflict compares, as their inputs carry them.
fn compared(f: &UserForm) -> Vec<(&'static str, String)> {
    vec![
        ("display_name", f.display_name.clone()),
        ("email", f.email.clone()),
        ("role_id", f.role_id.clone()),
        ("disabled", f.disabled.clone().unwrap_or_default()),
    ]
}

/// User `id` as stored now, for a version conflict: the role by its name, the disabled box as
/// the account's status.
async fn stored(state: &AppState, tr: Tr, id: i64) -> Result<form::Stored, AppError> {
    let u = state.store.users.get(id).await?;
    let last = state.store.users.last_change(id).await?;
    let (version, role) = (u.version, crate::views::role_label(&tr, &u.role_name));
    let status = tr.t(if u.disabled {
        "status-disabled"
    } else {
        "status-active"
    });
    let values = compared(&UserForm::from(u));
    let fields = values
        .into_iter()
        .map(|(field, value)| match field {
            "role_id" => form::StoredField::labelled(field, value, role.clone()),
            "disabled" => form::StoredField::labelled(field, value, status.clone()),
            _ => form::StoredField::text(field, value),
        })
        .collect();
    Ok(form::Stored {
        version,
        last,
        fields,
    })
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Users>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ResetForm>,
) -> Result<Response, PageError> {
    let (st, actor, held) = (&state, ctx.actor(), user.authority());
    form::submit(
        ctx.tr,
        NewPassword::parse("password", &f.password).map_err(DomainError::from),
        |p| async move {
            let hash = crate::passwords::hash(p.expose()).await?;
            st.store.users.reset_password(id, &hash, &actor).await?;
            Ok::<_, AppError>(())
        },
        |()| format!("/users/{id}"),
        |errors| async move {
            let u = st.store.users.get(id).await?;
            let c = Chrome::new(&ctx, "/users");
            form_page(st, &held, c, Some(id), UserForm::from(u), errors, false).await
        },
    )
    .await
}

/// The roles to pick from. With `held` (a form), only roles whose rights the editor holds are
/// offered (and the current one, so the form shows the truth); the store refuses others anyway.
async fn role_options(
    state: &AppState,
    c: &Chrome,
    current: &str,
    held: Option<&Authority>,
) -> Result<Vec<Opt>, PageError> {
    let roles = state.store.roles.list().await?;
    Ok(Opt::list(
        roles
            .into_iter()
            .filter(|r| {
                held.is_none_or(|h| h.covers(&r.authority()) || r.role.id.to_string() == current)
            })
            .map(|r| (r.role.id, c.role(&r.role.name))),
        current,
    ))
}
