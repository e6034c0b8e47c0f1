//! A tiny stderr logger behind the `log` facade: `-v` debug, `-vv` trace.

use log::{LevelFilter, Log, Metadata, Record};

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if self.enabled(r.metadata()) {
            eprintln!(
                "ruledex: {}: {}",
                r.level().as_str().to_lowercase(),
                r.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Installs the logger; `verbose` is the number of `-v` flags.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => LevelFilter::Warn,
        1 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    // Only fails when a logger is already set, which cannot happen here.
    let _ = log::set_logger(&Stderr);
    log::set_max_level(level);
}
