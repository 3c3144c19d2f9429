//! The Markov chain of a pattern sketch end to end: `gmmn-sketch --features patterns` ->
//! `gmmn-train` -> `gmmn-sample`, on the shipped 1000 Genomes EAS group, and the mistakes a user
//! can make with it.

use std::path::Path;

use gmmn_sim::{run, sample_tiny, shared_1kg_groups, sketch_tiny, stderr, stdout, train_tiny};

fn sketch_patterns(out: &Path, extra: &[&str]) -> std::process::Output {
    let input = shared_1kg_groups().join("EAS.parquet");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&input, &"--out", &out, &"--features", &"patterns"];
    for a in extra {
        args.push(a);
    }
    run("gmmn-sketch", &args)
}

fn train(sketch: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&sketch, &"--out", &out];
    for a in extra {
        args.push(a);
    }
    run("gmmn-train", &args)
}

#[test]
fn pattern_sketch_to_synthetic_haplotypes() {
    let tmp = tempfile::tempdir().unwrap();
    let sketch = tmp.path().join("sketch");
    let o = sketch_patterns(&sketch, &["--order", "40", "--min-count", "4"]);
    assert!(o.status.success(), "gmmn-sketch failed:\n{}", stderr(&o));
    assert!(
        stdout(&o).contains("each shared by at least 4"),
        "{}",
        stdout(&o)
    );
    let m = artifact::open_artifact(&sketch.join("sketch.npy"), artifact::ArtifactKind::Sketch)
        .unwrap();
    assert_eq!(m.params["features"], "patterns");
    assert_eq!(m.params["order"], 40);
    assert_eq!(m.params["min_count"], 4);
    assert!(m.seed.is_none());

    let model = tmp.path().join("model");
    let o = train(&sketch, &model, &["--pseudocount", "0.5"]);
    assert!(o.status.success(), "gmmn-train failed:\n{}", stderr(&o));
    assert!(stdout(&o).contains("Markov chain of EAS"), "{}", stdout(&o));
    let mm = artifact::open_artifact(
        &model.join("model.safetensors"),
        artifact::ArtifactKind::Model,
    )
    .unwrap();
    assert_eq!(mm.params["generator"], "markov");
    assert_eq!(mm.params["min_count"], 4);
    assert_eq!(mm.params["pseudocount"], 0.5);
    assert!(!model.join("loss.csv").exists());

    let synthetic = tmp.path().join("synthetic");
    let o = sample_tiny(&model, &synthetic);
    assert!(o.status.success(), "gmmn-sample failed:\n{}", stderr(&o));
    let matrix = artifact::read_genotypes_parquet(&synthetic.join("EAS.parquet")).unwrap();
    assert_eq!((matrix.n_haplotypes(), matrix.n_snps()), (101, 805));
    let vcf = synthetic.join("EAS.vcf.gz");
    assert!(vcf.exists());
    let sm = artifact::Manifest::read_for(&synthetic.join("EAS.parquet")).unwrap();
    assert_eq!(sm.params["generator"], "markov");

    // The chain follows the group's allele frequencies (the sketch's, as pattern counts).
    let real = artifact::read_genotypes_parquet(&shared_1kg_groups().join("EAS.parquet")).unwrap();
    let freq = |m: &artifact::GenotypeMatrix| -> Vec<f64> {
        let n = m.n_haplotypes() as f64;
        m.allele_counts().iter().map(|&c| c as f64 / n).collect()
    };
    let (a, b) = (freq(&real), freq(&matrix));
    let mean_abs = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64;
    assert!(mean_abs < 0.05, "mean |AF difference| {mean_abs}");

    // Same model and seed: the same bytes.
    let again = tmp.path().join("again");
    assert!(sample_tiny(&model, &again).status.success());
    assert_eq!(
        std::fs::read(synthetic.join("EAS.parquet")).unwrap(),
        std::fs::read(again.join("EAS.parquet")).unwrap()
    );
}

#[test]
fn chain_mistakes_get_clear_errors_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    // A min-count the group cannot meet.
    let big = tmp.path().join("big");
    let o = sketch_patterns(&big, &["--min-count", "100000"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("EAS.parquet") && e.contains("--min-count 100000"),
        "{e}"
    );
    assert!(!big.exists());
    for (flag, value, what) in [
        ("--order", "0", "--order 0"),
        ("--order", "200", "1 to 127"),
        ("--min-fraction", "0.7", "--min-fraction 0.7"),
    ] {
        let out = tmp.path().join(format!("bad{flag}{value}"));
        let o = sketch_patterns(&out, &[flag, value]);
        assert!(
            !o.status.success() && stderr(&o).contains(what),
            "{flag} {value}: {}",
            stderr(&o)
        );
        assert!(!out.exists());
    }

    // GMMN settings for a pattern sketch, chain settings for a random-feature sketch.
    let patterns = tmp.path().join("patterns");
    assert!(sketch_patterns(&patterns, &["--order", "8"])
        .status
        .success());
    let model = tmp.path().join("model");
    let o = train(&patterns, &model, &["--hidden", "8", "--steps", "3"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("pattern sketch") && e.contains("--hidden, --steps"),
        "{e}"
    );
    assert!(!model.exists());
    let o = train(&patterns, &model, &["--pseudocount=-1"]);
    assert!(
        !o.status.success() && stderr(&o).contains("--pseudocount -1"),
        "{}",
        stderr(&o)
    );
    assert!(!model.exists());

    let features = tmp.path().join("features");
    assert!(sketch_tiny(&features).status.success());
    let o = train_tiny(&features, &model, &["--pseudocount", "2"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("random-feature sketch") && stderr(&o).contains("--pseudocount"));
    assert!(!model.exists());
}
