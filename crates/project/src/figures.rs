//! The scatter plots of the paper's Figures 2 and 3: real haplotypes behind in light colours,
//! synthetic on top in saturated ones; one figure with every group and one per group (that
//! group's real and synthetic over all real haplotypes in light grey).

use artifact::plot::{group_colour, lighten, scatter_png, scatter_svg, Series};
use artifact::ArtifactError;

/// Pixels of every figure.
pub const SIZE: (u32, u32) = (900, 760);

/// The light (real) version of a colour: 60 % of the way to white.
fn light(c: (u8, u8, u8)) -> (u8, u8, u8) {
    lighten(c, 0.6)
}

const GREY: (u8, u8, u8) = (205, 205, 205);

/// One figure to write: file stem (`pca`, `pca.EUR`), the group it shows (`all` or a group),
/// what is drawn, and the rendered PNG and SVG.
pub struct Figure {
    pub stem: String,
    pub group: String,
    pub plots: String,
    pub png: Vec<u8>,
    pub svg: String,
}

/// Points of one method: per group (sorted), the real and the synthetic (x, y).
pub struct Points<'a> {
    pub method_title: &'a str,
    pub method: &'a str,
    pub axes: [String; 2],
    pub groups: &'a [String],
    pub real: &'a [Vec<(f64, f64)>],
    pub synthetic: &'a [Vec<(f64, f64)>],
}

/// A group name as a file name part: anything but ASCII letters, digits, `-` and `_` becomes `_`.
pub fn file_part(group: &str) -> String {
    group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn figures(p: &Points) -> Result<Vec<Figure>, ArtifactError> {
    let [xl, yl] = &p.axes;
    let mut out = Vec::with_capacity(p.groups.len() + 1);
    let real_labels: Vec<String> = p.groups.iter().map(|g| format!("{g} real")).collect();
    let synth_labels: Vec<String> = p.groups.iter().map(|g| format!("{g} synthetic")).collect();

    // All groups: every real series first (behind), then every synthetic series.
    let mut series = Vec::with_capacity(2 * p.groups.len());
    for (i, pts) in p.real.iter().enumerate() {
        series.push(Series {
            label: &real_labels[i],
            points: pts,
            color: light(group_colour(i)),
        });
    }
    for (i, pts) in p.synthetic.iter().enumerate() {
        series.push(Series {
            label: &synth_labels[i],
            points: pts,
            color: group_colour(i),
        });
    }
    let title = format!(
        "{} fitted on real haplotypes: real (light), synthetic (dark)",
        p.method_title
    );
    out.push(Figure {
        stem: p.method.to_string(),
        group: "all".into(),
        plots: format!(
            "{} c1 vs c2 of every group: real haplotypes in light colours behind, synthetic in saturated colours on top",
            p.method
        ),
        png: scatter_png(&title, xl, yl, &series, SIZE)?,
        svg: scatter_svg(&title, xl, yl, &series, SIZE)?,
    });

    // One per group, over all real haplotypes in grey.
    let all_real: Vec<(f64, f64)> = p.real.iter().flatten().copied().collect();
    for (i, g) in p.groups.iter().enumerate() {
        let series = [
            Series {
                label: "all real",
                points: &all_real,
                color: GREY,
            },
            Series {
                label: &real_labels[i],
                points: &p.real[i],
                color: light(group_colour(i)),
            },
            Series {
                label: &synth_labels[i],
                points: &p.synthetic[i],
                color: group_colour(i),
            },
        ];
        let title = format!("{} fitted on real haplotypes: {g}", p.method_title);
        out.push(Figure {
            stem: format!("{}.{}", p.method, file_part(g)),
            group: g.clone(),
            plots: format!(
                "{} c1 vs c2: all real haplotypes in light grey, {g} real in a light colour, {g} synthetic in a saturated colour on top",
                p.method
            ),
            png: scatter_png(&title, xl, yl, &series, SIZE)?,
            svg: scatter_svg(&title, xl, yl, &series, SIZE)?,
        });
    }
    Ok(out)
}
