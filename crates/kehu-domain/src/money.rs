//! Exact decimals: [`Money`] (金额) in fen (分, hundredths of a yuan) and [`Quantity`] (数量) in
//! thousandths, both integers: never a float, so `0.10 + 0.20` is `0.30`. Parsed from the
//! decimal text people type (`1,234.5`), shown as a decimal string (`"1234.50"`). Input is
//! expected already normalised (full-width digits folded by the caller's normaliser).

use std::fmt;

use serde::Serialize;

use crate::error::FieldError;

/// An amount of money in fen (分). Non-negative when parsed; sums stay exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Money(i64);

/// A quantity in thousandths (three decimal places: 1.5 kg, 0.125 t). Positive when parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Quantity(i64);

/// The most digits before the point: 15 (up to about a thousand trillion yuan, well inside
/// `i64` in fen or thousandths).
const WHOLE_MAX: usize = 15;

/// A non-negative decimal with at most `places` digits after the point, as an integer of
/// 10^-places units; thousands separators (`,`) allowed. `None` for what is not one (signs,
/// exponents, `.5`, more places, too many digits).
fn fixed(input: &str, places: usize) -> Option<i64> {
    let s: String = input.trim().chars().filter(|&c| c != ',').collect();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > WHOLE_MAX || frac.len() > places {
        return None;
    }
    if !digits(whole) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if places == 0 {
        0
    } else {
        format!("{frac:0<places$}").parse().ok()?
    };
    whole
        .checked_mul(10_i64.pow(places as u32))?
        .checked_add(frac)
}

impl Money {
    /// Fen as stored.
    pub const fn from_fen(fen: i64) -> Self {
        Self(fen)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    /// A decimal with at most two places (`1234.5`, `1,234.50`); empty is `None`; anything
    /// else, a negative amount among it, is `err-money` on `field`.
    pub fn parse(field: &str, input: &str) -> Result<Option<Self>, FieldError> {
        if input.trim().is_empty() {
            return Ok(None);
        }
        fixed(input, 2)
            .map(|fen| Some(Self(fen)))
            .ok_or_else(|| FieldError::new(field, "err-money"))
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// The price of `q` units at `self` each, rounded half up to the fen (四舍五入): 0.333 ×
    /// 1.00 is 0.33, 0.005 × 1.00 is 0.01 (rounds up). `None` when it does not fit.
    pub fn times(self, q: Quantity) -> Option<Money> {
        let milli = i128::from(self.0) * i128::from(q.0);
        let fen = (milli + 500).div_euclid(1000);
        i64::try_from(fen).ok().map(Money)
    }
}

/// `1234.50`; `-0.05` for a negative amount.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Fen as a decimal string, `"1234.50"` (how the API and forms show money).
pub fn fen_to_decimal(fen: i64) -> String {
    Money(fen).to_string()
}

impl Quantity {
    /// Thousandths as stored.
    pub const fn from_milli(milli: i64) -> Self {
        Self(milli)
    }

    pub const fn milli(self) -> i64 {
        self.0
    }

    /// A positive decimal with at most three places (`2`, `1.5`, `0.125`); empty is `None`;
    /// zero, a negative number or anything else is `err-quantity` on `field`.
    pub fn parse(field: &str, input: &str) -> Result<Option<Self>, FieldError> {
        if input.trim().is_empty() {
            return Ok(None);
        }
        fixed(input, 3)
            .filter(|&m| m > 0)
            .map(|m| Some(Self(m)))
            .ok_or_else(|| FieldError::new(field, "err-quantity"))
    }

    /// Like [`Quantity::parse`], zero allowed (a stock that ran out).
    pub fn parse_non_negative(field: &str, input: &str) -> Result<Option<Self>, FieldError> {
        if input.trim().is_empty() {
            return Ok(None);
        }
        fixed(input, 3)
            .map(|m| Some(Self(m)))
            .ok_or_else(|| FieldError::new(field, "err-quantity"))
    }
}

/// The shortest exact decimal: `2`, `1.5`, `0.125`.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / 1000, abs % 1000);
        if frac == 0 {
            return write!(f, "{sign}{whole}");
        }
        let frac = format!("{frac:03}");
        write!(f, "{sign}{whole}.{}", frac.trim_end_matches('0'))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse("m", s).unwrap().unwrap()
    }

    fn q(s: &str) -> Quantity {
        Quantity::parse("q", s).unwrap().unwrap()
    }

    #[test]
    fn money_is_exact_fen_from_a_decimal_with_at_most_two_places() {
        assert_eq!(m("1,234.5").fen(), 123_450);
        assert_eq!(m("0.07").fen(), 7);
        assert_eq!(m("500").to_string(), "500.00");
        assert_eq!(Money::parse("m", "  "), Ok(None));
        for bad in [
            "1.234",
            "-5",
            "1e3",
            ".5",
            "5.",
            "9999999999999999",
            "１",
            "1.2.3",
        ] {
            assert_eq!(
                Money::parse("m", bad),
                Err(FieldError::new("m", "err-money")),
                "{bad}"
            );
        }
    }

    #[test]
    fn ten_cents_and_twenty_cents_are_thirty_cents() {
        let sum = m("0.10").checked_add(m("0.20")).unwrap();
        assert_eq!(sum.to_string(), "0.30");
        assert_eq!(fen_to_decimal(-5), "-0.05");
    }

    #[test]
    fn quantities_have_three_places_and_are_positive() {
        assert_eq!(q("1.5").milli(), 1500);
        assert_eq!(q("0.125").to_string(), "0.125");
        assert_eq!(q("2.000").to_string(), "2");
        assert_eq!(q("1.50").to_string(), "1.5");
        for bad in ["0", "-1", "1.2345", "abc", "0.000"] {
            assert_eq!(
                Quantity::parse("q", bad),
                Err(FieldError::new("q", "err-quantity")),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_line_total_rounds_half_up_to_the_fen() {
        assert_eq!(m("1.00").times(q("0.333")).unwrap().to_string(), "0.33");
        assert_eq!(m("1.00").times(q("0.005")).unwrap().to_string(), "0.01");
        assert_eq!(m("0.10").times(q("3")).unwrap().to_string(), "0.30");
        assert_eq!(m("12.50").times(q("1.5")).unwrap().to_string(), "18.75");
        let big = Money::from_fen(i64::MAX);
        assert_eq!(big.times(q("2")), None);
    }
}
