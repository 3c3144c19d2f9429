//! Private and federated sketches, end to end on the shipped data: gmmn-sketch --dp-epsilon
//! (noise scale against an independent accountant, the noise actually drawn, refusals),
//! gmmn merge-sketches (merge equals whole, refusals, audit of published sketches without
//! genotypes) and gmmn-sketch-attack.

use std::path::{Path, PathBuf};
use std::process::Command;

use gmmn_sim::{data, run, stderr, stdout, venv_python_with};
use serde_json::Value;

/// dp-accounting (PyPI, Google): the independent accountant the noise scale is checked with.
const DP_ACCOUNTING: &str = "0.6.0";

fn manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(format!("{}.meta.yaml", path.display())).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// f32 values of a 2-d .npy sketch (little-endian, C order).
fn npy_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// `gmmn-split GENOTYPES --panel P --column pop --groups G --holdout-fraction H --out OUT`,
/// which must succeed.
fn split(genotypes: &Path, panel: &Path, groups: &str, holdout: &str, out: &Path) {
    let o = run(
        "gmmn-split",
        &[
            &genotypes,
            &"--panel",
            &panel,
            &"--column",
            &"pop",
            &"--groups",
            &groups,
            &"--holdout-fraction",
            &holdout,
            &"--out",
            &out,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The 5k data split by population with half held out, once per test binary, plus a panel
/// that spreads CEU's individuals over three sites.
fn split_5k() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("gmmn-test-privacy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let ingest = base.join("ingest");
        let o = run(
            "gmmn-ingest",
            &[&data("sim_ooa4_chr22_5k.vcf.gz"), &"--out", &ingest],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let split = |panel: &Path, groups: &str, holdout: &str, out: &str| {
            split(
                &ingest.join("genotypes.parquet"),
                panel,
                groups,
                holdout,
                &base.join(out),
            )
        };
        let panel = data("sim_ooa4_chr22_5k.panel");
        split(&panel, "CEU,YRI", "0.5", "groups");
        // CEU whole (no hold-out) and CEU over three sites.
        split(&panel, "CEU", "0", "whole");
        let text = std::fs::read_to_string(&panel).unwrap();
        let mut sites = String::new();
        let mut k = 0;
        for (i, line) in text.lines().enumerate() {
            let mut f: Vec<String> = line.split('\t').map(String::from).collect();
            if i > 0 && f[1] == "CEU" {
                f[1] = format!("CEU{}", k % 3);
                k += 1;
            }
            sites.push_str(&f.join("\t"));
            sites.push('\n');
        }
        std::fs::write(base.join("sites.panel"), sites).unwrap();
        split(&base.join("sites.panel"), "CEU0,CEU1,CEU2", "0", "sites");
        base
    })
}

const WINDOW: [&str; 8] = [
    "--features",
    "window",
    "--window",
    "32",
    "--per-window",
    "16",
    "--identity-block",
    "--restarts=2",
];

fn sketch(group: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&group, &"--out", &out];
    for a in WINDOW.iter().chain(extra) {
        args.push(a);
    }
    run("gmmn-sketch", &args)
}

#[test]
fn private_sketch_noise_matches_an_independent_accountant_and_is_drawn_as_recorded() {
    let base = split_5k();
    let dir = tempfile::tempdir().unwrap();
    let group = base.join("groups").join("CEU.parquet");
    let exact = dir.path().join("exact");
    let o = sketch(&group, &exact, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Replace-one keeps the count exact, and a clip no person reaches keeps the sum exact, so
    // the private sketch minus the exact one is the noise over the haplotype count.
    let private = dir.path().join("private");
    let o = sketch(
        &group,
        &private,
        &[
            "--dp-epsilon",
            "3",
            "--dp-delta",
            "1e-6",
            "--dp-relation",
            "replace-one",
            "--dp-clip",
            "1000",
            "--dp-noise-seed",
            "11",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest(&private.join("sketch.npy"));
    let p = &m["params"]["privacy"];
    assert_eq!(p["relation"], "replace-one");
    assert_eq!(p["sensitivity"].as_f64().unwrap(), 2000.0);
    assert_eq!(p["count_noise_sd"].as_f64().unwrap(), 0.0);
    assert!(p["noise_source"]
        .as_str()
        .unwrap()
        .contains("--dp-noise-seed"));
    assert!(!serde_yaml_ng::to_string(&m)
        .unwrap()
        .contains("noise_seed: 11"));
    let sd = p["noise_sd"].as_f64().unwrap();
    let n = m["params"]["haplotypes"].as_f64().unwrap();
    assert_eq!(n, 358.0);

    // The noise sd is what dp-accounting's PLD accountant needs for (3, 1e-6): the noise
    // multiplier sd / sensitivity gives epsilon 3 at delta 1e-6 (PLD is slightly pessimistic:
    // discretisation).
    let python = venv_python_with(&format!("dp-accounting=={DP_ACCOUNTING}"), |python| {
        Command::new(python)
            .args(["-c", "import dp_accounting"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let script = "import sys\n\
        import dp_accounting as dpa\n\
        from dp_accounting.pld import pld_privacy_accountant as pld\n\
        acc = pld.PLDAccountant(value_discretization_interval=1e-4)\n\
        acc.compose(dpa.GaussianDpEvent(float(sys.argv[1])))\n\
        print(acc.get_epsilon(float(sys.argv[2])))\n";
    let o = Command::new(&python)
        .args(["-c", script])
        .arg(format!("{}", sd / 2000.0))
        .arg("1e-6")
        .output()
        .unwrap();
    assert!(o.status.success(), "dp-accounting: {}", stderr(&o));
    let epsilon: f64 = stdout(&o).trim().parse().unwrap();
    assert!(
        (epsilon - 3.0).abs() < 0.01,
        "dp-accounting gives epsilon {epsilon} for the recorded noise, not 3"
    );

    // The noise actually in the file: (private - exact) x N has mean 0 and sd noise_sd (the
    // frequencies block is clamped to [0, 1], so only the feature block is compared).
    let (a, b) = (
        npy_f32(&exact.join("sketch.npy")),
        npy_f32(&private.join("sketch.npy")),
    );
    assert_eq!(a.len(), b.len());
    let d = (a.len() / 2) - 5000; // per row: features, then the 5,000 frequencies
    let noise: Vec<f64> = (0..2)
        .flat_map(|r| (0..d).map(move |k| r * (d + 5000) + k))
        .map(|i| (b[i] as f64 - a[i] as f64) * n)
        .collect();
    let mean = noise.iter().sum::<f64>() / noise.len() as f64;
    let var = noise.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / noise.len() as f64;
    assert!(
        (var.sqrt() / sd - 1.0).abs() < 0.05,
        "empirical noise sd {} against recorded {sd} ({} values)",
        var.sqrt(),
        noise.len()
    );
    assert!(
        mean.abs() < 4.0 * sd / (noise.len() as f64).sqrt(),
        "noise mean {mean}"
    );

    // The variants table beside it carries the private frequencies and no private count.
    let v = manifest(&private.join("variants.parquet"));
    assert!(v["params"]["copied_from"]
        .as_str()
        .unwrap()
        .contains("private"));
    assert!(v["counts"].get("samples").is_none());
    assert!(v["counts"].get("monomorphic_snps").is_none());

    // Add-remove with the public default clip: the count is noisy, the clip data-free.
    let ar = dir.path().join("add-remove");
    let o = sketch(&group, &ar, &["--dp-epsilon", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest(&ar.join("sketch.npy"));
    let p = &m["params"]["privacy"];
    assert_eq!(p["relation"], "add-remove");
    assert!(p["clip_source"]
        .as_str()
        .unwrap()
        .starts_with("public default"));
    assert!(p["count_noise_sd"].as_f64().unwrap() > 0.0);
    assert_eq!(p["delta"].as_f64().unwrap(), 1e-6);
    // The default clip does not depend on the data: YRI's sketch gets the same one.
    let yri = dir.path().join("yri");
    let o = sketch(
        &base.join("groups").join("YRI.parquet"),
        &yri,
        &["--dp-epsilon", "1"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        manifest(&yri.join("sketch.npy"))["params"]["privacy"]["clip"],
        p["clip"]
    );
    // Noise from the operating system: two runs differ.
    let again = dir.path().join("again");
    assert!(sketch(&group, &again, &["--dp-epsilon", "1"])
        .status
        .success());
    assert_ne!(
        std::fs::read(ar.join("sketch.npy")).unwrap(),
        std::fs::read(again.join("sketch.npy")).unwrap()
    );
    // Everything passes the audit, schemas included.
    let o = run("gmmn", &[&"audit", &dir.path(), &"--no-lineage"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn private_sketch_refusals_name_the_flag() {
    let base = split_5k();
    let dir = tempfile::tempdir().unwrap();
    let group = base.join("groups").join("CEU.parquet");
    for (extra, want) in [
        (vec!["--dp-epsilon", "0"], "--dp-epsilon 0"),
        (vec!["--dp-epsilon", "1", "--dp-delta", "1"], "--dp-delta 1"),
        (vec!["--dp-epsilon", "1", "--dp-clip=-2"], "--dp-clip -2"),
        (
            vec!["--dp-epsilon", "1", "--count-features", "4"],
            "--count-features",
        ),
        (vec!["--dp-delta", "1e-5"], "--dp-epsilon"),
    ] {
        let out = dir.path().join("x");
        let o = sketch(&group, &out, &extra);
        assert!(!o.status.success(), "{extra:?} was accepted");
        assert!(stderr(&o).contains(want), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists(), "{extra:?} left output");
    }
    let out = dir.path().join("patterns");
    let o = run(
        "gmmn-sketch",
        &[
            &group,
            &"--out",
            &out,
            &"--features",
            &"patterns",
            &"--dp-epsilon",
            &"1",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--features patterns"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn merging_three_sites_gives_the_whole_groups_sketch() {
    let base = split_5k();
    let dir = tempfile::tempdir().unwrap();
    // Each site publishes its sketch directory alone (no genotypes beside it).
    let published = dir.path().join("published");
    let mut sites = Vec::new();
    for s in ["CEU0", "CEU1", "CEU2"] {
        let out = published.join(s);
        let o = sketch(&base.join("sites").join(format!("{s}.parquet")), &out, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        sites.push(out);
    }
    let whole = dir.path().join("whole");
    let o = sketch(&base.join("whole").join("CEU.parquet"), &whole, &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    let merged = published.join("merged");
    let o = run(
        "gmmn",
        &[
            &"merge-sketches",
            &sites[0],
            &sites[1],
            &sites[2],
            &"--group",
            &"CEU",
            &"--out",
            &merged,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (
        npy_f32(&merged.join("sketch.npy")),
        npy_f32(&whole.join("sketch.npy")),
    );
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 4.0 * f32::EPSILON * y.abs().max(1.0),
            "value {i}: merged {x}, whole {y}"
        );
    }
    let m = manifest(&merged.join("sketch.npy"));
    assert_eq!(m["producer"]["stage"], "merge-sketches");
    assert_eq!(m["params"]["haplotypes"], 716);
    let roles: Vec<&str> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["sketch", "sketch", "sketch"]);
    // Frequencies merged too: those of the whole group.
    let fm = artifact::read_variants_parquet(&merged.join("variants.parquet")).unwrap();
    let fw = artifact::read_variants_parquet(&whole.join("variants.parquet")).unwrap();
    assert_eq!(fm.variants, fw.variants);
    for (x, y) in fm.allele_frequency.iter().zip(&fw.allele_frequency) {
        assert!((x - y).abs() < 1e-12);
    }
    // The published tree audits without the sites' genotypes: moved where they are not.
    // (one level deeper, so that the relative paths to the sites' genotypes no longer resolve)
    let elsewhere = dir.path().join("moved").join("elsewhere");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::rename(&published, &elsewhere).unwrap();
    let o = run("gmmn", &[&"audit", &elsewhere, &"--no-lineage"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = Command::new(gmmn_sim::bin("gmmn"))
        .args(["audit", "--no-lineage"])
        .arg(&elsewhere)
        .output()
        .unwrap();
    assert!(stdout(&o).contains("inputs withheld"), "{}", stdout(&o));

    // Trained as usual.
    let model = dir.path().join("model");
    let o = gmmn_sim::train_tiny(&elsewhere.join("merged"), &model, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn mismatched_sketches_are_refused_by_name() {
    let base = split_5k();
    let dir = tempfile::tempdir().unwrap();
    let g = |s: &str| base.join("sites").join(format!("{s}.parquet"));
    let a = dir.path().join("a");
    assert!(sketch(&g("CEU0"), &a, &[]).status.success());
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("seed", vec!["--seed", "9"], "`seed`"),
        ("stride", vec!["--stride", "8"], "`stride`"),
        ("dp", vec!["--dp-epsilon", "2"], "differentially private"),
    ];
    for (name, extra, want) in cases {
        let b = dir.path().join(name);
        assert!(sketch(&g("CEU1"), &b, &extra).status.success());
        let out = dir.path().join(format!("merged-{name}"));
        let o = run(
            "gmmn",
            &[
                &"merge-sketches",
                &a,
                &b,
                &"--group",
                &"CEU",
                &"--out",
                &out,
            ],
        );
        assert!(!o.status.success(), "{name}: merged");
        assert!(stderr(&o).contains(want), "{name}: {}", stderr(&o));
        assert!(!out.exists(), "{name}: left output");
    }
    // Different groups without --group; one sketch only.
    let b = dir.path().join("b");
    assert!(sketch(&g("CEU1"), &b, &[]).status.success());
    let out = dir.path().join("m");
    let o = run("gmmn", &[&"merge-sketches", &a, &b, &"--out", &out]);
    assert!(stderr(&o).contains("--group"), "{}", stderr(&o));
    let o = run("gmmn", &[&"merge-sketches", &a, &"--out", &out]);
    assert!(!o.status.success());
    assert!(!out.exists());
    // Private sketches merge; the guarantee is the weakest site's.
    let (p1, p2) = (dir.path().join("p1"), dir.path().join("p2"));
    assert!(sketch(&g("CEU0"), &p1, &["--dp-epsilon", "1"])
        .status
        .success());
    assert!(sketch(&g("CEU1"), &p2, &["--dp-epsilon", "4"])
        .status
        .success());
    let o = run(
        "gmmn",
        &[
            &"merge-sketches",
            &p1,
            &p2,
            &"--group",
            &"CEU",
            &"--out",
            &out,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let p = &manifest(&out.join("sketch.npy"))["params"]["privacy"];
    assert_eq!(p["epsilon"].as_f64(), Some(4.0));
    assert_eq!(p["sites"], 2);
}

#[test]
fn the_sketch_attack_reports_an_auc_for_exact_and_private_sketches() {
    let base = split_5k();
    let dir = tempfile::tempdir().unwrap();
    let groups = base.join("groups");
    let mut aucs = Vec::new();
    for (name, extra) in [("exact", vec![]), ("private", vec!["--dp-epsilon", "1"])] {
        let s = dir.path().join(name);
        assert!(sketch(&groups.join("YRI.parquet"), &s, &extra)
            .status
            .success());
        let out = dir.path().join(format!("attack-{name}"));
        let o = run(
            "gmmn-sketch-attack",
            &[
                &s,
                &"--members",
                &groups.join("YRI.parquet"),
                &"--heldout",
                &groups.join("YRI.heldout.parquet"),
                &"--out",
                &out,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let r: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("attack.json")).unwrap())
                .unwrap();
        assert_eq!(r["members"], 201);
        assert_eq!(
            r["reference"].as_u64().unwrap() + r["non_members"].as_u64().unwrap(),
            202
        );
        let auc = r["auc"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&auc));
        aucs.push((name, auc, r["epsilon"].clone()));
    }
    assert_eq!(aucs[0].2, Value::Null);
    assert_eq!(aucs[1].2.as_f64(), Some(1.0));
    let o = run("gmmn", &[&"audit", &dir.path(), &"--no-lineage"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // A pattern sketch is refused.
    let pat = dir.path().join("patterns");
    assert!(run(
        "gmmn-sketch",
        &[
            &groups.join("YRI.parquet"),
            &"--out",
            &pat,
            &"--features",
            &"patterns"
        ]
    )
    .status
    .success());
    let o = run(
        "gmmn-sketch-attack",
        &[
            &pat,
            &"--members",
            &groups.join("YRI.parquet"),
            &"--heldout",
            &groups.join("YRI.heldout.parquet"),
            &"--out",
            &dir.path().join("x"),
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("pattern sketch"), "{}", stderr(&o));
}

#[test]
fn a_public_snp_list_is_kept_whole_and_recorded_as_public() {
    let dir = tempfile::tempdir().unwrap();
    let vcf = data("sim_ooa4_chr22_5k.vcf.gz");
    let o_list = gmmn_sim::bcftools(&[&"query", &"-f", &"%CHROM\\t%POS\\t%REF\\t%ALT\\n", &vcf]);
    assert!(o_list.status.success(), "{}", stderr(&o_list));
    // Every third SNP: the "public" list.
    let listed: Vec<String> = stdout(&o_list)
        .lines()
        .step_by(3)
        .map(|l| l.replace("\\t", "\t"))
        .collect();
    let list = dir.path().join("snps.tsv");
    std::fs::write(
        &list,
        format!("# chrom pos ref alt\n{}\n", listed.join("\n")),
    )
    .unwrap();
    let ingest = dir.path().join("ingest");
    let o = run(
        "gmmn-ingest",
        &[&vcf, &"--out", &ingest, &"--variants", &list],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let kept = artifact::read_variants_parquet(&ingest.join("variants.parquet")).unwrap();
    let got: Vec<String> = kept
        .variants
        .iter()
        .map(|v| format!("{}\t{}\t{}\t{}", v.chrom, v.pos, v.reference, v.alternate))
        .collect();
    assert_eq!(got, listed);
    let m = manifest(&ingest.join("genotypes.parquet"));
    assert_eq!(m["counts"]["skipped_not_listed"], 5000 - listed.len());
    assert!(m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["role"] == "snp_list"));
    // A private sketch of it says its SNP list is public.
    let groups = dir.path().join("groups");
    split(
        &ingest.join("genotypes.parquet"),
        &data("sim_ooa4_chr22_5k.panel"),
        "YRI",
        "0",
        &groups,
    );
    let s = dir.path().join("sketch");
    assert!(
        sketch(&groups.join("YRI.parquet"), &s, &["--dp-epsilon", "2"])
            .status
            .success()
    );
    let note = manifest(&s.join("sketch.npy"))["params"]["privacy"]["snp_list"].clone();
    assert!(note.as_str().unwrap().starts_with("public"), "{note}");
    // ... and one made from the cohort's own SNPs says it is not covered.
    let base = split_5k();
    let t = dir.path().join("own");
    assert!(sketch(
        &base.join("groups").join("YRI.parquet"),
        &t,
        &["--dp-epsilon", "2"]
    )
    .status
    .success());
    let note = manifest(&t.join("sketch.npy"))["params"]["privacy"]["snp_list"].clone();
    assert!(note.as_str().unwrap().starts_with("not covered"), "{note}");

    // Sites whose SNP lists differ (as many SNPs, other ones) cannot merge.
    let other: Vec<String> = stdout(&o_list)
        .lines()
        .skip(1)
        .step_by(3)
        .take(listed.len())
        .map(String::from)
        .collect();
    assert_eq!(other.len(), listed.len());
    let other_list = dir.path().join("other.tsv");
    std::fs::write(&other_list, other.join("\n") + "\n").unwrap();
    let other_ingest = dir.path().join("other-ingest");
    let o = run(
        "gmmn-ingest",
        &[&vcf, &"--out", &other_ingest, &"--variants", &other_list],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let other_groups = dir.path().join("other-groups");
    split(
        &other_ingest.join("genotypes.parquet"),
        &data("sim_ooa4_chr22_5k.panel"),
        "YRI",
        "0",
        &other_groups,
    );
    let u = dir.path().join("other-sketch");
    assert!(sketch(
        &other_groups.join("YRI.parquet"),
        &u,
        &["--dp-epsilon", "2"]
    )
    .status
    .success());
    let merged = dir.path().join("merged");
    let o = run("gmmn", &[&"merge-sketches", &s, &u, &"--out", &merged]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("different variant lists (first difference at SNP 1"),
        "{}",
        stderr(&o)
    );
    assert!(!merged.exists());

    // Refusals: a listed SNP the VCF lacks, a malformed line, a data-driven filter beside it.
    let absent = dir.path().join("absent.tsv");
    std::fs::write(&absent, format!("{}\n22\t1\tA\tG\n", listed[0])).unwrap();
    let malformed = dir.path().join("malformed.tsv");
    std::fs::write(&malformed, "22\tx\tA\tG\n").unwrap();
    for (file, extra, want) in [
        (
            &absent,
            vec![],
            "absent.tsv: 1 of its 2 SNPs are not biallelic SNPs of",
        ),
        (&malformed, vec![], "malformed.tsv: line 1: position `x`"),
        (
            &list,
            vec!["--min-maf", "0.05"],
            "--variants with --min-maf",
        ),
    ] {
        let out = dir.path().join("refused");
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&vcf, &"--out", &out, &"--variants", file];
        for e in &extra {
            args.push(e);
        }
        let o = run("gmmn-ingest", &args);
        assert!(!o.status.success(), "{want}: accepted");
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
        assert!(!out.exists(), "{want}: left output");
    }
}
