//! Every saved fuzz input through the entry points the fuzzers drive (`make test` does not build
//! the fuzz crate: it would rebuild polars with sanitizer flags). Inputs live in
//! `fuzz/seeds/<target>/` (cut from the shipped data by tools/fuzz_seeds.sh), `fuzz/corpus/<target>/`
//! (what `make fuzz` found and kept, minimised) and `fuzz/regressions/<target>/` (inputs that once
//! crashed a reader). A panic in any of them fails this test.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("listing a fuzz corpus").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_seeds_and_they_are_accepted() {
    for t in fuzz_targets::TARGETS {
        let seeds = inputs("seeds", t.name);
        assert!(!seeds.is_empty(), "no seeds for fuzz target {}", t.name);
        for s in &seeds {
            let bytes = std::fs::read(s).unwrap();
            // Specs' seeds include ones whose inputs are made by other make targets; the rest
            // must read: a template that no longer matches its seed would make the fuzzer
            // explore only the first check.
            let accepted = (t.run)(&bytes);
            assert!(
                accepted || (t.name == "spec" && !s.ends_with("tiny.yaml")),
                "fuzz target {}: the seed {} is refused",
                t.name,
                s.display()
            );
        }
    }
}

#[test]
fn saved_corpora_and_regressions_replay_without_a_panic() {
    let mut replayed = 0;
    for t in fuzz_targets::TARGETS {
        for kind in ["corpus", "regressions"] {
            for input in inputs(kind, t.name) {
                let bytes = std::fs::read(&input).unwrap();
                eprintln!("{}", input.display());
                (t.run)(&bytes);
                replayed += 1;
            }
        }
    }
    eprintln!("replayed {replayed} saved fuzz inputs");
    assert!(
        replayed > 0,
        "no saved fuzz corpus under {}",
        fuzz_dir().display()
    );
}

#[test]
fn broken_inputs_are_refused_not_accepted() {
    // The other half of what the replay can see: each target says no to damaged bytes (so its
    // `true` above means something).
    for t in fuzz_targets::TARGETS {
        let seed = std::fs::read(&inputs("seeds", t.name)[0]).unwrap();
        let cut = &seed[..seed.len() / 3];
        assert!(
            !(t.run)(cut),
            "fuzz target {}: a third of a seed is accepted",
            t.name
        );
        assert!(!(t.run)(&[]), "fuzz target {}: no bytes accepted", t.name);
    }
}

/// The fuzz crate has one binary per target and `make fuzz` runs each: a target added here and
/// forgotten there would never be fuzzed.
#[test]
fn the_fuzz_crate_and_make_fuzz_know_every_target() {
    let makefile = std::fs::read_to_string(fuzz_dir().join("../Makefile")).unwrap();
    let listed: Vec<&str> = makefile
        .lines()
        .find_map(|l| l.strip_prefix("FUZZ_TARGETS := "))
        .expect("FUZZ_TARGETS in the Makefile")
        .split_whitespace()
        .collect();
    let names: Vec<&str> = fuzz_targets::TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(listed, names, "the Makefile's FUZZ_TARGETS");
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for t in &names {
        let source = fuzz_dir().join(format!("fuzz_targets/{t}.rs"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!("fuzz_targets::{t}(")),
            "{}",
            source.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{t}\"")),
            "fuzz/Cargo.toml lacks {t}"
        );
    }
}
