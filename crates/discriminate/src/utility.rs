//! Train-synthetic-test-real: what synthetic haplotypes are worth to someone who trains a model on
//! them. An ancestry classifier (one-vs-rest logistic regression over the groups) is trained on
//! the synthetic haplotypes alone and tested on held-out real ones, beside the same classifier
//! trained on the real training haplotypes. Telling continents apart is easy even for
//! independent SNPs, so each is also scored on the hardest pair of groups (the pair the
//! real-trained pairwise classifier tells apart worst: CHB vs JPT on the 5k data).

use std::collections::BTreeMap;

use artifact::report::{AncestryAccuracy, Utility};
use haplotypes::bits::PackedHaplotypes;
use rayon::prelude::*;

use crate::logistic::{self, LogisticModel, LogisticOptions};
use crate::protocol::Side;
use crate::sparse::MinorAlleleRows;

/// The rows of the three sides in one packed set (training, then held-out, then synthetic),
/// recoded once; `ranges` give each side's rows.
struct Pool {
    x: MinorAlleleRows,
    groups: Vec<usize>,
    training: std::ops::Range<usize>,
    heldout: std::ops::Range<usize>,
    synthetic: std::ops::Range<usize>,
}

impl Pool {
    fn new(training: &Side, heldout: &Side, synthetic: &Side) -> Pool {
        let sides = [training, heldout, synthetic];
        let p0 = &training.packed;
        let n: usize = sides.iter().map(|s| s.packed.n).sum();
        let mut bits = Vec::with_capacity(n * p0.words);
        let mut groups = Vec::with_capacity(n);
        for s in sides {
            bits.extend_from_slice(&s.packed.bits);
            groups.extend_from_slice(&s.groups);
        }
        let packed = PackedHaplotypes {
            n,
            snps: p0.snps,
            words: p0.words,
            bits,
        };
        let (a, b) = (training.packed.n, training.packed.n + heldout.packed.n);
        Pool {
            // The minor-allele recoding is an equivalent parametrisation (see `sparse`), but
            // only up to the optimiser's tolerance: the training rows choose it, so the
            // real-trained accuracy is the same in every report of a run whatever the synthetic.
            x: MinorAlleleRows::from_packed_by(&packed, a),
            groups,
            training: 0..a,
            heldout: a..b,
            synthetic: b..n,
        }
    }

    fn rows_in(&self, range: &std::ops::Range<usize>, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        range.clone().filter(|&i| keep(self.groups[i])).collect()
    }
}

/// One binary model per class in `classes` (class k against the others) on `rows`.
fn one_vs_rest(pool: &Pool, rows: &[usize], classes: &[usize]) -> Vec<LogisticModel> {
    classes
        .par_iter()
        .map(|&k| {
            let y: Vec<u8> = rows.iter().map(|&i| (pool.groups[i] == k) as u8).collect();
            logistic::fit(&pool.x, rows, &y, &LogisticOptions::default())
        })
        .collect()
}

/// The class of `classes` whose model gives row `i` the largest decision value.
fn predict(pool: &Pool, models: &[LogisticModel], classes: &[usize], i: usize) -> usize {
    let row = pool.x.row(i);
    let mut best = (f64::NEG_INFINITY, classes[0]);
    for (m, &k) in models.iter().zip(classes) {
        let d = m.decision(row);
        if d > best.0 {
            best = (d, k);
        }
    }
    best.1
}

/// Accuracy on `test` of the classifier of `classes` trained on `train` (a pair: one model, the
/// second class against the first).
fn accuracy(pool: &Pool, train: &[usize], test: &[usize], classes: &[usize]) -> (f64, Vec<usize>) {
    let predicted: Vec<usize> = if classes.len() == 2 {
        let y: Vec<u8> = train
            .iter()
            .map(|&i| (pool.groups[i] == classes[1]) as u8)
            .collect();
        let model = logistic::fit(&pool.x, train, &y, &LogisticOptions::default());
        test.iter()
            .map(|&i| classes[model.predict(pool.x.row(i)) as usize])
            .collect()
    } else {
        let models = one_vs_rest(pool, train, classes);
        test.iter()
            .map(|&i| predict(pool, &models, classes, i))
            .collect()
    };
    let hits = test
        .iter()
        .zip(&predicted)
        .filter(|(&i, &p)| pool.groups[i] == p)
        .count();
    (hits as f64 / test.len().max(1) as f64, predicted)
}

fn ancestry(
    pool: &Pool,
    train: &std::ops::Range<usize>,
    names: &[String],
    pair: (usize, usize),
) -> AncestryAccuracy {
    let classes: Vec<usize> = (0..names.len()).collect();
    let train_rows = pool.rows_in(train, |_| true);
    let test_rows = pool.rows_in(&pool.heldout, |_| true);
    let (overall, predicted) = accuracy(pool, &train_rows, &test_rows, &classes);
    let per_group = names
        .iter()
        .enumerate()
        .map(|(g, name)| {
            let of_g: Vec<bool> = test_rows
                .iter()
                .zip(&predicted)
                .filter(|(&i, _)| pool.groups[i] == g)
                .map(|(_, &p)| p == g)
                .collect();
            let recall = of_g.iter().filter(|&&h| h).count() as f64 / of_g.len().max(1) as f64;
            (name.clone(), recall)
        })
        .collect::<BTreeMap<_, _>>();
    let in_pair = |g: usize| g == pair.0 || g == pair.1;
    let (hardest_pair, _) = accuracy(
        pool,
        &pool.rows_in(train, in_pair),
        &pool.rows_in(&pool.heldout, in_pair),
        &[pair.0, pair.1],
    );
    AncestryAccuracy {
        accuracy: overall,
        per_group,
        hardest_pair,
    }
}

/// The utility figures, or None with fewer than two groups (no ancestry to classify) or a side
/// that lacks a group.
pub fn measure(
    training: &Side,
    heldout: &Side,
    synthetic: &Side,
    names: &[String],
) -> Option<Utility> {
    if names.len() < 2 {
        return None;
    }
    let pool = Pool::new(training, heldout, synthetic);
    for range in [&pool.training, &pool.heldout, &pool.synthetic] {
        if (0..names.len()).any(|g| !range.clone().any(|i| pool.groups[i] == g)) {
            return None;
        }
    }
    let pairs: Vec<(usize, usize)> = (0..names.len())
        .flat_map(|a| (a + 1..names.len()).map(move |b| (a, b)))
        .collect();
    // The hardest pair as the real-trained classifier sees it; the first on ties.
    let scores: Vec<f64> = pairs
        .par_iter()
        .map(|&(a, b)| {
            let in_pair = |g: usize| g == a || g == b;
            accuracy(
                &pool,
                &pool.rows_in(&pool.training, in_pair),
                &pool.rows_in(&pool.heldout, in_pair),
                &[a, b],
            )
            .0
        })
        .collect();
    let hardest = pairs[scores
        .iter()
        .enumerate()
        .fold(0, |best, (k, &s)| if s < scores[best] { k } else { best })];
    Some(Utility {
        classifier: "one-vs-rest logistic regression (C = 1) on the haplotypes; tested on the held-out real haplotypes".into(),
        hardest_pair: (names[hardest.0].clone(), names[hardest.1].clone()),
        trained_on_synthetic: ancestry(&pool, &pool.synthetic, names, hardest),
        trained_on_real: ancestry(&pool, &pool.training, names, hardest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two groups that differ in the allele frequencies of the first half of the SNPs, a third
    /// that is a near copy of the second (the hard pair).
    fn side(n_per_group: usize, salt: u64) -> Side {
        let m = 60;
        let mut rng = artifact::rng::SeededRng::new(salt);
        let mut flat = Vec::new();
        let mut groups = Vec::new();
        for g in 0..3usize {
            for _ in 0..n_per_group {
                for j in 0..m {
                    let p = match (g, j < m / 2) {
                        (0, true) => 0.8,
                        (0, false) => 0.2,
                        (1, true) => 0.2,
                        (1, false) => 0.2,
                        (_, true) => 0.2,
                        (_, false) => {
                            if j < m / 2 + 6 {
                                0.5
                            } else {
                                0.2
                            }
                        }
                    };
                    flat.push((rng.next_f64() < p) as u8);
                }
                groups.push(g);
            }
        }
        Side {
            packed: PackedHaplotypes::from_rows(&flat, m),
            groups,
        }
    }

    #[test]
    fn real_like_synthetic_is_useful_and_the_hard_pair_is_found() {
        let names: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        let (t, h, s) = (side(80, 1), side(80, 2), side(80, 3));
        let u = measure(&t, &h, &s, &names).expect("three groups");
        assert_eq!(u.hardest_pair, ("B".to_string(), "C".to_string()));
        // Group A is told from the others almost perfectly by either classifier.
        assert!(u.trained_on_real.per_group["A"] > 0.95, "{u:?}");
        assert!(u.trained_on_synthetic.per_group["A"] > 0.95, "{u:?}");
        // Synthetic drawn like the real data is about as useful as the real data.
        let gap = (u.trained_on_real.accuracy - u.trained_on_synthetic.accuracy).abs();
        assert!(gap < 0.1, "{u:?}");
        assert!(u.trained_on_real.hardest_pair < u.trained_on_real.accuracy + 0.2);
    }

    #[test]
    fn synthetic_without_ancestry_signal_is_useless() {
        let names: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        let (t, h) = (side(80, 1), side(80, 2));
        // Synthetic whose group labels are shuffled: no signal to learn.
        let mut s = side(80, 3);
        s.groups.rotate_left(37);
        let u = measure(&t, &h, &s, &names).expect("three groups");
        assert!(
            u.trained_on_synthetic.accuracy < u.trained_on_real.accuracy - 0.2,
            "{u:?}"
        );
        // One group alone: nothing to classify.
        assert!(measure(&t, &h, &s, &names[..1]).is_none());
    }
}
