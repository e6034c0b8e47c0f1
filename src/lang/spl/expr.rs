//! The `eval`/`where` expression parser, and the lowering of `where`
//! conditions to predicates.
//!
//! Precedence, loosest first: `OR`/`XOR`, `AND`, `NOT`, comparisons
//! (`= == != < <= > >=`, `LIKE`, `IN (...)`), `+ - .`, `* / %`, unary
//! minus, then calls, literals and fields. In expressions the keywords are
//! case-insensitive; `"double quotes"` make strings and `'single quotes'`
//! name fields, and an unquoted word is a field reference.

use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::{
    Assignment, BinOp, Cmp, CmpOp, Expr, Flags, Literal, MacroCall, Scalar, UnaryOp, Wildcard,
};

use super::lexer::{self, Token, TokenKind};
use super::MAX_DEPTH;

/// Deepest arithmetic chain kept; longer chains are cut with a warning so
/// later recursion over the tree (conversion, drop) stays shallow.
const MAX_CHAIN: u32 = 256;

/// An expression with spans, before conversion to [`Scalar`]/[`Expr`].
#[derive(Clone, Debug)]
struct Ast {
    node: Node,
    span: Span,
    /// Height of the tree, to bound recursion.
    height: u32,
}

#[derive(Clone, Debug)]
enum Node {
    Field(String),
    Str(Literal),
    Num(String),
    Bool(bool),
    Null,
    Macro(MacroCall),
    Call(String, Vec<Ast>),
    Binary(BinOp, Box<Ast>, Box<Ast>),
    /// An n-ary `AND`/`OR`: kept flat so long chains stay shallow.
    Logic(BinOp, Vec<Ast>),
    Not(Box<Ast>),
    Neg(Box<Ast>),
}

impl Ast {
    fn leaf(node: Node, span: Span) -> Ast {
        Ast {
            node,
            span,
            height: 1,
        }
    }

    fn null(span: Span) -> Ast {
        Ast::leaf(Node::Null, span)
    }
}

/// Parses `where` argument tokens into a condition with
/// [`Logic::ThreeValued`](crate::ir::Logic) semantics.
pub fn parse_where(src: &str, tokens: &[Token], diags: &mut Vec<Diagnostic>) -> Expr {
    let mut p = ExprParser::new(src, tokens, diags);
    let mut parts = Vec::new();
    while p.pos < p.toks.len() {
        let before = p.pos;
        parts.push(p.parse_or());
        if p.pos == before {
            p.unexpected();
        }
    }
    match parts.len() {
        0 => Expr::And { children: vec![] },
        1 => lower(parts.pop().unwrap_or_else(|| Ast::null(Span::default()))),
        _ => Expr::And {
            children: parts.into_iter().map(lower).collect(),
        },
    }
}

/// Parses `eval` argument tokens: `name = expr [, name = expr]...`.
pub fn parse_eval(src: &str, tokens: &[Token], diags: &mut Vec<Diagnostic>) -> Vec<Assignment> {
    let mut p = ExprParser::new(src, tokens, diags);
    let mut out = Vec::new();
    while p.pos < p.toks.len() {
        let Some(t) = p.peek() else { break };
        let name = match t.kind {
            TokenKind::Word => t.span.slice(src).to_string(),
            TokenKind::SQuote | TokenKind::Str => lexer::unquote(t.span.slice(src)),
            TokenKind::Comma => {
                p.pos += 1;
                continue;
            }
            _ => {
                p.unexpected();
                continue;
            }
        };
        p.pos += 1;
        if !matches!(p.peek_kind(), Some(TokenKind::Eq | TokenKind::EqEq)) {
            p.warn(
                "unexpected-token",
                format!("expected `=` after `{name}` in eval"),
                t.span,
            );
            p.skip_to_comma();
            continue;
        }
        p.pos += 1;
        let value = p.parse_or();
        out.push(Assignment {
            name,
            value: to_scalar(&value),
        });
        match p.peek_kind() {
            None => {}
            Some(TokenKind::Comma) => p.pos += 1,
            Some(_) => {
                p.unexpected();
                p.skip_to_comma();
            }
        }
    }
    out
}

/// Parses one scalar expression (e.g. a `head` condition or a stats
/// `eval(...)` argument); leftover tokens are reported.
pub fn parse_scalar(src: &str, tokens: &[Token], diags: &mut Vec<Diagnostic>) -> Scalar {
    let mut p = ExprParser::new(src, tokens, diags);
    let ast = p.parse_or();
    if p.pos < p.toks.len() {
        p.unexpected();
    }
    to_scalar(&ast)
}

struct ExprParser<'a, 'd> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
    depth: usize,
    diags: &'d mut Vec<Diagnostic>,
}

impl<'a, 'd> ExprParser<'a, 'd> {
    fn new(src: &'a str, toks: &'a [Token], diags: &'d mut Vec<Diagnostic>) -> Self {
        ExprParser {
            src,
            toks,
            pos: 0,
            depth: 0,
            diags,
        }
    }

    fn peek(&self) -> Option<Token> {
        self.toks.get(self.pos).copied()
    }

    fn peek_kind(&self) -> Option<TokenKind> {
        self.peek().map(|t| t.kind)
    }

    fn text(&self, t: Token) -> &'a str {
        t.span.slice(self.src)
    }

    /// Whether the next token is the keyword `kw` (any case).
    fn at_keyword(&self, kw: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == TokenKind::Word && self.text(t).eq_ignore_ascii_case(kw))
    }

    fn warn(&mut self, code: &str, message: String, span: Span) {
        self.diags
            .push(Diagnostic::logic(Severity::Warning, code, message, span));
    }

    /// Reports and skips the next token. A stray `)` was already reported
    /// by the stage splitter, so it is skipped silently.
    fn unexpected(&mut self) {
        if let Some(t) = self.peek() {
            self.pos += 1;
            if t.kind != TokenKind::RParen {
                let text = self.text(t).to_string();
                self.warn(
                    "unexpected-token",
                    format!("unexpected `{text}` in expression"),
                    t.span,
                );
            }
        }
    }

    fn skip_to_comma(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t.kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => depth = depth.saturating_sub(1),
                TokenKind::Comma if depth == 0 => return,
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// Whether the next token can start an operand.
    fn at_operand(&self) -> bool {
        match self.peek() {
            None => false,
            Some(t) => match t.kind {
                TokenKind::Word => {
                    let w = self.text(t);
                    !["AND", "OR", "XOR", "LIKE", "IN", "BY", "AS"]
                        .iter()
                        .any(|k| w.eq_ignore_ascii_case(k))
                }
                TokenKind::Number
                | TokenKind::Str
                | TokenKind::SQuote
                | TokenKind::Macro
                | TokenKind::LParen
                | TokenKind::Bang
                | TokenKind::Minus => true,
                _ => false,
            },
        }
    }

    fn parse_or(&mut self) -> Ast {
        if self.depth >= MAX_DEPTH {
            let span = self.peek().map_or(Span::default(), |t| t.span);
            self.warn(
                "too-deep",
                format!("expression nested deeper than {MAX_DEPTH}; rest skipped"),
                span,
            );
            self.pos = self.toks.len();
            return Ast::null(span);
        }
        self.depth += 1;
        let mut items = vec![self.parse_and()];
        loop {
            self.skip_stray_parens();
            if self.at_keyword("OR") {
                self.pos += 1;
                items.push(self.parse_and());
            } else if self.at_keyword("XOR") {
                self.pos += 1;
                let rhs = self.parse_and();
                let lhs = logic(BinOp::Or, std::mem::take(&mut items));
                items.push(call("xor", vec![lhs, rhs]));
            } else {
                break;
            }
        }
        self.depth -= 1;
        logic(BinOp::Or, items)
    }

    /// At the top level of an expression every `)` is stray (the stage
    /// splitter reported it); skipping it lets the expression go on.
    fn skip_stray_parens(&mut self) {
        if self.depth == 1 {
            while self.peek_kind() == Some(TokenKind::RParen) {
                self.pos += 1;
            }
        }
    }

    fn parse_and(&mut self) -> Ast {
        let mut items = vec![self.parse_not()];
        loop {
            self.skip_stray_parens();
            if self.at_keyword("AND") {
                self.pos += 1;
                items.push(self.parse_not());
            } else if self.at_operand() && !self.at_keyword("NOT") {
                // Two operands with nothing between them (`a=1 b=2`): read
                // as AND, as search would, but say so.
                let t = self.toks[self.pos];
                self.warn(
                    "missing-operator",
                    "missing operator before this operand; read as AND".into(),
                    t.span,
                );
                items.push(self.parse_not());
            } else {
                break;
            }
        }
        logic(BinOp::And, items)
    }

    fn parse_not(&mut self) -> Ast {
        let mut nots = Vec::new();
        while self.at_keyword("NOT") || self.peek_kind() == Some(TokenKind::Bang) {
            nots.push(self.toks[self.pos].span);
            self.pos += 1;
        }
        let mut e = self.parse_cmp();
        // Three-valued NOT NOT x is x too (unknown stays unknown), so the
        // chain folds to its parity.
        if nots.len() % 2 == 1 {
            let span = nots[0].join(e.span);
            e = Ast {
                height: e.height + 1,
                node: Node::Not(Box::new(e)),
                span,
            };
        }
        e
    }

    fn parse_cmp(&mut self) -> Ast {
        let mut lhs = self.parse_add();
        while let Some(t) = self.peek() {
            let op = match t.kind {
                TokenKind::Eq | TokenKind::EqEq => BinOp::Eq,
                TokenKind::Ne => BinOp::Ne,
                TokenKind::Lt => BinOp::Lt,
                TokenKind::Le => BinOp::Le,
                TokenKind::Gt => BinOp::Gt,
                TokenKind::Ge => BinOp::Ge,
                TokenKind::Word if self.text(t).eq_ignore_ascii_case("LIKE") => {
                    self.pos += 1;
                    let rhs = self.parse_add();
                    lhs = call("like", vec![lhs, rhs]);
                    continue;
                }
                TokenKind::Word
                    if self.text(t).eq_ignore_ascii_case("IN")
                        && self.toks.get(self.pos + 1).map(|t| t.kind)
                            == Some(TokenKind::LParen) =>
                {
                    self.pos += 2;
                    let (mut args, end) = self.parse_args();
                    args.insert(0, lhs);
                    let mut e = call("in", args);
                    e.span = e.span.join(end);
                    lhs = e;
                    continue;
                }
                _ => break,
            };
            self.pos += 1;
            let rhs = self.parse_add();
            lhs = binary(op, lhs, rhs);
        }
        lhs
    }

    fn parse_add(&mut self) -> Ast {
        let mut lhs = self.parse_mul();
        loop {
            let op = match self.peek_kind() {
                Some(TokenKind::Plus) => BinOp::Add,
                Some(TokenKind::Minus) => BinOp::Sub,
                Some(TokenKind::Dot) => BinOp::Concat,
                _ => break,
            };
            let t = self.toks[self.pos];
            self.pos += 1;
            let rhs = self.parse_mul();
            lhs = self.chain(op, lhs, rhs, t.span);
        }
        lhs
    }

    fn parse_mul(&mut self) -> Ast {
        let mut lhs = self.parse_unary();
        loop {
            let op = match self.peek_kind() {
                Some(TokenKind::Star) => BinOp::Mul,
                Some(TokenKind::Slash) => BinOp::Div,
                Some(TokenKind::Percent) => BinOp::Rem,
                _ => break,
            };
            let t = self.toks[self.pos];
            self.pos += 1;
            let rhs = self.parse_unary();
            lhs = self.chain(op, lhs, rhs, t.span);
        }
        lhs
    }

    /// Combines a left-associative chain link, cutting over-long chains.
    fn chain(&mut self, op: BinOp, lhs: Ast, rhs: Ast, at: Span) -> Ast {
        if lhs.height >= MAX_CHAIN {
            self.warn(
                "too-deep",
                format!("expression chain longer than {MAX_CHAIN}; operand dropped"),
                at,
            );
            return lhs;
        }
        binary(op, lhs, rhs)
    }

    fn parse_unary(&mut self) -> Ast {
        let mut negs = Vec::new();
        while self.peek_kind() == Some(TokenKind::Minus) {
            negs.push(self.toks[self.pos].span);
            self.pos += 1;
        }
        let mut e = self.parse_primary();
        if negs.len() % 2 == 1 {
            let start = negs[negs.len() - 1];
            if let Node::Num(n) = &e.node {
                // `-1` is a literal, spelled as written.
                let text = format!("-{n}");
                e = Ast::leaf(Node::Num(text), start.join(e.span));
            } else {
                e = Ast {
                    height: e.height + 1,
                    span: start.join(e.span),
                    node: Node::Neg(Box::new(e)),
                };
            }
        }
        e
    }

    fn parse_primary(&mut self) -> Ast {
        let Some(t) = self.peek() else {
            let span = self
                .toks
                .last()
                .map_or(Span::default(), |t| Span::new(t.span.end, t.span.end));
            self.warn(
                "missing-operand",
                "expression ends without an operand".into(),
                span,
            );
            return Ast::null(span);
        };
        let text = self.text(t);
        match t.kind {
            TokenKind::Number => {
                self.pos += 1;
                Ast::leaf(Node::Num(text.to_string()), t.span)
            }
            TokenKind::Str => {
                self.pos += 1;
                let lit = Literal {
                    raw: text.to_string(),
                    value: lexer::unquote(text),
                };
                Ast::leaf(Node::Str(lit), t.span)
            }
            TokenKind::SQuote => {
                self.pos += 1;
                Ast::leaf(Node::Field(lexer::unquote(text)), t.span)
            }
            TokenKind::Macro => {
                self.pos += 1;
                Ast::leaf(Node::Macro(lexer::macro_call(self.src, t.span)), t.span)
            }
            TokenKind::LParen => {
                self.pos += 1;
                let mut e = self.parse_or();
                match self.peek_kind() {
                    Some(TokenKind::RParen) => {
                        let close = self.toks[self.pos].span;
                        self.pos += 1;
                        e.span = t.span.join(close);
                    }
                    // Unclosed at the end: reported by the stage splitter.
                    None => {}
                    Some(_) => {
                        let at = self.toks[self.pos].span;
                        self.warn("unexpected-token", "expected `)`".into(), at);
                    }
                }
                e
            }
            TokenKind::Word
                if self.toks.get(self.pos + 1).map(|t| t.kind) == Some(TokenKind::LParen) =>
            {
                self.pos += 2;
                let (args, end) = self.parse_args();
                let name = text.to_ascii_lowercase();
                let span = t.span.join(end);
                match (name.as_str(), args.is_empty()) {
                    ("true", true) => Ast::leaf(Node::Bool(true), span),
                    ("false", true) => Ast::leaf(Node::Bool(false), span),
                    ("null", true) => Ast::leaf(Node::Null, span),
                    _ => {
                        let mut e = call(&name, args);
                        e.span = span;
                        e
                    }
                }
            }
            TokenKind::Word if is_field_word(text) => {
                self.pos += 1;
                Ast::leaf(Node::Field(text.to_string()), t.span)
            }
            _ => {
                self.warn(
                    "unexpected-token",
                    format!("unexpected `{text}` where an operand belongs"),
                    t.span,
                );
                // Consume it unless it can end an enclosing construct.
                if !matches!(t.kind, TokenKind::RParen | TokenKind::Comma) {
                    self.pos += 1;
                }
                Ast::null(t.span)
            }
        }
    }

    /// Arguments after an opening `(` up to its `)`; returns them and the
    /// span of the closing paren (or of the last token read).
    fn parse_args(&mut self) -> (Vec<Ast>, Span) {
        let mut args = Vec::new();
        let mut end = self
            .toks
            .get(self.pos.saturating_sub(1))
            .map_or(Span::default(), |t| t.span);
        loop {
            match self.peek_kind() {
                None => return (args, end),
                Some(TokenKind::RParen) => {
                    end = self.toks[self.pos].span;
                    self.pos += 1;
                    return (args, end);
                }
                Some(TokenKind::Comma) => {
                    end = self.toks[self.pos].span;
                    self.pos += 1;
                }
                Some(_) => {
                    let before = self.pos;
                    let a = self.parse_or();
                    end = a.span;
                    args.push(a);
                    if self.pos == before {
                        self.pos += 1;
                    } else if !matches!(
                        self.peek_kind(),
                        None | Some(TokenKind::Comma | TokenKind::RParen)
                    ) {
                        self.unexpected();
                    }
                }
            }
        }
    }
}

/// Whether a word may be a bare field reference in an expression.
fn is_field_word(w: &str) -> bool {
    w.chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '@' | '$' | '{'))
}

fn call(name: &str, args: Vec<Ast>) -> Ast {
    let span = args
        .iter()
        .map(|a| a.span)
        .reduce(Span::join)
        .unwrap_or_default();
    let height = args.iter().map(|a| a.height).max().unwrap_or(0) + 1;
    Ast {
        node: Node::Call(name.to_string(), args),
        span,
        height,
    }
}

fn binary(op: BinOp, lhs: Ast, rhs: Ast) -> Ast {
    Ast {
        span: lhs.span.join(rhs.span),
        height: lhs.height.max(rhs.height) + 1,
        node: Node::Binary(op, Box::new(lhs), Box::new(rhs)),
    }
}

/// A flat `AND`/`OR` of `items`, or the only item.
fn logic(op: BinOp, mut items: Vec<Ast>) -> Ast {
    if items.len() == 1 {
        if let Some(only) = items.pop() {
            return only;
        }
    }
    let mut flat = Vec::with_capacity(items.len());
    for a in items {
        match a.node {
            Node::Logic(o, inner) if o == op => flat.extend(inner),
            node => flat.push(Ast { node, ..a }),
        }
    }
    let span = flat
        .iter()
        .map(|a| a.span)
        .reduce(Span::join)
        .unwrap_or_default();
    let height = flat.iter().map(|a| a.height).max().unwrap_or(0) + 1;
    Ast {
        node: Node::Logic(op, flat),
        span,
        height,
    }
}

/// Converts to the IR scalar. `AND`/`OR` chains become balanced binary
/// trees (they are associative), so their depth is logarithmic.
fn to_scalar(a: &Ast) -> Scalar {
    match &a.node {
        Node::Field(name) => Scalar::Field { name: name.clone() },
        Node::Str(lit) => Scalar::Str { lit: lit.clone() },
        Node::Num(text) => Scalar::Num { text: text.clone() },
        Node::Bool(value) => Scalar::Bool { value: *value },
        Node::Null => Scalar::Null,
        Node::Macro(m) => Scalar::Call {
            name: "macro".into(),
            args: vec![Scalar::Str {
                lit: Literal::plain(&format!("`{}`", m.name)),
            }],
        },
        Node::Call(name, args) => Scalar::Call {
            name: name.clone(),
            args: args.iter().map(to_scalar).collect(),
        },
        Node::Binary(op, l, r) => Scalar::Binary {
            op: *op,
            lhs: Box::new(to_scalar(l)),
            rhs: Box::new(to_scalar(r)),
        },
        Node::Logic(op, items) => balanced(*op, items),
        Node::Not(e) => Scalar::Unary {
            op: UnaryOp::Not,
            expr: Box::new(to_scalar(e)),
        },
        Node::Neg(e) => Scalar::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(to_scalar(e)),
        },
    }
}

fn balanced(op: BinOp, items: &[Ast]) -> Scalar {
    match items {
        [] => Scalar::Bool {
            value: op == BinOp::And,
        },
        [one] => to_scalar(one),
        _ => {
            let (l, r) = items.split_at(items.len() / 2);
            Scalar::Binary {
                op,
                lhs: Box::new(balanced(op, l)),
                rhs: Box::new(balanced(op, r)),
            }
        }
    }
}

/// Flags of a `where` comparison: case-sensitive, no wildcards.
fn where_flags(wildcard: Wildcard) -> Flags {
    Flags {
        case_sensitive: true,
        wildcard,
        ..Flags::default()
    }
}

fn where_cmp(field: &str, op: CmpOp, values: Vec<Literal>, span: Span, wildcard: Wildcard) -> Expr {
    Expr::Cmp(Cmp {
        field: field.to_string(),
        op,
        values,
        flags: where_flags(wildcard),
        span,
    })
}

/// A literal operand (string or number), if `a` is one.
fn literal(a: &Ast) -> Option<Literal> {
    match &a.node {
        Node::Str(lit) => Some(lit.clone()),
        Node::Num(text) => Some(Literal::plain(text)),
        _ => None,
    }
}

fn field(a: &Ast) -> Option<&str> {
    match &a.node {
        Node::Field(name) => Some(name),
        _ => None,
    }
}

fn cmp_op(op: BinOp) -> Option<CmpOp> {
    Some(match op {
        BinOp::Eq => CmpOp::Eq,
        BinOp::Ne => CmpOp::Ne,
        BinOp::Lt => CmpOp::Lt,
        BinOp::Le => CmpOp::Le,
        BinOp::Gt => CmpOp::Gt,
        BinOp::Ge => CmpOp::Ge,
        _ => return None,
    })
}

/// `a OP b` read from the other side: `5 < x` is `x > 5`.
fn mirror(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// Lowers a `where` condition to predicates where that is exact, and to
/// `Expr::Scalar` elsewhere.
fn lower(a: Ast) -> Expr {
    let span = a.span;
    match a.node {
        Node::Logic(BinOp::And, items) => Expr::And {
            children: items.into_iter().map(lower).collect(),
        },
        Node::Logic(BinOp::Or, items) => Expr::Or {
            children: items.into_iter().map(lower).collect(),
        },
        Node::Not(inner) => Expr::Not {
            child: Box::new(lower(*inner)),
        },
        Node::Macro(m) => Expr::Macro(m),
        Node::Binary(op, ref l, ref r) => match lower_binary(op, l, r, span) {
            Some(e) => e,
            None => scalar_expr(&a),
        },
        Node::Call(ref name, ref args) => match lower_call(name, args, span) {
            Some(e) => e,
            None => scalar_expr(&a),
        },
        _ => scalar_expr(&a),
    }
}

fn scalar_expr(a: &Ast) -> Expr {
    Expr::Scalar {
        expr: to_scalar(a),
        span: a.span,
    }
}

fn lower_binary(op: BinOp, l: &Ast, r: &Ast, span: Span) -> Option<Expr> {
    let cop = cmp_op(op)?;
    if let (Some(f), Some(v)) = (field(l), literal(r)) {
        return Some(where_cmp(f, cop, vec![v], span, Wildcard::None));
    }
    if let (Some(v), Some(f)) = (literal(l), field(r)) {
        return Some(where_cmp(f, mirror(cop), vec![v], span, Wildcard::None));
    }
    // lower(f)="abc" is f compared case-insensitively with "abc" only when
    // the literal is already lower-case (else it can never be equal).
    if let (Node::Call(name, args), Node::Str(lit)) = (&l.node, &r.node) {
        if matches!(cop, CmpOp::Eq | CmpOp::Ne) && args.len() == 1 {
            let exact = match name.as_str() {
                "lower" => lit.value == lit.value.to_lowercase(),
                "upper" => lit.value == lit.value.to_uppercase(),
                _ => false,
            };
            if let (true, Some(f)) = (exact, field(&args[0])) {
                let mut e = where_cmp(f, cop, vec![lit.clone()], span, Wildcard::None);
                if let Expr::Cmp(c) = &mut e {
                    c.flags.case_sensitive = false;
                }
                return Some(e);
            }
        }
    }
    None
}

fn lower_call(name: &str, args: &[Ast], span: Span) -> Option<Expr> {
    let f = field(args.first()?)?;
    match (name, args.len()) {
        ("match", 2) => {
            let v = literal(&args[1])?;
            Some(where_cmp(f, CmpOp::Match, vec![v], span, Wildcard::None))
        }
        ("like", 2) => {
            let v = literal(&args[1])?;
            Some(where_cmp(f, CmpOp::Like, vec![v], span, Wildcard::Sql))
        }
        ("isnull", 1) => Some(where_cmp(f, CmpOp::IsNull, vec![], span, Wildcard::None)),
        ("isnotnull", 1) => Some(where_cmp(f, CmpOp::IsNotNull, vec![], span, Wildcard::None)),
        ("in", n) if n >= 2 => {
            let values = args[1..].iter().map(literal).collect::<Option<Vec<_>>>()?;
            Some(where_cmp(f, CmpOp::In, values, span, Wildcard::None))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::spl::lexer::{lex, Mode};

    fn where_(src: &str) -> (Expr, Vec<Diagnostic>) {
        let lx = lex(src, 0, src.len(), Mode::Expr);
        let mut d = lx.diagnostics.clone();
        (parse_where(src, &lx.tokens, &mut d), d)
    }

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
                "{} {} {}",
                c.field,
                c.op,
                c.values
                    .iter()
                    .map(|v| v.raw.as_str())
                    .collect::<Vec<_>>()
                    .join("|")
            ),
            Expr::Term(t) => t.text.clone(),
            Expr::Macro(m) => format!("`{}`", m.name),
            Expr::Scalar { .. } => "scalar".into(),
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // SEMANTICS F2: x=1 OR y=1 AND z=1 = x=1 OR (y=1 AND z=1).
        let (e, d) = where_("x=1 OR y=1 AND z=1");
        assert!(d.is_empty());
        assert_eq!(shape(&e), "or(x eq 1,and(y eq 1,z eq 1))");
        let (e, _) = where_("NOT a=1 and b=2 or c=3");
        assert_eq!(shape(&e), "or(and(not(a eq 1),b eq 2),c eq 3)");
    }

    #[test]
    fn match_keeps_raw_and_value() {
        let src = r#"match(process_name, "(?i)\x5cnetscan(32|64)?\.exe") or match(p, "a")"#;
        let (e, _) = where_(src);
        let Expr::Or { children } = &e else {
            panic!("or expected: {e:?}")
        };
        let Expr::Cmp(c) = &children[0] else {
            panic!("cmp expected")
        };
        assert_eq!(c.op, CmpOp::Match);
        assert_eq!(c.field, "process_name");
        assert_eq!(c.values[0].value, r"(?i)\x5cnetscan(32|64)?\.exe");
        assert_eq!(c.values[0].raw, r#""(?i)\x5cnetscan(32|64)?\.exe""#);
        assert_eq!(c.span, Span::new(0, 51));
        assert!(c.flags.case_sensitive);
        assert_eq!(c.flags.wildcard, Wildcard::None);
    }

    #[test]
    fn leaves_lower_only_when_exact() {
        let cases = [
            (r#"like(f, "a%")"#, "f like \"a%\""),
            (r#"f LIKE "a%""#, "f like \"a%\""),
            ("isnull(f)", "f isnull "),
            ("isnotnull('f x')", "f x isnotnull "),
            (r#"in(f, "a", 2)"#, "f in \"a\"|2"),
            (r#"f IN ("a", "b")"#, "f in \"a\"|\"b\""),
            (r#"lower(f)="abc""#, "f eq \"abc\""),
            (r#"upper(f)!="ABC""#, "f ne \"ABC\""),
            (r#"lower(f)="aBc""#, "scalar"),
            ("user=admin", "scalar"),
            ("len(x)>3", "scalar"),
            (r#"cidrmatch("10.0.0.0/8", ip)"#, "scalar"),
            ("5 < x", "x gt 5"),
            ("x > -1", "x gt -1"),
            (r#"x="a*""#, "x eq \"a*\""),
        ];
        for (src, want) in cases {
            let (e, d) = where_(src);
            assert_eq!(shape(&e), want, "{src}");
            assert!(d.is_empty(), "{src}: {d:?}");
        }
        let (e, _) = where_(r#"lower(f)="abc""#);
        let Expr::Cmp(c) = e else { panic!() };
        assert!(!c.flags.case_sensitive);
        let (e, _) = where_(r#"like(f, "a%")"#);
        let Expr::Cmp(c) = e else { panic!() };
        assert_eq!(c.flags.wildcard, Wildcard::Sql);
        assert!(c.flags.case_sensitive);
    }

    #[test]
    fn eval_assignments() {
        let src = r#"a=if(c>5,1,0), 'b c'=x."s".y.z, n=-2*(3+4) % 5, t=true(), u=null()"#;
        let lx = lex(src, 0, src.len(), Mode::Expr);
        let mut d = Vec::new();
        let a = parse_eval(src, &lx.tokens, &mut d);
        assert!(d.is_empty(), "{d:?}");
        let names: Vec<_> = a.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a", "b c", "n", "t", "u"]);
        let Scalar::Call { name, args } = &a[0].value else {
            panic!()
        };
        assert_eq!(name, "if");
        assert_eq!(args.len(), 3);
        assert!(matches!(
            &a[1].value,
            Scalar::Binary {
                op: BinOp::Concat,
                ..
            }
        ));
        assert!(matches!(&a[2].value, Scalar::Binary { op: BinOp::Rem, .. }));
        assert_eq!(a[3].value, Scalar::Bool { value: true });
        assert_eq!(a[4].value, Scalar::Null);
    }

    #[test]
    fn recovery_and_depth() {
        let (e, d) = where_(r#"match(p,"a") Xmatch(p,"b")"#);
        assert_eq!(d[0].code, "missing-operator");
        assert_eq!(shape(&e), "and(p match \"a\",scalar)");
        let (e, d) = where_(r#"match(p,"a") ANDmatch(p,"b")"#);
        assert_eq!(d[0].code, "missing-space");
        assert_eq!(shape(&e), "and(p match \"a\",p match \"b\")");
        // A stray `)` (reported by the splitter) does not end the condition.
        let (e, d) = where_(r#"a=1 and !b=2) or c=3"#);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(shape(&e), "or(and(a eq 1,not(b eq 2)),c eq 3)");
        let (_, d) = where_(&format!("{}x=1", "(".repeat(3000)));
        assert!(d.iter().any(|d| d.code == "too-deep"));
        let long = vec!["a"; 5000].join(" + ");
        let (_, d) = where_(&format!("x={long}"));
        assert!(d.iter().any(|d| d.code == "too-deep"));
        let ors = vec!["x=1"; 5000].join(" OR ");
        let (e, d) = where_(&ors);
        assert!(d.is_empty());
        let Expr::Or { children } = e else { panic!() };
        assert_eq!(children.len(), 5000);
    }
}
