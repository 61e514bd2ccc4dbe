//! The input contract (INPUTS.md, summed up in the README's *Inputs*) as
//! data: every table, its columns, their types and whether they may be
//! empty or left out. Loading, checking, staging and the config all read
//! it; it imports nothing of theirs.

/// The type a contract column is loaded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    /// Text compared case-insensitively: stored trimmed and lower-case.
    Code,
    /// Currency code: stored trimmed and upper-case.
    Currency,
    Date,
    /// ISO 8601, converted to UTC.
    Timestamp,
    /// Money and durations: up to 10^12 with 6 decimals (64-bit, fast to parse).
    Decimal,
    /// Exchange rates: up to 10^8 with 10 decimals.
    Rate,
    Integer,
}

impl ColumnKind {
    pub fn sql_type(self) -> &'static str {
        match self {
            ColumnKind::Text | ColumnKind::Code | ColumnKind::Currency => "VARCHAR",
            ColumnKind::Date => "DATE",
            ColumnKind::Timestamp => "TIMESTAMP",
            ColumnKind::Decimal => "DECIMAL(18,6)",
            ColumnKind::Rate => "DECIMAL(18,10)",
            ColumnKind::Integer => "BIGINT",
        }
    }


    /// Whether typing a raw value can fail (text never does).
    pub fn can_fail(self) -> bool {
        !matches!(self, ColumnKind::Text | ColumnKind::Code | ColumnKind::Currency)
    }


    pub fn describe(self) -> &'static str {
        match self {
            ColumnKind::Text | ColumnKind::Code | ColumnKind::Currency => "text",
            ColumnKind::Date => "a date YYYY-MM-DD",
            ColumnKind::Timestamp => "an ISO 8601 timestamp",
            ColumnKind::Decimal => "a decimal number (at most 6 decimals, below 10^12)",
            ColumnKind::Rate => "a decimal number (at most 10 decimals, below 10^8)",
            ColumnKind::Integer => "a whole number",
        }
    }
}

#[derive(Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: ColumnKind,
    /// Cells may be empty.
    pub nullable: bool,
    /// The export may leave the whole column out (it then loads as all-null
    /// and the metrics that need it are not available).
    pub may_be_absent: bool,
}

#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub required: bool,
    pub columns: &'static [ColumnSpec],
    /// The column whose latest date tells how far the export reaches (the
    /// freshness gate); `None` for tables of state, not events.
    pub date_column: Option<&'static str>,
    /// One row set per month (`marketing_spend`, `fx_rates`): a month with
    /// no rows is a month the export does not cover.
    pub monthly: bool,
    /// Never stored row by row: read once into aggregates (see [`events`]).
    pub aggregated: bool,
}

const fn col(name: &'static str, kind: ColumnKind, nullable: bool) -> ColumnSpec {
    ColumnSpec { name, kind, nullable, may_be_absent: nullable }
}

/// An optional table of events or state (`date_column`: see [`TableSpec`]).
const fn table(name: &'static str, date_column: Option<&'static str>, columns: &'static [ColumnSpec]) -> TableSpec {
    TableSpec { name, required: false, columns, date_column, monthly: false, aggregated: false }
}

/// A table every run needs.
const fn required(name: &'static str, date_column: Option<&'static str>, columns: &'static [ColumnSpec]) -> TableSpec {
    TableSpec { required: true, ..table(name, date_column, columns) }
}

impl TableSpec {
    const fn monthly(self) -> TableSpec {
        TableSpec { monthly: true, ..self }
    }

    const fn aggregated(self) -> TableSpec {
        TableSpec { aggregated: true, ..self }
    }
}

use ColumnKind::*;

/// Every table of the input contract, in load order.
pub static TABLES: &[TableSpec] = &[
    required("customers", None, &[
        col("customer_id", Text, false), col("name", Text, true), col("signup_date", Date, false),
        col("segment", Text, true), col("region", Text, true), col("acquisition_channel", Code, true),
        col("owner", Text, true),
    ]),
    required("subscriptions", None, &[
        col("subscription_id", Text, false), col("customer_id", Text, false), col("plan", Text, true),
        col("start_date", Date, false),
        // Empty cells mean "still running", but an export without the
        // column would show no churn at all: the column must be there.
        ColumnSpec { name: "end_date", kind: Date, nullable: true, may_be_absent: false },
        col("billing_period", Code, false), col("amount", Decimal, false), col("currency", Currency, true),
    ]),
    table("invoices", Some("invoice_date"), &[
        col("invoice_id", Text, false), col("customer_id", Text, false), col("invoice_date", Date, false),
        col("amount", Decimal, false), col("currency", Currency, true), col("status", Code, false),
        col("kind", Code, false),
    ]),
    table("marketing_spend", Some("month"), &[
        col("month", Date, false), col("channel", Code, false), col("amount", Decimal, false),
        col("currency", Currency, true),
    ]).monthly(),
    table("survey_responses", Some("responded_at"), &[
        col("response_id", Text, false), col("customer_id", Text, false), col("survey", Code, false),
        col("score", Integer, false), col("responded_at", Timestamp, false),
    ]),
    table("tickets", Some("created_at"), &[
        col("ticket_id", Text, false), col("customer_id", Text, false), col("created_at", Timestamp, false),
        col("resolved_at", Timestamp, true), col("contacts", Integer, false),
    ]),
    table("usage_events", Some("occurred_at"), &[
        col("customer_id", Text, false), col("user_id", Text, false), col("occurred_at", Timestamp, false),
        col("feature", Text, false), col("duration_seconds", Decimal, true),
    ]).aggregated(),
    table("trials", Some("started_at"), &[
        col("trial_id", Text, false), col("customer_id", Text, true), col("started_at", Date, false),
        col("ended_at", Date, false), col("converted_at", Date, true),
    ]),
    table("owners", None, &[
        col("owner", Text, false), col("name", Text, true), col("email", Text, false),
    ]),
    table("fx_rates", Some("month"), &[
        col("currency", Currency, false), col("month", Date, false), col("rate", Rate, false),
    ]).monthly(),
];

pub fn table_spec(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// Lower-case letters, digits and `_`, starting with a letter: a name SQL
/// and file systems take as it is (raw exports, added metric ids).
pub fn is_plain_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
