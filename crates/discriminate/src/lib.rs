//! `gmmn-discriminate`: how well can classifiers tell synthetic haplotypes from real ones, and
//! what do the synthetic haplotypes give away?
//!
//! The paper's protocol ([`protocol`]) on real against synthetic. With held-out real haplotypes
//! (`--heldout`: individuals gmmn-split kept out of the generator's training data) the real class
//! is the held-out set, so a generator that copies its training haplotypes cannot pass for real;
//! beside Delta then stand the privacy figures ([`privacy`]: a distance-to-closest-record
//! membership attack, AATS against the training and the held-out set, copies) and the utility of
//! the synthetic data for an ancestry classifier ([`utility`]). The `floor` baseline frames every
//! Delta: real against real (training vs held-out, or two halves of the real data). The report is
//! JSON plus a Markdown rendering, both with manifests. Each comparison also carries diagnostics
//! of why the classifiers tell the sides apart ([`diagnostics`]), with figures as PNG and SVG
//! ([`figures`]) written beside the report.
//!
//! The classifiers exploit the binary data: KNN and AATS use bit-packed Hamming distances with
//! popcount ([`haplotypes::bits`]); logistic regression and the MLP take each haplotype as the
//! list of its minor alleles ([`sparse`]).

pub mod classifier;
pub mod diagnostics;
pub mod figures;
pub mod knn;
pub mod logistic;
pub mod metrics;
pub mod mlp;
pub mod paper;
pub mod privacy;
pub mod protocol;
pub mod report;
pub mod sparse;
pub mod utility;

/// Test rows (0/1 per SNP) packed, for the unit tests of the metrics and diagnostics.
#[cfg(test)]
pub(crate) fn packed(rows: &[&[u8]]) -> PackedHaplotypes {
    let m = rows[0].len();
    let flat: Vec<u8> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    PackedHaplotypes::from_rows(&flat, m)
}

/// Test variants rs0, rs1, ... on chromosome 1 at positions 100, 101, ... (A>C), for the unit
/// tests that run the whole protocol.
#[cfg(test)]
pub(crate) fn numbered_variants(m: usize) -> Vec<Variant> {
    (0..m)
        .map(|j| Variant {
            chrom: "1".into(),
            pos: 100 + j as u64,
            id: format!("rs{j}"),
            reference: "A".into(),
            alternate: "C".into(),
        })
        .collect()
}

use std::path::{Path, PathBuf};

use artifact::rng::{derive_seed, SeededRng};
use artifact::{
    ArtifactError, ArtifactKind, FileRef, GenotypeMatrix, Manifest, OutputSet, Producer, Variant,
};
use haplotypes::bits::PackedHaplotypes;
use haplotypes::{HaplotypeSet, InputError, InputSpec};

use crate::diagnostics as diag;
use protocol::{ComparisonResult, ProtocolOptions, Side};

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

/// A comparison of real against real that frames every Delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The noise floor: training vs held-out real (with `--heldout`), else two halves of the
    /// real haplotypes.
    Floor,
}

impl Baseline {
    pub fn as_str(self) -> &'static str {
        match self {
            Baseline::Floor => "floor",
        }
    }
}

impl std::str::FromStr for Baseline {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "floor" => Ok(Baseline::Floor),
            // Renamed so that "held-out" means one thing: the haplotypes gmmn-split kept out.
            "holdout" => Err("the `holdout` baseline is now `floor` (real vs real: training vs held-out with --heldout, else two halves)".into()),
            "independent" => Err("the `independent` baseline moved to its own stage: `gmmn-reference --method independent`, then evaluate its output as --synthetic".into()),
            _ => Err(format!("unknown baseline `{s}` (floor)")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DiscriminateOptions {
    /// The real haplotypes; with `heldout`, the generator's training haplotypes.
    pub real: InputSpec,
    /// Held-out real haplotypes: the real class of every comparison when given.
    pub heldout: Option<InputSpec>,
    /// Privacy and utility figures (they need `heldout`).
    pub privacy: bool,
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
    /// The held-out real files (empty without `--heldout`).
    pub heldout: Vec<String>,
    pub synthetic: Vec<String>,
    pub snps: usize,
    pub groups: Vec<String>,
    pub protocol: serde_json::Value,
    pub comparisons: Vec<ComparisonResult>,
}

pub const REPORT_JSON: &str = "report.json";
pub const REPORT_MD: &str = "report.md";

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
    if opts.heldout.is_none() && !opts.privacy {
        return bad("--no-privacy needs --heldout: without held-out haplotypes there are no privacy figures to skip".into());
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
fn real_halves(
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
                "floor baseline: group {name} has {} real haplotype(s); two halves need at least 2",
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

/// Run every requested comparison and write `report.json`, `report.md` and each comparison's
/// figures into `out_dir`, all or nothing.
pub fn discriminate(
    opts: &DiscriminateOptions,
    out_dir: &Path,
) -> Result<Report, DiscriminateError> {
    check_options(opts)?;
    let p = &opts.protocol;
    let real = haplotypes::load(&opts.real)?;
    let load_beside = |spec: &InputSpec| -> Result<HaplotypeSet, DiscriminateError> {
        let s = haplotypes::load(spec)?;
        haplotypes::check_same_variants(&real, &s)?;
        haplotypes::check_same_groups(&real, &s)?;
        Ok(s)
    };
    let heldout = opts.heldout.as_ref().map(load_beside).transpose()?;
    let synthetic = opts.synthetic.as_ref().map(load_beside).transpose()?;
    let names: Vec<String> = real.rows_by_group().into_keys().collect();
    let snps = real.snps();
    let (real, real_files, variants) = into_side(real, &names);
    let heldout = heldout.map(|h| into_side(h, &names));
    let synthetic = synthetic.map(|s| into_side(s, &names));
    // The real class: the held-out haplotypes when given (so that copying the training data
    // cannot pass for real), else the real haplotypes themselves; always those under
    // --protocol paper, as the authors tested.
    let real_class = p.real_class(&real, heldout.as_ref().map(|(h, _, _)| h));
    let mut outputs = OutputSet::new();
    let tasks = (opts.baselines.len() + synthetic.is_some() as usize) * p.splits * 3;
    let progress = if opts.progress {
        artifact_progress(tasks as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut comparisons = Vec::new();
    if let Some((syn, _, _)) = &synthetic {
        let pooled = p.pool(real_class, syn, &names, derive_seed(p.seed, 1));
        let description = if !std::ptr::eq(real_class, &real) {
            "held-out real vs synthetic"
        } else {
            "real vs synthetic"
        };
        let mut result = protocol::run("synthetic", description, &pooled, &variants, p, &progress)?;
        if let (Some((held, _, _)), true) = (&heldout, opts.privacy) {
            let t = std::time::Instant::now();
            let aats_heldout = p.heldout_aats(
                result.fidelity.adversarial_accuracy,
                held,
                syn,
                &names,
                derive_seed(p.seed, 1),
            );
            let figures = privacy::measure(
                &real,
                held,
                syn,
                &names,
                aats_heldout,
                derive_seed(p.seed, 5),
            );
            result.utility = utility::measure(&real, held, syn, &names);
            tracing::info!(
                "synthetic: membership AUC {:.3}, privacy loss {:.3} ({:.1} s with the utility)",
                figures.membership_auc,
                figures.privacy_loss,
                t.elapsed().as_secs_f64()
            );
            let stem = diag::figure_stem("synthetic", "dcr");
            result.diagnostics.figures.push(diag::FigureFiles {
                figure: "dcr".into(),
                png: format!("{stem}.png"),
                svg: format!("{stem}.svg"),
            });
            result.privacy = Some(figures);
        }
        comparisons.push(result);
    }
    for b in &opts.baselines {
        let result = match b {
            Baseline::Floor => {
                let (pooled, description) = match &heldout {
                    Some((held, _, _)) => (
                        p.pool(&real, held, &names, derive_seed(p.seed, 1)),
                        "real vs real (training vs held-out): the noise floor",
                    ),
                    None => {
                        let (a, bside) = real_halves(&real, &names, derive_seed(p.seed, 4))?;
                        (
                            p.pool(&a, &bside, &names, derive_seed(p.seed, 1)),
                            "real vs real (two halves of the real haplotypes): the noise floor",
                        )
                    }
                };
                protocol::run("floor", description, &pooled, &variants, p, &progress)?
            }
        };
        comparisons.push(result);
    }
    for c in &comparisons {
        tracing::info!("{}: Delta {:.3} ({:.1} s)", c.name, c.delta, c.seconds);
    }
    progress.finish_and_clear();
    let file_names = |files: &[PathBuf]| -> Vec<String> {
        files.iter().map(|f| f.display().to_string()).collect()
    };
    let report = Report {
        real: file_names(&real_files),
        heldout: heldout
            .as_ref()
            .map(|(_, f, _)| file_names(f))
            .unwrap_or_default(),
        synthetic: synthetic
            .as_ref()
            .map(|(_, f, _)| file_names(f))
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
    for (role, side) in [("heldout", &heldout), ("synthetic", &synthetic)] {
        for f in side.iter().flat_map(|(_, files, _)| files) {
            inputs.push(FileRef::hashed(role, f, out_dir)?);
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
        let mut drawn = figures::figures(&c.name, &c.diagnostics)?;
        if let Some(p) = &c.privacy {
            drawn.push(figures::dcr_figure(&c.name, p)?);
        }
        for fig in drawn {
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
    let mut params = serde_json::json!({
        "baselines": opts.baselines.iter().map(|b| b.as_str()).collect::<Vec<_>>(),
        "heldout": opts.heldout.is_some(),
        "privacy": opts.heldout.is_some() && opts.privacy,
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
    });
    // Which protocol ran, and what the paper's runs instead of the strict settings above.
    params
        .as_object_mut()
        .expect("an object")
        .extend(p.protocol_params());
    params
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
