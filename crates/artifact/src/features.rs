//! The random feature map phi of the GMMN loss, shared by the sketch stage and the trainer.
//!
//! `identity`: phi(x) = x, so the sketch is the allele-frequency vector. `relu`: phi(x) = ReLU(W x)
//! with W in R^{D x M} drawn from a seed by [`crate::rng`]; [`FeatureSpec::fill_weight_rows`] is
//! the one function that produces W, so both sides agree bit for bit.

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
text_enum!(FeatureMap, "identity" => FeatureMap::Identity, "relu" => FeatureMap::Relu);
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
        })
    }

    /// Fill `out` (row-major, `out.len() / M` rows of M) with rows `row0..` of W for `seed`.
    /// Element (i, j) is value number i * M + j of the seed's stream, whatever the block.
    /// Rows are filled in parallel.
    pub fn fill_weight_rows(&self, seed: u64, row0: usize, out: &mut [f32]) {
        assert_eq!(out.len() % self.snps, 0, "weight block is not whole rows");
        out.par_chunks_mut(self.snps)
            .enumerate()
            .for_each(|(r, row)| self.fill_row(seed, row0 + r, row));
    }

    /// As [`Self::fill_weight_rows`], on the calling thread (for callers already in parallel).
    pub fn fill_weight_rows_serial(&self, seed: u64, row0: usize, out: &mut [f32]) {
        assert_eq!(out.len() % self.snps, 0, "weight block is not whole rows");
        for (r, row) in out.chunks_mut(self.snps).enumerate() {
            self.fill_row(seed, row0 + r, row);
        }
    }

    fn fill_row(&self, seed: u64, row: usize, out: &mut [f32]) {
        let m = self.snps;
        let base = (row * m) as u64;
        match self.init {
            WeightInit::Gaussian => {
                let scale = 1.0 / (m as f64).sqrt();
                for (j, w) in out.iter_mut().enumerate() {
                    *w = (rng::gaussian(seed, base + j as u64) * scale) as f32;
                }
            }
            WeightInit::XavierUniform => {
                let bound = std::f64::consts::SQRT_2 * (6.0 / (m + self.features) as f64).sqrt();
                for (j, w) in out.iter_mut().enumerate() {
                    *w = ((2.0 * rng::uniform(seed, base + j as u64) - 1.0) * bound) as f32;
                }
            }
        }
    }

    /// The whole of W (D x M, row-major) for `seed`; only for relu features.
    pub fn weight(&self, seed: u64) -> Vec<f32> {
        let mut w = vec![0f32; self.features * self.snps];
        self.fill_weight_rows(seed, 0, &mut w);
        w
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
    fn names_round_trip() {
        for s in ["identity", "relu"] {
            assert_eq!(s.parse::<FeatureMap>().unwrap().as_str(), s);
        }
        assert!("sigmoid"
            .parse::<FeatureMap>()
            .unwrap_err()
            .contains("identity, relu"));
        assert_eq!(
            "xavier-uniform".parse::<WeightInit>().unwrap(),
            WeightInit::XavierUniform
        );
    }
}
