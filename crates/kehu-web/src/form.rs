//! One path for a submitted form (POST-redirect-GET): parse the input into domain types, save,
//! and redirect to the saved record with `?saved=1`, so reloading the page repeats nothing.
//! When the user can fix what went wrong (invalid or taken values, a stale version, a refusal)
//! the form comes back with the errors beside the user's input, answered 422 (403 for a
//! refusal, as [`FormErrors::status`] says); any other error is the error page.

use std::future::Future;

use axum::response::{IntoResponse, Redirect, Response};

use crate::error::{AppError, PageError};
use crate::i18n::Tr;
use crate::views::FormErrors;

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
            let status = errors.status();
            let mut resp = show(errors).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

/// `path` with `saved=1` added to its query: the page then says "saved".
pub fn saved_at(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}saved=1")
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
        assert_eq!(stale.status(), StatusCode::UNPROCESSABLE_ENTITY);
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
}
