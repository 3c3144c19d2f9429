//! gmmn-reference end to end on the shipped 1000 Genomes data: a split of two groups with half of
//! each held out (the held-out files must be skipped), each method simulating every group as
//! gmmn-sample writes one (four files with manifests the schemas accept, a VCF bcftools reads),
//! byte-identical reruns, and bad input that fails cleanly with nothing written.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use artifact::{open_artifact, read_genotypes_parquet, ArtifactKind};
use gmmn_sim::{data, files_below, repo_root, run, stderr, stdout};
use serde_json::Value;

const GROUPS: [&str; 2] = ["EAS", "EUR"];

/// Ingest and split (EAS, EUR, half of each group's individuals held out) once per test binary.
fn split_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("gmmn-test-reference-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let ingest = base.join("ingest");
        let o = run(
            "gmmn-ingest",
            &[&data("1kg_phase3_805snp.vcf.gz"), &"--out", &ingest],
        );
        assert!(o.status.success(), "gmmn-ingest failed:\n{}", stderr(&o));
        let groups = base.join("groups");
        let o = run(
            "gmmn-split",
            &[
                &ingest,
                &"--panel",
                &data("1kg_phase3.panel"),
                &"--column",
                &"super_pop",
                &"--groups",
                &"EAS,EUR",
                &"--holdout-fraction",
                &"0.5",
                &"--seed",
                &"1",
                &"--out",
                &groups,
            ],
        );
        assert!(o.status.success(), "gmmn-split failed:\n{}", stderr(&o));
        groups
    })
}

fn reference(out: &Path, method: &str, extra: &[&dyn AsRef<OsStr>]) -> std::process::Output {
    let groups = split_dir();
    let mut args: Vec<&dyn AsRef<OsStr>> = vec![
        &groups,
        &"--method",
        &method,
        &"--out",
        &out,
        &"--seed",
        &"3",
    ];
    args.extend_from_slice(extra);
    run("gmmn-reference", &args)
}

fn manifest_json(data_file: &Path) -> Value {
    let path = artifact::manifest_path(data_file);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn validator(kind: &str) -> jsonschema::Validator {
    let path = repo_root()
        .join("schemas")
        .join(format!("manifest.{kind}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// The training haplotypes of `group` in the split (the held-out ones excluded).
fn training_rows(group: &str) -> Vec<Vec<u8>> {
    let m = read_genotypes_parquet(&split_dir().join(format!("{group}.parquet"))).unwrap();
    (0..m.n_haplotypes()).map(|i| m.row(i).to_vec()).collect()
}

/// Every output of every group: present with a verified manifest of the right kind and
/// producer, accepted by the schema, the VCF read by bcftools; returns the genotype manifests.
fn check_outputs(out: &Path, method: &str) -> Vec<Value> {
    let validators: Vec<(ArtifactKind, jsonschema::Validator)> = [
        ArtifactKind::Genotypes,
        ArtifactKind::Variants,
        ArtifactKind::Vcf,
        ArtifactKind::Plink,
        ArtifactKind::Panel,
    ]
    .into_iter()
    .map(|k| (k, validator(k.as_str())))
    .collect();
    let mut expected: Vec<String> = Vec::new();
    for g in GROUPS {
        for f in [
            ".parquet",
            ".variants.parquet",
            ".vcf.gz",
            ".bed",
            ".bim",
            ".fam",
            ".panel.tsv",
        ] {
            expected.push(format!("{g}{f}"));
            expected.push(format!("{g}{f}.meta.yaml"));
        }
        expected.push(format!("{g}.vcf.gz.tbi"));
    }
    expected.sort();
    assert_eq!(files_below(out), expected, "{method}");
    let mut genotype_manifests = Vec::new();
    for g in GROUPS {
        let training = training_rows(g);
        let files = [
            (format!("{g}.parquet"), ArtifactKind::Genotypes),
            (format!("{g}.variants.parquet"), ArtifactKind::Variants),
            (format!("{g}.vcf.gz"), ArtifactKind::Vcf),
            (format!("{g}.bed"), ArtifactKind::Plink),
            (format!("{g}.bim"), ArtifactKind::Plink),
            (format!("{g}.fam"), ArtifactKind::Plink),
            (format!("{g}.panel.tsv"), ArtifactKind::Panel),
        ];
        for (name, kind) in &files {
            let path = out.join(name);
            open_artifact(&path, *kind).unwrap_or_else(|e| panic!("{method} {name}: {e}"));
            let v = manifest_json(&path);
            let (_, val) = validators.iter().find(|(k, _)| k == kind).unwrap();
            let errors: Vec<String> = val.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{method} {name}: {errors:?}");
            assert_eq!(v["producer"]["stage"], "reference");
            assert_eq!(v["producer"]["crate"], "gmmn-reference");
            assert_eq!(v["params"]["method"], method);
            assert_eq!(v["params"]["group"], g);
            assert_eq!(v["params"]["private"], false);
            assert_eq!(v["params"]["n"], training.len() as u64, "default n");
            assert_eq!(v["counts"]["training_haplotypes"], training.len() as u64);
            assert_eq!(v["seed"], 3);
            // The training file and its variants, hashed; never the held-out part.
            let roles: Vec<(&str, &str)> = v["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["role"].as_str().unwrap(), i["path"].as_str().unwrap()))
                .collect();
            assert_eq!(roles.len(), 2, "{roles:?}");
            assert_eq!(roles[0].0, "training");
            assert!(
                roles[0].1.ends_with(&format!("groups/{g}.parquet")),
                "{roles:?}"
            );
            assert_eq!(roles[1].0, "variants");
            assert!(
                roles[1]
                    .1
                    .ends_with(&format!("groups/{g}.variants.parquet")),
                "{roles:?}"
            );
        }
        genotype_manifests.push(manifest_json(&out.join(format!("{g}.parquet"))));

        let sim = read_genotypes_parquet(&out.join(format!("{g}.parquet"))).unwrap();
        assert_eq!((sim.n_haplotypes(), sim.n_snps()), (training.len(), 805));
        let prefix = format!("REF_{}_{g}_", method.to_ascii_uppercase());
        assert_eq!(sim.labels()[0].sample, format!("{prefix}000001"));
        assert_eq!(sim.labels()[1].sample, format!("{prefix}000001"));
        assert_eq!(sim.labels()[2].sample, format!("{prefix}000002"));
        assert!(sim.labels().iter().all(|l| l.group.as_deref() == Some(g)));
        let panel = std::fs::read_to_string(out.join(format!("{g}.panel.tsv"))).unwrap();
        assert_eq!(panel.lines().count(), 1 + training.len().div_ceil(2));
        assert_eq!(
            panel.lines().nth(1).unwrap(),
            format!("{prefix}000001\t{g}")
        );

        // The VCF: parsed here (GTs equal to the Parquet rows), and read by bcftools.
        let vcf = out.join(format!("{g}.vcf.gz"));
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&vcf).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let records: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(records.len(), 805);
        assert!(
            text.contains("not private"),
            "##source names the reference simulator"
        );
        for (j, rec) in records.iter().enumerate().step_by(101) {
            let gts: Vec<&str> = rec.split('\t').skip(9).collect();
            assert_eq!(gts.len(), training.len().div_ceil(2));
            for (k, gt) in gts.iter().enumerate() {
                assert_eq!(
                    *gt,
                    format!("{}|{}", sim.row(2 * k)[j], sim.row(2 * k + 1)[j]),
                    "{g} record {j} individual {k}"
                );
            }
        }
        match Command::new("bcftools").args(["view", "-H"]).arg(&vcf).output() {
            Ok(o) => {
                assert!(o.status.success(), "bcftools view {}: {}", vcf.display(), stderr(&o));
                assert_eq!(stdout(&o).lines().count(), 805);
            }
            Err(_) => eprintln!(
                "bcftools not installed: the VCF was checked by parsing only (make test installs it)"
            ),
        }
    }
    genotype_manifests
}

#[test]
fn every_method_writes_what_gmmn_sample_writes() {
    let tmp = tempfile::tempdir().unwrap();
    for (method, extra) in [
        ("independent", vec![]),
        ("mosaic", vec!["--segment", "50"]),
        ("hmm", vec!["--clusters", "4", "--iterations", "3"]),
        ("markov", vec!["--order", "30", "--min-count", "3"]),
    ] {
        let out = tmp.path().join(method);
        let args: Vec<&dyn AsRef<OsStr>> = extra.iter().map(|a| a as &dyn AsRef<OsStr>).collect();
        let o = reference(&out, method, &args);
        assert!(o.status.success(), "{method}: {}", stderr(&o));
        assert!(stdout(&o).contains("not private"), "{}", stdout(&o));
        let manifests = check_outputs(&out, method);
        for v in &manifests {
            let p = &v["params"];
            match method {
                "independent" => {
                    assert!(p["segment"].is_null() && p["clusters"].is_null(), "{p}");
                    assert!(p["em_log_likelihood"].is_null());
                }
                "mosaic" => {
                    assert_eq!(p["segment"], 50.0);
                    assert_eq!(p["flip"], 0.0);
                    assert!(p["clusters"].is_null() && p["iterations"].is_null());
                }
                "markov" => {
                    assert_eq!(
                        (p["order"].clone(), p["min_count"].clone()),
                        (30.into(), 3.into())
                    );
                    assert_eq!(p["pseudocount"], 1.0);
                    assert!(p["segment"].is_null() && p["clusters"].is_null(), "{p}");
                }
                _ => {
                    assert_eq!(
                        (p["clusters"].clone(), p["iterations"].clone()),
                        (4.into(), 3.into())
                    );
                    assert_eq!(p["clip"], 0.001);
                    assert!(p["segment"].is_null());
                    let ll: Vec<f64> = p["em_log_likelihood"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap())
                        .collect();
                    assert_eq!(ll.len(), 4, "{ll:?}");
                    for t in 1..ll.len() {
                        assert!(ll[t] >= ll[t - 1] - 1e-9 * ll[t - 1].abs(), "{ll:?}");
                    }
                }
            }
        }
    }

    // A mosaic of whole haplotypes: every simulated haplotype is a training one.
    let whole = tmp.path().join("whole");
    let o = reference(&whole, "mosaic", &[&"--segment", &"1e12", &"--n", &"31"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for g in GROUPS {
        let training = training_rows(g);
        let sim = read_genotypes_parquet(&whole.join(format!("{g}.parquet"))).unwrap();
        assert_eq!(sim.n_haplotypes(), 31);
        for i in 0..31 {
            assert!(
                training.iter().any(|r| r == sim.row(i)),
                "{g} haplotype {i}"
            );
        }
        assert_eq!(
            manifest_json(&whole.join(format!("{g}.vcf.gz")))["counts"]["individuals"],
            16
        );
    }

    // Same seed, same bytes (data files and manifests but the creation time).
    let again = tmp.path().join("again");
    let o = reference(&again, "mosaic", &[&"--segment", &"1e12", &"--n", &"31"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for g in GROUPS {
        for f in [
            ".parquet",
            ".variants.parquet",
            ".vcf.gz",
            ".vcf.gz.tbi",
            ".bed",
            ".panel.tsv",
        ] {
            let name = format!("{g}{f}");
            assert_eq!(
                std::fs::read(whole.join(&name)).unwrap(),
                std::fs::read(again.join(&name)).unwrap(),
                "{name}"
            );
        }
    }
}

#[test]
fn bad_input_fails_with_a_clear_message_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("bogus", vec![], "unknown method `bogus`"),
        ("mosaic", vec!["--segment", "0.5"], "--segment"),
        ("mosaic", vec!["--flip", "1"], "--flip"),
        ("hmm", vec!["--clusters", "0"], "--clusters"),
        ("hmm", vec!["--clip", "0"], "--clip"),
        ("independent", vec!["--n", "0"], "--n"),
        ("markov", vec!["--order", "0"], "--order"),
        ("markov", vec!["--min-count", "0"], "--min-count"),
    ];
    for (method, extra, want) in cases {
        let args: Vec<&dyn AsRef<OsStr>> = extra.iter().map(|a| a as &dyn AsRef<OsStr>).collect();
        let o = reference(&out, method, &args);
        assert!(!o.status.success(), "{method} {extra:?} succeeded");
        assert!(
            stderr(&o).contains(want),
            "{method} {extra:?}: {}",
            stderr(&o)
        );
        assert!(
            files_below(&out).is_empty(),
            "{method} {extra:?} wrote files"
        );
    }
    let missing = tmp.path().join("no-such-dir");
    let o = run(
        "gmmn-reference",
        &[&missing, &"--method", &"independent", &"--out", &out],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&missing.display().to_string()) && stderr(&o).contains("no such file"),
        "{}",
        stderr(&o)
    );
    // A variants file given as training data: refused, naming it.
    let variants = split_dir().join("EAS.variants.parquet");
    let o = run(
        "gmmn-reference",
        &[&variants, &"--method", &"independent", &"--out", &out],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("EAS.variants.parquet"),
        "{}",
        stderr(&o)
    );
    assert!(files_below(&out).is_empty());
}
