//! `kehu import KIND FILE`: any kind of file a module registers (`Module::import`: customers,
//! contacts, products, orders …) through the same runner as the web's import page. A progress
//! bar on a terminal; the summary line and the rejects file on stdout when it ran to the end
//! (exit 0, rejected rows or not); a file it cannot read or a missing required column an
//! error (non-zero exit) before anything is written.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use kehu_domain::user::Language;
use kehu_io::{Detected, FieldSpec, Format};
use kehu_web::AppState;
use kehu_web::cli::{acting, user_id};
use kehu_web::i18n::Tr;
use kehu_web::import::{ImportAs, ImportError, ImportKind, ImportOptions, OnDuplicate};
use kehu_web::import::{Progress, Summary};

/// What every `kehu import` takes besides the kind.
#[derive(clap::Args, Debug)]
pub struct ImportFlags {
    /// A CSV (UTF-8, GBK/GB18030, UTF-16; any of , ; tab) or XLSX file.
    pub file: PathBuf,
    /// What a row matching a stored record does: skip, update or create.
    #[arg(long, default_value = "skip")]
    pub on_duplicate: OnDuplicate,
    /// The rejected rows' file (default: beside FILE, `<name>.rejects.csv`).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// The account manager of rows without one (a user name; default: --as, else admin).
    #[arg(long)]
    pub owner: Option<String>,
    /// Import as this user: their data scope, rights and name in the audit log (default: the
    /// system, every customer).
    #[arg(long = "as")]
    pub as_user: Option<String>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 5000)]
    pub batch_rows: usize,
}

impl ImportFlags {
    /// The runner's options of these flags (reasons in English, for a terminal).
    fn options(&self) -> ImportOptions {
        ImportOptions {
            on_duplicate: self.on_duplicate,
            batch_rows: self.batch_rows.max(1),
            rejects: self.rejects.clone(),
            lang: Language::En,
            ..ImportOptions::default()
        }
    }
}

/// The kind registered as `code`, or an error naming those that are.
pub fn kind(kinds: &[ImportKind], code: &str) -> anyhow::Result<ImportKind> {
    kinds
        .iter()
        .find(|k| k.code == code)
        .copied()
        .with_context(|| {
            let known: Vec<&str> = kinds.iter().map(|k| k.code).collect();
            format!("cannot import {code:?}: one of {}", known.join(", "))
        })
}

/// Imports `flags.file` as `kind`, as `--as` (who must hold the kind's right; default: the
/// system, every record).
pub async fn run(state: &AppState, kind: ImportKind, flags: &ImportFlags) -> anyhow::Result<()> {
    let store = &state.store;
    let (scope, actor, as_id) = acting(store, flags.as_user.as_deref(), kind.right).await?;
    let default_owner = match (&flags.owner, as_id) {
        (Some(name), _) => Some(user_id(store, name).await?),
        (None, Some(id)) => Some(id),
        (None, None) => user_id(store, "admin").await.ok(),
    };
    let by = ImportAs {
        scope,
        actor,
        default_owner,
    };
    let importer = (kind.load)(state, by).await?;
    let options = flags.options();
    let progress = Progressing::start(&flags.file);
    let result = importer
        .clone()
        .run(
            &store.db,
            &flags.file,
            &options,
            Box::new(|p| progress.show(p)),
        )
        .await;
    progress.finish(&flags.file, importer.fields(), result)
}

/// An import's progress bar on the terminal and, when it ends, its report: the summary line
/// and the rejects file on stdout, the speed and the file's format on stderr.
struct Progressing {
    bar: indicatif::ProgressBar,
    started: Instant,
}

impl Progressing {
    fn start(file: &Path) -> Self {
        let bar = indicatif::ProgressBar::new(std::fs::metadata(file).map_or(0, |m| m.len()));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {percent:>3}% {binary_bytes}/{binary_total_bytes} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Self {
            bar,
            started: Instant::now(),
        }
    }

    fn show(&self, p: &Progress) {
        self.bar.set_position(p.bytes_read);
        self.bar.set_message(p.line());
    }

    /// Reports the run; an import that could not run is an error naming the file.
    fn finish(
        self,
        file: &Path,
        fields: &[FieldSpec],
        result: Result<Summary, ImportError>,
    ) -> anyhow::Result<()> {
        self.bar.finish_and_clear();
        let summary = result.map_err(|e| {
            let tr = Tr::new(Language::En);
            anyhow::anyhow!("{}: {}", file.display(), e.localised(&tr, fields).trim())
        })?;
        let secs = self.started.elapsed().as_secs_f64();
        let rows = summary.counts.rows();
        println!("{}", summary.counts.line());
        eprintln!(
            "{} rows in {secs:.1} s ({:.0} rows/s); {}",
            rows,
            rows as f64 / secs.max(1e-9),
            describe(&summary.detected)
        );
        if let Some(path) = &summary.rejects {
            println!("rejected rows: {}", path.display());
        }
        Ok(())
    }
}

fn describe(d: &Detected) -> String {
    match d.format {
        Format::Xlsx => "XLSX".into(),
        Format::Csv => format!(
            "CSV, {}{}",
            d.encoding.unwrap_or("?"),
            if d.bom { " with BOM" } else { "" }
        ),
    }
}
