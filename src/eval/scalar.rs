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
    // KQL string operators in scalar position (`Call { name: "=~" }`).
    "=~",
    "!~",
    "has",
    "!has",
    "has_cs",
    "!has_cs",
    "hasprefix",
    "!hasprefix",
    "hassuffix",
    "!hassuffix",
    "!contains",
    "contains_cs",
    "!contains_cs",
    "!startswith",
    "startswith_cs",
    "!startswith_cs",
    "!endswith",
    "endswith_cs",
    "!endswith_cs",
    "matches regex",
    "!in",
    "in~",
    "!in~",
    "has_any",
    "has_all",
    "between",
    "!between",
    "index",
    // More functions.
    "$latest$",
    "parse_json",
    "parsejson",
    "todynamic",
    "arraylength",
    "array_size",
    "date_part",
    "startofday",
    "startofweek",
    "startofmonth",
    "endofday",
    "dayofweek",
    "datetime_diff",
    "datediff",
    "strftime",
    "strptime",
    "tohex",
    "url_decode",
    "urldecode",
    "countof",
    "string_size",
    "max_of",
    "min_of",
    "column_ifexists",
    "columnifexists",
    "pi",
    "sin",
    "cos",
    "atan2",
    "sqrt",
    "log",
    "ln",
    "log10",
    "exp",
    "pow",
    "power",
    "mvfilter",
    "mvfind",
    "ipv4_is_match",
    "ipv4_is_in_range",
    "ipv4_is_private",
    "strcat_array",
    "indexof",
    "totimespan",
    "base64_decode_tostring",
    "nvl",
    "ifnull",
    "split_part",
    "regexp_substr",
    "current_date",
    "isint",
    "isnum",
    "isstr",
    "exact",
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
        ("matches regex" | "regexp_substr" | "mvfind", _) => Some(1),
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
        "contains" | "startswith" | "endswith" | "!contains" | "!startswith" | "!endswith"
        | "contains_cs" | "startswith_cs" | "endswith_cs" | "!contains_cs" | "!startswith_cs"
        | "!endswith_cs" => {
            let (v, Some(needle)) = (arg(0), text(1)) else {
                return Value::Null;
            };
            if v.is_null() {
                return Value::Null;
            }
            // KQL's plain forms are case-insensitive (ASCII); SQL's
            // CONTAINS/STARTSWITH/ENDSWITH functions are case-sensitive.
            let ci = ctx.lang == Language::Kusto && !name.ends_with("_cs");
            let base = name.trim_start_matches('!').trim_end_matches("_cs");
            let fold = |s: &str| {
                if ci {
                    s.to_ascii_lowercase()
                } else {
                    s.to_string()
                }
            };
            let needle = fold(&needle);
            let hit = v.texts().iter().any(|s| {
                let s = fold(s);
                match base {
                    "contains" => s.contains(&needle),
                    "startswith" => s.starts_with(&needle),
                    _ => s.ends_with(&needle),
                }
            });
            Value::Bool(hit != name.starts_with('!'))
        }
        "not" => match arg(0).truth() {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        "=~" | "!~" => {
            let (a, b) = (arg(0), arg(1));
            if a.is_null() || b.is_null() {
                return Value::Null;
            }
            let bs: Vec<String> = b.texts().iter().map(|t| t.to_ascii_lowercase()).collect();
            let hit = a
                .texts()
                .iter()
                .any(|t| bs.contains(&t.to_ascii_lowercase()));
            Value::Bool(hit == (name == "=~"))
        }
        "has" | "!has" | "has_cs" | "!has_cs" | "hasprefix" | "!hasprefix" | "hassuffix"
        | "!hassuffix" | "has_any" | "has_all" => {
            let hay = arg(0);
            let needles = arg(1);
            if hay.is_null() || needles.is_null() {
                return Value::Null;
            }
            let cs = name.ends_with("_cs");
            let base = name.trim_start_matches('!').trim_end_matches("_cs");
            let texts = hay.texts();
            let test = |n: &String| {
                texts
                    .iter()
                    .any(|h| kql_term_find(h, n, cs, base != "hassuffix", base != "hasprefix"))
            };
            let ns = needles.texts();
            let hit = if base == "has_all" {
                ns.iter().all(test)
            } else {
                ns.iter().any(test)
            };
            Value::Bool(hit != name.starts_with('!'))
        }
        "matches regex" => {
            let subject = arg(0);
            match rx {
                Some(rx) => regex_any(&subject, rx),
                None => match dynamic_rx(1, Flavor::Re2, false, false) {
                    Some(rx) => regex_any(&subject, &rx),
                    None => Value::Null,
                },
            }
        }
        "!in" | "in~" | "!in~" => {
            let v = arg(0);
            if v.is_null() {
                return Value::Null;
            }
            let ci = name.ends_with('~');
            let norm = |s: &str| {
                if ci {
                    s.to_ascii_lowercase()
                } else {
                    s.to_string()
                }
            };
            let hay: Vec<String> = v.texts().iter().map(|s| norm(s)).collect();
            let hit =
                (1..args.len()).any(|i| arg(i).texts().iter().any(|c| hay.contains(&norm(c))));
            Value::Bool(hit != name.starts_with('!'))
        }
        "between" | "!between" => {
            let v = arg(0);
            let range = arg(1).texts();
            if v.is_null() || range.len() != 2 {
                return Value::Null;
            }
            let lo = Value::Str(range[0].clone());
            let hi = Value::Str(range[1].clone());
            let hit = items(&v)
                .iter()
                .any(|x| order(x, &lo) != Ordering::Less && order(x, &hi) != Ordering::Greater);
            Value::Bool(hit != name.starts_with('!'))
        }
        // The end of the search window of armory Snowflake templates: the
        // evaluation clock.
        "$latest$" => Value::Time(ctx.now),
        "index" => index(arg(0), arg(1)),
        "parse_json" | "parsejson" | "todynamic" | "exact" => arg(0),
        "arraylength" | "array_size" => match arg(0) {
            Value::Null => Value::Null,
            Value::Multi(v) => Value::Num(v.len() as f64),
            v => match v
                .text()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            {
                Some(serde_json::Value::Array(a)) => Value::Num(a.len() as f64),
                _ => Value::Num(1.0),
            },
        },
        "date_part" => {
            let part = match args.first() {
                Some(CScalar::Field(p)) => Some(p.clone()),
                _ => text(0),
            };
            match (part, time_arg(&arg(1))) {
                (Some(p), Some(t)) => date_part(&p, t).map_or(Value::Null, Value::Num),
                _ => Value::Null,
            }
        }
        "startofday" | "startofweek" | "startofmonth" | "endofday" => {
            let Some(t) = time_arg(&arg(0)) else {
                return Value::Null;
            };
            let day = (t / 86_400.0).floor() * 86_400.0;
            Value::Time(match name {
                "startofday" => day,
                "endofday" => day + 86_400.0 - 1e-7,
                // 1970-01-01 was a Thursday; KQL weeks start on Sunday.
                "startofweek" => day - ((day / 86_400.0 + 4.0).rem_euclid(7.0)) * 86_400.0,
                _ => match chrono::DateTime::from_timestamp(t as i64, 0) {
                    Some(d) => {
                        use chrono::Datelike;
                        chrono::NaiveDate::from_ymd_opt(d.year(), d.month(), 1)
                            .and_then(|x| x.and_hms_opt(0, 0, 0))
                            .map_or(day, |x| x.and_utc().timestamp() as f64)
                    }
                    None => day,
                },
            })
        }
        "dayofweek" => match time_arg(&arg(0)) {
            // A timespan of days since Sunday, as seconds.
            Some(t) => Value::Num(((t / 86_400.0).floor() + 4.0).rem_euclid(7.0) * 86_400.0),
            None => Value::Null,
        },
        "datetime_diff" | "datediff" => {
            let part = match args.first() {
                Some(CScalar::Field(p)) => Some(p.clone()),
                _ => text(0),
            };
            let (a, b) = (time_arg(&arg(1)), time_arg(&arg(2)));
            match (part.and_then(|p| date_part_secs(&p)), a, b) {
                // KQL: datetime_diff(part, t1, t2) = t1 - t2; SQL
                // DATEDIFF(part, a, b) = b - a.
                (Some(u), Some(a), Some(b)) if name == "datetime_diff" => {
                    Value::Num(((a - b) / u).trunc())
                }
                (Some(u), Some(a), Some(b)) => Value::Num(((b - a) / u).trunc()),
                _ => Value::Null,
            }
        }
        "strftime" => match (time_arg(&arg(0)), text(1)) {
            (Some(t), Some(fmt)) => strftime(t, &fmt).map_or(Value::Null, Value::Str),
            _ => Value::Null,
        },
        "strptime" => match (text(0), text(1)) {
            (Some(s), Some(fmt)) => chrono::NaiveDateTime::parse_from_str(&s, &fmt)
                .map(|d| Value::Num(d.and_utc().timestamp() as f64))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(&s, &fmt).map(|d| {
                        Value::Num(
                            d.and_hms_opt(0, 0, 0)
                                .map_or(0.0, |x| x.and_utc().timestamp() as f64),
                        )
                    })
                })
                .unwrap_or(Value::Null),
            _ => Value::Null,
        },
        "tohex" => arg(0)
            .num()
            .map_or(Value::Null, |n| Value::Str(format!("{:x}", n as i64))),
        "url_decode" | "urldecode" => per_value(arg(0), url_decode),
        "countof" => match (text(0), text(1)) {
            (Some(s), Some(n)) if !n.is_empty() => Value::Num(s.matches(n.as_str()).count() as f64),
            _ => Value::Null,
        },
        "string_size" => text(0).map_or(Value::Null, |s| Value::Num(s.len() as f64)),
        "max_of" | "min_of" => {
            let vals: Vec<Value> = (0..args.len()).map(arg).filter(|v| !v.is_null()).collect();
            vals.into_iter()
                .reduce(|a, b| {
                    let o = order(&a, &b);
                    if (name == "min_of") == (o == Ordering::Greater) {
                        b
                    } else {
                        a
                    }
                })
                .unwrap_or(Value::Null)
        }
        "column_ifexists" | "columnifexists" => match text(0) {
            Some(col) => match rec.values(&col) {
                Some(v) => Value::from_field(Some(v)),
                None => arg(1),
            },
            None => arg(1),
        },
        "pi" => Value::Num(std::f64::consts::PI),
        "sin" | "cos" | "sqrt" | "log" | "ln" | "log10" | "exp" => match arg(0).num() {
            Some(x) => {
                let y = match name {
                    "sin" => x.sin(),
                    "cos" => x.cos(),
                    "sqrt" => x.sqrt(),
                    "log" | "ln" => x.ln(),
                    "log10" => x.log10(),
                    _ => x.exp(),
                };
                if y.is_finite() {
                    Value::Num(y)
                } else {
                    Value::Null
                }
            }
            None => Value::Null,
        },
        "atan2" | "pow" | "power" => match (arg(0).num(), arg(1).num()) {
            (Some(a), Some(b)) => {
                let y = if name == "atan2" {
                    a.atan2(b)
                } else {
                    a.powf(b)
                };
                if y.is_finite() {
                    Value::Num(y)
                } else {
                    Value::Null
                }
            }
            _ => Value::Null,
        },
        "mvfilter" => {
            // SPL mvfilter(<predicate on one field>): keep the values of
            // that field for which the predicate holds.
            let Some(pred) = args.first() else {
                return Value::Null;
            };
            let Some(field) = field_of(pred) else {
                return Value::Null;
            };
            let Some(vals) = rec.values(&field) else {
                return Value::Null;
            };
            let kept: Vec<String> = vals
                .iter()
                .filter(|v| {
                    let one = OneValue {
                        rec,
                        field: &field,
                        value: std::slice::from_ref(*v),
                    };
                    pred.eval(&one, ctx).truth() == Some(true)
                })
                .cloned()
                .collect();
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Multi(kept)
            }
        }
        "mvfind" => {
            let v = arg(0);
            let Some(rx) = rx else { return Value::Null };
            v.texts()
                .iter()
                .position(|s| rx.is_match(s) == Ok(true))
                .map_or(Value::Null, |i| Value::Num(i as f64))
        }
        "ipv4_is_match" | "ipv4_is_in_range" => match (text(0), text(1)) {
            (Some(ip), Some(range)) => {
                let range = match (name, arg(2).num()) {
                    ("ipv4_is_match", Some(bits)) => format!("{range}/{bits}"),
                    _ => range,
                };
                cidr_contains(&range, &ip).map_or(Value::Null, Value::Bool)
            }
            _ => Value::Null,
        },
        "ipv4_is_private" => match text(0) {
            Some(ip) => {
                let private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
                    .iter()
                    .any(|r| cidr_contains(r, &ip) == Some(true));
                Value::Bool(private)
            }
            None => Value::Null,
        },
        "strcat_array" => match arg(0) {
            Value::Null => Value::Null,
            v => Value::Str(v.texts().join(&text(1).unwrap_or_default())),
        },
        "indexof" => match (text(0), text(1)) {
            (Some(s), Some(n)) => Value::Num(
                s.find(n.as_str())
                    .map_or(-1.0, |b| s[..b].chars().count() as f64),
            ),
            _ => Value::Null,
        },
        "totimespan" => text(0)
            .and_then(|t| parse_span(&t))
            .map_or(Value::Null, Value::Num),
        "base64_decode_tostring" => text(0)
            .and_then(|t| base64_decode(&t))
            .map_or(Value::Null, |b| {
                Value::Str(String::from_utf8_lossy(&b).into_owned())
            }),
        "nvl" | "ifnull" => {
            let a = arg(0);
            if a.is_null() {
                arg(1)
            } else {
                a
            }
        }
        "split_part" => match (text(0), text(1), arg(2).num()) {
            (Some(s), Some(d), Some(n)) => {
                let parts: Vec<&str> = if d.is_empty() {
                    vec![s.as_str()]
                } else {
                    s.split(d.as_str()).collect()
                };
                let n = n as i64;
                let idx = if n < 0 {
                    parts.len() as i64 + n
                } else {
                    n.max(1) - 1
                };
                Value::Str(
                    parts
                        .get(idx as usize)
                        .map_or(String::new(), |p| p.to_string()),
                )
            }
            _ => Value::Null,
        },
        "regexp_substr" => match (text(0), rx) {
            (Some(s), Some(rx)) => match rx.captures(&s, 1) {
                Ok(all) => all
                    .first()
                    .and_then(|g| g.first().copied().flatten())
                    .map_or(Value::Null, |(a, b)| Value::Str(s[a..b].to_string())),
                Err(_) => Value::Null,
            },
            _ => Value::Null,
        },
        "current_date" => Value::Time((ctx.now / 86_400.0).floor() * 86_400.0),
        "isint" => Value::Bool(arg(0).num().is_some_and(|n| n.fract() == 0.0)),
        "isnum" => Value::Bool(arg(0).num().is_some()),
        "isstr" => Value::Bool(matches!(arg(0), Value::Str(_)) && arg(0).num().is_none()),
        _ => Value::Null,
    }
}

/// KQL term search: `needle` occurs in `hay` on alphanumeric term
/// boundaries (`start`: before it; `end`: after it), ASCII case-folded
/// unless `cs`.
fn kql_term_find(hay: &str, needle: &str, cs: bool, start: bool, end: bool) -> bool {
    if needle.is_empty() {
        return false;
    }
    let (h, n) = if cs {
        (hay.to_string(), needle.to_string())
    } else {
        (hay.to_ascii_lowercase(), needle.to_ascii_lowercase())
    };
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let n_first = n.chars().next();
    let n_last = n.chars().last();
    let mut from = 0;
    while let Some(at) = h[from..].find(&n) {
        let s = from + at;
        let e = s + n.len();
        let before = h[..s].chars().last();
        let after = h[e..].chars().next();
        let ok_start = !start || !alnum(n_first) || !alnum(before);
        let ok_end = !end || !alnum(n_last) || !alnum(after);
        if ok_start && ok_end {
            return true;
        }
        from = s + n.chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// `base[i]`: a value of a multivalue, or an element or key of JSON text.
fn index(base: Value, i: Value) -> Value {
    match base {
        Value::Null => Value::Null,
        Value::Multi(vs) => match i.num() {
            Some(n) => {
                let n = n as i64;
                let k = if n < 0 { vs.len() as i64 + n } else { n };
                vs.get(k as usize)
                    .map_or(Value::Null, |s| Value::Str(s.clone()))
            }
            None => Value::Null,
        },
        other => {
            let Some(text) = other.text() else {
                return Value::Null;
            };
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                return Value::Null;
            };
            let picked = match (&json, i.num(), i.text()) {
                (serde_json::Value::Array(a), Some(n), _) => {
                    let n = n as i64;
                    let k = if n < 0 { a.len() as i64 + n } else { n };
                    a.get(k as usize).cloned()
                }
                (serde_json::Value::Object(m), _, Some(k)) => m.get(&k).cloned(),
                _ => None,
            };
            match picked {
                None | Some(serde_json::Value::Null) => Value::Null,
                Some(serde_json::Value::String(s)) => Value::Str(s),
                Some(v) => Value::Str(v.to_string()),
            }
        }
    }
}

/// A time argument: a time value, epoch number, or ISO text.
fn time_arg(v: &Value) -> Option<f64> {
    match v {
        Value::Time(t) | Value::Num(t) => Some(*t),
        other => other.text().and_then(|s| parse_time(&s)),
    }
}

/// A component of a time (SQL `DATE_PART`).
fn date_part(part: &str, t: f64) -> Option<f64> {
    use chrono::{Datelike, Timelike};
    let d = chrono::DateTime::from_timestamp(t.floor() as i64, 0)?;
    Some(
        match part.trim_matches(['\'', '"']).to_ascii_lowercase().as_str() {
            "year" | "y" | "yy" | "yyyy" => f64::from(d.year()),
            "month" | "mm" | "mon" => f64::from(d.month()),
            "day" | "d" | "dd" | "dayofmonth" => f64::from(d.day()),
            "dayofweek" | "dow" | "weekday" => f64::from(d.weekday().num_days_from_sunday()),
            "dayofyear" | "doy" => f64::from(d.ordinal()),
            "hour" | "h" | "hh" => f64::from(d.hour()),
            "minute" | "mi" | "min" => f64::from(d.minute()),
            "second" | "s" | "sec" => f64::from(d.second()),
            "epoch_second" | "epoch" => t.floor(),
            _ => return None,
        },
    )
}

/// Formats epoch seconds with a strftime pattern (UTC); an invalid
/// pattern gives `None` instead of a panic.
fn strftime(t: f64, fmt: &str) -> Option<String> {
    use std::fmt::Write as _;
    let d = chrono::DateTime::from_timestamp(t.floor() as i64, 0)?;
    let items: Vec<chrono::format::Item> = chrono::format::StrftimeItems::new(fmt).collect();
    if items
        .iter()
        .any(|i| matches!(i, chrono::format::Item::Error))
    {
        return None;
    }
    let mut out = String::new();
    write!(out, "{}", d.format_with_items(items.into_iter())).ok()?;
    Some(out)
}

/// Decodes `%XX` escapes and `+` (as space).
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(x) => {
                        out.push(x);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 (padding optional); `None` on invalid input.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim().bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The single field a predicate reads, when there is exactly one.
fn field_of(e: &CScalar) -> Option<String> {
    fn walk(e: &CScalar, out: &mut Vec<String>) {
        match e {
            CScalar::Field(f) => {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
            CScalar::Lit(_) => {}
            CScalar::List(xs) | CScalar::Call { args: xs, .. } => {
                xs.iter().for_each(|x| walk(x, out))
            }
            CScalar::Bin(_, a, b) => {
                walk(a, out);
                walk(b, out);
            }
            CScalar::Un(_, a) => walk(a, out),
        }
    }
    let mut v = Vec::new();
    walk(e, &mut v);
    (v.len() == 1).then(|| v.remove(0))
}

/// A row seen with one field narrowed to a single value (for `mvfilter`).
struct OneValue<'a> {
    rec: &'a dyn Record,
    field: &'a str,
    value: &'a [String],
}

impl Record for OneValue<'_> {
    fn values(&self, name: &str) -> Option<&[String]> {
        if name == self.field {
            Some(self.value)
        } else {
            self.rec.values(name)
        }
    }

    fn names(&self) -> Vec<&str> {
        self.rec.names()
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
