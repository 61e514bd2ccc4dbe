//! The monthly run, in one place: load → check → compute → trend → render →
//! write. Each stage hands the next plain data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use serde_json::json;

use crate::catalog::{sha256_bytes, Catalog, Direction};
use crate::config::Config;
use crate::engine;
use crate::error::{Error, Result};
use crate::inputs::{self, LoadedTable};
use crate::format::plain;
use crate::history::{History, Restatement};
use crate::lock::RootLock;
use crate::output;
use crate::period::Month;
use crate::report::{self, Inputs};
use crate::trend;
use crate::validate::{self, Problem};

/// What `cs-report run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub config: Config,
    pub period: Month,
    /// Exit 1 and publish nothing if a published number would change.
    pub fail_on_restatement: bool,
}

/// What a finished run published.
#[derive(Debug)]
pub struct RunOutcome {
    pub folder: PathBuf,
    pub rows: usize,
    pub flagged: usize,
    pub unavailable: Vec<String>,
}

/// Stage timings for the manifest, in milliseconds.
#[derive(Default)]
struct Timings(Vec<(&'static str, u128)>);

impl Timings {
    fn time<T>(&mut self, stage: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let out = f()?;
        let millis = started.elapsed().as_millis();
        eprintln!("cs-report: {stage} took {millis} ms");
        self.0.push((stage, millis));
        Ok(out)
    }
}

fn data_dir(config: &Config) -> Result<PathBuf> {
    config.data.clone().ok_or_else(|| {
        Error::Usage(format!(
            "no data directory: set `data:` in {} or pass --data DIR",
            config.source.as_ref().map_or_else(|| "a config file".to_string(), |p| p.display().to_string())
        ))
    })
}

/// The error a run or validation ends with when the input breaks rules.
pub fn problems_error(problems: &[Problem]) -> Error {
    let mut text = format!("the input breaks {} rule(s) of the input contract; nothing was written:", problems.len());
    for p in problems {
        text.push_str("\n  - ");
        text.push_str(&p.to_string());
    }
    Error::Input(text)
}

/// Loads the exports and checks them: shared by `run` and `validate`.
fn load_and_check(
    config: &Config,
    period: Month,
    timings: &mut Timings,
) -> Result<(engine::Database, Vec<LoadedTable>, Vec<Problem>)> {
    let data = data_dir(config)?;
    let db = engine::open(&config.memory_limit)?;
    let conn = &db.conn;
    let tables = timings.time("load", || inputs::load_all(conn, config, &data))?;
    // Checks may read an export again to quote its bad values; after them,
    // DuckDB gets no more file access.
    let problems = timings.time("check", || validate::check(conn, &tables, period, &config.currency))?;
    engine::lock_down(conn)?;
    Ok((db, tables, problems))
}

pub fn run(req: &RunRequest) -> Result<RunOutcome> {
    let RunRequest { config, period, fail_on_restatement } = req;
    let period = *period;
    let started_at = Utc::now();
    let mut timings = Timings::default();

    // Everything that can be wrong without looking at the data fails first.
    let mut catalog = Catalog::embedded()?;
    if config.parameters.ces_higher_is_better {
        catalog.set_direction("ces", Direction::Up);
    }
    let versions = catalog.choose_versions(&config.metric_versions, &config.file_name())?;
    let env = report::environment(config.templates.as_deref(), &config.currency)?;
    // One run at a time writes into the output root.
    let _lock = RootLock::acquire(&config.output)?;

    let (db, tables, problems) = load_and_check(config, period, &mut timings)?;
    let conn = &db.conn;
    if !problems.is_empty() {
        return Err(problems_error(&problems));
    }
    // Read before computing: the usage building block drops the raw events.
    let data_warnings = validate::warnings(conn, &tables, period)?;
    let computed = timings.time("compute", || engine::compute(conn, &catalog, &versions, config, period, &tables))?;
    let window_start = period.plus(-(config.trend_months as i32));
    let series = timings.time("trend", || {
        trend::compute(&catalog, &computed.rows, computed.first_month, period, config.trend_months)
    })?;
    // Numbers already published for this period that this run would change.
    let current: Vec<&engine::MetricRow> = computed.rows.iter().filter(|r| r.period == period).collect();
    let history = History::open(&config.output)?;
    let restatements = history.restatements(period, &current)?;
    if *fail_on_restatement && !restatements.is_empty() {
        let first: Vec<String> = restatements
            .iter()
            .take(5)
            .map(|r| format!("{} {}={}: {} -> {}", r.metric, r.dimension, r.segment, plain(r.published), plain(r.value)))
            .collect();
        return Err(Error::Check(format!(
            "{} published number(s) of {period} would change (--fail-on-restatement), e.g. {}; nothing was published",
            restatements.len(),
            first.join("; ")
        )));
    }
    let mut warnings = warnings(&catalog, &tables, &computed.rows, period);
    warnings.extend(data_warnings);
    let context = report::build_context(Inputs {
        catalog: &catalog,
        series: &series,
        period,
        window_start,
        currency: &config.currency,
        runs: &computed.runs,
        unavailable: &computed.unavailable,
        warnings,
        customers: &computed.customers,
        restatements: &restatements,
    });
    let rendered = timings.time("render", || report::render(&env, &context))?;

    let mut files: Vec<(String, Vec<u8>)> = rendered.into_iter().map(|(name, text)| (name.to_string(), text.into_bytes())).collect();
    files.push(("metrics.csv".into(), output::metrics_csv(&catalog, &current).into_bytes()));
    files.push(("metrics.json".into(), output::metrics_json(&catalog, &current).into_bytes()));
    files.push(("series.csv".into(), output::series_csv(&catalog, &series).into_bytes()));
    files.push(("customers.csv".into(), output::customers_csv(&computed.customers).into_bytes()));
    let run_id = format!("{}-{}", started_at.format("%Y%m%dT%H%M%S%.3fZ"), std::process::id());
    let inputs_sha256 = inputs_fingerprint(&tables);
    let manifest = manifest(req, &catalog, &tables, &computed, &files, &timings, started_at, &run_id, &inputs_sha256, &restatements);
    files.push(("manifest.json".into(), manifest.into_bytes()));
    // The history entry commits only once the folder is in place.
    let pending = history.record(&run_id, period, &inputs_sha256, &current)?;
    let folder = timings.time("write", || output::publish(&config.output, period, &files))?;
    pending.commit()?;
    db.abandon();

    Ok(RunOutcome {
        folder,
        rows: current.len(),
        flagged: context.flags.len(),
        unavailable: computed.unavailable.iter().map(|u| format!("{} ({})", u.metric, u.reason)).collect(),
    })
}

/// Things a reader should know that do not stop the run.
fn warnings(catalog: &Catalog, tables: &[LoadedTable], rows: &[engine::MetricRow], period: Month) -> Vec<String> {
    let mut out = Vec::new();
    for t in tables {
        if !t.missing_columns.is_empty() {
            out.push(format!(
                "{} has no column {}: read as empty",
                t.table,
                t.missing_columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for row in rows.iter().filter(|r| r.low_sample && r.period == period && r.dimension == "all") {
        let metric = catalog.metric(&row.metric).expect("rows come from the catalog");
        let answers = metric
            .sample
            .as_ref()
            .and_then(|s| rows.iter().find(|r| &r.metric == s && r.period == period && r.dimension == "all"))
            .and_then(|r| r.value)
            .unwrap_or(0.0);
        out.push(format!("{} rests on {answers} answer(s) this month: too few to read much into", metric.title));
    }
    out
}

/// One checksum over every input file (name, size and SHA-256).
fn inputs_fingerprint(tables: &[LoadedTable]) -> String {
    let listing: String = tables
        .iter()
        .flat_map(|t| t.files.iter().map(move |f| format!("{} {} {} {}\n", t.table, f.path.display(), f.bytes, f.sha256)))
        .collect();
    sha256_bytes(listing.as_bytes())
}

#[allow(clippy::too_many_arguments)]
fn manifest(
    req: &RunRequest,
    catalog: &Catalog,
    tables: &[LoadedTable],
    computed: &engine::Computed,
    files: &[(String, Vec<u8>)],
    timings: &Timings,
    started_at: chrono::DateTime<Utc>,
    run_id: &str,
    inputs_sha256: &str,
    restatements: &[Restatement],
) -> String {
    let inputs: Vec<serde_json::Value> = tables
        .iter()
        .map(|t| {
            json!({
                "table": t.table,
                "present": t.present(),
                "format": t.format,
                "rows": t.rows,
                "missing_columns": t.missing_columns,
                "files": t.files,
            })
        })
        .collect();
    let outputs: BTreeMap<&str, serde_json::Value> = files
        .iter()
        .map(|(name, bytes)| (name.as_str(), json!({"bytes": bytes.len(), "sha256": sha256_bytes(bytes)})))
        .collect();
    let value = json!({
        "tool": {"name": "cs-report", "version": env!("CARGO_PKG_VERSION")},
        "period": req.period,
        "run": {
            "id": run_id,
            "started_at": started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "finished_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "timings_ms": timings.0.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        },
        "config": req.config,
        "months_computed": {"first": computed.first_month, "last": req.period},
        "inputs": inputs,
        "shared_sql": catalog
            .shared
            .iter()
            .chain(catalog.checks.iter())
            .map(|s| {
                let millis = computed.shared_runs.iter().find(|(n, _)| *n == s.name).map(|(_, ms)| *ms);
                json!({"file": s.name, "sha256": s.sha256, "millis": millis})
            })
            .collect::<Vec<_>>(),
        "metrics": computed.runs.iter().map(|r| json!({"metric": r.metric, "version": r.version, "sql_sha256": r.sql_sha256, "millis": r.millis})).collect::<Vec<_>>(),
        "unavailable": computed.unavailable,
        "restatements": restatements,
        "inputs_sha256": inputs_sha256,
        "outputs": outputs,
    });
    serde_json::to_string_pretty(&value).expect("manifest serialises") + "\n"
}

/// `cs-report validate`: loads and checks. Returns the per-table summary
/// (rows, date range, problems) and the problems found.
pub fn validate(config: &Config, period: Month) -> Result<(Vec<String>, Vec<Problem>)> {
    let (db, tables, problems) = load_and_check(config, period, &mut Timings::default())?;
    let mut lines = validate::summary(&db.conn, &tables)?;
    for (line, table) in lines.iter_mut().zip(&tables) {
        let n = problems.iter().filter(|p| p.table == table.table).count();
        if table.present() {
            line.push_str(&if n == 0 { ", no problems".to_string() } else { format!(", {n} problem(s)") });
        }
    }
    Ok((lines, problems))
}
