//! How numbers are written: plain decimals for machines (CSV, JSON) and
//! readable figures for people (the report filters).

use crate::model::unit::Unit;

/// Groups the integer part in thousands: 1234567.5 -> "1,234,567.50".
pub fn grouped(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    let negative = v < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0');
    if negative {
        out.insert(0, '−');
    }
    out
}

pub const NA: &str = "n/a";

/// The words a code of the data (a segment, region, channel...) is shown
/// with: the config's `labels` first, then the usual names, then the code
/// with `_` as spaces and a capital first letter (`paid_search` is "Paid
/// search"). Anything that is not a plain code (an owner id with a dot, a
/// name) is shown as it is. The CSV and JSON outputs keep the codes.
pub fn label(code: &str, custom: &std::collections::BTreeMap<String, String>) -> String {
    if let Some(words) = custom.get(code) {
        return words.clone();
    }
    let known = match code {
        "smb" => "SMB",
        "mid_market" => "Mid-market",
        "enterprise" => "Enterprise",
        "emea" => "EMEA",
        "apac" => "APAC",
        "latam" => "LATAM",
        "north_america" => "North America",
        "unknown" => "Unknown",
        "unassigned" => "Unassigned",
        "cross_sell" => "Cross-sell",
        "one_time" => "One-time",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return code.to_string();
    }
    let words = code.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| first.to_ascii_uppercase().to_string() + chars.as_str())
}

/// A number as people read it at a glance: 74.2k, 1.2M, 950, 0.6; for chart
/// axes, labels and the email.
pub fn compact(v: f64) -> String {
    if !v.is_finite() {
        return NA.to_string();
    }
    // Three significant digits (1,013,953 is 1.01M, not 1M), trailing
    // zeros dropped; a value that rounds up to 1000 of a unit is one of
    // the next (999,960 is 1M, not 1000k).
    const UNITS: [&str; 4] = ["", "k", "M", "B"];
    let text = |scaled: f64| {
        let decimals = if scaled < 10.0 { 2 } else if scaled < 100.0 { 1 } else { 0 };
        let mut text = format!("{scaled:.decimals$}");
        if text.contains('.') {
            text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
        }
        text
    };
    let (mut scaled, mut unit) = (v.abs(), 0);
    while scaled >= 1000.0 && unit < UNITS.len() - 1 {
        scaled /= 1000.0;
        unit += 1;
    }
    if text(scaled) == "1000" && unit < UNITS.len() - 1 {
        scaled /= 1000.0;
        unit += 1;
    }
    let shown = text(scaled);
    let sign = if v < 0.0 && shown.chars().any(|c| c.is_ascii_digit() && c != '0') { "−" } else { "" };
    format!("{sign}{shown}{}", UNITS[unit])
}

/// A value rounded the way people read it in an email: 74.2k USD, 1.2M USD,
/// 97.2 %, 144; the exact figure stays in the report and the CSV files.
pub fn glance(value: Option<f64>, unit: Unit, currency: &str) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else { return NA.to_string() };
    let whole = |v: f64| if v.abs() >= 10_000.0 { compact(v) } else { grouped(v, if v.abs() >= 10.0 || v.fract() == 0.0 { 0 } else { 1 }) };
    match unit {
        Unit::Money if v.abs() >= 1_000.0 => format!("{} {currency}", compact(v)),
        Unit::Money => format!("{} {currency}", grouped(v, if v.abs() >= 10.0 || v.fract() == 0.0 { 0 } else { 2 })),
        Unit::Percent => format!("{} %", grouped(v, 1)),
        Unit::Count | Unit::Score => whole(v),
        Unit::Ratio => grouped(v, 1),
        _ => human(Some(v), unit, currency),
    }
}

/// A change rounded for the email: "−2.4 %" of a value, "+0.5 pp" of a
/// percentage, "+12" of a count.
pub fn glance_delta(value: Option<f64>, unit: Unit, currency: &str) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else { return NA.to_string() };
    let sign = if v > 0.0 { "+" } else { "" };
    match unit {
        Unit::Percent => format!("{sign}{} pp", grouped(v, 1)),
        _ => format!("{sign}{}", glance(Some(v), unit, currency)),
    }
}

/// A value as a person reads it, by unit: money with thousands separators,
/// percentages with a % sign, counts as whole numbers.
pub fn human(value: Option<f64>, unit: Unit, currency: &str) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else { return NA.to_string() };
    match unit {
        Unit::Money => format!("{} {currency}", grouped(v, 2)),
        Unit::Percent => format!("{} %", grouped(v, 1)),
        Unit::Count => grouped(v, if v.fract() == 0.0 { 0 } else { 1 }),
        Unit::Ratio => grouped(v, 2),
        Unit::Months => format!("{} months", grouped(v, 1)),
        Unit::Years => format!("{} years", grouped(v, 1)),
        Unit::Days => format!("{} days", grouped(v, 1)),
        Unit::Hours => format!("{} h", grouped(v, 1)),
        Unit::Minutes => format!("{} min", grouped(v, 1)),
        Unit::Score => grouped(v, 1),
    }
}

/// A change with its sign: "+12.5 %", "−3", "n/a". Percentage-point changes
/// of a percent metric read "pp".
pub fn delta(value: Option<f64>, unit: Unit, currency: &str) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else { return NA.to_string() };
    let sign = if v > 0.0 { "+" } else { "" };
    match unit {
        Unit::Percent => format!("{sign}{} pp", grouped(v, 1)),
        _ => format!("{sign}{}", human(Some(v), unit, currency)),
    }
}

/// Escapes text for Markdown, so a customer called `|`, `[x](javascript:…)`
/// or `<script>` cannot break a table, make a link or inject HTML into a
/// renderer, and a line break cannot start a new block. Every value a
/// Markdown template prints goes through it (see `report::environment`);
/// parentheses, `+`, `!`, `#` inside a line, underscores inside a word
/// and paired backticks stay as they are, so
/// ordinary text reads unchanged in the raw file.
pub fn markdown(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    // Paired backticks are code spans (`usage_events` in a message), shown
    // as such; an odd one could pair with the template's own text.
    let spans = chars.iter().filter(|c| **c == '`').count() % 2 == 0;
    let word = |i: Option<usize>| i.and_then(|i| chars.get(i)).is_some_and(|c| c.is_alphanumeric());
    let mut out = String::with_capacity(text.len());
    for (i, &ch) in chars.iter().enumerate() {
        match ch {
            // Inside a word (`paid_search`) an underscore emphasises nothing.
            '_' if word(i.checked_sub(1)) && word(Some(i + 1)) => out.push('_'),
            '`' if spans => out.push('`'),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '#' if i == 0 => out.push_str("\\#"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Text for a plain-text document (the text part of the email): one line,
/// control characters and line breaks made spaces, so a value cannot forge
/// a line of its own.
pub fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::text::{csv_field, plain};

    #[test]
    fn codes_are_shown_as_words() {
        let mut custom = std::collections::BTreeMap::new();
        custom.insert("emea".to_string(), "Europe & Africa".to_string());
        assert_eq!(label("mid_market", &custom), "Mid-market");
        assert_eq!(label("north_america", &custom), "North America");
        assert_eq!(label("emea", &custom), "Europe & Africa", "the config wins");
        assert_eq!(label("paid_search", &custom), "Paid search");
        assert_eq!(label("ana.silva", &custom), "ana.silva", "an id is shown as it is");
        assert_eq!(label("Mixed Case", &custom), "Mixed Case");
    }



    #[test]
    fn human_numbers() {
        assert_eq!(human(Some(1234567.891), Unit::Money, "USD"), "1,234,567.89 USD");
        assert_eq!(human(Some(-1234.5), Unit::Money, "EUR"), "−1,234.50 EUR");
        assert_eq!(human(Some(4.56), Unit::Percent, "USD"), "4.6 %");
        assert_eq!(human(Some(120.0), Unit::Count, "USD"), "120");
        assert_eq!(human(None, Unit::Ratio, "USD"), "n/a");
        assert_eq!(delta(Some(2.0), Unit::Percent, "USD"), "+2.0 pp");
        assert_eq!(delta(Some(-0.0001), Unit::Money, "USD"), "0.00 USD");
    }

    #[test]
    fn email_figures_are_rounded_as_people_read_them() {
        assert_eq!(glance(Some(74_230.1), Unit::Money, "USD"), "74.2k USD");
        assert_eq!(glance(Some(1_234_567.0), Unit::Money, "EUR"), "1.23M EUR");
        assert_eq!(glance(Some(328.87), Unit::Money, "USD"), "329 USD");
        assert_eq!(glance(Some(4.5), Unit::Money, "USD"), "4.50 USD");
        assert_eq!(glance(Some(0.0), Unit::Money, "USD"), "0 USD");
        assert_eq!(glance(Some(97.24), Unit::Percent, "USD"), "97.2 %");
        assert_eq!(glance(Some(144.0), Unit::Count, "USD"), "144");
        assert_eq!(glance(Some(52_300.0), Unit::Count, "USD"), "52.3k");
        assert_eq!(glance(Some(-3.0), Unit::Score, "USD"), "−3");
        assert_eq!(glance(Some(3.24), Unit::Ratio, "USD"), "3.2");
        assert_eq!(glance(None, Unit::Money, "USD"), NA);
        assert_eq!(glance_delta(Some(-1_810.9), Unit::Money, "USD"), "−1.81k USD");
        assert_eq!(glance_delta(Some(0.5), Unit::Percent, "USD"), "+0.5 pp");
        assert_eq!(glance_delta(Some(-3.0), Unit::Count, "USD"), "−3");
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(74_230.1), "74.2k");
        assert_eq!(compact(1_234_567.0), "1.23M");
        assert_eq!(compact(1_013_953.0), "1.01M", "three significant digits, not 1M");
        assert_eq!(compact(890_761.16), "891k");
        assert_eq!(compact(999_960.0), "1M", "rounds up into the next unit");
        assert_eq!(compact(999.7), "1k");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(0.6029), "0.6");
        assert_eq!(compact(-1_810.9), "−1.81k");
        assert_eq!(compact(2_000.0), "2k");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(3.2e9), "3.2B");
    }

    #[test]
    fn markdown_and_csv_escaping() {
        assert_eq!(markdown("a|b <script>"), "a\\|b &lt;script&gt;");
        // A link, emphasis, a heading, a new line: none survives.
        assert_eq!(markdown("[x](javascript:alert(1))"), "\\[x\\](javascript:alert(1))");
        assert_eq!(markdown("# _big_ *bold*\nline"), "\\# \\_big\\_ \\*bold\\* line");
        // What ordinary text holds reads as it is.
        assert_eq!(markdown("paid_search (12 months) +5 #1!"), "paid_search (12 months) +5 #1!");
        assert_eq!(markdown("needs `usage_events`"), "needs `usage_events`");
        assert_eq!(markdown("a ` b"), "a \\` b");
        assert_eq!(csv_field("Acme, \"Inc\""), "\"Acme, \"\"Inc\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_defused() {
        assert_eq!(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field("a=b"), "a=b");
        assert_eq!(plain(Some(-2.5)), "-2.5", "numbers are not text cells");
    }
}
