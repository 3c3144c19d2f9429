//! `gmmn run SPEC --out DIR` and `gmmn audit DIR`: thin clap layer over the workflow library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "gmmn", version, about = "Run gmmn-sim workflow specs and audit their artifacts")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a spec against its schema and print the plan, running nothing
    Check {
        /// Workflow spec (YAML)
        spec: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    artifact::init_logging(false);
    let result = match cli.command {
        Command::Check { spec } => check(spec),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(spec: PathBuf) -> anyhow::Result<ExitCode> {
    let spec = workflow::spec::Spec::load(&spec)?;
    println!(
        "{}: valid; {} variant(s): {}",
        spec.path.display(),
        spec.variants.len(),
        spec.variants
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
