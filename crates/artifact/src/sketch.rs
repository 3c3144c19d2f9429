//! Sketches: R restarts x D mean feature vectors, the only thing the trainer learns from.
//!
//! Stored as a little-endian f32 `.npy` (R x D) with a manifest whose params say how to rebuild
//! each restart's W ([`SketchInfo`]).

use std::io::Write;
use std::path::Path;

use ndarray::Array2;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use serde::{Deserialize, Serialize};

use crate::features::{FeatureMap, FeatureSpec, WeightInit, WEIGHT_GENERATOR};
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
        let file = std::fs::File::open(path).map_err(|e| ArtifactError::io(path, e))?;
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
}

impl SketchInfo {
    pub fn spec(&self) -> Result<FeatureSpec> {
        FeatureSpec::new(
            self.features,
            self.init,
            self.snps as usize,
            self.multiplier as usize,
        )
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
        let spec = info.spec()?;
        if spec.features as u64 != info.feature_count
            || sketch.features != spec.features
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
        if sketch.values.iter().any(|v| !v.is_finite()) {
            return Err(bad("the sketch holds a non-finite value".into()));
        }
        Ok(info)
    }
}
