//! Why a published figure changed. Each run records what every input table
//! held per month (`load::profile`); a restated figure is explained by
//! comparing the inputs of the run that published it with this run's, for
//! the tables its metric reads: rows dated in the figure's period that the
//! earlier run did not have, rows it had that are gone, rows that changed,
//! and, failing those, changes dated before the period, or a new version of
//! the metric.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Result;
use crate::model::period::Period;
use crate::model::rows::{InputMonth, Restatement};
use crate::report::format::grouped;

/// How many changed table-months a cause names.
const NAMED: usize = 3;

/// Fills in each restatement's `cause`. `published` gives a run's recorded
/// inputs, `tables` the input tables a metric reads.
pub fn explain(
    restatements: &mut [Restatement],
    periods: &[Period],
    now: &[InputMonth],
    published: &dyn Fn(&str) -> Result<Vec<InputMonth>>,
    tables: &dyn Fn(&str) -> BTreeSet<String>,
) -> Result<()> {
    let now = by_key(now);
    let mut runs: BTreeMap<String, BTreeMap<(String, String), InputMonth>> = BTreeMap::new();
    // Every slice of a metric, period and published run has the same cause:
    // worked out once.
    let mut causes: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for r in restatements.iter_mut() {
        let key = (r.published_run.clone(), r.period.clone(), r.metric.clone());
        if let Some(known) = causes.get(&key) {
            r.cause = known.clone();
            continue;
        }
        if !runs.contains_key(&r.published_run) {
            runs.insert(r.published_run.clone(), by_key(&published(&r.published_run)?));
        }
        let then = &runs[&r.published_run];
        let months: Vec<String> = periods
            .iter()
            .find(|p| p.to_string() == r.period)
            .map(|p| p.month_list().iter().map(|m| m.to_string()).collect())
            .unwrap_or_default();
        r.cause = cause(r, then, &now, &months, &tables(&r.metric));
        causes.insert(key, r.cause.clone());
    }
    Ok(())
}

fn by_key(months: &[InputMonth]) -> BTreeMap<(String, String), InputMonth> {
    months.iter().map(|m| ((m.table.clone(), m.month.clone()), m.clone())).collect()
}

/// The cause of one restatement in words.
fn cause(
    r: &Restatement,
    then: &BTreeMap<(String, String), InputMonth>,
    now: &BTreeMap<(String, String), InputMonth>,
    months: &[String],
    tables: &BTreeSet<String>,
) -> String {
    let mut parts = Vec::new();
    if r.published_version != r.version {
        parts.push(format!("the metric's definition changed ({} → {})", r.published_version, r.version));
    }
    if then.is_empty() {
        parts.push("the run that published it recorded no inputs to compare with (an older cs-report)".to_string());
        return parts.join("; ");
    }
    // Table-months of the metric's tables that differ, in the figure's
    // period or before it (rows dated later cannot move it).
    let last = months.last().cloned().unwrap_or_default();
    let keys: BTreeSet<&(String, String)> = then.keys().chain(now.keys()).filter(|(t, m)| tables.contains(t) && *m <= last).collect();
    let diffs: Vec<(bool, String)> =
        keys.iter().filter_map(|k| difference(then.get(*k), now.get(*k)).map(|d| (months.contains(&k.1), d))).collect();
    let pick = |inside: bool| -> Vec<String> { diffs.iter().filter(|(i, _)| *i == inside).map(|(_, d)| d.clone()).collect() };
    let (in_period, earlier) = (pick(true), pick(false));
    if !in_period.is_empty() {
        parts.push(named(&in_period));
    } else if !earlier.is_empty() {
        parts.push(format!("inputs dated before {} changed: {}", r.period, named(&earlier)));
    } else if parts.is_empty() {
        parts.push("no input it reads changed; the configuration or cs-report's version differs from the run that published it".to_string());
    }
    parts.join("; ")
}

/// The first changed table-months in words, and how many more there are.
fn named(changes: &[String]) -> String {
    let mut words: Vec<String> = changes.iter().take(NAMED).cloned().collect();
    if changes.len() > NAMED {
        words.push(format!("and {} more month(s) of inputs", changes.len() - NAMED));
    }
    words.join("; ")
}

/// How one table's rows of one month differ between two runs, or `None`.
fn difference(then: Option<&InputMonth>, now: Option<&InputMonth>) -> Option<String> {
    let (table, month) = then.or(now).map(|m| (m.table.as_str(), m.month.as_str()))?;
    let rows = |m: Option<&InputMonth>| m.map_or(0, |m| m.rows);
    let amount = |m: Option<&InputMonth>| m.and_then(|m| m.amount).unwrap_or(0.0);
    let same = then.map(|m| &m.checksum) == now.map(|m| &m.checksum) && rows(then) == rows(now);
    if same {
        return None;
    }
    let added = rows(now) - rows(then);
    let mut what = match added {
        0 => "rows changed".to_string(),
        n if n > 0 => format!("{} the published run did not have", count_rows(n)),
        n => format!("{} fewer than the published run read", count_rows(-n)),
    };
    let moved = amount(now) - amount(then);
    if moved.abs() >= 0.005 {
        what.push_str(&format!(", amounts {}{} (in their own currencies)", if moved > 0.0 { "+" } else { "−" }, grouped(moved.abs(), 2)));
    }
    Some(format!("{} {month}: {what}", dated(table)))
}

fn count_rows(n: i64) -> String {
    if n == 1 { "1 row".to_string() } else { format!("{n} rows") }
}

/// A table's rows of a month, in words.
fn dated(table: &str) -> String {
    match table {
        "customers" => "customers signed up in".into(),
        "subscriptions" => "subscriptions starting or ending in".into(),
        "invoices" => "invoices dated".into(),
        "survey_responses" => "survey answers of".into(),
        "tickets" => "tickets opened or resolved in".into(),
        "usage_events" => "usage events of".into(),
        "trials" => "trials starting, ending or converting in".into(),
        "marketing_spend" | "fx_rates" => format!("{} for", table.replace('_', " ")),
        other => format!("{other} rows of"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(table: &str, month: &str, rows: i64, amount: Option<f64>, checksum: &str) -> InputMonth {
        InputMonth { table: table.into(), month: month.into(), rows, amount, checksum: checksum.into() }
    }

    fn restated(period: &str, published_version: &str) -> Restatement {
        Restatement {
            metric: "revenue".into(),
            period: period.into(),
            dimension: "all".into(),
            segment: "all".into(),
            published_version: published_version.into(),
            version: "v1".into(),
            published: Some(100.0),
            value: Some(150.0),
            change: Some(50.0),
            published_run: "run-1".into(),
            cause: String::new(),
        }
    }

    fn explained(r: Restatement, then: Vec<InputMonth>, now: Vec<InputMonth>) -> String {
        let mut rs = vec![r];
        let periods = vec![Period::month("2026-08".parse().unwrap())];
        let tables = |_: &str| -> BTreeSet<String> { ["invoices", "subscriptions"].map(String::from).into() };
        explain(&mut rs, &periods, &now, &|_| Ok(then.clone()), &tables).unwrap();
        rs.remove(0).cause
    }

    #[test]
    fn late_rows_in_the_month_are_named_with_their_amount() {
        let then = vec![month("invoices", "2026-08", 10, Some(1000.0), "a"), month("tickets", "2026-08", 5, None, "t")];
        let now = vec![
            month("invoices", "2026-08", 12, Some(2250.5), "b"),
            month("invoices", "2026-09", 3, Some(10.0), "c"),
            month("tickets", "2026-08", 9, None, "u"),
        ];
        // Tickets are not read by the metric; September is after the figure.
        assert_eq!(
            explained(restated("2026-08", "v1"), then, now),
            "invoices dated 2026-08: 2 rows the published run did not have, amounts +1,250.50 (in their own currencies)"
        );
    }

    #[test]
    fn changed_and_removed_rows_and_earlier_months() {
        let then = vec![month("subscriptions", "2026-08", 4, Some(40.0), "a"), month("invoices", "2026-08", 2, Some(5.0), "x")];
        let now = vec![month("subscriptions", "2026-08", 4, Some(40.0), "b"), month("invoices", "2026-08", 1, Some(2.0), "y")];
        assert_eq!(
            explained(restated("2026-08", "v1"), then, now),
            "invoices dated 2026-08: 1 row fewer than the published run read, amounts −3.00 (in their own currencies); subscriptions starting or ending in 2026-08: rows changed"
        );
        let then = vec![month("subscriptions", "2025-11", 4, Some(40.0), "a")];
        let now = vec![month("subscriptions", "2025-11", 4, Some(40.0), "b")];
        assert_eq!(
            explained(restated("2026-08", "v1"), then, now),
            "inputs dated before 2026-08 changed: subscriptions starting or ending in 2025-11: rows changed"
        );
    }

    #[test]
    fn a_new_version_or_nothing_to_show() {
        let same = vec![month("invoices", "2026-08", 10, Some(1000.0), "a")];
        assert_eq!(explained(restated("2026-08", "v0"), same.clone(), same.clone()), "the metric's definition changed (v0 → v1)");
        assert!(explained(restated("2026-08", "v1"), same.clone(), same.clone()).starts_with("no input it reads changed"));
        assert!(explained(restated("2026-08", "v1"), Vec::new(), same).contains("recorded no inputs"));
    }
}
