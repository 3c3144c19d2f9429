//! `gmmn-sample MODEL --n N --out DIR`: a thin layer over [`sample::sample`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sample::SampleOptions;
use train::DeviceChoice;

/// Write N synthetic haplotypes from a trained GMMN as genotype Parquet, a bgzipped phased VCF
/// (pairs of haplotypes form diploid individuals) and a `sample group` panel.
#[derive(Debug, Parser)]
#[command(name = "gmmn-sample", version)]
struct Cli {
    /// gmmn-train output directory (or its model.safetensors)
    model: PathBuf,
    /// Number of haplotypes to generate
    #[arg(long)]
    n: usize,
    /// Output directory
    #[arg(long)]
    out: PathBuf,
    /// Seed of the generator's noise
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// auto, cpu or cuda
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Prefix of synthetic sample ids [default: SYN_<GROUP>_]
    #[arg(long)]
    prefix: Option<String>,
    /// Only errors on stderr
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    artifact::init_logging(cli.quiet);
    let opts = SampleOptions {
        n: cli.n,
        seed: cli.seed,
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
