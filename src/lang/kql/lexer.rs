//! KQL lexer: turns query text into tokens with byte spans.
//!
//! The lexer never fails. Bytes it cannot read become diagnostics and are
//! skipped, and an unclosed string ends at the end of its line, so one bad
//! quote does not swallow the rest of a multi-line query.

use crate::diag::{Diagnostic, Severity, Span};

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum TokKind {
    /// A word: identifier, keyword or word operator. Negated word operators
    /// keep their `!` (`!has`), and `in~`/`!in~` keep their `~`.
    /// `['name']` column references are words too, holding the name.
    Word(String),
    /// A string literal; `value` is the unescaped text.
    Str {
        /// The value after unquoting and escapes.
        value: String,
    },
    /// A number, possibly with a unit suffix (`10`, `1.5`, `7d`, `0x1F`).
    Num,
    /// Punctuation or a symbolic operator (`|`, `==`, `..`, `(`).
    Punct(&'static str),
}

/// One token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokKind,
    /// Its bytes in the query text.
    pub span: Span,
}

impl Token {
    /// Whether the token is the word `w` (compared case-insensitively, as
    /// real-world queries are lenient about keyword case).
    pub fn is_word(&self, w: &str) -> bool {
        matches!(&self.kind, TokKind::Word(s) if s.eq_ignore_ascii_case(w))
    }

    /// Whether the token is the punctuation `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.kind, TokKind::Punct(s) if *s == p)
    }

    /// The word, when the token is one.
    pub fn word(&self) -> Option<&str> {
        match &self.kind {
            TokKind::Word(s) => Some(s),
            _ => None,
        }
    }
}

/// Symbolic operators, longest first so that `==` wins over `=`.
const PUNCTS: &[&str] = &[
    "!in~", "..", "==", "=~", "!=", "!~", "<=", ">=", "<>", "=>", "|", "(", ")", "[", "]", "{",
    "}", ",", ";", ".", ":", "=", "<", ">", "+", "-", "*", "/", "%", "!", "?", "~", "@",
];

/// Splits `text` into tokens, appending problems to `diags`.
pub fn lex(text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    let mut lx = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        toks: Vec::new(),
        diags,
        warned_space: false,
    };
    lx.run();
    lx.toks
}

struct Lexer<'a, 'd> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    toks: Vec<Token>,
    diags: &'d mut Vec<Diagnostic>,
    warned_space: bool,
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Lexer<'_, '_> {
    fn peek(&self, k: usize) -> Option<u8> {
        self.bytes.get(self.pos + k).copied()
    }

    fn push(&mut self, kind: TokKind, start: usize) {
        self.toks.push(Token {
            kind,
            span: Span::new(start, self.pos),
        });
    }

    fn run(&mut self) {
        while let Some(b) = self.peek(0) {
            let start = self.pos;
            self.step(b, start);
            // Every branch consumes input; guard against a silent hang anyway.
            if self.pos == start {
                self.pos += self.text[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }

    fn step(&mut self, b: u8, start: usize) {
        match b {
            b if b.is_ascii_whitespace() => self.pos += 1,
            b'/' if self.peek(1) == Some(b'/') => self.skip_line(),
            b'\'' | b'"' => self.string(start, start, false),
            b'`' if self.text[start..].starts_with("```") => self.backtick_string(start),
            b'@' if matches!(self.peek(1), Some(b'\'' | b'"')) => {
                self.string(start, start + 1, true)
            }
            b'h' | b'H' if matches!(self.peek(1), Some(b'\'' | b'"')) => {
                // `h'...'`: an obfuscated string, same value, hidden from logs.
                self.string(start, start + 1, false)
            }
            b'h' | b'H'
                if self.peek(1) == Some(b'@') && matches!(self.peek(2), Some(b'\'' | b'"')) =>
            {
                self.string(start, start + 2, true)
            }
            b'[' if self.quoted_name(start) => {}
            b'!' if self.peek(1).is_some_and(|c| c.is_ascii_alphabetic()) => {
                // `!has`, `!contains_cs`, `!in~`: negated word operators.
                self.pos += 1;
                self.word(start);
            }
            b if is_word_start(b) => self.word(start),
            b if b.is_ascii_digit() => self.number(start),
            b'.' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) && !self.prev_is_operand() => {
                self.number(start)
            }
            _ if self.text[start..].starts_with(char::is_whitespace) => self.unicode_space(start),
            _ => self.punct(start),
        }
    }

    /// Whether the previous token can be followed by `.member` (so `.5`
    /// after it is not a number).
    fn prev_is_operand(&self) -> bool {
        self.toks.last().is_some_and(|t| {
            matches!(
                t.kind,
                TokKind::Word(_) | TokKind::Str { .. } | TokKind::Num
            ) || t.is_punct(")")
                || t.is_punct("]")
        })
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek(0) {
            if b == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    /// A word starting at `start`; the byte at `pos` is a word start
    /// (`$` included), so it is taken before the loop.
    fn word(&mut self, start: usize) {
        self.pos += 1;
        while self.peek(0).is_some_and(is_word_byte) {
            self.pos += 1;
        }
        let mut w = self.text[start..self.pos].to_string();
        if (w.eq_ignore_ascii_case("in") || w.eq_ignore_ascii_case("!in"))
            && self.peek(0) == Some(b'~')
        {
            self.pos += 1;
            w.push('~');
        }
        self.push(TokKind::Word(w), start);
    }

    fn number(&mut self, start: usize) {
        if self.peek(0) == Some(b'0') && matches!(self.peek(1), Some(b'x' | b'X')) {
            self.pos += 2;
            while self.peek(0).is_some_and(|c| c.is_ascii_hexdigit()) {
                self.pos += 1;
            }
            self.push(TokKind::Num, start);
            return;
        }
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        // A decimal point only when a digit follows, so `1..5` is `1` `..` `5`.
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(0), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek(1), Some(b'+' | b'-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1 + sign;
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        // Unit suffixes: timespans (`7d`, `100ms`, `1tick`) and `L`-style tags.
        while self.peek(0).is_some_and(is_word_byte) {
            self.pos += 1;
        }
        self.push(TokKind::Num, start);
    }

    /// Lexes a quoted string whose opening quote is at `quote`; `start` is
    /// where the literal's prefix (`@`, `h`) begins.
    fn string(&mut self, start: usize, quote: usize, verbatim: bool) {
        let q = self.bytes[quote];
        self.pos = quote + 1;
        let mut value = String::new();
        loop {
            let Some(b) = self.peek(0) else {
                self.unclosed(start);
                break;
            };
            if b == b'\n' {
                // A string cannot span lines; end it here so the next line
                // is read as code again.
                self.unclosed(start);
                break;
            }
            if b == q {
                if verbatim && self.peek(1) == Some(q) {
                    value.push(q as char);
                    self.pos += 2;
                    continue;
                }
                self.pos += 1;
                break;
            }
            if b == b'\\' && !verbatim {
                self.escape(&mut value);
                continue;
            }
            let ch = self.text[self.pos..].chars().next().unwrap_or('\u{fffd}');
            value.push(ch);
            self.pos += ch.len_utf8();
        }
        self.push(TokKind::Str { value }, start);
    }

    /// Reads one backslash escape at `pos` into `value`.
    fn escape(&mut self, value: &mut String) {
        let esc_start = self.pos;
        self.pos += 1;
        let Some(c) = self.text[self.pos..].chars().next() else {
            return;
        };
        self.pos += c.len_utf8();
        match c {
            'n' => value.push('\n'),
            't' => value.push('\t'),
            'r' => value.push('\r'),
            '0' => value.push('\0'),
            '\\' | '\'' | '"' => value.push(c),
            'u' | 'x' => {
                let want = if c == 'u' { 4 } else { 2 };
                let hex: String = self.text[self.pos..]
                    .chars()
                    .take(want)
                    .take_while(|h| h.is_ascii_hexdigit())
                    .collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == want => {
                        self.pos += want;
                        value.push(ch);
                    }
                    _ => {
                        self.bad_escape(esc_start);
                        value.push('\\');
                        value.push(c);
                    }
                }
            }
            _ => {
                // Kusto rejects unknown escapes; keep both characters so
                // the value still shows what was written.
                self.bad_escape(esc_start);
                value.push('\\');
                value.push(c);
            }
        }
    }

    fn bad_escape(&mut self, at: usize) {
        self.diags.push(Diagnostic::logic(
            Severity::Warning,
            "unknown-escape",
            "unknown escape sequence in string literal",
            Span::new(at, self.pos),
        ));
    }

    fn unclosed(&mut self, start: usize) {
        self.diags.push(Diagnostic::logic(
            Severity::Error,
            "unclosed-quote",
            "unclosed string literal",
            Span::new(start, self.pos),
        ));
    }

    /// A ```` ```...``` ```` multi-line string (no escapes).
    fn backtick_string(&mut self, start: usize) {
        let body = start + 3;
        match self.text[body..].find("```") {
            Some(i) => {
                self.pos = body + i + 3;
                let value = self.text[body..body + i].to_string();
                self.push(TokKind::Str { value }, start);
            }
            None => {
                self.pos = self.text.len();
                self.unclosed(start);
                let value = self.text[body..].to_string();
                self.push(TokKind::Str { value }, start);
            }
        }
    }

    /// `['name']` / `["name"]`: a quoted column name. Returns false (and
    /// consumes nothing) when the bracket is not one.
    fn quoted_name(&mut self, start: usize) -> bool {
        let rest = &self.text[start + 1..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        let ws = rest.len() - trimmed.len();
        let Some(q) = trimmed.bytes().next().filter(|b| *b == b'\'' || *b == b'"') else {
            return false;
        };
        let after = &trimmed[1..];
        let Some(close) = after.find(q as char) else {
            return false;
        };
        let name = &after[..close];
        if name.contains('\n') {
            return false;
        }
        let tail = &after[close + 1..];
        let tail_trim = tail.trim_start_matches([' ', '\t']);
        if !tail_trim.starts_with(']') {
            // `['a', 'b']` is an array, not a name.
            return false;
        }
        let end = start + 1 + ws + 1 + close + 1 + (tail.len() - tail_trim.len()) + 1;
        self.pos = end;
        self.push(TokKind::Word(name.to_string()), start);
        true
    }

    /// A non-ASCII space (no-break space, narrow no-break space): copied
    /// from web pages into real rules. Read as a space; warn once.
    fn unicode_space(&mut self, start: usize) {
        let ch = self.text[start..].chars().next().unwrap_or(' ');
        self.pos += ch.len_utf8();
        if !self.warned_space {
            self.warned_space = true;
            self.diags.push(Diagnostic::logic(
                Severity::Warning,
                "unicode-space",
                format!("non-ASCII space {ch:?} read as a space"),
                Span::new(start, self.pos),
            ));
        }
    }

    fn punct(&mut self, start: usize) {
        let rest = &self.text[start..];
        for p in PUNCTS {
            if rest.starts_with(p) {
                self.pos += p.len();
                self.push(TokKind::Punct(p), start);
                return;
            }
        }
        let ch = rest.chars().next().unwrap_or('\u{fffd}');
        self.pos += ch.len_utf8();
        // A run of bad characters is one problem, not one per character.
        if let Some(last) = self.diags.last_mut() {
            if last.code == "unexpected-char" && last.span.is_some_and(|s| s.end == start) {
                last.span = last.span.map(|s| Span::new(s.start, self.pos));
                last.message = "unexpected characters".into();
                return;
            }
        }
        self.diags.push(Diagnostic::logic(
            Severity::Error,
            "unexpected-char",
            format!("unexpected character {ch:?}"),
            Span::new(start, self.pos),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokKind> {
        let mut d = Vec::new();
        lex(text, &mut d).into_iter().map(|t| t.kind).collect()
    }

    fn str_value(text: &str) -> (String, Span, usize) {
        let mut d = Vec::new();
        let toks = lex(text, &mut d);
        match &toks[0].kind {
            TokKind::Str { value } => (value.clone(), toks[0].span, d.len()),
            k => panic!("not a string: {k:?}"),
        }
    }

    #[test]
    fn plain_strings_unescape_backslashes() {
        assert_eq!(str_value(r#""say \"hi\" | now""#).0, "say \"hi\" | now");
        assert_eq!(str_value(r"'C:\\Windows\\x'").0, r"C:\Windows\x");
        assert_eq!(str_value(r#"'it\'s'"#).0, "it's");
        assert_eq!(str_value(r#""a\tb""#).0, "a\tb");
    }

    #[test]
    fn verbatim_strings_keep_backslashes_and_double_quotes() {
        let (v, span, nd) = str_value(r#"@"CORP\" x"#);
        assert_eq!(v, r"CORP\");
        assert_eq!(span, Span::new(0, 8));
        assert_eq!(nd, 0);
        assert_eq!(str_value(r#"@'a''b'"#).0, "a'b");
        assert_eq!(str_value(r#"@"C:\Windows\""#).0, r"C:\Windows\");
    }

    #[test]
    fn obfuscated_and_backtick_strings() {
        assert_eq!(str_value("h'secret'").0, "secret");
        assert_eq!(str_value(r#"H@"a\b""#).0, r"a\b");
        assert_eq!(str_value("```a\nb```").0, "a\nb");
    }

    #[test]
    fn unclosed_string_ends_at_line_end() {
        let mut d = Vec::new();
        let toks = lex("where a == \"x\n| take 1", &mut d);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "unclosed-quote");
        assert_eq!(d[0].span, Some(Span::new(11, 13)));
        assert!(toks.iter().any(|t| t.is_word("take")));
    }

    #[test]
    fn words_operators_and_comments() {
        let k = kinds("a !has b in~ (c) !in~ x // | not a pipe\n|");
        assert_eq!(
            k,
            vec![
                TokKind::Word("a".into()),
                TokKind::Word("!has".into()),
                TokKind::Word("b".into()),
                TokKind::Word("in~".into()),
                TokKind::Punct("("),
                TokKind::Word("c".into()),
                TokKind::Punct(")"),
                TokKind::Word("!in~".into()),
                TokKind::Word("x".into()),
                TokKind::Punct("|"),
            ]
        );
    }

    #[test]
    fn numbers_ranges_and_timespans() {
        let mut d = Vec::new();
        let toks = lex("(1..5) 7d 1.5h 0x1F -2", &mut d);
        let texts: Vec<&str> = toks
            .iter()
            .map(|t| t.span.slice("(1..5) 7d 1.5h 0x1F -2"))
            .collect();
        assert_eq!(
            texts,
            ["(", "1", "..", "5", ")", "7d", "1.5h", "0x1F", "-", "2"]
        );
    }

    #[test]
    fn quoted_column_names() {
        let k = kinds("['Event ID'] ['a', 'b']");
        assert_eq!(k[0], TokKind::Word("Event ID".into()));
        assert_eq!(k[1], TokKind::Punct("["));
    }

    #[test]
    fn unicode_spaces_are_spaces_with_one_warning() {
        let mut d = Vec::new();
        let toks = lex("a\u{a0}b\u{202f}c", &mut d);
        assert_eq!(toks.len(), 3);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "unicode-space");
        assert_eq!(d[0].span, Some(Span::new(1, 3)));
    }

    #[test]
    fn bad_bytes_are_reported_and_skipped() {
        let mut d = Vec::new();
        let toks = lex("a # b ##§# c", &mut d);
        assert_eq!(toks.len(), 3);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].code, "unexpected-char");
        assert_eq!(d[0].span, Some(Span::new(2, 3)));
        assert_eq!(d[1].span, Some(Span::new(6, 11)));
    }
}
