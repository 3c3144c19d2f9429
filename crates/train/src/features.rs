//! phi on the trainer's side, as tensors. W comes from the same function as the sketch stage's
//! ([`FeatureSpec::fill_weight_rows`]), written straight into the tensor's storage.
//!
//! [`Objective`] is the whole loss of one restart: the feature map's block plus the sketch's
//! optional extra blocks (allele frequencies, allele-count features), each with its weight.

use artifact::features::{CountBlock, FeatureMap, FeatureSpec};
use artifact::{BlockKind, SketchInfo};
use tch::{Device, Kind, Tensor};

pub struct FeatureTensor {
    pub map: FeatureMap,
    /// relu: D x M. window: nW x w x f (window i's block, transposed for a batched matmul).
    pub weight: Option<Tensor>,
    /// window: the SNP index of every window position, nW * w (i64).
    pub index: Option<Tensor>,
}

impl FeatureTensor {
    pub fn new(spec: &FeatureSpec, seed: u64, device: Device) -> FeatureTensor {
        match spec.map {
            FeatureMap::Identity => FeatureTensor {
                map: spec.map,
                weight: None,
                index: None,
            },
            FeatureMap::Relu | FeatureMap::Window => {
                let (d, l) = (spec.features, spec.row_len());
                let w = Tensor::empty([d as i64, l as i64], (Kind::Float, Device::Cpu));
                // SAFETY: `w` is a fresh contiguous CPU f32 tensor of d * l elements that nothing
                // else references; filling it in place avoids a second D x M copy.
                let data =
                    unsafe { std::slice::from_raw_parts_mut(w.data_ptr() as *mut f32, d * l) };
                spec.fill_weight_rows(seed, 0, data);
                if spec.map == FeatureMap::Relu {
                    return FeatureTensor {
                        map: spec.map,
                        weight: Some(w.to_device(device)),
                        index: None,
                    };
                }
                // Rows i * f + k of W are window i's features: nW x f x w, then nW x w x f.
                let starts = spec.window_starts();
                let (nw, width, f) = (starts.len() as i64, spec.window as i64, spec.per_window);
                let w = w
                    .view([nw, f as i64, width])
                    .transpose(1, 2)
                    .contiguous()
                    .to_device(device);
                let index: Vec<i64> = starts
                    .iter()
                    .flat_map(|&a| (a as i64)..(a as i64 + width))
                    .collect();
                FeatureTensor {
                    map: spec.map,
                    weight: Some(w),
                    index: Some(Tensor::from_slice(&index).to_device(device)),
                }
            }
        }
    }

    /// phi(x) for a batch (B x M) -> B x D, in x's kind (f32 in training; f64 in the check
    /// against the sketch).
    pub fn phi(&self, x: &Tensor) -> Tensor {
        match (&self.map, &self.weight, &self.index) {
            (FeatureMap::Relu, Some(w), _) => x.matmul(&w.to_kind(x.kind()).tr()).relu(),
            (FeatureMap::Window, Some(w), Some(index)) => {
                // B x (nW w) -> nW x B x w, one small matmul per window (bmm), never a dense
                // D x M matrix: nW x B x f -> B x (nW f), feature i * f + k as in the sketch.
                let (nw, width, f) = {
                    let s = w.size();
                    (s[0], s[1], s[2])
                };
                let b = x.size()[0];
                let windows = x
                    .index_select(1, index)
                    .view([b, nw, width])
                    .transpose(0, 1);
                windows
                    .bmm(&w.to_kind(x.kind()))
                    .relu()
                    .transpose(0, 1)
                    .reshape([b, nw * f])
            }
            _ => x.shallow_clone(),
        }
    }

    /// Mean of phi over the rows of x.
    pub fn mean_phi(&self, x: &Tensor) -> Tensor {
        self.phi(x).mean_dim(0, false, x.kind())
    }
}

/// One block of the loss after the feature map's.
enum Extra {
    /// Allele frequencies: mean of x.
    Identity,
    /// Allele-count features: log(1 + ((sum_j x_j - t_k) / scale)^2).
    Count { thresholds: Tensor, scale: f64 },
}

/// The loss of one restart: sum over the sketch's blocks of weight * mean squared error between
/// the batch's mean features and the sketch row's block.
pub struct Objective {
    pub main: FeatureTensor,
    main_len: i64,
    extras: Vec<(Extra, i64, f64)>,
}

impl Objective {
    /// The feature map alone (weight 1), as the paper's loss.
    pub fn plain(main: FeatureTensor, features: usize) -> Objective {
        Objective {
            main,
            main_len: features as i64,
            extras: Vec::new(),
        }
    }

    /// Every block of `info`'s sketch, with restart seed `seed` for the feature map.
    pub fn new(info: &SketchInfo, seed: u64, device: Device) -> artifact::Result<Objective> {
        let spec = info.spec()?;
        let mut extras = Vec::new();
        for block in info.blocks()? {
            let extra = match block.kind {
                BlockKind::Features => continue,
                BlockKind::Identity => Extra::Identity,
                BlockKind::Count => {
                    let CountBlock { thresholds, scale } = info
                        .count_block()
                        .expect("a count block has its thresholds");
                    Extra::Count {
                        thresholds: Tensor::from_slice(&thresholds).to_device(device),
                        scale,
                    }
                }
            };
            extras.push((extra, block.len as i64, block.weight));
        }
        Ok(Objective {
            main: FeatureTensor::new(&spec, seed, device),
            main_len: spec.features as i64,
            extras,
        })
    }

    /// The mean of every block over the rows of x, concatenated: what the sketch row holds.
    pub fn mean_phi(&self, x: &Tensor) -> Tensor {
        let mut parts = vec![self.main.mean_phi(x)];
        for (extra, _, _) in &self.extras {
            parts.push(extra_mean(extra, x));
        }
        Tensor::cat(&parts, 0)
    }

    /// sum_b weight_b * mean((mean phi_b(x) - mu_b)^2) for a batch x against sketch row `mu`.
    /// With no extra blocks this is exactly the paper's loss (same ops, weight 1).
    pub fn loss(&self, x: &Tensor, mu: &Tensor) -> Tensor {
        let main_mu = mu.narrow(0, 0, self.main_len);
        let mut loss = (self.main.mean_phi(x) - main_mu).square().mean(Kind::Float);
        let mut offset = self.main_len;
        for (extra, len, weight) in &self.extras {
            let target = mu.narrow(0, offset, *len);
            let mse = (extra_mean(extra, x) - target).square().mean(Kind::Float);
            loss = loss + mse * *weight;
            offset += len;
        }
        loss
    }
}

fn extra_mean(extra: &Extra, x: &Tensor) -> Tensor {
    match extra {
        Extra::Identity => x.mean_dim(0, false, x.kind()),
        Extra::Count { thresholds, scale } => {
            let counts = x.sum_dim_intlist(1, true, x.kind()); // B x 1
            ((counts - thresholds.to_kind(x.kind()).unsqueeze(0)) / *scale)
                .square()
                .log1p()
                .mean_dim(0, false, x.kind())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use artifact::features::{WeightInit, WEIGHT_GENERATOR};
    use artifact::{GenotypeMatrix, HaplotypeLabel};

    fn toy(n: usize, m: usize) -> GenotypeMatrix {
        let labels = (0..n)
            .map(|i| HaplotypeLabel {
                sample: format!("s{}", i / 2),
                haplotype: (i % 2) as u8,
                group: Some("G".into()),
            })
            .collect();
        let values = (0..n * m)
            .map(|k| ((k * 7 + k / 3) % 5 == 0 || k % 11 == 3) as u8)
            .collect();
        GenotypeMatrix::new(labels, m, values).unwrap()
    }

    /// A window sketch with both extra blocks, as gmmn-sketch would describe it.
    fn info(gm: &GenotypeMatrix, spec: &FeatureSpec, count: &CountBlock) -> SketchInfo {
        let m = gm.n_snps() as u64;
        SketchInfo {
            group: "G".into(),
            haplotypes: gm.n_haplotypes() as u64,
            snps: m,
            features: spec.map,
            init: spec.init,
            multiplier: 1,
            feature_count: spec.features as u64 + m + count.thresholds.len() as u64,
            restarts: 1,
            seed: 0,
            restart_seeds: vec![17],
            weight_generator: WEIGHT_GENERATOR.into(),
            window: Some(spec.window as u64),
            stride: Some(spec.stride as u64),
            per_window: Some(spec.per_window as u64),
            identity_block: true,
            identity_weight: 0.25,
            count_features: count.thresholds.len() as u64,
            count_weight: 3.0,
            count_thresholds: count.thresholds.clone(),
            count_scale: count.scale,
            privacy: None,
        }
    }

    fn as_tensor(gm: &GenotypeMatrix, kind: Kind) -> Tensor {
        Tensor::from_slice(gm.values())
            .view([gm.n_haplotypes() as i64, gm.n_snps() as i64])
            .to_kind(kind)
    }

    #[test]
    fn window_phi_agrees_with_the_sketch_stage() {
        let gm = toy(60, 29);
        for init in [WeightInit::Gaussian, WeightInit::XavierUniform] {
            let spec = FeatureSpec::windowed(init, 29, 7, 4, 5).unwrap();
            let count = CountBlock::from_counts(&sketch::haplotype_counts(&gm), 4).unwrap();
            let info = info(&gm, &spec, &count);
            // What gmmn-sketch writes as the row of restart seed 17.
            let mut row = sketch::mean_features(&gm, &spec, 17, &|_| {});
            let n = gm.n_haplotypes() as f64;
            row.extend(gm.allele_counts().iter().map(|&c| (c as f64 / n) as f32));
            row.extend(sketch::mean_count_features(&gm, &count));
            assert_eq!(row.len() as u64, info.feature_count);

            let objective = Objective::new(&info, 17, Device::Cpu).unwrap();
            // W is the artifact's, bit for bit (window i's block transposed).
            let w: Vec<f32> = Vec::try_from(
                &objective
                    .main
                    .weight
                    .as_ref()
                    .unwrap()
                    .transpose(1, 2)
                    .flatten(0, -1),
            )
            .unwrap();
            let want = spec.weight(17);
            assert!(w.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));

            // f64 phi: the sketch's f64 sums rounded to f32, so equal to f32 rounding.
            let x = as_tensor(&gm, Kind::Double);
            let mean: Vec<f64> = Vec::try_from(&objective.mean_phi(&x)).unwrap();
            assert_eq!(mean.len(), row.len());
            for (i, (a, b)) in mean.iter().zip(&row).enumerate() {
                assert_eq!(*a as f32, *b, "feature {i} ({init:?})");
            }
            // A sketch row of the real data has (almost) no loss.
            let mu = Tensor::from_slice(&row).to_kind(Kind::Double);
            assert!(objective.loss(&x, &mu).double_value(&[]) < 1e-14);
        }
    }

    #[test]
    fn loss_is_the_weighted_sum_of_block_errors() {
        let gm = toy(20, 16);
        let spec = FeatureSpec::windowed(WeightInit::Gaussian, 16, 8, 4, 3).unwrap();
        let count = CountBlock::from_counts(&sketch::haplotype_counts(&gm), 2).unwrap();
        let info = info(&gm, &spec, &count);
        let objective = Objective::new(&info, 17, Device::Cpu).unwrap();
        let x = as_tensor(&gm, Kind::Float);
        let d = info.feature_count as usize;
        let mu: Vec<f32> = (0..d).map(|i| (i % 7) as f32 / 10.0).collect();
        let loss = objective
            .loss(&x, &Tensor::from_slice(&mu))
            .double_value(&[]);
        let mean: Vec<f32> = Vec::try_from(&objective.mean_phi(&x)).unwrap();
        let mse = |r: std::ops::Range<usize>| {
            let n = r.len() as f64;
            r.map(|i| ((mean[i] - mu[i]) as f64).powi(2)).sum::<f64>() / n
        };
        let main = spec.features;
        let want = mse(0..main) + 0.25 * mse(main..main + 16) + 3.0 * mse(main + 16..d);
        assert!(
            (loss - want).abs() <= 1e-5 * want,
            "loss {loss} vs weighted block errors {want}"
        );
    }
}
