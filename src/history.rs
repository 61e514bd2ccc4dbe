//! The history store: every published run's metric values, in a DuckDB file
//! in the output root, so a rerun of a period can show which published
//! numbers it changes (restatements).

use std::path::{Path, PathBuf};

use duckdb::{params, Connection, OptionalExt};
use serde::Serialize;

use crate::engine::MetricRow;
use crate::error::{Error, Result};
use crate::format::plain;
use crate::period::Month;

pub const HISTORY_FILE: &str = "history.duckdb";

/// A published number that the new run changes.
#[derive(Debug, Clone, Serialize)]
pub struct Restatement {
    pub metric: String,
    pub dimension: String,
    pub segment: String,
    pub published_version: String,
    pub version: String,
    pub published: Option<f64>,
    pub value: Option<f64>,
    pub change: Option<f64>,
    /// The run that published the old number.
    pub published_run: String,
}

pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl History {
    /// Opens (or creates) the store in `root`.
    pub fn open(root: &Path) -> Result<History> {
        let path = root.join(HISTORY_FILE);
        let conn = Connection::open(&path).map_err(|e| Error::Input(format!("cannot open the history store {}: {e}", path.display())))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, period VARCHAR, published_at TIMESTAMP, \
                 tool_version VARCHAR, inputs_sha256 VARCHAR); \
             CREATE TABLE IF NOT EXISTS metric_values (run_id VARCHAR, period VARCHAR, metric VARCHAR, version VARCHAR, \
                 dimension VARCHAR, segment VARCHAR, value DOUBLE, value_text VARCHAR);",
        )
        .map_err(Error::db(format!("preparing the history store {}", path.display())))?;
        Ok(History { conn, path })
    }

    /// The numbers of the last published run of `period` that `rows` change.
    /// Values compare as published (rounded to the digits of metrics.csv).
    pub fn restatements(&self, period: Month, rows: &[&MetricRow]) -> Result<Vec<Restatement>> {
        let step = || Error::db(format!("reading the history store {}", self.path.display()));
        let last: Option<String> = self
            .conn
            .query_row(
                "SELECT run_id FROM runs WHERE period = ? ORDER BY published_at DESC, run_id DESC LIMIT 1",
                [period.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(step())?;
        let Some(run) = last else { return Ok(Vec::new()) };
        let mut stmt = self
            .conn
            .prepare("SELECT metric, version, dimension, segment, value, value_text FROM metric_values WHERE run_id = ?")
            .map_err(step())?;
        let published: Vec<(String, String, String, String, Option<f64>, String)> = stmt
            .query_map([&run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .map_err(step())?
            .collect::<std::result::Result<_, _>>()
            .map_err(step())?;
        let mut out = Vec::new();
        for row in rows {
            let old = published
                .iter()
                .find(|(m, _, d, s, _, _)| *m == row.metric && *d == row.dimension && *s == row.segment);
            if let Some((_, old_version, _, _, old_value, old_text)) = old {
                if *old_text != plain(row.value) {
                    out.push(Restatement {
                        metric: row.metric.clone(),
                        dimension: row.dimension.clone(),
                        segment: row.segment.clone(),
                        published_version: old_version.clone(),
                        version: row.version.clone(),
                        published: *old_value,
                        value: row.value,
                        change: row.value.zip(*old_value).map(|(new, old)| new - old),
                        published_run: run.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Starts recording a run; nothing is visible until [`Pending::commit`].
    pub fn record(&self, run_id: &str, period: Month, inputs_sha256: &str, rows: &[&MetricRow]) -> Result<Pending<'_>> {
        let step = || Error::db(format!("writing the history store {}", self.path.display()));
        self.conn.execute_batch("BEGIN TRANSACTION").map_err(step())?;
        self.conn
            .execute(
                "INSERT INTO runs VALUES (?, ?, now(), ?, ?)",
                params![run_id, period.to_string(), env!("CARGO_PKG_VERSION"), inputs_sha256],
            )
            .map_err(step())?;
        // One appender, not an INSERT per row (hundreds of statements cost a
        // quarter of a second).
        let mut appender = self.conn.appender("metric_values").map_err(step())?;
        for r in rows {
            appender
                .append_row(params![run_id, period.to_string(), r.metric, r.version, r.dimension, r.segment, r.value, plain(r.value)])
                .map_err(step())?;
        }
        appender.flush().map_err(step())?;
        Ok(Pending { history: self, done: false })
    }
}

/// A recorded run not yet committed: dropped without commit, it is rolled back.
pub struct Pending<'a> {
    history: &'a History,
    done: bool,
}

impl Pending<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.history
            .conn
            .execute_batch("COMMIT")
            .map_err(Error::db(format!("writing the history store {}", self.history.path.display())))
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.history.conn.execute_batch("ROLLBACK");
        }
    }
}
