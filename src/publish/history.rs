//! The history store: every published run's metric values, in a DuckDB file
//! in the output root, so a rerun of a period can show which published
//! numbers it changes (restatements).
//!
//! A run is recorded *before* its folder is swapped in, as `pending`
//! (committed and synced), and confirmed as `published` after the swap. A
//! run that dies in between leaves a pending record; the next run resolves
//! it from what is on disk: the folder in place carries the pending run's
//! id (its manifest) → confirmed; it does not → rolled back. So after any
//! kill or I/O error the published folders and the history agree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use duckdb::{params, Connection, OptionalExt};

use crate::error::{Error, Result};
use crate::model::rows::{InputMonth, MetricRow, Restatement, SendRecord};
use crate::model::period::Period;
use crate::publish::fault;
use crate::model::text::plain;

pub const HISTORY_FILE: &str = "history.duckdb";

pub struct History {
    conn: Connection,
    path: PathBuf,
}

/// The period folders already published in `root` (a period id holding a
/// manifest).
pub fn published_periods(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            (Period::is_id(&name) && e.path().join("manifest.json").is_file()).then_some(name)
        })
        .collect();
    out.sort();
    out
}

/// The run id written in a published folder's manifest.
fn manifest_run_id(folder: &Path) -> Option<String> {
    crate::model::manifest::Manifest::read(folder).ok().map(|m| m.run.id)
}

/// Whether opening a DuckDB file failed because another process holds its
/// lock (DuckDB reports it only in words): busy, not broken.
fn held_elsewhere(e: &duckdb::Error) -> bool {
    e.to_string().contains("Conflicting lock")
}

impl History {
    /// Opens the store in `root`. A store that is missing while reports are
    /// already published there, or that cannot be read, is an error: a
    /// fresh one would silently forget what was published (and disable
    /// `--fail-on-restatement`). `start_new` starts one on purpose, moving a
    /// broken file aside.
    pub fn open(root: &Path, start_new: bool) -> Result<History> {
        let path = root.join(HISTORY_FILE);
        let published = published_periods(root);
        if !path.exists() && !published.is_empty() && !start_new {
            return Err(Error::Input(format!(
                "the history store {} is missing, but {} holds published reports ({}). Restore it from a backup, \
                 or start a new history on purpose with --new-history (restatements of the reports already \
                 published can then not be shown)",
                path.display(),
                root.display(),
                published.join(", ")
            )));
        }
        let conn = match Connection::open(&path) {
            Ok(conn) => conn,
            Err(e) if held_elsewhere(&e) => {
                return Err(Error::NotReady(format!(
                    "the history store {} is open in another program ({e}); close it (a DuckDB shell, a backup) and run \
                     again",
                    path.display()
                )))
            }
            Err(e) if start_new => {
                let aside = root.join(format!("{HISTORY_FILE}.broken-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
                std::fs::rename(&path, &aside).map_err(Error::io("moving the unreadable history store aside", &path))?;
                crate::log::warn(&format!("the history store could not be read ({e}); moved to {} and started anew", aside.display()));
                Connection::open(&path).map_err(|e| Error::Input(format!("cannot create the history store {}: {e}", path.display())))?
            }
            Err(e) => {
                return Err(Error::Input(format!(
                    "cannot read the history store {}: {e}. Restore it from a backup, or start a new history on \
                     purpose with --new-history (the unreadable file is then moved aside)",
                    path.display()
                )))
            }
        };
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, period VARCHAR, published_at TIMESTAMP, \
                 tool_version VARCHAR, inputs_sha256 VARCHAR); \
             ALTER TABLE runs ADD COLUMN IF NOT EXISTS state VARCHAR DEFAULT 'published'; \
             CREATE TABLE IF NOT EXISTS metric_values (run_id VARCHAR, period VARCHAR, metric VARCHAR, version VARCHAR, \
                 dimension VARCHAR, segment VARCHAR, value DOUBLE, value_text VARCHAR); \
             CREATE TABLE IF NOT EXISTS sends (run_id VARCHAR, period VARCHAR, message_id VARCHAR, sent_at VARCHAR, \
                 recipients VARCHAR[], fingerprint VARCHAR); \
             ALTER TABLE sends ADD COLUMN IF NOT EXISTS message VARCHAR; \
             ALTER TABLE sends ADD COLUMN IF NOT EXISTS state VARCHAR DEFAULT 'sent'; \
             CREATE TABLE IF NOT EXISTS input_months (run_id VARCHAR, tbl VARCHAR, month VARCHAR, rows BIGINT, \
                 amount DOUBLE, checksum VARCHAR);",
        )
        .map_err(|e| {
            Error::Input(format!(
                "cannot read the history store {}: {e}. Restore it from a backup, or start a new history on purpose \
                 with --new-history",
                path.display()
            ))
        })?;
        Ok(History { conn, path })
    }

    fn step(&self, what: &str) -> impl FnOnce(duckdb::Error) -> Error {
        Error::db(format!("{what} the history store {}", self.path.display()))
    }

    /// Resolves the pending records of runs that died between recording and
    /// confirming: confirmed when their folder is in place, else removed.
    pub fn recover(&self, root: &Path) -> Result<()> {
        let mut stmt = self.conn.prepare("SELECT run_id, period FROM runs WHERE state = 'pending'").map_err(self.step("reading"))?;
        let pending: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.step("reading"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.step("reading"))?;
        for (run, period) in pending {
            let published = self.resolve(root, &run, &period)?;
            crate::log::warn(&if published {
                format!("completed the record of run {run} of {period}: its report was published, the run stopped before confirming it")
            } else {
                format!("removed the record of run {run} of {period}: the run stopped before its report was published")
            });
        }
        Ok(())
    }

    /// Settles one pending run by what is on disk; true when its report is
    /// the one published.
    pub fn resolve(&self, root: &Path, run_id: &str, period: &str) -> Result<bool> {
        if manifest_run_id(&root.join(period)).as_deref() == Some(run_id) {
            self.confirm(run_id)?;
            Ok(true)
        } else {
            self.remove(run_id)?;
            Ok(false)
        }
    }

    /// The last published run of `period`.
    fn last_published(&self, period: Period) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT run_id FROM runs WHERE period = ? AND state = 'published' ORDER BY published_at DESC, run_id DESC LIMIT 1",
                [period.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.step("reading"))
    }

    /// A value of the last published run of `period` (`None` when there is
    /// no such run or row).
    pub fn published_value(&self, period: Period, metric: &str) -> Result<Option<f64>> {
        let Some(run) = self.last_published(period)? else { return Ok(None) };
        self.conn
            .query_row(
                "SELECT value FROM metric_values WHERE run_id = ? AND metric = ? AND dimension = 'all' AND segment = 'all'",
                [&run, metric],
                |r| r.get::<_, Option<f64>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(self.step("reading"))
    }

    /// The published numbers that `rows` change: for each period in
    /// `periods`, its last published run's values against this run's rows
    /// of that period, most recent period first. Values compare as
    /// published (the text of metrics.csv).
    pub fn restatements(&self, periods: &[Period], rows: &[MetricRow]) -> Result<Vec<Restatement>> {
        let mut periods = periods.to_vec();
        periods.sort_by(|a, b| b.cmp(a));
        let mut out = Vec::new();
        for period in periods {
            let Some(run) = self.last_published(period)? else { continue };
            let published = self.values_of(&run)?;
            for row in rows.iter().filter(|r| r.period == period) {
                let key = (row.metric.clone(), row.dimension.clone(), row.segment.clone());
                let Some((old_version, old_value, old_text)) = published.get(&key) else { continue };
                if *old_text != plain(row.value) {
                    out.push(Restatement {
                        metric: row.metric.clone(),
                        period: period.to_string(),
                        dimension: row.dimension.clone(),
                        segment: row.segment.clone(),
                        published_version: old_version.clone(),
                        version: row.version.clone(),
                        published: *old_value,
                        value: row.value,
                        change: row.value.zip(*old_value).map(|(new, old)| new - old),
                        published_run: run.clone(),
                        cause: String::new(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// A published run's values by (metric, dimension, segment): version,
    /// value, and the value as published.
    fn values_of(&self, run: &str) -> Result<HashMap<(String, String, String), (String, Option<f64>, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT metric, dimension, segment, version, value, value_text FROM metric_values WHERE run_id = ?")
            .map_err(self.step("reading"))?;
        let rows = stmt
            .query_map([run], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), (r.get(3)?, r.get(4)?, r.get(5)?))))
            .map_err(self.step("reading"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.step("reading"));
        rows
    }

    /// What a run read, per table and month (empty for runs recorded
    /// before the store kept it).
    pub fn inputs_of(&self, run: &str) -> Result<Vec<InputMonth>> {
        let mut stmt = self
            .conn
            .prepare("SELECT tbl, month, rows, amount, checksum FROM input_months WHERE run_id = ? ORDER BY tbl, month")
            .map_err(self.step("reading"))?;
        let rows = stmt
            .query_map([run], |r| Ok(InputMonth { table: r.get(0)?, month: r.get(1)?, rows: r.get(2)?, amount: r.get(3)?, checksum: r.get(4)? }))
            .map_err(self.step("reading"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.step("reading"));
        rows
    }

    /// Records a run as pending, committed and synced to disk before its
    /// folder is published; [`History::confirm`] marks it published.
    pub fn record_pending(&self, run_id: &str, period: Period, inputs_sha256: &str, rows: &[&MetricRow], inputs: &[InputMonth]) -> Result<()> {
        let conn = &self.conn;
        conn.execute_batch("BEGIN TRANSACTION").map_err(self.step("writing"))?;
        let written = (|| -> Result<()> {
            conn.execute(
                "INSERT INTO runs (run_id, period, published_at, tool_version, inputs_sha256, state) VALUES (?, ?, now(), ?, ?, 'pending')",
                params![run_id, period.to_string(), env!("CARGO_PKG_VERSION"), inputs_sha256],
            )
            .map_err(self.step("writing"))?;
            // One appender, not an INSERT per row (hundreds of statements cost a
            // quarter of a second).
            let mut appender = conn.appender("metric_values").map_err(self.step("writing"))?;
            for r in rows {
                appender
                    .append_row(params![run_id, period.to_string(), r.metric, r.version, r.dimension, r.segment, r.value, plain(r.value)])
                    .map_err(self.step("writing"))?;
            }
            appender.flush().map_err(self.step("writing"))?;
            let mut appender = conn.appender("input_months").map_err(self.step("writing"))?;
            for m in inputs {
                appender.append_row(params![run_id, m.table, m.month, m.rows, m.amount, m.checksum]).map_err(self.step("writing"))?;
            }
            appender.flush().map_err(self.step("writing"))?;
            fault::point("history.write")?;
            Ok(())
        })();
        if let Err(e) = written {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        conn.execute_batch("COMMIT").map_err(self.step("writing"))?;
        self.sync()
    }

    /// Marks a pending run as published.
    pub fn confirm(&self, run_id: &str) -> Result<()> {
        fault::point("history.confirm")?;
        self.conn
            .execute("UPDATE runs SET state = 'published' WHERE run_id = ?", [run_id])
            .map_err(self.step("writing"))?;
        self.sync()
    }

    /// Removes a pending run whose report was not published.
    pub fn remove(&self, run_id: &str) -> Result<()> {
        self.conn
            .execute_batch(&format!(
                "BEGIN TRANSACTION; DELETE FROM metric_values WHERE run_id = {id}; DELETE FROM input_months WHERE run_id = {id}; DELETE FROM runs WHERE run_id = {id}; COMMIT;",
                id = crate::db::literal(run_id)
            ))
            .map_err(self.step("writing"))?;
        self.sync()
    }

    /// Records an email about to be sent (`sending`), committed before the
    /// SMTP `DATA`: a crash after it leaves the record that tells the next
    /// send to reuse its Message-ID.
    pub fn begin_send(&self, send: &SendRecord) -> Result<()> {
        self.conn
            .execute("DELETE FROM sends WHERE message_id = ? AND state = 'sending'", [&send.message_id])
            .map_err(self.step("writing"))?;
        self.insert_send(send, "sending")
    }

    /// Marks an email sent.
    pub fn record_send(&self, send: &SendRecord) -> Result<()> {
        let updated = self
            .conn
            .execute(
                "UPDATE sends SET state = 'sent', sent_at = ? WHERE message_id = ? AND state = 'sending'",
                params![send.sent_at, send.message_id],
            )
            .map_err(self.step("writing"))?;
        if updated == 0 {
            self.insert_send(send, "sent")?;
        }
        self.sync()
    }

    fn insert_send(&self, send: &SendRecord, state: &str) -> Result<()> {
        let recipients = format!("[{}]", send.recipients.iter().map(|r| crate::db::literal(r)).collect::<Vec<_>>().join(", "));
        self.conn
            .execute(
                &format!(
                    "INSERT INTO sends (run_id, period, message_id, sent_at, recipients, fingerprint, message, state) \
                     VALUES (?, ?, ?, ?, {recipients}, ?, ?, ?)"
                ),
                params![send.run_id, send.period, send.message_id, send.sent_at, send.fingerprint, send.message, state],
            )
            .map_err(self.step("writing"))?;
        self.sync()
    }

    /// The emails sent of `period`, oldest first.
    pub fn sends(&self, period: Period) -> Result<Vec<SendRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, period, message_id, sent_at, array_to_string(recipients, chr(10)), fingerprint, \
                 coalesce(message, 'summary') FROM sends WHERE period = ? AND coalesce(state, 'sent') = 'sent' ORDER BY sent_at",
            )
            .map_err(self.step("reading"))?;
        let rows = stmt
            .query_map([period.to_string()], |r| {
                let recipients: String = r.get(4)?;
                Ok(SendRecord {
                    run_id: r.get(0)?,
                    period: r.get(1)?,
                    message_id: r.get(2)?,
                    sent_at: r.get(3)?,
                    recipients: recipients.split('\n').map(str::to_string).collect(),
                    fingerprint: r.get(5)?,
                    message: r.get(6)?,
                })
            })
            .map_err(self.step("reading"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.step("reading"))?;
        Ok(rows)
    }

    /// Writes the store's committed state into its file (DuckDB commits go
    /// to the write-ahead log first; a checkpoint folds them in and syncs).
    fn sync(&self) -> Result<()> {
        self.conn.execute_batch("CHECKPOINT").map_err(self.step("syncing"))
    }
}
