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
    fs::create_dir_all(s.data()).unwrap();
    for file in ["customers.csv", "fx_rates.csv"] {
        fs::copy(source.join(file), s.data().join(file)).unwrap();
    }
    fs::create_dir_all(s.data().join("exports")).unwrap();
    for file in ["invoice_line_items.csv", "invoices.csv", "subscriptions.csv"] {
        fs::copy(source.join(file), s.data().join("exports").join(file)).unwrap();
    }
    run_staged(&s, "");
    s
}

/// Copies the shipped recipe, unedited, names the exports (in
/// `data/exports/`) and runs the period; `extra` is more config.
fn run_staged(s: &Scenario, extra: &str) {
    let recipe = fixtures().parent().unwrap().parent().unwrap().join("examples/staging/stripe");
    for file in ["subscriptions.sql", "invoices.sql", "trials.sql"] {
        s.write(&format!("config/staging/{file}"), &fs::read_to_string(recipe.join(file)).unwrap());
    }
    // The last invoice may be days before the month's end: a small book.
    s.write(
        "config/cs-report.yaml",
        &format!(
            "{extra}raw:\n  stripe_invoice_line_items: exports/invoice_line_items.csv\n  stripe_invoices: exports/invoices.csv\n  \
             stripe_subscriptions: exports/subscriptions.csv\nstaging: staging\nfreshness:\n  invoices: off\n"
        ),
    );
    run_config(s);
}

fn run_config(s: &Scenario) {
    let done = s.run_output(PERIOD, &["--config", "config/cs-report.yaml"]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
}

/// Every value of the metrics made from subscriptions alone is the truth's,
/// in every month, for all customers and every segment, region and owner.
fn assert_same_series(truth: &Scenario, staged: &Scenario, months: usize) -> BTreeMap<(String, String, String, String), String> {
    let (want, got) = (series(truth), series(staged));
    let mut compared = 0;
    for (key, value) in want.iter().filter(|(k, _)| FROM_SUBSCRIPTIONS.contains(&k.0.as_str())) {
        assert_eq!(got.get(key), Some(value), "{key:?}");
        compared += 1;
    }
    assert!(compared > months * FROM_SUBSCRIPTIONS.len() * 5, "{compared}");
    want
}

#[test]
fn stripe_history_gives_the_truths_numbers_every_month() {
    let (truth, staged) = (truth(), staged());
    assert_same_series(&truth, &staged, 13);
    // The cohorts, and every customer with its health, band and scheduled
    // cancellation (the at-risk list and the books are made of these rows).
    for file in ["cohorts.csv", "customers.csv", "metrics.csv"] {
        let want = fs::read_to_string(truth.out().join(PERIOD).join(file)).unwrap();
        let got = fs::read_to_string(staged.out().join(PERIOD).join(file)).unwrap();
        if file != "metrics.csv" {
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

/// A seeded simulation of a Stripe account: `customers` customers over 24
/// months in USD, EUR and JPY, monthly, quarterly and annual plans, trials
/// (some never converted), a 20 % three-period coupon, two free periods,
/// seat and price changes at renewal and inside a period (invoiced at
/// once), cancellations at period end and reactivations. It writes the
/// truth (contract-shaped runs) and Stripe's three exports from the same
/// story.
mod simulated {
    use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
    use std::fmt::Write;

    pub struct Files {
        pub customers: String,
        pub fx_rates: String,
        pub truth: String,
        pub lines: String,
        pub invoices: String,
        pub subscriptions: String,
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    fn add_months(t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let months = t.month0() + n;
        let (y, m) = (t.year() + (months / 12) as i32, months % 12 + 1);
        Utc.with_ymd_and_hms(y, m, t.day().min(28), t.hour(), t.minute(), 0).unwrap()
    }

    /// The state an item bills in: seats and the price per seat (minor units).
    #[derive(Clone, Copy, PartialEq)]
    struct State {
        seats: i64,
        unit: i64,
    }

    struct Account<'a> {
        files: &'a mut Files,
        invoice: u32,
        line: u32,
        cutoff: DateTime<Utc>,
    }

    impl Account<'_> {
        fn invoice(&mut self, customer: &str, at: DateTime<Utc>, currency: &str, reason: &str) -> Option<String> {
            if at >= self.cutoff {
                return None;
            }
            self.invoice += 1;
            let id = format!("in_{:05}", self.invoice);
            // Totals are not read when lines exist: 0 keeps the file simple.
            writeln!(self.files.invoices, "{id},{customer},paid,{},0,0,{currency},{reason},", at.format("%Y-%m-%dT%H:%M:%SZ")).unwrap();
            Some(id)
        }

        #[allow(clippy::too_many_arguments)]
        fn line(&mut self, invoice: &str, sub: &str, item: &str, from: DateTime<Utc>, to: DateTime<Utc>, amount: i64, discount: i64,
                proration: bool, state: State, interval: (&str, u32), currency: &str) {
            self.line += 1;
            writeln!(
                self.files.lines,
                "il_{:06},{invoice},{sub},{item},{amount},{discount},{currency},{},{},{proration},{},price_{},,{},{},{}",
                self.line, from.timestamp(), to.timestamp(), state.seats, state.unit, state.unit, interval.0, interval.1
            )
            .unwrap();
        }
    }

    pub fn generate(customers: usize, seed: u64) -> Files {
        let mut files = Files {
            customers: "customer_id,name,signup_date,segment,region,acquisition_channel,owner\n".into(),
            fx_rates: "currency,month,rate\n".into(),
            truth: "subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency\n".into(),
            lines: "id,invoice_id,subscription,subscription_item_id,amount,discount_amount,currency,period_start,period_end,proration,\
                    quantity,price_id,price_nickname,price_unit_amount,price_recurring_interval,price_recurring_interval_count\n"
                .into(),
            invoices: "id,customer,status,created,total,amount_refunded,currency,billing_reason,kind (metadata)\n".into(),
            subscriptions: "id,customer,status,trial_start,trial_end,current_period_end,cancel_at_period_end,cancel_at\n".into(),
        };
        for m in 0..24 {
            let (y, mo) = (2024 + m / 12, m % 12 + 1);
            writeln!(files.fx_rates, "EUR,{y}-{mo:02}-01,{}", 1.05 + 0.01 * f64::from(m % 5)).unwrap();
            writeln!(files.fx_rates, "JPY,{y}-{mo:02}-01,{}", 0.0065 + 0.0001 * f64::from(m % 3)).unwrap();
        }
        let mut rng = Rng(seed);
        let cutoff = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut account = Account { files: &mut files, invoice: 0, line: 0, cutoff };
        let mut truth = String::new();
        let mut subs = String::new();
        let mut people = String::new();
        for c in 0..customers {
            let customer = format!("cus_{c:04}");
            let currency = ["usd", "usd", "eur", "jpy"][rng.below(4) as usize];
            let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
                + Duration::days(rng.below(600) as i64)
                + Duration::hours(rng.below(24) as i64);
            writeln!(
                people,
                "{customer},Customer {c},{},{},{},paid_search,{}",
                start.format("%Y-%m-%d"),
                ["smb", "mid_market", "enterprise"][rng.below(3) as usize],
                ["emea", "north_america", "apac"][rng.below(3) as usize],
                ["ana", "ben", ""][rng.below(3) as usize]
            )
            .unwrap();
            let mut sub_start = start;
            for round in 0..2 {
                let sub = format!("sub_{c:04}_{round}");
                let ended = simulate(&mut account, &mut rng, &customer, &sub, currency, sub_start, &mut truth, &mut subs);
                // Back after a pause, on a new subscription.
                match ended {
                    Some(end) if rng.chance(35) => sub_start = add_months(end, 1 + rng.below(4) as u32) + Duration::hours(3),
                    _ => break,
                }
                if sub_start >= cutoff {
                    break;
                }
            }
        }
        files.customers.push_str(&people);
        files.truth.push_str(&truth);
        files.subscriptions.push_str(&subs);
        files
    }

    /// One subscription's life; returns when it ended, if it did.
    #[allow(clippy::too_many_arguments)]
    fn simulate(account: &mut Account, rng: &mut Rng, customer: &str, sub: &str, currency: &str, start: DateTime<Utc>,
                truth: &mut String, subs: &mut String) -> Option<DateTime<Utc>> {
        let (interval, months, period) = match rng.below(10) {
            0..=6 => (("month", 1), 1, "month"),
            7 => (("month", 3), 3, "quarter"),
            _ => (("year", 1), 12, "year"),
        };
        let minor = if currency == "jpy" { 1 } else { 100 };
        // Prices in whole units (yen: hundreds), so that 20 % is exact.
        let unit = (5 * (2 + rng.below(40)) as i64) * minor * if currency == "jpy" { 100 } else { 1 } * months as i64;
        let mut state = State { seats: 1 + rng.below(8) as i64, unit };
        let item = format!("si_{}", &sub[4..]);
        let cutoff = account.cutoff;
        // A trial first, sometimes never converted.
        let mut t = start;
        let mut trial = String::from(",");
        if rng.chance(20) {
            let end = start + Duration::days(14);
            trial = format!("{},{}", start.timestamp(), end.timestamp());
            if let Some(inv) = account.invoice(customer, start, currency, "subscription_create") {
                account.line(&inv, sub, &item, start, end, 0, 0, false, state, interval, currency);
            }
            t = end;
            if rng.chance(30) || end >= cutoff {
                writeln!(subs, "{sub},{customer},canceled,{trial},{},false,", end.timestamp()).unwrap();
                return None;
            }
        }
        let coupon_periods = if months == 1 && rng.chance(15) { 3 } else { 0 };
        let free_periods = if months == 1 && coupon_periods == 0 && rng.chance(5) { 2 } else { 0 };
        // (run start, net amount per period) of what billed money, for the truth.
        let mut runs: Vec<(DateTime<Utc>, i64)> = Vec::new();
        let push_run = |runs: &mut Vec<(DateTime<Utc>, i64)>, from: DateTime<Utc>, net: i64| {
            if runs.last().map(|r| r.1) != Some(net) {
                runs.push((from, net));
            }
        };
        let net_of = |state: State, k: u32| -> (i64, i64) {
            let gross = state.seats * state.unit;
            let discount = if k < free_periods { gross } else if k < coupon_periods { gross / 5 } else { 0 };
            (gross, discount)
        };
        let mut k = 0u32;
        let mut ended = None;
        loop {
            let end = add_months(t, months);
            if t >= cutoff {
                break;
            }
            // A change at renewal.
            if k > 0 && rng.chance(10) {
                state.seats = (state.seats + [-1, 1, 2][rng.below(3) as usize]).max(1);
            }
            let (gross, discount) = net_of(state, k);
            let reason = if k == 0 { "subscription_create" } else { "subscription_cycle" };
            let Some(inv) = account.invoice(customer, t, currency, reason) else { break };
            account.line(&inv, sub, &item, t, end, gross, discount, false, state, interval, currency);
            push_run(&mut runs, t, gross - discount);
            // A change inside the period, invoiced at once.
            if rng.chance(8) && end - t > Duration::days(3) {
                let d = t + Duration::days(1 + rng.below(((end - t).num_days() - 2) as u64) as i64) + Duration::minutes(17);
                if d < cutoff {
                    let before = state;
                    if rng.chance(50) {
                        state.unit += 5 * minor * months as i64;
                    } else {
                        state.seats += 1 + rng.below(3) as i64;
                    }
                    let inv = account.invoice(customer, d, currency, "subscription_update").unwrap();
                    let share = |s: State| (s.seats * s.unit) * (end - d).num_seconds() / (end - t).num_seconds();
                    account.line(&inv, sub, &item, d, end, -share(before), 0, true, before, interval, currency);
                    account.line(&inv, sub, &item, d, end, share(state), 0, true, state, interval, currency);
                    let (g, dis) = net_of(state, k);
                    push_run(&mut runs, d, g - dis);
                }
            }
            k += 1;
            // Cancelled at the end of this period.
            if rng.chance(4) {
                ended = Some(end);
                break;
            }
            t = end;
        }
        let last_end = add_months(t, months);
        let (status, at_end) = match ended {
            Some(e) if e <= cutoff => ("canceled", false),
            Some(_) => ("active", true),
            None => ("active", false),
        };
        writeln!(subs, "{sub},{customer},{status},{trial},{},{at_end},", last_end.timestamp()).unwrap();
        // The truth: runs of money, each up to the next; the last to the end.
        for (i, (from, net)) in runs.iter().enumerate() {
            let to = runs.get(i + 1).map(|r| r.0).or(ended);
            if *net == 0 {
                continue;
            }
            let amount = if minor == 1 { format!("{net}") } else { format!("{}.{:02}", net / 100, net % 100) };
            writeln!(
                truth,
                "{sub}-{i},{customer},p,{},{},{period},{amount},{}",
                from.format("%Y-%m-%d"),
                to.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                currency.to_uppercase()
            )
            .unwrap();
        }
        ended
    }
}

#[test]
fn a_simulated_stripe_account_gives_the_truths_numbers_every_month() {
    let files = simulated::generate(300, 0x5eed_cafe);
    let truth = Scenario::inline(&[
        ("customers.csv", &files.customers),
        ("fx_rates.csv", &files.fx_rates),
        ("subscriptions.csv", &files.truth),
    ]);
    truth.write("config/cs-report.yaml", "trend_months: 23\n");
    let staged = Scenario::inline(&[
        ("customers.csv", &files.customers),
        ("fx_rates.csv", &files.fx_rates),
        ("exports/invoice_line_items.csv", &files.lines),
        ("exports/invoices.csv", &files.invoices),
        ("exports/subscriptions.csv", &files.subscriptions),
    ]);
    run_config(&truth);
    run_staged(&staged, "trend_months: 23\n");
    let want = assert_same_series(&truth, &staged, 24);
    // The story has every kind of movement, in many months.
    let months_with = |metric: &str| want.iter().filter(|(k, v)| k.0 == metric && k.1 == "all" && v.parse::<f64>().unwrap_or(0.0) > 0.0).count();
    for metric in ["mrr_expansion", "mrr_contraction", "mrr_churn", "mrr_reactivation", "mrr_new"] {
        assert!(months_with(metric) >= 6, "{metric} in {} months", months_with(metric));
    }
    for file in ["cohorts.csv", "customers.csv"] {
        let want = fs::read_to_string(truth.out().join(PERIOD).join(file)).unwrap();
        let got = fs::read_to_string(staged.out().join(PERIOD).join(file)).unwrap();
        assert_eq!(got, want, "{file}");
    }
}
