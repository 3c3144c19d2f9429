//! The JSON Schemas under `schemas/` against the manifests the stages really write.
//!
//! Runs gmmn-ingest and gmmn-split on the shipped 1000 Genomes slice, then validates every
//! `*.meta.yaml` they wrote (YAML read as JSON) against `schemas/manifest.<kind>.schema.json`,
//! cross-checks what a schema cannot (hashes, sizes, shape against counts, companions), and makes
//! sure the schemas refuse broken manifests. Needs `cargo build --bins` first.

use std::path::{Path, PathBuf};

use artifact::{ArtifactKind, Manifest, Producer};
use gmmn_sim::{data, files_below, repo_root, run, split_1kg_super_populations, stderr};
use serde_json::{json, Value};

const KINDS: [ArtifactKind; 2] = [ArtifactKind::Genotypes, ArtifactKind::Variants];
const GROUPS: [&str; 4] = ["EUR", "AFR", "EAS", "SAS"];

fn schema_path(kind: &str) -> PathBuf {
    repo_root()
        .join("schemas")
        .join(format!("manifest.{kind}.schema.json"))
}

fn load_schema(kind: &str) -> Value {
    let path = schema_path(kind);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (every kind needs a schema)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

/// The validator of `kind`'s schema, with `format` asserted (not only annotated).
fn validator(kind: &str) -> jsonschema::Validator {
    let schema = load_schema(kind);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{} does not compile: {e}", schema_path(kind).display()))
}

/// Every schema violation of `instance`, one line each.
fn violations(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect()
}

fn read_manifest_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()))
}

#[test]
fn schemas_are_valid_draft_2020_12_and_compile() {
    for kind in KINDS {
        let kind = kind.as_str();
        let schema = load_schema(kind);
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{kind}: not a draft 2020-12 schema"
        );
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!(
                "{}: violates the 2020-12 meta-schema: {e}",
                schema_path(kind).display()
            );
        }
        let _ = validator(kind);
        assert_eq!(schema["properties"]["kind"]["const"], kind);
        assert_eq!(schema["additionalProperties"], false);
    }
    // No stray schema for a kind the code does not have.
    for f in files_below(&repo_root().join("schemas")) {
        if let Some(k) = f
            .strip_prefix("manifest.")
            .and_then(|s| s.strip_suffix(".schema.json"))
        {
            assert!(
                KINDS.iter().any(|kind| kind.as_str() == k),
                "schemas/{f}: no ArtifactKind `{k}`"
            );
        }
    }
}

/// A manifest the artifact crate builds in-process validates, so schema and struct agree even
/// without the binaries.
#[test]
fn in_process_manifests_validate() {
    let sha = "ab".repeat(32);
    for kind in KINDS {
        let mut m = Manifest::new(kind, Producer::new("test", "gmmn-test", "0.1.0"))
            .param("anything", json!({"nested": [1, 2]}))
            .count("snps", 3);
        m.sha256 = sha.clone();
        m.bytes = 10;
        m.inputs = vec![artifact::FileRef {
            role: "vcf".into(),
            path: "../in.vcf".into(),
            sha256: sha.clone(),
        }];
        match kind {
            ArtifactKind::Genotypes => {
                m.shape = vec![4, 3];
                m = m.count("haplotypes", 4);
                m.companions = vec![artifact::FileRef {
                    role: "variants".into(),
                    path: "variants.parquet".into(),
                    sha256: sha.clone(),
                }];
            }
            ArtifactKind::Variants => m.shape = vec![3],
            _ => {}
        }
        let instance: Value = serde_yaml_ng::from_str(&m.to_yaml().unwrap()).unwrap();
        let errors = violations(&validator(kind.as_str()), &instance);
        assert!(
            errors.is_empty(),
            "{kind}:\n{}\n{instance:#}",
            errors.join("\n")
        );
    }
}

type Mutation = Box<dyn Fn(&mut Value)>;

fn mu(f: impl Fn(&mut Value) + 'static) -> Mutation {
    Box::new(f)
}

/// Mutations of a valid manifest that the schema must refuse, by name.
fn mutations(kind: &str) -> Vec<(&'static str, Mutation)> {
    let mut m: Vec<(&'static str, Mutation)> = vec![
        ("sha256 not hex", mu(|v| v["sha256"] = json!("xyz"))),
        (
            "sha256 upper case",
            mu(|v| {
                let s = v["sha256"].as_str().unwrap().to_uppercase();
                v["sha256"] = json!(s);
            }),
        ),
        (
            "sha256 63 digits",
            mu(|v| {
                let s = v["sha256"].as_str().unwrap()[1..].to_string();
                v["sha256"] = json!(s);
            }),
        ),
        ("extra top-level key", mu(|v| v["bogus"] = json!(1))),
        (
            "kind changed",
            mu(|v| {
                let other = if v["kind"] == "genotypes" {
                    "variants"
                } else {
                    "genotypes"
                };
                v["kind"] = json!(other);
            }),
        ),
        ("unknown kind", mu(|v| v["kind"] = json!("weights"))),
        ("schema_version 2", mu(|v| v["schema_version"] = json!(2))),
        (
            "schema_version as string",
            mu(|v| v["schema_version"] = json!("1")),
        ),
        (
            "no seed",
            mu(|v| {
                v.as_object_mut().unwrap().remove("seed");
            }),
        ),
        (
            "no params",
            mu(|v| {
                v.as_object_mut().unwrap().remove("params");
            }),
        ),
        ("params not an object", mu(|v| v["params"] = json!([]))),
        ("negative seed", mu(|v| v["seed"] = json!(-1))),
        ("negative bytes", mu(|v| v["bytes"] = json!(-5))),
        ("bytes as string", mu(|v| v["bytes"] = json!("12"))),
        (
            "created not UTC",
            mu(|v| v["created"] = json!("2026-11-23T22:30:00+01:00")),
        ),
        (
            "created with a space",
            mu(|v| v["created"] = json!("2026-11-23 22:30:00Z")),
        ),
        (
            "created month 13",
            mu(|v| v["created"] = json!("2026-13-23T22:30:00Z")),
        ),
        (
            "producer extra key",
            mu(|v| v["producer"]["host"] = json!("x")),
        ),
        (
            "producer without crate",
            mu(|v| {
                v["producer"].as_object_mut().unwrap().remove("crate");
            }),
        ),
        (
            "producer version not semver",
            mu(|v| v["producer"]["version"] = json!("latest")),
        ),
        (
            "input hash bad",
            mu(|v| v["inputs"][0]["sha256"] = json!("00")),
        ),
        (
            "input without role",
            mu(|v| {
                v["inputs"][0].as_object_mut().unwrap().remove("role");
            }),
        ),
        ("input extra key", mu(|v| v["inputs"][0]["size"] = json!(3))),
        ("negative count", mu(|v| v["counts"]["snps"] = json!(-1))),
        ("fractional count", mu(|v| v["counts"]["snps"] = json!(1.5))),
        ("count as string", mu(|v| v["counts"]["extra"] = json!("3"))),
        (
            "no snps count",
            mu(|v| {
                v["counts"].as_object_mut().unwrap().remove("snps");
            }),
        ),
        (
            "shape too long",
            mu(|v| v["shape"].as_array_mut().unwrap().push(json!(1))),
        ),
        ("shape empty", mu(|v| v["shape"] = json!([]))),
        ("shape negative", mu(|v| v["shape"][0] = json!(-1))),
        (
            "ingest min_maf above 0.5",
            mu(|v| {
                v["producer"]["stage"] = json!("ingest");
                v["params"]["min_maf"] = json!(0.7);
            }),
        ),
        (
            "ingest without vcf input",
            mu(|v| {
                v["producer"]["stage"] = json!("ingest");
                v["inputs"] = json!([]);
            }),
        ),
        (
            "split without panel input",
            mu(|v| {
                v["producer"]["stage"] = json!("split");
                let kept: Vec<Value> = v["inputs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|i| i["role"] != "panel")
                    .cloned()
                    .collect();
                v["inputs"] = Value::Array(kept);
            }),
        ),
        (
            "split group not a file name",
            mu(|v| {
                v["producer"]["stage"] = json!("split");
                v["params"]["group"] = json!("../EUR");
            }),
        ),
    ];
    if kind == "genotypes" {
        m.push(("shape of one", mu(|v| v["shape"] = json!([5]))));
        m.push((
            "no haplotypes count",
            mu(|v| {
                v["counts"].as_object_mut().unwrap().remove("haplotypes");
            }),
        ));
        m.push((
            "no companions",
            mu(|v| {
                v.as_object_mut().unwrap().remove("companions");
            }),
        ));
        m.push(("empty companions", mu(|v| v["companions"] = json!([]))));
        m.push((
            "companion role not variants",
            mu(|v| {
                v["companions"][0]["role"] = json!("frequencies");
            }),
        ));
        m.push((
            "two variants companions",
            mu(|v| {
                let c = v["companions"][0].clone();
                v["companions"].as_array_mut().unwrap().push(c);
            }),
        ));
        m.push((
            "companion hash bad",
            mu(|v| v["companions"][0]["sha256"] = json!("z")),
        ));
    } else {
        m.push(("shape of two", mu(|v| v["shape"] = json!([5, 6]))));
        m.push((
            "companion without path",
            mu(|v| {
                v["companions"] = json!([{"role": "genotypes", "sha256": "ab".repeat(32)}]);
            }),
        ));
    }
    m
}

/// Check, for one manifest, what JSON Schema cannot express: the data file and every referenced
/// file exist with the recorded hash and size, and shape agrees with counts.
fn cross_check(manifest: &Path, v: &Value, problems: &mut Vec<String>) {
    let name = manifest.display().to_string();
    let dir = manifest.parent().unwrap();
    let data_file = PathBuf::from(name.strip_suffix(".meta.yaml").unwrap());
    match std::fs::metadata(&data_file) {
        Err(e) => problems.push(format!("{name}: data file {}: {e}", data_file.display())),
        Ok(md) => {
            if v["bytes"].as_u64() != Some(md.len()) {
                problems.push(format!(
                    "{name}: bytes {} but the file has {}",
                    v["bytes"],
                    md.len()
                ));
            }
            let sha = artifact::sha256_file(&data_file).unwrap();
            if v["sha256"].as_str() != Some(sha.as_str()) {
                problems.push(format!(
                    "{name}: sha256 {} but the file hashes to {sha}",
                    v["sha256"]
                ));
            }
        }
    }
    for list in ["inputs", "companions"] {
        for r in v[list].as_array().into_iter().flatten() {
            let (Some(path), Some(sha)) = (r["path"].as_str(), r["sha256"].as_str()) else {
                continue; // the schema reports it
            };
            let p = Path::new(path);
            let p = if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            };
            match artifact::sha256_file(&p) {
                Ok(actual) if actual == sha => {}
                Ok(actual) => problems.push(format!(
                    "{name}: {list} `{}` {path}: recorded {sha}, file hashes to {actual}",
                    r["role"]
                )),
                Err(e) => problems.push(format!("{name}: {list} `{}` {path}: {e}", r["role"])),
            }
        }
    }
    let shape = &v["shape"];
    let counts = &v["counts"];
    let expect: Vec<&Value> = match v["kind"].as_str() {
        Some("genotypes") => vec![&counts["haplotypes"], &counts["snps"]],
        _ => vec![&counts["snps"]],
    };
    if shape.as_array().map(|s| s.iter().collect::<Vec<_>>()) != Some(expect.clone()) {
        problems.push(format!("{name}: shape {shape} but counts say {expect:?}"));
    }
    // A genotype file's SNP count is its variants companion's row count.
    if v["kind"] == "genotypes" {
        for c in v["companions"].as_array().into_iter().flatten() {
            if c["role"] != "variants" {
                continue;
            }
            let cm = dir.join(format!("{}.meta.yaml", c["path"].as_str().unwrap_or("")));
            if let Ok(text) = std::fs::read_to_string(&cm) {
                let cv: Value = serde_yaml_ng::from_str(&text).unwrap();
                if cv["kind"] != "variants" || cv["shape"][0] != shape[1] {
                    problems.push(format!(
                        "{name}: companion {} is kind {} with shape {}, genotypes have {} SNPs",
                        cm.display(),
                        cv["kind"],
                        cv["shape"],
                        shape[1]
                    ));
                }
                if cv["sha256"] != c["sha256"] {
                    problems.push(format!(
                        "{name}: companion sha256 {} differs from its own manifest's {}",
                        c["sha256"], cv["sha256"]
                    ));
                }
            } else {
                problems.push(format!(
                    "{name}: companion has no manifest {}",
                    cm.display()
                ));
            }
        }
    }
}

#[test]
fn every_stage_manifest_validates_against_its_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let ingest_dir = tmp.path().join("ingest");
    let split_dir = tmp.path().join("split");

    let o = run(
        "gmmn-ingest",
        &[&data("1kg_phase3_805snp.vcf.gz"), &"--out", &ingest_dir],
    );
    assert!(o.status.success(), "gmmn-ingest failed:\n{}", stderr(&o));
    split_1kg_super_populations(&ingest_dir, &split_dir);

    let mut expected = vec![
        "ingest/genotypes.parquet.meta.yaml".to_string(),
        "ingest/variants.parquet.meta.yaml".to_string(),
    ];
    for g in GROUPS {
        expected.push(format!("split/{g}.parquet.meta.yaml"));
        expected.push(format!("split/{g}.variants.parquet.meta.yaml"));
    }
    let manifests: Vec<String> = files_below(tmp.path())
        .into_iter()
        .filter(|f| f.ends_with(".meta.yaml"))
        .collect();
    for e in &expected {
        assert!(manifests.contains(e), "no {e} among {manifests:?}");
    }
    assert!(manifests.len() >= 2 + 2 * GROUPS.len(), "{manifests:?}");

    let validators: Vec<(&str, jsonschema::Validator)> = KINDS
        .iter()
        .map(|k| (k.as_str(), validator(k.as_str())))
        .collect();
    let for_kind = |kind: &str| {
        validators
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no schema for kind `{kind}`"))
    };

    let mut errors = Vec::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for rel in &manifests {
        let path = tmp.path().join(rel);
        let instance = read_manifest_json(&path);
        let Some(kind) = instance["kind"].as_str() else {
            errors.push(format!("{rel}: no string `kind`"));
            continue;
        };
        let v = for_kind(kind);
        for e in violations(v, &instance) {
            errors.push(format!("{rel} ({kind}) {e}"));
        }
        // The schema and the Rust reader must agree on a valid manifest.
        if let Err(e) = Manifest::from_yaml(&std::fs::read_to_string(&path).unwrap(), &path) {
            errors.push(format!("{rel}: artifact::Manifest refuses it: {e}"));
        }
        cross_check(&path, &instance, &mut problems);
        checked += 1;
    }
    assert!(
        errors.is_empty(),
        "{} schema violations in {checked} manifests:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(
        problems.is_empty(),
        "manifest inconsistencies:\n{}",
        problems.join("\n")
    );
    assert_eq!(checked, manifests.len());
    assert!(checked >= 10, "only {checked} manifests checked");

    // Negative checks on real manifests of each kind and producer: every mutation is refused.
    let mut accepted = Vec::new();
    let mut tried = 0;
    for rel in [
        "ingest/genotypes.parquet.meta.yaml",
        "ingest/variants.parquet.meta.yaml",
        "split/EUR.parquet.meta.yaml",
        "split/EUR.variants.parquet.meta.yaml",
    ] {
        let original = read_manifest_json(&tmp.path().join(rel));
        let kind = original["kind"].as_str().unwrap().to_string();
        let v = for_kind(&kind);
        assert!(v.is_valid(&original), "{rel}");
        for (what, mutate) in mutations(&kind) {
            let mut m = original.clone();
            mutate(&mut m);
            if m == original {
                continue; // the mutation does not apply to this producer's manifest
            }
            tried += 1;
            if v.is_valid(&m) {
                accepted.push(format!("{rel}: {what}"));
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "the schema accepts broken manifests:\n{}",
        accepted.join("\n")
    );
    assert!(tried >= 4 * 30, "only {tried} mutations applied");
}
