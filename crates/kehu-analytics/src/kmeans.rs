//! Deterministic k-means (k-means++ seeding, Lloyd iterations) on standardised
//! log1p(recency_days, orders, revenue) features.

use serde::Serialize;

/// Number of features per customer.
pub const DIM: usize = 3;

/// A clustering: each customer's cluster and the clusters' centres in original units.
#[derive(Clone, Debug, Serialize)]
pub struct Clustering {
    #[serde(skip)]
    pub labels: Vec<u32>,
    pub clusters: Vec<ClusterInfo>,
    pub iterations: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClusterInfo {
    pub cluster: u32,
    pub customers: usize,
    /// Centre mapped back through the standardisation and expm1: a typical customer.
    pub recency_days: f64,
    pub orders: f64,
    pub revenue: f64,
}

/// log1p features: recency in days, orders, revenue in currency units (negative revenue
/// counts as 0, so a refund-heavy customer sits with the non-spenders).
pub fn features(recency_days: &[i32], orders: &[u32], revenue_cents: &[i64]) -> Vec<[f64; DIM]> {
    recency_days
        .iter()
        .zip(orders)
        .zip(revenue_cents)
        .map(|((&d, &o), &c)| {
            [
                f64::from(d.max(0)).ln_1p(),
                f64::from(o).ln_1p(),
                (c.max(0) as f64 / 100.0).ln_1p(),
            ]
        })
        .collect()
}

/// SplitMix64: a tiny, well-known generator, so the clustering is reproducible from the seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// Where one iteration's centres stand, for the bounds of Hamerly's algorithm: how far each
/// centre moved since the last iteration, and half the distance to its nearest other centre.
struct Moves {
    /// Distance each centre moved.
    moved: Vec<f64>,
    /// The largest move, and the centre that made it.
    largest: (f64, usize),
    /// The largest move among the other centres (for the centre that made the largest).
    second: f64,
    /// Half the distance from each centre to its nearest other centre.
    half_gap: Vec<f64>,
}

impl Moves {
    fn new(before: &[[f64; DIM]], after: &[[f64; DIM]]) -> Self {
        let moved: Vec<f64> = before
            .iter()
            .zip(after)
            .map(|(b, a)| distance2(b, a).sqrt())
            .collect();
        let mut largest = (0.0, 0);
        let mut second = 0.0_f64;
        for (c, &m) in moved.iter().enumerate() {
            if m > largest.0 {
                second = largest.0;
                largest = (m, c);
            } else {
                second = second.max(m);
            }
        }
        let half_gap = after
            .iter()
            .enumerate()
            .map(|(c, a)| {
                after
                    .iter()
                    .enumerate()
                    .filter(|&(o, _)| o != c)
                    .map(|(_, b)| distance2(a, b).sqrt())
                    .fold(f64::INFINITY, f64::min)
                    / 2.0
            })
            .collect();
        Self {
            moved,
            largest,
            second,
            half_gap,
        }
    }

    /// How far the nearest centre other than `c` may have come closer.
    fn others_moved(&self, c: usize) -> f64 {
        if c == self.largest.1 {
            self.second
        } else {
            self.largest.0
        }
    }
}

/// Bounds that are only ever loosened by rounding: a relative margin far above f64's error.
const SLACK: f64 = 1e-9;

/// Labels `points` with their nearest centre (the first one on a tie, as a plain scan would);
/// returns whether any label changed and the per-cluster coordinate sums and counts.
///
/// Hamerly's algorithm: `upper` bounds the distance to the point's centre from above and
/// `lower` the distance to every other centre from below; a point whose bounds separate
/// strictly keeps its centre without computing any distance. The bounds only skip work, so
/// the labels are exactly those of a full scan (with `moves == None`, the first iteration,
/// every point is scanned).
fn assign(
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    points: &[[f64; DIM]],
    centres: &[[f64; DIM]],
    moves: Option<&Moves>,
) -> (bool, Vec<[f64; DIM]>, Vec<usize>) {
    let k = centres.len();
    let mut changed = false;
    let mut sums = vec![[0.0; DIM]; k];
    let mut counts = vec![0_usize; k];
    for (((label, p), u), l) in labels.iter_mut().zip(points).zip(upper).zip(lower) {
        let keep = moves.is_some_and(|m| {
            let a = *label as usize;
            *u += m.moved[a];
            *l -= m.others_moved(a);
            let bound = l.max(m.half_gap[a]) * (1.0 - SLACK);
            if *u * (1.0 + SLACK) < bound {
                return true;
            }
            *u = distance2(p, &centres[a]).sqrt();
            *u * (1.0 + SLACK) < bound
        });
        if !keep {
            let mut best = (f64::INFINITY, 0_u32);
            let mut runner_up = f64::INFINITY;
            for (c, centre) in centres.iter().enumerate() {
                let d = distance2(p, centre);
                if d < best.0 {
                    runner_up = best.0;
                    best = (d, c as u32);
                } else if d < runner_up {
                    runner_up = d;
                }
            }
            *u = best.0.sqrt();
            *l = runner_up.sqrt();
            if *label != best.1 {
                *label = best.1;
                changed = true;
            }
        }
        let c = *label as usize;
        counts[c] += 1;
        for i in 0..DIM {
            sums[c][i] += p[i];
        }
    }
    (changed, sums, counts)
}

fn distance2(a: &[f64; DIM], b: &[f64; DIM]) -> f64 {
    (0..DIM).map(|i| (a[i] - b[i]).powi(2)).sum()
}

/// Clusters `raw` features into at most `k` groups.
///
/// Each feature is standardised to mean 0 and standard deviation 1 (a constant feature
/// becomes 0). Seeds by k-means++ from `seed`; Lloyd iterations (assignments sped up by
/// Hamerly's bounds) until no label changes or, as scikit-learn's `tol`, the centres' squared
/// moves add up to at most 1e-4 of the mean feature variance (then one last assignment to the
/// final centres); at most 100. k is capped at the number of distinct points. Clusters are renumbered by
/// centre revenue descending (then recency ascending), so cluster 0 holds the biggest spenders.
pub fn kmeans(raw: &[[f64; DIM]], k: usize, seed: u64) -> Clustering {
    let n = raw.len();
    if n == 0 || k == 0 {
        return Clustering {
            labels: vec![0; n],
            clusters: Vec::new(),
            iterations: 0,
        };
    }
    let mut mean = [0.0; DIM];
    let mut sd = [0.0; DIM];
    for p in raw {
        for i in 0..DIM {
            mean[i] += p[i] / n as f64;
        }
    }
    for p in raw {
        for i in 0..DIM {
            sd[i] += (p[i] - mean[i]).powi(2) / n as f64;
        }
    }
    let sd = sd.map(f64::sqrt);
    let points: Vec<[f64; DIM]> = raw
        .iter()
        .map(|p| {
            std::array::from_fn(|i| {
                if sd[i] > 0.0 {
                    (p[i] - mean[i]) / sd[i]
                } else {
                    0.0
                }
            })
        })
        .collect();

    let mut rng = SplitMix64(seed);
    let mut centres: Vec<[f64; DIM]> = Vec::with_capacity(k);
    let first = ((rng.next_f64() * n as f64) as usize).min(n - 1);
    centres.push(points[first]);
    let mut nearest: Vec<f64> = points.iter().map(|p| distance2(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        if total <= 0.0 {
            break; // fewer distinct points than k
        }
        let target = rng.next_f64() * total;
        let mut acc = 0.0;
        let mut chosen = n - 1;
        for (i, d) in nearest.iter().enumerate() {
            acc += d;
            if acc > target && *d > 0.0 {
                chosen = i;
                break;
            }
        }
        let centre = points[chosen];
        centres.push(centre);
        for (d, p) in nearest.iter_mut().zip(&points) {
            *d = d.min(distance2(p, &centre));
        }
    }
    drop(nearest);

    let k = centres.len();
    let mut labels = vec![u32::MAX; n];
    let mut upper = vec![0.0; n];
    let mut lower = vec![0.0; n];
    let mut moves: Option<Moves> = None;
    // Converged, as scikit-learn decides: the centres' squared moves add up to at most 1e-4
    // of the features' mean variance (1 for each standardised feature, 0 for a constant one).
    let tolerance = 1e-4 * sd.iter().filter(|&&s| s > 0.0).count() as f64 / DIM as f64;
    let mut settled = false;
    let mut iterations = 0;
    for iteration in 1..=100 {
        iterations = iteration;
        // Assignment and per-cluster sums, split over the cores (deterministic: the
        // partial sums are added in chunk order).
        let threads = std::thread::available_parallelism()
            .map_or(1, |p| p.get())
            .clamp(1, 8);
        let size = n.div_ceil(threads).max(1);
        let partials: Vec<(bool, Vec<[f64; DIM]>, Vec<usize>)> = std::thread::scope(|scope| {
            let centres = &centres;
            let moves = moves.as_ref();
            let handles: Vec<_> = labels
                .chunks_mut(size)
                .zip(upper.chunks_mut(size))
                .zip(lower.chunks_mut(size))
                .zip(points.chunks(size))
                .map(|(((labels, upper), lower), points)| {
                    scope.spawn(move || assign(labels, upper, lower, points, centres, moves))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((true, vec![[0.0; DIM]; k], vec![0; k])))
                .collect()
        });
        let changed = partials.iter().any(|p| p.0);
        if !changed || settled {
            break;
        }
        let mut sums = vec![[0.0; DIM]; k];
        let mut counts = vec![0_usize; k];
        for (_, partial_sums, partial_counts) in &partials {
            for c in 0..k {
                counts[c] += partial_counts[c];
                for i in 0..DIM {
                    sums[c][i] += partial_sums[c][i];
                }
            }
        }
        let before = centres.clone();
        for c in 0..k {
            if counts[c] > 0 {
                centres[c] = sums[c].map(|s| s / counts[c] as f64);
            }
        }
        let m = Moves::new(&before, &centres);
        settled = m.moved.iter().map(|d| d * d).sum::<f64>() <= tolerance;
        moves = Some(m);
    }

    // Renumber: biggest revenue centre first, ties by smaller recency.
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        centres[b][2]
            .total_cmp(&centres[a][2])
            .then(centres[a][0].total_cmp(&centres[b][0]))
    });
    let mut relabel = vec![0_u32; k];
    for (new, &old) in order.iter().enumerate() {
        relabel[old] = new as u32;
    }
    for l in &mut labels {
        *l = relabel[*l as usize];
    }
    let mut counts = vec![0_usize; k];
    for l in &labels {
        counts[*l as usize] += 1;
    }
    let back = |c: &[f64; DIM], i: usize| (c[i] * sd[i] + mean[i]).exp_m1();
    let clusters = order
        .iter()
        .enumerate()
        .map(|(new, &old)| ClusterInfo {
            cluster: new as u32,
            customers: counts[new],
            recency_days: back(&centres[old], 0),
            orders: back(&centres[old], 1),
            revenue: back(&centres[old], 2),
        })
        .collect();
    Clustering {
        labels,
        clusters,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<[f64; DIM]> {
        let mut points = Vec::new();
        for i in 0..50 {
            let jitter = f64::from(i % 5) * 0.01;
            points.push([1.0 + jitter, 1.0, 1.0]);
            points.push([5.0, 5.0 + jitter, 8.0]);
            points.push([9.0, 1.0, 4.0 + jitter]);
        }
        points
    }

    #[test]
    fn well_separated_groups_are_recovered_and_numbered_by_revenue() {
        let c = kmeans(&blobs(), 3, 7);
        assert_eq!(
            c.clusters.iter().map(|c| c.customers).collect::<Vec<_>>(),
            vec![50, 50, 50]
        );
        // Points were pushed in the order revenue 1, 8, 4 → clusters 2, 0, 1.
        assert_eq!(&c.labels[..3], &[2, 0, 1]);
    }

    /// The plain Lloyd iteration the bounds must reproduce: every point scans every centre.
    fn lloyd_labels(points: &[[f64; DIM]], mut centres: Vec<[f64; DIM]>) -> (Vec<u32>, usize) {
        let mut labels = vec![u32::MAX; points.len()];
        for iteration in 1..=100 {
            let mut changed = false;
            let mut sums = vec![[0.0; DIM]; centres.len()];
            let mut counts = vec![0_usize; centres.len()];
            for (label, p) in labels.iter_mut().zip(points) {
                let mut best = (f64::INFINITY, 0_u32);
                for (c, centre) in centres.iter().enumerate() {
                    let d = distance2(p, centre);
                    if d < best.0 {
                        best = (d, c as u32);
                    }
                }
                changed |= *label != best.1;
                *label = best.1;
                counts[best.1 as usize] += 1;
                for i in 0..DIM {
                    sums[best.1 as usize][i] += p[i];
                }
            }
            if !changed {
                return (labels, iteration);
            }
            for c in 0..centres.len() {
                if counts[c] > 0 {
                    centres[c] = sums[c].map(|s| s / counts[c] as f64);
                }
            }
        }
        (labels, 100)
    }

    #[test]
    fn the_bounds_skip_work_but_give_exactly_the_labels_of_a_full_scan() {
        // Overlapping groups (points change cluster for many iterations), with exact
        // duplicates and points on a lattice, so that ties between centres occur.
        let mut rng = SplitMix64(11);
        let mut points = Vec::new();
        for i in 0..30_000 {
            let g = f64::from(i % 4);
            let p = [
                g + 2.0 * rng.next_f64(),
                (g * 0.5 + 2.0 * rng.next_f64()).floor(),
                2.0 * rng.next_f64() - g * 0.3,
            ];
            points.push(p);
            if i % 7 == 0 {
                points.push(p);
            }
        }
        let centres: Vec<[f64; DIM]> = points.iter().step_by(3_001).take(8).copied().collect();
        let (expected, expected_iterations) = lloyd_labels(&points, centres.clone());

        let n = points.len();
        let (mut labels, mut upper, mut lower) = (vec![u32::MAX; n], vec![0.0; n], vec![0.0; n]);
        let mut centres = centres;
        let mut moves = None;
        let mut iterations = 0;
        for iteration in 1..=100 {
            iterations = iteration;
            let (changed, sums, counts) = assign(
                &mut labels,
                &mut upper,
                &mut lower,
                &points,
                &centres,
                moves.as_ref(),
            );
            if !changed {
                break;
            }
            let before = centres.clone();
            for c in 0..centres.len() {
                if counts[c] > 0 {
                    centres[c] = sums[c].map(|s| s / counts[c] as f64);
                }
            }
            moves = Some(Moves::new(&before, &centres));
        }
        assert!(
            expected_iterations > 5,
            "the data should need several iterations"
        );
        assert_eq!(iterations, expected_iterations);
        assert_eq!(labels, expected);
    }

    #[test]
    fn the_same_seed_gives_the_same_clustering() {
        let a = kmeans(&blobs(), 4, 42);
        let b = kmeans(&blobs(), 4, 42);
        assert_eq!(a.labels, b.labels);
    }

    #[test]
    fn more_clusters_than_distinct_points_are_capped_and_constant_features_do_not_make_nan() {
        let same = vec![[2.0, 3.0, 4.0]; 10];
        let c = kmeans(&same, 5, 1);
        assert_eq!(c.clusters.len(), 1);
        assert!(c.labels.iter().all(|&l| l == 0));
        assert!(c.clusters.iter().all(|c| c.revenue.is_finite()));
    }
}
