//! The output formats of gmmn-sample, read by independent tools: the bgzipped VCF and its tabix
//! index by bcftools (a region query goes through the `.tbi`), the PLINK 1 fileset by
//! bed-reader (PyPI, installed into the project's venv the first time), each against the
//! genotype Parquet; `--individuals` and `--formats`, and their mistakes.

use std::path::Path;

use gmmn_sim::{bcftools, read_bed, run, shared_1kg_groups, stderr, stdout};

/// The Markov chain of the shipped EAS group (pattern sketch, contexts <= 40 SNPs shared by 4):
/// a model that trains in well under a second.
fn chain_model(dir: &Path) -> std::path::PathBuf {
    let sketch = dir.join("sketch");
    let input = shared_1kg_groups().join("EAS.parquet");
    let o = run(
        "gmmn-sketch",
        &[
            &input,
            &"--out",
            &sketch,
            &"--features",
            &"patterns",
            &"--order",
            &"40",
            &"--min-count",
            &"4",
        ],
    );
    assert!(o.status.success(), "gmmn-sketch: {}", stderr(&o));
    let model = dir.join("model");
    let o = run("gmmn-train", &[&sketch, &"--out", &model]);
    assert!(o.status.success(), "gmmn-train: {}", stderr(&o));
    model
}

#[test]
fn vcf_and_plink_outputs_are_read_by_bcftools_and_bed_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let model = chain_model(tmp.path());
    let out = tmp.path().join("synthetic");
    let o = run(
        "gmmn-sample",
        &[
            &model,
            &"--individuals",
            &"150",
            &"--out",
            &out,
            &"--seed",
            &"5",
        ],
    );
    assert!(o.status.success(), "gmmn-sample: {}", stderr(&o));
    assert!(
        stdout(&o).contains("300 synthetic haplotypes (150 individuals)"),
        "{}",
        stdout(&o)
    );
    let matrix = artifact::read_genotypes_parquet(&out.join("EAS.parquet")).unwrap();
    let variants = artifact::read_variants_parquet(&out.join("EAS.variants.parquet")).unwrap();
    let (n, m) = (matrix.n_haplotypes(), matrix.n_snps());
    assert_eq!((n, m), (300, 805));
    let dosage = |i: usize, j: usize| matrix.row(2 * i)[j] + matrix.row(2 * i + 1)[j];

    // bcftools: the whole file parses, 150 samples, and a region query through the index finds
    // exactly the record at that position with the Parquet's genotypes.
    let vcf = out.join("EAS.vcf.gz");
    assert!(out.join("EAS.vcf.gz.tbi").is_file());
    let o = bcftools(&[&"view", &"-Ou", &"-o", &"/dev/null", &vcf]);
    assert!(o.status.success(), "bcftools view: {}", stderr(&o));
    let o = bcftools(&[&"query", &"-l", &vcf]);
    assert_eq!(stdout(&o).lines().count(), 150);
    for j in [0, 411, m - 1] {
        let v = &variants.variants[j];
        let region = format!("{}:{}", v.chrom, v.pos);
        let o = bcftools(&[&"query", &"-r", &region, &"-f", &"%POS[\t%GT]\n", &vcf]);
        assert!(
            o.status.success(),
            "bcftools query -r {region}: {}",
            stderr(&o)
        );
        let text = stdout(&o);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{region}: {text}");
        let fields: Vec<&str> = lines[0].split('\t').collect();
        assert_eq!(fields[0], v.pos.to_string());
        for i in 0..150 {
            let want = format!("{}|{}", matrix.row(2 * i)[j], matrix.row(2 * i + 1)[j]);
            assert_eq!(fields[1 + i], want, "{region}, individual {i}");
        }
    }

    // bed-reader: A1 counts per individual and SNP are the VCF's ALT dosages; A1 is ALT.
    let read = read_bed(&out.join("EAS.bed"));
    assert_eq!(read["shape"], serde_json::json!([150, m]));
    let got = read["dosage"].as_array().unwrap();
    for i in 0..150 {
        for j in 0..m {
            assert_eq!(
                got[i * m + j],
                dosage(i, j) as i64,
                "individual {i}, SNP {j}"
            );
        }
    }
    assert_eq!(read["iid"][0], "SYN_EAS_000001");
    assert_eq!(read["fid"][149], "EAS");
    for (j, v) in variants.variants.iter().enumerate() {
        assert_eq!(read["a1"][j], v.alternate.as_str(), "SNP {j}");
        assert_eq!(read["a2"][j], v.reference.as_str(), "SNP {j}");
        assert_eq!(read["pos"][j], v.pos as i64, "SNP {j}");
    }
    for (file, what) in [("EAS.bed", "bed"), ("EAS.bim", "bim"), ("EAS.fam", "fam")] {
        let mf = artifact::open_artifact(&out.join(file), artifact::ArtifactKind::Plink).unwrap();
        assert_eq!(mf.params["plink_file"], what);
        assert_eq!(mf.params["a1"], "ALT");
        assert_eq!(mf.counts["individuals"], 150);
    }

    // --individuals N is --n 2N, byte for byte; --formats vcf writes only the VCF (and the
    // variants and panel).
    let same = tmp.path().join("same");
    let o = run(
        "gmmn-sample",
        &[
            &model,
            &"--n",
            &"300",
            &"--out",
            &same,
            &"--seed",
            &"5",
            &"--formats",
            &"vcf",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&vcf).unwrap(),
        std::fs::read(same.join("EAS.vcf.gz")).unwrap()
    );
    assert!(!same.join("EAS.parquet").exists() && !same.join("EAS.bed").exists());
    assert!(same.join("EAS.panel.tsv").exists() && same.join("EAS.variants.parquet").exists());
}

#[test]
fn sample_count_and_format_mistakes_are_refused_without_output() {
    let tmp = tempfile::tempdir().unwrap();
    let model = chain_model(tmp.path());
    let out = tmp.path().join("synthetic");
    for (args, message) in [
        (vec!["--individuals", "0"], "must be at least 1"),
        (
            vec!["--individuals", "3", "--n", "6"],
            "cannot be used with",
        ),
        (vec![], "--individuals"),
        (
            vec!["--individuals", "3", "--formats", "vcf,bcf"],
            "unknown format `bcf`",
        ),
    ] {
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&model, &"--out", &out];
        for x in &args {
            a.push(x);
        }
        let o = run("gmmn-sample", &a);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert!(!out.exists(), "{args:?} left {}", out.display());
    }
}
