//! Server-rendered SVG charts for the supervision page: stacked bars (weekly volume by colour)
//! and line charts (response time, satisfaction). The page works without JavaScript or a CDN,
//! so the charts are plain SVG strings embedded in the HTML. They scale with `viewBox` and
//! `width="100%"` because commission staff read them on phones. Output is a pure function of
//! the input (no clocks, no hash maps), so the same figures always give byte-identical pages.

use std::fmt::{self, Display, Write};

/// One bar of a stacked bar chart: a label under it and its segments bottom-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub label: String,
    pub segments: Vec<u64>,
}

/// A named series colour for the legend and segments, e.g. ("红", "#d9534f").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    pub colour: String,
}

/// One point of a line chart; None = no data for that label (gap in the line, no dot).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
}

/// Narrow enough that 12px text stays legible when a 360px-wide phone scales the chart down.
const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 300.0;
const NO_DATA_HEIGHT: f64 = 120.0;
const FONT: f64 = 12.0;
const PAD: f64 = 8.0;
const HEADING_Y: f64 = 18.0;
const LEGEND_Y: f64 = 38.0;
const LEGEND_ROW: f64 = 18.0;
/// Room under the plot for the x labels.
const BOTTOM_MARGIN: f64 = 28.0;
/// Beyond this a value is a data error, not a figure; capping keeps the axis arithmetic finite
/// and the printed numbers short.
const MAX_VALUE: f64 = 1e12;
/// More x labels than this collide on a phone, so only every other one is printed.
const MAX_LABELS: usize = 12;
/// Upper bound on the gridline intervals; with 1-2-5 steps this gives 3 to 5 intervals.
const MAX_INTERVALS: f64 = 5.0;
const NO_DATA: &str = "无数据 / no data";
const AXIS_COLOUR: &str = "#999";
const GRID_COLOUR: &str = "#ddd";
const TEXT_COLOUR: &str = "#333";
const LINE_COLOUR: &str = "#337ab7";
/// Used when a segment has no series or the series has no colour, so nothing renders black.
const FALLBACK_COLOURS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
];

/// Stacked bars (weekly volume by colour). title is the <title> and heading text.
pub fn stacked_bars(title: &str, series: &[Series], bars: &[Stack]) -> String {
    let mut out = String::with_capacity(4096);
    // u128 so that even u64::MAX segments cannot overflow a bar's total.
    let totals: Vec<u128> = bars
        .iter()
        .map(|b| b.segments.iter().map(|&s| u128::from(s)).sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0);
    let result = if max == 0 {
        no_data(&mut out, title)
    } else {
        draw_bars(&mut out, title, series, bars, &totals, max)
    };
    // Writing into a String cannot fail; fmt::Write only returns a Result because it is generic.
    result.map(|()| out).unwrap_or_default()
}

/// A line chart (response time in minutes per week; satisfaction % per month).
/// unit is appended to axis tick labels, e.g. "分钟" or "%". y_max: Some(100.0) for percentages, None = auto (nice rounded max of data, at least 1).
pub fn line(title: &str, unit: &str, points: &[Point], y_max: Option<f64>) -> String {
    let mut out = String::with_capacity(4096);
    let values: Vec<Option<f64>> = points.iter().map(|p| clean(p.value)).collect();
    let result = if values.iter().all(Option::is_none) {
        no_data(&mut out, title)
    } else {
        draw_line(&mut out, title, unit, points, &values, y_max)
    };
    result.map(|()| out).unwrap_or_default()
}

fn draw_bars(
    out: &mut String,
    title: &str,
    series: &[Series],
    bars: &[Stack],
    totals: &[u128],
    max: u128,
) -> fmt::Result {
    let series_count = bars
        .iter()
        .map(|b| b.segments.len())
        .max()
        .unwrap_or(0)
        .max(series.len());
    let resolved: Vec<(String, &str)> = (0..series_count).map(|k| series_at(series, k)).collect();
    let (legend, rows) = legend_layout(&resolved);
    let extra = rows.saturating_sub(1) as f64 * LEGEND_ROW;
    let height = HEIGHT + extra;
    // Counts are whole numbers, so a gridline at 0.5 would be meaningless.
    let axis = nice_axis(max as f64, 1.0);
    let labels: Vec<String> = axis.ticks.iter().map(|&t| Num(t).to_string()).collect();
    // The extra row leaves room for the total printed above the tallest bar.
    let plot = Plot::new(
        &labels,
        LEGEND_Y + extra + LEGEND_ROW,
        height - BOTTOM_MARGIN,
    );

    open(out, title, height)?;
    for (&(x, row), (name, colour)) in legend.iter().zip(&resolved) {
        let y = LEGEND_Y + row as f64 * LEGEND_ROW;
        // A path, not a rect, so that every <rect> in the chart is a data segment.
        write!(
            out,
            r#"<path class="swatch" d="M{} {}h10v10h-10z" fill="{}"/>"#,
            Num(x),
            Num(y - 9.0),
            Esc(colour)
        )?;
        write!(
            out,
            r#"<text x="{}" y="{}" fill="{TEXT_COLOUR}">{}</text>"#,
            Num(x + 14.0),
            Num(y),
            Esc(name)
        )?;
    }
    y_axis(out, &plot, &axis, &labels)?;

    let slot = plot.width() / bars.len() as f64;
    let bar_width = (slot * 0.6).min(40.0);
    let thin = bars.len() > MAX_LABELS;
    for (i, (bar, &total)) in bars.iter().zip(totals).enumerate() {
        let centre = plot.left + (i as f64 + 0.5) * slot;
        let x = centre - bar_width / 2.0;
        let mut below = 0u128;
        for (k, &value) in bar.segments.iter().enumerate() {
            if value == 0 {
                continue;
            }
            let above = below + u128::from(value);
            // Rounding both edges (not the height) keeps stacked segments flush.
            let y_top = round1(plot.y(above as f64, axis.top));
            let y_bottom = round1(plot.y(below as f64, axis.top));
            below = above;
            let (name, colour) = &resolved[k];
            write!(
                out,
                r#"<rect class="seg" x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} {}: {value}</title></rect>"#,
                Num(x),
                Num(y_top),
                Num(bar_width),
                Num(y_bottom - y_top),
                Esc(colour),
                Esc(&bar.label),
                Esc(name)
            )?;
        }
        write!(
            out,
            r#"<text class="total" x="{}" y="{}" text-anchor="middle" fill="{TEXT_COLOUR}">{total}</text>"#,
            Num(centre),
            Num(plot.y(total as f64, axis.top) - 4.0)
        )?;
        if !thin || i % 2 == 0 {
            x_label(out, &plot, centre, &bar.label)?;
        }
    }
    close(out)
}

fn draw_line(
    out: &mut String,
    title: &str,
    unit: &str,
    points: &[Point],
    values: &[Option<f64>],
    y_max: Option<f64>,
) -> fmt::Result {
    let data_max = values.iter().flatten().copied().fold(0.0, f64::max);
    // A fixed top below 1 could only be labelled "0" at one decimal, so it gets the same
    // floor as the automatic one.
    let axis = match y_max.filter(|m| m.is_finite() && *m > 0.0) {
        Some(m) => fixed_axis(m.clamp(1.0, MAX_VALUE)),
        None => nice_axis(data_max.max(1.0), 0.1),
    };
    let labels: Vec<String> = axis
        .ticks
        .iter()
        .map(|&t| format!("{}{unit}", Num(t)))
        .collect();
    let plot = Plot::new(&labels, LEGEND_Y, HEIGHT - BOTTOM_MARGIN);

    open(out, title, HEIGHT)?;
    y_axis(out, &plot, &axis, &labels)?;

    let slot = plot.width() / points.len() as f64;
    // Values above a fixed y_max (a 105% from bad data) are pinned to the top edge; the
    // tooltip still shows the real figure.
    let coords: Vec<Option<(f64, f64)>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.map(|v| {
                (
                    plot.left + (i as f64 + 0.5) * slot,
                    plot.y(v.min(axis.top), axis.top),
                )
            })
        })
        .collect();
    for run in coords.split(Option::is_none) {
        // A lone point between gaps has nothing to join; its circle alone marks it.
        if run.len() < 2 {
            continue;
        }
        write!(
            out,
            r#"<polyline fill="none" stroke="{LINE_COLOUR}" stroke-width="2" stroke-linejoin="round" points=""#
        )?;
        for (n, &(x, y)) in run.iter().flatten().enumerate() {
            let sep = if n == 0 { "" } else { " " };
            write!(out, "{sep}{},{}", Num(x), Num(y))?;
        }
        out.write_str(r#""/>"#)?;
    }
    let suffix = if unit.is_empty() { "" } else { " " };
    for ((point, value), xy) in points.iter().zip(values).zip(&coords) {
        if let (Some(v), Some((x, y))) = (value, xy) {
            write!(
                out,
                r#"<circle cx="{}" cy="{}" r="3" fill="{LINE_COLOUR}"><title>{}: {v:.1}{suffix}{}</title></circle>"#,
                Num(*x),
                Num(*y),
                Esc(&point.label),
                Esc(unit)
            )?;
        }
    }
    let thin = points.len() > MAX_LABELS;
    for (i, point) in points.iter().enumerate() {
        if !thin || i % 2 == 0 {
            x_label(
                out,
                &plot,
                plot.left + (i as f64 + 0.5) * slot,
                &point.label,
            )?;
        }
    }
    close(out)
}

fn no_data(out: &mut String, title: &str) -> fmt::Result {
    open(out, title, NO_DATA_HEIGHT)?;
    write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" fill="{AXIS_COLOUR}">{NO_DATA}</text>"#,
        Num(WIDTH / 2.0),
        Num(NO_DATA_HEIGHT / 2.0 + 10.0)
    )?;
    close(out)
}

fn open(out: &mut String, title: &str, height: f64) -> fmt::Result {
    write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" font-family="sans-serif" font-size="{}">"#,
        Num(WIDTH),
        Num(height),
        Esc(title),
        Num(FONT)
    )?;
    write!(out, "<title>{}</title>", Esc(title))?;
    write!(
        out,
        r#"<text x="{}" y="{}" font-weight="bold" fill="{TEXT_COLOUR}">{}</text>"#,
        Num(PAD),
        Num(HEADING_Y),
        Esc(title)
    )
}

fn close(out: &mut String) -> fmt::Result {
    out.write_str("</svg>")
}

fn y_axis(out: &mut String, plot: &Plot, axis: &Axis, labels: &[String]) -> fmt::Result {
    for (&tick, label) in axis.ticks.iter().zip(labels) {
        let y = plot.y(tick, axis.top);
        let colour = if tick == 0.0 {
            AXIS_COLOUR
        } else {
            GRID_COLOUR
        };
        write!(
            out,
            r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}"/>"#,
            Num(plot.left),
            Num(plot.right),
            y = Num(y)
        )?;
        write!(
            out,
            r#"<text class="tick" x="{}" y="{}" text-anchor="end" fill="{TEXT_COLOUR}">{}</text>"#,
            Num(plot.left - 4.0),
            Num(y + 4.0),
            Esc(label)
        )?;
    }
    Ok(())
}

fn x_label(out: &mut String, plot: &Plot, x: f64, label: &str) -> fmt::Result {
    write!(
        out,
        r#"<text class="xlabel" x="{}" y="{}" text-anchor="middle" fill="{TEXT_COLOUR}">{}</text>"#,
        Num(x),
        Num(plot.bottom + 16.0),
        Esc(label)
    )
}

/// The name and colour of series `k`, falling back when the caller gave fewer series than
/// segments or left a colour blank.
fn series_at(series: &[Series], k: usize) -> (String, &str) {
    let fallback = FALLBACK_COLOURS[k % FALLBACK_COLOURS.len()];
    match series.get(k) {
        Some(s) => {
            let colour = if s.colour.trim().is_empty() {
                fallback
            } else {
                s.colour.as_str()
            };
            (s.name.clone(), colour)
        }
        None => (format!("#{}", k + 1), fallback),
    }
}

/// Legend entries flow left to right and wrap, since a phone-width chart cannot fit many
/// series on one row. Returns each entry's x and row, and the number of rows.
fn legend_layout(entries: &[(String, &str)]) -> (Vec<(f64, usize)>, usize) {
    let mut placed = Vec::with_capacity(entries.len());
    let mut x = PAD;
    let mut row = 0;
    for (name, _) in entries {
        let w = 14.0 + text_width(name) + 12.0;
        if x + w > WIDTH - PAD && x > PAD {
            row += 1;
            x = PAD;
        }
        placed.push((x, row));
        x += w;
    }
    (placed, row + 1)
}

/// The drawing area inside the margins, in viewBox units.
struct Plot {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Plot {
    /// The left margin follows the widest tick label, so "1000分钟" is not cut off while a
    /// percentage chart does not waste width.
    fn new(tick_labels: &[String], top: f64, bottom: f64) -> Plot {
        let widest = tick_labels
            .iter()
            .map(|l| text_width(l))
            .fold(0.0, f64::max);
        Plot {
            left: (widest + PAD + 4.0).max(24.0),
            right: WIDTH - PAD,
            top,
            bottom,
        }
    }

    fn width(&self) -> f64 {
        self.right - self.left
    }

    fn y(&self, value: f64, top_value: f64) -> f64 {
        self.bottom - value / top_value * (self.bottom - self.top)
    }
}

struct Axis {
    top: f64,
    ticks: Vec<f64>,
}

/// An axis from 0 to a multiple of a 1-2-5 step covering `max`: the smallest such step that
/// needs at most five intervals, which always leaves at least three.
fn nice_axis(max: f64, min_step: f64) -> Axis {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let step = nice_step(max, min_step);
    // The epsilon keeps 100/20 from becoming 6 intervals through rounding noise.
    let n = (max / step - 1e-9).ceil().max(1.0);
    Axis {
        top: n * step,
        ticks: (0..=n as u32).map(|i| f64::from(i) * step).collect(),
    }
}

fn nice_step(max: f64, min_step: f64) -> f64 {
    let start = max.log10().floor() as i32 - 1;
    for exp in start..=start + 3 {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(exp);
            if step >= min_step && (max / step - 1e-9).ceil() <= MAX_INTERVALS {
                return step;
            }
        }
    }
    // Unreachable for finite positive max (10^(start+2) exceeds it), but one interval is
    // still a valid axis.
    max.max(min_step)
}

/// A caller-fixed top (100%): gridlines at nice steps below it, and the top itself always
/// labelled so the reader sees where 100% is.
fn fixed_axis(top: f64) -> Axis {
    let step = nice_step(top, 0.1);
    let mut ticks: Vec<f64> = (0..)
        .map(|i: u32| f64::from(i) * step)
        .take_while(|t| *t <= top * (1.0 + 1e-9))
        .collect();
    if ticks.last().is_some_and(|&t| t < top * (1.0 - 1e-9)) {
        ticks.push(top);
    }
    Axis { top, ticks }
}

/// NaN and infinities are no data; negatives are not meaningful for durations or
/// percentages and are shown as 0 rather than dropped, so the point stays visible.
fn clean(value: Option<f64>) -> Option<f64> {
    match value {
        Some(v) if v.is_finite() => Some(if v > 0.0 { v.min(MAX_VALUE) } else { 0.0 }),
        _ => None,
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Rough rendered width: wide for CJK and other non-ASCII, narrow for ASCII. Good enough to
/// size margins and wrap the legend without a font metrics table.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { FONT * 0.6 } else { FONT })
        .sum()
}

/// A number with at most one decimal, no "-0", never NaN or inf.
struct Num(f64);

impl Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = round1(self.0);
        if !v.is_finite() || v == 0.0 {
            return f.write_str("0");
        }
        if v.fract() == 0.0 {
            write!(f, "{v:.0}")
        } else {
            write!(f, "{v:.1}")
        }
    }
}

/// XML-escaped text, usable in both element content and quoted attributes.
struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                // Control characters are not allowed in XML 1.0 at all; one stray byte from a
                // label would make the browser reject the whole chart.
                '\t' | '\n' | '\r' => f.write_char(' ')?,
                c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reds() -> Vec<Series> {
        vec![
            Series {
                name: "红".into(),
                colour: "#d9534f".into(),
            },
            Series {
                name: "黄".into(),
                colour: "#f0ad4e".into(),
            },
            Series {
                name: "绿".into(),
                colour: "#5cb85c".into(),
            },
        ]
    }

    fn stack(label: &str, segments: &[u64]) -> Stack {
        Stack {
            label: label.into(),
            segments: segments.to_vec(),
        }
    }

    fn pt(label: &str, value: Option<f64>) -> Point {
        Point {
            label: label.into(),
            value,
        }
    }

    /// Every opened tag is closed in order, every `&` starts a known entity, and no raw `<`
    /// or `>` sits in text or attributes.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            assert!(!rest[..open].contains('>'), "stray > in {svg}");
            let after = &rest[open + 1..];
            let end = after.find('>').expect("unterminated tag");
            let tag = &after[..end];
            assert!(!tag.contains('<'), "raw < inside tag {tag}");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag}"
            );
            if let Some(name) = tag.strip_prefix('/') {
                let top = stack.pop().expect("close without open");
                assert_eq!(top, name, "mismatched close in {svg}");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().expect("empty tag");
                stack.push(name.to_string());
            }
            rest = &after[end + 1..];
            if stack.is_empty() {
                assert!(rest.is_empty(), "content after root: {rest}");
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
        for (i, _) in svg.match_indices('&') {
            let tail = &svg[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| tail.starts_with(e)),
                "bad entity at {}",
                &tail[..tail.len().min(10)]
            );
        }
    }

    fn assert_sane(svg: &str) {
        assert_well_formed(svg);
        let lower = svg.to_lowercase();
        assert!(!lower.contains("nan"), "{svg}");
        assert!(!lower.contains("inf"), "{svg}");
        assert!(!svg.contains("-0\"") && !svg.contains("-0 "), "{svg}");
        // At most one decimal in every number.
        let bytes = svg.as_bytes();
        for (i, _) in svg.match_indices('.') {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let before_digit = i > 0 && bytes[i - 1].is_ascii_digit();
            if before_digit {
                assert!(digits <= 1, "more than one decimal near {}", &svg[i - 1..]);
            }
        }
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"width="100%""#));
        assert!(svg.contains("viewBox="));
        assert!(svg.contains("<title>"));
    }

    /// Values of attribute `name` on every element whose tag starts with `tag`.
    fn attrs(svg: &str, tag: &str, name: &str) -> Vec<f64> {
        let needle = format!(" {name}=\"");
        svg.split('<')
            .filter(|t| t.starts_with(tag))
            .filter_map(|t| {
                let head = &t[..t.find('>')?];
                let start = head.find(&needle)? + needle.len();
                let len = head[start..].find('"')?;
                head[start..start + len].parse().ok()
            })
            .collect()
    }

    /// Text content of `<text class="{class}" ...>` elements.
    fn texts(svg: &str, class: &str) -> Vec<String> {
        let open = format!("<text class=\"{class}\"");
        svg.match_indices(&open)
            .filter_map(|(i, _)| {
                let t = &svg[i..];
                let start = t.find('>')? + 1;
                let len = t[start..].find("</text>")?;
                Some(t[start..start + len].to_string())
            })
            .collect()
    }

    #[test]
    fn escapes_title_labels_and_series() {
        let series = vec![Series {
            name: "A&B".into(),
            colour: "#123\"x".into(),
        }];
        let svg = stacked_bars("<周>&\"量'", &series, &[stack("x<y", &[3])]);
        assert_sane(&svg);
        assert!(svg.contains(r#"aria-label="&lt;周&gt;&amp;&quot;量&#39;""#));
        assert!(svg.contains("<title>&lt;周&gt;&amp;&quot;量&#39;</title>"));
        assert!(svg.contains("<title>x&lt;y A&amp;B: 3</title>"));
        assert!(svg.contains(r##"fill="#123&quot;x""##));
        assert!(!svg.contains("x<y"));

        let svg = line("响应<&\"", "分\"钟", &[pt("a&b", Some(1.0))], None);
        assert_sane(&svg);
        assert!(svg.contains(r#"aria-label="响应&lt;&amp;&quot;""#));
        assert!(svg.contains("<title>a&amp;b: 1.0 分&quot;钟</title>"));
    }

    #[test]
    fn control_characters_dropped() {
        let svg = stacked_bars("a\u{0}b\u{1b}c\nd", &reds(), &[stack("w\u{7}", &[1])]);
        assert_sane(&svg);
        assert!(svg.contains("<title>abc d</title>"));
        assert!(!svg.chars().any(|c| c.is_control()));
    }

    #[test]
    fn one_rect_per_nonzero_segment_with_tooltips() {
        let bars = [
            stack("W1", &[3, 0, 5]),
            stack("W2", &[0, 0, 0]),
            stack("W3", &[1, 2, 4]),
        ];
        let svg = stacked_bars("每周", &reds(), &bars);
        assert_sane(&svg);
        assert_eq!(svg.matches("<rect").count(), 5);
        assert_eq!(svg.matches("<title>").count(), 1 + 5);
        for tip in ["W1 红: 3", "W1 绿: 5", "W3 红: 1", "W3 黄: 2", "W3 绿: 4"] {
            assert!(svg.contains(&format!("<title>{tip}</title>")), "{tip}");
        }
        assert!(!svg.contains("W1 黄"));
        assert!(svg.contains(r##"fill="#d9534f""##));
        // Legend: each series named once as text, with a swatch.
        for name in ["红", "黄", "绿"] {
            assert!(svg.contains(&format!(">{name}</text>")), "{name}");
        }
        assert_eq!(svg.matches(r#"class="swatch""#).count(), 3);
        assert_eq!(texts(&svg, "xlabel"), ["W1", "W2", "W3"]);
    }

    #[test]
    fn segments_stack_bottom_up_and_flush() {
        let svg = stacked_bars("t", &reds(), &[stack("W", &[2, 3])]);
        let ys = attrs(&svg, "rect", "y");
        let hs = attrs(&svg, "rect", "height");
        assert_eq!(ys.len(), 2);
        // First segment is lower on screen (larger y), second sits right on top of it.
        assert!(ys[0] > ys[1]);
        assert!((ys[1] + hs[1] - ys[0]).abs() < 1e-9);
        assert!((hs[1] / hs[0] - 1.5).abs() < 0.02);
    }

    #[test]
    fn totals_printed_above_bars() {
        let bars = [stack("W1", &[3, 4]), stack("W2", &[0, 9, 1])];
        let svg = stacked_bars("t", &reds(), &bars);
        assert_sane(&svg);
        assert_eq!(texts(&svg, "total"), ["7", "10"]);
        let total_ys = attrs(&svg, "text class=\"total\"", "y");
        let rect_ys = attrs(&svg, "rect", "y");
        assert_eq!(total_ys.len(), 2);
        assert!(total_ys[0] < rect_ys[..2].iter().copied().fold(f64::MAX, f64::min));
        assert!(total_ys[1] < rect_ys[2..].iter().copied().fold(f64::MAX, f64::min));
    }

    #[test]
    fn empty_and_all_zero_bars() {
        for svg in [
            stacked_bars("空", &reds(), &[]),
            stacked_bars("空", &reds(), &[stack("W1", &[0, 0]), stack("W2", &[])]),
            stacked_bars("空", &[], &[]),
        ] {
            assert_sane(&svg);
            assert!(svg.contains(NO_DATA));
            assert_eq!(svg.matches("<rect").count(), 0);
        }
    }

    #[test]
    fn nice_gridlines() {
        for (max, top, step) in [
            (7.0, 8.0, 2.0),
            (10.0, 10.0, 2.0),
            (37.0, 40.0, 10.0),
            (100.0, 100.0, 20.0),
            (101.0, 150.0, 50.0),
            (1.0, 1.0, 0.2),
            (0.0, 1.0, 0.2),
        ] {
            let axis = nice_axis(max, 0.1);
            assert!((axis.top - top).abs() < 1e-9, "{max}: {}", axis.top);
            assert!(
                (axis.ticks[1] - step).abs() < 1e-9,
                "{max}: {:?}",
                axis.ticks
            );
        }
        for i in 1..2000 {
            let max = f64::from(i) * 0.37;
            let axis = nice_axis(max, 0.1);
            let n = axis.ticks.len() - 1;
            assert!(
                (3..=5).contains(&n) || max <= 0.5,
                "{max}: {:?}",
                axis.ticks
            );
            assert!(axis.top >= max);
            let step = axis.ticks[1];
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6),
                "{step}"
            );
        }
        // Counts never get fractional gridlines.
        let svg = stacked_bars("t", &reds(), &[stack("W", &[1])]);
        assert_eq!(texts(&svg, "tick"), ["0", "1"]);
        let svg = stacked_bars("t", &reds(), &[stack("W", &[23])]);
        assert_eq!(texts(&svg, "tick"), ["0", "5", "10", "15", "20", "25"]);
    }

    #[test]
    fn line_gap_splits_polyline() {
        let points = [
            pt("W1", Some(10.0)),
            pt("W2", Some(12.5)),
            pt("W3", None),
            pt("W4", Some(8.0)),
            pt("W5", Some(9.25)),
        ];
        let svg = line("响应时间", "分钟", &points, None);
        assert_sane(&svg);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains("<title>W2: 12.5 分钟</title>"));
        assert!(svg.contains("<title>W1: 10.0 分钟</title>"));
        assert!(svg.contains("<title>W5: 9.2 分钟</title>") || svg.contains("W5: 9.3 分钟"));
        assert!(!svg.contains("W3:"));
        assert_eq!(texts(&svg, "xlabel"), ["W1", "W2", "W3", "W4", "W5"]);
        assert_eq!(
            texts(&svg, "tick").last().map(String::as_str),
            Some("15分钟")
        );
    }

    #[test]
    fn line_lone_points_and_leading_gaps() {
        let points = [
            pt("a", None),
            pt("b", Some(1.0)),
            pt("c", None),
            pt("d", Some(2.0)),
            pt("e", Some(3.0)),
            pt("f", None),
        ];
        let svg = line("t", "", &points, None);
        assert_sane(&svg);
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("<title>b: 1.0</title>"));
    }

    #[test]
    fn line_y_max_respected() {
        let points = [pt("1月", Some(87.0)), pt("2月", Some(93.5))];
        let svg = line("满意度", "%", &points, Some(100.0));
        assert_sane(&svg);
        let ticks = texts(&svg, "tick");
        assert_eq!(ticks.first().map(String::as_str), Some("0%"));
        assert_eq!(ticks.last().map(String::as_str), Some("100%"));
        assert!(svg.contains("<title>2月: 93.5 %</title>"));
        // Over-range data is pinned inside the plot, not drawn above the heading.
        let svg = line("满意度", "%", &[pt("x", Some(250.0))], Some(100.0));
        assert_sane(&svg);
        assert_eq!(texts(&svg, "tick").last().map(String::as_str), Some("100%"));
        let cy = attrs(&svg, "circle", "cy");
        assert!(cy[0] >= LEGEND_Y - 1e-9);
        // A non-nice fixed top is still labelled.
        let svg = line("t", "%", &[pt("x", Some(5.0))], Some(73.0));
        assert_eq!(texts(&svg, "tick").last().map(String::as_str), Some("73%"));
        // Auto: at least 1.
        let svg = line("t", "", &[pt("x", Some(0.0))], None);
        assert_eq!(texts(&svg, "tick").last().map(String::as_str), Some("1"));
    }

    #[test]
    fn line_thins_labels_beyond_twelve() {
        let points: Vec<Point> = (1..=13)
            .map(|i| pt(&format!("W{i}"), Some(f64::from(i))))
            .collect();
        let svg = line("t", "分钟", &points, None);
        assert_sane(&svg);
        let labels = texts(&svg, "xlabel");
        assert_eq!(labels.len(), 7);
        assert_eq!(labels[0], "W1");
        assert_eq!(labels[1], "W3");
        assert_eq!(svg.matches("<circle").count(), 13);
        let twelve = line("t", "分钟", &points[..12], None);
        assert_eq!(texts(&twelve, "xlabel").len(), 12);
    }

    #[test]
    fn line_empty_or_all_none() {
        for svg in [
            line("空", "分钟", &[], None),
            line(
                "空",
                "分钟",
                &[pt("a", None), pt("b", Some(f64::NAN))],
                None,
            ),
            line("空", "%", &[pt("a", Some(f64::INFINITY))], Some(100.0)),
        ] {
            assert_sane(&svg);
            assert!(svg.contains(NO_DATA));
            assert_eq!(svg.matches("<circle").count(), 0);
            assert_eq!(svg.matches("<polyline").count(), 0);
        }
    }

    #[test]
    fn weird_numbers_never_leak() {
        let points = [
            pt("非数", Some(f64::NAN)),
            pt("neg", Some(-5.0)),
            pt("negzero", Some(-0.0)),
            pt("无穷", Some(f64::INFINITY)),
            pt("负无穷", Some(f64::NEG_INFINITY)),
            pt("huge", Some(f64::MAX)),
            pt("tiny", Some(1e-300)),
            pt("ok", Some(3.16)),
        ];
        for y_max in [
            None,
            Some(100.0),
            Some(f64::NAN),
            Some(-1.0),
            Some(0.0),
            Some(f64::INFINITY),
            Some(1e-9),
            Some(f64::MAX),
        ] {
            let svg = line("怪", "分钟", &points, y_max);
            assert_sane(&svg);
            // NaN and both infinities are gaps; neg and negzero are shown as 0.
            assert_eq!(svg.matches("<circle").count(), 5, "{y_max:?}");
            assert!(svg.contains("<title>neg: 0.0 分钟</title>"));
            assert!(svg.contains("<title>negzero: 0.0 分钟</title>"));
            assert!(svg.contains("<title>ok: 3.2 分钟</title>"));
        }
        let bars = [
            stack("max", &[u64::MAX, u64::MAX, u64::MAX]),
            stack("one", &[1]),
        ];
        let svg = stacked_bars("巨", &reds(), &bars);
        assert_sane(&svg);
        assert_eq!(svg.matches("<rect").count(), 4);
        let total = 3 * u128::from(u64::MAX);
        assert_eq!(texts(&svg, "total")[0], total.to_string());
        // More segments than series still get a colour and a legend entry.
        let svg = stacked_bars("t", &reds()[..1], &[stack("W", &[1, 2, 3])]);
        assert_sane(&svg);
        assert!(svg.contains("<title>W #3: 3</title>"));
        assert_eq!(svg.matches(r#"class="swatch""#).count(), 3);
    }

    #[test]
    fn num_format() {
        for (v, s) in [
            (0.0, "0"),
            (-0.0, "0"),
            (-0.04, "0"),
            (1.0, "1"),
            (1.25, "1.3"),
            (0.30000000000000004, "0.3"),
            (-2.5, "-2.5"),
            (f64::NAN, "0"),
            (f64::INFINITY, "0"),
            (1e12, "1000000000000"),
        ] {
            assert_eq!(Num(v).to_string(), s, "{v}");
        }
    }

    #[test]
    fn many_series_wrap_legend_and_stay_inside() {
        let series: Vec<Series> = (0..12)
            .map(|i| Series {
                name: format!("系列名称很长{i}"),
                colour: String::new(),
            })
            .collect();
        let bars: Vec<Stack> = (0..20)
            .map(|i| stack(&format!("第{i}周"), &[i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))
            .collect();
        let svg = stacked_bars("很多", &series, &bars);
        assert_sane(&svg);
        assert_eq!(texts(&svg, "xlabel").len(), 10);
        for x in attrs(&svg, "text x", "x")
            .iter()
            .chain(&attrs(&svg, "rect", "x"))
        {
            assert!(*x >= 0.0 && *x <= WIDTH, "{x}");
        }
        let legend_rows = attrs(&svg, "text x", "y");
        assert!(legend_rows.iter().any(|&y| y > LEGEND_Y));
        // Legend rows push the plot down, never under it.
        let rect_ys = attrs(&svg, "rect", "y");
        let last_legend = legend_rows.iter().copied().fold(0.0, f64::max);
        assert!(rect_ys.iter().all(|&y| y > last_legend));
    }

    #[test]
    fn deterministic() {
        let bars = [stack("W1", &[3, 1, 2]), stack("W2", &[5])];
        assert_eq!(
            stacked_bars("t", &reds(), &bars),
            stacked_bars("t", &reds(), &bars)
        );
        let points = [pt("a", Some(1.5)), pt("b", None), pt("c", Some(2.0))];
        assert_eq!(
            line("t", "%", &points, Some(100.0)),
            line("t", "%", &points, Some(100.0))
        );
    }
}
