//! Numbers and text as every output writes them: plain decimals that
//! round-trip, JSON numbers, CSV fields safe for spreadsheets, checksums.

use sha2::{Digest, Sha256};

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

pub fn sha256(text: &str) -> String {
    sha256_bytes(text.as_bytes())
}

pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
}
