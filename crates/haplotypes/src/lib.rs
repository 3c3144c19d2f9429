//! Labelled haplotypes for the evaluation stages (`gmmn-project`, `gmmn-discriminate`).
//!
//! Both stages judge any simulator's output, so both read the same inputs the same way:
//! * a genotype Parquet written by this project (a group file of `gmmn-split`, a synthetic file
//!   of `gmmn-sample`, or the ingest file plus a panel), verified through its manifest;
//! * a directory of such group files (every `*.parquet` but the `*.variants.parquet`
//!   companions), e.g. `out/1kg/groups` or `out/1kg/synthetic`;
//! * a VCF/BCF-text file (plain, gzip or bgzip) from any tool, with a panel that labels samples.
//!
//! [`bits`] holds the bit-packed Hamming kernels both stages use; [`synthetic`], [`vcf`] and
//! [`plink`] write simulated haplotypes (held SNP-major in [`snp_major`]) as every simulator
//! stage does (gmmn-sample, gmmn-reference).

pub mod bits;
pub mod plink;
pub mod snp_major;
pub mod synthetic;
pub mod vcf;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use artifact::{
    open_artifact, read_genotypes_parquet, read_variants_parquet, ArtifactError, ArtifactKind,
    GenotypeMatrix, HaplotypeLabel, Variant,
};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Mismatch(String),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    #[error(transparent)]
    Panel(#[from] split::SplitError),
}

fn invalid(path: &Path, message: impl Into<String>) -> InputError {
    InputError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Where one side (real or synthetic) comes from.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// Genotype Parquet, directory of group Parquets, or VCF.
    pub path: PathBuf,
    /// Tab-separated panel (`sample` column + label column). Required for a VCF and for an
    /// ingest Parquet whose rows have no group; when given for group files it overrides their
    /// group.
    pub panel: Option<PathBuf>,
    /// Panel column holding the group. A panel without it but with a `group` column (what
    /// `gmmn-sample` and the baselines write) uses `group`.
    pub label: String,
    /// Keep only these groups (None: all).
    pub groups: Option<Vec<String>>,
    /// For a directory: read the held-out parts `*.heldout.parquet` of a gmmn-split with a
    /// hold-out instead of its training parts (which are read, and the held-out ones skipped,
    /// when false).
    pub heldout: bool,
}

/// Haplotypes with a group each, plus the variants they are genotyped at.
#[derive(Debug, Clone)]
pub struct HaplotypeSet {
    /// Every label has `group: Some(..)`.
    pub matrix: GenotypeMatrix,
    pub variants: Vec<Variant>,
    /// The data files read (for the output manifests' inputs).
    pub files: Vec<PathBuf>,
}

impl HaplotypeSet {
    pub fn n(&self) -> usize {
        self.matrix.n_haplotypes()
    }

    pub fn snps(&self) -> usize {
        self.matrix.n_snps()
    }

    pub fn group(&self, i: usize) -> &str {
        self.matrix.labels()[i].group.as_deref().unwrap_or_default()
    }

    /// Groups in sorted order with the rows of each, in row order.
    pub fn rows_by_group(&self) -> BTreeMap<String, Vec<usize>> {
        let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..self.n() {
            out.entry(self.group(i).to_string()).or_default().push(i);
        }
        out
    }
}

fn is_vcf(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".vcf", ".vcf.gz", ".vcf.bgz", ".vcf.bgzf"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// The group files of a directory, sorted by name: `*.parquet` except `*.variants.parquet`, and
/// of those the held-out parts `*.heldout.parquet` (gmmn-split --holdout-fraction) when
/// `heldout`, else every other one.
fn group_files(dir: &Path, heldout: bool) -> Result<Vec<PathBuf>, InputError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ArtifactError::io(dir, e))?;
    let held_suffix = format!(".{}", split::HELDOUT_SUFFIX);
    let mut files = Vec::new();
    for e in entries {
        let p = e.map_err(|e| ArtifactError::io(dir, e))?.path();
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if name.ends_with(".parquet")
            && !name.ends_with(".variants.parquet")
            && name.ends_with(&held_suffix) == heldout
        {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(invalid(
            dir,
            if heldout {
                "no held-out genotype Parquet (*.heldout.parquet, written by gmmn-split --holdout-fraction) in this directory"
            } else {
                "no genotype Parquet (*.parquet other than *.variants.parquet and *.heldout.parquet) in this directory"
            },
        ));
    }
    Ok(files)
}

/// The panel's label column: `label` if the header has it, else `group` if it has that, else
/// `label` (so that the panel reader's error names the missing column).
fn panel_column(panel: &Path, label: &str) -> Result<String, InputError> {
    let text = std::fs::read_to_string(panel).map_err(|e| ArtifactError::io(panel, e))?;
    let header: Vec<&str> = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .split('\t')
        .map(str::trim)
        .collect();
    if !header.contains(&label) && header.contains(&"group") {
        return Ok("group".into());
    }
    Ok(label.to_string())
}

fn read_parquet_input(path: &Path) -> Result<(GenotypeMatrix, Vec<Variant>), InputError> {
    let manifest = open_artifact(path, ArtifactKind::Genotypes)?;
    let variants_path = manifest.companion(path, "variants")?;
    open_artifact(&variants_path, ArtifactKind::Variants)?;
    let variants = read_variants_parquet(&variants_path)?.variants;
    let matrix = read_genotypes_parquet(path)?;
    if variants.len() != matrix.n_snps() {
        return Err(invalid(
            path,
            format!(
                "{} SNPs per row but its variants file {} lists {}",
                matrix.n_snps(),
                variants_path.display(),
                variants.len()
            ),
        ));
    }
    Ok((matrix, variants))
}

fn read_vcf_input(path: &Path) -> Result<(GenotypeMatrix, Vec<Variant>), InputError> {
    let opts = ingest::IngestOptions::default();
    let ingested = ingest::read_vcf(path, &opts, &indicatif::ProgressBar::hidden())?;
    let n = ingested.labels.len();
    if ingested.variants.is_empty() {
        return Err(invalid(path, "no biallelic SNP records"));
    }
    let values = ingested.snps.haplotype_rows(0, n);
    let matrix = GenotypeMatrix::new(ingested.labels, ingested.variants.len(), values)
        .map_err(|e| invalid(path, e.to_string()))?;
    Ok((matrix, ingested.variants))
}

/// Give every row its panel label, or fail naming the first sample the panel lacks.
fn label_rows(
    matrix: GenotypeMatrix,
    data: &Path,
    panel: &Path,
    label: &str,
) -> Result<GenotypeMatrix, InputError> {
    let column = panel_column(panel, label)?;
    let table = split::read_panel(panel, &column)?;
    let mut labels = matrix.labels().to_vec();
    for l in labels.iter_mut() {
        let Some((group, _)) = table.labels.get(&l.sample) else {
            return Err(invalid(
                data,
                format!(
                    "sample `{}` is not in the panel {} (column `{column}`)",
                    l.sample,
                    panel.display()
                ),
            ));
        };
        l.group = Some(group.clone());
    }
    let n_snps = matrix.n_snps();
    // `labels` is a copy of the label list only; the genotype values move, not copy.
    let values = matrix.into_values();
    Ok(GenotypeMatrix::new(labels, n_snps, values)?)
}

/// Keep the rows of `groups` (all when None), in order.
fn keep_groups(
    matrix: GenotypeMatrix,
    groups: Option<&[String]>,
    source: &Path,
) -> Result<GenotypeMatrix, InputError> {
    let Some(groups) = groups else {
        return Ok(matrix);
    };
    let present: BTreeSet<&str> = matrix
        .labels()
        .iter()
        .filter_map(|l| l.group.as_deref())
        .collect();
    if let Some(g) = groups.iter().find(|g| !present.contains(g.as_str())) {
        return Err(invalid(
            source,
            format!(
                "no haplotypes of group `{g}` (groups here: {})",
                present.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let m = matrix.n_snps();
    let keep: Vec<bool> = matrix
        .labels()
        .iter()
        .map(|l| l.group.as_ref().is_some_and(|g| groups.contains(g)))
        .collect();
    let labels: Vec<HaplotypeLabel> = matrix
        .labels()
        .iter()
        .zip(&keep)
        .filter(|(_, &k)| k)
        .map(|(l, _)| l.clone())
        .collect();
    let mut values = matrix.into_values();
    let mut w = 0;
    for (i, &k) in keep.iter().enumerate() {
        if k {
            values.copy_within(i * m..(i + 1) * m, w * m);
            w += 1;
        }
    }
    values.truncate(w * m);
    Ok(GenotypeMatrix::new(labels, m, values)?)
}

/// Load one side of an evaluation.
pub fn load(spec: &InputSpec) -> Result<HaplotypeSet, InputError> {
    let path = spec.path.as_path();
    if !path.exists() {
        return Err(invalid(path, "no such file or directory"));
    }
    let (matrix, variants, files) = if path.is_dir() {
        let files = group_files(path, spec.heldout)?;
        let mut labels = Vec::new();
        let mut values = Vec::new();
        let mut variants: Option<(Vec<Variant>, PathBuf)> = None;
        for f in &files {
            let (m, v) = read_parquet_input(f)?;
            match &variants {
                None => variants = Some((v, f.clone())),
                Some((first, first_file)) => {
                    if let Some(msg) = variants_differ(first, &v) {
                        return Err(invalid(
                            f,
                            format!(
                                "variants differ from those of {}: {msg}",
                                first_file.display()
                            ),
                        ));
                    }
                }
            }
            labels.extend_from_slice(m.labels());
            values.extend_from_slice(m.values());
        }
        let (variants, _) = variants.expect("group_files returns at least one file");
        let matrix = GenotypeMatrix::new(labels, variants.len(), values)?;
        (matrix, variants, files)
    } else if is_vcf(path) {
        if spec.panel.is_none() {
            return Err(invalid(
                path,
                "a VCF carries no groups: give its panel too (--real-panel / --synthetic-panel, a tab-separated `sample<TAB>group` file)",
            ));
        }
        let (m, v) = read_vcf_input(path)?;
        (m, v, vec![path.to_path_buf()])
    } else {
        let (m, v) = read_parquet_input(path)?;
        (m, v, vec![path.to_path_buf()])
    };
    let matrix = match &spec.panel {
        Some(panel) => label_rows(matrix, path, panel, &spec.label)?,
        None => matrix,
    };
    if let Some(i) = matrix.labels().iter().position(|l| l.group.is_none()) {
        return Err(invalid(
            path,
            format!(
                "haplotype {i} (sample `{}`) has no group: give a panel",
                matrix.labels()[i].sample
            ),
        ));
    }
    let matrix = keep_groups(matrix, spec.groups.as_deref(), path)?;
    if matrix.n_haplotypes() == 0 {
        return Err(invalid(path, "no haplotypes"));
    }
    let mut files = files;
    if let Some(p) = &spec.panel {
        files.push(p.clone());
    }
    Ok(HaplotypeSet {
        matrix,
        variants,
        files,
    })
}

/// Why two variant lists are not the same SNPs (count, or the first differing chrom:pos and
/// alleles), or None.
pub fn variants_differ(a: &[Variant], b: &[Variant]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} SNPs against {}", a.len(), b.len()));
    }
    a.iter().zip(b).enumerate().find_map(|(j, (x, y))| {
        (x.chrom != y.chrom
            || x.pos != y.pos
            || x.reference != y.reference
            || x.alternate != y.alternate)
            .then(|| {
                format!(
                    "SNP {} is {}:{} {}>{} against {}:{} {}>{}",
                    j + 1,
                    x.chrom,
                    x.pos,
                    x.reference,
                    x.alternate,
                    y.chrom,
                    y.pos,
                    y.reference,
                    y.alternate
                )
            })
    })
}

/// Real and synthetic must be genotyped at the same SNPs, in the same order.
pub fn check_same_variants(
    real: &HaplotypeSet,
    synthetic: &HaplotypeSet,
) -> Result<(), InputError> {
    match variants_differ(&real.variants, &synthetic.variants) {
        None => Ok(()),
        Some(why) => Err(InputError::Mismatch(format!(
            "real ({}) and synthetic ({}) are not genotyped at the same variants: {why}",
            real.files[0].display(),
            synthetic.files[0].display()
        ))),
    }
}

/// Real and synthetic must hold the same groups (a group on one side only cannot be judged).
pub fn check_same_groups(real: &HaplotypeSet, synthetic: &HaplotypeSet) -> Result<(), InputError> {
    let r: BTreeSet<String> = real.rows_by_group().into_keys().collect();
    let s: BTreeSet<String> = synthetic.rows_by_group().into_keys().collect();
    if r == s {
        return Ok(());
    }
    let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
        a.difference(b).cloned().collect::<Vec<_>>().join(", ")
    };
    Err(InputError::Mismatch(format!(
        "groups differ: only in real ({}): [{}]; only in synthetic ({}): [{}] (choose groups with --groups)",
        real.files[0].display(),
        only(&r, &s),
        synthetic.files[0].display(),
        only(&s, &r)
    )))
}
