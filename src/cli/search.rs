//! `ruledex search QUERY`: ranked rules with the matching snippet.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::Global;
use ruledex::index::{Catalog, Hit, SearchError, SearchOptions, SearchResults, Snippet};

/// Arguments of `search`.
#[derive(Debug, Args)]
#[command(
    after_help = "Query syntax (tantivy): words, \"phrases\", AND/OR/NOT, +must -mustnot,
field:value, field:/regex/, field:[a TO b], and * or ? wildcards in words.
Bare words search title, description, logic, techniques, tactics, data
categories, source, indicator values, search terms and ids; all must match.

Fields: title description logic technique tactic data_category language
source field op value term id. Any other field name is an indicator field:
process_name:*rundll32* means \"an indicator on process_name whose value
matches *rundll32*\" (values match whole, case-insensitively, quotes
ignored; aliases such as Image or FileName map to the canonical field).

Examples:
  ruledex search netscan
  ruledex search 'process_name:*rundll32* AND language:kusto'
  ruledex search 'technique:T1046' --format json
  ruledex search 'technique:T1059' --exact
  ruledex search 'field:EventCode value:4688 tactic:discovery'
  ruledex search -- '-language:splunk netscan'   (a leading '-' goes after '--')

Exit status: 0 rules found, 1 none, 2 bad query or no index."
)]
pub struct SearchArgs {
    /// The query.
    pub query: String,
    /// Show at most this many rules (all are counted).
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SearchFormat,
    /// `technique:T1059` finds only rules naming T1059 itself, not its
    /// sub-techniques.
    #[arg(long)]
    pub exact: bool,
}

/// Output formats of `search`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SearchFormat {
    /// Ranked list for the terminal.
    #[value(alias = "text")]
    Table,
    /// One JSON object: query, total and hits with snippet ranges.
    Json,
    /// One CSV row per hit, matches marked «…».
    Csv,
}

/// Runs `search`.
pub fn run(global: &Global, args: SearchArgs) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::open(&global.index)?;
    let opts = SearchOptions {
        limit: args.limit,
        exact: args.exact,
    };
    let started = std::time::Instant::now();
    let results = match catalog.search(&args.query, &opts) {
        Ok(r) => r,
        Err(SearchError::Index(e)) => return Err(e.into()),
        Err(e) => anyhow::bail!("{}", e.render()),
    };
    log::debug!(
        "search {:?}: {} hit(s) in {:.2} ms (query, ranking, snippets)",
        args.query,
        results.total,
        started.elapsed().as_secs_f64() * 1e3
    );
    match args.format {
        SearchFormat::Table => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            super::output::print(&table(&results, color))?;
        }
        SearchFormat::Json => super::output::print_json(&to_json(&args.query, &results))?,
        SearchFormat::Csv => super::output::print(&csv(&results)?)?,
    }
    if results.total == 0 {
        eprintln!("ruledex: no rule matched {:?}", args.query);
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Technique ids of a hit, normalised where they can be.
fn techniques(hit: &Hit) -> Vec<String> {
    hit.rule
        .technique_ids
        .iter()
        .map(|t| t.trim().to_uppercase())
        .collect()
}

/// The ranked list: a header line per rule, then its snippet indented.
fn table(results: &SearchResults, color: bool) -> String {
    let (open, close) = if color {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("«", "»")
    };
    let (bold, plain) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let id_width = results
        .hits
        .iter()
        .map(|h| h.rule.id.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, h) in results.hits.iter().enumerate() {
        let techs = techniques(h).join(" ");
        let title = Snippet {
            field: "title".into(),
            text: h.rule.title.clone(),
            highlighted: h.title_highlighted.clone(),
        };
        let _ = writeln!(
            out,
            "{:>3}. {bold}{:<id_width$}{plain}  {:<9}  {}{}",
            i + 1,
            h.rule.id,
            h.rule.language.as_str(),
            title.marked(open, close),
            if techs.is_empty() {
                String::new()
            } else {
                format!("  [{techs}]")
            }
        );
        // A snippet that is only the title again says nothing new.
        if h.snippet.field != "title" || h.indicator_snippets.is_empty() {
            let _ = writeln!(
                out,
                "     {}: {}",
                h.snippet.field,
                h.snippet.marked(open, close)
            );
        }
        for s in &h.indicator_snippets {
            let _ = writeln!(out, "     indicator: {}", s.marked(open, close));
        }
    }
    let _ = writeln!(
        out,
        "{} rule(s) matched{}",
        results.total,
        if results.total > results.hits.len() {
            format!(", {} shown (--limit)", results.hits.len())
        } else {
            String::new()
        }
    );
    out
}

/// Ranges as `[start, end]` pairs for JSON.
fn ranges(rs: &[std::ops::Range<usize>]) -> Vec<[usize; 2]> {
    rs.iter().map(|r| [r.start, r.end]).collect()
}

fn to_json(query: &str, results: &SearchResults) -> serde_json::Value {
    let hits: Vec<serde_json::Value> = results
        .hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            json!({
                "rank": i + 1,
                "score": h.score,
                "id": h.rule.id,
                "title": h.rule.title,
                "language": h.rule.language,
                "source": h.rule.format.repository(),
                "path": h.rule.path,
                "techniques": techniques(h),
                "tactics": h.rule.tactics,
                "title_highlighted": ranges(&h.title_highlighted),
                "snippet": {
                    "field": h.snippet.field,
                    "text": h.snippet.text,
                    "highlighted": ranges(&h.snippet.highlighted),
                },
                "matched_indicators": h.indicators,
            })
        })
        .collect();
    json!({
        "query": query,
        "total": results.total,
        "shown": results.hits.len(),
        "highlighted_ranges": "byte offsets [start, end) into the text they follow",
        "hits": hits,
    })
}

fn csv(results: &SearchResults) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "rank",
        "score",
        "id",
        "language",
        "title",
        "techniques",
        "path",
        "snippet_field",
        "snippet",
    ])?;
    for (i, h) in results.hits.iter().enumerate() {
        w.write_record([
            (i + 1).to_string(),
            format!("{:.3}", h.score),
            h.rule.id.clone(),
            h.rule.language.as_str().to_string(),
            h.rule.title.clone(),
            techniques(h).join(";"),
            h.rule.path.display().to_string(),
            h.snippet.field.clone(),
            h.snippet.marked("«", "»"),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
