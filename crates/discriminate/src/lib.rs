//! `gmmn-discriminate`: how well can classifiers tell synthetic haplotypes from real ones?
//!
//! The paper's protocol ([`protocol`]) on real against synthetic and, beside it, against two
//! baselines that frame every Delta: `holdout` (real against real: the two halves of each group,
//! the noise floor) and `independent` (SNPs drawn independently at each group's allele
//! frequencies: the naive simulator, written out as a VCF any tool can read). The report is JSON
//! plus a Markdown rendering, both with manifests. Each comparison also carries diagnostics of
//! why the classifiers tell the sides apart ([`diagnostics`]), with figures as PNG and SVG
//! ([`figures`]) written beside the report.
//!
//! The classifiers exploit the binary data: KNN and AATS use bit-packed Hamming distances with
//! popcount ([`haplotypes::bits`]); logistic regression and the MLP take each haplotype as the
//! list of its minor alleles ([`sparse`]).

pub mod diagnostics;
pub mod figures;
pub mod knn;
pub mod logistic;
pub mod metrics;
pub mod mlp;
pub mod protocol;
pub mod report;
pub mod sparse;

/// Test rows (0/1 per SNP) packed, for the unit tests of the metrics and diagnostics.
#[cfg(test)]
pub(crate) fn packed(rows: &[&[u8]]) -> PackedHaplotypes {
    let m = rows[0].len();
    let flat: Vec<u8> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    PackedHaplotypes::from_rows(&flat, m)
}

use std::path::{Path, PathBuf};

use artifact::rng::{derive_seed, SeededRng};
use artifact::{
    ArtifactError, ArtifactKind, FileRef, GenotypeMatrix, HaplotypeLabel, Manifest, OutputSet,
    Producer, Variant,
};
use haplotypes::bits::{for_each_set_bit, PackedHaplotypes};
use haplotypes::{HaplotypeSet, InputError, InputSpec};

use protocol::{ComparisonResult, Pooled, ProtocolOptions, Side};

#[derive(Debug, thiserror::Error)]
pub enum DiscriminateError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{0}")]
    TooFew(String),
    #[error("{0}")]
    Options(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    Holdout,
    Independent,
}

impl Baseline {
    pub fn as_str(self) -> &'static str {
        match self {
            Baseline::Holdout => "holdout",
            Baseline::Independent => "independent",
        }
    }
}

impl std::str::FromStr for Baseline {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "holdout" => Ok(Baseline::Holdout),
            "independent" => Ok(Baseline::Independent),
            _ => Err(format!("unknown baseline `{s}` (holdout or independent)")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DiscriminateOptions {
    pub real: InputSpec,
    pub synthetic: Option<InputSpec>,
    pub baselines: Vec<Baseline>,
    pub protocol: ProtocolOptions,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// The whole report (what `report.json` holds).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub real: Vec<String>,
    pub synthetic: Vec<String>,
    pub snps: usize,
    pub groups: Vec<String>,
    pub protocol: serde_json::Value,
    pub comparisons: Vec<ComparisonResult>,
}

pub const REPORT_JSON: &str = "report.json";
pub const REPORT_MD: &str = "report.md";
pub const INDEPENDENT_VCF: &str = "independent.vcf.gz";
pub const INDEPENDENT_PANEL: &str = "independent.panel.tsv";

fn producer() -> Producer {
    Producer::new(
        "discriminate",
        "gmmn-discriminate",
        env!("CARGO_PKG_VERSION"),
    )
}

fn check_options(opts: &DiscriminateOptions) -> Result<(), DiscriminateError> {
    let p = &opts.protocol;
    let bad = |m: String| Err(DiscriminateError::Options(m));
    if opts.synthetic.is_none() && opts.baselines.is_empty() {
        return bad("nothing to compare: give --synthetic, --baseline, or both".into());
    }
    if p.splits == 0 {
        return bad("--splits must be at least 1".into());
    }
    if !(p.test_fraction > 0.0 && p.test_fraction < 1.0) {
        return bad(format!(
            "--test-fraction {} must be between 0 and 1",
            p.test_fraction
        ));
    }
    if p.ld_max_distance < 2 {
        return bad("--ld-distance must be at least 2 (pairs of neighbouring SNPs)".into());
    }
    Ok(())
}

fn into_side(set: HaplotypeSet, names: &[String]) -> (Side, Vec<PathBuf>, Vec<Variant>) {
    let groups = group_indices(&set.matrix, names);
    let packed = PackedHaplotypes::from_rows(set.matrix.values(), set.snps());
    // The byte matrix goes here: from now on only the packed bits are held.
    (Side { packed, groups }, set.files, set.variants)
}

/// Real against real: each group's rows shuffled and cut into two halves.
fn holdout_sides(
    real: &Side,
    names: &[String],
    seed: u64,
) -> Result<(Side, Side), DiscriminateError> {
    let mut rng = SeededRng::new(seed);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (g, name) in names.iter().enumerate() {
        let mut rows: Vec<usize> = (0..real.packed.n)
            .filter(|&i| real.groups[i] == g)
            .collect();
        if rows.len() < 2 {
            return Err(DiscriminateError::TooFew(format!(
                "holdout baseline: group {name} has {} real haplotype(s); two halves need at least 2",
                rows.len()
            )));
        }
        rng.shuffle(&mut rows);
        let half = rows.len() / 2;
        a.extend_from_slice(&rows[..half]);
        b.extend_from_slice(&rows[half..2 * half]);
    }
    let side = |rows: &[usize]| Side {
        packed: real.packed.select(rows),
        groups: rows.iter().map(|&i| real.groups[i]).collect(),
    };
    Ok((side(&a), side(&b)))
}

/// The naive simulator: for each real haplotype of a group, a haplotype whose alleles are drawn
/// independently at the group's allele frequencies.
pub fn independent_haplotypes(real: &Side, names: &[String], seed: u64) -> GenotypeMatrix {
    let m = real.packed.snps;
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for (g, name) in names.iter().enumerate() {
        let rows: Vec<usize> = (0..real.packed.n)
            .filter(|&i| real.groups[i] == g)
            .collect();
        let mut counts = vec![0usize; m];
        for &i in &rows {
            for_each_set_bit(real.packed.row(i), |j| counts[j] += 1);
        }
        let af: Vec<f64> = counts
            .iter()
            .map(|&c| c as f64 / rows.len() as f64)
            .collect();
        let mut rng = SeededRng::new(derive_seed(seed, g as u64));
        for k in 0..rows.len() {
            labels.push(HaplotypeLabel {
                sample: format!("IND_{name}_{:06}", k / 2 + 1),
                haplotype: (k % 2) as u8,
                group: Some(name.clone()),
            });
            values.extend(af.iter().map(|&p| (rng.next_f64() < p) as u8));
        }
    }
    GenotypeMatrix::new(labels, m, values).expect("0/1 values of whole rows")
}

fn hashed_inputs(
    manifest: &mut Manifest,
    role: &str,
    files: &[PathBuf],
    out_dir: &Path,
) -> Result<(), ArtifactError> {
    for f in files {
        manifest.inputs.push(FileRef::hashed(role, f, out_dir)?);
    }
    Ok(())
}

fn individuals(matrix: &GenotypeMatrix) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in matrix.labels() {
        if out.last() != Some(&l.sample) {
            out.push(l.sample.clone());
        }
    }
    out
}

/// Stage the naive simulator's VCF and panel in `out_dir`.
fn stage_independent(
    outputs: &mut OutputSet,
    out_dir: &Path,
    matrix: &GenotypeMatrix,
    variants: &[Variant],
    real_files: &[PathBuf],
    seed: u64,
) -> Result<(), DiscriminateError> {
    let names = individuals(matrix);
    let vcf = out_dir.join(INDEPENDENT_VCF);
    let mut m = Manifest::new(ArtifactKind::Vcf, producer())
        .param("baseline", "independent")
        .count("individuals", names.len() as u64)
        .count("snps", variants.len() as u64);
    hashed_inputs(&mut m, "real", real_files, out_dir)?;
    m.shape = vec![variants.len() as u64, names.len() as u64];
    m.seed = Some(seed);
    let source = format!(
        "gmmn-discriminate {} (independent baseline: alleles drawn at each group's frequencies)",
        env!("CARGO_PKG_VERSION")
    );
    outputs.stage_artifact(&vcf, m, |w| {
        haplotypes::vcf::write_phased_vcf(w, matrix, variants, &names, &source)
            .map_err(|e| ArtifactError::io(&vcf, e))
    })?;
    let panel = out_dir.join(INDEPENDENT_PANEL);
    let mut text = String::from("sample\tgroup\n");
    for l in matrix.labels().iter().filter(|l| l.haplotype == 0) {
        text.push_str(&format!(
            "{}\t{}\n",
            l.sample,
            l.group.as_deref().unwrap_or_default()
        ));
    }
    let mut pm = Manifest::new(ArtifactKind::Panel, producer())
        .param("columns", "sample group")
        .param("baseline", "independent")
        .count("individuals", names.len() as u64);
    hashed_inputs(&mut pm, "real", real_files, out_dir)?;
    pm.shape = vec![names.len() as u64];
    pm.seed = Some(seed);
    outputs.stage_artifact(&panel, pm, |w| {
        use std::io::Write;
        w.write_all(text.as_bytes())
            .map_err(|e| ArtifactError::io(&panel, e))
    })?;
    Ok(())
}

/// Run every requested comparison and write `report.json`, `report.md` (and the independent
/// baseline's VCF and panel) into `out_dir`, all or nothing.
pub fn discriminate(
    opts: &DiscriminateOptions,
    out_dir: &Path,
) -> Result<Report, DiscriminateError> {
    check_options(opts)?;
    let p = &opts.protocol;
    let real = haplotypes::load(&opts.real)?;
    let synthetic = match &opts.synthetic {
        Some(spec) => {
            let s = haplotypes::load(spec)?;
            haplotypes::check_same_variants(&real, &s)?;
            haplotypes::check_same_groups(&real, &s)?;
            Some(s)
        }
        None => None,
    };
    let names: Vec<String> = real.rows_by_group().into_keys().collect();
    let snps = real.snps();
    let (real, real_files, variants) = into_side(real, &names);
    let synthetic = synthetic.map(|s| into_side(s, &names));
    let mut outputs = OutputSet::new();
    let tasks = (opts.baselines.len() + synthetic.is_some() as usize) * p.splits * 3;
    let progress = if opts.progress {
        artifact_progress(tasks as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut comparisons = Vec::new();
    if let Some((syn, _, _)) = &synthetic {
        let pooled = Pooled::balance(&real, syn, &names, derive_seed(p.seed, 1));
        comparisons.push(protocol::run(
            "synthetic",
            "real vs synthetic",
            &pooled,
            &variants,
            p,
            &progress,
        )?);
    }
    for b in &opts.baselines {
        let result = match b {
            Baseline::Holdout => {
                let (a, bside) = holdout_sides(&real, &names, derive_seed(p.seed, 4))?;
                let pooled = Pooled::balance(&a, &bside, &names, derive_seed(p.seed, 1));
                protocol::run(
                    "holdout",
                    "real vs real (held-out halves): the noise floor",
                    &pooled,
                    &variants,
                    p,
                    &progress,
                )?
            }
            Baseline::Independent => {
                let seed = derive_seed(p.seed, 3);
                let matrix = independent_haplotypes(&real, &names, seed);
                stage_independent(
                    &mut outputs,
                    out_dir,
                    &matrix,
                    &variants,
                    &real_files,
                    p.seed,
                )?;
                let groups = group_indices(&matrix, &names);
                let side = Side {
                    packed: PackedHaplotypes::from_rows(matrix.values(), snps),
                    groups,
                };
                drop(matrix);
                let pooled = Pooled::balance(&real, &side, &names, derive_seed(p.seed, 1));
                protocol::run(
                    "independent",
                    "real vs SNPs drawn independently at each group's allele frequencies: the naive simulator",
                    &pooled,
                    &variants,
                    p,
                    &progress,
                )?
            }
        };
        comparisons.push(result);
    }
    for c in &comparisons {
        tracing::info!("{}: Delta {:.3} ({:.1} s)", c.name, c.delta, c.seconds);
    }
    progress.finish_and_clear();
    let report = Report {
        real: real_files.iter().map(|f| f.display().to_string()).collect(),
        synthetic: synthetic
            .as_ref()
            .map(|(_, f, _)| f.iter().map(|f| f.display().to_string()).collect())
            .unwrap_or_default(),
        snps,
        groups: names.clone(),
        protocol: protocol_params(opts),
        comparisons,
    };
    let json = serde_json::to_string_pretty(&report).expect("report serialises") + "\n";
    let markdown = report::markdown(&report);
    // Every data file read, hashed once for all the manifests.
    let mut inputs = Vec::new();
    for f in &real_files {
        inputs.push(FileRef::hashed("real", f, out_dir)?);
    }
    if let Some((_, files, _)) = &synthetic {
        for f in files {
            inputs.push(FileRef::hashed("synthetic", f, out_dir)?);
        }
    }
    let mut json_manifest = None;
    for (file, text, format) in [
        (REPORT_JSON, json, "json"),
        (REPORT_MD, markdown, "markdown"),
    ] {
        let path = out_dir.join(file);
        let mut m = Manifest::new(ArtifactKind::Report, producer())
            .param("format", format)
            .count("comparisons", report.comparisons.len() as u64)
            .count("groups", names.len() as u64)
            .count("snps", snps as u64);
        for (k, v) in protocol_params(opts).as_object().expect("object") {
            m = m.param(k, v.clone());
        }
        for c in &report.comparisons {
            m = m.param(&format!("delta_{}", c.name), c.delta);
        }
        m.inputs = inputs.clone();
        m.shape = vec![report.comparisons.len() as u64];
        m.seed = Some(p.seed);
        let staged = outputs.stage_artifact(&path, m, |w| {
            use std::io::Write;
            w.write_all(text.as_bytes())
                .map_err(|e| ArtifactError::io(&path, e))
        })?;
        if format == "json" {
            json_manifest = Some(staged);
        }
    }
    let json_manifest = json_manifest.expect("report.json staged");
    let started = std::time::Instant::now();
    let mut written = 0;
    for c in &report.comparisons {
        for fig in figures::figures(&c.name, &c.diagnostics)? {
            for (ext, bytes) in [("png", fig.png.as_slice()), ("svg", fig.svg.as_bytes())] {
                let path = out_dir.join(format!("{}.{ext}", fig.stem));
                let mut m = Manifest::new(ArtifactKind::Plot, producer())
                    .param("comparison", c.name.clone())
                    .param("figure", fig.figure)
                    .param("plots", fig.plots.clone())
                    .param("format", ext);
                // The figure is drawn from what the report was computed from; report.json holds
                // its data (all but the per-SNP frequencies) and its manifest names the data
                // files, so the report is the figure's one input (and its parent in the lineage).
                m.inputs = vec![FileRef::new(
                    "report",
                    &out_dir.join(REPORT_JSON),
                    json_manifest.sha256.clone(),
                    out_dir,
                )?];
                outputs.stage_artifact(&path, m, |w| {
                    use std::io::Write;
                    w.write_all(bytes).map_err(|e| ArtifactError::io(&path, e))
                })?;
                written += 1;
            }
        }
    }
    tracing::info!(
        "{written} diagnostic figures rendered in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    outputs.commit()?;
    Ok(report)
}

/// Group index of each row, by the sorted group names.
fn group_indices(matrix: &GenotypeMatrix, names: &[String]) -> Vec<usize> {
    matrix
        .labels()
        .iter()
        .map(|l| {
            let g = l.group.as_deref().unwrap_or_default();
            names.iter().position(|n| n == g).expect("group listed")
        })
        .collect()
}

/// Every setting of the run, for the report and the manifests.
pub fn protocol_params(opts: &DiscriminateOptions) -> serde_json::Value {
    let p = &opts.protocol;
    serde_json::json!({
        "baselines": opts.baselines.iter().map(|b| b.as_str()).collect::<Vec<_>>(),
        "groups": opts.real.groups,
        "label": opts.real.label,
        "splits": p.splits,
        "test_fraction": p.test_fraction,
        "seed": p.seed,
        "ld_max_distance": p.ld_max_distance,
        "cv_folds": p.cv_folds,
        "logistic": {"c": p.logistic.c, "max_iter": p.logistic.max_iter, "tol": p.logistic.tol},
        "knn_grid": {"n_neighbours": [2, 4, 10], "weights": ["uniform", "distance"], "p": [1, 2],
                     "scoring": "balanced_accuracy"},
        "mlp": {"hidden": p.mlp.hidden, "learning_rate": f32_as_written(p.mlp.learning_rate),
                "alpha": f32_as_written(p.mlp.alpha),
                "batch": p.mlp.batch, "max_epochs": p.mlp.max_epochs, "patience": p.mlp.patience,
                "validation_fraction": p.mlp.validation_fraction},
    })
}

/// An f32 setting as its shortest decimal (1e-4, not 0.00009999999747378752).
fn f32_as_written(x: f32) -> f64 {
    x.to_string().parse().expect("a float's own decimal parses")
}

fn artifact_progress(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} classifiers fitted {pos}/{len} [{elapsed_precise}] ETA {eta}",
        )
        .expect("valid template"),
    );
    bar
}
