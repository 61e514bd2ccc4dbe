//! The staging recipes of `examples/staging/` (issue 15): each runs on raw
//! exports made from the sample data in the source system's own shape
//! (cents, intervals, statuses, names instead of ids, a spreadsheet's
//! thousands separators) and must give exactly the sample's numbers.

use std::fs;
use std::path::PathBuf;

use crate::support::*;

/// The period the tests report: the sample's last month.
const PERIOD: &str = "2025-06";
const PERIOD_END: &str = "DATE '2025-06-30'";

/// One raw export a test makes: its name under `raw:`, its file under
/// `data/exports/`, and the query over the sample's tables (views `s_<table>`
/// of all-text columns) that writes it.
struct Raw {
    name: &'static str,
    file: &'static str,
    query: String,
}

fn recipe_dir(name: &str) -> PathBuf {
    fixtures().parent().unwrap().parent().unwrap().join("examples/staging").join(name)
}

/// The sample, its metrics.csv, and the same sample with `tables` replaced
/// by the raw exports and the recipes' staging files. Returns the staged
/// scenario after its run, and the plain metrics.csv.
fn staged_run(recipes: &[&str], tables: &[&str], raws: &[Raw]) -> (Scenario, String) {
    staged_run_with(recipes, tables, raws, &|_| {})
}

/// [`staged_run`] on the sample as `prepare` changes it.
fn staged_run_with(recipes: &[&str], tables: &[&str], raws: &[Raw], prepare: &dyn Fn(&Scenario)) -> (Scenario, String) {
    let s = sample_scenario();
    prepare(&s);
    s.run(PERIOD, &[]);
    let expected = fs::read_to_string(s.out().join(PERIOD).join("metrics.csv")).unwrap();
    fs::remove_dir_all(s.out()).unwrap();

    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch("SET TimeZone = 'UTC'").unwrap();
    for table in ["customers", "subscriptions", "invoices", "marketing_spend", "survey_responses", "tickets", "usage_events"] {
        let path = s.data().join(format!("{table}.csv"));
        conn.execute_batch(&format!("CREATE VIEW s_{table} AS SELECT * FROM read_csv('{}', all_varchar = true)", path.display())).unwrap();
    }
    fs::create_dir_all(s.data().join("exports")).unwrap();
    let mut config = String::from("raw:\n");
    for raw in raws {
        let path = s.data().join("exports").join(raw.file);
        let format = if raw.file.ends_with(".parquet") { "FORMAT parquet" } else { "HEADER, DELIMITER ','" };
        conn.execute_batch(&format!("COPY ({}) TO '{}' ({format})", raw.query, path.display()))
            .unwrap_or_else(|e| panic!("making {}: {e}", raw.file));
        config.push_str(&format!("  {}: exports/{}\n", raw.name, raw.file));
    }
    drop(conn);
    for table in tables {
        s.remove(&format!("{table}.csv"));
    }
    for recipe in recipes {
        for entry in fs::read_dir(recipe_dir(recipe)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sql") {
                fs::create_dir_all(s.dir.path().join("config/staging")).unwrap();
                fs::copy(&path, s.dir.path().join("config/staging").join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    config.push_str("staging: staging\n");
    s.write("config/cs-report.yaml", &config);
    let (data, out) = (s.data(), s.out());
    let done = s.cs_report(&["run", "--config", "config/cs-report.yaml", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", PERIOD]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    (s, expected)
}

fn metrics_csv(s: &Scenario) -> String {
    fs::read_to_string(s.out().join(PERIOD).join("metrics.csv")).unwrap()
}

/// Billing periods as Stripe intervals, amounts in cents per seat (two
/// seats where the price halves evenly), lower-case currencies, Stripe's
/// statuses; ends before the period's end as `ended_at`, later ones as a
/// scheduled `cancel_at`.
fn stripe_subscriptions(filter: &str) -> String {
    format!(
        "WITH s AS (SELECT *, CAST(round(CAST(amount AS DECIMAL(18, 2)) * 100) AS BIGINT) AS cents, \
                   CAST(end_date AS DATE) AS ends FROM s_subscriptions WHERE {filter}) \
         SELECT subscription_id AS id, customer_id AS customer, \
                CASE WHEN ends IS NULL OR ends > {PERIOD_END} THEN 'active' ELSE 'canceled' END AS status, \
                strftime(CAST(start_date AS DATE) + INTERVAL 9 HOUR, '%Y-%m-%d %H:%M:%S') AS created, \
                strftime(CAST(start_date AS DATE) + INTERVAL 9 HOUR, '%Y-%m-%d %H:%M:%S') AS start_date, \
                CAST(NULL AS VARCHAR) AS trial_end, \
                CASE WHEN ends <= {PERIOD_END} THEN strftime(ends + INTERVAL 7 HOUR, '%Y-%m-%d %H:%M:%S') END AS ended_at, \
                CASE WHEN ends > {PERIOD_END} THEN strftime(ends, '%Y-%m-%d %H:%M:%S') END AS cancel_at, \
                plan AS plan_nickname, \
                CASE billing_period WHEN 'year' THEN 'year' ELSE 'month' END AS plan_interval, \
                CASE billing_period WHEN 'quarter' THEN 3 ELSE 1 END AS plan_interval_count, \
                CASE WHEN cents > 0 AND cents % 2 = 0 THEN cents // 2 ELSE cents END AS plan_amount, \
                CASE WHEN cents > 0 AND cents % 2 = 0 THEN 2 ELSE 1 END AS quantity, \
                lower(coalesce(currency, 'usd')) AS currency \
         FROM s"
    )
}

#[test]
fn stripe_subscriptions_and_invoices_in_cents_give_the_samples_numbers() {
    let subscriptions = format!(
        "{} UNION ALL \
         SELECT 'sub_never_paid', (SELECT min(customer_id) FROM s_customers), 'incomplete_expired', '2025-03-03 10:00:00', \
                '2025-03-03 10:00:00', NULL, NULL, NULL, 'pro', 'month', 1, 99900, 1, 'usd' UNION ALL \
         SELECT 'sub_trial', (SELECT max(customer_id) FROM s_customers), 'trialing', '2025-06-20 10:00:00', \
                '2025-06-20 10:00:00', '2025-07-04 10:00:00', NULL, NULL, 'pro', 'month', 1, 4900, 3, 'usd'",
        stripe_subscriptions("true")
    );
    let invoices = "SELECT invoice_id AS id, customer_id AS customer, \
                CASE status WHEN 'refunded' THEN 'paid' ELSE status END AS status, \
                strftime(CAST(invoice_date AS DATE) + INTERVAL 12 HOUR, '%Y-%m-%d %H:%M:%S') AS created, \
                CAST(round(CAST(amount AS DECIMAL(18, 2)) * 100) AS BIGINT) AS total, \
                CASE WHEN status = 'refunded' THEN CAST(round(CAST(amount AS DECIMAL(18, 2)) * 100) AS BIGINT) ELSE 0 END AS amount_refunded, \
                lower(coalesce(currency, 'usd')) AS currency, \
                CASE kind WHEN 'subscription' THEN 'subscription_cycle' WHEN 'upsell' THEN 'subscription_update' ELSE 'manual' END AS billing_reason, \
                CASE WHEN kind = 'cross_sell' THEN 'Cross_Sell' END AS \"kind (metadata)\" \
         FROM s_invoices UNION ALL \
         SELECT 'in_draft', (SELECT min(customer_id) FROM s_customers), 'draft', '2025-06-10 12:00:00', 50000, 0, 'usd', 'manual', NULL"
        .to_string();
    let (s, expected) = staged_run(
        &["stripe"],
        &["subscriptions", "invoices"],
        &[
            Raw { name: "stripe_subscriptions", file: "subscriptions.csv", query: subscriptions },
            Raw { name: "stripe_invoices", file: "invoices.csv", query: invoices },
        ],
    );
    assert_eq!(metrics_csv(&s), expected);
}

#[test]
fn a_snapshot_of_todays_subscriptions_gives_the_periods_mrr_and_no_history() {
    // Only what runs at the period's end, each at its current price.
    let running = format!("CAST(start_date AS DATE) <= {PERIOD_END} AND (end_date IS NULL OR CAST(end_date AS DATE) > {PERIOD_END})");
    let (s, expected) = staged_run(
        &["stripe_snapshot"],
        &["subscriptions"],
        &[Raw { name: "subscriptions_now", file: "subscriptions_now.csv", query: stripe_subscriptions(&running) }],
    );
    let plain = Metrics::read_text(&expected);
    let snapshot = Metrics::read(&s.out().join(PERIOD).join("metrics.csv"));
    for metric in ["mrr", "arr", "active_customers", "arpa"] {
        let value = plain.get(metric, "all", "all");
        assert!(value.is_some_and(|v| v > 0.0), "{metric}");
        assert_eq!(snapshot.get(metric, "all", "all"), value, "{metric}");
    }
    // The past is what the README says it cannot know: no customer ever left.
    assert_eq!(snapshot.get("churned_customers", "all", "all"), Some(0.0));
    assert!(plain.get("churned_customers", "all", "all").is_some());
}

#[test]
fn hubspot_companies_give_the_samples_customers() {
    let companies = "SELECT row_number() OVER () + 1000 AS \"Record ID\", name AS \"Company name\", \
                strftime(CAST(signup_date AS DATE) + INTERVAL 14 HOUR + INTERVAL 5 MINUTE, '%Y-%m-%d %H:%M') AS \"Create Date\", \
                customer_id AS \"Stripe Customer ID\", \
                CASE segment WHEN 'smb' THEN 'SMB' WHEN 'mid_market' THEN 'Mid Market' WHEN 'enterprise' THEN 'Enterprise' END AS \"Segment\", \
                CASE region WHEN 'emea' THEN 'Germany' WHEN 'north_america' THEN 'United States' WHEN 'latam' THEN 'Brazil' \
                            WHEN 'apac' THEN 'Japan' END AS \"Country/Region\", \
                CASE acquisition_channel WHEN 'paid_search' THEN 'Paid Search' WHEN 'referral' THEN 'Referrals' \
                     WHEN 'events' THEN 'Offline Sources' WHEN 'content' THEN 'Organic Search' WHEN 'partner' THEN 'Other Campaigns' \
                END AS \"Original Source\", \
                list_aggregate(list_transform(string_split(owner, '.'), x -> upper(x[1]) || x[2:]), 'string_agg', ' ') AS \"Company owner\" \
         FROM s_customers UNION ALL \
         SELECT 1, 'Prospect Ltd', '2025-05-01 10:00', NULL, 'SMB', 'France', 'Paid Search', 'Chloé Martin'"
        .to_string();
    let (s, expected) =
        staged_run(&["hubspot"], &["customers"], &[Raw { name: "hubspot_companies", file: "companies.csv", query: companies }]);
    assert_eq!(metrics_csv(&s), expected);
}

#[test]
fn zendesk_tickets_keyed_by_organisation_name_give_the_samples_support_numbers() {
    let tickets = "SELECT row_number() OVER (ORDER BY t.ticket_id) + 5000 AS \"Id\", 'Help' AS \"Subject\", c.name AS \"Organization\", \
                strftime(CAST(t.created_at AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%fZ') AS \"Created at\", \
                strftime(CAST(t.resolved_at AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%fZ') AS \"Solved at\", \
                CASE WHEN t.resolved_at IS NULL THEN 'open' ELSE 'solved' END AS \"Status\", \
                t.contacts AS \"Agent replies\" \
         FROM s_tickets AS t JOIN s_customers AS c USING (customer_id)"
        .to_string();
    // The sample names two customers alike (an HTML-escaping test): by name
    // their tickets could not be told apart, so one is renamed first.
    let unique_names = |s: &Scenario| s.edit("customers.csv", "C000111,<script>alert('x')</script> Ltd", "C000111,Scripted Ltd");
    let (s, expected) =
        staged_run_with(&["zendesk"], &["tickets"], &[Raw { name: "zendesk_tickets", file: "tickets.csv", query: tickets }], &unique_names);
    assert_eq!(metrics_csv(&s), expected);
}

#[test]
fn delighted_survey_projects_give_the_samples_voice_numbers() {
    let project = |survey: &str| Raw {
        name: match survey {
            "nps" => "delighted_nps",
            "csat" => "delighted_csat",
            _ => "delighted_ces",
        },
        file: match survey {
            "nps" => "delighted_nps.csv",
            "csat" => "delighted_csat.csv",
            _ => "delighted_ces.csv",
        },
        query: format!(
            "SELECT response_id AS \"Response ID\", score AS \"Score\", '' AS \"Comment\", \
                    CAST(epoch(CAST(responded_at AS TIMESTAMPTZ)) AS BIGINT) AS \"Created At\", \
                    customer_id AS \"Property: Customer ID\" \
             FROM s_survey_responses WHERE survey = '{survey}'"
        ),
    };
    let (s, expected) = staged_run(&["delighted"], &["survey_responses"], &[project("nps"), project("csat"), project("ces")]);
    assert_eq!(metrics_csv(&s), expected);
}

#[test]
fn segment_track_calls_as_parquet_give_the_samples_usage_numbers() {
    let tracks = "SELECT 'evt_' || row_number() OVER () AS id, 'anon_' || user_id AS anonymous_id, user_id, \
                customer_id AS context_group_id, \
                list_aggregate(list_transform(string_split(feature, '_'), x -> upper(x[1]) || x[2:]), 'string_agg', ' ') AS event, \
                CAST(occurred_at AS TIMESTAMPTZ) AS \"timestamp\", \
                CAST(duration_seconds AS DOUBLE) AS duration_seconds \
         FROM s_usage_events UNION ALL \
         SELECT 'evt_anonymous', 'anon_visitor', NULL, (SELECT min(customer_id) FROM s_customers), 'Page Viewed', \
                TIMESTAMPTZ '2025-06-15 10:00:00+00', NULL"
        .to_string();
    let (s, expected) =
        staged_run(&["segment"], &["usage_events"], &[Raw { name: "segment_tracks", file: "tracks.parquet", query: tracks }]);
    assert_eq!(metrics_csv(&s), expected);
}

#[test]
fn a_spend_sheet_with_thousands_separators_gives_the_samples_cac() {
    let sheet = "SELECT strftime(CAST(month AS DATE), '%b %Y') AS \"Month\", \
                list_aggregate(list_transform(string_split(channel, '_'), x -> upper(x[1]) || x[2:]), 'string_agg', ' ') AS \"Channel\", \
                '$' || format('{:,.2f}', CAST(amount AS DOUBLE)) AS \"Spend\", coalesce(currency, '') AS \"Currency\" \
         FROM s_marketing_spend UNION ALL SELECT 'Total', '', '$999,999.00', ''"
        .to_string();
    let (s, expected) =
        staged_run(&["spend_sheet"], &["marketing_spend"], &[Raw { name: "spend_sheet", file: "spend.csv", query: sheet }]);
    assert_eq!(metrics_csv(&s), expected);
}

#[test]
fn every_recipe_has_a_readme() {
    let root = recipe_dir("");
    assert!(root.join("README.md").is_file());
    for entry in fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if dir.is_dir() {
            let readme = fs::read_to_string(dir.join("README.md")).unwrap_or_else(|_| panic!("{} has no README.md", dir.display()));
            assert!(readme.contains("## Assumptions"), "{}", dir.display());
        }
    }
}
