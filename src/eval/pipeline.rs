//! Compiling a [`Query`] into an executable plan, and running it.
//!
//! The leading filters run on borrowed events (in parallel); only the
//! events they keep are copied into rows for the rest of the pipeline.
//! Every row remembers which input events it was made from, so `matched`
//! and `--explain` can say what became of each event even after `stats`.
//!
//! Choices (documented here because SEMANTICS.md leaves them open):
//! - KQL tables / SQL `FROM` (`Source`) accept every loaded event; the
//!   event files are the table.
//! - `tstats` evaluates over the loaded events as if every event were in
//!   the data model, reading `Processes.process_name` as the CIM field
//!   `process_name` when the event has no field of the prefixed name.
//! - `table` keeps only the listed fields; `fields f` keeps the listed
//!   fields and the internal ones (`_time`, `_raw`…).
//! - `sort` without a limit keeps 10,000 rows in SPL (Splunk's default).
//! - `bin` floors numbers as numbers and ISO times as ISO times.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rayon::prelude::*;

use crate::diag::Span;
use crate::events::Event;
use crate::ir::{ExtractMode, Logic, Operator, Query, SortKey, Stage, StatsMode};
use crate::rule::Language;

use super::filter::{self, CExpr, Failure, Source};
use super::prefilter::Bits;
use super::regex::{Flavor, Rx};
use super::row::{glob_captures, glob_fill, glob_name, DataModel, Rec, Record, Scanned};
use super::scalar::{self, CScalar, Ctx};
use super::stats::{self, CAgg};
use super::value::{compare, fmt_num, fmt_time, parse_num, parse_span, parse_time};
use super::Reason;

/// A compiled stage.
pub struct PStage {
    /// The stage as parsed (kind, text, span).
    pub kind: String,
    /// Source text of the stage.
    pub text: String,
    /// Where the stage is in the logic.
    pub span: Span,
    /// What it does.
    pub op: COp,
}

/// A compiled operator.
pub enum COp {
    /// Rows pass unchanged (a source).
    Pass,
    /// Keep rows for which the condition is true.
    Filter {
        /// The condition.
        expr: CExpr,
        /// Its logic.
        logic: Logic,
    },
    /// Assign fields.
    Eval(Vec<(String, CScalar)>),
    /// Keep or drop fields.
    Project {
        /// Names or patterns.
        fields: Vec<String>,
        /// Keep (true) or drop.
        keep: bool,
        /// Also keep `_`-prefixed fields (SPL `fields`).
        keep_internal: bool,
    },
    /// Rename fields.
    Rename(Vec<(String, String)>),
    /// Floor a field.
    Bin {
        /// Field read.
        field: String,
        /// Bucket size.
        span: f64,
        /// Field written.
        alias: Option<String>,
    },
    /// Aggregate.
    Stats {
        /// How rows are emitted.
        mode: StatsMode,
        /// Aggregates.
        aggs: Vec<CAgg>,
        /// Group-by fields.
        by: Vec<String>,
    },
    /// Deduplicate.
    Dedup {
        /// Fields compared.
        fields: Vec<String>,
        /// Keep rows lacking a field.
        keep_empty: bool,
    },
    /// Order rows.
    Sort {
        /// Keys.
        keys: Vec<SortKey>,
        /// Row limit (0 = none).
        limit: usize,
    },
    /// First N rows.
    Head(usize),
    /// Regex field extraction.
    Extract {
        /// Field read.
        field: String,
        /// Pattern.
        rx: Rx,
        /// Max matches (0 = all).
        max_match: usize,
    },
    /// `rex mode=sed`: regex substitution in place.
    Sed {
        /// Field rewritten.
        field: String,
        /// Pattern.
        rx: Rx,
        /// Replacement.
        repl: String,
        /// 0 = every match, N = the N-th.
        which: usize,
    },
    /// `rex mode=sed "y/abc/xyz/"`: transliteration.
    Translit {
        /// Field rewritten.
        field: String,
        /// Characters replaced → replacements.
        map: Vec<(char, char)>,
    },
    /// CSV lookup.
    Lookup {
        /// Header of the CSV.
        header: Vec<String>,
        /// Data rows.
        rows: Vec<Vec<String>>,
        /// `(lookup field, event field)` inputs.
        inputs: Vec<(String, String)>,
        /// `(lookup field, event field)` outputs; empty = all others.
        outputs: Vec<(String, String)>,
    },
    /// Replace nulls.
    Fillnull {
        /// Value.
        value: String,
        /// Fields (empty = all seen).
        fields: Vec<String>,
    },
    /// One row per value.
    MvExpand(String),
    /// Append the results of subqueries run over the same loaded events
    /// (SPL `append`, KQL `union`).
    Union {
        /// Keep the rows flowing in.
        include_input: bool,
        /// The subqueries.
        subs: Vec<Plan>,
    },
    /// Join with a subquery run over the same loaded events.
    Join {
        /// Which rows are kept and combined.
        kind: JoinKind,
        /// `(left field, right field)` keys; empty = the common fields.
        keys: Vec<(String, String)>,
        /// The subquery.
        sub: Box<Plan>,
    },
    /// SPL `convert` (kept as text by the front-end, parsed here):
    /// `(function, field pattern, AS name)` in order.
    Convert {
        /// `timeformat=` (default `%m/%d/%Y %H:%M:%S`).
        timeformat: String,
        /// The conversions.
        items: Vec<(String, String, Option<String>)>,
    },
    /// `tstats`: a search-logic filter over data-model fields, then stats.
    Tstats {
        /// The `where` filter.
        filter: Option<CExpr>,
        /// Aggregates.
        aggs: Vec<CAgg>,
        /// Group-by fields.
        by: Vec<String>,
        /// `span=` for `_time` in BY.
        span: Option<f64>,
    },
}

/// Join kinds of SPL `join type=` and KQL `join kind=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// SPL `type=inner` (default; first match only, right overwrites).
    SplInner,
    /// SPL `type=left`/`outer`.
    SplLeft,
    /// KQL `innerunique` (default): left deduplicated by key, then inner.
    InnerUnique,
    /// KQL `inner`: every matching pair.
    Inner,
    /// KQL `leftouter`.
    LeftOuter,
    /// KQL `leftanti`: left rows without a match.
    LeftAnti,
    /// KQL `leftsemi`: left rows with a match.
    LeftSemi,
    /// KQL `rightanti`.
    RightAnti,
    /// KQL `rightsemi`.
    RightSemi,
    /// KQL `rightouter`.
    RightOuter,
    /// KQL `fullouter`.
    FullOuter,
}

impl JoinKind {
    fn parse(kind: Option<&str>, lang: Language) -> Option<JoinKind> {
        let k = kind.map(|k| k.trim().to_ascii_lowercase());
        Some(match (lang, k.as_deref()) {
            (Language::Splunk, None | Some("inner")) => JoinKind::SplInner,
            (Language::Splunk, Some("left" | "outer")) => JoinKind::SplLeft,
            (_, None | Some("innerunique")) => JoinKind::InnerUnique,
            (_, Some("inner")) => JoinKind::Inner,
            (_, Some("leftouter" | "left")) => JoinKind::LeftOuter,
            (_, Some("leftanti" | "anti" | "leftantisemi")) => JoinKind::LeftAnti,
            (_, Some("leftsemi")) => JoinKind::LeftSemi,
            (_, Some("rightanti" | "rightantisemi")) => JoinKind::RightAnti,
            (_, Some("rightsemi")) => JoinKind::RightSemi,
            (_, Some("rightouter" | "right")) => JoinKind::RightOuter,
            (_, Some("fullouter" | "outer" | "full")) => JoinKind::FullOuter,
            _ => return None,
        })
    }
}

/// Joins rows with a subquery's rows.
fn join(kind: JoinKind, keys: &[(String, String)], left: Vec<Rec>, right: Vec<Rec>) -> Vec<Rec> {
    let keys: Vec<(String, String)> = if keys.is_empty() {
        // No keys: every field common to both sides (SPL).
        let l: HashSet<&String> = left.iter().flat_map(|r| r.fields.keys()).collect();
        let r: HashSet<&String> = right.iter().flat_map(|r| r.fields.keys()).collect();
        let mut common: Vec<String> = l
            .intersection(&r)
            .filter(|k| !k.starts_with('_'))
            .map(|k| (*k).clone())
            .collect();
        common.sort();
        common.into_iter().map(|k| (k.clone(), k)).collect()
    } else {
        keys.to_vec()
    };
    let key_of = |r: &Rec, left_side: bool| -> Option<Vec<String>> {
        keys.iter()
            .map(|(l, rk)| {
                let f = if left_side { l } else { rk };
                r.values(f).and_then(|v| v.first()).cloned()
            })
            .collect()
    };
    let mut index: std::collections::HashMap<Vec<String>, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, r) in right.iter().enumerate() {
        if let Some(k) = key_of(r, false) {
            index.entry(k).or_default().push(i);
        }
    }
    // KQL renames right columns that collide with left ones: `x` → `x1`.
    let left_names: HashSet<String> = left.iter().flat_map(|r| r.fields.keys().cloned()).collect();
    let kql_merge = |l: &Rec, r: &Rec| -> Rec {
        let mut out = l.clone();
        for (k, v) in &r.fields {
            let mut name = k.clone();
            if left_names.contains(k) {
                let mut n = 1;
                while left_names.contains(&format!("{k}{n}")) {
                    n += 1;
                }
                name = format!("{k}{n}");
            }
            out.fields.insert(name, v.clone());
        }
        out.src = merge_src(&l.src, &r.src);
        out
    };
    let spl_merge = |l: &Rec, r: &Rec| -> Rec {
        let mut out = l.clone();
        for (k, v) in &r.fields {
            out.fields.insert(k.clone(), v.clone());
        }
        out.src = merge_src(&l.src, &r.src);
        out
    };
    let mut out = Vec::new();
    let mut right_used = vec![false; right.len()];
    let mut seen_left_keys: HashSet<Vec<String>> = HashSet::new();
    for l in &left {
        let k = key_of(l, true);
        if kind == JoinKind::InnerUnique {
            match &k {
                Some(k) if !seen_left_keys.insert(k.clone()) => continue,
                _ => {}
            }
        }
        let matches: &[usize] = k
            .as_ref()
            .and_then(|k| index.get(k))
            .map_or(&[], Vec::as_slice);
        for &i in matches {
            right_used[i] = true;
        }
        match kind {
            JoinKind::SplInner | JoinKind::SplLeft => match matches.first() {
                Some(&i) => out.push(spl_merge(l, &right[i])),
                None if kind == JoinKind::SplLeft => out.push(l.clone()),
                None => {}
            },
            JoinKind::InnerUnique | JoinKind::Inner | JoinKind::RightOuter => {
                out.extend(matches.iter().map(|&i| kql_merge(l, &right[i])));
            }
            JoinKind::LeftOuter | JoinKind::FullOuter => {
                if matches.is_empty() {
                    out.push(l.clone());
                } else {
                    out.extend(matches.iter().map(|&i| kql_merge(l, &right[i])));
                }
            }
            JoinKind::LeftAnti => {
                if matches.is_empty() {
                    out.push(l.clone());
                }
            }
            JoinKind::LeftSemi => {
                if !matches.is_empty() {
                    out.push(l.clone());
                }
            }
            JoinKind::RightAnti | JoinKind::RightSemi => {}
        }
    }
    match kind {
        JoinKind::RightAnti | JoinKind::RightSemi => {
            let want = kind == JoinKind::RightSemi;
            out.extend(
                right
                    .iter()
                    .zip(&right_used)
                    .filter(|(_, used)| **used == want)
                    .map(|(r, _)| r.clone()),
            );
        }
        JoinKind::RightOuter | JoinKind::FullOuter => {
            let empty = Rec::default();
            out.extend(
                right
                    .iter()
                    .zip(&right_used)
                    .filter(|(_, used)| !**used)
                    .map(|(r, _)| kql_merge(&empty, r)),
            );
        }
        _ => {}
    }
    out
}

fn merge_src(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut v: Vec<u32> = a.iter().chain(b).copied().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A compiled query.
pub struct Plan {
    /// Stages in order.
    pub stages: Vec<PStage>,
    /// Why the query cannot be evaluated (empty = evaluable).
    pub reasons: Vec<Reason>,
    /// The language.
    pub lang: Language,
}

fn reason(what: &str, span: Option<Span>, message: String) -> Reason {
    Reason {
        what: what.to_string(),
        span,
        message,
        position: None,
    }
}

/// Compiles a query. Problems become reasons; the plan keeps the stages
/// that did compile so lint can still look at them.
pub fn compile(
    query: &Query,
    lang: Language,
    lookups: &BTreeMap<String, std::path::PathBuf>,
) -> Plan {
    let mut reasons = Vec::new();
    for d in &query.diagnostics {
        if d.severity == crate::diag::Severity::Error {
            reasons.push(reason(
                "parse",
                d.span,
                format!("not evaluable: the query does not parse ({})", d.message),
            ));
        }
    }
    let mut stages = Vec::new();
    for (i, st) in query.stages.iter().enumerate() {
        match compile_stage(st, lang, lookups, i) {
            Ok(op) => stages.push(PStage {
                kind: st.kind.clone(),
                text: st.text.clone(),
                span: st.span,
                op,
            }),
            Err(r) => reasons.push(r),
        }
    }
    Plan {
        stages,
        reasons,
        lang,
    }
}

fn compile_stage(
    st: &Stage,
    lang: Language,
    lookups: &BTreeMap<String, std::path::PathBuf>,
    index: usize,
) -> Result<COp, Reason> {
    let src = Source {
        lang,
        text: &st.text,
        offset: st.span.start,
    };
    let unsupported = |what: &str| reason(what, Some(st.span), format!("not evaluable: {what}"));
    let ferr = |e: filter::CompileError| {
        reason(
            &e.what,
            Some(e.span),
            format!("not evaluable: {}", e.message),
        )
    };
    Ok(match &st.op {
        Operator::Source { .. } => COp::Pass,
        Operator::Filter { expr, logic } => COp::Filter {
            expr: filter::compile(expr, *logic, &src).map_err(ferr)?,
            logic: *logic,
        },
        Operator::Eval { assignments } => COp::Eval(
            assignments
                .iter()
                .map(|a| {
                    scalar::compile(&a.value, lang)
                        .map(|c| (a.name.clone(), c))
                        .map_err(|m| {
                            reason("function", Some(st.span), format!("not evaluable: {m}"))
                        })
                })
                .collect::<Result<_, _>>()?,
        ),
        Operator::Project { fields, keep } => COp::Project {
            fields: fields.clone(),
            keep: *keep,
            keep_internal: st.kind == "fields",
        },
        Operator::Rename { pairs } => COp::Rename(pairs.clone()),
        Operator::Bin { field, span, alias } => {
            let Some(text) = span else {
                return Err(reason(
                    "bin",
                    Some(st.span),
                    "not evaluable: bin without span= (automatic bucket sizes are not modelled)"
                        .to_string(),
                ));
            };
            let secs = parse_span(text).filter(|s| *s > 0.0).ok_or_else(|| {
                reason(
                    "bin",
                    Some(st.span),
                    format!("not evaluable: bin span={text}"),
                )
            })?;
            COp::Bin {
                field: field.clone(),
                span: secs,
                alias: alias.clone(),
            }
        }
        Operator::Stats { mode, aggs, by } => COp::Stats {
            mode: *mode,
            aggs: stats::compile(aggs)
                .map_err(|m| reason("stats", Some(st.span), format!("not evaluable: {m}")))?,
            by: by.clone(),
        },
        Operator::Dedup { fields, keep_empty } => COp::Dedup {
            fields: fields.clone(),
            keep_empty: *keep_empty,
        },
        Operator::Sort { keys, limit } => COp::Sort {
            keys: keys.clone(),
            limit: match (limit, lang) {
                (Some(n), _) => *n,
                (None, Language::Splunk) => 10_000,
                (None, _) => 0,
            },
        },
        Operator::Head { n } => COp::Head(*n),
        Operator::Extract {
            field,
            pattern,
            mode,
            max_match,
        } => {
            let flavor = match mode {
                ExtractMode::Template => Flavor::Re2,
                _ => Flavor::of(lang),
            };
            let bad = |e: String| {
                reason(
                    "regex",
                    Some(st.span),
                    format!("not evaluable: regex \"{pattern}\" cannot be compiled: {e}"),
                )
            };
            match mode {
                ExtractMode::Sed => match parse_sed(pattern) {
                    Some(Sed::Subst { re, repl, which }) => COp::Sed {
                        field: field.clone(),
                        rx: Rx::new(&re, flavor, false, false).map_err(bad)?,
                        repl,
                        which,
                    },
                    Some(Sed::Translit(map)) => COp::Translit {
                        field: field.clone(),
                        map,
                    },
                    None => {
                        return Err(reason(
                            "rex",
                            Some(st.span),
                            format!("not evaluable: sed expression \"{pattern}\""),
                        ))
                    }
                },
                _ => COp::Extract {
                    field: field.clone(),
                    rx: Rx::new(pattern, flavor, false, false).map_err(bad)?,
                    max_match: *max_match,
                },
            }
        }
        Operator::Lookup {
            table,
            inputs,
            outputs,
        } => {
            let path = lookups
                .get(table)
                .or_else(|| lookups.get(&format!("{table}.csv")))
                .or_else(|| lookups.get(table.trim_end_matches(".csv")));
            let Some(path) = path else {
                return Err(reason(
                    "lookup",
                    Some(st.span),
                    format!("not evaluable: lookup {table} (no CSV file given for it)"),
                ));
            };
            let (header, rows) = read_csv(path).map_err(|e| {
                reason(
                    "lookup",
                    Some(st.span),
                    format!("not evaluable: lookup {table}: {}: {e}", path.display()),
                )
            })?;
            COp::Lookup {
                header,
                rows,
                inputs: inputs.clone(),
                outputs: outputs.clone(),
            }
        }
        Operator::Fillnull { value, fields } => COp::Fillnull {
            value: value.clone(),
            fields: fields.clone(),
        },
        Operator::MvExpand { field } => COp::MvExpand(field.clone()),
        Operator::Tstats {
            filter,
            aggs,
            by,
            span,
            ..
        } => COp::Tstats {
            filter: match filter {
                Some(f) => Some(filter::compile(f, Logic::Search, &src).map_err(ferr)?),
                None => None,
            },
            aggs: stats::compile(aggs)
                .map_err(|m| reason("tstats", Some(st.span), format!("not evaluable: {m}")))?,
            by: by.clone(),
            span: match span {
                Some(s) => Some(parse_span(s).filter(|x| *x > 0.0).ok_or_else(|| {
                    reason("tstats", Some(st.span), format!("not evaluable: span={s}"))
                })?),
                None => None,
            },
        },
        // KQL `union A, B` of tables reads the same loaded events.
        Operator::Union { subqueries, .. } if subqueries.is_empty() => COp::Pass,
        Operator::Union { tables, subqueries } => {
            let mut subs = Vec::new();
            for q in subqueries {
                let p = compile(q, lang, lookups);
                if let Some(r) = p.reasons.into_iter().next() {
                    return Err(r);
                }
                subs.push(Plan {
                    reasons: Vec::new(),
                    ..p
                });
            }
            COp::Union {
                // A leading `union (…), (…)` has no input of its own; a
                // named table or an earlier stage supplies rows.
                include_input: index > 0 || !tables.is_empty(),
                subs,
            }
        }
        Operator::Join {
            kind,
            fields,
            subquery,
        } => {
            let join = JoinKind::parse(kind.as_deref(), lang).ok_or_else(|| {
                unsupported(&format!(
                    "{} {}",
                    st.kind,
                    kind.as_deref().unwrap_or_default()
                ))
            })?;
            let sub = compile(subquery, lang, lookups);
            if let Some(r) = sub.reasons.into_iter().next() {
                return Err(r);
            }
            let keys = fields
                .iter()
                .map(|f| match f.split_once('=') {
                    Some((l, r)) => (l.trim().to_string(), r.trim().to_string()),
                    None => (f.clone(), f.clone()),
                })
                .collect();
            COp::Join {
                kind: join,
                keys,
                sub: Box::new(Plan {
                    reasons: Vec::new(),
                    ..sub
                }),
            }
        }
        Operator::Transaction { .. } => return Err(unsupported("transaction")),
        Operator::Foreach { .. } => return Err(unsupported("foreach")),
        Operator::Iplocation { .. } => return Err(unsupported("iplocation")),
        Operator::Macro(m) => {
            return Err(reason(
                "macro",
                Some(m.span),
                format!("not evaluable: macro `{}` was not expanded", m.name),
            ))
        }
        Operator::Unsupported { command } if command == "convert" => {
            parse_convert(&st.text).ok_or_else(|| unsupported("convert"))?
        }
        Operator::Unsupported { command } => return Err(unsupported(command)),
    })
}

/// Parses `convert [timeformat="…"] func(field) [AS name] …` from the
/// stage text. The SPL front-end keeps `convert` as an unsupported
/// command; its grammar is small enough to read here.
fn parse_convert(text: &str) -> Option<COp> {
    const FUNCS: [&str; 10] = [
        "auto", "ctime", "dur2sec", "memk", "mktime", "mstime", "none", "num", "rmcomma", "rmunit",
    ];
    let rest = text.trim().strip_prefix("convert")?;
    let mut timeformat = "%m/%d/%Y %H:%M:%S".to_string();
    let mut items: Vec<(String, String, Option<String>)> = Vec::new();
    let mut chars = rest.trim().char_indices().peekable();
    let src = rest.trim();
    let mut words: Vec<String> = Vec::new();
    // Tokens: quoted strings, `name(arg)`, `key=value`, words.
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() || c == ',' {
            continue;
        }
        let mut end = i + c.len_utf8();
        let mut depth = usize::from(c == '(');
        let mut quote = c == '"';
        while let Some(&(j, d)) = chars.peek() {
            if !quote && depth == 0 && (d.is_whitespace() || d == ',') {
                break;
            }
            chars.next();
            end = j + d.len_utf8();
            match d {
                '"' => quote = !quote,
                '(' if !quote => depth += 1,
                ')' if !quote => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        words.push(src[i..end].to_string());
    }
    let mut k = 0;
    while k < words.len() {
        let w = &words[k];
        if let Some(v) = w.strip_prefix("timeformat=") {
            timeformat = v.trim_matches('"').to_string();
        } else if let Some(open) = w.find('(') {
            let func = w[..open].to_ascii_lowercase();
            if !FUNCS.contains(&func.as_str()) || !w.ends_with(')') {
                return None;
            }
            let field = w[open + 1..w.len() - 1]
                .trim()
                .trim_matches('"')
                .to_string();
            let alias = match words.get(k + 1) {
                Some(a) if a.eq_ignore_ascii_case("as") => {
                    k += 2;
                    Some(words.get(k)?.trim_matches('"').to_string())
                }
                _ => None,
            };
            items.push((func, field, alias));
        } else {
            return None;
        }
        k += 1;
    }
    (!items.is_empty()).then_some(COp::Convert { timeformat, items })
}

/// Applies one `convert` function to a value; `None` leaves it as is.
fn convert_value(func: &str, v: &str, timeformat: &str) -> Option<String> {
    match func {
        "ctime" => {
            let t = parse_num(v)?;
            let d = chrono::DateTime::from_timestamp(t.floor() as i64, 0)?;
            let items: Vec<chrono::format::Item> =
                chrono::format::StrftimeItems::new(timeformat).collect();
            if items
                .iter()
                .any(|i| matches!(i, chrono::format::Item::Error))
            {
                return None;
            }
            let mut out = String::new();
            std::fmt::Write::write_fmt(
                &mut out,
                format_args!("{}", d.format_with_items(items.into_iter())),
            )
            .ok()?;
            Some(out)
        }
        "mktime" => chrono::NaiveDateTime::parse_from_str(v, timeformat)
            .ok()
            .map(|d| d.and_utc().timestamp().to_string()),
        "num" | "auto" => parse_num(&v.replace(',', "")).map(fmt_num),
        "rmcomma" => Some(v.replace(',', "")),
        "rmunit" => {
            let end = v
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
                .unwrap_or(v.len());
            parse_num(&v[..end]).map(fmt_num)
        }
        "dur2sec" => {
            // [D+]HH:MM:SS
            let (days, hms) = match v.split_once('+') {
                Some((d, rest)) => (parse_num(d)?, rest),
                None => (0.0, v),
            };
            let mut secs = 0.0;
            for part in hms.split(':') {
                secs = secs * 60.0 + parse_num(part)?;
            }
            Some(fmt_num(days * 86_400.0 + secs))
        }
        "memk" => {
            let (num, unit) =
                v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
            let n = parse_num(num)?;
            let m = match unit.to_ascii_lowercase().as_str() {
                "" | "k" => 1.0,
                "m" => 1024.0,
                "g" => 1024.0 * 1024.0,
                _ => return None,
            };
            Some(fmt_num(n * m))
        }
        "mstime" => {
            let (m, s) = v.split_once(':').unwrap_or(("0", v));
            Some(fmt_num(parse_num(m)? * 60.0 + parse_num(s)?))
        }
        _ => None,
    }
}

enum Sed {
    Subst {
        re: String,
        repl: String,
        which: usize,
    },
    Translit(Vec<(char, char)>),
}

/// Parses `s/re/repl/flags` or `y/abc/xyz/` (any delimiter after the
/// command letter; `\delim` escapes it).
fn parse_sed(expr: &str) -> Option<Sed> {
    let mut chars = expr.trim().chars();
    let cmd = chars.next()?;
    let delim = chars.next()?;
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in chars {
        if escaped {
            if c != delim {
                parts.last_mut()?.push('\\');
            }
            parts.last_mut()?.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == delim {
            parts.push(String::new());
        } else {
            parts.last_mut()?.push(c);
        }
    }
    match cmd {
        's' if parts.len() >= 2 => {
            let flags = parts.get(2).cloned().unwrap_or_default();
            let which = if flags.contains('g') {
                0
            } else {
                flags
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap_or(1)
            };
            Some(Sed::Subst {
                re: parts[0].clone(),
                repl: parts[1].clone(),
                which,
            })
        }
        'y' if parts.len() >= 2 => {
            let from: Vec<char> = parts[0].chars().collect();
            let to: Vec<char> = parts[1].chars().collect();
            (from.len() == to.len()).then(|| Sed::Translit(from.into_iter().zip(to).collect()))
        }
        _ => None,
    }
}

/// Reads a CSV lookup: header and rows.
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| e.to_string())?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}

/// What became of one input event.
#[derive(Clone, Debug)]
pub struct Drop {
    /// 0-based stage index.
    pub stage: usize,
    /// The failing predicate, for filters.
    pub failure: Option<Failure>,
    /// A note for other stages.
    pub note: Option<String>,
}

/// The result of running a plan.
pub struct RunResult {
    /// Output rows.
    pub rows: Vec<Rec>,
    /// Output column order.
    pub columns: Vec<String>,
    /// Per event: `None` = contributed to the output; `Some` = dropped.
    /// Empty unless explain was asked for.
    pub drops: Vec<Option<Drop>>,
    /// Number of input events contributing to the output.
    pub matched: usize,
}

/// How many leading stages run on borrowed events, and whether the next
/// stage is a `tstats` whose filter runs there too.
fn lead(plan: &Plan) -> (usize, bool) {
    let n = plan
        .stages
        .iter()
        .take_while(|s| matches!(s.op, COp::Pass | COp::Filter { .. }))
        .count();
    let tstats = matches!(plan.stages.get(n).map(|s| &s.op), Some(COp::Tstats { .. }));
    (n, tstats)
}

/// Tests an event against the leading filters; `Err` names the stage
/// that dropped it (and the failing predicate when `explain`).
fn lead_test(plan: &Plan, e: &dyn Record, ctx: &Ctx, explain: bool) -> Result<(), Box<Drop>> {
    let (n, tstats) = lead(plan);
    for (i, st) in plan.stages[..n].iter().enumerate() {
        if let COp::Filter { expr, logic } = &st.op {
            if !expr.keeps(e, *logic, ctx) {
                return Err(Box::new(Drop {
                    stage: i,
                    failure: if explain {
                        expr.why_not(e, *logic, ctx)
                    } else {
                        None
                    },
                    note: None,
                }));
            }
        }
    }
    if tstats {
        if let Some(COp::Tstats {
            filter: Some(f), ..
        }) = plan.stages.get(n).map(|s| &s.op)
        {
            let view = DataModel(e);
            if !f.keeps(&view, Logic::Search, ctx) {
                return Err(Box::new(Drop {
                    stage: n,
                    failure: if explain {
                        f.why_not(&view, Logic::Search, ctx)
                    } else {
                        None
                    },
                    note: None,
                }));
            }
        }
    }
    Ok(())
}

/// The field-name patterns the stages from `start` on can read before
/// rows are replaced (`stats`) or narrowed (`table`/`fields`); `None`
/// when every field may be needed (rows reach the output unprojected, or
/// a stage reads fields it does not name).
fn needed_fields(plan: &Plan, start: usize) -> Option<Vec<String>> {
    let mut need: Vec<String> = vec!["_time".to_string()];
    for st in plan.stages.get(start..)? {
        match &st.op {
            COp::Pass | COp::Head(_) | COp::Project { keep: false, .. } => {}
            COp::Filter { expr, .. } => expr_fields(expr, &mut need)?,
            COp::Eval(assign) => {
                for (_, e) in assign {
                    scalar_fields(e, &mut need)?;
                }
            }
            COp::Project {
                fields,
                keep: true,
                keep_internal,
            } => {
                need.extend(fields.iter().cloned());
                if *keep_internal {
                    need.push("_*".to_string());
                }
                return Some(need);
            }
            COp::Rename(pairs) => need.extend(pairs.iter().map(|(f, _)| f.clone())),
            COp::Bin { field, .. } => need.push(field.clone()),
            COp::Stats { mode, aggs, by } => {
                need.extend(by.iter().cloned());
                need.extend(aggs.iter().filter_map(|a| a.field.clone()));
                if *mode == StatsMode::Stats {
                    return Some(need);
                }
            }
            COp::Dedup { fields, .. } => need.extend(fields.iter().cloned()),
            COp::Sort { keys, .. } => need.extend(keys.iter().map(|k| k.field.clone())),
            COp::Extract { field, .. } | COp::Sed { field, .. } | COp::Translit { field, .. } => {
                need.push(field.clone())
            }
            COp::Fillnull { fields, .. } if !fields.is_empty() => {
                need.extend(fields.iter().cloned())
            }
            COp::MvExpand(field) => need.push(field.clone()),
            COp::Convert { items, .. } => need.extend(items.iter().map(|(_, f, _)| f.clone())),
            COp::Lookup { inputs, .. } => need.extend(inputs.iter().map(|(_, f)| f.clone())),
            COp::Fillnull { .. } | COp::Tstats { .. } | COp::Union { .. } | COp::Join { .. } => {
                return None
            }
        }
    }
    None
}

/// Adds the fields a condition reads; `None` when it reads fields by
/// computed name.
fn expr_fields(e: &CExpr, need: &mut Vec<String>) -> Option<()> {
    match e {
        CExpr::And(cs) | CExpr::Or(cs) => {
            for c in cs {
                expr_fields(c, need)?;
            }
        }
        CExpr::Not(c) => expr_fields(c, need)?,
        CExpr::Cmp(c) => need.push(c.field.clone()),
        CExpr::Term(_) => need.push("_raw".to_string()),
        CExpr::Scalar(s, _) => scalar_fields(s, need)?,
    }
    Some(())
}

/// Adds the fields a scalar expression reads; `None` when it reads a
/// field by computed name (`column_ifexists`).
fn scalar_fields(e: &CScalar, need: &mut Vec<String>) -> Option<()> {
    match e {
        CScalar::Field(f) => need.push(f.clone()),
        CScalar::Lit(_) => {}
        CScalar::Call { name, .. } if name == "column_ifexists" || name == "columnifexists" => {
            return None
        }
        CScalar::List(xs) | CScalar::Call { args: xs, .. } => {
            for x in xs {
                scalar_fields(x, need)?;
            }
        }
        CScalar::Bin(_, a, b) => {
            scalar_fields(a, need)?;
            scalar_fields(b, need)?;
        }
        CScalar::Un(_, a) => scalar_fields(a, need)?,
    }
    Some(())
}

/// Every filter that runs on borrowed events (the leading filters and a
/// leading `tstats` filter), for literal pre-selection.
pub fn lead_filters(plan: &Plan) -> Vec<&CExpr> {
    let (n, tstats) = lead(plan);
    let mut out: Vec<&CExpr> = plan.stages[..n]
        .iter()
        .filter_map(|s| match &s.op {
            COp::Filter { expr, .. } => Some(expr),
            _ => None,
        })
        .collect();
    if tstats {
        if let Some(COp::Tstats {
            filter: Some(f), ..
        }) = plan.stages.get(n).map(|s| &s.op)
        {
            out.push(f);
        }
    }
    out
}

/// Runs a plan over `events`. `candidates`, when given, lists the only
/// events that can pass the leading filters (pre-selection); the others
/// are treated as dropped by the first filter. `atoms`, when given, holds
/// each event's pre-selection atoms for the leaves to consult.
pub fn run(
    plan: &Plan,
    events: &[Event],
    candidates: Option<&[u32]>,
    atoms: Option<&[Bits]>,
    ctx: &Ctx,
    explain: bool,
) -> RunResult {
    let (n_lead, tstats) = lead(plan);
    let mut drops: Vec<Option<Drop>> = if explain {
        vec![None; events.len()]
    } else {
        Vec::new()
    };

    // Leading filters on borrowed events, in parallel.
    let kept: Vec<u32> = if explain || candidates.is_none() {
        let verdicts: Vec<Result<(), Box<Drop>>> = events
            .par_iter()
            .with_min_len(256)
            .map(|e| lead_test(plan, e as &dyn Record, ctx, explain))
            .collect();
        let mut kept = Vec::new();
        for (i, v) in verdicts.into_iter().enumerate() {
            match v {
                Ok(()) => kept.push(i as u32),
                Err(d) if explain => drops[i] = Some(*d),
                Err(_) => {}
            }
        }
        kept
    } else {
        let cands = candidates.unwrap_or(&[]);
        cands
            .iter()
            .copied()
            .filter(|&i| {
                let Some(e) = events.get(i as usize) else {
                    return false;
                };
                match atoms.and_then(|a| a.get(i as usize)) {
                    Some(b) => lead_test(plan, &Scanned(e, b), ctx, false).is_ok(),
                    None => lead_test(plan, e, ctx, false).is_ok(),
                }
            })
            .collect()
    };

    // Copy only the fields the rest of the pipeline can read: most of an
    // event's fields (and its raw text) are dropped by a later `table` or
    // `stats` anyway.
    let keep: Option<Vec<String>> = if tstats {
        None
    } else {
        needed_fields(plan, n_lead)
    };
    let (keep_exact, keep_globs): (HashSet<&str>, Vec<&str>) = match &keep {
        Some(pats) => (
            pats.iter()
                .filter(|p| !p.contains('*'))
                .map(String::as_str)
                .collect(),
            pats.iter()
                .filter(|p| p.contains('*'))
                .map(String::as_str)
                .collect(),
        ),
        None => (HashSet::new(), Vec::new()),
    };
    let no_input = matches!(
        plan.stages.get(n_lead).map(|s| &s.op),
        Some(COp::Union {
            include_input: false,
            ..
        })
    );
    let mut rows: Vec<Rec> = kept
        .iter()
        .filter(|_| !no_input)
        .map(|&i| {
            let e = &events[i as usize];
            match keep {
                None => Rec::from_event(e, i),
                Some(_) => {
                    let wanted = |k: &str| {
                        keep_exact.contains(k) || keep_globs.iter().any(|p| glob_name(p, k))
                    };
                    let mut fields: BTreeMap<String, Vec<String>> = e
                        .fields
                        .iter()
                        .filter(|(k, _)| wanted(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if wanted("_raw") {
                        fields.insert("_raw".to_string(), vec![e.raw.clone()]);
                    }
                    Rec {
                        fields,
                        src: vec![i],
                    }
                }
            }
        })
        .collect();
    let mut columns: Vec<String> = Vec::new();

    for (si, st) in plan.stages.iter().enumerate().skip(n_lead) {
        let before: Option<HashSet<u32>> =
            explain.then(|| rows.iter().flat_map(|r| r.src.iter().copied()).collect());
        let mut failures: Vec<(Vec<u32>, Option<Failure>)> = Vec::new();
        rows = match &st.op {
            COp::Pass => rows,
            COp::Filter { expr, logic } => {
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if expr.keeps(&r, *logic, ctx) {
                        out.push(r);
                    } else if explain {
                        failures.push((r.src.clone(), expr.why_not(&r, *logic, ctx)));
                    }
                }
                out
            }
            COp::Tstats {
                filter,
                aggs,
                by,
                span,
            } => {
                let mut rows = rows;
                if !(tstats && si == n_lead) {
                    if let Some(f) = filter {
                        rows.retain(|r| f.keeps(&DataModel(r), Logic::Search, ctx));
                    }
                }
                // Copy data-model fields under their prefixed names.
                let mut wanted: Vec<&String> = by.iter().collect();
                wanted.extend(aggs.iter().filter_map(|a| a.field.as_ref()));
                for r in &mut rows {
                    for f in &wanted {
                        if r.values(f).is_none() {
                            if let Some(v) = DataModel(&*r).values(f).map(<[String]>::to_vec) {
                                r.fields.insert((*f).clone(), v);
                            }
                        }
                    }
                    if let Some(s) = span {
                        bin_field(r, "_time", *s, None);
                    }
                }
                let (out, cols) = stats::run(StatsMode::Stats, aggs, by, rows, plan.lang, &st.kind);
                columns = cols;
                out
            }
            COp::Eval(assign) => {
                for r in &mut rows {
                    for (name, e) in assign {
                        let v = e.eval(&*r, ctx);
                        r.set(name, v.into_strings());
                    }
                }
                for (name, _) in assign {
                    if !columns.is_empty() && !columns.contains(name) {
                        columns.push(name.clone());
                    }
                }
                rows
            }
            COp::Project {
                fields,
                keep,
                keep_internal,
            } => {
                if *keep {
                    // Patterns expand over the names present, sorted; plain
                    // names are kept in the order written.
                    let names: std::collections::BTreeSet<&str> =
                        if fields.iter().any(|f| f.contains('*')) {
                            rows.iter()
                                .flat_map(|r| r.fields.keys().map(String::as_str))
                                .collect()
                        } else {
                            std::collections::BTreeSet::new()
                        };
                    let mut order: Vec<String> = Vec::new();
                    let mut kept: HashSet<String> = HashSet::new();
                    for pat in fields {
                        if pat.contains('*') {
                            for n in &names {
                                if glob_name(pat, n) && kept.insert(n.to_string()) {
                                    order.push(n.to_string());
                                }
                            }
                        } else if kept.insert(pat.clone()) {
                            order.push(pat.clone());
                        }
                    }
                    for r in &mut rows {
                        r.fields.retain(|k, _| {
                            kept.contains(k) || (*keep_internal && k.starts_with('_'))
                        });
                    }
                    columns = order;
                } else {
                    for r in &mut rows {
                        r.fields
                            .retain(|k, _| !fields.iter().any(|p| glob_name(p, k)));
                    }
                    columns.retain(|k| !fields.iter().any(|p| glob_name(p, k)));
                }
                rows
            }
            COp::Rename(pairs) => {
                for r in &mut rows {
                    rename(r, pairs);
                }
                for c in &mut columns {
                    for (from, to) in pairs {
                        if let Some(caps) = glob_captures(from, c) {
                            *c = glob_fill(to, &caps);
                            break;
                        }
                    }
                }
                rows
            }
            COp::Bin { field, span, alias } => {
                for r in &mut rows {
                    bin_field(r, field, *span, alias.as_deref());
                }
                rows
            }
            COp::Stats { mode, aggs, by } => {
                let (out, cols) = stats::run(*mode, aggs, by, rows, plan.lang, &st.kind);
                if *mode == StatsMode::Stats {
                    columns = cols;
                } else if !columns.is_empty() {
                    for c in cols.into_iter().skip(by.len()) {
                        if !columns.contains(&c) {
                            columns.push(c);
                        }
                    }
                }
                out
            }
            COp::Dedup { fields, keep_empty } => {
                let mut seen = HashSet::new();
                rows.into_iter()
                    .filter(|r| {
                        let key: Option<Vec<Vec<String>>> = fields
                            .iter()
                            .map(|f| r.values(f).map(<[String]>::to_vec))
                            .collect();
                        match key {
                            Some(k) => seen.insert(k),
                            None => *keep_empty,
                        }
                    })
                    .collect()
            }
            COp::Sort { keys, limit } => {
                rows.sort_by(|a, b| {
                    for k in keys {
                        let x = a.values(&k.field).and_then(|v| v.first());
                        let y = b.values(&k.field).and_then(|v| v.first());
                        let o = match (x, y) {
                            (None, None) => std::cmp::Ordering::Equal,
                            // Rows lacking the key go last either way.
                            (None, Some(_)) => return std::cmp::Ordering::Greater,
                            (Some(_), None) => return std::cmp::Ordering::Less,
                            (Some(x), Some(y)) => {
                                let o = compare(x, y, false);
                                if k.descending {
                                    o.reverse()
                                } else {
                                    o
                                }
                            }
                        };
                        if o.is_ne() {
                            return o;
                        }
                    }
                    std::cmp::Ordering::Equal
                });
                if *limit > 0 {
                    rows.truncate(*limit);
                }
                rows
            }
            COp::Head(n) => {
                rows.truncate(*n);
                rows
            }
            COp::Extract {
                field,
                rx,
                max_match,
            } => {
                let names = rx.names();
                for r in &mut rows {
                    extract(r, field, rx, &names, *max_match);
                }
                rows
            }
            COp::Sed {
                field,
                rx,
                repl,
                which,
            } => {
                for r in &mut rows {
                    if let Some(vals) = r.fields.get_mut(field) {
                        for v in vals.iter_mut() {
                            if let Ok(s) = rx.replace(v, repl, *which) {
                                *v = s;
                            }
                        }
                    }
                }
                rows
            }
            COp::Translit { field, map } => {
                for r in &mut rows {
                    if let Some(vals) = r.fields.get_mut(field) {
                        for v in vals.iter_mut() {
                            *v = v
                                .chars()
                                .map(|c| map.iter().find(|(a, _)| *a == c).map_or(c, |(_, b)| *b))
                                .collect();
                        }
                    }
                }
                rows
            }
            COp::Lookup {
                header,
                rows: table,
                inputs,
                outputs,
            } => {
                for r in &mut rows {
                    lookup(r, header, table, inputs, outputs);
                }
                rows
            }
            COp::Fillnull { value, fields } => {
                let targets: Vec<String> = if fields.is_empty() {
                    rows.iter()
                        .flat_map(|r| r.fields.keys().cloned())
                        .filter(|k| !k.starts_with('_'))
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect()
                } else {
                    fields.clone()
                };
                for r in &mut rows {
                    for f in &targets {
                        if r.values(f).is_none() {
                            r.fields.insert(f.clone(), vec![value.clone()]);
                        }
                    }
                }
                for f in &targets {
                    if !columns.is_empty() && !columns.contains(f) {
                        columns.push(f.clone());
                    }
                }
                rows
            }
            COp::Convert { timeformat, items } => {
                for r in &mut rows {
                    for (func, pat, alias) in items {
                        let names: Vec<String> = if pat.contains('*') {
                            r.fields
                                .keys()
                                .filter(|k| glob_name(pat, k))
                                .cloned()
                                .collect()
                        } else {
                            vec![pat.clone()]
                        };
                        for name in names {
                            let Some(vals) = r.fields.get(&name).cloned() else {
                                continue;
                            };
                            let out: Vec<String> = vals
                                .iter()
                                .map(|v| {
                                    convert_value(func, v, timeformat).unwrap_or_else(|| v.clone())
                                })
                                .collect();
                            let target = alias.clone().unwrap_or(name);
                            r.fields.insert(target, out);
                        }
                    }
                }
                rows
            }
            COp::Union {
                include_input,
                subs,
            } => {
                let mut out = if *include_input { rows } else { Vec::new() };
                for sub in subs {
                    out.extend(run(sub, events, None, None, ctx, false).rows);
                }
                out
            }
            COp::Join { kind, keys, sub } => {
                let right = run(sub, events, None, None, ctx, false).rows;
                join(*kind, keys, rows, right)
            }
            COp::MvExpand(field) => {
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    match r.values(field).map(<[String]>::to_vec) {
                        Some(vals) if vals.len() > 1 => {
                            for v in vals {
                                let mut c = r.clone();
                                c.fields.insert(field.clone(), vec![v]);
                                out.push(c);
                            }
                        }
                        _ => out.push(r),
                    }
                }
                out
            }
        };
        if explain {
            for (src, failure) in failures {
                for e in src {
                    let slot = &mut drops[e as usize];
                    if slot.is_none() {
                        *slot = Some(Drop {
                            stage: si,
                            failure: failure.clone(),
                            note: None,
                        });
                    }
                }
            }
            if let Some(before) = before {
                let after: HashSet<u32> = rows.iter().flat_map(|r| r.src.iter().copied()).collect();
                for e in before.difference(&after) {
                    let slot = &mut drops[*e as usize];
                    if slot.is_none() {
                        *slot = Some(Drop {
                            stage: si,
                            failure: None,
                            note: Some(drop_note(&st.op)),
                        });
                    }
                }
            }
        }
    }

    let mut contributing: Vec<u32> = rows.iter().flat_map(|r| r.src.iter().copied()).collect();
    contributing.sort_unstable();
    contributing.dedup();
    if explain {
        // Events kept by the leading filters but in no output row were
        // removed somewhere; events never kept have their drop already.
        let set: HashSet<u32> = contributing.iter().copied().collect();
        // A subquery (join, union) may bring back an event the main
        // pipeline dropped: it contributes, so it passed.
        for &e in &contributing {
            if let Some(d) = drops.get_mut(e as usize) {
                *d = None;
            }
        }
        for (i, d) in drops.iter_mut().enumerate() {
            if d.is_none() && !set.contains(&(i as u32)) {
                *d = Some(Drop {
                    stage: plan.stages.len().saturating_sub(1),
                    failure: None,
                    note: Some("in no output row".to_string()),
                });
            }
        }
    }
    if columns.is_empty() {
        columns = rows
            .iter()
            .flat_map(|r| r.fields.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    RunResult {
        rows,
        columns,
        drops,
        matched: contributing.len(),
    }
}

fn drop_note(op: &COp) -> String {
    match op {
        COp::Stats { .. } | COp::Tstats { .. } => "no group: a BY field is null".to_string(),
        COp::Dedup { .. } => {
            "duplicate of an earlier row (or a compared field is null)".to_string()
        }
        COp::Sort { .. } | COp::Head(_) => "beyond the row limit".to_string(),
        _ => "removed".to_string(),
    }
}

/// Floors a field's values to `span`, writing to `alias` or in place.
fn bin_field(r: &mut Rec, field: &str, span: f64, alias: Option<&str>) {
    let Some(vals) = r.values(field).map(<[String]>::to_vec) else {
        return;
    };
    let out: Vec<String> = vals
        .iter()
        .map(|v| match parse_num(v) {
            Some(x) => fmt_num((x / span).floor() * span),
            None => match parse_time(v) {
                Some(t) => fmt_time((t / span).floor() * span),
                None => v.clone(),
            },
        })
        .collect();
    r.fields.insert(alias.unwrap_or(field).to_string(), out);
}

/// Renames fields per `(from, to)` pairs (wildcards allowed; the target
/// is overwritten).
fn rename(r: &mut Rec, pairs: &[(String, String)]) {
    for (from, to) in pairs {
        let names: Vec<String> = r.fields.keys().cloned().collect();
        for n in names {
            if let Some(caps) = glob_captures(from, &n) {
                let target = glob_fill(to, &caps);
                if target != n {
                    if let Some(v) = r.fields.remove(&n) {
                        r.fields.insert(target, v);
                    }
                }
            }
        }
    }
}

/// `rex`: named groups of up to `max` matches become fields.
fn extract(r: &mut Rec, field: &str, rx: &Rx, names: &[Option<String>], max: usize) {
    let Some(vals) = r.values(field).map(<[String]>::to_vec) else {
        return;
    };
    let mut found: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut count = 0;
    for v in &vals {
        let limit = if max == 0 { 0 } else { max - count };
        let Ok(all) = rx.captures(v, limit) else {
            continue;
        };
        for groups in all {
            count += 1;
            for (i, g) in groups.iter().enumerate() {
                if let (Some(Some(name)), Some((a, b))) = (names.get(i), g) {
                    found
                        .entry(name.as_str())
                        .or_default()
                        .push(v[*a..*b].to_string());
                }
            }
        }
        if max != 0 && count >= max {
            break;
        }
    }
    for (name, values) in found {
        r.fields.insert(name.to_string(), values);
    }
}

/// Enriches a row from a lookup table.
fn lookup(
    r: &mut Rec,
    header: &[String],
    table: &[Vec<String>],
    inputs: &[(String, String)],
    outputs: &[(String, String)],
) {
    let col = |name: &str| header.iter().position(|h| h == name);
    let mut hits: Vec<&Vec<String>> = Vec::new();
    'rows: for row in table {
        for (lf, ef) in inputs {
            let Some(c) = col(lf) else { return };
            let cell = row.get(c).map_or("", String::as_str);
            if !r.values(ef).is_some_and(|vs| vs.iter().any(|v| v == cell)) {
                continue 'rows;
            }
        }
        hits.push(row);
    }
    if hits.is_empty() {
        return;
    }
    let outs: Vec<(String, String)> = if outputs.is_empty() {
        header
            .iter()
            .filter(|h| !inputs.iter().any(|(lf, _)| lf == *h))
            .map(|h| (h.clone(), h.clone()))
            .collect()
    } else {
        outputs.to_vec()
    };
    for (lf, ef) in outs {
        let Some(c) = col(&lf) else { continue };
        let mut vals: Vec<String> = Vec::new();
        for h in &hits {
            if let Some(v) = h.get(c).filter(|v| !v.is_empty()) {
                if !vals.contains(v) {
                    vals.push(v.clone());
                }
            }
        }
        r.set(&ef, vals);
    }
}
