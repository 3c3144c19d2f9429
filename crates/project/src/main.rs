//! `gmmn-project --real R --synthetic S --out DIR`: a thin layer over [`project::project`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use project::{Method, ProjectOptions};

/// Fit PCA and ISOMAP on the real haplotypes (all groups pooled), project real and synthetic
/// haplotypes with the fitted maps, and write their coordinates (Parquet) and scatter plots
/// (PNG, SVG; real behind in light colours, synthetic on top), one with every group and one per
/// group.
#[derive(Debug, Parser)]
#[command(name = "gmmn-project", version)]
struct Cli {
    /// Real haplotypes: genotype Parquet, a directory of group Parquets, or a VCF (with
    /// --real-panel)
    #[arg(long)]
    real: PathBuf,
    /// Synthetic haplotypes: genotype Parquet, a directory of group Parquets, or a VCF (with
    /// --synthetic-panel)
    #[arg(long)]
    synthetic: PathBuf,
    /// Tab-separated panel of the real samples (`sample` + the --label column)
    #[arg(long)]
    real_panel: Option<PathBuf>,
    /// Tab-separated panel of the synthetic samples (`sample` + the --label or `group` column)
    #[arg(long)]
    synthetic_panel: Option<PathBuf>,
    #[command(flatten)]
    column: artifact::cli::GroupColumnArg,
    /// Only these groups, comma-separated [default: all]
    #[arg(long, value_delimiter = ',')]
    groups: Option<Vec<String>>,
    /// Methods, comma-separated: pca, isomap
    #[arg(long, value_delimiter = ',', default_value = "pca,isomap")]
    methods: Vec<Method>,
    /// Output directory
    #[arg(long)]
    out: PathBuf,
    /// Dimensions of each embedding
    #[arg(long, default_value_t = 2)]
    components: usize,
    /// K of ISOMAP's nearest-neighbour graph
    #[arg(long, default_value_t = 10)]
    neighbours: usize,
    /// Most ISOMAP landmarks (landmark MDS; all real haplotypes if there are no more)
    #[arg(long, default_value_t = 2000)]
    landmarks: usize,
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
        eprintln!("gmmn-project: error: {e}");
        return ExitCode::FAILURE;
    }
    let opts = ProjectOptions {
        real: cli.real,
        real_panel: cli.real_panel,
        synthetic: cli.synthetic,
        synthetic_panel: cli.synthetic_panel,
        label: cli.column.column,
        groups: cli.groups,
        methods: cli.methods,
        components: cli.components,
        neighbours: cli.neighbours,
        landmarks: cli.landmarks,
        seed: cli.seed.seed,
    };
    match project::project(&opts, &cli.out) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmmn-project: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
