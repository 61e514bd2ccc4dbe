//! What a metric's number is (money, a percent, a count...) and which way
//! is good: shared by the catalog, the trends, the report and the outputs.

use serde::{Deserialize, Serialize};

/// What a metric's value is, which decides how it is formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Money,
    Percent,
    Count,
    Ratio,
    Months,
    Years,
    Days,
    Hours,
    Minutes,
    Score,
}

impl Unit {
    pub const ALL: [Unit; 10] = [
        Unit::Money, Unit::Percent, Unit::Count, Unit::Ratio, Unit::Months,
        Unit::Years, Unit::Days, Unit::Hours, Unit::Minutes, Unit::Score,
    ];

    /// The name used in metric.yml, metrics.csv and the templates' filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Money => "money",
            Unit::Percent => "percent",
            Unit::Count => "count",
            Unit::Ratio => "ratio",
            Unit::Months => "months",
            Unit::Years => "years",
            Unit::Days => "days",
            Unit::Hours => "hours",
            Unit::Minutes => "minutes",
            Unit::Score => "score",
        }
    }

    pub fn from_name(name: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.as_str() == name)
    }
}

/// Which way is good for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
    /// Neither (a count that is context, such as ticket volume).
    None,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::None => "none",
        }
    }
}
