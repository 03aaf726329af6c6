//! The data dictionary (数据字典, `bas_dict`): typed lists of items other modules pick from,
//! e.g. customer levels or regions. Items whose value other modules rely on are seeded
//! non-editable and cannot be changed or deleted.

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

/// One seeded item: (kind, item label, value, editable).
pub type SeedItem = (&'static str, &'static str, &'static str, bool);

/// The 34 provincial-level divisions of China with their GB/T 2260 codes.
const REGIONS: &[(&str, &str)] = &[
    ("北京市", "110000"),
    ("天津市", "120000"),
    ("河北省", "130000"),
    ("山西省", "140000"),
    ("内蒙古自治区", "150000"),
    ("辽宁省", "210000"),
    ("吉林省", "220000"),
    ("黑龙江省", "230000"),
    ("上海市", "310000"),
    ("江苏省", "320000"),
    ("浙江省", "330000"),
    ("安徽省", "340000"),
    ("福建省", "350000"),
    ("江西省", "360000"),
    ("山东省", "370000"),
    ("河南省", "410000"),
    ("湖北省", "420000"),
    ("湖南省", "430000"),
    ("广东省", "440000"),
    ("广西壮族自治区", "450000"),
    ("海南省", "460000"),
    ("重庆市", "500000"),
    ("四川省", "510000"),
    ("贵州省", "520000"),
    ("云南省", "530000"),
    ("西藏自治区", "540000"),
    ("陕西省", "610000"),
    ("甘肃省", "620000"),
    ("青海省", "630000"),
    ("宁夏回族自治区", "640000"),
    ("新疆维吾尔自治区", "650000"),
    ("台湾省", "710000"),
    ("香港特别行政区", "810000"),
    ("澳门特别行政区", "820000"),
];

const OTHERS: &[SeedItem] = &[
    ("customer_level", "普通客户", "ordinary", false),
    ("customer_level", "大客户", "key_account", false),
    ("customer_level", "重点开发客户", "focus_development", false),
    ("customer_level", "合作伙伴", "partner", false),
    ("customer_level", "战略合作伙伴", "strategic_partner", false),
    ("industry", "制造业", "manufacturing", true),
    ("industry", "批发和零售业", "wholesale_retail", true),
    ("industry", "信息技术", "information_technology", true),
    ("industry", "金融业", "finance", true),
    ("industry", "建筑业", "construction", true),
    ("industry", "交通运输", "transport", true),
    ("industry", "教育", "education", true),
    ("industry", "医疗卫生", "health", true),
    ("industry", "住宿和餐饮", "hospitality", true),
    ("industry", "其他", "other", true),
    ("service_type", "咨询", "consultation", false),
    ("service_type", "投诉", "complaint", false),
    ("service_type", "建议", "suggestion", false),
    ("activity_channel", "电话", "phone", true),
    ("activity_channel", "电子邮件", "email", true),
    ("activity_channel", "会议", "meeting", true),
    ("activity_channel", "拜访", "visit", true),
    ("activity_channel", "社交媒体", "social_media", true),
    ("activity_channel", "在线聊天", "online_chat", true),
    ("activity_channel", "其他", "other", true),
    ("opportunity_source", "电话咨询", "phone_inquiry", true),
    ("opportunity_source", "网站", "website", true),
    ("opportunity_source", "展会", "trade_fair", true),
    ("opportunity_source", "客户推荐", "referral", true),
    ("opportunity_source", "广告", "advertising", true),
    ("opportunity_source", "陌生拜访", "cold_visit", true),
    ("opportunity_source", "其他", "other", true),
    ("loss_reason", "价格原因", "price", true),
    ("loss_reason", "产品质量", "quality", true),
    ("loss_reason", "服务不满意", "service", true),
    ("loss_reason", "被竞争对手抢走", "competitor", true),
    ("loss_reason", "客户经营困难", "customer_business", true),
    ("loss_reason", "其他", "other", true),
    ("satisfaction", "☆", "1", false),
    ("satisfaction", "☆☆", "2", false),
    ("satisfaction", "☆☆☆", "3", false),
    ("satisfaction", "☆☆☆☆", "4", false),
    ("satisfaction", "☆☆☆☆☆", "5", false),
    ("credit", "☆", "1", false),
    ("credit", "☆☆", "2", false),
    ("credit", "☆☆☆", "3", false),
    ("credit", "☆☆☆☆", "4", false),
    ("credit", "☆☆☆☆☆", "5", false),
];

/// Every seeded item, in display order within each kind.
pub fn seed() -> impl Iterator<Item = SeedItem> {
    REGIONS
        .iter()
        .map(|&(item, value)| ("region", item, value, false))
        .chain(OTHERS.iter().copied())
}

/// A validated dictionary item as entered by an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictInput {
    pub kind: String,
    pub item: String,
    pub value: String,
    pub sort: i32,
}

impl DictInput {
    pub fn parse(kind: &str, item: &str, value: &str, sort: &str) -> Result<Self, DomainError> {
        let mut errors = crate::error::Errors::new();
        let kind = errors.check(parse_kind(kind));
        let item = errors.check(text::line("item", item, 64));
        let value = errors.check(text::line("value", value, 64));
        let sort = errors.check(parse_sort(sort));
        errors.finish()?;
        match (kind, item, value, sort) {
            (Some(kind), Some(item), Some(value), Some(sort)) => Ok(Self {
                kind,
                item,
                value,
                sort,
            }),
            _ => Err(DomainError::NotAllowed("err-invalid")),
        }
    }
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
        assert!(regions.iter().all(|r| !r.3));
        assert!(
            regions
                .iter()
                .any(|r| r.1 == "澳门特别行政区" && r.2 == "820000")
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
    }

    #[test]
    fn dictionary_input_reports_every_bad_field() {
        let err = DictInput::parse("Bad Kind", "", "v", "x");
        let Err(DomainError::Invalid(fields)) = err else {
            unreachable!("expected field errors, got {err:?}")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["kind", "item", "sort"]);
        assert!(DictInput::parse("industry", "农业", "agriculture", "").is_ok());
    }
}
