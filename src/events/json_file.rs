//! JSON events: JSON lines (`.jsonl`, `.ndjson`, and `.json` files with one
//! object per line), a `.json` file holding one array of objects, or one
//! pretty-printed object.
//!
//! Nested objects are flattened with dots (`{"a":{"b":1}}` → `a.b`),
//! arrays become multivalue fields (an array of objects gives each nested
//! name all the values), numbers and booleans keep their JSON text, and
//! `null` gives no field. `_raw` is the event's line (or its compact JSON
//! text when the file is one array). A line that is not JSON is reported
//! with its line number and skipped.

use std::path::Path;

use serde_json::Value;

use super::decode::decode_bytes;
use super::winxml::{push, Fields};
use super::{Event, EventOrigin, FileLoad};
use crate::diag::{Diagnostic, Severity, Span};

/// Reads every event of JSON text held in memory; `path` names it.
pub(crate) fn load_bytes(path: &Path, bytes: &[u8]) -> FileLoad {
    let mut out = FileLoad::default();
    let decoded = decode_bytes(bytes);
    out.note_decode(path, decoded.warnings);
    let text = decoded.text.as_str();

    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        load_array(path, text, &mut out);
        return out;
    }
    // A pretty-printed single object: the first line alone is not JSON.
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if serde_json::from_str::<Value>(first).is_err() {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            out.events
                .push(event(path, 1, &value, text.trim().to_string()));
            return out;
        }
    }

    let mut offset = 0usize;
    for (n, line) in text.split('\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let number = n as u64 + 1;
        match serde_json::from_str::<Value>(line) {
            Ok(value @ Value::Object(_)) => {
                out.events.push(event(path, number, &value, line.into()))
            }
            Ok(_) => out.bad_line(path, number, start, "line is JSON but not an object".into()),
            Err(e) => out.bad_line(path, number, start, format!("not JSON: {e}")),
        }
    }
    out
}

/// Reads a file holding one JSON array of objects.
fn load_array(path: &Path, text: &str, out: &mut FileLoad) {
    let items = match serde_json::from_str::<Vec<Value>>(text) {
        Ok(items) => items,
        Err(e) => {
            out.failed = true;
            out.diagnostics.push(Diagnostic::file(
                Severity::Error,
                "json-syntax",
                format!("line {}: not a JSON array: {e}", e.line()),
                path,
                None,
            ));
            return;
        }
    };
    for (i, value) in items.iter().enumerate() {
        let number = i as u64 + 1;
        if value.is_object() {
            out.events
                .push(event(path, number, value, value.to_string()));
        } else {
            out.skipped += 1;
            out.diagnostics.push(
                Diagnostic::file(
                    Severity::Error,
                    "json-not-object",
                    format!("array item {number} is not an object"),
                    path,
                    None,
                )
                .with_note(format!("item {number} skipped")),
            );
        }
    }
}

impl FileLoad {
    /// Records a skipped line.
    fn bad_line(&mut self, path: &Path, line: u64, offset: usize, message: String) {
        self.skipped += 1;
        self.diagnostics.push(
            Diagnostic::file(
                Severity::Error,
                "json-syntax",
                format!("line {line}: {message}"),
                path,
                Some(Span::new(offset, offset + 1)),
            )
            .with_note(format!("line {line} skipped")),
        );
    }
}

/// Makes an event from one JSON object.
fn event(path: &Path, record: u64, value: &Value, raw: String) -> Event {
    let mut fields = Fields::new();
    flatten("", value, &mut fields);
    Event {
        fields,
        raw,
        origin: EventOrigin {
            path: path.to_path_buf(),
            record,
        },
    }
}

/// Flattens `value` under the name `prefix` into `fields`.
pub(crate) fn flatten(prefix: &str, value: &Value, fields: &mut Fields) {
    match value {
        Value::Null => {}
        Value::Bool(b) => push(fields, prefix, if *b { "true" } else { "false" }),
        Value::Number(n) => push(fields, prefix, &n.to_string()),
        Value::String(s) => push(fields, prefix, s),
        Value::Array(items) => {
            for item in items {
                flatten(prefix, item, fields);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if prefix.is_empty() {
                    flatten(k, v, fields);
                } else {
                    flatten(&format!("{prefix}.{k}"), v, fields);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_flattened() {
        let text = "{\"a\":{\"b\":1,\"c\":{\"d\":\"x\"}},\"t\":true,\"n\":null,\"arr\":[\"p\",\"q\"]}\r\n\n\
{\"objs\":[{\"k\":\"1\"},{\"k\":\"2\",\"z\":3.5}]}\n";
        let out = load_bytes(Path::new("e.jsonl"), text.as_bytes());
        assert_eq!(out.events.len(), 2);
        let e = &out.events[0];
        assert_eq!(e.get("a.b"), Some("1"));
        assert_eq!(e.get("a.c.d"), Some("x"));
        assert_eq!(e.get("t"), Some("true"));
        assert_eq!(e.get("n"), None);
        assert_eq!(e.values("arr"), ["p", "q"]);
        assert!(e.raw.ends_with('}'), "no line ending in _raw: {:?}", e.raw);
        let e = &out.events[1];
        assert_eq!(e.origin.record, 3, "records are line numbers");
        assert_eq!(e.values("objs.k"), ["1", "2"]);
        assert_eq!(e.get("objs.z"), Some("3.5"));
    }

    #[test]
    fn bad_line_is_skipped_with_its_number() {
        let text = "{\"a\":1}\n{\"a\":\n[1,2]\n{\"a\":3}\n";
        let out = load_bytes(Path::new("e.jsonl"), text.as_bytes());
        assert_eq!(out.events.len(), 2);
        assert_eq!(out.skipped, 2);
        assert!(out.diagnostics[0].message.starts_with("line 2:"));
        assert!(out.diagnostics[1].message.starts_with("line 3:"));
        assert_eq!(out.events[1].origin.record, 4);
    }

    #[test]
    fn array_file_and_pretty_object() {
        let out = load_bytes(Path::new("e.json"), b"[{\"a\":1},{\"a\":2}, 5]");
        assert_eq!(out.events.len(), 2);
        assert_eq!(out.skipped, 1);
        assert_eq!(out.events[1].raw, "{\"a\":2}");
        let out = load_bytes(
            Path::new("e.json"),
            b"{\n  \"a\": {\n    \"b\": \"c\"\n  }\n}\n",
        );
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].get("a.b"), Some("c"));
    }

    #[test]
    fn invalid_bytes_are_replaced() {
        let out = load_bytes(Path::new("e.jsonl"), b"{\"a\":\"x\xFFy\"}\n");
        assert_eq!(out.events[0].get("a"), Some("x\u{FFFD}y"));
        assert_eq!(out.warnings, 1);
    }
}
