//! The restated figures as the report shows them: one "Restated since last
//! report" section (each period's changed figures grouped by their likely
//! cause, the company's totals named, the slices counted) and a mark beside
//! every earlier figure the report shows that differs from what was
//! published for it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::catalog::Catalog;
use crate::model::period::Period;
use crate::model::rows::Restatement;
use crate::model::unit::Unit;
use crate::report::format::human;

/// A restated figure as the templates see it: the restatement's own
/// fields (`metric`, `period`, `dimension`, `segment`, `published`,
/// `value`, `change`, `cause`...) and how to show them.
#[derive(Debug, Clone, Serialize)]
pub struct RestatementView {
    #[serde(flatten)]
    pub row: Restatement,
    pub title: String,
    pub unit: Unit,
    /// The period's label ("September 2026").
    pub period_label: String,
    /// "v1 → v2" when the metric's version changed too.
    pub version_change: Option<String>,
}

/// The figures of one period restated for one cause.
#[derive(Debug, Clone, Serialize)]
pub struct RestatedGroup {
    pub period_label: String,
    pub cause: String,
    /// The company's totals whose change shows at the report's
    /// precision, in report order.
    pub figures: Vec<RestatementView>,
    /// How many more totals changed only in decimals the report does not show.
    pub fine: usize,
    /// How many figures of segments, regions, owners... share the cause.
    pub slices: usize,
}

/// A figure shown for an earlier period that differs from its published
/// value: the value as published.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Mark {
    pub published: Option<f64>,
}

pub struct Restated {
    pub all: Vec<RestatementView>,
    /// The five a reader checks first: totals, then the largest relative moves.
    pub top: Vec<RestatementView>,
    pub groups: Vec<RestatedGroup>,
}

pub fn views(catalog: &Catalog, restatements: &[Restatement], period: Period) -> Restated {
    // A few periods, many figures: each period's label is found once.
    let mut labels: BTreeMap<&str, String> = BTreeMap::new();
    for r in restatements {
        labels.entry(&r.period).or_insert_with(|| label_of(&r.period, period));
    }
    let all: Vec<RestatementView> = restatements.iter().map(|r| view(catalog, r, &labels[r.period.as_str()])).collect();
    let mut top = all.clone();
    let relative = |r: &RestatementView| match (r.row.change, r.row.published) {
        (Some(c), Some(p)) if p != 0.0 => (c / p).abs(),
        // A value that appeared or vanished is the largest change of all.
        _ => f64::INFINITY,
    };
    top.sort_by(|a, b| (a.row.dimension != "all").cmp(&(b.row.dimension != "all")).then(relative(b).total_cmp(&relative(a))));
    top.truncate(5);
    let groups = groups(&all);
    Restated { all, top, groups }
}

fn view(catalog: &Catalog, r: &Restatement, period_label: &str) -> RestatementView {
    let metric = catalog.metric(&r.metric);
    RestatementView {
        row: r.clone(),
        title: metric.map_or_else(|| r.metric.clone(), |m| m.title.clone()),
        unit: metric.map_or(Unit::Score, |m| m.unit),
        period_label: period_label.to_string(),
        version_change: (r.published_version != r.version).then(|| format!("{} → {}", r.published_version, r.version)),
    }
}

/// The label of a period id at or before the report's period (the id
/// itself when it is not one of them).
fn label_of(id: &str, period: Period) -> String {
    (0..1200).map(|k| period.plus(-k)).find(|p| p.to_string() == id).map_or_else(|| id.to_string(), Period::label)
}

/// The restatements grouped by period and cause, in their order (most
/// recent period first).
fn groups(all: &[RestatementView]) -> Vec<RestatedGroup> {
    let mut groups: Vec<RestatedGroup> = Vec::new();
    for r in all {
        let found = groups.iter_mut().find(|g| g.period_label == r.period_label && g.cause == r.row.cause);
        let group = match found {
            Some(g) => g,
            None => {
                groups.push(RestatedGroup { period_label: r.period_label.clone(), cause: r.row.cause.clone(), figures: Vec::new(), fine: 0, slices: 0 });
                groups.last_mut().expect("just pushed")
            }
        };
        let total = r.row.dimension == "all";
        if total && human(r.row.published, r.unit, "") != human(r.row.value, r.unit, "") {
            group.figures.push(r.clone());
        } else if total {
            group.fine += 1;
        } else {
            group.slices += 1;
        }
    }
    groups
}

/// The published values of the company's restated figures, by metric and
/// period id: what the marks beside earlier figures read.
pub fn marks(restatements: &[Restatement]) -> BTreeMap<(String, String), Mark> {
    restatements
        .iter()
        .filter(|r| r.dimension == "all")
        .map(|r| ((r.metric.clone(), r.period.clone()), Mark { published: r.published }))
        .collect()
}
