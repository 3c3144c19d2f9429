//! The companion variants table: one row per SNP, in genotype column order.
//! Columns: chrom (String), pos (UInt64, 1-based), id (String, "." when absent), ref (String),
//! alt (String), allele_frequency (Float64: ALT frequency over the haplotypes of the companion
//! genotype file).

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::genotype::{frame_column, polars_err, read_parquet_frame};
use crate::{ArtifactError, Result};

/// The file name of a group's variants table in every stage directory that carries one.
pub const VARIANTS_FILE: &str = "variants.parquet";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub chrom: String,
    pub pos: u64,
    pub id: String,
    pub reference: String,
    pub alternate: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantTable {
    pub variants: Vec<Variant>,
    pub allele_frequency: Vec<f64>,
}

impl VariantTable {
    pub fn len(&self) -> usize {
        self.variants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.variants.is_empty()
    }

    /// The same variants with frequencies from ALT counts over `n_haplotypes`.
    pub fn with_counts(variants: Vec<Variant>, alt_counts: &[u64], n_haplotypes: usize) -> Self {
        let allele_frequency = alt_counts
            .iter()
            .map(|&c| {
                if n_haplotypes == 0 {
                    0.0
                } else {
                    c as f64 / n_haplotypes as f64
                }
            })
            .collect();
        VariantTable {
            variants,
            allele_frequency,
        }
    }
}

pub fn write_variants_parquet<W: Write>(w: W, table: &VariantTable) -> Result<()> {
    let v = &table.variants;
    let mut df = DataFrame::new(
        v.len(),
        vec![
            Column::new(
                "chrom".into(),
                v.iter().map(|x| x.chrom.as_str()).collect::<Vec<_>>(),
            ),
            Column::new("pos".into(), v.iter().map(|x| x.pos).collect::<Vec<_>>()),
            Column::new(
                "id".into(),
                v.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "ref".into(),
                v.iter().map(|x| x.reference.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "alt".into(),
                v.iter().map(|x| x.alternate.as_str()).collect::<Vec<_>>(),
            ),
            Column::new("allele_frequency".into(), table.allele_frequency.clone()),
        ],
    )
    .map_err(polars_err)?;
    ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(polars_err)?;
    Ok(())
}

pub fn read_variants_parquet(path: &Path) -> Result<VariantTable> {
    let df = read_parquet_frame(path)?;
    let col = |name: &str| frame_column(&df, path, name);
    let bad = |name: &str, e: PolarsError| ArtifactError::layout(path, format!("`{name}`: {e}"));
    let strings = |name: &str| -> Result<Vec<String>> {
        Ok(col(name)?
            .str()
            .map_err(|e| bad(name, e))?
            .iter()
            .map(|s| s.unwrap_or(".").to_string())
            .collect())
    };
    let chrom = strings("chrom")?;
    let id = strings("id")?;
    let reference = strings("ref")?;
    let alternate = strings("alt")?;
    let pos: Vec<u64> = col("pos")?
        .u64()
        .map_err(|e| bad("pos", e))?
        .iter()
        .map(|p| p.unwrap_or(0))
        .collect();
    let allele_frequency: Vec<f64> = col("allele_frequency")?
        .f64()
        .map_err(|e| bad("allele_frequency", e))?
        .iter()
        .map(|p| p.unwrap_or(f64::NAN))
        .collect();
    let variants = chrom
        .into_iter()
        .zip(pos)
        .zip(id)
        .zip(reference.into_iter().zip(alternate))
        .map(|(((chrom, pos), id), (reference, alternate))| Variant {
            chrom,
            pos,
            id,
            reference,
            alternate,
        })
        .collect();
    Ok(VariantTable {
        variants,
        allele_frequency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = VariantTable::with_counts(
            vec![
                Variant {
                    chrom: "22".into(),
                    pos: 20000276,
                    id: ".".into(),
                    reference: "T".into(),
                    alternate: "G".into(),
                },
                Variant {
                    chrom: "22".into(),
                    pos: 20000321,
                    id: "rs1".into(),
                    reference: "A".into(),
                    alternate: "G".into(),
                },
            ],
            &[1, 3],
            4,
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.parquet");
        write_variants_parquet(std::fs::File::create(&p).unwrap(), &t).unwrap();
        assert_eq!(read_variants_parquet(&p).unwrap(), t);
        assert_eq!(t.allele_frequency, vec![0.25, 0.75]);
    }
}
