//! `ruledex eval`: run rules over events and say what matched and why not.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

use super::Global;
use ruledex::eval::{self, EvalOptions, Outcome};
use ruledex::events::{self, Event, FieldMap, LoadReport};
use ruledex::index::Catalog;
use ruledex::macros::{self, MacroDef, MacroSet};
use ruledex::rule::Rule;

/// The team's macro definitions, always available as the last resort.
const CATALOG_MACROS: &str = include_str!("../../catalog/macros.conf");

/// Arguments of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The rule to evaluate (omit with `--all`).
    pub id: Option<String>,
    /// Evaluate every rule in the index.
    #[arg(long, conflicts_with = "id")]
    pub all: bool,
    /// Event files or directories (EVTX, XML, JSON lines, CSV); repeatable.
    #[arg(long = "events", value_name = "PATH", required = true)]
    pub events: Vec<PathBuf>,
    /// A field map replacing the default one (see catalog/fieldmap.yml).
    #[arg(long, value_name = "FILE")]
    pub field_map: Option<PathBuf>,
    /// Extra macros.conf files; their definitions win over the index's
    /// and the catalog's.
    #[arg(long = "macros", value_name = "FILE")]
    pub macros: Vec<PathBuf>,
    /// A CSV lookup table, as NAME=FILE (repeatable).
    #[arg(long = "lookup", value_name = "NAME=FILE")]
    pub lookups: Vec<String>,
    /// "Now" for ago()/dateadd()/relative times, in epoch seconds
    /// (default: the newest event's time).
    #[arg(long)]
    pub now: Option<f64>,
    /// Per event: the stage that dropped it and the predicate that failed.
    #[arg(long)]
    pub explain: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: EvalFormat,
}

/// Formats of `eval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalFormat {
    /// Tables.
    Text,
    /// JSON.
    Json,
    /// CSV (one row per rule with `--all`, per result row otherwise).
    Csv,
}

/// Loads every macro source: `--macros` files, then the index's, then the
/// catalog's own `macros.conf`; the first definition of a name wins.
pub fn macro_set(catalog: &Catalog, extra: &[PathBuf]) -> anyhow::Result<MacroSet> {
    let mut defs: Vec<MacroDef> = Vec::new();
    for path in extra {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading macros from {}", path.display()))?;
        let (d, diags) = macros::parse_macros_conf(&text, path);
        for diag in diags {
            eprint!("{}", diag.render(Some(&text)));
        }
        defs.extend(d);
    }
    if let Some(stored) = catalog.meta()?.get("macros") {
        let d: Vec<MacroDef> =
            serde_json::from_value(stored.clone()).context("reading the index's macros")?;
        defs.extend(d);
    }
    Ok(with_catalog_macros(defs))
}

/// `defs` followed by the catalog's own `macros.conf`, as one set.
pub fn with_catalog_macros(mut defs: Vec<MacroDef>) -> MacroSet {
    let builtin = PathBuf::from("catalog/macros.conf");
    defs.extend(macros::parse_macros_conf(CATALOG_MACROS, &builtin).0);
    MacroSet::new(defs)
}

/// Loads every `--events` path with the field map.
pub fn load_events(
    paths: &[PathBuf],
    map_file: Option<&PathBuf>,
) -> anyhow::Result<(Vec<Event>, LoadReport)> {
    let map = match map_file {
        Some(p) => FieldMap::load(p)?,
        None => FieldMap::default_map(),
    };
    let mut all = Vec::new();
    let mut report = LoadReport::default();
    for p in paths {
        anyhow::ensure!(
            p.exists(),
            "no such events file or directory: {}",
            p.display()
        );
        let (evs, r) = events::load_path(p, &map);
        all.extend(evs);
        report.merge(r);
    }
    Ok((all, report))
}

fn parse_lookups(specs: &[String]) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    specs
        .iter()
        .map(|s| {
            let (name, file) = s
                .split_once('=')
                .with_context(|| format!("--lookup {s:?}: expected NAME=FILE"))?;
            Ok((name.to_string(), PathBuf::from(file)))
        })
        .collect()
}

/// Runs `eval`.
pub fn run(global: &Global, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::open(&global.index)?;
    let macros = macro_set(&catalog, &args.macros)?;
    let (events, report) = load_events(&args.events, args.field_map.as_ref())?;
    for d in &report.diagnostics {
        log::debug!("{}", d.render(None).trim_end());
    }
    eprintln!("ruledex: events: {}", report.summary());
    let opts = EvalOptions {
        now: args.now,
        explain: args.explain,
        lookups: parse_lookups(&args.lookups)?,
    };

    if args.all {
        let rules = catalog.rules()?;
        return run_all(&rules, &macros, &events, &opts, args.format);
    }
    let id = args
        .id
        .context("give a rule id, or --all to evaluate every rule")?;
    let rule = catalog
        .rule(&id)?
        .with_context(|| format!("no rule with id {id:?} in {}", global.index.display()))?;
    let outcome = eval::evaluate_rule(&rule, &macros, &events, &opts);
    match args.format {
        EvalFormat::Json => super::output::print_json(&outcome)?,
        EvalFormat::Csv => super::output::print(&results_csv(&outcome)?)?,
        EvalFormat::Text => super::output::print(&one_text(&rule, &outcome, args.explain))?,
    }
    Ok(if outcome.matched == 0 && outcome.results.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t
}

fn one_text(rule: &Rule, o: &Outcome, explain: bool) -> String {
    let mut out = format!(
        "{} {} ({}): {} events read, {} matched, {} result row(s)\n",
        rule.id,
        rule.title,
        rule.language,
        o.events,
        o.matched,
        o.results.len()
    );
    for r in &o.not_evaluable {
        out.push_str(&format!("  not evaluable: {}\n", r.render()));
    }
    for d in &o.lint {
        out.push_str(&format!("  lint: {}\n", d.message));
    }
    if !o.results.is_empty() {
        let mut t = table();
        t.set_header(o.columns.clone());
        for row in &o.results {
            t.add_row(
                o.columns
                    .iter()
                    .map(|c| row.get(c).map(|v| v.join("\n")).unwrap_or_default()),
            );
        }
        out.push_str(&format!("{t}\n"));
    }
    if explain {
        let mut t = table();
        t.set_header(vec![
            "Event",
            "Verdict",
            "Stage",
            "Predicate",
            "Field",
            "Event value",
        ]);
        for f in &o.explain {
            let verdict = if f.passed { "passed" } else { "dropped" };
            let stage = match (f.stage, &f.stage_kind) {
                (Some(n), Some(k)) => format!("{n} {k}"),
                (Some(n), None) => n.to_string(),
                _ => String::new(),
            };
            let value = if f.field.is_some() && f.values.is_empty() {
                "(missing)".to_string()
            } else {
                f.values.join("\n")
            };
            t.add_row(vec![
                format!("{}#{}", f.path.display(), f.record),
                verdict.to_string(),
                stage,
                f.predicate
                    .clone()
                    .or_else(|| f.note.clone())
                    .unwrap_or_default(),
                f.field.clone().unwrap_or_default(),
                value,
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    out
}

fn results_csv(o: &Outcome) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&o.columns)?;
    for row in &o.results {
        w.write_record(
            o.columns
                .iter()
                .map(|c| row.get(c).map(|v| v.join("\n")).unwrap_or_default()),
        )?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// One rule's line in an `--all` report.
#[derive(Serialize)]
struct RuleLine {
    rule: String,
    language: String,
    title: String,
    events_matched: usize,
    results: usize,
    status: String,
    not_evaluable: Vec<String>,
}

/// Runs every rule; writes nothing but the report to stdout.
fn run_all(
    rules: &[Rule],
    macros: &MacroSet,
    events: &[Event],
    opts: &EvalOptions,
    format: EvalFormat,
) -> anyhow::Result<ExitCode> {
    let report = all_report(rules, macros, events, opts);
    match format {
        EvalFormat::Json => super::output::print_json(&report)?,
        EvalFormat::Csv => super::output::print(&report.csv()?)?,
        EvalFormat::Text => super::output::print(&report.text())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--all` report: per rule, and not-evaluable reasons grouped.
#[derive(Serialize)]
pub struct AllReport {
    /// Events evaluated.
    pub events: usize,
    /// Rules evaluated.
    pub rules: usize,
    /// Rules with at least one result.
    pub rules_with_hits: usize,
    /// Rules that could not be evaluated.
    pub not_evaluable_rules: usize,
    /// Not-evaluable reasons, grouped, with rule counts.
    pub reasons: BTreeMap<String, usize>,
    lines: Vec<RuleLine>,
}

/// Evaluates every rule and gathers the `--all` report.
pub fn all_report(
    rules: &[Rule],
    macros: &MacroSet,
    events: &[Event],
    opts: &EvalOptions,
) -> AllReport {
    let prepared: Vec<_> = rules.iter().map(|r| eval::prepare(r, macros)).collect();
    let outcomes = eval::evaluate_many(&prepared, events, opts);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines = Vec::new();
    for (rule, o) in rules.iter().zip(&outcomes) {
        let why: Vec<String> = o.not_evaluable.iter().map(|r| r.render()).collect();
        let groups: std::collections::BTreeSet<String> = o
            .not_evaluable
            .iter()
            .map(|r| reason_group(&r.message))
            .collect();
        for g in groups {
            *reasons.entry(g).or_default() += 1;
        }
        let status = if !why.is_empty() {
            "not evaluable"
        } else if o.matched > 0 || !o.results.is_empty() {
            "hit"
        } else {
            "no match"
        };
        lines.push(RuleLine {
            rule: rule.id.clone(),
            language: rule.language.to_string(),
            title: rule.title.clone(),
            events_matched: o.matched,
            results: o.results.len(),
            status: status.to_string(),
            not_evaluable: why,
        });
    }
    AllReport {
        events: events.len(),
        rules: rules.len(),
        rules_with_hits: lines.iter().filter(|l| l.status == "hit").count(),
        not_evaluable_rules: lines.iter().filter(|l| l.status == "not evaluable").count(),
        reasons,
        lines,
    }
}

/// Groups messages that differ only in names and positions:
/// `not evaluable: undefined macro `x`` → `undefined macro`.
fn reason_group(message: &str) -> String {
    let m = message.strip_prefix("not evaluable: ").unwrap_or(message);
    let cut = m.find(['`', '"', '\'', '(']).unwrap_or(m.len());
    m[..cut].trim().trim_end_matches(':').to_string()
}

impl AllReport {
    /// The report as tables.
    pub fn text(&self) -> String {
        let mut t = table();
        t.set_header(vec![
            "Rule", "Lang", "Title", "Matched", "Results", "Status",
        ]);
        for l in &self.lines {
            let status = match l.not_evaluable.first() {
                Some(r) if r.starts_with("not evaluable") => r.clone(),
                Some(r) => format!("{}: {r}", l.status),
                None => l.status.clone(),
            };
            t.add_row(vec![
                l.rule.clone(),
                l.language.clone(),
                l.title.clone(),
                l.events_matched.to_string(),
                l.results.to_string(),
                status,
            ]);
        }
        let mut out = format!("{t}\n");
        out.push_str(&format!(
            "{} rules over {} events: {} with hits, {} not evaluable\n",
            self.rules, self.events, self.rules_with_hits, self.not_evaluable_rules
        ));
        if !self.reasons.is_empty() {
            let mut r = table();
            r.set_header(vec!["Not evaluable because", "Rules"]);
            let mut reasons: Vec<_> = self.reasons.iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (why, n) in reasons {
                r.add_row(vec![why.clone(), n.to_string()]);
            }
            out.push_str(&format!("{r}\n"));
        }
        out
    }

    /// The per-rule lines as CSV.
    pub fn csv(&self) -> anyhow::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "rule",
            "language",
            "title",
            "events_matched",
            "results",
            "status",
            "not_evaluable",
        ])?;
        for l in &self.lines {
            w.write_record([
                l.rule.as_str(),
                l.language.as_str(),
                l.title.as_str(),
                &l.events_matched.to_string(),
                &l.results.to_string(),
                l.status.as_str(),
                &l.not_evaluable.join("; "),
            ])?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }
}
