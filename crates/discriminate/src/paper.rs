//! The authors' protocol (Perera et al. 2022; their code, read 2026-12), to compare with the
//! paper's Table I. It differs from the strict protocol in four ways:
//!
//! - the real class is every real haplotype of each group, the generator's own training data
//!   (the `--real` set, even when `--heldout` is given), so copying passes for real;
//! - pooling is unbalanced: all real haplotypes of a group against at most
//!   `synthetic_per_group` (1,000) synthetic ones ([`crate::protocol::Pooled::unbalanced`]), and
//!   the accuracy is plain, so chance is the larger class's share (0.54 in their Table I runs);
//! - logistic regression is chosen from their grid (penalty L2 or none, C 0.001 or 0.1, class
//!   weights none or balanced) by stratified 5-fold cross-validation on balanced accuracy
//!   (scikit-learn's GridSearchCV), then refitted on the whole training part;
//! - the MLP runs at scikit-learn's defaults: no validation part, stop when the training loss
//!   stalls ([`mlp::Stop::TrainingLoss`]), last epoch's weights.
//!
//! KNN is the same grid search as in the strict protocol.

use rayon::prelude::*;
use serde::Serialize;

use crate::classifier::{
    best_cv_score, Classifier, Detail, FitData, Knn, LogisticGridDetail, Mlp, Outcome,
};
use crate::knn::{balanced_accuracy, stratified_folds};
use crate::logistic::{self, ClassWeight, LogisticOptions, Penalty};
use crate::mlp::MlpOptions;
use crate::sparse::MinorAlleleRows;

/// `--paper-synthetic-per-group` default: the authors generated 1,000 haplotypes per group.
pub const DEFAULT_SYNTHETIC_PER_GROUP: usize = 1000;

/// One point of the authors' logistic grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogisticPoint {
    pub c: f64,
    pub class_weight: ClassWeight,
    pub penalty: Penalty,
}

impl LogisticPoint {
    fn options(&self, base: &LogisticOptions) -> LogisticOptions {
        LogisticOptions {
            c: self.c,
            class_weight: self.class_weight,
            penalty: self.penalty,
            ..*base
        }
    }

    /// Points that fit the same model: without a penalty C does not matter.
    fn same_fit(&self, other: &LogisticPoint) -> bool {
        self.penalty == other.penalty
            && self.class_weight == other.class_weight
            && (self.penalty == Penalty::None || self.c == other.c)
    }
}

pub const GRID_C: [f64; 2] = [0.001, 0.1];
pub const GRID_CLASS_WEIGHT: [ClassWeight; 2] = [ClassWeight::None, ClassWeight::Balanced];
pub const GRID_PENALTY: [Penalty; 2] = [Penalty::L2, Penalty::None];

/// The grid in scikit-learn's ParameterGrid order (keys sorted: C, class_weight, penalty; the
/// last varies fastest), so that ties resolve to the same choice as GridSearchCV's.
pub fn logistic_grid() -> Vec<LogisticPoint> {
    let mut out = Vec::new();
    for c in GRID_C {
        for class_weight in GRID_CLASS_WEIGHT {
            for penalty in GRID_PENALTY {
                out.push(LogisticPoint {
                    c,
                    class_weight,
                    penalty,
                });
            }
        }
    }
    out
}

/// The grid point with the best mean cross-validated balanced accuracy (the first on ties), and
/// every point's mean score. Folds as [`crate::knn::select`]'s (scikit-learn's StratifiedKFold
/// without shuffling, which GridSearchCV uses for a classifier); class weights are computed on
/// each fold's training part, as scikit-learn does. Each distinct model is fitted once per fold
/// (the points without a penalty differ only in the C they ignore), the fits in parallel.
pub fn select_logistic(
    x: &MinorAlleleRows,
    rows: &[usize],
    y: &[u8],
    folds: usize,
    base: &LogisticOptions,
) -> (LogisticPoint, Vec<f64>) {
    let grid = logistic_grid();
    // Index of the first grid point with the same fit as each point.
    let fit_of: Vec<usize> = grid
        .iter()
        .map(|p| grid.iter().position(|q| q.same_fit(p)).expect("itself"))
        .collect();
    let mut distinct: Vec<usize> = fit_of.clone();
    distinct.dedup();
    distinct.sort_unstable();
    distinct.dedup();
    let fold_tests = stratified_folds(y, folds);
    let jobs: Vec<(usize, usize)> = (0..fold_tests.len())
        .flat_map(|f| distinct.iter().map(move |&d| (f, d)))
        .collect();
    let scored: Vec<f64> = jobs
        .par_iter()
        .map(|&(f, d)| {
            let test = &fold_tests[f];
            let mut is_test = vec![false; rows.len()];
            test.iter().for_each(|&t| is_test[t] = true);
            let train: Vec<usize> = (0..rows.len()).filter(|&i| !is_test[i]).collect();
            let train_rows: Vec<usize> = train.iter().map(|&i| rows[i]).collect();
            let train_y: Vec<u8> = train.iter().map(|&i| y[i]).collect();
            let model = logistic::fit(x, &train_rows, &train_y, &grid[d].options(base));
            let truth: Vec<u8> = test.iter().map(|&i| y[i]).collect();
            let predicted: Vec<u8> = test
                .iter()
                .map(|&i| model.predict(x.row(rows[i])))
                .collect();
            balanced_accuracy(&truth, &predicted)
        })
        .collect();
    let mut scores = vec![0.0; grid.len()];
    for (s, &d) in scores.iter_mut().zip(&fit_of) {
        for f in 0..fold_tests.len() {
            let k = jobs
                .iter()
                .position(|&job| job == (f, d))
                .expect("every distinct fit ran on every fold");
            *s += scored[k] / fold_tests.len() as f64;
        }
    }
    let mut best = 0;
    for (g, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = g;
        }
    }
    (grid[best], scores)
}

/// The authors' logistic regression: [`select_logistic`] on the training part, then the chosen
/// point refitted on all of it. `base` gives the iteration cap and tolerance.
pub struct LogisticGrid {
    pub base: LogisticOptions,
    pub folds: usize,
}

impl Classifier for LogisticGrid {
    fn name(&self) -> &str {
        "LR"
    }

    fn fit_predict(
        &self,
        data: &FitData,
        train: &[usize],
        y: &[u8],
        test: &[usize],
        _: u64,
    ) -> Outcome {
        let (best, scores) = select_logistic(data.sparse, train, y, self.folds, &self.base);
        let model = logistic::fit(data.sparse, train, y, &best.options(&self.base));
        Outcome {
            predictions: data.predict_sparse(test, |row| model.predict(row)),
            detail: Detail::LogisticGrid(LogisticGridDetail {
                penalty: best.penalty,
                c: best.c,
                class_weight: best.class_weight,
                cv_balanced_accuracy: best_cv_score(&scores),
                iterations: model.iterations,
                converged: model.converged,
            }),
            logistic_weights: Some(model.weights),
        }
    }
}

/// The MLP as the authors ran it: `base`'s architecture and optimiser (scikit-learn's
/// defaults) with scikit-learn's default stop on the training loss.
pub fn mlp_options(base: &MlpOptions) -> MlpOptions {
    let sk = MlpOptions::scikit_learn_default();
    MlpOptions {
        stop: sk.stop,
        patience: sk.patience,
        ..*base
    }
}

/// The paper protocol's classifiers, in report order.
pub fn classifiers(
    logistic: LogisticOptions,
    cv_folds: usize,
    mlp: MlpOptions,
) -> Vec<Box<dyn Classifier>> {
    vec![
        Box::new(LogisticGrid {
            base: logistic,
            folds: cv_folds,
        }),
        Box::new(Knn { folds: cv_folds }),
        Box::new(Mlp {
            opts: mlp_options(&mlp),
        }),
    ]
}

/// What the paper protocol runs instead of the strict settings, for the report's protocol
/// parameters (beside the shared ones: splits, test fraction, folds, KNN grid, the logistic
/// iteration cap and tolerance, the MLP's architecture and optimiser).
pub fn params(synthetic_per_group: usize, mlp: &MlpOptions) -> serde_json::Value {
    let m = mlp_options(mlp);
    serde_json::json!({
        "real": "every real haplotype of each group (--real: the generator's training data, even with --heldout)",
        "synthetic_per_group": synthetic_per_group,
        "balanced": false,
        "accuracy": "plain (chance: the larger class's share)",
        "logistic_grid": {
            "penalty": GRID_PENALTY, "c": GRID_C, "class_weight": GRID_CLASS_WEIGHT,
            "scoring": "balanced_accuracy", "refit": "on the whole training part"
        },
        "mlp": {"stop": m.stop, "n_iter_no_change": m.patience, "tol": m.tol,
                "validation_fraction": null, "weights_kept": "last epoch"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use haplotypes::bits::PackedHaplotypes;

    #[test]
    fn grid_is_in_scikit_learn_order() {
        let g = logistic_grid();
        assert_eq!(g.len(), 8);
        let at = |k: usize| (g[k].c, g[k].class_weight, g[k].penalty);
        assert_eq!(at(0), (0.001, ClassWeight::None, Penalty::L2));
        assert_eq!(at(1), (0.001, ClassWeight::None, Penalty::None));
        assert_eq!(at(2), (0.001, ClassWeight::Balanced, Penalty::L2));
        assert_eq!(at(7), (0.1, ClassWeight::Balanced, Penalty::None));
        assert!(g[1].same_fit(&g[5]) && !g[0].same_fit(&g[4]));
    }

    /// 100 rows, 20 of class 1 (every fifth), 2 SNPs: SNP 0 is the signal, in every class-1 row
    /// and, if `noisy`, in the class-0 rows of blocks 0, 1, 4, 5, 8, 9, ... of five rows (40 of
    /// the 80, half of every cross-validation fold); SNP 1 is on in every other block of five,
    /// so as frequent in each class with or without the signal.
    fn imbalanced(noisy: bool) -> (MinorAlleleRows, Vec<usize>, Vec<u8>) {
        let mut values = Vec::new();
        let mut y = Vec::new();
        for i in 0..100usize {
            let label = (i % 5 == 0) as u8;
            let signal = label == 1 || (noisy && (i / 5) % 4 < 2);
            values.extend([signal as u8, ((i / 5) % 2 == 0) as u8]);
            y.push(label);
        }
        let p = PackedHaplotypes::from_rows(&values, 2);
        (MinorAlleleRows::from_packed(&p), (0..100).collect(), y)
    }

    #[test]
    fn grid_search_picks_no_penalty_when_regularisation_hides_the_minority() {
        // The signal is clean: no penalty separates the classes (balanced accuracy 1), while C
        // 0.001 unweighted shrinks the signal's weight far below the intercept's pull and calls
        // everything class 0 (0.5). No penalty unweighted comes first among the best.
        let (x, rows, y) = imbalanced(false);
        let (best, scores) = select_logistic(&x, &rows, &y, 5, &LogisticOptions::default());
        assert_eq!(
            (best.penalty, best.class_weight, best.c),
            (Penalty::None, ClassWeight::None, 0.001),
            "{scores:?}"
        );
        assert!((scores[1] - 1.0).abs() < 1e-12, "{scores:?}");
        assert!((scores[0] - 0.5).abs() < 1e-12, "{scores:?}");
        // C is ignored without a penalty.
        assert_eq!(scores[1], scores[5]);
    }

    #[test]
    fn grid_search_picks_balanced_class_weights_for_a_noisy_minority() {
        // The signal SNP is in all 20 class-1 rows and in 40 of the 80 class-0 rows: unweighted,
        // a row with it is class 0 twice as often as class 1, so every unweighted fit calls
        // every row class 0 (balanced accuracy 0.5); balanced class weights (0.625 and 2.5 on a
        // fold's training part) call the signal rows class 1: recalls 1 and 1/2, 0.75.
        let (x, rows, y) = imbalanced(true);
        let (best, scores) = select_logistic(&x, &rows, &y, 5, &LogisticOptions::default());
        assert_eq!(
            (best.penalty, best.class_weight, best.c),
            (Penalty::L2, ClassWeight::Balanced, 0.001),
            "{scores:?}"
        );
        for (p, s) in logistic_grid().iter().zip(&scores) {
            let expected = match p.class_weight {
                ClassWeight::None => 0.5,
                ClassWeight::Balanced => 0.75,
            };
            assert!((s - expected).abs() < 1e-12, "{p:?}: {s}");
        }
    }
}
