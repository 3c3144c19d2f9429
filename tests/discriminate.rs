//! gmmn-discriminate end to end on the real 1000 Genomes EAS group (small settings): the floor
//! baseline, a reference simulator's VCF read back as "any simulator's output" (which must give
//! exactly the numbers of its Parquet), the diagnostics and their figures, byte-identical reruns,
//! the held-out protocol with its privacy figures (a copy generator is caught, a fresh sample of
//! real people is not), and bad inputs that must fail cleanly with nothing written.

use std::ffi::OsStr;
use std::path::Path;

use artifact::{open_artifact, ArtifactKind};
use gmmn_sim::{files_below, run, shared_1kg_groups, stderr};
use serde_json::Value;

fn discriminate(out: &Path, extra: &[&dyn AsRef<OsStr>]) -> std::process::Output {
    let groups = shared_1kg_groups();
    let mut args: Vec<&dyn AsRef<OsStr>> =
        vec![&"--real", &groups, &"--out", &out, &"--splits", &"2"];
    args.extend_from_slice(extra);
    run("gmmn-discriminate", &args)
}

fn report(dir: &Path) -> Value {
    let path = dir.join("report.json");
    open_artifact(&path, ArtifactKind::Report).unwrap();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn comparison<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no comparison {name} in {r:#}"))
}

const FIGURES: [&str; 4] = [
    "minor_alleles",
    "ld_decay",
    "nn_distances",
    "allele_frequencies",
];

/// Every figure of `comparison` is in `dir` as PNG and SVG, each with a valid plot manifest that
/// names report.json, and the report lists them.
fn check_figures(dir: &Path, r: &Value, comparison_name: &str) {
    let c = comparison(r, comparison_name);
    let listed = c["diagnostics"]["figures"].as_array().unwrap();
    assert_eq!(listed.len(), FIGURES.len());
    for (f, entry) in FIGURES.iter().zip(listed) {
        let png = format!("{comparison_name}.{f}.png");
        let svg = format!("{comparison_name}.{f}.svg");
        assert_eq!(entry["figure"], *f);
        assert_eq!(entry["png"], png);
        assert_eq!(entry["svg"], svg);
        let m = open_artifact(&dir.join(&png), ArtifactKind::Plot).unwrap();
        assert_eq!(m.params["comparison"], comparison_name);
        assert_eq!(m.params["figure"], *f);
        assert_eq!(m.params["format"], "png");
        assert!(m
            .inputs
            .iter()
            .any(|i| i.role == "report" && i.path == "report.json"));
        let bytes = std::fs::read(dir.join(&png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{png}");
        open_artifact(&dir.join(&svg), ArtifactKind::Plot).unwrap();
        let text = std::fs::read_to_string(dir.join(&svg)).unwrap();
        assert!(
            text.contains("<svg") && text.contains(comparison_name),
            "{svg}"
        );
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains(&format!("### {comparison_name}\n"))
            && md.contains(&format!("`{comparison_name}.ld_decay.png`")),
        "{md}"
    );
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn accuracy(c: &Value, classifier: &str) -> f64 {
    c["classifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == classifier)
        .unwrap()["mean"]
        .as_f64()
        .unwrap()
}

#[test]
fn the_floor_and_a_reference_simulator_from_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("baselines");
    let o = discriminate(&base, &[&"--groups", &"EAS", &"--baseline", &"floor"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&base);
    assert_eq!(r["groups"], serde_json::json!(["EAS"]));
    assert_eq!(r["snps"], 805);

    // Real against real: nothing to find. 504 haplotypes per side; accuracies within noise.
    let holdout = comparison(&r, "floor");
    assert_eq!(holdout["haplotypes_per_side"], 504);
    for k in ["LR", "KNN", "MLP"] {
        let a = accuracy(holdout, k);
        assert!((a - 0.5).abs() < 0.1, "holdout {k} {a}");
    }
    assert!(holdout["delta"].as_f64().unwrap() < 0.1);
    assert!(holdout["fidelity"]["ld_r2_correlation"].as_f64().unwrap() > 0.9);

    // Independent SNPs at the group's frequencies (gmmn-reference), judged from its VCF as any
    // simulator's output: frequencies match, LD does not exist.
    let ind_dir = tmp.path().join("independent");
    let group_file = shared_1kg_groups().join("EAS.parquet");
    let o = run(
        "gmmn-reference",
        &[&group_file, &"--method", &"independent", &"--out", &ind_dir],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let vcf = ind_dir.join("EAS.vcf.gz");
    let panel = ind_dir.join("EAS.panel.tsv");
    open_artifact(&vcf, ArtifactKind::Vcf).unwrap();
    open_artifact(&panel, ArtifactKind::Panel).unwrap();
    let judged = tmp.path().join("judged");
    let o = discriminate(
        &judged,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &vcf,
            &"--synthetic-panel",
            &panel,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let j = report(&judged);
    assert_eq!(j["synthetic"][0], vcf.display().to_string());
    let ind = comparison(&j, "synthetic");
    assert_eq!(ind["haplotypes_per_side"], 1008);
    let fid = &ind["fidelity"];
    assert!(fid["allele_frequency_correlation"].as_f64().unwrap() > 0.99);
    assert!(
        fid["ld_r2_correlation"].as_f64().unwrap()
            < holdout["fidelity"]["ld_r2_correlation"].as_f64().unwrap()
    );
    assert_eq!(
        ind["classifiers"][1]["per_split"].as_array().unwrap().len(),
        2
    );
    let md = std::fs::read_to_string(base.join("report.md")).unwrap();
    assert!(md.contains("| floor | 504 |"), "{md}");
    let judged_md = std::fs::read_to_string(judged.join("report.md")).unwrap();
    assert!(judged_md.contains("| synthetic | 1008 |"), "{judged_md}");
    open_artifact(&base.join("report.md"), ArtifactKind::Report).unwrap();

    // Diagnostics of both comparisons, with their figures.
    check_figures(&base, &r, "floor");
    check_figures(&judged, &j, "synthetic");
    assert!(md.contains("## Diagnostics"), "{md}");
    let hd = &holdout["diagnostics"];
    let id = &ind["diagnostics"];
    assert_eq!(hd["synthetic_side"], "other real");
    assert_eq!(id["synthetic_side"], "synthetic");
    // Minor alleles per haplotype: the halves agree; independent SNPs keep the mean (same
    // frequencies) but not the spread, which LD widens in real haplotypes.
    let ma = |d: &Value, side: &str, k: &str| num(&d["minor_alleles"][0][side][k]);
    assert_eq!(hd["minor_alleles"][0]["group"], "EAS");
    assert!((ma(hd, "real", "mean") / ma(hd, "synthetic", "mean") - 1.0).abs() < 0.1);
    assert!((ma(id, "real", "mean") / ma(id, "synthetic", "mean") - 1.0).abs() < 0.05);
    assert!(ma(id, "real", "min") <= ma(id, "real", "mean"));
    assert!(ma(id, "real", "mean") <= ma(id, "real", "max"));
    let hist = &id["minor_alleles"][0]["histogram"]["series"];
    for (k, n) in [(0, 1008u64), (1, 1008)] {
        let total: u64 = hist[k]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(total, n);
    }
    // LD decay: the halves have the same LD; independent SNPs have none to speak of.
    fn first_bin(d: &Value) -> &Value {
        &d["ld_decay"][0]["bins"][0]
    }
    assert_eq!(
        (first_bin(id)["from"].clone(), first_bin(id)["to"].clone()),
        (1.into(), 1.into())
    );
    let (real_r2, ind_r2) = (
        num(&first_bin(id)["real_mean_r2"]),
        num(&first_bin(id)["synthetic_mean_r2"]),
    );
    // (The 805 SNPs are spread over the genome: neighbours are far apart, r^2 ~ 0.03.)
    assert!(
        real_r2 > 0.01 && ind_r2 < real_r2 / 3.0,
        "{real_r2} {ind_r2}"
    );
    let held = num(&first_bin(hd)["synthetic_mean_r2"]);
    assert!((held - num(&first_bin(hd)["real_mean_r2"])).abs() < 0.3 * held);
    // Allele frequencies: drawn at the real ones, so a SNP monomorphic in real stays so.
    let af = &id["allele_frequency_error"][0];
    assert_eq!(af["monomorphic_real_polymorphic_synthetic"], 0);
    assert!(num(&af["mean_abs_error"]) < 0.03, "{af}");
    assert!(num(&af["max_abs_error"]) >= num(&af["mean_abs_error"]));
    let worst = &af["max_error_snp"];
    assert!(
        (num(&worst["synthetic_af"]) - num(&worst["real_af"])).abs() - num(&af["max_abs_error"])
            < 1e-12
    );
    assert!(worst["pos"].as_u64().unwrap() > 0 && worst["chrom"].as_str().unwrap() != "");
    // Nearest neighbours: independent haplotypes sit farther from real ones than real ones do
    // from each other; the holdout halves do not.
    let nn = |d: &Value, k: &str| num(&d["nearest_neighbours"]["pooled"][k]["median"]);
    assert!(nn(id, "synthetic_real") > nn(id, "real_real"));
    assert!(nn(hd, "synthetic_real") < 1.5 * nn(hd, "real_real"));
    assert_eq!(
        id["nearest_neighbours"]["groups"][0]["real_real"],
        id["nearest_neighbours"]["pooled"]["real_real"],
        "one group: pooled and per-group distances agree"
    );
    // The logistic model's 20 SNPs, strongest first.
    let top = id["logistic_top_snps"]["snps"].as_array().unwrap();
    assert_eq!(top.len(), 20);
    for (k, t) in top.iter().enumerate() {
        assert_eq!(t["rank"], k + 1);
        assert!(t["index"].as_u64().unwrap() < 805);
        assert!(t["groups"]["EAS"]["real_af"].is_number());
    }
    assert!(top
        .windows(2)
        .all(|w| num(&w[0]["coefficient"]).abs() >= num(&w[1]["coefficient"]).abs()));

    // The reference's Parquet (this project's own layout) judged as the synthetic side gives
    // exactly the numbers of its VCF: one reader for any simulator's output.
    let from_parquet = tmp.path().join("from-parquet");
    let o = discriminate(
        &from_parquet,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &ind_dir.join("EAS.parquet"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let pq = report(&from_parquet);
    let syn = comparison(&pq, "synthetic");
    assert_eq!(syn["classifiers"], ind["classifiers"]);
    assert_eq!(syn["fidelity"], ind["fidelity"]);
    for key in [
        "minor_alleles",
        "ld_decay",
        "nearest_neighbours",
        "allele_frequency_error",
    ] {
        assert_eq!(syn["diagnostics"][key], ind["diagnostics"][key], "{key}");
    }
    assert_eq!(
        syn["diagnostics"]["logistic_top_snps"]["snps"],
        ind["diagnostics"]["logistic_top_snps"]["snps"]
    );

    // Same inputs and seed: the same bytes.
    let again = tmp.path().join("again");
    let o = discriminate(
        &again,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &vcf,
            &"--synthetic-panel",
            &panel,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut files = vec!["report.json".to_string(), "report.md".into()];
    for f in FIGURES {
        files.push(format!("synthetic.{f}.png"));
        files.push(format!("synthetic.{f}.svg"));
    }
    for f in &files {
        assert_eq!(
            std::fs::read(judged.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} differs between identical runs"
        );
    }
}

/// Fails with a message containing every `needles` and leaves `out` without files.
fn fails(out: &Path, extra: &[&dyn AsRef<OsStr>], needles: &[&str]) {
    let o = discriminate(out, extra);
    let err = stderr(&o);
    assert!(!o.status.success(), "should fail: {needles:?}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        files_below(out).is_empty(),
        "partial output: {:?}",
        files_below(out)
    );
}

#[test]
fn bad_inputs_fail_cleanly_with_no_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");

    // A VCF with 12 individuals of EAS (24 haplotypes) and its panel, written from the group.
    let base = tmp.path().join("base");
    let group_file = shared_1kg_groups().join("EAS.parquet");
    let o = run(
        "gmmn-reference",
        &[&group_file, &"--method", &"independent", &"--out", &base],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let vcf = base.join("EAS.vcf.gz");
    let panel = base.join("EAS.panel.tsv");

    // A VCF without its panel.
    fails(&out, &[&"--synthetic", &vcf], &["EAS.vcf.gz", "panel"]);
    // Groups on one side only: all real groups against EAS only.
    fails(
        &out,
        &[&"--synthetic", &vcf, &"--synthetic-panel", &panel],
        &["groups differ", "AFR"],
    );
    // Different variants: the first 400 SNPs only.
    let short = tmp.path().join("short.vcf");
    let text = {
        let mut gz = flate2::read::MultiGzDecoder::new(std::fs::File::open(&vcf).unwrap());
        let mut s = String::new();
        std::io::Read::read_to_string(&mut gz, &mut s).unwrap();
        s
    };
    let mut kept = 0;
    let truncated: String = text
        .lines()
        .filter(|l| {
            if l.starts_with('#') {
                return true;
            }
            kept += 1;
            kept <= 400
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&short, truncated).unwrap();
    fails(
        &out,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &short,
            &"--synthetic-panel",
            &panel,
        ],
        &["not genotyped at the same variants", "805 SNPs against 400"],
    );
    // Too few haplotypes for the splits: 6 individuals.
    let tiny = tmp.path().join("tiny.vcf");
    let few: String = text
        .lines()
        .map(|l| {
            if l.starts_with("##") {
                format!("{l}\n")
            } else {
                let f: Vec<&str> = l.split('\t').collect();
                format!("{}\n", f[..9 + 6].join("\t"))
            }
        })
        .collect();
    std::fs::write(&tiny, few).unwrap();
    fails(
        &out,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &tiny,
            &"--synthetic-panel",
            &panel,
        ],
        &["12 haplotypes per side", "at least 20"],
    );
    // A panel that lacks a synthetic sample.
    let partial = tmp.path().join("partial.tsv");
    let p = std::fs::read_to_string(&panel).unwrap();
    std::fs::write(
        &partial,
        p.lines()
            .take(3)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    fails(
        &out,
        &[
            &"--groups",
            &"EAS",
            &"--synthetic",
            &vcf,
            &"--synthetic-panel",
            &partial,
        ],
        &["REF_INDEPENDENT_EAS_000003", "partial.tsv"],
    );
    // Nothing to compare, and bad options.
    fails(&out, &[], &["nothing to compare"]);
    fails(
        &out,
        &[&"--baseline", &"floor", &"--test-fraction", &"1.5"],
        &["--test-fraction"],
    );
    // The renamed and moved baselines say what to write instead.
    fails(&out, &[&"--baseline", &"holdout"], &["now `floor`"]);
    fails(
        &out,
        &[&"--baseline", &"independent"],
        &["gmmn-reference --method independent"],
    );
    fails(
        &out,
        &[&"--baseline", &"floor", &"--no-privacy"],
        &["--no-privacy needs --heldout"],
    );
}

/// `gmmn-split` of the shared ingest with a hold-out: `part` of each group's individuals held out.
fn split_with_holdout(input: &Path, out: &Path, fraction: &str, groups: &str) {
    let o = run(
        "gmmn-split",
        &[
            &input,
            &"--panel",
            &gmmn_sim::data("1kg_phase3.panel"),
            &"--column",
            &"super_pop",
            &"--groups",
            &groups,
            &"--holdout-fraction",
            &fraction,
            &"--seed",
            &"3",
            &"--out",
            &out,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

fn privacy(c: &Value) -> &Value {
    assert!(c["privacy"].is_object(), "no privacy figures in {c:#}");
    &c["privacy"]
}

#[test]
fn heldout_protocol_catches_copies_and_spares_strangers() {
    let tmp = tempfile::tempdir().unwrap();
    let ingest = shared_1kg_groups().parent().unwrap().join("ingest");
    // EAS and EUR, a third of each group's individuals held out.
    let first = tmp.path().join("first");
    split_with_holdout(&ingest, &first, "0.3333", "EAS,EUR");
    let names = files_below(&first);
    for g in ["EAS", "EUR"] {
        for f in [
            format!("{g}.parquet"),
            format!("{g}.variants.parquet"),
            format!("{g}.heldout.parquet"),
            format!("{g}.heldout.variants.parquet"),
        ] {
            assert!(names.contains(&f), "{f} not in {names:?}");
        }
        let t =
            open_artifact(&first.join(format!("{g}.parquet")), ArtifactKind::Genotypes).unwrap();
        let h = open_artifact(
            &first.join(format!("{g}.heldout.parquet")),
            ArtifactKind::Genotypes,
        )
        .unwrap();
        assert_eq!(t.params["part"], "training");
        assert_eq!(h.params["part"], "heldout");
        assert_eq!(h.seed, Some(3));
        // By individual: both haplotypes of a person on one side, a third of the people out.
        let (ts, hs) = (t.counts["samples"], h.counts["samples"]);
        assert_eq!(t.counts["haplotypes"], 2 * ts);
        assert_eq!(h.counts["haplotypes"], 2 * hs);
        let all = if g == "EAS" { 504 } else { 503 };
        assert_eq!(ts + hs, all);
        assert_eq!(hs, (all as f64 / 3.0).round() as u64);
    }

    // The copy generator: the training haplotypes offered as synthetic.
    let judge_copy = |out: &std::path::PathBuf, extra: &[&dyn AsRef<OsStr>]| {
        let mut args: Vec<&dyn AsRef<OsStr>> = vec![
            &"--real",
            &first,
            &"--heldout",
            &first,
            &"--synthetic",
            &first,
            &"--out",
            out,
        ];
        args.extend_from_slice(extra);
        let o = run("gmmn-discriminate", &args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let copy = tmp.path().join("copy");
    judge_copy(&copy, &[&"--baseline", &"floor", &"--splits", &"2"]);
    let r = report(&copy);
    assert_eq!(r["heldout"].as_array().unwrap().len(), 2);
    let syn = comparison(&r, "synthetic");
    let floor = comparison(&r, "floor");
    assert_eq!(
        floor["description"],
        "real vs real (training vs held-out): the noise floor"
    );
    // Realism alone cannot tell a copy from real people: Delta at the floor ...
    let (ds, df) = (num(&syn["delta"]), num(&floor["delta"]));
    assert!((ds - df).abs() < 0.05, "copy Delta {ds}, floor {df}");
    // ... but the privacy figures do.
    let p = privacy(syn);
    assert!(num(&p["membership_auc"]) > 0.9, "{p:#}");
    assert_eq!(num(&p["identical_to_training"]), 1.0);
    assert!(num(&p["heldout_identical_to_training"]) < 0.5);
    assert_eq!(num(&p["aats_training"]), 0.0);
    assert!(num(&p["privacy_loss"]) > 0.3, "{p:#}");
    assert_eq!(num(&p["synthetic_to_training"]["p5"]), 0.0);
    let flags = p["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 2, "{flags:?}");
    assert!(floor.get("privacy").is_none());
    // The two DCR distributions as a figure (PNG and SVG, named in the report), its data in
    // report.json: every synthetic haplotype at distance 0.
    let dcr = &p["dcr_histogram"];
    assert_eq!(dcr["start"], 0);
    assert_eq!(dcr["synthetic_to_training"][0], syn["privacy"]["members"]);
    for ext in ["png", "svg"] {
        let m = open_artifact(
            &copy.join(format!("synthetic.dcr.{ext}")),
            ArtifactKind::Plot,
        )
        .unwrap();
        assert_eq!(m.params["figure"], "dcr");
    }
    assert!(syn["diagnostics"]["figures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["png"] == "synthetic.dcr.png"));
    let md = std::fs::read_to_string(copy.join("report.md")).unwrap();
    assert!(
        md.contains("## Privacy") && md.contains("**Flag (synthetic):** membership AUC"),
        "{md}"
    );
    // The copy is as useful as the real data for an ancestry classifier (it is the real data).
    let u = &syn["utility"];
    assert_eq!(u["hardest_pair"], serde_json::json!(["EAS", "EUR"]));
    assert_eq!(u["trained_on_synthetic"], u["trained_on_real"]);
    assert!(num(&u["trained_on_real"]["accuracy"]) > 0.95, "{u:#}");

    // Under the paper's protocol (real class = the training haplotypes, as the authors tested)
    // the copy is the real class itself: no classifier tells them apart better than chance,
    // while the held-out privacy figures, which do not depend on the protocol, still flag it.
    // Accuracy can fall *below* chance: each test row's identical twin may sit in the training
    // part with the other label, and a classifier that memorises rows (LR without penalty is in
    // the paper's grid, the MLP, KNN) then predicts the twin's label. Delta, |0.5 - accuracy|,
    // counts that as distance, so the paper's Delta does not rank a copy as perfect either, but
    // for a reason that has nothing to do with realism.
    let copy_paper = tmp.path().join("copy-paper");
    judge_copy(&copy_paper, &[&"--protocol", &"paper", &"--splits", &"1"]);
    let r = report(&copy_paper);
    assert_eq!(r["protocol"]["protocol"], "paper");
    let syn = comparison(&r, "synthetic");
    assert_eq!(syn["protocol"], "paper");
    let chance = num(&syn["majority_rate"]);
    for classifier in ["LR", "KNN", "MLP"] {
        let a = accuracy(syn, classifier);
        assert!(a < chance + 0.05, "{classifier} {a} vs chance {chance}");
    }
    let p = privacy(syn);
    assert!(num(&p["membership_auc"]) > 0.9, "{p:#}");
    assert_eq!(p["flags"].as_array().unwrap().len(), 2, "{p:#}");
    let md = std::fs::read_to_string(copy_paper.join("report.md")).unwrap();
    assert!(
        md.contains("Protocol: the paper's")
            && md.contains("**Flag (synthetic):** membership AUC")
            && md.contains("**Below chance (synthetic):**"),
        "{md}"
    );

    // A third, disjoint set of real people offered as synthetic: no leak, no flag. The training
    // part of the first split is cut again: half trains, half is the "synthetic" strangers.
    let second = tmp.path().join("second");
    let o = run(
        "gmmn-split",
        &[
            &first.join("EAS.parquet"),
            &"--panel",
            &gmmn_sim::data("1kg_phase3.panel"),
            &"--column",
            &"super_pop",
            &"--holdout-fraction",
            &"0.5",
            &"--out",
            &second,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let strangers = tmp.path().join("strangers");
    let o = run(
        "gmmn-discriminate",
        &[
            &"--real",
            &second.join("EAS.parquet"),
            &"--heldout",
            &first.join("EAS.heldout.parquet"),
            &"--synthetic",
            &second.join("EAS.heldout.parquet"),
            &"--splits",
            &"2",
            &"--out",
            &strangers,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&strangers);
    let syn = comparison(&r, "synthetic");
    let p = privacy(syn);
    let auc = num(&p["membership_auc"]);
    assert!((auc - 0.5).abs() < 0.05, "strangers' membership AUC {auc}");
    assert!(p["flags"].as_array().unwrap().is_empty(), "{p:#}");
    assert!(num(&p["privacy_loss"]).abs() < 0.1, "{p:#}");
    // One group: no ancestry to classify.
    assert!(syn.get("utility").is_none());
}
