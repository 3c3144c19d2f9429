//! Faults a cluster job meets: `gmmn run` and its stages killed with SIGKILL at random times and
//! in the middle of their atomic writes, training killed and resumed from its checkpoint, a full
//! disk and a read-only output directory, sketches of the wrong dtype or byte order.
//!
//! The kill harness runs `GMMN_KILL_POINTS` points (8 in `make test`, 50 in `make faults`): half
//! at stratified random times over an uninterrupted run of a spec like workflows/tiny.yaml (the
//! whole process group is killed, as a batch system does), half inside a commit of each stage
//! (`GMMN_FAULT_KILL=<binary>:<n>`: the stage kills itself before the n-th rename). After each
//! kill every artifact with a manifest must be whole (its data hashes to the manifest's sha256),
//! `gmmn audit` must not crash, and a rerun must finish with the bytes of the uninterrupted run
//! and no temporary files left behind.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use artifact::Manifest;
use gmmn_sim::{
    bin, data, files_below, repo_root, run, sketch_tiny, stderr, train_tiny, TRAIN_TINY,
};

/// The stage binaries `gmmn run` calls on the kill harness's spec, and `gmmn` itself.
const BINARIES: &[&str] = &[
    "gmmn-ingest",
    "gmmn-split",
    "gmmn-sketch",
    "gmmn-train",
    "gmmn-sample",
    "gmmn-reference",
    "gmmn-project",
    "gmmn-discriminate",
    "gmmn",
];

/// workflows/tiny.yaml with absolute data paths and training that checkpoints every step (so a
/// kill in training leaves a checkpoint to resume) over a few more steps.
fn fault_spec(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("workflows/tiny.yaml")).unwrap();
    let text = text
        .replace("../data", &repo_root().join("data").to_string_lossy())
        .replace("steps: 4,", "steps: 12,")
        .replace("checkpoint-every: 0", "checkpoint-every: 1");
    assert!(text.contains("steps: 12,") && text.contains("checkpoint-every: 1"));
    let path = dir.join("faults.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn gmmn_run(spec: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(bin("gmmn"));
    cmd.arg("run")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .arg("--bin")
        .arg(bin("gmmn").parent().unwrap());
    cmd
}

/// The bytes of every file below `dir` that a run must reproduce: everything but manifests
/// (they record when they were written), the logs, the ledger of the manifests' hashes, the
/// run's own bookkeeping in `.gmmn/` and the wall times of table.json (table.md shows them).
/// Reports name their inputs by path, so runs to compare are made in the same directory.
fn reproducible_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_below(dir)
        .into_iter()
        .filter(|f| {
            !f.ends_with(".meta.yaml")
                && !f.starts_with(".gmmn/")
                && !f.starts_with("logs/")
                && !matches!(f.as_str(), "ledger.yaml" | "table.md")
        })
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            let bytes = if f == "table.json" {
                without_times(&bytes)
            } else {
                bytes
            };
            (f, bytes)
        })
        .collect()
}

/// table.json without its `*_seconds` fields.
fn without_times(json: &[u8]) -> Vec<u8> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.retain(|k, _| !k.ends_with("_seconds"));
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
    strip(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// Every artifact below `dir` that has a manifest is whole: its data file is there and hashes
/// to the manifest's sha256 with the manifest's byte count. Returns how many were checked.
fn assert_artifacts_whole(dir: &Path, context: &str) -> usize {
    let mut checked = 0;
    for f in files_below(dir) {
        let Some(data) = f.strip_suffix(".meta.yaml") else {
            continue;
        };
        let manifest_file = dir.join(&f);
        let m = Manifest::from_yaml(
            &std::fs::read_to_string(&manifest_file).unwrap(),
            &manifest_file,
        )
        .unwrap_or_else(|e| panic!("{context}: {f} is not a whole manifest: {e}"));
        let data_file = dir.join(data);
        assert!(data_file.is_file(), "{context}: {f} without its data file");
        let sha = artifact::sha256_file(&data_file).unwrap();
        assert_eq!(
            sha, m.sha256,
            "{context}: {data} does not hash to its manifest's sha256"
        );
        checked += 1;
    }
    checked
}

fn temporaries(dir: &Path) -> Vec<String> {
    files_below(dir)
        .into_iter()
        .filter(|f| {
            Path::new(f).file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with('.') && n.to_string_lossy().contains(".tmp-")
            })
        })
        .collect()
}

/// SplitMix64: the harness's kill times, seeded (GMMN_KILL_SEED, default 1) so that a failing
/// point can be run again.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        })
        .unwrap_or(default)
}

fn kill_group(child: &mut Child) {
    // The child leads its own process group: kill it and every stage it started at once.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
}

enum Point {
    /// Kill the run's process group at this fraction of an uninterrupted run's wall time.
    At(f64),
    /// The binary kills itself before the n-th rename of a commit.
    Commit(&'static str, usize),
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Point::At(x) => write!(f, "kill -9 of the run at {:.1}% of its time", 100.0 * x),
            Point::Commit(b, n) => write!(f, "{b} killed before rename {n} of a commit"),
        }
    }
}

#[test]
fn gmmn_run_killed_anywhere_leaves_whole_artifacts_and_reruns_to_the_same_bytes() {
    let points = env_number("GMMN_KILL_POINTS", 8) as usize;
    let mut rng = SplitMix(env_number("GMMN_KILL_SEED", 1));
    let tmp = tempfile::tempdir().unwrap();
    let spec = fault_spec(tmp.path());

    // Every run in the same directory (reports name their inputs by path); the reference is
    // moved aside when it is done.
    let out = tmp.path().join("run");
    let start = Instant::now();
    let o = gmmn_run(&spec, &out).output().unwrap();
    let whole_run = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = reproducible_files(&out);
    assert!(expected.len() > 40, "{} files", expected.len());
    std::fs::rename(&out, tmp.path().join("reference")).unwrap();

    // Half the points at stratified random times, half in the commits of each binary in turn.
    let timed = points.div_ceil(2);
    let mut plan: Vec<Point> = (0..timed)
        .map(|i| {
            let t = (i as f64 + rng.next_f64()) / timed as f64;
            Point::At(0.02 + 0.93 * t)
        })
        .collect();
    plan.extend(
        (0..points - timed)
            .map(|i| Point::Commit(BINARIES[i % BINARIES.len()], (i / BINARIES.len()) % 2)),
    );

    // A run's wall time changes with the machine's load: one that ends before its kill time
    // says how long a run takes now, and the point is tried again on that (twice at most).
    let mut whole_run = whole_run;
    let mut fired = 0;
    for (i, point) in plan.iter().enumerate() {
        let mut cmd = gmmn_run(&spec, &out);
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let killed = match point {
            Point::At(x) => {
                let mut killed = false;
                for _ in 0..3 {
                    let at = whole_run.mul_f64(*x);
                    let start = Instant::now();
                    let mut child = cmd.spawn().unwrap();
                    let finished = loop {
                        if child.try_wait().unwrap().is_some() {
                            break Some(start.elapsed());
                        }
                        if start.elapsed() >= at {
                            break None;
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    };
                    match finished {
                        None => {
                            kill_group(&mut child);
                            killed = true;
                            break;
                        }
                        Some(took) => {
                            whole_run = took;
                            std::fs::remove_dir_all(&out).unwrap();
                        }
                    }
                }
                killed
            }
            Point::Commit(binary, n) => {
                let status = cmd
                    .env("GMMN_FAULT_KILL", format!("{binary}:{n}"))
                    .status()
                    .unwrap();
                !status.success()
            }
        };
        fired += usize::from(killed);
        let context = format!("point {i} ({point})");
        let whole = assert_artifacts_whole(&out, &context);
        let audit = Command::new(bin("gmmn"))
            .arg("audit")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            !stderr(&audit).contains("panicked"),
            "{context}: {}",
            stderr(&audit)
        );

        let rerun = gmmn_run(&spec, &out).output().unwrap();
        assert!(
            rerun.status.success(),
            "{context}: the rerun failed: {}",
            stderr(&rerun)
        );
        let stale = temporaries(&out);
        assert!(
            stale.is_empty(),
            "{context}: temporaries left after the rerun: {stale:?}"
        );
        let got = reproducible_files(&out);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{context}: other files than the uninterrupted run"
        );
        for (f, bytes) in &got {
            assert!(
                expected[f] == *bytes,
                "{context}: {f} differs from the uninterrupted run"
            );
        }
        let audit = Command::new(bin("gmmn"))
            .arg("audit")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            audit.status.success(),
            "{context}: audit after the rerun: {}",
            stderr(&audit)
        );
        eprintln!("{context}: killed {killed}, {whole} whole artifacts left, rerun identical");
        std::fs::remove_dir_all(&out).unwrap();
    }
    // A point that fires after the run has finished (a slow reference, a fast rerun) checks
    // nothing about kills; most must land inside the run.
    assert!(
        fired * 4 >= points * 3,
        "only {fired} of {points} points killed the run"
    );
    eprintln!("{points} kill points ({fired} inside the run), every rerun identical");
}

/// gmmn-train killed with SIGKILL while it trains, then rerun with --resume-if-checkpoint (what
/// `gmmn run` passes): it goes on from the checkpoint and ends with the uninterrupted model.
#[test]
fn training_killed_by_sigkill_resumes_from_its_checkpoint_to_the_same_model() {
    let tmp = tempfile::tempdir().unwrap();
    let sketch_dir = tmp.path().join("sketch");
    assert!(sketch_tiny(&sketch_dir).status.success());
    let sketch = sketch_dir.join("sketch.npy");
    // The tests' tiny configuration (30 steps), a checkpoint after each.
    let train = |out: &Path, extra: &[&str]| {
        let mut cmd = Command::new(bin("gmmn-train"));
        cmd.arg(&sketch).arg("--out").arg(out).args(TRAIN_TINY);
        cmd.args(["--checkpoint-every", "1", "--quiet"]);
        cmd.args(extra);
        cmd
    };
    let whole = tmp.path().join("whole");
    let o = train(&whole, &[]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));

    let killed = tmp.path().join("killed");
    let mut child = train(&killed, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its checkpoint is past step 10 (and before it finishes).
    let checkpoint = killed.join("checkpoint/state.safetensors.meta.yaml");
    let deadline = Instant::now() + Duration::from_secs(300);
    let step = loop {
        let step = std::fs::read_to_string(&checkpoint).ok().and_then(|t| {
            let m: serde_yaml_ng::Value = serde_yaml_ng::from_str(&t).ok()?;
            m["params"]["step"].as_u64()
        });
        if step.is_some_and(|s| s >= 10) || child.try_wait().unwrap().is_some() {
            break step;
        }
        assert!(Instant::now() < deadline, "no checkpoint past step 10");
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = child.kill(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the run finished before the kill (at checkpoint {step:?})"
    );
    assert!(!killed.join("model.safetensors").exists());

    let o = train(&killed, &["--resume-if-checkpoint"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(killed.join("model.safetensors.meta.yaml")).unwrap(),
    )
    .unwrap();
    let resumed = m["params"]["resumed_from"].as_u64().unwrap();
    assert!(resumed >= 10, "resumed from step {resumed}");
    assert!(
        std::fs::read(whole.join("model.safetensors")).unwrap()
            == std::fs::read(killed.join("model.safetensors")).unwrap(),
        "the model resumed from step {resumed} differs from the uninterrupted one"
    );
    assert!(
        temporaries(&killed).is_empty(),
        "{:?}",
        temporaries(&killed)
    );
}

/// Run `script` as root of a new user and mount namespace (`unshare -rm`) with $D a fresh
/// directory; None where the kernel refuses namespaces (the test then says so and passes).
fn in_namespace(dir: &Path, script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k tmpfs \"$0\"",
            dir.to_str().unwrap(),
        ])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            eprintln!(
                "skipped: unshare -rm with a tmpfs mount is refused here: {}",
                stderr(&o)
            );
            return None;
        }
        Err(e) => {
            eprintln!("skipped: no unshare: {e}");
            return None;
        }
    }
    Some(
        Command::new("unshare")
            .args(["-rm", "sh", "-c", script])
            .env("D", dir)
            .output()
            .unwrap(),
    )
}

/// A stage writing into a filesystem that fills up (a 64 KiB tmpfs), and into a read-only one,
/// fails with an error naming the path it could not write, exits non-zero, does not panic and
/// leaves nothing behind.
#[test]
fn a_full_disk_or_a_read_only_output_fails_cleanly_with_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("inputs");
    // Real inputs for each stage, made on the ordinary filesystem (the tests' shared ingest and
    // split of the 1000 Genomes data, beside each other).
    let groups = gmmn_sim::shared_1kg_groups();
    let ingest = groups.parent().unwrap().join("ingest");
    let sketch = inputs.join("sketch");
    assert!(sketch_tiny(&sketch).status.success());
    let model = inputs.join("model");
    assert!(train_tiny(&sketch.join("sketch.npy"), &model, &[])
        .status
        .success());

    let q = |p: &Path| format!("'{}'", p.display());
    let stages: Vec<(&str, String)> = vec![
        (
            "gmmn-ingest",
            format!("{} --out \"$OUT\"", q(&data("1kg_phase3_805snp.vcf.gz"))),
        ),
        (
            "gmmn-split",
            format!(
                "{} --panel {} --column super_pop --out \"$OUT\"",
                q(&ingest),
                q(&data("1kg_phase3.panel"))
            ),
        ),
        (
            "gmmn-sketch",
            format!(
                "{} --out \"$OUT\" --multiplier 2",
                q(&groups.join("EAS.parquet"))
            ),
        ),
        (
            "gmmn-train",
            format!(
                "{} --out \"$OUT\" --steps 3 --hidden 16 --latent 4 --batch 16 --device cpu",
                q(&sketch.join("sketch.npy"))
            ),
        ),
        (
            "gmmn-sample",
            format!(
                "{} --n 400 --out \"$OUT\" --device cpu",
                q(&model.join("model.safetensors"))
            ),
        ),
    ];
    let mut ran = 0;
    for (stage, args) in &stages {
        for (how, mount) in [
            ("full", "mount -t tmpfs -o size=64k tmpfs \"$D\" && mkdir \"$D/out\""),
            (
                "read-only",
                "mount -t tmpfs -o size=64m tmpfs \"$D\" && mkdir \"$D/out\" && mount -o remount,ro \"$D\"",
            ),
        ] {
            let dir = tmp.path().join(format!("{stage}-{how}"));
            std::fs::create_dir_all(&dir).unwrap();
            let script = format!(
                "{mount} || exit 99; OUT=\"$D/out\"; '{}' {args} --quiet; echo \"RC=$?\"; echo FILES; find \"$D\" -type f",
                bin(stage).display()
            );
            let Some(o) = in_namespace(&dir, &script) else {
                return;
            };
            let out = String::from_utf8_lossy(&o.stdout).to_string();
            let err = stderr(&o);
            let context = format!("{stage} into a {how} filesystem");
            assert!(!out.is_empty(), "{context}: the namespace script failed: {err}");
            let rc = out
                .lines()
                .find_map(|l| l.strip_prefix("RC="))
                .unwrap_or_else(|| panic!("{context}: {out}{err}"));
            assert_ne!(rc, "0", "{context}: succeeded");
            assert!(!err.contains("panicked"), "{context}: {err}");
            let named = dir.join("out").display().to_string();
            assert!(err.contains(&named), "{context}: the error does not name {named}: {err}");
            let left: Vec<&str> = out.split_once("FILES\n").unwrap().1.lines().collect();
            assert!(left.is_empty(), "{context}: left behind {left:?}");
            ran += 1;
        }
    }
    assert_eq!(ran, 2 * stages.len());
}

/// `bytes` written as `file` under the manifest of the artifact `original` with their sha256
/// and size: a reader gets past the hash check to the bytes themselves.
fn with_bytes_of(original: &Path, file: &Path, bytes: &[u8]) {
    std::fs::write(file, bytes).unwrap();
    let meta = artifact::manifest_path(original);
    let text = std::fs::read_to_string(&meta).unwrap();
    let m = Manifest::from_yaml(&text, &meta).unwrap();
    let text = text
        .replace(&m.sha256, &artifact::sha256_file(file).unwrap())
        .replace(
            &format!("bytes: {}", m.bytes),
            &format!("bytes: {}", bytes.len()),
        );
    std::fs::write(artifact::manifest_path(file), text).unwrap();
}

/// A sketch whose .npy holds float64 or big-endian float32 values: refused with a clear reason,
/// or read as the same numbers, never a panic.
#[test]
fn a_sketch_of_another_dtype_or_byte_order_is_refused_or_read_right() {
    let tmp = tempfile::tempdir().unwrap();
    let sketch = tmp.path().join("sketch");
    assert!(sketch_tiny(&sketch).status.success());
    let npy = std::fs::read(sketch.join("sketch.npy")).unwrap();
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
    assert!(header.contains("'<f4'"), "{header}");
    let values: Vec<f32> = npy[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let with = |descr: &str, body: Vec<u8>| {
        let mut h = header.replace("'<f4'", descr);
        // Keep the header padded to a multiple of 64 bytes, ending in a newline.
        h = h.trim_end().to_string();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut bytes = npy[..8].to_vec();
        bytes.extend((h.len() as u16).to_le_bytes());
        bytes.extend(h.as_bytes());
        bytes.extend(body);
        bytes
    };
    let cases = [
        (
            "float64",
            with(
                "'<f8'",
                values
                    .iter()
                    .flat_map(|v| (*v as f64).to_le_bytes())
                    .collect(),
            ),
        ),
        (
            "big-endian",
            with(
                "'>f4'",
                values.iter().flat_map(|v| v.to_be_bytes()).collect(),
            ),
        ),
        (
            "int32",
            with(
                "'<i4'",
                values
                    .iter()
                    .flat_map(|v| (*v as i32).to_le_bytes())
                    .collect(),
            ),
        ),
    ];
    for (name, bytes) in cases {
        // Beside the real sketch, so that the inputs its manifest names relative to it hold.
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for f in files_below(&sketch) {
            if !f.starts_with("sketch.npy") {
                std::fs::copy(sketch.join(&f), dir.join(&f)).unwrap();
            }
        }
        let file = dir.join("sketch.npy");
        with_bytes_of(&sketch.join("sketch.npy"), &file, &bytes);
        match artifact::Sketch::read_npy(&file) {
            Ok(read) => assert_eq!(read.values, values, "{name}: read as other numbers"),
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains("sketch.npy") && e.contains("f32"), "{name}: {e}");
            }
        }
        let o = train_tiny(&file, &dir.join("model"), &[]);
        let e = stderr(&o);
        assert!(!e.contains("panicked"), "{name}: {e}");
        if !o.status.success() {
            assert!(
                e.contains("sketch.npy"),
                "{name}: the error does not name the file: {e}"
            );
        }
    }
}

/// The Parquet files that once crashed the reader (fuzz/regressions/parquet/: a panic in the
/// footer reader, an abort on a 2^61-byte allocation, a panic on a polars pool thread), handed
/// to a stage as a group's genotypes under a manifest that matches their bytes: an error naming
/// the file, no panic message, no output.
#[test]
fn parquet_files_that_crashed_the_reader_are_refused_by_the_stages() {
    let tmp = tempfile::tempdir().unwrap();
    let groups = gmmn_sim::shared_1kg_groups();
    let regressions = repo_root().join("fuzz/regressions/parquet");
    let inputs = files_below(&regressions);
    assert!(inputs.len() >= 4, "{inputs:?}");
    for name in inputs {
        let dir = tmp.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["EAS.variants.parquet", "EAS.variants.parquet.meta.yaml"] {
            std::fs::copy(groups.join(f), dir.join(f)).unwrap();
        }
        let file = dir.join("EAS.parquet");
        let bytes = std::fs::read(regressions.join(&name)).unwrap();
        with_bytes_of(&groups.join("EAS.parquet"), &file, &bytes);
        let out = dir.join("sketch");
        let o = run("gmmn-sketch", &[&file, &"--out", &out]);
        let e = stderr(&o);
        assert!(!o.status.success(), "{name}: accepted");
        assert!(e.contains(&file.display().to_string()), "{name}: {e}");
        assert!(
            !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
            "{name}: {e}"
        );
        assert!(!out.exists(), "{name}: output left behind");
    }
}
