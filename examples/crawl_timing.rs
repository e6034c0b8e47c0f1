//! Prints how long `crawl` takes over the catalogs given on the command
//! line (default: the three corpora under `../shared/corpus`).
//!
//! `cargo run --release --example crawl_timing [DIR...]`. A measurement
//! aid, not a test: it asserts nothing.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        dirs = ["armory", "security_content", "sentinel"]
            .iter()
            .map(|d| corpus.join(d))
            .collect();
    }
    for dir in &dirs {
        // Best of three, so a cold page cache or a busy neighbour on the
        // shared machine does not decide the figure.
        let mut best = None;
        let mut last = None;
        for _ in 0..3 {
            let start = Instant::now();
            let c = ruledex::crawl::crawl(std::slice::from_ref(dir));
            let t = start.elapsed();
            best = Some(best.map_or(t, |b: std::time::Duration| b.min(t)));
            last = Some(c);
        }
        if let (Some(best), Some(c)) = (best, last) {
            println!(
                "{}: {} files, {} rules {:?}, {} macros, skipped {:?}, {} diagnostics; best of 3: {:.1} ms",
                dir.display(),
                c.stats.files_read,
                c.rules.len(),
                c.stats.rules_by_language,
                c.macros.len(),
                c.stats.skipped,
                c.diagnostics.len(),
                best.as_secs_f64() * 1e3
            );
        }
    }
    let start = Instant::now();
    let c = ruledex::crawl::crawl(&dirs);
    println!(
        "all together: {} rules in {:.1} ms",
        c.rules.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
}
