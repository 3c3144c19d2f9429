//! L2-regularised logistic regression fitted by L-BFGS, as scikit-learn's default
//! `LogisticRegression()` (C = 1, penalty on the weights and not the intercept, lbfgs,
//! 100 iterations, gradient tolerance 1e-4).
//!
//! Objective (the mean form scikit-learn minimises; same minimiser as the summed form):
//!   f(w, b) = (1/n) sum_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C n),  z_i = w.x_i + b.
//! Rows are sparse (the minor alleles, see [`crate::sparse`]), so z_i and the gradient cost the
//! number of minor alleles, not the number of SNPs.

use crate::sparse::MinorAlleleRows;

#[derive(Debug, Clone, Copy)]
pub struct LogisticOptions {
    /// Inverse regularisation strength.
    pub c: f64,
    pub max_iter: usize,
    /// Stop when the largest gradient component is at most this.
    pub tol: f64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions {
            c: 1.0,
            max_iter: 100,
            tol: 1e-4,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LogisticModel {
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// L-BFGS iterations used.
    pub iterations: usize,
    pub converged: bool,
}

impl LogisticModel {
    pub fn decision(&self, row: &[u32]) -> f64 {
        self.intercept + row.iter().map(|&j| self.weights[j as usize]).sum::<f64>()
    }

    pub fn predict(&self, row: &[u32]) -> u8 {
        (self.decision(row) > 0.0) as u8
    }
}

/// log(1 + e^z) without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Objective and gradient at theta = (w, b); the gradient goes into `grad`.
fn objective(
    x: &MinorAlleleRows,
    rows: &[usize],
    y: &[u8],
    c: f64,
    theta: &[f64],
    grad: &mut [f64],
) -> f64 {
    let m = x.snps;
    let n = rows.len() as f64;
    let (w, b) = (&theta[..m], theta[m]);
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut loss = 0.0;
    for (&i, &yi) in rows.iter().zip(y) {
        let r = x.row(i);
        let z = b + r.iter().map(|&j| w[j as usize]).sum::<f64>();
        loss += softplus(z) - yi as f64 * z;
        let d = sigmoid(z) - yi as f64;
        for &j in r {
            grad[j as usize] += d;
        }
        grad[m] += d;
    }
    let reg = 1.0 / (c * n);
    let mut norm = 0.0;
    for j in 0..m {
        grad[j] = grad[j] / n + reg * w[j];
        norm += w[j] * w[j];
    }
    grad[m] /= n;
    loss / n + 0.5 * reg * norm
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Fit on `rows` of `x` with labels `y` (one per row, 0/1).
pub fn fit(x: &MinorAlleleRows, rows: &[usize], y: &[u8], opts: &LogisticOptions) -> LogisticModel {
    assert_eq!(rows.len(), y.len());
    let dim = x.snps + 1;
    const HISTORY: usize = 10;
    let mut theta = vec![0.0; dim];
    let mut grad = vec![0.0; dim];
    let mut f = objective(x, rows, y, opts.c, &theta, &mut grad);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho_hist: Vec<f64> = Vec::new();
    let mut dir = vec![0.0; dim];
    let mut trial = vec![0.0; dim];
    let mut trial_grad = vec![0.0; dim];
    let max_abs = |g: &[f64]| g.iter().fold(0.0f64, |a, &v| a.max(v.abs()));
    let mut iterations = 0;
    let mut converged = max_abs(&grad) <= opts.tol;
    while !converged && iterations < opts.max_iter {
        // Two-loop recursion: dir = -H grad.
        dir.copy_from_slice(&grad);
        let k = s_hist.len();
        let mut alpha = vec![0.0; k];
        for t in (0..k).rev() {
            alpha[t] = rho_hist[t] * dot(&s_hist[t], &dir);
            for (d, yv) in dir.iter_mut().zip(&y_hist[t]) {
                *d -= alpha[t] * yv;
            }
        }
        let gamma = if k > 0 {
            dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1])
        } else {
            // First step: unit length, as no curvature is known yet.
            1.0 / max_abs(&grad).max(1e-12) / (dim as f64).sqrt()
        };
        dir.iter_mut().for_each(|d| *d *= gamma);
        for t in 0..k {
            let beta = rho_hist[t] * dot(&y_hist[t], &dir);
            for (d, sv) in dir.iter_mut().zip(&s_hist[t]) {
                *d += (alpha[t] - beta) * sv;
            }
        }
        dir.iter_mut().for_each(|d| *d = -*d);
        let mut slope = dot(&grad, &dir);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            for (d, g) in dir.iter_mut().zip(&grad) {
                *d = -g;
            }
            slope = dot(&grad, &dir);
        }
        // Backtracking line search with the Armijo condition.
        let mut step = 1.0;
        let mut f_new;
        loop {
            for ((t, p), d) in trial.iter_mut().zip(&theta).zip(&dir) {
                *t = p + step * d;
            }
            f_new = objective(x, rows, y, opts.c, &trial, &mut trial_grad);
            if f_new <= f + 1e-4 * step * slope || step < 1e-10 {
                break;
            }
            step *= 0.5;
        }
        iterations += 1;
        let s: Vec<f64> = trial.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = trial_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &yv);
        let f_old = f;
        theta.copy_from_slice(&trial);
        grad.copy_from_slice(&trial_grad);
        f = f_new;
        if sy > 1e-12 {
            if s_hist.len() == HISTORY {
                s_hist.remove(0);
                y_hist.remove(0);
                rho_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(yv);
            rho_hist.push(1.0 / sy);
        }
        converged = max_abs(&grad) <= opts.tol
            // scipy's factr test: relative reduction below machine precision scale.
            || (f_old - f) / f_old.abs().max(f.abs()).max(1.0) <= 2.2e-9;
    }
    let intercept = theta[x.snps];
    theta.truncate(x.snps);
    LogisticModel {
        weights: theta,
        intercept,
        iterations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haplotypes::bits::PackedHaplotypes;

    fn data() -> (MinorAlleleRows, Vec<usize>, Vec<u8>) {
        // 40 rows x 6 SNPs: SNP 0 tracks the label 80% of the time, the rest is noise.
        let mut values = Vec::new();
        let mut y = Vec::new();
        for i in 0..40usize {
            let label = (i % 2) as u8;
            let signal = if i % 5 == 0 { 1 - label } else { label };
            values.push(signal);
            for j in 1..6 {
                values.push(((i * 7 + j * 3 + i / 3) % 4 == 0) as u8);
            }
            y.push(label);
        }
        let p = PackedHaplotypes::from_rows(&values, 6);
        (MinorAlleleRows::from_packed(&p), (0..40).collect(), y)
    }

    #[test]
    fn converges_to_a_stationary_point_and_learns_the_signal() {
        let (x, rows, y) = data();
        let opts = LogisticOptions {
            tol: 1e-8,
            max_iter: 500,
            ..Default::default()
        };
        let model = fit(&x, &rows, &y, &opts);
        assert!(model.converged, "{model:?}");
        // The objective is strictly convex: a zero gradient is the unique optimum.
        let mut theta = model.weights.clone();
        theta.push(model.intercept);
        let mut g = vec![0.0; theta.len()];
        objective(&x, &rows, &y, 1.0, &theta, &mut g);
        assert!(g.iter().all(|v| v.abs() < 1e-5), "{g:?}");
        // Numerical check of the gradient at another point.
        let probe: Vec<f64> = (0..7).map(|k| 0.1 * k as f64 - 0.3).collect();
        let mut analytic = vec![0.0; 7];
        objective(&x, &rows, &y, 1.0, &probe, &mut analytic);
        for k in 0..7 {
            let (mut a, mut b) = (probe.clone(), probe.clone());
            a[k] += 1e-6;
            b[k] -= 1e-6;
            let mut scratch = vec![0.0; 7];
            let num = (objective(&x, &rows, &y, 1.0, &a, &mut scratch)
                - objective(&x, &rows, &y, 1.0, &b, &mut scratch))
                / 2e-6;
            assert!(
                (num - analytic[k]).abs() < 1e-6,
                "{k}: {num} vs {}",
                analytic[k]
            );
        }
        let correct = rows
            .iter()
            .filter(|&&i| model.predict(x.row(i)) == y[i])
            .count();
        assert!(
            correct >= 32,
            "the signal SNP alone gives 80%, got {correct}/40"
        );
    }
}
