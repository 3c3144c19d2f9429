//! `reference::simulate` on tiny hand-made group files (the layout gmmn-split writes): every
//! method's four files per group, byte-identical reruns, the properties of each method read back
//! from its output, and the errors.

use std::path::{Path, PathBuf};

use artifact::rng::SeededRng;
use artifact::{
    read_genotypes_parquet, ArtifactKind, FileRef, GenotypeMatrix, HaplotypeLabel, Manifest,
    OutputSet, Producer, Variant, VariantTable,
};
use reference::{Method, ReferenceError, ReferenceOptions};

const M: usize = 30;

fn variants() -> Vec<Variant> {
    (0..M)
        .map(|j| Variant {
            chrom: "22".into(),
            pos: 1000 + 10 * j as u64,
            id: format!("rs{j}"),
            reference: "A".into(),
            alternate: "G".into(),
        })
        .collect()
}

/// Haplotypes with LD: mosaics of 3 founders switching with probability 0.1 per SNP.
fn ld_rows(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = SeededRng::new(seed);
    let founders: Vec<Vec<u8>> = (0..3)
        .map(|_| (0..M).map(|_| (rng.next_f64() < 0.4) as u8).collect())
        .collect();
    (0..n)
        .map(|_| {
            let mut f = rng.below(3) as usize;
            (0..M)
                .map(|j| {
                    if rng.next_f64() < 0.1 {
                        f = rng.below(3) as usize;
                    }
                    founders[f][j]
                })
                .collect()
        })
        .collect()
}

/// `dir/<file_stem>.parquet` and its variants, as gmmn-split writes a group.
fn write_group(dir: &Path, file_stem: &str, group: &str, rows: &[Vec<u8>]) {
    let labels: Vec<HaplotypeLabel> = (0..rows.len())
        .map(|i| HaplotypeLabel {
            sample: format!("{group}{}", i / 2),
            haplotype: (i % 2) as u8,
            group: Some(group.into()),
        })
        .collect();
    let matrix = GenotypeMatrix::new(labels, M, rows.concat()).unwrap();
    let table = VariantTable::with_counts(variants(), &matrix.allele_counts(), rows.len());
    let producer = Producer::new("split", "gmmn-split", "0.1.0");
    let gpath = dir.join(format!("{file_stem}.parquet"));
    let vpath = dir.join(format!("{file_stem}.variants.parquet"));
    let mut out = OutputSet::new();
    let mut vm = Manifest::new(ArtifactKind::Variants, producer.clone());
    vm.shape = vec![M as u64];
    let vm = out
        .stage_artifact(&vpath, vm, |w| artifact::write_variants_parquet(w, &table))
        .unwrap();
    let mut gm = Manifest::new(ArtifactKind::Genotypes, producer)
        .count("haplotypes", rows.len() as u64)
        .count("snps", M as u64);
    gm.shape = vec![rows.len() as u64, M as u64];
    gm.companions = vec![FileRef::new("variants", &vpath, vm.sha256, dir).unwrap()];
    out.stage_artifact(&gpath, gm, |w| matrix.write_parquet(w))
        .unwrap();
    out.commit().unwrap();
}

/// Groups A (40 haplotypes) and B (26), and a held-out file of one haplotype that a directory
/// read must skip (were it read, its group would have too few haplotypes).
fn training_dir(root: &Path) -> PathBuf {
    let dir = root.join("groups");
    std::fs::create_dir_all(&dir).unwrap();
    write_group(&dir, "A", "A", &ld_rows(40, 1));
    write_group(&dir, "B", "B", &ld_rows(26, 2));
    write_group(&dir, "H.heldout", "H", &ld_rows(1, 3));
    dir
}

fn opts(method: Method) -> ReferenceOptions {
    let mut o = ReferenceOptions::new(method);
    o.seed = 5;
    o.clusters = Some(3);
    o.iterations = Some(8);
    o.segment = Some(5.0);
    o
}

fn rows_of(path: &Path) -> Vec<Vec<u8>> {
    let m = read_genotypes_parquet(path).unwrap();
    (0..m.n_haplotypes()).map(|i| m.row(i).to_vec()).collect()
}

const FILES: [&str; 4] = [".parquet", ".variants.parquet", ".vcf.gz", ".panel.tsv"];

/// A manifest without its creation time (the one field that may differ between reruns).
fn manifest_sans_created(data: &Path) -> String {
    std::fs::read_to_string(artifact::manifest_path(data))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("created:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_method_writes_each_group_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let training = training_dir(tmp.path());
    for method in [
        Method::Independent,
        Method::Mosaic,
        Method::Hmm,
        Method::Markov,
    ] {
        let run = |name: &str, seed: u64| {
            let out = tmp.path().join(format!("{method}-{name}"));
            let mut o = opts(method);
            o.seed = seed;
            let summary = reference::simulate(&training, &out, &o).unwrap();
            (out, summary)
        };
        let (a, summary) = run("a", 5);
        let (b, _) = run("b", 5);
        let (c, _) = run("c", 6);
        assert_eq!(
            summary
                .groups
                .iter()
                .map(|g| g.group.as_str())
                .collect::<Vec<_>>(),
            ["A", "B"],
            "{method}: the held-out file is skipped"
        );
        for (g, n) in [("A", 40), ("B", 26)] {
            for f in FILES {
                let name = format!("{g}{f}");
                let (x, y) = (a.join(&name), b.join(&name));
                artifact::open_artifact(&x, artifact::Manifest::read_for(&x).unwrap().kind)
                    .unwrap();
                assert_eq!(
                    std::fs::read(&x).unwrap(),
                    std::fs::read(&y).unwrap(),
                    "{method} {name}"
                );
                assert_eq!(
                    manifest_sans_created(&x),
                    manifest_sans_created(&y),
                    "{method} {name}"
                );
            }
            let rows = rows_of(&a.join(format!("{g}.parquet")));
            assert_eq!(rows.len(), n, "{method}: default n is the training count");
            assert_ne!(
                rows,
                rows_of(&c.join(format!("{g}.parquet"))),
                "{method}: another seed"
            );
            let m = artifact::Manifest::read_for(&a.join(format!("{g}.parquet"))).unwrap();
            assert_eq!(m.producer.stage, "reference");
            assert_eq!(m.params["private"], false);
            assert_eq!(m.params["method"], method.as_str());
            assert_eq!(m.counts["training_haplotypes"], n as u64);
            assert_eq!(m.inputs.len(), 2);
            assert_eq!(m.inputs[0].role, "training");
            assert!(m.inputs[0].path.ends_with(&format!("groups/{g}.parquet")));
            assert_eq!(m.inputs[1].role, "variants");
        }
        // Groups are simulated from seeds of their own: B is not A's stream continued.
        let a_rows = rows_of(&a.join("A.parquet"));
        let b_rows = rows_of(&a.join("B.parquet"));
        assert_ne!(a_rows[..26], b_rows[..]);
    }
}

#[test]
fn mosaic_copies_training_alleles_and_whole_haplotypes_when_segments_are_long() {
    let tmp = tempfile::tempdir().unwrap();
    let training = training_dir(tmp.path());
    let a = rows_of(&training.join("A.parquet"));

    let mut o = opts(Method::Mosaic);
    o.segment = Some(1e9);
    o.n = Some(60);
    let out = tmp.path().join("whole");
    reference::simulate(&training, &out, &o).unwrap();
    let sim = rows_of(&out.join("A.parquet"));
    assert_eq!(sim.len(), 60);
    assert!(
        sim.iter().all(|r| a.contains(r)),
        "a row that is not a training row"
    );

    o.segment = Some(2.0);
    let out = tmp.path().join("short");
    reference::simulate(&training, &out, &o).unwrap();
    let sim = rows_of(&out.join("A.parquet"));
    for j in 0..M {
        for (h, r) in sim.iter().enumerate() {
            assert!(a.iter().any(|t| t[j] == r[j]), "haplotype {h} SNP {j}");
        }
    }
    assert!(
        sim.iter().any(|r| !a.contains(r)),
        "2-SNP segments should mix sources"
    );
}

#[test]
fn independent_keeps_allele_frequencies() {
    let tmp = tempfile::tempdir().unwrap();
    let training = training_dir(tmp.path());
    let mut o = opts(Method::Independent);
    o.n = Some(4000);
    // One group file as the input.
    let out = tmp.path().join("indep");
    let summary = reference::simulate(&training.join("A.parquet"), &out, &o).unwrap();
    assert_eq!(summary.groups.len(), 1);
    assert!(!out.join("B.parquet").exists());
    let a = rows_of(&training.join("A.parquet"));
    let sim = rows_of(&out.join("A.parquet"));
    let table = artifact::read_variants_parquet(&out.join("A.variants.parquet")).unwrap();
    for j in 0..M {
        let p = a.iter().filter(|r| r[j] == 1).count() as f64 / a.len() as f64;
        let q = sim.iter().filter(|r| r[j] == 1).count() as f64 / sim.len() as f64;
        // 5 binomial sds at p = 1/2 over 4,000 draws: 0.04.
        assert!((p - q).abs() < 0.04, "SNP {j}: {q} against {p}");
        assert_eq!(
            table.allele_frequency[j], q,
            "the variants table has the simulated AF"
        );
    }
}

#[test]
fn hmm_records_a_non_decreasing_em_log_likelihood() {
    let tmp = tempfile::tempdir().unwrap();
    let training = training_dir(tmp.path());
    let out = tmp.path().join("hmm");
    let summary = reference::simulate(&training, &out, &opts(Method::Hmm)).unwrap();
    for g in &summary.groups {
        let ll = g.em_log_likelihood.as_ref().unwrap();
        assert_eq!(ll.len(), 9);
        for t in 1..ll.len() {
            assert!(
                ll[t] >= ll[t - 1] - 1e-9 * ll[t - 1].abs(),
                "{}: {ll:?}",
                g.group
            );
        }
        let m = artifact::Manifest::read_for(&out.join(format!("{}.vcf.gz", g.group))).unwrap();
        let recorded: Vec<f64> = m.params["em_log_likelihood"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(&recorded, ll);
        assert_eq!(m.params["clusters"], 3);
        assert_eq!(m.params["iterations"], 8);
        assert_eq!(m.params["clip"], 1e-3);
        assert!(m.params["segment"].is_null() && m.params["flip"].is_null());
    }
}

#[test]
fn bad_options_and_inputs_are_refused_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let training = training_dir(tmp.path());
    let out = tmp.path().join("out");
    type Edit = fn(&mut ReferenceOptions);
    let cases: [(Method, Edit, &str); 11] = [
        (Method::Mosaic, |o| o.segment = Some(0.5), "--segment"),
        (Method::Mosaic, |o| o.segment = Some(f64::NAN), "--segment"),
        (Method::Mosaic, |o| o.flip = Some(1.0), "--flip"),
        (Method::Mosaic, |o| o.flip = Some(-0.1), "--flip"),
        (Method::Hmm, |o| o.clusters = Some(0), "--clusters"),
        (Method::Hmm, |o| o.iterations = Some(0), "--iterations"),
        (Method::Hmm, |o| o.clip = Some(0.5), "--clip"),
        (Method::Independent, |o| o.n = Some(0), "--n"),
        (Method::Markov, |o| o.order = Some(0), "--order"),
        (Method::Markov, |o| o.min_count = Some(0), "--min-count"),
        (
            Method::Markov,
            |o| o.pseudocount = Some(-1.0),
            "--pseudocount",
        ),
    ];
    for (method, edit, flag) in cases {
        let mut o = opts(method);
        edit(&mut o);
        let e = reference::simulate(&training, &out, &o).unwrap_err();
        assert!(matches!(e, ReferenceError::Usage(_)), "{e}");
        assert!(e.to_string().starts_with(flag), "{e}");
        assert!(!out.exists());
    }
    assert!("pbwt"
        .parse::<Method>()
        .unwrap_err()
        .contains("unknown method `pbwt` (independent, mosaic, hmm or markov)"));

    // A group with one haplotype.
    let lonely = tmp.path().join("lonely");
    std::fs::create_dir_all(&lonely).unwrap();
    write_group(&lonely, "A", "A", &ld_rows(10, 1));
    write_group(&lonely, "Z", "Z", &ld_rows(1, 2));
    let e = reference::simulate(&lonely, &out, &opts(Method::Independent)).unwrap_err();
    assert!(
        e.to_string()
            .contains("group Z has 1 training haplotype(s)")
            && e.to_string().contains("lonely"),
        "{e}"
    );
    assert!(!out.exists());

    let missing = tmp.path().join("missing.parquet");
    let e = reference::simulate(&missing, &out, &opts(Method::Mosaic)).unwrap_err();
    assert!(
        e.to_string().contains("missing.parquet") && e.to_string().contains("no such file"),
        "{e}"
    );
    let vcf = tmp.path().join("x.vcf.gz");
    std::fs::write(&vcf, b"").unwrap();
    let e = reference::simulate(&vcf, &out, &opts(Method::Mosaic)).unwrap_err();
    assert!(
        e.to_string().contains("x.vcf.gz") && e.to_string().contains("not a genotype Parquet"),
        "{e}"
    );
    assert!(!out.exists());
}
