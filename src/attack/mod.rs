//! MITRE ATT&CK: technique ids, names and tactics from the STIX bundle, and
//! the coverage report built on them.
//!
//! - [`ids`] normalises what rules write (`t1059.001`, `CommandAndControl`).
//! - [`stix`] reads the Enterprise STIX 2.1 bundle into [`Attack`].
//! - [`coverage`] maps rules onto techniques and tactics, with findings.
//! - [`navigator`] writes an ATT&CK Navigator layer; [`render`] writes the
//!   terminal tables, CSV and JSON.
//!
//! Everything works without a bundle on ids alone; names, kill-chain
//! tactics, revocations and gaps need one.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

pub mod coverage;
pub mod ids;
pub mod navigator;
pub mod render;
mod stix;

pub use coverage::{
    coverage, Coverage, CoverageOptions, Finding, FindingKind, Gap, LanguageCounts, RuleCredit,
    TacticCell, TacticCoverage, TechniqueCoverage, Via,
};
pub use ids::{normalize_id, IdProblem};
pub use navigator::navigator_layer;
pub use render::{
    render_by_tactic, render_csv, render_findings, render_gaps, render_gaps_csv, render_json,
    render_table,
};

/// One ATT&CK technique or sub-technique.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Technique {
    /// The ATT&CK id: `T1059` or, for a sub-technique, `T1059.001`.
    pub id: String,
    /// The name as ATT&CK writes it (`PowerShell` for `T1059.001`).
    pub name: String,
    /// Tactic shortnames from the `mitre-attack` kill-chain phases.
    pub tactics: Vec<String>,
    /// Platforms (`Windows`, `Linux`, `IaaS`…).
    pub platforms: Vec<String>,
    /// The parent technique's id, for a sub-technique.
    pub parent: Option<String>,
    /// The technique that replaced this one, when it is revoked.
    pub revoked_by: Option<String>,
    /// Whether ATT&CK revoked it (with or without a replacement).
    pub revoked: bool,
    /// Whether ATT&CK deprecated it (kept for reference, not in the matrix).
    pub deprecated: bool,
    /// Data components that detect it, when the bundle links them (ATT&CK
    /// v11–v17 `detects` relationships or older `x_mitre_data_sources`).
    pub data_components: Vec<String>,
    /// The technique's page on attack.mitre.org.
    pub url: Option<String>,
}

impl Technique {
    /// Whether the technique belongs in the current matrix (not revoked,
    /// not deprecated).
    pub fn is_active(&self) -> bool {
        !self.revoked && !self.deprecated
    }

    /// Whether it has a platform named `platform` (case-insensitive).
    pub fn has_platform(&self, platform: &str) -> bool {
        self.platforms
            .iter()
            .any(|p| p.eq_ignore_ascii_case(platform.trim()))
    }
}

/// One ATT&CK tactic, a column of the matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tactic {
    /// The ATT&CK id (`TA0007`).
    pub id: String,
    /// The kill-chain phase name (`discovery`).
    pub shortname: String,
    /// The display name (`Discovery`).
    pub name: String,
}

/// The ATT&CK knowledge base coverage is measured against.
#[derive(Clone, Debug)]
pub struct Attack {
    /// Every technique and sub-technique, revoked and deprecated included,
    /// sorted by id.
    techniques: Vec<Technique>,
    /// Technique id → index into `techniques`.
    by_id: HashMap<String, usize>,
    /// [`ids::name_key`] of a technique name, and of `parent:sub` for
    /// sub-techniques → indices, active techniques first.
    by_name: HashMap<String, Vec<usize>>,
    /// Tactics in matrix order.
    tactics: Vec<Tactic>,
    /// The ATT&CK content version, when the bundle says (`x-mitre-collection`).
    version: Option<String>,
}

/// Where a technique id leads once revocations are followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution<'a> {
    /// An active technique.
    Active(&'a Technique),
    /// Revoked; `to` is the end of its `revoked-by` chain, when there is one.
    Revoked {
        /// The technique asked for.
        from: &'a Technique,
        /// The active (or deprecated) replacement.
        to: Option<&'a Technique>,
    },
    /// Deprecated, with no replacement.
    Deprecated(&'a Technique),
    /// Not in the bundle.
    Unknown,
}

impl Attack {
    /// Loads a STIX 2.1 bundle (such as `enterprise-attack.json`).
    pub fn load(path: &Path) -> anyhow::Result<Attack> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading ATT&CK bundle {}", path.display()))?;
        stix::parse(&text, &path.display().to_string())
    }

    /// Parses a bundle held in memory; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> anyhow::Result<Attack> {
        stix::parse(text, origin)
    }

    /// Builds the lookup tables over parsed techniques and tactics.
    fn new(mut techniques: Vec<Technique>, tactics: Vec<Tactic>, version: Option<String>) -> Self {
        techniques.sort_by(|a, b| a.id.cmp(&b.id));
        techniques.dedup_by(|a, b| a.id == b.id);
        let by_id: HashMap<String, usize> = techniques
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in techniques.iter().enumerate() {
            by_name.entry(ids::name_key(&t.name)).or_default().push(i);
            let parent_name = t
                .parent
                .as_ref()
                .and_then(|p| by_id.get(p))
                .map(|&p| &techniques[p].name);
            if let Some(parent_name) = parent_name {
                let key = format!("{}:{}", ids::name_key(parent_name), ids::name_key(&t.name));
                by_name.entry(key).or_default().push(i);
            }
        }
        // Old names of revoked techniques live on in rules; prefer the
        // current technique when a name is shared, then techniques over
        // sub-techniques (`PowerShell` alone means T1059.001 only when no
        // technique is called that).
        for v in by_name.values_mut() {
            v.sort_by_key(|&i| {
                let t = &techniques[i];
                (!t.is_active(), t.parent.is_some(), t.id.clone())
            });
        }
        Attack {
            techniques,
            by_id,
            by_name,
            tactics,
            version,
        }
    }

    /// The technique with this id, in any spelling [`normalize_id`] accepts.
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        let i = match self.by_id.get(id) {
            Some(i) => *i,
            None => *self.by_id.get(&normalize_id(id).ok()?)?,
        };
        self.techniques.get(i)
    }

    /// Every technique and sub-technique, revoked and deprecated included,
    /// sorted by id.
    pub fn techniques(&self) -> &[Technique] {
        &self.techniques
    }

    /// The tactics in matrix order (TA0043 reconnaissance … TA0040 impact).
    pub fn tactics(&self) -> &[Tactic] {
        &self.tactics
    }

    /// The tactic named by id (`TA0007`), shortname, or display name in any
    /// spelling (`Command and Control`, `CommandAndControl`).
    pub fn tactic(&self, name: &str) -> Option<&Tactic> {
        let key = ids::name_key(name);
        self.tactics.iter().find(|t| {
            ids::name_key(&t.shortname) == key
                || ids::name_key(&t.name) == key
                || ids::name_key(&t.id) == key
        })
    }

    /// The ATT&CK content version, when the bundle records it.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The sub-techniques of `id`, by id.
    pub fn subtechniques<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Technique> + 'a {
        self.techniques
            .iter()
            .filter(move |t| t.parent.as_deref() == Some(id))
    }

    /// Follows `revoked-by` links from `id` to the technique that replaces it.
    pub fn resolve(&self, id: &str) -> Resolution<'_> {
        let Some(start) = self.technique(id) else {
            return Resolution::Unknown;
        };
        if start.revoked || start.revoked_by.is_some() {
            let mut cur = start;
            // A chain longer than the number of techniques is a cycle.
            for _ in 0..self.techniques.len() {
                match cur.revoked_by.as_deref().and_then(|r| self.technique(r)) {
                    Some(next) if next.revoked || next.revoked_by.is_some() => cur = next,
                    Some(next) => {
                        return Resolution::Revoked {
                            from: start,
                            to: Some(next),
                        }
                    }
                    None => break,
                }
            }
            return Resolution::Revoked {
                from: start,
                to: None,
            };
        }
        if start.deprecated {
            return Resolution::Deprecated(start);
        }
        Resolution::Active(start)
    }

    /// The technique a name refers to: `Network Service Discovery`,
    /// `command and scripting interpreter:powershell` (parent:sub), or a
    /// sub-technique's own name when that is unambiguous.
    pub fn technique_by_name(&self, name: &str) -> Option<&Technique> {
        let parts: Vec<String> = name
            .split(':')
            .map(ids::name_key)
            .filter(|k| !k.is_empty())
            .collect();
        let key = parts.join(":");
        if let Some(i) = self.by_name.get(&key).and_then(|v| v.first()) {
            return self.techniques.get(*i);
        }
        // `Command and Scripting Interpreter: PowerShell` and similar:
        // fall back to the last part alone, when only one technique has it.
        if parts.len() > 1 {
            let last = parts.last().map(String::as_str).unwrap_or_default();
            if let Some(v) = self.by_name.get(last) {
                let active: Vec<usize> = v
                    .iter()
                    .copied()
                    .filter(|&i| self.techniques[i].is_active())
                    .collect();
                if active.len() == 1 {
                    return self.techniques.get(active[0]);
                }
            }
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod testdata {
    //! A small hand-built bundle with the real-world cases coverage must
    //! handle: a revoked technique, a deprecated one, sub-techniques.

    use serde_json::{json, Value};

    use super::Attack;

    fn ext(id: &str, url: &str) -> Value {
        json!([{"source_name": "mitre-attack", "external_id": id, "url": url}])
    }

    fn tactic(stix: &str, id: &str, short: &str, name: &str) -> Value {
        json!({"type": "x-mitre-tactic", "id": stix, "name": name,
               "x_mitre_shortname": short,
               "external_references": ext(id, &format!("https://attack.mitre.org/tactics/{id}"))})
    }

    fn technique(id: &str, name: &str, phases: &[&str], platforms: &[&str]) -> Value {
        let phases: Vec<Value> = phases
            .iter()
            .map(|p| json!({"kill_chain_name": "mitre-attack", "phase_name": p}))
            .collect();
        json!({"type": "attack-pattern", "id": format!("attack-pattern--{id}"), "name": name,
               "kill_chain_phases": phases, "x_mitre_platforms": platforms,
               "x_mitre_is_subtechnique": id.contains('.'),
               "external_references": ext(id, &format!("https://attack.mitre.org/techniques/{}", id.replace('.', "/")))})
    }

    fn rel(kind: &str, src: &str, dst: &str) -> Value {
        json!({"type": "relationship", "id": format!("relationship--{src}-{dst}"),
               "relationship_type": kind,
               "source_ref": format!("attack-pattern--{src}"),
               "target_ref": format!("attack-pattern--{dst}")})
    }

    /// The bundle as JSON text.
    pub fn bundle_json() -> String {
        let mut deprecated = technique(
            "T1064",
            "Scripting",
            &["defense-evasion", "execution"],
            &["Windows"],
        );
        deprecated["x_mitre_deprecated"] = json!(true);
        let mut revoked = technique("T1086", "PowerShell", &["execution"], &["Windows"]);
        revoked["revoked"] = json!(true);
        let mut revoked_no_target = technique("T1099", "Timestomp", &["defense-evasion"], &[]);
        revoked_no_target["revoked"] = json!(true);
        let objects = vec![
            // Listed out of order: the matrix decides the order.
            tactic("x-mitre-tactic--d", "TA0007", "discovery", "Discovery"),
            tactic("x-mitre-tactic--e", "TA0002", "execution", "Execution"),
            tactic("x-mitre-tactic--p", "TA0003", "persistence", "Persistence"),
            tactic(
                "x-mitre-tactic--v",
                "TA0005",
                "defense-evasion",
                "Defense Evasion",
            ),
            tactic(
                "x-mitre-tactic--l",
                "TA0008",
                "lateral-movement",
                "Lateral Movement",
            ),
            json!({"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "name": "Enterprise ATT&CK",
                   "external_references": [{"source_name": "mitre-attack", "external_id": "enterprise-attack"}],
                   "tactic_refs": ["x-mitre-tactic--e", "x-mitre-tactic--p", "x-mitre-tactic--v",
                                   "x-mitre-tactic--d", "x-mitre-tactic--l"]}),
            technique(
                "T1059",
                "Command and Scripting Interpreter",
                &["execution"],
                &["Windows", "Linux", "macOS"],
            ),
            technique("T1059.001", "PowerShell", &["execution"], &["Windows"]),
            technique(
                "T1059.004",
                "Unix Shell",
                &["execution"],
                &["Linux", "macOS"],
            ),
            technique(
                "T1046",
                "Network Service Discovery",
                &["discovery"],
                &["Windows", "Linux"],
            ),
            technique(
                "T1078",
                "Valid Accounts",
                &["defense-evasion", "persistence"],
                &["Windows", "IaaS"],
            ),
            technique(
                "T1021",
                "Remote Services",
                &["lateral-movement"],
                &["Windows", "Linux"],
            ),
            technique(
                "T1021.002",
                "SMB/Windows Admin Shares",
                &["lateral-movement"],
                &["Windows"],
            ),
            deprecated,
            revoked,
            revoked_no_target,
            rel("subtechnique-of", "T1059.001", "T1059"),
            rel("subtechnique-of", "T1059.004", "T1059"),
            rel("subtechnique-of", "T1021.002", "T1021"),
            rel("revoked-by", "T1086", "T1059.001"),
            json!({"type": "x-mitre-data-component", "id": "x-mitre-data-component--pc",
                   "name": "Process Creation"}),
            json!({"type": "relationship", "id": "relationship--pc", "relationship_type": "detects",
                   "source_ref": "x-mitre-data-component--pc", "target_ref": "attack-pattern--T1059.001"}),
        ];
        json!({"type": "bundle", "id": "bundle--test", "spec_version": "2.1", "objects": objects})
            .to_string()
    }

    /// The bundle, loaded.
    pub fn attack() -> Attack {
        Attack::from_json(&bundle_json(), "test-bundle").expect("the test bundle is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::attack;
    use super::*;

    #[test]
    fn loads_techniques_and_links() {
        let a = attack();
        let ps = a.technique("t1059.001").expect("T1059.001");
        assert_eq!(ps.name, "PowerShell");
        assert_eq!(ps.parent.as_deref(), Some("T1059"));
        assert_eq!(ps.tactics, vec!["execution"]);
        assert_eq!(ps.platforms, vec!["Windows"]);
        assert_eq!(ps.data_components, vec!["Process Creation"]);
        assert_eq!(
            ps.url.as_deref(),
            Some("https://attack.mitre.org/techniques/T1059/001")
        );
        let old = a.technique("T1086").expect("T1086");
        assert_eq!(old.revoked_by.as_deref(), Some("T1059.001"));
        assert!(a.technique("T1064").is_some_and(|t| t.deprecated));
        assert!(a.technique("T9999").is_none());
        let subs: Vec<&str> = a.subtechniques("T1059").map(|t| t.id.as_str()).collect();
        assert_eq!(subs, vec!["T1059.001", "T1059.004"]);
    }

    #[test]
    fn tactics_follow_the_matrix() {
        let a = attack();
        let order: Vec<&str> = a.tactics().iter().map(|t| t.shortname.as_str()).collect();
        assert_eq!(
            order,
            vec![
                "execution",
                "persistence",
                "defense-evasion",
                "discovery",
                "lateral-movement"
            ]
        );
        assert_eq!(
            a.tactic("DefenseEvasion").map(|t| t.id.as_str()),
            Some("TA0005")
        );
        assert_eq!(
            a.tactic("ta0007").map(|t| t.name.as_str()),
            Some("Discovery")
        );
        assert!(a.tactic("PreAttack").is_none());
    }

    #[test]
    fn resolves_revocations_and_deprecations() {
        let a = attack();
        match a.resolve("T1086") {
            Resolution::Revoked { from, to } => {
                assert_eq!(from.id, "T1086");
                assert_eq!(to.map(|t| t.id.as_str()), Some("T1059.001"));
            }
            other => panic!("T1086 should be revoked, got {other:?}"),
        }
        assert!(matches!(
            a.resolve("T1099"),
            Resolution::Revoked { to: None, .. }
        ));
        assert!(matches!(a.resolve("T1064"), Resolution::Deprecated(_)));
        assert!(matches!(a.resolve("T1046"), Resolution::Active(_)));
        assert!(matches!(a.resolve("T4242"), Resolution::Unknown));
    }

    #[test]
    fn finds_techniques_by_name() {
        let a = attack();
        let id = |n: &str| a.technique_by_name(n).map(|t| t.id.clone());
        assert_eq!(id("network service discovery").as_deref(), Some("T1046"));
        assert_eq!(
            id("command and scripting interpreter:powershell").as_deref(),
            Some("T1059.001")
        );
        assert_eq!(
            id("Command and Scripting Interpreter: PowerShell").as_deref(),
            Some("T1059.001")
        );
        // `PowerShell` alone: the active sub-technique beats revoked T1086.
        assert_eq!(id("PowerShell").as_deref(), Some("T1059.001"));
        assert_eq!(id("no such thing"), None);
    }

    #[test]
    fn bad_bundles_are_errors() {
        let err = Attack::from_json("{\"objects\": [", "b.json").expect_err("truncated");
        assert!(err.to_string().starts_with("b.json:1:"), "{err}");
        let err = Attack::from_json("{\"objects\": []}", "b.json").expect_err("empty");
        assert!(err.to_string().contains("no ATT&CK techniques"), "{err}");
    }
}
