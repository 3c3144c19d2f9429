//! Support for the end-to-end tests in `tests/`: locating the stage binaries and running them.
//!
//! The binaries are those of `cargo build --workspace --bins` in the same profile as the tests (the Makefile's
//! `test` target builds them first).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A shipped data file under `data/`.
pub fn data(name: &str) -> PathBuf {
    repo_root().join("data").join(name)
}

/// Path of stage binary `name` (e.g. `gmmn-ingest`), next to the test executable's profile dir.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` (make test does) before the end-to-end tests",
        path.display()
    );
    path
}

/// Run a stage binary with arguments; returns its output (never panics on a non-zero exit).
pub fn run(name: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(bin(name));
    for a in args {
        cmd.arg(a.as_ref());
    }
    cmd.arg("--quiet");
    cmd.output().expect("stage binary starts")
}

/// The project's venv python (`.venv`, made by `make setup`), with `requirement` (a pip
/// requirement such as `bed-reader==1.0.6`) installed from PyPI unless `installed()` says it is
/// there. Tests run in parallel processes: one pip at a time, under a lock file in the venv.
pub fn venv_python_with(requirement: &str, installed: impl Fn(&Path) -> bool) -> PathBuf {
    let venv = repo_root().join(".venv");
    let python = venv.join("bin").join("python");
    assert!(
        python.exists(),
        "{} does not exist: run `make setup` (it makes the project's venv, where the tests install {requirement})",
        python.display()
    );
    let lock = std::fs::File::create(venv.join(".test-pip.lock")).expect("lock file in .venv");
    lock.lock().expect("lock .venv/.test-pip.lock");
    if !installed(&python) {
        let o = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(requirement)
            .output()
            .expect("the venv's python starts");
        assert!(
            o.status.success(),
            "could not install {requirement} from PyPI into {} (`{} -m pip install {requirement}`), \
             which this test needs:\n{}{}",
            venv.display(),
            python.display(),
            stdout(&o),
            stderr(&o)
        );
    }
    python
}

/// bcftools with arguments (an independent reader of the VCFs); its output, whatever the exit.
pub fn bcftools(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = Command::new("bcftools");
    for a in args {
        c.arg(a.as_ref());
    }
    c.output()
        .expect("bcftools is installed (make test installs it: `make bcftools`)")
}

/// The bed-reader (PyPI) the PLINK outputs are checked with.
pub const BED_READER: &str = "1.0.6";

/// A PLINK 1 fileset read by bed-reader, an independent reader: `shape` [individuals, SNPs],
/// `dosage` (A1 counts, row-major), `iid`, `fid`, `a1`, `a2`, `pos`.
pub fn read_bed(bed: &Path) -> serde_json::Value {
    let python = venv_python_with(&format!("bed-reader=={BED_READER}"), |python| {
        Command::new(python)
            .args([
                "-c",
                "import bed_reader, sys; sys.exit(bed_reader.__version__ != sys.argv[1])",
                BED_READER,
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let script = "import sys, json\n\
        from bed_reader import open_bed\n\
        with open_bed(sys.argv[1]) as bed:\n\
        \x20   x = bed.read(dtype='int8')\n\
        \x20   print(json.dumps({'shape': list(x.shape), 'dosage': x.flatten().tolist(), \
        'iid': list(bed.iid), 'fid': list(bed.fid), 'a1': list(bed.allele_1), \
        'a2': list(bed.allele_2), 'pos': [int(p) for p in bed.bp_position]}))\n";
    let o = Command::new(&python)
        .args(["-c", script])
        .arg(bed)
        .output()
        .expect("the venv's python starts");
    assert!(
        o.status.success(),
        "bed-reader on {}: {}",
        bed.display(),
        stderr(&o)
    );
    serde_json::from_str(&stdout(&o)).expect("bed-reader's JSON")
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file below `dir` (relative names, sorted); empty if `dir` does not exist.
pub fn files_below(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `gmmn-split INGEST_DIR` by the 1000 Genomes super-populations of the seed paper (EUR, AFR,
/// EAS, SAS) into `out`; panics with stderr on failure.
pub fn split_1kg_super_populations(ingest_dir: &Path, out: &Path) {
    let o = run(
        "gmmn-split",
        &[
            &ingest_dir,
            &"--panel",
            &data("1kg_phase3.panel"),
            &"--column",
            &"super_pop",
            &"--groups",
            &"EUR,AFR,EAS,SAS",
            &"--out",
            &out,
        ],
    );
    assert!(o.status.success(), "gmmn-split failed:\n{}", stderr(&o));
}

/// The shipped 1000 Genomes data ingested and split by super-population, once per test binary
/// (a directory that lives until the process ends); returns the groups directory.
pub fn shared_1kg_groups() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("gmmn-test-1kg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let ingest = base.join("ingest");
        let o = run(
            "gmmn-ingest",
            &[&data("1kg_phase3_805snp.vcf.gz"), &"--out", &ingest],
        );
        assert!(o.status.success(), "gmmn-ingest failed:\n{}", stderr(&o));
        let groups = base.join("groups");
        split_1kg_super_populations(&ingest, &groups);
        groups
    })
}

/// `gmmn-sketch` of the shared 1000 Genomes EAS group with the tests' tiny settings (D = 2 x M,
/// 3 restarts, seed 5) into `out`.
pub fn sketch_tiny(out: &Path) -> Output {
    run(
        "gmmn-sketch",
        &[
            &shared_1kg_groups().join("EAS.parquet"),
            &"--out",
            &out,
            &"--multiplier",
            &"2",
            &"--restarts",
            &"3",
            &"--seed",
            &"5",
        ],
    )
}

/// The tests' tiny training configuration (30 steps, H 64, Z 16, batch 64, restart every 10,
/// lr 1e-3, CPU).
pub const TRAIN_TINY: [&str; 14] = [
    "--steps",
    "30",
    "--hidden",
    "64",
    "--latent",
    "16",
    "--batch",
    "64",
    "--restart-every",
    "10",
    "--lr",
    "1e-3",
    "--device",
    "cpu",
];

/// `gmmn-train` with the tests' tiny configuration ([`TRAIN_TINY`]), plus `extra`.
pub fn train_tiny(sketch: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&sketch, &"--out", &out];
    for a in TRAIN_TINY.iter().chain(extra) {
        args.push(a);
    }
    run("gmmn-train", &args)
}

/// `gmmn-sample` of 101 haplotypes (an odd number: the last individual is haploid), seed 2, CPU.
pub fn sample_tiny(model: &Path, out: &Path) -> Output {
    run(
        "gmmn-sample",
        &[
            &model,
            &"--n",
            &"101",
            &"--out",
            &out,
            &"--seed",
            &"2",
            &"--device",
            &"cpu",
        ],
    )
}

/// The data rows of the final table of `gmmn run` / `gmmn table` (table.md), header left out.
pub fn table_rows(table: &str) -> Vec<&str> {
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| configuration"))
        .collect()
}

/// A shell command shown in a fenced block of a Markdown page: its page, the line it starts on,
/// and its text (continuation lines joined, a trailing `# comment` and `[optional]` parts
/// removed).
#[derive(Debug, Clone)]
pub struct DocCommand {
    pub page: String,
    pub line: usize,
    pub text: String,
}

/// The programs a command shown in the docs may start with; any other line of a fenced block is
/// output, a file layout or YAML.
pub const DOC_PROGRAMS: [&str; 10] = [
    "target/release/",
    "gmmn ",
    "make ",
    "bash ",
    "snakemake ",
    "nextflow ",
    ".venv/bin/",
    "bcftools ",
    "plink2 ",
    "python",
];

/// Every command of `page` (relative to the repository root), in order.
pub fn doc_commands(page: &str) -> Vec<DocCommand> {
    let text =
        std::fs::read_to_string(repo_root().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
    let mut out = Vec::new();
    let mut in_block = false;
    let mut shell = false;
    let mut pending: Option<DocCommand> = None;
    for (i, raw) in text.lines().enumerate() {
        if let Some(info) = raw.trim_start().strip_prefix("```") {
            in_block = !in_block;
            shell = in_block && matches!(info.trim(), "" | "sh" | "bash" | "console");
            continue;
        }
        if !in_block || !shell {
            continue;
        }
        let line = raw.trim();
        let body = match line.find(" #") {
            Some(k) => line[..k].trim_end(),
            None => line,
        };
        let (body, continued) = match body.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (body, false),
        };
        let cmd = match pending.take() {
            Some(mut c) => {
                c.text.push(' ');
                c.text.push_str(body);
                c
            }
            None if DOC_PROGRAMS.iter().any(|p| body.starts_with(p)) => DocCommand {
                page: page.to_string(),
                line: i + 1,
                text: body.to_string(),
            },
            None => continue,
        };
        if continued {
            pending = Some(cmd);
        } else {
            out.push(cmd);
        }
    }
    for c in &mut out {
        // Synopses such as `[--jobs 2] [--force]`: the command without its optional parts.
        while let (Some(a), Some(b)) = (c.text.find('['), c.text.find(']')) {
            if a < b && c.text[a + 1..].starts_with('-') {
                c.text.replace_range(a..=b, "");
            } else {
                break;
            }
        }
        c.text = c.text.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    out
}

/// `--help` of one command, as (flag, the rest of its help text up to the next flag).
pub fn help_flags(binary: &str, sub: Option<&str>) -> Vec<(String, String)> {
    let mut cmd = std::process::Command::new(bin(binary));
    cmd.args(sub).arg("--help");
    let out = cmd.output().expect("run --help");
    assert!(out.status.success(), "{binary} --help failed");
    let text = stdout(&out);
    let mut flags: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("--").or_else(|| {
            // `-q, --quiet`
            t.strip_prefix('-')
                .and_then(|r| r.split_once(", --"))
                .map(|(_, r)| r)
        }) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            flags.push((name, rest.to_string()));
        } else if let Some(last) = flags.last_mut() {
            last.1.push(' ');
            last.1.push_str(t);
        }
    }
    flags
}

/// Run a command shown in the docs as written, from `dir` (given a `data` link to the shipped
/// data, so its `data/...` and `out/...` paths resolve there), with `target/release/` read as
/// this profile's binaries.
pub fn run_doc_command(c: &DocCommand, dir: &Path) -> Output {
    let data = dir.join("data");
    if !data.exists() {
        std::os::unix::fs::symlink(repo_root().join("data"), &data).expect("link data/");
    }
    let bin_dir = bin("gmmn").parent().unwrap().to_path_buf();
    let text = c
        .text
        .replace("target/release/", &format!("{}/", bin_dir.display()));
    Command::new("bash")
        .arg("-c")
        .arg(format!("set -o pipefail; {text}"))
        .current_dir(dir)
        .output()
        .expect("bash starts")
}
