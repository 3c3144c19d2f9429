//! `gmmn-discriminate --real R [--heldout H] [--synthetic S] [--baseline floor] --out DIR`: a thin
//! layer over [`discriminate::discriminate`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use discriminate::protocol::{Protocol, ProtocolOptions};
use discriminate::{Baseline, DiscriminateOptions};
use haplotypes::InputSpec;

/// Tell synthetic haplotypes from real ones with logistic regression, k-nearest neighbours and a
/// multi-layer perceptron (the paper's protocol), report Delta, allele-frequency and LD
/// correlations, nearest-neighbour adversarial accuracy and exact copies, and diagnostics with
/// figures (minor alleles per haplotype, LD decay, nearest-neighbour distances, allele-frequency
/// error, the logistic model's strongest SNPs); with held-out real haplotypes (--heldout), privacy
/// figures (membership attack, AATS against training and held-out, copies) and the utility of
/// the synthetic data for an ancestry classifier; beside it the noise floor (floor).
///
/// Inputs: genotype Parquet (a file, or a directory of per-group files such as gmmn-split's or
/// gmmn-sample's output) or a VCF with a panel (any simulator's output).
#[derive(Debug, Parser)]
#[command(name = "gmmn-discriminate", version)]
struct Cli {
    /// Real haplotypes: genotype Parquet, directory of group Parquets, or VCF (with --real-panel)
    #[arg(long)]
    real: PathBuf,
    /// Panel of the real samples (tab-separated, header with `sample` and the label column)
    #[arg(long)]
    real_panel: Option<PathBuf>,
    /// Held-out real haplotypes the generator never saw (gmmn-split --holdout-fraction: its
    /// output directory, whose *.heldout.parquet are read, a held-out file, or a VCF with
    /// --heldout-panel). With it the real class of every comparison is the held-out set, --real
    /// is the generator's training haplotypes, the `floor` baseline is training vs held-out, and
    /// each synthetic comparison gets privacy figures (membership attack, AATS train/held-out,
    /// copies) and the ancestry-classifier utility (trained on synthetic, tested on held-out)
    #[arg(long)]
    heldout: Option<PathBuf>,
    /// Panel of the held-out samples (with a VCF --heldout)
    #[arg(long)]
    heldout_panel: Option<PathBuf>,
    /// Skip the privacy and utility figures (to time the protocol without them)
    #[arg(long)]
    no_privacy: bool,
    /// Synthetic haplotypes, in the same forms as --real
    #[arg(long)]
    synthetic: Option<PathBuf>,
    /// Panel of the synthetic samples
    #[arg(long)]
    synthetic_panel: Option<PathBuf>,
    #[command(flatten)]
    column: artifact::cli::GroupColumnArg,
    /// Only these groups (comma-separated); default: all groups of the real data
    #[arg(long, value_delimiter = ',')]
    groups: Option<Vec<String>>,
    /// Baselines to report beside (or instead of) the synthetic data: floor, the noise floor of
    /// real against real (training vs held-out with --heldout, else two halves of --real). The
    /// reference simulators (independent SNPs, mosaic, HMM) are gmmn-reference's: evaluate
    /// their output as --synthetic
    #[arg(long, value_delimiter = ',')]
    baseline: Vec<Baseline>,
    /// Output directory: report.json, report.md, each comparison's diagnostics figures
    /// (<comparison>.<figure>.png and .svg)
    #[arg(long)]
    out: PathBuf,
    /// Random train/test splits
    #[arg(long, default_value_t = 5)]
    splits: usize,
    /// Share of the pooled haplotypes held out for testing in each split
    #[arg(long, default_value_t = 0.33)]
    test_fraction: f64,
    #[command(flatten)]
    seed: artifact::cli::SeedArg,
    /// LD pairs: SNPs fewer than this many apart
    #[arg(long, default_value_t = 50)]
    ld_distance: usize,
    /// strict (default: the real class is --heldout when given, as many synthetic as real per
    /// group, MLP with early stopping) or paper (the authors' protocol, to compare with the
    /// paper's Table I: every --real haplotype, even with --heldout, against at most
    /// --paper-synthetic-per-group synthetic per group, unbalanced, plain accuracy; logistic
    /// regression chosen from their grid by 5-fold CV; the MLP at scikit-learn's defaults)
    #[arg(long, default_value = "strict", value_parser = ["strict", "paper"])]
    protocol: String,
    /// --protocol paper: synthetic haplotypes per group (all of them when a group has fewer)
    /// [default: 1000]
    #[arg(long)]
    paper_synthetic_per_group: Option<usize>,
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
        eprintln!("gmmn-discriminate: error: {e}");
        return ExitCode::FAILURE;
    }
    let protocol = match Protocol::from_flags(&cli.protocol, cli.paper_synthetic_per_group) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gmmn-discriminate: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let spec = |path: PathBuf, panel: Option<PathBuf>, heldout: bool| InputSpec {
        path,
        panel,
        label: cli.column.column.clone(),
        groups: cli.groups.clone(),
        heldout,
    };
    let opts = DiscriminateOptions {
        real: spec(cli.real.clone(), cli.real_panel.clone(), false),
        heldout: cli
            .heldout
            .clone()
            .map(|p| spec(p, cli.heldout_panel.clone(), true)),
        privacy: !cli.no_privacy,
        synthetic: cli
            .synthetic
            .clone()
            .map(|p| spec(p, cli.synthetic_panel.clone(), false)),
        baselines: cli.baseline.clone(),
        protocol: ProtocolOptions {
            splits: cli.splits,
            test_fraction: cli.test_fraction,
            seed: cli.seed.seed,
            ld_max_distance: cli.ld_distance,
            protocol,
            ..Default::default()
        },
        progress: !cli.quiet,
    };
    let started = std::time::Instant::now();
    match discriminate::discriminate(&opts, &cli.out) {
        Ok(report) => {
            print!("{}", discriminate::report::summary(&report));
            tracing::info!("done in {:.1} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmmn-discriminate: error: {e}");
            ExitCode::FAILURE
        }
    }
}
