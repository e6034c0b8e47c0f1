//! Pipeline-level tests of the SPL front-end: stage splitting, command
//! structure, diagnostics and recovery, on snippets from real rules.

use super::*;
use crate::ir::{CmpOp, Expr, ExtractMode, Logic, StatsMode, Wildcard};

const NETSCAN: &str = r#"`get_endpoint_data` `get_endpoint_data_sysmon` (TERM(EventCode=1) OR "<EventID>1<") "netscan" | where match(process_name, "(?i)\x5cnetscan(32|64)?\.exe") or match(process_path, "(?i)\x5cnetscan_portable") | table _time, host, user, process, process_*, parent_process, parent_process_*, user | bin span=1s | stats values(*) as * by _time, host "#;

fn kinds(q: &Query) -> Vec<&str> {
    q.stages.iter().map(|s| s.kind.as_str()).collect()
}

fn codes(q: &Query) -> Vec<&str> {
    q.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

fn filter(s: &Stage) -> (&Expr, Logic) {
    match &s.op {
        Operator::Filter { expr, logic } => (expr, *logic),
        other => panic!("filter expected, got {other:?}"),
    }
}

fn cmps(e: &Expr) -> Vec<&crate::ir::Cmp> {
    let mut v = Vec::new();
    e.for_each_cmp(&mut |c| v.push(c));
    v
}

fn terms(e: &Expr) -> Vec<&str> {
    let mut v = Vec::new();
    e.for_each_term(&mut |t| v.push(t.text.as_str()));
    v
}

#[test]
fn netscan_rule() {
    let q = parse(NETSCAN);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    assert_eq!(kinds(&q), ["search", "where", "table", "bin", "stats"]);
    assert_eq!(
        q.stages[0].text,
        r#"`get_endpoint_data` `get_endpoint_data_sysmon` (TERM(EventCode=1) OR "<EventID>1<") "netscan""#
    );
    assert_eq!(q.stages[0].span, Span::new(0, 93));
    assert_eq!(q.stages[1].span.start, 96);
    assert!(q.stages[1].text.starts_with("where match("));
    assert_eq!(q.stages[4].text, "stats values(*) as * by _time, host");

    let (search, logic) = filter(&q.stages[0]);
    assert_eq!(logic, Logic::Search);
    assert_eq!(
        terms(search),
        ["TERM(EventCode=1)", "\"<EventID>1<\"", "\"netscan\""]
    );
    let Expr::And { children } = search else {
        panic!("and expected")
    };
    let macros: Vec<_> = children
        .iter()
        .filter_map(|c| match c {
            Expr::Macro(m) => Some(m.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(macros, ["get_endpoint_data", "get_endpoint_data_sysmon"]);
    let Expr::Or { children: or } = &children[2] else {
        panic!("or expected")
    };
    let Expr::Term(t) = &or[0] else {
        panic!("term expected")
    };
    assert_eq!((t.value.as_str(), t.whole_token), ("EventCode=1", true));
    assert_eq!(t.span, Span::new(48, 65));

    let (w, logic) = filter(&q.stages[1]);
    assert_eq!(logic, Logic::ThreeValued);
    let c = cmps(w);
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].field.as_str(), c[0].op),
        ("process_name", CmpOp::Match)
    );
    assert_eq!(c[0].values[0].value, r"(?i)\x5cnetscan(32|64)?\.exe");
    assert_eq!(c[0].values[0].raw, r#""(?i)\x5cnetscan(32|64)?\.exe""#);
    assert_eq!(
        c[0].span.slice(NETSCAN),
        r#"match(process_name, "(?i)\x5cnetscan(32|64)?\.exe")"#
    );
    assert_eq!(c[1].field, "process_path");

    match &q.stages[2].op {
        Operator::Project { fields, keep } => {
            assert!(keep);
            assert_eq!(fields.len(), 8);
            assert_eq!(fields[4], "process_*");
        }
        other => panic!("{other:?}"),
    }
    match &q.stages[3].op {
        Operator::Bin { field, span, alias } => {
            assert_eq!(field, "_time");
            assert_eq!(span.as_deref(), Some("1s"));
            assert!(alias.is_none());
        }
        other => panic!("{other:?}"),
    }
    match &q.stages[4].op {
        Operator::Stats { mode, aggs, by } => {
            assert_eq!(*mode, StatsMode::Stats);
            assert_eq!(aggs.len(), 1);
            assert_eq!(aggs[0].func, "values");
            assert_eq!(aggs[0].field.as_deref(), Some("*"));
            assert_eq!(aggs[0].alias.as_deref(), Some("*"));
            assert_eq!(by, &["_time", "host"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(macro_calls(NETSCAN).len(), 2);
}

#[test]
fn triple_backtick_comment_and_macro_args() {
    let src = r#"index=win EventCode=4688 ```skip service accounts``` user!="svc_*" | `win_filter(4688,"a|b")`"#;
    let q = parse(src);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    assert_eq!(kinds(&q), ["search", "macro"]);
    let (e, _) = filter(&q.stages[0]);
    let c = cmps(e);
    assert_eq!(c.len(), 3);
    assert_eq!((c[2].field.as_str(), c[2].op), ("user", CmpOp::Ne));
    assert_eq!(c[2].values[0].value, "svc_*");
    assert_eq!(c[2].values[0].raw, "\"svc_*\"");
    assert_eq!(c[2].flags.wildcard, Wildcard::Glob);
    assert_eq!(c[2].span.slice(src), r#"user!="svc_*""#);
    let Operator::Macro(m) = &q.stages[1].op else {
        panic!("macro expected")
    };
    assert_eq!(m.name, "win_filter");
    assert_eq!(m.args, ["4688", "\"a|b\""]);
    assert_eq!(m.span.slice(src), r#"`win_filter(4688,"a|b")`"#);
    let all = macro_calls(src);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0], *m);
}

#[test]
fn glued_macro_is_split_with_warning() {
    let src = "index=x | eval hit=if(c>5,1,0) `my_filter`";
    let q = parse(src);
    assert_eq!(kinds(&q), ["search", "eval", "macro"]);
    assert_eq!(q.stages[1].text, "eval hit=if(c>5,1,0)");
    assert_eq!(q.stages[2].span, Span::new(31, 42));
    assert_eq!(codes(&q), ["macro-without-pipe"]);
    assert_eq!(q.diagnostics[0].severity, Severity::Warning);
    assert_eq!(q.diagnostics[0].span, Some(Span::new(31, 42)));
    let Operator::Eval { assignments } = &q.stages[1].op else {
        panic!("eval expected")
    };
    assert_eq!(assignments[0].name, "hit");
    // A search stage keeps trailing macros as filters.
    let q = parse("a `m`");
    assert_eq!(kinds(&q), ["search"]);
    assert!(q.diagnostics.is_empty());
    // So does a where that is only a macro.
    let q = parse("a | where `m`");
    assert_eq!(kinds(&q), ["search", "where"]);
}

#[test]
fn semantics_traps_parse_shapes() {
    // F1: `a b OR c` = a AND (b OR c).
    let q = parse("a b OR c");
    let (e, _) = filter(&q.stages[0]);
    let Expr::And { children } = e else { panic!() };
    assert!(matches!(children[1], Expr::Or { .. }));
    // F2: where AND binds tighter than OR.
    let q = parse("x | where x=1 OR y=1 AND z=1");
    let (e, _) = filter(&q.stages[1]);
    let Expr::Or { children } = e else { panic!() };
    assert!(matches!(children[1], Expr::And { .. }));
    // F10: lowercase `or` is a term.
    let q = parse("a or b");
    let (e, _) = filter(&q.stages[0]);
    assert_eq!(terms(e), ["a", "or", "b"]);
    // F3: NOT f=v vs f!=v.
    let q = parse("NOT f=x g!=x");
    let (e, _) = filter(&q.stages[0]);
    let Expr::And { children } = e else { panic!() };
    assert!(
        matches!(&children[0], Expr::Not { child } if matches!(**child, Expr::Cmp(ref c) if c.op == CmpOp::Eq))
    );
    assert!(matches!(&children[1], Expr::Cmp(c) if c.op == CmpOp::Ne));
}

#[test]
fn leading_pipe_tstats() {
    let src = r#"| tstats `security_content_summariesonly` count min(_time) as firstTime from datamodel=Endpoint.Processes where Processes.process_name=fltMC.exe AND Processes.process=*unload* NOT `m` by Processes.dest Processes.user span=1h | `drop_dm_object_name(Processes)`"#;
    let q = parse(src);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    assert_eq!(kinds(&q), ["tstats", "macro"]);
    let Operator::Tstats {
        datamodel,
        filter,
        aggs,
        by,
        span,
    } = &q.stages[0].op
    else {
        panic!()
    };
    assert_eq!(datamodel.as_deref(), Some("Endpoint.Processes"));
    assert_eq!(aggs.len(), 2);
    assert_eq!(aggs[1].func, "min");
    assert_eq!(aggs[1].alias.as_deref(), Some("firstTime"));
    assert_eq!(by, &["Processes.dest", "Processes.user"]);
    assert_eq!(span.as_deref(), Some("1h"));
    let f = filter.as_ref().expect("where clause");
    let c = cmps(f);
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].values[0].value, "*unload*");
    assert_eq!(c[1].flags.wildcard, Wildcard::Glob);
}

#[test]
fn commands_parse_into_structure() {
    let src = r#"x | rex field=process max_match=0 "(?<u>\w+)\\" | rex field=p mode=sed "s/'//g" | regex process!="(?i)a|b" | regex "z" | fields - a, b | rename a AS b, "c d" as e | bucket _time span=5m as t | eventstats dc(x) as y by a b | streamstats window=1 current=f values(x) as v by u | dedup 1 a b keepempty=true | sort 0 -count, + name | sort - n | head 5 | lookup dnslookup clientip as src_ip OUTPUT clienthost as src_dns | iplocation prefix="src_" src_ip | fillnull value="unknown" a b | transaction user startswith=(a=1 b=2) maxspan=240m | foreach stdev_* [ eval x='<<FIELD>>' | eval y=1 ] | mvexpand v limit=3 | spath input=x"#;
    let q = parse(src);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    assert_eq!(
        kinds(&q),
        [
            "search",
            "rex",
            "rex",
            "regex",
            "regex",
            "fields",
            "rename",
            "bucket",
            "eventstats",
            "streamstats",
            "dedup",
            "sort",
            "sort",
            "head",
            "lookup",
            "iplocation",
            "fillnull",
            "transaction",
            "foreach",
            "mvexpand",
            "spath"
        ]
    );
    let ops: Vec<&Operator> = q.stages.iter().map(|s| &s.op).collect();
    assert!(
        matches!(ops[1], Operator::Extract { field, pattern, mode: ExtractMode::Regex, max_match: 0 } if field == "process" && pattern == r"(?<u>\w+)\")
    );
    assert!(
        matches!(ops[2], Operator::Extract { mode: ExtractMode::Sed, max_match: 1, pattern, .. } if pattern == "s/'//g")
    );
    let (e, logic) = filter(&q.stages[3]);
    assert_eq!(logic, Logic::Search);
    assert!(
        matches!(e, Expr::Not { child } if matches!(**child, Expr::Cmp(ref c) if c.field == "process" && c.op == CmpOp::Match && c.values[0].value == "(?i)a|b"))
    );
    let (e, _) = filter(&q.stages[4]);
    assert!(matches!(e, Expr::Cmp(c) if c.field == "_raw"));
    assert!(matches!(ops[5], Operator::Project { fields, keep: false } if fields == &["a", "b"]));
    assert!(
        matches!(ops[6], Operator::Rename { pairs } if pairs == &[("a".to_string(), "b".to_string()), ("c d".to_string(), "e".to_string())])
    );
    assert!(
        matches!(ops[7], Operator::Bin { field, span: Some(s), alias: Some(a) } if field == "_time" && s == "5m" && a == "t")
    );
    assert!(
        matches!(ops[8], Operator::Stats { mode: StatsMode::EventStats, aggs, by } if aggs[0].func == "dc" && by == &["a", "b"])
    );
    assert!(
        matches!(ops[9], Operator::Stats { mode: StatsMode::StreamStats, aggs, by } if aggs.len() == 1 && by == &["u"])
    );
    assert!(
        matches!(ops[10], Operator::Dedup { fields, keep_empty: true } if fields == &["a", "b"])
    );
    assert!(
        matches!(ops[11], Operator::Sort { keys, limit: None } if keys.len() == 2 && keys[0].descending && keys[0].field == "count" && !keys[1].descending)
    );
    assert!(
        matches!(ops[12], Operator::Sort { keys, limit: Some(10000) } if keys[0].descending && keys[0].field == "n")
    );
    assert!(matches!(ops[13], Operator::Head { n: 5 }));
    assert!(
        matches!(ops[14], Operator::Lookup { table, inputs, outputs } if table == "dnslookup" && inputs == &[("clientip".to_string(), "src_ip".to_string())] && outputs == &[("clienthost".to_string(), "src_dns".to_string())])
    );
    assert!(matches!(ops[15], Operator::Iplocation { field } if field == "src_ip"));
    assert!(
        matches!(ops[16], Operator::Fillnull { value, fields } if value == "unknown" && fields.len() == 2)
    );
    assert!(
        matches!(ops[17], Operator::Transaction { fields, maxspan: Some(m) } if fields == &["user"] && m == "240m")
    );
    assert!(
        matches!(ops[18], Operator::Foreach { fields, template } if fields == &["stdev_*"] && template == "eval x='<<FIELD>>' | eval y=1")
    );
    assert!(matches!(ops[19], Operator::MvExpand { field } if field == "v"));
    assert!(matches!(ops[20], Operator::Unsupported { command } if command == "spath"));
}

#[test]
fn option_values_keep_calls_whole() {
    let q =
        parse(r#"x | transaction host startswith=eval(match(a,"b")) endswith="c d" maxspan=5m"#);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    let Operator::Transaction { fields, maxspan } = &q.stages[1].op else {
        panic!()
    };
    assert_eq!(fields, &["host"]);
    assert_eq!(maxspan.as_deref(), Some("5m"));
}

#[test]
fn join_and_append_parse_subqueries() {
    let src = r#"a | join type=left user, host [ search b=1 | stats count by user ] | append [ tstats count where index=x by host ] | search c"#;
    let q = parse(src);
    assert!(q.diagnostics.is_empty(), "{:?}", q.diagnostics);
    assert_eq!(kinds(&q), ["search", "join", "append", "search"]);
    let Operator::Join {
        kind,
        fields,
        subquery,
    } = &q.stages[1].op
    else {
        panic!()
    };
    assert_eq!(kind.as_deref(), Some("left"));
    assert_eq!(fields, &["user", "host"]);
    assert_eq!(kinds(subquery), ["search", "stats"]);
    assert_eq!(subquery.stages[0].text, "search b=1");
    assert_eq!(subquery.stages[0].span.slice(src), "search b=1");
    let Operator::Union { subqueries, .. } = &q.stages[2].op else {
        panic!()
    };
    assert_eq!(kinds(&subqueries[0]), ["tstats"]);
}

#[test]
fn unbalanced_input_is_diagnosed_at_the_opening() {
    // Unclosed paren: stages after it still parse.
    let src = r#"a (b OR c | where x=1 | stats count"#;
    let q = parse(src);
    assert_eq!(kinds(&q), ["search", "where", "stats"]);
    assert_eq!(codes(&q), ["unbalanced-paren"]);
    assert_eq!(q.diagnostics[0].span, Some(Span::new(2, 3)));
    // Stray paren after a misplaced quote (real armory shape).
    let src = r#"x | rex field=process "(?<file>(?i)\S+\.dmp") | table a"#;
    let q = parse(src);
    assert_eq!(kinds(&q), ["search", "rex", "table"]);
    assert_eq!(codes(&q), ["unbalanced-paren"]);
    assert_eq!(q.diagnostics[0].span.map(|s| s.slice(src)), Some(")"));
    // Unclosed bracket: its pipes still split.
    let q = parse("a | join x [ search b | stats count");
    assert_eq!(kinds(&q), ["search", "join", "stats"]);
    assert_eq!(codes(&q), ["missing-subsearch", "unbalanced-bracket"]);
    // Unclosed quote.
    let src = r#"a "b | table c"#;
    let q = parse(src);
    assert_eq!(kinds(&q), ["search", "table"]);
    assert_eq!(codes(&q), ["unclosed-quote"]);
    assert_eq!(q.diagnostics[0].span, Some(Span::new(2, 3)));
    // Unclosed macro.
    let q = parse("`get_data a=1 | table c");
    assert_eq!(kinds(&q), ["search", "table"]);
    assert_eq!(codes(&q), ["unclosed-macro"]);
    // Unclosed quote inside macro arguments (armory wuauclt rule).
    let src = r#"a | table b, c `group_events("host,1)` "#;
    let q = parse(src);
    assert_eq!(kinds(&q), ["search", "table", "macro"]);
    assert_eq!(codes(&q), ["macro-without-pipe", "unclosed-quote"]);
    // Empty stage.
    let q = parse("a | | table b");
    assert_eq!(codes(&q), ["empty-stage"]);
}

#[test]
fn long_line_keeps_every_term() {
    let mut src = String::new();
    let mut n = 0;
    while src.len() < 200_000 {
        src.push_str(&format!("f{n}=v{n} OR \"p {n}\" term{n} "));
        n += 1;
    }
    src.push_str("| stats count");
    let q = parse(&src);
    assert!(q.diagnostics.is_empty());
    assert_eq!(kinds(&q), ["search", "stats"]);
    let (e, _) = filter(&q.stages[0]);
    assert_eq!(cmps(e).len(), n);
    assert_eq!(terms(e).len(), 2 * n);
}

#[test]
fn findings_are_capped_per_query() {
    let q = parse(&")".repeat(500));
    assert_eq!(q.diagnostics.len(), 101);
    assert_eq!(q.diagnostics[100].code, "too-many-diagnostics");
    assert_eq!(q.diagnostics[100].severity, Severity::Note);
    assert!(q.diagnostics[100].message.starts_with("400 more"));
}

#[test]
fn several_glued_macros_keep_source_order() {
    let q = parse("x | table a `m1` `m2`");
    assert_eq!(kinds(&q), ["search", "table", "macro", "macro"]);
    assert_eq!(q.stages[1].text, "table a");
    assert_eq!(q.stages[2].text, "`m1`");
    assert_eq!(q.stages[3].text, "`m2`");
    // A tstats where clause may end in a filter macro.
    let q = parse("| tstats count where a=1 `f`");
    assert_eq!(kinds(&q), ["tstats"]);
    let q = parse("| tstats count where a=1 by h `f`");
    assert_eq!(kinds(&q), ["tstats", "macro"]);
}

/// A tiny deterministic generator, so the fuzz test needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn fuzz_random_input_never_panics() {
    let alphabet: Vec<char> =
        "ab =!<>()[]|,\"'`\\*.-+%/ TERM(CASE(NOT OR AND where eval stats by as é\n"
            .chars()
            .collect();
    let pieces = [
        "| where ",
        "| eval x=",
        "| stats count by ",
        "| tstats count from datamodel=a where ",
        "| join x [",
        "| append [",
        "]",
        "```",
        "`m(",
        "TERM(",
        "\"",
        "(",
        ")",
        "| rex field=a ",
        "| regex a!=",
        "| sort - ",
        "| rename a as ",
        "| foreach * [",
        " NOT ",
        " OR ",
        "match(",
        "like(",
        "lower(",
        "'",
        "\\",
        "| lookup t a as b OUTPUT c",
        "| head ",
        "| fields - ",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let mut s = String::new();
        let len = (rng.next() % 60) as usize;
        for _ in 0..len {
            if rng.next().is_multiple_of(3) {
                s.push_str(pieces[(rng.next() as usize) % pieces.len()]);
            } else {
                s.push(alphabet[(rng.next() as usize) % alphabet.len()]);
            }
        }
        let q = parse(&s);
        for st in &q.stages {
            assert!(st.span.end <= s.len());
        }
        for d in &q.diagnostics {
            let sp = d.span.expect("logic diagnostics carry spans");
            assert!(sp.end <= s.len(), "{s:?} {d:?}");
        }
        let _ = macro_calls(&s);
    }
    // Raw bytes, lossily decoded.
    for _ in 0..500 {
        let bytes: Vec<u8> = (0..(rng.next() % 80)).map(|_| rng.next() as u8).collect();
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse(&s);
    }
}
