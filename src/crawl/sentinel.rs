//! Microsoft Sentinel analytic rules and hunting queries: KQL in `query`,
//! ATT&CK in `relevantTechniques` and `tactics`, data connectors in
//! `requiredDataConnectors[].connectorId`.

use super::fields::Fields;
use super::yaml;
use crate::diag::Diagnostic;
use crate::rule::{Language, Rule, SourceFormat};

/// Whether the document looks like a Sentinel rule.
pub(crate) fn detect(f: &Fields<'_>) -> bool {
    f.has("query")
}

/// Maps a Sentinel document onto a [`Rule`].
pub(crate) fn to_rule(f: &mut Fields<'_>) -> Result<Rule, Diagnostic> {
    let mut rule = f.base_rule(SourceFormat::Sentinel, Language::Kusto, "name", "query")?;
    rule.technique_ids = f.list("relevantTechniques");
    rule.tactics = f.list("tactics");
    if let Some(connectors) =
        yaml::get(f.map, "requiredDataConnectors").and_then(|v| v.as_sequence())
    {
        for c in connectors {
            let id = c
                .as_mapping()
                .and_then(|m| yaml::get(m, "connectorId"))
                .and_then(yaml::scalar_text);
            // A bare string entry is taken as the connector id itself.
            let id = id.or_else(|| yaml::scalar_text(c));
            if let Some(id) = id {
                rule.data_categories.push(id);
            }
        }
    }
    rule.severity = f.string("severity");
    rule.kind = f.string("kind");
    Ok(rule)
}
