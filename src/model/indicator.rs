//! Walks a query's stages and collects its indicators and search terms.

use serde::Serialize;

use super::alias::canonical_field;
use super::value::normalize;
use crate::ir::{Cmp, CmpOp, Expr, Flags, Operator, Query, Term, Wildcard};

/// One field-operator-value a rule tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Indicator {
    /// 1-based stage number the predicate sits in.
    pub stage: usize,
    /// The canonical field name (see [`super::alias`]).
    pub field: String,
    /// The field as the rule spells it.
    pub source_field: String,
    /// The operator as shown on the page: canonical, `not ` prefixed when
    /// the predicate is negated (`NOT f=v` shows as `ne`).
    pub kind: String,
    /// The value as the rule spells it (quotes kept).
    pub value: String,
    /// The counting key: canonical field, the operator the comparison
    /// amounts to, and the normalised value, separated by U+001F.
    pub key: String,
}

/// A bare search term with its stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchTerm {
    /// 1-based stage number.
    pub stage: usize,
    /// The term as written (`netscan` quoted or not, `TERM(EventCode=1)`).
    pub term: String,
}

/// Every indicator of `query`, in source order, without repeats of the
/// same key within one stage.
pub fn indicators(query: &Query) -> Vec<Indicator> {
    let mut out: Vec<Indicator> = Vec::new();
    for (i, stage) in query.stages.iter().enumerate() {
        let n = i + 1;
        for_each_filter(&stage.op, &mut |expr| {
            collect(expr, false, n, &mut out);
        });
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|ind| seen.insert((ind.stage, ind.key.clone())));
    out
}

/// Every bare search term of `query`, in source order.
pub fn search_terms(query: &Query) -> Vec<SearchTerm> {
    let mut out = Vec::new();
    for (i, stage) in query.stages.iter().enumerate() {
        for_each_filter(&stage.op, &mut |expr| {
            expr.for_each_term(&mut |t: &Term| {
                out.push(SearchTerm {
                    stage: i + 1,
                    term: t.text.clone(),
                })
            });
        });
    }
    out
}

/// Calls `f` on each filter expression an operator carries.
fn for_each_filter<'a>(op: &'a Operator, f: &mut impl FnMut(&'a Expr)) {
    match op {
        Operator::Filter { expr, .. } => f(expr),
        Operator::Tstats {
            filter: Some(expr), ..
        } => f(expr),
        _ => {}
    }
}

fn collect(expr: &Expr, negated: bool, stage: usize, out: &mut Vec<Indicator>) {
    match expr {
        Expr::And { children } | Expr::Or { children } => {
            for c in children {
                collect(c, negated, stage, out);
            }
        }
        Expr::Not { child } => collect(child, !negated, stage, out),
        Expr::Cmp(cmp) => push_cmp(cmp, negated, stage, out),
        Expr::Term(term) => {
            if let Some(cmp) = term_as_cmp(term) {
                push_cmp(&cmp, negated, stage, out);
            }
        }
        Expr::Macro(_) | Expr::Scalar { .. } => {}
    }
}

/// `TERM(EventCode=1)` also states the indicator `EventCode eq 1`: the
/// indexed token only occurs where the field has that value.
fn term_as_cmp(term: &Term) -> Option<Cmp> {
    if !term.whole_token {
        return None;
    }
    let (field, value) = term.value.split_once('=')?;
    let valid = !field.is_empty()
        && !value.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    valid.then(|| Cmp {
        field: field.to_string(),
        op: CmpOp::Eq,
        values: vec![crate::ir::Literal::plain(value)],
        flags: Flags {
            case_sensitive: term.case_sensitive,
            wildcard: Wildcard::Glob,
            ..Flags::default()
        },
        span: term.span,
    })
}

fn push_cmp(cmp: &Cmp, negated: bool, stage: usize, out: &mut Vec<Indicator>) {
    let field = canonical_field(&cmp.field);
    // `in` and `has_any` list several values; each is counted on its own,
    // as the equality (or term test) it is, so `f IN (a, b)` and `f=a`
    // share the key `f eq a`.
    let counted_op = match cmp.op {
        CmpOp::In => CmpOp::Eq,
        op => op,
    };
    let (shown, counted_op) = match (negated, cmp.op) {
        (true, CmpOp::Eq) => ("ne".to_string(), CmpOp::Ne),
        (true, CmpOp::Ne) => ("eq".to_string(), CmpOp::Eq),
        (true, op) => (format!("not {op}"), counted_op),
        (false, op) => (op.to_string(), counted_op),
    };
    let negated_key = negated && !matches!(cmp.op, CmpOp::Eq | CmpOp::Ne);
    if cmp.values.is_empty() {
        out.push(Indicator {
            stage,
            field: field.clone(),
            source_field: cmp.field.clone(),
            kind: shown,
            value: String::new(),
            key: key(&field, negated_key, cmp.op.as_str(), ""),
        });
        return;
    }
    let values: Vec<_> = if cmp.op == CmpOp::Between {
        let joined = cmp
            .values
            .iter()
            .map(|v| v.value.as_str())
            .collect::<Vec<_>>()
            .join("..");
        let raw = cmp
            .values
            .iter()
            .map(|v| v.raw.as_str())
            .collect::<Vec<_>>()
            .join(" .. ");
        vec![(raw, joined)]
    } else {
        cmp.values
            .iter()
            .map(|v| (v.raw.clone(), v.value.clone()))
            .collect()
    };
    for (raw, value) in values {
        let n = normalize(counted_op, &value, cmp.flags);
        out.push(Indicator {
            stage,
            field: field.clone(),
            source_field: cmp.field.clone(),
            kind: shown.clone(),
            value: raw,
            key: key(&field, negated_key, n.op.as_str(), &n.value),
        });
    }
}

fn key(field: &str, negated: bool, op: &str, value: &str) -> String {
    let not = if negated { "not " } else { "" };
    format!("{field}\u{1f}{not}{op}\u{1f}{value}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::ir::{Literal, Logic, Stage};

    fn cmp(field: &str, op: CmpOp, raw: &str, value: &str, flags: Flags) -> Expr {
        Expr::Cmp(Cmp {
            field: field.into(),
            op,
            values: vec![Literal {
                raw: raw.into(),
                value: value.into(),
            }],
            flags,
            span: Span::default(),
        })
    }

    fn query(expr: Expr) -> Query {
        Query {
            stages: vec![Stage {
                kind: "search".into(),
                text: String::new(),
                span: Span::default(),
                op: Operator::Filter {
                    expr,
                    logic: Logic::Search,
                },
            }],
            diagnostics: vec![],
        }
    }

    #[test]
    fn term_yields_indicator_and_search_term() {
        let t = Expr::Term(Term {
            text: "TERM(EventCode=1)".into(),
            value: "EventCode=1".into(),
            whole_token: true,
            case_sensitive: false,
            span: Span::default(),
        });
        let q = query(t);
        let ind = indicators(&q);
        assert_eq!(ind.len(), 1);
        assert_eq!(
            (
                ind[0].field.as_str(),
                ind[0].kind.as_str(),
                ind[0].value.as_str()
            ),
            ("EventCode", "eq", "1")
        );
        assert_eq!(search_terms(&q)[0].term, "TERM(EventCode=1)");
    }

    #[test]
    fn aliases_and_numbers_share_a_key() {
        let a = indicators(&query(cmp(
            "EventID",
            CmpOp::Eq,
            "4688",
            "4688",
            Flags::default(),
        )));
        let b = indicators(&query(cmp(
            "EventCode",
            CmpOp::Eq,
            "\"4688\"",
            "4688",
            Flags::default(),
        )));
        assert_eq!(a[0].key, b[0].key);
        assert_eq!(b[0].value, "\"4688\"");
    }

    #[test]
    fn negation_is_part_of_the_key() {
        let not_eq = Expr::Not {
            child: Box::new(cmp("user", CmpOp::Eq, "x", "x", Flags::default())),
        };
        let ind = indicators(&query(not_eq));
        assert_eq!(ind[0].kind, "ne");
        let not_match = Expr::Not {
            child: Box::new(cmp("p", CmpOp::Match, "\"a\"", "a", Flags::default())),
        };
        let ind = indicators(&query(not_match));
        assert_eq!(ind[0].kind, "not match");
        assert!(ind[0].key.contains("not match"));
    }
}
