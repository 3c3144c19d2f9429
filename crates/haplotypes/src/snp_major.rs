//! Haplotypes held SNP-major, one bit per allele: what the variant-major output formats (VCF and
//! PLINK .bed, one line or record per SNP with every haplotype in it) are written from.
//!
//! A million individuals at 5,000 SNPs is 10^10 alleles: 10 GB as bytes, 1.25 GB as bits. The
//! simulators produce haplotypes in blocks of rows; each block is transposed into these columns
//! and dropped, so the byte matrix of the whole output never exists.

use rayon::prelude::*;

/// `n` haplotypes x `snps` SNPs; column j (SNP j) holds bit h of haplotype h in
/// `bits[j * words + h / 64] >> (h % 64)`, padded with zeros to whole words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnpMajorBits {
    n: usize,
    snps: usize,
    words: usize,
    bits: Vec<u64>,
}

impl SnpMajorBits {
    /// All alleles REF (0).
    pub fn zeros(n: usize, snps: usize) -> SnpMajorBits {
        let words = n.div_ceil(64);
        SnpMajorBits {
            n,
            snps,
            words,
            bits: vec![0; words * snps],
        }
    }

    /// From haplotype rows of 0/1 bytes (row-major, `snps` per row).
    pub fn from_rows(values: &[u8], snps: usize) -> SnpMajorBits {
        assert!(
            snps > 0 && values.len().is_multiple_of(snps),
            "whole rows expected"
        );
        let mut out = SnpMajorBits::zeros(values.len() / snps, snps);
        out.set_rows(0, values);
        out
    }

    pub fn n_haplotypes(&self) -> usize {
        self.n
    }

    pub fn n_snps(&self) -> usize {
        self.snps
    }

    /// Words of one SNP's column.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Set haplotypes `h0..h0 + rows` from a block of rows (row-major, `snps` bytes each; any
    /// non-zero byte is ALT). `h0` must be a multiple of 64 unless the block ends the matrix, so
    /// that blocks never share a word and columns are written in parallel without locks.
    pub fn set_rows(&mut self, h0: usize, values: &[u8]) {
        let snps = self.snps;
        assert!(values.len().is_multiple_of(snps), "whole rows expected");
        let rows = values.len() / snps;
        assert!(h0 + rows <= self.n, "rows past the end");
        assert!(h0.is_multiple_of(64), "blocks start on a word boundary");
        // Transpose by tiles of 64 rows (one word of every column): each tile reads its rows
        // front to back, which is ~10x faster than walking the block column by column.
        let tiles: Vec<Vec<u64>> = values
            .par_chunks(64 * snps)
            .map(|tile_rows| {
                let mut tile = vec![0u64; snps];
                for (r, row) in tile_rows.chunks_exact(snps).enumerate() {
                    for (w, &v) in tile.iter_mut().zip(row) {
                        *w |= ((v != 0) as u64) << r;
                    }
                }
                tile
            })
            .collect();
        let (words, first) = (self.words, h0 / 64);
        for (t, tile) in tiles.iter().enumerate() {
            for (j, &w) in tile.iter().enumerate() {
                self.bits[j * words + first + t] = w;
            }
        }
    }

    /// The column of SNP j.
    pub fn snp(&self, j: usize) -> &[u64] {
        &self.bits[j * self.words..(j + 1) * self.words]
    }

    /// The allele of haplotype h at SNP j.
    pub fn get(&self, h: usize, j: usize) -> u8 {
        ((self.snp(j)[h / 64] >> (h % 64)) & 1) as u8
    }

    /// ALT alleles per SNP.
    pub fn allele_counts(&self) -> Vec<u64> {
        self.bits
            .par_chunks(self.words)
            .map(|c| c.iter().map(|w| w.count_ones() as u64).sum())
            .collect()
    }

    /// Haplotypes `h0..h0 + rows` as row-major 0/1 bytes (to write a block of Parquet rows).
    pub fn rows(&self, h0: usize, rows: usize) -> Vec<u8> {
        assert!(h0 + rows <= self.n);
        let snps = self.snps;
        let mut out = vec![0u8; rows * snps];
        out.par_chunks_mut(snps).enumerate().for_each(|(r, row)| {
            let h = h0 + r;
            let (w, b) = (h / 64, h % 64);
            for (j, x) in row.iter_mut().enumerate() {
                *x = ((self.bits[j * self.words + w] >> b) & 1) as u8;
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_transpose_rows_and_back() {
        let (n, m) = (150, 7);
        let values: Vec<u8> = (0..n * m).map(|i| ((i * 7919) % 5 == 0) as u8).collect();
        let whole = SnpMajorBits::from_rows(&values, m);
        let mut blocks = SnpMajorBits::zeros(n, m);
        blocks.set_rows(128, &values[128 * m..]);
        blocks.set_rows(0, &values[..64 * m]);
        blocks.set_rows(64, &values[64 * m..128 * m]);
        assert_eq!(whole, blocks);
        assert_eq!(whole.rows(0, n), values);
        assert_eq!(whole.rows(3, 2), values[3 * m..5 * m]);
        for h in 0..n {
            for j in 0..m {
                assert_eq!(whole.get(h, j), values[h * m + j]);
            }
        }
        let counts: Vec<u64> = (0..m)
            .map(|j| (0..n).map(|h| values[h * m + j] as u64).sum())
            .collect();
        assert_eq!(whole.allele_counts(), counts);
    }
}
