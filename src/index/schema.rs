//! The index schema and the handles of its fields.

use tantivy::schema::{Field, Schema, FAST, STORED, STRING, TEXT};

/// Handles of every field of the schema.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    /// `rule` or `indicator`.
    pub doc_type: Field,
    /// The rule's id (both kinds).
    pub rule_id: Field,
    /// `splunk`, `kusto` or `snowflake` (both kinds).
    pub language: Field,
    /// Rule title (searchable, stored).
    pub title: Field,
    /// Rule description.
    pub description: Field,
    /// The query text.
    pub logic: Field,
    /// Technique ids and names.
    pub technique: Field,
    /// Tactic names.
    pub tactic: Field,
    /// Data categories / sources / connectors.
    pub data_category: Field,
    /// The rule's file path and source repository.
    pub source: Field,
    /// Canonical field names of the rule's indicators (rule docs) or the
    /// indicator's field (indicator docs).
    pub field: Field,
    /// Canonical operators.
    pub op: Field,
    /// Indicator values as written.
    pub value: Field,
    /// Bare search terms.
    pub term: Field,
    /// The whole rule as JSON (rule docs).
    pub rule_json: Field,
    /// The indicator key (indicator docs): field, op, normalised value.
    pub key: Field,
    /// Technique ids as normalised (`T1059.001`), untokenised: exact
    /// technique search (rule docs).
    pub technique_id: Field,
    /// Technique ids and their parents (`T1059.001`, `T1059`): technique
    /// search with sub-technique roll-up (rule docs).
    pub technique_family: Field,
    /// Tactic names as spelling-independent keys (`commandandcontrol`).
    pub tactic_key: Field,
    /// One `field=value` token per indicator, canonical field and the
    /// value lower-cased without its quotes: `process_name:*rundll32*`
    /// searches (rule docs).
    pub indicator: Field,
    /// Bare search terms exactly as written, stored, one per distinct term
    /// (rule docs), for `terms`.
    pub search_term: Field,
}

impl Fields {
    /// Builds the schema and returns it with its field handles.
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let fields = Fields {
            doc_type: b.add_text_field("doc_type", STRING),
            rule_id: b.add_text_field("id", STRING | STORED),
            language: b.add_text_field("language", STRING | STORED | FAST),
            title: b.add_text_field("title", TEXT | STORED),
            description: b.add_text_field("description", TEXT),
            logic: b.add_text_field("logic", TEXT),
            technique: b.add_text_field("technique", TEXT),
            tactic: b.add_text_field("tactic", TEXT),
            data_category: b.add_text_field("data_category", TEXT),
            source: b.add_text_field("source", TEXT),
            field: b.add_text_field("field", STRING | STORED),
            op: b.add_text_field("op", STRING | STORED),
            value: b.add_text_field("value", TEXT | STORED),
            term: b.add_text_field("term", TEXT),
            rule_json: b.add_text_field("rule_json", STORED),
            key: b.add_text_field("key", STRING | STORED | FAST),
            technique_id: b.add_text_field("technique_id", STRING),
            technique_family: b.add_text_field("technique_family", STRING),
            tactic_key: b.add_text_field("tactic_key", STRING),
            indicator: b.add_text_field("indicator", STRING),
            search_term: b.add_text_field("search_term", STRING | STORED),
        };
        (b.build(), fields)
    }

    /// The handles for an opened index's schema.
    pub fn of(schema: &Schema) -> Result<Fields, tantivy::TantivyError> {
        let (expected, fields) = Fields::schema();
        if expected != *schema {
            return Err(tantivy::TantivyError::SchemaError(
                "index was built by another version of ruledex; rebuild it".into(),
            ));
        }
        Ok(fields)
    }
}
