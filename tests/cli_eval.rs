//! `eval` through the binary: the team catalog's sample events, and every
//! armory rule over the 277 real EVTX recordings in ../shared.

mod common;

use std::sync::OnceLock;

use common::{catalog_index, json, ruledex, run_ok, shared};

fn armory_index() -> Option<&'static str> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        let shared = shared()?;
        let d = tempfile::tempdir().expect("tempdir");
        let armory = shared.join("corpus/armory").display().to_string();
        run_ok(&[
            "--index",
            d.path().to_str().expect("utf-8"),
            "build",
            "--no-eval",
            "--catalog",
            &armory,
        ]);
        Some(d)
    })
    .as_ref()
    .map(|d| d.path().to_str().expect("utf-8"))
}

#[test]
fn team_netscan_rule_on_its_sample_events() {
    let out = run_ok(&[
        "--index",
        catalog_index(),
        "eval",
        "rdx.1001",
        "--events",
        "catalog/events/netscan.xml",
        "--format",
        "json",
        "--explain",
    ]);
    let o = json(&out);
    assert_eq!(o["rule"], "rdx.1001");
    assert!(o["matched"].as_u64().expect("matched") > 0, "{o}");
    assert!(!o["results"].as_array().expect("results").is_empty());
    assert!(o["not_evaluable"].as_array().expect("reasons").is_empty());
    // --explain gives one fate per event read.
    assert_eq!(
        o["explain"].as_array().expect("explain").len() as u64,
        o["events"].as_u64().expect("events")
    );
}

#[test]
fn build_writes_the_eval_reports() {
    let dir = std::path::Path::new(catalog_index());
    for name in ["eval.txt", "eval.json", "eval.csv"] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("eval.json")).expect("read"))
            .expect("json");
    assert!(
        report["rules_with_hits"].as_u64().expect("hits") >= 3,
        "{report}"
    );
}

#[test]
fn no_match_exits_1() {
    let out = ruledex()
        .args([
            "--index",
            catalog_index(),
            "eval",
            "rdx.1005",
            "--events",
            "catalog/events/netscan.xml",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn armory_netscan_rule_over_real_evtx() {
    let Some(index) = armory_index() else { return };
    let evtx = shared()
        .expect("shared")
        .join("corpus/events/evtx-attack-samples");
    let out = ruledex()
        .args(["--index", index, "eval", "24804.45867", "--events"])
        .arg(&evtx)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let o = json(&out);
    assert_eq!(o["events"], 8255, "every record of the 277 files is read");
    // The CIM process_name never holds a backslash: evaluation says so.
    assert!(
        o["lint"]
            .as_array()
            .expect("lint")
            .iter()
            .any(|d| d["code"] == "cannot-match"),
        "{}",
        o["lint"]
    );
}

#[test]
fn every_armory_rule_over_real_evtx() {
    let Some(index) = armory_index() else { return };
    let evtx = shared()
        .expect("shared")
        .join("corpus/events/evtx-attack-samples");
    let out = ruledex()
        .args(["--index", index, "eval", "--all", "--events"])
        .arg(&evtx)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["events"], 8255);
    assert_eq!(r["rules"], 1893);
    let hits = r["rules_with_hits"].as_u64().expect("hits");
    assert!(hits >= 50, "{hits} rules with hits");
    // Commands that cannot be run faithfully are counted, not passed over.
    assert!(r["reasons"].get("iplocation").is_some(), "{}", r["reasons"]);
}
