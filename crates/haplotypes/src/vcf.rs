//! Writing haplotypes as a VCF that any tool reads (bcftools, plink): the sampler's output and
//! the evaluation's baselines.

use std::io::Write;

use artifact::{GenotypeMatrix, Variant};

/// A phased, bgzipped VCF of `matrix`: header (`##source=` + `source`, contigs, INFO/AF), then
/// one line per SNP with every individual's GT; haplotypes 2i and 2i+1 are individual i, and an
/// odd last haplotype is a haploid call. `individuals` names them in order.
pub fn write_phased_vcf<W: Write>(
    w: W,
    matrix: &GenotypeMatrix,
    variants: &[Variant],
    individuals: &[String],
    source: &str,
) -> std::io::Result<()> {
    let mut bgzf = noodles_bgzf::io::Writer::new(w);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut bgzf);
    writeln!(out, "##fileformat=VCFv4.2")?;
    writeln!(out, "##source={source}")?;
    let mut contigs: Vec<&str> = variants.iter().map(|v| v.chrom.as_str()).collect();
    contigs.dedup();
    for c in contigs {
        writeln!(out, "##contig=<ID={c}>")?;
    }
    writeln!(
        out,
        "##INFO=<ID=AF,Number=A,Type=Float,Description=\"Synthetic allele frequency\">"
    )?;
    writeln!(
        out,
        "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Phased genotype\">"
    )?;
    write!(out, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT")?;
    for s in individuals {
        write!(out, "\t{s}")?;
    }
    writeln!(out)?;
    let n = matrix.n_haplotypes();
    let m = matrix.n_snps();
    let values = matrix.values();
    let mut line = Vec::with_capacity(individuals.len() * 4 + 128);
    for (j, v) in variants.iter().enumerate() {
        line.clear();
        let alt = (0..n).filter(|&i| values[i * m + j] == 1).count();
        write!(
            line,
            "{}\t{}\t{}\t{}\t{}\t.\tPASS\tAF={}\tGT",
            v.chrom,
            v.pos,
            if v.id.is_empty() { "." } else { &v.id },
            v.reference,
            v.alternate,
            format_af(alt as f64 / n as f64)
        )?;
        for i in (0..n).step_by(2) {
            line.push(b'\t');
            line.push(b'0' + values[i * m + j]);
            if i + 1 < n {
                line.push(b'|');
                line.push(b'0' + values[(i + 1) * m + j]);
            }
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()?;
    drop(out);
    bgzf.finish()?;
    Ok(())
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
