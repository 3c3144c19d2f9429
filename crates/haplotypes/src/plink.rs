//! PLINK 1 binary filesets (`.bed` + `.bim` + `.fam`) of simulated haplotypes, for the tools
//! that read PLINK rather than VCF (plink 1.9/2, GCTA, ADMIXTURE, bed-reader).
//!
//! PLINK 1 has no phase: individual i holds the ALT allele count of haplotypes 2i and 2i+1. The
//! allele orientation is pinned so that no reader guesses it from frequencies: `.bim` column 5
//! (A1, the allele the `.bed` codes count) is ALT and column 6 (A2) is REF, so a reader's A1
//! count equals the VCF's ALT dosage. An odd last haplotype is a haploid individual and is
//! written homozygous, which is how PLINK itself stores haploid calls.

use std::io::Write;

use artifact::Variant;

use crate::snp_major::SnpMajorBits;

/// The `.bed` magic: 0x6c 0x1b, then 0x01 for SNP-major records.
const BED_MAGIC: [u8; 3] = [0x6c, 0x1b, 0x01];

/// The 2-bit `.bed` code of an individual with `alt` copies of A1 (= ALT): 00 homozygous A1,
/// 10 heterozygous, 11 homozygous A2 (01 is missing, never written).
const CODE: [u8; 3] = [0b11, 0b10, 0b00];

/// `.bed` codes of the four individuals of one byte of a column word (haplotype pairs of bits
/// 0-1, ..., 6-7): one lookup per output byte.
fn code_table() -> [u8; 256] {
    let mut table = [0u8; 256];
    for (byte, out) in table.iter_mut().enumerate() {
        for k in 0..4 {
            let alt = ((byte >> (2 * k)) & 1) + ((byte >> (2 * k + 1)) & 1);
            *out |= CODE[alt] << (2 * k);
        }
    }
    table
}

/// Write the `.bed` of `bits`: the magic, then per SNP ceil(individuals / 4) bytes.
pub fn write_bed<W: Write>(
    w: W,
    bits: &SnpMajorBits,
    mut progress: impl FnMut(),
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, w);
    out.write_all(&BED_MAGIC)?;
    let n = bits.n_haplotypes();
    let individuals = n.div_ceil(2);
    let per_snp = individuals.div_ceil(4);
    let table = code_table();
    let full_bytes = n / 8;
    let mut record = vec![0u8; per_snp];
    for j in 0..bits.n_snps() {
        let column = bits.snp(j);
        for (b, r) in record[..full_bytes].iter_mut().enumerate() {
            *r = table[((column[b / 8] >> (8 * (b % 8))) & 0xff) as usize];
        }
        let get = |h: usize| ((column[h / 64] >> (h % 64)) & 1) as usize;
        for i in full_bytes * 4..individuals {
            let (a, b) = (2 * i, 2 * i + 1);
            let alt = if b < n { get(a) + get(b) } else { 2 * get(a) };
            let r = &mut record[i / 4];
            if i % 4 == 0 {
                *r = 0;
            }
            *r |= CODE[alt] << (2 * (i % 4));
        }
        out.write_all(&record)?;
        progress();
    }
    out.flush()
}

/// The `.bim`: chromosome, id (`chrom:pos` when the VCF had none), centimorgans (0), position,
/// A1 = ALT, A2 = REF.
pub fn write_bim<W: Write>(w: W, variants: &[Variant]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(w);
    for v in variants {
        if v.id.is_empty() || v.id == "." {
            writeln!(
                out,
                "{}\t{}:{}\t0\t{}\t{}\t{}",
                v.chrom, v.chrom, v.pos, v.pos, v.alternate, v.reference
            )?;
        } else {
            writeln!(
                out,
                "{}\t{}\t0\t{}\t{}\t{}",
                v.chrom, v.id, v.pos, v.alternate, v.reference
            )?;
        }
    }
    out.flush()
}

/// The `.fam`: family id = the group (what population tools group by), individual id, no
/// parents, sex unknown (0), phenotype missing (-9).
pub fn write_fam<W: Write>(w: W, group: &str, individuals: &[String]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(w);
    for s in individuals {
        writeln!(out, "{group}\t{s}\t0\t0\t0\t-9")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bed_codes_count_alt_alleles_per_individual() {
        // 5 haplotypes (individuals: (0,1), (2,3), haploid 4) x 2 SNPs.
        let rows = [
            [1u8, 0], // h0
            [1, 1],   // h1
            [0, 1],   // h2
            [0, 0],   // h3
            [1, 0],   // h4
        ];
        let values: Vec<u8> = rows.iter().flatten().copied().collect();
        let bits = SnpMajorBits::from_rows(&values, 2);
        let mut bed = Vec::new();
        write_bed(&mut bed, &bits, || {}).unwrap();
        // SNP 0: alt counts 2, 0, haploid 1 -> homozygous ALT: 00, 11, 00.
        // SNP 1: 1, 1, haploid 0 -> 10, 10, 11.
        assert_eq!(bed, [0x6c, 0x1b, 0x01, 0b00_11_00, 0b11_10_10]);

        // Many individuals: the table path agrees with the haplotype-at-a-time path.
        let n = 203;
        let values: Vec<u8> = (0..n).map(|h| ((h * 37) % 3 == 0) as u8).collect();
        let bits = SnpMajorBits::from_rows(&values, 1);
        let mut bed = Vec::new();
        write_bed(&mut bed, &bits, || {}).unwrap();
        assert_eq!(bed.len(), 3 + 102usize.div_ceil(4));
        for i in 0..102 {
            let code = (bed[3 + i / 4] >> (2 * (i % 4))) & 3;
            let alt = if 2 * i + 1 < n {
                values[2 * i] + values[2 * i + 1]
            } else {
                2 * values[2 * i]
            };
            assert_eq!(code, CODE[alt as usize], "individual {i}");
        }
    }
}
