//! A variable-order Markov chain along the SNPs: each allele drawn given the alleles before it,
//! at the frequency with which the training haplotypes that share that context continue it,
//! smoothed toward shorter contexts. It uses the training haplotypes only through the counts of
//! their patterns (how many share a context, how many of those carry allele 1 next), so it is
//! also what a table of pattern counts determines; `min_count` keeps every draw a pooled
//! continuation of at least that many haplotypes, so no single one is replayed.
//!
//! Smoothing (interpolated, Dirichlet prior of weight a = `pseudocount` toward the next-shorter
//! context): p_0(1) = the allele frequency; for each longer context c_o (the o alleles just
//! before the SNP) matched by fewer haplotypes than the one before,
//! p_o(1 | c_o) = (n(c_o, 1) + a p_shorter) / (n(c_o) + a).

use artifact::rng::{derive_seed, SeededRng};
use rayon::prelude::*;

/// The chain's settings (gmmn-reference's --order, --min-count, --pseudocount).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkovOptions {
    /// The longest context, in SNPs.
    pub order: usize,
    /// Contexts shared by fewer training haplotypes are not used.
    pub min_count: usize,
    /// Weight of the shorter context's estimate at each longer one.
    pub pseudocount: f64,
}

/// A variable-order chain sampled straight from the training haplotypes: at each SNP the
/// context is as long as at least `min_count` training haplotypes share it (at most `order`
/// SNPs), and the continuation is smoothed level by level toward shorter contexts, counting a
/// level only where the set of matching haplotypes shrinks (a longer context matched by the
/// same haplotypes carries no new data; counting it again would push the chain toward copying).
/// Every draw is then a pooled continuation of at least `min_count` haplotypes.
///
/// Cost: O(n + order) per SNP and synthetic haplotype, from each training haplotype's current
/// match length with the haplotype being drawn.
pub fn sample_variable_order(
    training: &[u8],
    n: usize,
    m: usize,
    n_out: usize,
    opts: &MarkovOptions,
    seed: u64,
) -> Vec<u8> {
    let MarkovOptions {
        order,
        min_count,
        pseudocount,
    } = *opts;
    // Column-major copy so that one SNP's alleles over the training haplotypes are contiguous.
    let mut columns = vec![0u8; n * m];
    for (i, row) in training.chunks_exact(m).take(n).enumerate() {
        for (j, &x) in row.iter().enumerate() {
            columns[j * n + i] = x;
        }
    }
    let min_count = min_count.max(1);
    let mut values = vec![0u8; n_out * m];
    values.par_chunks_mut(m).enumerate().for_each(|(h, row)| {
        let mut rng = SeededRng::new(derive_seed(seed, h as u64));
        let mut matched = vec![0usize; n];
        let mut total = vec![0usize; order + 2];
        let mut ones = vec![0usize; order + 2];
        for (j, x) in row.iter_mut().enumerate() {
            let column = &columns[j * n..(j + 1) * n];
            total.iter_mut().for_each(|c| *c = 0);
            ones.iter_mut().for_each(|c| *c = 0);
            for (&l, &a) in matched.iter().zip(column) {
                let l = l.min(order);
                total[l] += 1;
                ones[l] += a as usize;
            }
            // Suffix sums: total[o] = haplotypes matching at least the last o alleles.
            for o in (0..=order).rev() {
                total[o] += total[o + 1];
                ones[o] += ones[o + 1];
            }
            let mut p = ones[0] as f64 / total[0] as f64;
            let mut previous = total[0];
            for o in 1..=order {
                let (n_o, n1) = (total[o], ones[o]);
                if n_o < min_count {
                    break;
                }
                if n_o == previous {
                    continue;
                }
                p = (n1 as f64 + pseudocount * p) / (n_o as f64 + pseudocount);
                previous = n_o;
            }
            *x = (rng.next_f64() < p) as u8;
            for (l, &a) in matched.iter_mut().zip(column) {
                *l = if a == *x { *l + 1 } else { 0 };
            }
        }
    });
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alternating(n: usize, m: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| (0..m).map(move |j| ((i + j) % 2) as u8))
            .collect()
    }

    #[test]
    fn unsmoothed_chain_follows_the_training_continuations() {
        // Two patterns, 0101... and 1010..., in equal numbers: with a context of 1 SNP or more
        // and no smoothing every sampled haplotype is one of the two; the allele frequency
        // alone (order 0) would mix them.
        let (n, m) = (10, 12);
        let training = alternating(n, m);
        let out = sample_variable_order(
            &training,
            n,
            m,
            200,
            &MarkovOptions {
                order: 3,
                min_count: 1,
                pseudocount: 0.0,
            },
            5,
        );
        let mut first = [0usize; 2];
        for row in out.chunks_exact(m) {
            first[row[0] as usize] += 1;
            assert!(row.windows(2).all(|w| w[0] != w[1]), "{row:?}");
        }
        assert!(first[0] > 60 && first[1] > 60, "{first:?}");
        // A minimum count above the group size leaves only the allele frequencies: about half
        // of the neighbouring pairs differ.
        let out = sample_variable_order(
            &training,
            n,
            m,
            200,
            &MarkovOptions {
                order: 3,
                min_count: n + 1,
                pseudocount: 0.0,
            },
            5,
        );
        let differ = out
            .chunks_exact(m)
            .flat_map(|r| r.windows(2).map(|w| (w[0] != w[1]) as usize))
            .sum::<usize>() as f64
            / (200 * (m - 1)) as f64;
        assert!((differ - 0.5).abs() < 0.05, "{differ}");
    }

    #[test]
    fn smoothing_pulls_a_rare_context_toward_the_shorter_one() {
        // SNP 1 after SNP 0: nine haplotypes 00, one 11. Drawing 1 at SNP 0 (the rare context),
        // order 1 with pseudocount 1 gives p(1) = (1 + 1 * 0.1) / (1 + 1) = 0.55 at SNP 1.
        let (n, m) = (10, 2);
        let mut training = vec![0u8; n * m];
        training[18] = 1;
        training[19] = 1;
        let out = sample_variable_order(
            &training,
            n,
            m,
            40_000,
            &MarkovOptions {
                order: 1,
                min_count: 1,
                pseudocount: 1.0,
            },
            3,
        );
        let (mut ctx1, mut ones) = (0usize, 0usize);
        for row in out.chunks_exact(m) {
            if row[0] == 1 {
                ctx1 += 1;
                ones += row[1] as usize;
            }
        }
        let p = ones as f64 / ctx1 as f64;
        assert!(ctx1 > 3_000, "{ctx1}");
        assert!((p - 0.55).abs() < 0.03, "{p} from {ctx1}");
    }

    #[test]
    fn same_seed_same_haplotypes() {
        let (n, m) = (12, 40);
        let mut rng = SeededRng::new(1);
        let training: Vec<u8> = (0..n * m).map(|_| (rng.next_f64() < 0.4) as u8).collect();
        let draw = |seed| {
            sample_variable_order(
                &training,
                n,
                m,
                20,
                &MarkovOptions {
                    order: 8,
                    min_count: 2,
                    pseudocount: 0.5,
                },
                seed,
            )
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9), draw(10));
    }
}
