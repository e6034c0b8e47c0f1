//! The Splunk SPL front-end: logic text → stages, predicates and search
//! terms in the shared [`Query`] IR.
//!
//! The pipeline is [`lexer`] (tokens with byte spans) → stage splitting
//! (here) → one parser per command ([`commands`]), using the `search`
//! grammar ([`search`]) or the `eval`/`where` expression grammar
//! ([`expr`]) for arguments. Parsing never fails: unbalanced quotes,
//! parentheses, brackets and backticks become diagnostics at the opening
//! position, and parsing goes on so the rest of the rule still yields
//! stages and predicates.
//!
//! # Decisions
//!
//! - A wildcard value in `search` (`user!="svc_*"`) stays op `eq`/`ne` with
//!   [`Wildcard::Glob`](crate::ir::Wildcard) and the `*` shown as written;
//!   it is not turned into `like`. Every `search` comparison carries
//!   `Glob` and is case-insensitive unless the value is `CASE(...)`.
//! - `where` comparisons are case-sensitive, `*` is literal, and an
//!   unquoted right-hand word is a field, so `where user=admin` stays an
//!   `Expr::Scalar`. `lower(f)="abc"`/`upper(f)="ABC"` become
//!   case-insensitive `eq`/`ne` only when the literal is already all
//!   lower/upper-case (exactly equivalent then).
//! - `regex f="re"` is a `match` filter with search logic; `regex f!="re"`
//!   is `NOT match`.
//! - Stage kinds are the command names as written, lower-cased (`bin` and
//!   `bucket` stay distinct); a macro used as a stage has kind `macro`.
//! - A macro glued to the end of a non-search command without a pipe
//!   (`` eval x=1 `filter` ``) is split off as its own `macro` stage with a
//!   `macro-without-pipe` warning.
//! - `sort` without a count keeps Splunk's default limit of 10000;
//!   `sort 0` is unlimited.
//! - A subsearch in filter position becomes `Expr::Scalar` of a call
//!   `subsearch("[...]")`; subsearches of `join`/`append` are parsed into
//!   subqueries. Diagnostics of subqueries are reported on the top-level
//!   query (their spans index the same logic text).
//! - `TERM(x)` is only a `Term` (`whole_token`); deriving an indicator from
//!   `TERM(EventCode=1)` is left to the indicator model.
//! - `f IN (a, `m`)` with a macro in the list is an `Expr::Scalar` call
//!   `in(f, "a", macro("`m`"))`: the list is unknown until expansion.
//!
//! # Diagnostics
//!
//! Errors: `unclosed-quote`, `unclosed-macro`, `unclosed-comment`,
//! `unbalanced-paren` (also a macro argument list left open),
//! `unbalanced-bracket`. Warnings (the input was read, with a repair):
//! `macro-without-pipe`, `missing-space` (`ANDmatch(` read as
//! `AND match(`), `missing-operator` (two operands read as `AND`),
//! `missing-value`, `missing-argument`, `missing-subsearch`,
//! `unexpected-token`, `empty-stage`, `too-deep`. Note:
//! `too-many-diagnostics`.
//!
//! # Limitations
//!
//! - Macros are not expanded here; see [`macro_calls`].
//! - Commands outside the list in [`commands`] become
//!   `Operator::Unsupported` stages (`spath`, `inputlookup`, `mstats`,
//!   `appendpipe`, `map`, `outputlookup`, ...).
//! - `transaction` keeps only its fields and `maxspan`; `startswith`/
//!   `endswith` and other options are dropped. `lookup` does not record
//!   `OUTPUTNEW` versus `OUTPUT`. `stats` aggregates over `eval(...)` keep
//!   the expression text as their field.
//! - Groups nested deeper than 64 parentheses are skipped with a `too-deep`
//!   warning, and arithmetic chains longer than 256 operands are cut.
//! - With an odd number of double quotes, the unpaired one is chosen by a
//!   heuristic (the quote whose removal leaves the fewest strings glued to
//!   a word character); when no quote is clearly better, the last one is
//!   blamed, as a left-to-right pairing would. The unpaired quote is then
//!   skipped. The guess can be wrong.
//! - `TERM(...)`/`CASE(...)` longer than 1024 bytes are read as a word and
//!   a parenthesis. At most 100 findings are kept per query.
//! - Single quotes are ordinary characters in search arguments; in
//!   `eval`/`where` they quote field names.

pub mod commands;
pub mod expr;
pub mod lexer;
pub mod search;

use crate::diag::{Diagnostic, Severity, Span};
use crate::ir::{MacroCall, Operator, Query, Stage};

use lexer::{Mode, Token, TokenKind};

/// Deepest nesting of parentheses (and of subsearches) parsed.
pub(crate) const MAX_DEPTH: usize = 64;

/// Findings kept per query; a garbled query would otherwise report one per
/// character.
const MAX_DIAGNOSTICS: usize = 100;

/// Parses SPL logic into the shared IR.
///
/// ```
/// let q = ruledex::lang::spl::parse(r#"index=win user!="svc_*" | stats count by host"#);
/// assert_eq!(q.stages.len(), 2);
/// assert_eq!(q.stages[1].kind, "stats");
/// ```
pub fn parse(logic: &str) -> Query {
    let lexed = lexer::lex(logic, 0, logic.len(), Mode::Search);
    let mut diags = lexed.diagnostics;
    let tokens = check_balance(&lexed.tokens, &mut diags);
    let mut stages = Vec::new();
    let region = Span::new(0, logic.len());
    parse_pipeline(logic, &tokens, region, false, 0, &mut stages, &mut diags);
    diags.sort_by_key(|d| d.span.map_or(0, |s| s.start));
    if diags.len() > MAX_DIAGNOSTICS {
        let rest = diags.len() - MAX_DIAGNOSTICS;
        diags.truncate(MAX_DIAGNOSTICS);
        let at = diags.last().and_then(|d| d.span).unwrap_or_default();
        diags.push(Diagnostic::logic(
            Severity::Note,
            "too-many-diagnostics",
            format!("{rest} more findings in this query were left out"),
            at,
        ));
    }
    Query {
        stages,
        diagnostics: diags,
    }
}

/// Every backtick macro outside quotes and comments, in source order.
///
/// ```
/// let m = ruledex::lang::spl::macro_calls(r#"`a` "`not_me`" ```nor_me``` | `b(1,"x,y")`"#);
/// assert_eq!(m.len(), 2);
/// assert_eq!(m[1].args, vec!["1".to_string(), "\"x,y\"".to_string()]);
/// ```
pub fn macro_calls(logic: &str) -> Vec<MacroCall> {
    lexer::lex(logic, 0, logic.len(), Mode::Search)
        .tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Macro)
        .map(|t| lexer::macro_call(logic, t.span))
        .collect()
}

fn error(code: &str, message: &str, span: Span) -> Diagnostic {
    Diagnostic::logic(Severity::Error, code, message, span)
}

/// Reports unbalanced brackets and parentheses, and drops unmatched
/// brackets so they cannot swallow the pipes after them.
///
/// Parentheses cannot span a pipe or a bracket, so each stage (and each
/// subsearch) is balanced on its own.
fn check_balance(tokens: &[Token], diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    // Brackets first: find the unmatched ones.
    let mut drop = vec![false; tokens.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LBracket => open.push(i),
            TokenKind::RBracket if open.pop().is_none() => {
                diags.push(error(
                    "unbalanced-bracket",
                    "`]` without a matching `[`",
                    t.span,
                ));
                drop[i] = true;
            }
            _ => {}
        }
    }
    for i in open {
        diags.push(error(
            "unbalanced-bracket",
            "`[` is never closed",
            tokens[i].span,
        ));
        drop[i] = true;
    }
    let kept: Vec<Token> = tokens
        .iter()
        .zip(&drop)
        .filter(|(_, d)| !**d)
        .map(|(t, _)| *t)
        .collect();

    // Then parentheses, one frame per bracket level.
    let mut frames: Vec<Vec<Span>> = vec![Vec::new()];
    let unclosed = |frame: &mut Vec<Span>, diags: &mut Vec<Diagnostic>| {
        for span in frame.drain(..) {
            diags.push(error("unbalanced-paren", "`(` is never closed", span));
        }
    };
    for t in &kept {
        match t.kind {
            TokenKind::LBracket => frames.push(Vec::new()),
            TokenKind::RBracket => {
                if let Some(mut f) = frames.pop() {
                    unclosed(&mut f, diags);
                }
                if frames.is_empty() {
                    frames.push(Vec::new());
                }
            }
            TokenKind::Pipe => {
                if let Some(f) = frames.last_mut() {
                    unclosed(f, diags);
                }
            }
            TokenKind::LParen => {
                if let Some(f) = frames.last_mut() {
                    f.push(t.span);
                }
            }
            TokenKind::RParen if frames.last_mut().and_then(|f| f.pop()).is_none() => {
                diags.push(error(
                    "unbalanced-paren",
                    "`)` without a matching `(`",
                    t.span,
                ));
            }
            _ => {}
        }
    }
    for mut f in frames {
        unclosed(&mut f, diags);
    }
    kept
}

/// Splits `tokens` (lying in `region` of `src`) at top-level pipes and
/// parses each stage into `out`.
///
/// `subsearch` relaxes the first stage: inside `[...]` a generating
/// command may be written without its leading pipe (`[ tstats ... ]`).
fn parse_pipeline(
    src: &str,
    tokens: &[Token],
    region: Span,
    subsearch: bool,
    depth: usize,
    out: &mut Vec<Stage>,
    diags: &mut Vec<Diagnostic>,
) {
    // Top-level pipe positions (brackets are balanced by now).
    let mut pipes = Vec::new();
    let mut level = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LBracket => level += 1,
            TokenKind::RBracket => level = level.saturating_sub(1),
            TokenKind::Pipe if level == 0 => pipes.push(i),
            _ => {}
        }
    }
    let mut seg_start_tok = 0;
    let mut seg_start_byte = region.start;
    for n in 0..=pipes.len() {
        let (end_tok, end_byte) = match pipes.get(n) {
            Some(&p) => (p, tokens[p].span.start),
            None => (tokens.len(), region.end),
        };
        let toks = &tokens[seg_start_tok..end_tok];
        let range = trim(src, Span::new(seg_start_byte, end_byte));
        if n == 0 {
            // Text before the first pipe is the implicit search; an empty
            // one means the query starts with a generating command.
            if !toks.is_empty() {
                parse_stage(
                    src,
                    toks,
                    range,
                    StageRole::Implicit { subsearch },
                    depth,
                    out,
                    diags,
                );
            }
        } else if toks.is_empty() {
            if range.is_empty() {
                let pipe = tokens[pipes[n - 1]].span;
                diags.push(Diagnostic::logic(
                    Severity::Warning,
                    "empty-stage",
                    "empty stage between pipes",
                    pipe,
                ));
            }
        } else {
            parse_stage(src, toks, range, StageRole::Command, depth, out, diags);
        }
        if let Some(&p) = pipes.get(n) {
            seg_start_tok = p + 1;
            seg_start_byte = tokens[p].span.end;
        }
    }
}

/// Shrinks a span to exclude surrounding whitespace.
fn trim(src: &str, span: Span) -> Span {
    let text = span.slice(src);
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    Span::new(span.start + lead, span.start + lead + trimmed.len())
}

/// How a stage's first token is read.
#[derive(Clone, Copy)]
enum StageRole {
    /// Before the first pipe: an implicit `search`.
    Implicit {
        /// Inside `[...]`, where a generating command may lack its pipe.
        subsearch: bool,
    },
    /// After a pipe: the first word names the command.
    Command,
}

/// Commands that may open a subsearch without a leading pipe.
const GENERATING: &[&str] = &[
    "search",
    "tstats",
    "mstats",
    "inputlookup",
    "from",
    "makeresults",
    "rest",
    "metadata",
    "datamodel",
    "loadjob",
    "savedsearch",
];

fn parse_stage(
    src: &str,
    toks: &[Token],
    range: Span,
    role: StageRole,
    depth: usize,
    out: &mut Vec<Stage>,
    diags: &mut Vec<Diagnostic>,
) {
    let first = toks[0];
    let first_text = first.span.slice(src);
    let lower = first_text.to_ascii_lowercase();
    let (kind, args) = match role {
        StageRole::Implicit { subsearch } => {
            let named = first.kind == TokenKind::Word
                && (lower == "search" || (subsearch && GENERATING.contains(&lower.as_str())));
            if named {
                (lower, &toks[1..])
            } else {
                ("search".to_string(), toks)
            }
        }
        StageRole::Command => match first.kind {
            TokenKind::Word => (lower, &toks[1..]),
            TokenKind::Macro => {
                parse_macro_stage(src, toks, range, out, diags);
                return;
            }
            _ => {
                diags.push(Diagnostic::logic(
                    Severity::Warning,
                    "unexpected-token",
                    format!("stage starts with `{first_text}`, not a command name"),
                    first.span,
                ));
                out.push(Stage {
                    kind: "unknown".into(),
                    text: range.slice(src).to_string(),
                    span: range,
                    op: Operator::Unsupported {
                        command: first_text.to_string(),
                    },
                });
                return;
            }
        },
    };

    // Split off macros glued to the end of a non-search command.
    // A tstats `where` clause may end in a filter macro; only after its
    // `by` list is a trailing macro surely glued.
    let mut args = args;
    let mut glued = Vec::new();
    let trailing = args
        .iter()
        .rev()
        .take_while(|t| t.kind == TokenKind::Macro)
        .count();
    let split = kind != "search"
        && trailing > 0
        && trailing < args.len()
        && (kind != "tstats" || has_by(src, &args[..args.len() - trailing]));
    if split {
        let (head, tail) = args.split_at(args.len() - trailing);
        glued.extend(tail.iter().rev().copied());
        args = head;
    }
    let range = match glued.last() {
        Some(m) => trim(src, Span::new(range.start, m.span.start)),
        None => range,
    };

    let ctx = commands::Ctx {
        src,
        args,
        end: range.end,
        depth,
    };
    let op = commands::parse_command(&kind, &ctx, diags);
    out.push(Stage {
        kind,
        text: range.slice(src).to_string(),
        span: range,
        op,
    });
    for m in glued.into_iter().rev() {
        diags.push(Diagnostic::logic(
            Severity::Warning,
            "macro-without-pipe",
            "macro follows a command without a `|`; read as its own stage",
            m.span,
        ));
        out.push(macro_stage(src, m));
    }
}

/// Whether a top-level `by` word occurs in `toks`.
fn has_by(src: &str, toks: &[Token]) -> bool {
    let mut depth = 0usize;
    toks.iter().any(|t| {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
        depth == 0 && t.kind == TokenKind::Word && t.span.slice(src).eq_ignore_ascii_case("by")
    })
}

fn macro_stage(src: &str, t: Token) -> Stage {
    Stage {
        kind: "macro".into(),
        text: t.span.slice(src).to_string(),
        span: t.span,
        op: Operator::Macro(lexer::macro_call(src, t.span)),
    }
}

/// A stage that starts with a macro: one `macro` stage per macro when
/// the stage is only macros, else an unsupported stage.
fn parse_macro_stage(
    src: &str,
    toks: &[Token],
    range: Span,
    out: &mut Vec<Stage>,
    diags: &mut Vec<Diagnostic>,
) {
    if toks.iter().all(|t| t.kind == TokenKind::Macro) {
        for (i, t) in toks.iter().enumerate() {
            if i > 0 {
                diags.push(Diagnostic::logic(
                    Severity::Warning,
                    "macro-without-pipe",
                    "macro follows another macro without a `|`; read as its own stage",
                    t.span,
                ));
            }
            out.push(macro_stage(src, *t));
        }
        return;
    }
    out.push(Stage {
        kind: "macro".into(),
        text: range.slice(src).to_string(),
        span: range,
        op: Operator::Unsupported {
            command: toks[0].span.slice(src).to_string(),
        },
    });
}

/// Parses the pipeline inside a subsearch whose brackets are the tokens
/// `open` and `close` of `toks`.
pub(crate) fn parse_subquery(
    src: &str,
    toks: &[Token],
    open: usize,
    close: usize,
    depth: usize,
    diags: &mut Vec<Diagnostic>,
) -> Query {
    let mut q = Query::default();
    if depth >= MAX_DEPTH {
        diags.push(Diagnostic::logic(
            Severity::Warning,
            "too-deep",
            format!("subsearches nested deeper than {MAX_DEPTH}; skipped"),
            toks[open].span,
        ));
        return q;
    }
    let region = Span::new(toks[open].span.end, toks[close].span.start);
    parse_pipeline(
        src,
        &toks[open + 1..close],
        region,
        true,
        depth + 1,
        &mut q.stages,
        diags,
    );
    q
}

#[cfg(test)]
mod tests;
