//! An unattended run stays right: the lock, publishing that survives any
//! kill or I/O error, the history store, the freshness gate, empty input,
//! safe CSV cells, every byte of the exports read, bounded resources.

use std::fs;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::process::Command;

use crate::support::*;

/// The run id in a published folder's manifest.
fn manifest_run(dir: &Path) -> String {
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["run"]["id"].as_str().unwrap().to_string()
}

/// (published runs of the period, newest first; pending runs).
fn history_states(out: &Path, period: &str) -> (Vec<String>, Vec<String>) {
    let db = duckdb::Connection::open(out.join("history.duckdb")).unwrap();
    let ids = |state: &str| -> Vec<String> {
        let mut stmt = db
            .prepare("SELECT run_id FROM runs WHERE period = ? AND state = ? ORDER BY published_at DESC, run_id DESC")
            .unwrap();
        stmt.query_map([period, state], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    (ids("published"), ids("pending"))
}

/// The published folder and the history agree: the folder's run is the
/// period's latest published run, and nothing is left pending.
fn assert_agree(out: &Path, period: &str, what: &str) {
    let (published, pending) = history_states(out, period);
    assert!(pending.is_empty(), "{what}: pending runs left: {pending:?}");
    let folder = out.join(period);
    assert!(folder_is_complete(&folder), "{what}: the folder is not one complete report");
    assert_eq!(published.first(), Some(&manifest_run(&folder)), "{what}: the history's last run is not the folder's");
}

fn is_log_line(line: &str) -> bool {
    // 2026-11-25T06:38:15.294Z ERROR cs-report: ...
    let b = line.as_bytes();
    line.len() > 30
        && b[4] == b'-'
        && b[10] == b'T'
        && b[23] == b'Z'
        && ["ERROR cs-report: ", "WARN cs-report: ", "INFO cs-report: "].iter().any(|l| line[25..].starts_with(l))
}

#[test]
fn a_run_killed_at_any_moment_leaves_the_previous_report_intact() {
    let s = Scenario::fixture("revenue");
    let (data, out) = (s.data(), s.out());
    s.run("2024-03", &[]);
    let dir = out.join("2024-03");
    let before = fs::read(dir.join("metrics.csv")).unwrap();
    // The next run would publish different numbers.
    let subs = fs::read_to_string(data.join("subscriptions.csv")).unwrap();
    fs::write(data.join("subscriptions.csv"), subs.replace("s7,E,pro,2024-03-20,,month,200", "s7,E,pro,2024-03-20,,month,300")).unwrap();
    let args = ["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"];
    for delay_ms in [5, 20, 40, 60, 80, 100, 130, 160, 200, 260] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cs-report"))
            .args(args)
            .current_dir(s.dir.path())
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        assert!(folder_is_complete(&dir), "killed after {delay_ms} ms: the folder is not one complete report");
        let now = fs::read(dir.join("metrics.csv")).unwrap();
        if now != before {
            // The new run finished before the kill: then it is the new report, whole.
            assert!(String::from_utf8_lossy(&now).contains("2024-03,mrr,v1,all,all,1830,"));
        }
    }
}

#[test]
fn a_changed_input_row_shows_as_a_restatement_and_can_fail_the_run() {
    let s = Scenario::fixture("revenue");
    let (data, out) = (s.data(), s.out());
    s.run("2024-03", &[]);
    assert_eq!(history_runs(&out), 1);
    // Rerun with the same inputs: nothing restated.
    s.run("2024-03", &[]);
    assert_eq!(history_runs(&out), 2);
    let report = fs::read_to_string(out.join("2024-03/report.md")).unwrap();
    assert!(!report.contains("## Restated since last report"));

    // E's plan was 200, is now 300: MRR 1730 -> 1830 and all that follows.
    let subs = fs::read_to_string(data.join("subscriptions.csv")).unwrap();
    fs::write(data.join("subscriptions.csv"), subs.replace("s7,E,pro,2024-03-20,,month,200", "s7,E,pro,2024-03-20,,month,300")).unwrap();
    let before = fs::read(out.join("2024-03/metrics.csv")).unwrap();
    let args = ["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03", "--fail-on-restatement"];
    let refused = s.cs_report(&args);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("mrr of 2024-03 all=all: 1730 -> 1830"), "{err}");
    assert_eq!(fs::read(out.join("2024-03/metrics.csv")).unwrap(), before, "nothing published");
    assert_eq!(history_runs(&out), 2, "history unchanged");

    let m = s.run("2024-03", &[]);
    m.assert("mrr", Some(1830.0));
    assert_eq!(history_runs(&out), 3);
    let report = fs::read_to_string(out.join("2024-03/report.md")).unwrap();
    assert!(report.contains("## Restated since last report\n\n18 figure(s) published in an earlier report"), "{report}");
    assert!(report.contains("### March 2024"), "{report}");
    assert!(report.contains("| Monthly recurring revenue | 1,730.00 USD | 1,830.00 USD | +100.00 USD |"), "{report}");
    let csv = fs::read_to_string(out.join("2024-03/restatements.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 18);
    assert!(csv.lines().any(|l| l.starts_with("mrr,2024-03,v1,v1,all,all,1730,1830,100,")), "{csv}");
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join("2024-03/manifest.json")).unwrap()).unwrap();
    let restated = manifest["restatements"].as_array().unwrap();
    assert!(restated.iter().any(|r| r["metric"] == "mrr" && r["dimension"] == "all" && r["published"] == 1730.0 && r["value"] == 1830.0));
    // A version switch is a restatement too, and says so.
    let config = s.write("v1.yaml", "metrics:\n  revenue_churn_rate: v1\n");
    s.run("2024-03", &["--config", config.to_str().unwrap()]);
    let report = fs::read_to_string(out.join("2024-03/report.md")).unwrap();
    assert!(report.contains("Revenue churn rate (v2 → v1)"), "{report}");
}

#[test]
fn a_second_run_exits_75_naming_the_holder_and_a_dead_holder_blocks_nothing() {
    let s = Scenario::fixture("revenue");
    let out = s.out();
    fs::create_dir_all(&out).unwrap();
    // Another process holds the kernel lock on the lock file (as a run does).
    let lock_path = out.join(".cs-report.lock");
    let holder = fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&lock_path).unwrap();
    assert_eq!(unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
    fs::write(&lock_path, "4242 2026-11-01T06:00:00Z\n").unwrap();
    let err = s.run_fails("2024-03", &[], 75);
    assert!(err.contains("pid 4242") && err.contains("2026-11-01T06:00:00Z"), "{err}");
    assert!(!out.join("2024-03").exists());
    // The holder goes (a kill releases the lock the same way): the file with
    // its old PID is no obstacle.
    drop(holder);
    s.run("2024-03", &[]);
}

#[test]
fn runs_started_in_the_same_instant_never_both_pass_the_lock() {
    let s = Scenario::fixture("revenue");
    fs::create_dir_all(s.out()).unwrap();
    let args = s.run_args("2024-03", &[]);
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_cs-report"))
                .args(&args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<i32> = children.into_iter().map(|c| c.wait_with_output().unwrap().status.code().unwrap()).collect();
    assert!(codes.iter().all(|c| *c == 0 || *c == 75), "{codes:?}");
    assert!(codes.contains(&75), "six runs at once and none found the lock taken: {codes:?}");
    let published = codes.iter().filter(|c| **c == 0).count();
    assert_eq!(history_runs(&s.out()) as usize, published, "one history record per published run");
    assert_agree(&s.out(), "2024-03", "concurrent runs");
}

#[test]
fn a_kill_or_a_full_disk_at_any_step_of_publishing_leaves_folder_and_history_agreeing() {
    let points = ["history.write", "publish.write", "publish.staged", "publish.swapped", "publish.cleaned", "history.confirm", "done"];
    for mode in ["kill", "io"] {
        for point in points {
            let what = format!("{mode}:{point}");
            let s = Scenario::fixture("revenue");
            s.run("2024-03", &[]);
            // The next run would publish different numbers.
            s.edit("subscriptions.csv", "s7,E,pro,2024-03-20,,month,200", "s7,E,pro,2024-03-20,,month,300");
            let args = s.run_args("2024-03", &[]);
            let faulted = Command::new(env!("CARGO_BIN_EXE_cs-report")).args(&args).env("CS_REPORT_FAULT", &what).output().unwrap();
            let code = faulted.status.code();
            let err = String::from_utf8_lossy(&faulted.stderr);
            // Issue 27, case 4: once the new folder is swapped in, the run
            // published: what fails after that is a warning and exit 0.
            let published = ["publish.swapped", "publish.cleaned", "history.confirm", "done"].contains(&point);
            if mode == "kill" {
                assert_eq!(code, Some(137), "{what}: {err}");
            } else if published {
                assert_eq!(code, Some(0), "{what}: {err}");
                assert!(err.contains("No space left on device") && err.contains("is published in"), "{what}: {err}");
                assert!(fs::read_to_string(s.out().join("2024-03/metrics.csv")).unwrap().contains("2024-03,mrr,v1,all,all,1830,"));
                if point == "history.confirm" {
                    // The store itself failed: the next run completes the record.
                    assert!(err.contains("The next run completes the record"), "{what}: {err}");
                } else {
                    assert_agree(&s.out(), "2024-03", &what);
                }
            } else {
                assert_eq!(code, Some(2), "{what}: {err}");
                assert!(err.contains("No space left on device"), "{what}: {err}");
                // An I/O error before the swap is settled by the run itself.
                assert_agree(&s.out(), "2024-03", &what);
            }
            let dir = s.out().join("2024-03");
            assert!(folder_is_complete(&dir), "{what}: the folder is not one complete report");
            // The next run settles what the faulted one left, then compares
            // with what is published: restated numbers refuse, the same
            // numbers publish again.
            let next = s.run_output("2024-03", &["--fail-on-restatement"]);
            let new_published = fs::read_to_string(dir.join("metrics.csv")).unwrap().contains("2024-03,mrr,v1,all,all,1830,");
            let expected = if new_published { Some(0) } else { Some(1) };
            assert_eq!(next.status.code(), expected, "{what}: {}", String::from_utf8_lossy(&next.stderr));
            assert_agree(&s.out(), "2024-03", &format!("{what}, then a run"));
        }
    }
}

#[test]
fn a_missing_or_unreadable_history_next_to_published_reports_is_an_error() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let history = s.out().join("history.duckdb");
    fs::remove_file(&history).unwrap();
    let err = s.run_fails("2024-03", &["--fail-on-restatement"], 2);
    assert!(err.contains("history store") && err.contains("missing") && err.contains("--new-history") && err.contains("2024-03"), "{err}");
    s.run("2024-03", &["--new-history"]);
    assert_eq!(history_runs(&s.out()), 1);
    // Unreadable: refused, and on purpose moved aside.
    fs::write(&history, b"this is not a DuckDB file, whatever its name says").unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("cannot read the history store") && err.contains("--new-history"), "{err}");
    s.run("2024-03", &["--new-history"]);
    assert!(fs::read_dir(s.out()).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with("history.duckdb.broken-")));
}

/// Customers and subscriptions of two paying customers, and usage events
/// up to `last_usage` (a date in March 2024).
fn usage_scenario(last_usage: &str) -> Scenario {
    Scenario::inline(&[
        ("customers.csv", "customer_id,name,signup_date,segment,region,acquisition_channel\nX,Ex,2024-01-01,smb,emea,content\nY,Why,2024-01-01,smb,emea,referral\n"),
        (
            "subscriptions.csv",
            "subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency\nx,X,base,2024-01-01,,month,100,\ny,Y,base,2024-01-01,,month,100,\n",
        ),
        (
            "usage_events.csv",
            &format!("customer_id,user_id,occurred_at,feature,duration_seconds\nX,U1,2024-03-02 10:00:00,login,60\nY,U1,{last_usage} 23:00:00,login,120\n"),
        ),
    ])
}

#[test]
fn exports_that_stop_early_are_refused_with_75_unless_allowed_and_then_marked_stale() {
    let s = usage_scenario("2024-03-28");
    let err = s.run_fails("2024-03", &[], 75);
    let first = err.lines().next().unwrap();
    assert!(is_log_line(first) && first.contains("ERROR") && first.contains("not ready"), "{err}");
    assert!(err.contains("usage_events") && err.contains("reaches 2024-03-28") && err.contains("2024-03-29"), "{err}");
    assert!(!s.out().join("2024-03").exists(), "nothing published");
    assert!(!s.out().join("history.duckdb").exists() || history_runs(&s.out()) == 0);
    // validate gives the same verdict.
    let data = s.data();
    let v = s.cs_report(&["validate", "--data", data.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(v.status.code(), Some(75));
    assert!(String::from_utf8_lossy(&v.stdout).contains("freshness usage_events: STALE, reaches 2024-03-28"));
    // Published anyway on request: every report says so before anything else.
    s.run("2024-03", &["--allow-stale"]);
    let dir = s.out().join("2024-03");
    for file in ["summary.md", "report.md"] {
        let text = fs::read_to_string(dir.join(file)).unwrap();
        let top: String = text.lines().take(6).collect::<Vec<_>>().join("\n");
        assert!(top.contains("stale data") && top.contains("usage_events reaches only 2024-03-28"), "{file}:\n{top}");
    }
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    let h1 = html.find("<h1>").unwrap();
    assert!(html[h1..h1 + 600].contains("usage_events reaches only 2024-03-28"), "html");
    // A looser rule in the config lets it through as fresh.
    let config = s.write("cfg.yaml", "freshness: {usage_events: 3}\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    m.assert("active_users", Some(2.0));
    let summary = fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(!summary.contains("stale data"), "{summary}");
}

#[test]
fn spend_without_the_periods_month_is_stale_and_a_missing_month_is_null_not_zero() {
    // The revenue fixture's spend covers February and March 2024 only.
    let s = Scenario::fixture("revenue");
    for row in ["2024-03-01,paid_search,300,USD\n", "2024-03-15,events,200,EUR\n", "2024-03-31,partner,100,\n", "2024-03-02,content,50,USD\n"] {
        s.edit("marketing_spend.csv", row, "");
    }
    let err = s.run_fails("2024-03", &[], 75);
    assert!(err.contains("marketing_spend") && err.contains("rows for 2024-03"), "{err}");
    let m = s.run("2024-03", &["--allow-stale"]);
    // Not 0.00 USD: nothing is known of March's spend.
    m.assert("cac", None);
    m.assert("cac_payback_months", None);
    m.assert("ltv_cac_ratio", None);
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("marketing_spend has no rows for 2022-03 to 2024-01, 2024-03, so cac"), "{report}");
    // February has spend: its CAC stands in the series (500 over 2 new
    // customers in February: B's... see the fixture); January has none: null.
    let series = fs::read_to_string(s.out().join("2024-03/series.csv")).unwrap();
    let cac = |month: &str| {
        series
            .lines()
            .find(|l| l.starts_with(&format!("{month},cac,v1,all,all,")))
            .map(|l| l.split(',').nth(5).unwrap().to_string())
            .unwrap_or_else(|| panic!("no cac row for {month}"))
    };
    assert_eq!(cac("2024-01"), "", "no spend rows in January: null");
    assert_ne!(cac("2024-02"), "", "February has spend");
}

#[test]
fn a_nullable_column_missing_from_an_export_makes_its_metrics_unavailable() {
    let s = Scenario::fixture("cx");
    let strip = |file: &str, column: &str| {
        let path = s.data().join(file);
        let text = fs::read_to_string(&path).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        let at = header.iter().position(|h| *h == column).unwrap();
        let kept: Vec<String> = text
            .lines()
            .map(|l| l.split(',').enumerate().filter(|(i, _)| *i != at).map(|(_, c)| c).collect::<Vec<_>>().join(","))
            .collect();
        fs::write(&path, kept.join("\n") + "\n").unwrap();
    };
    strip("usage_events.csv", "duration_seconds");
    strip("tickets.csv", "resolved_at");
    strip("trials.csv", "converted_at");
    strip("customers.csv", "acquisition_channel");
    let config = s.write("cfg.yaml", "freshness: {usage_events: 'off', tickets: 'off'}\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    for metric in ["avg_time_on_platform_minutes", "fcr", "median_resolution_hours", "trial_conversion_rate", "referral_rate"] {
        assert!(!m.has(metric), "{metric} must be unavailable, not 0");
    }
    assert!(m.has("active_users") && m.has("ticket_volume"), "the other columns still count");
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("has no column `duration_seconds`"), "{report}");
}

#[test]
fn subscriptions_without_an_end_date_column_are_refused() {
    let s = Scenario::fixture("revenue");
    let path = s.data().join("subscriptions.csv");
    let text = fs::read_to_string(&path).unwrap();
    let stripped: Vec<String> = text.lines().map(|l| {
        let cells: Vec<&str> = l.split(',').collect();
        [&cells[..4], &cells[5..]].concat().join(",")
    }).collect();
    fs::write(&path, stripped.join("\n") + "\n").unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("required column `end_date`") && err.contains("must be there"), "{err}");
}

#[test]
fn empty_exports_and_a_period_that_lost_every_customer_are_refused() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let before = fs::read(s.out().join("2024-03/metrics.csv")).unwrap();
    // Header-only subscriptions: a failed extract, not a company without revenue.
    let subs = s.data().join("subscriptions.csv");
    let full = fs::read_to_string(&subs).unwrap();
    fs::write(&subs, full.lines().next().unwrap().to_string() + "\n").unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("hold no rows") && err.contains("subscriptions.csv") && err.contains("--allow-empty"), "{err}");
    assert_eq!(fs::read(s.out().join("2024-03/metrics.csv")).unwrap(), before, "the published report stays");
    // Rows, but nobody active in March any more, where the report had five.
    let ended: Vec<String> = full
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return l.to_string();
            }
            let mut c: Vec<String> = l.split(',').map(str::to_string).collect();
            c[3] = "2023-10-01".into();
            c[4] = "2023-12-01".into();
            c.join(",")
        })
        .collect();
    fs::write(&subs, ended.join("\n") + "\n").unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("no active customer") && err.contains("had 5"), "{err}");
    assert_eq!(fs::read(s.out().join("2024-03/metrics.csv")).unwrap(), before);
    let m = s.run("2024-03", &["--allow-empty"]);
    m.assert("active_customers", Some(0.0));
}

#[test]
fn text_cells_a_spreadsheet_would_run_are_defused_in_every_csv() {
    let s = Scenario::fixture("revenue");
    s.edit("customers.csv", "A,Alpha <b>Corp</b>,2023-12-10,smb,emea", "A,\"=HYPERLINK(\"\"http://evil\"\")\",2023-12-10,+smb,@emea");
    s.run("2024-03", &[]);
    let dir = s.out().join("2024-03");
    let customers = fs::read_to_string(dir.join("customers.csv")).unwrap();
    assert!(customers.contains("A,\"'=HYPERLINK(\"\"http://evil\"\")\",'+smb,'@emea,"), "{customers}");
    let metrics = fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(metrics.contains(",segment,'+smb,") && metrics.contains(",region,'@emea,"), "{metrics}");
    assert!(!metrics.lines().any(|l| l.split(',').any(|c| c.starts_with(['=', '+', '@']))), "{metrics}");
    let series = fs::read_to_string(dir.join("series.csv")).unwrap();
    assert!(series.contains(",segment,'+smb,") && !series.contains(",+smb,"));
    // Numbers keep their sign; JSON keeps the raw text.
    assert!(series.contains(",-") && !series.contains(",'-"), "negative changes stay numbers");
    let json = fs::read_to_string(dir.join("metrics.json")).unwrap();
    assert!(json.contains("\"segment\": \"+smb\""), "{json}");
}

#[test]
fn a_cell_too_large_for_the_reader_is_bad_input_never_a_dropped_row() {
    let s = Scenario::fixture("revenue");
    // An unquoted 32 MiB cell: DuckDB's reader skips the whole row without a word.
    let path = s.data().join("customers.csv");
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str(&format!("Z,{},2024-01-01,smb,emea,content\n", "z".repeat(32 * 1024 * 1024)));
    fs::write(&path, text).unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("customers.csv") && err.contains("line 10") && err.contains("not read"), "{err}");
    assert!(!s.out().join("2024-03").exists());
}

#[test]
fn glob_characters_in_names_are_taken_literally() {
    let s = Scenario::fixture("revenue");
    // `data[1]` would match a folder `data1` as a pattern; `*.csv` every part.
    let literal = s.dir.path().join("data[1]");
    fs::rename(s.data(), &literal).unwrap();
    let decoy = s.dir.path().join("data1");
    fs::create_dir_all(&decoy).unwrap();
    fs::write(decoy.join("customers.csv"), "customer_id,name,signup_date,segment,region,acquisition_channel\nQ,Decoy,2024-01-01,smb,emea,content\n").unwrap();
    let subs = fs::read_to_string(literal.join("subscriptions.csv")).unwrap();
    fs::remove_file(literal.join("subscriptions.csv")).unwrap();
    let lines: Vec<&str> = subs.lines().collect();
    fs::create_dir_all(literal.join("subscriptions")).unwrap();
    fs::write(literal.join("subscriptions/*.csv"), format!("{}\n{}\n", lines[0], lines[1..6].join("\n"))).unwrap();
    fs::write(literal.join("subscriptions/b.csv"), format!("{}\n{}\n", lines[0], lines[6..].join("\n"))).unwrap();
    let out = s.out();
    let run = s.cs_report(&["run", "--data", literal.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let m = Metrics::read(&out.join("2024-03/metrics.csv"));
    m.assert("mrr", Some(1730.0));
    m.assert("active_customers", Some(5.0));
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join("2024-03/manifest.json")).unwrap()).unwrap();
    let files: Vec<String> = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()))
        .collect();
    assert!(files.iter().all(|f| f.contains("data[1]")), "{files:?}");
    assert_eq!(files.iter().filter(|f| f.contains("subscriptions")).count(), 2, "{files:?}");
}

#[test]
fn twenty_thousand_features_stay_within_a_small_memory_limit() {
    // X uses 20,000 features on 6 days; Y uses one.
    let mut events = String::from("customer_id,user_id,occurred_at,feature,duration_seconds\n");
    // 40,000 users: a bit set of 20,000 features for each would need 100 MB.
    for i in 0..20_000 {
        events.push_str(&format!("X,U{i},2024-03-0{} 10:00:00,f{i:05},6\n", 1 + i % 5));
    }
    for u in 20_000..50_000 {
        events.push_str(&format!("X,U{},2024-03-10 10:00:00,f{:05},6\n", u % 40_000, u % 20_000));
    }
    events.push_str("Y,U1,2024-03-29 10:00:00,f00007,60\n");
    let s = Scenario::inline(&[
        ("customers.csv", "customer_id,name,signup_date,segment,region,acquisition_channel\nX,Ex,2024-01-01,smb,emea,content\nY,Why,2024-01-01,smb,emea,content\n"),
        (
            "subscriptions.csv",
            "subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency\nx,X,base,2024-01-01,,month,100,\ny,Y,base,2024-01-01,,month,100,\n",
        ),
        ("usage_events.csv", &events),
    ]);
    let config = s.write("cfg.yaml", "memory_limit: 120MB\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    // engagement X = 100 × (0.6 × 6/20 + 0.4 × 1) = 58, Y = 100 × (0.6/20 + 0.4/5) = 11; mean 34.5
    m.assert("engagement_score", Some(34.5));
    m.assert("active_users", Some(40_001.0));
    m.assert_in("adoption_rate", "feature", "f00007", Some(100.0));
    m.assert_in("adoption_rate", "feature", "f19999", Some(50.0));
}

#[test]
fn a_template_that_runs_away_is_stopped() {
    let s = Scenario::fixture("revenue");
    for (template, expected) in [
        (&"{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}".to_string(), "fuel"),
        // A 1 MiB string (doubled 16 times), written 100 times.
        (&format!("{{% set s = 'xxxxxxxxxxxxxxxx' %}}{}{{% for i in range(100) %}}{{{{ s }}}}{{% endfor %}}", "{% set s = s ~ s %}".repeat(16)), "64 MiB"),
    ] {
        s.write("tpl/summary.md.j2", template);
        let config = s.write("cfg.yaml", "templates: tpl\n");
        let err = s.run_fails("2024-03", &["--config", config.to_str().unwrap()], 2);
        assert!(err.contains("summary.md.j2") && err.contains(expected), "{err}");
        assert!(!s.out().join("2024-03").exists());
    }
}

#[test]
fn amounts_after_the_period_need_no_exchange_rate() {
    let s = Scenario::fixture("revenue");
    // GBP has no rate at all; an invoice dated after the period is not in it.
    s.edit("invoices.csv", "i17,B,2024-03-01,60,USD,open,subscription", "i17,B,2024-03-01,60,USD,open,subscription\ni18,A,2024-04-02,75,GBP,paid,subscription");
    let m = s.run("2024-03", &[]);
    m.assert("revenue", Some(505.0));
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("invoices: 1 row(s) with invoice_date after 2024-03"), "{report}");
    // Inside the period, the same invoice is bad input.
    s.edit("invoices.csv", "i18,A,2024-04-02,75,GBP", "i18,A,2024-03-30,75,GBP");
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("no rate") && err.contains("GBP 2024-03"), "{err}");
}

#[test]
fn money_is_exact_decimals_in_every_output() {
    // 846187.3056 a month, and a yearly 1200.12 in EUR at 1.0837 (= 108.3808...
    // exactly 1300.570044 a year, 108.380837 a month).
    let s = Scenario::inline(&[
        ("customers.csv", "customer_id,name,signup_date,segment,region,acquisition_channel\nX,Ex,2024-01-01,smb,emea,content\nY,Why,2024-01-01,smb,emea,content\n"),
        (
            "subscriptions.csv",
            "subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency\nx,X,base,2024-01-01,,month,846187.3056,\ny,Y,base,2024-01-01,,year,1200.12,EUR\n",
        ),
        ("fx_rates.csv", "currency,month,rate\nEUR,2024-01-01,1.0837\nEUR,2024-02-01,1.0837\nEUR,2024-03-01,1.0837\n"),
    ]);
    let m = s.run("2024-03", &[]);
    let text = |metric: &str| m.values[&(metric.to_string(), "all".to_string(), "all".to_string())].clone();
    assert_eq!(text("mrr"), "846295.686437");
    assert_eq!(text("arr"), "10155548.237244");
    assert_eq!(m.values[&("mrr".to_string(), "segment".to_string(), "smb".to_string())], "846295.686437");
    let json = fs::read_to_string(s.out().join("2024-03/metrics.json")).unwrap();
    assert!(json.contains("846295.686437,") && !json.contains("846295.68643700"), "{json}");
    let series = fs::read_to_string(s.out().join("2024-03/series.csv")).unwrap();
    assert!(series.contains("2024-03,mrr,v1,all,all,846295.686437,"), "{series}");
}

#[test]
fn help_documents_the_exit_codes_and_log_lines_carry_time_and_level() {
    let s = Scenario::fixture("revenue");
    let help = s.cs_report(&["--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("75  not ready") && text.contains("2   it could not run") && text.contains("1   the run finished"), "{text}");
    let bad = s.cs_report(&["run", "--period", "2024-13"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.lines().all(is_log_line) && err.contains("2024-13"), "{err}");
    let bad = s.cs_report(&["run", "--no-such-flag"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.lines().all(|l| l.is_empty() || is_log_line(l)) && err.contains("--no-such-flag"), "{err}");
    let run = s.run_output("2024-03", &["--verbose"]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.lines().count() > 3 && err.lines().all(is_log_line), "{err}");
}

/// Issue 27, case 9: a history store another program holds open (a DuckDB
/// shell, a backup) is "busy, try later" (75), never "bad input" (2), and
/// `--new-history` does not move a busy store aside.
#[test]
fn a_history_store_held_by_another_program_exits_75() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let held = duckdb::Connection::open(s.out().join("history.duckdb")).unwrap();
    for extra in [&[][..], &["--new-history"][..]] {
        let err = s.run_fails("2024-03", extra, 75);
        assert!(err.contains("history store") && err.contains("another program"), "{err}");
    }
    drop(held);
    assert_eq!(history_runs(&s.out()), 1);
    s.run("2024-03", &[]);
    assert_eq!(history_runs(&s.out()), 2);
}

/// Issue 27, case 10: the longest CSV record is `limits.csv_line_mib`
/// (2 MiB by default): a wide legitimate record over it is refused with
/// the key to raise, and read in full once it is raised.
#[test]
fn the_csv_line_limit_is_a_config_key() {
    let s = Scenario::fixture("revenue");
    let path = s.data().join("customers.csv");
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str(&format!("Z,\"{}\",2024-01-01,smb,emea,content\n", "wide, ".repeat(500 * 1024)));
    fs::write(&path, text).unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("customers.csv") && err.contains("line 10") && err.contains("limits.csv_line_mib"), "{err}");
    let config = s.write("wide.yaml", "limits: {csv_line_mib: 4}\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    m.assert("mrr", Some(1730.0));
}
