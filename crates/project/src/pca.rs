//! PCA fitted on real haplotypes, applied to any haplotype.
//!
//! The fit is linfa-reduction's `Pca` (truncated SVD of the centred matrix by LOBPCG, pure Rust,
//! no BLAS). LOBPCG returns whatever it has when it runs out of iterations without saying so, and
//! panics when asked for more than a fifth of min(rows, SNPs) components, so every linfa result
//! is checked here (unit, orthogonal, descending, relative eigen-residual of the covariance
//! below [`LINFA_RESIDUAL`]); when linfa cannot be used or its answer fails the check, the fit
//! falls back to [`fit_gram`]: the exact centred Gram matrix of the 0/1 data (popcounts of
//! bit-packed rows, or of bit-packed SNP columns when there are fewer SNPs than haplotypes) and
//! the deterministic subspace iteration of [`crate::eigen`].
//!
//! Either way the projection is (x - mean) . v for every component v, with the mean and
//! components of the real haplotypes, and component signs are fixed by
//! [`crate::eigen::fix_sign`] so that the two solvers draw the same picture.

use haplotypes::bits::PackedHaplotypes;
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray016::Array2;
use rayon::prelude::*;

use crate::eigen::{dot, fix_sign, top_eigenpairs, DenseSym, EigenError};

/// Largest accepted ||C v - lambda v|| / lambda_1 for a linfa component (C: covariance).
pub const LINFA_RESIDUAL: f64 = 1e-6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcaSolver {
    /// linfa-reduction's LOBPCG truncated SVD.
    Linfa,
    /// The exact centred Gram matrix and subspace iteration.
    Subspace,
}

impl PcaSolver {
    pub fn as_str(self) -> &'static str {
        match self {
            PcaSolver::Linfa => "linfa-reduction (LOBPCG truncated SVD)",
            PcaSolver::Subspace => "centred Gram matrix, subspace iteration",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PcaFit {
    /// Per-SNP ALT frequency of the training haplotypes.
    pub mean: Vec<f64>,
    /// `k` unit vectors over the SNPs.
    pub components: Vec<Vec<f64>>,
    /// Variance along each component (eigenvalues of the covariance, divisor n - 1).
    pub explained_variance: Vec<f64>,
    /// Share of the total variance along each component.
    pub explained_variance_ratio: Vec<f64>,
    pub solver: PcaSolver,
    /// Why linfa was not used, if it was not.
    pub fallback_reason: Option<String>,
}

/// Data for a fit: `values` is n x m row-major 0/1.
struct Data<'a> {
    values: &'a [u8],
    n: usize,
    m: usize,
    mean: Vec<f64>,
    /// sum over SNPs of the squared deviations: the trace of X_c^T X_c.
    total: f64,
}

impl<'a> Data<'a> {
    fn new(values: &'a [u8], n: usize, m: usize) -> Self {
        let counts = artifact::allele_counts_of_rows(m, values.chunks_exact(m));
        let mean: Vec<f64> = counts.iter().map(|&c| c as f64 / n as f64).collect();
        let total = counts
            .iter()
            .map(|&c| c as f64 - (c as f64) * (c as f64) / n as f64)
            .sum();
        Data {
            values,
            n,
            m,
            mean,
            total,
        }
    }

    /// X_c^T X_c v (exact for 0/1 rows: X_c v = X v - mean . v).
    fn cov_times(&self, v: &[f64]) -> Vec<f64> {
        let offset = dot(&self.mean, v);
        let t: Vec<f64> = self
            .values
            .par_chunks_exact(self.m)
            .map(|row| {
                row.iter()
                    .zip(v)
                    .filter(|(&x, _)| x != 0)
                    .map(|(_, &w)| w)
                    .sum::<f64>()
                    - offset
            })
            .collect();
        let t_sum: f64 = t.iter().sum();
        // Column j: sum_i x_ij t_i - mean_j sum_i t_i, in row order (deterministic).
        let mut out = vec![0.0; self.m];
        for (row, &ti) in self.values.chunks_exact(self.m).zip(&t) {
            for (o, &x) in out.iter_mut().zip(row) {
                if x != 0 {
                    *o += ti;
                }
            }
        }
        for (o, mu) in out.iter_mut().zip(&self.mean) {
            *o -= mu * t_sum;
        }
        out
    }
}

/// Fit `k` components on n x m 0/1 rows: linfa if it can and its answer checks out, else
/// [`fit_gram`].
pub fn fit(values: &[u8], n: usize, m: usize, k: usize) -> Result<PcaFit, EigenError> {
    let data = Data::new(values, n, m);
    let reason = match fit_linfa(&data, k) {
        Ok(fit) => return Ok(fit),
        Err(why) => why,
    };
    tracing::warn!("PCA: linfa-reduction not used ({reason}); falling back to subspace iteration on the centred Gram matrix");
    let mut fit = fit_gram_data(&data, k)?;
    fit.fallback_reason = Some(reason);
    Ok(fit)
}

fn fit_linfa(data: &Data, k: usize) -> Result<PcaFit, String> {
    let (n, m) = (data.n, data.m);
    // LOBPCG panics when min(n, m) < 5 k.
    if n.min(m) < 5 * k {
        return Err(format!(
            "LOBPCG needs at least 5 x {k} haplotypes and SNPs, have {n} x {m}"
        ));
    }
    let x = Array2::from_shape_vec((n, m), data.values.iter().map(|&v| f64::from(v)).collect())
        .map_err(|e| e.to_string())?;
    let ds = DatasetBase::from(x);
    let pca = linfa_reduction::Pca::params(k)
        .fit(&ds)
        .map_err(|e| format!("linfa-reduction: {e}"))?;
    let sigma = pca.singular_values();
    let mut components: Vec<Vec<f64>> = pca
        .components()
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    if components.len() != k || sigma.len() != k {
        return Err(format!(
            "linfa returned {} components for {k}",
            components.len()
        ));
    }
    for c in components.iter_mut() {
        fix_sign(c);
    }
    // Check: unit, orthogonal, and eigenvectors of X_c^T X_c with eigenvalues sigma^2,
    // descending.
    let mut eig = Vec::with_capacity(k);
    let mut top = 0.0f64;
    for (i, v) in components.iter().enumerate() {
        for (j, w) in components.iter().enumerate().take(i + 1) {
            let d = dot(v, w);
            let want = if i == j { 1.0 } else { 0.0 };
            if !d.is_finite() || (d - want).abs() > 1e-6 {
                return Err(format!("components {i} and {j} have dot product {d:.3e}"));
            }
        }
        let cv = data.cov_times(v);
        let lambda = dot(v, &cv);
        top = top.max(lambda);
        let residual = cv
            .iter()
            .zip(v)
            .map(|(a, b)| (a - lambda * b).powi(2))
            .sum::<f64>()
            .sqrt()
            / top.max(f64::MIN_POSITIVE);
        // NaN fails too.
        if residual.is_nan() || residual > LINFA_RESIDUAL {
            return Err(format!(
                "LOBPCG did not converge: component {} has relative residual {residual:.2e}",
                i + 1
            ));
        }
        if eig
            .last()
            .is_some_and(|&prev: &f64| lambda > prev * (1.0 + 1e-9) + 1e-12)
        {
            return Err("LOBPCG returned components out of order".into());
        }
        eig.push(lambda);
    }
    Ok(finish(data, components, eig, PcaSolver::Linfa))
}

fn finish(data: &Data, components: Vec<Vec<f64>>, eig: Vec<f64>, solver: PcaSolver) -> PcaFit {
    let denom = (data.n as f64 - 1.0).max(1.0);
    PcaFit {
        mean: data.mean.clone(),
        components,
        explained_variance: eig.iter().map(|l| l / denom).collect(),
        explained_variance_ratio: eig
            .iter()
            .map(|l| {
                if data.total > 0.0 {
                    l / data.total
                } else {
                    0.0
                }
            })
            .collect(),
        solver,
        fallback_reason: None,
    }
}

/// PCA without linfa: the top `k` eigenpairs of the centred Gram matrix of the smaller side.
///
/// With n haplotypes and m SNPs, X_c = X - 1 mean^T. For 0/1 rows x_i, x_i . x_j is the popcount
/// of their AND, so both Gram matrices are exact integers plus rank-one corrections:
/// * n <= m: G = X_c X_c^T, G_ij = |x_i & x_j| - x_i.mean - x_j.mean + mean.mean; an eigenpair
///   (lambda, u) gives the component X_c^T u / sqrt(lambda);
/// * m < n: C = X_c^T X_c, C_jl = |col_j & col_l| - n mean_j mean_l; its eigenvectors are the
///   components.
pub fn fit_gram(values: &[u8], n: usize, m: usize, k: usize) -> Result<PcaFit, EigenError> {
    fit_gram_data(&Data::new(values, n, m), k)
}

fn fit_gram_data(data: &Data, k: usize) -> Result<PcaFit, EigenError> {
    let (n, m) = (data.n, data.m);
    let mean = &data.mean;
    let (pairs, by_rows) = if n <= m {
        let packed = PackedHaplotypes::from_rows(data.values, m);
        let s: Vec<f64> = data
            .values
            .par_chunks_exact(m)
            .map(|row| {
                row.iter()
                    .zip(mean)
                    .filter(|(&x, _)| x != 0)
                    .map(|(_, &mu)| mu)
                    .sum()
            })
            .collect();
        let mm = dot(mean, mean);
        let a = gram(&packed, |i, j, and| and as f64 - s[i] - s[j] + mm);
        (top_eigenpairs(&a, k)?, true)
    } else {
        let mut cols = vec![0u8; n * m];
        for (i, row) in data.values.chunks_exact(m).enumerate() {
            for (j, &x) in row.iter().enumerate() {
                cols[j * n + i] = x;
            }
        }
        let packed = PackedHaplotypes::from_rows(&cols, n);
        let nf = n as f64;
        let a = gram(&packed, |j, l, and| and as f64 - nf * mean[j] * mean[l]);
        (top_eigenpairs(&a, k)?, false)
    };
    let eig: Vec<f64> = pairs.values.iter().map(|&l| l.max(0.0)).collect();
    let components: Vec<Vec<f64>> = if by_rows {
        pairs
            .vectors
            .iter()
            .zip(&eig)
            .map(|(u, &lambda)| {
                // X_c^T u = X^T u - mean (sum u), normalised (lambda may be 0 for a rank-deficient
                // matrix: then any unit vector orthogonal to the others would do; keep X_c^T u's
                // direction, or zeros).
                let usum: f64 = u.iter().sum();
                let mut v = vec![0.0; m];
                for (row, &ui) in data.values.chunks_exact(m).zip(u) {
                    for (o, &x) in v.iter_mut().zip(row) {
                        if x != 0 {
                            *o += ui;
                        }
                    }
                }
                for (o, mu) in v.iter_mut().zip(mean) {
                    *o -= mu * usum;
                }
                let nrm = dot(&v, &v).sqrt();
                if nrm > 0.0 && lambda > 0.0 {
                    v.iter_mut().for_each(|x| *x /= nrm);
                }
                fix_sign(&mut v);
                v
            })
            .collect()
    } else {
        pairs.vectors
    };
    Ok(finish(data, components, eig, PcaSolver::Subspace))
}

/// The symmetric matrix `entry(i, j, popcount(row_i & row_j))` over the packed rows.
fn gram(packed: &PackedHaplotypes, entry: impl Fn(usize, usize, u32) -> f64 + Sync) -> DenseSym {
    let d = packed.n;
    let a: Vec<f64> = (0..d)
        .into_par_iter()
        .flat_map_iter(|i| {
            let ri = packed.row(i);
            let entry = &entry;
            (0..d).map(move |j| {
                let and: u32 = ri
                    .iter()
                    .zip(packed.row(j))
                    .map(|(a, b)| (a & b).count_ones())
                    .sum();
                entry(i, j, and)
            })
        })
        .collect();
    DenseSym::new(d, a)
}

impl PcaFit {
    pub fn components(&self) -> usize {
        self.components.len()
    }

    /// Coordinates of n x m 0/1 rows, row-major n x k.
    pub fn project(&self, values: &[u8]) -> Vec<f64> {
        let m = self.mean.len();
        let k = self.components.len();
        let offsets: Vec<f64> = self.components.iter().map(|v| dot(&self.mean, v)).collect();
        values
            .par_chunks_exact(m)
            .flat_map_iter(|row| {
                let mut acc = vec![0.0; k];
                for (j, &x) in row.iter().enumerate() {
                    if x != 0 {
                        for (a, v) in acc.iter_mut().zip(&self.components) {
                            *a += v[j];
                        }
                    }
                }
                acc.into_iter().zip(&offsets).map(|(a, o)| a - o)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clusters of 0/1 rows: cluster A has the first half of SNPs mostly 1, cluster B the
    /// second half, with a little deterministic noise.
    fn two_clusters(n_each: usize, m: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(2 * n_each * m);
        for c in 0..2 {
            for i in 0..n_each {
                for j in 0..m {
                    let base = if (j < m / 2) == (c == 0) { 1 } else { 0 };
                    let noise =
                        artifact::rng::uniform(9, (c * n_each + i) as u64 * 1000 + j as u64) < 0.1;
                    v.push(base ^ noise as u8);
                }
            }
        }
        v
    }

    fn check_two_clusters(fit: &PcaFit, values: &[u8], n_each: usize) {
        let y = fit.project(values);
        let k = fit.components();
        let pc1: Vec<f64> = y.chunks_exact(k).map(|r| r[0]).collect();
        let (a, b) = pc1.split_at(n_each);
        let (amax, amin) = (
            a.iter().cloned().fold(f64::MIN, f64::max),
            a.iter().cloned().fold(f64::MAX, f64::min),
        );
        let (bmax, bmin) = (
            b.iter().cloned().fold(f64::MIN, f64::max),
            b.iter().cloned().fold(f64::MAX, f64::min),
        );
        assert!(
            amax < bmin || bmax < amin,
            "PC1 does not separate the clusters"
        );
        // Centred: the training coordinates have mean 0; PC1 carries most of the variance.
        for c in 0..k {
            let mean: f64 = y.chunks_exact(k).map(|r| r[c]).sum::<f64>() / (2 * n_each) as f64;
            assert!(mean.abs() < 1e-9, "component {c} mean {mean}");
        }
        assert!(
            fit.explained_variance_ratio[0] > 0.5,
            "{:?}",
            fit.explained_variance_ratio
        );
        // The variance of the projected training rows is the explained variance.
        let var1: f64 = pc1.iter().map(|x| x * x).sum::<f64>() / (2 * n_each - 1) as f64;
        assert!(
            (var1 - fit.explained_variance[0]).abs() < 1e-6 * var1,
            "{var1} vs {:?}",
            fit.explained_variance
        );
    }

    #[test]
    fn pc1_separates_two_clusters_with_linfa_and_with_the_gram_fallback() {
        let (n_each, m) = (40, 30);
        let values = two_clusters(n_each, m);
        let linfa = fit(&values, 2 * n_each, m, 2).unwrap();
        assert_eq!(
            linfa.solver,
            PcaSolver::Linfa,
            "{:?}",
            linfa.fallback_reason
        );
        check_two_clusters(&linfa, &values, n_each);
        // m < n: the SNP-side Gram matrix.
        let gram = fit_gram(&values, 2 * n_each, m, 2).unwrap();
        assert_eq!(gram.solver, PcaSolver::Subspace);
        check_two_clusters(&gram, &values, n_each);
        // Same components from both solvers (signs are fixed the same way).
        for (a, b) in linfa.components.iter().zip(&gram.components) {
            assert!((dot(a, b) - 1.0).abs() < 1e-6, "{}", dot(a, b));
        }
        // n <= m: the haplotype-side Gram matrix.
        let few = &values[..10 * m];
        let rows = fit_gram(few, 10, m, 2).unwrap();
        let cols = {
            let d = Data::new(few, 10, m);
            let comps: Vec<Vec<f64>> = (0..m)
                .map(|j| d.cov_times(&(0..m).map(|l| f64::from(l == j)).collect::<Vec<_>>()))
                .collect();
            let flat: Vec<f64> = comps.concat();
            crate::eigen::jacobi_eigen(&flat, m)
        };
        for c in 0..2 {
            assert!((rows.explained_variance[c] * 9.0 - cols.0[c]).abs() < 1e-9);
            assert!((dot(&rows.components[c], &cols.1[c]) - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn too_many_components_for_lobpcg_fall_back_instead_of_panicking() {
        let values = two_clusters(5, 12);
        let f = fit(&values, 10, 12, 3).unwrap();
        assert_eq!(f.solver, PcaSolver::Subspace);
        assert!(f.fallback_reason.as_deref().unwrap().contains("LOBPCG"));
        check_two_clusters(&f, &values, 5);
    }
}
