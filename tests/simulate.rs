//! `gmmn simulate`: the user's own VCF to synthetic individuals in one command, as a new user
//! runs it from the README: the shipped 1000 Genomes VCF with its panel (10,000 individuals per
//! super-population, held-out report), a cohort without a panel (one group, no hold-out), a
//! rerun with nothing to do, and the mistakes.

use std::process::Command;

use gmmn_sim::{bcftools, bin, data, doc_commands, read_bed, run_doc_command, stderr, stdout};

fn gmmn(args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    let mut c = Command::new(bin("gmmn"));
    c.arg("simulate");
    for a in args {
        c.arg(a.as_ref());
    }
    c.output().expect("gmmn starts")
}

fn bcftools_samples(vcf: &std::path::Path) -> usize {
    let o = bcftools(&[&"query", &"-l", &vcf]);
    assert!(
        o.status.success(),
        "bcftools query -l {}: {}",
        vcf.display(),
        stderr(&o)
    );
    stdout(&o).lines().count()
}

#[test]
fn the_1000_genomes_vcf_to_10000_individuals_per_super_population() {
    let tmp = tempfile::tempdir().unwrap();
    // The README's command, as written there (run from a scratch directory with the shipped
    // data linked in), and, once more at the end, a rerun with nothing to do.
    let shown: Vec<_> = doc_commands("README.md")
        .into_iter()
        .filter(|c| c.text.starts_with("target/release/gmmn simulate "))
        .collect();
    assert_eq!(
        shown.len(),
        1,
        "README.md shows one gmmn simulate command: {shown:?}"
    );
    assert!(shown[0].text.contains("--individuals 10000"), "{shown:?}");
    let out = tmp.path().join("out/simulate");
    assert!(shown[0].text.ends_with("--out out/simulate"), "{shown:?}");
    let o = run_doc_command(&shown[0], tmp.path());
    assert!(
        o.status.success(),
        "gmmn simulate:\n{}{}",
        stdout(&o),
        stderr(&o)
    );
    let synthetic = out.join("chain").join("synthetic");
    let groups = ["AFR", "AMR", "EAS", "EUR", "SAS"];
    for g in groups {
        let vcf = synthetic.join(format!("{g}.vcf.gz"));
        assert_eq!(bcftools_samples(&vcf), 10_000, "{g}");
        assert!(synthetic.join(format!("{g}.vcf.gz.tbi")).is_file());
        let bed = read_bed(&synthetic.join(format!("{g}.bed")));
        assert_eq!(bed["shape"], serde_json::json!([10_000, 805]), "{g}");
        assert_eq!(bed["fid"][0], g);
    }
    // The report: held-out share, the chain against the yardstick and the floor, with privacy.
    let report = std::fs::read_to_string(out.join("simulate.md")).unwrap();
    assert!(
        report.contains("20% of each group's individuals were held out"),
        "{report}"
    );
    for row in ["chain", "independent", "floor"] {
        assert!(report.contains(row), "no `{row}` row:\n{report}");
    }
    assert!(report.contains("membership AUC"), "{report}");
    // The held-out figures are in the chain's report, computed against the held-out part.
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("chain").join("report").join("report.json")).unwrap(),
    )
    .unwrap();
    let auc = json.pointer("/comparisons/0/privacy/membership_auc");
    assert!(auc.is_some_and(|a| a.as_f64().is_some()), "{json:#}");
    // Everything is audited and sealed; a rerun has nothing to do.
    let o = Command::new(bin("gmmn"))
        .args(["audit", "--quiet"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gmmn audit: {}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = run_doc_command(&shown[0], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(0 steps ran,"), "{}", stdout(&o));
}

#[test]
fn a_cohort_without_a_panel_is_one_group() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let vcf = data("1kg_phase3_805snp.vcf.gz");
    let o = gmmn(&[
        &vcf,
        &"--individuals",
        &"50",
        &"--holdout",
        &"0",
        &"--group",
        &"COHORT",
        &"--out",
        &out,
    ]);
    assert!(
        o.status.success(),
        "gmmn simulate:\n{}{}",
        stdout(&o),
        stderr(&o)
    );
    let panel = std::fs::read_to_string(out.join("cohort.panel")).unwrap();
    assert_eq!(panel.lines().count(), 2505);
    assert!(
        panel.starts_with("sample\tgroup\nHG00096\tCOHORT\n"),
        "{panel}"
    );
    let synthetic = out.join("chain").join("synthetic");
    assert_eq!(bcftools_samples(&synthetic.join("COHORT.vcf.gz")), 50);
    assert!(synthetic.join("COHORT.bed").is_file());
    let report = std::fs::read_to_string(out.join("simulate.md")).unwrap();
    assert!(
        report.contains("no figure of realism or privacy"),
        "{report}"
    );
    assert!(!out.join("chain").join("report").exists());
}

#[test]
fn simulate_mistakes_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let vcf = data("1kg_phase3_805snp.vcf.gz");
    let missing = tmp.path().join("nope.vcf.gz");
    let not_vcf = tmp.path().join("notes.txt");
    std::fs::write(&not_vcf, "hello\n").unwrap();
    let sites_only = tmp.path().join("sites.vcf");
    std::fs::write(
        &sites_only,
        "##fileformat=VCFv4.2\n##contig=<ID=22>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
         22\t100\trs1\tA\tG\t.\t.\t.\n",
    )
    .unwrap();
    let cases: Vec<(Vec<&dyn AsRef<std::ffi::OsStr>>, &str)> = vec![
        (vec![&missing, &"--individuals", &"5"], "no such VCF file"),
        (vec![&vcf, &"--individuals", &"0"], "at least 1"),
        (
            vec![&vcf, &"--individuals", &"5", &"--holdout", &"1"],
            "below 1",
        ),
        (
            vec![&vcf, &"--individuals", &"5", &"--groups", &"EUR"],
            "--groups needs --panel",
        ),
        (
            vec![&vcf, &"--individuals", &"5", &"--group", &"a b"],
            "--group `a b`",
        ),
        (
            vec![&vcf, &"--individuals", &"5", &"--panel", &missing],
            "no such panel file",
        ),
        (
            vec![&not_vcf, &"--individuals", &"5"],
            "not a VCF or BCF file",
        ),
        (
            vec![&sites_only, &"--individuals", &"5"],
            "names no samples",
        ),
    ];
    for (mut args, message) in cases {
        args.extend([&"--out" as &dyn AsRef<std::ffi::OsStr>, &out]);
        let o = gmmn(&args);
        assert!(!o.status.success());
        let e = stderr(&o);
        assert!(e.contains(message), "expected `{message}` in: {e}");
        assert!(!e.contains("panicked"), "{e}");
        // Refused before anything was committed: no output directory left behind.
        assert!(!out.exists(), "{message}: {} left behind", out.display());
    }
    // A failure after an artifact was committed (the split, over a panel that names none of the
    // VCF's samples) keeps the directory: a rerun with a right panel goes on from the ingest.
    let nobody = tmp.path().join("nobody.panel");
    std::fs::write(&nobody, "sample\tsuper_pop\nNOBODY1\tEUR\nNOBODY2\tEUR\n").unwrap();
    let o = gmmn(&[
        &vcf,
        &"--panel",
        &nobody,
        &"--individuals",
        &"5",
        &"--out",
        &out,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("are not in the panel"),
        "{}",
        stderr(&o)
    );
    assert!(out.join("ingest/genotypes.parquet.meta.yaml").is_file());
}
