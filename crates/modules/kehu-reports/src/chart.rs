//! The reports' charts, drawn on the server as SVG to be inlined in a page: bars (upright and
//! lying, for long customer names), lines, pies, heatmaps (the 5×5 RFM grid) and scatters. No
//! chart script runs in the browser; the pages print as they show (dark text on white, a fixed
//! `viewBox` that CSS scales), and every bar, point, slice and cell carries an SVG `<title>`
//! with its category and value, which the browser shows on hover.
//!
//! Drawn by `charts-rs` (the most complete and best kept of the Rust SVG chart crates: the five
//! kinds, a light theme, escaped text and attributes, `<title>`s on the marks), without its
//! raster features (no resvg, no image encoders, no system fonts). `plotters` was set aside: its
//! SVG backend lays text out with a font backend that loads system fonts or needs a font's bytes.
//!
//! What is done here around it:
//! - **Chinese labels.** `charts-rs` lays text out with the metrics of the Roboto it embeds,
//!   which has no CJK glyphs: each such character is measured as Roboto's missing glyph, about
//!   half an em, while a browser draws it a full em wide. Legends then overlap, axis labels spill
//!   over the plot and the y axis of the lying bars is too narrow. Each wide character is
//!   therefore measured with a private-use character ([`PAD`]) after it, which is also measured
//!   as the missing glyph, so that the pair is one em (wide: East Asian Width W or F, as
//!   `unicode-width` tells); the pads are taken out of the SVG once it is laid out. Every
//!   measured layout (centring, legends, label thinning, rotation and ellipses, axis widths)
//!   then holds for Chinese text; a test checks it against the crate's metrics.
//! - **Value axes** get round steps and labels in full (1,250,000), not the crate's 246.8k.
//! - **Hover titles.** The crate's hover labels are text revealed by a `<style>` rule, which
//!   our CSP (`style-src` falls back to `default-src 'self'`: no inline `<style>`, no `style=`)
//!   blocks — they would all show at once. They and the rule are taken out; the `<title>` of
//!   each mark is kept, its text replaced by ours (category, series and the exact `f64` value,
//!   where the crate writes `series: value` rounded through `f32`), mark by mark in the order
//!   the crate draws them. Should the count ever differ, the crate's titles are kept.
//! - **Empty data.** A chart with nothing to draw (no categories, no series, no slice above
//!   zero, no point) is `None`: the page says so in the reader's language.
//!
//! The crate escapes every label it writes (text and attributes) and our titles are escaped
//! here, so the result is safe to inline with `|safe`; the SVG has no script, no `<style>` and
//! no `style=` attribute, only presentation attributes, which the CSP allows.

use askama::filters::{Html, escape};
use charts_rs::{
    Align, AxisLabelOverflow, BarChart, HeatmapChart, HorizontalBarChart, LineChart, PieChart,
    Position, ScatterChart, THEME_LIGHT, measure_text_width_family, svg_with_accessibility,
};
use unicode_width::UnicodeWidthChar;

/// The size the charts are laid out at; CSS scales them to the page (`width: 100%`).
const WIDTH: f32 = 720.0;
const HEIGHT: f32 = 360.0;

/// The fonts the charts are written in: Roboto, which the crate measures Latin text with, then
/// the Chinese fonts of the page (app.css), whose Latin letters are about as wide; not the
/// page's `system-ui`, which may be a wider one (DejaVu Sans on Linux) and overrun the layout.
const FONT_FAMILY: &str = "Roboto, PingFang SC, Hiragino Sans GB, Microsoft YaHei, \
    Noto Sans CJK SC, Noto Sans SC, sans-serif";

/// Steps of a value axis.
const SPLITS: usize = 5;

/// Measured after each wide character so that it takes the room a browser gives it (see the
/// module's doc); taken out of the finished SVG. From the private-use area: no text of ours
/// has it, and any a label brings is dropped.
const PAD: char = '\u{E000}';

/// A series of values, one for each category of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// A point of a scatter; its label (a customer's name, or empty) is in its hover title.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub x: f64,
    pub y: f64,
}

/// A series of points of a scatter.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    pub name: String,
    pub points: Vec<Point>,
}

/// Upright bars, one group per category; `None` without categories or series. A series with
/// fewer values than categories is drawn with zeros for the missing ones.
pub fn bar(title: &str, categories: &[String], series: &[Series]) -> Option<String> {
    let (list, tips) = category_series(categories, series)?;
    let mut chart = BarChart::new_with_theme(list, laid_out_all(categories), THEME_LIGHT);
    dress(&mut chart.base, title, series.len() > 1);
    round_axis(chart.y_axis_configs.first_mut(), values(categories, series));
    chart.x_axis.label_overflow = bar_overflow(categories, chart.x_axis.font.size);
    finish(chart.svg(), title, &tips)
}

/// How the labels under upright bars give way when they do not fit side by side. Names (wider
/// than six characters) are each cut to their bar's width with an ellipsis, the whole name in
/// the bar's title: turned, the crate would leave out every other one (or more). Shorter ones
/// (months, codes) are turned 45°, and thinned out only when even so they overlap.
fn bar_overflow(categories: &[String], font_size: f32) -> AxisLabelOverflow {
    let widest = categories
        .iter()
        .filter_map(|name| measure_text_width_family(FONT_FAMILY, font_size, &laid_out(name)).ok())
        .fold(0.0_f32, |widest, measured| widest.max(measured.width()));
    if widest > 6.0 * font_size {
        AxisLabelOverflow::Ellipsis
    } else {
        AxisLabelOverflow::Rotate
    }
}

/// Lying bars, one row per category, the first at the top (a ranking reads down): long Chinese
/// names read better beside them than under upright ones. The chart grows taller with the
/// categories, so that every name has its row. `None` without categories or series.
pub fn horizontal_bar(title: &str, categories: &[String], series: &[Series]) -> Option<String> {
    // The crate draws the first category at the bottom.
    let categories: Vec<String> = categories.iter().rev().cloned().collect();
    let series: Vec<Series> = series
        .iter()
        .map(|s| Series {
            name: s.name.clone(),
            values: (0..categories.len())
                .rev()
                .map(|i| s.values.get(i).copied().unwrap_or(0.0))
                .collect(),
        })
        .collect();
    let (list, tips) = category_series(&categories, &series)?;
    let mut chart =
        HorizontalBarChart::new_with_theme(list, laid_out_all(&categories), THEME_LIGHT);
    dress(&mut chart.base, title, series.len() > 1);
    let row = 16.0 + 12.0 * series.len() as f32;
    chart.height = HEIGHT.max(100.0 + row * categories.len() as f32);
    // Its value axis, lying along the bottom: room on the right for half its last label.
    round_axis(
        chart.y_axis_configs.first_mut(),
        values(&categories, &series),
    );
    chart.margin.right = 40.0;
    finish(chart.svg(), title, &tips)
}

/// Lines over the categories (months, say), a marked point at each; `None` without categories
/// or series.
pub fn line(title: &str, categories: &[String], series: &[Series]) -> Option<String> {
    let (list, tips) = category_series(categories, series)?;
    let mut chart = LineChart::new_with_theme(list, laid_out_all(categories), THEME_LIGHT);
    dress(&mut chart.base, title, series.len() > 1);
    round_axis(chart.y_axis_configs.first_mut(), values(categories, series));
    // Months and days: turned 45° where they do not fit side by side, then thinned out.
    chart.x_axis.label_overflow = AxisLabelOverflow::Rotate;
    finish(chart.svg(), title, &tips)
}

/// A pie of the slices above zero, each named on the chart with its share; `None` when no
/// slice is above zero.
pub fn pie(title: &str, slices: &[(String, f64)]) -> Option<String> {
    let slices: Vec<(&String, f64)> = slices
        .iter()
        .map(|(name, value)| (name, finite(*value)))
        .filter(|(_, value)| *value > 0.0)
        .collect();
    if slices.is_empty() {
        return None;
    }
    let total: f64 = slices.iter().map(|(_, value)| value).sum();
    let list = slices
        .iter()
        .map(|(name, value)| charts_rs::Series::new(laid_out(name), vec![*value as f32]))
        .collect();
    let tips: Vec<String> = slices
        .iter()
        .map(|(name, value)| format!("{name}: {} ({:.1}%)", number(*value), value / total * 100.0))
        .collect();
    let mut chart = PieChart::new_with_theme(list, THEME_LIGHT);
    // The slices are named on the chart; a legend would repeat them.
    dress(&mut chart.base, title, false);
    // Shares are angles (the crate's default is a rose, whose radii tell the values).
    chart.rose_type = Some(false);
    finish(chart.svg(), title, &tips)
}

/// A grid of `x_labels` × `y_labels` cells, coloured by value and showing it; `cells` are
/// `(x, y, value)` with `y` 0 the bottom row (the RFM grid: recency across, frequency up).
/// Cells outside the grid are left out, a cell given twice shows the last value; cells not
/// given stay blank. `None` without labels on either axis.
pub fn heatmap(
    title: &str,
    x_labels: &[String],
    y_labels: &[String],
    cells: &[(usize, usize, f64)],
) -> Option<String> {
    if x_labels.is_empty() || y_labels.is_empty() {
        return None;
    }
    let columns = x_labels.len();
    let mut grid: Vec<Option<f64>> = vec![None; columns * y_labels.len()];
    for &(x, y, value) in cells {
        if x < columns && y < y_labels.len() {
            grid[y * columns + x] = Some(finite(value));
        }
    }
    let data: Vec<(usize, f32)> = grid
        .iter()
        .enumerate()
        .filter_map(|(index, value)| value.map(|value| (index, value as f32)))
        .collect();
    // The crate draws the cells row by row from the bottom, each left to right: its order.
    let tips: Vec<String> = grid
        .iter()
        .enumerate()
        .filter_map(|(index, value)| {
            let value = (*value)?;
            let (x, y) = (index % columns, index / columns);
            Some(format!(
                "{} · {}: {}",
                x_labels[x],
                y_labels[y],
                number(value)
            ))
        })
        .collect();
    let (low, high) = data
        .iter()
        .fold((0.0_f32, 0.0_f32), |(low, high), (_, value)| {
            (low.min(*value), high.max(*value))
        });
    let mut chart = HeatmapChart::new_with_theme(
        data,
        laid_out_all(x_labels),
        laid_out_all(y_labels),
        THEME_LIGHT,
    );
    dress(&mut chart.base, title, false);
    // Colours run from the lowest value to the highest; all equal, they still have a range.
    chart.heatmap_series.min = low;
    chart.heatmap_series.max = if high > low { high } else { low + 1.0 };
    finish(chart.svg(), title, &tips)
}

/// Points on two value axes named `x_name` and `y_name`, one symbol per series, each titled
/// with its label, series and both values; `None` without a point.
pub fn scatter(title: &str, x_name: &str, y_name: &str, series: &[Points]) -> Option<String> {
    if series.iter().all(|s| s.points.is_empty()) {
        return None;
    }
    let list = series
        .iter()
        .map(|s| {
            let pairs = s
                .points
                .iter()
                .flat_map(|p| [finite(p.x) as f32, finite(p.y) as f32])
                .collect();
            charts_rs::Series::new(laid_out(&s.name), pairs)
        })
        .collect();
    let tips: Vec<String> = series
        .iter()
        .flat_map(|s| {
            s.points.iter().map(|p| {
                let at = format!(
                    "{x_name} {} / {y_name} {}",
                    number(finite(p.x)),
                    number(finite(p.y))
                );
                match (p.label.is_empty(), series.len() > 1) {
                    (true, _) => format!("{}: {at}", s.name),
                    (false, true) => format!("{} · {}: {at}", p.label, s.name),
                    (false, false) => format!("{}: {at}", p.label),
                }
            })
        })
        .collect();
    let mut chart = ScatterChart::new_with_theme(list, THEME_LIGHT);
    dress(&mut chart.base, title, series.len() > 1);
    let points = || series.iter().flat_map(|s| s.points.iter());
    chart.x_axis.title = laid_out(x_name);
    round_axis(
        Some(&mut chart.x_axis_config),
        points().map(|p| finite(p.x)),
    );
    if let Some(y_axis) = chart.y_axis_configs.first_mut() {
        y_axis.title = Some(laid_out(y_name)).filter(|name| !name.is_empty());
    }
    round_axis(
        chart.y_axis_configs.first_mut(),
        points().map(|p| finite(p.y)),
    );
    finish(chart.svg(), title, &tips)
}

/// The crate's series of a category chart, each as long as the categories, and the hover title
/// of each mark in the order they are drawn (series by series, category by category).
fn category_series(
    categories: &[String],
    series: &[Series],
) -> Option<(Vec<charts_rs::Series>, Vec<String>)> {
    if categories.is_empty() || series.is_empty() {
        return None;
    }
    let value = |s: &Series, i: usize| finite(s.values.get(i).copied().unwrap_or(0.0));
    let list = series
        .iter()
        .map(|s| {
            let values = (0..categories.len()).map(|i| value(s, i) as f32).collect();
            charts_rs::Series::new(laid_out(&s.name), values)
        })
        .collect();
    let tips = series
        .iter()
        .flat_map(|s| {
            categories.iter().enumerate().map(move |(i, category)| {
                format!("{category} · {}: {}", s.name, number(value(s, i)))
            })
        })
        .collect();
    Some((list, tips))
}

/// The values a category chart draws (see [`category_series`]).
fn values<'a>(categories: &[String], series: &'a [Series]) -> impl Iterator<Item = f64> + 'a {
    let count = categories.len();
    series
        .iter()
        .flat_map(move |s| s.values.iter().take(count).map(|value| finite(*value)))
}

/// A value axis of [`SPLITS`] round steps that holds every value and 0: the crate's own steps
/// are odd for large values (246,800).
fn round_axis(axis: Option<&mut charts_rs::YAxisConfig>, values: impl Iterator<Item = f64>) {
    let Some(axis) = axis else {
        return;
    };
    let (low, high) = values.fold((0.0_f64, 0.0_f64), |(low, high), value| {
        (low.min(value), high.max(value))
    });
    let (min, max) = round_bounds(low, high);
    axis.split_number = SPLITS;
    // Labels in full, grouped by three: the crate's `1.2M` would be the top of 1,250,000.
    axis.formatter = Some("{t}".to_string());
    axis.min = Some(min as f32);
    axis.max = Some(max as f32);
}

/// The bounds of [`SPLITS`] steps of 1, 2, 2.5 or 5 × 10ⁿ, the smallest that hold `low` (0 or
/// below) to `high` (0 or above), starting on a step.
fn round_bounds(low: f64, high: f64) -> (f64, f64) {
    let splits = SPLITS as f64;
    if high - low <= 0.0 {
        return (0.0, splits);
    }
    let magnitude = 10_f64.powf(((high - low) / splits).log10().floor());
    for power in [1.0, 10.0, 100.0] {
        for factor in [1.0, 2.0, 2.5, 5.0] {
            let step = factor * magnitude * power;
            let min = (low / step).floor() * step;
            if min + step * splits >= high {
                return (min, min + step * splits);
            }
        }
    }
    (low, high)
}

/// What every chart shares: size, fonts, the title, the legend (only for several series) and
/// the marks' titles.
fn dress(base: &mut charts_rs::ChartBase, title: &str, legend: bool) {
    base.width = WIDTH;
    base.height = HEIGHT;
    base.font_family = FONT_FAMILY.to_string();
    base.title.text = laid_out(title);
    base.title.align = Align::Center;
    base.legend.show = Some(legend);
    base.legend.position = Some(Position::Bottom);
    base.tooltip.show = true;
}

/// The SVG as the page inlines it (see the module's doc): no hover labels nor their `<style>`,
/// our titles on the marks, no pads, the chart's title as its accessible name. `None` when the
/// crate refused the data or its hover labels are not as expected (never yet seen).
fn finish(svg: charts_rs::Result<String>, title: &str, tips: &[String]) -> Option<String> {
    let mut svg = svg.ok()?;
    if let Some(start) = svg.find("<style>")
        && let Some(end) = svg[start..].find("</style>")
    {
        svg.replace_range(start..start + end + "</style>".len(), "");
    }
    while let Some(class) = svg.find(r#" class="ct-tip""#) {
        // Attribute values and text are escaped: no `<` between the tag's start and the class,
        // and the first `</text>` after it closes this element.
        let start = svg[..class].rfind("<text")?;
        let end = class + svg[class..].find("</text>")? + "</text>".len();
        let end = if svg[end..].starts_with('\n') {
            end + 1
        } else {
            end
        };
        svg.replace_range(start..end, "");
    }
    let svg = svg.replace(r#" class="ct-trigger""#, "");
    let svg = retitle(&svg, tips);
    let svg: String = svg.chars().filter(|c| *c != PAD).collect();
    Some(svg_with_accessibility(&svg, title, ""))
}

/// The SVG with the text of its `n`th `<title>` replaced by `tips[n]`, escaped; unchanged
/// unless there are as many titles as tips.
fn retitle(svg: &str, tips: &[String]) -> String {
    const OPEN: &str = "<title>";
    const CLOSE: &str = "</title>";
    if svg.matches(OPEN).count() != tips.len() {
        return svg.to_string();
    }
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    for tip in tips {
        let Some(open) = rest.find(OPEN).map(|open| open + OPEN.len()) else {
            return svg.to_string();
        };
        let Some(close) = rest[open..].find(CLOSE).map(|close| open + close) else {
            return svg.to_string();
        };
        out.push_str(&rest[..open]);
        out.push_str(&escaped(tip));
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// Text as it is written into the SVG: `<`, `>`, `&` and quotes escaped.
fn escaped(text: &str) -> String {
    match escape(text, Html) {
        Ok(safe) => safe.to_string(),
        Err(never) => match never {},
    }
}

/// Text as the crate is to measure it: a [`PAD`] after each wide character, none elsewhere.
fn laid_out(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars().filter(|c| *c != PAD) {
        out.push(c);
        if c.width() == Some(2) {
            out.push(PAD);
        }
    }
    out
}

fn laid_out_all(texts: &[String]) -> Vec<String> {
    texts.iter().map(|text| laid_out(text)).collect()
}

/// A value that can be drawn: not a number, or an infinite one, is 0.
fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

/// A value as the titles show it: at most two places, digits grouped by three
/// (`12345678.9` → `12,345,678.9`).
fn number(value: f64) -> String {
    let fixed = format!("{value:.2}");
    let fixed = fixed.trim_end_matches('0').trim_end_matches('.');
    let (sign, digits) = fixed
        .strip_prefix('-')
        .map_or(("", fixed), |rest| ("-", rest));
    let (int, frac) = digits.split_once('.').map_or((digits, ""), |(i, f)| (i, f));
    let mut out = String::from(if int.chars().all(|c| c == '0') && frac.is_empty() {
        ""
    } else {
        sign
    });
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    fn series(name: &str, values: &[f64]) -> Series {
        Series {
            name: name.to_string(),
            values: values.to_vec(),
        }
    }

    /// The texts of the marks' titles: every `<title>` but the chart's own, the first.
    fn tips(svg: &str) -> Vec<&str> {
        svg.split("<title>")
            .skip(2)
            .map(|rest| rest.split("</title>").next().unwrap())
            .collect()
    }

    /// The values of attribute `name` in the order of the elements that carry it.
    fn attributes<'a>(svg: &'a str, name: &str) -> Vec<&'a str> {
        let key = format!(" {name}=\"");
        svg.split(key.as_str())
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect()
    }

    /// The `x` of the `<text>` element that writes `text`.
    fn text_x(svg: &str, text: &str) -> f32 {
        let end = svg.find(&format!(">\n{text}\n</text>")).unwrap();
        let start = svg[..end].rfind("<text").unwrap();
        attributes(&svg[start..end], "x")[0].parse().unwrap()
    }

    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"viewBox="0 0 720 "#));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(!svg.contains(PAD));
    }

    #[test]
    fn a_bar_chart_titles_each_bar_with_its_category_series_and_value() {
        let regions = names(&["华东", "华南", "华北"]);
        let svg = bar(
            "各地区销售额",
            &regions,
            &[
                series("销售额", &[1_234_567.89, 980_000.0, 0.0]),
                series("回款", &[1_100_000.0, 900_000.5, 12.0]),
            ],
        )
        .unwrap();

        well_formed(&svg);
        assert_eq!(
            tips(&svg),
            [
                "华东 · 销售额: 1,234,567.89",
                "华南 · 销售额: 980,000",
                "华北 · 销售额: 0",
                "华东 · 回款: 1,100,000",
                "华南 · 回款: 900,000.5",
                "华北 · 回款: 12",
            ]
        );
        // Each title is on its own bar: the crate names the bar's category and series too.
        let bars: Vec<(&str, &str)> = attributes(&svg, "data-category")
            .into_iter()
            .zip(attributes(&svg, "data-series"))
            .collect();
        assert_eq!(bars.len(), 6);
        for ((category, series), tip) in bars.iter().zip(tips(&svg)) {
            assert!(
                tip.starts_with(&format!("{category} · {series}: ")),
                "{tip}"
            );
        }
        // A round value axis, written in full.
        assert!(svg.contains(">\n1,250,000\n</text>"), "{svg}");
    }

    #[test]
    fn long_names_under_upright_bars_are_cut_short_rather_than_left_out() {
        let customers: Vec<String> = (1..=8)
            .map(|i| format!("华东第{i}轴承制造有限公司"))
            .collect();
        let svg = bar("客户贡献", &customers, &[series("销售额", &[1.0; 8])]).unwrap();

        let labels: Vec<&str> = svg
            .split("\n</text>")
            .filter_map(|before| before.rsplit(">\n").next())
            .filter(|text| text.starts_with("华东第"))
            .collect();
        assert_eq!(labels.len(), 8, "{labels:?}");
        assert!(
            labels.iter().all(|label| label.ends_with('…')),
            "{labels:?}"
        );
        assert_eq!(tips(&svg)[7], "华东第8轴承制造有限公司 · 销售额: 1");
    }

    #[test]
    fn lying_bars_put_the_first_category_on_top() {
        let customers = names(&[
            "华东轴承有限公司",
            "上海精密机械制造有限公司",
            "成都川西重工",
        ]);
        let svg = horizontal_bar(
            "客户贡献",
            &customers,
            &[series("销售额", &[9_000_000.0, 7_500_000.0])],
        )
        .unwrap();

        well_formed(&svg);
        // Drawn from the bottom up; the missing value is a zero.
        assert_eq!(
            tips(&svg),
            [
                "成都川西重工 · 销售额: 0",
                "上海精密机械制造有限公司 · 销售额: 7,500,000",
                "华东轴承有限公司 · 销售额: 9,000,000",
            ]
        );
        let y = |name: &str| {
            let end = svg.find(&format!(">\n{name}\n</text>")).unwrap();
            let start = svg[..end].rfind("<text").unwrap();
            attributes(&svg[start..end], "y")[0].parse::<f32>().unwrap()
        };
        assert!(y("华东轴承有限公司") < y("上海精密机械制造有限公司"));
        assert!(y("上海精密机械制造有限公司") < y("成都川西重工"));
    }

    #[test]
    fn lying_bars_grow_taller_with_their_categories() {
        let many: Vec<String> = (1..=30).map(|i| format!("客户{i}")).collect();
        let svg = horizontal_bar("前三十", &many, &[series("销售额", &[1.0; 30])]).unwrap();

        assert!(svg.contains(r#"viewBox="0 0 720 940""#), "{}", &svg[..200]);
        // Every name has its row.
        for name in &many {
            assert!(svg.contains(&format!(">\n{name}\n</text>")), "{name}");
        }
    }

    #[test]
    fn a_line_chart_titles_each_point() {
        let months = names(&["1月", "2月", "3月", "4月"]);
        let svg = line(
            "每月服务数",
            &months,
            &[
                series("咨询", &[12.0, 15.0, 9.0, 20.0]),
                series("投诉", &[2.0, 3.0, 1.0, 4.0]),
            ],
        )
        .unwrap();

        well_formed(&svg);
        let tips = tips(&svg);
        assert_eq!(tips.len(), 8);
        assert_eq!(tips[0], "1月 · 咨询: 12");
        assert_eq!(tips[7], "4月 · 投诉: 4");
        // A titled (invisible, hoverable) circle on each point.
        assert_eq!(attributes(&svg, "data-category").len(), 8);
    }

    #[test]
    fn a_pie_titles_each_slice_with_its_share_and_leaves_out_those_of_nothing() {
        let svg = pie(
            "客户等级构成",
            &[
                ("普通客户".to_string(), 600.0),
                ("大客户".to_string(), 300.0),
                ("流失客户".to_string(), 0.0),
                ("合作伙伴".to_string(), 100.0),
                ("错误".to_string(), -5.0),
            ],
        )
        .unwrap();

        well_formed(&svg);
        assert_eq!(
            tips(&svg),
            [
                "普通客户: 600 (60.0%)",
                "大客户: 300 (30.0%)",
                "合作伙伴: 100 (10.0%)"
            ]
        );
        assert_eq!(
            svg.matches("<path").count() - svg.matches("<path d=\"M").count(),
            0
        );
        assert!(
            svg.contains("合作伙伴: 10%"),
            "named on the chart with its share"
        );
        assert!(!svg.contains("流失客户"));
    }

    #[test]
    fn a_heatmap_titles_each_given_cell_from_the_bottom_row_up() {
        let r = names(&["R1", "R2", "R3", "R4", "R5"]);
        let f = names(&["F1 最少", "F2", "F3", "F4", "F5 最多"]);
        let mut cells: Vec<(usize, usize, f64)> =
            (0..25).map(|i| (i % 5, i / 5, (i * 3) as f64)).collect();
        // Outside the grid: left out.
        cells.push((5, 0, 99.0));
        cells.push((0, 5, 99.0));

        let svg = heatmap("RFM 客户分布", &r, &f, &cells).unwrap();

        well_formed(&svg);
        let tips = tips(&svg);
        assert_eq!(tips.len(), 25);
        assert_eq!(tips[0], "R1 · F1 最少: 0");
        assert_eq!(tips[1], "R2 · F1 最少: 3");
        assert_eq!(tips[24], "R5 · F5 最多: 72");
        assert_eq!(attributes(&svg, "data-index").len(), 25);
        assert!(!svg.contains(": 99"));
        // F1 is the bottom row.
        let label_y = |text: &str| {
            let end = svg.find(&format!(">\n{text}\n</text>")).unwrap();
            let start = svg[..end].rfind("<text").unwrap();
            attributes(&svg[start..end], "y")[0].parse::<f32>().unwrap()
        };
        assert!(label_y("F1 最少") > label_y("F5 最多"));
    }

    #[test]
    fn a_heatmap_of_equal_values_or_missing_cells_still_draws() {
        let r = names(&["R1", "R2"]);
        let f = names(&["F1", "F2"]);

        let zeros = heatmap("全零", &r, &f, &[(0, 0, 0.0), (1, 1, 0.0)]).unwrap();
        let none = heatmap("空", &r, &f, &[]).unwrap();

        well_formed(&zeros);
        assert_eq!(tips(&zeros), ["R1 · F1: 0", "R2 · F2: 0"]);
        well_formed(&none);
        assert!(tips(&none).is_empty());
    }

    #[test]
    fn a_scatter_titles_each_point_with_its_label() {
        let point = |label: &str, x: f64, y: f64| Point {
            label: label.to_string(),
            x,
            y,
        };
        let svg = scatter(
            "订单数与销售额",
            "订单数",
            "销售额（元）",
            &[
                Points {
                    name: "大客户".to_string(),
                    points: vec![point("华东轴承", 12.0, 250_000.0), point("", 3.0, 9_000.5)],
                },
                Points {
                    name: "普通客户".to_string(),
                    points: vec![point("杭州西湖茶业", 1.0, 800.0)],
                },
            ],
        )
        .unwrap();

        well_formed(&svg);
        assert_eq!(
            tips(&svg),
            [
                "华东轴承 · 大客户: 订单数 12 / 销售额（元） 250,000",
                "大客户: 订单数 3 / 销售额（元） 9,000.5",
                "杭州西湖茶业 · 普通客户: 订单数 1 / 销售额（元） 800",
            ]
        );
        assert!(svg.contains(">\n订单数\n</text>"));
        assert!(svg.contains(">\n销售额（元）\n</text>"));
    }

    #[test]
    fn chinese_labels_come_out_whole() {
        let svg = bar(
            "客户等级",
            &names(&["华东轴承", "战略合作伙伴"]),
            &[series("客户数", &[3.0, 4.0])],
        )
        .unwrap();

        for text in ["客户等级", "华东轴承", "战略合作伙伴"] {
            assert!(svg.contains(&format!(">\n{text}\n</text>")), "{text}");
        }
        // The series' name is in the bars' attributes, unpadded.
        assert!(svg.contains(r#"data-series="客户数""#));
    }

    #[test]
    fn a_wide_character_and_its_pad_are_measured_an_em_wide() {
        let measure = |text: &str| {
            charts_rs::measure_text_width_family(FONT_FAMILY, 14.0, text)
                .unwrap()
                .width()
        };
        // What the padding rests on: the crate measures the pad as it does a CJK character.
        assert_eq!(measure(&PAD.to_string()), measure("华"));
        let four = measure(&laid_out("华东轴承"));
        assert!((52.0..=60.0).contains(&four), "{four}");
        assert_eq!(laid_out("a华，b"), format!("a华{PAD}，{PAD}b"));
        // A pad a label brings is no pad of ours.
        assert_eq!(laid_out(&format!("x{PAD}")), "x");
    }

    #[test]
    fn legend_entries_have_the_room_their_chinese_names_take() {
        let svg = bar(
            "图例",
            &names(&["甲"]),
            &[series("销售额合计", &[1.0]), series("回款", &[1.0])],
        )
        .unwrap();

        // Five characters of 14px, then the next entry's marker.
        let gap = text_x(&svg, "回款") - text_x(&svg, "销售额合计");
        assert!(gap >= 5.0 * 14.0 + 20.0, "{gap}");
    }

    #[test]
    fn labels_and_titles_are_escaped() {
        let evil = r#"<script>alert("x")</script>&"#;
        let charts = [
            bar(evil, &names(&[evil]), &[series(evil, &[1.0])]),
            horizontal_bar(evil, &names(&[evil]), &[series(evil, &[1.0])]),
            line(evil, &names(&[evil]), &[series(evil, &[1.0])]),
            pie(evil, &[(evil.to_string(), 1.0)]),
            heatmap(evil, &names(&[evil]), &names(&[evil]), &[(0, 0, 1.0)]),
            scatter(
                evil,
                evil,
                evil,
                &[Points {
                    name: evil.to_string(),
                    points: vec![Point {
                        label: evil.to_string(),
                        x: 1.0,
                        y: 1.0,
                    }],
                }],
            ),
        ];

        for svg in charts {
            let svg = svg.unwrap();
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg.contains("&lt;script&gt;"), "{svg}");
            assert!(!svg.contains("</script>&\""));
            // No quote closes an attribute early.
            for value in attributes(&svg, "data-series") {
                assert!(!value.contains('<'), "{value}");
            }
        }
    }

    #[test]
    fn the_svg_needs_nothing_the_content_security_policy_blocks() {
        let charts = [
            bar("甲", &names(&["a", "b"]), &[series("s", &[1.0, 2.0])]),
            horizontal_bar("甲", &names(&["a"]), &[series("s", &[1.0])]),
            line("甲", &names(&["a", "b"]), &[series("s", &[1.0, 2.0])]),
            pie("甲", &[("a".to_string(), 1.0), ("b".to_string(), 2.0)]),
            heatmap("甲", &names(&["a"]), &names(&["b"]), &[(0, 0, 1.0)]),
        ];

        for svg in charts {
            let svg = svg.unwrap();
            for blocked in [
                "<style",
                "style=",
                "<script",
                " on",
                "href",
                "ct-tip",
                "ct-trigger",
            ] {
                assert!(!svg.contains(blocked), "{blocked} in {svg}");
            }
            // Printable: dark text on a white ground.
            assert!(svg.contains(r##"fill="#FFFFFF""##));
            assert!(svg.contains(r#"role="img""#));
        }
    }

    #[test]
    fn nothing_to_draw_is_none() {
        let some = [series("s", &[1.0])];
        assert_eq!(bar("t", &[], &some), None);
        assert_eq!(bar("t", &names(&["a"]), &[]), None);
        assert_eq!(horizontal_bar("t", &[], &some), None);
        assert_eq!(line("t", &[], &some), None);
        assert_eq!(pie("t", &[]), None);
        assert_eq!(
            pie("t", &[("a".to_string(), 0.0), ("b".to_string(), f64::NAN)]),
            None
        );
        assert_eq!(heatmap("t", &[], &names(&["a"]), &[]), None);
        assert_eq!(heatmap("t", &names(&["a"]), &[], &[]), None);
        assert_eq!(scatter("t", "x", "y", &[]), None);
        let no_points = Points {
            name: "s".to_string(),
            points: vec![],
        };
        assert_eq!(scatter("t", "x", "y", &[no_points]), None);
    }

    #[test]
    fn zeros_and_values_that_are_no_numbers_are_drawn_as_zero() {
        let categories = names(&["a", "b"]);
        let odd = [series("s", &[f64::NAN, f64::INFINITY])];
        let zeros = [series("s", &[0.0, 0.0])];

        for svg in [
            bar("t", &categories, &odd),
            bar("t", &categories, &zeros),
            line("t", &categories, &zeros),
        ] {
            let svg = svg.unwrap();
            well_formed(&svg);
            assert_eq!(tips(&svg), ["a · s: 0", "b · s: 0"]);
        }
        let lying = horizontal_bar("t", &categories, &zeros).unwrap();
        well_formed(&lying);
        assert_eq!(tips(&lying), ["b · s: 0", "a · s: 0"]);
    }

    #[test]
    fn values_are_shown_to_two_places_grouped_by_three() {
        assert_eq!(number(1_234_567.891), "1,234,567.89");
        assert_eq!(number(980_000.0), "980,000");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-1_234.5), "-1,234.5");
        assert_eq!(number(-0.001), "0");
        assert_eq!(number(100.0), "100");
    }

    #[test]
    fn value_axes_have_round_steps() {
        assert_eq!(round_bounds(0.0, 1_234_567.89), (0.0, 1_250_000.0));
        assert_eq!(round_bounds(0.0, 31.0), (0.0, 50.0));
        assert_eq!(round_bounds(0.0, 3.0), (0.0, 5.0));
        assert_eq!(round_bounds(0.0, 0.0), (0.0, 5.0));
        assert_eq!(round_bounds(-30.0, 100.0), (-50.0, 200.0));
        assert_eq!(round_bounds(0.0, 0.003), (0.0, 0.005));
    }

    #[test]
    fn titles_are_left_to_the_crate_when_the_marks_are_not_the_expected_ones() {
        let svg = "<rect><title>a</title></rect><rect><title>b</title></rect>";

        assert_eq!(retitle(svg, &["x".to_string()]), svg);
        assert_eq!(
            retitle(svg, &["x<".to_string(), "y".to_string()]),
            "<rect><title>x&#60;</title></rect><rect><title>y</title></rect>"
        );
    }
}
