//! A record page's action forms (assign, record a result, hand in, close …): each posts to its
//! own route and comes back — saved: to the page, saying so; a field error (422), the
//! workflow's refusal (409, its reason at the top), a stale version (409) or a policy's
//! refusal (403): the page again, with that form's entries and message.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use axum::response::Response;
use kehu_domain::DomainError;
use kehu_store::StoreResult;
use serde::Deserialize;

use crate::error::PageError;
use crate::form;
use crate::i18n::Tr;
use crate::views::FormErrors;

/// The version an action form read (none: the one the store reads in its transaction).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Versioned {
    pub version: String,
}

impl Versioned {
    pub fn version(&self) -> Option<i32> {
        self.version.trim().parse().ok()
    }
}

/// Runs an action form: `parsed` saved by `save`, then to `to` saying saved; otherwise the
/// page again from `again` with the form's errors, at the status they call for.
pub async fn act<I, T, Again>(
    tr: Tr,
    parsed: Result<I, DomainError>,
    save: impl AsyncFnOnce(I) -> StoreResult<T>,
    to: String,
    again: impl FnOnce(FormErrors) -> Again,
) -> Result<Response, PageError>
where
    Again: Future<Output = Result<Response, PageError>>,
{
    let refusal = AtomicBool::new(false);
    let r = &refusal;
    let mut resp = form::submit(
        tr,
        parsed,
        |i| save(i),
        |_| to,
        |errors: FormErrors| async move {
            // Only a message about the whole form, no field: the workflow said no.
            let refused = errors.form.is_some() && errors.fields.is_empty();
            r.store(
                refused && !errors.stale && !errors.refused,
                Ordering::Relaxed,
            );
            again(errors).await
        },
    )
    .await?;
    if refusal.load(Ordering::Relaxed) {
        *resp.status_mut() = StatusCode::CONFLICT;
    }
    Ok(resp)
}
