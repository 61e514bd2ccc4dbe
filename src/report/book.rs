//! Books of business: one report per customer-success manager, made of the
//! owner's slice of every series (as if the data held only that owner's
//! customers), the owner's accounts ranked by what needs doing, and the
//! team table of the main report. Nothing of another owner's accounts goes
//! into a book.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::model::rows::{CohortRow, CustomerRow, OwnerRow, Restatement, SeriesRow};
use crate::model::text::sha256_bytes;
use crate::model::period::Period;
use crate::report::{at_risk_view, AtRiskView};

/// The slice name of customers with no owner.
pub const UNASSIGNED: &str = "unassigned";

/// The book's owner, for its heading and its email.
#[derive(Debug, Clone, Serialize)]
pub struct BookView {
    pub owner: String,
    pub name: String,
    pub email: Option<String>,
    /// The first [`LISTED`] accounts in the order of what needs doing.
    pub accounts: Vec<AccountView>,
    /// How many accounts the owner has in all (every one is in customers.csv).
    pub accounts_total: usize,
    /// How many of them have a reason to be looked at.
    pub accounts_flagged: usize,
}

/// How many accounts a book (and the team view's unowned list) shows; every
/// account is in customers.csv.
pub const LISTED: usize = 100;

impl BookView {
    /// The book of `customers` (the owner's), its accounts ranked.
    pub fn new(owner: String, name: String, email: Option<String>, customers: &[&CustomerRow], period: Period, before: &str) -> BookView {
        let (accounts, accounts_flagged) = ranked(customers, period.last_day(), before, LISTED);
        BookView { owner, name, email, accounts, accounts_total: customers.len(), accounts_flagged }
    }
}

/// One account of a book, with why it is where it is in the list: the
/// at-risk list's view of it, and what a manager needs besides.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    #[serde(flatten)]
    pub account: AtRiskView,
    pub prev_mrr: f64,
    pub band: Option<String>,
    pub prev_band: Option<String>,
    pub last_usage: Option<String>,
    pub open_tickets: i64,
    pub detractor_answers: i64,
    pub term_end: Option<String>,
    /// The reasons to look at it, most pressing first ("at risk", ...).
    pub why: Vec<&'static str>,
}

/// The reasons an account needs doing, in the order the book ranks them.
const REASONS: [&str; 7] =
    ["scheduled to cancel", "at risk", "health falling", "contraction", "no usage in 30 days", "open tickets", "detractor answers"];

/// The owner's accounts, ranked: scheduled to cancel first, at risk, then falling health,
/// contraction, no usage in the last 30 days of the period, open tickets,
/// detractor answers, then the rest; more MRR first within each. The first
/// `limit` of them, and how many have a reason to be looked at in all: only
/// the listed ones are put into words.
pub fn ranked(customers: &[&CustomerRow], period_end: NaiveDate, before: &str, limit: usize) -> (Vec<AccountView>, usize) {
    let quiet_since = period_end - chrono::Days::new(29);
    let mut order: Vec<(usize, [bool; 7], &CustomerRow)> = customers
        .iter()
        .map(|c| {
            let checks = [
                c.cancels_on.is_some(),
                c.band.as_deref() == Some("at_risk"),
                matches!((c.health, c.prev_health), (Some(now), Some(before)) if now < before),
                c.prev_mrr > 0.0 && c.mrr < c.prev_mrr,
                c.last_usage.is_none_or(|d| d < quiet_since),
                c.open_tickets > 0,
                c.detractor_answers > 0,
            ];
            (checks.iter().position(|hit| *hit).unwrap_or(REASONS.len()), checks, *c)
        })
        .collect();
    let flagged = order.iter().filter(|(rank, _, _)| *rank < REASONS.len()).count();
    order.sort_by(|(ra, _, a), (rb, _, b)| ra.cmp(rb).then(b.mrr.total_cmp(&a.mrr)).then_with(|| a.customer_id.cmp(&b.customer_id)));
    let views = order
        .into_iter()
        .take(limit)
        .map(|(_, checks, c)| {
            let why: Vec<&'static str> = REASONS.iter().zip(checks).filter(|(_, hit)| *hit).map(|(r, _)| *r).collect();
            AccountView {
                account: at_risk_view(c, before),
                prev_mrr: c.prev_mrr,
                band: c.band.clone(),
                prev_band: c.prev_band.clone(),
                last_usage: c.last_usage.map(|d| d.to_string()),
                open_tickets: c.open_tickets,
                detractor_answers: c.detractor_answers,
                term_end: c.term_end.map(|d| d.to_string()),
                why,
            }
        })
        .collect();
    (views, flagged)
}

/// The owners of the period, sorted, `unassigned` last: those with an
/// `owner` slice in the series.
pub fn owners_of(series: &[SeriesRow], period: Period) -> Vec<String> {
    let mut out: Vec<String> = series
        .iter()
        .filter(|s| s.row.dimension == "owner" && s.row.period == period && s.row.metric == "mrr")
        .map(|s| s.row.segment.clone())
        .collect();
    out.sort_by_key(|o| (o == UNASSIGNED, o.clone()));
    out.dedup();
    out
}

/// A row of one slice (`dimension`, `segment`): what a book takes of the
/// company's rows, one owner's, as the totals of its own report.
pub trait Sliced: Clone {
    fn slice(&self) -> (&str, &str);
    fn set_slice(&mut self, dimension: &str, segment: &str);
}

impl Sliced for SeriesRow {
    fn slice(&self) -> (&str, &str) {
        (&self.row.dimension, &self.row.segment)
    }
    fn set_slice(&mut self, dimension: &str, segment: &str) {
        (self.row.dimension, self.row.segment) = (dimension.into(), segment.into());
    }
}

impl Sliced for CohortRow {
    fn slice(&self) -> (&str, &str) {
        (&self.dimension, &self.segment)
    }
    fn set_slice(&mut self, dimension: &str, segment: &str) {
        (self.dimension, self.segment) = (dimension.into(), segment.into());
    }
}

impl Sliced for Restatement {
    fn slice(&self) -> (&str, &str) {
        (&self.dimension, &self.segment)
    }
    fn set_slice(&mut self, dimension: &str, segment: &str) {
        (self.dimension, self.segment) = (dimension.into(), segment.into());
    }
}

/// One owner's rows (series, cohorts, restatements), as the totals of
/// their own report.
pub fn owner_part<T: Sliced>(rows: &[T], owner: &str) -> Vec<T> {
    rows.iter()
        .filter(|r| r.slice() == ("owner", owner))
        .map(|r| {
            let mut r = r.clone();
            r.set_slice("all", "all");
            r
        })
        .collect()
}

/// The book's folder under `owners/`: the owner id where it is already a
/// plain file name (letters, digits, `.`, `_`, `-`, not starting with a
/// dot), else its plain characters and a hash of the id, so two owners
/// never share a folder and no id can climb out of `owners/`.
pub fn folder_name(owner: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if !owner.is_empty() && owner.len() <= 64 && owner.chars().all(plain) && !owner.starts_with('.') && !owner.contains("--") {
        return owner.to_string();
    }
    let mut stem: String = owner.chars().map(|c| if plain(c) { c.to_ascii_lowercase() } else { '-' }).take(40).collect();
    stem = stem.trim_matches(|c| c == '-' || c == '.').to_string();
    let hash = &sha256_bytes(owner.as_bytes())[..10];
    if stem.is_empty() { format!("owner--{hash}") } else { format!("{stem}--{hash}") }
}

/// One line of the team table.
#[derive(Debug, Clone, Serialize)]
pub struct TeamRow {
    pub owner: String,
    pub name: String,
    pub folder: String,
    pub accounts: Option<f64>,
    pub mrr: Option<f64>,
    pub mrr_change: Option<f64>,
    pub nrr: Option<f64>,
    pub grr: Option<f64>,
    pub health: Option<f64>,
    pub at_risk: Option<f64>,
    pub at_risk_mrr: Option<f64>,
}

/// The team view of the main report: a line per owner, and the accounts no
/// one owns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TeamView {
    pub rows: Vec<TeamRow>,
    /// Unassigned accounts active at the period's end, ranked as in a book
    /// (the first [`LISTED`]).
    pub unassigned: Vec<AccountView>,
    pub unassigned_total: usize,
}

pub fn team(series: &[SeriesRow], customers: &[CustomerRow], owners: &[OwnerRow], period: Period, before: &str) -> TeamView {
    let names: BTreeMap<&str, &str> = owners.iter().map(|o| (o.owner.as_str(), o.name.as_deref().unwrap_or(o.owner.as_str()))).collect();
    let at = |metric: &str, owner: &str| {
        series.iter().find(|s| s.row.metric == metric && s.row.dimension == "owner" && s.row.segment == owner && s.row.period == period)
    };
    let value = |metric: &str, owner: &str| at(metric, owner).and_then(|s| s.row.value);
    let rows = owners_of(series, period)
        .into_iter()
        .map(|o| TeamRow {
            name: if o == UNASSIGNED {
                "No manager".to_string()
            } else {
                names.get(o.as_str()).map_or_else(|| o.clone(), |n| n.to_string())
            },
            folder: if o == UNASSIGNED { String::new() } else { folder_name(&o) },
            accounts: value("active_customers", &o),
            mrr: value("mrr", &o),
            mrr_change: at("mrr", &o).and_then(|s| s.trend.change_abs),
            nrr: value("nrr", &o),
            grr: value("grr", &o),
            health: value("health_score", &o),
            at_risk: value("at_risk_customers", &o),
            at_risk_mrr: value("at_risk_mrr", &o),
            owner: o,
        })
        .collect();
    let unassigned: Vec<&CustomerRow> = customers.iter().filter(|c| c.owner == UNASSIGNED).collect();
    let unassigned_total = unassigned.len();
    let (unassigned, _) = ranked(&unassigned, period.last_day(), before, LISTED);
    TeamView { rows, unassigned, unassigned_total }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_plain_unique_and_stay_inside() {
        assert_eq!(folder_name("ana.silva"), "ana.silva");
        for bad in ["../etc", "Ana Silva", "ana/silva", ".hidden", "", "a--b", "ÉMILIE"] {
            let f = folder_name(bad);
            assert!(f.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')), "{f}");
            assert!(!f.starts_with('.') && f.contains("--"), "{bad} -> {f}");
        }
        // Two ids that clean up alike still get two folders.
        assert_ne!(folder_name("ana silva"), folder_name("ana/silva"));
        assert_ne!(folder_name("ana silva"), folder_name("ana-silva"));
    }
}
