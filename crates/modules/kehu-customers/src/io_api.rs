//! `/api/v1/customers/export`, `/api/v1/contacts/export` and `/api/v1/contacts/import`: the
//! filtered lists as files (CSV, XLSX, vCard 4.0), streamed as they are written, and contacts
//! from a vCard file. Within the caller's data scope, like the lists; rights
//! `customer.export` and `customer.import`.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kehu_domain::DomainError;
use kehu_web::AppState;
use kehu_web::api::{BadRequest, Forbidden, Invalid, NotFound, Query, Unauthenticated};
use kehu_web::error::{ApiError, AppError};
use kehu_web::import::OnDuplicate;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::api::{ContactQuery, CustomerQuery};
use crate::export::{self, ExportError, Format, Sink};
use crate::import::{Context, VcardSummary, import_vcards};
use crate::need;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/customers/export", get(export_customers))
        .route("/api/v1/contacts/export", get(export_contacts))
        // A contact list's cards run past the API's usual megabyte: the handler reads up to
        // the import limit itself.
        .route(
            "/api/v1/contacts/import",
            post(import_contacts).layer(DefaultBodyLimit::disable()),
        )
}

#[derive(OpenApi)]
#[openapi(paths(export_customers, export_contacts, import_contacts))]
pub struct IoApi;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `csv` (UTF-8 with BOM) or `xlsx`; contacts also `vcf` (vCard 4.0).
    #[param(value_type = String, example = "csv")]
    format: Format,
}

fn export_error(e: ExportError) -> ApiError {
    let field = |code: &str| AppError::Domain(DomainError::field("format", code));
    ApiError(match e {
        ExportError::Store(e) => e.into(),
        ExportError::TooManyRows => field("err-export-too-many-rows"),
        ExportError::NoVcard => field("err-export-no-vcard"),
        other => AppError::Internal(anyhow::Error::new(other)),
    })
}

/// The response around a channel of chunks whose first chunk is `first`.
fn file_response(
    format: Format,
    name: &str,
    first: Vec<u8>,
    rest: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> Response {
    let tail = futures_util::stream::unfold(rest, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk.map(Bytes::from), rx))
    });
    let head =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) });
    let body = Body::from_stream(futures_util::StreamExt::chain(head, tail));
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// Starts `job` (an export writing through the sender it is given) and answers once its first
/// bytes or its error are there.
async fn spawn_export(
    format: Format,
    name: &str,
    job: impl Future<Output = Result<u64, ExportError>> + Send + 'static,
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
    err_tx: tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) -> Result<Response, ApiError> {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let result = job.await;
        if let Err(e) = &result {
            // A failure after the first bytes ends the body with an error: the client sees a
            // broken download, never a file that looks whole.
            let _ = err_tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
        let _ = done_tx.send(result);
        drop(err_tx);
    });
    match rx.recv().await {
        Some(Ok(first)) => Ok(file_response(format, name, first, rx)),
        _ => match done_rx.await {
            // Nothing to write (no contacts as vCards): an empty file.
            Ok(Ok(_)) => Ok(file_response(format, name, Vec::new(), rx)),
            Ok(Err(e)) => Err(export_error(e)),
            Err(_) => Err(ApiError(AppError::Internal(anyhow::anyhow!(
                "the export ended early"
            )))),
        },
    }
}

#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers",
    params(FormatQuery, CustomerQuery),
    responses(
        (status = 200, description = "Every customer of the filtered list in the caller's scope, \
            as CSV (UTF-8 with BOM) or XLSX (numbers and dates as such; at most 1,048,575 rows), \
            with the import's column titles; cells that would start a formula begin with `'`. \
            Streamed: CSV is sent as it is read.",
            content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn export_customers(
    State(state): State<AppState>,
    kehu_web::access::Granted { user, ctx, .. }: kehu_web::access::Granted<need::CustomerExport>,
    Query(f): Query<FormatQuery>,
    Query(q): Query<CustomerQuery>,
) -> Result<Response, ApiError> {
    let filter = q.filter(state.config.time_zone)?;
    let store = crate::store(&state);
    let tr = ctx.tr;
    let scope = user.owner_filter();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let err_tx = tx.clone();
    let job = async move {
        let mut sink = Sink::Channel(tx);
        export::customers(&store, scope, &filter, f.format, &tr, &mut sink).await
    };
    spawn_export(f.format, "customers", job, rx, err_tx).await
}

#[utoipa::path(get, path = "/api/v1/contacts/export", tag = "customers",
    params(FormatQuery, ContactQuery),
    responses(
        (status = 200, description = "Every contact of the filtered list in the caller's scope \
            (`customer_id` for one customer's), as vCard 4.0, CSV or XLSX. Streamed.",
            content(("text/vcard"), ("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn export_contacts(
    State(state): State<AppState>,
    kehu_web::access::Granted { user, ctx, .. }: kehu_web::access::Granted<need::CustomerExport>,
    Query(f): Query<FormatQuery>,
    Query(q): Query<ContactQuery>,
) -> Result<Response, ApiError> {
    let filter = q.filter();
    let store = crate::store(&state);
    let tr = ctx.tr;
    let scope = user.owner_filter();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let err_tx = tx.clone();
    let job = async move {
        let mut sink = Sink::Channel(tx);
        export::contacts(&store, scope, &filter, f.format, &tr, &mut sink).await
    };
    spawn_export(f.format, "contacts", job, rx, err_tx).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VcardImportQuery {
    /// The customer the contacts belong to; each card's ORG (the customer's name) when absent.
    #[serde(default, deserialize_with = "kehu_web::api::blank_as_none")]
    customer_id: Option<i64>,
    /// `skip` (the default), `update` or `create`: what a card does that matches a contact of
    /// the customer (same mobile, e-mail or name).
    #[serde(default)]
    #[param(value_type = Option<String>)]
    on_duplicate: OnDuplicate,
}

#[utoipa::path(post, path = "/api/v1/contacts/import", tag = "customers",
    params(VcardImportQuery),
    request_body(content = String, content_type = "text/vcard",
        description = "A .vcf file: vCard 2.1, 3.0 or 4.0, UTF-8 or GB18030, up to the import limit (`import_max_mb`; larger is 400 `body_too_large`)"),
    responses(
        (status = 200, description = "What became of the cards", body = VcardSummary),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn import_contacts(
    State(state): State<AppState>,
    kehu_web::access::Granted { user, ctx, .. }: kehu_web::access::Granted<need::CustomerImport>,
    Query(q): Query<VcardImportQuery>,
    body: Body,
) -> Result<axum::Json<VcardSummary>, ApiError> {
    let max = usize::try_from(state.config.import_max_mb.saturating_mul(1024 * 1024))
        .unwrap_or(usize::MAX);
    let body = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| ApiError(AppError::bad_request("body_too_large", "")))?;
    let store = crate::store(&state);
    let scope = user.owner_filter();
    let customer = match q.customer_id {
        Some(id) => Some(store.get(scope, id).await?.code),
        None => None,
    };
    let file = tokio::task::spawn_blocking(move || kehu_io::vcard::read_vcards(&body))
        .await
        .map_err(|e| ApiError(AppError::Internal(anyhow::anyhow!("reading vCards: {e}"))))?;
    let cx = Context::load(&store, scope, ctx.actor(), user.user_id).await?;
    let summary = import_vcards(&store, cx, &file, customer.as_deref(), q.on_duplicate).await?;
    Ok(axum::Json(summary))
}
