//! One path for a submitted form (POST-redirect-GET): parse the input into domain types, save,
//! and redirect to the saved record with `?saved=1`, so reloading the page repeats nothing.
//! When the user can fix what went wrong (invalid or taken values, a stale version, a refusal)
//! the form comes back with the errors beside the user's input, answered 422 (403 for a
//! refusal, 409 for a stale version, as [`FormErrors::status`] says); any other error is the
//! error page.
//!
//! Edit forms go through [`submit_edit`]: when someone else saved the record after the form
//! was opened, the form comes back (409) with the user's entries kept, the other person's
//! values beside the fields where they differ, who saved them and when, and a checkbox; only a
//! save with that box ticked overwrites their version ([`Versions`]).

use std::collections::BTreeMap;
use std::future::Future;

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Redirect, Response};
use kehu_store::LastChange;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::context::{checked_form_body, parse_form};
use crate::error::{AppError, PageError};
use crate::i18n::{FluentArg, Tr};
use crate::views::{Conflict, FormErrors, when};

/// Handles a submitted form: `parsed` is the input parsed into domain types; `save` stores it;
/// `to` names the page to show the saved record on (`?saved=1` is added); `show` renders the
/// form again with the errors (the user's input is what it captured). `show` may answer any
/// status: the answer gets the one the errors call for.
pub async fn submit<I, E, T, SE, Saved, Shown>(
    tr: Tr,
    parsed: Result<I, E>,
    save: impl FnOnce(I) -> Saved,
    to: impl FnOnce(&T) -> String,
    show: impl FnOnce(FormErrors) -> Shown,
) -> Result<Response, PageError>
where
    E: Into<AppError>,
    SE: Into<AppError>,
    Saved: Future<Output = Result<T, SE>>,
    Shown: Future<Output = Result<Response, PageError>>,
{
    let result = match parsed {
        Ok(input) => save(input).await.map_err(Into::into),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(saved) => Ok(Redirect::to(&saved_at(&to(&saved))).into_response()),
        Err(e) => {
            let errors = FormErrors::from_error(&tr, e)?;
            answer(errors, show).await
        }
    }
}

/// The form again with `errors`, at the status they call for.
async fn answer<Shown>(
    errors: FormErrors,
    show: impl FnOnce(FormErrors) -> Shown,
) -> Result<Response, PageError>
where
    Shown: Future<Output = Result<Response, PageError>>,
{
    let status = errors.status();
    let mut resp = show(errors).await?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// What an edit form sends about versions: `version`, the one it was loaded at; after a
/// version conflict also `theirs_version`, the one stored when the conflict was shown, and
/// `overwrite` when the user ticked "我已查看对方的修改，用我的内容覆盖". Templates render the
/// first as a hidden input and the others through `form_conflict.html`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Versions {
    #[serde(default)]
    version: String,
    #[serde(default)]
    theirs_version: String,
    #[serde(default)]
    overwrite: Option<String>,
}

impl Versions {
    /// The versions of a form loaded at `version` (no conflict shown yet).
    pub fn loaded(version: i32) -> Self {
        Self {
            version: version.to_string(),
            ..Self::default()
        }
    }

    /// The version stored when a conflict was shown on this form.
    fn shown(&self) -> Option<i32> {
        self.theirs_version.trim().parse().ok()
    }

    /// The user ticked the box that lets this save overwrite the version shown.
    fn confirmed(&self) -> bool {
        self.overwrite.is_some() && self.shown().is_some()
    }

    /// The version to save at: the newer one the user agreed to overwrite, else the one the
    /// form was loaded at (so a plain re-submit of a stale form stays stale).
    pub fn to_save(&self) -> i32 {
        match self.shown() {
            Some(v) if self.confirmed() => v,
            _ => self.version.trim().parse().unwrap_or(0),
        }
    }
}

/// The body of an edit form: its fields `T` (read like [`crate::context::CsrfForm`], the form
/// token checked) and its [`Versions`].
pub struct EditForm<T>(pub T, pub Versions);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for EditForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = checked_form_body(req, state).await?;
        Ok(EditForm(parse_form(&bytes)?, parse_form(&bytes)?))
    }
}

/// One field of a record as stored: its value as the form's input carries it (compared with
/// the user's entry) and as the page shows it (a role's name for its id, 已停用 for a ticked
/// box).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredField {
    pub field: &'static str,
    pub value: String,
    pub label: String,
}

impl StoredField {
    /// A field shown as it is entered (text, numbers).
    pub fn text(field: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        Self {
            field,
            label: value.clone(),
            value,
        }
    }

    /// A field whose value the page shows by a label (a select, a checkbox, a set of rights).
    pub fn labelled(
        field: &'static str,
        value: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            field,
            value: value.into(),
            label: label.into(),
        }
    }
}

/// The record as stored now, read again when a save met a newer version.
#[derive(Debug, Clone)]
pub struct Stored {
    pub version: i32,
    /// Who saved it last, and when (the store's `last_change`).
    pub last: LastChange,
    pub fields: Vec<StoredField>,
}

/// What [`submit_edit`] needs besides [`submit`]'s arguments: the form's [`Versions`], the
/// user's entries as the inputs carried them (`name` → value, the fields a conflict compares),
/// and how to read the record as stored now.
pub struct Edit<R> {
    pub versions: Versions,
    pub mine: Vec<(&'static str, String)>,
    pub stored: R,
}

/// [`submit`] for a form that edits a versioned record. `save` gets the version to save at
/// ([`Versions::to_save`]). When it meets a newer version, `edit.stored` reads the record
/// again and the form comes back with 409 and a [`Conflict`]: the user's entries kept, the
/// other person's values where they differ, who saved them and when, and a checkbox carrying
/// the version stored now; a save without the box ticked meets the newer version again. A
/// form that comes back for another reason after a conflict was shown keeps showing it.
pub async fn submit_edit<I, E, T, SE, Saved, Shown, R, Read>(
    tr: Tr,
    edit: Edit<R>,
    parsed: Result<I, E>,
    save: impl FnOnce(I, i32) -> Saved,
    to: impl FnOnce(&T) -> String,
    show: impl FnOnce(FormErrors) -> Shown,
) -> Result<Response, PageError>
where
    E: Into<AppError>,
    SE: Into<AppError>,
    Saved: Future<Output = Result<T, SE>>,
    Shown: Future<Output = Result<Response, PageError>>,
    R: FnOnce() -> Read,
    Read: Future<Output = Result<Stored, AppError>>,
{
    let Edit {
        versions,
        mine,
        stored,
    } = edit;
    let result = match parsed {
        Ok(input) => save(input, versions.to_save()).await.map_err(Into::into),
        Err(e) => Err(e.into()),
    };
    let e = match result {
        Ok(saved) => return Ok(Redirect::to(&saved_at(&to(&saved))).into_response()),
        Err(e) => e,
    };
    let mut errors = FormErrors::from_error(&tr, e)?;
    if errors.stale || versions.shown().is_some() {
        let now = stored().await?;
        let confirmed = versions.confirmed() && versions.shown() == Some(now.version);
        if errors.stale {
            // The conflict notice says it all; a box left unticked is said at the box.
            errors.form = None;
            if versions.shown().is_some() && !versions.confirmed() {
                errors
                    .fields
                    .insert("overwrite".into(), tr.t("err-conflict-confirm"));
                errors.order.push("overwrite".into());
            }
        }
        errors.conflict = Some(conflict(&tr, &mine, now, confirmed));
    }
    answer(errors, show).await
}

/// The conflict between the user's entries (`mine`) and the record as stored `now`.
fn conflict(tr: &Tr, mine: &[(&'static str, String)], now: Stored, confirmed: bool) -> Conflict {
    let by = now
        .last
        .by
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| tr.t("conflict-by-system"));
    let mut theirs = BTreeMap::new();
    let mut notes = BTreeMap::new();
    for s in now.fields {
        let differs = mine
            .iter()
            .find(|(f, _)| *f == s.field)
            .is_some_and(|(_, v)| v.trim() != s.value.trim());
        if !differs {
            continue;
        }
        let label = if s.label.trim().is_empty() {
            tr.t("conflict-empty")
        } else {
            s.label
        };
        let note = tr.t_args(
            "conflict-theirs",
            &[
                ("name", FluentArg::Str(by.clone())),
                ("value", FluentArg::Str(label.clone())),
            ],
        );
        notes.insert(s.field.to_owned(), note);
        theirs.insert(s.field.to_owned(), label);
    }
    let key = if theirs.is_empty() {
        "conflict-notice-same"
    } else {
        "conflict-notice"
    };
    let notice = tr.t_args(
        key,
        &[
            ("name", FluentArg::Str(by)),
            ("time", FluentArg::Str(when(tr, &now.last.at))),
        ],
    );
    Conflict {
        theirs,
        notes,
        notice,
        version: now.version,
        confirmed,
    }
}

/// `path` with `saved=1` added to its query: the page then says "saved".
pub fn saved_at(path: &str) -> String {
    // A fragment (`/customers/7#activities`) stays last, where it belongs.
    let (path, fragment) = match path.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (path, String::new()),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}saved=1{fragment}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use axum::http::{StatusCode, header};
    use kehu_domain::policy::Refusal;
    use kehu_domain::{DomainError, FieldError};

    use super::*;

    fn tr() -> Tr {
        Tr::new(kehu_domain::user::Language::En)
    }

    /// What `show` saw, as the test's answer body.
    async fn shown(errors: FormErrors) -> Result<Response, PageError> {
        let fields: Vec<String> = errors.fields.keys().cloned().collect();
        let text = format!("fields={} form={:?}", fields.join(","), errors.form);
        Ok((StatusCode::OK, text).into_response())
    }

    async fn body(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_saved_form_redirects_to_the_record_with_saved() {
        let resp = submit(
            tr(),
            Ok::<_, DomainError>("王芳"),
            |name| async move { Ok::<_, AppError>((7, name)) },
            |(id, _)| format!("/users/{id}"),
            shown,
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers()[header::LOCATION], "/users/7?saved=1");
    }

    #[tokio::test]
    async fn saved_is_added_to_a_path_that_has_a_query() {
        assert_eq!(
            saved_at("/dictionary?kind=region"),
            "/dictionary?kind=region&saved=1"
        );
    }

    #[tokio::test]
    async fn input_that_does_not_parse_is_not_saved_and_comes_back_with_422() {
        let invalid = DomainError::Invalid(vec![FieldError::new("email", "err-email")]);
        let mut saved = false;
        let resp = submit(
            tr(),
            Err::<(), _>(invalid),
            |()| {
                saved = true;
                async { Ok::<_, AppError>(()) }
            },
            |(): &()| String::new(),
            shown,
        )
        .await
        .unwrap();
        assert!(!saved, "an unparsed form was saved");
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body(resp).await.starts_with("fields=email "));
    }

    #[tokio::test]
    async fn a_failed_save_comes_back_with_its_error_and_a_refusal_with_403() {
        let stale = submit(
            tr(),
            Ok::<_, DomainError>(()),
            |()| async { Err::<(), _>(DomainError::StaleVersion) },
            |(): &()| String::new(),
            shown,
        )
        .await
        .unwrap();
        assert_eq!(stale.status(), StatusCode::CONFLICT);
        assert!(body(stale).await.contains("form=Some("));

        let refused = submit(
            tr(),
            Ok::<_, DomainError>(()),
            |()| async { Err::<(), _>(DomainError::Refused(Refusal::TargetOutranks)) },
            |(): &()| String::new(),
            shown,
        )
        .await
        .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn an_error_the_user_cannot_fix_is_the_error_page() {
        let resp = submit(
            tr(),
            Ok::<_, DomainError>(()),
            |()| async { Err::<(), _>(DomainError::NotFound) },
            |(): &()| String::new(),
            shown,
        )
        .await;
        assert!(matches!(
            resp,
            Err(PageError(AppError::Domain(DomainError::NotFound)))
        ));
    }

    /// A form loaded at version 3, sent as the browser would (`theirs` after a conflict).
    fn sent(theirs: Option<i32>, overwrite: bool) -> Versions {
        Versions {
            version: "3".into(),
            theirs_version: theirs.map(|v| v.to_string()).unwrap_or_default(),
            overwrite: overwrite.then(|| "1".into()),
        }
    }

    #[test]
    fn a_form_saves_at_its_loaded_version_until_the_user_confirms_the_newer_one() {
        assert_eq!(Versions::loaded(3).to_save(), 3);
        assert_eq!(sent(None, false).to_save(), 3);
        assert_eq!(
            sent(Some(5), false).to_save(),
            3,
            "unticked: still the old version"
        );
        assert_eq!(
            sent(None, true).to_save(),
            3,
            "a tick without a shown version"
        );
        assert_eq!(sent(Some(5), true).to_save(), 5);
    }

    /// 王五 saved the record at version 5: his values, his name.
    fn wang_wu() -> Stored {
        Stored {
            version: 5,
            last: LastChange {
                at: chrono::DateTime::from_timestamp(1_795_932_300, 0).unwrap(),
                by: Some("王五".into()),
            },
            fields: vec![
                StoredField::text("display_name", "王五改的名字"),
                StoredField::text("email", "same@example.com"),
                StoredField::labelled("role_id", "2", "客户经理"),
                StoredField::labelled("disabled", "", "正常"),
            ],
        }
    }

    /// What the user typed: a new name, the same e-mail, role 3, the box ticked.
    fn mine() -> Vec<(&'static str, String)> {
        vec![
            ("display_name", "我的名字".into()),
            ("email", " same@example.com ".into()),
            ("role_id", "3".into()),
            ("disabled", "on".into()),
        ]
    }

    /// What `show` saw of a conflict, as the test's answer body.
    async fn shown_conflict(errors: FormErrors) -> Result<Response, PageError> {
        let k = errors.conflict.clone().unwrap_or_default();
        let text = format!(
            "theirs={:?} notes={:?} version={} confirmed={} notice={} fields={:?} form={:?}",
            k.theirs, k.notes, k.version, k.confirmed, k.notice, errors.fields, errors.form
        );
        Ok((StatusCode::OK, text).into_response())
    }

    async fn edit_stale(versions: Versions) -> (StatusCode, String, Option<i32>) {
        let zh = Tr::new(kehu_domain::user::Language::ZhCn);
        let mut saved_at = None;
        let resp = submit_edit(
            zh,
            Edit {
                versions,
                mine: mine(),
                stored: || async { Ok(wang_wu()) },
            },
            Ok::<_, DomainError>(()),
            |(), version| {
                saved_at = Some(version);
                async { Err::<(), _>(DomainError::StaleVersion) }
            },
            |(): &()| String::new(),
            shown_conflict,
        )
        .await
        .unwrap();
        let status = resp.status();
        (status, body(resp).await, saved_at)
    }

    #[tokio::test]
    async fn a_stale_edit_comes_back_409_with_the_other_values_where_they_differ() {
        let (status, seen, at) = edit_stale(Versions::loaded(3)).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(at, Some(3));
        // The e-mail is the same (spaces aside): nothing shown beside it.
        assert!(
            seen.contains(
                r#"theirs={"disabled": "正常", "display_name": "王五改的名字", "role_id": "客户经理"}"#
            ),
            "{seen}"
        );
        assert!(seen.contains("王五保存的值：客户经理"), "{seen}");
        assert!(seen.contains("version=5 confirmed=false"), "{seen}");
        assert!(
            seen.contains("王五于 2026-11-29 14:05（北京时间）保存了此记录"),
            "{seen}"
        );
        // The notice replaces the generic "changed by someone" message; no field error yet.
        assert!(seen.ends_with("fields={} form=None"), "{seen}");
    }

    #[tokio::test]
    async fn saving_again_without_the_tick_is_stale_again_and_asks_for_it() {
        let (status, seen, at) = edit_stale(sent(Some(5), false)).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(at, Some(3), "saved at the new version without the tick");
        assert!(
            seen.contains(r#"fields={"overwrite": "请先勾选确认，再保存。"}"#),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn a_confirmed_form_that_comes_back_for_a_field_error_keeps_the_conflict_ticked() {
        let zh = Tr::new(kehu_domain::user::Language::ZhCn);
        let invalid = DomainError::Invalid(vec![FieldError::new("email", "err-email")]);
        let resp = submit_edit(
            zh,
            Edit {
                versions: sent(Some(5), true),
                mine: mine(),
                stored: || async { Ok(wang_wu()) },
            },
            Err::<(), _>(invalid),
            |(), _| async { Ok::<_, AppError>(()) },
            |(): &()| String::new(),
            shown_conflict,
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let seen = body(resp).await;
        assert!(seen.contains("version=5 confirmed=true"), "{seen}");
    }

    #[tokio::test]
    async fn a_confirmed_save_uses_the_newer_version_and_redirects() {
        let mut used = None;
        let resp = submit_edit(
            tr(),
            Edit {
                versions: sent(Some(5), true),
                mine: mine(),
                stored: || async { Ok(wang_wu()) },
            },
            Ok::<_, DomainError>(()),
            |(), version| {
                used = Some(version);
                async { Ok::<_, AppError>(()) }
            },
            |(): &()| "/users/7".to_owned(),
            shown_conflict,
        )
        .await
        .unwrap();
        assert_eq!(used, Some(5));
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers()[header::LOCATION], "/users/7?saved=1");
    }

    #[test]
    fn a_conflict_without_differences_says_so_and_names_the_system_when_no_user_saved() {
        let en = Tr::new(kehu_domain::user::Language::En);
        let mut now = wang_wu();
        now.last.by = None;
        let same: Vec<(&'static str, String)> = now
            .fields
            .iter()
            .map(|f| (f.field, f.value.clone()))
            .collect();
        let k = conflict(&en, &same, now, false);
        assert!(k.theirs.is_empty() && k.notes.is_empty(), "{k:?}");
        assert!(
            k.notice
                .starts_with("System saved this record at 2026-11-29 14:05 (UTC+8)")
                && k.notice
                    .ends_with("the fields here match what you entered."),
            "{}",
            k.notice
        );
    }
}
