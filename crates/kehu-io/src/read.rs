//! Reading a table file (CSV or XLSX) as a stream of rows: the first non-empty row is the
//! header, every later line comes out as a [`Row`] or as a rejected row with a
//! [`RejectReason`], and only a file that cannot be read at all is an error.
//!
//! The format is decided by content (XLSX is a zip), the CSV encoding and delimiter are
//! detected and reported in [`Detected`]. CSV is parsed in a single pass with bounded memory:
//! a cell over [`ReadOptions::max_cell_bytes`] (or a row over `max_row_bytes`, or a quote that
//! is never closed) costs at most those caps, never the file's size. XLSX is read through
//! calamine's cell-by-cell reader on a worker thread (the reader borrows the workbook).

mod csv;
mod xlsx;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::sniff;

/// Excel's column limit: a row with more cells than this is rejected, and the reader stops
/// keeping track of the extra cells.
pub const MAX_CELLS: usize = 16_384;

/// Limits for one read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// A cell longer than this (in UTF-8 bytes) rejects its row with `cell_too_large`.
    pub max_cell_bytes: usize,
    /// A row longer than this (all cells together) is rejected with `row_too_large`.
    pub max_row_bytes: usize,
    /// The XLSX worksheet to read; the first one when `None`.
    pub sheet: Option<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            max_cell_bytes: 1024 * 1024,
            max_row_bytes: 16 * 1024 * 1024,
            sheet: None,
        }
    }
}

/// The table format, found from the file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

/// What the reader found out about the file, for the import report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub format: Format,
    /// The text encoding used for CSV (`UTF-8`, `UTF-16LE`, `GBK` …, the WHATWG name);
    /// `None` for XLSX, which is always Unicode.
    pub encoding: Option<&'static str>,
    /// Whether the CSV started with a byte order mark.
    pub bom: bool,
    /// The CSV delimiter (`,`, `;` or tab).
    pub delimiter: Option<u8>,
}

/// One line of the file with its cells as they were (after decoding), for the importer and
/// for the rejects file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line number in the file where the row starts (the spreadsheet row for XLSX).
    pub line: u64,
    pub cells: Vec<String>,
}

/// Either a row to import or a row the reader already refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Row(Row),
    /// The cells may be cut short (an oversize cell keeps at most `max_cell_bytes`).
    Rejected(Row, RejectReason),
}

impl Record {
    /// The row's 1-based line, kept or rejected.
    pub fn line(&self) -> u64 {
        match self {
            Self::Row(r) | Self::Rejected(r, _) => r.line,
        }
    }
}

/// Why the reader refused a row. `code()` is the stable key for messages and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Fewer cells than the header has columns.
    TooFewCells,
    /// More non-empty cells than the header has columns.
    TooManyCells,
    /// A cell is longer than `max_cell_bytes`.
    CellTooLarge,
    /// The row is longer than `max_row_bytes`.
    RowTooLarge,
    /// Bytes that are not valid in the file's encoding.
    InvalidBytes,
    /// A quoted cell ran over line ends and left the row with the wrong number of cells:
    /// almost always a stray or unclosed `"`.
    UnbalancedQuote,
}

impl RejectReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooFewCells => "too_few_cells",
            Self::TooManyCells => "too_many_cells",
            Self::CellTooLarge => "cell_too_large",
            Self::RowTooLarge => "row_too_large",
            Self::InvalidBytes => "invalid_bytes",
            Self::UnbalancedQuote => "unbalanced_quote",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The file cannot be read at all (as opposed to a rejected row).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file has no header row")]
    Empty,
    #[error("legacy .xls files are not supported; save as .xlsx or .csv")]
    LegacyXls,
    #[error("not a readable XLSX workbook: {0}")]
    Xlsx(String),
    #[error("the workbook has no worksheet named {0:?}")]
    NoSuchSheet(String),
}

impl ReadError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "read_failed",
            Self::Empty => "empty_file",
            Self::LegacyXls => "legacy_xls",
            Self::Xlsx(_) => "invalid_xlsx",
            Self::NoSuchSheet(_) => "no_such_sheet",
        }
    }
}

/// A table file being read; iterate it for the rows after the header.
pub struct TableReader {
    header: Vec<String>,
    header_line: u64,
    detected: Detected,
    blank_rows: u64,
    source: Source,
    done: bool,
}

enum Source {
    Csv(Box<csv::CsvSource>),
    Xlsx(xlsx::XlsxSource),
}

/// What a source hands over before the checks that both formats share.
pub(crate) struct RawRow {
    pub line: u64,
    pub cells: Vec<String>,
    /// Set when the source already knows the row is bad (size caps, bytes, cell count).
    pub verdict: Option<RejectReason>,
    /// The row ran over more than one line (a quoted cell with line ends).
    pub multiline: bool,
}

impl TableReader {
    /// Opens a file and reads its header row.
    pub fn open(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Self, ReadError> {
        Self::from_reader(File::open(path)?, options)
    }

    /// Reads from any seekable source (a file, an upload kept on disk, bytes in a cursor).
    pub fn from_reader<R>(mut reader: R, options: &ReadOptions) -> Result<Self, ReadError>
    where
        R: Read + Seek + Send + 'static,
    {
        let mut sample = Vec::with_capacity(sniff::SAMPLE_BYTES);
        (&mut reader)
            .take(sniff::SAMPLE_BYTES as u64)
            .read_to_end(&mut sample)?;
        reader.seek(SeekFrom::Start(0))?;
        let (source, detected) = match sniff::kind(&sample) {
            sniff::Kind::Ole => return Err(ReadError::LegacyXls),
            sniff::Kind::Zip => {
                let source = xlsx::XlsxSource::spawn(reader, options)?;
                let detected = Detected {
                    format: Format::Xlsx,
                    encoding: None,
                    bom: false,
                    delimiter: None,
                };
                (Source::Xlsx(source), detected)
            }
            sniff::Kind::Text => {
                reader.seek(SeekFrom::Start(sample.len() as u64))?;
                let (encoding, bom) =
                    sniff::encoding(&sniff::encoding_sample(&mut reader, &sample)?);
                reader.seek(SeekFrom::Start(0))?;
                let (text, _) = encoding.decode_with_bom_removal(&sample);
                let delimiter = sniff::delimiter(&text);
                let source = csv::CsvSource::new(reader, encoding, delimiter, options);
                let detected = Detected {
                    format: Format::Csv,
                    encoding: Some(encoding.name()),
                    bom,
                    delimiter: Some(delimiter),
                };
                (Source::Csv(Box::new(source)), detected)
            }
        };
        let mut reader = Self {
            header: Vec::new(),
            header_line: 0,
            detected,
            blank_rows: 0,
            source,
            done: false,
        };
        loop {
            match reader.next_raw()? {
                None => return Err(ReadError::Empty),
                Some(raw) if is_blank(&raw.cells) => continue,
                Some(raw) => {
                    reader.header_line = raw.line;
                    reader.header = raw.cells;
                    break;
                }
            }
        }
        Ok(reader)
    }

    /// The header row's cells, as written in the file.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The 1-based line of the header row.
    pub fn header_line(&self) -> u64 {
        self.header_line
    }

    pub fn detected(&self) -> &Detected {
        &self.detected
    }

    /// Rows with no content (every cell empty or blank) skipped so far: spreadsheets often
    /// end with a run of them.
    pub fn blank_rows(&self) -> u64 {
        self.blank_rows
    }

    fn next_raw(&mut self) -> Result<Option<RawRow>, ReadError> {
        match &mut self.source {
            Source::Csv(s) => s.next_row(),
            Source::Xlsx(s) => s.next_row(),
        }
    }

    fn classify(&self, mut raw: RawRow) -> Record {
        for cell in &mut raw.cells {
            unneutralise(cell);
        }
        let width = self.header.len();
        if self.detected.format == Format::Xlsx && raw.cells.len() < width {
            // XLSX does not store empty cells, so a short row is not ragged.
            raw.cells.resize(width, String::new());
        }
        let reason = raw.verdict.or_else(|| {
            if raw.cells.len() > width && is_blank(&raw.cells[width..]) {
                // Trailing empty cells (`a,b,,,`) are how many tools pad rows.
                raw.cells.truncate(width);
            }
            let wrong_width = raw.cells.len() != width;
            if wrong_width && raw.multiline {
                Some(RejectReason::UnbalancedQuote)
            } else if raw.cells.len() < width {
                Some(RejectReason::TooFewCells)
            } else if raw.cells.len() > width {
                Some(RejectReason::TooManyCells)
            } else {
                None
            }
        });
        let row = Row {
            line: raw.line,
            cells: raw.cells,
        };
        match reason {
            Some(reason) => Record::Rejected(row, reason),
            None => Record::Row(row),
        }
    }
}

impl Iterator for TableReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.next_raw() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(None) => self.done = true,
                Ok(Some(raw)) if raw.verdict.is_none() && is_blank(&raw.cells) => {
                    self.blank_rows += 1;
                }
                Ok(Some(raw)) => return Some(Ok(self.classify(raw))),
            }
        }
        None
    }
}

fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// Undoes the writers' formula neutralisation (`'=A1` back to `=A1`), so an exported file
/// imports back to the same values.
fn unneutralise(cell: &mut String) {
    let mut chars = cell.chars();
    if chars.next() == Some('\'') && chars.next().is_some_and(crate::write::is_formula_start) {
        cell.remove(0);
    }
}

/// Cuts a cell to at most `max` bytes on a character boundary (for rejected oversize rows).
pub(crate) fn truncate_to(cell: &mut String, max: usize) {
    if cell.len() > max {
        let mut end = max;
        while !cell.is_char_boundary(end) {
            end -= 1;
        }
        cell.truncate(end);
    }
}
