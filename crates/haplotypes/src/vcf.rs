//! Writing haplotypes as a VCF that any tool reads (bcftools, plink): the sampler's output and
//! the evaluation's baselines, with its tabix index built on the way.

use std::io::Write;

use artifact::VariantTable;
use noodles_core::Position;
use noodles_csi::binning_index::index::reference_sequence::bin::Chunk;

use crate::snp_major::SnpMajorBits;

/// `\t<a>|<b>` for the four individuals of one byte of a column word (haplotype pairs of bits
/// 0-1, 2-3, 4-5, 6-7): one table lookup writes 16 bytes, which makes a line of a million
/// individuals a memcpy-speed loop instead of four million branches.
fn pair_table() -> Vec<[u8; 16]> {
    (0..256u32)
        .map(|byte| {
            let mut out = [0u8; 16];
            for k in 0..4 {
                let a = (byte >> (2 * k)) & 1;
                let b = (byte >> (2 * k + 1)) & 1;
                out[4 * k..4 * k + 4].copy_from_slice(&[
                    b'\t',
                    b'0' + a as u8,
                    b'|',
                    b'0' + b as u8,
                ]);
            }
            out
        })
        .collect()
}

/// A phased, bgzipped VCF of `bits` at the variants of `table`, whose allele frequencies (the
/// caller's count of `bits`) are INFO/AF: header (`##source=` + `source`, contigs), then one
/// line per SNP with every individual's GT; haplotypes 2i and 2i+1 are individual i, and an
/// odd last haplotype is a haploid call. `individuals` names them in order. Returns the tabix
/// index of what was written (`.tbi` bytes), so that no second pass over a file of tens of
/// gigabytes is needed; `progress` is called after each SNP.
pub fn write_phased_vcf<W: Write>(
    w: W,
    bits: &SnpMajorBits,
    table: &VariantTable,
    individuals: &[String],
    source: &str,
    mut progress: impl FnMut(),
) -> std::io::Result<Vec<u8>> {
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
    let variants = &table.variants;
    let n = bits.n_haplotypes();
    if individuals.len() != n.div_ceil(2) || variants.len() != bits.n_snps() {
        return Err(invalid(format!(
            "{} individuals and {} variants for {n} haplotypes x {} SNPs",
            individuals.len(),
            variants.len(),
            bits.n_snps()
        )));
    }
    // Lines go straight into the BGZF writer (no buffer between), so that its virtual position
    // before and after each line is that line's chunk in the index.
    let mut out = noodles_bgzf::io::Writer::new(w);
    let mut header = Vec::new();
    writeln!(header, "##fileformat=VCFv4.2")?;
    writeln!(header, "##source={source}")?;
    let mut contigs: Vec<&str> = variants.iter().map(|v| v.chrom.as_str()).collect();
    contigs.dedup();
    for c in contigs {
        writeln!(header, "##contig=<ID={c}>")?;
    }
    writeln!(
        header,
        "##INFO=<ID=AF,Number=A,Type=Float,Description=\"Synthetic allele frequency\">"
    )?;
    writeln!(
        header,
        "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Phased genotype\">"
    )?;
    write!(
        header,
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"
    )?;
    for s in individuals {
        write!(header, "\t{s}")?;
    }
    writeln!(header)?;
    out.write_all(&header)?;

    let mut indexer = noodles_vcf::index::Indexer::builder()
        .set_format(noodles_vcf::index::Format::Tabix)
        .build()
        .map_err(|e| invalid(format!("tabix index: {e}")))?;
    let pairs = pair_table();
    // Whole bytes of the column (4 individuals each); the rest one haplotype at a time.
    let full_bytes = n / 8;
    let mut line = Vec::with_capacity(individuals.len() * 4 + 128);
    for (j, v) in variants.iter().enumerate() {
        let column = bits.snp(j);
        line.clear();
        write!(
            line,
            "{}\t{}\t{}\t{}\t{}\t.\tPASS\tAF={}\tGT",
            v.chrom,
            v.pos,
            if v.id.is_empty() { "." } else { &v.id },
            v.reference,
            v.alternate,
            format_af(table.allele_frequency[j])
        )?;
        for b in 0..full_bytes {
            let byte = (column[b / 8] >> (8 * (b % 8))) & 0xff;
            line.extend_from_slice(&pairs[byte as usize]);
        }
        let get = |h: usize| b'0' + ((column[h / 64] >> (h % 64)) & 1) as u8;
        let mut h = full_bytes * 8;
        while h < n {
            line.push(b'\t');
            line.push(get(h));
            if h + 1 < n {
                line.push(b'|');
                line.push(get(h + 1));
            }
            h += 2;
        }
        line.push(b'\n');
        let start = out.virtual_position();
        out.write_all(&line)?;
        let end = out.virtual_position();
        let pos = usize::try_from(v.pos)
            .ok()
            .and_then(Position::new)
            .ok_or_else(|| invalid(format!("{}:{}: not a 1-based position", v.chrom, v.pos)))?;
        // A SNP spans one base: REF's length.
        let last = Position::new(usize::from(pos) + v.reference.len().max(1) - 1).expect("> 0");
        indexer
            .add_record(&v.chrom, pos, last, Chunk::new(start, end))
            .map_err(|e| invalid(format!("tabix index at {}:{}: {e}", v.chrom, v.pos)))?;
        progress();
    }
    out.finish()?;
    let index = match indexer.build() {
        noodles_vcf::index::Index::Tabix(index) => index,
        noodles_vcf::index::Index::Csi(_) => unreachable!("the indexer was built for tabix"),
    };
    let mut tbi = noodles_tabix::io::Writer::new(Vec::new());
    tbi.write_index(&index)?;
    tbi.into_inner().finish()
}

fn format_af(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}
