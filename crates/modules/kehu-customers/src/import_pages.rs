//! The import page (客户管理 › 导入, right `customer.import`): upload a CSV or XLSX file
//! (streamed to a temporary file, at most `import_max_mb`; larger is 413 before it is kept),
//! check the mapping (the detected format and encoding, each field's column, changeable, and
//! a preview of the first rows with their errors), then run it in the background with its
//! progress on the page (a meta refresh, and a small script polling the status), the summary
//! and the rejected rows' file to download.
//!
//! Running imports live in this process's memory (`JOBS`): a restart forgets them, while
//! every batch they committed stays (importing the file again skips those rows).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_io::FieldSpec;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::{CsrfForm, Ctx};
use kehu_web::error::{AppError, PageError};
use kehu_web::i18n::Tr;
use kehu_web::import::{ImportOptions, OnDuplicate, PreviewRow, Progress, Summary};
use kehu_web::views::{Chrome, render};
use tokio::io::AsyncWriteExt;

use crate::import::{self, ContactImport, Context, CustomerImport, Kind};
use crate::need;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/customers/import",
            get(upload_page)
                .post(upload)
                // The upload is read as a stream and limited by `import_max_mb` here.
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/customers/import/{job}", get(job_page))
        .route("/customers/import/{job}/start", post(start))
        .route("/customers/import/{job}/status", get(status))
        .route("/customers/import/{job}/rejects", get(rejects))
}

/// Where an import stands.
#[derive(Debug, Clone)]
enum Phase {
    Uploaded,
    Running(Progress),
    Done(Summary),
    Failed(String),
}

struct Job {
    user_id: i64,
    kind: Kind,
    on_duplicate: OnDuplicate,
    file_name: String,
    /// Holds the upload and the rejects file; removed with the job.
    dir: tempfile::TempDir,
    phase: Phase,
}

impl Job {
    fn file(&self) -> PathBuf {
        self.dir.path().join("upload")
    }

    fn rejects(&self) -> PathBuf {
        self.dir.path().join("rejects.csv")
    }
}

static JOBS: LazyLock<Mutex<HashMap<String, Arc<Mutex<Job>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The user's job `id`; another user's, or none, is not found.
fn job(id: &str, user_id: i64) -> Result<Arc<Mutex<Job>>, PageError> {
    let jobs = lock(&JOBS);
    match jobs.get(id) {
        Some(j) if lock(j).user_id == user_id => Ok(j.clone()),
        _ => Err(PageError(AppError::NotFound)),
    }
}

fn kind_of(code: &str) -> Option<Kind> {
    match code {
        "customers" => Some(Kind::Customers),
        "contacts" => Some(Kind::Contacts),
        _ => None,
    }
}

fn fields(kind: Kind) -> Vec<FieldSpec> {
    match kind {
        Kind::Customers => import::customer_fields(),
        Kind::Contacts => import::contact_fields(),
    }
}

#[derive(Template)]
#[template(path = "customers/import.html")]
struct UploadPage {
    c: Chrome,
    max_mb: u64,
    error: Option<String>,
}

async fn upload_page(
    State(state): State<AppState>,
    PageGranted { ctx, .. }: PageGranted<need::CustomerImport>,
) -> Result<Response, PageError> {
    let p = UploadPage {
        c: Chrome::new(&ctx, "/customers"),
        max_mb: state.config.import_max_mb,
        error: None,
    };
    Ok(render(&p)?.into_response())
}

/// The upload page again with an error, answered with `status`.
fn upload_error(
    ctx: &Ctx,
    state: &AppState,
    status: StatusCode,
    key: &str,
) -> Result<Response, PageError> {
    let c = Chrome::new(ctx, "/customers");
    let error = Some(c.tr.t_args(
        key,
        &[(
            "mb",
            kehu_web::i18n::FluentArg::Num(i64::try_from(state.config.import_max_mb).unwrap_or(0)),
        )],
    ));
    let p = UploadPage {
        c,
        max_mb: state.config.import_max_mb,
        error,
    };
    Ok((status, render(&p)?).into_response())
}

/// A job's id: unique in this process (jobs are found only by the user who started them).
fn new_job_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}{n:x}")
}

/// Receives the form: `csrf` first, then `kind`, `on_duplicate` and the file, which is written
/// to disk as it arrives and never held whole in memory.
async fn upload(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerImport>,
    headers: axum::http::HeaderMap,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let max = state.config.import_max_mb.saturating_mul(1024 * 1024);
    // A declared size over the limit is refused before a byte of the body is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max.saturating_add(64 * 1024)) {
        return upload_error(
            &ctx,
            &state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "import-too-large",
        );
    }
    let bad = || PageError(AppError::bad_request("malformed_form", ""));
    let (mut csrf, mut kind, mut on_duplicate) = (None, Kind::Customers, OnDuplicate::Skip);
    let dir = tempfile::tempdir().map_err(|e| PageError(AppError::Internal(e.into())))?;
    let mut file_name = None;
    while let Some(mut field) = form.next_field().await.map_err(|_| bad())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if !csrf
                .as_deref()
                .is_some_and(|s| kehu_web::security::secrets_match(&ctx.csrf(), s))
            {
                return Err(PageError(AppError::Csrf));
            }
            file_name = Some(field.file_name().unwrap_or("upload").to_owned());
            let path = dir.path().join("upload");
            let mut out = tokio::fs::File::create(&path)
                .await
                .map_err(|e| PageError(AppError::Internal(e.into())))?;
            let mut written: u64 = 0;
            while let Some(chunk) = field.chunk().await.map_err(|_| bad())? {
                written += chunk.len() as u64;
                if written > max {
                    drop(out);
                    return upload_error(
                        &ctx,
                        &state,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "import-too-large",
                    );
                }
                out.write_all(&chunk)
                    .await
                    .map_err(|e| PageError(AppError::Internal(e.into())))?;
            }
            out.flush()
                .await
                .map_err(|e| PageError(AppError::Internal(e.into())))?;
            if written == 0 {
                return upload_error(
                    &ctx,
                    &state,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "import-no-file",
                );
            }
        } else {
            let value = field.text().await.map_err(|_| bad())?;
            match name.as_str() {
                "csrf" => csrf = Some(value),
                "kind" => kind = kind_of(&value).ok_or_else(bad)?,
                "on_duplicate" => on_duplicate = value.parse().map_err(|_| bad())?,
                _ => {}
            }
        }
    }
    let Some(file_name) = file_name else {
        return upload_error(
            &ctx,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "import-no-file",
        );
    };
    let id = new_job_id();
    let job = Job {
        user_id: user.user_id,
        kind,
        on_duplicate,
        file_name,
        dir,
        phase: Phase::Uploaded,
    };
    lock(&JOBS).insert(id.clone(), Arc::new(Mutex::new(job)));
    Ok(Redirect::to(&format!("/customers/import/{id}")).into_response())
}

/// One field's row on the mapping page.
struct FieldRow {
    name: String,
    label: String,
    required: bool,
    column: Option<usize>,
}

#[derive(Template)]
#[template(path = "customers/import_map.html")]
struct MapPage {
    c: Chrome,
    id: String,
    file_name: String,
    detected: String,
    headers: Vec<String>,
    fields: Vec<FieldRow>,
    preview: Vec<PreviewRow>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "customers/import_status.html")]
struct StatusPage {
    c: Chrome,
    id: String,
    file_name: String,
    running: bool,
    percent: u64,
    counts: Progress,
    rejects: bool,
    error: Option<String>,
}

fn describe(tr: &Tr, d: &kehu_io::Detected) -> String {
    match d.format {
        kehu_io::Format::Xlsx => "XLSX".into(),
        kehu_io::Format::Csv => format!(
            "CSV · {}{}",
            d.encoding.unwrap_or("?"),
            if d.bom { " BOM" } else { "" }
        ),
    }
    .replace("CSV", &tr.t("import-format-csv"))
}

async fn context(
    state: &AppState,
    user: &kehu_domain::Principal,
    ctx: &Ctx,
) -> Result<Context, PageError> {
    let store = crate::store(state);
    Ok(Context::load(&store, user.owner_filter(), ctx.actor(), user.user_id).await?)
}

async fn job_page(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerImport>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = job(&id, user.user_id)?;
    let (phase, kind, file_name, path) = {
        let j = lock(&j);
        (j.phase.clone(), j.kind, j.file_name.clone(), j.file())
    };
    let c = Chrome::new(&ctx, "/customers");
    match phase {
        Phase::Uploaded => {
            let cx = context(&state, &user, &ctx).await?;
            map_page(c, id, file_name, kind, path, cx, None, None).await
        }
        phase => {
            let (running, counts, rejects, error) = match phase {
                Phase::Running(p) => (true, p, false, None),
                Phase::Done(s) => (false, s.counts, s.rejects.is_some(), None),
                Phase::Failed(e) => (false, Progress::default(), false, Some(e)),
                Phase::Uploaded => (false, Progress::default(), false, None),
            };
            let percent = (counts.bytes_read * 100)
                .checked_div(counts.bytes_total)
                .unwrap_or(0)
                .min(100);
            let p = StatusPage {
                c,
                id,
                file_name,
                running,
                percent,
                counts,
                rejects,
                error,
            };
            Ok(render(&p)?.into_response())
        }
    }
}

/// The mapping page: the file's header, each field's column (`mapping`, or found by title)
/// and the first rows as the import would take them.
#[allow(clippy::too_many_arguments, reason = "one page's inputs")]
async fn map_page(
    c: Chrome,
    id: String,
    file_name: String,
    kind: Kind,
    path: PathBuf,
    cx: Context,
    mapping: Option<Vec<(String, Option<usize>)>>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let tr = c.tr;
    let specs = fields(kind);
    let read = tokio::task::spawn_blocking(move || -> Result<_, kehu_web::import::ImportError> {
        // Every field optional here: the page shows what is missing instead of refusing.
        let loose: Vec<FieldSpec> = specs
            .iter()
            .map(|s| FieldSpec {
                required: false,
                ..s.clone()
            })
            .collect();
        let chosen = |mapping| ImportOptions {
            mapping: Some(mapping),
            ..ImportOptions::default()
        };
        let mut opened = match mapping {
            Some(m) => kehu_web::import::open(&path, &loose, &chosen(m))?,
            None => match kehu_web::import::open(&path, &loose, &ImportOptions::default()) {
                Ok(o) => o,
                // Two columns with one field's title: nothing is chosen for the user.
                Err(kehu_web::import::ImportError::Header(_)) => {
                    let none = specs.iter().map(|s| (s.name.clone(), None)).collect();
                    kehu_web::import::open(&path, &loose, &chosen(none))?
                }
                Err(e) => return Err(e),
            },
        };
        let preview = match kind {
            Kind::Customers => {
                kehu_web::import::preview(&mut opened, &CustomerImport::new(cx), 10, &tr)?
            }
            Kind::Contacts => {
                kehu_web::import::preview(&mut opened, &ContactImport::new(cx), 10, &tr)?
            }
        };
        let columns: Vec<(String, Option<usize>)> = opened
            .map
            .fields()
            .map(|(f, c)| (f.to_owned(), c))
            .collect();
        Ok((
            opened.reader.header().to_vec(),
            opened.reader.detected().clone(),
            columns,
            preview,
            specs,
        ))
    })
    .await
    .map_err(|e| {
        PageError(AppError::Internal(anyhow::anyhow!(
            "reading the upload: {e}"
        )))
    })?;
    let (headers, detected, columns, preview, specs) = match read {
        Ok(r) => r,
        Err(e) => {
            let p = StatusPage {
                id,
                file_name,
                running: false,
                percent: 0,
                counts: Progress::default(),
                rejects: false,
                error: Some(e.localised(&tr, &fields(kind))),
                c,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
        }
    };
    let rows = specs
        .iter()
        .map(|s| FieldRow {
            name: s.name.clone(),
            label: if tr.lang == kehu_domain::user::Language::En {
                s.label_en.clone()
            } else {
                s.label_zh.clone()
            },
            required: s.required,
            column: columns
                .iter()
                .find(|(f, _)| f == &s.name)
                .and_then(|(_, c)| *c),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let p = MapPage {
        detected: describe(&tr, &detected),
        c,
        id,
        file_name,
        headers,
        fields: rows,
        preview,
        error,
    };
    Ok((status, render(&p)?).into_response())
}

/// `col_<field>=<column>` for each field (empty: none), and what to do with duplicates.
async fn start(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::CustomerImport>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let j = job(&id, user.user_id)?;
    let (kind, file_name, path, rejects, mut on_duplicate, phase) = {
        let j = lock(&j);
        (
            j.kind,
            j.file_name.clone(),
            j.file(),
            j.rejects(),
            j.on_duplicate,
            j.phase.clone(),
        )
    };
    if !matches!(phase, Phase::Uploaded) {
        return Ok(Redirect::to(&format!("/customers/import/{id}")).into_response());
    }
    if let Some(m) = form.get("on_duplicate").and_then(|m| m.parse().ok()) {
        on_duplicate = m;
    }
    let specs = fields(kind);
    let mapping: Vec<(String, Option<usize>)> = specs
        .iter()
        .map(|s| {
            let column = form
                .get(&format!("col_{}", s.name))
                .and_then(|v| v.parse::<usize>().ok());
            (s.name.clone(), column)
        })
        .collect();
    let options = ImportOptions {
        on_duplicate,
        rejects: Some(rejects),
        mapping: Some(mapping.clone()),
        lang: ctx.tr.lang,
        ..ImportOptions::default()
    };
    let cx = context(&state, &user, &ctx).await?;
    // The mapping is checked before anything runs: a required field without a column shows
    // the mapping page again with the reason.
    let check = {
        let (path, specs, options) = (path.clone(), specs.clone(), options.clone());
        tokio::task::spawn_blocking(move || {
            kehu_web::import::open(&path, &specs, &options).map(|_| ())
        })
        .await
        .map_err(|e| PageError(AppError::Internal(anyhow::anyhow!("{e}"))))?
    };
    if let Err(e) = check {
        let c = Chrome::new(&ctx, "/customers");
        let msg = e.localised(&c.tr, &specs);
        return map_page(c, id, file_name, kind, path, cx, Some(mapping), Some(msg)).await;
    }
    lock(&j).phase = Phase::Running(Progress::default());
    let store = crate::store(&state);
    let tr = ctx.tr;
    tokio::spawn(async move {
        let progress_job = j.clone();
        let result = import::import_file(&store, kind, cx, &path, &options, |p| {
            lock(&progress_job).phase = Phase::Running(p.clone());
        })
        .await;
        lock(&j).phase = match result {
            Ok(summary) => Phase::Done(summary),
            Err(e) => Phase::Failed(e.localised(&tr, &fields(kind))),
        };
    });
    Ok(Redirect::to(&format!("/customers/import/{id}")).into_response())
}

/// The job's progress as JSON, for the page's script.
async fn status(
    PageGranted { user, .. }: PageGranted<need::CustomerImport>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = job(&id, user.user_id)?;
    let phase = lock(&j).phase.clone();
    let (state, counts) = match phase {
        Phase::Uploaded => ("uploaded", Progress::default()),
        Phase::Running(p) => ("running", p),
        Phase::Done(s) => ("done", s.counts),
        Phase::Failed(_) => ("failed", Progress::default()),
    };
    let body = serde_json::json!({"state": state, "counts": counts, "summary": counts.line()});
    Ok(axum::Json(body).into_response())
}

/// The rejected rows' file of a finished job.
async fn rejects(
    PageGranted { user, .. }: PageGranted<need::CustomerImport>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = job(&id, user.user_id)?;
    let path = {
        let j = lock(&j);
        match &j.phase {
            Phase::Done(s) if s.rejects.is_some() => j.rejects(),
            _ => return Err(PageError(AppError::NotFound)),
        }
    };
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| PageError(AppError::Internal(e.into())))?;
    let stream = futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match tokio::io::AsyncReadExt::read(&mut f, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"rejects.csv\""),
    );
    Ok(resp)
}
