//! Calendar months, and the report periods built from them: a month, a
//! quarter or a (fiscal) year.

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

/// The length of a report period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Month,
    Quarter,
    Year,
}

impl Kind {
    pub fn months(self) -> u32 {
        match self {
            Kind::Month => 1,
            Kind::Quarter => 3,
            Kind::Year => 12,
        }
    }

    /// "month", "quarter" or "year", for sentences.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Month => "month",
            Kind::Quarter => "quarter",
            Kind::Year => "year",
        }
    }

    /// "monthly", "quarterly" or "yearly".
    pub fn adjective(self) -> &'static str {
        match self {
            Kind::Month => "monthly",
            Kind::Quarter => "quarterly",
            Kind::Year => "yearly",
        }
    }

    /// The period before, as comparisons name it: "last month", "last
    /// quarter" or "last year".
    pub fn last(self) -> &'static str {
        match self {
            Kind::Month => "last month",
            Kind::Quarter => "last quarter",
            Kind::Year => "last year",
        }
    }
}

/// A report period (METRICS.md, "Quarters and years"): a month, a quarter or
/// a year, calendar or fiscal. Its id is what the command line takes and the
/// outputs carry: `2026-10`, `2026-Q3`, `2026`, `FY2027`, `FY2027-Q1`. Steps
/// by whole periods of its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    first: Month,
    kind: Kind,
    /// The month (1–12) fiscal years start in, or 0 for calendar periods.
    fiscal_start: u32,
}

impl Period {
    pub fn month(m: Month) -> Period {
        Period { first: m, kind: Kind::Month, fiscal_start: 0 }
    }

    /// The period of `kind` that holds month `m`; fiscal (named FY…) when
    /// `fiscal_start` is given, calendar otherwise.
    pub fn containing(m: Month, kind: Kind, fiscal_start: Option<u32>) -> Period {
        let start = fiscal_start.unwrap_or(1) as i32;
        let back = (m.month() as i32 - start).rem_euclid(kind.months() as i32);
        let fiscal_start = if kind == Kind::Month { 0 } else { fiscal_start.unwrap_or(0) };
        Period { first: m.plus(-back), kind, fiscal_start }
    }

    /// The last complete period of `kind` before `today`'s month.
    pub fn last_complete(kind: Kind, fiscal_start: Option<u32>, today: NaiveDate) -> Period {
        let last_month = Month::of(today).plus(-1);
        let p = Period::containing(last_month, kind, fiscal_start);
        if p.last_month() > last_month { p.plus(-1) } else { p }
    }

    /// Reads a period id; `FY…` ids need the fiscal year's start month.
    /// `last-month`, `last-quarter` and `last-year` name the last complete
    /// one before `today` (fiscal when a fiscal start is configured).
    pub fn parse(s: &str, fiscal_start: Option<u32>, today: NaiveDate) -> Result<Period, String> {
        let bad = || {
            format!(
                "`{s}` is not a period; write a month YYYY-MM (2026-10), a quarter YYYY-Qn (2026-Q3), a year YYYY \
                 (2026), with `fiscal_year_start_month` set a fiscal year FYyyyy (FY2027) or quarter FYyyyy-Qn, \
                 or last-month, last-quarter, last-year"
            )
        };
        let year = |y: &str| (y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit())).then(|| y.parse::<i32>().ok()).flatten();
        let quarter = |q: &str| match q {
            "Q1" | "q1" => Some(0),
            "Q2" | "q2" => Some(1),
            "Q3" | "q3" => Some(2),
            "Q4" | "q4" => Some(3),
            _ => None,
        };
        match s {
            "last-month" => return Ok(Period::last_complete(Kind::Month, None, today)),
            "last-quarter" => return Ok(Period::last_complete(Kind::Quarter, fiscal_start, today)),
            "last-year" => return Ok(Period::last_complete(Kind::Year, fiscal_start, today)),
            _ => {}
        }
        if let Some(rest) = s.strip_prefix("FY").or_else(|| s.strip_prefix("fy")) {
            let start = fiscal_start.ok_or_else(|| {
                format!("`{s}` is a fiscal period, but the config sets no `fiscal_year_start_month`")
            })?;
            let (y, q) = match rest.split_once('-') {
                Some((y, q)) => (y, Some(quarter(q).ok_or_else(bad)?)),
                None => (rest, None),
            };
            let fy = year(y).ok_or_else(bad)?;
            // FYyyyy ends in the calendar year yyyy: its last month is the
            // one before the start month of yyyy (December for January).
            let first = Month::new(fy, start).expect("start is 1-12").plus(if start == 1 { 0 } else { -12 });
            return Ok(match q {
                None => Period { first, kind: Kind::Year, fiscal_start: start },
                Some(q) => Period { first: first.plus(3 * q), kind: Kind::Quarter, fiscal_start: start },
            });
        }
        if let Some((y, q)) = s.split_once('-').filter(|(_, q)| q.starts_with(['Q', 'q'])) {
            let first = Month::new(year(y).ok_or_else(bad)?, 1).expect("January").plus(3 * quarter(q).ok_or_else(bad)?);
            return Ok(Period { first, kind: Kind::Quarter, fiscal_start: 0 });
        }
        if let Some(y) = year(s) {
            return Ok(Period { first: Month::new(y, 1).expect("January"), kind: Kind::Year, fiscal_start: 0 });
        }
        s.parse::<Month>().map(Period::month).map_err(|_| bad())
    }

    /// Whether a folder name is a period id (of any kind).
    pub fn is_id(name: &str) -> bool {
        let today = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
        !name.starts_with("last-") && Period::parse(name, Some(1), today).is_ok()
    }

    pub fn kind(self) -> Kind {
        self.kind
    }

    pub fn is_month(self) -> bool {
        self.kind == Kind::Month
    }

    /// Months in the period: 1, 3 or 12.
    pub fn months(self) -> u32 {
        self.kind.months()
    }

    /// Periods of this kind in a year: 12, 4 or 1.
    pub fn per_year(self) -> i32 {
        12 / self.months() as i32
    }

    pub fn first_month(self) -> Month {
        self.first
    }

    pub fn last_month(self) -> Month {
        self.first.plus(self.months() as i32 - 1)
    }

    pub fn first_day(self) -> NaiveDate {
        self.first.first_day()
    }

    pub fn last_day(self) -> NaiveDate {
        self.last_month().last_day()
    }

    /// The period `n` periods later (earlier when negative).
    pub fn plus(self, n: i32) -> Period {
        Period { first: self.first.plus(n * self.months() as i32), ..self }
    }

    /// Whole periods from `earlier` to `self` (same kind).
    pub fn since(self, earlier: Period) -> i32 {
        self.first.since(earlier.first) / self.months() as i32
    }

    /// The period's months, first to last.
    pub fn month_list(self) -> Vec<Month> {
        (0..self.months() as i32).map(|i| self.first.plus(i)).collect()
    }

    /// The fiscal (or calendar) year the period belongs to, by the calendar
    /// year of its last month.
    fn year_named(self) -> i32 {
        let start = if self.fiscal_start == 0 { 1 } else { self.fiscal_start } as i32;
        let back = (self.first.month() as i32 - start).rem_euclid(12);
        self.first.plus(-back + 11).year()
    }

    fn quarter_number(self) -> i32 {
        let start = if self.fiscal_start == 0 { 1 } else { self.fiscal_start } as i32;
        (self.first.month() as i32 - start).rem_euclid(12) / 3 + 1
    }

    /// For readers: "October 2026", "Q3 2026", "2026", "FY2027", "Q1 FY2027".
    pub fn label(self) -> String {
        const NAMES: [&str; 12] = [
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
        ];
        match (self.kind, self.fiscal_start) {
            (Kind::Month, _) => format!("{} {}", NAMES[self.first.month() as usize - 1], self.first.year()),
            (Kind::Quarter, 0) => format!("Q{} {}", self.quarter_number(), self.first.year()),
            (Kind::Quarter, _) => format!("Q{} FY{}", self.quarter_number(), self.year_named()),
            (Kind::Year, 0) => format!("{}", self.first.year()),
            (Kind::Year, _) => format!("FY{}", self.year_named()),
        }
    }

    /// The same period's short label for chart axes: "Oct 26", "Q3 26",
    /// "2026", "FY27".
    pub fn short_label(self) -> String {
        const NAMES: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let yy = |y: i32| y.rem_euclid(100);
        match (self.kind, self.fiscal_start) {
            (Kind::Month, _) => format!("{} {:02}", NAMES[self.first.month() as usize - 1], yy(self.first.year())),
            (Kind::Quarter, 0) => format!("Q{} {:02}", self.quarter_number(), yy(self.first.year())),
            (Kind::Quarter, _) => format!("Q{} FY{:02}", self.quarter_number(), yy(self.year_named())),
            (Kind::Year, 0) => format!("{}", self.first.year()),
            (Kind::Year, _) => format!("FY{:02}", yy(self.year_named())),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.fiscal_start) {
            (Kind::Month, _) => write!(f, "{}", self.first),
            (Kind::Quarter, 0) => write!(f, "{}-Q{}", self.first.year(), self.quarter_number()),
            (Kind::Quarter, _) => write!(f, "FY{}-Q{}", self.year_named(), self.quarter_number()),
            (Kind::Year, 0) => write!(f, "{}", self.first.year()),
            (Kind::Year, _) => write!(f, "FY{}", self.year_named()),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The report's window, built once from the period and `trend_months`: the
/// period, the trend window before it, and the first period the metrics are
/// computed for (the window and a year before it, which the trends compare
/// against). Every stage reads these here instead of working them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The report period.
    pub period: Period,
    /// How many periods before `period` the trends show: `trend_months`
    /// rounded up to whole periods (12 months, 4 quarters, 1 year).
    pub periods: i32,
    /// The first period the trends show.
    pub start: Period,
    /// The first period computed.
    pub first: Period,
}

impl Window {
    pub fn new(period: Period, trend_months: u32) -> Window {
        let periods = trend_months.div_ceil(period.months()) as i32;
        let start = period.plus(-periods);
        Window { period, periods, start, first: start.plus(-period.per_year()) }
    }

    /// The periods whose figures the report shows: the trend from `start`
    /// to the period, and the period a year before.
    pub fn shown(&self) -> Vec<Period> {
        let mut out: Vec<Period> = (0..=self.periods).map(|i| self.start.plus(i)).collect();
        let year_ago = self.period.plus(-self.period.per_year());
        if year_ago < self.start {
            out.insert(0, year_ago);
        }
        out
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

    #[test]
    fn periods_parse_name_and_step() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let parse = |s: &str, fy: Option<u32>| Period::parse(s, fy, today).unwrap();
        let q = parse("2026-Q3", None);
        assert_eq!((q.first_month().to_string(), q.last_month().to_string()), ("2026-07".into(), "2026-09".into()));
        assert_eq!((q.to_string(), q.label(), q.plus(-4).to_string(), q.plus(2).to_string()), ("2026-Q3".into(), "Q3 2026".into(), "2025-Q3".into(), "2027-Q1".into()));
        let fy = parse("FY2027", Some(2));
        assert_eq!((fy.first_month().to_string(), fy.last_month().to_string()), ("2026-02".into(), "2027-01".into()));
        assert_eq!((fy.to_string(), fy.plus(-1).to_string()), ("FY2027".into(), "FY2026".into()));
        let fq = parse("FY2027-Q4", Some(2));
        assert_eq!((fq.first_month().to_string(), fq.last_month().to_string(), fq.label()), ("2026-11".into(), "2027-01".into(), "Q4 FY2027".into()));
        assert_eq!(fq.plus(1).to_string(), "FY2028-Q1");
        assert_eq!(parse("FY2026", Some(1)).first_month().to_string(), "2026-01");
        assert_eq!(parse("2025", None).last_month().to_string(), "2025-12");
        assert_eq!(parse("2026-10", None), Period::month("2026-10".parse().unwrap()));
        // The last complete ones before 2026-11-25.
        assert_eq!(parse("last-month", None).to_string(), "2026-10");
        assert_eq!(parse("last-quarter", None).to_string(), "2026-Q3");
        assert_eq!(parse("last-year", None).to_string(), "2025");
        assert_eq!(parse("last-year", Some(2)).to_string(), "FY2026");
        assert_eq!(parse("last-quarter", Some(2)).to_string(), "FY2027-Q3");
        assert_eq!(parse("last-quarter", Some(2)).last_month().to_string(), "2026-10");
        assert!(Period::parse("FY2027", None, today).unwrap_err().contains("fiscal_year_start_month"));
        for bad in ["2026-Q5", "2026-Q", "26", "FY27", "2026-13", "Q3-2026", "last-week"] {
            assert!(Period::parse(bad, Some(2), today).is_err(), "{bad}");
        }
        assert!(Period::is_id("FY2027-Q1") && Period::is_id("2026") && !Period::is_id("tmp") && !Period::is_id("last-year"));
        assert_eq!(q.since(q.plus(-5)), 5);
    }
}
