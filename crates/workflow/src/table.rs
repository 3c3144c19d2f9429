//! The final table of a run (`DIR/table.md`, `DIR/table.json`): one row per variant with its
//! classifiers' accuracies, Delta beside the paper's, fidelity, and training time; then the
//! noise floor and the naive simulator from the baselines report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use artifact::{open_artifact, ArtifactKind, FileRef, Manifest, OutputSet, Producer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::run::Timings;
use crate::spec::Spec;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{0}")]
    Artifact(#[from] artifact::ArtifactError),
    #[error("{path}: {message}")]
    Report { path: PathBuf, message: String },
}

/// One row of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub name: String,
    pub label: String,
    /// Mean test accuracy and its sd per classifier (LR, KNN, MLP).
    pub accuracy: BTreeMap<String, (f64, f64)>,
    pub delta: f64,
    pub paper_delta: Option<f64>,
    pub af_correlation: f64,
    /// Pooled over groups (inflated by between-group structure).
    pub ld_r2_correlation_pooled: f64,
    /// Mean over groups of each group's own LD r^2 correlation.
    pub ld_r2_correlation_within: f64,
    pub adversarial_accuracy: f64,
    pub identical_fraction: f64,
    /// Seconds of gmmn-train summed over groups (None for baselines).
    pub train_seconds: Option<f64>,
    pub report: String,
}

/// Read `comparison` of report.json at `path` into a row.
fn read_row(path: &Path, comparison: &str, name: &str, label: &str) -> Result<Row, TableError> {
    open_artifact(path, ArtifactKind::Report)?;
    let bad = |message: String| TableError::Report {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let report: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let c = report["comparisons"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == comparison))
        .ok_or_else(|| bad(format!("no comparison `{comparison}`")))?;
    let num = |v: &Value, what: &str| {
        v.as_f64()
            .ok_or_else(|| bad(format!("{comparison}: `{what}` is not a number")))
    };
    let mut accuracy = BTreeMap::new();
    for cl in c["classifiers"].as_array().into_iter().flatten() {
        let n = cl["name"].as_str().unwrap_or("?").to_string();
        accuracy.insert(n, (num(&cl["mean"], "mean")?, num(&cl["sd"], "sd")?));
    }
    let f = &c["fidelity"];
    let within: Vec<f64> = c["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["fidelity"]["ld_r2_correlation"].as_f64())
        .collect();
    Ok(Row {
        name: name.into(),
        label: label.into(),
        accuracy,
        delta: num(&c["delta"], "delta")?,
        paper_delta: None,
        af_correlation: num(
            &f["allele_frequency_correlation"],
            "allele_frequency_correlation",
        )?,
        ld_r2_correlation_pooled: num(&f["ld_r2_correlation"], "ld_r2_correlation")?,
        ld_r2_correlation_within: if within.is_empty() {
            f64::NAN
        } else {
            within.iter().sum::<f64>() / within.len() as f64
        },
        adversarial_accuracy: num(&f["adversarial_accuracy"], "adversarial_accuracy")?,
        identical_fraction: num(&f["identical_fraction"], "identical_fraction")?,
        train_seconds: None,
        report: path.to_string_lossy().into_owned(),
    })
}

/// The rows of a finished run: each variant's report, then the baselines.
pub fn rows(
    spec: &Spec,
    dir: &Path,
    groups: &[String],
    timings: &Timings,
) -> Result<Vec<Row>, TableError> {
    let mut rows = Vec::new();
    if spec.discriminate {
        for v in &spec.variants {
            let path = dir.join(&v.name).join("report").join("report.json");
            let mut row = read_row(&path, "synthetic", &v.name, &v.label)?;
            row.paper_delta = v.paper_delta;
            let secs: Vec<f64> = groups
                .iter()
                .filter_map(|g| timings.get(&format!("train/{}/{g}", v.name)).copied())
                .collect();
            row.train_seconds = (secs.len() == groups.len()).then(|| secs.iter().sum());
            rows.push(row);
        }
    }
    let baselines = dir.join("baselines").join("report.json");
    for b in &spec.baselines {
        let label = match b.as_str() {
            "holdout" => "noise floor: real vs held-out real",
            _ => "naive simulator: independent SNPs at the group's frequencies",
        };
        rows.push(read_row(&baselines, b, b, label)?);
    }
    Ok(rows)
}

/// The Markdown table of `rows`.
pub fn markdown(spec: &Spec, dir: &Path, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}: real vs synthetic haplotypes\n", spec.name);
    if let Some(d) = &spec.description {
        let _ = writeln!(s, "{}\n", d.trim());
    }
    let _ = writeln!(
        s,
        "Accuracy of classifiers told to separate real from synthetic haplotypes (mean ± sd over \
         the splits; 0.5 = indistinguishable). Delta = max |0.5 - accuracy|. LD: correlation of \
         r² over nearby SNP pairs, the mean of each group's own (the pooled figure is inflated \
         by between-group structure). AATS: nearest-neighbour adversarial accuracy (0.5 ideal).\n"
    );
    let _ = writeln!(
        s,
        "| configuration | LR | KNN | MLP | Delta | paper Delta | AF corr | LD r² corr | AATS | identical | train time |"
    );
    let _ = writeln!(s, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let acc = |c: &str| {
            r.accuracy
                .get(c)
                .map_or("-".into(), |(m, sd)| format!("{m:.3} ± {sd:.3}"))
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.3} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
            r.label,
            acc("LR"),
            acc("KNN"),
            acc("MLP"),
            r.delta,
            r.paper_delta.map_or("-".into(), |d| format!("{d:.2}")),
            r.af_correlation,
            r.ld_r2_correlation_within,
            r.adversarial_accuracy,
            r.identical_fraction,
            r.train_seconds.map_or("-".into(), |t| format!("{t:.0} s")),
        );
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
        "rows": rows,
    }))
    .expect("rows serialise");

    let mut inputs = vec![FileRef::hashed("spec", &spec.path, dir)?];
    let mut reports: Vec<String> = rows.iter().map(|r| r.report.clone()).collect();
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
        .param("baselines", spec.baselines.clone());
        for r in &rows {
            m.params
                .insert(format!("delta_{}", r.name), Value::from(r.delta));
        }
        m.inputs = inputs.clone();
        m.shape = vec![rows.len() as u64];
        m.seed = Some(spec.seed);
        m
    };
    let mut out = OutputSet::new();
    out.stage_artifact(&dir.join("table.md"), manifest("markdown"), |w| {
        std::io::Write::write_all(w, md.as_bytes())
            .map_err(|e| artifact::ArtifactError::io(&dir.join("table.md"), e))
    })?;
    out.stage_artifact(&dir.join("table.json"), manifest("json"), |w| {
        std::io::Write::write_all(w, json.as_bytes())
            .map_err(|e| artifact::ArtifactError::io(&dir.join("table.json"), e))
    })?;
    out.commit()?;
    Ok(md)
}
