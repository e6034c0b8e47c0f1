//! Event loading against the real EVTX corpus in `../shared` and the
//! team-written samples in `catalog/events/`.
//!
//! Corpus tests skip (with a printed reason) when `../shared` is missing,
//! and fail when it is missing under CI.

use std::path::{Path, PathBuf};

use ruledex::events::{load_bytes, load_file, load_path, FieldMap, Format};

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.is_dir() {
        Some(p)
    } else if std::env::var_os("CI").is_some() {
        panic!("../shared missing under CI")
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

/// What the evtx crate's own record iterator yields for a file (records
/// plus errors), or `None` when it cannot open the file.
fn evtx_crate_count(path: &Path) -> Option<usize> {
    let mut parser = evtx::EvtxParser::from_path(path).ok()?;
    Some(parser.records().count())
}

#[test]
fn every_corpus_evtx_file_loads_with_the_crates_record_count() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/events/evtx-attack-samples");
    let map = FieldMap::default_map();
    let (events, report) = load_path(&dir, &map);

    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
        })
        .map(|e| e.into_path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 277, "the corpus has 277 EVTX files");
    assert_eq!(report.files, files.len());

    let mut expected_total = 0;
    let mut mismatches = Vec::new();
    for f in &files {
        let crate_count = evtx_crate_count(f).unwrap_or(0);
        expected_total += crate_count;
        let (evs, r) = load_file(f, &map);
        if evs.len() + r.skipped_records != crate_count {
            mismatches.push(format!(
                "{}: crate {crate_count}, ruledex {} + {} skipped",
                f.display(),
                evs.len(),
                r.skipped_records
            ));
        }
    }
    println!(
        "evtx corpus: {} files, {} events, {} skipped records, {} decode warnings, {} unreadable files, {} diagnostics; evtx crate iteration count {}",
        report.files,
        report.events,
        report.skipped_records,
        report.decode_warnings,
        report.failed_files,
        report.diagnostics.len(),
        expected_total
    );
    for d in report.diagnostics.iter().take(20) {
        print!("{}", d.render(None));
    }
    assert!(
        mismatches.is_empty(),
        "per-file counts differ:\n{}",
        mismatches.join("\n")
    );
    assert_eq!(report.events + report.skipped_records, expected_total);
    assert_eq!(events.len(), report.events);
    assert!(report.events > 1000, "the corpus holds thousands of events");

    // Order: by path, then record.
    for w in events.windows(2) {
        let (a, b) = (&w[0].origin, &w[1].origin);
        assert!(a.path <= b.path, "files out of order: {a:?} then {b:?}");
    }
    // Every event is a Windows event with the Splunk system names.
    let missing: Vec<_> = events
        .iter()
        .filter(|e| {
            e.get("EventCode").is_none() || e.get("host").is_none() || e.get("_time").is_none()
        })
        .take(5)
        .map(|e| format!("{}#{}", e.origin.path.display(), e.origin.record))
        .collect();
    assert!(
        missing.is_empty(),
        "events without EventCode/host/_time: {missing:?}"
    );
    assert!(events.iter().all(|e| e.raw.starts_with("<Event")));
}

#[test]
fn corpus_sysmon_process_creates_get_cim_names() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/events/evtx-attack-samples");
    let (events, _) = load_path(&dir, &FieldMap::default_map());
    let creates: Vec<_> = events
        .iter()
        .filter(|e| {
            e.get("Provider_Name") == Some("Microsoft-Windows-Sysmon")
                && e.get("EventCode") == Some("1")
        })
        .collect();
    assert!(!creates.is_empty());
    for e in creates {
        let image = e.get("Image").expect("Sysmon 1 has Image");
        let name = e.get("process_name").expect("process_name derived");
        assert!(image.ends_with(name), "{image} / {name}");
        assert!(!name.contains('\\'));
        assert_eq!(e.get("process_path"), Some(image));
        assert_eq!(e.get("dest"), e.get("Computer"));
    }
}

#[test]
fn corrupt_evtx_record_is_skipped_and_the_rest_loads() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/events/evtx-attack-samples");
    let map = FieldMap::default_map();
    // The largest file, so there are records before and after the damage.
    let biggest = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "evtx"))
        .max_by_key(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .expect("corpus has evtx files");
    let mut bytes = std::fs::read(biggest.path()).expect("readable");
    let (clean, clean_report) = load_bytes(biggest.path(), &bytes, Format::Evtx, &map);
    assert_eq!(clean_report.skipped_records, 0);

    // Break the magic of the second record of the first chunk: the chunk
    // header is 512 bytes, records start with "**\0\0".
    let chunk = &bytes[4096..4096 + 65536];
    let second = chunk[512 + 4..]
        .windows(4)
        .position(|w| w == b"\x2a\x2a\x00\x00")
        .map(|p| 4096 + 512 + 4 + p)
        .expect("a second record");
    bytes[second] = b'X';
    let (events, report) = load_bytes(biggest.path(), &bytes, Format::Evtx, &map);
    println!("{}", report.summary());
    for d in &report.diagnostics {
        print!("{}", d.render(None));
    }
    assert!(
        report.skipped_records >= 1,
        "the damaged record is reported"
    );
    assert!(!report.diagnostics.is_empty());
    assert!(events.len() + 1 >= clean.len() - report.skipped_records);
    assert!(events.len() < clean.len());
    assert!(events.len() > clean.len() / 2, "the rest still loads");
}

fn catalog_events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/events")
}

#[test]
fn catalog_samples_load_cleanly() {
    let (events, report) = load_path(&catalog_events(), &FieldMap::default_map());
    for d in &report.diagnostics {
        print!("{}", d.render(None));
    }
    assert!(report.diagnostics.is_empty());
    assert_eq!(report.files, 4);
    assert_eq!(report.skipped_records, 0);
    assert_eq!(events.len(), 37);
}

/// Rows of the Snowflake table get no derived columns from the map.
#[test]
fn snowflake_rows_keep_their_columns() {
    let (events, _) = load_file(
        &catalog_events().join("netscan_snowflake.jsonl"),
        &FieldMap::default_map(),
    );
    for e in &events {
        let line: serde_json::Value = serde_json::from_str(&e.raw).expect("JSON line");
        let cols: Vec<&String> = line.as_object().expect("object").keys().collect();
        let fields: Vec<&String> = e.fields.keys().collect();
        assert_eq!(
            fields.len(),
            cols.len(),
            "record {}: {fields:?}",
            e.origin.record
        );
    }
}

/// Every record of every sample file is listed in expected.yml, and the
/// loader plus the default map give the field values it states.
#[test]
fn catalog_samples_match_expected_fields() {
    let dir = catalog_events();
    let text = std::fs::read_to_string(dir.join("expected.yml")).expect("expected.yml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("expected.yml is YAML");
    let map = FieldMap::default_map();
    let files = doc["files"].as_sequence().expect("files list");
    assert_eq!(files.len(), 4);
    let mut problems = Vec::new();
    for f in files {
        let name = f["file"].as_str().expect("file name");
        let (events, report) = load_file(&dir.join(name), &map);
        assert!(
            report.diagnostics.is_empty(),
            "{name}: {:?}",
            report.diagnostics
        );
        let records = f["records"].as_sequence().expect("records");
        let listed: Vec<u64> = records
            .iter()
            .map(|r| r["record"].as_u64().expect("record"))
            .collect();
        let loaded: Vec<u64> = events.iter().map(|e| e.origin.record).collect();
        assert_eq!(listed, loaded, "{name}: records listed vs loaded");
        for (r, ev) in records.iter().zip(&events) {
            let rules = f["rules"].as_sequence().expect("rules");
            for rule in rules {
                let rule = rule.as_str().expect("rule id");
                let v = r["expect"][rule]["verdict"].as_str();
                assert!(
                    matches!(v, Some("match" | "no_match")),
                    "{name} record {}: no verdict for {rule}",
                    ev.origin.record
                );
            }
            let Some(fields) = r["fields"].as_mapping() else {
                continue;
            };
            for (k, want) in fields {
                let k = k.as_str().expect("field name");
                let want = want.as_str().expect("field values are strings");
                if ev.get(k) != Some(want) {
                    problems.push(format!(
                        "{name} record {}: {k} = {:?}, expected {want:?}",
                        ev.origin.record,
                        ev.get(k)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A tiny deterministic generator, so damage is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

/// Damaged EVTX input (flipped bytes anywhere, truncation) never panics:
/// every damaged copy loads what it can and reports the rest.
#[test]
fn damaged_evtx_never_panics() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/events/evtx-attack-samples");
    let map = FieldMap::default_map();
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "evtx"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let mut rng = Lcg(3);
    let mut damaged_reports = 0;
    for round in 0..120 {
        let path = &files[rng.next(files.len())];
        let mut bytes = std::fs::read(path).expect("readable");
        match round % 4 {
            // Anywhere, including the file and chunk headers.
            0 => {
                for _ in 0..1 + rng.next(8) {
                    let at = rng.next(bytes.len());
                    bytes[at] ^= 1 << rng.next(8);
                }
            }
            // Inside the record area of the first chunk.
            1 | 2 => {
                let end = bytes.len().min(4096 + 65536);
                for _ in 0..1 + rng.next(32) {
                    let at = 4096 + 512 + rng.next(end.saturating_sub(4096 + 512));
                    if at < bytes.len() {
                        bytes[at] = rng.next(256) as u8;
                    }
                }
            }
            _ => bytes.truncate(rng.next(bytes.len())),
        }
        let (events, report) = load_bytes(path, &bytes, Format::Evtx, &map);
        assert_eq!(events.len(), report.events);
        if !report.diagnostics.is_empty() {
            damaged_reports += 1;
        }
        assert!(
            !report
                .diagnostics
                .iter()
                .any(|d| d.code == "internal-error"),
            "{}: a reader panicked: {:?}",
            path.display(),
            report.diagnostics
        );
    }
    assert!(damaged_reports > 10, "damage is noticed and reported");
}

/// Damaged XML, JSON and CSV (flipped bytes, truncation) never panic.
#[test]
fn damaged_text_formats_never_panic() {
    let map = FieldMap::default_map();
    let csv = b"EventCode,Image,CommandLine\r\n1,C:\\a.exe,\"a \"\"b\"\"\"\r\n3,x,y\r\n".to_vec();
    let samples = [
        (
            "netscan.xml",
            Format::Xml,
            std::fs::read(catalog_events().join("netscan.xml")).expect("sample"),
        ),
        (
            "netscan_4688.xml",
            Format::Xml,
            std::fs::read(catalog_events().join("netscan_4688.xml")).expect("sample"),
        ),
        (
            "netscan_edr.jsonl",
            Format::Json,
            std::fs::read(catalog_events().join("netscan_edr.jsonl")).expect("sample"),
        ),
        ("e.csv", Format::Csv, csv),
    ];
    let mut rng = Lcg(11);
    for (name, format, original) in &samples {
        for round in 0..150 {
            let mut bytes = original.clone();
            if round % 3 == 0 {
                bytes.truncate(rng.next(bytes.len()));
            } else {
                for _ in 0..1 + rng.next(12) {
                    let at = rng.next(bytes.len());
                    // Markup characters make the interesting damage.
                    bytes[at] = *[
                        b'<', b'>', b'/', b'"', b'\'', b'&', b'{', b',', 0xFF, 0xD8, b'\n',
                    ]
                    .get(rng.next(11))
                    .unwrap_or(&b'x');
                }
            }
            let (events, report) = load_bytes(Path::new(name), &bytes, *format, &map);
            assert_eq!(events.len(), report.events);
            assert!(
                !report
                    .diagnostics
                    .iter()
                    .any(|d| d.code == "internal-error"),
                "{name} round {round}: {:?}",
                report.diagnostics
            );
        }
    }
}
