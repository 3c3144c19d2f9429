//! phi on the trainer's side, as tensors. W comes from the same function as the sketch stage's
//! ([`FeatureSpec::fill_weight_rows`]), written straight into the tensor's storage.

use artifact::features::{FeatureMap, FeatureSpec};
use tch::{Device, Kind, Tensor};

pub struct FeatureTensor {
    pub map: FeatureMap,
    /// D x M (relu only).
    pub weight: Option<Tensor>,
}

impl FeatureTensor {
    pub fn new(spec: &FeatureSpec, seed: u64, device: Device) -> FeatureTensor {
        match spec.map {
            FeatureMap::Identity => FeatureTensor {
                map: spec.map,
                weight: None,
            },
            FeatureMap::Relu => {
                let (d, m) = (spec.features, spec.snps);
                let w = Tensor::empty([d as i64, m as i64], (Kind::Float, Device::Cpu));
                // SAFETY: `w` is a fresh contiguous CPU f32 tensor of d * m elements that nothing
                // else references; filling it in place avoids a second D x M copy.
                let data =
                    unsafe { std::slice::from_raw_parts_mut(w.data_ptr() as *mut f32, d * m) };
                spec.fill_weight_rows(seed, 0, data);
                FeatureTensor {
                    map: spec.map,
                    weight: Some(w.to_device(device)),
                }
            }
        }
    }

    /// phi(x) for a batch (B x M) -> B x D, in x's kind (f32 in training; f64 in the check
    /// against the sketch).
    pub fn phi(&self, x: &Tensor) -> Tensor {
        match (&self.map, &self.weight) {
            (FeatureMap::Relu, Some(w)) => x.matmul(&w.to_kind(x.kind()).tr()).relu(),
            _ => x.shallow_clone(),
        }
    }

    /// Mean of phi over the rows of x.
    pub fn mean_phi(&self, x: &Tensor) -> Tensor {
        self.phi(x).mean_dim(0, false, x.kind())
    }
}
