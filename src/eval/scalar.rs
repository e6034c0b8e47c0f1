//! Scalar expressions: SPL `eval`/`where` functions, KQL `extend`
//! functions, Snowflake SQL functions, with null propagation and
//! multivalue semantics.
//!
//! Expressions are compiled once per rule: function names are checked
//! (an unknown function is a reason the rule is not evaluable, never a
//! silent null), and regex arguments given as literals are compiled.
//!
//! Choices where SEMANTICS.md marks behaviour as observed (obs):
//! - comparisons on a multivalue field are true if any value satisfies them;
//! - `lower()`/`upper()` act on each value of a multivalue field;
//! - string `=` is case-sensitive in all three languages (SPL `where`,
//!   KQL `==`, SQL `=`), and `*` in it is literal;
//! - `.` (SPL concatenation) and arithmetic with a null give null, while
//!   KQL `strcat` treats a null argument as "".

use std::cmp::Ordering;

use crate::ir::{BinOp, Scalar, UnaryOp};
use crate::rule::Language;

use super::regex::{Flavor, Rx};
use super::row::Record;
use super::value::{fmt_num, parse_num, parse_span, parse_time, Value};

/// What scalar evaluation needs besides the row.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// The rule's language (function names and null rules differ).
    pub lang: Language,
    /// "Now" for `now()`, `ago()`, `dateadd()`, epoch seconds.
    pub now: f64,
}

/// A compiled scalar expression.
#[derive(Debug)]
pub enum CScalar {
    /// A field reference.
    Field(String),
    /// A constant.
    Lit(Value),
    /// A list of items (`in` right-hand sides, dynamic arrays).
    List(Vec<CScalar>),
    /// A function call; `rx` holds the regex compiled from a literal
    /// pattern argument.
    Call {
        /// Lower-case function name.
        name: String,
        /// Arguments.
        args: Vec<CScalar>,
        /// Precompiled regex argument, when the function takes one.
        rx: Option<Rx>,
    },
    /// A binary operation.
    Bin(BinOp, Box<CScalar>, Box<CScalar>),
    /// A unary operation.
    Un(UnaryOp, Box<CScalar>),
}

/// Functions the evaluator knows, for every language (names lower-case).
const KNOWN: &[&str] = &[
    "if",
    "iff",
    "iif",
    "case",
    "coalesce",
    "lower",
    "upper",
    "tolower",
    "toupper",
    "len",
    "strlen",
    "length",
    "match",
    "like",
    "isnull",
    "isnotnull",
    "isempty",
    "isnotempty",
    "in",
    "cidrmatch",
    "mvcount",
    "mvindex",
    "mvjoin",
    "mvappend",
    "mvdedup",
    "array_length",
    "replace",
    "replace_string",
    "replace_regex",
    "substr",
    "substring",
    "tonumber",
    "tostring",
    "toint",
    "tolong",
    "todouble",
    "toreal",
    "to_number",
    "to_varchar",
    "split",
    "round",
    "abs",
    "floor",
    "ceil",
    "ceiling",
    "now",
    "relative_time",
    "time",
    "ago",
    "bin",
    "datetime",
    "todatetime",
    "to_timestamp",
    "dateadd",
    "timeadd",
    "sysdate",
    "current_timestamp",
    "getdate",
    "strcat",
    "concat",
    "contains",
    "startswith",
    "endswith",
    "regexp_like",
    "rlike",
    "regexp",
    "extract",
    "true",
    "false",
    "null",
    "trim",
    "ltrim",
    "rtrim",
    "array_contains",
    "ilike",
    "not",
    "isnotnull",
    "nullif",
    "iff",
    "min",
    "max",
];

/// Which argument of a function is a regex pattern, for precompiling.
fn regex_arg(name: &str, lang: Language) -> Option<usize> {
    match (name, lang) {
        ("match" | "regexp_like" | "rlike" | "regexp" | "replace_regex", _) => Some(1),
        ("replace", Language::Splunk) => Some(1),
        ("replace", Language::Kusto) | ("extract", _) => Some(0),
        _ => None,
    }
}

/// The engine and case flag a function's regex uses.
fn regex_mode(name: &str, lang: Language, args: &[Scalar]) -> (Flavor, bool) {
    let flavor = Flavor::of(lang);
    let ci = matches!(name, "regexp_like" | "rlike" | "regexp")
        && matches!(args.get(2), Some(Scalar::Str { lit }) if lit.value.contains('i') && !lit.value.contains('c'));
    (flavor, ci)
}

/// Compiles `expr`; errors name what cannot be evaluated.
pub fn compile(expr: &Scalar, lang: Language) -> Result<CScalar, String> {
    Ok(match expr {
        Scalar::Field { name } => CScalar::Field(name.clone()),
        Scalar::Str { lit } => CScalar::Lit(Value::Str(lit.value.clone())),
        Scalar::Num { text } => CScalar::Lit(match parse_num(text) {
            Some(n) => Value::Num(n),
            // KQL timespans (`1d`) are numbers of seconds here.
            None => match parse_span(text) {
                Some(s) => Value::Num(s),
                None => Value::Str(text.clone()),
            },
        }),
        Scalar::Bool { value } => CScalar::Lit(Value::Bool(*value)),
        Scalar::Null => CScalar::Lit(Value::Null),
        Scalar::List { items } => CScalar::List(
            items
                .iter()
                .map(|i| compile(i, lang))
                .collect::<Result<_, _>>()?,
        ),
        Scalar::Unary { op, expr } => CScalar::Un(*op, Box::new(compile(expr, lang)?)),
        Scalar::Binary { op, lhs, rhs } => CScalar::Bin(
            *op,
            Box::new(compile(lhs, lang)?),
            Box::new(compile(rhs, lang)?),
        ),
        Scalar::Call { name, args } => {
            let name = name.to_ascii_lowercase();
            if !KNOWN.contains(&name.as_str()) {
                return Err(format!("function {name}()"));
            }
            let mut rx = None;
            if name == "like" {
                if let Some(Scalar::Str { lit }) = args.get(1) {
                    rx = Some(
                        Rx::new(&like_to_regex(&lit.value, None), Flavor::Re2, false, true)
                            .map_err(|e| format!("like pattern: {e}"))?,
                    );
                }
            } else if let Some(i) = regex_arg(&name, lang) {
                if let Some(Scalar::Str { lit }) = args.get(i) {
                    let (flavor, ci) = regex_mode(&name, lang, args);
                    let anchored = matches!(name.as_str(), "regexp_like" | "rlike" | "regexp");
                    rx = Some(
                        Rx::new(&lit.value, flavor, ci, anchored)
                            .map_err(|e| format!("regex \"{}\" in {name}(): {e}", lit.value))?,
                    );
                }
            }
            CScalar::Call {
                args: args
                    .iter()
                    .map(|a| compile(a, lang))
                    .collect::<Result<_, _>>()?,
                name,
                rx,
            }
        }
    })
}

/// Translates a SQL/SPL `like` pattern (`%` any run, `_` one character)
/// into a regex body; `escape` makes the next character literal.
pub fn like_to_regex(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::from("(?s)");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            if let Some(n) = chars.next() {
                out.push_str(&regex::escape(n.encode_utf8(&mut [0; 4])));
            }
            continue;
        }
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            _ => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

impl CScalar {
    /// Evaluates the expression for one row.
    pub fn eval(&self, rec: &dyn Record, ctx: &Ctx) -> Value {
        match self {
            CScalar::Field(name) => Value::from_field(rec.values(name)),
            CScalar::Lit(v) => v.clone(),
            CScalar::List(items) => {
                let mut all = Vec::new();
                for i in items {
                    all.extend(i.eval(rec, ctx).into_strings());
                }
                Value::Multi(all)
            }
            CScalar::Un(UnaryOp::Not, e) => match e.eval(rec, ctx).truth() {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            CScalar::Un(UnaryOp::Neg, e) => match e.eval(rec, ctx).num() {
                Some(n) => Value::Num(-n),
                None => Value::Null,
            },
            CScalar::Bin(op, a, b) => binary(*op, a, b, rec, ctx),
            CScalar::Call { name, args, rx } => call(name, args, rx.as_ref(), rec, ctx),
        }
    }
}

/// The scalar items of a value, for "any value" comparisons.
fn items(v: &Value) -> Vec<Value> {
    match v {
        Value::Multi(vs) => vs.iter().map(|s| Value::Str(s.clone())).collect(),
        other => vec![other.clone()],
    }
}

/// Orders two non-null scalar values: times as times, numbers as numbers,
/// otherwise as case-sensitive strings.
pub fn order(a: &Value, b: &Value) -> Ordering {
    let time = |v: &Value| match v {
        Value::Time(t) => Some(*t),
        other => other.text().and_then(|s| parse_time(&s)),
    };
    if matches!(a, Value::Time(_)) || matches!(b, Value::Time(_)) {
        if let (Some(x), Some(y)) = (time(a), time(b)) {
            return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
        }
    }
    let num = |v: &Value| match v {
        Value::Num(n) => Some(*n),
        Value::Str(s) => parse_num(s),
        _ => None,
    };
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    a.text()
        .unwrap_or_default()
        .cmp(&b.text().unwrap_or_default())
}

fn binary(op: BinOp, a: &CScalar, b: &CScalar, rec: &dyn Record, ctx: &Ctx) -> Value {
    match op {
        BinOp::And => {
            let x = a.eval(rec, ctx).truth();
            if x == Some(false) {
                return Value::Bool(false);
            }
            match (x, b.eval(rec, ctx).truth()) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        BinOp::Or => {
            let x = a.eval(rec, ctx).truth();
            if x == Some(true) {
                return Value::Bool(true);
            }
            match (x, b.eval(rec, ctx).truth()) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        _ => {
            let x = a.eval(rec, ctx);
            let y = b.eval(rec, ctx);
            binary_values(op, &x, &y, ctx)
        }
    }
}

/// Applies a non-logical binary operator to two values.
pub fn binary_values(op: BinOp, x: &Value, y: &Value, ctx: &Ctx) -> Value {
    if x.is_null() || y.is_null() {
        return Value::Null;
    }
    let cmp = |test: fn(Ordering) -> bool| {
        let xs = items(x);
        let ys = items(y);
        Value::Bool(xs.iter().any(|a| ys.iter().any(|b| test(order(a, b)))))
    };
    match op {
        BinOp::Eq => cmp(|o| o == Ordering::Equal),
        BinOp::Ne => match cmp(|o| o == Ordering::Equal) {
            Value::Bool(b) => Value::Bool(!b),
            other => other,
        },
        BinOp::Lt => cmp(|o| o == Ordering::Less),
        BinOp::Le => cmp(|o| o != Ordering::Greater),
        BinOp::Gt => cmp(|o| o == Ordering::Greater),
        BinOp::Ge => cmp(|o| o != Ordering::Less),
        BinOp::Concat => Value::Str(format!(
            "{}{}",
            x.text().unwrap_or_default(),
            y.text().unwrap_or_default()
        )),
        BinOp::Add => match (x, y) {
            (Value::Time(t), other) | (other, Value::Time(t)) => {
                other.num().map_or(Value::Null, |n| Value::Time(t + n))
            }
            _ => match (x.num(), y.num()) {
                (Some(a), Some(b)) => Value::Num(a + b),
                // SPL `+` concatenates two strings; KQL/SQL give null.
                _ if ctx.lang == Language::Splunk => Value::Str(format!(
                    "{}{}",
                    x.text().unwrap_or_default(),
                    y.text().unwrap_or_default()
                )),
                _ => Value::Null,
            },
        },
        BinOp::Sub => match (x, y) {
            (Value::Time(t), Value::Time(u)) => Value::Num(t - u),
            (Value::Time(t), other) => other.num().map_or(Value::Null, |n| Value::Time(t - n)),
            _ => arith(x, y, |a, b| Some(a - b)),
        },
        BinOp::Mul => arith(x, y, |a, b| Some(a * b)),
        BinOp::Div => arith(x, y, |a, b| (b != 0.0).then(|| a / b)),
        BinOp::Rem => arith(x, y, |a, b| (b != 0.0).then(|| a % b)),
        BinOp::And | BinOp::Or => Value::Null,
    }
}

fn arith(x: &Value, y: &Value, f: impl Fn(f64, f64) -> Option<f64>) -> Value {
    match (x.num(), y.num()) {
        (Some(a), Some(b)) => f(a, b).map_or(Value::Null, Value::Num),
        _ => Value::Null,
    }
}

/// Applies `f` to each value, keeping the multivalue shape.
fn per_value(v: Value, f: impl Fn(&str) -> String) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Multi(vs) => Value::Multi(vs.iter().map(|s| f(s)).collect()),
        other => other.text().map_or(Value::Null, |s| Value::Str(f(&s))),
    }
}

/// Evaluates a regex test over every value of `v` (any value matching).
fn regex_any(v: &Value, rx: &Rx) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    let mut hit = false;
    for s in v.texts() {
        match rx.is_match(&s) {
            Ok(true) => {
                hit = true;
                break;
            }
            Ok(false) => {}
            Err(_) => return Value::Null,
        }
    }
    Value::Bool(hit)
}

/// Parses an IPv4/IPv6 CIDR and tests an address against it.
pub fn cidr_contains(cidr: &str, ip: &str) -> Option<bool> {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n.trim(), Some(b.trim().parse::<u32>().ok()?)),
        None => (cidr.trim(), None),
    };
    let net: std::net::IpAddr = net.parse().ok()?;
    let ip: std::net::IpAddr = ip.trim().parse().ok()?;
    match (net, ip) {
        (std::net::IpAddr::V4(n), std::net::IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(u32::from(n) & mask == u32::from(i) & mask)
        }
        (std::net::IpAddr::V6(n), std::net::IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(u128::from(n) & mask == u128::from(i) & mask)
        }
        _ => Some(false),
    }
}

/// Resolves Splunk `relative_time(t, "-1d@d")`: offsets then an optional
/// snap unit. Only the basic forms (`[+-]N unit`, `@unit`, `now`).
pub fn relative_time(t: f64, spec: &str) -> Option<f64> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("now") || spec.is_empty() {
        return Some(t);
    }
    let (offs, snap) = match spec.split_once('@') {
        Some((o, s)) => (o, Some(s)),
        None => (spec, None),
    };
    let mut t = t;
    let mut rest = offs;
    while !rest.is_empty() {
        let sign = match rest.as_bytes()[0] {
            b'-' => -1.0,
            b'+' => 1.0,
            _ => return None,
        };
        rest = &rest[1..];
        let end = rest.find(['-', '+']).unwrap_or(rest.len());
        let part = &rest[..end];
        let part = if part.starts_with(|c: char| c.is_ascii_alphabetic()) {
            format!("1{part}")
        } else {
            part.to_string()
        };
        t += sign * unit_secs(&part)?;
        rest = &rest[end..];
    }
    if let Some(unit) = snap {
        let u = unit_secs(&format!("1{}", unit.trim()))?;
        t = (t / u).floor() * u;
    }
    Some(t)
}

/// Seconds in `N unit` for relative_time (`mon`/`y` approximated).
fn unit_secs(part: &str) -> Option<f64> {
    let split = part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(part.len());
    let (n, u) = part.split_at(split);
    let n: f64 = if n.is_empty() { 1.0 } else { n.parse().ok()? };
    let secs = match u {
        "mon" | "month" | "months" => 30.0 * 86_400.0,
        "y" | "yr" | "yrs" | "year" | "years" => 365.0 * 86_400.0,
        other => parse_span(&format!("1{other}"))?,
    };
    Some(n * secs)
}

fn call(name: &str, args: &[CScalar], rx: Option<&Rx>, rec: &dyn Record, ctx: &Ctx) -> Value {
    let arg = |i: usize| args.get(i).map_or(Value::Null, |a| a.eval(rec, ctx));
    let text = |i: usize| arg(i).text();
    let dynamic_rx = |i: usize, flavor: Flavor, ci: bool, anchored: bool| -> Option<Rx> {
        text(i).and_then(|p| Rx::new(&p, flavor, ci, anchored).ok())
    };
    match name {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        "if" | "iff" | "iif" => {
            if arg(0).truth() == Some(true) {
                arg(1)
            } else {
                arg(2)
            }
        }
        "case" => {
            let mut i = 0;
            while i + 1 < args.len() {
                if arg(i).truth() == Some(true) {
                    return arg(i + 1);
                }
                i += 2;
            }
            // KQL `case(c1, v1, …, else)`: an odd count ends in a default.
            if args.len() % 2 == 1 {
                arg(args.len() - 1)
            } else {
                Value::Null
            }
        }
        "coalesce" => {
            for i in 0..args.len() {
                let v = arg(i);
                let empty = ctx.lang == Language::Kusto && v.text().is_some_and(|s| s.is_empty());
                if !v.is_null() && !empty {
                    return v;
                }
            }
            Value::Null
        }
        "nullif" => {
            let (a, b) = (arg(0), arg(1));
            if binary_values(BinOp::Eq, &a, &b, ctx) == Value::Bool(true) {
                Value::Null
            } else {
                a
            }
        }
        "lower" | "tolower" => per_value(arg(0), str::to_lowercase),
        "upper" | "toupper" => per_value(arg(0), str::to_uppercase),
        "trim" => per_value(arg(0), |s| s.trim().to_string()),
        "ltrim" => per_value(arg(0), |s| s.trim_start().to_string()),
        "rtrim" => per_value(arg(0), |s| s.trim_end().to_string()),
        "len" | "strlen" | "length" => match arg(0) {
            Value::Null => Value::Null,
            Value::Multi(vs) => {
                Value::Multi(vs.iter().map(|s| s.chars().count().to_string()).collect())
            }
            v => v
                .text()
                .map_or(Value::Null, |s| Value::Num(s.chars().count() as f64)),
        },
        "isnull" => Value::Bool(arg(0).is_null()),
        "isnotnull" => Value::Bool(!arg(0).is_null()),
        "isempty" => Value::Bool(arg(0).texts().iter().all(String::is_empty)),
        "isnotempty" => Value::Bool(!arg(0).texts().iter().all(String::is_empty)),
        "match" | "regexp_like" | "rlike" | "regexp" => {
            let subject = arg(0);
            match rx {
                Some(rx) => regex_any(&subject, rx),
                None => {
                    let anchored = name != "match";
                    let ci = name != "match" && text(2).is_some_and(|p| p.contains('i'));
                    match dynamic_rx(1, Flavor::of(ctx.lang), ci, anchored) {
                        Some(rx) => regex_any(&subject, &rx),
                        None => Value::Null,
                    }
                }
            }
        }
        "like" => {
            let subject = arg(0);
            match rx {
                Some(rx) => regex_any(&subject, rx),
                None => match text(1)
                    .and_then(|p| Rx::new(&like_to_regex(&p, None), Flavor::Re2, false, true).ok())
                {
                    Some(rx) => regex_any(&subject, &rx),
                    None => Value::Null,
                },
            }
        }
        "in" => {
            let v = arg(0);
            if v.is_null() {
                return Value::Null;
            }
            let hay = v.texts();
            let hit = (1..args.len()).any(|i| arg(i).texts().iter().any(|c| hay.contains(c)));
            Value::Bool(hit)
        }
        "array_contains" => {
            let needle = arg(0);
            let hay = arg(1);
            if needle.is_null() || hay.is_null() {
                return Value::Null;
            }
            let n = needle.text().unwrap_or_default();
            Value::Bool(hay.texts().contains(&n))
        }
        "cidrmatch" => match (text(0), arg(1)) {
            (Some(cidr), ip) if !ip.is_null() => Value::Bool(
                ip.texts()
                    .iter()
                    .any(|i| cidr_contains(&cidr, i) == Some(true)),
            ),
            _ => Value::Null,
        },
        "mvcount" | "array_length" => match arg(0) {
            Value::Null => Value::Null,
            v => Value::Num(v.texts().len() as f64),
        },
        "mvindex" => {
            let vs = arg(0).texts();
            let n = vs.len() as i64;
            let idx = |v: Value| {
                v.num()
                    .map(|i| if i < 0.0 { n + i as i64 } else { i as i64 })
            };
            let Some(start) = idx(arg(1)) else {
                return Value::Null;
            };
            let end = if args.len() > 2 {
                idx(arg(2))
            } else {
                Some(start)
            };
            let Some(end) = end else { return Value::Null };
            if start < 0 || start >= n || end < start {
                return Value::Null;
            }
            let picked: Vec<String> = vs[start as usize..=(end.min(n - 1) as usize)].to_vec();
            if picked.len() == 1 {
                Value::Str(picked[0].clone())
            } else {
                Value::Multi(picked)
            }
        }
        "mvjoin" => match (arg(0), text(1)) {
            (Value::Null, _) => Value::Null,
            (v, d) => Value::Str(v.texts().join(&d.unwrap_or_default())),
        },
        "mvappend" => {
            let mut all = Vec::new();
            for i in 0..args.len() {
                all.extend(arg(i).into_strings());
            }
            if all.is_empty() {
                Value::Null
            } else {
                Value::Multi(all)
            }
        }
        "mvdedup" => match arg(0) {
            Value::Null => Value::Null,
            v => {
                let mut seen = Vec::new();
                for s in v.texts() {
                    if !seen.contains(&s) {
                        seen.push(s);
                    }
                }
                Value::Multi(seen)
            }
        },
        "split" => match (text(0), text(1)) {
            (Some(s), Some(d)) => {
                if d.is_empty() {
                    Value::Multi(s.chars().map(String::from).collect())
                } else {
                    Value::Multi(s.split(d.as_str()).map(str::to_string).collect())
                }
            }
            _ => Value::Null,
        },
        "replace" if ctx.lang == Language::Snowflake => match (text(0), text(1)) {
            (Some(s), Some(a)) => Value::Str(if a.is_empty() {
                s
            } else {
                s.replace(&a, &text(2).unwrap_or_default())
            }),
            _ => Value::Null,
        },
        "replace_string" => match (text(0), text(1), text(2)) {
            (Some(s), Some(a), Some(b)) if !a.is_empty() => Value::Str(s.replace(&a, &b)),
            (Some(s), _, _) => Value::Str(s),
            _ => Value::Null,
        },
        "replace" | "replace_regex" => {
            // SPL replace(s, re, rep) / KQL replace_regex(s, re, rep);
            // old KQL replace(re, rep, s).
            let (si, ri) = if name == "replace" && ctx.lang == Language::Kusto {
                (2, 1)
            } else {
                (0, 2)
            };
            let (Some(s), Some(rep)) = (text(si), text(ri)) else {
                return Value::Null;
            };
            let compiled;
            let re = match rx {
                Some(r) => r,
                None => {
                    let pi = if si == 2 { 0 } else { 1 };
                    match dynamic_rx(pi, Flavor::of(ctx.lang), false, false) {
                        Some(r) => {
                            compiled = r;
                            &compiled
                        }
                        None => return Value::Null,
                    }
                }
            };
            re.replace(&s, &rep, 0).map_or(Value::Null, Value::Str)
        }
        "extract" => {
            // KQL extract(regex, group, source).
            let (Some(rx), Some(s)) = (rx, text(2)) else {
                return Value::Null;
            };
            let g = arg(1).num().unwrap_or(0.0) as usize;
            match rx.captures(&s, 1) {
                Ok(all) => all
                    .first()
                    .and_then(|groups| groups.get(g).copied().flatten())
                    .map_or(Value::Null, |(a, b)| Value::Str(s[a..b].to_string())),
                Err(_) => Value::Null,
            }
        }
        "substr" | "substring" => {
            let Some(s) = text(0) else { return Value::Null };
            let chars: Vec<char> = s.chars().collect();
            let n = chars.len() as i64;
            let Some(start) = arg(1).num().map(|x| x as i64) else {
                return Value::Null;
            };
            // SPL and SQL count from 1 (SPL: negative from the end); KQL from 0.
            let start0 = if ctx.lang == Language::Kusto {
                start
            } else if start < 0 {
                n + start
            } else {
                (start - 1).max(0)
            }
            .clamp(0, n);
            let len = if args.len() > 2 {
                arg(2).num().map_or(n, |l| l.max(0.0) as i64)
            } else {
                n
            };
            let end = (start0 + len).min(n);
            Value::Str(
                chars[start0 as usize..end.max(start0) as usize]
                    .iter()
                    .collect(),
            )
        }
        "tonumber" | "toint" | "tolong" | "todouble" | "toreal" | "to_number" => {
            let v = arg(0);
            let base = if name == "tonumber" {
                arg(1).num()
            } else {
                None
            };
            let n = match (base, v.text()) {
                (Some(b), Some(s)) if b != 10.0 => {
                    let t = s.trim().trim_start_matches("0x");
                    i64::from_str_radix(t, b as u32).ok().map(|i| i as f64)
                }
                _ => v.num(),
            };
            match n {
                Some(n) if matches!(name, "toint" | "tolong") => Value::Num(n.trunc()),
                Some(n) => Value::Num(n),
                None => Value::Null,
            }
        }
        "tostring" | "to_varchar" => match arg(0) {
            Value::Null if ctx.lang == Language::Kusto => Value::Str(String::new()),
            Value::Null => Value::Null,
            v => Value::Str(v.texts().join(",")),
        },
        "round" => {
            let Some(x) = arg(0).num() else {
                return Value::Null;
            };
            let digits = arg(1).num().unwrap_or(0.0) as i32;
            let m = 10f64.powi(digits);
            Value::Num((x * m).round() / m)
        }
        "abs" => arg(0).num().map_or(Value::Null, |x| Value::Num(x.abs())),
        "ceil" | "ceiling" => arg(0).num().map_or(Value::Null, |x| Value::Num(x.ceil())),
        "floor" | "bin" if args.len() >= 2 => {
            let v = arg(0);
            let span = arg(1).num();
            match (v, span) {
                (_, None) | (_, Some(0.0)) => Value::Null,
                (Value::Time(t), Some(s)) => Value::Time((t / s).floor() * s),
                (v, Some(s)) => match v.num() {
                    Some(x) => Value::Num((x / s).floor() * s),
                    None => v
                        .text()
                        .and_then(|t| parse_time(&t))
                        .map_or(Value::Null, |t| Value::Time((t / s).floor() * s)),
                },
            }
        }
        "floor" => arg(0).num().map_or(Value::Null, |x| Value::Num(x.floor())),
        "bin" => Value::Null,
        "min" | "max" => {
            let vals: Vec<Value> = (0..args.len())
                .flat_map(|i| items(&arg(i)))
                .filter(|v| !v.is_null())
                .collect();
            let pick = vals.into_iter().reduce(|a, b| {
                let o = order(&a, &b);
                if (name == "min") == (o == Ordering::Greater) {
                    b
                } else {
                    a
                }
            });
            pick.unwrap_or(Value::Null)
        }
        "now" | "time" if ctx.lang == Language::Splunk => Value::Num(ctx.now),
        "now" | "sysdate" | "current_timestamp" | "getdate" | "time" => Value::Time(ctx.now),
        "ago" => arg(0)
            .num()
            .map_or(Value::Null, |s| Value::Time(ctx.now - s)),
        "relative_time" => match (arg(0).num(), text(1)) {
            (Some(t), Some(spec)) => relative_time(t, &spec).map_or(Value::Null, Value::Num),
            _ => Value::Null,
        },
        "datetime" | "todatetime" | "to_timestamp" => match arg(0) {
            Value::Time(t) => Value::Time(t),
            v => v
                .text()
                .and_then(|s| parse_time(&s))
                .map_or(Value::Null, Value::Time),
        },
        "dateadd" | "timeadd" => {
            // DATEADD(part, n, ts): `part` arrives as a bare word (a field
            // reference to the parser) or a string.
            let part = match args.first() {
                Some(CScalar::Field(p)) => Some(p.clone()),
                _ => text(0),
            };
            let ts = match arg(2) {
                Value::Time(t) => Some(t),
                v => v.text().and_then(|s| parse_time(&s)),
            };
            match (part.and_then(|p| date_part_secs(&p)), arg(1).num(), ts) {
                (Some(u), Some(n), Some(t)) => Value::Time(t + u * n),
                _ => Value::Null,
            }
        }
        "strcat" => {
            let mut s = String::new();
            for i in 0..args.len() {
                s.push_str(&arg(i).text().unwrap_or_default());
            }
            Value::Str(s)
        }
        "concat" => {
            let mut s = String::new();
            for i in 0..args.len() {
                match arg(i).text() {
                    Some(t) => s.push_str(&t),
                    None => return Value::Null,
                }
            }
            Value::Str(s)
        }
        "contains" | "startswith" | "endswith" => {
            let (v, Some(needle)) = (arg(0), text(1)) else {
                return Value::Null;
            };
            if v.is_null() {
                return Value::Null;
            }
            Value::Bool(v.texts().iter().any(|s| match name {
                "contains" => s.contains(&needle),
                "startswith" => s.starts_with(&needle),
                _ => s.ends_with(&needle),
            }))
        }
        "not" => match arg(0).truth() {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// Seconds in one SQL date part (`hour`, `day`…).
fn date_part_secs(part: &str) -> Option<f64> {
    Some(
        match part.trim_matches(['\'', '"']).to_ascii_lowercase().as_str() {
            "second" | "seconds" | "s" | "sec" => 1.0,
            "minute" | "minutes" | "m" | "min" => 60.0,
            "hour" | "hours" | "h" | "hr" => 3600.0,
            "day" | "days" | "d" => 86_400.0,
            "week" | "weeks" | "w" => 604_800.0,
            "month" | "months" | "mon" => 30.0 * 86_400.0,
            "year" | "years" | "y" => 365.0 * 86_400.0,
            _ => return None,
        },
    )
}

/// Formats a value for messages (numbers without a trailing `.0`).
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Num(n) => fmt_num(*n),
        other => other.texts().join(", "),
    }
}
