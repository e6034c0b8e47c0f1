//! `search`, `indicators`, `terms` and `coverage` through the binary: on
//! the team catalog, and on the real corpora and ATT&CK bundle in
//! ../shared (issue 4).

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{catalog_index, corpus_index, json, ruledex, run_ok, shared};
use serde_json::Value;

/// The ATT&CK bundle in ../shared, when present.
fn bundle() -> Option<PathBuf> {
    let p = shared()?.join("attack/enterprise-attack.json");
    assert!(p.is_file(), "{} missing", p.display());
    Some(p)
}

/// Runs ruledex against `index` with `args`, without asserting success.
fn run_on(index: &str, args: &[&str]) -> Output {
    ruledex()
        .env_remove("RULEDEX_ATTACK")
        .arg("--index")
        .arg(index)
        .args(args)
        .output()
        .expect("ruledex runs")
}

/// Runs ruledex against `index`, asserting success, and parses stdout.
fn json_on(index: &str, args: &[&str]) -> Value {
    let mut all = vec!["--index", index];
    all.extend_from_slice(args);
    json(&run_ok(&all))
}

fn hit_ids(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---- search -------------------------------------------------------------

#[test]
fn search_netscan_ranks_and_highlights() {
    let out = run_on(catalog_index(), &["search", "netscan"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let t = text(&out);
    assert!(t.contains("rdx.1001"), "{t}");
    // Not a terminal: plain markers, no escape codes.
    assert!(t.contains("«netscan»"), "{t}");
    assert!(!t.contains('\x1b'), "{t}");
}

#[test]
fn search_json_ranges_point_at_the_match() {
    let v = json_on(catalog_index(), &["search", "netscan", "--format", "json"]);
    assert!(v["total"].as_u64().expect("total") >= 3);
    for h in v["hits"].as_array().expect("hits") {
        let snippet = &h["snippet"];
        let text = snippet["text"].as_str().expect("text");
        let ranges = snippet["highlighted"].as_array().expect("ranges");
        assert!(!ranges.is_empty(), "{h}");
        for r in ranges {
            let (s, e) = (
                r[0].as_u64().expect("start") as usize,
                r[1].as_u64().expect("end") as usize,
            );
            assert_eq!(text[s..e].to_lowercase(), "netscan", "{h}");
        }
    }
}

#[test]
fn search_technique_json_includes_the_netscan_rules() {
    let v = json_on(
        catalog_index(),
        &["search", "technique:T1046", "--format", "json"],
    );
    let ids = hit_ids(&v);
    for id in ["rdx.1001", "rdx.1002", "rdx.1003"] {
        assert!(ids.contains(&id.to_string()), "{id} not in {ids:?}");
    }
    assert!(!ids.contains(&"rdx.1004".to_string()), "{ids:?}");
}

#[test]
fn search_technique_rolls_up_unless_exact() {
    let v = json_on(
        catalog_index(),
        &["search", "technique:t1059", "--format", "json"],
    );
    let ids = hit_ids(&v);
    assert!(ids.contains(&"rdx.1004".to_string()), "{ids:?}");
    for h in v["hits"].as_array().expect("hits") {
        let techs = h["techniques"].to_string();
        assert!(techs.contains("T1059."), "{techs}");
    }
    // No team rule names T1059 itself: nothing matched, exit 1.
    let out = run_on(catalog_index(), &["search", "technique:T1059", "--exact"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = run_on(
        catalog_index(),
        &["search", "technique:T1059.001", "--exact"],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn search_indicator_field_prefix() {
    let v = json_on(
        catalog_index(),
        &["search", "process_name:*rundll32*", "--format", "json"],
    );
    let hits = v["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 1, "{v}");
    let m = &hits[0]["matched_indicators"][0];
    assert_eq!(m["field"], "process_name");
    assert!(m["value"]
        .as_str()
        .expect("value")
        .to_lowercase()
        .contains("rundll32"));
    // An alias means the canonical field; a value matches whole.
    let out = run_on(catalog_index(), &["search", "Image:*netscan*"]);
    assert_eq!(out.status.code(), Some(0));
    let out = run_on(catalog_index(), &["search", "process_name:rundll32"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Combined with a language, case-insensitively.
    let out = run_on(
        catalog_index(),
        &["search", "process_name:*rundll32* AND language:KUSTO"],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json_on(
        catalog_index(),
        &["search", "language:Kusto", "--format", "json"],
    );
    assert!(v["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .all(|h| h["language"] == "kusto"));
    assert!(v["total"].as_u64().expect("total") >= 2);
}

#[test]
fn search_fields_values_and_tactics() {
    let v = json_on(
        catalog_index(),
        &[
            "search",
            "field:EventID value:4688 tactic:Discovery",
            "--format",
            "json",
        ],
    );
    // EventCode 4688 under discovery: the Security-log netscan rules, not
    // the Sysmon one (EventCode 1).
    let ids = hit_ids(&v);
    assert!(ids.contains(&"rdx.1002".to_string()), "{v}");
    assert!(!ids.contains(&"rdx.1001".to_string()), "{v}");
    let v = json_on(
        catalog_index(),
        &["search", "tactic:DISCOVERY", "--format", "json"],
    );
    assert!(v["total"].as_u64().expect("total") >= 4);
}

#[test]
fn search_csv_has_a_row_per_hit() {
    let out = run_ok(&[
        "--index",
        catalog_index(),
        "search",
        "netscan",
        "--format",
        "csv",
        "--limit",
        "2",
    ]);
    let mut rdr = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>().expect("csv");
    assert_eq!(rows.len(), 2);
    assert!(rows[0][8].contains("«"), "{:?}", rows[0]);
}

#[test]
fn search_bad_query_is_an_error_with_a_position() {
    let out = run_on(catalog_index(), &["search", "title:(netscan"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("bad query") && e.contains("column"), "{e}");
    assert!(e.contains('^'), "{e}");

    let out = run_on(catalog_index(), &["search", "netscan titel:x"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("unknown field `titel`") && e.contains("column 9"),
        "{e}"
    );
}

#[test]
fn search_exclusions_mean_every_rule_but() {
    let v = json_on(
        catalog_index(),
        &[
            "search",
            "netscan AND NOT language:snowflake",
            "--format",
            "json",
        ],
    );
    let ids = hit_ids(&v);
    assert!(ids.contains(&"rdx.1001".to_string()), "{ids:?}");
    assert!(!ids.contains(&"rdx.1003".to_string()), "{ids:?}");
    let all = json_on(catalog_index(), &["search", "*", "--format", "json"]);
    let not = json_on(
        catalog_index(),
        &["search", "NOT netscan", "--format", "json"],
    );
    let with = json_on(catalog_index(), &["search", "netscan", "--format", "json"]);
    assert_eq!(
        not["total"].as_u64().expect("n") + with["total"].as_u64().expect("n"),
        all["total"].as_u64().expect("n")
    );
    let out = run_on(catalog_index(), &["search", " "]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn search_without_match_exits_1() {
    let out = run_on(catalog_index(), &["search", "zzznothingzzz"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn search_netscan_on_the_real_corpus() {
    let Some(index) = corpus_index() else { return };
    let v = json_on(index, &["search", "netscan", "--format", "json"]);
    assert!(hit_ids(&v).contains(&"24804.45867".to_string()), "{v}");
    let v = json_on(
        index,
        &[
            "search",
            "technique:T1046",
            "--format",
            "json",
            "--limit",
            "500",
        ],
    );
    assert!(hit_ids(&v).contains(&"24804.45867".to_string()));
    let v = json_on(
        index,
        &["search", "process_name:*rundll32*", "--format", "json"],
    );
    assert!(v["total"].as_u64().expect("total") >= 5, "{v}");
    let rolled = json_on(index, &["search", "technique:T1059", "--format", "json"]);
    let exact = json_on(
        index,
        &["search", "technique:T1059", "--exact", "--format", "json"],
    );
    assert!(
        rolled["total"].as_u64() > exact["total"].as_u64(),
        "{} vs {}",
        rolled["total"],
        exact["total"]
    );
}

// ---- indicators ---------------------------------------------------------

#[test]
fn indicators_of_one_rule_on_the_real_corpus() {
    let Some(index) = corpus_index() else { return };
    let v = json_on(
        index,
        &["indicators", "--rule", "24804.45867", "--format", "json"],
    );
    let rows = v["indicators"].as_array().expect("indicators");
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["field"].as_str().expect("field"),
                r["op"].as_str().expect("op"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("EventCode", "eq"),
            ("process_name", "match"),
            ("process_path", "match")
        ]
    );
    assert!(rows[0]["corpus"]["total"].as_u64().expect("count") > 100);
    let md = run_ok(&[
        "--index",
        index,
        "indicators",
        "--rule",
        "24804.45867",
        "--format",
        "markdown",
    ]);
    let md = text(&md);
    assert!(md.starts_with("| Field | Kind | Values |"), "{md}");
    assert_eq!(md.lines().count(), 5, "{md}");
}

#[test]
fn indicators_top_is_sorted_by_rule_count() {
    let v = json_on(
        catalog_index(),
        &["indicators", "--top", "10", "--format", "json"],
    );
    let rows = v.as_array().expect("list");
    assert!(!rows.is_empty() && rows.len() <= 10);
    let counts: Vec<u64> = rows
        .iter()
        .map(|r| r["rules"]["total"].as_u64().expect("total"))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    for r in rows {
        assert_eq!(
            r["rule_ids"].as_array().expect("ids").len() as u64,
            r["rules"]["total"].as_u64().expect("total")
        );
    }
}

#[test]
fn indicators_filters_unique_query_and_duplicates() {
    let v = json_on(
        catalog_index(),
        &[
            "indicators",
            "--field",
            "Image",
            "--op",
            "match",
            "--format",
            "json",
        ],
    );
    let rows = v.as_array().expect("list");
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| r["field"] == "process_path" && r["op"] == "match"));

    let v = json_on(
        catalog_index(),
        &["indicators", "--unique", "--top", "0", "--format", "json"],
    );
    assert!(v
        .as_array()
        .expect("list")
        .iter()
        .all(|r| r["rules"]["total"] == 1));

    let v = json_on(
        catalog_index(),
        &[
            "indicators",
            "--query",
            "technique:T1046",
            "--format",
            "json",
        ],
    );
    let results = v["rules"].as_u64().expect("rules");
    assert!(results >= 3);
    for r in v["indicators"].as_array().expect("indicators") {
        let ids = r["rule_ids"].as_array().expect("ids");
        assert!(ids.iter().all(|id| id.as_str() != Some("rdx.1004")), "{r}");
        assert_eq!(ids.len() as u64, r["in_results"].as_u64().expect("n"));
    }

    let out = run_on(
        catalog_index(),
        &["indicators", "--duplicates", "--format", "json"],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)));
    let groups: Value = serde_json::from_slice(&out.stdout).expect("json");
    for g in groups.as_array().expect("groups") {
        assert!(g["rules"].as_array().expect("rules").len() >= 2, "{g}");
    }
}

#[test]
fn indicators_duplicates_on_the_real_corpus() {
    let Some(index) = corpus_index() else { return };
    let groups = json_on(index, &["indicators", "--duplicates", "--format", "json"]);
    let groups = groups.as_array().expect("groups");
    assert!(!groups.is_empty());
    for g in groups {
        let rules = g["rules"].as_array().expect("rules");
        let mut ids: Vec<&str> = rules
            .iter()
            .map(|r| r["id"].as_str().expect("id"))
            .collect();
        ids.sort();
        ids.dedup();
        assert!(ids.len() >= 2, "{g}");
        assert_eq!(
            g["keys"].as_array().expect("keys").len() as u64,
            g["indicators"].as_u64().expect("n")
        );
    }
}

// ---- terms --------------------------------------------------------------

#[test]
fn terms_top_counts_rules() {
    let v = json_on(
        catalog_index(),
        &["terms", "--top", "5", "--format", "json"],
    );
    let rows = v.as_array().expect("list");
    assert!(!rows.is_empty() && rows.len() <= 5);
    let counts: Vec<u64> = rows
        .iter()
        .map(|r| r["rules"]["total"].as_u64().expect("total"))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    let netscan = rows
        .iter()
        .find(|r| r["key"] == "netscan")
        .expect("netscan among the top terms");
    let ids = netscan["rule_ids"].to_string();
    assert!(
        ids.contains("rdx.1001") && ids.contains("rdx.1002"),
        "{ids}"
    );

    let v = json_on(
        catalog_index(),
        &["terms", "--rule", "rdx.1001", "--format", "json"],
    );
    let terms: Vec<&str> = v["search_terms"]
        .as_array()
        .expect("terms")
        .iter()
        .map(|t| t["term"].as_str().expect("term"))
        .collect();
    assert_eq!(
        terms,
        ["TERM(EventCode=1)", "\"<EventID>1<\"", "\"netscan\""]
    );
    // rdx.1002 also searches "netscan"; the count leaves rdx.1001 out.
    assert!(v["search_terms"][2]["corpus"]["total"].as_u64().expect("n") >= 1);
}

// ---- coverage -----------------------------------------------------------

#[test]
fn coverage_without_a_bundle_counts_ids_and_says_so() {
    let v = json_on(catalog_index(), &["coverage", "--format", "json"]);
    assert_eq!(v["bundle"], false);
    assert!(
        v["notes"].to_string().contains("--attack"),
        "{}",
        v["notes"]
    );
    let t1046 = v["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .find(|t| t["id"] == "T1046")
        .expect("T1046 covered");
    let rules = t1046["rules"].to_string();
    assert!(rules.contains("rdx.1001"), "{rules}");

    let out = run_on(catalog_index(), &["coverage", "--gaps"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bundle"));
}

#[test]
fn coverage_of_t1046_includes_the_netscan_rules() {
    let v = json_on(catalog_index(), &["coverage", "T1046", "--format", "json"]);
    let rules = v["techniques"][0]["rules"].to_string();
    for id in ["rdx.1001", "rdx.1002", "rdx.1003"] {
        assert!(rules.contains(id), "{id} not in {rules}");
    }
    let out = run_on(catalog_index(), &["coverage", "T1003"]);
    assert_eq!(out.status.code(), Some(1));

    let Some(index) = corpus_index() else { return };
    let Some(bundle) = bundle() else { return };
    let bundle = bundle.to_str().expect("utf-8");
    let v = json_on(
        index,
        &["coverage", "--attack", bundle, "T1046", "--format", "json"],
    );
    let t = &v["techniques"][0];
    assert_eq!(t["name"], "Network Service Discovery");
    assert!(t["rules"].to_string().contains("24804.45867"));
}

#[test]
fn coverage_writes_a_navigator_layer() {
    let d = tempfile::tempdir().expect("tempdir");
    let layer_path = d.path().join("sub/coverage-layer.json");
    let layer_arg = layer_path.to_str().expect("utf-8");
    run_ok(&[
        "--index",
        catalog_index(),
        "coverage",
        "--navigator",
        layer_arg,
        "--findings",
        "none",
    ]);
    let layer: Value =
        serde_json::from_str(&std::fs::read_to_string(&layer_path).expect("layer written"))
            .expect("layer is JSON");
    for key in ["name", "domain", "versions", "techniques"] {
        assert!(layer.get(key).is_some(), "layer lacks {key}");
    }
    assert_eq!(layer["domain"], "enterprise-attack");
    assert!(layer["versions"]["layer"].is_string());
    let techs = layer["techniques"].as_array().expect("techniques");
    assert!(techs.iter().all(|t| t["techniqueID"].is_string()));
    let t1046 = techs
        .iter()
        .find(|t| t["techniqueID"] == "T1046")
        .expect("T1046 in the layer");
    assert!(t1046["score"].as_u64().expect("score") >= 3);
}

#[test]
fn coverage_on_the_real_corpus_reports_revoked_ids() {
    let Some(index) = corpus_index() else { return };
    let Some(bundle) = bundle() else { return };
    let bundle = bundle.to_str().expect("utf-8");
    let v = json_on(index, &["coverage", "--attack", bundle, "--format", "json"]);
    let findings = v["findings"].as_array().expect("findings");
    let revoked: Vec<&Value> = findings
        .iter()
        .filter(|f| f["kind"] == "revoked-technique")
        .collect();
    assert!(!revoked.is_empty());
    assert!(revoked.iter().all(|f| f["replacement"].is_string()));
    // In table mode the findings go to stderr as diagnostics.
    let out = run_on(index, &["coverage", "--attack", bundle, "--by", "tactic"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("revoked-technique"));
    assert!(text(&out).contains("Discovery"));

    let d = tempfile::tempdir().expect("tempdir");
    let layer_path = d.path().join("layer.json");
    run_ok(&[
        "--index",
        index,
        "coverage",
        "--attack",
        bundle,
        "--navigator",
        layer_path.to_str().expect("utf-8"),
        "--findings",
        "none",
    ]);
    let layer: Value =
        serde_json::from_str(&std::fs::read_to_string(&layer_path).expect("written"))
            .expect("json");
    // The bundle in ../shared has no collection object, so no ATT&CK
    // version: the layer must still carry the required fields.
    assert!(
        layer["versions"]["layer"].is_string(),
        "{}",
        layer["versions"]
    );
    assert!(layer["techniques"].as_array().expect("techniques").len() > 100);
    let gaps = json_on(
        index,
        &[
            "coverage",
            "--attack",
            bundle,
            "--gaps",
            "--platform",
            "windows",
            "--format",
            "json",
        ],
    );
    assert!(!gaps["gaps"].as_array().expect("gaps").is_empty());
}
