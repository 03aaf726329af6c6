//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005b; Hardie's note 025), fitted on
//! repeat customers with a positive mean spend, with the conventions of `lifetimes`'
//! `GammaGammaFitter`.

use serde::Serialize;

use crate::bgnbd::NotFitted;
use crate::optimize::{self, Minimum};
use crate::special::{digamma, ln_gamma};

/// Fitted parameters: spend per purchase ~ Gamma(p, ν), ν ~ Gamma(q, γ); γ in currency units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// A buyer: x repeat purchase days with mean net spend m (currency units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spend {
    pub frequency: u32,
    pub monetary_value: f64,
}

impl Spend {
    /// A repeat customer with m > 0: the model's support is spends > 0 (ln m in the
    /// density; `lifetimes` requires `monetary_value > 0`), so only these customers are
    /// fitted on and have their own spend shrunk towards the population mean. 0-amount or
    /// refund-heavy repeat days can leave m ≤ 0, which says nothing usable about spend.
    pub fn is_usable(&self) -> bool {
        self.frequency > 0 && self.monetary_value > 0.0
    }
}

/// ln f(m̄ | x) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄ + px ln x
///              − (px+q) ln(x m̄ + γ)    (note 025 eq. 1a)
pub fn log_likelihood_one(params: &GammaGamma, s: &Spend) -> f64 {
    let GammaGamma { p, q, gamma } = *params;
    let x = f64::from(s.frequency);
    let m = s.monetary_value;
    ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
        + q * gamma.ln()
        + (p * x - 1.0) * m.ln()
        + p * x * x.ln()
        - (p * x + q) * (x * m + gamma).ln()
}

pub fn log_likelihood(params: &GammaGamma, spends: &[Spend]) -> f64 {
    spends.iter().map(|s| log_likelihood_one(params, s)).sum()
}

/// Mean negative log-likelihood over θ = ln(p, q, γ) with its gradient, plus
/// `penalizer`·Σ params².
pub fn objective(spends: &[Spend], theta: &[f64], penalizer: f64, grad: &mut [f64]) -> f64 {
    let (p, q, v) = (theta[0].exp(), theta[1].exp(), theta[2].exp());
    let n = spends.len() as f64;
    let terms = |chunk: &[Spend]| spend_terms(chunk, p, q, v);
    // A million repeat customers: the sums are split over two threads, always at the same
    // place, so the result does not depend on scheduling.
    let [ll, dp, dq, dv] = if spends.len() >= 100_000 {
        let (a, b) = spends.split_at(spends.len() / 2);
        std::thread::scope(|scope| {
            let second = scope.spawn(move || terms(b));
            let first = terms(a);
            let second = second.join().unwrap_or([f64::NAN; 4]);
            std::array::from_fn(|i| first[i] + second[i])
        })
    } else {
        terms(spends)
    };
    let params = [p, q, v];
    let derivatives = [dp, dq, dv];
    for i in 0..3 {
        grad[i] = -derivatives[i] * params[i] / n + penalizer * 2.0 * params[i] * params[i];
    }
    -ll / n + penalizer * params.iter().map(|x| x * x).sum::<f64>()
}

/// The log-likelihood of `spends` and its derivatives in p, q and γ (not yet chained to θ).
fn spend_terms(spends: &[Spend], p: f64, q: f64, v: f64) -> [f64; 4] {
    let (lg_q, psi_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
    let mut ll = 0.0;
    let (mut dp, mut dq, mut dv) = (0.0, 0.0, 0.0);
    // Terms depending on x alone are cached across the (usually few) distinct frequencies.
    let mut cached_x = u32::MAX;
    let (mut lg_pxq, mut lg_px, mut psi_pxq, mut psi_px, mut ln_x) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for s in spends {
        let x = f64::from(s.frequency);
        let px = p * x;
        if s.frequency != cached_x {
            cached_x = s.frequency;
            lg_pxq = ln_gamma(px + q);
            lg_px = ln_gamma(px);
            psi_pxq = digamma(px + q);
            psi_px = digamma(px);
            ln_x = x.ln();
        }
        let ln_m = s.monetary_value.ln();
        let xm_v = x * s.monetary_value + v;
        let ln_xm_v = xm_v.ln();
        ll += lg_pxq - lg_px - lg_q + q * ln_v + (px - 1.0) * ln_m + px * ln_x - (px + q) * ln_xm_v;
        dp += x * (psi_pxq - psi_px + ln_m + ln_x - ln_xm_v);
        dq += psi_pxq - psi_q + ln_v - ln_xm_v;
        dv += q / v - (px + q) / xm_v;
    }
    [ll, dp, dq, dv]
}

#[derive(Clone, Debug, Serialize)]
pub struct GammaGammaFit {
    #[serde(flatten)]
    pub params: GammaGamma,
    pub log_likelihood: f64,
    pub customers: usize,
    pub penalizer: f64,
    pub optimizer: Minimum,
}

/// Fits on the usable customers (x > 0, m > 0; [`Spend::is_usable`]), starting from
/// θ = 0.1 like `lifetimes`; the others are ignored.
pub fn fit(spends: &[Spend], penalizer: f64) -> Result<GammaGammaFit, NotFitted> {
    let mut sorted: Vec<Spend> = spends.iter().copied().filter(Spend::is_usable).collect();
    if sorted.len() < 2 {
        return Err(NotFitted {
            reason: "fewer than two repeat customers with a positive monetary value".to_string(),
        });
    }
    if sorted
        .iter()
        .all(|s| s.monetary_value == sorted[0].monetary_value && s.frequency == sorted[0].frequency)
    {
        return Err(NotFitted {
            reason: "every repeat customer has the same spend, which identifies no spread"
                .to_string(),
        });
    }
    sorted.sort_unstable_by_key(|s| s.frequency);
    let minimum = optimize::bfgs(
        |theta, grad| objective(&sorted, theta, penalizer, grad),
        &[0.1; 3],
        optimize::Options::default(),
    );
    let p: Vec<f64> = minimum.x.iter().map(|t| t.exp()).collect();
    if !minimum.converged || p.iter().any(|v| !v.is_finite() || *v <= 0.0 || *v > 1e12) {
        return Err(NotFitted {
            reason: format!(
                "the Gamma-Gamma optimiser did not converge ({}; p={}, q={}, gamma={})",
                minimum.message, p[0], p[1], p[2]
            ),
        });
    }
    let params = GammaGamma {
        p: p[0],
        q: p[1],
        gamma: p[2],
    };
    Ok(GammaGammaFit {
        log_likelihood: log_likelihood(&params, &sorted),
        params,
        customers: sorted.len(),
        penalizer,
        optimizer: minimum,
    })
}

impl GammaGamma {
    /// The population mean spend per purchase, γp/(q−1); `None` when q ≤ 1 (infinite mean).
    pub fn population_mean(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.gamma * self.p / (self.q - 1.0))
    }

    /// E[M | x, m̄] = (1−w)·γp/(q−1) + w·m̄ with w = px/(px+q−1) (note 025 eq. 5);
    /// `population_mean` stands in for γp/(q−1). Meant for usable spends (x > 0, m > 0).
    pub fn expected_spend(&self, s: &Spend, population_mean: f64) -> f64 {
        let px = self.p * f64::from(s.frequency);
        let w = px / (px + self.q - 1.0);
        (1.0 - w) * population_mean + w * s.monetary_value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: GammaGamma = GammaGamma {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };

    /// The density of a mean of x Gamma(p, ν) spends is Gamma(px, rate xν); mix it over
    /// ν ~ Gamma(q, rate γ) by numerical integration (midpoint rule on ν = e^u).
    fn density_by_integration(g: &GammaGamma, s: &Spend) -> f64 {
        let x = f64::from(s.frequency);
        let m = s.monetary_value;
        let ln_gamma_density = |value: f64, shape: f64, rate: f64| {
            shape * rate.ln() + (shape - 1.0) * value.ln() - rate * value - ln_gamma(shape)
        };
        let (lo, hi, n) = (-15.0_f64, 8.0_f64, 400_000);
        let h = (hi - lo) / f64::from(n);
        let mut total = 0.0;
        for k in 0..n {
            let u = lo + (f64::from(k) + 0.5) * h;
            let nu = u.exp();
            let log_f = ln_gamma_density(m, g.p * x, x * nu) + ln_gamma_density(nu, g.q, g.gamma);
            total += log_f.exp() * nu * h;
        }
        total
    }

    #[test]
    fn log_likelihood_matches_the_integral_over_the_spend_rate() {
        for s in [
            Spend {
                frequency: 1,
                monetary_value: 20.0,
            },
            Spend {
                frequency: 4,
                monetary_value: 37.5,
            },
            Spend {
                frequency: 15,
                monetary_value: 8.2,
            },
        ] {
            let closed = log_likelihood_one(&PARAMS, &s);
            let integral = density_by_integration(&PARAMS, &s).ln();
            assert!(
                (closed - integral).abs() < 1e-6,
                "{s:?}: {closed} vs {integral}"
            );
        }
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let spends: Vec<Spend> = (1..150)
            .map(|i| Spend {
                frequency: 1 + i % 6,
                monetary_value: 5.0 + f64::from(i % 17) * 3.3,
            })
            .collect();
        let theta = [PARAMS.p.ln(), PARAMS.q.ln(), PARAMS.gamma.ln()];
        let mut grad = [0.0; 3];
        let value = objective(&spends, &theta, 0.01, &mut grad);
        let direct = -log_likelihood(&PARAMS, &spends) / spends.len() as f64
            + 0.01 * (PARAMS.p.powi(2) + PARAMS.q.powi(2) + PARAMS.gamma.powi(2));
        assert!((value - direct).abs() < 1e-12);
        crate::optimize::assert_gradient_matches(
            |t, g| objective(&spends, t, 0.01, g),
            theta,
            &grad,
        );
    }

    #[test]
    fn expected_spend_shrinks_the_observed_mean_towards_the_population_mean() {
        let s = Spend {
            frequency: 3,
            monetary_value: 50.0,
        };
        let mean = PARAMS.population_mean().unwrap_or(f64::NAN);
        // By hand: w = 18.75 / (18.75 + 2.74)
        let w = 18.75 / 21.49;
        let expected = (1.0 - w) * (15.44 * 6.25 / 2.74) + w * 50.0;
        assert!((PARAMS.expected_spend(&s, mean) - expected).abs() < 1e-12);
        let heavy = GammaGamma { q: 0.9, ..PARAMS };
        assert_eq!(heavy.population_mean(), None);
    }

    #[test]
    #[allow(clippy::unwrap_used, reason = "test")]
    fn the_fit_ignores_repeat_customers_with_a_monetary_value_of_zero_or_less() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        use rand_distr::{Distribution, Gamma};
        // 500 customers simulated from PARAMS: ν ~ Gamma(q, rate γ), spends ~ Gamma(p, rate ν).
        let mut rng = StdRng::seed_from_u64(25);
        let rate = Gamma::new(PARAMS.q, 1.0 / PARAMS.gamma).unwrap();
        let usable: Vec<Spend> = (0..500)
            .map(|_| {
                let spend = Gamma::new(PARAMS.p, 1.0 / rate.sample(&mut rng)).unwrap();
                let x: u32 = rng.random_range(1..=6);
                let total: f64 = (0..x).map(|_| spend.sample(&mut rng)).sum();
                Spend {
                    frequency: x,
                    monetary_value: total / f64::from(x),
                }
            })
            .collect();
        // Repeat customers whose repeat days net 0 or less, and a one-time buyer.
        let others: Vec<Spend> = [(2, 0.0), (1, -20.0), (3, -0.01), (0, 0.0)]
            .into_iter()
            .map(|(frequency, monetary_value)| Spend {
                frequency,
                monetary_value,
            })
            .collect();
        assert!(others.iter().all(|s| !s.is_usable()));
        let mut mixed = Vec::new();
        for (i, s) in usable.iter().enumerate() {
            if i % 125 == 0 {
                mixed.push(others[i / 125]);
            }
            mixed.push(*s);
        }
        let alone = fit(&usable, 0.0).unwrap();
        let with_others = fit(&mixed, 0.0).unwrap();
        assert_eq!(with_others.customers, 500);
        assert_eq!(with_others.params, alone.params);
        assert!(with_others.log_likelihood.is_finite());
        // One usable customer is not enough, however many others there are.
        let mut one = others.clone();
        one.push(usable[0]);
        assert!(fit(&one, 0.0).is_err());
    }

    #[test]
    fn fitting_needs_spread_among_repeat_customers() {
        let same = vec![
            Spend {
                frequency: 2,
                monetary_value: 10.0
            };
            5
        ];
        assert!(fit(&same, 0.0).is_err());
        assert!(
            fit(
                &[Spend {
                    frequency: 0,
                    monetary_value: 0.0
                }],
                0.0
            )
            .is_err()
        );
    }
}
