//! `kehu export customers|contacts`: the command line's side of the export (the binary only
//! parses and calls this). Imports go through the kit (`kehu import KIND FILE`).

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{Offset, Utc};
use kehu_domain::Right;
use kehu_domain::user::Language;
use kehu_store::Store;
use kehu_web::Config;
use kehu_web::cli::{acting, user_id};
use kehu_web::i18n::Tr;

use crate::domain::Status;
use crate::export::{self, Format, Sink};
use crate::store::{ContactFilter, CustomerFilter, CustomerStore};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    Customers,
    Contacts,
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
