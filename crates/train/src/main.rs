//! `gmmn-train SKETCH --out MODEL`: a thin layer over [`train::train`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{parser::ValueSource, CommandFactory, FromArgMatches, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use train::generator::OutputLayer;
use train::{DeviceChoice, TrainOptions};

/// Train one group's generator from its sketch alone (never from genotypes): a GMMN from a
/// random-feature sketch, or the Markov chain of a pattern sketch (gmmn-sketch --features
/// patterns).
#[derive(Debug, Parser)]
#[command(name = "gmmn-train", version)]
struct Cli {
    /// gmmn-sketch output directory (or its sketch.npy)
    sketch: PathBuf,
    /// Output directory: model.safetensors, variants.parquet, loss.csv, loss.png (+ manifests)
    #[arg(long)]
    out: PathBuf,
    /// Generator output layer: quantizer (binary, the paper) or sigmoid (the ablation)
    #[arg(long, default_value = "quantizer")]
    output: OutputLayer,
    /// Latent size Z [default: the number of SNPs]
    #[arg(long)]
    latent: Option<i64>,
    /// Hidden layer width H
    #[arg(long, default_value_t = 4096)]
    hidden: i64,
    /// Batch size
    #[arg(long, default_value_t = 512)]
    batch: i64,
    /// Adam learning rate (betas 0.5, 0.999)
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Training steps (one batch each)
    #[arg(long, default_value_t = 10_000)]
    steps: u64,
    /// Move to the next (W, sketch) pair every K steps (0: never restart)
    #[arg(long, default_value_t = 500)]
    restart_every: u64,
    #[command(flatten)]
    seed: artifact::cli::SeedArg,
    /// auto (CUDA when libtorch sees a GPU), cpu or cuda
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Write a resumable checkpoint (OUT/checkpoint/) every N steps (0: never)
    #[arg(long, default_value_t = 500)]
    checkpoint_every: u64,
    /// Fix the SNPs whose frequency in the sketch is exactly 0 or 1 to that allele in the
    /// generator's output (needs allele frequencies in the sketch: gmmn-sketch --identity-block)
    #[arg(long)]
    mask_monomorphic: bool,
    /// Cut the SNPs into K contiguous blocks and make the generator block-diagonal: each block
    /// gets its own Z/K noise coordinates and H/K hidden units, so distant SNPs vary
    /// independently as in real haplotypes (1: the paper's dense generator; K must divide
    /// --latent and --hidden)
    #[arg(long, default_value_t = 1)]
    local_blocks: i64,
    /// Continue from OUT/checkpoint/ (same sketch and settings) instead of starting afresh
    #[arg(long)]
    resume: bool,
    /// Continue from OUT/checkpoint/ when it holds a checkpoint of this sketch and these
    /// settings, else start afresh (what `gmmn run` passes, so that a killed run resumes)
    #[arg(long, conflicts_with = "resume")]
    resume_if_checkpoint: bool,
    /// Stop after this step as if killed, leaving a checkpoint (for demonstrating --resume)
    #[arg(long, hide = true)]
    stop_after: Option<u64>,
    /// Pattern sketch: contexts matched by fewer sketched haplotypes are not used [default: the
    /// sketch's min-count]
    #[arg(long)]
    min_count: Option<usize>,
    /// Pattern sketch: smoothing weight toward shorter contexts
    #[arg(long, default_value_t = chain::DEFAULT_PSEUDOCOUNT)]
    pseudocount: f64,
    #[command(flatten)]
    threads: artifact::cli::ThreadsArg,
    /// Only errors on stderr
    #[arg(long, short)]
    quiet: bool,
}

/// Flags of the GMMN trainer, refused for a pattern sketch; and the chain's, refused for a GMMN.
const GMMN_FLAGS: [&str; 13] = [
    "output",
    "latent",
    "hidden",
    "batch",
    "lr",
    "steps",
    "restart_every",
    "device",
    "checkpoint_every",
    "mask_monomorphic",
    "local_blocks",
    "resume",
    "stop_after",
];
const CHAIN_FLAGS: [&str; 2] = ["min_count", "pseudocount"];

fn given(matches: &clap::ArgMatches, ids: &[&str]) -> Vec<String> {
    ids.iter()
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect()
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    artifact::init_logging(cli.quiet);
    let patterns = match train::chain_model::is_pattern_sketch(&cli.sketch) {
        Ok(p) => p,
        Err(e) => return finish::<train::TrainSummary>(Err(e)),
    };
    let (wrong, kind) = if patterns {
        (
            given(&matches, &GMMN_FLAGS),
            "a pattern sketch (the Markov chain)",
        )
    } else {
        (
            given(&matches, &CHAIN_FLAGS),
            "a random-feature sketch (the GMMN)",
        )
    };
    if !wrong.is_empty() {
        eprintln!(
            "gmmn-train: error: {} is {kind}, which does not take {}",
            cli.sketch.display(),
            wrong.join(", ")
        );
        return ExitCode::FAILURE;
    }
    if patterns {
        let opts = train::chain_model::ChainTrainOptions {
            min_count: cli.min_count,
            pseudocount: cli.pseudocount,
        };
        return finish(train::chain_model::train_chain(
            &cli.sketch,
            &cli.out,
            &opts,
        ));
    }
    // libtorch's intra-op pool is the trainer's worker pool.
    if let Some(t) = cli.threads.threads {
        tch::set_num_threads(t.clamp(1, i32::MAX as usize) as i32);
    }
    let opts = TrainOptions {
        output: cli.output,
        latent: cli.latent,
        hidden: cli.hidden,
        batch: cli.batch,
        lr: cli.lr,
        steps: cli.steps,
        restart_every: cli.restart_every,
        seed: cli.seed.seed,
        device: cli.device,
        checkpoint_every: cli.checkpoint_every,
        resume: cli.resume,
        resume_if_checkpoint: cli.resume_if_checkpoint,
        stop_after: cli.stop_after,
        mask_monomorphic: cli.mask_monomorphic,
        local_blocks: cli.local_blocks,
        ..TrainOptions::default()
    };
    let bar = if cli.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(cli.steps);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} step {pos}/{len} {bar:25} {per_sec} ETA {eta} {msg}",
            )
            .expect("valid template"),
        );
        b
    };
    let mut progress = |r: train::StepReport| {
        bar.set_position(r.step);
        bar.set_message(format!("loss {:.4e} restart {}", r.loss, r.restart));
    };
    let result = train::train(&cli.sketch, &cli.out, &opts, &mut progress);
    bar.finish_and_clear();
    finish(result)
}

/// The summary on stdout, or the error on stderr, and the exit code.
fn finish<T: std::fmt::Display>(result: Result<T, train::TrainError>) -> ExitCode {
    match result {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmmn-train: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
