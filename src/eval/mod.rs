//! Evaluate a rule's IR over events, with each language's semantics.
//!
//! The entry points are [`evaluate`] (one parsed query), [`evaluate_rule`]
//! (a rule: macro expansion, parsing, evaluation, positions mapped back to
//! the rule's logic) and [`evaluate_many`] (every rule × every event, with
//! events pre-selected per rule by the field equalities its first filter
//! requires). Semantics follow `../shared/SEMANTICS.md`; where it marks a
//! behaviour as observed, the module that implements it says what was
//! chosen (`filter`, `scalar`, `stats`, `pipeline`, `terms`).
//!
//! A query the evaluator cannot run faithfully — an unsupported command,
//! an unexpanded or undefined macro, a regex that does not compile, a
//! lookup without its CSV, a parse error — is never a silent non-match:
//! it yields [`Reason`]s in [`Outcome::not_evaluable`] and no results.
//!
//! # Limitations
//! - `tstats` treats every event as part of the data model.
//! - `transaction`, `iplocation`, `foreach`, `join`/`append` with a
//!   subsearch are reported as not evaluable.
//! - `streamstats` recomputes running aggregates per row (quadratic).

pub mod expand;
pub mod filter;
pub mod pipeline;
pub mod prefilter;
pub mod regex;
pub mod row;
pub mod scalar;
pub mod stats;
pub mod terms;
pub mod value;
pub mod wildcard;

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::diag::{Diagnostic, Position, Severity, Span};
use crate::events::Event;
use crate::ir::{CmpOp, Query};
use crate::rule::{Language, Rule};

pub use expand::{Expansion, Macros};

/// Options for an evaluation run.
#[derive(Clone, Debug, Default)]
pub struct EvalOptions {
    /// "Now" in epoch seconds for `now()`, `ago()`, `dateadd()`; default:
    /// the newest `_time` among the events (so time windows are stable).
    pub now: Option<f64>,
    /// Record each event's fate in [`Outcome::explain`].
    pub explain: bool,
    /// Lookup name (or file name) → CSV file.
    pub lookups: BTreeMap<String, PathBuf>,
}

/// One output row: field name → values.
pub type Row = BTreeMap<String, Vec<String>>;

/// Why a rule cannot be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Short kind: the command (`iplocation`), or `macro`, `regex`,
    /// `lookup`, `function`, `parse`.
    pub what: String,
    /// Where in the logic, when known.
    pub span: Option<Span>,
    /// `not evaluable: …`, one sentence.
    pub message: String,
    /// Line and column of `span` in the rule's logic, when the logic text
    /// was available.
    pub position: Option<Position>,
}

impl Reason {
    /// `message at line:col` when the position is known.
    pub fn render(&self) -> String {
        match self.position {
            Some(p) => format!("{} at {}:{}", self.message, p.line, p.column),
            None => self.message.clone(),
        }
    }
}

/// What became of one input event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventFate {
    /// Index of the event in the input.
    pub event: usize,
    /// The file it came from.
    pub path: PathBuf,
    /// Its record number.
    pub record: u64,
    /// Whether it contributed to the output.
    pub passed: bool,
    /// The 1-based stage that dropped it.
    pub stage: Option<usize>,
    /// That stage's kind (`search`, `where`…).
    pub stage_kind: Option<String>,
    /// The first failing predicate, as written.
    pub predicate: Option<String>,
    /// The field that predicate tests.
    pub field: Option<String>,
    /// The event's (or its row's) values of that field; empty = missing.
    pub values: Vec<String>,
    /// For non-filter stages: why the row went away.
    pub note: Option<String>,
}

/// The result of evaluating one rule.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// The rule id (empty when evaluating a bare query).
    pub rule: String,
    /// Events read.
    pub events: usize,
    /// Input events that contributed to at least one output row.
    pub matched: usize,
    /// Output rows, as the pipeline produces them.
    pub results: Vec<Row>,
    /// Output column order (`table` order, BY then aggregates…).
    pub columns: Vec<String>,
    /// Why the rule cannot be evaluated; empty when it can.
    pub not_evaluable: Vec<Reason>,
    /// Per input event, when explain was asked for.
    pub explain: Vec<EventFate>,
    /// Findings evaluation reveals (e.g. a regex that cannot match).
    pub lint: Vec<Diagnostic>,
}

/// The newest `_time` among the events (epoch seconds), or the clock.
pub fn default_now(events: &[Event]) -> f64 {
    events
        .iter()
        .filter_map(|e| e.get("_time").and_then(value::parse_time))
        .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))
        .unwrap_or_else(|| chrono::Utc::now().timestamp() as f64)
}

/// Evaluates a parsed query over `events`.
pub fn evaluate(
    query: &Query,
    language: Language,
    events: &[Event],
    opts: &EvalOptions,
) -> Outcome {
    let now = opts.now.unwrap_or_else(|| default_now(events));
    let plan = pipeline::compile(query, language, &opts.lookups);
    let stats = |f: &str| backslash_stats(events, f);
    let lints = lint_fields(&plan);
    run_plan(&plan, &lints, events, None, None, &stats, now, opts)
}

/// A `match` predicate lint looks at: field, pattern, span, text.
type LintField = (String, String, Span, String);

#[allow(clippy::too_many_arguments)]
fn run_plan(
    plan: &pipeline::Plan,
    lints: &[LintField],
    events: &[Event],
    candidates: Option<&[u32]>,
    atoms: Option<&[prefilter::Bits]>,
    stats: &dyn Fn(&str) -> (usize, bool),
    now: f64,
    opts: &EvalOptions,
) -> Outcome {
    let mut out = Outcome {
        events: events.len(),
        lint: lint(lints, stats),
        ..Outcome::default()
    };
    if !plan.reasons.is_empty() {
        out.not_evaluable = plan.reasons.clone();
        return out;
    }
    let ctx = scalar::Ctx {
        lang: plan.lang,
        now,
    };
    let res = pipeline::run(plan, events, candidates, atoms, &ctx, opts.explain);
    out.matched = res.matched;
    out.columns = res.columns;
    out.results = res.rows.into_iter().map(|r| r.fields).collect();
    if opts.explain {
        out.explain = res
            .drops
            .into_iter()
            .enumerate()
            .map(|(i, d)| fate(plan, events, i, d))
            .collect();
    }
    for st in &plan.stages {
        if let pipeline::COp::Filter { expr, .. } = &st.op {
            expr.for_each_cmp(&mut |c| {
                if let Some((pattern, n)) = c.regex() {
                    if n > 0 {
                        out.lint.push(Diagnostic::logic(
                            Severity::Warning,
                            "regex-failed",
                            format!("regex \"{pattern}\" failed to run on {n} values (PCRE match limit) and counted as no match"),
                            c.leaf.span,
                        ));
                    }
                }
            });
        }
    }
    out
}

fn fate(plan: &pipeline::Plan, events: &[Event], i: usize, d: Option<pipeline::Drop>) -> EventFate {
    let e = &events[i];
    let mut f = EventFate {
        event: i,
        path: e.origin.path.clone(),
        record: e.origin.record,
        passed: d.is_none(),
        stage: None,
        stage_kind: None,
        predicate: None,
        field: None,
        values: Vec::new(),
        note: None,
    };
    if let Some(d) = d {
        f.stage = Some(d.stage + 1);
        f.stage_kind = plan.stages.get(d.stage).map(|s| s.kind.clone());
        f.note = d.note;
        if let Some(fail) = d.failure {
            f.predicate = Some(fail.predicate);
            f.field = fail.field;
            f.values = fail.values;
        }
    }
    f
}

/// The fields lint asks about: those of `match` predicates whose regex
/// needs a literal backslash.
fn lint_fields(plan: &pipeline::Plan) -> Vec<(String, String, Span, String)> {
    let mut out = Vec::new();
    for st in &plan.stages {
        let pipeline::COp::Filter { expr, .. } = &st.op else {
            continue;
        };
        expr.for_each_cmp(&mut |c| {
            if c.op != CmpOp::Match {
                return;
            }
            let Some((pattern, _)) = c.regex() else {
                return;
            };
            if regex::requires_backslash(pattern) {
                out.push((
                    c.field.clone(),
                    pattern.to_string(),
                    c.leaf.span,
                    c.leaf.text.clone(),
                ));
            }
        });
    }
    out
}

/// How many events have `field`, and whether any of its values holds a
/// backslash.
fn backslash_stats(events: &[Event], field: &str) -> (usize, bool) {
    let mut present = 0usize;
    for e in events {
        if let Some(vs) = row::Record::values(e, field) {
            present += 1;
            if vs.iter().any(|v| v.contains('\\')) {
                return (present, true);
            }
        }
    }
    (present, false)
}

/// Lint findings that need the events: a `match` regex that requires a
/// literal backslash on a field none of whose loaded values contains one
/// cannot match (e.g. a `\x5c` before a file name on CIM `process_name`).
fn lint(fields: &[LintField], stats: &dyn Fn(&str) -> (usize, bool)) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (field, pattern, span, text) in fields {
        let (field, pattern, span, text) = (field.clone(), pattern.clone(), *span, text.clone());
        let (present, with_backslash) = stats(&field);
        if present > 0 && !with_backslash {
            out.push(
                Diagnostic::logic(
                    Severity::Warning,
                    "cannot-match",
                    format!(
                        "regex \"{pattern}\" needs a backslash, but no value of `{field}` in the loaded events contains one: cannot match"
                    ),
                    span,
                )
                .with_note(format!("predicate: {text}")),
            );
        }
    }
    out
}

/// A rule prepared for evaluation: macros expanded, logic parsed.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The rule id.
    pub rule: String,
    /// Its language.
    pub language: Language,
    /// The logic as written.
    pub logic: String,
    /// The macro expansion (SPL), mapping spans back to `logic`.
    pub expansion: Option<Expansion>,
    /// The parsed (expanded) logic.
    pub query: Query,
    /// Reasons found before evaluation (undefined macros).
    pub reasons: Vec<Reason>,
    /// Notes about the preparation (assumed macro defaults), reported as
    /// lint with the outcome.
    pub notes: Vec<Diagnostic>,
}

/// Macro lookup with the security_content convention for per-detection
/// filter macros: `<detection>_filter` is generated by that repository's
/// build as `search *` and is not part of its `macros/` directory. For
/// security_content rules only, an undefined zero-argument `*_filter`
/// macro expands to `search *`, and each one used is noted.
struct FilterDefaults<'a> {
    inner: &'a dyn Macros,
    used: std::cell::RefCell<Vec<String>>,
}

impl Macros for FilterDefaults<'_> {
    fn lookup(&self, name: &str, args: &[String]) -> Option<String> {
        self.inner.lookup(name, args).or_else(|| {
            (args.is_empty() && name.ends_with("_filter")).then(|| {
                self.used.borrow_mut().push(name.to_string());
                "search *".to_string()
            })
        })
    }

    fn arities(&self, name: &str) -> Vec<usize> {
        self.inner.arities(name)
    }
}

/// Expands macros (SPL) and parses a rule's logic.
pub fn prepare(rule: &Rule, macros: &dyn Macros) -> Prepared {
    let defaults = FilterDefaults {
        inner: macros,
        used: std::cell::RefCell::new(Vec::new()),
    };
    let source: &dyn Macros = if rule.format == crate::rule::SourceFormat::SecurityContent {
        &defaults
    } else {
        macros
    };
    let (expansion, reasons, text) = if rule.language == Language::Splunk {
        match expand::expand(&rule.logic, source) {
            Ok(e) => {
                let t = e.text.clone();
                (Some(e), Vec::new(), t)
            }
            Err(r) => (None, r, rule.logic.clone()),
        }
    } else {
        (None, Vec::new(), rule.logic.clone())
    };
    let query = if reasons.is_empty() {
        crate::lang::parse(rule.language, &text)
    } else {
        Query::default()
    };
    let mut notes = Vec::new();
    let used = defaults.used.into_inner();
    for call in expand::calls(&rule.logic) {
        if used.contains(&call.name) {
            notes.push(Diagnostic::logic(
                Severity::Note,
                "default-filter-macro",
                format!(
                    "macro `{}` is not defined; assumed `search *`, the default security_content generates for detection filter macros",
                    call.name
                ),
                call.span,
            ));
        }
    }
    Prepared {
        rule: rule.id.clone(),
        language: rule.language,
        logic: rule.logic.clone(),
        expansion,
        query,
        reasons,
        notes,
    }
}

/// Expands SPL macros in `logic`: recursive, macros in quoted strings are
/// left alone, an undefined macro is a [`Reason`].
pub fn expand_macros(logic: &str, macros: &dyn Macros) -> Result<String, Vec<Reason>> {
    expand::expand(logic, macros).map(|e| e.text).map_err(|rs| {
        rs.into_iter()
            .map(|r| with_position(r, logic, None))
            .collect()
    })
}

/// Maps a reason's span to the original logic and fills its position.
fn with_position(mut r: Reason, logic: &str, exp: Option<&Expansion>) -> Reason {
    if let Some(s) = r.span {
        let s = exp.map_or(s, |e| e.to_original(s));
        r.span = Some(s);
        r.position = Some(Position::of(logic, s.start));
    }
    r
}

/// Evaluates one rule: expands macros, parses, evaluates.
pub fn evaluate_rule(
    rule: &Rule,
    macros: &dyn Macros,
    events: &[Event],
    opts: &EvalOptions,
) -> Outcome {
    let p = prepare(rule, macros);
    evaluate_many(std::slice::from_ref(&p), events, opts)
        .pop()
        .unwrap_or_default()
}

/// Evaluates every prepared rule over every event (rules in parallel).
///
/// Events are pre-selected per rule, soundly: only events holding the
/// field values, raw-text segments and literals its leading filters need
/// are tested (see [`prefilter`]); an event left out would fail those
/// filters anyway. With `explain`, every event is tested so each gets its
/// failing predicate.
pub fn evaluate_many(rules: &[Prepared], events: &[Event], opts: &EvalOptions) -> Vec<Outcome> {
    let now = opts.now.unwrap_or_else(|| default_now(events));
    let plans: Vec<pipeline::Plan> = rules
        .par_iter()
        .map(|p| pipeline::compile(&p.query, p.language, &opts.lookups))
        .collect();
    let mut lits = prefilter::Builder::default();
    let lit_reqs: Vec<prefilter::Req> = plans
        .iter()
        .map(|p| {
            let v = pipeline::lead_filters(p)
                .into_iter()
                .map(|f| lits.expr(f))
                .collect();
            prefilter::Req::and(v)
        })
        .collect();
    let bits: Option<Vec<prefilter::Bits>> = if opts.explain {
        None
    } else {
        let pf = lits.finish();
        Some(events.par_iter().map(|e| pf.scan(e)).collect())
    };
    let postings = bits.as_deref().map(prefilter::Postings::new);
    // Lint reads each field's backslash statistics once for all rules.
    let lints: Vec<Vec<LintField>> = plans.par_iter().map(lint_fields).collect();
    let mut lint_names: Vec<String> = lints
        .iter()
        .flat_map(|l| l.iter().map(|(f, ..)| f.clone()))
        .collect();
    lint_names.sort();
    lint_names.dedup();
    let field_stats: std::collections::HashMap<String, (usize, bool)> = lint_names
        .into_par_iter()
        .map(|f| {
            let s = backslash_stats(events, &f);
            (f, s)
        })
        .collect();
    let stats = |f: &str| field_stats.get(f).copied().unwrap_or((0, false));
    rules
        .par_iter()
        .zip(plans.par_iter())
        .zip(lit_reqs.par_iter())
        .zip(lints.par_iter())
        .map(|(((p, plan), lit_req), lints)| {
            let mut out = if p.reasons.is_empty() {
                let cands = postings.as_ref().and_then(|post| post.candidates(lit_req));
                run_plan(
                    plan,
                    lints,
                    events,
                    cands.as_deref(),
                    bits.as_deref(),
                    &stats,
                    now,
                    opts,
                )
            } else {
                Outcome {
                    events: events.len(),
                    not_evaluable: p.reasons.clone(),
                    ..Outcome::default()
                }
            };
            out.rule = p.rule.clone();
            let exp = p.expansion.as_ref();
            // Notes index the original logic already.
            let notes = p.notes.clone();
            out.not_evaluable = std::mem::take(&mut out.not_evaluable)
                .into_iter()
                .map(|r| with_position(r, &p.logic, exp))
                .collect();
            for d in &mut out.lint {
                if let (Some(s), Some(e)) = (d.span, exp) {
                    d.span = Some(e.to_original(s));
                }
            }
            out.lint.extend(notes);
            out
        })
        .collect()
}

#[cfg(test)]
mod tests;
