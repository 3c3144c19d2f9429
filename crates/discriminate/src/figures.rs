//! The diagnostics' figures, rendered with [`artifact::plot`]: per comparison a histogram of
//! minor alleles per haplotype, the LD decay, a histogram of nearest-neighbour distances and
//! the allele frequencies of both sides.

use artifact::plot::{
    group_colour, lighten, line_chart_png, line_chart_svg, scatter_png, scatter_svg, Series,
};
use artifact::ArtifactError;

use crate::diagnostics::{figure_stem, side_label, Diagnostics, Histogram};

/// Pixels of every figure.
pub const SIZE: (u32, u32) = (900, 600);

/// The light (real) version of a colour: half way to white.
fn light(c: (u8, u8, u8)) -> (u8, u8, u8) {
    lighten(c, 0.5)
}

const GREY: (u8, u8, u8) = (60, 60, 60);

/// One figure to write: file stem, which diagnostic (`minor_alleles`...), what is drawn, and
/// the rendered PNG and SVG.
pub struct Figure {
    pub stem: String,
    pub figure: &'static str,
    pub plots: String,
    pub png: Vec<u8>,
    pub svg: String,
}

enum Kind {
    Line,
    Scatter,
}

fn render(
    stem: String,
    figure: &'static str,
    plots: String,
    kind: Kind,
    labels: [&str; 3],
    series: &[Series],
) -> Result<Figure, ArtifactError> {
    let [t, x, y] = labels;
    let (png, svg) = match kind {
        Kind::Line => (
            line_chart_png(t, x, y, series, false, SIZE)?,
            line_chart_svg(t, x, y, series, false, SIZE)?,
        ),
        Kind::Scatter => (
            scatter_png(t, x, y, series, SIZE)?,
            scatter_svg(t, x, y, series, SIZE)?,
        ),
    };
    Ok(Figure {
        stem,
        figure,
        plots,
        png,
        svg,
    })
}

/// Per group, the real side in the group's light colour and the other side in its saturated
/// colour: `points[g]` and `labels[2 g..2 g + 2]` are group g's (real, other side).
fn group_series<'a>(labels: &'a [String], points: &'a [[Vec<(f64, f64)>; 2]]) -> Vec<Series<'a>> {
    let mut out = Vec::new();
    for (g, pair) in points.iter().enumerate() {
        let colours = [light(group_colour(g)), group_colour(g)];
        for (k, color) in colours.into_iter().enumerate() {
            out.push(Series {
                label: &labels[2 * g + k],
                points: &pair[k],
                color,
            });
        }
    }
    out
}

/// Every figure of one comparison's diagnostics.
pub fn figures(comparison: &str, d: &Diagnostics) -> Result<Vec<Figure>, ArtifactError> {
    let side = side_label(comparison);
    let mut out = Vec::new();

    // Minor alleles per haplotype: step outlines per group and side.
    let names: Vec<String> = d.minor_alleles.iter().map(|g| g.group.clone()).collect();
    let labels: Vec<String> = names
        .iter()
        .flat_map(|g| [format!("{g} real"), format!("{g} {side}")])
        .collect();
    let outline = |h: &Histogram| [h.outline(0), h.outline(1)];
    let points: Vec<[Vec<(f64, f64)>; 2]> = d
        .minor_alleles
        .iter()
        .map(|g| outline(&g.histogram))
        .collect();
    let series = group_series(&labels, &points);
    out.push(render(
        figure_stem(comparison, "minor_alleles"),
        "minor_alleles",
        format!(
            "histogram (step outline) of the number of minor alleles per haplotype (minor in the group's real haplotypes), \
             per group: real in a light colour, {side} in a saturated one"
        ),
        Kind::Line,
        [
            &format!("{comparison}: minor alleles per haplotype"),
            "minor alleles per haplotype",
            "haplotypes",
        ],
        &series,
    )?);

    // LD decay: mean r^2 at each bin's mid distance (the groups in the same order).
    let points: Vec<[Vec<(f64, f64)>; 2]> = d
        .ld_decay
        .iter()
        .map(|g| {
            let at = |f: fn(&crate::diagnostics::LdBin) -> Option<f64>| {
                g.bins
                    .iter()
                    .map(|b| ((b.from + b.to) as f64 / 2.0, f(b).unwrap_or(f64::NAN)))
                    .collect::<Vec<_>>()
            };
            [at(|b| b.real_mean_r2), at(|b| b.synthetic_mean_r2)]
        })
        .collect();
    let mut series = group_series(&labels, &points);
    let finite = |s: &Series| s.points.iter().any(|p| p.1.is_finite());
    let none = [(1.0, 0.0)];
    if !series.iter().any(finite) {
        // Not one pair of SNPs polymorphic on either side (a single SNP, or all monomorphic):
        // an empty chart that says so, rather than no report at all.
        series = vec![Series {
            label: "no pair of polymorphic SNPs",
            points: &none,
            color: GREY,
        }];
    }
    out.push(render(
        figure_stem(comparison, "ld_decay"),
        "ld_decay",
        format!(
            "mean r^2 of SNP pairs (both polymorphic) by distance in SNPs, binned (1 to 10, then wider bins up to {}), \
             within each group: real in a light colour, {side} in a saturated one",
            d.ld_decay_max_distance
        ),
        Kind::Line,
        [
            &format!("{comparison}: LD decay"),
            "distance (SNPs, bin middle)",
            "mean r^2",
        ],
        &series,
    )?);

    // Nearest-neighbour distances, pooled over the groups.
    let h = &d.nearest_neighbours.histogram;
    let kind_labels = [
        "real to nearest other real".to_string(),
        format!("{side} to nearest other {side}"),
        format!("{side} to nearest real"),
        format!("real to nearest {side}"),
    ];
    let colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)];
    let outlines: Vec<Vec<(f64, f64)>> = (0..h.series.len()).map(|k| h.outline(k)).collect();
    let series: Vec<Series> = outlines
        .iter()
        .zip(&kind_labels)
        .zip(colours)
        .map(|((points, label), color)| Series {
            label,
            points,
            color,
        })
        .collect();
    out.push(render(
        figure_stem(comparison, "nn_distances"),
        "nn_distances",
        format!(
            "histograms (step outlines) of each haplotype's Hamming distance to its nearest neighbour, pooled over the groups: \
             real to real, {side} to {side}, {side} to real, real to {side}"
        ),
        Kind::Line,
        [
            &format!("{comparison}: nearest-neighbour distances"),
            "Hamming distance to the nearest neighbour (SNPs)",
            "haplotypes",
        ],
        &series,
    )?);

    // Allele frequencies: synthetic against real, per group, over the diagonal.
    let diagonal: Vec<(f64, f64)> = (0..=200)
        .map(|k| (k as f64 / 200.0, k as f64 / 200.0))
        .collect();
    let points: Vec<Vec<(f64, f64)>> = d
        .allele_frequencies
        .iter()
        .map(|g| {
            g.real
                .iter()
                .copied()
                .zip(g.synthetic.iter().copied())
                .collect()
        })
        .collect();
    let mut series = Vec::new();
    for (g, (f, p)) in d.allele_frequencies.iter().zip(&points).enumerate() {
        series.push(Series {
            label: &f.group,
            points: p,
            color: group_colour(g),
        });
    }
    // On top, so that the clouds do not hide it.
    series.push(Series {
        label: "y = x",
        points: &diagonal,
        color: GREY,
    });
    out.push(render(
        figure_stem(comparison, "allele_frequencies"),
        "allele_frequencies",
        format!(
            "ALT allele frequency of each SNP, {side} (y) against real (x), within each group (one colour each), \
             and the diagonal y = x in grey on top"
        ),
        Kind::Scatter,
        [
            &format!("{comparison}: allele frequencies by group"),
            "real allele frequency",
            &format!("{side} allele frequency"),
        ],
        &series,
    )?);
    Ok(out)
}

/// The two distance-to-closest-record distributions of the privacy figures: each synthetic
/// haplotype's Hamming distance to its nearest training haplotype against each held-out real
/// one's. A generator that copies puts its mass at 0, left of the real curve.
pub fn dcr_figure(
    comparison: &str,
    p: &artifact::report::Privacy,
) -> Result<Figure, ArtifactError> {
    let h = &p.dcr_histogram;
    let hist = Histogram {
        start: h.start,
        bin_width: h.bin_width,
        series: [&h.synthetic_to_training, &h.heldout_to_training]
            .into_iter()
            .zip(["synthetic_to_training", "heldout_to_training"])
            .map(|(counts, name)| crate::diagnostics::HistogramSeries {
                name: name.into(),
                counts: counts.clone(),
            })
            .collect(),
    };
    let outlines = [hist.outline(0), hist.outline(1)];
    let labels = [
        format!("synthetic to nearest training ({})", p.members),
        format!("held-out real to nearest training ({})", p.non_members),
    ];
    let series: Vec<Series> = outlines
        .iter()
        .zip(&labels)
        .zip([(214, 39, 40), (31, 119, 180)])
        .map(|((points, label), color)| Series {
            label,
            points,
            color,
        })
        .collect();
    render(
        figure_stem(comparison, "dcr"),
        "dcr",
        "histograms (step outlines) of the Hamming distance to the nearest training haplotype: \
         synthetic against held-out real"
            .into(),
        Kind::Line,
        [
            &format!(
                "{comparison}: distance to closest training record (membership AUC {:.3})",
                p.membership_auc
            ),
            "Hamming distance to the nearest training haplotype (SNPs)",
            "haplotypes",
        ],
        &series,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{self, Pooled, ProtocolOptions, Side};
    use haplotypes::bits::PackedHaplotypes;

    /// Diagnostics of `real` against `synthetic` rows (one group) through the whole protocol.
    fn diagnostics(real: &[u8], synthetic: &[u8], m: usize) -> Diagnostics {
        let side = |v: &[u8]| {
            let packed = PackedHaplotypes::from_rows(v, m);
            let groups = vec![0; packed.n];
            Side { packed, groups }
        };
        let names = vec!["A".to_string()];
        let pooled = Pooled::balance(&side(real), &side(synthetic), &names, 1);
        let variants = crate::numbered_variants(m);
        let opts = ProtocolOptions {
            splits: 1,
            ..Default::default()
        };
        let progress = indicatif::ProgressBar::hidden();
        protocol::run("synthetic", "test", &pooled, &variants, &opts, &progress)
            .unwrap()
            .diagnostics
    }

    #[test]
    fn every_figure_renders_deterministically() {
        let m = 12;
        let rows = |n: usize, salt: usize| -> Vec<u8> {
            (0..n * m)
                .map(|k| ((k * 31 + salt + k / m * 7) % 5 < 2) as u8)
                .collect()
        };
        let d = diagnostics(&rows(40, 0), &rows(40, 3), m);
        let figs = figures("synthetic", &d).unwrap();
        let stems: Vec<&str> = figs.iter().map(|f| f.stem.as_str()).collect();
        assert_eq!(
            stems,
            [
                "synthetic.minor_alleles",
                "synthetic.ld_decay",
                "synthetic.nn_distances",
                "synthetic.allele_frequencies"
            ]
        );
        for (f, listed) in figs.iter().zip(&d.figures) {
            assert_eq!(f.figure, listed.figure);
            assert_eq!(format!("{}.png", f.stem), listed.png);
            assert!(f.png.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert!(f.svg.contains("<svg") && !f.plots.is_empty());
        }
        let again = figures("synthetic", &d).unwrap();
        assert!(figs
            .iter()
            .zip(&again)
            .all(|(a, b)| a.png == b.png && a.svg == b.svg));
    }

    #[test]
    fn a_single_snp_has_no_ld_and_still_draws() {
        let real: Vec<u8> = (0..30).map(|i| (i % 3 == 0) as u8).collect();
        let syn: Vec<u8> = (0..30).map(|i| (i % 2 == 0) as u8).collect();
        let d = diagnostics(&real, &syn, 1);
        assert_eq!(d.ld_decay_max_distance, 1);
        assert_eq!(d.ld_decay[0].bins.len(), 1);
        assert_eq!(d.ld_decay[0].bins[0].real_mean_r2, None);
        assert_eq!(d.logistic_top_snps.snps.len(), 1);
        let figs = figures("synthetic", &d).unwrap();
        // Drawn (a lone grey point: a chart with one series has no legend) instead of failing.
        assert_eq!(figs[1].figure, "ld_decay");
        assert!(figs[1].png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(figs[1].svg.contains("synthetic: LD decay"));
    }
}
