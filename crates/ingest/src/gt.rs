//! A fast parser for the GT value of one sample column (`0|1`, `1`, `./.`, `0/1:...`).
//!
//! noodles' typed genotype API allocates per sample; at 2,504 samples x 100,000 records that is
//! the whole ingest time, so the hot loop reads the raw GT bytes here instead.

/// One sample's GT: up to two alleles (None = missing), ploidy and phasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gt {
    pub alleles: [Option<u8>; 2],
    pub ploidy: u8,
    /// `|` between the alleles (always true for a haploid call).
    pub phased: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GtError {
    Empty,
    Polyploid,
    BadAllele(String),
}

impl std::fmt::Display for GtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GtError::Empty => write!(f, "empty GT"),
            GtError::Polyploid => write!(f, "more than two alleles in GT (polyploid)"),
            GtError::BadAllele(s) => write!(f, "invalid allele `{s}` in GT"),
        }
    }
}

fn allele(s: &[u8]) -> Result<Option<u8>, GtError> {
    match s {
        b"." => Ok(None),
        b"0" => Ok(Some(0)),
        b"1" => Ok(Some(1)),
        _ => {
            // Multi-digit or other allele indices: valid VCF, but never at a biallelic site.
            let text = String::from_utf8_lossy(s).into_owned();
            match text.parse::<u32>() {
                Ok(v) if v <= u8::MAX as u32 => Ok(Some(v as u8)),
                _ => Err(GtError::BadAllele(text)),
            }
        }
    }
}

/// Parse a GT value (already cut at the first `:`).
#[inline]
pub fn parse_gt(s: &[u8]) -> Result<Gt, GtError> {
    // Fast path: the common `a|b` with single-digit alleles.
    if s.len() == 3 && s[1] == b'|' && s[0].is_ascii_digit() && s[2].is_ascii_digit() {
        return Ok(Gt {
            alleles: [Some(s[0] - b'0'), Some(s[2] - b'0')],
            ploidy: 2,
            phased: true,
        });
    }
    if s.is_empty() {
        return Err(GtError::Empty);
    }
    match s.iter().position(|&b| b == b'|' || b == b'/') {
        None => Ok(Gt {
            alleles: [allele(s)?, None],
            ploidy: 1,
            phased: true,
        }),
        Some(i) => {
            let rest = &s[i + 1..];
            if rest.iter().any(|&b| b == b'|' || b == b'/') {
                return Err(GtError::Polyploid);
            }
            Ok(Gt {
                alleles: [allele(&s[..i])?, allele(rest)?],
                ploidy: 2,
                phased: s[i] == b'|',
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            parse_gt(b"0|1").unwrap(),
            Gt {
                alleles: [Some(0), Some(1)],
                ploidy: 2,
                phased: true
            }
        );
        let g = parse_gt(b"1/0").unwrap();
        assert!(!g.phased && g.alleles == [Some(1), Some(0)]);
        let g = parse_gt(b"1").unwrap();
        assert_eq!((g.ploidy, g.alleles[0]), (1, Some(1)));
        assert_eq!(parse_gt(b".|.").unwrap().alleles, [None, None]);
        assert_eq!(parse_gt(b".").unwrap().alleles, [None, None]);
        assert_eq!(parse_gt(b"12|0").unwrap().alleles, [Some(12), Some(0)]);
        assert_eq!(parse_gt(b"0|1|1"), Err(GtError::Polyploid));
        assert!(matches!(parse_gt(b"x|0"), Err(GtError::BadAllele(_))));
        assert_eq!(parse_gt(b""), Err(GtError::Empty));
    }
}
