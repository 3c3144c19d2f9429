//! `gmmn-ingest INPUT --out DIR`: a thin command-line layer over [`ingest::ingest`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ingest::{IngestOptions, MissingPolicy};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Missing {
    /// A missing allele is an error naming the record and sample.
    Error,
    /// Drop every variant with a missing allele (counted in the manifest).
    DropVariant,
}

/// Read phased (or haploid) genotypes from a VCF (plain, gzip or bgzip) or a BCF and write a genotype
/// Parquet (one row per haplotype) and a variants Parquet, each with its manifest.
#[derive(Debug, Parser)]
#[command(name = "gmmn-ingest", version)]
struct Cli {
    /// VCF file (.vcf, .vcf.gz: gzip or bgzip) or BCF file (.bcf)
    input: PathBuf,
    /// Output directory (created; genotypes.parquet and variants.parquet go there)
    #[arg(long)]
    out: PathBuf,
    /// Keep only CHR, CHR:START-END or CHR:START- (uses the .tbi/.csi beside a bgzip file)
    #[arg(long)]
    region: Option<String>,
    /// File with one sample id per line: keep only these samples
    #[arg(long)]
    samples: Option<PathBuf>,
    /// Drop SNPs whose minor allele frequency is below this
    #[arg(long, default_value_t = 0.0)]
    min_maf: f64,
    /// Stop after this many kept SNPs
    #[arg(long)]
    max_snps: Option<usize>,
    /// Keep exactly the SNPs of this public list (a variants.parquet, or tab-separated CHROM
    /// POS REF ALT lines); each must be in the VCF. The SNP list then owes nothing to the
    /// cohort (what a private sketch needs), and sites ingesting with one list share it
    #[arg(long)]
    variants: Option<PathBuf>,
    /// What to do with missing alleles
    #[arg(long, value_enum, default_value_t = Missing::Error)]
    missing: Missing,
    /// Accept unphased heterozygous calls (0/1), taking alleles in the order written
    #[arg(long)]
    allow_unphased: bool,
    #[command(flatten)]
    threads: artifact::cli::ThreadsArg,
    /// Only errors on stderr, no progress bar
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    artifact::init_logging(cli.quiet);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gmmn-ingest: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut opts = IngestOptions {
        region: cli.region,
        samples_file: cli.samples,
        min_maf: cli.min_maf,
        max_snps: cli.max_snps,
        missing: match cli.missing {
            Missing::Error => MissingPolicy::Error,
            Missing::DropVariant => MissingPolicy::DropVariant,
        },
        allow_unphased: cli.allow_unphased,
        variants: cli.variants,
        ..IngestOptions::default()
    };
    if let Some(t) = cli.threads.threads {
        opts.threads = t;
    }
    let progress = if cli.quiet {
        ProgressBar::hidden()
    } else {
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} {human_pos} records ({per_sec}) {elapsed}")
                .expect("valid template"),
        );
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    };
    let summary = ingest::ingest(&cli.input, &cli.out, &opts, &progress);
    progress.finish_and_clear();
    println!("{}", summary?);
    Ok(())
}
