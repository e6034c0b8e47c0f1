//! Writes a fresh index and swaps it in atomically.
//!
//! The new index is built in a sibling temporary directory and renamed into
//! place only after its commit succeeded, so a failed or interrupted build
//! leaves the previous index readable.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tantivy::{Index, IndexWriter, TantivyDocument};

use super::{Fields, IndexError, META_FILE, TANTIVY_DIR};
use crate::model::{Indicator, SearchTerm};
use crate::rule::Rule;

/// A rule with what the front-end read from it: what the index stores.
#[derive(Clone, Debug)]
pub struct IndexedRule {
    /// The rule.
    pub rule: Rule,
    /// Its indicators (any order; keys are de-duplicated per rule).
    pub indicators: Vec<Indicator>,
    /// Its bare search terms.
    pub terms: Vec<SearchTerm>,
}

/// Writes `rules` and the build's `meta` (stored as JSON beside the
/// tantivy files) into `dir`, replacing any index already there.
pub fn write_index(
    dir: &Path,
    rules: &[IndexedRule],
    meta: &serde_json::Value,
) -> Result<(), IndexError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IndexError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(".building-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;

    let (schema, f) = Fields::schema();
    let index = Index::create_in_dir(&tmp, schema)?;
    // Two threads match the machines we target; 100 MB each keeps the
    // whole catalog in one segment per thread.
    let mut writer: IndexWriter = index.writer_with_num_threads(2, 200_000_000)?;
    for r in rules {
        writer.add_document(rule_doc(&f, r)?)?;
        let lang = r.rule.language.as_str();
        let mut keys = BTreeSet::new();
        for ind in &r.indicators {
            if !keys.insert(ind.key.as_str()) {
                continue;
            }
            let mut d = TantivyDocument::default();
            d.add_text(f.doc_type, "indicator");
            d.add_text(f.rule_id, &r.rule.id);
            d.add_text(f.language, lang);
            d.add_text(f.key, &ind.key);
            d.add_text(f.field, &ind.field);
            d.add_text(f.op, &ind.kind);
            d.add_text(f.value, &ind.value);
            writer.add_document(d)?;
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;

    let meta_tmp = tmp.join(META_FILE);
    let text = serde_json::to_string(meta).map_err(|e| IndexError::Corrupt(e.to_string()))?;
    std::fs::write(&meta_tmp, text).map_err(io(&meta_tmp))?;

    swap_in(dir, &tmp)
}

/// Moves the freshly built `tmp` into `dir/tantivy`, removing the old one.
fn swap_in(dir: &Path, tmp: &Path) -> Result<(), IndexError> {
    let live: PathBuf = dir.join(TANTIVY_DIR);
    let old = dir.join(format!(".old-{}", std::process::id()));
    if live.exists() {
        std::fs::rename(&live, &old).map_err(|source| IndexError::Io {
            path: live.clone(),
            source,
        })?;
    }
    std::fs::rename(tmp, &live).map_err(|source| IndexError::Io {
        path: live.clone(),
        source,
    })?;
    if old.exists() {
        // A leftover old index wastes space but harms nothing.
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

fn rule_doc(f: &Fields, r: &IndexedRule) -> Result<TantivyDocument, IndexError> {
    let rule = &r.rule;
    let mut d = TantivyDocument::default();
    d.add_text(f.doc_type, "rule");
    d.add_text(f.rule_id, &rule.id);
    d.add_text(f.language, rule.language.as_str());
    d.add_text(f.title, &rule.title);
    d.add_text(f.description, &rule.description);
    d.add_text(f.logic, &rule.logic);
    for t in rule.technique_ids.iter().chain(&rule.technique_names) {
        d.add_text(f.technique, t);
    }
    for t in &rule.tactics {
        d.add_text(f.tactic, t);
    }
    for c in &rule.data_categories {
        d.add_text(f.data_category, c);
    }
    d.add_text(f.source, rule.path.to_string_lossy());
    d.add_text(f.source, rule.format.repository());
    for ind in &r.indicators {
        d.add_text(f.field, &ind.field);
        d.add_text(f.op, &ind.kind);
        d.add_text(f.value, &ind.value);
    }
    for t in &r.terms {
        d.add_text(f.term, &t.term);
    }
    let (exact, family) = super::search::technique_keys(&rule.technique_ids);
    for id in &exact {
        d.add_text(f.technique_id, id);
    }
    for id in &family {
        d.add_text(f.technique_family, id);
    }
    for t in &rule.tactics {
        d.add_text(f.tactic_key, crate::attack::ids::name_key(t));
    }
    let mut tokens = BTreeSet::new();
    for ind in &r.indicators {
        tokens.insert(super::search::indicator_token(&ind.field, &ind.value));
    }
    for t in tokens {
        d.add_text(f.indicator, t);
    }
    let mut terms = BTreeSet::new();
    for t in &r.terms {
        if terms.insert(t.term.as_str()) {
            d.add_text(f.search_term, &t.term);
        }
    }
    let json = serde_json::to_string(rule).map_err(|e| IndexError::Corrupt(e.to_string()))?;
    d.add_text(f.rule_json, json);
    Ok(d)
}
