//! The `stripe` recipe on a realistic billing history
//! (`tests/fixtures/stripe_history/`, written by its `make.py`): thirteen
//! customers, one per case the recipe's README names. Every month of 2025
//! must give the numbers of the contract-shaped truth written by hand in
//! `truth/subscriptions.csv`, and the movements worked out by hand below.

use std::collections::BTreeMap;
use std::fs;

use crate::support::*;

const PERIOD: &str = "2025-12";

/// The metrics computed from subscriptions alone: what the truth has too.
const FROM_SUBSCRIPTIONS: &[&str] = &[
    "mrr",
    "arr",
    "active_customers",
    "new_customers",
    "reactivated_customers",
    "churned_customers",
    "mrr_new",
    "mrr_reactivation",
    "mrr_expansion",
    "mrr_contraction",
    "mrr_churn",
    "mrr_fx",
    "net_new_mrr",
    "customer_retention_rate",
    "churn_rate",
    "revenue_churn_rate",
    "nrr",
    "grr",
    "nrr_12m",
    "grr_12m",
    "quick_ratio",
    "arpa",
];

/// series.csv as (metric, dimension, segment, period) -> value.
fn series(s: &Scenario) -> BTreeMap<(String, String, String, String), String> {
    let text = fs::read_to_string(s.out().join(PERIOD).join("series.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (period, metric, dimension, segment, value) = (at("period"), at("metric"), at("dimension"), at("segment"), at("value"));
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let key = (cells[metric].to_string(), cells[dimension].to_string(), cells[segment].to_string(), cells[period].to_string());
            (key, cells[value].to_string())
        })
        .collect()
}

/// The truth: the customers, the yen rates and the hand-written subscriptions.
fn truth() -> Scenario {
    let s = Scenario::fixture("stripe_history/truth");
    for file in ["customers.csv", "fx_rates.csv"] {
        fs::copy(fixtures().join("stripe_history").join(file), s.data().join(file)).unwrap();
    }
    s.run(PERIOD, &[]);
    s
}

/// The same customers and rates with Stripe's three exports, staged by the
/// shipped recipe, unedited.
fn staged() -> Scenario {
    let s = Scenario::inline(&[]);
    let source = fixtures().join("stripe_history");
    for file in ["customers.csv", "fx_rates.csv"] {
        fs::copy(source.join(file), s.data().join(file)).unwrap();
    }
    fs::create_dir_all(s.data().join("exports")).unwrap();
    for file in ["invoice_line_items.csv", "invoices.csv", "subscriptions.csv"] {
        fs::copy(source.join(file), s.data().join("exports").join(file)).unwrap();
    }
    let recipe = fixtures().parent().unwrap().parent().unwrap().join("examples/staging/stripe");
    fs::create_dir_all(s.dir.path().join("config/staging")).unwrap();
    for file in ["subscriptions.sql", "invoices.sql", "trials.sql"] {
        fs::copy(recipe.join(file), s.dir.path().join("config/staging").join(file)).unwrap();
    }
    // The last invoice is of 12-20: a small book's December.
    s.write(
        "config/cs-report.yaml",
        "raw:\n  stripe_invoice_line_items: exports/invoice_line_items.csv\n  stripe_invoices: exports/invoices.csv\n  \
         stripe_subscriptions: exports/subscriptions.csv\nstaging: staging\nfreshness:\n  invoices: off\n",
    );
    let (data, out) = (s.data(), s.out());
    let done = s.cs_report(&["run", "--config", "config/cs-report.yaml", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", PERIOD]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    s
}

#[test]
fn stripe_history_gives_the_truths_numbers_every_month() {
    let (truth, staged) = (truth(), staged());
    let (want, got) = (series(&truth), series(&staged));
    let mut compared = 0;
    for (key, value) in want.iter().filter(|(k, _)| FROM_SUBSCRIPTIONS.contains(&k.0.as_str())) {
        assert_eq!(got.get(key), Some(value), "{key:?}");
        compared += 1;
    }
    // 13 months, every metric, all customers and each segment, region, owner.
    assert!(compared > 13 * FROM_SUBSCRIPTIONS.len() * 5, "{compared}");
    for file in ["cohorts.csv", "metrics.csv"] {
        let want = fs::read_to_string(truth.out().join(PERIOD).join(file)).unwrap();
        let got = fs::read_to_string(staged.out().join(PERIOD).join(file)).unwrap();
        if file == "cohorts.csv" {
            assert_eq!(got, want);
        } else {
            let (want, got) = (Metrics::read_text(&want), Metrics::read_text(&got));
            for metric in FROM_SUBSCRIPTIONS {
                assert_eq!(got.get(metric, "all", "all"), want.get(metric, "all", "all"), "{metric}");
            }
        }
    }
}

/// Month by month, worked out from the story in `make.py` (USD; 10,000
/// JPY at 0.0065 is 65):
/// Jan: C01 100, C03 100, C09 60, C10 90, C12 300/3 (C05's months are free)
/// Feb: + C02 500, C08 1,200/12; Mar: C01 upgraded 03-25 to 300 (+200),
/// C04 200 (coupon), C05 150, C11 65 new; Apr: C03 8 seats from 04-20
/// (+60); May: C06 80 after its trial, C10 gone (-90); Jun: C02 down to
/// 200 at renewal (-300), C04's coupon over (+50); Aug: C10 back (+90);
/// Nov: C13 40; Dec: C13 3 seats from 12-18 (+80).
#[test]
fn stripe_history_movements_are_the_hand_worked_ones() {
    let got = series(&staged());
    let month = |metric: &str, m: &str| -> f64 {
        got.get(&(metric.to_string(), "all".into(), "all".into(), format!("2025-{m}"))).map_or(f64::NAN, |v| v.parse().unwrap())
    };
    let mrr = [450.0, 1050.0, 1665.0, 1725.0, 1715.0, 1465.0, 1465.0, 1555.0, 1555.0, 1555.0, 1595.0, 1675.0];
    for (i, want) in mrr.iter().enumerate() {
        assert_eq!(month("mrr", &format!("{:02}", i + 1)), *want, "mrr 2025-{:02}", i + 1);
    }
    for (metric, m, want) in [
        ("mrr_new", "01", 450.0),
        ("mrr_new", "02", 600.0),
        ("mrr_new", "03", 415.0),
        ("mrr_expansion", "03", 200.0),
        ("mrr_expansion", "04", 60.0),
        ("mrr_new", "05", 80.0),
        ("mrr_churn", "05", 90.0),
        ("churned_customers", "05", 1.0),
        ("mrr_contraction", "06", 300.0),
        ("mrr_expansion", "06", 50.0),
        ("mrr_reactivation", "08", 90.0),
        ("reactivated_customers", "08", 1.0),
        ("mrr_new", "11", 40.0),
        ("mrr_expansion", "12", 80.0),
        ("mrr_churn", "12", 0.0),
        ("active_customers", "12", 12.0),
    ] {
        assert_eq!(month(metric, m), want, "{metric} 2025-{m}");
    }
    // Revenue is what was paid in the month, net of discounts and credits:
    // July is C01 300 (the voided invoice is not), C02 200 - 50 credit,
    // C03 160, C04 250, C05 150, C06 80, C09 60, C11 65, C12 300.
    assert_eq!(month("revenue", "07"), 1515.0);
    // October: C12's uncollectible quarter is service (MRR) but no revenue.
    assert_eq!(month("revenue", "10"), 1355.0);
    assert_eq!(month("mrr", "10"), 1555.0);
    // Trials: C06's ended in May and converted, C07's in June and did not.
    assert_eq!(month("trial_conversion_rate", "05"), 100.0);
    assert_eq!(month("trial_conversion_rate", "06"), 0.0);
}

#[test]
fn a_cancellation_at_period_end_is_flagged_as_scheduled() {
    let s = staged();
    let day = s.out().join(PERIOD);
    let customers = fs::read_to_string(day.join("customers.csv")).unwrap();
    let c09 = customers.lines().find(|l| l.starts_with("cus_C09,")).unwrap();
    assert!(c09.ends_with(",2026-01-05"), "{c09}");
    // Nobody else is scheduled to cancel (the column is the last).
    assert_eq!(customers.lines().skip(1).filter(|l| !l.ends_with(',')).count(), 1, "{customers}");
    let report = fs::read_to_string(day.join("report.md")).unwrap();
    assert!(report.contains("| Cancels At Period End BV |") && report.contains("scheduled to cancel (2026-01-05)"), "{report}");
    let book = fs::read_to_string(day.join("owners/ana/report.md")).unwrap();
    let row = book.lines().find(|l| l.starts_with("| Cancels At Period End BV | scheduled to cancel")).expect("first reason in the book");
    assert!(row.contains("2026-01-05"), "{row}");
}
