//! The generator: Linear(Z -> H) -> ReLU -> BatchNorm1d(H) -> Linear(H -> M) -> output layer.
//!
//! With `local_blocks` K > 1 (`--local-blocks`; the paper's dense generator is K = 1) the SNPs
//! are cut into K contiguous blocks and both linear layers become block-diagonal: block k's SNPs
//! are driven only by its own Z/K noise coordinates and H/K hidden units. Real haplotypes at
//! distant SNPs are nearly independent (LD is local), but a dense generator ties every SNP to the
//! same hidden units and creates long-range correlations that no sketch of local features sees:
//! measured, the spread of allele counts per haplotype was 5x the real one.
//!
//! Written with plain tensors rather than `tch::nn` modules so that every parameter and buffer
//! has a stable name (for safetensors checkpoints) and initialisation is seeded by our own
//! portable RNG, independent of libtorch's generator and device.

use std::collections::BTreeMap;

use artifact::rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Quantizer constants (DESIGN.md): backward as if forward were k * tanh(t * x).
pub const QUANTIZER_K: f64 = 10.0;
pub const QUANTIZER_T: f64 = 0.1;
pub const BATCH_NORM_EPS: f64 = 1e-5;
pub const BATCH_NORM_MOMENTUM: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputLayer {
    /// Binary output: forward x >= 0, backward k t (1 - tanh^2(t x)).
    Quantizer,
    /// The ablation: sigmoid output, thresholded at 0.5 when sampling.
    Sigmoid,
}

impl std::str::FromStr for OutputLayer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "quantizer" => Ok(OutputLayer::Quantizer),
            "sigmoid" => Ok(OutputLayer::Sigmoid),
            o => Err(format!(
                "unknown output `{o}` (expected quantizer or sigmoid)"
            )),
        }
    }
}

impl OutputLayer {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputLayer::Quantizer => "quantizer",
            OutputLayer::Sigmoid => "sigmoid",
        }
    }
}

/// Binary quantizer with the paper's surrogate gradient. `hard + (soft - soft.detach())` is
/// exactly `hard` in the forward pass (the bracket is exactly 0) and has soft's gradient.
pub fn quantize(x: &Tensor) -> Tensor {
    let hard = x.ge(0.0).to_kind(Kind::Float);
    let soft = (x * QUANTIZER_T).tanh() * QUANTIZER_K;
    hard + (&soft - soft.detach())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub latent: i64,
    pub hidden: i64,
    pub snps: i64,
    /// Block-diagonal generator with this many SNP blocks (1: the paper's dense one).
    pub blocks: i64,
}

impl Shape {
    /// The paper's dense generator.
    pub fn dense(latent: i64, hidden: i64, snps: i64) -> Shape {
        Shape {
            latent,
            hidden,
            snps,
            blocks: 1,
        }
    }

    /// Why this shape cannot be built, if it cannot: blocks must divide Z and H, and leave every
    /// block at least one SNP.
    pub fn check(&self) -> Result<(), String> {
        let k = self.blocks;
        if k < 1 {
            return Err("--local-blocks must be at least 1".into());
        }
        if k > 1 && (self.latent % k != 0 || self.hidden % k != 0) {
            return Err(format!(
                "--local-blocks {k} must divide --latent ({}) and --hidden ({})",
                self.latent, self.hidden
            ));
        }
        if k > self.snps {
            return Err(format!(
                "--local-blocks {k} is more than the {} SNPs",
                self.snps
            ));
        }
        Ok(())
    }

    /// Block k covers SNPs bounds[k]..bounds[k + 1] (as even as integers allow).
    pub fn block_bounds(&self) -> Vec<i64> {
        (0..=self.blocks)
            .map(|k| k * self.snps / self.blocks)
            .collect()
    }

    /// Padded SNPs per block: every block's output is computed at this width.
    fn block_width(&self) -> i64 {
        self.block_bounds()
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    /// Columns of the padded block output that are real SNPs, in SNP order (None when dense).
    fn block_index(&self, device: Device) -> Option<Tensor> {
        if self.blocks == 1 {
            return None;
        }
        let width = self.block_width();
        let index: Vec<i64> = self
            .block_bounds()
            .windows(2)
            .enumerate()
            .flat_map(|(k, w)| (0..w[1] - w[0]).map(move |j| k as i64 * width + j))
            .collect();
        Some(Tensor::from_slice(&index).to_device(device))
    }

    /// Parameter and buffer shapes, in [`PARAMETERS`] then [`BUFFERS`] order.
    fn tensor_dims(&self) -> [(&'static str, Vec<i64>); 8] {
        let (z, h, m, k) = (self.latent, self.hidden, self.snps, self.blocks);
        if k == 1 {
            return [
                ("l1.weight", vec![h, z]),
                ("l1.bias", vec![h]),
                ("bn.weight", vec![h]),
                ("bn.bias", vec![h]),
                ("l2.weight", vec![m, h]),
                ("l2.bias", vec![m]),
                ("bn.running_mean", vec![h]),
                ("bn.running_var", vec![h]),
            ];
        }
        let (zk, hk, mk) = (z / k, h / k, self.block_width());
        [
            ("l1.weight", vec![k, zk, hk]),
            ("l1.bias", vec![k, 1, hk]),
            ("bn.weight", vec![h]),
            ("bn.bias", vec![h]),
            ("l2.weight", vec![k, hk, mk]),
            ("l2.bias", vec![k, 1, mk]),
            ("bn.running_mean", vec![h]),
            ("bn.running_var", vec![h]),
        ]
    }
}

/// Parameter names, in the fixed order used for the optimiser and for files.
pub const PARAMETERS: [&str; 6] = [
    "l1.weight",
    "l1.bias",
    "bn.weight",
    "bn.bias",
    "l2.weight",
    "l2.bias",
];
pub const BUFFERS: [&str; 2] = ["bn.running_mean", "bn.running_var"];

pub struct Generator {
    pub shape: Shape,
    pub output: OutputLayer,
    /// Trainable tensors, named as in [`PARAMETERS`].
    pub params: BTreeMap<String, Tensor>,
    /// Batch-norm running statistics.
    pub buffers: BTreeMap<String, Tensor>,
    /// SNPs whose output is fixed (--mask-monomorphic), or None.
    pub mask: Option<OutputMask>,
    /// Block-diagonal generator: [`Shape::block_index`], built once rather than every step.
    block_index: Option<Tensor>,
}

/// Tensor names of an [`OutputMask`] in model and checkpoint files.
pub const MASK_FREE: &str = "mask.free";
pub const MASK_VALUE: &str = "mask.value";

/// Output SNPs fixed to a value: output = x * free + value, where free is 1 for a learnt SNP and
/// 0 for a fixed one, and value is the fixed allele (0 where free). Part of the model, so the
/// sampler applies exactly what training saw.
pub struct OutputMask {
    pub free: Tensor,
    pub value: Tensor,
}

impl OutputMask {
    /// Fix every SNP whose frequency is exactly 0 or 1 to that allele.
    pub fn monomorphic(frequencies: &[f32], device: Device) -> OutputMask {
        let free: Vec<f32> = frequencies
            .iter()
            .map(|&f| if f == 0.0 || f == 1.0 { 0.0 } else { 1.0 })
            .collect();
        let value: Vec<f32> = frequencies
            .iter()
            .map(|&f| if f == 1.0 { 1.0 } else { 0.0 })
            .collect();
        OutputMask {
            free: Tensor::from_slice(&free).to_device(device),
            value: Tensor::from_slice(&value).to_device(device),
        }
    }

    /// Number of fixed SNPs.
    pub fn fixed(&self) -> u64 {
        (self.free.numel() as f64 - self.free.sum(Kind::Double).double_value(&[])).round() as u64
    }

    fn apply(&self, x: &Tensor) -> Tensor {
        x * &self.free + &self.value
    }
}
fn uniform_tensor(seed: u64, n: usize, bound: f64, dims: &[i64], device: Device) -> Tensor {
    let v: Vec<f32> = (0..n as u64)
        .map(|k| ((2.0 * rng::uniform(seed, k) - 1.0) * bound) as f32)
        .collect();
    Tensor::from_slice(&v).view(dims).to_device(device)
}

impl Generator {
    /// PyTorch's default initialisation (Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight
    /// and bias; BatchNorm: weight 1, bias 0), drawn from `seed` by the portable RNG.
    pub fn new(shape: Shape, output: OutputLayer, seed: u64, device: Device) -> Generator {
        let opts = (Kind::Float, device);
        // fan_in of a block's units: its own Z/K noise coordinates and H/K hidden units.
        let b1 = 1.0 / ((shape.latent / shape.blocks) as f64).sqrt();
        let b2 = 1.0 / ((shape.hidden / shape.blocks) as f64).sqrt();
        let s = |i| rng::derive_seed(seed, i);
        let (mut params, mut buffers) = (BTreeMap::new(), BTreeMap::new());
        for (name, dims) in shape.tensor_dims() {
            let n = dims.iter().product::<i64>() as usize;
            // Seeds 1..4 for l1.weight, l1.bias, l2.weight, l2.bias as before blocks existed,
            // so the dense generator is initialised bit for bit as it always was.
            let uniform = |k, bound| uniform_tensor(s(k), n, bound, &dims, device);
            let t = match name {
                "l1.weight" => uniform(1, b1),
                "l1.bias" => uniform(2, b1),
                "l2.weight" => uniform(3, b2),
                "l2.bias" => uniform(4, b2),
                "bn.weight" | "bn.running_var" => Tensor::ones(dims.as_slice(), opts),
                _ => Tensor::zeros(dims.as_slice(), opts),
            };
            if PARAMETERS.contains(&name) {
                params.insert(name.to_string(), t.set_requires_grad(true));
            } else {
                buffers.insert(name.to_string(), t);
            }
        }
        Generator {
            shape,
            output,
            params,
            buffers,
            mask: None,
            block_index: shape.block_index(device),
        }
    }

    fn p(&self, name: &str) -> &Tensor {
        &self.params[name]
    }

    /// Pre-output activations (B x M). `train`: batch statistics (and running-stat updates).
    pub fn logits(&self, noise: &Tensor, train: bool) -> Tensor {
        let k = self.shape.blocks;
        let batch = noise.size()[0];
        let h = if k == 1 {
            noise.linear(self.p("l1.weight"), Some(self.p("l1.bias")))
        } else {
            // B x Z -> K x B x Z/K, one matmul per block: K x B x H/K -> B x H.
            noise
                .view([batch, k, -1])
                .transpose(0, 1)
                .bmm(self.p("l1.weight"))
                .g_add(self.p("l1.bias"))
                .transpose(0, 1)
                .reshape([batch, self.shape.hidden])
        }
        .relu();
        let h = h.batch_norm(
            Some(self.p("bn.weight")),
            Some(self.p("bn.bias")),
            Some(&self.buffers["bn.running_mean"]),
            Some(&self.buffers["bn.running_var"]),
            train,
            BATCH_NORM_MOMENTUM,
            BATCH_NORM_EPS,
            false,
        );
        if k == 1 {
            return h.linear(self.p("l2.weight"), Some(self.p("l2.bias")));
        }
        // K x B x H/K -> K x B x width -> B x (K width), then drop each block's padding.
        let padded = h
            .view([batch, k, -1])
            .transpose(0, 1)
            .bmm(self.p("l2.weight"))
            .g_add(self.p("l2.bias"))
            .transpose(0, 1)
            .reshape([batch, -1]);
        let index = self
            .block_index
            .as_ref()
            .expect("a block-diagonal generator has its index");
        padded.index_select(1, index)
    }

    /// Training output: binary (quantizer) or in (0, 1) (sigmoid), differentiable.
    pub fn forward_train(&self, noise: &Tensor) -> Tensor {
        let x = self.logits(noise, true);
        let x = match self.output {
            OutputLayer::Quantizer => quantize(&x),
            OutputLayer::Sigmoid => x.sigmoid(),
        };
        match &self.mask {
            Some(mask) => mask.apply(&x),
            None => x,
        }
    }

    /// Sampling: eval-mode batch norm, hard 0/1 output as u8 (B x M).
    pub fn sample(&self, noise: &Tensor) -> Tensor {
        tch::no_grad(|| {
            let x = self.logits(noise, false);
            let bits = match self.output {
                OutputLayer::Quantizer => x.ge(0.0),
                OutputLayer::Sigmoid => x.sigmoid().ge(0.5),
            };
            match &self.mask {
                Some(mask) => mask.apply(&bits.to_kind(Kind::Float)).ge(0.5),
                None => bits,
            }
            .to_kind(Kind::Uint8)
        })
    }

    /// Every parameter and buffer (and the output mask, if any), by name (CPU copies, for
    /// saving).
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mask = self.mask.iter().flat_map(|m| {
            [
                (MASK_FREE.to_string(), &m.free),
                (MASK_VALUE.to_string(), &m.value),
            ]
        });
        self.params
            .iter()
            .chain(self.buffers.iter())
            .map(|(k, v)| (k.clone(), v))
            .chain(mask)
            .map(|(k, v)| (k, v.detach().to_device(Device::Cpu).contiguous()))
            .collect()
    }

    /// Rebuild from named tensors (a model or checkpoint file), checking names and shapes. The
    /// output mask is loaded when the file has one (callers check that it should).
    pub fn from_named(
        shape: Shape,
        output: OutputLayer,
        named: &BTreeMap<String, Tensor>,
        device: Device,
    ) -> Result<Generator, String> {
        shape.check()?;
        let m = shape.snps;
        let expect = shape.tensor_dims();
        let mut g = Generator {
            shape,
            output,
            params: BTreeMap::new(),
            buffers: BTreeMap::new(),
            mask: None,
            block_index: shape.block_index(device),
        };
        for (name, dims) in expect {
            let t = named
                .get(name)
                .ok_or_else(|| format!("tensor `{name}` is missing"))?;
            if t.size() != dims {
                return Err(format!(
                    "tensor `{name}` has shape {:?}, expected {dims:?}",
                    t.size()
                ));
            }
            if t.kind() != Kind::Float {
                return Err(format!("tensor `{name}` is {:?}, expected f32", t.kind()));
            }
            // A NaN weight would not fail anything downstream: the quantizer reads NaN as
            // allele 0, and the sample would be silently wrong.
            let bad = t.isfinite().logical_not().sum(Kind::Int64).int64_value(&[]);
            if bad > 0 {
                return Err(format!(
                    "tensor `{name}` holds {bad} non-finite value(s) (NaN or inf): the file is damaged, \
                     or it was written by a training run that diverged"
                ));
            }
            let t = t.to_device(device).detach().copy();
            if PARAMETERS.contains(&name) {
                g.params.insert(name.into(), t.set_requires_grad(true));
            } else {
                g.buffers.insert(name.into(), t);
            }
        }
        match (named.get(MASK_FREE), named.get(MASK_VALUE)) {
            (None, None) => {}
            (Some(free), Some(value)) => {
                for (name, t) in [(MASK_FREE, free), (MASK_VALUE, value)] {
                    if t.size() != [m] || t.kind() != Kind::Float {
                        return Err(format!(
                            "tensor `{name}` is {:?} {:?}, expected f32 [{m}]",
                            t.kind(),
                            t.size()
                        ));
                    }
                }
                g.mask = Some(OutputMask {
                    free: free.to_device(device).detach().copy(),
                    value: value.to_device(device).detach().copy(),
                });
            }
            _ => {
                return Err(format!(
                    "only one of `{MASK_FREE}` and `{MASK_VALUE}`: the output mask is incomplete"
                ))
            }
        }
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizer_forward_and_backward_follow_the_formula() {
        let xs = [-30.0f32, -2.5, -0.01, 0.0, 0.01, 1.0, 7.0, 40.0];
        let x = Tensor::from_slice(&xs).set_requires_grad(true);
        let y = quantize(&x);
        let fwd: Vec<f32> = Vec::try_from(&y).unwrap();
        for (v, &xi) in fwd.iter().zip(&xs) {
            assert_eq!(*v, if xi >= 0.0 { 1.0 } else { 0.0 }, "forward at {xi}");
        }
        // Upstream gradient g_i = i + 1, so grad_in_i = k t (1 - tanh^2(t x_i)) (i + 1).
        let g: Vec<f32> = (1..=xs.len()).map(|i| i as f32).collect();
        (y * Tensor::from_slice(&g)).sum(Kind::Float).backward();
        let grad: Vec<f32> = Vec::try_from(&x.grad()).unwrap();
        for (i, &xi) in xs.iter().enumerate() {
            let th = (QUANTIZER_T * xi as f64).tanh();
            let want = QUANTIZER_K * QUANTIZER_T * (1.0 - th * th) * g[i] as f64;
            assert!(
                (grad[i] as f64 - want).abs() < 1e-5 * want.abs().max(1.0),
                "grad at {xi}: {} vs {want}",
                grad[i]
            );
        }
    }

    #[test]
    fn shapes_and_binary_samples() {
        let g = Generator::new(
            Shape::dense(3, 8, 5),
            OutputLayer::Quantizer,
            1,
            Device::Cpu,
        );
        let z = Tensor::randn([4, 3], (Kind::Float, Device::Cpu));
        assert_eq!(g.forward_train(&z).size(), vec![4, 5]);
        let s: Vec<u8> = Vec::try_from(&g.sample(&z).flatten(0, -1)).unwrap();
        assert!(s.iter().all(|&v| v <= 1));
        let named: BTreeMap<_, _> = g.named_tensors().into_iter().collect();
        let back = Generator::from_named(g.shape, g.output, &named, Device::Cpu).unwrap();
        assert!(back.params["l2.weight"].equal(&g.params["l2.weight"].detach()));
        let bad = Generator::from_named(Shape::dense(4, 8, 5), g.output, &named, Device::Cpu);
        assert!(bad.err().unwrap().contains("l1.weight"));
    }

    #[test]
    fn block_diagonal_generator_keeps_blocks_independent() {
        // 7 SNPs in 3 blocks: 0..2, 2..4, 4..7 (padded width 3).
        let shape = Shape {
            latent: 6,
            hidden: 9,
            snps: 7,
            blocks: 3,
        };
        assert_eq!(shape.block_bounds(), vec![0, 2, 4, 7]);
        let g = Generator::new(shape, OutputLayer::Quantizer, 5, Device::Cpu);
        assert_eq!(g.params["l1.weight"].size(), vec![3, 2, 3]);
        assert_eq!(g.params["l2.weight"].size(), vec![3, 3, 3]);
        let z = Tensor::randn([4, 6], (Kind::Float, Device::Cpu));
        let base = g.logits(&z, false);
        assert_eq!(base.size(), vec![4, 7]);
        // Changing block 1's noise (coordinates 2, 3) moves only SNPs 2 and 3.
        let z2 = z.copy();
        let _ = z2.narrow(1, 2, 2).fill_(5.0);
        let moved = g.logits(&z2, false);
        let diff: Vec<f32> = Vec::try_from(
            (moved - &base)
                .abs()
                .amax([0].as_slice(), false)
                .to_kind(Kind::Float),
        )
        .unwrap();
        for (j, d) in diff.iter().enumerate() {
            assert_eq!(*d > 0.0, (2..4).contains(&j), "SNP {j} moved by {d}");
        }
        // Saved and rebuilt, the same logits.
        let named: BTreeMap<_, _> = g.named_tensors().into_iter().collect();
        let back = Generator::from_named(shape, g.output, &named, Device::Cpu).unwrap();
        assert!(back.logits(&z, false).equal(&base));
        // Dense names with block shapes are refused by shape, not misread.
        let dense = Generator::from_named(Shape::dense(6, 9, 7), g.output, &named, Device::Cpu);
        assert!(dense.err().unwrap().contains("l1.weight"));
        for bad in [(4, 9), (6, 8)] {
            let s = Shape {
                latent: bad.0,
                hidden: bad.1,
                ..shape
            };
            assert!(s.check().unwrap_err().contains("must divide"));
        }
    }
}
