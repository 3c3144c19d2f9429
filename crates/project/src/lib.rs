//! gmmn-project: the paper's qualitative evaluation. PCA and ISOMAP are fitted on the real
//! haplotypes only (all groups pooled); real and synthetic haplotypes are then projected with
//! the fitted maps, written as one coordinates Parquet, and drawn as scatter plots (real behind
//! in light colours, synthetic on top), one with every group and one per group.
//!
//! * [`pca`]: linfa-reduction's PCA, checked, with a deterministic fallback;
//! * [`isomap`]: kNN graph over Hamming distance, Dijkstra geodesics, landmark MDS with its
//!   out-of-sample extension;
//! * [`eigen`]: the symmetric top-k eigen solver both use;
//! * [`figures`]: the scatter plots.

pub mod eigen;
pub mod figures;
pub mod isomap;
pub mod pca;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use artifact::{
    ArtifactError, ArtifactKind, CoordinateRow, CoordinateTable, FileRef, Manifest, OutputSet,
    Producer,
};
use haplotypes::bits::PackedHaplotypes;
use haplotypes::{HaplotypeSet, InputError, InputSpec};
use serde_json::json;
use tracing::info;

pub const COORDINATES_FILE: &str = "coordinates.parquet";

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{0}")]
    Usage(String),
    #[error("PCA: {0}")]
    Pca(#[from] eigen::EigenError),
    #[error(transparent)]
    Isomap(#[from] isomap::IsomapError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Pca,
    Isomap,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Pca => "pca",
            Method::Isomap => "isomap",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Method::Pca => "PCA",
            Method::Isomap => "ISOMAP",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pca" => Ok(Method::Pca),
            "isomap" => Ok(Method::Isomap),
            other => Err(format!("unknown method `{other}` (known: pca, isomap)")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProjectOptions {
    pub real: PathBuf,
    pub real_panel: Option<PathBuf>,
    pub synthetic: PathBuf,
    pub synthetic_panel: Option<PathBuf>,
    /// Panel column with the group.
    pub label: String,
    /// Keep only these groups (None: all, which must be the same on both sides).
    pub groups: Option<Vec<String>>,
    pub methods: Vec<Method>,
    pub components: usize,
    /// K of ISOMAP's nearest-neighbour graph.
    pub neighbours: usize,
    /// Most ISOMAP landmarks (all real haplotypes when there are no more than this).
    pub landmarks: usize,
    pub seed: u64,
}

#[derive(Debug)]
pub struct ProjectSummary {
    pub real_haplotypes: usize,
    pub synthetic_haplotypes: usize,
    pub snps: usize,
    pub files: Vec<PathBuf>,
}

impl std::fmt::Display for ProjectSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "projected {} real and {} synthetic haplotypes x {} SNPs:",
            self.real_haplotypes, self.synthetic_haplotypes, self.snps
        )?;
        for p in &self.files {
            writeln!(f, "  {}", p.display())?;
        }
        Ok(())
    }
}

fn usage(message: impl Into<String>) -> ProjectError {
    ProjectError::Usage(message.into())
}

/// Checks that need no data.
fn check_options(opts: &ProjectOptions) -> Result<(), ProjectError> {
    if opts.methods.is_empty() {
        return Err(usage("--methods: give at least one of pca, isomap"));
    }
    for (i, m) in opts.methods.iter().enumerate() {
        if opts.methods[..i].contains(m) {
            return Err(usage(format!("--methods: `{}` given twice", m.as_str())));
        }
    }
    if opts.components == 0 {
        return Err(usage("--components must be at least 1"));
    }
    let isomap = opts.methods.contains(&Method::Isomap);
    if isomap && opts.neighbours == 0 {
        return Err(usage("--neighbours must be at least 1"));
    }
    if isomap && opts.landmarks <= opts.components {
        return Err(usage(format!(
            "--landmarks {} must be more than --components {}",
            opts.landmarks, opts.components
        )));
    }
    if let Some(g) = &opts.groups {
        if g.is_empty() || g.iter().any(|s| s.trim().is_empty()) {
            return Err(usage("--groups: an empty group name"));
        }
    }
    Ok(())
}

/// Checks against the loaded real haplotypes.
fn check_sizes(opts: &ProjectOptions, real: &HaplotypeSet) -> Result<(), ProjectError> {
    let (n, m, k) = (real.n(), real.snps(), opts.components);
    let path = opts.real.display();
    for method in &opts.methods {
        match method {
            Method::Pca => {
                let most = n.saturating_sub(1).min(m);
                if k > most {
                    return Err(usage(format!(
                        "--components {k}: PCA of {n} real haplotypes x {m} SNPs ({path}) has at most {most} components"
                    )));
                }
            }
            Method::Isomap => {
                if opts.neighbours >= n {
                    return Err(usage(format!(
                        "--neighbours {} must be less than the number of real haplotypes ({n} in {path})",
                        opts.neighbours
                    )));
                }
                let l = n.min(opts.landmarks);
                if k >= l {
                    return Err(usage(format!(
                        "--components {k}: ISOMAP with {l} landmarks ({n} real haplotypes in {path}) has at most {} components",
                        l - 1
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Projection of one method: real and synthetic coordinates (row-major, k per row), axis labels
/// and what goes into the manifest.
struct Projected {
    method: Method,
    real: Vec<f64>,
    synthetic: Vec<f64>,
    axes: [String; 2],
    params: Vec<(String, serde_json::Value)>,
}

fn run_pca(
    opts: &ProjectOptions,
    real: &HaplotypeSet,
    synth: &HaplotypeSet,
) -> Result<Projected, ProjectError> {
    let t = Instant::now();
    let (n, m, k) = (real.n(), real.snps(), opts.components);
    let fit = pca::fit(real.matrix.values(), n, m, k)?;
    info!(
        "PCA: fitted {k} components on {n} real haplotypes x {m} SNPs with {}; explained variance ratio {:?} ({:.1?})",
        fit.solver.as_str(),
        fit.explained_variance_ratio,
        t.elapsed()
    );
    let t = Instant::now();
    let real_y = fit.project(real.matrix.values());
    let synth_y = fit.project(synth.matrix.values());
    info!(
        "PCA: projected {} real and {} synthetic haplotypes ({:.1?})",
        n,
        synth.n(),
        t.elapsed()
    );
    let ratio = &fit.explained_variance_ratio;
    let axis = |i: usize| match ratio.get(i) {
        Some(r) => format!("PC{} ({:.1}%)", i + 1, 100.0 * r),
        None => String::new(),
    };
    let mut params = vec![
        ("pca_solver".to_string(), json!(fit.solver.as_str())),
        (
            "pca_explained_variance_ratio".to_string(),
            json!(fit.explained_variance_ratio),
        ),
    ];
    if let Some(why) = &fit.fallback_reason {
        params.push(("pca_fallback_reason".to_string(), json!(why)));
    }
    Ok(Projected {
        method: Method::Pca,
        real: real_y,
        synthetic: synth_y,
        axes: [axis(0), axis(1)],
        params,
    })
}

fn run_isomap(
    opts: &ProjectOptions,
    real: &HaplotypeSet,
    synth: &HaplotypeSet,
) -> Result<Projected, ProjectError> {
    let m = real.snps();
    let packed_real = PackedHaplotypes::from_rows(real.matrix.values(), m);
    let iso = isomap::fit(
        &packed_real,
        isomap::IsomapOptions {
            components: opts.components,
            neighbours: opts.neighbours,
            landmarks: opts.landmarks,
            seed: opts.seed,
        },
    )?;
    let t = Instant::now();
    let real_y = iso.embed_reference();
    let packed_synth = PackedHaplotypes::from_rows(synth.matrix.values(), m);
    let synth_y = iso.embed(&packed_synth);
    info!(
        "ISOMAP: embedded {} real and {} synthetic haplotypes ({:.1?})",
        real.n(),
        synth.n(),
        t.elapsed()
    );
    let axis = |i: usize| {
        if i < opts.components {
            format!("ISOMAP {}", i + 1)
        } else {
            String::new()
        }
    };
    let params = vec![
        ("isomap_eigenvalues".to_string(), json!(iso.eigenvalues)),
        (
            "isomap_landmarks_used".to_string(),
            json!(iso.landmarks.len()),
        ),
        (
            "isomap_graph_components".to_string(),
            json!(iso.graph_components),
        ),
        ("isomap_joining_edges".to_string(), json!(iso.joining_edges)),
    ];
    Ok(Projected {
        method: Method::Isomap,
        real: real_y,
        synthetic: synth_y,
        axes: [axis(0), axis(1)],
        params,
    })
}

/// Fit on `opts.real`, project real and synthetic, write coordinates and figures to `out_dir`
/// (all or nothing).
pub fn project(opts: &ProjectOptions, out_dir: &Path) -> Result<ProjectSummary, ProjectError> {
    check_options(opts)?;
    let t = Instant::now();
    let spec = |path: &Path, panel: &Option<PathBuf>| InputSpec {
        path: path.to_path_buf(),
        panel: panel.clone(),
        label: opts.label.clone(),
        groups: opts.groups.clone(),
        heldout: false,
    };
    let real = haplotypes::load(&spec(&opts.real, &opts.real_panel))?;
    let synth = haplotypes::load(&spec(&opts.synthetic, &opts.synthetic_panel))?;
    haplotypes::check_same_variants(&real, &synth)?;
    haplotypes::check_same_groups(&real, &synth)?;
    check_sizes(opts, &real)?;
    let groups: Vec<String> = real.rows_by_group().into_keys().collect();
    info!(
        "loaded {} real and {} synthetic haplotypes x {} SNPs, groups {} ({:.1?})",
        real.n(),
        synth.n(),
        real.snps(),
        groups.join(", "),
        t.elapsed()
    );

    let mut projected = Vec::new();
    for &method in &opts.methods {
        projected.push(match method {
            Method::Pca => run_pca(opts, &real, &synth)?,
            Method::Isomap => run_isomap(opts, &real, &synth)?,
        });
    }

    let t = Instant::now();
    let k = opts.components;
    let mut rows = Vec::with_capacity(projected.len() * (real.n() + synth.n()));
    for p in &projected {
        for (set, coords, source) in [
            (&real, &p.real, "real"),
            (&synth, &p.synthetic, "synthetic"),
        ] {
            for (label, c) in set.matrix.labels().iter().zip(coords.chunks_exact(k)) {
                rows.push(CoordinateRow {
                    sample: label.sample.clone(),
                    haplotype: label.haplotype,
                    group: label.group.clone().unwrap_or_default(),
                    source: source.into(),
                    method: p.method.as_str().into(),
                    coords: c.to_vec(),
                });
            }
        }
    }
    let table = CoordinateTable {
        components: k,
        rows,
    };

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new("project", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let mut inputs = Vec::new();
    for (set, role, panel) in [
        (&real, "real", &opts.real_panel),
        (&synth, "synthetic", &opts.synthetic_panel),
    ] {
        for f in &set.files {
            let role = if panel.as_ref() == Some(f) {
                format!("{role}_panel")
            } else {
                role.to_string()
            };
            inputs.push(FileRef::hashed(&role, f, out_dir)?);
        }
    }
    let mut cm = Manifest::new(ArtifactKind::Coordinates, producer.clone())
        .param(
            "methods",
            json!(opts.methods.iter().map(|m| m.as_str()).collect::<Vec<_>>()),
        )
        .param("components", k as u64)
        .param("neighbours", opts.neighbours as u64)
        .param("landmarks", opts.landmarks as u64)
        .param("label", opts.label.clone())
        .param("groups", json!(groups))
        .count("real_haplotypes", real.n() as u64)
        .count("synthetic_haplotypes", synth.n() as u64)
        .count("snps", real.snps() as u64);
    for p in &projected {
        for (key, value) in &p.params {
            cm = cm.param(key, value.clone());
        }
    }
    cm.inputs = inputs;
    cm.seed = Some(opts.seed);
    cm.shape = vec![table.rows.len() as u64, k as u64];
    let cpath = out_dir.join(COORDINATES_FILE);
    let mut out = OutputSet::new();
    let cm = out.stage_artifact(&cpath, cm, |w| {
        artifact::write_coordinates_parquet(w, &table)
    })?;
    let mut files = vec![cpath.clone()];

    // Figures: c1 against c2 (against 0 with a single component), points grouped by group.
    let by_group = |set: &HaplotypeSet, coords: &[f64]| -> Vec<Vec<(f64, f64)>> {
        let index: BTreeMap<&str, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.as_str(), i))
            .collect();
        let mut out = vec![Vec::new(); groups.len()];
        for (i, c) in coords.chunks_exact(k).enumerate() {
            out[index[set.group(i)]].push((c[0], if k > 1 { c[1] } else { 0.0 }));
        }
        out
    };
    for p in &projected {
        let real_pts = by_group(&real, &p.real);
        let synth_pts = by_group(&synth, &p.synthetic);
        let figs = figures::figures(&figures::Points {
            method_title: p.method.title(),
            method: p.method.as_str(),
            axes: p.axes.clone(),
            groups: &groups,
            real: &real_pts,
            synthetic: &synth_pts,
        })?;
        for fig in figs {
            for (ext, bytes) in [("png", fig.png.as_slice()), ("svg", fig.svg.as_bytes())] {
                let path = out_dir.join(format!("{}.{ext}", fig.stem));
                let mut pm = Manifest::new(ArtifactKind::Plot, producer.clone())
                    .param("method", p.method.as_str())
                    .param("group", fig.group.clone())
                    .param("plots", fig.plots.clone())
                    .param("format", ext);
                pm.inputs = vec![FileRef::new(
                    "coordinates",
                    &cpath,
                    cm.sha256.clone(),
                    out_dir,
                )?];
                out.stage_artifact(&path, pm, |w| {
                    w.write_all(bytes).map_err(|e| ArtifactError::io(&path, e))
                })?;
                files.push(path);
            }
        }
    }
    out.commit()?;
    info!(
        "wrote {} rows of coordinates and {} figures to {} ({:.1?})",
        table.rows.len(),
        files.len() - 1,
        out_dir.display(),
        t.elapsed()
    );
    Ok(ProjectSummary {
        real_haplotypes: real.n(),
        synthetic_haplotypes: synth.n(),
        snps: real.snps(),
        files,
    })
}
