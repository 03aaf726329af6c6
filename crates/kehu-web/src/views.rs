//! What every page shares: the app frame ([`Chrome`]: logo, header search, the modules'
//! navigation filtered by the user's rights, the user menu with profile, language and
//! sign-out), form errors with their summary ([`FormErrors`]), times in the configured zone
//! ([`when`]), the error page (framed for a signed-in user, stand-alone otherwise), and
//! rendering.

use std::collections::BTreeMap;

use askama::Template;
use axum::response::Html;
use chrono::{DateTime, Offset as _, Utc};
use kehu_domain::{DomainError, FieldError};

use crate::context::Ctx;
use crate::error::{AppError, PageError};
use crate::i18n::{FluentArg, Tr};

/// One navigation entry: a link, or a menu of links (`children`, under `label`).
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    /// The page shown is this entry's (or, for a menu, one of its links').
    pub active: bool,
    pub children: Vec<NavItem>,
}

/// The navigation `user` may open, its menus gathered: consecutive entries of one group
/// become one menu. The entry of the page shown is active: the one whose target is the
/// address itself (`/services?stage=handle`), else the one for the page's `active` path.
fn nav_items(ctx: &Ctx, user: &kehu_domain::Principal, active: &str) -> Vec<NavItem> {
    let allowed: Vec<&crate::nav::NavEntry> = ctx
        .nav
        .iter()
        .filter(|n| n.right.is_none_or(|r| user.can(r)))
        .collect();
    // The address itself, or it with more parameters after the entry's (a page of it).
    let at = |href: &str| {
        ctx.uri == href
            || ctx
                .uri
                .strip_prefix(href)
                .is_some_and(|rest| href.contains('?') && rest.starts_with('&'))
    };
    let exact = allowed.iter().any(|n| at(n.href));
    let link = |n: &crate::nav::NavEntry| NavItem {
        href: n.href,
        label: ctx.tr.t(n.key),
        active: if exact { at(n.href) } else { n.href == active },
        children: Vec::new(),
    };
    let mut out: Vec<NavItem> = Vec::new();
    let mut group: Option<&str> = None;
    for n in allowed {
        match n.group {
            Some(g) if group == Some(g) => {
                if let Some(menu) = out.last_mut() {
                    let l = link(n);
                    menu.active |= l.active;
                    menu.children.push(l);
                }
            }
            Some(g) => {
                let l = link(n);
                out.push(NavItem {
                    href: n.href,
                    label: ctx.tr.t(g),
                    active: l.active,
                    children: vec![l],
                });
            }
            None => out.push(link(n)),
        }
        group = n.group;
    }
    out
}

/// The page frame: who is signed in, what they may open, the form token, the language.
#[derive(Clone)]
pub struct Chrome {
    pub tr: Tr,
    pub user_name: String,
    pub role_name: String,
    pub signed_in: bool,
    /// What the avatar shows: "李娜" for 李娜, "LN" for Li Na.
    pub initials: String,
    /// One of a few avatar colours, the same for a user on every page.
    pub avatar_tone: u8,
    /// The header search box is offered (signed in, no forced password change pending).
    pub search: bool,
    /// What the header search box holds (the search page fills in its query).
    pub search_q: String,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub path: String,
    /// Unread notices (the bell's badge).
    pub notices: u64,
}

/// The form token is a secret: never in logs.
impl std::fmt::Debug for Chrome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chrome")
            .field("tr", &self.tr)
            .field("user_name", &self.user_name)
            .field("role_name", &self.role_name)
            .field("signed_in", &self.signed_in)
            .field("search", &self.search)
            .field("nav", &self.nav)
            .field("csrf", &"***")
            .field("path", &self.path)
            .finish()
    }
}

impl Chrome {
    pub fn new(ctx: &Ctx, active: &str) -> Self {
        let nav = match &ctx.user {
            Some(u) if !u.must_change_password => nav_items(ctx, u, active),
            _ => Vec::new(),
        };
        let user_name = ctx
            .user
            .as_ref()
            .map(|u| u.display_name.clone())
            .unwrap_or_default();
        let username = ctx.user.as_ref().map_or("", |u| u.username.as_str());
        Self {
            tr: ctx.tr,
            initials: initials(&user_name, username),
            avatar_tone: tone(username),
            search: ctx.user.as_ref().is_some_and(|u| !u.must_change_password),
            search_q: String::new(),
            user_name,
            role_name: ctx
                .user
                .as_ref()
                .map(|u| role_label(&ctx.tr, &u.role_name))
                .unwrap_or_default(),
            signed_in: ctx.user.is_some(),
            nav,
            csrf: ctx.csrf(),
            path: ctx.uri.clone(),
            notices: ctx.notices,
        }
    }

    /// The bell's badge: the count, "99+" above the inbox's cap.
    pub fn notices_badge(&self) -> String {
        if self.notices > kehu_store::inbox::UNREAD_CAP {
            format!("{}+", kehu_store::inbox::UNREAD_CAP)
        } else {
            self.notices.to_string()
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// A message with one text argument: `c.t_with("home-greeting", "name", c.user_name)`.
    pub fn t_with(&self, key: &str, name: &'static str, value: &str) -> String {
        self.tr
            .t_args(key, &[(name, FluentArg::Str(value.to_owned()))])
    }

    /// A message with one number argument.
    pub fn t_num(&self, key: &str, name: &'static str, value: i64) -> String {
        self.tr.t_args(key, &[(name, FluentArg::Num(value))])
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

    /// The user menu's note on the time zone: "时间显示为北京时间（Asia/Shanghai）".
    pub fn zone_note(&self) -> String {
        self.tr.t_args(
            "menu-time-zone",
            &[
                ("zone", FluentArg::Str(zone_label(&self.tr, &Utc::now()))),
                ("name", FluentArg::Str(self.tr.zone.name().to_owned())),
            ],
        )
    }
}

/// What an avatar shows: the given name of a Chinese personal name (its last two characters,
/// as Chinese apps do) or the first character of a longer one (系统管理员), the first letters
/// of the first two words of a Latin name, else the user name's first letter.
fn initials(display_name: &str, username: &str) -> String {
    let name = display_name.trim();
    if name.chars().any(is_cjk) {
        let cjk: Vec<char> = name.chars().filter(|c| is_cjk(*c)).collect();
        return match cjk.len() {
            0..=4 => cjk[cjk.len().saturating_sub(2)..].iter().collect(),
            _ => cjk[..1].iter().collect(),
        };
    }
    let letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        username
            .chars()
            .take(1)
            .flat_map(char::to_uppercase)
            .collect()
    } else {
        letters
    }
}

/// One of six avatar colours, picked by the user name.
fn tone(username: &str) -> u8 {
    let sum = username.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    u8::try_from(sum % 6).unwrap_or(0)
}

/// Chinese (and other CJK) characters: the text that takes full-width punctuation.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

/// Field errors of a submitted form, translated, by field name.
///
/// Templates mark an invalid field with `errors.invalid("name")` (red border, `aria-invalid`,
/// `aria-describedby="f-name-error"` on the message) and list every error at the top of the
/// form with links to the fields (`errors.summary(c.tr)`, ids `f-<name>`).
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub fields: BTreeMap<String, String>,
    /// The fields in the order their errors were found (the form's order), for the summary.
    pub order: Vec<String>,
    /// A message about the whole form (conflicts, stale versions, refusals).
    pub form: Option<String>,
    /// The delegation policy refused the change: the form comes back with 403.
    pub refused: bool,
    /// The save met a newer version of the record: the form comes back with 409.
    pub stale: bool,
    /// Someone else saved the record after the form was opened: what they saved where it
    /// differs from the user's entries, and the go-ahead to overwrite it (see
    /// [`crate::form::submit_edit`]).
    pub conflict: Option<Conflict>,
}

/// A save of an edit form that met a newer version of the record. The user's entries stay in
/// the form; the page says who saved the record and when (`notice`), shows beside each field
/// what they saved where it differs from the user's entry (`theirs`, `notes`), and offers a
/// checkbox that lets the next save overwrite `version`.
#[derive(Debug, Clone, Default)]
pub struct Conflict {
    /// Field → the value saved by the other person, as the page shows it (a role's name, not
    /// its id; 已停用 for a ticked box).
    pub theirs: BTreeMap<String, String>,
    /// Field → the sentence shown under it: "王五保存的值：华东区".
    pub notes: BTreeMap<String, String>,
    /// "你打开此表单后，王五于 … 保存了此记录。…"
    pub notice: String,
    /// The version stored now: the confirmation checkbox sends it, so only a save the user
    /// confirmed overwrites it.
    pub version: i32,
    /// The user already ticked the confirmation for this version (the form came back for
    /// another reason, e.g. a field error): the box stays ticked.
    pub confirmed: bool,
}

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    /// The field has an error.
    pub fn invalid(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// What the other person saved in `field`, as the sentence shown under it, when a version
    /// conflict found it different from the user's entry.
    pub fn theirs(&self, field: &str) -> Option<&str> {
        self.conflict
            .as_ref()
            .and_then(|k| k.notes.get(field))
            .map(String::as_str)
    }

    /// The errors in the form's order, each with its field's label, for the error summary.
    pub fn summary(&self, tr: &Tr) -> Vec<ErrorLink> {
        let mut names: Vec<&String> = self
            .order
            .iter()
            .filter(|f| self.fields.contains_key(*f))
            .collect();
        names.extend(self.fields.keys().filter(|f| !self.order.contains(f)));
        names.dedup();
        names
            .into_iter()
            .map(|field| {
                let message = self.fields.get(field).cloned().unwrap_or_default();
                ErrorLink {
                    text: tr.t_args(
                        "form-error-item",
                        &[
                            ("label", FluentArg::Str(field_label(tr, field))),
                            ("message", FluentArg::Str(message)),
                        ],
                    ),
                    field: field.clone(),
                }
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none() && !self.stale && self.conflict.is_none()
    }

    /// 200 for a clean form, 403 when the change was refused, 409 when it met a newer version
    /// of the record, 422 when it comes back with errors to fix.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.refused {
            axum::http::StatusCode::FORBIDDEN
        } else if self.stale {
            axum::http::StatusCode::CONFLICT
        } else if self.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    pub fn from_fields(tr: &Tr, fields: &[FieldError]) -> Self {
        let mut f = BTreeMap::new();
        let mut order = Vec::new();
        for e in fields {
            f.entry(e.field.clone()).or_insert_with(|| {
                order.push(e.field.clone());
                tr.t(&e.code)
            });
        }
        Self {
            fields: f,
            order,
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
                stale: true,
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

/// One entry of a form's error summary: "姓名：必填。", linking to `#f-<field>`.
#[derive(Debug, Clone)]
pub struct ErrorLink {
    pub field: String,
    pub text: String,
}

/// The label of a form field for the error summary: `field-<name>` (underscores as dashes),
/// with the few fields whose label key differs named here. A field of a row of a list in the
/// form, `lines[0].quantity`, is that field's label with the row's number (`field-row`).
pub fn field_label(tr: &Tr, field: &str) -> String {
    if let Some((_, rest)) = field.split_once('[')
        && let Some((i, sub)) = rest.split_once("].")
        && let Ok(i) = i.parse::<i64>()
    {
        let args = [
            ("n", FluentArg::Num(i.saturating_add(1))),
            ("field", FluentArg::Str(field_label(tr, sub))),
        ];
        return tr.t_args("field-row", &args);
    }
    let key = match field {
        "role_id" => "field-role".to_owned(),
        "current" => "field-current-password".to_owned(),
        "new" => "field-new-password".to_owned(),
        "confirm" => "field-confirm-password".to_owned(),
        "expires_days" => "field-token-expires-days".to_owned(),
        "overwrite" => "field-overwrite".to_owned(),
        other => format!("field-{}", other.replace('_', "-")),
    };
    if tr.has(&key) {
        tr.t(&key)
    } else {
        field.to_owned()
    }
}

/// A rendered page at the status its form errors call for (200 without any).
pub fn answer(
    p: &impl Template,
    errors: &FormErrors,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse as _;
    Ok((errors.status(), render(p)?).into_response())
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

/// The error page inside the app frame, for a signed-in user.
#[derive(Template)]
#[template(path = "error_framed.html")]
struct FramedErrorPage<'a> {
    c: Chrome,
    tr: &'a Tr,
    status: u16,
    title: &'a str,
    detail: &'a str,
}

/// An error page: inside the app frame when the request comes from a signed-in user (search,
/// navigation and user menu stay at hand), stand-alone otherwise, e.g. before the requester
/// is known or when the request timed out. It must render even when nothing else works.
pub fn error_page(tr: &Tr, status: u16, title: &str, detail: &str) -> String {
    let signed_in = crate::context::current_ctx().filter(|ctx| ctx.user.is_some());
    if let Some(ctx) = signed_in {
        let framed = FramedErrorPage {
            c: Chrome::new(&ctx, ""),
            tr,
            status,
            title,
            detail,
        }
        .render();
        if let Ok(html) = framed {
            return html;
        }
    }
    ErrorPage {
        tr,
        status,
        title,
        detail,
    }
    .render()
    .unwrap_or_else(|_| format!("{status} {title}"))
}

/// A timestamp as pages show it: in the configured time zone, in both languages, with the
/// zone's label: "2026-11-23 14:05（北京时间）", "2026-11-23 14:05 (UTC+8)".
pub fn when(tr: &Tr, t: &DateTime<Utc>) -> String {
    let local = t.with_timezone(&tr.zone.tz());
    tr.t_fill(
        "time-in-zone",
        &[
            ("time", &local.format("%Y-%m-%d %H:%M").to_string()),
            ("zone", &zone_label(tr, t)),
        ],
    )
}

/// The day of a timestamp in the configured time zone ("2026-11-23"): what pages show of a
/// moment that stands for a day (a last order's date, kept as its midnight there).
pub fn day(tr: &Tr, t: &DateTime<Utc>) -> String {
    t.with_timezone(&tr.zone.tz())
        .format("%Y-%m-%d")
        .to_string()
}

/// The zones on China Standard Time that Chinese calls 北京时间.
const BEIJING_TIME: &[&str] = &[
    "Asia/Shanghai",
    "Asia/Chongqing",
    "Asia/Chungking",
    "Asia/Harbin",
    "PRC",
];

/// The label of the configured zone at `t`: 北京时间 for China Standard Time in Chinese, else
/// the UTC offset then in force ("UTC+8", "UTC+5:45", "UTC-4", "UTC").
pub fn zone_label(tr: &Tr, t: &DateTime<Utc>) -> String {
    if tr.lang == kehu_domain::user::Language::ZhCn && BEIJING_TIME.contains(&tr.zone.name()) {
        return tr.t("zone-beijing");
    }
    let secs = t
        .with_timezone(&tr.zone.tz())
        .offset()
        .fix()
        .local_minus_utc();
    let (sign, secs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    match (h, m) {
        (0, 0) => "UTC".to_owned(),
        (h, 0) => format!("UTC{sign}{h}"),
        (h, m) => format!("UTC{sign}{h}:{m:02}"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TimeZone;
    use kehu_domain::user::Language;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap_or_default()
    }

    #[test]
    fn times_show_in_the_configured_zone_with_its_label_in_both_languages() {
        let t = at("2026-11-23T06:05:00Z");
        let zh = Tr::new(Language::ZhCn);
        let en = Tr::new(Language::En);
        assert_eq!(when(&zh, &t), "2026-11-23 14:05（北京时间）");
        assert_eq!(when(&en, &t), "2026-11-23 14:05 (UTC+8)");
        let ny = zone("America/New_York");
        assert_eq!(when(&zh.in_zone(ny), &t), "2026-11-23 01:05（UTC-5）");
        let summer = at("2026-07-01T06:05:00Z");
        assert_eq!(when(&en.in_zone(ny), &summer), "2026-07-01 02:05 (UTC-4)");
        let kathmandu = zone("Asia/Kathmandu");
        assert_eq!(
            when(&en.in_zone(kathmandu), &t),
            "2026-11-23 11:50 (UTC+5:45)"
        );
        assert_eq!(
            when(&zh.in_zone(zone("UTC")), &t),
            "2026-11-23 06:05（UTC）"
        );
    }

    #[test]
    fn avatars_show_a_chinese_given_name_or_latin_initials() {
        assert_eq!(initials("李娜", "li.na"), "李娜");
        assert_eq!(initials("欧阳娜娜", "ouyang"), "娜娜");
        assert_eq!(initials("王", "wang"), "王");
        assert_eq!(initials("系统管理员", "admin"), "系");
        assert_eq!(initials("Li Na", "li.na"), "LN");
        assert_eq!(initials("administrator", "admin"), "A");
        assert_eq!(initials("  ", "zhang.wei"), "Z");
        assert_eq!(tone("li.na"), tone("li.na"));
        assert!(tone("li.na") < 6);
    }

    #[test]
    fn the_error_summary_lists_fields_in_the_form_order_with_their_labels() {
        let zh = Tr::new(Language::ZhCn);
        let e = FormErrors::from_fields(
            &zh,
            &[
                FieldError::new("username", "err-username-length"),
                FieldError::new("display_name", "err-required"),
                FieldError::new("role_id", "err-required"),
                FieldError::new("display_name", "err-too-long"),
            ],
        );
        let s = e.summary(&zh);
        let fields: Vec<&str> = s.iter().map(|l| l.field.as_str()).collect();
        assert_eq!(fields, ["username", "display_name", "role_id"]);
        assert_eq!(s[1].text, "姓名：必填。");
        assert_eq!(s[2].text, "角色：必填。");
        assert!(e.invalid("role_id") && !e.invalid("email"));
        let en = Tr::new(Language::En);
        let s = FormErrors::from_fields(&en, &[FieldError::new("new", "err-password-short")])
            .summary(&en);
        assert!(s[0].text.starts_with("New password: "), "{}", s[0].text);
    }
}
