//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// `../shared` beside the crate, or `None` (with a printed reason) when it
/// is missing. Under CI a missing corpus is a failure, not a skip.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("corpus").is_dir() {
        Some(p)
    } else if std::env::var_os("CI").is_some() {
        panic!("../shared is missing and CI is set: the corpus tests must run");
    } else {
        eprintln!("skipping: ../shared not found beside the crate");
        None
    }
}

/// The ruledex binary, run from the crate root.
pub fn ruledex() -> Command {
    let mut c = Command::cargo_bin("ruledex").expect("binary built by cargo test");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Runs ruledex with `args` and returns its output, asserting success.
pub fn run_ok(args: &[&str]) -> Output {
    let out = ruledex().args(args).output().expect("ruledex runs");
    assert!(
        out.status.success(),
        "ruledex {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Parses stdout as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Compares `actual` with the golden file `tests/golden/NAME`; with
/// `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n(rerun with UPDATE_GOLDEN=1 if the change is intended)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}
