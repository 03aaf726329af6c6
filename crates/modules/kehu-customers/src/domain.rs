//! The customer module's domain: customers (客户) and contacts (联系人) as parsed values. Input
//! from a form, the API or (later) an import becomes a [`CustomerDraft`] or [`ContactDraft`]
//! here, normalised (full-width characters folded, whitespace collapsed, phones in E.164) and
//! checked, with every bad field reported at once by a Fluent key; the store only ever sees
//! values that passed.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use kehu_domain::error::Errors;
use kehu_domain::money::Money;
use kehu_domain::{DomainError, FieldError, text};
use serde::{Deserialize, Serialize};

/// The dictionary kinds a customer's coded fields are taken from (`kehu_domain::dictionary`).
pub mod kinds {
    pub const LEVEL: &str = "customer_level";
    pub const REGION: &str = "region";
    pub const INDUSTRY: &str = "industry";
    pub const SOURCE: &str = "opportunity_source";
    pub const CHANNEL: &str = "activity_channel";
}

/// The longest one-line text (names, addresses, bank …), in characters.
pub const LINE_MAX: usize = 200;
/// The longest customer name, in characters: a list cursor carries the name, and cursors are
/// at most 512 bytes.
pub const NAME_MAX: usize = 80;
/// The longest memo, in characters.
pub const MEMO_MAX: usize = 2000;
/// At most this many tags on a customer, each at most [`TAG_MAX`] characters.
pub const TAGS_MAX: usize = 10;
pub const TAG_MAX: usize = 20;

/// Folds what Chinese input methods type in full width — letters, digits, the symbols of
/// phones, addresses and URLs (`ＡＢＣ１２３＠．－＋／`) and the ideographic space — to ASCII, so
/// `１３８…` and `138…` are the same phone and `Ｈｕａｗｅｉ` matches `Huawei`; then collapses runs
/// of whitespace to one space and trims. Chinese punctuation (`，。、（）：；！？`) is kept: it
/// is how zh-CN text is written.
pub fn normalize(input: &str) -> String {
    let folded = input.chars().map(|c| {
        let ascii = match c {
            '\u{3000}' => return ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
            _ => None,
        };
        match ascii {
            Some(a) if a.is_ascii_alphanumeric() || "@.-+_/#&%=~*'\"$^[]{}|<>\\`".contains(a) => a,
            _ => c,
        }
    });
    let mut out = String::with_capacity(input.len());
    for c in folded {
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// One line of text, normalised; required.
pub fn line(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    text::line(field, &normalize(input), max)
}

/// One line of text, normalised; empty is `None`.
pub fn opt_line(field: &str, input: &str, max: usize) -> Result<Option<String>, FieldError> {
    let s = normalize(input);
    if s.is_empty() {
        return Ok(None);
    }
    line(field, &s, max).map(Some)
}

/// A memo: several lines; full-width characters folded, each line's ends trimmed.
pub fn memo(field: &str, input: &str) -> Result<Option<String>, FieldError> {
    let lines: Vec<String> = input.lines().map(normalize).collect();
    text::optional(field, &lines.join("\n"), MEMO_MAX)
}

/// Required text of several lines (a result, a reason, a request), at most `max` characters
/// (and [`MEMO_MAX`]).
pub fn required_text(field: &str, input: &str, max: usize) -> Result<String, DomainError> {
    match memo(field, input)? {
        Some(s) if s.chars().count() <= max => Ok(s),
        Some(_) => Err(DomainError::field(field, "err-too-long")),
        None => Err(DomainError::field(field, "err-required")),
    }
}

/// A phone number (电话): parsed with libphonenumber (default region China, so `010-1234
/// 5678` and `13800138000` need no `+86`) and kept in E.164, `+861012345678`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// `None` for empty input; `err-phone` for what is not a valid number.
    pub fn parse(field: &str, input: &str) -> Result<Option<Phone>, FieldError> {
        let s = normalize(input);
        if s.is_empty() {
            return Ok(None);
        }
        let bad = || FieldError::new(field, "err-phone");
        if s.chars().count() > 40 {
            return Err(bad());
        }
        let n = phonenumber::parse(Some(phonenumber::country::Id::CN), &s).map_err(|_| bad())?;
        if !phonenumber::is_valid(&n) {
            return Err(bad());
        }
        Ok(Some(Phone(
            n.format().mode(phonenumber::Mode::E164).to_string(),
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, full-width characters folded (`li＠example.cn`), checked by the
/// platform's rule.
fn email(input: &str) -> Result<Option<String>, FieldError> {
    kehu_domain::user::parse_email(&normalize(input))
}

/// A rating from 1 to 5 (satisfaction 满意度, credit 信用度); empty is `None`.
fn rating(field: &str, input: &str) -> Result<Option<i16>, FieldError> {
    let s = normalize(input);
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i16>()
        .ok()
        .filter(|n| (1..=5).contains(n))
        .map(Some)
        .ok_or_else(|| FieldError::new(field, "err-rating"))
}

/// An amount of money in fen (分), from a decimal with at most two places (`1234.5`,
/// `1,234.50`, full-width digits folded): exact, never a float. Empty is `None`.
fn money(field: &str, input: &str) -> Result<Option<i64>, FieldError> {
    Money::parse(field, &normalize(input)).map(|m| m.map(Money::fen))
}

/// Fen as a decimal string, `"1234.50"` (how the API and forms show money).
pub use kehu_domain::money::fen_to_decimal;

/// A `YYYY-MM-DD` date; empty is `None`, anything else `err-date`.
pub fn date(field: &str, input: &str) -> Result<Option<NaiveDate>, FieldError> {
    let s = normalize(input);
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| FieldError::new(field, "err-date"))
}

/// Defines a closed set of codes: the enum, its codes, parsing from a code.
macro_rules! codes {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// Empty is `None`; a code not in the set is `err-invalid` on `field`.
            pub fn parse(field: &str, input: &str) -> Result<Option<Self>, FieldError> {
                let s = normalize(input);
                if s.is_empty() {
                    return Ok(None);
                }
                Self::from_code(&s).map(Some).ok_or_else(|| FieldError::new(field, "err-invalid"))
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            /// A query parameter's value: one of the codes.
            fn from_str(s: &str) -> Result<Self, String> {
                Self::from_code(s).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|v| v.code()).collect();
                    format!("one of {}", all.join(", "))
                })
            }
        }
    };
}

codes! {
    /// A customer's status (客户状态): active, warned of loss (流失预警), lost (已流失). The
    /// loss workflow moves it; people do not pick it in the form.
    Status { Active = "active", LossWarned = "loss_warned", Lost = "lost" }
}

codes! {
    /// 性别.
    Gender { Male = "male", Female = "female" }
}

codes! {
    /// A company's size (企业规模): micro (< 10 staff), small, medium, large (> 1000).
    Size { Micro = "micro", Small = "small", Medium = "medium", Large = "large" }
}

/// The values of the dictionary kinds a customer uses, as the dictionary holds them now: what
/// a coded field is checked against.
#[derive(Debug, Clone, Default)]
pub struct DictValues(HashMap<String, HashSet<String>>);

impl DictValues {
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut map: HashMap<String, HashSet<String>> = HashMap::new();
        for (kind, value) in pairs {
            map.entry(kind.to_owned())
                .or_default()
                .insert(value.to_owned());
        }
        Self(map)
    }

    fn has(&self, kind: &str, value: &str) -> bool {
        self.0.get(kind).is_some_and(|v| v.contains(value))
    }

    /// Empty is `None`; a value the dictionary does not hold under `kind` is
    /// `err-dict-unknown`.
    pub fn parse(
        &self,
        field: &str,
        kind: &str,
        input: &str,
    ) -> Result<Option<String>, FieldError> {
        let s = normalize(input);
        if s.is_empty() {
            return Ok(None);
        }
        if self.has(kind, &s) {
            Ok(Some(s))
        } else {
            Err(FieldError::new(field, "err-dict-unknown"))
        }
    }
}

/// Tags (标签): each normalised, 1–[`TAG_MAX`] characters without commas, at most
/// [`TAGS_MAX`], duplicates dropped, kept sorted.
fn tags(input: &[String]) -> Result<BTreeSet<String>, FieldError> {
    let mut out = BTreeSet::new();
    for t in input {
        let t = normalize(t);
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > TAG_MAX || t.contains([',', '，', '、']) {
            return Err(FieldError::new("tags", "err-tag"));
        }
        text::line("tags", &t, TAG_MAX)?;
        out.insert(t);
    }
    if out.len() > TAGS_MAX {
        return Err(FieldError::new("tags", "err-tags-too-many"));
    }
    Ok(out)
}

/// Splits tags typed in one box: by commas (also `，` and `、`).
pub fn split_tags(input: &str) -> Vec<String> {
    input.split([',', '，', '、']).map(str::to_owned).collect()
}

/// A customer's fields as entered: every value as text, as a form sends them (the API writes
/// its numbers as text and its tags comma-joined). What [`CustomerDraft::parse`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerInput {
    pub name: String,
    /// The account manager's user id; empty means the user entering it.
    pub owner_id: String,
    pub region: String,
    pub level: String,
    pub industry: String,
    pub source: String,
    pub satisfaction: String,
    pub credit: String,
    pub address: String,
    pub postcode: String,
    pub phone: String,
    pub fax: String,
    pub website: String,
    pub licence_no: String,
    pub legal_rep: String,
    /// Yuan, a decimal with at most two places.
    pub registered_capital: String,
    pub annual_turnover: String,
    pub bank: String,
    pub bank_account: String,
    pub local_tax_no: String,
    pub national_tax_no: String,
    pub size: String,
    pub gender: String,
    pub birthday: String,
    pub income_band: String,
    /// Separated by commas (also `，` and `、`).
    pub tags: String,
    pub memo: String,
}

/// A customer (客户) ready to store: every field parsed. The code, status, last order and
/// bookkeeping are the store's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDraft {
    pub name: String,
    pub owner_id: Option<i64>,
    pub region: Option<String>,
    pub level: Option<String>,
    pub industry: Option<String>,
    pub source: Option<String>,
    pub satisfaction: Option<i16>,
    pub credit: Option<i16>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub phone: Option<Phone>,
    pub fax: Option<Phone>,
    pub website: Option<String>,
    pub licence_no: Option<String>,
    pub legal_rep: Option<String>,
    /// Fen.
    pub registered_capital: Option<i64>,
    pub annual_turnover: Option<i64>,
    pub bank: Option<String>,
    pub bank_account: Option<String>,
    pub local_tax_no: Option<String>,
    pub national_tax_no: Option<String>,
    pub size: Option<Size>,
    pub gender: Option<Gender>,
    pub birthday: Option<NaiveDate>,
    pub income_band: Option<String>,
    pub tags: BTreeSet<String>,
    pub memo: Option<String>,
}

/// The parsed value, or (remembering the error in `e`) a placeholder never used: the caller
/// returns `e`'s errors instead.
pub fn take<T: Default>(e: &mut Errors, r: Result<T, FieldError>) -> T {
    e.check(r).unwrap_or_default()
}

/// Letters, digits and `-` only (codes printed on licences and tax forms), upper-cased.
fn code_text(field: &str, input: &str, max: usize) -> Result<Option<String>, FieldError> {
    let Some(s) = opt_line(field, input, max)? else {
        return Ok(None);
    };
    let s: String = s.chars().filter(|c| *c != ' ').collect();
    if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(Some(s.to_ascii_uppercase()))
    } else {
        Err(FieldError::new(field, "err-invalid"))
    }
}

fn postcode(input: &str) -> Result<Option<String>, FieldError> {
    let Some(s) = opt_line("postcode", input, 10)? else {
        return Ok(None);
    };
    if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Some(s))
    } else {
        Err(FieldError::new("postcode", "err-postcode"))
    }
}

fn website(input: &str) -> Result<Option<String>, FieldError> {
    let Some(s) = opt_line("website", input, LINE_MAX)? else {
        return Ok(None);
    };
    let ok = !s.contains(' ') && s.contains('.');
    if !ok {
        return Err(FieldError::new("website", "err-website"));
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(Some(s))
    } else {
        Ok(Some(format!("https://{s}")))
    }
}

fn owner(input: &str) -> Result<Option<i64>, FieldError> {
    let s = normalize(input);
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| FieldError::new("owner_id", "err-invalid"))
}

impl CustomerDraft {
    /// Parses every field of `i`, the coded ones against `dict`; all bad fields at once.
    pub fn parse(i: &CustomerInput, dict: &DictValues) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let draft = Self {
            name: take(&mut e, line("name", &i.name, NAME_MAX)),
            owner_id: take(&mut e, owner(&i.owner_id)),
            region: take(&mut e, dict.parse("region", kinds::REGION, &i.region)),
            level: take(&mut e, dict.parse("level", kinds::LEVEL, &i.level)),
            industry: take(&mut e, dict.parse("industry", kinds::INDUSTRY, &i.industry)),
            source: take(&mut e, dict.parse("source", kinds::SOURCE, &i.source)),
            satisfaction: take(&mut e, rating("satisfaction", &i.satisfaction)),
            credit: take(&mut e, rating("credit", &i.credit)),
            address: take(&mut e, opt_line("address", &i.address, LINE_MAX)),
            postcode: take(&mut e, postcode(&i.postcode)),
            phone: take(&mut e, Phone::parse("phone", &i.phone)),
            fax: take(&mut e, Phone::parse("fax", &i.fax)),
            website: take(&mut e, website(&i.website)),
            licence_no: take(&mut e, code_text("licence_no", &i.licence_no, 40)),
            legal_rep: take(&mut e, opt_line("legal_rep", &i.legal_rep, 64)),
            registered_capital: take(&mut e, money("registered_capital", &i.registered_capital)),
            annual_turnover: take(&mut e, money("annual_turnover", &i.annual_turnover)),
            bank: take(&mut e, opt_line("bank", &i.bank, LINE_MAX)),
            bank_account: take(&mut e, code_text("bank_account", &i.bank_account, 40)),
            local_tax_no: take(&mut e, code_text("local_tax_no", &i.local_tax_no, 40)),
            national_tax_no: take(&mut e, code_text("national_tax_no", &i.national_tax_no, 40)),
            size: take(&mut e, Size::parse("size", &i.size)),
            gender: take(&mut e, Gender::parse("gender", &i.gender)),
            birthday: take(&mut e, date("birthday", &i.birthday)),
            income_band: take(&mut e, opt_line("income_band", &i.income_band, 32)),
            tags: take(&mut e, tags(&split_tags(&i.tags))),
            memo: take(&mut e, memo("memo", &i.memo)),
        };
        e.finish()?;
        Ok(draft)
    }
}

/// A customer code (客户编号): `KH`, the day it was created (`yyyymmdd`) and that day's
/// sequence number in six digits, `KH20261123000042`: unique, ordered by creation.
pub fn customer_code(day: NaiveDate, seq: i64) -> String {
    format!("KH{}{seq:06}", day.format("%Y%m%d"))
}

/// A contact's fields as entered (a form's fields, the API's strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactInput {
    pub name: String,
    pub gender: String,
    pub position: String,
    /// Office phone (办公电话).
    pub phone: String,
    pub mobile: String,
    pub email: String,
    pub memo: String,
    pub is_primary: bool,
}

/// A contact (联系人) of a customer, parsed. Exactly one contact of a customer is primary
/// (主联系人): the store keeps that rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDraft {
    pub name: String,
    pub gender: Option<Gender>,
    pub position: Option<String>,
    pub phone: Option<Phone>,
    pub mobile: Option<Phone>,
    pub email: Option<String>,
    pub memo: Option<String>,
    pub is_primary: bool,
}

impl ContactDraft {
    pub fn parse(i: &ContactInput) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let draft = Self {
            name: take(&mut e, line("name", &i.name, 64)),
            gender: take(&mut e, Gender::parse("gender", &i.gender)),
            position: take(&mut e, opt_line("position", &i.position, 64)),
            phone: take(&mut e, Phone::parse("phone", &i.phone)),
            mobile: take(&mut e, Phone::parse("mobile", &i.mobile)),
            email: take(&mut e, email(&i.email)),
            memo: take(&mut e, memo("memo", &i.memo)),
            is_primary: i.is_primary,
        };
        e.finish()?;
        Ok(draft)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn dict() -> DictValues {
        DictValues::new([
            ("region", "440000"),
            ("customer_level", "key_account"),
            ("industry", "manufacturing"),
            ("opportunity_source", "website"),
        ])
    }

    fn fields(r: Result<impl std::fmt::Debug, DomainError>) -> Vec<(String, String)> {
        match r {
            Err(DomainError::Invalid(f)) => f.into_iter().map(|f| (f.field, f.code)).collect(),
            other => unreachable!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn full_width_characters_fold_and_whitespace_collapses() {
        assert_eq!(
            normalize("　华强\u{3000}\u{3000}电子  ＡＢＣ１２３ "),
            "华强 电子 ABC123"
        );
        assert_eq!(normalize("li＠example．cn"), "li@example.cn");
        assert_eq!(
            normalize("北京，朝阳（东）"),
            "北京，朝阳（东）",
            "Chinese punctuation stays"
        );
        assert_eq!(normalize(" \t\n "), "");
    }

    #[test]
    fn phones_are_stored_in_e164_with_china_as_the_default_region() {
        let p = |s| Phone::parse("phone", s).map(|p| p.map(|p| p.0));
        assert_eq!(p("138 0013 8000"), Ok(Some("+8613800138000".into())));
        assert_eq!(
            p("１３８００１３８０００"),
            Ok(Some("+8613800138000".into()))
        );
        assert_eq!(p("010-6552 9988"), Ok(Some("+861065529988".into())));
        assert_eq!(p("+1 650-253-0000"), Ok(Some("+16502530000".into())));
        assert_eq!(p("  "), Ok(None));
        for bad in ["12345", "电话号码", "138001380001234567"] {
            assert_eq!(
                p(bad),
                Err(FieldError::new("phone", "err-phone")),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn money_is_exact_fen_from_a_decimal_with_at_most_two_places() {
        assert_eq!(money("m", "1,234.5"), Ok(Some(123_450)));
        assert_eq!(money("m", "0.07"), Ok(Some(7)));
        assert_eq!(money("m", "５００"), Ok(Some(50_000)));
        assert_eq!(fen_to_decimal(123_450), "1234.50");
        for bad in ["1.234", "-5", "1e3", ".5", "9999999999999999"] {
            assert_eq!(
                money("m", bad),
                Err(FieldError::new("m", "err-money")),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_customer_needs_a_name_and_dictionary_values_the_dictionary_holds() {
        let input = CustomerInput {
            name: "  ".into(),
            region: "999999".into(),
            level: "广东省".into(),
            satisfaction: "6".into(),
            credit: "0".into(),
            phone: "12".into(),
            postcode: "51000".into(),
            ..CustomerInput::default()
        };
        let got = fields(CustomerDraft::parse(&input, &dict()));
        let want = [
            ("name", "err-required"),
            ("region", "err-dict-unknown"),
            ("level", "err-dict-unknown"),
            ("satisfaction", "err-rating"),
            ("credit", "err-rating"),
            ("postcode", "err-postcode"),
            ("phone", "err-phone"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_good_customer_parses_normalised() {
        let input = CustomerInput {
            name: " 广州华强　电子有限公司 ".into(),
            region: "440000".into(),
            level: "key_account".into(),
            industry: "manufacturing".into(),
            source: "website".into(),
            satisfaction: "4".into(),
            credit: "５".into(),
            phone: "020-8888 6666".into(),
            website: "huaqiang.example.cn".into(),
            licence_no: "91440101 mA5abc".into(),
            registered_capital: "5000000".into(),
            size: "medium".into(),
            birthday: "1980-02-29".into(),
            tags: "VIP， 华南 ,VIP,,".into(),
            ..CustomerInput::default()
        };
        let c = CustomerDraft::parse(&input, &dict()).unwrap();
        assert_eq!(c.name, "广州华强 电子有限公司");
        assert_eq!(c.region.as_deref(), Some("440000"));
        assert_eq!((c.satisfaction, c.credit), (Some(4), Some(5)));
        assert_eq!(c.phone.unwrap().as_str(), "+862088886666");
        assert_eq!(c.website.as_deref(), Some("https://huaqiang.example.cn"));
        assert_eq!(c.licence_no.as_deref(), Some("91440101MA5ABC"));
        assert_eq!(c.registered_capital, Some(500_000_000));
        assert_eq!(c.size, Some(Size::Medium));
        assert_eq!(
            c.tags.into_iter().collect::<Vec<_>>(),
            ["VIP".to_owned(), "华南".to_owned()]
        );
        assert_eq!(c.owner_id, None);
    }

    #[test]
    fn tags_are_bounded_in_number_and_length() {
        let many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(
            tags(&many),
            Err(FieldError::new("tags", "err-tags-too-many"))
        );
        assert_eq!(
            tags(&["很长".repeat(11)]),
            Err(FieldError::new("tags", "err-tag"))
        );
        assert_eq!(split_tags("a，b、c,d").len(), 4);
    }

    #[test]
    fn customer_codes_are_the_prefix_the_day_and_a_six_digit_sequence() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(customer_code(day, 42), "KH20261123000042");
    }

    #[test]
    fn a_contact_needs_a_name_and_valid_phones_and_email() {
        let bad = ContactInput {
            name: "".into(),
            gender: "x".into(),
            mobile: "abc".into(),
            email: "not-an-email".into(),
            ..ContactInput::default()
        };
        let got = fields(ContactDraft::parse(&bad));
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["name", "gender", "mobile", "email"]);
        let good = ContactInput {
            name: "张三".into(),
            mobile: "+86 139-1234-5678".into(),
            email: "zhangsan＠example.cn".into(),
            is_primary: true,
            ..ContactInput::default()
        };
        let c = ContactDraft::parse(&good).unwrap();
        assert_eq!(c.mobile.unwrap().as_str(), "+8613912345678");
        assert_eq!(c.email.as_deref(), Some("zhangsan@example.cn"));
        assert!(c.is_primary);
    }

    #[test]
    fn status_codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(*s));
        }
        assert_eq!(Status::from_code("gone"), None);
    }
}
