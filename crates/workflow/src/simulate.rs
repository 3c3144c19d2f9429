//! `gmmn simulate COHORT.vcf.gz --individuals N --out DIR`: the common job in one command.
//!
//! It writes a workflow spec (`DIR/simulate.yaml`) with the project's best configuration and
//! runs it with [`crate::run::run`], so that the run is the same as `gmmn run DIR/simulate.yaml
//! --out DIR` (incremental, audited, sealed), then writes `DIR/simulate.md`: where each
//! group's files are and, with a hold-out, the held-out Delta and the privacy figures.
//!
//! The best configuration is the pattern sketch (contexts up to 100 SNPs shared by at least 5
//! of the group's training haplotypes) and its Markov chain: the lowest held-out Delta measured
//! on the 5k chr22 data, with a privacy loss within 0.02 there (`docs/quality.md`, which also
//! says where it falls short). Without a panel the whole cohort is one group: the panel is made
//! from the VCF's sample ids (`DIR/cohort.panel`).

use std::path::{Path, PathBuf};

use crate::run::{RunError, RunOptions, RunSummary};
use crate::spec::Spec;

/// The configuration `gmmn simulate` trains: what docs/quality.md measures as the best.
pub const BEST_SKETCH: &str = "{features: patterns, order: 100, min-count: 5}";
/// Its name in the run's directory (`DIR/<VARIANT>/synthetic/`).
pub const VARIANT: &str = "chain";

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Run(#[from] RunError),
}

#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub vcf: PathBuf,
    /// Tab-separated panel with a header; None: the whole cohort is `group`.
    pub panel: Option<PathBuf>,
    /// The panel column naming each sample's group.
    pub column: String,
    /// Groups to simulate (None: every one of the panel column).
    pub groups: Option<Vec<String>>,
    /// The group's name when there is no panel.
    pub group: String,
    /// Synthetic individuals per group.
    pub individuals: usize,
    /// Share of each group's individuals held out for the report (0: train on everyone).
    pub holdout: f64,
    pub seed: u64,
    pub out: PathBuf,
    pub jobs: usize,
    /// Directory of the stage binaries.
    pub bin: PathBuf,
}

pub struct SimulateSummary {
    pub run: RunSummary,
    pub spec: PathBuf,
    pub report: PathBuf,
    pub groups: Vec<String>,
    /// `DIR/chain/synthetic`.
    pub synthetic: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SimulateError + '_ {
    move |source| SimulateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn absolute(p: &Path) -> Result<PathBuf, SimulateError> {
    std::path::absolute(p).map_err(io(p))
}

/// YAML string literal (JSON is YAML): paths and names with any character survive.
fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The spec `gmmn simulate` runs, as YAML text (written to `DIR/simulate.yaml`).
pub fn spec_text(opts: &SimulateOptions, vcf: &Path, panel: &Path) -> String {
    let groups = match &opts.groups {
        Some(g) => format!(
            "\n  groups: [{}]",
            g.iter().map(|g| quoted(g)).collect::<Vec<_>>().join(", ")
        ),
        None => String::new(),
    };
    let evaluate = if opts.holdout > 0.0 {
        format!(
            "evaluate:\n  project: false\n  discriminate: true\n  holdout: {}\n  baselines: [floor]\n  \
             # Independent SNPs at the training allele frequencies: the yardstick every\n  \
             # generator must beat (not private: it reads the training haplotypes).\n  \
             references:\n    - {{name: independent, method: independent}}\n",
            opts.holdout
        )
    } else {
        "evaluate:\n  project: false\n  discriminate: false\n".to_string()
    };
    format!(
        "# Written by `gmmn simulate`; `gmmn run THIS_FILE --out DIR` reruns it (only what changed).\n\
         version: 1\n\
         name: simulate\n\
         description: >-\n  \
           {individuals} synthetic individuals per group from {vcf_name}, with the project's best\n  \
           configuration (pattern sketch + Markov chain, docs/quality.md).\n\
         seed: {seed}\n\
         input:\n  vcf: {vcf}\n  panel: {panel}\n  column: {column}{groups}\n\
         {evaluate}\
         variants:\n  \
           - name: {VARIANT}\n    \
             label: pattern sketch (contexts <= 100 SNPs shared by >= 5) + Markov chain\n    \
             sketch: {BEST_SKETCH}\n    \
             sample: {{individuals: {individuals}}}\n",
        individuals = opts.individuals,
        vcf_name = vcf.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        seed = opts.seed,
        vcf = quoted(&vcf.to_string_lossy()),
        panel = quoted(&panel.to_string_lossy()),
        column = quoted(&opts.column),
    )
}

/// Check the options, write the panel (when there is none) and the spec, run it, write the
/// report. An --out directory this call created is removed again when it fails before any
/// artifact is committed (a bad VCF leaves nothing behind); one holding committed artifacts is
/// kept, so that a rerun goes on where the failed one stopped.
pub fn simulate(opts: &SimulateOptions) -> Result<SimulateSummary, SimulateError> {
    let created = !opts.out.exists();
    let result = simulate_in(opts);
    if result.is_err()
        && created
        && opts.out.is_dir()
        && crate::audit::find_manifests(&opts.out, &mut Vec::new()).is_empty()
    {
        let _ = std::fs::remove_dir_all(&opts.out);
    }
    result
}

fn simulate_in(opts: &SimulateOptions) -> Result<SimulateSummary, SimulateError> {
    if opts.individuals == 0 {
        return Err(SimulateError::Usage(
            "--individuals must be at least 1".into(),
        ));
    }
    if !(0.0..1.0).contains(&opts.holdout) {
        return Err(SimulateError::Usage(format!(
            "--holdout {} must be at least 0 and below 1",
            opts.holdout
        )));
    }
    if !opts.vcf.is_file() {
        return Err(SimulateError::Usage(format!(
            "{}: no such VCF file",
            opts.vcf.display()
        )));
    }
    if opts.panel.is_none() && opts.groups.is_some() {
        return Err(SimulateError::Usage(
            "--groups needs --panel (without a panel the whole cohort is one group, --group)"
                .into(),
        ));
    }
    let vcf = absolute(&opts.vcf)?;
    std::fs::create_dir_all(&opts.out).map_err(io(&opts.out))?;
    let out = absolute(&opts.out)?;
    let (panel, column) = match &opts.panel {
        Some(p) => {
            if !p.is_file() {
                return Err(SimulateError::Usage(format!(
                    "{}: no such panel file",
                    p.display()
                )));
            }
            (absolute(p)?, opts.column.clone())
        }
        None => {
            // Refused here rather than by gmmn-split after the ingest has run.
            if !split::valid_group_name(&opts.group) {
                return Err(SimulateError::Usage(format!(
                    "--group `{}`: use letters, digits, `_`, `.` and `-` (not starting with `.`)",
                    opts.group
                )));
            }
            let samples = ingest::sample_names(&vcf)?;
            let mut text = String::from("sample\tgroup\n");
            for s in &samples {
                text.push_str(&format!("{s}\t{}\n", opts.group));
            }
            let path = out.join("cohort.panel");
            write_if_changed(&path, &text)?;
            (path, "group".to_string())
        }
    };
    let spec_path = out.join("simulate.yaml");
    let with_column = SimulateOptions {
        column,
        ..opts.clone()
    };
    write_if_changed(&spec_path, &spec_text(&with_column, &vcf, &panel))?;
    let spec = Spec::load(&spec_path)?;
    let run = crate::run::run(
        &spec,
        &RunOptions {
            out: out.clone(),
            jobs: opts.jobs.max(1),
            from: None,
            bin: opts.bin.clone(),
        },
    )?;
    let groups = crate::run::split_groups(&out).unwrap_or_default();
    let groups = spec.groups.clone().unwrap_or(groups);
    let synthetic = out.join(VARIANT).join("synthetic");
    let report = out.join("simulate.md");
    let text = report_text(opts, &spec_path, &synthetic, &groups, &run.table);
    std::fs::write(&report, text).map_err(io(&report))?;
    Ok(SimulateSummary {
        run,
        spec: spec_path,
        report,
        groups,
        synthetic,
    })
}

/// Rewriting an unchanged file would change its time stamp only, but a spec or panel whose
/// bytes are the same must leave a rerun with nothing to do.
fn write_if_changed(path: &Path, text: &str) -> Result<(), SimulateError> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(io(path))
}

fn report_text(
    opts: &SimulateOptions,
    spec: &Path,
    synthetic: &Path,
    groups: &[String],
    table: &str,
) -> String {
    let mut s = format!(
        "# gmmn simulate\n\n{} synthetic individuals per group ({}) from `{}`, drawn from the Markov \
         chain of a pattern sketch (contexts of up to 100 SNPs shared by at least 5 of the group's \
         training haplotypes; `docs/quality.md`). Spec: `{}` (rerun it with `gmmn run`).\n\n",
        opts.individuals,
        groups.join(", "),
        opts.vcf.display(),
        spec.display()
    );
    s.push_str("## Files per group\n\n| group | phased VCF (+ .tbi) | PLINK 1 (A1 = ALT) | Parquet | panel |\n|---|---|---|---|---|\n");
    for g in groups {
        let p = |ext: &str| format!("`{}`", synthetic.join(format!("{g}.{ext}")).display());
        s.push_str(&format!(
            "| {g} | {} | {} | {} | {} |\n",
            p("vcf.gz"),
            p("bed/.bim/.fam"),
            p("parquet"),
            p("panel.tsv")
        ));
    }
    if opts.holdout > 0.0 {
        s.push_str(&format!(
            "\n## How real and how private\n\n{:.0}% of each group's individuals were held out: the \
             model never saw them, and the figures below judge the synthetic individuals against \
             them (Delta: 0 = indistinguishable; membership AUC: 0.5 = no leak; privacy loss: \
             AATS held-out minus AATS training, near 0 = no copying). `independent` is the \
             yardstick of independent SNPs; `floor` is real against real.\n\n{table}\n",
            opts.holdout * 100.0
        ));
    } else {
        s.push_str(
            "\n`--holdout 0`: trained on every individual, so there is no held-out set to judge \
             the synthetic data against and no figure of realism or privacy is reported.\n",
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(holdout: f64, groups: Option<Vec<String>>) -> SimulateOptions {
        SimulateOptions {
            vcf: "x.vcf".into(),
            panel: None,
            column: "super_pop".into(),
            groups,
            group: "ALL".into(),
            individuals: 7,
            holdout,
            seed: 3,
            out: "out".into(),
            jobs: 1,
            bin: "bin".into(),
        }
    }

    #[test]
    fn the_spec_it_writes_is_valid_and_says_what_it_does() {
        let dir = tempfile::tempdir().unwrap();
        let (vcf, panel) = (dir.path().join("c o.vcf"), dir.path().join("p.tsv"));
        std::fs::write(&vcf, "").unwrap();
        std::fs::write(&panel, "").unwrap();
        for (holdout, groups) in [(0.2, Some(vec!["A".to_string(), "B".into()])), (0.0, None)] {
            let text = spec_text(&opts(holdout, groups.clone()), &vcf, &panel);
            let path = dir.path().join("simulate.yaml");
            std::fs::write(&path, &text).unwrap();
            let spec = Spec::load(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(spec.vcf, vcf);
            assert_eq!(spec.column, "super_pop");
            assert_eq!(spec.groups, groups);
            assert_eq!(spec.seed, 3);
            assert_eq!(spec.holdout, holdout);
            assert_eq!(spec.discriminate, holdout > 0.0);
            assert!(!spec.project);
            assert_eq!(spec.references.len(), (holdout > 0.0) as usize);
            let v = &spec.variants[0];
            assert_eq!(v.name, VARIANT);
            assert_eq!(v.sketch["features"], "patterns");
            assert_eq!(v.sketch["min-count"], 5);
            assert_eq!(v.sample["individuals"], 7);
        }
    }
}
