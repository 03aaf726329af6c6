//! What the service module checks before anything is stored: a service's fields as entered
//! (forms, the API's strings) parsed into a draft, every bad field at once; the handling, the
//! feedback and a complaint step's text. The workflow itself (who may do what in which
//! state, the complaint's steps) is `kehu_domain::service`.

use kehu_customers::domain::{DictValues, kinds, line, normalize, required_text, take};
use kehu_domain::error::Errors;
use kehu_domain::{DomainError, FieldError};
use serde::{Deserialize, Serialize};

pub use kehu_domain::service::{
    Action, SATISFIED, Satisfaction, Service, Status, Step, StepRecord, check_step, next_step,
};

/// The dictionary kind of service types (`consultation`, `complaint`, `suggestion` …).
pub const TYPE: &str = "service_type";
/// The type whose services take the complaint's steps.
pub const COMPLAINT: &str = "complaint";
/// The longest request, handling, result and step.
pub const TEXT_MAX: usize = 2000;
pub const TITLE_MAX: usize = 100;

/// How urgent a service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// Empty is [`Priority::Normal`]; a code not in the set is `err-invalid`.
    fn parse(input: &str) -> Result<Self, FieldError> {
        let s = normalize(input);
        if s.is_empty() {
            return Ok(Priority::Normal);
        }
        Self::from_code(&s).ok_or_else(|| FieldError::new("priority", "err-invalid"))
    }
}

impl std::str::FromStr for Priority {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s.trim()).ok_or_else(|| {
            let codes: Vec<&str> = Self::ALL.iter().map(|p| p.code()).collect();
            format!("expected one of {}", codes.join(", "))
        })
    }
}

/// A service's fields as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceInput {
    /// A value of the dictionary `service_type` (posted and reported as `type`).
    #[serde(rename = "type")]
    pub service_type: String,
    pub title: String,
    pub customer_id: String,
    pub contact_id: String,
    /// A value of the dictionary `activity_channel`.
    pub channel: String,
    pub request: String,
    /// `low`, `normal` (when empty), `high`, `urgent`.
    pub priority: String,
}

/// A service (服务), parsed. The customer and contact are checked against the caller's
/// scope by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDraft {
    pub service_type: String,
    pub title: String,
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub channel: Option<String>,
    pub request: String,
    pub priority: Priority,
}

impl ServiceDraft {
    /// Parses every field of `i`, the type and channel against `dict`; all bad fields at once.
    pub fn parse(i: &ServiceInput, dict: &DictValues) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let service_type = match dict.parse("type", TYPE, &i.service_type) {
            Ok(Some(t)) => t,
            Ok(None) => take(&mut e, Err(FieldError::new("type", "err-required"))),
            Err(err) => take(&mut e, Err(err)),
        };
        let draft = Self {
            service_type,
            title: take(&mut e, line("title", &i.title, TITLE_MAX)),
            customer_id: take(&mut e, id("customer_id", &i.customer_id, true)).unwrap_or(0),
            contact_id: take(&mut e, id("contact_id", &i.contact_id, false)),
            channel: take(&mut e, dict.parse("channel", kinds::CHANNEL, &i.channel)),
            request: take(&mut e, text("request", &i.request)),
            priority: take(&mut e, Priority::parse(&i.priority).map(Some))
                .unwrap_or(Priority::Normal),
        };
        e.finish()?;
        Ok(draft)
    }

    pub fn is_complaint(&self) -> bool {
        self.service_type == COMPLAINT
    }
}

/// A record's id as entered (`12`); empty is `None`, or `err-required` when `required`.
fn id(field: &str, input: &str, required: bool) -> Result<Option<i64>, FieldError> {
    let s = normalize(input);
    if s.is_empty() {
        return if required {
            Err(FieldError::new(field, "err-required"))
        } else {
            Ok(None)
        };
    }
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| FieldError::new(field, "err-invalid"))
}

/// Required text of several lines, at most [`TEXT_MAX`] characters, as a field error.
pub fn text(field: &str, input: &str) -> Result<String, FieldError> {
    required_text(field, input, TEXT_MAX).map_err(|e| match e {
        DomainError::Invalid(mut f) if !f.is_empty() => f.remove(0),
        _ => FieldError::new(field, "err-invalid"),
    })
}

/// The customer's feedback as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedbackInput {
    pub result: String,
    /// 1–5.
    pub satisfaction: String,
}

/// The customer's feedback (服务反馈), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackDraft {
    pub result: String,
    pub satisfaction: Satisfaction,
}

impl FeedbackDraft {
    pub fn parse(i: &FeedbackInput) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let result = take(&mut e, text("result", &i.result));
        let s = normalize(&i.satisfaction);
        let satisfaction = if s.is_empty() {
            e.check::<()>(Err(FieldError::new("satisfaction", "err-required")));
            None
        } else {
            match s
                .parse::<i64>()
                .map_err(|_| ())
                .and_then(|n| Satisfaction::new(n).map_err(|_| ()))
            {
                Ok(v) => Some(v),
                Err(()) => {
                    e.check::<()>(Err(FieldError::new(
                        "satisfaction",
                        "err-satisfaction-range",
                    )));
                    None
                }
            }
        };
        e.finish()?;
        match satisfaction {
            Some(satisfaction) => Ok(Self {
                result,
                satisfaction,
            }),
            None => Err(DomainError::field("satisfaction", "err-required")),
        }
    }
}

/// A complaint step as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepInput {
    /// `validity`, `department`, `cause`, `resolution`, `approval`, `execution`, `summary`.
    pub step: String,
    pub content: String,
    /// `true` / `false` for the decisions (`validity`: it stands; `approval`: approved).
    pub accepted: String,
}

/// A complaint step (投诉处理的一步), parsed; whether it may be taken now is
/// [`check_step`]'s to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDraft {
    pub step: Step,
    pub content: String,
    pub accepted: Option<bool>,
}

impl StepDraft {
    pub fn parse(i: &StepInput) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let step = Step::from_code(&normalize(&i.step)).filter(|s| *s != Step::Reopened);
        if step.is_none() {
            e.check::<()>(Err(FieldError::new("step", "err-step-unknown")));
        }
        let content = take(&mut e, text("content", &i.content));
        let accepted = match normalize(&i.accepted).as_str() {
            "" => None,
            "true" | "1" | "on" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => {
                e.check::<()>(Err(FieldError::new("accepted", "err-invalid")));
                None
            }
        };
        e.finish()?;
        let step = step.ok_or_else(|| DomainError::field("step", "err-step-unknown"))?;
        Ok(Self {
            step,
            content,
            accepted: if step.decides() { accepted } else { None },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    fn dict() -> DictValues {
        DictValues::new([
            (TYPE, "consultation"),
            (TYPE, "complaint"),
            (kinds::CHANNEL, "phone"),
        ])
    }

    fn codes(e: DomainError) -> Vec<(String, String)> {
        match e {
            DomainError::Invalid(f) => f.into_iter().map(|f| (f.field, f.code)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_complaint_as_entered_becomes_a_draft() {
        let d = ServiceDraft::parse(
            &ServiceInput {
                service_type: "complaint".into(),
                title: " 货物破损 ".into(),
                customer_id: "１２".into(),
                channel: "phone".into(),
                request: "收到的货物外包装破损，\n要求换货".into(),
                ..ServiceInput::default()
            },
            &dict(),
        )
        .unwrap();
        assert_eq!(d.title, "货物破损");
        assert_eq!(d.customer_id, 12);
        assert_eq!(d.priority, Priority::Normal);
        assert!(d.is_complaint());
        assert_eq!(d.request, "收到的货物外包装破损，\n要求换货");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let e = ServiceDraft::parse(
            &ServiceInput {
                service_type: "gossip".into(),
                customer_id: "abc".into(),
                contact_id: "-3".into(),
                channel: "pigeon".into(),
                priority: "asap".into(),
                ..ServiceInput::default()
            },
            &dict(),
        )
        .unwrap_err();
        let got = codes(e);
        for want in [
            ("type", "err-dict-unknown"),
            ("title", "err-required"),
            ("customer_id", "err-invalid"),
            ("contact_id", "err-invalid"),
            ("channel", "err-dict-unknown"),
            ("request", "err-required"),
            ("priority", "err-invalid"),
        ] {
            assert!(
                got.contains(&(want.0.to_owned(), want.1.to_owned())),
                "{want:?} in {got:?}"
            );
        }
        let missing = codes(ServiceDraft::parse(&ServiceInput::default(), &dict()).unwrap_err());
        assert!(missing.contains(&("type".into(), "err-required".into())));
        assert!(missing.contains(&("customer_id".into(), "err-required".into())));
    }

    #[test]
    fn satisfaction_must_be_one_to_five() {
        for bad in ["0", "6", "3.5", "很好"] {
            let e = FeedbackDraft::parse(&FeedbackInput {
                result: "已换货".into(),
                satisfaction: bad.into(),
            })
            .unwrap_err();
            assert_eq!(
                codes(e),
                [(
                    "satisfaction".to_owned(),
                    "err-satisfaction-range".to_owned()
                )],
                "{bad}"
            );
        }
        let ok = FeedbackDraft::parse(&FeedbackInput {
            result: "已换货".into(),
            satisfaction: "４".into(),
        })
        .unwrap();
        assert_eq!(ok.satisfaction.get(), 4);
        let e = FeedbackDraft::parse(&FeedbackInput::default()).unwrap_err();
        assert_eq!(codes(e).len(), 2, "result and satisfaction are required");
    }

    #[test]
    fn a_step_names_one_of_the_steps_and_a_decision_its_outcome() {
        let s = StepDraft::parse(&StepInput {
            step: "validity".into(),
            content: "属实：包装破损有照片".into(),
            accepted: "true".into(),
        })
        .unwrap();
        assert_eq!((s.step, s.accepted), (Step::Validity, Some(true)));
        let plain = StepDraft::parse(&StepInput {
            step: "cause".into(),
            content: "物流公司野蛮装卸".into(),
            accepted: "true".into(),
        })
        .unwrap();
        assert_eq!(plain.accepted, None, "only decisions keep an outcome");
        for bad in ["reopened", "lunch", ""] {
            let e = StepDraft::parse(&StepInput {
                step: bad.into(),
                content: "x".into(),
                accepted: String::new(),
            })
            .unwrap_err();
            assert_eq!(
                codes(e),
                [("step".to_owned(), "err-step-unknown".to_owned())]
            );
        }
    }
}
