//! Role administration (角色管理): tick rights, choose the data scope.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kehu_domain::policy::Authority;
use kehu_domain::{DataScope, DomainError, Right};
use kehu_store::roles::{RoleDetail, RoleInput};

use crate::access::{PageGranted, need};
use crate::context::CsrfForm;
use crate::error::{AppError, PageError};
use crate::form;
use crate::i18n::{FluentArg, Tr};
use crate::state::AppState;
use crate::views::{Chrome, FormErrors, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roles", get(list).post(create))
        .route("/roles/new", get(new_form))
        .route("/roles/{id}", get(edit_form).post(update))
        .route("/roles/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "roles/list.html")]
struct ListPage {
    c: Chrome,
    roles: Vec<RoleDetail>,
}

async fn list(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::Roles>,
) -> Result<Response, PageError> {
    let p = ListPage {
        c: Chrome::new(&ctx, "/roles"),
        roles: state.store.roles.list().await?,
    };
    Ok(render(&p)?.into_response())
}

/// One checkbox of the rights grid.
pub struct RightBox {
    pub code: &'static str,
    pub label: String,
    pub checked: bool,
    /// The editor holds this right and so may grant it; others are shown but disabled.
    pub held: bool,
}

/// The rights of one product module.
pub struct RightGroup {
    pub label: String,
    pub rights: Vec<RightBox>,
}

fn groups(tr: &Tr, checked: &[String], held: &Authority) -> Vec<RightGroup> {
    Right::MODULES
        .iter()
        .map(|m| RightGroup {
            label: tr.t(&format!("module-{m}")),
            rights: Right::ALL
                .iter()
                .filter(|r| r.module() == *m)
                .map(|r| RightBox {
                    code: r.code(),
                    label: tr.t(&r.label_key()),
                    checked: checked.iter().any(|c| c == r.code()),
                    held: held.rights.contains(r),
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "roles/form.html")]
struct FormPage {
    c: Chrome,
    id: Option<i64>,
    name: String,
    description: String,
    scope: String,
    version: i32,
    is_admin: bool,
    builtin: bool,
    users: i64,
    groups: Vec<RightGroup>,
    /// The editor sees every record and so may give a role the `all` scope.
    scope_all_held: bool,
    errors: FormErrors,
    saved: bool,
}

struct Values {
    name: String,
    description: String,
    scope: String,
    rights: Vec<String>,
    version: i32,
}

impl Values {
    /// Repeated `rights` keys come from the checkbox grid, so the form is read as pairs.
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Self {
            name: get("name"),
            description: get("description"),
            scope: get("scope"),
            rights: pairs
                .iter()
                .filter(|(n, _)| n == "rights")
                .map(|(_, v)| v.clone())
                .collect(),
            version: get("version").parse().unwrap_or(0),
        }
    }

    fn parse(&self) -> Result<RoleInput, DomainError> {
        RoleInput::parse(&self.name, &self.description, &self.scope, &self.rights)
    }
}

#[allow(clippy::too_many_arguments, reason = "a form page is its fields")]
fn form_page(
    held: &Authority,
    c: Chrome,
    id: Option<i64>,
    v: &Values,
    detail: Option<&RoleDetail>,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let status = errors.status();
    let p = FormPage {
        groups: groups(&c.tr, &v.rights, held),
        scope_all_held: held.scope == DataScope::All,
        id,
        name: v.name.clone(),
        description: v.description.clone(),
        scope: v.scope.clone(),
        version: v.version,
        is_admin: detail.is_some_and(|d| d.role.is_admin()),
        builtin: detail.is_some_and(|d| d.role.builtin),
        users: detail.map_or(0, |d| d.users),
        errors,
        saved,
        c,
    };
    Ok((status, render(&p)?).into_response())
}

async fn new_form(
    PageGranted { user, ctx, .. }: PageGranted<need::Roles>,
) -> Result<Response, PageError> {
    let v = Values {
        name: String::new(),
        description: String::new(),
        scope: "own".into(),
        rights: Vec::new(),
        version: 0,
    };
    form_page(
        &user.authority(),
        Chrome::new(&ctx, "/roles"),
        None,
        &v,
        None,
        FormErrors::default(),
        false,
    )
}

async fn create(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Roles>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (st, actor) = (&state, ctx.actor());
    let v = Values::from_pairs(&pairs);
    form::submit(
        ctx.tr,
        v.parse(),
        |input| async move { st.store.roles.create(&input, &actor).await },
        |d| format!("/roles/{}", d.role.id),
        |errors| async move {
            let c = Chrome::new(&ctx, "/roles");
            form_page(&user.authority(), c, None, &v, None, errors, false)
        },
    )
    .await
}

async fn edit_form(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Roles>,
    Path(id): Path<i64>,
    Query(q): Query<crate::pages::SavedQuery>,
) -> Result<Response, PageError> {
    let d = state.store.roles.get(id).await?;
    let v = Values {
        name: d.role.name.clone(),
        description: d.role.description.clone().unwrap_or_default(),
        scope: d.role.data_scope.clone(),
        rights: d.rights.clone(),
        version: d.role.version,
    };
    form_page(
        &user.authority(),
        Chrome::new(&ctx, "/roles"),
        Some(id),
        &v,
        Some(&d),
        FormErrors::default(),
        q.saved.is_some(),
    )
}

async fn update(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Roles>,
    Path(id): Path<i64>,
    form::EditForm(pairs, versions): form::EditForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let d = state.store.roles.get(id).await?;
    let (st, actor, tr) = (&state, ctx.actor(), ctx.tr);
    let v = Values::from_pairs(&pairs);
    let is_admin = d.role.is_admin();
    let edit = form::Edit {
        versions,
        mine: compared(&v, is_admin),
        stored: || stored(st, tr, id, &v),
    };
    form::submit_edit(
        ctx.tr,
        edit,
        v.parse(),
        |input, version| async move { st.store.roles.update(id, &input, version, &actor).await },
        |_| format!("/roles/{id}"),
        |errors| async {
            let c = Chrome::new(&ctx, "/roles");
            form_page(&user.authority(), c, Some(id), &v, Some(&d), errors, false)
        },
    )
    .await
}

/// The fields of the role form a version conflict compares, as the inputs carry them; the
/// rights as their sorted codes. The administrator role's scope and rights are fixed, so only
/// its name and description are compared.
fn compared(v: &Values, is_admin: bool) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("name", v.name.clone()),
        ("description", v.description.clone()),
    ];
    if !is_admin {
        let mut rights = v.rights.clone();
        rights.sort();
        rights.dedup();
        fields.push(("scope", v.scope.clone()));
        fields.push(("rights", rights.join(",")));
    }
    fields
}

/// Role `id` as stored now, for a version conflict: the scope by its label, the rights as
/// what the other person's set has and lacks compared with the user's (`mine`).
async fn stored(
    state: &AppState,
    tr: Tr,
    id: i64,
    mine: &Values,
) -> Result<form::Stored, AppError> {
    let d = state.store.roles.get(id).await?;
    let last = state.store.roles.last_change(id).await?;
    let theirs = Values {
        name: d.role.name.clone(),
        description: d.role.description.clone().unwrap_or_default(),
        scope: d.role.data_scope.clone(),
        rights: d.rights.clone(),
        version: d.role.version,
    };
    let fields = compared(&theirs, d.role.is_admin())
        .into_iter()
        .map(|(field, value)| match field {
            "scope" => {
                let label = tr.t(&format!("scope-{value}"));
                form::StoredField::labelled(field, value, label)
            }
            "rights" => {
                let label = rights_difference(&tr, &theirs.rights, &mine.rights);
                form::StoredField::labelled(field, value, label)
            }
            _ => form::StoredField::text(field, value),
        })
        .collect();
    Ok(form::Stored {
        version: d.role.version,
        last,
        fields,
    })
}

/// What the rights `theirs` hold and lack compared with `mine`, by label: "另有 查看报表；没有
/// 删除客户".
fn rights_difference(tr: &Tr, theirs: &[String], mine: &[String]) -> String {
    let labels = |from: &[String], without: &[String]| -> Vec<String> {
        Right::ALL
            .iter()
            .filter(|r| {
                from.iter().any(|c| c == r.code()) && !without.iter().any(|c| c == r.code())
            })
            .map(|r| tr.t(&r.label_key()))
            .collect()
    };
    let list = tr.t("search-list-separator");
    let mut parts = Vec::new();
    for (key, rights) in [
        ("conflict-rights-more", labels(theirs, mine)),
        ("conflict-rights-fewer", labels(mine, theirs)),
    ] {
        if !rights.is_empty() {
            let arg = FluentArg::Str(rights.join(&list));
            parts.push(tr.t_args(key, &[("rights", arg)]));
        }
    }
    parts.join(&tr.t("conflict-rights-separator"))
}

async fn delete(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Roles>,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (st, actor) = (&state, ctx.actor());
    let version = Values::from_pairs(&pairs).version;
    form::submit(
        ctx.tr,
        Ok::<_, AppError>(()),
        |()| async move { st.store.roles.delete(id, version, &actor).await },
        |()| "/roles".to_owned(),
        |errors| async move {
            // The role as stored now, with why it was not deleted.
            let d = st.store.roles.get(id).await?;
            let v = Values {
                name: d.role.name.clone(),
                description: d.role.description.clone().unwrap_or_default(),
                scope: d.role.data_scope.clone(),
                rights: d.rights.clone(),
                version: d.role.version,
            };
            let c = Chrome::new(&ctx, "/roles");
            form_page(&user.authority(), c, Some(id), &v, Some(&d), errors, false)
        },
    )
    .await
}
