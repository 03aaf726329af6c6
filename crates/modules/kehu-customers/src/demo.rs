//! Demo data (演示数据): a believable Chinese customer base, generated from a seed so the same
//! seed gives the same company: company names built the way Chinese firms are named (city +
//! brand + trade + 有限公司), people with common surnames and given names, mobile numbers on
//! real operator prefixes, addresses in the customer's region, and levels, industries and
//! sources spread the way a small company's book of customers is (most ordinary, few
//! strategic). [`load`] feeds them through the same parsing and store a form uses (`kehu
//! demo`).

use kehu_store::Actor;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::domain::{ContactDraft, ContactInput, CustomerDraft, CustomerInput};
use crate::import::{NewWithContacts, insert_new};
use crate::store::CustomerStore;

/// One generated customer, as text a person would type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCustomer {
    pub name: String,
    /// A `region` dictionary value (province-level code, e.g. `440000`).
    pub region: &'static str,
    /// A `customer_level` dictionary value.
    pub level: &'static str,
    /// An `industry` dictionary value.
    pub industry: &'static str,
    /// An `opportunity_source` dictionary value.
    pub source: &'static str,
    pub phone: String,
    pub address: String,
    pub satisfaction: u8,
    pub credit: u8,
    pub contacts: Vec<DemoContact>,
}

/// One generated contact of a [`DemoCustomer`]; the first of each customer is its primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoContact {
    pub name: String,
    /// `male` or `female`.
    pub gender: &'static str,
    pub position: &'static str,
    pub mobile: String,
    pub email: String,
}

/// (region code, city used in names and addresses, districts)
const REGIONS: &[(&str, &str, &[&str])] = &[
    ("110000", "北京", &["朝阳区", "海淀区", "东城区", "丰台区"]),
    (
        "310000",
        "上海",
        &["浦东新区", "徐汇区", "静安区", "闵行区"],
    ),
    ("440000", "深圳", &["南山区", "福田区", "宝安区", "龙岗区"]),
    ("440000", "广州", &["天河区", "越秀区", "番禺区", "白云区"]),
    ("330000", "杭州", &["西湖区", "滨江区", "余杭区", "上城区"]),
    (
        "320000",
        "苏州",
        &["工业园区", "姑苏区", "吴中区", "相城区"],
    ),
    ("320000", "南京", &["鼓楼区", "建邺区", "江宁区", "玄武区"]),
    (
        "500000",
        "重庆",
        &["渝中区", "江北区", "渝北区", "沙坪坝区"],
    ),
    ("510000", "成都", &["武侯区", "锦江区", "高新区", "青羊区"]),
    ("420000", "武汉", &["江汉区", "洪山区", "武昌区", "汉阳区"]),
    ("370000", "青岛", &["市南区", "崂山区", "黄岛区", "李沧区"]),
    ("350000", "厦门", &["思明区", "湖里区", "集美区", "海沧区"]),
    (
        "120000",
        "天津",
        &["和平区", "南开区", "滨海新区", "河西区"],
    ),
    ("610000", "西安", &["雁塔区", "碑林区", "未央区", "高新区"]),
];

const BRANDS: &[&str] = &[
    "华强", "瑞丰", "金源", "恒达", "鑫盛", "宏图", "天成", "博远", "嘉禾", "永信", "中联", "盛世",
    "东方", "创新", "长城", "海川", "明辉", "润泽", "新锐", "万通", "安泰", "凯旋", "汇丰", "德昌",
    "云帆", "正泰", "同创", "佳信", "晨光", "聚源", "顺达", "银河",
];

/// (industry dictionary value, trade words in a company name)
const TRADES: &[(&str, &[&str])] = &[
    ("manufacturing", &["机械", "精密制造", "五金", "模具"]),
    (
        "information_technology",
        &["科技", "软件", "信息技术", "网络科技"],
    ),
    ("wholesale_retail", &["商贸", "百货", "贸易", "商业连锁"]),
    ("finance", &["投资", "资产管理", "融资租赁"]),
    ("health", &["医疗器械", "生物科技", "医药"]),
    ("education", &["教育科技", "培训", "文化传播"]),
    ("transport", &["物流", "供应链", "货运代理"]),
    ("construction", &["建设工程", "装饰工程", "建材"]),
];

const COMPANY_KINDS: &[&str] = &[
    "有限公司",
    "有限公司",
    "有限公司",
    "股份有限公司",
    "有限责任公司",
];

/// (value, weight): most customers are ordinary, few strategic.
const LEVELS: &[(&str, u32)] = &[
    ("ordinary", 60),
    ("key_account", 12),
    ("focus_development", 15),
    ("partner", 9),
    ("strategic_partner", 4),
];

const SOURCES: &[&str] = &[
    "phone_inquiry",
    "website",
    "trade_fair",
    "referral",
    "advertising",
    "cold_visit",
    "other",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "欧阳",
];
const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "建国", "志强", "浩然", "子豪",
    "俊杰", "宇航", "文博", "晓东", "海涛", "国庆",
];
const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "婷", "雪", "慧", "颖", "秀英", "晓燕", "雅琪", "欣怡",
    "梦瑶", "思雨", "佳怡", "丽娟", "玉兰", "美玲",
];
const POSITIONS: &[&str] = &[
    "总经理",
    "采购经理",
    "采购专员",
    "财务主管",
    "技术总监",
    "行政主管",
    "销售总监",
    "项目经理",
];
/// Mobile prefixes in use by the three operators.
const MOBILE_PREFIXES: &[&str] = &[
    "134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182",
    "187", "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "189",
    "199", "177",
];
const MAIL_DOMAINS: &[&str] = &["qq.com", "163.com", "126.com", "sina.com", "foxmail.com"];
const ROADS: &[&str] = &[
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "科技园路",
    "滨河大道",
    "长江路",
    "新华路",
    "和平路",
];

/// The generator: deterministic for a seed.
pub struct Demo {
    rng: StdRng,
}

impl Demo {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The `n`-th customer's data (`n` keeps company names apart: a book of a million
    /// customers has few true name clashes, as real ones do).
    pub fn customer(&mut self, n: u64) -> DemoCustomer {
        let (region, city, districts) = *pick(&mut self.rng, REGIONS);
        let (industry, trades) = *pick(&mut self.rng, TRADES);
        let brand = *pick(&mut self.rng, BRANDS);
        let trade = *pick(&mut self.rng, trades);
        let kind = *pick(&mut self.rng, COMPANY_KINDS);
        // Beyond the first few thousand, a branch or a number keeps names apart.
        let name = if n < 2_000 {
            format!("{city}{brand}{trade}{kind}")
        } else {
            format!("{city}{brand}{trade}{}号{kind}", n % 100_000)
        };
        let district = *pick(&mut self.rng, districts);
        let road = *pick(&mut self.rng, ROADS);
        let address = format!(
            "{city}市{district}{road}{}号",
            self.rng.random_range(1..=999)
        );
        // Local numbers from 2 to 6: libphonenumber refuses some that begin with 8 (`021-8000…`).
        let phone = format!(
            "{}-{}",
            area_code(city),
            self.rng.random_range(20_000_000..=69_999_999)
        );
        let source = *pick(&mut self.rng, SOURCES);
        let contacts = (0..self.rng.random_range(1..=3))
            .map(|_| self.contact())
            .collect();
        DemoCustomer {
            name,
            region,
            level: weighted(&mut self.rng, LEVELS),
            industry,
            source,
            phone,
            address,
            satisfaction: self.rng.random_range(2..=5),
            credit: self.rng.random_range(1..=5),
            contacts,
        }
    }

    fn contact(&mut self) -> DemoContact {
        let surname = *pick(&mut self.rng, SURNAMES);
        let male = self.rng.random_bool(0.55);
        let given = *pick(&mut self.rng, if male { GIVEN_MALE } else { GIVEN_FEMALE });
        let prefix = *pick(&mut self.rng, MOBILE_PREFIXES);
        let mobile = format!("{prefix}{:08}", self.rng.random_range(0..100_000_000u32));
        let email = format!("{mobile}@{}", pick(&mut self.rng, MAIL_DOMAINS));
        let position = *pick(&mut self.rng, POSITIONS);
        DemoContact {
            name: format!("{surname}{given}"),
            gender: if male { "male" } else { "female" },
            position,
            mobile,
            email,
        }
    }
}

/// What [`load`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub customers: u64,
    pub contacts: u64,
    /// The customers created, in order.
    pub ids: Vec<i64>,
}

/// Customers created per transaction by [`load`].
const BATCH: u64 = 5_000;

/// Loads customers `first..first + n` of seed `seed` (so a second run continues the book),
/// owned in turn by `owners`, each with its contacts: every one through
/// [`CustomerDraft::parse`] and [`ContactDraft::parse`] as a form's entries go, then stored a
/// batch at a time the way an import's new rows are (audited as the system's, in the header
/// search at once); `progress` hears the count after each batch.
pub async fn load(
    store: &CustomerStore,
    owners: &[i64],
    seed: u64,
    first: u64,
    n: u64,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Loaded> {
    anyhow::ensure!(
        !owners.is_empty(),
        "no account managers to own demo customers"
    );
    let dict = store.dictionary().await?;
    let mut demo = Demo::new(seed.wrapping_add(first));
    let mut loaded = Loaded::default();
    let actor = Actor::system();
    let today = store.today();
    let end = first.saturating_add(n);
    let mut at = first;
    while at < end {
        let upto = at.saturating_add(BATCH).min(end);
        let mut batch: Vec<(CustomerDraft, i64, Vec<ContactDraft>)> = Vec::new();
        for i in at..upto {
            let c = demo.customer(i);
            let owner = owners[(i % owners.len() as u64) as usize];
            let input = CustomerInput {
                name: c.name,
                owner_id: owner.to_string(),
                region: c.region.into(),
                level: c.level.into(),
                industry: c.industry.into(),
                source: c.source.into(),
                satisfaction: c.satisfaction.to_string(),
                credit: c.credit.to_string(),
                address: c.address,
                phone: c.phone,
                ..CustomerInput::default()
            };
            let draft = CustomerDraft::parse(&input, &dict)
                .map_err(|e| anyhow::anyhow!("demo customer {i} does not parse: {e:?}"))?;
            let mut contacts = Vec::with_capacity(c.contacts.len());
            for (k, p) in c.contacts.into_iter().enumerate() {
                let contact = ContactDraft::parse(&ContactInput {
                    name: p.name,
                    gender: p.gender.into(),
                    position: p.position.into(),
                    mobile: p.mobile,
                    email: p.email,
                    is_primary: k == 0,
                    ..ContactInput::default()
                })
                .map_err(|e| anyhow::anyhow!("demo contact of {i} does not parse: {e:?}"))?;
                contacts.push(contact);
            }
            batch.push((draft, owner, contacts));
        }
        let new: Vec<NewWithContacts<'_>> = batch
            .iter()
            .map(|(draft, owner, contacts)| NewWithContacts {
                draft,
                owner: *owner,
                contacts,
            })
            .collect();
        let ids = store
            .db()
            .write(async |tx| insert_new(tx, today, &actor, &new).await)
            .await?;
        loaded.ids.extend(ids);
        loaded.customers += new.len() as u64;
        loaded.contacts += new.iter().map(|n| n.contacts.len() as u64).sum::<u64>();
        progress(loaded.customers);
        at = upto;
    }
    Ok(loaded)
}

/// The telephone area code (区号) of a city in [`REGIONS`].
fn area_code(city: &str) -> &'static str {
    match city {
        "北京" => "010",
        "上海" => "021",
        "广州" => "020",
        "深圳" => "0755",
        "杭州" => "0571",
        "苏州" => "0512",
        "南京" => "025",
        "重庆" => "023",
        "成都" => "028",
        "武汉" => "027",
        "青岛" => "0532",
        "厦门" => "0592",
        "天津" => "022",
        _ => "029",
    }
}

fn pick<'a, T>(rng: &mut StdRng, from: &'a [T]) -> &'a T {
    // The tables above are constant and not empty.
    from.choose(rng).unwrap_or(&from[0])
}

fn weighted(rng: &mut StdRng, table: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut at = rng.random_range(0..total);
    for (value, w) in table {
        if at < *w {
            return value;
        }
        at -= w;
    }
    table[0].0
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn every_generated_phone_and_mobile_is_a_valid_number() {
        // `kehu demo --customers 200000` stopped at customer 29172 of seed 2026 on a landline
        // libphonenumber refuses: every number of a large book must parse.
        let mut d = Demo::new(2026);
        let mut bad = Vec::new();
        for n in 0..40_000 {
            let c = d.customer(n);
            let numbers = std::iter::once(&c.phone).chain(c.contacts.iter().map(|p| &p.mobile));
            for number in numbers {
                if crate::domain::Phone::parse("phone", number).is_err() {
                    bad.push(format!("{n}: {number}"));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "{} bad, e.g. {:?}",
            bad.len(),
            &bad[..bad.len().min(10)]
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_company() {
        let a: Vec<_> = (0..50)
            .map({
                let mut d = Demo::new(7);
                move |n| d.customer(n)
            })
            .collect();
        let b: Vec<_> = (0..50)
            .map({
                let mut d = Demo::new(7);
                move |n| d.customer(n)
            })
            .collect();
        assert_eq!(a, b);
        let c = Demo::new(8).customer(0);
        assert_ne!(a[0], c);
    }

    #[test]
    fn customers_look_chinese_and_spread_over_regions_levels_and_industries() {
        let mut d = Demo::new(1);
        let all: Vec<_> = (0..2_000).map(|n| d.customer(n)).collect();
        let regions: HashSet<_> = all.iter().map(|c| c.region).collect();
        let industries: HashSet<_> = all.iter().map(|c| c.industry).collect();
        assert!(regions.len() >= 10, "{regions:?}");
        assert!(industries.len() >= 8);
        let mut levels: HashMap<&str, usize> = HashMap::new();
        for c in &all {
            *levels.entry(c.level).or_default() += 1;
        }
        // Most are ordinary, strategic partners are rare.
        assert!(
            levels["ordinary"] > 900 && levels["strategic_partner"] < 200,
            "{levels:?}"
        );
        for c in &all {
            assert!(c.name.ends_with("公司"), "{}", c.name);
            assert!(!c.contacts.is_empty() && c.contacts.len() <= 3);
            for p in &c.contacts {
                assert_eq!(p.mobile.len(), 11, "{}", p.mobile);
                assert!(p.mobile.starts_with('1'));
                assert!(p.email.contains('@'));
                assert!(p.name.chars().count() >= 2);
            }
        }
    }

    #[test]
    fn a_large_book_keeps_company_names_apart() {
        let mut d = Demo::new(3);
        let names: HashSet<_> = (0..100_000).map(|n| d.customer(n).name).collect();
        assert!(names.len() > 95_000, "{} distinct names", names.len());
    }
}
