//! Differentially private sketches (`gmmn-sketch --dp-epsilon E --dp-delta D`).
//!
//! A record is one individual. Each person's two haplotypes give one vector v_p: the sum of
//! their feature vectors over every restart and block, followed by their allele counts (the
//! frequencies block, which becomes the identity block and the variants table's frequencies).
//! v_p is clipped to L2 norm C, the clipped vectors are summed, Gaussian noise of sd sigma is
//! added to every coordinate, and the sum is divided by the number of haplotypes (public under
//! replace-one, released with its own noise under add-remove). Everything the trainer reads is
//! computed from that one release, so the guarantee covers all of it (post-processing).
//!
//! Accounting is Gaussian DP (Dong, Roth and Su 2019): a Gaussian mechanism of L2 sensitivity s
//! and noise sd sigma is mu-GDP with mu = s / sigma, mechanisms compose as sqrt(sum mu_i^2), and
//! mu-GDP is (epsilon, delta)-DP exactly when
//! delta = Phi(-epsilon/mu + mu/2) - e^epsilon Phi(-epsilon/mu - mu/2), which is the analytic
//! Gaussian mechanism of Balle and Wang (2018). It is tight for every epsilon (the textbook
//! sigma = s sqrt(2 ln(1.25/delta)) / epsilon holds only for epsilon < 1 and is looser).
//! Hand-written rather than the `opendp` crate: its default features build GMP/MPFR and a
//! vendored OpenSSL from C, and its vector Gaussian mechanisms sit behind the `contrib` flag;
//! what we need is the one formula above and a bisection, checked in tests/privacy.rs against
//! the PLD accountant of Google's dp-accounting (PyPI).
//!
//! Not addressed: the floating-point side channel of sampled Gaussians (Mironov 2012).

use std::ops::Range;

use artifact::features::{FeatureMap, FeatureSpec};
use artifact::{DpRelation, GenotypeMatrix};
use rayon::prelude::*;

use crate::SketchError;

/// Share of mu^2 spent on the haplotype count under add-remove (the rest goes to the sum). The
/// count only rescales the whole sketch, by about its relative noise, so a small share is enough.
pub const COUNT_SHARE: f64 = 0.05;
/// A person carries at most two haplotypes: the L2 sensitivity of the haplotype count.
pub const MAX_HAPLOTYPES_PER_PERSON: f64 = 2.0;
/// Data-free individuals whose median norm is the default clip.
const CLIP_REFERENCE_PEOPLE: usize = 64;

#[derive(Debug, Clone)]
pub struct DpOptions {
    pub epsilon: f64,
    pub delta: f64,
    /// None: the public default ([`default_clip`]).
    pub clip: Option<f64>,
    pub relation: DpRelation,
    /// None: the noise comes from the operating system's entropy.
    pub noise_seed: Option<u64>,
}

impl DpOptions {
    pub fn check(&self) -> Result<(), SketchError> {
        if !(self.epsilon.is_finite() && self.epsilon > 0.0 && self.epsilon <= 100.0) {
            return Err(SketchError::Usage(format!(
                "--dp-epsilon {}: a number > 0 and <= 100",
                self.epsilon
            )));
        }
        if !(self.delta.is_finite() && self.delta > 0.0 && self.delta < 1.0) {
            return Err(SketchError::Usage(format!(
                "--dp-delta {}: a number in (0, 1), well below 1 / the number of individuals",
                self.delta
            )));
        }
        if let Some(c) = self.clip {
            if !(c.is_finite() && c > 0.0) {
                return Err(SketchError::Usage(format!("--dp-clip {c}: an L2 norm > 0")));
            }
        }
        Ok(())
    }
}

/// Standard normal CDF.
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The delta at which a mu-GDP mechanism is (epsilon, delta)-DP.
pub fn gdp_delta(mu: f64, epsilon: f64) -> f64 {
    let a = phi(-epsilon / mu + mu / 2.0);
    let b = phi(-epsilon / mu - mu / 2.0);
    // e^epsilon * b through logs: b underflows to 0 long before e^epsilon overflows.
    let second = if b > 0.0 {
        (epsilon + b.ln()).exp()
    } else {
        0.0
    };
    (a - second).max(0.0)
}

/// The largest mu whose mu-GDP mechanism is (epsilon, delta)-DP (bisection: delta grows with mu).
pub fn gdp_mu(epsilon: f64, delta: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while gdp_delta(hi, epsilon) <= delta {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if gdp_delta(mid, epsilon) <= delta {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Noise scales of one release: sum sd and count sd (0 where the count is public).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseScales {
    pub mu: f64,
    pub sensitivity: f64,
    pub sum_sd: f64,
    pub count_sd: f64,
}

pub fn noise_scales(epsilon: f64, delta: f64, clip: f64, relation: DpRelation) -> NoiseScales {
    let mu = gdp_mu(epsilon, delta);
    match relation {
        DpRelation::ReplaceOne => NoiseScales {
            mu,
            sensitivity: 2.0 * clip,
            sum_sd: 2.0 * clip / mu,
            count_sd: 0.0,
        },
        DpRelation::AddRemove => {
            let mu_sum = mu * (1.0 - COUNT_SHARE).sqrt();
            let mu_count = mu * COUNT_SHARE.sqrt();
            NoiseScales {
                mu,
                sensitivity: clip,
                sum_sd: clip / mu_sum,
                count_sd: MAX_HAPLOTYPES_PER_PERSON / mu_count,
            }
        }
    }
}

/// One part of a person's vector: a block of one restart's features, or the allele counts.
#[derive(Debug, Clone)]
pub enum Part {
    /// Rows `rows` of restart W (seed `seed`).
    Features { seed: u64, rows: Range<usize> },
    /// The M allele counts (also the whole feature map for identity features).
    Alleles,
}

/// W rows per relu part.
const RELU_PART_ROWS: usize = 256;

/// The parts of a person's vector, in release order: every restart's features, then the
/// allele counts (identity features are the allele counts, once).
pub fn parts(spec: &FeatureSpec, restart_seeds: &[u64]) -> Vec<Part> {
    let mut parts = Vec::new();
    if spec.map != FeatureMap::Identity {
        let step = match spec.map {
            FeatureMap::Window => spec.per_window,
            _ => RELU_PART_ROWS,
        };
        for &seed in restart_seeds {
            for r0 in (0..spec.features).step_by(step) {
                parts.push(Part::Features {
                    seed,
                    rows: r0..(r0 + step).min(spec.features),
                });
            }
        }
    }
    parts.push(Part::Alleles);
    parts
}

/// The people of a matrix: runs of haplotypes with one sample name (gmmn-split keeps a
/// person's haplotypes together), as the person index of every haplotype.
pub fn people(matrix: &GenotypeMatrix) -> (usize, Vec<usize>) {
    let mut of = Vec::with_capacity(matrix.n_haplotypes());
    let mut count = 0usize;
    let mut last: Option<&str> = None;
    for label in matrix.labels() {
        if last != Some(label.sample.as_str()) {
            count += 1;
            last = Some(label.sample.as_str());
        }
        of.push(count - 1);
    }
    (count, of)
}

/// Every person's values of one part (person-major: people x part length), unclipped.
pub fn person_part(
    matrix: &GenotypeMatrix,
    spec: &FeatureSpec,
    part: &Part,
    person_of: &[usize],
    n_people: usize,
) -> (usize, Vec<f64>) {
    let m = matrix.n_snps();
    match part {
        Part::Alleles => {
            let mut out = vec![0f64; n_people * m];
            for (h, &p) in person_of.iter().enumerate() {
                for (o, &x) in out[p * m..(p + 1) * m].iter_mut().zip(matrix.row(h)) {
                    *o += x as f64;
                }
            }
            (m, out)
        }
        Part::Features { seed, rows } => {
            let len = rows.len();
            let row_len = spec.row_len();
            let mut w32 = vec![0f32; len * row_len];
            spec.fill_weight_rows_serial(*seed, rows.start, &mut w32);
            let weight: Vec<f64> = w32.iter().map(|&v| v as f64).collect();
            drop(w32);
            let mut out = vec![0f64; n_people * len];
            // The SNPs the rows read: a window's, or all of them.
            let a = match spec.map {
                FeatureMap::Window => spec.window_starts()[rows.start / spec.per_window],
                _ => 0,
            };
            for (h, &p) in person_of.iter().enumerate() {
                let x = &matrix.row(h)[a..a + row_len];
                let o = &mut out[p * len..(p + 1) * len];
                for (k, ok) in o.iter_mut().enumerate() {
                    *ok += crate::relu_dot(&weight[k * row_len..(k + 1) * row_len], x);
                }
            }
            (len, out)
        }
    }
}

/// Each person's squared L2 norm over all parts.
pub fn squared_norms(
    matrix: &GenotypeMatrix,
    spec: &FeatureSpec,
    parts: &[Part],
    person_of: &[usize],
    n_people: usize,
) -> Vec<f64> {
    parts
        .par_iter()
        .map(|part| {
            let (len, v) = person_part(matrix, spec, part, person_of, n_people);
            (0..n_people)
                .map(|p| v[p * len..(p + 1) * len].iter().map(|x| x * x).sum())
                .collect::<Vec<f64>>()
        })
        .reduce(
            || vec![0f64; n_people],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        )
}

/// The sum over people of each person's vector scaled by `scale[p]`, part after part.
pub fn scaled_sum(
    matrix: &GenotypeMatrix,
    spec: &FeatureSpec,
    parts: &[Part],
    person_of: &[usize],
    scale: &[f64],
) -> Vec<f64> {
    let n_people = scale.len();
    let sums: Vec<Vec<f64>> = parts
        .par_iter()
        .map(|part| {
            let (len, v) = person_part(matrix, spec, part, person_of, n_people);
            let mut s = vec![0f64; len];
            for (p, &c) in scale.iter().enumerate() {
                for (o, x) in s.iter_mut().zip(&v[p * len..(p + 1) * len]) {
                    *o += c * x;
                }
            }
            s
        })
        .collect();
    sums.concat()
}

/// The public default clip: the median norm of data-free individuals whose alleles are
/// independent fair coins, under the same feature map and seeds (a function of the SNP count,
/// the feature specification and --seed only; never of the genotypes). Real groups carry fewer
/// ALT alleles than that at most SNPs, so little is clipped and the noise is somewhat larger
/// than a clip fitted to them would need.
pub fn default_clip(spec: &FeatureSpec, restart_seeds: &[u64], seed: u64) -> f64 {
    let m = spec.snps;
    let n = 2 * CLIP_REFERENCE_PEOPLE;
    let stream = artifact::rng::derive_seed(seed, 0xd1c1);
    let values: Vec<u8> = (0..(n * m) as u64)
        .map(|k| (artifact::rng::counter_u64(stream, k) >> 63) as u8)
        .collect();
    let labels = (0..n)
        .map(|i| artifact::HaplotypeLabel {
            sample: format!("reference{}", i / 2),
            haplotype: (i % 2) as u8,
            group: None,
        })
        .collect();
    let matrix = GenotypeMatrix::new(labels, m, values).expect("a well-formed matrix");
    let (count, of) = people(&matrix);
    let mut norms: Vec<f64> = squared_norms(&matrix, spec, &parts(spec, restart_seeds), &of, count)
        .into_iter()
        .map(f64::sqrt)
        .collect();
    norms.sort_by(|a, b| a.total_cmp(b));
    0.5 * (norms[count / 2 - 1] + norms[count / 2])
}

/// A secret seed for the noise: from the operating system unless one is given.
pub fn noise_seed(given: Option<u64>) -> Result<u64, SketchError> {
    match given {
        Some(s) => Ok(artifact::rng::derive_seed(s, 0xd9_0153)),
        None => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).map_err(|e| {
                SketchError::Usage(format!(
                    "cannot draw the DP noise seed from the operating system: {e}"
                ))
            })?;
            Ok(u64::from_le_bytes(bytes))
        }
    }
}

/// The clipped, noised sum and the (noised) haplotype count.
pub struct PrivateSum {
    pub sum: Vec<f64>,
    pub haplotypes: f64,
    pub scales: NoiseScales,
}

/// Clip every person to `clip`, sum, add the noise of (epsilon, delta).
pub fn private_sum(
    matrix: &GenotypeMatrix,
    spec: &FeatureSpec,
    restart_seeds: &[u64],
    clip: f64,
    opts: &DpOptions,
    noise: u64,
) -> PrivateSum {
    let parts = parts(spec, restart_seeds);
    let (count, of) = people(matrix);
    // Two passes over every part (norms, then the scaled sum) rather than one that holds
    // people x D values: that would be the size of the genotype matrix times D / M.
    let norms = squared_norms(matrix, spec, &parts, &of, count);
    let scale: Vec<f64> = norms
        .iter()
        .map(|&s| {
            let norm = s.sqrt();
            if norm > clip {
                clip / norm
            } else {
                1.0
            }
        })
        .collect();
    let mut sum = scaled_sum(matrix, spec, &parts, &of, &scale);
    let scales = noise_scales(opts.epsilon, opts.delta, clip, opts.relation);
    for (k, s) in sum.iter_mut().enumerate() {
        *s += scales.sum_sd * artifact::rng::gaussian(noise, k as u64);
    }
    let mut haplotypes = matrix.n_haplotypes() as f64;
    if scales.count_sd > 0.0 {
        haplotypes += scales.count_sd * artifact::rng::gaussian(noise, u64::MAX / 2);
    }
    PrivateSum {
        sum,
        // A group of fewer than one haplotype makes no sketch; the clamp is post-processing.
        haplotypes: haplotypes.max(1.0),
        scales,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::toy;
    use artifact::features::WeightInit;

    #[test]
    fn gdp_matches_known_values() {
        // mu = 1 is (epsilon, delta)-DP at delta(epsilon = 1) = Phi(-1/2) - e Phi(-3/2).
        let want = phi(-0.5) - std::f64::consts::E * phi(-1.5);
        assert!((gdp_delta(1.0, 1.0) - want).abs() < 1e-15);
        assert!((want - 0.126_936).abs() < 1e-5, "{want}");
        for (eps, delta) in [(0.5, 1e-5), (1.0, 1e-6), (3.0, 1e-5), (10.0, 1e-5)] {
            let mu = gdp_mu(eps, delta);
            assert!((gdp_delta(mu, eps) - delta).abs() < 1e-9 * delta.max(1e-12) + 1e-15);
            // Tighter than the textbook calibration wherever that one holds.
            if eps < 1.0 {
                let textbook = eps / (2.0 * (1.25f64 / delta).ln()).sqrt();
                assert!(mu > textbook, "{mu} <= {textbook}");
            }
        }
        // Larger epsilon or delta allows less noise.
        assert!(gdp_mu(3.0, 1e-5) > gdp_mu(1.0, 1e-5));
        assert!(gdp_mu(1.0, 1e-4) > gdp_mu(1.0, 1e-6));
    }

    #[test]
    fn no_person_contributes_more_than_the_clip() {
        // Noise-free by an enormous epsilon is not available (capped), so compare the clipped
        // sum itself: scale by min(1, C / norm) and check each person's scaled vector.
        let (n, m) = (40, 30);
        let gm = toy(n, m);
        let spec = FeatureSpec::windowed(WeightInit::Gaussian, m, 8, 4, 5).unwrap();
        let seeds = [3u64, 9];
        let parts = parts(&spec, &seeds);
        let (count, of) = people(&gm);
        assert_eq!(count, 20);
        let norms = squared_norms(&gm, &spec, &parts, &of, count);
        let clip = norms.iter().map(|s| s.sqrt()).sum::<f64>() / count as f64 * 0.8;
        for p in 0..count {
            let mut one = vec![0.0; count];
            let norm = norms[p].sqrt();
            one[p] = if norm > clip { clip / norm } else { 1.0 };
            let v = scaled_sum(&gm, &spec, &parts, &of, &one);
            let got = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!(got <= clip * (1.0 + 1e-12), "person {p}: {got} > {clip}");
            assert!((got - norm.min(clip)).abs() < 1e-9 * clip);
        }
        // With every scale 1 the sum is the exact sum of features (as the sketch computes it)
        // followed by the allele counts.
        let all = scaled_sum(&gm, &spec, &parts, &of, &vec![1.0; count]);
        let mu = crate::mean_features(&gm, &spec, 3, &|_| {});
        for (k, v) in mu.iter().enumerate() {
            assert!((all[k] / n as f64 - *v as f64).abs() < 1e-6, "feature {k}");
        }
        let counts = gm.allele_counts();
        let tail = &all[all.len() - m..];
        for j in 0..m {
            assert_eq!(tail[j], counts[j] as f64);
        }
    }
}
