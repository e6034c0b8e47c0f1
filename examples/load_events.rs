//! Loads event files and prints counts and throughput: the loader
//! benchmark.
//!
//! `cargo run --release --example load_events -- [DIR] [ROUNDS]` times
//! `load_path` (files in parallel, XML rendering, field extraction, the
//! default field map); with `EVTX_ONLY=1` it times the evtx crate's own
//! XML rendering of the same files instead, for comparison.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use ruledex::events::{load_path, FieldMap};

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/corpus/events/evtx-attack-samples"));
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let evtx_only = std::env::var_os("EVTX_ONLY").is_some();
    let map = FieldMap::default_map();
    let mut best = f64::MAX;
    let (cpu_start, mut total_events) = (cpu_seconds(), 0usize);
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        let (events, summary) = if evtx_only {
            let n = evtx_render_only(&dir);
            (n, format!("{n} records rendered by the evtx crate"))
        } else {
            let (events, report) = load_path(&dir, &map);
            (events.len(), report.summary())
        };
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        total_events += events;
        println!(
            "{secs:.3}s: {summary} ({:.0} events/s, {} threads)",
            events as f64 / secs,
            rayon::current_num_threads()
        );
    }
    let cpu = cpu_seconds() - cpu_start;
    println!(
        "best {best:.3}s wall; {:.0} events per CPU second ({total_events} events, {cpu:.2} CPU s, the machine's load does not count)",
        total_events as f64 / cpu
    );
}

/// User + system CPU time of this process so far, from /proc (Linux), in
/// seconds; 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Renders every record of every EVTX file under `dir` to XML with the
/// evtx crate alone, files in parallel; returns the record count.
fn evtx_render_only(dir: &Path) -> usize {
    let files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "evtx"))
        .map(|e| e.into_path())
        .collect();
    files
        .par_iter()
        .map(|f| match evtx::EvtxParser::from_path(f) {
            Ok(mut p) => p.records().filter(Result::is_ok).count(),
            Err(_) => 0,
        })
        .sum()
}
