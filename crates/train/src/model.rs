//! The trained model directory: `model.safetensors` (+ manifest with every hyper-parameter),
//! `variants.parquet` (the training group's variants, for the sampler's VCF), `loss.csv` and
//! `loss.png`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use artifact::features::FeatureMap;
use artifact::plot::{line_chart_png, Series};
use artifact::{ArtifactError, ArtifactKind, Block, FileRef, Manifest, OutputSet, Producer};
use safetensors::tensor::{Dtype, View};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::generator::{Generator, OutputLayer, Shape};
use crate::{TrainError, LOSS_FILE, LOSS_PLOT};

pub const MODEL_FILE: &str = "model.safetensors";
pub use artifact::VARIANTS_FILE;

/// The model manifest's params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub group: String,
    pub snps: i64,
    pub latent: i64,
    pub hidden: i64,
    /// --local-blocks: SNP blocks of the block-diagonal generator (1: the paper's dense one;
    /// the default lets models written before this field be read).
    #[serde(default = "one")]
    pub local_blocks: i64,
    pub output: OutputLayer,
    pub features: FeatureMap,
    pub feature_count: u64,
    pub restarts: u64,
    pub restart_every: u64,
    pub batch: i64,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub steps: u64,
    pub seed: u64,
    pub quantizer_k: f64,
    pub quantizer_t: f64,
    pub checkpoint_every: u64,
    pub resumed_from: u64,
    pub device: String,
    pub final_loss: f64,
    /// The sketch's blocks and their loss weights (one `features` block of weight 1 for the
    /// paper's loss). Defaults let models written before these fields be read.
    #[serde(default)]
    pub blocks: Vec<Block>,
    /// --mask-monomorphic, and the number of SNPs it fixed (the mask itself is in the model
    /// file, tensors `mask.free` and `mask.value`).
    #[serde(default)]
    pub mask_monomorphic: bool,
    #[serde(default)]
    pub masked_snps: u64,
}

impl ModelInfo {
    pub fn shape(&self) -> Shape {
        Shape {
            latent: self.latent,
            hidden: self.hidden,
            snps: self.snps,
            blocks: self.local_blocks,
        }
    }
}

fn one() -> i64 {
    1
}

struct Blob {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Blob {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Named CPU tensors (f32, f64 or u8) as safetensors bytes, so that they can go through an
/// atomic [`OutputSet`] writer.
pub fn safetensors_bytes(named: &[(String, Tensor)]) -> Result<Vec<u8>, TrainError> {
    let mut blobs = BTreeMap::new();
    for (name, t) in named {
        let t = t.to_device(Device::Cpu).contiguous();
        let (dtype, data) = match t.kind() {
            Kind::Float => (
                Dtype::F32,
                Vec::<f32>::try_from(&t.flatten(0, -1))?
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
            Kind::Double => (
                Dtype::F64,
                Vec::<f64>::try_from(&t.flatten(0, -1))?
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
            k => {
                return Err(TrainError::Usage(format!(
                    "cannot save tensor `{name}` of kind {k:?}"
                )))
            }
        };
        let shape = t.size().iter().map(|&d| d as usize).collect();
        blobs.insert(name.clone(), Blob { dtype, shape, data });
    }
    safetensors::tensor::serialize(blobs.iter().map(|(k, b)| (k.clone(), b)), &None)
        .map_err(|e| TrainError::Usage(format!("safetensors: {e:?}")))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn write_model(
    out_dir: &Path,
    gen: &Generator,
    info: &ModelInfo,
    losses: &[f64],
    (sketch_path, sketch_manifest): (&Path, &Manifest),
    (variants_path, variants_manifest): (&Path, &Manifest),
    producer: &Producer,
    mark_restarts: bool,
    restart_of: impl Fn(u64) -> u64,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let params = |mut m: Manifest| {
        if let serde_json::Value::Object(map) =
            serde_json::to_value(info).expect("ModelInfo serialises")
        {
            m.params.extend(map);
        }
        m
    };
    let inputs = vec![FileRef::new(
        "sketch",
        sketch_path,
        sketch_manifest.sha256.clone(),
        out_dir,
    )?];
    let mut out = OutputSet::new();

    let variants_copy = out.stage_variants_copy(
        out_dir,
        producer,
        &info.group,
        (variants_path, variants_manifest),
    )?;

    let lpath = out_dir.join(LOSS_FILE);
    let mut lm = Manifest::new(ArtifactKind::LossLog, producer.clone())
        .param("columns", "step,restart,loss");
    lm.shape = vec![losses.len() as u64];
    lm.inputs = inputs.clone();
    let lm = out.stage_artifact(&lpath, lm, |w| {
        let mut text = String::from("step,restart,loss\n");
        for (i, l) in losses.iter().enumerate() {
            text.push_str(&format!("{},{},{:e}\n", i + 1, restart_of(i as u64), l));
        }
        w.write_all(text.as_bytes())
            .map_err(|e| ArtifactError::io(&lpath, e))
    })?;

    let ppath = out_dir.join(LOSS_PLOT);
    let points: Vec<(f64, f64)> = losses
        .iter()
        .enumerate()
        .map(|(i, &l)| ((i + 1) as f64, l))
        .collect();
    let title = format!(
        "GMMN {} ({}, {} features{})",
        info.group,
        info.output.as_str(),
        info.features.as_str(),
        if mark_restarts {
            format!(", restart every {}", info.restart_every)
        } else {
            String::new()
        }
    );
    let png = line_chart_png(
        &title,
        "step",
        "loss (MSE of mean features)",
        &[Series {
            label: "loss",
            points: &points,
            color: (31, 119, 180),
        }],
        true,
        (900, 500),
    )?;
    let mut pm = Manifest::new(ArtifactKind::Plot, producer.clone())
        .param("plots", "loss per step, log scale");
    pm.inputs = vec![FileRef::new("loss", &lpath, lm.sha256.clone(), out_dir)?];
    out.stage_artifact(&ppath, pm, |w| {
        w.write_all(&png).map_err(|e| ArtifactError::io(&ppath, e))
    })?;

    let mpath = out_dir.join(MODEL_FILE);
    let bytes = safetensors_bytes(&gen.named_tensors())?;
    let mut mm = params(Manifest::new(ArtifactKind::Model, producer.clone()));
    mm.seed = Some(info.seed);
    mm.shape = vec![info.latent as u64, info.hidden as u64, info.snps as u64];
    mm.inputs = inputs;
    mm.companions = vec![
        variants_copy,
        FileRef::new("loss", &lpath, lm.sha256.clone(), out_dir)?,
    ];
    out.stage_artifact(&mpath, mm, |w| {
        w.write_all(&bytes)
            .map_err(|e| ArtifactError::io(&mpath, e))
    })?;
    out.commit()?;
    Ok(())
}

/// A model file or a gmmn-train output directory.
pub fn resolve_model(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.join(MODEL_FILE)
    } else {
        input.to_path_buf()
    }
}

/// Load and verify a trained model (manifest kind and hash, tensor names and shapes).
pub fn load_model(
    input: &Path,
    device: Device,
) -> Result<(Generator, ModelInfo, Manifest, PathBuf), TrainError> {
    let path = resolve_model(input);
    let manifest = artifact::open_artifact(&path, ArtifactKind::Model)?;
    let map: serde_json::Map<String, serde_json::Value> = manifest
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let info: ModelInfo = serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
        ArtifactError::BadManifest {
            path: artifact::manifest_path(&path),
            message: format!("model params: {e}"),
        }
    })?;
    let named: BTreeMap<String, Tensor> = Tensor::read_safetensors(&path)
        .map_err(|e| TrainError::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?
        .into_iter()
        .collect();
    let gen =
        Generator::from_named(info.shape(), info.output, &named, device).map_err(|message| {
            TrainError::Checkpoint {
                path: path.clone(),
                message,
            }
        })?;
    let masked = gen.mask.as_ref().map_or(0, |m| m.fixed());
    if gen.mask.is_some() != info.mask_monomorphic || masked != info.masked_snps {
        return Err(TrainError::Checkpoint {
            path: path.clone(),
            message: format!(
                "the manifest says mask_monomorphic {} ({} SNPs) but the file's mask fixes {masked}",
                info.mask_monomorphic, info.masked_snps
            ),
        });
    }
    Ok((gen, info, manifest, path))
}
