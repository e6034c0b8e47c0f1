//! Positioned diagnostics shared by every layer of the pipeline.
//!
//! Spans are byte offsets into one text (a rule file, or a rule's logic);
//! lines and columns are worked out only when a diagnostic is rendered, the
//! way `regex-syntax` keeps `Position`s apart from its error kinds.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A half-open byte range `[start, end)` into a source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

impl Span {
    /// Makes a span; `end` is clamped so it never precedes `start`.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The spanned text, or `""` when the span does not fit `text`.
    pub fn slice(self, text: &str) -> &str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// A 1-based line and column (in characters) within a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in Unicode scalar values.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text's end).
    pub fn of(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        Position { line, column }
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Extra information, never a problem.
    Note,
    /// The input was read, but something in it is suspicious or was repaired.
    Warning,
    /// Part of the input could not be read.
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Which text a diagnostic's span indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The whole file, as read from disk.
    File,
    /// The rule's query text (`logic`, `search` or `query`), after YAML
    /// unquoting: positions are lines and columns of that query.
    Logic,
}

/// One finding about the input, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// A stable, kebab-case name for the kind of finding
    /// (e.g. `unclosed-quote`, `duplicate-key`).
    pub code: String,
    /// What is wrong, in one sentence without a trailing period.
    pub message: String,
    /// Which text `span` points into.
    pub origin: Origin,
    /// Where in that text, when known.
    pub span: Option<Span>,
    /// The file the finding is about, when known.
    pub path: Option<PathBuf>,
    /// Further lines of help (e.g. "first defined at line 3").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic about a rule's logic text.
    pub fn logic(severity: Severity, code: &str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            message: message.into(),
            origin: Origin::Logic,
            span: Some(span),
            path: None,
            notes: Vec::new(),
        }
    }

    /// A diagnostic about a file, optionally at a span of its text.
    pub fn file(
        severity: Severity,
        code: &str,
        message: impl Into<String>,
        path: impl Into<PathBuf>,
        span: Option<Span>,
    ) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            message: message.into(),
            origin: Origin::File,
            span,
            path: Some(path.into()),
            notes: Vec::new(),
        }
    }

    /// Sets the file the diagnostic is about.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Adds a line of help.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The line and column of the span's start in `text`.
    pub fn position(&self, text: &str) -> Option<Position> {
        self.span.map(|s| Position::of(text, s.start))
    }

    /// Renders `path:line:col: severity: message`, then the source line
    /// and a caret line under the span, then any notes.
    ///
    /// `text` is the text the span indexes (the file or the logic, per
    /// `origin`); without it only the header line is printed.
    pub fn render(&self, text: Option<&str>) -> String {
        let mut out = String::new();
        let path = self
            .path
            .as_ref()
            .map_or_else(|| "<input>".to_string(), |p| p.display().to_string());
        let logic = if self.origin == Origin::Logic {
            " [logic]"
        } else {
            ""
        };
        match (self.span, text) {
            (Some(span), Some(text)) => {
                let pos = Position::of(text, span.start);
                let _ = writeln!(
                    out,
                    "{path}:{}:{}{logic}: {}: {} ({})",
                    pos.line, pos.column, self.severity, self.message, self.code
                );
                let line = text.lines().nth(pos.line - 1).unwrap_or("");
                // Show at most 120 characters of a long line, around the caret.
                let skip = pos.column.saturating_sub(60);
                // Control characters from the input are shown escaped: raw
                // escape sequences would restyle or garble the terminal.
                let shown: String = line
                    .chars()
                    .skip(skip)
                    .take(120)
                    .map(|c| {
                        if c.is_control() && c != '\t' {
                            '\u{fffd}'
                        } else {
                            c
                        }
                    })
                    .collect();
                let width = span_width(text, span).clamp(1, 120);
                let pad = " ".repeat(pos.column - 1 - skip);
                let _ = writeln!(out, "  | {shown}");
                let _ = writeln!(out, "  | {pad}{}", "^".repeat(width));
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{path}{logic}: {}: {} ({})",
                    self.severity, self.message, self.code
                );
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "  = note: {note}");
        }
        out
    }
}

/// The number of characters the span covers on its first line.
fn span_width(text: &str, span: Span) -> usize {
    let s = span.slice(text);
    s.split('\n').next().unwrap_or("").chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_chars() {
        let text = "ab\ncé|d";
        assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of(text, 3), Position { line: 2, column: 1 });
        // 'é' is two bytes; the pipe is the third character of line 2.
        assert_eq!(Position::of(text, 6), Position { line: 2, column: 3 });
        // An offset inside a multi-byte char snaps back to its start.
        assert_eq!(Position::of(text, 5), Position { line: 2, column: 2 });
        assert_eq!(Position::of(text, 999).line, 2);
    }

    #[test]
    fn render_never_echoes_control_characters() {
        let text = "id: [\u{1b}[31mred\u{7}";
        let d = Diagnostic::file(
            Severity::Error,
            "invalid-yaml",
            "bad",
            "x.yml",
            Some(Span::new(4, 5)),
        );
        let r = d.render(Some(text));
        assert!(!r.contains('\u{1b}') && !r.contains('\u{7}'), "{r:?}");
        assert!(r.contains("id: [\u{fffd}[31mred\u{fffd}"), "{r:?}");
    }

    #[test]
    fn render_puts_caret_under_span() {
        let text = "index=x \"open";
        let d = Diagnostic::logic(
            Severity::Error,
            "unclosed-quote",
            "unclosed quote",
            Span::new(8, 13),
        )
        .with_path("r.yml");
        let r = d.render(Some(text));
        assert!(
            r.starts_with("r.yml:1:9 [logic]: error: unclosed quote (unclosed-quote)\n"),
            "{r}"
        );
        assert!(r.contains("  | index=x \"open\n  |         ^^^^^\n"), "{r}");
    }
}
