//! EVTX files, read with the `evtx` crate: chunks are parsed in parallel,
//! each record is rendered to XML (its `_raw`) and read by [`winxml`].
//!
//! A chunk or record the crate cannot read is reported and counted as one
//! skipped record, the way the crate's own record iterator yields one error
//! for it, so `events + skipped` equals that iterator's count.
//!
//! The crate renders a lone UTF-16 surrogate in XML as `_` (as Windows'
//! own renderer does). ruledex wants U+FFFD and a counted warning, so for
//! a record whose XML has a `_` the record's string values are checked and
//! any value with a lone surrogate is swapped for its U+FFFD spelling in
//! both the fields and `_raw`.
//!
//! [`winxml`]: super::winxml

use std::path::Path;
use std::sync::Arc;

use evtx::binxml::value_variant::BinXmlValue;
use evtx::{EvtxChunkData, EvtxParser, EvtxRecord, ParserSettings};
use rayon::prelude::*;

use super::winxml::{self, Fields};
use super::{Event, EventOrigin, FileLoad};
use crate::diag::{Diagnostic, Severity};

/// Reads every record of one EVTX file.
pub(crate) fn load(path: &Path) -> FileLoad {
    match std::fs::read(path) {
        Ok(bytes) => load_bytes(path, bytes),
        Err(e) => FileLoad::unreadable(path, &e),
    }
}

/// Reads every record of an EVTX file held in memory; `path` names it in
/// diagnostics and origins.
pub(crate) fn load_bytes(path: &Path, bytes: Vec<u8>) -> FileLoad {
    let mut out = FileLoad::default();
    let mut parser = match EvtxParser::from_buffer(bytes) {
        Ok(p) => p,
        Err(e) => {
            out.file_error(
                path,
                "evtx-header",
                format!("not a readable EVTX file: {}", chain(&e)),
            );
            return out;
        }
    };
    // Compact XML (no indentation) is closest to what Splunk indexes as
    // the `_raw` of an XmlWinEventLog event.
    let settings = Arc::new(ParserSettings::new().indent(false));
    let chunks: Vec<evtx::err::Result<EvtxChunkData>> = parser.chunks().collect();

    let parts: Vec<FileLoad> = chunks
        .into_par_iter()
        .map(|chunk| load_chunk(path, chunk, &settings))
        .collect();
    for part in parts {
        out.append(part);
    }
    out
}

/// Reads the records of one chunk, in order.
fn load_chunk(
    path: &Path,
    chunk: evtx::err::Result<EvtxChunkData>,
    settings: &Arc<ParserSettings>,
) -> FileLoad {
    let mut out = FileLoad::default();
    let mut data = match chunk {
        Ok(d) => d,
        Err(e) => {
            out.record_error(path, None, "evtx-chunk", chain(&e));
            return out;
        }
    };
    let number = data.number;
    let mut chunk = match data.parse(Arc::clone(settings)) {
        Ok(c) => c,
        Err(e) => {
            let what = match number {
                Some(n) => format!("chunk {n}: {}", chain(&e)),
                None => chain(&e),
            };
            out.record_error(path, None, "evtx-chunk", what);
            return out;
        }
    };
    for record in chunk.iter() {
        match record {
            Ok(record) => load_record(path, record, &mut out),
            Err(e) => out.record_error(path, None, "evtx-record", chain(&e)),
        }
    }
    out
}

/// Renders one record and reads its fields.
fn load_record(path: &Path, record: EvtxRecord<'_>, out: &mut FileLoad) {
    let id = record.event_record_id;
    // Kept for the lone-surrogate check below: rendering consumes the record.
    let original = record.clone();
    let xml = match record.into_xml() {
        Ok(x) => x.data,
        Err(e) => {
            out.record_error(path, Some(id), "evtx-record", chain(&e));
            return;
        }
    };
    let mut raw = strip_declaration(xml);
    let mut found: Option<winxml::XmlRecord> = None;
    let scanned = winxml::scan(&raw, &mut |r| {
        if found.is_none() {
            found = Some(r);
        }
    });
    let mut rec = match (scanned, found) {
        (Ok(()), Some(rec)) => rec,
        (Err(e), _) => {
            let msg = format!(
                "rendered XML is unreadable at byte {}: {}",
                e.offset, e.message
            );
            out.record_error(path, Some(id), "evtx-record", msg);
            return;
        }
        (Ok(()), None) => {
            out.record_error(
                path,
                Some(id),
                "evtx-record",
                "rendered XML holds no <Event>".into(),
            );
            return;
        }
    };
    if raw.contains('_') {
        let repairs = lone_surrogate_values(&original);
        if !repairs.is_empty() {
            let count: usize = repairs.iter().map(|r| r.count).sum();
            rec.warnings += count;
            apply_repairs(&repairs, &mut rec.fields, &mut raw);
            out.diagnostics.push(
                Diagnostic::file(
                    Severity::Warning,
                    "decode-replaced",
                    format!("{count} lone UTF-16 surrogate(s) replaced by U+FFFD"),
                    path,
                    None,
                )
                .with_note(format!("record {id}")),
            );
        }
    }
    out.warnings += rec.warnings;
    out.events.push(Event {
        fields: rec.fields,
        raw,
        origin: EventOrigin {
            path: path.to_path_buf(),
            record: id,
        },
    });
}

/// Drops a leading `<?xml …?>` declaration and the whitespace after it:
/// Splunk's `_raw` for Windows events starts at `<Event`.
fn strip_declaration(mut xml: String) -> String {
    let mut cut = xml.len() - xml.trim_start().len();
    if xml[cut..].starts_with("<?xml") {
        if let Some(end) = xml[cut..].find("?>") {
            let rest = &xml[cut + end + 2..];
            cut += end + 2 + (rest.len() - rest.trim_start().len());
        }
    }
    // In place: the record's XML is the biggest string of the event.
    xml.drain(..cut);
    xml
}

/// A string value that held lone surrogates: how the crate rendered it and
/// how it should read.
#[derive(Debug, PartialEq)]
struct Repair {
    /// The crate's rendering, with `_` for each lone surrogate.
    rendered: String,
    /// The same text with U+FFFD for each lone surrogate.
    repaired: String,
    /// How many lone surrogates.
    count: usize,
}

/// Finds the record's string values that hold lone surrogates.
fn lone_surrogate_values(record: &EvtxRecord<'_>) -> Vec<Repair> {
    let Ok(templates) = record.template_instances() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in &templates {
        for value in &t.values {
            match value {
                BinXmlValue::StringType(s) => out.extend(repair(s.as_bytes())),
                BinXmlValue::StringArrayType(items) => {
                    out.extend(items.iter().filter_map(|s| repair(s.as_bytes())))
                }
                _ => {}
            }
        }
    }
    out
}

/// Spells a UTF-16LE value both ways when it holds a lone surrogate.
fn repair(bytes: &[u8]) -> Option<Repair> {
    let units = bytes
        .as_chunks::<2>()
        .0
        .iter()
        .map(|u| u16::from_le_bytes(*u))
        .take_while(|u| *u != 0);
    let mut r = Repair {
        rendered: String::new(),
        repaired: String::new(),
        count: 0,
    };
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => {
                // Mirror the crate's XML rendering of characters XML forbids.
                let shown = if (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
                    || matches!(c, '\u{FFFE}' | '\u{FFFF}')
                {
                    '_'
                } else {
                    c
                };
                r.rendered.push(shown);
                r.repaired.push(shown);
            }
            Err(_) => {
                r.rendered.push('_');
                r.repaired.push(char::REPLACEMENT_CHARACTER);
                r.count += 1;
            }
        }
    }
    (r.count > 0).then_some(r)
}

/// Swaps the `_` spelling of each repaired value for its U+FFFD one.
fn apply_repairs(repairs: &[Repair], fields: &mut Fields, raw: &mut String) {
    for r in repairs {
        for values in fields.values_mut() {
            for v in values.iter_mut().filter(|v| **v == r.rendered) {
                v.clone_from(&r.repaired);
            }
        }
        let (from, to) = (escape_text(&r.rendered), escape_text(&r.repaired));
        if let Some(at) = raw.find(&format!(">{from}<")) {
            raw.replace_range(at + 1..at + 1 + from.len(), &to);
        }
    }
}

/// Escapes text the way XML element content is written.
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An error and its sources, joined by `: `.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(units: &[u16]) -> Vec<u8> {
        units.iter().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn repair_spells_lone_surrogates_both_ways() {
        let r = repair(&le(&[
            b'a' as u16,
            0xD800,
            b'b' as u16,
            0xD83D,
            0xDE00,
            0xDC00,
            0,
        ]))
        .expect("has lone surrogates");
        assert_eq!(r.rendered, "a_b😀_");
        assert_eq!(r.repaired, "a\u{FFFD}b😀\u{FFFD}");
        assert_eq!(r.count, 2);
        assert!(repair(&le(&[b'o' as u16, b'k' as u16])).is_none());
    }

    #[test]
    fn repairs_reach_fields_and_raw() {
        let repairs = vec![repair(&le(&[b'x' as u16, 0xDC00, b'<' as u16])).expect("lone")];
        let mut fields = Fields::new();
        fields.insert("CommandLine".into(), vec!["x_<".into()]);
        fields.insert("Other".into(), vec!["x_".into()]);
        let mut raw = "<Event><Data Name=\"CommandLine\">x_&lt;</Data></Event>".to_string();
        apply_repairs(&repairs, &mut fields, &mut raw);
        assert_eq!(fields["CommandLine"], ["x\u{FFFD}<"]);
        assert_eq!(fields["Other"], ["x_"]);
        assert_eq!(
            raw,
            "<Event><Data Name=\"CommandLine\">x\u{FFFD}&lt;</Data></Event>"
        );
    }

    #[test]
    fn declaration_is_stripped() {
        assert_eq!(
            strip_declaration("<?xml version=\"1.0\"?>\n<Event/>".into()),
            "<Event/>"
        );
        assert_eq!(strip_declaration("<Event/>".into()), "<Event/>");
    }

    #[test]
    fn garbage_file_is_one_file_error() {
        let out = load_bytes(Path::new("x.evtx"), b"not an evtx file at all".to_vec());
        assert!(out.events.is_empty());
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].code, "evtx-header");
        assert!(out.failed);
    }
}
