//! The import runner (导入) every module's import goes through: a table file (CSV or XLSX, read
//! by `kehu-io`) is mapped onto the module's fields, each row parsed by the module, the good
//! rows committed in batches (one transaction each: a crash loses no committed batch, and the
//! module's duplicate check makes a re-run create nothing twice), every refused row written to
//! the rejects file with its line and a localised reason, and the progress reported as it
//! goes. The module supplies the [`ImportRows`]: its fields, how a row parses, how a batch is
//! committed (duplicates and all).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kehu_domain::policy::OwnerFilter;
use kehu_domain::user::Language;
use kehu_domain::{FieldError, Principal, Right};
use kehu_io::{
    Detected, FieldSpec, HeaderError, HeaderMap, ReadError, ReadOptions, Record, RejectsWriter,
    TableReader, WriteError, map_headers,
};
use kehu_store::StoreError;
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};

use crate::i18n::Tr;
use crate::module::BoxFuture;
use crate::state::AppState;

/// What to do with a row that matches a record already stored (`--on-duplicate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    /// Leave the stored record as it is; the row counts as skipped.
    #[default]
    Skip,
    /// Change the stored record to the row's values.
    Update,
    /// Create a new record all the same.
    Create,
}

impl OnDuplicate {
    pub const ALL: &'static [OnDuplicate] =
        &[OnDuplicate::Skip, OnDuplicate::Update, OnDuplicate::Create];

    pub fn code(self) -> &'static str {
        match self {
            OnDuplicate::Skip => "skip",
            OnDuplicate::Update => "update",
            OnDuplicate::Create => "create",
        }
    }
}

impl std::str::FromStr for OnDuplicate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|m| m.code() == s)
            .ok_or_else(|| "one of skip, update, create".to_owned())
    }
}

/// A parsed row waiting for its batch, with the cells it came from (for the rejects file).
#[derive(Debug)]
pub struct Pending<R> {
    pub line: u64,
    pub cells: Vec<String>,
    pub row: R,
}

/// What became of one row of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    Updated,
    Skipped,
    /// Refused at commit (e.g. it duplicates a record the importer may not change).
    Rejected(Vec<FieldError>),
}

/// A module's side of an import.
pub trait ImportRows: Send + Sync + 'static {
    type Row: Send + Sync + 'static;

    /// The importable fields, matched against the file's header.
    fn fields(&self) -> &[FieldSpec];

    /// One row of the file as the module's value, or every field error at once.
    fn parse(&self, map: &HeaderMap, cells: &[String]) -> Result<Self::Row, Vec<FieldError>>;

    /// The tables whose size the import changes and whose rows its commits look up (for
    /// duplicates): their statistics are renewed as they grow (see [`Db::analyze`]).
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    /// Stores one batch in `tx`; one [`Outcome`] per row, in order.
    fn commit(
        &self,
        tx: &mut Tx,
        rows: &[Pending<Self::Row>],
        on_duplicate: OnDuplicate,
    ) -> impl Future<Output = Result<Vec<Outcome>, StoreError>> + Send;
}

/// A kind of file a module imports (`customers`, `products` …), registered with
/// [`crate::module::Module::import`]: the kit's import page (`/import`) offers the kinds a user
/// holds the right of, maps, previews and runs them without knowing their rows.
#[derive(Clone, Copy)]
pub struct ImportKind {
    /// The kind's name on the page's form and in links (`/import?kind=products`).
    pub code: &'static str,
    /// The Fluent key of its name (`import-kind-products`).
    pub label: &'static str,
    /// Without it a user neither sees nor runs the kind.
    pub right: Right,
    /// The list its records are on, and that list's Fluent title: the page's way back.
    pub home: (&'static str, &'static str),
    pub load: LoadImporter,
}

/// The module's import, run as `ImportAs` says.
pub type LoadImporter =
    for<'a> fn(&'a AppState, ImportAs) -> BoxFuture<'a, Result<Arc<dyn Importer>, StoreError>>;

/// Who an import runs as: the rows are checked against `scope`, its changes are `actor`'s in
/// the audit log, and rows that name no account manager get `default_owner` (the user on the
/// web; `--owner`, `--as` or `admin` on the command line).
#[derive(Debug, Clone)]
pub struct ImportAs {
    pub scope: OwnerFilter,
    pub actor: Actor,
    pub default_owner: Option<i64>,
}

impl ImportAs {
    /// A signed-in user's import: their scope, and themselves the rows' default manager.
    pub fn user(user: &Principal, actor: Actor) -> Self {
        Self {
            scope: user.owner_filter(),
            actor,
            default_owner: Some(user.user_id),
        }
    }
}

impl std::fmt::Debug for ImportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportKind")
            .field("code", &self.code)
            .field("right", &self.right)
            .finish_non_exhaustive()
    }
}

/// Any [`ImportRows`] as the kit's pages hold it, its row type out of sight.
pub trait Importer: Send + Sync + 'static {
    fn fields(&self) -> &[FieldSpec];

    /// See [`preview`].
    fn preview(
        &self,
        opened: &mut Opened,
        n: usize,
        tr: &Tr,
    ) -> Result<Vec<PreviewRow>, ImportError>;

    /// See [`run`].
    fn run<'a>(
        self: Arc<Self>,
        db: &'a Db,
        path: &'a Path,
        options: &'a ImportOptions,
        progress: Box<dyn FnMut(&Progress) + Send + 'a>,
    ) -> BoxFuture<'a, Result<Summary, ImportError>>;
}

impl<I: ImportRows> Importer for I {
    fn fields(&self) -> &[FieldSpec] {
        ImportRows::fields(self)
    }

    fn preview(
        &self,
        opened: &mut Opened,
        n: usize,
        tr: &Tr,
    ) -> Result<Vec<PreviewRow>, ImportError> {
        preview(opened, self, n, tr)
    }

    fn run<'a>(
        self: Arc<Self>,
        db: &'a Db,
        path: &'a Path,
        options: &'a ImportOptions,
        progress: Box<dyn FnMut(&Progress) + Send + 'a>,
    ) -> BoxFuture<'a, Result<Summary, ImportError>> {
        Box::pin(run(db, self, path, options, progress))
    }
}

/// How one import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub on_duplicate: OnDuplicate,
    /// Good rows per transaction.
    pub batch_rows: usize,
    pub read: ReadOptions,
    /// Where the rejected rows go; [`default_rejects_path`] beside the input when `None`. The
    /// file is removed again when no row was rejected.
    pub rejects: Option<PathBuf>,
    /// The columns chosen on the mapping page (field → 0-based column), instead of matching
    /// the header by name.
    pub mapping: Option<Vec<(String, Option<usize>)>>,
    /// The language of the reasons in the rejects file.
    pub lang: Language,
    /// Stops with [`ImportError::Stopped`] after this many committed batches: how the tests
    /// stand in for a crash between two batches.
    pub stop_after_batches: Option<u64>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            on_duplicate: OnDuplicate::Skip,
            batch_rows: 5000,
            read: ReadOptions::default(),
            rejects: None,
            mapping: None,
            lang: Language::ZhCn,
            stop_after_batches: None,
        }
    }
}

/// The rejects file of `input`: `客户.csv` → `客户.rejects.csv` in the same folder.
pub fn default_rejects_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    input.with_file_name(format!("{stem}.rejects.csv"))
}

/// Counts so far, handed to the progress callback after each batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Bytes of the file read (for a progress bar against the file's size).
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub imported: u64,
    pub updated: u64,
    pub skipped: u64,
    pub rejected: u64,
}

impl Progress {
    pub fn rows(&self) -> u64 {
        self.imported + self.updated + self.skipped + self.rejected
    }

    /// `imported N, updated U, skipped S, rejected R`: the summary line.
    pub fn line(&self) -> String {
        format!(
            "imported {}, updated {}, skipped {}, rejected {}",
            self.imported, self.updated, self.skipped, self.rejected
        )
    }
}

/// A finished import.
#[derive(Debug, Clone)]
pub struct Summary {
    pub counts: Progress,
    pub detected: Detected,
    /// The rejects file, when a row was rejected.
    pub rejects: Option<PathBuf>,
}

/// Why an import could not run (as opposed to rows it rejected).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("the mapping names a column the file does not have")]
    BadMapping,
    #[error("writing the rejects file: {0}")]
    Rejects(#[from] WriteError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("stopped after {0} batches")]
    Stopped(u64),
    #[error("the reader stopped unexpectedly")]
    Worker,
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read(e) => e.code(),
            Self::Header(e) => e.code(),
            Self::BadMapping => "bad_mapping",
            Self::Rejects(_) => "rejects_failed",
            Self::Store(_) => "store_failed",
            Self::Stopped(_) => "stopped",
            Self::Worker => "worker_failed",
        }
    }

    /// The message for a user, in `tr`'s language (`import-error-<code>`), naming the missing
    /// columns when that is the cause.
    pub fn localised(&self, tr: &Tr, fields: &[FieldSpec]) -> String {
        let key = format!("import-error-{}", self.code().replace('_', "-"));
        let mut msg = tr.t(&key);
        if let Self::Header(HeaderError::MissingRequired(missing)) = self {
            let names: Vec<String> = missing.iter().map(|f| label(tr, fields, f)).collect();
            let _ = write!(msg, "{}", names.join(", "));
        }
        msg
    }
}

/// A field's title in `tr`'s language; the name itself for fields not in the specs.
fn label(tr: &Tr, fields: &[FieldSpec], field: &str) -> String {
    match fields.iter().find(|f| f.name == field) {
        Some(f) if tr.lang == Language::En => f.label_en.clone(),
        Some(f) => f.label_zh.clone(),
        None => field.to_owned(),
    }
}

/// The reason of a rejected row, in `tr`'s language: `手机：不是有效的电话号码。；…`.
pub fn reason_text(tr: &Tr, fields: &[FieldSpec], errors: &[FieldError]) -> String {
    let sep = if tr.lang == Language::En { ": " } else { "：" };
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}{sep}{}", label(tr, fields, &e.field), tr.t(&e.code)))
        .collect();
    parts.join(" ")
}

/// A file being read, counting how far: the progress bar's position.
struct Counting {
    file: File,
    pos: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.pos.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let p = self.file.seek(to)?;
        self.pos.store(p, Ordering::Relaxed);
        Ok(p)
    }
}

/// The file opened and its header mapped: what the mapping page shows, and where a run
/// starts. Nothing is written until [`run`] is called.
pub struct Opened {
    pub reader: TableReader,
    pub map: HeaderMap,
    bytes: Arc<AtomicU64>,
    bytes_total: u64,
}

/// Opens `path` and maps its header onto `fields` (by name and label, or by `mapping`).
pub fn open(
    path: &Path,
    fields: &[FieldSpec],
    options: &ImportOptions,
) -> Result<Opened, ImportError> {
    let file = File::open(path).map_err(ReadError::Io)?;
    let bytes_total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bytes = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        file,
        pos: bytes.clone(),
    };
    let reader = TableReader::from_reader(counting, &options.read)?;
    let map = match &options.mapping {
        Some(chosen) => {
            let width = reader.header().len();
            if chosen.iter().any(|(_, c)| c.is_some_and(|c| c >= width)) {
                return Err(ImportError::BadMapping);
            }
            HeaderMap::chosen(fields, chosen)?
        }
        None => map_headers(fields, reader.header())?,
    };
    Ok(Opened {
        reader,
        map,
        bytes,
        bytes_total,
    })
}

/// What the reader thread hands over: a batch of parsed rows and the rows refused on the way.
struct Batch<R> {
    good: Vec<Pending<R>>,
    bad: Vec<(u64, Vec<String>, String)>,
}

/// Runs an import of `path` to the end: see the module documentation. `progress` is called
/// after every batch.
pub async fn run<I: ImportRows>(
    db: &Db,
    importer: Arc<I>,
    path: &Path,
    options: &ImportOptions,
    mut progress: impl FnMut(&Progress),
) -> Result<Summary, ImportError> {
    let opened = {
        let (importer, path, options) = (importer.clone(), path.to_owned(), options.clone());
        tokio::task::spawn_blocking(move || open(&path, importer.fields(), &options))
            .await
            .map_err(|_| ImportError::Worker)??
    };
    let tr = Tr::new(options.lang);
    let rejects_path = options
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects_path(path));
    let mut rejects = RejectsWriter::create(
        &rejects_path,
        opened.reader.header(),
        &tr.t("import-rejects-line"),
        &tr.t("import-rejects-reason"),
    )?;
    let detected = opened.reader.detected().clone();
    let bytes = opened.bytes.clone();
    let mut counts = Progress {
        bytes_total: opened.bytes_total,
        ..Progress::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Batch<I::Row>, ImportError>>(2);
    let reader = {
        let importer = importer.clone();
        let batch_rows = options.batch_rows.max(1);
        tokio::task::spawn_blocking(move || read_batches(opened, &*importer, batch_rows, tr, &tx))
    };
    let mut batches = 0;
    let result = async {
        while let Some(batch) = rx.recv().await {
            let batch = batch?;
            for (line, cells, reason) in &batch.bad {
                rejects.write(*line, cells, reason)?;
                counts.rejected += 1;
            }
            if !batch.good.is_empty() {
                let good = &batch.good;
                let outcomes = db
                    .write(async |tx| importer.commit(tx, good, options.on_duplicate).await)
                    .await?;
                for (pending, outcome) in good.iter().zip(outcomes) {
                    match outcome {
                        Outcome::Imported => counts.imported += 1,
                        Outcome::Updated => counts.updated += 1,
                        Outcome::Skipped => counts.skipped += 1,
                        Outcome::Rejected(errors) => {
                            let reason = reason_text(&tr, importer.fields(), &errors);
                            rejects.write(pending.line, &pending.cells, &reason)?;
                            counts.rejected += 1;
                        }
                    }
                }
                batches += 1;
                // Each time the import has doubled what it wrote: the duplicate lookups of
                // the next batches are planned for the tables' new size.
                if u64::is_power_of_two(batches)
                    && let Err(e) = db.analyze(importer.tables()).await
                {
                    tracing::warn!(error = %e, "renewing the statistics after an import batch");
                }
            }
            counts.bytes_read = bytes.load(Ordering::Relaxed);
            progress(&counts);
            if options.stop_after_batches.is_some_and(|n| batches >= n) {
                return Err(ImportError::Stopped(batches));
            }
        }
        Ok(())
    }
    .await;
    // Dropping the receiver ends the reader at its next send.
    drop(rx);
    let _ = reader.await;
    result?;
    // The bulk write done: the next searches and look-ups read the tables as they now are
    // (PostgreSQL's GIN pending lists merged, statistics renewed).
    if batches > 0
        && let Err(e) = db.settle(importer.tables()).await
    {
        tracing::warn!(error = %e, "settling the tables after an import");
    }
    rejects.finish()?;
    let rejects = if counts.rejected == 0 {
        let _ = std::fs::remove_file(&rejects_path);
        None
    } else {
        Some(rejects_path)
    };
    counts.bytes_read = counts.bytes_total;
    progress(&counts);
    Ok(Summary {
        counts,
        detected,
        rejects,
    })
}

/// The reader thread: reads, parses and sends batches until the file ends or the receiver
/// is gone.
fn read_batches<I: ImportRows>(
    opened: Opened,
    importer: &I,
    batch_rows: usize,
    tr: Tr,
    out: &tokio::sync::mpsc::Sender<Result<Batch<I::Row>, ImportError>>,
) {
    let Opened {
        mut reader, map, ..
    } = opened;
    let fields = importer.fields();
    let mut batch = Batch {
        good: Vec::with_capacity(batch_rows),
        bad: Vec::new(),
    };
    let send = |batch: Batch<I::Row>| out.blocking_send(Ok(batch)).is_ok();
    for record in reader.by_ref() {
        match record {
            Err(e) => {
                let _ = out.blocking_send(Err(e.into()));
                return;
            }
            Ok(Record::Rejected(row, reason)) => {
                let key = format!("import-reject-{}", reason.code().replace('_', "-"));
                batch.bad.push((row.line, row.cells, tr.t(&key)));
            }
            Ok(Record::Row(row)) => match importer.parse(&map, &row.cells) {
                Ok(parsed) => batch.good.push(Pending {
                    line: row.line,
                    cells: row.cells,
                    row: parsed,
                }),
                Err(errors) => {
                    let reason = reason_text(&tr, fields, &errors);
                    batch.bad.push((row.line, row.cells, reason));
                }
            },
        }
        if batch.good.len() >= batch_rows || batch.bad.len() >= batch_rows {
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    good: Vec::with_capacity(batch_rows),
                    bad: Vec::new(),
                },
            );
            if !send(full) {
                return;
            }
        }
    }
    if !batch.good.is_empty() || !batch.bad.is_empty() {
        send(batch);
    }
}

/// One row of the mapping page's preview: the cells as read and, when the row would be
/// refused, why (in `tr`'s language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    pub line: u64,
    pub cells: Vec<String>,
    pub reason: Option<String>,
}

/// The first `n` rows of an opened file as the import would see them (parsed, not stored):
/// what the mapping page shows under the chosen columns.
pub fn preview<I: ImportRows>(
    opened: &mut Opened,
    importer: &I,
    n: usize,
    tr: &Tr,
) -> Result<Vec<PreviewRow>, ImportError> {
    let mut out = Vec::with_capacity(n);
    for record in opened.reader.by_ref().take(n) {
        let (row, reason) = match record? {
            Record::Rejected(row, reason) => {
                let key = format!("import-reject-{}", reason.code().replace('_', "-"));
                let text = tr.t(&key);
                (row, Some(text))
            }
            Record::Row(row) => {
                let reason = importer
                    .parse(&opened.map, &row.cells)
                    .err()
                    .map(|errors| reason_text(tr, importer.fields(), &errors));
                (row, reason)
            }
        };
        out.push(PreviewRow {
            line: row.line,
            cells: row.cells,
            reason,
        });
    }
    Ok(out)
}
