//! What the loss module checks before anything is stored, and its workflow: a loss record's
//! status (warning → deferring → confirmed, any of them → won back), a measure, a
//! confirmation's reason, the scan's threshold and the cutoff it makes.

use chrono::{DateTime, FixedOffset, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use kehu_customers::domain::{memo, normalize, required_text, take};
use kehu_domain::error::Errors;
use kehu_domain::{DomainError, FieldError};
use serde::{Deserialize, Serialize};

/// The dictionary kind of loss reasons (`price`, `quality`, `service` …).
pub const REASON: &str = "loss_reason";
/// The longest measure and detail.
pub const TEXT_MAX: usize = 2000;
/// The threshold's bounds, in months.
pub const THRESHOLD_MIN: i64 = 1;
pub const THRESHOLD_MAX: i64 = 120;

/// Where a loss record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Opened by the scan: nobody has done anything yet (流失预警).
    Warning,
    /// Its manager has logged what they do about it (暂缓流失).
    Deferring,
    /// The loss is confirmed, with a reason (确定流失).
    Confirmed,
    /// The customer ordered again (挽回).
    WonBack,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Warning,
        Status::Deferring,
        Status::Confirmed,
        Status::WonBack,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Status::Warning => "warning",
            Status::Deferring => "deferring",
            Status::Confirmed => "confirmed",
            Status::WonBack => "won_back",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Still being worked on: measures may be logged and the loss confirmed (the customer
    /// is at risk).
    pub const fn is_open(self) -> bool {
        matches!(self, Status::Warning | Status::Deferring)
    }

    /// Not won back: the customer's one live record (a confirmed loss stays live until the
    /// customer orders again).
    pub const fn is_live(self) -> bool {
        !matches!(self, Status::WonBack)
    }

    /// After a measure is logged.
    pub fn after_measure(self) -> Result<Status, DomainError> {
        if self.is_open() {
            Ok(Status::Deferring)
        } else {
            Err(DomainError::NotAllowed("err-loss-closed"))
        }
    }

    /// After the loss is confirmed.
    pub fn after_confirm(self) -> Result<Status, DomainError> {
        if self.is_open() {
            Ok(Status::Confirmed)
        } else {
            Err(DomainError::NotAllowed("err-loss-closed"))
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_code(s).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|s| s.code()).collect();
            format!("one of {}", all.join(", "))
        })
    }
}

/// A measure as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MeasureInput {
    /// What was done (暂缓流失措施), at most 2,000 characters.
    pub measure: String,
}

/// A measure, parsed: required, at most [`TEXT_MAX`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureDraft(pub String);

impl MeasureDraft {
    pub fn parse(i: &MeasureInput) -> Result<Self, DomainError> {
        required_text("measure", &i.measure, TEXT_MAX).map(Self)
    }
}

/// A confirmation as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfirmInput {
    /// A `loss_reason` dictionary value.
    pub reason: String,
    /// The reason in the manager's words, at most 2,000 characters.
    pub detail: String,
}

/// A confirmation (确定流失), parsed: a reason of the dictionary, the detail optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmDraft {
    pub reason: String,
    pub detail: Option<String>,
}

impl ConfirmDraft {
    /// `reasons`: the dictionary's `loss_reason` values.
    pub fn parse(i: &ConfirmInput, reasons: &[String]) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let reason = normalize(&i.reason);
        if reason.is_empty() {
            e.push(FieldError::new("reason", "err-required"));
        } else if !reasons.contains(&reason) {
            e.push(FieldError::new("reason", "err-dict-unknown"));
        }
        let detail = take(&mut e, memo("detail", &i.detail));
        if detail
            .as_ref()
            .is_some_and(|d| d.chars().count() > TEXT_MAX)
        {
            e.push(FieldError::new("detail", "err-too-long"));
        }
        e.finish()?;
        Ok(Self { reason, detail })
    }
}

/// How long without an order makes a customer at risk, in whole months (1–120).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Threshold(i64);

impl Threshold {
    /// Six months, the default.
    pub const SIX_MONTHS: Threshold = Threshold(6);

    pub fn new(months: i64) -> Result<Self, FieldError> {
        if (THRESHOLD_MIN..=THRESHOLD_MAX).contains(&months) {
            Ok(Self(months))
        } else {
            Err(FieldError::new("threshold_months", "err-loss-threshold"))
        }
    }

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = normalize(input);
        if s.is_empty() {
            return Err(FieldError::new("threshold_months", "err-required"));
        }
        s.parse::<i64>()
            .map_err(|_| FieldError::new("threshold_months", "err-loss-threshold"))
            .and_then(Self::new)
    }

    pub fn months(self) -> i64 {
        self.0
    }

    /// The moment a last order must lie before to be at risk on `today` (in the zone of
    /// `offset`): midnight of the same day `months` earlier (the last day of a shorter
    /// month: 31 August less six months is 28 or 29 February). A customer whose last order
    /// is exactly that day has not yet gone the whole threshold without one.
    pub fn cutoff(self, today: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
        let day = today
            .checked_sub_months(Months::new(self.0 as u32))
            .unwrap_or(NaiveDate::MIN);
        offset
            .from_local_datetime(&day.and_time(NaiveTime::MIN))
            .single()
            .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
    }
}

/// The scan's settings as entered on the settings page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    /// Months without an order (1–120).
    pub threshold_months: String,
    /// `on` (a checkbox) or `true`: customers that never ordered are judged from their
    /// creation.
    pub never_ordered: Option<String>,
}

/// The scan's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settings {
    pub threshold: Threshold,
    pub never_ordered: bool,
}

impl Settings {
    pub fn parse(i: &SettingsInput) -> Result<Self, DomainError> {
        let threshold = Threshold::parse(&i.threshold_months)?;
        let never_ordered = i
            .never_ordered
            .as_deref()
            .is_some_and(|v| matches!(v, "on" | "true" | "1"));
        Ok(Self {
            threshold,
            never_ordered,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_close() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code("lost"), None);
        assert_eq!(Status::Warning.after_measure().unwrap(), Status::Deferring);
        assert_eq!(
            Status::Deferring.after_measure().unwrap(),
            Status::Deferring
        );
        assert_eq!(
            Status::Deferring.after_confirm().unwrap(),
            Status::Confirmed
        );
        for closed in [Status::Confirmed, Status::WonBack] {
            assert!(matches!(
                closed.after_measure(),
                Err(DomainError::NotAllowed("err-loss-closed"))
            ));
            assert!(closed.after_confirm().is_err());
        }
        assert!(Status::Confirmed.is_live() && !Status::WonBack.is_live());
    }

    #[test]
    fn a_threshold_is_whole_months_from_one_to_a_hundred_and_twenty() {
        assert_eq!(Threshold::parse("6").unwrap().months(), 6);
        assert_eq!(Threshold::parse("１２").unwrap().months(), 12);
        for bad in ["0", "-1", "121", "six", "1.5"] {
            assert_eq!(
                Threshold::parse(bad).unwrap_err().code,
                "err-loss-threshold",
                "{bad}"
            );
        }
        assert_eq!(Threshold::parse(" ").unwrap_err().code, "err-required");
    }

    #[test]
    fn the_cutoff_is_midnight_of_the_day_months_before_in_the_zone() {
        let cst = FixedOffset::east_opt(8 * 3600).unwrap();
        let six = Threshold::new(6).unwrap();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let at = six.cutoff(d(2026, 12, 7), cst);
        assert_eq!(at.to_rfc3339(), "2026-06-06T16:00:00+00:00");
        // A shorter month: the last day of it.
        let at = six.cutoff(d(2026, 8, 31), cst);
        assert_eq!(at.with_timezone(&cst).date_naive(), d(2026, 2, 28));
    }

    #[test]
    fn a_confirmation_needs_a_reason_of_the_dictionary() {
        let reasons = vec!["price".to_owned(), "quality".to_owned()];
        let input = |r: &str, d: &str| ConfirmInput {
            reason: r.into(),
            detail: d.into(),
        };
        let ok = ConfirmDraft::parse(&input("price", " 嫌贵 "), &reasons).unwrap();
        assert_eq!(
            (ok.reason.as_str(), ok.detail.as_deref()),
            ("price", Some("嫌贵"))
        );
        let codes = |e: DomainError| -> Vec<(String, String)> {
            match e {
                DomainError::Invalid(f) => f.into_iter().map(|f| (f.field, f.code)).collect(),
                other => panic!("{other:?}"),
            }
        };
        let e = ConfirmDraft::parse(&input("", ""), &reasons).unwrap_err();
        assert_eq!(
            codes(e),
            vec![("reason".to_owned(), "err-required".to_owned())]
        );
        let e = ConfirmDraft::parse(&input("moved", &"长".repeat(2001)), &reasons).unwrap_err();
        assert_eq!(
            codes(e),
            vec![
                ("reason".to_owned(), "err-dict-unknown".to_owned()),
                ("detail".to_owned(), "err-too-long".to_owned())
            ]
        );
        let e = MeasureDraft::parse(&MeasureInput {
            measure: "  ".into(),
        })
        .unwrap_err();
        assert_eq!(
            codes(e),
            vec![("measure".to_owned(), "err-required".to_owned())]
        );
    }
}
