//! Quarters and fiscal years (METRICS.md, "Quarters and years") on the
//! `periods` fixture: every expected number is worked out by hand in
//! tests/fixtures/periods/README.md.

use std::fs;

use crate::support::*;

const CONFIG: &str = "fiscal_year_start_month: 2\n\
    freshness: {usage_events: off, tickets: off, survey_responses: off, invoices: off, marketing_spend: off, fx_rates: off}\n";

fn periods() -> (Scenario, String) {
    let s = Scenario::fixture("periods");
    let config = s.write("periods.yaml", CONFIG).to_str().unwrap().to_string();
    (s, config)
}

#[test]
fn a_quarter_follows_every_rule_group_of_the_contract() {
    let (s, config) = periods();
    let q = s.run("2024-Q2", &["--config", &config]);
    // At the end of P: June's values.
    q.assert("mrr", Some(1830.0));
    q.assert("arr", Some(21960.0));
    q.assert("active_customers", Some(5.0));
    q.assert("arpa", Some(366.0));
    q.assert("adoption_rate", Some(20.0));
    q.assert("active_users", Some(2.0));
    q.assert("avg_time_on_platform_minutes", Some(10.0));
    q.assert("engagement_score", Some(4.4));
    // Sums over April to June.
    q.assert("new_customers", Some(2.0));
    q.assert("reactivated_customers", Some(1.0));
    q.assert("churned_customers", Some(3.0));
    q.assert("mrr_new", Some(140.0));
    q.assert("mrr_reactivation", Some(250.0));
    q.assert("mrr_expansion", Some(50.0));
    q.assert("mrr_contraction", Some(50.0));
    q.assert("mrr_churn", Some(560.0));
    q.assert("mrr_fx", Some(100.0));
    q.assert("net_new_mrr", Some(-70.0));
    q.assert("revenue", Some(1530.0));
    q.assert("ticket_volume", Some(4.0));
    q.assert("nps_responses", Some(4.0));
    q.assert("csat_responses", Some(2.0));
    q.assert("ces_responses", Some(3.0));
    // Over all of P's rows.
    q.assert("nps", Some(25.0));
    q.assert("csat", Some(50.0));
    q.assert("ces", Some(3.0));
    q.assert("fcr", Some(50.0));
    q.assert("median_resolution_hours", Some(10.0));
    q.assert("referral_rate", Some(50.0));
    q.assert("trial_conversion_rate", Some(200.0 / 3.0));
    q.assert("upsell_cross_sell_rate", Some(100.0 * 230.0 / 1530.0));
    q.assert("time_to_value_days", Some(40.0));
    q.assert("activation_rate", Some(100.0));
    // Retention over P, m0 at June's rates.
    q.assert("churn_rate", Some(20.0));
    q.assert("customer_retention_rate", Some(60.0));
    q.assert("nrr", Some(87.5));
    q.assert("grr", Some(82.5));
    q.assert("revenue_churn_rate", Some(17.5));
    q.assert("quick_ratio", Some(440.0 / 610.0));
    // Money.
    q.assert("arpu", Some(102.0));
    q.assert("cac", Some(330.0));
    q.assert_in("cac", "channel", "paid_search", Some(600.0));
    q.assert_in("cac", "channel", "referral", Some(60.0));
    q.assert("cac_payback_months", Some(330.0 / 70.0));
    q.assert("clv", Some(432.5 / 1.44));
    q.assert("ltv_cac_ratio", Some(432.5 / 1.44 / 330.0));
    // Slices are computed as if alone: smb is a, b, e (f came and went).
    q.assert_in("mrr", "segment", "smb", Some(480.0));
    q.assert_in("churn_rate", "segment", "mid_market", Some(50.0));

    // The versions before the exchange-rate rule, over the quarter.
    let v1 = s.write("v1.yaml", &format!("{CONFIG}metrics: {{nrr: v1, grr: v1, revenue_churn_rate: v1}}\n"));
    let q = s.run("2024-Q2", &["--config", v1.to_str().unwrap()]);
    q.assert("nrr", Some(100.0 * 1750.0 / 1900.0));
    q.assert("grr", Some(100.0 * 1550.0 / 1900.0));
    q.assert("revenue_churn_rate", Some(100.0 * 70.0 / 1900.0));
}

#[test]
fn a_month_keeps_its_own_rows_where_the_quarter_reads_all_of_them() {
    let (s, config) = periods();
    let april = s.run("2024-04", &["--config", &config]);
    // tr1 converted and e reached value after April ended.
    april.assert("trial_conversion_rate", Some(0.0));
    april.assert("activation_rate", Some(0.0));
    april.assert("median_resolution_hours", Some(4.0));
    april.assert("nrr", Some(100.0 * (1900.0 - 300.0) / 1900.0));
}

#[test]
fn a_fiscal_year_starting_in_february_follows_the_contract() {
    let (s, config) = periods();
    let y = s.run("FY2025", &["--config", &config]);
    y.assert("mrr", Some(2180.0));
    y.assert("active_customers", Some(5.0));
    y.assert("new_customers", Some(3.0));
    y.assert("reactivated_customers", Some(1.0));
    y.assert("churned_customers", Some(4.0));
    y.assert("mrr_new", Some(640.0));
    y.assert("mrr_churn", Some(710.0));
    y.assert("mrr_fx", Some(100.0));
    y.assert("net_new_mrr", Some(280.0));
    y.assert("revenue", Some(2230.0));
    y.assert("ticket_volume", Some(5.0));
    y.assert("nps", Some(0.0));
    y.assert("fcr", Some(60.0));
    y.assert("median_resolution_hours", Some(7.0));
    y.assert("trial_conversion_rate", Some(50.0));
    y.assert("referral_rate", Some(100.0 / 3.0));
    y.assert("activation_rate", Some(200.0 / 3.0));
    y.assert("churn_rate", Some(40.0));
    y.assert("customer_retention_rate", Some(40.0));
    y.assert("nrr", Some(80.0));
    y.assert("grr", Some(77.5));
    y.assert("arpu", Some(2230.0 / 62.0));
    y.assert("cac", Some(520.0));
    y.assert("cac_payback_months", Some(2.4375));

    // Published under its id, compared with the fiscal year before.
    let dir = s.out().join("FY2025");
    let csv = fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(csv.lines().skip(1).all(|l| l.starts_with("FY2025,")), "{csv}");
    let series = fs::read_to_string(dir.join("series.csv")).unwrap();
    let mrr: Vec<&str> = series.lines().filter(|l| l.contains(",mrr,v1,all,all,")).collect();
    assert_eq!(mrr.len(), 2, "FY2024 and FY2025: {mrr:?}");
    assert!(mrr[0].starts_with("FY2024,mrr,v1,all,all,1900,") && mrr[1].starts_with("FY2025,mrr,v1,all,all,2180,"), "{mrr:?}");
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("FY2025") && md.contains("last year"), "{md}");
}

#[test]
fn a_quarter_report_compares_quarters_and_bridges_each_month() {
    let (s, config) = periods();
    s.run("2024-Q2", &["--config", &config]);
    let dir = s.out().join("2024-Q2");
    let series = fs::read_to_string(dir.join("series.csv")).unwrap();
    let header: Vec<&str> = series.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = series.lines().skip(1).map(|l| l.split(',').collect()).filter(|r: &Vec<&str>| r[1] == "mrr" && r[3] == "all").collect();
    let periods: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(periods, ["2023-Q2", "2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2"]);
    let last = rows.last().unwrap();
    // The quarter before ended in March (1900); a year before, nobody was active.
    assert_eq!(last[col("prev_value")], "1900");
    assert_eq!(last[col("year_ago_value")], "0");
    // The ARR bridge of each month, then of the quarter.
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("| Movement | 2024-04 | 2024-05 | 2024-06 |"), "{md}");
    assert!(md.contains("| Movement | 2024-Q2 | 2023-Q2 to 2024-Q2 |"), "{md}");
    assert!(md.contains("vs last quarter"), "{md}");
    // The months, summed, are the quarter: 12 × (−70) of ARR.
    assert!(md.contains("| **Ending ARR** | **19,560.00 USD** | **18,840.00 USD** | **21,960.00 USD** |"), "{md}");
}

#[test]
fn period_ids_are_checked_and_fiscal_ones_need_the_setting() {
    let (s, _) = periods();
    let err = s.run_fails("FY2025", &[], 2);
    assert!(err.contains("fiscal_year_start_month"), "{err}");
    let err = s.run_fails("2024-Q5", &[], 2);
    assert!(err.contains("YYYY-Qn"), "{err}");
}

#[test]
fn a_quarter_is_published_rerun_and_restated_under_its_id() {
    let (s, config) = periods();
    s.run("2024-Q2", &["--config", &config]);
    let dir = s.out().join("2024-Q2");
    let first: Vec<(String, Vec<u8>)> = ["report.html", "report.md", "metrics.csv", "series.csv", "email.eml"]
        .iter()
        .map(|f| (f.to_string(), fs::read(dir.join(f)).unwrap()))
        .collect();
    s.run("2024-Q2", &["--config", &config]);
    for (name, bytes) in first {
        assert!(fs::read(dir.join(&name)).unwrap() == bytes, "{name} changed on rerun");
    }
    assert!(!dir.join("restatements.csv").exists());
    // A later correction of a June invoice restates the quarter's revenue,
    // and --fail-on-restatement refuses to publish it.
    s.edit("invoices.csv", "i3,c,2024-06-05,1000,EUR,paid", "i3,c,2024-06-05,900,EUR,paid");
    let err = s.run_fails("2024-Q2", &["--config", &config, "--fail-on-restatement"], 1);
    assert!(err.contains("would change with the report of 2024-Q2") && err.contains("revenue of 2024-Q2 all=all: 1530 -> 1410"), "{err}");
    s.run("2024-Q2", &["--config", &config]);
    let restated = fs::read_to_string(dir.join("restatements.csv")).unwrap();
    assert!(restated.lines().any(|l| l.starts_with("revenue,2024-Q2,v1,v1,all,all,1530,1410,")), "{restated}");
    let manifest = fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"period\": \"2024-Q2\""), "{manifest}");
    assert_eq!(history_runs(&s.out()), 3);
}

#[test]
fn a_quarter_with_a_month_of_spend_missing_has_no_cac_rather_than_a_low_one() {
    let (s, config) = periods();
    s.edit("marketing_spend.csv", "2024-05-01,paid_search,200,USD\n", "");
    let q = s.run("2024-Q2", &["--config", &config]);
    q.assert("cac", None);
    q.assert("cac_payback_months", None);
    q.assert("ltv_cac_ratio", None);
    q.assert("revenue", Some(1530.0));
    let summary = fs::read_to_string(s.out().join("2024-Q2/report.md")).unwrap();
    assert!(summary.contains("marketing_spend has no rows for") && summary.contains("2024-05"), "{summary}");
    // April alone still has its spend.
    let april = s.run("2024-04", &["--config", &config]);
    april.assert("cac", Some(360.0));
}
