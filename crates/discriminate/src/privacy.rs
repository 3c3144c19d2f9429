//! What synthetic haplotypes give away of the generator's training haplotypes, measured against
//! held-out real haplotypes the generator never saw.
//!
//! * A distance-to-closest-record (DCR) membership attack: members are the training haplotypes,
//!   non-members the held-out ones, and each is scored by its Hamming distance to the nearest
//!   synthetic haplotype (nearer = more likely a member). Its AUC is 0.5 when the synthetic data
//!   sits as near unseen people as it sits near its training data; a generator that copies
//!   scores near 1.
//! * AATS (Yelmen et al. 2021) against the training set and against the held-out set, and the
//!   privacy loss AATS_heldout - AATS_training.
//! * Copies: the share of synthetic haplotypes identical to a training haplotype beside the
//!   share of held-out real ones that are (what real data shows by chance), and the low
//!   percentiles of the synthetic-to-training distances beside the held-out-to-training ones.
//!
//! Every distance is a popcount Hamming distance on bit-packed rows ([`haplotypes::bits`]).

use std::collections::BTreeMap;

use artifact::report::{DistanceHistogram, DistancePercentiles, Privacy};
use haplotypes::bits::PackedHaplotypes;

use crate::diagnostics::{Histogram, HISTOGRAM_BINS};
use crate::metrics::NearestDistances;
use crate::protocol::{Pooled, Side};

/// A membership AUC above this is flagged in words.
pub const MEMBERSHIP_FLAG: f64 = 0.6;

/// Each row of `queries` to its nearest row of `reference`.
pub fn closest_distances(queries: &PackedHaplotypes, reference: &PackedHaplotypes) -> Vec<u32> {
    crate::metrics::nearest_distances(queries, reference, false)
}

/// AUC of telling `members` from `non_members` by a score where lower means member: the
/// probability that a random member scores below a random non-member, ties counted one half
/// (the Mann-Whitney U statistic over the product of the sizes). Hamming distances tie often, so
/// the ties matter. Counting sort over the integer scores: O(n + largest score).
pub fn membership_auc(members: &[u32], non_members: &[u32]) -> f64 {
    if members.is_empty() || non_members.is_empty() {
        return f64::NAN;
    }
    let top = members
        .iter()
        .chain(non_members)
        .copied()
        .max()
        .unwrap_or(0) as usize;
    let mut non_at = vec![0u64; top + 2];
    for &d in non_members {
        non_at[d as usize] += 1;
    }
    // above[d]: non-members scoring above d.
    let mut above = vec![0u64; top + 2];
    for d in (0..=top).rev() {
        above[d] = above[d + 1] + non_at[d + 1];
    }
    let wins: f64 = members
        .iter()
        .map(|&d| above[d as usize] as f64 + 0.5 * non_at[d as usize] as f64)
        .sum();
    wins / (members.len() as f64 * non_members.len() as f64)
}

/// The q-th quantile (0..=1) with linear interpolation between order statistics (numpy's
/// default), of unsorted `values`.
pub fn quantile(values: &[u32], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let frac = pos - lo as f64;
    v[lo] as f64 + frac * (v[hi] as f64 - v[lo] as f64)
}

fn percentiles(values: &[u32]) -> DistancePercentiles {
    DistancePercentiles {
        p1: quantile(values, 0.01),
        p5: quantile(values, 0.05),
        median: quantile(values, 0.5),
    }
}

fn share_zero(distances: &[u32]) -> f64 {
    distances.iter().filter(|&&d| d == 0).count() as f64 / distances.len().max(1) as f64
}

/// Whether `share` (of `n` synthetic rows) exceeds `rate` (of `m` held-out rows) by more than
/// chance: by over two standard errors of the difference of two proportions (pooled), and by
/// at least one row. A strict `share > rate` would flag a fresh sample of real people half the
/// time when real data has chance copies (0.09 of the held-out rows on the 5k data).
pub fn exceeds_by_more_than_chance(share: f64, n: usize, rate: f64, m: usize) -> bool {
    let (n, m) = (n.max(1) as f64, m.max(1) as f64);
    let pooled = (share * n + rate * m) / (n + m);
    let se = (pooled * (1.0 - pooled) * (1.0 / n + 1.0 / m)).sqrt();
    share - rate > (2.0 * se).max(1.0 / n)
}

/// Rows of `side` in group `g`.
fn group_rows(side: &Side, g: usize) -> Vec<usize> {
    (0..side.packed.n)
        .filter(|&i| side.groups[i] == g)
        .collect()
}

/// AATS of `reference` against `synthetic`, balanced per group as the protocol balances.
fn balanced_aats(reference: &Side, synthetic: &Side, names: &[String], seed: u64) -> f64 {
    let pooled = Pooled::balance(reference, synthetic, names, seed);
    let side = |label: u8| {
        let rows: Vec<usize> = (0..pooled.packed.n)
            .filter(|&i| pooled.labels[i] == label)
            .collect();
        pooled.packed.select(&rows)
    };
    NearestDistances::compute(&side(0), &side(1)).adversarial_accuracy()
}

/// The privacy figures of `synthetic` made from `training`, judged with `heldout`.
/// `aats_heldout` is the comparison's own AATS (held-out against synthetic, balanced by the
/// protocol), so it is not computed twice; `seed` balances the training side the same way.
pub fn measure(
    training: &Side,
    heldout: &Side,
    synthetic: &Side,
    names: &[String],
    aats_heldout: f64,
    seed: u64,
) -> Privacy {
    let synthetic_to_training = closest_distances(&synthetic.packed, &training.packed);
    let heldout_to_training = closest_distances(&heldout.packed, &training.packed);
    let member_scores = closest_distances(&training.packed, &synthetic.packed);
    let non_member_scores = closest_distances(&heldout.packed, &synthetic.packed);
    let membership = membership_auc(&member_scores, &non_member_scores);
    let mut per_group = BTreeMap::new();
    for (g, name) in names.iter().enumerate() {
        let pick = |scores: &[u32], side: &Side| -> Vec<u32> {
            group_rows(side, g).iter().map(|&i| scores[i]).collect()
        };
        let auc = membership_auc(
            &pick(&member_scores, training),
            &pick(&non_member_scores, heldout),
        );
        per_group.insert(name.clone(), auc);
    }
    let aats_training = balanced_aats(training, synthetic, names, seed);
    let identical = share_zero(&synthetic_to_training);
    let heldout_identical = share_zero(&heldout_to_training);
    let mut flags = Vec::new();
    if membership > MEMBERSHIP_FLAG {
        flags.push(format!(
            "membership AUC {membership:.3} > {MEMBERSHIP_FLAG}: training haplotypes sit nearer the synthetic ones than held-out haplotypes do; the generator memorises its training data"
        ));
    }
    if exceeds_by_more_than_chance(
        identical,
        synthetic.packed.n,
        heldout_identical,
        heldout.packed.n,
    ) {
        flags.push(format!(
            "{:.1}% of the synthetic haplotypes are identical to a training haplotype, more than the {:.1}% of held-out real haplotypes that are: copies",
            100.0 * identical,
            100.0 * heldout_identical
        ));
    }
    let h = Histogram::of(
        &[
            ("synthetic_to_training", &synthetic_to_training),
            ("heldout_to_training", &heldout_to_training),
        ],
        HISTOGRAM_BINS,
    );
    let mut series = h.series.into_iter().map(|s| s.counts);
    let dcr_histogram = DistanceHistogram {
        start: h.start,
        bin_width: h.bin_width,
        synthetic_to_training: series.next().expect("two series"),
        heldout_to_training: series.next().expect("two series"),
    };
    Privacy {
        members: training.packed.n,
        non_members: heldout.packed.n,
        aats_training,
        aats_heldout,
        privacy_loss: aats_heldout - aats_training,
        identical_to_training: identical,
        heldout_identical_to_training: heldout_identical,
        membership_auc: membership,
        membership_auc_per_group: per_group,
        synthetic_to_training: percentiles(&synthetic_to_training),
        heldout_to_training: percentiles(&heldout_to_training),
        dcr_histogram,
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_one_half() {
        // Every member below every non-member: 1; the reverse: 0; all tied: 0.5.
        assert_eq!(membership_auc(&[0, 1, 2], &[3, 4]), 1.0);
        assert_eq!(membership_auc(&[5, 6], &[1, 2]), 0.0);
        assert_eq!(membership_auc(&[3, 3], &[3, 3, 3]), 0.5);
        // By hand: pairs (1,1) tie, (1,2) win, (3,1) loss, (3,2) loss -> 1.5 / 4.
        assert_eq!(membership_auc(&[1, 3], &[1, 2]), 0.375);
        // Brute force on a larger set with many ties.
        let m: Vec<u32> = (0..50).map(|i| (i * 7 % 11) as u32).collect();
        let n: Vec<u32> = (0..40).map(|i| (i * 5 % 13) as u32).collect();
        let mut wins = 0.0;
        for &a in &m {
            for &b in &n {
                wins += if a < b {
                    1.0
                } else if a == b {
                    0.5
                } else {
                    0.0
                };
            }
        }
        let want = wins / (m.len() * n.len()) as f64;
        assert!((membership_auc(&m, &n) - want).abs() < 1e-12);
        assert!(membership_auc(&[], &[1]).is_nan());
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [10, 0, 20, 30];
        assert_eq!(quantile(&v, 0.0), 0.0);
        assert_eq!(quantile(&v, 1.0), 30.0);
        assert_eq!(quantile(&v, 0.5), 15.0);
        // numpy.percentile([0, 10, 20, 30], 5) = 1.5
        assert!((quantile(&v, 0.05) - 1.5).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn copy_excess_needs_more_than_chance() {
        // 100% copies against a 9% chance rate: flagged.
        assert!(exceeds_by_more_than_chance(1.0, 700, 0.09, 700));
        // 10% against 9% on 700 rows each: within chance.
        assert!(!exceeds_by_more_than_chance(0.10, 700, 0.09, 700));
        // Nothing identical on either side: nothing flagged.
        assert!(!exceeds_by_more_than_chance(0.0, 700, 0.0, 700));
        // One copy among 10 when real shows none: a single row is not flagged.
        assert!(
            !exceeds_by_more_than_chance(0.1, 10, 0.0, 10)
                || 0.1 > 2.0 * (0.05f64 * 0.95 * 0.2).sqrt()
        );
    }

    fn side(rows: &[Vec<u8>], m: usize) -> Side {
        let flat: Vec<u8> = rows.iter().flatten().copied().collect();
        Side {
            packed: PackedHaplotypes::from_rows(&flat, m),
            groups: vec![0; rows.len()],
        }
    }

    /// Deterministic pseudo-random 0/1 rows.
    fn rows(n: usize, m: usize, salt: u64) -> Vec<Vec<u8>> {
        let mut rng = artifact::rng::SeededRng::new(salt);
        (0..n)
            .map(|_| (0..m).map(|_| (rng.next_f64() < 0.3) as u8).collect())
            .collect()
    }

    #[test]
    fn copies_leak_and_strangers_do_not() {
        let m = 200;
        let names = vec!["G".to_string()];
        let training = rows(120, m, 1);
        let heldout = rows(120, m, 2);
        let strangers = rows(120, m, 3);
        let (t, h) = (side(&training, m), side(&heldout, m));
        // Copies of the training rows: every member at distance 0, every non-member farther.
        let copy = measure(&t, &h, &side(&training, m), &names, 0.0, 1);
        assert_eq!(copy.membership_auc, 1.0);
        assert_eq!(copy.identical_to_training, 1.0);
        assert_eq!(copy.heldout_identical_to_training, 0.0);
        assert_eq!(copy.synthetic_to_training.p1, 0.0);
        assert_eq!(copy.flags.len(), 2, "{:?}", copy.flags);
        assert_eq!(copy.aats_training, 0.0);
        // A third, disjoint set drawn like the others: no leak, nothing flagged.
        let fresh = measure(&t, &h, &side(&strangers, m), &names, 0.5, 1);
        assert!(
            (fresh.membership_auc - 0.5).abs() < 0.1,
            "{}",
            fresh.membership_auc
        );
        assert_eq!(fresh.identical_to_training, 0.0);
        assert!(fresh.flags.is_empty(), "{:?}", fresh.flags);
        assert_eq!(fresh.members, 120);
        assert_eq!(fresh.membership_auc_per_group["G"], fresh.membership_auc);
        assert!(fresh.synthetic_to_training.p5 > 0.0);
    }
}
