//! The executive summary as an email: a subject line, a plain-text part and
//! an HTML part rendered from templates (`email.txt.j2`, `email.html.j2`)
//! with the same context as the report, the HTML's CSS inlined for mail
//! clients that drop `<style>`, a few of the report's charts as PNG images
//! (`cid:`), and the at-risk customers as a CSV attachment. Turning this
//! into a MIME message and sending it is `deliver`'s job.

use minijinja::Environment;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::rows::CustomerRow;
use crate::model::text::{csv_field, plain};
use crate::model::unit::Unit;
use crate::report::format::glance;
use crate::report::{at_risk_view, on_at_risk_list, render_template, ReportContext};

/// The charts the email shows, in order, when the report has them.
pub const CHARTS: [&str; 5] = ["mrr", "bridge_month", "retention", "churn", "health"];
/// The width images are shown at: the 600 px message less its padding.
pub const IMAGE_WIDTH: u32 = 576;
/// Gmail clips a message whose HTML passes about 102 KB.
pub const HTML_LIMIT: usize = 100 * 1024;

/// A chart as the email template places it.
#[derive(Debug, Clone, Serialize)]
pub struct EmailChart {
    pub cid: String,
    /// The chart's PNG in the output folder (`charts/<id>.png`).
    pub png: String,
    pub title: String,
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

/// A picture the HTML shows by `cid:`.
#[derive(Debug, Clone)]
pub struct Image {
    pub cid: String,
    pub file_name: String,
    pub png: Vec<u8>,
}

/// A file attached to the message.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Everything the message carries, before it is addressed.
#[derive(Debug, Clone)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub images: Vec<Image>,
    pub attachments: Vec<Attachment>,
}

/// `Customer success report, October 2026: MRR 74.2k USD (−2.4 %)`, with
/// a warning in front when the data is stale.
pub fn subject(context: &ReportContext) -> String {
    let mut out = String::new();
    if !context.stale.is_empty() {
        out.push_str("[stale data] ");
    }
    match &context.book {
        Some(book) => out.push_str(&format!("Your accounts, {} ({})", context.period_label, book.name)),
        None => out.push_str(&format!("Customer success report, {}", context.period_label)),
    }
    if let Some(mrr) = context.key.get("mrr").filter(|m| m.value.is_some()) {
        out.push_str(&format!(": MRR {}", glance(mrr.value, Unit::Money, &context.currency)));
        if let Some(pct) = mrr.trend.change_pct.filter(|p| p.is_finite()) {
            let sign = if pct > 0.0 { "+" } else { "" };
            out.push_str(&format!(" ({sign}{} %)", crate::report::format::grouped(pct, 1)));
        }
    }
    out
}

/// The email's charts, as the template shows them, from the report's.
pub fn charts(context: &ReportContext) -> Vec<EmailChart> {
    CHARTS
        .iter()
        .filter_map(|id| context.charts.iter().find(|c| c.id == *id))
        .map(|c| EmailChart {
            cid: format!("{}@cs-report", c.id),
            png: c.png.clone(),
            title: c.title.clone(),
            alt: c.alt.clone(),
            width: IMAGE_WIDTH,
            height: (IMAGE_WIDTH as f64 * crate::report::charts::HEIGHT / crate::report::charts::WIDTH).round() as u32,
        })
        .collect()
}

/// The file name of the at-risk attachment.
pub fn at_risk_file(context: &ReportContext) -> String {
    format!("at-risk-{}.csv", context.period)
}

/// Every at-risk customer, most MRR first, with what moved: the list a CSM
/// works through.
pub fn at_risk_csv(customers: &[CustomerRow], before: &str) -> String {
    let mut rows: Vec<&CustomerRow> = customers.iter().filter(|c| on_at_risk_list(c)).collect();
    rows.sort_by(|a, b| b.mrr.total_cmp(&a.mrr).then_with(|| a.customer_id.cmp(&b.customer_id)));
    let mut out =
        String::from("customer_id,name,segment,region,mrr,health,usage,sentiment,support,revenue,scheduled_to_cancel,owner,changes\n");
    for c in rows {
        let view = at_risk_view(c, before);
        let mut cells = c.lead_cells().to_vec();
        cells.extend([
            plain(c.usage),
            plain(c.sentiment),
            plain(c.support),
            plain(c.revenue),
            c.cancels_on.map(|d| d.to_string()).unwrap_or_default(),
            csv_field(&c.owner),
            csv_field(&view.changes),
        ]);
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Renders the email of a report. `pngs` are the report's chart files
/// (`charts/<id>.png`, bytes); the context must carry the email's charts
/// and subject (see [`charts`], [`subject`]).
/// `report_html`: the full report, attached when the config asks for it.
pub fn build(
    env: &Environment<'_>,
    context: &ReportContext,
    pngs: &[(String, Vec<u8>)],
    customers: &[CustomerRow],
    report_html: Option<&[u8]>,
) -> Result<Email> {
    let text = render_template(env, "email.txt.j2", context)?;
    let html = render_template(env, "email.html.j2", context)?;
    let failed = |what: String| Error::Render {
        template: "email.html.j2".into(),
        source: minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, what),
    };
    // Gmail, Outlook and most webmail drop or rewrite <style>: every rule
    // goes into the style attribute of the elements it applies to.
    let html = css_inline::inline(&html).map_err(|e| failed(format!("inlining its CSS: {e}")))?;
    for (found, why) in [
        ("src=\"data:", "an image is a data: URI, which Gmail and Outlook block; show charts by cid:"),
        ("<svg", "it holds SVG, which Gmail and Outlook do not show; show charts as cid: PNG images"),
    ] {
        if html.contains(found) {
            return Err(failed(why.to_string()));
        }
    }
    if html.len() > HTML_LIMIT {
        crate::log::warn(&format!(
            "the email's HTML is {} KB; Gmail clips messages over about 102 KB (a custom email.html.j2 may be too long)",
            html.len() / 1024
        ));
    }
    let images = context
        .email_charts
        .iter()
        .filter_map(|c| {
            pngs.iter().find(|(name, _)| *name == c.png).map(|(_, png)| Image {
                cid: c.cid.clone(),
                file_name: c.png.trim_start_matches("charts/").to_string(),
                png: png.clone(),
            })
        })
        .collect();
    let mut attachments = Vec::new();
    if context.at_risk_total > 0 {
        attachments.push(Attachment {
            file_name: at_risk_file(context),
            content_type: "text/csv; charset=utf-8",
            bytes: at_risk_csv(customers, context.prev_label).into_bytes(),
        });
    }
    if let Some(bytes) = report_html {
        attachments.push(Attachment {
            file_name: format!("report-{}.html", context.period),
            content_type: "text/html; charset=utf-8",
            bytes: bytes.to_vec(),
        });
    }
    Ok(Email { subject: context.subject.clone(), text, html, images, attachments })
}
