//! Events that rules are evaluated against, and the loaders that read them.
//!
//! Every loader produces the same [`Event`]: named, possibly multi-valued
//! string fields plus the `_raw` text Splunk's bare terms are matched
//! against. Field names are those of the source (`EventID`, `Image`…)
//! until the field map adds the Splunk/CIM names rules use.
//!
//! [`load_path`] reads a file or a directory tree: EVTX (`.evtx`), Windows
//! XML exports (`.xml`), JSON (`.json`, `.jsonl`, `.ndjson`) and CSV
//! (`.csv`); a file with another extension is recognised by its first
//! bytes. Files are read in parallel, events come back ordered by path and
//! then record, and every event goes through the [`FieldMap`]. Bad files
//! and records are reported in the [`LoadReport`] and skipped; the rest
//! loads.

mod csv_file;
mod decode;
mod evtx_file;
pub mod fieldmap;
mod json_file;
pub mod time;
mod winxml;
mod xml_file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::diag::{Diagnostic, Severity};

pub use fieldmap::FieldMap;

/// One event: fields, raw text and provenance.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Event {
    /// Field name → values (one for most fields, several for multivalue).
    pub fields: BTreeMap<String, Vec<String>>,
    /// The event as text: the XML for EVTX/XML input, the line for JSON
    /// lines and CSV.
    pub raw: String,
    /// Where the event came from.
    pub origin: EventOrigin,
}

/// Where an event was read from, for `--explain` and reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EventOrigin {
    /// The file.
    pub path: PathBuf,
    /// The record number (EVTX) or 1-based line / element index.
    pub record: u64,
}

impl Event {
    /// The first value of `name`, if present. `_raw` is the raw text.
    pub fn get(&self, name: &str) -> Option<&str> {
        if name == "_raw" {
            return Some(&self.raw);
        }
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of `name` (empty when missing). `_raw` is the raw text.
    pub fn values(&self, name: &str) -> &[String] {
        self.fields.get(name).map_or(&[], Vec::as_slice)
    }

    /// Sets `name` to a single value, replacing what was there.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.fields.insert(name.into(), vec![value.into()]);
    }
}

impl Event {
    /// Adds a value to `name`, keeping the values already there.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.fields
            .entry(name.into())
            .or_default()
            .push(value.into());
    }
}

/// What a load read, skipped and repaired.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoadReport {
    /// Event files looked at (including ones that could not be read).
    pub files: usize,
    /// Files that could not be read at all.
    pub failed_files: usize,
    /// Events loaded.
    pub events: usize,
    /// Records that were found but could not be read.
    pub skipped_records: usize,
    /// Invalid bytes and lone UTF-16 surrogates replaced by U+FFFD.
    pub decode_warnings: usize,
    /// One per bad file, bad record or repair, naming the file and the
    /// record or line.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadReport {
    /// Adds another report's counts and diagnostics to this one.
    pub fn merge(&mut self, other: LoadReport) {
        self.files += other.files;
        self.failed_files += other.failed_files;
        self.events += other.events;
        self.skipped_records += other.skipped_records;
        self.decode_warnings += other.decode_warnings;
        self.diagnostics.extend(other.diagnostics);
    }

    /// A one-line summary such as `3 files, 120 events, 1 skipped record`.
    pub fn summary(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut s = format!(
            "{}, {}",
            plural(self.files, "file", "files"),
            plural(self.events, "event", "events")
        );
        if self.failed_files > 0 {
            s += &format!(
                ", {}",
                plural(self.failed_files, "unreadable file", "unreadable files")
            );
        }
        if self.skipped_records > 0 {
            s += &format!(
                ", {}",
                plural(self.skipped_records, "skipped record", "skipped records")
            );
        }
        if self.decode_warnings > 0 {
            s += &format!(
                ", {}",
                plural(self.decode_warnings, "decode warning", "decode warnings")
            );
        }
        s
    }
}

/// The event file formats ruledex reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Windows binary event log.
    Evtx,
    /// Windows event XML (`wevtutil qe /f:xml`, Event Viewer export).
    Xml,
    /// JSON lines, a JSON array, or one JSON object.
    Json,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// The format an extension names (case-insensitive), if any.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "evtx" => Format::Evtx,
            "xml" => Format::Xml,
            "json" | "jsonl" | "ndjson" => Format::Json,
            "csv" => Format::Csv,
            _ => return None,
        })
    }

    /// The format a file's first bytes suggest, if any.
    pub fn sniff(start: &[u8]) -> Option<Format> {
        if start.starts_with(b"ElfFile\0") {
            return Some(Format::Evtx);
        }
        let head = decode::decode_bytes(&start[..start.len().min(512)]).text;
        match head.trim_start().chars().next()? {
            '<' => Some(Format::Xml),
            '{' | '[' => Some(Format::Json),
            _ => None,
        }
    }
}

/// One file's events and problems, before they are merged.
#[derive(Debug, Default)]
pub(crate) struct FileLoad {
    events: Vec<Event>,
    skipped: usize,
    warnings: usize,
    diagnostics: Vec<Diagnostic>,
    /// The file could not be read at all.
    failed: bool,
}

impl FileLoad {
    /// A load of a file that could not be read at all.
    fn unreadable(path: &Path, err: &std::io::Error) -> FileLoad {
        let mut out = FileLoad::default();
        out.file_error(path, "io-error", format!("cannot read file: {err}"));
        out
    }

    /// Records that the whole file could not be read.
    fn file_error(&mut self, path: &Path, code: &str, message: String) {
        self.failed = true;
        self.diagnostics
            .push(Diagnostic::file(Severity::Error, code, message, path, None));
    }

    /// Records one record that could not be read (`id` when known).
    fn record_error(&mut self, path: &Path, id: Option<u64>, code: &str, message: String) {
        self.skipped += 1;
        let note = match id {
            Some(id) => format!("record {id} skipped"),
            None => "one record skipped".to_string(),
        };
        self.diagnostics
            .push(Diagnostic::file(Severity::Error, code, message, path, None).with_note(note));
    }

    /// Records the repairs decoding a file's bytes needed.
    fn note_decode(&mut self, path: &Path, warnings: usize) {
        if warnings == 0 {
            return;
        }
        self.warnings += warnings;
        self.diagnostics.push(Diagnostic::file(
            Severity::Warning,
            "decode-replaced",
            format!("{warnings} invalid byte sequence(s) replaced by U+FFFD"),
            path,
            None,
        ));
    }

    /// Appends a later part of the same file.
    fn append(&mut self, other: FileLoad) {
        self.events.extend(other.events);
        self.skipped += other.skipped;
        self.warnings += other.warnings;
        self.diagnostics.extend(other.diagnostics);
        self.failed |= other.failed;
    }

    /// Applies the map and turns the load into events and a report.
    fn finish(mut self, map: &FieldMap) -> (Vec<Event>, LoadReport) {
        for ev in &mut self.events {
            map.apply(ev);
        }
        let report = LoadReport {
            files: 1,
            failed_files: usize::from(self.failed),
            events: self.events.len(),
            skipped_records: self.skipped,
            decode_warnings: self.warnings,
            diagnostics: self.diagnostics,
        };
        (self.events, report)
    }
}

/// Loads a file, or every event file under a directory (recursively),
/// applying `map` to each event.
///
/// Files are read in parallel; events come back ordered by path, then by
/// record. Nothing here panics or stops on bad input: unreadable files and
/// records are in the report.
pub fn load_path(path: &Path, map: &FieldMap) -> (Vec<Event>, LoadReport) {
    let mut report = LoadReport::default();
    let files = if path.is_dir() {
        event_files(path, &mut report)
    } else {
        vec![path.to_path_buf()]
    };
    let loaded: Vec<(Vec<Event>, LoadReport)> =
        files.par_iter().map(|f| load_file(f, map)).collect();

    let mut events = Vec::with_capacity(loaded.iter().map(|(e, _)| e.len()).sum());
    for (evs, r) in loaded {
        events.extend(evs);
        report.merge(r);
    }
    log::debug!("loaded {}: {}", path.display(), report.summary());
    (events, report)
}

/// Loads one file, choosing the format by extension, then by content.
pub fn load_file(path: &Path, map: &FieldMap) -> (Vec<Event>, LoadReport) {
    let format = match Format::from_extension(path) {
        Some(f) => Some(f),
        None => match read_start(path) {
            Ok(start) => Format::sniff(&start),
            Err(e) => return FileLoad::unreadable(path, &e).finish(map),
        },
    };
    let out = match format {
        Some(format) => guarded(path, || match format {
            Format::Evtx => evtx_file::load(path),
            Format::Xml => read_then(path, xml_file::load_bytes),
            Format::Json => read_then(path, json_file::load_bytes),
            Format::Csv => read_then(path, csv_file::load_bytes),
        }),
        None => {
            let mut out = FileLoad::default();
            out.file_error(
                path,
                "unknown-format",
                "not an event file ruledex reads (evtx, xml, json, jsonl, ndjson, csv)".into(),
            );
            out
        }
    };
    out.finish(map)
}

/// Reads `path` whole and hands its bytes to `parse`; a file that cannot
/// be read becomes one `io-error`.
fn read_then(path: &Path, parse: fn(&Path, &[u8]) -> FileLoad) -> FileLoad {
    match std::fs::read(path) {
        Ok(bytes) => parse(path, &bytes),
        Err(e) => FileLoad::unreadable(path, &e),
    }
}

/// Loads events from bytes in a known format; `path` names them in
/// origins and diagnostics. For tests and for input that is not a file.
pub fn load_bytes(
    path: &Path,
    bytes: &[u8],
    format: Format,
    map: &FieldMap,
) -> (Vec<Event>, LoadReport) {
    let out = guarded(path, || match format {
        Format::Evtx => evtx_file::load_bytes(path, bytes.to_vec()),
        Format::Xml => xml_file::load_bytes(path, bytes),
        Format::Json => json_file::load_bytes(path, bytes),
        Format::Csv => csv_file::load_bytes(path, bytes),
    });
    out.finish(map)
}

/// Runs a reader, turning a panic (a bug, ours or a parser crate's, on
/// some odd input) into an error for that file so the other files load.
fn guarded(path: &Path, read: impl FnOnce() -> FileLoad) -> FileLoad {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(out) => out,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let mut out = FileLoad::default();
            out.file_error(
                path,
                "internal-error",
                format!("the reader failed on this file ({what}); please report it"),
            );
            out
        }
    }
}

/// The first bytes of a file, for sniffing.
fn read_start(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut buf = Vec::with_capacity(512);
    std::fs::File::open(path)?.take(512).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Every file with an event extension under `dir`, sorted by path.
fn event_files(dir: &Path, report: &mut LoadReport) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(true) {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                if Format::from_extension(e.path()).is_some() {
                    files.push(e.into_path());
                } else {
                    log::debug!(
                        "skipped {}: not an event file extension",
                        e.path().display()
                    );
                }
            }
            Ok(_) => {}
            Err(e) => {
                let at = e
                    .path()
                    .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
                report.diagnostics.push(Diagnostic::file(
                    Severity::Error,
                    "io-error",
                    format!("cannot walk directory: {e}"),
                    at,
                    None,
                ));
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_reader_becomes_a_file_error() {
        let out = guarded(Path::new("bad.evtx"), || panic!("boom"));
        assert!(out.failed);
        assert_eq!(out.diagnostics[0].code, "internal-error");
        assert!(out.diagnostics[0].message.contains("boom"));
    }

    #[test]
    fn formats_by_extension_and_content() {
        assert_eq!(
            Format::from_extension(Path::new("a/B.EVTX")),
            Some(Format::Evtx)
        );
        assert_eq!(
            Format::from_extension(Path::new("x.ndjson")),
            Some(Format::Json)
        );
        assert_eq!(Format::from_extension(Path::new("x.txt")), None);
        assert_eq!(Format::sniff(b"ElfFile\0rest"), Some(Format::Evtx));
        assert_eq!(Format::sniff(b"\xEF\xBB\xBF <Events>"), Some(Format::Xml));
        assert_eq!(Format::sniff(b"\xFF\xFE<\0E\0"), Some(Format::Xml));
        assert_eq!(Format::sniff(b"  {\"a\":1}"), Some(Format::Json));
        assert_eq!(Format::sniff(b"a,b\n1,2"), None);
    }

    #[test]
    fn load_path_reads_a_tree_in_path_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sub = dir.path().join("b");
        std::fs::create_dir(&sub).expect("mkdir");
        std::fs::write(sub.join("z.jsonl"), "{\"n\":\"3\"}\n").expect("write");
        std::fs::write(dir.path().join("a.csv"), "n\n1\n2\n").expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not events").expect("write");
        std::fs::write(dir.path().join("broken.xml"), "<Event><System>").expect("write");
        let (events, report) = load_path(dir.path(), &FieldMap::empty());
        let ns: Vec<_> = events.iter().map(|e| e.get("n").unwrap_or("")).collect();
        assert_eq!(ns, ["1", "2", "3"]);
        assert_eq!(report.files, 3, "notes.txt is not an event file");
        assert_eq!(report.events, 3);
        assert_eq!(report.skipped_records, 1);
        assert_eq!(report.summary(), "3 files, 3 events, 1 skipped record");
        let d = &report.diagnostics[0];
        assert!(d.path.as_ref().is_some_and(|p| p.ends_with("broken.xml")));
    }

    #[test]
    fn an_unknown_file_given_directly_is_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("notes.txt");
        std::fs::write(&p, "hello").expect("write");
        let (events, report) = load_path(&p, &FieldMap::empty());
        assert!(events.is_empty());
        assert_eq!(report.failed_files, 1);
        assert_eq!(report.diagnostics[0].code, "unknown-format");
        let (_, report) = load_path(&dir.path().join("missing.evtx"), &FieldMap::empty());
        assert_eq!(report.failed_files, 1);
        assert_eq!(report.diagnostics[0].code, "io-error");
    }
}
