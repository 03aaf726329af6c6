//! A dense BFGS minimiser for the three- and four-parameter likelihoods.
//!
//! `lifetimes` minimises with scipy's BFGS (`minimize(method=None)` without bounds); the
//! same method here keeps the two implementations' optima comparable. The problems are
//! tiny (n ≤ 4) and smooth, so a dense inverse-Hessian update with a backtracking
//! Armijo line search is enough; written here rather than pulled in (argmin brings a
//! math-abstraction layer and `rand` for a 4×4 matrix).

use serde::Serialize;

/// Stopping rules.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Converged when the largest gradient component is at most this.
    pub gradient_tolerance: f64,
    /// Iteration cap.
    pub max_iterations: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            gradient_tolerance: 1e-9,
            max_iterations: 1000,
        }
    }
}

/// Where the minimiser stopped and why.
#[derive(Clone, Debug, Serialize)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub gradient_max_abs: f64,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
    pub message: &'static str,
}

/// Minimises `f`, which returns the value and writes the gradient into its second
/// argument. Non-finite values are treated as +∞ (the line search backs off).
pub fn bfgs<F>(mut f: F, x0: &[f64], options: Options) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut value = f(&x, &mut g);
    let mut evaluations = 1;
    let mut h = identity(n);
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut direction = vec![0.0; n];
    let mut first_step = true;

    if !value.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return stop(
            x,
            value,
            &g,
            0,
            evaluations,
            false,
            "objective not finite at start",
        );
    }
    for iteration in 0..options.max_iterations {
        if max_abs(&g) <= options.gradient_tolerance {
            return stop(
                x,
                value,
                &g,
                iteration,
                evaluations,
                true,
                "gradient tolerance reached",
            );
        }
        for i in 0..n {
            direction[i] = -(0..n).map(|j| h[i][j] * g[j]).sum::<f64>();
        }
        let mut slope: f64 = direction.iter().zip(&g).map(|(d, gi)| d * gi).sum();
        if slope >= 0.0 {
            // The update lost positive definiteness: restart from steepest descent.
            h = identity(n);
            for i in 0..n {
                direction[i] = -g[i];
            }
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        // The first step is limited to unit length in parameter space (log-parameters).
        let mut step = if first_step {
            (1.0 / norm(&direction)).min(1.0)
        } else {
            1.0
        };
        let mut accepted = false;
        let mut new_value = f64::INFINITY;
        for _ in 0..60 {
            for i in 0..n {
                x_new[i] = x[i] + step * direction[i];
            }
            new_value = f(&x_new, &mut g_new);
            evaluations += 1;
            let finite = new_value.is_finite() && g_new.iter().all(|v| v.is_finite());
            if finite && new_value <= value + 1e-4 * step * slope {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            // No decrease along a descent direction: at the precision limit.
            let converged = max_abs(&g) <= options.gradient_tolerance.max(1e-6);
            return stop(
                x,
                value,
                &g,
                iteration,
                evaluations,
                converged,
                "line search found no decrease",
            );
        }
        let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        let previous = value;
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        value = new_value;
        if sy > 1e-300 {
            if first_step {
                // Nocedal & Wright (6.20): scale the initial inverse Hessian.
                let yy: f64 = y.iter().map(|v| v * v).sum();
                h = identity(n);
                for (i, row) in h.iter_mut().enumerate() {
                    row[i] = sy / yy;
                }
                first_step = false;
            }
            update_inverse_hessian(&mut h, &s, &y, sy);
        }
        if (previous - value).abs() <= 1e-16 * value.abs().max(1e-300)
            && max_abs(&g) <= options.gradient_tolerance.max(1e-7)
        {
            return stop(
                x,
                value,
                &g,
                iteration + 1,
                evaluations,
                true,
                "no further decrease",
            );
        }
    }
    stop(
        x,
        value,
        &g,
        options.max_iterations,
        evaluations,
        false,
        "iteration limit reached",
    )
}

/// H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1/(yᵀs).
fn update_inverse_hessian(h: &mut [Vec<f64>], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| h[i][j] * y[j]).sum())
        .collect();
    let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
    for i in 0..n {
        for j in 0..n {
            h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn stop(
    x: Vec<f64>,
    value: f64,
    g: &[f64],
    iterations: usize,
    evaluations: usize,
    converged: bool,
    message: &'static str,
) -> Minimum {
    Minimum {
        x,
        value,
        gradient_max_abs: max_abs(g),
        iterations,
        evaluations,
        converged,
        message,
    }
}

/// Checks an analytic gradient against central finite differences (step 1e-6, tolerance
/// 1e-7): `f(theta, grad)` returns the objective and writes its gradient.
#[cfg(test)]
pub(crate) fn assert_gradient_matches<const N: usize>(
    mut f: impl FnMut(&[f64; N], &mut [f64; N]) -> f64,
    theta: [f64; N],
    grad: &[f64; N],
) {
    let mut scratch = [0.0; N];
    for i in 0..N {
        let h = 1e-6;
        let (mut up, mut down) = (theta, theta);
        up[i] += h;
        down[i] -= h;
        let fd = (f(&up, &mut scratch) - f(&down, &mut scratch)) / (2.0 * h);
        assert!(
            (fd - grad[i]).abs() < 1e-7,
            "parameter {i}: fd {fd} vs analytic {}",
            grad[i]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bfgs_finds_the_minimum_of_the_rosenbrock_valley() {
        let rosenbrock = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let m = bfgs(rosenbrock, &[-1.2, 1.0], Options::default());
        assert!(m.converged, "{m:?}");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }

    #[test]
    fn bfgs_reports_a_non_finite_start_instead_of_looping() {
        let m = bfgs(|_, _| f64::NAN, &[0.0], Options::default());
        assert!(!m.converged);
    }
}
