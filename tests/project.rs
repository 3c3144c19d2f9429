//! gmmn-project end to end: real 1000 Genomes groups projected against themselves (Parquet
//! directory and a VCF + panel), the coordinates and figures with their manifests, and bad
//! inputs that must fail cleanly with nothing written.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use artifact::{
    open_artifact, read_coordinates_parquet, read_genotypes_parquet, read_variants_parquet,
    ArtifactKind,
};
use gmmn_sim::{files_below, run, shared_1kg_groups, stderr};

/// Settings that keep the debug build quick: 400 ISOMAP landmarks.
const QUICK: [&str; 2] = ["--landmarks", "400"];

fn project(real: &Path, synthetic: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&dyn AsRef<OsStr>> =
        vec![&"--real", &real, &"--synthetic", &synthetic, &"--out", &out];
    for e in QUICK.iter().chain(extra) {
        args.push(e);
    }
    run("gmmn-project", &args)
}

/// A plain-text VCF of the first `individuals` samples of the EUR group file at its first
/// `snps` variants, and its `sample group` panel.
fn eur_vcf(dir: &Path, individuals: usize, snps: usize) -> (PathBuf, PathBuf) {
    let groups = shared_1kg_groups();
    let g = read_genotypes_parquet(&groups.join("EUR.parquet")).unwrap();
    let v = read_variants_parquet(&groups.join("EUR.variants.parquet")).unwrap();
    let m = g.n_snps();
    let labels = g.labels();
    let samples: Vec<&str> = (0..individuals)
        .map(|i| {
            assert_eq!(labels[2 * i].sample, labels[2 * i + 1].sample);
            labels[2 * i].sample.as_str()
        })
        .collect();
    let mut text = String::from(
        "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT",
    );
    for s in &samples {
        write!(text, "\t{s}").unwrap();
    }
    text.push('\n');
    for (j, var) in v.variants.iter().take(snps).enumerate() {
        write!(
            text,
            "{}\t{}\t{}\t{}\t{}\t.\tPASS\t.\tGT",
            var.chrom, var.pos, var.id, var.reference, var.alternate
        )
        .unwrap();
        for i in 0..individuals {
            let a = g.values()[2 * i * m + j];
            let b = g.values()[(2 * i + 1) * m + j];
            write!(text, "\t{a}|{b}").unwrap();
        }
        text.push('\n');
    }
    let vcf = dir.join("eur.vcf");
    std::fs::write(&vcf, text).unwrap();
    let panel = dir.join("eur.panel.tsv");
    let rows: String = samples.iter().map(|s| format!("{s}\tEUR\n")).collect();
    std::fs::write(&panel, format!("sample\tgroup\n{rows}")).unwrap();
    (vcf, panel)
}

/// Decode a whole PNG; returns its size.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height)
}

/// (method, sample, haplotype) -> coordinates, for one source.
type Coords = BTreeMap<(String, String, u8), Vec<f64>>;

fn by_source(out: &Path) -> (Coords, Coords, usize) {
    let path = out.join("coordinates.parquet");
    let m = open_artifact(&path, ArtifactKind::Coordinates).unwrap();
    let table = read_coordinates_parquet(&path).unwrap();
    assert_eq!(m.shape, vec![table.rows.len() as u64, 2]);
    assert_eq!(table.components, 2);
    let (mut real, mut synth) = (Coords::new(), Coords::new());
    for r in table.rows {
        assert!(r.coords.iter().all(|c| c.is_finite()), "{r:?}");
        let key = (r.method.clone(), r.sample.clone(), r.haplotype);
        let side = match r.source.as_str() {
            "real" => &mut real,
            "synthetic" => &mut synth,
            other => panic!("source {other}"),
        };
        assert!(side.insert(key, r.coords).is_none(), "duplicate row");
    }
    (real, synth, m.counts["real_haplotypes"] as usize)
}

#[test]
fn real_groups_against_themselves_and_a_vcf_with_its_panel() {
    let groups = shared_1kg_groups();
    let tmp = tempfile::tempdir().unwrap();

    // Parquet directory on both sides, two groups.
    let out = tmp.path().join("out");
    let o = project(groups, groups, &out, &["--groups", "EUR,EAS"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (real, synth, n) = by_source(&out);
    assert_eq!(real.len(), 2 * n);
    assert_eq!(synth.len(), 2 * n);
    // The same haplotypes on both sides land on the same coordinates, under both methods
    // (ISOMAP's out-of-sample rule reproduces a training point's graph geodesics).
    assert_eq!(real, synth);
    let m = open_artifact(&out.join("coordinates.parquet"), ArtifactKind::Coordinates).unwrap();
    assert_eq!(m.params["methods"], serde_json::json!(["pca", "isomap"]));
    assert_eq!(m.params["groups"], serde_json::json!(["EAS", "EUR"]));
    assert_eq!(m.seed, Some(1));
    let ratio = m.params["pca_explained_variance_ratio"].as_array().unwrap();
    assert!(ratio[0].as_f64().unwrap() > ratio[1].as_f64().unwrap());
    assert!(m
        .inputs
        .iter()
        .any(|i| i.role == "real" && i.path.ends_with("EUR.parquet")));
    assert!(m
        .inputs
        .iter()
        .any(|i| i.role == "synthetic" && i.path.ends_with("EAS.parquet")));
    // PC1 separates EUR from EAS.
    let pc1 = |group_file: &str| -> Vec<f64> {
        let g = read_genotypes_parquet(&groups.join(group_file)).unwrap();
        let samples: std::collections::BTreeSet<_> =
            g.labels().iter().map(|l| l.sample.clone()).collect();
        real.iter()
            .filter(|((method, s, _), _)| method == "pca" && samples.contains(s))
            .map(|(_, c)| c[0])
            .collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (eur, eas) = (pc1("EUR.parquet"), pc1("EAS.parquet"));
    assert!(
        (mean(&eur) - mean(&eas)).abs() > 2.0,
        "{} {}",
        mean(&eur),
        mean(&eas)
    );

    let mut expected = vec!["coordinates.parquet".to_string()];
    for method in ["pca", "isomap"] {
        for stem in [
            method.to_string(),
            format!("{method}.EAS"),
            format!("{method}.EUR"),
        ] {
            for ext in ["png", "svg"] {
                let name = format!("{stem}.{ext}");
                let pm = open_artifact(&out.join(&name), ArtifactKind::Plot).unwrap();
                assert_eq!(pm.params["method"], method);
                assert_eq!(pm.inputs[0].role, "coordinates");
                assert_eq!(pm.inputs[0].path, "coordinates.parquet");
                assert_eq!(pm.inputs[0].sha256, m.sha256);
                if ext == "png" {
                    assert_eq!(png_size(&out.join(&name)), (900, 760));
                } else {
                    let svg = std::fs::read_to_string(out.join(&name)).unwrap();
                    assert!(svg.contains("<svg"));
                }
                expected.push(name);
            }
        }
    }
    let mut with_manifests: Vec<String> = expected
        .iter()
        .flat_map(|f| [f.clone(), format!("{f}.meta.yaml")])
        .collect();
    with_manifests.sort();
    assert_eq!(files_below(&out), with_manifests);

    // A VCF + panel as the synthetic side: 25 real EUR individuals written out as a VCF.
    let (vcf, panel) = eur_vcf(tmp.path(), 25, usize::MAX);
    let out = tmp.path().join("vcf_out");
    let o = project(
        groups,
        &vcf,
        &out,
        &[
            "--synthetic-panel",
            panel.to_str().unwrap(),
            "--groups",
            "EUR",
            "--methods",
            "isomap,pca",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (real, synth, _) = by_source(&out);
    assert_eq!(synth.len(), 2 * 50);
    for (key, c) in &synth {
        assert_eq!(&real[key], c, "{key:?}");
    }
    let m = open_artifact(&out.join("coordinates.parquet"), ArtifactKind::Coordinates).unwrap();
    assert_eq!(m.params["methods"], serde_json::json!(["isomap", "pca"]));
    assert!(m.inputs.iter().any(|i| i.role == "synthetic_panel"));
    assert!(out.join("isomap.EUR.png").exists() && out.join("pca.EUR.svg").exists());
}

/// Run gmmn-project; assert failure, that stderr contains each of `needles`, and that nothing
/// was written.
fn fails(real: &Path, synthetic: &Path, extra: &[&str], needles: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("out");
    let o = project(real, synthetic, &out, extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "expected failure: {err}");
    for n in needles {
        assert!(err.contains(n), "error lacks `{n}`: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        files_below(&out).is_empty(),
        "output left: {:?}",
        files_below(&out)
    );
}

#[test]
fn bad_inputs_fail_cleanly() {
    let groups = shared_1kg_groups();
    let eur = groups.join("EUR.parquet");
    let tmp = tempfile::tempdir().unwrap();
    // Different variants: a VCF of the first 100 SNPs only.
    let (short_vcf, panel) = eur_vcf(tmp.path(), 5, 100);
    let panel_arg = panel.to_str().unwrap();
    fails(
        &eur,
        &short_vcf,
        &["--synthetic-panel", panel_arg],
        &[
            "eur.vcf",
            "EUR.parquet",
            "same variants",
            "805 SNPs against 100",
        ],
    );
    // A group on one side only.
    fails(groups, &eur, &[], &["groups differ", "EUR.parquet", "AFR"]);
    fails(
        groups,
        &eur,
        &["--groups", "EUR,EAS"],
        &["EUR.parquet", "`EAS`"],
    );
    // A VCF without its panel.
    fails(&eur, &short_vcf, &[], &["eur.vcf", "--synthetic-panel"]);
    // Options.
    fails(&eur, &eur, &["--neighbours", "0"], &["--neighbours"]);
    fails(
        &eur,
        &eur,
        &["--neighbours", "100000"],
        &["--neighbours 100000", "EUR.parquet"],
    );
    fails(&eur, &eur, &["--components", "0"], &["--components"]);
    let o = project(
        &eur,
        &eur,
        &tmp.path().join("x"),
        &["--methods", "pca,umap"],
    );
    assert!(!o.status.success() && stderr(&o).contains("unknown method `umap`"));
    assert!(files_below(&tmp.path().join("x")).is_empty());
}
