//! Synthetic haplotypes from a trained generator.
//!
//! Writes `<GROUP>.parquet` (genotype layout of gmmn-ingest, group column set, synthetic sample
//! ids), `<GROUP>.variants.parquet` (the training variants with the synthetic allele
//! frequencies), `<GROUP>.vcf.gz` + `.tbi` (bgzipped phased VCF: haplotypes 2i and 2i+1 form
//! individual i; an odd last haplotype is a haploid individual), `<GROUP>.bed/.bim/.fam` (PLINK
//! 1, A1 = ALT) and `<GROUP>.panel.tsv` (`sample group`), through the writer every simulator
//! stage shares ([`haplotypes::synthetic`]).
//!
//! Haplotypes are drawn in blocks and packed into SNP-major bit columns as they come, so a
//! million individuals at 5,000 SNPs hold 1.25 GB of bits, never the 10 GB byte matrix.

use std::path::{Path, PathBuf};

use artifact::{read_variants_parquet, ArtifactError, ArtifactKind, FileRef, Manifest, Producer};
use haplotypes::snp_major::SnpMajorBits;
use haplotypes::synthetic::Formats;
use tch::{Device, Kind, Tensor};
use train::{DeviceChoice, TrainError};

/// Haplotypes generated per forward pass.
const SAMPLE_BATCH: i64 = 4096;

/// Haplotypes drawn before they are packed into bits: a multiple of 64 (blocks own whole words
/// of the bit columns) and of [`SAMPLE_BATCH`]; 16,384 x 5,000 SNPs is 82 MB of bytes at once.
const BLOCK: usize = 16_384;

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
    /// Which genotype files to write (variants and panel always are).
    pub formats: Formats,
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

/// Generate `n` haplotypes (rows of 0/1) from `gen` with noise seeded by `seed`, in blocks of
/// `block` haplotypes (a multiple of 4,096), each passed to `f` with the index of its first
/// haplotype: the same rows, whatever the block size.
pub fn generate_blocks(
    gen: &train::generator::Generator,
    n: usize,
    seed: u64,
    device: Device,
    block: usize,
    mut f: impl FnMut(usize, Vec<u8>),
) {
    assert!(block.is_multiple_of(SAMPLE_BATCH as usize));
    tch::manual_seed(seed as i64 & i64::MAX);
    let mut first = 0;
    while first < n {
        let rows = block.min(n - first);
        let mut values = Vec::with_capacity(rows * gen.shape.snps as usize);
        let mut left = rows as i64;
        while left > 0 {
            let b = left.min(SAMPLE_BATCH);
            let z = Tensor::randn([b, gen.shape.latent], (Kind::Float, device));
            // Eval-mode batch norm: rows are independent of their batch, so the batch size is
            // free.
            let x = gen.sample(&z).to_device(Device::Cpu).flatten(0, -1);
            values.extend(Vec::<u8>::try_from(&x).expect("u8 tensor"));
            left -= b;
        }
        f(first, values);
        first += rows;
    }
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {msg} {bar:30} {human_pos}/{human_len} ({eta})",
        )
        .expect("valid template"),
    );
    bar.set_message(what.to_string());
    bar
}

/// Sample `opts.n` haplotypes from the model at `model_input` into `out_dir`.
pub fn sample(
    model_input: &Path,
    out_dir: &Path,
    opts: &SampleOptions,
) -> Result<SampleSummary, SampleError> {
    if opts.n == 0 {
        return Err(SampleError::Usage(
            "--individuals (or --n) must be at least 1".into(),
        ));
    }
    let n = opts.n;
    // What the manifests say about the generator: (group, SNPs, params, source line); the
    // haplotypes are packed into `bits` block by block.
    let is_chain = train::chain_model::is_chain_model(model_input)?;
    let started = std::time::Instant::now();
    let drawing = |snps: u64| {
        let bar = progress_bar(n as u64, "drawing haplotypes");
        (SnpMajorBits::zeros(n, snps as usize), bar)
    };
    let (bits, manifest, model_path, group, snps, generator_params, source) = if is_chain {
        let (patterns, info, manifest, path) = train::chain_model::load_chain(model_input)?;
        let chain_opts = chain::ChainOptions {
            min_count: info.min_count as usize,
            pseudocount: info.pseudocount,
        };
        let (mut bits, bar) = drawing(info.snps);
        let sampler = chain::ChainSampler::new(&patterns, &chain_opts);
        for first in (0..n).step_by(BLOCK) {
            let rows = BLOCK.min(n - first);
            let block = sampler.sample_range(first, rows, opts.seed);
            bits.set_rows(first, &block);
            bar.inc(rows as u64);
        }
        bar.finish_and_clear();
        let source = format!(
            "gmmn-sample {} (Markov chain of a pattern sketch, group {}, contexts up to {} SNPs \
             shared by at least {} haplotypes)",
            env!("CARGO_PKG_VERSION"),
            info.group,
            info.order,
            info.sketch_min_count
        );
        let params = vec![("generator", serde_json::Value::from(info.generator.clone()))];
        (bits, manifest, path, info.group, info.snps, params, source)
    } else {
        let device = opts.device.resolve()?;
        let (gen, info, manifest, path) = train::load_model(model_input, device)?;
        let (mut bits, bar) = drawing(info.snps as u64);
        generate_blocks(&gen, n, opts.seed, device, BLOCK, |first, block| {
            let rows = block.len() / info.snps as usize;
            bits.set_rows(first, &block);
            bar.inc(rows as u64);
        });
        bar.finish_and_clear();
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
            bits,
            manifest,
            path,
            info.group,
            info.snps as u64,
            params,
            source,
        )
    };
    tracing::info!(
        "drew {n} haplotypes x {snps} SNPs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
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
    let individuals = haplotypes::synthetic::synthetic_individuals(&prefix, n);

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new("sample", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    // The kind, shape, companions and the counts every simulator reports are set per file by
    // the shared writer.
    let mut base = Manifest::new(ArtifactKind::Genotypes, producer)
        .param("group", group.clone())
        .param("n", n as u64)
        .param("sample_prefix", prefix.clone())
        .param("formats", opts.formats.names().join(","));
    for (k, v) in generator_params {
        base = base.param(k, v);
    }
    base.seed = Some(opts.seed);
    base.inputs = vec![
        FileRef::new("model", &model_path, manifest.sha256.clone(), out_dir)?,
        FileRef::new("variants", &variants_path, vm.sha256.clone(), out_dir)?,
    ];
    let f = opts.formats;
    let bar = progress_bar(
        f.progress_ticks(n, snps as usize),
        &format!("writing {}", f.names().join(", ")),
    );
    let writing = std::time::Instant::now();
    let files = haplotypes::synthetic::write_synthetic(
        out_dir,
        &group,
        &bits,
        training_variants.variants,
        &individuals,
        &base,
        &source,
        f,
        &|| bar.inc(1),
    )?;
    bar.finish_and_clear();
    tracing::info!(
        "wrote {} in {:.1} s",
        f.names().join(", "),
        writing.elapsed().as_secs_f64()
    );
    Ok(SampleSummary {
        group,
        haplotypes: n,
        individuals: individuals.len(),
        snps: snps as usize,
        files: files.to_vec(),
    })
}
