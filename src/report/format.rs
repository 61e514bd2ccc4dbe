//! How numbers are written: plain decimals for machines (CSV, JSON) and
//! readable figures for people (the report filters).

use crate::metrics::catalog::Unit;

/// Decimal places kept in machine output. Money sums are exact in DuckDB;
/// ratios are doubles, so the last bits are rounded away to keep reruns
/// byte-identical.
const PLAIN_DECIMALS: usize = 10;

/// Significant digits a double carries for any value (DBL_DIG).
const SIGNIFICANT_DIGITS: usize = 15;

/// A plain decimal: `.` separator, no thousands separator, no exponent, no
/// unit, trailing zeros trimmed; empty for null.
///
/// The digits are the shortest decimal that reads back as the same double
/// (what DuckDB's exact decimal sum was before it became a double), rounded
/// as a decimal to at most 10 places. Printing the double's binary
/// expansion to 10 places instead shows its error: 846187.3056 came out as
/// 846187.3056000001.
pub fn plain(value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else { return String::new() };
    // Rust's `Display` for f64 is the shortest round-trip form, never an exponent.
    let shortest = v.to_string();
    // A double holds 15 significant digits for sure: digits past those are
    // the error of the arithmetic (a mean of three amounts of 381950.31 came
    // out as 381950.3100000001), never information.
    let int_digits = shortest.trim_start_matches('-').split('.').next().map_or(0, |i| i.trim_start_matches('0').len());
    let places = PLAIN_DECIMALS.min(SIGNIFICANT_DIGITS.saturating_sub(int_digits));
    let mut s = round_decimal(&shortest, places);
    if s.contains('.') {
        s.truncate(s.trim_end_matches('0').trim_end_matches('.').len());
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// `a - b` as [`plain`] writes it, computed on the two values' plain
/// digits, so the difference of two exact money amounts is exact too (a
/// subtraction of doubles shows their error: 33616.0038000001).
pub fn plain_diff(a: Option<f64>, b: Option<f64>) -> String {
    let (Some(a), Some(b)) = (scaled(&plain(a)), scaled(&plain(b))) else { return String::new() };
    let d = a - b;
    let scale = 10i128.pow(PLAIN_DECIMALS as u32);
    let sign = if d < 0 { "-" } else { "" };
    let (int, frac) = (d.abs() / scale, d.abs() % scale);
    let text = format!("{sign}{int}.{frac:0width$}", width = PLAIN_DECIMALS);
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" { "0".to_string() } else { trimmed.to_string() }
}

/// Plain decimal text as an integer of 10^-10 units (`None` when empty).
fn scaled(text: &str) -> Option<i128> {
    if text.is_empty() {
        return None;
    }
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let frac = format!("{frac:0<width$}", width = PLAIN_DECIMALS);
    let value = int.parse::<i128>().ok()? * 10i128.pow(PLAIN_DECIMALS as u32) + frac.parse::<i128>().ok()?;
    Some(if negative { -value } else { value })
}

/// Rounds decimal text (`-12.345`) to `places` decimals, half away from
/// zero, on the digits themselves (no binary arithmetic).
fn round_decimal(text: &str, places: usize) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() <= places {
        return text.to_string();
    }
    let round_up = frac.as_bytes()[places] >= b'5';
    let mut kept: Vec<u8> = int.bytes().chain(frac[..places].bytes()).collect();
    if round_up {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - places;
    let (int, frac) = kept.split_at(split);
    let int = String::from_utf8_lossy(int);
    let sign = if negative { "-" } else { "" };
    if places == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{}", String::from_utf8_lossy(frac))
    }
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

/// A number as people read it at a glance: 74.2k, 1.2M, 950, 0.6; for chart
/// axes, labels and the email.
pub fn compact(v: f64) -> String {
    if !v.is_finite() {
        return NA.to_string();
    }
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (a / 1e9, "B")
    } else if a >= 1e6 {
        (a / 1e6, "M")
    } else if a >= 1e3 {
        (a / 1e3, "k")
    } else {
        (a, "")
    };
    let decimals = if suffix.is_empty() && a < 10.0 { 2 } else { 1 };
    let mut text = format!("{scaled:.decimals$}");
    if text.contains('.') {
        text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
    }
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { "−" } else { "" };
    format!("{sign}{text}{suffix}")
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

/// A text cell of a CSV file the project writes: quoted when it needs it
/// (RFC 4180), and defused when a spreadsheet would run it as a formula
/// (OWASP's rule: a cell starting with `=`, `+`, `-`, `@`, tab or carriage
/// return gets a leading `'`). Numbers are written with [`plain`], never
/// through this, so a negative value keeps its sign.
pub fn csv_field(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        csv_quote(&format!("'{text}"))
    } else {
        csv_quote(text)
    }
}

/// Quotes a CSV field when it needs it (RFC 4180), nothing more: for data
/// written as the exports would hold it (the sample generator).
pub fn csv_quote(text: &str) -> String {
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
        // The double nearest 846187.3056 lies above it by 5.8e-11: its digits,
        // not its binary expansion.
        assert_eq!(plain(Some(846187.3056)), "846187.3056");
        assert_eq!(plain(Some(1e15 + 0.5)), "1000000000000001", "no more than 15 significant digits");
        assert_eq!(plain(Some((381950.31 + 381950.31 + 381950.31) / 3.0)), "381950.31");
        assert_eq!(plain(Some(24794.824173333333)), "24794.8241733333");
        assert_eq!(plain(Some(2.0 / 3.0)), "0.6666666667");
        assert_eq!(plain(Some(-2.0 / 3.0)), "-0.6666666667");
        assert_eq!(plain(Some(9.99999999999)), "10");
        assert_eq!(plain(Some(99.999999999951)), "100");
        assert_eq!(plain(Some(1e-11)), "0");
        assert_eq!(plain(Some(1.5e-10)), "0.0000000002");
        assert_eq!(plain(Some(1e21)), "1000000000000000000000");
        assert_eq!(plain(Some(0.000123456789012345)), "0.0001234568");
    }

    #[test]
    fn differences_of_exact_amounts_are_exact() {
        assert_eq!(plain(Some(573576.7188 - 539960.715)), "33616.0038000001", "the double difference is not");
        assert_eq!(plain_diff(Some(573576.7188), Some(539960.715)), "33616.0038");
        assert_eq!(plain_diff(Some(10.5), Some(12.75)), "-2.25");
        assert_eq!(plain_diff(Some(1.0), Some(1.0)), "0");
        assert_eq!(plain_diff(Some(0.1), Some(0.3)), "-0.2");
        assert_eq!(plain_diff(None, Some(1.0)), "");
        assert_eq!(plain_diff(Some(2.0 / 3.0), Some(0.0)), "0.6666666667");
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
        assert_eq!(glance(Some(1_234_567.0), Unit::Money, "EUR"), "1.2M EUR");
        assert_eq!(glance(Some(328.87), Unit::Money, "USD"), "329 USD");
        assert_eq!(glance(Some(4.5), Unit::Money, "USD"), "4.50 USD");
        assert_eq!(glance(Some(0.0), Unit::Money, "USD"), "0 USD");
        assert_eq!(glance(Some(97.24), Unit::Percent, "USD"), "97.2 %");
        assert_eq!(glance(Some(144.0), Unit::Count, "USD"), "144");
        assert_eq!(glance(Some(52_300.0), Unit::Count, "USD"), "52.3k");
        assert_eq!(glance(Some(-3.0), Unit::Score, "USD"), "−3");
        assert_eq!(glance(Some(3.24), Unit::Ratio, "USD"), "3.2");
        assert_eq!(glance(None, Unit::Money, "USD"), NA);
        assert_eq!(glance_delta(Some(-1_810.9), Unit::Money, "USD"), "−1.8k USD");
        assert_eq!(glance_delta(Some(0.5), Unit::Percent, "USD"), "+0.5 pp");
        assert_eq!(glance_delta(Some(-3.0), Unit::Count, "USD"), "−3");
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(74_230.1), "74.2k");
        assert_eq!(compact(1_234_567.0), "1.2M");
        assert_eq!(compact(890_761.16), "890.8k");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(0.6029), "0.6");
        assert_eq!(compact(-1_810.9), "−1.8k");
        assert_eq!(compact(2_000.0), "2k");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(3.2e9), "3.2B");
    }

    #[test]
    fn markdown_and_csv_escaping() {
        assert_eq!(markdown("a|b <script>"), "a\\|b &lt;script&gt;");
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
