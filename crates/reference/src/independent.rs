//! The naive simulator: every SNP drawn independently at the group's training allele frequency.
//! It keeps the allele frequencies and nothing else (no linkage), the floor any generator must
//! beat on LD.

use artifact::rng::SeededRng;

/// Allele frequency of each SNP among the `n` rows of `training` (n x m, 0/1).
pub fn allele_frequencies(training: &[u8], n: usize, m: usize) -> Vec<f64> {
    let mut counts = vec![0usize; m];
    for row in training.chunks_exact(m).take(n) {
        for (c, &x) in counts.iter_mut().zip(row) {
            *c += x as usize;
        }
    }
    counts.iter().map(|&c| c as f64 / n as f64).collect()
}

/// `n_out` haplotypes (n_out x m, row-major) whose alleles are drawn independently at the
/// allele frequencies of the `n` training rows, from one sequential stream of `seed`.
pub fn simulate(training: &[u8], n: usize, m: usize, n_out: usize, seed: u64) -> Vec<u8> {
    let af = allele_frequencies(training, n, m);
    let mut rng = SeededRng::new(seed);
    let mut values = Vec::with_capacity(n_out * m);
    for _ in 0..n_out {
        values.extend(af.iter().map(|&p| (rng.next_f64() < p) as u8));
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_within_sampling_tolerance() {
        // 8 SNPs at frequencies 0, 1/8, ..., 7/8 over 8 training rows (row i carries SNP j when
        // i < j), plus a fixed SNP at 1.
        let (n, m) = (8, 9);
        let mut training = vec![0u8; n * m];
        for i in 0..n {
            for j in 0..8 {
                training[i * m + j] = (i < j) as u8;
            }
            training[i * m + 8] = 1;
        }
        let af = allele_frequencies(&training, n, m);
        assert_eq!(af[0], 0.0);
        assert_eq!(af[3], 3.0 / 8.0);
        assert_eq!(af[8], 1.0);
        let n_out = 20_000;
        let out = simulate(&training, n, m, n_out, 7);
        assert_eq!(out.len(), n_out * m);
        for (j, want) in af.iter().enumerate() {
            let p =
                out.iter().skip(j).step_by(m).filter(|&&x| x == 1).count() as f64 / n_out as f64;
            // 5 binomial standard deviations at the worst frequency (1/2) is 0.018.
            assert!((p - want).abs() < 0.018, "SNP {j}: {p} against {want}");
        }
        // Fixed SNPs stay fixed exactly.
        assert!(out.iter().step_by(m).all(|&x| x == 0));
        assert!(out.iter().skip(8).step_by(m).all(|&x| x == 1));
    }
}
