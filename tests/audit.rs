//! `gmmn audit` on a real artifact tree: the shipped 1000 Genomes slice ingested and split, its
//! EAS group sketched, trained (4 steps) and sampled, and the synthetic data
//! discriminated (floor baseline, one split). The VCF and panel are copied beside the tree
//! (`base/data/`, the tree is `base/run/`), so that manifests name inputs outside the audited
//! directory by relative paths and a copy of `base` is a complete, movable fixture.
//!
//! A sealed tree passes and prints its lineage; each tampering, on a fresh copy, makes the audit
//! exit 1 with a line naming the file. Needs `cargo build --workspace --bins` first.

use std::path::{Path, PathBuf};
use std::process::Command;

use gmmn_sim::{bin, data, files_below, run, stderr};

const VCF: &str = "1kg_phase3_805snp.vcf.gz";
const PANEL: &str = "1kg_phase3.panel";

/// Build the fixture in `base`; returns `base/run`.
fn build_tree(base: &Path) -> PathBuf {
    let data_dir = base.join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    for f in [VCF, PANEL] {
        std::fs::copy(data(f), data_dir.join(f)).unwrap();
    }
    let tree = base.join("run");
    let ok = |o: std::process::Output, stage: &str| {
        assert!(o.status.success(), "{stage} failed:\n{}", stderr(&o));
    };
    ok(
        run(
            "gmmn-ingest",
            &[&data_dir.join(VCF), &"--out", &tree.join("ingest")],
        ),
        "gmmn-ingest",
    );
    ok(
        run(
            "gmmn-split",
            &[
                &tree.join("ingest"),
                &"--panel",
                &data_dir.join(PANEL),
                &"--column",
                &"super_pop",
                &"--groups",
                &"EUR,AFR,EAS,SAS",
                &"--out",
                &tree.join("groups"),
            ],
        ),
        "gmmn-split",
    );
    // Smaller than the other tests' tiny settings, single-threaded: the audit needs the files,
    // not a model worth sampling, and the tests run beside each other.
    ok(
        run(
            "gmmn-sketch",
            &[
                &tree.join("groups/EAS.parquet"),
                &"--out",
                &tree.join("sketch/EAS"),
                &"--multiplier",
                &"1",
                &"--restarts",
                &"2",
                &"--threads",
                &"1",
            ],
        ),
        "gmmn-sketch",
    );
    ok(
        run(
            "gmmn-train",
            &[
                &tree.join("sketch/EAS"),
                &"--out",
                &tree.join("model/EAS"),
                &"--steps",
                &"4",
                &"--restart-every",
                &"2",
                &"--hidden",
                &"16",
                &"--latent",
                &"8",
                &"--batch",
                &"16",
                &"--device",
                &"cpu",
                &"--threads",
                &"1",
            ],
        ),
        "gmmn-train",
    );
    ok(
        run(
            "gmmn-sample",
            &[
                &tree.join("model/EAS"),
                &"--n",
                &"21",
                &"--out",
                &tree.join("synthetic"),
                &"--device",
                &"cpu",
            ],
        ),
        "gmmn-sample",
    );
    ok(
        run(
            "gmmn-discriminate",
            &[
                &"--real",
                &tree.join("groups"),
                &"--synthetic",
                &tree.join("synthetic"),
                &"--groups",
                &"EAS",
                &"--baseline",
                &"floor",
                &"--splits",
                &"1",
                &"--threads",
                &"1",
                &"--out",
                &tree.join("reports"),
            ],
        ),
        "gmmn-discriminate",
    );
    tree
}

/// The fixture, built and sealed in a fresh temporary directory.
fn sealed_tree() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let tree = build_tree(tmp.path());
    let o = gmmn(&["audit", "--seal"], &tree);
    assert_eq!(o.code, 0, "gmmn audit --seal failed:\n{}", o.all);
    (tmp, tree)
}

struct Audited {
    code: i32,
    stdout: String,
    /// stdout and stderr.
    all: String,
}

/// `gmmn ARGS DIR`.
fn gmmn(args: &[&str], dir: &Path) -> Audited {
    let o = Command::new(bin("gmmn"))
        .args(args)
        .arg(dir)
        .output()
        .expect("gmmn starts");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let all = format!("{stdout}{}", String::from_utf8_lossy(&o.stderr));
    assert!(!all.contains("panicked"), "gmmn panicked:\n{all}");
    Audited {
        code: o.status.code().expect("gmmn exits"),
        stdout,
        all,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh copy of the fixture around `tree` (its `base`, data included); returns the copied tree.
fn fresh_copy(tree: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(tree.parent().unwrap(), tmp.path());
    let copy = tmp.path().join(tree.file_name().unwrap());
    (tmp, copy)
}

/// Tamper with a fresh copy of `tree`, audit it, and check that it fails with every `expected`
/// among its problem lines (each line is `FILE: WHAT`; `expected` are line prefixes).
fn assert_caught(tree: &Path, case: &str, tamper: impl FnOnce(&Path), expected: &[&str]) {
    let (_tmp, copy) = fresh_copy(tree);
    tamper(&copy);
    let o = gmmn(&["audit"], &copy);
    assert_eq!(o.code, 1, "{case}: the audit should fail:\n{}", o.all);
    let lines: Vec<&str> = o.stdout.lines().collect();
    for e in expected {
        assert!(
            lines.iter().any(|l| l.starts_with(e)),
            "{case}: no line starting `{e}` in:\n{}",
            o.all
        );
    }
}

fn flip_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{}: no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn manifests_below(dir: &Path) -> Vec<String> {
    files_below(dir)
        .into_iter()
        .filter(|f| f.ends_with(".meta.yaml"))
        .collect()
}

#[test]
fn audit_passes_on_a_sealed_tree_and_prints_its_lineage() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = build_tree(tmp.path());

    // Unsealed: the checks pass, and the output says that edits cannot be seen.
    let o = gmmn(&["audit"], &tree);
    assert_eq!(o.code, 0, "{}", o.all);
    assert!(o.stdout.contains("no ledger (ledger.yaml)"), "{}", o.all);

    let o = gmmn(&["audit", "--seal"], &tree);
    assert_eq!(o.code, 0, "{}", o.all);
    let manifests = manifests_below(&tree);
    // 25 (the synthetic group as Parquet, variants, VCF, PLINK .bed/.bim/.fam and panel), and
    // the 16 diagnostics figures of the synthetic and floor comparisons.
    assert_eq!(manifests.len(), 41, "{manifests:?}");
    let ledger: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(tree.join("ledger.yaml")).unwrap())
            .unwrap();
    let entries = ledger["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), manifests.len());
    for (entry, manifest) in entries.iter().zip(&manifests) {
        assert_eq!(entry["manifest"], manifest.as_str());
        assert_eq!(
            entry["sha256"],
            artifact::sha256_file(&tree.join(manifest))
                .unwrap()
                .as_str()
        );
        let data = tree.join(manifest.strip_suffix(".meta.yaml").unwrap());
        assert_eq!(
            entry["data_sha256"],
            artifact::sha256_file(&data).unwrap().as_str()
        );
    }
    assert_eq!(ledger["gmmn_version"], env!("CARGO_PKG_VERSION"));
    // No temporary file left beside it.
    assert!(
        !files_below(&tree)
            .iter()
            .any(|f| f.contains("ledger.yaml.tmp")),
        "{:?}",
        files_below(&tree)
    );

    let o = gmmn(&["audit"], &tree);
    assert_eq!(o.code, 0, "{}", o.all);
    assert!(
        o.stdout.contains("ledger: 41 manifest(s) sealed"),
        "{}",
        o.all
    );
    assert!(o.stdout.contains("ok: "), "{}", o.all);

    // The lineage: from the VCF (outside the tree, so `../data/`) down the pipeline, each file
    // drawn once, the shared ones referred to as `(above)`, companions named with their artifact.
    let lineage = o
        .stdout
        .split_once("lineage:\n")
        .map(|(_, l)| l)
        .unwrap_or_else(|| panic!("no lineage in:\n{}", o.all));
    let chain = [
        "../data/1kg_phase3_805snp.vcf.gz [input: vcf]",
        "ingest/genotypes.parquet [genotypes] with variants.parquet",
        "groups/EAS.parquet [genotypes] with EAS.variants.parquet",
        "sketch/EAS/sketch.npy [sketch] with variants.parquet",
        "model/EAS/model.safetensors [model] with loss.csv, variants.parquet",
        "synthetic/EAS.parquet [genotypes] with EAS.variants.parquet",
        "reports/report.json [report]",
    ];
    let mut at = 0;
    for node in chain {
        assert_eq!(
            lineage.matches(&format!(" {node}\n")).count(),
            1,
            "`{node}` is not drawn once in:\n{lineage}"
        );
        let pos = lineage.find(node).unwrap();
        assert!(pos > at, "`{node}` is not below its inputs in:\n{lineage}");
        at = pos;
    }
    for node in [
        "../data/1kg_phase3.panel [input: panel]",
        "model/EAS/loss.png [plot]",
        "synthetic/EAS.vcf.gz [vcf]",
        "reports/report.md [report]",
    ] {
        assert!(lineage.contains(node), "no `{node}` in:\n{lineage}");
    }
    assert!(
        lineage.contains("(above) reports/{report.json, report.md}"),
        "{lineage}"
    );
    assert!(lineage.lines().count() < 40, "not compact:\n{lineage}");
    // The diagnostics' figures hang below report.json, their one input.
    let below_report = lineage
        .split_once(" reports/report.json [report]\n")
        .map(|(_, rest)| rest.lines().next().unwrap_or_default())
        .unwrap_or_default();
    assert!(
        below_report.contains("reports/{floor.allele_frequencies.png")
            && below_report.ends_with("[plot x16]"),
        "{lineage}"
    );

    let o = gmmn(&["audit", "--no-lineage"], &tree);
    assert_eq!(o.code, 0, "{}", o.all);
    assert!(!o.stdout.contains("lineage:"), "{}", o.all);

    // Moved elsewhere (tree and data together), it still audits: every path is relative.
    let (_moved, moved) = fresh_copy(&tree);
    let o = gmmn(&["audit", "--quiet"], &moved);
    assert_eq!(o.code, 0, "{}", o.all);
    assert_eq!(o.stdout, "", "--quiet prints only problems");
}

#[test]
fn audit_names_changed_and_missing_data_files() {
    let (_tmp, tree) = sealed_tree();
    assert_caught(
        &tree,
        "flipped byte in the sketch",
        |t| flip_byte(&t.join("sketch/EAS/sketch.npy")),
        &[
            "sketch/EAS/sketch.npy: sha256 differs from its manifest",
            "model/EAS/model.safetensors.meta.yaml: input ../../sketch/EAS/sketch.npy \
             (= sketch/EAS/sketch.npy): sha256 differs from the one recorded",
        ],
    );
    assert_caught(
        &tree,
        "flipped byte in a group's genotypes",
        |t| flip_byte(&t.join("groups/EAS.parquet")),
        &[
            "groups/EAS.parquet: sha256 differs from its manifest",
            "sketch/EAS/sketch.npy.meta.yaml: input ../../groups/EAS.parquet",
            "reports/report.json.meta.yaml: input ../groups/EAS.parquet",
        ],
    );
    assert_caught(
        &tree,
        "truncated model",
        |t| {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(t.join("model/EAS/model.safetensors"))
                .unwrap();
            f.set_len(100).unwrap();
        },
        &["model/EAS/model.safetensors: size differs from its manifest (recorded "],
    );
    assert_caught(
        &tree,
        "deleted input of the sketch",
        |t| std::fs::remove_file(t.join("groups/EAS.parquet")).unwrap(),
        &[
            "sketch/EAS/sketch.npy.meta.yaml: input ../../groups/EAS.parquet \
             (= groups/EAS.parquet) missing",
            "groups/EAS.parquet: data file missing",
        ],
    );
    assert_caught(
        &tree,
        "changed panel outside the audited directory",
        |t| {
            let panel = t.parent().unwrap().join("data").join(PANEL);
            let mut text = std::fs::read_to_string(&panel).unwrap();
            text.push_str("EXTRA\tCHB\tEAS\tfemale\n");
            std::fs::write(panel, text).unwrap();
        },
        &[
            "groups/EAS.parquet.meta.yaml: input ../../data/1kg_phase3.panel \
             (= ../data/1kg_phase3.panel): sha256 differs",
            "groups/AFR.variants.parquet.meta.yaml: input ../../data/1kg_phase3.panel",
        ],
    );

    // A broken tree is not sealed, and the old ledger stays.
    let (_tmp, copy) = fresh_copy(&tree);
    let before = std::fs::read(copy.join("ledger.yaml")).unwrap();
    flip_byte(&copy.join("synthetic/EAS.vcf.gz"));
    let o = gmmn(&["audit", "--seal"], &copy);
    assert_eq!(o.code, 1, "{}", o.all);
    assert!(
        o.stdout
            .contains("synthetic/EAS.vcf.gz: sha256 differs from its manifest")
            && o.stdout.contains("not sealed"),
        "{}",
        o.all
    );
    assert_eq!(std::fs::read(copy.join("ledger.yaml")).unwrap(), before);
}

#[test]
fn audit_catches_edited_manifests_and_ledger_mismatches() {
    let (_tmp, tree) = sealed_tree();
    let model = "model/EAS/model.safetensors.meta.yaml";

    // A schema-valid edit changes no hash: only the ledger sees it. Without the ledger it passes.
    let steps = |t: &Path| edit(&t.join(model), "\n  steps: 4\n", "\n  steps: 5\n");
    let (_tmp2, copy) = fresh_copy(&tree);
    steps(&copy);
    let o = gmmn(&["audit", "--no-lineage"], &copy);
    assert_eq!(o.code, 1, "{}", o.all);
    let problems: Vec<&str> = o
        .stdout
        .lines()
        .skip_while(|l| !l.ends_with("problem(s):"))
        .skip(1)
        .collect();
    assert_eq!(
        problems,
        [format!("{model}: manifest edited since sealed")],
        "{}",
        o.all
    );
    std::fs::remove_file(copy.join("ledger.yaml")).unwrap();
    let o = gmmn(&["audit"], &copy);
    assert_eq!(
        o.code, 0,
        "without a ledger the edit is invisible:\n{}",
        o.all
    );

    assert_caught(
        &tree,
        "schema-breaking edit",
        |t| edit(&t.join(model), "\n  steps: 4\n", "\n  steps: four\n"),
        &[
            &format!("{model}: schema: params.steps: "),
            &format!("{model}: manifest edited since sealed"),
        ],
    );
    assert_caught(
        &tree,
        "unknown kind",
        |t| edit(&t.join(model), "kind: model\n", "kind: weights\n"),
        &[&format!("{model}: unknown kind `weights`")],
    );
    assert_caught(
        &tree,
        "not YAML",
        |t| std::fs::write(t.join(model), "kind: [model\n").unwrap(),
        &[
            &format!("{model}: not YAML: "),
            &format!("{model}: manifest edited since sealed"),
        ],
    );
    assert_caught(
        &tree,
        "recorded input hash edited",
        |t| {
            let sha = artifact::sha256_file(&t.join("sketch/EAS/sketch.npy")).unwrap();
            edit(&t.join(model), &sha, &"0".repeat(64));
        },
        &[&format!(
            "{model}: input ../../sketch/EAS/sketch.npy (= sketch/EAS/sketch.npy): sha256 differs"
        )],
    );
    assert_caught(
        &tree,
        "manifest deleted",
        |t| std::fs::remove_file(t.join("reports/report.md.meta.yaml")).unwrap(),
        &["reports/report.md.meta.yaml: listed in the ledger but missing"],
    );

    // The ledger itself: an entry that does not match, one left out, one too many, garbage.
    let sketch = "sketch/EAS/sketch.npy.meta.yaml";
    let ledger_entry_sha = |t: &Path| {
        let m = artifact::sha256_file(&t.join(sketch)).unwrap();
        edit(&t.join("ledger.yaml"), &m, &"f".repeat(64));
    };
    assert_caught(
        &tree,
        "ledger entry mismatch",
        ledger_entry_sha,
        &[&format!("{sketch}: manifest edited since sealed")],
    );
    assert_caught(
        &tree,
        "ledger entry removed",
        |t| {
            let path = t.join("ledger.yaml");
            let mut ledger: serde_json::Value =
                serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            ledger["manifests"]
                .as_array_mut()
                .unwrap()
                .retain(|e| e["manifest"] != sketch);
            std::fs::write(&path, serde_yaml_ng::to_string(&ledger).unwrap()).unwrap();
        },
        &[&format!("{sketch}: not in the ledger")],
    );
    assert_caught(
        &tree,
        "ledger entry for a manifest never written",
        |t| {
            let path = t.join("ledger.yaml");
            let mut text = std::fs::read_to_string(&path).unwrap();
            text.push_str(&format!(
                "- manifest: extra/x.npy.meta.yaml\n  sha256: {0}\n  data_sha256: {0}\n",
                "a".repeat(64)
            ));
            std::fs::write(&path, text).unwrap();
        },
        &["extra/x.npy.meta.yaml: listed in the ledger but missing"],
    );
    assert_caught(
        &tree,
        "ledger not YAML",
        |t| std::fs::write(t.join("ledger.yaml"), "manifests: [\n").unwrap(),
        &["ledger.yaml: not a ledger gmmn reads"],
    );
}

/// An empty directory (a wrong path, a run that wrote nothing) is not a pass: `gmmn audit` says
/// there is nothing to audit and exits non-zero; `--seal` refuses and writes no ledger.
#[test]
fn a_directory_without_artifacts_is_not_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    std::fs::write(empty.join("sub/notes.txt"), "not an artifact\n").unwrap();
    let o = gmmn(&["audit"], &empty);
    assert_eq!(o.code, 1, "{}", o.all);
    assert!(o.stdout.contains("no artifact to audit"), "{}", o.all);
    assert!(!o.stdout.contains("ok: every schema"), "{}", o.all);
    let o = gmmn(&["audit", "--seal"], &empty);
    assert_eq!(o.code, 1, "{}", o.all);
    assert!(o.all.contains("no artifact to audit"), "{}", o.all);
    assert!(!empty.join("ledger.yaml").exists());
}
