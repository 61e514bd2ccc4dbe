//! Checks the loaded exports against the input contract before any metric
//! runs. Each broken rule is one problem, with the table, file, column, rule,
//! how many rows break it and the first examples.

use std::collections::BTreeMap;
use std::fmt;

use duckdb::Connection;
use serde::Serialize;

use crate::config::{Config, Unmatched};
use crate::error::{Error, Result};
use crate::contract::{table_spec, ColumnKind, TABLES};
use crate::db::ident;
use crate::load::{events, LoadedTable};
use crate::model::period::Month;

/// How many offending rows a problem shows.
const EXAMPLES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub table: String,
    pub source: String,
    pub column: String,
    pub rule: String,
    pub count: u64,
    /// The first offending values, each with the row's identifying key.
    pub examples: Vec<String>,
    #[serde(skip)]
    pub kind: ProblemKind,
}

/// What kind of problem: a broken rule, or money in a month whose exchange
/// rate has not arrived (a freshness matter, see the pipeline's gate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProblemKind {
    #[default]
    Broken,
    MissingRate,
}

impl Problem {
    /// A money amount whose month has no exchange rate (rates that have not
    /// arrived yet are a freshness matter, see the pipeline's gate).
    pub fn is_missing_rate(&self) -> bool {
        self.kind == ProblemKind::MissingRate
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}), column `{}`: {} — {} row(s), e.g. {}",
            self.table,
            self.source,
            self.column,
            self.rule,
            self.count,
            self.examples.join("; ")
        )
    }
}

/// One rule: rows of `table` where `predicate` holds break it. `shown` is
/// the offending value as SQL text.
struct Rule {
    table: &'static str,
    column: &'static str,
    rule: String,
    predicate: String,
    shown: String,
    /// The predicate reads only `customer_id` and other tables: for an
    /// aggregated table it is judged on the aggregate (one row per customer,
    /// month and user, weighted by its events), not counted row by row.
    on_key: bool,
    /// What a break of it is (a missing rate is a freshness matter).
    kind: ProblemKind,
}

fn rule(table: &'static str, column: &'static str, rule: impl Into<String>, predicate: impl Into<String>) -> Rule {
    Rule {
        table,
        column,
        rule: rule.into(),
        predicate: predicate.into(),
        shown: format!("CAST({} AS VARCHAR)", ident(column)),
        on_key: false,
        kind: ProblemKind::Broken,
    }
}

/// A row whose customer_id names no customer (an anti-join, not NOT IN).
const NO_SUCH_CUSTOMER: &str =
    "t.customer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customers AS c WHERE c.customer_id = t.customer_id)";

/// A row that names no customer at all, in a table where it must.
const NO_CUSTOMER_GIVEN: &str = "(t.customer_id IS NULL OR t.customer_id = '')";

/// The key that identifies a row in messages.
fn key_of(table: &str) -> Option<&'static str> {
    match table {
        "customers" => Some("customer_id"),
        "subscriptions" => Some("subscription_id"),
        "invoices" => Some("invoice_id"),
        "survey_responses" => Some("response_id"),
        "tickets" => Some("ticket_id"),
        "trials" => Some("trial_id"),
        "owners" => Some("owner"),
        _ => None,
    }
}

/// The value rules of the contract: (table, column, rule, the predicate a
/// breaking row meets).
const VALUE_RULES: &[(&str, &str, &str, &str)] = &[
    ("subscriptions", "billing_period", "must be month, quarter or year", "billing_period NOT IN ('month', 'quarter', 'year')"),
    ("subscriptions", "amount", "must be 0 or more", "amount < 0"),
    ("subscriptions", "end_date", "must be after start_date (end_date is exclusive)", "end_date <= start_date"),
    ("invoices", "amount", "must be 0 or more", "amount < 0"),
    ("invoices", "status", "must be paid, open, void or refunded", "status NOT IN ('paid', 'open', 'void', 'refunded')"),
    ("invoices", "kind", "must be subscription, upsell, cross_sell or one_time", "kind NOT IN ('subscription', 'upsell', 'cross_sell', 'one_time')"),
    ("marketing_spend", "amount", "must be 0 or more", "amount < 0"),
    ("survey_responses", "survey", "must be nps, csat or ces", "survey NOT IN ('nps', 'csat', 'ces')"),
    ("survey_responses", "score", "must lie on its survey's scale (nps 0-10, csat 1-5, ces 1-7)", "(survey = 'nps' AND score NOT BETWEEN 0 AND 10) OR (survey = 'csat' AND score NOT BETWEEN 1 AND 5) \
         OR (survey = 'ces' AND score NOT BETWEEN 1 AND 7)"),
    ("tickets", "resolved_at", "must not be before created_at", "resolved_at < created_at"),
    ("tickets", "contacts", "must be 1 or more", "contacts < 1"),
    ("usage_events", "duration_seconds", "must be 0 or more", "duration_seconds < 0"),
    ("trials", "ended_at", "must not be before started_at", "ended_at < started_at"),
    ("fx_rates", "rate", "must be greater than 0", "rate <= 0"),
];

fn rules(tables: &[LoadedTable]) -> Vec<Rule> {
    let mut out = Vec::new();
    for t in tables.iter().filter(|t| t.present()) {
        let spec = table_spec(t.table).expect("loaded tables are contract tables");
        for c in spec.columns.iter().filter(|c| !t.missing_columns.contains(&c.name)) {
            if c.kind.can_fail() {
                let bad = ident(&format!("_bad_{}", c.name));
                out.push(Rule {
                    table: spec.name,
                    column: c.name,
                    rule: format!("must be {}", c.kind.describe()),
                    predicate: bad,
                    // The loaded table keeps only a flag; the examples come from
                    // the re-read export, which has the raw text.
                    shown: ident(&format!("_raw_{}", c.name)),
                    on_key: false,
                    kind: ProblemKind::Broken,
                });
            }
            if !c.nullable {
                if c.name == "customer_id" {
                    // Judged on the key (the aggregate of the usage events too),
                    // so that a table may leave such rows out (`on_unmatched`).
                    out.push(Rule { on_key: true, ..rule(spec.name, "customer_id", "must not be empty", NO_CUSTOMER_GIVEN) });
                    continue;
                }
                // Typed columns are NULL when empty (and flagged when unparsable);
                // text columns may also hold an empty string (a quoted "").
                let name = ident(c.name);
                let predicate = if c.kind.can_fail() {
                    format!("{name} IS NULL AND NOT {}", ident(&format!("_bad_{}", c.name)))
                } else {
                    format!("({name} IS NULL OR {name} = '')")
                };
                out.push(rule(spec.name, c.name, "must not be empty", predicate));
            }
        }
        if let Some(key) = key_of(t.table) {
            out.push(rule(
                spec.name,
                key,
                "must be unique",
                format!("{key} IN (SELECT {key} FROM {} GROUP BY {key} HAVING count(*) > 1)", spec.name),
            ));
        }
        if t.table != "customers" && spec.columns.iter().any(|c| c.name == "customer_id") {
            out.push(Rule { on_key: true, ..rule(spec.name, "customer_id", "must name a customer in customers", NO_SUCH_CUSTOMER) });
        }
    }
    let present = |name: &str| tables.iter().any(|t| t.table == name && t.present());
    let mut add = |table: &'static str, column: &'static str, text: &str, predicate: &str| {
        if present(table) {
            out.push(rule(table, column, text, predicate));
        }
    };
    for (table, column, text, predicate) in VALUE_RULES {
        add(table, column, text, predicate);
    }
    // One address, as a mail server takes it: local part @ domain with a
    // dot, no blanks, brackets, commas or quotes (no display names, no lists).
    add(
        "owners",
        "email",
        "must be one valid email address (name@example.com)",
        "email <> '' AND NOT regexp_full_match(trim(email), '[^@\\s<>(),;:\"\\[\\]]+@[^@\\s<>(),;:\"\\[\\]]+\\.[^@\\s<>(),;:\"\\[\\].]+')",
    );
    add(
        "fx_rates",
        "month",
        "must hold one rate per currency and month",
        "(SELECT count(*) FROM fx_rates AS f WHERE f.currency = t.currency \
         AND date_trunc('month', f.month) = date_trunc('month', t.month)) > 1",
    );
    out
}

/// Money in a currency with no rate for a month that a metric of the run
/// converts it in: each month a subscription is active up to the period
/// (every one of them: "new" and "reactivated" look back to the first);
/// an invoice's month from 11 months before the first computed month (CLV
/// looks back a year) to the period; a spend row's month inside the computed
/// months. Rows after the period need no rate: they are not in the report.
fn currency_rules() -> Vec<Rule> {
    let no_rate = |month: &str| {
        format!(
            "currency IS NOT NULL AND currency <> (SELECT currency FROM check_params) AND NOT EXISTS \
             (SELECT 1 FROM fx_rates f WHERE f.currency = t.currency AND date_trunc('month', f.month) = date_trunc('month', {month}))"
        )
    };
    let dated = |table: &'static str, whose: &str, date: &str, since: &str| Rule {
        table,
        column: "currency",
        rule: format!("has no rate in fx_rates for the {whose} month"),
        predicate: format!(
            "{date} >= (SELECT {since} FROM check_params) \
             AND {date} < (SELECT report_month + INTERVAL 1 MONTH FROM check_params) AND {}",
            no_rate(date)
        ),
        shown: format!("currency || ' ' || strftime({date}, '%Y-%m')"),
        on_key: false,
        kind: ProblemKind::MissingRate,
    };
    vec![
        Rule {
            table: "subscriptions",
            column: "currency",
            rule: "has no rate in fx_rates for a month the subscription is active".into(),
            predicate: format!(
                "amount > 0 AND EXISTS (SELECT 1 FROM generate_series(date_trunc('month', start_date), \
                 least((SELECT report_month FROM check_params), coalesce(date_trunc('month', end_date) - INTERVAL 1 MONTH, (SELECT report_month FROM check_params))), \
                 INTERVAL 1 MONTH) AS g(m) WHERE {})",
                no_rate("g.m")
            ),
            shown: "currency".into(),
            on_key: false,
            kind: ProblemKind::MissingRate,
        },
        // A dated amount needs a rate only from `since` to the period's end.
        dated("invoices", "invoice's", "invoice_date", "first_month - INTERVAL 11 MONTH"),
        dated("marketing_spend", "spend's", "month", "first_month"),
    ]
}

/// Runs every rule; returns the problems found (empty when the data is good).
/// `first` is the first month the run computes. Rows that name no customer
/// in a table whose `on_unmatched` is `warn` are no problem: they are left
/// out, and the table's notes count them with the first examples.
pub fn check(conn: &Connection, tables: &mut [LoadedTable], period: Month, first: Month, config: &Config) -> Result<Vec<Problem>> {
    let currency = config.currency.as_str();
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE check_params AS SELECT CAST(? AS DATE) AS report_month, \
         CAST(? AS DATE) AS first_month, CAST(? AS VARCHAR) AS currency",
        duckdb::params![period.first_day().to_string(), first.first_day().to_string(), currency],
    )
    .map_err(Error::db("preparing checks"))?;
    let present = |name: &str| tables.iter().find(|t| t.table == name && t.present());
    let mut all = rules(tables);
    all.extend(currency_rules().into_iter().filter(|r| present(r.table).is_some_and(|t| !t.missing_columns.contains(&"currency"))));
    // Lines the CSV reader could not parse come first: their rows are missing.
    let mut problems = broken_line_problems(tables);
    let mut unmatched = Vec::new();
    let mut lined = BTreeMap::new();
    for loaded in tables.iter().filter(|t| t.present()) {
        let table_rules: Vec<&Rule> = all.iter().filter(|r| r.table == loaded.table).collect();
        if table_rules.is_empty() {
            continue;
        }
        // One scan counts every rule of the table; examples are fetched
        // only for the rules that fail.
        let sql = if loaded.aggregated {
            // Counted by the rollup as the events were read; rules on the
            // customer judged on the aggregate, weighted by its events.
            let counts: Vec<String> = table_rules
                .iter()
                .map(|r| {
                    let sum = if r.on_key {
                        format!("sum(n) FILTER (WHERE {})", r.predicate)
                    } else {
                        let column = events::rule_column(r.column, &r.rule, &r.predicate)
                            .unwrap_or_else(|| panic!("the usage rollup counts no column for the rule {} {}", r.column, r.rule));
                        format!("sum({column})")
                    };
                    format!("CAST(coalesce({sum}, 0) AS BIGINT)")
                })
                .collect();
            format!("SELECT {} FROM {} AS t", counts.join(", "), events::AGGREGATE)
        } else {
            let counts: Vec<String> = table_rules.iter().map(|r| format!("count(*) FILTER (WHERE {})", r.predicate)).collect();
            format!("SELECT {} FROM {} AS t", counts.join(", "), loaded.table)
        };
        let counts: Vec<i64> = conn
            .query_row(&sql, [], |row| (0..table_rules.len()).map(|i| row.get(i)).collect())
            .map_err(Error::db(format!("checking {}", loaded.table)))?;
        for (r, count) in table_rules.into_iter().zip(counts) {
            if count > 0 {
                let examples = examples(conn, loaded, r, &mut lined)?;
                let unknown = r.predicate == NO_SUCH_CUSTOMER || r.predicate == NO_CUSTOMER_GIVEN;
                if unknown && config.on_unmatched(loaded.table) == Unmatched::Warn {
                    let what = if r.predicate == NO_CUSTOMER_GIVEN { "name no customer" } else { "name no customer in customers" };
                    unmatched.push((loaded.table, what, count as u64, examples));
                } else {
                    problems.push(problem(loaded, r, count as u64, examples));
                }
            }
        }
    }
    for (table, what, count, examples) in unmatched {
        leave_out_unmatched(conn, table)?;
        let note = format!("{count} row(s) {what} and are left out (tables.{table}.on_unmatched: warn), e.g. {}", examples.join("; "));
        crate::log::info(&format!("{table}: {note}"));
        if let Some(t) = tables.iter_mut().find(|t| t.table == table) {
            t.notes.push(note);
        }
    }
    keep_owners_apart(conn, tables)?;
    Ok(problems)
}

/// Customers without an owner form the group `unassigned` (INPUTS.md). A
/// real owner id that reads `unassigned` (or `unassigned (owner id)`, and
/// so on) gets ` (owner id)` appended, in customers and owners alike, so
/// the two never merge and no two ids become one.
fn keep_owners_apart(conn: &Connection, tables: &mut [LoadedTable]) -> Result<()> {
    let mut renamed = 0;
    for name in ["customers", "owners"] {
        if !tables.iter().any(|t| t.table == name && t.present() && !t.missing_columns.contains(&"owner")) {
            continue;
        }
        renamed += conn
            .execute(
                &format!("UPDATE {name} SET owner = trim(owner) || ' (owner id)' WHERE regexp_full_match(trim(owner), ?)"),
                [r"unassigned( \(owner id\))*"],
            )
            .map_err(Error::db(format!("keeping the owner ids of {name} apart from `unassigned`")))?;
    }
    if renamed > 0 {
        let note = "an owner id reads `unassigned`, the name of the group of customers without an owner: it is shown as \
                    `unassigned (owner id)` to keep the two apart";
        if let Some(t) = tables.iter_mut().find(|t| t.table == "customers") {
            t.notes.push(note.to_string());
        }
    }
    Ok(())
}

/// One problem per kind of CSV line the reader could not parse.
fn broken_line_problems(tables: &[LoadedTable]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for t in tables.iter().filter(|t| t.present()) {
        for b in &t.broken_lines {
            problems.push(Problem {
                table: t.table.to_string(),
                source: t.source_name(),
                column: if b.columns.is_empty() { "(whole line)".to_string() } else { b.columns.join(", ") },
                rule: format!("every line must parse as CSV with the header's columns ({})", b.kind),
                count: b.count,
                examples: b.examples.clone(),
                kind: ProblemKind::Broken,
            });
        }
    }
    problems
}

/// Deletes the rows of `table` that name no customer, or none at all where
/// the contract wants one (a trial may have none: a lead). For the usage
/// events, their aggregates: the events are never stored.
fn leave_out_unmatched(conn: &Connection, table: &str) -> Result<()> {
    let stored: &[&str] = if table == "usage_events" { &[events::AGGREGATE] } else { &[table] };
    let nullable = table_spec(table).is_some_and(|s| s.columns.iter().any(|c| c.name == "customer_id" && c.nullable));
    let none = if nullable { "false" } else { "customer_id IS NULL OR customer_id = ''" };
    for name in stored {
        conn.execute_batch(&format!(
            "DELETE FROM {name} WHERE {none} OR (customer_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM customers AS c WHERE c.customer_id = {name}.customer_id))"
        ))
        .map_err(Error::db(format!("leaving out the rows of {table} that name no customer")))?;
    }
    Ok(())
}

/// The first offending rows of a failing rule, in words, with where they
/// are in the export (the export is re-read with positions for this).
fn examples(conn: &Connection, loaded: &LoadedTable, r: &Rule, lined: &mut BTreeMap<&'static str, String>) -> Result<Vec<String>> {
    if loaded.format == Some(crate::load::Format::Rollup) {
        return Ok(vec!["counted by the engine that rolled the events up; look for them there".to_string()]);
    }
    let table = match lined.get(loaded.table) {
        Some(name) => name.clone(),
        None => {
            let name = loaded.create_lined(conn)?;
            lined.insert(loaded.table, name.clone());
            name
        }
    };
    let key = key_of(r.table).map_or_else(|| "NULL".to_string(), |k| format!("CAST(t.{k} AS VARCHAR)"));
    let sql = format!(
        "SELECT CAST(_file AS BIGINT), _line, {key}, CAST({shown} AS VARCHAR) FROM {table} AS t WHERE {} \
         ORDER BY _file, _line LIMIT {EXAMPLES}",
        r.predicate,
        shown = r.shown
    );
    let mut stmt = conn.prepare(&sql).map_err(Error::db(format!("locating {}.{}", r.table, r.column)))?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, Option<String>>(2)?, row.get::<_, Option<String>>(3)?))
        })
        .map_err(Error::db(format!("locating {}.{}", r.table, r.column)))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::db(format!("locating {}.{}", r.table, r.column)))?;
    Ok(rows
        .into_iter()
        .map(|(file, line, key, value)| format!("{}: {}", loaded.position(file, line), example(r.table, r.column, key, value)))
        .collect())
}

/// One offending row in words: its key (when it has one) and the value.
fn example(table: &str, column: &str, key_value: Option<String>, value: Option<String>) -> String {
    let value = value.map_or_else(|| "empty".to_string(), |v| format!("{v:?}"));
    match (key_of(table), key_value) {
        (Some(k), Some(kv)) if k != column => format!("{k} {kv:?}: {value}"),
        _ => value,
    }
}

fn problem(loaded: &LoadedTable, r: &Rule, count: u64, examples: Vec<String>) -> Problem {
    Problem {
        table: r.table.to_string(),
        source: loaded.source_name(),
        column: loaded.source_columns.get(r.column).cloned().unwrap_or_else(|| r.column.to_string()),
        rule: r.rule.clone(),
        count,
        examples,
        kind: r.kind,
    }
}

/// A per-table summary for `cs-report validate`.
pub fn summary(conn: &Connection, tables: &[LoadedTable]) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for t in tables {
        if !t.present() {
            let spec = TABLES.iter().find(|s| s.name == t.table).expect("contract table");
            lines.push(format!("{:<17} missing{}", t.table, if spec.required { " (required)" } else { " (optional)" }));
            continue;
        }
        let spec = table_spec(t.table).expect("contract table");
        let dates: Vec<String> = spec
            .columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::Date | ColumnKind::Timestamp))
            .filter(|c| !t.missing_columns.contains(&c.name))
            .map(|c| format!("CAST({} AS DATE)", ident(c.name)))
            .take(1)
            .collect();
        let range_sql = match dates.first() {
            Some(_) if t.aggregated => {
                Some(format!("SELECT CAST(CAST(min(first_at) AS DATE) AS VARCHAR), CAST(CAST(max(last_at) AS DATE) AS VARCHAR) FROM {}", events::AGGREGATE))
            }
            Some(col) => Some(format!("SELECT CAST(min({col}) AS VARCHAR), CAST(max({col}) AS VARCHAR) FROM {}", t.table)),
            None => None,
        };
        let range = match range_sql {
            Some(sql) => conn
                .query_row(&sql, [], |r| {
                    Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .map_err(Error::db(format!("summarising {}", t.table)))?,
            None => (None, None),
        };
        let range = match range {
            (Some(a), Some(b)) => format!(", dates {a} to {b}"),
            _ => String::new(),
        };
        lines.push(format!("{:<17} {} rows{range} ({})", t.table, t.rows, t.source_name()));
    }
    Ok(lines)
}

/// Things worth a reader's attention that do not stop the run: rows dated
/// after the period, customers without any subscription.
pub fn warnings(conn: &Connection, tables: &[LoadedTable], period: Month) -> Result<Vec<String>> {
    let mut out: Vec<String> = tables.iter().flat_map(|t| t.notes.iter().map(move |n| format!("{}: {n}", t.table))).collect();
    let after = period.plus(1).first_day().to_string();
    for t in tables.iter().filter(|t| t.present()) {
        let spec = table_spec(t.table).expect("contract table");
        for c in spec.columns.iter().filter(|c| matches!(c.kind, ColumnKind::Date | ColumnKind::Timestamp)) {
            if t.missing_columns.contains(&c.name) || c.name == "end_date" {
                continue;
            }
            // An aggregate row holds events of one month: all after, or none.
            let sql = if t.aggregated {
                format!("SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM {} WHERE CAST(first_at AS DATE) >= CAST(? AS DATE)", events::AGGREGATE)
            } else {
                format!("SELECT count(*) FROM {} WHERE CAST({} AS DATE) >= CAST(? AS DATE)", t.table, ident(c.name))
            };
            let n: i64 = conn
                .query_row(
                    &sql,
                    [&after],
                    |r| r.get(0),
                )
                .map_err(Error::db(format!("checking dates of {}", t.table)))?;
            if n > 0 {
                out.push(format!("{}: {n} row(s) with {} after {period}, left out of this report", t.table, c.name));
            }
        }
    }
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM customers AS c WHERE NOT EXISTS (SELECT 1 FROM subscriptions AS s WHERE s.customer_id = c.customer_id)",
            [],
            |r| r.get(0),
        )
        .map_err(Error::db("checking customers without subscriptions"))?;
    if orphans > 0 {
        out.push(format!("customers: {orphans} customer(s) have no subscription at all"));
    }
    let has = |table: &str, column: &str| tables.iter().any(|t| t.table == table && t.present() && !t.missing_columns.contains(&column));
    out.extend(value_warnings(conn, &has)?);
    if has("customers", "owner") && has("owners", "email") {
        let mut stmt = conn
            .prepare(
                "SELECT DISTINCT trim(c.owner) FROM customers AS c WHERE nullif(trim(c.owner), '') IS NOT NULL \
                 AND trim(c.owner) NOT IN (SELECT trim(owner) FROM owners) ORDER BY 1",
            )
            .map_err(Error::db("checking owners"))?;
        let unknown: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(Error::db("checking owners"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(Error::db("checking owners"))?;
        if !unknown.is_empty() {
            out.push(format!(
                "customers: owner(s) {} have no row in owners, so no email address: their books are written but not sent",
                unknown.join(", ")
            ));
        }
    }
    Ok(out)
}

/// Values that pass every rule but are probably a mistake of the export,
/// one that would otherwise pass silently: channels that match nothing
/// (the referral rate or CAC by channel quietly lose those customers),
/// amounts that jump a hundredfold from one month to the next (cents read
/// as dollars), and code values seen only once (a typo).
fn value_warnings(conn: &Connection, has: &dyn Fn(&str, &str) -> bool) -> Result<Vec<String>> {
    let mut out = channel_warnings(conn, has)?;
    out.extend(singleton_warnings(conn, has)?);
    out.extend(amount_warnings(conn, has)?);
    Ok(out)
}

/// Rows of (value, count) of a query; errors name `step`.
fn listed(conn: &Connection, sql: &str, step: &str) -> Result<Vec<(String, i64)>> {
    crate::db::query_all(conn, step, sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// Up to eight values with their counts, in words.
fn words(values: &[(String, i64)], unit: &str) -> String {
    let shown: Vec<String> = values.iter().take(8).map(|(v, n)| format!("{v:?} ({n} {unit})")).collect();
    let more = if values.len() > 8 { format!(" and {} more", values.len() - 8) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// Acquisition channels that match no spend channel (nor `referral`), and
/// spend channels no customer came through.
fn channel_warnings(conn: &Connection, has: &dyn Fn(&str, &str) -> bool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if has("customers", "acquisition_channel") {
        let spend = has("marketing_spend", "channel");
        // Without a spend export only `referral` can match: flag the values that look like it.
        let unmatched = if spend {
            "acquisition_channel NOT IN (SELECT channel FROM marketing_spend WHERE channel IS NOT NULL)"
        } else {
            "acquisition_channel LIKE '%refer%'"
        };
        let values = listed(
            conn,
            &format!(
                "SELECT acquisition_channel, count(*) FROM customers WHERE nullif(acquisition_channel, '') IS NOT NULL \
                 AND acquisition_channel <> 'referral' AND {unmatched} GROUP BY 1 ORDER BY 2 DESC, 1"
            ),
            "checking acquisition channels",
        )?;
        if !values.is_empty() {
            let against = if spend { "match no marketing_spend channel and are not" } else { "are not exactly" };
            out.push(format!(
                "customers: acquisition_channel {} {against} `referral`: those customers count as referrals nowhere{}",
                words(&values, "customers"),
                if spend { " and in no channel's CAC" } else { "" }
            ));
        }
        if spend {
            let idle = listed(
                conn,
                "SELECT channel, count(*) FROM marketing_spend WHERE nullif(channel, '') IS NOT NULL AND channel NOT IN \
                 (SELECT acquisition_channel FROM customers WHERE acquisition_channel IS NOT NULL) GROUP BY 1 ORDER BY 1",
                "checking spend channels",
            )?;
            if !idle.is_empty() {
                out.push(format!(
                    "marketing_spend: channel {} matches no customer's acquisition_channel: its spend buys no customer in CAC by channel",
                    words(&idle, "months")
                ));
            }
        }
    }
    Ok(out)
}

/// Code values seen in one row only of a table of some size: typos.
fn singleton_warnings(conn: &Connection, has: &dyn Fn(&str, &str) -> bool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, column) in [("customers", "acquisition_channel"), ("marketing_spend", "channel")] {
        if !has(table, column) {
            continue;
        }
        // Only where a value seen once stands out: a table of some size.
        let once = listed(
            conn,
            &format!(
                "SELECT {column}, count(*) FROM {table} WHERE nullif({column}, '') IS NOT NULL GROUP BY 1 \
                 HAVING count(*) = 1 AND (SELECT count(*) FROM {table}) >= {SINGLETON_MIN_ROWS} ORDER BY 1"
            ),
            "checking code values",
        )?;
        if !once.is_empty() {
            let values: Vec<String> = once.iter().map(|(v, _)| format!("{v:?}")).collect();
            out.push(format!("{table}: {column} {} appear(s) in one row only: a typo?", values.join(", ")));
        }
    }
    Ok(out)
}

/// A hundredfold jump of the median monthly amount of new subscriptions.
fn amount_warnings(conn: &Connection, has: &dyn Fn(&str, &str) -> bool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if has("subscriptions", "amount") {
        // The median monthly amount of the paid subscriptions starting each
        // month (months with a few of them), against the month before.
        let jumps = listed(
            conn,
            &format!(
                "WITH m AS (SELECT date_trunc('month', start_date) AS month, \
                     median(amount / CASE billing_period WHEN 'quarter' THEN 3 WHEN 'year' THEN 12 ELSE 1 END) AS median \
                 FROM subscriptions WHERE amount > 0 GROUP BY 1 HAVING count(*) >= {JUMP_MIN_STARTS}), \
                 pairs AS (SELECT month, median, lag(median) OVER (ORDER BY month) AS before FROM m) \
                 SELECT strftime(month, '%Y-%m') || ' (' || round(median / before, 1) || '×)', 1 FROM pairs \
                 WHERE median / before >= {JUMP} OR before / median >= {JUMP} ORDER BY month"
            ),
            "checking subscription amounts",
        )?;
        if !jumps.is_empty() {
            let months: Vec<&str> = jumps.iter().map(|(m, _)| m.as_str()).collect();
            out.push(format!(
                "subscriptions: the median monthly amount of new subscriptions jumps {JUMP}-fold or more in {}: \
                 amounts in cents somewhere?",
                months.join(", ")
            ));
        }
    }
    Ok(out)
}

/// A code value seen once is worth a word only in a table at least this long.
const SINGLETON_MIN_ROWS: usize = 20;
/// How many paid subscriptions a month must start for its median to count.
const JUMP_MIN_STARTS: usize = 3;
/// A month-to-month change of the median amount this large is a unit change.
const JUMP: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usage_rollup_counts_every_rule_of_the_events() {
        let mut events = crate::load::empty_table(table_spec("usage_events").unwrap());
        events.files = vec![crate::load::InputFile::new("usage_events.csv".into())];
        let counted: Vec<Rule> = rules(&[events]).into_iter().filter(|r| r.table == "usage_events" && !r.on_key).collect();
        assert_eq!(counted.len(), 6);
        for r in counted {
            assert!(events::rule_column(r.column, &r.rule, &r.predicate).is_some(), "{} {}", r.column, r.rule);
        }
    }
}
