//! End to end over the binaries: the shipped data through gmmn-ingest and gmmn-split.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use artifact::{
    open_artifact, read_genotypes_parquet, read_variants_parquet, sha256_file, ArtifactKind,
    Manifest,
};
use gmmn_sim::{data, files_below, run, split_1kg_super_populations, stderr};

/// Per-SNP ALT counts and (chrom, pos) straight from the VCF text, parsed independently of the
/// ingest code (bgzip is multi-member gzip, so MultiGzDecoder reads it).
fn vcf_allele_counts(path: &Path) -> (Vec<(String, u64)>, Vec<u64>, usize) {
    let f = std::fs::File::open(path).unwrap();
    let r = BufReader::new(flate2::read::MultiGzDecoder::new(f));
    let mut sites = Vec::new();
    let mut counts = Vec::new();
    let mut n_samples = 0;
    for line in r.lines() {
        let line = line.unwrap();
        if line.starts_with("#CHROM") {
            n_samples = line.split('\t').count() - 9;
        }
        if line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        sites.push((fields[0].to_string(), fields[1].parse().unwrap()));
        let c = fields[9..]
            .iter()
            .map(|gt| gt.bytes().filter(|&b| b == b'1').count() as u64)
            .sum();
        counts.push(c);
    }
    (sites, counts, n_samples)
}

#[test]
fn ingest_1kg_matches_vcf_and_splits_into_super_populations() {
    let tmp = tempfile::tempdir().unwrap();
    let ingest_dir = tmp.path().join("ingest");
    let vcf = data("1kg_phase3_805snp.vcf.gz");
    let o = run("gmmn-ingest", &[&vcf, &"--out", &ingest_dir]);
    assert!(o.status.success(), "{}", stderr(&o));

    let geno = ingest_dir.join("genotypes.parquet");
    let gm = open_artifact(&geno, ArtifactKind::Genotypes).unwrap();
    assert_eq!(gm.shape, vec![5008, 805]);
    assert_eq!(gm.counts["samples"], 2504);
    assert_eq!(gm.inputs[0].sha256, sha256_file(&vcf).unwrap());
    let m = read_genotypes_parquet(&geno).unwrap();
    assert_eq!((m.n_haplotypes(), m.n_snps()), (5008, 805));

    let (sites, expected_counts, n_samples) = vcf_allele_counts(&vcf);
    assert_eq!(n_samples, 2504);
    assert_eq!(
        m.allele_counts(),
        expected_counts,
        "per-SNP ALT counts differ from the VCF"
    );

    let vpath = gm.companion(&geno, "variants").unwrap();
    open_artifact(&vpath, ArtifactKind::Variants).unwrap();
    let v = read_variants_parquet(&vpath).unwrap();
    let got: Vec<(String, u64)> = v
        .variants
        .iter()
        .map(|x| (x.chrom.clone(), x.pos))
        .collect();
    assert_eq!(got, sites);
    for (af, c) in v.allele_frequency.iter().zip(&expected_counts) {
        assert!((af - *c as f64 / 5008.0).abs() < 1e-12);
    }
    // First haplotypes are HG00096's two, as in the VCF's first sample column.
    assert_eq!(m.labels()[0].sample, "HG00096");
    assert_eq!((m.labels()[0].haplotype, m.labels()[1].haplotype), (0, 1));

    let split_dir = tmp.path().join("split");
    split_1kg_super_populations(&ingest_dir, &split_dir);
    let panel: HashMap<String, String> = std::fs::read_to_string(data("1kg_phase3.panel"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[2].to_string())
        })
        .collect();
    let mut total_counts = vec![0u64; 805];
    for (group, n) in [("EUR", 1006), ("AFR", 1322), ("EAS", 1008), ("SAS", 978)] {
        let p = split_dir.join(format!("{group}.parquet"));
        let man = open_artifact(&p, ArtifactKind::Genotypes).unwrap();
        assert_eq!(man.shape, vec![n, 805], "{group}");
        let g = read_genotypes_parquet(&p).unwrap();
        assert_eq!(g.n_haplotypes() as u64, n);
        for l in g.labels() {
            assert_eq!(l.group.as_deref(), Some(group));
            assert_eq!(panel[&l.sample], group, "{} in {group}", l.sample);
        }
        let counts = g.allele_counts();
        let gv = read_variants_parquet(&man.companion(&p, "variants").unwrap()).unwrap();
        for (af, c) in gv.allele_frequency.iter().zip(&counts) {
            assert!((af - *c as f64 / n as f64).abs() < 1e-12);
        }
        for (t, c) in total_counts.iter_mut().zip(counts) {
            *t += c;
        }
        // The manifest names the panel and the input genotypes by hash.
        let roles: Vec<&str> = man.inputs.iter().map(|i| i.role.as_str()).collect();
        assert_eq!(roles, ["genotypes", "variants", "panel"]);
        assert_eq!(
            man.inputs[2].sha256,
            sha256_file(&data("1kg_phase3.panel")).unwrap()
        );
        assert_eq!(man.params["column"], "super_pop");
    }
    // AMR was not requested: the four groups' counts are a part of the whole.
    assert!(total_counts
        .iter()
        .zip(&expected_counts)
        .all(|(t, e)| t <= e));
    assert_eq!(
        files_below(&split_dir).len(),
        16,
        "{:?}",
        files_below(&split_dir)
    );
}

#[test]
fn ingest_is_byte_for_byte_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let vcf = data("sim_ooa4_chr22_5k.vcf.gz");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for d in [&a, &b] {
        let o = run("gmmn-ingest", &[&vcf, &"--out", d, &"--threads", &"1"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for f in ["genotypes.parquet", "variants.parquet"] {
        assert_eq!(
            sha256_file(&a.join(f)).unwrap(),
            sha256_file(&b.join(f)).unwrap(),
            "{f}"
        );
    }
    let m = Manifest::read_for(&a.join("genotypes.parquet")).unwrap();
    assert_eq!(m.shape, vec![3366, 5000]);

    // All four populations of the simulation, with the seed paper's sizes.
    let s = tmp.path().join("split");
    let o = run(
        "gmmn-split",
        &[
            &a,
            &"--panel",
            &data("sim_ooa4_chr22_5k.panel"),
            &"--column",
            &"pop",
            &"--out",
            &s,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (g, n) in [("CEU", 716), ("YRI", 806), ("CHB", 972), ("JPT", 872)] {
        let man = Manifest::read_for(&s.join(format!("{g}.parquet"))).unwrap();
        assert_eq!(man.shape, vec![n, 5000], "{g}");
    }
}

#[test]
fn region_uses_the_index_and_agrees_with_a_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let vcf = data("1kg_phase3_805snp.vcf.gz");
    // The same file without its .tbi must be scanned.
    let copy = tmp.path().join("copy.vcf.gz");
    std::fs::copy(&vcf, &copy).unwrap();
    let indexed = tmp.path().join("indexed");
    let scanned = tmp.path().join("scanned");
    for (input, out) in [(&vcf, &indexed), (&copy, &scanned)] {
        let o = run(
            "gmmn-ingest",
            &[input, &"--out", out, &"--region", &"2:1000000-150000000"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mi = Manifest::read_for(&indexed.join("genotypes.parquet")).unwrap();
    let ms = Manifest::read_for(&scanned.join("genotypes.parquet")).unwrap();
    assert!(
        mi.inputs.iter().any(|i| i.role == "index"),
        "index not used"
    );
    assert!(!ms.inputs.iter().any(|i| i.role == "index"));
    assert_eq!(mi.shape, ms.shape);
    assert!(mi.shape[1] > 10 && mi.shape[1] < 100, "{:?}", mi.shape);
    assert_eq!(ms.counts["skipped_outside_region"], 805 - ms.shape[1]);
    let vi = read_variants_parquet(&indexed.join("variants.parquet")).unwrap();
    let vs = read_variants_parquet(&scanned.join("variants.parquet")).unwrap();
    assert_eq!(vi, vs);
    assert!(vi
        .variants
        .iter()
        .all(|v| v.chrom == "2" && (1_000_000..=150_000_000).contains(&v.pos)));
    assert_eq!(
        sha256_file(&indexed.join("genotypes.parquet")).unwrap(),
        sha256_file(&scanned.join("genotypes.parquet")).unwrap()
    );
}

#[test]
fn samples_maf_and_max_snps_options() {
    let tmp = tempfile::tempdir().unwrap();
    let vcf = data("1kg_phase3_805snp.vcf.gz");
    let samples = tmp.path().join("samples.txt");
    std::fs::write(&samples, "HG00097\nNA21144\n\nHG00096\n").unwrap();
    let out = tmp.path().join("o");
    let o = run(
        "gmmn-ingest",
        &[
            &vcf,
            &"--out",
            &out,
            &"--samples",
            &samples,
            &"--min-maf",
            &"0.2",
            &"--max-snps",
            &"50",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m = Manifest::read_for(&out.join("genotypes.parquet")).unwrap();
    assert_eq!(m.shape, vec![6, 50]);
    assert_eq!(m.counts["stopped_at_max_snps"], 1);
    assert!(m.counts["skipped_below_maf"] > 0);
    assert_eq!(m.params["min_maf"], 0.2);
    let g = read_genotypes_parquet(&out.join("genotypes.parquet")).unwrap();
    // VCF order, not the samples file's.
    let names: Vec<&str> = g
        .labels()
        .iter()
        .step_by(2)
        .map(|l| l.sample.as_str())
        .collect();
    assert_eq!(names, ["HG00096", "HG00097", "NA21144"]);
    // With 6 haplotypes MAF >= 0.2 means 2..=4 ALT alleles.
    for c in g.allele_counts() {
        assert!((2..=4).contains(&c), "{c}");
    }
}

/// A BCF (bcftools' binary VCF) ingests to the same genotype and variants tables as the VCF it
/// was made from, a region filter included; a cut-off BCF is refused by name, with no output.
#[test]
fn bcf_ingests_like_its_vcf() {
    let tmp = tempfile::tempdir().unwrap();
    let vcf = data("1kg_phase3_805snp.vcf.gz");
    let bcf = tmp.path().join("1kg.bcf");
    let o = gmmn_sim::bcftools(&[&"view", &"-Ob", &"-o", &bcf, &vcf]);
    assert!(o.status.success(), "{}", stderr(&o));
    for region in [None, Some("2:1000000-150000000")] {
        let from_vcf = tmp.path().join("from_vcf");
        let from_bcf = tmp.path().join("from_bcf");
        for (input, out) in [(&vcf, &from_vcf), (&bcf, &from_bcf)] {
            let _ = std::fs::remove_dir_all(out);
            let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![input, &"--out", out];
            if let Some(r) = &region {
                args.extend([&"--region" as &dyn AsRef<std::ffi::OsStr>, r]);
            }
            let o = run("gmmn-ingest", &args);
            assert!(o.status.success(), "{}", stderr(&o));
        }
        for f in ["genotypes.parquet", "variants.parquet"] {
            assert_eq!(
                sha256_file(&from_vcf.join(f)).unwrap(),
                sha256_file(&from_bcf.join(f)).unwrap(),
                "{f} (region {region:?})"
            );
        }
        let mv = Manifest::read_for(&from_vcf.join("genotypes.parquet")).unwrap();
        let mb = Manifest::read_for(&from_bcf.join("genotypes.parquet")).unwrap();
        assert_eq!(mv.shape, mb.shape);
        // The VCF has a tabix index, so a region reads only its records; the BCF (no index) is
        // scanned, and counts what it skipped.
        if region.is_none() {
            assert_eq!(mv.counts, mb.counts);
        } else {
            assert_eq!(mb.counts["records"], 805);
            assert_eq!(mb.counts["skipped_outside_region"], 805 - mb.shape[1]);
        }
    }

    // The first half of the file: BGZF blocks end mid-record.
    let bytes = std::fs::read(&bcf).unwrap();
    let cut = tmp.path().join("cut.bcf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = tmp.path().join("cut_out");
    let o = run("gmmn-ingest", &[&cut, &"--out", &out]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("cut.bcf"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.join("genotypes.parquet").exists());
}
