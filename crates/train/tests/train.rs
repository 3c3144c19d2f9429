//! The trainer against the shipped 805-SNP data: W regeneration agrees with the sketch, the loss
//! goes down, samples track the real allele frequencies, resume equals an uninterrupted run, and
//! bad sketches are refused.

use std::path::{Path, PathBuf};

use artifact::features::{FeatureMap, WeightInit};
use artifact::read_genotypes_parquet;
use gmmn_sim::{run, shared_1kg_groups, stderr};
use sketch::SketchOptions;
use tch::{Device, Kind, Tensor};
use train::features::FeatureTensor;
use train::{DeviceChoice, TrainError, TrainOptions};

fn make_sketch(group: &str, opts: &SketchOptions, out: &Path) -> PathBuf {
    let input = shared_1kg_groups().join(format!("{group}.parquet"));
    sketch::sketch(&input, out, opts, &|_, _| {}).expect("sketch");
    out.to_path_buf()
}

fn relu_sketch(group: &str, multiplier: usize, restarts: usize, out: &Path) -> PathBuf {
    let opts = SketchOptions {
        features: FeatureMap::Relu,
        multiplier,
        restarts: Some(restarts),
        seed: 3,
        init: WeightInit::Gaussian,
        ..SketchOptions::default()
    };
    make_sketch(group, &opts, out)
}

fn tiny(steps: u64) -> TrainOptions {
    TrainOptions {
        latent: Some(32),
        hidden: 128,
        batch: 128,
        lr: 1e-3,
        steps,
        restart_every: 10,
        seed: 9,
        device: DeviceChoice::Cpu,
        checkpoint_every: 5,
        ..TrainOptions::default()
    }
}

#[test]
fn trainer_regenerates_w_and_matches_the_sketch() {
    let dir = tempfile::tempdir().unwrap();
    let sk = relu_sketch("EAS", 3, 2, &dir.path().join("sketch"));
    let (sketch, info, _, _) = train::read_sketch(&sk).unwrap();
    let spec = info.spec().unwrap();
    let real = read_genotypes_parquet(&shared_1kg_groups().join("EAS.parquet")).unwrap();
    let x = Tensor::from_slice(real.values())
        .view([real.n_haplotypes() as i64, real.n_snps() as i64])
        .to_kind(Kind::Double);
    for r in 0..2 {
        let phi = FeatureTensor::new(&spec, info.restart_seeds[r], Device::Cpu);
        let mean: Vec<f64> = Vec::try_from(&phi.mean_phi(&x)).unwrap();
        let mut worst = 0f64;
        for (a, b) in mean.iter().zip(sketch.row(r)) {
            worst = worst.max((a - *b as f64).abs());
        }
        assert!(
            worst <= 1e-6,
            "restart {r}: trainer mean phi differs from the sketch by {worst}"
        );
        // The f32 path used in training agrees to f32 rounding.
        let mean32: Vec<f32> = Vec::try_from(&phi.mean_phi(&x.to_kind(Kind::Float))).unwrap();
        let worst32 = mean32
            .iter()
            .zip(sketch.row(r))
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst32 <= 1e-4,
            "restart {r}: f32 mean phi differs by {worst32}"
        );
    }
}

#[test]
fn loss_goes_down_and_samples_track_allele_frequencies() {
    let dir = tempfile::tempdir().unwrap();
    let sk = relu_sketch("EUR", 2, 4, &dir.path().join("sketch"));
    let model = dir.path().join("model");
    let opts = TrainOptions {
        latent: Some(64),
        hidden: 256,
        batch: 256,
        steps: 300,
        restart_every: 50,
        ..tiny(300)
    };
    let summary = train::train(&sk, &model, &opts, &mut |_| {}).unwrap();
    let csv = std::fs::read_to_string(model.join("loss.csv")).unwrap();
    let losses: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(losses.len(), 300);
    let head: f64 = losses[..10].iter().sum::<f64>() / 10.0;
    let tail: f64 = losses[290..].iter().sum::<f64>() / 10.0;
    assert!(
        tail < 0.2 * head,
        "loss {head:.3e} -> {tail:.3e} ({summary})"
    );

    let out = dir.path().join("synthetic");
    let s = sample::sample(
        &model,
        &out,
        &sample::SampleOptions {
            n: 1000,
            seed: 1,
            device: DeviceChoice::Cpu,
            prefix: None,
            formats: Default::default(),
        },
    )
    .unwrap();
    assert_eq!(s.haplotypes, 1000);
    let real = read_genotypes_parquet(&shared_1kg_groups().join("EUR.parquet")).unwrap();
    let fake = read_genotypes_parquet(&out.join("EUR.parquet")).unwrap();
    let af = |g: &artifact::GenotypeMatrix| -> Vec<f64> {
        g.allele_counts()
            .iter()
            .map(|&c| c as f64 / g.n_haplotypes() as f64)
            .collect()
    };
    let (a, b) = (af(&real), af(&fake));
    let r = pearson(&a, &b);
    assert!(r >= 0.9, "allele-frequency correlation {r:.3}");
    eprintln!("AF correlation after 300 tiny steps: {r:.4}; {summary}");
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn resumed_run_ends_with_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let sk = relu_sketch("SAS", 1, 3, &dir.path().join("sketch"));
    let whole = dir.path().join("whole");
    train::train(&sk, &whole, &tiny(24), &mut |_| {}).unwrap();

    let parts = dir.path().join("parts");
    let killed = train::train(
        &sk,
        &parts,
        &TrainOptions {
            stop_after: Some(13),
            ..tiny(24)
        },
        &mut |_| {},
    );
    assert!(matches!(killed, Err(TrainError::Stopped(13))), "{killed:?}");
    assert!(!parts.join("model.safetensors").exists());
    assert!(parts.join("checkpoint/state.safetensors").exists());
    let resumed = train::train(
        &sk,
        &parts,
        &TrainOptions {
            resume: true,
            ..tiny(24)
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(resumed.resumed_from, 13);
    assert_eq!(
        std::fs::read(whole.join("model.safetensors")).unwrap(),
        std::fs::read(parts.join("model.safetensors")).unwrap(),
        "resumed weights differ from the uninterrupted run"
    );
    assert_eq!(
        std::fs::read(whole.join("loss.csv")).unwrap(),
        std::fs::read(parts.join("loss.csv")).unwrap()
    );
    // A checkpoint of other settings is refused.
    let other = train::train(
        &sk,
        &parts,
        &TrainOptions {
            stop_after: Some(6),
            ..tiny(24)
        },
        &mut |_| {},
    );
    assert!(matches!(other, Err(TrainError::Stopped(6))));
    let err = train::train(
        &sk,
        &parts,
        &TrainOptions {
            resume: true,
            hidden: 64,
            ..tiny(24)
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("other settings"), "{err}");
}

/// What `gmmn run` passes: resume when the checkpoint is of this sketch, these settings and this
/// --lr (then the model is the bytes of an uninterrupted run), else start at step 0 without an
/// error (a checkpoint of another --lr or other settings, or none at all).
#[test]
fn resume_if_checkpoint_resumes_only_what_it_can_finish_identically() {
    let dir = tempfile::tempdir().unwrap();
    let sk = relu_sketch("EAS", 1, 2, &dir.path().join("sketch"));
    let whole = dir.path().join("whole");
    train::train(&sk, &whole, &tiny(12), &mut |_| {}).unwrap();
    let model = |d: &Path| std::fs::read(d.join("model.safetensors")).unwrap();
    let if_checkpoint = |opts: TrainOptions| TrainOptions {
        resume_if_checkpoint: true,
        ..opts
    };

    // No checkpoint: a fresh run.
    let fresh = dir.path().join("fresh");
    let s = train::train(&sk, &fresh, &if_checkpoint(tiny(12)), &mut |_| {}).unwrap();
    assert_eq!(s.resumed_from, 0);
    assert_eq!(model(&fresh), model(&whole));

    // A checkpoint of the same settings: resumed, same bytes.
    let parts = dir.path().join("parts");
    let stop = |d: &Path, opts: TrainOptions| {
        let r = train::train(
            &sk,
            d,
            &TrainOptions {
                stop_after: Some(7),
                ..opts
            },
            &mut |_| {},
        );
        assert!(matches!(r, Err(TrainError::Stopped(7))), "{r:?}");
    };
    stop(&parts, tiny(12));
    let s = train::train(&sk, &parts, &if_checkpoint(tiny(12)), &mut |_| {}).unwrap();
    assert_eq!(s.resumed_from, 7, "where --stop-after left its checkpoint");
    assert_eq!(model(&parts), model(&whole));
    assert!(
        !parts.join("checkpoint").exists(),
        "a finished run drops its checkpoint"
    );

    // A checkpoint written at another --lr, or of other settings: started afresh, no error.
    for other in [
        TrainOptions {
            lr: 5e-3,
            ..tiny(12)
        },
        TrainOptions {
            hidden: 64,
            ..tiny(12)
        },
    ] {
        let d = dir
            .path()
            .join(format!("other-{}-{}", other.lr, other.hidden));
        stop(&d, other);
        let s = train::train(&sk, &d, &if_checkpoint(tiny(12)), &mut |_| {}).unwrap();
        assert_eq!(s.resumed_from, 0);
        assert_eq!(model(&d), model(&whole));
    }
}

#[test]
fn diverging_loss_stops_with_a_clear_message_and_keeps_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let sk = relu_sketch("AFR", 1, 1, &dir.path().join("sketch"));
    let out = dir.path().join("model");
    // A good run to step 5 (its checkpoint), then an absurd learning rate: weights overflow and
    // the loss becomes NaN.
    let first = train::train(
        &sk,
        &out,
        &TrainOptions {
            stop_after: Some(5),
            ..tiny(30)
        },
        &mut |_| {},
    );
    assert!(matches!(first, Err(TrainError::Stopped(5))));
    let ckpt = out.join("checkpoint/state.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    let err = train::train(
        &sk,
        &out,
        &TrainOptions {
            resume: true,
            lr: 1e38,
            ..tiny(30)
        },
        &mut |_| {},
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TrainError::Diverged { .. }), "{msg}");
    assert!(
        msg.contains("diverged at step") && msg.contains("NaN") && msg.contains("--lr"),
        "{msg}"
    );
    assert!(msg.contains("last good checkpoint (step 5)"), "{msg}");
    assert!(!out.join("model.safetensors").exists());
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        before,
        "the good checkpoint was overwritten"
    );
}

#[test]
fn bad_sketches_are_refused_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let sk = relu_sketch("EAS", 1, 1, &dir.path().join("sketch"));
    let check = |args: &[&dyn AsRef<std::ffi::OsStr>], want: &str, name: &str| {
        let out = dir.path().join(format!("out-{name}"));
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = args.to_vec();
        all.extend([
            &"--out" as &dyn AsRef<std::ffi::OsStr>,
            &out,
            &"--steps",
            &"2",
            &"--hidden",
            &"8",
            &"--batch",
            &"4",
        ]);
        let o = run("gmmn-train", &all);
        let e = stderr(&o);
        assert!(!o.status.success(), "{name}: succeeded");
        assert!(e.contains(want), "{name}: stderr lacks `{want}`:\n{e}");
        assert!(
            !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
            "{name}: {e}"
        );
        assert!(
            !out.exists() || gmmn_sim::files_below(&out).is_empty(),
            "{name}: left output"
        );
    };
    check(&[&dir.path().join("nowhere")], "nowhere", "missing");
    check(
        &[&shared_1kg_groups().join("EAS.parquet")],
        "expected `sketch`",
        "wrong-kind",
    );
    check(
        &[&sk, &"--device", &"tpu"],
        "unknown device `tpu`",
        "device",
    );

    // Tampered: one byte of the sketch changed.
    let tampered = dir.path().join("tampered");
    copy_dir(&sk, &tampered);
    let npy = tampered.join("sketch.npy");
    let mut bytes = std::fs::read(&npy).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&npy, &bytes).unwrap();
    check(&[&tampered], "does not match its manifest", "tampered");

    // Wrong shape: a sketch with fewer features than its manifest says (hash fixed up).
    let short = dir.path().join("short");
    copy_dir(&sk, &short);
    replace_sketch_keeping_manifest(
        &short.join("sketch.npy"),
        &artifact::Sketch {
            restarts: 1,
            features: 10,
            values: vec![0.5; 10],
        },
    );
    check(&[&short], "does not match the manifest", "shape");

    // A NaN and an inf in the sketch (hash fixed up): refused as damaged data, not as a bad manifest.
    let nan = dir.path().join("nan");
    copy_dir(&sk, &nan);
    let npy = nan.join("sketch.npy");
    let info = artifact::Manifest::read_for(&npy).unwrap();
    let (restarts, features) = (info.shape[0] as usize, info.shape[1] as usize);
    let mut values = vec![0.5f32; restarts * features];
    values[3] = f32::NAN;
    values[4] = f32::INFINITY;
    replace_sketch_keeping_manifest(
        &npy,
        &artifact::Sketch {
            restarts,
            features,
            values,
        },
    );
    check(
        &[&nan],
        "the sketch holds 2 non-finite value(s) (NaN or inf)",
        "nan",
    );
}

/// Overwrite the sketch at `npy` with `sketch` and fix up its manifest's hash and size, so that
/// only what the reader checks beyond the hash can refuse it.
fn replace_sketch_keeping_manifest(npy: &Path, sketch: &artifact::Sketch) {
    let mut f = std::fs::File::create(npy).unwrap();
    sketch.write_npy(&mut f).unwrap();
    drop(f);
    let mut m = artifact::Manifest::read_for(npy).unwrap();
    m.sha256 = artifact::sha256_file(npy).unwrap();
    m.bytes = std::fs::metadata(npy).unwrap().len();
    std::fs::write(artifact::manifest_path(npy), m.to_yaml().unwrap()).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn window_sketch_with_blocks_matches_the_trainer_and_masked_snps_stay_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SketchOptions {
        features: FeatureMap::Window,
        window: 32,
        stride: Some(20),
        per_window: 16,
        restarts: Some(2),
        seed: 3,
        identity_block: Some(0.5),
        count_features: 8,
        count_weight: 2.0,
        ..SketchOptions::default()
    };
    let sk = make_sketch("EUR", &opts, &dir.path().join("sketch"));
    let (sketch, info, _, _) = train::read_sketch(&sk).unwrap();
    let real = read_genotypes_parquet(&shared_1kg_groups().join("EUR.parquet")).unwrap();
    let x = Tensor::from_slice(real.values())
        .view([real.n_haplotypes() as i64, real.n_snps() as i64])
        .to_kind(Kind::Double);
    for r in 0..2 {
        let objective =
            train::features::Objective::new(&info, info.restart_seeds[r], Device::Cpu).unwrap();
        let mean: Vec<f64> = Vec::try_from(&objective.mean_phi(&x)).unwrap();
        assert_eq!(mean.len(), sketch.features);
        let worst = mean
            .iter()
            .zip(sketch.row(r))
            .map(|(a, b)| (a - *b as f64).abs())
            .fold(0f64, f64::max);
        assert!(worst <= 1e-6, "restart {r}: off by {worst}");
    }
    let frequencies = info.allele_frequencies(&sketch).unwrap().unwrap().to_vec();
    let fixed: Vec<(usize, u8)> = frequencies
        .iter()
        .enumerate()
        .filter(|(_, &f)| f == 0.0 || f == 1.0)
        .map(|(j, &f)| (j, f as u8))
        .collect();
    assert!(
        !fixed.is_empty(),
        "EUR has monomorphic SNPs in the 805-SNP data"
    );

    let model = dir.path().join("model");
    let topts = TrainOptions {
        mask_monomorphic: true,
        ..tiny(20)
    };
    train::train(&sk, &model, &topts, &mut |_| {}).unwrap();
    let (gen, minfo, _, _) = train::load_model(&model, Device::Cpu).unwrap();
    assert!(minfo.mask_monomorphic);
    assert_eq!(minfo.masked_snps, fixed.len() as u64);
    assert_eq!(minfo.blocks, info.blocks().unwrap());
    assert!(gen.mask.is_some());

    let out = dir.path().join("synthetic");
    let sopts = sample::SampleOptions {
        n: 300,
        seed: 2,
        device: DeviceChoice::Cpu,
        prefix: None,
        formats: Default::default(),
    };
    sample::sample(&model, &out, &sopts).unwrap();
    let fake = read_genotypes_parquet(&out.join("EUR.parquet")).unwrap();
    for h in 0..fake.n_haplotypes() {
        for &(j, v) in &fixed {
            assert_eq!(fake.row(h)[j], v, "haplotype {h} SNP {j}");
        }
    }

    // A resumed run must keep the setting; a sketch without frequencies cannot be masked.
    let stopped = dir.path().join("stopped");
    let e = train::train(
        &sk,
        &stopped,
        &TrainOptions {
            stop_after: Some(5),
            ..topts.clone()
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, TrainError::Stopped(5)));
    let e = train::train(
        &sk,
        &stopped,
        &TrainOptions {
            resume: true,
            mask_monomorphic: false,
            ..topts.clone()
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("--mask-monomorphic"), "{e}");

    let plain = relu_sketch("EUR", 1, 1, &dir.path().join("plain"));
    let e = train::train(&plain, &dir.path().join("m2"), &topts, &mut |_| {}).unwrap_err();
    assert!(
        e.to_string().contains("--mask-monomorphic") && e.to_string().contains("--identity-block"),
        "{e}"
    );
}
