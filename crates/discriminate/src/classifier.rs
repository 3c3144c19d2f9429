//! The classifiers of the protocols behind one trait: each is fitted on a split's training rows
//! and predicts its test rows, and says what it chose or ran (a typed [`Detail`], written to
//! report.json as each classifier's `per_split` entries).
//!
//! The strict protocol runs [`Logistic`], [`Knn`] and [`Mlp`] (with early stopping on a
//! validation part); the paper protocol ([`crate::paper`]) runs the authors' logistic grid, the
//! same KNN grid and the MLP as scikit-learn's defaults.

use haplotypes::bits::PackedHaplotypes;
use serde::Serialize;

use crate::knn::{self, Weights};
use crate::logistic::{self, ClassWeight, LogisticOptions, Penalty};
use crate::mlp::{self, MlpOptions, Stop};
use crate::sparse::MinorAlleleRows;

/// The pooled rows in both forms the classifiers read.
pub struct FitData<'a> {
    /// Bit-packed rows, for KNN's popcount Hamming distances.
    pub packed: &'a PackedHaplotypes,
    /// The same rows as minor-allele lists, for the logistic regression and the MLP.
    pub sparse: &'a MinorAlleleRows,
}

impl FitData<'_> {
    /// The class a fitted model on minor-allele rows (logistic regression, MLP) gives each row
    /// of `test`.
    pub fn predict_sparse(&self, test: &[usize], predict: impl Fn(&[u32]) -> u8) -> Vec<u8> {
        test.iter().map(|&i| predict(self.sparse.row(i))).collect()
    }
}

/// The best cross-validated score of a grid search: what `cv_balanced_accuracy` reports.
pub fn best_cv_score(scores: &[f64]) -> f64 {
    scores.iter().cloned().fold(f64::MIN, f64::max)
}

/// What one fit chose or ran. Serialised without a tag: each variant's fields are the keys of
/// its `per_split` entry (for the strict protocol the keys report.json has always had).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Detail {
    Logistic(LogisticDetail),
    LogisticGrid(LogisticGridDetail),
    Knn(KnnDetail),
    Mlp(MlpDetail),
    MlpTrainingLoss(MlpTrainingLossDetail),
}

#[derive(Debug, Clone, Serialize)]
pub struct LogisticDetail {
    pub iterations: usize,
    pub converged: bool,
}

/// The grid point chosen by cross-validation, then the refit on the whole training part.
#[derive(Debug, Clone, Serialize)]
pub struct LogisticGridDetail {
    pub penalty: Penalty,
    /// As chosen (ignored by the fit without a penalty).
    pub c: f64,
    pub class_weight: ClassWeight,
    pub cv_balanced_accuracy: f64,
    pub iterations: usize,
    pub converged: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct KnnDetail {
    pub n_neighbours: usize,
    pub weights: Weights,
    pub p: u8,
    pub cv_balanced_accuracy: f64,
}

/// Early stopping on a validation part: the epochs run and the epoch whose weights were kept.
#[derive(Debug, Clone, Serialize)]
pub struct MlpDetail {
    pub epochs: usize,
    pub best_epoch: usize,
    /// null if no epoch ran.
    pub validation_accuracy: f64,
}

/// scikit-learn's stop on the training loss: the last epoch's weights are kept.
#[derive(Debug, Clone, Serialize)]
pub struct MlpTrainingLossDetail {
    pub epochs: usize,
    /// The epoch whose weights were kept: the last one.
    pub best_epoch: usize,
    pub training_loss: f64,
    /// The loss stalled before `max_epochs` (scikit-learn warns "did not converge" otherwise).
    pub stopped_early: bool,
}

/// One fit's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Predicted label (0 real, 1 synthetic) of each test row, in order.
    pub predictions: Vec<u8>,
    pub detail: Detail,
    /// The logistic model's weight per SNP (of the minor-allele coding), for the diagnostics.
    pub logistic_weights: Option<Vec<f64>>,
}

pub trait Classifier: Sync {
    /// The name in the report (`LR`, `KNN`, `MLP`).
    fn name(&self) -> &str;

    /// Fit on rows `train` (labels `y`, one per row) of `data` and predict rows `test`; `seed`
    /// for whatever the fit draws.
    fn fit_predict(
        &self,
        data: &FitData,
        train: &[usize],
        y: &[u8],
        test: &[usize],
        seed: u64,
    ) -> Outcome;
}

/// Logistic regression with fixed settings (the strict protocol: scikit-learn's defaults).
pub struct Logistic {
    pub opts: LogisticOptions,
}

impl Classifier for Logistic {
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
        let model = logistic::fit(data.sparse, train, y, &self.opts);
        Outcome {
            predictions: data.predict_sparse(test, |row| model.predict(row)),
            detail: Detail::Logistic(LogisticDetail {
                iterations: model.iterations,
                converged: model.converged,
            }),
            logistic_weights: Some(model.weights),
        }
    }
}

/// KNN with the authors' grid chosen by stratified cross-validation ([`knn::select`]).
pub struct Knn {
    pub folds: usize,
}

impl Classifier for Knn {
    fn name(&self) -> &str {
        "KNN"
    }

    fn fit_predict(
        &self,
        data: &FitData,
        train: &[usize],
        y: &[u8],
        test: &[usize],
        _: u64,
    ) -> Outcome {
        let (best, scores) = knn::select(data.packed, train, y, self.folds);
        Outcome {
            predictions: knn::predict(data.packed, train, y, test, best),
            detail: Detail::Knn(KnnDetail {
                n_neighbours: best.n_neighbours,
                weights: best.weights,
                p: best.p,
                cv_balanced_accuracy: best_cv_score(&scores),
            }),
            logistic_weights: None,
        }
    }
}

/// The one-hidden-layer perceptron of [`mlp`], stopping as `opts.stop` says.
pub struct Mlp {
    pub opts: MlpOptions,
}

impl Classifier for Mlp {
    fn name(&self) -> &str {
        "MLP"
    }

    fn fit_predict(
        &self,
        data: &FitData,
        train: &[usize],
        y: &[u8],
        test: &[usize],
        seed: u64,
    ) -> Outcome {
        let model = mlp::fit(data.sparse, train, y, &self.opts, seed);
        let detail = match self.opts.stop {
            Stop::Validation => Detail::Mlp(MlpDetail {
                epochs: model.epochs,
                best_epoch: model.best_epoch,
                validation_accuracy: model.best_validation_accuracy,
            }),
            Stop::TrainingLoss => Detail::MlpTrainingLoss(MlpTrainingLossDetail {
                epochs: model.epochs,
                best_epoch: model.best_epoch,
                training_loss: model.loss_curve.last().copied().unwrap_or(f64::NAN),
                stopped_early: model.stopped_early,
            }),
        };
        Outcome {
            predictions: data.predict_sparse(test, |row| model.predict(row)),
            detail,
            logistic_weights: None,
        }
    }
}

/// The strict protocol's classifiers, in report order.
pub fn strict(
    logistic: LogisticOptions,
    cv_folds: usize,
    mlp: MlpOptions,
) -> Vec<Box<dyn Classifier>> {
    vec![
        Box::new(Logistic { opts: logistic }),
        Box::new(Knn { folds: cv_folds }),
        Box::new(Mlp { opts: mlp }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_serialise_as_flat_objects_with_the_report_keys() {
        let keys = |d: Detail| -> Vec<String> {
            let v = serde_json::to_value(d).unwrap();
            v.as_object().unwrap().keys().cloned().collect()
        };
        let mut lr = keys(Detail::Logistic(LogisticDetail {
            iterations: 3,
            converged: true,
        }));
        lr.sort();
        assert_eq!(lr, ["converged", "iterations"]);
        let mut k = keys(Detail::Knn(KnnDetail {
            n_neighbours: 4,
            weights: Weights::Distance,
            p: 1,
            cv_balanced_accuracy: 0.5,
        }));
        k.sort();
        assert_eq!(k, ["cv_balanced_accuracy", "n_neighbours", "p", "weights"]);
        let v = serde_json::to_value(Detail::Mlp(MlpDetail {
            epochs: 12,
            best_epoch: 7,
            validation_accuracy: f64::NEG_INFINITY,
        }))
        .unwrap();
        // As serde_json::json! wrote it: a non-finite accuracy is null.
        assert_eq!(
            v,
            serde_json::json!({"epochs": 12, "best_epoch": 7, "validation_accuracy": null})
        );
    }
}
