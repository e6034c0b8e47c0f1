//! The language-neutral query every front-end lowers to.
//!
//! Both indicator extraction (`model`) and evaluation (`eval`) read this
//! tree, so the predicate a page shows is the predicate the evaluator runs.
//! Semantics that differ between languages travel with each predicate in
//! [`Flags`] rather than being implied by the language.

use serde::Serialize;

use crate::diag::{Diagnostic, Span};

/// A parsed query: its stages in pipeline order, and what the front-end
/// could not read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Query {
    /// Pipeline stages, in order.
    pub stages: Vec<Stage>,
    /// Parse problems, with spans into the logic text.
    pub diagnostics: Vec<Diagnostic>,
}

/// One pipeline stage: an SPL command, a KQL tabular operator, a SQL clause.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    /// Display name: the command as the language names it (`search`,
    /// `where`, `bin`, `summarize`, `from`…), lower-case.
    pub kind: String,
    /// The stage's source text, as written (without the separating pipe).
    pub text: String,
    /// Where `text` sits in the logic.
    pub span: Span,
    /// What the stage does.
    pub op: Operator,
}

/// What a stage does to the rows flowing through it.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Operator {
    /// Where rows come from: KQL table names, SQL `FROM`, SPL
    /// `index=`/`datamodel` sources are ordinary predicates instead.
    Source {
        /// Table or data-model names.
        tables: Vec<String>,
    },
    /// Keep the rows for which `expr` holds.
    Filter {
        /// The condition.
        expr: Expr,
        /// How missing fields and negation combine.
        logic: Logic,
    },
    /// Add or overwrite fields (SPL `eval`, KQL `extend`).
    Eval {
        /// `name = expression`, applied left to right.
        assignments: Vec<Assignment>,
    },
    /// Keep or drop columns (SPL `table`/`fields`, KQL `project`/`project-away`, SQL `SELECT`).
    Project {
        /// Field names or wildcard patterns (`process_*`).
        fields: Vec<String>,
        /// Keep only these (true) or remove them (false).
        keep: bool,
    },
    /// Rename fields; patterns may use `*` (SPL `rename *_ip AS ip_*`).
    Rename {
        /// `(from, to)` pairs.
        pairs: Vec<(String, String)>,
    },
    /// Floor a field to a bucket boundary (SPL `bin`/`bucket`).
    Bin {
        /// The field binned (`_time` when the command names none).
        field: String,
        /// The span as written (`1s`, `1h`, `10`).
        span: Option<String>,
        /// `AS` name, when given.
        alias: Option<String>,
    },
    /// Aggregate rows (SPL `stats`/`eventstats`/`streamstats`, KQL
    /// `summarize`, SQL `GROUP BY`).
    Stats {
        /// Replace rows by groups, append to each row, or run in order.
        mode: StatsMode,
        /// The aggregates computed.
        aggs: Vec<Aggregate>,
        /// Group-by fields, in order.
        by: Vec<String>,
    },
    /// Keep the first row per distinct combination of fields.
    Dedup {
        /// The fields compared.
        fields: Vec<String>,
        /// Keep rows lacking a field (`keepempty=true`).
        keep_empty: bool,
    },
    /// Order rows.
    Sort {
        /// Sort keys, most significant first.
        keys: Vec<SortKey>,
        /// Keep at most this many rows afterwards.
        limit: Option<usize>,
    },
    /// Keep the first `n` rows (SPL `head`, KQL `take`/`limit`).
    Head {
        /// The number kept.
        n: usize,
    },
    /// Extract fields with a regex or rewrite a field (SPL `rex`, KQL `parse`).
    Extract {
        /// The field read (`_raw` by default in SPL).
        field: String,
        /// The pattern as the engine will see it (escapes resolved).
        pattern: String,
        /// How the pattern is applied.
        mode: ExtractMode,
        /// Maximum matches (SPL `max_match`; 0 = unlimited).
        max_match: usize,
    },
    /// Enrich rows from a lookup table.
    Lookup {
        /// The lookup's name or file.
        table: String,
        /// Input fields, as `(lookup field, event field)`.
        inputs: Vec<(String, String)>,
        /// Output fields, as `(lookup field, event field)`; empty = all.
        outputs: Vec<(String, String)>,
    },
    /// Replace nulls with a value.
    Fillnull {
        /// The replacement (SPL default `0`).
        value: String,
        /// Fields filled; empty = every field present in the results.
        fields: Vec<String>,
    },
    /// SPL `tstats`: statistics over an accelerated data model, with its
    /// own `where` filter in search syntax.
    Tstats {
        /// `from datamodel=Endpoint.Processes` → `Endpoint.Processes`.
        datamodel: Option<String>,
        /// The `where` clause, when given.
        filter: Option<Expr>,
        /// The aggregates computed.
        aggs: Vec<Aggregate>,
        /// Group-by fields (`span=` of `_time` is kept in `span`).
        by: Vec<String>,
        /// `by _time span=1h` → `1h`.
        span: Option<String>,
    },
    /// Join rows with the result of a subquery (SPL `join`, KQL `join`).
    Join {
        /// `type=`/`kind=` as written (`inner`, `left`, `innerunique`…).
        kind: Option<String>,
        /// Join keys.
        fields: Vec<String>,
        /// The subquery, parsed.
        subquery: Box<Query>,
    },
    /// Append the rows of other queries (SPL `append`, KQL `union`).
    Union {
        /// Table names (KQL `union A, B`).
        tables: Vec<String>,
        /// Parsed subqueries.
        subqueries: Vec<Query>,
    },
    /// SPL `transaction`: merge related events into one.
    Transaction {
        /// Fields that tie events together.
        fields: Vec<String>,
        /// `maxspan=` as written.
        maxspan: Option<String>,
    },
    /// SPL `foreach`: run an eval template over matching fields.
    Foreach {
        /// Field names or wildcard patterns.
        fields: Vec<String>,
        /// The bracketed template, as written.
        template: String,
    },
    /// SPL `iplocation`: GeoIP enrichment of an IP field.
    Iplocation {
        /// The IP field.
        field: String,
    },
    /// Split a multivalue / array field into one row per value
    /// (SPL `mvexpand`, KQL `mv-expand`).
    MvExpand {
        /// The field expanded.
        field: String,
    },
    /// A macro used as a whole stage (`` | `name(args)` ``), expanded by
    /// the evaluator from the macro definitions it is given.
    Macro(MacroCall),
    /// A command the front-end keeps as text only. The evaluator reports it
    /// as the reason the rule is not evaluable.
    Unsupported {
        /// The command or operator name.
        command: String,
    },
}

/// How a filter treats missing fields and negation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Logic {
    /// SPL `search`: a comparison on a missing field is false, and `NOT`
    /// of false is true (`NOT f=v` keeps events without `f`).
    Search,
    /// SPL `where`, KQL `where`, SQL `WHERE`: a comparison involving null is
    /// unknown, `NOT unknown` is unknown, and only true keeps the row.
    ThreeValued,
}

/// How `Stats` emits rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsMode {
    /// One row per group (SPL `stats`, KQL `summarize`, SQL `GROUP BY`).
    Stats,
    /// Every row kept, with its group's aggregates added.
    EventStats,
    /// Every row kept, with running aggregates in input order.
    StreamStats,
}

/// How an `Extract` stage applies its pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractMode {
    /// Named groups become fields (SPL `rex`, KQL `extract`).
    Regex,
    /// `s/re/replacement/flags` rewrites the field in place (`rex mode=sed`).
    Sed,
    /// KQL `parse ... with * "lit" name ...`: the pattern is a
    /// `parse`-style template translated to a regex with named groups.
    Template,
}

/// `name = expression`.
#[derive(Clone, Debug, Serialize)]
pub struct Assignment {
    /// The field written.
    pub name: String,
    /// The value computed.
    pub value: Scalar,
}

/// One aggregate of a `Stats` stage: `func(arg) AS alias`.
#[derive(Clone, Debug, Serialize)]
pub struct Aggregate {
    /// Lower-case function name (`count`, `dc`, `values`, `min`…).
    pub func: String,
    /// The field aggregated (`*` for `values(*)`); `None` for `count`.
    pub field: Option<String>,
    /// The output name; `None` means the language's default name
    /// (SPL `count(x)`, KQL `count_`).
    pub alias: Option<String>,
}

/// A sort key.
#[derive(Clone, Debug, Serialize)]
pub struct SortKey {
    /// The field sorted on.
    pub field: String,
    /// Descending order.
    pub descending: bool,
}

/// A macro reference: `` `name` `` or `` `name(a,b)` ``.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MacroCall {
    /// The macro's name.
    pub name: String,
    /// Arguments as written, trimmed (quotes kept).
    pub args: Vec<String>,
    /// The whole backtick-delimited reference.
    pub span: Span,
}

/// A boolean condition tree.
///
/// `Ne` leaves and `Not(Eq)` are kept apart on purpose: in SPL `search`
/// they treat a missing field differently.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Expr {
    /// Every child holds (an empty `And` is true).
    And {
        /// The conjuncts.
        children: Vec<Expr>,
    },
    /// Some child holds.
    Or {
        /// The disjuncts.
        children: Vec<Expr>,
    },
    /// The child does not hold (see [`Logic`] for unknowns).
    Not {
        /// The negated condition.
        child: Box<Expr>,
    },
    /// A predicate on one field: the indicators of a rule.
    Cmp(Cmp),
    /// A bare search term or phrase matched against `_raw` tokens.
    Term(Term),
    /// A macro in filter position, expanded by the evaluator.
    Macro(MacroCall),
    /// Any other boolean-valued expression (`len(x) > 3`, `x == y`).
    Scalar {
        /// The expression; the row is kept when it evaluates to true.
        expr: Scalar,
        /// Where it is in the logic.
        span: Span,
    },
}

/// A field-operator-value predicate.
#[derive(Clone, Debug, Serialize)]
pub struct Cmp {
    /// The field as written in the source (before alias canonicalisation).
    pub field: String,
    /// The canonical operator.
    pub op: CmpOp,
    /// One value for most operators, several for `In` (and KQL
    /// `has_any`), two for `Between`, none for `IsNull`/`IsNotNull`.
    pub values: Vec<Literal>,
    /// Language semantics of the comparison.
    pub flags: Flags,
    /// Where the predicate is in the logic.
    pub span: Span,
}

/// Canonical comparison operators, shared by all languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CmpOp {
    /// Equal (whole value; wildcards per [`Flags::wildcard`]).
    Eq,
    /// Present and not equal.
    Ne,
    /// Less than (numeric when both sides are numbers).
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Equal to one of several values.
    In,
    /// Regex search (anchoring per [`Flags::anchored`]).
    Match,
    /// SQL/SPL `like` pattern (`%`, `_`), whole value.
    Like,
    /// Substring.
    Contains,
    /// Prefix.
    StartsWith,
    /// Suffix.
    EndsWith,
    /// KQL term match (`has`, `has_any`, `has_all`).
    Has,
    /// Inclusive range (two values).
    Between,
    /// Null or missing (KQL `isempty` also matches "").
    IsNull,
    /// Present and non-null.
    IsNotNull,
}

impl CmpOp {
    /// The canonical lower-case name shown on pages and used for counting.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::In => "in",
            CmpOp::Match => "match",
            CmpOp::Like => "like",
            CmpOp::Contains => "contains",
            CmpOp::StartsWith => "startswith",
            CmpOp::EndsWith => "endswith",
            CmpOp::Has => "has",
            CmpOp::Between => "between",
            CmpOp::IsNull => "isnull",
            CmpOp::IsNotNull => "isnotnull",
        }
    }
}

impl std::fmt::Display for CmpOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Semantics of one comparison that differ between languages and contexts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Flags {
    /// Case-sensitive string comparison (SPL `where ==`, KQL `==`,
    /// `has_cs`); false for SPL `search`, KQL `=~`, SQL `ILIKE`.
    pub case_sensitive: bool,
    /// Which wildcard characters the value may contain.
    pub wildcard: Wildcard,
    /// A `Match` regex must match the whole value (Snowflake
    /// `regexp_like`/`rlike`) rather than any substring.
    pub anchored: bool,
    /// Every value must hold rather than any (KQL `has_all`).
    pub all: bool,
    /// KQL `isempty`: the empty string counts as null.
    pub empty_is_null: bool,
}

/// Wildcard syntax of a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wildcard {
    /// Every character is literal.
    #[default]
    None,
    /// SPL `search`: `*` matches any run of characters.
    Glob,
    /// SQL / SPL `like`: `%` any run, `_` one character.
    Sql,
}

/// A literal value, kept both as written and as the engine sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Literal {
    /// The exact source spelling, quotes included (`"(?i)\x5cnetscan"`).
    pub raw: String,
    /// The value after the language's unquoting and escapes.
    pub value: String,
}

impl Literal {
    /// A literal whose source spelling is its value (unquoted words, numbers).
    pub fn plain(text: &str) -> Literal {
        Literal {
            raw: text.to_string(),
            value: text.to_string(),
        }
    }
}

/// A bare search term or quoted phrase, matched against `_raw`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Term {
    /// The term as it appears on the page: `netscan`, `"<EventID>1<"`,
    /// `TERM(EventCode=1)`.
    pub text: String,
    /// The text matched, after unquoting (`<EventID>1<`, `EventCode=1`).
    pub value: String,
    /// `TERM(...)`: match as one indexed token, even across minor breakers.
    pub whole_token: bool,
    /// `CASE(...)`: match case-sensitively.
    pub case_sensitive: bool,
    /// Where it is in the logic.
    pub span: Span,
}

/// A scalar expression (SPL `eval`/`where`, KQL `extend`, SQL expressions).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Scalar {
    /// A field reference.
    Field {
        /// The field name.
        name: String,
    },
    /// A string literal.
    Str {
        /// The literal.
        lit: Literal,
    },
    /// A numeric literal, kept as written.
    Num {
        /// The number as written.
        text: String,
    },
    /// `true`/`false`.
    Bool {
        /// The value.
        value: bool,
    },
    /// `null`.
    Null,
    /// A function call; `name` lower-cased.
    Call {
        /// Function name, lower-case.
        name: String,
        /// Arguments.
        args: Vec<Scalar>,
    },
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Scalar>,
        /// Right operand.
        rhs: Box<Scalar>,
    },
    /// Logical or arithmetic negation.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Scalar>,
    },
    /// A list (`in (a, b)` right-hand sides, KQL `dynamic([...])`).
    List {
        /// The items.
        items: Vec<Scalar>,
    },
}

/// Binary operators of scalar expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// SPL `.` string concatenation.
    Concat,
    /// `=`/`==` (case sensitivity is the language's).
    Eq,
    /// `!=`/`<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `AND`
    And,
    /// `OR`
    Or,
}

/// Unary operators of scalar expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// Logical `NOT`.
    Not,
    /// Arithmetic minus.
    Neg,
}

impl Expr {
    /// Calls `f` on every `Cmp` leaf, in source order.
    pub fn for_each_cmp<'a>(&'a self, f: &mut impl FnMut(&'a Cmp)) {
        match self {
            Expr::And { children } | Expr::Or { children } => {
                children.iter().for_each(|c| c.for_each_cmp(f))
            }
            Expr::Not { child } => child.for_each_cmp(f),
            Expr::Cmp(c) => f(c),
            Expr::Term(_) | Expr::Macro(_) | Expr::Scalar { .. } => {}
        }
    }

    /// Calls `f` on every `Term` leaf, in source order.
    pub fn for_each_term<'a>(&'a self, f: &mut impl FnMut(&'a Term)) {
        match self {
            Expr::And { children } | Expr::Or { children } => {
                children.iter().for_each(|c| c.for_each_term(f))
            }
            Expr::Not { child } => child.for_each_term(f),
            Expr::Term(t) => f(t),
            Expr::Cmp(_) | Expr::Macro(_) | Expr::Scalar { .. } => {}
        }
    }
}
