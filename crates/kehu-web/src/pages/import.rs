//! The import page (导入) of every module's files (`/import`, the kinds registered with
//! `Module::import` whose right the user holds): upload a CSV or XLSX file (streamed to a
//! temporary file, at most `import_max_mb`; larger is 413 before it is kept), check the
//! mapping (the detected format and encoding, each field's column, changeable, and a preview
//! of the first rows with their errors), then run it in the background with its progress on
//! the page (a meta refresh, and a small script polling the status), the summary and the
//! rejected rows' file to download.
//!
//! Running imports live in this process's memory (`JOBS`): a restart forgets them, while
//! every batch they committed stays (importing the file again skips those rows).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kehu_domain::{DomainError, Principal};
use kehu_io::FieldSpec;
use tokio::io::AsyncWriteExt;

use crate::context::{CsrfForm, Ctx, PageUser};
use crate::error::{AppError, PageError};
use crate::i18n::Tr;
use crate::import::{
    ImportAs, ImportKind, ImportOptions, Importer, OnDuplicate, PreviewRow, Progress, Summary,
};
use crate::state::AppState;
use crate::views::{Chrome, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/import",
            get(upload_page)
                .post(upload)
                // The upload is read as a stream and limited by `import_max_mb` here.
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/import/{job}", get(job_page))
        .route("/import/{job}/start", post(start))
        .route("/import/{job}/status", get(status))
        .route("/import/{job}/rejects", get(rejects))
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
    kind: ImportKind,
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

    /// What the mapping page of this job (`id`) shows.
    fn mapping(&self, id: String) -> Mapping {
        Mapping {
            id,
            file_name: self.file_name.clone(),
            kind: self.kind,
            on_duplicate: self.on_duplicate,
            path: self.file(),
        }
    }
}

static JOBS: LazyLock<Mutex<HashMap<String, Arc<Mutex<Job>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The user's job `id` of a kind they may still import; another user's, or none, is not found
/// (a user who may import nothing is refused first).
fn job(state: &AppState, id: &str, user: &Principal) -> Result<Arc<Mutex<Job>>, PageError> {
    kinds(state, user)?;
    let jobs = lock(&JOBS);
    let j = match jobs.get(id) {
        Some(j) if lock(j).user_id == user.user_id => j.clone(),
        _ => return Err(PageError(AppError::NotFound)),
    };
    drop(jobs);
    user.require(lock(&j).kind.right)?;
    Ok(j)
}

/// The kinds `user` may import; none is 403.
fn kinds(state: &AppState, user: &Principal) -> Result<Vec<ImportKind>, PageError> {
    let kinds = state.imports_for(user);
    if kinds.is_empty() {
        return Err(DomainError::Forbidden.into());
    }
    Ok(kinds)
}

/// A kind on the upload page's choice.
struct KindOption {
    code: &'static str,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "import/upload.html")]
struct UploadPage {
    c: Chrome,
    /// Where the page came from (the chosen kind's list) and its title.
    home: (&'static str, String),
    kinds: Vec<KindOption>,
    on_duplicate: &'static str,
    max_mb: u64,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct KindQuery {
    kind: Option<String>,
}

fn upload_view(
    ctx: &Ctx,
    state: &AppState,
    kinds: &[ImportKind],
    chosen: Option<&str>,
    error: Option<String>,
) -> UploadPage {
    let chosen = kinds
        .iter()
        .find(|k| Some(k.code) == chosen)
        .or(kinds.first())
        .copied();
    let home = chosen.map_or(("/", "nav-home"), |k| k.home);
    let c = Chrome::new(ctx, home.0);
    UploadPage {
        home: (home.0, c.tr.t(home.1)),
        kinds: kinds
            .iter()
            .map(|k| KindOption {
                code: k.code,
                label: c.tr.t(k.label),
                selected: Some(k.code) == chosen.map(|c| c.code),
            })
            .collect(),
        on_duplicate: OnDuplicate::Skip.code(),
        max_mb: state.config.import_max_mb,
        error,
        c,
    }
}

async fn upload_page(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
    Query(q): Query<KindQuery>,
) -> Result<Response, PageError> {
    let kinds = kinds(&state, &user)?;
    let p = upload_view(&ctx, &state, &kinds, q.kind.as_deref(), None);
    Ok(render(&p)?.into_response())
}

/// The upload page again with an error, answered with `status`.
fn upload_error(
    ctx: &Ctx,
    state: &AppState,
    kinds: &[ImportKind],
    chosen: Option<&str>,
    status: StatusCode,
    key: &str,
) -> Result<Response, PageError> {
    let mb = i64::try_from(state.config.import_max_mb).unwrap_or(0);
    let error = ctx
        .tr
        .t_args(key, &[("mb", crate::i18n::FluentArg::Num(mb))]);
    let p = upload_view(ctx, state, kinds, chosen, Some(error));
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
    PageUser { user, ctx }: PageUser,
    headers: axum::http::HeaderMap,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let kinds = kinds(&state, &user)?;
    let max = state.config.import_max_mb.saturating_mul(1024 * 1024);
    // A declared size over the limit is refused before a byte of the body is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let refused = |kind: Option<ImportKind>, status, key| {
        upload_error(&ctx, &state, &kinds, kind.map(|k| k.code), status, key)
    };
    let too_large = |kind| refused(kind, StatusCode::PAYLOAD_TOO_LARGE, "import-too-large");
    let no_file = |kind| refused(kind, StatusCode::UNPROCESSABLE_ENTITY, "import-no-file");
    if declared.is_some_and(|n| n > max.saturating_add(64 * 1024)) {
        return too_large(None);
    }
    let bad = || PageError(AppError::bad_request("malformed_form", ""));
    let (mut csrf, mut kind, mut on_duplicate) = (None, None, OnDuplicate::Skip);
    let dir = tempfile::tempdir().map_err(|e| PageError(AppError::Internal(e.into())))?;
    let mut file_name = None;
    while let Some(mut field) = form.next_field().await.map_err(|_| bad())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if !csrf
                .as_deref()
                .is_some_and(|s| crate::security::secrets_match(&ctx.csrf(), s))
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
                    return too_large(kind);
                }
                out.write_all(&chunk)
                    .await
                    .map_err(|e| PageError(AppError::Internal(e.into())))?;
            }
            out.flush()
                .await
                .map_err(|e| PageError(AppError::Internal(e.into())))?;
            if written == 0 {
                return no_file(kind);
            }
        } else {
            let value = field.text().await.map_err(|_| bad())?;
            match name.as_str() {
                "csrf" => csrf = Some(value),
                "kind" => {
                    let k = *state
                        .imports
                        .iter()
                        .find(|k| k.code == value)
                        .ok_or_else(bad)?;
                    user.require(k.right)?;
                    kind = Some(k);
                }
                "on_duplicate" => on_duplicate = value.parse().map_err(|_| bad())?,
                _ => {}
            }
        }
    }
    let (Some(file_name), Some(kind)) = (file_name, kind) else {
        return no_file(kind);
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
    Ok(Redirect::to(&format!("/import/{id}")).into_response())
}

/// One field's row on the mapping page.
struct FieldRow {
    name: String,
    label: String,
    required: bool,
    column: Option<usize>,
}

#[derive(Template)]
#[template(path = "import/map.html")]
struct MapPage {
    c: Chrome,
    home: (&'static str, String),
    kind: String,
    /// What the upload chose to do with duplicates, changeable here.
    on_duplicate: &'static str,
    id: String,
    file_name: String,
    detected: String,
    headers: Vec<String>,
    fields: Vec<FieldRow>,
    preview: Vec<PreviewRow>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "import/status.html")]
struct StatusPage {
    c: Chrome,
    home: (&'static str, String),
    kind: &'static str,
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

/// The kind's import for `user`, acting as them.
async fn importer(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
    kind: ImportKind,
) -> Result<Arc<dyn Importer>, PageError> {
    Ok((kind.load)(state, ImportAs::user(user, ctx.actor())).await?)
}

/// The page's way back: the kind's list and its title.
fn home(c: &Chrome, kind: ImportKind) -> (&'static str, String) {
    (kind.home.0, c.tr.t(kind.home.1))
}

async fn job_page(
    State(state): State<AppState>,
    PageUser { user, ctx }: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = job(&state, &id, &user)?;
    let (phase, page) = {
        let j = lock(&j);
        (j.phase.clone(), j.mapping(id))
    };
    let kind = page.kind;
    let c = Chrome::new(&ctx, kind.home.0);
    match phase {
        Phase::Uploaded => {
            let importer = importer(&state, &user, &ctx, kind).await?;
            map_page(c, page, importer, None, None).await
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
                home: home(&c, kind),
                kind: kind.code,
                c,
                id: page.id,
                file_name: page.file_name,
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

/// The job a mapping page shows.
struct Mapping {
    id: String,
    file_name: String,
    kind: ImportKind,
    on_duplicate: OnDuplicate,
    path: PathBuf,
}

/// The mapping page: the file's header, each field's column (`mapping`, or found by title)
/// and the first rows as the import would take them.
async fn map_page(
    c: Chrome,
    job: Mapping,
    importer: Arc<dyn Importer>,
    mapping: Option<Vec<(String, Option<usize>)>>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let tr = c.tr;
    let Mapping {
        id,
        file_name,
        kind,
        on_duplicate,
        path,
    } = job;
    let specs = importer.fields().to_vec();
    let read = tokio::task::spawn_blocking(move || -> Result<_, crate::import::ImportError> {
        let specs = importer.fields();
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
            Some(m) => crate::import::open(&path, &loose, &chosen(m))?,
            None => match crate::import::open(&path, &loose, &ImportOptions::default()) {
                Ok(o) => o,
                // Two columns with one field's title: nothing is chosen for the user.
                Err(crate::import::ImportError::Header(_)) => {
                    let none = specs.iter().map(|s| (s.name.clone(), None)).collect();
                    crate::import::open(&path, &loose, &chosen(none))?
                }
                Err(e) => return Err(e),
            },
        };
        let preview = importer.preview(&mut opened, 10, &tr)?;
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
        ))
    })
    .await
    .map_err(|e| {
        PageError(AppError::Internal(anyhow::anyhow!(
            "reading the upload: {e}"
        )))
    })?;
    let (headers, detected, columns, preview) = match read {
        Ok(r) => r,
        Err(e) => {
            let p = StatusPage {
                home: home(&c, kind),
                kind: kind.code,
                id,
                file_name,
                running: false,
                percent: 0,
                counts: Progress::default(),
                rejects: false,
                error: Some(e.localised(&tr, &specs)),
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
        home: home(&c, kind),
        kind: tr.t(kind.label),
        on_duplicate: on_duplicate.code(),
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
    PageUser { user, ctx }: PageUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let j = job(&state, &id, &user)?;
    let (phase, mut page, rejects) = {
        let j = lock(&j);
        (j.phase.clone(), j.mapping(id), j.rejects())
    };
    if !matches!(phase, Phase::Uploaded) {
        return Ok(Redirect::to(&format!("/import/{}", page.id)).into_response());
    }
    if let Some(m) = form.get("on_duplicate").and_then(|m| m.parse().ok()) {
        page.on_duplicate = m;
    }
    let (kind, path) = (page.kind, page.path.clone());
    let importer = importer(&state, &user, &ctx, kind).await?;
    let specs = importer.fields().to_vec();
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
        on_duplicate: page.on_duplicate,
        rejects: Some(rejects),
        mapping: Some(mapping.clone()),
        lang: ctx.tr.lang,
        ..ImportOptions::default()
    };
    // The mapping is checked before anything runs: a required field without a column shows
    // the mapping page again with the reason.
    let check = {
        let (path, specs, options) = (path.clone(), specs.clone(), options.clone());
        tokio::task::spawn_blocking(move || {
            crate::import::open(&path, &specs, &options).map(|_| ())
        })
        .await
        .map_err(|e| PageError(AppError::Internal(anyhow::anyhow!("{e}"))))?
    };
    if let Err(e) = check {
        let c = Chrome::new(&ctx, kind.home.0);
        let msg = e.localised(&c.tr, &specs);
        return map_page(c, page, importer, Some(mapping), Some(msg)).await;
    }
    lock(&j).phase = Phase::Running(Progress::default());
    let db = state.store.db.clone();
    let tr = ctx.tr;
    tokio::spawn(async move {
        let progress_job = j.clone();
        let progress = Box::new(move |p: &Progress| {
            lock(&progress_job).phase = Phase::Running(p.clone());
        });
        let result = importer.run(&db, &path, &options, progress).await;
        lock(&j).phase = match result {
            Ok(summary) => Phase::Done(summary),
            Err(e) => Phase::Failed(e.localised(&tr, &specs)),
        };
    });
    Ok(Redirect::to(&format!("/import/{}", page.id)).into_response())
}

/// The job's progress as JSON, for the page's script.
async fn status(
    State(state): State<AppState>,
    PageUser { user, .. }: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = job(&state, &id, &user)?;
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
    State(state): State<AppState>,
    PageUser { user, .. }: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let j = job(&state, &id, &user)?;
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
