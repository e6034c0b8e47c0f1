//! The KQL front-end over the real Sentinel corpus in `../shared`, plus
//! fuzz-style robustness checks (random bytes, truncated corpus queries).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use ruledex::ir::{CmpOp, Operator, Query, Stage};
use ruledex::lang::kql;

/// The shared corpus directory, or `None` (skip) when it is absent outside CI.
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

/// Every Sentinel rule file with its `query:` text.
fn sentinel_queries(shared: &Path) -> Vec<(PathBuf, String)> {
    let root = shared.join("corpus/sentinel");
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.expect("corpus directory is readable");
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let bytes = std::fs::read(path).expect("corpus file is readable");
        // One file is not UTF-8 (a cp1252 dash); read it the way the crawler would.
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_start_matches('\u{feff}');
        // Some files hold several YAML documents; the rule is the one with a query.
        let query = serde_yaml::Deserializer::from_str(text)
            .filter_map(|doc| serde_yaml::Value::deserialize(doc).ok())
            .find_map(|v| v.get("query").and_then(|q| q.as_str()).map(str::to_string));
        if let Some(q) = query {
            out.push((path.to_path_buf(), q));
        }
    }
    out
}

/// Calls `f` on every stage, including join and union subqueries.
fn walk_stages<'a>(stages: &'a [Stage], f: &mut impl FnMut(&'a Stage)) {
    for s in stages {
        f(s);
        match &s.op {
            Operator::Join { subquery, .. } => walk_stages(&subquery.stages, f),
            Operator::Union { subqueries, .. } => {
                subqueries.iter().for_each(|q| walk_stages(&q.stages, f))
            }
            _ => {}
        }
    }
}

fn has_cmp(q: &Query, field: &str, op: CmpOp, value: &str) -> bool {
    let mut found = false;
    walk_stages(&q.stages, &mut |s| {
        if let Operator::Filter { expr, .. } = &s.op {
            expr.for_each_cmp(&mut |c| {
                found |= c.field == field && c.op == op && c.values.iter().any(|v| v.value == value)
            });
        }
    });
    found
}

#[test]
fn every_sentinel_query_parses_or_is_diagnosed() {
    let Some(shared) = shared() else { return };
    let queries = sentinel_queries(&shared);
    assert!(
        queries.len() > 300,
        "only {} Sentinel queries found",
        queries.len()
    );

    let mut with_diags = 0;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut cmps = 0;
    for (path, text) in &queries {
        let q = kql::parse(text);
        assert!(
            !q.stages.is_empty() || !q.diagnostics.is_empty(),
            "{}: no stages and no diagnostic: {text:?}",
            path.display()
        );
        for d in &q.diagnostics {
            let span = d.span.expect("logic diagnostics carry a span");
            assert!(
                span.end <= text.len(),
                "{}: span out of range",
                path.display()
            );
            *codes.entry(d.code.clone()).or_default() += 1;
            if std::env::var_os("KQL_SHOW").is_some() {
                eprint!("{}", d.clone().with_path(path).render(Some(text)));
            }
        }
        with_diags += usize::from(!q.diagnostics.is_empty());
        walk_stages(&q.stages, &mut |s| {
            assert_eq!(
                s.span.slice(text),
                s.text,
                "{}: stage text is its span",
                path.display()
            );
            *kinds.entry(s.kind.clone()).or_default() += 1;
            match &s.op {
                Operator::Unsupported { command } => {
                    if std::env::var_os("KQL_SHOW").is_some() {
                        eprintln!("unsupported {command}: {}", s.text);
                    }
                    *unsupported.entry(command.clone()).or_default() += 1
                }
                Operator::Filter { expr, .. } => expr.for_each_cmp(&mut |_| cmps += 1),
                _ => {}
            }
        });
    }
    eprintln!(
        "sentinel: {} queries, {} with diagnostics, {cmps} comparisons",
        queries.len(),
        with_diags
    );
    eprintln!("stage kinds: {kinds:?}");
    eprintln!("unsupported: {unsupported:?}");
    eprintln!("diagnostic codes: {codes:?}");
    // Most of the corpus is well-formed KQL; a parser regression shows here.
    assert!(
        with_diags * 10 < queries.len(),
        "{with_diags} of {} queries have diagnostics",
        queries.len()
    );
}

#[test]
fn sentinel_process_creation_rules_filter_event_4688() {
    let Some(shared) = shared() else { return };
    let queries = sentinel_queries(&shared);
    let re = regex::Regex::new(r"EventID\s*==\s*4688\b").expect("valid regex");
    let mut wanted = 0;
    let mut missing = Vec::new();
    for (path, text) in &queries {
        if !re.is_match(text) {
            continue;
        }
        wanted += 1;
        if !has_cmp(&kql::parse(text), "EventID", CmpOp::Eq, "4688") {
            missing.push(path.display().to_string());
        }
    }
    eprintln!("{wanted} Sentinel queries compare EventID == 4688");
    assert!(
        wanted >= 20,
        "expected about two dozen such rules, found {wanted}"
    );
    assert!(
        missing.is_empty(),
        "no Cmp EventID eq 4688 in: {missing:#?}"
    );

    // The plainest shape, checked exactly: `SecurityEvent | where EventID == 4688 …`.
    let mut plain = 0;
    for (path, text) in &queries {
        let q = kql::parse(text);
        let (Some(source), Some(Operator::Filter { expr, .. })) =
            (q.stages.first(), q.stages.get(1).map(|s| &s.op))
        else {
            continue;
        };
        if source.text != "SecurityEvent" {
            continue;
        }
        let mut first = None;
        expr.for_each_cmp(&mut |c| {
            first.get_or_insert(c);
        });
        let Some(c) = first.filter(|c| c.field == "EventID" && c.values[0].value == "4688") else {
            continue;
        };
        assert_eq!(c.op, CmpOp::Eq, "{}", path.display());
        assert!(c.flags.case_sensitive, "{}", path.display());
        assert_eq!(c.values.len(), 1);
        plain += 1;
    }
    eprintln!("{plain} start `SecurityEvent | where EventID == 4688`");
    assert!(
        plain >= 5,
        "only {plain} rules start with SecurityEvent | where EventID == 4688"
    );
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Bytes biased towards KQL syntax so the parser gets past the lexer.
    let alphabet: &[u8] = b"|()[]{};,.=!~<>\"'@\\ \n\tabcdehinorstuvwxyz0123456789*-+/:$`h";
    let words = [
        "let ",
        "where ",
        "summarize ",
        " by ",
        "join ",
        "union ",
        "(",
        ")",
        "dynamic([",
        "])",
        " has ",
        " in~ ",
        "between (",
        " .. ",
        "parse ",
        " with ",
        "project ",
        "extend ",
        "=",
        "'x'",
        "@\"a\\\"",
        "T",
        " | ",
        ";",
        "view () {",
        "}",
        "mv-expand ",
        "top 3 by ",
    ];
    for round in 0..3000 {
        let len = (rng.next() % 120) as usize;
        let mut bytes = Vec::with_capacity(len);
        for _ in 0..len {
            match rng.next() % 4 {
                0 => bytes.push((rng.next() & 0xff) as u8),
                1 => bytes.extend_from_slice(words[(rng.next() as usize) % words.len()].as_bytes()),
                _ => bytes.push(alphabet[(rng.next() as usize) % alphabet.len()]),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let q = kql::parse(&text);
        for d in &q.diagnostics {
            let span = d.span.expect("logic diagnostics carry a span");
            assert!(
                span.end <= text.len(),
                "round {round}: span out of range for {text:?}"
            );
        }
    }
}

#[test]
fn large_garbage_input_finishes() {
    // Every line a new problem: diagnostics must stay linear in the input.
    let mut rng = Rng(7);
    let mut text = String::from("T");
    for _ in 0..20_000 {
        let piece = match rng.next() % 6 {
            0 => "\n| where x == (",
            1 => " #§ ",
            2 => "\n| frob ",
            3 => " \"open\n",
            4 => "\n| | ",
            _ => " let y = ;",
        };
        text.push_str(piece);
    }
    let q = kql::parse(&text);
    assert!(!q.diagnostics.is_empty());
}

#[test]
fn truncated_corpus_queries_never_panic() {
    let Some(shared) = shared() else { return };
    let mut parsed = 0;
    for (_, text) in sentinel_queries(&shared) {
        let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let step = (bounds.len() / 40).max(1);
        for &cut in bounds.iter().step_by(step) {
            let q = kql::parse(&text[..cut]);
            assert!(cut == 0 || !q.stages.is_empty() || !q.diagnostics.is_empty());
            parsed += 1;
        }
    }
    eprintln!("{parsed} truncated queries parsed");
}
