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

use ColumnKind::*;

/// Every table of the input contract, in load order.
pub static TABLES: &[TableSpec] = &[
    TableSpec {
        name: "customers",
        required: true,
        columns: &[
            col("customer_id", Text, false),
            col("name", Text, true),
            col("signup_date", Date, false),
            col("segment", Text, true),
            col("region", Text, true),
            col("acquisition_channel", Code, true),
            col("owner", Text, true),
        ],
        date_column: None,
        monthly: false,
        aggregated: false,
    },
    TableSpec {
        name: "subscriptions",
        required: true,
        columns: &[
            col("subscription_id", Text, false),
            col("customer_id", Text, false),
            col("plan", Text, true),
            col("start_date", Date, false),
            // Empty cells mean "still running", but an export without the
            // column would show no churn at all: the column must be there.
            ColumnSpec { name: "end_date", kind: Date, nullable: true, may_be_absent: false },
            col("billing_period", Code, false),
            col("amount", Decimal, false),
            col("currency", Currency, true),
        ],
        date_column: None,
        monthly: false,
        aggregated: false,
    },
    TableSpec {
        name: "invoices",
        required: false,
        columns: &[
            col("invoice_id", Text, false),
            col("customer_id", Text, false),
            col("invoice_date", Date, false),
            col("amount", Decimal, false),
            col("currency", Currency, true),
            col("status", Code, false),
            col("kind", Code, false),
        ],
        date_column: Some("invoice_date"),
        monthly: false,
        aggregated: false,
    },
    TableSpec {
        name: "marketing_spend",
        required: false,
        columns: &[
            col("month", Date, false),
            col("channel", Code, false),
            col("amount", Decimal, false),
            col("currency", Currency, true),
        ],
        date_column: Some("month"),
        monthly: true,
        aggregated: false,
    },
    TableSpec {
        name: "survey_responses",
        required: false,
        columns: &[
            col("response_id", Text, false),
            col("customer_id", Text, false),
            col("survey", Code, false),
            col("score", Integer, false),
            col("responded_at", Timestamp, false),
        ],
        date_column: Some("responded_at"),
        monthly: false,
        aggregated: false,
    },
    TableSpec {
        name: "tickets",
        required: false,
        columns: &[
            col("ticket_id", Text, false),
            col("customer_id", Text, false),
            col("created_at", Timestamp, false),
            col("resolved_at", Timestamp, true),
            col("contacts", Integer, false),
        ],
        date_column: Some("created_at"),
        monthly: false,
        aggregated: false,
    },
    TableSpec {
        name: "usage_events",
        required: false,
        columns: &[
            col("customer_id", Text, false),
            col("user_id", Text, false),
            col("occurred_at", Timestamp, false),
            col("feature", Text, false),
            col("duration_seconds", Decimal, true),
        ],
        date_column: Some("occurred_at"),
        monthly: false,
        aggregated: true,
    },
    TableSpec {
        name: "trials",
        required: false,
        columns: &[
            col("trial_id", Text, false),
            col("customer_id", Text, true),
            col("started_at", Date, false),
            col("ended_at", Date, false),
            col("converted_at", Date, true),
        ],
        date_column: Some("started_at"),
        monthly: false,
        aggregated: false,
    },
    TableSpec {
        name: "owners",
        required: false,
        columns: &[col("owner", Text, false), col("name", Text, true), col("email", Text, false)],
        date_column: None,
        monthly: false,
        aggregated: false,
    },
    TableSpec {
        name: "fx_rates",
        required: false,
        columns: &[col("currency", Currency, false), col("month", Date, false), col("rate", Rate, false)],
        date_column: Some("month"),
        monthly: true,
        aggregated: false,
    },
];

pub fn table_spec(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// Lower-case letters, digits and `_`, starting with a letter: a name SQL
/// and file systems take as it is (raw exports, added metric ids).
pub fn is_plain_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
