//! Synthetic haplotypes from a trained generator.
//!
//! Writes `<GROUP>.parquet` (genotype layout of gmmn-ingest, group column set, synthetic sample
//! ids), `<GROUP>.variants.parquet` (the training variants with the synthetic allele
//! frequencies), `<GROUP>.vcf.gz` (bgzipped phased VCF: haplotypes 2i and 2i+1 form individual
//! i; an odd last haplotype is a haploid individual) and `<GROUP>.panel.tsv` (`sample group`).

use std::io::Write;
use std::path::{Path, PathBuf};

use artifact::{
    read_variants_parquet, ArtifactError, ArtifactKind, FileRef, GenotypeMatrix, HaplotypeLabel,
    Manifest, OutputSet, Producer, VariantTable,
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
    let device = opts.device.resolve()?;
    let (gen, info, manifest, model_path) = train::load_model(model_input, device)?;
    let variants_path = manifest.companion(&model_path, "variants")?;
    let vm = artifact::open_artifact(&variants_path, ArtifactKind::Variants)?;
    let training_variants = read_variants_parquet(&variants_path)?;
    if training_variants.len() != info.snps as usize {
        return Err(ArtifactError::Layout {
            path: variants_path.clone(),
            message: format!(
                "{} variants but the model has {} SNPs",
                training_variants.len(),
                info.snps
            ),
        }
        .into());
    }
    let group = info.group.clone();
    let prefix = opts
        .prefix
        .clone()
        .unwrap_or_else(|| format!("SYN_{group}_"));
    let n = opts.n;
    let individuals: Vec<String> = (0..n.div_ceil(2))
        .map(|i| format!("{prefix}{:06}", i + 1))
        .collect();
    let labels: Vec<HaplotypeLabel> = (0..n)
        .map(|i| HaplotypeLabel {
            sample: individuals[i / 2].clone(),
            haplotype: (i % 2) as u8,
            group: Some(group.clone()),
        })
        .collect();
    let values = generate(&gen, n, opts.seed, device);
    let matrix = GenotypeMatrix::new(labels, info.snps as usize, values)?;
    let counts = matrix.allele_counts();
    let table = VariantTable::with_counts(training_variants.variants, &counts, n);
    let monomorphic = counts.iter().filter(|&&c| c == 0 || c == n as u64).count();

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new("sample", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let base = |kind| {
        let mut m = Manifest::new(kind, producer.clone())
            .param("group", group.clone())
            .param("n", n as u64)
            .param("device", format!("{device:?}").to_lowercase())
            .param("sample_prefix", prefix.clone())
            .param("model_output", info.output.as_str())
            .count("haplotypes", n as u64)
            .count("individuals", individuals.len() as u64)
            .count("snps", info.snps as u64)
            .count("monomorphic_snps", monomorphic as u64);
        m.seed = Some(opts.seed);
        m.inputs = vec![
            FileRef::new("model", &model_path, manifest.sha256.clone(), out_dir)
                .expect("relative path"),
            FileRef::new("variants", &variants_path, vm.sha256.clone(), out_dir)
                .expect("relative path"),
        ];
        m
    };
    let gpath = out_dir.join(format!("{group}.parquet"));
    let vpath = out_dir.join(format!("{group}.variants.parquet"));
    let vcf = out_dir.join(format!("{group}.vcf.gz"));
    let panel = out_dir.join(format!("{group}.panel.tsv"));
    let mut out = OutputSet::new();
    let mut v = base(ArtifactKind::Variants);
    v.shape = vec![info.snps as u64];
    let v = out.stage_artifact(&vpath, v, |w| artifact::write_variants_parquet(w, &table))?;
    let mut g = base(ArtifactKind::Genotypes);
    g.shape = vec![n as u64, info.snps as u64];
    g.companions = vec![FileRef::new("variants", &vpath, v.sha256.clone(), out_dir)?];
    out.stage_artifact(&gpath, g, |w| matrix.write_parquet(w))?;
    let mut vc = base(ArtifactKind::Vcf);
    vc.shape = vec![info.snps as u64, individuals.len() as u64];
    out.stage_artifact(&vcf, vc, |w| {
        {
            let source = format!(
                "gmmn-sample {} (GMMN, group {}, {} output, {} features)",
                env!("CARGO_PKG_VERSION"),
                info.group,
                info.output.as_str(),
                info.features.as_str()
            );
            haplotypes::vcf::write_phased_vcf(w, &matrix, &table.variants, &individuals, &source)
        }.map_err(|e| ArtifactError::io(&vcf, e))
    })?;
    let mut pm = base(ArtifactKind::Panel).param("columns", "sample group");
    pm.shape = vec![individuals.len() as u64];
    out.stage_artifact(&panel, pm, |w| {
        let mut text = String::from("sample\tgroup\n");
        for s in &individuals {
            text.push_str(&format!("{s}\t{group}\n"));
        }
        w.write_all(text.as_bytes())
            .map_err(|e| ArtifactError::io(&panel, e))
    })?;
    out.commit()?;
    Ok(SampleSummary {
        group,
        haplotypes: n,
        individuals: individuals.len(),
        snps: info.snps as usize,
        files: vec![gpath, vpath, vcf, panel],
    })
}
