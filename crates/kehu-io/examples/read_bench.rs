//! Reading speed and peak memory of the kit on generated customer files.
//!
//! ```text
//! cargo run --release -p kehu-io --example read_bench -- gen DIR [ROWS]   # customers.csv, customers-gbk.csv
//! cargo run --release -p kehu-io --example read_bench -- gen-xlsx DIR [ROWS]  # customers.xlsx
//! cargo run --release -p kehu-io --example read_bench -- gen-xlsx-shared DIR [ROWS]  # as Excel saves
//! cargo run --release -p kehu-io --example read_bench -- read FILE
//! ```
//!
//! Each step is its own process so that the peak RSS it prints (`VmHWM`) is that step's alone.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "bench tool")]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use kehu_io::{Cell, ReadOptions, Record, TableReader, XlsxWriter};

const HEADER: [&str; 8] = [
    "客户编号",
    "客户名称",
    "手机",
    "邮箱",
    "地区",
    "等级",
    "地址",
    "备注",
];
const SURNAMES: [&str; 8] = ["张", "王", "李", "赵", "陈", "刘", "杨", "黄"];
const REGIONS: [&str; 6] = ["广东省", "北京市", "上海市", "浙江省", "江苏省", "四川省"];

fn customer(i: u64) -> [String; 8] {
    let surname = SURNAMES[(i % 8) as usize];
    let region = REGIONS[(i % 6) as usize];
    [
        format!("KH20240101{i:07}"),
        format!("{surname}氏{region}贸易有限公司{i}"),
        format!("13{:09}", i * 7919 % 1_000_000_000),
        format!("user{i}@example.com"),
        region.to_owned(),
        ["key_account", "normal", "small"][(i % 3) as usize].to_owned(),
        format!("{region}某某区人民路{}号", i % 999),
        if i.is_multiple_of(10) {
            "重点跟进, \"年底\"续约".to_owned()
        } else {
            String::new()
        },
    ]
}

fn gen_csv(dir: &Path, rows: u64) {
    let utf8 = std::fs::File::create(dir.join("customers.csv")).unwrap();
    let gbk = std::fs::File::create(dir.join("customers-gbk.csv")).unwrap();
    let mut utf8 = kehu_io::CsvWriter::new(BufWriter::new(utf8), &HEADER).unwrap();
    let mut gbk = BufWriter::new(gbk);
    let mut line = HEADER.join(",");
    line.push_str("\r\n");
    gbk.write_all(&encoding_rs::GBK.encode(&line).0).unwrap();
    for i in 0..rows {
        let cells = customer(i);
        utf8.write_row(&cells.clone().map(Cell::Text)).unwrap();
        line.clear();
        for (n, cell) in cells.iter().enumerate() {
            if n > 0 {
                line.push(',');
            }
            if cell.contains([',', '"']) {
                line.push('"');
                line.push_str(&cell.replace('"', "\"\""));
                line.push('"');
            } else {
                line.push_str(cell);
            }
        }
        line.push_str("\r\n");
        gbk.write_all(&encoding_rs::GBK.encode(&line).0).unwrap();
    }
    utf8.finish().unwrap().flush().unwrap();
    gbk.flush().unwrap();
}

fn gen_xlsx(dir: &Path, rows: u64) {
    let start = Instant::now();
    let mut writer = XlsxWriter::new("客户", &HEADER).unwrap();
    for i in 0..rows {
        writer.write_row(&customer(i).map(Cell::Text)).unwrap();
    }
    writer.save(dir.join("customers.xlsx")).unwrap();
    report("wrote xlsx", rows, start);
}

/// As Excel saves it: strings in the shared-strings table, which a reader must hold whole.
fn gen_xlsx_shared(dir: &Path, rows: u64) {
    let start = Instant::now();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, title) in (0u16..).zip(HEADER) {
        sheet.write_string(0, c, title).unwrap();
    }
    for i in 0..rows {
        let r = u32::try_from(i + 1).unwrap();
        for (c, cell) in (0u16..).zip(customer(i)) {
            sheet.write_string(r, c, cell).unwrap();
        }
    }
    book.save(dir.join("customers-shared.xlsx")).unwrap();
    report("wrote xlsx with shared strings", rows, start);
}

fn read(path: &Path) {
    let start = Instant::now();
    let mut reader = TableReader::open(path, &ReadOptions::default()).unwrap();
    let (mut rows, mut rejected, mut bytes) = (0u64, 0u64, 0usize);
    for record in reader.by_ref() {
        match record.unwrap() {
            Record::Row(r) => {
                rows += 1;
                bytes += r.cells.iter().map(String::len).sum::<usize>();
            }
            Record::Rejected(..) => rejected += 1,
        }
    }
    println!(
        "{}: {:?}, {rows} rows, {rejected} rejected, {} MB of cells",
        path.display(),
        reader.detected(),
        bytes / 1_000_000
    );
    report("read", rows + rejected, start);
}

fn report(what: &str, rows: u64, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?");
    #[allow(clippy::cast_precision_loss, reason = "a rate for display")]
    let rate = rows as f64 / secs;
    println!("{what}: {rows} rows in {secs:.2} s = {rate:.0} rows/s; peak RSS {peak}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows = |i: usize| args.get(i).map_or(1_000_000, |n| n.parse().unwrap());
    match args.first().map(String::as_str) {
        Some("gen") => gen_csv(Path::new(&args[1]), rows(2)),
        Some("gen-xlsx") => gen_xlsx(Path::new(&args[1]), rows(2)),
        Some("gen-xlsx-shared") => gen_xlsx_shared(Path::new(&args[1]), rows(2)),
        Some("read") => read(Path::new(&args[1])),
        _ => eprintln!("usage: read_bench gen|gen-xlsx|gen-xlsx-shared DIR [ROWS] | read FILE"),
    }
}
