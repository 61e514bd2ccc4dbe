//! The freshness and completeness gate: before any metric runs, each export
//! must reach the end of the period (within its table's tolerance), and each
//! monthly table must hold the period's month. A run on exports that stopped
//! early refuses to publish (exit 75, "try later") instead of publishing a
//! month that looks complete but is not.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use duckdb::Connection;
use serde::Serialize;

use crate::config::Freshness;
use crate::error::{Error, Result};
use crate::contract::table_spec;
use crate::db::ident;
use crate::load::LoadedTable;
use crate::model::period::Month;

/// One table's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub table: &'static str,
    pub rule: Freshness,
    /// The latest date the table holds (its date column), if any.
    pub latest: Option<NaiveDate>,
    /// What the rule asks for, in words.
    pub expected: String,
    pub stale: bool,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let latest = self.latest.map_or_else(|| "holds no dates".to_string(), |d| format!("reaches {d}"));
        let state = if self.stale { "STALE" } else { "fresh" };
        write!(f, "{}: {state}, {latest}; expected {}", self.table, self.expected)
    }
}

/// Checks every present table that has a rule; returns a verdict for each.
pub fn check(conn: &Connection, tables: &[LoadedTable], rules: &BTreeMap<&'static str, Freshness>, period: Month) -> Result<Vec<Verdict>> {
    let mut out = Vec::new();
    for t in tables.iter().filter(|t| t.present()) {
        let rule = rules.get(t.table).copied().unwrap_or(Freshness::Off);
        let spec = table_spec(t.table).expect("loaded tables are contract tables");
        let Some(column) = spec.date_column.filter(|c| !t.missing_columns.contains(c)) else { continue };
        if rule == Freshness::Off {
            continue;
        }
        let step = || Error::db(format!("checking how far {} reaches", t.table));
        // The latest value first, cast once (not a cast per row); the count
        // only for monthly tables, which are small.
        let (latest, in_period): (Option<String>, i64) = conn
            .query_row(
                &format!(
                    "SELECT CAST(CAST(max({col}) AS DATE) AS VARCHAR), \
                            CASE WHEN ? THEN count(*) FILTER (WHERE {col} >= CAST(? AS DATE) AND {col} < CAST(? AS DATE)) END \
                     FROM {table}",
                    col = ident(column),
                    // An aggregate row's latest event stands for its events.
                    table = if t.aggregated {
                        format!("(SELECT last_at AS {} FROM {})", ident(column), crate::load::events::AGGREGATE)
                    } else {
                        t.table.to_string()
                    }
                ),
                duckdb::params![rule == Freshness::Month, period.first_day().to_string(), period.plus(1).first_day().to_string()],
                |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0))),
            )
            .map_err(step())?;
        let latest = latest.and_then(|d| d.parse::<NaiveDate>().ok());
        let key = format!("freshness.{}", t.table);
        let (expected, stale) = match rule {
            Freshness::Days(days) => {
                let due = period.last_day() - chrono::Days::new(u64::from(days));
                (
                    format!("{column} on or after {due} ({key}: {days} day(s) before {} at most)", period.last_day()),
                    latest.is_none_or(|l| l < due),
                )
            }
            Freshness::Month => (format!("rows for {period} ({key}: month)"), in_period == 0),
            Freshness::Off => continue,
        };
        out.push(Verdict { table: t.table, rule, latest, expected, stale });
    }
    Ok(out)
}

/// The error of a run whose exports are not fresh yet.
pub fn not_ready(stale: &[&Verdict], period: Month) -> Error {
    let mut text = format!(
        "{} export(s) do not reach the end of {period} yet; nothing was published. \
         Run again once they have caught up, or pass --allow-stale to publish a report marked stale:",
        stale.len()
    );
    for v in stale {
        text.push_str("\n  - ");
        text.push_str(&v.to_string());
    }
    Error::NotReady(text)
}

/// The line a report published with `--allow-stale` opens with.
pub fn stale_notice(v: &Verdict) -> String {
    let latest = v.latest.map_or_else(|| "holds no dates".to_string(), |d| format!("reaches only {d}"));
    format!("{} {latest} (expected {}): its numbers for this period are incomplete", v.table, v.expected)
}

/// Monthly tables (`marketing_spend`, `fx_rates`): the months from `first`
/// to `period` in which each present one has no rows. Metrics that need the
/// table are null for those months, never 0.
pub fn empty_months(conn: &Connection, tables: &[LoadedTable], first: Month, period: Month) -> Result<BTreeMap<&'static str, Vec<Month>>> {
    let mut out = BTreeMap::new();
    for t in tables.iter().filter(|t| t.present()) {
        let spec = table_spec(t.table).expect("loaded tables are contract tables");
        let Some(column) = spec.date_column.filter(|_| spec.monthly) else { continue };
        let mut stmt = conn
            .prepare(&format!(
                "SELECT DISTINCT CAST(year({col}) AS INTEGER), CAST(month({col}) AS INTEGER) FROM {table} \
                 WHERE {col} >= CAST(? AS DATE) AND {col} <= CAST(? AS DATE)",
                col = ident(column),
                table = t.table
            ))
            .map_err(Error::db(format!("listing the months of {}", t.table)))?;
        let held: std::collections::BTreeSet<Month> = stmt
            .query_map([first.first_day().to_string(), period.last_day().to_string()], |r| {
                Ok(Month::new(r.get(0)?, r.get::<_, i32>(1)? as u32))
            })
            .map_err(Error::db(format!("listing the months of {}", t.table)))?
            .filter_map(|m| m.ok().flatten())
            .collect();
        let missing: Vec<Month> = (0..=period.since(first)).map(|i| first.plus(i)).filter(|m| !held.contains(m)).collect();
        if !missing.is_empty() {
            out.insert(t.table, missing);
        }
    }
    Ok(out)
}

/// Months as a short list: `2026-07, 2026-08` or `2025-01 to 2025-12`.
pub fn month_list(months: &[Month]) -> String {
    let mut runs: Vec<(Month, Month)> = Vec::new();
    for &m in months {
        match runs.last_mut() {
            Some((_, end)) if end.plus(1) == m => *end = m,
            _ => runs.push((m, m)),
        }
    }
    runs.iter()
        .map(|(a, b)| if a == b { a.to_string() } else { format!("{a} to {b}") })
        .collect::<Vec<_>>()
        .join(", ")
}
