//! What the run writes: every output file, reruns byte for byte, the
//! sample end to end, the catalog listing, templates and escaping.

use std::fs;

use crate::support::*;

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
    assert!(md.contains("&lt;script&gt;alert('x')&lt;/script&gt; \\| \\*\\*Beta\\*\\*"), "{md}");
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
fn a_run_ends_with_one_line_of_its_warnings_for_cron() {
    // The sample has surveys with few answers: data warnings.
    let s = sample_scenario();
    let done = s.run_output("2025-06", &[]);
    assert!(done.status.success());
    let err = String::from_utf8_lossy(&done.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("published with")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("data warning(s) (first: ") && lines[0].contains("and 0 restated figure(s)"), "{}", lines[0]);
}

#[test]
fn a_flag_resting_on_few_answers_or_customers_says_so() {
    // The sample's CSAT rests on fewer than 30 answers and is flagged.
    let s = sample_scenario();
    s.run("2025-06", &[]);
    let summary = fs::read_to_string(s.out().join("2025-06/summary.md")).unwrap();
    let csat = summary.lines().find(|l| l.contains("Customer satisfaction (CSAT)")).expect("CSAT flagged");
    assert!(csat.contains("few answers or customers: read with care"), "{csat}");
    // A figure on enough customers is not marked.
    assert!(summary.lines().filter(|l| l.contains("MRR") && l.contains("read with care")).count() == 0, "{summary}");
}

#[test]
fn a_year_before_the_data_is_left_out_with_the_reason() {
    // The revenue fixture starts in 2024: March 2024 has no year before.
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let summary = fs::read_to_string(s.out().join("2024-03/summary.md")).unwrap();
    assert!(summary.contains("comparisons with a year before are left out"), "{summary}");
    assert!(summary.contains("n/a on a year ago"), "{summary}");
    let report = fs::read_to_string(s.out().join("2024-03/report.html")).unwrap();
    assert!(report.contains("comparisons with a year before are left out"));
}

#[test]
fn the_summary_ranks_at_most_five_attention_items_each_with_its_driver() {
    let s = sample_scenario();
    s.run("2025-06", &[]);
    let summary = fs::read_to_string(s.out().join("2025-06/summary.md")).unwrap();
    let section: Vec<&str> = summary
        .split("**Needs attention**")
        .nth(1)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("- ") && !l.contains("flag(s) in segments") && !l.contains("more in the full report"))
        .collect();
    assert!(!section.is_empty() && section.len() <= 5, "{summary}");
    // Each says its change; a flagged total that moved names the slice that moved it most.
    for item in &section {
        assert!(item.contains(" (") && item.contains("):"), "{item}");
    }
    // ... with that slice's own change: "led by owner dev.patel (+4.2 pp)".
    let led: Vec<&&str> = section.iter().filter(|l| l.contains("led by ")).collect();
    assert!(!led.is_empty() && led.iter().all(|l| l.split("led by ").nth(1).is_some_and(|rest| rest.contains(" (+") || rest.contains(" (−"))), "{summary}");
    // It opens with one sentence of what happened to MRR.
    let first = summary.lines().filter(|l| !l.trim().is_empty()).nth(1).unwrap();
    assert!(first.starts_with("MRR grew from ") || first.starts_with("MRR fell from ") || first.starts_with("MRR held from "), "{first}");
    assert!(first.contains("lost to churn and contraction."), "{first}");
}
