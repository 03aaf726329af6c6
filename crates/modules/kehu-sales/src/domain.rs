//! What the sales module checks before anything is stored: an opportunity's fields as entered
//! (forms, the API's strings) parsed into a draft, every bad field at once, and a plan item's.
//! The workflow itself (who may do what in which state) is `kehu_domain::opportunity`.

use chrono::NaiveDate;
/// A plan item's result (执行效果) or a failure's reason.
pub use kehu_customers::domain::required_text;
use kehu_customers::domain::{
    DictValues, Phone, date, kinds, line, memo, normalize, opt_line, take,
};
use kehu_domain::error::Errors;
use kehu_domain::money::Money;
use kehu_domain::{DomainError, FieldError};
use serde::{Deserialize, Serialize};

pub use kehu_domain::opportunity::{Action, Status};

/// The currency of an opportunity that names none.
pub const DEFAULT_CURRENCY: &str = "CNY";
/// The longest to-do of a plan item.
pub const TODO_MAX: usize = 500;
/// The longest result of a plan item and reason of a failure.
pub const RESULT_MAX: usize = 2000;
pub const REASON_MAX: usize = 500;

/// An opportunity's fields as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpportunityInput {
    pub title: String,
    pub prospect_name: String,
    /// A value of the dictionary `opportunity_source`.
    pub source: String,
    /// A whole percent, 0–100.
    pub success_rate: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub description: String,
    /// A decimal with at most two places.
    pub expected_amount: String,
    /// ISO 4217 (`CNY` when empty).
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub expected_close_date: String,
}

/// A sales opportunity (销售机会), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpportunityDraft {
    pub title: String,
    pub prospect_name: String,
    pub source: Option<String>,
    pub success_rate: i16,
    pub contact_name: Option<String>,
    pub contact_phone: Option<Phone>,
    pub description: Option<String>,
    pub expected_amount: Option<Money>,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
}

impl OpportunityDraft {
    /// Parses every field of `i`, the source against `dict`; all bad fields at once.
    pub fn parse(i: &OpportunityInput, dict: &DictValues) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let draft = Self {
            title: take(&mut e, line("title", &i.title, 100)),
            prospect_name: take(&mut e, line("prospect_name", &i.prospect_name, 100)),
            source: take(&mut e, dict.parse("source", kinds::SOURCE, &i.source)),
            success_rate: take(&mut e, success_rate(&i.success_rate)),
            contact_name: take(&mut e, opt_line("contact_name", &i.contact_name, 64)),
            contact_phone: take(&mut e, Phone::parse("contact_phone", &i.contact_phone)),
            description: take(&mut e, memo("description", &i.description)),
            expected_amount: take(
                &mut e,
                Money::parse("expected_amount", &normalize(&i.expected_amount)),
            ),
            currency: take(&mut e, currency(&i.currency)),
            expected_close_date: take(&mut e, date("expected_close_date", &i.expected_close_date)),
        };
        e.finish()?;
        Ok(draft)
    }
}

/// A whole percent from 0 to 100 (成功几率); required.
fn success_rate(input: &str) -> Result<i16, FieldError> {
    let s = normalize(input);
    let s = s.strip_suffix('%').unwrap_or(&s).trim();
    if s.is_empty() {
        return Err(FieldError::new("success_rate", "err-required"));
    }
    s.parse::<i16>()
        .ok()
        .filter(|n| (0..=100).contains(n))
        .ok_or_else(|| FieldError::new("success_rate", "err-success-rate"))
}

/// Three letters (ISO 4217), upper-cased; empty is [`DEFAULT_CURRENCY`].
fn currency(input: &str) -> Result<String, FieldError> {
    let s = normalize(input).to_ascii_uppercase();
    if s.is_empty() {
        return Ok(DEFAULT_CURRENCY.to_owned());
    }
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(s)
    } else {
        Err(FieldError::new("currency", "err-currency"))
    }
}

/// A plan item's fields as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanItemInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub todo: String,
}

/// A dated to-do of a development plan (客户开发计划), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItemDraft {
    pub date: NaiveDate,
    pub todo: String,
}

impl PlanItemDraft {
    pub fn parse(i: &PlanItemInput) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let required =
            |d: Option<NaiveDate>| d.ok_or_else(|| FieldError::new("date", "err-required"));
        let day = take(&mut e, date("date", &i.date).and_then(required));
        let todo = take(&mut e, line("todo", &i.todo, TODO_MAX));
        e.finish()?;
        Ok(Self { date: day, todo })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    fn dict() -> DictValues {
        DictValues::new([(kinds::SOURCE, "trade_fair"), (kinds::SOURCE, "website")])
    }

    fn input() -> OpportunityInput {
        OpportunityInput {
            title: " 广交会上的采购意向 ".into(),
            prospect_name: "华强电子".into(),
            source: "trade_fair".into(),
            success_rate: "60".into(),
            contact_name: "张三".into(),
            contact_phone: "138 0013 8000".into(),
            expected_amount: "１２,３４５.５".into(),
            expected_close_date: "2026-12-31".into(),
            ..OpportunityInput::default()
        }
    }

    fn fields(r: Result<impl std::fmt::Debug, DomainError>) -> Vec<(String, String)> {
        match r {
            Err(DomainError::Invalid(f)) => f.into_iter().map(|f| (f.field, f.code)).collect(),
            other => panic!("not field errors: {other:?}"),
        }
    }

    #[test]
    fn a_good_opportunity_is_normalised() {
        let d = OpportunityDraft::parse(&input(), &dict()).unwrap();
        assert_eq!(d.title, "广交会上的采购意向");
        assert_eq!(d.success_rate, 60);
        assert_eq!(d.contact_phone.unwrap().as_str(), "+8613800138000");
        assert_eq!(d.expected_amount, Some(Money::from_fen(1_234_550)));
        assert_eq!(d.currency, "CNY");
        assert_eq!(d.expected_close_date, NaiveDate::from_ymd_opt(2026, 12, 31));
        let pct = OpportunityInput {
            success_rate: "100%".into(),
            currency: "usd".into(),
            ..input()
        };
        let d = OpportunityDraft::parse(&pct, &dict()).unwrap();
        assert_eq!((d.success_rate, d.currency.as_str()), (100, "USD"));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let bad = OpportunityInput {
            title: String::new(),
            source: "pigeon".into(),
            success_rate: "101".into(),
            contact_phone: "12".into(),
            expected_amount: "-5".into(),
            currency: "yuan".into(),
            expected_close_date: "31/12/2026".into(),
            ..input()
        };
        assert_eq!(
            fields(OpportunityDraft::parse(&bad, &dict())),
            [
                ("title", "err-required"),
                ("source", "err-dict-unknown"),
                ("success_rate", "err-success-rate"),
                ("contact_phone", "err-phone"),
                ("expected_amount", "err-money"),
                ("currency", "err-currency"),
                ("expected_close_date", "err-date"),
            ]
            .map(|(f, c)| (f.to_owned(), c.to_owned()))
        );
        for rate in ["-1", "50.5", "abc", ""] {
            let i = OpportunityInput {
                success_rate: rate.into(),
                ..input()
            };
            let got = fields(OpportunityDraft::parse(&i, &dict()));
            assert_eq!(got.len(), 1, "{rate}: {got:?}");
            assert_eq!(got[0].0, "success_rate", "{rate}");
        }
    }

    #[test]
    fn a_plan_item_needs_a_date_and_a_todo() {
        let ok = PlanItemDraft::parse(&PlanItemInput {
            date: "2026-12-08".into(),
            todo: "电话回访".into(),
        })
        .unwrap();
        assert_eq!(ok.date, NaiveDate::from_ymd_opt(2026, 12, 8).unwrap());
        assert_eq!(
            fields(PlanItemDraft::parse(&PlanItemInput::default())),
            [("date", "err-required"), ("todo", "err-required")]
                .map(|(f, c)| (f.to_owned(), c.to_owned()))
        );
        assert_eq!(
            fields(PlanItemDraft::parse(&PlanItemInput {
                date: String::new(),
                todo: "拜访".into()
            })),
            [("date", "err-required")].map(|(f, c)| (f.to_owned(), c.to_owned()))
        );
        assert!(required_text("result", "  ", RESULT_MAX).is_err());
        assert_eq!(
            required_text("result", "谈成了\n下周签约", RESULT_MAX).unwrap(),
            "谈成了\n下周签约"
        );
    }
}
