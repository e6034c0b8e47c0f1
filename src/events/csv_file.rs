//! CSV events: a header row names the fields, each later row is an event.
//!
//! Empty cells give no field. `_raw` is the row's text as written (several
//! lines when a quoted cell holds line breaks). A row with more cells than
//! the header is reported and skipped; a shorter row loads with the cells
//! it has. Records are numbered by the line their row starts on.

use std::path::Path;

use super::decode::decode_bytes;
use super::winxml::{push, Fields};
use super::{Event, EventOrigin, FileLoad};
use crate::diag::{Diagnostic, Severity, Span};

/// Reads every row of CSV text held in memory; `path` names it.
pub(crate) fn load_bytes(path: &Path, bytes: &[u8]) -> FileLoad {
    let mut out = FileLoad::default();
    let decoded = decode_bytes(bytes);
    out.note_decode(path, decoded.warnings);
    let text = decoded.text.as_str();

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            out.file_error(path, "csv-syntax", format!("unreadable header: {e}"));
            return out;
        }
    };
    if header.iter().all(String::is_empty) {
        out.file_error(path, "csv-syntax", "the header row is empty".into());
        return out;
    }

    // Rows with their start byte, to cut `_raw` out of the text.
    let mut rows: Vec<(usize, csv::StringRecord)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let pos = reader.position().clone();
        match reader.read_record(&mut record) {
            Ok(true) => {
                // The record's own position is its first byte; the reader's
                // position before reading may sit on the previous line end.
                let at = record.position().unwrap_or(&pos);
                rows.push((at.byte() as usize, record.clone()));
            }
            Ok(false) => break,
            Err(e) => {
                out.skipped += 1;
                out.diagnostics.push(Diagnostic::file(
                    Severity::Error,
                    "csv-syntax",
                    format!("line {}: {e}", pos.line()),
                    path,
                    Some(Span::new(pos.byte() as usize, pos.byte() as usize + 1)),
                ));
            }
        }
    }
    let ends: Vec<usize> = rows
        .iter()
        .skip(1)
        .map(|r| r.0)
        .chain(std::iter::once(text.len()))
        .collect();

    // Line numbers are counted here: the reader's count is off after CRLF.
    let (mut counted_to, mut line) = (0usize, 1u64);
    for ((start, row), end) in rows.into_iter().zip(ends) {
        // With CRLF line ends the reader's record start sits on the `\n`.
        let skip = text
            .get(start..end)
            .map_or(0, |r| r.len() - r.trim_start_matches(['\r', '\n']).len());
        let start = start + skip;
        line += text
            .get(counted_to..start)
            .map_or(0, |t| t.matches('\n').count()) as u64;
        counted_to = start;
        if row.len() > header.len() {
            out.skipped += 1;
            out.diagnostics.push(
                Diagnostic::file(
                    Severity::Error,
                    "csv-row-width",
                    format!(
                        "line {line}: {} cells, the header has {}",
                        row.len(),
                        header.len()
                    ),
                    path,
                    Some(Span::new(start, start + 1)),
                )
                .with_note(format!("line {line} skipped")),
            );
            continue;
        }
        if row.iter().all(str::is_empty) {
            continue;
        }
        let mut fields = Fields::new();
        for (name, value) in header.iter().zip(row.iter()) {
            if !name.is_empty() && !value.is_empty() {
                push(&mut fields, name, value);
            }
        }
        let raw = text.get(start..end).unwrap_or("");
        let raw = raw.trim_end_matches(['\r', '\n']).to_string();
        out.events.push(Event {
            fields,
            raw,
            origin: EventOrigin {
                path: path.to_path_buf(),
                record: line,
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_events() {
        let text = "EventCode,Image,CommandLine\r\n1,C:\\a.exe,\"a.exe \"\"x\"\"\"\r\n\
4688,,\"two\nlines\"\n3,short\n";
        let out = load_bytes(Path::new("e.csv"), text.as_bytes());
        assert_eq!(out.events.len(), 3, "{:?}", out.diagnostics);
        let e = &out.events[0];
        assert_eq!(e.get("EventCode"), Some("1"));
        assert_eq!(e.get("CommandLine"), Some("a.exe \"x\""));
        assert_eq!(e.raw, "1,C:\\a.exe,\"a.exe \"\"x\"\"\"");
        assert_eq!(e.origin.record, 2);
        let e = &out.events[1];
        assert_eq!(e.get("Image"), None, "empty cell, no field");
        assert_eq!(e.get("CommandLine"), Some("two\nlines"));
        assert_eq!(e.raw, "4688,,\"two\nlines\"");
        assert_eq!(out.events[2].origin.record, 5);
        assert_eq!(out.events[2].get("Image"), Some("short"));
    }

    #[test]
    fn too_wide_row_is_skipped() {
        let out = load_bytes(Path::new("e.csv"), b"a,b\n1,2\n1,2,3\n4,5\n");
        assert_eq!(out.events.len(), 2);
        assert_eq!(out.skipped, 1);
        assert!(out.diagnostics[0].message.starts_with("line 3:"));
    }
}
