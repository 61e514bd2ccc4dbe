//! The metric catalog: one folder per metric under `queries/` with its
//! metadata (`metric.yml`) and one SQL file per version (`v1.sql`, `v2.sql`...),
//! plus the shared building blocks in `queries/_shared/`. All of it is
//! compiled into the binary.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::embedded;
use crate::error::{Error, Result};
use crate::contract::table_spec;
use crate::model::text::sha256;
use crate::model::unit::{Direction, Unit};


/// A benchmark from the seeds: the value (or a transform of it) should be at
/// least `min` and/or at most `max`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Compare a transform of the value instead of the value itself.
    #[serde(default)]
    pub transform: Option<Transform>,
    /// How the benchmark reads in the report.
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// A period's churn percentage turned into an annual one:
    /// 100 × (1 - (1 - c/100)^n), n periods a year (12 for a month).
    Annualised,
}

impl Transform {
    pub fn apply(self, v: f64, per_year: i32) -> f64 {
        match self {
            Transform::Annualised => 100.0 * (1.0 - (1.0 - v / 100.0).powi(per_year)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    title: String,
    unit: Unit,
    formula: String,
    direction: Direction,
    default: String,
    #[serde(default)]
    benchmark: Option<Benchmark>,
    advice: String,
    #[serde(default)]
    breakdowns: Vec<String>,
    /// The metric counting the answers behind this one (low-sample flag).
    #[serde(default)]
    sample: Option<String>,
    /// A supporting figure (answer counts, splits): shown, but never one of
    /// the summary's headline movements.
    #[serde(default)]
    supporting: bool,
    #[serde(default)]
    period: PeriodRule,
    /// For a metric added through `queries:`: the report section (a group
    /// id of the built-in catalog); default: a section of its own.
    #[serde(default)]
    group: Option<String>,
    versions: BTreeMap<String, RawVersion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    #[serde(default)]
    needs: Vec<String>,
    #[serde(default)]
    uses: Vec<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    groups: Vec<Group>,
}

/// A report section and the metrics it shows, in order.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub title: String,
    pub metrics: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub id: String,
    #[serde(skip)]
    pub sql: &'static str,
    pub sha256: String,
    /// Where its SQL comes from: `queries/<metric>/<version>.sql` compiled
    /// in, or the path of a file under the config's `queries:` folder.
    pub origin: String,
    /// Compiled in (not added through the config's `queries:`).
    #[serde(skip)]
    pub builtin: bool,
    /// Input tables it reads (beyond customers and subscriptions).
    pub needs: Vec<String>,
    /// Other metrics whose values it reads from `metric_values`.
    pub uses: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub group: String,
    pub formula: String,
    pub direction: Direction,
    pub default_version: String,
    pub benchmark: Option<Benchmark>,
    pub advice: String,
    pub breakdowns: Vec<String>,
    /// The metric counting the answers behind this one, for the low-sample flag.
    pub sample: Option<String>,
    /// A supporting figure, left out of the summary's biggest movements.
    pub supporting: bool,
    /// How a quarter's or a year's value comes from its SQL.
    pub period: PeriodRule,
    pub versions: BTreeMap<String, Version>,
}

/// How a metric's SQL gives the value of a period longer than a month
/// (METRICS.md, "Quarters and years").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodRule {
    /// The SQL computes over the `periods` calendar itself (sums, all rows,
    /// retention over P).
    #[default]
    Sql,
    /// The value of the period's last month: the SQL stays monthly and the
    /// engine keeps the row of each period's last month.
    End,
}

/// A shared building block: SQL run once before the metrics.
#[derive(Debug, Clone, Serialize)]
pub struct SharedSql {
    pub name: String,
    #[serde(skip)]
    pub sql: &'static str,
    pub sha256: String,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub groups: Vec<Group>,
    /// In report order.
    pub metrics: Vec<Metric>,
    pub shared: Vec<SharedSql>,
    /// Checks run after the shared SQL: each returns the rows that break it.
    pub checks: Vec<SharedSql>,
}

/// The `.sql` files directly in one folder of `queries/`, in name order.
fn sql_folder(files: &BTreeMap<&str, &'static str>, prefix: &str) -> Vec<SharedSql> {
    files
        .iter()
        .filter_map(|(path, sql)| path.strip_prefix(prefix).map(|name| (name, *sql)))
        .filter(|(name, _)| name.ends_with(".sql") && !name.contains('/'))
        .map(|(name, sql)| SharedSql { name: format!("{prefix}{name}"), sql, sha256: sha256(sql) })
        .collect()
}

fn bug(metric: &str, message: impl Into<String>) -> Error {
    Error::Metric { metric: metric.to_string(), message: message.into() }
}

impl Catalog {
    /// The catalog compiled into this binary.
    pub fn embedded() -> Result<Catalog> {
        Catalog::from_files(embedded::QUERIES)
    }

    /// Builds and checks a catalog from `(path, text)` pairs relative to `queries/`.
    pub fn from_files(files: &[(&str, &'static str)]) -> Result<Catalog> {
        let by_path: BTreeMap<&str, &'static str> = files.iter().copied().collect();
        let catalog_text = by_path.get("catalog.yml").ok_or_else(|| bug("catalog", "queries/catalog.yml is missing"))?;
        let raw: RawCatalog = serde_yaml::from_str(catalog_text).map_err(|e| bug("catalog", format!("catalog.yml: {e}")))?;

        let shared = sql_folder(&by_path, "_shared/");

        let mut metrics = Vec::new();
        let mut listed = BTreeSet::new();
        for group in &raw.groups {
            for id in &group.metrics {
                if !listed.insert(id.clone()) {
                    return Err(bug(id, "listed twice in catalog.yml"));
                }
                metrics.push(load_metric(id, &group.id, &by_path, BUILTIN_ROOT)?);
            }
        }
        for path in by_path.keys() {
            if let Some((folder, _)) = path.split_once('/') {
                if !folder.starts_with('_') && !listed.contains(folder) {
                    return Err(bug(folder, "has a folder in queries/ but is not listed in catalog.yml"));
                }
            }
        }
        let checks = sql_folder(&by_path, "_checks/");
        let catalog = Catalog { groups: raw.groups, metrics, shared, checks };
        catalog.check_uses()?;
        Ok(catalog)
    }

    pub fn metric(&self, id: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// The input tables a metric's chosen version reads, directly or through
    /// the metrics it uses: customers, subscriptions and exchange rates
    /// always (the building blocks every metric stands on), plus its needs.
    pub fn tables_read(&self, id: &str, chosen: &BTreeMap<String, String>) -> BTreeSet<String> {
        let mut tables: BTreeSet<String> = ["customers", "subscriptions", "fx_rates"].map(String::from).into();
        let mut todo = vec![id.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(id) = todo.pop() {
            let Some(version) = self.metric(&id).and_then(|m| chosen.get(&id).and_then(|v| m.versions.get(v))) else { continue };
            if !seen.insert(id) {
                continue;
            }
            tables.extend(version.needs.iter().map(|n| n.split_once('.').map_or(n.as_str(), |(t, _)| t).to_string()));
            todo.extend(version.uses.iter().cloned());
        }
        tables
    }

    /// The catalog of one run: the built-in metrics and the config's
    /// `queries:`, with what the config and the period change in it (the
    /// direction of CES, the "(monthly)" titles of a quarter or a year).
    pub fn for_run(config: &crate::config::Config, period: crate::model::period::Period) -> Result<Catalog> {
        let mut catalog = Catalog::load(config.queries.as_deref())?;
        if config.parameters.ces_higher_is_better {
            catalog.set_direction("ces", Direction::Up);
        }
        if !period.is_month() {
            catalog.retitle_period(period.kind().adjective());
        }
        Ok(catalog)
    }

    /// Sets a metric's good direction where the config decides it (CES).
    fn set_direction(&mut self, id: &str, direction: Direction) {
        if let Some(m) = self.metrics.iter_mut().find(|m| m.id == id) {
            m.direction = direction;
        }
    }

    /// Titles for a report over `adjective` periods ("quarterly", "yearly"):
    /// NRR and GRR "(monthly)" are then over the quarter or the year.
    fn retitle_period(&mut self, adjective: &str) {
        for m in &mut self.metrics {
            m.title = m.title.replace("(monthly)", &format!("({adjective})"));
        }
    }

    /// Every `uses` names a metric, and there is no cycle.
    fn check_uses(&self) -> Result<()> {
        for m in &self.metrics {
            for v in m.versions.values() {
                for u in &v.uses {
                    if self.metric(u).is_none() {
                        return Err(bug(&m.id, format!("{} uses unknown metric `{u}`", v.id)));
                    }
                }
            }
            if let Some(sample) = &m.sample {
                if self.metric(sample).is_none() {
                    return Err(bug(&m.id, format!("sample names unknown metric `{sample}`")));
                }
            }
        }
        let all: BTreeMap<String, String> = self.metrics.iter().map(|m| (m.id.clone(), m.default_version.clone())).collect();
        self.order(&all).map(|_| ())
    }

    /// The metrics in an order where each comes after the metrics it uses,
    /// keeping report order otherwise. `chosen` maps metric -> version.
    pub fn order(&self, chosen: &BTreeMap<String, String>) -> Result<Vec<&Metric>> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        while out.len() < self.metrics.len() {
            let before = out.len();
            for m in &self.metrics {
                if done.contains(m.id.as_str()) {
                    continue;
                }
                let version = &m.versions[&chosen[&m.id]];
                if version.uses.iter().all(|u| done.contains(u.as_str())) {
                    done.insert(&m.id);
                    out.push(m);
                }
            }
            if out.len() == before {
                let stuck: Vec<&str> =
                    self.metrics.iter().map(|m| m.id.as_str()).filter(|id| !done.contains(id)).collect();
                return Err(bug(&stuck.join(", "), "these metrics use each other in a cycle"));
            }
        }
        Ok(out)
    }

    /// The version to run for every metric: the config's choice or the default.
    /// An unknown metric or version in the config is an error naming the key.
    pub fn choose_versions(&self, overrides: &BTreeMap<String, String>, config_file: &str) -> Result<BTreeMap<String, String>> {
        let mut chosen: BTreeMap<String, String> =
            self.metrics.iter().map(|m| (m.id.clone(), m.default_version.clone())).collect();
        for (id, version) in overrides {
            let Some(metric) = self.metric(id) else {
                return Err(Error::Config {
                    file: config_file.to_string(),
                    message: format!("key `metrics.{id}`: unknown metric; `cs-report metrics` lists them"),
                });
            };
            if !metric.versions.contains_key(version) {
                let known: Vec<&str> = metric.versions.keys().map(String::as_str).collect();
                return Err(Error::Config {
                    file: config_file.to_string(),
                    message: format!("key `metrics.{id}`: no version `{version}`; versions: {}", known.join(", ")),
                });
            }
            chosen.insert(id.clone(), version.clone());
        }
        Ok(chosen)
    }
}

fn load_metric(id: &str, group: &str, files: &BTreeMap<&str, &'static str>, root: &str) -> Result<Metric> {
    let meta_path = format!("{id}/metric.yml");
    let text = files.get(meta_path.as_str()).ok_or_else(|| bug(id, format!("{root}{meta_path} is missing")))?;
    let raw: RawMetric = serde_yaml::from_str(text).map_err(|e| bug(id, format!("{root}{meta_path}: {e}")))?;
    let versions = load_versions(id, raw.versions, files, root)?;
    if !versions.contains_key(&raw.default) {
        return Err(bug(id, format!("default version `{}` does not exist", raw.default)));
    }
    Ok(Metric {
        id: id.to_string(),
        title: raw.title,
        unit: raw.unit,
        group: raw.group.unwrap_or_else(|| group.to_string()),
        formula: raw.formula,
        direction: raw.direction,
        default_version: raw.default,
        benchmark: raw.benchmark,
        advice: raw.advice,
        breakdowns: raw.breakdowns,
        sample: raw.sample,
        supporting: raw.supporting,
        period: raw.period,
        versions,
    })
}

/// The versions `metric.yml` lists, each with its `vN.sql` of the metric's
/// folder; a version file not listed is an error, as is a need that names
/// no table or column of the contract.
fn load_versions(
    id: &str,
    listed: BTreeMap<String, RawVersion>,
    files: &BTreeMap<&str, &'static str>,
    root: &str,
) -> Result<BTreeMap<String, Version>> {
    let prefix = format!("{id}/");
    let mut sql_files = BTreeMap::new();
    for (path, sql) in files.range(prefix.as_str()..) {
        let Some(name) = path.strip_prefix(&prefix) else { break };
        if name == "metric.yml" || name.ends_with(".md") {
            continue;
        }
        let version = name
            .strip_suffix(".sql")
            .filter(|v| v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bug(id, format!("{root}{path}: version files are named v1.sql, v2.sql, ...")))?;
        sql_files.insert(version.to_string(), *sql);
    }
    let mut versions = BTreeMap::new();
    for (vid, rv) in listed {
        let sql = sql_files.remove(&vid).ok_or_else(|| bug(id, format!("metric.yml lists {vid} but {root}{id}/{vid}.sql is missing")))?;
        // `needs` names tables, or `table.column` for a nullable column that
        // an export may leave out (the metric is then not available).
        for need in &rv.needs {
            let (table, column) = need.split_once('.').map_or((need.as_str(), None), |(t, c)| (t, Some(c)));
            let known = table_spec(table).is_some_and(|spec| column.is_none_or(|c| spec.columns.iter().any(|sc| sc.name == c)));
            if !known {
                return Err(bug(id, format!("{vid} needs unknown table or column `{need}`")));
            }
        }
        let origin = format!("{root}{id}/{vid}.sql");
        let builtin = root == BUILTIN_ROOT;
        versions.insert(vid.clone(), Version { id: vid, sql, sha256: sha256(sql), origin, builtin, needs: rv.needs, uses: rv.uses, note: rv.note });
    }
    if let Some(extra) = sql_files.keys().next() {
        return Err(bug(id, format!("{root}{id}/{extra}.sql is not listed under `versions` in metric.yml")));
    }
    Ok(versions)
}

/// The new versions a `queries:` folder adds to built-in metric `builtin`.
/// Its `metric.yml` lists them under `versions:`; any other key must be
/// the built-in one's as it is (so `cs-report metrics --export` output can
/// be used as it is), and a built-in version listed again must keep its
/// SQL: a released version is never replaced, only joined by a new one.
fn extension_versions(builtin: &Metric, files: &mut BTreeMap<&str, &'static str>, root: &str) -> Result<BTreeMap<String, Version>> {
    let id = builtin.id.as_str();
    let meta = format!("{id}/metric.yml");
    let text = files.get(meta.as_str()).ok_or_else(|| bug(id, format!("{root}{meta} is missing")))?;
    let yaml_error = |e: serde_yaml::Error| bug(id, format!("{root}{meta}: {e}"));
    let user: serde_yaml::Mapping = serde_yaml::from_str(text).map_err(yaml_error)?;
    let shipped: serde_yaml::Mapping = embedded::QUERIES
        .iter()
        .find(|(path, _)| *path == meta)
        .map(|(_, text)| serde_yaml::from_str(text))
        .transpose()
        .map_err(yaml_error)?
        .unwrap_or_default();
    for (key, value) in &user {
        let name = key.as_str().unwrap_or_default();
        if name != "versions" && shipped.get(key) != Some(value) {
            return Err(bug(
                id,
                format!(
                    "{root}{meta}: `{name}` differs from the built-in metric's; a built-in metric's folder may only add versions \
                     (choose one with `metrics: {{{id}: vN}}` in the config), or copy the folder under a new metric id"
                ),
            ));
        }
    }
    let listed: BTreeMap<String, RawVersion> = match user.get("versions") {
        Some(v) => serde_yaml::from_value(v.clone()).map_err(yaml_error)?,
        None => return Err(bug(id, format!("{root}{meta}: no `versions:`; list the versions this folder adds"))),
    };
    let mut new = BTreeMap::new();
    for (vid, rv) in listed {
        let Some(released) = builtin.versions.get(&vid) else {
            new.insert(vid, rv);
            continue;
        };
        let file = format!("{id}/{vid}.sql");
        match files.get(file.as_str()) {
            Some(sql) if sha256(sql) != released.sha256 => {
                let next = builtin.versions.keys().filter_map(|v| v[1..].parse::<u32>().ok()).max().unwrap_or(0) + 1;
                return Err(bug(
                    id,
                    format!("{root}{file}: {vid} is a released built-in version and cannot be replaced; add your SQL as v{next}"),
                ));
            }
            _ => {
                files.remove(file.as_str());
            }
        }
    }
    load_versions(id, new, files, root)
}

/// How compiled-in SQL files are named (`origin`).
const BUILTIN_ROOT: &str = "queries/";

/// The group metrics added through `queries:` join unless they name one.
pub const CUSTOM_GROUP: &str = "custom";

impl Catalog {
    /// The built-in catalog joined by the metrics and versions of the
    /// config's `queries:` folder, if any.
    pub fn load(queries: Option<&std::path::Path>) -> Result<Catalog> {
        let mut catalog = Catalog::embedded()?;
        if let Some(dir) = queries {
            catalog.extend(dir)?;
        }
        Ok(catalog)
    }

    /// Adds a folder laid out like `queries/`: `<metric>/metric.yml` and
    /// `vN.sql`. A folder named after a built-in metric adds versions to it
    /// (see [`extension_versions`]: other keys stay the built-in ones, and a
    /// released version cannot be replaced); any other folder is a new
    /// metric with a full `metric.yml`, shown in its `group:` or in a
    /// section of its own.
    pub fn extend(&mut self, dir: &std::path::Path) -> Result<()> {
        let root = format!("{}/", dir.display());
        let entries = std::fs::read_dir(dir).map_err(|e| Error::Input(format!("the `queries:` folder {} cannot be read: {e}", dir.display())))?;
        let mut folders: Vec<(String, std::path::PathBuf)> = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::Input(format!("{}: {e}", dir.display())))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            if !path.is_dir() || name.starts_with('.') {
                continue;
            }
            if !crate::contract::is_plain_name(&name) {
                return Err(bug(&name, format!("{root}{name}/: a metric id is lower-case letters, digits and `_`, starting with a letter (shared SQL and checks cannot be added)")));
            }
            folders.push((name, path));
        }
        folders.sort();
        // The files, read once and kept for the whole run (the catalog's SQL is `&'static`).
        let mut files: BTreeMap<&str, &'static str> = BTreeMap::new();
        for (name, path) in &folders {
            for entry in std::fs::read_dir(path).map_err(|e| Error::Input(format!("{}: {e}", path.display())))? {
                let file = entry.map_err(|e| Error::Input(format!("{}: {e}", path.display())))?.path();
                if !file.is_file() {
                    continue;
                }
                let text = std::fs::read_to_string(&file).map_err(|e| Error::Input(format!("{}: {e}", file.display())))?;
                let key = format!("{name}/{}", file.file_name().unwrap_or_default().to_string_lossy());
                files.insert(Box::leak(key.into_boxed_str()), Box::leak(text.into_boxed_str()));
            }
        }
        for (id, _) in &folders {
            if let Some(builtin) = self.metrics.iter_mut().find(|m| &m.id == id) {
                let added = extension_versions(builtin, &mut files, &root)?;
                builtin.versions.extend(added);
            } else {
                let metric = load_metric(id, CUSTOM_GROUP, &files, &root)?;
                let group = metric.group.clone();
                match self.groups.iter_mut().find(|g| g.id == group) {
                    Some(g) => g.metrics.push(id.clone()),
                    None if group == CUSTOM_GROUP => {
                        self.groups.push(Group { id: CUSTOM_GROUP.into(), title: "Your metrics".into(), metrics: vec![id.clone()] })
                    }
                    None => {
                        let known: Vec<&str> = self.groups.iter().map(|g| g.id.as_str()).collect();
                        return Err(bug(id, format!("{root}{id}/metric.yml: unknown group `{group}`; groups: {}", known.join(", "))));
                    }
                }
                self.metrics.push(metric);
            }
        }
        // Report order follows the groups.
        let rank: BTreeMap<&str, usize> =
            self.groups.iter().flat_map(|g| g.metrics.iter()).enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        let mut metrics = std::mem::take(&mut self.metrics);
        metrics.sort_by_key(|m| rank.get(m.id.as_str()).copied().unwrap_or(usize::MAX));
        self.metrics = metrics;
        self.check_uses()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_is_consistent() {
        let catalog = Catalog::embedded().expect("catalog loads");
        assert!(catalog.metric("mrr").is_some());
        let rcr = catalog.metric("revenue_churn_rate").unwrap();
        assert_eq!(rcr.default_version, "v2");
        assert!(rcr.versions.contains_key("v1"));
        assert_eq!(catalog.metric("clv").unwrap().default_version, "v1");
    }

    #[test]
    fn unknown_metric_or_version_in_config_names_the_key() {
        let catalog = Catalog::embedded().unwrap();
        let bad = BTreeMap::from([("revenue_churn_rate".to_string(), "v9".to_string())]);
        let err = catalog.choose_versions(&bad, "c.yaml").unwrap_err().to_string();
        assert!(err.contains("metrics.revenue_churn_rate") && err.contains("v1, v2"), "{err}");
        let bad = BTreeMap::from([("mrrr".to_string(), "v1".to_string())]);
        let err = catalog.choose_versions(&bad, "c.yaml").unwrap_err().to_string();
        assert!(err.contains("metrics.mrrr"), "{err}");
    }

    #[test]
    fn unit_names_match_their_yaml_spelling() {
        for unit in Unit::ALL {
            let yaml: Unit = serde_yaml::from_str(unit.as_str()).unwrap();
            assert_eq!(yaml, unit);
            assert_eq!(Unit::from_name(unit.as_str()), Some(unit));
        }
        for d in [Direction::Up, Direction::Down, Direction::None] {
            assert_eq!(serde_yaml::from_str::<Direction>(d.as_str()).unwrap(), d);
        }
    }

    #[test]
    fn version_files_must_be_listed() {
        let files: &[(&str, &'static str)] = &[
            ("catalog.yml", "groups: [{id: g, title: G, metrics: [m]}]"),
            ("m/metric.yml", "{title: M, unit: count, formula: f, direction: up, default: v1, advice: a, versions: {v1: {}}}"),
            ("m/v1.sql", "select 1"),
            ("m/v2.sql", "select 2"),
        ];
        let err = Catalog::from_files(files).unwrap_err().to_string();
        assert!(err.contains("v2.sql is not listed"), "{err}");
    }
}
