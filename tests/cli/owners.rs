//! Books of business (issue 13) on the `periods` fixture with owners: Kim
//! owns a, c and e; Lou owns b, d and f (and has no row in owners); g and h
//! have none. The MRR table of tests/fixtures/periods/README.md gives every
//! number below.

use std::fs;
use std::path::Path;

use crate::support::*;

/// Customer names no other book may show: each is planted in one book.
const CUSTOMERS: &str = "customer_id,name,signup_date,segment,region,acquisition_channel,owner\n\
    a,Kimacct-Alpha-5150,2023-12-01,smb,emea,referral,kim\n\
    b,Louacct-Birch-7781,2023-12-01,smb,emea,paid_search,lou\n\
    c,Kimacct-Cobalt-5152,2023-12-01,mid_market,north_america,organic,kim\n\
    d,Louacct-Delta-7782,2023-12-01,mid_market,north_america,paid_search,lou\n\
    e,Kimacct-Elm-5153,2024-04-01,smb,apac,referral,kim\n\
    f,Louacct-Fir-7783,2024-05-01,smb,apac,paid_search,lou\n\
    g,Nobody-Gale-9901,2023-12-01,enterprise,emea,organic,\n\
    h,Nobody-Hazel-9902,2024-10-01,enterprise,latam,organic,\n";

const CONFIG: &str = "freshness: {usage_events: off, tickets: off, survey_responses: off, invoices: off, marketing_spend: off, fx_rates: off}\n";

fn owned() -> (Scenario, String) {
    let s = Scenario::fixture("periods");
    s.write("data/customers.csv", CUSTOMERS);
    s.write("data/owners.csv", "owner,name,email\nkim,Kim Lee,kim@example.com\n");
    let config = s.write("owners.yaml", CONFIG).to_str().unwrap().to_string();
    (s, config)
}

/// Every text in a folder, emails decoded part by part.
fn texts(dir: &Path) -> String {
    let mut out = String::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&texts(&path));
        } else if path.extension().is_some_and(|e| e == "eml") {
            let bytes = fs::read(&path).unwrap();
            let mail = mailparse::parse_mail(&bytes).unwrap();
            fn walk(m: &mailparse::ParsedMail<'_>, out: &mut String) {
                if let Ok(body) = m.get_body() {
                    out.push_str(&body);
                }
                for h in &m.headers {
                    out.push_str(&h.get_value());
                    out.push('\n');
                }
                for p in &m.subparts {
                    walk(p, out);
                }
            }
            walk(&mail, &mut out);
        } else if path.extension().is_some_and(|e| e != "png") {
            out.push_str(&fs::read_to_string(&path).unwrap());
        }
    }
    out
}

#[test]
fn each_owner_is_a_slice_computed_as_if_alone() {
    let (s, config) = owned();
    let q = s.run("2024-Q2", &["--config", &config]);
    // Kim: A = {a, c}; June a 150, c 1200, e 80; c's March 1000 EUR at June's rate is 1200.
    q.assert_in("mrr", "owner", "kim", Some(1430.0));
    q.assert_in("active_customers", "owner", "kim", Some(3.0));
    q.assert_in("nrr", "owner", "kim", Some(100.0 * 1350.0 / 1300.0));
    q.assert_in("grr", "owner", "kim", Some(100.0));
    q.assert_in("churn_rate", "owner", "kim", Some(0.0));
    q.assert_in("customer_retention_rate", "owner", "kim", Some(100.0 * 2.0 / 2.0));
    // Lou: A = {b, d}; d left, b came back at 250 (so b is in N).
    q.assert_in("mrr", "owner", "lou", Some(250.0));
    q.assert_in("churn_rate", "owner", "lou", Some(50.0));
    q.assert_in("customer_retention_rate", "owner", "lou", Some(0.0));
    q.assert_in("nrr", "owner", "lou", Some(50.0));
    q.assert_in("grr", "owner", "lou", Some(40.0));
    // g alone: 200 a month, 150 from June.
    q.assert_in("mrr", "owner", "unassigned", Some(150.0));
    q.assert_in("nrr", "owner", "unassigned", Some(75.0));
    // The slices add up to the company.
    q.assert("mrr", Some(1830.0));
    // June alone, Lou: f's 60 churned, b's 250 reactivated.
    let june = s.run("2024-06", &["--config", &config]);
    june.assert_in("mrr_churn", "owner", "lou", Some(60.0));
    june.assert_in("mrr_reactivation", "owner", "lou", Some(250.0));
    june.assert_in("churn_rate", "owner", "lou", Some(100.0));
    june.assert_in("mrr_fx", "owner", "kim", Some(120.0));
}

#[test]
fn every_owner_gets_a_book_with_only_their_accounts() {
    let (s, config) = owned();
    let out = s.cs_report(&[
        "run", "--data", s.data().to_str().unwrap(), "--out", s.out().to_str().unwrap(), "--period", "2024-06", "--config", &config,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = s.out().join("2024-06");
    let main = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(main.contains("owner(s) lou have no row in owners"), "{main}");
    for owner in ["kim", "lou"] {
        for file in ["report.html", "report.md", "summary.md", "customers.csv", "email.eml"] {
            assert!(dir.join("owners").join(owner).join(file).is_file(), "{owner}/{file}");
        }
    }
    assert!(!dir.join("owners/unassigned").exists(), "no book without a manager");
    // No leakage: each book's files and message hold its own accounts only.
    let kim = texts(&dir.join("owners/kim"));
    let lou = texts(&dir.join("owners/lou"));
    for name in ["Kimacct-Alpha-5150", "Kimacct-Cobalt-5152", "Kimacct-Elm-5153"] {
        assert!(kim.contains(name), "kim's book lists {name}");
        assert!(!lou.contains(name), "lou's book shows kim's {name}");
    }
    for name in ["Louacct-Birch-7781"] {
        assert!(lou.contains(name), "lou's book lists {name}");
    }
    for name in ["Louacct-Birch-7781", "Louacct-Delta-7782", "Louacct-Fir-7783", "Nobody-Gale-9901", "Nobody-Hazel-9902"] {
        assert!(!kim.contains(name), "kim's book shows {name}");
    }
    for name in ["Nobody-Gale-9901", "Nobody-Hazel-9902"] {
        assert!(!lou.contains(name), "lou's book shows {name}");
    }
    // Kim's email goes to Kim; Lou has no address, so no recipient.
    assert!(kim.contains("kim@example.com") && kim.contains("Your accounts, June 2024 (Kim Lee)"), "{kim}");
    assert!(!lou.contains("@example.com>") && !lou.contains("To: "), "lou has no address");
    // Kim's accounts with what a manager needs: MRR a month before, last
    // usage, open tickets, detractors, and when the term ends (a's
    // end_date; c and e renew monthly on the 1st and the 10th); a, whose
    // only subscription has that end date, is scheduled to cancel.
    let csv = fs::read_to_string(dir.join("owners/kim/customers.csv")).unwrap();
    let tail = |id: &str| csv.lines().find(|l| l.starts_with(&format!("{id},"))).map(|l| l.split(',').skip(13).collect::<Vec<_>>().join(","));
    assert_eq!(tail("a").as_deref(), Some("kim,150,2024-06-04,0,0,2024-12-01,2024-12-01"), "{csv}");
    assert_eq!(tail("c").as_deref(), Some("kim,1080,,0,0,2024-07-01,"), "{csv}");
    assert_eq!(tail("e").as_deref(), Some("kim,80,2024-05-20,1,0,2024-07-10,"), "{csv}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    // Ranked: a is scheduled to cancel (its end date is known), e is at risk
    // (and quiet since May 20, with an open ticket), c has had no usage.
    let book = fs::read_to_string(dir.join("owners/kim/report.md")).unwrap();
    let at = |name: &str| book.find(&format!("| {name} |")).unwrap_or_else(|| panic!("{name} listed: {book}"));
    assert!(at("Kimacct-Alpha-5150") < at("Kimacct-Elm-5153") && at("Kimacct-Elm-5153") < at("Kimacct-Cobalt-5152"), "{book}");
    assert!(book.contains("| Kimacct-Alpha-5150 | scheduled to cancel |"), "{book}");
    assert!(book.contains("| Kimacct-Elm-5153 | at risk, health falling, no usage in 30 days, open tickets |"), "{book}");
    // The main report's team table names both managers and the unowned.
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("| Kim Lee | 3 | 1,430.00 USD |"), "{md}");
    // The at-risk list names each account's owner.
    assert!(md.contains("| Kimacct-Elm-5153 | SMB | kim |"), "{md}");
    assert!(md.contains("| lou | 1 | 250.00 USD |"), "{md}");
    assert!(md.contains("### Accounts without a manager") && md.contains("Nobody-Gale-9901"), "{md}");
}

#[test]
fn an_owner_without_a_valid_address_or_twice_is_bad_input() {
    let (s, config) = owned();
    s.write("data/owners.csv", "owner,name,email\nkim,Kim Lee,kim at example.com\nlou,Lou,lou@example.com\nlou,Lou B,\"Lou <lou@example.com>\"\n");
    let err = s.run_fails("2024-06", &["--config", &config], 2);
    assert!(err.contains("owners") && err.contains("email") && err.contains("must be one valid email address"), "{err}");
    assert!(err.contains("kim at example.com") && err.contains("Lou <lou@example.com>"), "{err}");
    assert!(err.contains("must be unique"), "{err}");
    assert!(!s.out().join("2024-06").exists(), "nothing published");
}

/// Issue 27, case 7: an owner id that reads `unassigned` stays apart from
/// the customers without an owner, whatever it is called. February on the
/// `revenue` fixture (its README): A 100, B 60, C 1200, D 100.
#[test]
fn an_owner_called_unassigned_is_not_merged_with_the_customers_without_one() {
    let s = Scenario::fixture("revenue");
    let customers = fs::read_to_string(s.data().join("customers.csv")).unwrap();
    let mut lines = customers.lines();
    let mut text = format!("{},owner\n", lines.next().unwrap());
    for line in lines {
        let owner = match &line[..2] {
            "A," => "unassigned",
            "B," => "",
            "C," => "\"unassigned (owner id)\"",
            _ => "bo",
        };
        text.push_str(&format!("{line},{owner}\n"));
    }
    s.write("data/customers.csv", &text);
    let m = s.run("2024-02", &[]);
    m.assert_in("mrr", "owner", "unassigned", Some(60.0));
    m.assert_in("mrr", "owner", "unassigned (owner id)", Some(100.0));
    m.assert_in("mrr", "owner", "unassigned (owner id) (owner id)", Some(1200.0));
    m.assert_in("mrr", "owner", "bo", Some(100.0));
    let report = fs::read_to_string(s.out().join("2024-02/report.md")).unwrap();
    assert!(report.contains("shown as `unassigned (owner id)` to keep the two apart"), "{report}");
}
