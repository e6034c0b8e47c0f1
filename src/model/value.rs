//! Value normalisation, so one indicator has one key whatever its spelling.
//!
//! The rules, in order:
//! - Numbers compare as numbers: `4688`, `04688` and `4688.0` share a key.
//! - Case-insensitive comparisons lower-case the value; case-sensitive ones
//!   keep it (a KQL `==` on `CMD.EXE` is not the same test as `=~`).
//! - Wildcard patterns are rewritten to the operator they amount to, so the
//!   languages meet: SPL `*netscan*`, SQL `%netscan%` and KQL `contains`
//!   all become `contains netscan`; `x*`/`x%` → `startswith`, `*x`/`%x` →
//!   `endswith`; other patterns become `like` in SQL syntax (`*` → `%`).
//!   A SQL pattern with `_` stays `like`, since `_` is a one-character
//!   wildcard, not a literal.
//! - Regexes are kept verbatim: two regexes are the same indicator only
//!   when they are spelled the same.

use crate::ir::{CmpOp, Flags, Wildcard};

/// A value's counting form: possibly a different operator, and the key text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// The operator the comparison amounts to.
    pub op: CmpOp,
    /// The normalised value.
    pub value: String,
}

/// Normalises `value` compared with `op` under `flags`.
pub fn normalize(op: CmpOp, value: &str, flags: Flags) -> Normalized {
    let fold = |v: &str| {
        if flags.case_sensitive {
            v.to_string()
        } else {
            v.to_lowercase()
        }
    };
    if let Some(n) = number(value) {
        if !matches!(op, CmpOp::Match | CmpOp::Like) {
            return Normalized { op, value: n };
        }
    }
    let pattern = match (op, flags.wildcard) {
        (CmpOp::Eq | CmpOp::In, Wildcard::Glob) if value.contains('*') => {
            Some(simplify(value, '*', &['*']))
        }
        (CmpOp::Like, _) => Some(simplify(value, '%', &['%', '_'])),
        _ => None,
    };
    match pattern {
        Some((op, v)) => Normalized {
            op,
            value: fold(&v),
        },
        None if op == CmpOp::Match => Normalized {
            op,
            value: value.to_string(),
        },
        None => Normalized {
            op,
            value: fold(value),
        },
    }
}

/// A canonical decimal spelling when `value` is a plain number.
fn number(value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return None;
    }
    let n: f64 = v.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    Some(if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    })
}

/// Reduces a wildcard pattern to the operator it amounts to.
///
/// `run` is the any-run wildcard (`*` in a glob, `%` in SQL) and `wild`
/// every wildcard character of the syntax. `%x%` → contains, `x%` →
/// startswith, `%x` → endswith; anything else stays `like`, spelled in SQL
/// syntax so globs and SQL patterns share keys (a glob's `%` or `_` is
/// literal and cannot be said in SQL without ESCAPE; such values are rare
/// enough in indicators that the key tolerates the overlap).
fn simplify(p: &str, run: char, wild: &[char]) -> (CmpOp, String) {
    if p.chars().all(|c| c == run) {
        // `f=*` is "f exists": the same test as isnotnull.
        return (CmpOp::IsNotNull, String::new());
    }
    let starts = p.starts_with(run);
    let ends = p.len() > 1 && p.ends_with(run);
    let core = &p[usize::from(starts)..p.len() - usize::from(ends)];
    if core.contains(wild) {
        return (CmpOp::Like, p.replace('*', "%"));
    }
    let op = match (starts, ends) {
        (true, true) => CmpOp::Contains,
        (false, true) => CmpOp::StartsWith,
        (true, false) => CmpOp::EndsWith,
        (false, false) => CmpOp::Eq,
    };
    (op, core.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(wildcard: Wildcard) -> Flags {
        Flags {
            wildcard,
            ..Flags::default()
        }
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let f = Flags::default();
        assert_eq!(normalize(CmpOp::Eq, "04688", f).value, "4688");
        assert_eq!(normalize(CmpOp::Eq, "1.0", f).value, "1");
        assert_eq!(normalize(CmpOp::Gt, "2.5", f).value, "2.5");
    }

    #[test]
    fn wildcards_meet_across_languages() {
        let spl = normalize(CmpOp::Eq, "*NetScan*", ci(Wildcard::Glob));
        let sql = normalize(CmpOp::Like, "%netscan%", ci(Wildcard::Sql));
        assert_eq!(spl, sql);
        assert_eq!(spl.op, CmpOp::Contains);
        assert_eq!(
            normalize(CmpOp::Eq, "*\\cmd.exe", ci(Wildcard::Glob)).op,
            CmpOp::EndsWith
        );
        assert_eq!(
            normalize(CmpOp::Eq, "svc_*", ci(Wildcard::Glob)).op,
            CmpOp::StartsWith
        );
    }

    #[test]
    fn sql_underscore_is_a_wildcard() {
        let n = normalize(CmpOp::Like, "%netscan_portable%", ci(Wildcard::Sql));
        assert_eq!(n.op, CmpOp::Like);
        assert_eq!(n.value, "%netscan_portable%");
    }

    #[test]
    fn case_follows_the_operator() {
        let cs = Flags {
            case_sensitive: true,
            ..Flags::default()
        };
        assert_eq!(normalize(CmpOp::Eq, "CMD.EXE", cs).value, "CMD.EXE");
        assert_eq!(
            normalize(CmpOp::Eq, "CMD.EXE", Flags::default()).value,
            "cmd.exe"
        );
        // Regexes are never folded: (?i) already says what they mean.
        assert_eq!(
            normalize(CmpOp::Match, "(?i)A", Flags::default()).value,
            "(?i)A"
        );
    }
}
