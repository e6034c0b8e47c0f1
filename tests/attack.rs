//! ATT&CK mapping and coverage against the real Enterprise bundle and the
//! three shared corpora (`../shared`; skipped with a reason when missing,
//! a failure under CI).
//!
//! The corpora are read with [`ruledex::crawl::crawl`], so these tests
//! check the mapping of what the crawler actually produces.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use ruledex::attack::{
    coverage, navigator_layer, Attack, CoverageOptions, FindingKind, Resolution, Via,
};
use ruledex::rule::{Language, Rule, SourceFormat};

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

/// The bundle, loaded once for all tests.
fn attack() -> Option<&'static Attack> {
    static ATTACK: OnceLock<Attack> = OnceLock::new();
    let path = shared()?.join("attack/enterprise-attack.json");
    Some(ATTACK.get_or_init(|| {
        let start = Instant::now();
        let a = Attack::load(&path).expect("the shared bundle loads");
        eprintln!("bundle loaded in {:?}", start.elapsed());
        a
    }))
}

fn rule(id: &str, ids: &[&str], tactics: &[&str]) -> Rule {
    Rule {
        id: id.to_string(),
        title: id.to_string(),
        description: String::new(),
        language: Language::Splunk,
        logic: String::new(),
        format: SourceFormat::Armory,
        path: PathBuf::from(format!("{id}.yml")),
        technique_ids: ids.iter().map(|s| s.to_string()).collect(),
        tactics: tactics.iter().map(|s| s.to_string()).collect(),
        technique_names: Vec::new(),
        data_categories: Vec::new(),
        references: Vec::new(),
        severity: None,
        kind: None,
        yaml: String::new(),
    }
}

#[test]
fn tactics_are_in_matrix_order() {
    let Some(a) = attack() else { return };
    let ids: Vec<&str> = a.tactics().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004", "TA0005", "TA0006",
            "TA0007", "TA0008", "TA0009", "TA0011", "TA0010", "TA0040"
        ]
    );
    assert_eq!(a.tactics()[0].shortname, "reconnaissance");
    assert_eq!(a.tactics()[13].shortname, "impact");
    assert_eq!(
        a.tactic("CommandAndControl").map(|t| t.id.as_str()),
        Some("TA0011")
    );
}

#[test]
fn techniques_carry_names_tactics_platforms_and_parents() {
    let Some(a) = attack() else { return };
    let t = a.technique("t1046").expect("T1046");
    assert_eq!(t.name, "Network Service Discovery");
    assert_eq!(t.tactics, vec!["discovery"]);
    assert!(t.has_platform("windows"));
    let smb = a.technique("T1021.002").expect("T1021.002");
    assert_eq!(smb.parent.as_deref(), Some("T1021"));
    assert_eq!(smb.tactics, vec!["lateral-movement"]);
    assert!(a.techniques().len() > 800);
}

#[test]
fn revoked_t1086_is_remapped_to_t1059_001() {
    let Some(a) = attack() else { return };
    match a.resolve("T1086") {
        Resolution::Revoked { to: Some(to), .. } => assert_eq!(to.id, "T1059.001"),
        other => panic!("T1086 should be revoked by T1059.001, got {other:?}"),
    }
    let cov = coverage(
        &[rule("r1", &["T1086"], &[])],
        Some(a),
        &CoverageOptions::default(),
    );
    assert_eq!(cov.findings.len(), 1);
    assert_eq!(cov.findings[0].kind, FindingKind::RevokedTechnique);
    assert_eq!(cov.findings[0].replacement.as_deref(), Some("T1059.001"));
    let ps = cov
        .techniques
        .iter()
        .find(|t| t.id == "T1059.001")
        .expect("T1059.001 credited");
    assert_eq!(ps.name.as_deref(), Some("PowerShell"));
    assert!(matches!(&ps.rules[0].via, Via::Revoked { from } if from == "T1086"));
}

#[test]
fn deprecated_t1064_is_left_out_of_the_score() {
    let Some(a) = attack() else { return };
    assert!(matches!(a.resolve("T1064"), Resolution::Deprecated(_)));
    let cov = coverage(
        &[rule("r1", &["T1064"], &[])],
        Some(a),
        &CoverageOptions::default(),
    );
    assert_eq!(cov.findings.len(), 1);
    assert_eq!(cov.findings[0].kind, FindingKind::DeprecatedTechnique);
    assert!(cov.techniques.is_empty());
    assert!(cov.tactics.iter().all(|t| t.rules == 0));
}

#[test]
fn navigator_layer_is_valid_for_the_navigator() {
    let Some(a) = attack() else { return };
    let rules = [
        rule("r1", &["T1059.001"], &[]),
        rule("r2", &["T1078"], &["Persistence"]),
        rule("r3", &["T1021.002", "t1046"], &[]),
    ];
    let cov = coverage(&rules, Some(a), &CoverageOptions::default());
    let layer = navigator_layer(&cov, Some(a));
    for key in ["name", "domain", "versions", "techniques", "gradient"] {
        assert!(layer.get(key).is_some(), "layer lacks {key}");
    }
    assert_eq!(layer["domain"], "enterprise-attack");
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert!(layer["versions"]["navigator"].is_string());
    assert!(layer["legendItems"].is_array());
    let techs = layer["techniques"].as_array().expect("techniques");
    assert!(!techs.is_empty());
    for t in techs {
        // The Navigator drops entries whose id or tactic it cannot place.
        let id = t["techniqueID"].as_str().expect("techniqueID");
        let known = a.technique(id).expect("a technique of the bundle");
        assert!(known.is_active(), "{id}");
        if let Some(tactic) = t.get("tactic") {
            let tactic = tactic.as_str().expect("tactic string");
            assert!(known.tactics.iter().any(|k| k == tactic), "{id} {tactic}");
        }
        assert!(t["score"].as_u64().is_some_and(|s| s >= 1));
        assert!(t["comment"].is_string());
    }
}

/// Every rule of the three corpora, read by the crawler.
fn corpus(shared: &Path) -> Vec<Rule> {
    let dirs = [
        shared.join("corpus/armory"),
        shared.join("corpus/security_content/detections"),
        shared.join("corpus/sentinel"),
    ];
    let start = Instant::now();
    let crawl = ruledex::crawl::crawl(&dirs);
    eprintln!(
        "crawled {} rules in {:?}",
        crawl.rules.len(),
        start.elapsed()
    );
    crawl.rules
}

#[test]
fn corpus_coverage_credits_netscan_and_reports_revoked_ids() {
    let Some(shared) = shared() else { return };
    let Some(a) = attack() else { return };
    let rules = corpus(&shared);
    assert!(rules.len() > 3500, "read {} rules", rules.len());

    let start = Instant::now();
    let cov = coverage(&rules, Some(a), &CoverageOptions::default());
    eprintln!(
        "coverage over {} rules in {:?}: {} mapped, {} techniques, {} findings",
        rules.len(),
        start.elapsed(),
        cov.totals.mapped,
        cov.techniques.len(),
        cov.findings.len()
    );

    let t1046 = cov
        .techniques
        .iter()
        .find(|t| t.id == "T1046")
        .expect("T1046 covered");
    assert!(t1046.rules.iter().any(|r| r.id == "24804.45867"));
    let discovery = t1046
        .tactics
        .iter()
        .find(|c| c.tactic.as_deref() == Some("discovery"))
        .expect("T1046 under discovery");
    assert!(discovery.rules.iter().any(|r| r == "24804.45867"));

    // Sentinel (2020) still uses ids ATT&CK has since revoked.
    let revoked: Vec<_> = cov
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::RevokedTechnique)
        .collect();
    assert!(!revoked.is_empty());
    assert!(revoked.iter().all(|f| f.path.exists()));
    // …and T1064, deprecated.
    assert!(cov
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::DeprecatedTechnique && f.raw.trim() == "T1064"));
    // Every tactic is present, in order, with some rules.
    assert_eq!(cov.tactics.len(), 14);
    assert!(cov.tactics.iter().filter(|t| t.rules > 0).count() >= 12);

    let layer = navigator_layer(&cov, Some(a));
    let n = layer["techniques"].as_array().map_or(0, Vec::len);
    assert!(n >= cov.techniques.len());
}

#[test]
fn windows_gaps_exclude_covered_and_non_windows_techniques() {
    let Some(a) = attack() else { return };
    let opts = CoverageOptions {
        platforms: vec!["windows".to_string()],
        tactics: vec!["discovery".to_string()],
        ..CoverageOptions::default()
    };
    let cov = coverage(&[rule("r1", &["T1046"], &[])], Some(a), &opts);
    assert!(!cov.gaps.is_empty());
    for g in &cov.gaps {
        assert_ne!(g.id, "T1046");
        assert!(g.platforms.iter().any(|p| p == "Windows"), "{}", g.id);
        assert_eq!(g.tactics, vec!["discovery"]);
    }
}

#[test]
fn spellings_roll_up_to_parents_with_the_real_bundle() {
    let Some(a) = attack() else { return };
    let cov = coverage(
        &[
            rule("r1", &["T1021.002"], &[]),
            rule("r2", &["t1059.001", "T1059.001 "], &[]),
            rule("r3", &["t1059_001"], &[]),
        ],
        Some(a),
        &CoverageOptions::default(),
    );
    let find = |id: &str| cov.techniques.iter().find(|t| t.id == id);
    let parent = find("T1021").expect("T1021 rolled up");
    assert_eq!((parent.score, parent.direct), (1, 0));
    assert_eq!(
        parent.tactics[0].tactic.as_deref(),
        Some("lateral-movement")
    );
    let csi = find("T1059").expect("T1059 rolled up");
    assert_eq!(csi.score, 1);
    assert_eq!(find("T1059.001").map(|t| t.score), Some(1));
    assert_eq!(cov.findings.len(), 1);
    assert_eq!(cov.findings[0].kind, FindingKind::MalformedId);
    assert_eq!(cov.findings[0].path, PathBuf::from("r3.yml"));
}
