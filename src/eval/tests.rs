//! Evaluator tests over hand-built IR: every trap of SEMANTICS.md
//! section F that concerns evaluation, plus the pipeline commands.

use super::*;
use crate::diag::Span;
use crate::ir::{
    Aggregate, Assignment, BinOp, Cmp, CmpOp, Expr, ExtractMode, Flags, Literal, Logic, MacroCall,
    Operator, Query, Scalar, SortKey, Stage, StatsMode, Term, Wildcard,
};

fn ev(fields: &[(&str, &str)], raw: &str) -> Event {
    let mut e = Event {
        raw: raw.to_string(),
        ..Event::default()
    };
    for (k, v) in fields {
        e.fields
            .entry(k.to_string())
            .or_default()
            .push(v.to_string());
    }
    e
}

fn lit(v: &str) -> Literal {
    Literal {
        raw: format!("\"{v}\""),
        value: v.to_string(),
    }
}

fn search_flags() -> Flags {
    Flags {
        wildcard: Wildcard::Glob,
        ..Flags::default()
    }
}

fn cs() -> Flags {
    Flags {
        case_sensitive: true,
        ..Flags::default()
    }
}

fn cmp(field: &str, op: CmpOp, values: &[Literal], flags: Flags) -> Expr {
    Expr::Cmp(Cmp {
        field: field.to_string(),
        op,
        values: values.to_vec(),
        flags,
        span: Span::default(),
    })
}

fn term(v: &str) -> Expr {
    Expr::Term(Term {
        text: v.to_string(),
        value: v.to_string(),
        whole_token: false,
        case_sensitive: false,
        span: Span::default(),
    })
}

fn and(c: Vec<Expr>) -> Expr {
    Expr::And { children: c }
}

fn or(c: Vec<Expr>) -> Expr {
    Expr::Or { children: c }
}

fn not(c: Expr) -> Expr {
    Expr::Not { child: Box::new(c) }
}

fn stage(kind: &str, op: Operator) -> Stage {
    Stage {
        kind: kind.to_string(),
        text: kind.to_string(),
        span: Span::default(),
        op,
    }
}

fn filter(expr: Expr, logic: Logic) -> Stage {
    stage(
        if logic == Logic::Search {
            "search"
        } else {
            "where"
        },
        Operator::Filter { expr, logic },
    )
}

fn query(stages: Vec<Stage>) -> Query {
    Query {
        stages,
        diagnostics: Vec::new(),
    }
}

fn run(lang: Language, stages: Vec<Stage>, events: &[Event]) -> Outcome {
    evaluate(&query(stages), lang, events, &EvalOptions::default())
}

/// Whether a single-filter query keeps the one event.
fn keeps(lang: Language, expr: Expr, logic: Logic, e: Event) -> bool {
    let out = run(lang, vec![filter(expr, logic)], &[e]);
    assert!(out.not_evaluable.is_empty(), "{:?}", out.not_evaluable);
    out.matched == 1
}

fn spl_search(expr: Expr, e: Event) -> bool {
    keeps(Language::Splunk, expr, Logic::Search, e)
}

fn spl_where(expr: Expr, e: Event) -> bool {
    keeps(Language::Splunk, expr, Logic::ThreeValued, e)
}

fn field(name: &str) -> Scalar {
    Scalar::Field {
        name: name.to_string(),
    }
}

fn s(v: &str) -> Scalar {
    Scalar::Str { lit: lit(v) }
}

fn num(v: &str) -> Scalar {
    Scalar::Num {
        text: v.to_string(),
    }
}

fn call(name: &str, args: Vec<Scalar>) -> Scalar {
    Scalar::Call {
        name: name.to_string(),
        args,
    }
}

fn bin(op: BinOp, a: Scalar, b: Scalar) -> Scalar {
    Scalar::Binary {
        op,
        lhs: Box::new(a),
        rhs: Box::new(b),
    }
}

fn scalar_expr(e: Scalar) -> Expr {
    Expr::Scalar {
        expr: e,
        span: Span::default(),
    }
}

/// Evaluates a scalar expression against one event.
fn eval_scalar(lang: Language, e: Scalar, event: Event) -> Vec<String> {
    let out = run(
        lang,
        vec![stage(
            "eval",
            Operator::Eval {
                assignments: vec![Assignment {
                    name: "out".to_string(),
                    value: e,
                }],
            },
        )],
        &[event],
    );
    assert!(out.not_evaluable.is_empty(), "{:?}", out.not_evaluable);
    out.results[0].get("out").cloned().unwrap_or_default()
}

// ---- Section F traps ---------------------------------------------------

#[test]
fn trap_01_search_precedence_or_binds_tighter() {
    // `a b OR c` = a AND (b OR c), on raw "a c".
    let e = and(vec![term("a"), or(vec![term("b"), term("c")])]);
    assert!(spl_search(e, ev(&[], "a c")));
    // The other reading, (a AND b) OR c, would also match; check a raw
    // where the readings differ: "c" alone.
    let e = and(vec![term("a"), or(vec![term("b"), term("c")])]);
    assert!(!spl_search(e, ev(&[], "c")));
}

#[test]
fn trap_02_where_precedence_and_first() {
    // `where x=1 OR y=1 AND z=1` = x=1 OR (y=1 AND z=1).
    let n = |v: &str| Literal::plain(v);
    let e = or(vec![
        cmp("x", CmpOp::Eq, &[n("1")], cs()),
        and(vec![
            cmp("y", CmpOp::Eq, &[n("1")], cs()),
            cmp("z", CmpOp::Eq, &[n("1")], cs()),
        ]),
    ]);
    assert!(spl_where(e, ev(&[("x", "1"), ("y", "0"), ("z", "0")], "")));
}

#[test]
fn trap_03_ne_versus_not() {
    let e = || ev(&[("g", "y")], "");
    assert!(!spl_search(
        cmp("f", CmpOp::Ne, &[lit("x")], search_flags()),
        e()
    ));
    assert!(spl_search(
        not(cmp("f", CmpOp::Eq, &[lit("x")], search_flags())),
        e()
    ));
    // With f present and different, both hold.
    let e2 = || ev(&[("f", "z")], "");
    assert!(spl_search(
        cmp("f", CmpOp::Ne, &[lit("x")], search_flags()),
        e2()
    ));
    assert!(spl_search(
        not(cmp("f", CmpOp::Eq, &[lit("x")], search_flags())),
        e2()
    ));
    // Three-valued: NOT of a comparison on a missing field is unknown.
    assert!(!spl_where(not(cmp("f", CmpOp::Eq, &[lit("x")], cs())), e()));
}

#[test]
fn trap_04_search_value_wildcard_is_glob_case_insensitive() {
    let e = ev(&[("Image", "C:\\Windows\\System32\\CMD.EXE")], "");
    assert!(spl_search(
        cmp("Image", CmpOp::Eq, &[lit("*\\cmd.exe")], search_flags()),
        e
    ));
}

#[test]
fn trap_05_search_value_is_whole_value() {
    let e = ev(&[("Image", "C:\\x\\cmd.exe")], "");
    assert!(!spl_search(
        cmp("Image", CmpOp::Eq, &[lit("cmd.exe")], search_flags()),
        e
    ));
}

#[test]
fn trap_06_where_is_case_sensitive_search_is_not() {
    let e = || ev(&[("Image", "CMD.EXE")], "");
    assert!(!spl_where(
        cmp("Image", CmpOp::Eq, &[lit("cmd.exe")], cs()),
        e()
    ));
    assert!(spl_search(
        cmp("Image", CmpOp::Eq, &[lit("cmd.exe")], search_flags()),
        e()
    ));
}

#[test]
fn trap_07_where_star_is_literal() {
    let e = || ev(&[("x", "abc")], "");
    assert!(!spl_where(cmp("x", CmpOp::Eq, &[lit("a*")], cs()), e()));
    let like = Flags {
        case_sensitive: true,
        wildcard: Wildcard::Sql,
        ..Flags::default()
    };
    assert!(spl_where(cmp("x", CmpOp::Like, &[lit("a%")], like), e()));
    // The same through a scalar like().
    assert!(spl_where(
        scalar_expr(call("like", vec![field("x"), s("a%")])),
        e()
    ));
}

#[test]
fn trap_08_where_unquoted_rhs_is_a_field() {
    // `where user=admin` compares with the field `admin` (null here).
    let e = || ev(&[("user", "admin")], "");
    let expr = scalar_expr(bin(BinOp::Eq, field("user"), field("admin")));
    assert!(!spl_where(expr, e()));
    let expr = scalar_expr(bin(BinOp::Eq, field("user"), field("other")));
    assert!(spl_where(
        expr,
        ev(&[("user", "root"), ("other", "root")], "")
    ));
}

#[test]
fn trap_09_bare_terms_are_tokens() {
    assert!(!spl_search(term("mimi"), ev(&[], "mimikatz.exe")));
    assert!(spl_search(term("mimikatz"), ev(&[], "mimikatz.exe")));
}

#[test]
fn trap_10_lowercase_or_is_a_term() {
    // `a or b` = a AND "or" AND b.
    let e = || and(vec![term("a"), term("or"), term("b")]);
    assert!(!spl_search(e(), ev(&[], "a b")));
    assert!(spl_search(e(), ev(&[], "a or b")));
}

#[test]
fn trap_11_stats_by_drops_null_keys() {
    let events = vec![
        ev(&[("user", "a")], ""),
        ev(&[("user", "b")], ""),
        ev(&[("host", "h")], ""),
    ];
    let out = run(
        Language::Splunk,
        vec![stage(
            "stats",
            Operator::Stats {
                mode: StatsMode::Stats,
                aggs: vec![Aggregate {
                    func: "count".into(),
                    field: None,
                    alias: None,
                }],
                by: vec!["user".into()],
            },
        )],
        &events,
    );
    let total: usize = out
        .results
        .iter()
        .map(|r| r["count"][0].parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, 2);
    assert_eq!(out.matched, 2);
}

fn sf_match(pattern: &str, ci: bool) -> Expr {
    cmp(
        "cmd",
        CmpOp::Match,
        &[Literal {
            raw: format!("'{pattern}'"),
            value: pattern.to_string(),
        }],
        Flags {
            case_sensitive: !ci,
            anchored: true,
            ..Flags::default()
        },
    )
}

fn sf(expr: Expr, e: Event) -> bool {
    keeps(Language::Snowflake, expr, Logic::ThreeValued, e)
}

#[test]
fn trap_12_snowflake_regexp_like_is_anchored() {
    let e = || ev(&[("cmd", "powershell.exe -enc")], "");
    assert!(!sf(sf_match("enc", false), e()));
    assert!(sf(sf_match(".*enc.*", false), e()));
    // The scalar form anchors too.
    let f = |p: &str| scalar_expr(call("regexp_like", vec![field("cmd"), s(p)]));
    assert!(!sf(f("enc"), e()));
    assert!(sf(f(".*enc.*"), e()));
    // The 'i' parameter.
    assert!(!sf(sf_match(".*ENC.*", false), e()));
    assert!(sf(sf_match(".*ENC.*", true), e()));
    let g = scalar_expr(call(
        "regexp_like",
        vec![field("cmd"), s(".*ENC.*"), s("i")],
    ));
    assert!(sf(g, e()));
}

#[test]
fn trap_13_snowflake_escapes_reach_the_engine_resolved() {
    // `'.*\\.exe'` in SQL text is the regex `.*\.exe`; `'.*\.exe'` is
    // `.*.exe`. The front-end resolves escapes into Literal.value; the
    // evaluator runs the value as written there.
    let exact = || sf_match(".*\\.exe", false);
    let loose = || sf_match(".*.exe", false);
    assert!(sf(exact(), ev(&[("cmd", "a.exe")], "")));
    assert!(!sf(exact(), ev(&[("cmd", "axexe")], "")));
    assert!(sf(loose(), ev(&[("cmd", "axexe")], "")));
}

#[test]
fn trap_14_snowflake_ilike_is_whole_string() {
    let ilike = Flags {
        case_sensitive: false,
        wildcard: Wildcard::Sql,
        ..Flags::default()
    };
    let e = || ev(&[("p", "C:\\a\\cmd.exe")], "");
    assert!(!sf(cmp("p", CmpOp::Like, &[lit("cmd.exe")], ilike), e()));
    assert!(sf(cmp("p", CmpOp::Like, &[lit("%cmd.exe")], ilike), e()));
    assert!(sf(cmp("p", CmpOp::Like, &[lit("%CMD.EXE")], ilike), e()));
    // `_` is one character.
    assert!(sf(cmp("p", CmpOp::Like, &[lit("%cmd_exe")], ilike), e()));
    assert!(!sf(cmp("p", CmpOp::Like, &[lit("%cmd_.exe")], ilike), e()));
    // NULL in → not kept.
    assert!(!sf(cmp("p", CmpOp::Like, &[lit("%")], ilike), ev(&[], "")));
}

fn kql(expr: Expr, e: Event) -> bool {
    keeps(Language::Kusto, expr, Logic::ThreeValued, e)
}

#[test]
fn trap_15_kql_has_versus_contains() {
    let e = || ev(&[("s", "KustoExplorerQueryRun")], "");
    assert!(!kql(
        cmp("s", CmpOp::Has, &[lit("Explorer")], Flags::default()),
        e()
    ));
    assert!(kql(
        cmp("s", CmpOp::Contains, &[lit("Explorer")], Flags::default()),
        e()
    ));
    assert!(kql(
        cmp("s", CmpOp::Contains, &[lit("explorer")], Flags::default()),
        e()
    ));
    assert!(!kql(
        cmp("s", CmpOp::Contains, &[lit("explorer")], cs()),
        e()
    ));
}

#[test]
fn trap_16_kql_eq_is_case_sensitive() {
    let e = || ev(&[("s", "CMD.EXE")], "");
    assert!(!kql(cmp("s", CmpOp::Eq, &[lit("cmd.exe")], cs()), e()));
    assert!(kql(
        cmp("s", CmpOp::Eq, &[lit("cmd.exe")], Flags::default()),
        e()
    ));
}

#[test]
fn trap_17_kql_matches_regex_unanchored_case_sensitive() {
    let e = || ev(&[("s", "Invoke-Mimikatz")], "");
    assert!(!kql(cmp("s", CmpOp::Match, &[lit("mimikatz")], cs()), e()));
    assert!(kql(
        cmp("s", CmpOp::Match, &[lit("(?i)mimikatz")], cs()),
        e()
    ));
}

#[test]
fn trap_18_kql_has_short_terms() {
    assert!(kql(
        cmp("s", CmpOp::Has, &[lit("b")], Flags::default()),
        ev(&[("s", "a b")], "")
    ));
}

#[test]
fn trap_19_kql_in_versus_in_tilde() {
    let e = || ev(&[("s", "ABC")], "");
    assert!(!kql(cmp("s", CmpOp::In, &[lit("abc")], cs()), e()));
    assert!(kql(
        cmp("s", CmpOp::In, &[lit("abc")], Flags::default()),
        e()
    ));
}

#[test]
fn trap_20_spl_match_unanchored_like_whole() {
    let e = || ev(&[("x", "xcmd.exe")], "");
    assert!(spl_where(cmp("x", CmpOp::Match, &[lit("cmd")], cs()), e()));
    let like = Flags {
        case_sensitive: true,
        wildcard: Wildcard::Sql,
        ..Flags::default()
    };
    assert!(!spl_where(cmp("x", CmpOp::Like, &[lit("cmd%")], like), e()));
    // Scalar forms.
    assert_eq!(
        eval_scalar(
            Language::Splunk,
            call("match", vec![s("xcmd.exe"), s("cmd")]),
            ev(&[], "")
        ),
        vec!["true"]
    );
    assert_eq!(
        eval_scalar(
            Language::Splunk,
            call("like", vec![s("xcmd.exe"), s("cmd%")]),
            ev(&[], "")
        ),
        vec!["false"]
    );
}

#[test]
fn trap_21_macro_in_quotes_not_expanded() {
    let m = |n: &str, _: &[String]| (n == "m").then(|| "EXPANDED".to_string());
    assert_eq!(expand_macros("\"x`m`y\"", &m).unwrap(), "\"x`m`y\"");
    assert!(expand_macros("x `m` y", &m).unwrap().contains("EXPANDED"));
}

// ---- Search semantics beyond the traps ---------------------------------

#[test]
fn search_multivalue_any_and_exists() {
    let e = || ev(&[("f", "a"), ("f", "b")], "");
    assert!(spl_search(
        cmp("f", CmpOp::Eq, &[lit("B")], search_flags()),
        e()
    ));
    assert!(spl_search(
        cmp("f", CmpOp::Eq, &[lit("*")], search_flags()),
        e()
    ));
    assert!(!spl_search(
        cmp("g", CmpOp::Eq, &[lit("*")], search_flags()),
        e()
    ));
    // f!=a: f has a value equal to a, so not kept.
    assert!(!spl_search(
        cmp("f", CmpOp::Ne, &[lit("a")], search_flags()),
        e()
    ));
}

#[test]
fn search_in_with_wildcards_and_numeric_compare() {
    let e = || ev(&[("f", "cmd.exe"), ("n", "10")], "");
    let vals = [lit("a"), lit("c*"), lit("c d")];
    assert!(spl_search(cmp("f", CmpOp::In, &vals, search_flags()), e()));
    assert!(spl_search(
        cmp("n", CmpOp::Gt, &[Literal::plain("9")], search_flags()),
        e()
    ));
    assert!(!spl_search(
        cmp("n", CmpOp::Lt, &[Literal::plain("9")], search_flags()),
        e()
    ));
    assert!(!spl_search(
        cmp("m", CmpOp::Lt, &[Literal::plain("9")], search_flags()),
        e()
    ));
}

#[test]
fn search_term_and_case_wrappers() {
    let t = Expr::Term(Term {
        text: "TERM(EventCode=1)".into(),
        value: "EventCode=1".into(),
        whole_token: true,
        case_sensitive: false,
        span: Span::default(),
    });
    assert!(spl_search(t.clone(), ev(&[], "a EventCode=1 b")));
    assert!(!spl_search(t, ev(&[], "<EventID>1</EventID>")));
    let c = cmp(
        "host",
        CmpOp::Eq,
        &[lit("LOCAL*")],
        Flags {
            case_sensitive: true,
            wildcard: Wildcard::Glob,
            ..Flags::default()
        },
    );
    assert!(spl_search(c, ev(&[("host", "LOCALHOST")], "")));
    let c = cmp(
        "host",
        CmpOp::Eq,
        &[lit("LOCAL*")],
        Flags {
            case_sensitive: true,
            wildcard: Wildcard::Glob,
            ..Flags::default()
        },
    );
    assert!(!spl_search(c, ev(&[("host", "localhost")], "")));
}

#[test]
fn field_names_are_case_sensitive() {
    assert!(!spl_search(
        cmp("user", CmpOp::Eq, &[lit("a")], search_flags()),
        ev(&[("User", "a")], "")
    ));
}

// ---- Three-valued logic and scalars -------------------------------------

#[test]
fn null_propagation() {
    let e = || ev(&[("a", "1")], "");
    // a . missing → null; comparing null is not true; NOT of it neither.
    let concat = bin(BinOp::Concat, field("a"), field("missing"));
    assert_eq!(
        eval_scalar(Language::Splunk, concat.clone(), e()),
        Vec::<String>::new()
    );
    let cmp_null = bin(BinOp::Eq, concat, s("1"));
    assert!(!spl_where(scalar_expr(cmp_null.clone()), e()));
    let negated = Scalar::Unary {
        op: crate::ir::UnaryOp::Not,
        expr: Box::new(cmp_null),
    };
    assert!(!spl_where(scalar_expr(negated), e()));
    // Arithmetic with null is null.
    let add = bin(BinOp::Add, field("a"), field("missing"));
    assert!(eval_scalar(Language::Splunk, add, e()).is_empty());
    // true OR unknown = true.
    let e2 = or(vec![
        cmp("missing", CmpOp::Eq, &[lit("x")], cs()),
        cmp("a", CmpOp::Eq, &[Literal::plain("1")], cs()),
    ]);
    assert!(spl_where(e2, e()));
}

#[test]
fn scalar_functions_spl() {
    let e = || {
        ev(
            &[
                ("p", "C:\\Tools\\NetScan.exe"),
                ("m", "a"),
                ("m", "b"),
                ("m", "c"),
                ("ip", "10.1.2.3"),
            ],
            "",
        )
    };
    let sp = |x: Scalar| eval_scalar(Language::Splunk, x, e());
    assert_eq!(
        sp(call("lower", vec![field("p")])),
        vec!["c:\\tools\\netscan.exe"]
    );
    assert_eq!(sp(call("upper", vec![field("m")])), vec!["A", "B", "C"]);
    assert_eq!(sp(call("len", vec![s("abc")])), vec!["3"]);
    assert_eq!(sp(call("mvcount", vec![field("m")])), vec!["3"]);
    assert!(sp(call("mvcount", vec![field("nope")])).is_empty());
    assert_eq!(sp(call("mvindex", vec![field("m"), num("-1")])), vec!["c"]);
    assert_eq!(
        sp(call("mvindex", vec![field("m"), num("0"), num("1")])),
        vec!["a", "b"]
    );
    assert_eq!(sp(call("mvjoin", vec![field("m"), s(";")])), vec!["a;b;c"]);
    assert_eq!(sp(call("coalesce", vec![field("nope"), s("d")])), vec!["d"]);
    assert_eq!(
        sp(call(
            "if",
            vec![call("isnull", vec![field("nope")]), s("y"), s("n")]
        )),
        vec!["y"]
    );
    assert_eq!(
        sp(call(
            "case",
            vec![
                bin(BinOp::Eq, field("m"), s("zz")),
                s("one"),
                call("true", vec![]),
                s("default")
            ]
        )),
        vec!["default"]
    );
    assert!(sp(call(
        "case",
        vec![bin(BinOp::Eq, field("m"), s("zz")), s("one")]
    ))
    .is_empty());
    assert_eq!(
        sp(call("cidrmatch", vec![s("10.0.0.0/8"), field("ip")])),
        vec!["true"]
    );
    assert_eq!(
        sp(call("cidrmatch", vec![s("192.168.0.0/16"), field("ip")])),
        vec!["false"]
    );
    assert_eq!(
        sp(call("in", vec![field("m"), s("b"), s("z")])),
        vec!["true"]
    );
    assert_eq!(
        sp(call("replace", vec![s("a-b-c"), s("-(\\w)"), s("_\\1")])),
        vec!["a_b_c"]
    );
    assert_eq!(
        sp(call("substr", vec![s("abcdef"), num("2"), num("3")])),
        vec!["bcd"]
    );
    assert_eq!(sp(call("substr", vec![s("abcdef"), num("-2")])), vec!["ef"]);
    assert_eq!(sp(call("tonumber", vec![s("ff"), num("16")])), vec!["255"]);
    assert_eq!(sp(call("split", vec![s("a,b"), s(",")])), vec!["a", "b"]);
    assert_eq!(
        sp(call("round", vec![num("2.567"), num("2")])),
        vec!["2.57"]
    );
    assert_eq!(sp(bin(BinOp::Concat, s("a"), num("1"))), vec!["a1"]);
    assert_eq!(sp(bin(BinOp::Add, num("1"), s("2"))), vec!["3"]);
    assert_eq!(
        sp(call("relative_time", vec![num("90000"), s("-1d@d")])),
        vec!["0"]
    );
}

#[test]
fn unknown_function_is_not_evaluable() {
    let out = run(
        Language::Splunk,
        vec![filter(
            scalar_expr(call("searchmatch", vec![s("x")])),
            Logic::ThreeValued,
        )],
        &[ev(&[], "x")],
    );
    assert_eq!(out.not_evaluable.len(), 1);
    assert!(out.not_evaluable[0].message.contains("searchmatch"));
    assert_eq!(out.matched, 0);
}

#[test]
fn bad_regex_is_a_reason_not_false() {
    let out = run(
        Language::Splunk,
        vec![filter(
            cmp("x", CmpOp::Match, &[lit("(unclosed")], cs()),
            Logic::ThreeValued,
        )],
        &[ev(&[("x", "a")], "")],
    );
    assert_eq!(out.not_evaluable.len(), 1);
    assert_eq!(out.not_evaluable[0].what, "regex");
}

#[test]
fn kql_functions_and_ago() {
    let e = || ev(&[("TimeGenerated", "2024-01-02T00:00:00Z"), ("a", "x")], "");
    let opts = EvalOptions {
        now: value::parse_time("2024-01-02T12:00:00Z"),
        ..EvalOptions::default()
    };
    let within = |span: &str| {
        let expr = scalar_expr(bin(
            BinOp::Gt,
            field("TimeGenerated"),
            call("ago", vec![num(span)]),
        ));
        let q = query(vec![filter(expr, Logic::ThreeValued)]);
        evaluate(&q, Language::Kusto, &[e()], &opts).matched == 1
    };
    assert!(within("1d"));
    assert!(!within("1h"));
    let k = |x: Scalar| eval_scalar(Language::Kusto, x, e());
    assert_eq!(
        k(call("strcat", vec![field("a"), field("nope"), s("!")])),
        vec!["x!"]
    );
    assert_eq!(k(call("tolower", vec![s("AB")])), vec!["ab"]);
    assert_eq!(k(call("strlen", vec![s("abc")])), vec!["3"]);
    assert_eq!(k(call("isempty", vec![field("nope")])), vec!["true"]);
    assert_eq!(k(call("isnotempty", vec![field("a")])), vec!["true"]);
    assert_eq!(
        k(call(
            "iff",
            vec![call("isempty", vec![field("a")]), s("e"), s("f")]
        )),
        vec!["f"]
    );
    assert_eq!(
        k(call("extract", vec![s("(\\d+)"), num("1"), s("ab12cd")])),
        vec!["12"]
    );
    assert_eq!(k(call("coalesce", vec![s(""), s("z")])), vec!["z"]);
    assert_eq!(
        k(call("case", vec![call("false", vec![]), s("1"), s("else")])),
        vec!["else"]
    );
    assert_eq!(
        k(call("bin", vec![field("TimeGenerated"), num("1d")])),
        vec!["2024-01-02T00:00:00Z"]
    );
}

#[test]
fn kql_between_isempty_has_all() {
    let e = || ev(&[("n", "5"), ("s", "North America"), ("empty", "")], "");
    assert!(kql(
        cmp(
            "n",
            CmpOp::Between,
            &[Literal::plain("5"), Literal::plain("9")],
            Flags::default()
        ),
        e()
    ));
    assert!(!kql(
        cmp(
            "n",
            CmpOp::Between,
            &[Literal::plain("6"), Literal::plain("9")],
            Flags::default()
        ),
        e()
    ));
    let empty = Flags {
        empty_is_null: true,
        ..Flags::default()
    };
    assert!(kql(cmp("empty", CmpOp::IsNull, &[], empty), e()));
    assert!(kql(cmp("missing", CmpOp::IsNull, &[], empty), e()));
    assert!(!kql(cmp("s", CmpOp::IsNull, &[], empty), e()));
    let all = Flags {
        all: true,
        ..Flags::default()
    };
    assert!(kql(
        cmp("s", CmpOp::Has, &[lit("north"), lit("america")], all),
        e()
    ));
    assert!(!kql(
        cmp("s", CmpOp::Has, &[lit("north"), lit("europe")], all),
        e()
    ));
    assert!(kql(
        cmp(
            "s",
            CmpOp::Has,
            &[lit("europe"), lit("north")],
            Flags::default()
        ),
        e()
    ));
    // Numeric equality for a bare number literal.
    assert!(kql(
        cmp("n", CmpOp::Eq, &[Literal::plain("5.0")], cs()),
        e()
    ));
    assert!(!kql(cmp("n", CmpOp::Eq, &[lit("5.0")], cs()), e()));
}

#[test]
fn sql_dateadd_and_functions() {
    let e = || {
        ev(
            &[("event_time", "1700000000000"), ("p", "C:\\x\\netscan.exe")],
            "",
        )
    };
    let opts = EvalOptions {
        now: Some(1_700_000_000.0 + 1800.0),
        ..EvalOptions::default()
    };
    let recent = |hours: &str| {
        let expr = scalar_expr(bin(
            BinOp::Ge,
            field("event_time"),
            call(
                "dateadd",
                vec![field("hour"), num(hours), call("current_timestamp", vec![])],
            ),
        ));
        let q = query(vec![
            stage(
                "from",
                Operator::Source {
                    tables: vec!["t".into()],
                },
            ),
            filter(expr, Logic::ThreeValued),
        ]);
        evaluate(&q, Language::Snowflake, &[e()], &opts).matched == 1
    };
    assert!(recent("-1"));
    assert!(!recent("-0.25"));
    let q = |x: Scalar| eval_scalar(Language::Snowflake, x, e());
    assert_eq!(
        q(call("contains", vec![field("p"), s("netscan")])),
        vec!["true"]
    );
    assert_eq!(
        q(call("endswith", vec![field("p"), s(".EXE")])),
        vec!["false"]
    );
    assert_eq!(q(call("lower", vec![s("AB")])), vec!["ab"]);
}

// ---- Pipeline commands ---------------------------------------------------

fn netscan_events() -> Vec<Event> {
    vec![
        ev(
            &[
                ("_time", "1700000000.25"),
                ("host", "ws1"),
                ("process_name", "netscan.exe"),
                ("process_path", "C:\\Users\\a\\netscan_portable\\netscan.exe"),
                ("user", "a"),
                ("EventCode", "1"),
            ],
            "<Event><EventID>1</EventID><Data>C:\\Users\\a\\netscan_portable\\netscan.exe</Data></Event>",
        ),
        ev(
            &[
                ("_time", "1700000000.75"),
                ("host", "ws1"),
                ("process_name", "NETSCAN64.EXE"),
                ("process_path", "C:\\Tools\\NETSCAN64.EXE"),
                ("user", "b"),
                ("EventCode", "1"),
            ],
            "<Event><EventID>1</EventID><Data>C:\\Tools\\NETSCAN64.EXE</Data></Event>",
        ),
        ev(
            &[
                ("_time", "1700000005"),
                ("host", "ws2"),
                ("process_name", "cmd.exe"),
                ("process_path", "C:\\Windows\\cmd.exe"),
                ("EventCode", "1"),
            ],
            "<Event><EventID>1</EventID><Data>C:\\Windows\\cmd.exe netscan</Data></Event>",
        ),
        ev(
            &[("_time", "1700000006"), ("host", "ws2"), ("EventCode", "3")],
            "<Event><EventID>3</EventID></Event>",
        ),
    ]
}

/// The netscan rule's pipeline, built by hand as the SPL front-end
/// will produce it (macros already expanded to nothing).
fn netscan_query() -> Query {
    let logic = "(TERM(EventCode=1) OR \"<EventID>1<\") \"netscan\" | where match(process_name, \"(?i)\\x5cnetscan(32|64)?\\.exe\") or match(process_path, \"(?i)\\x5cnetscan_portable\") | table _time, host, user, process, process_*, parent_process, parent_process_*, user | bin span=1s | stats values(*) as * by _time, host";
    let pos = |s: &str| {
        let a = logic.find(s).unwrap();
        Span::new(a, a + s.len())
    };
    let stage_at = |kind: &str, text: &str, op: Operator| Stage {
        kind: kind.into(),
        text: text.into(),
        span: pos(text),
        op,
    };
    let t = |text: &str, value: &str, whole: bool| {
        Expr::Term(Term {
            text: text.into(),
            value: value.into(),
            whole_token: whole,
            case_sensitive: false,
            span: pos(text),
        })
    };
    let m = |f: &str, raw: &str| {
        Expr::Cmp(Cmp {
            field: f.into(),
            op: CmpOp::Match,
            values: vec![Literal {
                raw: raw.into(),
                value: raw.trim_matches('"').into(),
            }],
            flags: cs(),
            span: pos(&format!("match({f}, {raw})")),
        })
    };
    let s1 = "(TERM(EventCode=1) OR \"<EventID>1<\") \"netscan\"";
    let s2 = "where match(process_name, \"(?i)\\x5cnetscan(32|64)?\\.exe\") or match(process_path, \"(?i)\\x5cnetscan_portable\")";
    query(vec![
        stage_at(
            "search",
            s1,
            Operator::Filter {
                expr: and(vec![
                    or(vec![
                        t("TERM(EventCode=1)", "EventCode=1", true),
                        t("\"<EventID>1<\"", "<EventID>1<", false),
                    ]),
                    t("\"netscan\"", "netscan", false),
                ]),
                logic: Logic::Search,
            },
        ),
        stage_at(
            "where",
            s2,
            Operator::Filter {
                expr: or(vec![
                    m("process_name", "\"(?i)\\x5cnetscan(32|64)?\\.exe\""),
                    m("process_path", "\"(?i)\\x5cnetscan_portable\""),
                ]),
                logic: Logic::ThreeValued,
            },
        ),
        stage_at(
            "table",
            "table _time, host, user, process, process_*, parent_process, parent_process_*, user",
            Operator::Project {
                fields: [
                    "_time",
                    "host",
                    "user",
                    "process",
                    "process_*",
                    "parent_process",
                    "parent_process_*",
                    "user",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                keep: true,
            },
        ),
        stage_at(
            "bin",
            "bin span=1s",
            Operator::Bin {
                field: "_time".into(),
                span: Some("1s".into()),
                alias: None,
            },
        ),
        stage_at(
            "stats",
            "stats values(*) as * by _time, host",
            Operator::Stats {
                mode: StatsMode::Stats,
                aggs: vec![Aggregate {
                    func: "values".into(),
                    field: Some("*".into()),
                    alias: Some("*".into()),
                }],
                by: vec!["_time".into(), "host".into()],
            },
        ),
    ])
}

#[test]
fn netscan_rule_end_to_end_with_explain_and_lint() {
    let events = netscan_events();
    let opts = EvalOptions {
        explain: true,
        ..EvalOptions::default()
    };
    let out = evaluate(&netscan_query(), Language::Splunk, &events, &opts);
    assert!(out.not_evaluable.is_empty(), "{:?}", out.not_evaluable);
    // Only the portable build matches: process_name never has a backslash,
    // so the first match() cannot hold; NETSCAN64.EXE has no "netscan"
    // token in _raw either.
    assert_eq!(out.matched, 1);
    assert_eq!(out.results.len(), 1);
    let r = &out.results[0];
    assert_eq!(r["_time"], vec!["1700000000"]);
    assert_eq!(r["host"], vec!["ws1"]);
    assert_eq!(r["process_name"], vec!["netscan.exe"]);
    assert_eq!(out.columns[..2], ["_time".to_string(), "host".to_string()]);
    // Explain: event 1 dropped at stage 1 by the "netscan" term.
    let f1 = &out.explain[1];
    assert!(!f1.passed);
    assert_eq!(f1.stage, Some(1));
    assert_eq!(f1.predicate.as_deref(), Some("\"netscan\""));
    // Event 2 has the term (in its raw) but fails the where stage.
    let f2 = &out.explain[2];
    assert_eq!(f2.stage, Some(2));
    assert_eq!(f2.stage_kind.as_deref(), Some("where"));
    assert_eq!(
        f2.predicate.as_deref(),
        Some("match(process_name, \"(?i)\\x5cnetscan(32|64)?\\.exe\")")
    );
    assert_eq!(f2.field.as_deref(), Some("process_name"));
    assert_eq!(f2.values, vec!["cmd.exe"]);
    // Event 3: dropped by the first stage; the Or fails on its first branch.
    assert_eq!(out.explain[3].stage, Some(1));
    assert!(out.explain[0].passed);
    // Lint: the process_name regex needs a backslash no value has.
    assert_eq!(out.lint.len(), 1, "{:?}", out.lint);
    assert_eq!(out.lint[0].code, "cannot-match");
    assert!(out.lint[0].message.contains("process_name"));
}

#[test]
fn evaluate_many_preselects_and_agrees() {
    let events = netscan_events();
    let q = query(vec![filter(
        and(vec![
            cmp(
                "EventCode",
                CmpOp::Eq,
                &[Literal::plain("1")],
                search_flags(),
            ),
            cmp("host", CmpOp::Eq, &[lit("WS2")], search_flags()),
        ]),
        Logic::Search,
    )]);
    let p = Prepared {
        rule: "r1".into(),
        language: Language::Splunk,
        logic: String::new(),
        expansion: None,
        query: q.clone(),
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let many = evaluate_many(&[p.clone(), p], &events, &EvalOptions::default());
    let one = evaluate(&q, Language::Splunk, &events, &EvalOptions::default());
    assert_eq!(many.len(), 2);
    assert_eq!(many[0].matched, 1);
    assert_eq!(many[0].matched, one.matched);
    assert_eq!(many[0].results, one.results);
    assert_eq!(many[0].rule, "r1");
}

#[test]
fn unsupported_commands_are_reasons_with_positions() {
    let logic = "x | iplocation src | table a";
    let q = query(vec![
        filter(term("x"), Logic::Search),
        Stage {
            kind: "iplocation".into(),
            text: "iplocation src".into(),
            span: Span::new(4, 18),
            op: Operator::Iplocation {
                field: "src".into(),
            },
        },
    ]);
    let p = Prepared {
        rule: "r".into(),
        language: Language::Splunk,
        logic: logic.into(),
        expansion: None,
        query: q,
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let out = evaluate_many(&[p], &[ev(&[], "x")], &EvalOptions::default());
    let r = &out[0].not_evaluable;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].render(), "not evaluable: iplocation at 1:5");
    assert_eq!(out[0].matched, 0);
    assert!(out[0].results.is_empty());
    // Other unevaluable operators.
    for op in [
        Operator::Unsupported {
            command: "inputlookup".into(),
        },
        Operator::Transaction {
            fields: vec![],
            maxspan: None,
        },
        Operator::Macro(MacroCall {
            name: "m".into(),
            args: vec![],
            span: Span::default(),
        }),
        Operator::Join {
            kind: Some("weird".into()),
            fields: vec!["a".into()],
            subquery: Box::new(Query::default()),
        },
    ] {
        let out = run(Language::Splunk, vec![stage("x", op)], &[ev(&[], "x")]);
        assert_eq!(out.not_evaluable.len(), 1);
    }
    // A macro in filter position.
    let out = run(
        Language::Splunk,
        vec![filter(
            Expr::Macro(MacroCall {
                name: "m".into(),
                args: vec![],
                span: Span::default(),
            }),
            Logic::Search,
        )],
        &[ev(&[], "x")],
    );
    assert_eq!(out.not_evaluable[0].what, "macro");
}

#[test]
fn lookup_needs_its_file_and_enriches() {
    let op = || Operator::Lookup {
        table: "hosts".into(),
        inputs: vec![("name".into(), "host".into())],
        outputs: vec![("owner".into(), "owner".into())],
    };
    let out = run(
        Language::Splunk,
        vec![stage("lookup", op())],
        &[ev(&[("host", "a")], "")],
    );
    assert_eq!(out.not_evaluable[0].what, "lookup");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.csv");
    std::fs::write(&path, "name,owner\na,alice\nb,bob\n").unwrap();
    let mut opts = EvalOptions::default();
    opts.lookups.insert("hosts".into(), path);
    let q = query(vec![stage("lookup", op())]);
    let out = evaluate(
        &q,
        Language::Splunk,
        &[ev(&[("host", "a")], ""), ev(&[("host", "c")], "")],
        &opts,
    );
    assert!(out.not_evaluable.is_empty());
    assert_eq!(out.results[0]["owner"], vec!["alice"]);
    assert!(!out.results[1].contains_key("owner"));
}

#[test]
fn rex_named_groups_max_match_and_sed() {
    let e = || vec![ev(&[("cmd", "a=1 a=2 a=3")], "")];
    let rex = |max: usize| {
        stage(
            "rex",
            Operator::Extract {
                field: "cmd".into(),
                pattern: "a=(?<v>\\d)".into(),
                mode: ExtractMode::Regex,
                max_match: max,
            },
        )
    };
    let out = run(Language::Splunk, vec![rex(1)], &e());
    assert_eq!(out.results[0]["v"], vec!["1"]);
    let out = run(Language::Splunk, vec![rex(0)], &e());
    assert_eq!(out.results[0]["v"], vec!["1", "2", "3"]);
    let sed = stage(
        "rex",
        Operator::Extract {
            field: "cmd".into(),
            pattern: "s/a=(\\d)/b\\1/g".into(),
            mode: ExtractMode::Sed,
            max_match: 1,
        },
    );
    let out = run(Language::Splunk, vec![sed], &e());
    assert_eq!(out.results[0]["cmd"], vec!["b1 b2 b3"]);
    // No match: no field.
    let out = run(Language::Splunk, vec![rex(1)], &[ev(&[("cmd", "zzz")], "")]);
    assert!(!out.results[0].contains_key("v"));
}

#[test]
fn rename_dedup_sort_head_fillnull_mvexpand() {
    let events = vec![
        ev(&[("src_ip", "1"), ("n", "10")], ""),
        ev(&[("src_ip", "2"), ("n", "9"), ("m", "x"), ("m", "y")], ""),
        ev(&[("src_ip", "1"), ("n", "11")], ""),
    ];
    let stages = vec![
        stage(
            "rename",
            Operator::Rename {
                pairs: vec![("*_ip".into(), "ip_*".into())],
            },
        ),
        stage(
            "dedup",
            Operator::Dedup {
                fields: vec!["ip_src".into()],
                keep_empty: false,
            },
        ),
        stage(
            "sort",
            Operator::Sort {
                keys: vec![SortKey {
                    field: "n".into(),
                    descending: false,
                }],
                limit: None,
            },
        ),
        stage(
            "fillnull",
            Operator::Fillnull {
                value: "0".into(),
                fields: vec!["m".into()],
            },
        ),
        stage("mvexpand", Operator::MvExpand { field: "m".into() }),
        stage("head", Operator::Head { n: 2 }),
    ];
    let out = run(Language::Splunk, stages, &events);
    let got: Vec<(String, String)> = out
        .results
        .iter()
        .map(|r| (r["n"][0].clone(), r["m"][0].clone()))
        .collect();
    assert_eq!(
        got,
        vec![("9".into(), "x".into()), ("9".into(), "y".into())]
    );
    assert!(out.results[0].contains_key("ip_src"));
    assert!(!out.results[0].contains_key("src_ip"));
    assert_eq!(out.matched, 1);
}

#[test]
fn tstats_reads_data_model_fields() {
    let events = netscan_events();
    let q = query(vec![stage(
        "tstats",
        Operator::Tstats {
            datamodel: Some("Endpoint.Processes".into()),
            filter: Some(cmp(
                "Processes.process_name",
                CmpOp::Eq,
                &[lit("netscan*")],
                search_flags(),
            )),
            aggs: vec![Aggregate {
                func: "count".into(),
                field: None,
                alias: None,
            }],
            by: vec!["Processes.host".into()],
            span: None,
        },
    )]);
    let out = evaluate(&q, Language::Splunk, &events, &EvalOptions::default());
    assert!(out.not_evaluable.is_empty(), "{:?}", out.not_evaluable);
    assert_eq!(out.results.len(), 1);
    assert_eq!(out.results[0]["Processes.host"], vec!["ws1"]);
    assert_eq!(out.results[0]["count"], vec!["2"]);
    assert_eq!(out.matched, 2);
}

#[test]
fn eval_then_where_after_stats_explains_group_drop() {
    let events = netscan_events();
    let stages = vec![
        stage(
            "stats",
            Operator::Stats {
                mode: StatsMode::Stats,
                aggs: vec![Aggregate {
                    func: "count".into(),
                    field: None,
                    alias: Some("n".into()),
                }],
                by: vec!["host".into()],
            },
        ),
        filter(
            cmp("n", CmpOp::Gt, &[Literal::plain("2")], cs()),
            Logic::ThreeValued,
        ),
    ];
    let out = evaluate(
        &query(stages),
        Language::Splunk,
        &events,
        &EvalOptions {
            explain: true,
            ..EvalOptions::default()
        },
    );
    assert_eq!(out.matched, 0);
    assert!(out.results.is_empty());
    assert_eq!(out.explain[0].stage, Some(2));
    assert_eq!(out.explain[0].field.as_deref(), Some("n"));
    assert_eq!(out.explain[0].values, vec!["2"]);
}

#[test]
fn fields_keeps_internal_table_does_not() {
    let e = || vec![ev(&[("_time", "1"), ("a", "x"), ("b", "y")], "raw")];
    let out = run(
        Language::Splunk,
        vec![stage(
            "fields",
            Operator::Project {
                fields: vec!["a".into()],
                keep: true,
            },
        )],
        &e(),
    );
    assert!(out.results[0].contains_key("_time"));
    assert!(!out.results[0].contains_key("b"));
    let out = run(
        Language::Splunk,
        vec![stage(
            "table",
            Operator::Project {
                fields: vec!["a".into()],
                keep: true,
            },
        )],
        &e(),
    );
    assert_eq!(out.results[0].keys().collect::<Vec<_>>(), vec!["a"]);
}

#[test]
fn parse_errors_make_a_rule_not_evaluable() {
    let mut q = query(vec![filter(term("x"), Logic::Search)]);
    q.diagnostics.push(Diagnostic::logic(
        Severity::Error,
        "unclosed-quote",
        "unclosed quote",
        Span::new(0, 1),
    ));
    let out = evaluate(
        &q,
        Language::Splunk,
        &[ev(&[], "x")],
        &EvalOptions::default(),
    );
    assert_eq!(out.not_evaluable[0].what, "parse");
}

#[test]
fn evaluate_many_with_literal_prefilter_agrees_with_evaluate() {
    let events = netscan_events();
    let q = netscan_query();
    let p = Prepared {
        rule: "netscan".into(),
        language: Language::Splunk,
        logic: String::new(),
        expansion: None,
        query: q.clone(),
        reasons: Vec::new(),
        notes: Vec::new(),
    };
    let many = evaluate_many(std::slice::from_ref(&p), &events, &EvalOptions::default());
    let one = evaluate(&q, Language::Splunk, &events, &EvalOptions::default());
    assert_eq!(many[0].matched, 1);
    assert_eq!(many[0].results, one.results);
}

/// `evaluate_many` (pre-selection and atoms) must agree with `evaluate`
/// on every expression and event.
#[test]
fn preselection_never_changes_results() {
    let events = vec![
        ev(
            &[("f", "Abc"), ("n", "4688")],
            "x Abc.exe a%20w--z <EventID>1</EventID>",
        ),
        ev(&[("f", "abcd"), ("n", "4688.0")], "who am i K\u{212A}elvin"),
        ev(&[("g", "1")], "ſtraße w -v net"),
        ev(&[("f", "C:\\x\\cmd.exe")], "C:\\x\\cmd.exe --dns"),
    ];
    let t = |v: &str, whole: bool, cs: bool| {
        Expr::Term(Term {
            text: v.into(),
            value: v.into(),
            whole_token: whole,
            case_sensitive: cs,
            span: Span::default(),
        })
    };
    let exprs: Vec<(Expr, Logic)> = vec![
        (t("abc", false, false), Logic::Search),
        (t("ABC", false, true), Logic::Search),
        (t("abc.exe", false, false), Logic::Search),
        (t("w", true, false), Logic::Search),
        (t("z", true, false), Logic::Search),
        (t("-v", true, false), Logic::Search),
        (t("dns", true, false), Logic::Search),
        (t("strasse", false, false), Logic::Search),
        (t("ſtraße", false, false), Logic::Search),
        (t("straße", false, false), Logic::Search),
        (t("kkelvin", false, false), Logic::Search),
        (t("<EventID>1<", false, false), Logic::Search),
        (t("*bc*", false, false), Logic::Search),
        (
            or(vec![t(">", true, false), t("who", false, false)]),
            Logic::Search,
        ),
        (not(t("who", false, false)), Logic::Search),
        (
            cmp("f", CmpOp::Eq, &[lit("abc")], search_flags()),
            Logic::Search,
        ),
        (cmp("f", CmpOp::Eq, &[lit("abc")], cs()), Logic::ThreeValued),
        (
            not(cmp("f", CmpOp::Eq, &[lit("abc")], cs())),
            Logic::ThreeValued,
        ),
        (
            not(cmp("f", CmpOp::Eq, &[lit("zzz")], cs())),
            Logic::ThreeValued,
        ),
        (
            cmp("n", CmpOp::Eq, &[Literal::plain("4688")], cs()),
            Logic::ThreeValued,
        ),
        (
            cmp("f", CmpOp::Eq, &[lit("*\\cmd.exe")], search_flags()),
            Logic::Search,
        ),
        (
            cmp("f", CmpOp::Match, &[lit("(?i)\\x5ccmd\\.exe")], cs()),
            Logic::ThreeValued,
        ),
        (
            not(cmp("f", CmpOp::Match, &[lit("(?i)abcd")], cs())),
            Logic::ThreeValued,
        ),
        (
            cmp("f", CmpOp::Ne, &[lit("abc")], search_flags()),
            Logic::Search,
        ),
        (
            cmp("f", CmpOp::Contains, &[lit("BCD")], Flags::default()),
            Logic::ThreeValued,
        ),
    ];
    for (i, (e, logic)) in exprs.into_iter().enumerate() {
        let q = query(vec![filter(e, logic)]);
        let one = evaluate(&q, Language::Splunk, &events, &EvalOptions::default());
        let p = Prepared {
            rule: i.to_string(),
            language: Language::Splunk,
            logic: String::new(),
            expansion: None,
            query: q,
            reasons: Vec::new(),
            notes: Vec::new(),
        };
        let many = evaluate_many(&[p], &events, &EvalOptions::default());
        assert_eq!(one.results, many[0].results, "expression {i}");
    }
}

#[test]
fn kql_operators_in_scalar_position() {
    let e = || {
        ev(
            &[
                ("s", "North America"),
                ("n", "5"),
                ("j", "{\"a\":[1,\"x\"]}"),
            ],
            "",
        )
    };
    let k = |x: Scalar| eval_scalar(Language::Kusto, x, e());
    let op = |name: &str, a: Scalar, b: Scalar| call(name, vec![a, b]);
    let list = |xs: &[&str]| Scalar::List {
        items: xs.iter().map(|x| s(x)).collect(),
    };
    assert_eq!(k(op("=~", field("s"), s("north america"))), vec!["true"]);
    assert_eq!(k(op("!~", field("s"), s("north america"))), vec!["false"]);
    assert_eq!(k(op("has", field("s"), s("america"))), vec!["true"]);
    assert_eq!(k(op("has", field("s"), s("amer"))), vec!["false"]);
    assert_eq!(k(op("has_cs", field("s"), s("america"))), vec!["false"]);
    assert_eq!(k(op("hasprefix", field("s"), s("amer"))), vec!["true"]);
    assert_eq!(k(op("!has", field("s"), s("europe"))), vec!["true"]);
    assert_eq!(k(op("contains", field("s"), s("TH AM"))), vec!["true"]);
    assert_eq!(k(op("contains_cs", field("s"), s("TH AM"))), vec!["false"]);
    assert_eq!(k(op("!startswith", field("s"), s("north"))), vec!["false"]);
    assert_eq!(
        k(op("in~", field("s"), list(&["NORTH AMERICA", "x"]))),
        vec!["true"]
    );
    assert_eq!(
        k(op("!in", field("s"), list(&["NORTH AMERICA"]))),
        vec!["true"]
    );
    assert_eq!(
        k(op("has_any", field("s"), list(&["x", "north"]))),
        vec!["true"]
    );
    assert_eq!(
        k(op("has_all", field("s"), list(&["x", "north"]))),
        vec!["false"]
    );
    assert_eq!(
        k(op("between", field("n"), list(&["1", "5"]))),
        vec!["true"]
    );
    assert_eq!(
        k(op("!between", field("n"), list(&["6", "9"]))),
        vec!["true"]
    );
    assert_eq!(
        k(op("matches regex", field("s"), s("^North"))),
        vec!["true"]
    );
    let idx = call(
        "index",
        vec![call("index", vec![field("j"), s("a")]), num("1")],
    );
    assert_eq!(k(idx), vec!["x"]);
    assert_eq!(k(call("countof", vec![s("abab"), s("ab")])), vec!["2"]);
    assert_eq!(
        k(call("base64_decode_tostring", vec![s("aGVsbG8=")])),
        vec!["hello"]
    );
    assert_eq!(k(call("url_decode", vec![s("a%20b+c")])), vec!["a b c"]);
    // SQL contains stays case-sensitive.
    let q = |x: Scalar| eval_scalar(Language::Snowflake, x, e());
    assert_eq!(
        q(call("contains", vec![field("s"), s("north")])),
        vec!["false"]
    );
    assert_eq!(
        q(call(
            "date_part",
            vec![field("hour"), s("2024-06-12T13:05:00Z")]
        )),
        vec!["13"]
    );
    assert_eq!(
        q(call("split_part", vec![s("a-b-c"), s("-"), num("2")])),
        vec!["b"]
    );
}

#[test]
fn spl_mvfilter_and_strftime() {
    let e = || ev(&[("m", "a.exe"), ("m", "b.dll"), ("m", "c.exe")], "");
    let f = call(
        "mvfilter",
        vec![call("match", vec![field("m"), s("\\.exe$")])],
    );
    assert_eq!(
        eval_scalar(Language::Splunk, f, e()),
        vec!["a.exe", "c.exe"]
    );
    let t = call("strftime", vec![num("0"), s("%Y-%m-%d %H:%M")]);
    assert_eq!(
        eval_scalar(Language::Splunk, t, e()),
        vec!["1970-01-01 00:00"]
    );
    // An invalid format gives null, not a panic.
    let bad = call("strftime", vec![num("0"), s("%Q")]);
    assert!(eval_scalar(Language::Splunk, bad, e()).is_empty());
}
