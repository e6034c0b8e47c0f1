//! Per-command argument parsers: one stage's tokens → an [`Operator`].
//!
//! Parsed into structure: `search`, `where`, `eval`, `regex`, `rex`,
//! `table`, `fields`, `rename`, `bin`/`bucket`, `stats`/`eventstats`/
//! `streamstats`, `tstats`, `dedup`, `sort`, `head`, `lookup`,
//! `iplocation`, `fillnull`, `transaction`, `join`, `append`, `foreach`
//! and `mvexpand`. Every other command is `Operator::Unsupported`.

use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::{
    Aggregate, Cmp, CmpOp, Expr, ExtractMode, Flags, Literal, Logic, Operator, Query, SortKey,
    StatsMode,
};

use super::lexer::{self, Mode, Token, TokenKind};
use super::{expr, search};

/// What a command parser sees.
pub struct Ctx<'a> {
    /// The whole logic text; spans index it.
    pub src: &'a str,
    /// The tokens after the command name (search-mode lexing).
    pub args: &'a [Token],
    /// Where the stage's text ends (before any split-off macro).
    pub end: usize,
    /// Subsearch nesting depth of this stage.
    pub depth: usize,
}

impl Ctx<'_> {
    fn text(&self, t: Token) -> &str {
        t.span.slice(self.src)
    }

    /// The arguments re-lexed for the expression grammar. Quote and
    /// macro problems were reported by the first lexing pass; only
    /// findings new to expression mode are kept.
    fn expr_tokens(&self, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
        let Some(first) = self.args.first() else {
            return Vec::new();
        };
        let lexed = lexer::lex(self.src, first.span.start, self.end, Mode::Expr);
        diags.extend(
            lexed
                .diagnostics
                .into_iter()
                .filter(|d| d.code == "missing-space"),
        );
        lexed.tokens
    }
}

/// Parses the arguments of command `name` (lower-case).
pub fn parse_command(name: &str, ctx: &Ctx, diags: &mut Vec<Diagnostic>) -> Operator {
    match name {
        "search" => Operator::Filter {
            expr: search::parse_search(ctx.src, ctx.args, diags),
            logic: Logic::Search,
        },
        "where" => Operator::Filter {
            expr: expr::parse_where(ctx.src, &ctx.expr_tokens(diags), diags),
            logic: Logic::ThreeValued,
        },
        "eval" => Operator::Eval {
            assignments: expr::parse_eval(ctx.src, &ctx.expr_tokens(diags), diags),
        },
        "regex" => parse_regex(ctx),
        "rex" => parse_rex(ctx),
        "table" => Operator::Project {
            fields: Args::new(ctx).names(),
            keep: true,
        },
        "fields" => parse_fields(ctx),
        "rename" => parse_rename(ctx, diags),
        "bin" | "bucket" => parse_bin(ctx),
        "stats" => parse_stats(ctx, StatsMode::Stats),
        "eventstats" => parse_stats(ctx, StatsMode::EventStats),
        "streamstats" => parse_stats(ctx, StatsMode::StreamStats),
        "tstats" => parse_tstats(ctx, diags),
        "dedup" => parse_dedup(ctx),
        "sort" => parse_sort(ctx),
        "head" => parse_head(ctx),
        "lookup" => parse_lookup(ctx, diags),
        "iplocation" => parse_iplocation(ctx),
        "fillnull" => parse_fillnull(ctx),
        "transaction" => parse_transaction(ctx),
        "join" => parse_join(ctx, diags),
        "append" => parse_append(ctx, diags),
        "foreach" => parse_foreach(ctx),
        "mvexpand" => parse_mvexpand(ctx),
        _ => Operator::Unsupported {
            command: name.to_string(),
        },
    }
}

/// A cursor over a command's argument tokens.
struct Args<'a> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
}

impl<'a> Args<'a> {
    fn new(ctx: &Ctx<'a>) -> Self {
        Args {
            src: ctx.src,
            toks: ctx.args,
            pos: 0,
        }
    }

    fn peek(&self) -> Option<Token> {
        self.toks.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<Token> {
        self.toks.get(self.pos + off).copied()
    }

    fn text(&self, t: Token) -> &'a str {
        t.span.slice(self.src)
    }

    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// Whether the next token is the word `kw` (any case).
    fn at_word(&self, kw: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == TokenKind::Word && self.text(t).eq_ignore_ascii_case(kw))
    }

    /// Whether the next tokens are `key=`.
    fn at_option(&self) -> bool {
        matches!(
            (self.peek(), self.peek_at(1)),
            (Some(k), Some(e)) if k.kind == TokenKind::Word && e.kind == TokenKind::Eq
        )
    }

    /// Reads `key=value`; the key lower-cased, the value unquoted. A
    /// parenthesised value (`startswith=(a=1)`) or a call
    /// (`startswith=eval(x>1)`) is kept as written.
    fn option(&mut self) -> Option<(String, String)> {
        if !self.at_option() {
            return None;
        }
        let key = self.text(self.toks[self.pos]).to_ascii_lowercase();
        self.pos += 2;
        let value = match self.peek() {
            Some(t) if t.kind == TokenKind::LParen => {
                let end = search::skip_group(self.toks, self.pos + 1);
                let last = self.toks[end - 1].span;
                self.pos = end;
                t.span.join(last).slice(self.src).to_string()
            }
            Some(t) if is_value(t.kind) => {
                self.pos += 1;
                match self.peek() {
                    Some(p) if p.kind == TokenKind::LParen && p.span.start == t.span.end => {
                        let end = search::skip_group(self.toks, self.pos + 1);
                        let last = self.toks[end - 1].span;
                        self.pos = end;
                        t.span.join(last).slice(self.src).to_string()
                    }
                    _ => self.value(t),
                }
            }
            _ => String::new(),
        };
        Some((key, value))
    }

    /// The value of a word or string token.
    fn value(&self, t: Token) -> String {
        let text = self.text(t);
        match t.kind {
            TokenKind::Str => lexer::unquote(text),
            _ => text.to_string(),
        }
    }

    /// Reads one name (word or string), skipping commas before it.
    fn name(&mut self) -> Option<String> {
        while self.peek().is_some_and(|t| t.kind == TokenKind::Comma) {
            self.pos += 1;
        }
        let t = self.peek()?;
        if matches!(t.kind, TokenKind::Word | TokenKind::Str) {
            self.pos += 1;
            Some(self.value(t))
        } else {
            None
        }
    }

    /// Every remaining name; options and other tokens are skipped.
    fn names(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while !self.done() {
            if self.option().is_some() {
                continue;
            }
            match self.name() {
                Some(n) => out.push(n),
                None => self.pos += 1,
            }
        }
        out
    }
}

fn is_value(kind: TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Word | TokenKind::Str | TokenKind::TermCall | TokenKind::CaseCall
    )
}

fn warn(diags: &mut Vec<Diagnostic>, code: &str, message: String, span: Span) {
    diags.push(Diagnostic::logic(Severity::Warning, code, message, span));
}

/// The span from the first to the last token of `toks`.
fn span_of(toks: &[Token]) -> Option<Span> {
    Some(toks.first()?.span.join(toks.last()?.span))
}

/// `regex [field=|field!=]<regex>`.
fn parse_regex(ctx: &Ctx) -> Operator {
    let toks = ctx.args;
    let (field, negate, rest) = match toks {
        [f, op, rest @ ..]
            if f.kind == TokenKind::Word
                && matches!(op.kind, TokenKind::Eq | TokenKind::Ne)
                && !rest.is_empty() =>
        {
            (ctx.text(*f).to_string(), op.kind == TokenKind::Ne, rest)
        }
        _ => ("_raw".to_string(), false, toks),
    };
    let (lit, span) = pattern(ctx, rest);
    let span = span_of(toks).unwrap_or(span);
    let cmp = Expr::Cmp(Cmp {
        field,
        op: CmpOp::Match,
        values: vec![lit],
        flags: Flags {
            case_sensitive: true,
            ..Flags::default()
        },
        span,
    });
    let expr = if negate {
        Expr::Not {
            child: Box::new(cmp),
        }
    } else {
        cmp
    };
    Operator::Filter {
        expr,
        logic: Logic::Search,
    }
}

/// A regex argument: one quoted string (unescaped), or the tokens' text
/// as written when it is unquoted or malformed.
fn pattern(ctx: &Ctx, toks: &[Token]) -> (Literal, Span) {
    match toks {
        [t] if t.kind == TokenKind::Str => {
            let raw = ctx.text(*t).to_string();
            let value = lexer::unquote(&raw);
            (Literal { raw, value }, t.span)
        }
        _ => {
            let span = span_of(toks).unwrap_or_default();
            (Literal::plain(span.slice(ctx.src)), span)
        }
    }
}

/// `rex [field=f] [max_match=n] [mode=sed] "<regex>"`.
fn parse_rex(ctx: &Ctx) -> Operator {
    let mut a = Args::new(ctx);
    let mut field = "_raw".to_string();
    let mut max_match = 1;
    let mut mode = ExtractMode::Regex;
    let mut rest = Vec::new();
    while let Some(t) = a.peek() {
        if let Some((k, v)) = a.option() {
            match k.as_str() {
                "field" => field = v,
                "max_match" => max_match = v.parse().unwrap_or(max_match),
                "mode" if v.eq_ignore_ascii_case("sed") => mode = ExtractMode::Sed,
                _ => {}
            }
        } else {
            rest.push(t);
            a.pos += 1;
        }
    }
    let (lit, _) = pattern(ctx, &rest);
    Operator::Extract {
        field,
        pattern: lit.value,
        mode,
        max_match,
    }
}

/// `fields [+|-] f1, f2*`.
fn parse_fields(ctx: &Ctx) -> Operator {
    let mut a = Args::new(ctx);
    let mut keep = true;
    let mut fields = Vec::new();
    if let Some(t) = a.peek() {
        match a.text(t) {
            "-" => {
                keep = false;
                a.pos += 1;
            }
            "+" => a.pos += 1,
            w if t.kind == TokenKind::Word && w.len() > 1 && w.starts_with(['-', '+']) => {
                keep = w.starts_with('+');
                fields.push(w[1..].to_string());
                a.pos += 1;
            }
            _ => {}
        }
    }
    fields.extend(a.names());
    Operator::Project { fields, keep }
}

/// `rename a AS b, c AS d`.
fn parse_rename(ctx: &Ctx, diags: &mut Vec<Diagnostic>) -> Operator {
    let mut a = Args::new(ctx);
    let mut pairs = Vec::new();
    while !a.done() {
        let Some(from) = a.name() else {
            a.pos += 1;
            continue;
        };
        if !a.at_word("as") {
            let at = a.toks[a.pos.saturating_sub(1)].span;
            warn(
                diags,
                "missing-argument",
                format!("rename of `{from}` lacks `AS new_name`"),
                at,
            );
            continue;
        }
        a.pos += 1;
        match a.name() {
            Some(to) => pairs.push((from, to)),
            None => {
                let at = a.toks[a.pos.saturating_sub(1)].span;
                warn(
                    diags,
                    "missing-argument",
                    format!("rename of `{from}` lacks the new name"),
                    at,
                );
            }
        }
    }
    Operator::Rename { pairs }
}

/// `bin [span=x] [field] [AS alias]`.
fn parse_bin(ctx: &Ctx) -> Operator {
    let mut a = Args::new(ctx);
    let mut field = None;
    let mut span = None;
    let mut alias = None;
    while !a.done() {
        if let Some((k, v)) = a.option() {
            if k == "span" {
                span = Some(v);
            }
        } else if a.at_word("as") {
            a.pos += 1;
            alias = a.name();
        } else if let Some(n) = a.name() {
            field.get_or_insert(n);
        } else {
            a.pos += 1;
        }
    }
    Operator::Bin {
        field: field.unwrap_or_else(|| "_time".into()),
        span,
        alias,
    }
}

/// Aggregates up to a stop word (`by`, `from`, `where`), skipping
/// options and macros.
fn parse_aggs(a: &mut Args, stop: &[&str]) -> Vec<Aggregate> {
    let mut aggs = Vec::new();
    while let Some(t) = a.peek() {
        match t.kind {
            TokenKind::Word => {
                let w = a.text(t);
                if stop.iter().any(|s| w.eq_ignore_ascii_case(s)) {
                    break;
                }
                if a.option().is_some() {
                    continue;
                }
                a.pos += 1;
                let func = w.to_ascii_lowercase();
                let mut field = None;
                if a.peek().is_some_and(|t| t.kind == TokenKind::LParen) {
                    let open = a.pos;
                    let end = search::skip_group(a.toks, open + 1);
                    let inner_end = if a.toks[end - 1].kind == TokenKind::RParen {
                        end - 1
                    } else {
                        end
                    };
                    let inner = &a.toks[open + 1..inner_end];
                    field = match inner {
                        [t] => Some(a.value(*t)),
                        _ => span_of(inner).map(|s| s.slice(a.src).to_string()),
                    };
                    a.pos = end;
                }
                let mut alias = None;
                if a.at_word("as") {
                    a.pos += 1;
                    alias = a.name();
                }
                aggs.push(Aggregate { func, field, alias });
            }
            _ => a.pos += 1,
        }
    }
    aggs
}

/// Group-by names after `by`, and the `span=` option when present.
fn parse_by(a: &mut Args) -> (Vec<String>, Option<String>) {
    let mut by = Vec::new();
    let mut span = None;
    while !a.done() {
        if let Some((k, v)) = a.option() {
            if k == "span" {
                span = Some(v);
            }
        } else if let Some(n) = a.name() {
            by.push(n);
        } else {
            a.pos += 1;
        }
    }
    (by, span)
}

/// `stats|eventstats|streamstats [options] aggs [BY fields]`.
fn parse_stats(ctx: &Ctx, mode: StatsMode) -> Operator {
    let mut a = Args::new(ctx);
    let aggs = parse_aggs(&mut a, &["by"]);
    let by = if a.at_word("by") {
        a.pos += 1;
        parse_by(&mut a).0
    } else {
        Vec::new()
    };
    Operator::Stats { mode, aggs, by }
}

/// `tstats [options] aggs [FROM datamodel=X] [WHERE search] [BY f [span=s]]`.
fn parse_tstats(ctx: &Ctx, diags: &mut Vec<Diagnostic>) -> Operator {
    let mut a = Args::new(ctx);
    let aggs = parse_aggs(&mut a, &["by", "from", "where"]);
    let mut datamodel = None;
    let mut filter = None;
    let mut by = Vec::new();
    let mut span = None;
    while let Some(t) = a.peek() {
        if a.at_word("from") {
            a.pos += 1;
            // `datamodel=X`, `datamodel:X`, or another source kept unread.
            while let Some(t) = a.peek() {
                let w = a.text(t);
                if let Some(dm) = w.strip_prefix("datamodel:") {
                    datamodel = Some(dm.to_string());
                    a.pos += 1;
                } else if let Some((k, v)) = a.option() {
                    if k == "datamodel" {
                        datamodel = Some(v);
                    }
                    continue;
                }
                break;
            }
        } else if a.at_word("where") {
            a.pos += 1;
            let start = a.pos;
            let mut depth = 0usize;
            while let Some(t) = a.peek() {
                match t.kind {
                    TokenKind::LParen => depth += 1,
                    TokenKind::RParen => depth = depth.saturating_sub(1),
                    TokenKind::Word if depth == 0 && a.text(t).eq_ignore_ascii_case("by") => break,
                    _ => {}
                }
                a.pos += 1;
            }
            filter = Some(search::parse_search(ctx.src, &a.toks[start..a.pos], diags));
        } else if a.at_word("by") {
            a.pos += 1;
            (by, span) = parse_by(&mut a);
        } else if let Some((k, v)) = a.option() {
            if k == "span" {
                span = Some(v);
            }
        } else {
            let text = a.text(t).to_string();
            if t.kind != TokenKind::Macro {
                warn(
                    diags,
                    "unexpected-token",
                    format!("unexpected `{text}` in tstats"),
                    t.span,
                );
            }
            a.pos += 1;
        }
    }
    Operator::Tstats {
        datamodel,
        filter,
        aggs,
        by,
        span,
    }
}

/// `dedup [N] fields [keepempty=true] [sortby ...]`.
fn parse_dedup(ctx: &Ctx) -> Operator {
    let mut a = Args::new(ctx);
    let mut fields = Vec::new();
    let mut keep_empty = false;
    if a.peek()
        .is_some_and(|t| a.text(t).bytes().all(|b| b.is_ascii_digit()))
    {
        a.pos += 1;
    }
    while !a.done() {
        if let Some((k, v)) = a.option() {
            if k == "keepempty" {
                keep_empty = matches!(v.to_ascii_lowercase().as_str(), "true" | "t" | "1");
            }
        } else if a.at_word("sortby") {
            break;
        } else if let Some(n) = a.name() {
            fields.push(n);
        } else {
            a.pos += 1;
        }
    }
    Operator::Dedup { fields, keep_empty }
}

/// `sort [N] [limit=N] [-|+]f, num(g) ... [desc]`.
fn parse_sort(ctx: &Ctx) -> Operator {
    let mut a = Args::new(ctx);
    // Splunk's default when no count is given.
    let mut limit = Some(10_000);
    if let Some(n) = a.peek().and_then(|t| a.text(t).parse::<usize>().ok()) {
        limit = (n > 0).then_some(n);
        a.pos += 1;
    }
    let mut keys = Vec::new();
    let mut pending_desc = false;
    while let Some(t) = a.peek() {
        if let Some((k, v)) = a.option() {
            if k == "limit" {
                if let Ok(n) = v.parse::<usize>() {
                    limit = (n > 0).then_some(n);
                }
            }
            continue;
        }
        a.pos += 1;
        if t.kind != TokenKind::Word && t.kind != TokenKind::Str {
            continue;
        }
        let w = a.value(t);
        match w.as_str() {
            "-" => pending_desc = true,
            "+" => pending_desc = false,
            _ => {
                let (desc, name) = match w.strip_prefix('-') {
                    Some(n) => (true, n.to_string()),
                    None => (pending_desc, w.trim_start_matches('+').to_string()),
                };
                // `num(f)`, `str(f)`, `ip(f)`, `auto(f)` wrap the field.
                let name = if a.peek().is_some_and(|t| t.kind == TokenKind::LParen) {
                    let inner = a.peek_at(1).map(|t| a.value(t)).unwrap_or_default();
                    a.pos = search::skip_group(a.toks, a.pos + 1);
                    inner
                } else {
                    name
                };
                let is_last = a.done();
                if is_last && !keys.is_empty() && matches!(name.as_str(), "d" | "desc") {
                    for k in &mut keys {
                        let k: &mut SortKey = k;
                        k.descending = !k.descending;
                    }
                    break;
                }
                keys.push(SortKey {
                    field: name,
                    descending: desc,
                });
                pending_desc = false;
            }
        }
    }
    Operator::Sort { keys, limit }
}

/// `head [N | limit=N]`; a condition (`head count>10`) is unsupported.
fn parse_head(ctx: &Ctx) -> Operator {
    let mut a = Args::new(ctx);
    let mut n = 10;
    while !a.done() {
        if let Some((k, v)) = a.option() {
            if k == "limit" {
                n = v.parse().unwrap_or(n);
            }
            continue;
        }
        let t = a.toks[a.pos];
        match a.text(t).parse() {
            Ok(v) if t.kind == TokenKind::Word => {
                n = v;
                a.pos += 1;
            }
            _ => {
                return Operator::Unsupported {
                    command: "head".into(),
                }
            }
        }
    }
    Operator::Head { n }
}

/// `lookup [options] table f [AS g], ... [OUTPUT|OUTPUTNEW f [AS g], ...]`.
fn parse_lookup(ctx: &Ctx, diags: &mut Vec<Diagnostic>) -> Operator {
    let mut a = Args::new(ctx);
    while a.option().is_some() {}
    let Some(table) = a.name() else {
        let at = span_of(ctx.args).unwrap_or(Span::new(ctx.end, ctx.end));
        warn(
            diags,
            "missing-argument",
            "lookup without a table name".into(),
            at,
        );
        return Operator::Unsupported {
            command: "lookup".into(),
        };
    };
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut in_outputs = false;
    while !a.done() {
        if a.at_word("output") || a.at_word("outputnew") {
            in_outputs = true;
            a.pos += 1;
            continue;
        }
        if a.option().is_some() {
            continue;
        }
        let Some(f) = a.name() else {
            a.pos += 1;
            continue;
        };
        let g = if a.at_word("as") {
            a.pos += 1;
            a.name().unwrap_or_else(|| f.clone())
        } else {
            f.clone()
        };
        if in_outputs {
            outputs.push((f, g));
        } else {
            inputs.push((f, g));
        }
    }
    Operator::Lookup {
        table,
        inputs,
        outputs,
    }
}

/// `iplocation [prefix=p] [allfields=b] field`.
fn parse_iplocation(ctx: &Ctx) -> Operator {
    let field = Args::new(ctx)
        .names()
        .into_iter()
        .next()
        .unwrap_or_default();
    Operator::Iplocation { field }
}

/// `fillnull [value=v] [fields]`.
fn parse_fillnull(ctx: &Ctx) -> Operator {
    let mut a = Args::new(ctx);
    let mut value = "0".to_string();
    let mut fields = Vec::new();
    while !a.done() {
        if let Some((k, v)) = a.option() {
            if k == "value" {
                value = v;
            }
        } else if let Some(n) = a.name() {
            fields.push(n);
        } else {
            a.pos += 1;
        }
    }
    Operator::Fillnull { value, fields }
}

/// `transaction fields [maxspan=x] [other options]`.
fn parse_transaction(ctx: &Ctx) -> Operator {
    let mut a = Args::new(ctx);
    let mut fields = Vec::new();
    let mut maxspan = None;
    while !a.done() {
        if let Some((k, v)) = a.option() {
            if k == "maxspan" {
                maxspan = Some(v);
            }
        } else if let Some(n) = a.name() {
            fields.push(n);
        } else {
            a.pos += 1;
        }
    }
    Operator::Transaction { fields, maxspan }
}

/// Finds the first top-level `[ ... ]` in the arguments and parses it.
fn subsearch(ctx: &Ctx, diags: &mut Vec<Diagnostic>) -> Option<(usize, Query)> {
    let open = ctx
        .args
        .iter()
        .position(|t| t.kind == TokenKind::LBracket)?;
    let close = search::matching_bracket(ctx.args, open)?;
    let q = super::parse_subquery(ctx.src, ctx.args, open, close, ctx.depth, diags);
    Some((open, q))
}

/// `join [type=t] [options] fields [subsearch]`.
fn parse_join(ctx: &Ctx, diags: &mut Vec<Diagnostic>) -> Operator {
    let (open, subquery) = match subsearch(ctx, diags) {
        Some(found) => found,
        None => {
            let at = span_of(ctx.args).unwrap_or(Span::new(ctx.end, ctx.end));
            warn(
                diags,
                "missing-subsearch",
                "join without a [subsearch]".into(),
                at,
            );
            (ctx.args.len(), Query::default())
        }
    };
    let mut a = Args {
        src: ctx.src,
        toks: &ctx.args[..open],
        pos: 0,
    };
    let mut kind = None;
    let mut fields = Vec::new();
    while !a.done() {
        if let Some((k, v)) = a.option() {
            if k == "type" {
                kind = Some(v);
            }
        } else if let Some(n) = a.name() {
            fields.push(n);
        } else {
            a.pos += 1;
        }
    }
    Operator::Join {
        kind,
        fields,
        subquery: Box::new(subquery),
    }
}

/// `append [options] [subsearch]`.
fn parse_append(ctx: &Ctx, diags: &mut Vec<Diagnostic>) -> Operator {
    match subsearch(ctx, diags) {
        Some((_, q)) => Operator::Union {
            tables: Vec::new(),
            subqueries: vec![q],
        },
        None => {
            let at = span_of(ctx.args).unwrap_or(Span::new(ctx.end, ctx.end));
            warn(
                diags,
                "missing-subsearch",
                "append without a [subsearch]".into(),
                at,
            );
            Operator::Unsupported {
                command: "append".into(),
            }
        }
    }
}

/// `foreach fields [options] [template]`.
fn parse_foreach(ctx: &Ctx) -> Operator {
    let open = ctx.args.iter().position(|t| t.kind == TokenKind::LBracket);
    let head = &ctx.args[..open.unwrap_or(ctx.args.len())];
    let fields = Args {
        src: ctx.src,
        toks: head,
        pos: 0,
    }
    .names();
    let template = match open {
        Some(o) => {
            let start = ctx.args[o].span.end;
            let end =
                search::matching_bracket(ctx.args, o).map_or(ctx.end, |c| ctx.args[c].span.start);
            ctx.src.get(start..end).unwrap_or("").trim().to_string()
        }
        None => String::new(),
    };
    Operator::Foreach { fields, template }
}

/// `mvexpand field [limit=n]`.
fn parse_mvexpand(ctx: &Ctx) -> Operator {
    let field = Args::new(ctx)
        .names()
        .into_iter()
        .next()
        .unwrap_or_default();
    Operator::MvExpand { field }
}
