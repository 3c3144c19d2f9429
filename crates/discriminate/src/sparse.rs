//! Haplotypes as the list of their minor alleles, for the logistic regression and the MLP.
//!
//! Why recode: both models start with a linear map x -> W x + b. Flipping an allele column
//! (x_j -> 1 - x_j) changes W's column sign and moves a constant into b, so a model on the
//! recoded rows is exactly the same family. The L2 penalty (on W only) and Adam's per-coordinate
//! steps are sign-symmetric and the initial weights are symmetric around 0, so training is
//! equivalent too. After recoding each row is mostly zeros and W x is a sum over the few
//! minor alleles: on human data a small fraction of the SNPs, instead of every SNP.

use haplotypes::bits::{for_each_set_bit, PackedHaplotypes};

/// Row i's minor alleles are `indices[offsets[i]..offsets[i + 1]]` (SNP indices, ascending).
#[derive(Debug, Clone)]
pub struct MinorAlleleRows {
    pub snps: usize,
    /// Bit j set: SNP j was recoded (its ALT allele is the majority one).
    flip: Vec<u64>,
    offsets: Vec<usize>,
    indices: Vec<u32>,
}

impl MinorAlleleRows {
    /// Recode every SNP whose ALT frequency over all rows of `p` exceeds 0.5.
    pub fn from_packed(p: &PackedHaplotypes) -> MinorAlleleRows {
        MinorAlleleRows::from_packed_by(p, p.n)
    }

    /// Recode every SNP whose ALT frequency over the first `reference_rows` rows of `p` exceeds
    /// 0.5. The fits are equivalent under either recoding only up to the optimiser's stopping
    /// tolerance, so a figure meant to be the same across reports (utility trained on the real
    /// haplotypes) takes its recoding from rows that are the same in all of them.
    pub fn from_packed_by(p: &PackedHaplotypes, reference_rows: usize) -> MinorAlleleRows {
        let reference_rows = reference_rows.min(p.n);
        let mut counts = vec![0usize; p.snps];
        for i in 0..reference_rows {
            for_each_set_bit(p.row(i), |j| counts[j] += 1);
        }
        let mut flip = vec![0u64; p.words];
        for (j, &c) in counts.iter().enumerate() {
            if 2 * c > reference_rows {
                flip[j / 64] |= 1 << (j % 64);
            }
        }
        // Padding bits past the last SNP stay 0 in both, so XOR leaves them 0.
        let mut offsets = Vec::with_capacity(p.n + 1);
        let mut indices = Vec::new();
        offsets.push(0);
        let mut row = vec![0u64; p.words];
        for i in 0..p.n {
            for ((r, &x), &f) in row.iter_mut().zip(p.row(i)).zip(&flip) {
                *r = x ^ f;
            }
            for_each_set_bit(&row, |j| indices.push(j as u32));
            offsets.push(indices.len());
        }
        MinorAlleleRows {
            snps: p.snps,
            flip,
            offsets,
            indices,
        }
    }

    /// Whether SNP j is recoded: a model weight on it is minus the weight of its ALT allele.
    pub fn is_flipped(&self, j: usize) -> bool {
        self.flip[j / 64] >> (j % 64) & 1 == 1
    }

    pub fn row(&self, i: usize) -> &[u32] {
        &self.indices[self.offsets[i]..self.offsets[i + 1]]
    }

    pub fn n(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Mean number of minor alleles per row.
    pub fn density(&self) -> f64 {
        self.indices.len() as f64 / self.n().max(1) as f64 / self.snps.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_alt_columns_are_flipped() {
        // SNP 0: ALT in 3 of 4 rows (flipped), SNP 1: ALT in 1 of 4 (kept), SNP 2: 2 of 4 (kept).
        let rows = [1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0];
        let p = PackedHaplotypes::from_rows(&rows, 3);
        let s = MinorAlleleRows::from_packed(&p);
        assert_eq!(s.n(), 4);
        assert_eq!(s.row(0), &[2]);
        assert_eq!(s.row(1), &[1]);
        assert_eq!(s.row(2), &[2]);
        assert_eq!(s.row(3), &[0]);
        assert_eq!(
            (0..3).map(|j| s.is_flipped(j)).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert!((s.density() - 4.0 / 12.0).abs() < 1e-12);
    }
}
