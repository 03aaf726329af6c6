//! What every report is asked, on its page and in the API, and how it answers with a file:
//! the one place the reports read their query strings (`PageAsk`: a period preset or days of
//! one's own, what it is counted by, the customers, an export format), check an API's choices
//! (`choice`, `format_of`) and hand a table over as XLSX or CSV (`api_file`, `page_file`).

use axum::response::Response;
use kehu_domain::error::Errors;
use kehu_domain::{DomainError, FieldError};
use kehu_io::WriteError;
use kehu_web::AppState;
use kehu_web::error::{ApiError, AppError, PageError};
use serde::Deserialize;

use crate::period::Days;
use crate::table::{Format, Heading, Table};

/// `s` trimmed, unless it is empty.
pub fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `s` for a query string.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What a report page may be asked. Pages are lenient: a value that is no choice of the
/// report's is left out.
#[derive(Debug, Deserialize, Default)]
pub struct PageAsk {
    /// A preset (`this_year` …, the default), or `custom` with `from` and `to`.
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// What the report is counted by (`level`, `month` …).
    pub by: Option<String>,
    /// Which of the report's tables (`sales`, `margin` …).
    pub view: Option<String>,
    /// The beginning of a customer's name or code.
    pub q: Option<String>,
    /// An account manager's user id.
    pub owner: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    /// `csv` or `xlsx`: the report as a file.
    pub format: Option<String>,
}

impl PageAsk {
    /// The period's preset code (`custom`: days of one's own).
    pub fn preset(&self) -> &str {
        blank(&self.period).unwrap_or("this_year")
    }

    /// The days asked for: a preset's on today (in the configured zone), or the days given.
    pub fn days(&self, state: &AppState) -> Days {
        match Days::preset(self.preset(), crate::today(state)) {
            Some(d) => d,
            None => {
                let mut e = Errors::new();
                Days::parse(&mut e, blank(&self.from), blank(&self.to))
            }
        }
    }

    pub fn format(&self) -> Option<Format> {
        blank(&self.format).and_then(Format::from_code)
    }

    /// `path` asked the same (the cursor left out), with `extra` pairs in place of the ones
    /// of the same name.
    pub fn link(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = [
            ("period", &self.period),
            ("from", &self.from),
            ("to", &self.to),
            ("by", &self.by),
            ("view", &self.view),
            ("q", &self.q),
            ("owner", &self.owner),
            ("sort", &self.sort),
        ]
        .into_iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .filter_map(|(k, v)| blank(v).map(|v| (k, v)))
        .collect();
        pairs.extend(extra.iter().copied());
        if pairs.is_empty() {
            return path.to_owned();
        }
        let qs: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("{path}?{}", qs.join("&"))
    }
}

/// An API's choice `field` among what `parse` knows: `default` when not given, a field error
/// in `e` when given and unknown.
pub fn choice<T>(
    e: &mut Errors,
    field: &str,
    given: &Option<String>,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
) -> T {
    match blank(given) {
        None => default,
        Some(code) => parse(code).unwrap_or_else(|| {
            e.push(FieldError::new(field, "err-invalid"));
            default
        }),
    }
}

/// `format` given: the export's format, or a field error.
pub fn format_of(e: &mut Errors, format: &Option<String>) -> Option<Format> {
    let code = blank(format)?;
    let f = Format::from_code(code);
    if f.is_none() {
        e.push(FieldError::new("format", "err-invalid"));
    }
    f
}

/// A report's figures that can be written to a file.
pub trait Export {
    /// The file named `name` (ASCII, no extension) in `format`, under `heading`.
    fn export(&self, heading: &Heading, format: Format, name: &str)
    -> Result<Response, WriteError>;
}

impl Export for Table {
    fn export(
        &self,
        heading: &Heading,
        format: Format,
        name: &str,
    ) -> Result<Response, WriteError> {
        Table::export(self, heading, format, name)
    }
}

/// A report written to a file, as the API answers it: more rows than a worksheet holds is a
/// field error on `format` (export as CSV).
pub fn api_file(
    t: &impl Export,
    heading: &Heading,
    format: Format,
    name: &str,
) -> Result<Response, ApiError> {
    t.export(heading, format, name).map_err(|e| {
        ApiError(match e {
            WriteError::TooManyRows => {
                AppError::Domain(DomainError::field("format", "err-export-too-many-rows"))
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        })
    })
}

/// A report written to a file from its page, or an error page when it cannot be written.
pub fn page_file(
    t: &impl Export,
    heading: &Heading,
    format: Format,
    name: &str,
) -> Result<Response, PageError> {
    t.export(heading, format, name)
        .map_err(|e| PageError::from(AppError::Internal(anyhow::Error::new(e))))
}
