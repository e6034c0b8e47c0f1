//! The SPL lexer: turns logic text into tokens that carry byte spans.
//!
//! One hand-written scanner serves two modes. [`Mode::Search`] is used for
//! the whole logic (stage splitting, `search` and command arguments): `*`,
//! `-`, `.`, `/` and `'` are ordinary word characters and `TERM(...)`/
//! `CASE(...)` are single tokens. [`Mode::Expr`] re-lexes the argument text
//! of `eval`/`where` stages, where those characters are operators and
//! `'single quotes'` name fields.
//!
//! Both modes treat double-quoted strings, backtick macros and
//! triple-backtick comments the same way, so a `|` inside any of them never
//! ends a stage. The lexer never fails: what it cannot pair up becomes a
//! diagnostic and the offending character is read as an ordinary one.

use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::MacroCall;

/// Which grammar the text is lexed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Search arguments and command options.
    Search,
    /// `eval`/`where` expressions.
    Expr,
}

/// What a token is; its text is the source slice under its span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A run of word characters (field names, values, command names).
    Word,
    /// A number (expression mode only; search mode reads numbers as words).
    Number,
    /// A double-quoted string, quotes included in the span.
    Str,
    /// A single-quoted field name (expression mode only).
    SQuote,
    /// A backtick macro reference, backticks included.
    Macro,
    /// `TERM(...)` (search mode only), the whole call in the span.
    TermCall,
    /// `CASE(...)` (search mode only), the whole call in the span.
    CaseCall,
    /// `|`
    Pipe,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+` (expression mode)
    Plus,
    /// `-` (expression mode)
    Minus,
    /// `*` (expression mode)
    Star,
    /// `/` (expression mode)
    Slash,
    /// `%` (expression mode)
    Percent,
    /// `.` string concatenation (expression mode)
    Dot,
    /// `!` (expression mode; read as `NOT`)
    Bang,
}

impl TokenKind {
    /// Whether the token is a comparison operator.
    pub fn is_cmp(self) -> bool {
        matches!(
            self,
            TokenKind::Eq
                | TokenKind::EqEq
                | TokenKind::Ne
                | TokenKind::Lt
                | TokenKind::Le
                | TokenKind::Gt
                | TokenKind::Ge
        )
    }
}

/// One token and where it is in the logic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is (absolute byte offsets into the logic).
    pub span: Span,
}

/// The result of lexing: tokens in order, plus what could not be paired.
#[derive(Clone, Debug, Default)]
pub struct Lexed {
    /// Tokens, comments left out.
    pub tokens: Vec<Token>,
    /// Unclosed quotes, macros and comments.
    pub diagnostics: Vec<Diagnostic>,
}

/// Lexes `src[start..end]` in `mode`; spans are offsets into `src`.
///
/// `start`/`end` are clamped to `src` and snapped to character boundaries.
pub fn lex(src: &str, start: usize, end: usize, mode: Mode) -> Lexed {
    let end = floor_boundary(src, end.min(src.len()));
    let start = floor_boundary(src, start.min(end));
    let (first, unclosed) = lex_once(src, start, end, mode, None);
    // With an odd number of quotes, pairing them left to right blames the
    // last one; when another quote explains the text better (the strings
    // then sit between word boundaries), read that one as the stray.
    if let Some(u) = unclosed {
        if let Some(c) = likelier_stray_quote(src.as_bytes(), &first.tokens, u) {
            let (second, again) = lex_once(src, start, end, mode, Some(c));
            if again == Some(c) {
                return second;
            }
        }
    }
    first
}

/// One lexing pass; `stray` is a quote to read as unpaired. Returns the
/// result and the position of the unpaired double quote, if any.
fn lex_once(
    src: &str,
    start: usize,
    end: usize,
    mode: Mode,
    stray: Option<usize>,
) -> (Lexed, Option<usize>) {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: start,
        end,
        mode,
        out: Lexed::default(),
        stray,
        unclosed: None,
    };
    lx.run();
    (lx.out, lx.unclosed)
}

/// Picks the quote whose removal leaves the fewest strings glued to a
/// word character outside them (`x"...` or `..."x`), given the string
/// tokens of a left-to-right pass and its unpaired quote `last`.
///
/// Linear: with quotes `q0..qn` (n even), dropping `q2m` pairs the quotes
/// before it as they are and the ones after it shifted by one, so prefix
/// sums of both pairings give every candidate's cost.
fn likelier_stray_quote(bytes: &[u8], tokens: &[Token], last: usize) -> Option<usize> {
    let mut q: Vec<usize> = Vec::new();
    for t in tokens.iter().filter(|t| t.kind == TokenKind::Str) {
        q.push(t.span.start);
        q.push(t.span.end - 1);
    }
    if q.is_empty() || q.last().is_some_and(|&l| l > last) {
        return None;
    }
    q.push(last);
    let glued = |open: usize, close: usize| -> u32 {
        let before = open
            .checked_sub(1)
            .is_some_and(|i| bytes[i].is_ascii_alphanumeric());
        let after = bytes
            .get(close + 1)
            .is_some_and(|b| b.is_ascii_alphanumeric());
        u32::from(before) + u32::from(after)
    };
    let pairs = q.len() / 2;
    // normal[k]: cost of pairs (q[2j], q[2j+1]) for j < k;
    // shifted[k]: cost of pairs (q[2j+1], q[2j+2]) for j >= k.
    let mut normal = vec![0u32; pairs + 1];
    for j in 0..pairs {
        normal[j + 1] = normal[j] + glued(q[2 * j], q[2 * j + 1]);
    }
    let mut shifted = vec![0u32; pairs + 1];
    for j in (0..pairs).rev() {
        shifted[j] = shifted[j + 1] + glued(q[2 * j + 1], q[2 * j + 2]);
    }
    let cost = |m: usize| normal[m] + shifted[m];
    let best = (0..=pairs).min_by_key(|&m| (cost(m), std::cmp::Reverse(m)))?;
    // Only move the blame for a clear gain.
    (cost(best) + 2 <= cost(pairs)).then(|| q[2 * best])
}

/// Largest character boundary not after `i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    mode: Mode,
    out: Lexed,
    /// A double quote to read as an ordinary character.
    stray: Option<usize>,
    /// Where the pass found an unpaired double quote.
    unclosed: Option<usize>,
}

impl Lexer<'_> {
    fn peek(&self, off: usize) -> Option<u8> {
        let i = self.pos + off;
        if i < self.end {
            Some(self.bytes[i])
        } else {
            None
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize, end: usize) {
        self.out.tokens.push(Token {
            kind,
            span: Span::new(start, end),
        });
    }

    fn diag(&mut self, code: &str, message: &str, span: Span) {
        self.out
            .diagnostics
            .push(Diagnostic::logic(Severity::Error, code, message, span));
    }

    fn run(&mut self) {
        while self.pos < self.end {
            let b = self.bytes[self.pos];
            let start = self.pos;
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'`' => self.backtick(),
                b'"' if self.stray == Some(start) => {
                    self.unclosed = Some(start);
                    self.diag(
                        "unclosed-quote",
                        "unpaired double quote",
                        Span::new(start, start + 1),
                    );
                    self.pos += 1;
                }
                b'"' => {
                    if let Some(close) = scan_string(self.bytes, self.pos, self.end, b'"') {
                        self.pos = close;
                        self.push(TokenKind::Str, start, close);
                    } else {
                        // Skip the lone quote so the pipes and predicates
                        // after it still count.
                        self.unclosed = Some(start);
                        self.diag(
                            "unclosed-quote",
                            "unclosed double quote",
                            Span::new(start, start + 1),
                        );
                        self.pos += 1;
                    }
                }
                b'\'' if self.mode == Mode::Expr => {
                    match scan_string(self.bytes, self.pos, self.end, b'\'') {
                        Some(close) => {
                            self.pos = close;
                            self.push(TokenKind::SQuote, start, close);
                        }
                        None => {
                            self.diag(
                                "unclosed-quote",
                                "unclosed single quote",
                                Span::new(start, start + 1),
                            );
                            self.pos += 1;
                        }
                    }
                }
                b'|' => self.single(TokenKind::Pipe),
                b'[' => self.single(TokenKind::LBracket),
                b']' => self.single(TokenKind::RBracket),
                b'(' => self.single(TokenKind::LParen),
                b')' => self.single(TokenKind::RParen),
                b',' => self.single(TokenKind::Comma),
                b'=' => {
                    if self.peek(1) == Some(b'=') {
                        self.pos += 2;
                        self.push(TokenKind::EqEq, start, self.pos);
                    } else {
                        self.single(TokenKind::Eq);
                    }
                }
                b'!' if self.peek(1) == Some(b'=') => {
                    self.pos += 2;
                    self.push(TokenKind::Ne, start, self.pos);
                }
                b'<' | b'>' => {
                    let eq = self.peek(1) == Some(b'=');
                    let kind = match (b, eq) {
                        (b'<', true) => TokenKind::Le,
                        (b'<', false) => TokenKind::Lt,
                        (_, true) => TokenKind::Ge,
                        (_, false) => TokenKind::Gt,
                    };
                    self.pos += if eq { 2 } else { 1 };
                    self.push(kind, start, self.pos);
                }
                _ if self.mode == Mode::Expr => self.expr_other(),
                _ => self.search_word(),
            }
        }
    }

    fn single(&mut self, kind: TokenKind) {
        let start = self.pos;
        self.pos += 1;
        self.push(kind, start, self.pos);
    }

    /// A backtick: a ```comment```, a `macro`, or a lone backtick.
    fn backtick(&mut self) {
        let start = self.pos;
        if self.peek(1) == Some(b'`') && self.peek(2) == Some(b'`') {
            let body = start + 3;
            match find(self.bytes, body, self.end, b"```") {
                Some(i) => self.pos = i + 3,
                None => {
                    self.diag(
                        "unclosed-comment",
                        "unclosed ``` comment",
                        Span::new(start, start + 3),
                    );
                    self.pos = self.end;
                }
            }
            return;
        }
        match scan_macro(self.bytes, start, self.end) {
            MacroScan::Closed(close) => {
                self.pos = close;
                self.push(TokenKind::Macro, start, close);
                self.check_macro_parens(start, close);
            }
            MacroScan::QuoteUnclosed { quote, close } => {
                self.diag(
                    "unclosed-quote",
                    "unclosed double quote in macro arguments",
                    Span::new(quote, quote + 1),
                );
                self.pos = close;
                self.push(TokenKind::Macro, start, close);
            }
            MacroScan::Unclosed => {
                self.diag(
                    "unclosed-macro",
                    "unclosed backtick macro",
                    Span::new(start, start + 1),
                );
                // Skip the lone backtick; what follows lexes normally.
                self.pos += 1;
            }
        }
    }

    /// Reports a macro whose argument list is not closed (`` `m(a` ``).
    fn check_macro_parens(&mut self, start: usize, close: usize) {
        let body = &self.bytes[start + 1..close - 1];
        let Some(open) = body.iter().position(|&b| b == b'(') else {
            return;
        };
        let mut depth = 0i64;
        let mut i = open;
        while i < body.len() {
            match body[i] {
                b'"' => {
                    i = scan_string(body, i, body.len(), b'"').unwrap_or(body.len());
                    continue;
                }
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        let tail_ok = body
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .is_some_and(|last| body[last] == b')');
        if depth != 0 || !tail_ok {
            let at = start + 1 + open;
            self.diag(
                "unbalanced-paren",
                "macro argument list is not closed",
                Span::new(at, at + 1),
            );
        }
    }

    /// A search-mode word, or `TERM(...)`/`CASE(...)`.
    fn search_word(&mut self) {
        let start = self.pos;
        for (name, kind) in [
            (&b"TERM("[..], TokenKind::TermCall),
            (b"CASE(", TokenKind::CaseCall),
        ] {
            if self.bytes[start..self.end].starts_with(name) {
                if let Some(close) = scan_call(self.bytes, start + name.len() - 1, self.end) {
                    self.pos = close;
                    self.push(kind, start, close);
                    return;
                }
            }
        }
        self.word();
    }

    /// Reads a word from `pos`.
    fn word(&mut self) {
        let start = self.pos;
        while self.pos < self.end {
            let b = self.bytes[self.pos];
            match b {
                b'\\' => {
                    // A backslash escapes the next character (`\"` stays in
                    // the word); the pair is kept as written.
                    self.pos += 1;
                    if self.pos < self.end {
                        self.advance_char();
                    }
                }
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'|' | b'[' | b']' | b'(' | b')'
                | b',' | b'=' | b'"' | b'`' | b'<' | b'>' => break,
                b'!' if self.peek(1) == Some(b'=') => break,
                _ => self.advance_char(),
            }
        }
        if self.pos == start {
            // Never loop in place, whatever the caller saw.
            self.advance_char();
        }
        self.push(TokenKind::Word, start, self.pos);
    }

    fn advance_char(&mut self) {
        let len = self.src[self.pos..]
            .chars()
            .next()
            .map_or(1, |c| c.len_utf8());
        self.pos = (self.pos + len).min(self.end);
    }

    /// Expression mode: numbers, identifiers and arithmetic operators.
    fn expr_other(&mut self) {
        let start = self.pos;
        let b = self.bytes[self.pos];
        let kind = match b {
            b'+' => Some(TokenKind::Plus),
            b'-' => Some(TokenKind::Minus),
            b'*' => Some(TokenKind::Star),
            b'/' => Some(TokenKind::Slash),
            b'%' => Some(TokenKind::Percent),
            b'!' => Some(TokenKind::Bang),
            b'.' if !self.peek(1).is_some_and(|c| c.is_ascii_digit()) => Some(TokenKind::Dot),
            _ => None,
        };
        if let Some(kind) = kind {
            self.single(kind);
            return;
        }
        if b.is_ascii_digit() || b == b'.' {
            self.number();
            // `5m`, `1h`: a number glued to letters is an identifier.
            if self.pos < self.end && is_ident_byte(self.src, self.pos) {
                self.pos = start;
                self.ident();
                return;
            }
            self.push(TokenKind::Number, start, self.pos);
            return;
        }
        if is_ident_byte(self.src, self.pos) {
            self.ident();
            return;
        }
        // Anything else is one unknown character; the parser reports it.
        self.advance_char();
        self.push(TokenKind::Word, start, self.pos);
    }

    fn number(&mut self) {
        let digits = |lx: &mut Self| {
            while lx.pos < lx.end && lx.bytes[lx.pos].is_ascii_digit() {
                lx.pos += 1;
            }
        };
        digits(self);
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.peek(0), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek(1), Some(b'+' | b'-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1 + sign;
                digits(self);
            }
        }
    }

    /// An identifier: letters, digits, `_ { } @ $ :`, and `.` between them.
    fn ident(&mut self) {
        let start = self.pos;
        while self.pos < self.end {
            if is_ident_byte(self.src, self.pos) {
                self.advance_char();
            } else if self.bytes[self.pos] == b'.'
                && self.pos + 1 < self.end
                && is_ident_byte(self.src, self.pos + 1)
            {
                self.pos += 1;
            } else {
                break;
            }
        }
        // `ANDmatch(`: a keyword glued to a function call. Splunk rejects
        // it; reading it as `AND match(` keeps the predicate.
        let word = &self.src[start..self.pos];
        if self.peek(0) == Some(b'(') {
            for kw in ["AND", "OR", "XOR", "NOT"] {
                let glued = word
                    .strip_prefix(kw)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()));
                if glued {
                    let split = start + kw.len();
                    self.out.diagnostics.push(Diagnostic::logic(
                        Severity::Warning,
                        "missing-space",
                        format!("`{kw}` is glued to the function after it; read as `{kw} ...`"),
                        Span::new(start, self.pos),
                    ));
                    self.push(TokenKind::Word, start, split);
                    self.push(TokenKind::Word, split, self.pos);
                    return;
                }
            }
        }
        self.push(TokenKind::Word, start, self.pos);
    }
}

/// Whether the character at byte `i` may be part of an expression identifier.
fn is_ident_byte(src: &str, i: usize) -> bool {
    match src.get(i..).and_then(|s| s.chars().next()) {
        Some(c) => c.is_alphanumeric() || matches!(c, '_' | '{' | '}' | '@' | '$' | ':'),
        None => false,
    }
}

/// Finds `needle` in `bytes[from..end]`.
fn find(bytes: &[u8], from: usize, end: usize, needle: &[u8]) -> Option<usize> {
    if from >= end {
        return None;
    }
    bytes[from..end]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

/// Scans a string opened by `quote` at `open`; returns one past the
/// closing quote. A backslash escapes the next byte.
fn scan_string(bytes: &[u8], open: usize, end: usize, quote: u8) -> Option<usize> {
    let mut i = open + 1;
    while i < end {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Longest `TERM(...)`/`CASE(...)` call recognised. The bound keeps a run
/// of unclosed `TERM(` from making lexing quadratic.
const MAX_CALL: usize = 1024;

/// Scans a call whose `(` is at `open`, nesting parens and skipping quoted
/// strings; returns one past the matching `)`. Stops at a `|` or backtick
/// outside quotes, which a call cannot span, and after [`MAX_CALL`] bytes.
fn scan_call(bytes: &[u8], open: usize, end: usize) -> Option<usize> {
    let end = end.min(open.saturating_add(MAX_CALL));
    let mut depth = 0usize;
    let mut i = open;
    while i < end {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => i = scan_string(bytes, i, end, b'"')? - 1,
            b'|' | b'`' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

enum MacroScan {
    /// One past the closing backtick.
    Closed(usize),
    /// The arguments hold an unclosed quote; the macro was closed at the
    /// first backtick after the opening one instead.
    QuoteUnclosed { quote: usize, close: usize },
    /// No closing backtick at all.
    Unclosed,
}

/// Scans a macro opened at `open`, skipping quoted arguments.
fn scan_macro(bytes: &[u8], open: usize, end: usize) -> MacroScan {
    let mut i = open + 1;
    let mut unclosed_quote = None;
    while i < end {
        match bytes[i] {
            b'`' => return MacroScan::Closed(i + 1),
            b'"' => match scan_string(bytes, i, end, b'"') {
                Some(close) => i = close,
                None => {
                    unclosed_quote = Some(i);
                    break;
                }
            },
            _ => i += 1,
        }
    }
    // Without quote-awareness: the first backtick after the opening one.
    match (unclosed_quote, find(bytes, open + 1, end, b"`")) {
        (Some(quote), Some(close)) => MacroScan::QuoteUnclosed {
            quote,
            close: close + 1,
        },
        _ => MacroScan::Unclosed,
    }
}

/// Reads a macro token's name and arguments.
pub fn macro_call(src: &str, span: Span) -> MacroCall {
    let text = span.slice(src);
    let inner = text
        .strip_prefix('`')
        .unwrap_or(text)
        .strip_suffix('`')
        .unwrap_or_else(|| text.strip_prefix('`').unwrap_or(text));
    let (name, args) = match inner.find('(') {
        Some(open) => {
            let body = &inner[open + 1..];
            let body = body.trim_end();
            let body = body.strip_suffix(')').unwrap_or(body);
            (&inner[..open], split_args(body))
        }
        None => (inner, Vec::new()),
    };
    MacroCall {
        name: name.trim().to_string(),
        args,
        span,
    }
}

/// Splits macro arguments at top-level commas (outside quotes and parens).
fn split_args(body: &str) -> Vec<String> {
    let bytes = body.as_bytes();
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = scan_string(bytes, i, bytes.len(), b'"').unwrap_or(bytes.len());
                continue;
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                args.push(body[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let last = body[start..].trim();
    if !last.is_empty() || !args.is_empty() {
        args.push(last.to_string());
    }
    args
}

/// Removes SPL quoting: `\\` → `\`, `\"` → `"`; other backslashes stay.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some(&n @ ('\\' | '"')) => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of a quoted string token's text (quotes stripped, unescaped).
pub fn unquote(text: &str) -> String {
    let inner = text.strip_prefix(['"', '\'']).unwrap_or(text);
    let inner = if text.len() >= 2 {
        inner.strip_suffix(['"', '\'']).unwrap_or(inner)
    } else {
        inner
    };
    unescape(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str, mode: Mode) -> Vec<(TokenKind, &str)> {
        lex(src, 0, src.len(), mode)
            .tokens
            .iter()
            .map(|t| (t.kind, t.span.slice(src)))
            .collect()
    }

    #[test]
    fn search_tokens_carry_spans() {
        let src = r#"a=b* "x|y" | c!=1"#;
        let lx = lex(src, 0, src.len(), Mode::Search);
        let got: Vec<_> = lx.tokens.iter().map(|t| (t.kind, t.span)).collect();
        use TokenKind::*;
        assert_eq!(
            got,
            vec![
                (Word, Span::new(0, 1)),
                (Eq, Span::new(1, 2)),
                (Word, Span::new(2, 4)),
                (Str, Span::new(5, 10)),
                (Pipe, Span::new(11, 12)),
                (Word, Span::new(13, 14)),
                (Ne, Span::new(14, 16)),
                (Word, Span::new(16, 17)),
            ]
        );
        assert!(lx.diagnostics.is_empty());
    }

    #[test]
    fn comments_are_skipped_and_macros_keep_quoted_pipes() {
        let src = r#"x ```a | `b` ``` `m(1,"a|b")` y"#;
        use TokenKind::*;
        assert_eq!(
            kinds(src, Mode::Search),
            vec![(Word, "x"), (Macro, r#"`m(1,"a|b")`"#), (Word, "y")]
        );
        let lx = lex(src, 0, src.len(), Mode::Search);
        let m = macro_call(src, lx.tokens[1].span);
        assert_eq!(m.name, "m");
        assert_eq!(m.args, vec!["1".to_string(), "\"a|b\"".to_string()]);
        assert_eq!(m.span, Span::new(17, 29));
    }

    #[test]
    fn term_and_case_are_one_token() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"(TERM(EventCode=1) OR CASE(Ab)) TERM(>)"#, Mode::Search),
            vec![
                (LParen, "("),
                (TermCall, "TERM(EventCode=1)"),
                (Word, "OR"),
                (CaseCall, "CASE(Ab)"),
                (RParen, ")"),
                (TermCall, "TERM(>)"),
            ]
        );
        // An unclosed TERM( falls back to a word and a paren.
        assert_eq!(
            kinds("TERM(a | b", Mode::Search)[..2],
            [(Word, "TERM"), (LParen, "(")]
        );
    }

    #[test]
    fn escaped_quote_stays_in_word() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"f=*\"p\":true* g"#, Mode::Search),
            vec![
                (Word, "f"),
                (Eq, "="),
                (Word, r#"*\"p\":true*"#),
                (Word, "g")
            ]
        );
    }

    #[test]
    fn unclosed_quote_is_diagnosed_and_recovered() {
        let src = r#"a "b | c"#;
        let lx = lex(src, 0, src.len(), Mode::Search);
        assert_eq!(lx.diagnostics.len(), 1);
        assert_eq!(lx.diagnostics[0].code, "unclosed-quote");
        assert_eq!(lx.diagnostics[0].span, Some(Span::new(2, 3)));
        assert!(lx.tokens.iter().any(|t| t.kind == TokenKind::Pipe));
    }

    #[test]
    fn stray_quote_is_blamed_where_pairing_breaks() {
        // Real armory shape: a stray quote before the first macro.
        let src = r#""`m` ("EventCode=1" OR "<EventID>1<") "netsh" | table a"#;
        let lx = lex(src, 0, src.len(), Mode::Search);
        assert_eq!(lx.diagnostics.len(), 1);
        assert_eq!(lx.diagnostics[0].span, Some(Span::new(0, 1)));
        let got: Vec<_> = lx
            .tokens
            .iter()
            .map(|t| (t.kind, t.span.slice(src)))
            .collect();
        assert!(got.contains(&(TokenKind::Str, "\"EventCode=1\"")));
        assert!(got.contains(&(TokenKind::Macro, "`m`")));
        // Without a clear gain the last quote keeps the blame.
        let src = r#"a "b" "c"#;
        let lx = lex(src, 0, src.len(), Mode::Search);
        assert_eq!(lx.diagnostics[0].span, Some(Span::new(6, 7)));
    }

    #[test]
    fn unclosed_quote_in_macro_closes_at_backtick() {
        let src = r#"x `group_events("host,1)` "#;
        let lx = lex(src, 0, src.len(), Mode::Search);
        assert_eq!(lx.tokens[1].kind, TokenKind::Macro);
        assert_eq!(lx.tokens[1].span, Span::new(2, 25));
        assert_eq!(lx.diagnostics[0].code, "unclosed-quote");
        assert_eq!(lx.diagnostics[0].span, Some(Span::new(16, 17)));
    }

    #[test]
    fn macro_with_open_argument_list() {
        let src = "`apply_al(AVL_R7`";
        let lx = lex(src, 0, src.len(), Mode::Search);
        assert_eq!(lx.tokens.len(), 1);
        assert_eq!(lx.diagnostics[0].code, "unbalanced-paren");
        assert_eq!(lx.diagnostics[0].span, Some(Span::new(9, 10)));
        let src = r#"`m(")", (a))`"#;
        assert!(lex(src, 0, src.len(), Mode::Search).diagnostics.is_empty());
    }

    #[test]
    fn unclosed_macro_and_comment() {
        let lx = lex("a `b c", 0, 6, Mode::Search);
        assert_eq!(lx.diagnostics[0].code, "unclosed-macro");
        assert_eq!(lx.diagnostics[0].span, Some(Span::new(2, 3)));
        assert_eq!(lx.tokens.len(), 3);
        let lx = lex("a ```b c", 0, 8, Mode::Search);
        assert_eq!(lx.diagnostics[0].code, "unclosed-comment");
        assert_eq!(lx.tokens.len(), 1);
    }

    #[test]
    fn expr_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#"a.b."x".'c d'+1.5e3-2h!=x"#, Mode::Expr),
            vec![
                (Word, "a.b"),
                (Dot, "."),
                (Str, "\"x\""),
                (Dot, "."),
                (SQuote, "'c d'"),
                (Plus, "+"),
                (Number, "1.5e3"),
                (Minus, "-"),
                (Word, "2h"),
                (Ne, "!="),
                (Word, "x"),
            ]
        );
    }

    #[test]
    fn glued_keyword_is_split() {
        use TokenKind::*;
        let src = r#"a ANDmatch(x,"y") ORlike(x) ORx"#;
        let lx = lex(src, 0, src.len(), Mode::Expr);
        let got: Vec<_> = lx
            .tokens
            .iter()
            .map(|t| (t.kind, t.span.slice(src)))
            .collect();
        assert_eq!(&got[..3], &[(Word, "a"), (Word, "AND"), (Word, "match")]);
        assert!(got.contains(&(Word, "OR")) && got.contains(&(Word, "ORx")));
        assert_eq!(lx.diagnostics.len(), 2);
        assert_eq!(lx.diagnostics[0].code, "missing-space");
        assert_eq!(lx.diagnostics[0].span, Some(Span::new(2, 10)));
    }

    #[test]
    fn unescape_keeps_unknown_escapes() {
        assert_eq!(
            unescape(r#"(?i)\x5cnetscan\\a\"b\"#),
            r#"(?i)\x5cnetscan\a"b\"#
        );
        assert_eq!(unquote(r#""C:\\Windows""#), r"C:\Windows");
        assert_eq!(unquote("\""), "");
    }

    #[test]
    fn lexing_never_panics_on_odd_bytes() {
        for s in [
            "\"", "`", "``", "```", "\\", "é`\"", "TERM(", "a!", "'", "1e", "1.", "==",
        ] {
            for mode in [Mode::Search, Mode::Expr] {
                let lx = lex(s, 0, s.len(), mode);
                for t in &lx.tokens {
                    assert!(t.span.end <= s.len());
                }
            }
        }
        // Ranges that do not fall on character boundaries are snapped.
        let s = "aé b";
        let _ = lex(s, 2, 3, Mode::Search);
    }
}
