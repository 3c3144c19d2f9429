//! Why the classifiers tell the two sides of a comparison apart: the diagnostics of the report.
//!
//! Per comparison (real against synthetic, and the floor baseline, whose "synthetic" side is the
//! other real set):
//! * minor alleles per haplotype, minor meaning minor in the group's real haplotypes (the ALT
//!   allele when its real frequency is at most 0.5): a global statistic no local feature sees;
//! * LD decay: mean r^2 by distance in SNPs within each group, each side on its own;
//! * nearest-neighbour Hamming distances of each kind (the distances AATS is made of);
//! * per-SNP allele-frequency error within each group;
//! * the SNPs with the largest logistic-regression coefficients.
//!
//! Everything here is computed from what the protocol already has (bit-packed rows, SNP-major
//! columns, the AATS distances, the fitted logistic models): nothing is fitted or searched twice.

use std::collections::BTreeMap;

use artifact::Variant;
use haplotypes::bits::PackedHaplotypes;
use serde::Serialize;

use crate::metrics::{NearestDistances, SnpColumns};
use crate::sparse::MinorAlleleRows;

/// LD decay is measured up to this many SNPs apart (or `ld_max_distance - 1`, if larger).
pub const LD_DECAY_MAX_DISTANCE: usize = 200;
/// SNPs listed by logistic-regression coefficient.
pub const TOP_SNPS: usize = 20;
/// An allele-frequency error above this counts as large.
pub const AF_ERROR_THRESHOLD: f64 = 0.05;
/// Most bins of a histogram.
pub const HISTOGRAM_BINS: u32 = 40;

/// The diagnostics' figures, by file-name part: `<comparison>.<figure>.png` and `.svg`.
pub const FIGURES: [&str; 4] = [
    "minor_alleles",
    "ld_decay",
    "nn_distances",
    "allele_frequencies",
];

/// What the second side of a comparison is called in figures and tables.
pub fn side_label(comparison: &str) -> &'static str {
    match comparison {
        "floor" => "other real",
        _ => "synthetic",
    }
}

/// Mean, population sd, min and max of counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub mean: f64,
    pub sd: f64,
    pub min: u32,
    pub max: u32,
}

impl Summary {
    pub fn of(v: &[u32]) -> Summary {
        let n = v.len().max(1) as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        Summary {
            mean,
            sd: var.sqrt(),
            min: v.iter().copied().min().unwrap_or(0),
            max: v.iter().copied().max().unwrap_or(0),
        }
    }
}

/// Mean, median, min and max of nearest-neighbour distances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistanceSummary {
    pub mean: f64,
    pub median: f64,
    pub min: u32,
    pub max: u32,
}

impl DistanceSummary {
    pub fn of(v: &[u32]) -> DistanceSummary {
        let mut sorted = v.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => sorted[n / 2] as f64,
            _ => (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0,
        };
        DistanceSummary {
            mean: v.iter().map(|&x| x as f64).sum::<f64>() / n.max(1) as f64,
            median,
            min: sorted.first().copied().unwrap_or(0),
            max: sorted.last().copied().unwrap_or(0),
        }
    }
}

/// One set of values counted into a histogram's bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistogramSeries {
    pub name: String,
    pub counts: Vec<u64>,
}

/// Integer values in bins [start + k w, start + (k + 1) w), k = 0, 1, ...; every series over
/// the same bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub start: u32,
    pub bin_width: u32,
    pub series: Vec<HistogramSeries>,
}

impl Histogram {
    /// Bins of equal integer width covering every value of every set, at most `max_bins`.
    pub fn of(sets: &[(&str, &[u32])], max_bins: u32) -> Histogram {
        let all = || sets.iter().flat_map(|(_, v)| v.iter().copied());
        let (lo, hi) = (all().min().unwrap_or(0), all().max().unwrap_or(0));
        let span = hi - lo + 1;
        let width = span.div_ceil(max_bins.max(1)).max(1);
        let bins = span.div_ceil(width) as usize;
        let series = sets
            .iter()
            .map(|(name, v)| {
                let mut counts = vec![0u64; bins];
                for &x in v.iter() {
                    counts[((x - lo) / width) as usize] += 1;
                }
                HistogramSeries {
                    name: name.to_string(),
                    counts,
                }
            })
            .collect();
        Histogram {
            start: lo,
            bin_width: width,
            series,
        }
    }

    /// Series `k` as a closed step outline (x: value, y: count), for a line chart.
    pub fn outline(&self, k: usize) -> Vec<(f64, f64)> {
        let w = self.bin_width as f64;
        let x0 = self.start as f64;
        let counts = &self.series[k].counts;
        let mut pts = vec![(x0, 0.0)];
        for (b, &c) in counts.iter().enumerate() {
            pts.push((x0 + b as f64 * w, c as f64));
            pts.push((x0 + (b + 1) as f64 * w, c as f64));
        }
        pts.push((x0 + counts.len() as f64 * w, 0.0));
        pts
    }
}

/// Minor alleles (of the group's real haplotypes) in each row of `rows`. `real_alt_counts` are
/// the ALT counts of the group's `n_real` real haplotypes: a SNP whose ALT allele is carried by
/// more than half of them has REF as its minor allele.
pub fn minor_allele_counts(
    rows: &PackedHaplotypes,
    real_alt_counts: &[u32],
    n_real: usize,
) -> Vec<u32> {
    let mut flip = vec![0u64; rows.words];
    for (j, &c) in real_alt_counts.iter().enumerate() {
        if 2 * c as usize > n_real {
            flip[j / 64] |= 1 << (j % 64);
        }
    }
    // Padding bits are 0 in rows and mask alike, so XOR leaves them 0.
    (0..rows.n)
        .map(|i| {
            rows.row(i)
                .iter()
                .zip(&flip)
                .map(|(x, f)| (x ^ f).count_ones())
                .sum()
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct MinorAllelesGroup {
    pub group: String,
    pub real: Summary,
    pub synthetic: Summary,
    pub histogram: Histogram,
}

pub fn minor_alleles_group(
    group: &str,
    real: &PackedHaplotypes,
    synthetic: &PackedHaplotypes,
    real_alt_counts: &[u32],
) -> MinorAllelesGroup {
    let r = minor_allele_counts(real, real_alt_counts, real.n);
    let s = minor_allele_counts(synthetic, real_alt_counts, real.n);
    MinorAllelesGroup {
        group: group.to_string(),
        real: Summary::of(&r),
        synthetic: Summary::of(&s),
        histogram: Histogram::of(&[("real", &r), ("synthetic", &s)], HISTOGRAM_BINS),
    }
}

/// The LD-decay bins up to `max_distance`: each distance 1 to 10 alone, then 11-20, 21-30,
/// 31-40, 41-50, 51-75, 76-100, 101-150, 151-200, then 100 SNPs a bin; the last one cut at
/// `max_distance`.
pub fn ld_bins(max_distance: usize) -> Vec<(usize, usize)> {
    let mut edges: Vec<usize> = (1..=10).collect();
    edges.extend([20, 30, 40, 50, 75, 100, 150, 200]);
    while *edges.last().expect("edges") < max_distance {
        let last = *edges.last().expect("edges");
        edges.push(last + 100);
    }
    let mut bins = Vec::new();
    let mut from = 1;
    for to in edges {
        if from > max_distance {
            break;
        }
        bins.push((from, to.min(max_distance)));
        from = to + 1;
    }
    bins
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LdBin {
    /// Distances from..=to SNPs (index difference).
    pub from: usize,
    pub to: usize,
    /// Mean r^2 over the pairs in the bin whose SNPs are both polymorphic on that side (null
    /// when there is none).
    pub real_mean_r2: Option<f64>,
    pub synthetic_mean_r2: Option<f64>,
    pub real_pairs: u64,
    pub synthetic_pairs: u64,
}

/// Bin the per-distance sums of [`SnpColumns::ld_decay`] of both sides.
pub fn bin_ld_decay(real: &[(f64, u64)], synthetic: &[(f64, u64)], max: usize) -> Vec<LdBin> {
    let sum = |v: &[(f64, u64)], from: usize, to: usize| {
        let (mut s, mut c) = (0.0, 0u64);
        for &(x, k) in v.iter().take(to + 1).skip(from) {
            s += x;
            c += k;
        }
        ((c > 0).then(|| s / c as f64), c)
    };
    ld_bins(max)
        .into_iter()
        .map(|(from, to)| {
            let (rm, rc) = sum(real, from, to);
            let (sm, sc) = sum(synthetic, from, to);
            LdBin {
                from,
                to,
                real_mean_r2: rm,
                synthetic_mean_r2: sm,
                real_pairs: rc,
                synthetic_pairs: sc,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct LdDecayGroup {
    pub group: String,
    pub bins: Vec<LdBin>,
}

/// Distances of each kind, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearestSummaries {
    /// Each real haplotype to the nearest other real one.
    pub real_real: DistanceSummary,
    /// Each synthetic haplotype to the nearest other synthetic one.
    pub synthetic_synthetic: DistanceSummary,
    /// Each synthetic haplotype to the nearest real one.
    pub synthetic_real: DistanceSummary,
    /// Each real haplotype to the nearest synthetic one.
    pub real_synthetic: DistanceSummary,
}

impl NearestSummaries {
    pub fn of(d: &NearestDistances) -> NearestSummaries {
        NearestSummaries {
            real_real: DistanceSummary::of(&d.real_real),
            synthetic_synthetic: DistanceSummary::of(&d.synthetic_synthetic),
            synthetic_real: DistanceSummary::of(&d.synthetic_real),
            real_synthetic: DistanceSummary::of(&d.real_synthetic),
        }
    }
}

/// The histogram of all four kinds of nearest-neighbour distance, in that order.
pub fn nearest_histogram(d: &NearestDistances) -> Histogram {
    Histogram::of(
        &[
            ("real_real", &d.real_real),
            ("synthetic_synthetic", &d.synthetic_synthetic),
            ("synthetic_real", &d.synthetic_real),
            ("real_synthetic", &d.real_synthetic),
        ],
        HISTOGRAM_BINS,
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct NearestGroup {
    pub group: String,
    #[serde(flatten)]
    pub distances: NearestSummaries,
}

#[derive(Debug, Clone, Serialize)]
pub struct NearestNeighbours {
    /// Over the pooled haplotypes (all groups), as the pooled AATS; the figure's data.
    pub pooled: NearestSummaries,
    pub histogram: Histogram,
    /// Within each group, as each group's AATS.
    pub groups: Vec<NearestGroup>,
}

/// One SNP with its identity and allele frequencies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnpRef {
    /// Column index in the genotype files (0-based).
    pub index: usize,
    pub id: String,
    pub chrom: String,
    pub pos: u64,
    pub real_af: f64,
    pub synthetic_af: f64,
}

fn snp_ref(variants: &[Variant], j: usize, real_af: f64, synthetic_af: f64) -> SnpRef {
    let v = variants.get(j);
    SnpRef {
        index: j,
        id: v.map(|v| v.id.clone()).unwrap_or_default(),
        chrom: v.map(|v| v.chrom.clone()).unwrap_or_default(),
        pos: v.map_or(0, |v| v.pos),
        real_af,
        synthetic_af,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AfErrorGroup {
    pub group: String,
    /// Mean over SNPs of |synthetic AF - real AF|.
    pub mean_abs_error: f64,
    pub max_abs_error: f64,
    /// The SNP with the largest error (the first such).
    pub max_error_snp: SnpRef,
    /// SNPs with |error| > 0.05.
    pub snps_over_0_05: usize,
    pub monomorphic_real_polymorphic_synthetic: usize,
    pub polymorphic_real_monomorphic_synthetic: usize,
}

/// Allele-frequency error of one group from both sides' ALT counts.
pub fn af_error_group(
    group: &str,
    real_counts: &[u32],
    n_real: usize,
    synthetic_counts: &[u32],
    n_synthetic: usize,
    variants: &[Variant],
) -> AfErrorGroup {
    let af = |c: u32, n: usize| c as f64 / n.max(1) as f64;
    let poly = |c: u32, n: usize| c > 0 && (c as usize) < n;
    let (mut sum, mut worst, mut over) = (0.0, 0usize, 0usize);
    let (mut mono_poly, mut poly_mono) = (0, 0);
    let mut worst_err = -1.0;
    for (j, (&r, &s)) in real_counts.iter().zip(synthetic_counts).enumerate() {
        let e = (af(s, n_synthetic) - af(r, n_real)).abs();
        sum += e;
        if e > worst_err {
            (worst, worst_err) = (j, e);
        }
        over += (e > AF_ERROR_THRESHOLD) as usize;
        mono_poly += (!poly(r, n_real) && poly(s, n_synthetic)) as usize;
        poly_mono += (poly(r, n_real) && !poly(s, n_synthetic)) as usize;
    }
    AfErrorGroup {
        group: group.to_string(),
        mean_abs_error: sum / real_counts.len().max(1) as f64,
        max_abs_error: worst_err.max(0.0),
        max_error_snp: snp_ref(
            variants,
            worst,
            af(real_counts.get(worst).copied().unwrap_or(0), n_real),
            af(
                synthetic_counts.get(worst).copied().unwrap_or(0),
                n_synthetic,
            ),
        ),
        snps_over_0_05: over,
        monomorphic_real_polymorphic_synthetic: mono_poly,
        polymorphic_real_monomorphic_synthetic: poly_mono,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFrequencies {
    pub real_af: f64,
    pub synthetic_af: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticSnp {
    pub rank: usize,
    #[serde(flatten)]
    pub snp: SnpRef,
    /// Mean over the splits of the coefficient of the ALT allele (positive: the ALT allele
    /// points to the synthetic side).
    pub coefficient: f64,
    /// Its population sd over the splits.
    pub coefficient_sd: f64,
    /// Allele frequencies within each group.
    pub groups: BTreeMap<String, GroupFrequencies>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogisticTop {
    pub method: String,
    pub snps: Vec<LogisticSnp>,
}

/// The `top` SNPs by |mean coefficient| over the splits' fits (ties: lower index first).
/// `weights[s]` are split s's weights on the minor-allele features of `sparse`; a recoded SNP's
/// weight is turned into its ALT allele's by a change of sign. `frequencies(j)` gives SNP j's
/// pooled (real, synthetic) and per-group allele frequencies.
pub fn top_logistic_snps(
    weights: &[Vec<f64>],
    sparse: &MinorAlleleRows,
    variants: &[Variant],
    top: usize,
    frequencies: impl Fn(usize) -> ((f64, f64), BTreeMap<String, GroupFrequencies>),
) -> Vec<LogisticSnp> {
    let m = sparse.snps;
    let splits = weights.len().max(1) as f64;
    let alt = |s: usize, j: usize| {
        let w = weights[s][j];
        if sparse.is_flipped(j) {
            -w
        } else {
            w
        }
    };
    let stats: Vec<(f64, f64)> = (0..m)
        .map(|j| {
            let mean = (0..weights.len()).map(|s| alt(s, j)).sum::<f64>() / splits;
            let var = (0..weights.len())
                .map(|s| (alt(s, j) - mean).powi(2))
                .sum::<f64>()
                / splits;
            (mean, var.sqrt())
        })
        .collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| {
        stats[b]
            .0
            .abs()
            .total_cmp(&stats[a].0.abs())
            .then(a.cmp(&b))
    });
    order
        .into_iter()
        .take(top)
        .enumerate()
        .map(|(rank, j)| {
            let ((real_af, synthetic_af), groups) = frequencies(j);
            LogisticSnp {
                rank: rank + 1,
                snp: snp_ref(variants, j, real_af, synthetic_af),
                coefficient: stats[j].0,
                coefficient_sd: stats[j].1,
                groups,
            }
        })
        .collect()
}

/// The files of one figure.
#[derive(Debug, Clone, Serialize)]
pub struct FigureFiles {
    pub figure: String,
    pub png: String,
    pub svg: String,
}

/// File stem of a comparison's figure: `<comparison>.<figure>`.
pub fn figure_stem(comparison: &str, figure: &str) -> String {
    format!("{comparison}.{figure}")
}

/// A group's allele frequencies on both sides, for the scatter plot (not in report.json).
#[derive(Debug, Clone)]
pub struct GroupAlleleFrequencies {
    pub group: String,
    pub real: Vec<f64>,
    pub synthetic: Vec<f64>,
}

/// The `diagnostics` object of one comparison in report.json.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    /// What the second ("synthetic") side is in this comparison.
    pub synthetic_side: String,
    /// The figures (PNG and SVG) written beside the report.
    pub figures: Vec<FigureFiles>,
    /// Minor alleles per haplotype, minor in the group's real haplotypes.
    pub minor_alleles: Vec<MinorAllelesGroup>,
    /// Largest SNP distance of the LD decay.
    pub ld_decay_max_distance: usize,
    pub ld_decay: Vec<LdDecayGroup>,
    pub nearest_neighbours: NearestNeighbours,
    pub allele_frequency_error: Vec<AfErrorGroup>,
    pub logistic_top_snps: LogisticTop,
    #[serde(skip)]
    pub allele_frequencies: Vec<GroupAlleleFrequencies>,
}

/// What one group contributes: its minor-allele counts, LD decay, nearest-neighbour distances,
/// allele-frequency error and frequencies.
pub struct GroupParts {
    pub minor_alleles: MinorAllelesGroup,
    pub ld_decay: LdDecayGroup,
    pub nearest: NearestGroup,
    pub af_error: AfErrorGroup,
    pub frequencies: GroupAlleleFrequencies,
}

/// The diagnostics of one group from the rows and the columns and distances its fidelity
/// metrics already computed.
pub fn group_parts(
    group: &str,
    real: &PackedHaplotypes,
    synthetic: &PackedHaplotypes,
    columns: (&SnpColumns, &SnpColumns),
    nearest: &NearestDistances,
    ld_max_distance: usize,
    variants: &[Variant],
) -> GroupParts {
    let (rc, sc) = (columns.0.alt_counts(), columns.1.alt_counts());
    let (rd, sd) = (
        columns.0.ld_decay(ld_max_distance),
        columns.1.ld_decay(ld_max_distance),
    );
    let af = |c: &[u32], n: usize| -> Vec<f64> {
        c.iter().map(|&x| x as f64 / n.max(1) as f64).collect()
    };
    GroupParts {
        minor_alleles: minor_alleles_group(group, real, synthetic, &rc),
        ld_decay: LdDecayGroup {
            group: group.to_string(),
            bins: bin_ld_decay(&rd, &sd, ld_max_distance),
        },
        nearest: NearestGroup {
            group: group.to_string(),
            distances: NearestSummaries::of(nearest),
        },
        af_error: af_error_group(group, &rc, real.n, &sc, synthetic.n, variants),
        frequencies: GroupAlleleFrequencies {
            group: group.to_string(),
            real: af(&rc, real.n),
            synthetic: af(&sc, synthetic.n),
        },
    }
}

/// The LD-decay reach for a protocol's `ld_max_distance`.
pub fn ld_decay_max_distance(ld_max_distance: usize, snps: usize) -> usize {
    LD_DECAY_MAX_DISTANCE
        .max(ld_max_distance.saturating_sub(1))
        .min(snps.saturating_sub(1))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logistic::{fit, LogisticOptions};

    use crate::packed;

    fn variants(m: usize) -> Vec<Variant> {
        (0..m)
            .map(|j| Variant {
                chrom: "22".into(),
                pos: 1000 + 10 * j as u64,
                id: format!("rs{j}"),
                reference: "A".into(),
                alternate: "G".into(),
            })
            .collect()
    }

    #[test]
    fn minor_alleles_are_minor_in_real_data() {
        // Real: SNP 0 ALT in 3 of 4 (REF is minor), SNP 1 ALT in 1 of 4, SNP 2 in 2 of 4 (ALT
        // counted), SNP 3 never.
        let real = packed(&[&[1, 0, 1, 0], &[1, 0, 0, 0], &[1, 1, 1, 0], &[0, 0, 0, 0]]);
        let counts = SnpColumns::from_rows(&real).alt_counts();
        assert_eq!(counts, vec![3, 1, 2, 0]);
        assert_eq!(minor_allele_counts(&real, &counts, 4), vec![1, 0, 2, 1]);
        // Synthetic rows are counted against the real minor alleles.
        let syn = packed(&[&[0, 1, 1, 1], &[1, 1, 1, 1], &[0, 0, 0, 0]]);
        assert_eq!(minor_allele_counts(&syn, &counts, 4), vec![4, 3, 1]);
        let g = minor_alleles_group("A", &real, &syn, &counts);
        assert_eq!(g.real.mean, 1.0);
        assert!((g.real.sd - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!((g.real.min, g.real.max), (0, 2));
        assert_eq!((g.synthetic.min, g.synthetic.max), (1, 4));
        assert!((g.synthetic.mean - 8.0 / 3.0).abs() < 1e-12);
        // Values 0..=4, one per bin.
        assert_eq!((g.histogram.start, g.histogram.bin_width), (0, 1));
        assert_eq!(g.histogram.series[0].counts, vec![1, 2, 1, 0, 0]);
        assert_eq!(g.histogram.series[1].counts, vec![0, 1, 0, 1, 1]);
    }

    #[test]
    fn minor_alleles_cross_word_boundaries() {
        // 70 SNPs: the mask spans two words, and padding must not count.
        let m = 70;
        let rows: Vec<u8> = (0..5 * m).map(|k| (k % 3 == 0) as u8).collect();
        let p = PackedHaplotypes::from_rows(&rows, m);
        let counts = SnpColumns::from_rows(&p).alt_counts();
        let got = minor_allele_counts(&p, &counts, 5);
        for (i, &g) in got.iter().enumerate() {
            let want = (0..m)
                .filter(|&j| {
                    let alt = rows[i * m + j] == 1;
                    if 2 * counts[j] > 5 {
                        !alt
                    } else {
                        alt
                    }
                })
                .count() as u32;
            assert_eq!(g, want, "row {i}");
        }
    }

    #[test]
    fn ld_decay_of_a_known_pair() {
        // SNP 0 = 1100, SNP 1 = 1000: D = (4*1 - 2*1) / 16, r^2 = 4 / (2*2*1*3) = 1/3.
        // SNP 2 copies SNP 1 (r^2 1 at distance 1, 1/3 at distance 2); SNP 3 is monomorphic and
        // never counted.
        let p = packed(&[&[1, 1, 1, 0], &[1, 0, 0, 0], &[0, 0, 0, 0], &[0, 0, 0, 0]]);
        let c = SnpColumns::from_rows(&p);
        let d = c.ld_decay(3);
        assert_eq!(d.len(), 4);
        assert_eq!(d[1].1, 2); // (0,1) and (1,2)
        assert!((d[1].0 - (1.0 / 3.0 + 1.0)).abs() < 1e-12);
        assert_eq!(d[2].1, 1); // (0,2)
        assert!((d[2].0 - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(d[3], (0.0, 0)); // (0,3): SNP 3 monomorphic

        // Binned: distances 1, 2, 3 are bins of their own.
        let bins = bin_ld_decay(&d, &c.ld_decay(3), 3);
        assert_eq!(bins.len(), 3);
        assert_eq!((bins[0].from, bins[0].to, bins[0].real_pairs), (1, 1, 2));
        assert!((bins[0].real_mean_r2.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(bins[2].real_mean_r2, None);
        // Agrees with the fidelity metric's r^2 where both SNPs are polymorphic.
        let r2 = c.ld_r2(2); // pairs (0,1) (1,2) (2,3)
        assert!((r2[0] - 1.0 / 3.0).abs() < 1e-12 && (r2[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ld_decay_blocks_sum_like_one_pass() {
        // 200 SNPs (several blocks of 64): the blocked sums equal a direct computation.
        let (n, m) = (50, 200);
        let rows: Vec<u8> = (0..n * m)
            .map(|k| ((k * 7 + (k / m) * 3 + k / 11) % 5 < 2) as u8)
            .collect();
        let c = SnpColumns::from_rows(&PackedHaplotypes::from_rows(&rows, m));
        let d = c.ld_decay(70);
        let af = c.allele_frequencies();
        for dist in [1, 63, 64, 70] {
            let (mut s, mut k) = (0.0, 0u64);
            for j in 0..m - dist {
                let (p, q) = (af[j], af[j + dist]);
                if p == 0.0 || p == 1.0 || q == 0.0 || q == 1.0 {
                    continue;
                }
                let both = (0..n)
                    .filter(|&i| rows[i * m + j] == 1 && rows[i * m + j + dist] == 1)
                    .count() as f64
                    / n as f64;
                let dd = both - p * q;
                s += dd * dd / (p * (1.0 - p) * q * (1.0 - q));
                k += 1;
            }
            assert_eq!(d[dist].1, k, "distance {dist}");
            assert!((d[dist].0 - s).abs() < 1e-9, "distance {dist}");
        }
    }

    #[test]
    fn ld_bins_cover_every_distance_once() {
        let b = ld_bins(200);
        assert_eq!(b[0], (1, 1));
        assert_eq!(b[9], (10, 10));
        assert_eq!(b[10], (11, 20));
        assert_eq!(*b.last().unwrap(), (151, 200));
        for max in [1, 7, 49, 200, 333] {
            let b = ld_bins(max);
            assert_eq!(b[0].0, 1);
            assert_eq!(b.last().unwrap().1, max);
            assert!(b.windows(2).all(|w| w[1].0 == w[0].1 + 1), "{b:?}");
        }
        assert_eq!(ld_decay_max_distance(50, 5000), 200);
        assert_eq!(ld_decay_max_distance(500, 5000), 499);
        assert_eq!(ld_decay_max_distance(50, 100), 99);
    }

    #[test]
    fn nearest_distances_and_their_histogram() {
        // Real rows 000000, 110000, 111100; synthetic 000000 (a copy), 111111.
        let real = packed(&[
            &[0, 0, 0, 0, 0, 0],
            &[1, 1, 0, 0, 0, 0],
            &[1, 1, 1, 1, 0, 0],
        ]);
        let syn = packed(&[&[0, 0, 0, 0, 0, 0], &[1, 1, 1, 1, 1, 1]]);
        let d = NearestDistances::compute(&real, &syn);
        assert_eq!(d.real_real, vec![2, 2, 2]);
        assert_eq!(d.real_synthetic, vec![0, 2, 2]);
        assert_eq!(d.synthetic_synthetic, vec![6, 6]);
        assert_eq!(d.synthetic_real, vec![0, 2]);
        // AATS: real rows nearer a real than a synthetic: none (2 > 0, 2 > 2, 2 > 2 all false
        // the other way round): 0/3; synthetic rows nearer a synthetic: 0/2.
        assert_eq!(d.adversarial_accuracy(), 0.0);
        assert_eq!(d.identical_fraction(), 0.5);
        let s = NearestSummaries::of(&d);
        assert_eq!(s.real_real.mean, 2.0);
        assert_eq!(s.synthetic_real.median, 1.0);
        assert_eq!((s.real_synthetic.min, s.real_synthetic.max), (0, 2));
        assert!((s.real_synthetic.mean - 4.0 / 3.0).abs() < 1e-12);
        let h = nearest_histogram(&d);
        assert_eq!((h.start, h.bin_width), (0, 1));
        let names: Vec<&str> = h.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "real_real",
                "synthetic_synthetic",
                "synthetic_real",
                "real_synthetic"
            ]
        );
        assert_eq!(h.series[0].counts, vec![0, 0, 3, 0, 0, 0, 0]);
        assert_eq!(h.series[1].counts, vec![0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(h.series[3].counts, vec![1, 0, 2, 0, 0, 0, 0]);
        // The outline is a closed step curve over the bins.
        let o = h.outline(3);
        assert_eq!(o.first(), Some(&(0.0, 0.0)));
        assert_eq!(o[1..3], [(0.0, 1.0), (1.0, 1.0)]);
        assert_eq!(o.last(), Some(&(7.0, 0.0)));
    }

    #[test]
    fn histogram_widens_bins_to_fit() {
        let a: Vec<u32> = (100..=199).collect();
        let h = Histogram::of(&[("a", &a)], 40);
        // 100 values in bins of 3: 34 bins.
        assert_eq!((h.start, h.bin_width), (100, 3));
        assert_eq!(h.series[0].counts.len(), 34);
        assert_eq!(h.series[0].counts[0], 3);
        assert_eq!(h.series[0].counts[33], 1);
        assert_eq!(h.series[0].counts.iter().sum::<u64>(), 100);
    }

    #[test]
    fn allele_frequency_error_summary() {
        // 10 real and 5 synthetic haplotypes over 4 SNPs.
        let real = [5, 0, 10, 2]; // AF 0.5, 0, 1, 0.2
        let syn = [2, 1, 5, 1]; // AF 0.4, 0.2, 1, 0.2
        let g = af_error_group("A", &real, 10, &syn, 5, &variants(4));
        // Errors 0.1, 0.2, 0, 0.
        assert!((g.mean_abs_error - 0.075).abs() < 1e-12);
        assert!((g.max_abs_error - 0.2).abs() < 1e-12);
        assert_eq!(g.max_error_snp.index, 1);
        assert_eq!(g.max_error_snp.id, "rs1");
        assert_eq!(g.max_error_snp.pos, 1010);
        assert_eq!(
            (g.max_error_snp.real_af, g.max_error_snp.synthetic_af),
            (0.0, 0.2)
        );
        assert_eq!(g.snps_over_0_05, 2);
        assert_eq!(g.monomorphic_real_polymorphic_synthetic, 1); // SNP 1
        assert_eq!(g.polymorphic_real_monomorphic_synthetic, 0); // SNP 2 is fixed on both
        let g = af_error_group("A", &[5, 5], 10, &[0, 10], 10, &variants(2));
        assert_eq!(g.polymorphic_real_monomorphic_synthetic, 2);
        assert_eq!(g.max_error_snp.index, 0); // a tie goes to the first
    }

    #[test]
    fn the_separating_snp_ranks_first() {
        // 60 rows x 8 SNPs: SNP 5 is ALT exactly in the synthetic rows; the others are noise
        // shared by both classes. SNP 6 is ALT in most rows (recoded), and noisy.
        let (n, m) = (60usize, 8usize);
        let mut values = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let label = (i % 2) as u8;
            for j in 0..m {
                let v = match j {
                    5 => label,
                    6 => ((i / 2) % 5 != 0) as u8,
                    _ => ((i / 2 * 7 + j * 13 + i / 7) % 3 == 0) as u8,
                };
                values.push(v);
            }
            y.push(label);
        }
        let p = PackedHaplotypes::from_rows(&values, m);
        let sparse = MinorAlleleRows::from_packed(&p);
        assert!(sparse.is_flipped(6) && !sparse.is_flipped(5));
        let rows: Vec<usize> = (0..n).collect();
        let weights: Vec<Vec<f64>> = [0..40, 20..60]
            .into_iter()
            .map(|r| {
                let rows: Vec<usize> = rows[r].to_vec();
                let ys: Vec<u8> = rows.iter().map(|&i| y[i]).collect();
                fit(&sparse, &rows, &ys, &LogisticOptions::default()).weights
            })
            .collect();
        let top = top_logistic_snps(&weights, &sparse, &variants(m), 3, |j| {
            let cols = SnpColumns::from_rows(&p);
            let af = cols.allele_frequencies()[j];
            ((af, af), BTreeMap::new())
        });
        assert_eq!(top.len(), 3);
        assert_eq!(top[0].rank, 1);
        assert_eq!(top[0].snp.index, 5);
        assert_eq!(top[0].snp.id, "rs5");
        assert!(top[0].coefficient > 1.0, "{top:?}");
        assert!(top[0].coefficient.abs() > 2.0 * top[1].coefficient.abs());
        let mean = (weights[0][5] + weights[1][5]) / 2.0;
        assert!((top[0].coefficient - mean).abs() < 1e-12);
        // A recoded SNP's coefficient is that of its ALT allele: minus the fitted weight.
        let all = top_logistic_snps(&weights, &sparse, &variants(m), m, |_| {
            ((0.0, 0.0), BTreeMap::new())
        });
        let six = all.iter().find(|s| s.snp.index == 6).unwrap();
        assert!((six.coefficient + (weights[0][6] + weights[1][6]) / 2.0).abs() < 1e-12);
        assert!(all
            .windows(2)
            .all(|w| w[0].coefficient.abs() >= w[1].coefficient.abs()));
    }
}
