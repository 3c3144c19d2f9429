//! `gmmn-train` on a pattern sketch (`gmmn-sketch --features patterns`): the generator is the
//! Markov chain along the SNPs that the sketch's pattern counts determine ([`chain`]). There is
//! nothing to optimise: the chain's transition frequencies are the sketch's counts, so "training"
//! checks the sketch, fixes the chain's settings and writes them with the counts as the model.
//! Like the GMMN trainer it reads the sketch and its manifest only, never genotypes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use artifact::{ArtifactError, ArtifactKind, FileRef, Manifest, OutputSet, Producer};
use chain::info::{ChainInfo, PatternInfo, CHAIN_GENERATOR};
use chain::{PatternSketch, TableShape};

use crate::model::{resolve_model, MODEL_FILE};
use crate::{resolve_sketch, TrainError};

/// The chain's settings (gmmn-train --min-count, --pseudocount).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainTrainOptions {
    /// Contexts matched by fewer sketched haplotypes are not used [default: the sketch's
    /// min-count].
    pub min_count: Option<usize>,
    pub pseudocount: f64,
}

impl Default for ChainTrainOptions {
    fn default() -> Self {
        ChainTrainOptions {
            min_count: None,
            pseudocount: chain::DEFAULT_PSEUDOCOUNT,
        }
    }
}

#[derive(Debug)]
pub struct ChainSummary {
    pub group: String,
    pub patterns: u64,
    pub order: u64,
    pub min_count: u64,
    pub seconds: f64,
    pub model: PathBuf,
}

impl std::fmt::Display for ChainSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "built the Markov chain of {} from {} sketched patterns (contexts up to {} SNPs, each \
             used where at least {} haplotypes match it) in {:.1} s; model {}",
            self.group,
            self.patterns,
            self.order,
            self.min_count,
            self.seconds,
            self.model.display()
        )
    }
}

/// Read `path`'s manifest to tell which kind of artifact it is, without hashing the data file
/// (the stage's own reader hashes it next); where the manifest cannot be read, the full check
/// reports why.
fn peek_manifest(path: &Path, kind: ArtifactKind) -> Result<Manifest, TrainError> {
    match Manifest::read_for(path) {
        Ok(m) => Ok(m),
        Err(_) => Ok(artifact::open_artifact(path, kind)?),
    }
}

/// Whether `input` (a sketch file or gmmn-sketch directory) is a pattern sketch.
pub fn is_pattern_sketch(input: &Path) -> Result<bool, TrainError> {
    let manifest = peek_manifest(&resolve_sketch(input), ArtifactKind::Sketch)?;
    Ok(chain::info::is_pattern_sketch(&manifest))
}

/// Read and verify a pattern sketch and its manifest.
pub fn read_pattern_sketch(
    input: &Path,
) -> Result<(PatternSketch, PatternInfo, Manifest, PathBuf), TrainError> {
    let path = resolve_sketch(input);
    let manifest = artifact::open_artifact(&path, ArtifactKind::Sketch)?;
    let info: PatternInfo = chain::info::from_params(&manifest, &path, "pattern sketch")?;
    let sketch = PatternSketch::read_npy(
        &path,
        &TableShape {
            snps: info.snps as usize,
            haplotypes: info.haplotypes as usize,
            order: info.order as usize,
            min_count: info.min_count as usize,
            patterns: info.patterns as usize,
        },
    )?;
    Ok((sketch, info, manifest, path))
}

/// Build the chain of the pattern sketch at `sketch_input` into `out_dir` (model.safetensors,
/// variants.parquet, their manifests).
pub fn train_chain(
    sketch_input: &Path,
    out_dir: &Path,
    opts: &ChainTrainOptions,
) -> Result<ChainSummary, TrainError> {
    if !(opts.pseudocount.is_finite() && opts.pseudocount >= 0.0) {
        return Err(TrainError::Usage(format!(
            "--pseudocount {}: a smoothing weight is a finite number >= 0",
            opts.pseudocount
        )));
    }
    if opts.min_count == Some(0) {
        return Err(TrainError::Usage("--min-count must be at least 1".into()));
    }
    let started = Instant::now();
    let (sketch, info, sketch_manifest, sketch_path) = read_pattern_sketch(sketch_input)?;
    let variants_path = sketch_manifest.companion(&sketch_path, "variants")?;
    let variants_manifest = artifact::open_artifact(&variants_path, ArtifactKind::Variants)?;
    let min_count = opts.min_count.map_or(info.min_count, |c| c as u64);
    let chain_info = ChainInfo {
        group: info.group.clone(),
        generator: CHAIN_GENERATOR.into(),
        haplotypes: info.haplotypes,
        snps: info.snps,
        order: info.order,
        sketch_min_count: info.min_count,
        min_count,
        pseudocount: opts.pseudocount,
        patterns: info.patterns,
    };
    let bytes = sketch.safetensors_bytes()?;

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new("train", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let mut out = OutputSet::new();
    let variants_copy = out.stage_variants_copy(
        out_dir,
        &producer,
        &info.group,
        (&variants_path, &variants_manifest),
    )?;
    let mpath = out_dir.join(MODEL_FILE);
    let mut mm =
        chain::info::into_params(&chain_info, Manifest::new(ArtifactKind::Model, producer))
            .count("patterns", info.patterns);
    mm.shape = vec![info.patterns, chain::COLUMNS.len() as u64];
    mm.inputs = vec![FileRef::new(
        "sketch",
        &sketch_path,
        sketch_manifest.sha256.clone(),
        out_dir,
    )?];
    mm.companions = vec![variants_copy];
    out.stage_artifact(&mpath, mm, |w| {
        w.write_all(&bytes)
            .map_err(|e| ArtifactError::io(&mpath, e))
    })?;
    out.commit()?;
    Ok(ChainSummary {
        group: info.group,
        patterns: info.patterns,
        order: info.order,
        min_count,
        seconds: started.elapsed().as_secs_f64(),
        model: mpath,
    })
}

/// Whether `input` (a model file or gmmn-train directory) is a chain model.
pub fn is_chain_model(input: &Path) -> Result<bool, TrainError> {
    let manifest = peek_manifest(&resolve_model(input), ArtifactKind::Model)?;
    Ok(chain::info::is_chain_model(&manifest))
}

/// Load and verify a chain model (manifest kind and hash, the pattern table).
pub fn load_chain(
    input: &Path,
) -> Result<(PatternSketch, ChainInfo, Manifest, PathBuf), TrainError> {
    let path = resolve_model(input);
    let manifest = artifact::open_artifact(&path, ArtifactKind::Model)?;
    let info: ChainInfo = chain::info::from_params(&manifest, &path, "chain model")?;
    if info.min_count == 0 || !(info.pseudocount.is_finite() && info.pseudocount >= 0.0) {
        return Err(ArtifactError::BadManifest {
            path: artifact::manifest_path(&path),
            message: format!(
                "min_count {} and pseudocount {}: at least 1, and a finite number >= 0",
                info.min_count, info.pseudocount
            ),
        }
        .into());
    }
    let sketch = PatternSketch::read_safetensors(
        &path,
        &TableShape {
            snps: info.snps as usize,
            haplotypes: info.haplotypes as usize,
            order: info.order as usize,
            min_count: info.sketch_min_count as usize,
            patterns: info.patterns as usize,
        },
    )?;
    Ok((sketch, info, manifest, path))
}
