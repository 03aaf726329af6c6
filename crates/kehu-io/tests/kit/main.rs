//! The kit's files built in the test and read, written and read back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test"
)]

mod csv_read;
mod flow;
mod fuzz;
mod vcard;
mod write;
mod xlsx;

use std::io::Cursor;

use kehu_io::{ReadOptions, Record, TableReader};

pub fn open(bytes: impl Into<Vec<u8>>) -> TableReader {
    open_with(bytes, &ReadOptions::default())
}

pub fn open_with(bytes: impl Into<Vec<u8>>, options: &ReadOptions) -> TableReader {
    TableReader::from_reader(Cursor::new(bytes.into()), options).unwrap()
}

/// Every record of a reader, with the reader kept for its counters.
pub fn records(reader: &mut TableReader) -> Vec<Record> {
    reader.by_ref().map(Result::unwrap).collect()
}

pub fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| (*s).to_owned()).collect()
}

pub fn row(line: u64, cells: &[&str]) -> Record {
    Record::Row(kehu_io::Row {
        line,
        cells: strings(cells),
    })
}

pub fn rejected(line: u64, cells: &[&str], reason: kehu_io::RejectReason) -> Record {
    Record::Rejected(
        kehu_io::Row {
            line,
            cells: strings(cells),
        },
        reason,
    )
}
