//! The random feature map phi of the GMMN loss, shared by the sketch stage and the trainer.
//!
//! `identity`: phi(x) = x, so the sketch is the allele-frequency vector. `relu`: phi(x) = ReLU(W x)
//! with W in R^{D x M} drawn from a seed by [`crate::rng`]. `window`: ReLU features of windows of
//! contiguous SNPs, W block-diagonal (one f x w block per window), because LD is local and a
//! dense W spends almost all of its weight on pairs of SNPs that are far apart.
//! [`FeatureSpec::fill_weight_rows`] is the one function that produces W (both kinds), so both
//! sides agree bit for bit.
//!
//! Optional extra blocks ([`CountBlock`], and the identity block of allele frequencies, which
//! needs no code here) are appended to any map's features; see [`crate::SketchInfo::blocks`].

use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::rng;
use crate::{ArtifactError, Result};

/// Name and version of the W generator, recorded in sketch manifests so that a trainer from a
/// future release can refuse a sketch whose W it would regenerate differently.
pub const WEIGHT_GENERATOR: &str = "splitmix64-counter+box-muller(musl-libm) v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureMap {
    Identity,
    Relu,
    /// ReLU features of windows of contiguous SNPs ([`FeatureSpec::windowed`]).
    Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightInit {
    /// N(0, 1/M), the paper's Gaussian random features.
    Gaussian,
    /// U(-b, b), b = gain * sqrt(6 / (M + D)), gain = sqrt(2): PyTorch's xavier_uniform_ with
    /// calculate_gain('relu'), as in the authors' code.
    XavierUniform,
}

macro_rules! text_enum {
    ($t:ty, $($name:literal => $v:expr),+) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $( x if x == $v => $name, )+ _ => unreachable!() }
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, String> {
                match s {
                    $( $name => Ok($v), )+
                    other => Err(format!("unknown value `{other}` (expected one of: {})",
                        [$($name),+].join(", "))),
                }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
text_enum!(FeatureMap, "identity" => FeatureMap::Identity, "relu" => FeatureMap::Relu, "window" => FeatureMap::Window);
text_enum!(WeightInit, "gaussian" => WeightInit::Gaussian, "xavier-uniform" => WeightInit::XavierUniform);

/// Everything that defines phi except the per-restart seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    pub map: FeatureMap,
    pub init: WeightInit,
    /// M, the number of SNPs (input width).
    pub snps: usize,
    /// D, the number of features (= M for identity).
    pub features: usize,
    /// Window features only (0 otherwise): width w, stride s and features per window f.
    pub window: usize,
    pub stride: usize,
    pub per_window: usize,
}

impl FeatureSpec {
    pub fn new(map: FeatureMap, init: WeightInit, snps: usize, multiplier: usize) -> Result<Self> {
        if snps == 0 {
            return Err(ArtifactError::Invalid {
                message: "no SNPs: cannot build features over an empty genotype row".into(),
            });
        }
        let features = match map {
            FeatureMap::Identity => snps,
            FeatureMap::Window => {
                return Err(ArtifactError::Invalid {
                    message: "window features are built with FeatureSpec::windowed".into(),
                })
            }
            FeatureMap::Relu => {
                if multiplier == 0 {
                    return Err(ArtifactError::Invalid {
                        message: "--multiplier must be at least 1".into(),
                    });
                }
                snps.checked_mul(multiplier)
                    .ok_or_else(|| ArtifactError::Invalid {
                        message: "feature count overflows".into(),
                    })?
            }
        };
        Ok(FeatureSpec {
            map,
            init,
            snps,
            features,
            window: 0,
            stride: 0,
            per_window: 0,
        })
    }

    /// Window features: windows of `window` contiguous SNPs starting every `stride` SNPs, the
    /// last one ending at M (so that every SNP is covered), `per_window` ReLU features each.
    pub fn windowed(
        init: WeightInit,
        snps: usize,
        window: usize,
        stride: usize,
        per_window: usize,
    ) -> Result<Self> {
        let bad = |message: String| Err(ArtifactError::Invalid { message });
        if snps == 0 {
            return bad("no SNPs: cannot build features over an empty genotype row".into());
        }
        if window == 0 || window > snps {
            return bad(format!(
                "--window {window}: a window must hold between 1 and the {snps} SNPs"
            ));
        }
        if stride == 0 || stride > window {
            // A stride past the width would leave SNPs that no feature sees.
            return bad(format!(
                "--stride {stride}: must be between 1 and --window ({window})"
            ));
        }
        if per_window == 0 {
            return bad("--per-window must be at least 1".into());
        }
        let mut spec = FeatureSpec {
            map: FeatureMap::Window,
            init,
            snps,
            features: 0,
            window,
            stride,
            per_window,
        };
        spec.features = spec
            .window_starts()
            .len()
            .checked_mul(per_window)
            .ok_or_else(|| ArtifactError::Invalid {
                message: "feature count overflows".into(),
            })?;
        Ok(spec)
    }

    /// First SNP of each window (window features): 0, s, 2s, ... while the window fits, then
    /// M - w if the last of those stops short of M.
    pub fn window_starts(&self) -> Vec<usize> {
        if self.map != FeatureMap::Window {
            return Vec::new();
        }
        let (m, w, s) = (self.snps, self.window, self.stride);
        let mut starts: Vec<usize> = (0..).map(|i| i * s).take_while(|&a| a + w <= m).collect();
        if starts.last().is_some_and(|&a| a + w < m) {
            starts.push(m - w);
        }
        starts
    }

    /// Length of one row of W: M for relu, w for window features (row i * f + k of a window
    /// W is feature k of window i, over that window's w SNPs).
    pub fn row_len(&self) -> usize {
        match self.map {
            FeatureMap::Window => self.window,
            _ => self.snps,
        }
    }

    /// Rows of W: D for both relu and window features.
    pub fn weight_rows(&self) -> usize {
        self.features
    }

    /// Fill `out` (row-major, `out.len() / L` rows of L = [`Self::row_len`]) with rows `row0..`
    /// of W for `seed`. Element (i, j) is value number i * L + j of the seed's stream, whatever
    /// the block. Rows are filled in parallel.
    pub fn fill_weight_rows(&self, seed: u64, row0: usize, out: &mut [f32]) {
        assert_eq!(
            out.len() % self.row_len(),
            0,
            "weight block is not whole rows"
        );
        out.par_chunks_mut(self.row_len())
            .enumerate()
            .for_each(|(r, row)| self.fill_row(seed, row0 + r, row));
    }

    /// As [`Self::fill_weight_rows`], on the calling thread (for callers already in parallel).
    pub fn fill_weight_rows_serial(&self, seed: u64, row0: usize, out: &mut [f32]) {
        assert_eq!(
            out.len() % self.row_len(),
            0,
            "weight block is not whole rows"
        );
        for (r, row) in out.chunks_mut(self.row_len()).enumerate() {
            self.fill_row(seed, row0 + r, row);
        }
    }

    fn fill_row(&self, seed: u64, row: usize, out: &mut [f32]) {
        // fan-in / fan-out of the linear map a row belongs to: M -> D for relu, w -> f for
        // each window's block.
        let (m, fan_out) = match self.map {
            FeatureMap::Window => (self.window, self.per_window),
            _ => (self.snps, self.features),
        };
        let base = (row * m) as u64;
        match self.init {
            WeightInit::Gaussian => {
                let scale = 1.0 / (m as f64).sqrt();
                for (j, w) in out.iter_mut().enumerate() {
                    *w = (rng::gaussian(seed, base + j as u64) * scale) as f32;
                }
            }
            WeightInit::XavierUniform => {
                let bound = std::f64::consts::SQRT_2 * (6.0 / (m + fan_out) as f64).sqrt();
                for (j, w) in out.iter_mut().enumerate() {
                    *w = ((2.0 * rng::uniform(seed, base + j as u64) - 1.0) * bound) as f32;
                }
            }
        }
    }

    /// The whole of W (D x L, row-major) for `seed`; only for relu and window features.
    pub fn weight(&self, seed: u64) -> Vec<f32> {
        let mut w = vec![0f32; self.features * self.row_len()];
        self.fill_weight_rows(seed, 0, &mut w);
        w
    }
}

/// Smooth features of a haplotype's allele count c = sum_j x_j: log(1 + ((c - t_k) / scale)^2)
/// for K thresholds t_k. Their means over a group pin its distribution of c, including the spread
/// of the total (real CEU: sd 19.5 alleles per haplotype) that local features cannot see. A
/// sigmoid of (c - t_k) / scale was tried first and failed: a generator starts with counts tens
/// of sds away, where a sigmoid is flat, and the block then pushed the spread up (sd 985). The
/// log-distance grows without bound and its gradient decays only as 1 / |c - t_k|.
/// The thresholds are the group's own count quantiles at (k + 1/2) / K and the scale its
/// standard deviation, chosen by the data owner from the genotypes and recorded in the sketch
/// manifest: fixed values could not be placed without knowing where c lies in [0, M], and K
/// quantiles are a summary no finer than the means they come with.
#[derive(Debug, Clone, PartialEq)]
pub struct CountBlock {
    pub thresholds: Vec<f64>,
    pub scale: f64,
}

impl CountBlock {
    /// Thresholds and scale from the real allele counts of a group (one per haplotype).
    pub fn from_counts(counts: &[u64], k: usize) -> Result<CountBlock> {
        if k == 0 || counts.is_empty() {
            return Err(ArtifactError::Invalid {
                message: "--count-features needs at least one feature and one haplotype".into(),
            });
        }
        let mut sorted: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let quantile = |q: f64| {
            let pos = q * (n - 1) as f64;
            let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + frac * (sorted[hi] - sorted[lo])
        };
        let thresholds = (0..k)
            .map(|i| quantile((i as f64 + 0.5) / k as f64))
            .collect();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let var = sorted.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n as f64;
        // A group whose haplotypes all carry the same count has sd 0; one allele is then the
        // natural unit of smoothing.
        let scale = var.sqrt().max(1.0);
        Ok(CountBlock { thresholds, scale })
    }

    /// The K features of one allele count, into `out`.
    pub fn features(&self, count: f64, out: &mut [f64]) {
        for (o, t) in out.iter_mut().zip(&self.thresholds) {
            *o = ((count - t) / self.scale).powi(2).ln_1p();
        }
    }
}

/// The W seed of restart `r` given the sketch's base seed.
pub fn restart_seed(base: u64, restart: u64) -> u64 {
    rng::derive_seed(base, restart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_agree_with_whole_matrix() {
        let spec = FeatureSpec::new(FeatureMap::Relu, WeightInit::Gaussian, 7, 3).unwrap();
        let w = spec.weight(11);
        let mut block = vec![0f32; 4 * 7];
        spec.fill_weight_rows(11, 5, &mut block);
        assert_eq!(&w[5 * 7..9 * 7], &block[..]);
        assert_ne!(spec.weight(12), w);
    }

    #[test]
    fn xavier_bound_and_gaussian_scale() {
        let spec = FeatureSpec::new(FeatureMap::Relu, WeightInit::XavierUniform, 100, 10).unwrap();
        let b = (2.0f64.sqrt() * (6.0f64 / 1100.0).sqrt()) as f32;
        let w = spec.weight(1);
        assert!(w.iter().all(|v| v.abs() <= b));
        assert!(w.iter().any(|v| v.abs() > 0.9 * b));
        let spec = FeatureSpec::new(FeatureMap::Relu, WeightInit::Gaussian, 100, 10).unwrap();
        let w = spec.weight(1);
        let var = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / w.len() as f64;
        assert!(
            (var * 100.0 - 1.0).abs() < 0.05,
            "variance x M = {}",
            var * 100.0
        );
    }

    #[test]
    fn windows_cover_every_snp_and_the_last_ends_at_m() {
        let spec = FeatureSpec::windowed(WeightInit::Gaussian, 10, 4, 3, 2).unwrap();
        assert_eq!(spec.window_starts(), vec![0, 3, 6]);
        assert_eq!(spec.features, 6);
        // 0, 3 fit; 6 + 4 > 11, so the last window is moved to end at M.
        let spec = FeatureSpec::windowed(WeightInit::Gaussian, 11, 4, 3, 2).unwrap();
        assert_eq!(spec.window_starts(), vec![0, 3, 6, 7]);
        let spec = FeatureSpec::windowed(WeightInit::Gaussian, 4, 4, 2, 5).unwrap();
        assert_eq!(spec.window_starts(), vec![0]);
        assert_eq!((spec.row_len(), spec.weight_rows()), (4, 5));
        let e = FeatureSpec::windowed(WeightInit::Gaussian, 37, 64, 32, 64).unwrap_err();
        assert!(e.to_string().contains("--window 64"), "{e}");
        let e = FeatureSpec::windowed(WeightInit::Gaussian, 37, 8, 9, 64).unwrap_err();
        assert!(e.to_string().contains("--stride 9"), "{e}");
        assert!(FeatureSpec::new(FeatureMap::Window, WeightInit::Gaussian, 9, 1).is_err());
    }

    #[test]
    fn window_weights_are_blocks_of_the_seed_stream_with_window_scale() {
        let spec = FeatureSpec::windowed(WeightInit::Gaussian, 200, 50, 25, 40).unwrap();
        let w = spec.weight(3);
        assert_eq!(w.len(), spec.features * 50);
        // Row r, column j is value r * w + j of the stream, scaled by 1/sqrt(w).
        for (r, j) in [(0, 0), (41, 7), (spec.features - 1, 49)] {
            let want = (rng::gaussian(3, (r * 50 + j) as u64) / 50f64.sqrt()) as f32;
            assert_eq!(w[r * 50 + j].to_bits(), want.to_bits());
        }
        let var = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / w.len() as f64;
        assert!(
            (var * 50.0 - 1.0).abs() < 0.05,
            "variance x w = {}",
            var * 50.0
        );
    }

    #[test]
    fn count_block_thresholds_are_quantiles_and_scale_the_sd() {
        let counts: Vec<u64> = (0..101).collect();
        let b = CountBlock::from_counts(&counts, 4).unwrap();
        assert_eq!(b.thresholds, vec![12.5, 37.5, 62.5, 87.5]);
        assert!((b.scale - (10200.0f64 / 12.0).sqrt()).abs() < 1e-9);
        let mut out = [0f64; 4];
        b.features(62.5, &mut out);
        assert_eq!(out[2], 0.0);
        let z = 25.0 / b.scale;
        assert!((out[1] - (1.0 + z * z).ln()).abs() < 1e-12 && out[1] == out[3]);
        assert!(out[0] > out[1]);
        // All counts equal: sd 0 is replaced by one allele.
        assert_eq!(CountBlock::from_counts(&[5, 5], 1).unwrap().scale, 1.0);
        assert!(CountBlock::from_counts(&[5], 0).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in ["identity", "relu", "window"] {
            assert_eq!(s.parse::<FeatureMap>().unwrap().as_str(), s);
        }
        assert!("sigmoid"
            .parse::<FeatureMap>()
            .unwrap_err()
            .contains("identity, relu, window"));
        assert_eq!(
            "xavier-uniform".parse::<WeightInit>().unwrap(),
            WeightInit::XavierUniform
        );
    }
}
