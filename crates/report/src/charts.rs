//! SVG charts, drawn with plotters' SVG backend into strings that the HTML
//! report inlines. Log axes are drawn as linear axes over log10 of the value
//! with tick labels written back in the value's units, so that every chart
//! goes through one code path.

use plotters::prelude::*;

const SIZE: (u32, u32) = (460, 280);

/// One line on a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// How an axis maps values and labels ticks.
#[derive(Debug, Clone, Copy)]
pub enum Axis {
    Linear,
    /// log10 scale; ticks labelled with the value.
    Log,
    /// Percentiles on HdrHistogram's scale: x = log10(1 / (1 - q)).
    Percentile,
}

impl Axis {
    fn map(self, v: f64) -> f64 {
        match self {
            Axis::Linear => v,
            Axis::Log => v.max(1e-9).log10(),
            Axis::Percentile => (1.0 / (1.0 - v.min(0.999_999))).log10(),
        }
    }

    /// How many ticks to ask for: one per decade on log axes, so that they land on powers of ten.
    fn ticks(self, lo: f64, hi: f64) -> usize {
        match self {
            Axis::Linear => 6,
            Axis::Log | Axis::Percentile => ((hi - lo).floor() as usize + 1).clamp(2, 8),
        }
    }

    fn label(self, v: f64) -> String {
        match self {
            Axis::Linear => short(v),
            Axis::Log => short(10f64.powf(v)),
            Axis::Percentile => {
                let q = 1.0 - 10f64.powf(-v);
                let digits = (v.round() as usize).saturating_sub(2);
                format!("{:.*}%", digits, q * 100.0)
            }
        }
    }
}

fn short(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A line chart with a point on every value. Returns an inline `<svg>`
/// (without the XML namespace, which HTML does not need).
pub fn line_chart(title: &str, x: (&str, Axis), y: (&str, Axis), series: &[Series]) -> String {
    let mapped: Vec<Vec<(f64, f64)>> =
        series.iter().map(|s| s.points.iter().map(|&(a, b)| (x.1.map(a), y.1.map(b))).collect()).collect();
    let all = mapped.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(a, b) in all {
        (x0, x1, y0, y1) = (x0.min(a), x1.max(a), y0.min(b), y1.max(b));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    // Linear value axes start at zero; every axis gets a little room.
    if matches!(y.1, Axis::Linear) {
        y0 = y0.min(0.0);
    }
    let pad = |lo: f64, hi: f64| if hi - lo < 1e-9 { (lo - 0.5, hi + 0.5) } else { (lo, hi + (hi - lo) * 0.05) };
    let ((x0, x1), (y0, y1)) = (pad(x0, x1), pad(y0, y1));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(52)
                .build_cartesian_2d(x0..x1, y0..y1)?;
            chart
                .configure_mesh()
                .x_desc(x.0)
                .y_desc(y.0)
                .x_labels(x.1.ticks(x0, x1))
                .y_labels(y.1.ticks(y0, y1))
                .x_label_formatter(&|v| x.1.label(*v))
                .y_label_formatter(&|v| y.1.label(*v))
                .draw()?;
            for (idx, (s, points)) in series.iter().zip(&mapped).enumerate() {
                let color = Palette99::pick(idx).to_rgba();
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
                    .label(s.name.as_str())
                    .legend(move |(lx, ly)| PathElement::new(vec![(lx, ly), (lx + 16, ly)], color.stroke_width(2)));
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 2, color.filled())))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .position(SeriesLabelPosition::LowerRight)
                .draw()?;
            root.present()?;
            Ok(())
        })();
        if let Err(e) = drawn {
            return format!("<p class=\"chart-error\">chart '{title}' could not be drawn: {e}</p>");
        }
    }
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_ticks() {
        assert_eq!(Axis::Percentile.label(0.0), "0%");
        assert_eq!(Axis::Percentile.label(1.0), "90%");
        assert_eq!(Axis::Percentile.label(2.0), "99%");
        assert_eq!(Axis::Percentile.label(3.0), "99.9%");
        assert_eq!(Axis::Log.label(2.0), "100");
    }

    #[test]
    fn chart_has_the_points_and_no_namespace() {
        let s = Series { name: "a".into(), points: vec![(10.0, 1.0), (100.0, 2.0), (1000.0, 3.0)] };
        let svg = line_chart("t", ("x", Axis::Log), ("y", Axis::Linear), &[s]);
        assert!(svg.starts_with("<svg "), "{}", &svg[..80]);
        assert!(!svg.contains("http"));
        assert_eq!(svg.matches("<circle").count(), 3);
    }
}
