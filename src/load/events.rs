//! The usage events, read once. Events are the one export that grows without
//! bound, so they are never stored row by row: one pass over the files
//! groups them by customer, month and user into `usage_user_month` (the
//! grain every usage metric starts from) and counts, in the same pass, the
//! rows that break each rule of the input contract. Only when a rule is
//! broken is the export read again, with line numbers, to show the first
//! offending rows (see [`super::LoadedTable::create_lined`]).
//!
//! Before it, a narrow read of the `feature` column alone numbers the
//! features (the `usage_feature` ENUM), so a user-month's features are a
//! bit string with one bit per feature. Past [`MAX_FEATURE_BITS`] features
//! the bit strings would outgrow memory; the features of each customer and
//! month are then grouped as rows instead, in a second narrow read.

use duckdb::Connection;

use crate::error::{Error, Result};
use crate::db::literal;

/// The table the pass writes: one row per customer, month and user.
pub const AGGREGATE: &str = "usage_user_month";

/// The most features kept as bit strings (see the module's note).
const MAX_FEATURE_BITS: usize = 256;

/// What the pass reads: the typed rows (`typed`, a SELECT with the contract's
/// columns and `_bad_` flags), the same rows for narrow reads (`narrow`,
/// which must not record rejected CSV lines a second time), and `params`,
/// the files, one per `?` of each (either reads every file once).
pub struct Source<'a> {
    pub typed: &'a str,
    pub narrow: &'a str,
    pub params: &'a [String],
}

/// Runs the pass. `rules` are the predicates of the contract's rules counted
/// per row, in order: column `_rule_<i>` of the aggregate counts the rows
/// breaking rule `i`. Returns how many events were read.
pub fn aggregate(conn: &Connection, source: &Source<'_>, value_events: &[String], rules: &[&str]) -> Result<u64> {
    let run = |what: &str, sql: &str| -> Result<usize> {
        conn.execute(sql, duckdb::params_from_iter(source.params.iter()))
            .map_err(|e| Error::Input(format!("cannot read the usage events ({what}): {e}")))
    };
    run(
        "their features",
        &format!(
            "CREATE OR REPLACE TEMP TABLE usage_features_seen AS SELECT DISTINCT feature FROM ({}) WHERE feature IS NOT NULL",
            source.narrow
        ),
    )?;
    conn.execute_batch("CREATE OR REPLACE TYPE usage_feature AS ENUM (SELECT feature FROM usage_features_seen ORDER BY feature)")
        .map_err(Error::db("numbering the usage features"))?;
    let features: i64 =
        conn.query_row("SELECT count(*) FROM usage_features_seen", [], |r| r.get(0)).map_err(Error::db("counting the usage features"))?;
    let as_bits = features > 0 && features as usize <= MAX_FEATURE_BITS;
    let feature_bit = if as_bits {
        format!("set_bit(bitstring('0', {features}), enum_code(CAST(feature AS usage_feature)), 1)")
    } else {
        "CAST(NULL AS BIT)".to_string()
    };
    let is_value = if value_events.is_empty() {
        "false".to_string()
    } else {
        format!("feature IN ({})", value_events.iter().map(|f| literal(f)).collect::<Vec<_>>().join(", "))
    };
    let counted: String = rules.iter().enumerate().map(|(i, p)| format!(", count(*) FILTER (WHERE {p}) AS _rule_{i}")).collect();
    // Events are dated by their UTC date; 12 × year + month - 1 is an
    // integer month key (faster to group than a date); a day is one bit of a
    // 31-bit mask.
    run(
        "grouping them",
        &format!(
            "CREATE OR REPLACE TABLE {AGGREGATE} AS \
             SELECT customer_id, month_key, user_id, count(*) AS n, \
                    bit_or(day_bit) AS day_mask, bit_or(feature_bit) AS feature_set, \
                    bit_or(CASE WHEN {is_value} THEN day_bit ELSE 0 END) AS value_day_mask, \
                    sum(duration_seconds) AS seconds, min(occurred_at) AS first_at, max(occurred_at) AS last_at{counted} \
             FROM (SELECT *, year(occurred_at) * 12 + month(occurred_at) - 1 AS month_key, \
                          CAST(1 AS BIGINT) << (dayofmonth(occurred_at) - 1) AS day_bit, {feature_bit} AS feature_bit \
                   FROM ({}) AS t) AS t \
             GROUP BY customer_id, month_key, user_id",
            source.typed
        ),
    )?;
    if as_bits || features == 0 {
        conn.execute_batch("CREATE OR REPLACE TABLE usage_feature_rows (customer_id VARCHAR, month_key BIGINT, idx INTEGER)")
            .map_err(Error::db("creating usage_feature_rows"))?;
    } else {
        run(
            "grouping their features",
            &format!(
                "CREATE OR REPLACE TABLE usage_feature_rows AS \
                 SELECT DISTINCT customer_id, year(occurred_at) * 12 + month(occurred_at) - 1 AS month_key, \
                        enum_code(CAST(feature AS usage_feature)) AS idx \
                 FROM ({}) WHERE feature IS NOT NULL",
                source.narrow
            ),
        )?;
    }
    let rows: i64 = conn
        .query_row(&format!("SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM {AGGREGATE}"), [], |r| r.get(0))
        .map_err(Error::db("counting the usage events"))?;
    Ok(rows as u64)
}
