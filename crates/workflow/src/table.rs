//! The final table of a run (`DIR/table.md`, `DIR/table.json`): one row per variant, then one per
//! reference simulator, then the noise floor, each read from its report.json through the typed
//! [`artifact::report::ReportSummary`] (the type gmmn-discriminate writes, so no string key can
//! drift). The Markdown has two tables: realism (classifiers, Delta under the strict protocol and
//! the paper's, fidelity, training time) and privacy and utility (AATS against training and
//! held-out, privacy loss, copies, the membership attack, the ancestry classifier), and a list of
//! the privacy flags gmmn-discriminate raised.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use artifact::report::{ClassifierSummary, ComparisonSummary, Privacy, ReportSummary, Utility};
use artifact::{open_artifact, ArtifactKind, FileRef, Manifest, OutputSet, Producer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::run::{reference_dir, Timings};
use crate::spec::Spec;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{0}")]
    Artifact(#[from] artifact::ArtifactError),
    #[error("{path}: {message}")]
    Report { path: PathBuf, message: String },
}

/// What a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// A GMMN configuration of the spec: trained on sketches only.
    Variant,
    /// A reference simulator (gmmn-reference): not private, it uses the real haplotypes.
    Reference,
    /// Real against real: the noise floor.
    Floor,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub name: String,
    pub label: String,
    pub kind: RowKind,
    /// Mean test accuracy and its sd per classifier (LR, KNN, MLP), strict protocol.
    pub classifiers: Vec<ClassifierSummary>,
    /// Delta under the strict protocol: against the held-out real haplotypes with a hold-out.
    pub delta: f64,
    /// Delta under the authors' protocol (report-paper/), when the spec ran it.
    pub delta_paper_protocol: Option<f64>,
    /// Classifier accuracies under the authors' protocol.
    pub classifiers_paper_protocol: Option<Vec<ClassifierSummary>>,
    /// The paper's Table I Delta of this configuration (the spec's `paper_delta`).
    pub paper_delta: Option<f64>,
    pub af_correlation: f64,
    /// Pooled over groups (inflated by between-group structure).
    pub ld_r2_correlation_pooled: f64,
    /// Mean over groups of each group's own LD r^2 correlation.
    pub ld_r2_correlation_within: f64,
    /// AATS against the comparison's real class (the held-out haplotypes with a hold-out).
    pub adversarial_accuracy: f64,
    /// Share of the compared haplotypes identical to one of the real class.
    pub identical_fraction: f64,
    /// Against the training haplotypes, with a hold-out (None for the floor and without one).
    pub privacy: Option<Privacy>,
    /// Train-synthetic-test-real ancestry classifier, with a hold-out.
    pub utility: Option<Utility>,
    /// Seconds of gmmn-train summed over groups (variants), of gmmn-reference (references).
    pub train_seconds: Option<f64>,
    /// The sketches' differential privacy (largest epsilon over the groups; None: exact).
    #[serde(default)]
    pub sketch_epsilon: Option<f64>,
    /// Mean over groups of gmmn-sketch-attack's AUC (evaluate.sketch-attack).
    #[serde(default)]
    pub sketch_attack_auc: Option<f64>,
    pub report: String,
    pub report_paper_protocol: Option<String>,
}

fn bad(path: &Path, message: String) -> TableError {
    TableError::Report {
        path: path.to_path_buf(),
        message,
    }
}

/// report.json at `path`, its manifest checked, as the typed summary.
fn read_report(path: &Path) -> Result<ReportSummary, TableError> {
    open_artifact(path, ArtifactKind::Report)?;
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e.to_string()))?;
    serde_json::from_str(&text)
        .map_err(|e| bad(path, format!("not a gmmn-discriminate report: {e}")))
}

fn comparison<'a>(
    report: &'a ReportSummary,
    path: &Path,
    name: &str,
) -> Result<&'a ComparisonSummary, TableError> {
    report.comparison(name).ok_or_else(|| {
        let have: Vec<&str> = report.comparisons.iter().map(|c| c.name.as_str()).collect();
        bad(
            path,
            format!("no comparison `{name}` (it has: {})", have.join(", ")),
        )
    })
}

/// The row of comparison `name` of report.json at `path`.
fn read_row(
    path: &Path,
    name_in_report: &str,
    kind: RowKind,
    name: &str,
    label: &str,
) -> Result<Row, TableError> {
    let report = read_report(path)?;
    let c = comparison(&report, path, name_in_report)?;
    if c.protocol.as_deref().is_some_and(|p| p != "strict") {
        return Err(bad(
            path,
            format!(
                "comparison `{name_in_report}` ran under the `{}` protocol; report/ holds the strict one",
                c.protocol.as_deref().unwrap_or_default()
            ),
        ));
    }
    let within: Vec<f64> = c
        .groups
        .iter()
        .map(|g| g.fidelity.ld_r2_correlation)
        .filter(|r| r.is_finite())
        .collect();
    Ok(Row {
        name: name.into(),
        label: label.into(),
        kind,
        classifiers: c.classifiers.clone(),
        delta: c.delta,
        delta_paper_protocol: None,
        classifiers_paper_protocol: None,
        paper_delta: None,
        af_correlation: c.fidelity.allele_frequency_correlation,
        ld_r2_correlation_pooled: c.fidelity.ld_r2_correlation,
        ld_r2_correlation_within: if within.is_empty() {
            f64::NAN
        } else {
            within.iter().sum::<f64>() / within.len() as f64
        },
        adversarial_accuracy: c.fidelity.adversarial_accuracy,
        identical_fraction: c.fidelity.identical_fraction,
        privacy: c.privacy.clone(),
        utility: c.utility.clone(),
        train_seconds: None,
        sketch_epsilon: None,
        sketch_attack_auc: None,
        report: path.to_string_lossy().into_owned(),
        report_paper_protocol: None,
    })
}

/// Delta and the classifiers of report-paper/report.json beside the strict row.
fn add_paper_protocol(row: &mut Row, path: &Path) -> Result<(), TableError> {
    let report = read_report(path)?;
    let c = comparison(&report, path, "synthetic")?;
    if c.protocol.as_deref() != Some("paper") {
        return Err(bad(
            path,
            format!(
                "comparison `synthetic` ran under the {} protocol, not the paper's (--protocol paper)",
                c.protocol.as_deref().unwrap_or("strict")
            ),
        ));
    }
    row.delta_paper_protocol = Some(c.delta);
    row.classifiers_paper_protocol = Some(c.classifiers.clone());
    row.report_paper_protocol = Some(path.to_string_lossy().into_owned());
    Ok(())
}

/// How a reference row is labelled in the Markdown.
pub const NOT_PRIVATE: &str = "reference, not private: uses real haplotypes";

/// The noise floor's label: what it compares.
fn floor_label(spec: &Spec) -> &'static str {
    if spec.holdout > 0.0 {
        "noise floor: training vs held-out real"
    } else {
        "noise floor: two halves of the real data"
    }
}

/// The rows of a finished run: each variant's report, each reference's, then the floor.
pub fn rows(
    spec: &Spec,
    dir: &Path,
    groups: &[String],
    timings: &Timings,
) -> Result<Vec<Row>, TableError> {
    let mut rows = Vec::new();
    if spec.discriminate {
        for v in &spec.variants {
            let base = dir.join(&v.name);
            let mut row = read_row(
                &base.join("report").join("report.json"),
                "synthetic",
                RowKind::Variant,
                &v.name,
                &v.label,
            )?;
            if spec.paper_protocol {
                add_paper_protocol(&mut row, &base.join("report-paper").join("report.json"))?;
            }
            row.paper_delta = v.paper_delta;
            let secs: Vec<f64> = groups
                .iter()
                .filter_map(|g| timings.get(&format!("train/{}/{g}", v.name)).copied())
                .collect();
            row.train_seconds = (secs.len() == groups.len()).then(|| secs.iter().sum());
            add_sketch_attack(&mut row, &base, groups)?;
            rows.push(row);
        }
        for r in &spec.references {
            let base = reference_dir(dir, &r.name);
            let mut row = read_row(
                &base.join("report").join("report.json"),
                "synthetic",
                RowKind::Reference,
                &r.name,
                &r.label,
            )?;
            if spec.paper_protocol {
                add_paper_protocol(&mut row, &base.join("report-paper").join("report.json"))?;
            }
            row.train_seconds = timings.get(&format!("reference/{}", r.name)).copied();
            rows.push(row);
        }
    }
    let baselines = dir.join("baselines").join("report.json");
    for b in &spec.baselines {
        rows.push(read_row(
            &baselines,
            b,
            RowKind::Floor,
            b,
            floor_label(spec),
        )?);
    }
    Ok(rows)
}

/// The sketch attack's AUC (mean over groups) and the sketches' epsilon, where the run has
/// every group's attack.json.
fn add_sketch_attack(row: &mut Row, base: &Path, groups: &[String]) -> Result<(), TableError> {
    let mut aucs = Vec::new();
    let mut epsilon: Option<f64> = None;
    for g in groups {
        let path = base
            .join(g)
            .join("attack")
            .join(sketch::attack::ATTACK_FILE);
        if !path.is_file() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| bad(&path, e.to_string()))?;
        let attack: sketch::attack::SketchAttack =
            serde_json::from_str(&text).map_err(|e| bad(&path, e.to_string()))?;
        aucs.push(attack.auc);
        if let Some(e) = attack.epsilon {
            epsilon = Some(epsilon.map_or(e, |x: f64| x.max(e)));
        }
    }
    if !aucs.is_empty() {
        row.sketch_attack_auc = Some(aucs.iter().sum::<f64>() / aucs.len() as f64);
        row.sketch_epsilon = epsilon;
    }
    Ok(())
}

fn label_of(r: &Row) -> String {
    match r.kind {
        RowKind::Reference => format!("{} ({NOT_PRIVATE})", r.label),
        _ => r.label.clone(),
    }
}

fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "-".into(),
    }
}

/// The Markdown tables of `rows`.
pub fn markdown(spec: &Spec, dir: &Path, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}: real vs synthetic haplotypes\n", spec.name);
    if let Some(d) = &spec.description {
        let _ = writeln!(s, "{}\n", d.trim());
    }
    let heldout = spec.holdout > 0.0;
    if heldout {
        let _ = writeln!(
            s,
            "The real class of every comparison is the held-out real haplotypes: {:.0}% of each \
             group's individuals, which no generator or reference saw; they were trained on the \
             rest.\n",
            spec.holdout * 100.0
        );
    } else {
        let _ = writeln!(
            s,
            "No hold-out (evaluate.holdout is 0): the real class is the generators' own training \
             haplotypes, so a copy of them would pass for real, and there are no privacy figures.\n"
        );
    }
    let _ = writeln!(s, "## Realism\n");
    let _ = writeln!(
        s,
        "Accuracy of classifiers told to separate real from synthetic haplotypes (mean ± sd over \
         the splits; 0.5 = indistinguishable). Delta = max |0.5 - accuracy| under the strict \
         protocol (balanced pools, converged classifiers{}). Delta, paper's protocol: the authors' \
         protocol (real class = the training haplotypes, unbalanced pools, their classifier \
         settings; report-paper/), \"-\" when not run. Paper Delta: the paper's Table I. LD: \
         correlation of r² over nearby SNP pairs, the mean of each group's own. AATS: \
         nearest-neighbour adversarial accuracy against the real class (0.5 ideal). Train time: \
         gmmn-train summed over the groups (gmmn-reference's run for a reference).\n",
        if heldout { ", held-out real" } else { "" }
    );
    let _ = writeln!(
        s,
        "| configuration | LR | KNN | MLP | Delta | Delta, paper's protocol | paper Delta | AF corr | LD r² corr | AATS | train time |"
    );
    let _ = writeln!(s, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let acc = |c: &str| {
            r.classifiers
                .iter()
                .find(|x| x.name == c)
                .map_or("-".into(), |x| format!("{:.3} ± {:.3}", x.mean, x.sd))
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.3} | {} | {} | {:.3} | {} | {:.3} | {} |",
            label_of(r),
            acc("LR"),
            acc("KNN"),
            acc("MLP"),
            r.delta,
            num(r.delta_paper_protocol, 3),
            num(r.paper_delta, 2),
            r.af_correlation,
            num(Some(r.ld_r2_correlation_within), 3),
            r.adversarial_accuracy,
            r.train_seconds.map_or("-".into(), |t| format!("{t:.0} s")),
        );
    }
    if heldout {
        privacy_table(&mut s, rows);
    }
    if spec.project {
        let _ = writeln!(
            s,
            "\nFigures (PCA and ISOMAP fitted on real haplotypes, synthetic projected):\n"
        );
        for v in &spec.variants {
            let p = dir.join(&v.name).join("projection");
            let figures: Vec<String> = ["pca.png", "isomap.png"]
                .iter()
                .map(|f| p.join(f))
                .filter(|f| f.is_file())
                .map(|f| f.display().to_string())
                .collect();
            let _ = writeln!(s, "- {}: {}", v.label, figures.join(", "));
        }
    }
    s
}

fn privacy_table(s: &mut String, rows: &[Row]) {
    let _ = writeln!(s, "\n## Privacy and utility\n");
    let attacks = rows.iter().any(|r| r.sketch_attack_auc.is_some());
    let mut pairs: Vec<String> = rows
        .iter()
        .filter_map(|r| r.utility.as_ref())
        .map(|u| format!("{} vs {}", u.hardest_pair.0, u.hardest_pair.1))
        .collect();
    pairs.dedup();
    let _ = writeln!(
        s,
        "Against the generator's training haplotypes (members) and the held-out ones \
         (non-members). AATS train / held-out: nearest-neighbour adversarial accuracy of the \
         synthetic haplotypes against each; privacy loss = AATS held-out - AATS train (> 0: the \
         synthetic sit nearer their training haplotypes than unseen ones). Identical: share of \
         synthetic haplotypes identical to a training haplotype (in brackets the held-out real \
         ones' share: what chance gives). Membership AUC: a distance-to-closest-record attack \
         (0.5 = no leak). Ancestry, hardest pair ({}): accuracy of a classifier of that pair \
         trained on the synthetic haplotypes and tested on the held-out real ones (trained on \
         the real training haplotypes in brackets).{}\n",
        if pairs.is_empty() {
            "none measured".to_string()
        } else {
            pairs.join("; ")
        },
        if attacks {
            " Sketch epsilon: the (epsilon, delta)-DP of the variant's sketches per individual \
             (gmmn-sketch --dp-epsilon; ∞: exact means). Sketch attack AUC: gmmn-sketch-attack's \
             membership test on the released sketch itself (members: the training individuals; \
             non-members and the attacker's reference: halves of the held-out ones), mean over \
             the groups."
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "| configuration | AATS train / held-out | privacy loss | identical (held-out real) | membership AUC | ancestry, hardest pair: synthetic (real) |{}",
        if attacks { " sketch epsilon | sketch attack AUC |" } else { "" }
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|{}",
        if attacks { "---:|---:|" } else { "" }
    );
    for r in rows {
        let (aats, loss, identical, auc) = match &r.privacy {
            Some(p) => (
                format!("{:.3} / {:.3}", p.aats_training, p.aats_heldout),
                format!("{:+.3}", p.privacy_loss),
                format!(
                    "{:.3} ({:.3})",
                    p.identical_to_training, p.heldout_identical_to_training
                ),
                format!("{:.3}", p.membership_auc),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let ancestry = r.utility.as_ref().map_or("-".into(), |u| {
            format!(
                "{:.3} ({:.3})",
                u.trained_on_synthetic.hardest_pair, u.trained_on_real.hardest_pair
            )
        });
        let attack = if attacks {
            format!(
                " {} | {} |",
                match (r.kind, r.sketch_epsilon) {
                    (RowKind::Variant, Some(e)) => format!("{e}"),
                    (RowKind::Variant, None) if r.sketch_attack_auc.is_some() => "∞ (exact)".into(),
                    _ => "-".into(),
                },
                num(r.sketch_attack_auc, 3)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "| {} | {aats} | {loss} | {identical} | {auc} | {ancestry} |{attack}",
            label_of(r)
        );
    }
    let attacked = rows
        .iter()
        .filter(|r| r.kind == RowKind::Variant && r.sketch_attack_auc.is_some())
        .count();
    if attacked >= 2 {
        let _ = writeln!(
            s,
            "\nUtility against privacy (Delta, LD, both AUCs per epsilon): \
             ![privacy.png](privacy.png)"
        );
    }
    let flagged: Vec<&Row> = rows
        .iter()
        .filter(|r| r.privacy.as_ref().is_some_and(|p| !p.flags.is_empty()))
        .collect();
    if flagged.is_empty() {
        let _ = writeln!(s, "\nPrivacy flags: none.");
    } else {
        let _ = writeln!(s, "\nPrivacy flags:\n");
        for r in flagged {
            let flags = &r.privacy.as_ref().expect("filtered").flags;
            let _ = writeln!(s, "- {}: {}", label_of(r), flags.join("; "));
        }
    }
}

/// Write `DIR/table.md` and `DIR/table.json` with their manifests; return the Markdown.
pub fn write_table(
    spec: &Spec,
    dir: &Path,
    groups: &[String],
    timings: &Timings,
) -> Result<String, TableError> {
    let rows = rows(spec, dir, groups, timings)?;
    let md = markdown(spec, dir, &rows);
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "spec": spec.name,
        "groups": groups,
        "holdout": spec.holdout,
        "rows": rows,
    }))
    .expect("rows serialise");

    let mut inputs = vec![FileRef::hashed("spec", &spec.path, dir)?];
    let mut reports: Vec<&str> = rows
        .iter()
        .flat_map(|r| std::iter::once(r.report.as_str()).chain(r.report_paper_protocol.as_deref()))
        .collect();
    reports.sort();
    reports.dedup();
    for r in &reports {
        inputs.push(FileRef::hashed("report", Path::new(r), dir)?);
    }
    let manifest = |format: &str| {
        let mut m = Manifest::new(
            ArtifactKind::Report,
            Producer::new("workflow", "gmmn-workflow", env!("CARGO_PKG_VERSION")),
        )
        .param("format", format)
        .param("spec", spec.name.clone())
        .param("groups", groups.to_vec())
        .param(
            "variants",
            spec.variants
                .iter()
                .map(|v| v.name.clone())
                .collect::<Vec<_>>(),
        )
        .param(
            "references",
            spec.references
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>(),
        )
        .param("baselines", spec.baselines.clone())
        .param("holdout", spec.holdout)
        .param("paper_protocol", spec.paper_protocol);
        for r in &rows {
            let key = match r.kind {
                RowKind::Reference => format!("delta_reference_{}", r.name),
                _ => format!("delta_{}", r.name),
            };
            m.params.insert(key, Value::from(r.delta));
        }
        m.inputs = inputs.clone();
        m.shape = vec![rows.len() as u64];
        m.seed = Some(spec.seed);
        m
    };
    let mut out = OutputSet::new();
    out.stage_artifact(&dir.join("table.md"), manifest("markdown"), |w| {
        std::io::Write::write_all(w, md.as_bytes())
            .map_err(|e| artifact::ArtifactError::io(dir.join("table.md"), e))
    })?;
    let table_json = out.stage_artifact(&dir.join("table.json"), manifest("json"), |w| {
        std::io::Write::write_all(w, json.as_bytes())
            .map_err(|e| artifact::ArtifactError::io(dir.join("table.json"), e))
    })?;
    privacy_figure(&mut out, dir, &rows, &table_json.sha256)?;
    out.commit()?;
    Ok(md)
}

/// `privacy.png`/`.svg`: Delta, the membership AUC of the synthetic haplotypes and the sketch
/// attack's AUC against the sketches' epsilon, for a run whose variants' sketches were attacked
/// (evaluate.sketch-attack) at two or more privacy levels. Drawn from table.json's rows.
fn privacy_figure(
    out: &mut OutputSet,
    dir: &Path,
    rows: &[Row],
    table_sha256: &str,
) -> Result<(), TableError> {
    let attacked: Vec<&Row> = rows
        .iter()
        .filter(|r| r.kind == RowKind::Variant && r.sketch_attack_auc.is_some())
        .collect();
    if attacked.len() < 2 {
        return Ok(());
    }
    // x = log10 epsilon; the exact sketch (no epsilon) one decade right of the largest.
    let largest = attacked
        .iter()
        .filter_map(|r| r.sketch_epsilon)
        .fold(f64::NAN, f64::max);
    let exact_x = if largest.is_finite() {
        largest.log10() + 1.0
    } else {
        1.0
    };
    let mut by_x: Vec<(f64, &Row)> = attacked
        .iter()
        .map(|r| (r.sketch_epsilon.map_or(exact_x, f64::log10), *r))
        .collect();
    by_x.sort_by(|a, b| a.0.total_cmp(&b.0));
    // (label, colour, value of a row), drawn in this order.
    type RowValue = fn(&Row) -> Option<f64>;
    let lines: [(&str, usize, RowValue); 5] = [
        ("Delta (0 = indistinguishable from held-out real)", 0, |r| {
            Some(r.delta)
        }),
        ("LD r^2 correlation", 3, |r| {
            Some(r.ld_r2_correlation_within)
        }),
        ("allele frequency correlation", 4, |r| {
            Some(r.af_correlation)
        }),
        (
            "membership AUC, synthetic haplotypes (0.5 = no leak)",
            1,
            |r| r.privacy.as_ref().map(|p| p.membership_auc),
        ),
        ("sketch attack AUC (0.5 = no leak)", 2, |r| {
            r.sketch_attack_auc
        }),
    ];
    let points: Vec<Vec<(f64, f64)>> = lines
        .iter()
        .map(|(_, _, value)| {
            by_x.iter()
                .map(|(x, r)| (*x, value(r).unwrap_or(f64::NAN)))
                .collect()
        })
        .collect();
    let series: Vec<artifact::plot::Series> = lines
        .iter()
        .zip(&points)
        .map(|((label, colour, _), points)| artifact::plot::Series {
            label,
            points,
            color: artifact::plot::group_colour(*colour),
        })
        .collect();
    let title = "Utility against privacy of the sketch";
    let x_label = format!(
        "log10 epsilon (delta per the sketch manifests); the exact sketch at x = {exact_x:.0}"
    );
    let png = artifact::plot::line_chart_png(title, &x_label, "", &series, false, (900, 560))?;
    let svg = artifact::plot::line_chart_svg(title, &x_label, "", &series, false, (900, 560))?;
    for (ext, bytes) in [("png", png), ("svg", svg.into_bytes())] {
        let path = dir.join(format!("privacy.{ext}"));
        let mut m = Manifest::new(
            ArtifactKind::Plot,
            Producer::new("workflow", "gmmn-workflow", env!("CARGO_PKG_VERSION")),
        )
        .param("figure", "privacy")
        .param("plots", "Delta, LD r^2 and allele frequency correlations, membership AUC and sketch attack AUC per variant against log10 epsilon")
        .param("format", ext);
        m.inputs = vec![FileRef::new(
            "report",
            &dir.join("table.json"),
            table_sha256.to_string(),
            dir,
        )?];
        out.stage_artifact(&path, m, |w| {
            std::io::Write::write_all(w, &bytes).map_err(|e| artifact::ArtifactError::io(&path, e))
        })?;
    }
    Ok(())
}
