//! `gmmn-sketch GROUP.parquet --out DIR`: a thin layer over [`sketch::sketch`].

use std::path::PathBuf;
use std::process::ExitCode;

use artifact::features::{FeatureMap, WeightInit};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use sketch::SketchOptions;

/// Compute the random-feature sketches of one group's haplotypes: the mean of phi(x) over the
/// group for each restart's W. The sketch and its manifest are all that gmmn-train reads.
#[derive(Debug, Parser)]
#[command(name = "gmmn-sketch", version)]
struct Cli {
    /// One group's genotype Parquet, as written by gmmn-split (e.g. groups/EUR.parquet)
    input: PathBuf,
    /// Output directory (sketch.npy, variants.parquet, their manifests)
    #[arg(long)]
    out: PathBuf,
    /// Feature map phi: identity (allele frequencies) or relu (ReLU(W x), W random)
    #[arg(long, default_value = "relu")]
    features: FeatureMap,
    /// D = multiplier x SNPs (relu features)
    #[arg(long, default_value_t = 10)]
    multiplier: usize,
    /// Number of (W, sketch) pairs to precompute for restarts [default: 20 for relu, 1 for identity]
    #[arg(long)]
    restarts: Option<usize>,
    /// Seed of every W (restart r uses a seed derived from it)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Distribution of W: gaussian (the paper) or xavier-uniform (the authors' code)
    #[arg(long, default_value = "gaussian")]
    init: WeightInit,
    /// Worker threads (default: all cores)
    #[arg(long)]
    threads: Option<usize>,
    /// Only errors on stderr
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    artifact::init_logging(cli.quiet);
    if let Some(t) = cli.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(t.max(1))
            .build_global();
    }
    let opts = SketchOptions {
        features: cli.features,
        multiplier: cli.multiplier,
        restarts: cli.restarts,
        seed: cli.seed,
        init: cli.init,
    };
    let bar = if cli.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} sketch {bar:30} {pos}/{len} features {elapsed}",
            )
            .expect("valid template"),
        );
        b
    };
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let result = sketch::sketch(&cli.input, &cli.out, &opts, &progress);
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmmn-sketch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
