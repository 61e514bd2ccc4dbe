//! Runs the metric SQL in DuckDB: the run's parameters go into a `params`
//! table, the shared building blocks run once, the checks run, then every
//! metric's chosen version in dependency order, each appending its rows to
//! `metric_values`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use duckdb::{params, Connection};

use crate::config::Config;
use crate::db::{connect, one_select, query_all};
use crate::error::{Error, Result};
use crate::load::LoadedTable;
use crate::metrics::catalog::{Catalog, Metric, PeriodRule, Version};
use crate::model::period::{Month, Period, Window};
use crate::model::rows::{Bridge, ChannelRow, CohortRow, CustomerRow, Finance, KindRow, MetricRow, MetricRun, OwnerRow, Unavailable};

/// Every metric version added through the config's `queries:` must be one
/// SELECT (it is run as a subquery, under the same lock-down as the
/// built-in ones) that binds against the shared tables and returns
/// `month, dimension, segment, value`. Checked when the run starts, before
/// any data is read: the shared SQL runs over empty tables of the contract
/// (every table present, so every column exists) and each query is described.
pub fn check_added_sql(catalog: &Catalog, config: &Config, window: &Window) -> Result<()> {
    let added: Vec<(&Metric, &Version)> =
        catalog.metrics.iter().flat_map(|m| m.versions.values().filter(|v| !v.builtin).map(move |v| (m, v))).collect();
    if added.is_empty() {
        return Ok(());
    }
    let refuse = |metric: &Metric, version: &Version, why: String| Error::Metric { metric: metric.id.clone(), message: format!("{}: {why}", version.origin) };
    // DuckDB lets a locked database read its temp directory: this one's
    // is a folder that is never created (empty tables never spill).
    let unused = std::env::temp_dir().join(format!("cs-report-{}", std::process::id())).join("sql-check");
    let conn = connect(&config.memory_limit, &config.limits.spill, &unused)?;
    conn.execute_batch("SET enable_external_access = false").map_err(Error::db("locking the SQL check"))?;
    let bodies: Vec<&str> =
        added.iter().map(|(metric, version)| one_select(&conn, version.sql).map_err(|why| refuse(metric, version, why))).collect::<Result<_>>()?;
    let tables = crate::load::empty_tables(&conn)?;
    write_params(&conn, config, window, &present_inputs_all(&tables))?;
    for shared in &catalog.shared {
        conn.execute_batch(shared.sql)
            .map_err(|e| Error::Metric { metric: shared.name.clone(), message: format!("shared SQL failed on empty tables: {e}") })?;
    }
    create_metric_values(&conn)?;
    for ((metric, version), body) in added.into_iter().zip(bodies) {
        let mut stmt = conn
            .prepare(&format!("DESCRIBE SELECT * FROM (\n{body}\n)"))
            .map_err(|e| refuse(metric, version, format!("it does not run against the shared tables: {e}")))?;
        let columns: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| refuse(metric, version, format!("it does not run against the shared tables: {e}")))?;
        let missing: Vec<&str> =
            ["month", "dimension", "segment", "value"].into_iter().filter(|c| !columns.iter().any(|x| x.eq_ignore_ascii_case(c))).collect();
        if !missing.is_empty() {
            return Err(refuse(
                metric,
                version,
                format!("it must return month, dimension, segment and value; missing {} (it returns {})", missing.join(", "), columns.join(", ")),
            ));
        }
    }
    Ok(())
}

fn read_owners(conn: &Connection) -> Result<Vec<OwnerRow>> {
    query_all(
        conn,
        "reading owners",
        "SELECT trim(owner), nullif(trim(name), ''), trim(email) FROM owners ORDER BY 1",
        [],
        |r| Ok(OwnerRow { owner: r.get(0)?, name: r.get(1)?, email: r.get(2)? }),
    )
}

/// Everything the engine computed for the run's months.
#[derive(Debug, Clone)]
pub struct Computed {
    /// Sorted by catalog order, period, dimension, segment.
    pub rows: Vec<MetricRow>,
    pub runs: Vec<MetricRun>,
    pub unavailable: Vec<Unavailable>,
    /// Periods computed: the trend window and the year before it.
    pub first_period: Period,
    /// Every customer active at the end of the period, with health at the
    /// end of the period before.
    pub customers: Vec<CustomerRow>,
    /// How long each shared building block took, in milliseconds.
    pub shared_runs: Vec<(String, u128)>,
    /// The cohort triangles of the trend window, every slice.
    pub cohorts: Vec<CohortRow>,
    /// The period's acquisition channels and revenue by invoice kind.
    pub finance: Finance,
    /// The `owners` table (empty without one).
    pub owners: Vec<OwnerRow>,
    /// The month of the first paid subscription: where the data starts.
    pub data_start: Option<Month>,
}

fn read_finance(conn: &Connection, period: Period) -> Result<Finance> {
    let step = "reading the finance tables";
    let (first, last) = (period.first_day().to_string(), period.last_month().first_day().to_string());
    let channels = query_all(
        conn,
        step,
        "SELECT channel, CAST(sum(spend) AS DOUBLE), CAST(sum(new_customers) AS BIGINT), CAST(sum(new_mrr) AS DOUBLE) \
         FROM channel_month WHERE month BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) \
         GROUP BY channel ORDER BY 2 DESC NULLS LAST, 3 DESC, channel",
        [&first, &last],
        |r| Ok(ChannelRow { channel: r.get(0)?, spend: r.get(1)?, new_customers: r.get(2)?, new_mrr: r.get(3)? }),
    )?;
    let (prev, year_ago) = (period.plus(-1), period.plus(-period.per_year()));
    let kinds = query_all(
        conn,
        step,
        "WITH m AS (SELECT CAST(? AS DATE) AS now_from, CAST(? AS DATE) AS now_to, CAST(? AS DATE) AS prev_from, \
                           CAST(? AS DATE) AS prev_to, CAST(? AS DATE) AS ago_from, CAST(? AS DATE) AS ago_to) \
         SELECT kind, \
             CAST(sum(revenue) FILTER (WHERE month BETWEEN m.now_from AND m.now_to) AS DOUBLE), \
             CAST(sum(revenue) FILTER (WHERE month BETWEEN m.prev_from AND m.prev_to) AS DOUBLE), \
             CAST(sum(revenue) FILTER (WHERE month BETWEEN m.ago_from AND m.ago_to) AS DOUBLE) \
         FROM revenue_kind_month, m \
         WHERE month BETWEEN m.now_from AND m.now_to OR month BETWEEN m.prev_from AND m.prev_to \
             OR month BETWEEN m.ago_from AND m.ago_to \
         GROUP BY kind ORDER BY 2 DESC NULLS LAST, kind",
        [
            first.clone(),
            last.clone(),
            prev.first_day().to_string(),
            prev.last_month().first_day().to_string(),
            year_ago.first_day().to_string(),
            year_ago.last_month().first_day().to_string(),
        ],
        |r| Ok(KindRow { kind: r.get(0)?, revenue: r.get(1)?, prev: r.get(2)?, year_ago: r.get(3)? }),
    )?;
    let months = query_all(
        conn,
        step,
        "SELECT strftime(month, '%Y-%m'), CAST(mrr_prev AS DOUBLE), CAST(mrr_new AS DOUBLE), \
                CAST(mrr_reactivation AS DOUBLE), CAST(mrr_expansion AS DOUBLE), CAST(mrr_contraction AS DOUBLE), \
                CAST(mrr_churn AS DOUBLE), CAST(mrr_fx AS DOUBLE), CAST(mrr AS DOUBLE) \
         FROM mrr_slice_month WHERE dimension = 'all' AND month BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) ORDER BY month",
        [&first, &last],
        |r| {
            let month: String = r.get(0)?;
            Ok(Bridge {
                from: month.clone(),
                to: month,
                start: r.get(1)?,
                new: r.get(2)?,
                reactivation: r.get(3)?,
                expansion: r.get(4)?,
                contraction: r.get(5)?,
                churn: r.get(6)?,
                fx: r.get(7)?,
                end: r.get(8)?,
            })
        },
    )?;
    Ok(Finance { channels, kinds, months })
}

fn read_cohorts(conn: &Connection) -> Result<Vec<CohortRow>> {
    query_all(
        conn,
        "reading cohorts",
        "SELECT dimension, segment, strftime(cohort, '%Y-%m'), age, customers, active, logo_retention, \
                CAST(mrr AS DOUBLE), revenue_retention \
         FROM cohorts \
         ORDER BY CASE dimension WHEN 'all' THEN 0 WHEN 'segment' THEN 1 ELSE 2 END, dimension, segment, cohort, age",
        [],
        |r| {
            let cohort: String = r.get(2)?;
            Ok(CohortRow {
                dimension: r.get(0)?,
                segment: r.get(1)?,
                cohort: cohort.parse().expect("strftime writes YYYY-MM"),
                age: r.get::<_, i64>(3)? as u32,
                customers: r.get(4)?,
                active: r.get(5)?,
                logo_retention: r.get(6)?,
                mrr: r.get(7)?,
                revenue_retention: r.get(8)?,
            })
        },
    )
}

/// Flags values resting on fewer answers than `threshold` (the metric's
/// `sample` counts them, in the same period and slice).
fn flag_low_samples(catalog: &Catalog, rows: &mut [MetricRow], threshold: i64) {
    // metric -> the metric counting its answers, looked up once, not per row.
    let sample_of: BTreeMap<&str, &str> =
        catalog.metrics.iter().filter_map(|m| m.sample.as_deref().map(|s| (m.id.as_str(), s))).collect();
    let samples: BTreeSet<&str> = sample_of.values().copied().collect();
    let counts: BTreeMap<(String, Period, String, String), f64> = rows
        .iter()
        .filter(|r| samples.contains(r.metric.as_str()))
        .map(|r| ((r.metric.clone(), r.period, r.dimension.clone(), r.segment.clone()), r.value.unwrap_or(0.0)))
        .collect();
    for row in rows.iter_mut() {
        if let Some(sample) = sample_of.get(row.metric.as_str()) {
            let key = (sample.to_string(), row.period, row.dimension.clone(), row.segment.clone());
            row.low_sample = counts.get(&key).copied().unwrap_or(0.0) < threshold as f64;
        }
    }
}

/// A date DuckDB wrote as text (`YYYY-MM-DD`).
fn date(text: Option<String>) -> Option<chrono::NaiveDate> {
    text.and_then(|t| chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
}

fn read_customers(conn: &Connection, period: Period) -> Result<Vec<CustomerRow>> {
    query_all(
        conn,
        "reading customer health",
        "SELECT h.customer_id, c.name, cc.cell_segment, cc.cell_region, CAST(h.mrr AS DOUBLE), h.health, h.band, \
                    h.usage, h.sentiment, h.support, h.revenue, \
                    p.health, p.band, p.usage, p.sentiment, p.support, p.revenue, \
                    cc.cell_owner, CAST(b.prev_mrr AS DOUBLE), CAST(b.last_usage AS VARCHAR), b.open_tickets, b.detractor_answers, \
                    CAST(b.term_end AS VARCHAR), CAST(b.cancels_on AS VARCHAR) \
             FROM customer_health AS h \
             JOIN customers AS c USING (customer_id) \
             JOIN customer_cells AS cc USING (customer_id) \
             LEFT JOIN customer_book AS b USING (customer_id) \
             LEFT JOIN customer_health AS p \
                 ON p.customer_id = h.customer_id AND p.month = CAST(? AS DATE) \
             WHERE h.month = CAST(? AS DATE) \
             ORDER BY h.customer_id",
        [period.first_month().plus(-1).first_day().to_string(), period.last_month().first_day().to_string()],
        |r| {
            Ok(CustomerRow {
                customer_id: r.get(0)?,
                name: r.get(1)?,
                segment: r.get(2)?,
                region: r.get(3)?,
                mrr: r.get(4)?,
                health: r.get(5)?,
                band: r.get(6)?,
                usage: r.get(7)?,
                sentiment: r.get(8)?,
                support: r.get(9)?,
                revenue: r.get(10)?,
                prev_health: r.get(11)?,
                prev_band: r.get(12)?,
                prev_usage: r.get(13)?,
                prev_sentiment: r.get(14)?,
                prev_support: r.get(15)?,
                prev_revenue: r.get(16)?,
                owner: r.get(17)?,
                prev_mrr: r.get::<_, Option<f64>>(18)?.unwrap_or(0.0),
                last_usage: date(r.get(19)?),
                open_tickets: r.get::<_, Option<i64>>(20)?.unwrap_or(0),
                detractor_answers: r.get::<_, Option<i64>>(21)?.unwrap_or(0),
                term_end: date(r.get(22)?),
                cancels_on: date(r.get(23)?),
            })
        },
    )
}

/// What the loaded exports offer the metrics' `needs`: each present table,
/// and `table.column` for each of its columns the export has.
fn present_inputs(tables: &[LoadedTable]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in tables.iter().filter(|t| t.present()) {
        out.insert(t.table.to_string());
        let spec = crate::contract::table_spec(t.table).expect("loaded tables are contract tables");
        for c in spec.columns.iter().filter(|c| !t.missing_columns.contains(&c.name)) {
            out.insert(format!("{}.{}", t.table, c.name));
        }
    }
    out
}

/// The empty table every metric's SQL writes its rows into.
fn create_metric_values(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE OR REPLACE TABLE metric_values (metric VARCHAR, version VARCHAR, month DATE, \
         dimension VARCHAR, segment VARCHAR, value DOUBLE)",
    )
    .map_err(Error::db("creating metric_values"))
}

/// Every table and column of the contract, as if all were present.
fn present_inputs_all(tables: &[LoadedTable]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in tables {
        out.insert(t.table.to_string());
        let spec = crate::contract::table_spec(t.table).expect("loaded tables are contract tables");
        out.extend(spec.columns.iter().map(|c| format!("{}.{}", t.table, c.name)));
    }
    out
}

/// Clears a metric's values in every period holding one of `months`.
fn null_months(conn: &Connection, metric: &str, months: &[Month]) -> Result<()> {
    let list: Vec<String> = months.iter().map(|m| format!("DATE '{}'", m.first_day())).collect();
    conn.execute(
        &format!(
            "UPDATE metric_values SET value = NULL WHERE metric = ? AND month IN \
             (SELECT month FROM periods WHERE EXISTS (SELECT 1 FROM (VALUES ({})) AS e(m) WHERE e.m BETWEEN first_month AND last_month))",
            list.join("), (")
        ),
        [metric],
    )
    .map_err(Error::db(format!("clearing {metric} for months without input rows")))?;
    Ok(())
}

/// Why a version cannot run with the inputs `present`, in words: the
/// tables it needs that are missing (a missing table is reason enough; its
/// columns go unsaid), and the columns missing from tables that are there.
fn missing_inputs(version: &Version, present: &BTreeSet<String>) -> Option<String> {
    let missing: Vec<&str> = version
        .needs
        .iter()
        .map(String::as_str)
        .filter(|t| !present.contains(*t))
        .filter(|t| t.split_once('.').is_none_or(|(table, _)| present.contains(table)))
        .collect();
    (!missing.is_empty()).then(|| {
        missing
            .iter()
            .map(|need| match need.split_once('.') {
                Some((table, column)) => format!("`{table}` has no column `{column}`"),
                None => format!("needs `{need}`"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// `empty_months`: monthly table -> months of the run with no rows in it
/// (see [`crate::load::freshness::empty_months`]).
#[allow(clippy::too_many_arguments)]
pub fn compute(
    conn: &Connection,
    catalog: &Catalog,
    versions: &BTreeMap<String, String>,
    config: &Config,
    window: &Window,
    tables: &[LoadedTable],
    empty_months: &BTreeMap<&'static str, Vec<Month>>,
) -> Result<Computed> {
    let (period, first) = (window.period, window.first);
    let present = present_inputs(tables);
    write_params(conn, config, window, &present)?;
    let mut shared_runs = Vec::new();
    for shared in &catalog.shared {
        let started = Instant::now();
        conn.execute_batch(shared.sql).map_err(|e| Error::Metric {
            metric: shared.name.clone(),
            message: format!("shared SQL failed: {e}"),
        })?;
        shared_runs.push((shared.name.clone(), started.elapsed().as_millis()));
    }
    run_checks(conn, catalog)?;

    create_metric_values(conn)?;
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut runs = Vec::new();
    let mut unavailable = Vec::new();
    for metric in catalog.order(versions)? {
        let version = &metric.versions[&versions[&metric.id]];
        if let Some(reason) = missing_inputs(version, &present) {
            unavailable.push(Unavailable { metric: metric.id.clone(), reason });
            continue;
        }
        if let Some(dep) = version.uses.iter().find(|u| !done.contains(*u)) {
            let why = unavailable.iter().find(|u| &u.metric == dep).map(|u| u.reason.clone()).unwrap_or_default();
            unavailable.push(Unavailable { metric: metric.id.clone(), reason: why });
            continue;
        }
        let started = Instant::now();
        run_metric(conn, metric, version, config.limits.statement_seconds)?;
        // A month with no rows in a monthly table the metric reads is not a
        // month of zeros: its values are null (before dependents read them).
        for need in &version.needs {
            if let Some(months) = empty_months.get(need.as_str()) {
                null_months(conn, &metric.id, months)?;
            }
        }
        runs.push(MetricRun {
            metric: metric.id.clone(),
            version: version.id.clone(),
            sql_sha256: version.sha256.clone(),
            origin: version.origin.clone(),
            millis: started.elapsed().as_millis(),
        });
        done.insert(metric.id.clone());
    }
    check_unique_rows(conn)?;
    let mut rows = read_rows(conn, catalog, period)?;
    flag_low_samples(catalog, &mut rows, config.parameters.low_sample_responses);
    let customers = read_customers(conn, period)?;
    let cohorts = read_cohorts(conn)?;
    let finance = read_finance(conn, period)?;
    let owners = read_owners(conn)?;
    let data_start: Option<String> = conn
        .query_row("SELECT CAST(min(start_date) AS VARCHAR) FROM subscriptions WHERE amount > 0", [], |r| r.get(0))
        .map_err(Error::db("reading where the data starts"))?;
    let data_start = data_start.and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()).map(Month::of);
    Ok(Computed { rows, runs, unavailable, first_period: first, customers, shared_runs, cohorts, finance, owners, data_start })
}

fn write_params(conn: &Connection, config: &Config, window: &Window, present: &BTreeSet<String>) -> Result<()> {
    let (period, first) = (window.period, window.first);
    let p = &config.parameters;
    let h = &p.health;
    let e = &p.engagement;
    conn.execute(
        "CREATE OR REPLACE TABLE params AS SELECT \
            CAST(? AS DATE) AS report_month, CAST(? AS DATE) AS first_month, CAST(? AS BIGINT) AS period_months, \
            CAST(? AS DATE) AS window_start, CAST(? AS VARCHAR) AS currency, \
            CAST(? AS BIGINT) AS csat_satisfied_min, CAST(? AS BOOLEAN) AS ces_higher_is_better, \
            CAST(? AS BIGINT) AS low_sample_responses, \
            CAST(? AS DOUBLE) AS target_active_days, CAST(? AS DOUBLE) AS target_features, \
            CAST(? AS DOUBLE) AS weight_days, CAST(? AS DOUBLE) AS weight_features, \
            CAST(? AS DOUBLE) AS w_usage, CAST(? AS DOUBLE) AS w_sentiment, \
            CAST(? AS DOUBLE) AS w_support, CAST(? AS DOUBLE) AS w_revenue, \
            CAST(? AS DOUBLE) AS healthy_min, CAST(? AS DOUBLE) AS at_risk_below, \
            CAST(? AS DOUBLE) AS clv_max_lifespan_years, CAST(? AS DOUBLE) AS gross_margin, \
            CAST(? AS BOOLEAN) AS has_usage_events, CAST(? AS BOOLEAN) AS has_survey_responses, \
            CAST(? AS BOOLEAN) AS has_tickets, CAST(? AS BOOLEAN) AS has_owner",
        params![
            period.last_month().first_day().to_string(),
            first.first_day().to_string(),
            period.months(),
            window.start.first_day().to_string(),
            config.currency,
            p.csat_satisfied_min,
            p.ces_higher_is_better,
            p.low_sample_responses,
            e.target_active_days,
            e.target_features,
            e.weight_days,
            e.weight_features,
            h.weights.usage,
            h.weights.sentiment,
            h.weights.support,
            h.weights.revenue,
            h.healthy_min,
            h.at_risk_below,
            p.clv_max_lifespan_years,
            p.gross_margin,
            present.contains("usage_events"),
            present.contains("survey_responses"),
            present.contains("tickets"),
            present.contains("customers.owner"),
        ],
    )
    .map_err(Error::db("writing the run parameters"))?;
    conn.execute_batch("CREATE OR REPLACE TABLE value_events (feature VARCHAR)")
        .map_err(Error::db("creating value_events"))?;
    let mut insert = conn.prepare("INSERT INTO value_events VALUES (?)").map_err(Error::db("writing value_events"))?;
    for feature in &p.value_events {
        insert.execute([feature]).map_err(Error::db("writing value_events"))?;
    }
    Ok(())
}

/// Runs every check in `queries/_checks/`; any row returned is a failure.
fn run_checks(conn: &Connection, catalog: &Catalog) -> Result<()> {
    for check in &catalog.checks {
        let mut stmt = conn.prepare(check.sql).map_err(Error::db(format!("preparing check {}", check.name)))?;
        let mut rows = stmt.query([]).map_err(Error::db(format!("running check {}", check.name)))?;
        let mut breaks = Vec::new();
        let mut count = 0usize;
        while let Some(row) = rows.next().map_err(Error::db(format!("reading check {}", check.name)))? {
            count += 1;
            if breaks.len() < 5 {
                let cells: Vec<String> = (0..row.as_ref().column_count())
                    .map(|i| {
                        let name = row.as_ref().column_name(i).map(|n| n.to_string()).unwrap_or_default();
                        let value: Option<String> = row.get(i).unwrap_or(None);
                        format!("{name}={}", value.unwrap_or_else(|| "null".into()))
                    })
                    .collect();
                breaks.push(cells.join(" "));
            }
        }
        if count > 0 {
            return Err(Error::Check(format!(
                "{} broken in {count} place(s), first: {}; nothing was published",
                check.name,
                breaks.join("; ")
            )));
        }
    }
    Ok(())
}

/// Runs one metric's SQL into `metric_values`, one row per period. A
/// metric whose period value is its last month's (`period: end`) keeps the
/// rows of each period's last month, under the period's first; in a monthly
/// report the two are the same month.
fn run_metric(conn: &Connection, metric: &Metric, version: &Version, seconds: u64) -> Result<()> {
    let body = version.sql.trim().trim_end_matches(';');
    let keep = match metric.period {
        PeriodRule::End => "JOIN periods AS p ON p.last_month = CAST(q.month AS DATE)",
        PeriodRule::Sql => "JOIN periods AS p ON p.month = CAST(q.month AS DATE)",
    };
    let insert = format!(
        "INSERT INTO metric_values \
         SELECT ?, ?, p.month, CAST(q.dimension AS VARCHAR), CAST(q.segment AS VARCHAR), \
                CAST(q.value AS DOUBLE) \
         FROM (\n{body}\n) AS q {keep}"
    );
    let (done, stopped) = crate::db::time_limited(conn, seconds, || conn.execute(&insert, params![metric.id, version.id]));
    done.map_err(|e| Error::Metric {
        metric: metric.id.clone(),
        message: if stopped {
            format!("{} ran longer than {seconds} s (`limits.statement_seconds`) and was stopped", version.origin)
        } else {
            format!("{} failed: {e}", version.origin)
        },
    })?;
    Ok(())
}

/// Each metric may give one value per period and slice; a second is a bug
/// in its SQL.
fn check_unique_rows(conn: &Connection) -> Result<()> {
    let mut stmt = conn
        .prepare(
            "SELECT metric, any_value(version), count(*) FROM (SELECT metric, version FROM metric_values \
             GROUP BY metric, version, month, dimension, segment HAVING count(*) > 1) GROUP BY metric ORDER BY metric",
        )
        .map_err(Error::db("checking metric rows"))?;
    let duplicated = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
        .map_err(Error::db("checking metric rows"))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::db("checking metric rows"))?;
    if let Some((metric, version, n)) = duplicated.into_iter().next() {
        return Err(Error::Metric {
            metric,
            message: format!("{version}.sql returned {n} (month, dimension, segment) keys more than once"),
        });
    }
    Ok(())
}

const DIMENSION_ORDER: [&str; 6] = ["all", "segment", "region", "owner", "channel", "feature"];

fn read_rows(conn: &Connection, catalog: &Catalog, period: Period) -> Result<Vec<MetricRow>> {
    let mut stmt = conn
        .prepare(
            "SELECT metric, version, CAST(year(month) AS INTEGER), CAST(month(month) AS INTEGER), \
             dimension, segment, value FROM metric_values",
        )
        .map_err(Error::db("reading metric values"))?;
    let rows = stmt
        .query_map([], |r| {
            let year: i32 = r.get(2)?;
            let month: i32 = r.get(3)?;
            Ok(MetricRow {
                metric: r.get(0)?,
                version: r.get(1)?,
                period: period.plus(Month::new(year, month as u32).expect("DuckDB months are valid").since(period.first_month()) / period.months() as i32),
                dimension: r.get(4)?,
                segment: r.get(5)?,
                value: r.get::<_, Option<f64>>(6)?.filter(|v| v.is_finite()),
                low_sample: false,
            })
        })
        .map_err(Error::db("reading metric values"))?;
    let mut out: Vec<MetricRow> = rows.collect::<std::result::Result<_, _>>().map_err(Error::db("reading metric values"))?;
    let rank: BTreeMap<&str, usize> = catalog.metrics.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
    let dim = |d: &str| DIMENSION_ORDER.iter().position(|x| *x == d).unwrap_or(DIMENSION_ORDER.len());
    out.sort_by(|a, b| {
        (rank[a.metric.as_str()], a.period, dim(&a.dimension), &a.segment)
            .cmp(&(rank[b.metric.as_str()], b.period, dim(&b.dimension), &b.segment))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::open;



    /// The identity check must catch a bridge that does not add up: here a
    /// churn that the movement table forgot.
    #[test]
    fn a_broken_mrr_bridge_fails_the_run_with_exit_1() {
        let catalog = Catalog::embedded().unwrap();
        let db = open("1GB", "10GB").unwrap();
        let conn = &db.conn;
        conn.execute_batch(
            "CREATE TABLE customer_month AS SELECT * FROM (VALUES
                 ('a', DATE '2024-01-01', 100::DECIMAL(38,12)),
                 ('b', DATE '2024-01-01', 50::DECIMAL(38,12)),
                 ('a', DATE '2024-02-01', 100::DECIMAL(38,12))) t(customer_id, month, mrr);
             CREATE TABLE customer_slices AS SELECT * FROM (VALUES ('a', 'all', 'all'), ('b', 'all', 'all'))
                 t(customer_id, dimension, segment);
             CREATE TABLE mrr_slice_month AS SELECT * FROM (VALUES
                 (DATE '2024-01-01', 'all', 'all', 150, 0, 0, 0, 0, 0, 0),
                 (DATE '2024-02-01', 'all', 'all', 0, 0, 0, 0, 0, 0, 0))
                 t(month, dimension, segment, mrr_new, mrr_reactivation, mrr_expansion, mrr_contraction, mrr_churn, mrr_fx, y);",
        )
        .unwrap();
        let err = run_checks(conn, &catalog).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let text = err.to_string();
        assert!(text.contains("mrr_identity") && text.contains("2024-02"), "{text}");
        assert!(!text.contains("2024-01"), "January adds up: {text}");
    }
}
