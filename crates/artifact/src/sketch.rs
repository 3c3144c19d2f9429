//! Sketches: R restarts x D mean feature vectors, the only thing the trainer learns from.
//!
//! Stored as a little-endian f32 `.npy` (R x D) with a manifest whose params say how to rebuild
//! each restart's W ([`SketchInfo`]). A row is the feature map's block (D_phi features) followed
//! by the optional extra blocks, in this order: the identity block (M allele frequencies) and the
//! count block (K count features); the extra blocks do not depend on W and are the same in every
//! row. Each block carries a loss weight ([`SketchInfo::blocks`]).

use std::io::Write;
use std::path::Path;

use ndarray::Array2;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use serde::{Deserialize, Serialize};

use crate::features::{CountBlock, FeatureMap, FeatureSpec, WeightInit, WEIGHT_GENERATOR};
use crate::{ArtifactError, Manifest, Result};

/// R x D mean features, row r for restart r.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    pub restarts: usize,
    pub features: usize,
    pub values: Vec<f32>,
}

impl Sketch {
    pub fn row(&self, restart: usize) -> &[f32] {
        &self.values[restart * self.features..(restart + 1) * self.features]
    }

    pub fn write_npy<W: Write>(&self, w: W) -> Result<()> {
        let array = Array2::from_shape_vec((self.restarts, self.features), self.values.clone())
            .map_err(|e| ArtifactError::Invalid {
                message: format!("sketch shape: {e}"),
            })?;
        array.write_npy(w).map_err(|e| ArtifactError::Invalid {
            message: format!("writing sketch .npy: {e}"),
        })
    }

    pub fn read_npy(path: &Path) -> Result<Sketch> {
        let mut file = std::fs::File::open(path).map_err(|e| ArtifactError::io(path, e))?;
        check_npy_header(path, &mut file)?;
        let array = Array2::<f32>::read_npy(std::io::BufReader::new(file))
            .map_err(|e| ArtifactError::layout(path, format!("not a 2-d f32 .npy: {e}")))?;
        let (restarts, features) = array.dim();
        let values = array.as_standard_layout().iter().copied().collect();
        Ok(Sketch {
            restarts,
            features,
            values,
        })
    }
}

/// The header of a sketch `.npy` must be what a 2-d array's is: a flat dict (`descr`,
/// `fortran_order`, `shape`) of at most 4 KiB. Checked before ndarray-npy parses it because its
/// Python-literal parser backtracks exponentially on nested brackets: fuzzing found a 118-byte
/// header of `{` pairs that it worked on for minutes (fuzz/regressions/sketch/).
fn check_npy_header(path: &Path, file: &mut std::fs::File) -> Result<()> {
    use std::io::{Read, Seek};
    const MAX_HEADER: usize = 4096;
    let mut start = Vec::with_capacity(12 + MAX_HEADER);
    (&mut *file)
        .take(12 + MAX_HEADER as u64)
        .read_to_end(&mut start)
        .and_then(|_| file.rewind())
        .map_err(|e| ArtifactError::io(path, e))?;
    let bad = |why: &str| {
        Err(ArtifactError::layout(
            path,
            format!("not a 2-d f32 .npy: {why}"),
        ))
    };
    if start.len() < 10 || &start[..6] != b"\x93NUMPY" {
        return bad("no .npy magic string");
    }
    let (len, at) = match start[6] {
        1 => (u16::from_le_bytes([start[8], start[9]]) as usize, 10),
        2 | 3 if start.len() >= 12 => (
            u32::from_le_bytes([start[8], start[9], start[10], start[11]]) as usize,
            12,
        ),
        v => return bad(&format!("format version {v} is not one of 1, 2, 3")),
    };
    if len > MAX_HEADER {
        return bad(&format!(
            "a header of {len} bytes (a 2-d array's takes about 128)"
        ));
    }
    let header = &start[at..(at + len).min(start.len())];
    let count = |c: u8| header.iter().filter(|&&b| b == c).count();
    if count(b'{') > 1 || count(b'}') > 1 || count(b'(') > 1 || count(b')') > 1 || count(b'[') > 0 {
        return bad("its header is not a flat dict of descr, fortran_order and shape");
    }
    Ok(())
}

/// What a sketch manifest records so that the trainer can rebuild phi without the genotypes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SketchInfo {
    pub group: String,
    pub haplotypes: u64,
    pub snps: u64,
    pub features: FeatureMap,
    pub init: WeightInit,
    pub multiplier: u64,
    pub feature_count: u64,
    pub restarts: u64,
    pub seed: u64,
    /// W of restart r is regenerated from `restart_seeds[r]` (derived from `seed`).
    pub restart_seeds: Vec<u64>,
    pub weight_generator: String,
    /// Window features: --window, --stride, --per-window (null for other maps). The defaults
    /// below let sketches written before these options be read as what they are.
    #[serde(default)]
    pub window: Option<u64>,
    #[serde(default)]
    pub stride: Option<u64>,
    #[serde(default)]
    pub per_window: Option<u64>,
    /// --identity-block: the M allele frequencies appended to every row, with their weight.
    #[serde(default)]
    pub identity_block: bool,
    #[serde(default = "one")]
    pub identity_weight: f64,
    /// --count-features K (0: none) and their weight, thresholds and scale ([`CountBlock`]).
    #[serde(default)]
    pub count_features: u64,
    #[serde(default = "one")]
    pub count_weight: f64,
    #[serde(default)]
    pub count_thresholds: Vec<f64>,
    #[serde(default = "one")]
    pub count_scale: f64,
    /// --dp-epsilon: the differential privacy of the release (null: exact means, no guarantee).
    #[serde(default)]
    pub privacy: Option<DpRelease>,
}

/// The neighbouring relation a DP guarantee is stated for: one individual added or removed
/// (sensitivity = clip; the number of haplotypes is then private and released noisy), or one
/// individual replaced by another (sensitivity = 2 x clip; the number is public).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DpRelation {
    AddRemove,
    ReplaceOne,
}

impl std::str::FromStr for DpRelation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "add-remove" => Ok(DpRelation::AddRemove),
            "replace-one" => Ok(DpRelation::ReplaceOne),
            other => Err(format!(
                "unknown relation `{other}`: add-remove or replace-one"
            )),
        }
    }
}

impl std::fmt::Display for DpRelation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DpRelation::AddRemove => "add-remove",
            DpRelation::ReplaceOne => "replace-one",
        })
    }
}

/// What a differentially private sketch guarantees and how it was made: the `privacy` param.
/// A record is one individual; the whole release (every restart and block, the allele
/// frequencies of the variants table and, under add-remove, the haplotype count) is one
/// Gaussian mechanism, accounted exactly in Gaussian DP (mu), equivalently the analytic Gaussian
/// mechanism (Balle and Wang 2018).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpRelease {
    pub epsilon: f64,
    pub delta: f64,
    pub relation: DpRelation,
    /// L2 bound on one individual's summed feature vector (every restart and block together,
    /// and the allele counts of the frequencies block).
    pub clip: f64,
    /// Where the clip came from (never from the private data).
    pub clip_source: String,
    /// L2 sensitivity of the clipped sum: clip (add-remove) or 2 x clip (replace-one).
    pub sensitivity: f64,
    /// Standard deviation of the Gaussian noise added to each coordinate of the clipped sum.
    pub noise_sd: f64,
    /// ... to the haplotype count (add-remove; 0 under replace-one, where it is public).
    pub count_noise_sd: f64,
    /// The Gaussian-DP parameter of the whole release: sqrt(sum of (sensitivity / sd)^2).
    pub gdp_mu: f64,
    pub accountant: String,
    /// Where the noise came from: the operating system's entropy unless --dp-noise-seed was
    /// given (the seed itself is never recorded: who knows it can subtract the noise).
    pub noise_source: String,
    /// How the number of records is treated.
    pub count: String,
    /// What else the sketch directory releases, and whether the guarantee covers it.
    pub snp_list: String,
    /// Sites combined by `gmmn merge-sketches` (1 for a sketch of one site); for a merge the
    /// figures above are those of its weakest site (largest epsilon and delta): sites hold
    /// disjoint people, so each person has the guarantee of the site holding them.
    #[serde(default = "one_site")]
    pub sites: u64,
}

fn one_site() -> u64 {
    1
}

fn one() -> f64 {
    1.0
}

/// Which part of a sketch row a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockKind {
    /// The feature map's own features (relu, window or identity); weight 1.
    Features,
    /// --identity-block: allele frequencies.
    Identity,
    /// --count-features: smooth features of the per-haplotype allele count.
    Count,
}

/// A contiguous part of a sketch row and its weight in the loss
/// (loss = sum over blocks of weight * mean squared error over the block).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    pub offset: u64,
    pub len: u64,
    pub weight: f64,
}

impl SketchInfo {
    /// The feature map (first block) of every restart.
    pub fn spec(&self) -> Result<FeatureSpec> {
        match self.features {
            FeatureMap::Window => {
                let get = |v: Option<u64>, name: &str| {
                    v.ok_or_else(|| ArtifactError::Invalid {
                        message: format!("window features without `{name}` in the sketch params"),
                    })
                };
                FeatureSpec::windowed(
                    self.init,
                    self.snps as usize,
                    get(self.window, "window")? as usize,
                    get(self.stride, "stride")? as usize,
                    get(self.per_window, "per_window")? as usize,
                )
            }
            _ => FeatureSpec::new(
                self.features,
                self.init,
                self.snps as usize,
                self.multiplier as usize,
            ),
        }
    }

    /// The count block, if the sketch has one.
    pub fn count_block(&self) -> Option<CountBlock> {
        (self.count_features > 0).then(|| CountBlock {
            thresholds: self.count_thresholds.clone(),
            scale: self.count_scale,
        })
    }

    /// The blocks of a row, in order, covering it exactly.
    pub fn blocks(&self) -> Result<Vec<Block>> {
        let main = self.spec()?.features as u64;
        let mut blocks = vec![Block {
            kind: BlockKind::Features,
            offset: 0,
            len: main,
            weight: 1.0,
        }];
        let mut offset = main;
        if self.identity_block {
            blocks.push(Block {
                kind: BlockKind::Identity,
                offset,
                len: self.snps,
                weight: self.identity_weight,
            });
            offset += self.snps;
        }
        if self.count_features > 0 {
            blocks.push(Block {
                kind: BlockKind::Count,
                offset,
                len: self.count_features,
                weight: self.count_weight,
            });
        }
        Ok(blocks)
    }

    /// The group's allele frequencies, where the sketch holds them: the whole row for identity
    /// features, else the identity block.
    pub fn allele_frequencies<'a>(&self, sketch: &'a Sketch) -> Result<Option<&'a [f32]>> {
        let row = sketch.row(0);
        if self.features == FeatureMap::Identity {
            return Ok(Some(&row[..self.snps as usize]));
        }
        Ok(self
            .blocks()?
            .into_iter()
            .find(|b| b.kind == BlockKind::Identity)
            .map(|b| &row[b.offset as usize..(b.offset + b.len) as usize]))
    }

    /// Add every field as a manifest param.
    pub fn into_params(&self, mut manifest: Manifest) -> Manifest {
        let value = serde_json::to_value(self).expect("SketchInfo serialises");
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                manifest.params.insert(k, v);
            }
        }
        manifest
    }

    /// Read back from a sketch manifest, checking that it describes `sketch`.
    pub fn from_manifest(manifest: &Manifest, path: &Path, sketch: &Sketch) -> Result<Self> {
        let map: serde_json::Map<String, serde_json::Value> = manifest
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let info: SketchInfo =
            serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
                ArtifactError::BadManifest {
                    path: path.to_path_buf(),
                    message: format!("sketch params: {e}"),
                }
            })?;
        let bad = |message: String| ArtifactError::BadManifest {
            path: path.to_path_buf(),
            message,
        };
        if info.weight_generator != WEIGHT_GENERATOR {
            return Err(bad(format!(
                "W was drawn by `{}`; this build regenerates W with `{WEIGHT_GENERATOR}`",
                info.weight_generator
            )));
        }
        let bad_invalid = |e: ArtifactError| match e {
            ArtifactError::Invalid { message } => bad(message),
            other => other,
        };
        let blocks = info.blocks().map_err(bad_invalid)?;
        let total: u64 = blocks.iter().map(|b| b.len).sum();
        for b in &blocks {
            if !(b.weight.is_finite() && b.weight >= 0.0) {
                return Err(bad(format!(
                    "block {:?} has weight {}; weights are finite and non-negative",
                    b.kind, b.weight
                )));
            }
        }
        if info.count_features > 0
            && (info.count_thresholds.len() as u64 != info.count_features
                || !(info.count_scale.is_finite() && info.count_scale > 0.0))
        {
            return Err(bad(format!(
                "count_features {} with {} thresholds and scale {}",
                info.count_features,
                info.count_thresholds.len(),
                info.count_scale
            )));
        }
        if total != info.feature_count
            || sketch.features as u64 != total
            || sketch.restarts as u64 != info.restarts
            || info.restart_seeds.len() as u64 != info.restarts
        {
            return Err(bad(format!(
                "shape {} x {} does not match the manifest ({} restarts x {} features, {} seeds)",
                sketch.restarts,
                sketch.features,
                info.restarts,
                info.feature_count,
                info.restart_seeds.len()
            )));
        }
        // The data, not the manifest, is wrong here: say so.
        let non_finite = sketch.values.iter().filter(|v| !v.is_finite()).count();
        if non_finite > 0 {
            return Err(ArtifactError::Layout {
                path: path.to_path_buf(),
                message: format!(
                    "the sketch holds {non_finite} non-finite value(s) (NaN or inf): the file is damaged, \
                     or the haplotypes it was computed from were"
                ),
            });
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArtifactKind, Producer};

    fn info() -> SketchInfo {
        SketchInfo {
            group: "G".into(),
            haplotypes: 9,
            snps: 10,
            features: FeatureMap::Window,
            init: WeightInit::Gaussian,
            multiplier: 1,
            feature_count: 6 + 10 + 3,
            restarts: 2,
            seed: 4,
            restart_seeds: vec![1, 2],
            weight_generator: WEIGHT_GENERATOR.into(),
            window: Some(4),
            stride: Some(3),
            per_window: Some(2),
            identity_block: true,
            identity_weight: 0.5,
            count_features: 3,
            count_weight: 2.0,
            count_thresholds: vec![1.0, 2.0, 3.0],
            count_scale: 1.5,
            privacy: None,
        }
    }

    fn sketch(features: usize) -> Sketch {
        Sketch {
            restarts: 2,
            features,
            values: (0..2 * features).map(|v| v as f32 / 100.0).collect(),
        }
    }

    #[test]
    fn blocks_tile_the_row_and_round_trip_through_the_manifest() {
        let info = info();
        let blocks = info.blocks().unwrap();
        let layout: Vec<_> = blocks
            .iter()
            .map(|b| (b.kind, b.offset, b.len, b.weight))
            .collect();
        assert_eq!(
            layout,
            vec![
                (BlockKind::Features, 0, 6, 1.0),
                (BlockKind::Identity, 6, 10, 0.5),
                (BlockKind::Count, 16, 3, 2.0)
            ]
        );
        let m = info.into_params(Manifest::new(
            ArtifactKind::Sketch,
            Producer::new("sketch", "t", "0.1.0"),
        ));
        let sk = sketch(19);
        let back = SketchInfo::from_manifest(&m, Path::new("s.npy"), &sk).unwrap();
        assert_eq!(back, info);
        assert_eq!(
            back.allele_frequencies(&sk).unwrap().unwrap(),
            &sk.row(0)[6..16]
        );
        assert_eq!(back.count_block().unwrap().thresholds, vec![1.0, 2.0, 3.0]);

        // A row that does not fit the blocks, or a count block without its thresholds, is refused.
        assert!(SketchInfo::from_manifest(&m, Path::new("s.npy"), &sketch(16)).is_err());
        let mut short = info.clone();
        short.count_thresholds.pop();
        let m = short.into_params(Manifest::new(
            ArtifactKind::Sketch,
            Producer::new("sketch", "t", "0.1.0"),
        ));
        let e = SketchInfo::from_manifest(&m, Path::new("s.npy"), &sk).unwrap_err();
        assert!(e.to_string().contains("thresholds"), "{e}");
    }

    #[test]
    fn sketches_from_before_blocks_read_as_plain() {
        let mut m = Manifest::new(ArtifactKind::Sketch, Producer::new("sketch", "t", "0.1.0"));
        let old = serde_json::json!({
            "group": "G", "haplotypes": 9, "snps": 3, "features": "relu", "init": "gaussian",
            "multiplier": 2, "feature_count": 6, "restarts": 1, "seed": 0,
            "restart_seeds": [5], "weight_generator": WEIGHT_GENERATOR,
        });
        for (k, v) in old.as_object().unwrap() {
            m.params.insert(k.clone(), v.clone());
        }
        let sk = Sketch {
            restarts: 1,
            features: 6,
            values: vec![0.0; 6],
        };
        let info = SketchInfo::from_manifest(&m, Path::new("s.npy"), &sk).unwrap();
        assert_eq!(info.blocks().unwrap().len(), 1);
        assert!(!info.identity_block && info.window.is_none());
        assert_eq!(info.allele_frequencies(&sk).unwrap(), None);
    }
}
