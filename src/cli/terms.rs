//! `ruledex terms`: the bare search terms rules match against raw events,
//! across the catalog or for one rule.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::Args;
use comfy_table::Cell;
use serde_json::json;

use super::indicators::{csv_text, md_table, new_table, num, some_ids, ListFormat};
use super::Global;
use ruledex::index::{term_key, Catalog, CorpusCount, TermStat};
use ruledex::lang;
use ruledex::model::search_terms;

/// Arguments of `terms`.
#[derive(Debug, Args)]
#[command(
    after_help = "Terms are counted case-insensitively and without their quotes, as
Splunk matches them: \"netscan\" and NETSCAN are one term.

Examples:
  ruledex terms --top 50
  ruledex terms --rule 24804.45867 --format markdown

Exit status: 0 something listed, 1 no terms, 2 error."
)]
pub struct TermsArgs {
    /// Show the N most common terms (0: all).
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    /// One rule's Search terms table, with how many other rules use each.
    #[arg(long, value_name = "ID")]
    pub rule: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

/// Runs `terms`.
pub fn run(global: &Global, args: TermsArgs) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::open(&global.index)?;
    let stats = catalog.term_stats()?;
    let text = match &args.rule {
        Some(id) => one_rule(&catalog, id, &stats, args.format)?,
        None => catalog_wide(stats, &args)?,
    };
    let Some(text) = text else {
        return Ok(ExitCode::from(1));
    };
    super::output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn catalog_wide(mut stats: Vec<TermStat>, args: &TermsArgs) -> anyhow::Result<Option<String>> {
    stats.sort_by(|a, b| {
        b.rules
            .total
            .cmp(&a.rules.total)
            .then_with(|| a.key.cmp(&b.key))
    });
    let all = stats.len();
    if args.top > 0 {
        stats.truncate(args.top);
    }
    if stats.is_empty() {
        eprintln!("ruledex: no bare search terms in the index");
        return Ok(None);
    }
    let row = |s: &TermStat, ids: String| {
        vec![
            s.term.clone(),
            s.rules.total.to_string(),
            s.rules.splunk.to_string(),
            s.rules.kusto.to_string(),
            s.rules.snowflake.to_string(),
            ids,
        ]
    };
    Ok(Some(match args.format {
        ListFormat::Json => {
            let mut t = serde_json::to_string_pretty(&stats)?;
            t.push('\n');
            t
        }
        ListFormat::Csv => csv_text(
            &["term", "rules", "splunk", "kusto", "snowflake", "rule_ids"],
            &stats
                .iter()
                .map(|s| row(s, s.rule_ids.join(";")))
                .collect::<Vec<_>>(),
        )?,
        ListFormat::Markdown => md_table(
            &["Term", "Rules", "splunk", "kusto", "snowflake", "Rule ids"],
            &stats
                .iter()
                .map(|s| {
                    let mut r = row(s, some_ids(&s.rule_ids, 5));
                    r[0] = format!("`{}`", r[0].replace('`', "'"));
                    r
                })
                .collect::<Vec<_>>(),
        ),
        ListFormat::Table => {
            let mut t = new_table(vec![
                "Term",
                "Rules",
                "splunk",
                "kusto",
                "snowflake",
                "Rule ids",
            ]);
            for s in &stats {
                t.add_row(vec![
                    Cell::new(&s.term),
                    num(s.rules.total),
                    num(s.rules.splunk),
                    num(s.rules.kusto),
                    num(s.rules.snowflake),
                    Cell::new(some_ids(&s.rule_ids, 3)),
                ]);
            }
            format!("{t}\n{} of {all} term(s)\n", stats.len())
        }
    }))
}

/// The rule page's Search terms table with each term's use elsewhere.
fn one_rule(
    catalog: &Catalog,
    id: &str,
    stats: &[TermStat],
    format: ListFormat,
) -> anyhow::Result<Option<String>> {
    let Some(rule) = catalog.rule(id)? else {
        anyhow::bail!("no rule with id {id:?} in the index");
    };
    let query = lang::parse(rule.language, &rule.logic);
    let terms = search_terms(&query);
    if terms.is_empty() {
        eprintln!("ruledex: rule {id} has no bare search terms");
        return Ok(None);
    }
    let by_key: HashMap<&str, &TermStat> = stats.iter().map(|s| (s.key.as_str(), s)).collect();
    // Rules other than this one using the term.
    let others = |term: &str| -> CorpusCount {
        let mut c = by_key
            .get(term_key(term).as_str())
            .map(|s| s.rules)
            .unwrap_or_default();
        let slot = match rule.language {
            ruledex::rule::Language::Splunk => &mut c.splunk,
            ruledex::rule::Language::Kusto => &mut c.kusto,
            ruledex::rule::Language::Snowflake => &mut c.snowflake,
        };
        if *slot > 0 {
            *slot -= 1;
            c.total -= 1;
        }
        c
    };
    let rows: Vec<(usize, &str, CorpusCount)> = terms
        .iter()
        .map(|t| (t.stage, t.term.as_str(), others(&t.term)))
        .collect();
    Ok(Some(match format {
        ListFormat::Json => {
            let list: Vec<_> = rows
                .iter()
                .map(|(stage, term, c)| json!({"stage": stage, "term": term, "corpus": c}))
                .collect();
            let mut t = serde_json::to_string_pretty(&json!({
                "id": rule.id,
                "title": rule.title,
                "language": rule.language,
                "search_terms": list,
            }))?;
            t.push('\n');
            t
        }
        ListFormat::Csv => csv_text(
            &["stage", "term", "corpus", "splunk", "kusto", "snowflake"],
            &rows
                .iter()
                .map(|(stage, term, c)| {
                    vec![
                        stage.to_string(),
                        term.to_string(),
                        c.total.to_string(),
                        c.splunk.to_string(),
                        c.kusto.to_string(),
                        c.snowflake.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        )?,
        ListFormat::Markdown => md_table(
            &["Stage", "Term", "Corpus"],
            &rows
                .iter()
                .map(|(stage, term, c)| {
                    vec![
                        stage.to_string(),
                        format!("`{}`", term.replace('`', "'")),
                        c.display(),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        ListFormat::Table => {
            let mut t = new_table(vec!["Stage", "Term", "Corpus"]);
            for (stage, term, c) in &rows {
                t.add_row(vec![
                    num(*stage as u64),
                    Cell::new(term),
                    Cell::new(c.display()),
                ]);
            }
            format!("{t}\n")
        }
    }))
}
