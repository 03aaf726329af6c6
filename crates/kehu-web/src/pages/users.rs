//! User administration (用户管理): list, create, edit, reset password, disable.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_domain::Right;
use kehu_domain::policy::Authority;
use kehu_domain::user::{AccountChanges, EditedAccount, NewAccount, NewPassword};
use kehu_store::users::{User, UserFilter, UserSort};
use serde::Deserialize;

use crate::api::users::{apply_changes, create_account};
use crate::app::AppState;
use crate::context::{CsrfForm, PageUser};
use crate::error::{AppError, PageError};
use crate::listing::{Column, Empty, ListParams, ListState, ListView};
use crate::pages::opt_i64;
use crate::views::{Chrome, FormErrors, Opt, render, when};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
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
    pub role_name: String,
    pub disabled: bool,
    pub last_login: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    q: String,
    roles: Vec<Opt>,
    l: ListView,
}

/// The users list's columns, in order.
const COLUMNS: &[Column<UserSort>] = &[
    Column::Sorted(UserSort::Username, "field-username"),
    Column::Sorted(UserSort::DisplayName, "field-display-name"),
    Column::Plain("field-role"),
    Column::Plain("col-status"),
    Column::Sorted(UserSort::LastLogin, "col-last-login"),
    Column::Sorted(UserSort::Created, "col-created"),
];

async fn list(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    user.require(Right::SystemUsers)?;
    let at = ListState::<UserSort>::new(
        "/users",
        &q.list,
        &[("q", q.q.as_deref()), ("role", q.role.as_deref())],
    );
    let filter = UserFilter {
        q: q.q.clone().filter(|s| !s.trim().is_empty()),
        role_id: opt_i64(&q.role),
    };
    let listing = state.store.users.list(&filter, at.request()).await?;
    let c = Chrome::new(&ctx, "/users");
    let empty = Empty {
        filtered: "users-empty-filtered",
        none: "users-empty",
        action: Some(("users-new", "/users/new")),
    };
    let l = at.view(&c.tr, &listing, COLUMNS, empty);
    let rows = listing
        .items
        .iter()
        .map(|u| Row {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role_name: c.role(&u.role_name),
            disabled: u.disabled,
            last_login: u.last_login_at.map(|t| when(&c.tr, &t)).unwrap_or_default(),
            created: when(&c.tr, &u.created_at),
        })
        .collect();
    let p = ListPage {
        rows,
        roles: role_options(&state, &c, &q.role.clone().unwrap_or_default(), None).await?,
        q: q.q.unwrap_or_default(),
        l,
        c,
    };
    Ok(render(&p)?.into_response())
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
    PageUser { user, ctx }: PageUser,
) -> Result<Response, PageError> {
    user.require(Right::SystemUsers)?;
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
    PageUser { user, ctx }: PageUser,
    CsrfForm(f): CsrfForm<UserForm>,
) -> Result<Response, PageError> {
    user.require(Right::SystemUsers)?;
    let c = Chrome::new(&ctx, "/users");
    let result = match NewAccount::parse(
        &f.username,
        &f.display_name,
        &f.email,
        role_id(&f),
        &f.password,
    ) {
        Ok(a) => create_account(&state, a, &ctx.actor()).await,
        Err(e) => Err(AppError::from(e)),
    };
    match result {
        Ok(u) => Ok(Redirect::to(&format!("/users/{}?saved=1", u.id)).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(&c.tr, e)?;
            let f = UserForm {
                password: String::new(),
                ..f
            };
            form_page(&state, &user.authority(), c, None, f, errors, false).await
        }
    }
}

async fn edit_form(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<crate::pages::SavedQuery>,
) -> Result<Response, PageError> {
    user.require(Right::SystemUsers)?;
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
    PageUser { user, ctx }: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<UserForm>,
) -> Result<Response, PageError> {
    user.require(Right::SystemUsers)?;
    let c = Chrome::new(&ctx, "/users");
    let current = state.store.users.get(id).await?;
    let edited = EditedAccount {
        role_id: current.role_id,
        is_self: id == user.user_id,
    };
    let result = match AccountChanges::parse(
        &f.display_name,
        &f.email,
        role_id(&f),
        f.disabled.is_some(),
        edited,
    ) {
        Ok(a) => apply_changes(&state, id, a, f.version, &ctx.actor()).await,
        Err(e) => Err(AppError::from(e)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}?saved=1")).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(&c.tr, e)?;
            let f = UserForm {
                username: current.username,
                ..f
            };
            form_page(&state, &user.authority(), c, Some(id), f, errors, false).await
        }
    }
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ResetForm>,
) -> Result<Response, PageError> {
    user.require(Right::SystemUsers)?;
    let c = Chrome::new(&ctx, "/users");
    let result = match NewPassword::parse("password", &f.password) {
        Ok(p) => match crate::passwords::hash(p.expose()).await {
            Ok(hash) => state
                .store
                .users
                .reset_password(id, &hash, &ctx.actor())
                .await
                .map_err(AppError::from),
            Err(e) => Err(e),
        },
        Err(e) => Err(AppError::from(kehu_domain::DomainError::from(e))),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/users/{id}?saved=1")).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(&c.tr, e)?;
            let u = state.store.users.get(id).await?;
            let form = UserForm::from(u);
            form_page(&state, &user.authority(), c, Some(id), form, errors, false).await
        }
    }
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
