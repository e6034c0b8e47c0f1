//! Boolean conditions: compiling an [`Expr`] tree and evaluating it under
//! SPL `search` logic or three-valued logic, and finding the predicate
//! that made a row fail (for `--explain`).
//!
//! Choices where SEMANTICS.md marks behaviour as observed (obs):
//! - `f=v` in `search` compares the whole value; a multivalue field
//!   matches when any value does; `f!=v` needs `f` and holds when no
//!   value equals `v`.
//! - `<`, `>`… compare numerically when both sides are numbers, otherwise
//!   as strings (case-folded in `search`).
//! - In three-valued logic an unquoted numeric literal compares
//!   numerically (`EventID == 4688` matches `4688.0`); a quoted one, and
//!   every `search` comparison, compares text.
//! - An empty string is a value, not a null (except for `isempty`).

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::OnceLock;

use regex::Regex;

use crate::diag::Span;
use crate::ir::{Cmp, CmpOp, Expr, Flags, Literal, Logic, Term, Wildcard};
use crate::rule::Language;

use super::prefilter::Req;
use super::regex::{Flavor, Rx};
use super::row::Record;
use super::scalar::{self, CScalar, Ctx};
use super::terms;
use super::value::{compare, eq_fold, fmt_num, parse_num};
use super::wildcard::{find_term, find_term_folded, Glob, Like};

/// A compiled condition.
#[derive(Debug)]
pub enum CExpr {
    /// All children hold.
    And(Vec<CExpr>),
    /// Some child holds.
    Or(Vec<CExpr>),
    /// The child does not hold.
    Not(Box<CExpr>),
    /// A field predicate.
    Cmp(Box<CCmp>),
    /// A bare term or phrase against `_raw`.
    Term(Box<CTerm>),
    /// A boolean scalar expression.
    Scalar(Box<CScalar>, Leaf),
}

/// How a leaf is shown in `--explain`.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// The predicate's source text.
    pub text: String,
    /// Where it is in the logic.
    pub span: Span,
}

/// A compiled field predicate.
#[derive(Debug)]
pub struct CCmp {
    /// The logic it was compiled for.
    pub logic: Logic,
    /// The field tested.
    pub field: String,
    /// The canonical operator (for requirement extraction).
    pub op: CmpOp,
    /// The literals (for requirement extraction and lint).
    pub values: Vec<Literal>,
    /// The flags as parsed.
    pub flags: Flags,
    /// How it is shown.
    pub leaf: Leaf,
    /// A necessary condition on pre-selection atoms, set by `evaluate_many`.
    pub atom: OnceLock<Req>,
    test: Test,
}

/// A compiled bare term.
#[derive(Debug)]
pub struct CTerm {
    /// The term's pattern, compiled on first use: most terms are answered
    /// by pre-selection atoms in `evaluate_many` and never need it.
    re: OnceLock<Option<Regex>>,
    /// The term's value (for pre-selection literals).
    pub value: String,
    /// `CASE(...)`.
    pub case_sensitive: bool,
    /// Compiled with KQL term boundaries.
    pub kql: bool,
    /// `TERM(...)`.
    pub whole_token: bool,
    /// A condition on pre-selection atoms and whether it is exact
    /// (sufficient too), set by `evaluate_many`.
    pub atom: OnceLock<(Req, bool)>,
    /// How it is shown.
    pub leaf: Leaf,
}

#[derive(Debug)]
enum Test {
    /// Eq / In: some value matches some pattern.
    Any(Vec<Pat>),
    /// Ne: no value matches.
    NoneOf(Vec<Pat>),
    /// Lt/Le/Gt/Ge against a literal.
    Order(CmpOp, String, bool),
    /// Regex, with a count of run-time failures (PCRE match limit hit).
    Regex(Rx, AtomicUsize),
    /// KQL has / has_any (any) or has_all (all).
    Has(Vec<Regex>, bool),
    /// Inclusive range.
    Between(String, String, bool),
    /// IsNull (true) or IsNotNull (false), with `empty_is_null`.
    Null(bool, bool),
}

/// A whole-value pattern of an `Eq`/`In`/`Ne` predicate.
#[derive(Debug)]
pub enum Pat {
    /// Exact (case-folded when `ci`; numeric when `num`).
    Exact {
        /// The value (lower-cased when `ci`).
        value: String,
        /// Case-insensitive.
        ci: bool,
        /// Compare numerically with this number when the value is one.
        num: Option<f64>,
    },
    /// `*` wildcard pattern.
    Glob(Glob),
    /// `%`/`_` pattern.
    Like(Like),
    /// Substring.
    Contains(String, bool),
    /// Prefix.
    Prefix(String, bool),
    /// Suffix.
    Suffix(String, bool),
}

/// Tri-state truth: `None` is unknown (three-valued logic only).
pub type Tri = Option<bool>;

/// Compilation context: language, and the stage text spans index into.
pub struct Source<'a> {
    /// The rule's language.
    pub lang: Language,
    /// The stage's text.
    pub text: &'a str,
    /// Where the stage text starts in the logic.
    pub offset: usize,
}

impl Source<'_> {
    /// The source text of `span`, if it lies inside the stage.
    fn slice(&self, span: Span) -> Option<String> {
        let a = span.start.checked_sub(self.offset)?;
        let b = span.end.checked_sub(self.offset)?;
        self.text
            .get(a..b)
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    }
}

/// A compile error: what could not be compiled, and where.
#[derive(Debug)]
pub struct CompileError {
    /// Short name (`regex`, `macro`, `function`).
    pub what: String,
    /// Message.
    pub message: String,
    /// Position in the logic.
    pub span: Span,
}

/// Compiles `expr` for `logic`.
pub fn compile(expr: &Expr, logic: Logic, src: &Source) -> Result<CExpr, CompileError> {
    Ok(match expr {
        Expr::And { children } => CExpr::And(
            children
                .iter()
                .map(|c| compile(c, logic, src))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or { children } => CExpr::Or(
            children
                .iter()
                .map(|c| compile(c, logic, src))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not { child } => CExpr::Not(Box::new(compile(child, logic, src)?)),
        Expr::Cmp(c) => CExpr::Cmp(Box::new(compile_cmp(c, logic, src)?)),
        Expr::Term(t) => CExpr::Term(Box::new(compile_term(t, src)?)),
        Expr::Macro(m) => {
            return Err(CompileError {
                what: "macro".to_string(),
                message: format!("macro `{}` was not expanded", m.name),
                span: m.span,
            })
        }
        Expr::Scalar { expr, span } => {
            let c = scalar::compile(expr, src.lang).map_err(|m| CompileError {
                what: if m.starts_with("regex") {
                    "regex"
                } else {
                    "function"
                }
                .to_string(),
                message: m,
                span: *span,
            })?;
            let text = src.slice(*span).unwrap_or_else(|| "expression".to_string());
            CExpr::Scalar(Box::new(c), Leaf { text, span: *span })
        }
    })
}

fn compile_term(t: &Term, src: &Source) -> Result<CTerm, CompileError> {
    // The pattern is an escaped literal: only an empty term can fail.
    if t.value.trim().is_empty() {
        return Err(CompileError {
            what: "term".to_string(),
            message: format!("search term {} is empty", t.text),
            span: t.span,
        });
    }
    Ok(CTerm {
        re: OnceLock::new(),
        value: t.value.clone(),
        case_sensitive: t.case_sensitive,
        kql: src.lang == Language::Kusto,
        whole_token: t.whole_token,
        atom: OnceLock::new(),
        leaf: Leaf {
            text: src.slice(t.span).unwrap_or_else(|| t.text.clone()),
            span: t.span,
        },
    })
}

/// Whether a literal was written as a bare number (not a quoted string).
pub fn bare_number(lit: &Literal) -> Option<f64> {
    let quoted = lit.raw.starts_with(['"', '\'', '`', '@']);
    if quoted {
        None
    } else {
        parse_num(&lit.value)
    }
}

/// Builds a whole-value pattern for one literal under the flags.
fn value_pat(lit: &Literal, flags: Flags, logic: Logic) -> Result<Pat, String> {
    let ci = !flags.case_sensitive;
    let v = &lit.value;
    match flags.wildcard {
        Wildcard::Glob if v.contains('*') => Ok(Pat::Glob(Glob::new(v, ci))),
        Wildcard::Sql if v.contains(['%', '_']) => Ok(Pat::Like(Like::new(v, ci))),
        _ => Ok(Pat::Exact {
            value: if ci { v.to_lowercase() } else { v.clone() },
            ci,
            num: if logic == Logic::ThreeValued {
                bare_number(lit)
            } else {
                None
            },
        }),
    }
}

fn compile_cmp(c: &Cmp, logic: Logic, src: &Source) -> Result<CCmp, CompileError> {
    let err = |what: &str, m: String| CompileError {
        what: what.to_string(),
        message: m,
        span: c.span,
    };
    let ci = !c.flags.case_sensitive;
    let first = || {
        c.values
            .first()
            .ok_or_else(|| err("predicate", format!("`{}` {} has no value", c.field, c.op)))
    };
    let pats = || -> Result<Vec<Pat>, CompileError> {
        c.values
            .iter()
            .map(|l| value_pat(l, c.flags, logic).map_err(|m| err("pattern", m)))
            .collect()
    };
    let text_pats = |mk: fn(String, bool) -> Pat| -> Vec<Pat> {
        c.values
            .iter()
            .map(|l| {
                mk(
                    if ci {
                        l.value.to_lowercase()
                    } else {
                        l.value.clone()
                    },
                    ci,
                )
            })
            .collect()
    };
    let test = match c.op {
        CmpOp::Eq | CmpOp::In => Test::Any(pats()?),
        CmpOp::Ne => Test::NoneOf(pats()?),
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            Test::Order(c.op, first()?.value.clone(), ci)
        }
        CmpOp::Like => Test::Any(
            c.values
                .iter()
                .map(|l| Pat::Like(Like::new(&l.value, ci)))
                .collect(),
        ),
        CmpOp::Contains => Test::Any(text_pats(Pat::Contains)),
        CmpOp::StartsWith => Test::Any(text_pats(Pat::Prefix)),
        CmpOp::EndsWith => Test::Any(text_pats(Pat::Suffix)),
        CmpOp::Match => {
            let lit = first()?;
            let flavor = Flavor::of(src.lang);
            // SPL `match`/`regex` and KQL `matches regex` are case-sensitive
            // unless the pattern says `(?i)`; a front-end marks Snowflake's
            // 'i' parameter by clearing `case_sensitive`.
            let case_insensitive = ci && src.lang == Language::Snowflake;
            Test::Regex(
                Rx::new(&lit.value, flavor, case_insensitive, c.flags.anchored).map_err(|e| {
                    err(
                        "regex",
                        format!("regex {} cannot be compiled: {e}", lit.raw),
                    )
                })?,
                AtomicUsize::new(0),
            )
        }
        CmpOp::Has => {
            let mut v = Vec::new();
            for l in &c.values {
                v.push(
                    terms::kql_has(&l.value, c.flags.case_sensitive)
                        .map_err(|e| err("pattern", e))?,
                );
            }
            Test::Has(v, c.flags.all)
        }
        CmpOp::Between => {
            let lo = first()?.value.clone();
            let hi = c
                .values
                .get(1)
                .ok_or_else(|| err("predicate", "between needs two values".to_string()))?
                .value
                .clone();
            Test::Between(lo, hi, ci)
        }
        CmpOp::IsNull => Test::Null(true, c.flags.empty_is_null),
        CmpOp::IsNotNull => Test::Null(false, c.flags.empty_is_null),
    };
    let text = src.slice(c.span).unwrap_or_else(|| {
        let vals: Vec<&str> = c.values.iter().map(|l| l.raw.as_str()).collect();
        format!("{} {} {}", c.field, c.op, vals.join(", "))
    });
    Ok(CCmp {
        logic,
        field: c.field.clone(),
        op: c.op,
        values: c.values.clone(),
        flags: c.flags,
        leaf: Leaf { text, span: c.span },
        atom: OnceLock::new(),
        test,
    })
}

impl Pat {
    fn matches(&self, s: &str) -> bool {
        match self {
            Pat::Exact { value, ci, num } => {
                if let Some(n) = num {
                    if let Some(x) = parse_num(s) {
                        return x == *n;
                    }
                }
                if *ci {
                    eq_fold(s, value)
                } else {
                    s == value
                }
            }
            Pat::Glob(g) => g.is_match(s),
            Pat::Like(l) => l.is_match(s),
            Pat::Contains(v, ci) => fold_if(s, *ci).contains(v.as_str()),
            Pat::Prefix(v, ci) => fold_if(s, *ci).starts_with(v.as_str()),
            Pat::Suffix(v, ci) => fold_if(s, *ci).ends_with(v.as_str()),
        }
    }
}

fn fold_if(s: &str, ci: bool) -> std::borrow::Cow<'_, str> {
    if ci {
        super::value::fold(s)
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Compiled term patterns shared by every rule: the same terms
/// (`"<EventID>1<"`, `TERM(EventCode=1)`) recur across hundreds of rules.
type TermKey = (String, bool, bool, bool);
static TERM_CACHE: OnceLock<std::sync::Mutex<std::collections::HashMap<TermKey, Option<Regex>>>> =
    OnceLock::new();

/// The pattern of a term, from the shared cache.
fn term_regex(value: &str, kql: bool, whole: bool, cs: bool) -> Option<Regex> {
    let cache = TERM_CACHE.get_or_init(Default::default);
    let key = (value.to_string(), kql, whole, cs);
    // A poisoned lock only means another thread panicked mid-insert; the
    // map itself is still usable.
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return hit.clone();
    }
    let re = if kql {
        // KQL `search "x"`: x as a term of any column, here `_raw`.
        terms::kql_has(value, cs).ok()
    } else {
        terms::spl_term(value, whole, cs).ok()
    };
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, re.clone());
    re
}

impl CTerm {
    /// Whether the term occurs in the row's `_raw`.
    pub fn eval(&self, rec: &dyn Record) -> bool {
        if let (Some(bits), Some((req, exact))) = (rec.atoms(), self.atom.get()) {
            let holds = req.holds(bits);
            if !holds || *exact {
                return holds;
            }
        }
        if !self.kql && !self.case_sensitive {
            if let Some(bits) = rec.atoms() {
                if let Some(hit) = find_term_folded(&bits.raw_folded, &self.value, self.whole_token)
                {
                    return hit;
                }
            }
        }
        let Some(raws) = rec.values("_raw") else {
            return false;
        };
        raws.iter().any(|r| {
            if !self.kql {
                if let Some(hit) = find_term(r, &self.value, self.case_sensitive, self.whole_token)
                {
                    return hit;
                }
            }
            let re = self.re.get_or_init(|| {
                term_regex(&self.value, self.kql, self.whole_token, self.case_sensitive)
            });
            re.as_ref().is_some_and(|re| re.is_match(r))
        })
    }
}

impl CCmp {
    /// The value patterns of an `Eq`/`In`/`Ne` predicate (empty otherwise).
    pub fn pats(&self) -> &[Pat] {
        match &self.test {
            Test::Any(p) | Test::NoneOf(p) => p,
            _ => &[],
        }
    }

    /// The regex pattern of a `Match` predicate and its run-time failures.
    pub fn regex(&self) -> Option<(&str, usize)> {
        match &self.test {
            Test::Regex(rx, n) => Some((rx.pattern.as_str(), n.load(AtomicOrdering::Relaxed))),
            _ => None,
        }
    }

    /// Evaluates the predicate on a row.
    pub fn eval(&self, rec: &dyn Record, logic: Logic) -> Tri {
        let vals = rec.values(&self.field);
        if let Test::Null(want_null, empty_is_null) = self.test {
            let null = match vals {
                None => true,
                Some(vs) => empty_is_null && vs.iter().all(String::is_empty),
            };
            return Some(null == want_null);
        }
        let Some(vals) = vals else {
            return match logic {
                Logic::Search => Some(false),
                Logic::ThreeValued => None,
            };
        };
        // The field is present: a failed necessary condition means false.
        if let (Some(bits), Some(req)) = (rec.atoms(), self.atom.get()) {
            if !req.holds(bits) {
                return Some(false);
            }
        }
        Some(match &self.test {
            Test::Any(pats) => vals.iter().any(|v| pats.iter().any(|p| p.matches(v))),
            Test::NoneOf(pats) => !vals.iter().any(|v| pats.iter().any(|p| p.matches(v))),
            Test::Order(op, lit, ci) => vals.iter().any(|v| {
                let o = compare(v, lit, *ci);
                match op {
                    CmpOp::Lt => o.is_lt(),
                    CmpOp::Le => o.is_le(),
                    CmpOp::Gt => o.is_gt(),
                    _ => o.is_ge(),
                }
            }),
            Test::Regex(rx, failures) => vals.iter().any(|v| match rx.is_match(v) {
                Ok(b) => b,
                Err(_) => {
                    failures.fetch_add(1, AtomicOrdering::Relaxed);
                    false
                }
            }),
            Test::Has(res, all) => {
                let hit = |re: &Regex| vals.iter().any(|v| re.is_match(v));
                if *all {
                    res.iter().all(hit)
                } else {
                    res.iter().any(hit)
                }
            }
            Test::Between(lo, hi, ci) => vals
                .iter()
                .any(|v| compare(v, lo, *ci).is_ge() && compare(v, hi, *ci).is_le()),
            Test::Null(..) => false,
        })
    }
}

impl CExpr {
    /// Evaluates the condition on a row under `logic`.
    pub fn eval(&self, rec: &dyn Record, logic: Logic, ctx: &Ctx) -> Tri {
        let t = match self {
            CExpr::And(children) => {
                let mut out = Some(true);
                for c in children {
                    match c.eval(rec, logic, ctx) {
                        Some(false) => return Some(false),
                        None => out = None,
                        Some(true) => {}
                    }
                }
                out
            }
            CExpr::Or(children) => {
                let mut out = Some(false);
                for c in children {
                    match c.eval(rec, logic, ctx) {
                        Some(true) => return Some(true),
                        None => out = None,
                        Some(false) => {}
                    }
                }
                out
            }
            CExpr::Not(c) => c.eval(rec, logic, ctx).map(|b| !b),
            CExpr::Cmp(c) => c.eval(rec, logic),
            CExpr::Term(t) => Some(t.eval(rec)),
            CExpr::Scalar(s, _) => s.eval(rec, ctx).truth(),
        };
        match logic {
            // `search` has no unknown: a missing field is simply false.
            Logic::Search => Some(t.unwrap_or(false)),
            Logic::ThreeValued => t,
        }
    }

    /// Whether the condition keeps the row (only true keeps it).
    pub fn keeps(&self, rec: &dyn Record, logic: Logic, ctx: &Ctx) -> bool {
        self.eval(rec, logic, ctx) == Some(true)
    }

    /// The first predicate that makes the condition not true for `rec`.
    pub fn why_not(&self, rec: &dyn Record, logic: Logic, ctx: &Ctx) -> Option<Failure> {
        self.failure(rec, logic, ctx, false)
    }

    /// Finds the leaf responsible for the condition evaluating to
    /// `!want_true` (i.e. not-true when `negated` is false).
    fn failure(&self, rec: &dyn Record, logic: Logic, ctx: &Ctx, negated: bool) -> Option<Failure> {
        let bad = |e: &CExpr| {
            let t = e.eval(rec, logic, ctx);
            if negated {
                t != Some(false)
            } else {
                t != Some(true)
            }
        };
        if !bad(self) {
            return None;
        }
        match self {
            // Not-true And: the first not-true child. Not-false Or (under
            // NOT): likewise the first not-false child.
            CExpr::And(children) if !negated => children
                .iter()
                .find(|c| bad(c))
                .and_then(|c| c.failure(rec, logic, ctx, negated)),
            CExpr::Or(children) if negated => children
                .iter()
                .find(|c| bad(c))
                .and_then(|c| c.failure(rec, logic, ctx, negated)),
            // Every branch failed: report the first.
            CExpr::And(children) | CExpr::Or(children) => children
                .first()
                .and_then(|c| c.failure(rec, logic, ctx, negated)),
            CExpr::Not(c) => c.failure(rec, logic, ctx, !negated).map(|mut f| {
                if !negated {
                    f.predicate = format!("NOT {}", f.predicate);
                }
                f
            }),
            CExpr::Cmp(c) => {
                let vals = rec
                    .values(&c.field)
                    .map(<[String]>::to_vec)
                    .unwrap_or_default();
                Some(Failure {
                    predicate: neg(&c.leaf.text, negated),
                    span: Some(c.leaf.span),
                    field: Some(c.field.clone()),
                    values: vals,
                })
            }
            CExpr::Term(t) => Some(Failure {
                predicate: neg(&t.leaf.text, negated),
                span: Some(t.leaf.span),
                field: Some("_raw".to_string()),
                values: Vec::new(),
            }),
            CExpr::Scalar(s, leaf) => {
                let field = first_field(s);
                let values = field
                    .as_ref()
                    .and_then(|f| rec.values(f))
                    .map(<[String]>::to_vec)
                    .unwrap_or_default();
                let v = s.eval(rec, ctx);
                Some(Failure {
                    predicate: format!("{} (= {})", neg(&leaf.text, negated), scalar::show(&v)),
                    span: Some(leaf.span),
                    field,
                    values,
                })
            }
        }
    }

    /// Calls `f` on every compiled field predicate.
    pub fn for_each_cmp<'a>(&'a self, f: &mut impl FnMut(&'a CCmp)) {
        match self {
            CExpr::And(cs) | CExpr::Or(cs) => cs.iter().for_each(|c| c.for_each_cmp(f)),
            CExpr::Not(c) => c.for_each_cmp(f),
            CExpr::Cmp(c) => f(c),
            CExpr::Term(_) | CExpr::Scalar(..) => {}
        }
    }
}

/// The index key of a field value for pre-selection: numbers normalised,
/// text lower-cased, so every exact comparison that can hold shares a key.
pub fn index_key(v: &str) -> String {
    match parse_num(v) {
        Some(n) => fmt_num(n),
        None => v.to_lowercase(),
    }
}

fn neg(text: &str, negated: bool) -> String {
    if negated {
        format!("NOT {text}")
    } else {
        text.to_string()
    }
}

/// The first field a scalar expression reads (for explain output).
fn first_field(s: &CScalar) -> Option<String> {
    match s {
        CScalar::Field(f) => Some(f.clone()),
        CScalar::Lit(_) => None,
        CScalar::List(xs) | CScalar::Call { args: xs, .. } => xs.iter().find_map(first_field),
        CScalar::Bin(_, a, b) => first_field(a).or_else(|| first_field(b)),
        CScalar::Un(_, a) => first_field(a),
    }
}

/// Why a row failed a condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The failing predicate's source text.
    pub predicate: String,
    /// Where it is in the logic.
    pub span: Option<Span>,
    /// The field it tests.
    pub field: Option<String>,
    /// The row's values of that field (empty when missing).
    pub values: Vec<String>,
}
