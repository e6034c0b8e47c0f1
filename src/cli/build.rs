//! `ruledex build`: crawl, parse every rule, write the index.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::json;

use super::Global;
use ruledex::attack::Attack;
use ruledex::diag::Severity;
use ruledex::index::{write_index, Catalog, IndexedRule};
use ruledex::model::{indicators, search_terms};
use ruledex::report::html;
use ruledex::{crawl, lang};

/// Arguments of `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// A catalog directory to crawl (repeatable). Default: the project's
    /// own `catalog/`.
    #[arg(long = "catalog", value_name = "DIR")]
    pub catalogs: Vec<PathBuf>,
    /// Exit with status 2 when any rule file could not be read.
    #[arg(long)]
    pub strict: bool,
    /// Sample events to evaluate every rule against, writing
    /// `<reports>/eval.{txt,json,csv}` (repeatable). Default: each
    /// catalog's `events/` directory, when it has one.
    #[arg(long = "events", value_name = "PATH")]
    pub events: Vec<PathBuf>,
    /// Skip the evaluation step.
    #[arg(long)]
    pub no_eval: bool,
    /// An ATT&CK Enterprise STIX bundle for the HTML report's heatmap
    /// (names, matrix order, gaps); without it technique ids are grouped
    /// by the rules' own tactics.
    #[arg(long, env = "RULEDEX_ATTACK", value_name = "FILE")]
    pub attack: Option<PathBuf>,
    /// Skip writing the HTML report (`<reports>/index.html`).
    #[arg(long)]
    pub no_report: bool,
}

/// The embedded default catalog: `./catalog` when run from a checkout,
/// else the `catalog/` the binary was built from.
pub fn default_catalog() -> anyhow::Result<PathBuf> {
    let here = PathBuf::from("catalog");
    if here.is_dir() {
        return Ok(here);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    if built.is_dir() {
        return Ok(built);
    }
    anyhow::bail!(
        "no catalog/ directory here or at {}; pass --catalog DIR",
        built.display()
    )
}

fn spinner(msg: &'static str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg);
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb
}

/// Evaluates `rules` over `events` and writes `eval.{txt,json,csv}` into
/// the reports directory.
fn evaluate_into_reports(
    global: &Global,
    rules: &[ruledex::rule::Rule],
    macros: Vec<ruledex::macros::MacroDef>,
    events: &[PathBuf],
) -> anyhow::Result<()> {
    let started = Instant::now();
    let macros = super::eval::with_catalog_macros(macros);
    let (loaded, load) = super::eval::load_events(events, None)?;
    let report = super::eval::all_report(rules, &macros, &loaded, &Default::default());
    let dir = &global.reports;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("eval.txt", report.text())?;
    write("eval.json", serde_json::to_string_pretty(&report)?)?;
    write("eval.csv", report.csv()?)?;
    super::output::print(&format!(
        "evaluated {} rules over {} ({}) in {:.0} ms: {} with hits, {} not evaluable; wrote {}/eval.{{txt,json,csv}}\n",
        rules.len(),
        events
            .iter()
            .map(|e| e.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        load.summary(),
        started.elapsed().as_secs_f64() * 1e3,
        report.rules_with_hits,
        report.not_evaluable_rules,
        dir.display()
    ))
}

/// Runs `build`.
pub fn run(global: &Global, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let catalogs = if args.catalogs.is_empty() {
        vec![default_catalog()?]
    } else {
        args.catalogs
    };
    for c in &catalogs {
        anyhow::ensure!(c.is_dir(), "catalog {} is not a directory", c.display());
    }

    let pb = spinner("crawling");
    let crawled = crawl::crawl(&catalogs);
    let crawl_time = started.elapsed();
    pb.set_message("parsing");
    let parsed: Vec<(IndexedRule, ruledex::ir::Query)> = crawled
        .rules
        .par_iter()
        .map(|rule| {
            let query = lang::parse(rule.language, &rule.logic);
            let indexed = IndexedRule {
                rule: rule.clone(),
                indicators: indicators(&query),
                terms: search_terms(&query),
            };
            (indexed, query)
        })
        .collect();
    let parse_time = started.elapsed() - crawl_time;

    pb.set_message("indexing");
    let mut parse_errors = 0usize;
    let mut parse_warnings = 0usize;
    let mut rules_with_diagnostics = 0usize;
    let mut n_indicators = 0usize;
    for (r, query) in &parsed {
        let diags = &query.diagnostics;
        n_indicators += r.indicators.len();
        rules_with_diagnostics += usize::from(!diags.is_empty());
        parse_errors += diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        parse_warnings += diags
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count();
    }
    let crawl_errors = crawled
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let summary = json!({
        "catalogs": catalogs.iter().map(|c| c.display().to_string()).collect::<Vec<_>>(),
        "files_read": crawled.stats.files_read,
        "rules_by_language": crawled.stats.rules_by_language,
        "skipped": crawled.stats.skipped,
        "macros": crawled.macros.len(),
        "crawl_errors": crawl_errors,
        "crawl_warnings": crawled.stats.warnings,
        "rules_with_parse_diagnostics": rules_with_diagnostics,
        "parse_errors": parse_errors,
        "parse_warnings": parse_warnings,
        "indicators": n_indicators,
    });
    let meta = json!({
        "summary": summary,
        "crawl_diagnostics": crawled.diagnostics,
        "macros": crawled.macros,
    });
    let (rules, queries): (Vec<IndexedRule>, Vec<ruledex::ir::Query>) = parsed.into_iter().unzip();
    write_index(&global.index, &rules, &meta)
        .with_context(|| format!("writing the index in {}", global.index.display()))?;
    let index_time = started.elapsed() - crawl_time - parse_time;

    let report = if args.no_report {
        None
    } else {
        pb.set_message("writing the report");
        let report_started = Instant::now();
        let stats = write_html_report(global, &args.attack, &catalogs, &rules, &queries, &summary)?;
        Some((stats, report_started.elapsed()))
    };
    pb.finish_and_clear();

    let by_lang = crawled
        .stats
        .rules_by_language
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let skipped: usize = crawled.stats.skipped.values().sum();
    let mut text = format!(
        "indexed {} rules ({by_lang}) from {} files in {} catalog(s) into {}\n",
        rules.len(),
        crawled.stats.files_read,
        catalogs.len(),
        global.index.display()
    );
    text.push_str(&format!(
        "  {} macros, {n_indicators} indicators; skipped {skipped} file(s)",
        crawled.macros.len()
    ));
    if skipped > 0 {
        let why = crawled
            .stats
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!(" ({why})"));
    }
    text.push('\n');
    text.push_str(&format!(
        "  crawl: {crawl_errors} error(s), {} warning(s); parse: {parse_errors} error(s), {parse_warnings} warning(s) in {rules_with_diagnostics} rule(s)\n",
        crawled.stats.warnings
    ));
    text.push_str(&format!(
        "  time: crawl {:.0} ms, parse {:.0} ms, index {:.0} ms, total {:.0} ms\n",
        crawl_time.as_secs_f64() * 1e3,
        parse_time.as_secs_f64() * 1e3,
        index_time.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3
    ));
    if let Some((report, report_time)) = &report {
        text.push_str(&format!(
            "  report: {} ({:.1} MB, {} rule pages) in {:.0} ms\n",
            report.path.display(),
            report.bytes as f64 / 1e6,
            report.pages,
            report_time.as_secs_f64() * 1e3
        ));
    }
    if crawl_errors + parse_errors + parse_warnings > 0 {
        text.push_str("  run `ruledex lint` for every finding with its position\n");
    }
    super::output::print(&text)?;

    if !args.no_eval {
        let events: Vec<PathBuf> = if args.events.is_empty() {
            catalogs
                .iter()
                .map(|c| c.join("events"))
                .filter(|e| e.is_dir())
                .collect()
        } else {
            args.events.clone()
        };
        if !events.is_empty() {
            let all: Vec<_> = rules.iter().map(|r| r.rule.clone()).collect();
            evaluate_into_reports(global, &all, crawled.macros.clone(), &events)?;
        }
    }

    Ok(if args.strict && crawl_errors > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes `<reports>/index.html` from the index just built.
fn write_html_report(
    global: &Global,
    attack: &Option<PathBuf>,
    catalogs: &[PathBuf],
    rules: &[IndexedRule],
    queries: &[ruledex::ir::Query],
    summary: &serde_json::Value,
) -> anyhow::Result<html::ReportStats> {
    let started = Instant::now();
    let attack = attack.as_deref().map(Attack::load).transpose()?;
    if attack.is_some() {
        log::debug!(
            "report: ATT&CK bundle loaded in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    let catalog = Catalog::open(&global.index)?;
    let plain: Vec<ruledex::rule::Rule> = rules.iter().map(|r| r.rule.clone()).collect();
    let input = html::ReportInput {
        rules: &plain,
        queries,
        catalog: &catalog,
        attack: attack.as_ref(),
        catalogs: catalogs.iter().map(|c| c.display().to_string()).collect(),
        summary: summary.clone(),
    };
    html::write_report(&global.reports, &input)
        .with_context(|| format!("writing the HTML report in {}", global.reports.display()))
}
