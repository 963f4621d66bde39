//! SVG charts, drawn with plotters' SVG backend into strings that the HTML
//! report inlines. Log axes are drawn as linear axes over log10 of the value
//! with tick labels written back in the value's units, so that every chart
//! goes through one code path.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A line chart's plot; its legend goes in a column to the right, never over the data.
const SIZE: (u32, u32) = (460, 280);
const LEGEND_WIDTH: u32 = 190;
/// Legend rows, each a series: the chart grows taller when they need it.
const LEGEND_ROW: u32 = 15;

/// The Okabe-Ito palette (colour-blind safe), without its black and yellow
/// (too dark or too pale for thin lines on white), and four darker kin.
const PALETTE: [RGBColor; 10] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(120, 120, 120),
    RGBColor(140, 90, 0),
    RGBColor(0, 90, 60),
    RGBColor(120, 40, 100),
];

/// A line with more points than this has only some of them marked.
const MARKS_PER_LINE: usize = 4;

/// How a stack's points are marked, beside its colour: every marker is an
/// SVG `<circle>` or `<polygon>` (what counts a chart's points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Ring,
    Triangle,
    Diamond,
}

const MARKERS: [Marker; 4] = [Marker::Circle, Marker::Ring, Marker::Triangle, Marker::Diamond];

/// The points a chart's SVG marks (for tests and checks).
pub fn count_points(svg: &str) -> usize {
    svg.matches("<circle").count() + svg.matches("<polygon").count()
}

/// A stack's colour and marker, the same in every chart of every report: a
/// hash of its name alone (FNV-1a), so adding a stack recolours no other.
/// Forty identities; two stacks may share one, and their legend names
/// still tell them apart.
pub fn identity(stack: &str) -> (RGBColor, Marker) {
    let hash = stack.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let n = hash % (PALETTE.len() * MARKERS.len()) as u64;
    (PALETTE[n as usize % PALETTE.len()], MARKERS[n as usize / PALETTE.len()])
}

/// One line on a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// Whose colour and marker it takes (its stack).
    pub stack: String,
    /// A thin line (a secondary figure of the same stack, like p50 beside p99).
    pub thin: bool,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A stack's line, named after it.
    pub fn of(stack: &str, points: Vec<(f64, f64)>) -> Series {
        Series { name: stack.to_string(), stack: stack.to_string(), thin: false, points }
    }
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
    /// Where `v` goes on the axis; none for a value a log axis cannot show
    /// (zero or less: a probe that measured nothing), which is left out rather
    /// than drawn decades below the data.
    fn map(self, v: f64) -> Option<f64> {
        match self {
            Axis::Linear => Some(v),
            Axis::Log => (v > 0.0).then(|| v.log10()),
            Axis::Percentile => Some((1.0 / (1.0 - v.min(0.999_999))).log10()),
        }
    }

    /// How many ticks to ask for: one per decade on log axes, so that they land on powers of ten.
    fn ticks(self, lo: f64, hi: f64) -> usize {
        match self {
            Axis::Linear => 6,
            Axis::Percentile => ((hi - lo).floor() as usize + 1).clamp(2, 8),
            // Within two decades, ticks between the powers of ten too, so the axis has more than one label.
            Axis::Log if hi - lo < 2.0 => 6,
            Axis::Log => ((hi - lo).floor() as usize + 1).clamp(2, 8),
        }
    }

    fn label(self, v: f64) -> String {
        match self {
            Axis::Linear => short(v),
            Axis::Log => {
                let value = 10f64.powf(v);
                // Below 1, as many decimals as the decade needs: 0.01, not 0.00.
                if value < 1.0 {
                    format!("{value:.*}", (-v).ceil().max(0.0) as usize)
                } else {
                    short(value)
                }
            }
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

/// A marker of `kind` centred `at` (pixels from its anchor).
fn mark<DB: DrawingBackend>(kind: Marker, at: (i32, i32), color: RGBColor) -> DynElement<'static, DB, (i32, i32)> {
    let (x, y) = at;
    match kind {
        Marker::Circle => Circle::new((x, y), 3, color.filled()).into_dyn(),
        Marker::Ring => Circle::new((x, y), 3, color.stroke_width(2)).into_dyn(),
        Marker::Triangle => Polygon::new(vec![(x, y - 4), (x - 4, y + 3), (x + 4, y + 3)], color.filled()).into_dyn(),
        Marker::Diamond => {
            Polygon::new(vec![(x, y - 4), (x - 4, y), (x, y + 4), (x + 4, y)], color.filled()).into_dyn()
        }
    }
}

/// Horizontal bars, one per `(stack, value)`, in the order given from the
/// top, each in its stack's colour and labelled with its value.
pub fn bar_chart(title: &str, x_desc: &str, bars: &[(String, f64)]) -> String {
    let bars: Vec<Bar> =
        bars.iter().map(|(name, value)| Bar { name: name.clone(), value: *value, interval: None }).collect();
    ranked_chart(title, x_desc, &bars)
}

/// One bar of a ranked chart: its value and, over repeats, its 95% interval (drawn as a whisker).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub name: String,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// Horizontal bars, first on top, each with its interval's whisker where it has one.
pub fn ranked_chart(title: &str, x_desc: &str, bars: &[Bar]) -> String {
    let n = bars.len().max(1);
    // Rows of the chart: a range of one value has no height in plotters (one bar was drawn -8 px high),
    // so one bar gets two rows, the upper one empty.
    let rows = n.max(2);
    let size = (SIZE.0 * 2, 60 + 26 * rows as u32);
    let max = bars.iter().map(|b| b.interval.map_or(b.value, |i| i.1.max(b.value))).fold(0.0, f64::max).max(1.0) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(150)
                // A discrete range includes its end: segments 0 to rows - 1, bar i from the top in n - 1 - i.
                .build_cartesian_2d(0.0..max, (0..rows - 1).into_segmented())?;
            let name = |v: &SegmentValue<usize>| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if *i < n => {
                    bars.get(n - 1 - i).map_or(String::new(), |b| b.name.clone())
                }
                SegmentValue::CenterOf(_) | SegmentValue::Exact(_) => String::new(),
                SegmentValue::Last => String::new(),
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                // Only the labelled lines: a minor grid line per bar's width cost most of the chart's bytes.
                .x_max_light_lines(1)
                // plotters sizes labels by the chart's height (5%): a short chart would get unreadable ones.
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 12))
                .x_desc(x_desc)
                .x_labels(6)
                .y_labels(rows)
                .x_label_formatter(&|v| short(*v))
                .y_label_formatter(&name)
                .draw()?;
            for (i, Bar { name: stack, value, interval }) in bars.iter().enumerate() {
                let y = n - 1 - i;
                let (color, _) = identity(stack);
                let mut bar = Rectangle::new(
                    [(0.0, SegmentValue::Exact(y)), (*value, SegmentValue::Exact(y + 1))],
                    color.filled(),
                );
                bar.set_margin(4, 4, 0, 0);
                chart.draw_series(std::iter::once(bar))?;
                if let Some((lo, hi)) = interval {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(*lo, SegmentValue::CenterOf(y)), (*hi, SegmentValue::CenterOf(y))],
                        BLACK.stroke_width(2),
                    )))?;
                }
                let label_at = interval.map_or(*value, |(_, hi)| hi.max(*value));
                chart.draw_series(std::iter::once(Text::new(
                    format!(" {}", short(*value)),
                    (label_at, SegmentValue::CenterOf(y)),
                    TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
            }
            root.present()?;
            Ok(())
        })();
        if let Err(e) = drawn {
            return format!("<p class=\"chart-error\">chart '{title}' could not be drawn: {e}</p>");
        }
    }
    compact(&svg)
}

/// The SVG as HTML inlines it: without the XML namespace, which HTML does not
/// need, and without attributes that restate SVG's defaults (opacity 1, stroke
/// width 1), with font sizes to a hundredth of a pixel. The same drawing, in
/// about a fifth fewer bytes.
fn compact(svg: &str) -> String {
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    let svg = svg.replace(" opacity=\"1\"", "").replace(" stroke-width=\"1\"", "");
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg.as_str();
    while let Some(at) = rest.find("font-size=\"") {
        let (head, tail) = rest.split_at(at + "font-size=\"".len());
        out.push_str(head);
        let end = tail.find('"').unwrap_or(tail.len());
        match tail[..end].parse::<f64>() {
            Ok(size) => out.push_str(&format!("{}", (size * 100.0).round() / 100.0)),
            Err(_) => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A line chart with a point on every value. Returns an inline `<svg>`
/// (without the XML namespace, which HTML does not need).
pub fn line_chart(title: &str, x: (&str, Axis), y: (&str, Axis), series: &[Series]) -> String {
    let mapped: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().filter_map(|&(a, b)| Some((x.1.map(a)?, y.1.map(b)?))).collect())
        .collect();
    let all = mapped.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(a, b) in all {
        (x0, x1, y0, y1) = (x0.min(a), x1.max(a), y0.min(b), y1.max(b));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    // Linear value axes start at zero; every axis gets a little room at its top, and the others at their
    // foot too, so that a point (or the capacity's line) at the lowest value is not drawn on the axis.
    if matches!(y.1, Axis::Linear) {
        y0 = y0.min(0.0);
    }
    let pad = |lo: f64, hi: f64, axis: Axis| {
        let room = (hi - lo) * 0.05;
        if hi - lo < 1e-9 {
            (lo - 0.5, hi + 0.5)
        } else if matches!(axis, Axis::Linear) {
            (lo, hi + room)
        } else {
            (lo - room, hi + room)
        }
    };
    let ((x0, x1), (y0, y1)) = (pad(x0, x1, x.1), pad(y0, y1, y.1));

    let mut svg = String::new();
    {
        let height = SIZE.1.max(40 + LEGEND_ROW * series.len() as u32);
        let root = SVGBackend::with_string(&mut svg, (SIZE.0 + LEGEND_WIDTH, height)).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let (plot, legend) = root.split_horizontally(SIZE.0);
            let plot = plot.shrink((0, 0), (SIZE.0, SIZE.1));
            let mut chart = ChartBuilder::on(&plot)
                .caption(title, ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(52)
                .build_cartesian_2d(x0..x1, y0..y1)?;
            chart
                .configure_mesh()
                // No light lines between the labelled ones: they were most of each chart's bytes.
                .max_light_lines(0)
                .x_desc(x.0)
                .y_desc(y.0)
                .x_labels(x.1.ticks(x0, x1))
                .y_labels(y.1.ticks(y0, y1))
                .x_label_formatter(&|v| x.1.label(*v))
                .y_label_formatter(&|v| y.1.label(*v))
                .draw()?;
            for (s, points) in series.iter().zip(&mapped) {
                let (color, marker) = identity(&s.stack);
                let width = if s.thin { 1 } else { 2 };
                chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(width)))?;
                // Long lines are marked at about every fourth of their points (and the last): enough to
                // tell stacks apart, and markers were most of a page's bytes.
                let step = (points.len() / MARKS_PER_LINE).max(1);
                let marked = points.iter().enumerate().filter(|(i, _)| i % step == 0 || i + 1 == points.len());
                for (_, &p) in marked {
                    chart.draw_series(std::iter::once(EmptyElement::at(p) + mark(marker, (0, 0), color)))?;
                }
            }
            for (i, s) in series.iter().enumerate() {
                let (color, marker) = identity(&s.stack);
                let width = if s.thin { 1 } else { 2 };
                let y = 34 + (LEGEND_ROW * i as u32) as i32;
                legend.draw(
                    &(EmptyElement::at((4, y))
                        + PathElement::new(vec![(0, 0), (18, 0)], color.stroke_width(width))
                        + mark(marker, (9, 0), color)
                        + Text::new(s.name.clone(), (24, -6), ("sans-serif", 12))),
                )?;
            }
            root.present()?;
            Ok(())
        })();
        if let Err(e) = drawn {
            return format!("<p class=\"chart-error\">chart '{title}' could not be drawn: {e}</p>");
        }
    }
    compact(&svg)
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
        assert_eq!(Axis::Log.label(0.0), "1");
        assert_eq!(Axis::Log.label(-2.0), "0.01");
        assert_eq!(Axis::Log.label(-3.0), "0.001");
    }

    /// A zero on a log axis (a probe that measured nothing) is left out, not
    /// drawn nine decades below the rest, which stretched the axis to labels of "0.00".
    #[test]
    fn a_log_axis_leaves_out_what_it_cannot_show() {
        let s = Series::of("a", vec![(1.0, 0.0), (2.0, 10.0), (3.0, 100.0)]);
        let svg = line_chart("t", ("x", Axis::Linear), ("y", Axis::Log), &[s]);
        // Two points and the legend's marker.
        assert_eq!(count_points(&svg), 3, "{svg}");
        assert!(!svg.contains(">\n0.00\n<"), "{svg}");
    }

    #[test]
    fn compact_svg_keeps_every_element() {
        let s = Series::of("a", vec![(10.0, 1.0), (100.0, 2.0), (1000.0, 3.0)]);
        let svg = line_chart("t", ("x", Axis::Log), ("y", Axis::Linear), &[s]);
        assert!(!svg.contains(" opacity=\"1\"") && !svg.contains(" stroke-width=\"1\""), "{svg}");
        assert!(svg.contains("font-size=\"9.68\""), "{svg}");
        assert_eq!(
            compact("<text font-size=\"12.096774193548388\" opacity=\"1\">t</text>"),
            "<text font-size=\"12.1\">t</text>"
        );
    }

    /// A stack keeps its colour whichever stacks share the chart: the colour of
    /// "b" is in a chart of a and b and in one of b and c, and a chart without b lacks it.
    #[test]
    fn a_stack_has_one_colour_in_every_chart() {
        let hex = |stack: &str| {
            let (RGBColor(r, g, b), _) = identity(stack);
            format!("#{r:02X}{g:02X}{b:02X}")
        };
        let chart = |stacks: &[&str]| {
            let series: Vec<Series> = stacks.iter().map(|s| Series::of(s, vec![(1.0, 1.0), (2.0, 2.0)])).collect();
            let bars: Vec<(String, f64)> = stacks.iter().map(|s| (s.to_string(), 1.0)).collect();
            (line_chart("t", ("x", Axis::Linear), ("y", Axis::Linear), &series), bar_chart("t", "x", &bars))
        };
        // Two other stacks of other colours (with forty identities, some stacks share a colour).
        let others: Vec<&str> = ["flask-gevent", "sanic", "starlette", "tornado", "node-http", "django-gevent"]
            .into_iter()
            .filter(|s| hex(s) != hex("go-nethttp"))
            .collect();
        let (a, c) = (others[0], others[1]);
        for (lines, bars) in [chart(&[a, "go-nethttp"]), chart(&["go-nethttp", c])] {
            assert!(lines.to_uppercase().contains(&hex("go-nethttp")), "{lines}");
            assert!(bars.to_uppercase().contains(&hex("go-nethttp")), "{bars}");
        }
        let (lines, bars) = chart(&[a, c]);
        assert!(!lines.to_uppercase().contains(&hex("go-nethttp")));
        assert!(!bars.to_uppercase().contains(&hex("go-nethttp")));
    }

    /// The numbers after `attr="` in `svg`.
    fn attributes(svg: &str, attr: &str) -> Vec<f64> {
        let key = format!("{attr}=\"");
        svg.match_indices(&key).filter_map(|(at, _)| svg[at + key.len()..].split('"').next()?.parse().ok()).collect()
    }

    /// Right at 1, 2 and 60 stacks as at 25: every bar has a height, every stack its name beside its bar,
    /// and no text is smaller than the line charts' labels (one stack drew a bar -8 px high, and
    /// labels of 1.61 px, sized by plotters as a share of a short chart's height).
    #[test]
    fn bars_from_one_to_many() {
        let smallest = attributes(&line_chart("t", ("x", Axis::Linear), ("y", Axis::Linear), &[]), "font-size")
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        for n in [0, 1, 2, 25, 60] {
            let bars: Vec<(String, f64)> = (0..n).map(|i| (format!("stack-{i}"), 10.0 * (i + 1) as f64)).collect();
            let svg = bar_chart("t", "x", &bars);
            assert!(svg.starts_with("<svg "), "{n} bars: {svg}");
            assert_eq!(svg.matches("<rect").count(), 1 + n, "{n} bars");
            let heights = attributes(&svg, "height");
            assert!(heights.iter().all(|&h| h > 0.0), "{n} bars: heights {heights:?}");
            let fonts = attributes(&svg, "font-size");
            assert!(fonts.iter().all(|&f| f >= smallest), "{n} bars: fonts {fonts:?} (smallest elsewhere {smallest})");
            for (name, _) in &bars {
                assert!(svg.contains(&format!("\n{name}\n")), "{n} bars: no label {name}");
            }
        }
    }

    /// A ranked chart draws each bar's interval as a whisker across its value, and its label past the whisker.
    #[test]
    fn ranked_bars_carry_their_intervals() {
        for n in [1_usize, 2, 60] {
            let bars: Vec<Bar> = (0..n)
                .map(|i| {
                    let value = 100.0 * (n - i) as f64;
                    Bar {
                        name: format!("stack-{i}"),
                        value,
                        interval: (i % 2 == 0).then_some((value * 0.9, value * 1.1)),
                    }
                })
                .collect();
            let svg = ranked_chart("t", "x", &bars);
            let whiskers = svg.matches("stroke-width=\"2\"").count();
            assert_eq!(whiskers, n.div_ceil(2), "{n} bars: one whisker per bar with an interval");
            let heights = attributes(&svg, "height");
            assert!(heights.iter().all(|&h| h > 0.0), "{n} bars: heights {heights:?}");
        }
    }

    #[test]
    fn chart_has_the_points_and_no_namespace() {
        let s = Series::of("a", vec![(10.0, 1.0), (100.0, 2.0), (1000.0, 3.0)]);
        let svg = line_chart("t", ("x", Axis::Log), ("y", Axis::Linear), &[s]);
        assert!(svg.starts_with("<svg "), "{}", &svg[..80]);
        assert!(!svg.contains("http"));
        // A marker on each point, and one in the legend.
        assert_eq!(count_points(&svg), 4);
    }
}
