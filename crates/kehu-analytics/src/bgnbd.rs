//! The BG/NBD model (Fader, Hardie & Lee 2005): maximum-likelihood fit, P(alive) and
//! conditional expected purchases, with the conventions of `lifetimes`' `BetaGeoFitter`.

use serde::Serialize;

use crate::optimize::{self, Minimum};
use crate::special::{digamma, ln_gamma, ln_hyp2f1};

/// Fitted BG/NBD parameters; α in weeks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// One customer's model summary: x repeat purchase days, recency tₓ and age T in weeks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    pub frequency: u32,
    pub recency: f64,
    pub t: f64,
}

/// Customers sharing one (x, tₓ, T) pattern.
#[derive(Clone, Copy, Debug)]
struct Pattern {
    x: f64,
    recency: f64,
    t: f64,
    count: f64,
}

/// The observations condensed to distinct patterns (day-resolution data repeats a lot),
/// plus the per-customer pattern index for predictions.
pub struct Patterns {
    patterns: Vec<Pattern>,
    /// Count of customers by frequency, for the terms that depend on x alone.
    by_frequency: Vec<(f64, f64)>,
    customers: f64,
    pub index: Vec<u32>,
}

impl Patterns {
    pub fn new(observations: &[Observation]) -> Self {
        // Sorted by (x, tₓ, T) with the customer beside its key: a sort of the indices by
        // their observations' keys read the observations all over memory. Non-negative
        // floats order as their bits do.
        let mut keyed: Vec<(u32, u64, u64, u32)> = observations
            .iter()
            .enumerate()
            .map(|(i, o)| (o.frequency, o.recency.to_bits(), o.t.to_bits(), i as u32))
            .collect();
        keyed.sort_unstable();
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut index = vec![0_u32; observations.len()];
        let mut last_key = None;
        for &(frequency, recency, t, i) in &keyed {
            let k = (frequency, recency, t);
            if last_key != Some(k) {
                patterns.push(Pattern {
                    x: f64::from(frequency),
                    recency: f64::from_bits(recency),
                    t: f64::from_bits(t),
                    count: 0.0,
                });
                last_key = Some(k);
            }
            if let Some(p) = patterns.last_mut() {
                p.count += 1.0;
            }
            index[i as usize] = (patterns.len() - 1) as u32;
        }
        let mut by_frequency: Vec<(f64, f64)> = Vec::new();
        for p in &patterns {
            match by_frequency.last_mut() {
                Some((x, n)) if *x == p.x => *n += p.count,
                _ => by_frequency.push((p.x, p.count)),
            }
        }
        Patterns {
            patterns,
            by_frequency,
            customers: observations.len() as f64,
            index,
        }
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    fn max_t(&self) -> f64 {
        self.patterns.iter().fold(0.0, |m, p| m.max(p.t))
    }

    /// The patterns with tₓ and T times `scale`, without the customers' index.
    fn scaled(&self, scale: f64) -> Patterns {
        Patterns {
            patterns: self
                .patterns
                .iter()
                .map(|p| Pattern {
                    recency: p.recency * scale,
                    t: p.t * scale,
                    ..*p
                })
                .collect(),
            by_frequency: self.by_frequency.clone(),
            customers: self.customers,
            index: Vec::new(),
        }
    }

    /// The observation of pattern `i`.
    pub fn observation(&self, i: usize) -> Observation {
        let p = &self.patterns[i];
        Observation {
            frequency: p.x as u32,
            recency: p.recency,
            t: p.t,
        }
    }
}

/// The log-likelihood of one customer (Fader, Hardie & Lee 2005, eq. 6 in the form of
/// Hardie's note 004 §7):
///
/// ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)
///      + ln[ (α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+tₓ)^−(r+x) ]
pub fn log_likelihood_one(params: &BgNbd, o: &Observation) -> f64 {
    let BgNbd { r, alpha, a, b } = *params;
    let x = f64::from(o.frequency);
    let common = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x)
        - ln_gamma(b)
        - ln_gamma(a + b + x);
    let a3 = -(r + x) * (alpha + o.t).ln();
    if o.frequency == 0 {
        return common + a3;
    }
    let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + o.recency).ln();
    common + log_add_exp(a3, a4)
}

/// Total log-likelihood over all customers.
pub fn log_likelihood(params: &BgNbd, observations: &[Observation]) -> f64 {
    observations
        .iter()
        .map(|o| log_likelihood_one(params, o))
        .sum()
}

fn log_add_exp(u: f64, v: f64) -> f64 {
    let m = u.max(v);
    m + (-(u - v).abs()).exp().ln_1p()
}

/// Mean negative log-likelihood over log-parameters θ = ln(r, α, a, b) and its gradient,
/// plus `penalizer`·Σ params² (the `lifetimes` objective, penalizer 0 by default).
pub fn objective(patterns: &Patterns, theta: &[f64], penalizer: f64, grad: &mut [f64]) -> f64 {
    let (r, alpha, a, b) = (
        theta[0].exp(),
        theta[1].exp(),
        theta[2].exp(),
        theta[3].exp(),
    );
    let n = patterns.customers;
    // d ln L / d(r, α, a, b), summed over customers.
    let mut dr = 0.0;
    let mut dalpha = 0.0;
    let mut da = 0.0;
    let mut db = 0.0;
    let mut ll = n * r * alpha.ln();
    dr += n * alpha.ln();
    dalpha += n * r / alpha;
    let (psi_r, psi_ab, psi_b) = (digamma(r), digamma(a + b), digamma(b));
    let (lg_r, lg_ab, lg_b) = (ln_gamma(r), ln_gamma(a + b), ln_gamma(b));
    for &(x, count) in &patterns.by_frequency {
        ll +=
            count * (ln_gamma(r + x) - lg_r + lg_ab + ln_gamma(b + x) - lg_b - ln_gamma(a + b + x));
        let psi_abx = digamma(a + b + x);
        dr += count * (digamma(r + x) - psi_r);
        da += count * (psi_ab - psi_abx);
        db += count * (psi_ab + digamma(b + x) - psi_b - psi_abx);
    }
    let chunk_sums = |chunk: &[Pattern]| pattern_terms(chunk, r, alpha, a, b);
    let partial = if patterns.patterns.len() >= 100_000 {
        let threads = std::thread::available_parallelism()
            .map_or(1, |p| p.get())
            .clamp(1, 8);
        let size = patterns.patterns.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = patterns
                .patterns
                .chunks(size)
                .map(|c| scope.spawn(move || chunk_sums(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or([f64::NAN; 5]))
                .fold([0.0; 5], |acc, v| std::array::from_fn(|i| acc[i] + v[i]))
        })
    } else {
        chunk_sums(&patterns.patterns)
    };
    ll += partial[0];
    dr += partial[1];
    dalpha += partial[2];
    da += partial[3];
    db += partial[4];
    let params = [r, alpha, a, b];
    let derivatives = [dr, dalpha, da, db];
    for i in 0..4 {
        // Chain rule to log-parameters, mean over customers, then the penalty.
        grad[i] = -derivatives[i] * params[i] / n + penalizer * 2.0 * params[i] * params[i];
    }
    -ll / n + penalizer * params.iter().map(|p| p * p).sum::<f64>()
}

/// The pattern-dependent part of the log-likelihood and its derivatives
/// [ll, ∂r, ∂α, ∂a, ∂b] over `chunk`.
fn pattern_terms(chunk: &[Pattern], r: f64, alpha: f64, a: f64, b: f64) -> [f64; 5] {
    let (mut ll, mut dr, mut dalpha, mut da, mut db) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let ln_a = a.ln();
    for p in chunk {
        let rx = r + p.x;
        let ln_t = (alpha + p.t).ln();
        let a3 = -rx * ln_t;
        if p.x == 0.0 {
            ll += p.count * a3;
            dr -= p.count * ln_t;
            dalpha -= p.count * rx / (alpha + p.t);
            continue;
        }
        let ln_rec = (alpha + p.recency).ln();
        let bx1 = b + p.x - 1.0;
        let a4 = ln_a - bx1.ln() - rx * ln_rec;
        let m = a3.max(a4);
        let e3 = (a3 - m).exp();
        let e4 = (a4 - m).exp();
        let sum = e3 + e4;
        let (w3, w4) = (e3 / sum, e4 / sum);
        ll += p.count * (m + sum.ln());
        dr -= p.count * (w3 * ln_t + w4 * ln_rec);
        dalpha -= p.count * rx * (w3 / (alpha + p.t) + w4 / (alpha + p.recency));
        da += p.count * w4 / a;
        db -= p.count * w4 / bx1;
    }
    [ll, dr, dalpha, da, db]
}

/// Result of a fit: parameters (α in weeks) and convergence information.
#[derive(Clone, Debug, Serialize)]
pub struct BgNbdFit {
    #[serde(flatten)]
    pub params: BgNbd,
    /// Total log-likelihood of the data at the optimum (unscaled time, in weeks).
    pub log_likelihood: f64,
    pub customers: usize,
    pub distinct_patterns: usize,
    pub time_scale: f64,
    pub penalizer: f64,
    pub optimizer: Minimum,
}

/// Why the model could not be fitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotFitted {
    pub reason: String,
}

/// Fits by maximum likelihood over log-parameters, starting from θ = 0.1 (as `lifetimes`).
///
/// Time is rescaled so that the largest T is 10 during the fit (as `lifetimes` does; the
/// optimum is scale-equivariant, α is scaled back). Errors when the data cannot identify
/// the model: no customers, nobody repeats, or every customer has T = 0; or when the
/// optimiser does not converge to finite parameters.
pub fn fit(observations: &[Observation], penalizer: f64) -> Result<BgNbdFit, NotFitted> {
    fit_patterns(&Patterns::new(observations), penalizer)
}

/// [`fit`] of observations already condensed to their patterns (which the predictions use
/// too).
pub fn fit_patterns(observed: &Patterns, penalizer: f64) -> Result<BgNbdFit, NotFitted> {
    if observed.is_empty() {
        return Err(not_fitted("no customers with a purchase day"));
    }
    if observed.by_frequency.iter().all(|&(x, _)| x == 0.0) {
        return Err(not_fitted("no customer has a repeat purchase day"));
    }
    let max_t = observed.max_t();
    if max_t.is_nan() || max_t <= 0.0 {
        return Err(not_fitted(
            "every customer's first purchase is on the as-of day",
        ));
    }
    let scale = 10.0 / max_t;
    let patterns = observed.scaled(scale);
    debug_assert!(patterns.max_t() > 0.0);
    let minimum = optimize::bfgs(
        |theta, grad| objective(&patterns, theta, penalizer, grad),
        &[0.1; 4],
        optimize::Options::default(),
    );
    let p: Vec<f64> = minimum.x.iter().map(|t| t.exp()).collect();
    if !minimum.converged || p.iter().any(|v| !v.is_finite() || *v <= 0.0 || *v > 1e12) {
        return Err(not_fitted(&format!(
            "the BG/NBD optimiser did not converge ({}; r={}, alpha={}, a={}, b={})",
            minimum.message,
            p[0],
            p[1] / scale,
            p[2],
            p[3]
        )));
    }
    let params = BgNbd {
        r: p[0],
        alpha: p[1] / scale,
        a: p[2],
        b: p[3],
    };
    Ok(BgNbdFit {
        // Over the patterns: each customer's term, once per pattern.
        log_likelihood: (0..observed.len())
            .map(|i| {
                observed.patterns[i].count * log_likelihood_one(&params, &observed.observation(i))
            })
            .sum(),
        params,
        customers: observed.index.len(),
        distinct_patterns: patterns.len(),
        time_scale: scale,
        penalizer,
        optimizer: minimum,
    })
}

fn not_fitted(reason: &str) -> NotFitted {
    NotFitted {
        reason: reason.to_string(),
    }
}

impl BgNbd {
    /// P(alive | x, tₓ, T) = 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x));
    /// 1 when x = 0 (Hardie's note 021, as `lifetimes`).
    pub fn p_alive(&self, o: &Observation) -> f64 {
        if o.frequency == 0 {
            return 1.0;
        }
        let x = f64::from(o.frequency);
        let log_div = (self.r + x) * ((self.alpha + o.t) / (self.alpha + o.recency)).ln()
            + (self.a / (self.b + x - 1.0)).ln();
        1.0 / (1.0 + log_div.exp())
    }

    /// E[X(t) | x, tₓ, T], the expected repeat purchases in the next t weeks (FHL 2005
    /// eq. 10):
    ///
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    ///   / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x))
    pub fn expected_purchases(&self, t: f64, o: &Observation) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = f64::from(o.frequency);
        let z = t / (alpha + o.t + t);
        let ln_hyp = ln_hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let first = (a + b + x - 1.0) / (a - 1.0);
        let second = -(ln_hyp + (r + x) * ((alpha + o.t) / (alpha + t + o.t)).ln()).exp_m1();
        let denominator = if o.frequency > 0 {
            1.0 + a / (b + x - 1.0) * ((alpha + o.t) / (alpha + o.recency)).powf(r + x)
        } else {
            1.0
        };
        first * second / denominator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The likelihood by its closed form with products instead of ln Γ, and the mixing
    /// over p done by numerical integration against the Beta(a, b) density:
    /// L = ∫₀¹ [(1−p)^x Λ(T) + 1{x>0} p (1−p)^(x−1) Λ(tₓ)] Beta(p; a, b) dp,
    /// Λ(τ) = Π_{i<x}(r+i) · α^r / (α+τ)^(r+x).
    fn likelihood_by_integration(p: &BgNbd, o: &Observation) -> f64 {
        let x = o.frequency;
        let rising: f64 = (0..x).map(|i| p.r + f64::from(i)).product();
        let lambda =
            |tau: f64| rising * p.alpha.powf(p.r) / (p.alpha + tau).powf(p.r + f64::from(x));
        let (big_t, small_t) = (lambda(o.t), lambda(o.recency));
        let n = 200_000;
        let h = 1.0 / f64::from(n);
        let (mut integral, mut norm) = (0.0, 0.0);
        for k in 0..n {
            let q = (f64::from(k) + 0.5) * h; // midpoint rule
            let density = q.powf(p.a - 1.0) * (1.0 - q).powf(p.b - 1.0);
            let alive = (1.0 - q).powi(x as i32) * big_t;
            let dead = if x > 0 {
                q * (1.0 - q).powi(x as i32 - 1) * small_t
            } else {
                0.0
            };
            integral += (alive + dead) * density;
            norm += density;
        }
        integral / norm
    }

    const PARAMS: BgNbd = BgNbd {
        r: 0.8,
        alpha: 3.5,
        a: 1.7,
        b: 2.6,
    };

    #[test]
    fn log_likelihood_matches_the_integral_over_the_dropout_probability() {
        for o in [
            Observation {
                frequency: 0,
                recency: 0.0,
                t: 20.0,
            },
            Observation {
                frequency: 1,
                recency: 4.0,
                t: 10.0,
            },
            Observation {
                frequency: 5,
                recency: 30.0,
                t: 38.0,
            },
            Observation {
                frequency: 12,
                recency: 50.5,
                t: 52.0,
            },
        ] {
            let closed = log_likelihood_one(&PARAMS, &o);
            let integral = likelihood_by_integration(&PARAMS, &o).ln();
            assert!(
                (closed - integral).abs() < 1e-6,
                "{o:?}: {closed} vs {integral}"
            );
        }
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let observations: Vec<Observation> = (0..200)
            .map(|i| Observation {
                frequency: i % 7,
                recency: f64::from(i % 7) * 3.0,
                t: 25.0 + f64::from(i % 13),
            })
            .collect();
        let patterns = Patterns::new(&observations);
        let theta = [
            PARAMS.r.ln(),
            PARAMS.alpha.ln(),
            PARAMS.a.ln(),
            PARAMS.b.ln(),
        ];
        let mut grad = [0.0; 4];
        let value = objective(&patterns, &theta, 0.1, &mut grad);
        // The objective is the mean negative log-likelihood plus the penalty.
        let direct = -log_likelihood(&PARAMS, &observations) / 200.0
            + 0.1
                * [PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b]
                    .iter()
                    .map(|p| p * p)
                    .sum::<f64>();
        assert!((value - direct).abs() < 1e-12);
        crate::optimize::assert_gradient_matches(
            |t, g| objective(&patterns, t, 0.1, g),
            theta,
            &grad,
        );
    }

    #[test]
    fn p_alive_is_one_without_repeats_and_falls_with_a_long_silence() {
        let new = Observation {
            frequency: 0,
            recency: 0.0,
            t: 30.0,
        };
        assert_eq!(PARAMS.p_alive(&new), 1.0);
        let recent = Observation {
            frequency: 4,
            recency: 29.0,
            t: 30.0,
        };
        let silent = Observation {
            frequency: 4,
            recency: 2.0,
            t: 30.0,
        };
        assert!(PARAMS.p_alive(&recent) > PARAMS.p_alive(&silent));
        // By hand: 1 / (1 + a/(b+x−1) · ((α+T)/(α+tₓ))^(r+x))
        let by_hand = 1.0 / (1.0 + 1.7 / 5.6 * (33.5_f64 / 5.5).powf(4.8));
        assert!((PARAMS.p_alive(&silent) - by_hand).abs() < 1e-15);
    }

    #[test]
    fn expected_purchases_for_a_new_customer_match_the_unconditional_formula() {
        // For x = tₓ = T = 0 eq. 10 reduces to the unconditional E[X(t)] (eq. 9):
        // (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]
        let o = Observation {
            frequency: 0,
            recency: 0.0,
            t: 0.0,
        };
        let t = 12.0;
        let hyp = ln_hyp2f1(0.8, 2.6, 3.3, t / (3.5 + t)).exp();
        let eq9 = 3.3 / 0.7 * (1.0 - (3.5_f64 / 15.5).powf(0.8) * hyp);
        assert!((PARAMS.expected_purchases(t, &o) - eq9).abs() < 1e-12);
        // And by summing a truncated series of P(X(t) = n) (eq. 8) independently.
        let mut mean = 0.0;
        for n in 0..400 {
            mean += f64::from(n) * probability_of_n(&PARAMS, t, n);
        }
        assert!(
            (PARAMS.expected_purchases(t, &o) - mean).abs() < 1e-8,
            "{mean}"
        );
    }

    /// P(X(t) = n), FHL 2005 eq. 8, via products rather than Γ.
    fn probability_of_n(p: &BgNbd, t: f64, n: u32) -> f64 {
        let beta_ratio = |extra_a: f64, extra_b: f64| {
            (ln_gamma(p.a + extra_a) + ln_gamma(p.b + extra_b)
                - ln_gamma(p.a + p.b + extra_a + extra_b)
                - (ln_gamma(p.a) + ln_gamma(p.b) - ln_gamma(p.a + p.b)))
            .exp()
        };
        let nb = |j: u32| {
            let rising: f64 = (0..j)
                .map(|i| (p.r + f64::from(i)) / f64::from(i + 1))
                .product();
            rising * (p.alpha / (p.alpha + t)).powf(p.r) * (t / (p.alpha + t)).powi(j as i32)
        };
        let first = beta_ratio(0.0, f64::from(n)) * nb(n);
        if n == 0 {
            return first;
        }
        let tail: f64 = (0..n).map(nb).sum();
        first + beta_ratio(1.0, f64::from(n) - 1.0) * (1.0 - tail)
    }

    #[test]
    fn fitting_a_population_without_repeats_is_refused_with_a_reason() {
        let obs = vec![
            Observation {
                frequency: 0,
                recency: 0.0,
                t: 5.0
            };
            10
        ];
        let err = fit(&obs, 0.0).err().map(|e| e.reason);
        assert_eq!(
            err.as_deref(),
            Some("no customer has a repeat purchase day")
        );
        let all_today = vec![
            Observation {
                frequency: 0,
                recency: 0.0,
                t: 0.0
            };
            3
        ];
        assert!(fit(&all_today, 0.0).is_err());
        assert!(fit(&[], 0.0).is_err());
    }
}
