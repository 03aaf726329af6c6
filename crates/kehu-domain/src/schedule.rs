//! When a scheduled job runs: a cron pattern of five fields (minute, hour, day of month,
//! month, weekday, as in crontab: `30 2 * * *` is every night at 02:30), read in the
//! configured time zone. croner parses and steps it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use croner::Cron;

use crate::FieldError;

/// A valid schedule; its text is what the user wrote, trimmed.
#[derive(Clone)]
pub struct Schedule {
    text: String,
    cron: Cron,
}

impl Schedule {
    /// The longest pattern, in characters.
    pub const MAX: usize = 100;

    /// `s` as a schedule, or `err-schedule` on `field` (not five fields, a value out of
    /// range, a pattern that never matches).
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let text = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let bad = || FieldError::new(field, "err-schedule");
        if text.chars().count() > Self::MAX || text.split(' ').count() != 5 {
            return Err(bad());
        }
        let cron = Cron::from_str(&text).map_err(|_| bad())?;
        let schedule = Self { text, cron };
        // A pattern such as `0 0 31 2 *` parses but names no moment.
        schedule.next_after(Utc::now(), &Utc).ok_or_else(bad)?;
        Ok(schedule)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first moment strictly after `after` that the schedule names, read in `zone`.
    pub fn next_after<Z: TimeZone>(&self, after: DateTime<Utc>, zone: &Z) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(zone), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Schedule").field(&self.text).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_nightly_schedule_names_the_next_night_in_the_zone() {
        let nightly = Schedule::parse("schedule", " 30  2 * * * ").unwrap();
        assert_eq!(nightly.as_str(), "30 2 * * *");
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        // 02:30 in Beijing is 18:30 UTC the day before.
        assert_eq!(
            nightly.next_after(at("2026-12-07T12:00:00Z"), &beijing),
            Some(at("2026-12-07T18:30:00Z"))
        );
        // Strictly after: a run at the moment itself is followed by the next night's.
        assert_eq!(
            nightly.next_after(at("2026-12-07T18:30:00Z"), &beijing),
            Some(at("2026-12-08T18:30:00Z"))
        );
    }

    #[test]
    fn what_is_not_five_valid_fields_or_never_matches_is_refused() {
        for bad in [
            "",
            "* * * *",
            "0 0 * * * *",
            "61 * * * *",
            "0 25 * * *",
            "0 0 31 2 *",
            "nightly",
        ] {
            let e = Schedule::parse("schedule", bad).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code.as_str()),
                ("schedule", "err-schedule"),
                "{bad:?}"
            );
        }
        assert!(Schedule::parse("schedule", "*/15 8-18 * * 1-5").is_ok());
    }
}
