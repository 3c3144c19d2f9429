//! A simplification of Li and Stephens (2003): each synthetic haplotype is a sequence of
//! segments copied from training haplotypes. Segment lengths are geometric in SNPs (mean `L`:
//! after each SNP the copy switches with probability 1/L), each segment's source drawn uniformly
//! among the group's training haplotypes; then each allele is flipped with probability `flip`.
//! There is no recombination map and no mutation model: it copies, so it is a yardstick of
//! realism bought with privacy (long segments are near-copies of training haplotypes).

use artifact::rng::{derive_seed, SeededRng};
use rayon::prelude::*;

/// Length of one segment: geometric on 1, 2, ... with mean `segment` (>= 1), by inversion of a
/// uniform draw. libm's log so that the lengths are the same on every platform.
fn segment_length(rng: &mut SeededRng, segment: f64, cap: usize) -> usize {
    let q = 1.0 / segment;
    if q >= 1.0 {
        return 1;
    }
    // P(len > k) = (1 - q)^k, so len = 1 + floor(ln u / ln(1 - q)) for u uniform in (0, 1).
    let extra = libm::log(rng.next_f64()) / libm::log1p(-q);
    if extra >= cap as f64 {
        cap
    } else {
        1 + extra as usize
    }
}

/// `n_out` haplotypes (n_out x m, row-major) copied in segments of mean length `segment` SNPs
/// from the `n` rows of `training`, alleles flipped with probability `flip`. Haplotype h has
/// its own stream `derive_seed(seed, h)`, so the output does not depend on the threads.
pub fn simulate(
    training: &[u8],
    n: usize,
    m: usize,
    n_out: usize,
    segment: f64,
    flip: f64,
    seed: u64,
) -> Vec<u8> {
    let mut values = vec![0u8; n_out * m];
    values.par_chunks_mut(m).enumerate().for_each(|(h, row)| {
        let mut rng = SeededRng::new(derive_seed(seed, h as u64));
        let mut j = 0;
        while j < m {
            let src = rng.below(n as u64) as usize;
            let end = j + segment_length(&mut rng, segment, m - j);
            row[j..end].copy_from_slice(&training[src * m + j..src * m + end]);
            j = end;
        }
        // No draws at all without flips, so that --flip 0 is exactly the plain mosaic.
        if flip > 0.0 {
            for x in row.iter_mut() {
                if rng.next_f64() < flip {
                    *x ^= 1;
                }
            }
        }
    });
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn training(n: usize, m: usize, seed: u64) -> Vec<u8> {
        let mut rng = SeededRng::new(seed);
        (0..n * m).map(|_| (rng.next_f64() < 0.3) as u8).collect()
    }

    #[test]
    fn segment_lengths_have_the_requested_mean() {
        let mut rng = SeededRng::new(3);
        let draws = 100_000;
        let total: usize = (0..draws)
            .map(|_| segment_length(&mut rng, 20.0, usize::MAX))
            .sum();
        let mean = total as f64 / draws as f64;
        // sd of a geometric with mean 20 is about 19.5: 5 standard errors is 0.31.
        assert!((mean - 20.0).abs() < 0.31, "mean {mean}");
        assert_eq!(segment_length(&mut rng, 1.0, 10), 1);
        assert_eq!(segment_length(&mut rng, 1e15, 7), 7);
    }

    #[test]
    fn huge_segments_copy_whole_training_haplotypes() {
        let (n, m) = (12, 60);
        let t = training(n, m, 1);
        let out = simulate(&t, n, m, 40, 1e12, 0.0, 5);
        let rows: Vec<&[u8]> = t.chunks(m).collect();
        for (h, r) in out.chunks(m).enumerate() {
            assert!(rows.contains(&r), "output {h} is not a training row");
        }
        // And they are not all the same row.
        let distinct: std::collections::BTreeSet<&[u8]> = out.chunks(m).collect();
        assert!(distinct.len() > 3, "{} distinct rows", distinct.len());
    }

    #[test]
    fn without_flips_every_allele_is_seen_at_its_snp_in_training() {
        let (n, m) = (10, 80);
        let mut t = training(n, m, 2);
        // SNPs 0..10 monomorphic: 0 for even, 1 for odd ones.
        for i in 0..n {
            for j in 0..10 {
                t[i * m + j] = (j % 2) as u8;
            }
        }
        let out = simulate(&t, n, m, 200, 3.0, 0.0, 9);
        for j in 0..m {
            let seen: Vec<u8> = (0..n).map(|i| t[i * m + j]).collect();
            for h in 0..200 {
                assert!(seen.contains(&out[h * m + j]), "haplotype {h} SNP {j}");
            }
        }
        // Short segments mix sources: some output rows are not training rows.
        let rows: Vec<&[u8]> = t.chunks(m).collect();
        assert!(out.chunks(m).any(|r| !rows.contains(&r)));
    }

    #[test]
    fn flips_change_the_expected_share_of_alleles() {
        let (n, m) = (6, 100);
        let t = training(n, m, 4);
        let plain = simulate(&t, n, m, 100, 1e12, 0.0, 11);
        let flipped = simulate(&t, n, m, 100, 1e12, 0.1, 11);
        // The same seed copies the same segments (flips are drawn after the copy).
        let differ = plain.iter().zip(&flipped).filter(|(a, b)| a != b).count();
        let share = differ as f64 / plain.len() as f64;
        // 10,000 Bernoulli(0.1): sd 0.003.
        assert!((share - 0.1).abs() < 0.015, "share {share}");
    }
}
