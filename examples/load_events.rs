//! Loads event files and prints counts and throughput: the loader
//! benchmark (`cargo run --release --example load_events -- DIR`).

use std::path::PathBuf;
use std::time::Instant;

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
    let map = FieldMap::default_map();
    let mut best = f64::MAX;
    let mut summary = String::new();
    let mut fields = 0usize;
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        let (events, report) = load_path(&dir, &map);
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        summary = report.summary();
        fields = events.iter().map(|e| e.fields.len()).sum();
        if secs <= best {
            println!(
                "{:.3}s: {} ({:.0} events/s, {} threads)",
                secs,
                summary,
                report.events as f64 / secs,
                rayon::current_num_threads()
            );
        }
    }
    println!("best {best:.3}s for {summary}; {fields} fields in all");
}
