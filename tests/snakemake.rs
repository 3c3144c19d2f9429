//! workflows/Snakefile on workflows/tiny.yaml under a real Snakemake: the layout of `gmmn run`
//! (data, manifests, logs, the recorded commands; the held-out split, the reference simulator and
//! its report), the spec's parameters reaching the stages,
//! as many synthetic haplotypes as real per group, the reports, the final table and the sealed
//! ledger; a second Snakemake run does nothing and `gmmn run` finds every step up to date. A bad
//! spec is refused before anything runs, naming the key.
//!
//! Snakemake comes from PyPI into the project's venv (.venv, made by `make setup`) the first time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use artifact::Manifest;
use gmmn_sim::{bin, files_below, repo_root, stderr, stdout, venv_python_with};
use serde_json::Value;

/// What every simulator writes per group (each with a manifest), beside the VCF's index.
const SYNTHETIC_FILES: [&str; 7] = [
    "parquet",
    "variants.parquet",
    "vcf.gz",
    "bed",
    "bim",
    "fam",
    "panel.tsv",
];

/// The Snakemake the Snakefile is tested with (supports Python 3.11 to 3.13).
const SNAKEMAKE: &str = "9.27.1";

/// .venv/bin/snakemake at version SNAKEMAKE, installed with the venv's pip when missing.
fn snakemake() -> PathBuf {
    let python = venv_python_with(&format!("snakemake=={SNAKEMAKE}"), |python| {
        Command::new(python.with_file_name("snakemake"))
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success() && stdout(&o).trim() == SNAKEMAKE)
    });
    python.with_file_name("snakemake")
}

/// The directory of the stage binaries (and gmmn) of this profile.
fn bin_dir() -> PathBuf {
    bin("gmmn-ingest").parent().unwrap().to_path_buf()
}

/// Snakemake on `spec` into `out`, run from `work` (which gets its .snakemake/), on 2 cores.
fn run_snakemake(spec: &Path, out: &Path, work: &Path, extra: &[&str]) -> Output {
    std::fs::create_dir_all(work).unwrap();
    Command::new(snakemake())
        .arg("-s")
        .arg(repo_root().join("workflows").join("Snakefile"))
        .arg("--configfile")
        .arg(spec)
        .arg("--config")
        .arg(format!("out={}", out.display()))
        .arg(format!("bin={}", bin_dir().display()))
        .args(["--cores", "2", "--show-failed-logs"])
        .args(extra)
        .current_dir(work)
        .output()
        .expect("snakemake starts")
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

fn manifest(path: &Path) -> Manifest {
    Manifest::read_for(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn comparisons(report: &Value) -> Vec<&str> {
    report["comparisons"]
        .as_array()
        .expect("comparisons")
        .iter()
        .map(|c| c["name"].as_str().expect("comparison name"))
        .collect()
}

#[test]
fn snakemake_runs_tiny_spec_in_the_layout_of_gmmn_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let work = tmp.path().join("work");
    let spec = repo_root().join("workflows").join("tiny.yaml");

    let o = run_snakemake(&spec, &out, &work, &[]);
    assert!(o.status.success(), "snakemake failed:\n{}", both(&o));
    assert!(
        work.join(".snakemake").is_dir(),
        "snakemake's state belongs in its working dir"
    );
    assert!(!out.join(".snakemake").exists());

    // The layout, file for file: every data file with its manifest; logs and recorded commands
    // under gmmn run's step names.
    let groups = ["EAS", "EUR"];
    let variants = ["relu", "identity"];
    let mut want: Vec<String> = Vec::new();
    // Files without a manifest of their own.
    let mut index: Vec<String> = Vec::new();
    let mut data = |f: String| {
        want.push(format!("{f}.meta.yaml"));
        want.push(f);
    };
    data("ingest/genotypes.parquet".into());
    data("ingest/variants.parquet".into());
    for g in groups {
        data(format!("groups/{g}.parquet"));
        data(format!("groups/{g}.variants.parquet"));
        data(format!("groups/{g}.heldout.parquet"));
        data(format!("groups/{g}.heldout.variants.parquet"));
    }
    data("baselines/report.json".into());
    data("baselines/report.md".into());
    let figures = [
        "minor_alleles",
        "ld_decay",
        "nn_distances",
        "allele_frequencies",
    ];
    for f in figures {
        data(format!("baselines/floor.{f}.png"));
        data(format!("baselines/floor.{f}.svg"));
    }
    // tiny.yaml's one reference simulator, judged as a variant is.
    for g in groups {
        for ext in SYNTHETIC_FILES {
            data(format!("references/independent/synthetic/{g}.{ext}"));
        }
        // The VCF's tabix index, hashed in the VCF's manifest (no manifest of its own).
        index.push(format!("references/independent/synthetic/{g}.vcf.gz.tbi"));
    }
    data("references/independent/report/report.json".into());
    data("references/independent/report/report.md".into());
    for f in figures.iter().chain(&["dcr"]) {
        data(format!("references/independent/report/synthetic.{f}.png"));
        data(format!("references/independent/report/synthetic.{f}.svg"));
    }
    for v in variants {
        for g in groups {
            data(format!("{v}/{g}/sketch/sketch.npy"));
            data(format!("{v}/{g}/sketch/variants.parquet"));
            for f in [
                "model.safetensors",
                "variants.parquet",
                "loss.csv",
                "loss.png",
            ] {
                data(format!("{v}/{g}/model/{f}"));
            }
            for ext in SYNTHETIC_FILES {
                data(format!("{v}/synthetic/{g}.{ext}"));
            }
            index.push(format!("{v}/synthetic/{g}.vcf.gz.tbi"));
        }
        data(format!("{v}/projection/coordinates.parquet"));
        // tiny.yaml projects with PCA only.
        for plot in ["pca", "pca.EAS", "pca.EUR"] {
            data(format!("{v}/projection/{plot}.png"));
            data(format!("{v}/projection/{plot}.svg"));
        }
        data(format!("{v}/report/report.json"));
        data(format!("{v}/report/report.md"));
        // tiny.yaml holds out half: the synthetic comparison has privacy figures (dcr).
        for f in figures.iter().chain(&["dcr"]) {
            data(format!("{v}/report/synthetic.{f}.png"));
            data(format!("{v}/report/synthetic.{f}.svg"));
        }
    }
    data("table.md".into());
    data("table.json".into());
    want.extend(index);
    want.push("ledger.yaml".into());
    let mut steps = vec![
        "ingest".to_string(),
        "split".into(),
        "baselines".into(),
        "reference__independent".into(),
        "discriminate__reference__independent".into(),
    ];
    for v in variants {
        for g in groups {
            for s in ["sketch", "train", "sample"] {
                steps.push(format!("{s}__{v}__{g}"));
            }
        }
        steps.push(format!("project__{v}"));
        steps.push(format!("discriminate__{v}"));
    }
    for s in &steps {
        want.push(format!("logs/{s}.log"));
        want.push(format!(".gmmn/{s}.json"));
    }
    want.sort();
    assert_eq!(files_below(&out), want, "the run directory's files");

    // Each log holds its stage's output; each stamp the stage's command.
    let log = std::fs::read_to_string(out.join("logs/sample__relu__EAS.log")).unwrap();
    assert!(log.contains("EAS"), "sample's log: {log}");
    let stamp = json(&out.join(".gmmn/train__identity__EUR.json"));
    assert_eq!(stamp["program"], "gmmn-train");
    assert!(stamp["seconds"].as_f64().unwrap() > 0.0);
    let args: Vec<&str> = stamp["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], out.join("identity/EUR/sketch").to_str().unwrap());
    assert!(
        args.windows(2).any(|w| w == ["--restart-every", "0"]),
        "{args:?}"
    );

    // The spec's parameters reached the stages: shared ones, the variants' overrides, the seed.
    for g in groups {
        let relu = manifest(&out.join(format!("relu/{g}/sketch/sketch.npy")));
        assert_eq!(relu.params["features"], "relu");
        assert_eq!(relu.params["restarts"], 2);
        assert_eq!(relu.params["multiplier"], 1);
        assert_eq!(relu.seed, Some(1));
        let identity = manifest(&out.join(format!("identity/{g}/sketch/sketch.npy")));
        assert_eq!(identity.params["features"], "identity");
        for (v, restart_every) in [("relu", 2), ("identity", 0)] {
            let model = manifest(&out.join(format!("{v}/{g}/model/model.safetensors")));
            assert_eq!(model.params["steps"], 4, "{v}/{g}");
            assert_eq!(model.params["hidden"], 32, "{v}/{g}");
            assert_eq!(model.params["latent"], 8, "{v}/{g}");
            assert_eq!(model.params["restart_every"], restart_every, "{v}/{g}");
            assert_eq!(model.params["seed"], 1, "{v}/{g}");
        }
    }

    // Half of each group held out (holdout: 0.5, the spec's seed); as many synthetic haplotypes
    // as training ones, per variant and group, and from the reference.
    for g in groups {
        let training = manifest(&out.join(format!("groups/{g}.parquet")));
        let heldout = manifest(&out.join(format!("groups/{g}.heldout.parquet")));
        assert_eq!(training.params["part"], "training", "{g}");
        assert_eq!(heldout.params["holdout_fraction"], 0.5, "{g}");
        assert_eq!(heldout.seed, Some(1), "{g}");
        let real = training.counts["haplotypes"];
        assert!(real > 100, "{g}: {real} real haplotypes");
        for v in variants {
            let synthetic = manifest(&out.join(format!("{v}/synthetic/{g}.parquet")));
            assert_eq!(synthetic.counts["haplotypes"], real, "{v}/synthetic/{g}");
        }
        let reference =
            manifest(&out.join(format!("references/independent/synthetic/{g}.parquet")));
        assert_eq!(reference.params["method"], "independent");
        assert_eq!(reference.params["private"], false);
        assert_eq!(reference.counts["haplotypes"], real, "reference {g}");
    }

    // The reports: the noise floor alone in baselines (training vs held-out), held-out real vs
    // synthetic per variant and for the reference, over both groups, with the spec's one split.
    let baselines = json(&out.join("baselines/report.json"));
    assert_eq!(comparisons(&baselines), ["floor"]);
    for v in variants
        .iter()
        .map(|v| v.to_string())
        .chain(["references/independent".to_string()])
    {
        let report = json(&out.join(format!("{v}/report/report.json")));
        assert!(
            !report["heldout"].as_array().unwrap().is_empty(),
            "{v}: judged against the held-out part"
        );
        assert!(
            report["comparisons"][0]["privacy"]["membership_auc"].is_number(),
            "{v}: privacy figures"
        );
        assert_eq!(comparisons(&report), ["synthetic"], "{v}");
        assert_eq!(report["groups"], serde_json::json!(groups), "{v}");
        assert_eq!(report["protocol"]["splits"], 1, "{v}");
        assert_eq!(report["protocol"]["seed"], 1, "{v}");
        let delta = report["comparisons"][0]["delta"].as_f64().unwrap();
        assert!((0.0..=0.5).contains(&delta), "{v}: Delta {delta}");
    }

    // The final table: realism, then privacy and utility, each with a row per variant (by label),
    // the reference and the noise floor; train times from the recorded commands.
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    let rows = gmmn_sim::table_rows(&table);
    assert_eq!(rows.len(), 8, "{table}");
    for half in [&rows[..4], &rows[4..]] {
        assert!(
            half[0].starts_with("| quantizer + ReLU features, restarts |"),
            "{table}"
        );
        assert!(half[1].starts_with("| quantizer + identity |"), "{table}");
        assert!(half[2].contains("reference, not private"), "{table}");
        assert!(half[3].contains("noise floor"), "{table}");
    }
    assert!(table.contains("membership AUC"), "{table}");
    assert!(
        rows[0].trim_end().ends_with(" s |"),
        "train time of the relu row: {table}"
    );

    // Sealed: the ledger names every manifest, and an audit of the directory passes.
    let ledger = std::fs::read_to_string(out.join("ledger.yaml")).unwrap();
    for f in [
        "relu/synthetic/EAS.parquet.meta.yaml",
        "table.md.meta.yaml",
        "baselines/report.json.meta.yaml",
    ] {
        assert!(ledger.contains(f), "ledger.yaml lacks {f}:\n{ledger}");
    }
    let audit = Command::new(bin("gmmn"))
        .arg("audit")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(audit.status.success(), "gmmn audit:\n{}", both(&audit));

    // Nothing to do the second time.
    let again = run_snakemake(&spec, &out, &work, &[]);
    assert!(again.status.success(), "{}", both(&again));
    assert!(
        both(&again).contains("Nothing to be done"),
        "second run:\n{}",
        both(&again)
    );

    // gmmn run finds the same commands already run: the two are interchangeable.
    let gmmn = Command::new(bin("gmmn"))
        .arg("run")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--bin")
        .arg(bin_dir())
        .output()
        .unwrap();
    assert!(gmmn.status.success(), "gmmn run:\n{}", both(&gmmn));
    assert!(
        stdout(&gmmn).contains(&format!("0 steps ran, {} up to date", steps.len())),
        "gmmn run after snakemake:\n{}",
        both(&gmmn)
    );
}

#[test]
fn snakemake_refuses_a_bad_spec_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_root().join("workflows/tiny.yaml")).unwrap();
    let text = text
        .replace("../data", &repo_root().join("data").to_string_lossy())
        .replace("steps: 4", "stepz: 4");
    let spec = tmp.path().join("bad.yaml");
    std::fs::write(&spec, text).unwrap();
    let out = tmp.path().join("out");
    let o = run_snakemake(&spec, &out, &tmp.path().join("work"), &["--dry-run"]);
    assert!(
        !o.status.success(),
        "a spec with `stepz` ran:\n{}",
        both(&o)
    );
    let text = both(&o);
    assert!(
        text.contains("bad.yaml") && text.contains("stages.train") && text.contains("stepz"),
        "{text}"
    );
    assert!(!out.exists());
}
