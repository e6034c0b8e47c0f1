//! The text handed to sqlparser, and the way back to the original logic.
//!
//! sqlparser reports 1-based line/column [`Location`]s (columns counted in
//! characters) in the text it was given. That text is the logic with
//! placeholders substituted (same length) and, after a repair, with a few
//! bytes inserted. [`Source`] converts locations to byte offsets in its own
//! text and maps those back to the original logic.

use sqlparser::dialect::SnowflakeDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, TokenizerError};

use crate::diag::Span;

/// The dialect every parse uses.
pub static DIALECT: SnowflakeDialect = SnowflakeDialect {};

/// A token with a byte span into its [`Source`] text.
#[derive(Clone, Debug)]
pub struct Tok {
    /// The token.
    pub token: Token,
    /// Where it is in the source text (not the original logic).
    pub span: Span,
}

impl Tok {
    /// Whether the token is whitespace or a comment.
    pub fn is_trivia(&self) -> bool {
        matches!(self.token, Token::Whitespace(_))
    }
}

/// A text to parse, with the edits that made it from the logic.
#[derive(Clone, Debug)]
pub struct Source {
    /// The text sqlparser sees.
    pub text: String,
    /// Index (in `chars`) of the first character of every line.
    lines: Vec<usize>,
    /// Byte offset of every character, plus the text length at the end.
    chars: Vec<usize>,
    /// Insertions, as `(offset in text, length)`, sorted by offset.
    inserts: Vec<(usize, usize)>,
}

impl Source {
    /// A source whose offsets equal the logic's.
    pub fn new(text: String) -> Source {
        let (lines, chars) = index(&text);
        Source {
            text,
            lines,
            chars,
            inserts: Vec::new(),
        }
    }

    /// Inserts `s` at byte `at` of the text (a repair).
    pub fn insert(&mut self, at: usize, s: &str) {
        if !self.text.is_char_boundary(at) {
            return;
        }
        self.text.insert_str(at, s);
        for ins in &mut self.inserts {
            if ins.0 >= at {
                ins.0 += s.len();
            }
        }
        self.inserts.push((at, s.len()));
        self.inserts.sort_unstable();
        (self.lines, self.chars) = index(&self.text);
    }

    /// Overwrites `span` of the text with spaces (a repair that keeps
    /// every offset).
    pub fn blank(&mut self, span: Span) {
        if let Some(part) = self.text.get(span.start..span.end) {
            let spaces = " ".repeat(part.len());
            self.text.replace_range(span.start..span.end, &spaces);
        }
    }

    /// Overwrites the byte at `at` (ASCII) with `c`, keeping offsets.
    pub fn set_byte(&mut self, at: usize, c: char) {
        if c.is_ascii() && self.text.is_char_boundary(at) && self.text.is_char_boundary(at + 1) {
            self.text
                .replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
        }
    }

    /// The byte offset in `text` of a sqlparser location (None for the
    /// empty location `0:0`).
    pub fn offset(&self, loc: Location) -> Option<usize> {
        if loc.line == 0 {
            return None;
        }
        let line = usize::try_from(loc.line).ok()?;
        let first = *self.lines.get(line - 1)?;
        let col = usize::try_from(loc.column).ok()?.saturating_sub(1);
        // Columns past the line's end (sqlparser's end-of-line positions)
        // land on the line break or the end of the text.
        let last = match self.lines.get(line) {
            Some(&next) => next - 1,
            None => self.chars.len() - 1,
        };
        let ci = (first + col).min(last);
        Some(self.chars.get(ci).copied().unwrap_or(self.text.len()))
    }

    /// The byte span in `text` of a sqlparser span.
    pub fn span(&self, s: sqlparser::tokenizer::Span) -> Option<Span> {
        let start = self.offset(s.start)?;
        let end = self.offset(s.end).unwrap_or(start);
        Some(Span::new(start, end))
    }

    /// Maps an offset in `text` to the original logic.
    pub fn to_logic(&self, off: usize) -> usize {
        let mut shift = 0;
        for &(at, len) in &self.inserts {
            if off >= at + len {
                shift += len;
            } else if off > at {
                // Inside inserted text: snap to where it was inserted.
                return at - shift;
            }
        }
        off - shift
    }

    /// Maps a span in `text` to the original logic.
    pub fn span_to_logic(&self, s: Span) -> Span {
        Span::new(self.to_logic(s.start), self.to_logic(s.end))
    }

    /// Tokenizes the text, keeping whitespace, with byte spans.
    pub fn tokenize(&self) -> Result<(Vec<TokenWithSpan>, Vec<Tok>), TokenizerError> {
        let raw = Tokenizer::new(&DIALECT, &self.text).tokenize_with_location()?;
        let toks = raw
            .iter()
            .map(|t| Tok {
                token: t.token.clone(),
                span: self.span(t.span).unwrap_or_default(),
            })
            .collect();
        Ok((raw, toks))
    }

    /// A copy of this source where everything outside `keep` is blanked,
    /// byte for byte, so offsets in the copy are offsets in `self`.
    pub fn masked(&self, keep: Span) -> Source {
        let mut text = String::with_capacity(self.text.len());
        for (i, c) in self.text.char_indices() {
            if (keep.start..keep.end).contains(&i) || c == '\n' {
                text.push(c);
            } else {
                text.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
        let (lines, chars) = index(&text);
        Source {
            lines,
            chars,
            text,
            inserts: self.inserts.clone(),
        }
    }
}

/// Character index of each line start (sqlparser starts a new line at
/// `\n` only), and the byte offset of each character plus the end.
fn index(text: &str) -> (Vec<usize>, Vec<usize>) {
    let mut lines = vec![0];
    let mut chars = Vec::with_capacity(text.len() + 1);
    for (n, (i, c)) in text.char_indices().enumerate() {
        chars.push(i);
        if c == '\n' {
            lines.push(n + 1);
        }
    }
    chars.push(text.len());
    (lines, chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(line: u64, column: u64) -> Location {
        Location { line, column }
    }

    #[test]
    fn locations_count_characters() {
        let s = Source::new("é x\nab".to_string());
        assert_eq!(s.offset(loc(1, 1)), Some(0));
        // `x` is the third character but starts at byte 3.
        assert_eq!(s.offset(loc(1, 3)), Some(3));
        assert_eq!(s.offset(loc(2, 2)), Some(6));
        assert_eq!(s.offset(loc(2, 9)), Some(7));
        assert_eq!(s.offset(loc(0, 0)), None);
        // Past the end of line 1: the line break.
        assert_eq!(s.offset(loc(1, 10)), Some(4));
    }

    #[test]
    fn inserts_map_back() {
        let mut s = Source::new("whereevent_time > 1".to_string());
        s.insert(5, " ");
        assert_eq!(s.text, "where event_time > 1");
        assert_eq!(s.to_logic(4), 4);
        assert_eq!(s.to_logic(6), 5);
        assert_eq!(s.to_logic(17), 16);
        assert_eq!(s.span_to_logic(Span::new(6, 16)), Span::new(5, 15));
    }

    #[test]
    fn masked_keeps_offsets() {
        let s = Source::new("aé b\nc d".to_string());
        let m = s.masked(Span::new(4, 5));
        assert_eq!(m.text, "    b\n   ");
        assert_eq!(m.text.len(), s.text.len());
    }
}
