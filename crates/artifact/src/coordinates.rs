//! Projected coordinates (PCA, ISOMAP) of real and synthetic haplotypes, written by
//! `gmmn-project`.
//!
//! Layout: one row per (haplotype, method) with columns `sample` (String), `haplotype` (UInt8),
//! `group` (String), `source` (String: `real` or `synthetic`), `method` (String: `pca` or
//! `isomap`) and `c1`, `c2`, ... (Float64, one per component). In polars:
//! `pl.read_parquet("coordinates.parquet").filter(pl.col("method") == "pca")`.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::genotype::{frame_column, polars_err, read_parquet_frame};
use crate::{ArtifactError, Result};

/// One haplotype's coordinates under one method.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinateRow {
    pub sample: String,
    pub haplotype: u8,
    pub group: String,
    /// `real` or `synthetic`.
    pub source: String,
    /// `pca` or `isomap`.
    pub method: String,
    /// One value per component.
    pub coords: Vec<f64>,
}

/// Rows with the same number of components each.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinateTable {
    pub components: usize,
    pub rows: Vec<CoordinateRow>,
}

/// Name of component column `i` (0-based): `c1`, `c2`, ...
pub fn component_column(i: usize) -> String {
    format!("c{}", i + 1)
}

pub fn write_coordinates_parquet<W: Write>(w: W, table: &CoordinateTable) -> Result<()> {
    let k = table.components;
    if k == 0 {
        return Err(ArtifactError::Invalid {
            message: "coordinates: no components".into(),
        });
    }
    if let Some(r) = table.rows.iter().find(|r| r.coords.len() != k) {
        return Err(ArtifactError::Invalid {
            message: format!(
                "coordinates: row of {} haplotype {} has {} components, the table {k}",
                r.sample,
                r.haplotype,
                r.coords.len()
            ),
        });
    }
    let rows = &table.rows;
    let strings = |f: fn(&CoordinateRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let mut columns = vec![
        Column::new("sample".into(), strings(|r| r.sample.as_str())),
        Column::new(
            "haplotype".into(),
            rows.iter().map(|r| r.haplotype).collect::<Vec<u8>>(),
        ),
        Column::new("group".into(), strings(|r| r.group.as_str())),
        Column::new("source".into(), strings(|r| r.source.as_str())),
        Column::new("method".into(), strings(|r| r.method.as_str())),
    ];
    for c in 0..k {
        columns.push(Column::new(
            component_column(c).into(),
            rows.iter().map(|r| r.coords[c]).collect::<Vec<f64>>(),
        ));
    }
    let mut df = DataFrame::new(rows.len(), columns).map_err(polars_err)?;
    ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(polars_err)?;
    Ok(())
}

/// Read a coordinates Parquet (the manifest is the caller's business); the components are the
/// `c1`, `c2`, ... columns present, in order.
pub fn read_coordinates_parquet(path: &Path) -> Result<CoordinateTable> {
    let df = read_parquet_frame(path)?;
    let col = |name: &str| frame_column(&df, path, name);
    let bad = |name: &str, e: PolarsError| ArtifactError::layout(path, format!("`{name}`: {e}"));
    let strings = |name: &str| -> Result<Vec<String>> {
        let c = col(name)?.str().map_err(|e| bad(name, e))?;
        if c.null_count() > 0 {
            return Err(ArtifactError::layout(path, format!("null in `{name}`")));
        }
        Ok(c.iter()
            .map(|s| s.unwrap_or_default().to_string())
            .collect())
    };
    let sample = strings("sample")?;
    let group = strings("group")?;
    let source = strings("source")?;
    let method = strings("method")?;
    let haplotype: Vec<u8> = col("haplotype")?
        .u8()
        .map_err(|e| bad("haplotype", e))?
        .iter()
        .map(|h| h.unwrap_or_default())
        .collect();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut components = Vec::new();
    while names.contains(&component_column(components.len())) {
        let name = component_column(components.len());
        let values: Vec<f64> = col(&name)?
            .f64()
            .map_err(|e| bad(&name, e))?
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect();
        components.push(values);
    }
    if components.is_empty() {
        return Err(ArtifactError::layout(path, "no component column `c1`"));
    }
    let rows = (0..df.height())
        .map(|i| CoordinateRow {
            sample: sample[i].clone(),
            haplotype: haplotype[i],
            group: group[i].clone(),
            source: source[i].clone(),
            method: method[i].clone(),
            coords: components.iter().map(|c| c[i]).collect(),
        })
        .collect();
    Ok(CoordinateTable {
        components: components.len(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_ragged_rows_refused() {
        let row = |s: &str, source: &str, method: &str, c: [f64; 3]| CoordinateRow {
            sample: s.into(),
            haplotype: 1,
            group: "EUR".into(),
            source: source.into(),
            method: method.into(),
            coords: c.to_vec(),
        };
        let t = CoordinateTable {
            components: 3,
            rows: vec![
                row("A", "real", "pca", [1.0, -2.5, 0.0]),
                row("SYN_1", "synthetic", "isomap", [3.0, 1e-9, -7.25]),
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.parquet");
        write_coordinates_parquet(std::fs::File::create(&p).unwrap(), &t).unwrap();
        assert_eq!(read_coordinates_parquet(&p).unwrap(), t);

        let mut ragged = t.clone();
        ragged.rows[1].coords.pop();
        let err = write_coordinates_parquet(Vec::new(), &ragged).unwrap_err();
        assert!(err.to_string().contains("SYN_1"), "{err}");
    }
}
