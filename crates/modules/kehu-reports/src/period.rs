//! A report's period: the days it covers, given as `from` and `to` (either open; both open is
//! all time) or, on the pages, as a preset (this year, last month …) resolved on the day the
//! report is read, in the configured time zone.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use kehu_domain::error::{Errors, FieldError};

/// The first and last day of a report (either open).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Days {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The pages' presets, in the order the period menu offers them.
pub const PRESETS: &[&str] = &[
    "this_year",
    "last_year",
    "this_quarter",
    "last_quarter",
    "this_month",
    "last_month",
    "all",
];

/// A day `YYYY-MM-DD`; empty is none; anything else is `err-date` on `field`.
pub fn parse_day(field: &str, s: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| FieldError::new(field, "err-day")),
    }
}

impl Days {
    /// `from` and `to` as given (each a field error in `e` when it is no day); `to` before
    /// `from` is `err-period-order` on `to`.
    pub fn parse(e: &mut Errors, from: Option<&str>, to: Option<&str>) -> Days {
        let from = e.check(parse_day("from", from)).flatten();
        let to = e.check(parse_day("to", to)).flatten();
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            e.push(FieldError::new("to", "err-period-order"));
        }
        Days { from, to }
    }

    /// Preset `code` on day `today` (an unknown code: none).
    pub fn preset(code: &str, today: NaiveDate) -> Option<Days> {
        let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1);
        let span = |start: Option<NaiveDate>, months: u32| {
            let start = start?;
            let end = start.checked_add_months(Months::new(months))?.pred_opt()?;
            Some(Days {
                from: Some(start),
                to: Some(end),
            })
        };
        let (y, m) = (today.year(), today.month());
        let quarter = first(y, (m - 1) / 3 * 3 + 1);
        let month = first(y, m);
        let back =
            |d: Option<NaiveDate>, n: u32| d.and_then(|d| d.checked_sub_months(Months::new(n)));
        match code {
            "this_year" => span(first(y, 1), 12),
            "last_year" => span(first(y - 1, 1), 12),
            "this_quarter" => span(quarter, 3),
            "last_quarter" => span(back(quarter, 3), 3),
            "this_month" => span(month, 1),
            "last_month" => span(back(month, 1), 1),
            "all" => Some(Days::default()),
            _ => None,
        }
    }

    /// The instants the days cover in time zone `zone`: the first day's start (inclusive) and
    /// the day after the last's start (exclusive).
    pub fn instants<Z: TimeZone>(
        &self,
        zone: &Z,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let start = |d: NaiveDate| {
            zone.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        };
        (
            self.from.and_then(start),
            self.to.and_then(|d| d.succ_opt()).and_then(start),
        )
    }

    /// The months the days touch, first to last, each as its first day (at most `max`, the
    /// last ones; none when either end is open).
    pub fn months(&self, max: usize) -> Vec<NaiveDate> {
        let (Some(from), Some(to)) = (self.from, self.to) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut m = from.with_day(1);
        while let Some(d) = m {
            if d > to {
                break;
            }
            out.push(d);
            m = d.checked_add_months(Months::new(1));
        }
        let skip = out.len().saturating_sub(max);
        out.split_off(skip)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn span(f: NaiveDate, t: NaiveDate) -> Option<Days> {
        Some(Days {
            from: Some(f),
            to: Some(t),
        })
    }

    #[test]
    fn presets_are_the_calendars_periods_around_today() {
        let today = day(2026, 2, 14);
        let p = |c| Days::preset(c, today);
        assert_eq!(p("this_year"), span(day(2026, 1, 1), day(2026, 12, 31)));
        assert_eq!(p("last_year"), span(day(2025, 1, 1), day(2025, 12, 31)));
        assert_eq!(p("this_quarter"), span(day(2026, 1, 1), day(2026, 3, 31)));
        assert_eq!(p("last_quarter"), span(day(2025, 10, 1), day(2025, 12, 31)));
        assert_eq!(p("this_month"), span(day(2026, 2, 1), day(2026, 2, 28)));
        assert_eq!(p("last_month"), span(day(2026, 1, 1), day(2026, 1, 31)));
        assert_eq!(p("all"), Some(Days::default()));
        assert_eq!(p("someday"), None);
    }

    #[test]
    fn a_period_ending_before_it_starts_is_an_error_on_its_end() {
        let mut e = Errors::new();
        Days::parse(&mut e, Some("2026-03-01"), Some("2026-02-01"));
        let Err(kehu_domain::DomainError::Invalid(fields)) = e.finish() else {
            panic!("no error");
        };
        assert_eq!(fields[0].field, "to");
        let mut e = Errors::new();
        Days::parse(&mut e, Some("2026-3-x"), None);
        assert!(e.finish().is_err());
    }

    #[test]
    fn the_months_of_a_period_are_its_calendar_months() {
        let d = span(day(2025, 11, 20), day(2026, 2, 3)).unwrap();
        assert_eq!(
            d.months(12),
            vec![
                day(2025, 11, 1),
                day(2025, 12, 1),
                day(2026, 1, 1),
                day(2026, 2, 1)
            ]
        );
        assert_eq!(d.months(2), vec![day(2026, 1, 1), day(2026, 2, 1)]);
        assert!(Days::default().months(12).is_empty());
    }

    #[test]
    fn a_periods_instants_are_its_days_in_the_zone() {
        let d = span(day(2026, 1, 1), day(2026, 1, 31)).unwrap();
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let (from, to) = d.instants(&beijing);
        assert_eq!(from.unwrap().to_rfc3339(), "2025-12-31T16:00:00+00:00");
        assert_eq!(to.unwrap().to_rfc3339(), "2026-01-31T16:00:00+00:00");
    }
}
