//! Runtime values of scalar expressions, and the number, time and
//! comparison conversions every evaluator stage shares.
//!
//! Field values are strings (as loaded); numbers and times are recognised
//! when an operation needs them, the way Splunk treats a field value as a
//! number whenever it parses as one.

use std::cmp::Ordering;

/// The value of a scalar expression for one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Missing field, failed conversion, or an explicit null.
    Null,
    /// A boolean (comparisons, `true()`).
    Bool(bool),
    /// A number.
    Num(f64),
    /// A point in time, as epoch seconds (KQL `ago()`, SQL `dateadd()`).
    Time(f64),
    /// One string.
    Str(String),
    /// Several values (a multivalue field, `split()`, KQL dynamic arrays).
    Multi(Vec<String>),
}

impl Value {
    /// The value of a field given its stored values (missing or empty → null).
    pub fn from_field(values: Option<&[String]>) -> Value {
        match values {
            None | Some([]) => Value::Null,
            Some([one]) => Value::Str(one.clone()),
            Some(many) => Value::Multi(many.to_vec()),
        }
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The values this would store into a field (null → none).
    pub fn into_strings(self) -> Vec<String> {
        match self {
            Value::Null => Vec::new(),
            Value::Bool(b) => vec![b.to_string()],
            Value::Num(n) => vec![fmt_num(n)],
            Value::Time(t) => vec![fmt_time(t)],
            Value::Str(s) => vec![s],
            Value::Multi(v) => v,
        }
    }

    /// Every value as text (a multivalue gives each value).
    pub fn texts(&self) -> Vec<String> {
        self.clone().into_strings()
    }

    /// The single-value text form: the first value of a multivalue.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Multi(v) => v.first().cloned(),
            other => other.texts().into_iter().next(),
        }
    }

    /// The value as a number, when it is one or its text parses as one.
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Num(n) | Value::Time(n) => Some(*n),
            Value::Bool(_) | Value::Null => None,
            Value::Str(s) => parse_num(s),
            Value::Multi(v) => v.first().and_then(|s| parse_num(s)),
        }
    }

    /// The value as a boolean; `None` when it is null or not a boolean.
    pub fn truth(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
}

/// Parses a decimal number as Splunk and KQL accept it in a field value.
///
/// `inf`/`nan` spellings are rejected so that words never turn numeric.
pub fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim();
    let first = t.bytes().next()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    if t.bytes()
        .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Formats a number the way Splunk shows it: integers without a fraction.
pub fn fmt_num(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Parses a time: epoch seconds (with fraction), epoch milliseconds (a
/// number above 1e11, as EDR exports write them), or an ISO-8601 /
/// RFC 3339 date-time (UTC when no offset is given).
pub fn parse_time(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Some(n) = parse_num(t) {
        // Heuristic: epoch seconds stay below 1e11 until the year 5138.
        return Some(if n.abs() > 1e11 { n / 1000.0 } else { n });
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp() as f64 + f64::from(dt.timestamp_subsec_nanos()) / 1e9);
    }
    let t = t.trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            let u = dt.and_utc();
            return Some(u.timestamp() as f64 + f64::from(u.timestamp_subsec_nanos()) / 1e9);
        }
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp() as f64)
}

/// Formats epoch seconds as RFC 3339 UTC (for KQL/SQL time outputs).
pub fn fmt_time(secs: f64) -> String {
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    chrono::DateTime::from_timestamp(whole as i64, nanos).map_or_else(
        || fmt_num(secs),
        |d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

/// Parses a span or timespan: `1s`, `5m`, `1h`, `1d`, `2w`, `30sec`,
/// `10min`, `100ms`, or a bare number (seconds for times, units otherwise).
pub fn parse_span(s: &str) -> Option<f64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" | "millisecond" | "milliseconds" => 0.001,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        "tick" | "ticks" => 1e-7,
        _ => return None,
    };
    Some(n * mult)
}

/// Compares two strings: numerically when both are numbers, otherwise as
/// strings (case-folded when `ci`).
pub fn compare(a: &str, b: &str, ci: bool) -> Ordering {
    if let (Some(x), Some(y)) = (parse_num(a), parse_num(b)) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    if ci {
        fold(a).cmp(&fold(b))
    } else {
        a.cmp(b)
    }
}

/// Lower-cases for case-insensitive comparison (Unicode simple lowering).
pub fn fold(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        std::borrow::Cow::Owned(s.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Case-insensitive equality without allocating for ASCII text.
pub fn eq_fold(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_and_format() {
        assert_eq!(parse_num("42"), Some(42.0));
        assert_eq!(parse_num(" -1.5 "), Some(-1.5));
        assert_eq!(parse_num("inf"), None);
        assert_eq!(parse_num("nan"), None);
        assert_eq!(parse_num("0x10"), None);
        assert_eq!(parse_num(""), None);
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(2.5), "2.5");
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("1553024514.5"), Some(1553024514.5));
        assert_eq!(parse_time("1553024514500"), Some(1553024514.5));
        assert_eq!(parse_time("1970-01-01T00:01:00Z"), Some(60.0));
        assert_eq!(parse_time("1970-01-01 00:01:00.5"), Some(60.5));
        assert_eq!(
            parse_time("2019-03-19T19:41:54.1234567Z").map(f64::floor),
            Some(1553024514.0)
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(fmt_time(60.0), "1970-01-01T00:01:00Z");
    }

    #[test]
    fn spans_parse() {
        assert_eq!(parse_span("1s"), Some(1.0));
        assert_eq!(parse_span("5m"), Some(300.0));
        assert_eq!(parse_span("1h"), Some(3600.0));
        assert_eq!(parse_span("1d"), Some(86400.0));
        assert_eq!(parse_span("10"), Some(10.0));
        assert_eq!(parse_span("10min"), Some(600.0));
        assert_eq!(parse_span("x"), None);
    }

    #[test]
    fn compare_is_numeric_when_both_are_numbers() {
        assert_eq!(compare("10", "9", false), Ordering::Greater);
        assert_eq!(compare("10", "9a", false), Ordering::Less);
        assert_eq!(compare("B", "a", true), Ordering::Greater);
        assert_eq!(compare("B", "a", false), Ordering::Less);
    }
}
