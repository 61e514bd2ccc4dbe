//! The machine-readable outputs (metrics.csv, metrics.json, series.csv) and
//! publishing the period folder: everything is written into a hidden
//! folder beside the final one and moved into place at the end.

pub mod fault;
pub mod history;
pub mod lock;
pub mod restate;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};
use crate::publish::history::History;
use crate::publish::lock::RootLock;
use crate::metrics::catalog::Catalog;
use crate::model::rows::{CohortRow, CustomerRow, MetricRow, Restatement, SeriesRow};
use crate::parallel;
use crate::model::period::Period;
use crate::model::text::{csv_field, json_number, plain, plain_diff};

pub const METRIC_COLUMNS: [&str; 8] = ["period", "metric", "version", "dimension", "segment", "value", "unit", "low_sample"];
const TREND_COLUMNS: [&str; 15] = [
    "prev_value",
    "change_abs",
    "change_pct",
    "year_ago_value",
    "change_yoy_abs",
    "change_yoy_pct",
    "rolling_mean_3m",
    "slope_6m",
    "zscore_12m",
    "anomaly",
    "benchmark_status",
    "worse_3m",
    "flagged",
    "flag_reasons",
    "direction",
];

fn unit_of(catalog: &Catalog, metric: &str) -> &'static str {
    catalog.metric(metric).map_or("", |m| m.unit.as_str())
}

fn metric_cells(catalog: &Catalog, row: &MetricRow) -> Vec<String> {
    vec![
        row.period.to_string(),
        row.metric.clone(),
        row.version.clone(),
        csv_field(&row.dimension),
        csv_field(&row.segment),
        plain(row.value),
        unit_of(catalog, &row.metric).to_string(),
        row.low_sample.to_string(),
    ]
}

/// `metrics.csv`: one row per (metric, dimension, segment) of the period.
pub fn metrics_csv(catalog: &Catalog, rows: &[&MetricRow]) -> String {
    let mut out = METRIC_COLUMNS.join(",") + "\n";
    for row in rows {
        out.push_str(&metric_cells(catalog, row).join(","));
        out.push('\n');
    }
    out
}

/// `metrics.json`: the rows of `metrics.csv` as an array of objects.
pub fn metrics_json(catalog: &Catalog, rows: &[&MetricRow], restatements: &[Restatement]) -> String {
    let mut by_slice: BTreeMap<(&str, &str, &str), Vec<&Restatement>> = BTreeMap::new();
    for x in restatements {
        by_slice.entry((&x.metric, &x.dimension, &x.segment)).or_default().push(x);
    }
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            // The figures of this metric and slice, of this period or an
            // earlier one, that differ from what was published for them.
            let restated: Vec<serde_json::Value> = by_slice
                .get(&(r.metric.as_str(), r.dimension.as_str(), r.segment.as_str()))
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|x| {
                    json!({
                        "period": x.period,
                        "published": json_number(x.published),
                        "value": json_number(x.value),
                        "change": json_number(x.change),
                        "published_version": x.published_version,
                        "published_run": x.published_run,
                        "cause": x.cause,
                    })
                })
                .collect();
            json!({
                "period": r.period.to_string(),
                "metric": r.metric,
                "version": r.version,
                "dimension": r.dimension,
                "segment": r.segment,
                "value": json_number(r.value),
                "unit": unit_of(catalog, &r.metric),
                "low_sample": r.low_sample,
                "restated": restated,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("JSON values serialise") + "\n"
}

/// `series.csv`: every month of the trend window with the trend columns.
pub fn series_csv(catalog: &Catalog, series: &[SeriesRow]) -> String {
    let mut out = METRIC_COLUMNS.iter().chain(TREND_COLUMNS.iter()).copied().collect::<Vec<_>>().join(",") + "\n";
    // Tens of thousands of rows with owners: formatted on every core.
    for part in parallel::chunked(series, parallel::cores(), |rows| series_rows(catalog, rows)) {
        out.push_str(&part);
    }
    out
}

fn series_rows(catalog: &Catalog, series: &[SeriesRow]) -> String {
    let mut out = String::new();
    for s in series {
        let mut cells = metric_cells(catalog, &s.row);
        let direction = catalog.metric(&s.row.metric).map_or("", |m| m.direction.as_str()).to_string();
        cells.extend([
            plain(s.trend.prev_value),
            // Differences from the values' digits: exact for money.
            plain_diff(s.row.value, s.trend.prev_value),
            plain(s.trend.change_pct),
            plain(s.trend.year_ago_value),
            plain_diff(s.row.value, s.trend.year_ago_value),
            plain(s.trend.change_yoy_pct),
            plain(s.trend.rolling_mean_3m),
            plain(s.trend.slope_6m),
            plain(s.trend.zscore_12m),
            s.trend.anomaly.to_string(),
            s.trend.benchmark_status.unwrap_or("").to_string(),
            s.trend.worse_3m.to_string(),
            s.trend.flagged.to_string(),
            csv_field(&s.trend.flag_reasons.join("; ")),
            direction,
        ]);
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// `customers.csv`: every active customer of the period with MRR, health,
/// band and components (empty cells where a component is null).
pub fn customers_csv(customers: &[CustomerRow]) -> String {
    let mut out = String::from(
        "customer_id,name,segment,region,mrr,health,band,usage,sentiment,support,revenue,prev_health,prev_band,\
         owner,prev_mrr,last_usage,open_tickets,detractor_answers,term_end,scheduled_to_cancel\n",
    );
    for part in parallel::chunked(customers, parallel::cores(), customer_rows) {
        out.push_str(&part);
    }
    out
}

fn customer_rows(customers: &[CustomerRow]) -> String {
    lines(customers, |c| {
        let mut cells = c.lead_cells().to_vec();
        cells.extend([
            c.band.clone().unwrap_or_default(),
            plain(c.usage),
            plain(c.sentiment),
            plain(c.support),
            plain(c.revenue),
            plain(c.prev_health),
            c.prev_band.clone().unwrap_or_default(),
            csv_field(&c.owner),
            plain(Some(c.prev_mrr)),
            c.last_usage.map(|d| d.to_string()).unwrap_or_default(),
            c.open_tickets.to_string(),
            c.detractor_answers.to_string(),
            c.term_end.map(|d| d.to_string()).unwrap_or_default(),
            c.cancels_on.map(|d| d.to_string()).unwrap_or_default(),
        ]);
        cells
    })
}

/// One CSV line of cells per row.
fn lines<T>(rows: &[T], cells: impl Fn(&T) -> Vec<String>) -> String {
    let mut out = String::new();
    for row in rows {
        out.push_str(&cells(row).join(","));
        out.push('\n');
    }
    out
}

/// `cohorts.csv`: the cohort triangles (METRICS.md's columns first, then
/// the slice as in metrics.csv).
pub fn cohorts_csv(cohorts: &[CohortRow]) -> String {
    let header = "cohort,age,customers,active,logo_retention,mrr,revenue_retention,dimension,segment\n";
    header.to_string()
        + &lines(cohorts, |c| {
            vec![
                c.cohort.to_string(),
                c.age.to_string(),
                c.customers.to_string(),
                c.active.to_string(),
                plain(c.logo_retention),
                plain(Some(c.mrr)),
                plain(c.revenue_retention),
                csv_field(&c.dimension),
                csv_field(&c.segment),
            ]
        })
}

/// `restatements.csv`: every published number of the period that this run
/// changes (the report shows the largest; this is the whole list).
pub fn restatements_csv(restatements: &[Restatement]) -> String {
    let header = "metric,period,published_version,version,dimension,segment,published,value,change,published_run,cause\n";
    header.to_string()
        + &lines(restatements, |r| {
            vec![
                r.metric.clone(),
                r.period.clone(),
                r.published_version.clone(),
                r.version.clone(),
                csv_field(&r.dimension),
                csv_field(&r.segment),
                plain(r.published),
                plain(r.value),
                plain_diff(r.value, r.published),
                r.published_run.clone(),
                csv_field(&r.cause),
            ]
        })
}

/// The output root of one command, locked while it lives (one run or send
/// at a time), with its history store. The only place that spells a path
/// under the root is here and in [`period_folder`].
pub struct OutputRoot {
    pub history: History,
    path: PathBuf,
    // Dropped last: the lock outlives every use of the root.
    _lock: RootLock,
}

impl OutputRoot {
    /// Takes the root's lock and opens its history store (`new_history`:
    /// start one on purpose where it is missing or unreadable).
    pub fn open(path: &Path, new_history: bool) -> Result<OutputRoot> {
        let lock = RootLock::acquire(path)?;
        let history = History::open(path, new_history)?;
        Ok(OutputRoot { history, path: path.to_path_buf(), _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Settles what a run that died in this root left half done.
    pub fn recover(&self) -> Result<()> {
        self.history.recover(&self.path)
    }

    /// Publishes `files` as the period's folder (see [`publish`]).
    pub fn publish(&self, period: Period, files: &[(String, Vec<u8>)]) -> Result<PathBuf> {
        publish(&self.path, period, files)
    }

    /// Settles a run that failed to publish, by what is on disk (whether it
    /// was published after all).
    pub fn resolve(&self, run_id: &str, period: Period) -> Result<bool> {
        self.history.resolve(&self.path, run_id, &period.to_string())
    }
}

/// `<root>/<period>/`, where a period's report is published.
pub fn period_folder(root: &Path, period: Period) -> PathBuf {
    root.join(period.to_string())
}

/// Writes `files` as `<root>/<period>/`, all or nothing: they go into a
/// hidden staging folder in `root` first, which then replaces the old folder
/// in one atomic step. The caller holds the root's lock ([`OutputRoot`]).
fn publish(root: &Path, period: Period, files: &[(String, Vec<u8>)]) -> Result<PathBuf> {
    fs::create_dir_all(root).map_err(Error::io("creating output folder", root))?;
    let final_dir = period_folder(root, period);
    // The caller holds the root's lock, so any staging folder left here is
    // from a run that died: sweep it.
    let prefix = format!(".{period}.staging-");
    for entry in fs::read_dir(root).map_err(Error::io("listing", root))?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            fs::remove_dir_all(entry.path()).map_err(Error::io("removing stale staging folder", entry.path()))?;
        }
    }
    let staging = root.join(format!("{prefix}{}", std::process::id()));
    fs::create_dir(&staging).map_err(Error::io("creating staging folder", &staging))?;
    let staged = (|| -> Result<()> {
        for (name, bytes) in files {
            let path = staging.join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(Error::io("creating folder", parent))?;
            }
            fs::write(&path, bytes).map_err(Error::io("writing", &path))?;
            fault::point("publish.write")?;
        }
        sync_dir(&staging)?;
        fault::point("publish.staged")
    })();
    if let Err(e) = staged {
        // Nothing was swapped in: leave no half-written folder behind.
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let previous = final_dir.exists();
    if previous {
        // One atomic step swaps the new folder in and the old one out, so the
        // period folder is always one complete report, whenever a run dies.
        exchange(&staging, &final_dir)?;
    } else {
        fs::rename(&staging, &final_dir).map_err(Error::io("publishing", &final_dir))?;
    }
    // Published: what follows only tidies up, and its failure (a previous
    // report that cannot be removed, a full disk) is a warning, not a
    // failed run.
    if let Err(e) = tidy_after_swap(root, &staging, previous) {
        crate::log::warn(&format!(
            "the report of {period} is published in {}, but tidying up after it failed: {e}",
            final_dir.display()
        ));
    }
    Ok(final_dir)
}

/// After the swap: removes the previous report (now in `staging`) and
/// syncs the root's entry list.
fn tidy_after_swap(root: &Path, staging: &Path, previous: bool) -> Result<()> {
    fault::point("publish.swapped")?;
    if previous {
        fs::remove_dir_all(staging).map_err(|e| {
            Error::io("removing the previous report (remove it by hand)", staging)(e)
        })?;
    }
    // The rename itself: the root's own entry list, not every report in it.
    fs::File::open(root).and_then(|f| f.sync_all()).map_err(Error::io("syncing", root))?;
    fault::point("publish.cleaned")
}

/// Atomically swaps two directories (Linux `renameat2` with `RENAME_EXCHANGE`).
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::Usage(format!("path {} holds a NUL byte", p.display())));
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both arguments are valid NUL-terminated paths that outlive the call.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::io("publishing (swapping in)", b)(std::io::Error::last_os_error()))
    }
}

/// Syncs the files of `dir` and of its sub-folders (`charts/`, the books
/// of business), then the folders. A report with books has a few hundred
/// files: their `fsync`s go out from several threads at once, so the disk
/// commits them together instead of one round trip each.
fn sync_dir(dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    collect(dir, &mut files, &mut dirs)?;
    let synced = parallel::chunked(&files, 8, |part| {
        part.iter().try_for_each(|path| fs::File::open(path).and_then(|f| f.sync_all()).map_err(Error::io("syncing", path)))
    });
    synced.into_iter().collect::<Result<()>>()?;
    // Deepest first, `dir` last.
    for d in dirs.iter().rev() {
        fs::File::open(d).and_then(|f| f.sync_all()).map_err(Error::io("syncing", d))?;
    }
    Ok(())
}

/// Every file under `dir` into `files` and every folder (`dir` first) into
/// `dirs`, skipping hidden ones.
fn collect(dir: &Path, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) -> Result<()> {
    dirs.push(dir.to_path_buf());
    for entry in fs::read_dir(dir).map_err(Error::io("listing", dir))?.flatten() {
        let path = entry.path();
        if path.is_file() {
            files.push(path);
        } else if path.is_dir() && !entry.file_name().to_string_lossy().starts_with('.') {
            collect(&path, files, dirs)?;
        }
    }
    Ok(())
}
