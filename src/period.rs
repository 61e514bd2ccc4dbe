//! A calendar month, the unit of every report.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Serialize, Serializer};

/// A calendar month such as 2026-10; ordered, and steps by whole months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Months since year 0: year × 12 + (month − 1).
    index: i32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then(|| Month { index: year * 12 + month as i32 - 1 })
    }

    pub fn of(date: NaiveDate) -> Month {
        Month::new(date.year(), date.month()).expect("a date has a valid month")
    }

    /// The last complete calendar month (UTC) before today.
    pub fn last_complete() -> Month {
        Month::of(Utc::now().date_naive()).plus(-1)
    }

    pub fn year(self) -> i32 {
        self.index.div_euclid(12)
    }

    pub fn month(self) -> u32 {
        self.index.rem_euclid(12) as u32 + 1
    }

    pub fn plus(self, months: i32) -> Month {
        Month { index: self.index + months }
    }

    /// Whole months from `earlier` to `self`.
    pub fn since(self, earlier: Month) -> i32 {
        self.index - earlier.index
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year(), self.month(), 1).expect("valid month")
    }

    pub fn last_day(self) -> NaiveDate {
        self.plus(1).first_day().pred_opt().expect("valid date")
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl FromStr for Month {
    type Err = String;

    fn from_str(s: &str) -> Result<Month, String> {
        let bad = || format!("`{s}` is not a month; write it as YYYY-MM, for example 2026-10");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_step_and_print() {
        let m: Month = "2024-01".parse().unwrap();
        assert_eq!(m.plus(-1).to_string(), "2023-12");
        assert_eq!(m.plus(13).to_string(), "2025-02");
        assert_eq!(m.last_day(), NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
        assert_eq!("2024-02".parse::<Month>().unwrap().last_day().to_string(), "2024-02-29");
        assert_eq!(m.plus(5).since(m), 5);
        for bad in ["2024-13", "2024-1", "24-01", "2024/01", "x"] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }
}
