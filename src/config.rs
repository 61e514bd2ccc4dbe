//! The YAML config: parsed strictly into raw structs, then checked and turned
//! into a resolved [`Config`] with absolute paths, before any data is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::contract::{is_plain_name, TABLES};

/// DuckDB's memory limit unless the config sets one: it leaves room under
/// 1 GiB for what DuckDB does not count.
const DEFAULT_MEMORY_LIMIT: &str = "640MB";

/// Where a config is looked for when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "config/cs-report.yaml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    data: Option<PathBuf>,
    output: Option<PathBuf>,
    currency: Option<String>,
    trend_months: Option<u32>,
    fiscal_year_start_month: Option<u32>,
    templates: Option<PathBuf>,
    memory_limit: Option<String>,
    #[serde(default)]
    raw: BTreeMap<String, PathBuf>,
    staging: Option<PathBuf>,
    queries: Option<PathBuf>,
    #[serde(default)]
    parameters: Parameters,
    #[serde(default)]
    metrics: BTreeMap<String, String>,
    #[serde(default)]
    tables: BTreeMap<String, TableMapping>,
    #[serde(default)]
    freshness: BTreeMap<String, RawFreshness>,
    email: Option<RawEmail>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    limits: Limits,
}

/// What one run may use (`limits:`): a runaway query ends the run with an
/// error naming its file, instead of holding the lock for hours or filling
/// the disk with spill.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The longest one metric or staging SQL statement may run, in seconds.
    pub statement_seconds: u64,
    /// The most DuckDB may spill to its scratch folder (DuckDB's own
    /// default is 90 % of the free disk).
    pub spill: String,
    /// The longest CSV record (line) read, in MiB.
    pub csv_line_mib: u64,
    /// The most writable memory the whole process may take: what DuckDB's
    /// `memory_limit` does not count (a query's own strings) stops here,
    /// with an out-of-memory error naming the query, not the machine.
    /// Unset: 4GB, or more with a larger `memory_limit` (see
    /// [`Limits::process_memory_bytes`]).
    pub process_memory: Option<String>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { statement_seconds: 900, spill: "20GB".into(), csv_line_mib: 2, process_memory: None }
    }
}

impl Limits {
    /// The process's memory cap in bytes: `process_memory` as set, else
    /// the larger of 4GB and 1.5 × `memory_limit` + 1GB; none when
    /// `memory_limit` is not a size (a percentage of the machine's memory).
    pub fn process_memory_bytes(&self, memory_limit: &str) -> Option<u64> {
        match &self.process_memory {
            Some(text) => size_bytes(text),
            None => size_bytes(memory_limit).map(|m| (m + m / 2 + 1_000_000_000).max(4_000_000_000)),
        }
    }
}

/// A size as DuckDB writes it (`500MB`, `20GB`, `1.5GiB`), in bytes.
fn size_bytes(text: &str) -> Option<u64> {
    let size = text.trim();
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
    let number: f64 = digits.parse().ok().filter(|v: &f64| *v > 0.0)?;
    let unit = match size[digits.len()..].trim().to_ascii_uppercase().as_str() {
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "MIB" => 1024.0 * 1024.0,
        "GIB" => 1024.0 * 1024.0 * 1024.0,
        "TIB" => 1024f64.powi(4),
        _ => return None,
    };
    Some((number * unit) as u64)
}

/// The `email:` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    smtp: RawSmtp,
    user: Option<String>,
    password_env: Option<String>,
    from: Option<String>,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    send_on: Option<Vec<SendOn>>,
    #[serde(default)]
    owners: bool,
    report_url: Option<String>,
    #[serde(default)]
    attach_report: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    port: Option<u16>,
    tls: Option<TlsMode>,
    ca_file: Option<PathBuf>,
    timeout_seconds: Option<u64>,
    #[serde(default)]
    allow_insecure_auth: bool,
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a relay on this machine (loopback).
    None,
}

/// Which published runs may be emailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SendOn {
    /// A run that published from exports that all reach the period's end.
    Success,
    /// A run published with `--allow-stale`: some export ended early.
    Stale,
}

/// Where the executive summary goes, checked.
#[derive(Debug, Clone, Serialize)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Extra trusted root certificate (PEM) for a relay with a private CA.
    pub ca_file: Option<PathBuf>,
    pub timeout_seconds: u64,
    pub user: Option<String>,
    /// The name of the environment variable that holds the password. Never
    /// written to the manifest: a password pasted here by mistake must not
    /// end up in a published file.
    #[serde(serialize_with = "redacted")]
    pub password_env: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub send_on: Vec<SendOn>,
    /// Also send each owner their book of business (`owners/<owner>/email.eml`).
    pub owners: bool,
    /// Where the published reports can be read: a URL with `{path}` (the
    /// report's path under the output root, `2027-01/report.html`) and
    /// optionally `{period}`; the email links to it.
    pub report_url: Option<String>,
    /// Attach the full report (`report.html`) to the email.
    pub attach_report: bool,
}

/// A `freshness:` value as written: days, `month` or `off`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawFreshness {
    Days(i64),
    Word(String),
}

/// How far an export must reach for the period to be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Freshness {
    /// Its latest date is at most this many days before the period's last day.
    Days(u32),
    /// It has rows for the period's month (monthly tables).
    Month,
    /// Not checked.
    Off,
}

/// The defaults: event tables must reach close to the period's end (usage
/// and tickets arrive daily; survey answers are sparser; invoices of a small
/// book may pause for a week), monthly tables must hold the period's month;
/// customers and subscriptions are state, not events, and trials are too
/// sparse to judge.
pub fn default_freshness(table: &str) -> Freshness {
    match table {
        "usage_events" | "tickets" => Freshness::Days(2),
        "survey_responses" | "invoices" => Freshness::Days(7),
        "marketing_spend" | "fx_rates" => Freshness::Month,
        _ => Freshness::Off,
    }
}

/// How one export is named in the warehouse: its file (or folder) name and
/// the names of its columns, when they differ from the input contract's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableMapping {
    /// File or folder name inside the data directory, with or without extension.
    pub file: Option<String>,
    /// Contract column name -> column name in the export.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// What to do with rows whose `customer_id` names no customer.
    pub on_unmatched: Option<Unmatched>,
}

impl TableMapping {
    /// Whether the entry renames the export's file or columns (a staged
    /// table cannot have that: its staging SQL names them).
    pub fn renames(&self) -> bool {
        self.file.is_some() || !self.columns.is_empty()
    }
}

/// Rows whose customer cannot be found: left out with a note in the
/// report (`warn`), or bad input that stops the run (`refuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmatched {
    Warn,
    Refuse,
}

impl Unmatched {
    /// The default of each table with a `customer_id`: money (subscriptions,
    /// invoices) must add up, so a row of no customer stops the run; answers,
    /// tickets, events and trials of a customer the CRM does not know yet are
    /// left out and counted.
    pub fn default_for(table: &str) -> Unmatched {
        match table {
            "customers" | "subscriptions" | "invoices" => Unmatched::Refuse,
            _ => Unmatched::Warn,
        }
    }
}

/// The tunable numbers of the metric contract. Every key is optional.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Parameters {
    pub csat_satisfied_min: i64,
    pub ces_higher_is_better: bool,
    pub low_sample_responses: i64,
    pub value_events: Vec<String>,
    pub engagement: Engagement,
    pub health: Health,
    pub clv_max_lifespan_years: f64,
    pub gross_margin: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Engagement {
    pub target_active_days: f64,
    pub target_features: f64,
    pub weight_days: f64,
    pub weight_features: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Health {
    pub weights: HealthWeights,
    pub healthy_min: f64,
    pub at_risk_below: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HealthWeights {
    pub usage: f64,
    pub sentiment: f64,
    pub support: f64,
    pub revenue: f64,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            csat_satisfied_min: 4,
            ces_higher_is_better: false,
            low_sample_responses: 30,
            value_events: vec!["report_shared".to_string()],
            engagement: Engagement::default(),
            health: Health::default(),
            clv_max_lifespan_years: 10.0,
            gross_margin: 1.0,
        }
    }
}

impl Default for Engagement {
    fn default() -> Self {
        Engagement { target_active_days: 20.0, target_features: 5.0, weight_days: 0.6, weight_features: 0.4 }
    }
}

impl Default for Health {
    fn default() -> Self {
        Health { weights: HealthWeights::default(), healthy_min: 70.0, at_risk_below: 40.0 }
    }
}

impl Default for HealthWeights {
    fn default() -> Self {
        HealthWeights { usage: 0.4, sentiment: 0.25, support: 0.15, revenue: 0.2 }
    }
}

/// The checked configuration every later stage works from.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The config file it came from; `None` for built-in defaults.
    pub source: Option<PathBuf>,
    pub data: Option<PathBuf>,
    pub output: PathBuf,
    pub currency: String,
    /// How many months before the period the trend window reaches back.
    pub trend_months: u32,
    /// The month (1-12) the fiscal year starts in; enables `FYyyyy` periods
    /// and makes `last-quarter` / `last-year` fiscal.
    pub fiscal_year_start_month: Option<u32>,
    pub templates: Option<PathBuf>,
    /// Raw export name -> its file or folder, relative to the data directory
    /// (so `--data` picks the month's drop) unless absolute.
    pub raw: BTreeMap<String, PathBuf>,
    /// The folder of `<table>.sql` staging files.
    pub staging: Option<PathBuf>,
    /// A folder of metrics laid out like `queries/`, added to the built-in ones.
    pub queries: Option<PathBuf>,
    pub memory_limit: String,
    pub limits: Limits,
    pub parameters: Parameters,
    /// Metric id -> version chosen in the config (defaults are the catalog's).
    pub metric_versions: BTreeMap<String, String>,
    pub tables: BTreeMap<String, TableMapping>,
    /// Every contract table's freshness rule (defaults filled in).
    pub freshness: BTreeMap<&'static str, Freshness>,
    pub email: Option<EmailConfig>,
    /// Segment, region, channel... code -> the words the reports show
    /// (added to and overriding the built-in ones, see `report::format::label`).
    pub labels: BTreeMap<String, String>,
}

/// What the command line sets over the config file (`--data`, `--out`).
#[derive(Debug, Default)]
pub struct Overrides {
    pub data: Option<PathBuf>,
    pub output: Option<PathBuf>,
}

impl Config {
    /// What a run does with rows of `table` that name no customer.
    pub fn on_unmatched(&self, table: &str) -> Unmatched {
        self.tables.get(table).and_then(|m| m.on_unmatched).unwrap_or_else(|| Unmatched::default_for(table))
    }

    /// Built-in defaults, used when there is no config file: relative
    /// paths are taken from the working directory, made absolute.
    pub fn defaults() -> Config {
        Config::load(None, &Overrides::default()).expect("the defaults are valid")
    }

    /// Loads `path` (or `config/cs-report.yaml` if present, else the
    /// defaults) with the command line's overrides applied before anything
    /// is resolved: one resolution, one `Config`, never patched after.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config> {
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None if Path::new(DEFAULT_CONFIG).is_file() => Some(PathBuf::from(DEFAULT_CONFIG)),
            None => None,
        };
        let file = path.as_ref().map_or_else(|| "(built-in defaults)".to_string(), |p| p.display().to_string());
        let config_error = |message: String| Error::Config { file: file.clone(), message };
        let mut raw = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| config_error(format!("cannot read it: {e}")))?;
                parse(&text).map_err(config_error)?
            }
            None => RawConfig::default(),
        };
        let cwd = std::path::absolute(".").map_err(|e| config_error(e.to_string()))?;
        // The command line's paths are relative to where it runs.
        let from_cwd = |p: &PathBuf| if p.is_absolute() { p.clone() } else { cwd.join(p) };
        if let Some(data) = &overrides.data {
            raw.data = Some(from_cwd(data));
        }
        if let Some(out) = &overrides.output {
            raw.output = Some(from_cwd(out));
        }
        let base = match &path {
            Some(path) => std::path::absolute(path).map_err(|e| config_error(e.to_string()))?.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => cwd.clone(),
        };
        Config::resolve(raw, path, &base).map_err(config_error)
    }

    fn resolve(raw: RawConfig, source: Option<PathBuf>, base: &Path) -> Result<Config, String> {
        let abs = |p: PathBuf| normalize(&if p.is_absolute() { p } else { base.join(p) });
        let currency = raw.currency.unwrap_or_else(|| "USD".to_string());
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!("key `currency`: must be a three-letter ISO 4217 code such as USD (got {currency:?})"));
        }
        let trend_months = raw.trend_months.unwrap_or(12);
        if !(1..=120).contains(&trend_months) {
            return Err(format!("key `trend_months`: must be between 1 and 120 (got {trend_months})"));
        }
        if let Some(m) = raw.fiscal_year_start_month.filter(|m| !(1..=12).contains(m)) {
            return Err(format!("key `fiscal_year_start_month`: must be a month number from 1 to 12 (got {m})"));
        }
        check_parameters(&raw.parameters)?;
        for (table, mapping) in &raw.tables {
            let Some(spec) = TABLES.iter().find(|t| t.name == table) else {
                let names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
                return Err(format!("key `tables.{table}`: unknown table; allowed: {}", names.join(", ")));
            };
            if mapping.on_unmatched.is_some() && (table == "customers" || !spec.columns.iter().any(|c| c.name == "customer_id")) {
                return Err(format!(
                    "key `tables.{table}.on_unmatched`: {table} has no customer_id to match; the key is for subscriptions, \
                     invoices, survey_responses, tickets, usage_events and trials"
                ));
            }
            for column in mapping.columns.keys() {
                if !spec.columns.iter().any(|c| c.name == column) {
                    let names: Vec<_> = spec.columns.iter().map(|c| c.name).collect();
                    return Err(format!(
                        "key `tables.{table}.columns.{column}`: `{column}` is not a column of {table}; allowed: {}",
                        names.join(", ")
                    ));
                }
            }
        }
        for name in raw.raw.keys() {
            if !is_plain_name(name) {
                return Err(format!(
                    "key `raw.{name}`: a raw export's name must be lower-case letters, digits and `_`, starting with a letter \
                     (staging SQL reads it as raw.{name})"
                ));
            }
        }
        if !raw.raw.is_empty() && raw.staging.is_none() {
            return Err("key `raw`: raw exports are only read through staging SQL; set `staging:` to the folder of `<table>.sql` files".into());
        }
        let freshness = resolve_freshness(&raw.freshness)?;
        let email = raw.email.map(|e| resolve_email(e, &abs)).transpose()?;
        Ok(Config {
            email,
            freshness,
            source,
            data: raw.data.map(abs),
            output: abs(raw.output.unwrap_or_else(|| PathBuf::from("reports"))),
            currency,
            trend_months,
            fiscal_year_start_month: raw.fiscal_year_start_month,
            templates: raw.templates.map(abs),
            raw: raw.raw,
            staging: raw.staging.map(abs),
            queries: raw.queries.map(abs),
            limits: check_limits(raw.limits, raw.memory_limit.as_deref().unwrap_or(DEFAULT_MEMORY_LIMIT))?,
            memory_limit: raw.memory_limit.unwrap_or_else(|| DEFAULT_MEMORY_LIMIT.to_string()),
            parameters: raw.parameters,
            metric_versions: raw.metrics,
            tables: raw.tables,
            labels: raw.labels,
        })
    }

    /// The file name to show in messages about this config.
    pub fn file_name(&self) -> String {
        self.source.as_ref().map_or_else(|| "(built-in defaults)".to_string(), |p| p.display().to_string())
    }
}

fn check_limits(limits: Limits, memory_limit: &str) -> Result<Limits, String> {
    if !(1..=86_400).contains(&limits.statement_seconds) {
        return Err(format!("key `limits.statement_seconds`: from 1 to 86400 seconds (got {})", limits.statement_seconds));
    }
    if !(1..=1024).contains(&limits.csv_line_mib) {
        return Err(format!("key `limits.csv_line_mib`: from 1 to 1024 MiB (got {})", limits.csv_line_mib));
    }
    if size_bytes(&limits.spill).is_none() {
        return Err(format!("key `limits.spill`: a size such as 500MB or 20GB (got {:?})", limits.spill));
    }
    if let Some(text) = &limits.process_memory {
        let Some(bytes) = size_bytes(text).filter(|b| *b >= 500_000_000) else {
            return Err(format!("key `limits.process_memory`: a size of 500MB or more, such as 4GB (got {text:?})"));
        };
        if size_bytes(memory_limit).is_some_and(|m| bytes < m + 500_000_000) {
            return Err(format!(
                "key `limits.process_memory`: {text} leaves too little beside `memory_limit` ({memory_limit}); give the \
                 process at least 500MB more than DuckDB"
            ));
        }
    }
    Ok(limits)
}

fn resolve_freshness(raw: &BTreeMap<String, RawFreshness>) -> Result<BTreeMap<&'static str, Freshness>, String> {
    let mut out: BTreeMap<&'static str, Freshness> = TABLES.iter().map(|t| (t.name, default_freshness(t.name))).collect();
    for (table, value) in raw {
        let Some(spec) = TABLES.iter().find(|t| t.name == table) else {
            let names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
            return Err(format!("key `freshness.{table}`: unknown table; allowed: {}", names.join(", ")));
        };
        let key = format!("freshness.{table}");
        let rule = match value {
            RawFreshness::Word(w) if w == "off" => Freshness::Off,
            RawFreshness::Word(w) if w == "month" && spec.monthly => Freshness::Month,
            RawFreshness::Days(d) if spec.monthly => {
                return Err(format!("key `{key}`: {table} holds one set of rows per month; write `month` or `off` (got {d})"))
            }
            RawFreshness::Days(d) if spec.date_column.is_none() => {
                return Err(format!("key `{key}`: {table} has no date that tells how far it reaches; only `off` (got {d})"))
            }
            RawFreshness::Days(d) if (0..=366).contains(d) => Freshness::Days(*d as u32),
            RawFreshness::Days(d) => return Err(format!("key `{key}`: days must be from 0 to 366 (got {d})")),
            RawFreshness::Word(w) => {
                let allowed = if spec.monthly { "`month` or `off`" } else { "a number of days or `off`" };
                return Err(format!("key `{key}`: must be {allowed} (got {w:?})"));
            }
        };
        out.insert(spec.name, rule);
    }
    Ok(out)
}

/// `password_env` in the manifest: whether it is set, never what it says.
fn redacted<S: serde::Serializer>(value: &Option<String>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str("(set; not recorded)"),
        None => s.serialize_none(),
    }
}

/// Hosts that `tls: none` may name: the connection never leaves the machine.
fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `email.report_url`: an http(s) URL naming where the report is, `{path}`.
fn check_report_url(url: &str) -> Result<(), String> {
    let web = url.starts_with("https://") || url.starts_with("http://");
    if !web || url.contains(char::is_whitespace) || !url.contains("{path}") {
        return Err(format!(
            "key `email.report_url`: an http(s) URL with `{{path}}` where the report's path under the output root goes \
             (e.g. https://reports.example.com/cs/{{path}}), not {url:?}"
        ));
    }
    Ok(())
}

fn resolve_email(raw: RawEmail, abs: &dyn Fn(PathBuf) -> PathBuf) -> Result<EmailConfig, String> {
    let smtp = raw.smtp;
    if smtp.host.trim().is_empty() {
        return Err("key `email.smtp.host`: the SMTP server's host name is required".into());
    }
    let tls = smtp.tls.unwrap_or(TlsMode::Starttls);
    if tls == TlsMode::None && !is_loopback(&smtp.host) {
        return Err(format!(
            "key `email.smtp.tls`: `none` sends the password and the report unencrypted, so it is only allowed to a \
             relay on this machine (localhost, 127.0.0.1, ::1), not {:?}; use `starttls` or `tls`",
            smtp.host
        ));
    }
    let port = smtp.port.unwrap_or(match tls {
        TlsMode::Starttls => 587,
        TlsMode::Tls => 465,
        TlsMode::None => 25,
    });
    if port == 0 {
        return Err("key `email.smtp.port`: must be from 1 to 65535 (got 0)".into());
    }
    let timeout_seconds = smtp.timeout_seconds.unwrap_or(60);
    if !(1..=3600).contains(&timeout_seconds) {
        return Err(format!("key `email.smtp.timeout_seconds`: must be from 1 to 3600 (got {timeout_seconds})"));
    }
    let mailbox = |key: String, text: &str| -> Result<String, String> {
        text.parse::<lettre::message::Mailbox>()
            .map(|m| m.to_string())
            .map_err(|e| format!("key `{key}`: {text:?} is not an email address ({e})"))
    };
    let from = mailbox("email.from".into(), raw.from.as_deref().ok_or("key `email.from`: the sender address is required")?)?;
    if raw.to.is_empty() {
        return Err("key `email.to`: list at least one recipient".into());
    }
    let to = raw.to.iter().enumerate().map(|(i, t)| mailbox(format!("email.to[{i}]"), t)).collect::<Result<Vec<_>, _>>()?;
    let cc = raw.cc.iter().enumerate().map(|(i, t)| mailbox(format!("email.cc[{i}]"), t)).collect::<Result<Vec<_>, _>>()?;
    if tls == TlsMode::None && raw.user.is_some() && !smtp.allow_insecure_auth {
        return Err("key `email.smtp.allow_insecure_auth`: with `tls: none` the user name and password would cross the \
             connection unencrypted; use `starttls` or `tls`, or set `allow_insecure_auth: true` for a relay on this \
             machine that needs a login"
            .into());
    }
    if let Some(name) = &raw.password_env {
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err("key `email.password_env`: the name of an environment variable (such as CS_REPORT_SMTP_PASSWORD), \
                 never the password itself (got a value that is not a variable name)"
                .into());
        }
    }
    match (&raw.user, &raw.password_env) {
        (Some(_), None) => return Err("key `email.password_env`: `email.user` is set, so name the environment variable that holds its password".into()),
        (None, Some(_)) => return Err("key `email.user`: `email.password_env` is set, so give the user name to log in with".into()),
        _ => {}
    }
    let send_on = raw.send_on.unwrap_or_else(|| vec![SendOn::Success]);
    if send_on.is_empty() {
        return Err("key `email.send_on`: list `success` (and `stale` to email reports published with --allow-stale)".into());
    }
    let report_url = raw.report_url.map(|url| check_report_url(&url).map(|()| url)).transpose()?;
    Ok(EmailConfig {
        host: smtp.host,
        port,
        tls,
        ca_file: smtp.ca_file.map(abs),
        timeout_seconds,
        user: raw.user,
        password_env: raw.password_env,
        from,
        to,
        cc,
        send_on,
        owners: raw.owners,
        report_url,
        attach_report: raw.attach_report,
    })
}

/// Removes `.` and `..` components without touching the file system, so
/// messages and the manifest show `/srv/data`, not `/srv/config/../data`.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Parses YAML text, naming the exact key of any unknown field or wrong type.
fn parse(text: &str) -> Result<RawConfig, String> {
    if text.trim().is_empty() {
        return Ok(RawConfig::default());
    }
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("key `{path}`: {inner}")
        }
    })
}

fn check_parameters(p: &Parameters) -> Result<(), String> {
    let fail = |key: &str, rule: &str, got: String| Err(format!("key `parameters.{key}`: {rule} (got {got})"));
    if !(1..=5).contains(&p.csat_satisfied_min) {
        return fail("csat_satisfied_min", "must be a CSAT score from 1 to 5", p.csat_satisfied_min.to_string());
    }
    if p.low_sample_responses < 0 {
        return fail("low_sample_responses", "must be 0 or more", p.low_sample_responses.to_string());
    }
    let e = &p.engagement;
    for (key, v) in [("target_active_days", e.target_active_days), ("target_features", e.target_features)] {
        if !(v > 0.0) {
            return fail(&format!("engagement.{key}"), "must be greater than 0", v.to_string());
        }
    }
    check_weights(
        "engagement",
        &[("weight_days", e.weight_days), ("weight_features", e.weight_features)],
    )?;
    let w = &p.health.weights;
    check_weights(
        "health.weights",
        &[("usage", w.usage), ("sentiment", w.sentiment), ("support", w.support), ("revenue", w.revenue)],
    )?;
    let h = &p.health;
    for (key, v) in [("healthy_min", h.healthy_min), ("at_risk_below", h.at_risk_below)] {
        if !(0.0..=100.0).contains(&v) {
            return fail(&format!("health.{key}"), "must be a score from 0 to 100", v.to_string());
        }
    }
    if h.healthy_min < h.at_risk_below {
        return fail(
            "health.healthy_min",
            "must not be below `parameters.health.at_risk_below`",
            format!("{} < {}", h.healthy_min, h.at_risk_below),
        );
    }
    if !(p.clv_max_lifespan_years > 0.0) {
        return fail("clv_max_lifespan_years", "must be greater than 0", p.clv_max_lifespan_years.to_string());
    }
    if !(p.gross_margin > 0.0 && p.gross_margin <= 1.0) {
        return fail("gross_margin", "must be a fraction above 0 and at most 1 (0.8 = 80 %)", p.gross_margin.to_string());
    }
    if p.value_events.iter().any(|v| v.trim().is_empty()) {
        return fail("value_events", "must list non-empty feature names", format!("{:?}", p.value_events));
    }
    Ok(())
}

fn check_weights(key: &str, weights: &[(&str, f64)]) -> Result<(), String> {
    for (name, w) in weights {
        if !w.is_finite() || *w < 0.0 {
            return Err(format!("key `parameters.{key}.{name}`: weights must be 0 or more (got {w})"));
        }
    }
    if weights.iter().all(|(_, w)| *w == 0.0) {
        return Err(format!("key `parameters.{key}`: the weights must not all be 0"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Config, String> {
        Config::resolve(parse(text)?, None, Path::new("/base"))
    }

    /// Each config text is refused with an error that holds its words.
    fn refuses(cases: &[(&str, &str)]) {
        for (text, words) in cases {
            let err = resolve(text).unwrap_err();
            assert!(err.contains(words), "{text}: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let err = resolve("parameters:\n  health:\n    weigths: {usage: 1}\n").unwrap_err();
        assert!(err.contains("parameters.health") && err.contains("weigths"), "{err}");
        refuses(&[
            ("parameters:\n  gross_margin: high\n", "key `parameters.gross_margin`"),
            ("tables:\n  customers:\n    columns: {custmer_id: id}\n", "tables.customers.columns.custmer_id"),
        ]);
    }

    #[test]
    fn impossible_values_are_refused() {
        refuses(&[
            ("parameters:\n  health:\n    weights: {usage: -1}\n", "parameters.health.weights.usage"),
            ("parameters:\n  health:\n    weights: {usage: 0, sentiment: 0, support: 0, revenue: 0}\n", "must not all be 0"),
            ("parameters:\n  health: {healthy_min: 30, at_risk_below: 40}\n", "parameters.health.healthy_min"),
        ]);
    }

    #[test]
    fn freshness_takes_days_month_or_off_per_table() {
        let c = resolve("freshness: {usage_events: 0, marketing_spend: 'off', trials: 14}\n").unwrap();
        assert_eq!(c.freshness["usage_events"], Freshness::Days(0));
        assert_eq!(c.freshness["marketing_spend"], Freshness::Off);
        assert_eq!(c.freshness["trials"], Freshness::Days(14));
        assert_eq!(c.freshness["tickets"], Freshness::Days(2), "defaults stay");
        assert_eq!(c.freshness["fx_rates"], Freshness::Month);
        refuses(&[
            ("freshness: {marketing_spend: 3}\n", "freshness.marketing_spend"),
            ("freshness: {customers: 3}\n", "freshness.customers"),
            ("freshness: {tickets: -1}\n", "freshness.tickets"),
            ("freshness: {tickets: soon}\n", "freshness.tickets"),
            ("freshness: {tikets: 2}\n", "freshness.tikets"),
        ]);
    }

    #[test]
    fn the_process_memory_cap_follows_memory_limit_unless_set() {
        let c = resolve("memory_limit: 8GB\n").unwrap();
        assert_eq!(c.limits.process_memory_bytes(&c.memory_limit), Some(13_000_000_000));
        let c = resolve("limits: {statement_seconds: 5}\n").unwrap();
        assert_eq!(c.limits.process_memory_bytes(&c.memory_limit), Some(4_000_000_000));
        let c = resolve("memory_limit: 80%\n").unwrap();
        assert_eq!(c.limits.process_memory_bytes(&c.memory_limit), None, "a share of the machine: no cap of ours");
        let err = resolve("memory_limit: 8GB\nlimits: {process_memory: 4GB}\n").unwrap_err();
        assert!(err.contains("limits.process_memory") && err.contains("8GB"), "{err}");
    }

    #[test]
    fn the_email_section_is_checked_before_anything_is_sent() {
        let ok = "email:\n  smtp: {host: smtp.example.com}\n  user: reports\n  password_env: SMTP_PW\n  from: \"Reports <r@example.com>\"\n  to: [a@example.com]\n";
        let c = resolve(ok).unwrap().email.unwrap();
        assert_eq!((c.port, c.tls, c.send_on.as_slice()), (587, TlsMode::Starttls, &[SendOn::Success][..]));
        assert_eq!(c.from, "Reports <r@example.com>");
        let c = resolve("email:\n  smtp: {host: 127.0.0.1, tls: none}\n  from: r@example.com\n  to: [a@example.com]\n  send_on: [success, stale]\n").unwrap();
        assert_eq!((c.email.as_ref().unwrap().port, c.email.unwrap().send_on.len()), (25, 2));
        refuses(&[
            ("email:\n  smtp: {host: smtp.example.com, tls: none}\n  from: r@example.com\n  to: [a@example.com]\n", "email.smtp.tls"),
            ("email:\n  smtp: {host: smtp.example.com, tls: ssl}\n  from: r@example.com\n  to: [a@example.com]\n", "email.smtp.tls"),
            ("email:\n  smtp: {host: smtp.example.com}\n  from: r@example.com\n  to: [a@example.com, not an address]\n", "email.to[1]"),
            ("email:\n  smtp: {host: smtp.example.com}\n  from: r@example.com\n  to: []\n", "email.to"),
            ("email:\n  smtp: {host: smtp.example.com}\n  to: [a@example.com]\n", "email.from"),
            ("email:\n  smtp: {host: smtp.example.com}\n  user: u\n  password_env: hunter2!\n  from: r@example.com\n  to: [a@example.com]\n", "email.password_env"),
            ("email:\n  smtp: {host: smtp.example.com}\n  user: u\n  from: r@example.com\n  to: [a@example.com]\n", "email.password_env"),
            ("email:\n  smtp: {host: smtp.example.com}\n  password: x\n  from: r@example.com\n  to: [a@example.com]\n", "password"),
            ("email:\n  smtp: {host: smtp.example.com}\n  from: r@example.com\n  to: [a@example.com]\n  send_on: [always]\n", "email.send_on"),
        ]);
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let c = resolve("data: ../data\noutput: out\n").unwrap();
        assert_eq!(c.data.unwrap(), PathBuf::from("/data"));
        assert_eq!(c.output, PathBuf::from("/base/out"));
        assert_eq!(c.parameters, Parameters::default());
    }
}
