//! The `search` boolean grammar: terms, `field=value` comparisons, `IN`
//! lists, macros and subsearches combined with Splunk's precedence.
//!
//! Precedence is `()` > `NOT` > `OR` > `AND`, with an implicit `AND`
//! between adjacent terms, so `a b OR c` reads `a AND (b OR c)`. The
//! keywords count only when upper-case: a lower-case `or` is a term.

use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::{Cmp, CmpOp, Expr, Flags, Literal, MacroCall, Scalar, Term, Wildcard};

use super::lexer::{self, Token, TokenKind};
use super::MAX_DEPTH;

/// Parses search-grammar tokens into one condition.
///
/// An empty token list gives an empty `And` (always true). Paren and
/// bracket balance problems are reported by the stage splitter, so the
/// parser closes or skips them silently.
pub fn parse_search(src: &str, tokens: &[Token], diags: &mut Vec<Diagnostic>) -> Expr {
    let mut p = SearchParser {
        src,
        toks: tokens,
        pos: 0,
        depth: 0,
        diags,
    };
    let mut children = Vec::new();
    while p.pos < p.toks.len() {
        let before = p.pos;
        children.push(p.parse_and());
        if p.pos < p.toks.len() && p.pos == before {
            // Nothing consumed (a stray `)`): skip it to make progress.
            p.pos += 1;
        } else if p.peek_kind() == Some(TokenKind::RParen) {
            p.pos += 1;
        }
    }
    flatten_and(children)
}

/// Builds a `Glob`, case-insensitive search comparison.
pub fn search_cmp(field: String, op: CmpOp, values: Vec<Literal>, span: Span, cs: bool) -> Cmp {
    Cmp {
        field,
        op,
        values,
        flags: Flags {
            case_sensitive: cs,
            wildcard: Wildcard::Glob,
            ..Flags::default()
        },
        span,
    }
}

/// `And` of the children, or the only child, or an empty `And`.
pub fn flatten_and(mut children: Vec<Expr>) -> Expr {
    children.retain(|c| !matches!(c, Expr::And { children } if children.is_empty()));
    if children.len() == 1 {
        children.pop().unwrap_or(Expr::And { children: vec![] })
    } else {
        let mut flat = Vec::with_capacity(children.len());
        for c in children {
            match c {
                Expr::And { children } => flat.extend(children),
                other => flat.push(other),
            }
        }
        Expr::And { children: flat }
    }
}

struct SearchParser<'a, 'd> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
    depth: usize,
    diags: &'d mut Vec<Diagnostic>,
}

impl SearchParser<'_, '_> {
    fn peek(&self) -> Option<Token> {
        self.toks.get(self.pos).copied()
    }

    fn peek_kind(&self) -> Option<TokenKind> {
        self.peek().map(|t| t.kind)
    }

    fn peek_at(&self, off: usize) -> Option<Token> {
        self.toks.get(self.pos + off).copied()
    }

    fn text(&self, t: Token) -> &str {
        t.span.slice(self.src)
    }

    /// Whether the next token is the upper-case keyword `kw`.
    fn at_keyword(&self, kw: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == TokenKind::Word && self.text(t) == kw)
    }

    fn warn(&mut self, code: &str, message: String, span: Span) {
        self.diags
            .push(Diagnostic::logic(Severity::Warning, code, message, span));
    }

    /// Whether the next token can start an operand.
    fn at_operand(&self) -> bool {
        match self.peek() {
            None => false,
            Some(t) => match t.kind {
                TokenKind::RParen | TokenKind::RBracket | TokenKind::Pipe => false,
                TokenKind::Word => !matches!(self.text(t), "OR"),
                _ => true,
            },
        }
    }

    /// `and := or ([AND] or)*`
    fn parse_and(&mut self) -> Expr {
        let mut children = Vec::new();
        loop {
            if self.at_keyword("AND") {
                let t = self.toks[self.pos];
                self.pos += 1;
                if children.is_empty() || !self.at_operand() {
                    self.warn("unexpected-token", "AND without an operand".into(), t.span);
                }
                continue;
            }
            if self.at_keyword("OR") {
                let t = self.toks[self.pos];
                self.pos += 1;
                self.warn(
                    "unexpected-token",
                    "OR without a left operand".into(),
                    t.span,
                );
                continue;
            }
            if !self.at_operand() {
                break;
            }
            children.push(self.parse_or());
        }
        flatten_and(children)
    }

    /// `or := not (OR not)*`
    fn parse_or(&mut self) -> Expr {
        let first = self.parse_not();
        let mut children = vec![first];
        while self.at_keyword("OR") {
            let t = self.toks[self.pos];
            self.pos += 1;
            if !self.at_operand() || self.at_keyword("AND") {
                self.warn(
                    "unexpected-token",
                    "OR without a right operand".into(),
                    t.span,
                );
                break;
            }
            children.push(self.parse_not());
        }
        if children.len() == 1 {
            children.pop().unwrap_or(Expr::Or { children: vec![] })
        } else {
            let mut flat = Vec::with_capacity(children.len());
            for c in children {
                match c {
                    Expr::Or { children } => flat.extend(children),
                    other => flat.push(other),
                }
            }
            Expr::Or { children: flat }
        }
    }

    /// `not := NOT not | primary`
    fn parse_not(&mut self) -> Expr {
        let mut nots = Vec::new();
        while self.at_keyword("NOT") {
            nots.push(self.toks[self.pos].span);
            self.pos += 1;
        }
        if !nots.is_empty() && !self.at_operand() {
            if let Some(&span) = nots.last() {
                self.warn("unexpected-token", "NOT without an operand".into(), span);
            }
            return Expr::And { children: vec![] };
        }
        let e = self.parse_primary();
        // Search logic is two-valued, so `NOT NOT x` is `x`; folding the
        // chain also keeps a long run of NOTs from building a deep tree.
        if nots.len() % 2 == 1 {
            Expr::Not { child: Box::new(e) }
        } else {
            e
        }
    }

    fn parse_primary(&mut self) -> Expr {
        let Some(t) = self.peek() else {
            return Expr::And { children: vec![] };
        };
        match t.kind {
            TokenKind::LParen => {
                self.pos += 1;
                if self.depth >= MAX_DEPTH {
                    self.warn(
                        "too-deep",
                        format!("parentheses nested deeper than {MAX_DEPTH}; group skipped"),
                        t.span,
                    );
                    self.pos = skip_group(self.toks, self.pos);
                    return Expr::And { children: vec![] };
                }
                self.depth += 1;
                let e = self.parse_and();
                self.depth -= 1;
                if self.peek_kind() == Some(TokenKind::RParen) {
                    self.pos += 1;
                }
                e
            }
            TokenKind::LBracket => self.parse_subsearch(t),
            TokenKind::Macro => {
                self.pos += 1;
                Expr::Macro(lexer::macro_call(self.src, t.span))
            }
            TokenKind::TermCall | TokenKind::CaseCall => {
                self.pos += 1;
                Expr::Term(call_term(self.src, t))
            }
            TokenKind::Word | TokenKind::Str => {
                if let Some(e) = self.parse_comparison(t) {
                    return e;
                }
                self.pos += 1;
                let text = self.text(t).to_string();
                let value = if t.kind == TokenKind::Str {
                    lexer::unquote(&text)
                } else {
                    lexer::unescape(&text)
                };
                Expr::Term(Term {
                    text,
                    value,
                    whole_token: false,
                    case_sensitive: false,
                    span: t.span,
                })
            }
            TokenKind::Comma => {
                // Commas are major breakers, never part of a term.
                self.pos += 1;
                Expr::And { children: vec![] }
            }
            _ => {
                self.pos += 1;
                let text = self.text(t).to_string();
                self.warn(
                    "unexpected-token",
                    format!("unexpected `{text}` in search"),
                    t.span,
                );
                Expr::And { children: vec![] }
            }
        }
    }

    /// `field OP value` or `field IN (values)` starting at `t`, if present.
    fn parse_comparison(&mut self, t: Token) -> Option<Expr> {
        let field = if t.kind == TokenKind::Str {
            lexer::unquote(self.text(t))
        } else {
            lexer::unescape(self.text(t))
        };
        let next = self.peek_at(1)?;
        if next.kind.is_cmp() {
            self.pos += 2;
            let op = match next.kind {
                TokenKind::Ne => CmpOp::Ne,
                TokenKind::Lt => CmpOp::Lt,
                TokenKind::Le => CmpOp::Le,
                TokenKind::Gt => CmpOp::Gt,
                TokenKind::Ge => CmpOp::Ge,
                _ => CmpOp::Eq,
            };
            let (value, cs, end) = match self.parse_value() {
                Some((lit, cs, span)) => (lit, cs, span.end),
                None => {
                    self.warn(
                        "missing-value",
                        format!("`{field}` has no value after the operator"),
                        next.span,
                    );
                    (Literal::plain(""), false, next.span.end)
                }
            };
            let span = Span::new(t.span.start, end);
            return Some(Expr::Cmp(search_cmp(field, op, vec![value], span, cs)));
        }
        let in_kw = next.kind == TokenKind::Word && self.text(next).eq_ignore_ascii_case("IN");
        if in_kw && self.peek_at(2).map(|t| t.kind) == Some(TokenKind::LParen) {
            self.pos += 3;
            let mut values = Vec::new();
            let mut macros = Vec::new();
            let mut cs = false;
            let mut end = next.span.end;
            while let Some(v) = self.peek() {
                match v.kind {
                    TokenKind::RParen => {
                        end = v.span.end;
                        self.pos += 1;
                        break;
                    }
                    TokenKind::Comma => self.pos += 1,
                    TokenKind::Pipe | TokenKind::LParen | TokenKind::RBracket => break,
                    TokenKind::Macro => {
                        // A macro expanding to list items (`IN (`names`)`).
                        macros.push(lexer::macro_call(self.src, v.span));
                        end = v.span.end;
                        self.pos += 1;
                    }
                    _ => match self.parse_value() {
                        Some((lit, c, span)) => {
                            cs |= c;
                            end = span.end;
                            values.push(lit);
                        }
                        None => {
                            let text = self.text(v).to_string();
                            self.warn(
                                "unexpected-token",
                                format!("unexpected `{text}` in IN list"),
                                v.span,
                            );
                            self.pos += 1;
                        }
                    },
                }
            }
            let span = Span::new(t.span.start, end);
            if !macros.is_empty() {
                return Some(in_with_macros(field, values, macros, span));
            }
            return Some(Expr::Cmp(search_cmp(field, CmpOp::In, values, span, cs)));
        }
        None
    }

    /// A value: word, quoted string, `TERM(x)` or `CASE(x)`; with whether
    /// it is case-sensitive.
    fn parse_value(&mut self) -> Option<(Literal, bool, Span)> {
        let t = self.peek()?;
        let text = self.text(t).to_string();
        let (lit, cs) = match t.kind {
            TokenKind::Word => {
                // `url=http://x/?a=b`: operators glued inside an unquoted
                // value belong to it.
                let mut end = t.span.end;
                let mut n = 1;
                while let Some(next) = self.peek_at(n) {
                    let glued = next.span.start == end
                        && (next.kind == TokenKind::Word || next.kind.is_cmp());
                    if !glued {
                        break;
                    }
                    end = next.span.end;
                    n += 1;
                }
                let span = Span::new(t.span.start, end);
                let raw = span.slice(self.src).to_string();
                let value = lexer::unescape(&raw);
                self.pos += n;
                return Some((Literal { raw, value }, false, span));
            }
            TokenKind::Str => {
                let value = lexer::unquote(&text);
                (Literal { raw: text, value }, false)
            }
            TokenKind::TermCall | TokenKind::CaseCall => {
                let term = call_term(self.src, t);
                (
                    Literal {
                        raw: text,
                        value: term.value,
                    },
                    term.case_sensitive,
                )
            }
            _ => return None,
        };
        self.pos += 1;
        Some((lit, cs, t.span))
    }

    /// A `[ ... ]` subsearch in filter position.
    ///
    /// The IR has no subsearch leaf, so it becomes a `Scalar` call
    /// `subsearch("text")` that the evaluator reports as unknown.
    fn parse_subsearch(&mut self, open: Token) -> Expr {
        let close = matching_bracket(self.toks, self.pos);
        let end = close.map_or(self.toks.len(), |c| c + 1);
        let last = self
            .toks
            .get(end.saturating_sub(1))
            .map_or(open.span, |t| t.span);
        self.pos = end;
        let span = open.span.join(last);
        let text = span.slice(self.src).to_string();
        Expr::Scalar {
            expr: Scalar::Call {
                name: "subsearch".into(),
                args: vec![Scalar::Str {
                    lit: Literal::plain(&text),
                }],
            },
            span,
        }
    }
}

/// `f IN (a, `m`)`: the list is only known once the macro is expanded,
/// so the condition is kept as a `Scalar` call `in(f, "a", macro("`m`"))`
/// that the evaluator reports as unknown; it yields no predicate.
fn in_with_macros(field: String, values: Vec<Literal>, macros: Vec<MacroCall>, span: Span) -> Expr {
    let mut args = vec![Scalar::Field { name: field }];
    args.extend(values.into_iter().map(|lit| Scalar::Str { lit }));
    args.extend(macros.into_iter().map(|m| Scalar::Call {
        name: "macro".into(),
        args: vec![Scalar::Str {
            lit: Literal::plain(&format!("`{}`", m.name)),
        }],
    }));
    Expr::Scalar {
        expr: Scalar::Call {
            name: "in".into(),
            args,
        },
        span,
    }
}

/// The index after the `)` closing a group whose `(` was just consumed
/// (`from` is the first token inside it), or the end.
pub fn skip_group(toks: &[Token], from: usize) -> usize {
    let mut depth = 1usize;
    for (i, t) in toks.iter().enumerate().skip(from) {
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// Index of the `]` matching the `[` at `open`, if any.
pub fn matching_bracket(toks: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            TokenKind::LBracket => depth += 1,
            TokenKind::RBracket => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The term of a `TERM(x)` or `CASE(x)` token.
pub fn call_term(src: &str, t: Token) -> Term {
    let text = t.span.slice(src);
    let inner = text
        .get(5..text.len().saturating_sub(1))
        .unwrap_or("")
        .trim();
    let value = if inner.len() >= 2 && inner.starts_with('"') && inner.ends_with('"') {
        lexer::unquote(inner)
    } else {
        lexer::unescape(inner)
    };
    Term {
        text: text.to_string(),
        value,
        whole_token: t.kind == TokenKind::TermCall,
        case_sensitive: t.kind == TokenKind::CaseCall,
        span: t.span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::spl::lexer::{lex, Mode};

    fn parse(src: &str) -> (Expr, Vec<Diagnostic>) {
        let lx = lex(src, 0, src.len(), Mode::Search);
        let mut diags = Vec::new();
        let e = parse_search(src, &lx.tokens, &mut diags);
        (e, diags)
    }

    /// A compact rendering of the tree shape for assertions.
    fn shape(e: &Expr) -> String {
        match e {
            Expr::And { children } => format!(
                "and({})",
                children.iter().map(shape).collect::<Vec<_>>().join(",")
            ),
            Expr::Or { children } => format!(
                "or({})",
                children.iter().map(shape).collect::<Vec<_>>().join(",")
            ),
            Expr::Not { child } => format!("not({})", shape(child)),
            Expr::Cmp(c) => format!(
                "{}{}{}",
                c.field,
                c.op,
                c.values
                    .iter()
                    .map(|v| v.value.as_str())
                    .collect::<Vec<_>>()
                    .join("|")
            ),
            Expr::Term(t) => t.text.clone(),
            Expr::Macro(m) => format!("`{}`", m.name),
            Expr::Scalar { .. } => "scalar".into(),
        }
    }

    #[test]
    fn or_binds_tighter_than_and() {
        // SEMANTICS F1: `a b OR c` = a AND (b OR c).
        assert_eq!(shape(&parse("a b OR c").0), "and(a,or(b,c))");
        assert_eq!(shape(&parse("a OR b c").0), "and(or(a,b),c)");
        assert_eq!(shape(&parse("NOT a OR b").0), "or(not(a),b)");
        assert_eq!(shape(&parse("a AND b OR c").0), "and(a,or(b,c))");
    }

    #[test]
    fn lowercase_or_is_a_term() {
        // SEMANTICS F10: `a or b` = a AND "or" AND b.
        assert_eq!(shape(&parse("a or b").0), "and(a,or,b)");
    }

    #[test]
    fn not_eq_differs_from_ne() {
        let (e, _) = parse(r#"NOT f=v g!="x y""#);
        assert_eq!(shape(&e), "and(not(feqv),gnex y)");
        let Expr::And { children } = e else {
            panic!("and expected")
        };
        let Expr::Cmp(c) = &children[1] else {
            panic!("cmp expected")
        };
        assert_eq!(c.values[0].raw, "\"x y\"");
        assert_eq!(c.span, Span::new(8, 16));
        assert_eq!(c.flags.wildcard, Wildcard::Glob);
        assert!(!c.flags.case_sensitive);
    }

    #[test]
    fn in_list_terms_and_case() {
        let (e, d) = parse(r#"f IN (a, b*, "c d") TERM(x.y) host=CASE(LOCAL) "q""#);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(shape(&e), r#"and(fina|b*|c d,TERM(x.y),hosteqLOCAL,"q")"#);
        let Expr::And { children } = e else {
            panic!("and expected")
        };
        let Expr::Term(t) = &children[1] else {
            panic!("term expected")
        };
        assert!(t.whole_token);
        assert_eq!(t.value, "x.y");
        assert_eq!(t.span, Span::new(20, 29));
        let Expr::Cmp(c) = &children[2] else {
            panic!("cmp expected")
        };
        assert!(c.flags.case_sensitive);
    }

    #[test]
    fn glued_operators_stay_in_the_value() {
        let (e, d) = parse("url=http://x/?a=b&c>d n>5 m=a b");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(shape(&e), "and(urleqhttp://x/?a=b&c>d,ngt5,meqa,b)");
    }

    #[test]
    fn quoted_field_names_and_spaced_operators() {
        let (e, _) = parse(r#""DNS.query"="x" Registry.path= "*\\a" n >= 5"#);
        assert_eq!(shape(&e), r#"and(DNS.queryeqx,Registry.patheq*\a,nge5)"#);
    }

    #[test]
    fn macros_and_subsearches() {
        let (e, _) = parse("`m(1)` x [search y | head 1]");
        assert_eq!(shape(&e), "and(`m`,x,scalar)");
        let (e, d) = parse("f IN (`names`, a) g=1");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(shape(&e), "and(scalar,geq1)");
        let Expr::And { children } = e else { panic!() };
        let Expr::Scalar { span, .. } = &children[0] else {
            panic!()
        };
        assert_eq!(*span, Span::new(0, 17));
    }

    #[test]
    fn recovers_from_dangling_operators() {
        let (e, d) = parse("a OR");
        assert_eq!(shape(&e), "a");
        assert_eq!(d[0].code, "unexpected-token");
        let (e, d) = parse("f= ) NOT");
        assert_eq!(shape(&e), "feq");
        assert!(d.iter().any(|d| d.code == "missing-value"));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let src = format!("{}x{}", "(".repeat(5000), ")".repeat(5000));
        let (_, d) = parse(&src);
        assert!(d.iter().any(|d| d.code == "too-deep"));
        let src = format!("{}x", "NOT ".repeat(5000));
        let _ = parse(&src);
    }
}
