//! gmmn-discriminate end to end on the real 1000 Genomes EAS group (small settings): the two
//! baselines, the independent baseline's VCF read back as "any simulator's output" (which must
//! reproduce the baseline's numbers exactly), byte-identical reruns, and bad inputs that must fail
//! cleanly with nothing written.

use std::ffi::OsStr;
use std::path::Path;

use artifact::{open_artifact, ArtifactKind};
use gmmn_sim::{files_below, run, shared_1kg_groups, stderr};
use serde_json::Value;

fn discriminate(out: &Path, extra: &[&dyn AsRef<OsStr>]) -> std::process::Output {
    let groups = shared_1kg_groups();
    let mut args: Vec<&dyn AsRef<OsStr>> =
        vec![&"--real", &groups, &"--out", &out, &"--splits", &"2"];
    args.extend_from_slice(extra);
    run("gmmn-discriminate", &args)
}

fn report(dir: &Path) -> Value {
    let path = dir.join("report.json");
    open_artifact(&path, ArtifactKind::Report).unwrap();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn comparison<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no comparison {name} in {r:#}"))
}

fn accuracy(c: &Value, classifier: &str) -> f64 {
    c["classifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == classifier)
        .unwrap()["mean"]
        .as_f64()
        .unwrap()
}

#[test]
fn baselines_and_a_vcf_from_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("baselines");
    let o = discriminate(
        &base,
        &[&"--groups", &"EAS", &"--baseline", &"holdout,independent"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&base);
    assert_eq!(r["groups"], serde_json::json!(["EAS"]));
    assert_eq!(r["snps"], 805);

    // Real against real: nothing to find. 504 haplotypes per side; accuracies within noise.
    let holdout = comparison(&r, "holdout");
    assert_eq!(holdout["haplotypes_per_side"], 504);
    for k in ["LR", "KNN", "MLP"] {
        let a = accuracy(holdout, k);
        assert!((a - 0.5).abs() < 0.1, "holdout {k} {a}");
    }
    assert!(holdout["delta"].as_f64().unwrap() < 0.1);
    assert!(holdout["fidelity"]["ld_r2_correlation"].as_f64().unwrap() > 0.9);

    // Independent SNPs at the group's frequencies: frequencies match, LD does not exist.
    let ind = comparison(&r, "independent");
    assert_eq!(ind["haplotypes_per_side"], 1008);
    let fid = &ind["fidelity"];
    assert!(fid["allele_frequency_correlation"].as_f64().unwrap() > 0.99);
    assert!(
        fid["ld_r2_correlation"].as_f64().unwrap()
            < holdout["fidelity"]["ld_r2_correlation"].as_f64().unwrap()
    );
    assert_eq!(
        ind["classifiers"][1]["per_split"].as_array().unwrap().len(),
        2
    );
    let md = std::fs::read_to_string(base.join("report.md")).unwrap();
    assert!(
        md.contains("| holdout | 504 |") && md.contains("| independent | 1008 |"),
        "{md}"
    );
    open_artifact(&base.join("report.md"), ArtifactKind::Report).unwrap();

    // The baseline's VCF is any simulator's output: judged as the synthetic side, with the same
    // seed it must give exactly the baseline's numbers.
    let vcf = base.join("independent.vcf.gz");
    let panel = base.join("independent.panel.tsv");
    open_artifact(&vcf, ArtifactKind::Vcf).unwrap();
    open_artifact(&panel, ArtifactKind::Panel).unwrap();
    let judged = tmp.path().join("judged");
    let o = discriminate(
        &judged,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &vcf,
            &"--synthetic-panel",
            &panel,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let j = report(&judged);
    let syn = comparison(&j, "synthetic");
    assert_eq!(syn["classifiers"], ind["classifiers"]);
    assert_eq!(syn["fidelity"], ind["fidelity"]);
    assert_eq!(j["synthetic"][0], vcf.display().to_string());

    // Same inputs and seed: the same bytes.
    let again = tmp.path().join("again");
    let o = discriminate(
        &again,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &vcf,
            &"--synthetic-panel",
            &panel,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["report.json", "report.md"] {
        assert_eq!(
            std::fs::read(judged.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs between identical runs"
        );
    }
}

/// Fails with a message containing every `needles` and leaves `out` without files.
fn fails(out: &Path, extra: &[&dyn AsRef<OsStr>], needles: &[&str]) {
    let o = discriminate(out, extra);
    let err = stderr(&o);
    assert!(!o.status.success(), "should fail: {needles:?}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        files_below(out).is_empty(),
        "partial output: {:?}",
        files_below(out)
    );
}

#[test]
fn bad_inputs_fail_cleanly_with_no_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");

    // A VCF with 12 individuals of EAS (24 haplotypes) and its panel, written from the group.
    let base = tmp.path().join("base");
    let o = discriminate(&base, &[&"--groups", &"EAS", &"--baseline", &"independent"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let vcf = base.join("independent.vcf.gz");
    let panel = base.join("independent.panel.tsv");

    // A VCF without its panel.
    fails(
        &out,
        &[&"--synthetic", &vcf],
        &["independent.vcf.gz", "panel"],
    );
    // Groups on one side only: all real groups against EAS only.
    fails(
        &out,
        &[&"--synthetic", &vcf, &"--synthetic-panel", &panel],
        &["groups differ", "AFR"],
    );
    // Different variants: the first 400 SNPs only.
    let short = tmp.path().join("short.vcf");
    let text = {
        let mut gz = flate2::read::MultiGzDecoder::new(std::fs::File::open(&vcf).unwrap());
        let mut s = String::new();
        std::io::Read::read_to_string(&mut gz, &mut s).unwrap();
        s
    };
    let mut kept = 0;
    let truncated: String = text
        .lines()
        .filter(|l| {
            if l.starts_with('#') {
                return true;
            }
            kept += 1;
            kept <= 400
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&short, truncated).unwrap();
    fails(
        &out,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &short,
            &"--synthetic-panel",
            &panel,
        ],
        &["not genotyped at the same variants", "805 SNPs against 400"],
    );
    // Too few haplotypes for the splits: 6 individuals.
    let tiny = tmp.path().join("tiny.vcf");
    let few: String = text
        .lines()
        .map(|l| {
            if l.starts_with("##") {
                format!("{l}\n")
            } else {
                let f: Vec<&str> = l.split('\t').collect();
                format!("{}\n", f[..9 + 6].join("\t"))
            }
        })
        .collect();
    std::fs::write(&tiny, few).unwrap();
    fails(
        &out,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &tiny,
            &"--synthetic-panel",
            &panel,
        ],
        &["12 haplotypes per side", "at least 20"],
    );
    // A panel that lacks a synthetic sample.
    let partial = tmp.path().join("partial.tsv");
    let p = std::fs::read_to_string(&panel).unwrap();
    std::fs::write(
        &partial,
        p.lines()
            .take(3)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    fails(
        &out,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &vcf,
            &"--synthetic-panel",
            &partial,
        ],
        &["IND_EAS_000003", "partial.tsv"],
    );
    // Nothing to compare, and bad options.
    fails(&out, &[], &["nothing to compare"]);
    fails(
        &out,
        &[&"--baseline", &"holdout", &"--test-fraction", &"1.5"],
        &["--test-fraction"],
    );
}
