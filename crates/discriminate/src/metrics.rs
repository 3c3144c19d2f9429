//! Fidelity and privacy metrics beside Delta: allele-frequency correlation, LD r^2 correlation,
//! nearest-neighbour adversarial accuracy (AATS) and the fraction of synthetic haplotypes
//! identical to a real one. All work on bit-packed haplotypes.

use haplotypes::bits::{for_each_set_bit, nearest, PackedHaplotypes};
use rayon::prelude::*;

/// Pearson correlation; NaN when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}

/// The same haplotypes SNP-major: SNP j's haplotype i is bit i % 64 of word
/// `j * words + i / 64`. Joint allele counts of two SNPs are then AND + popcount.
pub struct SnpColumns {
    pub n: usize,
    pub words: usize,
    pub bits: Vec<u64>,
}

impl SnpColumns {
    pub fn from_rows(p: &PackedHaplotypes) -> SnpColumns {
        let words = p.n.div_ceil(64);
        let mut bits = vec![0u64; p.snps * words];
        for i in 0..p.n {
            for_each_set_bit(p.row(i), |j| bits[j * words + i / 64] |= 1 << (i % 64));
        }
        SnpColumns {
            n: p.n,
            words,
            bits,
        }
    }

    fn column(&self, j: usize) -> &[u64] {
        &self.bits[j * self.words..(j + 1) * self.words]
    }

    /// ALT allele count of each SNP.
    pub fn alt_counts(&self) -> Vec<u32> {
        (0..self.snps())
            .map(|j| self.column(j).iter().map(|w| w.count_ones()).sum())
            .collect()
    }

    pub fn snps(&self) -> usize {
        self.bits.len() / self.words.max(1)
    }

    /// ALT allele frequency of each SNP.
    pub fn allele_frequencies(&self) -> Vec<f64> {
        self.alt_counts()
            .into_iter()
            .map(|c| c as f64 / self.n as f64)
            .collect()
    }

    /// LD decay: for each distance d in 1..=max_distance (index d; index 0 unused), the sum of
    /// r^2 over the pairs (j, j + d) whose SNPs are both polymorphic here, and how many such
    /// pairs there are. r^2 comes from integer counts, (n c11 - c_j c_k)^2 / (c_j (n - c_j)
    /// c_k (n - c_k)); blocks of SNPs run in parallel and are summed in block order, so the
    /// sums do not depend on thread timing.
    pub fn ld_decay(&self, max_distance: usize) -> Vec<(f64, u64)> {
        const BLOCK: usize = 64;
        let counts = self.alt_counts();
        let (m, n) = (self.snps(), self.n as i64);
        let poly: Vec<bool> = counts.iter().map(|&c| c > 0 && (c as i64) < n).collect();
        let blocks: Vec<Vec<(f64, u64)>> = (0..m.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let mut acc = vec![(0.0, 0u64); max_distance + 1];
                for j in b * BLOCK..m.min((b + 1) * BLOCK) {
                    if !poly[j] {
                        continue;
                    }
                    let a = self.column(j);
                    let cj = counts[j] as i64;
                    let vj = (cj * (n - cj)) as f64;
                    for k in j + 1..m.min(j + max_distance + 1) {
                        if !poly[k] {
                            continue;
                        }
                        let both: u32 = a
                            .iter()
                            .zip(self.column(k))
                            .map(|(x, y)| (x & y).count_ones())
                            .sum();
                        let ck = counts[k] as i64;
                        let d = (n * both as i64 - cj * ck) as f64;
                        let slot = &mut acc[k - j];
                        slot.0 += d * d / (vj * (ck * (n - ck)) as f64);
                        slot.1 += 1;
                    }
                }
                acc
            })
            .collect();
        let mut total = vec![(0.0, 0u64); max_distance + 1];
        for block in blocks {
            for (t, (s, c)) in total.iter_mut().zip(block) {
                t.0 += s;
                t.1 += c;
            }
        }
        total
    }

    /// r^2 between SNPs j and j + d for d in 1..max_distance, in a fixed order (j ascending,
    /// then d); a pair with a monomorphic SNP gets r^2 = 0 (no linkage can be measured).
    pub fn ld_r2(&self, max_distance: usize) -> Vec<f64> {
        let af = self.allele_frequencies();
        let m = self.snps();
        let n = self.n as f64;
        (0..m)
            .into_par_iter()
            .map(|j| {
                let a = self.column(j);
                (j + 1..m.min(j + max_distance))
                    .map(|k| {
                        let b = self.column(k);
                        let both: u32 = a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
                        let (p, q) = (af[j], af[k]);
                        let denom = p * (1.0 - p) * q * (1.0 - q);
                        let d = both as f64 / n - p * q;
                        if denom > 0.0 {
                            d * d / denom
                        } else {
                            0.0
                        }
                    })
                    .collect::<Vec<f64>>()
            })
            .flatten()
            .collect()
    }
}

/// Each row's Hamming distance to its nearest neighbour of each kind: what AATS, the identical
/// fraction and the nearest-neighbour diagnostics all read, computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearestDistances {
    /// Each real row to the nearest other real row.
    pub real_real: Vec<u32>,
    /// Each real row to the nearest synthetic row.
    pub real_synthetic: Vec<u32>,
    /// Each synthetic row to the nearest other synthetic row.
    pub synthetic_synthetic: Vec<u32>,
    /// Each synthetic row to the nearest real row.
    pub synthetic_real: Vec<u32>,
}

impl NearestDistances {
    pub fn compute(real: &PackedHaplotypes, synthetic: &PackedHaplotypes) -> NearestDistances {
        NearestDistances {
            real_real: nearest_distances(real, real, true),
            real_synthetic: nearest_distances(real, synthetic, false),
            synthetic_synthetic: nearest_distances(synthetic, synthetic, true),
            synthetic_real: nearest_distances(synthetic, real, false),
        }
    }

    /// Nearest-neighbour adversarial accuracy (Yelmen et al. 2021) with Hamming distance:
    /// 0.5 * (share of real rows whose nearest other real row is nearer than their nearest
    /// synthetic row + the same for synthetic rows). 0.5 is ideal; 1 means each side keeps to
    /// itself (under-fitting, or mode collapse on the synthetic side); below 0.5, synthetic rows
    /// sit on top of real ones (over-fitting, a privacy risk).
    pub fn adversarial_accuracy(&self) -> f64 {
        let share = |own: &[u32], other: &[u32]| {
            own.iter().zip(other).filter(|(o, x)| x > o).count() as f64 / own.len() as f64
        };
        0.5 * (share(&self.real_real, &self.real_synthetic)
            + share(&self.synthetic_synthetic, &self.synthetic_real))
    }

    /// Share of synthetic rows equal to some real row.
    pub fn identical_fraction(&self) -> f64 {
        let n = self.synthetic_real.len();
        self.synthetic_real.iter().filter(|&&d| d == 0).count() as f64 / n.max(1) as f64
    }
}

/// Each row of `queries` to its nearest row of `reference` (`exclude_self`: the same set, a row
/// is not its own neighbour). A set of one row has no other row: its distance to "the nearest
/// other" is the largest possible, which no cross distance exceeds.
pub fn nearest_distances(
    queries: &PackedHaplotypes,
    reference: &PackedHaplotypes,
    exclude_self: bool,
) -> Vec<u32> {
    nearest(queries, reference, 1, exclude_self)
        .into_iter()
        .map(|l| l.first().map_or(queries.snps as u32 + 1, |&(d, _)| d))
        .collect()
}

/// [`NearestDistances::adversarial_accuracy`] of two sets.
pub fn adversarial_accuracy(real: &PackedHaplotypes, synthetic: &PackedHaplotypes) -> f64 {
    NearestDistances::compute(real, synthetic).adversarial_accuracy()
}

/// Share of synthetic rows equal to some real row.
pub fn identical_fraction(real: &PackedHaplotypes, synthetic: &PackedHaplotypes) -> f64 {
    let st = nearest(synthetic, real, 1, false);
    st.iter().filter(|l| l[0].0 == 0).count() as f64 / synthetic.n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::packed;

    #[test]
    fn pearson_of_known_vectors() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn frequencies_and_ld_by_hand() {
        // SNP 0 and 1 identical (r^2 = 1), SNP 2 independent of SNP 0 (r^2 = 0), SNP 3
        // monomorphic (r^2 = 0 by convention).
        let p = packed(&[&[1, 1, 1, 0], &[1, 1, 0, 0], &[0, 0, 1, 0], &[0, 0, 0, 0]]);
        let c = SnpColumns::from_rows(&p);
        assert_eq!(c.allele_frequencies(), vec![0.5, 0.5, 0.5, 0.0]);
        let r2 = c.ld_r2(3); // pairs (0,1) (0,2) (1,2) (1,3) (2,3)
        assert_eq!(r2.len(), 5);
        assert!((r2[0] - 1.0).abs() < 1e-12);
        assert!(r2[1].abs() < 1e-12);
        assert!(r2[2].abs() < 1e-12);
        assert_eq!(r2[3], 0.0);
        assert_eq!(r2[4], 0.0);
    }

    #[test]
    fn columns_survive_many_haplotypes() {
        // 130 haplotypes cross two word boundaries of the SNP-major layout.
        let rows: Vec<u8> = (0..130 * 3)
            .map(|k| ((k * 7 + k / 3) % 5 == 0) as u8)
            .collect();
        let p = PackedHaplotypes::from_rows(&rows, 3);
        let af = SnpColumns::from_rows(&p).allele_frequencies();
        for (j, f) in af.iter().enumerate() {
            let c = (0..130).filter(|&i| rows[i * 3 + j] == 1).count();
            assert_eq!(*f, c as f64 / 130.0);
        }
    }

    #[test]
    fn aats_and_identical_on_copies_and_strangers() {
        // Synthetic = copies of real: every synthetic row is identical to a real one, and each
        // real row's nearest synthetic (its copy, distance 0) is never farther than its nearest
        // real, so AATS is 0.
        let real = packed(&[
            &[0, 0, 0, 0, 0, 0],
            &[1, 1, 1, 0, 0, 0],
            &[0, 0, 0, 1, 1, 1],
        ]);
        assert_eq!(identical_fraction(&real, &real.clone()), 1.0);
        assert_eq!(adversarial_accuracy(&real, &real.clone()), 0.0);
        // Synthetic far from all real rows and close to each other: AATS 1, nothing identical.
        let far = packed(&[
            &[1, 1, 1, 1, 1, 1],
            &[1, 1, 1, 1, 1, 0],
            &[1, 1, 1, 1, 0, 1],
        ]);
        let real2 = packed(&[
            &[0, 0, 0, 0, 0, 0],
            &[1, 0, 0, 0, 0, 0],
            &[0, 1, 0, 0, 0, 0],
        ]);
        assert_eq!(identical_fraction(&real2, &far), 0.0);
        assert_eq!(adversarial_accuracy(&real2, &far), 1.0);
    }
}
