//! The binaries read as one tool: the flags they share are spelled the same and default the
//! same (artifact::cli), checked on each binary's own `--help`, so a stage that grows a flag of
//! its own under a shared name, or a different default, fails here.

use gmmn_sim::{bin, help_flags};

/// (binary, subcommand) of every command a user runs.
const COMMANDS: [(&str, Option<&str>); 11] = [
    ("gmmn-ingest", None),
    ("gmmn-split", None),
    ("gmmn-sketch", None),
    ("gmmn-train", None),
    ("gmmn-sample", None),
    ("gmmn-reference", None),
    ("gmmn-project", None),
    ("gmmn-discriminate", None),
    ("gmmn", Some("simulate")),
    ("gmmn-sketch-attack", None),
    ("gmmn", Some("merge-sketches")),
];

/// Stages that draw random numbers: --seed, default artifact::cli::DEFAULT_SEED.
const SEEDED: [&str; 9] = [
    "gmmn-split",
    "gmmn-sketch-attack",
    "gmmn-sketch",
    "gmmn-train",
    "gmmn-sample",
    "gmmn-reference",
    "gmmn-project",
    "gmmn-discriminate",
    "gmmn simulate",
];

/// Stages that read a panel's group column: --column, default super_pop.
const GROUPED: [&str; 4] = [
    "gmmn-split",
    "gmmn-project",
    "gmmn-discriminate",
    "gmmn simulate",
];

/// Stages with a worker pool (rayon, libtorch or the bgzip decoder): --threads, no default.
const THREADED: [&str; 8] = [
    "gmmn-ingest",
    "gmmn-sketch-attack",
    "gmmn-sketch",
    "gmmn-train",
    "gmmn-sample",
    "gmmn-reference",
    "gmmn-project",
    "gmmn-discriminate",
];

fn name(binary: &str, sub: Option<&str>) -> String {
    match sub {
        Some(s) => format!("{binary} {s}"),
        None => binary.to_string(),
    }
}

#[test]
fn shared_flags_have_one_name_and_one_default() {
    for (binary, sub) in COMMANDS {
        let command = name(binary, sub);
        let flags = help_flags(binary, sub);
        let get = |flag: &str| {
            flags
                .iter()
                .find(|(n, _)| n == flag)
                .map(|(_, h)| h.clone())
        };
        assert!(get("help").is_some(), "{command}: no --help parsed");

        // The seed.
        match (SEEDED.contains(&command.as_str()), get("seed")) {
            (true, Some(h)) => assert!(
                h.contains(&format!("[default: {}]", artifact::cli::DEFAULT_SEED)),
                "{command} --seed: {h}"
            ),
            (true, None) => panic!("{command} draws random numbers but has no --seed"),
            (false, Some(_)) => panic!("{command} has a --seed: add it to SEEDED"),
            (false, None) => {}
        }

        // The group column: one name, one default, the former name only as a hidden alias.
        assert!(get("label").is_none(), "{command}: --label is --column now");
        match (GROUPED.contains(&command.as_str()), get("column")) {
            (true, Some(h)) => assert!(
                h.contains(&format!(
                    "[default: {}]",
                    artifact::cli::DEFAULT_GROUP_COLUMN
                )),
                "{command} --column: {h}"
            ),
            (true, None) => panic!("{command} reads a group column but has no --column"),
            (false, Some(_)) => panic!("{command} has a --column: add it to GROUPED"),
            (false, None) => {}
        }

        // Worker threads.
        match (THREADED.contains(&command.as_str()), get("threads")) {
            (true, Some(h)) => assert!(!h.contains("[default:"), "{command} --threads: {h}"),
            (true, None) => panic!("{command} has a worker pool but no --threads"),
            (false, Some(_)) => panic!("{command} has --threads: add it to THREADED"),
            (false, None) => {}
        }

        // A count of people is --individuals wherever one is asked for.
        if matches!(command.as_str(), "gmmn-sample" | "gmmn simulate") {
            assert!(get("individuals").is_some(), "{command}: no --individuals");
        }
    }
}

#[test]
fn the_former_name_of_the_group_column_still_works() {
    // Scripts written for `--label` keep working: it is an alias of --column.
    let out = std::process::Command::new(bin("gmmn-project"))
        .args(["--label", "pop", "--help"])
        .output()
        .expect("run gmmn-project");
    assert!(out.status.success(), "{}", gmmn_sim::stderr(&out));
}
