//! `gmmn run SPEC --out DIR` and `gmmn audit DIR`: thin clap layer over the workflow library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gmmn",
    version,
    about = "Run gmmn-sim workflow specs and audit their artifacts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthetic individuals from your own phased VCF in one command: the best configuration
    /// per group of a panel column (or the whole cohort as one group), written as a phased,
    /// tabix-indexed VCF, a PLINK 1 fileset, Parquet and a panel per group, with a report of the
    /// held-out realism and privacy figures (DIR/simulate.md)
    Simulate {
        /// Phased VCF (plain, gzip or bgzip) or BCF
        vcf: PathBuf,
        /// Synthetic individuals per group
        #[arg(long)]
        individuals: usize,
        /// Output directory
        #[arg(long)]
        out: PathBuf,
        /// Tab-separated panel with a header (a `sample` column and a group column); without
        /// one, the whole cohort is one group
        #[arg(long)]
        panel: Option<PathBuf>,
        #[command(flatten)]
        column: artifact::cli::GroupColumnArg,
        /// Groups to simulate, comma-separated (default: every group of the column)
        #[arg(long, value_delimiter = ',')]
        groups: Option<Vec<String>>,
        /// The group's name when there is no panel
        #[arg(long, default_value = "ALL")]
        group: String,
        /// Share of each group's individuals held out to judge the synthetic data against (the
        /// report's figures); 0 trains on everyone and reports no realism or privacy figures
        #[arg(long, default_value_t = 0.2)]
        holdout: f64,
        #[command(flatten)]
        seed: artifact::cli::SeedArg,
        /// Group chains run at once
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Directory of the stage binaries [default: the directory of this gmmn binary]
        #[arg(long)]
        bin: Option<PathBuf>,
    },
    /// Run a workflow spec: ingest, split, then sketch -> train -> sample per variant and group,
    /// then the evaluation and the final table; steps whose outputs are up to date are skipped
    Run {
        /// Workflow spec (YAML, see schemas/workflow.schema.json)
        spec: PathBuf,
        /// Output directory
        #[arg(long)]
        out: PathBuf,
        /// Variant x group chains (then evaluations) run at once; each gets cores / jobs threads
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Rerun this stage and every later one even when up to date
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(workflow::spec::FROM_STAGES))]
        from: Option<String>,
        /// Rerun every stage
        #[arg(long)]
        force: bool,
        /// Directory of the stage binaries [default: the directory of this gmmn binary]
        #[arg(long)]
        bin: Option<PathBuf>,
    },
    /// Write the final table (DIR/table.md, DIR/table.json) of a run made by any workflow
    /// manager (gmmn run, Snakemake, Nextflow) from its reports
    Table {
        /// Workflow spec the run followed
        spec: PathBuf,
        /// The run's output directory
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a spec against its schema and print the plan, running nothing
    Check {
        /// Workflow spec (YAML)
        spec: PathBuf,
    },
    /// Combine the sketches of one group computed at several sites (same features, seed and
    /// SNPs; disjoint individuals) into one sketch gmmn-train takes as usual: the mean weighted
    /// by each site's haplotype count. Only sketches travel; the genotypes stay at the sites
    MergeSketches {
        /// Sketch directories (or their sketch.npy), one per site
        #[arg(required = true, num_args = 2..)]
        sketches: Vec<PathBuf>,
        /// Output directory (sketch.npy, variants.parquet, their manifests)
        #[arg(long)]
        out: PathBuf,
        /// Name of the merged group, where the sites name theirs differently
        #[arg(long)]
        group: Option<String>,
        /// Only errors on stderr
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check every artifact under DIR (schema, data sha256, inputs) and the ledger of a sealed
    /// tree, and print the lineage; exits 1 when anything does not hold or DIR holds no artifact
    Audit {
        /// Results directory, e.g. the --out of gmmn run
        dir: PathBuf,
        /// Write DIR/ledger.yaml (the sha256 of every manifest) instead; refused when a check fails
        #[arg(long)]
        seal: bool,
        /// Do not print the lineage
        #[arg(long)]
        no_lineage: bool,
        /// Print only the problems
        #[arg(short, long)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    artifact::init_logging(false);
    let result = match cli.command {
        Command::Simulate {
            vcf,
            individuals,
            out,
            panel,
            column,
            groups,
            group,
            holdout,
            seed,
            jobs,
            bin,
        } => stage_dir(bin).and_then(|bin| {
            simulate(workflow::simulate::SimulateOptions {
                vcf,
                panel,
                column: column.column,
                groups,
                group,
                individuals,
                holdout,
                seed: seed.seed,
                out,
                jobs,
                bin,
            })
        }),
        Command::Run {
            spec,
            out,
            jobs,
            from,
            force,
            bin,
        } => run(spec, out, jobs, from, force, bin),
        Command::Table { spec, out } => table(spec, out),
        Command::Check { spec } => check(spec),
        Command::MergeSketches {
            sketches,
            out,
            group,
            quiet,
        } => sketch::merge::merge_sketches(&sketches, &out, group.as_deref())
            .map(|summary| {
                if !quiet {
                    print!("{summary}");
                }
                ExitCode::SUCCESS
            })
            .map_err(anyhow::Error::from),
        Command::Audit {
            dir,
            seal,
            no_lineage,
            quiet,
        } => audit(dir, seal, no_lineage, quiet),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The stage binaries sit beside `gmmn` (target/release, or wherever they were installed).
fn stage_dir(bin: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match bin {
        Some(b) => Ok(b),
        None => {
            let exe = std::env::current_exe()?;
            Ok(exe.parent().map(PathBuf::from).unwrap_or_default())
        }
    }
}

fn run(
    spec: PathBuf,
    out: PathBuf,
    jobs: usize,
    from: Option<String>,
    force: bool,
    bin: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let spec = workflow::spec::Spec::load(&spec)?;
    let options = workflow::run::RunOptions {
        out,
        jobs: jobs.max(1),
        from: if force { Some("ingest".into()) } else { from },
        bin: stage_dir(bin)?,
    };
    let started = std::time::Instant::now();
    let summary = workflow::run::run(&spec, &options)?;
    println!("{}", summary.table);
    println!(
        "{} steps ran, {} up to date, {:.0} s; table in {}",
        summary.ran,
        summary.skipped,
        started.elapsed().as_secs_f64(),
        options.out.join("table.md").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn simulate(opts: workflow::simulate::SimulateOptions) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let s = workflow::simulate::simulate(&opts)?;
    if opts.holdout > 0.0 {
        println!("{}", s.run.table);
    }
    println!(
        "{} synthetic individuals for each of {} in {} ({} steps ran, {} up to date, {:.0} s)",
        opts.individuals,
        s.groups.join(", "),
        s.synthetic.display(),
        s.run.ran,
        s.run.skipped,
        started.elapsed().as_secs_f64()
    );
    println!(
        "  per group: <G>.vcf.gz (+ .tbi), <G>.bed/.bim/.fam, <G>.parquet, <G>.panel.tsv; report: {}",
        s.report.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn table(spec: PathBuf, out: PathBuf) -> anyhow::Result<ExitCode> {
    let spec = workflow::spec::Spec::load(&spec)?;
    let groups = match &spec.groups {
        Some(g) => g.clone(),
        None => workflow::run::split_groups(&out).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no group files (has the split run?)",
                out.join("groups").display()
            )
        })?,
    };
    let timings = workflow::run::recorded_timings(&out);
    let md = workflow::table::write_table(&spec, &out, &groups, &timings)?;
    println!("{md}");
    Ok(ExitCode::SUCCESS)
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
    if !spec.references.is_empty() {
        println!(
            "{} reference(s), not private: {}",
            spec.references.len(),
            spec.references
                .iter()
                .map(|r| format!("{} ({})", r.name, r.method()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "evaluation: {}; baselines: {}; paper's protocol: {}",
        if spec.holdout > 0.0 {
            format!(
                "{:.0}% of each group's individuals held out",
                spec.holdout * 100.0
            )
        } else {
            "no hold-out (judged against the training data)".into()
        },
        if spec.baselines.is_empty() {
            "none".into()
        } else {
            spec.baselines.join(", ")
        },
        if spec.paper_protocol { "yes" } else { "no" }
    );
    Ok(ExitCode::SUCCESS)
}

fn audit(dir: PathBuf, seal: bool, no_lineage: bool, quiet: bool) -> anyhow::Result<ExitCode> {
    use workflow::audit::{AuditError, LedgerStatus, LEDGER};
    let print_problems = |problems: &[workflow::audit::Problem]| {
        println!("{} problem(s):", problems.len());
        for p in problems {
            println!("{p}");
        }
    };
    if seal {
        return match workflow::audit::seal(&dir) {
            Ok(ledger) => {
                if !quiet {
                    println!(
                        "sealed {} manifest(s) into {}",
                        ledger.manifests.len(),
                        dir.join(LEDGER).display()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(AuditError::Unsealable { problems, .. }) => {
                print_problems(&problems);
                println!("not sealed: {} has problems", dir.display());
                Ok(ExitCode::from(1))
            }
            Err(e) => Err(e.into()),
        };
    }
    let report = workflow::audit::audit(&dir)?;
    if !quiet {
        for a in report.artifacts.iter().filter(|a| !a.withheld.is_empty()) {
            println!("{}: inputs withheld: {}", a.manifest, a.withheld.join(", "));
        }
        println!(
            "{}: {} manifest(s), {} file(s) hashed",
            dir.display(),
            report.artifacts.len(),
            report.files_hashed
        );
        match &report.ledger {
            LedgerStatus::Absent => println!(
                "no ledger ({LEDGER}): an edited manifest goes unnoticed; `gmmn audit --seal {}` writes one",
                dir.display()
            ),
            LedgerStatus::Checked {
                entries,
                created,
                gmmn_version,
            } => println!("ledger: {entries} manifest(s) sealed {created} by gmmn {gmmn_version}"),
            LedgerStatus::Unreadable => println!("ledger: unreadable (see below)"),
        }
        if !no_lineage {
            println!("lineage:");
            for line in report.lineage().lines() {
                println!("  {line}");
            }
        }
    }
    if report.is_ok() {
        if !quiet {
            println!("ok: every schema, hash and input holds");
        }
        Ok(ExitCode::SUCCESS)
    } else {
        print_problems(&report.problems);
        Ok(ExitCode::from(1))
    }
}
