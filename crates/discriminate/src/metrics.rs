//! Fidelity and privacy metrics beside Delta: allele-frequency correlation, LD r^2 correlation,
//! nearest-neighbour adversarial accuracy (AATS) and the fraction of synthetic haplotypes
//! identical to a real one.

use haplotypes::bits::{nearest, PackedHaplotypes};

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

/// ALT allele frequency of each SNP of row-major 0/1 rows.
pub fn allele_frequencies(values: &[u8], snps: usize) -> Vec<f64> {
    let n = values.len() / snps;
    let mut counts = vec![0u64; snps];
    for row in values.chunks(snps) {
        for (c, &v) in counts.iter_mut().zip(row) {
            *c += v as u64;
        }
    }
    counts.iter().map(|&c| c as f64 / n as f64).collect()
}

/// r^2 between SNPs j and j + d for every d in 1..max_distance, in a fixed order; a pair where
/// either SNP is monomorphic gets r^2 = 0 (no linkage can be measured).
pub fn ld_r2(values: &[u8], snps: usize, max_distance: usize) -> Vec<f64> {
    let n = values.len() / snps;
    let af = allele_frequencies(values, snps);
    let mut out = Vec::new();
    for j in 0..snps {
        for k in j + 1..snps.min(j + max_distance) {
            let both = values
                .chunks(snps)
                .filter(|r| r[j] == 1 && r[k] == 1)
                .count() as f64
                / n as f64;
            let (p, q) = (af[j], af[k]);
            let denom = p * (1.0 - p) * q * (1.0 - q);
            let d = both - p * q;
            out.push(if denom > 0.0 { d * d / denom } else { 0.0 });
        }
    }
    out
}

/// Nearest-neighbour adversarial accuracy (Yelmen et al. 2021) with Hamming distance:
/// 0.5 * (share of real rows whose nearest other real row is nearer than their nearest synthetic
/// row + the same for synthetic rows). 0.5 is ideal; 1 means each side keeps to itself
/// (under-fitting, or mode collapse on the synthetic side); below 0.5, synthetic rows sit on
/// top of real ones (over-fitting, a privacy risk).
pub fn adversarial_accuracy(real: &PackedHaplotypes, synthetic: &PackedHaplotypes) -> f64 {
    let tt = nearest(real, real, 1, true);
    let ts = nearest(real, synthetic, 1, false);
    let ss = nearest(synthetic, synthetic, 1, true);
    let st = nearest(synthetic, real, 1, false);
    let share = |own: &[Vec<(u32, usize)>], other: &[Vec<(u32, usize)>]| {
        own.iter()
            .zip(other)
            .filter(|(o, x)| x[0].0 > o[0].0)
            .count() as f64
            / own.len() as f64
    };
    0.5 * (share(&tt, &ts) + share(&ss, &st))
}

/// Share of synthetic rows equal to some real row.
pub fn identical_fraction(real: &PackedHaplotypes, synthetic: &PackedHaplotypes) -> f64 {
    let st = nearest(synthetic, real, 1, false);
    st.iter().filter(|l| l[0].0 == 0).count() as f64 / synthetic.n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r2_of_identical_and_independent_snps() {
        // SNP 0 and 1 identical (r^2 = 1); SNP 2 independent of SNP 0 by construction.
        let rows: Vec<[u8; 3]> = vec![[1, 1, 1], [1, 1, 0], [0, 0, 1], [0, 0, 0]];
        let flat: Vec<u8> = rows.concat();
        let r2 = ld_r2(&flat, 3, 50);
        assert_eq!(r2.len(), 3); // pairs (0,1), (0,2), (1,2)
        assert!((r2[0] - 1.0).abs() < 1e-12);
        assert!(r2[1].abs() < 1e-12 && r2[2].abs() < 1e-12);
    }

    #[test]
    fn copies_of_the_real_data_are_flagged() {
        let m = 20;
        let real: Vec<u8> = (0..30 * m)
            .map(|k| ((k * 7 + k / 3) % 5 < 2) as u8)
            .collect();
        let r = PackedHaplotypes::from_rows(&real, m);
        // A synthetic set that copies every real row: all identical, and each synthetic row's
        // nearest real row (distance 0) is never farther than its nearest synthetic row.
        assert_eq!(identical_fraction(&r, &r), 1.0);
        assert!(adversarial_accuracy(&r, &r) < 0.5);
        // A synthetic set far from the real one: accuracy 1.
        let far: Vec<u8> = real.iter().map(|v| 1 - v).collect();
        let f = PackedHaplotypes::from_rows(&far, m);
        assert_eq!(identical_fraction(&r, &f), 0.0);
        assert!(adversarial_accuracy(&r, &f) > 0.9);
    }

    #[test]
    fn pearson_basics() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]) - 0.9986).abs() < 1e-3);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }
}
