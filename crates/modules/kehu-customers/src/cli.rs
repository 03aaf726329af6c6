//! `kehu import customers|contacts FILE` (and the flags and progress report every import
//! shares) and `kehu export customers|contacts`: the command
//! line's side of the import and export (the binary only parses and calls these). An import
//! shows a progress bar on a terminal, prints the summary line and exits 0 when it ran to
//! the end, rejected rows or not; a file it cannot read or a missing required column is an
//! error (non-zero exit) before anything is written.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::{Offset, Utc};
use kehu_domain::Right;
use kehu_domain::policy::OwnerFilter;
use kehu_domain::user::Language;
use kehu_store::Store;
use kehu_store::audit::Actor;
use kehu_web::Config;
use kehu_web::i18n::Tr;
use kehu_web::import::{ImportError, ImportOptions, OnDuplicate, Progress, Summary};

use crate::domain::Status;
use crate::export::{self, Format, Sink};
use crate::import::{self, Context, Kind, contact_fields, customer_fields};
use crate::store::{ContactFilter, CustomerFilter, CustomerStore};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    Customers,
    Contacts,
}

/// What every `kehu import` takes besides what the file holds (the order module's imports
/// take the same).
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
    pub fn options(&self) -> ImportOptions {
        ImportOptions {
            on_duplicate: self.on_duplicate,
            batch_rows: self.batch_rows.max(1),
            rejects: self.rejects.clone(),
            lang: Language::En,
            ..ImportOptions::default()
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[arg(value_enum)]
    what: What,
    /// csv, xlsx or (contacts) vcf.
    #[arg(long, default_value = "csv")]
    format: String,
    /// The file to write.
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Export as this user (their data scope); default: every record.
    #[arg(long = "as")]
    as_user: Option<String>,
    /// The beginning of the name or code.
    #[arg(long)]
    q: Option<String>,
    /// Dictionary values.
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    level: Option<String>,
    #[arg(long)]
    industry: Option<String>,
    /// The account manager's user name.
    #[arg(long)]
    owner: Option<String>,
    /// active, loss_warned or lost.
    #[arg(long)]
    status: Option<Status>,
    #[arg(long)]
    tag: Option<String>,
    /// Contacts of this customer only.
    #[arg(long)]
    customer_id: Option<i64>,
}

/// The customer store over the binary's database, with the configured time zone's day.
fn customer_store(store: &Store, config: &Config) -> CustomerStore {
    let offset = Utc::now()
        .with_timezone(&config.time_zone.tz())
        .offset()
        .fix();
    CustomerStore::new(store.db.clone(), offset)
}

async fn user_id(store: &Store, name: &str) -> anyhow::Result<i64> {
    Ok(store
        .users
        .by_username(&name.to_lowercase())
        .await?
        .with_context(|| format!("no user named {name:?}"))?
        .id)
}

/// The scope and actor of `--as USER` (who must hold `right`), or the system's.
pub async fn acting(
    store: &Store,
    as_user: Option<&str>,
    right: Right,
) -> anyhow::Result<(OwnerFilter, Actor, Option<i64>)> {
    let Some(name) = as_user else {
        return Ok((OwnerFilter::system(), Actor::system(), None));
    };
    let id = user_id(store, name).await?;
    let p = store
        .users
        .principal(id)
        .await?
        .with_context(|| format!("{name} cannot sign in (disabled)"))?;
    if !p.can(right) {
        bail!("{name} lacks the right {}", right.code());
    }
    let actor = Actor::user(id, p.username.clone(), p.authority());
    Ok((p.owner_filter(), actor, Some(id)))
}

/// `kehu import customers|contacts FILE`.
pub async fn import(
    store: &Store,
    config: &Config,
    what: What,
    a: &ImportFlags,
) -> anyhow::Result<()> {
    let (scope, actor, as_id) = acting(store, a.as_user.as_deref(), Right::CustomerImport).await?;
    let default_owner = match (&a.owner, as_id) {
        (Some(name), _) => user_id(store, name).await?,
        (None, Some(id)) => id,
        (None, None) => user_id(store, "admin")
            .await
            .context("give the account manager of rows without one with --owner")?,
    };
    let customers = customer_store(store, config);
    let cx = Context::load(&customers, scope, actor, default_owner).await?;
    let options = a.options();
    let (kind, fields) = match what {
        What::Customers => (Kind::Customers, customer_fields()),
        What::Contacts => (Kind::Contacts, contact_fields()),
    };
    let run = Progressing::start(&a.file);
    let result =
        import::import_file(&customers, kind, cx, &a.file, &options, |p| run.show(p)).await;
    run.finish(&a.file, &fields, result)
}

/// An import's progress bar on the terminal and, when it ends, its report: the summary line
/// and the rejects file on stdout, the speed and the file's format on stderr.
pub struct Progressing {
    bar: indicatif::ProgressBar,
    started: Instant,
}

impl Progressing {
    pub fn start(file: &std::path::Path) -> Self {
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

    pub fn show(&self, p: &Progress) {
        self.bar.set_position(p.bytes_read);
        self.bar.set_message(p.line());
    }

    /// Reports the run; an import that could not run is an error naming the file.
    pub fn finish(
        self,
        file: &std::path::Path,
        fields: &[kehu_io::FieldSpec],
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

fn describe(d: &kehu_io::Detected) -> String {
    match d.format {
        kehu_io::Format::Xlsx => "XLSX".into(),
        kehu_io::Format::Csv => format!(
            "CSV, {}{}",
            d.encoding.unwrap_or("?"),
            if d.bom { " with BOM" } else { "" }
        ),
    }
}

pub async fn export(store: &Store, config: &Config, a: ExportArgs) -> anyhow::Result<()> {
    let format = Format::from_code(&a.format)
        .with_context(|| format!("--format {}: one of csv, xlsx, vcf", a.format))?;
    let (scope, _, _) = acting(store, a.as_user.as_deref(), Right::CustomerExport).await?;
    let customers = customer_store(store, config);
    let tr = Tr::new(Language::ZhCn).in_zone(config.time_zone);
    let file =
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut sink = Sink::File(std::io::BufWriter::new(file));
    let n = match a.what {
        What::Customers => {
            let owner_id = match &a.owner {
                Some(name) => Some(user_id(store, name).await?),
                None => None,
            };
            let f = CustomerFilter {
                q: a.q,
                region: a.region,
                level: a.level,
                industry: a.industry,
                owner_id,
                status: a.status,
                tag: a.tag,
                ..CustomerFilter::default()
            };
            export::customers(&customers, scope, &f, format, &tr, &mut sink).await
        }
        What::Contacts => {
            let f = ContactFilter {
                customer_id: a.customer_id,
                q: a.q,
            };
            export::contacts(&customers, scope, &f, format, &tr, &mut sink).await
        }
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    sink.finish()?;
    println!("exported {n} to {}", a.out.display());
    Ok(())
}
