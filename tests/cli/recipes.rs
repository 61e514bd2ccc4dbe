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
    for table in ["customers", "subscriptions", "invoices", "marketing_spend", "survey_responses", "tickets", "usage_events", "owners"] {
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
    let done = s.run_output(PERIOD, &["--config", "config/cs-report.yaml"]);
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

/// The sample's invoices as Stripe's invoice list: cents, statuses, billing
/// reasons, the kind in metadata where Stripe cannot tell it; one draft.
fn stripe_invoices() -> String {
    "SELECT invoice_id AS id, customer_id AS customer, \
            CASE status WHEN 'refunded' THEN 'paid' ELSE status END AS status, \
            strftime(CAST(invoice_date AS DATE) + INTERVAL 12 HOUR, '%Y-%m-%d %H:%M:%S') AS created, \
            CAST(round(CAST(amount AS DECIMAL(18, 2)) * 100) AS BIGINT) AS total, \
            CASE WHEN status = 'refunded' THEN CAST(round(CAST(amount AS DECIMAL(18, 2)) * 100) AS BIGINT) ELSE 0 END AS amount_refunded, \
            lower(coalesce(currency, 'usd')) AS currency, \
            CASE kind WHEN 'subscription' THEN 'subscription_cycle' WHEN 'upsell' THEN 'subscription_update' ELSE 'manual' END AS billing_reason, \
            CASE WHEN kind = 'cross_sell' THEN 'Cross_Sell' END AS \"kind (metadata)\" \
     FROM s_invoices UNION ALL \
     SELECT 'in_draft', (SELECT min(customer_id) FROM s_customers), 'draft', '2025-06-10 12:00:00', 50000, 0, 'usd', 'manual', NULL"
        .to_string()
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
    let invoices = stripe_invoices();
    // The snapshot recipe is exact on the sample: its prices never changed.
    let (s, expected) = staged_run(
        &["stripe_snapshot"],
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
        &["subscriptions", "invoices"],
        &[
            Raw { name: "stripe_subscriptions", file: "subscriptions_now.csv", query: stripe_subscriptions(&running) },
            Raw { name: "stripe_invoices", file: "invoices.csv", query: stripe_invoices() },
        ],
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
    // And every report made with it says what it approximates.
    for file in ["report.md", "report.html"] {
        let text = fs::read_to_string(s.out().join(PERIOD).join(file)).unwrap();
        assert!(text.contains("price history is approximated"), "{file}");
    }
}

/// The report's notes (report.md) of a staged run.
fn report_md(s: &Scenario) -> String {
    fs::read_to_string(s.out().join(PERIOD).join("report.md")).unwrap()
}

#[test]
fn hubspot_companies_and_owners_give_the_samples_customers_and_books() {
    // Countries as people write them: names, other names, ISO codes; the
    // sources as labels and as HubSpot's internal values.
    let companies = "SELECT row_number() OVER () + 1000 AS \"Record ID\", name AS \"Company name\", \
                strftime(CAST(signup_date AS DATE) + INTERVAL 14 HOUR + INTERVAL 5 MINUTE, '%Y-%m-%d %H:%M') AS \"Create Date\", \
                customer_id AS \"Stripe Customer ID\", \
                CASE segment WHEN 'smb' THEN 'SMB' WHEN 'mid_market' THEN 'Mid Market' WHEN 'enterprise' THEN 'Enterprise' END AS \"Segment\", \
                CASE region WHEN 'emea' THEN ['Germany', 'FR', 'United Kingdom', 'Türkiye', 'South Africa'][1 + CAST(hash(customer_id) % 5 AS BIGINT)] \
                            WHEN 'north_america' THEN ['United States', 'USA', 'Canada'][1 + CAST(hash(customer_id) % 3 AS BIGINT)] \
                            WHEN 'latam' THEN ['Brazil', 'MEX', 'Chile'][1 + CAST(hash(customer_id) % 3 AS BIGINT)] \
                            WHEN 'apac' THEN ['Japan', 'South Korea', 'australia'][1 + CAST(hash(customer_id) % 3 AS BIGINT)] END AS \"Country/Region\", \
                CASE acquisition_channel WHEN 'paid_search' THEN 'Paid Search' WHEN 'referral' THEN 'REFERRALS' \
                     WHEN 'events' THEN 'Offline Sources' WHEN 'content' THEN 'ORGANIC_SEARCH' WHEN 'partner' THEN 'Other Campaigns' \
                END AS \"Original Source\", \
                list_aggregate(list_transform(string_split(owner, '.'), x -> upper(x[1]) || x[2:]), 'string_agg', ' ') AS \"Company owner\" \
         FROM s_customers UNION ALL \
         SELECT 1, 'Prospect Ltd', '2025-05-01 10:00', NULL, 'SMB', 'France', 'Paid Search', 'Chloé Martin'"
        .to_string();
    let countries = format!("SELECT * FROM read_csv('{}', all_varchar = true)", recipe_dir("hubspot").join("countries.csv").display());
    let owners = "SELECT 100 + row_number() OVER () AS id, split_part(name, ' ', 1) AS \"firstName\", split_part(name, ' ', 2) AS \"lastName\", \
                email, 'false' AS archived FROM s_owners UNION ALL \
         SELECT 999, 'Gone', 'Person', 'gone@example.com', 'true'"
        .to_string();
    let (s, expected) = staged_run(
        &["hubspot"],
        &["customers", "owners"],
        &[
            Raw { name: "hubspot_companies", file: "companies.csv", query: companies },
            Raw { name: "hubspot_countries", file: "countries.csv", query: countries },
            Raw { name: "hubspot_owners", file: "owners.csv", query: owners },
        ],
    );
    assert_eq!(metrics_csv(&s), expected);
    // The books reach their owners: every owner of the sample has an email.
    assert!(!report_md(&s).contains("have no row in owners"));
}

#[test]
fn zendesk_tickets_with_their_metrics_and_organizations_give_the_samples_support_numbers() {
    // Half the organisations carry the billing id as external_id, the rest
    // are matched by name (those two customers who share a name carry it).
    let organizations = "SELECT 9000 + row_number() OVER (ORDER BY customer_id) AS id, name, \
                CASE WHEN row_number() OVER (ORDER BY customer_id) % 2 = 0 \
                          OR count(*) OVER (PARTITION BY lower(trim(name))) > 1 THEN customer_id END AS external_id \
         FROM s_customers UNION ALL SELECT 8999, 'Prospect GmbH', 'cus_prospect'"
        .to_string();
    let tickets = "SELECT 5000 + row_number() OVER (ORDER BY t.ticket_id) AS id, o.id AS organization_id, \
                strftime(CAST(t.created_at AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%SZ') AS created_at, \
                CASE WHEN t.resolved_at IS NULL THEN 'open' WHEN t.ticket_id < 'K00000050' THEN 'closed' ELSE 'solved' END AS status, \
                'Help' AS subject \
         FROM s_tickets AS t JOIN (SELECT 9000 + row_number() OVER (ORDER BY customer_id) AS id, customer_id FROM s_customers) AS o \
              USING (customer_id) UNION ALL \
         SELECT 1, 8999, '2025-06-10T10:00:00Z', 'open', 'From a prospect' UNION ALL \
         SELECT 2, NULL, '2025-06-11T10:00:00Z', 'solved', 'No organisation' UNION ALL \
         SELECT 3, 9001, '2025-06-12T10:00:00Z', 'deleted', 'Spam'"
        .to_string();
    let metrics = "SELECT 7000 + row_number() OVER () AS id, 5000 + row_number() OVER (ORDER BY ticket_id) AS ticket_id, \
                contacts AS replies, strftime(CAST(resolved_at AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%SZ') AS solved_at, 0 AS reopens \
         FROM s_tickets UNION ALL SELECT 1, 2, 1, '2025-06-11T12:00:00Z', 0"
        .to_string();
    let (s, expected) = staged_run(
        &["zendesk"],
        &["tickets"],
        &[
            Raw { name: "zendesk_tickets", file: "tickets.csv", query: tickets },
            Raw { name: "zendesk_ticket_metrics", file: "ticket_metrics.csv", query: metrics },
            Raw { name: "zendesk_organizations", file: "organizations.csv", query: organizations },
        ],
    );
    assert_eq!(metrics_csv(&s), expected);
    // The two tickets of no customer are left out, counted, with their lines.
    let report = report_md(&s);
    assert!(report.contains("tickets: 1 row(s) name no customer and are left out"), "{report}");
    assert!(report.contains("tickets: 1 row(s) name no customer in customers and are left out"), "{report}");
    assert!(report.contains("tickets.csv line"), "{report}");
}

#[test]
fn zendesk_tickets_of_no_customer_stop_the_run_when_the_config_refuses_them() {
    let s = sample_scenario();
    s.edit("tickets.csv", "\n", "\nT9999999,NOBODY,2025-06-03 10:00:00,,1\n");
    s.write("config/cs-report.yaml", "tables:\n  tickets:\n    on_unmatched: refuse\n");
    let done = s.run_output(PERIOD, &["--config", "config/cs-report.yaml"]);
    assert_eq!(done.status.code(), Some(2), "{}", String::from_utf8_lossy(&done.stderr));
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("must name a customer in customers") && err.contains("NOBODY"), "{err}");
    // By default the same ticket is left out and counted.
    fs::remove_file(s.dir.path().join("config/cs-report.yaml")).unwrap();
    s.run(PERIOD, &[]);
    let report = report_md(&s);
    assert!(report.contains("tickets: 1 row(s) name no customer in customers and are left out"), "{report}");
}

#[test]
fn delighted_api_responses_give_the_samples_voice_numbers() {
    let responses = "SELECT row_number() OVER () + 100 AS id, 'p' || row_number() OVER () AS person, survey AS survey_type, score, \
                NULL AS comment, CAST(epoch(CAST(responded_at AS TIMESTAMPTZ)) AS BIGINT) AS created_at, \
                '{\"Customer ID\": \"' || customer_id || '\", \"plan\": \"pro\"}' AS person_properties \
         FROM s_survey_responses UNION ALL \
         SELECT 1, 'anon1', 'nps', 10, 'Great', 1749550000, '{}' UNION ALL \
         SELECT 2, 'anon2', 'csat', 1, NULL, 1749560000, NULL UNION ALL \
         SELECT 3, 'staff', 'enps', 9, NULL, 1749570000, '{\"Customer ID\": \"ours\"}'"
        .to_string();
    let (s, expected) =
        staged_run(&["delighted"], &["survey_responses"], &[Raw { name: "delighted_responses", file: "responses.csv", query: responses }]);
    assert_eq!(metrics_csv(&s), expected);
    let report = report_md(&s);
    assert!(report.contains("survey_responses: 2 row(s) name no customer and are left out"), "{report}");
}

#[test]
fn delighted_csv_downloads_give_the_samples_voice_numbers() {
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
        // Times as the download writes them, in the account's zone.
        query: format!(
            "SELECT response_id AS \"Response ID\", score AS \"Score\", '' AS \"Comment\", \
                    strftime(CAST(responded_at AS TIMESTAMP) - INTERVAL 7 HOUR, '%Y-%m-%d %H:%M:%S') || ' -0700' AS \"Created At\", \
                    customer_id AS \"Property: Customer ID\" \
             FROM s_survey_responses WHERE survey = '{survey}' UNION ALL \
             SELECT 'anon-{survey}', 5, 'from the web', '2025-06-02 10:00:00 -0700', ''"
        ),
    };
    let (s, expected) = staged_run(&["delighted/csv"], &["survey_responses"], &[project("nps"), project("csat"), project("ces")]);
    assert_eq!(metrics_csv(&s), expected);
    assert!(report_md(&s).contains("survey_responses: 3 row(s) name no customer and are left out"));
}

#[test]
fn segment_tracks_and_group_calls_give_the_samples_usage_numbers() {
    // Global user ids; each user grouped an hour after its first event, so
    // its first events come before any group call.
    let tracks = "SELECT 'evt_' || row_number() OVER () AS id, 'anon_' || user_id AS anonymous_id, \
                customer_id || '/' || user_id AS user_id, \
                list_aggregate(list_transform(string_split(feature, '_'), x -> upper(x[1]) || x[2:]), 'string_agg', ' ') AS event, \
                CAST(occurred_at AS TIMESTAMPTZ) AS \"timestamp\" \
         FROM s_usage_events UNION ALL \
         SELECT 'evt_anonymous', 'anon_visitor', NULL, 'Page Viewed', TIMESTAMPTZ '2025-06-15 10:00:00+00' UNION ALL \
         SELECT 'evt_lost', 'anon_lost', 'never-grouped', 'Page Viewed', TIMESTAMPTZ '2025-06-15 11:00:00+00' UNION ALL \
         SELECT 'evt_trial', 'anon_trial', 'trial-user', 'Page Viewed', TIMESTAMPTZ '2025-06-15 12:00:00+00'"
        .to_string();
    let groups = "SELECT 'grp_' || row_number() OVER () AS id, customer_id || '/' || user_id AS user_id, 'acct_' || customer_id AS group_id, \
                min(CAST(occurred_at AS TIMESTAMPTZ)) + INTERVAL 1 HOUR AS \"timestamp\" \
         FROM s_usage_events GROUP BY customer_id, user_id UNION ALL \
         SELECT 'grp_trial', 'trial-user', 'acct_trial', TIMESTAMPTZ '2025-06-15 11:30:00+00'"
        .to_string();
    let accounts = "SELECT DISTINCT 'acct_' || customer_id AS group_id, customer_id FROM s_usage_events".to_string();
    let (s, expected) = staged_run(
        &["segment"],
        &["usage_events"],
        &[
            Raw { name: "segment_tracks", file: "tracks.parquet", query: tracks },
            Raw { name: "segment_groups", file: "groups.parquet", query: groups },
            Raw { name: "segment_accounts", file: "accounts.csv", query: accounts },
        ],
    );
    // Segment records no time spent: that one metric is not available, the
    // rest are the sample's.
    let (plain, staged) = (Metrics::read_text(&expected), Metrics::read(&s.out().join(PERIOD).join("metrics.csv")));
    assert!(plain.get("avg_time_on_platform_minutes", "all", "all").is_some());
    assert!(!staged.has("avg_time_on_platform_minutes"), "time on platform must be not available, never 0");
    let keep = |text: &str| -> String {
        text.lines().filter(|l| !l.contains("avg_time_on_platform_minutes")).collect::<Vec<_>>().join("\n")
    };
    let (got, want) = (keep(&metrics_csv(&s)), keep(&expected));
    let differ: Vec<(&str, &str)> = got.lines().zip(want.lines()).filter(|(a, b)| a != b).take(5).collect();
    assert!(differ.is_empty() && got.lines().count() == want.lines().count(), "{differ:?}");
    let report = report_md(&s);
    assert!(report.contains("usage_events: 2 row(s) name no customer and are left out"), "{report}");
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
