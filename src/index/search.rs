//! Searching the catalog: tantivy query syntax over the rule documents,
//! rewritten for what detection engineers type.
//!
//! The user's query is parsed with tantivy's grammar and its AST rewritten
//! before tantivy turns it into a query:
//!
//! - **Indicator fields.** A field name that is not a search field
//!   (`process_name:*rundll32*`, `Image:…`, `indicator.source:…`) means "an
//!   indicator on that field (canonicalised by [`canonical_field`]) whose
//!   value matches". Each rule document holds one `field=value` token per
//!   indicator, the value lower-cased and unquoted, so the test is one term
//!   or one regex over the `indicator` field. Values match whole: use
//!   `*…*` for "contains".
//! - **Wildcards.** `*` and `?` in a word become a regex over the terms of
//!   the field (tantivy's grammar alone would search them literally).
//! - **Techniques.** `technique:T1059` searches the ids of the rule and
//!   the parents of its sub-techniques, so it finds `T1059.001` rules;
//!   with `exact` only rules naming `T1059` itself. Names stay full-text.
//! - **Case.** `language:Kusto`, `tactic:CommandAndControl` and
//!   `technique:t1046` match whatever the case or spelling.
//! - `field:EventID` means the canonical field `EventCode`.
//!
//! Bare words search title, description, logic, techniques, tactics, data
//! categories, source, indicator values, search terms and ids, and every
//! word must match (conjunction by default).
//!
//! A query of exclusions only (`NOT netscan`) means every rule but those.
//!
//! # Limitations
//!
//! - Ranges on indicator fields compare the values as text:
//!   `EventCode:[4000 TO 5000]` also holds `45`.
//! - A wildcard in a full-text field matches single tokens: `*\rundll32.exe`
//!   is searched as `rundll32` and `exe` in any order.
//! - Revoked technique ids are not remapped here (that needs the ATT&CK
//!   bundle; `coverage` does it).

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Serialize;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, QueryParserError, TermQuery};
use tantivy::query_grammar::{
    self, Delimiter, UserInputAst, UserInputBound, UserInputLeaf, UserInputLiteral,
};
use tantivy::schema::Value as _;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{TantivyDocument, Term};

use super::{Catalog, IndexError};
use crate::attack::ids::{embedded_ids, name_key, normalize_id, parent_id};
use crate::model::{canonical_field, indicators};
use crate::rule::Rule;

/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 160;

/// The searchable fields a user may name, with a one-line meaning each
/// (shown in errors and `--help`).
pub const SEARCH_FIELDS: &[(&str, &str)] = &[
    ("title", "rule title"),
    ("description", "rule description"),
    ("logic", "the query text"),
    ("technique", "ATT&CK technique ids (with roll-up) and names"),
    ("tactic", "ATT&CK tactics, any spelling"),
    ("data_category", "data categories, sources and connectors"),
    ("language", "splunk, kusto or snowflake"),
    ("source", "rule file path and source repository"),
    ("field", "canonical field names of the rule's indicators"),
    ("op", "indicator operators (eq, match, contains…)"),
    ("value", "indicator values"),
    ("term", "bare search terms"),
    ("id", "rule id"),
];

/// What to search and how.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    /// At most this many hits are returned (all are counted).
    pub limit: usize,
    /// `technique:T1059` finds only rules naming `T1059` itself.
    pub exact: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            exact: false,
        }
    }
}

/// A piece of a rule's text with the matching parts marked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snippet {
    /// Where the text comes from: `title`, `description`, `logic` or
    /// `indicator`.
    pub field: String,
    /// The text, whitespace flattened to spaces.
    pub text: String,
    /// Byte ranges `[start, end)` of `text` that matched, in order.
    pub highlighted: Vec<Range<usize>>,
}

impl Snippet {
    /// The text with each highlighted range wrapped in `open` and `close`.
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 8);
        let mut at = 0;
        for r in &self.highlighted {
            // Ranges come from char boundaries of `text`; `get` keeps a
            // bad range from panicking all the same.
            if r.start < at {
                continue;
            }
            let (Some(before), Some(hit)) = (self.text.get(at..r.start), self.text.get(r.clone()))
            else {
                continue;
            };
            out.push_str(before);
            out.push_str(open);
            out.push_str(hit);
            out.push_str(close);
            at = r.end;
        }
        out.push_str(self.text.get(at..).unwrap_or_default());
        out
    }
}

/// An indicator of a hit that the query's indicator clauses matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatchedIndicator {
    /// Canonical field.
    pub field: String,
    /// Operator as shown on the rule page.
    pub op: String,
    /// Value as written.
    pub value: String,
}

/// One search result.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The rule.
    pub rule: Rule,
    /// tantivy's BM25 score (higher is better).
    pub score: f32,
    /// The title's matching words (byte ranges into the title).
    pub title_highlighted: Vec<Range<usize>>,
    /// The best matching snippet of description or logic (the title when
    /// neither matched).
    pub snippet: Snippet,
    /// Indicators the query's indicator-field clauses matched.
    pub indicators: Vec<MatchedIndicator>,
    /// Those indicators as `field op value` texts with the query's words
    /// highlighted.
    pub indicator_snippets: Vec<Snippet>,
}

/// The ranked hits of a search.
#[derive(Clone, Debug)]
pub struct SearchResults {
    /// How many rules matched in all.
    pub total: usize,
    /// The best of them, best first, at most the limit.
    pub hits: Vec<Hit>,
}

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query does not parse; `pos` is a byte offset into `query`.
    #[error("bad query: {message}")]
    Syntax {
        /// The query as given.
        query: String,
        /// Byte offset of the problem.
        pos: usize,
        /// What is wrong.
        message: String,
    },
    /// A field name that is neither a search field nor an indicator field
    /// of any indexed rule.
    #[error(
        "unknown field `{name}`: not a search field, and no indexed rule has an indicator on it"
    )]
    FieldUnknown {
        /// The query as given.
        query: String,
        /// The field as written.
        name: String,
        /// Byte offset of the field name, when found.
        pos: Option<usize>,
    },
    /// tantivy refused the rewritten query.
    #[error("bad query: {0}")]
    Query(#[from] QueryParserError),
    /// The index could not be read.
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl SearchError {
    /// The error with the query reprinted and a caret under the problem,
    /// for the terminal.
    pub fn render(&self) -> String {
        let (query, pos) = match self {
            SearchError::Syntax { query, pos, .. } => (query, Some(*pos)),
            SearchError::FieldUnknown { query, pos, .. } => (query, *pos),
            _ => return self.to_string(),
        };
        let mut out = self.to_string();
        if let Some(pos) = pos {
            let col = query.get(..pos).map_or(pos, |s| s.chars().count()) + 1;
            out = format!(
                "{out} (column {col})\n  {query}\n  {}^",
                " ".repeat(col - 1)
            );
        }
        if matches!(self, SearchError::FieldUnknown { .. }) {
            let names: Vec<&str> = SEARCH_FIELDS.iter().map(|(n, _)| *n).collect();
            out.push_str(&format!("\n  search fields: {}", names.join(", ")));
        }
        out
    }
}

/// The `indicator` token of one indicator: canonical field, `=`, and the
/// value lower-cased without its quotes.
pub fn indicator_token(field: &str, value: &str) -> String {
    format!("{field}={}", unquote(value).to_lowercase())
}

/// `"x"`, `'x'`, `` `x` `` and KQL `@"x"` → `x`; anything else unchanged.
fn unquote(v: &str) -> &str {
    let v = v.trim();
    let v = v
        .strip_prefix('@')
        .filter(|r| r.starts_with(['"', '\'']))
        .unwrap_or(v);
    for q in ['"', '\'', '`'] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// A rule's technique ids for the index: `(exact, family)`.
///
/// Exact ids are normalised (`T1059.001`); entries holding ids inside text
/// contribute those; anything else is kept upper-cased as written, so a
/// malformed id is still findable. The family adds each sub-technique's
/// parent.
pub fn technique_keys(raw_ids: &[String]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut exact = BTreeSet::new();
    for raw in raw_ids {
        match normalize_id(raw) {
            Ok(id) => {
                exact.insert(id);
            }
            Err(_) => {
                let found = embedded_ids(raw);
                if found.is_empty() {
                    let t = raw.trim();
                    if !t.is_empty() {
                        exact.insert(t.to_uppercase());
                    }
                }
                exact.extend(found);
            }
        }
    }
    let mut family = exact.clone();
    for id in &exact {
        if normalize_id(id).is_ok() {
            if let Some(p) = parent_id(id) {
                family.insert(p.to_string());
            }
        }
    }
    (exact, family)
}

/// Whether `c` is a glob wildcard.
fn is_wild(c: char) -> bool {
    c == '*' || c == '?'
}

/// A glob (`*` any run, `?` one char) as a whole-term regex.
fn glob_regex(glob: &str) -> String {
    let mut out = String::new();
    let mut lit = [0u8; 4];
    for c in glob.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => out.push_str(&regex::escape(c.encode_utf8(&mut lit))),
        }
    }
    out
}

/// How a named field is searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Tokenised, lower-cased text.
    Text,
    /// One untokenised term per value.
    Raw,
}

/// Rewrites the user's AST for the schema; collects what the highlighter
/// needs.
struct Rewriter<'a> {
    catalog: &'a Catalog,
    query: &'a str,
    exact: bool,
    /// Indicator fields present in the index, loaded on first need.
    known: Option<BTreeSet<String>>,
    /// Literal words of the query (lower-case), for highlighting.
    needles: BTreeSet<String>,
    /// Whole-token regexes over `indicator` tokens, for listing matched
    /// indicators.
    indicator_res: Vec<regex::Regex>,
}

/// The full-text fields bare words search.
const TEXT_DEFAULTS: &[&str] = &[
    "title",
    "description",
    "logic",
    "technique",
    "tactic",
    "data_category",
    "source",
    "value",
    "term",
];

impl<'a> Rewriter<'a> {
    fn kind(name: &str) -> Option<Kind> {
        match name {
            "title" | "description" | "logic" | "technique" | "tactic" | "data_category"
            | "source" | "value" | "term" => Some(Kind::Text),
            "id" | "language" | "field" | "op" | "technique_id" | "technique_family"
            | "tactic_key" | "indicator" | "search_term" => Some(Kind::Raw),
            _ => None,
        }
    }

    fn ast(&mut self, ast: UserInputAst) -> Result<UserInputAst, SearchError> {
        Ok(match ast {
            UserInputAst::Clause(children) => {
                let mut children: Vec<(Option<Occur>, UserInputAst)> = children
                    .into_iter()
                    .map(|(occur, child)| Ok((occur, self.ast(child)?)))
                    .collect::<Result<_, SearchError>>()?;
                // tantivy reads `a AND NOT b` as `+a +(-b)`, and a clause
                // of exclusions alone matches nothing; it means "every
                // rule but", so say so.
                if !children.is_empty() && children.iter().all(|(o, _)| *o == Some(Occur::MustNot))
                {
                    children.push((Some(Occur::Must), leaf_ast(UserInputLeaf::All)));
                }
                UserInputAst::Clause(children)
            }
            UserInputAst::Boost(inner, boost) => {
                UserInputAst::Boost(Box::new(self.ast(*inner)?), boost)
            }
            UserInputAst::Leaf(leaf) => self.leaf(*leaf)?,
        })
    }

    fn leaf(&mut self, leaf: UserInputLeaf) -> Result<UserInputAst, SearchError> {
        match leaf {
            UserInputLeaf::Literal(lit) => self.literal(lit),
            UserInputLeaf::Exists { field } => self.exists(&field),
            UserInputLeaf::Regex {
                field: Some(name),
                pattern,
            } => match self.resolve(&name)? {
                Target::Indicator(f) => {
                    let pattern = format!("{}={pattern}", regex::escape(&f));
                    self.note_indicator_regex(&pattern);
                    Ok(regex_leaf("indicator", pattern))
                }
                Target::Field(f) => Ok(regex_leaf(f, pattern)),
            },
            UserInputLeaf::Set {
                field: Some(name),
                elements,
            } => match self.resolve(&name)? {
                Target::Indicator(f) => {
                    let elements: Vec<String> =
                        elements.iter().map(|e| indicator_token(&f, e)).collect();
                    for e in &elements {
                        self.note_indicator_regex(&regex::escape(e));
                    }
                    Ok(leaf_ast(UserInputLeaf::Set {
                        field: Some("indicator".into()),
                        elements,
                    }))
                }
                Target::Field(f) => {
                    let elements = elements
                        .iter()
                        .map(|e| normalise_value(f, e, self.exact).1)
                        .collect();
                    Ok(leaf_ast(UserInputLeaf::Set {
                        field: Some(f.to_string()),
                        elements,
                    }))
                }
            },
            UserInputLeaf::Range {
                field: Some(name),
                lower,
                upper,
            } => match self.resolve(&name)? {
                Target::Indicator(f) => {
                    // Tokens sort by field then value, so a range of values
                    // is a range of tokens once both ends are bounded by
                    // the field.
                    let bound = |b: UserInputBound, open: &str| match b {
                        UserInputBound::Inclusive(v) => {
                            UserInputBound::Inclusive(indicator_token(&f, &v))
                        }
                        UserInputBound::Exclusive(v) => {
                            UserInputBound::Exclusive(indicator_token(&f, &v))
                        }
                        UserInputBound::Unbounded => {
                            UserInputBound::Inclusive(format!("{f}{open}"))
                        }
                    };
                    Ok(leaf_ast(UserInputLeaf::Range {
                        field: Some("indicator".into()),
                        lower: bound(lower, "="),
                        upper: bound(upper, ">"),
                    }))
                }
                Target::Field(f) => Ok(leaf_ast(UserInputLeaf::Range {
                    field: Some(f.to_string()),
                    lower,
                    upper,
                })),
            },
            other => Ok(leaf_ast(other)),
        }
    }

    fn exists(&mut self, name: &str) -> Result<UserInputAst, SearchError> {
        Ok(match self.resolve(name)? {
            Target::Indicator(f) => {
                let pattern = format!("{}=.*", regex::escape(&f));
                self.note_indicator_regex(&pattern);
                regex_leaf("indicator", pattern)
            }
            Target::Field(f) => regex_leaf(f, ".*".into()),
        })
    }

    fn literal(&mut self, lit: UserInputLiteral) -> Result<UserInputAst, SearchError> {
        let wild = lit.delimiter == Delimiter::None && lit.phrase.chars().any(is_wild);
        self.note_needles(&lit.phrase);
        let Some(name) = lit.field_name.clone() else {
            if !wild {
                return Ok(leaf_ast(UserInputLeaf::Literal(lit)));
            }
            let per_field = TEXT_DEFAULTS
                .iter()
                .filter_map(|f| text_wildcard(f, &lit.phrase))
                .collect::<Vec<_>>();
            return Ok(any_of(per_field));
        };
        match self.resolve(&name)? {
            Target::Indicator(f) => {
                let token = indicator_token(&f, &lit.phrase);
                if wild || lit.prefix {
                    let mut pattern = glob_regex(&token);
                    if lit.prefix {
                        pattern.push_str(".*");
                    }
                    self.note_indicator_regex(&pattern);
                    Ok(regex_leaf("indicator", pattern))
                } else {
                    self.note_indicator_regex(&regex::escape(&token));
                    Ok(literal_ast("indicator", token, lit))
                }
            }
            Target::Field("tactic") => {
                // The text field finds `command and control` in any
                // spelling with spaces or dashes; the key finds
                // `CommandAndControl`.
                let key = name_key(&lit.phrase);
                let text = self.field_literal("tactic", lit.clone(), wild);
                if key.is_empty() || wild {
                    return Ok(text);
                }
                Ok(any_of(vec![text, literal_ast("tactic_key", key, lit)]))
            }
            Target::Field(f) => Ok(self.field_literal(f, lit, wild)),
        }
    }

    /// A literal on a schema field, values normalised for it.
    fn field_literal(
        &mut self,
        f: &'static str,
        lit: UserInputLiteral,
        wild: bool,
    ) -> UserInputAst {
        let (f, phrase) = normalise_value(f, &lit.phrase, self.exact);
        match Self::kind(f) {
            Some(Kind::Text) if wild => {
                text_wildcard(f, &phrase).unwrap_or_else(|| leaf_ast(UserInputLeaf::All))
            }
            Some(Kind::Raw) if wild => regex_leaf(f, glob_regex(&phrase)),
            _ => literal_ast(f, phrase, lit),
        }
    }

    /// What a field name in the query refers to.
    fn resolve(&mut self, name: &str) -> Result<Target, SearchError> {
        if let Some(f) = schema_name(name) {
            return Ok(Target::Field(f));
        }
        let bare = name.strip_prefix("indicator.").unwrap_or(name);
        let canonical = canonical_field(bare);
        let known = match &self.known {
            Some(k) => k,
            None => {
                let k = self
                    .catalog
                    .indicator_fields()
                    .map_err(SearchError::Index)?;
                self.known.insert(k)
            }
        };
        if known.contains(&canonical) {
            return Ok(Target::Indicator(canonical));
        }
        if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(&canonical)) {
            return Ok(Target::Indicator(k.clone()));
        }
        Err(SearchError::FieldUnknown {
            query: self.query.to_string(),
            name: name.to_string(),
            pos: field_position(self.query, name),
        })
    }

    fn note_needles(&mut self, phrase: &str) {
        for piece in phrase.split(|c: char| is_wild(c) || c.is_whitespace()) {
            let p = piece.trim_matches(|c: char| !c.is_alphanumeric());
            if p.chars().count() >= 2 {
                self.needles.insert(p.to_lowercase());
            }
        }
    }

    fn note_indicator_regex(&mut self, pattern: &str) {
        if let Ok(re) = regex::Regex::new(&format!("^(?s:{pattern})$")) {
            self.indicator_res.push(re);
        }
    }
}

/// A rewritten query with what the highlighter needs.
struct Prepared {
    query: BooleanQuery,
    needles: BTreeSet<String>,
    indicator_res: Vec<regex::Regex>,
}

/// Where a field name of the query leads.
enum Target {
    /// A schema field.
    Field(&'static str),
    /// An indicator field (canonical name).
    Indicator(String),
}

/// The schema field a user-facing name means, if any.
fn schema_name(name: &str) -> Option<&'static str> {
    let all = [
        "title",
        "description",
        "logic",
        "technique",
        "tactic",
        "data_category",
        "language",
        "source",
        "field",
        "op",
        "value",
        "term",
        "id",
        "technique_id",
        "technique_family",
        "tactic_key",
        "indicator",
        "search_term",
    ];
    all.into_iter().find(|f| *f == name)
}

/// The field and value to search for `value` written against field `f`:
/// case and spelling folded where the index folds them.
fn normalise_value(f: &'static str, value: &str, exact: bool) -> (&'static str, String) {
    match f {
        "language" => (f, value.to_lowercase()),
        "field" => (f, canonical_field(value)),
        "technique" if looks_like_technique_id(value) => (
            if exact {
                "technique_id"
            } else {
                "technique_family"
            },
            value.trim().to_uppercase(),
        ),
        "technique_id" | "technique_family" => (f, value.trim().to_uppercase()),
        "tactic_key" => (f, name_key(value)),
        _ => (f, value.to_string()),
    }
}

/// `T1059`, `t1059.001`, `T1059*`: an id (or id glob) rather than a name.
fn looks_like_technique_id(v: &str) -> bool {
    let v = v.trim();
    let mut chars = v.chars();
    matches!(chars.next(), Some('t' | 'T'))
        && v.len() >= 2
        && chars.all(|c| c.is_ascii_digit() || c == '.' || is_wild(c))
}

/// Byte offset of `name:` in the query, when it occurs as a field prefix.
fn field_position(query: &str, name: &str) -> Option<usize> {
    let pat = format!("{name}:");
    query.match_indices(&pat).map(|(i, _)| i).find(|&i| {
        query[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "(+-!".contains(c))
    })
}

fn leaf_ast(leaf: UserInputLeaf) -> UserInputAst {
    UserInputAst::Leaf(Box::new(leaf))
}

fn regex_leaf(field: &str, pattern: String) -> UserInputAst {
    leaf_ast(UserInputLeaf::Regex {
        field: Some(field.to_string()),
        pattern,
    })
}

fn literal_ast(field: &str, phrase: String, lit: UserInputLiteral) -> UserInputAst {
    leaf_ast(UserInputLeaf::Literal(UserInputLiteral {
        field_name: Some(field.to_string()),
        phrase,
        ..lit
    }))
}

/// One of `asts` (a single one stands alone).
fn any_of(mut asts: Vec<UserInputAst>) -> UserInputAst {
    match asts.len() {
        0 => UserInputAst::empty_query(),
        1 => asts.remove(0),
        _ => UserInputAst::Clause(asts.into_iter().map(|a| (Some(Occur::Should), a)).collect()),
    }
}

/// A wildcard word against a tokenised field: its alphanumeric pieces,
/// each a term or (with wildcards) a regex over lower-cased tokens, all
/// required. `None` when only wildcards are left.
fn text_wildcard(field: &str, phrase: &str) -> Option<UserInputAst> {
    let pieces: Vec<UserInputAst> = phrase
        .split(|c: char| !(c.is_alphanumeric() || is_wild(c)))
        .filter(|p| p.chars().any(char::is_alphanumeric))
        .map(|p| {
            let p = p.to_lowercase();
            if p.chars().any(is_wild) {
                regex_leaf(field, glob_regex(&p))
            } else {
                leaf_ast(UserInputLeaf::Literal(UserInputLiteral {
                    field_name: Some(field.to_string()),
                    phrase: p,
                    delimiter: Delimiter::None,
                    slop: 0,
                    prefix: false,
                }))
            }
        })
        .collect();
    match pieces.len() {
        0 => None,
        1 => pieces.into_iter().next(),
        _ => Some(UserInputAst::Clause(
            pieces.into_iter().map(|a| (Some(Occur::Must), a)).collect(),
        )),
    }
}

/// Parses `query`, reporting the first syntax error with its position.
fn parse(query: &str) -> Result<UserInputAst, SearchError> {
    if query.trim().is_empty() {
        return Err(SearchError::Syntax {
            query: query.to_string(),
            pos: 0,
            message: "empty query (use * for every rule)".to_string(),
        });
    }
    match query_grammar::parse_query(query) {
        Ok(ast) => Ok(ast),
        Err(_) => {
            let (_, errors) = query_grammar::parse_query_lenient(query);
            let (pos, message) = errors
                .into_iter()
                .next()
                .map(|e| (e.pos.min(query.len()), e.message))
                .unwrap_or((0, "syntax error".to_string()));
            Err(SearchError::Syntax {
                query: query.to_string(),
                pos,
                message,
            })
        }
    }
}

impl Catalog {
    /// Canonical field names of every indicator in the index.
    pub fn indicator_fields(&self) -> Result<BTreeSet<String>, IndexError> {
        let searcher = self.searcher();
        let mut out = BTreeSet::new();
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(self.fields().field)?;
            let mut stream = inv
                .terms()
                .stream()
                .map_err(|e| IndexError::Corrupt(format!("reading field names: {e}")))?;
            while stream.advance() {
                out.insert(String::from_utf8_lossy(stream.key()).into_owned());
            }
        }
        Ok(out)
    }

    /// Parses and rewrites `query` into a tantivy query over rule
    /// documents.
    fn prepare(&self, query: &str, exact: bool) -> Result<Prepared, SearchError> {
        let ast = parse(query)?;
        let mut rw = Rewriter {
            catalog: self,
            query,
            exact,
            known: None,
            needles: BTreeSet::new(),
            indicator_res: Vec::new(),
        };
        let ast = rw.ast(ast)?;
        let f = self.fields();
        let schema = self.index().schema();
        let defaults: Vec<Field> = TEXT_DEFAULTS
            .iter()
            .chain(["id"].iter())
            .filter_map(|n| schema.get_field(n).ok())
            .collect();
        let mut parser = QueryParser::for_index(self.index(), defaults);
        parser.set_conjunction_by_default();
        parser.allow_regexes();
        parser.set_field_boost(f.title, 3.0);
        parser.set_field_boost(f.technique, 2.0);
        parser.set_field_boost(f.technique_family, 2.0);
        parser.set_field_boost(f.technique_id, 2.0);
        // A query of exclusions only (`NOT netscan`, `-language:splunk`)
        // means every rule but those: tantivy's lenient build adds the
        // match-all clause, which is all that error is about.
        let (user, errors) = parser.build_query_from_user_input_ast_lenient(ast);
        if let Some(e) = errors
            .into_iter()
            .find(|e| *e != QueryParserError::AllButQueryForbidden)
        {
            return Err(e.into());
        }
        let rules_only: Box<dyn Query> = Box::new(TermQuery::new(
            Term::from_field_text(f.doc_type, "rule"),
            IndexRecordOption::Basic,
        ));
        Ok(Prepared {
            query: BooleanQuery::new(vec![(Occur::Must, user), (Occur::Must, rules_only)]),
            needles: rw.needles,
            indicator_res: rw.indicator_res,
        })
    }

    /// The ids of every rule `query` matches, sorted (no ranking, no
    /// limit).
    pub fn search_ids(&self, query: &str, exact: bool) -> Result<Vec<String>, SearchError> {
        let q = self.prepare(query, exact)?.query;
        let searcher = self.searcher();
        let addrs = searcher
            .search(&q, &DocSetCollector)
            .map_err(IndexError::from)?;
        let id_field = self.fields().rule_id;
        let mut ids = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let doc: TantivyDocument = searcher.doc(addr).map_err(IndexError::from)?;
            if let Some(id) = doc.get_first(id_field).and_then(|v| v.as_str()) {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Runs `query` (tantivy syntax, see the module documentation) over the
    /// rules and returns the best hits with snippets.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults, SearchError> {
        let Prepared {
            query: q,
            needles,
            indicator_res,
        } = self.prepare(query, opts.exact)?;
        let f = self.fields();

        let searcher = self.searcher();
        let limit = opts.limit.max(1);
        let (top, total) = searcher
            .search(&q, &(TopDocs::with_limit(limit).order_by_score(), Count))
            .map_err(IndexError::from)?;
        let gens = [f.title, f.description, f.logic]
            .into_iter()
            .map(|field| {
                let mut g = SnippetGenerator::create(&searcher, &q, field)?;
                g.set_max_num_chars(SNIPPET_CHARS);
                Ok((field, g))
            })
            .collect::<Result<Vec<_>, tantivy::TantivyError>>()
            .map_err(IndexError::from)?;
        let mut hits = Vec::new();
        for (score, addr) in top.into_iter().take(opts.limit) {
            let rule = self.rule_at(&searcher, addr)?;
            let matched = matched_indicators(&rule, &indicator_res);
            let title_highlighted = title_ranges(&gens[0].1, &rule.title, &needles);
            let snippet = best_snippet(&gens[1..], &f, &rule, &needles);
            let indicator_snippets = matched
                .iter()
                .map(|m| {
                    let text = format!("{} {} {}", m.field, m.op, m.value);
                    needle_snippet("indicator", &text, &needles).unwrap_or(Snippet {
                        field: "indicator".into(),
                        text: flatten(&text),
                        highlighted: Vec::new(),
                    })
                })
                .collect();
            hits.push(Hit {
                rule,
                score,
                title_highlighted,
                snippet,
                indicators: matched,
                indicator_snippets,
            });
        }
        Ok(SearchResults { total, hits })
    }
}

/// The rule's indicators whose token one of `res` matches.
fn matched_indicators(rule: &Rule, res: &[regex::Regex]) -> Vec<MatchedIndicator> {
    if res.is_empty() {
        return Vec::new();
    }
    let query = crate::lang::parse(rule.language, &rule.logic);
    let mut out: Vec<MatchedIndicator> = Vec::new();
    for ind in indicators(&query) {
        let token = indicator_token(&ind.field, &ind.value);
        if res.iter().any(|re| re.is_match(&token)) {
            let m = MatchedIndicator {
                field: ind.field,
                op: ind.kind,
                value: ind.value,
            };
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// Highlights in the whole title: tantivy's when its terms matched, else
/// the query's literal words.
fn title_ranges(
    gen: &SnippetGenerator,
    title: &str,
    needles: &BTreeSet<String>,
) -> Vec<Range<usize>> {
    let s = gen.snippet(title);
    if !s.highlighted().is_empty() {
        // The fragment is a slice of the title; shift its ranges back.
        let offset = s.fragment_range().start;
        return s
            .highlighted()
            .iter()
            .map(|r| r.start + offset..r.end + offset)
            .collect();
    }
    match needle_snippet("title", title, needles) {
        Some(n) if n.text.len() == title.len() => n.highlighted,
        _ => Vec::new(),
    }
}

/// tantivy's snippet from description or logic; else the first of them
/// holding a literal word of the query; else the title.
fn best_snippet(
    gens: &[(Field, SnippetGenerator)],
    f: &super::Fields,
    rule: &Rule,
    needles: &BTreeSet<String>,
) -> Snippet {
    let text_of = |field: Field| -> (&'static str, &str) {
        if field == f.description {
            ("description", &rule.description)
        } else {
            ("logic", &rule.logic)
        }
    };
    for (field, gen) in gens {
        let (name, text) = text_of(*field);
        let s = gen.snippet(text);
        if !s.highlighted().is_empty() {
            return Snippet {
                field: name.to_string(),
                text: flatten(s.fragment()),
                highlighted: s.highlighted().to_vec(),
            };
        }
    }
    for (name, text) in [("description", &rule.description), ("logic", &rule.logic)] {
        if let Some(s) = needle_snippet(name, text, needles) {
            return s;
        }
    }
    Snippet {
        field: "title".into(),
        text: flatten(&rule.title),
        highlighted: Vec::new(),
    }
}

/// Whitespace to single spaces of the same byte length, so ranges stay
/// valid: newlines and tabs are one byte, as is a space.
fn flatten(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A window of `text` around the first occurrence of any needle
/// (ASCII case-insensitive), every occurrence in it highlighted.
fn needle_snippet(field: &str, text: &str, needles: &BTreeSet<String>) -> Option<Snippet> {
    if needles.is_empty() || text.is_empty() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for n in needles {
        if !n.is_ascii() {
            continue;
        }
        for (i, _) in lower.match_indices(n.as_str()) {
            ranges.push(i..i + n.len());
        }
    }
    if ranges.is_empty() {
        return None;
    }
    ranges.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let first = ranges[0].start;
    // Start a little before the first hit, on a char boundary.
    let mut start = first.saturating_sub(SNIPPET_CHARS / 4);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + SNIPPET_CHARS).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut highlighted: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        if r.start >= start && r.end <= end && highlighted.last().is_none_or(|l| r.start >= l.end) {
            highlighted.push(r.start - start..r.end - start);
        }
    }
    Some(Snippet {
        field: field.to_string(),
        text: flatten(&text[start..end]),
        highlighted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicator_tokens_drop_quotes_and_case() {
        assert_eq!(
            indicator_token("process_name", "\"*\\\\RunDll32.exe\""),
            "process_name=*\\\\rundll32.exe"
        );
        assert_eq!(indicator_token("EventCode", "1"), "EventCode=1");
        assert_eq!(indicator_token("f", "@'x'"), "f=x");
        assert_eq!(indicator_token("f", "\""), "f=\"");
    }

    #[test]
    fn technique_keys_roll_up_and_keep_malformed() {
        let raw: Vec<String> = ["t1059.001", "T1046", "t1059_001", "execution:T1021.002"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (exact, family) = technique_keys(&raw);
        let e: Vec<&str> = exact.iter().map(String::as_str).collect();
        assert_eq!(e, ["T1021.002", "T1046", "T1059.001", "T1059_001"]);
        assert!(family.contains("T1059") && family.contains("T1021"));
        assert!(!exact.contains("T1059"));
    }

    #[test]
    fn globs_become_anchored_regexes() {
        assert_eq!(glob_regex("*run?ll.exe*"), ".*run.ll\\.exe.*");
        let re = regex::Regex::new(&format!("^{}$", glob_regex("process_name=*rundll32*")))
            .expect("valid");
        assert!(re.is_match("process_name=c:\\windows\\rundll32.exe"));
        assert!(!re.is_match("process_path=rundll32.exe"));
    }

    #[test]
    fn wildcard_words_parse_as_literals() {
        // The rewrite relies on tantivy's grammar keeping `*` inside words.
        let ast = query_grammar::parse_query("process_name:*rundll32*").expect("parses");
        let UserInputAst::Leaf(leaf) = ast else {
            panic!("a leaf: {ast:?}")
        };
        let UserInputLeaf::Literal(lit) = *leaf else {
            panic!("a literal")
        };
        assert_eq!(lit.field_name.as_deref(), Some("process_name"));
        assert_eq!(lit.phrase, "*rundll32*");
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let err = parse("title:(netscan").expect_err("unbalanced");
        let SearchError::Syntax { pos, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(*pos >= 6, "{pos}");
        assert!(err.render().contains('^'), "{}", err.render());
    }

    #[test]
    fn technique_ids_are_told_from_names() {
        assert!(looks_like_technique_id("t1059.001"));
        assert!(looks_like_technique_id("T1059*"));
        assert!(!looks_like_technique_id("powershell"));
        assert_eq!(
            normalise_value("technique", "t1059", false),
            ("technique_family", "T1059".to_string())
        );
        assert_eq!(
            normalise_value("technique", "t1059", true),
            ("technique_id", "T1059".to_string())
        );
    }

    #[test]
    fn snippet_marks_ranges() {
        let s = Snippet {
            field: "logic".into(),
            text: "a netscan b".into(),
            highlighted: vec![Range { start: 2, end: 9 }],
        };
        assert_eq!(s.marked("«", "»"), "a «netscan» b");
        let n: BTreeSet<String> = ["netscan".to_string()].into();
        let got = needle_snippet("logic", "x NetScan\ny", &n).expect("found");
        assert_eq!(got.text, "x NetScan y");
        assert_eq!(got.highlighted, vec![Range { start: 2, end: 9 }]);
    }

    #[test]
    fn empty_queries_are_errors() {
        assert!(matches!(
            parse("  "),
            Err(SearchError::Syntax { pos: 0, .. })
        ));
    }

    #[test]
    fn field_positions_skip_values() {
        assert_eq!(field_position("a:b titel:x", "titel"), Some(4));
        assert_eq!(field_position("x:titel:y", "titel"), None);
    }
}
