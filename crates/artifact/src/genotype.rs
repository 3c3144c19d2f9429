//! The genotype matrix (haplotypes x SNPs, values 0/1) and its Parquet layout.
//!
//! Layout (see `schemas/parquet-layouts.md`): one row per haplotype with columns
//! `sample` (String), `haplotype` (UInt8: 0 or 1 within the sample), `group` (String, null until
//! `gmmn-split` assigns one) and `genotypes` (Binary of exactly M bytes, each 0 or 1: the allele
//! of each SNP, in the order of the companion variants file). In numpy one row is
//! `np.frombuffer(row, np.uint8)`.
//!
//! Why Binary and not a fixed-size list of UInt8: Parquet has no fixed-size list, so a list is
//! stored with a repetition and a definition level per allele. Measured with polars 0.55 on
//! 5,008 x 100,625 alleles: list 19.5 s to write, 7.0 s to read, 148 MB; Binary 3.0 s, 0.6 s,
//! 90 MB (both zstd). The bytes are the same 0/1 values either way.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::{ArtifactError, Result};

pub const GENOTYPES_COLUMN: &str = "genotypes";

/// Who a row of the matrix is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaplotypeLabel {
    pub sample: String,
    /// 0 or 1: which of the sample's two haplotypes (0 for a haploid sample).
    pub haplotype: u8,
    pub group: Option<String>,
}

/// Haplotypes x SNPs, one byte per allele (0 = REF, 1 = ALT), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenotypeMatrix {
    labels: Vec<HaplotypeLabel>,
    n_snps: usize,
    values: Vec<u8>,
}

impl GenotypeMatrix {
    pub fn new(labels: Vec<HaplotypeLabel>, n_snps: usize, values: Vec<u8>) -> Result<Self> {
        if values.len() != labels.len() * n_snps {
            return Err(ArtifactError::Invalid {
                message: format!(
                    "genotype matrix: {} values for {} haplotypes x {} SNPs",
                    values.len(),
                    labels.len(),
                    n_snps
                ),
            });
        }
        if let Some(i) = values.iter().position(|&v| v > 1) {
            return Err(ArtifactError::Invalid {
                message: format!(
                    "genotype matrix: value {} at haplotype {} SNP {} (only 0/1 allowed)",
                    values[i],
                    i / n_snps.max(1),
                    i % n_snps.max(1)
                ),
            });
        }
        Ok(GenotypeMatrix {
            labels,
            n_snps,
            values,
        })
    }

    pub fn n_haplotypes(&self) -> usize {
        self.labels.len()
    }

    pub fn n_snps(&self) -> usize {
        self.n_snps
    }

    pub fn labels(&self) -> &[HaplotypeLabel] {
        &self.labels
    }

    pub fn values(&self) -> &[u8] {
        &self.values
    }

    /// The values, giving up the matrix (no copy).
    pub fn into_values(self) -> Vec<u8> {
        self.values
    }

    pub fn row(&self, i: usize) -> &[u8] {
        &self.values[i * self.n_snps..(i + 1) * self.n_snps]
    }

    /// Number of ALT alleles per SNP over all rows.
    pub fn allele_counts(&self) -> Vec<u64> {
        allele_counts_of_rows(self.n_snps, (0..self.n_haplotypes()).map(|i| self.row(i)))
    }

    /// Write the rows `rows` (indices into this matrix), with their group replaced by `group`
    /// when given, without copying the matrix.
    pub fn write_rows_parquet<W: Write>(
        &self,
        w: W,
        rows: &[usize],
        group: Option<&str>,
    ) -> Result<()> {
        let mut writer = GenotypeParquetWriter::new(w, self.n_snps)?;
        for chunk in rows.chunks(ROW_GROUP_HAPLOTYPES) {
            let labels: Vec<HaplotypeLabel> = chunk
                .iter()
                .map(|&i| {
                    let mut l = self.labels[i].clone();
                    if let Some(g) = group {
                        l.group = Some(g.to_string());
                    }
                    l
                })
                .collect();
            let mut values = Vec::with_capacity(chunk.len() * self.n_snps);
            for &i in chunk {
                values.extend_from_slice(self.row(i));
            }
            writer.write_rows(&labels, values)?;
        }
        writer.finish()
    }

    /// Write the whole matrix.
    pub fn write_parquet<W: Write>(&self, w: W) -> Result<()> {
        let all: Vec<usize> = (0..self.n_haplotypes()).collect();
        self.write_rows_parquet(w, &all, None)
    }
}

/// ALT allele count per SNP over rows of width `n_snps`.
pub fn allele_counts_of_rows<'a>(n_snps: usize, rows: impl Iterator<Item = &'a [u8]>) -> Vec<u64> {
    // u32 partial sums vectorise; fold into u64 every 2^31 rows would be needed only for
    // absurd inputs, so count in u64 directly: this is not a hot path.
    let mut counts = vec![0u64; n_snps];
    for row in rows {
        for (c, &v) in counts.iter_mut().zip(row) {
            *c += v as u64;
        }
    }
    counts
}

/// Haplotypes per Parquet row group: big enough for good compression, small enough that a
/// writer holds little (256 x 100,000 SNPs = 25 MB).
pub const ROW_GROUP_HAPLOTYPES: usize = 256;

fn genotype_schema() -> Schema {
    Schema::from_iter([
        Field::new("sample".into(), DataType::String),
        Field::new("haplotype".into(), DataType::UInt8),
        Field::new("group".into(), DataType::String),
        Field::new(GENOTYPES_COLUMN.into(), DataType::Binary),
    ])
}

pub(crate) fn polars_err(e: PolarsError) -> ArtifactError {
    ArtifactError::Invalid {
        message: format!("parquet: {e}"),
    }
}

/// The whole of a Parquet file as a DataFrame; `path` names the file in errors.
pub(crate) fn read_parquet_frame(path: &Path) -> Result<DataFrame> {
    // Read whole (polars would map it whole anyway): the claims of its footer and page headers
    // are checked on these bytes before polars decodes them.
    let bytes = std::fs::read(path).map_err(|e| ArtifactError::io(path, e))?;
    let unreadable =
        |e: PolarsError| ArtifactError::layout(path, format!("not a readable Parquet file: {e}"));
    crate::guard::decode(path, "Parquet file", || {
        let bytes = polars_buffer::Buffer::from(bytes);
        let mut reader = ParquetReader::new(std::io::Cursor::new(bytes.clone()));
        let meta = reader.get_metadata().map_err(unreadable)?.clone();
        crate::guard::check_parquet_claims(path, &bytes, &meta)?;
        reader.finish().map_err(unreadable)
    })
}

/// Column `name` of `df`, or an error naming the file and the columns it has.
pub(crate) fn frame_column<'a>(df: &'a DataFrame, path: &Path, name: &str) -> Result<&'a Column> {
    df.column(name).map_err(|_| {
        ArtifactError::layout(
            path,
            format!("no `{name}` column (columns: {:?})", df.get_column_names()),
        )
    })
}

/// Streams haplotype rows into a genotype Parquet file, one row group per call, so that a
/// producer (ingest) never materialises the whole byte matrix.
pub struct GenotypeParquetWriter<W: Write> {
    inner: polars::io::parquet::write::BatchedWriter<W>,
    n_snps: usize,
}

impl<W: Write> GenotypeParquetWriter<W> {
    pub fn new(w: W, n_snps: usize) -> Result<Self> {
        if n_snps == 0 {
            return Err(ArtifactError::Invalid {
                message: "cannot write a genotype matrix with no SNPs".into(),
            });
        }
        // zstd level 1: within a few percent of the default level's size on 0/1 bytes, and
        // faster, which matters at 100,000 SNPs.
        let inner = ParquetWriter::new(w)
            .with_compression(ParquetCompression::Zstd(Some(
                polars_parquet::write::ZstdLevel::try_new(1).expect("1 is a valid zstd level"),
            )))
            .batched(&genotype_schema())
            .map_err(polars_err)?;
        Ok(GenotypeParquetWriter { inner, n_snps })
    }

    /// Append rows: `values` holds `labels.len() x n_snps` alleles, row-major.
    pub fn write_rows(&mut self, labels: &[HaplotypeLabel], values: Vec<u8>) -> Result<()> {
        if values.len() != labels.len() * self.n_snps {
            return Err(ArtifactError::Invalid {
                message: format!(
                    "write_rows: {} values for {} rows x {} SNPs",
                    values.len(),
                    labels.len(),
                    self.n_snps
                ),
            });
        }
        if labels.is_empty() {
            return Ok(());
        }
        let samples: Vec<&str> = labels.iter().map(|l| l.sample.as_str()).collect();
        let haps: Vec<u8> = labels.iter().map(|l| l.haplotype).collect();
        let groups: Vec<Option<&str>> = labels.iter().map(|l| l.group.as_deref()).collect();
        let rows: Vec<&[u8]> = values.chunks_exact(self.n_snps).collect();
        let genotypes = Series::new(GENOTYPES_COLUMN.into(), rows);
        let df = DataFrame::new(
            labels.len(),
            vec![
                Column::new("sample".into(), samples),
                Column::new("haplotype".into(), haps),
                Column::new("group".into(), groups),
                genotypes.into(),
            ],
        )
        .map_err(polars_err)?;
        self.inner.write_batch(&df).map_err(polars_err)
    }

    pub fn finish(self) -> Result<()> {
        self.inner.finish().map_err(polars_err)?;
        Ok(())
    }
}

/// Read a genotype Parquet file (any producer's, as long as the layout holds). `path` names the
/// file in errors. The manifest is the caller's business (see [`crate::open_artifact`]).
pub fn read_genotypes_parquet(path: &Path) -> Result<GenotypeMatrix> {
    let df = read_parquet_frame(path)?;
    let column = |name: &str| frame_column(&df, path, name);
    let bad = |name: &str, e: PolarsError| ArtifactError::layout(path, format!("`{name}`: {e}"));

    let samples = column("sample")?.str().map_err(|e| bad("sample", e))?;
    let haps = column("haplotype")?.u8().map_err(|e| bad("haplotype", e))?;
    let groups = column("group")?.str().map_err(|e| bad("group", e))?;
    let geno = column(GENOTYPES_COLUMN)?
        .binary()
        .map_err(|e| bad(GENOTYPES_COLUMN, e))?;
    let n = df.height();
    if geno.null_count() > 0 || samples.null_count() > 0 || haps.null_count() > 0 {
        return Err(ArtifactError::layout(
            path,
            "null sample, haplotype or genotype row",
        ));
    }
    let labels: Vec<HaplotypeLabel> = samples
        .iter()
        .zip(haps.iter())
        .zip(groups.iter())
        .map(|((s, h), g)| HaplotypeLabel {
            sample: s.unwrap_or_default().to_string(),
            haplotype: h.unwrap_or_default(),
            group: g.map(str::to_string),
        })
        .collect();
    let mut n_snps = None;
    let mut values = Vec::new();
    for (i, row) in geno.iter().enumerate() {
        let row = row.unwrap_or_default();
        let m = *n_snps.get_or_insert_with(|| {
            values.reserve(n * row.len());
            row.len()
        });
        if row.len() != m {
            return Err(ArtifactError::layout(
                path,
                format!("row {i} has {} genotypes, row 0 has {m}", row.len()),
            ));
        }
        values.extend_from_slice(row);
    }
    let n_snps = n_snps.unwrap_or(0);
    drop(df);
    GenotypeMatrix::new(labels, n_snps, values).map_err(|e| ArtifactError::layout(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_round_trip_in_several_row_groups() {
        let n = ROW_GROUP_HAPLOTYPES * 2 + 3;
        let m = 37;
        let labels: Vec<HaplotypeLabel> = (0..n)
            .map(|i| HaplotypeLabel {
                sample: format!("S{}", i / 2),
                haplotype: (i % 2) as u8,
                group: if i % 3 == 0 { None } else { Some("EUR".into()) },
            })
            .collect();
        let values: Vec<u8> = (0..n * m)
            .map(|k| ((k * 7 + k / 5) % 3 == 0) as u8)
            .collect();
        let g = GenotypeMatrix::new(labels, m, values).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.parquet");
        g.write_parquet(std::fs::File::create(&path).unwrap())
            .unwrap();
        let back = read_genotypes_parquet(&path).unwrap();
        assert_eq!(back, g);
        assert_eq!(back.allele_counts(), g.allele_counts());
    }

    #[test]
    fn rejects_non_binary_values_and_bad_shape() {
        let l = vec![HaplotypeLabel {
            sample: "a".into(),
            haplotype: 0,
            group: None,
        }];
        assert!(GenotypeMatrix::new(l.clone(), 2, vec![0, 2]).is_err());
        assert!(GenotypeMatrix::new(l, 2, vec![0]).is_err());
    }

    #[test]
    fn not_parquet_is_a_layout_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.parquet");
        std::fs::write(&path, b"not parquet at all").unwrap();
        let err = read_genotypes_parquet(&path).unwrap_err().to_string();
        assert!(err.contains("junk.parquet"), "{err}");
    }
}
