//! `gmmn run` end to end on workflows/tiny.yaml: the layout (the held-out split, a reference
//! simulator), the final table (realism, privacy and utility), incremental reruns (nothing, a
//! changed parameter, a damaged output), and bad specs (the old baselines) and failing stages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gmmn_sim::{bin, repo_root, stderr, stdout};

fn gmmn(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(bin("gmmn"));
    for a in args {
        cmd.arg(a.as_ref());
    }
    cmd.output().expect("gmmn starts")
}

fn run_spec(spec: &Path, out: &Path, extra: &[&str]) -> Output {
    let bin_dir = bin("gmmn").parent().unwrap().to_path_buf();
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"run", &spec, &"--out", &out, &"--bin", &bin_dir];
    for e in extra {
        args.push(e);
    }
    gmmn(&args)
}

/// workflows/tiny.yaml with its data paths made absolute and `edit` applied, written into `dir`.
fn tiny_spec(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("workflows/tiny.yaml")).unwrap();
    let data = repo_root().join("data");
    let text = text.replace("../data", &data.to_string_lossy());
    let path = dir.join("spec.yaml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn ran(o: &Output, step: &str) -> bool {
    stderr(o)
        .lines()
        .any(|l| l.contains(" ran ") && l.trim_end().ends_with(&format!("s  {step}")))
}

fn up_to_date(o: &Output, step: &str) -> bool {
    stderr(o)
        .lines()
        .any(|l| l.trim() == format!("up to date  {step}"))
}

#[test]
fn tiny_spec_runs_then_reruns_only_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let spec = tiny_spec(tmp.path(), |t| t);

    let first = run_spec(&spec, &out, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    for f in [
        "ingest/genotypes.parquet",
        "groups/EAS.parquet",
        "groups/EUR.parquet",
        "groups/EAS.heldout.parquet",
        "groups/EUR.heldout.variants.parquet",
        "relu/EAS/sketch/sketch.npy",
        "relu/EUR/model/model.safetensors",
        "identity/EAS/model/model.safetensors",
        "relu/synthetic/EAS.parquet",
        "relu/synthetic/EUR.vcf.gz",
        "relu/projection/coordinates.parquet",
        "relu/projection/pca.png",
        "identity/report/report.json",
        "identity/report/synthetic.ld_decay.png",
        "relu/report/synthetic.allele_frequencies.svg",
        "baselines/report.json",
        "baselines/floor.minor_alleles.png",
        "baselines/floor.nn_distances.svg",
        "references/independent/synthetic/EAS.parquet",
        "references/independent/synthetic/EUR.vcf.gz",
        "references/independent/synthetic/EUR.panel.tsv",
        "references/independent/report/report.json",
        "references/independent/report/synthetic.ld_decay.png",
        "references/independent/report/synthetic.dcr.svg",
        "relu/report/synthetic.dcr.png",
        "table.md",
        "table.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
        assert!(
            artifact::manifest_path(&out.join(f)).is_file(),
            "{f} has no manifest"
        );
    }
    assert!(
        !out.join("relu/projection/isomap.png").exists(),
        "the spec asks for PCA only"
    );
    // Half of each group's individuals held out (the spec's holdout: 0.5, with its seed); the
    // generators see the training part, and sample as many haplotypes as it has.
    for g in ["EAS", "EUR"] {
        let training =
            artifact::Manifest::read_for(&out.join(format!("groups/{g}.parquet"))).unwrap();
        let heldout =
            artifact::Manifest::read_for(&out.join(format!("groups/{g}.heldout.parquet"))).unwrap();
        assert_eq!(training.params["part"], "training", "{g}");
        assert_eq!(heldout.params["part"], "heldout", "{g}");
        assert_eq!(heldout.params["holdout_fraction"], 0.5, "{g}");
        assert_eq!(heldout.seed, Some(1), "{g}");
        let (t, h) = (training.counts["haplotypes"], heldout.counts["haplotypes"]);
        assert!(
            t > 400 && t.abs_diff(h) <= 2,
            "{g}: {t} training, {h} held out"
        );
        let synthetic =
            artifact::Manifest::read_for(&out.join(format!("relu/synthetic/{g}.parquet"))).unwrap();
        assert_eq!(synthetic.counts["haplotypes"], t, "{g}");
        // The reference simulated the training part, as many haplotypes, and says it is not private.
        let reference = artifact::Manifest::read_for(
            &out.join(format!("references/independent/synthetic/{g}.parquet")),
        )
        .unwrap();
        assert_eq!(reference.params["method"], "independent", "{g}");
        assert_eq!(reference.params["private"], false, "{g}");
        assert_eq!(reference.counts["haplotypes"], t, "{g}");
    }
    // Every gmmn-discriminate judged against the held-out part.
    for step in [
        "discriminate__relu",
        "discriminate__reference__independent",
        "baselines",
    ] {
        let stamp: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!(".gmmn/{step}.json"))).unwrap(),
        )
        .unwrap();
        let args: Vec<&str> = stamp["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let groups = out.join("groups");
        let groups = groups.to_str().unwrap();
        assert!(
            args.windows(4)
                .any(|w| w == ["--real", groups, "--heldout", groups]),
            "{step}: {args:?}"
        );
    }

    // The table: realism, then privacy and utility; in each the two variants, the reference
    // (marked not private) and the noise floor, printed and written.
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(stdout(&first).contains(&table));
    assert!(
        table.contains("## Realism") && table.contains("## Privacy and utility"),
        "{table}"
    );
    let header = table
        .lines()
        .find(|l| l.starts_with("| configuration | AATS train"))
        .unwrap_or_else(|| panic!("no privacy table: {table}"));
    for column in [
        "privacy loss",
        "identical (held-out real)",
        "membership AUC",
        "hardest pair",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let rows = gmmn_sim::table_rows(&table);
    assert_eq!(rows.len(), 8, "{table}");
    for half in [&rows[..4], &rows[4..]] {
        assert!(
            half[0].starts_with("| quantizer + ReLU features, restarts |"),
            "{table}"
        );
        assert!(half[1].starts_with("| quantizer + identity |"), "{table}");
        assert!(
            half[2].starts_with(
                "| independent SNPs at the training allele frequencies (reference, not private: uses real haplotypes) |"
            ),
            "{table}"
        );
        assert!(
            half[3].starts_with("| noise floor: training vs held-out real |"),
            "{table}"
        );
    }
    // The paper's protocol is off in tiny.yaml: its Delta column says so.
    let cells = |row: &str| -> Vec<String> {
        row.trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    assert_eq!(cells(rows[0])[5], "-", "{table}");
    // Privacy figures for the synthetic rows (numbers), none for the floor.
    assert!(cells(rows[4])[4].parse::<f64>().is_ok(), "{table}");
    assert!(cells(rows[6])[4].parse::<f64>().is_ok(), "{table}");
    assert_eq!(cells(rows[7])[4], "-", "{table}");
    assert!(table.contains("Privacy flags"), "{table}");

    // table.json: the typed rows, the same numbers as the reports.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["variant", "variant", "reference", "floor"]);
    let report = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(p)).unwrap()).unwrap()
    };
    let baseline = report("baselines/report.json");
    assert_eq!(baseline["comparisons"][0]["name"], "floor");
    assert_eq!(
        json["rows"][3]["delta"],
        baseline["comparisons"][0]["delta"]
    );
    let independent = report("references/independent/report/report.json");
    let c = &independent["comparisons"][0];
    assert_eq!(json["rows"][2]["delta"], c["delta"]);
    assert_eq!(
        json["rows"][2]["privacy"]["membership_auc"],
        c["privacy"]["membership_auc"]
    );
    assert_eq!(
        json["rows"][2]["utility"]["hardest_pair"],
        c["utility"]["hardest_pair"]
    );
    assert!(json["rows"][3]["privacy"].is_null());
    assert!(json["rows"][2]["train_seconds"].as_f64().unwrap() > 0.0);
    let steps = 2 + 1 + 2 * 2 * 3 + 1 + 2 * 2 + 1;
    assert!(
        stdout(&first).contains(&format!("{steps} steps ran, 0 up to date")),
        "{}",
        stdout(&first)
    );

    // The run is sealed and passes its audit.
    assert!(out.join("ledger.yaml").is_file());
    let audit = gmmn(&[&"audit", &out, &"--no-lineage"]);
    assert!(
        audit.status.success(),
        "{}{}",
        stdout(&audit),
        stderr(&audit)
    );

    // Nothing changed: nothing runs, whatever --jobs.
    let again = run_spec(&spec, &out, &["--jobs", "2"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains(&format!("0 steps ran, {steps} up to date")),
        "{}",
        stdout(&again)
    );

    // A lost diagnostics figure reruns its gmmn-discriminate step, and that step only.
    std::fs::remove_file(out.join("relu/report/synthetic.nn_distances.png")).unwrap();
    let refigured = run_spec(&spec, &out, &[]);
    assert!(refigured.status.success(), "{}", stderr(&refigured));
    assert!(
        ran(&refigured, "discriminate/relu"),
        "{}",
        stderr(&refigured)
    );
    assert!(
        stdout(&refigured).contains(&format!("1 steps ran, {} up to date", steps - 1)),
        "{}",
        stdout(&refigured)
    );
    assert!(out.join("relu/report/synthetic.nn_distances.png").is_file());

    // A changed training parameter of one variant reruns that variant's training onwards.
    let spec2 = tiny_spec(tmp.path(), |t| {
        t.replace(
            "train: {restart-every: 0}",
            "train: {restart-every: 0, steps: 5}",
        )
    });
    let changed = run_spec(&spec2, &out, &[]);
    assert!(changed.status.success(), "{}", stderr(&changed));
    for step in [
        "train/identity/EAS",
        "train/identity/EUR",
        "sample/identity/EAS",
        "discriminate/identity",
    ] {
        assert!(
            ran(&changed, step),
            "{step} should rerun:\n{}",
            stderr(&changed)
        );
    }
    for step in [
        "sketch/identity/EAS",
        "train/relu/EAS",
        "sample/relu/EUR",
        "discriminate/relu",
        "baselines",
        "reference/independent",
        "discriminate/reference/independent",
    ] {
        assert!(
            up_to_date(&changed, step),
            "{step} should be up to date:\n{}",
            stderr(&changed)
        );
    }
    let model =
        artifact::Manifest::read_for(&out.join("identity/EAS/model/model.safetensors")).unwrap();
    assert_eq!(model.params["steps"], 5);

    // A damaged output is rebuilt; the same seed writes the same bytes, so later steps stay.
    let sketch = out.join("relu/EAS/sketch/sketch.npy");
    let good = std::fs::read(&sketch).unwrap();
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    std::fs::write(&sketch, &bad).unwrap();
    let repaired = run_spec(&spec2, &out, &[]);
    assert!(repaired.status.success(), "{}", stderr(&repaired));
    assert!(ran(&repaired, "sketch/relu/EAS"), "{}", stderr(&repaired));
    assert!(
        up_to_date(&repaired, "train/relu/EAS"),
        "{}",
        stderr(&repaired)
    );
    assert_eq!(std::fs::read(&sketch).unwrap(), good);
    let audit = gmmn(&[&"audit", &out, &"--no-lineage"]);
    assert!(
        audit.status.success(),
        "resealed after the rerun: {}",
        stdout(&audit)
    );

    // A manifest from an older version (a field the schema now requires is missing) is not
    // reused: its step reruns, writes the same bytes, and the tree passes the audit again.
    let meta = artifact::manifest_path(&out.join("relu/EUR/model/model.safetensors"));
    let text = std::fs::read_to_string(&meta).unwrap();
    assert!(text.contains("  local_blocks: 1\n"), "{text}");
    std::fs::write(&meta, text.replace("  local_blocks: 1\n", "")).unwrap();
    let upgraded = run_spec(&spec2, &out, &[]);
    assert!(upgraded.status.success(), "{}", stderr(&upgraded));
    assert!(ran(&upgraded, "train/relu/EUR"), "{}", stderr(&upgraded));
    assert!(
        up_to_date(&upgraded, "sample/relu/EUR"),
        "{}",
        stderr(&upgraded)
    );
    let audit = gmmn(&[&"audit", &out, &"--no-lineage"]);
    assert!(audit.status.success(), "{}", stdout(&audit));

    // --from reruns a stage and every later one (the references hang off the split: kept).
    let from = run_spec(&spec2, &out, &["--from", "sample"]);
    assert!(from.status.success(), "{}", stderr(&from));
    assert!(ran(&from, "sample/relu/EAS") && ran(&from, "discriminate/relu"));
    assert!(up_to_date(&from, "train/relu/EAS"));
    assert!(
        up_to_date(&from, "reference/independent"),
        "{}",
        stderr(&from)
    );

    // The paper's protocol switched on: only its three gmmn-discriminate runs (the two variants,
    // the reference) are added, and the table shows their Delta beside the strict one.
    let spec3 = tiny_spec(tmp.path(), |t| {
        t.replace(
            "train: {restart-every: 0}",
            "train: {restart-every: 0, steps: 5}",
        )
        .replace(
            "  holdout: 0.5\n",
            "  holdout: 0.5\n  paper-protocol: true\n",
        )
    });
    let paper = run_spec(&spec3, &out, &[]);
    assert!(paper.status.success(), "{}", stderr(&paper));
    assert!(
        stdout(&paper).contains(&format!("3 steps ran, {steps} up to date")),
        "{}",
        stdout(&paper)
    );
    for step in [
        "discriminate-paper/relu",
        "discriminate-paper/identity",
        "discriminate-paper/reference/independent",
    ] {
        assert!(ran(&paper, step), "{step}: {}", stderr(&paper));
    }
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("references/independent/report-paper/report.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(report["comparisons"][0]["protocol"], "paper");
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    let rows = gmmn_sim::table_rows(&table);
    for row in &rows[..3] {
        let delta: f64 = cells(row)[5].parse().unwrap_or_else(|_| panic!("{table}"));
        assert!((0.0..=0.5).contains(&delta), "{table}");
    }
    assert_eq!(cells(rows[3])[5], "-", "no paper run of the floor: {table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap()).unwrap();
    assert_eq!(
        json["rows"][2]["delta_paper_protocol"],
        report["comparisons"][0]["delta"]
    );
    let audit = gmmn(&[&"audit", &out, &"--no-lineage"]);
    assert!(audit.status.success(), "{}", stdout(&audit));
}

#[test]
fn bad_specs_and_failing_stages_are_reported() {
    let tmp = tempfile::tempdir().unwrap();

    // A misspelt key: named with its place, nothing written.
    let spec = tiny_spec(tmp.path(), |t| t.replace("steps: 4", "stepz: 4"));
    let out = tmp.path().join("run");
    let o = run_spec(&spec, &out, &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("spec.yaml") && e.contains("stages.train") && e.contains("stepz"),
        "{e}"
    );
    assert!(!out.exists(), "nothing may be written for an invalid spec");

    // A spec of the old format: each old baseline refused with what to write instead.
    let spec = tiny_spec(tmp.path(), |t| {
        t.replace("baselines: [floor]", "baselines: [holdout, independent]")
    });
    let o = run_spec(&spec, &out, &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("evaluate.baselines[0]")
            && e.contains("`holdout` is now called `floor`")
            && e.contains("write `baselines: [floor]`"),
        "{e}"
    );
    assert!(
        e.contains("evaluate.baselines[1]")
            && e.contains("references: [{name: independent, method: independent}]"),
        "{e}"
    );
    assert!(!out.exists(), "nothing may be written for an old spec");

    // A missing input file.
    let spec = tiny_spec(tmp.path(), |t| {
        t.replace("1kg_phase3.panel", "no-such.panel")
    });
    let o = run_spec(&spec, &out, &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("input.panel") && stderr(&o).contains("no-such.panel"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());

    // A stage that refuses its parameters: the step, the command and the stage's message.
    let spec = tiny_spec(tmp.path(), |t| {
        t.replace(
            "sketch: {features: identity}",
            "sketch: {features: identity, restarts: 3}",
        )
    });
    let o = run_spec(&spec, &out, &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("sketch/identity/") && e.contains("failed"),
        "{e}"
    );
    assert!(
        e.contains("gmmn-sketch") && e.contains("--restarts 3"),
        "{e}"
    );
    assert!(e.contains("identity"), "{e}");
    assert!(
        !out.join("table.md").exists(),
        "no table after a failed step"
    );

    // `gmmn check` validates without running.
    let good = tiny_spec(tmp.path(), |t| t);
    let o = gmmn(&[&"check", &good]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("relu, identity"));
}

/// Every shipped spec passes `gmmn check` (schema, variants, input files), so a spec edited for a
/// new row cannot break `make reproduce` unnoticed.
#[test]
fn every_shipped_spec_is_valid() {
    let mut checked = 0;
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_root().join("workflows")).unwrap() {
        let mut path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "validation.yaml") {
            // Its input is simulated by `make validate` (tools/validation_data.py, which swaps
            // the input lines as here): check its configuration on the shipped 5k data.
            let text = std::fs::read_to_string(&path).unwrap();
            let data = repo_root().join("data");
            let text: String = text
                .lines()
                .map(|l| {
                    if l.starts_with("  vcf: ") {
                        format!("  vcf: {}", data.join("sim_ooa4_chr22_5k.vcf.gz").display())
                    } else if l.starts_with("  panel: ") {
                        format!(
                            "  panel: {}",
                            data.join("sim_ooa4_chr22_5k.panel").display()
                        )
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            path = tmp.path().join("validation.yaml");
            std::fs::write(&path, text).unwrap();
        }
        if path.extension().is_some_and(|e| e == "yaml") {
            let o = gmmn(&[&"check", &path]);
            assert!(o.status.success(), "{}: {}", path.display(), stderr(&o));
            assert!(stdout(&o).contains("valid"), "{}", stdout(&o));
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} specs found");
}

/// A second `gmmn run` on an output directory another run holds is refused at once, with the
/// holder named and nothing written.
#[test]
fn a_second_run_on_the_same_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let spec = tiny_spec(tmp.path(), |t| t);
    std::fs::create_dir_all(out.join(".gmmn")).unwrap();
    let lock_path = out.join(".gmmn/run.lock");
    std::fs::write(&lock_path, "pid 4242, started 2026-12-02T00:00:00Z\n").unwrap();
    let holder = std::fs::File::open(&lock_path).unwrap();
    holder.try_lock().unwrap();
    let o = run_spec(&spec, &out, &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("another gmmn run is using this output directory (pid 4242"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    assert!(!out.join("ingest").exists(), "a refused run wrote nothing");
    // (A lock file whose holder is gone is taken over: the unit tests of workflow::run.)
}

#[test]
fn sketch_attack_adds_columns_and_the_privacy_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // The tiny spec with the sketch attack, no projection, and its identity variant made
    // (5, 1e-6)-DP.
    let spec = tiny_spec(tmp.path(), |t| {
        t.replace(
            "  holdout: 0.5\n",
            "  holdout: 0.5\n  sketch-attack: true\n",
        )
        .replace("  project: true\n", "  project: false\n")
        .replace(
            "    sketch: {features: identity}\n",
            "    sketch: {features: identity, dp-epsilon: 5, dp-delta: 0.000001}\n",
        )
    });
    let o = run_spec(&spec, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for step in ["sketch-attack/relu/EAS", "sketch-attack/identity/EUR"] {
        assert!(ran(&o, step), "{step} did not run:\n{}", stderr(&o));
    }
    for f in [
        "relu/EAS/attack/attack.json",
        "identity/EUR/attack/attack.json",
        "privacy.png",
        "privacy.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap()).unwrap();
    let rows = table["rows"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap();
    assert_eq!(row("identity")["sketch_epsilon"].as_f64(), Some(5.0));
    assert!(row("relu")["sketch_epsilon"].is_null());
    for v in ["relu", "identity"] {
        let auc = row(v)["sketch_attack_auc"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&auc), "{v}: {auc}");
    }
    assert!(row("independent")["sketch_attack_auc"].is_null());
    let md = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(
        md.contains("| sketch epsilon | sketch attack AUC |"),
        "{md}"
    );
    assert!(md.contains("privacy.png"));
    let audit = gmmn(&[&"audit", &out, &"--no-lineage"]);
    assert!(audit.status.success(), "{}", stdout(&audit));
    // A rerun runs nothing.
    let again = run_spec(&spec, &out, &[]);
    assert!(again.status.success());
    assert!(
        up_to_date(&again, "sketch-attack/relu/EAS"),
        "{}",
        stderr(&again)
    );

    // Without a hold-out the attack has no non-members: refused by name.
    let bad = tiny_spec(tmp.path(), |t| {
        t.replace("  holdout: 0.5\n", "  sketch-attack: true\n")
    });
    let o = gmmn(&[&"check", &bad]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("evaluate.sketch-attack"),
        "{}",
        stderr(&o)
    );
}
