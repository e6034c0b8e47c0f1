//! Aggregation: SPL `stats`/`eventstats`/`streamstats`/`tstats`, KQL
//! `summarize`/`count`/`distinct`, SQL `GROUP BY`.
//!
//! Choices where SEMANTICS.md marks behaviour as observed (obs):
//! - `BY` drops rows where any group-by field is null; a multivalue BY
//!   field puts the row in one group per value;
//! - groups come out sorted by their BY values (byte order);
//! - `values()` is distinct and sorted in byte order, `list()` keeps
//!   input order; `min`/`max` compare numerically when every value is a
//!   number, otherwise as strings, and return the value as written;
//! - `earliest`/`latest` pick by `_time`, the first row on ties;
//! - with no rows and no BY, one row is produced when a `count`/`dc`
//!   aggregate is asked for (`count` = 0), none otherwise;
//! - a wildcard aggregate field (`values(*)`) covers every non-internal
//!   field (not starting with `_`) seen in the input rows except the BY
//!   fields.

use std::collections::{BTreeMap, BTreeSet};

use crate::ir::{Aggregate, StatsMode};
use crate::rule::Language;

use super::row::{glob_captures, glob_fill, Rec, Record};
use super::value::{compare, fmt_num, parse_num, parse_time};

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// Rows (no field) or values (with a field).
    Count,
    /// Distinct values.
    Dc,
    /// Distinct values, sorted.
    Values,
    /// All values in order.
    List,
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Mean of numeric values.
    Avg,
    /// Sum of numeric values.
    Sum,
    /// Value at the smallest `_time`.
    Earliest,
    /// Value at the largest `_time`.
    Latest,
    /// First value in row order.
    First,
    /// Last value in row order.
    Last,
    /// Max − min.
    Range,
    /// Middle value.
    Median,
    /// Most frequent value.
    Mode,
    /// The smallest `_time` of rows having the field.
    EarliestTime,
    /// The largest `_time` of rows having the field.
    LatestTime,
    /// Sample standard deviation.
    Stdev,
    /// Population standard deviation.
    StdevP,
    /// Sample variance.
    Var,
    /// Population variance.
    VarP,
    /// KQL `arg_max(x, *)`: the row with the largest `x` (its columns are
    /// copied into the output row).
    ArgMax,
    /// KQL `arg_min(x, *)`.
    ArgMin,
}

impl Func {
    /// Maps a function name of any language to an aggregate.
    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "count" | "c" | "count_" => Func::Count,
            "dc" | "distinct_count" | "dcount" | "count_distinct" => Func::Dc,
            "values" | "make_set" | "makeset" => Func::Values,
            "list" | "make_list" | "makelist" | "array_agg" => Func::List,
            "min" => Func::Min,
            "max" => Func::Max,
            "avg" | "mean" => Func::Avg,
            "sum" => Func::Sum,
            "earliest" => Func::Earliest,
            "latest" => Func::Latest,
            "first" | "any" | "take_any" => Func::First,
            "last" => Func::Last,
            "range" => Func::Range,
            "median" => Func::Median,
            "mode" => Func::Mode,
            "earliest_time" => Func::EarliestTime,
            "latest_time" => Func::LatestTime,
            "stdev" => Func::Stdev,
            "stdevp" => Func::StdevP,
            "var" | "variance" => Func::Var,
            "varp" | "variancep" => Func::VarP,
            "arg_max" => Func::ArgMax,
            "arg_min" => Func::ArgMin,
            _ => return None,
        })
    }
}

/// A compiled aggregate.
#[derive(Clone, Debug)]
pub struct CAgg {
    /// The function.
    pub func: Func,
    /// The name as written (for default output names).
    pub name: String,
    /// The field, possibly a wildcard pattern; `None` = rows.
    pub field: Option<String>,
    /// The output name (may contain `*`).
    pub alias: Option<String>,
}

/// Compiles aggregates; an unknown function is an error naming it.
pub fn compile(aggs: &[Aggregate]) -> Result<Vec<CAgg>, String> {
    aggs.iter()
        .map(|a| {
            let name = a.func.to_ascii_lowercase();
            let func = Func::from_name(&name).ok_or_else(|| format!("aggregate {name}()"))?;
            Ok(CAgg {
                func,
                name,
                field: a
                    .field
                    .clone()
                    .filter(|f| !(func == Func::Count && f == "*")),
                alias: a.alias.clone(),
            })
        })
        .collect()
}

/// One aggregate resolved to a concrete input field and output name.
struct Concrete<'a> {
    agg: &'a CAgg,
    field: Option<String>,
    out: String,
}

/// The default output name of `func(field)` in `lang`.
fn default_name(agg: &CAgg, field: Option<&str>, lang: Language, kind: &str) -> String {
    if let (Func::ArgMax | Func::ArgMin, Some(f)) = (agg.func, field) {
        return f.to_string();
    }
    match lang {
        Language::Kusto => {
            if kind == "count" {
                return "Count".to_string();
            }
            let stem = match agg.name.as_str() {
                "make_set" | "makeset" => "set",
                "make_list" | "makelist" => "list",
                "take_any" => "any",
                other => other,
            };
            match field {
                None => format!("{stem}_"),
                Some(f) => format!("{stem}_{f}"),
            }
        }
        _ => match field {
            None => agg.name.clone(),
            Some(f) => format!("{}({f})", agg.name),
        },
    }
}

/// Expands wildcard aggregate fields over the fields seen in `rows`.
fn concrete<'a>(
    aggs: &'a [CAgg],
    rows: &[Rec],
    by: &[String],
    lang: Language,
    kind: &str,
) -> Vec<Concrete<'a>> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    if aggs
        .iter()
        .any(|a| a.field.as_deref().is_some_and(|f| f.contains('*')))
    {
        for r in rows {
            seen.extend(r.fields.keys().map(String::as_str));
        }
    }
    let mut out = Vec::new();
    for agg in aggs {
        match agg.field.as_deref() {
            Some(pat) if pat.contains('*') => {
                for name in &seen {
                    if by.iter().any(|b| b == name)
                        || (name.starts_with('_') && !pat.starts_with('_'))
                    {
                        continue;
                    }
                    if let Some(caps) = glob_captures(pat, name) {
                        let out_name = match &agg.alias {
                            Some(a) if a.contains('*') => glob_fill(a, &caps),
                            Some(a) => a.clone(),
                            None => default_name(agg, Some(name), lang, kind),
                        };
                        out.push(Concrete {
                            agg,
                            field: Some(name.to_string()),
                            out: out_name,
                        });
                    }
                }
            }
            f => out.push(Concrete {
                agg,
                field: f.map(str::to_string),
                out: agg
                    .alias
                    .clone()
                    .unwrap_or_else(|| default_name(agg, f, lang, kind)),
            }),
        }
    }
    out
}

fn time_of(r: &Rec) -> Option<f64> {
    r.values("_time")
        .and_then(|v| v.first())
        .and_then(|t| parse_time(t))
}

/// Computes one aggregate over the rows of a group.
fn compute(c: &Concrete, rows: &[&Rec]) -> Vec<String> {
    let vals = |r: &Rec| -> Vec<String> {
        match &c.field {
            Some(f) => r.values(f).map(<[String]>::to_vec).unwrap_or_default(),
            None => Vec::new(),
        }
    };
    let all: Vec<String> = rows.iter().flat_map(|r| vals(r)).collect();
    let nums: Vec<f64> = all.iter().filter_map(|s| parse_num(s)).collect();
    let all_numeric = !all.is_empty() && nums.len() == all.len();
    let one = |s: String| vec![s];
    match c.agg.func {
        Func::Count => one(match &c.field {
            None => rows.len().to_string(),
            Some(_) => all.len().to_string(),
        }),
        Func::Dc => one(all.iter().collect::<BTreeSet<_>>().len().to_string()),
        Func::Values => all
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        Func::List => all,
        Func::Min | Func::Max => {
            let pick = all.iter().reduce(|a, b| {
                let o = if all_numeric {
                    compare(a, b, false)
                } else {
                    a.cmp(b)
                };
                if (c.agg.func == Func::Min) == o.is_gt() {
                    b
                } else {
                    a
                }
            });
            pick.cloned().into_iter().collect()
        }
        Func::Avg | Func::Sum => {
            if nums.is_empty() {
                return Vec::new();
            }
            let sum: f64 = nums.iter().sum();
            one(fmt_num(if c.agg.func == Func::Sum {
                sum
            } else {
                sum / nums.len() as f64
            }))
        }
        Func::Stdev | Func::StdevP | Func::Var | Func::VarP => {
            let n = nums.len() as f64;
            let sample = matches!(c.agg.func, Func::Stdev | Func::Var);
            if nums.is_empty() || (sample && nums.len() < 2) {
                return Vec::new();
            }
            let mean = nums.iter().sum::<f64>() / n;
            let ss: f64 = nums.iter().map(|x| (x - mean) * (x - mean)).sum();
            let var = ss / if sample { n - 1.0 } else { n };
            one(fmt_num(if matches!(c.agg.func, Func::Var | Func::VarP) {
                var
            } else {
                var.sqrt()
            }))
        }
        Func::ArgMax | Func::ArgMin => arg_best(c, rows).map(&vals).unwrap_or_default(),
        Func::Range => {
            if nums.is_empty() {
                return Vec::new();
            }
            let lo = nums.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = nums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            one(fmt_num(hi - lo))
        }
        Func::Median => {
            let mut sorted = all.clone();
            sorted.sort_by(|a, b| compare(a, b, false));
            sorted
                .get(sorted.len().saturating_sub(1) / 2)
                .cloned()
                .into_iter()
                .collect()
        }
        Func::Mode => {
            let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
            for v in &all {
                *counts.entry(v).or_default() += 1;
            }
            let mut best: Option<(&String, usize)> = None;
            for v in &all {
                let n = counts[v];
                if best.is_none_or(|(_, m)| n > m) {
                    best = Some((v, n));
                }
            }
            best.map(|(v, _)| v.clone()).into_iter().collect()
        }
        Func::First => rows
            .iter()
            .map(|r| vals(r))
            .find(|v| !v.is_empty())
            .unwrap_or_default(),
        Func::Last => rows
            .iter()
            .rev()
            .map(|r| vals(r))
            .find(|v| !v.is_empty())
            .unwrap_or_default(),
        Func::Earliest | Func::Latest | Func::EarliestTime | Func::LatestTime => {
            let mut best: Option<(f64, &Rec)> = None;
            for r in rows {
                if vals(r).is_empty() && c.field.is_some() {
                    continue;
                }
                let Some(t) = time_of(r) else { continue };
                let better = match best {
                    None => true,
                    Some((b, _)) => {
                        if matches!(c.agg.func, Func::Earliest | Func::EarliestTime) {
                            t < b
                        } else {
                            t > b
                        }
                    }
                };
                if better {
                    best = Some((t, r));
                }
            }
            match (best, c.agg.func) {
                (Some((t, _)), Func::EarliestTime | Func::LatestTime) => one(fmt_num(t)),
                (Some((_, r)), _) => vals(r),
                (None, _) => Vec::new(),
            }
        }
    }
}

/// The row with the largest (`ArgMax`) or smallest `ArgMin` value of the
/// aggregate's field; the first on ties.
fn arg_best<'a>(c: &Concrete, rows: &[&'a Rec]) -> Option<&'a Rec> {
    let f = c.field.as_deref()?;
    let mut best: Option<(&'a Rec, &str)> = None;
    for r in rows {
        let Some(v) = r.values(f).and_then(|v| v.first()) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((_, b)) => {
                let o = super::scalar::order(
                    &super::value::Value::Str(v.clone()),
                    &super::value::Value::Str(b.to_string()),
                );
                // Times compare as times: ISO text orders like the time.
                if c.agg.func == Func::ArgMax {
                    o.is_gt()
                } else {
                    o.is_lt()
                }
            }
        };
        if better {
            best = Some((r, v.as_str()));
        }
    }
    best.map(|(r, _)| r)
}

/// The group keys of a row: one per combination of BY values, or none
/// when a BY field is null.
fn keys(r: &Rec, by: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for f in by {
        let Some(vals) = r.values(f) else {
            return Vec::new();
        };
        let mut next = Vec::new();
        for prefix in &out {
            for v in vals {
                let mut k = prefix.clone();
                k.push(v.clone());
                next.push(k);
            }
        }
        out = next;
    }
    out
}

/// Runs a stats stage; returns the rows and the output column order.
pub fn run(
    mode: StatsMode,
    aggs: &[CAgg],
    by: &[String],
    rows: Vec<Rec>,
    lang: Language,
    kind: &str,
) -> (Vec<Rec>, Vec<String>) {
    let cs = concrete(aggs, &rows, by, lang, kind);
    let mut columns: Vec<String> = by.to_vec();
    columns.extend(cs.iter().map(|c| c.out.clone()));
    match mode {
        StatsMode::Stats => {
            let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
            for (i, r) in rows.iter().enumerate() {
                for k in keys(r, by) {
                    groups.entry(k).or_default().push(i);
                }
            }
            let counts = aggs
                .iter()
                .any(|a| matches!(a.func, Func::Count | Func::Dc));
            if groups.is_empty() && by.is_empty() && counts {
                groups.insert(Vec::new(), Vec::new());
            }
            let mut out = Vec::with_capacity(groups.len());
            for (key, idx) in groups {
                let members: Vec<&Rec> = idx.iter().map(|&i| &rows[i]).collect();
                let mut rec = Rec::default();
                for (f, v) in by.iter().zip(key) {
                    rec.fields.insert(f.clone(), vec![v]);
                }
                for c in &cs {
                    if matches!(c.agg.func, Func::ArgMax | Func::ArgMin) {
                        // `arg_max(x, *)`: the winning row's other columns.
                        if let Some(best) = arg_best(c, &members) {
                            for (k, v) in &best.fields {
                                if !by.contains(k) && !rec.fields.contains_key(k) {
                                    rec.fields.insert(k.clone(), v.clone());
                                }
                            }
                        }
                    }
                    rec.set(&c.out, compute(c, &members));
                }
                let mut src: Vec<u32> =
                    members.iter().flat_map(|m| m.src.iter().copied()).collect();
                src.sort_unstable();
                src.dedup();
                rec.src = src;
                out.push(rec);
            }
            (out, columns)
        }
        StatsMode::EventStats => {
            let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
            let row_keys: Vec<Vec<Vec<String>>> = rows.iter().map(|r| keys(r, by)).collect();
            for (i, ks) in row_keys.iter().enumerate() {
                // A row with a multivalue BY field joins only its first group.
                if let Some(k) = ks.first() {
                    groups.entry(k.clone()).or_default().push(i);
                }
            }
            let mut results: BTreeMap<Vec<String>, Vec<(String, Vec<String>)>> = BTreeMap::new();
            for (k, idx) in &groups {
                let members: Vec<&Rec> = idx.iter().map(|&i| &rows[i]).collect();
                results.insert(
                    k.clone(),
                    cs.iter()
                        .map(|c| (c.out.clone(), compute(c, &members)))
                        .collect(),
                );
            }
            let mut out = rows;
            for (r, ks) in out.iter_mut().zip(row_keys) {
                if let Some(vals) = ks.first().and_then(|k| results.get(k)) {
                    for (name, v) in vals {
                        r.set(name, v.clone());
                    }
                }
            }
            (out, Vec::new())
        }
        StatsMode::StreamStats => {
            // TODO(#3): running aggregates are recomputed per row
            // (quadratic in group size); fine for rule-sized inputs.
            let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
            let mut updates = Vec::with_capacity(rows.len());
            for (i, r) in rows.iter().enumerate() {
                let Some(k) = keys(r, by).into_iter().next() else {
                    updates.push(Vec::new());
                    continue;
                };
                let g = groups.entry(k).or_default();
                g.push(i);
                let members: Vec<&Rec> = g.iter().map(|&j| &rows[j]).collect();
                updates.push(
                    cs.iter()
                        .map(|c| (c.out.clone(), compute(c, &members)))
                        .collect(),
                );
            }
            let mut out = rows;
            for (r, u) in out.iter_mut().zip(updates) {
                for (name, v) in u {
                    r.set(&name, v);
                }
            }
            (out, Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, &[&str])], src: u32) -> Rec {
        let mut r = Rec {
            src: vec![src],
            ..Rec::default()
        };
        for (k, vs) in pairs {
            r.fields
                .insert(k.to_string(), vs.iter().map(|s| s.to_string()).collect());
        }
        r
    }

    fn agg(func: &str, field: Option<&str>, alias: Option<&str>) -> Aggregate {
        Aggregate {
            func: func.to_string(),
            field: field.map(str::to_string),
            alias: alias.map(str::to_string),
        }
    }

    #[test]
    fn trap_11_by_drops_null_keys() {
        let rows = vec![
            rec(&[("user", &["a"])], 0),
            rec(&[("user", &["b"])], 1),
            rec(&[("host", &["h"])], 2),
        ];
        let aggs = compile(&[agg("count", None, None)]).unwrap();
        let (out, cols) = run(
            StatsMode::Stats,
            &aggs,
            &["user".into()],
            rows,
            Language::Splunk,
            "stats",
        );
        assert_eq!(cols, vec!["user", "count"]);
        assert_eq!(out.len(), 2);
        let total: usize = out
            .iter()
            .map(|r| r.fields["count"][0].parse::<usize>().unwrap())
            .sum();
        assert_eq!(total, 2);
        assert_eq!(out[0].src, vec![0]);
    }

    #[test]
    fn values_star_as_star_and_sorting() {
        let rows = vec![
            rec(&[("host", &["h"]), ("p", &["b"]), ("_raw", &["x"])], 0),
            rec(&[("host", &["h"]), ("p", &["a", "b"])], 1),
        ];
        let aggs = compile(&[agg("values", Some("*"), Some("*"))]).unwrap();
        let (out, _) = run(
            StatsMode::Stats,
            &aggs,
            &["host".into()],
            rows,
            Language::Splunk,
            "stats",
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].fields["p"], vec!["a", "b"]);
        assert!(!out[0].fields.contains_key("_raw"));
        assert_eq!(out[0].src, vec![0, 1]);
    }

    #[test]
    fn numeric_min_max_avg_and_names() {
        let rows = vec![rec(&[("n", &["10"])], 0), rec(&[("n", &["9"])], 1)];
        let aggs = compile(&[
            agg("min", Some("n"), None),
            agg("max", Some("n"), None),
            agg("avg", Some("n"), Some("mean")),
            agg("dc", Some("n"), None),
        ])
        .unwrap();
        let (out, _) = run(
            StatsMode::Stats,
            &aggs,
            &[],
            rows,
            Language::Splunk,
            "stats",
        );
        let r = &out[0].fields;
        assert_eq!(r["min(n)"], vec!["9"]);
        assert_eq!(r["max(n)"], vec!["10"]);
        assert_eq!(r["mean"], vec!["9.5"]);
        assert_eq!(r["dc(n)"], vec!["2"]);
    }

    #[test]
    fn empty_input_counts_zero() {
        let aggs = compile(&[agg("count", None, None)]).unwrap();
        let (out, _) = run(
            StatsMode::Stats,
            &aggs,
            &[],
            Vec::new(),
            Language::Splunk,
            "stats",
        );
        assert_eq!(out[0].fields["count"], vec!["0"]);
        let aggs = compile(&[agg("count", None, None)]).unwrap();
        let (out, _) = run(
            StatsMode::Stats,
            &aggs,
            &[],
            Vec::new(),
            Language::Kusto,
            "summarize",
        );
        assert_eq!(out[0].fields["count_"], vec!["0"]);
        let aggs = compile(&[agg("values", Some("x"), None)]).unwrap();
        let (out, _) = run(
            StatsMode::Stats,
            &aggs,
            &[],
            Vec::new(),
            Language::Splunk,
            "stats",
        );
        assert!(out.is_empty());
    }

    #[test]
    fn earliest_latest_by_time() {
        let rows = vec![
            rec(&[("_time", &["20"]), ("u", &["late"])], 0),
            rec(&[("_time", &["10"]), ("u", &["early"])], 1),
        ];
        let aggs = compile(&[
            agg("earliest", Some("u"), None),
            agg("latest", Some("u"), None),
            agg("first", Some("u"), None),
        ])
        .unwrap();
        let (out, _) = run(
            StatsMode::Stats,
            &aggs,
            &[],
            rows,
            Language::Splunk,
            "stats",
        );
        assert_eq!(out[0].fields["earliest(u)"], vec!["early"]);
        assert_eq!(out[0].fields["latest(u)"], vec!["late"]);
        assert_eq!(out[0].fields["first(u)"], vec!["late"]);
    }

    #[test]
    fn eventstats_and_streamstats_keep_rows() {
        let rows = vec![
            rec(&[("h", &["a"])], 0),
            rec(&[("h", &["a"])], 1),
            rec(&[("h", &["b"])], 2),
        ];
        let aggs = compile(&[agg("count", None, Some("n"))]).unwrap();
        let (out, _) = run(
            StatsMode::EventStats,
            &aggs,
            &["h".into()],
            rows.clone(),
            Language::Splunk,
            "eventstats",
        );
        let n: Vec<&str> = out.iter().map(|r| r.fields["n"][0].as_str()).collect();
        assert_eq!(n, vec!["2", "2", "1"]);
        let (out, _) = run(
            StatsMode::StreamStats,
            &aggs,
            &["h".into()],
            rows,
            Language::Splunk,
            "streamstats",
        );
        let n: Vec<&str> = out.iter().map(|r| r.fields["n"][0].as_str()).collect();
        assert_eq!(n, vec!["1", "2", "1"]);
    }

    #[test]
    fn arg_max_copies_the_winning_row_and_stdev() {
        let rows = vec![
            rec(
                &[
                    ("h", &["a"]),
                    ("t", &["2024-01-01T00:00:00Z"]),
                    ("x", &["old"]),
                    ("n", &["2"]),
                ],
                0,
            ),
            rec(
                &[
                    ("h", &["a"]),
                    ("t", &["2024-01-02T00:00:00Z"]),
                    ("x", &["new"]),
                    ("n", &["4"]),
                ],
                1,
            ),
        ];
        let aggs = compile(&[
            agg("arg_max", Some("t"), None),
            agg("stdev", Some("n"), None),
        ])
        .unwrap();
        let (out, _) = run(
            StatsMode::Stats,
            &aggs,
            &["h".into()],
            rows,
            Language::Kusto,
            "summarize",
        );
        assert_eq!(out[0].fields["x"], vec!["new"]);
        assert_eq!(out[0].fields["t"], vec!["2024-01-02T00:00:00Z"]);
        let sd: f64 = out[0].fields["stdev_n"][0].parse().unwrap();
        assert!((sd - 2f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn unknown_aggregate_is_an_error() {
        assert!(compile(&[agg("percentile95", Some("x"), None)]).is_err());
    }
}
