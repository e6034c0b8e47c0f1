//! Typed access to a rule file's top-level keys, shared by the three
//! format mappers: each getter tolerates the shapes real files use and
//! records a warning, never a panic, for shapes it cannot use.

use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::yaml;
use crate::diag::{Diagnostic, Severity};
use crate::rule::{Language, Rule, SourceFormat};

/// One parsed rule document plus the diagnostics found while reading it.
pub(crate) struct Fields<'a> {
    /// The document's top-level mapping.
    pub map: &'a Mapping,
    /// The decoded file text (spans index it).
    pub text: &'a str,
    /// The file, for diagnostics.
    pub path: &'a Path,
    /// Warnings gathered so far.
    pub diags: Vec<Diagnostic>,
}

impl<'a> Fields<'a> {
    /// Wraps a parsed document.
    pub fn new(map: &'a Mapping, text: &'a str, path: &'a Path) -> Self {
        Fields {
            map,
            text,
            path,
            diags: Vec::new(),
        }
    }

    /// A diagnostic pointing at top-level key `key` (or at no span).
    pub fn at_key(&self, severity: Severity, code: &str, message: String, key: &str) -> Diagnostic {
        Diagnostic::file(
            severity,
            code,
            message,
            self.path,
            yaml::top_level_key_span(self.text, key),
        )
    }

    /// Whether the document has top-level key `key`.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// A scalar value as text; `None` when absent or null. A list or
    /// mapping where a scalar belongs is warned about and ignored.
    pub fn string(&mut self, key: &str) -> Option<String> {
        let v = yaml::get(self.map, key)?;
        if v.is_null() {
            return None;
        }
        match yaml::scalar_text(v) {
            Some(s) => Some(s),
            None => {
                let d = self.at_key(
                    Severity::Warning,
                    "unexpected-type",
                    format!("`{key}` should be a single value; ignored"),
                    key,
                );
                self.diags.push(d);
                None
            }
        }
    }

    /// A list of scalars, flattened from whatever nesting the file used
    /// (a bare string and null also occur).
    pub fn list(&mut self, key: &str) -> Vec<String> {
        match yaml::get(self.map, key) {
            Some(v) => self.flatten(v, key),
            None => Vec::new(),
        }
    }

    /// Flattens `v` (found under `key`), warning about nested mappings.
    pub fn flatten(&mut self, v: &Value, key: &str) -> Vec<String> {
        let (items, odd) = yaml::flatten_scalars(v);
        if odd > 0 {
            let d = self.at_key(
                Severity::Warning,
                "unexpected-type",
                format!(
                    "`{key}` holds {odd} mapping(s) where values were expected; they are ignored"
                ),
                key,
            );
            self.diags.push(d);
        }
        items
    }

    /// The rule id: a string as written, or a number's source spelling
    /// (so `18093.30` is not turned into `18093.3`).
    pub fn id(&mut self) -> Result<String, Diagnostic> {
        let raw = match yaml::get(self.map, "id") {
            Some(Value::Number(_)) => {
                yaml::top_level_raw_value(self.text, "id").map(str::to_string)
            }
            _ => None,
        };
        let id = raw
            .or_else(|| self.string("id"))
            .map(|s| s.trim().to_string());
        match id {
            Some(id) if !id.is_empty() => Ok(id),
            _ => Err(Diagnostic::file(
                Severity::Error,
                "missing-id",
                "rule has no `id`; skipped",
                self.path,
                yaml::top_level_key_span(self.text, "id"),
            )),
        }
    }

    /// The query text under `key`, exactly as the YAML scalar holds it.
    pub fn logic(&mut self, key: &str) -> Result<String, Diagnostic> {
        match self.string(key) {
            Some(s) => Ok(s),
            None => Err(self.at_key(
                Severity::Error,
                "missing-logic",
                format!("rule has no query text in `{key}`; skipped"),
                key,
            )),
        }
    }

    /// A rule with the fields every format shares filled in; the caller
    /// adds the format-specific lists.
    pub fn base_rule(
        &mut self,
        format: SourceFormat,
        language: Language,
        title_key: &str,
        logic_key: &str,
    ) -> Result<Rule, Diagnostic> {
        let id = self.id()?;
        let logic = self.logic(logic_key)?;
        let title = self.string(title_key).unwrap_or_default();
        if title.trim().is_empty() {
            let d = self.at_key(
                Severity::Warning,
                "missing-title",
                format!("rule has no `{title_key}`"),
                title_key,
            );
            self.diags.push(d);
        }
        Ok(Rule {
            id,
            title,
            description: self.string("description").unwrap_or_default(),
            language,
            logic,
            format,
            path: self.path.to_path_buf(),
            technique_ids: Vec::new(),
            tactics: Vec::new(),
            technique_names: Vec::new(),
            data_categories: Vec::new(),
            references: self.list("references"),
            severity: None,
            kind: None,
            yaml: self.text.to_string(),
        })
    }
}
