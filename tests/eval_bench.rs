//! Evaluation benchmark (issue 3): every armory SPL rule × every EVTX
//! file of `../shared/corpus/events`. Not a timed test: it is `#[ignore]`d
//! and prints figures; run it with
//! `cargo test --release --test eval_bench -- --ignored --nocapture`.
//!
//! The armory macros (`get_endpoint_data`…) come from the catalog's
//! `macros.conf`, as `ruledex eval --all` uses them; rules with other
//! undefined macros are counted as not evaluable, as the product does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ruledex::eval::{self, EvalOptions};
use ruledex::events::{self, fieldmap::FieldMap};
use ruledex::macros::MacroSet;
use ruledex::rule::Language;

/// CPU seconds (user + system) used by this process so far, from
/// /proc/self/stat; `None` off Linux.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.is_dir() {
        Some(p)
    } else if std::env::var_os("CI").is_some() {
        panic!("../shared missing under CI")
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

#[test]
#[ignore]
fn bench_armory_spl_over_evtx() {
    let Some(shared) = shared() else { return };
    let t0 = Instant::now();
    let crawl = ruledex::crawl::crawl(&[shared.join("corpus/armory")]);
    let mut defs = crawl.macros;
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/macros.conf");
    if let Ok(text) = std::fs::read_to_string(&conf) {
        defs.extend(ruledex::macros::parse_macros_conf(&text, &conf).0);
    }
    let macros = MacroSet::new(defs);
    let rules: Vec<_> = crawl
        .rules
        .iter()
        .filter(|r| r.language == Language::Splunk)
        .collect();
    let prepared: Vec<eval::Prepared> = rules.iter().map(|r| eval::prepare(r, &macros)).collect();
    let t_parse = t0.elapsed();

    let t1 = Instant::now();
    let (evs, report) = events::load_path(
        &shared.join("corpus/events/evtx-attack-samples"),
        &FieldMap::default_map(),
    );
    let t_load = t1.elapsed();

    let t2 = Instant::now();
    let c2 = cpu_secs();
    let outs = eval::evaluate_many(&prepared, &evs, &EvalOptions::default());
    let t_eval = t2.elapsed();
    let cpu = match (c2, cpu_secs()) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };

    let evaluable = outs.iter().filter(|o| o.not_evaluable.is_empty()).count();
    let hits = outs.iter().filter(|o| o.matched > 0).count();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for o in &outs {
        for r in &o.not_evaluable {
            *reasons.entry(r.what.clone()).or_default() += 1;
        }
    }
    let secs = t_eval.as_secs_f64();
    let threads = rayon::current_num_threads();
    println!("load: {} in {:.2}s", report.summary(), t_load.as_secs_f64());
    println!(
        "rules: {} SPL ({} evaluable, {} with hits), parsed in {:.2}s",
        rules.len(),
        evaluable,
        hits,
        t_parse.as_secs_f64()
    );
    println!("not evaluable by kind: {reasons:?}");
    println!(
        "eval: {} events × {} rules in {:.2}s on {threads} threads: {:.0} events/s ({:.0} events/s per thread), {:.0} rule-event evaluations/s",
        evs.len(),
        rules.len(),
        secs,
        evs.len() as f64 / secs,
        evs.len() as f64 / secs / threads as f64,
        (evs.len() * rules.len()) as f64 / secs
    );
    println!(
        "eval CPU time {cpu:.2}s: {:.0} events per CPU-second, {:.0} rule-event evaluations per CPU-second",
        evs.len() as f64 / cpu,
        (evs.len() * rules.len()) as f64 / cpu
    );
    let mut top: Vec<_> = outs.iter().filter(|o| o.matched > 0).collect();
    top.sort_by_key(|o| std::cmp::Reverse(o.matched));
    for o in top.iter().take(15) {
        println!("  {:>6} {}", o.matched, o.rule);
    }
    assert_eq!(outs.len(), rules.len());
}
