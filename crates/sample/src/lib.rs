//! Synthetic haplotypes from a trained generator.
//!
//! Writes `<GROUP>.parquet` (genotype layout of gmmn-ingest, group column set, synthetic sample
//! ids), `<GROUP>.variants.parquet` (the training variants with the synthetic allele
//! frequencies), `<GROUP>.vcf.gz` (bgzipped phased VCF: haplotypes 2i and 2i+1 form individual
//! i; an odd last haplotype is a haploid individual) and `<GROUP>.panel.tsv` (`sample group`),
//! through the writer every simulator stage shares ([`haplotypes::synthetic`]).

use std::path::{Path, PathBuf};

use artifact::{
    read_variants_parquet, ArtifactError, ArtifactKind, FileRef, GenotypeMatrix, Manifest, Producer,
};
use tch::{Device, Kind, Tensor};
use train::{DeviceChoice, TrainError};

/// Haplotypes generated per forward pass.
const SAMPLE_BATCH: i64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Model(#[from] TrainError),
    #[error("{0}")]
    Usage(String),
}

#[derive(Debug, Clone)]
pub struct SampleOptions {
    pub n: usize,
    pub seed: u64,
    pub device: DeviceChoice,
    /// Prefix of synthetic sample ids [default: SYN_<GROUP>_].
    pub prefix: Option<String>,
}

#[derive(Debug)]
pub struct SampleSummary {
    pub group: String,
    pub haplotypes: usize,
    pub individuals: usize,
    pub snps: usize,
    pub files: Vec<PathBuf>,
}

impl std::fmt::Display for SampleSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "sampled {} synthetic haplotypes ({} individuals) x {} SNPs for {}:",
            self.haplotypes, self.individuals, self.snps, self.group
        )?;
        for p in &self.files {
            writeln!(f, "  {}", p.display())?;
        }
        Ok(())
    }
}

/// Generate `n` haplotypes (rows of 0/1) from `gen` with noise seeded by `seed`.
pub fn generate(gen: &train::generator::Generator, n: usize, seed: u64, device: Device) -> Vec<u8> {
    let m = gen.shape.snps as usize;
    let mut values = Vec::with_capacity(n * m);
    tch::manual_seed(seed as i64 & i64::MAX);
    let mut left = n as i64;
    while left > 0 {
        let b = left.min(SAMPLE_BATCH);
        let z = Tensor::randn([b, gen.shape.latent], (Kind::Float, device));
        // Eval-mode batch norm: rows are independent of their batch, so the batch size is free.
        let x = gen.sample(&z).to_device(Device::Cpu).flatten(0, -1);
        values.extend(Vec::<u8>::try_from(&x).expect("u8 tensor"));
        left -= b;
    }
    values
}

/// Sample `opts.n` haplotypes from the model at `model_input` into `out_dir`.
pub fn sample(
    model_input: &Path,
    out_dir: &Path,
    opts: &SampleOptions,
) -> Result<SampleSummary, SampleError> {
    if opts.n == 0 {
        return Err(SampleError::Usage("--n must be at least 1".into()));
    }
    // What the manifests say about the generator: (group, SNPs, params, source line).
    let is_chain = train::chain_model::is_chain_model(model_input)?;
    let (values, manifest, model_path, group, snps, generator_params, source) = if is_chain {
        let (patterns, info, manifest, path) = train::chain_model::load_chain(model_input)?;
        let chain_opts = chain::ChainOptions {
            min_count: info.min_count as usize,
            pseudocount: info.pseudocount,
        };
        let values = chain::sample(&patterns, opts.n, &chain_opts, opts.seed);
        let source = format!(
            "gmmn-sample {} (Markov chain of a pattern sketch, group {}, contexts up to {} SNPs \
             shared by at least {} haplotypes)",
            env!("CARGO_PKG_VERSION"),
            info.group,
            info.order,
            info.sketch_min_count
        );
        let params = vec![("generator", serde_json::Value::from(info.generator.clone()))];
        (
            values, manifest, path, info.group, info.snps, params, source,
        )
    } else {
        let device = opts.device.resolve()?;
        let (gen, info, manifest, path) = train::load_model(model_input, device)?;
        let values = generate(&gen, opts.n, opts.seed, device);
        let source = format!(
            "gmmn-sample {} (GMMN, group {}, {} output, {} features)",
            env!("CARGO_PKG_VERSION"),
            info.group,
            info.output.as_str(),
            info.features.as_str()
        );
        let params = vec![
            ("device", format!("{device:?}").to_lowercase().into()),
            ("model_output", info.output.as_str().into()),
        ];
        (
            values,
            manifest,
            path,
            info.group,
            info.snps as u64,
            params,
            source,
        )
    };
    let variants_path = manifest.companion(&model_path, "variants")?;
    let vm = artifact::open_artifact(&variants_path, ArtifactKind::Variants)?;
    let training_variants = read_variants_parquet(&variants_path)?;
    if training_variants.len() as u64 != snps {
        return Err(ArtifactError::Layout {
            path: variants_path.clone(),
            message: format!(
                "{} variants but the model has {snps} SNPs",
                training_variants.len(),
            ),
        }
        .into());
    }
    let prefix = opts
        .prefix
        .clone()
        .unwrap_or_else(|| format!("SYN_{group}_"));
    let n = opts.n;
    let (individuals, labels) = haplotypes::synthetic::synthetic_labels(&prefix, &group, n);
    let matrix = GenotypeMatrix::new(labels, snps as usize, values)?;

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new("sample", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    // The kind, shape, companions and the counts every simulator reports are set per file by
    // the shared writer.
    let mut base = Manifest::new(ArtifactKind::Genotypes, producer)
        .param("group", group.clone())
        .param("n", n as u64)
        .param("sample_prefix", prefix.clone());
    for (k, v) in generator_params {
        base = base.param(k, v);
    }
    base.seed = Some(opts.seed);
    base.inputs = vec![
        FileRef::new("model", &model_path, manifest.sha256.clone(), out_dir)?,
        FileRef::new("variants", &variants_path, vm.sha256.clone(), out_dir)?,
    ];
    let files = haplotypes::synthetic::write_synthetic(
        out_dir,
        &group,
        &matrix,
        training_variants.variants,
        &individuals,
        &base,
        &source,
    )?;
    Ok(SampleSummary {
        group,
        haplotypes: n,
        individuals: individuals.len(),
        snps: snps as usize,
        files: files.to_vec(),
    })
}
