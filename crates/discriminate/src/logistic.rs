//! Logistic regression fitted by L-BFGS, as scikit-learn's `LogisticRegression` with the lbfgs
//! solver. The defaults are scikit-learn's `LogisticRegression()` (L2 penalty with C = 1 on the
//! weights and not the intercept, no class weights, 100 iterations, gradient tolerance 1e-4);
//! the paper protocol's grid also uses no penalty and balanced class weights.
//!
//! Objective (the mean form scikit-learn minimises; same minimiser as the summed form), with
//! sample weights s_i (1, or n / (2 n_c) for a row of class c with balanced class weights) and
//! S = sum_i s_i (= n either way):
//!   f(w, b) = (1/S) sum_i s_i [log(1 + e^{z_i}) - y_i z_i] + ||w||^2 / (2 C S),  z_i = w.x_i + b,
//! without the last term when there is no penalty (C is then ignored, as scikit-learn does).
//! Rows are sparse (the minor alleles, see [`crate::sparse`]), so z_i and the gradient cost the
//! number of minor alleles, not the number of SNPs.

use serde::Serialize;

use crate::sparse::MinorAlleleRows;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    L2,
    /// No regularisation (scikit-learn's `penalty=None`): on separable data the weights grow
    /// until `max_iter` stops the fit.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every row weighs 1.
    None,
    /// scikit-learn's `class_weight="balanced"`: a row of class c weighs n / (2 n_c), so both
    /// classes weigh the same in the loss whatever their sizes.
    Balanced,
}

#[derive(Debug, Clone, Copy)]
pub struct LogisticOptions {
    /// Inverse regularisation strength (unused without a penalty).
    pub c: f64,
    pub max_iter: usize,
    /// Stop when the largest gradient component is at most this.
    pub tol: f64,
    pub penalty: Penalty,
    pub class_weight: ClassWeight,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions {
            c: 1.0,
            max_iter: 100,
            tol: 1e-4,
            penalty: Penalty::L2,
            class_weight: ClassWeight::None,
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

/// Per-class row weights of `y` under `class_weight`.
fn class_weights(y: &[u8], class_weight: ClassWeight) -> [f64; 2] {
    match class_weight {
        ClassWeight::None => [1.0, 1.0],
        ClassWeight::Balanced => {
            let ones = y.iter().filter(|&&t| t == 1).count();
            let counts = [y.len() - ones, ones];
            // n / (2 n_c); a class absent from `y` has no rows to weigh.
            counts.map(|c| y.len() as f64 / (2.0 * c.max(1) as f64))
        }
    }
}

/// What the objective needs besides the data: per-class row weights, their sum over the rows
/// and the L2 coefficient 1 / (C S) (0 without a penalty).
struct Weighting {
    class: [f64; 2],
    sum: f64,
    reg: f64,
}

impl Weighting {
    fn new(y: &[u8], opts: &LogisticOptions) -> Weighting {
        let class = class_weights(y, opts.class_weight);
        // With unit weights this sum is exactly n, so the default fit is the unweighted one.
        let sum: f64 = y.iter().map(|&t| class[t as usize]).sum();
        let reg = match opts.penalty {
            Penalty::L2 => 1.0 / (opts.c * sum),
            Penalty::None => 0.0,
        };
        Weighting { class, sum, reg }
    }
}

/// Objective and gradient at theta = (w, b); the gradient goes into `grad`.
fn objective(
    x: &MinorAlleleRows,
    rows: &[usize],
    y: &[u8],
    weighting: &Weighting,
    theta: &[f64],
    grad: &mut [f64],
) -> f64 {
    let m = x.snps;
    let n = weighting.sum;
    let (w, b) = (&theta[..m], theta[m]);
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut loss = 0.0;
    for (&i, &yi) in rows.iter().zip(y) {
        let r = x.row(i);
        let s = weighting.class[yi as usize];
        let z = b + r.iter().map(|&j| w[j as usize]).sum::<f64>();
        // s = 1 without class weights: the products are exact, so the default fit is unchanged.
        loss += s * (softplus(z) - yi as f64 * z);
        let d = s * (sigmoid(z) - yi as f64);
        for &j in r {
            grad[j as usize] += d;
        }
        grad[m] += d;
    }
    let reg = weighting.reg;
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
    let weighting = Weighting::new(y, opts);
    let mut f = objective(x, rows, y, &weighting, &theta, &mut grad);
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
            f_new = objective(x, rows, y, &weighting, &trial, &mut trial_grad);
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

    /// The analytic gradient against central differences at a point away from the optimum.
    fn check_gradient(x: &MinorAlleleRows, rows: &[usize], y: &[u8], weighting: &Weighting) {
        let probe: Vec<f64> = (0..7).map(|k| 0.1 * k as f64 - 0.3).collect();
        let mut analytic = vec![0.0; 7];
        objective(x, rows, y, weighting, &probe, &mut analytic);
        for k in 0..7 {
            let (mut a, mut b) = (probe.clone(), probe.clone());
            a[k] += 1e-6;
            b[k] -= 1e-6;
            let mut scratch = vec![0.0; 7];
            let num = (objective(x, rows, y, weighting, &a, &mut scratch)
                - objective(x, rows, y, weighting, &b, &mut scratch))
                / 2e-6;
            assert!(
                (num - analytic[k]).abs() < 1e-6,
                "{k}: {num} vs {}",
                analytic[k]
            );
        }
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
        let unit = Weighting::new(&y, &LogisticOptions::default());
        objective(&x, &rows, &y, &unit, &theta, &mut g);
        assert!(g.iter().all(|v| v.abs() < 1e-5), "{g:?}");
        check_gradient(&x, &rows, &y, &unit);
        let correct = rows
            .iter()
            .filter(|&&i| model.predict(x.row(i)) == y[i])
            .count();
        assert!(
            correct >= 32,
            "the signal SNP alone gives 80%, got {correct}/40"
        );
    }

    #[test]
    fn class_weights_and_no_penalty_change_the_objective_as_scikit_learn() {
        let (x, rows, y) = data();
        // 20 rows of class 0 and 10 of class 1: balanced weights 30/40 and 30/20.
        let (rows, y): (Vec<usize>, Vec<u8>) = rows
            .iter()
            .zip(&y)
            .filter(|(&i, &t)| t == 0 || i % 4 == 1)
            .map(|(&i, &t)| (i, t))
            .unzip();
        assert_eq!(y.iter().filter(|&&t| t == 1).count(), 10);
        assert_eq!(class_weights(&y, ClassWeight::Balanced), [0.75, 1.5]);
        let opts = LogisticOptions {
            penalty: Penalty::None,
            class_weight: ClassWeight::Balanced,
            ..Default::default()
        };
        let w = Weighting::new(&y, &opts);
        // The balanced weights sum to n, and no penalty means no L2 term.
        assert!((w.sum - 30.0).abs() < 1e-12 && w.reg == 0.0);
        check_gradient(&x, &rows, &y, &w);
        // At theta = 0 every row's loss is ln 2, whatever the weights.
        let mut g = vec![0.0; 7];
        let f0 = objective(&x, &rows, &y, &w, &[0.0; 7], &mut g);
        assert!((f0 - std::f64::consts::LN_2).abs() < 1e-12);
        // Balanced weights at theta = 0: the intercept's gradient is the weighted mean of
        // sigmoid(0) - y, i.e. (20 w0 / 2 - 10 w1 / 2) / 30 = 0; unweighted it is (10 - 5) / 30.
        assert!(g[6].abs() < 1e-12, "{g:?}");
        let unit = Weighting::new(&y, &LogisticOptions::default());
        objective(&x, &rows, &y, &unit, &[0.0; 7], &mut g);
        assert!((g[6] - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn balanced_weights_recover_the_minority_class() {
        // 36 rows of class 0, 4 of class 1; one noisy SNP carries the label for the minority
        // and, in 6 of 36, for the majority. Unweighted, the intercept wins and everything is
        // class 0; balanced, the minority is found.
        let mut values = Vec::new();
        let mut y = Vec::new();
        for i in 0..40usize {
            let label = (i >= 36) as u8;
            let snp = label == 1 || i % 6 == 0;
            values.extend([snp as u8, (i % 3 == 0) as u8]);
            y.push(label);
        }
        let p = PackedHaplotypes::from_rows(&values, 2);
        let x = MinorAlleleRows::from_packed(&p);
        let rows: Vec<usize> = (0..40).collect();
        let fit_with = |class_weight| {
            let opts = LogisticOptions {
                class_weight,
                ..Default::default()
            };
            let m = fit(&x, &rows, &y, &opts);
            rows.iter()
                .filter(|&&i| y[i] == 1 && m.predict(x.row(i)) == 1)
                .count()
        };
        assert_eq!(fit_with(ClassWeight::None), 0);
        assert_eq!(fit_with(ClassWeight::Balanced), 4);
    }

    #[test]
    fn no_penalty_gives_larger_weights_than_strong_regularisation() {
        let (x, rows, y) = data();
        let norm = |penalty, c| {
            let opts = LogisticOptions {
                penalty,
                c,
                tol: 1e-8,
                max_iter: 500,
                ..Default::default()
            };
            let m = fit(&x, &rows, &y, &opts);
            m.weights.iter().map(|w| w * w).sum::<f64>().sqrt()
        };
        let (strong, free) = (norm(Penalty::L2, 1e-3), norm(Penalty::None, 1e-3));
        assert!(strong < 0.1 && free > 1.0, "{strong} {free}");
        // Without a penalty C is ignored.
        assert_eq!(free, norm(Penalty::None, 0.1));
    }
}
