//! No command in the README or `docs/` goes stale. The stage walkthrough of `docs/stages.md` is
//! run here as written (in a scratch directory, `target/release/` mapped to this profile's
//! binaries); the README's `gmmn simulate` command is run by tests/simulate.rs, which reads it
//! from the README. Every other command is too long for a test (`make reproduce`, the benches, a
//! GPU spec), so this checks what it names: the make target exists, the spec passes `gmmn
//! check` and is one the Makefile runs, the script is one `make bench` runs, each `--flag` of a
//! stage binary is in its `--help`.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use gmmn_sim::{
    bin, doc_commands, help_flags, repo_root, run_doc_command, stderr, stdout, DocCommand,
};

/// The pages whose commands are checked.
const PAGES: [&str; 9] = [
    "README.md",
    "docs/reliability.md",
    "docs/privacy.md",
    "docs/stages.md",
    "docs/workflows.md",
    "docs/table1.md",
    "docs/quality.md",
    "docs/performance.md",
    "workflows/README.md",
];

fn all_commands() -> Vec<DocCommand> {
    PAGES.iter().flat_map(|p| doc_commands(p)).collect()
}

fn where_(c: &DocCommand) -> String {
    format!("{}:{}: `{}`", c.page, c.line, c.text)
}

/// `target/release/<name>` or `gmmn` (as a workspace binary) at the start of a command.
fn binary_of(text: &str) -> Option<&str> {
    let first = text.split(' ').next()?;
    let name = first.strip_prefix("target/release/").unwrap_or(first);
    name.starts_with("gmmn").then_some(name)
}

/// Each `--flag` of the command must be one of the binary's (or its subcommand's) `--help`.
fn check_flags(c: &DocCommand, help: &mut HashMap<String, Vec<String>>) -> Result<(), String> {
    let Some(name) = binary_of(&c.text) else {
        return Ok(());
    };
    let words: Vec<&str> = c.text.split(' ').collect();
    let sub = (name == "gmmn")
        .then(|| words.get(1).copied())
        .flatten()
        .filter(|w| !w.starts_with('-'));
    let known = help
        .entry(format!("{name} {}", sub.unwrap_or("")))
        .or_insert_with(|| help_flags(name, sub).into_iter().map(|(f, _)| f).collect());
    for w in &words {
        if let Some(flag) = w.strip_prefix("--") {
            let flag = flag.split('=').next().unwrap();
            if !known.iter().any(|k| k == flag) {
                return Err(format!(
                    "{}: --{flag} is not an option of {name}",
                    where_(c)
                ));
            }
        }
    }
    Ok(())
}

/// The commands of docs/stages.md that make the walkthrough.
fn is_walkthrough_step(text: &str) -> bool {
    ["target/release/gmmn-", "bcftools ", "plink2 "]
        .iter()
        .any(|p| text.starts_with(p))
}

/// Run each command of a walkthrough in order, in `dir`, each one having to succeed.
fn run_walkthrough(steps: &[DocCommand], dir: &Path) {
    for c in steps {
        let o = run_doc_command(c, dir);
        assert!(
            o.status.success(),
            "{} failed:\n{}{}",
            where_(c),
            stdout(&o),
            stderr(&o)
        );
    }
}

/// The data steward's walkthrough of docs/privacy.md: every command of the page but make and
/// gmmn run (private sketches of two sites, their merge, its audit, the sketch attack).
fn is_privacy_step(c: &DocCommand) -> bool {
    c.page == "docs/privacy.md" && c.text.starts_with("target/release/gmmn")
}

/// Runs the walkthrough of docs/privacy.md in order, as written.
#[test]
fn the_privacy_walkthrough_runs_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let steps: Vec<DocCommand> = doc_commands("docs/privacy.md")
        .into_iter()
        .filter(is_privacy_step)
        .collect();
    assert!(steps.len() >= 7, "{steps:?}");
    run_walkthrough(&steps, tmp.path());
    let merged =
        std::fs::read_to_string(tmp.path().join("out/steward/merged/sketch.npy.meta.yaml"))
            .unwrap();
    assert!(merged.contains("sites: 2"), "{merged}");
    assert!(tmp.path().join("out/steward/attack/attack.json").is_file());
}

/// Runs the walkthrough of docs/stages.md in order, as written.
#[test]
fn the_stage_walkthrough_runs_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let walkthrough: Vec<DocCommand> = doc_commands("docs/stages.md")
        .into_iter()
        .filter(|c| is_walkthrough_step(&c.text))
        .collect();
    assert!(walkthrough.len() >= 9, "{walkthrough:?}");
    run_walkthrough(&walkthrough, tmp.path());
    // Where the walkthrough ends: a held-out report with the privacy figures.
    let report = std::fs::read_to_string(tmp.path().join("out/1kg/report/report.json")).unwrap();
    assert!(report.contains("privacy"), "{report}");

    // The PLINK 2 fileset keeps the phase: exported back to VCF, its genotypes are the VCF's,
    // `0|1` and `1|0` alike.
    let synthetic = tmp.path().join("out/1kg/synthetic");
    let o = Command::new("plink2")
        .args([
            "--pfile",
            "EUR",
            "--export",
            "vcf",
            "--out",
            "EUR.from-pgen",
        ])
        .current_dir(&synthetic)
        .output()
        .expect("plink2 starts");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let genotypes = |vcf: &str| {
        let o = gmmn_sim::bcftools(&[&"query", &"-f", &"[%GT\t]\n", &synthetic.join(vcf)]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let (ours, theirs) = (genotypes("EUR.vcf.gz"), genotypes("EUR.from-pgen.vcf"));
    assert!(ours.contains("0|1") && ours.contains("1|0"));
    assert_eq!(ours, theirs, "plink2's pgen lost or changed the phase");
}

/// Every other command names things that exist and are run somewhere.
#[test]
fn every_other_command_names_what_runs_it() {
    let root = repo_root();
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    let targets: Vec<&str> = makefile
        .lines()
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .filter(|t| !t.is_empty() && t.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'))
        .collect();
    let mut help = HashMap::new();
    let mut problems = Vec::new();
    let mut simulate_shown = 0;
    for c in all_commands() {
        let w: Vec<&str> = c.text.split(' ').collect();
        let exists = |p: &str| root.join(p).exists() || Path::new(p).is_absolute();
        if let Err(e) = check_flags(&c, &mut help) {
            problems.push(e);
        }
        let bin_name = binary_of(&c.text);
        let verdict: Result<(), String> = if (c.page == "docs/stages.md"
            && is_walkthrough_step(&c.text))
            || is_privacy_step(&c)
        {
            Ok(()) // a walkthrough, run above
        } else if bin_name == Some("gmmn") && w.get(1) == Some(&"simulate") {
            simulate_shown += 1; // tests/simulate.rs runs the README's
            Ok(())
        } else if bin_name == Some("gmmn") && w.get(1) == Some(&"check") {
            let o = Command::new(bin("gmmn"))
                .args(&w[1..])
                .current_dir(&root)
                .output()
                .unwrap();
            o.status
                .success()
                .then_some(())
                .ok_or_else(|| format!("fails: {}", stderr(&o)))
        } else if bin_name == Some("gmmn")
            && matches!(w.get(1).copied(), Some("run") | Some("table"))
        {
            let spec = w.get(2).copied().unwrap_or("");
            let stem = Path::new(spec)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("");
            let o = Command::new(bin("gmmn"))
                .args(["check", spec])
                .current_dir(&root)
                .output()
                .unwrap();
            if !o.status.success() {
                Err(format!("its spec fails gmmn check: {}", stderr(&o)))
            } else if !makefile
                .lines()
                .any(|l| l.contains(stem) && (l.starts_with("SPECS") || l.contains("for s in")))
                && !c.text.contains("paper")
            {
                Err(format!("no make target runs {spec}"))
            } else {
                Ok(())
            }
        } else if bin_name == Some("gmmn") && w.get(1) == Some(&"audit") {
            // `make reproduce` audits each of its runs.
            makefile
                .contains("gmmn audit $(OUT)/$$s")
                .then_some(())
                .ok_or_else(|| "make reproduce does not audit".into())
        } else if bin_name.is_some() {
            Err("a stage command outside the walkthrough: run it in a test".into())
        } else if let Some(t) = c.text.strip_prefix("make ") {
            let t = t.split(' ').next().unwrap();
            targets
                .contains(&t)
                .then_some(())
                .ok_or_else(|| format!("no make target `{t}`"))
        } else if w[0] == "bash" {
            let script = w.get(1).copied().unwrap_or("");
            if !exists(script) {
                Err(format!("{script} does not exist"))
            } else if !makefile.contains(&format!("bash {script}")) {
                Err(format!("make bench does not run {script}"))
            } else {
                Ok(())
            }
        } else if w[0] == "snakemake" || w[0] == "nextflow" {
            // Snakemake runs in tests/snakemake.rs (the tiny spec); Nextflow cannot be installed
            // on the machines this is built on: its files are checked to exist.
            let named: Vec<&str> = w
                .windows(2)
                .filter(|p| matches!(p[0], "-s" | "--configfile" | "--spec" | "run"))
                .map(|p| p[1])
                .collect();
            match named.iter().find(|p| !exists(p)) {
                Some(p) => Err(format!("{p} does not exist")),
                None => Ok(()),
            }
        } else if c.text.starts_with(".venv/bin/pip install ") {
            Ok(())
        } else if w[0].starts_with(".venv/bin/python") || w[0].starts_with("python") {
            let script = w.get(1).copied().unwrap_or("");
            exists(script)
                .then_some(())
                .ok_or_else(|| format!("{script} does not exist"))
        } else {
            Err("no rule says what runs it".into())
        };
        if let Err(e) = verdict {
            problems.push(format!("{}: {e}", where_(&c)));
        }
    }
    assert_eq!(simulate_shown, 1, "the README shows gmmn simulate once");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
