//! The Snowflake SQL front-end: rule logic → stages and predicates.
//!
//! The pipeline: template placeholders are replaced by same-length quoted
//! identifiers (`template`), sqlparser's Snowflake dialect parses the
//! text, and `lower` turns the outermost query into stages in clause
//! order — `from` (source table), `where`, `group by`, `having`,
//! `qualify`, `select`, then `order by` and `limit`. Each stage's text is
//! sliced from the original logic by a token-level clause splitter
//! (`clauses`), so pages show the rule as written.
//!
//! WHERE predicates of the shape *column op literal* become [`Cmp`] leaves
//! with canonical operators and the Snowflake flags: `=` is case-sensitive,
//! `ILIKE` is a case-insensitive SQL-wildcard `Like`, `RLIKE`/`REGEXP`/
//! `REGEXP_LIKE` are `Match` with `anchored` set because Snowflake regexes
//! must match the whole value, and the `'i'` parameter clears
//! `case_sensitive`. Literal values go through Snowflake's string escapes
//! (`escape`); the raw spelling is kept next to them.
//!
//! Malformed rules are read in three tiers. First sqlparser; when it
//! fails, a few targeted repairs are tried at the error position (a
//! keyword glued to the next word, a doubled `and`/`or`, a missing comma
//! between two string arguments) and each one that lets parsing go further
//! is reported as an error with its position. If that does not help, a
//! tolerant reader splits the clauses itself and parses each condition,
//! down to single conjuncts, keeping every predicate it can read.
//!
//! Escapes that produce control characters (`'%\\\reg.exe'` is `%\`, a
//! carriage return, then `eg.exe`) are read as Snowflake reads them and
//! flagged with a `sql-control-escape` warning: in rule text they are
//! almost always a lost backslash, and the predicate then looks for that
//! control character.
//!
//! On the armory corpus (432 Snowflake rules) 422 parse with no finding, 7
//! parse with control-escape warnings only, and the 3 malformed ones are
//! reported and recovered (`tests/sql_corpus.rs`).
//!
//! [`Cmp`]: crate::ir::Cmp
//!
//! # Limitations
//!
//! - Only the first statement is read; later statements get a warning.
//! - CTEs and derived tables referenced in `FROM` are inlined: their
//!   stages run first. A `UNION` becomes a `union` stage whose subquery is
//!   the right-hand side; `EXCEPT`/`INTERSECT` are `Unsupported`.
//! - `LIKE … ESCAPE …`, `SIMILAR TO`, `IN (subquery)`, `EXISTS`, and
//!   comparisons between two columns stay `Expr::Scalar`; unknown
//!   expression shapes appear as a call to `unsupported_sql` holding the
//!   source text, so an evaluator can name what it cannot run.
//! - Regex parameters other than `c`/`i` (`m`, `s`, `e`) are not in
//!   [`crate::ir::Flags`]; a note is emitted and the pattern is kept as
//!   written.
//! - `array_contains(v, arr)` is lowered to `arr eq v` (an `Eq` on a
//!   multivalue field holds when any element is equal).
//! - Placeholders become calls with no arguments named after the
//!   placeholder (`$latest$` → `Scalar::Call { name: "$latest$" }`); the
//!   evaluator binds them (end/start of the search window).
//! - Table functions in `FROM` (`table(flatten(…))`, `lateral`) become a
//!   `Source` named by their text.
//! - Repairs are heuristics tried only at sqlparser's error position, and
//!   kept only when parsing then gets further.

mod clauses;
mod escape;
mod lower;
mod source;
mod template;

use sqlparser::ast::Statement;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token};

use self::clauses::Clause;
use self::lower::Lower;
use self::source::{Source, Tok, DIALECT};
use self::template::Placeholder;
use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::{Expr, Logic, Operator, Query, Stage, StatsMode};

pub use self::escape::{unquote, Unquoted};

/// How many repairs one query may get before the tolerant reader takes over.
const MAX_REPAIRS: usize = 8;

/// sqlparser's nesting limit; deeper input is an error, never a stack
/// overflow.
const RECURSION_LIMIT: usize = 64;

/// More `AND`/`OR` operators than this are refused: sqlparser builds a
/// chain of them as a tree as deep as the chain, and walking (or dropping)
/// a much deeper tree can overflow the stack. Real rules use well under 100.
const MAX_BOOL_OPS: usize = 1000;

/// Keywords that rule authors glue to the next word (`whereevent_time`),
/// longest first so `order` wins over `or`.
const GLUED_KEYWORDS: &[&str] = &[
    "qualify", "select", "having", "where", "group", "order", "limit", "from", "and", "not", "or",
];

/// Parses Snowflake SQL logic into the shared IR.
///
/// Never fails: problems become positioned diagnostics (spans index
/// `logic`), and as many stages and predicates as can be read are kept.
pub fn parse(logic: &str) -> Query {
    let (text, placeholders) = template::substitute(logic);
    let mut src = Source::new(text);
    let mut diagnostics = Vec::new();

    for _ in 0..=MAX_REPAIRS {
        let (raw, toks) = match src.tokenize() {
            Ok(t) => t,
            Err(e) => {
                let at = src.offset(e.location).unwrap_or(src.text.len());
                let span = Span::new(src.to_logic(at), src.to_logic(at));
                diagnostics.push(Diagnostic::logic(
                    Severity::Error,
                    "sql-syntax",
                    e.message.clone(),
                    widen(logic, span),
                ));
                return finish(tolerant_prefix(logic, &src, at, &placeholders), diagnostics);
            }
        };
        if let Some(t) = toks
            .iter()
            .filter(|t| matches!(clauses::keyword(t), Some(Keyword::AND | Keyword::OR)))
            .nth(MAX_BOOL_OPS)
        {
            diagnostics.push(Diagnostic::logic(
                Severity::Error,
                "sql-too-complex",
                format!("more than {MAX_BOOL_OPS} `and`/`or` operators; conditions are not read"),
                src.span_to_logic(t.span),
            ));
            let q = tolerant(logic, &src, &toks, &placeholders, false);
            return finish(q.stages, diagnostics);
        }
        let parsed = Parser::new(&DIALECT)
            .with_recursion_limit(RECURSION_LIMIT)
            .with_tokens_with_locations(raw)
            .parse_statements();
        match parsed {
            Ok(stmts) => {
                let mut q = lower_statements(logic, &src, &toks, &placeholders, &stmts);
                diagnostics.append(&mut q.diagnostics);
                return finish(q.stages, diagnostics);
            }
            Err(err) => {
                let (message, at) = error_position(&err, &src);
                if let Some((next, d)) = repair(logic, &src, &toks, at, &message) {
                    src = next;
                    diagnostics.push(d);
                    continue;
                }
                let span = widen(logic, Span::new(src.to_logic(at), src.to_logic(at)));
                diagnostics.push(Diagnostic::logic(
                    Severity::Error,
                    "sql-syntax",
                    message,
                    span,
                ));
                let mut q = tolerant(logic, &src, &toks, &placeholders, true);
                diagnostics.append(&mut q.diagnostics);
                return finish(q.stages, diagnostics);
            }
        }
    }
    diagnostics.push(Diagnostic::logic(
        Severity::Error,
        "sql-syntax",
        "too many syntax errors to repair",
        Span::new(0, 0),
    ));
    finish(Vec::new(), diagnostics)
}

/// Sorts diagnostics by position and builds the query.
fn finish(stages: Vec<Stage>, mut diagnostics: Vec<Diagnostic>) -> Query {
    diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.start));
    Query {
        stages,
        diagnostics,
    }
}

/// Stretches an empty span over the character at its start, so a caret
/// shows; an empty logic keeps the empty span.
fn widen(logic: &str, s: Span) -> Span {
    if !s.is_empty() {
        return s;
    }
    match logic.get(s.start..).and_then(|r| r.chars().next()) {
        Some(c) => Span::new(s.start, s.start + c.len_utf8()),
        None => s,
    }
}

/// Lowers parsed statements (the first query only).
fn lower_statements(
    logic: &str,
    src: &Source,
    toks: &[Tok],
    placeholders: &[Placeholder],
    stmts: &[Statement],
) -> Query {
    let mut lower = Lower::new(logic, src, toks, placeholders);
    let mut stages = Vec::new();
    match stmts.first() {
        None => lower.diagnostics.push(Diagnostic::logic(
            Severity::Error,
            "sql-empty",
            "the logic holds no SQL statement",
            Span::new(0, logic.len()),
        )),
        Some(Statement::Query(q)) => stages = lower.query(q),
        Some(other) => {
            let word = other.to_string();
            let word = word.split_whitespace().next().unwrap_or("").to_lowercase();
            lower.diagnostics.push(Diagnostic::logic(
                Severity::Error,
                "sql-unsupported",
                format!("`{word}` statements are not queries"),
                widen(logic, Span::new(0, 0)),
            ));
            stages.push(Stage {
                kind: word.clone(),
                text: logic.trim().to_string(),
                span: Span::new(0, logic.len()),
                op: Operator::Unsupported { command: word },
            });
        }
    }
    if stmts.len() > 1 {
        lower.diagnostics.push(Diagnostic::logic(
            Severity::Warning,
            "sql-extra-statement",
            format!("only the first of {} statements is read", stmts.len()),
            widen(logic, Span::new(0, 0)),
        ));
    }
    Query {
        stages,
        diagnostics: lower.diagnostics,
    }
}

/// sqlparser's message without the baked-in position, and the byte
/// offset of that position in `src` (the end of the text when absent).
fn error_position(err: &ParserError, src: &Source) -> (String, usize) {
    let full = match err {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => {
            return ("expression nests too deeply".to_string(), src.text.len())
        }
    };
    let Some(i) = full.rfind(" at Line: ") else {
        return (full, src.text.len());
    };
    let mut nums = full[i..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse::<u64>().ok());
    let at = match (nums.next(), nums.next()) {
        (Some(line), Some(column)) => src.offset(Location { line, column }),
        _ => None,
    };
    (full[..i].to_string(), at.unwrap_or(src.text.len()))
}

/// Whether parsing `src` succeeds or fails later than logic offset `before`.
fn progresses(src: &Source, before: usize) -> bool {
    let Ok((raw, _)) = src.tokenize() else {
        return false;
    };
    match Parser::new(&DIALECT)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(raw)
        .parse_statements()
    {
        Ok(_) => true,
        Err(e) => src.to_logic(error_position(&e, src).1) > before,
    }
}

/// Tries the known repairs around the error at byte `at` of `src`.
/// Returns the repaired source and the diagnostic reporting the problem.
fn repair(
    logic: &str,
    src: &Source,
    toks: &[Tok],
    at: usize,
    parser_message: &str,
) -> Option<(Source, Diagnostic)> {
    let sig = clauses::significant(toks);
    let e = sig
        .iter()
        .position(|&i| toks[i].span.end > at)
        .unwrap_or(sig.len().saturating_sub(1));
    let before = src.to_logic(at);
    let window = e.saturating_sub(3)..(e + 1).min(sig.len());

    let mut candidates: Vec<(Source, Span, String, String)> = Vec::new();
    for k in window.clone().rev() {
        let t = &toks[sig[k]];
        // A doubled `and` / `or`: sqlparser reads the second as a column.
        if k > 0 {
            let p = &toks[sig[k - 1]];
            let (kp, kt) = (clauses::keyword(p), clauses::keyword(t));
            if kp == kt && matches!(kt, Some(Keyword::AND | Keyword::OR)) {
                let word = t.span.slice(&src.text).to_lowercase();
                let mut next = src.clone();
                next.blank(t.span);
                candidates.push((
                    next,
                    t.span,
                    format!("doubled `{word}`"),
                    format!("read as a single `{word}`"),
                ));
            }
        }
        // A keyword glued to the next word: `whereevent_time`.
        if let Token::Word(w) = &t.token {
            if w.quote_style.is_none() && w.keyword == Keyword::NoKeyword {
                let lower = w.value.to_lowercase();
                for kw in GLUED_KEYWORDS {
                    let Some(rest) = lower.strip_prefix(kw) else {
                        continue;
                    };
                    if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                        let mut next = src.clone();
                        next.insert(t.span.start + kw.len(), " ");
                        let shown = t.span.slice(&src.text);
                        candidates.push((
                            next,
                            t.span,
                            format!("missing space after `{kw}` in `{shown}`"),
                            format!("read as `{} {}`", &shown[..kw.len()], &shown[kw.len()..]),
                        ));
                        break;
                    }
                }
            }
        }
        // Two string arguments with no comma: `regexp_like(x, '…' 'i')`.
        if k > 0 {
            let p = &toks[sig[k - 1]];
            if matches!(t.token, Token::SingleQuotedString(_))
                && matches!(p.token, Token::SingleQuotedString(_))
            {
                let mut next = src.clone();
                let gap = Span::new(p.span.end, t.span.start);
                match gap.slice(&src.text).find(char::is_whitespace) {
                    Some(i) if src.text.is_char_boundary(gap.start + i + 1) => {
                        next.set_byte(gap.start + i, ',')
                    }
                    _ => next.insert(t.span.start, ","),
                }
                let shown = t.span.slice(&src.text);
                candidates.push((
                    next,
                    t.span,
                    format!("missing `,` before {shown}"),
                    format!("read with a comma before {shown}"),
                ));
            }
        }
    }
    let (next, span, message, how) = candidates
        .into_iter()
        .find(|(next, ..)| progresses(next, before))?;
    let span = src.span_to_logic(span);
    let d = Diagnostic::logic(Severity::Error, "sql-syntax", message, widen(logic, span))
        .with_note(format!("sqlparser: {parser_message}"))
        .with_note(format!("recovered: {how}"));
    Some((next, d))
}

/// The tolerant reader over a text that does not tokenize completely:
/// only the part before byte `at` is read.
fn tolerant_prefix(
    logic: &str,
    src: &Source,
    at: usize,
    placeholders: &[Placeholder],
) -> Vec<Stage> {
    let prefix = src.masked(Span::new(0, at));
    match prefix.tokenize() {
        Ok((_, toks)) => tolerant(logic, &prefix, &toks, placeholders, true).stages,
        Err(_) => Vec::new(),
    }
}

/// The tolerant reader: clauses found by the splitter, conditions parsed
/// one by one (down to single conjuncts), so one bad spot loses only the
/// predicate it is in. Without `read_conditions`, condition clauses become
/// `Unsupported` stages.
fn tolerant(
    logic: &str,
    src: &Source,
    toks: &[Tok],
    placeholders: &[Placeholder],
    read_conditions: bool,
) -> Query {
    let sig = clauses::significant(toks);
    let start = sig
        .iter()
        .map(|&i| &toks[i])
        .find(|t| clauses::keyword(t) == Some(Keyword::SELECT))
        .map_or(0, |t| t.span.start);
    let cls = clauses::split(toks, start);
    let mut diagnostics = Vec::new();
    let mut stages = Vec::new();
    let stage = |kind: &str, span: Span, op: Operator| {
        let span = src.span_to_logic(span);
        Stage {
            kind: kind.to_string(),
            text: span.slice(logic).to_string(),
            span,
            op,
        }
    };
    // Clause bodies: the span after the keyword(s).
    let body = |span: Span, words: usize| -> Span {
        let mut it = sig
            .iter()
            .map(|&i| toks[i].span)
            .filter(|s| s.start >= span.start && s.end <= span.end)
            .skip(words);
        it.next().map_or(Span::new(span.end, span.end), |f| {
            Span::new(f.start, span.end)
        })
    };
    let mut select: Option<Stage> = None;
    for &(clause, span) in &cls {
        match clause {
            Clause::Select => {
                let items = split_items(src, toks, body(span, 1));
                let op = Operator::Project {
                    fields: items,
                    keep: true,
                };
                select = Some(stage("select", span, op));
            }
            Clause::From => {
                let b = body(span, 1);
                let name: String = b
                    .slice(&src.text)
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '$'))
                    .collect();
                let op = Operator::Source {
                    tables: vec![name.replace('"', "")],
                };
                stages.push(stage("from", span, op));
            }
            Clause::Where | Clause::Having | Clause::Qualify if !read_conditions => {
                let op = Operator::Unsupported {
                    command: clause.kind().to_string(),
                };
                stages.push(stage(clause.kind(), span, op));
            }
            Clause::Where | Clause::Having | Clause::Qualify => {
                let b = body(span, 1);
                if let Some(expr) = recover_expr(logic, src, b, placeholders, &mut diagnostics) {
                    let op = Operator::Filter {
                        expr,
                        logic: Logic::ThreeValued,
                    };
                    stages.push(stage(clause.kind(), span, op));
                }
            }
            Clause::GroupBy => {
                let by = split_items(src, toks, body(span, 2));
                let op = Operator::Stats {
                    mode: StatsMode::Stats,
                    aggs: Vec::new(),
                    by,
                };
                stages.push(stage("group by", span, op));
            }
            Clause::Window | Clause::OrderBy | Clause::Limit => {
                let op = Operator::Unsupported {
                    command: clause.kind().to_string(),
                };
                stages.push(stage(clause.kind(), span, op));
            }
        }
    }
    stages.extend(select);
    Query {
        stages,
        diagnostics,
    }
}

/// Splits a clause body on top-level commas, trimmed texts.
fn split_items(src: &Source, toks: &[Tok], body: Span) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut from = body.start;
    for t in toks
        .iter()
        .filter(|t| t.span.start >= body.start && t.span.end <= body.end)
    {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                items.push(Span::new(from, t.span.start));
                from = t.span.end;
            }
            _ => {}
        }
    }
    items.push(Span::new(from, body.end));
    items
        .into_iter()
        .map(|s| s.slice(&src.text).trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses the expression under `span` of `src` alone; on failure, splits
/// it at top-level `OR`, then `AND`, and keeps the parts that parse.
fn recover_expr(
    logic: &str,
    src: &Source,
    span: Span,
    placeholders: &[Placeholder],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Expr> {
    let masked = src.masked(span);
    let (raw, toks) = masked.tokenize().ok()?;
    let mut parser = Parser::new(&DIALECT)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(raw);
    let whole = parser
        .parse_expr()
        .and_then(|e| match parser.peek_token().token {
            Token::EOF => Ok(e),
            _ => Err(ParserError::ParserError("trailing tokens".to_string())),
        });
    if let Ok(e) = whole {
        let mut lower = Lower::new(logic, &masked, &toks, placeholders);
        let expr = lower.expr(&e);
        diagnostics.append(&mut lower.diagnostics);
        return Some(expr);
    }
    for (kw, is_or) in [(Keyword::OR, true), (Keyword::AND, false)] {
        let parts = split_on(&toks, span, kw);
        if parts.len() < 2 {
            continue;
        }
        let children: Vec<Expr> = parts
            .into_iter()
            .filter_map(|p| {
                let got = recover_expr(logic, src, p, placeholders, diagnostics);
                if got.is_none() {
                    diagnostics.push(Diagnostic::logic(
                        Severity::Error,
                        "sql-unread",
                        format!(
                            "could not read `{}`",
                            src.span_to_logic(p).slice(logic).trim()
                        ),
                        src.span_to_logic(p),
                    ));
                }
                got
            })
            .collect();
        return match children.len() {
            0 => None,
            _ if is_or => Some(Expr::Or { children }),
            _ => Some(Expr::And { children }),
        };
    }
    None
}

/// Splits `span` at top-level occurrences of keyword `kw`.
fn split_on(toks: &[Tok], span: Span, kw: Keyword) -> Vec<Span> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut from = span.start;
    for t in toks
        .iter()
        .filter(|t| t.span.start >= span.start && t.span.end <= span.end)
    {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ if depth == 0 && clauses::keyword(t) == Some(kw) => {
                parts.push(Span::new(from, t.span.start));
                from = t.span.end;
            }
            _ => {}
        }
    }
    parts.push(Span::new(from, span.end));
    parts
}

#[cfg(test)]
mod tests;
