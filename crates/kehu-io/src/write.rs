//! Export writers (导出): CSV (UTF-8 with BOM, so Excel opens Chinese text right) and XLSX
//! (constant-memory, so a million rows do not sit in memory) from typed [`Cell`]s: numbers,
//! dates and date-times become real spreadsheet values, not text.
//!
//! Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
//! CR) is written with a leading `'` in both formats ([`neutralise`]); the reader strips that
//! `'` again so an exported file imports back unchanged.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The UTF-8 byte order mark: without it Excel reads a CSV in the system's legacy code page.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Excel's last row (1,048,576 rows, the header included).
const MAX_XLSX_ROWS: u32 = 1_048_576;

/// Whole numbers above this lose digits in a spreadsheet's f64: they are written as text.
const EXACT_INTEGER: i64 = 9_007_199_254_740_992;

/// One exported value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Integer(i64),
    /// Money and other exact amounts: exact text in CSV, a number cell with the value's
    /// decimal places as its format in XLSX.
    Decimal(Decimal),
    Date(NaiveDate),
    /// A local date-time (convert to the reader's time zone before writing).
    DateTime(NaiveDateTime),
    Empty,
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing XLSX: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("more rows than an XLSX worksheet holds (1,048,576)")]
    TooManyRows,
}

impl WriteError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooManyRows => "too_many_rows",
            Self::Io(_) | Self::Csv(_) | Self::Xlsx(_) => "write_failed",
        }
    }
}

pub(crate) fn is_formula_start(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// Text made safe to open in a spreadsheet: a leading `'` when it would start a formula.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if text.starts_with(is_formula_start) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A CSV export: UTF-8 with BOM, comma-separated, CRLF-free (`\n`) lines.
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
    line: Vec<String>,
}

impl<W: Write> CsvWriter<W> {
    /// Writes the BOM and the header row.
    pub fn new<S: AsRef<str>>(mut out: W, header: &[S]) -> Result<Self, WriteError> {
        out.write_all(BOM)?;
        // Flexible: the rejects file repeats ragged rows as they were.
        let inner = csv::WriterBuilder::new().flexible(true).from_writer(out);
        let mut writer = Self {
            inner,
            line: Vec::new(),
        };
        writer.write_text_row(header)?;
        Ok(writer)
    }

    pub fn write_row(&mut self, cells: &[Cell]) -> Result<(), WriteError> {
        self.line.clear();
        for cell in cells {
            self.line.push(match cell {
                Cell::Text(s) => neutralise(s).into_owned(),
                Cell::Integer(i) => i.to_string(),
                Cell::Decimal(d) => d.to_string(),
                Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
                Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
                Cell::Empty => String::new(),
            });
        }
        self.inner.write_record(&self.line)?;
        Ok(())
    }

    /// A row of plain text cells (each neutralised).
    pub fn write_text_row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), WriteError> {
        self.inner
            .write_record(cells.iter().map(|c| neutralise(c.as_ref()).into_owned()))?;
        Ok(())
    }

    /// Flushes and hands back the output.
    pub fn finish(self) -> Result<W, WriteError> {
        self.inner
            .into_inner()
            .map_err(|e| WriteError::Io(std::io::Error::other(e.to_string())))
    }
}

/// An XLSX export with one worksheet, written row by row in constant memory (rows go to a
/// temporary file as they are written; the workbook is assembled on save). Text longer than
/// Excel's 32,767 characters per cell is cut there.
pub struct XlsxWriter {
    workbook: Workbook,
    next_row: u32,
    date: Format,
    datetime: Format,
    /// Number formats by decimal places (`0.00` for two).
    decimals: HashMap<u32, Format>,
}

impl XlsxWriter {
    /// Starts the worksheet (named `sheet`, e.g. the module's localised title) with a bold,
    /// frozen header row.
    pub fn new<S: AsRef<str>>(sheet: &str, header: &[S]) -> Result<Self, WriteError> {
        let mut workbook = Workbook::new();
        let worksheet = workbook.add_worksheet_with_constant_memory()?;
        worksheet.set_name(sheet)?;
        worksheet.set_freeze_panes(1, 0)?;
        let bold = Format::new().set_bold();
        for (col, title) in header.iter().enumerate() {
            worksheet.write_string_with_format(
                0,
                column(col)?,
                neutralise(title.as_ref()),
                &bold,
            )?;
        }
        Ok(Self {
            workbook,
            next_row: 1,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            decimals: HashMap::new(),
        })
    }

    pub fn write_row(&mut self, cells: &[Cell]) -> Result<(), WriteError> {
        if self.next_row >= MAX_XLSX_ROWS {
            return Err(WriteError::TooManyRows);
        }
        let row = self.next_row;
        for (col, cell) in cells.iter().enumerate() {
            let col = column(col)?;
            if let Cell::Decimal(d) = cell {
                self.decimals.entry(d.scale()).or_insert_with(|| {
                    let places = "0".repeat(d.scale() as usize);
                    let pattern = if places.is_empty() {
                        "0".to_owned()
                    } else {
                        format!("0.{places}")
                    };
                    Format::new().set_num_format(pattern)
                });
            }
            let sheet = self.workbook.worksheet_from_index(0)?;
            match cell {
                Cell::Text(s) => {
                    sheet.write_string(row, col, fit_cell(neutralise(s)))?;
                }
                Cell::Integer(i) if i.unsigned_abs() <= EXACT_INTEGER.unsigned_abs() => {
                    // In range, so the conversion is exact.
                    #[allow(clippy::cast_precision_loss, reason = "checked against 2^53")]
                    sheet.write_number(row, col, *i as f64)?;
                }
                Cell::Integer(i) => {
                    sheet.write_string(row, col, i.to_string())?;
                }
                Cell::Decimal(d) => match (d.to_f64(), self.decimals.get(&d.scale())) {
                    (Some(f), Some(format)) => {
                        sheet.write_number_with_format(row, col, f, format)?;
                    }
                    _ => {
                        sheet.write_string(row, col, d.to_string())?;
                    }
                },
                Cell::Date(d) => {
                    sheet.write_datetime_with_format(row, col, d, &self.date)?;
                }
                Cell::DateTime(t) => {
                    sheet.write_datetime_with_format(row, col, t, &self.datetime)?;
                }
                Cell::Empty => {}
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Rows written so far, the header not counted.
    pub fn rows(&self) -> u32 {
        self.next_row - 1
    }

    pub fn save(mut self, path: impl AsRef<Path>) -> Result<(), WriteError> {
        self.workbook.save(path)?;
        Ok(())
    }

    pub fn save_to_writer<W: Write + Send>(mut self, out: W) -> Result<(), WriteError> {
        self.workbook.save_to_writer(out)?;
        Ok(())
    }
}

/// Excel's limit for one cell's text.
const MAX_XLSX_CHARS: usize = 32_767;

/// Text cut to what an XLSX cell holds: a longer memo would make the whole export fail.
fn fit_cell(text: Cow<'_, str>) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_XLSX_CHARS) {
        Some((end, _)) => Cow::Owned(text[..end].to_owned()),
        None => text,
    }
}

fn column(index: usize) -> Result<u16, WriteError> {
    u16::try_from(index)
        .ok()
        .filter(|&c| c < 16_384)
        .ok_or(WriteError::Xlsx(XlsxError::RowColumnLimitError))
}
