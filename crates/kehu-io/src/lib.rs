//! The import/export file kit (导入导出): everything about table files and vCards that the
//! modules' import and export share, with no database and no HTTP.
//!
//! - [`read`]: a CSV or XLSX file as a stream of rows (format by content, encoding and
//!   delimiter detected), each row either kept with its 1-based line number or rejected with
//!   a reason code; nothing is read whole into memory for CSV.
//! - [`header`]: which column is which field (by field name or zh-CN / English label).
//! - [`rejects`]: the rejected-rows file handed back to the user.
//! - [`write`](mod@write): CSV and XLSX exports with typed cells and formula neutralisation.
//! - [`vcard`]: contacts as vCard 4.0 out, vCard 3.0 / 4.0 in.
//!
//! An import goes: [`TableReader::open`] (reads the header; an unreadable file is a
//! [`ReadError`]), [`map_headers`] with the module's [`FieldSpec`]s (a missing required
//! column is a [`HeaderError`] before any row), then the reader as an iterator: each
//! [`Record::Row`] is validated by the module, and each [`Record::Rejected`] (or row the
//! module refuses) goes to a [`RejectsWriter`] with its line and reason. The reader is `Send`,
//! so it runs on a blocking worker.
//!
//! Every error carries a stable snake_case `code()`; user-facing text lives in the web
//! crate's Fluent files, keyed by those codes.

pub mod header;
pub mod read;
pub mod rejects;
mod sniff;
pub mod vcard;
pub mod write;

pub use header::{FieldSpec, HeaderError, HeaderMap, map_headers};
pub use read::{Detected, Format, ReadError, ReadOptions, Record, RejectReason, Row, TableReader};
pub use rejects::RejectsWriter;
pub use write::{Cell, CsvWriter, WriteError, XlsxWriter, neutralise};
