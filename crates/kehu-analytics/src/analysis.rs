//! The whole pipeline over customer summaries: scores, segments, ABC, both models,
//! predictions, CLV, value classes, clusters and the population figures. Pure: no IO.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bgnbd::{self, BgNbd, BgNbdFit, NotFitted, Observation, Patterns};
use crate::gamma_gamma::{self, GammaGamma, GammaGammaFit, Spend};
use crate::kmeans::{self, ClusterInfo};
use crate::rfm::{self, Abc, Segment};
use crate::summary::CustomerSummary;
use crate::value::{self, Thresholds, ValueClass};

/// Knobs of an analysis.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub horizon_months: u32,
    /// Monthly discount rate d.
    pub discount_rate: f64,
    pub clusters: usize,
    pub current_quantile: f64,
    pub potential_quantile: f64,
    /// L2 penalizer of both likelihoods (`lifetimes`' `penalizer_coef`).
    pub penalizer: f64,
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            horizon_months: 12,
            discount_rate: 0.01,
            clusters: 5,
            current_quantile: 0.5,
            potential_quantile: 0.5,
            penalizer: 0.0,
            seed: 0x6b65_6875,
        }
    }
}

/// Per-customer results, indexed like the summaries.
#[derive(Clone, Debug, Default)]
pub struct CustomerResults {
    pub scores: rfm::Scores,
    pub segment: Vec<Segment>,
    pub abc: Vec<Abc>,
    pub p_alive: Vec<f64>,
    pub expected_purchases: Vec<f64>,
    pub expected_spend: Vec<f64>,
    pub clv: Vec<f64>,
    pub value_class: Vec<ValueClass>,
    pub cluster: Vec<u32>,
}

/// A model section of model.json: the fit, or why there is none.
#[derive(Clone, Debug, Serialize)]
pub struct ModelSection<T> {
    pub fitted: bool,
    #[serde(flatten)]
    pub fit: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl<T> From<Result<T, NotFitted>> for ModelSection<T> {
    fn from(r: Result<T, NotFitted>) -> Self {
        match r {
            Ok(fit) => ModelSection {
                fitted: true,
                fit: Some(fit),
                reason: None,
            },
            Err(e) => ModelSection {
                fitted: false,
                fit: None,
                reason: Some(e.reason),
            },
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Models {
    pub bgnbd: ModelSection<BgNbdFit>,
    pub gamma_gamma: ModelSection<GammaGammaFit>,
    /// The mean spend used for buyers without a usable monetary value (x = 0, or m ≤ 0):
    /// γp/(q−1), or the mean monetary value of the repeat customers with m > 0 when that
    /// is undefined (q ≤ 1 or no fit).
    pub population_mean_spend: f64,
    pub population_mean_spend_source: &'static str,
    /// Customers whose prediction was not finite and was set to 0.
    pub non_finite_predictions: usize,
    pub horizon_months: u32,
    pub discount_rate: f64,
}

/// Counts and revenue of one class.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClassFigures {
    pub customers: usize,
    pub revenue_cents: i64,
    pub revenue_share: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Population {
    pub customers: usize,
    /// Customers with at least one purchase day (the models' population).
    pub buyers: usize,
    pub repeat_customers: usize,
    pub revenue_cents: i64,
    pub abc: BTreeMap<&'static str, ClassFigures>,
    pub value_classes: BTreeMap<&'static str, ClassFigures>,
    pub value_thresholds: Thresholds,
    pub segments: BTreeMap<&'static str, usize>,
    /// Customers per score 1..5.
    pub score_distribution: BTreeMap<&'static str, [usize; 5]>,
    pub clusters: Vec<ClusterInfo>,
    pub kmeans_iterations: usize,
    pub expected_purchases_total: f64,
    pub clv_total: f64,
    pub mean_p_alive: f64,
}

pub struct Analysis {
    pub customers: CustomerResults,
    pub models: Models,
    pub population: Population,
}

/// Runs every stage; `stage` is told the name of each as it starts (for a progress bar).
pub fn analyze(
    summaries: &[CustomerSummary],
    id_rank: &[u32],
    config: &Config,
    stage: &mut dyn FnMut(&str),
) -> Analysis {
    let n = summaries.len();
    stage("scores");
    let recency_days: Vec<i32> = summaries.iter().map(|s| s.recency_days).collect();
    let orders: Vec<u32> = summaries.iter().map(|s| s.orders).collect();
    let revenue: Vec<i64> = summaries.iter().map(|s| s.revenue_cents).collect();
    // The four rankings are independent sorts: ABC runs beside the RFM scores.
    let (scores, abc) = std::thread::scope(|scope| {
        let abc = scope.spawn(|| rfm::abc_classes(&revenue, id_rank));
        let scores = rfm::rfm_scores(&recency_days, &orders, &revenue, id_rank);
        (scores, abc.join().unwrap_or_default())
    });
    let segment: Vec<Segment> = (0..n)
        .map(|i| Segment::from_scores(scores.r[i], scores.f[i], scores.m[i]))
        .collect();

    stage("fitting BG/NBD");
    let buyers: Vec<usize> = (0..n).filter(|&i| summaries[i].is_buyer()).collect();
    let observations: Vec<Observation> = buyers
        .iter()
        .map(|&i| Observation {
            frequency: summaries[i].frequency,
            recency: summaries[i].recency,
            t: summaries[i].t,
        })
        .collect();
    let patterns = Patterns::new(&observations);
    drop(observations);
    let bgnbd_fit = bgnbd::fit_patterns(&patterns, config.penalizer);

    stage("fitting Gamma-Gamma");
    let spends: Vec<Spend> = buyers
        .iter()
        .map(|&i| Spend {
            frequency: summaries[i].frequency,
            monetary_value: summaries[i].monetary_value,
        })
        .collect();
    let gg_fit = gamma_gamma::fit(&spends, config.penalizer);
    let repeat_customers = spends.iter().filter(|s| s.frequency > 0).count();
    // The fallback mean is over the customers the fit would use, so that it estimates the
    // same thing as γp/(q−1).
    let usable: Vec<f64> = spends
        .iter()
        .filter(|s| s.is_usable())
        .map(|s| s.monetary_value)
        .collect();
    let sample_mean = if usable.is_empty() {
        0.0
    } else {
        usable.iter().sum::<f64>() / usable.len() as f64
    };
    let gg_params: Option<GammaGamma> = gg_fit.as_ref().ok().map(|f| f.params);
    let (population_mean_spend, population_mean_spend_source) =
        match gg_params.and_then(|g| g.population_mean()) {
            Some(m) => (m, "gamma_gamma"),
            None => (sample_mean, "sample_mean_of_repeat_customers"),
        };

    stage("predicting");
    let mut p_alive = vec![0.0; n];
    let mut expected_purchases = vec![0.0; n];
    let mut expected_spend = vec![0.0; n];
    let mut clv = vec![0.0; n];
    let mut non_finite = 0;
    for (k, &i) in buyers.iter().enumerate() {
        expected_spend[i] = spend_of(gg_params.as_ref(), &spends[k], population_mean_spend);
    }
    match &bgnbd_fit {
        Ok(fit) => {
            let per_pattern = predict_patterns(&fit.params, &patterns, config);
            for (k, &i) in buyers.iter().enumerate() {
                let (alive, purchases, discounted) = per_pattern[patterns.index[k] as usize];
                let value = expected_spend[i] * discounted;
                if alive.is_finite() && purchases.is_finite() && value.is_finite() {
                    p_alive[i] = alive;
                    expected_purchases[i] = purchases;
                    clv[i] = value;
                } else {
                    non_finite += 1;
                    p_alive[i] = if alive.is_finite() { alive } else { 1.0 };
                }
            }
        }
        Err(_) => {
            for &i in &buyers {
                p_alive[i] = 1.0;
            }
        }
    }
    for v in &mut expected_spend {
        if !v.is_finite() {
            *v = 0.0;
            non_finite += 1;
        }
    }

    stage("value classes");
    let current: Vec<f64> = summaries
        .iter()
        .map(|s| s.revenue_12m_cents as f64 / 100.0)
        .collect();
    let (value_class, value_thresholds) = value::value_classes(
        &current,
        &clv,
        config.current_quantile,
        config.potential_quantile,
    );

    stage("clustering");
    let features = kmeans::features(&recency_days, &orders, &revenue);
    let clustering = kmeans::kmeans(&features, config.clusters, config.seed);
    drop(features);

    let total_revenue: i64 = revenue.iter().sum();
    let figures = |label: &dyn Fn(usize) -> &'static str, names: &[&'static str]| {
        let mut map: BTreeMap<&'static str, ClassFigures> = names
            .iter()
            .map(|n| (*n, ClassFigures::default()))
            .collect();
        for (i, &r) in revenue.iter().enumerate() {
            let e = map.entry(label(i)).or_default();
            e.customers += 1;
            e.revenue_cents += r;
        }
        for e in map.values_mut() {
            e.revenue_share = if total_revenue == 0 {
                0.0
            } else {
                e.revenue_cents as f64 / total_revenue as f64
            };
        }
        map
    };
    let abc_figures = figures(&|i| abc[i].as_str(), &["A", "B", "C"]);
    let class_names: Vec<&'static str> = ValueClass::ALL.iter().map(|c| c.as_str()).collect();
    let value_figures = figures(&|i| value_class[i].as_str(), &class_names);
    let mut segments: BTreeMap<&'static str, usize> =
        Segment::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for s in &segment {
        *segments.entry(s.as_str()).or_default() += 1;
    }
    let distribution = |v: &[u8]| {
        let mut d = [0_usize; 5];
        for &s in v {
            d[usize::from(s.clamp(1, 5)) - 1] += 1;
        }
        d
    };
    let score_distribution = BTreeMap::from([
        ("r", distribution(&scores.r)),
        ("f", distribution(&scores.f)),
        ("m", distribution(&scores.m)),
    ]);
    let population = Population {
        customers: n,
        buyers: buyers.len(),
        repeat_customers,
        revenue_cents: total_revenue,
        abc: abc_figures,
        value_classes: value_figures,
        value_thresholds,
        segments,
        score_distribution,
        clusters: clustering.clusters.clone(),
        kmeans_iterations: clustering.iterations,
        expected_purchases_total: expected_purchases.iter().sum(),
        clv_total: clv.iter().sum(),
        mean_p_alive: if buyers.is_empty() {
            0.0
        } else {
            buyers.iter().map(|&i| p_alive[i]).sum::<f64>() / buyers.len() as f64
        },
    };
    Analysis {
        customers: CustomerResults {
            scores,
            segment,
            abc,
            p_alive,
            expected_purchases,
            expected_spend,
            clv,
            value_class,
            cluster: clustering.labels,
        },
        models: Models {
            bgnbd: bgnbd_fit.into(),
            gamma_gamma: gg_fit.into(),
            population_mean_spend,
            population_mean_spend_source,
            non_finite_predictions: non_finite,
            horizon_months: config.horizon_months,
            discount_rate: config.discount_rate,
        },
        population,
    }
}

/// A buyer's expected spend per purchase: E[M | x, m̄] for a usable spend (x > 0, m > 0)
/// with a fit, their own m̄ without one; every other buyer (x = 0, or repeat days netting
/// 0 or less on average) has no usable spend of their own and gets the population mean.
fn spend_of(gg: Option<&GammaGamma>, s: &Spend, population_mean: f64) -> f64 {
    match gg {
        Some(g) if s.is_usable() => g.expected_spend(s, population_mean),
        None if s.is_usable() => s.monetary_value,
        _ => population_mean,
    }
}

/// Per distinct (x, tₓ, T): P(alive), E[X(horizon)] and the discounted purchase sum
/// Σ_m ΔE[X]/(1+d)^m (CLV is spend × that). Split over the available cores: the ₂F₁
/// series dominate the run time.
fn predict_patterns(model: &BgNbd, patterns: &Patterns, config: &Config) -> Vec<(f64, f64, f64)> {
    let predict = |i: usize| {
        let o = patterns.observation(i);
        let alive = model.p_alive(&o);
        match value::clv(model, &o, 1.0, config.horizon_months, config.discount_rate) {
            Some((discounted, purchases)) => (alive, purchases, discounted),
            None => (alive, f64::NAN, f64::NAN),
        }
    };
    let n = patterns.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 8);
    let chunk = n.div_ceil(threads).max(1);
    let mut out = vec![(0.0, 0.0, 0.0); n];
    std::thread::scope(|scope| {
        for (c, slot) in out.chunks_mut(chunk).enumerate() {
            let predict = &predict;
            scope.spawn(move || {
                for (j, v) in slot.iter_mut().enumerate() {
                    *v = predict(c * chunk + j);
                }
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GG: GammaGamma = GammaGamma {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };

    fn spend(frequency: u32, monetary_value: f64) -> Spend {
        Spend {
            frequency,
            monetary_value,
        }
    }

    #[test]
    fn buyers_without_a_positive_repeat_spend_get_the_population_mean() {
        // By hand: x = 3, m = 50: w = 6.25·3 / (18.75 + 2.74) = 18.75 / 21.49.
        let w = 18.75 / 21.49;
        let shrunk = spend_of(Some(&GG), &spend(3, 50.0), 20.0);
        assert!((shrunk - ((1.0 - w) * 20.0 + w * 50.0)).abs() < 1e-12);
        assert_eq!(spend_of(None, &spend(3, 50.0), 20.0), 50.0);
        for s in [spend(0, 0.0), spend(2, 0.0), spend(1, -5.0)] {
            assert_eq!(spend_of(Some(&GG), &s, 20.0), 20.0, "{s:?}");
            assert_eq!(spend_of(None, &s, 20.0), 20.0, "{s:?}");
        }
    }

    fn buyer(frequency: u32, monetary_value: f64, k: u32) -> CustomerSummary {
        CustomerSummary {
            first_purchase: Some(0),
            last_purchase: Some(7 * frequency as crate::Day),
            orders: frequency + 1,
            revenue_cents: 1000,
            revenue_12m_cents: 1000,
            frequency,
            recency: f64::from(frequency),
            t: 20.0 + f64::from(k % 7),
            monetary_value,
            recency_days: 7,
        }
    }

    #[test]
    fn repeat_customers_netting_zero_or_less_stay_out_of_the_spend_fit_and_its_fallback() {
        let mut summaries: Vec<CustomerSummary> = (0..30)
            .map(|k| buyer(1 + k % 4, 5.0 + f64::from(k % 11) * 3.0, k))
            .collect();
        summaries.push(buyer(2, 0.0, 1)); // 0-amount repeat purchases only
        summaries.push(buyer(1, -20.0, 2)); // a repeat day of net refunds
        summaries.push(buyer(0, 0.0, 3)); // one purchase, of 0.00
        let id_rank: Vec<u32> = (0..33).collect();
        let a = analyze(&summaries, &id_rank, &Config::default(), &mut |_| {});
        assert_eq!(a.population.repeat_customers, 32);
        let spend = &a.customers.expected_spend;
        let mean = a.models.population_mean_spend;
        assert!(mean > 0.0 && mean.is_finite());
        assert_eq!(&spend[30..], &[mean, mean, mean]);
        match &a.models.gamma_gamma.fit {
            Some(fit) => assert_eq!(fit.customers, 30),
            None => {
                // Without a fit the fallback is the mean over the 30 positive spends.
                let positive: f64 = summaries[..30].iter().map(|s| s.monetary_value).sum();
                assert!((mean - positive / 30.0).abs() < 1e-12);
            }
        }
        assert!(a.customers.clv.iter().all(|v| v.is_finite() && *v >= 0.0));
    }
}
