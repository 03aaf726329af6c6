//! Parameter recovery: simulate 100,000 customers from known parameters (seeded) and fit.
//!
//! Tolerances are roughly four asymptotic standard errors at this sample size (scaled from
//! the published CDNOW standard errors), so a correct fit passes and a wrong likelihood,
//! gradient or optimiser fails. The seeded fits land within about 1 % of the truth.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use common::simulate::{self, Truth};
use kehu_analytics::bgnbd::{self, Observation};
use kehu_analytics::gamma_gamma::{self, Spend};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TRUTH: Truth = Truth {
    // The CDNOW estimates of FHL 2005 and Hardie's note 025.
    r: 0.243,
    alpha: 4.414,
    a: 0.793,
    b: 2.426,
    p: 6.25,
    q: 3.74,
    gamma: 15.44,
};

fn relative_error(got: f64, want: f64) -> f64 {
    (got - want).abs() / want
}

#[test]
fn bgnbd_fit_recovers_the_parameters_of_100000_simulated_customers() {
    let mut rng = StdRng::seed_from_u64(20_050_101);
    let observations: Vec<Observation> = (0..100_000)
        .map(|_| {
            let who = simulate::individual(&TRUTH, &mut rng).unwrap();
            let t = rng.random_range(26.0..78.0);
            let times = simulate::repeat_purchases(&who, t, &mut rng);
            Observation {
                frequency: times.len() as u32,
                recency: times.last().copied().unwrap_or(0.0),
                t,
            }
        })
        .collect();
    let fit = bgnbd::fit(&observations, 0.0).unwrap();
    let p = fit.params;
    eprintln!("{p:?} {:?}", fit.optimizer);
    assert!(fit.optimizer.converged);
    assert!(relative_error(p.r, TRUTH.r) < 0.05, "r = {}", p.r);
    assert!(
        relative_error(p.alpha, TRUTH.alpha) < 0.08,
        "alpha = {}",
        p.alpha
    );
    assert!(relative_error(p.a, TRUTH.a) < 0.15, "a = {}", p.a);
    assert!(relative_error(p.b, TRUTH.b) < 0.20, "b = {}", p.b);
    // The optimum is a stationary point of the total log-likelihood.
    let ll = bgnbd::log_likelihood(&p, &observations);
    assert!((fit.log_likelihood - ll).abs() < 1e-6 * ll.abs());
    for bump in [1.001, 0.999] {
        let nudged = bgnbd::BgNbd { r: p.r * bump, ..p };
        assert!(bgnbd::log_likelihood(&nudged, &observations) < ll);
    }
}

#[test]
fn gamma_gamma_fit_recovers_the_parameters_of_100000_simulated_customers() {
    let mut rng = StdRng::seed_from_u64(20_050_202);
    let spends: Vec<Spend> = (0..100_000)
        .map(|_| {
            let who = simulate::individual(&TRUTH, &mut rng).unwrap();
            let x: u32 = rng.random_range(1..=12);
            let total: f64 = (0..x)
                .map(|_| simulate::spend(&TRUTH, &who, &mut rng))
                .sum();
            Spend {
                frequency: x,
                monetary_value: total / f64::from(x),
            }
        })
        .collect();
    let fit = gamma_gamma::fit(&spends, 0.0).unwrap();
    let g = fit.params;
    eprintln!("{g:?} {:?}", fit.optimizer);
    assert!(fit.optimizer.converged);
    assert!(relative_error(g.p, TRUTH.p) < 0.03, "p = {}", g.p);
    assert!(relative_error(g.q, TRUTH.q) < 0.05, "q = {}", g.q);
    assert!(
        relative_error(g.gamma, TRUTH.gamma) < 0.08,
        "gamma = {}",
        g.gamma
    );
}
