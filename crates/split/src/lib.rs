//! `gmmn-split`: genotype Parquet + population panel -> one genotype Parquet per group.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use artifact::rng::{derive_seed, SeededRng};
use artifact::{
    allele_counts_of_rows, open_artifact, read_genotypes_parquet, read_variants_parquet,
    write_variants_parquet, ArtifactError, ArtifactKind, FileRef, Manifest, OutputSet, Producer,
    VariantTable,
};

#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Panel {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("{0}")]
    Groups(String),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

fn panel_err(path: &Path, line: Option<usize>, message: impl Into<String>) -> SplitError {
    SplitError::Panel {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// sample id -> label in the chosen column, with the line each sample came from.
#[derive(Debug)]
pub struct Panel {
    pub column: String,
    pub labels: HashMap<String, (String, usize)>,
}

/// Read a panel: tab-separated with a header line; the sample id column is the one named
/// `sample` (any case), else the first.
pub fn read_panel(path: &Path, column: &str) -> Result<Panel, SplitError> {
    let text = std::fs::read_to_string(path).map_err(|e| SplitError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(panel_err(
            path,
            None,
            "empty panel (a header line and one line per sample expected)",
        ));
    };
    let split = |l: &str| -> Vec<String> {
        l.trim_end_matches(['\r', '\t', ' '])
            .split('\t')
            .map(|s| s.trim().to_string())
            .collect()
    };
    let names = split(header);
    if names.len() < 2 {
        return Err(panel_err(
            path,
            Some(1),
            format!("header `{header}` has one column; a tab-separated `sample<TAB>{column}...` header is expected"),
        ));
    }
    let sample_col = names
        .iter()
        .position(|n| n.eq_ignore_ascii_case("sample"))
        .unwrap_or(0);
    let Some(label_col) = names.iter().position(|n| n == column) else {
        return Err(panel_err(
            path,
            Some(1),
            format!(
                "no column `{column}` in the header (columns: {})",
                names.join(", ")
            ),
        ));
    };
    let mut labels: HashMap<String, (String, usize)> = HashMap::new();
    for (i, line) in lines {
        let line_no = i + 1;
        let fields = split(line);
        if fields.len() < names.len() {
            return Err(panel_err(
                path,
                Some(line_no),
                format!("{} columns, the header has {}", fields.len(), names.len()),
            ));
        }
        let sample = &fields[sample_col];
        let label = &fields[label_col];
        if sample.is_empty() || label.is_empty() {
            return Err(panel_err(path, Some(line_no), "empty sample id or label"));
        }
        if let Some((_, prev)) = labels.insert(sample.clone(), (label.clone(), line_no)) {
            return Err(panel_err(
                path,
                Some(line_no),
                format!("sample `{sample}` appears twice (first on line {prev})"),
            ));
        }
    }
    if labels.is_empty() {
        return Err(panel_err(path, None, "no samples below the header"));
    }
    Ok(Panel {
        column: column.to_string(),
        labels,
    })
}

#[derive(Debug, Clone)]
pub struct SplitOptions {
    pub panel: PathBuf,
    pub column: String,
    /// Groups to write; None = every label found among the genotype file's samples.
    pub groups: Option<Vec<String>>,
    /// Leave out samples the panel does not list (else an error).
    pub drop_unlabelled: bool,
    /// A requested group with fewer haplotypes is an error.
    pub min_haplotypes: usize,
    /// Share of each group's individuals held out (written to `<G>.heldout.parquet`, never
    /// sketched, for the evaluation); 0 = off.
    pub holdout_fraction: f64,
    /// Seed of the held-out draw.
    pub seed: u64,
}

/// File name of a group's held-out haplotypes, beside its training file `<G>.parquet`.
pub fn heldout_file_name(group: &str) -> String {
    format!("{group}.{HELDOUT_SUFFIX}")
}

/// `<G>.heldout.parquet`: the held-out part of a split (see [`SplitOptions::holdout_fraction`]).
pub const HELDOUT_SUFFIX: &str = "heldout.parquet";

#[derive(Debug, Clone)]
pub struct GroupOutput {
    pub group: String,
    pub haplotypes: usize,
    pub samples: usize,
    pub genotypes: PathBuf,
    pub variants: PathBuf,
    /// With a hold-out: (haplotypes, samples, file) of the held-out part.
    pub heldout: Option<(usize, usize, PathBuf)>,
}

#[derive(Debug, Clone)]
pub struct SplitSummary {
    pub snps: usize,
    pub groups: Vec<GroupOutput>,
    pub unlabelled_samples: usize,
}

impl std::fmt::Display for SplitSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} SNPs; {} groups:", self.snps, self.groups.len())?;
        for g in &self.groups {
            writeln!(
                f,
                "  {:<12} {:>6} haplotypes ({} samples)  {}",
                g.group,
                g.haplotypes,
                g.samples,
                g.genotypes.display()
            )?;
            if let Some((h, n, path)) = &g.heldout {
                writeln!(
                    f,
                    "  {:<12} {:>6} haplotypes ({} samples)  {}  (held out)",
                    "",
                    h,
                    n,
                    path.display()
                )?;
            }
        }
        if self.unlabelled_samples > 0 {
            writeln!(
                f,
                "  left out {} samples absent from the panel (--drop-unlabelled)",
                self.unlabelled_samples
            )?;
        }
        Ok(())
    }
}

/// Accept either an ingest output directory or the genotype Parquet file itself.
pub fn resolve_genotypes(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.join("genotypes.parquet")
    } else {
        input.to_path_buf()
    }
}

/// A group name gmmn-split accepts: it becomes a file name (`<GROUP>.parquet`), so letters,
/// digits, `_`, `-` and `.`, not starting with `.`.
pub fn valid_group_name(g: &str) -> bool {
    !g.is_empty()
        && !g.starts_with('.')
        && g.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Split `input` (genotype Parquet or ingest directory) into `out_dir/<GROUP>.parquet` and
/// `out_dir/<GROUP>.variants.parquet` (allele frequencies of that group), with manifests.
pub fn split(
    input: &Path,
    out_dir: &Path,
    opts: &SplitOptions,
) -> Result<SplitSummary, SplitError> {
    if !(0.0..1.0).contains(&opts.holdout_fraction) {
        return Err(SplitError::Groups(format!(
            "--holdout-fraction {} must be at least 0 and below 1",
            opts.holdout_fraction
        )));
    }
    let genotypes_path = resolve_genotypes(input);
    let gm = open_artifact(&genotypes_path, ArtifactKind::Genotypes)?;
    let variants_path = gm.companion(&genotypes_path, "variants")?;
    let vm = open_artifact(&variants_path, ArtifactKind::Variants)?;
    let panel = read_panel(&opts.panel, &opts.column)?;
    let matrix = read_genotypes_parquet(&genotypes_path)?;
    let variants = read_variants_parquet(&variants_path)?;
    if variants.len() != matrix.n_snps() {
        return Err(ArtifactError::Layout {
            path: variants_path.clone(),
            message: format!(
                "{} variants but {} has {} SNP columns",
                variants.len(),
                genotypes_path.display(),
                matrix.n_snps()
            ),
        }
        .into());
    }

    // Label every haplotype; collect samples the panel lacks.
    let mut unlabelled: Vec<&str> = Vec::new();
    let mut rows_by_group: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in matrix.labels().iter().enumerate() {
        match panel.labels.get(&l.sample) {
            Some((label, _)) => rows_by_group.entry(label.as_str()).or_default().push(i),
            None => {
                if unlabelled.last() != Some(&l.sample.as_str()) {
                    unlabelled.push(&l.sample);
                }
            }
        }
    }
    if !unlabelled.is_empty() && !opts.drop_unlabelled {
        let shown: Vec<&str> = unlabelled.iter().take(5).copied().collect();
        return Err(panel_err(
            &opts.panel,
            None,
            format!(
                "{} of the {} samples of {} are not in the panel (first: {}{}); pass --drop-unlabelled to leave them out",
                unlabelled.len(),
                {
                    let mut all: Vec<&str> = matrix.labels().iter().map(|l| l.sample.as_str()).collect();
                    all.dedup();
                    all.len()
                },
                genotypes_path.display(),
                shown.join(", "),
                if unlabelled.len() > 5 { ", ..." } else { "" }
            ),
        ));
    }

    let groups: Vec<String> = match &opts.groups {
        Some(g) => g.clone(),
        None => rows_by_group.keys().map(|s| s.to_string()).collect(),
    };
    if groups.is_empty() {
        return Err(SplitError::Groups("no groups to write".into()));
    }
    let available = || {
        rows_by_group
            .iter()
            .map(|(g, r)| format!("{g} ({})", r.len()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (i, g) in groups.iter().enumerate() {
        if groups[..i].contains(g) {
            return Err(SplitError::Groups(format!("group `{g}` requested twice")));
        }
        if !valid_group_name(g) {
            return Err(SplitError::Groups(format!(
                "group `{g}`: names must be letters, digits, `_`, `-` or `.` (they become file names)"
            )));
        }
        let n = rows_by_group.get(g.as_str()).map_or(0, Vec::len);
        if n == 0 {
            return Err(SplitError::Groups(format!(
                "group `{g}` has no haplotypes in {} (column `{}` of {} has: {})",
                genotypes_path.display(),
                opts.column,
                opts.panel.display(),
                available()
            )));
        }
        if n < opts.min_haplotypes {
            return Err(SplitError::Groups(format!(
                "group `{g}` has only {n} haplotypes, fewer than --min-haplotypes {}",
                opts.min_haplotypes
            )));
        }
    }

    std::fs::create_dir_all(out_dir).map_err(|e| SplitError::Io {
        path: out_dir.to_path_buf(),
        source: e,
    })?;
    let inputs = vec![
        FileRef::new("genotypes", &genotypes_path, gm.sha256.clone(), out_dir)?,
        FileRef::new("variants", &variants_path, vm.sha256.clone(), out_dir)?,
        FileRef::hashed("panel", &opts.panel, out_dir)?,
    ];
    let producer = Producer::new("split", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let mut out = OutputSet::new();
    let mut outputs = Vec::new();
    let write = |out: &mut OutputSet,
                 g: &str,
                 rows: &[usize],
                 part: &str,
                 gpath: &Path,
                 vpath: &Path|
     -> Result<usize, SplitError> {
        let samples = count_samples(&matrix, rows);
        let counts = allele_counts_of_rows(matrix.n_snps(), rows.iter().map(|&i| matrix.row(i)));
        let monomorphic = counts
            .iter()
            .filter(|&&c| c == 0 || c == rows.len() as u64)
            .count();
        let table = VariantTable::with_counts(variants.variants.clone(), &counts, rows.len());
        let base = |kind| {
            let mut m = Manifest::new(kind, producer.clone())
                .param("panel", opts.panel.display().to_string())
                .param("column", opts.column.clone())
                .param("group", g.to_string())
                .param("groups", groups.clone())
                .param("drop_unlabelled", opts.drop_unlabelled)
                .param("min_haplotypes", opts.min_haplotypes as u64)
                .param("holdout_fraction", opts.holdout_fraction)
                .param("part", part)
                .count("haplotypes", rows.len() as u64)
                .count("samples", samples as u64)
                .count("snps", matrix.n_snps() as u64)
                .count("monomorphic_snps", monomorphic as u64)
                .count("unlabelled_samples", unlabelled.len() as u64);
            // The draw of the held-out individuals is the one random thing a split does.
            m.seed = (opts.holdout_fraction > 0.0).then_some(opts.seed);
            m.inputs = inputs.clone();
            m
        };
        let mut v = base(ArtifactKind::Variants);
        v.shape = vec![matrix.n_snps() as u64];
        let v = out.stage_artifact(vpath, v, |w| write_variants_parquet(w, &table))?;
        let mut m = base(ArtifactKind::Genotypes);
        m.shape = vec![rows.len() as u64, matrix.n_snps() as u64];
        m.companions = vec![FileRef::new("variants", vpath, v.sha256.clone(), out_dir)?];
        out.stage_artifact(gpath, m, |w| matrix.write_rows_parquet(w, rows, Some(g)))?;
        Ok(samples)
    };
    for g in &groups {
        let rows = &rows_by_group[g.as_str()];
        let gpath = out_dir.join(format!("{g}.parquet"));
        let vpath = out_dir.join(format!("{g}.variants.parquet"));
        if opts.holdout_fraction == 0.0 {
            let samples = write(&mut out, g, rows, "all", &gpath, &vpath)?;
            outputs.push(GroupOutput {
                group: g.clone(),
                haplotypes: rows.len(),
                samples,
                genotypes: gpath,
                variants: vpath,
                heldout: None,
            });
            continue;
        }
        let (training, heldout) = holdout_rows(&matrix, rows, g, opts)?;
        let samples = write(&mut out, g, &training, "training", &gpath, &vpath)?;
        let hpath = out_dir.join(heldout_file_name(g));
        let hvpath = out_dir.join(format!("{g}.heldout.variants.parquet"));
        let hsamples = write(&mut out, g, &heldout, "heldout", &hpath, &hvpath)?;
        outputs.push(GroupOutput {
            group: g.clone(),
            haplotypes: training.len(),
            samples,
            genotypes: gpath,
            variants: vpath,
            heldout: Some((heldout.len(), hsamples, hpath)),
        });
    }
    out.commit()?;
    Ok(SplitSummary {
        snps: matrix.n_snps(),
        groups: outputs,
        unlabelled_samples: if opts.drop_unlabelled {
            unlabelled.len()
        } else {
            0
        },
    })
}

/// Distinct samples among `rows` (a sample's haplotypes are adjacent rows).
fn count_samples(matrix: &artifact::GenotypeMatrix, rows: &[usize]) -> usize {
    let mut s: Vec<&str> = rows
        .iter()
        .map(|&i| matrix.labels()[i].sample.as_str())
        .collect();
    s.dedup();
    s.len()
}

/// A stable 64-bit hash of a group name (FNV-1a), so that a group's held-out draw depends on its
/// name and the seed, not on which other groups were requested.
fn name_stream(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `rows` of one group cut by individual into (training, held-out): round(fraction x
/// individuals) individuals, at least one and leaving at least one, drawn with a seeded shuffle;
/// both haplotypes of a person fall on the same side. Rows stay in file order on each side.
fn holdout_rows(
    matrix: &artifact::GenotypeMatrix,
    rows: &[usize],
    group: &str,
    opts: &SplitOptions,
) -> Result<(Vec<usize>, Vec<usize>), SplitError> {
    let mut samples: Vec<&str> = rows
        .iter()
        .map(|&i| matrix.labels()[i].sample.as_str())
        .collect();
    samples.dedup();
    if samples.len() < 2 {
        return Err(SplitError::Groups(format!(
            "group `{group}` has {} individual(s); --holdout-fraction needs at least 2 (one to train on, one to hold out)",
            samples.len()
        )));
    }
    let n_out = ((opts.holdout_fraction * samples.len() as f64).round() as usize)
        .clamp(1, samples.len() - 1);
    let mut order: Vec<usize> = (0..samples.len()).collect();
    SeededRng::new(derive_seed(opts.seed, name_stream(group))).shuffle(&mut order);
    let held: std::collections::HashSet<&str> =
        order[..n_out].iter().map(|&k| samples[k]).collect();
    let (heldout, training): (Vec<usize>, Vec<usize>) = rows
        .iter()
        .partition(|&&i| held.contains(matrix.labels()[i].sample.as_str()));
    Ok((training, heldout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("p.panel");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn reads_1000_genomes_style_panel() {
        let (_d, p) = panel("sample\tpop\tsuper_pop\nA\tGBR\tEUR\nB\tYRI\tAFR\t\n");
        let pn = read_panel(&p, "super_pop").unwrap();
        assert_eq!(pn.labels["A"].0, "EUR");
        assert_eq!(pn.labels["B"].0, "AFR");
    }

    #[test]
    fn duplicate_sample_names_both_lines() {
        let (_d, p) = panel("sample\tpop\nA\tGBR\nB\tYRI\nA\tCEU\n");
        let e = read_panel(&p, "pop").unwrap_err().to_string();
        assert!(
            e.contains("p.panel") && e.contains("line 4") && e.contains("line 2"),
            "{e}"
        );
    }

    #[test]
    fn unknown_column_lists_columns() {
        let (_d, p) = panel("sample\tpop\nA\tGBR\n");
        let e = read_panel(&p, "super_pop").unwrap_err().to_string();
        assert!(e.contains("super_pop") && e.contains("sample, pop"), "{e}");
    }

    #[test]
    fn short_line_named() {
        let (_d, p) = panel("sample\tpop\tsuper_pop\nA\tGBR\tEUR\nB\tYRI\n");
        let e = read_panel(&p, "pop").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("2 columns"), "{e}");
    }
}
