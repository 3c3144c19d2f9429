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

/// What `gmmn run --from` takes: the stages in pipeline order, with gmmn-reference (which reads
/// only the split, beside sketch -> train -> sample) after sample. Each is a `gmmn-<stage>` binary.
pub const FROM_STAGES: [&str; 8] = [
    "ingest",
    "split",
    "sketch",
    "train",
    "sample",
    "reference",
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
    /// The panel column naming each sample's group; `label` is its former name.
    #[serde(default, alias = "label")]
    column: Option<String>,
    #[serde(default)]
    groups: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawEvaluate {
    project: Option<bool>,
    discriminate: Option<bool>,
    holdout: Option<f64>,
    #[serde(rename = "paper-protocol")]
    paper_protocol: Option<bool>,
    baselines: Option<Vec<String>>,
    #[serde(default)]
    references: Vec<Params>,
    #[serde(rename = "sketch-attack")]
    sketch_attack: Option<bool>,
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

/// The `stages` settings a pattern-sketch variant takes (see [`Spec::load`]).
const CHAIN_SHARED: [&str; 2] = ["seed", "threads"];

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
    /// The panel column naming each sample's group.
    pub column: String,
    /// None: every group of the panel column.
    pub groups: Option<Vec<String>>,
    /// Stage parameters shared by every variant, by stage name.
    pub stages: Map<String, Value>,
    pub project: bool,
    pub discriminate: bool,
    /// Share of each group's individuals gmmn-split holds out (0: none). With a hold-out every
    /// comparison's real class is the held-out set, which no generator or reference has seen.
    pub holdout: f64,
    /// Also judge each variant and reference under the authors' protocol (report-paper/).
    pub paper_protocol: bool,
    /// `floor` or nothing: the noise floor of real against real.
    pub baselines: Vec<String>,
    /// Reference simulators (gmmn-reference) judged beside the variants.
    pub references: Vec<Reference>,
    /// Run gmmn-sketch-attack on every feature sketch (needs a hold-out).
    pub sketch_attack: bool,
    pub variants: Vec<Variant>,
}

/// A reference simulator of the spec: `gmmn-reference DIR/groups` with `params` as its flags.
#[derive(Debug, Clone)]
pub struct Reference {
    pub name: String,
    pub label: String,
    /// method, segment, flip, clusters, iterations, clip, order, min-count, pseudocount, n,
    /// seed, threads.
    pub params: Params,
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
        let mut problems = schema_problems(&value);
        let renamed = renamed_baselines(&value);
        if !renamed.is_empty() {
            // The schema's "not one of [floor]" says less than what to write instead.
            problems.retain(|p| !p.starts_with("evaluate.baselines"));
            problems.extend(renamed);
        }
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
            if RESERVED.contains(&v.name.as_str()) {
                problems.push(format!(
                    "variants[{i}].name: `{}` is reserved (it names a directory of the run)",
                    v.name
                ));
            }
        }
        if raw.evaluate.sketch_attack == Some(true) && raw.evaluate.holdout.unwrap_or(0.0) == 0.0 {
            problems.push(
                "evaluate.sketch-attack: needs evaluate.holdout > 0 (the attack's reference and \
                 non-members are held-out individuals)"
                    .into(),
            );
        }
        for (i, r) in raw.evaluate.references.iter().enumerate() {
            let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
            if raw.evaluate.references[..i]
                .iter()
                .any(|q| q.get("name").and_then(Value::as_str) == Some(name))
            {
                problems.push(format!(
                    "evaluate.references[{i}].name: `{name}` is used by an earlier reference; names must be unique"
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
        // A pattern-sketch variant (the Markov chain) takes only the stage settings that mean
        // something for it from `stages`: the random-feature and network settings there are the
        // GMMN's, and gmmn-sketch / gmmn-train refuse them for a pattern sketch.
        let merge_chain = |stage: &str, own: &Params| -> Params {
            let mut p: Params = shared(stage)
                .into_iter()
                .filter(|(k, _)| CHAIN_SHARED.contains(&k.as_str()))
                .collect();
            for (k, v) in own {
                p.insert(k.clone(), v.clone());
            }
            p
        };
        let variants = raw
            .variants
            .iter()
            .map(|v| {
                let chain = v.sketch.get("features").and_then(Value::as_str) == Some("patterns");
                let merged = |stage: &str, own: &Params| {
                    if chain && stage != "sample" {
                        merge_chain(stage, own)
                    } else {
                        merge(stage, own)
                    }
                };
                Variant {
                    name: v.name.clone(),
                    label: v.label.clone().unwrap_or_else(|| v.name.clone()),
                    paper_delta: v.paper_delta,
                    sketch: merged("sketch", &v.sketch),
                    train: merged("train", &v.train),
                    sample: merged("sample", &v.sample),
                }
            })
            .collect();
        Ok(Spec {
            path: path.to_path_buf(),
            name: raw.name,
            description: raw.description,
            seed: raw.seed.unwrap_or(artifact::cli::DEFAULT_SEED),
            vcf,
            panel,
            column: raw
                .input
                .column
                .unwrap_or_else(|| artifact::cli::DEFAULT_GROUP_COLUMN.into()),
            groups: raw.input.groups,
            stages: raw.stages,
            project: raw.evaluate.project.unwrap_or(true),
            discriminate: raw.evaluate.discriminate.unwrap_or(true),
            holdout: raw.evaluate.holdout.unwrap_or(0.0),
            paper_protocol: raw.evaluate.paper_protocol.unwrap_or(false),
            baselines: raw
                .evaluate
                .baselines
                .unwrap_or_else(|| vec!["floor".into()]),
            references: raw
                .evaluate
                .references
                .iter()
                .map(Reference::from_params)
                .collect(),
            sketch_attack: raw.evaluate.sketch_attack.unwrap_or(false),
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

/// Names a variant may not take: directories of the run.
pub const RESERVED: [&str; 5] = ["ingest", "groups", "baselines", "references", "logs"];

impl Reference {
    /// From a spec entry the schema accepted: `name`, optional `label`, the rest flags.
    fn from_params(entry: &Params) -> Reference {
        let mut params = entry.clone();
        let name = params
            .remove("name")
            .map(|v| scalar(&v))
            .unwrap_or_default();
        let label = params.remove("label").map(|v| scalar(&v));
        let label = label.unwrap_or_else(|| default_reference_label(&params));
        Reference {
            name,
            label,
            params,
        }
    }

    pub fn method(&self) -> &str {
        self.params
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// What a reference is, in words, from its method and parameters (gmmn-reference's defaults
/// when a parameter is not given: segment 400, clusters 20, iterations 20, order 100,
/// min-count 2).
fn default_reference_label(params: &Params) -> String {
    let get = |k: &str, default: &str| params.get(k).map_or(default.to_string(), scalar);
    match params.get("method").and_then(Value::as_str) {
        Some("independent") => "independent SNPs at the training allele frequencies".into(),
        Some("mosaic") => {
            let flip = params
                .get("flip")
                .filter(|f| f.as_f64() != Some(0.0))
                .map_or(String::new(), |f| {
                    format!(", alleles flipped at {}", scalar(f))
                });
            format!(
                "mosaic of training segments, mean {} SNPs{flip}",
                get("segment", "400")
            )
        }
        Some("hmm") => format!(
            "haplotype HMM (fastPHASE-style), K {}, {} EM iterations",
            get("clusters", "20"),
            get("iterations", "20")
        ),
        Some("markov") => format!(
            "variable-order Markov chain of training pattern counts, contexts up to {} SNPs shared by at least {}",
            get("order", "100"),
            get("min-count", "2")
        ),
        other => other.unwrap_or("reference").to_string(),
    }
}

/// The baselines of an older spec format, each with what to write instead.
fn renamed_baselines(value: &Value) -> Vec<String> {
    let Some(list) = value
        .pointer("/evaluate/baselines")
        .and_then(Value::as_array)
    else {
        return vec![];
    };
    let mut problems = Vec::new();
    for (i, b) in list.iter().enumerate() {
        match b.as_str() {
            Some("holdout") => problems.push(format!(
                "evaluate.baselines[{i}]: `holdout` is now called `floor` (the noise floor: training \
                 vs held-out real haplotypes when evaluate.holdout > 0, else two halves of the real \
                 data): write `baselines: [floor]`"
            )),
            Some("independent") => problems.push(format!(
                "evaluate.baselines[{i}]: `independent` is no longer a baseline of gmmn-discriminate; \
                 the independent-SNP simulator is a reference of gmmn-reference now: remove it from \
                 baselines and write `references: [{{name: independent, method: independent}}]` \
                 under evaluate"
            )),
            _ => {}
        }
    }
    problems
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
        assert_eq!(spec.column, "pop");
        assert_eq!(spec.variants[0].train["steps"], 20);
        assert_eq!(spec.variants[0].train["lr"], 0.001);
        assert_eq!(spec.variants[1].train["steps"], 10);
        assert_eq!(spec.variants[1].sketch["features"], "identity");
        assert_eq!(spec.baselines, ["floor"]);
        assert_eq!(spec.holdout, 0.0);
        assert!(!spec.paper_protocol);
        assert!(spec.references.is_empty());
        assert_eq!(spec.vcf, dir.path().join("x.vcf"));
        assert_eq!(
            flags(&spec.variants[0].train),
            ["--lr", "0.001", "--steps", "20"]
        );
    }

    #[test]
    fn the_group_column_is_column_label_its_former_name() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_in(dir.path(), &GOOD.replace("label: pop", "column: pop")).unwrap();
        assert_eq!(spec.column, "pop");
        let spec = spec_in(dir.path(), &GOOD.replace(", label: pop", "")).unwrap();
        assert_eq!(spec.column, artifact::cli::DEFAULT_GROUP_COLUMN);
        let both = GOOD.replace("label: pop", "label: pop, column: pop");
        let e = spec_in(dir.path(), &both).unwrap_err().to_string();
        assert!(e.contains("column"), "{e}");
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

    const EVALUATE: &str =
        "evaluate:\n  holdout: 0.5\n  paper-protocol: true\n  baselines: [floor]\n  \
        references:\n    - {name: independent, method: independent}\n    \
        - {name: mosaic-50, method: mosaic, segment: 50}\n    \
        - {name: hmm, label: the HMM, method: hmm, clusters: 20, iterations: 5}\n";

    #[test]
    fn evaluation_keys_hold_out_references_and_the_paper_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_in(dir.path(), &format!("{GOOD}{EVALUATE}")).unwrap();
        assert_eq!(spec.holdout, 0.5);
        assert!(spec.paper_protocol);
        assert_eq!(spec.baselines, ["floor"]);
        let names: Vec<&str> = spec.references.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["independent", "mosaic-50", "hmm"]);
        // name and label are the spec's; the rest are gmmn-reference's flags.
        let mosaic = &spec.references[1];
        assert_eq!(mosaic.method(), "mosaic");
        assert_eq!(
            flags(&mosaic.params),
            ["--method", "mosaic", "--segment", "50"]
        );
        assert_eq!(mosaic.label, "mosaic of training segments, mean 50 SNPs");
        assert_eq!(spec.references[2].label, "the HMM");
        assert_eq!(
            flags(&spec.references[2].params),
            ["--clusters", "20", "--iterations", "5", "--method", "hmm"]
        );
        assert_eq!(
            spec.references[0].label,
            "independent SNPs at the training allele frequencies"
        );
    }

    #[test]
    fn old_baselines_are_refused_with_what_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let old = format!("{GOOD}evaluate: {{baselines: [holdout, independent]}}\n");
        let e = spec_in(dir.path(), &old).unwrap_err().to_string();
        assert!(
            e.contains("evaluate.baselines[0]") && e.contains("`holdout` is now called `floor`"),
            "{e}"
        );
        assert!(e.contains("baselines: [floor]"), "{e}");
        assert!(
            e.contains("evaluate.baselines[1]")
                && e.contains("references: [{name: independent, method: independent}]"),
            "{e}"
        );
        // Only the explanation, not the schema's bare "not one of".
        assert!(!e.contains("is not one of"), "{e}");
    }

    #[test]
    fn bad_references_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A flag of another method (gmmn-reference would ignore it; the spec says so first).
        let bad = format!("{GOOD}{EVALUATE}")
            .replace("method: hmm, clusters", "method: mosaic, clusters");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(e.contains("evaluate.references[2].clusters"), "{e}");
        let bad = format!("{GOOD}{EVALUATE}").replace("name: hmm,", "name: mosaic-50,");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(
            e.contains("evaluate.references[2].name") && e.contains("unique"),
            "{e}"
        );
        let bad = format!("{GOOD}{EVALUATE}").replace("method: independent}", "method: copy}");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(e.contains("evaluate.references[0].method"), "{e}");
        let bad = format!("{GOOD}{EVALUATE}").replace("holdout: 0.5", "holdout: 1");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(e.contains("evaluate.holdout"), "{e}");
        // A variant may not take the references' directory.
        let bad = GOOD.replace("name: b", "name: references");
        let e = spec_in(dir.path(), &bad).unwrap_err().to_string();
        assert!(
            e.contains("variants[1].name") && e.contains("reserved"),
            "{e}"
        );
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
