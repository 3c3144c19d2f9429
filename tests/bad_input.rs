//! Every bad input gives an error naming the file (and line or record), a non-zero exit and no
//! output artifact.

use std::io::Write;
use std::path::{Path, PathBuf};

use gmmn_sim::{data, files_below, run, stderr};

const HEADER: &str = "##fileformat=VCFv4.2\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\n";

fn good_records() -> String {
    (1..=20)
        .map(|i| format!("1\t{}\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\n", i * 100))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Run gmmn-ingest on `input`; assert failure, that stderr names the file and contains each of
/// `needles`, and that nothing was written.
fn ingest_fails(input: &Path, extra: &[&str], needles: &[&str]) -> String {
    let out = input.parent().unwrap().join("out");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&input, &"--out", &out];
    for e in extra {
        args.push(e);
    }
    let o = run("gmmn-ingest", &args);
    let err = stderr(&o);
    assert!(!o.status.success(), "expected failure; stderr: {err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    let name = input.file_name().unwrap().to_string_lossy();
    assert!(err.contains(&*name), "error does not name {name}: {err}");
    for n in needles {
        assert!(err.contains(n), "error lacks `{n}`: {err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert!(
        files_below(&out).is_empty(),
        "output left behind: {:?}",
        files_below(&out)
    );
    err
}

#[test]
fn a_good_tiny_vcf_passes() {
    // The control for every case below: the same file unbroken is accepted.
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "ok.vcf",
        format!("{HEADER}{}", good_records()).as_bytes(),
    );
    let o = run("gmmn-ingest", &[&p, &"--out", &d.path().join("out")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let gz = write(
        d.path(),
        "ok.vcf.gz",
        &gzip(format!("{HEADER}{}", good_records()).as_bytes()),
    );
    let o = run("gmmn-ingest", &[&gz, &"--out", &d.path().join("out2")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files_below(&d.path().join("out2")).len(), 4);
}

#[test]
fn truncated_bgzip() {
    let d = tempfile::tempdir().unwrap();
    let full = std::fs::read(data("1kg_phase3_805snp.vcf.gz")).unwrap();
    let p = write(d.path(), "cut.vcf.gz", &full[..full.len() / 2]);
    ingest_fails(&p, &[], &["line", "truncated"]);
}

#[test]
fn truncated_plain_gzip() {
    let d = tempfile::tempdir().unwrap();
    let gz = gzip(format!("{HEADER}{}", good_records()).as_bytes());
    let p = write(d.path(), "cut.vcf.gz", &gz[..gz.len() - 30]);
    ingest_fails(&p, &[], &["truncated"]);
}

#[test]
fn wrong_number_of_columns() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEADER}{}1\t5000\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n",
        good_records()
    );
    let p = write(d.path(), "cols.vcf", text.as_bytes());
    ingest_fails(&p, &[], &["line 25", "11 columns", "12"]);
    // Too many columns, on a record that would be skipped (multiallelic) too.
    let text = format!("{HEADER}1\t50\t.\tA\tG,T\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\t1|1\n");
    let p = write(d.path(), "cols2.vcf", text.as_bytes());
    ingest_fails(&p, &[], &["line 5", "13 columns"]);
}

#[test]
fn too_few_fixed_columns() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}{}1\t5000\t.\tA\n", good_records());
    let p = write(d.path(), "fixed.vcf", text.as_bytes());
    ingest_fails(&p, &[], &["line 25", "4 columns, fewer than the 8 fixed"]);
}

#[test]
fn non_numeric_pos() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}1\t12x4\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0\n");
    let p = write(d.path(), "pos.vcf", text.as_bytes());
    ingest_fails(&p, &[], &["line 5", "POS"]);
}

#[test]
fn missing_gt_field() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEADER}{}1\t5000\t.\tA\tG\t.\tPASS\t.\tDS\t0.1\t1.0\t0\n",
        good_records()
    );
    let p = write(d.path(), "nogt.vcf", text.as_bytes());
    ingest_fails(&p, &[], &["line 25", "GT"]);
}

#[test]
fn duplicate_sample_names() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{}{}", HEADER.replace("\tS3\n", "\tS1\n"), good_records());
    let p = write(d.path(), "dup.vcf", text.as_bytes());
    ingest_fails(&p, &[], &["line 4", "duplicate sample name `S1`"]);
}

#[test]
fn empty_file() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "empty.vcf", b"");
    ingest_fails(&p, &[], &["empty"]);
    let p = write(d.path(), "empty.vcf.gz", &gzip(b""));
    ingest_fails(&p, &[], &["empty"]);
}

#[test]
fn not_a_vcf() {
    let d = tempfile::tempdir().unwrap();
    let panel = std::fs::read(data("1kg_phase3.panel")).unwrap();
    let p = write(d.path(), "panel.vcf", &panel);
    ingest_fails(&p, &[], &["line 1", "not a VCF"]);
    let p = write(
        d.path(),
        "noise.vcf.gz",
        &[0x13, 0x37, 0, 1, 2, 3, 250, 251],
    );
    ingest_fails(&p, &[], &["not a VCF"]);
}

#[test]
fn unphased_heterozygote_is_an_error_unless_allowed() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}1\t50\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0|0\n");
    let p = write(d.path(), "unphased.vcf", text.as_bytes());
    ingest_fails(&p, &[], &["line 5", "S1", "unphased", "--allow-unphased"]);
    let o = run(
        "gmmn-ingest",
        &[&p, &"--out", &d.path().join("ok"), &"--allow-unphased"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn missing_alleles_error_or_drop() {
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEADER}{}1\t5000\t.\tA\tG\t.\tPASS\t.\tGT\t.|1\t1|1\t0|0\n",
        good_records()
    );
    let p = write(d.path(), "miss.vcf", text.as_bytes());
    ingest_fails(&p, &[], &["line 25", "missing", "--missing drop-variant"]);
    let out = d.path().join("dropped");
    let o = run(
        "gmmn-ingest",
        &[&p, &"--out", &out, &"--missing", &"drop-variant"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m = artifact::Manifest::read_for(&out.join("genotypes.parquet")).unwrap();
    assert_eq!((m.shape[1], m.counts["skipped_missing"]), (20, 1));
}

#[test]
fn bad_options_and_files() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "ok.vcf",
        format!("{HEADER}{}", good_records()).as_bytes(),
    );
    let s = write(d.path(), "samples.txt", b"S1\nS9\n");
    ingest_fails(&s, &[], &["not a VCF"]);
    let out = d.path().join("out");
    let o = run("gmmn-ingest", &[&p, &"--out", &out, &"--samples", &s]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("samples.txt: line 2: sample `S9`"),
        "{}",
        stderr(&o)
    );
    let o = run("gmmn-ingest", &[&p, &"--out", &out, &"--min-maf", &"0.7"]);
    assert!(
        !o.status.success() && stderr(&o).contains("--min-maf"),
        "{}",
        stderr(&o)
    );
    let o = run("gmmn-ingest", &[&d.path().join("nope.vcf"), &"--out", &out]);
    assert!(
        !o.status.success() && stderr(&o).contains("nope.vcf"),
        "{}",
        stderr(&o)
    );
    assert!(files_below(&out).is_empty());
}

fn ingest_tiny(d: &Path) -> PathBuf {
    let p = write(
        d,
        "ok.vcf",
        format!("{HEADER}{}", good_records()).as_bytes(),
    );
    let out = d.join("ingest");
    let o = run("gmmn-ingest", &[&p, &"--out", &out]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn split_fails(input: &Path, panel: &Path, extra: &[&str], needles: &[&str]) {
    let out = input.parent().unwrap().join("split-out");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&input, &"--panel", &panel, &"--out", &out];
    let has = |flag: &str| extra.contains(&flag);
    if !has("--column") {
        args.extend([&"--column" as &dyn AsRef<std::ffi::OsStr>, &"pop"]);
    }
    if !has("--min-haplotypes") {
        args.extend([&"--min-haplotypes" as &dyn AsRef<std::ffi::OsStr>, &"1"]);
    }
    for e in extra {
        args.push(e);
    }
    let o = run("gmmn-split", &args);
    let err = stderr(&o);
    assert!(!o.status.success(), "expected failure: {err}");
    for n in needles {
        assert!(err.contains(n), "error lacks `{n}`: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(files_below(&out).is_empty(), "{:?}", files_below(&out));
}

#[test]
fn panel_missing_samples_or_repeating_one() {
    let d = tempfile::tempdir().unwrap();
    let ingest = ingest_tiny(d.path());
    let panel = write(d.path(), "p.panel", b"sample\tpop\nS1\tA\nS2\tB\n");
    split_fails(
        &ingest,
        &panel,
        &[],
        &["p.panel", "1 of the 3 samples", "S3", "--drop-unlabelled"],
    );
    let dup = write(
        d.path(),
        "dup.panel",
        b"sample\tpop\nS1\tA\nS2\tB\nS3\tA\nS2\tA\n",
    );
    split_fails(
        &ingest,
        &dup,
        &[],
        &["dup.panel", "line 5", "`S2` appears twice"],
    );
    // --drop-unlabelled leaves S3 out.
    let out = d.path().join("dropped");
    let o = run(
        "gmmn-split",
        &[
            &ingest,
            &"--panel",
            &panel,
            &"--column",
            &"pop",
            &"--out",
            &out,
            &"--drop-unlabelled",
            &"--min-haplotypes",
            &"2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files_below(&out).len(), 8);
}

#[test]
fn absent_or_small_group() {
    let d = tempfile::tempdir().unwrap();
    let ingest = ingest_tiny(d.path());
    let panel = write(d.path(), "p.panel", b"sample\tpop\nS1\tA\nS2\tB\nS3\tA\n");
    split_fails(
        &ingest,
        &panel,
        &["--groups", "A,EUR"],
        &["group `EUR` has no haplotypes", "A (4)"],
    );
    split_fails(
        &ingest,
        &panel,
        &["--groups", "B", "--min-haplotypes", "3"],
        &["`B` has only 2 haplotypes"],
    );
    split_fails(
        &ingest,
        &panel,
        &["--column", "super_pop"],
        &["no column `super_pop`"],
    );
}

#[test]
fn tampered_or_unmanifested_genotypes_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let ingest = ingest_tiny(d.path());
    let panel = write(d.path(), "p.panel", b"sample\tpop\nS1\tA\nS2\tB\nS3\tA\n");
    let geno = ingest.join("genotypes.parquet");
    let mut bytes = std::fs::read(&geno).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&geno, &bytes).unwrap();
    split_fails(
        &ingest,
        &panel,
        &[],
        &["genotypes.parquet", "sha256", "does not match"],
    );
    std::fs::remove_file(ingest.join("genotypes.parquet.meta.yaml")).unwrap();
    split_fails(&ingest, &panel, &[], &["genotypes.parquet", "no manifest"]);
}
