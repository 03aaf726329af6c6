//! Writes a customer file as Chinese Excel exports one: GBK, CRLF, zh-CN column titles in an
//! order of its own, dictionary columns as labels, the manager by name, rows in no order that
//! suits us, and a share of bad rows (unknown region, bad phone, no name, ragged rows, stray
//! quotes, formula cells). For `bench/customers/import.sh`.
//!
//! `cargo run --release -p kehu-customers --example import_file -- OUT.csv [N] [MANAGERS]`

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

use std::io::{BufWriter, Write};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const REGIONS: &[&str] = &[
    "广东省",
    "北京市",
    "上海市",
    "浙江省",
    "四川省",
    "江苏省",
    "110000",
];
const LEVELS: &[&str] = &["普通客户", "大客户", "重点开发客户", "合作伙伴", "ordinary"];
const INDUSTRIES: &[&str] = &["制造业", "批发和零售业", "信息技术", ""];
const CITIES: &[&str] = &[
    "广州", "深圳", "杭州", "成都", "南京", "苏州", "东莞", "佛山",
];
const WORDS: &[&str] = &[
    "华强", "宏达", "鑫源", "恒通", "瑞丰", "金盛", "博远", "海川", "天成", "永利",
];
const TRADES: &[&str] = &[
    "电子", "贸易", "五金", "科技", "机械", "食品", "物流", "建材",
];
const SURNAMES: &[&str] = &["张", "王", "李", "赵", "刘", "陈", "杨", "黄"];
const GIVEN: &[&str] = &["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰"];

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("OUT.csv");
    let n: u64 = args.next().map_or(1_000_000, |s| s.parse().unwrap());
    let managers: u64 = args.next().map_or(10, |s| s.parse().unwrap());
    let mut rng = StdRng::seed_from_u64(2026);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out).unwrap());
    let header = "序号,客户名称,所在地区,客户等级,行业,客户经理,联系人,手机,电子邮件,电话,地址,注册资金,标签,备注\r\n";
    let mut line = String::with_capacity(512);
    let enc = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    w.write_all(&enc(header)).unwrap();
    // A permutation of the row numbers: the file is not in any order of ours.
    let stride = 1_000_003 % n.max(1);
    for k in 0..n {
        let i = (k * stride.max(1) + 7) % n;
        line.clear();
        let bad = rng.random_range(0..100u32);
        let name = format!(
            "{}{}{}{}有限公司",
            CITIES.choose(&mut rng).unwrap(),
            WORDS.choose(&mut rng).unwrap(),
            TRADES.choose(&mut rng).unwrap(),
            i
        );
        let contact = format!(
            "{}{}",
            SURNAMES.choose(&mut rng).unwrap(),
            GIVEN.choose(&mut rng).unwrap()
        );
        let mobile = format!("13{}{:08}", i % 10, i);
        let region = if bad == 0 {
            "火星"
        } else {
            REGIONS.choose(&mut rng).unwrap()
        };
        let phone = if bad == 1 {
            "12345".to_owned()
        } else {
            format!("020-8{:07}", i % 10_000_000)
        };
        let name = if bad == 2 {
            String::new()
        } else if bad == 3 {
            format!("=HYPERLINK(\"x\",\"{name}\")")
        } else {
            name
        };
        let manager = format!("经理{}", i % managers + 1);
        line.push_str(&format!(
            "{k},{name},{region},{},{},{manager},{contact},{mobile},c{i}@example.cn,{phone},{}市某某路{}号,{}.{:02},{},\"备注，含逗号\"",
            LEVELS.choose(&mut rng).unwrap(),
            INDUSTRIES.choose(&mut rng).unwrap(),
            CITIES.choose(&mut rng).unwrap(),
            i % 999 + 1,
            rng.random_range(10_000..10_000_000u64),
            rng.random_range(0..100u32),
            if i.is_multiple_of(7) { "VIP" } else { "" },
        ));
        if bad == 4 {
            line.push_str(",多出的一列");
        } else if bad == 5 {
            line.push_str(" \"引号");
        }
        line.push_str("\r\n");
        w.write_all(&enc(&line)).unwrap();
    }
    w.flush().unwrap();
}
