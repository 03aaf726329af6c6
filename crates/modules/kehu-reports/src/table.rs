//! A report as a table: its columns (key, title, kind), its rows and its totals. The page
//! shows it, the API answers its rows, and [`Table::export`] writes it to XLSX — amounts,
//! counts, shares and days as real spreadsheet values — or CSV, with the report's title, its
//! filters and who read it when above the header.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use kehu_io::{Cell, CsvWriter, WriteError, XlsxWriter};
use rust_decimal::Decimal;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Count,
    /// Fen, shown and exported as yuan with two places.
    Money,
    /// Basis points (1/10,000), shown and exported as a percentage with one place.
    Share,
    Day,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub key: &'static str,
    pub title: String,
    pub kind: Kind,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Day(NaiveDate),
    Empty,
}

impl Value {
    /// As the page shows it in a column of `kind`.
    pub fn show(&self, kind: Kind) -> String {
        match (self, kind) {
            (Value::Int(fen), Kind::Money) => group(&kehu_domain::money::fen_to_decimal(*fen)),
            (Value::Int(bp), Kind::Share) => share(*bp),
            (Value::Int(n), _) => group(&n.to_string()),
            (Value::Text(s), _) => s.clone(),
            (Value::Day(d), _) => d.format("%Y-%m-%d").to_string(),
            (Value::Empty, _) => String::new(),
        }
    }

    /// As a spreadsheet cell of a column of `kind`.
    fn cell(&self, kind: Kind) -> Cell {
        match (self, kind) {
            (Value::Int(fen), Kind::Money) => Cell::Decimal(Decimal::new(*fen, 2)),
            // A share as a fraction with its percentage shown (XLSX) or written (CSV).
            (Value::Int(bp), Kind::Share) => Cell::Decimal(Decimal::new(*bp, 2)),
            (Value::Int(n), _) => Cell::Integer(*n),
            (Value::Text(s), _) => Cell::Text(s.clone()),
            (Value::Day(d), _) => Cell::Date(*d),
            (Value::Empty, _) => Cell::Empty,
        }
    }
}

/// `12345678.90` → `12,345,678.90`.
fn group(number: &str) -> String {
    let (sign, rest) = number.strip_prefix('-').map_or(("", number), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// Fen as yuan with two places, exact (how the API answers amounts): 123450 → `"1234.50"`.
pub fn yuan(fen: i64) -> String {
    kehu_domain::money::fen_to_decimal(fen)
}

/// Basis points as a percentage with two places (how the API answers shares): 2500 →
/// `"25.00"`.
pub fn percent(bp: i64) -> String {
    kehu_domain::money::fen_to_decimal(bp)
}

/// Basis points as a percentage with one place: 2500 → `25.0%`.
pub fn share(bp: i64) -> String {
    let tenths = (bp + 5).div_euclid(10);
    format!("{}.{}%", tenths.div_euclid(10), tenths.rem_euclid(10))
}

/// `part` of `whole` in basis points, rounded half up (0 of nothing).
pub fn basis_points(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    let (p, w) = (i128::from(part), i128::from(whole));
    i64::try_from((p * 10_000 * 2 + w) / (w * 2)).unwrap_or(0)
}

/// A report's figures.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// The totals row (its first cell the word "total").
    pub totals: Option<Vec<Value>>,
}

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// What stands above an export's header: the report's title, its filters, when and by whom.
#[derive(Debug, Clone)]
pub struct Heading {
    pub title: String,
    /// One line each: "期间：2026-01-01 – 2026-12-31".
    pub lines: Vec<String>,
}

impl Table {
    pub fn column(&mut self, key: &'static str, title: String, kind: Kind) -> &mut Self {
        self.columns.push(Column { key, title, kind });
        self
    }

    /// The shown text of each cell of `row`.
    pub fn shown(&self, row: &[Value]) -> Vec<String> {
        row.iter()
            .zip(&self.columns)
            .map(|(v, c)| v.show(c.kind))
            .collect()
    }

    /// The table as a file named `name` (ASCII, no extension) in `format`: the heading's
    /// lines, a blank line, the header, the rows and the totals.
    pub fn export(
        &self,
        heading: &Heading,
        format: Format,
        name: &str,
    ) -> Result<Response, WriteError> {
        let titles: Vec<&str> = self.columns.iter().map(|c| c.title.as_str()).collect();
        let blank = vec![Cell::Empty; self.columns.len()];
        let mut top: Vec<Vec<Cell>> = vec![{
            let mut r = blank.clone();
            r[0] = Cell::Text(heading.title.clone());
            r
        }];
        for l in &heading.lines {
            let mut r = blank.clone();
            r[0] = Cell::Text(l.clone());
            top.push(r);
        }
        top.push(blank);
        let header: Vec<Cell> = titles.iter().map(|t| Cell::Text((*t).to_owned())).collect();
        let cells = |row: &[Value]| -> Vec<Cell> {
            row.iter()
                .zip(&self.columns)
                .map(|(v, c)| v.cell(c.kind))
                .collect()
        };
        let body = std::iter::once(header)
            .chain(self.rows.iter().map(|r| cells(r)))
            .chain(self.totals.iter().map(|r| cells(r)));
        let bytes = match format {
            Format::Csv => {
                // The heading's lines go above a header of their own width.
                let mut w = CsvWriter::new(Vec::new(), &[heading.title.as_str()])?;
                for r in top.iter().skip(1) {
                    w.write_row(&r[..1])?;
                }
                for r in body {
                    w.write_row(&r)?;
                }
                w.finish()?
            }
            Format::Xlsx => {
                let mut w = XlsxWriter::new("report", &[heading.title.as_str()])?;
                for r in top.iter().skip(1) {
                    w.write_row(&r[..1])?;
                }
                for r in body {
                    w.write_row(&r)?;
                }
                let mut out = Vec::new();
                w.save_to_writer(&mut out)?;
                out
            }
        };
        let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(format.content_type()),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&disposition)
                        .unwrap_or(HeaderValue::from_static("attachment")),
                ),
            ],
            bytes,
        )
            .into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_grouped_with_two_places_and_shares_with_one() {
        assert_eq!(Value::Int(1_234_567_890).show(Kind::Money), "12,345,678.90");
        assert_eq!(Value::Int(-5).show(Kind::Money), "-0.05");
        assert_eq!(Value::Int(2_500).show(Kind::Share), "25.0%");
        assert_eq!(Value::Int(3_333).show(Kind::Share), "33.3%");
        assert_eq!(Value::Int(1_000_000).show(Kind::Count), "1,000,000");
    }

    #[test]
    fn a_share_is_rounded_half_up_to_a_basis_point() {
        assert_eq!(basis_points(1, 3), 3_333);
        assert_eq!(basis_points(2, 3), 6_667);
        assert_eq!(basis_points(5, 0), 0);
        assert_eq!(basis_points(3, 3), 10_000);
    }
}
