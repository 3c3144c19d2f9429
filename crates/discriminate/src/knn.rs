//! k-nearest-neighbour classification over bit-packed haplotypes, with the authors' grid chosen
//! by stratified 5-fold cross-validation on the training part (scikit-learn's GridSearchCV with
//! `scoring="balanced_accuracy"`).
//!
//! One Hamming computation serves the whole grid: for 0/1 rows the Minkowski distance with p = 1
//! is the Hamming distance h and with p = 2 it is sqrt(h), so the neighbour order is the same and
//! only the distance weights differ. Each query's 10 nearest (the grid's largest k) are found
//! once per fold and every grid point is scored from them.

use haplotypes::bits::{nearest, PackedHaplotypes};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    Uniform,
    Distance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KnnParams {
    pub n_neighbours: usize,
    pub weights: Weights,
    /// Minkowski exponent: 1 (Hamming) or 2 (Euclidean).
    pub p: u8,
}

/// The grid in scikit-learn's ParameterGrid order (keys sorted: n_neighbors, p, weights; the
/// last varies fastest), so that ties between grid points resolve to the same choice.
pub fn grid() -> Vec<KnnParams> {
    let mut out = Vec::new();
    for k in [2, 4, 10] {
        for p in [1, 2] {
            for weights in [Weights::Uniform, Weights::Distance] {
                out.push(KnnParams {
                    n_neighbours: k,
                    weights,
                    p,
                });
            }
        }
    }
    out
}

pub const MAX_NEIGHBOURS: usize = 10;

/// Predicted class from a query's neighbours (nearest first) and the reference labels.
/// Ties go to class 0, as numpy's argmax does.
pub fn vote(neighbours: &[(u32, usize)], labels: &[u8], params: KnnParams) -> u8 {
    let near = &neighbours[..params.n_neighbours.min(neighbours.len())];
    let mut score = [0.0f64; 2];
    match params.weights {
        Weights::Uniform => {
            for &(_, r) in near {
                score[labels[r] as usize] += 1.0;
            }
        }
        Weights::Distance => {
            // scikit-learn: if any neighbour is at distance 0, only those vote (weight 1).
            if near.iter().any(|&(d, _)| d == 0) {
                for &(_, r) in near.iter().filter(|&&(d, _)| d == 0) {
                    score[labels[r] as usize] += 1.0;
                }
            } else {
                for &(d, r) in near {
                    let dist = if params.p == 1 {
                        d as f64
                    } else {
                        (d as f64).sqrt()
                    };
                    score[labels[r] as usize] += 1.0 / dist;
                }
            }
        }
    }
    (score[1] > score[0]) as u8
}

/// Mean recall over the two classes (a class absent from `truth` is left out).
pub fn balanced_accuracy(truth: &[u8], predicted: &[u8]) -> f64 {
    let mut hit = [0usize; 2];
    let mut total = [0usize; 2];
    for (&t, &p) in truth.iter().zip(predicted) {
        total[t as usize] += 1;
        hit[t as usize] += (t == p) as usize;
    }
    let recalls: Vec<f64> = (0..2)
        .filter(|&c| total[c] > 0)
        .map(|c| hit[c] as f64 / total[c] as f64)
        .collect();
    recalls.iter().sum::<f64>() / recalls.len().max(1) as f64
}

/// scikit-learn's StratifiedKFold without shuffling: each class's rows, in order, are cut into
/// `folds` contiguous chunks (the first `n % folds` one longer); fold f tests chunk f of every
/// class. Returns the positions (into `labels`) of each fold's test part.
pub fn stratified_folds(labels: &[u8], folds: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); folds];
    for class in 0..2u8 {
        let idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        let (base, extra) = (idx.len() / folds, idx.len() % folds);
        let mut start = 0;
        for (f, fold) in out.iter_mut().enumerate() {
            let len = base + (f < extra) as usize;
            fold.extend_from_slice(&idx[start..start + len]);
            start += len;
        }
    }
    for f in out.iter_mut() {
        f.sort_unstable();
    }
    out
}

/// The grid point with the best mean cross-validated balanced accuracy (first on ties), and
/// every grid point's mean score.
pub fn select(
    packed: &PackedHaplotypes,
    rows: &[usize],
    labels: &[u8],
    folds: usize,
) -> (KnnParams, Vec<f64>) {
    let grid = grid();
    let mut scores = vec![0.0; grid.len()];
    for test in stratified_folds(labels, folds) {
        let mut is_test = vec![false; rows.len()];
        test.iter().for_each(|&t| is_test[t] = true);
        let train: Vec<usize> = (0..rows.len()).filter(|&i| !is_test[i]).collect();
        let reference = packed.select(&train.iter().map(|&i| rows[i]).collect::<Vec<_>>());
        let queries = packed.select(&test.iter().map(|&i| rows[i]).collect::<Vec<_>>());
        let ref_labels: Vec<u8> = train.iter().map(|&i| labels[i]).collect();
        let truth: Vec<u8> = test.iter().map(|&i| labels[i]).collect();
        let nn = nearest(&queries, &reference, MAX_NEIGHBOURS, false);
        for (s, &params) in scores.iter_mut().zip(&grid) {
            let predicted: Vec<u8> = nn.iter().map(|l| vote(l, &ref_labels, params)).collect();
            *s += balanced_accuracy(&truth, &predicted) / folds as f64;
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

/// Predict `test` rows from `train` rows with `params`.
pub fn predict(
    packed: &PackedHaplotypes,
    train: &[usize],
    train_labels: &[u8],
    test: &[usize],
    params: KnnParams,
) -> Vec<u8> {
    let reference = packed.select(train);
    let queries = packed.select(test);
    nearest(&queries, &reference, params.n_neighbours, false)
        .iter()
        .map(|l| vote(l, train_labels, params))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_in_scikit_learn_order() {
        let g = grid();
        assert_eq!(g.len(), 12);
        assert_eq!(
            (g[0].n_neighbours, g[0].p, g[0].weights),
            (2, 1, Weights::Uniform)
        );
        assert_eq!(
            (g[1].n_neighbours, g[1].p, g[1].weights),
            (2, 1, Weights::Distance)
        );
        assert_eq!(
            (g[2].n_neighbours, g[2].p, g[2].weights),
            (2, 2, Weights::Uniform)
        );
        assert_eq!(
            (g[11].n_neighbours, g[11].p, g[11].weights),
            (10, 2, Weights::Distance)
        );
    }

    #[test]
    fn votes_follow_scikit_learn_rules() {
        let labels = [0, 1, 1, 0];
        let uni = |k| KnnParams {
            n_neighbours: k,
            weights: Weights::Uniform,
            p: 1,
        };
        let dist = |p| KnnParams {
            n_neighbours: 3,
            weights: Weights::Distance,
            p,
        };
        // Uniform tie 1:1 goes to class 0.
        assert_eq!(vote(&[(1, 0), (2, 1)], &labels, uni(2)), 0);
        assert_eq!(vote(&[(1, 1), (2, 2), (3, 0)], &labels, uni(3)), 1);
        // Distance weights: 1/1 for class 0 against 1/4 + 1/4 for class 1 (p = 1) ...
        assert_eq!(vote(&[(1, 0), (4, 1), (4, 2)], &labels, dist(1)), 0);
        // ... and 1/1 against 1/2 + 1/2 (p = 2, sqrt): a tie, so class 0; with 3.9 class 1 wins.
        assert_eq!(vote(&[(1, 0), (4, 1), (4, 2)], &labels, dist(2)), 0);
        assert_eq!(vote(&[(1, 3), (3, 1), (3, 2)], &labels, dist(2)), 1);
        // A neighbour at distance 0 outvotes everything else.
        assert_eq!(vote(&[(0, 0), (1, 1), (1, 2)], &labels, dist(1)), 0);
    }

    #[test]
    fn folds_are_stratified_and_cover_every_row_once() {
        let labels: Vec<u8> = (0..23).map(|i| (i % 3 == 0) as u8).collect();
        let folds = stratified_folds(&labels, 5);
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..23).collect::<Vec<_>>());
        for f in &folds {
            let ones = f.iter().filter(|&&i| labels[i] == 1).count();
            assert!((1..=2).contains(&ones), "{f:?}");
        }
        assert_eq!(balanced_accuracy(&[0, 0, 1, 1], &[0, 1, 1, 1]), 0.75);
    }

    #[test]
    fn cross_validation_prefers_the_setting_that_generalises() {
        // Class 1 rows are copies of a few templates with one bit changed; class 0 rows are
        // scattered. Neighbours of a class-1 row are mostly class 1, and k = 2 with distance
        // weights classifies nearly everything right.
        let m = 64;
        let mut values = Vec::new();
        let mut labels = Vec::new();
        for i in 0..60usize {
            let class = (i % 2) as u8;
            for j in 0..m {
                let bit = if class == 1 {
                    ((j / 8) % 2 == (i / 2) % 2) as usize ^ (j == i % m) as usize
                } else {
                    ((i * 31 + j * 17 + i * j) % 7 < 3) as usize
                };
                values.push(bit as u8);
            }
            labels.push(class);
        }
        let p = PackedHaplotypes::from_rows(&values, m);
        let rows: Vec<usize> = (0..60).collect();
        let (best, scores) = select(&p, &rows, &labels, 5);
        assert_eq!(scores.len(), 12);
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
        let best_score = scores.iter().cloned().fold(0.0, f64::max);
        assert!(best_score > 0.9, "{scores:?}");
        assert_eq!(
            scores[grid().iter().position(|g| *g == best).unwrap()],
            best_score
        );
    }
}
