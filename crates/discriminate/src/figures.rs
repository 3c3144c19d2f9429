//! The diagnostics' figures, rendered with [`artifact::plot`]: per comparison a histogram of
//! minor alleles per haplotype, the LD decay, a histogram of nearest-neighbour distances and
//! the allele frequencies of both sides.

use artifact::plot::{line_chart_png, line_chart_svg, scatter_png, scatter_svg, Series};
use artifact::ArtifactError;

use crate::diagnostics::{figure_stem, side_label, Diagnostics, Histogram};

/// Pixels of every figure.
pub const SIZE: (u32, u32) = (900, 600);

/// Colour of group number `i` (matplotlib's tab10 order, as gmmn-project's figures).
pub fn group_colour(i: usize) -> (u8, u8, u8) {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    TAB10[i % TAB10.len()]
}

/// The light (real) version of a colour: half way to white.
pub fn light(c: (u8, u8, u8)) -> (u8, u8, u8) {
    let f = |x: u8| x + ((255 - x) as f64 * 0.5).round() as u8;
    (f(c.0), f(c.1), f(c.2))
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
    let series = group_series(&labels, &points);
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
