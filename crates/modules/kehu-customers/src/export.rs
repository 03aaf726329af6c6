//! Exporting customers (客户导出) and contacts (联系人导出): a filtered list, whole, as CSV,
//! XLSX (real numbers and dates) or, for contacts, vCard 4.0. The list is read a page of
//! [`PAGE`] rows at a time by id and each page is handed on before the next is read, so a
//! million customers never sit in memory: CSV and vCard stream as they are written; XLSX is
//! written row by row to a temporary file in constant memory (at most Excel's 1,048,575
//! rows; more is [`ExportError::TooManyRows`]) and then handed on in chunks.
//!
//! The column titles are the import's (the user's language), dictionary values are written
//! as their labels and the manager by name, so an exported file imports back as it is.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use kehu_domain::policy::OwnerFilter;
use kehu_domain::user::Language;
use kehu_io::vcard::{Contact as Card, Phone, PhoneKind, write_vcards};
use kehu_io::{Cell, CsvWriter, WriteError, XlsxWriter};
use kehu_store::StoreError;
use kehu_web::i18n::Tr;
use rust_decimal::Decimal;

use crate::domain::kinds;
use crate::rows;
use crate::store::{Contact, ContactFilter, Customer, CustomerFilter, CustomerStore};

/// Rows read per statement.
pub const PAGE: u64 = 1000;

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    /// vCard 4.0, contacts only.
    Vcf,
}

impl Format {
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            "vcf" => Some(Self::Vcf),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Vcf => "vcf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Vcf => "text/vcard; charset=utf-8",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("more rows than an XLSX worksheet holds (1,048,575); export as CSV")]
    TooManyRows,
    #[error("customers cannot be exported as vCard")]
    NoVcard,
}

fn write_err(e: WriteError) -> ExportError {
    match e {
        WriteError::TooManyRows => ExportError::TooManyRows,
        other => ExportError::Write(other),
    }
}

/// Where an export's bytes go as they are ready: a file (the command line) or the chunks of
/// a response body.
pub enum Sink {
    File(std::io::BufWriter<std::fs::File>),
    Channel(tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>),
}

impl Sink {
    async fn put(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        match self {
            Self::File(f) => f.write_all(&chunk),
            Self::Channel(tx) => tx.send(Ok(chunk)).await.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left")
            }),
        }
    }

    /// Flushes a file.
    pub fn finish(self) -> std::io::Result<()> {
        match self {
            Self::File(mut f) => f.flush(),
            Self::Channel(_) => Ok(()),
        }
    }
}

/// Bytes written by a writer and not yet handed on.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where the rows go: CSV text, a worksheet, or vCards.
enum Out {
    Csv(Box<CsvWriter<Shared>>, Shared),
    Xlsx(Box<XlsxWriter>),
    Vcf(Vec<u8>),
}

impl Out {
    fn new(format: Format, sheet: &str, header: &[String]) -> Result<Self, ExportError> {
        Ok(match format {
            Format::Csv => {
                let buf = Shared::default();
                Self::Csv(Box::new(CsvWriter::new(buf.clone(), header)?), buf)
            }
            Format::Xlsx => Self::Xlsx(Box::new(XlsxWriter::new(sheet, header)?)),
            Format::Vcf => Self::Vcf(Vec::new()),
        })
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), ExportError> {
        match self {
            Self::Csv(w, _) => w.write_row(cells).map_err(write_err),
            Self::Xlsx(w) => w.write_row(cells).map_err(write_err),
            Self::Vcf(_) => Ok(()),
        }
    }

    /// What is ready to hand on (CSV and vCard; a workbook only when finished).
    fn ready(&mut self) -> Vec<u8> {
        match self {
            Self::Csv(_, buf) => buf.take(),
            Self::Xlsx(_) => Vec::new(),
            Self::Vcf(v) => std::mem::take(v),
        }
    }

    /// Finishes the file and hands the rest on through `drain`.
    async fn finish(self, sink: &mut Sink) -> Result<(), ExportError> {
        match self {
            Self::Csv(w, buf) => {
                w.finish()?;
                sink.put(buf.take()).await?;
            }
            Self::Vcf(v) => sink.put(v).await?,
            Self::Xlsx(w) => {
                let file = tempfile::tempfile()?;
                let (mut file, w) = tokio::task::spawn_blocking(move || {
                    let mut f = file;
                    let r = w.save_to_writer(&mut f);
                    (f, r)
                })
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
                w?;
                use std::io::Seek;
                file.rewind()?;
                loop {
                    let mut chunk = vec![0u8; 256 * 1024];
                    let n = file.read(&mut chunk)?;
                    if n == 0 {
                        break;
                    }
                    chunk.truncate(n);
                    sink.put(chunk).await?;
                }
            }
        }
        Ok(())
    }
}

/// Dictionary values → labels, per kind.
struct Labels(HashMap<(String, String), String>);

impl Labels {
    async fn load(store: &CustomerStore) -> Result<Self, StoreError> {
        let mut map = HashMap::new();
        for (kind, label, value) in rows::dict_entries(store.db()).await? {
            map.entry((kind, value)).or_insert(label);
        }
        Ok(Self(map))
    }

    fn text(&self, kind: &str, value: &Option<String>) -> Cell {
        match value {
            Some(v) => Cell::Text(
                self.0
                    .get(&(kind.to_owned(), v.clone()))
                    .cloned()
                    .unwrap_or_else(|| v.clone()),
            ),
            None => Cell::Empty,
        }
    }
}

fn text(v: &Option<String>) -> Cell {
    v.as_ref().map_or(Cell::Empty, |s| Cell::Text(s.clone()))
}

fn fen(v: Option<i64>) -> Cell {
    v.map_or(Cell::Empty, |f| Cell::Decimal(Decimal::new(f, 2)))
}

fn local(tr: &Tr, t: Option<DateTime<Utc>>) -> Cell {
    t.map_or(Cell::Empty, |t| {
        Cell::DateTime(t.with_timezone(&tr.zone.tz()).naive_local())
    })
}

fn title(tr: &Tr, spec: &kehu_io::FieldSpec) -> String {
    if tr.lang == Language::En {
        spec.label_en.clone()
    } else {
        spec.label_zh.clone()
    }
}

/// A code's label (`gender-male` → 男) in `tr`'s language.
fn code_label(tr: &Tr, prefix: &str, code: &Option<String>) -> Cell {
    code.as_ref().map_or(Cell::Empty, |c| {
        Cell::Text(tr.t(&format!("{prefix}-{}", c.replace('_', "-"))))
    })
}

/// The import's customer fields that an export writes, then status, last order and created.
const CUSTOMER_COLUMNS: usize = 28;

fn customer_header(tr: &Tr) -> Vec<String> {
    let fields = crate::import::customer_fields();
    let mut header: Vec<String> = fields[..CUSTOMER_COLUMNS]
        .iter()
        .map(|f| title(tr, f))
        .collect();
    header.extend([
        tr.t("field-status"),
        tr.t("field-last-order-at"),
        tr.t("col-created"),
    ]);
    header
}

fn customer_cells(tr: &Tr, labels: &Labels, c: &Customer) -> Vec<Cell> {
    let small = |v: Option<i16>| v.map_or(Cell::Empty, |n| Cell::Integer(i64::from(n)));
    vec![
        Cell::Text(c.code.clone()),
        Cell::Text(c.name.clone()),
        Cell::Text(c.owner_name.clone()),
        labels.text(kinds::REGION, &c.region),
        labels.text(kinds::LEVEL, &c.level),
        labels.text(kinds::INDUSTRY, &c.industry),
        labels.text(kinds::SOURCE, &c.source),
        small(c.satisfaction),
        small(c.credit),
        text(&c.address),
        text(&c.postcode),
        text(&c.phone),
        text(&c.fax),
        text(&c.website),
        text(&c.licence_no),
        text(&c.legal_rep),
        fen(c.registered_capital),
        fen(c.annual_turnover),
        text(&c.bank),
        text(&c.bank_account),
        text(&c.local_tax_no),
        text(&c.national_tax_no),
        code_label(tr, "size", &c.size),
        code_label(tr, "gender", &c.gender),
        c.birthday.map_or(Cell::Empty, Cell::Date),
        text(&c.income_band),
        Cell::Text(c.tags.clone()),
        text(&c.memo),
        code_label(tr, "customer-status", &Some(c.status.clone())),
        local(tr, c.last_order_at),
        local(tr, Some(c.created_at)),
    ]
}

/// Writes the customers in `scope` matching `f` as `format`, handing the bytes to `drain` as
/// they are ready; returns how many customers were written.
pub async fn customers(
    store: &CustomerStore,
    scope: OwnerFilter,
    f: &CustomerFilter,
    format: Format,
    tr: &Tr,
    sink: &mut Sink,
) -> Result<u64, ExportError> {
    if format == Format::Vcf {
        return Err(ExportError::NoVcard);
    }
    let labels = Labels::load(store).await?;
    let mut out = Out::new(format, &tr.t("nav-customers"), &customer_header(tr))?;
    let (mut after, mut n) = (0, 0);
    loop {
        let page = store.export_page(scope, f, after, PAGE).await?;
        for c in &page {
            out.row(&customer_cells(tr, &labels, c))?;
        }
        n += page.len() as u64;
        sink.put(out.ready()).await?;
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = last.id,
            _ => break,
        }
    }
    out.finish(sink).await?;
    Ok(n)
}

fn contact_header(tr: &Tr) -> Vec<String> {
    let mut header: Vec<String> = crate::import::contact_fields()
        .iter()
        .map(|f| title(tr, f))
        .collect();
    header.push(tr.t("col-created"));
    header
}

fn contact_cells(tr: &Tr, c: &Contact) -> Vec<Cell> {
    let primary = if c.is_primary { "yes" } else { "no" };
    vec![
        Cell::Text(c.customer_name.clone()),
        Cell::Text(c.name.clone()),
        code_label(tr, "gender", &c.gender),
        text(&c.position),
        text(&c.phone),
        text(&c.mobile),
        text(&c.email),
        text(&c.memo),
        Cell::Text(tr.t(&format!("import-{primary}"))),
        local(tr, Some(c.created_at)),
    ]
}

fn card(c: &Contact) -> Card {
    let phones = [(&c.mobile, PhoneKind::Cell), (&c.phone, PhoneKind::Work)]
        .into_iter()
        .filter_map(|(n, kind)| {
            n.as_ref().map(|number| Phone {
                number: number.clone(),
                kind,
            })
        })
        .collect();
    Card {
        full_name: c.name.clone(),
        phones,
        emails: c.email.iter().cloned().collect(),
        org: Some(c.customer_name.clone()),
        title: c.position.clone(),
        note: c.memo.clone(),
        ..Card::default()
    }
}

/// Writes the contacts in `scope` matching `f` as `format` (vCard 4.0 too), handing the bytes
/// to `drain` as they are ready; returns how many contacts were written.
pub async fn contacts(
    store: &CustomerStore,
    scope: OwnerFilter,
    f: &ContactFilter,
    format: Format,
    tr: &Tr,
    sink: &mut Sink,
) -> Result<u64, ExportError> {
    let mut out = Out::new(format, &tr.t("customers-contacts"), &contact_header(tr))?;
    let (mut after, mut n) = (0, 0);
    loop {
        let page = store.export_contacts_page(scope, f, after, PAGE).await?;
        match &mut out {
            Out::Vcf(buf) => {
                let cards: Vec<Card> = page.iter().map(card).collect();
                buf.extend_from_slice(write_vcards(&cards).as_bytes());
            }
            _ => {
                for c in &page {
                    out.row(&contact_cells(tr, c))?;
                }
            }
        }
        n += page.len() as u64;
        sink.put(out.ready()).await?;
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = last.id,
            _ => break,
        }
    }
    out.finish(sink).await?;
    Ok(n)
}

/// The list's filters as the export API's query (`&region=440000…`, each value escaped), for
/// the export buttons of the list page.
pub fn list_query(f: &CustomerFilter, owner: Option<&str>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let mut push = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            pairs.push((k, v.clone()));
        }
    };
    push("q", &f.q);
    push("region", &f.region);
    push("level", &f.level);
    push("industry", &f.industry);
    push("tag", &f.tag);
    push("segment", &f.segment);
    push("value_class", &f.value_class);
    push("status", &f.status.map(|s| s.code().to_owned()));
    push(
        "owner_id",
        &owner.map(str::to_owned).filter(|o| !o.trim().is_empty()),
    );
    let rfc =
        |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    push("created_from", &rfc(&f.created_from));
    push("created_to", &rfc(&f.created_to));
    pairs
        .iter()
        .map(|(k, v)| format!("&{k}={}", form_urlencoded_value(v)))
        .collect()
}

fn form_urlencoded_value(v: &str) -> String {
    serde_urlencoded::to_string([("v", v)])
        .map(|s| s.trim_start_matches("v=").to_owned())
        .unwrap_or_default()
}
