//! Writing simulated haplotypes of one group as the four files every simulator stage of this
//! project writes (gmmn-sample, gmmn-reference), so that the evaluation reads them all the same:
//!
//! * `<G>.parquet`: the genotype layout of gmmn-ingest, group column set, the simulator's ids;
//! * `<G>.variants.parquet`: the training variants with the simulated allele frequencies;
//! * `<G>.vcf.gz`: bgzipped phased VCF, haplotypes 2i and 2i+1 form individual i (an odd last
//!   haplotype is a haploid individual);
//! * `<G>.panel.tsv`: `sample group`.

use std::io::Write;
use std::path::{Path, PathBuf};

use artifact::{
    ArtifactError, ArtifactKind, FileRef, GenotypeMatrix, HaplotypeLabel, Manifest, OutputSet,
    Variant, VariantTable,
};

/// Individual ids `<prefix>000001`... for `n` haplotypes (haplotypes 2i and 2i+1 are individual
/// i) and the labels of the haplotypes, all of `group`.
pub fn synthetic_labels(prefix: &str, group: &str, n: usize) -> (Vec<String>, Vec<HaplotypeLabel>) {
    let individuals: Vec<String> = (0..n.div_ceil(2))
        .map(|i| format!("{prefix}{:06}", i + 1))
        .collect();
    let labels = (0..n)
        .map(|i| HaplotypeLabel {
            sample: individuals[i / 2].clone(),
            haplotype: (i % 2) as u8,
            group: Some(group.to_string()),
        })
        .collect();
    (individuals, labels)
}

/// The four files of one simulated group, in the order [`stage_synthetic`] returns them.
#[derive(Debug, Clone)]
pub struct SyntheticFiles {
    pub genotypes: PathBuf,
    pub variants: PathBuf,
    pub vcf: PathBuf,
    pub panel: PathBuf,
}

impl SyntheticFiles {
    pub fn in_dir(out_dir: &Path, group: &str) -> Self {
        SyntheticFiles {
            genotypes: out_dir.join(format!("{group}.parquet")),
            variants: out_dir.join(format!("{group}.variants.parquet")),
            vcf: out_dir.join(format!("{group}.vcf.gz")),
            panel: out_dir.join(format!("{group}.panel.tsv")),
        }
    }

    /// Genotypes, variants, VCF, panel.
    pub fn to_vec(&self) -> Vec<PathBuf> {
        vec![
            self.genotypes.clone(),
            self.variants.clone(),
            self.vcf.clone(),
            self.panel.clone(),
        ]
    }
}

/// Stage the four files of `group` in `out_dir` into `out` (the caller commits, so that several
/// groups can be written all or nothing).
///
/// `base` is the caller's manifest (producer, params, inputs, seed: what differs between
/// simulators); each file's manifest is a copy of it with the kind, shape and companions set and
/// the counts every simulator reports (`haplotypes`, `individuals`, `snps`,
/// `monomorphic_snps`) added; the panel's also gets param `columns: "sample group"`.
/// `variants` are the training variants (the table written carries the simulated allele
/// frequencies); `individuals` name the haplotype pairs in order (see [`synthetic_labels`]);
/// `source` is the VCF's `##source=` line.
#[allow(clippy::too_many_arguments)]
pub fn stage_synthetic(
    out: &mut OutputSet,
    out_dir: &Path,
    group: &str,
    matrix: &GenotypeMatrix,
    variants: Vec<Variant>,
    individuals: &[String],
    base: &Manifest,
    source: &str,
) -> Result<SyntheticFiles, ArtifactError> {
    let n = matrix.n_haplotypes();
    let snps = matrix.n_snps();
    if variants.len() != snps {
        return Err(ArtifactError::Invalid {
            message: format!(
                "group {group}: {snps} SNPs per simulated haplotype but {} training variants",
                variants.len()
            ),
        });
    }
    let counts = matrix.allele_counts();
    let table = VariantTable::with_counts(variants, &counts, n);
    let monomorphic = counts.iter().filter(|&&c| c == 0 || c == n as u64).count();
    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let manifest = |kind| {
        let mut m = base.clone();
        m.kind = kind;
        m.count("haplotypes", n as u64)
            .count("individuals", individuals.len() as u64)
            .count("snps", snps as u64)
            .count("monomorphic_snps", monomorphic as u64)
    };
    let files = SyntheticFiles::in_dir(out_dir, group);

    let mut v = manifest(ArtifactKind::Variants);
    v.shape = vec![snps as u64];
    let v = out.stage_artifact(&files.variants, v, |w| {
        artifact::write_variants_parquet(w, &table)
    })?;
    let mut g = manifest(ArtifactKind::Genotypes);
    g.shape = vec![n as u64, snps as u64];
    g.companions = vec![FileRef::new(
        "variants",
        &files.variants,
        v.sha256.clone(),
        out_dir,
    )?];
    out.stage_artifact(&files.genotypes, g, |w| matrix.write_parquet(w))?;
    let mut vc = manifest(ArtifactKind::Vcf);
    vc.shape = vec![snps as u64, individuals.len() as u64];
    out.stage_artifact(&files.vcf, vc, |w| {
        crate::vcf::write_phased_vcf(w, matrix, &table.variants, individuals, source)
            .map_err(|e| ArtifactError::io(&files.vcf, e))
    })?;
    let mut pm = manifest(ArtifactKind::Panel).param("columns", "sample group");
    pm.shape = vec![individuals.len() as u64];
    out.stage_artifact(&files.panel, pm, |w| {
        let mut text = String::from("sample\tgroup\n");
        for s in individuals {
            text.push_str(&format!("{s}\t{group}\n"));
        }
        w.write_all(text.as_bytes())
            .map_err(|e| ArtifactError::io(&files.panel, e))
    })?;
    Ok(files)
}

/// [`stage_synthetic`] of one group, committed.
#[allow(clippy::too_many_arguments)]
pub fn write_synthetic(
    out_dir: &Path,
    group: &str,
    matrix: &GenotypeMatrix,
    variants: Vec<Variant>,
    individuals: &[String],
    base: &Manifest,
    source: &str,
) -> Result<SyntheticFiles, ArtifactError> {
    let mut out = OutputSet::new();
    let files = stage_synthetic(
        &mut out,
        out_dir,
        group,
        matrix,
        variants,
        individuals,
        base,
        source,
    )?;
    out.commit()?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use artifact::{open_artifact, Producer};

    #[test]
    fn writes_the_four_files_with_their_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("out");
        let (individuals, labels) = synthetic_labels("X_G_", "G", 3);
        assert_eq!(individuals, ["X_G_000001", "X_G_000002"]);
        assert_eq!(
            (labels[1].sample.as_str(), labels[1].haplotype),
            ("X_G_000001", 1)
        );
        assert_eq!(
            (labels[2].sample.as_str(), labels[2].haplotype),
            ("X_G_000002", 0)
        );
        // SNP 0 all 0 (monomorphic), SNP 1 mixed, SNP 2 all 1 (monomorphic).
        let matrix = GenotypeMatrix::new(labels, 3, vec![0, 1, 1, 0, 0, 1, 0, 1, 1]).unwrap();
        let variants: Vec<Variant> = (0..3)
            .map(|j| Variant {
                chrom: "1".into(),
                pos: 100 + j,
                id: String::new(),
                reference: "A".into(),
                alternate: "C".into(),
            })
            .collect();
        let mut base =
            Manifest::new(ArtifactKind::Genotypes, Producer::new("t", "t", "0.1.0")).param("p", 1);
        base.seed = Some(4);
        let files = write_synthetic(
            &out_dir,
            "G",
            &matrix,
            variants,
            &individuals,
            &base,
            "test",
        )
        .unwrap();
        assert_eq!(files.to_vec()[0], out_dir.join("G.parquet"));
        for (path, kind) in [
            (&files.genotypes, ArtifactKind::Genotypes),
            (&files.variants, ArtifactKind::Variants),
            (&files.vcf, ArtifactKind::Vcf),
            (&files.panel, ArtifactKind::Panel),
        ] {
            let m = open_artifact(path, kind).unwrap();
            assert_eq!(m.params["p"], 1);
            assert_eq!(m.seed, Some(4));
            assert_eq!(m.counts["haplotypes"], 3);
            assert_eq!(m.counts["individuals"], 2);
            assert_eq!(m.counts["monomorphic_snps"], 2);
        }
        let g = open_artifact(&files.genotypes, ArtifactKind::Genotypes).unwrap();
        assert_eq!(g.shape, [3, 3]);
        assert_eq!(
            g.companion(&files.genotypes, "variants").unwrap(),
            files.variants
        );
        let back = artifact::read_genotypes_parquet(&files.genotypes).unwrap();
        assert_eq!(back.values(), matrix.values());
        let table = artifact::read_variants_parquet(&files.variants).unwrap();
        assert_eq!(table.allele_frequency, [0.0, 2.0 / 3.0, 1.0]);
        assert_eq!(
            std::fs::read_to_string(&files.panel).unwrap(),
            "sample\tgroup\nX_G_000001\tG\nX_G_000002\tG\n"
        );
        let pm = open_artifact(&files.panel, ArtifactKind::Panel).unwrap();
        assert_eq!(pm.params["columns"], "sample group");

        // Variants that do not match the matrix are refused before anything is written.
        let other = tempfile::tempdir().unwrap();
        let e = write_synthetic(other.path(), "G", &matrix, vec![], &individuals, &base, "t")
            .unwrap_err();
        assert!(e.to_string().contains("3 SNPs"), "{e}");
        assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 0);
    }
}
