//! anvilogic armory rules: `logic` in the language named by
//! `logic_format`, ATT&CK in `techniques` (`tactic:technique name`) and
//! `technique_id` (a list, a string, a nested list or null).

use serde_yaml::Value;

use super::fields::Fields;
use super::yaml;
use crate::diag::{Diagnostic, Severity};
use crate::rule::{Language, Rule, SourceFormat};

/// Whether the document looks like an armory rule.
pub(crate) fn detect(f: &Fields<'_>) -> bool {
    f.has("logic") || f.has("logic_format")
}

/// Maps an armory document onto a [`Rule`].
///
/// `tactics` and `technique_names` are index-aligned: entry `i` of each
/// comes from the `i`-th `techniques` string, split at its first `:` (an
/// entry without a colon has an empty tactic).
pub(crate) fn to_rule(f: &mut Fields<'_>) -> Result<Rule, Diagnostic> {
    let format_name = f.string("logic_format").unwrap_or_default();
    let language = Language::from_name(format_name.trim()).ok_or_else(|| {
        let shown = if format_name.is_empty() {
            "nothing".to_string()
        } else {
            format!("`{format_name}`")
        };
        f.at_key(
            Severity::Error,
            "unknown-language",
            format!("`logic_format` is {shown}; expected `Splunk` or `snowflake`; skipped"),
            "logic_format",
        )
    })?;
    let mut rule = f.base_rule(SourceFormat::Armory, language, "title", "logic")?;
    for t in techniques(f) {
        let (tactic, name) = t.split_once(':').unwrap_or(("", t.as_str()));
        rule.tactics.push(tactic.trim().to_string());
        rule.technique_names.push(name.trim().to_string());
    }
    rule.technique_ids = f.list("technique_id");
    rule.data_categories = f.list("data_category");
    Ok(rule)
}

/// The `techniques` strings. An unquoted entry such as
/// `- execution:Command and Scripting Interpreter: PowerShell` is read by
/// YAML as a one-pair mapping; it is joined back into the text its author
/// wrote.
fn techniques(f: &mut Fields<'_>) -> Vec<String> {
    let Some(Value::Sequence(items)) = yaml::get(f.map, "techniques") else {
        return f.list("techniques");
    };
    let mut out = Vec::new();
    for item in items {
        let pair = item.as_mapping().filter(|m| m.len() == 1).and_then(|m| {
            let (k, v) = m.iter().next()?;
            Some(format!(
                "{}: {}",
                yaml::scalar_text(k)?,
                yaml::scalar_text(v)?
            ))
        });
        match pair {
            Some(text) => out.push(text),
            None => out.extend(f.flatten(item, "techniques")),
        }
    }
    out
}
