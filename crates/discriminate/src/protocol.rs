//! The paper's protocol on one comparison (real against one kind of "synthetic"): per group as
//! many synthetic as real, pooled, real labelled 0 and synthetic 1; random train/test splits;
//! logistic regression, KNN (grid by inner CV) and MLP; test accuracy mean and sd per classifier;
//! Delta = max |0.5 - mean accuracy|; and the fidelity and privacy metrics beside it.

use std::collections::BTreeMap;

use artifact::rng::{derive_seed, SeededRng};
use artifact::Variant;
use haplotypes::bits::PackedHaplotypes;
use rayon::prelude::*;
use serde::Serialize;

use crate::diagnostics::{self as diag, Diagnostics};
use crate::knn::{self, KnnParams};
use crate::logistic::{self, LogisticOptions};
use crate::metrics::{pearson, NearestDistances, SnpColumns};
use crate::mlp::{self, MlpOptions};
use crate::sparse::MinorAlleleRows;
use crate::DiscriminateError;

#[derive(Debug, Clone)]
pub struct ProtocolOptions {
    pub splits: usize,
    pub test_fraction: f64,
    pub seed: u64,
    /// LD pairs are SNPs fewer than this many apart.
    pub ld_max_distance: usize,
    pub cv_folds: usize,
    pub logistic: LogisticOptions,
    pub mlp: MlpOptions,
}

impl Default for ProtocolOptions {
    fn default() -> Self {
        ProtocolOptions {
            splits: 5,
            test_fraction: 0.33,
            seed: 1,
            ld_max_distance: 50,
            cv_folds: 5,
            logistic: LogisticOptions::default(),
            mlp: MlpOptions::default(),
        }
    }
}

/// The balanced, pooled rows of one comparison: real rows first (label 0), then synthetic.
pub struct Pooled {
    pub packed: PackedHaplotypes,
    pub labels: Vec<u8>,
    /// Index into `group_names` of each row.
    pub groups: Vec<usize>,
    pub group_names: Vec<String>,
}

/// One side's haplotypes with their group indices.
pub struct Side {
    pub packed: PackedHaplotypes,
    pub groups: Vec<usize>,
}

impl Pooled {
    /// Per group keep min(real, synthetic) of each side, subsampling the larger side (seeded).
    pub fn balance(real: &Side, synthetic: &Side, group_names: &[String], seed: u64) -> Pooled {
        let mut rng = SeededRng::new(seed);
        let mut keep_real = Vec::new();
        let mut keep_syn = Vec::new();
        for g in 0..group_names.len() {
            let mut r: Vec<usize> = (0..real.packed.n)
                .filter(|&i| real.groups[i] == g)
                .collect();
            let mut s: Vec<usize> = (0..synthetic.packed.n)
                .filter(|&i| synthetic.groups[i] == g)
                .collect();
            let n = r.len().min(s.len());
            for side in [&mut r, &mut s] {
                if side.len() > n {
                    rng.shuffle(side);
                    side.truncate(n);
                    side.sort_unstable();
                }
            }
            keep_real.extend(r);
            keep_syn.extend(s);
        }
        let mut bits = Vec::with_capacity((keep_real.len() + keep_syn.len()) * real.packed.words);
        let mut labels = Vec::new();
        let mut groups = Vec::new();
        for (side, keep, label) in [(real, &keep_real, 0u8), (synthetic, &keep_syn, 1u8)] {
            for &i in keep.iter() {
                bits.extend_from_slice(side.packed.row(i));
                labels.push(label);
                groups.push(side.groups[i]);
            }
        }
        Pooled {
            packed: PackedHaplotypes {
                n: labels.len(),
                snps: real.packed.snps,
                words: real.packed.words,
                bits,
            },
            labels,
            groups,
            group_names: group_names.to_vec(),
        }
    }

    fn rows_where(&self, f: impl Fn(usize) -> bool) -> Vec<usize> {
        (0..self.packed.n).filter(|&i| f(i)).collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassifierResult {
    pub name: String,
    pub mean: f64,
    pub sd: f64,
    pub accuracies: Vec<f64>,
    /// Mean test accuracy on each group's test rows.
    pub per_group: BTreeMap<String, f64>,
    /// What was chosen or run in each split (KNN grid point, LR iterations, MLP epochs).
    pub per_split: Vec<serde_json::Value>,
}

/// Typed in [`artifact::report`], which `gmmn run`'s table reads.
pub use artifact::report::Fidelity;

#[derive(Debug, Clone, Serialize)]
pub struct GroupResult {
    pub group: String,
    pub haplotypes_per_side: usize,
    pub fidelity: Fidelity,
    /// Classifier name -> mean test accuracy on this group's test rows.
    pub accuracy: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComparisonResult {
    pub name: String,
    pub description: String,
    pub haplotypes_per_side: usize,
    pub classifiers: Vec<ClassifierResult>,
    pub delta: f64,
    pub fidelity: Fidelity,
    pub groups: Vec<GroupResult>,
    /// Why the classifiers tell the sides apart (see [`crate::diagnostics`]).
    pub diagnostics: Diagnostics,
    /// Membership and copying figures against held-out real haplotypes (`--heldout`; set by
    /// [`crate::privacy`] after the protocol ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<artifact::report::Privacy>,
    /// Train-synthetic-test-real ancestry classification (`--heldout`, two groups or more; see
    /// [`crate::utility`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utility: Option<artifact::report::Utility>,
    /// Wall time (logged, not in the report: same inputs and seed give the same bytes).
    #[serde(skip)]
    pub seconds: f64,
}

pub fn fidelity(
    real: &PackedHaplotypes,
    synthetic: &PackedHaplotypes,
    ld_max_distance: usize,
) -> Fidelity {
    measure(real, synthetic, ld_max_distance).fidelity
}

/// The fidelity metrics with what they are made of, for the diagnostics to reuse.
pub struct Measured {
    pub fidelity: Fidelity,
    pub real_columns: SnpColumns,
    pub synthetic_columns: SnpColumns,
    pub nearest: NearestDistances,
}

pub fn measure(
    real: &PackedHaplotypes,
    synthetic: &PackedHaplotypes,
    ld_max_distance: usize,
) -> Measured {
    let (rc, sc) = (
        SnpColumns::from_rows(real),
        SnpColumns::from_rows(synthetic),
    );
    let (r_ld, s_ld) = (rc.ld_r2(ld_max_distance), sc.ld_r2(ld_max_distance));
    let nearest = NearestDistances::compute(real, synthetic);
    Measured {
        fidelity: Fidelity {
            allele_frequency_correlation: pearson(
                &rc.allele_frequencies(),
                &sc.allele_frequencies(),
            ),
            ld_r2_correlation: pearson(&r_ld, &s_ld),
            ld_pairs: r_ld.len(),
            adversarial_accuracy: nearest.adversarial_accuracy(),
            identical_fraction: nearest.identical_fraction(),
        },
        real_columns: rc,
        synthetic_columns: sc,
        nearest,
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    // Population sd (numpy's default), as the paper's tables.
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

pub const CLASSIFIERS: [&str; 3] = ["LR", "KNN", "MLP"];

/// One split's (train, test) row lists: a seeded permutation, the first ceil(f * n) rows test
/// (scikit-learn's `train_test_split(test_size=f)`, not stratified).
pub fn split_rows(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    SeededRng::new(seed).shuffle(&mut idx);
    let n_test = ((test_fraction * n as f64).ceil() as usize).clamp(1, n - 1);
    let test = idx[..n_test].to_vec();
    let train = idx[n_test..].to_vec();
    (train, test)
}

/// The smallest pooled set the protocol can run on: each side needs this many haplotypes.
pub const MIN_PER_SIDE: usize = 20;

/// Run the protocol on `pooled` (genotyped at `variants`, for the diagnostics' SNP names).
pub fn run(
    name: &str,
    description: &str,
    pooled: &Pooled,
    variants: &[Variant],
    opts: &ProtocolOptions,
    progress: &indicatif::ProgressBar,
) -> Result<ComparisonResult, DiscriminateError> {
    let started = std::time::Instant::now();
    let per_side = pooled.labels.iter().filter(|&&l| l == 0).count();
    if per_side < MIN_PER_SIDE {
        let counts: Vec<String> = pooled
            .group_names
            .iter()
            .enumerate()
            .map(|(g, name)| {
                format!(
                    "{name} {}",
                    pooled.groups.iter().filter(|&&x| x == g).count() / 2
                )
            })
            .collect();
        return Err(DiscriminateError::TooFew(format!(
            "{name}: {per_side} haplotypes per side after balancing (as many synthetic as real in each group: {}); \
             {} splits with {}-fold grid search need at least {MIN_PER_SIDE} per side",
            counts.join(", "),
            opts.splits,
            opts.cv_folds
        )));
    }
    let sparse = MinorAlleleRows::from_packed(&pooled.packed);
    tracing::info!(
        "{name}: {per_side} + {per_side} haplotypes x {} SNPs, {:.1}% minor alleles",
        pooled.packed.snps,
        100.0 * sparse.density()
    );
    let splits: Vec<(Vec<usize>, Vec<usize>)> = (0..opts.splits)
        .map(|s| {
            split_rows(
                pooled.packed.n,
                opts.test_fraction,
                derive_seed(opts.seed, 100 + s as u64),
            )
        })
        .collect();
    for (s, (train, _)) in splits.iter().enumerate() {
        for class in 0..2u8 {
            let c = train.iter().filter(|&&i| pooled.labels[i] == class).count();
            if c < 2 * opts.cv_folds {
                return Err(DiscriminateError::TooFew(format!(
                    "{name}: split {} has {c} {} haplotypes in its training part; the {}-fold grid search needs {}",
                    s + 1,
                    if class == 0 { "real" } else { "synthetic" },
                    opts.cv_folds,
                    2 * opts.cv_folds
                )));
            }
        }
    }
    let tasks: Vec<(usize, usize)> = (0..opts.splits)
        .flat_map(|s| (0..CLASSIFIERS.len()).map(move |c| (s, c)))
        .collect();
    // Each task is independent and seeded, so the results do not depend on thread timing.
    // Each outcome: test predictions, what was chosen, and the logistic model's weights.
    type Outcome = (Vec<u8>, serde_json::Value, Option<Vec<f64>>);
    let outcomes: Vec<Outcome> = tasks
        .par_iter()
        .map(|&(s, c)| {
            let (train, test) = &splits[s];
            let y: Vec<u8> = train.iter().map(|&i| pooled.labels[i]).collect();
            let out = match c {
                0 => {
                    let model = logistic::fit(&sparse, train, &y, &opts.logistic);
                    let pred = test.iter().map(|&i| model.predict(sparse.row(i))).collect();
                    let detail = serde_json::json!({
                        "iterations": model.iterations, "converged": model.converged
                    });
                    (pred, detail, Some(model.weights))
                }
                1 => {
                    let (best, scores): (KnnParams, Vec<f64>) =
                        knn::select(&pooled.packed, train, &y, opts.cv_folds);
                    let pred = knn::predict(&pooled.packed, train, &y, test, best);
                    let best_score = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let detail = serde_json::json!({
                        "n_neighbours": best.n_neighbours, "weights": best.weights, "p": best.p,
                        "cv_balanced_accuracy": best_score
                    });
                    (pred, detail, None)
                }
                _ => {
                    let seed = derive_seed(opts.seed, 200 + s as u64);
                    let model = mlp::fit(&sparse, train, &y, &opts.mlp, seed);
                    let pred = test.iter().map(|&i| model.predict(sparse.row(i))).collect();
                    let detail = serde_json::json!({
                        "epochs": model.epochs, "best_epoch": model.best_epoch,
                        "validation_accuracy": model.best_validation_accuracy
                    });
                    (pred, detail, None)
                }
            };
            progress.inc(1);
            out
        })
        .collect();
    let mut classifiers = Vec::new();
    for (c, cname) in CLASSIFIERS.iter().enumerate() {
        let mut accuracies = Vec::new();
        let mut per_split = Vec::new();
        let mut group_acc = vec![0.0; pooled.group_names.len()];
        for (s, (_, test)) in splits.iter().enumerate() {
            let (pred, detail, _) = &outcomes[s * CLASSIFIERS.len() + c];
            let hits: Vec<bool> = test
                .iter()
                .zip(pred)
                .map(|(&i, &p)| pooled.labels[i] == p)
                .collect();
            accuracies.push(hits.iter().filter(|&&h| h).count() as f64 / test.len() as f64);
            per_split.push(detail.clone());
            for (g, acc) in group_acc.iter_mut().enumerate() {
                let of_g: Vec<bool> = test
                    .iter()
                    .zip(&hits)
                    .filter(|(&i, _)| pooled.groups[i] == g)
                    .map(|(_, &h)| h)
                    .collect();
                let a = of_g.iter().filter(|&&h| h).count() as f64 / of_g.len().max(1) as f64;
                *acc += a / opts.splits as f64;
            }
        }
        let (mean, sd) = mean_sd(&accuracies);
        classifiers.push(ClassifierResult {
            name: cname.to_string(),
            mean,
            sd,
            accuracies,
            per_group: pooled.group_names.iter().cloned().zip(group_acc).collect(),
            per_split,
        });
    }
    let delta = classifiers
        .iter()
        .map(|c| (0.5 - c.mean).abs())
        .fold(0.0, f64::max);
    let real = pooled
        .packed
        .select(&pooled.rows_where(|i| pooled.labels[i] == 0));
    let syn = pooled
        .packed
        .select(&pooled.rows_where(|i| pooled.labels[i] == 1));
    let pooled_measured = measure(&real, &syn, opts.ld_max_distance);
    let mut diagnostics_seconds = 0.0;
    let ld_decay_max = diag::ld_decay_max_distance(opts.ld_max_distance, pooled.packed.snps);
    let mut groups = Vec::new();
    let mut parts = Vec::new();
    for (g, gname) in pooled.group_names.iter().enumerate() {
        let r = pooled
            .packed
            .select(&pooled.rows_where(|i| pooled.labels[i] == 0 && pooled.groups[i] == g));
        let s = pooled
            .packed
            .select(&pooled.rows_where(|i| pooled.labels[i] == 1 && pooled.groups[i] == g));
        if r.n == 0 {
            continue;
        }
        let measured = measure(&r, &s, opts.ld_max_distance);
        let t = std::time::Instant::now();
        parts.push(diag::group_parts(
            gname,
            &r,
            &s,
            (&measured.real_columns, &measured.synthetic_columns),
            &measured.nearest,
            ld_decay_max,
            variants,
        ));
        diagnostics_seconds += t.elapsed().as_secs_f64();
        groups.push(GroupResult {
            group: gname.clone(),
            haplotypes_per_side: r.n,
            fidelity: measured.fidelity,
            accuracy: classifiers
                .iter()
                .map(|c| (c.name.clone(), c.per_group[gname]))
                .collect(),
        });
    }
    let t = std::time::Instant::now();
    let lr_weights: Vec<Vec<f64>> = (0..opts.splits)
        .filter_map(|s| outcomes[s * CLASSIFIERS.len()].2.clone())
        .collect();
    let pooled_af = (
        pooled_measured.real_columns.allele_frequencies(),
        pooled_measured.synthetic_columns.allele_frequencies(),
    );
    let top = diag::top_logistic_snps(&lr_weights, &sparse, variants, diag::TOP_SNPS, |j| {
        let per_group = parts
            .iter()
            .map(|p| {
                let f = &p.frequencies;
                let gf = diag::GroupFrequencies {
                    real_af: f.real[j],
                    synthetic_af: f.synthetic[j],
                };
                (f.group.clone(), gf)
            })
            .collect();
        ((pooled_af.0[j], pooled_af.1[j]), per_group)
    });
    let diagnostics = Diagnostics {
        synthetic_side: diag::side_label(name).to_string(),
        figures: diag::FIGURES
            .iter()
            .map(|f| {
                let stem = diag::figure_stem(name, f);
                diag::FigureFiles {
                    figure: f.to_string(),
                    png: format!("{stem}.png"),
                    svg: format!("{stem}.svg"),
                }
            })
            .collect(),
        ld_decay_max_distance: ld_decay_max,
        nearest_neighbours: diag::NearestNeighbours {
            pooled: diag::NearestSummaries::of(&pooled_measured.nearest),
            histogram: diag::nearest_histogram(&pooled_measured.nearest),
            groups: parts.iter().map(|p| p.nearest.clone()).collect(),
        },
        logistic_top_snps: diag::LogisticTop {
            method: format!(
                "the coefficients of the logistic regressions the protocol fitted, averaged over its {} split(s); \
                 the coefficient of the ALT allele (positive: the ALT allele points to the {} side); \
                 allele frequencies over the pooled, balanced haplotypes and within each group",
                lr_weights.len(),
                diag::side_label(name)
            ),
            snps: top,
        },
        minor_alleles: parts.iter().map(|p| p.minor_alleles.clone()).collect(),
        ld_decay: parts.iter().map(|p| p.ld_decay.clone()).collect(),
        allele_frequency_error: parts.iter().map(|p| p.af_error.clone()).collect(),
        allele_frequencies: parts.into_iter().map(|p| p.frequencies).collect(),
    };
    diagnostics_seconds += t.elapsed().as_secs_f64();
    tracing::info!("{name}: diagnostics computed in {diagnostics_seconds:.2} s");
    Ok(ComparisonResult {
        name: name.to_string(),
        description: description.to_string(),
        haplotypes_per_side: per_side,
        classifiers,
        delta,
        fidelity: pooled_measured.fidelity,
        groups,
        diagnostics,
        privacy: None,
        utility: None,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_seeded_disjoint_and_sized_like_scikit_learn() {
        let (train, test) = split_rows(100, 0.33, 5);
        assert_eq!((train.len(), test.len()), (67, 33));
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(split_rows(100, 0.33, 5), (train, test));
        assert_ne!(split_rows(100, 0.33, 6).1, split_rows(100, 0.33, 5).1);
    }

    #[test]
    fn balance_keeps_as_many_synthetic_as_real_per_group() {
        let side = |n: usize, groups: Vec<usize>, fill: u8| Side {
            packed: PackedHaplotypes::from_rows(&vec![fill; n * 3], 3),
            groups,
        };
        let real = side(5, vec![0, 0, 0, 1, 1], 0);
        let syn = side(6, vec![0, 1, 1, 1, 1, 1], 1);
        let names = vec!["A".to_string(), "B".to_string()];
        let p = Pooled::balance(&real, &syn, &names, 1);
        // A: 1 each; B: 2 each.
        assert_eq!(p.labels, vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(p.groups, vec![0, 1, 1, 0, 1, 1]);
        assert!((0..3).all(|i| p.packed.row(i)[0] == 0));
        assert!((3..6).all(|i| p.packed.row(i)[0] == 0b111));
    }
}
