//! Bare search terms across the catalog, read from the terms each rule
//! document stores (`search_term`).
//!
//! Terms are counted by a spelling-independent key: Splunk matches bare
//! terms case-insensitively and a quoted `"netscan"` is the same term as
//! `netscan`, so the key drops one pair of quotes and lower-cases.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tantivy::collector::DocSetCollector;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

use super::{Catalog, CorpusCount, IndexError};
use crate::rule::Language;

/// One bare search term across the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct TermStat {
    /// The counting key (unquoted, lower-case).
    pub key: String,
    /// The spelling most rules use.
    pub term: String,
    /// Rules using it, by language.
    pub rules: CorpusCount,
    /// Their ids, sorted.
    pub rule_ids: Vec<String>,
}

/// The counting key of a term as written.
pub fn term_key(term: &str) -> String {
    let t = term.trim();
    let t = ['"', '\'']
        .iter()
        .find_map(|q| {
            (t.len() >= 2 && t.starts_with(*q) && t.ends_with(*q)).then(|| &t[1..t.len() - 1])
        })
        .unwrap_or(t);
    t.to_lowercase()
}

/// Counts one more rule of `lang`.
pub(crate) fn count_one(c: &mut CorpusCount, lang: Language) {
    c.total += 1;
    match lang {
        Language::Splunk => c.splunk += 1,
        Language::Kusto => c.kusto += 1,
        Language::Snowflake => c.snowflake += 1,
    }
}

impl Catalog {
    /// Every bare search term in the catalog with the rules using it,
    /// sorted by key.
    pub fn term_stats(&self) -> Result<Vec<TermStat>, IndexError> {
        let f = self.fields();
        let searcher = self.searcher();
        let q = TermQuery::new(
            Term::from_field_text(f.doc_type, "rule"),
            IndexRecordOption::Basic,
        );
        let mut addrs: Vec<_> = searcher.search(&q, &DocSetCollector)?.into_iter().collect();
        addrs.sort();
        struct Acc {
            rules: CorpusCount,
            ids: Vec<String>,
            spellings: HashMap<String, usize>,
        }
        let mut by_key: BTreeMap<String, Acc> = BTreeMap::new();
        for addr in addrs {
            let d: TantivyDocument = searcher.doc(addr)?;
            let terms: Vec<&str> = d
                .get_all(f.search_term)
                .filter_map(|v| v.as_str())
                .collect();
            if terms.is_empty() {
                continue;
            }
            let id = d
                .get_first(f.rule_id)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let lang = d
                .get_first(f.language)
                .and_then(|v| v.as_str())
                .and_then(Language::from_name)
                .ok_or_else(|| IndexError::Corrupt(format!("rule {id} without language")))?;
            let mut seen = std::collections::BTreeSet::new();
            for t in terms {
                let key = term_key(t);
                let acc = by_key.entry(key.clone()).or_insert_with(|| Acc {
                    rules: CorpusCount::default(),
                    ids: Vec::new(),
                    spellings: HashMap::new(),
                });
                *acc.spellings.entry(t.to_string()).or_default() += 1;
                // Two spellings of one term in a rule count the rule once.
                if seen.insert(key) {
                    count_one(&mut acc.rules, lang);
                    acc.ids.push(id.clone());
                }
            }
        }
        Ok(by_key
            .into_iter()
            .map(|(key, mut acc)| {
                acc.ids.sort();
                let term = acc
                    .spellings
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                    .map(|(t, _)| t)
                    .unwrap_or_else(|| key.clone());
                TermStat {
                    key,
                    term,
                    rules: acc.rules,
                    rule_ids: acc.ids,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_quotes_and_case() {
        assert_eq!(term_key("\"NetScan\""), "netscan");
        assert_eq!(term_key("netscan"), "netscan");
        assert_eq!(term_key("'x'"), "x");
        assert_eq!(term_key("\""), "\"");
        assert_eq!(term_key("TERM(EventCode=1)"), "term(eventcode=1)");
    }
}
