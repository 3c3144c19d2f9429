//! The entry points of the fuzzers: one function per reader of bytes a user hands us (a VCF,
//! a panel, a manifest, a workflow spec, a sketch, a model, the Parquet tables of the artifact
//! contract). Each writes the bytes where the stage would read them and calls the stage's own
//! reader, so a fuzzer finds what a user's file would trigger.
//!
//! Nothing here catches a panic: a panic anywhere below (our code or a dependency's) is a finding.
//! An `Err` is the expected answer to bad bytes and is dropped.
//!
//! `fuzz/` (outside the workspace: it rebuilds polars with sanitizer flags) drives these with
//! libFuzzer (`make fuzz`); `tests/replay.rs` runs every saved input through them in `make test`.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use artifact::{manifest_path, Manifest};

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` it owns)
/// and its entry point.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]) -> bool,
}

/// Every target, in the order `make fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "vcf",
        run: vcf,
    },
    Target {
        name: "vcf_bgzf",
        run: vcf_bgzf,
    },
    Target {
        name: "panel",
        run: panel,
    },
    Target {
        name: "manifest",
        run: manifest,
    },
    Target {
        name: "spec",
        run: spec,
    },
    Target {
        name: "sketch",
        run: sketch,
    },
    Target {
        name: "model",
        run: model,
    },
    Target {
        name: "chain_model",
        run: chain_model,
    },
    Target {
        name: "parquet",
        run: parquet,
    },
];

thread_local! {
    /// A scratch directory per thread (the replay test runs targets on several threads), in
    /// /dev/shm where there is one: a file write per input costs microseconds there.
    static SCRATCH: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

fn scratch() -> PathBuf {
    SCRATCH.with(|s| {
        s.borrow_mut()
            .get_or_insert_with(|| {
                let base = Path::new("/dev/shm");
                let base = if base.is_dir() {
                    base.to_path_buf()
                } else {
                    std::env::temp_dir()
                };
                let dir = base.join(format!(
                    "gmmn-fuzz-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                std::fs::create_dir_all(&dir).expect("scratch directory for the fuzz input");
                dir
            })
            .clone()
    })
}

/// Write `data` as `name` in the scratch directory (the harness's own I/O failing is not a
/// finding about the reader, so it is the one place that may panic).
fn file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, data).expect("writing the fuzz input");
    path
}

/// `data` with a manifest made from `template` that matches it (kind, sha256, bytes), so the
/// reader gets past the hash check to the bytes themselves.
fn artifact_file(name: &str, data: &[u8], template: &Manifest) -> PathBuf {
    let path = file(name, data);
    let mut m = template.clone();
    m.sha256 = artifact::sha256_file(&path).expect("hashing the fuzz input");
    m.bytes = data.len() as u64;
    std::fs::write(
        manifest_path(&path),
        m.to_yaml().expect("template manifest"),
    )
    .expect("writing the fuzz input's manifest");
    path
}

fn template(
    cell: &'static OnceLock<Manifest>,
    text: &'static str,
    name: &str,
) -> &'static Manifest {
    cell.get_or_init(|| {
        Manifest::from_yaml(text, Path::new(name)).expect("the shipped template manifest reads")
    })
}

fn ingest_options() -> ingest::IngestOptions {
    ingest::IngestOptions {
        threads: 1,
        ..Default::default()
    }
}

/// A VCF as the user gives it: plain text, gzip or BGZF, whichever the bytes are.
pub fn vcf(data: &[u8]) -> bool {
    let path = file("input.vcf", data);
    let read = ingest::read_vcf(&path, &ingest_options(), &indicatif::ProgressBar::hidden());
    let names = ingest::sample_names(&path);
    read.is_ok() && names.is_ok()
}

/// The bytes as the text of a BGZF-compressed VCF (what the shipped data are): mutations of the
/// text reach the parser behind the decompressor, which they would not through compressed bytes.
pub fn vcf_bgzf(data: &[u8]) -> bool {
    let mut w = noodles_bgzf::io::Writer::new(Vec::new());
    w.write_all(data).expect("bgzf into memory");
    let bytes = w.finish().expect("bgzf into memory");
    let path = file("input.vcf.gz", &bytes);
    ingest::read_vcf(&path, &ingest_options(), &indicatif::ProgressBar::hidden()).is_ok()
}

/// A population panel, read for two of its columns.
pub fn panel(data: &[u8]) -> bool {
    let path = file("input.panel", data);
    let a = split::read_panel(&path, "super_pop");
    let b = split::read_panel(&path, "pop");
    a.is_ok() && b.is_ok()
}

/// A manifest: parsed, and checked against the artifact schemas as `gmmn audit` checks it.
pub fn manifest(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let parsed = Manifest::from_yaml(text, Path::new("input.meta.yaml"));
    let conforms = workflow::audit::manifest_conforms(text);
    parsed.is_ok() && conforms
}

/// A workflow spec, parsed, validated and planned as `gmmn check` does.
pub fn spec(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    workflow::spec::Spec::parse(text, &spec_path()).is_ok()
}

/// Where a fuzzed spec says it lives: `workflows/` of this repository, so that the shipped specs'
/// relative input paths (`../data/...`) resolve and a valid spec is accepted.
fn spec_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/input.yaml")
}

static SKETCH_TEMPLATE: OnceLock<Manifest> = OnceLock::new();

/// A sketch `.npy`, read and checked against the manifest of a shipped sketch's layout.
pub fn sketch(data: &[u8]) -> bool {
    let path = file("sketch.npy", data);
    let Ok(sk) = artifact::Sketch::read_npy(&path) else {
        return false;
    };
    let m = template(
        &SKETCH_TEMPLATE,
        include_str!("../templates/sketch.npy.meta.yaml"),
        "sketch.npy.meta.yaml",
    );
    artifact::SketchInfo::from_manifest(m, &path, &sk).is_ok()
}

static MODEL_TEMPLATE: OnceLock<Manifest> = OnceLock::new();

/// A GMMN model's safetensors, loaded as gmmn-sample loads it (under a manifest that matches).
pub fn model(data: &[u8]) -> bool {
    let m = template(
        &MODEL_TEMPLATE,
        include_str!("../templates/model.safetensors.meta.yaml"),
        "model.safetensors.meta.yaml",
    );
    let path = artifact_file(train::MODEL_FILE, data, m);
    train::load_model(&path, tch::Device::Cpu).is_ok()
}

static CHAIN_TEMPLATE: OnceLock<Manifest> = OnceLock::new();

/// A Markov-chain model's pattern table, loaded and sampled from as gmmn-sample does.
pub fn chain_model(data: &[u8]) -> bool {
    let m = template(
        &CHAIN_TEMPLATE,
        include_str!("../templates/chain.safetensors.meta.yaml"),
        "model.safetensors.meta.yaml",
    );
    let path = artifact_file(train::MODEL_FILE, data, m);
    let Ok((patterns, info, _, _)) = train::chain_model::load_chain(&path) else {
        return false;
    };
    let opts = chain::ChainOptions {
        min_count: info.min_count as usize,
        pseudocount: info.pseudocount,
    };
    chain::sample(&patterns, 2, &opts, 1).len() == 2 * patterns.snps
}

/// The Parquet tables of the artifact contract; the first byte picks the reader.
pub fn parquet(data: &[u8]) -> bool {
    let Some((&which, bytes)) = data.split_first() else {
        return false;
    };
    let path = file("table.parquet", bytes);
    match which % 2 {
        0 => artifact::read_genotypes_parquet(&path).is_ok(),
        _ => artifact::read_variants_parquet(&path).is_ok(),
    }
}
