//! `ruledex coverage`: the catalog by MITRE ATT&CK tactic and technique,
//! gaps, mapping findings and Navigator layers (see `ruledex::attack`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use comfy_table::Cell;
use serde_json::json;

use super::indicators::{csv_text, new_table, num};
use super::Global;
use ruledex::attack::{
    self, normalize_id, Attack, Coverage, CoverageOptions, FindingKind, TechniqueCoverage, Via,
};
use ruledex::index::Catalog;

/// Arguments of `coverage`.
#[derive(Debug, Args)]
#[command(
    after_help = "Without an ATT&CK bundle (--attack or RULEDEX_ATTACK) coverage counts the
technique ids as rules write them; technique names, kill-chain tactics,
revoked/deprecated/unknown ids and gaps need the bundle (MITRE's
enterprise-attack.json, STIX 2.1).

Mapping findings (revoked, deprecated, unknown, malformed ids…) go to
stderr as positioned diagnostics; with --format json they are in the JSON.

Examples:
  ruledex coverage --attack enterprise-attack.json
  ruledex coverage --by tactic
  ruledex coverage T1046 T1059
  ruledex coverage --navigator reports/coverage-layer.json
  ruledex coverage --gaps --platform windows --tactic discovery"
)]
pub struct CoverageArgs {
    /// Technique ids to detail with their rules (default: the whole
    /// matrix).
    #[arg(value_name = "TECHNIQUE")]
    pub techniques: Vec<String>,
    /// The ATT&CK Enterprise STIX 2.1 bundle.
    #[arg(long, env = "RULEDEX_ATTACK", value_name = "FILE")]
    pub attack: Option<PathBuf>,
    /// Summarise per technique (tactic × technique table) or per tactic.
    #[arg(long, value_enum, default_value = "technique")]
    pub by: By,
    /// Also write an ATT&CK Navigator layer (format 4.5) to this file.
    #[arg(long, value_name = "OUT.json")]
    pub navigator: Option<PathBuf>,
    /// List the techniques no rule covers (needs the bundle).
    #[arg(long)]
    pub gaps: bool,
    /// Only techniques on this platform (repeatable; needs the bundle).
    #[arg(long = "platform", value_name = "P")]
    pub platforms: Vec<String>,
    /// Only this tactic (id, short name or name; repeatable).
    #[arg(long = "tactic", value_name = "T")]
    pub tactics: Vec<String>,
    /// Do not credit a sub-technique's rules to its parent.
    #[arg(long)]
    pub no_roll_up: bool,
    /// Findings on stderr: every one, a count per kind, or none.
    #[arg(long, value_enum, default_value = "all")]
    pub findings: FindingsMode,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CoverageFormat,
}

/// What to summarise over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum By {
    /// One row per (tactic, technique) cell.
    Technique,
    /// One row per tactic.
    Tactic,
}

/// How findings are reported on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FindingsMode {
    /// Every finding as a positioned diagnostic.
    All,
    /// One line per kind with its count.
    Summary,
    /// Nothing.
    None,
}

/// Output formats of `coverage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    /// Tables for the terminal.
    #[value(alias = "text")]
    Table,
    /// The whole report as JSON (findings included).
    Json,
    /// CSV: one row per cell (or per gap with --gaps).
    Csv,
}

/// Runs `coverage`.
pub fn run(global: &Global, args: CoverageArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let catalog = Catalog::open(&global.index)?;
    let rules = catalog.rules()?;
    let read = started.elapsed();
    let bundle = match &args.attack {
        Some(p) => Some(Attack::load(p)?),
        None => None,
    };
    let loaded = started.elapsed();
    let opts = CoverageOptions {
        platforms: args.platforms.clone(),
        tactics: args.tactics.clone(),
        roll_up: !args.no_roll_up,
        ..CoverageOptions::default()
    };
    let cov = attack::coverage(&rules, bundle.as_ref(), &opts);
    log::debug!(
        "coverage: {} rules read in {:.1} ms, bundle {:.1} ms, mapping {:.1} ms",
        rules.len(),
        read.as_secs_f64() * 1e3,
        (loaded - read).as_secs_f64() * 1e3,
        (started.elapsed() - loaded).as_secs_f64() * 1e3
    );

    if let Some(out) = &args.navigator {
        let layer = attack::navigator_layer(&cov, bundle.as_ref());
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&layer)?;
        std::fs::write(out, text + "\n").with_context(|| format!("writing {}", out.display()))?;
        eprintln!(
            "ruledex: wrote a Navigator layer with {} technique entries to {}",
            layer["techniques"].as_array().map_or(0, Vec::len),
            out.display()
        );
    }

    if args.format != CoverageFormat::Json {
        report_findings(&cov, &rules, args.findings);
    }

    if !args.techniques.is_empty() {
        let titles: BTreeMap<&str, &str> = rules
            .iter()
            .map(|r| (r.id.as_str(), r.title.as_str()))
            .collect();
        return detail(&cov, &args, &titles);
    }

    let text = match (args.format, args.gaps) {
        (CoverageFormat::Json, false) => attack::render_json(&cov) + "\n",
        (CoverageFormat::Json, true) => {
            let mut t = serde_json::to_string_pretty(&json!({
                "bundle": cov.bundle,
                "gaps": cov.gaps,
                "notes": cov.notes,
            }))?;
            t.push('\n');
            t
        }
        (CoverageFormat::Csv, false) => attack::render_csv(&cov)?,
        (CoverageFormat::Csv, true) => attack::render_gaps_csv(&cov)?,
        (CoverageFormat::Table, true) => attack::render_gaps(&cov, None),
        (CoverageFormat::Table, false) => match args.by {
            By::Technique => attack::render_table(&cov, None),
            By::Tactic => attack::render_by_tactic(&cov, None),
        },
    };
    super::output::print(&text)?;
    if args.gaps && !cov.bundle {
        eprintln!("ruledex: gaps need the ATT&CK bundle: pass --attack FILE or set RULEDEX_ATTACK");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Findings on stderr, as asked.
fn report_findings(cov: &Coverage, rules: &[ruledex::rule::Rule], mode: FindingsMode) {
    match mode {
        FindingsMode::None => {}
        FindingsMode::All => eprint!("{}", attack::render_findings(cov, rules)),
        FindingsMode::Summary => {
            let mut by_kind: BTreeMap<FindingKind, usize> = BTreeMap::new();
            for f in &cov.findings {
                *by_kind.entry(f.kind).or_default() += 1;
            }
            for (kind, n) in by_kind {
                eprintln!("ruledex: {n} {} finding(s)", kind.code());
            }
        }
    }
}

/// How a rule credits a technique, in words.
fn via_text(via: &Via) -> String {
    match via {
        Via::Id => "id".into(),
        Via::Revoked { from } => format!("revoked {from}"),
        Via::Embedded { raw } => format!("embedded in {raw:?}"),
        Via::Name { name } => format!("name {name:?}"),
        Via::SubTechnique { id } => format!("sub-technique {id}"),
    }
}

/// The asked techniques with their rules.
fn detail(
    cov: &Coverage,
    args: &CoverageArgs,
    titles: &BTreeMap<&str, &str>,
) -> anyhow::Result<ExitCode> {
    let mut found: Vec<&TechniqueCoverage> = Vec::new();
    let mut missing = Vec::new();
    for raw in &args.techniques {
        let id = normalize_id(raw).map_err(|e| anyhow::anyhow!("{e}"))?;
        match cov.techniques.iter().find(|t| t.id == id) {
            Some(t) => found.push(t),
            None => missing.push(id),
        }
    }
    for id in &missing {
        eprintln!("ruledex: no rule covers {id}");
    }
    let text = match args.format {
        CoverageFormat::Json => {
            let mut t = serde_json::to_string_pretty(&json!({
                "bundle": cov.bundle,
                "techniques": found,
                "uncovered": missing,
                "notes": cov.notes,
            }))?;
            t.push('\n');
            t
        }
        CoverageFormat::Csv => {
            let mut rows = Vec::new();
            for t in &found {
                for r in &t.rules {
                    rows.push(vec![
                        t.id.clone(),
                        t.name.clone().unwrap_or_default(),
                        r.id.clone(),
                        r.language.to_string(),
                        titles.get(r.id.as_str()).copied().unwrap_or("").to_string(),
                        via_text(&r.via),
                    ]);
                }
            }
            csv_text(
                &[
                    "technique_id",
                    "technique",
                    "rule_id",
                    "language",
                    "title",
                    "via",
                ],
                &rows,
            )?
        }
        CoverageFormat::Table => {
            let mut out = String::new();
            for t in &found {
                let tactics: Vec<String> = t
                    .tactics
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {}",
                            c.tactic.as_deref().unwrap_or("(no tactic)"),
                            c.score
                        )
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "{} {} — {} rule(s), {} direct (splunk {}, kusto {}, snowflake {}); tactics: {}",
                    t.id,
                    t.name.as_deref().unwrap_or(""),
                    t.score,
                    t.direct,
                    t.by_language.splunk,
                    t.by_language.kusto,
                    t.by_language.snowflake,
                    tactics.join(", ")
                );
                let mut table = new_table(vec!["#", "Rule", "Language", "Title", "Via"]);
                for (i, r) in t.rules.iter().enumerate() {
                    table.add_row(vec![
                        num(i as u64 + 1),
                        Cell::new(&r.id),
                        Cell::new(r.language.as_str()),
                        Cell::new(titles.get(r.id.as_str()).copied().unwrap_or("")),
                        Cell::new(via_text(&r.via)),
                    ]);
                }
                let _ = writeln!(out, "{table}\n");
            }
            for note in &cov.notes {
                let _ = writeln!(out, "note: {note}");
            }
            out
        }
    };
    super::output::print(&text)?;
    Ok(if found.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
