//! Workflow specs (`workflows/*.yaml`): inputs, stage parameters and named variants.
//!
//! A spec is validated against `schemas/workflow.schema.json` (compiled into the binary) before
//! anything runs, so a typo such as `stepz:` is reported with the key's place in the file rather
//! than as a stage failing half an hour later. Stage parameters are the stage binaries' long flags
//! without the dashes; [`flags`] turns them back into arguments.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

/// The JSON Schema of a spec, as shipped in `schemas/`.
pub const SPEC_SCHEMA: &str = include_str!("../../../schemas/workflow.schema.json");

/// Stage parameters: flag name (without `--`) to value.
pub type Params = Map<String, Value>;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not YAML: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("{path}: {}", .problems.join("\n  "))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// The stages a spec can parameterise, in pipeline order.
pub const STAGES: [&str; 7] = [
    "ingest",
    "split",
    "sketch",
    "train",
    "sample",
    "project",
    "discriminate",
];

#[derive(Debug, Clone, Deserialize)]
struct RawSpec {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    input: RawInput,
    #[serde(default)]
    stages: Map<String, Value>,
    #[serde(default)]
    evaluate: RawEvaluate,
    variants: Vec<RawVariant>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawInput {
    vcf: String,
    panel: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    groups: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawEvaluate {
    project: Option<bool>,
    discriminate: Option<bool>,
    baselines: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawVariant {
    name: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    paper_delta: Option<f64>,
    #[serde(default)]
    sketch: Params,
    #[serde(default)]
    train: Params,
    #[serde(default)]
    sample: Params,
}

/// A validated spec with paths resolved against the spec file's directory.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The spec file as given.
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub vcf: PathBuf,
    pub panel: PathBuf,
    pub label: String,
    /// None: every group of the panel column.
    pub groups: Option<Vec<String>>,
    /// Stage parameters shared by every variant, by stage name.
    pub stages: Map<String, Value>,
    pub project: bool,
    pub discriminate: bool,
    pub baselines: Vec<String>,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub label: String,
    pub paper_delta: Option<f64>,
    /// The shared parameters with this variant's overrides applied.
    pub sketch: Params,
    pub train: Params,
    pub sample: Params,
}

impl Spec {
    /// Read, validate against the schema, check what the schema cannot (unique variant names,
    /// input files present), and resolve paths.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Spec::parse(&text, path)
    }

    /// As [`Spec::load`] from text; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Spec, SpecError> {
        let value: Value = serde_yaml_ng::from_str(text).map_err(|e| SpecError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |problems: Vec<String>| SpecError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let problems = schema_problems(&value);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let raw: RawSpec =
            serde_json::from_value(value).map_err(|e| invalid(vec![e.to_string()]))?;

        let mut problems = Vec::new();
        for (i, v) in raw.variants.iter().enumerate() {
            if raw.variants[..i].iter().any(|w| w.name == v.name) {
                problems.push(format!(
                    "variants[{i}].name: `{}` is used by an earlier variant; names must be unique",
                    v.name
                ));
            }
            if matches!(v.name.as_str(), "ingest" | "groups" | "baselines" | "logs") {
                problems.push(format!(
                    "variants[{i}].name: `{}` is reserved (it names a directory of the run)",
                    v.name
                ));
            }
        }
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |key: &str, p: &str, problems: &mut Vec<String>| {
            let full = base.join(p);
            if !full.is_file() {
                problems.push(format!(
                    "input.{key}: {} does not exist (paths are relative to the spec file)",
                    full.display()
                ));
            }
            full
        };
        let vcf = resolve("vcf", &raw.input.vcf, &mut problems);
        let panel = resolve("panel", &raw.input.panel, &mut problems);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }

        let shared = |stage: &str| -> Params {
            raw.stages
                .get(stage)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let merge = |stage: &str, own: &Params| -> Params {
            let mut p = shared(stage);
            for (k, v) in own {
                p.insert(k.clone(), v.clone());
            }
            p
        };
        let variants = raw
            .variants
            .iter()
            .map(|v| Variant {
                name: v.name.clone(),
                label: v.label.clone().unwrap_or_else(|| v.name.clone()),
                paper_delta: v.paper_delta,
                sketch: merge("sketch", &v.sketch),
                train: merge("train", &v.train),
                sample: merge("sample", &v.sample),
            })
            .collect();
        Ok(Spec {
            path: path.to_path_buf(),
            name: raw.name,
            description: raw.description,
            seed: raw.seed.unwrap_or(1),
            vcf,
            panel,
            label: raw.input.label.unwrap_or_else(|| "group".into()),
            groups: raw.input.groups,
            stages: raw.stages,
            project: raw.evaluate.project.unwrap_or(true),
            discriminate: raw.evaluate.discriminate.unwrap_or(true),
            baselines: raw
                .evaluate
                .baselines
                .unwrap_or_else(|| vec!["holdout".into(), "independent".into()]),
            variants,
        })
    }

    /// The shared parameters of a stage that has no per-variant overrides.
    pub fn stage(&self, stage: &str) -> Params {
        self.stages
            .get(stage)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }
}

/// Every schema violation of `value`, as `key.path: message`.
fn schema_problems(value: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(SPEC_SCHEMA).expect("the shipped schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the shipped schema compiles");
    let mut problems: Vec<String> = validator
        .iter_errors(value)
        .map(|e| {
            let at = crate::audit::dotted(e.instance_path());
            format!("{}: {}", if at.is_empty() { "(top level)" } else { &at }, e)
        })
        .collect();
    problems.sort();
    problems.dedup();
    problems
}

/// Command-line arguments of a stage's parameters: `--key value`; a list comma-joined; `true` a
/// bare flag, `false` nothing.
pub fn flags(params: &Params) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in params {
        match value {
            Value::Bool(true) => out.push(format!("--{key}")),
            Value::Bool(false) | Value::Null => {}
            Value::Array(items) => {
                out.push(format!("--{key}"));
                out.push(items.iter().map(scalar).collect::<Vec<_>>().join(","));
            }
            other => {
                out.push(format!("--{key}"));
                out.push(scalar(other));
            }
        }
    }
    out
}

/// A parameter value as command-line text (strings unquoted).
pub(crate) fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_in(dir: &Path, body: &str) -> Result<Spec, SpecError> {
        std::fs::write(dir.join("x.vcf"), "").unwrap();
        std::fs::write(dir.join("x.panel"), "").unwrap();
        let path = dir.join("spec.yaml");
        std::fs::write(&path, body).unwrap();
        Spec::load(&path)
    }

    const GOOD: &str = "version: 1\nname: t\ninput: {vcf: x.vcf, panel: x.panel, label: pop}\n\
        stages: {train: {steps: 10, lr: 0.001}}\n\
        variants:\n  - {name: a, train: {steps: 20}}\n  - {name: b, sketch: {features: identity}}\n";

    #[test]
    fn variants_override_shared_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_in(dir.path(), GOOD).unwrap();
        assert_eq!(spec.seed, 1);
        assert_eq!(spec.label, "pop");
        assert_eq!(spec.variants[0].train["steps"], 20);
        assert_eq!(spec.variants[0].train["lr"], 0.001);
        assert_eq!(spec.variants[1].train["steps"], 10);
        assert_eq!(spec.variants[1].sketch["features"], "identity");
        assert_eq!(spec.baselines, ["holdout", "independent"]);
        assert_eq!(spec.vcf, dir.path().join("x.vcf"));
        assert_eq!(
            flags(&spec.variants[0].train),
            ["--lr", "0.001", "--steps", "20"]
        );
    }

    #[test]
    fn errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let bad = GOOD.replace("steps: 20", "stepz: 20");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(
            e.contains("variants[0].train") && e.contains("stepz"),
            "{e}"
        );
        assert!(e.contains("spec.yaml"), "{e}");

        let bad = GOOD.replace("features: identity", "features: sigmoid");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(e.contains("variants[1].sketch.features"), "{e}");

        let bad = GOOD.replace("name: b", "name: a");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(
            e.contains("variants[1].name") && e.contains("unique"),
            "{e}"
        );

        let bad = GOOD.replace("vcf: x.vcf", "vcf: missing.vcf");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(e.contains("input.vcf") && e.contains("missing.vcf"), "{e}");

        let bad = GOOD.replace("version: 1\n", "");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(e.contains("version"), "{e}");

        let e = spec_in(dir.path(), "name: [").unwrap_err().to_string();
        assert!(e.contains("not YAML"), "{e}");
    }

    #[test]
    fn flags_of_every_value_kind() {
        let p: Params = serde_json::from_str(
            r#"{"methods": ["pca", "isomap"], "resume": true, "quiet": false, "lr": 1e-4, "prefix": "S_"}"#,
        )
        .unwrap();
        assert_eq!(
            flags(&p),
            [
                "--lr",
                "0.0001",
                "--methods",
                "pca,isomap",
                "--prefix",
                "S_",
                "--resume"
            ]
        );
    }
}
