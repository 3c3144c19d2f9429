//! `gmmn-sketch-attack SKETCH --members G.parquet --heldout G.heldout.parquet --out DIR`: a thin
//! layer over [`sketch::attack::attack`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Membership attack on a released sketch: score each candidate individual by how far the
/// sketch leans towards it from a reference sketch of public people of the same population
/// (half of --heldout), and report the AUC of the sketch's members (--members) against the
/// other half of --heldout (0.5: the sketch gives nothing away)
#[derive(Debug, Parser)]
#[command(name = "gmmn-sketch-attack", version)]
struct Cli {
    /// The sketch directory (or its sketch.npy), as written by gmmn-sketch
    sketch: PathBuf,
    /// The group's Parquet the sketch was computed from (the members)
    #[arg(long)]
    members: PathBuf,
    /// Individuals of the same group not in the sketch (gmmn-split's GROUP.heldout.parquet)
    #[arg(long)]
    heldout: PathBuf,
    /// Output directory (attack.json and its manifest)
    #[arg(long)]
    out: PathBuf,
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
        eprintln!("gmmn-sketch-attack: error: {e}");
        return ExitCode::FAILURE;
    }
    match sketch::attack::attack(
        &cli.sketch,
        &cli.members,
        &cli.heldout,
        &cli.out,
        cli.seed.seed,
    ) {
        Ok(r) => {
            println!(
                "sketch membership attack on {}: AUC {:.3} ({} members against {} non-members, \
                 reference {}){}",
                r.group,
                r.auc,
                r.members,
                r.non_members,
                r.reference,
                r.epsilon
                    .map(|e| format!("; the sketch is {e}-DP"))
                    .unwrap_or_else(|| "; the sketch is exact".into())
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmmn-sketch-attack: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
