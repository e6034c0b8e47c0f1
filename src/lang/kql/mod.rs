//! The Kusto (KQL) front-end: Sentinel queries to the shared [`Query`] IR.
//!
//! The pipeline is `lexer` (tokens with byte spans, every string form) →
//! `parser` (statements, `let` bindings, one stage per pipe operator) →
//! `expr` (scalar expression trees) → `lower` (trees to [`Expr`] and
//! [`Scalar`](crate::ir::Scalar)).
//!
//! A query is a list of `;`-separated statements. `let` statements bind
//! names; the last other statement is the query that runs. Its first stage
//! is `source` ([`Operator::Source`](crate::ir::Operator::Source)) holding
//! the table name. When the source is a tabular `let` (or a function `let`
//! called with arguments, or a parenthesised query) its stages are inlined,
//! so the predicates of `let base = SigninLogs | where …; base | …` are
//! part of the query. Scalar `let` values are substituted where they are
//! used: `let procs = dynamic(["a.exe"]); T | where FileName in~ (procs)`
//! yields `FileName in [a.exe]`, case-insensitive.
//!
//! Predicates comparing a column with literals become [`Expr::Cmp`] with
//! the canonical operator and [`Flags`](crate::ir::Flags) (`==` is
//! case-sensitive, `=~` is not; negated operators such as `!has` become
//! `Not(Has)`, while `!=`/`!~` stay `Ne`). Anything else stays an
//! [`Expr::Scalar`]. In scalar trees, string operators without a
//! [`BinOp`](crate::ir::BinOp) are calls named after the operator
//! (`Call { name: "=~", args: [lhs, rhs] }`, `"in~"` with a list as its
//! second argument), indexing is `index(base, i)`, and a tabular
//! expression in scalar position is `tabular("<text>")`.
//!
//! # Limitations
//!
//! - Only the last tabular statement runs; earlier ones get an
//!   `extra-statement` warning. `set`/`declare` statements are skipped.
//! - Diagnostics of join/union subqueries are reported on the outer query;
//!   subquery `Query`s have empty `diagnostics`.
//! - `summarize` keys that are expressions are reduced to their output
//!   column name (`bin(TimeGenerated, 1h)` → `TimeGenerated`, `k = f(x)` →
//!   `k`): the bin size is not kept, because `Stats` has no place for
//!   computed keys. Aggregates over an expression keep its text as `field`.
//! - `project a = expr` keeps only the output name; the computed value is
//!   not evaluated. `project-reorder` keeps every column (`*`).
//! - `mv-expand` keeps its first column only; `parse` templates translate to
//!   a regex anchored at the start, with `int`/`long`/`real` columns
//!   matching numbers and other types matching any text. `kind=relaxed`
//!   is read like the default mode.
//! - Join keys `$left.a == $right.b` are written `a=b`.
//! - `render` and `as` become an `Eval` without assignments (rows are
//!   unchanged). Operators such as `make-series`, `evaluate`, `mv-apply`,
//!   `lookup`, `parse-where`, `search`, `datatable` are `Unsupported`.
//! - A `where` whose condition cannot be read becomes `Unsupported` with a
//!   diagnostic rather than a partial filter, so evaluation never runs a
//!   weaker condition than the rule states.
//! - Regular string literals end at a line break (Kusto does not allow
//!   one); an unclosed string is reported there and lexing resumes.
//! - Timespans (`7d`) are `Scalar::Num` with their unit as written.

mod expr;
mod lexer;
mod lower;
mod parser;

use crate::ir::Query;

#[cfg(doc)]
use crate::ir::Expr;

/// Parses KQL logic into the shared IR.
///
/// Never fails: unreadable parts become diagnostics with spans into
/// `logic`, and parsing resumes at the next stage or statement.
pub fn parse(logic: &str) -> Query {
    let mut diags = Vec::new();
    let toks = lexer::lex(logic, &mut diags);
    parser::Parser::new(logic, &toks, diags).parse_query()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::ir::{
        BinOp, Cmp, CmpOp, Expr, ExtractMode, Flags, Literal, Logic, Operator, Scalar, Stage,
    };

    fn q(text: &str) -> Query {
        parse(text)
    }

    /// The filter expression of the `n`th stage.
    fn filter(stage: &Stage) -> &Expr {
        match &stage.op {
            Operator::Filter { expr, logic } => {
                assert_eq!(*logic, Logic::ThreeValued);
                expr
            }
            op => panic!("not a filter: {op:?}"),
        }
    }

    /// The single comparison of `T | where <pred>`.
    fn cmp_of(pred: &str) -> Cmp {
        let text = format!("T | where {pred}");
        let query = q(&text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        match filter(&query.stages[1]) {
            Expr::Cmp(c) => c.clone(),
            e => panic!("{pred}: not a cmp: {e:?}"),
        }
    }

    /// The comparison under `Not` of `T | where <pred>`.
    fn not_cmp_of(pred: &str) -> Cmp {
        let query = q(&format!("T | where {pred}"));
        match filter(&query.stages[1]) {
            Expr::Not { child } => match &**child {
                Expr::Cmp(c) => c.clone(),
                e => panic!("{pred}: not a cmp: {e:?}"),
            },
            e => panic!("{pred}: not a negation: {e:?}"),
        }
    }

    fn values(c: &Cmp) -> Vec<&str> {
        c.values.iter().map(|l| l.value.as_str()).collect()
    }

    fn cs(case_sensitive: bool) -> Flags {
        Flags {
            case_sensitive,
            ..Flags::default()
        }
    }

    #[test]
    fn verbatim_string_backslash_is_not_an_escape() {
        let text = r#"SecurityEvent | where Account startswith @"CORP\" | project Account"#;
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        assert_eq!(query.stages.len(), 3);
        let kinds: Vec<&str> = query.stages.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["source", "where", "project"]);
        let Expr::Cmp(c) = filter(&query.stages[1]) else {
            panic!()
        };
        assert_eq!(c.field, "Account");
        assert_eq!(c.op, CmpOp::StartsWith);
        assert_eq!(
            c.values,
            vec![Literal {
                raw: r#"@"CORP\""#.into(),
                value: r"CORP\".into()
            }]
        );
        assert_eq!(c.flags, cs(false));
        assert_eq!(c.span.slice(text), r#"Account startswith @"CORP\""#);
        assert_eq!(query.stages[2].text, "project Account");
    }

    #[test]
    fn escaped_quotes_and_pipe_inside_string() {
        let text = r#"DeviceProcessEvents | where ProcessCommandLine has "say \"hi\" | now""#;
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        assert_eq!(query.stages.len(), 2);
        let Expr::Cmp(c) = filter(&query.stages[1]) else {
            panic!()
        };
        assert_eq!(c.op, CmpOp::Has);
        assert_eq!(values(c), ["say \"hi\" | now"]);
        assert_eq!(c.values[0].raw, r#""say \"hi\" | now""#);
        assert_eq!(
            query.stages[1].text,
            r#"where ProcessCommandLine has "say \"hi\" | now""#
        );
    }

    #[test]
    fn source_stage_and_spans() {
        let text = "SecurityEvent\n| where EventID == 4688\n| take 5";
        let query = q(text);
        let s = &query.stages[0];
        assert_eq!(
            (s.kind.as_str(), s.text.as_str()),
            ("source", "SecurityEvent")
        );
        assert_eq!(s.span, Span::new(0, 13));
        assert!(matches!(&s.op, Operator::Source { tables } if tables == &["SecurityEvent"]));
        assert_eq!(query.stages[1].span, Span::new(16, 37));
        assert_eq!(query.stages[1].text, "where EventID == 4688");
        let c = cmp_of("EventID == 4688");
        assert_eq!((c.field.as_str(), c.op), ("EventID", CmpOp::Eq));
        assert_eq!(c.values, vec![Literal::plain("4688")]);
        assert!(matches!(query.stages[2].op, Operator::Head { n: 5 }));
    }

    #[test]
    fn equality_operators() {
        let c = cmp_of("A == 'x'");
        assert_eq!((c.op, c.flags), (CmpOp::Eq, cs(true)));
        let c = cmp_of("A =~ 'x'");
        assert_eq!((c.op, c.flags), (CmpOp::Eq, cs(false)));
        let c = cmp_of("A != 'x'");
        assert_eq!((c.op, c.flags), (CmpOp::Ne, cs(true)));
        let c = cmp_of("A !~ 'x'");
        assert_eq!((c.op, c.flags), (CmpOp::Ne, cs(false)));
        let c = cmp_of("A <> 'x'");
        assert_eq!(c.op, CmpOp::Ne);
    }

    #[test]
    fn comparison_operators() {
        for (op, want) in [
            ("<", CmpOp::Lt),
            ("<=", CmpOp::Le),
            (">", CmpOp::Gt),
            (">=", CmpOp::Ge),
        ] {
            let c = cmp_of(&format!("Count {op} 10"));
            assert_eq!(c.op, want, "{op}");
            assert_eq!(values(&c), ["10"]);
        }
        let c = cmp_of("Delta > -1.5");
        assert_eq!(values(&c), ["-1.5"]);
    }

    #[test]
    fn has_family() {
        let c = cmp_of("A has 'x'");
        assert_eq!((c.op, c.flags), (CmpOp::Has, cs(false)));
        let c = cmp_of("A has_cs 'x'");
        assert_eq!((c.op, c.flags), (CmpOp::Has, cs(true)));
        let c = not_cmp_of("A !has 'x'");
        assert_eq!((c.op, c.flags), (CmpOp::Has, cs(false)));
        let c = not_cmp_of("A !has_cs 'x'");
        assert_eq!((c.op, c.flags), (CmpOp::Has, cs(true)));
        let c = cmp_of("A has_any ('x', 'y', 'z')");
        assert_eq!((c.op, c.flags), (CmpOp::Has, cs(false)));
        assert_eq!(values(&c), ["x", "y", "z"]);
        let c = cmp_of("A has_all ('x', 'y')");
        assert_eq!(c.op, CmpOp::Has);
        assert!(c.flags.all && !c.flags.case_sensitive);
    }

    #[test]
    fn contains_startswith_endswith() {
        for (op, want, sensitive, negated) in [
            ("contains", CmpOp::Contains, false, false),
            ("contains_cs", CmpOp::Contains, true, false),
            ("!contains", CmpOp::Contains, false, true),
            ("!contains_cs", CmpOp::Contains, true, true),
            ("notcontains", CmpOp::Contains, false, true),
            ("startswith", CmpOp::StartsWith, false, false),
            ("startswith_cs", CmpOp::StartsWith, true, false),
            ("!startswith", CmpOp::StartsWith, false, true),
            ("endswith", CmpOp::EndsWith, false, false),
            ("endswith_cs", CmpOp::EndsWith, true, false),
            ("!endswith", CmpOp::EndsWith, false, true),
        ] {
            let pred = format!("A {op} 'x'");
            let c = if negated {
                not_cmp_of(&pred)
            } else {
                cmp_of(&pred)
            };
            assert_eq!((c.op, c.flags), (want, cs(sensitive)), "{op}");
            assert_eq!(values(&c), ["x"]);
        }
    }

    #[test]
    fn matches_regex_is_unanchored_and_case_sensitive() {
        let c = cmp_of(r#"CommandLine matches regex @"\d+\.exe""#);
        assert_eq!(c.op, CmpOp::Match);
        assert_eq!(c.flags, cs(true));
        assert!(!c.flags.anchored);
        assert_eq!(values(&c), [r"\d+\.exe"]);
    }

    #[test]
    fn in_family() {
        let c = cmp_of("A in ('a', 'b')");
        assert_eq!((c.op, c.flags), (CmpOp::In, cs(true)));
        assert_eq!(values(&c), ["a", "b"]);
        let c = cmp_of("A in~ ('a', 'b')");
        assert_eq!((c.op, c.flags), (CmpOp::In, cs(false)));
        let c = not_cmp_of("A !in ('a')");
        assert_eq!((c.op, c.flags), (CmpOp::In, cs(true)));
        let c = not_cmp_of("A !in~ ('a')");
        assert_eq!((c.op, c.flags), (CmpOp::In, cs(false)));
        // Nested arrays are flattened.
        let c = cmp_of("EventID in (4624, dynamic([4625, [4634]]))");
        assert_eq!(values(&c), ["4624", "4625", "4634"]);
    }

    #[test]
    fn between_takes_two_values() {
        let c = cmp_of("Port between (1 .. 1024)");
        assert_eq!(c.op, CmpOp::Between);
        assert_eq!(values(&c), ["1", "1024"]);
        let c = not_cmp_of("Port !between (1 .. 1024)");
        assert_eq!(c.op, CmpOp::Between);
        // Non-literal bounds stay a scalar.
        let query = q("T | where TimeGenerated between (ago(1d) .. now())");
        let Expr::Scalar { expr, .. } = filter(&query.stages[1]) else {
            panic!()
        };
        let Scalar::Call { name, args } = expr else {
            panic!()
        };
        assert_eq!(name, "between");
        assert!(matches!(&args[1], Scalar::List { items } if items.len() == 2));
    }

    #[test]
    fn emptiness_and_nullness() {
        let c = cmp_of("isempty(A)");
        assert_eq!((c.op, c.flags.empty_is_null), (CmpOp::IsNull, true));
        assert!(c.values.is_empty());
        let c = cmp_of("isnotempty(A)");
        assert_eq!((c.op, c.flags.empty_is_null), (CmpOp::IsNotNull, true));
        let c = cmp_of("isnull(A)");
        assert_eq!((c.op, c.flags.empty_is_null), (CmpOp::IsNull, false));
        let c = cmp_of("isnotnull(A)");
        assert_eq!((c.op, c.flags.empty_is_null), (CmpOp::IsNotNull, false));
    }

    #[test]
    fn boolean_structure() {
        let query = q("T | where A == 1 and (B has 'x' or not(C =~ 'y'))");
        let Expr::And { children } = filter(&query.stages[1]) else {
            panic!()
        };
        assert!(matches!(&children[0], Expr::Cmp(c) if c.field == "A"));
        let Expr::Or { children: or } = &children[1] else {
            panic!()
        };
        assert!(matches!(&or[0], Expr::Cmp(c) if c.op == CmpOp::Has));
        assert!(
            matches!(&or[1], Expr::Not { child } if matches!(&**child, Expr::Cmp(c) if c.field == "C"))
        );
    }

    #[test]
    fn other_expressions_stay_scalar() {
        let query = q("T | where TimeGenerated > ago(1d) and tolower(A) == 'x' and A == B");
        let Expr::And { children } = filter(&query.stages[1]) else {
            panic!()
        };
        let Expr::Scalar { expr, span } = &children[0] else {
            panic!()
        };
        assert_eq!(
            span.slice("T | where TimeGenerated > ago(1d)"),
            "TimeGenerated > ago(1d)"
        );
        assert_eq!(
            *expr,
            Scalar::Binary {
                op: BinOp::Gt,
                lhs: Box::new(Scalar::Field {
                    name: "TimeGenerated".into()
                }),
                rhs: Box::new(Scalar::Call {
                    name: "ago".into(),
                    args: vec![Scalar::Num { text: "1d".into() }]
                }),
            }
        );
        assert!(
            matches!(&children[1], Expr::Scalar { expr: Scalar::Binary { lhs, .. }, .. }
            if matches!(&**lhs, Scalar::Call { name, .. } if name == "tolower"))
        );
        assert!(matches!(&children[2], Expr::Scalar { .. }));
        // Function names are lower-cased.
        let query = q("T | where ToLower(A) =~ 'x'");
        let Expr::Scalar { expr, .. } = filter(&query.stages[1]) else {
            panic!()
        };
        assert!(matches!(expr, Scalar::Call { name, args } if name == "=~"
            && matches!(&args[0], Scalar::Call { name, .. } if name == "tolower")));
    }

    #[test]
    fn let_lists_and_scalars_are_resolved() {
        let text = "let procs = dynamic([\"a.exe\",\"b.exe\"]);\nlet threshold = 5;\n\
                    let other = ('c.exe', 'd.exe');\n\
                    DeviceProcessEvents\n| where FileName in~ (procs) or FileName in (other)\n\
                    | where Count > threshold and A has_any (procs)";
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        assert_eq!(query.stages.len(), 3);
        let Expr::Or { children } = filter(&query.stages[1]) else {
            panic!()
        };
        let Expr::Cmp(c) = &children[0] else { panic!() };
        assert_eq!(
            (c.field.as_str(), c.op, c.flags),
            ("FileName", CmpOp::In, cs(false))
        );
        assert_eq!(values(c), ["a.exe", "b.exe"]);
        assert_eq!(c.values[0].raw, "\"a.exe\"");
        let Expr::Cmp(c) = &children[1] else { panic!() };
        assert_eq!(values(c), ["c.exe", "d.exe"]);
        let Expr::And { children } = filter(&query.stages[2]) else {
            panic!()
        };
        let Expr::Cmp(c) = &children[0] else { panic!() };
        assert_eq!((c.op, values(c)), (CmpOp::Gt, vec!["5"]));
        let Expr::Cmp(c) = &children[1] else { panic!() };
        assert_eq!((c.op, values(c)), (CmpOp::Has, vec!["a.exe", "b.exe"]));
    }

    #[test]
    fn let_scalars_resolve_inside_scalar_expressions() {
        let query = q("let lookback = 7d; T | where TimeGenerated > ago(lookback)");
        let Expr::Scalar { expr, .. } = filter(&query.stages[1]) else {
            panic!()
        };
        let Scalar::Binary { rhs, .. } = expr else {
            panic!()
        };
        assert_eq!(
            **rhs,
            Scalar::Call {
                name: "ago".into(),
                args: vec![Scalar::Num { text: "7d".into() }]
            }
        );
    }

    #[test]
    fn tabular_let_is_inlined() {
        let text = "let base = (SigninLogs | where ResultType == 50056);\n\
                    let t = 1h;\nbase\n| where TimeGenerated > ago(t)\n| count";
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        let kinds: Vec<&str> = query.stages.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["source", "where", "where", "count"]);
        assert_eq!(query.stages[0].text, "SigninLogs");
        assert_eq!(
            query.stages[1].span.slice(text),
            "where ResultType == 50056"
        );
        let Operator::Stats { aggs, by, .. } = &query.stages[3].op else {
            panic!()
        };
        assert_eq!(
            (aggs[0].func.as_str(), aggs[0].alias.as_deref()),
            ("count", Some("Count"))
        );
        assert!(by.is_empty());
    }

    #[test]
    fn function_let_is_kept_and_inlined_when_called() {
        let text = "let f = (a:string, n:int) { SecurityEvent | where Account == a | take n };\n\
                    let g = view () { Syslog };\nf('bob', 3) | project Account";
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        let kinds: Vec<&str> = query.stages.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["source", "where", "take", "project"]);
        let Expr::Cmp(c) = filter(&query.stages[1]) else {
            panic!()
        };
        assert_eq!(values(c), ["bob"]);
        assert!(matches!(query.stages[2].op, Operator::Head { n: 3 }));
        let query = q("let g = view () { Syslog | where A == 1 };\ng | take 1");
        assert_eq!(query.stages.len(), 3);
    }

    #[test]
    fn extend_and_project_family() {
        let text = "T | extend A = tolower(B), C = 1 + 2 | project A, X = C, D \
                    | project-away Tmp* | project-rename New = Old | project-keep A";
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        let Operator::Eval { assignments } = &query.stages[1].op else {
            panic!()
        };
        assert_eq!(assignments[0].name, "A");
        assert!(matches!(&assignments[0].value, Scalar::Call { name, .. } if name == "tolower"));
        assert!(matches!(
            &assignments[1].value,
            Scalar::Binary { op: BinOp::Add, .. }
        ));
        assert!(matches!(&query.stages[2].op,
            Operator::Project { fields, keep: true } if fields == &["A", "X", "D"]));
        assert!(matches!(&query.stages[3].op,
            Operator::Project { fields, keep: false } if fields == &["Tmp*"]));
        assert!(matches!(&query.stages[4].op,
            Operator::Rename { pairs } if pairs == &[("Old".to_string(), "New".to_string())]));
        assert_eq!(query.stages[3].kind, "project-away");
        assert!(matches!(
            &query.stages[5].op,
            Operator::Project { keep: true, .. }
        ));
    }

    #[test]
    fn summarize_with_bin() {
        let text = "T | summarize Count = count(), dcount(Computer), make_set(Account, 100) \
                    by bin(TimeGenerated, 1h), Host = tolower(Computer), Account";
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        assert_eq!(query.stages[1].kind, "summarize");
        let Operator::Stats { mode, aggs, by } = &query.stages[1].op else {
            panic!()
        };
        assert_eq!(*mode, crate::ir::StatsMode::Stats);
        assert_eq!(by, &["TimeGenerated", "Host", "Account"]);
        assert_eq!(
            (
                aggs[0].func.as_str(),
                aggs[0].field.as_deref(),
                aggs[0].alias.as_deref()
            ),
            ("count", None, Some("Count"))
        );
        assert_eq!(
            (aggs[1].func.as_str(), aggs[1].field.as_deref()),
            ("dcount", Some("Computer"))
        );
        assert_eq!(
            (aggs[2].func.as_str(), aggs[2].field.as_deref()),
            ("make_set", Some("Account"))
        );
    }

    #[test]
    fn sort_top_take_distinct() {
        let query = q(
            "T | sort by A asc, B | order by C desc nulls last | top 10 by Count \
                       | take 5 | limit 2 | distinct A, B",
        );
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        let Operator::Sort { keys, limit } = &query.stages[1].op else {
            panic!()
        };
        assert_eq!(*limit, None);
        assert_eq!((keys[0].field.as_str(), keys[0].descending), ("A", false));
        // Kusto sorts descending unless told otherwise.
        assert_eq!((keys[1].field.as_str(), keys[1].descending), ("B", true));
        assert_eq!(query.stages[2].kind, "order");
        let Operator::Sort { keys, limit } = &query.stages[3].op else {
            panic!()
        };
        assert_eq!((*limit, keys[0].field.as_str()), (Some(10), "Count"));
        assert!(matches!(query.stages[4].op, Operator::Head { n: 5 }));
        assert!(matches!(query.stages[5].op, Operator::Head { n: 2 }));
        let Operator::Stats { aggs, by, .. } = &query.stages[6].op else {
            panic!()
        };
        assert!(aggs.is_empty());
        assert_eq!(by, &["A", "B"]);
    }

    #[test]
    fn join_with_subquery() {
        let text = "SecurityEvent | where EventID == 4624\n\
                    | join kind=inner hint.strategy=broadcast (\n  SecurityEvent | where EventID == 4688\n) \
                    on $left.Account == $right.SubjectAccount, Computer";
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        let Operator::Join {
            kind,
            fields,
            subquery,
        } = &query.stages[2].op
        else {
            panic!()
        };
        assert_eq!(kind.as_deref(), Some("inner"));
        assert_eq!(fields, &["Account=SubjectAccount", "Computer"]);
        assert_eq!(subquery.stages.len(), 2);
        let Expr::Cmp(c) = filter(&subquery.stages[1]) else {
            panic!()
        };
        assert_eq!(values(c), ["4688"]);
        let query = q("let R = T2 | where X == 1; T | join kind=leftanti R on Id");
        let Operator::Join {
            subquery, fields, ..
        } = &query.stages[1].op
        else {
            panic!()
        };
        assert_eq!(subquery.stages.len(), 2);
        assert_eq!(fields, &["Id"]);
    }

    #[test]
    fn union_tables_and_subqueries() {
        let query = q("union isfuzzy=true A, B*, (C | where X == 1) | where Y == 2");
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        assert_eq!(query.stages[0].kind, "union");
        let Operator::Union { tables, subqueries } = &query.stages[0].op else {
            panic!()
        };
        assert_eq!(tables, &["A", "B*"]);
        assert_eq!(subqueries[0].stages.len(), 2);
        let query = q("let x = T | where A == 1; (union x, Y)");
        let Operator::Union { tables, subqueries } = &query.stages[0].op else {
            panic!()
        };
        assert_eq!(tables, &["Y"]);
        assert_eq!(subqueries.len(), 1);
        let query = q("T | union U");
        assert!(matches!(&query.stages[1].op, Operator::Union { tables, .. } if tables == &["U"]));
    }

    #[test]
    fn parse_template_becomes_regex() {
        let query = q(r#"T | parse EventData with * "User=" User:string " Port=" Port:int " " *"#);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        let Operator::Extract {
            field,
            pattern,
            mode,
            ..
        } = &query.stages[1].op
        else {
            panic!()
        };
        assert_eq!(field, "EventData");
        assert_eq!(*mode, ExtractMode::Template);
        assert_eq!(pattern, r"^.*?User=(?P<User>.*?) Port=(?P<Port>-?\d+) .*");
        let re = regex::Regex::new(pattern).expect("translated template is a valid regex");
        let caps = re.captures("x User=bob Port=42 y").expect("matches");
        assert_eq!((&caps["User"], &caps["Port"]), ("bob", "42"));
        let query = q(r#"T | parse kind=regex Msg with "id=" Id @"\s" Rest"#);
        let Operator::Extract { pattern, .. } = &query.stages[1].op else {
            panic!()
        };
        assert_eq!(pattern, r"^id=(?P<Id>.*?)\s(?P<Rest>.*)$");
    }

    #[test]
    fn mv_expand_and_unknown_operators() {
        let query = q(
            "T | mv-expand Item = Items to typeof(string) | mvexpand X | frobnicate 3 \
                       | make-series count() on T step 1h | render timechart",
        );
        let Operator::MvExpand { field } = &query.stages[1].op else {
            panic!()
        };
        assert_eq!(field, "Items");
        assert_eq!(query.stages[1].kind, "mv-expand");
        assert!(matches!(&query.stages[2].op, Operator::MvExpand { field } if field == "X"));
        assert!(
            matches!(&query.stages[3].op, Operator::Unsupported { command } if command == "frobnicate")
        );
        assert!(
            matches!(&query.stages[4].op, Operator::Unsupported { command } if command == "make-series")
        );
        assert!(
            matches!(&query.stages[5].op, Operator::Eval { assignments } if assignments.is_empty())
        );
        assert_eq!(query.diagnostics.len(), 1);
        assert_eq!(query.diagnostics[0].code, "unknown-operator");
    }

    #[test]
    fn pipes_in_parens_and_comments_do_not_split() {
        let text = "T // a | comment\n| where A in (B | distinct B) | extend s = strcat('|', x)";
        let query = q(text);
        assert_eq!(query.stages.len(), 3, "{:?}", query.stages);
        let Expr::Scalar { expr, .. } = filter(&query.stages[1]) else {
            panic!()
        };
        assert!(matches!(expr, Scalar::Call { name, args } if name == "in"
            && matches!(&args[1], Scalar::Call { name, .. } if name == "tabular")));
    }

    #[test]
    fn bad_where_is_reported_and_parsing_continues() {
        let text = "T | where A == | where B == 'x' | take";
        let query = q(text);
        assert_eq!(query.stages.len(), 4);
        assert!(
            matches!(&query.stages[1].op, Operator::Unsupported { command } if command == "where")
        );
        assert!(matches!(&query.stages[2].op, Operator::Filter { .. }));
        assert!(matches!(&query.stages[3].op, Operator::Unsupported { .. }));
        let codes: Vec<&str> = query.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["expected-expression", "expected-expression"]);
        assert_eq!(query.diagnostics[0].span, Some(Span::new(14, 14)));
    }

    #[test]
    fn empty_and_let_only_queries_have_diagnostics() {
        assert_eq!(q("").diagnostics[0].code, "missing-query");
        assert_eq!(q("let x = 1;").diagnostics[0].code, "missing-query");
        let query = q("T | | take 1");
        assert_eq!(query.diagnostics[0].code, "empty-stage");
        assert_eq!(query.stages.len(), 2);
    }

    #[test]
    fn multiline_query_with_h_strings_and_quoted_names() {
        let text = "SecurityEvent\n| where ['Event ID'] == 1 and Cmd has h'mimikatz'\n";
        let query = q(text);
        assert!(query.diagnostics.is_empty(), "{:?}", query.diagnostics);
        let Expr::And { children } = filter(&query.stages[1]) else {
            panic!()
        };
        assert!(matches!(&children[0], Expr::Cmp(c) if c.field == "Event ID"));
        assert!(
            matches!(&children[1], Expr::Cmp(c) if c.values[0].raw == "h'mimikatz'"
            && c.values[0].value == "mimikatz")
        );
    }
}

#[cfg(test)]
mod nesting_tests {
    use super::parse;

    #[test]
    fn deeply_nested_queries_do_not_overflow_the_stack() {
        let n = 300;
        let joins = format!(
            "{}{}",
            "T | join (".repeat(n),
            format!("T | where {}a == 1{}", "(".repeat(70), ")".repeat(70)) + &")".repeat(n)
        );
        let q = parse(&joins);
        assert!(q.diagnostics.iter().any(|d| d.code == "too-deep"));
        let lets: String = (0..300)
            .map(|i| format!("let t{} = t{} | where a == {i};\n", i + 1, i))
            .collect();
        let q = parse(&format!("let t0 = T;\n{lets}t300 | take 1"));
        assert!(q.diagnostics.iter().any(|d| d.code == "too-deep"));
        // Each let uses the previous one twice: inlining all would take 2^40 steps.
        let lets: String = (0..40)
            .map(|i| format!("let t{} = t{i} | join (t{i}) on a;\n", i + 1))
            .collect();
        let q = parse(&format!("let t0 = T;\n{lets}t40 | take 1"));
        assert!(q
            .diagnostics
            .iter()
            .any(|d| d.code == "too-many-expansions"));
        let parens = format!("T | where {}", "(".repeat(100_000));
        assert!(!parse(&parens).diagnostics.is_empty());
    }
}
