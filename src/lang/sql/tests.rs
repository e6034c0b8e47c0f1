//! Unit tests of the SQL front-end: stages, one test per operator, the
//! escaping and anchoring traps, and recovery from malformed rules.

use super::parse;
use crate::diag::{Position, Severity};
use crate::ir::{Cmp, CmpOp, Expr, Operator, Query, Scalar, Wildcard};

/// All `Cmp` leaves of the query's filters, in order.
fn cmps(q: &Query) -> Vec<Cmp> {
    let mut out = Vec::new();
    for s in &q.stages {
        if let Operator::Filter { expr, .. } = &s.op {
            expr.for_each_cmp(&mut |c| out.push(c.clone()));
        }
    }
    out
}

/// The filter expression of the `where` stage.
fn where_expr(q: &Query) -> Expr {
    q.stages
        .iter()
        .find_map(|s| match (&s.kind[..], &s.op) {
            ("where", Operator::Filter { expr, .. }) => Some(expr.clone()),
            _ => None,
        })
        .expect("a where stage")
}

/// The single `Cmp` of `select * from t where <cond>`.
fn one(cond: &str) -> Cmp {
    let sql = format!("select * from t where {cond}");
    let q = parse(&sql);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    let c = cmps(&q);
    assert_eq!(c.len(), 1, "{c:?}");
    let c = c.into_iter().next().expect("one cmp");
    // The span covers the predicate exactly.
    assert_eq!(c.span.slice(&sql), cond, "span of {cond}");
    c
}

#[test]
fn stages_in_clause_order_with_texts() {
    let sql = "select user_name, count(*) as n from logs where a = 1 group by user_name \
               having count(*) > 3 qualify n > 1 order by n desc limit 10";
    let q = parse(sql);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    let kinds: Vec<_> = q.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["from", "where", "group by", "having", "qualify", "select", "order by", "limit"]
    );
    let texts: Vec<_> = q.stages.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts[0], "from logs");
    assert_eq!(texts[1], "where a = 1");
    assert_eq!(texts[2], "group by user_name");
    assert_eq!(texts[5], "select user_name, count(*) as n");
    for s in &q.stages {
        assert_eq!(s.span.slice(sql), s.text);
    }
    match &q.stages[0].op {
        Operator::Source { tables } => assert_eq!(tables, &["logs"]),
        o => panic!("{o:?}"),
    }
    match &q.stages[2].op {
        Operator::Stats { aggs, by, .. } => {
            assert_eq!(by, &["user_name"]);
            assert_eq!(aggs[0].func, "count");
            assert_eq!(aggs[0].field, None);
            assert_eq!(aggs[0].alias.as_deref(), Some("n"));
        }
        o => panic!("{o:?}"),
    }
    match &q.stages[5].op {
        Operator::Project { fields, keep } => {
            assert_eq!(fields, &["user_name", "n"]);
            assert!(keep);
        }
        o => panic!("{o:?}"),
    }
    match &q.stages[7].op {
        Operator::Head { n } => assert_eq!(*n, 10),
        o => panic!("{o:?}"),
    }
}

#[test]
fn select_star_keeps_everything() {
    let q = parse("select * from t");
    match &q.stages.last().expect("stage").op {
        Operator::Project { fields, keep } => {
            assert_eq!(fields, &["*"]);
            assert!(keep);
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn eq_is_case_sensitive() {
    let c = one("status = '200'");
    assert_eq!((c.field.as_str(), c.op), ("status", CmpOp::Eq));
    assert!(c.flags.case_sensitive);
    assert_eq!(c.values[0].raw, "'200'");
    assert_eq!(c.values[0].value, "200");
    let c = one("dest_port=22");
    assert_eq!((c.op, c.values[0].value.as_str()), (CmpOp::Eq, "22"));
}

#[test]
fn ne_and_comparisons() {
    assert_eq!(one("a != 'x'").op, CmpOp::Ne);
    assert_eq!(one("a <> 'x'").op, CmpOp::Ne);
    assert_eq!(one("a < 1").op, CmpOp::Lt);
    assert_eq!(one("a <= 1").op, CmpOp::Le);
    assert_eq!(one("a > 1").op, CmpOp::Gt);
    assert_eq!(one("a >= -1").values[0].value, "-1");
    // A literal on the left flips the operator.
    let c = one("5 < a");
    assert_eq!((c.field.as_str(), c.op), ("a", CmpOp::Gt));
}

#[test]
fn in_and_not_in() {
    let c = one("a in ('x', 'y')");
    assert_eq!(c.op, CmpOp::In);
    assert_eq!(c.values.len(), 2);
    let q = parse("select * from t where a not in ('x')");
    match where_expr(&q) {
        Expr::Not { child } => assert!(matches!(*child, Expr::Cmp(ref c) if c.op == CmpOp::In)),
        e => panic!("{e:?}"),
    }
}

#[test]
fn ilike_and_like() {
    let c = one("p ilike '%Win%'");
    assert_eq!(c.op, CmpOp::Like);
    assert!(!c.flags.case_sensitive);
    assert_eq!(c.flags.wildcard, Wildcard::Sql);
    let c = one("p like 'a_b%'");
    assert!(c.flags.case_sensitive);
    assert_eq!(c.values[0].value, "a_b%");
}

#[test]
fn ilike_any_is_several_likes() {
    let sql = "select * from t where p ilike any ('%a%', '%b%')";
    let q = parse(sql);
    match where_expr(&q) {
        Expr::Or { children } => assert_eq!(children.len(), 2),
        e => panic!("{e:?}"),
    }
    let c = cmps(&q);
    assert!(c
        .iter()
        .all(|c| c.op == CmpOp::Like && !c.flags.case_sensitive));
    assert_eq!(c[1].values[0].value, "%b%");
    assert_eq!(c[0].span.slice(sql), "p ilike any ('%a%', '%b%')");
}

#[test]
fn regexp_like_is_anchored_match() {
    let c = one("regexp_like(p, '.*a.*', 'i')");
    assert_eq!(c.op, CmpOp::Match);
    assert!(c.flags.anchored);
    assert!(!c.flags.case_sensitive);
    let c = one("regexp_like(p, '.*a.*')");
    assert!(c.flags.case_sensitive && c.flags.anchored);
    let c = one("p rlike 'x.*'");
    assert!(c.flags.case_sensitive && c.flags.anchored);
    assert_eq!(c.op, CmpOp::Match);
    let c = one("p regexp 'x.*'");
    assert_eq!(c.op, CmpOp::Match);
    let c = one("rlike(p, 'x', 'i')");
    assert!(!c.flags.case_sensitive);
}

#[test]
fn trap12_anchoring_is_recorded() {
    // REGEXP_LIKE('powershell.exe -enc', 'enc') is FALSE in Snowflake:
    // the value must be matched whole, which the flag tells the evaluator.
    let c = one("regexp_like(cmd, 'enc')");
    assert!(c.flags.anchored);
    assert_eq!(c.values[0].value, "enc");
}

#[test]
fn trap13_escapes_in_regex_values() {
    let c = one(r"cmd rlike '.*\\.exe'");
    assert_eq!(c.values[0].value, r".*\.exe");
    assert_eq!(c.values[0].raw, r"'.*\\.exe'");
    let c = one(r"cmd rlike '.*\.exe'");
    assert_eq!(c.values[0].value, ".*.exe");
}

#[test]
fn contains_startswith_endswith() {
    let c = one("contains(p, 'x')");
    assert_eq!((c.op, c.flags.case_sensitive), (CmpOp::Contains, true));
    assert_eq!(one("startswith(p, 'x')").op, CmpOp::StartsWith);
    assert_eq!(one("endswith(p, 'x')").op, CmpOp::EndsWith);
}

#[test]
fn array_contains_is_eq_on_the_array() {
    let c = one("array_contains('admin'::variant, roles)");
    assert_eq!((c.field.as_str(), c.op), ("roles", CmpOp::Eq));
    assert_eq!(c.values[0].value, "admin");
}

#[test]
fn null_checks_and_between() {
    assert_eq!(one("a is null").op, CmpOp::IsNull);
    assert_eq!(one("a is not null").op, CmpOp::IsNotNull);
    let c = one("a between 1 and 5");
    assert_eq!(c.op, CmpOp::Between);
    assert_eq!(c.values.len(), 2);
}

#[test]
fn boolean_tree() {
    let q = parse("select * from t where a = 1 and (b = 2 or not c = 3) and d = 4");
    match where_expr(&q) {
        Expr::And { children } => {
            assert_eq!(children.len(), 3);
            match &children[1] {
                Expr::Or { children } => assert!(matches!(children[1], Expr::Not { .. })),
                e => panic!("{e:?}"),
            }
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn other_expressions_are_scalars() {
    let sql = "select * from t where event_time > dateadd(hour, -2, sysdate())";
    let q = parse(sql);
    match where_expr(&q) {
        Expr::Scalar { expr, span } => {
            assert_eq!(span.slice(sql), "event_time > dateadd(hour, -2, sysdate())");
            let Scalar::Binary { rhs, .. } = expr else {
                panic!("{expr:?}")
            };
            let Scalar::Call { name, args } = *rhs else {
                panic!()
            };
            assert_eq!(name, "dateadd");
            assert_eq!(args[1], Scalar::Num { text: "-2".into() });
            assert!(matches!(&args[0], Scalar::Str { lit } if lit.value == "hour"));
            assert!(matches!(&args[2], Scalar::Call { name, .. } if name == "sysdate"));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn placeholders_keep_offsets() {
    let sql = "select * from t where to_timestamp(date_part(epoch_second, event_time)) < $latest$and a = 'x'";
    let q = parse(sql);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    let c = cmps(&q);
    assert_eq!(c[0].span.slice(sql), "a = 'x'");
    let mut found = false;
    if let Expr::And { children } = where_expr(&q) {
        if let Expr::Scalar {
            expr: Scalar::Binary { rhs, .. },
            ..
        } = &children[0]
        {
            found = matches!(rhs.as_ref(), Scalar::Call { name, args } if name == "$latest$" && args.is_empty());
        }
    }
    assert!(found, "{:?}", where_expr(&q));
}

#[test]
fn netscan_rule_24804_45870() {
    let sql = "select * from crowdstrikefdr_process where event_time > dateadd(hour, -2,\nsysdate()) and event_platform ilike '%Win%' and (process_path ilike '%netscan_portable%'\nor regexp_like(process_path, '.*netscan(32|64)\\\\\\.exe.*', 'i')) ";
    let q = parse(sql);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    let c = cmps(&q);
    assert_eq!(c.len(), 3);
    assert_eq!(c[1].field, "process_path");
    assert_eq!(
        (c[1].op, c[1].values[0].value.as_str()),
        (CmpOp::Like, "%netscan_portable%")
    );
    assert!(!c[1].flags.case_sensitive);
    assert_eq!(c[2].op, CmpOp::Match);
    // `\\\.` = `\\` (a backslash) + `\.` (unknown escape: a dot): the
    // regex engine gets `\.`, a literal dot.
    assert_eq!(c[2].values[0].value, r".*netscan(32|64)\.exe.*");
    assert_eq!(c[2].values[0].raw, r"'.*netscan(32|64)\\\.exe.*'");
    assert!(c[2].flags.anchored && !c[2].flags.case_sensitive);
}

#[test]
fn control_escape_warns() {
    let q = parse(r"select * from t where p ilike '%\\\bash.exe'");
    let d = &q.diagnostics[0];
    assert_eq!(
        (d.severity, d.code.as_str()),
        (Severity::Warning, "sql-control-escape")
    );
    assert_eq!(cmps(&q)[0].values[0].value, "%\\\u{8}ash.exe");
}

#[test]
fn glued_where_is_repaired_and_reported() {
    let sql =
        "select * from okta whereevent_time > dateadd(hour, -2, sysdate())and event_type ilike 'x'";
    let q = parse(sql);
    let d = &q.diagnostics[0];
    assert_eq!(
        (d.severity, d.code.as_str()),
        (Severity::Error, "sql-syntax")
    );
    assert_eq!(d.span.expect("span").slice(sql), "whereevent_time");
    assert_eq!(
        d.position(sql),
        Some(Position {
            line: 1,
            column: 20
        })
    );
    let c = cmps(&q);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].span.slice(sql), "event_type ilike 'x'");
    let w = q.stages.iter().find(|s| s.kind == "where").expect("where");
    assert_eq!(
        w.text,
        "whereevent_time > dateadd(hour, -2, sysdate())and event_type ilike 'x'"
    );
}

#[test]
fn doubled_and_is_repaired_and_reported() {
    let sql = "select * from t where a ilike '%Win%' and and regexp_like(p, '.*x.*', 'i')";
    let q = parse(sql);
    assert_eq!(q.diagnostics.len(), 1, "{:?}", q.diagnostics);
    let d = &q.diagnostics[0];
    assert_eq!(
        d.span.expect("span").start,
        sql.find("and regexp").expect("in sql")
    );
    assert_eq!(cmps(&q).len(), 2);
}

#[test]
fn missing_comma_is_repaired_and_reported() {
    let sql = "select * from t where regexp_like(p, '.*\\\\\\s+-c.*' 'i')";
    let q = parse(sql);
    assert_eq!(q.diagnostics.len(), 1, "{:?}", q.diagnostics);
    let d = &q.diagnostics[0];
    assert_eq!(d.span.expect("span").slice(sql), "'i'");
    let c = cmps(&q);
    assert_eq!(c.len(), 1);
    assert!(!c[0].flags.case_sensitive);
}

#[test]
fn unrepairable_where_keeps_readable_conjuncts() {
    let sql = "select * from t where a = 'x' and b = = 2 and c ilike '%y%'";
    let q = parse(sql);
    assert!(q.diagnostics.iter().any(|d| d.severity == Severity::Error));
    let c = cmps(&q);
    let fields: Vec<_> = c.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["a", "c"]);
    assert_eq!(c[1].span.slice(sql), "c ilike '%y%'");
}

#[test]
fn unterminated_string_gets_a_diagnostic() {
    let sql = "select * from t where a = 'x' and b = 'oops";
    let q = parse(sql);
    let d = &q.diagnostics[0];
    assert_eq!(d.severity, Severity::Error);
    assert!(d.span.is_some());
    assert_eq!(cmps(&q).len(), 1);
}

#[test]
fn cte_union_and_subquery_are_flattened() {
    let q = parse("with x as (select * from t where a = 1) select b from x where c = 2");
    let kinds: Vec<_> = q.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["from", "where", "select", "where", "select"]);
    let q = parse("select * from (select * from t where a = 1) where c = 2");
    assert_eq!(cmps(&q).len(), 2);
    let q = parse("select a from t where a = 1 union all select a from u");
    assert!(matches!(
        q.stages.last().map(|s| &s.op),
        Some(Operator::Union { .. })
    ));
}

#[test]
fn empty_and_garbage_do_not_panic() {
    for s in [
        "",
        " ",
        ";",
        "select",
        "select * from",
        "((((",
        "'",
        "$$",
        "{{x}}",
        "select 'a\\",
    ] {
        let q = parse(s);
        assert!(!q.diagnostics.is_empty() || !q.stages.is_empty(), "{s:?}");
    }
}

#[test]
fn negated_forms() {
    for (cond, op) in [
        ("not regexp_like(p, 'a.*', 'i')", CmpOp::Match),
        ("p not ilike '%a%'", CmpOp::Like),
        ("p not like '%a%'", CmpOp::Like),
        ("p not rlike 'a.*'", CmpOp::Match),
        ("a not between 1 and 2", CmpOp::Between),
    ] {
        let sql = format!("select * from t where {cond}");
        let q = parse(&sql);
        match where_expr(&q) {
            Expr::Not { child } => match *child {
                Expr::Cmp(c) => {
                    assert_eq!(c.op, op, "{cond}");
                    // The leaf's span covers the positive predicate.
                    assert!(cond.contains(c.field.as_str()));
                }
                e => panic!("{cond}: {e:?}"),
            },
            e => panic!("{cond}: {e:?}"),
        }
    }
}

#[test]
fn column_to_column_and_functions_of_columns_stay_scalar() {
    for cond in ["a = b", "lower(a) = 'x'", "a = null", "len(a) > 3"] {
        let sql = format!("select * from t where {cond}");
        let q = parse(&sql);
        match where_expr(&q) {
            Expr::Scalar { span, .. } => assert_eq!(span.slice(&sql), cond),
            e => panic!("{cond}: {e:?}"),
        }
    }
}

#[test]
fn json_paths_and_casts_are_fields() {
    let c = one("raw:event.name::string = 'x'");
    assert_eq!(c.field, "raw:event.name");
    let c = one("raw:a['b c'].d is null");
    assert_eq!(c.field, "raw:a['b c'].d");
    let c = one("t.user_name ilike 'adm%'");
    assert_eq!(c.field, "t.user_name");
}

#[test]
fn upper_case_sql() {
    let sql = "SELECT * FROM T WHERE REGEXP_LIKE(QUERY, 'USE.*', 'is') AND STATUS IN ('A', 'B')";
    let q = parse(sql);
    let c = cmps(&q);
    assert_eq!(c.len(), 2);
    assert_eq!((c[0].field.as_str(), c[0].op), ("QUERY", CmpOp::Match));
    assert!(!c[0].flags.case_sensitive);
    // `s` (dot matches newline) is not in the flags: a note says so.
    assert_eq!(q.diagnostics[0].code, "sql-regex-params");
    assert_eq!(q.diagnostics[0].severity, Severity::Note);
}

#[test]
fn select_exclude_and_count_without_group_by() {
    let q = parse("select * exclude (a, b) from t");
    match &q.stages.last().expect("stage").op {
        Operator::Project { fields, keep } => {
            assert_eq!(fields.len(), 2);
            assert!(!keep);
        }
        o => panic!("{o:?}"),
    }
    let q = parse("select count(distinct user) from t where a = 1");
    let stats = q
        .stages
        .iter()
        .find_map(|s| match &s.op {
            Operator::Stats { aggs, by, .. } => Some((aggs.clone(), by.clone())),
            _ => None,
        })
        .expect("a stats stage");
    assert!(stats.1.is_empty());
    assert_eq!(stats.0[0].func, "dc");
    assert_eq!(stats.0[0].field.as_deref(), Some("user"));
}

#[test]
fn computed_select_items_are_assignments() {
    let q = parse("select a, lower(b) as lb from t");
    let eval = q
        .stages
        .iter()
        .find_map(|s| match &s.op {
            Operator::Eval { assignments } => Some(assignments.clone()),
            _ => None,
        })
        .expect("an eval stage");
    assert_eq!(eval.len(), 1);
    assert_eq!(eval[0].name, "lb");
    assert!(matches!(&eval[0].value, Scalar::Call { name, .. } if name == "lower"));
}

#[test]
fn joins_become_join_stages() {
    let q = parse("select * from a join b on a.id = b.id where a.x = 1");
    let kinds: Vec<_> = q.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["from", "join", "where", "select"]);
    match &q.stages[1].op {
        Operator::Join {
            kind,
            fields,
            subquery,
        } => {
            assert_eq!(kind.as_deref(), Some("inner"));
            assert_eq!(fields, &["id"]);
            assert!(
                matches!(&subquery.stages[0].op, Operator::Source { tables } if tables == &["b"])
            );
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn multiline_positions() {
    let sql = "select *\nfrom t\nwhere a = 'x'\n  and and b = 'y'";
    let q = parse(sql);
    let d = &q.diagnostics[0];
    assert_eq!(d.position(sql), Some(Position { line: 4, column: 7 }));
    assert_eq!(cmps(&q).len(), 2);
    let w = q.stages.iter().find(|s| s.kind == "where").expect("where");
    assert_eq!(w.text, "where a = 'x'\n  and and b = 'y'");
}

#[test]
fn huge_condition_chains_are_refused_not_overflowed() {
    let sql = format!(
        "select * from t where {}",
        vec!["a = 1"; 5000].join(" and ")
    );
    let q = parse(&sql);
    assert_eq!(q.diagnostics[0].code, "sql-too-complex");
    let kinds: Vec<_> = q.stages.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["from", "where", "select"]);
    // Deep parentheses and NOT chains hit sqlparser's recursion limit.
    for sql in [
        format!(
            "select * from t where {}a = 1{}",
            "(".repeat(5000),
            ")".repeat(5000)
        ),
        format!("select * from t where {}a = 1", "not ".repeat(5000)),
    ] {
        let q = parse(&sql);
        assert_eq!(q.diagnostics[0].severity, Severity::Error);
    }
}
