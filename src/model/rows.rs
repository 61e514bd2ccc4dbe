//! The rows that pass between the stages: what the engine computes (metric
//! values, the runs, customers, cohorts, the bridge, finance), what the
//! trends add (series), and what the history store records (restatements,
//! sends). Plain data: serialisable, no behaviour beyond reading itself.

use serde::{Deserialize, Serialize};

use crate::model::period::{Month, Period};
use crate::model::text::{csv_field, plain};

/// One computed value: a metric for one period and one slice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    pub metric: String,
    pub version: String,
    pub period: Period,
    pub dimension: String,
    pub segment: String,
    pub value: Option<f64>,
    /// Fewer answers behind the value than `low_sample_responses`.
    pub low_sample: bool,
}

/// Why a metric has no rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unavailable {
    pub metric: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricRun {
    pub metric: String,
    pub version: String,
    pub sql_sha256: String,
    /// The SQL file (built-in `queries/...`, or one of the config's `queries:`).
    pub origin: String,
    pub millis: u128,
}

/// A customer-success manager of the `owners` table.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerRow {
    pub owner: String,
    pub name: Option<String>,
    pub email: String,
}

/// What the finance section of the report reads besides the metrics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Finance {
    /// Per acquisition channel in the period: spend (None where none is
    /// recorded), new customers and their MRR.
    pub channels: Vec<ChannelRow>,
    /// Paid revenue per invoice kind: the period, the one before and a
    /// year before.
    pub kinds: Vec<KindRow>,
    /// The MRR bridge of each month of the period (all customers).
    pub months: Vec<Bridge>,
}

/// The MRR bridge from a start to an end: start + movements = end.
#[derive(Debug, Clone, Serialize)]
pub struct Bridge {
    pub from: String,
    pub to: String,
    pub start: Option<f64>,
    pub new: f64,
    pub reactivation: f64,
    pub expansion: f64,
    pub contraction: f64,
    pub churn: f64,
    /// The exchange-rate impact (`mrr_fx`): 0 with one currency.
    pub fx: f64,
    pub end: Option<f64>,
}

impl Bridge {
    /// The same bridge times `k` (12: the ARR bridge).
    pub fn scaled(&self, k: f64) -> Bridge {
        Bridge {
            from: self.from.clone(),
            to: self.to.clone(),
            start: self.start.map(|v| v * k),
            new: self.new * k,
            reactivation: self.reactivation * k,
            expansion: self.expansion * k,
            contraction: self.contraction * k,
            churn: self.churn * k,
            fx: self.fx * k,
            end: self.end.map(|v| v * k),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelRow {
    pub channel: String,
    pub spend: Option<f64>,
    pub new_customers: i64,
    pub new_mrr: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindRow {
    pub kind: String,
    pub revenue: Option<f64>,
    pub prev: Option<f64>,
    pub year_ago: Option<f64>,
}

/// One cell of a cohort triangle (METRICS.md, "Cohorts"): the customers
/// first active in `cohort`, `age` months later, in one slice.
#[derive(Debug, Clone, Serialize)]
pub struct CohortRow {
    pub dimension: String,
    pub segment: String,
    pub cohort: Month,
    pub age: u32,
    pub customers: i64,
    pub active: i64,
    pub logo_retention: Option<f64>,
    pub mrr: f64,
    pub revenue_retention: Option<f64>,
}

/// One customer active at the end of the period: MRR, health and its
/// components, and the same at the end of the period before (None when it
/// was not active then).
#[derive(Debug, Clone, Serialize)]
pub struct CustomerRow {
    pub customer_id: String,
    pub name: Option<String>,
    pub segment: String,
    pub region: String,
    /// The account's manager (`unassigned` when none).
    pub owner: String,
    pub mrr: f64,
    /// MRR at the end of the period before (0 when not active then).
    pub prev_mrr: f64,
    /// The last day with any usage event, up to the period's end.
    pub last_usage: Option<chrono::NaiveDate>,
    /// Tickets created by the period's end and not resolved by then.
    pub open_tickets: i64,
    /// NPS answers of 0-6 in the period.
    pub detractor_answers: i64,
    /// The day the current subscription term ends (renews or stops).
    pub term_end: Option<chrono::NaiveDate>,
    /// Scheduled to cancel: the day its last priced subscription ends, when
    /// every one that runs past the period has an end date.
    pub cancels_on: Option<chrono::NaiveDate>,
    pub health: Option<f64>,
    pub band: Option<String>,
    pub usage: Option<f64>,
    pub sentiment: Option<f64>,
    pub support: Option<f64>,
    pub revenue: Option<f64>,
    pub prev_health: Option<f64>,
    pub prev_band: Option<String>,
    pub prev_usage: Option<f64>,
    pub prev_sentiment: Option<f64>,
    pub prev_support: Option<f64>,
    pub prev_revenue: Option<f64>,
}

impl CustomerRow {
    /// The first six cells of every CSV that lists customers: id, name,
    /// segment, region, MRR and health.
    pub fn lead_cells(&self) -> [String; 6] {
        [
            csv_field(&self.customer_id),
            csv_field(self.name.as_deref().unwrap_or("")),
            csv_field(&self.segment),
            csv_field(&self.region),
            plain(Some(self.mrr)),
            plain(self.health),
        ]
    }
}

/// One month of one series, with its trend columns.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesRow {
    #[serde(flatten)]
    pub row: MetricRow,
    #[serde(flatten)]
    pub trend: Trend,
}

/// The trend columns of one month of one series: what `series.csv` adds to
/// a metric row, and what the report shows beside each value.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trend {
    pub prev_value: Option<f64>,
    pub change_abs: Option<f64>,
    pub change_pct: Option<f64>,
    pub year_ago_value: Option<f64>,
    pub change_yoy_abs: Option<f64>,
    pub change_yoy_pct: Option<f64>,
    pub rolling_mean_3m: Option<f64>,
    pub slope_6m: Option<f64>,
    /// (value − mean of the 12 months before) ÷ their standard deviation.
    pub zscore_12m: Option<f64>,
    /// More than 2 standard deviations from the mean of the 12 months before.
    pub anomaly: bool,
    /// `meets`, `below` or `above` the benchmark; `None` without one.
    pub benchmark_status: Option<&'static str>,
    /// Three month-over-month moves in a row in the bad direction.
    pub worse_3m: bool,
    pub flagged: bool,
    /// Why it is flagged, in words.
    pub flag_reasons: Vec<String>,
}

/// A published number that the new run changes: a figure of the period
/// itself (a rerun) or of an earlier period the report shows again (last
/// month, a year ago, the trend).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Restatement {
    pub metric: String,
    /// The period the figure is for (older manifests: the report's period).
    #[serde(default)]
    pub period: String,
    pub dimension: String,
    pub segment: String,
    pub published_version: String,
    pub version: String,
    pub published: Option<f64>,
    pub value: Option<f64>,
    pub change: Option<f64>,
    /// The run that published the old number.
    pub published_run: String,
    /// The likely cause, from the inputs the two runs read (see
    /// `publish::restate`).
    #[serde(default)]
    pub cause: String,
}

/// What one input table held for one month: the rows dated in it (by any
/// of its dates), the sum of their amounts and a checksum of their
/// contents (see `load::profile`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputMonth {
    pub table: String,
    /// `YYYY-MM`.
    pub month: String,
    pub rows: i64,
    pub amount: Option<f64>,
    pub checksum: String,
}

/// One email sent of a published report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendRecord {
    pub run_id: String,
    pub period: String,
    /// Which message of the period: `summary` (the leadership email) or
    /// `owner:<folder>` (a book of business).
    pub message: String,
    pub message_id: String,
    /// RFC 3339, UTC.
    pub sent_at: String,
    pub recipients: Vec<String>,
    /// What the message said (see `deliver::message::fingerprint`).
    pub fingerprint: String,
}
