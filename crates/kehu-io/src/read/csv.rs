//! The CSV side of the reader: bytes → UTF-8 (transcoded when the file is not UTF-8) →
//! csv-core, with our own buffers so that no cell or row costs more memory than its cap.
//!
//! csv-core never fails: it prefers some parse to none, so ragged rows and stray quotes come
//! out as rows with an odd cell count, which the shared checks in `read` then reject.

use std::io::{BufRead, BufReader, Read};

use encoding_rs::Encoding;

use super::{MAX_CELLS, RawRow, ReadError, ReadOptions, RejectReason, truncate_to};

const BUF_BYTES: usize = 64 * 1024;

pub(crate) struct CsvSource {
    input: Box<dyn BufRead + Send>,
    parser: csv_core::Reader,
    /// The row's bytes as csv-core writes them (cells back to back), up to the caps.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Where output goes once a row is over its cap: parsed, counted, dropped.
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
    /// Invalid bytes became U+FFFD in transcoding; for UTF-8 they are checked per cell.
    transcoded: bool,
    max_cell: usize,
    max_row: usize,
    finished: bool,
    /// Line ends consumed so far (`\n`, `\r\n` and a lone `\r` each count once; csv-core's
    /// own counter sees only `\n`, which numbers a classic-Mac file as one line).
    line_ends: u64,
    after_cr: bool,
}

impl CsvSource {
    pub(crate) fn new<R: Read + Send + 'static>(
        reader: R,
        encoding: &'static Encoding,
        delimiter: u8,
        options: &ReadOptions,
    ) -> Self {
        let transcoded = encoding != encoding_rs::UTF_8;
        let input: Box<dyn BufRead + Send> = if transcoded {
            let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .strip_bom(true)
                .build(reader);
            Box::new(BufReader::with_capacity(BUF_BYTES, decoded))
        } else {
            // csv-core drops a UTF-8 BOM itself.
            Box::new(BufReader::with_capacity(BUF_BYTES, reader))
        };
        Self {
            input,
            parser: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: vec![0; 4096],
            ends: vec![0; 64],
            scratch: vec![0; BUF_BYTES],
            scratch_ends: vec![0; 1024],
            transcoded,
            max_cell: options.max_cell_bytes,
            max_row: options.max_row_bytes,
            finished: false,
            line_ends: 0,
            after_cr: false,
        }
    }

    pub(crate) fn next_row(&mut self) -> Result<Option<RawRow>, ReadError> {
        if self.finished {
            return Ok(None);
        }
        let mut out_len = 0;
        let mut ends_len = 0;
        // Cells seen after the ends buffer reached MAX_CELLS.
        let mut dropped_cells = 0usize;
        let mut keeping = true;
        // Line ends inside quoted cells, which csv-core keeps in the output.
        let mut newlines = 0u64;
        let mut out_after_cr = false;
        // The last byte consumed for this row: its terminator, unless the file ended.
        let mut last_byte = None;
        loop {
            let input = self.input.fill_buf()?;
            let at_eof = input.is_empty();
            let out: &mut [u8] = if keeping {
                &mut self.out[out_len..]
            } else {
                &mut self.scratch[..]
            };
            let over_cells = ends_len >= MAX_CELLS;
            let ends: &mut [usize] = if over_cells {
                &mut self.scratch_ends[..]
            } else {
                &mut self.ends[ends_len..]
            };
            let (result, nin, nout, nend) = self.parser.read_record(input, out, ends);
            if let Some(&b) = nin.checked_sub(1).and_then(|i| input.get(i)) {
                last_byte = Some(b);
            }
            self.line_ends += count_line_ends(&input[..nin], &mut self.after_cr);
            newlines += count_line_ends(&out[..nout], &mut out_after_cr);
            self.input.consume(nin);
            if keeping {
                out_len += nout;
            }
            if over_cells {
                dropped_cells += nend;
            } else {
                ends_len += nend;
            }
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    if keeping {
                        let field_start = ends_len
                            .checked_sub(1)
                            .and_then(|i| self.ends.get(i).copied())
                            .unwrap_or(0);
                        if out_len - field_start > self.max_cell || out_len > self.max_row {
                            keeping = false;
                        } else {
                            let grown = (self.out.len() * 2).max(4096);
                            self.out.resize(grown, 0);
                        }
                    }
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    if !over_cells {
                        let grown = (self.ends.len() * 2).min(MAX_CELLS);
                        self.ends.resize(grown, 0);
                    }
                }
                csv_core::ReadRecordResult::Record => {
                    // Line k ends with the k-th line end; a row cut by the end of the file
                    // has none of its own (a line end just before the end of the file then
                    // belongs to an unclosed quoted cell).
                    let last_line = match last_byte {
                        Some(b'\n' | b'\r') if !at_eof => self.line_ends,
                        _ => self.line_ends + 1,
                    };
                    let line = last_line.saturating_sub(newlines).max(1);
                    return Ok(Some(self.finish_row(
                        line,
                        out_len,
                        ends_len,
                        dropped_cells,
                        newlines > 0,
                    )));
                }
                csv_core::ReadRecordResult::End => {
                    self.finished = true;
                    return Ok(None);
                }
            }
        }
    }

    fn finish_row(
        &self,
        line: u64,
        kept: usize,
        ends_len: usize,
        dropped_cells: usize,
        multiline: bool,
    ) -> RawRow {
        let mut verdict = None;
        let mut cells = Vec::with_capacity(ends_len);
        let mut start = 0;
        for &end in &self.ends[..ends_len] {
            if end - start > self.max_cell {
                verdict = Some(RejectReason::CellTooLarge);
            }
            let bytes = &self.out[start.min(kept)..end.min(kept)];
            let cell = match std::str::from_utf8(bytes) {
                Ok(s) if !(self.transcoded && s.contains('\u{FFFD}')) => s.to_owned(),
                Ok(s) => {
                    verdict.get_or_insert(RejectReason::InvalidBytes);
                    s.to_owned()
                }
                Err(_) => {
                    verdict.get_or_insert(RejectReason::InvalidBytes);
                    String::from_utf8_lossy(bytes).into_owned()
                }
            };
            cells.push(cell);
            start = end;
        }
        if verdict == Some(RejectReason::CellTooLarge) {
            for cell in &mut cells {
                truncate_to(cell, self.max_cell);
            }
        }
        if start > self.max_row && verdict != Some(RejectReason::CellTooLarge) {
            verdict = Some(RejectReason::RowTooLarge);
        }
        if dropped_cells > 0 {
            verdict = Some(RejectReason::TooManyCells);
        }
        RawRow {
            line,
            cells,
            verdict,
            multiline,
        }
    }
}

/// Counts line ends: `\n`, `\r\n` and a lone `\r` once each. `after_cr` carries a `\r` at
/// the end of one buffer over to the next.
fn count_line_ends(bytes: &[u8], after_cr: &mut bool) -> u64 {
    let mut n = 0;
    for &b in bytes {
        if b == b'\r' || (b == b'\n' && !*after_cr) {
            n += 1;
        }
        *after_cr = b == b'\r';
    }
    n
}
