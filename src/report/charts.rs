//! The report's charts: one model per chart, built from the computed series
//! (never recomputed in a template), drawn once as SVG and rasterised from
//! that same SVG to PNG with resvg and an embedded open font, so the HTML
//! report (inline SVG) and the Markdown report (`charts/*.png`) show the
//! same picture. No JavaScript, no network, no system fonts.
//!
//! Colours are the Okabe–Ito palette (readable with every common colour
//! blindness); the second line of a pair is dashed, so the charts also read
//! in black-and-white print.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use resvg::{tiny_skia, usvg};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::rows::{CustomerRow, SeriesRow};
use crate::model::period::Period;
use crate::report::format::compact;
use crate::report::Bridge;

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/`): SVG text with a
/// generic family silently vanishes in resvg unless a font is loaded and
/// mapped to it.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "DejaVu Sans";

pub const BLUE: &str = "#0072B2";
pub const ORANGE: &str = "#E69F00";
pub const GREEN: &str = "#009E73";
pub const VERMILLION: &str = "#D55E00";
pub const SKY: &str = "#56B4E9";
pub const GREY: &str = "#8a93a3";
pub const INK: &str = "#1f2430";

pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 62.0;
/// PNG pixels per SVG unit: sharp on high-density screens and in print.
pub const PNG_SCALE: f32 = 2.0;

/// One line or one stack of bars.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub dashed: bool,
    pub values: Vec<Option<f64>>,
}

/// One bar of a waterfall: a total drawn from zero, or a step from the
/// running total.
#[derive(Debug, Clone)]
pub struct Step {
    pub label: String,
    pub value: f64,
    pub total: bool,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Lines(Vec<Series>),
    /// Bars stacked per category, each series a layer.
    Stacked(Vec<Series>),
    Waterfall(Vec<Step>),
    /// Small multiples: one sparkline per series, each on its own scale,
    /// with its name and last value.
    Small(Vec<Series>),
}

/// A band of good values (a benchmark), shaded behind the data.
#[derive(Debug, Clone)]
pub struct Band {
    pub low: f64,
    pub high: f64,
    pub label: String,
}

/// A chart, independent of how it is drawn.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem: `charts/<id>.png`.
    pub id: &'static str,
    pub title: String,
    /// What the chart shows, in words (SVG `<desc>`, image alt text).
    pub alt: String,
    /// The value axis, with its unit.
    pub y_label: String,
    /// One label per category (month or bridge step).
    pub x: Vec<String>,
    pub kind: Kind,
    /// The category of the report's period, marked, and the mark's words.
    pub marker: Option<(usize, String)>,
    pub band: Option<Band>,
    /// A note in the top-right corner (e.g. the ARR).
    pub note: Option<String>,
}

/// What a template needs of a chart.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub id: String,
    pub title: String,
    pub alt: String,
    pub svg: String,
    pub png: String,
}

impl Chart {
    pub fn view(&self) -> ChartView {
        ChartView {
            id: self.id.to_string(),
            title: self.title.clone(),
            alt: self.alt.clone(),
            svg: self.svg(),
            png: format!("charts/{}.png", self.id),
        }
    }
}

/// The charts of a report, from the series of the trend window.
pub fn build(
    series: &[SeriesRow],
    customers: &[CustomerRow],
    period: Period,
    window_start: Period,
    currency: &str,
    month: &Bridge,
    window: &Bridge,
    labels: &BTreeMap<String, String>,
) -> Vec<Chart> {
    let values: BTreeMap<(&str, Period), Option<f64>> = series
        .iter()
        .filter(|s| s.row.dimension == "all")
        .map(|s| ((s.row.metric.as_str(), s.row.period), s.row.value))
        .collect();
    let sliced: BTreeMap<(&str, &str, &str, Period), Option<f64>> = series
        .iter()
        .filter(|s| s.row.dimension == "segment" || s.row.dimension == "region")
        .map(|s| ((s.row.metric.as_str(), s.row.dimension.as_str(), s.row.segment.as_str(), s.row.period), s.row.value))
        .collect();
    let months: Vec<Period> = (0..=period.since(window_start)).map(|i| window_start.plus(i)).collect();
    let x: Vec<String> = months.iter().map(|m| m.short_label()).collect();
    let noun = period.kind().noun();
    let marker = Some((months.len() - 1, format!("report {noun}")));
    let window_text = format!("{} to {}", window_start.label(), period.label());
    let f = ChartData { values, sliced, months, x, noun, marker, window_text, period, currency, labels };
    let mut out: Vec<Option<Chart>> = vec![mrr_chart(&f)];
    out.push(bridge_chart(&f, "bridge_month", month, period.label()));
    out.push(bridge_chart(&f, "bridge_window", window, f.window_text.clone()));
    out.extend([retention_chart(&f), churn_chart(&f), nps_chart(&f), health_chart(&f, customers)]);
    for (dimension, metric, name, unit) in [
        ("segment", "mrr", "MRR", currency),
        ("segment", "nrr", "NRR", "%"),
        ("region", "mrr", "MRR", currency),
        ("region", "nrr", "NRR", "%"),
    ] {
        out.push(slice_chart(&f, dimension, metric, name, unit));
    }
    out.into_iter().flatten().collect()
}

/// What every chart of one report reads: the series of all customers and of
/// each segment and region by period, the periods shown and their labels.
struct ChartData<'a> {
    values: BTreeMap<(&'a str, Period), Option<f64>>,
    sliced: BTreeMap<(&'a str, &'a str, &'a str, Period), Option<f64>>,
    months: Vec<Period>,
    x: Vec<String>,
    noun: &'static str,
    marker: Option<(usize, String)>,
    window_text: String,
    period: Period,
    currency: &'a str,
    /// The words each segment and region is shown with.
    labels: &'a BTreeMap<String, String>,
}

impl ChartData<'_> {
    fn line(&self, metric: &str) -> Vec<Option<f64>> {
        self.months.iter().map(|m| self.values.get(&(metric, *m)).copied().flatten()).collect()
    }

    fn has(&self, metric: &str) -> bool {
        self.months.iter().any(|m| self.values.get(&(metric, *m)).copied().flatten().is_some())
    }
}

/// MRR over the window, with ARR at the report period as a note.
fn mrr_chart(f: &ChartData) -> Option<Chart> {
    let ChartData { values, x, noun, marker, window_text, period, currency, .. } = f;
    let (line, has) = (|m: &str| f.line(m), |m: &str| f.has(m));
    if !has("mrr") {
        return None;
    }
    let mrr = line("mrr");
    let last = mrr.last().copied().flatten();
    Some(Chart {
        id: "mrr",
        title: format!("MRR, {window_text}"),
        alt: format!(
            "Monthly recurring revenue by {noun} from {window_text}; {} in {}.",
            last.map_or("not available".into(), |v| format!("{} {currency}", compact(v))),
            period.label()
        ),
        y_label: format!("MRR ({currency})"),
        x: x.clone(),
        kind: Kind::Lines(vec![Series { name: "MRR".into(), color: BLUE, dashed: false, values: mrr }]),
        marker: marker.clone(),
        band: None,
        note: values.get(&("arr", *period)).copied().flatten().map(|arr| format!("ARR {} {currency}", compact(arr))),
    })
}

/// The MRR bridge of one span (the report period, or the window) as a waterfall.
fn bridge_chart(f: &ChartData, id: &'static str, bridge: &Bridge, what: String) -> Option<Chart> {
    let currency = f.currency;
    let (Some(start), Some(end)) = (bridge.start, bridge.end) else { return None };
    let step = |label: &str, value: f64, total: bool| Step { label: label.to_string(), value, total };
    let mut steps = vec![
        step("Start", start, true),
        step("New", bridge.new, false),
        step("Reactivation", bridge.reactivation, false),
        step("Expansion", bridge.expansion, false),
        step("Contraction", -bridge.contraction, false),
        step("Churn", -bridge.churn, false),
    ];
    // Rate moves of other currencies: a bar of their own, never hidden
    // in expansion or contraction (absent with one currency).
    let fx_text = if bridge.fx != 0.0 {
        steps.push(step("FX", bridge.fx, false));
        format!(", exchange rates {}{}", if bridge.fx > 0.0 { "+" } else { "−" }, compact(bridge.fx.abs()))
    } else {
        String::new()
    };
    steps.push(step("End", end, true));
    Some(Chart {
        id,
        title: format!("MRR bridge, {what}"),
        alt: format!(
            "MRR from {} {currency} to {} {currency}: new +{}, reactivation +{}, expansion +{}, contraction −{}, churn −{}{fx_text}.",
            compact(start),
            compact(end),
            compact(bridge.new),
            compact(bridge.reactivation),
            compact(bridge.expansion),
            compact(bridge.contraction),
            compact(bridge.churn)
        ),
        y_label: format!("MRR ({currency})"),
        x: Vec::new(),
        kind: Kind::Waterfall(steps),
        marker: None,
        band: None,
        note: None,
    })
}

/// NRR and GRR, period over period and over 12 months.
fn retention_chart(f: &ChartData) -> Option<Chart> {
    let ChartData { x, noun, marker, window_text, .. } = f;
    let (line, has) = (|m: &str| f.line(m), |m: &str| f.has(m));
    if !(has("nrr") || has("nrr_12m")) {
        return None;
    }
    let mut lines = Vec::new();
    for (metric, name, color, dashed) in [
        ("nrr", format!("NRR ({noun})"), BLUE, false),
        ("grr", format!("GRR ({noun})"), BLUE, true),
        ("nrr_12m", "NRR (12 months)".to_string(), ORANGE, false),
        ("grr_12m", "GRR (12 months)".to_string(), ORANGE, true),
    ] {
        if has(metric) {
            lines.push(Series { name, color, dashed, values: line(metric) });
        }
    }
    Some(Chart {
        id: "retention",
        title: format!("Net and gross revenue retention, {window_text}"),
        alt: format!("Net (solid) and gross (dashed) revenue retention by {noun}, {noun} over {noun} and over 12 months, {window_text}."),
        y_label: "retention (%)".into(),
        x: x.clone(),
        kind: Kind::Lines(lines),
        marker: marker.clone(),
        band: None,
        note: None,
    })
}

/// Logo churn against the benchmark band.
fn churn_chart(f: &ChartData) -> Option<Chart> {
    let ChartData { x, noun, marker, window_text, period, .. } = f;
    let (line, has) = (|m: &str| f.line(m), |m: &str| f.has(m));
    if !has("churn_rate") {
        return None;
    }
    // 7 % a year is 1 − 0.93^(1/12) a month (1 − 0.93^(1/4) a quarter).
    let monthly = 100.0 * (1.0 - 0.93f64.powf(1.0 / f64::from(period.per_year())));
    Some(Chart {
        id: "churn",
        title: format!("Logo churn, {window_text}"),
        alt: format!(
            "Share of customers lost each {noun}, {window_text}, against the SaaS benchmark of at most 7 % a year ({monthly:.2} % a {noun})."
        ),
        y_label: format!("customers lost (% a {noun})"),
        x: x.clone(),
        kind: Kind::Lines(vec![Series { name: "Logo churn".into(), color: VERMILLION, dashed: false, values: line("churn_rate") }]),
        marker: marker.clone(),
        band: Some(Band { low: 0.0, high: monthly, label: "benchmark: ≤ 7 % a year".into() }),
        note: None,
    })
}

/// Promoters, passives and detractors as shares of the answers.
fn nps_chart(f: &ChartData) -> Option<Chart> {
    let ChartData { months, x, noun, marker, window_text, .. } = f;
    let has = |m: &str| f.has(m);
    let values = &f.values;
    if !has("nps_responses") {
        return None;
    }
    let share = |metric: &str| -> Vec<Option<f64>> {
        months
            .iter()
            .map(|m| {
                let n = values.get(&("nps_responses", *m)).copied().flatten().filter(|n| *n > 0.0)?;
                values.get(&(metric, *m)).copied().flatten().map(|v| 100.0 * v / n)
            })
            .collect()
    };
    Some(Chart {
        id: "nps_split",
        title: format!("NPS answers, {window_text}"),
        alt: format!("Promoters, passives and detractors as shares of each {noun}'s NPS answers, {window_text}."),
        y_label: "share of answers (%)".into(),
        x: x.clone(),
        kind: Kind::Stacked(vec![
            Series { name: "Promoters (9–10)".into(), color: GREEN, dashed: false, values: share("nps_promoters") },
            Series { name: "Passives (7–8)".into(), color: SKY, dashed: false, values: share("nps_passives") },
            Series { name: "Detractors (0–6)".into(), color: VERMILLION, dashed: false, values: share("nps_detractors") },
        ]),
        marker: marker.clone(),
        band: None,
        note: None,
    })
}

/// Active customers by health band, with the at-risk MRR.
fn health_chart(f: &ChartData, customers: &[CustomerRow]) -> Option<Chart> {
    let ChartData { period, currency, .. } = f;
    if !(customers.iter().any(|c| c.band.is_some())) {
        return None;
    }
    let bands = [("healthy", "Healthy", GREEN), ("neutral", "Neutral", SKY), ("at_risk", "At risk", VERMILLION)];
    let count = |band: &str| customers.iter().filter(|c| c.band.as_deref() == Some(band)).count();
    let mrr = |band: &str| customers.iter().filter(|c| c.band.as_deref() == Some(band)).map(|c| c.mrr).sum::<f64>();
    let words: Vec<String> =
        bands.iter().map(|(id, name, _)| format!("{name}: {} customers, {} {currency} MRR", count(id), compact(mrr(id)))).collect();
    Some(Chart {
        id: "health",
        title: format!("Customer health, {}", period.label()),
        alt: format!("Active customers by health band in {}. {}.", period.label(), words.join("; ")),
        y_label: "customers".into(),
        x: bands.iter().map(|(_, name, _)| name.to_string()).collect(),
        kind: Kind::Stacked(
            bands
                .iter()
                .enumerate()
                .map(|(i, (id, name, color))| Series {
                    name: name.to_string(),
                    color,
                    dashed: false,
                    values: (0..bands.len()).map(|j| (j == i).then(|| count(id) as f64)).collect(),
                })
                .collect(),
        ),
        marker: None,
        band: None,
        note: Some(format!("at-risk MRR {} {currency}", compact(mrr("at_risk")))),
    })
}

/// Small multiples of one metric for each value of one dimension.
fn slice_chart(f: &ChartData, dimension: &str, metric: &str, name: &str, unit: &str) -> Option<Chart> {
    let ChartData { months, x, noun, marker, window_text, period, sliced, .. } = f;
    let slices: std::collections::BTreeSet<&str> =
        sliced.keys().filter(|(m, d, _, _)| *m == metric && *d == dimension).map(|(_, _, s, _)| *s).collect();
    if slices.is_empty() {
        return None;
    }
    let lines: Vec<Series> = slices
        .iter()
        .map(|slice| Series {
            name: crate::report::format::label(slice, f.labels),
            color: BLUE,
            dashed: false,
            values: months.iter().map(|m| sliced.get(&(metric, dimension, slice, *m)).copied().flatten()).collect(),
        })
        .collect();
    let last: Vec<String> = lines
        .iter()
        .map(|l| format!("{} {}", l.name, l.values.last().copied().flatten().map_or("n/a".into(), compact)))
        .collect();
    Some(Chart {
        id: match (metric, dimension) {
            ("mrr", "segment") => "mrr_by_segment",
            ("nrr", "segment") => "nrr_by_segment",
            ("mrr", _) => "mrr_by_region",
            _ => "nrr_by_region",
        },
        title: format!("{name} by {dimension}, {window_text}"),
        alt: format!("{name} ({unit}) of each {dimension} by {noun}, {window_text}; in {}: {}.", period.label(), last.join(", ")),
        y_label: format!("{name} ({unit})"),
        x: x.clone(),
        kind: Kind::Small(lines),
        marker: marker.clone(),
        band: None,
        note: None,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Round tick steps covering `low..high` in about five steps.
fn ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(f64::EPSILON);
    let raw = span / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let first = (low / step).floor() * step;
    let mut out = Vec::new();
    let mut t = first;
    while t <= high + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    if out.last().is_some_and(|l| *l < high - step * 1e-6) {
        out.push(t);
    }
    out
}

struct Frame {
    low: f64,
    high: f64,
}

impl Frame {
    fn y(&self, v: f64) -> f64 {
        let h = HEIGHT - TOP - BOTTOM;
        TOP + h - (v - self.low) / (self.high - self.low) * h
    }
}

impl Chart {
    /// The value range the axis must show.
    fn range(&self) -> (f64, f64) {
        let mut values: Vec<f64> = Vec::new();
        match &self.kind {
            Kind::Lines(series) | Kind::Small(series) => values.extend(series.iter().flat_map(|s| s.values.iter().flatten().copied())),
            Kind::Stacked(series) => {
                let n = series.first().map_or(0, |s| s.values.len());
                values.extend((0..n).map(|i| series.iter().filter_map(|s| s.values[i]).sum::<f64>()));
            }
            Kind::Waterfall(steps) => {
                let mut run = 0.0;
                for s in steps {
                    if s.total {
                        run = s.value;
                        values.push(s.value);
                    } else {
                        values.push(run);
                        run += s.value;
                        values.push(run);
                    }
                }
            }
        }
        if let Some(b) = &self.band {
            values.extend([b.low, b.high]);
        }
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !low.is_finite() {
            return (0.0, 1.0);
        }
        // Bars and percentages start at zero; a line of large values keeps
        // its shape instead.
        let low = match self.kind {
            Kind::Lines(_) | Kind::Waterfall(_) if low > 0.0 && low > 0.5 * high => low - 0.1 * (high - low).max(high * 0.02),
            _ => low.min(0.0),
        };
        if high <= low {
            return (low, low + 1.0);
        }
        (low, high)
    }

    /// The chart as SVG to inline in HTML (whose parser puts it in the SVG
    /// namespace; the page then names no URL at all). [`png`] adds the
    /// namespace a standalone document needs.
    pub fn svg(&self) -> String {
        if let Kind::Small(series) = &self.kind {
            return self.small_multiples(series);
        }
        let (low, high) = self.range();
        let tick_values = ticks(low, high);
        let frame = Frame { low: *tick_values.first().unwrap_or(&low), high: *tick_values.last().unwrap_or(&high) };
        let plot_w = WIDTH - LEFT - RIGHT;
        let mut s = String::new();
        let id = self.id;
        let _ = write!(
            s,
            r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FAMILY}, sans-serif" font-size="11">"#
        );
        let _ = write!(s, r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#, escape(&self.title), escape(&self.alt));
        let _ = write!(s, r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##);
        let _ = write!(s, r#"<text x="{LEFT}" y="20" font-size="15" fill="{INK}">{}</text>"#, escape(&self.title));
        if let Some(note) = &self.note {
            let _ = write!(s, r#"<text x="{}" y="20" text-anchor="end" font-size="12" fill="{INK}">{}</text>"#, WIDTH - RIGHT, escape(note));
        }
        if let Some(b) = &self.band {
            let (y1, y2) = (frame.y(b.high.min(frame.high)), frame.y(b.low.max(frame.low)));
            let _ = write!(s, r##"<rect x="{LEFT}" y="{y1:.1}" width="{plot_w:.1}" height="{:.1}" fill="#009E73" fill-opacity="0.14"/>"##, y2 - y1);
            // At the left, clear of the report month's marker on the right.
            let _ = write!(s, r#"<text x="{:.1}" y="{:.1}" font-size="10" fill="{GREEN}">{}</text>"#, LEFT + 4.0, y1 + 12.0, escape(&b.label));
        }
        // Value axis: grid lines and labels.
        for t in &tick_values {
            let y = frame.y(*t);
            let _ = write!(s, r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e7ee"/>"##, WIDTH - RIGHT);
            let _ = write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{INK}">{}</text>"#, LEFT - 6.0, y + 4.0, compact(*t));
        }
        let mid = TOP + (HEIGHT - TOP - BOTTOM) / 2.0;
        let _ = write!(
            s,
            r#"<text transform="translate(14 {mid:.1}) rotate(-90)" text-anchor="middle" fill="{INK}">{}</text>"#,
            escape(&self.y_label)
        );
        let base = frame.y(0.0f64.clamp(frame.low, frame.high));
        let _ = write!(s, r#"<line x1="{LEFT}" x2="{:.1}" y1="{base:.1}" y2="{base:.1}" stroke="{INK}"/>"#, WIDTH - RIGHT);
        match &self.kind {
            Kind::Lines(series) => self.draw_lines(&mut s, &frame, series),
            Kind::Stacked(series) => self.draw_stacked(&mut s, &frame, series),
            Kind::Waterfall(steps) => draw_waterfall(&mut s, &frame, steps),
            Kind::Small(_) => unreachable!("drawn by small_multiples"),
        }
        let legend: Vec<(&str, &str, bool)> = match &self.kind {
            Kind::Lines(series) | Kind::Stacked(series) | Kind::Small(series) => {
                series.iter().map(|x| (x.name.as_str(), x.color, x.dashed)).collect()
            }
            Kind::Waterfall(_) => vec![("increase", GREEN, false), ("decrease", VERMILLION, false), ("total", BLUE, false)],
        };
        let mut x = LEFT;
        let y = HEIGHT - 12.0;
        for (name, color, dashed) in legend {
            let dash = if dashed { r#" stroke-dasharray="5 3""# } else { "" };
            let _ = write!(s, r#"<line x1="{x:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="4"{dash}/>"#, x + 16.0, y - 4.0, y - 4.0);
            let _ = write!(s, r#"<text x="{:.1}" y="{y:.1}" fill="{INK}">{}</text>"#, x + 20.0, escape(name));
            x += 32.0 + 6.2 * name.chars().count() as f64;
        }
        s.push_str("</svg>");
        s
    }

    /// A grid of sparklines, one per series, each on its own scale: the
    /// shape of each slice's trend, its name and its latest value.
    fn small_multiples(&self, series: &[Series]) -> String {
        let id = self.id;
        let columns = series.len().clamp(1, 3);
        let rows = series.len().div_ceil(columns).max(1);
        let cell_w = (WIDTH - 2.0 * 12.0) / columns as f64;
        let cell_h = (HEIGHT - TOP - 12.0) / rows as f64;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FAMILY}, sans-serif" font-size="11">"#
        );
        let _ = write!(s, r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#, escape(&self.title), escape(&self.alt));
        let _ = write!(s, r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##);
        let _ = write!(s, r#"<text x="12" y="20" font-size="15" fill="{INK}">{}</text>"#, escape(&self.title));
        let _ = write!(s, r#"<text x="{:.1}" y="20" text-anchor="end" fill="{GREY}">{}, each on its own scale</text>"#, WIDTH - 12.0, escape(&self.y_label));
        for (k, line) in series.iter().enumerate() {
            let (x0, y0) = (12.0 + cell_w * (k % columns) as f64, TOP + cell_h * (k / columns) as f64);
            let present: Vec<f64> = line.values.iter().flatten().copied().collect();
            let last = line.values.last().copied().flatten();
            let _ = write!(s, r#"<text x="{:.1}" y="{:.1}" fill="{INK}">{}</text>"#, x0 + 4.0, y0 + 14.0, escape(&line.name));
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{INK}">{}</text>"#,
                x0 + cell_w - 8.0,
                y0 + 14.0,
                last.map_or("n/a".to_string(), compact)
            );
            let (top, bottom) = (y0 + 22.0, y0 + cell_h - 8.0);
            let _ = write!(s, r##"<line x1="{:.1}" x2="{:.1}" y1="{bottom:.1}" y2="{bottom:.1}" stroke="#e3e7ee"/>"##, x0 + 4.0, x0 + cell_w - 8.0);
            let (low, high) = (present.iter().copied().fold(f64::INFINITY, f64::min), present.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            if !low.is_finite() {
                continue;
            }
            let span = if high > low { high - low } else { 1.0 };
            let n = line.values.len().max(2) - 1;
            let px = |i: usize| x0 + 4.0 + (cell_w - 12.0) * i as f64 / n as f64;
            let py = |v: f64| bottom - (v - low) / span * (bottom - top);
            let path = path_of(line.values.iter().enumerate().map(|(i, v)| v.map(|v| (px(i), py(v)))));
            let _ = write!(s, r#"<path d="{path}" fill="none" stroke="{}" stroke-width="2"/>"#, line.color);
            if let Some(v) = last {
                let _ = write!(s, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#, px(line.values.len() - 1), py(v), line.color);
            }
        }
        s.push_str("</svg>");
        s
    }

    fn slot(&self) -> f64 {
        (WIDTH - LEFT - RIGHT) / self.x.len().max(1) as f64
    }

    fn x_center(&self, i: usize) -> f64 {
        LEFT + self.slot() * (i as f64 + 0.5)
    }

    /// Category labels (every k-th, so they never overlap) and the marker.
    fn draw_categories(&self, s: &mut String) {
        let every = (self.x.len() as f64 * 44.0 / (WIDTH - LEFT - RIGHT)).ceil().max(1.0) as usize;
        let last = self.x.len().saturating_sub(1);
        for (i, label) in self.x.iter().enumerate() {
            // The period's label always shows; a label just before it yields.
            if i == last || (i % every == 0 && last - i >= every) {
                let _ = write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{INK}">{}</text>"#, self.x_center(i), HEIGHT - BOTTOM + 16.0, escape(label));
            }
        }
        if let Some((m, text)) = &self.marker {
            let x = self.x_center(*m);
            let _ = write!(s, r#"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}" stroke="{GREY}" stroke-dasharray="3 3"/>"#, HEIGHT - BOTTOM);
            // Above the plot, where no line can run through it.
            let _ = write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10" fill="{GREY}">{}</text>"#, x + 4.0, TOP - 6.0, escape(text));
        }
    }

    fn draw_lines(&self, s: &mut String, frame: &Frame, series: &[Series]) {
        self.draw_categories(s);
        for line in series {
            let dash = if line.dashed { r#" stroke-dasharray="6 4""# } else { "" };
            let path = path_of(line.values.iter().enumerate().map(|(i, v)| v.map(|v| (self.x_center(i), frame.y(v)))));
            let _ = write!(s, r#"<path d="{path}" fill="none" stroke="{}" stroke-width="2.5"{dash}/>"#, line.color);
            for (i, v) in line.values.iter().enumerate() {
                if let Some(v) = v {
                    let _ = write!(s, r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"/>"#, self.x_center(i), frame.y(*v), line.color);
                }
            }
        }
    }

    fn draw_stacked(&self, s: &mut String, frame: &Frame, series: &[Series]) {
        self.draw_categories(s);
        let width = self.slot() * 0.7;
        for i in 0..self.x.len() {
            let mut run = 0.0;
            for layer in series {
                let Some(v) = layer.values.get(i).copied().flatten() else { continue };
                let (top, bottom) = (frame.y(run + v), frame.y(run));
                let _ = write!(
                    s,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{width:.1}" height="{:.1}" fill="{}"/>"#,
                    self.x_center(i) - width / 2.0,
                    bottom - top,
                    layer.color
                );
                run += v;
            }
        }
    }
}

/// An SVG path through the points; a missing point (a null value) breaks
/// the line rather than dropping it to zero.
fn path_of(points: impl Iterator<Item = Option<(f64, f64)>>) -> String {
    let mut path = String::new();
    let mut pen_down = false;
    for point in points {
        match point {
            Some((x, y)) => {
                let _ = write!(path, "{}{x:.1} {y:.1} ", if pen_down { "L" } else { "M" });
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    path.trim_end().to_string()
}

fn draw_waterfall(s: &mut String, frame: &Frame, steps: &[Step]) {
    let slot = (WIDTH - LEFT - RIGHT) / steps.len().max(1) as f64;
    let width = slot * 0.62;
    // An axis that does not start at zero is drawn broken: a double slash
    // on the value axis, a zigzag across every total bar, and the words.
    let cut = frame.low > 0.0;
    if cut {
        let y = frame.y(frame.low);
        let _ = write!(
            s,
            r#"<path class="axis-break" d="M{:.1} {:.1} L{:.1} {:.1} M{:.1} {:.1} L{:.1} {:.1}" stroke="{INK}" stroke-width="1.5" fill="none"/>"#,
            LEFT - 6.0,
            y - 2.0,
            LEFT + 6.0,
            y - 8.0,
            LEFT - 6.0,
            y + 4.0,
            LEFT + 6.0,
            y - 2.0
        );
        // Beside the legend, at the bottom right: clear of the bars' labels.
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10" fill="{INK}">axis cut: it starts at {}, not 0</text>"#,
            WIDTH - RIGHT,
            HEIGHT - 12.0,
            compact(frame.low)
        );
    }
    let mut run = 0.0;
    for (i, step) in steps.iter().enumerate() {
        // Totals stand on the axis floor: zero, or the cut the range made
        // so that a month's movements are visible next to its MRR.
        let (from, to, color) = if step.total {
            (frame.low.max(0.0), step.value, BLUE)
        } else {
            (run, run + step.value, if step.value >= 0.0 { GREEN } else { VERMILLION })
        };
        run = to;
        let (top, bottom) = (frame.y(from.max(to)), frame.y(from.min(to)));
        let x = LEFT + slot * (i as f64 + 0.5);
        let _ = write!(s, r#"<rect x="{:.1}" y="{top:.1}" width="{width:.1}" height="{:.1}" fill="{color}"/>"#, x - width / 2.0, (bottom - top).max(1.0));
        if cut && step.total && bottom - top > 14.0 {
            let (left, y) = (x - width / 2.0, bottom - 8.0);
            let points: Vec<String> =
                (0..=8).map(|k| format!("{:.1},{:.1}", left + width * f64::from(k) / 8.0, if k % 2 == 0 { y } else { y - 4.0 })).collect();
            let _ = write!(s, r##"<polyline points="{}" fill="none" stroke="#ffffff" stroke-width="3"/>"##, points.join(" "));
        }
        let sign = if step.total { "" } else if step.value >= 0.0 { "+" } else { "−" };
        let _ = write!(s, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{INK}">{sign}{}</text>"#, top - 4.0, compact(step.value.abs()));
        let _ = write!(s, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{INK}">{}</text>"#, HEIGHT - BOTTOM + 16.0, escape(&step.label));
    }
}

/// Rasterises SVG text to PNG on white, with the embedded font.
pub fn png(svg: &str) -> Result<Vec<u8>> {
    png_at(svg, PNG_SCALE)
}

/// The chart as PNG at `scale` pixels per SVG unit (2: sharp on high-density
/// screens; the books of business use less, see `BOOK_PNG_SCALE`).
pub fn png_at(svg: &str, scale: f32) -> Result<Vec<u8>> {
    let failed = |what: String| Error::Render { template: "charts".into(), source: minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, what) };
    // The font is parsed once per process, not once per chart.
    static FONTS: std::sync::OnceLock<std::sync::Arc<usvg::fontdb::Database>> = std::sync::OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family(FAMILY);
        std::sync::Arc::new(db)
    });
    let options = usvg::Options { fontdb: fonts.clone(), ..usvg::Options::default() };
    let document = match svg.strip_prefix("<svg ") {
        Some(rest) if !svg.contains("xmlns=") => format!("<svg xmlns=\"http://www.w3.org/2000/svg\" {rest}"),
        _ => svg.to_string(),
    };
    let tree = usvg::Tree::from_str(&document, &options).map_err(|e| failed(format!("drawing a chart: {e}")))?;
    let size = tree.size();
    let (w, h) = ((size.width() * scale).ceil() as u32, (size.height() * scale).ceil() as u32);
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or_else(|| failed(format!("a chart of {w}×{h} pixels")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    // Opaque on white, so RGB without alpha, and the fast DEFLATE: tiny-skia's
    // own encoder (RGBA, balanced) took most of the 130 ms of eleven charts.
    let rgb: Vec<u8> = pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let encoded = encoder.write_header().and_then(|mut writer| writer.write_image_data(&rgb));
    encoded.map_err(|e| failed(format!("encoding a chart as PNG: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Chart {
        Chart {
            id: "test",
            title: "MRR <&> test".into(),
            alt: "A test chart".into(),
            y_label: "MRR (USD)".into(),
            x: vec!["Jan 24".into(), "Feb 24".into(), "Mar 24".into()],
            kind: Kind::Lines(vec![Series { name: "MRR".into(), color: BLUE, dashed: false, values: vec![Some(100.0), None, Some(140.0)] }]),
            marker: Some((2, "report month".into())),
            band: Some(Band { low: 0.0, high: 50.0, label: "band".into() }),
            note: Some("ARR 1.7k USD".into()),
        }
    }

    #[test]
    fn the_svg_is_accessible_and_escapes_its_text() {
        let svg = sample().svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"<title id="test-title">MRR &lt;&amp;&gt; test</title>"#), "{svg}");
        assert!(svg.contains(r#"role="img""#) && svg.contains("<desc"));
        assert!(svg.contains(">MRR (USD)<") && svg.contains(">Mar 24<") && svg.contains(">report month<"));
        // The null in February breaks the line: two pen-downs.
        let path = svg.split("<path d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert!(!svg.contains("http"), "inline SVG names no URL");
    }

    /// Text needs the embedded font: without it resvg drops every glyph.
    #[test]
    fn the_png_draws_its_text_with_the_embedded_font() {
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" font-family="{FAMILY}, sans-serif"><text x="10" y="30" font-size="24">Text 123</text></svg>"#
        );
        let bytes = png(&svg).unwrap();
        let pixmap = tiny_skia::Pixmap::decode_png(&bytes).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (400, 80));
        let dark = pixmap.pixels().iter().filter(|p| p.red() < 128).count();
        assert!(dark > 500, "only {dark} dark pixels: the text was not drawn");
    }

    #[test]
    fn a_chart_rasterises_on_white_at_twice_its_size() {
        let bytes = png(&sample().svg()).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let pixmap = tiny_skia::Pixmap::decode_png(&bytes).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (1280, 600));
        assert!(pixmap.pixels().iter().all(|p| p.alpha() == 255), "no transparent pixel");
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 100.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = ticks(72_300.0, 76_100.0);
        assert!(t[0] <= 72_300.0 && *t.last().unwrap() >= 76_100.0, "{t:?}");
        assert!(t.windows(2).all(|w| (w[1] - w[0] - 1000.0).abs() < 1e-6), "{t:?}");
        // A sum of shares that lands a hair above 100 does not add a tick.
        assert_eq!(ticks(0.0, 100.000000001).last(), Some(&100.0));
    }

    #[test]
    fn a_bridge_of_small_movements_cuts_its_axis_and_totals_stand_on_the_cut() {
        let step = |label: &str, value: f64, total: bool| Step { label: label.into(), value, total };
        let chart = Chart {
            id: "bridge",
            title: "bridge".into(),
            alt: "bridge".into(),
            y_label: "MRR".into(),
            x: Vec::new(),
            kind: Kind::Waterfall(vec![step("Start", 76_000.0, true), step("Churn", -1_800.0, false), step("End", 74_200.0, true)]),
            marker: None,
            band: None,
            note: None,
        };
        let (low, high) = chart.range();
        assert!(low > 70_000.0 && low < 74_200.0 && high == 76_000.0, "{low} {high}");
        let svg = chart.svg();
        assert!(svg.contains(">−1.8k<") && svg.contains(">74.2k<"), "{svg}");
        // The cut is drawn and said: bars that do not start at zero never
        // pass for bars that do.
        assert!(svg.contains(r#"class="axis-break""#) && svg.contains("axis cut: it starts at"), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 2, "a zigzag on both totals");
        // Movements as large as the MRR: the axis starts at zero, unbroken.
        let whole = Chart { kind: Kind::Waterfall(vec![step("Start", 500.0, true), step("New", 900.0, false), step("End", 1_400.0, true)]), ..chart };
        assert!(!whole.svg().contains("axis-break"));
        png(&whole.svg()).unwrap();
        png(&svg).unwrap();
    }
}
