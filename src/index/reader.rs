//! Reading the index: rules by id, and corpus counts of indicator keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tantivy::collector::{Count, DocSetCollector};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{Index, IndexReader, Searcher, TantivyDocument, Term};

use super::{Fields, IndexError, META_FILE, TANTIVY_DIR};
use crate::rule::{Language, Rule};

/// How many rules carry an indicator key, split by language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CorpusCount {
    /// All languages.
    pub total: u64,
    /// Splunk SPL rules.
    pub splunk: u64,
    /// Kusto rules.
    pub kusto: u64,
    /// Snowflake SQL rules.
    pub snowflake: u64,
}

impl CorpusCount {
    fn add(&mut self, lang: Language, n: u64) {
        self.total += n;
        match lang {
            Language::Splunk => self.splunk += n,
            Language::Kusto => self.kusto += n,
            Language::Snowflake => self.snowflake += n,
        }
    }

    fn remove_one(&mut self, lang: Language) {
        self.total = self.total.saturating_sub(1);
        let slot = match lang {
            Language::Splunk => &mut self.splunk,
            Language::Kusto => &mut self.kusto,
            Language::Snowflake => &mut self.snowflake,
        };
        *slot = slot.saturating_sub(1);
    }

    /// `237 (splunk 224, kusto 13)`: the non-zero languages only.
    pub fn display(&self) -> String {
        let parts: Vec<String> = [
            ("splunk", self.splunk),
            ("kusto", self.kusto),
            ("snowflake", self.snowflake),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
        if parts.is_empty() {
            self.total.to_string()
        } else {
            format!("{} ({})", self.total, parts.join(", "))
        }
    }
}

/// One indicator key across the catalog, for `indicators` listings.
#[derive(Clone, Debug, Serialize)]
pub struct IndicatorStat {
    /// The key (field, op, normalised value).
    pub key: String,
    /// Canonical field.
    pub field: String,
    /// Operator as shown.
    pub op: String,
    /// The value as the first rule carrying it spells it.
    pub value: String,
    /// Rules carrying it (all of them: no rule is "other" here).
    pub rules: CorpusCount,
    /// Their ids, sorted.
    pub rule_ids: Vec<String>,
}

/// An opened index.
pub struct Catalog {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    dir: PathBuf,
}

impl Catalog {
    /// Opens the index built in `dir` (the `--index` directory).
    pub fn open(dir: &Path) -> Result<Catalog, IndexError> {
        let live = dir.join(TANTIVY_DIR);
        if !live.join("meta.json").is_file() {
            return Err(IndexError::Missing(dir.to_path_buf()));
        }
        let index = Index::open_in_dir(&live)?;
        let fields = Fields::of(&index.schema())?;
        let reader = index.reader()?;
        Ok(Catalog {
            index,
            reader,
            fields,
            dir: dir.to_path_buf(),
        })
    }

    /// The field handles.
    pub fn fields(&self) -> Fields {
        self.fields
    }

    /// The underlying tantivy index (for query parsing).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// A searcher over the current index.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// The build metadata stored beside the index.
    pub fn meta(&self) -> Result<serde_json::Value, IndexError> {
        let path = self.dir.join(TANTIVY_DIR).join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| IndexError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| IndexError::Corrupt(e.to_string()))
    }

    fn term(&self, field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::Basic,
        ))
    }

    fn all_of(&self, clauses: Vec<Box<dyn Query>>) -> BooleanQuery {
        BooleanQuery::new(clauses.into_iter().map(|q| (Occur::Must, q)).collect())
    }

    /// The rule with this id, if indexed.
    pub fn rule(&self, id: &str) -> Result<Option<Rule>, IndexError> {
        let q = self.all_of(vec![
            self.term(self.fields.doc_type, "rule"),
            self.term(self.fields.rule_id, id),
        ]);
        let searcher = self.searcher();
        let docs = searcher.search(&q, &DocSetCollector)?;
        match docs.into_iter().min() {
            Some(addr) => self.rule_at(&searcher, addr).map(Some),
            None => Ok(None),
        }
    }

    /// Decodes the rule stored at `addr`.
    pub fn rule_at(
        &self,
        searcher: &Searcher,
        addr: tantivy::DocAddress,
    ) -> Result<Rule, IndexError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let json = doc
            .get_first(self.fields.rule_json)
            .and_then(|v| v.as_str())
            .ok_or_else(|| IndexError::Corrupt("rule document without rule_json".into()))?;
        serde_json::from_str(json).map_err(|e| IndexError::Corrupt(e.to_string()))
    }

    /// Every indexed rule, sorted by language then id.
    pub fn rules(&self) -> Result<Vec<Rule>, IndexError> {
        let searcher = self.searcher();
        let q = self.term(self.fields.doc_type, "rule");
        let mut addrs: Vec<_> = searcher
            .search(&*q, &DocSetCollector)?
            .into_iter()
            .collect();
        addrs.sort();
        let mut rules = addrs
            .into_iter()
            .map(|a| self.rule_at(&searcher, a))
            .collect::<Result<Vec<_>, _>>()?;
        rules.sort_by(|a, b| (a.language, &a.id).cmp(&(b.language, &b.id)));
        Ok(rules)
    }

    /// How many rules carry `key`, by language.
    pub fn count(&self, key: &str) -> Result<CorpusCount, IndexError> {
        let searcher = self.searcher();
        let mut c = CorpusCount::default();
        for lang in Language::ALL {
            let q = self.all_of(vec![
                self.term(self.fields.doc_type, "indicator"),
                self.term(self.fields.key, key),
                self.term(self.fields.language, lang.as_str()),
            ]);
            c.add(lang, searcher.search(&q, &Count)? as u64);
        }
        Ok(c)
    }

    /// How many rules *other than* `rule` (of language `lang`, which
    /// carries the key itself) carry `key`.
    pub fn corpus_count(&self, key: &str, lang: Language) -> Result<CorpusCount, IndexError> {
        let mut c = self.count(key)?;
        c.remove_one(lang);
        Ok(c)
    }

    /// Every indicator key in the catalog with the rules that carry it.
    pub fn indicator_stats(&self) -> Result<Vec<IndicatorStat>, IndexError> {
        let searcher = self.searcher();
        let q = self.term(self.fields.doc_type, "indicator");
        let mut addrs: Vec<_> = searcher
            .search(&*q, &DocSetCollector)?
            .into_iter()
            .collect();
        addrs.sort();
        let mut by_key: BTreeMap<String, IndicatorStat> = BTreeMap::new();
        let text = |d: &TantivyDocument, f| {
            d.get_first(f)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        for addr in addrs {
            let d: TantivyDocument = searcher.doc(addr)?;
            let key = text(&d, self.fields.key);
            let lang = Language::from_name(&text(&d, self.fields.language))
                .ok_or_else(|| IndexError::Corrupt("indicator without language".into()))?;
            let stat = by_key.entry(key.clone()).or_insert_with(|| IndicatorStat {
                key,
                field: text(&d, self.fields.field),
                op: text(&d, self.fields.op),
                value: text(&d, self.fields.value),
                rules: CorpusCount::default(),
                rule_ids: Vec::new(),
            });
            stat.rules.add(lang, 1);
            stat.rule_ids.push(text(&d, self.fields.rule_id));
        }
        let mut stats: Vec<_> = by_key.into_values().collect();
        for s in &mut stats {
            s.rule_ids.sort();
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_non_zero_languages() {
        let mut c = CorpusCount::default();
        c.add(Language::Splunk, 224);
        c.add(Language::Kusto, 13);
        assert_eq!(c.display(), "237 (splunk 224, kusto 13)");
        c.remove_one(Language::Splunk);
        assert_eq!(c.display(), "236 (splunk 223, kusto 13)");
        assert_eq!(CorpusCount::default().display(), "0");
    }
}
