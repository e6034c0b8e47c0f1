//! The Snowflake front-end over every armory Snowflake rule in
//! `../shared/corpus/armory`: each parses cleanly or carries positioned
//! diagnostics, the three malformed rules are reported where they break
//! and still yield predicates, and truncated queries never panic.

use std::path::{Path, PathBuf};

use ruledex::diag::{Position, Severity};
use ruledex::ir::{Cmp, CmpOp, Operator, Query};
use ruledex::lang::sql;

/// The shared corpus directory, or `None` (skip) when it is absent.
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

/// One Snowflake rule: file, id and logic.
struct SfRule {
    path: PathBuf,
    id: String,
    logic: String,
}

/// Every armory rule whose `logic_format` is snowflake.
fn snowflake_rules(shared: &Path) -> Vec<SfRule> {
    let root = shared.join("corpus/armory");
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.expect("corpus walk");
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("readable rule");
        let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(&text) else {
            continue;
        };
        let format = doc
            .get("logic_format")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if !format.eq_ignore_ascii_case("snowflake") {
            continue;
        }
        let id = match doc.get("id") {
            Some(serde_yaml::Value::String(s)) => s.clone(),
            Some(v) => format!("{v:?}"),
            None => String::new(),
        };
        let logic = doc
            .get("logic")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        out.push(SfRule {
            path: path.to_path_buf(),
            id,
            logic,
        });
    }
    out
}

/// All `Cmp` leaves of the filters.
fn cmps(q: &Query) -> Vec<Cmp> {
    let mut out = Vec::new();
    for s in &q.stages {
        if let Operator::Filter { expr, .. } = &s.op {
            expr.for_each_cmp(&mut |c| out.push(c.clone()));
        }
    }
    out
}

/// Whether a diagnostic is a problem (not a note).
fn is_problem(q: &Query) -> bool {
    q.diagnostics
        .iter()
        .any(|d| d.severity >= Severity::Warning)
}

#[test]
fn every_snowflake_rule_parses_or_has_diagnostics() {
    let Some(shared) = shared() else { return };
    let rules = snowflake_rules(&shared);
    assert_eq!(rules.len(), 432, "armory snowflake rule count");

    let (mut clean, mut warned, mut recovered, mut failed) = (0, 0, 0, Vec::new());
    let started = std::time::Instant::now();
    let parsed: Vec<Query> = rules.iter().map(|r| sql::parse(&r.logic)).collect();
    // Reported, not asserted: timing depends on the machine.
    eprintln!("parsed {} rules in {:?}", rules.len(), started.elapsed());
    for (r, q) in rules.iter().zip(parsed) {
        let errors = q
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        for d in &q.diagnostics {
            let span = d.span.expect("every SQL diagnostic has a span");
            assert!(span.end <= r.logic.len(), "{}: span past the end", r.id);
        }
        for s in &q.stages {
            assert_eq!(s.span.slice(&r.logic), s.text, "{}: stage text", r.id);
        }
        let has_where = q.stages.iter().any(|s| s.kind == "where");
        if errors > 0 {
            if has_where && !cmps(&q).is_empty() {
                recovered += 1;
            } else {
                failed.push(r.id.clone());
            }
        } else if is_problem(&q) {
            warned += 1;
        } else {
            clean += 1;
        }
        assert!(has_where, "{} ({}): no where stage", r.id, r.path.display());
    }
    eprintln!(
        "snowflake rules: {} total, {clean} clean, {warned} with warnings only, \
         {recovered} recovered from errors, {} unreadable",
        rules.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "unreadable: {failed:?}");
    assert_eq!(recovered, 3, "the three malformed rules");
}

/// The rule with this id.
fn rule<'a>(rules: &'a [SfRule], id: &str) -> &'a SfRule {
    rules
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("rule {id} in the corpus"))
}

/// Checks a malformed rule: one error at `(line, column)` covering
/// `what`, and at least `min_cmps` predicates recovered.
fn check_malformed(
    rules: &[SfRule],
    id: &str,
    what: &str,
    line: usize,
    column: usize,
    min_cmps: usize,
) {
    let r = rule(rules, id);
    let q = sql::parse(&r.logic);
    let errors: Vec<_> = q
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{id}: {errors:?}");
    let d = errors[0];
    assert_eq!(d.span.expect("span").slice(&r.logic), what, "{id}");
    assert_eq!(
        d.position(&r.logic),
        Some(Position { line, column }),
        "{id}"
    );
    assert!(d.render(Some(&r.logic)).contains('^'));
    let c = cmps(&q);
    assert!(c.len() >= min_cmps, "{id}: {c:?}");
}

#[test]
fn malformed_rules_are_positioned_and_recovered() {
    let Some(shared) = shared() else { return };
    let rules = snowflake_rules(&shared);
    // `select * from okta whereevent_time > …`
    check_malformed(&rules, "9051.16110", "whereevent_time", 1, 20, 2);
    // `… ilike '%Win%' and and regexp_like(…)`: the second `and`.
    check_malformed(&rules, "5526.15117", "and", 1, 123, 2);
    // `regexp_like(process, '…' 'i')`: no comma before the flag.
    check_malformed(&rules, "33144.58775", "'i'", 1, 210, 3);

    // The recovered flag really is read: case-insensitive.
    let q = sql::parse(&rule(&rules, "33144.58775").logic);
    let m = cmps(&q)
        .into_iter()
        .find(|c| c.op == CmpOp::Match)
        .expect("the regexp_like predicate");
    assert!(!m.flags.case_sensitive && m.flags.anchored);
}

#[test]
fn netscan_rule_predicates() {
    let Some(shared) = shared() else { return };
    let rules = snowflake_rules(&shared);
    let r = rule(&rules, "24804.45870");
    let q = sql::parse(&r.logic);
    assert!(!is_problem(&q), "{:?}", q.diagnostics);
    let c = cmps(&q);
    let like = c
        .iter()
        .find(|c| c.field == "process_path" && c.op == CmpOp::Like)
        .expect("process_path like");
    assert_eq!(like.values[0].value, "%netscan_portable%");
    assert!(!like.flags.case_sensitive);
    let m = c
        .iter()
        .find(|c| c.field == "process_path" && c.op == CmpOp::Match)
        .expect("process_path match");
    assert_eq!(m.values[0].value, r".*netscan(32|64)\.exe.*");
    assert!(m.flags.anchored && !m.flags.case_sensitive);
    let kinds: Vec<_> = q.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["from", "where", "select"]);
}

#[test]
fn truncated_queries_never_panic() {
    let Some(shared) = shared() else { return };
    let rules = snowflake_rules(&shared);
    // Every 7th rule, cut at many points (char boundaries): parsing must
    // return, and any error must carry a span inside the text.
    for r in rules.iter().step_by(7) {
        let cuts: Vec<usize> = r.logic.char_indices().map(|(i, _)| i).step_by(3).collect();
        for cut in cuts {
            let text = &r.logic[..cut];
            let q = sql::parse(text);
            for d in &q.diagnostics {
                let s = d.span.expect("span");
                assert!(s.end <= text.len(), "{} cut {cut}", r.id);
            }
            for s in &q.stages {
                assert_eq!(s.span.slice(text), s.text, "{} cut {cut}", r.id);
            }
        }
    }
}
