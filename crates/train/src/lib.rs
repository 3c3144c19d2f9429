//! The trainer: a GMMN generator learnt from a sketch alone.
//!
//! Loss = mean((mean_b phi_r(G(z_b)) - mu_r)^2) where (W_r, mu_r) is the current restart's pair
//! (plus weight * the same for each extra block of the sketch, [`features::Objective`]):
//! the trainer moves to the next sketch row every `restart_every` steps and regenerates W_r from
//! its seed. Adam is written out here (rather than `tch::nn::Optimizer`) so that its moments
//! are saved in checkpoints and a resumed run continues exactly where it stopped. Noise for step
//! s is drawn after seeding libtorch with a seed derived from (seed, s), so a resumed run draws
//! the same noise as an uninterrupted one.

pub mod chain_model;
pub mod features;
pub mod generator;
pub mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use artifact::features::FeatureMap;
use artifact::{ArtifactError, ArtifactKind, Manifest, OutputSet, Producer, Sketch, SketchInfo};
use tch::{Device, Kind, Tensor};

use features::Objective;
use generator::{Generator, OutputLayer, OutputMask, Shape, PARAMETERS};
pub use model::{load_model, ModelInfo, MODEL_FILE, VARIANTS_FILE};

pub const LOSS_FILE: &str = "loss.csv";
pub const LOSS_PLOT: &str = "loss.png";
pub const CHECKPOINT_DIR: &str = "checkpoint";
pub const CHECKPOINT_FILE: &str = "state.safetensors";
pub const SKETCH_FILE: &str = "sketch.npy";

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error("training diverged at step {step}: loss {loss} ({reason}). {kept} Lower --lr, or resume with --resume.")]
    Diverged {
        step: u64,
        loss: f64,
        reason: String,
        kept: String,
    },
    #[error(
        "stopped after step {0} (--stop-after); the checkpoint holds the state to resume from"
    )]
    Stopped(u64),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda,
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda),
            o => Err(format!("unknown device `{o}` (expected auto, cpu or cuda)")),
        }
    }
}

impl DeviceChoice {
    pub fn resolve(self) -> Result<Device, TrainError> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto => Ok(Device::cuda_if_available()),
            DeviceChoice::Cuda if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
            DeviceChoice::Cuda => Err(TrainError::Usage(
                "--device cuda: libtorch sees no CUDA device on this machine (use --device cpu or auto)".into(),
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub output: OutputLayer,
    /// None: Z = M (the paper).
    pub latent: Option<i64>,
    pub hidden: i64,
    pub batch: i64,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub steps: u64,
    pub restart_every: u64,
    pub seed: u64,
    pub device: DeviceChoice,
    /// Write a checkpoint every this many steps (0: never).
    pub checkpoint_every: u64,
    pub resume: bool,
    /// Resume when OUT/checkpoint holds a checkpoint these options can resume, else start at
    /// step 0 (a killed `gmmn run` picks up where its training stopped).
    pub resume_if_checkpoint: bool,
    /// Stop (as if killed) after this step, leaving only the checkpoint. For tests and demos.
    pub stop_after: Option<u64>,
    /// A loss above this multiple of the first step's loss counts as exploding.
    pub explode_factor: f64,
    /// Fix the SNPs that are monomorphic in the sketch's allele frequencies to their allele.
    pub mask_monomorphic: bool,
    /// Block-diagonal generator with this many contiguous SNP blocks (1: the paper's dense one).
    pub local_blocks: i64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            output: OutputLayer::Quantizer,
            latent: None,
            hidden: 4096,
            batch: 512,
            lr: 1e-4,
            beta1: 0.5,
            beta2: 0.999,
            steps: 10_000,
            restart_every: 500,
            seed: 0,
            device: DeviceChoice::Auto,
            checkpoint_every: 500,
            resume: false,
            resume_if_checkpoint: false,
            stop_after: None,
            explode_factor: 1e4,
            mask_monomorphic: false,
            local_blocks: 1,
        }
    }
}

/// One progress report per step.
#[derive(Debug, Clone, Copy)]
pub struct StepReport {
    pub step: u64,
    pub steps: u64,
    pub loss: f64,
    pub restart: u64,
}

#[derive(Debug)]
pub struct TrainSummary {
    pub group: String,
    pub steps: u64,
    pub resumed_from: u64,
    pub first_loss: f64,
    pub final_loss: f64,
    pub seconds: f64,
    pub device: String,
    pub model: PathBuf,
}

impl std::fmt::Display for TrainSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let run = self.steps - self.resumed_from;
        writeln!(
            f,
            "trained {} for {} steps{} on {} in {:.1} s ({:.3} s/step); loss {:.4e} -> {:.4e}; model {}",
            self.group,
            self.steps,
            if self.resumed_from > 0 { format!(" (resumed at {})", self.resumed_from) } else { String::new() },
            self.device,
            self.seconds,
            if run > 0 { self.seconds / run as f64 } else { 0.0 },
            self.first_loss,
            self.final_loss,
            self.model.display()
        )
    }
}

/// A sketch file, or a gmmn-sketch output directory.
pub fn resolve_sketch(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.join(SKETCH_FILE)
    } else {
        input.to_path_buf()
    }
}

/// Read and verify a sketch and its manifest. The trainer reads nothing else.
pub fn read_sketch(input: &Path) -> Result<(Sketch, SketchInfo, Manifest, PathBuf), TrainError> {
    let path = resolve_sketch(input);
    let manifest = artifact::open_artifact(&path, ArtifactKind::Sketch)?;
    let sketch = Sketch::read_npy(&path)?;
    let info = SketchInfo::from_manifest(&manifest, &path, &sketch)?;
    Ok((sketch, info, manifest, path))
}

/// Adam with PyTorch's update rule; moments live beside the parameters.
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    m: BTreeMap<String, Tensor>,
    v: BTreeMap<String, Tensor>,
}

impl Adam {
    pub fn new(g: &Generator, lr: f64, beta1: f64, beta2: f64) -> Adam {
        let zeros = |p: &Tensor| p.zeros_like().detach();
        Adam {
            lr,
            beta1,
            beta2,
            eps: 1e-8,
            m: g.params
                .iter()
                .map(|(k, p)| (k.clone(), zeros(p)))
                .collect(),
            v: g.params
                .iter()
                .map(|(k, p)| (k.clone(), zeros(p)))
                .collect(),
        }
    }

    /// One update; `t` counts from 1.
    pub fn step(&mut self, g: &mut Generator, t: u64) {
        let bc1 = 1.0 - self.beta1.powi(t as i32);
        let bc2 = 1.0 - self.beta2.powi(t as i32);
        let hyper = (self.lr, self.beta1, self.beta2, self.eps);
        tch::no_grad(|| {
            for name in PARAMETERS {
                let p = g.params.get_mut(name).expect("parameter");
                let grad = p.grad();
                if !grad.defined() {
                    continue;
                }
                let m = self.m.get_mut(name).expect("moment");
                let v = self.v.get_mut(name).expect("moment");
                if p.device() == Device::Cpu && fused_cpu_update(p, &grad, m, v, hyper, bc1, bc2) {
                    p.zero_grad();
                    continue;
                }
                let _ = m.lerp_(&grad, 1.0 - self.beta1);
                let _ = v.g_mul_scalar_(self.beta2);
                let _ = v.addcmul_(&(&grad * (1.0 - self.beta2)), &grad);
                let denom = v.sqrt() / bc2.sqrt() + self.eps;
                let _ = p.g_sub_(&(&*m / denom * (self.lr / bc1)));
                p.zero_grad();
            }
        });
    }
}

/// Adam's update in one pass over (p, grad, m, v) on the CPU, in parallel chunks. libtorch's
/// tensor ops take ~10 memory passes (and tch exposes no fused Adam); at H x M parameters this
/// was a third of a CPU step's time beyond its GEMMs. Element-wise, so as deterministic as the
/// tensor path. Returns false (and does nothing) unless all four are contiguous f32 on the CPU.
fn fused_cpu_update(
    p: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    (lr, beta1, beta2, eps): (f64, f64, f64, f64),
    bc1: f64,
    bc2: f64,
) -> bool {
    let n = p.numel();
    let ok = |t: &Tensor| {
        t.kind() == Kind::Float && t.device() == Device::Cpu && t.is_contiguous() && t.numel() == n
    };
    if !(ok(p) && ok(grad) && ok(m) && ok(v)) {
        return false;
    }
    // SAFETY: four distinct contiguous f32 CPU buffers of n elements; p, m and v are only
    // written here (under no_grad), grad is only read.
    let (ps, gs, ms, vs) = unsafe {
        (
            std::slice::from_raw_parts_mut(p.data_ptr() as *mut f32, n),
            std::slice::from_raw_parts(grad.data_ptr() as *const f32, n),
            std::slice::from_raw_parts_mut(m.data_ptr() as *mut f32, n),
            std::slice::from_raw_parts_mut(v.data_ptr() as *mut f32, n),
        )
    };
    let (b1, b2) = (beta1 as f32, beta2 as f32);
    let step = (lr / bc1) as f32;
    let inv_sqrt_bc2 = (1.0 / bc2.sqrt()) as f32;
    let eps = eps as f32;
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 14;
    ps.par_chunks_mut(CHUNK)
        .zip(gs.par_chunks(CHUNK))
        .zip(ms.par_chunks_mut(CHUNK))
        .zip(vs.par_chunks_mut(CHUNK))
        .for_each(|(((p, g), m), v)| {
            for i in 0..p.len() {
                let gi = g[i];
                let mi = b1 * m[i] + (1.0 - b1) * gi;
                let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
                m[i] = mi;
                v[i] = vi;
                p[i] -= step * mi / (vi.sqrt() * inv_sqrt_bc2 + eps);
            }
        });
    true
}

/// The loss of one batch of generated haplotypes against sketch row `mu`, with its graph.
pub fn batch_loss(gen: &Generator, objective: &Objective, mu: &Tensor, noise: &Tensor) -> Tensor {
    let fake = gen.forward_train(noise);
    objective.loss(&fake, mu)
}

/// Dense floating-point operations of one training step (multiply-adds count 2): generator
/// forward 2B(ZH + HM), backward 2BZH (dW1) + 4BHM (dW2, dX); features forward 2BMD and backward
/// 2BMD (only d fake; W is fixed). Element-wise work is left out: this is the GEMM floor.
/// `relu` is for a dense W; window features cost 4 B w D (pass `relu` false and add it).
pub fn step_flops(shape: Shape, batch: i64, features: i64, relu: bool) -> f64 {
    let (b, z, h, m, d) = (
        batch as f64,
        shape.latent as f64,
        shape.hidden as f64,
        shape.snps as f64,
        features as f64,
    );
    // A block-diagonal generator does 1/K of the dense products.
    let k = shape.blocks as f64;
    let generator = (2.0 * b * (z * h + h * m) + 2.0 * b * z * h + 4.0 * b * h * m) / k;
    let feats = if relu { 4.0 * b * m * d } else { 0.0 };
    generator + feats
}

/// What must match for a checkpoint to be resumed by these options.
fn resume_key(
    info: &SketchInfo,
    sketch_sha: &str,
    shape: Shape,
    opts: &TrainOptions,
) -> serde_json::Value {
    serde_json::json!({
        "sketch_sha256": sketch_sha,
        "group": info.group,
        "latent": shape.latent,
        "hidden": shape.hidden,
        "snps": shape.snps,
        "local_blocks": shape.blocks,
        "output": opts.output.as_str(),
        "batch": opts.batch,
        "restart_every": opts.restart_every,
        "seed": opts.seed,
    })
}

struct State {
    gen: Generator,
    adam: Adam,
    step: u64,
    losses: Vec<f64>,
}

fn checkpoint_tensors(state: &State) -> Vec<(String, Tensor)> {
    let mut named = state.gen.named_tensors();
    for (k, t) in &state.adam.m {
        named.push((format!("adam.m.{k}"), t.to_device(Device::Cpu).contiguous()));
    }
    for (k, t) in &state.adam.v {
        named.push((format!("adam.v.{k}"), t.to_device(Device::Cpu).contiguous()));
    }
    named.push(("losses".into(), Tensor::from_slice(&state.losses)));
    named
}

fn write_checkpoint(
    dir: &Path,
    state: &State,
    key: &serde_json::Value,
    producer: &Producer,
    (sketch_path, sketch_sha, seed): (&Path, &str, u64),
    lr: f64,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| ArtifactError::io(dir, e))?;
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = model::safetensors_bytes(&checkpoint_tensors(state))?;
    let mut m =
        Manifest::new(ArtifactKind::Checkpoint, producer.clone()).param("resume_key", key.clone());
    m.params.insert("step".into(), state.step.into());
    // Not in the resume key (`--resume` may go on at a lower --lr after a divergence), but
    // `--resume-if-checkpoint` resumes only at the same --lr: then the model is the bytes an
    // uninterrupted run makes.
    m.params.insert("lr".into(), lr.into());
    m.shape = vec![state.step];
    m.seed = Some(seed);
    m.inputs = vec![artifact::FileRef::new(
        "sketch",
        sketch_path,
        sketch_sha.to_string(),
        dir,
    )?];
    let mut out = OutputSet::new();
    out.stage_artifact(&path, m, |w| {
        std::io::Write::write_all(w, &bytes).map_err(|e| ArtifactError::io(&path, e))
    })?;
    out.commit()?;
    Ok(())
}

/// The checkpoint in `dir` when these options can resume it: same sketch and settings (the
/// resume key), the same --mask-monomorphic, and a step before --steps; with the --lr it was
/// written at.
fn resumable(
    dir: &Path,
    key: &serde_json::Value,
    shape: Shape,
    opts: &TrainOptions,
    device: Device,
) -> Result<(State, Option<f64>), TrainError> {
    let (state, lr) = read_checkpoint(dir, key, shape, opts, device)?;
    // A checkpoint carries its mask; the resume key (whose schema is fixed) does not, so check
    // here that a resumed run keeps --mask-monomorphic as it was.
    if state.gen.mask.is_some() != opts.mask_monomorphic {
        return Err(TrainError::Checkpoint {
            path: dir.join(CHECKPOINT_FILE),
            message: format!(
                "was written {} --mask-monomorphic; resume with the same setting",
                if state.gen.mask.is_some() {
                    "with"
                } else {
                    "without"
                }
            ),
        });
    }
    if state.step >= opts.steps {
        return Err(TrainError::Usage(format!(
            "--resume: the checkpoint is at step {}, not before --steps {}",
            state.step, opts.steps
        )));
    }
    Ok((state, lr))
}

fn read_checkpoint(
    dir: &Path,
    key: &serde_json::Value,
    shape: Shape,
    opts: &TrainOptions,
    device: Device,
) -> Result<(State, Option<f64>), TrainError> {
    let path = dir.join(CHECKPOINT_FILE);
    if !path.exists() {
        return Err(TrainError::Usage(format!(
            "--resume: no checkpoint at {} (start without --resume)",
            path.display()
        )));
    }
    let manifest = artifact::open_artifact(&path, ArtifactKind::Checkpoint)?;
    let bad = |message: String| TrainError::Checkpoint {
        path: path.clone(),
        message,
    };
    let found = manifest
        .params
        .get("resume_key")
        .cloned()
        .unwrap_or_default();
    if &found != key {
        return Err(bad(format!(
            "was written by a run with other settings or another sketch; it has {found}, this run has {key}"
        )));
    }
    let named: BTreeMap<String, Tensor> = Tensor::read_safetensors(&path)
        .map_err(|e| bad(e.to_string()))?
        .into_iter()
        .collect();
    let gen = Generator::from_named(shape, opts.output, &named, device).map_err(bad)?;
    let mut adam = Adam::new(&gen, opts.lr, opts.beta1, opts.beta2);
    for name in PARAMETERS {
        for (prefix, store) in [("adam.m.", &mut adam.m), ("adam.v.", &mut adam.v)] {
            let t = named
                .get(&format!("{prefix}{name}"))
                .ok_or_else(|| bad(format!("no {prefix}{name}")))?;
            store.insert(name.to_string(), t.to_device(device).copy());
        }
    }
    let losses: Vec<f64> = named
        .get("losses")
        .map(Vec::<f64>::try_from)
        .transpose()
        .map_err(|e| bad(e.to_string()))?
        .unwrap_or_default();
    let step = manifest
        .params
        .get("step")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| bad("no step".into()))?;
    if losses.len() as u64 != step {
        return Err(bad(format!(
            "{} losses logged for step {step}",
            losses.len()
        )));
    }
    let lr = manifest.params.get("lr").and_then(|v| v.as_f64());
    Ok((
        State {
            gen,
            adam,
            step,
            losses,
        },
        lr,
    ))
}

/// Train on `sketch_input`, writing the model and its logs to `out_dir`.
pub fn train(
    sketch_input: &Path,
    out_dir: &Path,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(StepReport),
) -> Result<TrainSummary, TrainError> {
    for (name, v) in [("--hidden", opts.hidden), ("--batch", opts.batch)] {
        if v < 1 {
            return Err(TrainError::Usage(format!("{name} must be at least 1")));
        }
    }
    if opts.batch < 2 {
        return Err(TrainError::Usage(
            "--batch must be at least 2 (batch norm needs two rows)".into(),
        ));
    }
    if opts.latent.is_some_and(|z| z < 1) {
        return Err(TrainError::Usage("--latent must be at least 1".into()));
    }
    if !(opts.lr > 0.0 && opts.lr.is_finite()) {
        return Err(TrainError::Usage("--lr must be a positive number".into()));
    }
    if opts.steps == 0 {
        return Err(TrainError::Usage("--steps must be at least 1".into()));
    }
    let device = opts.device.resolve()?;
    let (sketch, info, sketch_manifest, sketch_path) = read_sketch(sketch_input)?;
    let mask = if opts.mask_monomorphic {
        let frequencies = info.allele_frequencies(&sketch)?.ok_or_else(|| {
            TrainError::Usage(format!(
                "--mask-monomorphic: {} has no allele frequencies to find monomorphic SNPs in \
                 (sketch it with --identity-block, or with --features identity)",
                sketch_path.display()
            ))
        })?;
        Some(OutputMask::monomorphic(frequencies, device))
    } else {
        None
    };
    let variants_path = sketch_manifest.companion(&sketch_path, "variants")?;
    let variants_manifest = artifact::open_artifact(&variants_path, ArtifactKind::Variants)?;
    let m = info.snps as i64;
    let shape = Shape {
        latent: opts.latent.unwrap_or(m),
        hidden: opts.hidden,
        snps: m,
        blocks: opts.local_blocks,
    };
    shape.check().map_err(TrainError::Usage)?;
    let key = resume_key(&info, &sketch_manifest.sha256, shape, opts);
    let producer = Producer::new("train", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let checkpoint_dir = out_dir.join(CHECKPOINT_DIR);

    let resumed = if opts.resume {
        Some(resumable(&checkpoint_dir, &key, shape, opts, device)?.0)
    } else if opts.resume_if_checkpoint && checkpoint_dir.join(CHECKPOINT_FILE).exists() {
        match resumable(&checkpoint_dir, &key, shape, opts, device) {
            Ok((state, Some(lr))) if lr == opts.lr => Some(state),
            Ok((_, lr)) => {
                tracing::info!(
                    "not resuming, starting at step 0: the checkpoint was written at --lr {lr:?}, \
                     this run has {}",
                    opts.lr
                );
                None
            }
            Err(e) => {
                tracing::info!("not resuming, starting at step 0: {e}");
                None
            }
        }
    } else {
        None
    };
    let resuming = resumed.is_some();
    let mut state = if let Some(state) = resumed {
        state
    } else {
        let gen = Generator::new(
            shape,
            opts.output,
            artifact::rng::derive_seed(opts.seed, u64::MAX),
            device,
        );
        let adam = Adam::new(&gen, opts.lr, opts.beta1, opts.beta2);
        State {
            gen,
            adam,
            step: 0,
            losses: Vec::new(),
        }
    };
    if !resuming {
        state.gen.mask = mask;
    }
    let masked_snps = state.gen.mask.as_ref().map_or(0, |m| m.fixed());
    let resumed_from = state.step;
    let restart_of = |step: u64| {
        if opts.restart_every == 0 {
            0
        } else {
            (step / opts.restart_every) % info.restarts
        }
    };
    let mut current: Option<(u64, Objective, Tensor)> = None;
    let first_loss = state.losses.first().copied();
    let mut last_checkpoint = if resumed_from > 0 {
        Some(resumed_from)
    } else {
        None
    };
    let started = Instant::now();

    while state.step < opts.steps {
        let step = state.step; // 0-based index of the step being taken
        let r = restart_of(step);
        if current.as_ref().map(|c| c.0) != Some(r) {
            let phi = Objective::new(&info, info.restart_seeds[r as usize], device)?;
            let mu = Tensor::from_slice(sketch.row(r as usize)).to_device(device);
            current = Some((r, phi, mu));
        }
        let (_, phi, mu) = current.as_ref().expect("features set");
        tch::manual_seed(artifact::rng::derive_seed(opts.seed, step) as i64 & i64::MAX);
        let noise = Tensor::randn([opts.batch, shape.latent], (Kind::Float, device));
        let loss = batch_loss(&state.gen, phi, mu, &noise);
        let loss_value = loss.double_value(&[]);
        let reference = first_loss
            .or(state.losses.first().copied())
            .unwrap_or(loss_value);
        let reason = if !loss_value.is_finite() {
            Some("not a finite number".to_string())
        } else if reference > 0.0 && loss_value > opts.explode_factor * reference {
            Some(format!(
                "over {} x the first step's {reference:.3e}",
                opts.explode_factor
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            let kept = match last_checkpoint {
                Some(s) => format!(
                    "The last good checkpoint (step {s}) is kept in {}.",
                    checkpoint_dir.display()
                ),
                None => "No checkpoint was written before it.".to_string(),
            };
            return Err(TrainError::Diverged {
                step: step + 1,
                loss: loss_value,
                reason,
                kept,
            });
        }
        loss.backward();
        state.adam.step(&mut state.gen, step + 1);
        state.losses.push(loss_value);
        state.step += 1;
        progress(StepReport {
            step: state.step,
            steps: opts.steps,
            loss: loss_value,
            restart: r,
        });
        let stop_here = opts.stop_after == Some(state.step);
        if opts.checkpoint_every > 0
            && (state.step % opts.checkpoint_every == 0 || stop_here)
            && state.step < opts.steps
        {
            write_checkpoint(
                &checkpoint_dir,
                &state,
                &key,
                &producer,
                (&sketch_path, &sketch_manifest.sha256, opts.seed),
                opts.lr,
            )?;
            last_checkpoint = Some(state.step);
        }
        if stop_here && state.step < opts.steps {
            return Err(TrainError::Stopped(state.step));
        }
    }
    let seconds = started.elapsed().as_secs_f64();

    let model_info = ModelInfo {
        group: info.group.clone(),
        snps: m,
        latent: shape.latent,
        hidden: shape.hidden,
        local_blocks: shape.blocks,
        output: opts.output,
        features: info.features,
        feature_count: info.feature_count,
        restarts: info.restarts,
        restart_every: opts.restart_every,
        batch: opts.batch,
        lr: opts.lr,
        beta1: opts.beta1,
        beta2: opts.beta2,
        steps: opts.steps,
        seed: opts.seed,
        quantizer_k: generator::QUANTIZER_K,
        quantizer_t: generator::QUANTIZER_T,
        checkpoint_every: opts.checkpoint_every,
        resumed_from,
        device: format!("{device:?}").to_lowercase(),
        final_loss: *state.losses.last().expect("at least one step"),
        blocks: info.blocks()?,
        mask_monomorphic: opts.mask_monomorphic,
        masked_snps,
    };
    model::write_model(
        out_dir,
        &state.gen,
        &model_info,
        &state.losses,
        (&sketch_path, &sketch_manifest),
        (&variants_path, &variants_manifest),
        &producer,
        info.features != FeatureMap::Identity && opts.restart_every > 0 && info.restarts > 1,
        restart_of,
    )?;
    // The run is complete: its checkpoint would only mislead a later --resume.
    let _ = std::fs::remove_dir_all(&checkpoint_dir);
    Ok(TrainSummary {
        group: info.group,
        steps: opts.steps,
        resumed_from,
        first_loss: state.losses[0],
        final_loss: model_info.final_loss,
        seconds,
        device: model_info.device,
        model: out_dir.join(MODEL_FILE),
    })
}
