//! Timestamps as Splunk's `_time`: epoch seconds, with the fraction the
//! source gave (at most microseconds, as Splunk keeps).

use chrono::NaiveDate;

/// Parses an ISO 8601 / RFC 3339 timestamp (`2019-05-16T13:10:13.7609174Z`,
/// `2024-06-12 10:15:00.123`, `…+02:00`) into epoch seconds as text.
///
/// A timestamp without a zone is taken as UTC, which is what Windows'
/// `SystemTime` and Sysmon's `UtcTime` are. Returns `None` when the text is
/// not such a timestamp.
pub fn iso_to_epoch(text: &str) -> Option<String> {
    let s = text.trim();
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)?;
    let epoch_day = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let days = date.signed_duration_since(epoch_day).num_days();

    let mut rest = &s[19..];
    let mut fraction = "";
    if let Some(r) = rest.strip_prefix(['.', ',']) {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        fraction = &r[..digits];
        rest = &r[digits..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => parse_offset(rest)?,
    };
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Some(format_epoch(secs, &fraction[..fraction.len().min(6)]))
}

/// Parses `+hh:mm`, `-hhmm` or `+hh` into seconds east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let mins: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    Some(sign * (hours * 3600 + mins * 60))
}

/// Formats whole seconds plus fraction digits (`secs` may be negative).
fn format_epoch(secs: i64, fraction: &str) -> String {
    if fraction.is_empty() {
        return secs.to_string();
    }
    if secs >= 0 {
        return format!("{secs}.{fraction}");
    }
    // -1 s + 0.25 s = -0.75 s: borrow one second and complement the digits.
    let scale = 10_i64.pow(fraction.len() as u32);
    let frac: i64 = fraction.parse().unwrap_or(0);
    if frac == 0 {
        return format!("{secs}.{fraction}");
    }
    let total = secs * scale + frac;
    let (whole, part) = (total.abs() / scale, total.abs() % scale);
    format!("-{whole}.{part:0width$}", width = fraction.len())
}

/// Converts a timestamp of any common shape to epoch seconds: ISO 8601
/// text, epoch seconds (`1718187300.5`) or epoch milliseconds
/// (`1718187300123`, told apart by size: seconds stay below 1e11 until
/// the year 5138).
pub fn any_time_to_epoch(text: &str) -> Option<String> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if digits(int) && (frac.is_empty() || digits(frac)) {
        if int.len() >= 12 && frac.is_empty() {
            return epoch_ms_to_epoch(int);
        }
        return Some(t.to_string());
    }
    iso_to_epoch(t)
}

/// Converts epoch milliseconds (CrowdStrike's `timestamp`) to seconds text.
pub fn epoch_ms_to_epoch(text: &str) -> Option<String> {
    let t = text.trim();
    let ms: i64 = t.parse().ok()?;
    let (secs, rem) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    Some(format!("{secs}.{rem:03}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_system_time_keeps_fraction() {
        assert_eq!(
            iso_to_epoch("2019-05-16T13:10:13.7609174Z").as_deref(),
            Some("1558012213.760917")
        );
    }

    #[test]
    fn space_separator_and_no_zone_is_utc() {
        assert_eq!(
            iso_to_epoch("1970-01-02 00:00:01").as_deref(),
            Some("86401")
        );
        assert_eq!(
            iso_to_epoch("1970-01-01T00:00:00.5").as_deref(),
            Some("0.5")
        );
    }

    #[test]
    fn offsets_are_applied() {
        assert_eq!(
            iso_to_epoch("1970-01-01T02:00:00+02:00").as_deref(),
            Some("0")
        );
        assert_eq!(
            iso_to_epoch("1970-01-01T00:00:00-0100").as_deref(),
            Some("3600")
        );
    }

    #[test]
    fn before_1970_with_fraction() {
        assert_eq!(
            iso_to_epoch("1969-12-31T23:59:59.25Z").as_deref(),
            Some("-0.75")
        );
    }

    #[test]
    fn garbage_is_none() {
        for s in [
            "",
            "yesterday",
            "2019-13-01T00:00:00Z",
            "2019-05-16T13:10:13.Z",
            "2019-05-16",
        ] {
            assert_eq!(iso_to_epoch(s), None, "{s}");
        }
    }

    #[test]
    fn any_time_shape() {
        assert_eq!(
            any_time_to_epoch("1718187300123").as_deref(),
            Some("1718187300.123")
        );
        assert_eq!(
            any_time_to_epoch("1718187300").as_deref(),
            Some("1718187300")
        );
        assert_eq!(
            any_time_to_epoch(" 1718187300.25 ").as_deref(),
            Some("1718187300.25")
        );
        assert_eq!(
            any_time_to_epoch("1970-01-01T00:00:10Z").as_deref(),
            Some("10")
        );
        assert_eq!(any_time_to_epoch("1.2.3"), None);
        assert_eq!(any_time_to_epoch("-"), None);
    }

    #[test]
    fn epoch_ms() {
        assert_eq!(
            epoch_ms_to_epoch("1718187300123").as_deref(),
            Some("1718187300.123")
        );
        assert_eq!(epoch_ms_to_epoch("x"), None);
    }
}
