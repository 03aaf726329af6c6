//! The rejects file (错误行文件) handed back after an import: every refused row with its
//! original cells, its line number and the reason, as CSV with a BOM so Excel shows Chinese
//! right. The user fixes the rows in place and imports the file again; the two extra columns
//! match no field and are ignored then.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::write::{CsvWriter, WriteError};

/// Writes the rejects file row by row; `finish` flushes it.
pub struct RejectsWriter<W: Write> {
    csv: CsvWriter<W>,
    width: usize,
    count: u64,
    line: Vec<String>,
}

impl RejectsWriter<BufWriter<File>> {
    /// Creates (or truncates) the rejects file at `path`.
    pub fn create<S: AsRef<str>>(
        path: impl AsRef<Path>,
        header: &[S],
        line_title: &str,
        reason_title: &str,
    ) -> Result<Self, WriteError> {
        let file = BufWriter::new(File::create(path)?);
        Self::new(file, header, line_title, reason_title)
    }
}

impl<W: Write> RejectsWriter<W> {
    /// Writes the header: the file's own header, then the line and reason columns (their
    /// titles are the caller's localised words).
    pub fn new<S: AsRef<str>>(
        out: W,
        header: &[S],
        line_title: &str,
        reason_title: &str,
    ) -> Result<Self, WriteError> {
        let mut titles: Vec<&str> = header.iter().map(AsRef::as_ref).collect();
        titles.extend([line_title, reason_title]);
        Ok(Self {
            csv: CsvWriter::new(out, &titles)?,
            width: header.len(),
            count: 0,
            line: Vec::new(),
        })
    }

    /// One rejected row. A short row is padded so the line and reason stay in their columns;
    /// a long one keeps its extra cells after them.
    pub fn write(&mut self, line: u64, cells: &[String], reason: &str) -> Result<(), WriteError> {
        self.line.clear();
        let (own, extra) = cells.split_at(cells.len().min(self.width));
        self.line.extend(own.iter().cloned());
        self.line.resize(self.width, String::new());
        self.line.push(line.to_string());
        self.line.push(reason.to_owned());
        self.line.extend(extra.iter().cloned());
        self.csv.write_text_row(&self.line)?;
        self.count += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flushes and hands back the output.
    pub fn finish(self) -> Result<W, WriteError> {
        let mut out = self.csv.finish()?;
        out.flush()?;
        Ok(out)
    }
}
