//! Splunk security_content detections: SPL in `search`, ATT&CK ids in
//! `tags.mitre_attack_id`, data sources in `data_source`.

use super::fields::Fields;
use super::yaml;
use crate::diag::Diagnostic;
use crate::rule::{Language, Rule, SourceFormat};

/// Whether the document looks like a security_content detection.
pub(crate) fn detect(f: &Fields<'_>) -> bool {
    f.has("search")
}

/// Maps a security_content document onto a [`Rule`].
pub(crate) fn to_rule(f: &mut Fields<'_>) -> Result<Rule, Diagnostic> {
    let mut rule = f.base_rule(
        SourceFormat::SecurityContent,
        Language::Splunk,
        "name",
        "search",
    )?;
    if let Some(tags) = yaml::get(f.map, "tags").and_then(|t| t.as_mapping()) {
        if let Some(ids) = yaml::get(tags, "mitre_attack_id") {
            rule.technique_ids = f.flatten(ids, "tags");
        }
    }
    rule.data_categories = f.list("data_source");
    // Two files in the 2024 snapshot spell it `data_sources`.
    rule.data_categories.extend(f.list("data_sources"));
    rule.kind = f.string("type");
    Ok(rule)
}
