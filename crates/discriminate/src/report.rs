//! The Markdown rendering of a [`Report`].

use std::fmt::Write;

use crate::diagnostics::{DistanceSummary, Summary, AF_ERROR_THRESHOLD};
use crate::protocol::{ComparisonResult, Fidelity};
use crate::Report;

fn acc(c: &ComparisonResult, name: &str) -> String {
    c.classifiers
        .iter()
        .find(|k| k.name == name)
        .map(|k| format!("{:.3} ± {:.3}", k.mean, k.sd))
        .unwrap_or_default()
}

fn fid(f: &Fidelity) -> String {
    format!(
        "{:.3} | {:.3} | {:.3} | {:.3}",
        f.allele_frequency_correlation,
        f.ld_r2_correlation,
        f.adversarial_accuracy,
        f.identical_fraction
    )
}

/// The privacy figures and the train-synthetic-test-real utility of each comparison that has them.
fn privacy_and_utility(s: &mut String, r: &Report) {
    let with: Vec<&ComparisonResult> = r
        .comparisons
        .iter()
        .filter(|c| c.privacy.is_some())
        .collect();
    if with.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Privacy\n");
    let _ = writeln!(
        s,
        "Members are the generator's training haplotypes, non-members the held-out ones. Membership AUC: \
         how well the Hamming distance to the nearest synthetic haplotype tells members from non-members \
         (Mann-Whitney, ties one half; 0.5 = no leak, flagged above 0.6). Privacy loss = AATS(held-out) - AATS(training). \
         DCR: distance from each synthetic (or held-out real) haplotype to its nearest training haplotype.\n"
    );
    let _ = writeln!(
        s,
        "| comparison | members / non-members | membership AUC | AATS training | AATS held-out | privacy loss | identical to training | held-out real identical | DCR p1 / p5 / median synthetic | held-out real |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let pct = |d: &artifact::report::DistancePercentiles| {
        format!("{:.1} / {:.1} / {:.1}", d.p1, d.p5, d.median)
    };
    for c in &with {
        let p = c.privacy.as_ref().expect("filtered");
        let _ = writeln!(
            s,
            "| {} | {} / {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} |",
            c.name,
            p.members,
            p.non_members,
            p.membership_auc,
            p.aats_training,
            p.aats_heldout,
            p.privacy_loss,
            p.identical_to_training,
            p.heldout_identical_to_training,
            pct(&p.synthetic_to_training),
            pct(&p.heldout_to_training)
        );
    }
    for c in &with {
        for f in &c.privacy.as_ref().expect("filtered").flags {
            let _ = writeln!(s, "\n**Flag ({}):** {f}", c.name);
        }
    }
    let utilities: Vec<_> = with
        .iter()
        .filter_map(|c| c.utility.as_ref().map(|u| (c, u)))
        .collect();
    if utilities.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\n## Utility: an ancestry classifier trained on synthetic, tested on held-out real\n"
    );
    let _ = writeln!(
        s,
        "| comparison | trained on | accuracy | hardest pair | per group |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---|");
    for (c, u) in utilities {
        for (who, a) in [
            ("synthetic", &u.trained_on_synthetic),
            ("real training", &u.trained_on_real),
        ] {
            let groups: Vec<String> = a
                .per_group
                .iter()
                .map(|(g, v)| format!("{g} {v:.3}"))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {who} | {:.3} | {} vs {}: {:.3} | {} |",
                c.name,
                a.accuracy,
                u.hardest_pair.0,
                u.hardest_pair.1,
                a.hardest_pair,
                groups.join(", ")
            );
        }
    }
}

/// Classifiers more than 0.05 below chance do not fail to tell the sides apart: they learned
/// something that points the wrong way on the test rows. The usual cause is the same haplotype on
/// both sides (copies of real rows offered as synthetic) with one copy in the training part and
/// its twin, labelled the other way, in the test part; say so beside the table.
pub fn below_chance_note(c: &ComparisonResult) -> Option<String> {
    let below: Vec<String> = c
        .classifiers
        .iter()
        .filter(|k| k.mean < c.majority_rate - 0.05)
        .map(|k| format!("{} {:.3}", k.name, k.mean))
        .collect();
    (!below.is_empty()).then(|| {
        format!(
            "**Below chance ({}):** {} against a chance level of {:.3}. Accuracy below chance usually means the same \
             haplotypes on both sides (identical rows with opposite labels across the split, which classifiers that \
             memorise rows then mislabel): see the share identical to real and, with held-out real, the privacy figures. \
             Delta counts it as distance from 0.5.",
            c.name,
            below.join(", "),
            c.majority_rate
        )
    })
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let p = &r.protocol;
    let _ = writeln!(s, "# Real vs synthetic haplotypes (gmmn-discriminate)\n");
    if r.heldout.is_empty() {
        let _ = writeln!(s, "- Real: {}", r.real.join(", "));
    } else {
        let _ = writeln!(
            s,
            "- Real, the generator's training haplotypes: {}",
            r.real.join(", ")
        );
        let _ = writeln!(
            s,
            "- Held-out real, never seen by the generator (the real class of every comparison): {}",
            r.heldout.join(", ")
        );
    }
    if !r.synthetic.is_empty() {
        let _ = writeln!(s, "- Synthetic: {}", r.synthetic.join(", "));
    }
    let _ = writeln!(s, "- {} SNPs; groups {}", r.snps, r.groups.join(", "));
    if p["protocol"] == "paper" {
        let paper = &p["paper"];
        let _ = writeln!(
            s,
            "- Protocol: the paper's (--protocol paper). Per group every real haplotype (the generator's training data, \
             even when held-out real exist) and at most {} synthetic, pooled unbalanced; {} random splits with {} of the rows \
             for testing (seed {}); plain accuracy (chance: the larger class's share, see `majority_rate`). \
             LR: penalty l2/none x C 0.001/0.1 x class weight none/balanced, chosen by {}-fold CV (balanced accuracy). \
             KNN: k in {{2, 4, 10}}, uniform or distance weights, p in {{1, 2}}, chosen the same way. MLP: {} ReLU units, \
             Adam, stop on a stalled training loss (tol {} over {} epochs), no validation split. \
             The held-out privacy figures below do not depend on the protocol.",
            paper["synthetic_per_group"], p["splits"], p["test_fraction"], p["seed"], p["cv_folds"],
            p["mlp"]["hidden"], paper["mlp"]["tol"], paper["mlp"]["n_iter_no_change"]
        );
    } else {
        let _ = writeln!(
            s,
            "- Protocol: per group as many synthetic as real, pooled; {} random splits with {} of the rows for testing (seed {}). \
             LR: L2, C = {}, L-BFGS. KNN: k in {{2, 4, 10}}, uniform or distance weights, p in {{1, 2}}, chosen by {}-fold CV \
             (balanced accuracy) on the training part. MLP: {} ReLU units, Adam, early stopping on {} of the training part.",
            p["splits"], p["test_fraction"], p["seed"], p["logistic"]["c"], p["cv_folds"], p["mlp"]["hidden"],
            p["mlp"]["validation_fraction"]
        );
    }
    let _ = writeln!(
        s,
        "- Accuracy 0.5 = indistinguishable; Delta = max over classifiers |0.5 - mean accuracy|. \
         LD: r^2 of SNP pairs fewer than {} SNPs apart. AATS: nearest-neighbour adversarial accuracy (0.5 ideal). \
         Identical: share of synthetic haplotypes equal to a real one.\n",
        p["ld_max_distance"]
    );
    let _ = writeln!(
        s,
        "| comparison | per side | LR | KNN | MLP | Delta | AF corr | LD r2 corr | AATS | identical |"
    );
    let _ = writeln!(s, "|---|---:|---|---|---|---:|---:|---:|---:|---:|");
    for c in &r.comparisons {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.3} | {} |",
            c.name,
            c.haplotypes_per_side,
            acc(c, "LR"),
            acc(c, "KNN"),
            acc(c, "MLP"),
            c.delta,
            fid(&c.fidelity)
        );
    }
    for c in &r.comparisons {
        if let Some(note) = below_chance_note(c) {
            let _ = writeln!(s, "\n{note}");
        }
    }
    privacy_and_utility(&mut s, r);
    let _ = writeln!(s, "\n## Per group\n");
    let _ = writeln!(
        s,
        "Accuracies are those of the pooled classifiers on each group's test rows.\n"
    );
    let _ = writeln!(
        s,
        "| comparison | group | per side | LR | KNN | MLP | AF corr | LD r2 corr | AATS | identical |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for c in &r.comparisons {
        for g in &c.groups {
            let a = |k: &str| {
                g.accuracy
                    .get(k)
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_default()
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.name,
                g.group,
                g.haplotypes_per_side,
                a("LR"),
                a("KNN"),
                a("MLP"),
                fid(&g.fidelity)
            );
        }
    }
    let _ = writeln!(s, "\n## Per split\n");
    let _ = writeln!(
        s,
        "| comparison | split | LR acc (iterations) | KNN acc (k, weights, p) | MLP acc (epochs, best) |"
    );
    let _ = writeln!(s, "|---|---:|---|---|---|");
    for c in &r.comparisons {
        let [lr, knn, mlp] = [0, 1, 2].map(|k| &c.classifiers[k]);
        for sp in 0..lr.accuracies.len() {
            let (l, k, m) = (&lr.per_split[sp], &knn.per_split[sp], &mlp.per_split[sp]);
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} ({}) | {:.3} ({}, {}, {}) | {:.3} ({}, {}) |",
                c.name,
                sp + 1,
                lr.accuracies[sp],
                l["iterations"],
                knn.accuracies[sp],
                k["n_neighbours"],
                k["weights"].as_str().unwrap_or_default(),
                k["p"],
                mlp.accuracies[sp],
                m["epochs"],
                m["best_epoch"]
            );
        }
    }
    let _ = writeln!(s, "\n## Diagnostics\n");
    let _ = writeln!(
        s,
        "Why the classifiers tell the sides apart. The second side of a comparison is named as such: synthetic, \
         or other real (floor: the held-out real haplotypes against the training ones, or the other half of the real haplotypes). Minor alleles are those minor in the group's real \
         haplotypes; LD decay is the mean r^2 of SNP pairs both polymorphic on that side, within each group; \
         nearest-neighbour distances are Hamming distances (SNPs that differ), pooled over the groups as for AATS. \
         Figures (PNG and SVG) are beside this report; their data are under `diagnostics` in report.json."
    );
    for c in &r.comparisons {
        diagnostics(&mut s, c);
    }
    s
}

fn count_summary(x: &Summary) -> String {
    format!("{:.1} ± {:.1} [{}, {}]", x.mean, x.sd, x.min, x.max)
}

fn distance_summary(x: &DistanceSummary) -> String {
    format!("{:.1} / {:.1}", x.mean, x.median)
}

fn r2(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into())
}

fn diagnostics(s: &mut String, c: &ComparisonResult) {
    let d = &c.diagnostics;
    let side = &d.synthetic_side;
    let _ = writeln!(s, "\n### {}\n", c.name);
    let files: Vec<String> = d
        .figures
        .iter()
        .map(|f| format!("`{}` (`{}`)", f.png, f.svg))
        .collect();
    let _ = writeln!(s, "Figures: {}.\n", files.join(", "));

    let _ = writeln!(s, "Minor alleles per haplotype (mean ± sd [min, max]):\n");
    let _ = writeln!(s, "| group | real | {side} |");
    let _ = writeln!(s, "|---|---|---|");
    for g in &d.minor_alleles {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            g.group,
            count_summary(&g.real),
            count_summary(&g.synthetic)
        );
    }

    let _ = writeln!(
        s,
        "\nLD decay, mean r^2 by distance in SNPs (real / {side}):\n"
    );
    let mut header = String::from("| distance |");
    let mut rule = String::from("|---|");
    for g in &d.ld_decay {
        header.push_str(&format!(" {} |", g.group));
        rule.push_str("---|");
    }
    let _ = writeln!(s, "{header}\n{rule}");
    let bins = d.ld_decay.first().map_or(0, |g| g.bins.len());
    for b in 0..bins {
        let first = &d.ld_decay[0].bins[b];
        let mut row = if first.from == first.to {
            format!("| {} |", first.from)
        } else {
            format!("| {}-{} |", first.from, first.to)
        };
        for g in &d.ld_decay {
            let bin = &g.bins[b];
            row.push_str(&format!(
                " {} / {} |",
                r2(bin.real_mean_r2),
                r2(bin.synthetic_mean_r2)
            ));
        }
        let _ = writeln!(s, "{row}");
    }

    let nn = &d.nearest_neighbours;
    let _ = writeln!(
        s,
        "\nNearest-neighbour Hamming distance (mean / median): real to nearest other real, {side} to nearest other {side}, \
         {side} to nearest real, real to nearest {side}:\n"
    );
    let _ = writeln!(
        s,
        "| group | real-real | {side}-{side} | {side}-real | real-{side} |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    let row = |s: &mut String, name: &str, x: &crate::diagnostics::NearestSummaries| {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            distance_summary(&x.real_real),
            distance_summary(&x.synthetic_synthetic),
            distance_summary(&x.synthetic_real),
            distance_summary(&x.real_synthetic)
        );
    };
    row(s, "all (pooled)", &nn.pooled);
    for g in &nn.groups {
        row(s, &g.group, &g.distances);
    }

    let _ = writeln!(
        s,
        "\nAllele-frequency error ({side} AF - real AF, per SNP within each group):\n"
    );
    let _ = writeln!(
        s,
        "| group | mean abs error | max abs error | at SNP (index, id, position: real AF -> {side} AF) | SNPs over {AF_ERROR_THRESHOLD} | monomorphic in real, polymorphic in {side} | polymorphic in real, monomorphic in {side} |"
    );
    let _ = writeln!(s, "|---|---:|---:|---|---:|---:|---:|");
    for g in &d.allele_frequency_error {
        let v = &g.max_error_snp;
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.3} | {}, {}, {}:{}: {:.3} -> {:.3} | {} | {} | {} |",
            g.group,
            g.mean_abs_error,
            g.max_abs_error,
            v.index,
            v.id,
            v.chrom,
            v.pos,
            v.real_af,
            v.synthetic_af,
            g.snps_over_0_05,
            g.monomorphic_real_polymorphic_synthetic,
            g.polymorphic_real_monomorphic_synthetic
        );
    }

    let top = &d.logistic_top_snps;
    let _ = writeln!(
        s,
        "\nThe {} SNPs with the largest logistic-regression coefficients: {}.\n",
        top.snps.len(),
        top.method
    );
    let _ = writeln!(
        s,
        "| rank | index | id | position | coefficient (sd over splits) | real AF | {side} AF |"
    );
    let _ = writeln!(s, "|---:|---:|---|---|---:|---:|---:|");
    for t in &top.snps {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {}:{} | {:.3} ({:.3}) | {:.3} | {:.3} |",
            t.rank,
            t.snp.index,
            t.snp.id,
            t.snp.chrom,
            t.snp.pos,
            t.coefficient,
            t.coefficient_sd,
            t.snp.real_af,
            t.snp.synthetic_af
        );
    }
}

/// The headline table only (what the binary prints).
pub fn summary(r: &Report) -> String {
    let md = markdown(r);
    let start = md.find("| comparison | per side").unwrap_or(0);
    let end = md.find("\n## Per group").unwrap_or(md.len());
    md[start..end].trim_end().to_string() + "\n"
}
