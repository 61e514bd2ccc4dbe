//! What each input table holds per month: the rows dated in it, their
//! amounts and a checksum of their contents. The history store keeps each
//! published run's profile, so when a later run restates a month the two
//! profiles tell which inputs dated in it were added, removed or changed
//! (see `publish::restate`).
//!
//! A row counts in every month one of its dates falls in (a subscription in
//! the month it starts and the month it ends), so a back-dated cancellation
//! shows as a row new to the month it now ends in. Usage events are profiled
//! from their aggregate (`usage_events_month`), the only form they are kept in.

use duckdb::Connection;

use crate::contract::{table_spec, ColumnKind};
use crate::db::ident;
use crate::error::{Error, Result};
use crate::load::{events, LoadedTable};
use crate::model::rows::InputMonth;

/// The profile of every present table, by table then month.
pub fn months(conn: &Connection, tables: &[LoadedTable]) -> Result<Vec<InputMonth>> {
    let mut out = Vec::new();
    for t in tables.iter().filter(|t| t.present()) {
        let Some(sql) = profile_sql(t) else { continue };
        let mut stmt = conn.prepare(&sql).map_err(Error::db(format!("profiling {}", t.table)))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(InputMonth { table: t.table.to_string(), month: r.get(0)?, rows: r.get(1)?, amount: r.get(2)?, checksum: r.get(3)? })
            })
            .map_err(Error::db(format!("profiling {}", t.table)))?;
        for row in rows {
            out.push(row.map_err(Error::db(format!("profiling {}", t.table)))?);
        }
    }
    Ok(out)
}

/// One table's profile query: `month, rows, amount, checksum`, by month.
/// `None` for a table without dates (`owners`).
fn profile_sql(t: &LoadedTable) -> Option<String> {
    let spec = table_spec(t.table).expect("loaded tables are contract tables");
    if spec.aggregated {
        // The customer-month grain of the events: counts and contents, no amount.
        return Some(format!(
            "SELECT strftime(make_date(month_key // 12, month_key % 12 + 1, 1), '%Y-%m') AS month, \
                    CAST(sum(n) AS BIGINT), CAST(NULL AS DOUBLE), \
                    CAST(sum(hash(customer_id, n, users, day_mask, seconds, first_at, last_at, feature_days)) AS VARCHAR) \
             FROM {} GROUP BY month_key ORDER BY month_key",
            events::AGGREGATE
        ));
    }
    let dates: Vec<String> = spec
        .columns
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::Date | ColumnKind::Timestamp))
        .map(|c| format!("strftime({}, '%Y-%m')", ident(c.name)))
        .collect();
    if dates.is_empty() {
        return None;
    }
    let contents: Vec<String> = spec.columns.iter().map(|c| ident(c.name)).collect();
    let amount = if spec.columns.iter().any(|c| c.name == "amount") { "CAST(sum(amount) AS DOUBLE)" } else { "CAST(NULL AS DOUBLE)" };
    Some(format!(
        "SELECT _month, count(*), {amount}, CAST(sum(_hash) AS VARCHAR) \
         FROM (SELECT *, hash({contents}) AS _hash, unnest(list_distinct(list_filter([{dates}], x -> x IS NOT NULL))) AS _month FROM {table}) \
         GROUP BY _month ORDER BY _month",
        contents = contents.join(", "),
        dates = dates.join(", "),
        table = ident(t.table),
    ))
}
