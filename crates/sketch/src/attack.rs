//! `gmmn-sketch-attack`: can a released sketch tell whether a person was in it?
//!
//! The attacker holds the sketch S (a mean of feature vectors over the group's haplotypes), a
//! candidate individual x and a reference sketch R of the same population computed from public
//! data (here: half of the held-out individuals). A member pulls S towards phi(x) by about
//! (phi(x) - mu) / N, so the score <phi(x) - R, S - R> (the candidate's deviation from the
//! population projected on the sketch's; the linear test of Homer et al. 2008 on features) is
//! larger for members. The other half of the held-out individuals are the non-members; the AUC
//! of members against non-members is the attack's success (0.5: no better than a coin).

use std::path::Path;

use artifact::features::FeatureMap;
use artifact::rng::SeededRng;
use artifact::{
    open_artifact, read_genotypes_parquet, ArtifactError, ArtifactKind, FileRef, GenotypeMatrix,
    Manifest, OutputSet, Producer, Sketch, SketchInfo,
};
use serde::Serialize;

use crate::dp::{self, Part};
use crate::SketchError;

pub const ATTACK_FILE: &str = "attack.json";
pub const ATTACK_STAGE: &str = "sketch-attack";
pub const STATISTIC: &str = "sum_k (phi_k(x) - R_k) (S_k - R_k) / v_k: phi(x) the mean features \
                             of the candidate's haplotypes, R and v the mean and variance over the \
                             reference individuals";

/// What `attack.json` holds.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SketchAttack {
    pub group: String,
    pub statistic: String,
    /// AUC of members against non-members (0.5: no information).
    pub auc: f64,
    /// Advantage 2 |AUC - 0.5|.
    pub advantage: f64,
    pub members: usize,
    pub non_members: usize,
    pub reference: usize,
    /// The sketch's epsilon (None: an exact sketch).
    pub epsilon: Option<f64>,
}

fn people_of(matrix: &GenotypeMatrix) -> (usize, Vec<usize>, Vec<usize>) {
    let (n, of) = dp::people(matrix);
    let mut haplotypes = vec![0usize; n];
    for &p in &of {
        haplotypes[p] += 1;
    }
    (n, of, haplotypes)
}

/// The part's slice in a sketch row (`row` = restart of the part's W).
fn part_slice<'a>(
    info: &SketchInfo,
    sketch: &'a Sketch,
    part: &Part,
    blocks: &[artifact::Block],
) -> Option<&'a [f32]> {
    match part {
        Part::Features { seed, rows } => {
            let r = info.restart_seeds.iter().position(|s| s == seed)?;
            Some(&sketch.row(r)[rows.clone()])
        }
        Part::Alleles => {
            if info.features == FeatureMap::Identity {
                return Some(&sketch.row(0)[..info.snps as usize]);
            }
            let b = blocks
                .iter()
                .find(|b| b.kind == artifact::BlockKind::Identity)?;
            Some(&sketch.row(0)[b.offset as usize..(b.offset + b.len) as usize])
        }
    }
}

/// Mann-Whitney AUC of `pos` against `neg` (ties count one half).
pub fn auc(pos: &[f64], neg: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        rank_sum += all[i..j].iter().filter(|x| x.1).count() as f64 * mid;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

/// Run the attack on the sketch in `sketch_dir` with the members' Parquet and the held-out
/// individuals' Parquet (split by `seed` into the reference and the non-members); write
/// `out_dir/attack.json` with its manifest.
pub fn attack(
    sketch_dir: &Path,
    members_path: &Path,
    heldout_path: &Path,
    out_dir: &Path,
    seed: u64,
) -> Result<SketchAttack, SketchError> {
    let sketch_path = crate::sketch_file(sketch_dir);
    let manifest = open_artifact(&sketch_path, ArtifactKind::Sketch)?;
    if chain::info::is_pattern_sketch(&manifest) {
        return Err(SketchError::Usage(format!(
            "{}: a pattern sketch is not a mean of features; this attack scores feature sketches",
            sketch_path.display()
        )));
    }
    let sketch = Sketch::read_npy(&sketch_path)?;
    let info = SketchInfo::from_manifest(&manifest, &sketch_path, &sketch)?;
    let spec = info
        .spec()
        .map_err(|e| SketchError::Usage(format!("{}: {e}", sketch_path.display())))?;
    let blocks = info.blocks()?;
    let gm = open_artifact(members_path, ArtifactKind::Genotypes)?;
    let hm = open_artifact(heldout_path, ArtifactKind::Genotypes)?;
    let members = read_genotypes_parquet(members_path)?;
    let heldout = read_genotypes_parquet(heldout_path)?;
    for (m, path) in [(&members, members_path), (&heldout, heldout_path)] {
        if m.n_snps() != info.snps as usize {
            return Err(SketchError::Usage(format!(
                "{}: {} SNPs, the sketch has {}",
                path.display(),
                m.n_snps(),
                info.snps
            )));
        }
    }
    let (nm, m_of, m_haps) = people_of(&members);
    let (nh, h_of, h_haps) = people_of(&heldout);
    if nh < 4 || nm < 2 {
        return Err(SketchError::Usage(format!(
            "{} individuals held out and {nm} members: the attack needs at least 4 held out \
             (half reference, half non-members) and 2 members",
            nh
        )));
    }
    // Held-out people: a seeded half is the attacker's reference population, the rest the
    // non-members.
    let mut order: Vec<usize> = (0..nh).collect();
    SeededRng::new(artifact::rng::derive_seed(seed, 0xa77a)).shuffle(&mut order);
    let mut is_reference = vec![false; nh];
    for &p in &order[..nh / 2] {
        is_reference[p] = true;
    }
    let n_ref_haps: usize = (0..nh)
        .filter(|&p| is_reference[p])
        .map(|p| h_haps[p])
        .sum();

    let parts = dp::parts(&spec, &info.restart_seeds);
    let mut member_scores = vec![0f64; nm];
    let mut held_scores = vec![0f64; nh];
    for part in &parts {
        let Some(s) = part_slice(&info, &sketch, part, &blocks) else {
            // The allele counts of a sketch without an identity block: not released.
            continue;
        };
        let (len, mv) = dp::person_part(&members, &spec, part, &m_of, nm);
        let (_, hv) = dp::person_part(&heldout, &spec, part, &h_of, nh);
        let mut reference = vec![0f64; len];
        for p in (0..nh).filter(|&p| is_reference[p]) {
            for (r, v) in reference.iter_mut().zip(&hv[p * len..(p + 1) * len]) {
                *r += v;
            }
        }
        for r in reference.iter_mut() {
            *r /= n_ref_haps as f64;
        }
        // Each coordinate weighted by its spread among the reference people (a rare allele's
        // pull on the sketch says more than a common one's), as in the likelihood-ratio tests
        // of pooled allele frequencies (Sankararaman et al. 2009).
        let mut spread = vec![0f64; len];
        for p in (0..nh).filter(|&p| is_reference[p]) {
            for ((v, x), r) in spread
                .iter_mut()
                .zip(&hv[p * len..(p + 1) * len])
                .zip(&reference)
            {
                let d = x / h_haps[p] as f64 - r;
                *v += d * d;
            }
        }
        let floor = 1e-3 * spread.iter().sum::<f64>() / len as f64 + f64::MIN_POSITIVE;
        let direction: Vec<f64> = s
            .iter()
            .zip(&reference)
            .zip(&spread)
            .map(|((&s, r), v)| (s as f64 - r) / (v / (nh / 2) as f64 + floor))
            .collect();
        let score = |v: &[f64], haps: usize| -> f64 {
            v.iter()
                .zip(&reference)
                .zip(&direction)
                .map(|((x, r), d)| (x / haps as f64 - r) * d)
                .sum()
        };
        for p in 0..nm {
            member_scores[p] += score(&mv[p * len..(p + 1) * len], m_haps[p]);
        }
        for p in 0..nh {
            held_scores[p] += score(&hv[p * len..(p + 1) * len], h_haps[p]);
        }
    }
    let non_member_scores: Vec<f64> = (0..nh)
        .filter(|&p| !is_reference[p])
        .map(|p| held_scores[p])
        .collect();
    let a = auc(&member_scores, &non_member_scores);
    let result = SketchAttack {
        group: info.group.clone(),
        statistic: STATISTIC.into(),
        auc: a,
        advantage: 2.0 * (a - 0.5).abs(),
        members: nm,
        non_members: non_member_scores.len(),
        reference: nh / 2,
        epsilon: info.privacy.as_ref().map(|p| p.epsilon),
    };

    std::fs::create_dir_all(out_dir).map_err(|e| ArtifactError::io(out_dir, e))?;
    let producer = Producer::new(
        ATTACK_STAGE,
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
    );
    let mut m = Manifest::new(ArtifactKind::Report, producer)
        .param("format", "json")
        .param("group", info.group.clone())
        .param("statistic", STATISTIC)
        .param("auc", a)
        .param(
            "epsilon",
            serde_json::to_value(result.epsilon).expect("f64"),
        )
        .count("members", nm as u64)
        .count("non_members", result.non_members as u64)
        .count("reference", result.reference as u64);
    m.seed = Some(seed);
    m.shape = vec![1];
    m.inputs = vec![
        FileRef::new("sketch", &sketch_path, manifest.sha256.clone(), out_dir)?,
        FileRef::new("members", members_path, gm.sha256.clone(), out_dir)?,
        FileRef::new("heldout", heldout_path, hm.sha256.clone(), out_dir)?,
    ];
    let path = out_dir.join(ATTACK_FILE);
    let text = serde_json::to_string_pretty(&result).expect("serialises") + "\n";
    let mut out = OutputSet::new();
    out.stage_artifact(&path, m, |w| {
        use std::io::Write;
        w.write_all(text.as_bytes())
            .map_err(|e| ArtifactError::io(&path, e))
    })?;
    out.commit()?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::auc;

    #[test]
    fn auc_counts_pairs_and_ties() {
        assert_eq!(auc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        assert_eq!(auc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
        assert_eq!(auc(&[1.0], &[1.0]), 0.5);
        // 2 of 4 pairs won, 1 tied: (2 + 0.5) / 4.
        assert_eq!(auc(&[2.0, 5.0], &[2.0, 6.0]), 0.375);
    }
}
