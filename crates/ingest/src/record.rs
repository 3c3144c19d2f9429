//! Splitting one VCF data line into its columns.
//!
//! The hot loop of ingest reads raw lines instead of noodles' `Record`: at 2,504 samples per line
//! noodles' per-sample iterator costs ~70 ns a sample, which made ingest slower than
//! `bcftools query`. Header parsing and index queries stay with noodles.

use memchr::memchr;

/// The columns of one data line, borrowed from it.
#[derive(Debug)]
pub struct RawRecord<'a> {
    pub chrom: &'a str,
    pub pos: u64,
    pub id: &'a str,
    pub reference: &'a str,
    pub alternate: &'a str,
    /// FORMAT, when the line has it.
    pub format: Option<&'a [u8]>,
    /// Everything after FORMAT's tab: the sample columns, tab-separated.
    pub samples: &'a [u8],
}

fn text<'a>(field: &'a [u8], name: &str) -> Result<&'a str, String> {
    std::str::from_utf8(field).map_err(|_| format!("{name} is not UTF-8 text"))
}

/// Split `line` (without its newline). Errors are messages for the caller to locate.
pub fn split_line(line: &[u8]) -> Result<RawRecord<'_>, String> {
    // Cut the first nine columns; the rest is the samples.
    let mut cols: [&[u8]; 9] = [&[]; 9];
    let mut rest = line;
    let mut n = 0;
    while n < 9 {
        match memchr(b'\t', rest) {
            Some(i) => {
                cols[n] = &rest[..i];
                rest = &rest[i + 1..];
                n += 1;
            }
            None => {
                cols[n] = rest;
                rest = &[];
                n += 1;
                break;
            }
        }
    }
    if n < 8 {
        return Err(format!(
            "the record has {n} columns, fewer than the 8 fixed ones (CHROM to INFO)"
        ));
    }
    let pos_text = cols[1];
    let pos = if !pos_text.is_empty() && pos_text.iter().all(u8::is_ascii_digit) {
        text(pos_text, "POS")?
            .parse::<u64>()
            .ok()
            .filter(|&p| p > 0)
    } else {
        None
    };
    let Some(pos) = pos else {
        return Err(format!(
            "POS `{}` is not a positive integer",
            String::from_utf8_lossy(pos_text)
        ));
    };
    Ok(RawRecord {
        chrom: text(cols[0], "CHROM")?,
        pos,
        id: text(cols[2], "ID")?,
        reference: text(cols[3], "REF")?,
        alternate: text(cols[4], "ALT")?,
        format: (n == 9).then_some(cols[8]),
        samples: rest,
    })
}

/// Number of tab-separated columns in `samples` (0 for an empty slice).
pub fn count_columns(samples: &[u8]) -> usize {
    if samples.is_empty() {
        0
    } else {
        memchr::memchr_iter(b'\t', samples).count() + 1
    }
}

/// The diploid, phased, GT-only fast path: every sample is exactly `a|b` with a, b in {0, 1},
/// separated by single tabs. Calls `set(sample, allele0, allele1)` for each sample and returns
/// true; returns false without a word if anything differs (missing, unphased, other FORMAT,
/// wrong column count), so that the careful path can look and explain.
#[inline]
pub fn phased_biallelic_fast(samples: &[u8], n: usize, mut set: impl FnMut(usize, u8, u8)) -> bool {
    if n == 0 || samples.len() != 4 * n - 1 {
        return false;
    }
    // Each sample is 4 bytes `a|b\t` (the last without its tab): check and take them 4 at a time.
    let (body, last) = samples.split_at(4 * (n - 1));
    for (i, c) in body.chunks_exact(4).enumerate() {
        let x = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        if x & 0xFF00_FF00 != 0x0900_7C00 || x & 0x00FE_00FE != 0x0030_0030 {
            return false;
        }
        set(i, (x & 1) as u8, ((x >> 16) & 1) as u8);
    }
    let x = u32::from_le_bytes([last[0], last[1], last[2], b'\t']);
    if x & 0xFF00_FF00 != 0x0900_7C00 || x & 0x00FE_00FE != 0x0030_0030 {
        return false;
    }
    set(n - 1, (x & 1) as u8, ((x >> 16) & 1) as u8);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fixed_columns() {
        let r = split_line(b"22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1").unwrap();
        assert_eq!(
            (r.chrom, r.pos, r.id, r.reference, r.alternate),
            ("22", 100, "rs1", "A", "G")
        );
        assert_eq!(r.format, Some(&b"GT"[..]));
        assert_eq!(r.samples, b"0|1\t1|1");
        assert_eq!(count_columns(r.samples), 2);
        let r = split_line(b"22\t100\t.\tA\tG\t.\tPASS\t.").unwrap();
        assert!(r.format.is_none() && r.samples.is_empty());
        assert!(split_line(b"22\t100\t.\tA")
            .unwrap_err()
            .contains("4 columns"));
        assert!(split_line(b"22\t1x0\t.\tA\tG\t.\t.\t.")
            .unwrap_err()
            .contains("POS `1x0`"));
        assert!(split_line(b"22\t0\t.\tA\tG\t.\t.\t.").is_err());
    }

    #[test]
    fn fast_path_accepts_only_the_plain_form() {
        let mut got = Vec::new();
        assert!(phased_biallelic_fast(b"0|1\t1|1\t1|0", 3, |i, a, b| got.push((i, a, b))));
        assert_eq!(got, [(0, 0, 1), (1, 1, 1), (2, 1, 0)]);
        for bad in [
            &b"0|1\t1/1\t1|0"[..],
            b"0|1\t.|1\t1|0",
            b"0|1\t1|1",
            b"0|1\t1|2\t1|0",
            b"0|1 1|1\t1|0",
        ] {
            assert!(
                !phased_biallelic_fast(bad, 3, |_, _, _| {}),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
