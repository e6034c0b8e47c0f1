//! `ruledex lint`: every finding of the crawler and the parsers, positioned.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use super::Global;
use ruledex::diag::{Diagnostic, Origin, Severity};
use ruledex::index::Catalog;
use ruledex::lang;

/// Arguments of `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Output format: `text` (rendered with carets) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,
    /// Only findings of at least this severity.
    #[arg(long, value_enum, default_value = "note")]
    pub min_severity: MinSeverity,
    /// Exit with status 1 when a finding of at least this severity exists
    /// (for CI gates); by default lint reports and exits 0.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<MinSeverity>,
}

fn severity(s: MinSeverity) -> Severity {
    match s {
        MinSeverity::Note => Severity::Note,
        MinSeverity::Warning => Severity::Warning,
        MinSeverity::Error => Severity::Error,
    }
}

/// Formats of `lint`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LintFormat {
    /// Rendered diagnostics with source lines and carets.
    Text,
    /// One JSON object with findings and counts.
    Json,
}

/// Severity threshold.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum MinSeverity {
    /// Everything.
    Note,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

#[derive(Serialize)]
struct Finding {
    rule: Option<String>,
    path: String,
    line: Option<usize>,
    column: Option<usize>,
    #[serde(flatten)]
    diagnostic: Diagnostic,
    #[serde(skip)]
    rendered: String,
}

/// Runs `lint`.
pub fn run(global: &Global, args: LintArgs) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::open(&global.index)?;
    let min = severity(args.min_severity);
    let meta = catalog.meta()?;
    let crawl_diags: Vec<Diagnostic> = meta
        .get("crawl_diagnostics")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();

    let mut findings: Vec<Finding> = crawl_diags
        .into_iter()
        .filter(|d| d.severity >= min)
        .map(|d| {
            let text = d
                .path
                .as_ref()
                .and_then(|p| std::fs::read(p).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            finding(None, d, text.as_deref())
        })
        .collect();
    let rules = catalog.rules()?;
    let mut from_rules: Vec<Finding> = rules
        .par_iter()
        .flat_map_iter(|rule| {
            let q = lang::parse(rule.language, &rule.logic);
            q.diagnostics
                .into_iter()
                .filter(|d| d.severity >= min)
                .map(|d| {
                    let d = rule.in_file(d.with_path(&rule.path));
                    let text = match d.origin {
                        Origin::File => &rule.yaml,
                        Origin::Logic => &rule.logic,
                    };
                    finding(Some(rule.id.clone()), d, Some(text))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    from_rules.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    findings.extend(from_rules);

    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_severity: BTreeMap<String, usize> = BTreeMap::new();
    for f in &findings {
        *by_code.entry(f.diagnostic.code.clone()).or_default() += 1;
        *by_severity
            .entry(f.diagnostic.severity.to_string())
            .or_default() += 1;
    }
    let rules_affected = findings
        .iter()
        .filter_map(|f| f.rule.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    match args.format {
        LintFormat::Json => super::output::print_json(&serde_json::json!({
            "rules": rules.len(),
            "rules_with_findings": rules_affected,
            "by_severity": by_severity,
            "by_code": by_code,
            "findings": findings,
        }))?,
        LintFormat::Text => {
            let mut out = String::new();
            for f in &findings {
                out.push_str(&f.rendered);
                if let Some(id) = &f.rule {
                    out.push_str(&format!("  = rule: {id}\n"));
                }
                out.push('\n');
            }
            let counts = by_code
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "{} finding(s) in {} of {} rule(s) plus crawl findings; by code: {}\n",
                findings.len(),
                rules_affected,
                rules.len(),
                if counts.is_empty() {
                    "none".into()
                } else {
                    counts
                }
            ));
            super::output::print(&out)?;
        }
    }
    let gate = args.fail_on.map(severity);
    let failed = gate.is_some_and(|g| findings.iter().any(|f| f.diagnostic.severity >= g));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn finding(rule: Option<String>, d: Diagnostic, text: Option<&str>) -> Finding {
    let pos = text.and_then(|t| d.position(t));
    Finding {
        rule,
        path: d
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.column),
        rendered: d.render(text),
        diagnostic: d,
    }
}
