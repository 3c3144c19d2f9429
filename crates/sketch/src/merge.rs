//! `gmmn merge-sketches S1 S2 ... --out S`: one sketch from the sketches of several sites.
//!
//! A sketch is a mean over haplotypes, so the sketch of the union of disjoint groups is the
//! mean of the sites' sketches weighted by their haplotype counts (the released counts: under
//! DP add-remove those are noisy, and using them is post-processing). That holds only when the
//! sites computed the same features of the same SNPs: same feature specification, seeds, W
//! generator and variant list; anything else is refused by name. Pattern sketches and count
//! features depend on each site's own data (contexts, quantiles) and cannot be merged.

use std::io::Write;
use std::path::{Path, PathBuf};

use artifact::{
    open_artifact, read_variants_parquet, write_variants_parquet, ArtifactError, ArtifactKind,
    DpRelease, FileRef, Manifest, OutputSet, Producer, Sketch, SketchInfo, VariantTable,
    VARIANTS_FILE,
};

use crate::{sketch_file, SketchError, SKETCH_FILE};

/// The stage name merged sketches record as their producer.
pub const MERGE_STAGE: &str = "merge-sketches";

/// One site's sketch as read for a merge.
struct Site {
    path: PathBuf,
    manifest: Manifest,
    info: SketchInfo,
    sketch: Sketch,
    variants_path: PathBuf,
    variants_manifest: Manifest,
    variants: VariantTable,
}

fn usage(message: String) -> SketchError {
    SketchError::Usage(message)
}

fn read_site(path: &Path) -> Result<Site, SketchError> {
    let path = sketch_file(path);
    let manifest = open_artifact(&path, ArtifactKind::Sketch)?;
    if chain::info::is_pattern_sketch(&manifest) {
        return Err(usage(format!(
            "{}: a pattern sketch holds only the contexts that enough of its own site's \
             haplotypes share, so sites' pattern sketches cannot be merged; merge feature-map \
             sketches (identity, relu, window)",
            path.display()
        )));
    }
    let sketch = Sketch::read_npy(&path)?;
    let info = SketchInfo::from_manifest(&manifest, &path, &sketch)?;
    if info.count_features > 0 {
        return Err(usage(format!(
            "{}: has --count-features, whose thresholds are its own site's allele-count \
             quantiles; sites' count features differ and cannot be merged",
            path.display()
        )));
    }
    let variants_path = manifest.companion(&path, "variants")?;
    let variants_manifest = open_artifact(&variants_path, ArtifactKind::Variants)?;
    let variants = read_variants_parquet(&variants_path)?;
    Ok(Site {
        path,
        manifest,
        info,
        sketch,
        variants_path,
        variants_manifest,
        variants,
    })
}

/// The fields that must agree between sites: everything but the group, the count and the
/// privacy record.
fn specification(info: &SketchInfo) -> serde_json::Map<String, serde_json::Value> {
    let mut map = match serde_json::to_value(info).expect("SketchInfo serialises") {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("SketchInfo is a struct"),
    };
    for k in ["group", "haplotypes", "privacy"] {
        map.remove(k);
    }
    map
}

#[derive(Debug)]
pub struct MergeSummary {
    pub group: String,
    pub sites: usize,
    pub haplotypes: u64,
    pub privacy: Option<DpRelease>,
    pub sketch: PathBuf,
}

impl std::fmt::Display for MergeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "merged {} sketches of {} ({} haplotypes) -> {}",
            self.sites,
            self.group,
            self.haplotypes,
            self.sketch.display()
        )?;
        match &self.privacy {
            Some(p) => writeln!(
                f,
                "  each individual is ({}, {})-differentially private, the guarantee of the \
                 weakest site (sites hold disjoint people)",
                p.epsilon, p.delta
            ),
            None => writeln!(f, "  no site's sketch is differentially private"),
        }
    }
}

/// Merge the sketches at `inputs` (directories or sketch.npy files) into `out_dir`. `group`
/// names the merged group where the sites' names differ.
pub fn merge_sketches(
    inputs: &[PathBuf],
    out_dir: &Path,
    group: Option<&str>,
) -> Result<MergeSummary, SketchError> {
    if inputs.len() < 2 {
        return Err(usage(format!(
            "merge-sketches needs at least two sketches (got {})",
            inputs.len()
        )));
    }
    let sites: Vec<Site> = inputs
        .iter()
        .map(|p| read_site(p))
        .collect::<Result<_, _>>()?;
    let first = &sites[0];
    let want = specification(&first.info);
    for site in &sites[1..] {
        let have = specification(&site.info);
        // The settings a user gave before what follows from them (a different --seed also
        // differs in restart_seeds, a different --stride in feature_count).
        let mut keys: Vec<&String> = want.keys().collect();
        keys.sort_by_key(|k| {
            (
                matches!(k.as_str(), "restart_seeds" | "feature_count"),
                k.as_str() != "seed",
            )
        });
        for key in keys {
            let value = &want[key];
            if have.get(key) != Some(value) {
                return Err(usage(format!(
                    "{} and {} differ in `{key}` ({} against {}): sites must sketch with the \
                     same feature specification, seed and W generator",
                    first.path.display(),
                    site.path.display(),
                    value,
                    have.get(key).unwrap_or(&serde_json::Value::Null)
                )));
            }
        }
        if site.variants.variants != first.variants.variants {
            let at = site
                .variants
                .variants
                .iter()
                .zip(&first.variants.variants)
                .position(|(a, b)| a != b)
                .unwrap_or(site.variants.len().min(first.variants.len()));
            return Err(usage(format!(
                "{} and {} have different variant lists (first difference at SNP {}, of {} and \
                 {}): sites must sketch the same SNPs (one shared list)",
                first.variants_path.display(),
                site.variants_path.display(),
                at + 1,
                first.variants.len(),
                site.variants.len()
            )));
        }
        if site.info.privacy.is_some() != first.info.privacy.is_some() {
            let (private, exact) = if first.info.privacy.is_some() {
                (first, site)
            } else {
                (site, first)
            };
            return Err(usage(format!(
                "{} is differentially private and {} is not: the merge would suggest a \
                 guarantee that {}'s people do not have; merge private sketches with private ones",
                private.path.display(),
                exact.path.display(),
                exact.path.display()
            )));
        }
        if let (Some(a), Some(b)) = (&first.info.privacy, &site.info.privacy) {
            if a.relation != b.relation {
                return Err(usage(format!(
                    "{} is private under {} and {} under {}: one neighbouring relation for all",
                    first.path.display(),
                    a.relation,
                    site.path.display(),
                    b.relation
                )));
            }
        }
    }
    let merged_group = match group {
        Some(g) => g.to_string(),
        None => {
            if let Some(other) = sites.iter().find(|s| s.info.group != first.info.group) {
                return Err(usage(format!(
                    "{} sketches group {} and {} group {}: name the merged group with --group",
                    first.path.display(),
                    first.info.group,
                    other.path.display(),
                    other.info.group
                )));
            }
            first.info.group.clone()
        }
    };

    // Weighted means in f64, by the released haplotype counts.
    let total: u64 = sites.iter().map(|s| s.info.haplotypes).sum();
    if total == 0 {
        return Err(usage("the sketches hold no haplotypes".into()));
    }
    let len = first.sketch.values.len();
    let mut values = vec![0f64; len];
    let mut frequencies = vec![0f64; first.variants.len()];
    for site in &sites {
        let w = site.info.haplotypes as f64 / total as f64;
        for (v, x) in values.iter_mut().zip(&site.sketch.values) {
            *v += w * *x as f64;
        }
        for (f, x) in frequencies.iter_mut().zip(&site.variants.allele_frequency) {
            *f += w * x;
        }
    }
    let sketch = Sketch {
        restarts: first.sketch.restarts,
        features: first.sketch.features,
        values: values.into_iter().map(|v| v as f32).collect(),
    };
    // Sites hold disjoint people: each person has the guarantee of the site holding them, so
    // the merge's is that of the weakest site (largest epsilon, then delta).
    let privacy = sites
        .iter()
        .filter_map(|s| s.info.privacy.clone())
        .max_by(|a, b| {
            a.epsilon
                .total_cmp(&b.epsilon)
                .then(a.delta.total_cmp(&b.delta))
        })
        .map(|mut p| {
            p.sites = sites
                .iter()
                .map(|s| s.info.privacy.as_ref().map_or(1, |q| q.sites))
                .sum();
            p
        });
    let mut info = first.info.clone();
    info.group = merged_group.clone();
    info.haplotypes = total;
    info.privacy = privacy.clone();

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new(
        MERGE_STAGE,
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
    );
    let mut out = OutputSet::new();
    let table = VariantTable {
        variants: first.variants.variants.clone(),
        allele_frequency: frequencies,
    };
    let mut vmanifest = Manifest::new(ArtifactKind::Variants, producer.clone())
        .param("group", merged_group.clone())
        .param(
            "copied_from",
            "the sites' variants, allele frequencies weighted by their haplotype counts",
        )
        .count("snps", table.len() as u64)
        .count("haplotypes", total);
    vmanifest.shape = first.variants_manifest.shape.clone();
    vmanifest.inputs = sites
        .iter()
        .map(|s| {
            FileRef::new(
                "variants",
                &s.variants_path,
                s.variants_manifest.sha256.clone(),
                out_dir,
            )
        })
        .collect::<Result<_, _>>()?;
    let variants_target = out_dir.join(VARIANTS_FILE);
    let written = out.stage_artifact(&variants_target, vmanifest, |w| {
        write_variants_parquet(&mut *w, &table)
    })?;

    let mut manifest = info
        .into_params(Manifest::new(ArtifactKind::Sketch, producer))
        .count("haplotypes", total)
        .count("snps", first.info.snps);
    manifest.seed = first.manifest.seed;
    manifest.shape = first.manifest.shape.clone();
    manifest.inputs = sites
        .iter()
        .map(|s| FileRef::new("sketch", &s.path, s.manifest.sha256.clone(), out_dir))
        .collect::<Result<_, _>>()?;
    manifest.companions = vec![FileRef::new(
        "variants",
        &variants_target,
        written.sha256,
        out_dir,
    )?];
    let sketch_path = out_dir.join(SKETCH_FILE);
    out.stage_artifact(&sketch_path, manifest, |w| {
        sketch.write_npy(&mut *w)?;
        w.flush().map_err(|e| ArtifactError::io(&sketch_path, e))
    })?;
    out.commit()?;
    Ok(MergeSummary {
        group: merged_group,
        sites: sites.len(),
        haplotypes: total,
        privacy,
        sketch: sketch_path,
    })
}
