//! The XLSX side of the reader: calamine's cell-by-cell worksheet reader (the sheet XML is
//! streamed from the zip; the shared-strings table is loaded whole, as Excel's format
//! requires) on a worker thread that hands rows over a small bounded channel.
//!
//! The thread exists because calamine's cell reader borrows the workbook, which an iterator
//! cannot hold next to it; the bounded channel keeps it at most a few hundred rows ahead.

use std::io::{BufReader, Read, Seek};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use calamine::{DataRef, Reader, Xlsx};

use super::{MAX_CELLS, RawRow, ReadError, ReadOptions, RejectReason, truncate_to};

const CHANNEL_ROWS: usize = 256;

pub(crate) struct XlsxSource {
    rows: Receiver<Result<RawRow, ReadError>>,
    worker: Option<JoinHandle<()>>,
}

impl XlsxSource {
    pub(crate) fn spawn<R>(reader: R, options: &ReadOptions) -> Result<Self, ReadError>
    where
        R: Read + Seek + Send + 'static,
    {
        let (tx, rows) = sync_channel(CHANNEL_ROWS);
        let options = options.clone();
        let worker = std::thread::Builder::new()
            .name("kehu-io-xlsx".into())
            .spawn(move || {
                if let Err(e) = stream_sheet(reader, &options, &tx) {
                    // The receiver may be gone (the import stopped early): nothing to tell.
                    let _ = tx.send(Err(e));
                }
            })?;
        Ok(Self {
            rows,
            worker: Some(worker),
        })
    }

    pub(crate) fn next_row(&mut self) -> Result<Option<RawRow>, ReadError> {
        match self.rows.recv() {
            Ok(row) => row.map(Some),
            // A closed channel is the end of the sheet (the thread sends its errors first),
            // unless the thread died: a parser panic on a corrupt file must not look like a
            // shorter sheet.
            Err(_) => match self.worker.take().map(JoinHandle::join) {
                Some(Err(_)) => Err(ReadError::Xlsx("the workbook could not be parsed".into())),
                _ => Ok(None),
            },
        }
    }
}

fn stream_sheet<R: Read + Seek>(
    reader: R,
    options: &ReadOptions,
    tx: &SyncSender<Result<RawRow, ReadError>>,
) -> Result<(), ReadError> {
    let mut workbook: Xlsx<_> =
        Xlsx::new(BufReader::new(reader)).map_err(|e| ReadError::Xlsx(e.to_string()))?;
    let sheet = match &options.sheet {
        Some(name) => name.clone(),
        None => workbook
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| ReadError::Xlsx("no worksheet".into()))?,
    };
    if !workbook.sheet_names().contains(&sheet) {
        return Err(ReadError::NoSuchSheet(sheet));
    }
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(|e| ReadError::Xlsx(e.to_string()))?;
    let mut row: Option<RowBuilder> = None;
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| ReadError::Xlsx(e.to_string()))?
    {
        let (r, c) = cell.get_position();
        // Worksheets store rows in ascending order; going back means a damaged file, and
        // rows must not come out twice or with line numbers out of order.
        if row.as_ref().is_some_and(|b| r < b.index) {
            return Err(ReadError::Xlsx(format!(
                "row {} out of order",
                u64::from(r) + 1
            )));
        }
        if row.as_ref().is_some_and(|b| b.index != r)
            && let Some(done) = row.take()
            && tx.send(Ok(done.finish(options))).is_err()
        {
            return Ok(());
        }
        let builder = row.get_or_insert_with(|| RowBuilder::new(r));
        builder.put(c as usize, cell.get_value());
    }
    if let Some(done) = row {
        let _ = tx.send(Ok(done.finish(options)));
    }
    Ok(())
}

struct RowBuilder {
    index: u32,
    cells: Vec<String>,
    too_many: bool,
}

impl RowBuilder {
    fn new(index: u32) -> Self {
        Self {
            index,
            cells: Vec::new(),
            too_many: false,
        }
    }

    fn put(&mut self, column: usize, value: &DataRef<'_>) {
        let text = cell_text(value);
        if text.is_empty() {
            return;
        }
        if column >= MAX_CELLS {
            self.too_many = true;
            return;
        }
        // Empty cells are often not stored at all: fill the gap.
        if self.cells.len() <= column {
            self.cells.resize(column + 1, String::new());
        }
        self.cells[column] = text;
    }

    fn finish(mut self, options: &ReadOptions) -> RawRow {
        let mut verdict = None;
        let total: usize = self.cells.iter().map(String::len).sum();
        if self.cells.iter().any(|c| c.len() > options.max_cell_bytes) {
            verdict = Some(RejectReason::CellTooLarge);
            for cell in &mut self.cells {
                truncate_to(cell, options.max_cell_bytes);
            }
        } else if total > options.max_row_bytes {
            verdict = Some(RejectReason::RowTooLarge);
        }
        if self.too_many {
            verdict = Some(RejectReason::TooManyCells);
        }
        RawRow {
            line: u64::from(self.index) + 1,
            cells: self.cells,
            verdict,
            multiline: false,
        }
    }
}

/// A cell as the text a user typed: whole numbers without `.0` (phone numbers are often
/// stored as numbers), dates as `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) => match dt.as_datetime() {
            Some(t) if dt.is_datetime() => {
                if t.time() == chrono::NaiveTime::MIN {
                    t.format("%Y-%m-%d").to_string()
                } else {
                    t.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            }
            _ => number_text(dt.as_f64()),
        },
        DataRef::Error(e) => e.to_string(),
    }
}

fn number_text(f: f64) -> String {
    // Whole numbers below 2^53 are exact in an f64; print them without a fraction.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if f.fract() == 0.0 && f.abs() < EXACT {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}
