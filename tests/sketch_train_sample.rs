//! sketch -> train -> sample through the stage binaries, as a user runs them.

use std::io::Read;
use std::process::Command;

use gmmn_sim::{run, sample_tiny, sketch_tiny, stderr, stdout, train_tiny};

#[test]
fn sketch_train_sample_writes_parquet_vcf_and_panel() {
    let dir = tempfile::tempdir().unwrap();
    let sketch = dir.path().join("sketch");
    let o = sketch_tiny(&sketch);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("3 restart(s) x 1610 features"),
        "{}",
        stdout(&o)
    );
    let m = artifact::open_artifact(&sketch.join("sketch.npy"), artifact::ArtifactKind::Sketch)
        .unwrap();
    assert_eq!(m.shape, vec![3, 1610]);
    assert_eq!(m.params["restart_seeds"].as_array().unwrap().len(), 3);

    let model = dir.path().join("model");
    let o = train_tiny(&sketch, &model, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "model.safetensors",
        "variants.parquet",
        "loss.csv",
        "loss.png",
    ] {
        assert!(
            model.join(f).exists() && artifact::manifest_path(&model.join(f)).exists(),
            "{f}"
        );
    }
    assert!(
        !model.join("checkpoint").exists(),
        "a finished run leaves no checkpoint"
    );
    let png = std::fs::read(model.join("loss.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let out = dir.path().join("synthetic");
    let o = sample_tiny(&model, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let g = artifact::read_genotypes_parquet(&out.join("EAS.parquet")).unwrap();
    assert_eq!((g.n_haplotypes(), g.n_snps()), (101, 805));
    assert!(g.labels().iter().all(|l| l.group.as_deref() == Some("EAS")));
    assert_eq!(g.labels()[0].sample, "SYN_EAS_000001");
    let panel = std::fs::read_to_string(out.join("EAS.panel.tsv")).unwrap();
    assert_eq!(panel.lines().count(), 1 + 51);

    // The VCF: 805 records, 51 individuals (the last haploid), GTs equal to the Parquet rows.
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(out.join("EAS.vcf.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let records: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(records.len(), 805);
    let header = text.lines().find(|l| l.starts_with("#CHROM")).unwrap();
    assert_eq!(header.split('\t').count(), 9 + 51);
    for (j, rec) in records.iter().enumerate().step_by(97) {
        let gts: Vec<&str> = rec.split('\t').skip(9).collect();
        for (k, gt) in gts.iter().enumerate() {
            let a = g.row(2 * k)[j];
            let want = if 2 * k + 1 < 101 {
                format!("{a}|{}", g.row(2 * k + 1)[j])
            } else {
                a.to_string()
            };
            assert_eq!(*gt, want, "record {j} individual {k}");
        }
    }
    if let Ok(o) = Command::new("bcftools")
        .args(["view", "-H"])
        .arg(out.join("EAS.vcf.gz"))
        .output()
    {
        assert!(
            o.status.success(),
            "bcftools view failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 805);
    } else {
        eprintln!(
            "bcftools not installed: the VCF was checked by parsing only (make test installs it)"
        );
    }

    // Same seed, same bytes; another seed, other haplotypes.
    let again = dir.path().join("again");
    let o = sample_tiny(&model, &again);
    assert!(o.status.success());
    for f in ["EAS.parquet", "EAS.vcf.gz", "EAS.panel.tsv"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }

    // Bad input: a sketch given where a model is expected; odd n is fine, n = 0 is not.
    let bad = dir.path().join("bad");
    let o = run("gmmn-sample", &[&sketch, &"--n", &"10", &"--out", &bad]);
    assert!(
        !o.status.success() && stderr(&o).contains("model.safetensors")
            || stderr(&o).contains("expected `model`"),
        "{}",
        stderr(&o)
    );
    let o = run("gmmn-sample", &[&model, &"--n", &"0", &"--out", &bad]);
    assert!(
        !o.status.success() && stderr(&o).contains("--individuals (or --n) must be at least 1"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.exists() || gmmn_sim::files_below(&bad).is_empty());

    // A model with a NaN weight (a damaged file whose manifest was rehashed, or a diverged run's
    // output) is refused, naming the tensor; without the check it sampled all-zero alleles.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    for entry in std::fs::read_dir(&model).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), damaged.join(entry.file_name())).unwrap();
        }
    }
    let file = damaged.join("model.safetensors");
    let mut bytes = std::fs::read(&file).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let (name, start) = header
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, v)| *k != "__metadata__" && v["dtype"] == "F32")
        .map(|(k, v)| (k.clone(), v["data_offsets"][0].as_u64().unwrap() as usize))
        .unwrap();
    let at = 8 + header_len + start;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let mut m = artifact::Manifest::read_for(&file).unwrap();
    m.sha256 = artifact::sha256_file(&file).unwrap();
    std::fs::write(artifact::manifest_path(&file), m.to_yaml().unwrap()).unwrap();
    let o = run("gmmn-sample", &[&damaged, &"--n", &"10", &"--out", &bad]);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains(&format!("tensor `{name}` holds 1 non-finite value(s)")),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(!bad.exists() || gmmn_sim::files_below(&bad).is_empty());
}
