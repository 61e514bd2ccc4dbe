//! The monthly run, in one place: load → check → compute → trend → render →
//! write. Each stage hands the next plain data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use serde_json::json;

use crate::config::Config;
use crate::deliver::message::{self, Addressing};
use crate::error::{Error, Result};
use crate::load::freshness;
use crate::load::validate::{self, Problem};
use crate::load::staging::RawTable;
use crate::contract::table_spec;
use crate::load::{self, rollups, LoadedTable};
use crate::log;
use crate::metrics::catalog::Catalog;
use crate::model::rows::{CohortRow, CustomerRow, Finance, InputMonth, MetricRow, Restatement, SeriesRow};
use crate::model::manifest::{self, Manifest};
use crate::model::text::sha256_bytes;
use crate::metrics::engine;
use crate::metrics::trend;
use crate::parallel;
use crate::model::period::{Month, Period, Window};
use crate::publish::fault;
use crate::publish::history::History;
use crate::publish::OutputRoot;
use crate::publish;
use crate::model::text::plain;
use crate::report::{self, charts, Inputs};

/// What `cs-report run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub config: Config,
    pub period: Period,
    /// Exit 1 and publish nothing if a published number would change.
    pub fail_on_restatement: bool,
    /// Publish even when an export does not reach the period's end, saying so
    /// at the top of the report.
    pub allow_stale: bool,
    /// Publish even from empty exports, or a period that lost every customer
    /// it had when last published.
    pub allow_empty: bool,
    /// Start a new history store on purpose where it is missing or unreadable.
    pub new_history: bool,
    /// Read every usage events file again (no stored rollup reused).
    pub full: bool,
}

/// What a finished run published.
#[derive(Debug)]
pub struct RunOutcome {
    pub folder: PathBuf,
    pub rows: usize,
    pub flagged: usize,
    pub unavailable: Vec<String>,
    /// Tables published stale (with `--allow-stale`).
    pub stale: Vec<String>,
    /// The report's data warnings and notes, as its notes list them.
    pub warnings: Vec<String>,
    /// How many published figures of the period this run changed.
    pub restated: usize,
}

/// Stage timings for the manifest, in milliseconds.
#[derive(Default)]
struct Timings {
    stages: Vec<(&'static str, u128)>,
    /// Not logged stage by stage: a book's (twenty books, six stages each).
    quiet: bool,
}

impl Timings {
    fn time<T>(&mut self, stage: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let out = f()?;
        let millis = started.elapsed().as_millis();
        if !self.quiet {
            log::info(&format!("{stage} took {millis} ms"));
        }
        self.stages.push((stage, millis));
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
pub fn problems_error(problems: &[&Problem]) -> Error {
    let mut text = format!("the input breaks {} rule(s) of the input contract; nothing was written:", problems.len());
    for p in problems {
        text.push_str("\n  - ");
        text.push_str(&p.to_string());
    }
    Error::Input(text)
}

/// The exports as loaded and judged: shared by `run` and `validate`.
struct Checked {
    db: crate::db::Database,
    tables: Vec<LoadedTable>,
    /// The raw exports staging SQL read (empty without `raw:`).
    raw: Vec<RawTable>,
    problems: Vec<Problem>,
    verdicts: Vec<freshness::Verdict>,
}

impl Checked {
    /// Refuses what must not be published, in the order that tells the user
    /// the most: broken rows (exit 2), then exports that have not caught up
    /// (exit 75; a missing exchange rate of a month whose rates have not
    /// arrived yet is that too), then missing rates of months that have
    /// rates (exit 2). Returns the stale verdicts it let through.
    fn gate(&self, period: Period, allow_stale: bool) -> Result<Vec<&freshness::Verdict>> {
        let (rates, broken): (Vec<&Problem>, Vec<&Problem>) = self.problems.iter().partition(|p| p.is_missing_rate());
        if !broken.is_empty() {
            return Err(problems_error(&broken));
        }
        let stale: Vec<&freshness::Verdict> = self.verdicts.iter().filter(|v| v.stale).collect();
        if !stale.is_empty() && !allow_stale {
            return Err(freshness::not_ready(&stale, period.last_month()));
        }
        if !rates.is_empty() {
            return Err(problems_error(&rates));
        }
        Ok(stale)
    }
}

/// Loads the exports, checks them against the contract and judges their
/// freshness; DuckDB then loses all file access.
fn load_and_check(config: &Config, window: &Window, rollups: rollups::Use, timings: &mut Timings) -> Result<Checked> {
    let data = data_dir(config)?;
    // From here on user SQL (staging, then metrics) runs in this process.
    if let Some(bytes) = config.limits.process_memory_bytes(&config.memory_limit) {
        crate::db::cap_process_memory(bytes);
    }
    let db = crate::db::open(&config.memory_limit, &config.limits.spill)?;
    let conn = &db.conn;
    let mut store = rollups::Store::open(config.output.join(rollups::DIR), rollups, db.scratch());
    let load::Loaded { mut tables, raw } = timings.time("load", || load::load_all(conn, config, &data, db.scratch(), &mut store))?;
    // Checks may read an export again to quote its bad values; after them,
    // DuckDB gets no more file access.
    let (first, last) = (window.first.first_month(), window.period.last_month());
    let problems = timings.time("check", || validate::check(conn, &mut tables, last, first, config))?;
    let verdicts = freshness::check(conn, &tables, &config.freshness, last)?;
    crate::db::lock_down(conn)?;
    Ok(Checked { db, tables, raw, problems, verdicts })
}

/// A required export with a header and no rows would publish a report of
/// zeros over the real one.
fn refuse_empty_tables(tables: &[LoadedTable], allow_empty: bool) -> Result<()> {
    let empty: Vec<String> =
        tables.iter().filter(|t| t.present() && t.rows == 0 && table_spec(t.table).is_some_and(|s| s.required)).map(|t| t.source_name()).collect();
    if empty.is_empty() || allow_empty {
        return Ok(());
    }
    Err(Error::Input(format!(
        "required export(s) hold no rows: {}; nothing was published. An export that came out empty is usually a          failed extract: check it, or pass --allow-empty if the company really has no data",
        empty.join(", ")
    )))
}

/// A period that had active customers when last published and has none now
/// is far more likely a broken export than a company that lost everyone.
fn refuse_vanished_customers(history: &History, period: Period, rows: &[&MetricRow], allow_empty: bool) -> Result<()> {
    let now = rows.iter().find(|r| r.metric == "active_customers" && r.dimension == "all").and_then(|r| r.value).unwrap_or(0.0);
    if now > 0.0 || allow_empty {
        return Ok(());
    }
    match history.published_value(period, "active_customers")? {
        Some(before) if before > 0.0 => Err(Error::Input(format!(
            "{period} has no active customer, but its published report had {}; nothing was published. Check the \
             subscriptions export, or pass --allow-empty if that is really so",
            plain(Some(before))
        ))),
        _ => Ok(()),
    }
}

pub fn run(req: &RunRequest) -> Result<RunOutcome> {
    let RunRequest { config, period, fail_on_restatement, allow_stale, allow_empty, new_history, full } = req;
    let period = *period;
    let window = Window::new(period, config.trend_months);
    let started_at = Utc::now();
    let mut timings = Timings::default();

    let (catalog, versions, env) = prepare(config, &window)?;
    // One run at a time writes into the output root; it settles what a run
    // that died there left half done.
    let root = OutputRoot::open(&config.output, *new_history)?;
    root.recover()?;
    let history = &root.history;

    let store_use = if *full { rollups::Use::Rebuild } else { rollups::Use::Keep };
    let checked = load_and_check(config, &window, store_use, &mut timings)?;
    refuse_empty_tables(&checked.tables, *allow_empty)?;
    let stale = checked.gate(period, *allow_stale)?;
    let (conn, tables) = (&checked.db.conn, &checked.tables);
    // Read before computing: the usage building block drops the raw events.
    let mut data_warnings = validate::warnings(conn, tables, period.last_month())?;
    let empty_months = freshness::empty_months(conn, tables, window.first.first_month(), period.last_month())?;
    let inputs_by_month = timings.time("profile", || load::profile::months(conn, tables))?;
    let computed = timings.time("compute", || engine::compute(conn, &catalog, &versions, config, &window, tables, &empty_months))?;
    data_warnings.extend(empty_month_warnings(&catalog, &computed, &empty_months));
    let series = timings.time("trend", || trend::compute(&catalog, &computed.rows, &window))?;
    let current: Vec<&MetricRow> = computed.rows.iter().filter(|r| r.period == period).collect();
    refuse_vanished_customers(history, period, &current, *allow_empty)?;
    let restatements = restatements(history, &window, &catalog, &versions, &computed.rows, &inputs_by_month)?;
    if *fail_on_restatement {
        refuse_restatements(&restatements, period)?;
    }
    let mut warnings = warnings(&catalog, tables, &computed.rows, period);
    warnings.extend(data_warnings);
    let stale_notices: Vec<String> = stale.iter().map(|v| freshness::stale_notice(v)).collect();
    let company = company_slice(config, period, &series, &computed, &restatements, warnings)?;
    let team = series.iter().any(|s| s.row.dimension == "owner").then(|| {
        report::book::team(&series, &computed.customers, &computed.owners, period, period.kind().last())
    });
    let (context, rendered, pngs, eml) =
        assemble(&env, config, &catalog, &computed, &window, &stale_notices, company, &mut timings, |c| c.team = team)?;
    let books = timings.time("books", || {
        book_files(&env, config, &catalog, &series, &computed, &restatements, &window, &stale_notices)
    })?;

    let mut files: Vec<(String, Vec<u8>)> = rendered;
    files.extend(pngs);
    files.push(("email.eml".into(), eml));
    files.extend(data_files(&catalog, &current, &series, &computed, &restatements));
    files.extend(books);
    let run_id = format!("{}-{}", started_at.format("%Y%m%dT%H%M%S%.3fZ"), std::process::id());
    let inputs_sha256 = inputs_fingerprint(tables, &checked.raw);
    let record = RunRecord { id: &run_id, started_at, inputs_sha256: &inputs_sha256, restatements: &restatements, inputs_by_month: &inputs_by_month };
    let manifest = manifest(req, &catalog, &checked, &computed, &files, &timings, &record);
    files.push(("manifest.json".into(), manifest.into_bytes()));

    history.record_pending(&run_id, period, &inputs_sha256, &current, &inputs_by_month)?;
    let folder = timings.time("write", || publish_recorded(&root, period, &run_id, &files))?;
    if let Err(e) = fault::point("done") {
        log::warn(&format!("the report of {period} is published in {}, but the run failed after it: {e}", folder.display()));
    }
    checked.db.abandon();

    Ok(RunOutcome {
        folder,
        rows: current.len(),
        flagged: context.flags.len(),
        unavailable: computed.unavailable.iter().map(|u| format!("{} ({})", u.metric, u.reason)).collect(),
        stale: stale_notices,
        warnings: context.warnings,
        restated: restatements.len(),
    })
}

/// Everything that can be wrong without looking at the data fails first:
/// the catalog and the added SQL, the chosen versions, the templates.
fn prepare(config: &Config, window: &Window) -> Result<(Catalog, BTreeMap<String, String>, minijinja::Environment<'static>)> {
    let catalog = Catalog::for_run(config, window.period)?;
    engine::check_added_sql(&catalog, config, window)?;
    let versions = catalog.choose_versions(&config.metric_versions, &config.file_name())?;
    let env = report::environment(config.templates.as_deref(), &config.currency, &config.labels)?;
    Ok((catalog, versions, env))
}

/// Every published figure the report shows again (the period on a rerun,
/// the periods before it, a year ago) that this run changes, with the
/// likely cause its inputs show.
fn restatements(
    history: &History,
    window: &Window,
    catalog: &Catalog,
    versions: &BTreeMap<String, String>,
    rows: &[MetricRow],
    inputs: &[InputMonth],
) -> Result<Vec<Restatement>> {
    let shown = window.shown();
    let mut out = history.restatements(&shown, rows)?;
    publish::restate::explain(&mut out, &shown, inputs, &|run| history.inputs_of(run), &|metric| catalog.tables_read(metric, versions))?;
    Ok(out)
}

/// `--fail-on-restatement`: any published number this run would change
/// stops it, naming the first five.
fn refuse_restatements(restatements: &[Restatement], period: Period) -> Result<()> {
    if restatements.is_empty() {
        return Ok(());
    }
    let first: Vec<String> = restatements
        .iter()
        .take(5)
        .map(|r| format!("{} of {} {}={}: {} -> {}", r.metric, r.period, r.dimension, r.segment, plain(r.published), plain(r.value)))
        .collect();
    Err(Error::Check(format!(
        "{} published number(s) would change with the report of {period} (--fail-on-restatement), e.g. {}; nothing was published",
        restatements.len(),
        first.join("; ")
    )))
}

/// The machine-readable outputs of the period: metrics, series, customers,
/// cohorts, and the restatements when there are any.
fn data_files(catalog: &Catalog, current: &[&MetricRow], series: &[SeriesRow], computed: &engine::Computed, restatements: &[Restatement]) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        ("metrics.csv".to_string(), publish::metrics_csv(catalog, current).into_bytes()),
        ("metrics.json".to_string(), publish::metrics_json(catalog, current, restatements).into_bytes()),
        ("series.csv".to_string(), publish::series_csv(catalog, series).into_bytes()),
        ("customers.csv".to_string(), publish::customers_csv(&computed.customers).into_bytes()),
        ("cohorts.csv".to_string(), publish::cohorts_csv(&computed.cohorts).into_bytes()),
    ];
    if !restatements.is_empty() {
        files.push(("restatements.csv".into(), publish::restatements_csv(restatements).into_bytes()));
    }
    files
}

/// Publishes the period folder with the run recorded as pending in the
/// history, and confirms it after the swap: whatever stops the run in
/// between, the next run (or the error path here) settles the record by
/// what is on disk.
fn publish_recorded(root: &OutputRoot, period: Period, run_id: &str, files: &[(String, Vec<u8>)]) -> Result<PathBuf> {
    let folder = match root.publish(period, files) {
        Ok(folder) => folder,
        Err(e) => {
            root.resolve(run_id, period)?;
            return Err(e);
        }
    };
    // Published: a record that cannot be confirmed now is completed by the
    // next run (see `History::recover`), so it is a warning, not a failure.
    if let Err(e) = root.history.confirm(run_id) {
        log::warn(&format!(
            "the report of {period} is published in {}, but confirming it in the history store failed: {e}. \
             The next run completes the record",
            folder.display()
        ));
    }
    Ok(folder)
}

/// A value as JSON (for the manifest's parts whose shape is their type's).
fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("run data serialises")
}

/// One slice the run reports on, the company or one owner's book: its
/// series and rows, the charts it draws (`None`: all), how sharp its PNGs
/// are and over how many cores they are drawn, and its email's addressing.
struct Slice<'a> {
    series: &'a [SeriesRow],
    customers: &'a [CustomerRow],
    cohorts: &'a [CohortRow],
    restatements: &'a [Restatement],
    finance: &'a Finance,
    warnings: Vec<String>,
    charts: Option<&'static [&'static str]>,
    png_scale: f32,
    cores: usize,
    addressing: Addressing,
    /// The slice's `report.html` under the output root, for the email's link.
    report_path: String,
}

/// The company's slice: every customer, all charts, PNGs at full scale
/// over every core, the email to the config's recipients.
fn company_slice<'a>(
    config: &Config,
    period: Period,
    series: &'a [SeriesRow],
    computed: &'a engine::Computed,
    restatements: &'a [Restatement],
    warnings: Vec<String>,
) -> Result<Slice<'a>> {
    let addressing = match &config.email {
        Some(e) => Addressing::parse(&e.from, &e.to, &e.cc)?,
        None => Addressing::parse(message::DEFAULT_FROM, &[], &[])?,
    };
    Ok(Slice {
        series,
        customers: &computed.customers,
        cohorts: &computed.cohorts,
        restatements,
        finance: &computed.finance,
        warnings,
        charts: None,
        png_scale: charts::PNG_SCALE,
        cores: parallel::cores(),
        addressing,
        report_path: format!("{}/report.html", period),
    })
}

/// A slice's report, the one assembly for the company and every book: its
/// context (which `decorate` completes: the team view, the book), charts
/// drawn as SVG and rasterised, the rendered documents, and the email as
/// the complete message `send` sends.
#[allow(clippy::too_many_arguments)]
fn assemble(
    env: &minijinja::Environment<'_>,
    config: &Config,
    catalog: &Catalog,
    computed: &engine::Computed,
    window: &Window,
    stale: &[String],
    slice: Slice<'_>,
    timings: &mut Timings,
    decorate: impl FnOnce(&mut report::ReportContext),
) -> Result<(report::ReportContext, Vec<(String, Vec<u8>)>, Vec<(String, Vec<u8>)>, Vec<u8>)> {
    let period = window.period;
    let mut context = report::build_context(Inputs {
        catalog,
        series: slice.series,
        period,
        window_start: window.start,
        currency: &config.currency,
        runs: &computed.runs,
        unavailable: &computed.unavailable,
        warnings: slice.warnings,
        stale: stale.to_vec(),
        customers: slice.customers,
        restatements: slice.restatements,
        cohorts: slice.cohorts,
        finance: slice.finance,
        gross_margin: config.parameters.gross_margin,
        min_sample: config.parameters.low_sample_responses,
        data_start: computed.data_start,
    });
    decorate(&mut context);
    context.subject = report::email::subject(&context);
    if let Some(email) = &config.email {
        let link = |url: &String| url.replace("{path}", &slice.report_path).replace("{period}", &period.to_string());
        context.report_link = email.report_url.as_ref().map(link);
        context.report_attached = email.attach_report;
    }
    let drawn: Vec<charts::Chart> =
        charts::build(
            slice.series,
            slice.customers,
            period,
            window.start,
            &config.currency,
            &context.bridge_month,
            &context.bridge_window,
            &config.labels,
        )
            .into_iter()
            .filter(|c| slice.charts.is_none_or(|keep| keep.contains(&c.id)))
            .collect();
    report::set_charts(&mut context, &drawn);
    let (scale, cores) = (slice.png_scale, slice.cores);
    let pngs = timings.time("charts", || {
        parallel::map(&context.charts, cores, |c| Ok((c.png.clone(), charts::png_at(&c.svg, scale)?))).into_iter().collect::<Result<Vec<_>>>()
    })?;
    let rendered = timings.time("render", || report::render(env, &context))?;
    let rendered: Vec<(String, Vec<u8>)> = rendered.into_iter().map(|(name, text)| (name.to_string(), text.into_bytes())).collect();
    let attached = rendered.iter().find(|(name, _)| name == "report.html").map(|(_, bytes)| bytes.as_slice()).filter(|_| context.report_attached);
    let eml = timings.time("email", || {
        let email = report::email::build(env, &context, &pngs, slice.customers, attached)?;
        message::compose(&email, &slice.addressing, period)
    })?;
    Ok((context, rendered, pngs, eml))
}

/// Pixels per chart unit of a book's PNGs: 1 instead of the summary's 2.
/// Drawing is most of a book's cost (35 of 50 ms at 1.5); at 1 a chart is
/// 640 px wide for the email's 576, sharp on ordinary screens and a little
/// soft on high-density ones, and twenty books cost a quarter as much.
const BOOK_PNG_SCALE: f32 = 1.0;

/// The charts of a book: its MRR, its bridge and its health bands. Retention
/// and churn lines of a few dozen accounts swing on one account; the book's
/// tables carry them.
const BOOK_CHARTS: [&str; 3] = ["mrr", "bridge_month", "health"];

/// The books of business (`owners/<owner>/`): for every owner of the
/// period, the report of their slice alone, their accounts ranked, their
/// customers.csv and their email, addressed to them when `owners` has
/// their address. A book draws only [`BOOK_CHARTS`].
#[allow(clippy::too_many_arguments)]
fn book_files(
    env: &minijinja::Environment<'_>,
    config: &Config,
    catalog: &Catalog,
    series: &[SeriesRow],
    computed: &engine::Computed,
    restatements: &[Restatement],
    window: &Window,
    stale: &[String],
) -> Result<Vec<(String, Vec<u8>)>> {
    use report::book;
    let period = window.period;
    let from = config.email.as_ref().map_or(message::DEFAULT_FROM, |e| e.from.as_str());
    let owners: Vec<String> = book::owners_of(series, period).into_iter().filter(|o| o != book::UNASSIGNED).collect();
    let one = |owner: &String| -> Result<Vec<(String, Vec<u8>)>> {
        let folder = format!("owners/{}", book::folder_name(owner));
        let own_series = book::owner_part(series, owner);
        let customers: Vec<CustomerRow> = computed.customers.iter().filter(|c| c.owner == *owner).cloned().collect();
        let (cohorts, restated) = (book::owner_part(&computed.cohorts, owner), book::owner_part(restatements, owner));
        let info = computed.owners.iter().find(|o| o.owner == *owner);
        let to: Vec<String> = info.map(|o| o.email.clone()).into_iter().collect();
        let slice = Slice {
            series: &own_series,
            customers: &customers,
            cohorts: &cohorts,
            restatements: &restated,
            finance: &Finance::default(),
            warnings: Vec::new(),
            charts: Some(&BOOK_CHARTS),
            png_scale: BOOK_PNG_SCALE,
            cores: 1,
            addressing: Addressing::parse(from, &to, &[])?,
            report_path: format!("{period}/{folder}/report.html"),
        };
        let refs: Vec<&CustomerRow> = customers.iter().collect();
        let name = info.and_then(|o| o.name.clone()).unwrap_or_else(|| owner.clone());
        let view = book::BookView::new(owner.clone(), name, info.map(|o| o.email.clone()), &refs, period, period.kind().last());
        let mut quiet = Timings { stages: Vec::new(), quiet: true };
        let (_, rendered, pngs, eml) =
            assemble(env, config, catalog, computed, window, stale, slice, &mut quiet, |c| c.book = Some(view))?;
        let mut out: Vec<(String, Vec<u8>)> = rendered.into_iter().map(|(name, bytes)| (format!("{folder}/{name}"), bytes)).collect();
        out.push((format!("{folder}/customers.csv"), publish::customers_csv(&customers).into_bytes()));
        out.push((format!("{folder}/email.eml"), eml));
        out.extend(pngs.into_iter().map(|(name, bytes)| (format!("{folder}/{name}"), bytes)));
        Ok(out)
    };
    // One book per core at a time; DuckDB is done.
    let books = parallel::map(&owners, parallel::cores(), one);
    Ok(books.into_iter().collect::<Result<Vec<_>>>()?.into_iter().flatten().collect())
}

/// The months in which a monthly table has no rows, and the metrics left
/// null there because of it.
fn empty_month_warnings(catalog: &Catalog, computed: &engine::Computed, empty: &BTreeMap<&'static str, Vec<Month>>) -> Vec<String> {
    let mut out = Vec::new();
    for (table, months) in empty {
        let hit: Vec<&str> = computed
            .runs
            .iter()
            .filter(|r| catalog.metric(&r.metric).and_then(|m| m.versions.get(&r.version)).is_some_and(|v| v.needs.iter().any(|n| n == table)))
            .map(|r| r.metric.as_str())
            .collect();
        if !hit.is_empty() {
            out.push(format!(
                "not available: {table} has no rows for {}, so {} are not available for those months",
                freshness::month_list(months),
                hit.join(", ")
            ));
        }
    }
    out
}

/// Things a reader should know that do not stop the run.
fn warnings(catalog: &Catalog, tables: &[LoadedTable], rows: &[MetricRow], period: Period) -> Vec<String> {
    let mut out = Vec::new();
    for t in tables {
        // Without an `owner` column there are simply no books of business.
        let missing: Vec<&str> = t.missing_columns.iter().copied().filter(|c| !(t.table == "customers" && *c == "owner")).collect();
        if !missing.is_empty() {
            out.push(format!(
                "{} has no column {}: read as empty",
                t.table,
                missing.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
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
        out.push(format!("{} rests on {answers} answer(s) this {}: too few to read much into", metric.title, period.kind().noun()));
    }
    out
}

/// One checksum over every input file (name, size and SHA-256).
fn inputs_fingerprint(tables: &[LoadedTable], raw: &[RawTable]) -> String {
    let listing: String = tables
        .iter()
        .flat_map(|t| t.files.iter().map(move |f| format!("{} {} {} {}\n", t.table, f.path.display(), f.bytes, f.sha256)))
        .chain(raw.iter().flat_map(|r| r.files.iter().map(move |f| format!("raw.{} {} {} {}\n", r.name, f.path.display(), f.bytes, f.sha256))))
        .collect();
    sha256_bytes(listing.as_bytes())
}

#[allow(clippy::too_many_arguments)]
/// What identifies a run and what it found against the history, for its
/// manifest.
struct RunRecord<'a> {
    id: &'a str,
    started_at: chrono::DateTime<Utc>,
    inputs_sha256: &'a str,
    restatements: &'a [Restatement],
    inputs_by_month: &'a [InputMonth],
}

fn manifest(
    req: &RunRequest,
    catalog: &Catalog,
    checked: &Checked,
    computed: &engine::Computed,
    files: &[(String, Vec<u8>)],
    timings: &Timings,
    record: &RunRecord,
) -> String {
    let RunRecord { id: run_id, started_at, inputs_sha256, restatements, inputs_by_month } = *record;
    let (tables, raw, freshness) = (&checked.tables, &checked.raw, &checked.verdicts);
    let inputs: Vec<serde_json::Value> = tables
        .iter()
        .map(|t| {
            let mut entry = json!({
                "table": t.table,
                "present": t.present(),
                "format": t.format,
                "rows": t.rows,
                "missing_columns": t.missing_columns,
                "files": t.files,
                "staged": t.staging.is_some(),
            });
            if let Some(rollups) = t.rollups.as_ref().filter(|_| t.present()) {
                entry["rollups"] = json!(rollups);
            }
            entry
        })
        .collect();
    // Megabytes of books to hash: on every core.
    let hashed = parallel::chunked(files, parallel::cores(), |part| {
        part.iter()
            .map(|(name, bytes)| (name.clone(), manifest::Output { bytes: bytes.len(), sha256: sha256_bytes(bytes) }))
            .collect::<Vec<_>>()
    });
    let outputs: BTreeMap<String, manifest::Output> = hashed.into_iter().flatten().collect();
    let manifest = Manifest {
        schema_version: manifest::SCHEMA_VERSION,
        tool: manifest::Tool { name: "cs-report".into(), version: env!("CARGO_PKG_VERSION").into() },
        period: req.period.to_string(),
        run: manifest::Run {
            id: run_id.to_string(),
            started_at: started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            finished_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            timings_ms: timings.stages.iter().map(|(k, v)| (k.to_string(), json!(v))).collect(),
        },
        config: to_json(&req.config),
        periods_computed: manifest::Span { first: computed.first_period.to_string(), last: req.period.to_string() },
        inputs,
        raw_inputs: to_json(&raw),
        shared_sql: catalog
            .shared
            .iter()
            .chain(catalog.checks.iter())
            .map(|s| manifest::SqlRun {
                file: s.name.clone(),
                sha256: s.sha256.clone(),
                millis: computed.shared_runs.iter().find(|(n, _)| *n == s.name).map(|(_, ms)| *ms),
            })
            .collect(),
        metrics: computed.runs.clone(),
        unavailable: computed.unavailable.clone(),
        restatements: restatements.to_vec(),
        freshness: freshness.iter().map(to_json).collect(),
        inputs_sha256: inputs_sha256.to_string(),
        inputs_by_month: inputs_by_month.to_vec(),
        outputs,
        sends: Vec::new(),
    };
    manifest.text()
}

/// What `cs-report validate` found: a per-table summary, the problems and
/// the freshness verdicts.
pub struct Validation {
    pub lines: Vec<String>,
    pub problems: Vec<Problem>,
    pub verdicts: Vec<freshness::Verdict>,
}

/// `cs-report validate`: loads and checks, as `run` would, and says why a
/// run would refuse.
pub fn validate(config: &Config, period: Period) -> Result<Validation> {
    let checked = load_and_check(config, &Window::new(period, config.trend_months), rollups::Use::ReadOnly, &mut Timings::default())?;
    let mut lines = validate::summary(&checked.db.conn, &checked.tables)?;
    for (line, table) in lines.iter_mut().zip(&checked.tables) {
        let n = checked.problems.iter().filter(|p| p.table == table.table).count();
        if table.present() {
            line.push_str(&if n == 0 { ", no problems".to_string() } else { format!(", {n} problem(s)") });
        }
    }
    for r in &checked.raw {
        let files: Vec<String> = r.files.iter().map(|f| f.path.display().to_string()).collect();
        lines.push(format!("raw {:<13} {} rows ({})", r.name, r.rows, files.join(", ")));
    }
    if checked.problems.is_empty() {
        for w in validate::warnings(&checked.db.conn, &checked.tables, period.last_month())? {
            lines.push(format!("warning: {w}"));
        }
    }
    for v in &checked.verdicts {
        lines.push(format!("freshness {v}"));
    }
    refuse_empty_tables(&checked.tables, false)?;
    Ok(Validation { lines, problems: checked.problems, verdicts: checked.verdicts })
}
