//! The typed parts of gmmn-discriminate's `report.json` that other stages read (`gmmn run`'s
//! table): fidelity, privacy and utility figures, and a [`ReportSummary`] that deserialises a
//! report while ignoring what only people read (per-split details, diagnostics).
//!
//! gmmn-discriminate serialises these same types, so the writer and the readers cannot drift
//! apart by a misspelt string key.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

// serde_json writes a NaN f64 (the LD correlation of a generator whose output is constant, the
// accuracy of an empty group) as `null`; read `null` back as NaN so such a report stays
// readable and the table prints "nan" instead of failing.
fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn nan_if_null_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    let map = BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

/// Fidelity of one real-vs-synthetic comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    #[serde(deserialize_with = "nan_if_null")]
    pub allele_frequency_correlation: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub ld_r2_correlation: f64,
    pub ld_pairs: usize,
    /// Nearest-neighbour adversarial accuracy (0.5 ideal).
    #[serde(deserialize_with = "nan_if_null")]
    pub adversarial_accuracy: f64,
    /// Share of synthetic haplotypes identical to a real one.
    #[serde(deserialize_with = "nan_if_null")]
    pub identical_fraction: f64,
}

/// Low percentiles of a set of nearest-neighbour Hamming distances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistancePercentiles {
    #[serde(deserialize_with = "nan_if_null")]
    pub p1: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p5: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub median: f64,
}

/// What the synthetic haplotypes reveal of the generator's training haplotypes, measured
/// against held-out real haplotypes the generator never saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Privacy {
    /// Training haplotypes (members) and held-out haplotypes (non-members) the attack scored.
    pub members: usize,
    pub non_members: usize,
    /// AATS of synthetic against the training haplotypes and against the held-out ones.
    #[serde(deserialize_with = "nan_if_null")]
    pub aats_training: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub aats_heldout: f64,
    /// AATS_heldout - AATS_training (Yelmen et al. 2021): > 0 when synthetic haplotypes sit
    /// nearer their training haplotypes than unseen ones.
    #[serde(deserialize_with = "nan_if_null")]
    pub privacy_loss: f64,
    /// Share of synthetic haplotypes identical to a training haplotype.
    #[serde(deserialize_with = "nan_if_null")]
    pub identical_to_training: f64,
    /// The same share for held-out real haplotypes: what real data shows by chance.
    #[serde(deserialize_with = "nan_if_null")]
    pub heldout_identical_to_training: f64,
    /// Distance-to-closest-record membership attack: each training (member) and held-out
    /// (non-member) haplotype is scored by its Hamming distance to the nearest synthetic one;
    /// the AUC of telling members from non-members by that score (Mann-Whitney, ties count
    /// one half). 0.5 = no leak.
    #[serde(deserialize_with = "nan_if_null")]
    pub membership_auc: f64,
    /// Per group membership AUC.
    #[serde(deserialize_with = "nan_if_null_map")]
    pub membership_auc_per_group: BTreeMap<String, f64>,
    /// Distances from each synthetic haplotype to its nearest training haplotype...
    pub synthetic_to_training: DistancePercentiles,
    /// ... against those of each held-out real haplotype to its nearest training haplotype.
    pub heldout_to_training: DistancePercentiles,
    /// Histogram of both distance sets (the `dcr` figure's data).
    pub dcr_histogram: DistanceHistogram,
    /// Warnings in words (empty when nothing is flagged).
    pub flags: Vec<String>,
}

/// Counts of integer distances in bins [start + k w, start + (k + 1) w), the same bins for both
/// sets: synthetic to nearest training, held-out real to nearest training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistanceHistogram {
    pub start: u32,
    pub bin_width: u32,
    pub synthetic_to_training: Vec<u64>,
    pub heldout_to_training: Vec<u64>,
}

/// Accuracy of an ancestry classifier tested on held-out real haplotypes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AncestryAccuracy {
    /// Over every held-out haplotype.
    #[serde(deserialize_with = "nan_if_null")]
    pub accuracy: f64,
    /// Per true group (recall).
    #[serde(deserialize_with = "nan_if_null_map")]
    pub per_group: BTreeMap<String, f64>,
    /// On the hardest pair of groups (see [`Utility::hardest_pair`]), a classifier of that pair
    /// alone.
    #[serde(deserialize_with = "nan_if_null")]
    pub hardest_pair: f64,
}

/// Train-synthetic-test-real: what the synthetic haplotypes are worth for an ancestry
/// classifier, beside the same classifier trained on the real training haplotypes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utility {
    pub classifier: String,
    /// The pair of groups the real-trained pairwise classifier tells apart worst.
    pub hardest_pair: (String, String),
    pub trained_on_synthetic: AncestryAccuracy,
    pub trained_on_real: AncestryAccuracy,
}

/// One classifier's mean test accuracy and its sd over the splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierSummary {
    pub name: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub sd: f64,
}

/// A group's own figures within a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub group: String,
    pub fidelity: Fidelity,
}

/// One comparison of a report, as the table reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonSummary {
    pub name: String,
    /// `strict` or `paper` (absent in reports written before the paper protocol existed).
    #[serde(default)]
    pub protocol: Option<String>,
    pub classifiers: Vec<ClassifierSummary>,
    #[serde(deserialize_with = "nan_if_null")]
    pub delta: f64,
    pub fidelity: Fidelity,
    pub groups: Vec<GroupSummary>,
    #[serde(default)]
    pub privacy: Option<Privacy>,
    #[serde(default)]
    pub utility: Option<Utility>,
}

/// The part of `report.json` other stages read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    pub snps: usize,
    pub groups: Vec<String>,
    pub comparisons: Vec<ComparisonSummary>,
}

impl ReportSummary {
    pub fn comparison(&self, name: &str) -> Option<&ComparisonSummary> {
        self.comparisons.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_written_as_null_reads_back_as_nan() {
        let fidelity = Fidelity {
            allele_frequency_correlation: 0.99,
            ld_r2_correlation: f64::NAN,
            ld_pairs: 3,
            adversarial_accuracy: 0.5,
            identical_fraction: 0.0,
        };
        let json = serde_json::to_string(&fidelity).unwrap();
        assert!(json.contains("\"ld_r2_correlation\":null"), "{json}");
        let back: Fidelity = serde_json::from_str(&json).unwrap();
        assert!(back.ld_r2_correlation.is_nan());
        assert_eq!(back.allele_frequency_correlation, 0.99);

        let per_group: BTreeMap<String, f64> = [("CEU".to_string(), f64::NAN)].into();
        let accuracy = AncestryAccuracy {
            accuracy: 0.7,
            per_group,
            hardest_pair: 0.6,
        };
        let json = serde_json::to_string(&accuracy).unwrap();
        let back: AncestryAccuracy = serde_json::from_str(&json).unwrap();
        assert!(back.per_group["CEU"].is_nan());
    }
}
