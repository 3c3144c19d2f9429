//! The paper's protocol on one comparison (real against one kind of "synthetic"): per group as
//! many synthetic as real, pooled, real labelled 0 and synthetic 1; random train/test splits;
//! logistic regression, KNN (grid by inner CV) and MLP; test accuracy mean and sd per classifier;
//! Delta = max |0.5 - mean accuracy|; and the fidelity and privacy metrics beside it.
//!
//! That is the strict protocol ([`Protocol::Strict`], the default). [`Protocol::Paper`] is the
//! authors' own, to compare with the paper's Table I (see [`crate::paper`]): unbalanced pooling,
//! their logistic grid, scikit-learn's default MLP. Both run their classifiers through
//! [`crate::classifier::Classifier`].

use std::collections::BTreeMap;

use artifact::rng::{derive_seed, SeededRng};
use artifact::Variant;
use haplotypes::bits::PackedHaplotypes;
use rayon::prelude::*;
use serde::Serialize;

use crate::classifier::{self, Classifier, FitData, Outcome};
use crate::diagnostics::{self as diag, Diagnostics};
use crate::logistic::LogisticOptions;
use crate::metrics::{pearson, NearestDistances, SnpColumns};
use crate::mlp::MlpOptions;
use crate::paper;
use crate::sparse::MinorAlleleRows;
use crate::DiscriminateError;

/// Which protocol the comparisons run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// The real class is the held-out set when there is one; per group as many synthetic as
    /// real; logistic regression at scikit-learn's defaults, KNN by grid search, the MLP with
    /// early stopping on a validation part.
    #[default]
    Strict,
    /// The authors' protocol ([`crate::paper`]): every real haplotype (the generator's training
    /// data) against at most `synthetic_per_group` synthetic per group, their logistic grid,
    /// the MLP at scikit-learn's defaults.
    Paper { synthetic_per_group: usize },
}

impl Protocol {
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Strict => "strict",
            Protocol::Paper { .. } => "paper",
        }
    }

    /// From `--protocol` and `--paper-synthetic-per-group` (which only the paper protocol
    /// reads; given with the strict one it is an error, not silently ignored).
    pub fn from_flags(name: &str, synthetic_per_group: Option<usize>) -> Result<Protocol, String> {
        match (name, synthetic_per_group) {
            ("strict", None) => Ok(Protocol::Strict),
            ("strict", Some(_)) => Err(
                "--paper-synthetic-per-group applies to --protocol paper only (the strict protocol balances each group)"
                    .into(),
            ),
            ("paper", Some(0)) => Err("--paper-synthetic-per-group must be at least 1".into()),
            ("paper", n) => Ok(Protocol::Paper {
                synthetic_per_group: n.unwrap_or(paper::DEFAULT_SYNTHETIC_PER_GROUP),
            }),
            _ => Err(format!("unknown protocol `{name}` (strict or paper)")),
        }
    }
}

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
    pub protocol: Protocol,
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
            protocol: Protocol::Strict,
        }
    }
}

impl ProtocolOptions {
    /// The protocol's classifiers, in report order ([`CLASSIFIERS`]).
    pub fn classifiers(&self) -> Vec<Box<dyn Classifier>> {
        match self.protocol {
            Protocol::Strict => classifier::strict(self.logistic, self.cv_folds, self.mlp),
            Protocol::Paper { .. } => paper::classifiers(self.logistic, self.cv_folds, self.mlp),
        }
    }

    /// `real` against `synthetic` pooled as the protocol pools them: balanced per group
    /// ([`Pooled::balance`]) or the paper's unbalanced set ([`Pooled::unbalanced`]).
    pub fn pool(&self, real: &Side, synthetic: &Side, group_names: &[String], seed: u64) -> Pooled {
        match self.protocol {
            Protocol::Strict => Pooled::balance(real, synthetic, group_names, seed),
            Protocol::Paper {
                synthetic_per_group,
            } => Pooled::unbalanced(real, synthetic, group_names, synthetic_per_group, seed),
        }
    }

    /// The real class of a real-vs-synthetic comparison: the held-out haplotypes when given
    /// (strict: so that copying the training data cannot pass for real), but always the
    /// generator's training haplotypes under the paper protocol, as the authors tested.
    pub fn real_class<'a>(&self, training: &'a Side, heldout: Option<&'a Side>) -> &'a Side {
        match (self.protocol, heldout) {
            (Protocol::Strict, Some(h)) => h,
            _ => training,
        }
    }

    /// The AATS of `heldout` against `synthetic` for the privacy figures, as the strict protocol
    /// pools them: the comparison's own (`comparison_aats`) under the strict protocol, whose
    /// real class is the held-out set; computed afresh under the paper's, whose real class is
    /// the training set.
    pub fn heldout_aats(
        &self,
        comparison_aats: f64,
        heldout: &Side,
        synthetic: &Side,
        group_names: &[String],
        seed: u64,
    ) -> f64 {
        match self.protocol {
            Protocol::Strict => comparison_aats,
            Protocol::Paper { .. } => {
                let pooled = Pooled::balance(heldout, synthetic, group_names, seed);
                let side = |label: u8| {
                    pooled
                        .packed
                        .select(&pooled.rows_where(|i| pooled.labels[i] == label))
                };
                NearestDistances::compute(&side(0), &side(1)).adversarial_accuracy()
            }
        }
    }

    /// The protocol's entries of the report's protocol parameters: its name and, for the paper
    /// protocol, what it runs instead of the strict settings.
    pub fn protocol_params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("protocol".into(), self.protocol.name().into());
        if let Protocol::Paper {
            synthetic_per_group,
        } = self.protocol
        {
            m.insert(
                "paper".into(),
                paper::params(synthetic_per_group, &self.mlp),
            );
        }
        m
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
        Pooled::from_rows(real, &keep_real, synthetic, &keep_syn, group_names)
    }

    /// The paper protocol's pool: per group every real row and at most `per_group` synthetic
    /// ones (a seeded sample, kept in their order; all of them if the group has fewer).
    pub fn unbalanced(
        real: &Side,
        synthetic: &Side,
        group_names: &[String],
        per_group: usize,
        seed: u64,
    ) -> Pooled {
        let mut rng = SeededRng::new(seed);
        let keep_real: Vec<usize> = (0..group_names.len())
            .flat_map(|g| (0..real.packed.n).filter(move |&i| real.groups[i] == g))
            .collect();
        let mut keep_syn = Vec::new();
        for g in 0..group_names.len() {
            let mut s: Vec<usize> = (0..synthetic.packed.n)
                .filter(|&i| synthetic.groups[i] == g)
                .collect();
            if s.len() > per_group {
                rng.shuffle(&mut s);
                s.truncate(per_group);
                s.sort_unstable();
            }
            keep_syn.extend(s);
        }
        Pooled::from_rows(real, &keep_real, synthetic, &keep_syn, group_names)
    }

    /// Rows `keep_real` of `real` (label 0), then rows `keep_syn` of `synthetic` (label 1).
    fn from_rows(
        real: &Side,
        keep_real: &[usize],
        synthetic: &Side,
        keep_syn: &[usize],
        group_names: &[String],
    ) -> Pooled {
        let mut bits = Vec::with_capacity((keep_real.len() + keep_syn.len()) * real.packed.words);
        let mut labels = Vec::new();
        let mut groups = Vec::new();
        for (side, keep, label) in [(real, keep_real, 0u8), (synthetic, keep_syn, 1u8)] {
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
    /// `strict` or `paper` ([`Protocol`]): which protocol these numbers come from.
    pub protocol: String,
    /// Share of the larger class in the pooled set: the plain accuracy of always guessing it
    /// (0.5 in the strict protocol's balanced pool; more in the paper's unbalanced one, whose
    /// Delta, as the paper's, is still measured from 0.5).
    pub majority_rate: f64,
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
    let synthetic_rows = pooled.labels.len() - per_side;
    if let Protocol::Paper {
        synthetic_per_group,
    } = opts.protocol
    {
        if per_side.min(synthetic_rows) < MIN_PER_SIDE {
            let counts: Vec<String> = pooled
                .group_names
                .iter()
                .enumerate()
                .map(|(g, name)| {
                    let of = |l: u8| {
                        (0..pooled.packed.n)
                            .filter(|&i| pooled.groups[i] == g && pooled.labels[i] == l)
                            .count()
                    };
                    format!("{name} {} real, {} synthetic", of(0), of(1))
                })
                .collect();
            return Err(DiscriminateError::TooFew(format!(
                "{name}: {per_side} real and {synthetic_rows} synthetic haplotypes (the paper protocol: every real haplotype \
                 of a group against at most {synthetic_per_group} synthetic: {}); {} splits with {}-fold grid search need \
                 at least {MIN_PER_SIDE} of each",
                counts.join(", "),
                opts.splits,
                opts.cv_folds
            )));
        }
    } else if per_side < MIN_PER_SIDE {
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
        "{name}: {per_side} + {synthetic_rows} haplotypes x {} SNPs, {:.1}% minor alleles ({} protocol)",
        pooled.packed.snps,
        100.0 * sparse.density(),
        opts.protocol.name()
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
    let models = opts.classifiers();
    debug_assert!(models.iter().map(|m| m.name()).eq(CLASSIFIERS));
    let data = FitData {
        packed: &pooled.packed,
        sparse: &sparse,
    };
    let tasks: Vec<(usize, usize)> = (0..opts.splits)
        .flat_map(|s| (0..models.len()).map(move |c| (s, c)))
        .collect();
    // Each task is independent and seeded, so the results do not depend on thread timing.
    let outcomes: Vec<Outcome> = tasks
        .par_iter()
        .map(|&(s, c)| {
            let (train, test) = &splits[s];
            let y: Vec<u8> = train.iter().map(|&i| pooled.labels[i]).collect();
            let seed = derive_seed(opts.seed, 200 + s as u64);
            let out = models[c].fit_predict(&data, train, &y, test, seed);
            progress.inc(1);
            out
        })
        .collect();
    let mut classifiers = Vec::new();
    for (c, model) in models.iter().enumerate() {
        let mut accuracies = Vec::new();
        let mut per_split = Vec::new();
        let mut group_acc = vec![0.0; pooled.group_names.len()];
        for (s, (_, test)) in splits.iter().enumerate() {
            let outcome = &outcomes[s * models.len() + c];
            let hits: Vec<bool> = test
                .iter()
                .zip(&outcome.predictions)
                .map(|(&i, &p)| pooled.labels[i] == p)
                .collect();
            accuracies.push(hits.iter().filter(|&&h| h).count() as f64 / test.len() as f64);
            per_split.push(serde_json::to_value(&outcome.detail).expect("a detail serialises"));
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
            name: model.name().to_string(),
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
    // Split by split (only the logistic regression has weights).
    let lr_weights: Vec<Vec<f64>> = outcomes
        .iter()
        .filter_map(|o| o.logistic_weights.clone())
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
                 allele frequencies over the pooled, {} haplotypes and within each group",
                lr_weights.len(),
                diag::side_label(name),
                match opts.protocol {
                    Protocol::Strict => "balanced",
                    Protocol::Paper { .. } => "unbalanced (paper protocol)",
                }
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
        protocol: opts.protocol.name().to_string(),
        majority_rate: per_side.max(synthetic_rows) as f64 / pooled.labels.len() as f64,
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

    /// A fixed small comparison: two groups of 60 real haplotypes (mosaics of 4 templates per
    /// group with 5% errors) against 70 and 50 synthetic ones (SNPs drawn independently at the
    /// group's real allele frequencies), 96 SNPs.
    pub(crate) fn fixture_sides() -> (Side, Side, Vec<String>, Vec<Variant>) {
        let m = 96;
        let mut rng = SeededRng::new(11);
        let (mut real, mut real_groups, mut syn, mut syn_groups) = (vec![], vec![], vec![], vec![]);
        for (g, n_syn) in [(0usize, 70usize), (1, 50)] {
            let templates: Vec<Vec<u8>> = (0..4)
                .map(|_| (0..m).map(|_| (rng.next_f64() < 0.3) as u8).collect())
                .collect();
            let mut rows = Vec::new();
            for _ in 0..60 {
                let mut t = rng.below(4) as usize;
                let row: Vec<u8> = (0..m)
                    .map(|j| {
                        if j % 16 == 0 {
                            t = rng.below(4) as usize;
                        }
                        templates[t][j] ^ (rng.next_f64() < 0.05) as u8
                    })
                    .collect();
                rows.push(row);
            }
            let af: Vec<f64> = (0..m)
                .map(|j| rows.iter().map(|r| r[j] as f64).sum::<f64>() / rows.len() as f64)
                .collect();
            for r in &rows {
                real.extend_from_slice(r);
                real_groups.push(g);
            }
            for _ in 0..n_syn {
                syn.extend(af.iter().map(|&p| (rng.next_f64() < p) as u8));
                syn_groups.push(g);
            }
        }
        let side = |v: &[u8], groups: Vec<usize>| Side {
            packed: PackedHaplotypes::from_rows(v, m),
            groups,
        };
        let variants = crate::numbered_variants(m);
        (
            side(&real, real_groups),
            side(&syn, syn_groups),
            vec!["A".to_string(), "B".to_string()],
            variants,
        )
    }

    /// The strict protocol's classifier results on the fixture, as the code before the
    /// classifiers moved behind [`Classifier`] (commit 7ab12d8) computed them: a regression
    /// check that the strict protocol's numbers and per-split details are unchanged, bit for
    /// bit. Recompute only for a deliberate change of the strict protocol, and say so.
    const STRICT_FIXTURE_RESULTS: &str = r#"[[{"name":"LR","mean":0.48630136986301364,"sd":0.03424657534246575,"accuracies":[0.5205479452054794,0.4520547945205479],"per_group":{"A":0.4770277935337493,"B":0.49895833333333334},"per_split":[{"converged":true,"iterations":39},{"converged":true,"iterations":32}]},{"name":"KNN","mean":0.6917808219178082,"sd":0.006849315068493178,"accuracies":[0.6986301369863014,0.684931506849315],"per_group":{"A":0.6182643221781055,"B":0.7885416666666667},"per_split":[{"cv_balanced_accuracy":0.7214285714285714,"n_neighbours":10,"p":1,"weights":"distance"},{"cv_balanced_accuracy":0.649587912087912,"n_neighbours":2,"p":1,"weights":"distance"}]},{"name":"MLP","mean":0.5273972602739726,"sd":0.020547945205479423,"accuracies":[0.5068493150684932,0.547945205479452],"per_group":{"A":0.5119115144639819,"B":0.55},"per_split":[{"best_epoch":2,"epochs":23,"validation_accuracy":0.7142857142857143},{"best_epoch":1,"epochs":22,"validation_accuracy":0.5333333333333333}]}],0.1917808219178082]"#;

    #[test]
    fn strict_results_on_the_fixture_are_unchanged() {
        let (real, syn, names, variants) = fixture_sides();
        let pooled = Pooled::balance(&real, &syn, &names, 3);
        let opts = ProtocolOptions {
            splits: 2,
            ..Default::default()
        };
        let progress = indicatif::ProgressBar::hidden();
        let r = run("synthetic", "fixture", &pooled, &variants, &opts, &progress).unwrap();
        let json = serde_json::to_string(&(&r.classifiers, r.delta)).unwrap();
        assert_eq!(json, STRICT_FIXTURE_RESULTS);
        assert_eq!((r.protocol.as_str(), r.majority_rate), ("strict", 0.5));
    }

    #[test]
    fn unbalanced_pooling_keeps_every_real_and_at_most_n_synthetic_per_group() {
        let (real, syn, names, _) = fixture_sides();
        // Group A: 60 real, 70 synthetic; B: 60 real, 50 synthetic.
        let p = Pooled::unbalanced(&real, &syn, &names, 55, 3);
        let count = |g: usize, l: u8| {
            (0..p.packed.n)
                .filter(|&i| p.groups[i] == g && p.labels[i] == l)
                .count()
        };
        assert_eq!(
            [count(0, 0), count(0, 1), count(1, 0), count(1, 1)],
            [60, 55, 60, 50]
        );
        // Real rows are all of them, in order; synthetic rows a seeded subset, in order.
        assert!((0..120).all(|i| p.packed.row(i) == real.packed.row(i) && p.labels[i] == 0));
        let position = |row: &[u64]| (0..syn.packed.n).find(|&k| syn.packed.row(k) == row);
        let picked: Vec<usize> = (120..p.packed.n)
            .map(|i| position(p.packed.row(i)).unwrap())
            .collect();
        assert!(picked.windows(2).all(|w| w[0] < w[1]), "{picked:?}");
        assert_eq!(picked[55..], (70..120).collect::<Vec<_>>()[..]);
        let again = Pooled::unbalanced(&real, &syn, &names, 55, 3);
        assert_eq!(again.packed.bits, p.packed.bits);
        assert_ne!(
            Pooled::unbalanced(&real, &syn, &names, 55, 4).packed.bits,
            p.packed.bits
        );
        // At most N: a group with fewer keeps all of them.
        let all = Pooled::unbalanced(&real, &syn, &names, 1000, 3);
        assert_eq!(all.packed.n, 120 + 120);
        // Through the options, as gmmn-discriminate pools.
        let opts = ProtocolOptions {
            protocol: Protocol::Paper {
                synthetic_per_group: 55,
            },
            ..Default::default()
        };
        assert_eq!(opts.pool(&real, &syn, &names, 3).packed.bits, p.packed.bits);
        assert_eq!(opts.real_class(&real, Some(&syn)).packed.n, real.packed.n);
        assert_eq!(
            ProtocolOptions::default()
                .real_class(&real, Some(&syn))
                .packed
                .n,
            syn.packed.n
        );
    }

    #[test]
    fn protocol_flags() {
        assert_eq!(Protocol::from_flags("strict", None), Ok(Protocol::Strict));
        assert_eq!(
            Protocol::from_flags("paper", None),
            Ok(Protocol::Paper {
                synthetic_per_group: 1000
            })
        );
        assert_eq!(
            Protocol::from_flags("paper", Some(7)),
            Ok(Protocol::Paper {
                synthetic_per_group: 7
            })
        );
        for bad in [("strict", Some(7)), ("paper", Some(0)), ("sloppy", None)] {
            assert!(Protocol::from_flags(bad.0, bad.1).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_copy_generator_is_not_told_apart_under_the_paper_protocol() {
        // The real haplotypes offered as synthetic: 60 real per group against 40 of their own
        // copies, so no classifier can beat guessing the majority (real, 0.6). The regularised
        // ones (the logistic grid, KNN with its 10 neighbours) score near it. The MLP, trained
        // to a near-zero loss without a validation part, memorises: a test row whose twin is
        // in the training part with the other label is called wrong, so it scores well below
        // chance (about 0.25 here), as the authors' own MLP did on their demo run (0.44 on test,
        // 0.9998 on train). Plain accuracy and Delta = max |0.5 - accuracy| read that as
        // distinguishable; this is what the paper protocol's numbers mean for near-copies.
        let (real, _, names, variants) = fixture_sides();
        let copies = Side {
            packed: real.packed.clone(),
            groups: real.groups.clone(),
        };
        let opts = ProtocolOptions {
            splits: 2,
            protocol: Protocol::Paper {
                synthetic_per_group: 40,
            },
            ..Default::default()
        };
        let pooled = opts.pool(&real, &copies, &names, 3);
        let progress = indicatif::ProgressBar::hidden();
        let r = run("synthetic", "copies", &pooled, &variants, &opts, &progress).unwrap();
        assert_eq!(r.protocol, "paper");
        assert_eq!((r.haplotypes_per_side, r.majority_rate), (120, 0.6));
        let mean = |k: usize| r.classifiers[k].mean;
        assert!(
            r.classifiers.iter().all(|c| c.mean < 0.65),
            "{:?}",
            r.classifiers
        );
        assert!(
            (mean(0) - 0.6).abs() < 0.05 && (mean(1) - 0.6).abs() < 0.1,
            "{:?}",
            r.classifiers
        );
        assert!(mean(2) < 0.45, "{:?}", r.classifiers[2]);
        let lr = &r.classifiers[0].per_split[0];
        assert!(
            lr["penalty"].is_string() && lr["class_weight"].is_string(),
            "{lr}"
        );
        let mlp = &r.classifiers[2].per_split[0];
        assert!(mlp["training_loss"].as_f64().unwrap() > 0.0, "{mlp}");
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
