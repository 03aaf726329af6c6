//! The CSV edge: parsing `customer_id,date,amount` files (optionally with `product`,
//! `quantity`, `cost`) into transactions and product lines (with line numbers in every
//! error) and writing `customers.csv` and `products.csv`. The only module that reads bytes.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap;

use crate::Day;
use crate::analysis::CustomerResults;
use crate::products::{ProductFigures, ProductSale};
use crate::summary::{CustomerSummary, Transaction};

/// Bad input: the line it is on and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for InputError {}

fn bad(line: u64, reason: impl Into<String>) -> InputError {
    InputError {
        line,
        reason: reason.into(),
    }
}

/// Transactions read from a file, customers interned to dense indices.
#[derive(Debug)]
pub struct Loaded {
    pub transactions: Vec<Transaction>,
    /// Customer id of each dense index.
    pub ids: CustomerIds,
    pub as_of: Day,
    /// Data rows read (excluding the header).
    pub rows: u64,
    /// Rows dated after as-of, left out.
    pub rows_after_as_of: u64,
    /// The rows that name a product; `None` when the file has no product column.
    pub products: Option<ProductLines>,
}

/// The sold lines of the rows that name a product, products interned to dense indices.
#[derive(Debug, Default)]
pub struct ProductLines {
    /// Product name of each dense index.
    pub names: Vec<String>,
    pub lines: Vec<ProductSale>,
}

/// The columns a header may name: three required, then the optional product columns.
const COLUMNS: [&str; 6] = [
    "customer_id",
    "date",
    "amount",
    "product",
    "quantity",
    "cost",
];
const REQUIRED: usize = 3;
const HEADER_RULE: &str =
    "the header must be customer_id,date,amount, optionally with product, quantity, cost";

/// Where each column is in a row, and how many fields a row has.
#[derive(Clone, Copy, Debug)]
struct Columns {
    customer_id: usize,
    date: usize,
    amount: usize,
    product: Option<usize>,
    quantity: Option<usize>,
    cost: Option<usize>,
    width: usize,
}

impl Columns {
    /// The fields a row must have, in the order of [`COLUMNS`]: "customer_id,date,amount".
    fn names(&self) -> String {
        let present = [
            true,
            true,
            true,
            self.product.is_some(),
            self.quantity.is_some(),
            self.cost.is_some(),
        ];
        COLUMNS
            .iter()
            .zip(present)
            .filter(|(_, present)| *present)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Product names by dense index.
#[derive(Debug, Default)]
struct ProductNames {
    names: Vec<String>,
    index: FxHashMap<Box<[u8]>, u32>,
}

impl ProductNames {
    /// The index of `name`, new or known; `None` when the text is not UTF-8.
    fn intern(&mut self, name: &[u8]) -> Option<u32> {
        match self.index.get(name) {
            Some(&p) => Some(p),
            None => Some(self.insert(std::str::from_utf8(name).ok()?)),
        }
    }

    fn intern_str(&mut self, name: &str) -> u32 {
        match self.index.get(name.as_bytes()) {
            Some(&p) => p,
            None => self.insert(name),
        }
    }

    fn insert(&mut self, name: &str) -> u32 {
        let p = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.as_bytes().into(), p);
        p
    }
}

/// Customer ids by dense index, kept in one string (a million small allocations would
/// cost more than the ids themselves).
#[derive(Debug, Default, Clone)]
pub struct CustomerIds {
    text: String,
    ends: Vec<usize>,
}

impl CustomerIds {
    pub fn push(&mut self, id: &str) -> u32 {
        self.text.push_str(id);
        self.ends.push(self.text.len());
        (self.ends.len() - 1) as u32
    }

    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl<S: AsRef<str>> FromIterator<S> for CustomerIds {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut ids = CustomerIds::default();
        for s in iter {
            ids.push(s.as_ref());
        }
        ids
    }
}

/// Below this, canonical integer ids index a table directly (4 bytes per possible id,
/// touched only where ids exist).
const DENSE_IDS: u64 = 1 << 24;

/// Maps id text to dense customer indices. Canonical non-negative integers (no sign, no
/// leading zero) skip hashing the text: a direct table for small ones, an integer-keyed
/// map for the rest. Ids of one shape — a fixed prefix and a fixed number of digits,
/// `C0000123`, learnt from the first such id — index a direct table by their digits too. Other
/// text of up to 15 bytes (`C0000123`, most order systems' ids) is
/// packed with its length into a `u128` key, so a lookup compares two integers instead of
/// following a pointer to compare bytes (a cache miss per row on a million customers);
/// longer text goes to a text-keyed map. The four never overlap.
#[derive(Default)]
struct Interner {
    ids: CustomerIds,
    dense: Vec<u32>,
    integers: FxHashMap<u64, u32>,
    shape: Option<Shape>,
    short_texts: FxHashMap<u128, u32>,
    texts: FxHashMap<Box<[u8]>, u32>,
    last: Vec<u8>,
    last_customer: Option<u32>,
}

impl Interner {
    /// The index of `id`, new or known; `None` when the text is not UTF-8.
    fn intern(&mut self, id: &[u8]) -> Option<u32> {
        if let Some(c) = self.last_customer
            && id == self.last.as_slice()
        {
            return Some(c);
        }
        let c = match canonical_integer(id) {
            Some(v) if v < DENSE_IDS => {
                if self.dense.is_empty() {
                    self.dense = vec![0; DENSE_IDS as usize];
                }
                let slot = &mut self.dense[v as usize];
                if *slot == 0 {
                    *slot = self.ids.push(std::str::from_utf8(id).ok()?) + 1;
                }
                *slot - 1
            }
            Some(v) => match self.integers.get(&v) {
                Some(&c) => c,
                None => {
                    let c = self.ids.push(std::str::from_utf8(id).ok()?);
                    self.integers.insert(v, c);
                    c
                }
            },
            None => match self.shaped(id) {
                Some(v) => {
                    let slot = &mut self.shape.as_mut()?.table[v];
                    if *slot == 0 {
                        *slot = self.ids.push(std::str::from_utf8(id).ok()?) + 1;
                    }
                    *slot - 1
                }
                None => self.intern_text(id)?,
            },
        };
        self.last.clear();
        self.last.extend_from_slice(id);
        self.last_customer = Some(c);
        Some(c)
    }
}

/// The id shape of an order system's export: a prefix and a fixed number of digits.
struct Shape {
    prefix: Box<[u8]>,
    width: usize,
    /// Customer index + 1 by the digits' value; 0 while unseen.
    table: Vec<u32>,
}

/// Up to this many digits, the shape's table (10^digits entries) is worth it.
const SHAPE_MAX_DIGITS: usize = 7;

impl Interner {
    /// Any other text: packed into an integer key when short, by its bytes otherwise.
    fn intern_text(&mut self, id: &[u8]) -> Option<u32> {
        Some(match pack_short(id) {
            Some(key) => match self.short_texts.get(&key) {
                Some(&c) => c,
                None => {
                    let c = self.ids.push(std::str::from_utf8(id).ok()?);
                    self.short_texts.insert(key, c);
                    c
                }
            },
            None => match self.texts.get(id) {
                Some(&c) => c,
                None => {
                    let c = self.ids.push(std::str::from_utf8(id).ok()?);
                    self.texts.insert(id.into(), c);
                    c
                }
            },
        })
    }

    /// The digits' value when `id` has the (first-seen) shape, which it may set.
    fn shaped(&mut self, id: &[u8]) -> Option<usize> {
        let digits = id.iter().rev().take_while(|b| b.is_ascii_digit()).count();
        let (prefix, tail) = id.split_at(id.len() - digits);
        if prefix.is_empty() || !(1..=SHAPE_MAX_DIGITS).contains(&digits) {
            return None;
        }
        match &self.shape {
            Some(s) if *s.prefix == *prefix && s.width == digits => {}
            Some(_) => return None,
            None => {
                self.shape = Some(Shape {
                    prefix: prefix.into(),
                    width: digits,
                    table: vec![0; 10_usize.pow(digits as u32)],
                });
            }
        }
        Some(
            tail.iter()
                .fold(0, |acc, b| acc * 10 + usize::from(b - b'0')),
        )
    }
}

/// Text of at most 15 bytes as one integer: the bytes, then the length in the last byte (so
/// "A" and "A\0" differ).
fn pack_short(text: &[u8]) -> Option<u128> {
    if text.len() > 15 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..text.len()].copy_from_slice(text);
    buf[15] = text.len() as u8;
    Some(u128::from_le_bytes(buf))
}

/// The value of a canonical decimal integer text ("0", "42"; not "042", "+4", "-4").
fn canonical_integer(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || (text.len() > 1 && text[0] == b'0') {
        return None;
    }
    text.iter().try_fold(0_u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// Reads a transactions CSV. The header names the three columns `customer_id`, `date`,
/// `amount`, and optionally `product` with `quantity` and `cost`, in any order; nothing else.
/// `progress` receives the byte offset now and then.
pub fn read_transactions<R: Read>(
    reader: R,
    as_of: Option<Day>,
    expected_rows: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Loaded, InputError> {
    let mut csv = csv_reader(reader);
    let (columns, header) = read_header(&mut csv)?;
    let part = parse_rows(
        &mut csv,
        columns,
        &header,
        as_of,
        expected_rows,
        1,
        progress,
    )?;
    part.finish(as_of)
}

/// Files at least this large are parsed in two halves on two threads.
pub const SPLIT_BYTES: u64 = 32 << 20;

/// Reads a transactions file like [`read_transactions`], in two halves on two threads when
/// it is at least `split_bytes` long, has no quoted fields (a newline inside quotes would
/// make the halfway line break ambiguous) and the machine has two cores. Same result, same
/// errors (the first bad line of the file wins).
pub fn read_transactions_file(
    path: &Path,
    as_of: Option<Day>,
    split_bytes: u64,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Result<Loaded, InputError>> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    // Room for the shortest possible rows ("1,2024-01-01,1\n"): the reservation is virtual
    // memory, pages are touched only as rows arrive.
    let expected_rows = |bytes: u64| usize::try_from(bytes / 15).unwrap_or(0).min(1 << 31);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if size < split_bytes || cores < 2 || contains_quote(path)? {
        return Ok(read_transactions(
            file,
            as_of,
            expected_rows(size),
            progress,
        ));
    }
    let (columns, header) = match read_header(&mut csv_reader(file)) {
        Ok(h) => h,
        Err(e) => return Ok(Err(e)),
    };
    let split = line_start_after(path, size / 2)?;
    let mut head = File::open(path)?.take(split);
    let mut tail = File::open(path)?;
    tail.seek(SeekFrom::Start(split))?;
    let (a, b) = std::thread::scope(|scope| {
        let header = &header;
        let second = scope.spawn(move || {
            let mut csv = csv_reader(tail);
            parse_rows(
                &mut csv,
                columns,
                header,
                as_of,
                expected_rows(size - split),
                0,
                &mut |_| {},
            )
        });
        let mut csv = csv_reader(&mut head);
        // The header was read by its own reader: skip it again here, counting it as line 1.
        let first = match read_header(&mut csv) {
            Ok(_) => parse_rows(
                &mut csv,
                columns,
                header,
                as_of,
                expected_rows(size),
                1,
                progress,
            ),
            Err(e) => Err(e),
        };
        (first, second.join())
    });
    let a = match a {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    let b = match b {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Ok(Err(bad(e.line + a.last_line, e.reason))),
        Err(_) => return Err(std::io::Error::other("the reading thread failed")),
    };
    Ok(a.merge(b).finish(as_of))
}

/// True when the file has a double quote anywhere.
fn contains_quote(path: &Path) -> std::io::Result<bool> {
    let mut r = File::open(path)?;
    let mut buf = vec![0_u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        if buf[..n].contains(&b'"') {
            return Ok(true);
        }
    }
}

/// The offset of the first line that starts at or after `at` (the file size if none does).
fn line_start_after(path: &Path, at: u64) -> std::io::Result<u64> {
    let mut r = File::open(path)?;
    r.seek(SeekFrom::Start(at.saturating_sub(1)))?;
    let mut pos = at.saturating_sub(1);
    let mut buf = [0_u8; 4096];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(pos);
        }
        if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
            return Ok(pos + i as u64 + 1);
        }
        pos += n as u64;
    }
}

fn csv_reader<R: Read>(reader: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(reader)
}

fn read_record<R: Read>(
    csv: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
    line: u64,
) -> Result<bool, InputError> {
    csv.read_byte_record(record).map_err(|e| {
        bad(
            e.position().map_or(line, |p| p.line()),
            format!("malformed CSV: {e}"),
        )
    })
}

/// The header's column positions and its trimmed fields (to spot a repeated header).
fn read_header<R: Read>(csv: &mut csv::Reader<R>) -> Result<(Columns, Vec<Vec<u8>>), InputError> {
    let mut record = csv::ByteRecord::new();
    if !read_record(csv, &mut record, 1)? {
        return Err(bad(
            1,
            "empty file: expected the header customer_id,date,amount",
        ));
    }
    let columns = header_columns(&record)?;
    Ok((
        columns,
        record.iter().map(|f| f.trim_ascii().to_vec()).collect(),
    ))
}

/// The rows of one stretch of the file. Line numbers in errors count from the start of
/// the stretch (`first_line` is the line before its first row).
struct Part {
    transactions: Vec<Transaction>,
    interner: Interner,
    /// Whether the file has a product column.
    with_products: bool,
    products: ProductNames,
    product_lines: Vec<ProductSale>,
    max_day: Day,
    rows: u64,
    rows_after_as_of: u64,
    /// The number of the last line read.
    last_line: u64,
}

fn parse_rows<R: Read>(
    csv: &mut csv::Reader<R>,
    columns: Columns,
    header: &[Vec<u8>],
    as_of: Option<Day>,
    expected_rows: usize,
    first_line: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Part, InputError> {
    let mut record = csv::ByteRecord::new();
    let mut transactions: Vec<Transaction> = Vec::with_capacity(expected_rows);
    let mut interner = Interner::default();
    let mut products = ProductNames::default();
    let mut product_lines: Vec<ProductSale> = Vec::new();
    let mut last_date: [u8; 10] = [0; 10];
    let mut last_day: Day = 0;
    let mut max_day = Day::MIN;
    let mut rows = 0_u64;
    let mut rows_after_as_of = 0_u64;
    let mut line = first_line;
    while read_record(csv, &mut record, line + 1)? {
        line = record.position().map_or(line + 1, |p| p.line());
        rows += 1;
        if rows.is_multiple_of(65_536) {
            progress(record.position().map_or(0, |p| p.byte()));
        }
        if record.len() != columns.width {
            if record.len() == 1 && record[0].trim_ascii().is_empty() {
                return Err(bad(line, "empty line"));
            }
            return Err(bad(
                line,
                format!(
                    "expected {} fields ({}), found {}",
                    columns.width,
                    columns.names(),
                    record.len()
                ),
            ));
        }
        if record
            .iter()
            .zip(header)
            .all(|(f, h)| f.trim_ascii() == h.as_slice())
        {
            return Err(bad(line, "duplicate header"));
        }
        let id = record[columns.customer_id].trim_ascii();
        let date = record[columns.date].trim_ascii();
        let amount = record[columns.amount].trim_ascii();
        let day = if date.len() >= 10 && date[..10] == last_date {
            last_day
        } else {
            let d = parse_day(date)
                .ok_or_else(|| bad(line, format!("unparsable date \"{}\"", lossy(date))))?;
            if date.len() >= 10 {
                last_date.copy_from_slice(&date[..10]);
            }
            last_day = d;
            d
        };
        let cents = parse_cents(amount)
            .ok_or_else(|| bad(line, format!("unparsable amount \"{}\"", lossy(amount))))?;
        if id.is_empty() {
            return Err(bad(line, "empty customer_id"));
        }
        let product = match columns.product {
            Some(column) => product_fields(&record, column, columns, line)?,
            None => None,
        };
        if let Some(limit) = as_of
            && day > limit
        {
            rows_after_as_of += 1;
            continue;
        }
        max_day = max_day.max(day);
        let customer = interner
            .intern(id)
            .ok_or_else(|| bad(line, "customer_id is not valid UTF-8"))?;
        transactions.push(Transaction {
            customer,
            day,
            cents,
        });
        if let Some(fields) = product {
            let product = products
                .intern(fields.name)
                .ok_or_else(|| bad(line, "product is not valid UTF-8"))?;
            product_lines.push(ProductSale {
                product,
                customer,
                day,
                quantity: fields.quantity,
                amount_cents: cents,
                cost_cents: fields.cost_cents,
            });
        }
    }
    Ok(Part {
        transactions,
        interner,
        with_products: columns.product.is_some(),
        products,
        product_lines,
        max_day,
        rows,
        rows_after_as_of,
        last_line: line,
    })
}

/// A row's product fields: the product's name, and its quantity and cost when given.
struct ProductFields<'a> {
    name: &'a [u8],
    quantity: Option<i64>,
    cost_cents: Option<i64>,
}

/// The product fields of a row, its product in field `product`; `None` when the row names no
/// product (it then may give no quantity or cost either).
fn product_fields(
    record: &csv::ByteRecord,
    product: usize,
    columns: Columns,
    line: u64,
) -> Result<Option<ProductFields<'_>>, InputError> {
    let field = |column: Option<usize>| column.map_or(&b""[..], |i| record[i].trim_ascii());
    let (name, quantity, cost) = (
        record[product].trim_ascii(),
        field(columns.quantity),
        field(columns.cost),
    );
    if name.is_empty() {
        for (column, text) in [("quantity", quantity), ("cost", cost)] {
            if !text.is_empty() {
                return Err(bad(
                    line,
                    format!("{column} \"{}\" without a product", lossy(text)),
                ));
            }
        }
        return Ok(None);
    }
    let quantity = match quantity {
        b"" => None,
        text => Some(
            std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(|| {
                    bad(
                        line,
                        format!("unparsable quantity \"{}\" (a whole number)", lossy(text)),
                    )
                })?,
        ),
    };
    let cost_cents = match cost {
        b"" => None,
        text => Some(
            parse_cents(text)
                .ok_or_else(|| bad(line, format!("unparsable cost \"{}\"", lossy(text))))?,
        ),
    };
    Ok(Some(ProductFields {
        name,
        quantity,
        cost_cents,
    }))
}

impl Part {
    /// Appends the next stretch: its customers and products are interned into this one's, in
    /// order of first appearance, so the result equals reading both stretches in one go.
    fn merge(mut self, next: Part) -> Part {
        let remap: Vec<u32> = (0..next.interner.ids.len())
            .map(|i| {
                self.interner
                    .intern(next.interner.ids.get(i).as_bytes())
                    .unwrap_or(u32::MAX)
            })
            .collect();
        self.transactions
            .extend(next.transactions.into_iter().map(|t| Transaction {
                customer: remap[t.customer as usize],
                ..t
            }));
        let products: Vec<u32> = next
            .products
            .names
            .iter()
            .map(|name| self.products.intern_str(name))
            .collect();
        self.product_lines
            .extend(next.product_lines.into_iter().map(|l| ProductSale {
                product: products[l.product as usize],
                customer: remap[l.customer as usize],
                ..l
            }));
        self.max_day = self.max_day.max(next.max_day);
        self.rows += next.rows;
        self.rows_after_as_of += next.rows_after_as_of;
        self.last_line += next.last_line;
        self
    }

    fn finish(self, as_of: Option<Day>) -> Result<Loaded, InputError> {
        if self.rows == 0 {
            return Err(bad(1, "no transactions: the file has only a header"));
        }
        if self.transactions.is_empty() {
            return Err(bad(
                self.last_line,
                "no transactions on or before the as-of date",
            ));
        }
        Ok(Loaded {
            transactions: self.transactions,
            ids: self.interner.ids,
            as_of: as_of.unwrap_or(self.max_day),
            rows: self.rows,
            rows_after_as_of: self.rows_after_as_of,
            products: self.with_products.then_some(ProductLines {
                names: self.products.names,
                lines: self.product_lines,
            }),
        })
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Column positions of customer_id, date, amount and the optional product columns.
fn header_columns(record: &csv::ByteRecord) -> Result<Columns, InputError> {
    let mut position = [None; COLUMNS.len()];
    for (i, raw) in record.iter().enumerate() {
        let mut name = raw.trim_ascii();
        if i == 0 {
            name = name.strip_prefix("\u{feff}".as_bytes()).unwrap_or(name);
        }
        let name = String::from_utf8_lossy(name);
        match COLUMNS.iter().position(|c| *c == name) {
            Some(c) if position[c].is_some() => {
                return Err(bad(1, format!("duplicate column \"{name}\" in the header")));
            }
            Some(c) => position[c] = Some(i),
            None => {
                return Err(bad(
                    1,
                    format!("unexpected column \"{name}\": {HEADER_RULE}"),
                ));
            }
        }
    }
    let [
        Some(customer_id),
        Some(date),
        Some(amount),
        product,
        quantity,
        cost,
    ] = position
    else {
        let missing: Vec<&str> = (0..REQUIRED)
            .filter(|&c| position[c].is_none())
            .map(|c| COLUMNS[c])
            .collect();
        return Err(bad(
            1,
            format!("missing column {}: {HEADER_RULE}", missing.join(", ")),
        ));
    };
    if product.is_none() {
        for (name, column) in [("quantity", quantity), ("cost", cost)] {
            if column.is_some() {
                return Err(bad(
                    1,
                    format!(
                        "unexpected column \"{name}\": quantity and cost belong to a product, \
                         and the header has no product column"
                    ),
                ));
            }
        }
    }
    Ok(Columns {
        customer_id,
        date,
        amount,
        product,
        quantity,
        cost,
        width: record.len(),
    })
}

/// `YYYY-MM-DD` (a time after `T` or a space is ignored) to days since 0001-01-01 (CE day 1).
pub fn parse_day(text: &[u8]) -> Option<Day> {
    let date = match text.len() {
        10 => text,
        11.. if text[10] == b'T' || text[10] == b' ' => &text[..10],
        _ => return None,
    };
    if date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let number = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0_u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let year = i32::try_from(number(&date[..4])?).ok()?;
    let d = NaiveDate::from_ymd_opt(year, number(&date[5..7])?, number(&date[8..10])?)?;
    Some(d.num_days_from_ce())
}

/// A day number back to a date.
pub fn format_day(day: Day) -> String {
    NaiveDate::from_num_days_from_ce_opt(day)
        .map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string())
}

/// A decimal amount with at most two decimals to integer cents: `12`, `12.5`, `-3.99`, `+4.00`.
pub fn parse_cents(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(p) => (&digits[..p], &digits[p + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    if (whole.is_empty() && fraction.is_empty()) || fraction.len() > 2 {
        return None;
    }
    if digits.contains(&b'.') && fraction.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &b in whole {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let mut cents: i64 = 0;
    for i in 0..2 {
        let digit = match fraction.get(i) {
            Some(b) if b.is_ascii_digit() => i64::from(b - b'0'),
            Some(_) => return None,
            None => 0,
        };
        cents = cents * 10 + digit;
    }
    let total = value.checked_mul(100)?.checked_add(cents)?;
    Some(if negative { -total } else { total })
}

/// Cents as an exact decimal string: 12345 → "123.45", −5 → "-0.05".
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Each customer's position in id order, and the customers in that order. Numeric when
/// every id is an integer (ties between equal numbers such as "7" and "07" by text).
pub fn id_order(ids: &CustomerIds) -> (Vec<u32>, Vec<u32>) {
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    let numeric: Option<Vec<i128>> = (0..ids.len())
        .map(|i| ids.get(i).parse::<i128>().ok())
        .collect();
    match numeric {
        Some(numbers) => order.sort_unstable_by(|&a, &b| {
            (numbers[a as usize], ids.get(a as usize))
                .cmp(&(numbers[b as usize], ids.get(b as usize)))
        }),
        None => order.sort_unstable_by(|&a, &b| ids.get(a as usize).cmp(ids.get(b as usize))),
    }
    let mut rank = vec![0_u32; ids.len()];
    for (position, &c) in order.iter().enumerate() {
        rank[c as usize] = position as u32;
    }
    (rank, order)
}

const CUSTOMERS_HEADER: &str = "customer_id,first_purchase,last_purchase,orders,revenue,frequency,\
recency,T,monetary_value,recency_days,r_score,f_score,m_score,segment,abc,p_alive,expected_purchases,\
expected_spend,clv,value_class,cluster\n";

/// Writes customers.csv, one row per customer in id order. Formatted by hand (ryu for
/// floats, itoa for integers): a million rows of 21 fields is the slowest part of the
/// output otherwise.
pub fn write_customers<W: Write + Send>(
    mut out: W,
    ids: &CustomerIds,
    order: &[u32],
    summaries: &[CustomerSummary],
    results: &CustomerResults,
) -> std::io::Result<()> {
    out.write_all(CUSTOMERS_HEADER.as_bytes())?;
    // Formatting a million lines of floats is most of the writing: two threads format the two
    // halves of each batch while the batch before is written (bounded memory: three batches'
    // text at most, their buffers reused).
    const BATCH: usize = 1 << 15;
    // The rows go out in id order, the arrays are in order of first appearance: each row's
    // dozen values are reads all over memory. They are gathered a few hundred rows at a time
    // in a loop that does nothing else, so the processor overlaps the reads' cache misses,
    // then formatted from there.
    const GATHER: usize = 256;
    let gather = |i: usize| Gathered {
        id: ids.get(i),
        s: summaries[i],
        scores: [
            results.scores.r[i],
            results.scores.f[i],
            results.scores.m[i],
        ],
        segment: results.segment[i],
        abc: results.abc[i],
        values: [
            results.p_alive[i],
            results.expected_purchases[i],
            results.expected_spend[i],
            results.clv[i],
        ],
        value_class: results.value_class[i],
        cluster: results.cluster[i],
    };
    let format = |part: &[u32], mut text: Vec<u8>| {
        text.clear();
        let mut floats = ryu::Buffer::new();
        let mut ints = itoa::Buffer::new();
        let mut rows: Vec<Gathered> = Vec::with_capacity(GATHER);
        for chunk in part.chunks(GATHER) {
            rows.clear();
            rows.extend(chunk.iter().map(|&c| gather(c as usize)));
            for g in &rows {
                let s = &g.s;
                push_text(&mut text, g.id);
                text.push(b',');
                push_day(&mut text, s.first_purchase);
                text.push(b',');
                push_day(&mut text, s.last_purchase);
                text.push(b',');
                text.extend_from_slice(ints.format(s.orders).as_bytes());
                text.push(b',');
                text.extend_from_slice(format_cents(s.revenue_cents).as_bytes());
                text.push(b',');
                text.extend_from_slice(ints.format(s.frequency).as_bytes());
                for v in [s.recency, s.t, s.monetary_value] {
                    text.push(b',');
                    text.extend_from_slice(floats.format(v).as_bytes());
                }
                text.push(b',');
                text.extend_from_slice(ints.format(s.recency_days).as_bytes());
                for score in g.scores {
                    text.push(b',');
                    text.push(b'0' + score);
                }
                text.push(b',');
                text.extend_from_slice(g.segment.as_str().as_bytes());
                text.push(b',');
                text.extend_from_slice(g.abc.as_str().as_bytes());
                for v in g.values {
                    text.push(b',');
                    text.extend_from_slice(floats.format(v).as_bytes());
                }
                text.push(b',');
                text.extend_from_slice(g.value_class.as_str().as_bytes());
                text.push(b',');
                text.extend_from_slice(ints.format(g.cluster).as_bytes());
                text.push(b'\n');
            }
        }
        text
    };
    let (to_writer, written) = std::sync::mpsc::sync_channel::<[Vec<u8>; 2]>(1);
    let (to_formatter, free) = std::sync::mpsc::channel::<[Vec<u8>; 2]>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for texts in written {
                for text in &texts {
                    out.write_all(text)?;
                }
                // The formatter may have stopped on an error of ours: nobody to hand back to.
                let _ = to_formatter.send(texts);
            }
            out.flush()
        });
        for batch in order.chunks(BATCH) {
            let (a, b) = batch.split_at(batch.len() / 2);
            let [ta, tb] = free.try_recv().unwrap_or_default();
            let (first, second) = std::thread::scope(|inner| {
                let second = inner.spawn(|| format(b, tb));
                (format(a, ta), second.join())
            });
            // Formatting does not panic; should it, the half is formatted here instead.
            let second = second.unwrap_or_else(|_| format(b, Vec::new()));
            if to_writer.send([first, second]).is_err() {
                break; // the writer failed: its error is returned below
            }
        }
        drop(to_writer);
        writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer stopped")))
    })
}

const PRODUCTS_HEADER: [&str; 9] = [
    "product",
    "revenue",
    "cost",
    "gross_margin",
    "margin_rate",
    "quantity",
    "customers",
    "repeat_customers",
    "repeat_rate",
];

/// Writes products.csv, one row per product in the order given. Money as exact decimals
/// ([`format_cents`]), rates as shortest round-trip floats (as in customers.csv); a figure
/// that is not known (a cost, a quantity, a rate over 0) is left empty.
pub fn write_products<W: Write>(out: W, products: &[ProductFigures]) -> csv::Result<()> {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        product: &'a str,
        revenue: String,
        cost: Option<String>,
        gross_margin: Option<String>,
        margin_rate: Option<f64>,
        quantity: Option<i64>,
        customers: u64,
        repeat_customers: u64,
        repeat_rate: Option<f64>,
    }
    // The header is written on its own: a file without products still has it.
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    csv.write_record(PRODUCTS_HEADER)?;
    for p in products {
        csv.serialize(Row {
            product: &p.product,
            revenue: format_cents(p.revenue_cents),
            cost: p.cost_cents.map(format_cents),
            gross_margin: p.gross_margin_cents.map(format_cents),
            margin_rate: p.margin_rate,
            quantity: p.quantity,
            customers: p.customers,
            repeat_customers: p.repeat_customers,
            repeat_rate: p.repeat_rate,
        })?;
    }
    csv.flush()?;
    Ok(())
}

/// One row of customers.csv, read out of the per-customer arrays.
struct Gathered<'a> {
    id: &'a str,
    s: CustomerSummary,
    scores: [u8; 3],
    segment: crate::rfm::Segment,
    abc: crate::rfm::Abc,
    values: [f64; 4],
    value_class: crate::value::ValueClass,
    cluster: u32,
}

/// A CSV field, quoted (with doubled quotes) when it holds a separator, quote or newline.
fn push_text(line: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        line.push(b'"');
        for b in text.bytes() {
            if b == b'"' {
                line.push(b'"');
            }
            line.push(b);
        }
        line.push(b'"');
    } else {
        line.extend_from_slice(text.as_bytes());
    }
}

fn push_day(line: &mut Vec<u8>, day: Option<Day>) {
    if let Some(d) = day.and_then(NaiveDate::from_num_days_from_ce_opt) {
        let _ = write!(line, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` customers with ids in reverse of their index (so the rows go out in reverse) and
    /// a line's worth of everything.
    fn results(n: usize) -> (CustomerIds, Vec<u32>, Vec<CustomerSummary>, CustomerResults) {
        let ids: CustomerIds = (0..n).map(|i| format!("C{:07}", n - i)).collect();
        let (_, order) = id_order(&ids);
        let summary = CustomerSummary {
            first_purchase: Some(738_000),
            last_purchase: Some(738_100),
            orders: 3,
            revenue_cents: 12_345,
            revenue_12m_cents: 345,
            frequency: 2,
            recency: 100.0 / 7.0,
            t: 20.0,
            monetary_value: 61.5,
            recency_days: 40,
        };
        let results = CustomerResults {
            scores: crate::rfm::Scores {
                r: vec![1; n],
                f: vec![2; n],
                m: vec![3; n],
            },
            segment: vec![crate::rfm::Segment::ALL[0]; n],
            abc: vec![crate::rfm::Abc::A; n],
            p_alive: (0..n).map(|i| i as f64 / n as f64).collect(),
            expected_purchases: vec![1.5; n],
            expected_spend: vec![60.25; n],
            clv: vec![90.375; n],
            value_class: vec![crate::value::ValueClass::ALL[0]; n],
            cluster: (0..n).map(|i| (i % 5) as u32).collect(),
        };
        (ids, order, vec![summary; n], results)
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test")]
    fn customers_go_out_in_id_order_across_batches() {
        let n = 100_000; // several batches
        let (ids, order, summaries, results) = results(n);
        let mut out = Vec::new();
        write_customers(&mut out, &ids, &order, &summaries, &results).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n + 1);
        assert_eq!(lines[0], CUSTOMERS_HEADER.trim_end());
        for (k, line) in lines[1..].iter().enumerate() {
            let i = n - 1 - k; // the customer with id C{k+1}
            assert!(line.starts_with(&format!("C{:07},", k + 1)), "{line}");
            let cluster = line.rsplit(',').next().unwrap();
            assert_eq!(cluster, (i % 5).to_string(), "{line}");
        }
    }

    /// Writes `limit` bytes, then fails.
    struct Full {
        limit: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.limit == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.limit);
            self.limit -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_disk_is_an_error_at_any_point_not_a_hang() {
        let (ids, order, summaries, results) = results(100_000);
        for limit in [0, 10, 1 << 20, 10 << 20] {
            let e = write_customers(Full { limit }, &ids, &order, &summaries, &results);
            assert!(e.is_err(), "limit {limit}");
        }
    }

    /// A file of `n` rows whose customers recur across both halves, with integer and text ids.
    #[allow(clippy::unwrap_used, reason = "test setup")]
    fn sample_file(n: usize, bad_line: Option<usize>) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let mut text = String::from("date,customer_id,amount\n");
        for i in 0..n {
            let line = i + 2;
            let id = if i % 7 == 0 {
                format!("c-{}", i % 101)
            } else {
                (i * 7919 % 997).to_string()
            };
            let date = if Some(line) == bad_line {
                "2024-13-01".to_owned()
            } else {
                format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1)
            };
            text.push_str(&format!("{date},{id},{}.{:02}\n", i % 500, i % 100));
        }
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[allow(clippy::unwrap_used, reason = "test setup")]
    #[test]
    fn reading_in_two_halves_gives_what_reading_in_one_go_gives() {
        let f = sample_file(20_000, None);
        let one = read_transactions(File::open(f.path()).unwrap(), None, 0, &mut |_| {}).unwrap();
        let two = read_transactions_file(f.path(), None, 0, &mut |_| {})
            .unwrap()
            .unwrap();
        assert_eq!(one.transactions, two.transactions);
        assert_eq!(
            (0..one.ids.len())
                .map(|i| one.ids.get(i))
                .collect::<Vec<_>>(),
            (0..two.ids.len())
                .map(|i| two.ids.get(i))
                .collect::<Vec<_>>()
        );
        assert_eq!((one.rows, one.as_of), (two.rows, two.as_of));
        let cut = parse_day(b"2024-06-30");
        let one = read_transactions(File::open(f.path()).unwrap(), cut, 0, &mut |_| {}).unwrap();
        let two = read_transactions_file(f.path(), cut, 0, &mut |_| {})
            .unwrap()
            .unwrap();
        assert_eq!(one.transactions, two.transactions);
        assert_eq!(one.rows_after_as_of, two.rows_after_as_of);
    }

    #[allow(clippy::unwrap_used, reason = "test setup")]
    #[test]
    fn product_lines_read_in_two_halves_are_what_reading_in_one_go_gives() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let mut text = String::from("product,customer_id,date,amount,quantity,cost\n");
        for i in 0..20_000 {
            // Every third row names no product; products and customers recur in both halves.
            let (product, quantity) = match i % 3 {
                0 => (String::new(), String::new()),
                _ => (format!("p{}", i % 13), (i % 5).to_string()),
            };
            let cost = if i % 3 == 0 || i % 4 == 0 {
                String::new()
            } else {
                format!("{}.{:02}", i % 50, i % 100)
            };
            text.push_str(&format!(
                "{product},{},2024-{:02}-{:02},{}.{:02},{quantity},{cost}\n",
                i * 7919 % 997,
                i % 12 + 1,
                i % 28 + 1,
                i % 500,
                i % 100
            ));
        }
        f.write_all(text.as_bytes()).unwrap();
        let one = read_transactions(File::open(f.path()).unwrap(), None, 0, &mut |_| {}).unwrap();
        let two = read_transactions_file(f.path(), None, 0, &mut |_| {})
            .unwrap()
            .unwrap();
        let (one, two) = (one.products.unwrap(), two.products.unwrap());
        assert_eq!(one.lines.len(), 20_000 - 20_000 / 3 - 1);
        assert_eq!(one.names, two.names);
        assert_eq!(one.lines, two.lines);
        assert!(one.lines.iter().any(|l| l.cost_cents.is_none()));
    }

    #[allow(clippy::unwrap_used, reason = "test")]
    #[test]
    fn products_csv_quotes_names_and_leaves_unknown_figures_empty() {
        let products = [
            ProductFigures {
                product: "tea, green".into(),
                revenue_cents: 1200,
                cost_cents: Some(400),
                gross_margin_cents: Some(800),
                margin_rate: Some(800.0 / 1200.0),
                quantity: Some(4),
                customers: 2,
                repeat_customers: 1,
                repeat_rate: Some(0.5),
            },
            ProductFigures {
                product: "refunded".into(),
                revenue_cents: -5,
                cost_cents: None,
                gross_margin_cents: None,
                margin_rate: None,
                quantity: None,
                customers: 0,
                repeat_customers: 0,
                repeat_rate: None,
            },
        ];
        let mut out = Vec::new();
        write_products(&mut out, &products).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "product,revenue,cost,gross_margin,margin_rate,quantity,customers,repeat_customers,repeat_rate\n\
             \"tea, green\",12.00,4.00,8.00,0.6666666666666666,4,2,1,0.5\n\
             refunded,-0.05,,,,,0,0,\n"
        );
        let mut out = Vec::new();
        write_products(&mut out, &[]).unwrap();
        assert_eq!(out, b"product,revenue,cost,gross_margin,margin_rate,quantity,customers,repeat_customers,repeat_rate\n");
    }

    #[allow(clippy::unwrap_used, reason = "test setup")]
    #[test]
    fn an_error_in_the_second_half_names_its_line_in_the_whole_file() {
        let f = sample_file(20_000, Some(17_345));
        let err = read_transactions_file(f.path(), None, 0, &mut |_| {})
            .unwrap()
            .unwrap_err();
        assert_eq!(err.line, 17_345, "{err}");
        assert!(err.reason.contains("2024-13-01"));
        let f = sample_file(20_000, Some(3));
        let err = read_transactions_file(f.path(), None, 0, &mut |_| {})
            .unwrap()
            .unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[allow(clippy::unwrap_used, reason = "test setup")]
    #[test]
    fn a_file_with_quoted_fields_is_read_in_one_go_and_still_right() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"customer_id,date,amount\n\"a\nb\",2024-01-01,1\n2,2024-01-02,2\n")
            .unwrap();
        let l = read_transactions_file(f.path(), None, 0, &mut |_| {})
            .unwrap()
            .unwrap();
        assert_eq!(l.rows, 2);
        assert_eq!(l.ids.get(0), "a\nb");
    }

    #[test]
    fn amounts_become_exact_cents() {
        assert_eq!(parse_cents(b"12"), Some(1200));
        assert_eq!(parse_cents(b"12.5"), Some(1250));
        assert_eq!(parse_cents(b"-3.99"), Some(-399));
        assert_eq!(parse_cents(b"+0.07"), Some(7));
        assert_eq!(parse_cents(b".5"), Some(50));
        for bad in [
            &b""[..],
            b"-",
            b"1.234",
            b"1,5",
            b"abc",
            b"1.",
            b".",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_cents(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(format_cents(-5), "-0.05");
        assert_eq!(format_cents(123_456), "1234.56");
    }

    #[test]
    fn dates_are_strict_iso_days() {
        let d = parse_day(b"2024-03-01").unwrap_or_default();
        assert_eq!(
            d - parse_day(b"2024-02-28").unwrap_or_default(),
            2,
            "2024 is a leap year"
        );
        assert_eq!(parse_day(b"2024-02-30"), None);
        assert_eq!(parse_day(b"2024-13-01"), None);
        assert_eq!(parse_day(b"2024/01/01"), None);
        assert_eq!(parse_day(b"24-01-01"), None);
        assert_eq!(parse_day(b"2024-01-01T10:00:00"), parse_day(b"2024-01-01"));
        assert_eq!(format_day(d), "2024-03-01");
    }

    #[test]
    fn ids_sort_numerically_only_when_all_are_integers() {
        let ids: CustomerIds = ["10", "9", "100"].into_iter().collect();
        assert_eq!(id_order(&ids).1, vec![1, 0, 2]);
        let mixed: CustomerIds = ["10", "9", "a"].into_iter().collect();
        assert_eq!(id_order(&mixed).1, vec![0, 1, 2]);
    }

    #[test]
    fn integer_like_ids_that_differ_as_text_stay_different_customers() {
        let mut interner = Interner::default();
        let a = interner.intern(b"7");
        let b = interner.intern(b"07");
        let c = interner.intern(b"+7");
        let d = interner.intern(b"99999999999999999999");
        let e = interner.intern(b"123456789012");
        assert_eq!(interner.intern(b"7"), a);
        assert_eq!(interner.intern(b"07"), b);
        assert_eq!(interner.intern(b"123456789012"), e);
        let all = [a, b, c, d, e];
        assert!(all.iter().all(Option::is_some));
        assert_eq!(
            all.iter().collect::<std::collections::HashSet<_>>().len(),
            5
        );
        assert_eq!(interner.ids.get(1), "07");
        assert_eq!(interner.intern(b"\xff"), None);
    }

    #[test]
    fn ids_of_one_shape_and_other_text_never_share_an_index() {
        let mut interner = Interner::default();
        let ids: [&[u8]; 8] = [
            b"07",
            b"C0000123",
            b"C000123",
            b"D0000123",
            b"C0000124",
            b"C00001234",
            b"a-very-long-customer-identifier",
            b"C0000000",
        ];
        let first: Vec<_> = ids.iter().map(|id| interner.intern(id)).collect();
        let mut distinct = first.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len(), "{first:?}");
        // Asked again, in another order (so not from the last-id shortcut), the same indices.
        for (id, c) in ids.iter().zip(&first).rev() {
            assert_eq!(interner.intern(id), *c);
        }
        for (i, id) in ids.iter().enumerate() {
            let c = first[i].unwrap_or_default() as usize;
            assert_eq!(interner.ids.get(c).as_bytes(), *id);
        }
    }

    #[test]
    fn ids_with_separators_are_quoted_in_the_output() {
        let mut line = Vec::new();
        push_text(&mut line, "a,\"b\"");
        assert_eq!(line, b"\"a,\"\"b\"\"\"");
    }
}
