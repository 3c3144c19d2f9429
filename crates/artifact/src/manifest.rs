//! The manifest sidecar `<file>.meta.yaml`.
//!
//! YAML crate: `serde_yaml` was archived by its author in 2024 and `serde_yml` was withdrawn after
//! soundness problems; `serde_yaml_ng` is the maintained continuation of serde_yaml's code and API
//! (same data model, same error messages with line and column), so manifests written by tools
//! that used serde_yaml stay readable. Manifests are small; the parser's speed does not matter.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{sha256_file, ArtifactError, Result};

/// The manifest schema version this build writes and reads (for every kind).
pub const SCHEMA_VERSION: u32 = 1;

/// What an artifact is. Each kind has its JSON Schema in `schemas/manifest.<kind>.schema.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// One row per haplotype, genotypes as a fixed-size list of UInt8 (0/1).
    Genotypes,
    /// One row per SNP: chrom, pos, id, ref, alt, allele frequency.
    Variants,
    /// R restarts x D mean random features, f32 `.npy`.
    Sketch,
    /// A trained generator, safetensors.
    Model,
    /// A resumable training state (generator, Adam moments, step), safetensors.
    Checkpoint,
    /// Training loss per step, CSV.
    LossLog,
    /// A figure, PNG or SVG.
    Plot,
    /// Phased genotypes as bgzipped VCF.
    Vcf,
    /// One file of a PLINK 1 binary fileset (`.bed`, `.bim` or `.fam`).
    Plink,
    /// Sample -> group table, TSV with a header.
    Panel,
    /// Projected coordinates (PCA, ISOMAP) of real and synthetic haplotypes, Parquet.
    Coordinates,
    /// An evaluation report (JSON, or its Markdown rendering).
    Report,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Genotypes => "genotypes",
            ArtifactKind::Variants => "variants",
            ArtifactKind::Sketch => "sketch",
            ArtifactKind::Model => "model",
            ArtifactKind::Checkpoint => "checkpoint",
            ArtifactKind::LossLog => "loss_log",
            ArtifactKind::Plot => "plot",
            ArtifactKind::Vcf => "vcf",
            ArtifactKind::Plink => "plink",
            ArtifactKind::Panel => "panel",
            ArtifactKind::Coordinates => "coordinates",
            ArtifactKind::Report => "report",
        }
    }
}

impl std::fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which stage (binary) and crate version wrote an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Producer {
    pub stage: String,
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub version: String,
}

impl Producer {
    pub fn new(stage: &str, crate_name: &str, version: &str) -> Self {
        Producer {
            stage: stage.to_string(),
            crate_name: crate_name.to_string(),
            version: version.to_string(),
        }
    }
}

/// A file an artifact depends on (an input) or travels with (a companion), with its sha256.
/// `path` is relative to the directory of the manifest that names it when the two share a root,
/// so that a whole results tree can be moved or archived and still be audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    pub role: String,
    pub path: String,
    pub sha256: String,
}

impl FileRef {
    /// Reference `file` (whose hash is `sha256`) from a manifest that will live in `manifest_dir`.
    pub fn new(role: &str, file: &Path, sha256: String, manifest_dir: &Path) -> Result<Self> {
        let file_abs = absolute(file)?;
        let dir_abs = absolute(manifest_dir)?;
        let rel = relative_to(&file_abs, &dir_abs).unwrap_or(file_abs);
        Ok(FileRef {
            role: role.to_string(),
            path: rel.to_string_lossy().into_owned(),
            sha256,
        })
    }

    /// Hash `file` now and reference it.
    pub fn hashed(role: &str, file: &Path, manifest_dir: &Path) -> Result<Self> {
        let sha = sha256_file(file)?;
        FileRef::new(role, file, sha, manifest_dir)
    }

    /// Where the referenced file is, for a manifest in `manifest_dir`.
    pub fn resolve(&self, manifest_dir: &Path) -> PathBuf {
        let p = Path::new(&self.path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            manifest_dir.join(p)
        }
    }
}

/// The sidecar manifest of one artifact. Field order is the order written to YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub kind: ArtifactKind,
    pub schema_version: u32,
    pub producer: Producer,
    /// Every parameter of the stage, defaults included.
    pub params: BTreeMap<String, serde_json::Value>,
    pub inputs: Vec<FileRef>,
    /// sha256 of the data file this manifest describes.
    pub sha256: String,
    /// Size of the data file in bytes.
    pub bytes: u64,
    /// Shape of the data, e.g. `[haplotypes, snps]`.
    pub shape: Vec<u64>,
    /// Counts worth auditing (haplotypes, samples, skipped records by reason, ...).
    pub counts: BTreeMap<String, u64>,
    /// The seed of everything random in the stage; null where nothing is random.
    pub seed: Option<u64>,
    /// RFC 3339 UTC time of writing (`SOURCE_DATE_EPOCH` is honoured for reproducible builds).
    pub created: String,
    /// Files written together with this one and needed to use it (a genotype file's variants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<FileRef>,
}

impl Manifest {
    /// A manifest for a data file whose hash and size are filled in when it is staged.
    pub fn new(kind: ArtifactKind, producer: Producer) -> Self {
        Manifest {
            kind,
            schema_version: SCHEMA_VERSION,
            producer,
            params: BTreeMap::new(),
            inputs: Vec::new(),
            sha256: String::new(),
            bytes: 0,
            shape: Vec::new(),
            counts: BTreeMap::new(),
            seed: None,
            created: now_rfc3339(),
            companions: Vec::new(),
        }
    }

    pub fn param(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }

    pub fn count(mut self, key: &str, value: u64) -> Self {
        self.counts.insert(key.to_string(), value);
        self
    }

    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml_ng::to_string(self).map_err(|e| ArtifactError::Invalid {
            message: format!("cannot serialise manifest: {e}"),
        })
    }

    /// Parse a manifest; `path` names the manifest file in errors.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Self> {
        serde_yaml_ng::from_str(text).map_err(|e| ArtifactError::BadManifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Read the manifest of data file `data` (not checked against the data).
    pub fn read_for(data: &Path) -> Result<Self> {
        let mpath = manifest_path(data);
        let text = match std::fs::read_to_string(&mpath) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ArtifactError::MissingManifest {
                    path: data.to_path_buf(),
                    manifest: mpath,
                })
            }
            Err(e) => return Err(ArtifactError::io(&mpath, e)),
        };
        Manifest::from_yaml(&text, &mpath)
    }

    /// The companion with `role`, resolved next to `data`.
    pub fn companion(&self, data: &Path, role: &str) -> Result<PathBuf> {
        let dir = parent_dir(data);
        self.companions
            .iter()
            .find(|c| c.role == role)
            .map(|c| c.resolve(&dir))
            .ok_or_else(|| ArtifactError::BadManifest {
                path: manifest_path(data),
                message: format!("no companion `{role}` listed"),
            })
    }
}

/// `<file>.meta.yaml` beside `file`.
pub fn manifest_path(data: &Path) -> PathBuf {
    let mut name = data.file_name().unwrap_or_default().to_os_string();
    name.push(".meta.yaml");
    data.with_file_name(name)
}

/// Open an artifact for reading: its manifest must exist, be of `kind` and of a schema version
/// this build reads, and the data file's sha256 must match the one recorded.
pub fn open_artifact(data: &Path, kind: ArtifactKind) -> Result<Manifest> {
    if !data.exists() {
        return Err(ArtifactError::io(
            data,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let manifest = Manifest::read_for(data)?;
    if manifest.kind != kind {
        return Err(ArtifactError::WrongKind {
            path: data.to_path_buf(),
            expected: kind.to_string(),
            found: manifest.kind.to_string(),
        });
    }
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(ArtifactError::UnsupportedSchema {
            path: manifest_path(data),
            found: manifest.schema_version,
            supported: SCHEMA_VERSION,
        });
    }
    let actual = sha256_file(data)?;
    if actual != manifest.sha256 {
        return Err(ArtifactError::HashMismatch {
            path: data.to_path_buf(),
            recorded: manifest.sha256.clone(),
            actual,
        });
    }
    Ok(manifest)
}

pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    // canonicalize resolves symlinks, which is what we want for a stable lineage; fall back to a
    // lexical absolute path for files that do not exist yet.
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .map_err(|e| ArtifactError::io(path, e))
}

/// `target` relative to `base` (both absolute). None when they share nothing below the root
/// (then an absolute path says more than `../../../..`).
pub fn relative_to(target: &Path, base: &Path) -> Option<PathBuf> {
    let t: Vec<Component> = target.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common < 2 {
        return None;
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    Some(rel)
}

/// The current time as RFC 3339 UTC seconds, or `SOURCE_DATE_EPOCH` when set (reproducible
/// builds): the `created` of manifests and ledgers.
pub fn now_rfc3339() -> String {
    let t = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        .unwrap_or_else(SystemTime::now);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b/c.vcf"), Path::new("/a/d/e")).unwrap(),
            PathBuf::from("../../b/c.vcf")
        );
        assert_eq!(
            relative_to(Path::new("/a/x.parquet"), Path::new("/a")).unwrap(),
            PathBuf::from("x.parquet")
        );
        assert_eq!(relative_to(Path::new("/tmp/x"), Path::new("/work/y")), None);
    }

    #[test]
    fn yaml_round_trip_and_unknown_field_refused() {
        let m = Manifest::new(
            ArtifactKind::Genotypes,
            Producer::new("ingest", "gmmn-ingest", "0.1.0"),
        )
        .param("min_maf", 0.0)
        .count("snps", 805);
        let text = m.to_yaml().unwrap();
        assert!(text.starts_with("kind: genotypes\n"), "{text}");
        let back = Manifest::from_yaml(&text, Path::new("m.yaml")).unwrap();
        assert_eq!(back, m);
        let err = Manifest::from_yaml(&format!("{text}bogus: 1\n"), Path::new("m.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.yaml") && err.contains("bogus"), "{err}");
    }
}
