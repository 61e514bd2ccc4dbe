//! Metrics without a rebuild (issue 15): a config's `queries:` folder adds
//! metrics and versions that appear in every output with their checksum,
//! released versions cannot be replaced, the SQL reaches no file, and the
//! built-in metrics and templates can be exported as a starting point.

use std::fs;

use crate::support::*;

const MRR_THOUSANDS_YML: &str = "\
title: MRR in thousands
unit: ratio
formula: MRR(m) ÷ 1000.
direction: up
default: v1
breakdowns: [segment, region]
advice: Watch the thousands.
period: end
versions:
  v1: {}
";

const MRR_THOUSANDS_SQL: &str = "-- MRR in thousands of the reporting currency.\n\
select month, dimension, segment, cast(mrr as double) / 1000 as value from mrr_month\n";

/// The revenue fixture with a config whose `queries:` folder is `queries`.
fn scenario(config: &str) -> Scenario {
    let s = Scenario::fixture("revenue");
    s.write("config/cs-report.yaml", &format!("queries: queries\n{config}"));
    s
}

fn run(s: &Scenario) -> std::process::Output {
    s.run_output("2024-03", &["--config", "config/cs-report.yaml"])
}

fn succeed(s: &Scenario) {
    let done = run(s);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
}

/// A run that must be refused (exit 2); its stderr.
fn refused(s: &Scenario) -> String {
    s.run_fails("2024-03", &["--config", "config/cs-report.yaml"], 2)
}

/// Adds the metric `mrr_thousands` with `sql` as its v1; the SQL file's path.
fn add_metric(s: &Scenario, sql: &str) -> std::path::PathBuf {
    s.write("config/queries/mrr_thousands/metric.yml", MRR_THOUSANDS_YML);
    s.write("config/queries/mrr_thousands/v1.sql", sql)
}

#[test]
fn an_added_metric_appears_in_every_output_with_its_checksum() {
    let s = scenario("");
    let sql = add_metric(&s, MRR_THOUSANDS_SQL);
    succeed(&s);
    let dir = s.out().join("2024-03");
    let m = Metrics::read(&dir.join("metrics.csv"));
    m.assert("mrr_thousands", Some(1.73));
    assert_eq!(m.versions["mrr_thousands"], "v1");
    m.assert("mrr", Some(1730.0));
    let json = fs::read_to_string(dir.join("metrics.json")).unwrap();
    assert!(json.contains("\"mrr_thousands\""), "{json}");
    let series = fs::read_to_string(dir.join("series.csv")).unwrap();
    assert!(series.lines().any(|l| l.starts_with("2024-02,mrr_thousands,v1,all,all,")), "{series}");
    for report in ["report.html", "report.md"] {
        let text = fs::read_to_string(dir.join(report)).unwrap();
        assert!(text.contains("Your metrics") && text.contains("MRR in thousands"), "{report}");
    }
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let run = manifest["metrics"].as_array().unwrap().iter().find(|r| r["metric"] == "mrr_thousands").unwrap();
    assert_eq!(run["origin"].as_str().unwrap(), sql.display().to_string());
    use sha2::Digest;
    assert_eq!(run["sql_sha256"].as_str().unwrap(), cs_report::model::text::hex(&sha2::Sha256::digest(MRR_THOUSANDS_SQL)));
    let builtin = manifest["metrics"].as_array().unwrap().iter().find(|r| r["metric"] == "mrr").unwrap();
    assert_eq!(builtin["origin"], "queries/mrr/v1.sql");

    // `cs-report metrics` lists it with where it comes from.
    let listed = s.cs_report(&["metrics", "--config", "config/cs-report.yaml"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success());
    assert!(text.contains("## Your metrics") && text.contains("mrr_thousands"), "{text}");
    assert!(text.contains(&format!("v1 from {}", sql.display())), "{text}");
}

#[test]
fn exported_metrics_take_a_new_version_chosen_in_the_config() {
    let s = scenario("metrics:\n  arpa: v2\n");
    let dir = s.dir.path().join("config/queries");
    let exported = s.cs_report(&["metrics", "--export", dir.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    assert!(dir.join("mrr/v1.sql").is_file() && dir.join("arpa/metric.yml").is_file());
    // ARPA a year: v1's value times twelve.
    let yml = fs::read_to_string(dir.join("arpa/metric.yml")).unwrap();
    fs::write(dir.join("arpa/metric.yml"), yml.replace("versions:\n  v1: {}", "versions:\n  v1: {}\n  v2: {note: per year}")).unwrap();
    fs::write(
        dir.join("arpa/v2.sql"),
        "select month, dimension, segment, 12 * cast(mrr as double) / nullif(active_customers, 0) as value from mrr_month",
    )
    .unwrap();
    succeed(&s);
    let m = Metrics::read(&s.out().join("2024-03/metrics.csv"));
    m.assert("arpa", Some(12.0 * 346.0));
    assert_eq!(m.versions["arpa"], "v2");
    // Everything else is the built-in catalog, unchanged.
    m.assert("mrr", Some(1730.0));
    m.assert("nrr", Some(100.0 * 1390.0 / 1460.0));
}

#[test]
fn a_released_version_cannot_be_replaced_nor_a_built_in_metric_retitled() {
    let s = scenario("");
    s.write("config/queries/arpa/metric.yml", "versions:\n  v1: {}\n");
    s.write("config/queries/arpa/v1.sql", "select month, dimension, segment, 0 as value from mrr_month");
    let err = refused(&s);
    assert!(err.contains("v1 is a released built-in version and cannot be replaced; add your SQL as v2"), "{err}");

    let s = scenario("");
    s.write("config/queries/arpa/metric.yml", "title: ARPA!\nversions:\n  v2: {}\n");
    s.write("config/queries/arpa/v2.sql", "select month, dimension, segment, 0 as value from mrr_month");
    let err = String::from_utf8_lossy(&run(&s).stderr).to_string();
    assert!(err.contains("`title` differs from the built-in metric's"), "{err}");

    // A metric.yml key that does not exist, and SQL that is not one SELECT.
    let s = scenario("");
    s.write("config/queries/mrr_thousands/metric.yml", &format!("{MRR_THOUSANDS_YML}colour: red\n"));
    s.write("config/queries/mrr_thousands/v1.sql", MRR_THOUSANDS_SQL);
    let err = String::from_utf8_lossy(&run(&s).stderr).to_string();
    assert!(err.contains("unknown field `colour`"), "{err}");
    let s = scenario("");
    add_metric(&s, "drop table mrr_month");
    let err = String::from_utf8_lossy(&run(&s).stderr).to_string();
    assert!(err.contains("mrr_thousands/v1.sql: it must be one SELECT"), "{err}");

    // Checked against the shared tables before any data is read: the data
    // folder does not even exist here.
    for (sql, why) in [
        ("select month, dimension, segment, mrr_typo as value from mrr_month", "does not run against the shared tables"),
        ("select month, dimension, mrr as value from mrr_month", "missing segment"),
    ] {
        let s = scenario("");
        add_metric(&s, sql);
        fs::remove_dir_all(s.data()).unwrap();
        let err = refused(&s);
        assert!(err.contains("mrr_thousands/v1.sql: ") && err.contains(why), "{why}: {err}");
        assert!(!err.contains("data directory"), "{err}");
    }
}

#[test]
fn an_added_metrics_sql_cannot_read_a_file() {
    let s = scenario("");
    let secret = s.write("secret.csv", "month,value\n2024-03-01,42\n");
    add_metric(&s, &format!("select month, 'all' as dimension, 'all' as segment, value from read_csv('{}')", secret.display()));
    let err = refused(&s);
    assert!(err.contains("mrr_thousands/v1.sql: it does not run against the shared tables"), "{err}");
    assert!(err.contains("disabled by configuration"), "{err}");
    assert!(!err.contains("2024-03-01"), "{err}");
    assert!(!s.out().join("2024-03").exists());
}

#[test]
fn the_built_in_templates_can_be_exported_and_used() {
    let s = Scenario::fixture("revenue");
    s.write("config/cs-report.yaml", "templates: templates\n");
    let dir = s.dir.path().join("config/templates");
    let exported = s.cs_report(&["templates", "--export", dir.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    for name in ["report.html.j2", "report.md.j2", "summary.md.j2", "email.html.j2", "email.txt.j2"] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    let md = fs::read_to_string(dir.join("summary.md.j2")).unwrap();
    fs::write(dir.join("summary.md.j2"), format!("Edited by finance.\n{md}")).unwrap();
    succeed(&s);
    let summary = fs::read_to_string(s.out().join("2024-03/summary.md")).unwrap();
    assert!(summary.starts_with("Edited by finance."), "{summary}");
    // A second export into the edited folder refuses to overwrite the edit.
    let again = s.cs_report(&["templates", "--export", dir.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("summary.md.j2 exists and differs"));
}

/// Issue 27, case 2: an added metric that would run for minutes is stopped
/// at `limits.statement_seconds`, the error names its file, and the run
/// lets go of the output root (the next run goes ahead).
#[test]
fn a_runaway_query_is_stopped_with_its_file_named_and_releases_the_lock() {
    let s = scenario("limits: {statement_seconds: 2}\n");
    let sql = add_metric(&s, "select month, dimension, segment, (select sum(a.range * b.range) from range(200000) a, range(200000) b) as value from mrr_month\n");
    let started = std::time::Instant::now();
    let err = refused(&s);
    assert!(err.contains(&sql.display().to_string()) && err.contains("limits.statement_seconds"), "{err}");
    assert!(started.elapsed().as_secs() < 30, "stopped after {:?}", started.elapsed());
    assert!(!s.out().join("2024-03").exists());
    fs::remove_dir_all(s.dir.path().join("config/queries/mrr_thousands")).unwrap();
    succeed(&s);
}

/// Issue 27, case 2: a query whose own strings outgrow DuckDB's
/// `memory_limit` (which does not count them) is stopped at
/// `limits.process_memory` with an out-of-memory error naming its file,
/// instead of taking the machine's memory.
#[test]
fn a_query_that_outgrows_memory_is_stopped_with_its_file_named() {
    let s = scenario("limits: {process_memory: 1500MB}\n");
    let sql = add_metric(&s, "select month, dimension, segment, (select max(length(repeat('x', 100000000) || range)) from range(40)) as value from mrr_month\n");
    let err = refused(&s);
    assert!(err.contains(&sql.display().to_string()) && err.contains("Out of Memory"), "{err}");
    assert!(!s.out().join("2024-03").exists());
}

/// Issue 27, case 2: `limits.spill` is the cap DuckDB spills under (its
/// own default is 90 % of the free disk); an added metric reads the setting
/// the run's database has.
#[test]
fn the_spill_cap_is_the_databases_setting() {
    let s = scenario("limits: {spill: 5MB}\n");
    add_metric(&s, "select month, dimension, segment, cast(current_setting('max_temp_directory_size') = '4.7 MiB' as double) as value from mrr_month\n");
    succeed(&s);
    Metrics::read(&s.out().join("2024-03/metrics.csv")).assert("mrr_thousands", Some(1.0));
    let bad = scenario("limits: {spill: lots}\n");
    let out = run(&bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("limits.spill"));
}
