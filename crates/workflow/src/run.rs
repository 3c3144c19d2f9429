//! `gmmn run`: a spec's stages as subprocesses of the stage binaries, incremental like make.
//!
//! The run directory's layout (the Snakefile and main.nf write the same one):
//!
//! ```text
//! DIR/ingest/{genotypes,variants}.parquet
//! DIR/groups/<G>.parquet, <G>.variants.parquet   the training part (all of it without a hold-out)
//! DIR/groups/<G>.heldout.parquet, ...             the held-out part (evaluate.holdout > 0)
//! DIR/baselines/report.{json,md}             the noise floor (training vs held-out real)
//! DIR/baselines/floor.<figure>.{png,svg}      its diagnostics' figures
//! DIR/<variant>/<G>/sketch/sketch.npy
//! DIR/<variant>/<G>/model/model.safetensors
//! DIR/<variant>/synthetic/<G>.{parquet,vcf.gz}
//! DIR/<variant>/projection/, DIR/<variant>/report/ (report.{json,md}, synthetic.<figure>.{png,svg})
//! DIR/<variant>/report-paper/               the same under --protocol paper (evaluate.paper-protocol)
//! DIR/references/<name>/synthetic/<G>.{parquet,vcf.gz}   gmmn-reference on DIR/groups
//! DIR/references/<name>/report/, report-paper/           their gmmn-discriminate reports
//! DIR/table.{md,json}                       the final table (see [`crate::table`])
//! DIR/ledger.yaml                          sha256 of every manifest ([`crate::audit::seal`])
//! DIR/logs/<step>.log                       each subprocess's output
//! DIR/.gmmn/<step>.json                     the command that made each step's outputs
//! ```
//!
//! Steps: `ingest`, `split`, `sketch/<variant>/<G>`, `train/..`, `sample/..` and `reference/<name>`
//! (the chains, `--jobs` at once), then `baselines`, `project/<variant>`,
//! `discriminate/<variant>`, `discriminate-paper/<variant>`, `discriminate/reference/<name>` and
//! `discriminate-paper/reference/<name>`. With a hold-out, every gmmn-discriminate reads
//! `--real DIR/groups --heldout DIR/groups`: the training part and the held-out part of the split.
//!
//! A step is skipped when every output exists with a manifest that validates against its kind's
//! schema (a tree from an older version is brought up to date) and whose sha256 is that of the
//! file, every input its manifest records still has the recorded sha256, the manifest's params agree
//! with the spec's, and the step's command line is the one recorded when it ran. Otherwise it
//! runs, and so does everything whose inputs it changed (their recorded input hashes no longer
//! match). Stages are deterministic given their seeds, so a rerun that writes the same bytes
//! leaves the later stages up to date.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use artifact::{sha256_file, Manifest};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec::{flags, scalar, Params, Reference, Spec, FROM_STAGES};
use crate::table;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stage binary {path} not found (build with `make build-release`, or pass --bin DIR)")]
    MissingBinary { path: PathBuf },
    #[error("{step} failed ({status}); its log is {log}\n  command: {command}\n{tail}")]
    StepFailed {
        step: String,
        status: String,
        log: PathBuf,
        command: String,
        tail: String,
    },
    #[error("{0}")]
    Artifact(#[from] artifact::ArtifactError),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Table(#[from] table::TableError),
    #[error("{0}")]
    Audit(#[from] crate::audit::AuditError),
    #[error(
        "{dir}: another gmmn run is using this output directory ({holder}); wait for it to finish \
         or use another --out (the lock, {lock}, is released when that process exits, even if killed)"
    )]
    Locked {
        dir: PathBuf,
        lock: PathBuf,
        holder: String,
    },
}

/// The lock file of a run directory: held (an advisory `flock`) by the one `gmmn run` writing it.
pub const RUN_LOCK: &str = ".gmmn/run.lock";

/// Take `dir`'s run lock, or say who holds it. The kernel drops the lock when the holding
/// process exits however it exits (kill -9 included), so a killed run never leaves it stuck; the
/// file's text (pid, start time) is only there to tell the user who holds it.
pub fn lock_run_dir(dir: &Path) -> Result<std::fs::File, RunError> {
    use std::io::{Read, Seek, Write};
    let path = dir.join(RUN_LOCK);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(RunError::Locked {
                dir: dir.to_path_buf(),
                lock: path.clone(),
                holder: if holder.is_empty() {
                    "a process that has not written its pid yet".into()
                } else {
                    holder.to_string()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
    }
    let text = format!(
        "pid {}, started {}\n",
        std::process::id(),
        artifact::now_rfc3339()
    );
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()))
        .and_then(|()| file.flush())
        .map_err(io(&path))?;
    Ok(file)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub struct RunOptions {
    pub out: PathBuf,
    /// Step chains run at once (each variant x group chain, then the evaluations).
    pub jobs: usize,
    /// Rerun this stage and every later one even when up to date (`ingest`: everything).
    pub from: Option<String>,
    /// Directory of the stage binaries.
    pub bin: PathBuf,
}

pub struct RunSummary {
    /// The final Markdown table (also in DIR/table.md).
    pub table: String,
    pub ran: usize,
    pub skipped: usize,
}

/// One invocation of a stage binary.
#[derive(Debug, Clone)]
struct Step {
    /// `train/best/CEU`: unique in the run, names its log and stamp.
    id: String,
    stage: &'static str,
    args: Vec<String>,
    /// Arguments that do not change what is computed (`--threads` the runner chose); left out
    /// of the stamp so that `--jobs` does not invalidate a finished run.
    extra_args: Vec<String>,
    /// Data files the step writes; each has a manifest.
    outputs: Vec<PathBuf>,
    /// The spec's parameters for the step, compared with its outputs' manifests.
    params: Params,
}

/// What a finished step leaves in DIR/.gmmn/: its command and how long it took.
#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    program: String,
    args: Vec<String>,
    seconds: f64,
}

/// Seconds each step took when it ran (this time or the run that made its outputs).
pub type Timings = HashMap<String, f64>;

struct Runner<'a> {
    spec: &'a Spec,
    opts: &'a RunOptions,
    /// sha256 of input files, by path, shared by the workers.
    hashes: Mutex<HashMap<PathBuf, String>>,
    timings: Mutex<Timings>,
    ran: AtomicUsize,
    skipped: AtomicUsize,
    failed: AtomicBool,
    progress: ProgressBar,
}

/// Run `spec` into `opts.out`.
pub fn run(spec: &Spec, opts: &RunOptions) -> Result<RunSummary, RunError> {
    for stage in FROM_STAGES {
        let path = opts.bin.join(format!("gmmn-{stage}"));
        if !path.is_file() {
            return Err(RunError::MissingBinary { path });
        }
    }
    if spec.sketch_attack {
        let path = opts.bin.join("gmmn-sketch-attack");
        if !path.is_file() {
            return Err(RunError::MissingBinary { path });
        }
    }
    let dir = &opts.out;
    for sub in ["logs", ".gmmn"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(io(&dir.join(sub)))?;
    }
    // Two runs writing one directory would race on every artifact: the second is refused.
    let _lock = lock_run_dir(dir)?;
    let runner = Runner {
        spec,
        opts,
        hashes: Mutex::new(HashMap::new()),
        timings: Mutex::new(HashMap::new()),
        ran: AtomicUsize::new(0),
        skipped: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
        progress: ProgressBar::new(0),
    };
    runner.progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {pos}/{len} steps {msg}")
            .expect("valid template"),
    );

    // Ingest and split come first: the groups (when the spec does not list them) and each
    // group's haplotype count (the default number to sample) are read from the split.
    let ingest = runner.ingest_step();
    let split = runner.split_step(spec.groups.clone().or_else(|| split_groups(dir)));
    runner.progress.set_length(2);
    runner.run_chains(vec![vec![ingest, split]])?;
    let groups = match &spec.groups {
        Some(g) => g.clone(),
        None => split_groups(dir).ok_or_else(|| RunError::Invalid {
            path: dir.join("groups"),
            message: "gmmn-split wrote no group files".into(),
        })?,
    };

    // The references read only the split, so they run beside the variants' chains (first:
    // they are quick, and a refused parameter shows before hours of training).
    let mut chains: Vec<Vec<Step>> = spec
        .references
        .iter()
        .map(|r| vec![runner.reference_step(r, &groups)])
        .collect();
    for variant in &spec.variants {
        for group in &groups {
            chains.push(runner.group_chain(variant, group)?);
        }
    }
    let mut evaluation = Vec::new();
    if !spec.baselines.is_empty() {
        evaluation.push(vec![runner.baseline_step(&groups)]);
    }
    for variant in &spec.variants {
        let vdir = dir.join(&variant.name);
        if spec.project {
            evaluation.push(vec![runner.project_step(&variant.name, &groups)]);
        }
        if spec.discriminate {
            for paper in protocols(spec) {
                evaluation.push(vec![runner.discriminate_step(
                    &variant.name,
                    &vdir,
                    &groups,
                    paper,
                )]);
            }
        }
    }
    if spec.discriminate {
        for r in &spec.references {
            let rdir = reference_dir(dir, &r.name);
            for paper in protocols(spec) {
                evaluation.push(vec![runner.discriminate_step(
                    &format!("reference/{}", r.name),
                    &rdir,
                    &groups,
                    paper,
                )]);
            }
        }
    }
    let steps: usize = chains.iter().chain(&evaluation).map(Vec::len).sum();
    runner.progress.inc_length(steps as u64);
    runner.run_chains(chains)?;
    runner.run_chains(evaluation)?;
    runner.progress.finish_and_clear();

    let timings = runner.timings.into_inner().expect("no worker panicked");
    let table = table::write_table(spec, dir, &groups, &timings)?;
    // Seal the run: `gmmn audit DIR` then also catches an edited manifest. Sealing checks the
    // whole tree first and refuses a broken one, so a run never ends with a ledger it fails.
    crate::audit::seal(dir)?;
    Ok(RunSummary {
        table,
        ran: runner.ran.into_inner(),
        skipped: runner.skipped.into_inner(),
    })
}

impl Runner<'_> {
    fn dir(&self) -> &Path {
        &self.opts.out
    }

    fn path_arg(p: &Path) -> String {
        p.to_string_lossy().into_owned()
    }

    /// The spec's seed unless the stage's params set their own.
    fn with_seed(&self, mut params: Params) -> Params {
        params
            .entry("seed")
            .or_insert_with(|| Value::from(self.spec.seed));
        params
    }

    fn ingest_step(&self) -> Step {
        let out = self.dir().join("ingest");
        let params = self.spec.stage("ingest");
        let mut args = vec![
            Self::path_arg(&self.spec.vcf),
            "--out".into(),
            Self::path_arg(&out),
        ];
        args.extend(flags(&params));
        Step {
            id: "ingest".into(),
            stage: "ingest",
            args,
            extra_args: vec![],
            outputs: vec![out.join("genotypes.parquet"), out.join("variants.parquet")],
            params,
        }
    }

    fn split_step(&self, groups: Option<Vec<String>>) -> Step {
        let out = self.dir().join("groups");
        let mut params = self.spec.stage("split");
        let holdout = self.spec.holdout > 0.0;
        if holdout {
            params.insert("holdout-fraction".into(), Value::from(self.spec.holdout));
            params = self.with_seed(params);
        }
        let mut args = vec![
            Self::path_arg(&self.dir().join("ingest")),
            "--panel".into(),
            Self::path_arg(&self.spec.panel),
            "--column".into(),
            self.spec.column.clone(),
        ];
        if let Some(g) = &self.spec.groups {
            args.extend(["--groups".into(), g.join(",")]);
        }
        args.extend(["--out".into(), Self::path_arg(&out)]);
        args.extend(flags(&params));
        // With no groups known yet (first run, groups not listed) the outputs are unknown and
        // the step must run; an empty list would look up to date.
        let outputs = match groups {
            Some(g) if !g.is_empty() => g
                .iter()
                .flat_map(|g| {
                    let mut files = vec![out.join(format!("{g}.parquet"))];
                    if holdout {
                        files.push(out.join(format!("{g}.heldout.parquet")));
                    }
                    files
                })
                .collect(),
            _ => vec![out.join(".unknown-groups")],
        };
        Step {
            id: "split".into(),
            stage: "split",
            args,
            extra_args: vec![],
            outputs,
            params,
        }
    }

    fn threads_for_job(&self) -> Vec<String> {
        if self.opts.jobs <= 1 {
            return vec![];
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        vec![
            "--threads".into(),
            (cores / self.opts.jobs).max(1).to_string(),
        ]
    }

    /// sketch -> train -> sample of one variant and group.
    fn group_chain(
        &self,
        variant: &crate::spec::Variant,
        group: &str,
    ) -> Result<Vec<Step>, RunError> {
        let vdir = self.dir().join(&variant.name);
        let gdir = vdir.join(group);
        let group_file = self.dir().join("groups").join(format!("{group}.parquet"));

        let id = |stage: &str| format!("{stage}/{}/{group}", variant.name);
        let sketch = self.group_step(
            id("sketch"),
            "sketch",
            &group_file,
            &gdir.join("sketch"),
            variant.sketch.clone(),
            "sketch.npy",
        );
        let mut train = self.group_step(
            id("train"),
            "train",
            &gdir.join("sketch"),
            &gdir.join("model"),
            variant.train.clone(),
            "model.safetensors",
        );
        // A run killed while training goes on from the last checkpoint (of the same sketch and
        // settings, else from step 0); the model is the same bytes. Not in the step's stamp: it
        // does not change what the step makes.
        train.extra_args.push("--resume-if-checkpoint".into());

        let mut sample_params = self.with_seed(variant.sample.clone());
        if !sample_params.contains_key("n") && !sample_params.contains_key("individuals") {
            let n = group_haplotypes(&group_file)?;
            sample_params.insert("n".into(), Value::from(n));
        }
        let synthetic = vdir.join("synthetic");
        let mut args = vec![
            Self::path_arg(&gdir.join("model")),
            "--out".into(),
            Self::path_arg(&synthetic),
        ];
        args.extend(flags(&sample_params));
        let extra_args = if sample_params.contains_key("threads") {
            vec![]
        } else {
            self.threads_for_job()
        };
        let sample = Step {
            id: format!("sample/{}/{group}", variant.name),
            stage: "sample",
            args,
            extra_args,
            outputs: vec![
                synthetic.join(format!("{group}.parquet")),
                synthetic.join(format!("{group}.vcf.gz")),
            ],
            params: sample_params,
        };
        let mut chain = vec![sketch, train, sample];
        if let Some(attack) = self.attack_step(variant, group) {
            chain.insert(1, attack);
        }
        Ok(chain)
    }

    /// gmmn-sketch-attack on one group's feature sketch (evaluate.sketch-attack): the training
    /// part is the members, the held-out part the reference and the non-members.
    fn attack_step(&self, variant: &crate::spec::Variant, group: &str) -> Option<Step> {
        let patterns = variant.sketch.get("features").and_then(Value::as_str) == Some("patterns");
        if !self.spec.sketch_attack || patterns || self.spec.holdout <= 0.0 {
            return None;
        }
        let gdir = self.dir().join(&variant.name).join(group);
        let groups = self.dir().join("groups");
        let out = gdir.join("attack");
        let params = self.with_seed(Params::new());
        let mut args = vec![
            Self::path_arg(&gdir.join("sketch")),
            "--members".into(),
            Self::path_arg(&groups.join(format!("{group}.parquet"))),
            "--heldout".into(),
            Self::path_arg(&groups.join(format!("{group}.heldout.parquet"))),
            "--out".into(),
            Self::path_arg(&out),
        ];
        args.extend(flags(&params));
        Some(Step {
            id: format!("sketch-attack/{}/{group}", variant.name),
            stage: "sketch-attack",
            args,
            extra_args: self.threads_for_job(),
            outputs: vec![out.join("attack.json")],
            params,
        })
    }

    /// `gmmn-<stage> INPUT --out DIR [params]` writing DIR/<output>, with --threads for the
    /// job unless the spec sets it (sketch and train of one variant and group).
    fn group_step(
        &self,
        id: String,
        stage: &'static str,
        input: &Path,
        out: &Path,
        params: Params,
        output: &str,
    ) -> Step {
        let params = self.with_seed(params);
        let mut args = vec![Self::path_arg(input), "--out".into(), Self::path_arg(out)];
        args.extend(flags(&params));
        let extra_args = if params.contains_key("threads") {
            vec![]
        } else {
            self.threads_for_job()
        };
        Step {
            id,
            stage,
            args,
            extra_args,
            outputs: vec![out.join(output)],
            params,
        }
    }

    /// gmmn-reference on the training part of every group: the reference's own chain.
    fn reference_step(&self, reference: &Reference, groups: &[String]) -> Step {
        let out = reference_dir(self.dir(), &reference.name).join("synthetic");
        let params = self.with_seed(reference.params.clone());
        let mut args = vec![
            Self::path_arg(&self.dir().join("groups")),
            "--out".into(),
            Self::path_arg(&out),
        ];
        args.extend(flags(&params));
        let extra_args = if params.contains_key("threads") {
            vec![]
        } else {
            self.threads_for_job()
        };
        Step {
            id: format!("reference/{}", reference.name),
            stage: "reference",
            args,
            extra_args,
            outputs: groups
                .iter()
                .flat_map(|g| {
                    [
                        out.join(format!("{g}.parquet")),
                        out.join(format!("{g}.vcf.gz")),
                    ]
                })
                .collect(),
            params,
        }
    }

    /// `--real DIR/groups [--heldout DIR/groups] [--synthetic S] --groups G --out OUT`: with a
    /// hold-out, gmmn-discriminate reads the training part as --real and the held-out part of
    /// the same directory as --heldout (gmmn-project only the training part).
    fn evaluation_args(
        &self,
        synthetic: Option<&Path>,
        heldout: bool,
        groups: &[String],
        out: &Path,
    ) -> Vec<String> {
        let real = Self::path_arg(&self.dir().join("groups"));
        let mut args = vec!["--real".into(), real.clone()];
        if heldout && self.spec.holdout > 0.0 {
            args.extend(["--heldout".into(), real]);
        }
        if let Some(s) = synthetic {
            args.extend(["--synthetic".into(), Self::path_arg(s)]);
        }
        args.extend([
            "--groups".into(),
            groups.join(","),
            "--out".into(),
            Self::path_arg(out),
        ]);
        args
    }

    fn baseline_step(&self, groups: &[String]) -> Step {
        let out = self.dir().join("baselines");
        let params = self.with_seed(self.spec.stage("discriminate"));
        let mut args = self.evaluation_args(None, true, groups, &out);
        args.extend(["--baseline".into(), self.spec.baselines.join(",")]);
        args.extend(flags(&params));
        Step {
            id: "baselines".into(),
            stage: "discriminate",
            args,
            extra_args: vec![],
            outputs: discriminate_outputs(&out, &self.spec.baselines, false),
            params,
        }
    }

    fn project_step(&self, variant: &str, groups: &[String]) -> Step {
        let vdir = self.dir().join(variant);
        let out = vdir.join("projection");
        let params = self.with_seed(self.spec.stage("project"));
        let mut args = self.evaluation_args(Some(&vdir.join("synthetic")), false, groups, &out);
        args.extend(flags(&params));
        Step {
            id: format!("project/{variant}"),
            stage: "project",
            args,
            extra_args: vec![],
            outputs: vec![out.join("coordinates.parquet")],
            params,
        }
    }

    /// gmmn-discriminate of `base`/synthetic into `base`/report (`base`/report-paper under the
    /// paper's protocol); `what` names the step (`discriminate/<what>`).
    fn discriminate_step(&self, what: &str, base: &Path, groups: &[String], paper: bool) -> Step {
        let (out, id) = if paper {
            (
                base.join("report-paper"),
                format!("discriminate-paper/{what}"),
            )
        } else {
            (base.join("report"), format!("discriminate/{what}"))
        };
        let params = self.with_seed(self.spec.stage("discriminate"));
        let mut args = self.evaluation_args(Some(&base.join("synthetic")), true, groups, &out);
        if paper {
            args.extend(["--protocol".into(), "paper".into()]);
        }
        args.extend(flags(&params));
        Step {
            id,
            stage: "discriminate",
            args,
            extra_args: vec![],
            // With a hold-out the synthetic comparison has privacy figures, and their figure.
            outputs: discriminate_outputs(
                &out,
                &["synthetic".to_string()],
                self.spec.holdout > 0.0,
            ),
            params,
        }
    }

    /// Run chains of steps, up to `jobs` chains at once, each chain's steps in order. The first
    /// failure stops new steps from starting; running ones finish.
    fn run_chains(&self, chains: Vec<Vec<Step>>) -> Result<(), RunError> {
        let queue = Mutex::new(chains.into_iter().collect::<VecDeque<_>>());
        let errors: Mutex<Vec<RunError>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..self.opts.jobs {
                scope.spawn(|| loop {
                    if self.failed.load(Ordering::SeqCst) {
                        return;
                    }
                    let Some(chain) = queue.lock().expect("queue").pop_front() else {
                        return;
                    };
                    for step in chain {
                        if self.failed.load(Ordering::SeqCst) {
                            return;
                        }
                        if let Err(e) = self.run_step(&step) {
                            self.failed.store(true, Ordering::SeqCst);
                            errors.lock().expect("errors").push(e);
                            return;
                        }
                    }
                });
            }
        });
        match errors.into_inner().expect("errors").into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn stamp_path(&self, step: &Step) -> PathBuf {
        self.dir()
            .join(".gmmn")
            .join(format!("{}.json", step.id.replace('/', "__")))
    }

    fn program(&self, step: &Step) -> String {
        format!("gmmn-{}", step.stage)
    }

    fn forced(&self, step: &Step) -> bool {
        self.opts
            .from
            .as_deref()
            .is_some_and(|from| reruns_from(from, step.stage))
    }

    fn run_step(&self, step: &Step) -> Result<(), RunError> {
        if !self.forced(step) {
            if let Some(stamp) = self.up_to_date(step) {
                self.timings
                    .lock()
                    .expect("timings")
                    .insert(step.id.clone(), stamp.seconds);
                self.skipped.fetch_add(1, Ordering::SeqCst);
                self.say(format!("  up to date  {}", step.id));
                self.progress.inc(1);
                return Ok(());
            }
        }
        let program = self.opts.bin.join(self.program(step));
        let log_path = self
            .dir()
            .join("logs")
            .join(format!("{}.log", step.id.replace('/', "__")));
        let log = std::fs::File::create(&log_path).map_err(io(&log_path))?;
        let log_err = log.try_clone().map_err(io(&log_path))?;
        self.progress.set_message(step.id.clone());
        let start = Instant::now();
        let status = Command::new(&program)
            .args(&step.args)
            .args(&step.extra_args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .status()
            .map_err(io(&program))?;
        let seconds = start.elapsed().as_secs_f64();
        if !status.success() {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..]
                .iter()
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(RunError::StepFailed {
                step: step.id.clone(),
                status: status.to_string(),
                log: log_path,
                command: std::iter::once(program.to_string_lossy().into_owned())
                    .chain(step.args.iter().cloned())
                    .chain(step.extra_args.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" "),
                tail,
            });
        }
        // Outputs changed: forget their old hashes (later steps read them as inputs).
        {
            let mut hashes = self.hashes.lock().expect("hashes");
            for o in &step.outputs {
                hashes.remove(o);
            }
        }
        let stamp = Stamp {
            program: self.program(step),
            args: step.args.clone(),
            seconds,
        };
        let stamp_path = self.stamp_path(step);
        let tmp = stamp_path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&stamp).expect("stamp serialises"),
        )
        .and_then(|_| std::fs::rename(&tmp, &stamp_path))
        .map_err(io(&stamp_path))?;
        self.timings
            .lock()
            .expect("timings")
            .insert(step.id.clone(), seconds);
        self.ran.fetch_add(1, Ordering::SeqCst);
        self.say(format!("  ran {seconds:>7.1} s  {}", step.id));
        self.progress.inc(1);
        Ok(())
    }

    /// A line about a step: above the progress bar on a terminal, else plainly on stderr.
    fn say(&self, line: String) {
        if self.progress.is_hidden() {
            eprintln!("{line}");
        } else {
            self.progress.println(line);
        }
    }

    fn hash(&self, path: &Path) -> Option<String> {
        if let Some(h) = self.hashes.lock().expect("hashes").get(path) {
            return Some(h.clone());
        }
        let h = sha256_file(path).ok()?;
        self.hashes
            .lock()
            .expect("hashes")
            .insert(path.to_path_buf(), h.clone());
        Some(h)
    }

    /// The step's stamp when its outputs are up to date (see the module docs), else None.
    fn up_to_date(&self, step: &Step) -> Option<Stamp> {
        let stamp: Stamp =
            serde_json::from_slice(&std::fs::read(self.stamp_path(step)).ok()?).ok()?;
        if stamp.program != self.program(step) || stamp.args != step.args {
            return None;
        }
        for output in &step.outputs {
            // One read of the manifest serves the schema check and the parse.
            let path = artifact::manifest_path(output);
            let text = std::fs::read_to_string(&path).ok()?;
            if !crate::audit::manifest_conforms(&text) {
                return None;
            }
            let manifest = Manifest::from_yaml(&text, &path).ok()?;
            if self.hash(output)? != manifest.sha256 {
                return None;
            }
            let dir = output.parent().unwrap_or(Path::new("."));
            for input in &manifest.inputs {
                if self.hash(&input.resolve(dir))? != input.sha256 {
                    return None;
                }
            }
            for (key, want) in &step.params {
                // Threads do not change results; `device: auto` is recorded as what it chose.
                if key == "threads" || (key == "device" && want == "auto") {
                    continue;
                }
                if let Some(have) = manifest.params.get(&key.replace('-', "_")) {
                    if !same_value(have, want) {
                        return None;
                    }
                }
            }
        }
        Some(stamp)
    }
}

/// Whether `--from FROM` reruns a step of `stage`. The references hang off the split beside
/// sketch -> train -> sample: `--from sketch` leaves them, `--from reference` reruns them and the
/// evaluation only.
pub fn reruns_from(from: &str, stage: &str) -> bool {
    let index = |s: &str| {
        FROM_STAGES
            .iter()
            .position(|x| *x == s)
            .unwrap_or(usize::MAX)
    };
    let evaluation = matches!(stage, "project" | "discriminate");
    match (from, stage) {
        (f, s) if f == s => true,
        // The sketch attack reads the split and the sketch.
        (f, "sketch-attack") => index(f) <= index("sketch"),
        (f, "reference") => index(f) <= index("split"),
        ("reference", _) => evaluation,
        (f, s) => index(s) >= index(f),
    }
}

/// The protocols each variant and reference is judged under: strict (false), and the paper's
/// (true) when the spec asks for it.
fn protocols(spec: &Spec) -> Vec<bool> {
    if spec.paper_protocol {
        vec![false, true]
    } else {
        vec![false]
    }
}

/// DIR/references/<name>: a reference simulator's synthetic data and reports.
pub fn reference_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("references").join(name)
}

/// The diagnostics' figures gmmn-discriminate writes per comparison, `<comparison>.<figure>.png`
/// and `.svg` (as `discriminate::diagnostics::FIGURES`).
pub const DISCRIMINATE_FIGURES: [&str; 4] = [
    "minor_alleles",
    "ld_decay",
    "nn_distances",
    "allele_frequencies",
];

/// The figure of a comparison with privacy figures (a synthetic one judged against held-out
/// real haplotypes): the distances to the closest training record, `<comparison>.dcr.{png,svg}`.
pub const PRIVACY_FIGURES: [&str; 1] = ["dcr"];

/// What gmmn-discriminate writes into `out` for `comparisons` (`synthetic`, or the baselines):
/// the report and each comparison's figures (with `privacy`, the privacy figures too).
fn discriminate_outputs(out: &Path, comparisons: &[String], privacy: bool) -> Vec<PathBuf> {
    let mut files = vec![out.join("report.json"), out.join("report.md")];
    let extra: &[&str] = if privacy { &PRIVACY_FIGURES } else { &[] };
    for c in comparisons {
        for f in DISCRIMINATE_FIGURES.iter().chain(extra) {
            for ext in ["png", "svg"] {
                files.push(out.join(format!("{c}.{f}.{ext}")));
            }
        }
    }
    files
}

/// The groups gmmn-split wrote into `DIR/groups`, from its manifests (every group file records
/// them all); None before the split has run.
pub fn split_groups(dir: &Path) -> Option<Vec<String>> {
    let entries = std::fs::read_dir(dir.join("groups")).ok()?;
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.ends_with(".parquet") && !n.ends_with(".variants.parquet")
        })
        .collect();
    names.sort();
    let manifest = Manifest::read_for(names.first()?).ok()?;
    let groups: Vec<String> = manifest
        .params
        .get("groups")?
        .as_array()?
        .iter()
        .filter_map(|g| g.as_str().map(String::from))
        .collect();
    (!groups.is_empty()).then_some(groups)
}

/// Step durations recorded in `DIR/.gmmn/` by earlier `gmmn run`s (for `gmmn table` on a run
/// directory; empty when the stages ran under another workflow manager).
pub fn recorded_timings(dir: &Path) -> Timings {
    let mut timings = Timings::new();
    let Ok(entries) = std::fs::read_dir(dir.join(".gmmn")) else {
        return timings;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        if let Some(stamp) = std::fs::read(e.path())
            .ok()
            .and_then(|b| serde_json::from_slice::<Stamp>(&b).ok())
        {
            timings.insert(id.replace("__", "/"), stamp.seconds);
        }
    }
    timings
}

/// Equal as parameters: numbers by value (1e-3 and 0.001), lists as comma-joined text.
fn same_value(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::String(b)) | (Value::String(b), Value::Array(a)) => {
            a.iter().map(scalar).collect::<Vec<_>>().join(",") == *b
        }
        _ => have == want,
    }
}

/// The haplotype count recorded in a group file's manifest.
fn group_haplotypes(group_file: &Path) -> Result<u64, RunError> {
    let manifest = Manifest::read_for(group_file)?;
    manifest
        .counts
        .get("haplotypes")
        .copied()
        .ok_or_else(|| RunError::Invalid {
            path: artifact::manifest_path(group_file),
            message: "no counts.haplotypes".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_lock_is_exclusive_and_never_stuck() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join(".gmmn")).unwrap();
        // A lock file left by a run that is gone (killed: its flock went with it) is taken over.
        std::fs::write(dir.join(RUN_LOCK), "pid 1, started long ago\n").unwrap();
        let first = lock_run_dir(dir).unwrap();
        let text = std::fs::read_to_string(dir.join(RUN_LOCK)).unwrap();
        assert!(
            text.starts_with(&format!("pid {}, started ", std::process::id())),
            "{text}"
        );
        // While it is held, another open of the lock (as another process's) is refused, naming
        // the holder.
        match lock_run_dir(dir) {
            Err(RunError::Locked { holder, .. }) => {
                assert!(
                    holder.starts_with(&format!("pid {}", std::process::id())),
                    "{holder}"
                )
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        lock_run_dir(dir).unwrap();
    }

    #[test]
    fn from_reruns_the_stage_and_what_depends_on_it() {
        // The chain after a stage, and the evaluation.
        assert!(reruns_from("train", "train") && reruns_from("train", "sample"));
        assert!(reruns_from("train", "discriminate") && !reruns_from("train", "sketch"));
        // The references read only the split: earlier stages rerun them, the chain's do not.
        assert!(reruns_from("ingest", "reference") && reruns_from("split", "reference"));
        assert!(!reruns_from("sketch", "reference") && !reruns_from("sample", "reference"));
        assert!(!reruns_from("discriminate", "reference"));
        // --from reference: the references and the evaluation, not the variants' chains.
        assert!(reruns_from("reference", "reference") && reruns_from("reference", "discriminate"));
        assert!(reruns_from("reference", "project"));
        assert!(!reruns_from("reference", "sketch") && !reruns_from("reference", "sample"));
    }

    #[test]
    fn parameters_compare_by_value() {
        assert!(same_value(&Value::from(0.001), &Value::from(1e-3)));
        assert!(same_value(&Value::from(10), &Value::from(10.0)));
        assert!(!same_value(&Value::from(10), &Value::from(11)));
        let list = serde_json::json!(["pca", "isomap"]);
        assert!(same_value(&list, &serde_json::json!(["pca", "isomap"])));
        assert!(same_value(&list, &Value::from("pca,isomap")));
        assert!(!same_value(&list, &serde_json::json!(["pca"])));
        assert!(same_value(&Value::from("relu"), &Value::from("relu")));
    }
}
