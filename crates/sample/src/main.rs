//! `gmmn-sample MODEL (--individuals N | --n N) --out DIR`: a thin layer over [`sample::sample`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sample::SampleOptions;
use train::DeviceChoice;

/// Write synthetic individuals from a trained model (a GMMN or a pattern sketch's Markov chain)
/// as genotype Parquet, a bgzipped, tabix-indexed phased VCF, a PLINK 1 fileset (A1 = ALT) and a
/// `sample group` panel; haplotypes 2i and 2i+1 form individual i.
#[derive(Debug, Parser)]
#[command(name = "gmmn-sample", version)]
#[command(group(clap::ArgGroup::new("count").required(true).args(["individuals", "n"])))]
struct Cli {
    /// gmmn-train output directory (or its model.safetensors)
    model: PathBuf,
    /// Number of diploid individuals to generate (2 haplotypes each)
    #[arg(long)]
    individuals: Option<usize>,
    /// Number of haplotypes to generate instead (an odd count ends with a haploid individual)
    #[arg(long)]
    n: Option<usize>,
    /// Genotype files to write, comma-separated: parquet, vcf (with its .tbi), plink
    /// (.bed/.bim/.fam); the variants table and the panel are always written
    #[arg(long, default_value = "parquet,vcf,plink")]
    formats: haplotypes::synthetic::Formats,
    /// Output directory
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    seed: artifact::cli::SeedArg,
    /// auto, cpu or cuda
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Prefix of synthetic sample ids [default: SYN_<GROUP>_]
    #[arg(long)]
    prefix: Option<String>,
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
        eprintln!("gmmn-sample: error: {e:#}");
        return ExitCode::FAILURE;
    }
    let n = match (cli.individuals, cli.n) {
        (Some(i), _) => i.saturating_mul(2),
        (None, Some(n)) => n,
        (None, None) => unreachable!("clap requires one of --individuals, --n"),
    };
    let opts = SampleOptions {
        n,
        formats: cli.formats,
        seed: cli.seed.seed,
        device: cli.device,
        prefix: cli.prefix,
    };
    match sample::sample(&cli.model, &cli.out, &opts) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmmn-sample: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
