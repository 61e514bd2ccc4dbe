//! Hostile text (issue 27, case 1): names, segments, regions, owners and
//! labels that hold Markdown, HTML, links and line breaks reach every
//! document as text, never as structure.

use std::fs;
use std::path::Path;

use crate::support::*;

const NAME: &str = "[x](javascript:alert(1)) <img src=x onerror=alert(1)> | *b* # head";
const SEGMENT: &str = "<b>seg</b>|[y](javascript:z)";
const REGION: &str = "# region\nline two";
const OWNER: &str = "evil<script>";
const OWNER_NAME: &str = "`Evil` [z](javascript:q) | #";
const LABEL: &str = "<i>lab</i> [k](javascript:k)";

/// The revenue fixture with every text field hostile somewhere.
fn hostile() -> Scenario {
    let s = Scenario::fixture("revenue");
    let customers = fs::read_to_string(s.data().join("customers.csv")).unwrap();
    let q = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let mut lines = customers.lines();
    let mut text = format!("{},owner\n", lines.next().unwrap());
    for line in lines {
        let row = match &line[..2] {
            "A," => format!("A,{},2023-12-10,smb,emea,paid_search,{}", q(NAME), q(OWNER)),
            "E," => format!("E,Epsilon,2024-03-20,{},north_america,partner,{}", q(SEGMENT), q(OWNER)),
            "C," => format!("C,Gamma GmbH,2023-11-01,enterprise,{},events,bo", q(REGION)),
            _ => format!("{line},bo"),
        };
        text.push_str(&row);
        text.push('\n');
    }
    s.write("data/customers.csv", &text);
    s.write("data/owners.csv", &format!("owner,name,email\n{},{},evil@example.com\n", q(OWNER), q(OWNER_NAME)));
    s.write("hostile.yaml", &format!("labels:\n  emea: {}\n", q(LABEL)));
    s
}

/// Every document of a folder and its books, by path: the text part and
/// the HTML part of each email apart.
fn documents(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = path.display().to_string();
        if path.is_dir() {
            documents(&path, out);
        } else if name.ends_with(".eml") {
            let bytes = fs::read(&path).unwrap();
            let mail = mailparse::parse_mail(&bytes).unwrap();
            let alternative = &mail.subparts[0];
            out.push((format!("{name} (text)"), alternative.subparts[0].get_body().unwrap()));
            out.push((format!("{name} (html)"), alternative.subparts[1].subparts[0].get_body().unwrap()));
        } else if name.ends_with(".md") || name.ends_with(".html") {
            out.push((name, fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn hostile_text_stays_text_in_every_document() {
    let s = hostile();
    let config = s.dir.path().join("hostile.yaml");
    let done = s.run_output("2024-03", &["--config", config.to_str().unwrap()]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let mut docs = Vec::new();
    documents(&s.out().join("2024-03"), &mut docs);
    assert!(docs.len() >= 10, "{} documents", docs.len());
    let mut seen_name = 0;
    for (name, text) in &docs {
        if name.ends_with(".md") {
            // In HTML and plain text a Markdown link is only text.
            for link in ["[x](javascript", "[y](javascript", "[z](javascript", "[k](javascript"] {
                assert!(!text.contains(link), "{name} makes a link of {link}");
            }
        }
        for tag in ["<img src=x", "<script>", "<b>seg", "<i>lab"] {
            assert!(!text.contains(tag), "{name} holds the tag {tag}");
        }
        assert!(!text.contains("href=\"javascript"), "{name}");
        // A line break in the data never starts a line of its own (in
        // HTML it is only white space).
        if !name.ends_with(".html") && !name.ends_with("(html)") {
            assert!(!text.lines().any(|l| l.trim_start().starts_with("line two")), "{name}");
            assert!(!text.lines().any(|l| l.starts_with("# region") || l.starts_with("# head")), "{name}");
        }
        if name.ends_with(".md") {
            // Cells keep their table: a `|` of the data is escaped.
            for line in text.lines().filter(|l| l.contains("Epsilon") || l.contains("onerror")) {
                assert!(!line.contains("seg</b>|") && !line.contains("> | *b*"), "{name}: {line}");
            }
        }
        seen_name += text.contains("onerror=alert(1)") as usize;
    }
    // The names are still there, as text.
    assert!(seen_name >= 2, "the hostile name shows as text in the books and lists");
}

/// The other texts that reach a document: feature names from the usage
/// events, and an added metric's title and advice (`queries:`).
#[test]
fn hostile_features_and_metric_texts_stay_text() {
    let s = Scenario::fixture("cx");
    let events = fs::read_to_string(s.data().join("usage_events.csv")).unwrap();
    fs::write(s.data().join("usage_events.csv"), events.replace(",comment,", ",\"[f](javascript:f) <img src=f> | #f\",")).unwrap();
    s.write(
        "queries/odd/metric.yml",
        "title: \"[t](javascript:t) <script>t</script> | #\"\nunit: ratio\nformula: \"<b>f</b> | [f](javascript:f)\"\n\
         direction: up\ndefault: v1\nbreakdowns: [segment]\nadvice: \"[a](javascript:a) <img src=a>\"\nperiod: end\nversions:\n  v1: {}\n",
    );
    s.write("queries/odd/v1.sql", "select month, dimension, segment, 1.0 as value from mrr_month\n");
    let config = s.write("q.yaml", "queries: queries\n");
    s.run("2024-03", &["--config", config.to_str().unwrap()]);
    let mut docs = Vec::new();
    documents(&s.out().join("2024-03"), &mut docs);
    let mut shown = 0;
    for (name, text) in &docs {
        for tag in ["<img src=f", "<img src=a", "<script>t", "<b>f</b>"] {
            assert!(!text.contains(tag), "{name} holds the tag {tag}");
        }
        if name.ends_with(".md") {
            for link in ["[f](javascript", "[t](javascript", "[a](javascript"] {
                assert!(!text.contains(link), "{name} makes a link of {link}");
            }
        }
        shown += text.contains("javascript:t") as usize;
    }
    assert!(shown >= 1, "the added metric's title shows, as text");
}
