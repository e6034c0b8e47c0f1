//! KQL scalar expressions: a small syntax tree and its Pratt parser.
//!
//! The tree ([`Node`]) stays close to the source so `let` values can be
//! substituted into it before it is lowered to the shared IR (`lower.rs`).
//! String operators (`has`, `in~`, `between`…) are binary nodes whose `op`
//! is the canonical spelling, with legacy aliases (`notcontains`) mapped.

use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::Literal;

use super::lexer::{TokKind, Token};

/// How deep expressions and nested queries may go before the parser gives
/// up; keeps hostile input from exhausting the stack.
pub const MAX_DEPTH: usize = 80;

/// A parsed scalar expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A column (or `let` name): `Account`, `a.b`, `$left.X`, `*`.
    Ident {
        /// The name, dotted for member paths.
        name: String,
        /// Where it is.
        span: Span,
    },
    /// A string literal (adjacent literals already concatenated).
    Str {
        /// Source spelling and value.
        lit: Literal,
        /// Where it is.
        span: Span,
    },
    /// A number or timespan, as written (`4688`, `-1`, `7d`).
    Num {
        /// The spelling.
        text: String,
        /// Where it is.
        span: Span,
    },
    /// `true` / `false`.
    Bool {
        /// The value.
        value: bool,
        /// The spelling.
        text: String,
        /// Where it is.
        span: Span,
    },
    /// `dynamic(null)`.
    Null {
        /// Where it is.
        span: Span,
    },
    /// A function call; `name` is lower-case.
    Call {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Node>,
        /// Where it is.
        span: Span,
    },
    /// A parenthesised list or `dynamic([...])` array.
    List {
        /// The items.
        items: Vec<Node>,
        /// Where it is.
        span: Span,
    },
    /// A binary operation; `op` is the canonical operator spelling.
    Bin {
        /// `==`, `+`, `has`, `!in~`, `matches regex`, `between`…
        op: String,
        /// Left operand.
        lhs: Box<Node>,
        /// Right operand (a `List` for list operators and `between`).
        rhs: Box<Node>,
        /// Where it is.
        span: Span,
    },
    /// `a and b and …`.
    And {
        /// The conjuncts.
        children: Vec<Node>,
        /// Where it is.
        span: Span,
    },
    /// `a or b or …`.
    Or {
        /// The disjuncts.
        children: Vec<Node>,
        /// Where it is.
        span: Span,
    },
    /// Arithmetic minus.
    Neg {
        /// The operand.
        expr: Box<Node>,
        /// Where it is.
        span: Span,
    },
    /// `base[index]`.
    Index {
        /// The indexed value.
        base: Box<Node>,
        /// The index.
        index: Box<Node>,
        /// Where it is.
        span: Span,
    },
    /// A tabular expression in scalar position (`toscalar(T | count)`),
    /// kept as text.
    Tabular {
        /// The text.
        text: String,
        /// Where it is.
        span: Span,
    },
}

impl Node {
    /// Where the node is in the query text.
    pub fn span(&self) -> Span {
        match self {
            Node::Ident { span, .. }
            | Node::Str { span, .. }
            | Node::Num { span, .. }
            | Node::Bool { span, .. }
            | Node::Null { span }
            | Node::Call { span, .. }
            | Node::List { span, .. }
            | Node::Bin { span, .. }
            | Node::And { span, .. }
            | Node::Or { span, .. }
            | Node::Neg { span, .. }
            | Node::Index { span, .. }
            | Node::Tabular { span, .. } => *span,
        }
    }
}

/// Operators that take a parenthesised list on the right.
const LIST_OPS: &[&str] = &["in", "in~", "!in", "!in~", "has_any", "has_all"];

/// Maps a word to its canonical string-operator spelling, when it is one.
pub fn string_op(word: &str) -> Option<&'static str> {
    const OPS: &[&str] = &[
        "has",
        "!has",
        "has_cs",
        "!has_cs",
        "hasprefix",
        "!hasprefix",
        "hasprefix_cs",
        "!hasprefix_cs",
        "hassuffix",
        "!hassuffix",
        "hassuffix_cs",
        "!hassuffix_cs",
        "contains",
        "!contains",
        "contains_cs",
        "!contains_cs",
        "startswith",
        "!startswith",
        "startswith_cs",
        "!startswith_cs",
        "endswith",
        "!endswith",
        "endswith_cs",
        "!endswith_cs",
        "in",
        "in~",
        "!in",
        "!in~",
        "has_any",
        "has_all",
        "between",
        "!between",
        "like",
        "notlike",
    ];
    let lower = word.to_ascii_lowercase();
    // Legacy spellings still found in older queries.
    let canon = match lower.as_str() {
        "notcontains" => "!contains",
        "containscs" => "contains_cs",
        "notcontainscs" => "!contains_cs",
        "notbetween" => "!between",
        "nothas" => "!has",
        "hascs" => "has_cs",
        "nothascs" => "!has_cs",
        other => other,
    };
    OPS.iter().copied().find(|o| *o == canon)
}

/// Binding power of a binary operator token, with its canonical spelling.
fn infix(tok: &Token, next: Option<&Token>) -> Option<(u8, String, usize)> {
    match &tok.kind {
        TokKind::Word(w) => {
            let lw = w.to_ascii_lowercase();
            match lw.as_str() {
                "or" => Some((1, "or".into(), 1)),
                "and" => Some((2, "and".into(), 1)),
                "matches" if next.is_some_and(|n| n.is_word("regex")) => {
                    Some((3, "matches regex".into(), 2))
                }
                _ => string_op(w).map(|op| (3, op.to_string(), 1)),
            }
        }
        TokKind::Punct(p) => {
            let bp = match *p {
                "==" | "!=" | "=~" | "!~" | "<" | "<=" | ">" | ">=" | "<>" => 3,
                "+" | "-" => 4,
                "*" | "/" | "%" => 5,
                _ => return None,
            };
            let op = if *p == "<>" { "!=" } else { p };
            Some((bp, op.to_string(), 1))
        }
        _ => None,
    }
}

/// Functions whose argument is a literal in its own syntax
/// (`datetime(2020-01-01T00:00:00Z)`), read as raw text.
const RAW_ARG_CALLS: &[&str] = &["datetime", "timespan", "time", "guid", "date"];

/// A cursor over the tokens of one expression.
pub struct ExprParser<'a> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
    end: usize,
    depth: usize,
}

/// Errors are boxed: they are rare, and a small `Result` keeps the
/// recursive parser's stack frames small.
type PResult = Result<Node, Box<Diagnostic>>;

fn err(code: &str, msg: impl Into<String>, span: Span) -> Box<Diagnostic> {
    Box::new(Diagnostic::logic(Severity::Error, code, msg, span))
}

impl<'a> ExprParser<'a> {
    /// A parser for `toks[pos..end]`; `depth` is the nesting already used.
    pub fn new(src: &'a str, toks: &'a [Token], pos: usize, end: usize, depth: usize) -> Self {
        ExprParser {
            src,
            toks,
            pos,
            end: end.min(toks.len()),
            depth,
        }
    }

    /// Parses the whole range as one expression.
    pub fn parse_all(&mut self) -> PResult {
        let node = self.parse_expr(0)?;
        if self.pos < self.end {
            let t = &self.toks[self.pos];
            return Err(err(
                "unexpected-token",
                format!("unexpected `{}` after expression", t.span.slice(self.src)),
                t.span,
            ));
        }
        Ok(node)
    }

    fn peek(&self) -> Option<&'a Token> {
        if self.pos < self.end {
            self.toks.get(self.pos)
        } else {
            None
        }
    }

    fn peek_at(&self, k: usize) -> Option<&'a Token> {
        if self.pos + k < self.end {
            self.toks.get(self.pos + k)
        } else {
            None
        }
    }

    fn eof_span(&self) -> Span {
        let at = self
            .toks
            .get(self.end.saturating_sub(1))
            .map_or(self.src.len(), |t| t.span.end);
        Span::new(at, at)
    }

    fn expect_punct(&mut self, p: &str) -> Result<Span, Box<Diagnostic>> {
        match self.peek() {
            Some(t) if t.is_punct(p) => {
                self.pos += 1;
                Ok(t.span)
            }
            Some(t) => Err(err(
                "unexpected-token",
                format!("expected `{p}`, found `{}`", t.span.slice(self.src)),
                t.span,
            )),
            None => Err(err(
                "unexpected-end",
                format!("expected `{p}`"),
                self.eof_span(),
            )),
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), Box<Diagnostic>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err("too-deep", "expression nested too deeply", span));
        }
        Ok(())
    }

    /// Parses an expression whose operators bind tighter than `min_bp`.
    pub fn parse_expr(&mut self, min_bp: u8) -> PResult {
        let saved = self.depth;
        let start_span = self.peek().map_or(self.eof_span(), |t| t.span);
        self.enter(start_span)?;
        let mut lhs = self.parse_prefix()?;
        while let Some(tok) = self.peek() {
            let Some((bp, op, width)) = infix(tok, self.peek_at(1)) else {
                break;
            };
            if bp <= min_bp {
                break;
            }
            self.pos += width;
            // Each operator deepens the tree by one; count it so long chains
            // of arithmetic are bounded too.
            if op != "and" && op != "or" {
                self.enter(tok.span)?;
            }
            let rhs = if LIST_OPS.contains(&op.as_str()) {
                self.parse_list_operand()?
            } else if op.ends_with("between") {
                self.parse_range()?
            } else {
                self.parse_expr(bp)?
            };
            let span = lhs.span().join(rhs.span());
            lhs = match (op.as_str(), lhs) {
                ("and", Node::And { mut children, .. }) => {
                    children.push(rhs);
                    Node::And { children, span }
                }
                ("or", Node::Or { mut children, .. }) => {
                    children.push(rhs);
                    Node::Or { children, span }
                }
                ("and", l) => Node::And {
                    children: vec![l, rhs],
                    span,
                },
                ("or", l) => Node::Or {
                    children: vec![l, rhs],
                    span,
                },
                (_, l) => Node::Bin {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(rhs),
                    span,
                },
            };
        }
        self.depth = saved;
        Ok(lhs)
    }

    /// The right side of `in`/`has_any`: `(a, b)`, `(listvar)` or one operand.
    fn parse_list_operand(&mut self) -> PResult {
        if self.peek().is_some_and(|t| t.is_punct("(")) {
            let (items, span, tabular) = self.parse_paren_items()?;
            if let Some(t) = tabular {
                return Ok(t);
            }
            return Ok(Node::List { items, span });
        }
        self.parse_expr(4)
    }

    /// `(a .. b)` after `between`.
    fn parse_range(&mut self) -> PResult {
        let open = self.expect_punct("(")?;
        let lo = self.parse_expr(0)?;
        self.expect_punct("..")?;
        let hi = self.parse_expr(0)?;
        let close = self.expect_punct(")")?;
        Ok(Node::List {
            items: vec![lo, hi],
            span: open.join(close),
        })
    }

    /// Parses `( item, item, … )`. A tabular expression inside (a `|` at
    /// the top level) is returned as a [`Node::Tabular`] instead.
    fn parse_paren_items(&mut self) -> Result<(Vec<Node>, Span, Option<Node>), Box<Diagnostic>> {
        let open = self.expect_punct("(")?;
        let close_idx = self.matching(self.pos - 1);
        if let Some(ci) = close_idx {
            if self.has_top_level_pipe(self.pos, ci) || self.starts_tabular(self.pos, ci) {
                let span = open.join(self.toks[ci].span);
                let inner = Span::new(open.end, self.toks[ci].span.start);
                self.pos = ci + 1;
                let node = Node::Tabular {
                    text: inner.slice(self.src).trim().to_string(),
                    span,
                };
                return Ok((Vec::new(), span, Some(node)));
            }
        }
        let mut items = Vec::new();
        if let Some(t) = self.peek().filter(|t| t.is_punct(")")) {
            self.pos += 1;
            return Ok((items, open.join(t.span), None));
        }
        loop {
            items.push(self.parse_expr(0)?);
            match self.peek() {
                Some(t) if t.is_punct(",") => self.pos += 1,
                Some(t) if t.is_punct(")") => {
                    self.pos += 1;
                    return Ok((items, open.join(t.span), None));
                }
                Some(t) => {
                    return Err(err(
                        "unexpected-token",
                        format!("expected `,` or `)`, found `{}`", t.span.slice(self.src)),
                        t.span,
                    ))
                }
                None => return Err(err("unclosed-paren", "unclosed `(`", open)),
            }
        }
    }

    /// Index of the bracket closing the one at `open`, within the range.
    fn matching(&self, open: usize) -> Option<usize> {
        matching(self.toks, open, self.end)
    }

    /// Whether `[from, to)` opens with an operator that produces a table
    /// (`externaldata(...)[...]`, `datatable(...)[...]`) even without a pipe.
    fn starts_tabular(&self, from: usize, to: usize) -> bool {
        const TABULAR: &[&str] = &[
            "externaldata",
            "datatable",
            "union",
            "range",
            "print",
            "search",
            "find",
            "evaluate",
        ];
        from < to
            && self.toks[from]
                .word()
                .is_some_and(|w| TABULAR.iter().any(|t| t.eq_ignore_ascii_case(w)))
            && self
                .toks
                .get(from + 1)
                .is_some_and(|t| !t.is_punct(")") && !t.is_punct(","))
    }

    fn has_top_level_pipe(&self, from: usize, to: usize) -> bool {
        let mut depth = 0usize;
        for t in &self.toks[from..to] {
            match &t.kind {
                TokKind::Punct("(" | "[" | "{") => depth += 1,
                TokKind::Punct(")" | "]" | "}") => depth = depth.saturating_sub(1),
                TokKind::Punct("|") if depth == 0 => return true,
                _ => {}
            }
        }
        false
    }

    fn parse_prefix(&mut self) -> PResult {
        let Some(tok) = self.peek() else {
            return Err(err(
                "expected-expression",
                "expected an expression",
                self.eof_span(),
            ));
        };
        match &tok.kind {
            TokKind::Punct("-") => {
                self.pos += 1;
                let inner = self.parse_expr(5)?;
                let span = tok.span.join(inner.span());
                Ok(match inner {
                    Node::Num { text, .. } if !text.starts_with('-') => Node::Num {
                        text: format!("-{text}"),
                        span,
                    },
                    other => Node::Neg {
                        expr: Box::new(other),
                        span,
                    },
                })
            }
            TokKind::Punct("+") => {
                self.pos += 1;
                self.parse_expr(5)
            }
            _ => {
                let base = self.parse_primary()?;
                self.parse_postfix(base)
            }
        }
    }

    fn parse_primary(&mut self) -> PResult {
        let Some(tok) = self.peek() else {
            return Err(err(
                "expected-expression",
                "expected an expression",
                self.eof_span(),
            ));
        };
        match &tok.kind {
            TokKind::Str { .. } => Ok(self.parse_strings()),
            TokKind::Num => {
                self.pos += 1;
                Ok(Node::Num {
                    text: tok.span.slice(self.src).to_string(),
                    span: tok.span,
                })
            }
            TokKind::Word(w) => {
                self.pos += 1;
                let next_is_paren = self.peek().is_some_and(|t| t.is_punct("("));
                if next_is_paren && !w.starts_with('$') {
                    return self.parse_call(w, tok.span);
                }
                match w.to_ascii_lowercase().as_str() {
                    "true" | "false" => Ok(Node::Bool {
                        value: w.eq_ignore_ascii_case("true"),
                        text: w.clone(),
                        span: tok.span,
                    }),
                    _ => Ok(Node::Ident {
                        name: w.clone(),
                        span: tok.span,
                    }),
                }
            }
            TokKind::Punct("(") => {
                let (mut items, span, tabular) = self.parse_paren_items()?;
                if let Some(t) = tabular {
                    return Ok(t);
                }
                if items.len() == 1 {
                    let mut inner = items.remove(0);
                    // Grouping parentheses: the inner node is the value; its
                    // span takes the parentheses so enclosing spans balance.
                    set_span(&mut inner, span);
                    return Ok(inner);
                }
                Ok(Node::List { items, span })
            }
            TokKind::Punct("[") => self.parse_array(),
            TokKind::Punct("*") => {
                self.pos += 1;
                Ok(Node::Ident {
                    name: "*".into(),
                    span: tok.span,
                })
            }
            TokKind::Punct("{") => {
                // A property bag in a dynamic literal: kept as text.
                let close = self
                    .matching(self.pos)
                    .ok_or_else(|| err("unclosed-paren", "unclosed `{`", tok.span))?;
                let span = tok.span.join(self.toks[close].span);
                self.pos = close + 1;
                Ok(Node::Call {
                    name: "dynamic".into(),
                    args: vec![Node::Str {
                        lit: Literal::plain(span.slice(self.src)),
                        span,
                    }],
                    span,
                })
            }
            _ => Err(err(
                "unexpected-token",
                format!("unexpected `{}` in expression", tok.span.slice(self.src)),
                tok.span,
            )),
        }
    }

    /// Adjacent string literals concatenate (`'a' "b"` is `ab`).
    fn parse_strings(&mut self) -> Node {
        let first = self.toks[self.pos].span;
        let mut span = first;
        let mut value = String::new();
        while let Some(t) = self.peek() {
            let TokKind::Str { value: v } = &t.kind else {
                break;
            };
            value.push_str(v);
            span = span.join(t.span);
            self.pos += 1;
        }
        Node::Str {
            lit: Literal {
                raw: span.slice(self.src).to_string(),
                value,
            },
            span,
        }
    }

    /// `[a, b]` array literal.
    fn parse_array(&mut self) -> PResult {
        let open = self.expect_punct("[")?;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(t) if t.is_punct("]") => {
                    self.pos += 1;
                    return Ok(Node::List {
                        items,
                        span: open.join(t.span),
                    });
                }
                Some(_) => {
                    items.push(self.parse_expr(0)?);
                    match self.peek() {
                        Some(t) if t.is_punct(",") => self.pos += 1,
                        Some(t) if t.is_punct("]") => {}
                        Some(t) => {
                            return Err(err(
                                "unexpected-token",
                                format!("expected `,` or `]`, found `{}`", t.span.slice(self.src)),
                                t.span,
                            ))
                        }
                        None => return Err(err("unclosed-paren", "unclosed `[`", open)),
                    }
                }
                None => return Err(err("unclosed-paren", "unclosed `[`", open)),
            }
        }
    }

    fn parse_call(&mut self, name: &str, name_span: Span) -> PResult {
        let lname = name.to_ascii_lowercase();
        let open_idx = self.pos;
        if RAW_ARG_CALLS.contains(&lname.as_str()) {
            let close = self
                .matching(open_idx)
                .ok_or_else(|| err("unclosed-paren", "unclosed `(`", self.toks[open_idx].span))?;
            let inner_toks = &self.toks[open_idx + 1..close];
            let span = name_span.join(self.toks[close].span);
            let arg = match inner_toks {
                [] => None,
                [t] if matches!(t.kind, TokKind::Str { .. }) => {
                    let TokKind::Str { value } = &t.kind else {
                        unreachable!("matched a string token above")
                    };
                    Some(Node::Str {
                        lit: Literal {
                            raw: t.span.slice(self.src).to_string(),
                            value: value.clone(),
                        },
                        span: t.span,
                    })
                }
                [first, .., last] | [first @ last] => {
                    let s = first.span.join(last.span);
                    Some(Node::Str {
                        lit: Literal::plain(s.slice(self.src)),
                        span: s,
                    })
                }
            };
            self.pos = close + 1;
            return Ok(Node::Call {
                name: lname,
                args: arg.into_iter().collect(),
                span,
            });
        }
        if lname == "dynamic" {
            self.expect_punct("(")?;
            let inner = if self.peek().is_some_and(|t| t.is_word("null")) {
                let t = &self.toks[self.pos];
                self.pos += 1;
                Node::Null { span: t.span }
            } else if let Some(item) = self.one_item_array() {
                item
            } else {
                self.parse_expr(0)?
            };
            let close = self.expect_punct(")")?;
            let span = name_span.join(close);
            return Ok(match inner {
                Node::List { items, .. } => Node::List { items, span },
                Node::Null { .. } => Node::Null { span },
                other => Node::Call {
                    name: lname,
                    args: vec![other],
                    span,
                },
            });
        }
        let (args, span, tabular) = self.parse_paren_items()?;
        let args = match tabular {
            Some(t) => vec![t],
            None => args,
        };
        Ok(Node::Call {
            name: lname,
            args,
            span: name_span.join(span),
        })
    }

    /// `["x"]` inside `dynamic(...)`: the lexer took it for a quoted column
    /// name, but here it is a one-string array.
    fn one_item_array(&mut self) -> Option<Node> {
        let t = self.peek()?;
        let TokKind::Word(w) = &t.kind else {
            return None;
        };
        let text = t.span.slice(self.src);
        if !text.starts_with('[') || !self.peek_at(1).is_some_and(|n| n.is_punct(")")) {
            return None;
        }
        self.pos += 1;
        let raw = text[1..text.len() - 1].trim();
        Some(Node::List {
            items: vec![Node::Str {
                lit: Literal {
                    raw: raw.to_string(),
                    value: w.clone(),
                },
                span: t.span,
            }],
            span: t.span,
        })
    }

    fn parse_postfix(&mut self, mut base: Node) -> PResult {
        while let Some(t) = self.peek() {
            if t.is_punct(".") {
                let Some(next) = self.peek_at(1) else { break };
                match &next.kind {
                    TokKind::Word(w) => {
                        self.pos += 2;
                        let span = base.span().join(next.span);
                        base = match base {
                            Node::Ident { name, .. } => Node::Ident {
                                name: format!("{name}.{w}"),
                                span,
                            },
                            other => Node::Index {
                                base: Box::new(other),
                                index: Box::new(Node::Str {
                                    lit: Literal::plain(w),
                                    span: next.span,
                                }),
                                span,
                            },
                        };
                        // `x.f(…)`: a method-style call is not KQL; stop here
                        // and let the caller report the parenthesis.
                    }
                    TokKind::Punct("[") => {
                        // `TargetResources.[0]` — an odd but accepted spelling.
                        self.pos += 1;
                    }
                    _ => break,
                }
            } else if matches!(t.kind, TokKind::Word(_)) && t.span.slice(self.src).starts_with('[')
            {
                // `a['b']`: the lexer reads `['b']` as a quoted name.
                let TokKind::Word(w) = &t.kind else {
                    break;
                };
                self.pos += 1;
                let span = base.span().join(t.span);
                base = match base {
                    Node::Ident { name, .. } => Node::Ident {
                        name: format!("{name}.{w}"),
                        span,
                    },
                    other => Node::Index {
                        base: Box::new(other),
                        index: Box::new(Node::Str {
                            lit: Literal::plain(w),
                            span: t.span,
                        }),
                        span,
                    },
                };
            } else if t.is_punct("[") {
                self.enter(t.span)?;
                self.pos += 1;
                let index = self.parse_expr(0)?;
                let close = self.expect_punct("]")?;
                let span = base.span().join(close);
                base = match (base, index) {
                    (Node::Ident { name, .. }, Node::Str { lit, .. }) => Node::Ident {
                        name: format!("{name}.{}", lit.value),
                        span,
                    },
                    (b, i) => Node::Index {
                        base: Box::new(b),
                        index: Box::new(i),
                        span,
                    },
                };
            } else {
                break;
            }
        }
        Ok(base)
    }
}

/// Replaces a node's span.
fn set_span(node: &mut Node, to: Span) {
    match node {
        Node::Ident { span, .. }
        | Node::Str { span, .. }
        | Node::Num { span, .. }
        | Node::Bool { span, .. }
        | Node::Null { span }
        | Node::Call { span, .. }
        | Node::List { span, .. }
        | Node::Bin { span, .. }
        | Node::And { span, .. }
        | Node::Or { span, .. }
        | Node::Neg { span, .. }
        | Node::Index { span, .. }
        | Node::Tabular { span, .. } => *span = to,
    }
}

/// Index of the bracket closing the one at `open` (before `end`).
pub fn matching(toks: &[Token], open: usize, end: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().take(end).skip(open) {
        match &t.kind {
            TokKind::Punct("(" | "[" | "{") => depth += 1,
            TokKind::Punct(")" | "]" | "}") => {
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

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::*;

    fn parse(text: &str) -> Node {
        let mut d = Vec::new();
        let toks = lex(text, &mut d);
        let mut p = ExprParser::new(text, &toks, 0, toks.len(), 0);
        p.parse_all().unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    fn parse_err(text: &str) -> Box<Diagnostic> {
        let mut d = Vec::new();
        let toks = lex(text, &mut d);
        let mut p = ExprParser::new(text, &toks, 0, toks.len(), 0);
        match p.parse_all() {
            Ok(n) => panic!("{text}: parsed as {n:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn precedence_and_or_cmp_arith() {
        let n = parse("a == 1 or b > 2 + 3 * 4 and c has 'x'");
        let Node::Or { children, .. } = n else {
            panic!("{n:?}")
        };
        assert_eq!(children.len(), 2);
        let Node::And { children: and, .. } = &children[1] else {
            panic!()
        };
        let Node::Bin { op, rhs, .. } = &and[0] else {
            panic!()
        };
        assert_eq!(op, ">");
        assert!(matches!(&**rhs, Node::Bin { op, .. } if op == "+"));
    }

    #[test]
    fn and_chains_are_flat() {
        let n = parse("a == 1 and b == 2 and c == 3 and d == 4");
        assert!(matches!(n, Node::And { ref children, .. } if children.len() == 4));
    }

    #[test]
    fn list_and_range_operands() {
        let n = parse("x in~ ('a', \"b\")");
        let Node::Bin { op, rhs, .. } = n else {
            panic!()
        };
        assert_eq!(op, "in~");
        assert!(matches!(*rhs, Node::List { ref items, .. } if items.len() == 2));
        let n = parse("t between (ago(1d) .. now())");
        let Node::Bin { op, rhs, .. } = n else {
            panic!()
        };
        assert_eq!(op, "between");
        assert!(matches!(*rhs, Node::List { ref items, .. } if items.len() == 2));
        let n = parse("x matches regex @'\\d+'");
        assert!(matches!(n, Node::Bin { ref op, .. } if op == "matches regex"));
    }

    #[test]
    fn dynamic_and_raw_literals() {
        let n = parse("dynamic(['a', 'b', ['c']])");
        let Node::List { items, .. } = n else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        let n = parse("datetime(2020-01-01T00:00:00Z)");
        let Node::Call { name, args, .. } = n else {
            panic!()
        };
        assert_eq!(name, "datetime");
        assert!(matches!(&args[0], Node::Str { lit, .. } if lit.value == "2020-01-01T00:00:00Z"));
        assert!(matches!(parse("dynamic(null)"), Node::Null { .. }));
        // A one-string array looks like a quoted column name to the lexer.
        let n = parse("dynamic([\"1.2.3.4\"])");
        let Node::List { items, .. } = n else {
            panic!("{n:?}")
        };
        assert!(
            matches!(&items[0], Node::Str { lit, .. } if lit.value == "1.2.3.4" && lit.raw == "\"1.2.3.4\"")
        );
    }

    #[test]
    fn member_paths_and_indexes() {
        assert!(matches!(parse("a.b.c"), Node::Ident { ref name, .. } if name == "a.b.c"));
        assert!(matches!(parse("a['b']"), Node::Ident { ref name, .. } if name == "a.b"));
        assert!(matches!(parse("split(x, '/')[-2]"), Node::Index { .. }));
        assert!(matches!(parse("T.[0].x"), Node::Index { .. }));
        assert!(matches!(parse("f(x)['k']"), Node::Index { .. }));
    }

    #[test]
    fn tabular_argument_is_kept_as_text() {
        let n = parse("toscalar(T | where a == 1 | count)");
        let Node::Call { args, .. } = n else { panic!() };
        assert!(
            matches!(&args[0], Node::Tabular { text, .. } if text == "T | where a == 1 | count")
        );
    }

    #[test]
    fn grouping_spans_include_parentheses() {
        let n = parse("a < (b + c)");
        assert_eq!(n.span(), Span::new(0, 11));
        let n = parse("(a - b) > 1");
        assert_eq!(n.span(), Span::new(0, 11));
    }

    #[test]
    fn adjacent_strings_concatenate() {
        let n = parse("'a' \"b\"");
        assert!(
            matches!(n, Node::Str { ref lit, .. } if lit.value == "ab" && lit.raw == "'a' \"b\"")
        );
    }

    #[test]
    fn errors_have_spans() {
        let e = parse_err("a == ");
        assert_eq!(e.code, "expected-expression");
        let e = parse_err("a == (1");
        assert_eq!(e.code, "unclosed-paren");
        assert_eq!(e.span, Some(Span::new(5, 6)));
        let e = parse_err("a b");
        assert_eq!(e.span, Some(Span::new(2, 3)));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(parse_err(&text).code, "too-deep");
        let text = vec!["1"; 5000].join(" + ");
        assert_eq!(parse_err(&text).code, "too-deep");
    }
}
