//! Integration tests for the crawler and macro loading.
//!
//! `fixtures` crawls `tests/fixtures/crawl/catalog`, which holds one file
//! per real-world oddity (BOM, tabs, Latin-1, duplicated keys and ids,
//! paths with spaces and an en dash, macros). `corpus` crawls the real
//! catalogs under `../shared/corpus` when they are present.

use std::path::{Path, PathBuf};

use ruledex::crawl::{self, read_rule_file, Crawl};
use ruledex::diag::{Diagnostic, Origin, Position, Severity};
use ruledex::macros::{parse_macro_yaml, MacroSet};
use ruledex::rule::{Language, SourceFormat};

/// The fixture catalog.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crawl/catalog")
}

/// `../shared`, or `None` (with a printed reason) when it is missing;
/// under CI a missing corpus is a failure.
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

/// Reads one fixture file through `read_rule_file`.
fn read(rel: &str) -> (PathBuf, Vec<u8>) {
    let path = fixtures().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, bytes)
}

/// The diagnostics of a fixture that must not yield a rule.
fn rejected(rel: &str) -> Vec<Diagnostic> {
    let (path, bytes) = read(rel);
    match read_rule_file(&path, &bytes) {
        Ok((r, _)) => panic!("{rel}: expected no rule, got {}", r.id),
        Err(d) => d,
    }
}

/// The text spans of a fixture's diagnostics index: the decoded file.
fn decoded(rel: &str) -> String {
    crawl::yaml::decode(&read(rel).1).text
}

fn crawl_fixtures() -> Crawl {
    crawl::crawl(&[fixtures()])
}

#[test]
fn bom_file_parses_and_first_key_is_id() {
    let (path, bytes) = read("odd/bom.yml");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "fixture lost its BOM");
    let (rule, diags) = read_rule_file(&path, &bytes).expect("rule");
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(rule.id, "fx-bom");
    assert_eq!(rule.title, "BOM first");
    assert!(rule.yaml.starts_with("id: fx-bom"), "BOM kept in yaml");
}

#[test]
fn tab_indentation_is_error_with_line_and_column() {
    let d = rejected("odd/tab_indent.yml");
    let e = d.last().expect("diagnostic");
    assert_eq!(
        (e.severity, e.code.as_str()),
        (Severity::Error, "tab-indentation")
    );
    assert_eq!(e.origin, Origin::File);
    assert!(e
        .path
        .as_ref()
        .is_some_and(|p| p.ends_with("odd/tab_indent.yml")));
    let text = decoded("odd/tab_indent.yml");
    assert_eq!(e.position(&text), Some(Position { line: 6, column: 1 }));
    let rendered = e.render(Some(&text));
    assert!(
        rendered.contains("tab_indent.yml:6:1: error:"),
        "{rendered}"
    );
}

#[test]
fn latin1_description_is_decoded_lossily_with_warning() {
    let (path, bytes) = read("odd/latin1.yml");
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "fixture must not be UTF-8"
    );
    let (rule, diags) = read_rule_file(&path, &bytes).expect("rule still read");
    assert_eq!(
        rule.description,
        "caf\u{FFFD} scanner \u{FFFD} seen in the wild"
    );
    assert_eq!(diags.len(), 1, "{diags:?}");
    let w = &diags[0];
    assert_eq!(
        (w.severity, w.code.as_str()),
        (Severity::Warning, "invalid-utf8")
    );
    assert_eq!(
        w.position(&rule.yaml),
        Some(Position {
            line: 3,
            column: 17
        })
    );
}

#[test]
fn duplicated_key_names_key_and_both_lines() {
    let d = rejected("odd/duplicate_key.yml");
    let e = d.last().expect("diagnostic");
    assert_eq!(
        (e.severity, e.code.as_str()),
        (Severity::Error, "duplicate-key")
    );
    assert!(e.message.contains("`logic`"), "{}", e.message);
    assert!(e.message.contains("lines 4 and 6"), "{}", e.message);
    let text = decoded("odd/duplicate_key.yml");
    assert_eq!(e.position(&text), Some(Position { line: 6, column: 1 }));
}

#[test]
fn invalid_yaml_has_line_and_column() {
    let d = rejected("odd/not_yaml.yml");
    let e = d.last().expect("diagnostic");
    assert_eq!(
        (e.severity, e.code.as_str()),
        (Severity::Error, "invalid-yaml")
    );
    let text = decoded("odd/not_yaml.yml");
    let pos = e.position(&text).expect("position");
    assert!(pos.line >= 3, "{pos:?}");
}

#[test]
fn not_a_rule_and_missing_id() {
    let d = rejected("odd/not_a_rule.yaml");
    let e = d.last().expect("diagnostic");
    assert_eq!(
        (e.severity, e.code.as_str()),
        (Severity::Note, "not-a-rule")
    );
    let d = rejected("odd/missing_id.yml");
    let e = d.last().expect("diagnostic");
    assert_eq!(
        (e.severity, e.code.as_str()),
        (Severity::Error, "missing-id")
    );
}

#[test]
fn long_one_line_search_is_read_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut search = String::from("index=win ");
    let mut i = 0;
    while search.len() < 200 * 1024 {
        search.push_str(&format!("OR process_name=\"tool{i}.exe\" "));
        i += 1;
    }
    search.push_str("LAST_TERM");
    let text = format!("name: Long\nid: long-1\nsearch: '{search}'\n");
    let path = dir.path().join("long.yml");
    std::fs::write(&path, &text).expect("write");
    let c = crawl::crawl(&[dir.path().to_path_buf()]);
    assert_eq!(c.rules.len(), 1, "{:?}", c.diagnostics);
    assert_eq!(c.rules[0].logic, search);
    assert!(c.rules[0].logic.ends_with("LAST_TERM"));
}

#[test]
fn fixture_catalog_crawl() {
    let c = crawl_fixtures();
    for d in &c.diagnostics {
        eprint!("{}", d.render(None));
    }
    let ids: Vec<&str> = c.rules.iter().map(|r| r.id.as_str()).collect();

    // Paths with spaces and an en dash work.
    let spaced = c
        .rules
        .iter()
        .find(|r| r.id == "fx-space")
        .expect("en dash rule");
    assert!(spaced
        .path
        .to_string_lossy()
        .ends_with("with space/rule – en dash.yml"));
    assert_eq!(spaced.technique_ids, vec!["T1059"]);

    // Hidden directories are not crawled; README.md is not a candidate.
    assert!(!ids.contains(&"fx-hidden"), "{ids:?}");
    assert!(!ids.contains(&"fx-notes"), "{ids:?}");

    // The duplicated id keeps the first path, names both, skips the second.
    let kept: Vec<_> = c.rules.iter().filter(|r| r.id == "18093.30").collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].title, "First of two");
    let dup = c
        .diagnostics
        .iter()
        .find(|d| d.code == "duplicate-id")
        .expect("duplicate-id diagnostic");
    assert_eq!(dup.severity, Severity::Error);
    let text = format!("{} {}", dup.message, dup.notes.join(" "));
    assert!(dup.message.contains("dup_id_a.yml"), "{text}");
    assert!(dup
        .path
        .as_ref()
        .is_some_and(|p| p.ends_with("dup_id_b.yml")));
    assert!(text.contains("dup_id_b.yml"), "{text}");

    // One rule per format.
    let sc = c
        .rules
        .iter()
        .find(|r| r.format == SourceFormat::SecurityContent)
        .expect("sc");
    assert_eq!(sc.technique_ids, vec!["T1046"]);
    let sent = c
        .rules
        .iter()
        .find(|r| r.format == SourceFormat::Sentinel)
        .expect("sentinel");
    assert_eq!(sent.language, Language::Kusto);
    assert_eq!(sent.data_categories, vec!["SecurityEvents"]);

    // Determinism: rules come out in path order.
    let paths: Vec<_> = c.rules.iter().map(|r| r.path.clone()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);

    // Stats: every candidate read; rules counted per language; skips by reason.
    assert_eq!(c.stats.files_read, 14);
    assert_eq!(c.stats.rules_by_language.get(&Language::Splunk), Some(&5));
    assert_eq!(c.stats.rules_by_language.get(&Language::Kusto), Some(&1));
    assert_eq!(c.stats.rules_by_language.get(&Language::Snowflake), None);
    let skipped: Vec<(&str, usize)> = c
        .stats
        .skipped
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("duplicate-id", 1),
            ("duplicate-key", 1),
            ("invalid-yaml", 1),
            ("missing-id", 1),
            ("not-a-rule", 1),
            ("tab-indentation", 1),
        ]
    );
    assert_eq!(c.stats.warnings, 1);

    // Macros from macros/*.yml and macros.conf.
    assert_eq!(c.stats.rules_total(), 6);
    assert_eq!(c.stats.skipped_total(), 6);
    assert!(c.has_errors());
    let set = c.macro_set();
    assert_eq!(set.len(), 3);
    let ctime = set.get("fixture_ctime", 1).expect("fixture_ctime(1)");
    assert_eq!(
        ctime.expand(&["firstTime".into()]),
        "convert ctime(firstTime)"
    );
    let pair = set.get("fixture_pair", 2).expect("fixture_pair(2)");
    assert_eq!(
        pair.expand(&["user".into(), "\"a|b\"".into()]),
        "search user=\"a|b\" \n| where isnotnull(user)"
    );
    assert!(set.get("fixture_filter", 0).is_some());
}

#[test]
fn missing_catalog_dir_is_reported_not_fatal() {
    let c = crawl::crawl(&[fixtures().join("no-such-dir"), fixtures().join("odd")]);
    assert!(c.diagnostics.iter().any(|d| d.code == "io-error"));
    assert!(c.rules.iter().any(|r| r.id == "fx-bom"));
}

#[test]
fn corpus_counts() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");

    let start = std::time::Instant::now();
    let armory = crawl::crawl(&[corpus.join("armory")]);
    let t_armory = start.elapsed();
    let splunk = armory
        .stats
        .rules_by_language
        .get(&Language::Splunk)
        .copied()
        .unwrap_or(0);
    let snow = armory
        .stats
        .rules_by_language
        .get(&Language::Snowflake)
        .copied()
        .unwrap_or(0);
    eprintln!(
        "armory: {} files read, {splunk} splunk, {snow} snowflake, skipped {:?}, {} warnings, crawl {:?} (debug build)",
        armory.stats.files_read, armory.stats.skipped, armory.stats.warnings, t_armory
    );
    assert_eq!(armory.stats.files_read, 1898);
    // 1466 Splunk and 432 snowflake files; five ids are each shared by two
    // files (remote_installation vs remote_msi_installation), so five are
    // skipped as duplicates.
    assert!(splunk >= 1450, "{splunk}");
    assert!(snow >= 425, "{snow}");
    assert_eq!(
        splunk + snow + armory.stats.skipped.values().sum::<usize>(),
        1898
    );
    assert!(armory.rules.iter().any(|r| r.id == "24804.45867"));
    let netscan = armory
        .rules
        .iter()
        .find(|r| r.id == "24804.45867")
        .expect("netscan rule");
    assert_eq!(netscan.technique_ids, vec!["T1046"]);
    assert_eq!(netscan.tactics, vec!["discovery"]);
    assert_eq!(netscan.technique_names, vec!["network service discovery"]);
    assert_eq!(netscan.data_categories, vec!["Windows Sysmon"]);
    assert!(netscan
        .logic
        .starts_with("`get_endpoint_data` `get_endpoint_data_sysmon`"));

    let sc = crawl::crawl(&[corpus.join("security_content")]);
    let sc_rules = sc
        .rules
        .iter()
        .filter(|r| r.format == SourceFormat::SecurityContent)
        .count();
    eprintln!(
        "security_content: {} files read, {sc_rules} detections, {} macros, skipped {:?}",
        sc.stats.files_read,
        sc.macros.len(),
        sc.stats.skipped
    );
    assert!(sc_rules >= 1700, "{sc_rules}");
    assert!(sc.macros.len() >= 180, "{}", sc.macros.len());
    let deprecated = sc
        .rules
        .iter()
        .filter(|r| r.path.components().any(|c| c.as_os_str() == "deprecated"))
        .count();
    assert!(
        deprecated >= 90,
        "deprecated rules are still rules: {deprecated}"
    );
    let set = MacroSet::new(sc.macros.clone());
    let ctime = set
        .get("security_content_ctime", 1)
        .expect("security_content_ctime(1)");
    assert_eq!(ctime.args, vec!["field"]);
    assert!(ctime
        .expand(&["firstTime".into()])
        .contains("ctime(firstTime)"));

    let sentinel = crawl::crawl(&[corpus.join("sentinel")]);
    let kusto = sentinel
        .stats
        .rules_by_language
        .get(&Language::Kusto)
        .copied()
        .unwrap_or(0);
    eprintln!(
        "sentinel: {} files read, {kusto} kusto, skipped {:?}, {} warnings",
        sentinel.stats.files_read, sentinel.stats.skipped, sentinel.stats.warnings
    );
    assert_eq!(sentinel.stats.files_read, 377);
    assert!(kusto >= 370, "{kusto}");
    // The 2020 snapshot has one hunting query without an id.
    assert!(sentinel.stats.skipped.contains_key("missing-id"));
    // cscript_summary.yaml holds a Windows-1252 en dash (0x96).
    assert!(sentinel.diagnostics.iter().any(|d| d.code == "invalid-utf8"
        && d.path
            .as_ref()
            .is_some_and(|p| p.ends_with("cscript_summary.yaml"))));
    assert!(sentinel
        .rules
        .iter()
        .any(|r| r.path.ends_with("cscript_summary.yaml")));
}

#[test]
fn corpus_macro_yaml_parses_directly() {
    let Some(shared) = shared() else { return };
    let path = shared.join("corpus/security_content/macros/security_content_ctime.yml");
    let text = std::fs::read_to_string(&path).expect("read");
    let m = parse_macro_yaml(&text, &path).expect("macro");
    assert_eq!(
        (m.name.as_str(), m.args.len()),
        ("security_content_ctime", 1)
    );
}

#[test]
fn team_catalog_macros_conf_loads_cleanly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/macros.conf");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return;
    };
    let (defs, diags) = ruledex::macros::parse_macros_conf(&text, &path);
    assert!(
        diags.iter().all(|d| d.severity != Severity::Error),
        "{diags:?}"
    );
    let set = MacroSet::new(defs);
    assert!(set.get("get_endpoint_data", 0).is_some());
    assert!(set.get("get_endpoint_data_sysmon", 0).is_some());
}

/// Every truncation of every fixture (cut mid-key, mid-quote, mid-UTF-8
/// sequence) must give a rule or diagnostics, never a panic.
#[test]
fn truncated_fixtures_never_panic() {
    let mut files = 0;
    for entry in walkdir::WalkDir::new(fixtures()) {
        let entry = entry.expect("walk fixtures");
        if !entry.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).expect("read fixture");
        for cut in 0..=bytes.len() {
            let path = entry.path();
            match read_rule_file(path, &bytes[..cut]) {
                Ok((rule, _)) => assert!(!rule.id.is_empty()),
                Err(diags) => assert!(!diags.is_empty(), "{} cut at {cut}", path.display()),
            }
            if path.file_name().is_some_and(|n| n == "macros.conf") {
                let text = String::from_utf8_lossy(&bytes[..cut]);
                let _ = ruledex::macros::parse_macros_conf(&text, path);
            }
        }
        files += 1;
    }
    assert!(files >= 10, "{files}");
}

/// A symlinked rule file is read; a symlinked directory (here a loop back
/// to the root) is not walked into.
#[cfg(unix)]
#[test]
fn symlinked_file_read_symlinked_dir_not_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, bytes) = read("odd/bom.yml");
    let real = dir.path().join("real.yml.txt");
    std::fs::write(&real, bytes).expect("write");
    std::os::unix::fs::symlink(&real, dir.path().join("linked.yml")).expect("symlink file");
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).expect("symlink dir");
    let c = crawl::crawl(&[dir.path().to_path_buf()]);
    assert_eq!(c.rules.len(), 1, "{:?}", c.diagnostics);
    assert!(c.rules[0].path.ends_with("linked.yml"));
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
}

/// A file name that is not UTF-8 is still crawled, with a warning.
#[cfg(target_os = "linux")]
#[test]
fn non_utf8_file_name_is_read_with_warning() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let name = std::ffi::OsStr::from_bytes(b"caf\xE9.yml");
    let (_, bytes) = read("odd/bom.yml");
    std::fs::write(dir.path().join(name), bytes).expect("write");
    let c = crawl::crawl(&[dir.path().to_path_buf()]);
    assert_eq!(c.rules.len(), 1, "{:?}", c.diagnostics);
    let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, vec!["non-utf8-path"]);
}
