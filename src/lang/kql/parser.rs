//! KQL statements and tabular operators: `let` bindings, the final tabular
//! expression, and one IR stage per pipe operator.
//!
//! The parser works on token index ranges of one token vector, so every
//! span — also of stages inlined from a tabular `let` — points into the
//! original query text. `let` bindings live in an [`Env`] that is extended
//! statement by statement; a tabular or function binding keeps the
//! environment of its definition, as Kusto scoping does.

use std::collections::HashSet;
use std::rc::Rc;

use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::{
    Aggregate, Assignment, ExtractMode, Logic, Operator, Query, Scalar, SortKey, Stage, StatsMode,
};

use super::expr::{matching, ExprParser, Node, MAX_DEPTH};
use super::lexer::{TokKind, Token};
use super::lower::{to_expr, to_scalar};

/// What a `let` name is bound to.
#[derive(Debug)]
enum LetValue {
    /// A scalar expression, with earlier `let`s already substituted.
    Scalar(Node),
    /// A tabular expression (`let x = T | where …;`).
    Tabular {
        /// Token range of the expression.
        range: (usize, usize),
        /// Bindings visible where it was defined.
        env: Env,
    },
    /// A user function or view (`let f = (a:string) { … };`).
    Function {
        /// Parameter names, in order.
        params: Vec<String>,
        /// Token range of the body, inside the braces.
        body: (usize, usize),
        /// Bindings visible where it was defined.
        env: Env,
    },
    /// A name whose value is unknown here (a function parameter): it
    /// shadows outer bindings and stays a column reference.
    Opaque,
}

#[derive(Debug)]
struct Binding {
    name: String,
    value: LetValue,
}

/// The `let` bindings in scope, innermost last.
type Env = Vec<Rc<Binding>>;

fn lookup<'e>(env: &'e Env, name: &str) -> Option<&'e LetValue> {
    env.iter().rev().find(|b| b.name == name).map(|b| &b.value)
}

/// Replaces names bound to scalar `let`s by their values.
fn substitute(node: &mut Node, env: &Env) {
    match node {
        Node::Ident { name, .. } => {
            if let Some(LetValue::Scalar(v)) = lookup(env, name) {
                *node = v.clone();
            }
        }
        Node::Call { args: items, .. }
        | Node::List { items, .. }
        | Node::And {
            children: items, ..
        }
        | Node::Or {
            children: items, ..
        } => items.iter_mut().for_each(|n| substitute(n, env)),
        Node::Bin { lhs, rhs, .. } => {
            substitute(lhs, env);
            substitute(rhs, env);
        }
        Node::Index { base, index, .. } => {
            substitute(base, env);
            substitute(index, env);
        }
        Node::Neg { expr, .. } => substitute(expr, env),
        Node::Str { .. }
        | Node::Num { .. }
        | Node::Bool { .. }
        | Node::Null { .. }
        | Node::Tabular { .. } => {}
    }
}

/// Tabular operators that are recognised but kept as text only.
const KNOWN_UNSUPPORTED: &[&str] = &[
    "make-series",
    "evaluate",
    "mv-apply",
    "parse-where",
    "parse-kv",
    "top-nested",
    "top-hitters",
    "sample",
    "sample-distinct",
    "getschema",
    "fork",
    "facet",
    "partition",
    "scan",
    "reduce",
    "search",
    "find",
    "datatable",
    "range",
    "print",
    "externaldata",
    "invoke",
    "lookup",
    "consume",
    "make-graph",
    "graph-match",
    "extend-if",
];

/// Operators that may open a tabular expression instead of a table name.
const PIPELINE_START: &[&str] = &[
    "union",
    "datatable",
    "range",
    "print",
    "search",
    "find",
    "externaldata",
    "evaluate",
];

/// The parser state shared by all statements of one query.
pub struct Parser<'a> {
    src: &'a str,
    toks: &'a [Token],
    /// Problems found so far, in source order of discovery.
    pub diags: Vec<Diagnostic>,
    depth: usize,
    /// How many `let` bodies have been inlined; bounded because a chain of
    /// lets that each use the previous one twice doubles the work per link.
    expansions: usize,
}

/// The most `let` bodies inlined into one query.
const MAX_EXPANSIONS: usize = 500;

type OpResult = Result<Operator, Box<Diagnostic>>;

fn error(code: &str, msg: impl Into<String>, span: Span) -> Box<Diagnostic> {
    Box::new(Diagnostic::logic(Severity::Error, code, msg, span))
}

impl<'a> Parser<'a> {
    /// A parser over `toks`, the tokens of `src`.
    pub fn new(src: &'a str, toks: &'a [Token], diags: Vec<Diagnostic>) -> Self {
        Parser {
            src,
            toks,
            diags,
            depth: 0,
            expansions: 0,
        }
    }

    /// Parses a whole query: its statements, resolving `let`s, and the
    /// stages of its tabular statement.
    pub fn parse_query(mut self) -> Query {
        let stages = self.parse_program(0, self.toks.len(), Vec::new());
        if stages.is_empty() && self.diags.is_empty() {
            let span = Span::new(0, self.src.len());
            self.diags.push(Diagnostic::logic(
                Severity::Error,
                "missing-query",
                "no tabular expression to run",
                span,
            ));
        }
        // A tabular `let` used twice is parsed twice; report its problems once.
        let mut seen = HashSet::new();
        let diagnostics: Vec<Diagnostic> = self
            .diags
            .into_iter()
            .filter(|d| seen.insert((d.code.clone(), d.span, d.message.clone())))
            .collect();
        Query {
            stages,
            diagnostics,
        }
    }

    fn span_of(&self, s: usize, e: usize) -> Span {
        if s >= e || e > self.toks.len() {
            let at = self.toks.get(s).map_or(self.src.len(), |t| t.span.start);
            return Span::new(at, at);
        }
        self.toks[s].span.join(self.toks[e - 1].span)
    }

    fn text_of(&self, s: usize, e: usize) -> &'a str {
        self.span_of(s, e).slice(self.src)
    }

    /// Splits `[s, e)` at top-level tokens for which `is_sep` holds.
    fn split_top(
        &self,
        s: usize,
        e: usize,
        is_sep: impl Fn(&Token) -> bool,
    ) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut from = s;
        for i in s..e {
            let t = &self.toks[i];
            match &t.kind {
                TokKind::Punct("(" | "[" | "{") => depth += 1,
                TokKind::Punct(")" | "]" | "}") => depth = depth.saturating_sub(1),
                _ if depth == 0 && is_sep(t) => {
                    out.push((from, i));
                    from = i + 1;
                }
                _ => {}
            }
        }
        out.push((from, e));
        out
    }

    /// Index of the first top-level word `w` in `[s, e)`.
    fn find_top_word(&self, s: usize, e: usize, w: &str) -> Option<usize> {
        let mut depth = 0usize;
        for i in s..e {
            let t = &self.toks[i];
            match &t.kind {
                TokKind::Punct("(" | "[" | "{") => depth += 1,
                TokKind::Punct(")" | "]" | "}") => depth = depth.saturating_sub(1),
                TokKind::Word(x) if depth == 0 && x == w => return Some(i),
                _ => {}
            }
        }
        None
    }

    fn is_punct_at(&self, i: usize, e: usize, p: &str) -> bool {
        i < e && self.toks[i].is_punct(p)
    }

    fn word_at(&self, i: usize, e: usize) -> Option<&'a str> {
        if i < e {
            self.toks[i].word()
        } else {
            None
        }
    }

    /// Parses `[s, e)` as an expression, with `let`s substituted.
    fn expr(&self, s: usize, e: usize, env: &Env) -> Result<Node, Box<Diagnostic>> {
        if s >= e {
            return Err(error(
                "expected-expression",
                "expected an expression",
                self.span_of(s, e),
            ));
        }
        let mut p = ExprParser::new(self.src, self.toks, s, e, self.depth);
        let mut node = p.parse_all()?;
        substitute(&mut node, env);
        Ok(node)
    }

    // ----- statements -------------------------------------------------

    /// Parses statements in `[s, e)` and returns the stages of the last
    /// tabular statement.
    fn parse_program(&mut self, s: usize, e: usize, mut env: Env) -> Vec<Stage> {
        let statements = self.split_top(s, e, |t| t.is_punct(";"));
        let mut last: Option<(usize, usize)> = None;
        for (a, b) in statements {
            if a >= b {
                continue;
            }
            let head = self.toks[a].word().map(str::to_ascii_lowercase);
            match head.as_deref() {
                Some("let") => self.parse_let(a, b, &mut env),
                Some("set" | "declare" | "alias" | "restrict" | "pattern") => {}
                _ => {
                    if let Some((pa, pb)) = last {
                        self.diags.push(Diagnostic::logic(
                            Severity::Warning,
                            "extra-statement",
                            "only the last tabular statement is kept",
                            self.span_of(pa, pb),
                        ));
                    }
                    last = Some((a, b));
                }
            }
        }
        match last {
            Some((a, b)) => self.parse_tabular(a, b, &env),
            None => Vec::new(),
        }
    }

    /// `let name = value` (the `;` already split off).
    fn parse_let(&mut self, s: usize, e: usize, env: &mut Env) {
        let name = match self.word_at(s + 1, e) {
            Some(n) if self.is_punct_at(s + 2, e, "=") => n.to_string(),
            _ => {
                self.diags.push(*error(
                    "bad-let",
                    "expected `let name = value`",
                    self.span_of(s, e),
                ));
                return;
            }
        };
        let (vs, ve) = (s + 3, e);
        if vs >= ve {
            self.diags.push(*error(
                "bad-let",
                format!("`let {name}` has no value"),
                self.span_of(s, e),
            ));
            return;
        }
        let value = self.classify_let(vs, ve, env);
        env.push(Rc::new(Binding { name, value }));
    }

    fn classify_let(&mut self, s: usize, e: usize, env: &Env) -> LetValue {
        // `(a:string) { … }` and `view (…) { … }`: functions.
        let params_at = if self.toks[s].is_word("view") {
            s + 1
        } else {
            s
        };
        if self.is_punct_at(params_at, e, "(") {
            if let Some(close) = matching(self.toks, params_at, e) {
                if self.is_punct_at(close + 1, e, "{") {
                    if let Some(end) = matching(self.toks, close + 1, e) {
                        let params = self
                            .split_top(params_at + 1, close, |t| t.is_punct(","))
                            .into_iter()
                            .filter_map(|(a, _)| self.word_at(a, close).map(str::to_string))
                            .collect();
                        return LetValue::Function {
                            params,
                            body: (close + 2, end),
                            env: env.clone(),
                        };
                    }
                }
            }
        }
        if self.is_tabular(s, e, env) {
            return LetValue::Tabular {
                range: (s, e),
                env: env.clone(),
            };
        }
        match self.expr(s, e, env) {
            Ok(node) => LetValue::Scalar(node),
            Err(d) => {
                self.diags.push(*d);
                LetValue::Opaque
            }
        }
    }

    /// Whether a `let` value is a tabular expression.
    fn is_tabular(&self, s: usize, e: usize, env: &Env) -> bool {
        let top = self.split_top(s, e, |t| t.is_punct("|"));
        if top.len() > 1 {
            return true;
        }
        if self.toks[s].is_punct("(") && matching(self.toks, s, e) == Some(e - 1) {
            return s + 1 < e - 1 && self.is_tabular(s + 1, e - 1, env);
        }
        let Some(w) = self.toks[s].word() else {
            return false;
        };
        let lw = w.to_ascii_lowercase();
        if PIPELINE_START.contains(&lw.as_str()) || lw == "materialize" || lw == "table" {
            return true;
        }
        if s + 1 == e {
            // A bare name: a table unless it is a scalar binding.
            return !matches!(lookup(env, w), Some(LetValue::Scalar(_)));
        }
        // `f(x)` where `f` is a user function returning a table.
        self.is_punct_at(s + 1, e, "(") && matches!(lookup(env, w), Some(LetValue::Function { .. }))
    }

    // ----- tabular expressions ----------------------------------------

    /// Parses `source | op | op …` into stages.
    fn parse_tabular(&mut self, s: usize, e: usize, env: &Env) -> Vec<Stage> {
        if self.depth >= MAX_DEPTH / 4 {
            self.diags.push(*error(
                "too-deep",
                "queries nested too deeply",
                self.span_of(s, e),
            ));
            return Vec::new();
        }
        self.depth += 1;
        let segments = self.split_top(s, e, |t| t.is_punct("|"));
        let mut stages = Vec::new();
        for (k, (a, b)) in segments.into_iter().enumerate() {
            if a >= b {
                let at = self.toks.get(a).map_or(self.src.len(), |t| t.span.start);
                let what = if k == 0 { "source" } else { "operator" };
                self.diags.push(*error(
                    "empty-stage",
                    format!("missing {what} before `|`"),
                    Span::new(at, at),
                ));
                continue;
            }
            if k == 0 {
                stages.extend(self.parse_source(a, b, env));
            } else {
                stages.push(self.parse_stage(a, b, env));
            }
        }
        self.depth -= 1;
        stages
    }

    /// The first segment of a tabular expression: a table, a `let` name,
    /// a function call, a parenthesised query or a source operator.
    fn parse_source(&mut self, s: usize, e: usize, env: &Env) -> Vec<Stage> {
        let first = &self.toks[s];
        if first.is_punct("(") && matching(self.toks, s, e) == Some(e - 1) {
            return self.parse_tabular(s + 1, e - 1, env);
        }
        let Some(word) = first.word() else {
            self.diags.push(*error(
                "unknown-source",
                format!(
                    "expected a table name, found `{}`",
                    first.span.slice(self.src)
                ),
                first.span,
            ));
            return vec![self.unsupported_stage(s, e, "source")];
        };
        let lw = word.to_ascii_lowercase();
        if PIPELINE_START.contains(&lw.as_str()) {
            return vec![self.parse_stage(s, e, env)];
        }
        if matches!(
            lookup(env, word),
            Some(LetValue::Tabular { .. } | LetValue::Function { .. })
        ) {
            self.expansions += 1;
            if self.expansions > MAX_EXPANSIONS {
                if self.expansions == MAX_EXPANSIONS + 1 {
                    self.diags.push(*error(
                        "too-many-expansions",
                        "too many uses of tabular `let`s to inline them all",
                        first.span,
                    ));
                }
                return vec![self.unsupported_stage(s, e, "source")];
            }
        }
        if s + 1 == e {
            return match lookup(env, word) {
                Some(LetValue::Tabular { range, env: inner }) => {
                    let (range, inner) = (*range, inner.clone());
                    self.parse_tabular(range.0, range.1, &inner)
                }
                Some(LetValue::Function {
                    body, env: inner, ..
                }) => {
                    let (body, inner) = (*body, inner.clone());
                    self.inline_function(body, inner)
                }
                Some(LetValue::Scalar(_)) => {
                    self.diags.push(*error(
                        "unknown-source",
                        format!("`{word}` is a scalar, not a table"),
                        first.span,
                    ));
                    vec![self.unsupported_stage(s, e, "source")]
                }
                _ => vec![Stage {
                    kind: "source".into(),
                    text: word.to_string(),
                    span: first.span,
                    op: Operator::Source {
                        tables: vec![word.to_string()],
                    },
                }],
            };
        }
        if self.is_punct_at(s + 1, e, "(") && matching(self.toks, s + 1, e) == Some(e - 1) {
            return self.parse_source_call(s, e, word, env);
        }
        // `T*`-style wildcards and other spellings: keep the name as written.
        if self.toks[s + 1..e].iter().all(|t| t.is_punct("*")) {
            let text = self.text_of(s, e).to_string();
            return vec![Stage {
                kind: "source".into(),
                text: text.clone(),
                span: self.span_of(s, e),
                op: Operator::Source { tables: vec![text] },
            }];
        }
        self.diags.push(*error(
            "unknown-source",
            format!("cannot read `{}` as a table", self.text_of(s, e)),
            self.span_of(s, e),
        ));
        vec![self.unsupported_stage(s, e, "source")]
    }

    /// `f(args)`, `materialize(q)` or `table('name')` as a source.
    fn parse_source_call(&mut self, s: usize, e: usize, word: &str, env: &Env) -> Vec<Stage> {
        let lw = word.to_ascii_lowercase();
        let (open, close) = (s + 1, e - 1);
        match lookup(env, word) {
            Some(LetValue::Function {
                params,
                body,
                env: inner,
            }) => {
                let mut inner = inner.clone();
                let args = self.split_top(open + 1, close, |t| t.is_punct(","));
                for (i, p) in params.iter().enumerate() {
                    let value = match args.get(i) {
                        Some(&(a, b)) if a < b => match self.expr(a, b, env) {
                            Ok(n) => LetValue::Scalar(n),
                            Err(_) => LetValue::Opaque,
                        },
                        _ => LetValue::Opaque,
                    };
                    inner.push(Rc::new(Binding {
                        name: p.clone(),
                        value,
                    }));
                }
                let body = *body;
                return self.inline_function(body, inner);
            }
            Some(LetValue::Tabular { range, env: inner }) => {
                // `x()` on a tabular binding: Kusto accepts it for views.
                let (range, inner) = (*range, inner.clone());
                return self.parse_tabular(range.0, range.1, &inner);
            }
            _ => {}
        }
        match lw.as_str() {
            "materialize" | "view" if open + 1 < close => self.parse_tabular(open + 1, close, env),
            "table" => match self.expr(open + 1, close, env) {
                Ok(Node::Str { lit, .. }) => vec![Stage {
                    kind: "source".into(),
                    text: self.text_of(s, e).to_string(),
                    span: self.span_of(s, e),
                    op: Operator::Source {
                        tables: vec![lit.value],
                    },
                }],
                _ => vec![self.unsupported_stage(s, e, "table")],
            },
            _ => vec![self.unsupported_stage(s, e, &lw)],
        }
    }

    /// The stages of a function body (its own `let`s, then its tabular
    /// statement).
    fn inline_function(&mut self, body: (usize, usize), env: Env) -> Vec<Stage> {
        if self.depth >= MAX_DEPTH / 4 {
            self.diags.push(*error(
                "too-deep",
                "functions nested too deeply",
                self.span_of(body.0, body.1),
            ));
            return Vec::new();
        }
        self.depth += 1;
        let stages = self.parse_program(body.0, body.1, env);
        self.depth -= 1;
        stages
    }

    fn unsupported_stage(&self, s: usize, e: usize, command: &str) -> Stage {
        Stage {
            kind: command.to_string(),
            text: self.text_of(s, e).to_string(),
            span: self.span_of(s, e),
            op: Operator::Unsupported {
                command: command.to_string(),
            },
        }
    }

    // ----- pipe operators ---------------------------------------------

    /// The operator name at `s` (hyphenated names such as `project-away`
    /// are several tokens) and the index after it.
    fn operator_name(&self, s: usize, e: usize) -> Option<(String, usize)> {
        let mut name = self.toks[s].word()?.to_string();
        let mut i = s + 1;
        while i + 1 < e
            && self.toks[i].is_punct("-")
            && self.toks[i].span.start == self.toks[i - 1].span.end
            && self.toks[i + 1].span.start == self.toks[i].span.end
        {
            let Some(w) = self.toks[i + 1].word() else {
                break;
            };
            name.push('-');
            name.push_str(w);
            i += 2;
        }
        Some((name.to_ascii_lowercase(), i))
    }

    /// Parses one pipe segment `[s, e)` into a stage.
    fn parse_stage(&mut self, s: usize, e: usize, env: &Env) -> Stage {
        let span = self.span_of(s, e);
        let text = span.slice(self.src).to_string();
        let Some((kind, a)) = self.operator_name(s, e) else {
            self.diags.push(*error(
                "unknown-operator",
                format!(
                    "expected an operator name, found `{}`",
                    self.toks[s].span.slice(self.src)
                ),
                self.toks[s].span,
            ));
            return Stage {
                kind: self.toks[s].span.slice(self.src).to_string(),
                text,
                span,
                op: Operator::Unsupported {
                    command: String::new(),
                },
            };
        };
        let result = match kind.as_str() {
            "where" | "filter" => self.op_where(a, e, env),
            "extend" | "serialize" => self.op_extend(a, e, env),
            "project" | "project-keep" => self.op_project(a, e, true),
            "project-away" => self.op_project(a, e, false),
            "project-reorder" => Ok(Operator::Project {
                fields: vec!["*".into()],
                keep: true,
            }),
            "project-rename" => self.op_rename(a, e),
            "summarize" => self.op_summarize(a, e, env),
            "distinct" => Ok(Operator::Stats {
                mode: StatsMode::Stats,
                aggs: Vec::new(),
                by: self.names(a, e),
            }),
            "count" => Ok(Operator::Stats {
                mode: StatsMode::Stats,
                aggs: vec![Aggregate {
                    func: "count".into(),
                    field: None,
                    alias: Some("Count".into()),
                }],
                by: Vec::new(),
            }),
            "take" | "limit" => self.count_arg(a, e, env).map(|n| Operator::Head { n }),
            "top" => self.op_top(a, e, env),
            "sort" | "order" => self.op_sort(a, e),
            "mv-expand" | "mvexpand" => self.op_mv_expand(a, e),
            "parse" => self.op_parse(a, e, env),
            "join" => self.op_join(a, e, env),
            "union" => self.op_union(a, e, env),
            // Naming or drawing the result leaves the rows as they are.
            "render" | "as" => Ok(Operator::Eval {
                assignments: Vec::new(),
            }),
            k if KNOWN_UNSUPPORTED.contains(&k) => Ok(Operator::Unsupported {
                command: kind.clone(),
            }),
            _ => {
                self.diags.push(Diagnostic::logic(
                    Severity::Warning,
                    "unknown-operator",
                    format!("unknown tabular operator `{kind}`"),
                    self.span_of(s, a),
                ));
                Ok(Operator::Unsupported {
                    command: kind.clone(),
                })
            }
        };
        let op = result.unwrap_or_else(|d| {
            self.diags.push(*d);
            Operator::Unsupported {
                command: kind.clone(),
            }
        });
        Stage {
            kind,
            text,
            span,
            op,
        }
    }

    fn op_where(&self, a: usize, e: usize, env: &Env) -> OpResult {
        let node = self.expr(a, e, env)?;
        Ok(Operator::Filter {
            expr: to_expr(&node),
            logic: Logic::ThreeValued,
        })
    }

    /// `name = expr` at the start of `[a, b)`: the name and where the
    /// expression starts.
    fn assignment_name(&self, a: usize, b: usize) -> Option<(String, usize)> {
        let w = self.word_at(a, b)?;
        self.is_punct_at(a + 1, b, "=")
            .then(|| (w.to_string(), a + 2))
    }

    /// `(a, b) = expr` at the start of `[a, b)`: the names and where the
    /// expression starts.
    fn tuple_assignment(&self, a: usize, b: usize) -> Option<(Vec<String>, usize)> {
        if !self.is_punct_at(a, b, "(") {
            return None;
        }
        let close = matching(self.toks, a, b)?;
        if !self.is_punct_at(close + 1, b, "=") {
            return None;
        }
        let names = self
            .split_top(a + 1, close, |t| t.is_punct(","))
            .into_iter()
            .map(|(s, e)| match (e - s, self.word_at(s, e)) {
                (1, Some(w)) => Some(w.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some((names, close + 2))
    }

    fn op_extend(&self, a: usize, e: usize, env: &Env) -> OpResult {
        let mut assignments = Vec::new();
        if a >= e {
            return Ok(Operator::Eval { assignments });
        }
        for (n, (s, b)) in self
            .split_top(a, e, |t| t.is_punct(","))
            .into_iter()
            .enumerate()
        {
            if let Some((names, from)) = self.tuple_assignment(s, b) {
                // `(a, b) = f(x)`: column i of the result is `index(f(x), i)`.
                let value = to_scalar(&self.expr(from, b, env)?);
                for (i, name) in names.into_iter().enumerate() {
                    let value = Scalar::Call {
                        name: "index".into(),
                        args: vec![
                            value.clone(),
                            Scalar::Num {
                                text: i.to_string(),
                            },
                        ],
                    };
                    assignments.push(Assignment { name, value });
                }
                continue;
            }
            let (name, from) = match self.assignment_name(s, b) {
                Some(x) => x,
                None => (String::new(), s),
            };
            let node = self.expr(from, b, env)?;
            let name = if name.is_empty() {
                match &node {
                    Node::Ident { name, .. } => name.clone(),
                    _ => format!("Column{}", n + 1),
                }
            } else {
                name
            };
            assignments.push(Assignment {
                name,
                value: to_scalar(&node),
            });
        }
        Ok(Operator::Eval { assignments })
    }

    /// Output column names of a comma list (`a, b = expr, c*`).
    fn names(&self, a: usize, e: usize) -> Vec<String> {
        if a >= e {
            return Vec::new();
        }
        self.split_top(a, e, |t| t.is_punct(","))
            .into_iter()
            .filter(|(s, b)| s < b)
            .map(|(s, b)| {
                if let Some((name, _)) = self.assignment_name(s, b) {
                    return name;
                }
                match (b - s, self.toks[s].word()) {
                    (1, Some(w)) => w.to_string(),
                    _ => self.text_of(s, b).to_string(),
                }
            })
            .collect()
    }

    fn op_project(&self, a: usize, e: usize, keep: bool) -> OpResult {
        Ok(Operator::Project {
            fields: self.names(a, e),
            keep,
        })
    }

    fn op_rename(&self, a: usize, e: usize) -> OpResult {
        let mut pairs = Vec::new();
        for (s, b) in self.split_top(a, e, |t| t.is_punct(",")) {
            match self.assignment_name(s, b) {
                Some((new, from)) if from + 1 == b && self.toks[from].word().is_some() => {
                    let old = self.toks[from].word().unwrap_or_default().to_string();
                    pairs.push((old, new));
                }
                _ => {
                    return Err(error(
                        "bad-rename",
                        "expected `new = old`",
                        self.span_of(s, b),
                    ))
                }
            }
        }
        Ok(Operator::Rename { pairs })
    }

    /// Skips `hint.x = v` and `name = value` parameters listed in `keys`;
    /// returns the index after them and the value of `kind=`, if any.
    fn skip_params(&self, mut i: usize, e: usize, keys: &[&str]) -> (usize, Option<String>) {
        let mut kind = None;
        while let Some(w) = self.word_at(i, e) {
            let lw = w.to_ascii_lowercase();
            if lw == "hint" && self.is_punct_at(i + 1, e, ".") {
                // hint.strategy = shuffle
                if self.is_punct_at(i + 3, e, "=") && i + 4 < e {
                    i += 5;
                    continue;
                }
                break;
            }
            if keys.contains(&lw.as_str()) && self.is_punct_at(i + 1, e, "=") && i + 2 < e {
                if lw == "kind" {
                    kind = Some(self.text_of(i + 2, i + 3).to_string());
                }
                i += 3;
                continue;
            }
            break;
        }
        (i, kind)
    }

    fn op_summarize(&self, a: usize, e: usize, env: &Env) -> OpResult {
        let (a, _) = self.skip_params(a, e, &[]);
        let by_at = self.find_top_word(a, e, "by");
        let aggs_end = by_at.unwrap_or(e);
        let mut aggs = Vec::new();
        if a < aggs_end {
            for (s, b) in self.split_top(a, aggs_end, |t| t.is_punct(",")) {
                let (alias, from) = match self.assignment_name(s, b) {
                    Some((n, f)) => (Some(n), f),
                    // `(a, b) = arg_max(x, y)`: the first name is the aggregate's.
                    None => match self.tuple_assignment(s, b) {
                        Some((names, f)) => (names.into_iter().next(), f),
                        None => (None, s),
                    },
                };
                let node = self.expr(from, b, env)?;
                let (func, field) = match &node {
                    Node::Call { name, args, .. } => (
                        name.clone(),
                        args.first().map(|arg| match arg {
                            Node::Ident { name, .. } => name.clone(),
                            other => other.span().slice(self.src).to_string(),
                        }),
                    ),
                    other => (
                        "expr".to_string(),
                        Some(other.span().slice(self.src).to_string()),
                    ),
                };
                aggs.push(Aggregate { func, field, alias });
            }
        }
        let mut by = Vec::new();
        if let Some(k) = by_at {
            for (s, b) in self.split_top(k + 1, e, |t| t.is_punct(",")) {
                if let Some((name, _)) = self.assignment_name(s, b) {
                    by.push(name);
                    continue;
                }
                let node = self.expr(s, b, env)?;
                by.push(key_name(&node).unwrap_or_else(|| self.text_of(s, b).to_string()));
            }
        }
        Ok(Operator::Stats {
            mode: StatsMode::Stats,
            aggs,
            by,
        })
    }

    /// A row count argument (`take 10`, `top N`, or a `let` bound to one).
    fn count_arg(&self, a: usize, e: usize, env: &Env) -> Result<usize, Box<Diagnostic>> {
        let node = self.expr(a, e, env)?;
        match &node {
            Node::Num { text, .. } => text.parse::<usize>().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            error(
                "bad-count",
                "expected a non-negative whole number of rows",
                self.span_of(a, e),
            )
        })
    }

    /// Sort keys `a desc, b asc nulls last` (Kusto sorts descending by default).
    fn sort_keys(&self, a: usize, e: usize) -> Result<Vec<SortKey>, Box<Diagnostic>> {
        let mut keys = Vec::new();
        for (s, mut b) in self.split_top(a, e, |t| t.is_punct(",")) {
            let mut descending = true;
            if b >= s + 2
                && self.toks[b - 2].is_word("nulls")
                && (self.toks[b - 1].is_word("first") || self.toks[b - 1].is_word("last"))
            {
                b -= 2;
            }
            if b > s + 1 {
                if self.toks[b - 1].is_word("asc") {
                    descending = false;
                    b -= 1;
                } else if self.toks[b - 1].is_word("desc") {
                    b -= 1;
                }
            }
            if s >= b {
                return Err(error(
                    "expected-expression",
                    "expected a sort key",
                    self.span_of(s, b),
                ));
            }
            let field = match (b - s, self.toks[s].word()) {
                (1, Some(w)) => w.to_string(),
                _ => self.text_of(s, b).to_string(),
            };
            keys.push(SortKey { field, descending });
        }
        Ok(keys)
    }

    fn op_sort(&self, a: usize, e: usize) -> OpResult {
        if !self.toks.get(a).is_some_and(|t| t.is_word("by")) || a >= e {
            return Err(error(
                "expected-by",
                "expected `by` after `sort`",
                self.span_of(a, e),
            ));
        }
        Ok(Operator::Sort {
            keys: self.sort_keys(a + 1, e)?,
            limit: None,
        })
    }

    fn op_top(&self, a: usize, e: usize, env: &Env) -> OpResult {
        let Some(by) = self.find_top_word(a, e, "by") else {
            return Err(error(
                "expected-by",
                "expected `by` in `top`",
                self.span_of(a, e),
            ));
        };
        let n = self.count_arg(a, by, env)?;
        Ok(Operator::Sort {
            keys: self.sort_keys(by + 1, e)?,
            limit: Some(n),
        })
    }

    fn op_mv_expand(&self, a: usize, e: usize) -> OpResult {
        let (a, _) = self.skip_params(a, e, &["bagexpansion", "with_itemindex", "kind"]);
        let (s, b) = self.split_top(a, e, |t| t.is_punct(","))[0];
        // `to typeof(string)` and `limit N` qualify the column; drop them.
        let b = self.find_top_word(s, b, "to").unwrap_or(b);
        let b = self.find_top_word(s, b, "limit").unwrap_or(b);
        let from = self.assignment_name(s, b).map_or(s, |(_, f)| f);
        if from >= b {
            return Err(error(
                "expected-expression",
                "expected a column to expand",
                self.span_of(s, b),
            ));
        }
        let field = match (b - from, self.toks[from].word()) {
            (1, Some(w)) => w.to_string(),
            _ => self.text_of(from, b).to_string(),
        };
        Ok(Operator::MvExpand { field })
    }

    fn op_parse(&self, a: usize, e: usize, env: &Env) -> OpResult {
        let (a, kind) = self.skip_params(a, e, &["kind", "flags"]);
        let Some(with) = self.find_top_word(a, e, "with") else {
            return Err(error(
                "expected-with",
                "expected `with` in `parse`",
                self.span_of(a, e),
            ));
        };
        let node = self.expr(a, with, env)?;
        let field = match &node {
            Node::Ident { name, .. } => name.clone(),
            other => other.span().slice(self.src).to_string(),
        };
        let regex_mode = kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("regex"));
        let pattern = self.parse_template(with + 1, e, regex_mode)?;
        Ok(Operator::Extract {
            field,
            pattern,
            mode: ExtractMode::Template,
            max_match: 1,
        })
    }

    /// Translates a `parse` template (`* "k=" v:int " " *`) into a regex
    /// with one named group per column.
    fn parse_template(
        &self,
        a: usize,
        e: usize,
        regex_mode: bool,
    ) -> Result<String, Box<Diagnostic>> {
        enum Part {
            Any,
            Lit(String),
            Col(String, String),
        }
        let mut parts = Vec::new();
        let mut i = a;
        while i < e {
            let t = &self.toks[i];
            match &t.kind {
                TokKind::Punct("*") => parts.push(Part::Any),
                TokKind::Str { value } => match parts.last_mut() {
                    // Adjacent literals concatenate, as elsewhere.
                    Some(Part::Lit(prev))
                        if i > a && matches!(self.toks[i - 1].kind, TokKind::Str { .. }) =>
                    {
                        prev.push_str(value)
                    }
                    _ => parts.push(Part::Lit(value.clone())),
                },
                TokKind::Word(w) => {
                    let mut ty = String::from("string");
                    if self.is_punct_at(i + 1, e, ":") {
                        if let Some(tw) = self.word_at(i + 2, e) {
                            ty = tw.to_ascii_lowercase();
                            i += 2;
                        }
                    }
                    parts.push(Part::Col(w.clone(), ty));
                }
                _ => {
                    return Err(error(
                        "bad-template",
                        format!("unexpected `{}` in parse template", t.span.slice(self.src)),
                        t.span,
                    ))
                }
            }
            i += 1;
        }
        if parts.is_empty() {
            return Err(error(
                "bad-template",
                "empty parse template",
                self.span_of(a, e),
            ));
        }
        let mut re = String::from("^");
        let n = parts.len();
        for (k, part) in parts.iter().enumerate() {
            let last = k + 1 == n;
            match part {
                Part::Any => re.push_str(if last { ".*" } else { ".*?" }),
                Part::Lit(v) if regex_mode => re.push_str(v),
                Part::Lit(v) => re.push_str(&regex_syntax::escape(v)),
                Part::Col(name, ty) => {
                    let body = match ty.as_str() {
                        "int" | "long" => r"-?\d+",
                        "real" | "double" | "decimal" => r"-?\d+(?:\.\d+)?",
                        _ if last => ".*",
                        _ => ".*?",
                    };
                    re.push_str(&format!("(?P<{name}>{body})"));
                    if last {
                        re.push('$');
                    }
                }
            }
        }
        Ok(re)
    }

    fn op_join(&mut self, a: usize, e: usize, env: &Env) -> OpResult {
        let (i, kind) = self.skip_params(a, e, &["kind", "withsource"]);
        if i >= e {
            return Err(error(
                "expected-subquery",
                "expected the right side of `join`",
                self.span_of(a, e),
            ));
        }
        let on = self.find_top_word(i, e, "on");
        let right_end = on.unwrap_or(e);
        let stages = if self.toks[i].is_punct("(")
            && matching(self.toks, i, right_end) == Some(right_end - 1)
        {
            self.parse_tabular(i + 1, right_end - 1, env)
        } else {
            self.parse_source(i, right_end, env)
        };
        let mut fields = Vec::new();
        if let Some(on) = on {
            for (s, b) in self.split_top(on + 1, e, |t| t.is_punct(",")) {
                let node = self.expr(s, b, env)?;
                fields.push(join_key(&node).unwrap_or_else(|| self.text_of(s, b).to_string()));
            }
        }
        Ok(Operator::Join {
            kind,
            fields,
            subquery: Box::new(Query {
                stages,
                diagnostics: Vec::new(),
            }),
        })
    }

    fn op_union(&mut self, a: usize, e: usize, env: &Env) -> OpResult {
        let (i, _) = self.skip_params(a, e, &["kind", "withsource", "isfuzzy"]);
        let mut tables = Vec::new();
        let mut subqueries = Vec::new();
        if i >= e {
            return Err(error(
                "expected-table",
                "expected tables after `union`",
                self.span_of(a, e),
            ));
        }
        for (s, b) in self.split_top(i, e, |t| t.is_punct(",")) {
            if s >= b {
                return Err(error(
                    "expected-table",
                    "empty `union` item",
                    self.span_of(s, b),
                ));
            }
            let name = self.toks[s].word();
            let bound = name.and_then(|n| lookup(env, n)).is_some();
            let plain =
                name.is_some() && self.toks[s + 1..b].iter().all(|t| t.is_punct("*")) && !bound;
            if plain {
                tables.push(self.text_of(s, b).to_string());
            } else {
                let stages = self.parse_source(s, b, env);
                subqueries.push(Query {
                    stages,
                    diagnostics: Vec::new(),
                });
            }
        }
        Ok(Operator::Union { tables, subqueries })
    }
}

/// The output column of a `by` key: the field itself, or the field under
/// `bin(f, 1h)`, `tostring(f)` and similar one-field wrappers.
fn key_name(node: &Node) -> Option<String> {
    match node {
        Node::Ident { name, .. } => Some(name.clone()),
        Node::Call { args, .. } => args.first().and_then(key_name),
        _ => None,
    }
}

/// A join key: `f`, or `$left.a == $right.b` as `a` when both sides name
/// the same column and `a=b` (left first) otherwise.
fn join_key(node: &Node) -> Option<String> {
    match node {
        Node::Ident { name, .. } => Some(name.clone()),
        Node::Bin { op, lhs, rhs, .. } if op == "==" => {
            let (Node::Ident { name: l, .. }, Node::Ident { name: r, .. }) = (&**lhs, &**rhs)
            else {
                return None;
            };
            let (l, r) = if r.starts_with("$left.") {
                (r, l)
            } else {
                (l, r)
            };
            let l = l.strip_prefix("$left.").unwrap_or(l);
            let r = r.strip_prefix("$right.").unwrap_or(r);
            Some(if l == r {
                l.to_string()
            } else {
                format!("{l}={r}")
            })
        }
        _ => None,
    }
}
