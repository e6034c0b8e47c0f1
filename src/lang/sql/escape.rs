//! Snowflake string-literal unquoting: what the engine sees for a literal.
//!
//! Snowflake single-quoted strings have two escape layers that meet in one
//! pass: a doubled quote (`''`) is one quote, and a backslash starts an
//! escape sequence. The sequences are `\'`, `\"`, `\\`, `\b` (backspace),
//! `\f`, `\n`, `\r`, `\t`, `\0` (NUL), `\ooo` (three octal digits), `\xhh`
//! (two hex digits) and `\uhhhh` (four hex digits). A backslash before any
//! other character is dropped and the character kept, so `'\.'` is `.` and
//! `'\d'` is `d` — the reason regexes in Snowflake rules are written
//! `'\\d'` (SEMANTICS.md section E, trap 13).
//!
//! Dollar-quoted strings (`$$…$$`) have no escapes at all.

/// A literal after unquoting, with the escapes that made control characters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unquoted {
    /// The value after unquoting.
    pub value: String,
    /// Escapes that produced a control character (`\b`, `\f`, …), as
    /// written (e.g. `\b`), with their byte offset in the raw text.
    pub control_escapes: Vec<(usize, String)>,
}

/// Unquotes a literal spelled `raw` (quotes included) per Snowflake rules.
///
/// Anything that is not a quoted string is returned unchanged.
pub fn unquote(raw: &str) -> Unquoted {
    if let Some(inner) = raw
        .strip_prefix("$$")
        .and_then(|r| r.strip_suffix("$$"))
        .filter(|_| raw.len() >= 4)
    {
        return Unquoted {
            value: inner.to_string(),
            control_escapes: Vec::new(),
        };
    }
    let Some(body) = raw.strip_prefix('\'') else {
        return Unquoted {
            value: raw.to_string(),
            control_escapes: Vec::new(),
        };
    };
    // An unterminated literal (only seen in truncated input) keeps its text.
    let body = body.strip_suffix('\'').unwrap_or(body);
    unescape_body(body, 1)
}

/// Resolves `''` and backslash escapes in the text between the quotes;
/// `base` is the body's byte offset in the raw literal, for positions.
fn unescape_body(body: &str, base: usize) -> Unquoted {
    let mut out = Unquoted::default();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                // `''` inside the literal is one quote.
                if matches!(chars.peek(), Some((_, '\''))) {
                    chars.next();
                }
                out.value.push('\'');
            }
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    // A trailing lone backslash (truncated input) is kept.
                    out.value.push('\\');
                    break;
                };
                let control = match e {
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    _ => None,
                };
                if let Some(ch) = control {
                    out.value.push(ch);
                    out.control_escapes.push((base + i, format!("\\{e}")));
                    continue;
                }
                match e {
                    '0'..='7' => {
                        // The first octal digit is `e` itself.
                        let digits = take_digits(body, i + 1, 3, 8);
                        if let Some(ch) = digits.and_then(char::from_u32) {
                            out.value.push(ch);
                            skip(&mut chars, 2);
                        } else if e == '0' {
                            out.value.push('\0');
                        } else {
                            out.value.push(e);
                        }
                    }
                    'x' => match take_digits(body, i + 2, 2, 16).and_then(char::from_u32) {
                        Some(ch) => {
                            out.value.push(ch);
                            skip(&mut chars, 2);
                        }
                        None => out.value.push('x'),
                    },
                    'u' => match take_digits(body, i + 2, 4, 16).and_then(char::from_u32) {
                        Some(ch) => {
                            out.value.push(ch);
                            skip(&mut chars, 4);
                        }
                        None => out.value.push('u'),
                    },
                    // `\\`, `\'`, `\"` and every unknown escape: the
                    // backslash goes, the character stays.
                    other => out.value.push(other),
                }
            }
            other => out.value.push(other),
        }
    }
    out
}

/// Reads exactly `n` digits of `radix` at byte `at` of `s`.
fn take_digits(s: &str, at: usize, n: usize, radix: u32) -> Option<u32> {
    let digits = s.get(at..at + n)?;
    if digits.chars().all(|c| c.is_digit(radix)) {
        u32::from_str_radix(digits, radix).ok()
    } else {
        None
    }
}

/// Advances `chars` by `n` characters (all ASCII digits, checked before).
fn skip(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, n: usize) {
    for _ in 0..n {
        chars.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(raw: &str) -> String {
        unquote(raw).value
    }

    #[test]
    fn doubled_quote_and_backslash_quote() {
        assert_eq!(v(r"'it''s'"), "it's");
        assert_eq!(v(r"'it\'s'"), "it's");
        assert_eq!(v(r#"'say \"hi\"'"#), "say \"hi\"");
    }

    #[test]
    fn trap13_unknown_escape_drops_backslash() {
        // `'.*\\.exe'` is the regex `.*\.exe`; `'.*\.exe'` loses the
        // backslash and becomes `.*.exe`.
        assert_eq!(v(r"'.*\\.exe'"), r".*\.exe");
        assert_eq!(v(r"'.*\.exe'"), ".*.exe");
        assert_eq!(v(r"'\\d'"), r"\d");
        assert_eq!(v(r"'\d'"), "d");
    }

    #[test]
    fn netscan_three_backslashes() {
        // Rule 24804.45870: `\\\.` is `\\` (one backslash) then `\.`
        // (unknown escape: the dot alone), so the regex gets `\.`, an
        // escaped dot — exactly what the author meant.
        assert_eq!(
            v(r"'.*netscan(32|64)\\\.exe.*'"),
            r".*netscan(32|64)\.exe.*"
        );
    }

    #[test]
    fn control_escapes_are_recorded() {
        // `\\\b` is a backslash then a backspace, not the regex `\b`.
        let u = unquote(r"'%\\\bash.exe'");
        assert_eq!(u.value, "%\\\u{8}ash.exe");
        // The escape `\b` starts at byte 4 of the raw literal.
        assert_eq!(u.control_escapes, vec![(4, r"\b".to_string())]);
        assert_eq!(v(r"'a\tb\nc'"), "a\tb\nc");
    }

    #[test]
    fn numeric_escapes() {
        assert_eq!(v(r"'\x5c'"), "\\");
        assert_eq!(v(r"'\\\x5cTEMP'"), r"\\TEMP");
        assert_eq!(v(r"'\101'"), "A");
        assert_eq!(v(r"'\u00e9'"), "é");
        assert_eq!(v(r"'\0'"), "\0");
        // Malformed numeric escapes drop the backslash like unknown ones.
        assert_eq!(v(r"'\xZ'"), "xZ");
        assert_eq!(v(r"'\9'"), "9");
    }

    #[test]
    fn dollar_quoted_and_odd_input() {
        assert_eq!(v(r"$$a\.b$$"), r"a\.b");
        assert_eq!(v("'abc"), "abc");
        assert_eq!(v(r"'a\"), "a\\");
        assert_eq!(v("42"), "42");
        assert_eq!(v("'"), "");
    }
}
