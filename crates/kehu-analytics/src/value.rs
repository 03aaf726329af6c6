//! Customer lifetime value over a horizon and the four value classes.

use serde::Serialize;

use crate::bgnbd::{BgNbd, Observation};

/// Weeks in a month, as `lifetimes` (`freq="W"`).
pub const WEEKS_PER_MONTH: f64 = 4.345;

/// CLV = Σ_{m=1..H} spend · (E[X(4.345m)] − E[X(4.345(m−1))]) / (1+d)^m.
///
/// Also returns E[X(4.345·H)], the expected purchases over the whole horizon. A
/// non-finite conditional expectation (₂F₁ not converging for extreme parameters)
/// yields `None`.
pub fn clv(
    model: &BgNbd,
    o: &Observation,
    expected_spend: f64,
    horizon_months: u32,
    monthly_discount_rate: f64,
) -> Option<(f64, f64)> {
    let mut previous = 0.0;
    let mut value = 0.0;
    let mut discount = 1.0;
    for m in 1..=horizon_months {
        let cumulative = model.expected_purchases(WEEKS_PER_MONTH * f64::from(m), o);
        if !cumulative.is_finite() {
            return None;
        }
        discount *= 1.0 + monthly_discount_rate;
        value += expected_spend * (cumulative - previous) / discount;
        previous = cumulative;
    }
    Some((value, previous))
}

/// 价值类别: current value (revenue in the last 12 months) × potential value (CLV).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueClass {
    /// 高价值: high current, high potential
    High,
    /// 次价值: high current, low potential
    Sub,
    /// 潜在价值: low current, high potential
    Potential,
    /// 低价值: low current, low potential
    Low,
}

impl ValueClass {
    pub const ALL: [ValueClass; 4] = [
        ValueClass::High,
        ValueClass::Sub,
        ValueClass::Potential,
        ValueClass::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ValueClass::High => "high",
            ValueClass::Sub => "sub",
            ValueClass::Potential => "potential",
            ValueClass::Low => "low",
        }
    }
}

/// The q-quantile with linear interpolation between order statistics (numpy's default,
/// "type 7"); `None` for no values.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = position.floor() as usize;
    let hi = position.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo as f64))
}

/// Thresholds the classes were split at.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Thresholds {
    pub current_quantile: f64,
    pub potential_quantile: f64,
    /// Revenue of the last 12 months, in currency units.
    pub current_value: f64,
    pub potential_value: f64,
}

/// A customer is "high" on an axis when strictly above that axis' threshold (so with a
/// median of 0, everyone at 0 is "low").
pub fn value_classes(
    current: &[f64],
    potential: &[f64],
    current_quantile: f64,
    potential_quantile: f64,
) -> (Vec<ValueClass>, Thresholds) {
    let tc = quantile(current, current_quantile).unwrap_or(0.0);
    let tp = quantile(potential, potential_quantile).unwrap_or(0.0);
    let classes = current
        .iter()
        .zip(potential)
        .map(|(&c, &p)| match (c > tc, p > tp) {
            (true, true) => ValueClass::High,
            (true, false) => ValueClass::Sub,
            (false, true) => ValueClass::Potential,
            (false, false) => ValueClass::Low,
        })
        .collect();
    (
        classes,
        Thresholds {
            current_quantile,
            potential_quantile,
            current_value: tc,
            potential_value: tp,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clv_sums_monthly_increments_with_discounting() {
        let model = BgNbd {
            r: 0.8,
            alpha: 3.5,
            a: 1.7,
            b: 2.6,
        };
        let o = Observation {
            frequency: 3,
            recency: 20.0,
            t: 30.0,
        };
        let (value, purchases) = clv(&model, &o, 25.0, 3, 0.01).unwrap_or_default();
        let e = |m: f64| model.expected_purchases(4.345 * m, &o);
        let by_hand = 25.0
            * (e(1.0) / 1.01
                + (e(2.0) - e(1.0)) / 1.01f64.powi(2)
                + (e(3.0) - e(2.0)) / 1.01f64.powi(3));
        assert!((value - by_hand).abs() < 1e-12);
        assert!((purchases - e(3.0)).abs() < 1e-15);
        // Without discounting CLV is spend × expected purchases.
        let (undiscounted, _) = clv(&model, &o, 25.0, 3, 0.0).unwrap_or_default();
        assert!((undiscounted - 25.0 * e(3.0)).abs() < 1e-12);
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.9), Some(4.6));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn classes_split_strictly_above_the_medians() {
        let current = [0.0, 0.0, 10.0, 20.0];
        let potential = [1.0, 9.0, 1.0, 9.0];
        let (classes, t) = value_classes(&current, &potential, 0.5, 0.5);
        assert_eq!(t.current_value, 5.0);
        assert_eq!(t.potential_value, 5.0);
        assert_eq!(
            classes,
            vec![
                ValueClass::Low,
                ValueClass::Potential,
                ValueClass::Sub,
                ValueClass::High
            ]
        );
        // A median of 0 puts every zero in the low half.
        let (classes, _) = value_classes(&[0.0, 0.0, 0.0, 5.0], &[1.0; 4], 0.5, 0.5);
        assert_eq!(classes.iter().filter(|c| **c == ValueClass::Low).count(), 3);
    }
}
