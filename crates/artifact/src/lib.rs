//! The one library every gmmn-sim stage shares.
//!
//! * [`Manifest`]: the `<file>.meta.yaml` sidecar of every artifact (kind, schema version,
//!   producer, params, inputs with their sha256, the data file's sha256, shape, counts, seed,
//!   creation time), and [`open_artifact`], the reader that refuses anything unverified.
//! * [`OutputSet`]: atomic, all-or-nothing writes of a stage's outputs (temporary file in the
//!   same directory, fsync, rename; manifests last).
//! * [`GenotypeMatrix`] and [`VariantTable`]: haplotypes x SNPs and their Parquet layouts
//!   (documented for polars/pyarrow users in `schemas/parquet-layouts.md`).
//! * [`rng`] and [`features`]: the portable seeded random numbers and the random feature map
//!   that the sketch stage and the trainer must agree on bit for bit; [`Sketch`] and its
//!   manifest params [`SketchInfo`].
//! * [`CoordinateTable`]: projected coordinates of real and synthetic haplotypes (gmmn-project).
//! * [`report`]: the typed figures of gmmn-discriminate's report that `gmmn run`'s table reads.

pub mod cli;
mod coordinates;
mod error;
pub mod features;
mod genotype;
mod guard;
mod hash;
mod manifest;
mod output;
#[cfg(feature = "plot")]
pub mod plot;
pub mod report;
pub mod rng;
mod sketch;
mod variants;

pub use coordinates::{
    component_column, read_coordinates_parquet, write_coordinates_parquet, CoordinateRow,
    CoordinateTable,
};
pub use error::ArtifactError;
pub use genotype::{
    allele_counts_of_rows, read_genotypes_parquet, GenotypeMatrix, GenotypeParquetWriter,
    HaplotypeLabel, GENOTYPES_COLUMN, ROW_GROUP_HAPLOTYPES,
};
pub use hash::{sha256_file, HashingWriter};
pub use manifest::{
    manifest_path, now_rfc3339, open_artifact, relative_to, ArtifactKind, FileRef, Manifest,
    Producer, SCHEMA_VERSION,
};
pub use output::OutputSet;
pub use sketch::{Block, BlockKind, DpRelation, DpRelease, Sketch, SketchInfo};
pub use variants::{
    read_variants_parquet, write_variants_parquet, Variant, VariantTable, VARIANTS_FILE,
};

/// Logging set-up shared by every stage binary: human-readable lines on stderr, errors only with
/// `--quiet`.
pub fn init_logging(quiet: bool) {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(if quiet {
            tracing::Level::ERROR
        } else {
            tracing::Level::INFO
        })
        .with_target(false)
        .without_time()
        .init();
}

/// `--threads N` of the stages whose parallel work runs on rayon's global pool (sketch,
/// discriminate): size that pool before any parallel work. `None` leaves rayon's default (all
/// cores).
pub fn init_rayon_threads(threads: Option<usize>) -> std::result::Result<(), String> {
    match threads {
        None => Ok(()),
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| format!("--threads {t}: {e}")),
    }
}

pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;
