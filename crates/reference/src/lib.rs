//! Reference simulators: synthetic haplotypes simulated from the real training haplotypes
//! directly, the yardsticks a generator trained on sketches is judged beside.
//!
//! **Not private**: every method reads the real training haplotypes (the mosaic copies segments
//! of them), so their output says how realistic a simulator can be with full access to the data,
//! not what a sketch-trained generator may publish. Their manifests say `private: false`.
//!
//! * [`independent`]: each SNP drawn independently at the group's training allele frequency.
//! * [`mosaic`]: segments of geometric length (mean `segment` SNPs) copied from uniformly drawn
//!   training haplotypes, alleles flipped with probability `flip` (a simplified Li-Stephens).
//! * [`hmm`]: a fastPHASE-style haplotype HMM with K clusters fitted by EM, then sampled.
//! * [`markov`]: an order-k Markov chain along the SNPs from the (k + 1)-SNP pattern counts,
//!   smoothed toward shorter contexts.
//!
//! Each group is simulated on its own, from seed `derive_seed(seed, g)` (g: the group's index
//! in sorted order), and written as gmmn-sample writes a group
//! ([`haplotypes::synthetic::stage_synthetic`]); all groups are committed together.

pub mod hmm;
pub mod independent;
pub mod markov;
pub mod mosaic;

use std::path::{Path, PathBuf};

use artifact::rng::derive_seed;
use artifact::{ArtifactError, FileRef, Manifest, OutputSet, Producer};
use haplotypes::snp_major::SnpMajorBits;
use haplotypes::synthetic::{stage_synthetic, synthetic_individuals, Formats, SyntheticFiles};
use haplotypes::InputSpec;
use serde_json::Value;

/// Defaults of the method options (what `--help` shows and the manifests record).
pub const DEFAULT_SEGMENT: f64 = 400.0;
pub const DEFAULT_FLIP: f64 = 0.0;
pub const DEFAULT_CLUSTERS: usize = 20;
pub const DEFAULT_ITERATIONS: usize = 20;
pub const DEFAULT_CLIP: f64 = 1e-3;
pub const DEFAULT_ORDER: usize = 100;
pub const DEFAULT_MIN_COUNT: usize = 2;
pub const DEFAULT_PSEUDOCOUNT: f64 = 1.0;

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Input(#[from] haplotypes::InputError),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Independent,
    Mosaic,
    Hmm,
    Markov,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Independent => "independent",
            Method::Mosaic => "mosaic",
            Method::Hmm => "hmm",
            Method::Markov => "markov",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "independent" => Ok(Method::Independent),
            "mosaic" => Ok(Method::Mosaic),
            "hmm" => Ok(Method::Hmm),
            "markov" => Ok(Method::Markov),
            _ => Err(format!(
                "unknown method `{s}` (independent, mosaic, hmm or markov)"
            )),
        }
    }
}

/// What to simulate. The method options are `None` when not given: the method's default is
/// used, and an option of another method is ignored (with a warning) and recorded as null.
#[derive(Debug, Clone)]
pub struct ReferenceOptions {
    pub method: Method,
    /// mosaic: mean segment length in SNPs (>= 1).
    pub segment: Option<f64>,
    /// mosaic: per-SNP flip probability in [0, 1).
    pub flip: Option<f64>,
    /// hmm: clusters (>= 1).
    pub clusters: Option<usize>,
    /// hmm: EM iterations (>= 1).
    pub iterations: Option<usize>,
    /// hmm: emissions clipped to [clip, 1 - clip], 0 < clip < 0.5.
    pub clip: Option<f64>,
    /// markov: the longest context in SNPs (>= 1).
    pub order: Option<usize>,
    /// markov: contexts shared by fewer training haplotypes are not used (>= 1).
    pub min_count: Option<usize>,
    /// markov: the smoothing weight toward shorter contexts (>= 0).
    pub pseudocount: Option<f64>,
    /// Haplotypes per group (default: the group's training haplotype count).
    pub n: Option<usize>,
    pub seed: u64,
    /// Progress bar over EM iterations / groups on stderr.
    pub progress: bool,
}

impl ReferenceOptions {
    pub fn new(method: Method) -> Self {
        ReferenceOptions {
            method,
            segment: None,
            flip: None,
            clusters: None,
            iterations: None,
            clip: None,
            order: None,
            min_count: None,
            pseudocount: None,
            n: None,
            seed: 0,
            progress: false,
        }
    }
}

/// The options resolved for the method: defaults filled in, values checked.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    segment: f64,
    flip: f64,
    hmm: hmm::HmmOptions,
    markov: markov::MarkovOptions,
}

fn resolve(opts: &ReferenceOptions) -> Result<Resolved, ReferenceError> {
    let usage = |m: String| Err(ReferenceError::Usage(m));
    let segment = opts.segment.unwrap_or(DEFAULT_SEGMENT);
    // NaN fails `>= 1` too.
    if !(segment.is_finite() && segment >= 1.0) {
        return usage(format!(
            "--segment {segment}: the mean segment length must be a finite number of SNPs >= 1"
        ));
    }
    let flip = opts.flip.unwrap_or(DEFAULT_FLIP);
    if !(0.0..1.0).contains(&flip) {
        return usage(format!(
            "--flip {flip}: the flip probability must be in [0, 1)"
        ));
    }
    let clusters = opts.clusters.unwrap_or(DEFAULT_CLUSTERS);
    if clusters < 1 {
        return usage("--clusters 0: the HMM needs at least 1 cluster".into());
    }
    let iterations = opts.iterations.unwrap_or(DEFAULT_ITERATIONS);
    if iterations < 1 {
        return usage("--iterations 0: EM needs at least 1 iteration".into());
    }
    let clip = opts.clip.unwrap_or(DEFAULT_CLIP);
    if !(clip > 0.0 && clip < 0.5) {
        return usage(format!(
            "--clip {clip}: emission probabilities are clipped to [clip, 1 - clip], so 0 < clip < 0.5"
        ));
    }
    let order = opts.order.unwrap_or(DEFAULT_ORDER);
    if !(1..=chain::MAX_ORDER).contains(&order) {
        return usage(format!(
            "--order {order}: the Markov context is 1 to {} SNPs",
            chain::MAX_ORDER
        ));
    }
    let min_count = opts.min_count.unwrap_or(DEFAULT_MIN_COUNT);
    if min_count < 1 {
        return usage("--min-count 0: a context is shared by at least 1 haplotype".into());
    }
    let pseudocount = opts.pseudocount.unwrap_or(DEFAULT_PSEUDOCOUNT);
    if !(pseudocount.is_finite() && pseudocount >= 0.0) {
        return usage(format!(
            "--pseudocount {pseudocount}: the smoothing weight must be a finite number >= 0"
        ));
    }
    if opts.n == Some(0) {
        return usage("--n 0: simulate at least 1 haplotype per group".into());
    }
    let given_for = |given: bool, flag: &str, method: &str| {
        if given && opts.method.as_str() != method {
            tracing::warn!(
                "{flag} applies to --method {method} only; ignored for --method {}",
                opts.method
            );
        }
    };
    given_for(opts.segment.is_some(), "--segment", "mosaic");
    given_for(opts.flip.is_some(), "--flip", "mosaic");
    given_for(opts.clusters.is_some(), "--clusters", "hmm");
    given_for(opts.iterations.is_some(), "--iterations", "hmm");
    given_for(opts.clip.is_some(), "--clip", "hmm");
    given_for(opts.order.is_some(), "--order", "markov");
    given_for(opts.min_count.is_some(), "--min-count", "markov");
    given_for(opts.pseudocount.is_some(), "--pseudocount", "markov");
    Ok(Resolved {
        segment,
        flip,
        hmm: hmm::HmmOptions {
            clusters,
            iterations,
            clip,
        },
        markov: markov::MarkovOptions {
            order,
            min_count,
            pseudocount,
        },
    })
}

/// One group's result.
#[derive(Debug)]
pub struct GroupSummary {
    pub group: String,
    pub training_haplotypes: usize,
    pub haplotypes: usize,
    pub individuals: usize,
    pub snps: usize,
    /// hmm: the log-likelihood after 0..=iterations EM iterations.
    pub em_log_likelihood: Option<Vec<f64>>,
    pub files: Vec<PathBuf>,
}

#[derive(Debug)]
pub struct ReferenceSummary {
    pub method: Method,
    pub groups: Vec<GroupSummary>,
}

impl std::fmt::Display for ReferenceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for g in &self.groups {
            write!(
                f,
                "simulated {} haplotypes ({} individuals) x {} SNPs for {} from {} training haplotypes ({}",
                g.haplotypes, g.individuals, g.snps, g.group, g.training_haplotypes, self.method
            )?;
            if let Some(ll) = g.em_log_likelihood.as_ref().and_then(|l| l.last()) {
                write!(f, ", final log-likelihood {ll:.3}")?;
            }
            writeln!(f, "; not private):")?;
            for p in &g.files {
                writeln!(f, "  {}", p.display())?;
            }
        }
        Ok(())
    }
}

/// The sample-id prefix of a method and group: `REF_MOSAIC_EUR_`.
pub fn sample_prefix(method: Method, group: &str) -> String {
    format!("REF_{}_{group}_", method.as_str().to_ascii_uppercase())
}

/// The training genotype files (and their variants companions) that hold rows
/// `first..first + count` of a directory load: the files' rows are concatenated in file order,
/// and each file's manifest records its row count.
struct TrainingFile {
    path: PathBuf,
    variants: PathBuf,
    rows: std::ops::Range<usize>,
}

fn training_files(files: &[PathBuf], total: usize) -> Result<Vec<TrainingFile>, ReferenceError> {
    let mut out = Vec::new();
    let mut start = 0;
    for f in files {
        let m = Manifest::read_for(f)?;
        let rows = m
            .shape
            .first()
            .copied()
            .ok_or_else(|| ReferenceError::Invalid {
                path: f.clone(),
                message: "its manifest has no shape".into(),
            })? as usize;
        out.push(TrainingFile {
            path: f.clone(),
            variants: m.companion(f, "variants")?,
            rows: start..start + rows,
        });
        start += rows;
    }
    if start != total {
        return Err(ReferenceError::Invalid {
            path: files[0].clone(),
            message: format!(
                "the manifests of the training files count {start} haplotypes but {total} were read"
            ),
        });
    }
    Ok(out)
}

/// Simulate every group of the training haplotypes at `training` (a genotype Parquet of
/// gmmn-split, or a directory of them: `*.heldout.parquet` are skipped) into `out_dir`.
pub fn simulate(
    training: &Path,
    out_dir: &Path,
    opts: &ReferenceOptions,
) -> Result<ReferenceSummary, ReferenceError> {
    let resolved = resolve(opts)?;
    if !training.exists() {
        return Err(ReferenceError::Invalid {
            path: training.to_path_buf(),
            message: "no such file or directory (TRAINING: a genotype Parquet of gmmn-split, or a directory of them)".into(),
        });
    }
    if training.is_file()
        && !training
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".parquet"))
    {
        return Err(ReferenceError::Invalid {
            path: training.to_path_buf(),
            message: "not a genotype Parquet: TRAINING is a group file of gmmn-split (<G>.parquet) or a directory of them".into(),
        });
    }
    let set = haplotypes::load(&InputSpec {
        path: training.to_path_buf(),
        panel: None,
        label: "group".into(),
        groups: None,
        heldout: false,
    })?;
    let m = set.snps();
    let files = training_files(&set.files, set.n())?;
    let by_group = set.rows_by_group();
    for (group, rows) in &by_group {
        if rows.len() < 2 {
            return Err(ReferenceError::Invalid {
                path: training.to_path_buf(),
                message: format!(
                    "group {group} has {} training haplotype(s); the reference simulators need at least 2",
                    rows.len()
                ),
            });
        }
    }
    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    // Hash each training file (and its variants) once; each group lists the ones it came from.
    let mut hashed = Vec::with_capacity(files.len());
    for f in &files {
        hashed.push((
            FileRef::hashed("training", &f.path, out_dir)?,
            FileRef::hashed("variants", &f.variants, out_dir)?,
        ));
    }

    let progress = progress_bar(opts, &resolved, by_group.len());
    let mut out = OutputSet::new();
    let mut groups = Vec::new();
    for (g, (group, rows)) in by_group.iter().enumerate() {
        let n_train = rows.len();
        let mut data = Vec::with_capacity(n_train * m);
        for &i in rows {
            data.extend_from_slice(set.matrix.row(i));
        }
        let n = opts.n.unwrap_or(n_train);
        let seed = derive_seed(opts.seed, g as u64);
        progress.set_message(group.clone());
        let (values, em) = match opts.method {
            Method::Independent => (independent::simulate(&data, n_train, m, n, seed), None),
            Method::Mosaic => (
                mosaic::simulate(&data, n_train, m, n, resolved.segment, resolved.flip, seed),
                None,
            ),
            Method::Markov => {
                let values =
                    markov::sample_variable_order(&data, n_train, m, n, &resolved.markov, seed)
                        .map_err(|e| ReferenceError::Usage(format!("group {group}: {e}")))?;
                (values, None)
            }
            Method::Hmm => {
                let started = std::time::Instant::now();
                let (model, lls) = hmm::Hmm::fit(
                    &data,
                    n_train,
                    m,
                    &resolved.hmm,
                    derive_seed(seed, 0),
                    |t, ll| {
                        tracing::info!(
                            "{group}: EM log-likelihood after {t} iteration(s): {ll:.3}"
                        );
                        if t > 0 {
                            progress.inc(1);
                        }
                    },
                );
                tracing::info!(
                    "{group}: {} EM iterations, K {}, in {:.1} s",
                    resolved.hmm.iterations,
                    resolved.hmm.clusters,
                    started.elapsed().as_secs_f64()
                );
                (model.sample(n, derive_seed(seed, 1)), Some(lls))
            }
        };
        if opts.method != Method::Hmm {
            progress.inc(1);
        }
        let prefix = sample_prefix(opts.method, group);
        let individuals = synthetic_individuals(&prefix, n);
        let bits = SnpMajorBits::from_rows(&values, m);
        drop(values);
        let mut base = base_manifest(opts, &resolved, group, &prefix, n, em.as_deref())
            .count("training_haplotypes", n_train as u64);
        for (f, (genotypes, variants)) in files.iter().zip(&hashed) {
            if rows.iter().any(|i| f.rows.contains(i)) {
                base.inputs.push(genotypes.clone());
                base.inputs.push(variants.clone());
            }
        }
        let source = vcf_source(opts.method, &resolved, group);
        let written = stage_synthetic(
            &mut out,
            out_dir,
            group,
            &bits,
            set.variants.clone(),
            &individuals,
            &base,
            &source,
            Formats::default(),
            &|| {},
        )?;
        groups.push(GroupSummary {
            group: group.clone(),
            training_haplotypes: n_train,
            haplotypes: n,
            individuals: individuals.len(),
            snps: m,
            em_log_likelihood: em,
            files: SyntheticFiles::to_vec(&written),
        });
    }
    progress.finish_and_clear();
    out.commit()?;
    Ok(ReferenceSummary {
        method: opts.method,
        groups,
    })
}

/// The manifest every output of a group starts from: producer `reference`, every param
/// (null where the method does not use it), the --seed.
fn base_manifest(
    opts: &ReferenceOptions,
    r: &Resolved,
    group: &str,
    prefix: &str,
    n: usize,
    em: Option<&[f64]>,
) -> Manifest {
    let method = opts.method;
    let only = |m: Method, v: Value| if method == m { v } else { Value::Null };
    // The manifest kind is set per file by stage_synthetic.
    let mut base = Manifest::new(
        artifact::ArtifactKind::Genotypes,
        Producer::new(
            "reference",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
        ),
    )
    .param("method", method.as_str())
    .param("group", group)
    .param("n", n as u64)
    .param("private", false)
    .param("sample_prefix", prefix)
    .param("segment", only(Method::Mosaic, r.segment.into()))
    .param("flip", only(Method::Mosaic, r.flip.into()))
    .param(
        "clusters",
        only(Method::Hmm, (r.hmm.clusters as u64).into()),
    )
    .param(
        "iterations",
        only(Method::Hmm, (r.hmm.iterations as u64).into()),
    )
    .param("clip", only(Method::Hmm, r.hmm.clip.into()))
    .param(
        "order",
        only(Method::Markov, (r.markov.order as u64).into()),
    )
    .param(
        "min_count",
        only(Method::Markov, (r.markov.min_count as u64).into()),
    )
    .param(
        "pseudocount",
        only(Method::Markov, r.markov.pseudocount.into()),
    )
    .param(
        "em_log_likelihood",
        em.map_or(Value::Null, |l| l.to_vec().into()),
    );
    base.seed = Some(opts.seed);
    base
}

fn vcf_source(method: Method, r: &Resolved, group: &str) -> String {
    let how = match method {
        Method::Independent => "SNPs drawn independently at the training allele frequencies".into(),
        Method::Mosaic => format!(
            "mosaic of training haplotypes, mean segment {} SNPs, flip {}",
            r.segment, r.flip
        ),
        Method::Hmm => format!(
            "fastPHASE-style HMM, K {}, {} EM iterations, emissions clipped at {}",
            r.hmm.clusters, r.hmm.iterations, r.hmm.clip
        ),
        Method::Markov => format!(
            "variable-order Markov chain of training pattern counts, contexts up to {} SNPs shared by at least {}, pseudocount {}",
            r.markov.order, r.markov.min_count, r.markov.pseudocount
        ),
    };
    format!(
        "gmmn-reference {} ({method} reference simulator, group {group}: {how}; not private: uses the real training haplotypes)",
        env!("CARGO_PKG_VERSION")
    )
}

fn progress_bar(opts: &ReferenceOptions, r: &Resolved, groups: usize) -> indicatif::ProgressBar {
    if !opts.progress {
        return indicatif::ProgressBar::hidden();
    }
    let (total, what) = match opts.method {
        Method::Hmm => ((groups * r.hmm.iterations) as u64, "EM iterations"),
        _ => (groups as u64, "groups"),
    };
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {} {what} {{pos}}/{{len}} ({{msg}}) [{{elapsed_precise}}] ETA {{eta}}",
            opts.method
        ))
        .expect("valid template"),
    );
    bar
}
