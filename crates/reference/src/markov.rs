//! A variable-order Markov chain along the SNPs: each allele drawn given the alleles before it,
//! at the frequency with which the training haplotypes that share that context continue it,
//! smoothed toward shorter contexts. It is the chain of the exact pattern histogram
//! (`chain::PatternSketch` with min-count 1); `min_count` keeps every draw a pooled
//! continuation of at least that many haplotypes, so no single one is replayed. A pattern
//! sketch with min-count C (gmmn-sketch --features patterns, then gmmn-train) draws the same
//! haplotypes as this with min_count C, reading only the sketch. See the chain crate for the
//! smoothing.

#[cfg(test)]
use artifact::rng::SeededRng;

/// The chain's settings (gmmn-reference's --order, --min-count, --pseudocount).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkovOptions {
    /// The longest context, in SNPs (at most [`chain::MAX_ORDER`]).
    pub order: usize,
    /// Contexts shared by fewer training haplotypes are not used.
    pub min_count: usize,
    /// Weight of the shorter context's estimate at each longer one.
    pub pseudocount: f64,
}

/// A variable-order chain of the training haplotypes' exact pattern counts: at each SNP the
/// context is as long as at least `min_count` training haplotypes share it (at most `order`
/// SNPs), smoothed level by level toward shorter contexts.
pub fn sample_variable_order(
    training: &[u8],
    n: usize,
    m: usize,
    n_out: usize,
    opts: &MarkovOptions,
    seed: u64,
) -> Result<Vec<u8>, chain::ChainError> {
    let sketch = chain::PatternSketch::build(training, n, m, opts.order, 1)?;
    let chain_opts = chain::ChainOptions {
        min_count: opts.min_count,
        pseudocount: opts.pseudocount,
    };
    Ok(chain::sample(&sketch, n_out, &chain_opts, seed))
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
        )
        .unwrap();
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
        )
        .unwrap();
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
        )
        .unwrap();
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
            .unwrap()
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9), draw(10));
    }
}
