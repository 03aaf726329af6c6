//! The header search at scale (issue 9, part 18: p99 < 50 ms at 1,000,000 customers): fills
//! the search index of a fresh database with made-up but believable documents (half companies
//! 深圳华强电子有限公司 with a code and a landline, half people 张伟 with a mobile and an email),
//! then times queries of each kind and prints p50/p99 per kind, the fill rate (documents/s)
//! and the plans of the candidate reads.
//!
//! Usage (release): `search_bench <database-url> [documents] [owners] [reuse|fill]` (default
//! 1,000,000 documents over 10 account managers: the `own` scope holds a tenth of them);
//! the database must be empty (a new SQLite file, or a fresh PostgreSQL database or schema),
//! or, with `reuse`, hold the documents of an earlier run (only the queries are timed again);
//! with `fill` only the fill is timed (for profiling it).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use kehu_domain::policy::OwnerFilter;
use kehu_domain::{DataScope, Principal};
use kehu_store::search::{self, SearchDoc};

const SURNAMES: &[(&str, &str)] = &[
    ("张", "zhang"),
    ("王", "wang"),
    ("李", "li"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("罗", "luo"),
    ("高", "gao"),
];
const GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂", "gui"),
    ("华", "hua"),
    ("建", "jian"),
    ("国", "guo"),
];
const CITIES: &[&str] = &[
    "北京", "上海", "深圳", "广州", "重庆", "成都", "杭州", "武汉", "南京", "西安", "天津", "苏州",
    "长沙", "郑州", "东莞", "青岛", "沈阳", "宁波", "昆明", "厦门",
];
const BRANDS: &[&str] = &[
    "华强", "长城", "东方", "鑫源", "宏达", "金桥", "天成", "恒信", "瑞丰", "永安", "博远", "联创",
    "盛世", "万通", "中兴", "新华", "佳美", "汇通", "腾飞", "九州", "星辰", "海纳", "睿智", "嘉禾",
];
const TRADES: &[&str] = &[
    "电子",
    "科技",
    "贸易",
    "物流",
    "建材",
    "医疗器械",
    "食品",
    "服装",
    "机械",
    "化工",
    "餐饮",
    "信息技术",
    "家具",
    "汽车配件",
    "印刷",
    "环保",
];
const SUFFIXES: &[&str] = &[
    "有限公司",
    "股份有限公司",
    "集团有限公司",
    "商贸行",
    "工作室",
];
const DOMAINS: &[&str] = &["qq.com", "163.com", "126.com", "sina.com", "foxmail.com"];

/// A small deterministic generator (splitmix64), so every run fills the same documents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// One made-up record: its entity, title, subtitle and texts, and what queries of each kind
/// can be drawn from it.
struct Made {
    entity: &'static str,
    owner: i64,
    title: String,
    subtitle: String,
    texts: Vec<String>,
    /// (full pinyin, initials) of a person.
    pinyin: Option<(String, String)>,
    phone_digits: String,
    code: Option<String>,
}

fn make(rng: &mut Rng, i: u64, owners: usize) -> Made {
    let owner = 1 + rng.below(owners) as i64;
    let mobile = format!("1{}{:09}", 3 + rng.below(7), rng.next() % 1_000_000_000);
    if i.is_multiple_of(2) {
        let title = format!(
            "{}{}{}{}",
            rng.pick(CITIES),
            rng.pick(BRANDS),
            rng.pick(TRADES),
            rng.pick(SUFFIXES)
        );
        let code = format!("C{:07}", i / 2);
        let phone = format!("0{}-{:08}", 10 + rng.below(900), rng.next() % 100_000_000);
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        Made {
            entity: "customer",
            owner,
            subtitle: code.clone(),
            texts: vec![code.clone(), phone],
            title,
            pinyin: None,
            phone_digits: digits,
            code: Some(code),
        }
    } else {
        let (s, sp) = *rng.pick(SURNAMES);
        let mut title = s.to_owned();
        let mut full = sp.to_owned();
        let mut initials = sp[..1].to_owned();
        for _ in 0..1 + rng.below(2) {
            let (g, gp) = *rng.pick(GIVEN);
            title.push_str(g);
            full.push_str(gp);
            initials.push_str(&gp[..1]);
        }
        let email = format!("{full}{}@{}", rng.below(1000), rng.pick(DOMAINS));
        let shown = if rng.below(2) == 0 {
            format!("{}-{}-{}", &mobile[..3], &mobile[3..7], &mobile[7..])
        } else {
            format!("+86{mobile}")
        };
        Made {
            entity: "contact",
            owner,
            subtitle: shown.clone(),
            texts: vec![shown, email],
            title,
            pinyin: Some((full, initials)),
            phone_digits: mobile,
            code: None,
        }
    }
}

/// The CPU time this process has used (user and system, every thread), in seconds: on a
/// machine shared with other work, what the wall clock cannot tell.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // After the command name in parentheses: fields 3 on; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(14) + ticks(15)) / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        anyhow::bail!("usage: search_bench <database-url> [documents]");
    };
    let total: u64 = match args.next() {
        Some(n) => n.parse().context("documents must be a whole number")?,
        None => 1_000_000,
    };
    let owners: usize = match args.next() {
        Some(n) => n.parse().context("owners must be a whole number")?,
        None => 10,
    };
    let mode = args.next();
    let reuse = mode.as_deref() == Some("reuse");
    let fill_only = mode.as_deref() == Some("fill");
    let store = kehu_store::Store::open(&url).await?;
    println!("backend: {:?}, documents: {total}", store.db.backend());
    // Experiments: FTS5 settings, `SEARCH_BENCH_FTS=automerge=8,crisismerge=32`.
    if let Ok(set) = std::env::var("SEARCH_BENCH_FTS") {
        for kv in set.split(',') {
            if let Some((k, v)) = kv.split_once('=') {
                let v: i64 = v.parse()?;
                store
                    .db
                    .execute_raw(&format!(
                        "INSERT INTO search_fts(search_fts, rank) VALUES('{k}', {v})"
                    ))
                    .await?;
                println!("fts5 {k} = {v}");
            }
        }
    }

    // What cutting the documents into tokens costs alone (CPU, no database).
    let mut rng = Rng(42);
    let t = Instant::now();
    let mut all_tokens = 0usize;
    let probe = total.min(100_000);
    for i in 0..probe {
        let m = make(&mut rng, i, owners);
        let texts: Vec<&str> = m.texts.iter().map(String::as_str).collect();
        all_tokens += search::token_count(&SearchDoc {
            entity: m.entity,
            entity_id: i as i64,
            owner_id: Some(m.owner),
            title: &m.title,
            subtitle: &m.subtitle,
            texts: &texts,
        });
    }
    println!(
        "tokenising alone: {:.0} documents/s ({:.1} tokens per document)",
        probe as f64 / t.elapsed().as_secs_f64(),
        all_tokens as f64 / probe as f64
    );

    // Fill, 1,000 documents per transaction (an import's batch).
    let mut rng = Rng(42);
    let mut samples = Vec::new();
    let mut tokens = 0usize;
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let batch = 1000;
    let mut next = 0u64;
    while next < total {
        let made: Vec<(u64, Made)> = (next..(next + batch).min(total))
            .map(|i| (i, make(&mut rng, i, owners)))
            .collect();
        next += batch;
        let texts: Vec<Vec<&str>> = made
            .iter()
            .map(|(_, m)| m.texts.iter().map(String::as_str).collect())
            .collect();
        let docs: Vec<SearchDoc<'_>> = made
            .iter()
            .zip(&texts)
            .map(|((i, m), texts)| SearchDoc {
                entity: m.entity,
                entity_id: *i as i64,
                owner_id: Some(m.owner),
                title: &m.title,
                subtitle: &m.subtitle,
                texts,
            })
            .collect();
        if !reuse {
            store
                .db
                .write(async |tx| search::put_many(tx, &docs).await)
                .await?;
        }
        drop(docs);
        for (i, m) in made {
            if i % 500 < 2 {
                let texts: Vec<&str> = m.texts.iter().map(String::as_str).collect();
                tokens += search::token_count(&SearchDoc {
                    entity: m.entity,
                    entity_id: i as i64,
                    owner_id: Some(m.owner),
                    title: &m.title,
                    subtitle: &m.subtitle,
                    texts: &texts,
                });
                samples.push(m);
            }
        }
        if next.is_multiple_of(200_000) {
            println!(
                "  {next} documents, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let fill = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_started;
    println!(
        "fill: {total} documents in {fill:.1} s = {:.0} documents/s; {:.1} tokens per document; \
         this process's CPU {cpu:.1} s = {:.0} documents per CPU second",
        total as f64 / fill,
        tokens as f64 / samples.len().max(1) as f64,
        total as f64 / cpu,
    );
    if fill_only {
        store.db.close().await;
        return Ok(());
    }
    if store.db.backend() == kehu_store::Backend::Postgres && !reuse {
        store.db.execute_raw("VACUUM ANALYZE search_docs").await?;
    }

    // Queries of each kind, drawn from the documents filled.
    let mut kinds: Vec<(&str, Vec<String>)> = vec![
        ("chinese 2 (brand)", Vec::new()),
        ("chinese 4 (city+brand)", Vec::new()),
        ("chinese 1 (surname)", Vec::new()),
        ("name exact", Vec::new()),
        ("pinyin full", Vec::new()),
        ("pinyin partial", Vec::new()),
        ("initials", Vec::new()),
        ("phone 4 digits", Vec::new()),
        ("phone 7 digits", Vec::new()),
        ("code", Vec::new()),
        ("email part", Vec::new()),
    ];
    for (n, m) in samples.iter().enumerate() {
        let title: Vec<char> = m.title.chars().collect();
        let at = n % (m.phone_digits.len() - 7);
        kinds[7].1.push(m.phone_digits[at..at + 4].to_owned());
        kinds[8].1.push(m.phone_digits[at..at + 7].to_owned());
        match (&m.pinyin, &m.code) {
            (Some((full, initials)), _) => {
                kinds[2].1.push(title[0].to_string());
                kinds[3].1.push(m.title.clone());
                kinds[4].1.push(full.clone());
                kinds[5].1.push(full[..full.len() - 1].to_owned());
                kinds[6].1.push(initials.clone());
                kinds[10]
                    .1
                    .push(m.texts[1][2..m.texts[1].len() - 4].to_owned());
            }
            (None, Some(code)) => {
                kinds[0].1.push(title[2..4].iter().collect());
                kinds[1].1.push(title[..4].iter().collect());
                kinds[9].1.push(code[3..].to_owned());
            }
            (None, None) => {}
        }
    }
    let own = Principal {
        user_id: 1,
        username: "bench".into(),
        display_name: "bench".into(),
        role_id: 1,
        role_name: "r".into(),
        rights: Default::default(),
        scope: DataScope::Own,
        must_change_password: false,
        language: None,
    }
    .owner_filter();
    println!(
        "{:<24} {:>6} {:>9} {:>9} {:>9} {:>8} {:>12} {:>12}",
        "query kind", "n", "p50 ms", "p99 ms", "max ms", "hits", "ctl p50 ms", "ctl p99 ms"
    );
    // The control, timed beside each query: one document read by its unique key (an indexed
    // equality lookup), so a machine busy with other work shows in both columns.
    let control = |i: u64| {
        use sea_query::{Alias, Expr, ExprTrait, Query};
        let id = (i * 7919 % total) as i64 & !1;
        Query::select()
            .expr(Expr::cust("1"))
            .from(Alias::new("search_docs"))
            .and_where(ExprTrait::eq(Expr::col(Alias::new("entity")), "customer"))
            .and_where(ExprTrait::eq(Expr::col(Alias::new("entity_id")), id))
            .to_owned()
    };
    for (scope_name, scope) in [("all", OwnerFilter::system()), ("own", own)] {
        for (kind, queries) in &kinds {
            let mut times = Vec::new();
            let mut controls = Vec::new();
            let mut hits = 0;
            for (n, q) in queries.iter().take(300).enumerate() {
                let t = Instant::now();
                let _: Vec<(i32,)> = store.db.fetch_all(&control(n as u64)).await?;
                controls.push(t.elapsed());
                let t = Instant::now();
                let found = store.search.search(&scope, q, None, 10).await?;
                let took = t.elapsed();
                if took.as_millis() >= 50 && std::env::var_os("SEARCH_BENCH_SLOW").is_some() {
                    eprintln!("slow: {kind} [{scope_name}] {q:?} {took:?}");
                }
                times.push(took);
                hits += found.len();
            }
            times.sort();
            controls.sort();
            println!(
                "{:<24} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>8.1} {:>12.3} {:>12.3}",
                format!("{kind} [{scope_name}]"),
                times.len(),
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                percentile(&times, 1.0),
                hits as f64 / times.len().max(1) as f64,
                percentile(&controls, 0.5),
                percentile(&controls, 0.99),
            );
        }
    }
    for q in ["华强", "张", "zhangwei", "zw", "1234"] {
        println!("plans for {q:?}:");
        for p in store.search.explain(&own, q, None).await? {
            println!("  {}", p.replace('\n', "\n  "));
        }
    }
    store.db.close().await;
    Ok(())
}
