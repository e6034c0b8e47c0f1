//! Lowering of sqlparser's AST to the shared IR: stages per clause, `Cmp`
//! predicates for the indicator-shaped comparisons, `Scalar` for the rest.

use sqlparser::ast::{
    self, BinaryOperator, CastKind, Expr as SqlExpr, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, JoinConstraint, JoinOperator, ObjectName, SelectItem, SetExpr,
    Spanned, TableFactor, UnaryOperator, Value,
};
use sqlparser::tokenizer::Token;

use super::clauses::{self, Clause};
use super::escape;
use super::source::{Source, Tok};
use super::template::Placeholder;
use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::{
    Aggregate, Assignment, BinOp, Cmp, CmpOp, Expr, Flags, Literal, Logic, Operator, Query, Scalar,
    SortKey, Stage, StatsMode, UnaryOp, Wildcard,
};

/// How deep CTE references and derived tables are inlined before giving up
/// (a CTE naming itself would otherwise recurse forever).
const MAX_INLINE_DEPTH: usize = 16;

/// Functions whose first argument is a date or time part keyword
/// (`dateadd(hour, …)`), not a column.
const DATE_PART_FUNCS: &[&str] = &[
    "dateadd",
    "datediff",
    "date_part",
    "date_trunc",
    "timeadd",
    "timediff",
    "timestampadd",
    "timestampdiff",
    "time_slice",
    "last_day",
];

/// Aggregate functions recognised in a select list.
const AGGREGATES: &[&str] = &[
    "count",
    "count_if",
    "sum",
    "avg",
    "min",
    "max",
    "median",
    "mode",
    "any_value",
    "array_agg",
    "array_unique_agg",
    "listagg",
    "object_agg",
    "approx_count_distinct",
    "hll",
    "stddev",
    "variance",
    "min_by",
    "max_by",
];

/// The lowering context: the texts, tokens and what was found so far.
pub struct Lower<'a> {
    /// The original logic (stage texts and raw literals come from here).
    logic: &'a str,
    /// The text sqlparser parsed.
    src: &'a Source,
    /// Its tokens.
    toks: &'a [Tok],
    /// Indices of the significant (non-whitespace) tokens, in order.
    sig: Vec<usize>,
    /// Placeholders substituted before parsing.
    placeholders: &'a [Placeholder],
    /// Diagnostics found while lowering.
    pub diagnostics: Vec<Diagnostic>,
    /// CTEs in scope, innermost last: `(lower-case name, query)`.
    ctes: Vec<(String, &'a ast::Query)>,
    /// Current inlining depth.
    depth: usize,
}

impl<'a> Lower<'a> {
    /// A context over one parsed text.
    pub fn new(
        logic: &'a str,
        src: &'a Source,
        toks: &'a [Tok],
        placeholders: &'a [Placeholder],
    ) -> Self {
        Lower {
            logic,
            src,
            toks,
            sig: clauses::significant(toks),
            placeholders,
            diagnostics: Vec::new(),
            ctes: Vec::new(),
            depth: 0,
        }
    }

    // ---- spans -------------------------------------------------------

    /// The source-text span of an AST node, if it has one.
    fn src_span(&self, node: &impl Spanned) -> Option<Span> {
        self.src.span(node.span()).filter(|s| !s.is_empty())
    }

    /// The logic span of a source-text span.
    fn logic_span(&self, s: Span) -> Span {
        self.src.span_to_logic(s)
    }

    /// The logic text of a source-text span.
    fn text(&self, s: Span) -> String {
        self.logic_span(s).slice(self.logic).to_string()
    }

    /// Index of the first significant token starting at or after `off`.
    fn tok_at(&self, off: usize) -> Option<usize> {
        let k = self.sig.partition_point(|&i| self.toks[i].span.start < off);
        self.sig.get(k).copied()
    }

    /// Index of the last significant token ending at or before `off`.
    fn tok_before(&self, off: usize) -> Option<usize> {
        let k = self.sig.partition_point(|&i| self.toks[i].span.end <= off);
        k.checked_sub(1).map(|k| self.sig[k])
    }

    /// Extends `s` until its parentheses balance (sqlparser spans stop at
    /// the last argument, before the closing parenthesis).
    fn balance(&self, s: Span) -> Span {
        let mut depth: i64 = 0;
        let mut end = s.end;
        let first = self
            .sig
            .partition_point(|&i| self.toks[i].span.start < s.start);
        for &i in &self.sig[first..] {
            let t = &self.toks[i];
            if t.span.start >= s.end && depth <= 0 {
                break;
            }
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            end = end.max(t.span.end);
        }
        Span::new(s.start, end)
    }

    /// The source span of a whole expression, keywords and parentheses
    /// included where sqlparser leaves them out.
    fn expr_span(&self, e: &SqlExpr) -> Span {
        let mut base = self.src_span(e).unwrap_or_default();
        // Composite shapes: the union of the operands' own (fixed) spans,
        // since sqlparser's can stop short (JSON paths, `RLIKE`).
        let parts: Vec<&SqlExpr> = match e {
            SqlExpr::BinaryOp { left, right, .. } => vec![left, right],
            SqlExpr::Like { expr, pattern, .. } | SqlExpr::ILike { expr, pattern, .. } => {
                vec![expr, pattern]
            }
            SqlExpr::Between {
                expr, low, high, ..
            } => vec![expr, low, high],
            SqlExpr::In {
                expr,
                target: ast::InTarget::List(list),
                ..
            } => std::iter::once(expr.as_ref()).chain(list).collect(),
            SqlExpr::IsNull(x) | SqlExpr::IsNotNull(x) => vec![x],
            _ => Vec::new(),
        };
        for p in parts {
            let ps = self.expr_span(p);
            if ps.is_empty() {
                continue;
            }
            base = if base.is_empty() { ps } else { base.join(ps) };
        }
        match e {
            // sqlparser gives `RLIKE` no span at all.
            SqlExpr::RLike { expr, pattern, .. } => {
                self.balance(self.expr_span(expr).join(self.expr_span(pattern)))
            }
            SqlExpr::JsonAccess { value, .. } => {
                // The path has no span: take the tokens glued to the
                // column (`raw:event.name`), stopping at `::` casts.
                let mut s = self.expr_span(value);
                let mut i = self.toks.partition_point(|t| t.span.start < s.end);
                let mut depth = 0usize;
                while let Some(t) = self.toks.get(i) {
                    let glued = match t.token {
                        Token::LBracket => {
                            depth += 1;
                            true
                        }
                        Token::RBracket if depth > 0 => {
                            depth -= 1;
                            true
                        }
                        Token::Whitespace(_) | Token::DoubleColon | Token::EOF => depth > 0,
                        Token::Colon | Token::Period | Token::Word(_) | Token::Number(..) => true,
                        Token::SingleQuotedString(_) | Token::DoubleQuotedString(_) => depth > 0,
                        _ => false,
                    };
                    if !glued || t.token == Token::EOF {
                        break;
                    }
                    s = s.join(t.span);
                    i += 1;
                }
                s
            }
            SqlExpr::UnaryOp { expr, .. } => {
                // The operand's span; take the operator token before it.
                let inner = self.expr_span(expr);
                match self.tok_before(inner.start) {
                    Some(k)
                        if matches!(self.toks[k].token, Token::Minus | Token::Plus)
                            || clauses::keyword(&self.toks[k])
                                == Some(sqlparser::keywords::Keyword::NOT) =>
                    {
                        Span::new(self.toks[k].span.start, inner.end)
                    }
                    _ => inner,
                }
            }
            SqlExpr::Nested(_) => {
                // Include the parentheses around the inner expression.
                let open = self.tok_before(base.start);
                let close = self.tok_at(base.end);
                match (open, close) {
                    (Some(o), Some(c))
                        if self.toks[o].token == Token::LParen
                            && self.toks[c].token == Token::RParen =>
                    {
                        Span::new(self.toks[o].span.start, self.toks[c].span.end)
                    }
                    _ => base,
                }
            }
            SqlExpr::IsNull(_) | SqlExpr::IsNotNull(_) => {
                let mut s = self.balance(base);
                // Take `is [not] null` after the operand.
                let mut i = self.tok_at(s.end);
                for _ in 0..3 {
                    let Some(k) = i else { break };
                    let t = &self.toks[k];
                    let kw = clauses::keyword(t);
                    if !matches!(
                        kw,
                        Some(
                            sqlparser::keywords::Keyword::IS
                                | sqlparser::keywords::Keyword::NOT
                                | sqlparser::keywords::Keyword::NULL
                        )
                    ) {
                        break;
                    }
                    s = s.join(t.span);
                    if kw == Some(sqlparser::keywords::Keyword::NULL) {
                        break;
                    }
                    i = self.tok_at(t.span.end);
                }
                s
            }
            SqlExpr::Function(_) => {
                let s = self.balance(base);
                // `sysdate()`: no argument spans, so take `(` `)` here.
                match self.tok_at(s.end) {
                    Some(k)
                        if self.toks[k].token == Token::LParen && !self.text(s).contains('(') =>
                    {
                        self.balance(Span::new(s.start, self.toks[k].span.end))
                    }
                    _ => s,
                }
            }
            _ => self.balance(base),
        }
    }

    // ---- queries -----------------------------------------------------

    /// Stages of a whole query (CTEs, body, `ORDER BY`, `LIMIT`).
    pub fn query(&mut self, q: &'a ast::Query) -> Vec<Stage> {
        let scope = self.ctes.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.ctes
                    .push((cte.alias.name.value.to_lowercase(), &cte.query));
            }
        }
        let mut stages = self.set_expr(&q.body);
        let tail = self.tail_clauses(&q.body);
        if let Some(order) = &q.order_by {
            if let ast::OrderByKind::Expressions(exprs) = &order.kind {
                let keys = exprs
                    .iter()
                    .map(|o| SortKey {
                        field: self.field_or_text(&o.expr),
                        descending: matches!(o.options.sort, Some(ast::OrderBySort::Desc)),
                    })
                    .collect();
                let span = tail
                    .iter()
                    .find(|(c, _)| *c == Clause::OrderBy)
                    .map(|c| c.1)
                    .or_else(|| self.src_span(order))
                    .unwrap_or_default();
                stages.push(self.stage("order by", span, Operator::Sort { keys, limit: None }));
            }
        }
        if let Some(ast::LimitClause::LimitOffset {
            limit: Some(limit), ..
        }) = &q.limit_clause
        {
            let span = tail
                .iter()
                .find(|(c, _)| *c == Clause::Limit)
                .map(|c| c.1)
                .or_else(|| self.src_span(limit))
                .unwrap_or_default();
            let op = match self.text(self.expr_span(limit)).trim().parse::<usize>() {
                Ok(n) => Operator::Head { n },
                Err(_) => Operator::Unsupported {
                    command: "limit".to_string(),
                },
            };
            stages.push(self.stage("limit", span, op));
        }
        self.ctes.truncate(scope);
        stages
    }

    /// The clauses of the last `SELECT` block of a body, where a query's
    /// own `ORDER BY` and `LIMIT` are found.
    fn tail_clauses(&self, body: &SetExpr) -> Vec<(Clause, Span)> {
        let mut b = body;
        loop {
            match b {
                SetExpr::SetOperation { right, .. } => b = right,
                SetExpr::Select(s) => {
                    let start = self.src.span(s.select_token.0.span).map_or(0, |s| s.start);
                    return clauses::split(self.toks, start);
                }
                _ => return Vec::new(),
            }
        }
    }

    /// Stages of a query body.
    fn set_expr(&mut self, body: &'a SetExpr) -> Vec<Stage> {
        match body {
            SetExpr::Select(s) => self.select(s),
            SetExpr::Query(q) => self.nested(q),
            SetExpr::SetOperation {
                op, left, right, ..
            } => {
                let mut stages = self.set_expr(left);
                let right_stages = self.set_expr(right);
                let span = self.src_span(right.as_ref()).unwrap_or_default();
                let kind = op.to_string().to_lowercase();
                let op = if matches!(op, ast::SetOperator::Union) {
                    Operator::Union {
                        tables: Vec::new(),
                        subqueries: vec![Query {
                            stages: right_stages,
                            diagnostics: Vec::new(),
                        }],
                    }
                } else {
                    Operator::Unsupported {
                        command: kind.clone(),
                    }
                };
                stages.push(self.stage(&kind, span, op));
                stages
            }
            other => {
                let span = self.src_span(other).unwrap_or_default();
                vec![self.stage(
                    "sql",
                    span,
                    Operator::Unsupported {
                        command: first_word(&self.text(span)),
                    },
                )]
            }
        }
    }

    /// Stages of a nested query, with a depth guard.
    fn nested(&mut self, q: &'a ast::Query) -> Vec<Stage> {
        if self.depth >= MAX_INLINE_DEPTH {
            let span = self.src_span(q).unwrap_or_default();
            self.diagnostics.push(Diagnostic::logic(
                Severity::Error,
                "sql-nesting",
                "subqueries or CTE references nest too deeply to inline",
                self.logic_span(span),
            ));
            return Vec::new();
        }
        self.depth += 1;
        let stages = self.query(q);
        self.depth -= 1;
        stages
    }

    /// Builds a stage whose text is the logic under `span`.
    fn stage(&self, kind: &str, span: Span, op: Operator) -> Stage {
        let span = self.logic_span(span);
        Stage {
            kind: kind.to_string(),
            text: span.slice(self.logic).to_string(),
            span,
            op,
        }
    }

    /// Stages of one `SELECT` block.
    fn select(&mut self, s: &'a ast::Select) -> Vec<Stage> {
        let start = self.src.span(s.select_token.0.span).map_or(0, |s| s.start);
        let cls = clauses::split(self.toks, start);
        let clause = |c: Clause, fallback: Option<Span>| {
            cls.iter()
                .find(|(k, _)| *k == c)
                .map(|k| k.1)
                .or(fallback)
                .unwrap_or_default()
        };
        let mut stages = Vec::new();

        if !s.from.is_empty() {
            let from_span = clause(Clause::From, None);
            stages.extend(self.from(&s.from, from_span));
        }
        if let Some(w) = &s.selection {
            let span = clause(Clause::Where, self.src_span(w));
            let expr = self.expr(w);
            stages.push(self.stage("where", span, filter(expr)));
        }

        let (aggs, has_aggs) = self.aggregates(&s.projection);
        let by: Vec<String> = match &s.group_by {
            GroupByExpr::Expressions(exprs, _) => {
                exprs.iter().map(|e| self.field_or_text(e)).collect()
            }
            GroupByExpr::All(_) => vec!["*".to_string()],
        };
        if !by.is_empty() {
            let span = clause(Clause::GroupBy, None);
            stages.push(self.stage(
                "group by",
                span,
                Operator::Stats {
                    mode: StatsMode::Stats,
                    aggs: aggs.clone(),
                    by,
                },
            ));
        } else if has_aggs {
            // `select count(*) from …`: one group, stated by the select list.
            let span = clause(Clause::Select, None);
            stages.push(self.stage(
                "select",
                span,
                Operator::Stats {
                    mode: StatsMode::Stats,
                    aggs: aggs.clone(),
                    by: Vec::new(),
                },
            ));
        }
        if let Some(h) = &s.having {
            let span = clause(Clause::Having, self.src_span(h));
            let expr = self.expr(h);
            stages.push(self.stage("having", span, filter(expr)));
        }
        if let Some(q) = &s.qualify {
            let span = clause(Clause::Qualify, self.src_span(q));
            let expr = self.expr(q);
            stages.push(self.stage("qualify", span, filter(expr)));
        }

        let select_span = clause(Clause::Select, None);
        let assignments = self.assignments(&s.projection);
        if !assignments.is_empty() {
            stages.push(self.stage("select", select_span, Operator::Eval { assignments }));
        }
        let (fields, keep) = self.projection(&s.projection);
        stages.push(self.stage("select", select_span, Operator::Project { fields, keep }));
        stages
    }

    /// Stages of a `FROM` list: the first relation's source (or inlined
    /// subquery / CTE), then one `join` stage per further relation.
    fn from(&mut self, from: &'a [ast::TableWithJoins], span: Span) -> Vec<Stage> {
        let mut stages = Vec::new();
        for (n, twj) in from.iter().enumerate() {
            if n == 0 {
                stages.extend(self.relation(&twj.relation, span));
            } else {
                let sub = self.relation(&twj.relation, span);
                let rspan = self.src_span(&twj.relation).unwrap_or(span);
                stages.push(self.stage(
                    "join",
                    rspan,
                    Operator::Join {
                        kind: Some("cross".to_string()),
                        fields: Vec::new(),
                        subquery: Box::new(Query {
                            stages: sub,
                            diagnostics: Vec::new(),
                        }),
                    },
                ));
            }
            for join in &twj.joins {
                let sub = self.relation(&join.relation, span);
                let (kind, constraint) = join_kind(&join.join_operator);
                let mut jspan = self.src_span(&join.relation).unwrap_or(span);
                let mut fields = Vec::new();
                match constraint {
                    Some(JoinConstraint::On(e)) => {
                        jspan = jspan.join(self.expr_span(e));
                        join_fields(e, &mut fields);
                    }
                    Some(JoinConstraint::Using(names)) => {
                        fields.extend(names.iter().map(object_name));
                    }
                    _ => {}
                }
                stages.push(self.stage(
                    "join",
                    jspan,
                    Operator::Join {
                        kind: Some(kind.to_string()),
                        fields,
                        subquery: Box::new(Query {
                            stages: sub,
                            diagnostics: Vec::new(),
                        }),
                    },
                ));
            }
        }
        stages
    }

    /// Stages producing the rows of one relation.
    fn relation(&mut self, rel: &'a TableFactor, span: Span) -> Vec<Stage> {
        match rel {
            TableFactor::Table { name, .. } => {
                let table = object_name(name);
                let cte = self
                    .ctes
                    .iter()
                    .rev()
                    .find(|(n, _)| name.0.len() == 1 && *n == table.to_lowercase())
                    .map(|c| c.1);
                match cte {
                    // A CTE reference runs the CTE's own stages.
                    Some(q) => self.nested(q),
                    None => {
                        let table = self.placeholder_text(name).unwrap_or(table);
                        vec![self.stage(
                            "from",
                            span,
                            Operator::Source {
                                tables: vec![table],
                            },
                        )]
                    }
                }
            }
            TableFactor::Derived { subquery, .. } => self.nested(subquery),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.from(std::slice::from_ref(table_with_joins.as_ref()), span),
            other => {
                let text = self
                    .src_span(other)
                    .map(|s| self.text(s))
                    .unwrap_or_default();
                vec![self.stage("from", span, Operator::Source { tables: vec![text] })]
            }
        }
    }

    /// The placeholder spelled where a one-part table name is.
    fn placeholder_text(&self, name: &ObjectName) -> Option<String> {
        let [part] = name.0.as_slice() else {
            return None;
        };
        let ident = part.as_ident()?;
        self.placeholder(ident).map(|p| p.text.clone())
    }

    /// The placeholder an identifier stands for, if it was substituted.
    fn placeholder(&self, ident: &ast::Ident) -> Option<&'a Placeholder> {
        if ident.quote_style != Some('"') {
            return None;
        }
        let start = self.src.offset(ident.span.start)?;
        let start = self.src.to_logic(start);
        self.placeholders.iter().find(|p| p.span.start == start)
    }

    // ---- select list ---------------------------------------------------

    /// Aggregates of a select list, and whether there are any.
    fn aggregates(&self, items: &[SelectItem]) -> (Vec<Aggregate>, bool) {
        let mut aggs = Vec::new();
        for item in items {
            let (e, alias) = match item {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
                _ => continue,
            };
            let SqlExpr::Function(f) = e else { continue };
            let name = function_name(&f.name);
            if !AGGREGATES.contains(&name.as_str()) || f.over.is_some() {
                continue;
            }
            let (args, distinct) = match &f.args {
                FunctionArguments::List(l) => (
                    l.args.as_slice(),
                    matches!(
                        l.duplicate_treatment,
                        Some(ast::DuplicateTreatment::Distinct)
                    ),
                ),
                _ => (&[][..], false),
            };
            let field = args.first().and_then(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(self.field_or_text(e)),
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => None,
                _ => None,
            });
            let func = match (name.as_str(), distinct) {
                ("count", true) => "dc".to_string(),
                _ => name,
            };
            aggs.push(Aggregate {
                func,
                field,
                alias: alias.or_else(|| self.src_span(e).map(|_| self.text(self.expr_span(e)))),
            });
        }
        let any = !aggs.is_empty();
        (aggs, any)
    }

    /// Computed (non-column, non-aggregate) select items as assignments.
    fn assignments(&self, items: &[SelectItem]) -> Vec<Assignment> {
        let mut out = Vec::new();
        for item in items {
            let (e, name) = match item {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
                _ => continue,
            };
            if is_aggregate(e) {
                continue;
            }
            if let Some(field) = self.field(e) {
                if name.as_deref().is_none_or(|n| n == field) {
                    continue;
                }
            }
            let name = name.unwrap_or_else(|| self.text(self.expr_span(e)));
            out.push(Assignment {
                name,
                value: self.scalar(e),
            });
        }
        out
    }

    /// The names a select list keeps (`*` = all), or, for
    /// `* exclude (…)`, the names it removes.
    fn projection(&self, items: &[SelectItem]) -> (Vec<String>, bool) {
        let mut fields = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) => fields.push(self.field_or_text(e)),
                SelectItem::ExprWithAlias { alias, .. } => fields.push(alias.value.clone()),
                SelectItem::Wildcard(opts) => {
                    if let (1, Some(ex)) = (items.len(), &opts.opt_exclude) {
                        let names = match ex {
                            ast::ExcludeSelectItem::Single(i) => vec![i.to_string()],
                            ast::ExcludeSelectItem::Multiple(v) => {
                                v.iter().map(|i| i.to_string()).collect()
                            }
                        };
                        return (names, false);
                    }
                    fields.push("*".to_string());
                }
                SelectItem::QualifiedWildcard(..) => fields.push("*".to_string()),
                SelectItem::ExprWithAliases { aliases, .. } => {
                    fields.extend(aliases.iter().map(|a| a.value.clone()))
                }
            }
        }
        (fields, true)
    }

    // ---- expressions ---------------------------------------------------

    /// A column reference's name, as written.
    fn field(&self, e: &SqlExpr) -> Option<String> {
        match e {
            SqlExpr::Identifier(i) if self.placeholder(i).is_none() => Some(i.value.clone()),
            SqlExpr::CompoundIdentifier(parts) => Some(
                parts
                    .iter()
                    .map(|p| p.value.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
            ),
            SqlExpr::JsonAccess { value, path } => Some(format!("{}{path}", self.field(value)?)),
            SqlExpr::CompoundFieldAccess { .. } => Some(self.text(self.expr_span(e))),
            // `raw:path::string = 'x'` compares the field's value.
            SqlExpr::Nested(inner) | SqlExpr::Cast { expr: inner, .. } => self.field(inner),
            _ => None,
        }
    }

    /// A column name, or else the expression's text.
    fn field_or_text(&self, e: &SqlExpr) -> String {
        self.field(e)
            .unwrap_or_else(|| self.text(self.expr_span(e)))
    }

    /// A literal operand: strings, numbers, booleans (casts looked through).
    fn literal(&mut self, e: &SqlExpr) -> Option<Literal> {
        match e {
            SqlExpr::Value(v) => {
                let span = self
                    .src
                    .span(v.span)
                    .filter(|s| !s.is_empty())
                    .map(|s| self.logic_span(s));
                let raw = span.map(|s| s.slice(self.logic).to_string());
                match &v.value {
                    Value::SingleQuotedString(s)
                    | Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => {
                        let raw = raw
                            .filter(|r| r.starts_with('\'') || r.starts_with('$'))
                            .unwrap_or_else(|| format!("'{}'", s.replace('\'', "''")));
                        let u = escape::unquote(&raw);
                        if let Some(span) = span {
                            self.warn_control_escapes(&u, span);
                        }
                        Some(Literal {
                            raw,
                            value: u.value,
                        })
                    }
                    Value::Number(n, _) => Some(Literal::plain(&raw.unwrap_or_else(|| n.clone()))),
                    Value::Boolean(b) => Some(Literal::plain(&b.to_string())),
                    _ => None,
                }
            }
            SqlExpr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                SqlExpr::Value(v) if matches!(v.value, Value::Number(..)) => {
                    let digits = self.text(self.expr_span(expr));
                    Some(Literal::plain(&format!("-{digits}")))
                }
                _ => None,
            },
            SqlExpr::Cast { expr, .. } | SqlExpr::Nested(expr) => self.literal(expr),
            _ => None,
        }
    }

    /// Warns about `\b`-style escapes: in rule SQL they are nearly always
    /// a regex `\b` or a path `\bin` that lost its doubled backslash.
    fn warn_control_escapes(&mut self, u: &escape::Unquoted, lit: Span) {
        for (off, esc) in &u.control_escapes {
            let at = lit.start + off;
            let d = Diagnostic::logic(
                Severity::Warning,
                "sql-control-escape",
                format!("`{esc}` in a Snowflake string is a control character"),
                Span::new(at, at + esc.len()),
            )
            .with_note(format!(
                "Snowflake reads `{esc}` as a control character; write `\\\\{}` for a backslash followed by `{}`",
                &esc[1..],
                &esc[1..]
            ));
            if !self.diagnostics.contains(&d) {
                self.diagnostics.push(d);
            }
        }
    }

    /// Lowers a boolean expression.
    pub fn expr(&mut self, e: &SqlExpr) -> Expr {
        match e {
            SqlExpr::BinaryOp {
                op: op @ (BinaryOperator::And | BinaryOperator::Or),
                ..
            } => {
                let mut parts = Vec::new();
                flatten(e, op, &mut parts);
                let children = parts.into_iter().map(|p| self.expr(p)).collect();
                if *op == BinaryOperator::And {
                    Expr::And { children }
                } else {
                    Expr::Or { children }
                }
            }
            SqlExpr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => not(self.expr(expr)),
            SqlExpr::Nested(inner) => self.expr(inner),
            _ => match self.predicate(e) {
                Some(p) => p,
                None => Expr::Scalar {
                    expr: self.scalar(e),
                    span: self.logic_span(self.expr_span(e)),
                },
            },
        }
    }

    /// A `Cmp` leaf (or `Not`/`Or` of leaves) for an indicator-shaped
    /// predicate; `None` leaves it to `Scalar`.
    fn predicate(&mut self, e: &SqlExpr) -> Option<Expr> {
        let span = self.logic_span(self.expr_span(e));
        let cs = Flags {
            case_sensitive: true,
            ..Flags::default()
        };
        match e {
            SqlExpr::BinaryOp { left, op, right } => {
                let op = cmp_op(op)?;
                let (field, lit, op) = match (self.field(left), self.field(right)) {
                    (Some(f), None) => (f, self.literal(right)?, op),
                    (None, Some(f)) => (f, self.literal(left)?, flip(op)),
                    _ => return None,
                };
                Some(cmp(field, op, vec![lit], cs, span))
            }
            SqlExpr::IsNull(x) => Some(cmp(self.field(x)?, CmpOp::IsNull, vec![], cs, span)),
            SqlExpr::IsNotNull(x) => Some(cmp(self.field(x)?, CmpOp::IsNotNull, vec![], cs, span)),
            SqlExpr::In {
                expr,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => {
                let field = self.field(expr)?;
                let values = self.literals(list)?;
                Some(negate(*negated, cmp(field, CmpOp::In, values, cs, span)))
            }
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let field = self.field(expr)?;
                let values = vec![self.literal(low)?, self.literal(high)?];
                Some(negate(
                    *negated,
                    cmp(field, CmpOp::Between, values, cs, span),
                ))
            }
            SqlExpr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char: None,
            } => self.like(expr, pattern, *any, *negated, true, span),
            SqlExpr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char: None,
            } => self.like(expr, pattern, *any, *negated, false, span),
            SqlExpr::RLike {
                negated,
                expr,
                pattern,
                ..
            } => {
                let field = self.field(expr)?;
                let lit = self.literal(pattern)?;
                Some(negate(
                    *negated,
                    cmp(field, CmpOp::Match, vec![lit], anchored(true), span),
                ))
            }
            SqlExpr::Function(f) => self.function_predicate(f, span),
            _ => None,
        }
    }

    /// Literals of a list, or `None` if any item is not one.
    fn literals(&mut self, list: &[SqlExpr]) -> Option<Vec<Literal>> {
        list.iter().map(|x| self.literal(x)).collect()
    }

    /// `[NOT] LIKE|ILIKE [ANY] pattern(s)`.
    fn like(
        &mut self,
        expr: &SqlExpr,
        pattern: &SqlExpr,
        any: bool,
        negated: bool,
        case_sensitive: bool,
        span: Span,
    ) -> Option<Expr> {
        let field = self.field(expr)?;
        let flags = Flags {
            case_sensitive,
            wildcard: Wildcard::Sql,
            ..Flags::default()
        };
        let patterns = match pattern {
            SqlExpr::Tuple(items) if any => self.literals(items)?,
            SqlExpr::Nested(inner) if any => vec![self.literal(inner)?],
            p => vec![self.literal(p)?],
        };
        let mut leaves: Vec<Expr> = patterns
            .into_iter()
            .map(|p| cmp(field.clone(), CmpOp::Like, vec![p], flags, span))
            .collect();
        let e = if leaves.len() == 1 {
            leaves.pop()?
        } else {
            Expr::Or { children: leaves }
        };
        Some(negate(negated, e))
    }

    /// Predicates written as function calls: `regexp_like`, `rlike`,
    /// `contains`, `startswith`, `endswith`, `array_contains`, `like`,
    /// `ilike`.
    fn function_predicate(&mut self, f: &ast::Function, span: Span) -> Option<Expr> {
        let name = function_name(&f.name);
        let FunctionArguments::List(list) = &f.args else {
            return None;
        };
        let args: Vec<&SqlExpr> = list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let cs = Flags {
            case_sensitive: true,
            ..Flags::default()
        };
        match (name.as_str(), args.as_slice()) {
            ("regexp_like" | "rlike", [x, p, rest @ ..]) if rest.len() <= 1 => {
                let field = self.field(x)?;
                let lit = self.literal(p)?;
                let mut flags = anchored(true);
                if let Some(params) = rest.first() {
                    let params = self.literal(params)?;
                    // Later parameters win (`'ci'` is case-insensitive).
                    for c in params.value.chars() {
                        match c {
                            'c' => flags.case_sensitive = true,
                            'i' => flags.case_sensitive = false,
                            _ => {}
                        }
                    }
                    if params.value.chars().any(|c| !matches!(c, 'c' | 'i')) {
                        self.diagnostics.push(Diagnostic::logic(
                            Severity::Note,
                            "sql-regex-params",
                            format!(
                                "regexp parameters {} are kept in the text only; the IR records case sensitivity",
                                params.raw
                            ),
                            span,
                        ));
                    }
                }
                Some(cmp(field, CmpOp::Match, vec![lit], flags, span))
            }
            ("contains", [x, s]) => Some(cmp(
                self.field(x)?,
                CmpOp::Contains,
                vec![self.literal(s)?],
                cs,
                span,
            )),
            ("startswith", [x, s]) => Some(cmp(
                self.field(x)?,
                CmpOp::StartsWith,
                vec![self.literal(s)?],
                cs,
                span,
            )),
            ("endswith", [x, s]) => Some(cmp(
                self.field(x)?,
                CmpOp::EndsWith,
                vec![self.literal(s)?],
                cs,
                span,
            )),
            ("like" | "ilike", [x, p]) => {
                let flags = Flags {
                    case_sensitive: name == "like",
                    wildcard: Wildcard::Sql,
                    ..Flags::default()
                };
                Some(cmp(
                    self.field(x)?,
                    CmpOp::Like,
                    vec![self.literal(p)?],
                    flags,
                    span,
                ))
            }
            // `array_contains(v, arr)`: the array holds an element equal to
            // v. Lowered to `arr eq v`: an `Eq` on a multivalue field holds
            // when any value is equal, which is exactly this (`Contains`
            // would wrongly mean a substring).
            ("array_contains", [v, arr]) => Some(cmp(
                self.field(arr)?,
                CmpOp::Eq,
                vec![self.literal(v)?],
                cs,
                span,
            )),
            _ => None,
        }
    }

    /// Lowers any expression to a scalar tree.
    pub fn scalar(&self, e: &SqlExpr) -> Scalar {
        match e {
            SqlExpr::Identifier(i) => match self.placeholder(i) {
                Some(p) => Scalar::Call {
                    name: p.text.to_lowercase(),
                    args: Vec::new(),
                },
                None => Scalar::Field {
                    name: i.value.clone(),
                },
            },
            SqlExpr::CompoundIdentifier(_)
            | SqlExpr::JsonAccess { .. }
            | SqlExpr::CompoundFieldAccess { .. } => Scalar::Field {
                name: self.field_or_text(e),
            },
            SqlExpr::Value(v) => {
                let raw = self
                    .src
                    .span(v.span)
                    .filter(|s| !s.is_empty())
                    .map(|s| self.text(s))
                    .unwrap_or_else(|| v.value.to_string());
                match &v.value {
                    Value::SingleQuotedString(_) | Value::DollarQuotedString(_) => Scalar::Str {
                        lit: Literal {
                            value: escape::unquote(&raw).value,
                            raw,
                        },
                    },
                    Value::Number(..) => Scalar::Num { text: raw },
                    Value::Boolean(b) => Scalar::Bool { value: *b },
                    Value::Null => Scalar::Null,
                    _ => Scalar::Str {
                        lit: Literal::plain(&raw),
                    },
                }
            }
            SqlExpr::Function(f) => {
                let name = function_name(&f.name);
                let mut args = Vec::new();
                if let FunctionArguments::List(list) = &f.args {
                    for (n, a) in list.args.iter().enumerate() {
                        let a = match a {
                            FunctionArg::Unnamed(a) | FunctionArg::Named { arg: a, .. } => a,
                            FunctionArg::ExprNamed { arg, .. } => arg,
                        };
                        args.push(match a {
                            FunctionArgExpr::Expr(SqlExpr::Identifier(i))
                                if n == 0 && DATE_PART_FUNCS.contains(&name.as_str()) =>
                            {
                                Scalar::Str {
                                    lit: Literal::plain(&i.value.to_lowercase()),
                                }
                            }
                            FunctionArgExpr::Expr(x) => self.scalar(x),
                            _ => Scalar::Field {
                                name: "*".to_string(),
                            },
                        });
                    }
                }
                Scalar::Call { name, args }
            }
            SqlExpr::BinaryOp { left, op, right } => {
                let (l, r) = (self.scalar(left), self.scalar(right));
                match bin_op(op) {
                    Some(op) => Scalar::Binary {
                        op,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                    },
                    None => call(&op.to_string().to_lowercase(), vec![l, r]),
                }
            }
            SqlExpr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not => Scalar::Unary {
                    op: UnaryOp::Not,
                    expr: Box::new(self.scalar(expr)),
                },
                UnaryOperator::Minus => match self.scalar(expr) {
                    Scalar::Num { text } => Scalar::Num {
                        text: format!("-{text}"),
                    },
                    s => Scalar::Unary {
                        op: UnaryOp::Neg,
                        expr: Box::new(s),
                    },
                },
                UnaryOperator::Plus => self.scalar(expr),
                other => call(&other.to_string().to_lowercase(), vec![self.scalar(expr)]),
            },
            SqlExpr::Nested(inner) => self.scalar(inner),
            SqlExpr::IsNull(x) => call("is_null", vec![self.scalar(x)]),
            SqlExpr::IsNotNull(x) => call("is_not_null", vec![self.scalar(x)]),
            SqlExpr::Like {
                negated,
                expr,
                pattern,
                ..
            } => neg_scalar(
                *negated,
                call("like", vec![self.scalar(expr), self.scalar(pattern)]),
            ),
            SqlExpr::ILike {
                negated,
                expr,
                pattern,
                ..
            } => neg_scalar(
                *negated,
                call("ilike", vec![self.scalar(expr), self.scalar(pattern)]),
            ),
            SqlExpr::RLike {
                negated,
                expr,
                pattern,
                ..
            } => neg_scalar(
                *negated,
                call("rlike", vec![self.scalar(expr), self.scalar(pattern)]),
            ),
            SqlExpr::In {
                expr,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => neg_scalar(
                *negated,
                call(
                    "in",
                    vec![
                        self.scalar(expr),
                        Scalar::List {
                            items: list.iter().map(|x| self.scalar(x)).collect(),
                        },
                    ],
                ),
            ),
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => neg_scalar(
                *negated,
                call(
                    "between",
                    vec![self.scalar(expr), self.scalar(low), self.scalar(high)],
                ),
            ),
            SqlExpr::Cast {
                kind,
                expr,
                data_type,
                ..
            } => call(
                if *kind == CastKind::TryCast {
                    "try_cast"
                } else {
                    "cast"
                },
                vec![
                    self.scalar(expr),
                    Scalar::Str {
                        lit: Literal::plain(&data_type.to_string().to_lowercase()),
                    },
                ],
            ),
            SqlExpr::Tuple(items) => Scalar::List {
                items: items.iter().map(|x| self.scalar(x)).collect(),
            },
            SqlExpr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                // `case x when v then r` is `case when x = v then r`.
                let mut args = Vec::new();
                for w in conditions {
                    let cond = self.scalar(&w.condition);
                    args.push(match operand {
                        Some(o) => Scalar::Binary {
                            op: BinOp::Eq,
                            lhs: Box::new(self.scalar(o)),
                            rhs: Box::new(cond),
                        },
                        None => cond,
                    });
                    args.push(self.scalar(&w.result));
                }
                if let Some(e) = else_result {
                    args.push(self.scalar(e));
                }
                call("case", args)
            }
            other => {
                // Subqueries, EXISTS, intervals…: kept as text so the
                // evaluator can name what it cannot run.
                let text = self.text(self.expr_span(other));
                call(
                    "unsupported_sql",
                    vec![Scalar::Str {
                        lit: Literal::plain(&text),
                    }],
                )
            }
        }
    }
}

/// A `Filter` with SQL's three-valued logic.
fn filter(expr: Expr) -> Operator {
    Operator::Filter {
        expr,
        logic: Logic::ThreeValued,
    }
}

/// A `Cmp` leaf.
fn cmp(field: String, op: CmpOp, values: Vec<Literal>, flags: Flags, span: Span) -> Expr {
    Expr::Cmp(Cmp {
        field,
        op,
        values,
        flags,
        span,
    })
}

/// Flags of an anchored, case-sensitive regex.
fn anchored(case_sensitive: bool) -> Flags {
    Flags {
        case_sensitive,
        anchored: true,
        ..Flags::default()
    }
}

/// `NOT e`.
fn not(e: Expr) -> Expr {
    Expr::Not { child: Box::new(e) }
}

/// `NOT e` when `negated`.
fn negate(negated: bool, e: Expr) -> Expr {
    if negated {
        not(e)
    } else {
        e
    }
}

/// A call scalar.
fn call(name: &str, args: Vec<Scalar>) -> Scalar {
    Scalar::Call {
        name: name.to_string(),
        args,
    }
}

/// `NOT s` when `negated`.
fn neg_scalar(negated: bool, s: Scalar) -> Scalar {
    if negated {
        Scalar::Unary {
            op: UnaryOp::Not,
            expr: Box::new(s),
        }
    } else {
        s
    }
}

/// Collects the operands of a chain of the same `AND`/`OR`, in order.
fn flatten<'e>(e: &'e SqlExpr, op: &BinaryOperator, out: &mut Vec<&'e SqlExpr>) {
    match e {
        SqlExpr::BinaryOp { left, op: o, right } if o == op => {
            flatten(left, op, out);
            flatten(right, op, out);
        }
        other => out.push(other),
    }
}

/// The canonical operator of a comparison.
fn cmp_op(op: &BinaryOperator) -> Option<CmpOp> {
    Some(match op {
        BinaryOperator::Eq => CmpOp::Eq,
        BinaryOperator::NotEq => CmpOp::Ne,
        BinaryOperator::Lt => CmpOp::Lt,
        BinaryOperator::LtEq => CmpOp::Le,
        BinaryOperator::Gt => CmpOp::Gt,
        BinaryOperator::GtEq => CmpOp::Ge,
        _ => return None,
    })
}

/// The operator with its operands swapped (`5 < x` is `x > 5`).
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// The scalar operator of a binary SQL operator.
fn bin_op(op: &BinaryOperator) -> Option<BinOp> {
    Some(match op {
        BinaryOperator::Plus => BinOp::Add,
        BinaryOperator::Minus => BinOp::Sub,
        BinaryOperator::Multiply => BinOp::Mul,
        BinaryOperator::Divide => BinOp::Div,
        BinaryOperator::Modulo => BinOp::Rem,
        BinaryOperator::StringConcat => BinOp::Concat,
        BinaryOperator::Eq => BinOp::Eq,
        BinaryOperator::NotEq => BinOp::Ne,
        BinaryOperator::Lt => BinOp::Lt,
        BinaryOperator::LtEq => BinOp::Le,
        BinaryOperator::Gt => BinOp::Gt,
        BinaryOperator::GtEq => BinOp::Ge,
        BinaryOperator::And => BinOp::And,
        BinaryOperator::Or => BinOp::Or,
        _ => return None,
    })
}

/// Whether an expression is an aggregate call.
fn is_aggregate(e: &SqlExpr) -> bool {
    matches!(e, SqlExpr::Function(f)
        if f.over.is_none() && AGGREGATES.contains(&function_name(&f.name).as_str()))
}

/// A function's name, lower-case (the last part of a qualified name).
fn function_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map_or_else(|| name.to_string(), |i| i.value.clone())
        .to_lowercase()
}

/// A dotted object name as written (quotes dropped).
fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|p| {
            p.as_ident()
                .map_or_else(|| p.to_string(), |i| i.value.clone())
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The first word of a text, lower-case.
fn first_word(text: &str) -> String {
    text.split_whitespace().next().unwrap_or("").to_lowercase()
}

/// The kind name and constraint of a join.
fn join_kind(op: &JoinOperator) -> (&'static str, Option<&JoinConstraint>) {
    match op {
        JoinOperator::Join(c) | JoinOperator::Inner(c) => ("inner", Some(c)),
        JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => ("left", Some(c)),
        JoinOperator::Right(c) | JoinOperator::RightOuter(c) => ("right", Some(c)),
        JoinOperator::FullOuter(c) => ("full", Some(c)),
        JoinOperator::CrossJoin(c) => ("cross", Some(c)),
        JoinOperator::LeftSemi(c) | JoinOperator::Semi(c) => ("semi", Some(c)),
        JoinOperator::LeftAnti(c) | JoinOperator::Anti(c) => ("anti", Some(c)),
        _ => ("other", None),
    }
}

/// Column names compared for equality in a join condition (`a.x = b.y`
/// gives `x`).
fn join_fields(e: &SqlExpr, out: &mut Vec<String>) {
    match e {
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            join_fields(left, out);
            join_fields(right, out);
        }
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            ..
        } => {
            let name = match left.as_ref() {
                SqlExpr::Identifier(i) => Some(i.value.clone()),
                SqlExpr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()),
                _ => None,
            };
            if let Some(n) = name {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        SqlExpr::Nested(inner) => join_fields(inner, out),
        _ => {}
    }
}
