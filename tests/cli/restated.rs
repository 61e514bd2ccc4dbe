//! Restatements across reports: a monthly run compares every earlier
//! figure it shows with the value published for that month, says which
//! changed, by how much and why, and says nothing when nothing changed.
//!
//! Worked by hand on the `revenue` fixture (see its README), with owners:
//! B belongs to `ana`, everyone else to `bo`. February as published:
//! MRR 1460 (A 100, B 60, C 1200, D 100), ARR 17520, 4 active customers,
//! paid revenue 460 (A 100, B 60, D 300). Then two late changes dated in
//! February arrive: B's cancellation is back-dated from 2024-03-01 to
//! 2024-02-10 (MRR 1400, ARR 16800, 3 active customers), and a paid 40 USD
//! invoice of A dated 2024-02-28 (revenue 500).

use std::fs;

use crate::support::*;

/// The revenue fixture with an owner per customer.
fn with_owners() -> Scenario {
    let s = Scenario::fixture("revenue");
    let customers = fs::read_to_string(s.data().join("customers.csv")).unwrap();
    let mut lines = customers.lines();
    let mut text = format!("{},owner\n", lines.next().unwrap());
    for line in lines {
        let owner = if line.starts_with("B,") { "ana" } else { "bo" };
        text.push_str(&format!("{line},{owner}\n"));
    }
    s.write("data/customers.csv", &text);
    s
}

/// February's late changes.
fn late_rows(s: &Scenario) {
    s.edit("subscriptions.csv", "s3,B,basic,2024-01-20,2024-03-01,", "s3,B,basic,2024-01-20,2024-02-10,");
    let invoices = fs::read_to_string(s.data().join("invoices.csv")).unwrap();
    s.write("data/invoices.csv", &format!("{invoices}i18,A,2024-02-28,40,USD,paid,one_time\n"));
}

fn read(s: &Scenario, file: &str) -> String {
    fs::read_to_string(s.out().join("2024-03").join(file)).unwrap()
}

#[test]
fn no_change_since_the_last_report_restates_nothing() {
    let s = with_owners();
    s.run("2024-02", &[]);
    s.run("2024-03", &[]);
    assert!(!s.out().join("2024-03/restatements.csv").exists());
    for file in ["report.md", "report.html", "summary.md", "email.eml", "owners/ana/report.md"] {
        let text = read(&s, file);
        assert!(!text.contains("Restated since") && !text.contains("class=\"restated\"") && !text.contains("(restated)"), "{file}");
    }
    let json: serde_json::Value = serde_json::from_str(&read(&s, "metrics.json")).unwrap();
    assert!(json.as_array().unwrap().iter().all(|r| r["restated"].as_array().unwrap().is_empty()));
    let manifest: serde_json::Value = serde_json::from_str(&read(&s, "manifest.json")).unwrap();
    assert!(manifest["restatements"].as_array().unwrap().is_empty());
    // What the inputs held per month is recorded, for the next run to compare.
    let feb = manifest["inputs_by_month"].as_array().unwrap().iter().find(|m| m["table"] == "invoices" && m["month"] == "2024-02").cloned();
    assert_eq!(feb.map(|m| (m["rows"].clone(), m["amount"].clone())), Some((3.into(), 460.0.into())));
}

#[test]
fn late_rows_of_last_month_are_listed_with_old_and_new_values_and_their_cause() {
    let s = with_owners();
    s.run("2024-02", &[]);
    late_rows(&s);
    s.run("2024-03", &[]);

    let csv = read(&s, "restatements.csv");
    let row = |metric: &str, dimension: &str, segment: &str| -> Vec<String> {
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{metric},2024-02,")) && l.contains(&format!(",{dimension},{segment},")))
            .unwrap_or_else(|| panic!("{metric} {dimension}={segment} not restated:\n{csv}"));
        let cells: Vec<&str> = line.splitn(11, ',').collect();
        vec![cells[6].into(), cells[7].into(), cells[8].into(), cells[10].trim_matches('"').into()]
    };
    let cancelled = "subscriptions starting or ending in 2024-02: 1 row the published run did not have, amounts +60.00 (in their own currencies)";
    let invoiced = "invoices dated 2024-02: 1 row the published run did not have, amounts +40.00 (in their own currencies)";
    assert_eq!(row("mrr", "all", "all"), ["1460", "1400", "-60", cancelled]);
    assert_eq!(row("arr", "all", "all"), ["17520", "16800", "-720", cancelled]);
    assert_eq!(row("active_customers", "all", "all"), ["4", "3", "-1", cancelled]);
    assert_eq!(row("revenue", "all", "all"), ["460", "500", "40", &format!("{invoiced}; {cancelled}")]);
    // The owners' slices add up to the company's changes: B's MRR was
    // ana's, A's invoice is bo's.
    assert_eq!(row("mrr", "owner", "ana")[..3], ["60", "0", "-60"]);
    assert!(!csv.lines().any(|l| l.starts_with("mrr,2024-02,v1,v1,owner,bo,")), "{csv}");
    assert_eq!(row("revenue", "owner", "bo")[..3], ["400", "440", "40"]);
    // Figures of months the inputs did not change are not listed.
    assert!(csv.lines().skip(1).all(|l| l.split(',').nth(1) == Some("2024-02")), "{csv}");

    // The report: one section, each figure marked where it shows again.
    let report = read(&s, "report.md");
    assert!(report.contains("## Restated since last report"), "{report}");
    assert!(report.contains("### February 2024"), "{report}");
    assert!(report.contains(&format!("Likely cause: {cancelled}.")), "{report}");
    assert!(report.contains("| Monthly recurring revenue | 1,460.00 USD | 1,400.00 USD | −60.00 USD |"), "{report}");
    assert!(report.contains("| 2024-02 | 1,400.00 USD (restated) |"), "{report}");
    let html = read(&s, "report.html");
    assert!(html.contains("title=\"Restated: published as 1,460.00 USD\">restated</span>"), "the MRR change on last month is marked");
    // The email and the summary list it too.
    let mail = fs::read(s.out().join("2024-03/email.eml")).unwrap();
    let mail = mailparse::parse_mail(&mail).unwrap();
    let text = mail.subparts[0].subparts[0].get_body().unwrap();
    assert!(text.contains("Restated since last report"), "{text}");
    assert!(text.contains("February 2024: Monthly recurring revenue 1.46k USD -> 1.4k USD (−60 USD)"), "{text}");
    assert!(text.contains(&format!("Likely cause: {cancelled}.")), "{text}");
    assert!(read(&s, "summary.md").contains("**Restated since last report**"));
    // metrics.json carries them on the row of the same metric and slice.
    let json: serde_json::Value = serde_json::from_str(&read(&s, "metrics.json")).unwrap();
    let mrr = json.as_array().unwrap().iter().find(|r| r["metric"] == "mrr" && r["dimension"] == "all").unwrap();
    let restated = &mrr["restated"][0];
    assert_eq!((restated["period"].as_str(), restated["published"].as_f64(), restated["value"].as_f64()), (Some("2024-02"), Some(1460.0), Some(1400.0)));
    assert_eq!(restated["cause"], cancelled);

    // The books agree with the company: ana's lists her MRR, bo's does not.
    let ana = read(&s, "owners/ana/report.md");
    assert!(ana.contains("| Monthly recurring revenue | 60.00 USD | 0.00 USD | −60.00 USD |"), "{ana}");
    let bo = read(&s, "owners/bo/report.md");
    assert!(bo.contains("| Revenue (paid invoices) | 400.00 USD | 440.00 USD | +40.00 USD |"), "{bo}");
    // An account active last month with no health score is not "not
    // active last month" (it was, with 1,200 of MRR); a new one is.
    let line = |name: &str| bo.lines().find(|l| l.starts_with(&format!("| {name} |"))).unwrap().to_string();
    assert!(!line("Gamma GmbH").contains("not active last month") && line("Epsilon").contains("not active last month"), "{bo}");
    let section = &bo[bo.find("## Restated since last report").unwrap()..bo.find("## MRR bridge").unwrap()];
    assert!(!section.contains("Monthly recurring revenue"), "{section}");
}
