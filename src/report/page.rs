//! The rule page: everything `show` prints about one rule, as data.
//!
//! [`RulePage`] is built once and rendered three ways (terminal, markdown,
//! JSON) so the formats cannot drift apart.

use serde::Serialize;

use super::event_titles::{self, SECURITY, SYSMON};
use crate::diag::{Diagnostic, Position};
use crate::index::{Catalog, CorpusCount, IndexError};
use crate::ir::{Operator, Query};
use crate::model::{indicators, search_terms, SearchTerm};
use crate::rule::{Language, Rule};

/// Everything the rule page shows.
#[derive(Clone, Debug, Serialize)]
pub struct RulePage {
    /// Rule id.
    pub id: String,
    /// Rule title.
    pub title: String,
    /// `splunk`, `kusto` or `snowflake`.
    pub language: String,
    /// The repository the rule comes from.
    pub source: String,
    /// The rule file.
    pub path: String,
    /// Group-by fields of the final aggregation.
    pub group_by: Vec<String>,
    /// Rule description.
    pub description: String,
    /// Data categories / sources.
    pub data_categories: Vec<String>,
    /// ATT&CK techniques with their tactic.
    pub techniques: Vec<TechniqueRow>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// Windows events the rule filters on.
    pub event_coverage: Vec<EventRow>,
    /// The rule's YAML as read.
    pub yaml: String,
    /// Pipeline stages.
    pub stages: Vec<StageRow>,
    /// Indicators with their corpus counts.
    pub indicators: Vec<IndicatorRow>,
    /// Bare search terms.
    pub search_terms: Vec<SearchTerm>,
    /// What the parser could not read.
    pub diagnostics: Vec<DiagnosticRow>,
}

/// One technique row.
#[derive(Clone, Debug, Serialize)]
pub struct TechniqueRow {
    /// Technique id as written (upper-cased).
    pub id: String,
    /// Technique name, when known.
    pub name: String,
    /// Tactic name, when known.
    pub tactic: String,
}

/// One event-coverage row.
#[derive(Clone, Debug, Serialize)]
pub struct EventRow {
    /// `Sysmon`, `Windows Security`…
    pub provider: String,
    /// `Event ID 1`.
    pub event: String,
    /// The event's title, when known.
    pub title: String,
}

/// One stage row.
#[derive(Clone, Debug, Serialize)]
pub struct StageRow {
    /// 1-based stage number.
    pub n: usize,
    /// Stage kind.
    pub kind: String,
    /// Stage source text.
    pub text: String,
}

/// One indicator row.
#[derive(Clone, Debug, Serialize)]
pub struct IndicatorRow {
    /// Stage the predicate sits in.
    pub stage: usize,
    /// Canonical field.
    pub field: String,
    /// Operator as shown.
    pub op: String,
    /// Value as written.
    pub value: String,
    /// How many *other* rules carry the same indicator.
    pub corpus: CorpusCount,
}

/// One diagnostic, positioned in the rule's logic.
#[derive(Clone, Debug, Serialize)]
pub struct DiagnosticRow {
    /// `error`, `warning` or `note`.
    pub severity: String,
    /// Stable code.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// Line in the logic.
    pub line: Option<usize>,
    /// Column in the logic.
    pub column: Option<usize>,
    /// The rendered diagnostic, with its caret line.
    pub rendered: String,
}

impl RulePage {
    /// Builds the page of `rule`, whose logic parsed to `query`, with
    /// corpus counts from `catalog`.
    pub fn build(rule: &Rule, query: &Query, catalog: &Catalog) -> Result<RulePage, IndexError> {
        Self::build_with(rule, query, |key, lang| catalog.corpus_count(key, lang))
    }

    /// Builds the page with corpus counts from `corpus_count(key, language)`,
    /// which must answer as [`Catalog::corpus_count`] does; the HTML report
    /// passes counts gathered in one pass over the index instead of three
    /// queries per indicator.
    pub fn build_with<F>(
        rule: &Rule,
        query: &Query,
        mut corpus_count: F,
    ) -> Result<RulePage, IndexError>
    where
        F: FnMut(&str, Language) -> Result<CorpusCount, IndexError>,
    {
        let mut rows = Vec::new();
        for ind in indicators(query) {
            let corpus = corpus_count(&ind.key, rule.language)?;
            rows.push(IndicatorRow {
                stage: ind.stage,
                field: ind.field,
                op: ind.kind,
                value: ind.value,
                corpus,
            });
        }
        Ok(RulePage {
            id: rule.id.clone(),
            title: rule.title.clone(),
            language: rule.language.as_str().to_string(),
            source: rule.format.repository().to_string(),
            path: rule.path.display().to_string(),
            group_by: group_by(query),
            description: rule.description.trim().to_string(),
            data_categories: rule.data_categories.clone(),
            techniques: techniques(rule),
            references: rule.references.clone(),
            event_coverage: event_coverage(rule, &rows),
            yaml: rule.yaml.clone(),
            stages: query
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| StageRow {
                    n: i + 1,
                    kind: s.kind.clone(),
                    text: s.text.clone(),
                })
                .collect(),
            indicators: rows,
            search_terms: search_terms(query),
            diagnostics: query
                .diagnostics
                .iter()
                .map(|d| diagnostic_row(d, rule))
                .collect(),
        })
    }
}

fn diagnostic_row(d: &Diagnostic, rule: &Rule) -> DiagnosticRow {
    let d = rule.in_file(d.clone().with_path(&rule.path));
    let text = match d.origin {
        crate::diag::Origin::File => &rule.yaml,
        crate::diag::Origin::Logic => &rule.logic,
    };
    let pos = d.span.map(|s| Position::of(text, s.start));
    DiagnosticRow {
        severity: d.severity.to_string(),
        code: d.code.clone(),
        message: d.message.clone(),
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.column),
        rendered: d.render(Some(text)),
    }
}

/// The `by` fields of the last aggregation in the pipeline.
fn group_by(query: &Query) -> Vec<String> {
    query
        .stages
        .iter()
        .rev()
        .find_map(|s| match &s.op {
            Operator::Stats { by, .. } | Operator::Tstats { by, .. } => Some(by.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Pairs technique ids with names and tactics as the rule gives them.
///
/// armory lists `tactic:technique name` strings beside its ids, in the
/// same order, so the n-th string names the n-th id when the counts agree.
fn techniques(rule: &Rule) -> Vec<TechniqueRow> {
    let paired = rule.technique_names.len() == rule.technique_ids.len();
    rule.technique_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let name = if paired {
                title_case(&rule.technique_names[i])
            } else {
                String::new()
            };
            let tactic = rule
                .tactics
                .get(if rule.tactics.len() == rule.technique_ids.len() {
                    i
                } else {
                    0
                })
                .map(|t| title_case(t))
                .unwrap_or_default();
            TechniqueRow {
                id: id.trim().to_uppercase(),
                name,
                tactic,
            }
        })
        .collect()
}

/// `network service discovery` → `Network Service Discovery`; words
/// already capitalised (`PowerShell`) are left alone.
fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Windows events named by the rule's `EventCode` equalities.
///
/// The provider comes from the rule's data categories and logic: Sysmon
/// when either mentions it, Windows Security when the id is a Security
/// audit event, Sysmon for the remaining ids of the Sysmon schema.
fn event_coverage(rule: &Rule, rows: &[IndicatorRow]) -> Vec<EventRow> {
    let sysmon_rule = rule
        .data_categories
        .iter()
        .chain(std::iter::once(&rule.logic))
        .any(|c| c.to_ascii_lowercase().contains("sysmon"));
    let mut out: Vec<EventRow> = Vec::new();
    for row in rows {
        if row.field != "EventCode" || !matches!(row.op.as_str(), "eq" | "in") {
            continue;
        }
        let Ok(id) = row
            .value
            .trim_matches(|c| c == '"' || c == '\'')
            .parse::<u32>()
        else {
            continue;
        };
        let sysmon = event_titles::title(SYSMON, id);
        let security = event_titles::title(SECURITY, id);
        let (provider, title) = match (sysmon_rule, sysmon, security) {
            (true, Some(t), _) => ("Sysmon", t),
            (_, _, Some(t)) => ("Windows Security", t),
            (_, Some(t), None) => ("Sysmon", t),
            _ => ("Windows", ""),
        };
        let event = format!("Event ID {id}");
        if !out
            .iter()
            .any(|r| r.provider == provider && r.event == event)
        {
            out.push(EventRow {
                provider: provider.to_string(),
                event,
                title: title.to_string(),
            });
        }
    }
    out
}
