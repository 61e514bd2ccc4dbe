//! Incremental months (issue 28): each usage events file is rolled up once
//! and its rollup kept in `<output>/.rollups/`; a run reads only the files
//! that are new or changed, and gives the same numbers, to the byte, as a
//! run that reads everything (`--full`).
//!
//! Worked by hand on the `cx` fixture (see its README). March 2024 as the
//! fixture has it: adoption 75, active users 5, time on platform 6.2
//! minutes, engagement 28.75. February: the active customers are A, B and
//! D, and only B has an event (U1 on 02-10): active users 1, adoption
//! 100 × 1 / 3.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::*;

const OUTPUTS: [&str; 3] = ["metrics.csv", "series.csv", "cohorts.csv"];

/// The fixture's events, one file per month in a Hive layout
/// (`usage_events/month=YYYY-MM/events.csv`); `extra` lines are added to the
/// file of their month key.
fn by_month(s: &Scenario, months: &[&str], extra: &[(&str, &str)]) {
    let text = fs::read_to_string(s.data().join("usage_events.csv")).unwrap_or_else(|_| {
        fs::read_to_string(fixtures().join("cx/usage_events.csv")).unwrap()
    });
    let _ = fs::remove_file(s.data().join("usage_events.csv"));
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    for month in months {
        let mut file = format!("{header}\n");
        for row in rows.iter().filter(|r| r.split(',').nth(2).is_some_and(|t| t.starts_with(month))) {
            file.push_str(&format!("{row}\n"));
        }
        for (_, line) in extra.iter().filter(|(m, _)| m == month) {
            file.push_str(&format!("{line}\n"));
        }
        s.write(&format!("data/usage_events/month={month}/events.csv"), &file);
    }
}

/// (files read, rollups reused) of the usage events, from a run's manifest.
fn manifest_rollups(out: &Path, period: &str) -> (u64, u64) {
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join(period).join("manifest.json")).unwrap()).unwrap();
    let events = manifest["inputs"].as_array().unwrap().iter().find(|t| t["table"] == "usage_events").unwrap().clone();
    (events["rollups"]["files_read"].as_u64().unwrap(), events["rollups"]["files_reused"].as_u64().unwrap())
}

/// Runs `period` into `out` (more arguments in `extra`).
fn run_into(s: &Scenario, out: &Path, period: &str, extra: &[&str]) {
    let data = s.data();
    let mut args = vec!["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", period];
    args.extend_from_slice(extra);
    let output = s.cs_report(&args);
    assert!(output.status.success(), "run failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// Runs `period` incrementally in the scenario's output root and with
/// `--full` in a copy of it made just before, and checks the two give the
/// same files. Returns the copy.
fn incremental_and_full(s: &Scenario, period: &str, extra: &[&str]) -> PathBuf {
    let full = s.dir.path().join(format!("full-{period}"));
    let _ = fs::remove_dir_all(&full);
    if s.out().exists() {
        copy_dir(&s.out(), &full);
    }
    run_into(s, &s.out(), period, extra);
    let mut with_full = extra.to_vec();
    with_full.push("--full");
    run_into(s, &full, period, &with_full);
    for file in OUTPUTS {
        let a = fs::read(s.out().join(period).join(file)).unwrap();
        let b = fs::read(full.join(period).join(file)).unwrap();
        assert!(a == b, "{file} differs between the incremental and the full run of {period}");
    }
    full
}

fn usage_figures(m: &Metrics) -> [Option<f64>; 4] {
    ["adoption_rate", "active_users", "avg_time_on_platform_minutes", "engagement_score"].map(|id| m.get(id, "all", "all"))
}

#[test]
fn events_split_by_month_and_across_files_count_as_one_file_does() {
    let single = Scenario::fixture("cx");
    let one = single.run("2024-03", &[]);
    assert_eq!(usage_figures(&one), [Some(75.0), Some(5.0), Some(6.2), Some(28.75)]);

    // The same events by month, plus a late file in March's folder that
    // holds more March events of A's U1 and U2: a user in two files is one
    // user, a day in two files one day (both files are read again to merge
    // A's March).
    let split = Scenario::fixture("cx");
    by_month(&split, &["2024-01", "2024-02", "2024-03"], &[]);
    split.write(
        "data/usage_events/month=2024-03/late.csv",
        "customer_id,user_id,occurred_at,feature,duration_seconds\nA,U1,2024-03-01 12:00:00,dashboard_view,0\nA,U2,2024-03-02 12:00:00,export,0\n",
    );
    let many = split.run("2024-03", &[]);
    assert_eq!(usage_figures(&many), [Some(75.0), Some(5.0), Some(6.2), Some(28.75)]);
    for file in OUTPUTS {
        let a = fs::read_to_string(single.out().join("2024-03").join(file)).unwrap();
        let b = fs::read_to_string(split.out().join("2024-03").join(file)).unwrap();
        assert!(a == b, "{file} differs between one events file and four");
    }
    assert_eq!(manifest_rollups(&split.out(), "2024-03"), (4, 0));
}

#[test]
fn the_next_month_reads_only_its_own_events_and_matches_a_full_run() {
    let s = Scenario::fixture("cx");
    by_month(&s, &["2024-01", "2024-02"], &[]);
    // February's events end on 02-10: published stale on purpose.
    run_into(&s, &s.out(), "2024-02", &["--allow-stale"]);
    let feb = Metrics::read(&s.out().join("2024-02/metrics.csv"));
    assert_eq!(feb.get("active_users", "all", "all"), Some(1.0));
    assert_eq!(manifest_rollups(&s.out(), "2024-02"), (2, 0));

    by_month(&s, &["2024-03"], &[]);
    let full = incremental_and_full(&s, "2024-03", &[]);
    assert_eq!(manifest_rollups(&s.out(), "2024-03"), (1, 2));
    assert_eq!(manifest_rollups(&full, "2024-03"), (3, 0));
    let march = Metrics::read(&s.out().join("2024-03/metrics.csv"));
    assert_eq!(usage_figures(&march), [Some(75.0), Some(5.0), Some(6.2), Some(28.75)]);

    // A run with nothing new reads no events at all.
    run_into(&s, &s.out(), "2024-03", &[]);
    assert_eq!(manifest_rollups(&s.out(), "2024-03"), (0, 3));
    let stored = fs::read_dir(s.out().join(".rollups/usage_events")).unwrap().count();
    assert_eq!(stored, 3 + 1, "a summary per file, and files.json");
}

#[test]
fn a_changed_closed_month_is_read_again_and_its_changed_figures_are_restated() {
    let s = Scenario::fixture("cx");
    by_month(&s, &["2024-01", "2024-02"], &[]);
    run_into(&s, &s.out(), "2024-02", &["--allow-stale"]);
    by_month(&s, &["2024-03"], &[]);
    run_into(&s, &s.out(), "2024-03", &[]);

    // A late event of a new user of A (active in February) lands in
    // February's file: February has 2 active users of 3 active customers'.
    by_month(&s, &["2024-02"], &[("2024-02", "A,U7,2024-02-20 09:00:00,dashboard_view,30")]);
    incremental_and_full(&s, "2024-03", &[]);
    assert_eq!(manifest_rollups(&s.out(), "2024-03"), (1, 2));

    let csv = fs::read_to_string(s.out().join("2024-03/restatements.csv")).unwrap();
    let row = |metric: &str| -> Vec<String> {
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{metric},2024-02,")) && l.contains(",all,all,"))
            .unwrap_or_else(|| panic!("{metric} of 2024-02 not restated:\n{csv}"));
        let cells: Vec<&str> = line.splitn(11, ',').collect();
        vec![cells[6].into(), cells[7].into(), cells[10].trim_matches('"').into()]
    };
    let cause = "usage events of 2024-02: 1 row the published run did not have";
    assert_eq!(row("active_users"), ["1", "2", cause]);
    assert_eq!(row("adoption_rate")[..2], ["33.3333333333", "66.6666666667"]);
    // March's own figures did not move.
    let march = Metrics::read(&s.out().join("2024-03/metrics.csv"));
    assert_eq!(usage_figures(&march), [Some(75.0), Some(5.0), Some(6.2), Some(28.75)]);
    // The old summary of February's file is gone from the store.
    let stored = fs::read_dir(s.out().join(".rollups/usage_events")).unwrap().count();
    assert_eq!(stored, 3 + 1);
}

#[test]
fn summaries_are_packed_into_one_file_and_read_from_it_as_from_their_own() {
    let s = Scenario::fixture("cx");
    by_month(&s, &["2024-01", "2024-02", "2024-03"], &[]);
    s.write(
        "data/usage_events/month=2024-03/late.csv",
        "customer_id,user_id,occurred_at,feature,duration_seconds\nA,U1,2024-03-01 12:00:00,dashboard_view,0\n",
    );
    run_into(&s, &s.out(), "2024-03", &[]);
    // Four summaries: packed into one file at the end of the run.
    let store = s.out().join(".rollups/usage_events");
    let mut names: Vec<String> = fs::read_dir(&store).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[1].starts_with("pack-") && names[0] == "files.json", "{names:?}");

    // Nothing new: every summary comes from the pack, the figures are the same.
    incremental_and_full(&s, "2024-03", &[]);
    assert_eq!(manifest_rollups(&s.out(), "2024-03"), (0, 4));
    let march = Metrics::read(&s.out().join("2024-03/metrics.csv"));
    assert_eq!(usage_figures(&march), [Some(75.0), Some(5.0), Some(6.2), Some(28.75)]);

    // One packed file changes: B's event of February is gone, A has one.
    // Its new summary is a file of its own; the pack's old rows of it (B's
    // February) are left out, so B no longer counts.
    s.write(
        "data/usage_events/month=2024-02/events.csv",
        "customer_id,user_id,occurred_at,feature,duration_seconds\nA,U7,2024-02-20 09:00:00,dashboard_view,30\n",
    );
    incremental_and_full(&s, "2024-03", &[]);
    assert_eq!(manifest_rollups(&s.out(), "2024-03"), (1, 3));
    let series = fs::read_to_string(s.out().join("2024-03/series.csv")).unwrap();
    assert!(series.lines().any(|l| l.starts_with("2024-02,active_users,v1,all,all,1,")), "{series}");
}
