//! The data owner's side of the GMMN: mean random features of a group's real haplotypes.
//!
//! For restart r, mu_r = (1/N) sum_i phi_r(x_i) with phi_r(x) = ReLU(W_r x) (or x itself for
//! identity features, or ReLU of each window's block of W_r for window features), followed by
//! the optional extra blocks (allele frequencies, allele-count features) that do not depend on r. W_r is regenerated block by block from its seed
//! ([`artifact::features::FeatureSpec::fill_weight_rows`]), so no more than one block of one W
//! is ever in memory. Products are accumulated in f64: x is 0/1 and W's entries are f32, so the
//! sums are exact to ~1e-15 and the trainer's own mean phi (see the train crate's tests) agrees
//! with the sketch to the last f32 bit or so.

use std::io::Write;
use std::path::{Path, PathBuf};

use artifact::features::{
    restart_seed, CountBlock, FeatureMap, FeatureSpec, WeightInit, WEIGHT_GENERATOR,
};
use artifact::{
    open_artifact, read_genotypes_parquet, ArtifactError, ArtifactKind, FileRef, GenotypeMatrix,
    Manifest, OutputSet, Producer, Sketch, SketchInfo,
};
use rayon::prelude::*;

pub mod attack;
pub mod dp;
pub mod merge;
pub use dp::DpOptions;

/// W rows per block: each worker holds one block (rows x M f64) and one haplotype block.
const WEIGHT_BLOCK_ROWS: usize = 256;
/// Haplotypes converted to f64 at a time.
const HAPLOTYPE_BLOCK: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum SketchError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{0}")]
    Usage(String),
}

#[derive(Debug, Clone)]
pub struct SketchOptions {
    pub features: FeatureMap,
    pub multiplier: usize,
    /// None: 20 for relu (the paper restarts every 500 of 10,000 steps), 1 for identity.
    pub restarts: Option<usize>,
    pub seed: u64,
    pub init: WeightInit,
    /// Window features: width w, stride [w / 2], features per window.
    pub window: usize,
    pub stride: Option<usize>,
    pub per_window: usize,
    /// Append the allele frequencies as a block with this loss weight.
    pub identity_block: Option<f64>,
    /// Append this many allele-count features (0: none), with this loss weight.
    pub count_features: usize,
    pub count_weight: f64,
    /// Release a differentially private sketch (None: exact means).
    pub dp: Option<DpOptions>,
}

pub const DEFAULT_WINDOW: usize = 64;
pub const DEFAULT_PER_WINDOW: usize = 64;

impl Default for SketchOptions {
    fn default() -> Self {
        SketchOptions {
            features: FeatureMap::Relu,
            multiplier: 10,
            restarts: None,
            seed: 0,
            init: WeightInit::Gaussian,
            window: DEFAULT_WINDOW,
            stride: None,
            per_window: DEFAULT_PER_WINDOW,
            identity_block: None,
            count_features: 0,
            count_weight: 1.0,
            dp: None,
        }
    }
}

impl SketchOptions {
    /// The feature map for `snps` SNPs.
    pub fn spec(&self, snps: usize) -> Result<FeatureSpec, ArtifactError> {
        match self.features {
            FeatureMap::Window => FeatureSpec::windowed(
                self.init,
                snps,
                self.window,
                self.stride.unwrap_or((self.window / 2).max(1)),
                self.per_window,
            ),
            map => FeatureSpec::new(map, self.init, snps, self.multiplier),
        }
    }
}

pub const DEFAULT_RELU_RESTARTS: usize = 20;

#[derive(Debug)]
pub struct SketchSummary {
    pub group: String,
    pub haplotypes: usize,
    pub snps: usize,
    pub restarts: usize,
    pub features: usize,
    /// A pattern sketch: its rows and the min-count applied.
    pub patterns: Option<(u64, u64)>,
    /// A private sketch's record.
    pub privacy: Option<artifact::DpRelease>,
    pub sketch: PathBuf,
}

impl std::fmt::Display for SketchSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((patterns, min_count)) = self.patterns {
            return writeln!(
                f,
                "sketched {} ({} haplotypes x {} SNPs): {patterns} patterns, each shared by at \
                 least {min_count} haplotypes -> {}",
                self.group,
                self.haplotypes,
                self.snps,
                self.sketch.display()
            );
        }
        writeln!(
            f,
            "sketched {} ({} haplotypes x {} SNPs): {} restart(s) x {} features -> {}",
            self.group,
            self.haplotypes,
            self.snps,
            self.restarts,
            self.features,
            self.sketch.display()
        )?;
        if let Some(p) = &self.privacy {
            writeln!(
                f,
                "  ({}, {})-differentially private per individual: clip {:.4}, noise sd {:.4} on \
                 the clipped sums",
                p.epsilon, p.delta, p.clip, p.noise_sd
            )?;
        }
        Ok(())
    }
}

/// The sketch file inside an output directory.
pub const SKETCH_FILE: &str = "sketch.npy";
/// The training group's variants, carried along so that the sampler can write a VCF.
pub use artifact::VARIANTS_FILE;

/// Mean features of every haplotype of `matrix` for one W seed. `progress(k)` is called as blocks
/// of features finish, with the number of features done in that block.
pub fn mean_features(
    matrix: &GenotypeMatrix,
    spec: &FeatureSpec,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<f32> {
    let n = matrix.n_haplotypes();
    let m = matrix.n_snps();
    assert_eq!(m, spec.snps, "matrix and feature spec disagree on SNPs");
    match spec.map {
        FeatureMap::Identity => {
            let counts = matrix.allele_counts();
            progress(m as u64);
            counts
                .iter()
                .map(|&c| (c as f64 / n as f64) as f32)
                .collect()
        }
        FeatureMap::Window => window_means(matrix, spec, seed, progress),
        FeatureMap::Relu => {
            let mut mu = vec![0f32; spec.features];
            mu.par_chunks_mut(WEIGHT_BLOCK_ROWS)
                .enumerate()
                .for_each(|(b, out)| {
                    let rows = out.len();
                    let mut w32 = vec![0f32; rows * m];
                    spec.fill_weight_rows_serial(seed, b * WEIGHT_BLOCK_ROWS, &mut w32);
                    let w: Vec<f64> = w32.iter().map(|&v| v as f64).collect();
                    drop(w32);
                    let mut sums = vec![0f64; rows];
                    let mut x = vec![0f64; HAPLOTYPE_BLOCK * m];
                    let mut c = vec![0f64; rows * HAPLOTYPE_BLOCK];
                    for h0 in (0..n).step_by(HAPLOTYPE_BLOCK) {
                        let hb = HAPLOTYPE_BLOCK.min(n - h0);
                        for (i, xrow) in x.chunks_mut(m).take(hb).enumerate() {
                            for (d, &s) in xrow.iter_mut().zip(matrix.row(h0 + i)) {
                                *d = s as f64;
                            }
                        }
                        // C (rows x hb) = W_block (rows x m) * X_block^T (m x hb)
                        unsafe {
                            matrixmultiply::dgemm(
                                rows,
                                m,
                                hb,
                                1.0,
                                w.as_ptr(),
                                m as isize,
                                1,
                                x.as_ptr(),
                                1,
                                m as isize,
                                0.0,
                                c.as_mut_ptr(),
                                hb as isize,
                                1,
                            );
                        }
                        for (r, s) in sums.iter_mut().enumerate() {
                            *s += c[r * hb..(r + 1) * hb]
                                .iter()
                                .map(|v| v.max(0.0))
                                .sum::<f64>();
                        }
                    }
                    for (o, s) in out.iter_mut().zip(&sums) {
                        *o = (s / n as f64) as f32;
                    }
                    progress(rows as u64);
                });
            mu
        }
    }
}

/// Window features: for each window (in parallel), C (N x f) = X[:, window] W_i^T, summed
/// after ReLU in f64. Windows are small (w x f), so one haplotype at a time is fast enough.
fn window_means(
    matrix: &GenotypeMatrix,
    spec: &FeatureSpec,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<f32> {
    let n = matrix.n_haplotypes();
    let (w, f) = (spec.window, spec.per_window);
    let starts = spec.window_starts();
    let mut mu = vec![0f32; spec.features];
    mu.par_chunks_mut(f)
        .zip(starts.par_iter())
        .enumerate()
        .for_each(|(i, (out, &a))| {
            let mut w32 = vec![0f32; f * w];
            spec.fill_weight_rows_serial(seed, i * f, &mut w32);
            let weight: Vec<f64> = w32.iter().map(|&v| v as f64).collect();
            let mut sums = vec![0f64; f];
            for h in 0..n {
                let x = &matrix.row(h)[a..a + w];
                for (k, s) in sums.iter_mut().enumerate() {
                    *s += relu_dot(&weight[k * w..(k + 1) * w], x);
                }
            }
            for (o, s) in out.iter_mut().zip(&sums) {
                *o = (s / n as f64) as f32;
            }
            progress(f as u64);
        });
    mu
}

/// ReLU(w . x) for one row of W and a 0/1 haplotype slice, summed in f64 over the ALT alleles
/// only (the exact sketch's window features and every feature of the private one).
pub(crate) fn relu_dot(weight: &[f64], x: &[u8]) -> f64 {
    weight
        .iter()
        .zip(x)
        .filter(|(_, &xj)| xj != 0)
        .map(|(wj, _)| *wj)
        .sum::<f64>()
        .max(0.0)
}

/// A sketch directory's sketch.npy, or the sketch.npy itself.
pub fn sketch_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(SKETCH_FILE)
    } else {
        path.to_path_buf()
    }
}

/// Mean allele-count features ([`CountBlock`]) of every haplotype of `matrix`.
pub fn mean_count_features(matrix: &GenotypeMatrix, block: &CountBlock) -> Vec<f32> {
    let n = matrix.n_haplotypes();
    let k = block.thresholds.len();
    let mut sums = vec![0f64; k];
    let mut row = vec![0f64; k];
    for c in haplotype_counts(matrix) {
        block.features(c as f64, &mut row);
        for (s, v) in sums.iter_mut().zip(&row) {
            *s += v;
        }
    }
    sums.iter().map(|s| (s / n as f64) as f32).collect()
}

/// Alleles carried by each haplotype.
pub fn haplotype_counts(matrix: &GenotypeMatrix) -> Vec<u64> {
    (0..matrix.n_haplotypes())
        .map(|h| matrix.row(h).iter().map(|&v| v as u64).sum())
        .collect()
}

/// Allele frequencies, as the identity map computes them.
fn allele_frequencies(matrix: &GenotypeMatrix) -> Vec<f32> {
    let n = matrix.n_haplotypes() as f64;
    matrix
        .allele_counts()
        .iter()
        .map(|&c| (c as f64 / n) as f32)
        .collect()
}

/// Accept a group Parquet file.
fn check_group(matrix: &GenotypeMatrix, path: &Path) -> Result<String, SketchError> {
    let mut groups: Vec<&str> = matrix
        .labels()
        .iter()
        .filter_map(|l| l.group.as_deref())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    match groups.as_slice() {
        [g] => Ok(g.to_string()),
        [] => Err(SketchError::Usage(format!(
            "{}: no group label on its haplotypes; sketch one group's Parquet as written by gmmn-split",
            path.display()
        ))),
        many => Err(SketchError::Usage(format!(
            "{}: holds {} groups ({}); sketch one group at a time (gmmn-split writes one file per group)",
            path.display(),
            many.len(),
            many.join(", ")
        ))),
    }
}

/// Sketch `input` (one group's genotype Parquet) into `out_dir/sketch.npy` (+ variants copy).
pub fn sketch(
    input: &Path,
    out_dir: &Path,
    opts: &SketchOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SketchSummary, SketchError> {
    let restarts = match (opts.features, opts.restarts) {
        (_, Some(0)) => return Err(SketchError::Usage("--restarts must be at least 1".into())),
        (FeatureMap::Identity, Some(r)) if r > 1 => {
            return Err(SketchError::Usage(format!(
            "--restarts {r} with identity features: the identity sketch has no random W to restart"
        )))
        }
        (FeatureMap::Identity, _) => 1,
        (FeatureMap::Relu | FeatureMap::Window, r) => r.unwrap_or(DEFAULT_RELU_RESTARTS),
    };
    if opts.features == FeatureMap::Identity && opts.identity_block.is_some() {
        return Err(SketchError::Usage(
            "--identity-block with identity features: the sketch already is the allele frequencies"
                .into(),
        ));
    }
    for (flag, w) in [
        ("--identity-weight", opts.identity_block.unwrap_or(1.0)),
        ("--count-weight", opts.count_weight),
    ] {
        if !(w.is_finite() && w >= 0.0) {
            return Err(SketchError::Usage(format!(
                "{flag} {w}: a loss weight is a finite number >= 0"
            )));
        }
    }
    let gm = open_artifact(input, ArtifactKind::Genotypes)?;
    let variants_path = gm.companion(input, "variants")?;
    let vm = open_artifact(&variants_path, ArtifactKind::Variants)?;
    let matrix = read_genotypes_parquet(input)?;
    let group = check_group(&matrix, input)?;
    if matrix.n_haplotypes() == 0 {
        return Err(SketchError::Usage(format!(
            "{}: no haplotypes",
            input.display()
        )));
    }
    let spec = opts.spec(matrix.n_snps()).map_err(|e| match e {
        ArtifactError::Invalid { message } => {
            SketchError::Usage(format!("{}: {message}", input.display()))
        }
        other => other.into(),
    })?;
    if let Some(dp) = &opts.dp {
        dp.check()?;
        if opts.count_features > 0 {
            return Err(SketchError::Usage(
                "--count-features with --dp-epsilon: the count features' thresholds are quantiles \
                 of the group's own allele counts, which the guarantee would not cover"
                    .into(),
            ));
        }
    }
    let count_block = if opts.count_features > 0 {
        Some(CountBlock::from_counts(
            &haplotype_counts(&matrix),
            opts.count_features,
        )?)
    } else {
        None
    };
    let row_len = spec.features
        + if opts.identity_block.is_some() {
            matrix.n_snps()
        } else {
            0
        }
        + count_block.as_ref().map_or(0, |b| b.thresholds.len());
    let restart_seeds: Vec<u64> = (0..restarts as u64)
        .map(|r| restart_seed(opts.seed, r))
        .collect();

    let total = (restarts * spec.features) as u64;
    let mut values = Vec::with_capacity(restarts * row_len);
    // Under DP: the released haplotype count, allele frequencies and privacy record.
    let mut private: Option<(f64, Vec<f64>, artifact::DpRelease)> = None;
    if let Some(dp) = &opts.dp {
        let (clip, clip_source) = match dp.clip {
            Some(c) => (c, "--dp-clip".to_string()),
            None => (
                dp::default_clip(&spec, &restart_seeds, opts.seed),
                "public default: the median norm of 64 data-free individuals whose alleles are \
                 fair coins, under this feature map and seed"
                    .to_string(),
            ),
        };
        let noise = dp::noise_seed(dp.noise_seed)?;
        progress(0, total);
        let release = dp::private_sum(&matrix, &spec, &restart_seeds, clip, dp, noise);
        progress(total, total);
        let n = release.haplotypes;
        let m = matrix.n_snps();
        let d = if spec.map == FeatureMap::Identity {
            0
        } else {
            spec.features
        };
        let frequencies: Vec<f64> = release.sum[restarts * d..]
            .iter()
            .map(|c| (c / n).clamp(0.0, 1.0))
            .collect();
        debug_assert_eq!(frequencies.len(), m);
        for r in 0..restarts {
            if spec.map == FeatureMap::Identity {
                values.extend(frequencies.iter().map(|&f| f as f32));
            } else {
                values.extend(
                    release.sum[r * d..(r + 1) * d]
                        .iter()
                        .map(|s| (s / n) as f32),
                );
            }
            if opts.identity_block.is_some() {
                values.extend(frequencies.iter().map(|&f| f as f32));
            }
        }
        let scales = release.scales;
        let record = artifact::DpRelease {
            epsilon: dp.epsilon,
            delta: dp.delta,
            relation: dp.relation,
            clip,
            clip_source,
            sensitivity: scales.sensitivity,
            noise_sd: scales.sum_sd,
            count_noise_sd: scales.count_sd,
            gdp_mu: scales.mu,
            accountant: "Gaussian DP, tight conversion to (epsilon, delta) (Dong, Roth and Su \
                 2019; the analytic Gaussian mechanism of Balle and Wang 2018)"
                .into(),
            noise_source: if dp.noise_seed.is_some() {
                "seeded by --dp-noise-seed (not recorded; whoever knows it can remove the noise)"
                    .into()
            } else {
                "the operating system's entropy (not reproducible, by design)".into()
            },
            count: match dp.relation {
                artifact::DpRelation::AddRemove => format!(
                    "private: the haplotype count is released with Gaussian noise of sd {:.3} \
                     ({:.0}% of mu^2) and rounded; the sketch is the noisy sum over it",
                    scales.count_sd,
                    dp::COUNT_SHARE * 100.0
                ),
                artifact::DpRelation::ReplaceOne => {
                    "public: the number of individuals is fixed by the relation".into()
                }
            },
            snp_list: snp_list_note(input, &gm),
            sites: 1,
        };
        private = Some((n.round(), frequencies, record));
    } else {
        // The extra blocks do not depend on W: computed once, appended to every row.
        let mut extra = Vec::new();
        if opts.identity_block.is_some() {
            extra.extend(allele_frequencies(&matrix));
        }
        if let Some(block) = &count_block {
            extra.extend(mean_count_features(&matrix, block));
        }
        let done = std::sync::atomic::AtomicU64::new(0);
        for &s in &restart_seeds {
            let tick = |k: u64| {
                let d = done.fetch_add(k, std::sync::atomic::Ordering::Relaxed) + k;
                progress(d, total);
            };
            values.extend(mean_features(&matrix, &spec, s, &tick));
            values.extend_from_slice(&extra);
        }
    }
    let released_haplotypes = private
        .as_ref()
        .map_or(matrix.n_haplotypes() as u64, |p| p.0 as u64);
    let sketch = Sketch {
        restarts,
        features: row_len,
        values,
    };
    let info = SketchInfo {
        group: group.clone(),
        haplotypes: released_haplotypes,
        snps: matrix.n_snps() as u64,
        features: opts.features,
        init: opts.init,
        // The multiplier only means something for relu features.
        multiplier: if opts.features != FeatureMap::Relu {
            1
        } else {
            opts.multiplier as u64
        },
        feature_count: row_len as u64,
        restarts: restarts as u64,
        seed: opts.seed,
        restart_seeds,
        weight_generator: WEIGHT_GENERATOR.to_string(),
        window: (spec.map == FeatureMap::Window).then_some(spec.window as u64),
        stride: (spec.map == FeatureMap::Window).then_some(spec.stride as u64),
        per_window: (spec.map == FeatureMap::Window).then_some(spec.per_window as u64),
        identity_block: opts.identity_block.is_some(),
        identity_weight: opts.identity_block.unwrap_or(1.0),
        count_features: opts.count_features as u64,
        count_weight: opts.count_weight,
        count_thresholds: count_block
            .as_ref()
            .map(|b| b.thresholds.clone())
            .unwrap_or_default(),
        count_scale: count_block.as_ref().map_or(1.0, |b| b.scale),
        privacy: private.as_ref().map(|p| p.2.clone()),
    };

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new("sketch", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let sketch_path = out_dir.join(SKETCH_FILE);
    let mut out = OutputSet::new();

    let variants_copy = match &private {
        None => out.stage_variants_copy(out_dir, &producer, &group, (&variants_path, &vm))?,
        Some((n, frequencies, _)) => private_variants(
            &mut out,
            out_dir,
            &producer,
            &group,
            (&variants_path, &vm),
            *n,
            frequencies,
        )?,
    };

    let mut manifest = info
        .into_params(Manifest::new(ArtifactKind::Sketch, producer))
        .count("haplotypes", released_haplotypes)
        .count("snps", matrix.n_snps() as u64);
    manifest.seed = Some(opts.seed);
    manifest.shape = vec![restarts as u64, row_len as u64];
    manifest.inputs = vec![
        FileRef::new("genotypes", input, gm.sha256.clone(), out_dir)?,
        FileRef::new("variants", &variants_path, vm.sha256.clone(), out_dir)?,
    ];
    manifest.companions = vec![variants_copy];
    out.stage_artifact(&sketch_path, manifest, |w| {
        sketch.write_npy(&mut *w)?;
        w.flush().map_err(|e| ArtifactError::io(&sketch_path, e))
    })?;
    out.commit()?;
    Ok(SketchSummary {
        group,
        haplotypes: matrix.n_haplotypes(),
        snps: matrix.n_snps(),
        restarts,
        features: row_len,
        patterns: None,
        privacy: private.map(|p| p.2),
        sketch: sketch_path,
    })
}

/// What the privacy record says of the SNP list: public when the split's input, the ingest,
/// kept a `--variants` list, else not covered by the guarantee.
fn snp_list_note(input: &Path, split_manifest: &Manifest) -> String {
    let dir = input.parent().unwrap_or(Path::new("."));
    let public = split_manifest
        .inputs
        .iter()
        .filter(|r| r.role == "genotypes")
        .filter_map(|r| open_artifact(&r.resolve(dir), ArtifactKind::Genotypes).ok())
        .find_map(|ingest| {
            let list = ingest.params.get("variants")?.as_str()?.to_string();
            let sha = ingest
                .inputs
                .iter()
                .find(|r| r.role == "snp_list")?
                .sha256
                .clone();
            Some((list, sha))
        });
    match public {
        Some((list, sha)) => format!(
            "public: exactly the SNPs of the list given to gmmn-ingest --variants ({list}, sha256 \
             {sha}); the allele frequencies of variants.parquet are private (from this release)"
        ),
        None => "not covered: the SNP list (and its positions and alleles) is the one gmmn-ingest \
                 chose from the cohort (VCF sites, --region, --min-maf; fix it with gmmn-ingest \
                 --variants); only the allele frequencies of variants.parquet are private (from \
                 this release)"
            .into(),
    }
}

/// The group's variants beside a private sketch: the same SNPs with the sketch's private
/// allele frequencies, and no count but the SNPs and the released haplotype count (the split's
/// counts of samples and monomorphic SNPs would leak).
fn private_variants(
    out: &mut OutputSet,
    out_dir: &Path,
    producer: &Producer,
    group: &str,
    (variants_path, source): (&Path, &Manifest),
    haplotypes: f64,
    frequencies: &[f64],
) -> Result<FileRef, SketchError> {
    let mut table = artifact::read_variants_parquet(variants_path)?;
    table.allele_frequency = frequencies.to_vec();
    let mut manifest = Manifest::new(ArtifactKind::Variants, producer.clone())
        .param("group", group.to_string())
        .param(
            "copied_from",
            "the group's variants, with the sketch's differentially private allele frequencies",
        )
        .count("snps", table.len() as u64)
        .count("haplotypes", haplotypes as u64);
    manifest.shape = source.shape.clone();
    manifest.inputs = vec![FileRef::new(
        "variants",
        variants_path,
        source.sha256.clone(),
        out_dir,
    )?];
    let target = out_dir.join(VARIANTS_FILE);
    let written = out.stage_artifact(&target, manifest, |w| {
        artifact::write_variants_parquet(&mut *w, &table)
    })?;
    Ok(FileRef::new("variants", &target, written.sha256, out_dir)?)
}

/// `gmmn-sketch --features patterns`: the continuations of the contexts that at least
/// min-count haplotypes share ([`chain::PatternSketch`]).
#[derive(Debug, Clone, Copy)]
pub struct PatternOptions {
    pub order: usize,
    pub min_count: usize,
    /// The min-count is at least this fraction of the group's haplotypes (rounded up), so that
    /// one setting protects small groups as well as large ones.
    pub min_fraction: f64,
}

impl Default for PatternOptions {
    fn default() -> Self {
        PatternOptions {
            order: chain::DEFAULT_ORDER,
            min_count: chain::DEFAULT_MIN_COUNT,
            min_fraction: chain::DEFAULT_MIN_FRACTION,
        }
    }
}

/// The pattern sketch of `input` (one group's genotype Parquet) into `out_dir/sketch.npy`
/// (+ variants copy): a u64 table of (snp, length, count, bits low, bits high) rows.
pub fn sketch_patterns(
    input: &Path,
    out_dir: &Path,
    opts: &PatternOptions,
) -> Result<SketchSummary, SketchError> {
    if !(opts.min_fraction.is_finite() && (0.0..0.5).contains(&opts.min_fraction)) {
        return Err(SketchError::Usage(format!(
            "--min-fraction {}: a fraction of the group's haplotypes, 0 <= f < 0.5",
            opts.min_fraction
        )));
    }
    let gm = open_artifact(input, ArtifactKind::Genotypes)?;
    let variants_path = gm.companion(input, "variants")?;
    let vm = open_artifact(&variants_path, ArtifactKind::Variants)?;
    let matrix = read_genotypes_parquet(input)?;
    let group = check_group(&matrix, input)?;
    let (n, m) = (matrix.n_haplotypes(), matrix.n_snps());
    let min_count = opts
        .min_count
        .max((opts.min_fraction * n as f64).ceil() as usize);
    let patterns = chain::PatternSketch::build(matrix.values(), n, m, opts.order, min_count)
        .map_err(|e| SketchError::Usage(format!("{}: {e}", input.display())))?;
    drop(matrix);
    let info = chain::info::PatternInfo {
        group: group.clone(),
        haplotypes: n as u64,
        snps: m as u64,
        features: chain::info::PATTERN_FEATURES.into(),
        order: opts.order as u64,
        min_count: min_count as u64,
        min_count_given: opts.min_count as u64,
        min_fraction: opts.min_fraction,
        patterns: patterns.patterns.len() as u64,
    };

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new("sketch", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let sketch_path = out_dir.join(SKETCH_FILE);
    let mut out = OutputSet::new();
    let variants_copy =
        out.stage_variants_copy(out_dir, &producer, &group, (&variants_path, &vm))?;
    let mut manifest =
        chain::info::into_params(&info, Manifest::new(ArtifactKind::Sketch, producer))
            .count("haplotypes", n as u64)
            .count("snps", m as u64)
            .count("patterns", info.patterns);
    manifest.shape = vec![info.patterns, chain::COLUMNS.len() as u64];
    manifest.inputs = vec![
        FileRef::new("genotypes", input, gm.sha256.clone(), out_dir)?,
        FileRef::new("variants", &variants_path, vm.sha256.clone(), out_dir)?,
    ];
    manifest.companions = vec![variants_copy];
    out.stage_artifact(&sketch_path, manifest, |w| {
        patterns.write_npy(&mut *w)?;
        w.flush().map_err(|e| ArtifactError::io(&sketch_path, e))
    })?;
    out.commit()?;
    Ok(SketchSummary {
        group,
        haplotypes: n,
        snps: m,
        restarts: 1,
        features: info.patterns as usize,
        patterns: Some((info.patterns, info.min_count)),
        privacy: None,
        sketch: sketch_path,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use artifact::HaplotypeLabel;

    /// A small deterministic one-group matrix (also the dp module's tests').
    pub(crate) fn toy(n: usize, m: usize) -> GenotypeMatrix {
        let labels = (0..n)
            .map(|i| HaplotypeLabel {
                sample: format!("s{}", i / 2),
                haplotype: (i % 2) as u8,
                group: Some("G".into()),
            })
            .collect();
        let values = (0..n * m)
            .map(|k| ((k * 7 + k / 3) % 5 == 0) as u8)
            .collect();
        GenotypeMatrix::new(labels, m, values).unwrap()
    }

    #[test]
    fn relu_sketch_matches_naive_mean() {
        // More haplotypes and features than one block, to cross block edges.
        let (n, m) = (300, 37);
        let gm = toy(n, m);
        let spec = FeatureSpec::new(FeatureMap::Relu, WeightInit::Gaussian, m, 9).unwrap();
        let mu = mean_features(&gm, &spec, 5, &|_| {});
        let w = spec.weight(5);
        for f in 0..spec.features {
            let mut s = 0f64;
            for i in 0..n {
                let dot: f64 = (0..m)
                    .map(|j| w[f * m + j] as f64 * gm.row(i)[j] as f64)
                    .sum();
                s += dot.max(0.0);
            }
            let naive = (s / n as f64) as f32;
            assert!(
                (naive - mu[f]).abs() <= 1e-6 * naive.abs().max(1.0),
                "feature {f}"
            );
        }
    }

    #[test]
    fn identity_sketch_is_allele_frequency() {
        let gm = toy(10, 4);
        let spec = FeatureSpec::new(FeatureMap::Identity, WeightInit::Gaussian, 4, 10).unwrap();
        let mu = mean_features(&gm, &spec, 0, &|_| {});
        let counts = gm.allele_counts();
        for j in 0..4 {
            assert_eq!(mu[j], (counts[j] as f64 / 10.0) as f32);
        }
    }

    #[test]
    fn window_sketch_matches_naive_mean() {
        // 37 SNPs, windows of 8 every 5: the last window is moved to end at SNP 37.
        let (n, m) = (50, 37);
        let gm = toy(n, m);
        let spec = FeatureSpec::windowed(WeightInit::Gaussian, m, 8, 5, 3).unwrap();
        let starts = spec.window_starts();
        assert_eq!(*starts.last().unwrap(), 29);
        let mu = mean_features(&gm, &spec, 5, &|_| {});
        let w = spec.weight(5);
        assert_eq!(mu.len(), starts.len() * 3);
        for (i, &a) in starts.iter().enumerate() {
            for k in 0..3 {
                let row = &w[(i * 3 + k) * 8..(i * 3 + k + 1) * 8];
                let s: f64 = (0..n)
                    .map(|h| {
                        (0..8)
                            .map(|j| row[j] as f64 * gm.row(h)[a + j] as f64)
                            .sum::<f64>()
                            .max(0.0)
                    })
                    .sum();
                assert_eq!(
                    mu[i * 3 + k],
                    (s / n as f64) as f32,
                    "window {i} feature {k}"
                );
            }
        }
    }

    #[test]
    fn count_features_are_means_over_haplotypes() {
        let gm = toy(40, 30);
        let counts = haplotype_counts(&gm);
        let block = CountBlock::from_counts(&counts, 5).unwrap();
        let mu = mean_count_features(&gm, &block);
        for (k, t) in block.thresholds.iter().enumerate() {
            let naive = counts
                .iter()
                .map(|&c| ((c as f64 - t) / block.scale).powi(2).ln_1p())
                .sum::<f64>()
                / 40.0;
            assert!((mu[k] as f64 - naive).abs() < 1e-7);
        }
    }
}
