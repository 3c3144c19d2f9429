//! `gmmn-split DIR --panel FILE --column COL [--groups A,B] --out DIR2`: a thin layer over
//! [`split::split`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use split::SplitOptions;

/// Split a genotype Parquet (or a gmmn-ingest output directory) into one genotype Parquet per
/// group of a population panel, each with its allele frequencies and manifest.
#[derive(Debug, Parser)]
#[command(name = "gmmn-split", version)]
struct Cli {
    /// gmmn-ingest output directory, or a genotype .parquet
    input: PathBuf,
    /// Tab-separated panel with a header, e.g. `sample pop super_pop`
    #[arg(long)]
    panel: PathBuf,
    #[command(flatten)]
    column: artifact::cli::GroupColumnArg,
    /// Groups to write, comma-separated (default: every label present)
    #[arg(long, value_delimiter = ',')]
    groups: Option<Vec<String>>,
    /// Output directory
    #[arg(long)]
    out: PathBuf,
    /// Leave out samples the panel does not list instead of failing
    #[arg(long)]
    drop_unlabelled: bool,
    /// A requested group with fewer haplotypes is an error
    #[arg(long, default_value_t = 20)]
    min_haplotypes: usize,
    /// Share of each group's individuals to hold out for the evaluation (both haplotypes of a
    /// person on one side): written as <GROUP>.heldout.parquet beside the training part
    /// <GROUP>.parquet, which is what gets sketched; 0 = no hold-out
    #[arg(long, default_value_t = 0.0)]
    holdout_fraction: f64,
    #[command(flatten)]
    seed: artifact::cli::SeedArg,
    /// Only errors on stderr
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    artifact::init_logging(cli.quiet);
    let opts = SplitOptions {
        panel: cli.panel,
        column: cli.column.column,
        groups: cli.groups,
        drop_unlabelled: cli.drop_unlabelled,
        min_haplotypes: cli.min_haplotypes,
        holdout_fraction: cli.holdout_fraction,
        seed: cli.seed.seed,
    };
    match split::split(&cli.input, &cli.out, &opts) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmmn-split: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
