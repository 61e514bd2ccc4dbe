//! The report: a serialisable context built from the computed series, and
//! the minijinja templates (compiled in, overridable from a folder) that
//! turn it into HTML and Markdown. Templates only loop and format.

pub mod book;
pub mod charts;
pub mod email;
pub mod format;
pub mod restated;

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::embedded::TEMPLATES as EMBEDDED_TEMPLATES;
use crate::metrics::catalog::Catalog;
use crate::model::rows::{Bridge, ChannelRow, CohortRow, CustomerRow, Finance, KindRow, MetricRun, Restatement, SeriesRow, Trend, Unavailable};
use restated::RestatementView;
use crate::model::unit::{Direction, Unit};
use crate::model::period::{Month, Period};

/// The files rendered from templates, in the output folder.
pub const RENDERED: [(&str, &str); 3] =
    [("report.html", "report.html.j2"), ("report.md", "report.md.j2"), ("summary.md", "summary.md.j2")];

/// The finance section: the ARR bridge, the period against the one before
/// and a year ago, acquisition by channel and revenue by invoice kind.
#[derive(Debug, Clone, Serialize)]
pub struct FinanceView {
    pub arr_bridge_month: Bridge,
    pub arr_bridge_window: Bridge,
    /// The ARR bridge of each month of a quarter or year (empty for a month).
    pub arr_bridge_months: Vec<Bridge>,
    pub table: Vec<MetricView>,
    pub channels: Vec<ChannelView>,
    pub kinds: Vec<KindRow>,
}

/// One acquisition channel of the period: what it cost and what it won.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    pub channel: String,
    /// None where no spend is recorded for the channel.
    pub spend: Option<f64>,
    pub new_customers: i64,
    pub new_mrr: f64,
    /// spend ÷ new customers (as the `cac` metric per channel).
    pub cac: Option<f64>,
    /// CAC ÷ (new MRR per new customer × gross margin).
    pub payback_months: Option<f64>,
    /// The company's CLV ÷ the channel's CAC.
    pub ltv_cac: Option<f64>,
}

/// Metrics of the finance table, in order.
const FINANCE: [&str; 16] = [
    "arr", "mrr", "revenue", "net_new_mrr", "mrr_new", "mrr_expansion", "mrr_contraction", "mrr_churn", "mrr_fx", "nrr", "grr",
    "nrr_12m", "cac", "cac_payback_months", "clv", "ltv_cac_ratio",
];

/// `cac`: the `cac` metric's value for the channel in the period (spend ÷
/// new customers, computed once, in its SQL); payback and LTV:CAC follow
/// from it.
fn channel_view(row: &ChannelRow, cac: Option<f64>, clv: Option<f64>, gross_margin: f64) -> ChannelView {
    let n = row.new_customers as f64;
    let per_customer = (row.new_customers > 0).then(|| row.new_mrr / n * gross_margin).filter(|v| *v > 0.0);
    ChannelView {
        channel: row.channel.clone(),
        spend: row.spend,
        new_customers: row.new_customers,
        new_mrr: row.new_mrr,
        cac,
        payback_months: cac.zip(per_customer).map(|(c, p)| c / p),
        ltv_cac: clv.zip(cac).filter(|(_, c)| *c > 0.0).map(|(l, c)| l / c),
    }
}

/// Whether the data starts after the period a year before `period` ends:
/// no year-ago comparison then.
fn year_before_missing(period: Period, data_start: Option<Month>) -> bool {
    data_start.is_some_and(|start| start > period.plus(-period.per_year()).last_month())
}

/// What the comparisons of `period` stand on where the data starts after
/// their other side does: the period before or a year before, not in the
/// data at all (its comparisons are left out) or only in part.
fn coverage_notes(period: Period, data_start: Option<Month>) -> Vec<String> {
    let Some(start) = data_start else { return Vec::new() };
    let mut out = Vec::new();
    let year_ago = period.plus(-period.per_year());
    if year_before_missing(period, data_start) {
        out.push(format!(
            "The data starts in {start}, after {}: comparisons with a year before are left out.",
            year_ago.label()
        ));
    } else if start > year_ago.first_month() {
        out.push(format!(
            "The data starts in {start}: {} is only partly in it, so comparisons with a year before compare with part of a {}.",
            year_ago.label(),
            period.kind().noun()
        ));
    }
    let before = period.plus(-1);
    // For a year the period before is the year before: said once.
    if before != year_ago && start > before.first_month() && start <= before.last_month() {
        out.push(format!(
            "The data starts in {start}: {} is only partly in it, so changes of sums over the {} (revenue, new customers...) compare with part of one.",
            before.label(),
            period.kind().noun()
        ));
    }
    out
}

/// How a metric's move on the period before reads, and its arrow. A move
/// that rounds to zero at the unit's precision is `flat`, with no arrow. A
/// move the right way is `good` only where the value meets its benchmark
/// (an NPS still below +50, negative most of all, rising is no "good"
/// NPS): otherwise `flat`. A move the wrong way is `bad`.
fn judge(trend: &Trend, direction: Direction, unit: Unit) -> (&'static str, &'static str) {
    let Some(change) = trend.change_abs else { return ("flat", "") };
    let shown = format::delta(Some(change), unit, "");
    if !shown.chars().any(|c| c.is_ascii_digit() && c != '0') {
        return ("flat", "");
    }
    let arrow = if change > 0.0 { "▲" } else { "▼" };
    if direction == Direction::None {
        return ("flat", arrow);
    }
    let better = (direction == Direction::Up) == (change > 0.0);
    let level_bad = matches!(trend.benchmark_status, Some("below" | "above"));
    let quality = match (better, level_bad) {
        (false, _) => "bad",
        (true, false) => "good",
        (true, true) => "flat",
    };
    (quality, arrow)
}

/// One metric as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MetricView {
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub version: String,
    pub value: Option<f64>,
    #[serde(flatten)]
    pub trend: Trend,
    pub direction: Direction,
    pub benchmark: Option<String>,
    pub advice: String,
    /// Whether the move on the period before is `good`, `bad` or `flat`.
    pub change_quality: &'static str,
    /// `▲` or `▼` for a move that shows at the unit's precision, else empty.
    pub arrow: &'static str,
    /// Too few survey answers behind the value to read much into it.
    pub low_sample: bool,
    /// The value of the period before, or a year before, differs from the
    /// one published for it: the published value.
    pub prev_restated: Option<restated::Mark>,
    pub year_ago_restated: Option<restated::Mark>,
}

/// An at-risk customer a CSM should call: who, how much MRR, the score and
/// its parts, and what moved since the end of the period before.
#[derive(Debug, Clone, Serialize)]
pub struct AtRiskView {
    pub customer_id: String,
    pub name: String,
    pub segment: String,
    /// The account's manager (`unassigned` when none).
    pub owner: String,
    pub mrr: f64,
    pub health: Option<f64>,
    pub usage: Option<f64>,
    pub sentiment: Option<f64>,
    pub support: Option<f64>,
    pub revenue: Option<f64>,
    /// The day service ends when the customer is scheduled to cancel.
    pub cancels_on: Option<String>,
    /// What changed since the end of the period before, in words (a
    /// scheduled cancellation first).
    pub changes: String,
}

/// Whether a customer belongs on the at-risk list: in the at-risk health
/// band, or scheduled to cancel whatever its health.
pub(crate) fn on_at_risk_list(c: &CustomerRow) -> bool {
    c.band.as_deref() == Some("at_risk") || c.cancels_on.is_some()
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub id: String,
    pub title: String,
    pub metrics: Vec<MetricView>,
    /// Metrics of this group that could not be computed, with why.
    pub unavailable: Vec<UnavailableView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnavailableView {
    pub id: String,
    pub title: String,
    pub reason: String,
}

/// A breakdown table: one row per segment (or region, channel), one column
/// per metric.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub dimension: String,
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<BreakdownRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub id: String,
    pub title: String,
    pub unit: Unit,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakdownRow {
    pub segment: String,
    pub values: Vec<Option<f64>>,
    pub flagged: Vec<bool>,
}

/// A flagged metric in a slice, with what to do about it.
#[derive(Debug, Clone, Serialize)]
pub struct Flag {
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub dimension: String,
    pub segment: String,
    pub value: Option<f64>,
    pub reasons: Vec<String>,
    pub advice: String,
    /// It rests on fewer answers or customers than the configured minimum.
    pub thin: bool,
}

/// One line of "what needs attention": a metric whose total or slices are
/// flagged, its slices grouped instead of a card each, its advice once.
#[derive(Debug, Clone, Serialize)]
pub struct Attention {
    pub id: String,
    pub title: String,
    pub unit: Unit,
    /// The total's value and why it is flagged (None when only slices are).
    pub value: Option<f64>,
    pub total_flagged: bool,
    /// The total rests on fewer answers or customers than the minimum.
    pub thin: bool,
    /// The total's change on the period before.
    pub change: Option<f64>,
    /// The slice that drives most of the total's change: its dimension
    /// (`segment`, `region`, `owner`) and value.
    pub driver: Option<(String, String)>,
    /// That slice's own change on the period before.
    pub driver_change: Option<f64>,
    pub reasons: Vec<String>,
    /// The flagged slices: (dimension, segment), `("segment", "smb")`...
    pub slices: Vec<(String, String)>,
    pub advice: String,
}

/// A cohort triangle as a heatmap table: cohorts as rows, age in months as
/// columns, each cell shaded by its value.
#[derive(Debug, Clone, Serialize)]
pub struct Heatmap {
    pub id: &'static str,
    pub title: &'static str,
    /// What a cell is, in words.
    pub caption: &'static str,
    pub ages: Vec<u32>,
    pub rows: Vec<HeatRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeatRow {
    /// `Oct 2025`.
    pub cohort: String,
    pub customers: i64,
    /// One per age; None past the period.
    pub cells: Vec<Option<HeatCell>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeatCell {
    pub text: String,
    /// Background and text colour, from a light-to-dark blue scale
    /// (readable with colour blindness and in grey print).
    pub bg: String,
    pub fg: &'static str,
}

/// A blue for 0–100 (% retained): white-ish at 0, dark at 100 and above.
fn shade(value: f64) -> (String, &'static str) {
    const STOPS: [(f64, [u8; 3]); 5] =
        [(0.0, [247, 251, 255]), (25.0, [198, 219, 239]), (50.0, [107, 174, 214]), (75.0, [33, 113, 181]), (100.0, [8, 48, 107])];
    let v = value.clamp(0.0, 100.0);
    let i = STOPS.iter().rposition(|(at, _)| *at <= v).unwrap_or(0).min(STOPS.len() - 2);
    let ((a, ca), (b, cb)) = (STOPS[i], STOPS[i + 1]);
    let t = (v - a) / (b - a);
    let mix = |k: usize| (ca[k] as f64 + (cb[k] as f64 - ca[k] as f64) * t).round() as u8;
    (format!("#{:02x}{:02x}{:02x}", mix(0), mix(1), mix(2)), if v >= 55.0 { "#ffffff" } else { "#1d2330" })
}

/// The logo and revenue retention triangles of the company as a whole.
pub fn cohort_heatmaps(cohorts: &[CohortRow]) -> Vec<Heatmap> {
    let totals: Vec<&CohortRow> = cohorts.iter().filter(|c| c.dimension == "all").collect();
    let max_age = totals.iter().map(|c| c.age).max().unwrap_or(0);
    let ages: Vec<u32> = (0..=max_age).collect();
    let mut months: Vec<Month> = totals.iter().map(|c| c.cohort).collect();
    months.dedup();
    let build = |id, title, caption, value: fn(&CohortRow) -> Option<f64>| Heatmap {
        id,
        title,
        caption,
        ages: ages.clone(),
        rows: months
            .iter()
            .map(|m| {
                let row: Vec<&&CohortRow> = totals.iter().filter(|c| c.cohort == *m).collect();
                HeatRow {
                    cohort: m.first_day().format("%b %Y").to_string(),
                    customers: row.first().map_or(0, |c| c.customers),
                    cells: ages
                        .iter()
                        .map(|a| {
                            row.iter().find(|c| c.age == *a).map(|c| match value(c) {
                                Some(v) => {
                                    let (bg, fg) = shade(v);
                                    HeatCell { text: format::grouped(v, 0), bg, fg }
                                }
                                None => HeatCell { text: format::NA.to_string(), bg: "#ffffff".into(), fg: "#8a93a3" },
                            })
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    if totals.is_empty() {
        return Vec::new();
    }
    vec![
        build("cohort_logo", "Logo retention by cohort", "% of each cohort's customers still active, by months since they started", |c| c.logo_retention),
        build(
            "cohort_revenue",
            "Revenue retention by cohort",
            "Each cohort's MRR as % of its first month's (net: expansion counts, so it can pass 100)",
            |c| c.revenue_retention,
        ),
    ]
}

/// A metric's definition, for the definitions every metric name links to.
#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    pub id: String,
    pub title: String,
    pub formula: String,
}

/// A big month-over-month move, for the executive summary.
#[derive(Debug, Clone, Serialize)]
pub struct Movement {
    pub title: String,
    pub unit: Unit,
    pub value: Option<f64>,
    pub change_abs: Option<f64>,
    pub change_pct: Option<f64>,
    pub good: Option<bool>,
    /// It rests on fewer answers or customers than the configured minimum.
    pub thin: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    pub metric: String,
    pub version: String,
    pub sha256: String,
}

/// Everything the templates see.
#[derive(Debug, Clone, Serialize)]
pub struct ReportContext {
    /// Comparisons whose other period the data covers only partly, or not
    /// at all, in words.
    pub coverage: Vec<String>,
    /// Where the full report can be read (`email.report_url`), if set.
    pub report_link: Option<String>,
    /// The full report is attached to the email (`email.attach_report`).
    pub report_attached: bool,
    pub period: Period,
    pub period_label: String,
    /// "month", "quarter" or "year": what the report covers.
    pub period_noun: &'static str,
    /// The period before, as the comparisons name it: "last month"...
    pub prev_label: &'static str,
    pub window_start: Period,
    pub currency: String,
    pub tool_version: &'static str,
    pub bridge_month: Bridge,
    pub bridge_window: Bridge,
    pub groups: Vec<GroupView>,
    pub breakdowns: Vec<Breakdown>,
    pub flags: Vec<Flag>,
    /// The flags grouped per metric, totals first.
    pub attention: Vec<Attention>,
    /// The months of the window with MRR, ARR, active customers, churn and NRR.
    pub history: Vec<HistoryRow>,
    pub top_movements: Vec<Movement>,
    /// The headline metrics, in order.
    pub headline: Vec<MetricView>,
    /// The same, by id, for templates that pick them by name.
    pub key: BTreeMap<String, MetricView>,
    pub unavailable: Vec<UnavailableView>,
    pub warnings: Vec<String>,
    /// Exports that do not reach the period's end: the report opens with them.
    pub stale: Vec<String>,
    pub versions: Vec<VersionView>,
    /// The at-risk customers with the most MRR, most first.
    pub at_risk: Vec<AtRiskView>,
    /// How many customers are at risk in all.
    pub at_risk_total: usize,
    /// Published figures (of the period on a rerun, of the periods before
    /// it) that this run changes.
    pub restatements: Vec<RestatementView>,
    /// The five largest of them, totals first (relative to the published value).
    pub restatements_top: Vec<RestatementView>,
    /// The same, by period and likely cause: the "Restated since last
    /// report" section.
    pub restated_groups: Vec<restated::RestatedGroup>,
    /// Every metric's formula in words, in catalog order.
    pub definitions: Vec<Definition>,
    /// The charts, drawn (see [`charts`]).
    pub charts: Vec<charts::ChartView>,
    /// The email's subject line.
    pub subject: String,
    /// The charts the email shows, by `cid:` (see [`email::charts`]).
    pub email_charts: Vec<email::EmailChart>,
    /// The name of the at-risk attachment of the email.
    pub at_risk_file: String,
    /// The cohort triangles (logo and revenue retention).
    pub cohorts: Vec<Heatmap>,
    pub finance: FinanceView,
    /// A manager's book of business: the report is about their accounts.
    pub book: Option<book::BookView>,
    /// The main report's table of managers (None without owners).
    pub team: Option<book::TeamView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    pub period: Period,
    pub mrr: Option<f64>,
    pub net_new_mrr: Option<f64>,
    pub active_customers: Option<f64>,
    pub churn_rate: Option<f64>,
    pub nrr: Option<f64>,
    /// The ids of the figures of this row that differ from what was
    /// published for the period.
    pub restated: Vec<&'static str>,
}

/// Metrics shown in the segment and region tables, when computed.
const BREAKDOWN_METRICS: [&str; 8] =
    ["mrr", "active_customers", "arpa", "churn_rate", "nrr", "revenue_churn_rate", "nps", "health_score"];
/// How many at-risk customers the report lists.
const AT_RISK_LISTED: usize = 10;
/// Metrics the executive summary leads with.
const HEADLINE: [&str; 12] = [
    "mrr", "arr", "net_new_mrr", "active_customers", "churn_rate", "nrr", "grr", "nrr_12m", "nps", "health_score",
    "at_risk_customers", "at_risk_mrr",
];

pub struct Inputs<'a> {
    pub catalog: &'a Catalog,
    pub series: &'a [SeriesRow],
    pub period: Period,
    pub window_start: Period,
    pub currency: &'a str,
    pub runs: &'a [MetricRun],
    pub unavailable: &'a [Unavailable],
    pub warnings: Vec<String>,
    /// Exports that do not reach the period's end (published with `--allow-stale`).
    pub stale: Vec<String>,
    pub customers: &'a [CustomerRow],
    pub restatements: &'a [Restatement],
    pub cohorts: &'a [CohortRow],
    pub finance: &'a Finance,
    pub gross_margin: f64,
    /// The fewest answers or customers a figure may rest on before the
    /// summary says so (`parameters.low_sample_responses`).
    pub min_sample: i64,
    /// The month the data starts (the first paid subscription).
    pub data_start: Option<Month>,
}

pub fn build_context(inp: Inputs<'_>) -> ReportContext {
    let Inputs { catalog, series, period, window_start, currency, runs, unavailable, warnings, stale, customers, restatements, cohorts, finance, gross_margin, min_sample, data_start } = inp;
    let coverage = coverage_notes(period, data_start);
    let look = Lookup::new(catalog, series, period, min_sample, data_start, restated::marks(restatements));
    let unavailable_views: Vec<UnavailableView> = unavailable
        .iter()
        .map(|u| UnavailableView { id: u.metric.clone(), title: look.title(&u.metric), reason: u.reason.clone() })
        .collect();
    let groups = catalog
        .groups
        .iter()
        .map(|g| GroupView {
            id: g.id.clone(),
            title: g.title.clone(),
            metrics: g.metrics.iter().filter_map(|id| look.view(id)).collect(),
            unavailable: unavailable_views.iter().filter(|u| g.metrics.contains(&u.id)).cloned().collect(),
        })
        .collect();
    let flags = flags(&look);
    let (at_risk, at_risk_total) = at_risk_list(customers, period);
    let headline: Vec<MetricView> = HEADLINE.iter().filter_map(|id| look.view(id)).collect();
    let restated::Restated { all: restatements, top: restatements_top, groups: restated_groups } = restated::views(catalog, restatements, period);
    let bridge_month = look.bridge(period, period);
    let bridge_window = look.bridge(window_start, period);
    let finance = finance_view(&look, finance, period, (&bridge_month, &bridge_window), gross_margin);
    let mut context = ReportContext {
        coverage,
        report_link: None,
        report_attached: false,
        book: None,
        team: None,
        finance,
        subject: String::new(),
        email_charts: Vec::new(),
        at_risk_file: String::new(),
        cohorts: cohort_heatmaps(cohorts),
        restatements,
        restatements_top,
        restated_groups,
        definitions: definitions(catalog),
        attention: ranked_attention(&look, group_flags(&flags)),
        charts: Vec::new(),
        at_risk,
        at_risk_total,
        period,
        period_label: period.label(),
        period_noun: period.kind().noun(),
        prev_label: period.kind().last(),
        window_start,
        currency: currency.to_string(),
        tool_version: env!("CARGO_PKG_VERSION"),
        bridge_month,
        bridge_window,
        groups,
        breakdowns: breakdowns(&look),
        flags,
        history: history(&look, window_start),
        top_movements: top_movements(&look),
        key: headline.iter().map(|v| (v.id.clone(), v.clone())).collect(),
        headline,
        unavailable: unavailable_views,
        warnings,
        stale,
        versions: runs
            .iter()
            .map(|r| VersionView { metric: r.metric.clone(), version: r.version.clone(), sha256: r.sql_sha256.clone() })
            .collect(),
    };
    // The subject waits for the book or team view (see pipeline::assemble).
    context.at_risk_file = email::at_risk_file(&context);
    context
}

/// The finance section: the ARR bridges (the MRR bridges of the month and
/// the window, × 12), the finance metrics, acquisition by channel and
/// revenue by invoice kind.
fn finance_view(look: &Lookup, finance: &Finance, period: Period, (month, window): (&Bridge, &Bridge), gross_margin: f64) -> FinanceView {
    FinanceView {
        arr_bridge_month: month.scaled(12.0),
        arr_bridge_window: window.scaled(12.0),
        arr_bridge_months: if period.is_month() {
            Vec::new()
        } else {
            finance.months.iter().map(|m| m.scaled(12.0)).collect()
        },
        table: FINANCE.iter().filter_map(|id| look.view(id)).collect(),
        channels: finance
            .channels
            .iter()
            .map(|c| channel_view(c, look.slice_value("cac", "channel", &c.channel), look.value("clv", period), gross_margin))
            .collect(),
        kinds: finance.kinds.clone(),
    }
}

/// The series of one report by metric, slice and period, and what the
/// sections read of them.
struct Lookup<'a> {
    catalog: &'a Catalog,
    series: &'a [SeriesRow],
    period: Period,
    rows: BTreeMap<(&'a str, &'a str, &'a str, Period), &'a SeriesRow>,
    min_sample: i64,
    /// The data starts after the period a year before: no year-ago values.
    year_ago_missing: bool,
    /// The company's restated figures by metric and period id.
    marks: BTreeMap<(String, String), restated::Mark>,
}

impl<'a> Lookup<'a> {
    fn new(
        catalog: &'a Catalog,
        series: &'a [SeriesRow],
        period: Period,
        min_sample: i64,
        data_start: Option<Month>,
        marks: BTreeMap<(String, String), restated::Mark>,
    ) -> Lookup<'a> {
        let rows = series
            .iter()
            .map(|s| ((s.row.metric.as_str(), s.row.dimension.as_str(), s.row.segment.as_str(), s.row.period), s))
            .collect();
        Lookup { catalog, series, period, rows, min_sample, year_ago_missing: year_before_missing(period, data_start), marks }
    }

    /// The published value of a company figure this run restates.
    fn mark(&self, metric: &str, period: Period) -> Option<restated::Mark> {
        self.marks.get(&(metric.to_string(), period.to_string())).copied()
    }

    /// Whether a metric's value of the period, for one slice, rests on
    /// fewer answers or customers than the minimum: a survey metric on its
    /// answers (its low-sample flag), a rate or ratio on the slice's active
    /// customers.
    fn thin(&self, metric: &str, dimension: &str, segment: &str) -> bool {
        let Some(m) = self.catalog.metric(metric) else { return false };
        let row = self.rows.get(&(metric, dimension, segment, self.period));
        if m.sample.is_some() {
            return row.is_some_and(|s| s.row.low_sample);
        }
        let customers = self.slice_value("active_customers", dimension, segment);
        matches!(m.unit, Unit::Percent | Unit::Ratio) && customers.is_some_and(|n| n < self.min_sample as f64)
    }

    fn total(&self, metric: &str, period: Period) -> Option<&'a SeriesRow> {
        self.rows.get(&(metric, "all", "all", period)).copied()
    }

    fn value(&self, metric: &str, period: Period) -> Option<f64> {
        self.total(metric, period).and_then(|s| s.row.value)
    }

    /// A metric's value of the report period for one slice.
    fn slice_value(&self, metric: &str, dimension: &str, segment: &str) -> Option<f64> {
        self.rows.get(&(metric, dimension, segment, self.period)).and_then(|s| s.row.value)
    }

    /// The slice (of segments, regions and owners) whose change goes the
    /// way of the total's `change` and weighs most: for a rate, its change
    /// times its active customers.
    fn driver(&self, metric: &str, change: Option<f64>) -> Option<((String, String), f64)> {
        let total = change.filter(|c| *c != 0.0)?;
        let money = self.catalog.metric(metric).is_some_and(|m| m.unit == Unit::Money);
        self.rows
            .iter()
            .filter(|((m, d, _, p), _)| *m == metric && *p == self.period && matches!(*d, "segment" | "region" | "owner"))
            .filter_map(|((_, d, seg, _), s)| {
                let c = s.trend.change_abs.filter(|c| c.signum() == total.signum())?;
                let weight = if money { 1.0 } else { self.slice_value("active_customers", d, seg).unwrap_or(0.0) };
                Some(((d.to_string(), seg.to_string()), c, c.abs() * weight))
            })
            .max_by(|(a, _, x), (b, _, y)| x.total_cmp(y).then_with(|| b.cmp(a)))
            .map(|(slice, c, _)| (slice, c))
    }

    fn title(&self, id: &str) -> String {
        self.catalog.metric(id).map_or_else(|| id.to_string(), |m| m.title.clone())
    }

    /// A metric of the report period, for all customers, with its judgement.
    fn view(&self, id: &str) -> Option<MetricView> {
        let (catalog, period) = (self.catalog, self.period);
        let total = |metric: &str, p: Period| self.total(metric, p);
        let metric = catalog.metric(id)?;
        let s = total(id, period)?;
        let (change_quality, arrow) = judge(&s.trend, metric.direction, metric.unit);
        Some(MetricView {
            id: id.to_string(),
            title: metric.title.clone(),
            unit: metric.unit,
            version: s.row.version.clone(),
            value: s.row.value,
            trend: if self.year_ago_missing {
                // Before the data: no comparison rather than one with zero.
                Trend { year_ago_value: None, change_yoy_abs: None, change_yoy_pct: None, ..s.trend.clone() }
            } else {
                s.trend.clone()
            },
            direction: metric.direction,
            benchmark: metric.benchmark.as_ref().map(|b| b.label.clone()),
            advice: metric.advice.clone(),
            change_quality,
            arrow,
            low_sample: s.row.low_sample,
            prev_restated: self.mark(id, period.plus(-1)),
            year_ago_restated: if self.year_ago_missing { None } else { self.mark(id, period.plus(-period.per_year())) },
        })
    }

    /// The MRR bridge from the start of `from` to the end of `to`.
    fn bridge(&self, from: Period, to: Period) -> Bridge {
        let value = |metric: &str, p: Period| self.value(metric, p);
        let sum = |metric: &str| {
            let mut total = 0.0;
            let mut m = from;
            while m <= to {
                total += value(metric, m).unwrap_or(0.0);
                m = m.plus(1);
            }
            total
        };
        Bridge {
            from: from.to_string(),
            to: to.to_string(),
            start: value("mrr", from).zip(value("net_new_mrr", from)).map(|(mrr, net)| mrr - net),
            new: sum("mrr_new"),
            reactivation: sum("mrr_reactivation"),
            expansion: sum("mrr_expansion"),
            contraction: sum("mrr_contraction"),
            churn: sum("mrr_churn"),
            fx: sum("mrr_fx"),
            end: value("mrr", to),
        }
    }
}

/// The segment and region tables, and CAC by channel.
fn breakdowns(look: &Lookup) -> Vec<Breakdown> {
    let (catalog, series, period, lookup) = (look.catalog, look.series, look.period, &look.rows);
    let mut breakdowns = Vec::new();
    for (dimension, heading) in [("segment", "By segment"), ("region", "By region")] {
        let columns: Vec<Column> = BREAKDOWN_METRICS
            .iter()
            .filter_map(|id| catalog.metric(id))
            .filter(|m| series.iter().any(|s| s.row.metric == m.id))
            .map(|m| Column { id: m.id.clone(), title: m.title.clone(), unit: m.unit })
            .collect();
        let mut segments: Vec<&str> = series
            .iter()
            .filter(|s| s.row.dimension == dimension && s.row.period == period)
            .map(|s| s.row.segment.as_str())
            .collect();
        segments.sort_unstable();
        segments.dedup();
        let rows = segments
            .into_iter()
            .map(|seg| {
                let cells: Vec<Option<&&SeriesRow>> =
                    columns.iter().map(|c| lookup.get(&(c.id.as_str(), dimension, seg, period))).collect();
                BreakdownRow {
                    segment: seg.to_string(),
                    values: cells.iter().map(|s| s.and_then(|s| s.row.value)).collect(),
                    flagged: cells.iter().map(|s| s.is_some_and(|s| s.trend.flagged)).collect(),
                }
            })
            .collect();
        let rows: Vec<BreakdownRow> = rows;
        if !rows.is_empty() {
            breakdowns.push(Breakdown { dimension: dimension.into(), title: heading.into(), columns, rows });
        }
    }
    if let Some(cac) = catalog.metric("cac") {
        let rows: Vec<BreakdownRow> = series
            .iter()
            .filter(|s| s.row.metric == "cac" && s.row.dimension == "channel" && s.row.period == period)
            .map(|s| BreakdownRow { segment: s.row.segment.clone(), values: vec![s.row.value], flagged: vec![s.trend.flagged] })
            .collect();
        if !rows.is_empty() {
            breakdowns.push(Breakdown {
                dimension: "channel".into(),
                title: "CAC by acquisition channel".into(),
                columns: vec![Column { id: cac.id.clone(), title: cac.title.clone(), unit: cac.unit }],
                rows,
            });
        }
    }
    breakdowns
}

/// Every series of the period that the trends flagged.
fn flags(look: &Lookup) -> Vec<Flag> {
    let (catalog, series, period) = (look.catalog, look.series, look.period);
    series
        .iter()
        .filter(|s| s.row.period == period && s.trend.flagged)
        .filter_map(|s| {
            let metric = catalog.metric(&s.row.metric)?;
            Some(Flag {
                id: metric.id.clone(),
                title: metric.title.clone(),
                unit: metric.unit,
                dimension: s.row.dimension.clone(),
                segment: s.row.segment.clone(),
                value: s.row.value,
                reasons: s.trend.flag_reasons.clone(),
                advice: metric.advice.clone(),
                thin: look.thin(&s.row.metric, &s.row.dimension, &s.row.segment),
            })
        })
        .collect()
}

/// The window's key numbers, period by period.
fn history(look: &Lookup, window_start: Period) -> Vec<HistoryRow> {
    let value = |metric: &str, p: Period| look.value(metric, p);
    let mut history = Vec::new();
    let mut m = window_start;
    while m <= look.period {
        history.push(HistoryRow {
            period: m,
            mrr: value("mrr", m),
            net_new_mrr: value("net_new_mrr", m),
            active_customers: value("active_customers", m),
            churn_rate: value("churn_rate", m),
            nrr: value("nrr", m),
            restated: ["mrr", "net_new_mrr", "active_customers", "churn_rate", "nrr"]
                .into_iter()
                .filter(|id| look.mark(id, m).is_some())
                .collect(),
        });
        m = m.plus(1);
    }
    history
}

/// The biggest movements among the totals: the most unusual against the
/// metric's own last 12 months (z-score), so a big percent on a tiny base
/// does not crowd out a real shift; percent change where there is no year
/// of history. Bridge components are parts of MRR, so they are left out.
fn top_movements(look: &Lookup) -> Vec<Movement> {
    let catalog = look.catalog;
    let view = |id: &str| look.view(id);
    let mut moves: Vec<(f64, Movement)> = catalog
        .metrics
        .iter()
        .filter(|m| !m.supporting && !m.id.starts_with("mrr_") && m.id != "net_new_mrr")
        .filter_map(|m| view(&m.id))
        .filter(|v| v.trend.change_abs.is_some_and(|c| c != 0.0))
        .map(|v| {
            let size = v.trend.zscore_12m.map(f64::abs).unwrap_or_else(|| v.trend.change_pct.map_or(0.0, |p| p.abs() / 100.0));
            let movement = Movement {
                good: match v.change_quality {
                    "good" => Some(true),
                    "bad" => Some(false),
                    _ => None,
                },
                title: v.title,
                unit: v.unit,
                value: v.value,
                change_abs: v.trend.change_abs,
                change_pct: v.trend.change_pct,
                thin: look.thin(&v.id, "all", "all"),
            };
            (size, movement)
        })
        .collect();
    moves.sort_by(|(a, ma), (b, mb)| b.total_cmp(a).then_with(|| ma.title.cmp(&mb.title)));
    let mut moves: Vec<Movement> = moves.into_iter().map(|(_, m)| m).collect();
    moves.truncate(3);
    moves
}

/// The at-risk list's first rows, most MRR first, and how many it has.
fn at_risk_list(customers: &[CustomerRow], period: Period) -> (Vec<AtRiskView>, usize) {
    let mut at_risk: Vec<&CustomerRow> = customers.iter().filter(|c| on_at_risk_list(c)).collect();
    let at_risk_total = at_risk.len();
    at_risk.sort_by(|a, b| b.mrr.total_cmp(&a.mrr).then_with(|| a.customer_id.cmp(&b.customer_id)));
    let at_risk = at_risk.into_iter().take(AT_RISK_LISTED).map(|c| at_risk_view(c, period.kind().last())).collect();
    (at_risk, at_risk_total)
}

/// Each metric's formula in words, in catalog order.
fn definitions(catalog: &Catalog) -> Vec<Definition> {
    catalog
        .groups
        .iter()
        .flat_map(|g| g.metrics.iter())
        .filter_map(|id| catalog.metric(id))
        .map(|m| Definition { id: m.id.clone(), title: m.title.clone(), formula: m.formula.clone() })
        .collect()
}

/// Places the drawn charts in the context: inline in the report, by `cid:`
/// in the email.
pub fn set_charts(context: &mut ReportContext, charts: &[charts::Chart]) {
    context.charts = charts.iter().map(charts::Chart::view).collect();
    context.email_charts = email::charts(context);
}

/// The attention items by money at stake: money metrics first (the
/// amount churned, contracted or at risk, else the change), then rates by
/// the customers their change stands for, then scores and counts by their
/// relative change; items flagged only in slices last. Each total gets its change and the slice that drives most
/// of it.
fn ranked_attention(look: &Lookup, mut items: Vec<Attention>) -> Vec<Attention> {
    let customers = look.value("active_customers", look.period).unwrap_or(0.0);
    let stake = |a: &Attention| -> (u8, f64) {
        if !a.total_flagged {
            return (3, 0.0);
        }
        let change = a.change.unwrap_or(0.0).abs();
        match a.unit {
            Unit::Money if ["churn", "contraction", "at_risk"].iter().any(|w| a.id.contains(w)) => (0, a.value.unwrap_or(0.0).abs()),
            Unit::Money => (0, change),
            // A rate's change in customers: 0.7 pp of 138 is about one.
            Unit::Percent => (1, change / 100.0 * customers),
            // Scores, counts, days: by how much they moved, relatively.
            _ => (2, look.total(&a.id, look.period).and_then(|s| s.trend.change_pct).unwrap_or(0.0).abs()),
        }
    };
    for a in items.iter_mut().filter(|a| a.total_flagged) {
        a.change = look.total(&a.id, look.period).and_then(|s| s.trend.change_abs);
        (a.driver, a.driver_change) = look.driver(&a.id, a.change).map_or((None, None), |(slice, c)| (Some(slice), Some(c)));
    }
    items.sort_by(|a, b| {
        let ((ta, sa), (tb, sb)) = (stake(a), stake(b));
        ta.cmp(&tb).then(sb.total_cmp(&sa))
    });
    items
}

/// The flags, one entry per metric in the order they come (catalog order),
/// the total's reasons first and the flagged slices listed.
fn group_flags(flags: &[Flag]) -> Vec<Attention> {
    let mut out: Vec<Attention> = Vec::new();
    for f in flags {
        let entry = match out.iter_mut().position(|a| a.id == f.id) {
            Some(i) => &mut out[i],
            None => {
                out.push(Attention {
                    id: f.id.clone(),
                    title: f.title.clone(),
                    unit: f.unit,
                    value: None,
                    total_flagged: false,
                    thin: false,
                    change: None,
                    driver: None,
                    driver_change: None,
                    reasons: Vec::new(),
                    slices: Vec::new(),
                    advice: f.advice.clone(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        if f.dimension == "all" {
            entry.value = f.value;
            entry.total_flagged = true;
            entry.thin = f.thin;
            entry.reasons = f.reasons.clone();
        } else {
            entry.slices.push((f.dimension.clone(), f.segment.clone()));
            if !entry.total_flagged {
                for r in &f.reasons {
                    if !entry.reasons.contains(r) {
                        entry.reasons.push(r.clone());
                    }
                }
            }
        }
    }
    out
}


/// `before`: when the previous values are from, "last month"...
pub(crate) fn at_risk_view(c: &CustomerRow, before: &str) -> AtRiskView {
    let mut changes = Vec::new();
    if let Some(day) = c.cancels_on {
        changes.push(format!("scheduled to cancel ({day})"));
    }
    // No health score before is not the same as not a customer before:
    // an account without usage or answers has no score in any month.
    match (c.prev_health, c.health) {
        (Some(before), Some(now)) => changes.push(format!("health {before:.0} → {now:.0}")),
        _ if c.prev_mrr == 0.0 => changes.push(format!("not active {before}")),
        _ => {}
    }
    for (name, before, now) in [
        ("usage", c.prev_usage, c.usage),
        ("sentiment", c.prev_sentiment, c.sentiment),
        ("support", c.prev_support, c.support),
        ("revenue", c.prev_revenue, c.revenue),
    ] {
        match (before, now) {
            (Some(b), Some(n)) if (n - b).abs() >= 10.0 => changes.push(format!("{name} {b:.0} → {n:.0}")),
            (None, Some(n)) if c.prev_health.is_some() => changes.push(format!("{name} now {n:.0}")),
            _ => {}
        }
    }
    AtRiskView {
        customer_id: c.customer_id.clone(),
        name: c.name.clone().unwrap_or_else(|| c.customer_id.clone()),
        segment: c.segment.clone(),
        owner: c.owner.clone(),
        mrr: c.mrr,
        health: c.health,
        usage: c.usage,
        sentiment: c.sentiment,
        support: c.support,
        revenue: c.revenue,
        cancels_on: c.cancels_on.map(|d| d.to_string()),
        changes: changes.join("; "),
    }
}

/// The template environment: built-in templates, each replaceable by a file
/// of the same name in `override_dir`, and the formatting filters.
pub fn environment(override_dir: Option<&Path>, currency: &str, labels: &BTreeMap<String, String>) -> Result<Environment<'static>> {
    let mut env = Environment::new();
    // Every value printed is escaped for its document unless a filter made
    // it safe: HTML, Markdown, or one line of plain text. The templates
    // cannot forget it.
    env.set_auto_escape_callback(|name| {
        if name.contains(".html") {
            AutoEscape::Html
        } else if name.contains(".md") {
            AutoEscape::Custom("markdown".into())
        } else {
            AutoEscape::Custom("text".into())
        }
    });
    env.set_formatter(escape_value);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|source| Error::Render { template: "(syntax)".into(), source })?;
    env.set_syntax(syntax);
    // A template (the built-in ones or a custom folder's) runs while the run
    // holds the output lock: bound its work and its output.
    env.set_fuel(Some(TEMPLATE_FUEL));
    for (name, source) in EMBEDDED_TEMPLATES {
        let source = match override_dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
            Some(path) => std::fs::read_to_string(&path).map_err(Error::io("reading template", &path))?,
            None => source.to_string(),
        };
        env.add_template_owned(name.to_string(), source)
            .map_err(|source| Error::Render { template: name.to_string(), source })?;
    }
    let cur = currency.to_string();
    // Numbers as formatted here are safe in every document.
    let safe = Value::from_safe_string;
    env.add_filter("fmt", move |v: Value, unit: String| safe(format::human(as_f64(&v), parse_unit(&unit), &cur)));
    let cur = currency.to_string();
    env.add_filter("delta", move |v: Value, unit: String| safe(format::delta(as_f64(&v), parse_unit(&unit), &cur)));
    let cur = currency.to_string();
    env.add_filter("money", move |v: Value| safe(format::human(as_f64(&v), Unit::Money, &cur)));
    env.add_filter("pct", move |v: Value| match as_f64(&v) {
        Some(p) => safe(format!("{}{} %", if p > 0.0 { "+" } else { "" }, format::grouped(p, 1))),
        None => safe(format::NA.to_string()),
    });
    let cur = currency.to_string();
    env.add_filter("glance", move |v: Value, unit: String| safe(format::glance(as_f64(&v), parse_unit(&unit), &cur)));
    let cur = currency.to_string();
    env.add_filter("glance_delta", move |v: Value, unit: String| safe(format::glance_delta(as_f64(&v), parse_unit(&unit), &cur)));
    // Kept for custom templates written before escaping was automatic: the
    // same escape, once.
    env.add_filter("md", |v: Value| if v.is_safe() { v } else { Value::from_safe_string(format::markdown(&v.to_string())) });
    let labels = labels.clone();
    env.add_filter("label", move |v: Value| format::label(&v.to_string(), &labels));
    Ok(env)
}

/// The formatter of every printed value: Markdown and plain-text documents
/// get their escape (see [`environment`]); HTML the default one.
fn escape_value(out: &mut minijinja::Output, state: &mut minijinja::State, value: &Value) -> std::result::Result<(), minijinja::Error> {
    let AutoEscape::Custom(kind) = state.auto_escape() else { return minijinja::escape_formatter(out, state, value) };
    if value.is_undefined() {
        return Ok(());
    }
    let text = value.to_string();
    // Numbers, booleans and none print as they are; any other value (a
    // string, or a list or map whose text holds strings) is escaped.
    let plain = matches!(value.kind(), minijinja::value::ValueKind::Number | minijinja::value::ValueKind::Bool | minijinja::value::ValueKind::None);
    let shown = match (value.is_safe() || plain, kind.as_ref()) {
        (true, _) => text,
        (false, "markdown") => format::markdown(&text),
        (false, _) => format::one_line(&text),
    };
    out.write_str(&shown).map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "writing a template's output"))
}

fn as_f64(v: &Value) -> Option<f64> {
    if v.is_none() || v.is_undefined() {
        return None;
    }
    f64::try_from(v.clone()).ok()
}

fn parse_unit(unit: &str) -> Unit {
    Unit::from_name(unit).unwrap_or(Unit::Score)
}

/// Renders every report file: (file name, contents).
/// The most one template may write: a custom template that loops without
/// end stops here (or on its fuel) instead of filling the disk.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

/// The work one template may do, in minijinja's fuel (about one unit an
/// instruction, 64 bytes of allocation a unit). The built-in templates use
/// well under a tenth of it on 50,000 customers.
pub const TEMPLATE_FUEL: u64 = 50_000_000;

/// A writer that refuses to grow past a limit.
struct Limited {
    out: Vec<u8>,
    limit: usize,
    exceeded: bool,
}

impl std::io::Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > self.limit {
            self.exceeded = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn render(env: &Environment<'_>, context: &ReportContext) -> Result<Vec<(&'static str, String)>> {
    RENDERED.iter().map(|(file, template)| Ok((*file, render_template(env, template, context)?))).collect()
}

/// Renders one template with the report's context, within the output limit.
pub fn render_template(env: &Environment<'_>, template: &str, context: &ReportContext) -> Result<String> {
    let failed = |source| Error::Render { template: template.to_string(), source };
    let tmpl = env.get_template(template).map_err(failed)?;
    let mut out = Limited { out: Vec::new(), limit: MAX_OUTPUT_BYTES, exceeded: false };
    let rendered = tmpl.render_captured_to(Value::from(minijinja::value::Serde(context)), &mut out).map(|_| ());
    if out.exceeded {
        let why = format!("the output passed {} MiB, the most a report may be", MAX_OUTPUT_BYTES / (1024 * 1024));
        return Err(failed(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, why)));
    }
    rendered.map_err(failed)?;
    String::from_utf8(out.out)
        .map_err(|_| failed(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, "the output is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trend(change: f64, benchmark_status: Option<&'static str>) -> Trend {
        Trend { change_abs: Some(change), benchmark_status, ..Trend::default() }
    }

    #[test]
    fn comparisons_the_data_covers_only_in_part_say_so() {
        let month = |s: &str| s.parse::<Month>().unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let period = |s: &str| Period::parse(s, None, today).unwrap();
        // Data from 2024-02: March 2024 has no year before.
        let notes = coverage_notes(period("2024-03"), Some(month("2024-02")));
        assert_eq!(notes, vec!["The data starts in 2024-02, after March 2023: comparisons with a year before are left out."]);
        // Q2 2024: no year before, and Q1 2024 only from February.
        let notes = coverage_notes(period("2024-Q2"), Some(month("2024-02")));
        assert_eq!(notes.len(), 2);
        assert!(notes[1].starts_with("The data starts in 2024-02: Q1 2024 is only partly in it"), "{notes:?}");
        // 2025 against 2024, which starts in February: partly.
        let notes = coverage_notes(period("2025"), Some(month("2024-02")));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("2024 is only partly in it"), "{notes:?}");
        // Data long before: nothing to say.
        assert!(coverage_notes(period("2025-06"), Some(month("2020-01"))).is_empty());
    }

    #[test]
    fn good_and_bad_follow_the_direction_the_level_and_what_shows() {
        // MRR up: good; churn up: bad.
        assert_eq!(judge(&trend(120.0, None), Direction::Up, Unit::Money), ("good", "▲"));
        assert_eq!(judge(&trend(0.4, None), Direction::Down, Unit::Percent), ("bad", "▲"));
        // NPS −22 rising by 5 is still below the +50 benchmark: no "good".
        assert_eq!(judge(&trend(5.0, Some("below")), Direction::Up, Unit::Score), ("flat", "▲"));
        // ... and falling further is bad.
        assert_eq!(judge(&trend(-5.0, Some("below")), Direction::Up, Unit::Score), ("bad", "▼"));
        // A move that rounds to zero (0.01 pp shows as 0.0 pp): no arrow, no colour.
        assert_eq!(judge(&trend(-0.01, None), Direction::Down, Unit::Percent), ("flat", ""));
        // No judgement for a metric with no good direction.
        assert_eq!(judge(&trend(3.0, None), Direction::None, Unit::Count), ("flat", "▲"));
        assert_eq!(judge(&Trend::default(), Direction::Up, Unit::Money), ("flat", ""));
    }
}
