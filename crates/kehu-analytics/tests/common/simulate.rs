//! Seeded simulation of the BG/NBD purchase process and the Gamma-Gamma spend process,
//! shared by the parameter-recovery tests and the benchmark's data generator.
#![allow(dead_code, reason = "each includer uses a different part")]

use rand::Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

/// True parameters of a simulated population (α and γ as in the models: weeks, currency units).
#[derive(Clone, Copy, Debug)]
pub struct Truth {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// One customer's individual rates, drawn from the population's mixing distributions.
pub struct Individual {
    pub lambda: f64,
    pub dropout: f64,
    /// Rate ν of the customer's Gamma(p, ν) spend per purchase.
    pub spend_rate: f64,
}

pub fn individual<R: Rng>(truth: &Truth, rng: &mut R) -> Option<Individual> {
    let lambda = Gamma::new(truth.r, 1.0 / truth.alpha).ok()?.sample(rng);
    let dropout = Beta::new(truth.a, truth.b).ok()?.sample(rng);
    let spend_rate = Gamma::new(truth.q, 1.0 / truth.gamma).ok()?.sample(rng);
    Some(Individual {
        lambda,
        dropout,
        spend_rate,
    })
}

/// Repeat purchase times (weeks after the first purchase at 0) within an age of `t` weeks:
/// exponential inter-purchase times at rate λ; after each repeat purchase the customer
/// drops out with probability p (FHL 2005; `lifetimes`' `beta_geometric_nbd_model`).
pub fn repeat_purchases<R: Rng>(who: &Individual, t: f64, rng: &mut R) -> Vec<f64> {
    let mut times = Vec::new();
    let Ok(gap) = Exp::new(who.lambda.max(1e-300)) else {
        return times;
    };
    let mut now = 0.0;
    loop {
        now += gap.sample(rng);
        if now > t {
            return times;
        }
        times.push(now);
        if rng.random::<f64>() < who.dropout {
            return times;
        }
    }
}

/// One purchase's spend ~ Gamma(p, rate ν).
pub fn spend<R: Rng>(truth: &Truth, who: &Individual, rng: &mut R) -> f64 {
    Gamma::new(truth.p, 1.0 / who.spend_rate).map_or(0.0, |g| g.sample(rng))
}
