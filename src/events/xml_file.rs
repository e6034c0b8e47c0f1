//! Windows/Sysmon XML exports: `wevtutil qe /f:xml` output (concatenated
//! `<Event>` elements, no root) or Event Viewer's "Save as XML" (under an
//! `<Events>` root), in UTF-8 or UTF-16.
//!
//! A broken event is reported with its line and skipped; scanning resumes
//! at the next `<Event` so the events after it still load. `_raw` is the
//! event's own text from the file.

use std::path::Path;

use super::decode::decode_bytes;
use super::winxml::{self, XmlRecord};
use super::{Event, EventOrigin, FileLoad};
use crate::diag::{Diagnostic, Severity, Span};

/// Reads every `<Event>` of XML held in memory; `path` names it.
pub(crate) fn load_bytes(path: &Path, bytes: &[u8]) -> FileLoad {
    let mut out = FileLoad::default();
    let decoded = decode_bytes(bytes);
    let text = decoded.text.as_str();
    out.note_decode(path, decoded.warnings);

    let mut index = 0u64;
    let mut pos = 0usize;
    loop {
        let mut records: Vec<XmlRecord> = Vec::new();
        let result = winxml::scan(&text[pos..], &mut |r| records.push(r));
        for r in records {
            index += 1;
            out.warnings += r.warnings;
            out.events.push(Event {
                fields: r.fields,
                raw: text[pos + r.start..pos + r.end].to_string(),
                origin: EventOrigin {
                    path: path.to_path_buf(),
                    record: index,
                },
            });
        }
        let Err(e) = result else { break };
        let at = pos + e.offset.min(text.len() - pos);
        let line = crate::diag::Position::of(text, at).line;
        let in_event = e.event_start.is_some();
        if in_event {
            index += 1;
            out.skipped += 1;
        }
        out.diagnostics.push(
            Diagnostic::file(
                if in_event {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                "xml-syntax",
                format!("line {line}: {}", e.message),
                path,
                Some(Span::new(at, at + 1)),
            )
            .with_note(if in_event {
                format!("event {index} skipped")
            } else {
                "text outside any <Event> ignored".to_string()
            }),
        );
        // Resume after the broken event's start tag, not at the error: an
        // unclosed element can make the scanner read into the next event.
        let resume = match e.event_start {
            Some(start) => pos + start + 1,
            None => at.max(pos + 1),
        };
        match next_event_start(text, resume) {
            Some(next) => pos = next,
            None => break,
        }
    }
    if out.events.is_empty() && out.skipped == 0 {
        out.diagnostics.push(Diagnostic::file(
            Severity::Warning,
            "no-events",
            "no <Event> element found",
            path,
            None,
        ));
    }
    out
}

/// The offset of the next `<Event` start tag (not `<EventData`, `<EventID`)
/// at or after `from`.
fn next_event_start(text: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while at < text.len() {
        let rest = text.get(at..)?;
        let found = rest.find("<Event")?;
        let tag = at + found;
        let after = text[tag + 6..].chars().next();
        if matches!(after, Some('>' | '/' | ' ' | '\t' | '\r' | '\n')) {
            return Some(tag);
        }
        at = tag + 6;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>1</EventID><Computer>a</Computer></System></Event>";
    const B: &str = "<Event><System><EventID>2</EventID></System><EventData><Data Name='Image'>C:\\b.exe</Data></EventData></Event>";

    #[test]
    fn rootless_file() {
        let text = format!("{A}{B}\r\n");
        let out = load_bytes(Path::new("r.xml"), text.as_bytes());
        assert_eq!(out.events.len(), 2);
        assert_eq!(out.events[0].raw, A);
        assert_eq!(out.events[1].raw, B);
        assert_eq!(out.events[1].origin.record, 2);
        assert_eq!(out.events[1].get("Image"), Some("C:\\b.exe"));
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    }

    #[test]
    fn file_with_root_and_declaration() {
        let text =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Events>\n{A}\n{B}\n</Events>\n");
        let out = load_bytes(Path::new("r.xml"), text.as_bytes());
        assert_eq!(out.events.len(), 2);
        assert_eq!(out.events[0].get("EventCode"), Some("1"));
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    }

    #[test]
    fn corrupt_record_is_skipped_and_the_rest_loads() {
        let broken = "<Event><System><EventID>9</EventID><Computer>x</System></Event>";
        let text = format!("<Events>\n{A}\n{broken}\n{B}\n</Events>\n");
        let out = load_bytes(Path::new("r.xml"), text.as_bytes());
        let codes: Vec<_> = out.events.iter().map(|e| e.get("EventCode")).collect();
        assert_eq!(codes, [Some("1"), Some("2")]);
        assert_eq!(out.skipped, 1);
        assert_eq!(
            out.events[1].origin.record, 3,
            "the broken event keeps its index"
        );
        let d = &out.diagnostics[0];
        assert_eq!(d.code, "xml-syntax");
        assert_eq!(d.severity, Severity::Error);
        assert!(d.message.starts_with("line 3:"), "{}", d.message);
    }

    #[test]
    fn unclosed_element_does_not_swallow_the_next_events() {
        let broken = "<Event><EventData><Data Name='x'>v";
        let text = format!("{broken}\n{A}\n{B}");
        let out = load_bytes(Path::new("r.xml"), text.as_bytes());
        assert_eq!(out.events.len(), 2, "{:?}", out.diagnostics);
        assert_eq!(out.events[0].raw, A);
        assert_eq!(out.skipped, 1);
    }

    #[test]
    fn utf16_export_with_lone_surrogate() {
        let text = "<Event><EventData><Data Name='x'>a?b</Data></EventData></Event>";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            let u = if u == b'?' as u16 { 0xDBFF } else { u };
            bytes.extend(u.to_le_bytes());
        }
        let out = load_bytes(Path::new("w.xml"), &bytes);
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].get("x"), Some("a\u{FFFD}b"));
        assert_eq!(out.warnings, 1);
        assert_eq!(out.diagnostics[0].code, "decode-replaced");
    }

    #[test]
    fn invalid_utf8_bytes_are_replaced() {
        let out = load_bytes(
            Path::new("w.xml"),
            b"<Event><EventData><Data Name='x'>a\xFFb</Data></EventData></Event>",
        );
        assert_eq!(out.events[0].get("x"), Some("a\u{FFFD}b"));
        assert_eq!(out.warnings, 1);
    }

    #[test]
    fn truncated_file_keeps_earlier_events() {
        let text = format!("{A}{B}<Event><System><EventID>3</Event");
        let out = load_bytes(Path::new("t.xml"), text.as_bytes());
        assert_eq!(out.events.len(), 2);
        assert_eq!(out.skipped, 1);
    }

    #[test]
    fn next_event_start_skips_event_data() {
        assert_eq!(next_event_start("<EventData><EventID><Event>", 0), Some(20));
        assert_eq!(next_event_start("<EventData>", 0), None);
    }
}
