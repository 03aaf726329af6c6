//! What every page shares: the chrome (the modules' navigation filtered by the user's rights,
//! language switch, sign-out), form error lists, and rendering.

use std::collections::BTreeMap;

use askama::Template;
use axum::response::Html;
use kehu_domain::{DomainError, FieldError};

use crate::context::Ctx;
use crate::error::{AppError, PageError};
use crate::i18n::Tr;

/// One navigation entry.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub active: bool,
}

/// The page frame: who is signed in, what they may open, the form token, the language.
#[derive(Clone)]
pub struct Chrome {
    pub tr: Tr,
    pub user_name: String,
    pub role_name: String,
    pub signed_in: bool,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub path: String,
}

/// The form token is a secret: never in logs.
impl std::fmt::Debug for Chrome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chrome")
            .field("tr", &self.tr)
            .field("user_name", &self.user_name)
            .field("role_name", &self.role_name)
            .field("signed_in", &self.signed_in)
            .field("nav", &self.nav)
            .field("csrf", &"***")
            .field("path", &self.path)
            .finish()
    }
}

impl Chrome {
    pub fn new(ctx: &Ctx, active: &str) -> Self {
        let nav = match &ctx.user {
            Some(u) if !u.must_change_password => ctx
                .nav
                .iter()
                .filter(|n| n.right.is_none_or(|r| u.can(r)))
                .map(|n| NavItem {
                    href: n.href,
                    label: ctx.tr.t(n.key),
                    active: n.href == active,
                })
                .collect(),
            _ => Vec::new(),
        };
        Self {
            tr: ctx.tr,
            user_name: ctx
                .user
                .as_ref()
                .map(|u| u.display_name.clone())
                .unwrap_or_default(),
            role_name: ctx
                .user
                .as_ref()
                .map(|u| role_label(&ctx.tr, &u.role_name))
                .unwrap_or_default(),
            signed_in: ctx.user.is_some(),
            nav,
            csrf: ctx.csrf(),
            path: ctx.uri.clone(),
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// A role's name in the page's language (see [`role_label`]).
    pub fn role(&self, name: &str) -> String {
        role_label(&self.tr, name)
    }

    /// The language to switch to, for the header button.
    pub fn other_lang(&self) -> &'static str {
        match self.tr.lang {
            kehu_domain::user::Language::ZhCn => "en",
            kehu_domain::user::Language::En => "zh-CN",
        }
    }
}

/// Field errors of a submitted form, translated, by field name.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub fields: BTreeMap<String, String>,
    /// A message about the whole form (conflicts, stale versions, refusals).
    pub form: Option<String>,
    /// The delegation policy refused the change: the form comes back with 403.
    pub refused: bool,
}

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    /// 200 for a clean form, 403 when the change was refused, 422 when it comes back with
    /// errors to fix.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.refused {
            axum::http::StatusCode::FORBIDDEN
        } else if self.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    pub fn from_fields(tr: &Tr, fields: &[FieldError]) -> Self {
        let mut f = BTreeMap::new();
        for e in fields {
            f.entry(e.field.clone()).or_insert_with(|| tr.t(&e.code));
        }
        Self {
            fields: f,
            ..Self::default()
        }
    }

    /// Turns a use-case error into form errors when the user can fix it by editing the form;
    /// anything else stays an error page.
    pub fn from_error(tr: &Tr, e: AppError) -> Result<Self, PageError> {
        match e {
            AppError::Domain(DomainError::Invalid(fields)) => Ok(Self::from_fields(tr, &fields)),
            AppError::Domain(DomainError::Conflict(f)) => Ok(Self::from_fields(tr, &[f])),
            AppError::Domain(DomainError::StaleVersion) => Ok(Self {
                form: Some(tr.t("problem-stale-detail")),
                ..Self::default()
            }),
            AppError::Domain(DomainError::NotAllowed(key)) => Ok(Self {
                form: Some(tr.t(key)),
                ..Self::default()
            }),
            e @ AppError::Domain(DomainError::Refused(_)) => Ok(Self {
                form: Some(e.detail(tr)),
                refused: true,
                ..Self::default()
            }),
            other => Err(PageError(other)),
        }
    }
}

pub fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render().map(Html).map_err(|e| {
        PageError(AppError::Internal(
            anyhow::Error::new(e).context("rendering"),
        ))
    })
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    tr: &'a Tr,
    status: u16,
    title: &'a str,
    detail: &'a str,
}

/// A stand-alone error page (it must render even when nothing else works).
pub fn error_page(tr: &Tr, status: u16, title: &str, detail: &str) -> String {
    ErrorPage {
        tr,
        status,
        title,
        detail,
    }
    .render()
    .unwrap_or_else(|_| format!("{status} {title}"))
}

/// Formats a timestamp for lists, in China Standard Time for zh-CN and UTC otherwise.
pub fn when(tr: &Tr, t: &chrono::DateTime<chrono::Utc>) -> String {
    match tr.lang {
        kehu_domain::user::Language::ZhCn => {
            let cst = chrono::FixedOffset::east_opt(8 * 3600);
            match cst {
                Some(z) => t.with_timezone(&z).format("%Y-%m-%d %H:%M").to_string(),
                None => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            }
        }
        kehu_domain::user::Language::En => t.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// One `<option>` of a select.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    /// Options from (value, label) pairs, marking the one equal to `current`.
    pub fn list<V: ToString, L: ToString>(
        items: impl IntoIterator<Item = (V, L)>,
        current: &str,
    ) -> Vec<Opt> {
        items
            .into_iter()
            .map(|(v, l)| {
                let value = v.to_string();
                Opt {
                    selected: value == current,
                    value,
                    label: l.to_string(),
                }
            })
            .collect()
    }
}

/// A role's name for display: the built-in roles keep their English names in the English UI
/// unless an administrator renamed them; other roles show the name they were given.
pub fn role_label(tr: &Tr, name: &str) -> String {
    match tr.lang {
        kehu_domain::user::Language::En => kehu_domain::rights::BUILTIN_ROLES
            .iter()
            .find(|r| r.name_zh == name)
            .map_or_else(|| name.to_owned(), |r| r.name_en.to_owned()),
        kehu_domain::user::Language::ZhCn => name.to_owned(),
    }
}
