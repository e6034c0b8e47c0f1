//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

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

/// Runs `build` with `catalogs` (none: the team catalog) into a fresh
/// temporary directory that holds both the index and the reports.
fn build_into_tempdir(catalogs: &[PathBuf]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let path = d.path().to_str().expect("utf-8 path").to_string();
    let mut args = vec![
        "--index".to_string(),
        path.clone(),
        "--reports".to_string(),
        path,
        "build".to_string(),
    ];
    for c in catalogs {
        args.push("--catalog".into());
        args.push(c.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&args);
    d
}

/// The team catalog, built once per test binary.
pub fn catalog_index() -> &'static str {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| build_into_tempdir(&[]))
        .path()
        .to_str()
        .expect("utf-8 path")
}

/// The three real corpora, built once per test binary (`None` when
/// ../shared is missing outside CI).
pub fn corpus_index() -> Option<&'static str> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        let corpus = shared()?.join("corpus");
        let dirs: Vec<PathBuf> = ["armory", "security_content", "sentinel"]
            .iter()
            .map(|c| corpus.join(c))
            .collect();
        Some(build_into_tempdir(&dirs))
    })
    .as_ref()
    .map(|d| d.path().to_str().expect("utf-8 path"))
}
