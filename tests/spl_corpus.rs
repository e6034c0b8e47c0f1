//! Every Splunk rule of the shared corpora goes through the SPL front-end:
//! armory rules with `logic_format: Splunk` and security_content
//! detections' `search:`. Nothing may panic, every diagnostic must carry a
//! span inside the logic, and malformed rules must be diagnosed.
//!
//! Skips with a message when `../shared` is missing, unless `CI` is set.

use std::path::{Path, PathBuf};

use ruledex::ir::{Expr, Operator, Query};
use ruledex::lang::spl;

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

/// Every `.yml`/`.yaml` file under `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    out.sort();
    out
}

/// The SPL of a rule file, if it is a Splunk rule.
fn spl_logic(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    let get = |k: &str| doc.get(k).and_then(|v| v.as_str());
    if let Some(fmt) = get("logic_format") {
        if fmt.eq_ignore_ascii_case("splunk") {
            return get("logic").map(str::to_string);
        }
        return None;
    }
    get("search").map(str::to_string)
}

#[derive(Default, Debug)]
struct Counts {
    rules: usize,
    stages: usize,
    cmps: usize,
    terms: usize,
    unsupported: usize,
    diagnosed_rules: usize,
    diagnostics: usize,
    round_trips: usize,
    codes: std::collections::BTreeMap<String, usize>,
}

fn count_expr(e: &Expr, c: &mut Counts) {
    e.for_each_cmp(&mut |_| c.cmps += 1);
    e.for_each_term(&mut |_| c.terms += 1);
}

fn count_query(q: &Query, c: &mut Counts) {
    c.stages += q.stages.len();
    for s in &q.stages {
        match &s.op {
            Operator::Filter { expr, .. } => count_expr(expr, c),
            Operator::Tstats {
                filter: Some(f), ..
            } => count_expr(f, c),
            Operator::Join { subquery, .. } => count_query(subquery, c),
            Operator::Union { subqueries, .. } => subqueries.iter().for_each(|q| count_query(q, c)),
            Operator::Unsupported { .. } => c.unsupported += 1,
            _ => {}
        }
    }
}

/// Checks one rule and returns its query.
fn check(path: &Path, logic: &str, c: &mut Counts) -> Query {
    let q = spl::parse(logic);
    c.rules += 1;
    count_query(&q, c);
    if !q.diagnostics.is_empty() {
        c.diagnosed_rules += 1;
        c.diagnostics += q.diagnostics.len();
    }
    for d in &q.diagnostics {
        *c.codes.entry(d.code.clone()).or_default() += 1;
        if std::env::var_os("SPL_SHOW").is_some_and(|v| v == d.code.as_str()) {
            eprintln!("{}\n{}", path.display(), d.render(Some(logic)));
        }
        let span = d
            .span
            .unwrap_or_else(|| panic!("{}: unpositioned {d:?}", path.display()));
        assert!(span.end <= logic.len(), "{}: {d:?}", path.display());
        // Rendering needs a line and column; it must not fail either.
        let r = d.render(Some(logic));
        assert!(r.contains(&d.code), "{r}");
    }
    for s in &q.stages {
        assert_eq!(s.span.slice(logic), s.text, "{}", path.display());
        assert!(!s.text.is_empty(), "{}: empty stage", path.display());
    }
    // Truncations must not panic either (malformed input of every shape).
    let mut i = 37;
    while i < logic.len() {
        if logic.is_char_boundary(i) {
            let _ = spl::parse(&logic[..i]);
        }
        i += 37;
    }
    let _ = spl::macro_calls(logic);
    if round_trip(path, logic, &q) {
        c.round_trips += 1;
    }
    q
}

/// The stage texts joined with pipes parse back to the same stages and
/// predicates (for rules without errors, whose splitting is certain).
/// Returns whether the rule was checked.
fn round_trip(path: &Path, logic: &str, q: &Query) -> bool {
    let has_error = q
        .diagnostics
        .iter()
        .any(|d| d.severity == ruledex::diag::Severity::Error);
    if has_error || q.stages.is_empty() {
        return false;
    }
    let texts: Vec<&str> = q.stages.iter().map(|s| s.text.as_str()).collect();
    let lead = if logic.trim_start().starts_with('|') {
        "| "
    } else {
        ""
    };
    let again = spl::parse(&format!("{lead}{}", texts.join(" | ")));
    let kinds = |q: &Query| q.stages.iter().map(|s| s.kind.clone()).collect::<Vec<_>>();
    assert_eq!(kinds(q), kinds(&again), "{}", path.display());
    let (mut a, mut b) = (Counts::default(), Counts::default());
    count_query(q, &mut a);
    count_query(&again, &mut b);
    assert_eq!((a.cmps, a.terms), (b.cmps, b.terms), "{}", path.display());
    true
}

/// Whether quotes, parens, brackets or backticks are unbalanced, counted
/// naively outside double quotes and ``` comments.
fn looks_unbalanced(logic: &str) -> bool {
    let b = logic.as_bytes();
    let (mut i, mut in_q, mut paren, mut bracket, mut ticks) = (0, false, 0i64, 0i64, 0);
    while i < b.len() {
        if in_q {
            match b[i] {
                b'\\' => i += 1,
                b'"' => in_q = false,
                _ => {}
            }
        } else if b[i..].starts_with(b"```") {
            match logic[i + 3..].find("```") {
                Some(j) => i += j + 5,
                None => return true,
            }
        } else {
            match b[i] {
                b'\\' => i += 1,
                b'"' => in_q = true,
                b'(' => paren += 1,
                b')' => paren -= 1,
                b'[' => bracket += 1,
                b']' => bracket -= 1,
                b'`' => ticks += 1,
                _ => {}
            }
        }
        i += 1;
    }
    in_q || paren != 0 || bracket != 0 || ticks % 2 == 1
}

#[test]
fn every_corpus_spl_rule_parses() {
    let Some(shared) = shared() else { return };
    let corpora = [
        ("armory", shared.join("corpus/armory")),
        (
            "security_content",
            shared.join("corpus/security_content/detections"),
        ),
    ];
    let mut unbalanced_undiagnosed = Vec::new();
    let mut unbalanced = 0;
    for (name, dir) in corpora {
        let mut c = Counts::default();
        for path in yaml_files(&dir) {
            let Some(logic) = spl_logic(&path) else {
                continue;
            };
            let q = check(&path, &logic, &mut c);
            if looks_unbalanced(&logic) {
                unbalanced += 1;
                let positioned = q
                    .diagnostics
                    .iter()
                    .any(|d| d.severity == ruledex::diag::Severity::Error && d.span.is_some());
                if !positioned {
                    unbalanced_undiagnosed.push(path.display().to_string());
                }
            }
        }
        eprintln!("{name}: {c:?}");
        assert!(c.rules > 0, "{name}: no Splunk rules found");
        assert!(c.cmps > c.rules, "{name}: too few predicates: {c:?}");
    }
    eprintln!("unbalanced rules: {unbalanced}");
    assert!(unbalanced > 30, "expected the ~40 malformed armory rules");
    assert!(
        unbalanced_undiagnosed.is_empty(),
        "malformed rules without a positioned error: {unbalanced_undiagnosed:#?}"
    );
}

#[test]
fn netscan_rule_from_the_corpus() {
    let Some(shared) = shared() else { return };
    let path = shared.join(
        "corpus/armory/detections/endpoint/softperfect_network_scanner_execution/softperfect_network_scanner_execution-splunk-sysmon.yml",
    );
    let logic = spl_logic(&path).expect("netscan rule is Splunk");
    let q = spl::parse(&logic);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    let kinds: Vec<_> = q.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["search", "where", "table", "bin", "stats"]);
    let Operator::Filter { expr, .. } = &q.stages[1].op else {
        panic!("where is a filter")
    };
    let mut cmps = Vec::new();
    expr.for_each_cmp(&mut |c| cmps.push(c));
    assert_eq!(cmps[0].field, "process_name");
    assert_eq!(cmps[0].op.as_str(), "match");
    assert_eq!(cmps[0].values[0].value, r"(?i)\x5cnetscan(32|64)?\.exe");
    assert_eq!(cmps[0].values[0].raw, r#""(?i)\x5cnetscan(32|64)?\.exe""#);
    let Operator::Filter { expr, .. } = &q.stages[0].op else {
        panic!("search is a filter")
    };
    let mut terms = Vec::new();
    expr.for_each_term(&mut |t| terms.push(t.text.as_str()));
    assert_eq!(
        terms,
        ["TERM(EventCode=1)", "\"<EventID>1<\"", "\"netscan\""]
    );
    assert_eq!(spl::macro_calls(&logic).len(), 2);
}
