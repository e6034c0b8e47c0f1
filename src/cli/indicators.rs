//! `ruledex indicators`: the field-operator-values rules test, across the
//! catalog, one rule, or a search's results; single-use indicators and
//! rules that test the same set.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use serde::Serialize;
use serde_json::json;

use super::Global;
use ruledex::index::{Catalog, CorpusCount, IndicatorStat, SearchError};
use ruledex::lang;
use ruledex::model::canonical_field;
use ruledex::report::page::IndicatorRow;
use ruledex::report::RulePage;
use ruledex::rule::Language;

/// Arguments of `indicators`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ruledex indicators --top 50
  ruledex indicators --field process_name --op match
  ruledex indicators --rule 24804.45867 --format markdown
  ruledex indicators --query 'technique:T1046'
  ruledex indicators --unique --field EventCode
  ruledex indicators --duplicates

Exit status: 0 something listed, 1 nothing left after the filters, 2 error.")]
pub struct IndicatorsArgs {
    /// Show the N most shared indicators (0: all).
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    /// Only this field (aliases such as Image map to the canonical name).
    #[arg(long, value_name = "F")]
    pub field: Option<String>,
    /// Only this operator as shown on rule pages (eq, match, contains…).
    #[arg(long, value_name = "OP")]
    pub op: Option<String>,
    /// One rule's Indicators table, as on its page, with corpus counts.
    #[arg(long, value_name = "ID", conflicts_with_all = ["query", "duplicates"])]
    pub rule: Option<String>,
    /// The indicators of the rules this search returns.
    #[arg(long, value_name = "Q", conflicts_with = "duplicates")]
    pub query: Option<String>,
    /// Only indicators a single rule uses.
    #[arg(long)]
    pub unique: bool,
    /// Groups of rules (different ids) testing exactly the same set of
    /// indicators.
    #[arg(long)]
    pub duplicates: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

/// Output formats of the catalog-wide listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table for the terminal.
    #[value(alias = "text")]
    Table,
    /// A GitHub-flavoured markdown table, for wikis and tickets.
    Markdown,
    /// CSV with a header row.
    Csv,
    /// JSON.
    Json,
}

/// A table with the project's look (comfy-table sizes it to the terminal).
pub fn new_table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    t
}

/// A right-aligned number cell.
pub fn num(n: u64) -> Cell {
    Cell::new(n).set_alignment(CellAlignment::Right)
}

/// Escapes a markdown table cell.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A markdown table from a header and rows of cells.
pub fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// CSV text from a header and rows.
pub fn csv_text(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The first `n` ids, then how many more.
pub fn some_ids(ids: &[String], n: usize) -> String {
    let mut s = ids.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > n {
        let _ = write!(s, " … (+{})", ids.len() - n);
    }
    s
}

/// Runs `indicators`.
pub fn run(global: &Global, args: IndicatorsArgs) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::open(&global.index)?;
    if let Some(id) = &args.rule {
        return one_rule(&catalog, id, args.format);
    }
    if args.duplicates {
        return duplicates(&catalog, args.format);
    }
    let mut stats = catalog.indicator_stats()?;
    if let Some(f) = &args.field {
        let want = canonical_field(f);
        stats.retain(|s| s.field.eq_ignore_ascii_case(&want));
    }
    if let Some(op) = &args.op {
        stats.retain(|s| s.op.eq_ignore_ascii_case(op.trim()));
    }
    if args.unique {
        stats.retain(|s| s.rules.total == 1);
    }
    match &args.query {
        Some(q) => in_results(&catalog, q, stats, &args),
        None => catalog_wide(stats, &args),
    }
}

/// Most shared first; ties by field, operator and value.
fn sort_desc(stats: &mut [IndicatorStat]) {
    stats.sort_by(|a, b| {
        b.rules
            .total
            .cmp(&a.rules.total)
            .then_with(|| (&a.field, &a.op, &a.value).cmp(&(&b.field, &b.op, &b.value)))
    });
}

fn catalog_wide(mut stats: Vec<IndicatorStat>, args: &IndicatorsArgs) -> anyhow::Result<ExitCode> {
    sort_desc(&mut stats);
    let matching = stats.len();
    if args.top > 0 {
        stats.truncate(args.top);
    }
    let header = [
        "field",
        "op",
        "value",
        "rules",
        "splunk",
        "kusto",
        "snowflake",
        "rule_ids",
    ];
    let row = |s: &IndicatorStat, ids: String| {
        vec![
            s.field.clone(),
            s.op.clone(),
            s.value.clone(),
            s.rules.total.to_string(),
            s.rules.splunk.to_string(),
            s.rules.kusto.to_string(),
            s.rules.snowflake.to_string(),
            ids,
        ]
    };
    let text = match args.format {
        ListFormat::Json => {
            let mut t = serde_json::to_string_pretty(&stats)?;
            t.push('\n');
            t
        }
        ListFormat::Csv => csv_text(
            &header,
            &stats
                .iter()
                .map(|s| row(s, s.rule_ids.join(";")))
                .collect::<Vec<_>>(),
        )?,
        ListFormat::Markdown => md_table(
            &[
                "Field",
                "Op",
                "Value",
                "Rules",
                "splunk",
                "kusto",
                "snowflake",
                "Rule ids",
            ],
            &stats
                .iter()
                .map(|s| {
                    let mut r = row(s, some_ids(&s.rule_ids, 5));
                    r[2] = format!("`{}`", r[2].replace('`', "'"));
                    r
                })
                .collect::<Vec<_>>(),
        ),
        ListFormat::Table => {
            let mut t = new_table(vec![
                "Field",
                "Op",
                "Value",
                "Rules",
                "splunk",
                "kusto",
                "snowflake",
                "Rule ids",
            ]);
            for s in &stats {
                t.add_row(vec![
                    Cell::new(&s.field),
                    Cell::new(&s.op),
                    Cell::new(&s.value),
                    num(s.rules.total),
                    num(s.rules.splunk),
                    num(s.rules.kusto),
                    num(s.rules.snowflake),
                    Cell::new(some_ids(&s.rule_ids, 3)),
                ]);
            }
            format!(
                "{t}\n{} of {matching} indicator(s){}\n",
                stats.len(),
                if args.unique { " used by one rule" } else { "" }
            )
        }
    };
    super::output::print(&text)?;
    Ok(exit_for(stats.is_empty()))
}

fn exit_for(empty: bool) -> ExitCode {
    if empty {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// One indicator within a search's results.
#[derive(Serialize)]
struct ResultIndicator<'a> {
    field: &'a str,
    op: &'a str,
    value: &'a str,
    /// Result rules carrying it.
    in_results: usize,
    /// All rules carrying it.
    corpus: CorpusCount,
    /// The result rules carrying it.
    rule_ids: Vec<&'a str>,
}

fn in_results(
    catalog: &Catalog,
    query: &str,
    stats: Vec<IndicatorStat>,
    args: &IndicatorsArgs,
) -> anyhow::Result<ExitCode> {
    let ids = match catalog.search_ids(query, false) {
        Ok(ids) => ids,
        Err(SearchError::Index(e)) => return Err(e.into()),
        Err(e) => anyhow::bail!("{}", e.render()),
    };
    let set: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let mut rows: Vec<ResultIndicator> = stats
        .iter()
        .filter_map(|s| {
            let mine: Vec<&str> = s
                .rule_ids
                .iter()
                .map(String::as_str)
                .filter(|id| set.contains(id))
                .collect();
            (!mine.is_empty()).then(|| ResultIndicator {
                field: &s.field,
                op: &s.op,
                value: &s.value,
                in_results: mine.len(),
                corpus: s.rules,
                rule_ids: mine,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.in_results, b.corpus.total)
            .cmp(&(a.in_results, a.corpus.total))
            .then_with(|| (a.field, a.op, a.value).cmp(&(b.field, b.op, b.value)))
    });
    if args.top > 0 {
        rows.truncate(args.top);
    }
    let flat = |r: &ResultIndicator, ids: String| {
        vec![
            r.field.to_string(),
            r.op.to_string(),
            r.value.to_string(),
            r.in_results.to_string(),
            r.corpus.total.to_string(),
            ids,
        ]
    };
    let text = match args.format {
        ListFormat::Json => {
            let mut t = serde_json::to_string_pretty(&json!({
                "query": query,
                "rules": ids.len(),
                "indicators": rows,
            }))?;
            t.push('\n');
            t
        }
        ListFormat::Csv => csv_text(
            &["field", "op", "value", "in_results", "corpus", "rule_ids"],
            &rows
                .iter()
                .map(|r| flat(r, r.rule_ids.join(";")))
                .collect::<Vec<_>>(),
        )?,
        ListFormat::Markdown => md_table(
            &["Field", "Op", "Value", "In results", "Corpus", "Rule ids"],
            &rows
                .iter()
                .map(|r| {
                    let ids: Vec<String> = r.rule_ids.iter().map(|s| s.to_string()).collect();
                    let mut v = flat(r, some_ids(&ids, 5));
                    v[2] = format!("`{}`", v[2].replace('`', "'"));
                    v[4] = r.corpus.display();
                    v
                })
                .collect::<Vec<_>>(),
        ),
        ListFormat::Table => {
            let mut t = new_table(vec![
                "Field",
                "Op",
                "Value",
                "In results",
                "Corpus",
                "Rule ids",
            ]);
            for r in &rows {
                let ids: Vec<String> = r.rule_ids.iter().map(|s| s.to_string()).collect();
                t.add_row(vec![
                    Cell::new(r.field),
                    Cell::new(r.op),
                    Cell::new(r.value),
                    num(r.in_results as u64),
                    Cell::new(r.corpus.display()),
                    Cell::new(some_ids(&ids, 3)),
                ]);
            }
            format!(
                "{t}\n{} indicator(s) of the {} rule(s) matching {query:?}\n",
                rows.len(),
                ids.len()
            )
        }
    };
    super::output::print(&text)?;
    Ok(exit_for(rows.is_empty()))
}

/// The rule page's Indicators table alone.
fn one_rule(catalog: &Catalog, id: &str, format: ListFormat) -> anyhow::Result<ExitCode> {
    let Some(rule) = catalog.rule(id)? else {
        anyhow::bail!("no rule with id {id:?} in the index");
    };
    let query = lang::parse(rule.language, &rule.logic);
    let page = RulePage::build(&rule, &query, catalog)
        .with_context(|| format!("reading corpus counts for {}", rule.id))?;
    let rows = &page.indicators;
    let text = match format {
        ListFormat::Json => {
            let mut t = serde_json::to_string_pretty(&json!({
                "id": page.id,
                "title": page.title,
                "language": page.language,
                "indicators": rows,
            }))?;
            t.push('\n');
            t
        }
        ListFormat::Csv => csv_text(
            &[
                "stage",
                "field",
                "op",
                "value",
                "corpus",
                "splunk",
                "kusto",
                "snowflake",
            ],
            &rows
                .iter()
                .map(|r| {
                    vec![
                        r.stage.to_string(),
                        r.field.clone(),
                        r.op.clone(),
                        r.value.clone(),
                        r.corpus.total.to_string(),
                        r.corpus.splunk.to_string(),
                        r.corpus.kusto.to_string(),
                        r.corpus.snowflake.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        )?,
        ListFormat::Markdown => {
            let mut out = String::from("| Field | Kind | Values |\n|---|---|---|\n");
            for (field, op, vals) in grouped(rows) {
                let values: Vec<String> = vals
                    .iter()
                    .map(|r| format!("{} corpus {}", md_code(&r.value), r.corpus.display()))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    md_cell(field),
                    op,
                    values.join("<br>")
                );
            }
            out
        }
        ListFormat::Table => {
            let mut t = new_table(vec!["Field", "Kind", "Values"]);
            for (field, op, vals) in grouped(rows) {
                let values: Vec<String> = vals
                    .iter()
                    .map(|r| format!("• {}  corpus {}", r.value, r.corpus.display()))
                    .collect();
                t.add_row(vec![field, op, &values.join("\n")]);
            }
            format!("{t}\n")
        }
    };
    super::output::print(&text)?;
    Ok(exit_for(rows.is_empty()))
}

/// Rows grouped as on the rule page: one per (field, op), values listed.
fn grouped(rows: &[IndicatorRow]) -> Vec<(&str, &str, Vec<&IndicatorRow>)> {
    let mut out: Vec<(&str, &str, Vec<&IndicatorRow>)> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|(f, o, _)| *f == r.field && *o == r.op) {
            Some((_, _, v)) => v.push(r),
            None => out.push((&r.field, &r.op, vec![r])),
        }
    }
    out
}

/// An inline code span safe in a table cell.
fn md_code(s: &str) -> String {
    let body = s.replace('|', "\\|").replace('\n', " ");
    let run = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(run + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A group of rules with the same indicator set.
#[derive(Serialize)]
struct DuplicateGroup {
    /// How many indicator keys the rules share.
    indicators: usize,
    /// The shared indicators as `field op value`.
    keys: Vec<String>,
    /// The rules.
    rules: Vec<DuplicateRule>,
}

#[derive(Serialize)]
struct DuplicateRule {
    id: String,
    language: Language,
    title: String,
    path: String,
}

fn duplicates(catalog: &Catalog, format: ListFormat) -> anyhow::Result<ExitCode> {
    let stats = catalog.indicator_stats()?;
    // Rule → its keys; then key sets → rules.
    let mut keys_of: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (i, s) in stats.iter().enumerate() {
        for id in &s.rule_ids {
            keys_of.entry(id).or_default().insert(i);
        }
    }
    let mut groups: BTreeMap<&BTreeSet<usize>, Vec<&str>> = BTreeMap::new();
    for (id, keys) in &keys_of {
        groups.entry(keys).or_default().push(id);
    }
    let rules: BTreeMap<String, _> = catalog
        .rules()?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let mut out: Vec<DuplicateGroup> = groups
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(keys, ids)| DuplicateGroup {
            indicators: keys.len(),
            keys: keys
                .iter()
                .map(|&k| format!("{} {} {}", stats[k].field, stats[k].op, stats[k].value))
                .collect(),
            rules: ids
                .iter()
                .filter_map(|id| rules.get(*id))
                .map(|r| DuplicateRule {
                    id: r.id.clone(),
                    language: r.language,
                    title: r.title.clone(),
                    path: r.path.display().to_string(),
                })
                .collect(),
        })
        .collect();
    // Larger shared sets are the stronger signal.
    out.sort_by(|a, b| {
        (b.indicators, b.rules.len())
            .cmp(&(a.indicators, a.rules.len()))
            .then_with(|| a.keys.cmp(&b.keys))
    });
    let text = match format {
        ListFormat::Json => {
            let mut t = serde_json::to_string_pretty(&out)?;
            t.push('\n');
            t
        }
        ListFormat::Csv => {
            let mut rows = Vec::new();
            for (g, group) in out.iter().enumerate() {
                for r in &group.rules {
                    rows.push(vec![
                        (g + 1).to_string(),
                        group.indicators.to_string(),
                        r.id.clone(),
                        r.language.to_string(),
                        r.title.clone(),
                        r.path.clone(),
                        group.keys.join(";"),
                    ]);
                }
            }
            csv_text(
                &[
                    "group",
                    "indicators",
                    "id",
                    "language",
                    "title",
                    "path",
                    "keys",
                ],
                &rows,
            )?
        }
        ListFormat::Markdown | ListFormat::Table => {
            let md = format == ListFormat::Markdown;
            let mut s = String::new();
            for (g, group) in out.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "{}Group {}: {} rules, {} shared indicator(s)",
                    if md { "### " } else { "" },
                    g + 1,
                    group.rules.len(),
                    group.indicators
                );
                if md {
                    s.push('\n');
                }
                for k in &group.keys {
                    let _ = writeln!(
                        s,
                        "{}",
                        if md {
                            format!("- `{k}`")
                        } else {
                            format!("  = {k}")
                        }
                    );
                }
                if md {
                    s.push('\n');
                }
                for r in &group.rules {
                    let _ = writeln!(
                        s,
                        "{}{}  {}  {}  ({})",
                        if md { "- " } else { "  · " },
                        r.id,
                        r.language,
                        r.title,
                        r.path
                    );
                }
                s.push('\n');
            }
            let _ = writeln!(
                s,
                "{} group(s) of rules with the same indicator set",
                out.len()
            );
            s
        }
    };
    super::output::print(&text)?;
    Ok(exit_for(out.is_empty()))
}
