//! Top-k eigenpairs (largest algebraic eigenvalues) of a symmetric matrix.
//!
//! Classical MDS (the ISOMAP embedding) and the PCA fallback need only the few leading
//! eigenpairs of a dense symmetric matrix of a few thousand rows. This is block subspace
//! (orthogonal) iteration with a Rayleigh-Ritz step every iteration:
//!
//! 1. X: p orthonormal columns (p = k + oversampling), from a fixed portable pseudo-random start;
//! 2. Y = A X; H = X^T Y (p x p); H = S diag(theta) S^T by cyclic Jacobi;
//! 3. Ritz vectors V = X S with A V = Y S; stop when the k largest Ritz pairs have residual
//!    ||A v - theta v|| <= tol * max |theta|;
//! 4. X = orthonormalised A V (one power step) and repeat.
//!
//! The block converges to the dominant-magnitude eigenspace at rate |lambda_{p+1} / lambda_i|;
//! the result is the k largest *algebraic* Ritz values in it, so negative eigenvalues of large
//! magnitude (non-Euclidean geodesics in ISOMAP) only take a slot of the oversampled block.
//! Repeated eigenvalues are fine (a block method, unlike single-vector Lanczos). If the block
//! has not converged after a fixed number of iterations it is doubled; matrices of at most
//! [`DENSE_LIMIT`] rows are solved directly by Jacobi. Everything is sequential in floating
//! point order (rayon only splits independent rows), so the result is the same on every run.

use rayon::prelude::*;

/// Matrices up to this size are diagonalised directly (all eigenpairs by Jacobi).
pub const DENSE_LIMIT: usize = 200;
/// Relative residual at which a Ritz pair counts as converged.
const TOL: f64 = 1e-9;
/// Power steps per block size before the block is doubled.
const ITERATIONS_PER_BLOCK: usize = 500;
/// Block sizes tried: k + OVERSAMPLE, then doubled this many times.
const OVERSAMPLE: usize = 8;
const BLOCK_DOUBLINGS: usize = 2;
/// Seed of the start block (any fixed value: the start only has to be generic).
const START_SEED: u64 = 0x5eed_e16e_0000_0001;

/// A symmetric linear operator, applied to a block of column vectors.
pub trait SymOperator: Sync {
    fn dim(&self) -> usize;
    /// A x for each column x (each of length `dim`).
    fn apply(&self, x: &[Vec<f64>]) -> Vec<Vec<f64>>;
}

/// A dense symmetric matrix, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseSym {
    pub n: usize,
    pub a: Vec<f64>,
}

impl DenseSym {
    pub fn new(n: usize, a: Vec<f64>) -> Self {
        assert_eq!(a.len(), n * n, "{n} x {n} matrix expected");
        DenseSym { n, a }
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.a[i * self.n..(i + 1) * self.n]
    }
}

impl SymOperator for DenseSym {
    fn dim(&self) -> usize {
        self.n
    }

    fn apply(&self, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let rows: Vec<Vec<f64>> = (0..self.n)
            .into_par_iter()
            .map(|i| x.iter().map(|c| dot(self.row(i), c)).collect())
            .collect();
        transpose(&rows, x.len(), self.n)
    }
}

/// `rows[i][c]` -> `cols[c][i]`.
pub(crate) fn transpose(rows: &[Vec<f64>], ncols: usize, nrows: usize) -> Vec<Vec<f64>> {
    let mut cols = vec![vec![0.0; nrows]; ncols];
    for (i, r) in rows.iter().enumerate() {
        for (c, &v) in r.iter().enumerate() {
            cols[c][i] = v;
        }
    }
    cols
}

/// Dot product with eight independent accumulators (vectorisable, and a fixed summation
/// order, so deterministic).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `y -= alpha * x`
fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    for (a, b) in y.iter_mut().zip(x) {
        *a -= alpha * b;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EigenError {
    #[error("eigen solver: the {k} leading eigenpairs of a {n} x {n} matrix did not converge (relative residual {residual:.2e} after {iterations} iterations)")]
    NotConverged {
        k: usize,
        n: usize,
        residual: f64,
        iterations: usize,
    },
    #[error("eigen solver: {k} eigenpairs asked of a {n} x {n} matrix")]
    BadSize { k: usize, n: usize },
    #[error("eigen solver: the matrix has non-finite entries")]
    NotFinite,
}

/// Eigenvalues in descending order with their unit eigenvectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Eigenpairs {
    pub values: Vec<f64>,
    pub vectors: Vec<Vec<f64>>,
    /// Power steps taken (0 for a direct solve).
    pub iterations: usize,
}

/// Flip `v` so that its entry of largest magnitude (the first such) is positive: eigenvectors
/// are defined up to sign, and a fixed sign keeps figures from mirroring between solvers.
pub fn fix_sign(v: &mut [f64]) {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if x.abs() > v[best].abs() {
            best = i;
        }
    }
    if v.get(best).is_some_and(|&x| x < 0.0) {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

/// All eigenpairs of a small dense symmetric matrix (row-major p x p) by cyclic Jacobi
/// rotations: values in descending order, unit eigenvectors (sign fixed by [`fix_sign`]).
pub fn jacobi_eigen(a: &[f64], p: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    assert_eq!(a.len(), p * p);
    let mut a = a.to_vec();
    // Symmetrise exactly: rounding in whoever built `a` must not bias the rotations.
    for i in 0..p {
        for j in i + 1..p {
            let m = 0.5 * (a[i * p + j] + a[j * p + i]);
            a[i * p + j] = m;
            a[j * p + i] = m;
        }
    }
    let mut v = vec![0.0; p * p];
    for i in 0..p {
        v[i * p + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let mut off = 0.0;
        for i in 0..p {
            for j in i + 1..p {
                off += a[i * p + j] * a[i * p + j];
            }
        }
        if off <= total * 1e-32 || off == 0.0 {
            break;
        }
        for i in 0..p {
            for j in i + 1..p {
                let apq = a[i * p + j];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[i * p + i], a[j * p + j]);
                let theta = (aqq - app) / (2.0 * apq);
                // The smaller root of t^2 + 2 theta t - 1 = 0 (rotation angle <= pi/4).
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..p {
                    let (akp, akq) = (a[k * p + i], a[k * p + j]);
                    a[k * p + i] = c * akp - s * akq;
                    a[k * p + j] = s * akp + c * akq;
                }
                for k in 0..p {
                    let (apk, aqk) = (a[i * p + k], a[j * p + k]);
                    a[i * p + k] = c * apk - s * aqk;
                    a[j * p + k] = s * apk + c * aqk;
                }
                for k in 0..p {
                    let (vkp, vkq) = (v[k * p + i], v[k * p + j]);
                    v[k * p + i] = c * vkp - s * vkq;
                    v[k * p + j] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..p).collect();
    // Descending; ties by index, so the order is deterministic.
    order.sort_by(|&x, &y| a[y * p + y].total_cmp(&a[x * p + x]).then(x.cmp(&y)));
    let values = order.iter().map(|&i| a[i * p + i]).collect();
    let vectors = order
        .iter()
        .map(|&i| {
            let mut col: Vec<f64> = (0..p).map(|k| v[k * p + i]).collect();
            fix_sign(&mut col);
            col
        })
        .collect();
    (values, vectors)
}

/// Orthonormalise `cols` in place (modified Gram-Schmidt, twice). A column that vanishes
/// (the operator has lower rank than the block) is replaced by a fresh pseudo-random one.
fn orthonormalise(cols: &mut [Vec<f64>], fresh: &mut u64) {
    let n = cols.first().map_or(0, Vec::len);
    for c in 0..cols.len() {
        let mut attempts = 0;
        loop {
            let before = norm(&cols[c]);
            for _pass in 0..2 {
                for prev in 0..c {
                    let (done, rest) = cols.split_at_mut(c);
                    let proj = dot(&done[prev], &rest[0]);
                    axpy(&mut rest[0], proj, &done[prev]);
                }
            }
            let after = norm(&cols[c]);
            if after > 1e-10 * before && after > 1e-300 {
                cols[c].iter_mut().for_each(|x| *x /= after);
                break;
            }
            attempts += 1;
            assert!(
                attempts < 100,
                "cannot extend an orthonormal basis of R^{n}"
            );
            cols[c] = random_vector(n, fresh);
        }
    }
}

fn random_vector(n: usize, counter: &mut u64) -> Vec<f64> {
    let v = (0..n)
        .map(|i| artifact::rng::gaussian(START_SEED, *counter * n as u64 + i as u64))
        .collect();
    *counter += 1;
    v
}

/// The `k` largest (algebraic) eigenvalues of `op` and their unit eigenvectors (sign fixed by
/// [`fix_sign`]), in descending order.
pub fn top_eigenpairs(op: &dyn SymOperator, k: usize) -> Result<Eigenpairs, EigenError> {
    let n = op.dim();
    if k == 0 || k > n {
        return Err(EigenError::BadSize { k, n });
    }
    if n <= DENSE_LIMIT {
        let identity: Vec<Vec<f64>> = (0..n)
            .map(|j| (0..n).map(|i| f64::from(i == j)).collect())
            .collect();
        let cols = op.apply(&identity);
        let mut a = vec![0.0; n * n];
        for (j, col) in cols.iter().enumerate() {
            for (i, &x) in col.iter().enumerate() {
                a[i * n + j] = x;
            }
        }
        if a.iter().any(|x| !x.is_finite()) {
            return Err(EigenError::NotFinite);
        }
        let (mut values, mut vectors) = jacobi_eigen(&a, n);
        values.truncate(k);
        vectors.truncate(k);
        return Ok(Eigenpairs {
            values,
            vectors,
            iterations: 0,
        });
    }
    let mut p = (k + OVERSAMPLE).min(n);
    let mut total_iterations = 0;
    let mut last_residual = f64::INFINITY;
    for _attempt in 0..=BLOCK_DOUBLINGS {
        match subspace_iteration(op, k, p)? {
            Ok(mut e) => {
                e.iterations += total_iterations;
                return Ok(e);
            }
            Err(residual) => {
                total_iterations += ITERATIONS_PER_BLOCK;
                last_residual = residual;
                if p == n {
                    break;
                }
                p = (2 * p).min(n);
            }
        }
    }
    Err(EigenError::NotConverged {
        k,
        n,
        residual: last_residual,
        iterations: total_iterations,
    })
}

/// One block size: Ok(Ok(pairs)) on convergence, Ok(Err(worst residual)) if not.
fn subspace_iteration(
    op: &dyn SymOperator,
    k: usize,
    p: usize,
) -> Result<Result<Eigenpairs, f64>, EigenError> {
    let n = op.dim();
    let mut fresh = 0u64;
    let mut x: Vec<Vec<f64>> = (0..p).map(|_| random_vector(n, &mut fresh)).collect();
    orthonormalise(&mut x, &mut fresh);
    let mut worst = f64::INFINITY;
    for iteration in 1..=ITERATIONS_PER_BLOCK {
        let y = op.apply(&x);
        if y.iter().flatten().any(|v| !v.is_finite()) {
            return Err(EigenError::NotFinite);
        }
        let mut h = vec![0.0; p * p];
        for i in 0..p {
            for j in i..p {
                let v = dot(&x[i], &y[j]);
                h[i * p + j] = v;
                h[j * p + i] = v;
            }
        }
        let (theta, s) = jacobi_eigen(&h, p);
        // Ritz vectors v_j = X s_j and A v_j = Y s_j, in descending order of theta.
        let combine = |basis: &[Vec<f64>]| -> Vec<Vec<f64>> {
            s.iter()
                .map(|sj| {
                    let mut out = vec![0.0; n];
                    for (b, &w) in basis.iter().zip(sj) {
                        axpy(&mut out, -w, b);
                    }
                    out
                })
                .collect()
        };
        let v = combine(&x);
        let av = combine(&y);
        let scale = theta.iter().fold(0.0f64, |m, t| m.max(t.abs()));
        if scale == 0.0 {
            // A = 0 on this block, and the block is generic: A = 0.
            let mut vectors = v;
            vectors.truncate(k);
            vectors.iter_mut().for_each(|c| fix_sign(c));
            return Ok(Ok(Eigenpairs {
                values: vec![0.0; k],
                vectors,
                iterations: iteration,
            }));
        }
        worst = (0..k)
            .map(|j| {
                let r: f64 = av[j]
                    .iter()
                    .zip(&v[j])
                    .map(|(a, b)| (a - theta[j] * b).powi(2))
                    .sum();
                r.sqrt() / scale
            })
            .fold(0.0, f64::max);
        if worst <= TOL {
            let mut vectors = v;
            vectors.truncate(k);
            for c in vectors.iter_mut() {
                let nrm = norm(c);
                c.iter_mut().for_each(|x| *x /= nrm);
                fix_sign(c);
            }
            return Ok(Ok(Eigenpairs {
                values: theta[..k].to_vec(),
                vectors,
                iterations: iteration,
            }));
        }
        // Power step on the Ritz basis, largest magnitude first so that Gram-Schmidt keeps the
        // dominant directions exact.
        let mut order: Vec<usize> = (0..p).collect();
        order.sort_by(|&a, &b| theta[b].abs().total_cmp(&theta[a].abs()).then(a.cmp(&b)));
        let mut av = av;
        x = order.iter().map(|&j| std::mem::take(&mut av[j])).collect();
        orthonormalise(&mut x, &mut fresh);
    }
    Ok(Err(worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Q diag(d) Q^T with Q an orthonormal basis from Gram-Schmidt of pseudo-random vectors.
    fn known(n: usize, d: &[f64]) -> (DenseSym, Vec<Vec<f64>>) {
        let mut counter = 1000;
        let mut q: Vec<Vec<f64>> = (0..n).map(|_| random_vector(n, &mut counter)).collect();
        orthonormalise(&mut q, &mut counter);
        let mut a = vec![0.0; n * n];
        for (qk, &dk) in q.iter().zip(d) {
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] += dk * qk[i] * qk[j];
                }
            }
        }
        (DenseSym::new(n, a), q)
    }

    fn assert_pairs(e: &Eigenpairs, expected: &[f64], q: &[Vec<f64>], tol: f64) {
        for (j, &lam) in expected.iter().enumerate() {
            assert!(
                (e.values[j] - lam).abs() <= tol * lam.abs().max(1.0),
                "eigenvalue {j}: {} vs {lam}",
                e.values[j]
            );
            let overlap = dot(&e.vectors[j], &q[j]).abs();
            assert!(
                (overlap - 1.0).abs() < tol,
                "eigenvector {j}: |<v, q>| = {overlap}"
            );
        }
    }

    #[test]
    fn jacobi_on_a_2x2_and_a_diagonal() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1, vectors (1, 1) / sqrt 2 and (1, -1) / sqrt 2.
        let (vals, vecs) = jacobi_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((vals[0] - 3.0).abs() < 1e-14 && (vals[1] - 1.0).abs() < 1e-14);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vecs[0][0] - h).abs() < 1e-14 && (vecs[0][1] - h).abs() < 1e-14);
        assert!((vecs[1][0].abs() - h).abs() < 1e-14 && vecs[1][0] * vecs[1][1] < 0.0);
        let (vals, _) = jacobi_eigen(&[1.0, 0.0, 0.0, 0.0, -5.0, 0.0, 0.0, 0.0, 4.0], 3);
        assert_eq!(vals, vec![4.0, 1.0, -5.0]);
    }

    #[test]
    fn small_matrix_is_solved_directly() {
        let d = [9.0, 4.0, 1.0, 0.5, 0.0, -2.0];
        let (a, q) = known(6, &d);
        let e = top_eigenpairs(&a, 3).unwrap();
        assert_eq!(e.iterations, 0);
        assert_pairs(&e, &d[..3], &q, 1e-10);
    }

    #[test]
    fn subspace_iteration_finds_leading_pairs_despite_large_negative_ones() {
        // 300 x 300: above the dense limit. A negative eigenvalue larger in magnitude than the
        // wanted ones, a repeated eigenvalue, and a slowly decaying tail.
        let n = 300;
        let mut d: Vec<f64> = (0..n).map(|i| 1.0 / (1.0 + i as f64)).collect();
        d[0] = 50.0;
        d[1] = 20.0;
        d[2] = 20.0;
        d[n - 1] = -80.0;
        let (a, q) = known(n, &d);
        let e = top_eigenpairs(&a, 3).unwrap();
        assert!(e.iterations > 0);
        assert!((e.values[0] - 50.0).abs() < 1e-7, "{:?}", e.values);
        assert!((e.values[1] - 20.0).abs() < 1e-7 && (e.values[2] - 20.0).abs() < 1e-7);
        assert!((dot(&e.vectors[0], &q[0]).abs() - 1.0).abs() < 1e-8);
        // The repeated pair spans the same plane as q1, q2.
        for v in &e.vectors[1..3] {
            let inside = dot(v, &q[1]).powi(2) + dot(v, &q[2]).powi(2);
            assert!((inside - 1.0).abs() < 1e-8, "{inside}");
        }
        assert!(dot(&e.vectors[1], &e.vectors[2]).abs() < 1e-8);
    }

    #[test]
    fn low_rank_and_zero_operators() {
        let n = 250;
        let mut d = vec![0.0; n];
        d[0] = 3.0;
        let (a, q) = known(n, &d);
        let e = top_eigenpairs(&a, 2).unwrap();
        assert_pairs(&e, &[3.0], &q, 1e-8);
        assert!(e.values[1].abs() < 1e-9);
        let zero = DenseSym::new(n, vec![0.0; n * n]);
        assert_eq!(top_eigenpairs(&zero, 2).unwrap().values, vec![0.0, 0.0]);
        assert!(matches!(
            top_eigenpairs(&zero, 0),
            Err(EigenError::BadSize { .. })
        ));
    }
}
