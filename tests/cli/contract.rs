//! End-to-end tests of the metric contract and the input contract on
//! fixture folders. Every expected number is worked out by hand in the
//! fixture's README.md.

use std::fs;

use crate::support::*;

#[test]
fn mrr_movements_and_retention_match_the_hand_worked_fixture() {
    let s = Scenario::fixture("revenue");
    let m = s.run("2024-03", &[]);
    m.assert("mrr", Some(1730.0));
    m.assert("arr", Some(20760.0));
    m.assert("active_customers", Some(5.0));
    m.assert("new_customers", Some(1.0));
    m.assert("reactivated_customers", Some(1.0));
    m.assert("churned_customers", Some(1.0));
    m.assert("mrr_new", Some(200.0));
    m.assert("mrr_reactivation", Some(90.0));
    // C's 1000 EUR a month is 1200 at February's rate and 1250 at March's:
    // the price did not change, so its +50 is exchange-rate impact, not
    // expansion (constant currency, the default v2).
    m.assert("mrr_expansion", Some(50.0));
    assert_eq!(m.versions["mrr_expansion"], "v2");
    m.assert("mrr_fx", Some(50.0));
    m.assert("mrr_contraction", Some(60.0));
    m.assert("mrr_churn", Some(60.0));
    m.assert("net_new_mrr", Some(270.0));
    m.assert("customer_retention_rate", Some(75.0));
    m.assert("churn_rate", Some(25.0));
    m.assert("revenue_churn_rate", Some(100.0 * 120.0 / 1460.0));
    assert_eq!(m.versions["revenue_churn_rate"], "v2");
    m.assert("nrr", Some(100.0 * 1390.0 / 1460.0));
    m.assert("grr", Some(100.0 * 1340.0 / 1460.0));
    m.assert("quick_ratio", Some(340.0 / 120.0));
    m.assert("arpa", Some(346.0));
    // Nobody was active twelve months before: no cohort, so null, not 0.
    m.assert("nrr_12m", None);
    m.assert("grr_12m", None);
}

#[test]
fn segments_and_regions_are_computed_as_if_alone() {
    let s = Scenario::fixture("revenue");
    let m = s.run("2024-03", &[]);
    m.assert_in("mrr", "segment", "smb", Some(280.0));
    m.assert_in("mrr", "segment", "enterprise", Some(1450.0));
    m.assert_in("churn_rate", "segment", "smb", Some(100.0 / 3.0));
    m.assert_in("customer_retention_rate", "segment", "smb", Some(200.0 / 3.0));
    m.assert_in("nrr", "segment", "smb", Some(100.0 * 190.0 / 260.0));
    m.assert_in("churn_rate", "segment", "enterprise", Some(0.0));
    m.assert_in("customer_retention_rate", "segment", "enterprise", Some(100.0));
    m.assert_in("nrr", "segment", "enterprise", Some(100.0));
    m.assert_in("mrr_fx", "segment", "enterprise", Some(50.0));
    m.assert_in("mrr_fx", "segment", "smb", Some(0.0));
    m.assert_in("mrr", "region", "emea", Some(1400.0));
    m.assert_in("mrr", "region", "north_america", Some(200.0));
    m.assert_in("churn_rate", "region", "north_america", Some(100.0));
    // A blank region is reported as `unknown`.
    m.assert_in("mrr", "region", "unknown", Some(40.0));
    // apac had nobody at the start of the month: rates are null, not 0.
    m.assert_in("mrr", "region", "apac", Some(90.0));
    m.assert_in("churn_rate", "region", "apac", None);
    m.assert_in("customer_retention_rate", "region", "apac", None);
    m.assert_in("nrr", "region", "apac", None);
    // Spend has no segment.
    assert!(m.values.keys().all(|(metric, dim, _)| !(metric == "cac" && (dim == "segment" || dim == "region"))));
}

#[test]
fn money_metrics_match_the_hand_worked_fixture() {
    let s = Scenario::fixture("revenue");
    let m = s.run("2024-03", &[]);
    m.assert("revenue", Some(505.0));
    m.assert("arpu", Some(101.0));
    m.assert("upsell_cross_sell_rate", Some(100.0 * 75.0 / 505.0));
    m.assert("cac", Some(700.0));
    m.assert_in("cac", "channel", "partner", Some(100.0));
    m.assert_in("cac", "channel", "paid_search", None);
    m.assert_in("cac", "channel", "events", None);
    m.assert_in("cac", "channel", "content", None);
    m.assert("cac_payback_months", Some(3.5));
    m.assert("clv", Some(14465.0 / 18.0));
    assert_eq!(m.versions["clv"], "v1");
    m.assert("ltv_cac_ratio", Some(14465.0 / 18.0 / 700.0));
    m.assert_in("revenue", "segment", "smb", Some(305.0));
    m.assert_in("arpu", "segment", "smb", Some(305.0 / 3.0));
}

#[test]
fn config_picks_metric_versions() {
    let s = Scenario::fixture("revenue");
    let config = s.write("cfg/cs-report.yaml", "metrics:\n  revenue_churn_rate: v1\n  clv: v2\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    assert_eq!(m.versions["revenue_churn_rate"], "v1");
    m.assert("revenue_churn_rate", Some(100.0 * (1460.0 - 1730.0) / 1460.0));
    assert_eq!(m.versions["clv"], "v2");
    m.assert("clv", Some(1384.0));
    m.assert("ltv_cac_ratio", Some(1384.0 / 700.0));
}

#[test]
fn twelve_month_retention_follows_last_years_cohort() {
    let s = Scenario::fixture("revenue");
    // Invoices and spend end in March: only the subscriptions matter here.
    let m = s.run("2024-11", &["--allow-stale"]);
    m.assert("nrr_12m", Some(100.0 * 90.0 / 70.0));
    m.assert("grr_12m", Some(100.0));
    // C's 1000 EUR a month, valued in both months at December's rate
    // (1.00): kept whole. At each month's own rate (v1) it fell 1100 → 1000.
    let m = s.run("2024-12", &["--allow-stale"]);
    m.assert("nrr_12m", Some(100.0));
    m.assert("grr_12m", Some(100.0));
    let config = s.write("v1.yaml", "metrics:\n  nrr_12m: v1\n  grr_12m: v1\n");
    let m = s.run("2024-12", &["--allow-stale", "--config", config.to_str().unwrap()]);
    m.assert("nrr_12m", Some(100.0 * 1000.0 / 1100.0));
    m.assert("grr_12m", Some(100.0 * 1000.0 / 1100.0));
}

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
fn every_output_file_is_written_and_the_report_escapes_data() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let dir = s.out().join("2024-03");
    for file in ["report.html", "report.md", "summary.md", "metrics.csv", "metrics.json", "series.csv", "manifest.json", "customers.csv"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    let mrr = json.as_array().unwrap().iter().find(|r| r["metric"] == "mrr" && r["dimension"] == "all").unwrap();
    assert_eq!(mrr["value"], serde_json::json!(1730.0));
    assert_eq!(mrr["period"], "2024-03");
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let rcr = manifest["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == "revenue_churn_rate").unwrap();
    assert_eq!(rcr["version"], "v2");
    assert_eq!(rcr["sql_sha256"].as_str().unwrap().len(), 64);
    assert!(manifest["inputs"][0]["files"][0]["sha256"].as_str().unwrap().len() == 64);
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the page must be self-contained");
    assert!(html.contains("MRR bridge"));
    let series = fs::read_to_string(dir.join("series.csv")).unwrap();
    // 13 months of the trend window for the total MRR.
    assert_eq!(series.lines().filter(|l| l.contains(",mrr,v1,all,all,")).count(), 13);
}

#[test]
fn rerunning_a_period_gives_identical_files() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let dir = s.out().join("2024-03");
    let first: Vec<(String, Vec<u8>)> = ["report.html", "report.md", "summary.md", "metrics.csv", "metrics.json", "series.csv", "email.eml"]
        .iter()
        .map(|f| (f.to_string(), fs::read(dir.join(f)).unwrap()))
        .collect();
    s.run("2024-03", &[]);
    for (name, bytes) in first {
        assert!(fs::read(dir.join(&name)).unwrap() == bytes, "{name} changed on rerun");
    }
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
    let subs = fs::read_to_string(s.data().join("subscriptions.csv")).unwrap();
    fs::write(s.data().join("subscriptions.csv"), subs.replace("s7,E,pro,2024-03-20,,month", "s7,E,pro,2024-03-20,,weekly")).unwrap();
    let (data, out) = (s.data(), s.out());
    let result = s.cs_report(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(result.status.code(), Some(2));
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(err.contains("subscriptions") && err.contains("billing_period") && err.contains("weekly"), "{err}");
    // s7 is on line 8 of subscriptions.csv (the header is line 1).
    assert!(err.contains("subscriptions.csv") && err.contains("line 8: subscription_id \"s7\": \"weekly\""), "{err}");
    assert!(!out.join("2024-03").exists());
}

#[test]
fn a_missing_exchange_rate_is_bad_input() {
    let s = Scenario::fixture("revenue");
    let fx = fs::read_to_string(s.data().join("fx_rates.csv")).unwrap();
    fs::write(s.data().join("fx_rates.csv"), fx.replace("EUR,2024-02-15,1.20\n", "")).unwrap();
    let (data, out) = (s.data(), s.out());
    let result = s.cs_report(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(result.status.code(), Some(2));
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(err.contains("no rate") && err.contains("EUR"), "{err}");
}

/// Every metric id of shared/spec/METRICS.md.
const CONTRACT_METRICS: [&str; 47] = [
    "mrr", "arr", "active_customers", "new_customers", "reactivated_customers", "churned_customers", "mrr_new",
    "mrr_reactivation", "mrr_expansion", "mrr_contraction", "mrr_churn", "net_new_mrr", "customer_retention_rate",
    "churn_rate", "revenue_churn_rate", "nrr", "grr", "nrr_12m", "grr_12m", "quick_ratio", "arpa", "revenue", "arpu",
    "upsell_cross_sell_rate", "cac", "clv", "ltv_cac_ratio", "cac_payback_months", "nps", "csat", "ces",
    "nps_responses", "csat_responses", "ces_responses", "ticket_volume", "fcr", "referral_rate",
    "trial_conversion_rate", "adoption_rate", "active_users", "avg_time_on_platform_minutes", "engagement_score",
    "time_to_value_days", "activation_rate", "health_score", "at_risk_customers", "at_risk_mrr",
];

#[test]
fn the_sample_runs_end_to_end() {
    let s = Scenario { dir: tempfile::tempdir().unwrap() };
    let data = s.data();
    let out = s.cs_report(&["sample", "--out", data.to_str().unwrap(), "--customers", "120", "--seed", "7", "--end", "2025-06", "--months", "18"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m = s.run("2025-06", &[]);
    // Every metric id of the contract, with segment and region rows except
    // where spend or trials have no customer.
    let unsplit = ["cac", "ltv_cac_ratio", "cac_payback_months", "trial_conversion_rate"];
    for metric in CONTRACT_METRICS {
        assert!(m.values.contains_key(&(metric.to_string(), "all".into(), "all".into())), "{metric}");
        for dimension in ["segment", "region"] {
            let split = m.values.keys().any(|(id, d, _)| id == metric && d == dimension);
            assert_eq!(split, !unsplit.contains(&metric), "{metric} by {dimension}");
        }
    }
    assert!(m.values.keys().any(|(id, d, _)| id == "cac" && d == "channel"));
    assert!(m.values.keys().any(|(id, d, _)| id == "adoption_rate" && d == "feature"));
    assert!(m.get("mrr", "all", "all").unwrap() > 0.0);
    // The same seed writes the same files.
    let again = s.dir.path().join("again");
    s.cs_report(&["sample", "--out", again.to_str().unwrap(), "--customers", "120", "--seed", "7", "--end", "2025-06", "--months", "18"]);
    for table in ["customers", "subscriptions", "usage_events"] {
        let file = format!("{table}.csv");
        assert!(fs::read(data.join(&file)).unwrap() == fs::read(again.join(&file)).unwrap(), "{file}");
    }
}

#[test]
fn metrics_command_lists_the_catalog() {
    let s = Scenario { dir: tempfile::tempdir().unwrap() };
    let out = s.cs_report(&["metrics"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("revenue_churn_rate") && text.contains("v1,v2*"), "{text}");
}

const CUSTOMERS: &str = "customer_id,name,signup_date,segment,region,acquisition_channel\n\
    a,A,2024-01-01,smb,emea,referral\n\
    b,B,2024-01-01,smb,emea,paid_search\n";

fn subscriptions(rows: &str) -> String {
    format!("subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency\n{rows}")
}

/// Runs `rows` of subscriptions for the two customers above and returns
/// (MRR, active customers, new, churned) of each month asked for.
fn mrr_by_month(rows: &str, months: &[&str]) -> Vec<(Option<f64>, Option<f64>, Option<f64>, Option<f64>)> {
    let s = Scenario::inline(&[("customers.csv", CUSTOMERS), ("subscriptions.csv", &subscriptions(rows))]);
    months
        .iter()
        .map(|m| {
            let metrics = s.run(m, &[]);
            (
                metrics.get("mrr", "all", "all"),
                metrics.get("active_customers", "all", "all"),
                metrics.get("new_customers", "all", "all"),
                metrics.get("churned_customers", "all", "all"),
            )
        })
        .collect()
}

#[test]
fn an_end_date_on_the_first_is_exclusive() {
    // Service ends at the start of 2024-03-01: active at the end of February, churned in March.
    let got = mrr_by_month("s1,a,p,2024-01-15,2024-03-01,month,100,\n", &["2024-02", "2024-03"]);
    assert_eq!(got[0], (Some(100.0), Some(1.0), Some(0.0), Some(0.0)));
    assert_eq!(got[1], (Some(0.0), Some(0.0), Some(0.0), Some(1.0)));
}

#[test]
fn an_end_date_on_the_last_day_ends_that_month() {
    // end_date 2024-02-29 > m_end is false for February (29 > 29 fails): churned in February.
    let got = mrr_by_month("s1,a,p,2024-01-15,2024-02-29,month,100,\n", &["2024-01", "2024-02"]);
    assert_eq!(got[0], (Some(100.0), Some(1.0), Some(1.0), Some(0.0)));
    assert_eq!(got[1], (Some(0.0), Some(0.0), Some(0.0), Some(1.0)));
}

#[test]
fn a_subscription_inside_one_month_never_counts() {
    let got = mrr_by_month("s1,a,p,2024-02-03,2024-02-20,month,100,\n", &["2024-02", "2024-03"]);
    assert_eq!(got[0], (Some(0.0), Some(0.0), Some(0.0), Some(0.0)));
    assert_eq!(got[1], (Some(0.0), Some(0.0), Some(0.0), Some(0.0)));
}

#[test]
fn overlapping_subscriptions_add_up_and_billing_periods_divide() {
    // Annual 1200 (= 100) + quarterly 90 (= 30) + monthly 5, all active at the end of March.
    let rows = "s1,a,p,2024-01-10,,year,1200,\ns2,a,p,2024-03-31,,quarter,90,\ns3,a,p,2024-02-01,,month,5,\n";
    let got = mrr_by_month(rows, &["2024-02", "2024-03"]);
    assert_eq!(got[0], (Some(105.0), Some(1.0), Some(0.0), Some(0.0)));
    assert_eq!(got[1], (Some(135.0), Some(1.0), Some(0.0), Some(0.0)));
}

#[test]
fn free_plans_do_not_make_a_customer() {
    let got = mrr_by_month("s1,a,free,2024-01-01,,month,0,\ns2,b,p,2024-01-01,,month,10,\n", &["2024-01"]);
    assert_eq!(got[0], (Some(10.0), Some(1.0), Some(1.0), Some(0.0)));
}

#[test]
fn a_gap_then_a_comeback_is_churn_then_reactivation_not_new() {
    let rows = "s1,a,p,2024-01-01,2024-02-01,month,50,\ns2,a,p,2024-04-10,,month,70,\n";
    let s = Scenario::inline(&[("customers.csv", CUSTOMERS), ("subscriptions.csv", &subscriptions(rows))]);
    let feb = s.run("2024-02", &[]);
    feb.assert("churned_customers", Some(1.0));
    feb.assert("mrr_churn", Some(50.0));
    let apr = s.run("2024-04", &[]);
    apr.assert("new_customers", Some(0.0));
    apr.assert("reactivated_customers", Some(1.0));
    apr.assert("mrr_reactivation", Some(70.0));
    // S = 0 in April: rates with S in the denominator are null, not 0.
    apr.assert("churn_rate", None);
    apr.assert("customer_retention_rate", None);
    apr.assert("nrr", None);
    apr.assert("quick_ratio", None);
}

#[test]
fn a_month_with_no_customers_has_zero_mrr_and_null_ratios() {
    let got = mrr_by_month("s1,a,p,2024-05-01,,month,10,\n", &["2024-03"]);
    assert_eq!(got[0], (Some(0.0), Some(0.0), Some(0.0), Some(0.0)));
    let s = Scenario::inline(&[("customers.csv", CUSTOMERS), ("subscriptions.csv", &subscriptions("s1,a,p,2024-05-01,,month,10,\n"))]);
    let m = s.run("2024-03", &[]);
    m.assert("arpa", None);
    m.assert("revenue_churn_rate", None);
}

#[test]
fn amounts_in_another_currency_use_the_rate_of_each_month() {
    let rows = "s1,a,p,2024-01-01,,month,100,EUR\n";
    let fx = "currency,month,rate\nEUR,2024-01-01,1.10\nEUR,2024-02-28,1.20\n";
    let s = Scenario::inline(&[("customers.csv", CUSTOMERS), ("subscriptions.csv", &subscriptions(rows)), ("fx_rates.csv", fx)]);
    let jan = s.run("2024-01", &[]);
    jan.assert("mrr", Some(110.0));
    let feb = s.run("2024-02", &[]);
    feb.assert("mrr", Some(120.0));
    // The rate moved, not the price: exchange-rate impact, not expansion.
    feb.assert("mrr_expansion", Some(0.0));
    feb.assert("mrr_fx", Some(10.0));
}

/// Two currencies, worked by hand. EUR at 1.10 (Jan), 1.05 (Feb), 1.08
/// (Mar); USD is the reporting currency.
/// - a: 100 EUR a month throughout: 110, 105, 108 (the price never changes)
/// - b: 200 USD, 250 from March (a real expansion of 50)
/// - c: 50 EUR from February (new at February's rate, 52.5; 54 in March)
/// - d: 80 EUR in January and February, gone in March (churn of 84, valued
///   at February's rate)
/// MRR: Jan 398, Feb 441.5, Mar 412.
/// February: new 52.5; a 110 → 105 and d 88 → 84 at unchanged prices: FX
/// −9, no contraction (v1 saw a contraction of 9). 398 + 52.5 − 9 = 441.5.
/// March: expansion 50 (b); churn 84 (d); FX +3 (a) + 1.5 (c) = 4.5 (v1 saw
/// an expansion of 54.5). 441.5 + 50 − 84 + 4.5 = 412.
#[test]
fn exchange_rate_moves_are_their_own_line_not_expansion_or_contraction() {
    let rows = "s1,a,p,2024-01-01,,month,100,EUR\ns2,b,p,2024-01-01,2024-03-01,month,200,USD\ns3,b,p,2024-03-01,,month,250,USD\n\
                s4,c,p,2024-02-01,,month,50,EUR\ns5,d,p,2024-01-01,2024-03-01,month,80,EUR\n";
    let fx = "currency,month,rate\nEUR,2024-01-01,1.10\nEUR,2024-02-01,1.05\nEUR,2024-03-01,1.08\n";
    let customers = "customer_id,name,signup_date,segment,region,acquisition_channel\n\
                     a,A,2024-01-01,smb,emea,organic\nb,B,2024-01-01,smb,north_america,organic\n\
                     c,C,2024-02-01,smb,emea,organic\nd,D,2024-01-01,smb,emea,organic\n";
    let s = Scenario::inline(&[("customers.csv", customers), ("subscriptions.csv", &subscriptions(rows)), ("fx_rates.csv", fx)]);
    let feb = s.run("2024-02", &[]);
    feb.assert("mrr", Some(441.5));
    feb.assert("mrr_new", Some(52.5));
    feb.assert("mrr_fx", Some(-9.0));
    feb.assert("mrr_expansion", Some(0.0));
    feb.assert("mrr_contraction", Some(0.0));
    feb.assert("nrr", Some(100.0));
    feb.assert("grr", Some(100.0));
    feb.assert("revenue_churn_rate", Some(0.0));
    feb.assert("quick_ratio", None);
    let mar = s.run("2024-03", &[]);
    mar.assert("mrr", Some(412.0));
    mar.assert("net_new_mrr", Some(412.0 - 441.5));
    mar.assert("mrr_expansion", Some(50.0));
    mar.assert("mrr_contraction", Some(0.0));
    mar.assert("mrr_churn", Some(84.0));
    mar.assert("mrr_fx", Some(4.5));
    mar.assert("nrr", Some(100.0 * (441.5 + 50.0 - 84.0) / 441.5));
    mar.assert("grr", Some(100.0 * (441.5 - 84.0) / 441.5));
    mar.assert("quick_ratio", Some(50.0 / 84.0));
    mar.assert("revenue_churn_rate", Some(100.0 * 84.0 / 441.5));
    mar.assert_in("mrr_fx", "region", "emea", Some(4.5));
    mar.assert_in("mrr_fx", "region", "north_america", Some(0.0));
    // The values before the rule stay as v1.
    let config = s.write(
        "v1.yaml",
        "metrics:\n  mrr_expansion: v1\n  mrr_contraction: v1\n  nrr: v1\n  grr: v1\n  quick_ratio: v1\n",
    );
    let feb = s.run("2024-02", &["--config", config.to_str().unwrap()]);
    feb.assert("mrr_contraction", Some(9.0));
    feb.assert("nrr", Some(100.0 * (398.0 - 9.0) / 398.0));
    feb.assert("grr", Some(100.0 * (398.0 - 9.0) / 398.0));
    let mar = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    mar.assert("mrr_expansion", Some(54.5));
    mar.assert("nrr", Some(100.0 * (441.5 + 54.5 - 84.0) / 441.5));
    mar.assert("quick_ratio", Some(54.5 / 84.0));
    // The report's bridge carries the FX line.
    let md = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(md.contains("| ± Exchange rates (FX) | +4.50 USD |"), "{md}");
    let summary = fs::read_to_string(s.out().join("2024-03/summary.md")).unwrap();
    assert!(summary.contains("− churn 84.00 USD + FX 4.50 USD = 412.00 USD"), "{summary}");
}

/// One currency: no exchange-rate impact, and every number as before it.
#[test]
fn one_currency_has_no_fx_line_and_the_same_numbers_in_both_versions() {
    let s = Scenario::fixture("revenue");
    s.remove("fx_rates.csv");
    s.edit("subscriptions.csv", "12000,EUR", "12000,USD");
    s.remove("invoices.csv");
    s.remove("marketing_spend.csv");
    let m = s.run("2024-03", &[]);
    m.assert("mrr_fx", Some(0.0));
    m.assert("mrr_expansion", Some(50.0));
    let config = s.write("v1.yaml", "metrics:\n  mrr_expansion: v1\n  nrr: v1\n  nrr_12m: v1\n");
    let v1 = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    for metric in ["mrr_expansion", "nrr", "nrr_12m"] {
        assert_eq!(m.get(metric, "all", "all"), v1.get(metric, "all", "all"), "{metric}");
    }
    let md = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(!md.contains("Exchange rates (FX)"));
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
fn a_templates_folder_overrides_the_built_in_ones() {
    let s = Scenario::fixture("revenue");
    s.write("tpl/summary.md.j2", "MRR is {{ key.mrr.value|money }}\n");
    let config = s.write("cfg.yaml", "templates: tpl\n");
    s.run("2024-03", &["--config", config.to_str().unwrap()]);
    let summary = fs::read_to_string(s.out().join("2024-03/summary.md")).unwrap();
    assert_eq!(summary.trim(), "MRR is 1,730.00 USD");
    // The others are still the built-in ones.
    assert!(fs::read_to_string(s.out().join("2024-03/report.md")).unwrap().contains("MRR bridge"));
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
    let (data, out) = (s.data(), s.out());
    let result = s.cs_report(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("more than once"));
    fs::remove_dir_all(data.join("customers")).unwrap();
    let subs = fs::read_to_string(data.join("subscriptions.csv")).unwrap();
    fs::write(data.join("subscriptions.csv"), subs.replacen("start_date", "begin_date", 1)).unwrap();
    let result = s.cs_report(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(result.status.code(), Some(2));
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(err.contains("start_date") && err.contains("begin_date"), "{err}");
}

#[test]
fn customer_voice_matches_the_hand_worked_fixture() {
    let s = Scenario::fixture("cx");
    let m = s.run("2024-03", &[]);
    m.assert("nps", Some(20.0));
    m.assert("nps_responses", Some(5.0));
    m.assert("nps_promoters", Some(2.0));
    m.assert("nps_passives", Some(2.0));
    m.assert("nps_detractors", Some(1.0));
    m.assert("nps_margin_of_error", Some(196.0 * (0.56f64 / 5.0).sqrt()));
    m.assert_in("nps", "segment", "enterprise", Some(50.0));
    m.assert_in("nps", "segment", "smb", Some(0.0));
    m.assert_in("nps", "region", "north_america", Some(100.0 / 3.0));
    m.assert("csat", Some(200.0 / 3.0));
    m.assert("csat_responses", Some(3.0));
    // No CES answer in March: null, not 0.
    m.assert("ces", None);
    m.assert("ces_responses", Some(0.0));
    let text = fs::read_to_string(s.out().join("2024-03/metrics.csv")).unwrap();
    assert!(text.contains("2024-03,nps,v1,all,all,20,score,true"), "low-sample flag: {text}");
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("Net promoter score rests on 5 answer(s)"), "{report}");
}

#[test]
fn support_and_acquisition_match_the_hand_worked_fixture() {
    let s = Scenario::fixture("cx");
    let m = s.run("2024-03", &[]);
    m.assert("ticket_volume", Some(9.0));
    m.assert("fcr", Some(700.0 / 9.0));
    m.assert("median_resolution_hours", Some(1.0));
    m.assert("tickets_per_active_customer", Some(2.25));
    m.assert("referral_rate", Some(100.0));
    m.assert("trial_conversion_rate", Some(100.0 / 3.0));
    // A trial may have no customer: no segment rows.
    assert!(!m.values.contains_key(&("trial_conversion_rate".into(), "segment".into(), "smb".into())));
}

#[test]
fn product_usage_matches_the_hand_worked_fixture() {
    let s = Scenario::fixture("cx");
    let m = s.run("2024-03", &[]);
    m.assert("adoption_rate", Some(75.0));
    m.assert_in("adoption_rate", "feature", "dashboard_view", Some(50.0));
    m.assert_in("adoption_rate", "feature", "alert_set", Some(25.0));
    m.assert("active_users", Some(5.0));
    m.assert("avg_time_on_platform_minutes", Some(6.2));
    m.assert("engagement_score", Some(28.75));
    m.assert("time_to_value_days", Some(5.0));
    m.assert("activation_rate", Some(100.0));
}

#[test]
fn more_than_64_features_are_counted_exactly() {
    // X uses 70 features (f00..f69) on 3 days with two users; Y uses f69
    // once. Each event lasts 60 s. With target_features 100:
    // engagement X = 100 × (0.6 × 3/20 + 0.4 × 70/100) = 37,
    //            Y = 100 × (0.6 × 1/20 + 0.4 × 1/100) = 3.4; mean 20.2.
    let mut events = String::from("customer_id,user_id,occurred_at,feature,duration_seconds\n");
    for i in 0..70 {
        let (user, day) = if i < 35 { ("U1", 1) } else { ("U2", 2 + i % 2) };
        events.push_str(&format!("X,{user},2024-03-0{day} 10:00:00,f{i:02},60\n"));
    }
    events.push_str("Y,U1,2024-03-05 10:00:00,f69,60\n");
    let s = Scenario::inline(&[
        ("customers.csv", "customer_id,name,signup_date,segment,region,acquisition_channel\nX,Ex,2024-01-01,smb,emea,content\nY,Why,2024-01-01,smb,emea,content\n"),
        (
            "subscriptions.csv",
            "subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency\nx,X,base,2024-01-01,,month,100,\ny,Y,base,2024-01-01,,month,100,\n",
        ),
        ("usage_events.csv", &events),
    ]);
    let config = s.write("cfg.yaml", "parameters:\n  engagement: {target_features: 100}\nfreshness: {usage_events: 'off'}\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    m.assert("engagement_score", Some(20.2));
    m.assert("active_users", Some(3.0));
    m.assert("avg_time_on_platform_minutes", Some(71.0 / 3.0));
    m.assert_in("adoption_rate", "feature", "f00", Some(50.0));
    m.assert_in("adoption_rate", "feature", "f64", Some(50.0));
    m.assert_in("adoption_rate", "feature", "f69", Some(100.0));
}

#[test]
fn customer_health_matches_the_hand_worked_fixture() {
    let s = Scenario::fixture("cx");
    let m = s.run("2024-03", &[]);
    m.assert("health_score", Some(51.0));
    m.assert("at_risk_customers", Some(1.0));
    m.assert("at_risk_mrr", Some(50.0));
    let customers = fs::read_to_string(s.out().join("2024-03/customers.csv")).unwrap();
    let row = |id: &str| customers.lines().find(|l| l.starts_with(&format!("{id},"))).unwrap().to_string();
    assert!(row("A").contains(",100,67.9,neutral,41,90,60,100,"), "{}", row("A"));
    assert!(row("B").contains(",50,24,at_risk,0,60,60,0,"), "{}", row("B"));
    assert!(row("C").contains(",200,62.5,neutral,25,100,100,,"), "{}", row("C"));
    assert!(row("D").contains(",30,49.6,neutral,49,80,0,50,"), "{}", row("D"));
    assert!(!customers.contains("\nE,"), "E is not active");
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("At-risk customers to call first") && report.contains("| Beta | smb | 50.00 USD | 24.0 |"), "{report}");
}

#[test]
fn missing_health_inputs_renormalise_the_weights() {
    let s = Scenario::fixture("cx");
    s.remove("tickets.csv");
    let m = s.run("2024-03", &[]);
    let expected = [58.9 / 0.85, 15.0 / 0.85, 35.0 / 0.65, 49.6 / 0.85];
    m.assert("health_score", Some(expected.iter().sum::<f64>() / 4.0));
    m.assert("at_risk_customers", Some(1.0));
    assert!(!m.has("ticket_volume") && !m.has("fcr"));
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("Ticket volume: not available (needs `tickets`)"), "{report}");
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
fn ces_direction_and_csat_threshold_follow_the_config() {
    let s = Scenario::fixture("cx");
    let config = s.write("cfg.yaml", "parameters:\n  csat_satisfied_min: 5\n  ces_higher_is_better: true\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    m.assert("csat", Some(100.0 / 3.0));
    let series = fs::read_to_string(s.out().join("2024-03/series.csv")).unwrap();
    let ces = series.lines().find(|l| l.contains(",ces,v1,all,all,")).unwrap();
    assert!(ces.ends_with(",up"), "{ces}");
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
        ("too many fields", format!("{delta},extra").into_bytes(), "too many columns", "(whole line)"),
        ("too few fields", b"D,Delta,2024-02-05".to_vec(), "missing columns", "acquisition_channel, region, segment"),
        ("an unclosed quote", b"D,\"Delta,2024-02-05,smb,,paid_search".to_vec(), "unquoted value", "name"),
        ("invalid UTF-8", b"D,Del\xffta,2024-02-05,smb,,paid_search".to_vec(), "invalid encoding", "name"),
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
fn hostile_names_are_escaped_and_future_rows_are_a_warning() {
    let s = Scenario::fixture("cx");
    let customers = fs::read_to_string(s.data().join("customers.csv")).unwrap();
    let hostile = "\"<script>alert('x')</script> | **Beta**\"";
    fs::write(s.data().join("customers.csv"), customers.replace("B,Beta,", &format!("B,{hostile},")) + "Z,Nobody,2024-01-01,smb,emea,\n").unwrap();
    let tickets = fs::read_to_string(s.data().join("tickets.csv")).unwrap();
    fs::write(s.data().join("tickets.csv"), tickets + "t99,A,2024-05-01 10:00:00,,1\n").unwrap();
    s.run("2024-03", &[]);
    let html = fs::read_to_string(s.out().join("2024-03/report.html")).unwrap();
    assert!(!html.contains("<script>"), "HTML must escape data");
    assert!(html.contains("&lt;script&gt;"), "the at-risk table shows the escaped name");
    let md = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(md.contains("&lt;script&gt;alert\\('x'\\)&lt;/script&gt; \\| \\*\\*Beta\\*\\*"), "{md}");
    assert!(md.contains("tickets: 1 row(s) with created_at after 2024-03"), "{md}");
    assert!(md.contains("customers: 1 customer(s) have no subscription at all"), "{md}");
    let csv = fs::read_to_string(s.out().join("2024-03/customers.csv")).unwrap();
    assert!(csv.contains("\nB,<script>alert('x')</script> | **Beta**,smb,"), "CSV keeps the name as it is: {csv}");
    // A period can only be a month: nothing reaches outside the output root.
    let (data, out) = (s.data(), s.out());
    let bad = s.cs_report(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "../../etc"]);
    assert_eq!(bad.status.code(), Some(2));
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
    let out = s.out();
    let result = s.cs_report(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(result.status.code(), Some(2));
    let err = String::from_utf8_lossy(&result.stderr);
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
    let m = s.run("2024-03", &[]);
    m.assert("adoption_rate", Some(75.0));
    m.assert_in("adoption_rate", "feature", "dashboard_view", Some(50.0));
    m.assert("active_users", Some(5.0));
    m.assert("avg_time_on_platform_minutes", Some(6.2));
    m.assert("engagement_score", Some(28.75));
    m.assert("time_to_value_days", Some(5.0));
    m.assert("ticket_volume", Some(9.0));
    m.assert("fcr", Some(700.0 / 9.0));
    m.assert("median_resolution_hours", Some(1.0));

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
    let out = s.out();
    let result = s.cs_report(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(result.status.code(), Some(2));
    let err = String::from_utf8_lossy(&result.stderr);
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
    let out = s.out();
    let result = s.cs_report(&["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", "2024-03"]);
    assert_eq!(result.status.code(), Some(2));
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(err.contains("column `amount`") && err.contains("line 8: subscription_id \"s7\": \"2oo\""), "{err}");
}

/// The cohort triangles of the revenue fixture in March 2024 (README.md,
/// "Cohorts"): (cohort, age, dimension, segment) -> the other columns.
#[test]
fn cohort_tables_match_the_hand_worked_fixture() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let text = fs::read_to_string(s.out().join("2024-03/cohorts.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "cohort,age,customers,active,logo_retention,mrr,revenue_retention,dimension,segment");
    let rows: std::collections::BTreeMap<(String, String, String, String), String> = lines
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            ((c[0].into(), c[1].into(), c[7].into(), c[8].into()), c[2..7].join(","))
        })
        .collect();
    let row = |cohort: &str, age: u32, dim: &str, seg: &str| {
        rows.get(&(cohort.to_string(), age.to_string(), dim.to_string(), seg.to_string()))
            .unwrap_or_else(|| panic!("no row {cohort} {age} {dim} {seg}"))
            .as_str()
    };
    // customers,active,logo_retention,mrr,revenue_retention
    // H: first active 2023-10 at 70, gone Dec–Feb, back in March at 90.
    assert_eq!(row("2023-10", 0, "all", "all"), "1,1,100,70,100");
    assert_eq!(row("2023-10", 1, "all", "all"), "1,1,100,70,100");
    assert_eq!(row("2023-10", 2, "all", "all"), "1,0,0,0,0");
    assert_eq!(row("2023-10", 5, "all", "all"), "1,1,100,90,128.5714285714");
    // C: 1000 EUR a month, at each month's rate (1.10, 1.10, 1.20, 1.25).
    assert_eq!(row("2023-12", 0, "all", "all"), "1,1,100,1100,100");
    assert_eq!(row("2023-12", 2, "all", "all"), "1,1,100,1200,109.0909090909");
    assert_eq!(row("2023-12", 3, "all", "all"), "1,1,100,1250,113.6363636364");
    // A and B start in January (160); B leaves at the end of February.
    assert_eq!(row("2024-01", 0, "all", "all"), "2,2,100,160,100");
    assert_eq!(row("2024-01", 1, "all", "all"), "2,2,100,160,100");
    assert_eq!(row("2024-01", 2, "all", "all"), "2,1,50,150,93.75");
    // D: 100 in February, 40 in March (downgrade).
    assert_eq!(row("2024-02", 1, "all", "all"), "1,1,100,40,40");
    assert_eq!(row("2024-03", 0, "all", "all"), "1,1,100,200,100");
    // A month in which nobody started: no customers, so no rates.
    assert_eq!(row("2023-11", 0, "all", "all"), "0,0,,0,");
    // Every cohort of the window (2023-03 to 2024-03) up to the period, no further.
    assert!(rows.contains_key(&("2023-03".into(), "12".into(), "all".into(), "all".into())));
    assert!(!rows.keys().any(|(c, a, _, _)| c == "2024-03" && a != "0"));
    assert!(!rows.keys().any(|(c, _, _, _)| c.as_str() < "2023-03"));
    // Per slice: C is enterprise, A and B smb.
    assert_eq!(row("2023-12", 3, "segment", "enterprise"), "1,1,100,1250,113.6363636364");
    assert_eq!(row("2024-01", 2, "segment", "smb"), "2,1,50,150,93.75");
    assert_eq!(row("2023-12", 0, "segment", "smb"), "0,0,,0,");
    assert_eq!(row("2024-01", 2, "region", "north_america"), "1,0,0,0,0");
    // The report shows both triangles.
    let html = fs::read_to_string(s.out().join("2024-03/report.html")).unwrap();
    assert!(html.contains("id=\"cohort_logo\"") && html.contains("id=\"cohort_revenue\""));
    let md = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(md.contains("| Jan 2024 | 2 | 100 | 100 | 50 |"), "{md}");
}

/// The finance section of March 2024 (README.md, "Finance"): the ARR
/// bridge, acquisition by channel and revenue by invoice kind.
#[test]
fn the_finance_section_matches_the_hand_worked_fixture() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let md = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    let finance = md.split("## Finance").nth(1).unwrap().split("## Trend").next().unwrap();
    // ARR = 12 × the MRR bridge: 1460 → 1730 with FX +50 (C's euros).
    for line in [
        "| Starting ARR | 17,520.00 USD |",
        "| + New | 2,400.00 USD |",
        "| + Reactivation | 1,080.00 USD |",
        "| + Expansion | 600.00 USD |",
        "| − Contraction | 720.00 USD |",
        "| − Churn | 720.00 USD |",
        "| ± Exchange rates (FX) | +600.00 USD |",
        "| **Ending ARR** | **20,760.00 USD** |",
    ] {
        assert!(finance.contains(line), "{line} in\n{finance}");
    }
    // Every channel with spend, and every channel that won a customer: E
    // came through partner (100 spent, 200 of new MRR); the others spent
    // and won nobody. 200 EUR of events at 1.25.
    for line in [
        "| paid\\_search | 300.00 USD | 0 | 0.00 USD | n/a | n/a | n/a |",
        "| events | 250.00 USD | 0 | 0.00 USD | n/a | n/a | n/a |",
        "| content | 50.00 USD | 0 | 0.00 USD | n/a | n/a | n/a |",
        // CAC 100; payback 100 / (200 × 1.0) = 0.5; LTV:CAC (14465 / 18) / 100.
        &format!("| partner | 100.00 USD | 1 | 200.00 USD | 100.00 USD | 0.5 months | {:.2} |", 14465.0 / 18.0 / 100.0),
    ] {
        assert!(finance.contains(line), "{line} in\n{finance}");
    }
    // Paid revenue by kind: subscriptions 100 + 40 + 200 + 90; upsell 50;
    // cross-sell 20 EUR × 1.25 (the refunded one does not count).
    assert!(finance.contains("| subscription | 430.00 USD | 460.00 USD | n/a |"), "{finance}");
    assert!(finance.contains("| upsell | 50.00 USD |"), "{finance}");
    assert!(finance.contains("| cross\\_sell | 25.00 USD |"), "{finance}");
    assert!(!finance.contains("| one\\_time |"), "a void invoice is no revenue");
    // Against last month: revenue 505 against February's paid invoices.
    assert!(finance.contains("| Revenue (paid invoices) | 505.00 USD |"), "{finance}");
}
