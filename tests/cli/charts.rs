//! The report's charts: drawn once, inline SVG in the HTML report and the
//! same pictures as PNG files for the Markdown report.

use std::fs;

use crate::support::*;

#[test]
fn the_report_has_its_charts_as_inline_svg_and_as_png_files() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    let dir = s.out().join("2024-03");
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    for id in ["mrr", "bridge_month", "bridge_window", "retention", "churn", "mrr_by_segment", "nrr_by_segment", "mrr_by_region", "nrr_by_region"] {
        let png = fs::read(dir.join(format!("charts/{id}.png"))).unwrap_or_else(|e| panic!("charts/{id}.png: {e}"));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{id}");
        assert!(html.contains(&format!(r#"<figure id="chart-{id}"><svg"#)), "{id} inline in the HTML");
        assert!(html.contains(&format!(r#"<title id="{id}-title">"#)), "{id} has a title");
        assert!(md.contains(&format!("](charts/{id}.png)")), "{id} in the Markdown");
        assert!(manifest["outputs"].get(format!("charts/{id}.png")).is_some(), "{id} in the manifest");
    }
    // No survey answers in this fixture: no NPS chart rather than an empty one.
    assert!(!dir.join("charts/nps_split.png").exists());
    // The MRR chart's words and its ARR note come from the computed series,
    // in three significant digits.
    assert!(html.contains("ARR 20.8k USD"), "ARR 20,760 USD in the note");
    assert!(md.contains("1.73k USD in March 2024"), "{md}");
    // The bridge of the month, as in the fixture's README: 1,460 → 1,730.
    assert!(html.contains("MRR from 1.46k USD to 1.73k USD: new +200, reactivation +90, expansion +50, contraction −60, churn −60, exchange rates +50."));
    // Small multiples: each slice with its latest value (smb 280, enterprise 1,450).
    assert!(html.contains("in March 2024: Enterprise 1.45k, SMB 280."), "segment sparklines");
    assert!(folder_is_complete(&dir));
}
