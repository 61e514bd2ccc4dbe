//! The usage events, rolled up file by file. Events are the one export that
//! grows without bound, so they are never stored row by row. Each events
//! file goes through the rollup of `queries/_rollup/usage_events.sql`
//! (plain SQL that also runs on Spark, BigQuery or Snowflake): rows per
//! customer, month and user and per customer, month and feature, with the
//! input rules counted. `queries/_rollup/usage_summary.sql` turns those
//! into one row per customer and month, the file's summary, which the
//! rollup store ([`super::rollups`]) keeps, so a file that has not changed
//! is never read again.
//!
//! [`combine`] stacks the summaries of every file into [`AGGREGATE`]. Where
//! two files hold events of the same customer and month (a late event, a
//! file split mid-month), their summaries cannot simply add up (a user may
//! be in both): those files are rolled up again, keeping the rollup rows
//! ([`roll_up`] with [`Keep::Rows`]), and [`merge`] summarises that customer
//! and month from them. The result is the same whichever way the events are
//! split into files and whichever files were read this run; the second read
//! is only paid where files share a customer's month.

use std::path::{Path, PathBuf};

use duckdb::Connection;

use crate::db::literal;
use crate::error::{Error, Result};

/// The table the load leaves: one row per customer and month with events.
pub const AGGREGATE: &str = "usage_events_month";

/// The rollup's columns and their types in DuckDB: a rollup made here and
/// one an engine wrote are both read through these casts.
const ROLLUP_COLUMNS: &[(&str, &str)] = &[
    ("grain", "VARCHAR"),
    ("customer_id", "VARCHAR"),
    ("month_key", "BIGINT"),
    ("user_id", "VARCHAR"),
    ("feature", "VARCHAR"),
    ("events", "BIGINT"),
    ("day_mask", "BIGINT"),
    ("seconds", "DECIMAL(38,6)"),
    ("first_at", "TIMESTAMP"),
    ("last_at", "TIMESTAMP"),
    ("rows_bad_occurred_at", "BIGINT"),
    ("rows_no_occurred_at", "BIGINT"),
    ("rows_no_user_id", "BIGINT"),
    ("rows_no_feature", "BIGINT"),
    ("rows_bad_duration_seconds", "BIGINT"),
    ("rows_negative_duration_seconds", "BIGINT"),
];

/// What to write of a file's rollup, and where.
#[derive(Debug, Clone)]
pub enum Keep {
    /// Its summary (the rollup store's file).
    Summary(PathBuf),
    /// Its rollup rows, for [`merge`].
    Rows(PathBuf),
}

/// Where a reused summary is.
#[derive(Debug, Clone)]
pub enum Stored {
    /// A file of its own.
    Loose(PathBuf),
    /// Rows of the pack with this `_rollup` name.
    Packed(String),
}

/// The pack of stored summaries a run reads.
pub struct Pack {
    pub path: PathBuf,
    /// Every summary it holds is used: read whole, without the filter by
    /// name (a third of the time of reading it).
    pub whole: bool,
}

/// The text of a file of `queries/_rollup/`.
pub fn rollup_sql(name: &str) -> &'static str {
    let path = format!("_rollup/{name}");
    crate::embedded::QUERIES.iter().find(|(p, _)| *p == path).map(|(_, text)| *text).expect("queries/_rollup/ is compiled in")
}

/// The rule columns of the rollup, by the column whose rule they count.
pub fn rule_column(column: &str, rule: &str, predicate: &str) -> Option<&'static str> {
    let name = if predicate.starts_with("\"_bad_") {
        format!("rows_bad_{column}")
    } else if rule == "must not be empty" {
        format!("rows_no_{column}")
    } else if (column, rule) == ("duration_seconds", "must be 0 or more") {
        "rows_negative_duration_seconds".to_string()
    } else {
        return None;
    };
    ROLLUP_COLUMNS.iter().map(|(c, _)| *c).find(|c| *c == name)
}

fn casts(source: &str) -> String {
    let columns: Vec<String> = ROLLUP_COLUMNS.iter().map(|(c, t)| format!("CAST({c} AS {t}) AS {c}")).collect();
    format!("SELECT {} FROM {source}", columns.join(", "))
}

/// Rolls up one events file: `typed` is the SELECT of its typed rows (with
/// `_bad_` flags; `flagged` names the columns that have one), reading the
/// file bound as `param`. Writes what `keep` says and returns how many
/// events the file holds.
pub fn roll_up(conn: &Connection, typed: &str, flagged: &[&str], param: &str, keep: &Keep) -> Result<u64> {
    let flag = |c: &str| if flagged.contains(&c) { format!("\"_bad_{c}\"") } else { "false".to_string() };
    let sql = format!(
        "CREATE OR REPLACE TEMP TABLE usage_rollup AS {}",
        casts(&format!(
            "(WITH usage_events_typed AS (SELECT customer_id, user_id, occurred_at, feature, duration_seconds, \
                    {} AS bad_occurred_at, {} AS bad_duration_seconds FROM ({typed}) AS t)\n{}) AS r",
            flag("occurred_at"),
            flag("duration_seconds"),
            rollup_sql("usage_events.sql")
        ))
    );
    conn.execute(&sql, [param]).map_err(|e| Error::Input(format!("cannot read the usage events: {e}")))?;
    write(conn, keep)
}

/// Takes in a rollup an engine wrote (a Parquet file of the columns of
/// `usage_events.sql`), read as `param`; like [`roll_up`].
pub fn take_in(conn: &Connection, param: &str, shown: &Path, keep: &Keep) -> Result<u64> {
    let sql = format!("CREATE OR REPLACE TEMP TABLE usage_rollup AS {}", casts("read_parquet(?)"));
    conn.execute(&sql, [param]).map_err(|e| {
        Error::Input(format!(
            "{} is not a usage rollup as queries/_rollup/usage_events.sql makes it (columns {}): {e}",
            shown.display(),
            ROLLUP_COLUMNS.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
        ))
    })?;
    write(conn, keep)
}

/// Writes `usage_rollup` or its summary as Parquet (through a temporary
/// name, so a file in the store is always whole).
fn write(conn: &Connection, keep: &Keep) -> Result<u64> {
    let (what, to) = match keep {
        Keep::Summary(to) => (rollup_sql("usage_summary.sql"), to),
        Keep::Rows(to) => ("SELECT * FROM usage_rollup", to),
    };
    let part = to.with_extension("parquet.part");
    conn.execute_batch(&format!("COPY ({what}) TO {} (FORMAT parquet)", literal(&part.display().to_string())))
        .map_err(Error::db(format!("writing {}", to.display())))?;
    std::fs::rename(&part, to).map_err(Error::io("writing", to))?;
    let rows: i64 = conn
        .query_row("SELECT CAST(coalesce(sum(events), 0) AS BIGINT) FROM usage_rollup WHERE grain = 'user'", [], |r| r.get(0))
        .map_err(Error::db("counting the usage events"))?;
    conn.execute_batch("DROP TABLE usage_rollup").map_err(Error::db("dropping usage_rollup"))?;
    Ok(rows as u64)
}

/// Builds [`AGGREGATE`] from the summary of every events file (none: an
/// empty table of its shape), in the pack at `pack` or in files of their
/// own. Returns the indexes (into `parts`) of the files that share a
/// customer's month with another, to [`merge`].
pub fn combine(conn: &Connection, pack: Option<Pack>, parts: &[Stored]) -> Result<Vec<usize>> {
    let step = |what: &'static str| Error::db(format!("combining the usage rollups ({what})"));
    if parts.is_empty() {
        let columns: Vec<String> = ROLLUP_COLUMNS.iter().map(|(c, t)| format!("{c} {t}")).collect();
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE usage_rollup ({}); CREATE OR REPLACE TABLE {AGGREGATE} AS {}; DROP TABLE usage_rollup;",
            columns.join(", "),
            rollup_sql("usage_summary.sql")
        ))
        .map_err(step("creating"))?;
        return Ok(Vec::new());
    }
    let sources = Sources::of(pack, parts);
    conn.execute(&format!("CREATE OR REPLACE TABLE {AGGREGATE} AS {}", sources.select("*", false)), duckdb::params_from_iter(sources.params.iter()))
        .map_err(|e| Error::Input(format!("cannot read the stored usage summaries ({e}); `run --full` rebuilds them from the events")))?;
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE usage_shared AS SELECT customer_id, month_key FROM {AGGREGATE} GROUP BY ALL HAVING count(*) > 1"
    ))
    .map_err(step("finding shared months"))?;
    let any: i64 = conn.query_row("SELECT count(*) FROM usage_shared", [], |r| r.get(0)).map_err(step("finding shared months"))?;
    if any == 0 {
        conn.execute_batch("DROP TABLE usage_shared").map_err(step("tidying"))?;
        return Ok(Vec::new());
    }
    // Rare (a late event, a month split in two files): which files.
    let filter = format!("WHERE EXISTS (SELECT 1 FROM usage_shared AS s WHERE {})", same("s", "a"));
    let shared: Vec<String> = crate::db::query_all(
        conn,
        "finding the files of shared months",
        &format!("SELECT DISTINCT _source FROM ({}) AS a {filter}", sources.select("customer_id, month_key", true)),
        duckdb::params_from_iter(sources.params.iter()),
        |r| r.get(0),
    )?;
    Ok(shared.iter().filter_map(|name| sources.names.iter().position(|n| n == name)).collect())
}

/// The summaries of [`combine`] as one SELECT: the pack's rows of the
/// summaries used (by `_rollup`), then the files of their own.
struct Sources {
    parts: Vec<String>,
    packed: Vec<String>,
    /// The pack is read whole (no filter by `_rollup`).
    whole: bool,
    /// Per part, what `_source` says of its rows: its `_rollup` name, or
    /// its file's path.
    names: Vec<String>,
    params: Vec<String>,
}

impl Sources {
    fn of(pack: Option<Pack>, parts: &[Stored]) -> Sources {
        let whole = pack.as_ref().is_some_and(|p| p.whole);
        let mut sources = Sources { parts: Vec::new(), packed: Vec::new(), whole, names: Vec::new(), params: Vec::new() };
        for part in parts {
            let (list, name) = match part {
                Stored::Packed(name) => (&mut sources.packed, name.clone()),
                Stored::Loose(path) => (&mut sources.parts, path.display().to_string()),
            };
            list.push(name.clone());
            sources.names.push(name);
        }
        if let (Some(pack), false) = (pack, sources.packed.is_empty()) {
            sources.params.push(pack.path.display().to_string());
        }
        sources.params.extend(sources.parts.iter().cloned());
        sources
    }

    /// `columns` of every summary row (`*`: all of the summary's), and with
    /// `tagged` also `_source`, which part each row comes from.
    fn select(&self, columns: &str, tagged: bool) -> String {
        let mut selects = Vec::new();
        if !self.packed.is_empty() {
            let tag = if tagged { ", _rollup AS _source" } else { "" };
            let columns = if columns == "*" { "* EXCLUDE (_rollup)" } else { columns };
            let filter = if self.whole {
                String::new()
            } else {
                let names: Vec<String> = self.packed.iter().map(|n| literal(n)).collect();
                format!(" WHERE _rollup IN ({})", names.join(", "))
            };
            selects.push(format!("SELECT {columns}{tag} FROM read_parquet(?){filter}"));
        }
        if !self.parts.is_empty() {
            let list = vec!["?"; self.parts.len()].join(", ");
            let (tag, named) = if tagged { (", filename AS _source", ", filename = true") } else { ("", "") };
            let columns = if columns == "*" && tagged { "* EXCLUDE (filename)" } else { columns };
            selects.push(format!("SELECT {columns}{tag} FROM read_parquet([{list}]{named})"));
        }
        selects.join(" UNION ALL BY NAME ")
    }
}

/// Summarises again, from the rollup rows of the files [`combine`] named
/// (`rows`), every customer and month that more than one file holds.
pub fn merge(conn: &Connection, rows: &[PathBuf]) -> Result<()> {
    let step = |what: &'static str| Error::db(format!("combining the usage rollups ({what})"));
    let files: Vec<String> = rows.iter().map(|p| p.display().to_string()).collect();
    let list = vec!["?"; files.len()].join(", ");
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE usage_rollup AS SELECT * FROM read_parquet([{list}]) AS d \
             WHERE EXISTS (SELECT 1 FROM usage_shared AS s WHERE {})",
            same("s", "d")
        ),
        duckdb::params_from_iter(files.iter()),
    )
    .map_err(step("reading the rollup rows"))?;
    conn.execute_batch(&format!(
        "DELETE FROM {AGGREGATE} WHERE EXISTS (SELECT 1 FROM usage_shared AS s WHERE {}); \
         INSERT INTO {AGGREGATE} SELECT * FROM ({}); \
         DROP TABLE usage_rollup; DROP TABLE usage_shared;",
        same("s", AGGREGATE),
        rollup_sql("usage_summary.sql")
    ))
    .map_err(step("summarising shared months"))
}

/// The same customer and month in tables `a` and `b` (nulls alike).
fn same(a: &str, b: &str) -> String {
    format!("{a}.customer_id IS NOT DISTINCT FROM {b}.customer_id AND {a}.month_key IS NOT DISTINCT FROM {b}.month_key")
}
