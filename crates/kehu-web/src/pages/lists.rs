//! The list kit's own routes (see `crate::listing`): the column chooser's apply, which turns
//! the ticked boxes into `cols=` on the list's address, and deleting one of the user's saved
//! filters. Both work without JS.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::context::{CsrfForm, PageUser};
use crate::error::PageError;
use crate::redirect::safe_path;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/lists/columns", get(columns))
        .route("/saved-filters/{id}/delete", post(delete_saved))
}

/// `?back=/users?role=2&col=username&col=email`: 303 to `/users?role=2&cols=username,email`.
/// `back` must be a path on this site (else the home page); the list ignores unknown keys.
async fn columns(_: PageUser, RawQuery(q): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or_default()).unwrap_or_default();
    let back = pairs
        .iter()
        .find(|(k, _)| k == "back")
        .map(|(_, v)| v.as_str());
    let back = safe_path(back);
    let cols: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "col")
        .map(|(_, v)| v.as_str())
        .collect();
    let cols = serde_urlencoded::to_string([("cols", cols.join(","))]).unwrap_or_default();
    let sep = if back.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{back}{sep}{cols}")).into_response()
}

#[derive(Deserialize, Default)]
struct DeleteForm {
    #[serde(default)]
    back: String,
}

/// Deletes one of the user's own saved filters and goes back to the list; another user's (or
/// none) is 404.
async fn delete_saved(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<DeleteForm>,
) -> Result<Response, PageError> {
    state
        .store
        .saved_filters
        .delete(user.own_records(), id, &ctx.actor())
        .await?;
    Ok(Redirect::to(&safe_path(Some(&f.back))).into_response())
}
