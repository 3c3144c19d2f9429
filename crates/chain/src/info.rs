//! What the manifests of a pattern sketch and of a chain model record, read back by the next
//! stage (gmmn-train reads a pattern sketch's, gmmn-sample a chain model's).

use std::path::Path;

use artifact::{ArtifactError, Manifest};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// `features` of a pattern sketch's manifest (the other sketches say identity, relu or window).
pub const PATTERN_FEATURES: &str = "patterns";
/// `generator` of a chain model's manifest (a GMMN's manifest has no `generator`).
pub const CHAIN_GENERATOR: &str = "markov";

/// The params of a pattern sketch (`gmmn-sketch --features patterns`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternInfo {
    pub group: String,
    pub haplotypes: u64,
    pub snps: u64,
    /// Always [`PATTERN_FEATURES`].
    pub features: String,
    /// --order: the longest context; patterns are at most order + 1 SNPs.
    pub order: u64,
    /// The min-count applied: max(--min-count, ceil(--min-fraction x haplotypes)).
    pub min_count: u64,
    /// --min-count and --min-fraction as given.
    pub min_count_given: u64,
    pub min_fraction: f64,
    /// Rows of the table.
    pub patterns: u64,
}

/// The params of a chain model (`gmmn-train` on a pattern sketch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainInfo {
    pub group: String,
    /// Always [`CHAIN_GENERATOR`].
    pub generator: String,
    pub haplotypes: u64,
    pub snps: u64,
    pub order: u64,
    /// The sketch's min-count (the contexts it holds are shared by at least that many).
    pub sketch_min_count: u64,
    /// --min-count of the chain: contexts matched by fewer sketched haplotypes are not used.
    pub min_count: u64,
    /// --pseudocount: the weight of the shorter context's estimate.
    pub pseudocount: f64,
    pub patterns: u64,
}

/// Every field as a manifest param.
pub fn into_params<T: Serialize>(info: &T, mut manifest: Manifest) -> Manifest {
    if let serde_json::Value::Object(map) = serde_json::to_value(info).expect("serialises") {
        for (k, v) in map {
            manifest.params.insert(k, v);
        }
    }
    manifest
}

/// Read back from a manifest's params (`path`: the data file, named in errors).
pub fn from_params<T: DeserializeOwned>(
    manifest: &Manifest,
    path: &Path,
    what: &str,
) -> Result<T, ArtifactError> {
    let map: serde_json::Map<String, serde_json::Value> = manifest
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| ArtifactError::BadManifest {
        path: artifact::manifest_path(path),
        message: format!("{what} params: {e}"),
    })
}

/// Whether a sketch manifest describes a pattern sketch.
pub fn is_pattern_sketch(manifest: &Manifest) -> bool {
    manifest.params.get("features").and_then(|v| v.as_str()) == Some(PATTERN_FEATURES)
}

/// Whether a model manifest describes a chain.
pub fn is_chain_model(manifest: &Manifest) -> bool {
    manifest.params.get("generator").and_then(|v| v.as_str()) == Some(CHAIN_GENERATOR)
}
