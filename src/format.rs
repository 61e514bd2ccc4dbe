//! How numbers are written: plain decimals for machines (CSV, JSON) and
//! readable figures for people (the report filters).

use crate::catalog::Unit;

/// Decimal places kept in machine output. Money sums are exact in DuckDB;
/// ratios are doubles, so the last bits are rounded away to keep reruns
/// byte-identical.
const PLAIN_DECIMALS: usize = 10;

/// A plain decimal: `.` separator, no thousands separator, no exponent, no
/// unit, trailing zeros trimmed; empty for null.
pub fn plain(value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else { return String::new() };
    let mut s = format!("{v:.PLAIN_DECIMALS$}");
    if s.contains('.') {
        s.truncate(s.trim_end_matches('0').trim_end_matches('.').len());
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// The same rounding as [`plain`], as a JSON number (or null).
pub fn json_number(value: Option<f64>) -> serde_json::Value {
    plain(value)
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

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

/// Escapes text from the data for Markdown, so a customer called `|` or
/// `<script>` cannot break a table or inject HTML into a renderer.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers() {
        assert_eq!(plain(None), "");
        assert_eq!(plain(Some(f64::NAN)), "");
        assert_eq!(plain(Some(1200.0)), "1200");
        assert_eq!(plain(Some(100.0 / 3.0)), "33.3333333333");
        assert_eq!(plain(Some(0.1 + 0.2)), "0.3");
        assert_eq!(plain(Some(-1e-12)), "0");
        assert_eq!(plain(Some(-2.5)), "-2.5");
        assert_eq!(plain(Some(12345678901.25)), "12345678901.25");
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
    fn markdown_and_csv_escaping() {
        assert_eq!(markdown("a|b <script>"), "a\\|b &lt;script&gt;");
        assert_eq!(csv_field("Acme, \"Inc\""), "\"Acme, \"\"Inc\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
