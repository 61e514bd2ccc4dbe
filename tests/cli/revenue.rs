//! The revenue metrics on hand-worked fixtures: MRR and its movements,
//! retention, money, cohorts, finance, segments, the month-end rules of
//! subscriptions and exchange rates (the contract's *Months and MRR*).

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

const CUSTOMERS: &str = "customer_id,name,signup_date,segment,region,acquisition_channel\n\
    a,A,2024-01-01,smb,emea,referral\n\
    b,B,2024-01-01,smb,emea,paid_search\n";

fn subscriptions(rows: &str) -> String {
    format!("subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency\n{rows}")
}

/// Runs `rows` of subscriptions for the two customers above and checks
/// [MRR, active customers, new, churned] of each month listed.
fn assert_months(rows: &str, expected: &[(&str, [f64; 4])]) {
    let s = Scenario::inline(&[("customers.csv", CUSTOMERS), ("subscriptions.csv", &subscriptions(rows))]);
    for (month, want) in expected {
        let m = s.run(month, &[]);
        let got = ["mrr", "active_customers", "new_customers", "churned_customers"].map(|metric| m.get(metric, "all", "all"));
        assert_eq!(got, want.map(Some), "{month}: [MRR, active, new, churned]");
    }
}

#[test]
fn an_end_date_on_the_first_is_exclusive() {
    // Service ends at the start of 2024-03-01: active at the end of February, churned in March.
    assert_months("s1,a,p,2024-01-15,2024-03-01,month,100,\n", &[("2024-02", [100.0, 1.0, 0.0, 0.0]), ("2024-03", [0.0, 0.0, 0.0, 1.0])]);
}

#[test]
fn an_end_date_on_the_last_day_ends_that_month() {
    // end_date 2024-02-29 > m_end is false for February (29 > 29 fails): churned in February.
    assert_months("s1,a,p,2024-01-15,2024-02-29,month,100,\n", &[("2024-01", [100.0, 1.0, 1.0, 0.0]), ("2024-02", [0.0, 0.0, 0.0, 1.0])]);
}

#[test]
fn a_subscription_inside_one_month_never_counts() {
    assert_months("s1,a,p,2024-02-03,2024-02-20,month,100,\n", &[("2024-02", [0.0, 0.0, 0.0, 0.0]), ("2024-03", [0.0, 0.0, 0.0, 0.0])]);
}

#[test]
fn overlapping_subscriptions_add_up_and_billing_periods_divide() {
    // Annual 1200 (= 100) + quarterly 90 (= 30) + monthly 5, all active at the end of March.
    let rows = "s1,a,p,2024-01-10,,year,1200,\ns2,a,p,2024-03-31,,quarter,90,\ns3,a,p,2024-02-01,,month,5,\n";
    assert_months(rows, &[("2024-02", [105.0, 1.0, 0.0, 0.0]), ("2024-03", [135.0, 1.0, 0.0, 0.0])]);
}

#[test]
fn free_plans_do_not_make_a_customer() {
    assert_months("s1,a,free,2024-01-01,,month,0,\ns2,b,p,2024-01-01,,month,10,\n", &[("2024-01", [10.0, 1.0, 1.0, 0.0])]);
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
    assert_months("s1,a,p,2024-05-01,,month,10,\n", &[("2024-03", [0.0, 0.0, 0.0, 0.0])]);
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
        "| Paid search | 300.00 USD | 0 | 0.00 USD | n/a | n/a | n/a |",
        "| Events | 250.00 USD | 0 | 0.00 USD | n/a | n/a | n/a |",
        "| Content | 50.00 USD | 0 | 0.00 USD | n/a | n/a | n/a |",
        // CAC 100; payback 100 / (200 × 1.0) = 0.5; LTV:CAC (14465 / 18) / 100.
        &format!("| Partner | 100.00 USD | 1 | 200.00 USD | 100.00 USD | 0.5 months | {:.2} |", 14465.0 / 18.0 / 100.0),
    ] {
        assert!(finance.contains(line), "{line} in\n{finance}");
    }
    // Paid revenue by kind: subscriptions 100 + 40 + 200 + 90; upsell 50;
    // cross-sell 20 EUR × 1.25 (the refunded one does not count).
    assert!(finance.contains("| Subscription | 430.00 USD | 460.00 USD | n/a |"), "{finance}");
    assert!(finance.contains("| Upsell | 50.00 USD |"), "{finance}");
    assert!(finance.contains("| Cross-sell | 25.00 USD |"), "{finance}");
    assert!(!finance.contains("| One-time |"), "a void invoice is no revenue");
    // Against last month: revenue 505 against February's paid invoices.
    assert!(finance.contains("| Revenue (paid invoices) | 505.00 USD |"), "{finance}");
}
