//! Raw exports reshaped by staging SQL (issue 15): the staged tables give
//! exactly the numbers of the contract-shaped files, bad raw rows are named
//! with their raw file and line, wrong staging files are refused before any
//! data is read, and staging SQL can reach no file.

use std::fs;

use crate::support::*;

/// The revenue fixture's subscriptions as a Stripe export: amounts in
/// cents per unit with a quantity, `interval` + `interval_count`, lower-case
/// currencies, Stripe's statuses.
const STRIPE_SUBSCRIPTIONS: &str = "\
id,customer,plan_nickname,start_date,ended_at,interval,interval_count,unit_amount,quantity,currency,status
s1,A,basic,2024-01-15,,month,1,5000,2,usd,active
s2,A,addon,2024-03-10,,month,1,5000,1,,active
s3,B,basic,2024-01-20,2024-03-01,month,1,6000,1,usd,canceled
s4,C,enterprise,2023-12-01,,year,1,1200000,1,eur,active
s5,D,team,2024-02-05,2024-03-15,month,3,30000,1,usd,canceled
s6,D,small,2024-03-15,,month,1,4000,1,usd,active
s7,E,pro,2024-03-20,,month,1,20000,1,usd,active
s8,F,free,2024-01-01,,month,1,0,1,usd,active
s9,G,pilot,2024-02-03,2024-02-20,month,1,8000,1,usd,canceled
s10,H,basic,2023-10-01,2023-12-15,month,1,7000,1,usd,canceled
s11,H,basic,2024-03-05,,month,1,9000,1,usd,active
";

const SUBSCRIPTIONS_SQL: &str = "\
-- Stripe subscriptions: cents per unit times quantity, intervals as billing periods.
SELECT
    id AS subscription_id,
    customer AS customer_id,
    plan_nickname AS plan,
    CAST(start_date AS DATE) AS start_date,
    CAST(nullif(ended_at, '') AS DATE) AS end_date,
    CASE
        WHEN \"interval\" = 'month' AND interval_count = '1' THEN 'month'
        WHEN \"interval\" = 'month' AND interval_count = '3' THEN 'quarter'
        WHEN \"interval\" = 'year' AND interval_count = '1' THEN 'year'
    END AS billing_period,
    CAST(unit_amount AS BIGINT) * CAST(quantity AS BIGINT) * 0.01 AS amount,
    upper(nullif(currency, '')) AS currency,
    _row
FROM raw.stripe_subscriptions;
";

/// The revenue fixture with its subscriptions as a raw Stripe export and a
/// config that stages them.
fn stripe_scenario(raw: &str, sql: &str) -> Scenario {
    let s = Scenario::fixture("revenue");
    s.remove("subscriptions.csv");
    s.write("data/exports/stripe_subscriptions.csv", raw);
    s.write("config/staging/subscriptions.sql", sql);
    s.write("config/staging/README.md", "not SQL: left alone\n");
    s.write(
        "config/cs-report.yaml",
        "raw:\n  stripe_subscriptions: exports/stripe_subscriptions.csv\nstaging: staging\n",
    );
    s
}

fn run_with_config(s: &Scenario, period: &str) -> std::process::Output {
    s.run_output(period, &["--config", "config/cs-report.yaml"])
}

#[test]
fn staged_stripe_subscriptions_give_exactly_the_fixtures_numbers() {
    let plain = Scenario::fixture("revenue");
    plain.run("2024-03", &[]);
    let expected = fs::read_to_string(plain.out().join("2024-03/metrics.csv")).unwrap();

    let s = stripe_scenario(STRIPE_SUBSCRIPTIONS, SUBSCRIPTIONS_SQL);
    let done = run_with_config(&s, "2024-03");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let staged = fs::read_to_string(s.out().join("2024-03/metrics.csv")).unwrap();
    assert_eq!(staged, expected, "staged data must give the same metrics.csv");
    let m = Metrics::read(&s.out().join("2024-03/metrics.csv"));
    m.assert("mrr", Some(1730.0));

    // The manifest names the staging file as the table's input and lists
    // the raw export with its checksum.
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.out().join("2024-03/manifest.json")).unwrap()).unwrap();
    let subs = manifest["inputs"].as_array().unwrap().iter().find(|t| t["table"] == "subscriptions").unwrap();
    assert_eq!(subs["format"], "staged");
    assert_eq!(subs["rows"], 11);
    assert!(subs["files"][0]["path"].as_str().unwrap().ends_with("config/staging/subscriptions.sql"), "{subs}");
    assert_eq!(subs["files"][0]["sha256"].as_str().unwrap().len(), 64);
    let raw = &manifest["raw_inputs"][0];
    assert_eq!(raw["name"], "stripe_subscriptions");
    assert_eq!(raw["rows"], 11);
    assert!(raw["files"][0]["path"].as_str().unwrap().ends_with("exports/stripe_subscriptions.csv"));
    assert_eq!(raw["files"][0]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_bad_raw_row_names_the_staged_column_the_raw_file_and_line_and_the_staging_file() {
    // s3's quantity is negative: its amount breaks "must be 0 or more".
    let raw = STRIPE_SUBSCRIPTIONS.replace("s3,B,basic,2024-01-20,2024-03-01,month,1,6000,1,", "s3,B,basic,2024-01-20,2024-03-01,month,1,6000,-1,");
    let s = stripe_scenario(&raw, SUBSCRIPTIONS_SQL);
    let err = s.run_fails("2024-03", &["--config", "config/cs-report.yaml"], 2);
    assert!(err.contains("subscriptions ("), "{err}");
    assert!(err.contains("staging/subscriptions.sql"), "{err}");
    assert!(err.contains("column `amount`: must be 0 or more"), "{err}");
    assert!(err.contains("exports/stripe_subscriptions.csv line 4: subscription_id \"s3\": \"-60.000000\""), "{err}");
    assert!(!s.out().join("2024-03").exists());

    // An unparsable date names the raw line too.
    let raw = STRIPE_SUBSCRIPTIONS.replace("s7,E,pro,2024-03-20", "s7,E,pro,2024-03-xx");
    let sql = SUBSCRIPTIONS_SQL.replace("CAST(start_date AS DATE)", "TRY_CAST(start_date AS DATE)");
    let s = stripe_scenario(&raw, &sql);
    let err = s.run_fails("2024-03", &["--config", "config/cs-report.yaml"], 2);
    assert!(err.contains("column `start_date`: must not be empty"), "{err}");
    assert!(err.contains("exports/stripe_subscriptions.csv line 8: subscription_id \"s7\""), "{err}");
}

#[test]
fn a_staging_file_without_the_tables_columns_is_refused_before_any_data_is_read() {
    // The raw file also has a broken line: had it been read, that would be the error.
    let raw = format!("{STRIPE_SUBSCRIPTIONS}s12,\"unclosed,quote\n");
    let sql = SUBSCRIPTIONS_SQL.replace("END AS billing_period,", "END AS period,").replace("_row\n", "status, _row\n");
    let s = stripe_scenario(&raw, &sql);
    let err = s.run_fails("2024-03", &["--config", "config/cs-report.yaml"], 2);
    assert!(err.contains("staging file(s) do not make their table; nothing was read"), "{err}");
    assert!(err.contains("missing column(s) billing_period"), "{err}");
    assert!(err.contains("extra column(s) period, status"), "{err}");

    // Without `_row`, and more than one statement.
    for (sql, why) in [
        (SUBSCRIPTIONS_SQL.replace(",\n    _row\n", "\n"), "no `_row`"),
        (format!("{SUBSCRIPTIONS_SQL}\nSELECT 1;"), "exactly one SELECT"),
        ("DELETE FROM raw.stripe_subscriptions".to_string(), "one SELECT"),
    ] {
        let s = stripe_scenario(STRIPE_SUBSCRIPTIONS, &sql);
        let err = s.run_fails("2024-03", &["--config", "config/cs-report.yaml"], 2);
        assert!(err.contains(why), "{why}: {err}");
    }
}

#[test]
fn a_raw_line_that_is_not_csv_is_refused_with_its_line() {
    let raw = STRIPE_SUBSCRIPTIONS.replace("s5,D,team,2024-02-05,2024-03-15,month,3,30000,1,usd,canceled", "s5,D,team,2024-02-05,2024-03-15,month,3,30000,1,usd,canceled,extra");
    let s = stripe_scenario(&raw, SUBSCRIPTIONS_SQL);
    let err = s.run_fails("2024-03", &["--config", "config/cs-report.yaml"], 2);
    assert!(err.contains("raw export `stripe_subscriptions`"), "{err}");
    assert!(err.contains("1 line(s) do not parse as CSV with the header's columns"), "{err}");
    assert!(err.contains("line 6: \"s5,D,team"), "{err}");
}

#[test]
fn staging_sql_cannot_read_any_file() {
    let s = stripe_scenario(STRIPE_SUBSCRIPTIONS, SUBSCRIPTIONS_SQL);
    let secret = s.write("secret.csv", "subscription_id,customer_id\nleak,A\n");
    let sql = format!(
        "SELECT subscription_id, customer_id, 'p' AS plan, DATE '2024-01-01' AS start_date, NULL::DATE AS end_date, \
         'month' AS billing_period, 1 AS amount, 'USD' AS currency, 0::BIGINT AS _row FROM read_csv('{}')",
        secret.display()
    );
    s.write("config/staging/subscriptions.sql", &sql);
    let err = s.run_fails("2024-03", &["--config", "config/cs-report.yaml"], 2);
    assert!(err.contains("staging/subscriptions.sql"), "{err}");
    assert!(err.contains("disabled by configuration"), "{err}");
    assert!(!err.contains("leak"), "{err}");
}

#[test]
fn staging_config_mistakes_are_named() {
    // A staging file for no contract table.
    let s = stripe_scenario(STRIPE_SUBSCRIPTIONS, SUBSCRIPTIONS_SQL);
    s.write("config/staging/subscription.sql", "SELECT 1");
    let err = String::from_utf8_lossy(&run_with_config(&s, "2024-03").stderr).to_string();
    assert!(err.contains("`subscription` is not a table of the input contract"), "{err}");

    // A raw export that is not there.
    let s = stripe_scenario(STRIPE_SUBSCRIPTIONS, SUBSCRIPTIONS_SQL);
    fs::remove_file(s.data().join("exports/stripe_subscriptions.csv")).unwrap();
    let err = String::from_utf8_lossy(&run_with_config(&s, "2024-03").stderr).to_string();
    assert!(err.contains("raw export `stripe_subscriptions`"), "{err}");
    assert!(err.contains("not found"), "{err}");

    // Raw exports without a staging folder, and a name SQL cannot use.
    for (config, why) in [
        ("raw:\n  stripe: exports/stripe_subscriptions.csv\n", "set `staging:`"),
        ("raw:\n  Stripe-Subs: exports/stripe_subscriptions.csv\nstaging: staging\n", "key `raw.Stripe-Subs`"),
    ] {
        let s = stripe_scenario(STRIPE_SUBSCRIPTIONS, SUBSCRIPTIONS_SQL);
        s.write("config/cs-report.yaml", config);
        let err = s.run_fails("2024-03", &["--config", "config/cs-report.yaml"], 2);
        assert!(err.contains(why), "{why}: {err}");
    }
}

/// `cs-report validate` on a scenario; its stdout.
fn validate(s: &Scenario, period: &str) -> String {
    let data = s.data();
    let done = s.cs_report(&["validate", "--data", data.to_str().unwrap(), "--period", period]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    String::from_utf8_lossy(&done.stdout).to_string()
}

#[test]
fn values_that_pass_the_rules_but_look_wrong_are_warned_about() {
    // The sample has none of these.
    let s = sample_scenario();
    let clean = validate(&s, "2025-06");
    assert!(!clean.contains("acquisition_channel") && !clean.contains("jumps"), "{clean}");

    // "Referrals" is not `referral`, and appears once: both are said.
    s.edit("customers.csv", ",referral,", ",Referrals,");
    let text = validate(&s, "2025-06");
    assert!(
        text.contains("warning: customers: acquisition_channel \"referrals\" (1 customers) match no marketing_spend channel and are not `referral`"),
        "{text}"
    );
    assert!(text.contains("warning: customers: acquisition_channel \"referrals\" appear(s) in one row only: a typo?"), "{text}");
    let m = s.run("2025-06", &[]);
    assert!(m.has("referral_rate"));
    let report = std::fs::read_to_string(s.out().join("2025-06/report.md")).unwrap();
    assert!(report.contains("match no marketing_spend channel"), "the report shows it too");

    // A spend channel no customer came through.
    let s = Scenario::fixture("revenue");
    s.edit("customers.csv", ",emea,events", ",emea,trade_fairs");
    let text = validate(&s, "2024-03");
    assert!(text.contains("warning: marketing_spend: channel \"events\" (1 months) matches no customer's acquisition_channel"), "{text}");

    // New subscriptions in cents from December: the median monthly amount
    // goes from 60 (November) to 6,500 (December, with C's 1,000 a month).
    let s = Scenario::fixture("revenue");
    let path = s.data().join("subscriptions.csv");
    let mut subs = std::fs::read_to_string(&path).unwrap();
    subs.push_str("x1,A,b,2023-11-02,2023-11-20,month,50,USD\nx2,B,b,2023-11-03,2023-11-20,month,60,USD\nx3,C,b,2023-11-04,2023-11-20,month,70,USD\n");
    subs.push_str("x4,A,b,2023-12-02,2023-12-20,month,6000,USD\nx5,B,b,2023-12-03,2023-12-20,month,7000,USD\nx6,C,b,2023-12-04,2023-12-20,month,8000,USD\n");
    std::fs::write(&path, subs).unwrap();
    let text = validate(&s, "2024-03");
    assert!(
        text.contains("warning: subscriptions: the median monthly amount of new subscriptions jumps 100-fold or more in 2023-12 (108.3×)"),
        "{text}"
    );
}
