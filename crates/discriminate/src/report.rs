//! The Markdown rendering of a [`Report`].

use std::fmt::Write;

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

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let p = &r.protocol;
    let _ = writeln!(s, "# Real vs synthetic haplotypes (gmmn-discriminate)\n");
    let _ = writeln!(s, "- Real: {}", r.real.join(", "));
    if !r.synthetic.is_empty() {
        let _ = writeln!(s, "- Synthetic: {}", r.synthetic.join(", "));
    }
    let _ = writeln!(s, "- {} SNPs; groups {}", r.snps, r.groups.join(", "));
    let _ = writeln!(
        s,
        "- Protocol: per group as many synthetic as real, pooled; {} random splits with {} of the rows for testing (seed {}). \
         LR: L2, C = {}, L-BFGS. KNN: k in {{2, 4, 10}}, uniform or distance weights, p in {{1, 2}}, chosen by {}-fold CV \
         (balanced accuracy) on the training part. MLP: {} ReLU units, Adam, early stopping on {} of the training part.",
        p["splits"], p["test_fraction"], p["seed"], p["logistic"]["c"], p["cv_folds"], p["mlp"]["hidden"],
        p["mlp"]["validation_fraction"]
    );
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
    s
}

/// The headline table only (what the binary prints).
pub fn summary(r: &Report) -> String {
    let md = markdown(r);
    let start = md.find("| comparison | per side").unwrap_or(0);
    let end = md.find("\n## Per group").unwrap_or(md.len());
    md[start..end].trim_end().to_string() + "\n"
}
