//! Template placeholders (`$latest$`, `{{var}}`, `${var}`) in rule SQL.
//!
//! Catalog rules are templates: a scheduler substitutes the placeholders
//! before Snowflake sees the text. They are not SQL, so each is replaced by
//! a quoted identifier of exactly the same length (`$latest$` →
//! `"latest"`) before parsing. Byte offsets therefore map one to one onto
//! the original logic, and a placeholder glued to the next word
//! (`$latest$and`) still ends where it should.

use crate::diag::Span;

/// One placeholder found in the logic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// The placeholder as written (`$latest$`).
    pub text: String,
    /// Where it is in the logic.
    pub span: Span,
}

/// Replaces the placeholders outside string literals and comments.
///
/// Returns the text to parse (same length as `logic`) and the
/// placeholders, in order.
pub fn substitute(logic: &str) -> (String, Vec<Placeholder>) {
    let bytes = logic.as_bytes();
    let mut out = logic.as_bytes().to_vec();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => i = skip_quoted(bytes, i),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |e| e + 2)
            }
            b'$' if bytes.get(i + 1) == Some(&b'$') => {
                // A `$$…$$` string: its body is data, not SQL.
                i = find(bytes, i + 2, b"$$").map_or(bytes.len(), |e| e + 2)
            }
            b'$' | b'{' => match placeholder_end(bytes, i) {
                Some(end) => {
                    out[i] = b'"';
                    out[end - 1] = b'"';
                    // A `"` inside (never seen) would end the identifier early.
                    for b in &mut out[i + 1..end - 1] {
                        if *b == b'"' {
                            *b = b'_';
                        }
                    }
                    found.push(Placeholder {
                        text: logic[i..end].to_string(),
                        span: Span::new(i, end),
                    });
                    i = end;
                }
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    // Only ASCII bytes were replaced, by ASCII bytes, so this cannot fail;
    // fall back to the untouched logic rather than panic.
    let text = String::from_utf8(out).unwrap_or_else(|_| logic.to_string());
    (text, found)
}

/// The end of a placeholder starting at `i`: `$name$`, `${name}` or
/// `{{ name }}`, where a name is letters, digits, `_`, `.` and `-`.
fn placeholder_end(b: &[u8], i: usize) -> Option<usize> {
    let is_name = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
    let name_from = |start: usize| {
        let mut j = start;
        while j < b.len() && is_name(b[j]) {
            j += 1;
        }
        j
    };
    match (b[i], b.get(i + 1).copied()) {
        (b'$', Some(c)) if c.is_ascii_alphabetic() || c == b'_' => {
            let j = name_from(i + 1);
            (b.get(j) == Some(&b'$')).then_some(j + 1)
        }
        (b'$', Some(b'{')) => {
            let j = name_from(i + 2);
            (j > i + 2 && b.get(j) == Some(&b'}')).then_some(j + 1)
        }
        (b'{', Some(b'{')) => {
            let mut j = i + 2;
            while b.get(j) == Some(&b' ') {
                j += 1;
            }
            let k = name_from(j);
            let mut m = k;
            while b.get(m) == Some(&b' ') {
                m += 1;
            }
            (k > j && b.get(m) == Some(&b'}') && b.get(m + 1) == Some(&b'}')).then_some(m + 2)
        }
        _ => None,
    }
}

/// The index after a single-quoted literal starting at `i` (backslash
/// escapes and doubled quotes stay inside).
fn skip_quoted(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'\'' if b.get(j + 1) == Some(&b'\'') => j += 2,
            b'\'' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// The index of the next line break after `i` (or the end).
fn skip_line(b: &[u8], i: usize) -> usize {
    find(b, i, b"\n").unwrap_or(b.len())
}

/// The index of the first `pat` at or after `from`.
fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_with_same_length_identifiers() {
        let logic = "select * from t where a < $latest$and b > $earliest$";
        let (text, found) = substitute(logic);
        assert_eq!(
            text,
            "select * from t where a < \"latest\"and b > \"earliest\""
        );
        assert_eq!(text.len(), logic.len());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].text, "$latest$");
        assert_eq!(found[0].span.slice(logic), "$latest$");
    }

    #[test]
    fn braces_and_dollar_brace() {
        let (text, found) = substitute("from {{ table }} where x = ${v}");
        assert_eq!(text, "from \"{ table }\" where x = \"{v\"");
        assert_eq!(found[0].text, "{{ table }}");
        assert_eq!(found[1].text, "${v}");
    }

    #[test]
    fn strings_comments_and_dollar_strings_are_left_alone() {
        let logic = r"select '$a$\'$b$', $$ $c$ $$ -- $d$
from t /* $e$ */ where x = '.*\\\$$.*'";
        let (text, found) = substitute(logic);
        assert_eq!(text, logic);
        assert!(found.is_empty());
    }

    #[test]
    fn positional_columns_and_lone_dollars_stay() {
        let (text, found) = substitute("select $1, $ from t");
        assert_eq!(text, "select $1, $ from t");
        assert!(found.is_empty());
    }
}
