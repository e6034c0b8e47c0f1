//! Reading one YAML file: decoding, parsing, and turning `serde_yaml`
//! failures into positioned diagnostics (tabs, duplicated keys, syntax).
//!
//! Every span produced here indexes the *decoded* text returned by
//! [`decode`]: the file after a leading byte-order mark is removed and
//! invalid UTF-8 is replaced by U+FFFD. That is the same text the crawler
//! stores as `Rule::yaml`, so renderers can point into it.

use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::diag::{Diagnostic, Position, Severity, Span};

/// A file's text after BOM removal and lossy UTF-8 decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The text every span of the file's diagnostics indexes.
    pub text: String,
    /// Whether a UTF-8 byte-order mark was removed from the start.
    pub had_bom: bool,
    /// Byte offset in `text` of the first U+FFFD inserted for invalid
    /// input, when the file was not valid UTF-8.
    pub first_invalid: Option<usize>,
    /// How many invalid byte sequences were replaced.
    pub invalid_sequences: usize,
}

/// Decodes file bytes: strips a UTF-8 BOM and replaces each invalid UTF-8
/// sequence with U+FFFD.
///
/// U+FFFD is chosen over a Latin-1 or Windows-1252 mapping because the
/// bytes that occur in practice (0x80–0x9F from Windows editors) map to C1
/// control characters under Latin-1, which YAML rejects outright; a
/// replacement character keeps the file parseable and visibly marks the
/// damage.
pub fn decode(bytes: &[u8]) -> Decoded {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let had_bom = bytes.starts_with(BOM);
    let bytes = if had_bom { &bytes[BOM.len()..] } else { bytes };
    match std::str::from_utf8(bytes) {
        Ok(s) => Decoded {
            text: s.to_string(),
            had_bom,
            first_invalid: None,
            invalid_sequences: 0,
        },
        Err(e) => {
            let first = e.valid_up_to();
            let mut text = String::with_capacity(bytes.len() + 8);
            let mut count = 0;
            for chunk in bytes.utf8_chunks() {
                text.push_str(chunk.valid());
                if !chunk.invalid().is_empty() {
                    text.push('\u{FFFD}');
                    count += 1;
                }
            }
            Decoded {
                text,
                had_bom,
                first_invalid: Some(first),
                invalid_sequences: count,
            }
        }
    }
}

/// The warning for a file that was not valid UTF-8, if it was not.
pub fn decode_warning(decoded: &Decoded, path: &Path) -> Option<Diagnostic> {
    let at = decoded.first_invalid?;
    let n = decoded.invalid_sequences;
    let plural = if n == 1 { "" } else { "s" };
    Some(
        Diagnostic::file(
            Severity::Warning,
            "invalid-utf8",
            format!(
                "file is not valid UTF-8: {n} invalid byte sequence{plural} replaced with U+FFFD"
            ),
            path,
            Some(char_span(&decoded.text, at)),
        )
        .with_note("the file is probably Latin-1 or Windows-1252; save it as UTF-8"),
    )
}

/// Parses one YAML document, mapping every failure to a positioned error.
///
/// Duplicated mapping keys are an error (never last-wins); the diagnostic
/// names the key and the lines of both occurrences.
pub fn parse_document(text: &str, path: &Path) -> Result<Value, Diagnostic> {
    match serde_yaml::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(e) => Err(error_diagnostic(text, path, &e)),
    }
}

/// Turns a `serde_yaml` error into the most specific diagnostic we can.
fn error_diagnostic(text: &str, path: &Path, e: &serde_yaml::Error) -> Diagnostic {
    let message = e.to_string();
    // Reader errors (control characters, bad encoding) carry no location,
    // only "at position N" (a byte offset) in their text.
    let offset =
        reader_position(&message, text).or_else(|| e.location().map(|l| location_offset(text, l)));

    if let Some(key) = duplicate_key_name(&message) {
        return duplicate_key_diagnostic(text, path, &key, offset.unwrap_or(0));
    }
    if let Some(off) = offset {
        if let Some(tab) = tab_in_indentation(text, off) {
            return Diagnostic::file(
                Severity::Error,
                "tab-indentation",
                "tab character used for indentation",
                path,
                Some(Span::new(tab, tab + 1)),
            )
            .with_note("YAML indentation must use spaces");
        }
    }
    if message.contains("more than one document") {
        return Diagnostic::file(
            Severity::Error,
            "invalid-yaml",
            "file holds more than one YAML document; a rule file must hold one",
            path,
            second_document(text).map(|at| Span::new(at, at + 3)),
        );
    }
    // serde_yaml appends "at line L column C" to some messages; positions
    // are kept in the span, so drop the duplicate text.
    let short = strip_location_suffix(&message);
    Diagnostic::file(
        Severity::Error,
        "invalid-yaml",
        format!("invalid YAML: {short}"),
        path,
        offset.map(|o| char_span(text, o)),
    )
}

/// The offset of the `---` marker that starts a second document: the
/// first marker after some content.
fn second_document(text: &str) -> Option<usize> {
    let mut seen_content = false;
    for start in line_starts(text) {
        let line = text[start..].split('\n').next().unwrap_or("");
        let is_marker = line.starts_with("---")
            && matches!(line[3..].chars().next(), None | Some(' ' | '\t' | '\r'));
        if is_marker && seen_content {
            return Some(start);
        }
        let t = line.trim();
        if !is_marker && !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') {
            seen_content = true;
        }
    }
    None
}

/// The byte offset of a `serde_yaml` location, clamped to a char boundary.
fn location_offset(text: &str, loc: serde_yaml::Location) -> usize {
    // `index()` is a byte offset in serde_yaml 0.9; fall back to line and
    // column (in chars) if it ever stops being a valid boundary.
    let idx = loc.index();
    if idx <= text.len() && text.is_char_boundary(idx) {
        return idx;
    }
    let line_start = line_starts(text)
        .nth(loc.line().saturating_sub(1))
        .unwrap_or(text.len());
    let rest = &text[line_start..];
    let col = rest
        .char_indices()
        .nth(loc.column().saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    line_start + col
}

/// A one-character span at `offset` (empty at the end of the text).
pub(crate) fn char_span(text: &str, offset: usize) -> Span {
    let offset = offset.min(text.len());
    let width = text[offset..].chars().next().map_or(0, char::len_utf8);
    Span::new(offset, offset + width)
}

/// Byte offsets at which each line of `text` starts.
fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1))
}

/// The byte offset of a tab in the leading whitespace of the line holding
/// `offset`, if there is one.
fn tab_in_indentation(text: &str, offset: usize) -> Option<usize> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].split('\n').next().unwrap_or("");
    line.char_indices()
        .take_while(|(_, c)| *c == ' ' || *c == '\t')
        .find(|(_, c)| *c == '\t')
        .map(|(i, _)| start + i)
}

/// The byte offset named by a reader error's "at position N", clamped to
/// a char boundary of `text`.
fn reader_position(message: &str, text: &str) -> Option<usize> {
    const MARK: &str = " at position ";
    let rest = &message[message.find(MARK)? + MARK.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let mut at = digits.parse::<usize>().ok()?.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    Some(at)
}

/// Drops a trailing " at line L column C" (and what follows) from a
/// `serde_yaml` message.
fn strip_location_suffix(message: &str) -> &str {
    match message
        .find(" at line ")
        .or_else(|| message.find(" at position "))
    {
        Some(i) => &message[..i],
        None => message,
    }
}

/// The key named by a `serde_yaml` "duplicate entry with key K" message.
fn duplicate_key_name(message: &str) -> Option<String> {
    const MARK: &str = "duplicate entry with key ";
    let rest = &message[message.find(MARK)? + MARK.len()..];
    let rest = strip_location_suffix(rest);
    let key = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(rest);
    Some(key.to_string())
}

/// Builds the duplicated-key error: `serde_yaml` only reports where the
/// mapping starts, so the key's occurrences are found by scanning that
/// mapping's lines at its indentation.
fn duplicate_key_diagnostic(text: &str, path: &Path, key: &str, map_offset: usize) -> Diagnostic {
    let hits = find_mapping_key(text, map_offset, key);
    let lines: Vec<usize> = hits
        .iter()
        .map(|s| Position::of(text, s.start).line)
        .collect();
    let (message, span, note) = if hits.len() >= 2 {
        let list = join_lines(&lines);
        (
            format!("duplicate key `{key}` (lines {list})"),
            hits[1],
            Some(format!("`{key}` first defined at line {}", lines[0])),
        )
    } else {
        (
            format!("duplicate key `{key}` in the mapping starting here"),
            char_span(text, map_offset),
            None,
        )
    };
    let mut d = Diagnostic::file(Severity::Error, "duplicate-key", message, path, Some(span));
    if let Some(note) = note {
        d = d.with_note(note);
    }
    d.with_note("YAML keys must be unique; the file is skipped rather than keeping the last value")
}

/// "1 and 3" or "1, 3 and 7".
fn join_lines(lines: &[usize]) -> String {
    match lines.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            let head: Vec<String> = rest.iter().map(|l| l.to_string()).collect();
            format!("{} and {last}", head.join(", "))
        }
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

/// Spans of every occurrence of block-mapping key `key` in the mapping
/// whose first key starts at `map_offset`.
///
/// The mapping's keys sit at the column of its first key; scanning stops
/// at the first non-blank, non-comment line indented less than that.
/// Deeper lines (values, block scalars) are skipped.
fn find_mapping_key(text: &str, map_offset: usize, key: &str) -> Vec<Span> {
    let map_offset = map_offset.min(text.len());
    let first_line_start = text[..map_offset].rfind('\n').map_or(0, |i| i + 1);
    let indent = text[first_line_start..map_offset].chars().count();
    let mut hits = Vec::new();

    if let Some(span) = key_at(text, map_offset, key) {
        hits.push(span);
    }
    let after_first = text[map_offset..]
        .find('\n')
        .map_or(text.len(), |i| map_offset + i + 1);
    let mut start = after_first;
    while start < text.len() {
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = &text[start..end];
        let body = line.trim_start_matches(' ');
        let this_indent = line.len() - body.len();
        let blank = body.trim().is_empty() || body.starts_with('#');
        if !blank {
            if this_indent < indent {
                break;
            }
            if this_indent == indent {
                if let Some(span) = key_at(text, start + this_indent, key) {
                    hits.push(span);
                }
            }
        }
        start = end + 1;
    }
    hits
}

/// The span of key `key` if a block-mapping entry `key:` starts at `at`.
fn key_at(text: &str, at: usize, key: &str) -> Option<Span> {
    let rest = &text[at..];
    let (raw_len, name) = match rest.as_bytes().first()? {
        q @ (b'"' | b'\'') => {
            let close = rest[1..].find(*q as char)? + 1;
            (close + 1, &rest[1..close])
        }
        _ => {
            let end = rest.find(':')?;
            (end, rest[..end].trim_end())
        }
    };
    let after = rest[raw_len..].trim_start_matches(' ');
    let is_entry = after.starts_with(':')
        && matches!(
            after[1..].chars().next(),
            None | Some(' ' | '\t' | '\n' | '\r')
        );
    (is_entry && name == key).then(|| Span::new(at, at + raw_len))
}

/// The span of top-level key `key` (a line starting `key:` at column 1).
pub fn top_level_key_span(text: &str, key: &str) -> Option<Span> {
    line_starts(text).find_map(|s| key_at(text, s, key))
}

/// The raw text of a top-level key's single-line plain value, used to keep
/// an id such as `18093.30` as written when YAML would read it as a number.
pub fn top_level_raw_value<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let span = top_level_key_span(text, key)?;
    let rest = &text[span.end..];
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let line = rest.split('\n').next().unwrap_or("");
    let value = match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    };
    let value = value.trim();
    (!value.is_empty()).then_some(value)
}

/// Looks up a string key in a mapping.
pub fn get<'v>(map: &'v Mapping, key: &str) -> Option<&'v Value> {
    map.get(key).map(strip_tag)
}

/// Removes YAML tags (`!foo value`) so callers see the tagged value.
fn strip_tag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => strip_tag(&t.value),
        other => other,
    }
}

/// A scalar as text: strings as-is, numbers and booleans formatted; `None`
/// for null, sequences and mappings.
pub fn scalar_text(v: &Value) -> Option<String> {
    match strip_tag(v) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Flattens a value that may be a scalar, a (nested) list of scalars or
/// null into its scalar texts, in order.
///
/// Mappings found along the way are not scalars; they are counted in the
/// returned `usize` so callers can warn about them.
pub fn flatten_scalars(v: &Value) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut odd = 0;
    flatten_into(v, &mut out, &mut odd);
    (out, odd)
}

/// Recursive worker of [`flatten_scalars`].
fn flatten_into(v: &Value, out: &mut Vec<String>, odd: &mut usize) {
    match strip_tag(v) {
        Value::Null => {}
        Value::Sequence(items) => {
            for item in items {
                flatten_into(item, out, odd);
            }
        }
        Value::Mapping(_) => *odd += 1,
        other => {
            if let Some(s) = scalar_text(other) {
                let s = s.trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Diagnostic {
        match parse_document(text, Path::new("t.yml")) {
            Ok(v) => panic!("expected an error, parsed {v:?}"),
            Err(d) => d,
        }
    }

    #[test]
    fn bom_is_stripped() {
        let d = decode(b"\xEF\xBB\xBFid: 1\n");
        assert!(d.had_bom);
        assert_eq!(d.text, "id: 1\n");
        assert_eq!(d.first_invalid, None);
    }

    #[test]
    fn latin1_byte_becomes_replacement_char() {
        let d = decode(b"id: 1\ndescription: caf\xE9 \x96 ok\n");
        assert_eq!(d.text, "id: 1\ndescription: caf\u{FFFD} \u{FFFD} ok\n");
        assert_eq!(d.invalid_sequences, 2);
        assert_eq!(d.first_invalid, Some(22));
        let w = decode_warning(&d, Path::new("t.yml")).expect("warning");
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.code, "invalid-utf8");
        assert_eq!(
            w.position(&d.text),
            Some(Position {
                line: 2,
                column: 17
            })
        );
    }

    #[test]
    fn top_level_duplicate_names_both_lines() {
        let text = "id: 1\ntitle: x\nid: 2\n";
        let d = err(text);
        assert_eq!(d.code, "duplicate-key");
        assert_eq!(d.message, "duplicate key `id` (lines 1 and 3)");
        assert_eq!(d.span, Some(Span::new(15, 17)));
        assert_eq!(d.notes[0], "`id` first defined at line 1");
    }

    #[test]
    fn nested_duplicate_skips_deeper_lines() {
        let text = "id: 1\ntags:\n  a: 1\n  b:\n    a: 9\n  a: 3\nz: 1\n";
        let d = err(text);
        assert_eq!(d.code, "duplicate-key");
        assert_eq!(d.message, "duplicate key `a` (lines 3 and 6)");
    }

    #[test]
    fn duplicate_in_sequence_item_and_quoted_key() {
        let d = err("- a: 1\n  b: 2\n  'a': 3\n");
        assert_eq!(d.message, "duplicate key `a` (lines 1 and 3)");
    }

    #[test]
    fn flow_duplicate_still_reported() {
        let d = err("x: {a: 1, a: 2}\n");
        assert_eq!(d.code, "duplicate-key");
        assert!(d.message.contains("`a`"), "{}", d.message);
    }

    #[test]
    fn duplicate_after_comments_and_marker_and_crlf() {
        let d = err("# c\n---\nid: 1\r\ntitle: x\r\nid: 2\r\n");
        assert_eq!(d.message, "duplicate key `id` (lines 3 and 5)");
    }

    #[test]
    fn second_document_is_pointed_at() {
        let text = "--- # first\nid: 1\n---\nid: 2\n";
        let d = err(text);
        assert_eq!(d.code, "invalid-yaml");
        assert_eq!(d.position(text), Some(Position { line: 3, column: 1 }));
    }

    #[test]
    fn tab_indentation_has_position() {
        let text = "id: 1\ntags:\n\t- a\n";
        let d = err(text);
        assert_eq!(d.code, "tab-indentation");
        assert_eq!(d.position(text), Some(Position { line: 3, column: 1 }));
        assert_eq!(d.span, Some(Span::new(12, 13)));
    }

    #[test]
    fn syntax_error_has_position() {
        let text = "id: 1\ntitle: [a, b\n";
        let d = err(text);
        assert_eq!(d.code, "invalid-yaml");
        assert!(d.span.is_some());
        assert!(!d.message.contains(" at line "), "{}", d.message);
        let text = "é: x\nb: ééé: y\n";
        let d = err(text);
        assert_eq!(d.position(text), Some(Position { line: 2, column: 7 }));
    }

    #[test]
    fn raw_value_keeps_number_spelling() {
        let text = "title: a\nid: 18093.30 # trailing\n";
        assert_eq!(top_level_raw_value(text, "id"), Some("18093.30"));
        assert_eq!(top_level_raw_value(text, "nope"), None);
        // A key that merely starts with `id` is not `id`.
        assert_eq!(top_level_raw_value("idx: 3\n", "id"), None);
    }

    #[test]
    fn flatten_handles_every_shape() {
        let v: Value = serde_yaml::from_str("[T1, [T2, [T3]], null, 5, {a: b}]").expect("yaml");
        assert_eq!(
            flatten_scalars(&v),
            (vec!["T1".into(), "T2".into(), "T3".into(), "5".into()], 1)
        );
        assert_eq!(flatten_scalars(&Value::Null), (vec![], 0));
        let v: Value = serde_yaml::from_str("T1003").expect("yaml");
        assert_eq!(flatten_scalars(&v).0, vec!["T1003".to_string()]);
    }

    #[test]
    fn control_character_error_points_at_the_byte() {
        let text = "id: x\ntitle: a\u{1b}b\n";
        let d = parse_document(text, Path::new("esc.yml")).expect_err("control character");
        let at = d.span.expect("span").start;
        assert_eq!(&text[at..at + 1], "\u{1b}", "{d:?}");
        assert!(!d.message.contains("at position"), "{}", d.message);
    }
}
