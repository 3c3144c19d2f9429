//! `gmmn audit DIR`: check every artifact of a results tree, and print its lineage.
//!
//! For each manifest (`*.meta.yaml`) under DIR (hidden directories such as `DIR/.gmmn` are
//! skipped) the audit
//!
//! * validates it against the JSON Schema of its kind (the schemas are compiled into the binary,
//!   with `format` asserted, as tests/schemas.rs does),
//! * recomputes the sha256 and size of its data file (the file beside it without `.meta.yaml`),
//! * checks that every input and companion it names exists, resolved against the manifest's own
//!   directory (inputs may lie outside DIR, e.g. `../data/x.vcf.gz`), with the recorded sha256.
//!
//! Editing a manifest (its params, say) changes no data hash, so none of the above catches it.
//! [`seal`] therefore writes `DIR/ledger.yaml` with the sha256 of every manifest file (and of its
//! data file); [`audit`] compares the tree with it when it exists: an edited, vanished or
//! unlisted manifest is a problem too.
//!
//! Problems are data, not errors: [`Report::problems`] lists every one, each naming its file.
//! [`AuditError`] is only for what stops the audit as a whole (DIR unreadable, the ledger not
//! writable, a tree too broken to seal).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use artifact::{now_rfc3339, sha256_file, ArtifactError, FileRef, Manifest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The ledger's file name, directly under the audited directory.
pub const LEDGER: &str = "ledger.yaml";

/// The ledger format this build writes and reads.
pub const LEDGER_VERSION: u32 = 1;

const MANIFEST_SUFFIX: &str = ".meta.yaml";

/// The JSON Schema of each manifest kind, as shipped in `schemas/`, by kind name. Looked up by
/// the `kind` string of the YAML rather than through [`artifact::ArtifactKind`], so that a
/// manifest of a kind this build does not know is a reported problem, not a parse failure
/// that hides its other problems.
const SCHEMAS: &[(&str, &str)] = &[
    (
        "genotypes",
        include_str!("../../../schemas/manifest.genotypes.schema.json"),
    ),
    (
        "variants",
        include_str!("../../../schemas/manifest.variants.schema.json"),
    ),
    (
        "sketch",
        include_str!("../../../schemas/manifest.sketch.schema.json"),
    ),
    (
        "model",
        include_str!("../../../schemas/manifest.model.schema.json"),
    ),
    (
        "checkpoint",
        include_str!("../../../schemas/manifest.checkpoint.schema.json"),
    ),
    (
        "loss_log",
        include_str!("../../../schemas/manifest.loss_log.schema.json"),
    ),
    (
        "plot",
        include_str!("../../../schemas/manifest.plot.schema.json"),
    ),
    (
        "vcf",
        include_str!("../../../schemas/manifest.vcf.schema.json"),
    ),
    (
        "plink",
        include_str!("../../../schemas/manifest.plink.schema.json"),
    ),
    (
        "panel",
        include_str!("../../../schemas/manifest.panel.schema.json"),
    ),
    (
        "coordinates",
        include_str!("../../../schemas/manifest.coordinates.schema.json"),
    ),
    (
        "report",
        include_str!("../../../schemas/manifest.report.schema.json"),
    ),
];

/// What stops an audit or a seal as a whole. Problems with single files are not errors: they are
/// listed in [`Report::problems`].
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{path}: not a directory")]
    NotADirectory { path: PathBuf },
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the ledger: {message}")]
    Serialise { message: String },
    /// Sealing would bless a broken tree: the ledger is not written.
    #[error("{dir}: not sealed, {} problem(s):\n{}", .problems.len(), join_lines(.problems))]
    Unsealable {
        dir: PathBuf,
        problems: Vec<Problem>,
    },
}

fn join_lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One thing that does not hold, about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file concerned, relative to the audited directory (absolute when outside it and
    /// sharing nothing with it).
    pub file: String,
    /// What is wrong with it.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.what)
    }
}

/// `DIR/ledger.yaml`: the sha256 of every manifest under DIR (and of its data file) when sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    pub ledger_version: u32,
    /// Version of the `gmmn` that sealed it.
    pub gmmn_version: String,
    /// RFC 3339 UTC time of sealing (`SOURCE_DATE_EPOCH` is honoured, as for manifests).
    pub created: String,
    /// By manifest path, sorted.
    pub manifests: Vec<LedgerEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// The manifest, relative to the ledger's directory, `/`-separated.
    pub manifest: String,
    /// sha256 of the manifest file itself.
    pub sha256: String,
    /// sha256 of the data file it describes.
    pub data_sha256: String,
}

/// What the audit made of `DIR/ledger.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerStatus {
    /// No ledger: edited manifests cannot be detected.
    Absent,
    /// Read and compared with the tree (any differences are among the problems).
    Checked {
        entries: usize,
        created: String,
        gmmn_version: String,
    },
    /// Present but not a ledger this build reads (a problem says why).
    Unreadable,
}

/// One manifest found under the audited directory.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The manifest, relative to the audited directory.
    pub manifest: String,
    /// Its data file, relative to the audited directory.
    pub data: String,
    /// The manifest's `kind`, when it has a string one.
    pub kind: Option<String>,
    /// sha256 of the manifest file, when it could be read.
    pub manifest_sha256: Option<String>,
    /// sha256 of the data file as found now, when it could be read.
    pub data_sha256: Option<String>,
    /// The data file's sha256 as its manifest records it, when the manifest parsed.
    pub recorded_sha256: Option<String>,
    /// Inputs as (role, where they resolve to), when the manifest parsed: the lineage's edges.
    inputs: Vec<(String, PathBuf)>,
    /// Where its companions resolve to, when the manifest parsed: folded into its lineage node.
    companions: Vec<PathBuf>,
    /// Where the data file is (canonical when it exists): the lineage's node.
    data_key: PathBuf,
    /// Inputs a sketch names but the tree does not hold: the data owner's genotypes, which a
    /// site keeps when it publishes its sketch (not a problem; listed so the reader knows).
    pub withheld: Vec<String>,
}

/// The outcome of an audit.
#[derive(Debug, Clone)]
pub struct Report {
    /// The audited directory, as given.
    pub dir: PathBuf,
    /// Every manifest under it, sorted by path.
    pub artifacts: Vec<Artifact>,
    pub ledger: LedgerStatus,
    /// Every problem found, in the order of `artifacts`, then the ledger's.
    pub problems: Vec<Problem>,
    /// How many distinct files were hashed (data files, inputs, companions).
    pub files_hashed: usize,
    /// The audited directory, canonical: what node paths are shown relative to.
    root: PathBuf,
}

impl Report {
    /// True when every check held.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The lineage as an indented tree, see [`render_lineage`].
    pub fn lineage(&self) -> String {
        render_lineage(&self.root, &self.artifacts)
    }
}

/// Audit every manifest under `dir`, and the ledger when there is one.
pub fn audit(dir: &Path) -> Result<Report, AuditError> {
    let mut report = scan(dir)?;
    let ledger_path = dir.join(LEDGER);
    if ledger_path.exists() {
        check_ledger(&ledger_path, &mut report);
    }
    Ok(report)
}

/// Audit `dir` (everything but the ledger) and, when all holds, write `dir/ledger.yaml` atomically
/// (temporary file in `dir`, fsync, rename), replacing any earlier one. A tree with problems is
/// not sealed: [`AuditError::Unsealable`] lists them.
pub fn seal(dir: &Path) -> Result<Ledger, AuditError> {
    let report = scan(dir)?;
    if !report.is_ok() {
        return Err(AuditError::Unsealable {
            dir: dir.to_path_buf(),
            problems: report.problems,
        });
    }
    let manifests = report
        .artifacts
        .iter()
        .map(|a| LedgerEntry {
            manifest: a.manifest.clone(),
            // A tree without problems has both hashes of every manifest.
            sha256: a.manifest_sha256.clone().unwrap_or_default(),
            data_sha256: a.data_sha256.clone().unwrap_or_default(),
        })
        .collect();
    let ledger = Ledger {
        ledger_version: LEDGER_VERSION,
        gmmn_version: env!("CARGO_PKG_VERSION").to_string(),
        created: now_rfc3339(),
        manifests,
    };
    let yaml = serde_yaml_ng::to_string(&ledger).map_err(|e| AuditError::Serialise {
        message: e.to_string(),
    })?;
    let text = format!(
        "# Written by `gmmn audit --seal`: the sha256 of every manifest under this directory, and\n\
         # of its data file. `gmmn audit` reports a manifest edited, removed or added since.\n{yaml}"
    );
    write_atomically(&dir.join(LEDGER), text.as_bytes())?;
    Ok(ledger)
}

/// Write `path` through a hidden temporary file in its directory, fsynced, then renamed over it:
/// a reader never sees half a ledger.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| AuditError::Write { path: p, source }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    // Make the rename itself durable; not every platform can open a directory, so best effort.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Why a file could not be hashed.
#[derive(Debug, Clone)]
enum Unhashable {
    Missing,
    Unreadable(String),
}

/// sha256 and size of files, each hashed once: many manifests name the same input (every group
/// file names the ingested genotypes; every report names every group).
#[derive(Default)]
struct Hashes {
    by_path: HashMap<PathBuf, Result<(String, u64), Unhashable>>,
}

impl Hashes {
    fn get(&mut self, path: &Path) -> Result<(String, u64), Unhashable> {
        let key = node_key(path);
        self.by_path
            .entry(key)
            .or_insert_with_key(|key| {
                let meta = match std::fs::metadata(key) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(Unhashable::Missing)
                    }
                    Err(e) => return Err(Unhashable::Unreadable(e.to_string())),
                };
                if !meta.is_file() {
                    return Err(Unhashable::Unreadable("not a regular file".into()));
                }
                sha256_file(key)
                    .map(|sha| (sha, meta.len()))
                    .map_err(|e| Unhashable::Unreadable(io_message(e)))
            })
            .clone()
    }
}

/// An artifact error's message without the path it starts with (the problem names the file).
fn io_message(e: ArtifactError) -> String {
    match e {
        ArtifactError::Io { source, .. } => source.to_string(),
        ArtifactError::BadManifest { message, .. } => message,
        other => other.to_string(),
    }
}

/// Where `path` really is: canonical when it exists, else made absolute and with `.` and `..`
/// resolved lexically. Two references to one file get one key.
fn node_key(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut out = PathBuf::new();
        for c in abs.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other.as_os_str()),
            }
        }
        out
    })
}

/// `path` (absolute) as shown to users: relative to `root` (absolute), with `..` where it lies
/// beside it; absolute when the two share nothing below the file system root.
fn display_path(path: &Path, root: &Path) -> String {
    match artifact::relative_to(path, root) {
        None => path.display().to_string(),
        Some(rel) if rel.as_os_str().is_empty() => ".".into(),
        Some(rel) => rel.display().to_string(),
    }
}

/// A JSON pointer (`/params/steps`, `/inputs/0/sha256`) as `params.steps`, `inputs[0].sha256`.
pub(crate) fn dotted(pointer: &jsonschema::paths::Location) -> String {
    let mut out = String::new();
    for segment in pointer.segments() {
        match segment {
            jsonschema::paths::LocationSegment::Index(i) => out.push_str(&format!("[{i}]")),
            jsonschema::paths::LocationSegment::Property(p) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&p);
            }
        }
    }
    out
}

/// Keep one problem to one readable line: a schema message can quote a whole manifest.
fn one_line(message: &str) -> String {
    const MAX: usize = 200;
    let flat = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX {
        flat
    } else {
        let cut: String = flat.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// The compiled schemas, compiled on first use.
#[derive(Default)]
struct Schemas {
    compiled: HashMap<&'static str, Result<jsonschema::Validator, String>>,
}

impl Schemas {
    /// The schema violations of `instance` as `kind`; Err when no schema knows the kind.
    fn violations(&mut self, kind: &str, instance: &Value) -> Result<Vec<String>, String> {
        let Some(&(name, text)) = SCHEMAS.iter().find(|(k, _)| *k == kind) else {
            return Err(format!(
                "unknown kind `{kind}` (no schema; known: {})",
                SCHEMAS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        let validator = self.compiled.entry(name).or_insert_with(|| {
            let schema: Value = serde_json::from_str(text)
                .map_err(|e| format!("the schema of kind `{name}` is not JSON: {e}"))?;
            jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| format!("the schema of kind `{name}` does not compile: {e}"))
        });
        let validator = validator.as_ref().map_err(Clone::clone)?;
        Ok(validator
            .iter_errors(instance)
            .map(|e| {
                let at = dotted(e.instance_path());
                let message = one_line(&e.to_string());
                if at.is_empty() {
                    format!("schema: {message}")
                } else {
                    format!("schema: {at}: {message}")
                }
            })
            .collect())
    }
}

/// Whether manifest text validates against its kind's schema as this build knows it.
/// `gmmn run` reuses an output only when it does, so a tree written by an older
/// version (a field added since) is brought up to date instead of failing the audit.
pub fn manifest_conforms(text: &str) -> bool {
    static SCHEMAS: std::sync::OnceLock<std::sync::Mutex<Schemas>> = std::sync::OnceLock::new();
    let Ok(instance) = serde_yaml_ng::from_str::<Value>(text) else {
        return false;
    };
    let Some(kind) = instance.get("kind").and_then(Value::as_str) else {
        return false;
    };
    let mut schemas = SCHEMAS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    schemas
        .violations(kind, &instance)
        .is_ok_and(|v| v.is_empty())
}

/// Every `*.meta.yaml` below `dir`, relative to it, sorted; hidden entries (`.gmmn/`, temporary
/// files of an interrupted write) are skipped, and symbolic links to directories not followed.
pub(crate) fn find_manifests(dir: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) {
        let rel = |p: &Path| {
            let r = p.strip_prefix(base).unwrap_or(p);
            if r.as_os_str().is_empty() {
                ".".to_string()
            } else {
                r.display().to_string()
            }
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                problems.push(Problem {
                    file: rel(dir),
                    what: format!("cannot read the directory: {e}"),
                });
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    problems.push(Problem {
                        file: rel(dir),
                        what: format!("cannot read the directory: {e}"),
                    });
                    continue;
                }
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => walk(base, &path, out, problems),
                Ok(_) if name.ends_with(MANIFEST_SUFFIX) => {
                    out.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf())
                }
                Ok(_) => {}
                Err(e) => problems.push(Problem {
                    file: rel(&path),
                    what: format!("cannot stat: {e}"),
                }),
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out, problems);
    out.sort();
    out
}

/// Everything but the ledger.
fn scan(dir: &Path) -> Result<Report, AuditError> {
    let meta = std::fs::metadata(dir).map_err(|source| AuditError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(AuditError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let root = dir.canonicalize().map_err(|source| AuditError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut problems = Vec::new();
    let mut hashes = Hashes::default();
    let mut schemas = Schemas::default();
    let manifests = find_manifests(&root, &mut problems);
    if manifests.is_empty() {
        // "Every schema, hash and input holds" of an empty tree would read as a pass: a wrong
        // directory, or a run that wrote nothing, must not.
        problems.push(Problem {
            file: ".".into(),
            what: format!(
                "no artifact to audit: no manifest (*{MANIFEST_SUFFIX}) below {}",
                dir.display()
            ),
        });
    }
    let artifacts = manifests
        .iter()
        .map(|rel| check_manifest(&root, rel, &mut hashes, &mut schemas, &mut problems))
        .collect();
    Ok(Report {
        dir: dir.to_path_buf(),
        artifacts,
        ledger: LedgerStatus::Absent,
        problems,
        files_hashed: hashes.by_path.len(),
        root,
    })
}

/// Check one manifest (`rel`, relative to `root`) and what it names.
fn check_manifest(
    root: &Path,
    rel: &Path,
    hashes: &mut Hashes,
    schemas: &mut Schemas,
    problems: &mut Vec<Problem>,
) -> Artifact {
    let path = root.join(rel);
    let name = rel.display().to_string();
    let data_rel = name
        .strip_suffix(MANIFEST_SUFFIX)
        .unwrap_or(&name)
        .to_string();
    let data_path = root.join(&data_rel);
    let mut artifact = Artifact {
        manifest: name.clone(),
        data: data_rel.clone(),
        kind: None,
        manifest_sha256: None,
        data_sha256: None,
        recorded_sha256: None,
        inputs: Vec::new(),
        companions: Vec::new(),
        data_key: node_key(&data_path),
        withheld: Vec::new(),
    };
    let mut problem = |file: &str, what: String| {
        problems.push(Problem {
            file: file.to_string(),
            what,
        })
    };

    // The data file is hashed whatever state its manifest is in: the ledger check needs it.
    match hashes.get(&data_path) {
        Ok((sha, _)) => artifact.data_sha256 = Some(sha),
        Err(Unhashable::Missing) => problem(
            &data_rel,
            format!("data file missing ({name} describes it)"),
        ),
        Err(Unhashable::Unreadable(e)) => {
            problem(&data_rel, format!("cannot read the data file: {e}"))
        }
    }

    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            problem(&name, format!("cannot read the manifest: {e}"));
            return artifact;
        }
    };
    match sha256_file(&path) {
        Ok(sha) => artifact.manifest_sha256 = Some(sha),
        Err(e) => problem(
            &name,
            format!("cannot hash the manifest: {}", io_message(e)),
        ),
    }
    let instance: Value = match serde_yaml_ng::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            problem(&name, format!("not YAML: {}", one_line(&e.to_string())));
            return artifact;
        }
    };
    let mut schema_ok = false;
    match instance.get("kind").and_then(Value::as_str) {
        None => problem(&name, "no string `kind`: not a manifest".into()),
        Some(kind) => {
            artifact.kind = Some(kind.to_string());
            match schemas.violations(kind, &instance) {
                Ok(violations) => {
                    schema_ok = violations.is_empty();
                    for v in violations {
                        problem(&name, v);
                    }
                }
                Err(e) => problem(&name, e),
            }
        }
    }
    let manifest = match Manifest::from_yaml(&text, &path) {
        Ok(m) => m,
        Err(e) => {
            // After a schema violation the reader's refusal only repeats it; on a manifest the
            // schema accepts it means the two disagree, which is worth its own line.
            if schema_ok {
                problem(&name, format!("gmmn cannot read it: {}", io_message(e)));
            }
            return artifact;
        }
    };
    artifact.recorded_sha256 = Some(manifest.sha256.clone());

    if let Ok((sha, bytes)) = hashes.get(&data_path) {
        if sha != manifest.sha256 {
            problem(
                &data_rel,
                format!(
                    "sha256 differs from its manifest (recorded {}, found {})",
                    short(&manifest.sha256),
                    short(&sha)
                ),
            );
        }
        if bytes != manifest.bytes {
            problem(
                &data_rel,
                format!(
                    "size differs from its manifest (recorded {} bytes, found {bytes})",
                    manifest.bytes
                ),
            );
        }
    }

    let manifest_dir = path.parent().unwrap_or(root);
    let mut check_ref = |what: &str, r: &FileRef| {
        let target = r.resolve(manifest_dir);
        let shown = display_path(&node_key(&target), root);
        // The recorded path is what one finds in the manifest; the root-relative one is how every
        // other line names files. Both when they differ.
        let label = if shown == r.path {
            format!("{what} {}", r.path)
        } else {
            format!("{what} {} (= {shown})", r.path)
        };
        match hashes.get(&target) {
            Ok((sha, _)) if sha == r.sha256 => {}
            Ok((sha, _)) => problems.push(Problem {
                file: name.clone(),
                what: format!(
                    "{label}: sha256 differs from the one recorded (recorded {}, found {})",
                    short(&r.sha256),
                    short(&sha)
                ),
            }),
            Err(Unhashable::Missing) => problems.push(Problem {
                file: name.clone(),
                what: format!("{label} missing"),
            }),
            Err(Unhashable::Unreadable(e)) => problems.push(Problem {
                file: name.clone(),
                what: format!("{label} unreadable: {e}"),
            }),
        }
        target
    };
    // A published sketch (and the variants table beside it) travels without the genotypes and
    // variants it was computed from: such an input, outside the audited tree and absent, is
    // withheld, not missing (inside the tree a vanished input is still a problem).
    let is_sketch = manifest.producer.stage == "sketch";
    for input in &manifest.inputs {
        let target = input.resolve(manifest_dir);
        if is_sketch
            && matches!(input.role.as_str(), "genotypes" | "variants")
            && !target.exists()
            && !node_key(&target).starts_with(node_key(root))
        {
            artifact.withheld.push(format!(
                "{} {} (kept by the data owner)",
                input.role, input.path
            ));
            continue;
        }
        let target = check_ref("input", input);
        artifact
            .inputs
            .push((input.role.clone(), node_key(&target)));
    }
    for companion in &manifest.companions {
        let target = check_ref("companion", companion);
        artifact.companions.push(node_key(&target));
    }
    artifact
}

/// The first 12 hex digits of a hash: enough to tell two apart in a message.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Compare the tree in `report` with the ledger at `path`, adding what differs to its problems.
fn check_ledger(path: &Path, report: &mut Report) {
    let mut problem = |file: &str, what: String| {
        report.problems.push(Problem {
            file: file.to_string(),
            what,
        })
    };
    let ledger: Ledger = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_yaml_ng::from_str(&t).map_err(|e| one_line(&e.to_string())))
    {
        Ok(l) => l,
        Err(e) => {
            problem(LEDGER, format!("not a ledger gmmn reads: {e}"));
            report.ledger = LedgerStatus::Unreadable;
            return;
        }
    };
    if ledger.ledger_version != LEDGER_VERSION {
        problem(
            LEDGER,
            format!(
                "ledger_version {} is not one this build reads (it reads {LEDGER_VERSION})",
                ledger.ledger_version
            ),
        );
        report.ledger = LedgerStatus::Unreadable;
        return;
    }
    let sealed: BTreeMap<&str, &LedgerEntry> = ledger
        .manifests
        .iter()
        .map(|e| (e.manifest.as_str(), e))
        .collect();
    let present: BTreeSet<&str> = report
        .artifacts
        .iter()
        .map(|a| a.manifest.as_str())
        .collect();
    for entry in &ledger.manifests {
        if !present.contains(entry.manifest.as_str()) {
            problem(&entry.manifest, "listed in the ledger but missing".into());
        }
    }
    for a in &report.artifacts {
        let Some(entry) = sealed.get(a.manifest.as_str()) else {
            problem(&a.manifest, "not in the ledger (added since sealed)".into());
            continue;
        };
        // An unreadable manifest is already a problem of its own.
        let Some(sha) = &a.manifest_sha256 else {
            continue;
        };
        if *sha != entry.sha256 {
            problem(&a.manifest, "manifest edited since sealed".into());
        }
        // A data file that differs from its manifest is already reported; one that matches its
        // manifest but not the ledger was replaced together with a manifest edited to match.
        if let (Some(found), Some(recorded)) = (&a.data_sha256, &a.recorded_sha256) {
            if found == recorded && *found != entry.data_sha256 {
                problem(
                    &a.data,
                    "data file replaced since sealed (its manifest was edited to match)".into(),
                );
            }
        }
    }
    report.ledger = LedgerStatus::Checked {
        entries: ledger.manifests.len(),
        created: ledger.created,
        gmmn_version: ledger.gmmn_version,
    };
}

/// How many names a collapsed line shows before `+N more`.
const NAMES_PER_LINE: usize = 6;

struct Node {
    /// Path relative to the audited directory (see [`display_path`]).
    shown: String,
    /// The kind of its manifest, or `input: <role>` for a file no manifest under DIR produced.
    label: String,
    /// Companions folded into this node (`variants.parquet`, `loss.csv`), as shown.
    with: Vec<String>,
    parents: BTreeSet<usize>,
    children: BTreeSet<usize>,
}

/// The lineage of `artifacts` as a tree, from the root inputs (files no manifest under `root`
/// produced: the VCF, the panel) down to the reports, one line per file: `path [kind]`.
///
/// Artifacts are a DAG (a report reads every group), so to keep a tree readable each file is
/// drawn once, under the parent deepest in the pipeline (a report under the synthetic data, not
/// under the first group); its other parents list it on one line, marked `(above)` or `(below)`.
/// Three or more leaves of one kind in one directory share a line too (a projection's plots), and
/// companions with manifests of their own are named on the line of the artifact that lists them
/// (`model.safetensors [model] with loss.csv, variants.parquet`).
/// Manifests that could not be read have no edges and appear as roots.
pub fn render_lineage(root: &Path, artifacts: &[Artifact]) -> String {
    // A companion with a manifest of its own (a genotype file's variants table, a model's loss
    // log) is drawn as part of the artifact that lists it, not as a node: every stage copies the
    // variants table along, and a chain of copies beside the real one only doubles the tree.
    let mut principal_of: HashMap<&Path, &Path> = HashMap::new();
    let is_artifact: BTreeSet<&Path> = artifacts.iter().map(|a| a.data_key.as_path()).collect();
    for a in artifacts {
        for c in &a.companions {
            if *c != a.data_key && is_artifact.contains(c.as_path()) {
                principal_of.entry(c.as_path()).or_insert(&a.data_key);
            }
        }
    }
    // Follow companions of companions to the end (a cycle ends where it closes).
    let principal = |key: &Path| -> PathBuf {
        let mut k = key;
        let mut seen = BTreeSet::new();
        while let Some(&p) = principal_of.get(k) {
            if !seen.insert(k) {
                break;
            }
            k = p;
        }
        k.to_path_buf()
    };

    // Nodes: every data file that is no one's companion, and every input.
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    let mut node = |key: &Path, label: String, nodes: &mut Vec<Node>| -> usize {
        *index.entry(key.to_path_buf()).or_insert_with(|| {
            nodes.push(Node {
                shown: display_path(key, root),
                label,
                with: Vec::new(),
                parents: BTreeSet::new(),
                children: BTreeSet::new(),
            });
            nodes.len() - 1
        })
    };
    let label = |a: &Artifact| a.kind.clone().unwrap_or_else(|| "unreadable".into());
    let mut produced = Vec::new();
    for a in artifacts {
        let key = principal(&a.data_key);
        let i = if key == a.data_key {
            let i = node(&key, label(a), &mut nodes);
            // A file first seen as someone's input is relabelled once its own manifest turns up.
            nodes[i].label = label(a);
            i
        } else {
            let i = node(&key, String::new(), &mut nodes);
            nodes[i].with.push(display_path(&a.data_key, root));
            i
        };
        produced.push(i);
    }
    for (a, &child) in artifacts.iter().zip(&produced) {
        for (role, key) in &a.inputs {
            let parent = node(&principal(key), format!("input: {role}"), &mut nodes);
            if parent != child {
                nodes[child].parents.insert(parent);
                nodes[parent].children.insert(child);
            }
        }
    }
    if nodes.is_empty() {
        return "(no artifacts)\n".into();
    }
    let by_name = |a: &usize, b: &usize| nodes[*a].shown.cmp(&nodes[*b].shown);

    // Depth: the longest chain of inputs above a node. A cycle (only a hand-edited manifest can
    // make one) is cut where it closes.
    fn depth_of(
        i: usize,
        nodes: &[Node],
        memo: &mut [Option<usize>],
        on_path: &mut [bool],
    ) -> usize {
        if let Some(d) = memo[i] {
            return d;
        }
        if on_path[i] {
            return 0;
        }
        on_path[i] = true;
        let d = nodes[i]
            .parents
            .iter()
            .map(|&p| depth_of(p, nodes, memo, on_path) + 1)
            .max()
            .unwrap_or(0);
        on_path[i] = false;
        memo[i] = Some(d);
        d
    }
    let mut memo = vec![None; nodes.len()];
    let mut on_path = vec![false; nodes.len()];
    let depth: Vec<usize> = (0..nodes.len())
        .map(|i| depth_of(i, &nodes, &mut memo, &mut on_path))
        .collect();
    // Each node's home: its deepest parent, the first by name among equals.
    let home: Vec<Option<usize>> = nodes
        .iter()
        .map(|n| {
            n.parents
                .iter()
                .copied()
                .max_by(|a, b| depth[*a].cmp(&depth[*b]).then_with(|| by_name(b, a)))
        })
        .collect();

    // Roots, the one reaching the most first (the VCF before the panel), then by name.
    let reach = |start: usize| {
        let mut seen = vec![false; nodes.len()];
        let mut stack = vec![start];
        let mut count = 0;
        while let Some(i) = stack.pop() {
            for &c in &nodes[i].children {
                if !seen[c] {
                    seen[c] = true;
                    count += 1;
                    stack.push(c);
                }
            }
        }
        count
    };
    let mut roots: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].parents.is_empty())
        .collect();
    let reaches: Vec<usize> = roots.iter().map(|&r| reach(r)).collect();
    let mut order: Vec<usize> = (0..roots.len()).collect();
    order.sort_by(|&a, &b| {
        reaches[b]
            .cmp(&reaches[a])
            .then_with(|| by_name(&roots[a], &roots[b]))
    });
    roots = order.into_iter().map(|k| roots[k]).collect();

    let mut out = String::new();
    let mut drawn = vec![false; nodes.len()];
    let mut ctx = Draw {
        nodes: &nodes,
        home: &home,
        drawn: &mut drawn,
        out: &mut out,
    };
    for &r in &roots {
        ctx.draw(r, "", "");
    }
    // Whatever no root reaches sits on a cycle: draw it from its first member.
    for i in 0..nodes.len() {
        if !ctx.drawn[i] {
            ctx.draw(i, "", "");
        }
    }
    out
}

struct Draw<'a> {
    nodes: &'a [Node],
    home: &'a [Option<usize>],
    drawn: &'a mut [bool],
    out: &'a mut String,
}

impl Draw<'_> {
    /// Draw node `i` on a line starting `lead`, its subtree under lines starting `indent`.
    fn draw(&mut self, i: usize, lead: &str, indent: &str) {
        let n = &self.nodes[i];
        let mut line = format!("{lead}{} [{}]", n.shown, n.label);
        if !n.with.is_empty() {
            // Companions beside it by their file name alone.
            let dir = n.shown.rsplit_once('/').map_or("", |(d, _)| d);
            let names: Vec<&str> = n
                .with
                .iter()
                .map(|w| match w.rsplit_once('/') {
                    Some((d, f)) if d == dir => f,
                    _ => w.as_str(),
                })
                .collect();
            line.push_str(&format!(" with {}", names.join(", ")));
        }
        self.out.push_str(&line);
        self.out.push('\n');
        self.drawn[i] = true;

        let mut by_name: Vec<usize> = n.children.iter().copied().collect();
        by_name.sort_by(|a, b| self.nodes[*a].shown.cmp(&self.nodes[*b].shown));
        // Children drawn here, children drawn elsewhere (before or after this line).
        let (mine, elsewhere): (Vec<usize>, Vec<usize>) = by_name
            .into_iter()
            .partition(|&c| self.home[c] == Some(i) && !self.drawn[c]);

        // Lines under this node: a subtree, a group of sibling leaves, or a list of references.
        enum Line {
            Subtree(usize),
            Leaves(Vec<usize>),
            /// Children drawn under another parent, listed on one line (last, so that the
            /// subtrees above it have been drawn and `(above)` is told from `(below)` right).
            Refs(Vec<usize>),
        }
        let mut lines = Vec::new();
        let mut leaf_groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for &c in &mine {
            let leaf = self.nodes[c].children.is_empty();
            if leaf {
                let shown = &self.nodes[c].shown;
                let dir = shown.rsplit_once('/').map_or("", |(d, _)| d).to_string();
                leaf_groups
                    .entry((dir, self.nodes[c].label.clone()))
                    .or_default()
                    .push(c);
            }
        }
        for &c in &mine {
            let shown = &self.nodes[c].shown;
            let dir = shown.rsplit_once('/').map_or("", |(d, _)| d).to_string();
            let group = leaf_groups.get(&(dir, self.nodes[c].label.clone()));
            match group {
                Some(g) if self.nodes[c].children.is_empty() && g.len() >= 3 => {
                    if g[0] == c {
                        lines.push(Line::Leaves(g.clone()));
                    }
                }
                _ => lines.push(Line::Subtree(c)),
            }
        }
        if !elsewhere.is_empty() {
            lines.push(Line::Refs(elsewhere));
        }

        let count = lines.len();
        for (k, line) in lines.into_iter().enumerate() {
            let last = k + 1 == count;
            let branch = format!("{indent}{}", if last { "└── " } else { "├── " });
            let deeper = format!("{indent}{}", if last { "    " } else { "│   " });
            match line {
                Line::Subtree(c) => {
                    // A sibling's subtree may have drawn it since the partition.
                    if self.drawn[c] {
                        self.out.push_str(&format!(
                            "{branch}{} [{}] (above)\n",
                            self.nodes[c].shown, self.nodes[c].label
                        ));
                    } else {
                        self.draw(c, &branch, &deeper);
                    }
                }
                Line::Leaves(group) => {
                    let first = &self.nodes[group[0]];
                    let dir = first.shown.rsplit_once('/').map(|(d, _)| d);
                    let names: Vec<&str> = group
                        .iter()
                        .map(|&c| {
                            let s = self.nodes[c].shown.as_str();
                            dir.map_or(s, |d| &s[d.len() + 1..])
                        })
                        .collect();
                    let prefix = dir.map(|d| format!("{d}/")).unwrap_or_default();
                    self.out.push_str(&format!(
                        "{branch}{prefix}{{{}}} [{} x{}]\n",
                        abbreviate(&names),
                        first.label,
                        group.len()
                    ));
                    for c in group {
                        self.drawn[c] = true;
                    }
                }
                Line::Refs(refs) => {
                    let (above, below): (Vec<usize>, Vec<usize>) =
                        refs.into_iter().partition(|&c| self.drawn[c]);
                    let mut parts = Vec::new();
                    for (label, group) in [("above", above), ("below", below)] {
                        if !group.is_empty() {
                            let names: Vec<&str> = group
                                .iter()
                                .map(|&c| self.nodes[c].shown.as_str())
                                .collect();
                            parts.push(format!("({label}) {}", abbreviate(&names)));
                        }
                    }
                    self.out
                        .push_str(&format!("{branch}{}\n", parts.join("; ")));
                }
            }
        }
    }
}

/// The first [`NAMES_PER_LINE`] of `names`, neighbours in one directory sharing it
/// (`groups/{AFR.parquet, EAS.parquet}`), then `… +N more`.
fn abbreviate(names: &[&str]) -> String {
    let shown = &names[..names.len().min(NAMES_PER_LINE)];
    let mut parts: Vec<String> = Vec::new();
    let mut k = 0;
    while k < shown.len() {
        let dir = shown[k].rsplit_once('/').map(|(d, _)| d);
        let run = shown[k..]
            .iter()
            .take_while(|n| n.rsplit_once('/').map(|(d, _)| d) == dir)
            .count();
        match dir {
            Some(d) if run >= 2 => {
                let files: Vec<&str> = shown[k..k + run]
                    .iter()
                    .map(|n| &n[d.len() + 1..])
                    .collect();
                parts.push(format!("{d}/{{{}}}", files.join(", ")));
            }
            _ => parts.extend(shown[k..k + run].iter().map(|n| n.to_string())),
        }
        k += run;
    }
    if names.len() > shown.len() {
        parts.push(format!("… +{} more", names.len() - shown.len()));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use artifact::{ArtifactKind, Producer};

    #[test]
    fn paths_are_shown_relative_to_the_audited_directory() {
        let root = Path::new("/tmp/run");
        assert_eq!(
            display_path(Path::new("/tmp/run/groups/EUR.parquet"), root),
            "groups/EUR.parquet"
        );
        assert_eq!(
            display_path(Path::new("/tmp/data/x.vcf.gz"), root),
            "../data/x.vcf.gz"
        );
        assert_eq!(
            display_path(Path::new("/work/x.vcf.gz"), root),
            "/work/x.vcf.gz"
        );
        assert_eq!(
            node_key(Path::new("/nonexistent-gmmn/a/../b/./c.parquet")),
            PathBuf::from("/nonexistent-gmmn/b/c.parquet")
        );
    }

    #[test]
    fn long_lists_are_abbreviated_by_directory() {
        assert_eq!(abbreviate(&["a/x", "a/y", "b/z", "w"]), "a/{x, y}, b/z, w");
        let many: Vec<String> = (0..9).map(|i| format!("groups/G{i}.parquet")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            abbreviate(&many),
            "groups/{G0.parquet, G1.parquet, G2.parquet, G3.parquet, G4.parquet, G5.parquet}, … +3 more"
        );
    }

    #[test]
    fn every_kind_has_a_schema_that_compiles() {
        let mut schemas = Schemas::default();
        let instance = serde_json::json!({});
        for (kind, _) in SCHEMAS {
            let v = schemas.violations(kind, &instance).unwrap();
            assert!(!v.is_empty(), "{kind}: an empty manifest validates");
        }
        let err = schemas.violations("weights", &instance).unwrap_err();
        assert!(err.contains("unknown kind `weights`"), "{err}");
    }

    /// A plot (the simplest kind to build by hand) in `dir/run/`, made from `dir/in.txt`.
    fn tiny_tree(dir: &Path) -> PathBuf {
        let run = dir.join("run");
        std::fs::create_dir_all(&run).unwrap();
        let input = dir.join("in.txt");
        std::fs::write(&input, b"some input").unwrap();
        let data = run.join("fig.png");
        std::fs::write(&data, b"not really a png").unwrap();
        let mut m = Manifest::new(
            ArtifactKind::Plot,
            Producer::new("test", "gmmn-test", "0.1.0"),
        )
        .param("plots", "nothing");
        m.sha256 = sha256_file(&data).unwrap();
        m.bytes = 16;
        m.inputs = vec![FileRef::hashed("input", &input, &run).unwrap()];
        assert_eq!(m.inputs[0].path, "../in.txt");
        std::fs::write(run.join("fig.png.meta.yaml"), m.to_yaml().unwrap()).unwrap();
        run
    }

    #[test]
    fn seal_then_edit_a_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tiny_tree(tmp.path());
        // Hidden directories (the runner's `.gmmn/`) are not part of the tree.
        std::fs::create_dir(run.join(".gmmn")).unwrap();
        std::fs::write(run.join(".gmmn/x.meta.yaml"), "not: [a manifest").unwrap();
        let report = audit(&run).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(report.ledger, LedgerStatus::Absent);
        assert_eq!(report.files_hashed, 2);
        assert_eq!(
            report.lineage(),
            "../in.txt [input: input]\n└── fig.png [plot]\n"
        );

        let ledger = seal(&run).unwrap();
        assert_eq!(ledger.manifests.len(), 1);
        assert_eq!(ledger.manifests[0].manifest, "fig.png.meta.yaml");
        let report = audit(&run).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert!(matches!(
            report.ledger,
            LedgerStatus::Checked { entries: 1, .. }
        ));

        // A schema-valid edit that no data hash sees: only the ledger catches it.
        let mpath = run.join("fig.png.meta.yaml");
        let text = std::fs::read_to_string(&mpath).unwrap();
        std::fs::write(&mpath, text.replace("plots: nothing", "plots: something")).unwrap();
        let problems: Vec<String> = audit(&run)
            .unwrap()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            problems,
            ["fig.png.meta.yaml: manifest edited since sealed"]
        );

        // The input outside the tree, changed.
        std::fs::write(tmp.path().join("in.txt"), b"other input").unwrap();
        let report = audit(&run).unwrap();
        assert!(
            report.problems.iter().any(|p| p.file == "fig.png.meta.yaml"
                && p.what.starts_with("input ../in.txt: sha256 differs")),
            "{:?}",
            report.problems
        );
        // A tree with problems is not sealed, and the old ledger stays.
        let before = std::fs::read_to_string(run.join(LEDGER)).unwrap();
        assert!(matches!(seal(&run), Err(AuditError::Unsealable { .. })));
        assert_eq!(std::fs::read_to_string(run.join(LEDGER)).unwrap(), before);
    }

    fn artifact(data: &str, kind: &str, inputs: &[&str]) -> Artifact {
        with_companions(data, kind, inputs, &[])
    }

    fn with_companions(data: &str, kind: &str, inputs: &[&str], companions: &[&str]) -> Artifact {
        let root = Path::new("/r/run");
        Artifact {
            manifest: format!("{data}{MANIFEST_SUFFIX}"),
            data: data.into(),
            kind: Some(kind.into()),
            manifest_sha256: None,
            data_sha256: None,
            recorded_sha256: None,
            inputs: inputs
                .iter()
                .map(|i| ("in".to_string(), node_key(&root.join(i))))
                .collect(),
            companions: companions.iter().map(|c| root.join(c)).collect(),
            data_key: root.join(data),
            withheld: Vec::new(),
        }
    }

    #[test]
    fn lineage_draws_a_shared_file_once_under_its_deepest_parent() {
        let artifacts = [
            with_companions(
                "g/A.parquet",
                "genotypes",
                &["../in.vcf"],
                &["g/A.variants.parquet"],
            ),
            artifact("g/A.variants.parquet", "variants", &["../in.vcf"]),
            artifact("g/B.parquet", "genotypes", &["../in.vcf"]),
            artifact(
                "s/A.parquet",
                "genotypes",
                &["g/A.parquet", "g/A.variants.parquet"],
            ),
            artifact(
                "report.json",
                "report",
                &["g/A.parquet", "g/B.parquet", "s/A.parquet"],
            ),
            artifact("p/1.png", "plot", &["s/A.parquet"]),
            artifact("p/2.png", "plot", &["s/A.parquet"]),
            artifact("p/3.png", "plot", &["s/A.parquet"]),
        ];
        let expected = "\
../in.vcf [input: in]
├── g/A.parquet [genotypes] with A.variants.parquet
│   ├── s/A.parquet [genotypes]
│   │   ├── p/{1.png, 2.png, 3.png} [plot x3]
│   │   └── report.json [report]
│   └── (above) report.json
└── g/B.parquet [genotypes]
    └── (above) report.json
";
        assert_eq!(render_lineage(Path::new("/r/run"), &artifacts), expected);
    }
}
