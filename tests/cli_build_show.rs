//! `build`, `show` and `lint` through the binary: on the team catalog, and
//! on the real corpora in ../shared (the netscan page is a golden file).

mod common;

use common::{catalog_index, corpus_index, golden, json, ruledex, run_ok};

#[test]
fn build_on_the_team_catalog_reports_counts() {
    let d = tempfile::tempdir().expect("tempdir");
    let out = run_ok(&["build", "--index", d.path().to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("splunk"), "{text}");
    assert!(text.contains("kusto"), "{text}");
    assert!(text.contains("snowflake"), "{text}");
    assert!(d.path().join("tantivy/meta.json").is_file());
}

#[test]
fn show_team_netscan_rule_as_json() {
    let out = run_ok(&[
        "--index",
        catalog_index(),
        "show",
        "rdx.1001",
        "--format",
        "json",
    ]);
    let page = json(&out);
    let kinds: Vec<&str> = page["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["search", "where", "table", "bin", "stats"]);
    let inds = page["indicators"].as_array().expect("indicators");
    assert!(inds
        .iter()
        .any(|i| i["field"] == "process_path" && i["op"] == "match"));
    assert!(inds
        .iter()
        .any(|i| i["field"] == "EventCode" && i["op"] == "eq" && i["value"] == "1"));
    let terms: Vec<&str> = page["search_terms"]
        .as_array()
        .expect("terms")
        .iter()
        .map(|t| t["term"].as_str().expect("term"))
        .collect();
    assert_eq!(
        terms,
        ["TERM(EventCode=1)", "\"<EventID>1<\"", "\"netscan\""]
    );
    assert_eq!(page["techniques"][0]["id"], "T1046");
}

#[test]
fn show_unknown_rule_is_an_error_with_exit_2() {
    let out = ruledex()
        .args(["--index", catalog_index(), "show", "no.such.rule"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rule with id"));
}

#[test]
fn show_without_an_index_says_to_build() {
    let d = tempfile::tempdir().expect("tempdir");
    let out = ruledex()
        .args(["--index", d.path().to_str().expect("utf-8"), "show", "x"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ruledex build"));
}

#[test]
fn netscan_page_on_the_real_corpus() {
    let Some(index) = corpus_index() else { return };
    let page = json(&run_ok(&[
        "--index",
        index,
        "show",
        "24804.45867",
        "--format",
        "json",
    ]));
    let kinds: Vec<&str> = page["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["search", "where", "table", "bin", "stats"]);
    let find = |field: &str, op: &str| {
        page["indicators"]
            .as_array()
            .expect("indicators")
            .iter()
            .find(|i| i["field"] == field && i["op"] == op)
            .unwrap_or_else(|| panic!("no {field} {op} in {}", page["indicators"]))
            .clone()
    };
    let name = find("process_name", "match");
    assert_eq!(name["value"], r#""(?i)\x5cnetscan(32|64)?\.exe""#);
    assert_eq!(name["corpus"]["total"], 2);
    assert_eq!(name["corpus"]["splunk"], 2);
    let path = find("process_path", "match");
    assert_eq!(path["corpus"]["total"], 2);
    assert_eq!(path["corpus"]["splunk"], 2);
    let code = find("EventCode", "eq");
    let total = code["corpus"]["total"].as_u64().expect("count");
    assert!((100..500).contains(&total), "EventCode eq 1 corpus {total}");
    assert!(page["search_terms"]
        .as_array()
        .expect("terms")
        .iter()
        .any(|t| t["term"] == "TERM(EventCode=1)"));
    for key in ["id", "title", "language", "techniques", "diagnostics"] {
        assert!(page.get(key).is_some(), "JSON lacks {key}");
    }
}

#[test]
fn team_netscan_markdown_page_matches_golden() {
    let out = run_ok(&[
        "--index",
        catalog_index(),
        "show",
        "rdx.1001",
        "--format",
        "markdown",
    ]);
    golden(
        "rdx.1001.md",
        &String::from_utf8(out.stdout).expect("utf-8"),
    );
}

/// The corpus page's own text (description, rule body, stage text) is the
/// corpus's, under its licence, and stays out of the repository: the
/// golden file keeps what ruledex computes — stage kinds, the Indicators
/// and Search terms tables.
#[test]
fn netscan_markdown_page_matches_golden() {
    let Some(index) = corpus_index() else { return };
    let out = run_ok(&[
        "--index",
        index,
        "show",
        "24804.45867",
        "--format",
        "markdown",
    ]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut kept = String::new();
    let mut keep = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            keep = matches!(line, "## Indicators" | "## Search terms");
        }
        if keep || line.starts_with("### Stage ") || line.starts_with("# ") {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    golden("24804.45867.md", &kept);
}

#[test]
fn lint_on_the_real_corpus_positions_findings() {
    let Some(index) = corpus_index() else { return };
    let out = run_ok(&["--index", index, "lint", "--format", "json"]);
    let report = json(&out);
    let findings = report["findings"].as_array().expect("findings");
    assert!(!findings.is_empty(), "the corpora have malformed rules");
    let positioned = findings
        .iter()
        .filter(|f| f["line"].is_u64() && f["column"].is_u64())
        .count();
    assert!(
        positioned * 10 >= findings.len() * 9,
        "{positioned} of {} positioned",
        findings.len()
    );
}

#[test]
fn lint_fail_on_gates_on_severity() {
    // The team catalog reads cleanly: no error to fail on.
    run_ok(&["--index", catalog_index(), "lint", "--fail-on", "error"]);
    let Some(index) = corpus_index() else { return };
    let out = ruledex()
        .args([
            "--index",
            index,
            "lint",
            "--fail-on",
            "error",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the corpora hold malformed rules"
    );
}
