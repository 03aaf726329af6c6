//! The data dictionary (数据字典, `bas_dict`): typed lists of items other modules pick from,
//! e.g. customer levels or regions. Items whose value other modules rely on are seeded
//! non-editable and cannot be changed or deleted.

use crate::user::Language;
use crate::{DomainError, FieldError, text};

/// The dictionary kinds kehu seeds; administrators may add items to each and new kinds.
pub const KINDS: &[&str] = &[
    "customer_level",
    "region",
    "industry",
    "service_type",
    "activity_channel",
    "opportunity_source",
    "loss_reason",
    "satisfaction",
    "credit",
];

/// One seeded item: (kind, item label, its English name, value, editable).
pub type SeedItem = (&'static str, &'static str, &'static str, &'static str, bool);

/// The 34 provincial-level divisions of China with their English names and GB/T 2260 codes.
const REGIONS: &[(&str, &str, &str)] = &[
    ("北京市", "Beijing", "110000"),
    ("天津市", "Tianjin", "120000"),
    ("河北省", "Hebei", "130000"),
    ("山西省", "Shanxi", "140000"),
    ("内蒙古自治区", "Inner Mongolia", "150000"),
    ("辽宁省", "Liaoning", "210000"),
    ("吉林省", "Jilin", "220000"),
    ("黑龙江省", "Heilongjiang", "230000"),
    ("上海市", "Shanghai", "310000"),
    ("江苏省", "Jiangsu", "320000"),
    ("浙江省", "Zhejiang", "330000"),
    ("安徽省", "Anhui", "340000"),
    ("福建省", "Fujian", "350000"),
    ("江西省", "Jiangxi", "360000"),
    ("山东省", "Shandong", "370000"),
    ("河南省", "Henan", "410000"),
    ("湖北省", "Hubei", "420000"),
    ("湖南省", "Hunan", "430000"),
    ("广东省", "Guangdong", "440000"),
    ("广西壮族自治区", "Guangxi", "450000"),
    ("海南省", "Hainan", "460000"),
    ("重庆市", "Chongqing", "500000"),
    ("四川省", "Sichuan", "510000"),
    ("贵州省", "Guizhou", "520000"),
    ("云南省", "Yunnan", "530000"),
    ("西藏自治区", "Tibet", "540000"),
    ("陕西省", "Shaanxi", "610000"),
    ("甘肃省", "Gansu", "620000"),
    ("青海省", "Qinghai", "630000"),
    ("宁夏回族自治区", "Ningxia", "640000"),
    ("新疆维吾尔自治区", "Xinjiang", "650000"),
    ("台湾省", "Taiwan", "710000"),
    ("香港特别行政区", "Hong Kong", "810000"),
    ("澳门特别行政区", "Macao", "820000"),
];

const OTHERS: &[SeedItem] = &[
    ("customer_level", "普通客户", "Ordinary", "ordinary", false),
    (
        "customer_level",
        "大客户",
        "Key account",
        "key_account",
        false,
    ),
    (
        "customer_level",
        "重点开发客户",
        "Focus development",
        "focus_development",
        false,
    ),
    ("customer_level", "合作伙伴", "Partner", "partner", false),
    (
        "customer_level",
        "战略合作伙伴",
        "Strategic partner",
        "strategic_partner",
        false,
    ),
    ("industry", "制造业", "Manufacturing", "manufacturing", true),
    (
        "industry",
        "批发和零售业",
        "Wholesale and retail",
        "wholesale_retail",
        true,
    ),
    (
        "industry",
        "信息技术",
        "Information technology",
        "information_technology",
        true,
    ),
    ("industry", "金融业", "Finance", "finance", true),
    ("industry", "建筑业", "Construction", "construction", true),
    ("industry", "交通运输", "Transport", "transport", true),
    ("industry", "教育", "Education", "education", true),
    ("industry", "医疗卫生", "Health care", "health", true),
    ("industry", "住宿和餐饮", "Hospitality", "hospitality", true),
    ("industry", "其他", "Other", "other", true),
    (
        "service_type",
        "咨询",
        "Consultation",
        "consultation",
        false,
    ),
    ("service_type", "投诉", "Complaint", "complaint", false),
    ("service_type", "建议", "Suggestion", "suggestion", false),
    ("activity_channel", "电话", "Phone", "phone", true),
    ("activity_channel", "电子邮件", "Email", "email", true),
    ("activity_channel", "会议", "Meeting", "meeting", true),
    ("activity_channel", "拜访", "Visit", "visit", true),
    (
        "activity_channel",
        "社交媒体",
        "Social media",
        "social_media",
        true,
    ),
    (
        "activity_channel",
        "在线聊天",
        "Online chat",
        "online_chat",
        true,
    ),
    ("activity_channel", "其他", "Other", "other", true),
    (
        "opportunity_source",
        "电话咨询",
        "Phone inquiry",
        "phone_inquiry",
        true,
    ),
    ("opportunity_source", "网站", "Website", "website", true),
    (
        "opportunity_source",
        "展会",
        "Trade fair",
        "trade_fair",
        true,
    ),
    (
        "opportunity_source",
        "客户推荐",
        "Referral",
        "referral",
        true,
    ),
    (
        "opportunity_source",
        "广告",
        "Advertising",
        "advertising",
        true,
    ),
    (
        "opportunity_source",
        "陌生拜访",
        "Cold visit",
        "cold_visit",
        true,
    ),
    ("opportunity_source", "其他", "Other", "other", true),
    ("loss_reason", "价格原因", "Price", "price", true),
    (
        "loss_reason",
        "产品质量",
        "Product quality",
        "quality",
        true,
    ),
    (
        "loss_reason",
        "服务不满意",
        "Unhappy with service",
        "service",
        true,
    ),
    (
        "loss_reason",
        "被竞争对手抢走",
        "Won by a competitor",
        "competitor",
        true,
    ),
    (
        "loss_reason",
        "客户经营困难",
        "Customer in difficulty",
        "customer_business",
        true,
    ),
    ("loss_reason", "其他", "Other", "other", true),
    ("satisfaction", "☆", "☆", "1", false),
    ("satisfaction", "☆☆", "☆☆", "2", false),
    ("satisfaction", "☆☆☆", "☆☆☆", "3", false),
    ("satisfaction", "☆☆☆☆", "☆☆☆☆", "4", false),
    ("satisfaction", "☆☆☆☆☆", "☆☆☆☆☆", "5", false),
    ("credit", "☆", "☆", "1", false),
    ("credit", "☆☆", "☆☆", "2", false),
    ("credit", "☆☆☆", "☆☆☆", "3", false),
    ("credit", "☆☆☆☆", "☆☆☆☆", "4", false),
    ("credit", "☆☆☆☆☆", "☆☆☆☆☆", "5", false),
];

/// Every seeded item, in display order within each kind.
pub fn seed() -> impl Iterator<Item = SeedItem> {
    REGIONS
        .iter()
        .map(|&(item, en, value)| ("region", item, en, value, false))
        .chain(OTHERS.iter().copied())
}

/// A validated dictionary item as entered by an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictInput {
    pub kind: String,
    pub item: String,
    /// The item's name in the English interface (the item itself when there is none).
    pub item_en: Option<String>,
    pub value: String,
    pub sort: i32,
}

impl DictInput {
    pub fn parse(
        kind: &str,
        item: &str,
        item_en: &str,
        value: &str,
        sort: &str,
    ) -> Result<Self, DomainError> {
        let mut errors = crate::error::Errors::new();
        let kind = errors.check(parse_kind(kind));
        let item = errors.check(text::line("item", item, 64));
        let item_en = errors.check(optional_line("item_en", item_en, 64));
        let value = errors.check(text::line("value", value, 64));
        let sort = errors.check(parse_sort(sort));
        errors.finish()?;
        match (kind, item, item_en, value, sort) {
            (Some(kind), Some(item), Some(item_en), Some(value), Some(sort)) => Ok(Self {
                kind,
                item,
                item_en,
                value,
                sort,
            }),
            _ => Err(DomainError::NotAllowed("err-invalid")),
        }
    }
}

/// The name of an item to show in `lang`: its English name in English when it has one,
/// otherwise the item.
pub fn name_in<'a>(item: &'a str, item_en: Option<&'a str>, lang: Language) -> &'a str {
    match (lang, item_en.filter(|e| !e.is_empty())) {
        (Language::En, Some(en)) => en,
        _ => item,
    }
}

/// Single-line text that may be left empty.
fn optional_line(field: &str, input: &str, max: usize) -> Result<Option<String>, FieldError> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    text::line(field, input, max).map(Some)
}

/// A kind is a snake_case identifier, so new kinds can be added but stay machine-readable.
fn parse_kind(input: &str) -> Result<String, FieldError> {
    let s = text::line("kind", input, 40)?;
    let ok = s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(s)
    } else {
        Err(FieldError::new("kind", "err-kind-chars"))
    }
}

fn parse_sort(input: &str) -> Result<i32, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<i32>()
        .ok()
        .filter(|n| (0..=99_999).contains(n))
        .ok_or_else(|| FieldError::new("sort", "err-number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_the_34_provincial_divisions() {
        let regions: Vec<_> = seed().filter(|i| i.0 == "region").collect();
        assert_eq!(regions.len(), 34);
        assert!(regions.iter().all(|r| !r.4));
        assert!(
            regions
                .iter()
                .any(|r| r.1 == "澳门特别行政区" && r.2 == "Macao" && r.3 == "820000")
        );
    }

    #[test]
    fn every_seeded_kind_is_known_and_pairs_are_unique() {
        let mut pairs: Vec<_> = seed().map(|i| (i.0, i.1)).collect();
        assert!(pairs.iter().all(|(k, _)| KINDS.contains(k)));
        let n = pairs.len();
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len(), n);
        // Every item has an English name, in Latin letters unless it is a rating's stars.
        for (kind, item, en, _, _) in seed() {
            assert!(!en.is_empty(), "{kind} {item}");
            assert!(
                en.is_ascii() || en.chars().all(|c| c == '☆'),
                "{kind} {item}: {en}"
            );
        }
    }

    #[test]
    fn dictionary_input_reports_every_bad_field() {
        let err = DictInput::parse("Bad Kind", "", "two\nlines", "v", "x");
        let Err(DomainError::Invalid(fields)) = err else {
            unreachable!("expected field errors, got {err:?}")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["kind", "item", "item_en", "sort"]);
        let en = |input| {
            DictInput::parse("industry", "农业", input, "agriculture", "")
                .ok()
                .map(|d| d.item_en)
        };
        assert_eq!(en(" "), Some(None));
        assert_eq!(en(" Agriculture "), Some(Some("Agriculture".to_owned())));
    }

    #[test]
    fn an_item_reads_in_english_only_where_it_has_an_english_name() {
        assert_eq!(
            name_in("投诉", Some("Complaint"), Language::En),
            "Complaint"
        );
        assert_eq!(name_in("投诉", Some("Complaint"), Language::ZhCn), "投诉");
        assert_eq!(name_in("投诉", None, Language::En), "投诉");
        assert_eq!(name_in("投诉", Some(""), Language::En), "投诉");
    }
}
