//! The HTML report `build` writes, rendered by headless Chromium: the
//! catalog list, a lazily rendered rule page and the ATT&CK heatmap must
//! be in the DOM the script builds.
//!
//! Chromium missing is a skip with a reason locally and a failure under
//! CI (`.ci/run` installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{run_ok, shared};

/// The chromium binary on PATH, or `None` with a printed reason.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => {
            panic!("chromium is not installed and CI is set: .ci/run must install it")
        }
        None => {
            eprintln!("skipping: chromium not found on PATH (apt-get install chromium)");
            None
        }
    }
}

/// Runs headless chromium on `url` with `extra` arguments in a fresh
/// profile and returns its stdout.
fn run_chromium(chromium: &Path, url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out_path = profile.path().join("stdout.html");
    let out_file = std::fs::File::create(&out_path).expect("stdout file");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,1000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    // A hung browser must fail the test rather than stall the suite; the
    // limit is far above a normal run (a few seconds) and asserts nothing
    // about speed.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium failed on {url}: {status:?}");
    std::fs::read_to_string(&out_path).expect("chromium output")
}

/// The DOM of `index.html#hash` after the report's script ran.
fn dump_dom(chromium: &Path, report: &Path, hash: &str) -> String {
    let url = format!("file://{}{hash}", report.display());
    run_chromium(chromium, &url, &["--dump-dom"])
}

/// A report built from the team catalog (no ATT&CK bundle): index and
/// reports in one temporary directory, kept for the test binary's life.
fn team_report() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("tempdir");
        let index = d.path().join("index");
        let reports = d.path().join("reports");
        run_ok(&[
            "build",
            "--index",
            index.to_str().expect("utf-8 path"),
            "--reports",
            reports.to_str().expect("utf-8 path"),
        ]);
        d
    });
    let path = dir.path().join("reports/index.html");
    assert!(path.is_file(), "build wrote no {}", path.display());
    // Leaked on purpose: the directory lives as long as the test binary.
    Box::leak(path.into_boxed_path())
}

/// How many times `needle` occurs in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn catalog_list_shows_every_team_rule() {
    let Some(chromium) = chromium() else { return };
    let dom = dump_dom(&chromium, team_report(), "");
    assert!(
        dom.contains("id=\"catalog-list\""),
        "no catalog table:\n{dom}"
    );
    assert_eq!(count(&dom, "<tr data-id="), 9, "rows:\n{dom}");
    for id in [
        "rdx.1001",
        "rdx.1003",
        "9c2e4b1a-3d5f-4a70-b8e9-6f1c0d2a4e83",
    ] {
        assert!(dom.contains(&format!("data-id=\"{id}\"")), "{id} missing");
    }
    assert!(dom.contains("href=\"#rule/rdx.1001\""));
    // Rule pages are rendered on demand, not up front.
    assert!(!dom.contains("class=\"indicators\""));
}

#[test]
fn rule_page_renders_indicators_and_escapes_rule_text() {
    let Some(chromium) = chromium() else { return };
    let dom = dump_dom(&chromium, team_report(), "#rule/rdx.1001");
    assert!(
        dom.contains(
            "<h1 id=\"rule-title\">Network Scanner Launched (netscan) (Windows Sysmon)</h1>"
        ),
        "title:\n{dom}"
    );
    let start = dom
        .find("<table class=\"indicators\">")
        .expect("Indicators table");
    let end = start + dom[start..].find("</table>").expect("table end");
    let table = &dom[start..end];
    assert!(table.contains("process_path"), "{table}");
    assert!(table.contains("EventCode"), "{table}");
    assert!(
        table.contains(r#""(?i)\x5cnetscan_portable\x5c""#),
        "{table}"
    );
    assert_eq!(
        count(table, "<tr>"),
        1 + 3,
        "header + 3 indicators:\n{table}"
    );
    // `"<EventID>1<"` in the YAML and the search terms is text, not markup.
    assert!(dom.contains("\"&lt;EventID&gt;1&lt;\""), "{dom}");
    assert!(!dom.contains("<eventid>"), "rule text became markup");
    assert!(dom.contains("class=\"terms\""), "no Search terms table");
    assert!(dom.contains("T1046"), "no technique row");
}

#[test]
fn heatmap_has_cells_grouped_by_the_rules_tactics() {
    let Some(chromium) = chromium() else { return };
    let dom = dump_dom(&chromium, team_report(), "#attack");
    assert!(dom.contains("id=\"heatmap\""), "no heatmap:\n{dom}");
    assert!(count(&dom, "data-technique=") >= 5, "{dom}");
    // Without a bundle: ids only, under the tactics the rules name.
    assert!(
        dom.contains("data-technique=\"T1046\" data-tactic=\"discovery\""),
        "{dom}"
    );
    assert!(dom.contains("no ATT&amp;CK bundle"), "the note is missing");
}

#[test]
fn top_indicators_and_screenshot() {
    let Some(chromium) = chromium() else { return };
    let report = team_report();
    let dom = dump_dom(&chromium, report, "#indicators");
    assert!(dom.contains("class=\"top-indicators\""), "{dom}");
    assert!(dom.contains("process_path"));

    let shot_dir = tempfile::tempdir().expect("tempdir");
    let shot = shot_dir.path().join("rule.png");
    run_chromium(
        &chromium,
        &format!("file://{}#rule/rdx.1001", report.display()),
        &[&format!("--screenshot={}", shot.display())],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10_000, "suspiciously small screenshot");
}

#[test]
fn full_corpus_report_with_the_attack_bundle() {
    let Some(shared) = shared() else { return };
    let Some(chromium) = chromium() else { return };
    let d = tempfile::tempdir().expect("tempdir");
    let c = |name: &str| shared.join("corpus").join(name).display().to_string();
    let bundle = shared.join("attack/enterprise-attack.json");
    let (index, reports) = (d.path().join("index"), d.path().join("reports"));
    run_ok(&[
        "build",
        "--index",
        index.to_str().expect("utf-8 path"),
        "--reports",
        reports.to_str().expect("utf-8 path"),
        "--catalog",
        &c("armory"),
        "--catalog",
        &c("security_content"),
        "--catalog",
        &c("sentinel"),
        "--attack",
        bundle.to_str().expect("utf-8 path"),
    ]);
    let report = reports.join("index.html");

    let dom = dump_dom(&chromium, &report, "");
    // Thousands of rules, but only the first rows are in the DOM.
    let rows = count(&dom, "<tr data-id=");
    assert!(rows > 100 && rows <= 500, "{rows} rows rendered");
    assert!(dom.contains("Show more"), "no 'Show more' button");

    let dom = dump_dom(&chromium, &report, "#rule/24804.45867");
    assert!(dom.contains("SoftPerfect"), "netscan rule page missing");
    assert!(dom.contains("<table class=\"indicators\">"));

    let dom = dump_dom(&chromium, &report, "#attack?t=T1046");
    let first = dom.find("class=\"tactic\"").expect("tactic header");
    assert!(
        dom[first..].starts_with("class=\"tactic\" title=\"TA0043\">Reconnaissance"),
        "first column is not Reconnaissance"
    );
    let t1046 = dom
        .find("data-technique=\"T1046\"")
        .expect("T1046 cell in the matrix");
    let button = dom[..t1046].rfind("<button").expect("cell element");
    assert!(
        !dom[button..t1046].contains("cell l0"),
        "T1046 is unshaded: {}",
        &dom[button..t1046]
    );
    assert!(dom.contains("id=\"cell-detail\"><div class=\"detail\">"));
}

#[test]
fn no_report_skips_the_html() {
    let d = tempfile::tempdir().expect("tempdir");
    let (index, reports) = (d.path().join("index"), d.path().join("reports"));
    run_ok(&[
        "build",
        "--no-report",
        "--no-eval",
        "--index",
        index.to_str().expect("utf-8 path"),
        "--reports",
        reports.to_str().expect("utf-8 path"),
    ]);
    assert!(!reports.join("index.html").exists());
}
