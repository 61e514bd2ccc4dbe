//! What the run reads and refuses: config errors, bad rows named by file,
//! line, column and rule, unparsable lines, missing tables and columns,
//! Parquet, mapped names and exchange rates.

use std::fs;

use crate::support::*;

#[test]
fn missing_optional_tables_make_their_metrics_unavailable_not_zero() {
    let s = Scenario::fixture("revenue");
    for file in ["invoices.csv", "marketing_spend.csv"] {
        s.remove(file);
    }
    let m = s.run("2024-03", &[]);
    m.assert("mrr", Some(1730.0));
    for metric in ["revenue", "arpu", "upsell_cross_sell_rate", "cac", "clv", "ltv_cac_ratio", "cac_payback_months"] {
        assert!(!m.has(metric), "{metric} should have no rows");
    }
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("not available (needs `invoices`)"), "{report}");
}

#[test]
fn config_errors_name_the_key_and_file_and_exit_2() {
    let s = Scenario::fixture("revenue");
    let data = s.data();
    for (yaml, key) in [
        ("parameters:\n  gross_margn: 0.8\n", "gross_margn"),
        ("parameters:\n  health:\n    healthy_min: lots\n", "parameters.health.healthy_min"),
        ("metrics:\n  revenue_churn_rate: v7\n", "metrics.revenue_churn_rate"),
        ("parameters:\n  health:\n    weights: {usage: -1}\n", "parameters.health.weights.usage"),
    ] {
        let config = s.write("bad.yaml", yaml);
        let out = s.cs_report(&["run", "--config", config.to_str().unwrap(), "--data", data.to_str().unwrap(), "--period", "2024-03"]);
        assert_eq!(out.status.code(), Some(2), "{yaml}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key) && err.contains("bad.yaml"), "{yaml}: {err}");
        assert!(!s.dir.path().join("reports").exists(), "nothing may be written");
    }
}

#[test]
fn bad_input_exits_2_naming_table_column_and_rule_and_writes_nothing() {
    let s = Scenario::fixture("revenue");
    s.edit("subscriptions.csv", "s7,E,pro,2024-03-20,,month", "s7,E,pro,2024-03-20,,weekly");
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("subscriptions") && err.contains("billing_period") && err.contains("weekly"), "{err}");
    // s7 is on line 8 of subscriptions.csv (the header is line 1).
    assert!(err.contains("subscriptions.csv") && err.contains("line 8: subscription_id \"s7\": \"weekly\""), "{err}");
    assert!(!s.out().join("2024-03").exists());
}

#[test]
fn a_missing_exchange_rate_is_bad_input() {
    let s = Scenario::fixture("revenue");
    s.edit("fx_rates.csv", "EUR,2024-02-15,1.20\n", "");
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("no rate") && err.contains("EUR"), "{err}");
}

#[test]
fn validate_prints_a_summary_and_exits_0_or_2() {
    let s = Scenario::fixture("revenue");
    let data = s.data();
    let out = s.cs_report(&["validate", "--data", data.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("customers") && text.contains("8 rows") && text.contains("no problems found"), "{text}");
    s.write("data/tickets.csv", "ticket_id,customer_id,created_at,resolved_at,contacts\nt1,A,2024-03-01 10:00:00,,2.5\n");
    let out = s.cs_report(&["validate", "--data", data.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(out.status.code(), Some(2));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("tickets") && summary.contains("1 problem(s)") && summary.contains("customers"), "{summary}");
    let err = String::from_utf8_lossy(&out.stderr);
    // 2.5 contacts is not a whole number (a plain cast would round it to 3).
    assert!(err.contains("tickets") && err.contains("contacts") && err.contains("\"2.5\""), "{err}");
}

#[test]
fn parquet_folders_of_parts_and_mapped_names_load_the_same_numbers() {
    let s = Scenario::fixture("revenue");
    let data = s.data();
    let db = duckdb::Connection::open_in_memory().unwrap();
    let path = |name: &str| data.join(name).display().to_string().replace('\'', "''");
    // customers as Parquet, with its own column names.
    db.execute_batch(&format!(
        "COPY (SELECT customer_id AS account_id, name, signup_date AS created_on, segment, region, acquisition_channel \
         FROM read_csv('{}', all_varchar = true)) TO '{}' (FORMAT parquet)",
        path("customers.csv"),
        path("crm_accounts.parquet")
    ))
    .unwrap();
    s.remove("customers.csv");
    // subscriptions as a folder of CSV parts, one in a Hive-style sub-folder.
    let subs = fs::read_to_string(data.join("subscriptions.csv")).unwrap();
    let mut lines: Vec<&str> = subs.lines().collect();
    let header = lines.remove(0);
    let (first, second) = lines.split_at(5);
    s.write("data/subscriptions/part-1.csv", &format!("{header}\n{}\n", first.join("\n")));
    s.write("data/subscriptions/year=2024/part-2.csv", &format!("{header}\n{}\n", second.join("\n")));
    s.remove("subscriptions.csv");
    // tickets in a consistent Hive layout (year=2023/, year=2024/).
    let tickets = "ticket_id,customer_id,created_at,resolved_at,contacts\n";
    s.write("data/tickets/year=2024/a.csv", &format!("{tickets}t1,A,2024-03-01 10:00:00,,1\n"));
    s.write("data/tickets/year=2023/b.csv", &format!("{tickets}t0,H,2023-10-01 10:00:00,2023-10-02 10:00:00,1\n"));
    // invoices as one Parquet file with upper-case column names.
    db.execute_batch(&format!(
        "COPY (SELECT invoice_id AS INVOICE_ID, customer_id AS Customer_Id, invoice_date, amount, currency, status, kind \
         FROM read_csv('{}', all_varchar = true)) TO '{}' (FORMAT parquet)",
        path("invoices.csv"),
        path("invoices.parquet")
    ))
    .unwrap();
    s.remove("invoices.csv");
    let config = s.write(
        "mapped.yaml",
        "tables:\n  customers:\n    file: crm_accounts\n    columns: {customer_id: account_id, signup_date: created_on}\n\
         freshness: {tickets: 'off'}\n",
    );
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    m.assert("mrr", Some(1730.0));
    m.assert("revenue", Some(505.0));
    m.assert("clv", Some(14465.0 / 18.0));
    m.assert_in("mrr", "segment", "smb", Some(280.0));
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(s.out().join("2024-03/manifest.json")).unwrap()).unwrap();
    let subs = manifest["inputs"].as_array().unwrap().iter().find(|t| t["table"] == "subscriptions").unwrap();
    assert_eq!(subs["files"].as_array().unwrap().len(), 2);
    assert_eq!(subs["rows"], 11);
    let tickets = manifest["inputs"].as_array().unwrap().iter().find(|t| t["table"] == "tickets").unwrap();
    assert_eq!(tickets["rows"], 2);
}

#[test]
fn a_table_given_twice_or_a_missing_required_column_is_refused() {
    let s = Scenario::fixture("revenue");
    s.write("data/customers/part.csv", "customer_id\nx\n");
    assert!(s.run_fails("2024-03", &[], 2).contains("more than once"));
    fs::remove_dir_all(s.data().join("customers")).unwrap();
    s.edit("subscriptions.csv", "start_date", "begin_date");
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("start_date") && err.contains("begin_date"), "{err}");
}

#[test]
fn with_every_optional_table_removed_the_run_still_succeeds() {
    let s = Scenario::fixture("cx");
    for file in ["survey_responses.csv", "tickets.csv", "trials.csv", "usage_events.csv"] {
        s.remove(file);
    }
    let m = s.run("2024-03", &[]);
    m.assert("mrr", Some(380.0));
    m.assert("referral_rate", Some(100.0));
    // Only the revenue component is left: A 100, B 0, D 50, C none.
    m.assert("health_score", Some(50.0));
    for metric in ["nps", "csat", "ces", "ticket_volume", "fcr", "trial_conversion_rate", "adoption_rate", "engagement_score", "revenue", "cac"] {
        assert!(!m.has(metric), "{metric}");
    }
    let summary = fs::read_to_string(s.out().join("2024-03/summary.md")).unwrap();
    assert!(summary.contains("Not available this month") && summary.contains("needs `usage_events`"), "{summary}");
}

#[test]
fn lines_that_do_not_parse_are_reported_by_kind_and_line_and_change_nothing() {
    let s = Scenario::fixture("revenue");
    let (data, out) = (s.data(), s.out());
    s.run("2024-03", &[]);
    let published = fs::read(out.join("2024-03/metrics.csv")).unwrap();
    let good = fs::read(data.join("customers.csv")).unwrap();
    let delta = "D,Delta,2024-02-05,smb,,paid_search";
    let cases: [(&str, Vec<u8>, &str, &str); 4] = [
        ("too many fields", format!("{delta},extra").into_bytes(), "more cells than the header has columns", "(whole line)"),
        ("too few fields", b"D,Delta,2024-02-05".to_vec(), "fewer cells than the header has columns", "acquisition_channel, region, segment"),
        ("an unclosed quote", b"D,\"Delta,2024-02-05,smb,,paid_search".to_vec(), "a quote inside a cell that is not itself quoted", "name"),
        ("invalid UTF-8", b"D,Del\xffta,2024-02-05,smb,,paid_search".to_vec(), "not UTF-8", "name"),
    ];
    for (what, line, kind, column) in cases {
        let text = String::from_utf8_lossy(&good).to_string();
        let mut bytes = text.replace(&format!("{delta}\n"), "@@\n").into_bytes();
        let at = bytes.windows(3).position(|w| w == b"@@\n").unwrap();
        bytes.splice(at..at + 2, line);
        fs::write(data.join("customers.csv"), &bytes).unwrap();
        let args = ["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"];
        let result = s.cs_report(&args);
        assert_eq!(result.status.code(), Some(2), "{what}");
        let err = String::from_utf8_lossy(&result.stderr);
        assert!(
            err.contains("customers.csv") && err.contains("line 5") && err.contains(kind) && err.contains(&format!("column `{column}`")),
            "{what}: {err}"
        );
        assert_eq!(fs::read(out.join("2024-03/metrics.csv")).unwrap(), published, "{what}: the report changed");
        assert_eq!(history_runs(&out), 1, "{what}: the history changed");
    }
}

#[test]
fn every_kind_of_bad_row_is_named_by_file_line_column_and_rule() {
    let s = Scenario::fixture("cx");
    let (data, out) = (s.data(), s.out());
    s.run("2024-03", &[]);
    let published = fs::read(out.join("2024-03/metrics.csv")).unwrap();
    // (file, row as it is, row broken, column, words of the rule)
    let cases = [
        ("usage_events.csv", "D,U9,2024-03-02 10:00:00,comment,100", "D,U9,2024-03-02 10:00:00,comment,abc", "duration_seconds", "must be a decimal number"),
        ("usage_events.csv", "D,U9,2024-03-02 10:00:00,comment,100", "D,U9,2024-03-02 10:00:00,comment,-100", "duration_seconds", "must be 0 or more"),
        ("usage_events.csv", "D,U9,2024-03-02 10:00:00,comment,100", "D,U9,2024-03-32 10:00:00,comment,100", "occurred_at", "must be an ISO 8601 timestamp"),
        ("usage_events.csv", "D,U9,2024-03-02 10:00:00,comment,100", "Z,U9,2024-03-02 10:00:00,comment,100", "customer_id", "must name a customer"),
        ("usage_events.csv", "D,U9,2024-03-02 10:00:00,comment,100", "D,,2024-03-02 10:00:00,comment,100", "user_id", "must not be empty"),
        ("customers.csv", "B,Beta,2023-12-01,", "B,Beta,01/12/2023,", "signup_date", "must be a date"),
        ("tickets.csv", "t03,B,2024-03-20 08:00:00,", "t03,B,yesterday,", "created_at", "must be an ISO 8601 timestamp"),
        ("subscriptions.csv", "d1,D,base,2023-12-01,,month,30,", "d1,D,base,,,month,30,", "start_date", "must not be empty"),
        ("tickets.csv", "t02,A,", "t01,A,", "ticket_id", "must be unique"),
        ("survey_responses.csv", "r09,B,csat", "r09,Z,csat", "customer_id", "must name a customer"),
        ("survey_responses.csv", "r08,A,csat,4", "r08,A,poll,4", "survey", "must be nps, csat or ces"),
        ("survey_responses.csv", "r04,C,nps,7", "r04,C,nps,11", "score", "must lie on its survey's scale"),
        ("survey_responses.csv", "r10,C,csat,5", "r10,C,csat,0", "score", "must lie on its survey's scale"),
        ("subscriptions.csv", "e1,E,base,2023-12-01,2024-02-01", "e1,E,base,2023-12-01,2023-11-01", "end_date", "must be after start_date"),
        ("tickets.csv", "2024-03-05 10:00:00,2024-03-05 14:00:00", "2024-03-05 10:00:00,2024-03-05 09:00:00", "resolved_at", "must not be before created_at"),
        ("tickets.csv", "2024-03-01 12:00:00,2024-03-01 13:00:00,1", "2024-03-01 12:00:00,2024-03-01 13:00:00,0", "contacts", "must be 1 or more"),
        ("tickets.csv", "2024-03-01 12:00:00,2024-03-01 13:00:00,1", "2024-03-01 12:00:00,2024-03-01 13:00:00,1.5", "contacts", "must be a whole number"),
        ("subscriptions.csv", "c1,C,pro,2024-03-10,,month,200,", "c1,C,pro,2024-03-10,,month,-200,", "amount", "must be 0 or more"),
        ("subscriptions.csv", "a2,A,addon,2024-02-01,,month,20,", "a2,A,addon,2024-02-01,,weekly,20,", "billing_period", "must be month, quarter or year"),
        ("trials.csv", "T4,D,2024-02-01,2024-02-15", "T4,D,2024-02-01,2024-01-15", "ended_at", "must not be before started_at"),
        ("subscriptions.csv", "b2,B,small,2024-02-15,,month,50,", "b2,B,small,2024-02-15,,month,50,GBP", "currency", "no rate in fx_rates"),
    ];
    for (file, row, broken, column, rule) in cases {
        let path = data.join(file);
        let original = fs::read_to_string(&path).unwrap();
        let line = original.lines().position(|l| l.contains(row)).unwrap_or_else(|| panic!("{row} not in {file}")) + 1;
        fs::write(&path, original.replacen(row, broken, 1)).unwrap();
        // Rows of no customer are bad input only where the config refuses
        // them (the default leaves out answers and events, and counts them).
        let config = s.write(
            "refuse.yaml",
            "tables:\n  usage_events: {on_unmatched: refuse}\n  survey_responses: {on_unmatched: refuse}\n  \
             tickets: {on_unmatched: refuse}\n  trials: {on_unmatched: refuse}\n",
        );
        let args = ["run", "--config", config.to_str().unwrap(), "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"];
        let result = s.cs_report(&args);
        fs::write(&path, &original).unwrap();
        assert_eq!(result.status.code(), Some(2), "{broken}");
        let err = String::from_utf8_lossy(&result.stderr);
        let problem = err.lines().find(|l| l.contains(&format!("column `{column}`")) && l.contains(rule));
        let problem = problem.unwrap_or_else(|| panic!("{broken}: no problem naming {column} and '{rule}' in:\n{err}"));
        assert!(problem.contains(file) && problem.contains(&format!("line {line}")), "{broken}: {problem}");
        assert_eq!(fs::read(out.join("2024-03/metrics.csv")).unwrap(), published, "{broken}: the report changed");
        assert_eq!(history_runs(&out), 1, "{broken}: the history changed");
    }
}

#[test]
fn a_bad_row_in_parquet_is_named_by_its_row() {
    let s = Scenario::fixture("cx");
    let data = s.data();
    let tickets = fs::read_to_string(data.join("tickets.csv")).unwrap();
    fs::write(data.join("tickets.csv"), tickets.replace("t06,D,2024-03-01 09:00:00,2024-03-01 10:00:00,1", "t06,D,2024-03-01 09:00:00,2024-03-01 10:00:00,0")).unwrap();
    let db = duckdb::Connection::open_in_memory().unwrap();
    let path = |n: &str| data.join(n).display().to_string();
    db.execute_batch(&format!(
        "COPY (SELECT * FROM read_csv('{}', all_varchar = true)) TO '{}' (FORMAT parquet)",
        path("tickets.csv"),
        path("tickets.parquet")
    ))
    .unwrap();
    s.remove("tickets.csv");
    let err = s.run_fails("2024-03", &[], 2);
    // t06 is the 7th data row of the file.
    assert!(err.contains("tickets.parquet") && err.contains("column `contacts`") && err.contains("row 7: ticket_id \"t06\""), "{err}");
}

#[test]
fn typed_parquet_columns_load_as_they_are_with_the_same_numbers() {
    // Exporters write Parquet with real types: instants with their zone,
    // naive timestamps, whole numbers. They load without a round trip through
    // text and give the numbers of the CSV fixture.
    let s = Scenario::fixture("cx");
    let data = s.data();
    s.run("2024-03", &[]);
    let from_csv = fs::read_to_string(s.out().join("2024-03/metrics.csv")).unwrap();
    let db = duckdb::Connection::open_in_memory().unwrap();
    let path = |n: &str| data.join(n).display().to_string();
    db.execute_batch(&format!(
        "COPY (SELECT customer_id, user_id, CAST(occurred_at || '+00' AS TIMESTAMPTZ) AS occurred_at, feature, \
                CAST(duration_seconds AS BIGINT) AS duration_seconds \
         FROM read_csv('{}', all_varchar = true)) TO '{}' (FORMAT parquet); \
         COPY (SELECT ticket_id, customer_id, CAST(created_at AS TIMESTAMP) AS created_at, \
                CAST(resolved_at || '+00' AS TIMESTAMPTZ) AS resolved_at, CAST(contacts AS INTEGER) AS contacts \
         FROM read_csv('{}', all_varchar = true)) TO '{}' (FORMAT parquet)",
        path("usage_events.csv"),
        path("usage_events.parquet"),
        path("tickets.csv"),
        path("tickets.parquet")
    ))
    .unwrap();
    let types: Vec<String> = db
        .prepare(&format!("SELECT column_type FROM (DESCRIBE SELECT * FROM '{}')", path("usage_events.parquet")))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(types, ["VARCHAR", "VARCHAR", "TIMESTAMP WITH TIME ZONE", "VARCHAR", "BIGINT"]);
    s.remove("usage_events.csv");
    s.remove("tickets.csv");
    // Every figure as from the CSV files (whose hand-worked values
    // signals.rs checks), to the byte.
    let m = s.run("2024-03", &[]);
    assert_eq!(fs::read_to_string(s.out().join("2024-03/metrics.csv")).unwrap(), from_csv);
    m.assert("avg_time_on_platform_minutes", Some(6.2));

    // A typed value out of the contract's range is still bad input, named
    // by its row: 10^13 seconds does not fit a duration (below 10^12).
    db.execute_batch(&format!(
        "COPY (SELECT customer_id, user_id, occurred_at, feature, \
                CASE WHEN customer_id = 'C' AND feature = 'dashboard_view' THEN CAST(10000000000000 AS BIGINT) \
                     ELSE duration_seconds END AS duration_seconds \
         FROM '{}') TO '{}' (FORMAT parquet)",
        path("usage_events.parquet"),
        path("bad.parquet")
    ))
    .unwrap();
    s.remove("usage_events.parquet");
    fs::rename(data.join("bad.parquet"), data.join("usage_events.parquet")).unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    // C's dashboard_view is the 8th row of the file.
    assert!(err.contains("usage_events.parquet") && err.contains("column `duration_seconds`") && err.contains("row 8: \"10000000000000\""), "{err}");
}

#[test]
fn a_header_name_with_a_comma_does_not_confuse_the_error_report() {
    let s = Scenario::fixture("revenue");
    let data = s.data();
    let subs = fs::read_to_string(data.join("subscriptions.csv")).unwrap();
    let mut lines: Vec<String> = subs.lines().map(|l| format!("{l},x")).collect();
    lines[0] = format!("{},\"notes, internal\"", subs.lines().next().unwrap());
    let text = lines.join("\n").replace("s7,E,pro,2024-03-20,,month,200,USD,x", "s7,E,pro,2024-03-20,,month,2oo,USD,x") + "\n";
    fs::write(data.join("subscriptions.csv"), text).unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("column `amount`") && err.contains("line 8: subscription_id \"s7\": \"2oo\""), "{err}");
}

/// Issue 27, case 8: RFC 4180 quoting with a line feed and a lone carriage
/// return inside quoted cells, and a blank line: every record loads whole,
/// and an error names the line the record really starts on.
#[test]
fn quoted_line_breaks_and_blank_lines_keep_records_and_line_numbers() {
    let s = Scenario::fixture("revenue");
    let path = s.data().join("customers.csv");
    let text = fs::read_to_string(&path).unwrap();
    let text = text
        .replace("A,Alpha <b>Corp</b>,", "A,\"Alpha\nCorp\",")
        .replace("B,\"Beta | Pipes, Inc\",", "B,\"Beta\rPipes\",")
        .replace("E,Epsilon,", "\nE,Epsilon,");
    fs::write(&path, &text).unwrap();
    let m = s.run("2024-03", &[]);
    m.assert("mrr", Some(1730.0));
    m.assert("active_customers", Some(5.0));
    // H is on line 11: the header, A on two lines, B, C, D, a blank line,
    // E, F, G.
    fs::write(&path, text.replace("H,Hotel Comeback,2023-10-01", "H,Hotel Comeback,2023-13-01")).unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    assert!(err.contains("customers.csv") && err.contains("line 11: customer_id \"H\""), "{err}");
}

/// Issue 27, case 8: a load error names the user's file, not the run's
/// scratch copy, and leaves out DuckDB's SQL excerpt.
#[test]
fn a_broken_parquet_export_is_named_in_the_users_terms() {
    let s = Scenario::fixture("revenue");
    s.remove("invoices.csv");
    fs::write(s.data().join("invoices.parquet"), "not parquet at all\n").unwrap();
    let err = s.run_fails("2024-03", &[], 2);
    let file = s.data().join("invoices.parquet").display().to_string();
    assert!(err.contains(&format!("cannot read {file}: it is not a Parquet file")), "{err}");
    assert!(!err.contains("cs-report-") && !err.contains("LINE 1") && !err.contains("read_parquet"), "{err}");
}
