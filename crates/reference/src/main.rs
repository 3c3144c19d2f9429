//! `gmmn-reference TRAINING --method independent|mosaic|hmm --out DIR`: a thin layer over
//! [`reference::simulate`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use reference::{Method, ReferenceOptions};

/// Reference simulators (not private: uses the real haplotypes), written per group exactly as
/// gmmn-sample writes a synthetic group (DIR/<G>.parquet, <G>.variants.parquet, <G>.vcf.gz,
/// <G>.panel.tsv, each with a manifest), to be judged beside a generator with gmmn-discriminate.
///
/// NOT PRIVATE: these simulators read the real training haplotypes (the mosaic copies segments
/// of them); their manifests say `private: false`. They are yardsticks, not data to publish.
///
/// Methods: independent (each SNP drawn independently at the group's training allele frequency);
/// mosaic (segments of geometric length, mean --segment SNPs, copied from uniformly drawn
/// training haplotypes, alleles flipped with probability --flip); hmm (a fastPHASE-style
/// haplotype HMM with --clusters clusters fitted by --iterations EM iterations, then sampled);
/// markov (each allele drawn given up to --order alleles before it, at the frequency with which
/// the training haplotypes sharing that context, at least --min-count of them, continue it,
/// smoothed toward shorter contexts with weight --pseudocount).
/// Each group is simulated on its own, seeded from --seed and the group's index.
#[derive(Debug, Parser)]
#[command(name = "gmmn-reference", version)]
struct Cli {
    /// Training haplotypes: a group genotype Parquet of gmmn-split, or a directory of them
    /// (its *.heldout.parquet are skipped)
    training: PathBuf,
    /// independent, mosaic, hmm or markov
    #[arg(long)]
    method: Method,
    /// Output directory
    #[arg(long)]
    out: PathBuf,
    /// mosaic: mean segment length in SNPs (>= 1) [default: 400]
    #[arg(long)]
    segment: Option<f64>,
    /// mosaic: probability of flipping each allele, in [0, 1) [default: 0]
    #[arg(long)]
    flip: Option<f64>,
    /// hmm: number of clusters K [default: 20]
    #[arg(long)]
    clusters: Option<usize>,
    /// hmm: EM iterations [default: 20]
    #[arg(long)]
    iterations: Option<usize>,
    /// hmm: emission probabilities clipped to [clip, 1 - clip] [default: 0.001]
    #[arg(long)]
    clip: Option<f64>,
    /// markov: longest context in SNPs [default: 100]
    #[arg(long)]
    order: Option<usize>,
    /// markov: contexts shared by fewer training haplotypes are not used [default: 2]
    #[arg(long)]
    min_count: Option<usize>,
    /// markov: smoothing weight toward shorter contexts (>= 0) [default: 1]
    #[arg(long)]
    pseudocount: Option<f64>,
    /// Haplotypes per group [default: the group's training haplotype count]
    #[arg(long)]
    n: Option<usize>,
    #[command(flatten)]
    seed: artifact::cli::SeedArg,
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
        eprintln!("gmmn-reference: error: {e}");
        return ExitCode::FAILURE;
    }
    let opts = ReferenceOptions {
        method: cli.method,
        segment: cli.segment,
        flip: cli.flip,
        clusters: cli.clusters,
        iterations: cli.iterations,
        clip: cli.clip,
        order: cli.order,
        min_count: cli.min_count,
        pseudocount: cli.pseudocount,
        n: cli.n,
        seed: cli.seed.seed,
        progress: !cli.quiet,
    };
    match reference::simulate(&cli.training, &cli.out, &opts) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmmn-reference: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
