//! `gmmn-sketch GROUP.parquet --out DIR`: a thin layer over [`sketch::sketch`].

use std::path::PathBuf;
use std::process::ExitCode;

use artifact::features::{FeatureMap, WeightInit};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use sketch::SketchOptions;

/// --features: a random-feature map, or pattern counts.
#[derive(Debug, Clone, Copy)]
enum Features {
    Map(FeatureMap),
    Patterns,
}

impl std::str::FromStr for Features {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "patterns" => Ok(Features::Patterns),
            other => other
                .parse()
                .map(Features::Map)
                .map_err(|e: String| format!("{e} or patterns")),
        }
    }
}

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
    /// Feature map phi: identity (allele frequencies), relu (ReLU(W x), W random) or window
    /// (ReLU features of windows of contiguous SNPs, W block-diagonal); or patterns: the counts
    /// of the allele patterns of up to --order + 1 SNPs that at least --min-count haplotypes
    /// share (for gmmn-train's Markov chain)
    #[arg(long, default_value = "relu")]
    features: Features,
    /// Patterns: the longest context, in SNPs (1 to 127)
    #[arg(long, default_value_t = chain::DEFAULT_ORDER)]
    order: usize,
    /// Patterns: every pattern in the sketch is carried by at least this many haplotypes
    #[arg(long, default_value_t = chain::DEFAULT_MIN_COUNT)]
    min_count: usize,
    /// Patterns: ... and by at least this fraction of the group's haplotypes (rounded up)
    #[arg(long, default_value_t = chain::DEFAULT_MIN_FRACTION)]
    min_fraction: f64,
    /// Window features: SNPs per window
    #[arg(long, default_value_t = sketch::DEFAULT_WINDOW)]
    window: usize,
    /// Window features: SNPs between window starts [default: window / 2]; the last window ends
    /// at the last SNP
    #[arg(long)]
    stride: Option<usize>,
    /// Window features: ReLU features per window
    #[arg(long, default_value_t = sketch::DEFAULT_PER_WINDOW)]
    per_window: usize,
    /// Append the allele frequencies to every sketch row (a block the trainer matches too)
    #[arg(long)]
    identity_block: bool,
    /// Loss weight of the --identity-block block
    #[arg(long, default_value_t = 1.0, requires = "identity_block")]
    identity_weight: f64,
    /// Append K smooth features log(1 + ((c - t_k) / sd)^2) of each haplotype's allele count c
    /// (t_k: the group's count quantiles; 0: none), which pin the spread of the number of
    /// alleles per haplotype
    #[arg(long, default_value_t = 0)]
    count_features: usize,
    /// Loss weight of the --count-features block
    #[arg(long, default_value_t = 1.0)]
    count_weight: f64,
    /// D = multiplier x SNPs (relu features)
    #[arg(long, default_value_t = 10)]
    multiplier: usize,
    /// Number of (W, sketch) pairs to precompute for restarts [default: 20 for relu, 1 for identity]
    #[arg(long)]
    restarts: Option<usize>,
    #[command(flatten)]
    seed: artifact::cli::SeedArg,
    /// Distribution of W: gaussian (the paper) or xavier-uniform (the authors' code)
    #[arg(long, default_value = "gaussian")]
    init: WeightInit,
    /// Release a differentially private sketch: (epsilon, delta)-DP per individual for the whole
    /// release (every restart and block, the allele frequencies of variants.parquet and, under
    /// add-remove, the haplotype count); default: exact means, no guarantee
    #[arg(long)]
    dp_epsilon: Option<f64>,
    /// DP: delta, well below 1 / the number of individuals
    #[arg(long, default_value_t = 1e-6, requires = "dp_epsilon")]
    dp_delta: f64,
    /// DP: L2 bound on one individual's feature vector [default: the median norm of data-free
    /// individuals with fair-coin alleles under the same features and seed; never the data's]
    #[arg(long, requires = "dp_epsilon")]
    dp_clip: Option<f64>,
    /// DP: neighbouring data sets differ by one individual added or removed (add-remove: the
    /// haplotype count is private and released noisy) or replaced (replace-one: twice the
    /// sensitivity, the count is public)
    #[arg(long, default_value = "add-remove", requires = "dp_epsilon")]
    dp_relation: artifact::DpRelation,
    /// DP: draw the noise from this seed instead of the operating system's entropy (for tests;
    /// whoever knows the seed can remove the noise, so it is not recorded anywhere)
    #[arg(long, requires = "dp_epsilon")]
    dp_noise_seed: Option<u64>,
    #[command(flatten)]
    threads: artifact::cli::ThreadsArg,
    /// Only errors on stderr
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    artifact::init_logging(cli.quiet);
    if let Err(e) = cli.threads.init_rayon() {
        eprintln!("gmmn-sketch: error: {e}");
        return ExitCode::FAILURE;
    }
    let dp = cli.dp_epsilon.map(|epsilon| sketch::DpOptions {
        epsilon,
        delta: cli.dp_delta,
        clip: cli.dp_clip,
        relation: cli.dp_relation,
        noise_seed: cli.dp_noise_seed,
    });
    let features = match cli.features {
        Features::Patterns if dp.is_some() => {
            eprintln!(
                "gmmn-sketch: error: --dp-epsilon with --features patterns: the pattern sketch \
                 releases the contexts that the group's haplotypes share, chosen from the data; \
                 differential privacy needs a feature map (identity, relu or window)"
            );
            return ExitCode::FAILURE;
        }
        Features::Patterns => {
            let opts = sketch::PatternOptions {
                order: cli.order,
                min_count: cli.min_count,
                min_fraction: cli.min_fraction,
            };
            return finish(sketch::sketch_patterns(&cli.input, &cli.out, &opts));
        }
        Features::Map(map) => map,
    };
    let opts = SketchOptions {
        features,
        multiplier: cli.multiplier,
        restarts: cli.restarts,
        seed: cli.seed.seed,
        init: cli.init,
        window: cli.window,
        stride: cli.stride,
        per_window: cli.per_window,
        identity_block: cli.identity_block.then_some(cli.identity_weight),
        count_features: cli.count_features,
        count_weight: cli.count_weight,
        dp,
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
    finish(result)
}

fn finish(result: Result<sketch::SketchSummary, sketch::SketchError>) -> ExitCode {
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
