//! Flags every stage spells the same way, defined once: each binary flattens these structs into
//! its own clap parser, so a name or a default cannot drift between stages (tests/cli.rs checks
//! every binary's `--help` against them).

/// The seed every stage uses unless told otherwise (the workflow specs' default too).
pub const DEFAULT_SEED: u64 = 1;

/// The panel column that names each sample's group (the 1000 Genomes panel's super-population).
pub const DEFAULT_GROUP_COLUMN: &str = "super_pop";

#[derive(Debug, Clone, clap::Args)]
pub struct SeedArg {
    /// Seed of everything random this stage draws (recorded in its manifests)
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ThreadsArg {
    /// Worker threads (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

impl ThreadsArg {
    /// Size rayon's global pool (a no-op without --threads); 0 is read as 1.
    pub fn init_rayon(&self) -> Result<(), String> {
        crate::init_rayon_threads(self.threads.map(|t| t.max(1)))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct GroupColumnArg {
    /// Panel column naming each sample's group (`--label` is its former name)
    #[arg(long, alias = "label", default_value = DEFAULT_GROUP_COLUMN)]
    pub column: String,
}
