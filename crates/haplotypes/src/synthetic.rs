//! Writing simulated haplotypes of one group as the files every simulator stage of this
//! project writes (gmmn-sample, gmmn-reference), so that the evaluation reads them all the same:
//!
//! * `<G>.parquet`: the genotype layout of gmmn-ingest, group column set, the simulator's ids;
//! * `<G>.variants.parquet`: the training variants with the simulated allele frequencies;
//! * `<G>.vcf.gz` and its tabix index `<G>.vcf.gz.tbi`: bgzipped phased VCF, haplotypes 2i and
//!   2i+1 form individual i (an odd last haplotype is a haploid individual);
//! * `<G>.bed`, `<G>.bim`, `<G>.fam`: the same individuals as a PLINK 1 fileset (unphased ALT
//!   dosages, A1 = ALT; see [`crate::plink`]);
//! * `<G>.panel.tsv`: `sample group`.
//!
//! The variants table and the panel are always written; the genotype Parquet, the VCF and the
//! PLINK fileset are [`Formats`] the caller picks (all three by default).

use std::io::Write;
use std::path::{Path, PathBuf};

use artifact::{
    ArtifactError, ArtifactKind, FileRef, GenotypeParquetWriter, HaplotypeLabel, Manifest,
    OutputSet, Variant, VariantTable, ROW_GROUP_HAPLOTYPES,
};

use crate::snp_major::SnpMajorBits;

/// Individual ids `<prefix>000001`... for `n` haplotypes (haplotypes 2i and 2i+1 are individual
/// i) and the labels of the haplotypes, all of `group`.
pub fn synthetic_labels(prefix: &str, group: &str, n: usize) -> (Vec<String>, Vec<HaplotypeLabel>) {
    let individuals = synthetic_individuals(prefix, n);
    let labels = (0..n)
        .map(|i| synthetic_label(&individuals, group, i))
        .collect();
    (individuals, labels)
}

/// The label of haplotype `i`: the second of individual i / 2's pair when i is odd.
fn synthetic_label(individuals: &[String], group: &str, i: usize) -> HaplotypeLabel {
    HaplotypeLabel {
        sample: individuals[i / 2].clone(),
        haplotype: (i % 2) as u8,
        group: Some(group.to_string()),
    }
}

/// Individual ids `<prefix>000001`... for `n` haplotypes.
pub fn synthetic_individuals(prefix: &str, n: usize) -> Vec<String> {
    (0..n.div_ceil(2))
        .map(|i| format!("{prefix}{:06}", i + 1))
        .collect()
}

/// Which genotype files a simulator writes (the variants table and panel always are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    /// `<G>.parquet`, what gmmn-discriminate and gmmn-project read fastest.
    pub parquet: bool,
    /// `<G>.vcf.gz` + `.tbi`.
    pub vcf: bool,
    /// `<G>.bed/.bim/.fam`.
    pub plink: bool,
}

impl Default for Formats {
    fn default() -> Self {
        Formats {
            parquet: true,
            vcf: true,
            plink: true,
        }
    }
}

impl Formats {
    /// The names [`std::str::FromStr`] takes, in order.
    pub const NAMES: [&'static str; 3] = ["parquet", "vcf", "plink"];

    /// `parquet,vcf,plink` (the written ones, in that order).
    pub fn names(&self) -> Vec<&'static str> {
        [self.parquet, self.vcf, self.plink]
            .iter()
            .zip(Self::NAMES)
            .filter(|(on, _)| **on)
            .map(|(_, n)| n)
            .collect()
    }

    /// How often [`stage_synthetic`] calls its `progress` for `n` haplotypes x `snps` SNPs:
    /// once per SNP of each variant-major file, once per Parquet row group.
    pub fn progress_ticks(&self, n: usize, snps: usize) -> u64 {
        let row_groups = if self.parquet {
            n.div_ceil(ROW_GROUP_HAPLOTYPES)
        } else {
            0
        };
        (snps * (self.vcf as usize + self.plink as usize) + row_groups) as u64
    }
}

impl std::str::FromStr for Formats {
    type Err = String;

    /// A comma-separated list of `parquet`, `vcf`, `plink` (at least one).
    fn from_str(s: &str) -> Result<Formats, String> {
        let mut f = Formats {
            parquet: false,
            vcf: false,
            plink: false,
        };
        for name in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            match name {
                "parquet" => f.parquet = true,
                "vcf" => f.vcf = true,
                "plink" => f.plink = true,
                other => {
                    return Err(format!(
                        "unknown format `{other}` (one or more of parquet, vcf, plink, comma-separated)"
                    ))
                }
            }
        }
        if f.names().is_empty() {
            return Err("no format given (one or more of parquet, vcf, plink)".into());
        }
        Ok(f)
    }
}

/// The files of one simulated group, in the order [`SyntheticFiles::to_vec`] lists them; the
/// formats not written are None.
#[derive(Debug, Clone)]
pub struct SyntheticFiles {
    pub genotypes: Option<PathBuf>,
    pub variants: PathBuf,
    pub vcf: Option<PathBuf>,
    pub tbi: Option<PathBuf>,
    pub bed: Option<PathBuf>,
    pub bim: Option<PathBuf>,
    pub fam: Option<PathBuf>,
    pub panel: PathBuf,
}

/// Where each file of `group` goes in `out_dir`; None for the formats not written.
pub fn synthetic_paths(out_dir: &Path, group: &str, formats: Formats) -> SyntheticFiles {
    let f = |on: bool, ext: &str| on.then(|| out_dir.join(format!("{group}.{ext}")));
    SyntheticFiles {
        genotypes: f(formats.parquet, "parquet"),
        variants: out_dir.join(format!("{group}.variants.parquet")),
        vcf: f(formats.vcf, "vcf.gz"),
        tbi: f(formats.vcf, "vcf.gz.tbi"),
        bed: f(formats.plink, "bed"),
        bim: f(formats.plink, "bim"),
        fam: f(formats.plink, "fam"),
        panel: out_dir.join(format!("{group}.panel.tsv")),
    }
}

impl SyntheticFiles {
    /// Every file written: genotypes, variants, VCF, its index, bed, bim, fam, panel.
    pub fn to_vec(&self) -> Vec<PathBuf> {
        [
            self.genotypes.clone(),
            Some(self.variants.clone()),
            self.vcf.clone(),
            self.tbi.clone(),
            self.bed.clone(),
            self.bim.clone(),
            self.fam.clone(),
            Some(self.panel.clone()),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Stage the files of `group` in `out_dir` into `out` (the caller commits, so that several
/// groups can be written all or nothing).
///
/// `base` is the caller's manifest (producer, params, inputs, seed: what differs between
/// simulators); each file's manifest is a copy of it with the kind, shape and companions set and
/// the counts every simulator reports (`haplotypes`, `individuals`, `snps`,
/// `monomorphic_snps`) added; the panel's also gets param `columns: "sample group"`, and each
/// PLINK file's `plink_file` (`bed`, `bim`, `fam`) and `a1: "ALT"`. `variants` are the
/// training variants (the table written carries the simulated allele frequencies);
/// `individuals` name the haplotype pairs in order (see [`synthetic_labels`]); `source` is the
/// VCF's `##source=` line. `progress` is called once per SNP of each variant-major file written
/// and once per Parquet row group.
#[allow(clippy::too_many_arguments)]
pub fn stage_synthetic(
    out: &mut OutputSet,
    out_dir: &Path,
    group: &str,
    bits: &SnpMajorBits,
    variants: Vec<Variant>,
    individuals: &[String],
    base: &Manifest,
    source: &str,
    formats: Formats,
    progress: &(dyn Fn() + Sync),
) -> Result<SyntheticFiles, ArtifactError> {
    let n = bits.n_haplotypes();
    let snps = bits.n_snps();
    if variants.len() != snps {
        return Err(ArtifactError::Invalid {
            message: format!(
                "group {group}: {snps} SNPs per simulated haplotype but {} training variants",
                variants.len()
            ),
        });
    }
    let counts = bits.allele_counts();
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
    let files = synthetic_paths(out_dir, group, formats);

    let mut v = manifest(ArtifactKind::Variants);
    v.shape = vec![snps as u64];
    let v = out.stage_artifact(&files.variants, v, |w| {
        artifact::write_variants_parquet(w, &table)
    })?;
    if let Some(path) = &files.genotypes {
        let mut g = manifest(ArtifactKind::Genotypes);
        g.shape = vec![n as u64, snps as u64];
        g.companions = vec![FileRef::new(
            "variants",
            &files.variants,
            v.sha256.clone(),
            out_dir,
        )?];
        out.stage_artifact(path, g, |w| {
            // Row groups unpacked from the bit columns one at a time: the byte matrix is never
            // whole.
            let mut writer = GenotypeParquetWriter::new(w, snps)?;
            for h0 in (0..n).step_by(ROW_GROUP_HAPLOTYPES) {
                let rows = ROW_GROUP_HAPLOTYPES.min(n - h0);
                let labels: Vec<HaplotypeLabel> = (h0..h0 + rows)
                    .map(|i| synthetic_label(individuals, group, i))
                    .collect();
                writer.write_rows(&labels, bits.rows(h0, rows))?;
                progress();
            }
            writer.finish()
        })?;
    }
    if let (Some(path), Some(tbi_path)) = (&files.vcf, &files.tbi) {
        let mut tbi = Vec::new();
        let (sha, bytes) = out.stage_data(path, |w| {
            tbi = crate::vcf::write_phased_vcf(w, bits, &table, individuals, source, progress)
                .map_err(|e| ArtifactError::io(path, e))?;
            Ok(())
        })?;
        let (tbi_sha, _) = out.stage_data(tbi_path, |w| {
            w.write_all(&tbi)
                .map_err(|e| ArtifactError::io(tbi_path, e))
        })?;
        let mut vc = manifest(ArtifactKind::Vcf);
        vc.shape = vec![snps as u64, individuals.len() as u64];
        vc.sha256 = sha;
        vc.bytes = bytes;
        vc.companions = vec![FileRef::new("tabix_index", tbi_path, tbi_sha, out_dir)?];
        out.stage_manifest(path, &vc)?;
    }
    if let (Some(bed), Some(bim), Some(fam)) = (&files.bed, &files.bim, &files.fam) {
        let plink = |file: &str, shape: Vec<u64>| {
            let mut m = manifest(ArtifactKind::Plink)
                .param("plink_file", file)
                .param("a1", "ALT");
            m.shape = shape;
            m
        };
        out.stage_artifact(bim, plink("bim", vec![snps as u64]), |w| {
            crate::plink::write_bim(w, &table.variants).map_err(|e| ArtifactError::io(bim, e))
        })?;
        out.stage_artifact(fam, plink("fam", vec![individuals.len() as u64]), |w| {
            crate::plink::write_fam(w, group, individuals).map_err(|e| ArtifactError::io(fam, e))
        })?;
        out.stage_artifact(
            bed,
            plink("bed", vec![snps as u64, individuals.len() as u64]),
            |w| crate::plink::write_bed(w, bits, progress).map_err(|e| ArtifactError::io(bed, e)),
        )?;
    }
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
    bits: &SnpMajorBits,
    variants: Vec<Variant>,
    individuals: &[String],
    base: &Manifest,
    source: &str,
    formats: Formats,
    progress: &(dyn Fn() + Sync),
) -> Result<SyntheticFiles, ArtifactError> {
    let mut out = OutputSet::new();
    let files = stage_synthetic(
        &mut out,
        out_dir,
        group,
        bits,
        variants,
        individuals,
        base,
        source,
        formats,
        progress,
    )?;
    out.commit()?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use artifact::{open_artifact, Producer};

    #[test]
    fn writes_every_format_with_its_manifest() {
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
        let values = vec![0, 1, 1, 0, 0, 1, 0, 1, 1];
        let bits = SnpMajorBits::from_rows(&values, 3);
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
        let ticks = std::sync::atomic::AtomicUsize::new(0);
        let files = write_synthetic(
            &out_dir,
            "G",
            &bits,
            variants.clone(),
            &individuals,
            &base,
            "test",
            Formats::default(),
            &|| {
                ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        )
        .unwrap();
        // 3 SNPs of the VCF and of the .bed, one Parquet row group.
        assert_eq!(ticks.into_inner(), 7);
        assert_eq!(Formats::default().progress_ticks(3, 3), 7);
        assert_eq!(files.to_vec().len(), 8);
        assert_eq!(files.to_vec()[0], out_dir.join("G.parquet"));
        let (genotypes, vcf) = (files.genotypes.clone().unwrap(), files.vcf.clone().unwrap());
        for (path, kind) in [
            (&genotypes, ArtifactKind::Genotypes),
            (&files.variants, ArtifactKind::Variants),
            (&vcf, ArtifactKind::Vcf),
            (files.bed.as_ref().unwrap(), ArtifactKind::Plink),
            (files.bim.as_ref().unwrap(), ArtifactKind::Plink),
            (files.fam.as_ref().unwrap(), ArtifactKind::Plink),
            (&files.panel, ArtifactKind::Panel),
        ] {
            let m = open_artifact(path, kind).unwrap();
            assert_eq!(m.params["p"], 1);
            assert_eq!(m.seed, Some(4));
            assert_eq!(m.counts["haplotypes"], 3);
            assert_eq!(m.counts["individuals"], 2);
            assert_eq!(m.counts["monomorphic_snps"], 2);
        }
        let g = open_artifact(&genotypes, ArtifactKind::Genotypes).unwrap();
        assert_eq!(g.shape, [3, 3]);
        assert_eq!(g.companion(&genotypes, "variants").unwrap(), files.variants);
        let back = artifact::read_genotypes_parquet(&genotypes).unwrap();
        assert_eq!(back.values(), values);
        assert_eq!(back.labels(), labels);
        let vm = open_artifact(&vcf, ArtifactKind::Vcf).unwrap();
        assert_eq!(
            vm.companion(&vcf, "tabix_index").unwrap(),
            files.tbi.clone().unwrap()
        );
        // The index is a tabix index noodles reads, with the one contig.
        let tbi = noodles_tabix::fs::read(files.tbi.as_ref().unwrap()).unwrap();
        use noodles_csi::BinningIndex;
        let names: Vec<String> = BinningIndex::header(&tbi)
            .unwrap()
            .reference_sequence_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, ["1"]);
        let table = artifact::read_variants_parquet(&files.variants).unwrap();
        assert_eq!(table.allele_frequency, [0.0, 2.0 / 3.0, 1.0]);
        assert_eq!(
            std::fs::read_to_string(&files.panel).unwrap(),
            "sample\tgroup\nX_G_000001\tG\nX_G_000002\tG\n"
        );
        let pm = open_artifact(&files.panel, ArtifactKind::Panel).unwrap();
        assert_eq!(pm.params["columns"], "sample group");
        assert_eq!(
            std::fs::read_to_string(files.bim.as_ref().unwrap()).unwrap(),
            "1\t1:100\t0\t100\tC\tA\n1\t1:101\t0\t101\tC\tA\n1\t1:102\t0\t102\tC\tA\n"
        );
        assert_eq!(
            std::fs::read_to_string(files.fam.as_ref().unwrap()).unwrap(),
            "G\tX_G_000001\t0\t0\t0\t-9\nG\tX_G_000002\t0\t0\t0\t-9\n"
        );

        // Only the VCF: no Parquet, no PLINK files.
        let vcf_only = dir.path().join("vcf-only");
        let f = write_synthetic(
            &vcf_only,
            "G",
            &bits,
            variants,
            &individuals,
            &base,
            "test",
            "vcf".parse().unwrap(),
            &|| {},
        )
        .unwrap();
        assert!(f.genotypes.is_none() && f.bed.is_none());
        let mut names: Vec<String> = std::fs::read_dir(&vcf_only)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "G.panel.tsv",
                "G.panel.tsv.meta.yaml",
                "G.variants.parquet",
                "G.variants.parquet.meta.yaml",
                "G.vcf.gz",
                "G.vcf.gz.meta.yaml",
                "G.vcf.gz.tbi"
            ]
        );

        // Variants that do not match the matrix are refused before anything is written.
        let other = tempfile::tempdir().unwrap();
        let e = write_synthetic(
            other.path(),
            "G",
            &bits,
            vec![],
            &individuals,
            &base,
            "t",
            Formats::default(),
            &|| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("3 SNPs"), "{e}");
        assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 0);
    }

    #[test]
    fn formats_parse_and_refuse_unknown_names() {
        let f: Formats = "plink, vcf".parse().unwrap();
        assert_eq!(f.names(), ["vcf", "plink"]);
        let e = "vcf,bcf".parse::<Formats>().unwrap_err();
        assert!(e.contains("unknown format `bcf`"), "{e}");
        assert!("".parse::<Formats>().is_err());
    }
}
