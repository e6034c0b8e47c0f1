//! Reads the ATT&CK STIX 2.1 bundle into [`Attack`]: techniques and
//! sub-techniques, tactics in matrix order, and the `subtechnique-of`,
//! `revoked-by` and (in older bundles) `detects` relationships.
//!
//! Only the fields coverage needs are deserialised; descriptions and
//! references are skipped by serde without being kept.

use std::collections::HashMap;

use serde::Deserialize;

use super::ids::{name_key, parent_id, ENTERPRISE_TACTICS};
use super::{Attack, Tactic, Technique};

/// The bundle as a list of objects; everything else is ignored.
#[derive(Deserialize)]
struct Bundle {
    #[serde(default)]
    objects: Vec<Object>,
}

/// The union of the fields read from any STIX object type.
#[derive(Deserialize)]
struct Object {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    external_references: Vec<ExternalReference>,
    #[serde(default)]
    kill_chain_phases: Vec<KillChainPhase>,
    #[serde(default)]
    x_mitre_platforms: Vec<String>,
    #[serde(default)]
    x_mitre_deprecated: bool,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    x_mitre_shortname: Option<String>,
    #[serde(default)]
    tactic_refs: Vec<String>,
    #[serde(default)]
    relationship_type: Option<String>,
    #[serde(default)]
    source_ref: Option<String>,
    #[serde(default)]
    target_ref: Option<String>,
    /// ATT&CK before v11 named data components on the technique itself
    /// (`Process: Process Creation`).
    #[serde(default)]
    x_mitre_data_sources: Vec<String>,
    #[serde(default)]
    x_mitre_version: Option<String>,
}

#[derive(Deserialize)]
struct ExternalReference {
    #[serde(default)]
    source_name: String,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct KillChainPhase {
    #[serde(default)]
    kill_chain_name: String,
    #[serde(default)]
    phase_name: String,
}

impl Object {
    /// The `mitre-attack` reference: the ATT&CK id and page URL.
    fn attack_ref(&self) -> Option<&ExternalReference> {
        self.external_references
            .iter()
            .find(|r| r.source_name == "mitre-attack" && r.external_id.is_some())
    }
}

/// Parses a bundle's JSON text; `origin` names it in error messages.
pub(super) fn parse(text: &str, origin: &str) -> anyhow::Result<Attack> {
    let bundle: Bundle = serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("{origin}:{}:{}: {e}", e.line(), e.column()))?;

    // STIX ids → ATT&CK ids, to turn relationships into technique links.
    let mut attack_ids: HashMap<&str, &str> = HashMap::new();
    for o in &bundle.objects {
        if let Some(ext) = o.attack_ref().and_then(|r| r.external_id.as_deref()) {
            attack_ids.insert(&o.id, ext);
        }
    }

    let mut parents: HashMap<&str, &str> = HashMap::new();
    let mut revoked_by: HashMap<&str, &str> = HashMap::new();
    let mut detects: HashMap<&str, Vec<&str>> = HashMap::new();
    let names: HashMap<&str, &str> = bundle
        .objects
        .iter()
        .filter_map(|o| Some((o.id.as_str(), o.name.as_deref()?)))
        .collect();
    for o in bundle.objects.iter().filter(|o| o.kind == "relationship") {
        let (Some(src), Some(dst)) = (o.source_ref.as_deref(), o.target_ref.as_deref()) else {
            continue;
        };
        match o.relationship_type.as_deref() {
            Some("subtechnique-of") => {
                if let (Some(s), Some(d)) = (attack_ids.get(src), attack_ids.get(dst)) {
                    parents.insert(s, d);
                }
            }
            Some("revoked-by") => {
                if let (Some(s), Some(d)) = (attack_ids.get(src), attack_ids.get(dst)) {
                    revoked_by.insert(s, d);
                }
            }
            // ATT&CK v11–v17: data component → technique. v18 moved this to
            // detection strategies, which the shared bundle leaves out.
            Some("detects") if !o.revoked && !o.x_mitre_deprecated => {
                if let (Some(component), Some(t)) = (names.get(src), attack_ids.get(dst)) {
                    detects.entry(t).or_default().push(component);
                }
            }
            _ => {}
        }
    }

    let mut techniques = Vec::new();
    for o in bundle.objects.iter().filter(|o| o.kind == "attack-pattern") {
        let Some(r) = o.attack_ref() else { continue };
        let Some(id) = r.external_id.clone() else {
            continue;
        };
        let mut data_components: Vec<String> = o.x_mitre_data_sources.clone();
        for c in detects.get(id.as_str()).into_iter().flatten() {
            if !data_components.iter().any(|d| d == c) {
                data_components.push(c.to_string());
            }
        }
        let parent = parents
            .get(id.as_str())
            .map(|p| p.to_string())
            .or_else(|| parent_id(&id).map(str::to_string));
        techniques.push(Technique {
            name: o.name.clone().unwrap_or_default(),
            tactics: o
                .kill_chain_phases
                .iter()
                .filter(|p| p.kill_chain_name == "mitre-attack")
                .map(|p| p.phase_name.clone())
                .collect(),
            platforms: o.x_mitre_platforms.clone(),
            parent,
            revoked_by: revoked_by.get(id.as_str()).map(|s| s.to_string()),
            revoked: o.revoked,
            deprecated: o.x_mitre_deprecated,
            data_components,
            url: r.url.clone(),
            id,
        });
    }
    if techniques.is_empty() {
        anyhow::bail!("{origin}: no ATT&CK techniques (attack-pattern objects) in the bundle");
    }

    let tactics = tactics_in_order(&bundle.objects);
    let version = bundle
        .objects
        .iter()
        .find(|o| o.kind == "x-mitre-collection")
        .and_then(|o| o.x_mitre_version.clone());
    Ok(Attack::new(techniques, tactics, version))
}

/// The tactics, ordered as the enterprise matrix lists them.
///
/// A bundle without a matrix falls back to the known Enterprise order, and
/// tactics the matrix leaves out go last, by id, so none is lost.
fn tactics_in_order(objects: &[Object]) -> Vec<Tactic> {
    let mut by_stix: HashMap<&str, Tactic> = HashMap::new();
    for o in objects.iter().filter(|o| o.kind == "x-mitre-tactic") {
        let (Some(id), Some(shortname)) = (
            o.attack_ref().and_then(|r| r.external_id.clone()),
            o.x_mitre_shortname.clone(),
        ) else {
            continue;
        };
        if o.revoked || o.x_mitre_deprecated {
            continue;
        }
        by_stix.insert(
            &o.id,
            Tactic {
                id,
                name: o.name.clone().unwrap_or_else(|| shortname.clone()),
                shortname,
            },
        );
    }

    let matrices: Vec<&Object> = objects
        .iter()
        .filter(|o| o.kind == "x-mitre-matrix")
        .collect();
    let matrix = matrices
        .iter()
        .find(|m| {
            m.attack_ref()
                .and_then(|r| r.external_id.as_deref())
                .is_some_and(|e| e == "enterprise-attack")
        })
        .or(matrices.first());
    let mut ordered = Vec::new();
    if let Some(m) = matrix {
        for r in &m.tactic_refs {
            if let Some(t) = by_stix.remove(r.as_str()) {
                ordered.push(t);
            }
        }
    }
    let mut rest: Vec<Tactic> = by_stix.into_values().collect();
    rest.sort_by_key(|t| {
        let known = ENTERPRISE_TACTICS
            .iter()
            .position(|(_, s, _)| name_key(s) == name_key(&t.shortname));
        (known.unwrap_or(usize::MAX), t.id.clone())
    });
    ordered.extend(rest);
    ordered
}
