//! The JSON Schemas under `schemas/` against the manifests the stages really write.
//!
//! Runs gmmn-ingest and gmmn-split on the shipped 1000 Genomes slice, and gmmn-sketch,
//! gmmn-train (a whole run and one stopped at a checkpoint) and gmmn-sample with a tiny
//! configuration on its EAS group, and the evaluation stages gmmn-project and gmmn-discriminate
//! (tiny settings) on the split groups, then validates every `*.meta.yaml` they wrote (YAML read
//! as JSON) against `schemas/manifest.<kind>.schema.json`, cross-checks what a schema cannot
//! (hashes, sizes, shape against counts and params, companions, the data files' own contents),
//! and makes sure the schemas refuse broken manifests. Needs `cargo build --bins` first.

use std::io::Read;
use std::path::{Path, PathBuf};

use artifact::features::{FeatureMap, WeightInit, WEIGHT_GENERATOR};
use artifact::{ArtifactKind, Manifest, Producer, SketchInfo};
use gmmn_sim::{
    data, files_below, repo_root, run, sample_tiny, shared_1kg_groups, sketch_tiny,
    split_1kg_super_populations, stderr, train_tiny,
};
use serde_json::{json, Value};

const KINDS: [ArtifactKind; 12] = [
    ArtifactKind::Genotypes,
    ArtifactKind::Variants,
    ArtifactKind::Sketch,
    ArtifactKind::Model,
    ArtifactKind::Checkpoint,
    ArtifactKind::LossLog,
    ArtifactKind::Plot,
    ArtifactKind::Vcf,
    ArtifactKind::Plink,
    ArtifactKind::Panel,
    ArtifactKind::Coordinates,
    ArtifactKind::Report,
];
/// The kinds only the evaluation stages (gmmn-project, gmmn-discriminate) write.
const EVALUATION_KINDS: [ArtifactKind; 2] = [ArtifactKind::Coordinates, ArtifactKind::Report];
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

/// The params of a model manifest: every field of `ModelInfo` (crates/train/src/model.rs), which
/// this package cannot name (it does not depend on gmmn-train).
fn model_params() -> Value {
    json!({
        "group": "EUR", "snps": 3, "latent": 2, "hidden": 8, "local_blocks": 1, "output": "sigmoid",
        "features": "identity", "feature_count": 3, "restarts": 1, "restart_every": 0,
        "batch": 2, "lr": 1e-4, "beta1": 0.5, "beta2": 0.999, "steps": 1, "seed": 7,
        "quantizer_k": 10.0, "quantizer_t": 0.1, "checkpoint_every": 0, "resumed_from": 0,
        "device": "cuda(0)", "final_loss": 0.0,
        "blocks": [{"kind": "features", "offset": 0, "len": 3, "weight": 1.0}],
        "mask_monomorphic": false, "masked_snps": 0
    })
}

/// A manifest the artifact crate builds in-process validates, so schema and struct agree even
/// without the binaries.
#[test]
fn in_process_manifests_validate() {
    let sha = "ab".repeat(32);
    let file_ref = |role: &str, path: &str| artifact::FileRef {
        role: role.into(),
        path: path.into(),
        sha256: sha.clone(),
    };
    for kind in KINDS {
        let mut m = Manifest::new(kind, Producer::new("test", "gmmn-test", "0.1.0"))
            .param("anything", json!({"nested": [1, 2]}))
            .count("snps", 3);
        m.sha256 = sha.clone();
        m.bytes = 10;
        m.inputs = vec![file_ref("vcf", "../in.vcf")];
        match kind {
            ArtifactKind::Genotypes => {
                m.shape = vec![4, 3];
                m = m.count("haplotypes", 4);
                m.companions = vec![file_ref("variants", "variants.parquet")];
            }
            ArtifactKind::Variants => m.shape = vec![3],
            ArtifactKind::Sketch => {
                // Through `SketchInfo` itself: the schema accepts what the trainer reads back.
                let info = SketchInfo {
                    group: "EUR".into(),
                    haplotypes: 4,
                    snps: 3,
                    features: FeatureMap::Relu,
                    init: WeightInit::XavierUniform,
                    multiplier: 2,
                    feature_count: 6,
                    restarts: 2,
                    seed: 7,
                    restart_seeds: vec![11, u64::MAX],
                    weight_generator: WEIGHT_GENERATOR.into(),
                    window: None,
                    stride: None,
                    per_window: None,
                    identity_block: false,
                    identity_weight: 1.0,
                    count_features: 0,
                    count_weight: 1.0,
                    count_thresholds: Vec::new(),
                    count_scale: 1.0,
                    privacy: None,
                };
                m = info.into_params(m).count("haplotypes", 4);
                m.seed = Some(7);
                m.shape = vec![2, 6];
                m.companions = vec![file_ref("variants", "variants.parquet")];
            }
            ArtifactKind::Model => {
                for (k, v) in model_params().as_object().unwrap() {
                    m.params.insert(k.clone(), v.clone());
                }
                m.seed = Some(7);
                m.shape = vec![2, 8, 3];
                m.companions = vec![
                    file_ref("variants", "variants.parquet"),
                    file_ref("loss", "loss.csv"),
                ];
            }
            ArtifactKind::Checkpoint => {
                m = m
                    .param(
                        "resume_key",
                        json!({
                            "sketch_sha256": sha, "group": "EUR", "latent": 2, "hidden": 8,
                            "local_blocks": 1, "snps": 3, "output": "quantizer", "batch": 2, "restart_every": 0,
                            "seed": 7
                        }),
                    )
                    .param("step", 5)
                    .param("lr", 0.001);
                m.shape = vec![5];
                m.seed = Some(7);
            }
            ArtifactKind::LossLog => {
                m = m.param("columns", "step,restart,loss");
                m.shape = vec![5];
            }
            ArtifactKind::Plot => {} // a figure's shape is []
            ArtifactKind::Vcf => {
                m = m.count("individuals", 2);
                m.shape = vec![3, 2];
                m.companions = vec![file_ref("tabix_index", "EAS.vcf.gz.tbi")];
            }
            ArtifactKind::Plink => {
                m = m
                    .param("plink_file", "bed")
                    .param("a1", "ALT")
                    .count("individuals", 2);
                m.shape = vec![3, 2];
            }
            ArtifactKind::Panel => {
                m = m.param("columns", "sample group").count("individuals", 2);
                m.shape = vec![2];
            }
            // As gmmn-project writes them (its branch of the schema applies): PCA by the Gram
            // fallback (with its reason) and ISOMAP of 2 components, 4 + 4 haplotypes.
            ArtifactKind::Coordinates => {
                m.producer = Producer::new("project", "gmmn-project", "0.1.0");
                m = m
                    .param("methods", json!(["pca", "isomap"]))
                    .param("components", 2)
                    .param("neighbours", 2)
                    .param("landmarks", 2000)
                    .param("label", "super_pop")
                    .param("groups", json!(["EUR"]))
                    .param("pca_solver", "centred Gram matrix, subspace iteration")
                    .param("pca_explained_variance_ratio", json!([0.5, 0.25]))
                    .param("pca_fallback_reason", "LOBPCG needs min(n, m) >= 5 k")
                    .param("isomap_eigenvalues", json!([9.5, 2.0]))
                    .param("isomap_landmarks_used", 4)
                    .param("isomap_graph_components", 1)
                    .param("isomap_joining_edges", 0)
                    .count("real_haplotypes", 4)
                    .count("synthetic_haplotypes", 4);
                m.params.remove("anything");
                m.inputs = vec![
                    file_ref("real", "../groups/EUR.parquet"),
                    file_ref("synthetic", "../synthetic/EUR.vcf.gz"),
                    file_ref("synthetic_panel", "../synthetic/EUR.panel.tsv"),
                ];
                m.seed = Some(1);
                m.shape = vec![16, 2];
            }
            // As gmmn-discriminate writes report.md with --synthetic and the floor baseline.
            ArtifactKind::Report => {
                m.producer = Producer::new("discriminate", "gmmn-discriminate", "0.1.0");
                m = m
                    .param("format", "markdown")
                    .param("baselines", json!(["floor"]))
                    .param("heldout", false)
                    .param("privacy", false)
                    .param("protocol", "strict")
                    .param("groups", Value::Null)
                    .param("label", "super_pop")
                    .param("splits", 5)
                    .param("test_fraction", 0.33)
                    .param("seed", 1)
                    .param("ld_max_distance", 50)
                    .param("cv_folds", 5)
                    .param("logistic", json!({"c": 1.0, "max_iter": 100, "tol": 1e-4}))
                    .param(
                        "knn_grid",
                        json!({"n_neighbours": [2, 4, 10], "weights": ["uniform", "distance"],
                               "p": [1, 2], "scoring": "balanced_accuracy"}),
                    )
                    .param(
                        "mlp",
                        json!({"hidden": 100, "learning_rate": 1e-3, "alpha": 1e-4, "batch": 200,
                               "max_epochs": 200, "patience": 20, "validation_fraction": 0.1}),
                    )
                    .param("delta_synthetic", 0.31)
                    .param("delta_floor", 0.02)
                    .count("comparisons", 2)
                    .count("groups", 1);
                m.params.remove("anything");
                m.inputs = vec![
                    file_ref("real", "../groups/EUR.parquet"),
                    file_ref("synthetic", "../synthetic/EUR.parquet"),
                ];
                m.seed = Some(1);
                m.shape = vec![2];
            }
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

/// gmmn-project's two PCA solvers, as its manifests name them.
const LINFA: &str = "linfa-reduction (LOBPCG truncated SVD)";
const GRAM: &str = "centred Gram matrix, subspace iteration";

type Mutation = Box<dyn Fn(&mut Value)>;

fn mu(f: impl Fn(&mut Value) + 'static) -> Mutation {
    Box::new(f)
}

/// `f` on a manifest written by `stage` only (elsewhere a no-op, so the mutation is skipped).
fn by(stage: &'static str, f: impl Fn(&mut Value) + 'static) -> Mutation {
    Box::new(move |v| {
        if v["producer"]["stage"] == stage {
            f(v)
        }
    })
}

/// Drop the entries of `list` (`inputs` or `companions`) with `role`.
fn drop_role(v: &mut Value, list: &str, role: &str) {
    if let Some(a) = v.get_mut(list).and_then(Value::as_array_mut) {
        a.retain(|r| r["role"] != role);
    }
}

/// Remove `key` from the object `v[parent]`, if there is one.
fn remove_key(v: &mut Value, parent: &str, key: &str) {
    if let Some(o) = v.get_mut(parent).and_then(Value::as_object_mut) {
        o.remove(key);
    }
}

/// A pattern sketch or a chain model (`gmmn-sketch --features patterns`, gmmn-train on it).
fn is_chain(v: &Value) -> bool {
    v["params"]["features"] == "patterns" || v["params"]["generator"] == "markov"
}

/// Mutations of a pattern sketch's or a chain model's manifest that the schema must refuse.
fn chain_mutations(kind: &str) -> Vec<(&'static str, Mutation)> {
    let mut m: Vec<(&'static str, Mutation)> = vec![
        ("shape of three", mu(|v| v["shape"] = json!([10, 5, 1]))),
        ("shape not 5 columns", mu(|v| v["shape"][1] = json!(4))),
        ("order zero", mu(|v| v["params"]["order"] = json!(0))),
        ("order 128", mu(|v| v["params"]["order"] = json!(128))),
        (
            "order as string",
            mu(|v| v["params"]["order"] = json!("100")),
        ),
        (
            "min_count zero",
            mu(|v| v["params"]["min_count"] = json!(0)),
        ),
        (
            "patterns negative",
            mu(|v| v["params"]["patterns"] = json!(-1)),
        ),
        (
            "haplotypes one",
            mu(|v| v["params"]["haplotypes"] = json!(1)),
        ),
        ("no order", mu(|v| remove_key(v, "params", "order"))),
        ("no patterns", mu(|v| remove_key(v, "params", "patterns"))),
        (
            "group not a file name",
            mu(|v| v["params"]["group"] = json!("../EAS")),
        ),
        ("with a seed", mu(|v| v["seed"] = json!(1))),
        (
            "no companions",
            mu(|v| {
                v.as_object_mut().unwrap().remove("companions");
            }),
        ),
        (
            "no variants companion",
            mu(|v| drop_role(v, "companions", "variants")),
        ),
    ];
    if kind == "sketch" {
        m.extend([
            (
                "features unknown",
                mu(|v| v["params"]["features"] = json!("pattern")),
            ),
            (
                "min_fraction one half",
                mu(|v| v["params"]["min_fraction"] = json!(0.5)),
            ),
            (
                "no min_count_given",
                mu(|v| remove_key(v, "params", "min_count_given")),
            ),
            (
                "sketch without genotypes input",
                by("sketch", |v| drop_role(v, "inputs", "genotypes")),
            ),
        ] as [(&'static str, Mutation); 4]);
    } else {
        m.extend([
            (
                "pseudocount negative",
                mu(|v| v["params"]["pseudocount"] = json!(-1.0)),
            ),
            (
                "no sketch_min_count",
                mu(|v| remove_key(v, "params", "sketch_min_count")),
            ),
            (
                "a loss companion",
                mu(|v| {
                    let mut c = v["companions"][0].clone();
                    c["role"] = json!("loss");
                    v["companions"].as_array_mut().unwrap().push(c);
                }),
            ),
            (
                "model without sketch input",
                by("train", |v| drop_role(v, "inputs", "sketch")),
            ),
        ] as [(&'static str, Mutation); 4]);
    }
    m
}

/// Mutations of a valid manifest that the schema must refuse, by name.
fn mutations(original: &Value) -> Vec<(String, Mutation)> {
    let kind = original["kind"].as_str().unwrap_or_default();
    let stage = original["producer"]["stage"].as_str().unwrap_or_default();
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
            mu(|v| {
                if let Some(i) = v["inputs"].get_mut(0) {
                    i["sha256"] = json!("00");
                }
            }),
        ),
        (
            "input without role",
            mu(|v| {
                if let Some(i) = v["inputs"].get_mut(0) {
                    i.as_object_mut().unwrap().remove("role");
                }
            }),
        ),
        (
            "input extra key",
            mu(|v| {
                if let Some(i) = v["inputs"].get_mut(0) {
                    i["size"] = json!(3);
                }
            }),
        ),
        ("negative count", mu(|v| v["counts"]["snps"] = json!(-1))),
        ("fractional count", mu(|v| v["counts"]["snps"] = json!(1.5))),
        ("count as string", mu(|v| v["counts"]["extra"] = json!("3"))),
        (
            "no snps count",
            mu(|v| remove_key(v, "counts", "snps")), // where one is written
        ),
        (
            "shape too long",
            mu(|v| v["shape"].as_array_mut().unwrap().push(json!(1))),
        ),
        ("shape empty", mu(|v| v["shape"] = json!([]))),
        (
            "shape negative",
            mu(|v| {
                if let Some(s) = v["shape"].get_mut(0) {
                    *s = json!(-1);
                }
            }),
        ),
        (
            "shape fractional",
            mu(|v| {
                if let Some(s) = v["shape"].get_mut(0) {
                    *s = json!(2.5);
                }
            }),
        ),
        (
            "companion without path",
            mu(|v| {
                v["companions"] = json!([{"role": "variants", "sha256": "ab".repeat(32)}]);
            }),
        ),
    ];
    if kind == "genotypes" || kind == "variants" {
        m.push((
            "ingest min_maf above 0.5",
            mu(|v| {
                v["producer"]["stage"] = json!("ingest");
                v["params"]["min_maf"] = json!(0.7);
            }),
        ));
        m.push((
            "ingest without vcf input",
            mu(|v| {
                v["producer"]["stage"] = json!("ingest");
                v["inputs"] = json!([]);
            }),
        ));
        m.push((
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
        ));
        m.push((
            "split group not a file name",
            mu(|v| {
                v["producer"]["stage"] = json!("split");
                v["params"]["group"] = json!("../EUR");
            }),
        ));
    }
    if matches!(kind, "genotypes" | "variants" | "vcf" | "plink" | "panel") {
        m.extend([
            (
                "sample n zero",
                by("sample", |v| v["params"]["n"] = json!(0)),
            ),
            (
                "sample n as string",
                by("sample", |v| v["params"]["n"] = json!("101")),
            ),
            (
                "sample device unknown",
                by("sample", |v| v["params"]["device"] = json!("gpu")),
            ),
            (
                "sample device cuda without index",
                by("sample", |v| v["params"]["device"] = json!("cuda")),
            ),
            (
                "sample model_output unknown",
                by("sample", |v| v["params"]["model_output"] = json!("tanh")),
            ),
            (
                "sample prefix not a string",
                by("sample", |v| v["params"]["sample_prefix"] = json!(1)),
            ),
            (
                "sample group not a file name",
                by("sample", |v| v["params"]["group"] = json!("a/b")),
            ),
            (
                "sample seed null",
                by("sample", |v| v["seed"] = Value::Null),
            ),
            (
                "sample without model input",
                by("sample", |v| drop_role(v, "inputs", "model")),
            ),
            (
                "sample without variants input",
                by("sample", |v| drop_role(v, "inputs", "variants")),
            ),
        ]);
    }
    if matches!(kind, "vcf" | "panel") {
        m.extend([
            (
                "discriminate baseline not independent",
                by("discriminate", |v| {
                    v["params"]["baseline"] = json!("holdout")
                }),
            ),
            (
                "discriminate seed null",
                by("discriminate", |v| v["seed"] = Value::Null),
            ),
            (
                "discriminate without real input",
                by("discriminate", |v| drop_role(v, "inputs", "real")),
            ),
            (
                "discriminate input role unknown",
                by("discriminate", |v| v["inputs"][0]["role"] = json!("model")),
            ),
        ]);
    }
    match kind {
        "genotypes" => {
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
        }
        "variants" => {
            m.push(("shape of two", mu(|v| v["shape"] = json!([5, 6]))));
            for s in ["sketch", "train"] {
                m.extend([
                    ("copy with a seed", by(s, |v| v["seed"] = json!(7))),
                    (
                        "copy without variants input",
                        by(s, |v| drop_role(v, "inputs", "variants")),
                    ),
                    (
                        "copy group not a file name",
                        by(s, |v| v["params"]["group"] = json!("../EAS")),
                    ),
                ]);
            }
        }
        "sketch" | "model" if is_chain(original) => m.extend(chain_mutations(kind)),
        "sketch" => m.extend([
            ("shape of one", mu(|v| v["shape"] = json!([3]))),
            (
                "features unknown",
                mu(|v| v["params"]["features"] = json!("sigmoid")),
            ),
            (
                "features upper case",
                mu(|v| v["params"]["features"] = json!("ReLU")),
            ),
            (
                "init unknown",
                mu(|v| v["params"]["init"] = json!("uniform")),
            ),
            (
                "init with an underscore",
                mu(|v| v["params"]["init"] = json!("xavier_uniform")),
            ),
            (
                "restart_seeds not an array",
                mu(|v| v["params"]["restart_seeds"] = json!(5)),
            ),
            (
                "restart_seeds with a string",
                mu(|v| {
                    v["params"]["restart_seeds"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!("1"))
                }),
            ),
            (
                "restart_seeds empty",
                mu(|v| v["params"]["restart_seeds"] = json!([])),
            ),
            (
                "restart seed negative",
                mu(|v| v["params"]["restart_seeds"][0] = json!(-1)),
            ),
            (
                "restart seed fractional",
                mu(|v| v["params"]["restart_seeds"][0] = json!(0.5)),
            ),
            ("restarts zero", mu(|v| v["params"]["restarts"] = json!(0))),
            (
                "multiplier zero",
                mu(|v| v["params"]["multiplier"] = json!(0)),
            ),
            (
                "multiplier as string",
                mu(|v| v["params"]["multiplier"] = json!("2")),
            ),
            (
                "feature_count fractional",
                mu(|v| v["params"]["feature_count"] = json!(1610.5)),
            ),
            (
                "haplotypes zero",
                mu(|v| v["params"]["haplotypes"] = json!(0)),
            ),
            ("snps as string", mu(|v| v["params"]["snps"] = json!("805"))),
            (
                "weight_generator empty",
                mu(|v| v["params"]["weight_generator"] = json!("")),
            ),
            (
                "weight_generator not a string",
                mu(|v| v["params"]["weight_generator"] = json!(1)),
            ),
            (
                "group not a file name",
                mu(|v| v["params"]["group"] = json!("../EAS")),
            ),
            ("seed null", mu(|v| v["seed"] = Value::Null)),
            ("seed as string", mu(|v| v["seed"] = json!("5"))),
            (
                "identity features with several restarts",
                mu(|v| v["params"]["features"] = json!("identity")),
            ),
            (
                "identity features with several rows",
                mu(|v| {
                    let p = &mut v["params"];
                    p["features"] = json!("identity");
                    p["restarts"] = json!(1);
                    p["multiplier"] = json!(1);
                    p["restart_seeds"].as_array_mut().unwrap().truncate(1);
                }),
            ),
            (
                "no companions",
                mu(|v| {
                    v.as_object_mut().unwrap().remove("companions");
                }),
            ),
            (
                "companion role not variants",
                mu(|v| v["companions"][0]["role"] = json!("genotypes")),
            ),
            (
                "two variants companions",
                mu(|v| {
                    let c = v["companions"][0].clone();
                    v["companions"].as_array_mut().unwrap().push(c);
                }),
            ),
            (
                "sketch without genotypes input",
                by("sketch", |v| drop_role(v, "inputs", "genotypes")),
            ),
            (
                "sketch without variants input",
                by("sketch", |v| drop_role(v, "inputs", "variants")),
            ),
        ]),
        "model" => m.extend([
            ("shape of two", mu(|v| v["shape"] = json!([16, 64]))),
            (
                "output unknown",
                mu(|v| v["params"]["output"] = json!("tanh")),
            ),
            (
                "features unknown",
                mu(|v| v["params"]["features"] = json!("linear")),
            ),
            ("lr zero", mu(|v| v["params"]["lr"] = json!(0.0))),
            ("lr as string", mu(|v| v["params"]["lr"] = json!("1e-3"))),
            ("batch of one", mu(|v| v["params"]["batch"] = json!(1))),
            ("beta1 of one", mu(|v| v["params"]["beta1"] = json!(1.0))),
            ("beta2 negative", mu(|v| v["params"]["beta2"] = json!(-0.1))),
            ("steps zero", mu(|v| v["params"]["steps"] = json!(0))),
            ("latent zero", mu(|v| v["params"]["latent"] = json!(0))),
            (
                "hidden as string",
                mu(|v| v["params"]["hidden"] = json!("64")),
            ),
            (
                "final_loss negative",
                mu(|v| v["params"]["final_loss"] = json!(-1.0)),
            ),
            (
                "final_loss as string",
                mu(|v| v["params"]["final_loss"] = json!("0.1")),
            ),
            (
                "resumed_from negative",
                mu(|v| v["params"]["resumed_from"] = json!(-1)),
            ),
            (
                "quantizer_k as string",
                mu(|v| v["params"]["quantizer_k"] = json!("10")),
            ),
            (
                "device unknown",
                mu(|v| v["params"]["device"] = json!("gpu")),
            ),
            (
                "group not a file name",
                mu(|v| v["params"]["group"] = json!("../EAS")),
            ),
            ("seed null", mu(|v| v["seed"] = Value::Null)),
            (
                "no companions",
                mu(|v| {
                    v.as_object_mut().unwrap().remove("companions");
                }),
            ),
            (
                "no variants companion",
                mu(|v| drop_role(v, "companions", "variants")),
            ),
            (
                "no loss companion",
                mu(|v| drop_role(v, "companions", "loss")),
            ),
            (
                "two loss companions",
                mu(|v| {
                    let c = v["companions"][1].clone();
                    v["companions"].as_array_mut().unwrap().push(c);
                }),
            ),
            (
                "model without sketch input",
                by("train", |v| drop_role(v, "inputs", "sketch")),
            ),
        ]),
        "checkpoint" => m.extend([
            ("shape of two", mu(|v| v["shape"] = json!([5, 5]))),
            ("shape zero", mu(|v| v["shape"] = json!([0]))),
            ("step zero", mu(|v| v["params"]["step"] = json!(0))),
            ("step as string", mu(|v| v["params"]["step"] = json!("5"))),
            ("lr zero", mu(|v| v["params"]["lr"] = json!(0.0))),
            ("lr as string", mu(|v| v["params"]["lr"] = json!("1e-3"))),
            (
                "resume_key not an object",
                mu(|v| v["params"]["resume_key"] = json!("abc")),
            ),
            (
                "resume_key extra field",
                mu(|v| v["params"]["resume_key"]["lr"] = json!(0.001)),
            ),
            (
                "resume_key sketch_sha256 not hex",
                mu(|v| v["params"]["resume_key"]["sketch_sha256"] = json!("zz")),
            ),
            (
                "resume_key output unknown",
                mu(|v| v["params"]["resume_key"]["output"] = json!("tanh")),
            ),
            (
                "resume_key batch of one",
                mu(|v| v["params"]["resume_key"]["batch"] = json!(1)),
            ),
        ]),
        "loss_log" => m.extend([
            ("shape of two", mu(|v| v["shape"] = json!([30, 3]))),
            ("shape zero", mu(|v| v["shape"] = json!([0]))),
            (
                "columns changed",
                mu(|v| v["params"]["columns"] = json!("step,loss")),
            ),
            (
                "columns not a string",
                mu(|v| v["params"]["columns"] = json!(["step", "restart", "loss"])),
            ),
            (
                "loss log without sketch input",
                by("train", |v| drop_role(v, "inputs", "sketch")),
            ),
        ]),
        "plot" => m.extend([
            ("plot with a shape", mu(|v| v["shape"] = json!([900, 500]))),
            (
                "plots empty",
                by("train", |v| v["params"]["plots"] = json!("")),
            ),
            (
                "plots not a string",
                by("train", |v| v["params"]["plots"] = json!(1)),
            ),
            (
                "plot without loss input",
                by("train", |v| drop_role(v, "inputs", "loss")),
            ),
            (
                "project method unknown",
                by("project", |v| v["params"]["method"] = json!("tsne")),
            ),
            (
                "project format unknown",
                by("project", |v| v["params"]["format"] = json!("jpg")),
            ),
            (
                "project group empty",
                by("project", |v| v["params"]["group"] = json!("")),
            ),
            (
                "project plots not a string",
                by("project", |v| v["params"]["plots"] = json!(["pca"])),
            ),
            (
                "project plot with a seed",
                by("project", |v| v["seed"] = json!(1)),
            ),
            (
                "project plot without coordinates input",
                by("project", |v| drop_role(v, "inputs", "coordinates")),
            ),
            (
                "project plot input role unknown",
                by("project", |v| v["inputs"][0]["role"] = json!("loss")),
            ),
            (
                "discriminate comparison unknown",
                by("discriminate", |v| {
                    v["params"]["comparison"] = json!("other")
                }),
            ),
            (
                "discriminate figure unknown",
                by("discriminate", |v| v["params"]["figure"] = json!("pca")),
            ),
            (
                "discriminate format unknown",
                by("discriminate", |v| v["params"]["format"] = json!("pdf")),
            ),
            (
                "discriminate plots empty",
                by("discriminate", |v| v["params"]["plots"] = json!("")),
            ),
            (
                "discriminate plot with a seed",
                by("discriminate", |v| v["seed"] = json!(1)),
            ),
            (
                "discriminate plot without report input",
                by("discriminate", |v| drop_role(v, "inputs", "report")),
            ),
            (
                "discriminate plot input role unknown",
                by("discriminate", |v| {
                    v["inputs"][0]["role"] = json!("coordinates")
                }),
            ),
        ]),
        "plink" => m.extend([
            (
                "plink_file unknown",
                mu(|v| v["params"]["plink_file"] = json!("pgen")),
            ),
            (
                "no plink_file",
                mu(|v| remove_key(v, "params", "plink_file")),
            ),
            ("a1 not ALT", mu(|v| v["params"]["a1"] = json!("REF"))),
            ("no a1", mu(|v| remove_key(v, "params", "a1"))),
            ("shape of three", mu(|v| v["shape"] = json!([805, 50, 1]))),
            ("shape zero", mu(|v| v["shape"] = json!([0]))),
            ("a companion", mu(|v| v["companions"] = v["inputs"].clone())),
        ]),
        "vcf" => m.extend([
            ("shape of one", mu(|v| v["shape"] = json!([805]))),
            ("no individuals", mu(|v| v["shape"][1] = json!(0))),
            (
                "no individuals count",
                mu(|v| remove_key(v, "counts", "individuals")),
            ),
        ]),
        "panel" => m.extend([
            ("shape of two", mu(|v| v["shape"] = json!([51, 2]))),
            ("shape zero", mu(|v| v["shape"] = json!([0]))),
            (
                "no individuals count",
                mu(|v| remove_key(v, "counts", "individuals")),
            ),
            (
                "columns with a tab",
                mu(|v| v["params"]["columns"] = json!("sample\tgroup")),
            ),
            (
                "columns not a string",
                mu(|v| v["params"]["columns"] = json!(["sample", "group"])),
            ),
            (
                "sample columns changed",
                by("sample", |v| v["params"]["columns"] = json!("sample pop")),
            ),
            (
                "discriminate columns changed",
                by("discriminate", |v| {
                    v["params"]["columns"] = json!("sample pop")
                }),
            ),
        ]),
        "coordinates" => m.extend([
            ("shape of one", mu(|v| v["shape"] = json!([8056]))),
            ("no components", mu(|v| v["shape"][1] = json!(0))),
            ("no snps", mu(|v| v["counts"]["snps"] = json!(0))),
            (
                "no real haplotypes",
                mu(|v| v["counts"]["real_haplotypes"] = json!(0)),
            ),
            (
                "no synthetic haplotypes count",
                mu(|v| remove_key(v, "counts", "synthetic_haplotypes")),
            ),
            ("methods empty", mu(|v| v["params"]["methods"] = json!([]))),
            (
                "methods unknown",
                mu(|v| v["params"]["methods"] = json!(["pca", "tsne"])),
            ),
            (
                "method twice",
                mu(|v| v["params"]["methods"] = json!(["pca", "pca"])),
            ),
            (
                "methods not an array",
                mu(|v| v["params"]["methods"] = json!("pca,isomap")),
            ),
            (
                "components zero",
                mu(|v| v["params"]["components"] = json!(0)),
            ),
            (
                "components as string",
                mu(|v| v["params"]["components"] = json!("2")),
            ),
            ("label empty", mu(|v| v["params"]["label"] = json!(""))),
            ("groups empty", mu(|v| v["params"]["groups"] = json!([]))),
            (
                "groups with an empty name",
                mu(|v| v["params"]["groups"] = json!(["EUR", ""])),
            ),
            (
                "groups twice",
                mu(|v| v["params"]["groups"] = json!(["EUR", "EUR"])),
            ),
            (
                "pca_solver unknown",
                mu(|v| v["params"]["pca_solver"] = json!("sklearn")),
            ),
            (
                "explained variance ratio above 1",
                mu(|v| v["params"]["pca_explained_variance_ratio"][0] = json!(1.5)),
            ),
            (
                "explained variance ratio empty",
                mu(|v| v["params"]["pca_explained_variance_ratio"] = json!([])),
            ),
            (
                "fallback reason with linfa",
                mu(|v| {
                    if v["params"]["pca_solver"] == LINFA {
                        v["params"]["pca_fallback_reason"] = json!("none");
                    }
                }),
            ),
            (
                "Gram solver without a fallback reason",
                mu(|v| {
                    v["params"]["pca_solver"] = json!(GRAM);
                    remove_key(v, "params", "pca_fallback_reason");
                }),
            ),
            (
                "isomap eigenvalue zero",
                mu(|v| v["params"]["isomap_eigenvalues"][0] = json!(0.0)),
            ),
            (
                "isomap eigenvalues empty",
                mu(|v| v["params"]["isomap_eigenvalues"] = json!([])),
            ),
            (
                "isomap_graph_components zero",
                mu(|v| v["params"]["isomap_graph_components"] = json!(0)),
            ),
            (
                "isomap_joining_edges negative",
                mu(|v| v["params"]["isomap_joining_edges"] = json!(-1)),
            ),
            (
                "isomap_landmarks_used as string",
                mu(|v| v["params"]["isomap_landmarks_used"] = json!("2000")),
            ),
            (
                "isomap results without isomap",
                mu(|v| v["params"]["methods"] = json!(["pca"])),
            ),
            (
                "pca results without pca",
                mu(|v| v["params"]["methods"] = json!(["isomap"])),
            ),
            (
                "isomap with no neighbours",
                mu(|v| v["params"]["neighbours"] = json!(0)),
            ),
            ("seed null", mu(|v| v["seed"] = Value::Null)),
            ("seed as string", mu(|v| v["seed"] = json!("1"))),
            (
                "coordinates without real input",
                by("project", |v| drop_role(v, "inputs", "real")),
            ),
            (
                "coordinates without synthetic input",
                by("project", |v| drop_role(v, "inputs", "synthetic")),
            ),
            (
                "coordinates input role unknown",
                by("project", |v| v["inputs"][0]["role"] = json!("genotypes")),
            ),
            (
                "coordinates with a companion",
                by("project", |v| {
                    let r = v["inputs"][0].clone();
                    v["companions"] = json!([r]);
                }),
            ),
        ]),
        "report" => m.extend([
            ("shape of two", mu(|v| v["shape"] = json!([3, 3]))),
            ("shape zero", mu(|v| v["shape"] = json!([0]))),
            (
                "no comparisons",
                mu(|v| v["counts"]["comparisons"] = json!(0)),
            ),
            ("no groups", mu(|v| v["counts"]["groups"] = json!(0))),
            (
                "format unknown",
                mu(|v| v["params"]["format"] = json!("html")),
            ),
            (
                "baselines unknown",
                mu(|v| v["params"]["baselines"] = json!(["noise"])),
            ),
            (
                "baseline twice",
                mu(|v| {
                    let b = v["params"]["baselines"].clone();
                    let mut twice = b.as_array().cloned().unwrap_or_default();
                    twice.extend(b.as_array().cloned().unwrap_or_default());
                    v["params"]["baselines"] = json!(twice);
                }),
            ),
            (
                "baselines not an array",
                mu(|v| v["params"]["baselines"] = json!("floor")),
            ),
            ("groups empty", mu(|v| v["params"]["groups"] = json!([]))),
            (
                "groups not an array",
                mu(|v| v["params"]["groups"] = json!("EAS")),
            ),
            ("splits zero", mu(|v| v["params"]["splits"] = json!(0))),
            (
                "splits fractional",
                mu(|v| v["params"]["splits"] = json!(2.5)),
            ),
            (
                "test_fraction one",
                mu(|v| v["params"]["test_fraction"] = json!(1.0)),
            ),
            (
                "test_fraction zero",
                mu(|v| v["params"]["test_fraction"] = json!(0.0)),
            ),
            (
                "ld_max_distance one",
                mu(|v| v["params"]["ld_max_distance"] = json!(1)),
            ),
            ("cv_folds one", mu(|v| v["params"]["cv_folds"] = json!(1))),
            (
                "params seed negative",
                mu(|v| v["params"]["seed"] = json!(-1)),
            ),
            (
                "logistic c zero",
                mu(|v| v["params"]["logistic"]["c"] = json!(0.0)),
            ),
            (
                "logistic without tol",
                mu(|v| {
                    v["params"]["logistic"]
                        .as_object_mut()
                        .unwrap()
                        .remove("tol");
                }),
            ),
            (
                "logistic extra key",
                mu(|v| v["params"]["logistic"]["penalty"] = json!("l2")),
            ),
            (
                "knn_grid weights unknown",
                mu(|v| v["params"]["knn_grid"]["weights"] = json!(["gaussian"])),
            ),
            (
                "knn_grid without p",
                mu(|v| {
                    v["params"]["knn_grid"].as_object_mut().unwrap().remove("p");
                }),
            ),
            (
                "mlp hidden zero",
                mu(|v| v["params"]["mlp"]["hidden"] = json!(0)),
            ),
            (
                "mlp validation_fraction one",
                mu(|v| v["params"]["mlp"]["validation_fraction"] = json!(1.0)),
            ),
            (
                "mlp without patience",
                mu(|v| {
                    v["params"]["mlp"]
                        .as_object_mut()
                        .unwrap()
                        .remove("patience");
                }),
            ),
            (
                "delta above one half",
                mu(|v| v["params"]["delta_floor"] = json!(0.7)),
            ),
            (
                "delta negative",
                mu(|v| v["params"]["delta_floor"] = json!(-0.1)),
            ),
            (
                "delta as string",
                mu(|v| v["params"]["delta_floor"] = json!("0.1")),
            ),
            (
                "delta of an unknown comparison",
                mu(|v| v["params"]["delta_bogus"] = json!(0.1)),
            ),
            (
                "delta of a baseline not run",
                mu(|v| {
                    v["params"]["baselines"] = json!([]);
                    v["params"]["delta_floor"] = json!(0.1);
                }),
            ),
            (
                "delta_synthetic without synthetic input",
                mu(|v| {
                    drop_role(v, "inputs", "synthetic");
                    v["params"]["delta_synthetic"] = json!(0.1);
                }),
            ),
            (
                "synthetic input without delta_synthetic",
                mu(|v| {
                    let r = v["inputs"][0].clone();
                    let mut r = r.as_object().cloned().unwrap_or_default();
                    r.insert("role".into(), json!("synthetic"));
                    v["inputs"].as_array_mut().unwrap().push(json!(r));
                    remove_key(v, "params", "delta_synthetic");
                }),
            ),
            ("seed null", mu(|v| v["seed"] = Value::Null)),
            ("seed as string", mu(|v| v["seed"] = json!("1"))),
            (
                "report without real input",
                by("discriminate", |v| drop_role(v, "inputs", "real")),
            ),
            (
                "report input role unknown",
                by("discriminate", |v| v["inputs"][0]["role"] = json!("model")),
            ),
        ]),
        _ => {}
    }
    let mut m: Vec<(String, Mutation)> = m.into_iter().map(|(w, f)| (w.to_string(), f)).collect();
    // Every param a later stage writes is required (ingest's and split's are typed, not required).
    if !matches!(stage, "ingest" | "split") {
        for key in original["params"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let k = key.clone();
            m.push((
                format!("params without `{key}`"),
                mu(move |v| remove_key(v, "params", &k)),
            ));
        }
    }
    // Every count of a sketch and of the outputs of gmmn-sample and the evaluation stages is
    // required.
    if kind == "sketch" || matches!(stage, "sample" | "project" | "discriminate") {
        for key in original["counts"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let k = key.clone();
            m.push((
                format!("counts without `{key}`"),
                mu(move |v| remove_key(v, "counts", &k)),
            ));
        }
    }
    // A resume key is compared as a whole: every field is required.
    for key in original["params"]["resume_key"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        let k = key.clone();
        m.push((
            format!("resume_key without `{key}`"),
            mu(move |v| {
                if let Some(o) = v["params"]["resume_key"].as_object_mut() {
                    o.remove(&k);
                }
            }),
        ));
    }
    m
}

/// Check, for one manifest, what JSON Schema cannot express: the data file and every referenced
/// file exist with the recorded hash and size, shape agrees with counts and params, values
/// recorded twice agree, and every companion's own manifest agrees with the reference to it.
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
    let resolve = |path: &str| {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        }
    };
    for list in ["inputs", "companions"] {
        for r in v[list].as_array().into_iter().flatten() {
            let (Some(path), Some(sha)) = (r["path"].as_str(), r["sha256"].as_str()) else {
                continue; // the schema reports it
            };
            match artifact::sha256_file(&resolve(path)) {
                Ok(actual) if actual == sha => {}
                Ok(actual) => problems.push(format!(
                    "{name}: {list} `{}` {path}: recorded {sha}, file hashes to {actual}",
                    r["role"]
                )),
                Err(e) => problems.push(format!("{name}: {list} `{}` {path}: {e}", r["role"])),
            }
        }
    }
    let kind = v["kind"].as_str().unwrap_or_default();
    let shape = &v["shape"];
    let counts = &v["counts"];
    let params = &v["params"];
    let agree = |problems: &mut Vec<String>, what: &str, a: &Value, b: &Value| {
        if a != b {
            problems.push(format!("{name}: {what}: {a} vs {b}"));
        }
    };
    let columns = json!(5);
    let expect: Option<Vec<&Value>> = match kind {
        "genotypes" => Some(vec![&counts["haplotypes"], &counts["snps"]]),
        // gmmn-train's copy of the variants records no counts (see its schema).
        "variants" if counts.get("snps").is_none() => None,
        "variants" => Some(vec![&counts["snps"]]),
        "sketch" | "model" if is_chain(v) => Some(vec![&params["patterns"], &columns]),
        "sketch" => Some(vec![&params["restarts"], &params["feature_count"]]),
        "model" => Some(vec![&params["latent"], &params["hidden"], &params["snps"]]),
        "checkpoint" => Some(vec![&params["step"]]),
        "plot" => Some(vec![]),
        "vcf" => Some(vec![&counts["snps"], &counts["individuals"]]),
        "plink" => match params["plink_file"].as_str() {
            Some("bed") => Some(vec![&counts["snps"], &counts["individuals"]]),
            Some("bim") => Some(vec![&counts["snps"]]),
            _ => Some(vec![&counts["individuals"]]),
        },
        "panel" => Some(vec![&counts["individuals"]]),
        "report" => Some(vec![&counts["comparisons"]]),
        _ => None, // loss_log, coordinates: against the file below
    };
    if let Some(expect) = expect {
        let expect = Value::Array(expect.into_iter().cloned().collect());
        agree(problems, "shape vs counts/params", shape, &expect);
    }
    let text = || std::fs::read_to_string(&data_file).unwrap_or_default();
    match kind {
        "sketch" | "model" if is_chain(v) => {
            agree(
                problems,
                "counts.patterns vs params.patterns",
                &counts["patterns"],
                &params["patterns"],
            );
            if kind == "sketch" {
                agree(
                    problems,
                    "counts.haplotypes vs params.haplotypes",
                    &counts["haplotypes"],
                    &params["haplotypes"],
                );
                let mut head = [0u8; 128];
                let n = std::fs::File::open(&data_file)
                    .and_then(|mut f| f.read(&mut head))
                    .unwrap_or(0);
                let head = String::from_utf8_lossy(&head[..n]);
                let want = format!("'shape': ({}, 5)", shape[0]);
                if !head.contains("'<u8'") || !head.contains(&want) {
                    problems.push(format!(
                        "{name}: .npy header {head:?} is not u64 with {want}"
                    ));
                }
            }
        }
        "sketch" => {
            agree(problems, "seed vs params.seed", &v["seed"], &params["seed"]);
            agree(
                problems,
                "counts.haplotypes vs params.haplotypes",
                &counts["haplotypes"],
                &params["haplotypes"],
            );
            agree(
                problems,
                "counts.snps vs params.snps",
                &counts["snps"],
                &params["snps"],
            );
            let seeds = params["restart_seeds"].as_array().map_or(0, Vec::len);
            agree(
                problems,
                "restart_seeds (length) vs restarts",
                &json!(seeds),
                &params["restarts"],
            );
            let snps = params["snps"].as_u64().unwrap_or(0);
            let d = if params["features"] == "identity" {
                snps
            } else {
                snps * params["multiplier"].as_u64().unwrap_or(0)
            };
            agree(
                problems,
                "feature_count vs snps x multiplier",
                &params["feature_count"],
                &json!(d),
            );
            // The .npy header says the same shape.
            let mut head = [0u8; 128];
            let n = std::fs::File::open(&data_file)
                .and_then(|mut f| f.read(&mut head))
                .unwrap_or(0);
            let magic = head.starts_with(b"\x93NUMPY");
            let head = String::from_utf8_lossy(&head[..n]);
            let want = format!("'shape': ({}, {})", shape[0], shape[1]);
            if !magic || !head.contains("'<f4'") || !head.contains(&want) {
                problems.push(format!(
                    "{name}: .npy header {head:?} is not f32 with {want}"
                ));
            }
        }
        "model" => {
            agree(problems, "seed vs params.seed", &v["seed"], &params["seed"]);
            if params["resumed_from"].as_u64() >= params["steps"].as_u64() {
                problems.push(format!("{name}: resumed_from is not before steps"));
            }
        }
        "checkpoint" => {}
        "loss_log" => {
            let text = text();
            let mut lines = text.lines();
            agree(
                problems,
                "CSV header vs params.columns",
                &json!(lines.next().unwrap_or_default()),
                &params["columns"],
            );
            agree(
                problems,
                "shape vs CSV rows",
                shape,
                &json!([lines.count()]),
            );
        }
        "panel" => {
            let text = text();
            let mut lines = text.lines();
            let columns = params["columns"]
                .as_str()
                .unwrap_or_default()
                .replace(' ', "\t");
            agree(
                problems,
                "TSV header vs params.columns",
                &json!(lines.next().unwrap_or_default()),
                &json!(columns),
            );
            agree(
                problems,
                "shape vs TSV rows",
                shape,
                &json!([lines.count()]),
            );
        }
        "plink" => {
            let bytes = std::fs::read(&data_file).unwrap_or_default();
            let (snps, individuals) = (
                counts["snps"].as_u64().unwrap_or(0) as usize,
                counts["individuals"].as_u64().unwrap_or(0) as usize,
            );
            let lines = bytes.iter().filter(|&&b| b == b'\n').count();
            let (what, got, want) = match params["plink_file"].as_str() {
                Some("bed") => (
                    "bytes vs 3 + snps x ceil(individuals / 4)",
                    bytes.len(),
                    3 + snps * individuals.div_ceil(4),
                ),
                Some("bim") => ("lines vs snps", lines, snps),
                _ => ("lines vs individuals", lines, individuals),
            };
            agree(problems, what, &json!(got), &json!(want));
            if params["plink_file"] == "bed" && !bytes.starts_with(&[0x6c, 0x1b, 0x01]) {
                problems.push(format!("{name}: no SNP-major .bed magic"));
            }
        }
        "vcf" => {
            let mut text = String::new();
            if let Err(e) = std::fs::File::open(&data_file)
                .and_then(|f| flate2::read::MultiGzDecoder::new(f).read_to_string(&mut text))
            {
                problems.push(format!("{name}: cannot read the VCF: {e}"));
            }
            let records = text.lines().filter(|l| !l.starts_with('#')).count();
            let samples = text
                .lines()
                .find(|l| l.starts_with("#CHROM"))
                .map_or(0, |h| h.split('\t').count().saturating_sub(9));
            agree(
                problems,
                "shape vs VCF records and samples",
                shape,
                &json!([records, samples]),
            );
        }
        "plot" => {
            let bytes = std::fs::read(&data_file).unwrap_or_default();
            let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
            if !png && !bytes.starts_with(b"<svg") && !bytes.starts_with(b"<?xml") {
                problems.push(format!("{name}: neither PNG nor SVG"));
            }
            // gmmn-project names the format, which is also the extension.
            if let Some(format) = params["format"].as_str() {
                let ext = data_file.extension().and_then(|e| e.to_str());
                if ext != Some(format) || png != (format == "png") {
                    problems.push(format!(
                        "{name}: params.format {format} but the file is {ext:?} (PNG: {png})"
                    ));
                }
            }
        }
        "coordinates" => cross_check_coordinates(&name, &data_file, v, problems),
        "report" => cross_check_report(&name, &data_file, v, problems),
        _ => {}
    }
    if v["producer"]["stage"] == "sample" {
        let n = params["n"].as_u64().unwrap_or(0);
        agree(
            problems,
            "counts.haplotypes vs params.n",
            &counts["haplotypes"],
            &json!(n),
        );
        agree(
            problems,
            "counts.individuals vs ceil(n / 2)",
            &counts["individuals"],
            &json!(n.div_ceil(2)),
        );
    }
    // Each companion has its own manifest, of the kind its role says, with the same sha256;
    // the variants companion's rows are this artifact's SNPs, the loss companion's its steps.
    // A VCF's tabix index is not an artifact of its own: it is derived from the VCF, and the
    // VCF's manifest holds its sha256 (checked with every input and companion above).
    for c in v["companions"].as_array().into_iter().flatten() {
        let Some(path) = c["path"].as_str() else {
            continue;
        };
        if c["role"] == "tabix_index" {
            continue;
        }
        let cm = resolve(&format!("{path}.meta.yaml"));
        let Ok(text) = std::fs::read_to_string(&cm) else {
            problems.push(format!(
                "{name}: companion has no manifest {}",
                cm.display()
            ));
            continue;
        };
        let cv: Value = serde_yaml_ng::from_str(&text).unwrap();
        if cv["sha256"] != c["sha256"] {
            problems.push(format!(
                "{name}: companion sha256 {} differs from its own manifest's {}",
                c["sha256"], cv["sha256"]
            ));
        }
        let (want_kind, rows) = match (c["role"].as_str(), kind) {
            (Some("variants"), "genotypes") => ("variants", &shape[1]),
            (Some("variants"), "sketch" | "model") => ("variants", &params["snps"]),
            (Some("loss"), "model") => ("loss_log", &params["steps"]),
            _ => {
                problems.push(format!("{name}: unexpected companion role {}", c["role"]));
                continue;
            }
        };
        if cv["kind"] != want_kind || &cv["shape"][0] != rows {
            problems.push(format!(
                "{name}: companion {} is kind {} with shape {}, expected {want_kind} with {rows} rows",
                cm.display(),
                cv["kind"],
                cv["shape"],
            ));
        }
    }
}

/// A coordinates manifest against its Parquet file: rows and components, rows per method and
/// source against the counts, groups, and the per-method results against components.
fn cross_check_coordinates(name: &str, data_file: &Path, v: &Value, problems: &mut Vec<String>) {
    let params = &v["params"];
    let counts = &v["counts"];
    let table = match artifact::read_coordinates_parquet(data_file) {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!("{name}: cannot read the coordinates: {e}"));
            return;
        }
    };
    let mut agree = |what: &str, a: Value, b: Value| {
        if a != b {
            problems.push(format!("{name}: {what}: {a} vs {b}"));
        }
    };
    agree(
        "shape vs Parquet rows and components",
        v["shape"].clone(),
        json!([table.rows.len(), table.components]),
    );
    agree(
        "params.components vs shape[1]",
        params["components"].clone(),
        v["shape"][1].clone(),
    );
    let methods: Vec<&str> = params["methods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for method in &methods {
        for source in ["real", "synthetic"] {
            let rows = table
                .rows
                .iter()
                .filter(|r| r.method == *method && r.source == source)
                .count();
            agree(
                &format!("{method} {source} rows vs counts.{source}_haplotypes"),
                json!(rows),
                counts[format!("{source}_haplotypes")].clone(),
            );
        }
    }
    let in_methods = table
        .rows
        .iter()
        .filter(|r| methods.contains(&r.method.as_str()))
        .count();
    agree(
        "rows of the methods listed vs all rows",
        json!(in_methods),
        json!(table.rows.len()),
    );
    let mut groups: Vec<&str> = table.rows.iter().map(|r| r.group.as_str()).collect();
    groups.sort_unstable();
    groups.dedup();
    agree(
        "params.groups vs Parquet groups",
        params["groups"].clone(),
        json!(groups),
    );
    let k = params["components"].clone();
    for key in ["pca_explained_variance_ratio", "isomap_eigenvalues"] {
        if let Some(a) = params[key].as_array() {
            agree(
                &format!("{key} (length) vs components"),
                json!(a.len()),
                k.clone(),
            );
        }
    }
    if methods.contains(&"isomap") {
        let real = counts["real_haplotypes"].as_u64().unwrap_or(0);
        let landmarks = params["landmarks"].as_u64().unwrap_or(0);
        agree(
            "isomap_landmarks_used vs min(landmarks, real haplotypes)",
            params["isomap_landmarks_used"].clone(),
            json!(real.min(landmarks)),
        );
        let c = params["isomap_graph_components"].as_u64().unwrap_or(0);
        agree(
            "isomap_joining_edges vs one per pair of graph components",
            params["isomap_joining_edges"].clone(),
            json!(c * c.saturating_sub(1) / 2),
        );
    }
}

/// A report manifest against report.json (beside it): comparisons and their Deltas, SNPs,
/// groups, the protocol settings and the seed; and the format against the file.
fn cross_check_report(name: &str, data_file: &Path, v: &Value, problems: &mut Vec<String>) {
    let params = &v["params"];
    let counts = &v["counts"];
    let json_file = data_file.with_extension("json");
    let report: Value = match std::fs::read_to_string(&json_file)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("{name}: {}: {e}", json_file.display()));
            return;
        }
    };
    let mut agree = |what: &str, a: Value, b: Value| {
        if a != b {
            problems.push(format!("{name}: {what}: {a} vs {b}"));
        }
    };
    let text = std::fs::read_to_string(data_file).unwrap_or_default();
    let (want_format, looks_right) = match data_file.extension().and_then(|e| e.to_str()) {
        Some("json") => ("json", text.starts_with('{')),
        _ => ("markdown", text.starts_with("# ")),
    };
    agree(
        "params.format vs the file",
        params["format"].clone(),
        json!(want_format),
    );
    agree(
        "file contents vs its format",
        json!(looks_right),
        json!(true),
    );
    let comparisons = report["comparisons"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    agree(
        "counts.comparisons vs report.json",
        counts["comparisons"].clone(),
        json!(comparisons.len()),
    );
    let mut deltas = serde_json::Map::new();
    for c in &comparisons {
        let key = format!("delta_{}", c["name"].as_str().unwrap_or_default());
        deltas.insert(key, c["delta"].clone());
    }
    let mut protocol = serde_json::Map::new();
    let mut recorded = serde_json::Map::new();
    for (k, x) in params.as_object().into_iter().flatten() {
        if k.starts_with("delta_") {
            recorded.insert(k.clone(), x.clone());
        } else if k != "format" {
            protocol.insert(k.clone(), x.clone());
        }
    }
    agree(
        "delta_* vs report.json's comparisons",
        Value::Object(recorded),
        Value::Object(deltas),
    );
    agree(
        "params vs report.json's protocol",
        Value::Object(protocol),
        report["protocol"].clone(),
    );
    agree(
        "counts.snps vs report.json",
        counts["snps"].clone(),
        report["snps"].clone(),
    );
    let groups = report["groups"].as_array().map_or(0, Vec::len);
    agree(
        "counts.groups vs report.json",
        counts["groups"].clone(),
        json!(groups),
    );
    agree(
        "seed vs params.seed",
        v["seed"].clone(),
        params["seed"].clone(),
    );
    // Real against synthetic exactly when synthetic data were read.
    let synthetic_inputs = v["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["role"] == "synthetic")
        .count();
    agree(
        "synthetic inputs vs report.json's synthetic files",
        json!(synthetic_inputs),
        json!(report["synthetic"].as_array().map_or(0, Vec::len)),
    );
}

/// The validators of every kind's schema.
fn all_validators() -> Vec<(&'static str, jsonschema::Validator)> {
    KINDS
        .iter()
        .map(|k| (k.as_str(), validator(k.as_str())))
        .collect()
}

fn for_kind<'a>(
    validators: &'a [(&str, jsonschema::Validator)],
    kind: &str,
) -> &'a jsonschema::Validator {
    validators
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no schema for kind `{kind}`"))
}

/// Validate every manifest `rels` (relative to `root`) against its kind's schema, check that the
/// Rust reader accepts it, and cross-check it; panics with every problem. Returns the kinds seen.
fn check_manifests(root: &Path, manifests: &[String]) -> Vec<String> {
    let validators = all_validators();
    let mut errors = Vec::new();
    let mut problems = Vec::new();
    let mut kinds = Vec::new();
    for rel in manifests {
        let path = root.join(rel);
        let instance = read_manifest_json(&path);
        let Some(kind) = instance["kind"].as_str() else {
            errors.push(format!("{rel}: no string `kind`"));
            continue;
        };
        let v = for_kind(&validators, kind);
        for e in violations(v, &instance) {
            errors.push(format!("{rel} ({kind}) {e}"));
        }
        // The schema and the Rust reader must agree on a valid manifest.
        if let Err(e) = Manifest::from_yaml(&std::fs::read_to_string(&path).unwrap(), &path) {
            errors.push(format!("{rel}: artifact::Manifest refuses it: {e}"));
        }
        cross_check(&path, &instance, &mut problems);
        kinds.push(kind.to_string());
    }
    assert!(
        errors.is_empty(),
        "{} schema violations in {} manifests:\n{}",
        errors.len(),
        kinds.len(),
        errors.join("\n")
    );
    assert!(
        problems.is_empty(),
        "manifest inconsistencies:\n{}",
        problems.join("\n")
    );
    assert_eq!(kinds.len(), manifests.len());
    kinds
}

/// Negative checks on real manifests: every mutation that applies is refused. Returns how many
/// mutations applied.
fn tamper(root: &Path, rels: &[&str]) -> usize {
    let validators = all_validators();
    let mut accepted = Vec::new();
    let mut tried = 0;
    for rel in rels {
        let original = read_manifest_json(&root.join(rel));
        let kind = original["kind"].as_str().unwrap().to_string();
        let v = for_kind(&validators, &kind);
        assert!(v.is_valid(&original), "{rel}");
        for (what, mutate) in mutations(&original) {
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
    tried
}

fn manifests_below(root: &Path) -> Vec<String> {
    files_below(root)
        .into_iter()
        .filter(|f| f.ends_with(".meta.yaml"))
        .collect()
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
    let manifests = manifests_below(tmp.path());
    for e in &expected {
        assert!(manifests.contains(e), "no {e} among {manifests:?}");
    }
    assert!(manifests.len() >= 2 + 2 * GROUPS.len(), "{manifests:?}");

    let checked = check_manifests(tmp.path(), &manifests).len();
    assert!(checked >= 10, "only {checked} manifests checked");

    // Negative checks on real manifests of each kind and producer: every mutation is refused.
    let tried = tamper(
        tmp.path(),
        &[
            "ingest/genotypes.parquet.meta.yaml",
            "ingest/variants.parquet.meta.yaml",
            "split/EUR.parquet.meta.yaml",
            "split/EUR.variants.parquet.meta.yaml",
        ],
    );
    assert!(tried >= 4 * 30, "only {tried} mutations applied");
}

/// sketch -> train -> sample (tiny, on the shared 1000 Genomes EAS group), and a training run
/// stopped at its first checkpoint: every manifest of every kind validates and cross-checks, and
/// broken copies of each are refused.
#[test]
fn sketch_train_sample_manifests_validate_against_their_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let sketch = tmp.path().join("sketch");
    let o = sketch_tiny(&sketch);
    assert!(o.status.success(), "gmmn-sketch failed:\n{}", stderr(&o));

    let model = tmp.path().join("model");
    let o = train_tiny(&sketch, &model, &[]);
    assert!(o.status.success(), "gmmn-train failed:\n{}", stderr(&o));

    // Stopped as if killed after step 5: only the checkpoint (and its manifest) is left.
    let stopped = tmp.path().join("stopped");
    let o = train_tiny(
        &sketch,
        &stopped,
        &["--stop-after", "5", "--checkpoint-every", "5"],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("--stop-after"),
        "gmmn-train --stop-after 5 should stop with a checkpoint:\n{}",
        stderr(&o)
    );

    let synthetic = tmp.path().join("synthetic");
    let o = sample_tiny(&model, &synthetic);
    assert!(o.status.success(), "gmmn-sample failed:\n{}", stderr(&o));

    let expected = [
        "sketch/sketch.npy.meta.yaml",
        "sketch/variants.parquet.meta.yaml",
        "model/model.safetensors.meta.yaml",
        "model/variants.parquet.meta.yaml",
        "model/loss.csv.meta.yaml",
        "model/loss.png.meta.yaml",
        "stopped/checkpoint/state.safetensors.meta.yaml",
        "synthetic/EAS.parquet.meta.yaml",
        "synthetic/EAS.variants.parquet.meta.yaml",
        "synthetic/EAS.vcf.gz.meta.yaml",
        "synthetic/EAS.bed.meta.yaml",
        "synthetic/EAS.bim.meta.yaml",
        "synthetic/EAS.fam.meta.yaml",
        "synthetic/EAS.panel.tsv.meta.yaml",
    ];
    let manifests = manifests_below(tmp.path());
    for e in expected {
        assert!(
            manifests.iter().any(|m| m == e),
            "no {e} among {manifests:?}"
        );
    }

    let kinds = check_manifests(tmp.path(), &manifests);
    for kind in KINDS.iter().filter(|k| !EVALUATION_KINDS.contains(k)) {
        assert!(
            kinds.iter().any(|k| k == kind.as_str()),
            "no `{kind}` manifest among {manifests:?}"
        );
    }

    let tried = tamper(tmp.path(), &expected);
    assert!(
        tried >= expected.len() * 40,
        "only {tried} mutations applied"
    );
}

/// The Markov chain's artifacts (a pattern sketch, its chain model, the haplotypes sampled from
/// it): every manifest validates and cross-checks, and broken copies of each are refused.
#[test]
fn pattern_sketch_chain_manifests_validate_against_their_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let sketch = tmp.path().join("sketch");
    let o = run(
        "gmmn-sketch",
        &[
            &shared_1kg_groups().join("EAS.parquet"),
            &"--out",
            &sketch,
            &"--features",
            &"patterns",
            &"--order",
            &"30",
            &"--min-fraction",
            &"0.01",
        ],
    );
    assert!(o.status.success(), "gmmn-sketch failed:\n{}", stderr(&o));
    let model = tmp.path().join("model");
    let o = run("gmmn-train", &[&sketch, &"--out", &model]);
    assert!(o.status.success(), "gmmn-train failed:\n{}", stderr(&o));
    let synthetic = tmp.path().join("synthetic");
    let o = sample_tiny(&model, &synthetic);
    assert!(o.status.success(), "gmmn-sample failed:\n{}", stderr(&o));
    let expected = [
        "sketch/sketch.npy.meta.yaml",
        "sketch/variants.parquet.meta.yaml",
        "model/model.safetensors.meta.yaml",
        "model/variants.parquet.meta.yaml",
        "synthetic/EAS.parquet.meta.yaml",
        "synthetic/EAS.variants.parquet.meta.yaml",
        "synthetic/EAS.vcf.gz.meta.yaml",
        "synthetic/EAS.bed.meta.yaml",
        "synthetic/EAS.bim.meta.yaml",
        "synthetic/EAS.fam.meta.yaml",
        "synthetic/EAS.panel.tsv.meta.yaml",
    ];
    let manifests = manifests_below(tmp.path());
    assert_eq!(manifests.len(), expected.len(), "{manifests:?}");
    check_manifests(tmp.path(), &manifests);
    let tried = tamper(tmp.path(), &expected);
    assert!(
        tried >= expected.len() * 20,
        "only {tried} mutations applied"
    );
}

/// gmmn-project (PCA and ISOMAP of the shared 1000 Genomes EUR and EAS groups against
/// themselves) and gmmn-discriminate (EAS, 2 splits; the floor baseline alone, and with the
/// groups as their own synthetic data): every manifest of every kind validates and
/// cross-checks, and broken copies of each are refused.
#[test]
fn project_discriminate_manifests_validate_against_their_schemas() {
    let groups = shared_1kg_groups();
    let tmp = tempfile::tempdir().unwrap();
    let projected = tmp.path().join("projected");
    let o = run(
        "gmmn-project",
        &[
            &"--real",
            &groups,
            &"--synthetic",
            &groups,
            &"--groups",
            &"EUR,EAS",
            &"--out",
            &projected,
        ],
    );
    assert!(o.status.success(), "gmmn-project failed:\n{}", stderr(&o));
    let discriminate = |out: &Path, synthetic: bool| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"--real",
            &groups,
            &"--groups",
            &"EAS",
            &"--baseline",
            &"floor",
            &"--splits",
            &"2",
            &"--out",
        ];
        args.push(&out);
        if synthetic {
            args.extend([&"--synthetic" as &dyn AsRef<std::ffi::OsStr>, &groups]);
        }
        let o = run("gmmn-discriminate", &args);
        assert!(
            o.status.success(),
            "gmmn-discriminate failed:\n{}",
            stderr(&o)
        );
    };
    discriminate(&tmp.path().join("baselines"), false);
    discriminate(&tmp.path().join("discriminated"), true);

    let mut expected = vec!["projected/coordinates.parquet.meta.yaml".to_string()];
    for method in ["pca", "isomap"] {
        for group in ["", ".EAS", ".EUR"] {
            for ext in ["png", "svg"] {
                expected.push(format!("projected/{method}{group}.{ext}.meta.yaml"));
            }
        }
    }
    for (dir, comparisons) in [
        ("baselines", &["floor"][..]),
        ("discriminated", &["synthetic", "floor"]),
    ] {
        for file in ["report.json", "report.md"] {
            expected.push(format!("{dir}/{file}.meta.yaml"));
        }
        // The diagnostics' figures of every comparison.
        for c in comparisons {
            for figure in [
                "minor_alleles",
                "ld_decay",
                "nn_distances",
                "allele_frequencies",
            ] {
                for ext in ["png", "svg"] {
                    expected.push(format!("{dir}/{c}.{figure}.{ext}.meta.yaml"));
                }
            }
        }
    }
    let manifests = manifests_below(tmp.path());
    assert_eq!(manifests.len(), expected.len(), "{manifests:?}");
    for e in &expected {
        assert!(manifests.contains(e), "no {e} among {manifests:?}");
    }

    let kinds = check_manifests(tmp.path(), &manifests);
    for kind in ["coordinates", "report", "plot"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no `{kind}` manifest among {manifests:?}"
        );
    }

    let tamper_these = [
        "projected/coordinates.parquet.meta.yaml",
        "projected/pca.png.meta.yaml",
        "projected/isomap.EUR.svg.meta.yaml",
        "baselines/report.json.meta.yaml",
        "discriminated/report.md.meta.yaml",
        "baselines/floor.ld_decay.png.meta.yaml",
        "discriminated/synthetic.allele_frequencies.svg.meta.yaml",
    ];
    let tried = tamper(tmp.path(), &tamper_these);
    assert!(
        tried >= tamper_these.len() * 40,
        "only {tried} mutations applied"
    );
}

/// What the evaluation stages write of the pipeline's kinds, built in-process: gmmn-project's
/// and gmmn-discriminate's figures, gmmn-discriminate's independent-baseline VCF and panel.
#[test]
fn in_process_evaluation_outputs_validate() {
    let sha = "cd".repeat(32);
    let file_ref = |role: &str, path: &str| artifact::FileRef {
        role: role.into(),
        path: path.into(),
        sha256: sha.clone(),
    };
    let project = Producer::new("project", "gmmn-project", "0.1.0");
    let discriminate = Producer::new("discriminate", "gmmn-discriminate", "0.1.0");
    let mut plot = Manifest::new(ArtifactKind::Plot, project)
        .param("method", "isomap")
        .param("group", "all")
        .param("plots", "isomap c1 vs c2 of every group")
        .param("format", "svg");
    plot.inputs = vec![file_ref("coordinates", "coordinates.parquet")];
    let mut diagnostic = Manifest::new(ArtifactKind::Plot, discriminate.clone())
        .param("comparison", "synthetic")
        .param("figure", "ld_decay")
        .param("plots", "mean r^2 by distance in SNPs, within each group")
        .param("format", "png");
    diagnostic.inputs = vec![file_ref("report", "report.json")];
    let mut vcf = Manifest::new(ArtifactKind::Vcf, discriminate.clone())
        .param("baseline", "independent")
        .count("snps", 805)
        .count("individuals", 504);
    vcf.shape = vec![805, 504];
    let mut panel = Manifest::new(ArtifactKind::Panel, discriminate)
        .param("columns", "sample group")
        .param("baseline", "independent")
        .count("individuals", 504);
    panel.shape = vec![504];
    for m in [&mut vcf, &mut panel] {
        m.inputs = vec![
            file_ref("real", "../groups/EAS.vcf.gz"),
            file_ref("real", "../groups/EAS.panel.tsv"),
        ];
        m.seed = Some(1);
    }
    for mut m in [plot, diagnostic, vcf, panel] {
        m.sha256 = sha.clone();
        m.bytes = 10;
        let kind = m.kind;
        let instance: Value = serde_yaml_ng::from_str(&m.to_yaml().unwrap()).unwrap();
        let errors = violations(&validator(kind.as_str()), &instance);
        assert!(
            errors.is_empty(),
            "{kind}:\n{}\n{instance:#}",
            errors.join("\n")
        );
    }
}
