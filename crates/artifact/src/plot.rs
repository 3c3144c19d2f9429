//! Line charts and scatter plots rendered into memory (PNG bytes or SVG text).
//!
//! Rendering returns bytes rather than writing files so that stages write plots through
//! [`crate::OutputSet`] like every other artifact (atomic, hashed). The PNG bytes depend only on
//! the inputs: the encoder writes no timestamps or other ancillary chunks.

use std::ops::Range;
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::register_font;

use crate::ArtifactError;

/// One named set of points drawn in one colour.
pub struct Series<'a> {
    pub label: &'a str,
    pub points: &'a [(f64, f64)],
    pub color: (u8, u8, u8),
}

// The ab_glyph text backend has no system font lookup, only fonts registered by name; embedding
// one keeps the output identical on every machine (licence in assets/DejaVuSans.LICENSE).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
/// Below this the title, tick labels and plot area no longer fit; above it is surely a mistake
/// (and gigabytes of pixel buffer).
const SIDES: std::ops::RangeInclusive<u32> = 100..=16_384;

/// Title, x label, y label; the series; log y axis; scatter (else line) chart.
#[derive(Clone, Copy)]
struct Chart<'a>([&'a str; 3], &'a [Series<'a>], bool, bool);

/// The usable points of each series, split into runs at skipped points so that a line shows a
/// gap instead of bridging a missing value, and the padded axis ranges.
struct Prepared {
    runs: Vec<Vec<Vec<(f64, f64)>>>,
    x: Range<f64>,
    y: Range<f64>,
}

impl Chart<'_> {
    fn fail(&self, what: impl std::fmt::Display) -> ArtifactError {
        let message = format!("plot `{}`: {what}", self.0[0]);
        ArtifactError::Invalid { message }
    }

    fn prepare(&self, (w, h): (u32, u32)) -> Result<Prepared, ArtifactError> {
        static FONT_ONCE: Once = Once::new();
        // A font that fails to load surfaces later as a drawing error (FontUnavailable).
        FONT_ONCE.call_once(|| _ = register_font(FAMILY, FontStyle::Normal, FONT));
        if !SIDES.contains(&w) || !SIDES.contains(&h) {
            return Err(self.fail(format!("size {w}x{h} is outside {SIDES:?} pixels a side")));
        }
        let Chart(_, series, log_y, _) = *self;
        if series.is_empty() {
            return Err(self.fail("no series to draw"));
        }
        let usable = |x: f64, y: f64| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
        let mut runs = Vec::with_capacity(series.len());
        for s in series {
            let mut these = vec![Vec::new()];
            for &(x, y) in s.points {
                if usable(x, y) {
                    these.last_mut().unwrap().push((x, y));
                } else if !these.last().unwrap().is_empty() {
                    these.push(Vec::new());
                }
            }
            these.retain(|r| !r.is_empty());
            runs.push(these);
        }
        let widen = |b: [f64; 2], v: f64| [b[0].min(v), b[1].max(v)];
        let bounds = |axis: fn(&(f64, f64)) -> f64| {
            let values = runs.iter().flatten().flatten().map(axis);
            values.fold([f64::INFINITY, f64::NEG_INFINITY], widen)
        };
        let ([x0, x1], [y0, y1]) = (bounds(|p| p.0), bounds(|p| p.1));
        if x0 > x1 {
            let log = if log_y { " with y > 0 (log scale)" } else { "" };
            return Err(self.fail(format!("the series have no finite points{log}")));
        }
        let x = padded(x0, x1, x0.abs().max(1.0) * 0.1);
        let y = if log_y {
            // Pad in decades so that a constant series on a log axis still gets a visible range.
            let r = padded(y0.log10(), y1.log10(), 0.5);
            10f64.powf(r.start)..10f64.powf(r.end)
        } else {
            padded(y0, y1, y0.abs().max(1.0) * 0.1)
        };
        if !(x.end - x.start).is_finite() || !(y.end - y.start).is_finite() {
            return Err(self.fail("values too large to draw"));
        }
        Ok(Prepared { runs, x, y })
    }

    fn render<DB: DrawingBackend>(&self, root: Area<DB>, data: &Prepared) -> Fallible {
        let drawn = match self.2 {
            true => self.draw(root, data, data.y.clone().log_scale()),
            false => self.draw(root, data, data.y.clone()),
        };
        drawn.map_err(|e| self.fail(e))
    }

    /// Generic over the y coordinate because linear and log axes are different types.
    fn draw<DB: DrawingBackend, Y>(&self, root: Area<DB>, data: &Prepared, y: Y) -> Drawn<DB>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let Chart([title, x_label, y_label], series, _, scatter) = *self;
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(data.x.clone(), y)?;
        chart
            .configure_mesh()
            .x_labels(7)
            .y_labels(8)
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        // Series order is drawing order: the first series ends up behind the later ones.
        for (s, runs) in series.iter().zip(&data.runs) {
            let color = RGBColor(s.color.0, s.color.1, s.color.2);
            let anno = if scatter {
                // Small translucent points, so a dense cloud shows its density, not a solid blob.
                let dot = color.mix(0.35).filled();
                chart.draw_series(runs.iter().flatten().map(|&p| Circle::new(p, 2, dot)))?
            } else {
                // A run of one point has no segment to stroke; mark it so that it is not lost.
                let lone = runs.iter().filter(|r| r.len() == 1);
                chart.draw_series(lone.map(|r| Circle::new(r[0], 2, color.filled())))?;
                let line = color.stroke_width(2);
                chart.draw_series(runs.iter().map(|r| PathElement::new(r.clone(), line)))?
            };
            anno.label(s.label).legend(move |(x, y)| match scatter {
                true => Circle::new((x + 9, y), 4, color.filled()).into_dyn(),
                false => PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)).into_dyn(),
            });
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .label_font((FAMILY, 13))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .draw()?;
        }
        root.present()
    }

    fn png(&self, size: (u32, u32)) -> Result<Vec<u8>, ArtifactError> {
        let data = self.prepare(size)?;
        let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        self.render(root, &data)?;
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, size.0, size.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let encoded = (encoder.write_header())
            .and_then(|mut w| w.write_image_data(&rgb).and_then(|()| w.finish()));
        encoded.map_err(|e| self.fail(format!("PNG encoding: {e}")))?;
        Ok(out)
    }

    fn svg(&self, size: (u32, u32)) -> Result<String, ArtifactError> {
        let data = self.prepare(size)?;
        let mut out = String::new();
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        self.render(root, &data)?;
        Ok(out)
    }
}

type Area<DB> = DrawingArea<DB, Shift>;
type Fallible = Result<(), ArtifactError>;
type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The data span plus a small margin; a degenerate one (a single value) gets `flat_pad` a side,
/// since plotters cannot lay out ticks on an empty range.
fn padded(lo: f64, hi: f64, flat_pad: f64) -> Range<f64> {
    let span = hi - lo;
    let degenerate = span <= hi.abs().max(lo.abs()) * 1e-9;
    let pad = if degenerate { flat_pad } else { span * 0.03 };
    lo - pad..hi + pad
}

/// Line chart as PNG bytes (`size` = width x height pixels) with title, axis labels, and a
/// legend when there is more than one series. Non-finite points (and, with `log_y`, points with
/// y <= 0) are skipped, leaving a gap in the line.
pub fn line_chart_png(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
    size: (u32, u32),
) -> Result<Vec<u8>, ArtifactError> {
    Chart([title, x_label, y_label], series, log_y, false).png(size)
}

/// [`line_chart_png`] as SVG text.
pub fn line_chart_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
    size: (u32, u32),
) -> Result<String, ArtifactError> {
    Chart([title, x_label, y_label], series, log_y, false).svg(size)
}

/// Scatter plot as PNG bytes: small translucent points, drawn in series order so that the first
/// series is behind the rest. Non-finite points are skipped.
pub fn scatter_png(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    size: (u32, u32),
) -> Result<Vec<u8>, ArtifactError> {
    Chart([title, x_label, y_label], series, false, true).png(size)
}

/// [`scatter_png`] as SVG text.
pub fn scatter_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    size: (u32, u32),
) -> Result<String, ArtifactError> {
    Chart([title, x_label, y_label], series, false, true).svg(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series<'a>(label: &'a str, points: &'a [(f64, f64)]) -> Series<'a> {
        Series {
            label,
            points,
            color: (200, 30, 30),
        }
    }

    /// Checks the signature and decodes the whole image; returns its size.
    fn decoded_size(bytes: &[u8]) -> (u32, u32) {
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info.width, info.height)
    }

    #[test]
    fn line_png_decodes_to_requested_size_and_is_deterministic() {
        let a: Vec<_> = (0..50)
            .map(|i| (i as f64, (i as f64 * 0.3).sin()))
            .collect();
        let mut b: Vec<_> = (0..50).map(|i| (i as f64, i as f64)).collect();
        b[20].1 = f64::NAN;
        let s = [series("sin", &a), series("ramp", &b)];
        let png = line_chart_png("Loss", "step", "value", &s, false, (640, 400)).unwrap();
        assert_eq!(decoded_size(&png), (640, 400));
        assert_eq!(
            png,
            line_chart_png("Loss", "step", "value", &s, false, (640, 400)).unwrap()
        );
    }

    #[test]
    fn log_scale_skips_non_positive_and_svg_has_title() {
        let pts = [
            (0.0, 0.0),
            (1.0, 10.0),
            (2.0, -1.0),
            (3.0, 0.1),
            (4.0, f64::INFINITY),
        ];
        let s = [series("mmd", &pts)];
        let svg = line_chart_svg("MMD by epoch", "epoch", "mmd", &s, true, (500, 300)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("MMD by epoch"));
        let png = line_chart_png("t", "x", "y", &s, true, (300, 200)).unwrap();
        assert_eq!(decoded_size(&png), (300, 200));
    }

    #[test]
    fn constant_and_single_point_series_render() {
        for pts in [
            &[(0.0, 3.0), (1.0, 3.0), (2.0, 3.0)][..],
            &[(5.0, 2.0)],
            &[(0.0, 0.0)],
        ] {
            let s = [series("c", pts)];
            decoded_size(&line_chart_png("c", "x", "y", &s, false, (320, 240)).unwrap());
            if pts[0].1 > 0.0 {
                decoded_size(&line_chart_png("c", "x", "y", &s, true, (320, 240)).unwrap());
            }
            decoded_size(&scatter_png("c", "x", "y", &s, (320, 240)).unwrap());
            assert!(scatter_svg("c", "x", "y", &s, (320, 240))
                .unwrap()
                .contains("<svg"));
        }
    }

    #[test]
    fn scatter_png_and_svg() {
        let real: Vec<_> = (0..2000).map(|i| (i as f64 * 0.01).sin_cos()).collect();
        let fake: Vec<_> = real.iter().map(|&(x, y)| (x * 0.9, y * 0.9)).collect();
        let s = [series("real", &real), series("generated", &fake)];
        let png = scatter_png("PCA", "PC1", "PC2", &s, (400, 400)).unwrap();
        assert_eq!(decoded_size(&png), (400, 400));
        assert!(scatter_svg("PCA", "PC1", "PC2", &s, (400, 400))
            .unwrap()
            .contains("PCA"));
    }

    #[test]
    fn errors_are_invalid_with_clear_messages() {
        let message = |r: Result<String, ArtifactError>| match r.unwrap_err() {
            ArtifactError::Invalid { message } => message,
            other => panic!("unexpected {other:?}"),
        };
        let chart = |pts: &[(f64, f64)], log_y, size| {
            let s: &[_] = if pts.is_empty() {
                &[]
            } else {
                &[series("n", pts)]
            };
            message(line_chart_svg("t", "x", "y", s, log_y, size))
        };
        assert!(chart(&[], false, (300, 200)).contains("no series"));
        assert!(chart(&[(f64::NAN, 1.0)], false, (300, 200)).contains("no finite points"));
        assert!(chart(&[(1.0, -2.0)], true, (300, 200)).contains("y > 0"));
        assert!(chart(&[(1.0, 2.0)], false, (0, 200)).contains("size 0x200"));
        let nan = [series("n", &[(1.0, f64::NAN)])];
        assert!(message(scatter_svg("t", "x", "y", &nan, (300, 200))).contains("no finite"));
    }
}

/// Colour of group number `i` in every figure of the project (matplotlib's tab10 order), so a
/// group has one colour in the projections and in the diagnostics.
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

/// `c` moved `fraction` of the way to white (real haplotypes are drawn in a light version of
/// their group's colour).
pub fn lighten(c: (u8, u8, u8), fraction: f64) -> (u8, u8, u8) {
    let f = |x: u8| x + ((255 - x) as f64 * fraction).round() as u8;
    (f(c.0), f(c.1), f(c.2))
}
