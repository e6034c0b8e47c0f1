//! The HTML report: one self-contained `index.html` for browsing the whole
//! catalog offline.
//!
//! The file holds one JSON document (every rule page, the ATT&CK heatmap,
//! the top indicators) in a `<script type="application/json">` element, and
//! a small script (`assets/report.js`) that renders the view the URL hash
//! asks for: the catalog list with filters, one rule's page
//! (`#rule/ID`, built on demand), the heatmap or the indicators. Nothing
//! is fetched: CSS and JS are inline and a Content-Security-Policy forbids
//! any network access.
//!
//! # Escaping
//!
//! Rule text is shown through `textContent` only, never parsed as HTML.
//! The JSON is made inert inside `<script>` by writing every `<`, `>` and
//! `&` as a `\u` escape (so neither `</script>` nor `<!--` can appear) and
//! U+2028/U+2029 as escapes too; the few strings put into the HTML shell
//! itself go through [`escape_html`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::page::RulePage;
use crate::attack::{coverage, Attack, Coverage, CoverageOptions};
use crate::index::{Catalog, CorpusCount, IndexError, IndicatorStat};
use crate::ir::Query;
use crate::rule::{Language, Rule};

/// The report's file name inside the reports directory.
pub const INDEX_FILE: &str = "index.html";

/// How many indicators the "Top indicators" view lists.
pub const TOP_INDICATORS: usize = 100;

/// Rule ids listed per top indicator; the rest are only counted (the
/// busiest indicators of the corpora are carried by under 300 rules).
const IDS_PER_INDICATOR: usize = 1000;

const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// Errors writing the report.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// Reading the index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The reports directory or file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The report data could not be serialised.
    #[error("serialising the report data: {0}")]
    Json(#[from] serde_json::Error),
}

/// What the report is built from.
pub struct ReportInput<'a> {
    /// Every rule, in catalog order.
    pub rules: &'a [Rule],
    /// `queries[i]` is the parse of `rules[i].logic`.
    pub queries: &'a [Query],
    /// The index just written for these rules (corpus counts).
    pub catalog: &'a Catalog,
    /// The ATT&CK bundle, when one was given.
    pub attack: Option<&'a Attack>,
    /// The catalog directories, as shown in the header.
    pub catalogs: Vec<String>,
    /// The build summary (counts of rules, diagnostics…), shown as is.
    pub summary: serde_json::Value,
}

/// Sizes of a written report, for the build summary.
#[derive(Clone, Debug)]
pub struct ReportStats {
    /// The file written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// Rule pages embedded.
    pub pages: usize,
}

/// Everything the script renders, serialised once into the page.
#[derive(Debug, Serialize)]
pub struct ReportData {
    /// `ruledex 0.1.0`.
    pub generator: String,
    /// The catalog directories crawled.
    pub catalogs: Vec<String>,
    /// The build summary.
    pub summary: serde_json::Value,
    /// One entry per rule, in catalog order.
    pub rules: Vec<RuleEntry>,
    /// The ATT&CK coverage heatmap.
    pub attack: Heatmap,
    /// The most shared indicators.
    pub indicators: Vec<TopIndicator>,
    /// The explanations shown above the page's tables, as `show` words them.
    pub help: Help,
}

/// Table explanations shared with the terminal and markdown pages.
#[derive(Debug, Serialize)]
pub struct Help {
    /// Above the Indicators table.
    pub indicators: &'static str,
    /// Above the Search terms table.
    pub terms: &'static str,
}

impl Default for Help {
    fn default() -> Self {
        Help {
            indicators: super::render::INDICATORS_HELP,
            terms: super::render::TERMS_HELP,
        }
    }
}

/// A rule page plus what the catalog list filters on.
#[derive(Debug, Serialize)]
pub struct RuleEntry {
    /// The page, as `show` builds it (technique names filled from the
    /// bundle when the rule gives none).
    #[serde(flatten)]
    pub page: RulePage,
    /// Tactic shortnames the rule is credited under (as in the heatmap).
    pub tactics: Vec<String>,
}

/// The coverage heatmap: tactics as columns in matrix order.
#[derive(Debug, Serialize)]
pub struct Heatmap {
    /// Whether an ATT&CK bundle was used.
    pub bundle: bool,
    /// The ATT&CK version, when the bundle says.
    pub version: Option<String>,
    /// Caveats (what needs the bundle).
    pub notes: Vec<String>,
    /// Rules crediting at least one technique.
    pub mapped: usize,
    /// Rules crediting none.
    pub unmapped: usize,
    /// The highest cell score, for shading.
    pub max: usize,
    /// The columns.
    pub columns: Vec<Column>,
    /// Mapping findings (revoked, deprecated, unknown, malformed ids…).
    pub findings: Vec<FindingRow>,
}

/// One tactic column.
#[derive(Debug, Serialize)]
pub struct Column {
    /// `TA0007`, when known.
    pub id: Option<String>,
    /// `discovery`, or `(none)` for rules without a tactic.
    pub shortname: String,
    /// `Discovery`.
    pub name: String,
    /// Distinct rules under the tactic.
    pub rules: usize,
    /// Techniques with at least one rule.
    pub covered: usize,
    /// Active techniques of the tactic (needs the bundle).
    pub total: Option<usize>,
    /// Technique cells: with the bundle every active technique of the
    /// tactic, else the covered ones; by name, then id.
    pub cells: Vec<Cell>,
}

/// One technique under one tactic.
#[derive(Debug, Serialize)]
pub struct Cell {
    /// `T1059`.
    pub id: String,
    /// The ATT&CK name, empty without the bundle.
    pub name: String,
    /// Distinct rules (sub-techniques rolled up).
    pub score: usize,
    /// Their ids, sorted.
    pub rules: Vec<String>,
    /// Covered sub-techniques under this tactic.
    pub subs: Vec<SubCell>,
}

/// One covered sub-technique inside a cell.
#[derive(Debug, Serialize)]
pub struct SubCell {
    /// `T1059.001`.
    pub id: String,
    /// The ATT&CK name, empty without the bundle.
    pub name: String,
    /// Distinct rules.
    pub score: usize,
    /// Their ids, sorted.
    pub rules: Vec<String>,
}

/// One mapping finding, flattened for a table.
#[derive(Debug, Serialize)]
pub struct FindingRow {
    /// `revoked-technique`…
    pub kind: String,
    /// The rule's id.
    pub rule: String,
    /// What the rule wrote.
    pub raw: String,
    /// The sentence explaining it.
    pub message: String,
}

/// One indicator shared across the catalog.
#[derive(Debug, Serialize)]
pub struct TopIndicator {
    /// Canonical field.
    pub field: String,
    /// Operator.
    pub op: String,
    /// The value as the first rule spells it.
    pub value: String,
    /// Rules carrying it, by language.
    pub rules: CorpusCount,
    /// The first rule ids (sorted); `rules.total` says how many there are.
    pub rule_ids: Vec<String>,
}

/// Builds the report data: every rule page (in parallel), the heatmap and
/// the top indicators.
pub fn report_data(input: &ReportInput<'_>) -> Result<ReportData, HtmlError> {
    // One pass over the index gives every key's count; a rule's corpus
    // count is that minus itself, as `Catalog::corpus_count` computes.
    let started = Instant::now();
    let stats = input.catalog.indicator_stats()?;
    log::debug!(
        "report: {} indicator keys read from the index in {:.0} ms",
        stats.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let counts: HashMap<&str, CorpusCount> =
        stats.iter().map(|s| (s.key.as_str(), s.rules)).collect();

    let cov = coverage(input.rules, input.attack, &CoverageOptions::default());
    let rule_tactics = tactics_by_rule(&cov);
    log::debug!(
        "report: coverage of {} techniques at {:.0} ms",
        cov.techniques.len(),
        started.elapsed().as_secs_f64() * 1e3
    );

    let pages: Vec<RulePage> = input
        .rules
        .par_iter()
        .zip(input.queries.par_iter())
        .map(|(rule, query)| {
            let mut page = RulePage::build_with(rule, query, |key, lang| {
                Ok(others(counts.get(key).copied().unwrap_or_default(), lang))
            })?;
            if let Some(attack) = input.attack {
                fill_technique_names(&mut page, attack);
            }
            Ok(page)
        })
        .collect::<Result<_, IndexError>>()?;
    log::debug!(
        "report: {} rule pages at {:.0} ms",
        pages.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let rules = pages
        .into_iter()
        .map(|page| {
            let tactics = rule_tactics
                .get(page.id.as_str())
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            RuleEntry { page, tactics }
        })
        .collect();

    Ok(ReportData {
        generator: format!("ruledex {}", env!("CARGO_PKG_VERSION")),
        catalogs: input.catalogs.clone(),
        summary: input.summary.clone(),
        rules,
        attack: heatmap(&cov, input.attack),
        indicators: top_indicators(stats, TOP_INDICATORS),
        help: Help::default(),
    })
}

/// Writes `<dir>/index.html` and returns its size.
pub fn write_report(dir: &Path, input: &ReportInput<'_>) -> Result<ReportStats, HtmlError> {
    let data = report_data(input)?;
    let started = Instant::now();
    let html = render(&data)?;
    log::debug!(
        "report: {} bytes of HTML rendered in {:.0} ms",
        html.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    std::fs::create_dir_all(dir).map_err(|source| HtmlError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(INDEX_FILE);
    // Write beside and rename, so a browser never loads half a report
    // (the pid keeps concurrent builds into one directory apart).
    let tmp = dir.join(format!(".{INDEX_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, html.as_bytes()).map_err(|source| HtmlError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| HtmlError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(ReportStats {
        path,
        bytes: html.len(),
        pages: data.rules.len(),
    })
}

/// The whole HTML document for `data`.
pub fn render(data: &ReportData) -> Result<String, HtmlError> {
    let json = serde_json::to_string(data)?;
    let title = match data.catalogs.as_slice() {
        [one] => format!("ruledex report: {one}"),
        _ => format!("ruledex report: {} rules", data.rules.len()),
    };
    let mut out = String::with_capacity(json.len() + CSS.len() + JS.len() + 2048);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // The report must work offline and must not phone home: forbid every
    // fetch, allowing only the inline style and script below.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str(&format!("<title>{}</title>\n", escape_html(&title)));
    out.push_str("<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(
        "<header id=\"top\"><a class=\"brand\" href=\"#catalog\">ruledex</a>\
         <nav><a href=\"#catalog\" data-view=\"catalog\">Catalog</a>\
         <a href=\"#attack\" data-view=\"attack\">ATT&amp;CK coverage</a>\
         <a href=\"#indicators\" data-view=\"indicators\">Top indicators</a></nav>",
    );
    out.push_str(&format!(
        "<span class=\"generator\">{}</span></header>\n",
        escape_html(&data.generator)
    ));
    out.push_str(
        "<main id=\"app\"><noscript>This report needs JavaScript to render its views.</noscript></main>\n",
    );
    out.push_str("<script type=\"application/json\" id=\"ruledex-data\">");
    push_script_json(&mut out, &json);
    out.push_str("</script>\n<script>\n");
    out.push_str(JS);
    out.push_str("</script>\n</body>\n</html>\n");
    Ok(out)
}

/// Makes serialised JSON safe inside a `<script>` element: `<`, `>`, `&`,
/// U+2028 and U+2029 become `\u` escapes.
///
/// In JSON text these characters occur only inside strings, where a `\u`
/// escape means the same character, so the document parses to the same
/// value; and with no `<` left, neither `</script>` nor `<!--` can end or
/// confuse the element (a stricter form of writing `</` as `<\/`).
pub fn script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    push_script_json(&mut out, json);
    out
}

/// [`script_json`] appending to `out`: copies the runs between the
/// characters to escape whole, which keeps a 20 MB document fast.
fn push_script_json(out: &mut String, json: &str) {
    let bytes = json.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        let escape = match bytes[i] {
            b'<' => Some((1, "\\u003c")),
            b'>' => Some((1, "\\u003e")),
            b'&' => Some((1, "\\u0026")),
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                Some((3, "\\u2028"))
            }
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                Some((3, "\\u2029"))
            }
            _ => None,
        };
        match escape {
            Some((len, with)) => {
                // `i` sits on an ASCII byte or a char's first byte, so
                // both slices end on char boundaries.
                out.push_str(&json[last..i]);
                out.push_str(with);
                i += len;
                last = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&json[last..]);
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
    out
}

/// `count` without the one rule (of `lang`) asking: the page's corpus
/// column counts *other* rules.
fn others(mut count: CorpusCount, lang: Language) -> CorpusCount {
    count.total = count.total.saturating_sub(1);
    let slot = match lang {
        Language::Splunk => &mut count.splunk,
        Language::Kusto => &mut count.kusto,
        Language::Snowflake => &mut count.snowflake,
    };
    *slot = slot.saturating_sub(1);
    count
}

/// Names techniques (and tactics) the rule file left unnamed, from the
/// bundle (security_content and Sentinel give ids only), and spells known
/// tactics as ATT&CK does.
fn fill_technique_names(page: &mut RulePage, attack: &Attack) {
    for row in &mut page.techniques {
        let Some(t) = attack.technique(&row.id) else {
            continue;
        };
        if row.name.is_empty() {
            row.name = t.name.clone();
        }
        // armory writes `initial-access`; show ATT&CK's `Initial Access`.
        if let Some(tac) = attack.tactic(&row.tactic) {
            row.tactic = tac.name.clone();
        }
        if row.tactic.is_empty() {
            row.tactic = t
                .tactics
                .iter()
                .map(|s| attack.tactic(s).map_or(s.clone(), |tac| tac.name.clone()))
                .collect::<Vec<_>>()
                .join(", ");
        }
    }
}

/// Rule id → tactic shortnames it is credited under, from the coverage
/// cells, so the list's tactic filter agrees with the heatmap.
fn tactics_by_rule(cov: &Coverage) -> HashMap<&str, BTreeSet<String>> {
    let mut out: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for t in &cov.techniques {
        for cell in &t.tactics {
            let short = cell.tactic.clone().unwrap_or_else(|| NONE.to_string());
            for r in &cell.rules {
                out.entry(r.as_str()).or_default().insert(short.clone());
            }
        }
    }
    out
}

/// The column of rules whose tactic is unknown (no bundle, none written).
const NONE: &str = "(none)";

/// Lays the coverage out as columns of technique cells.
fn heatmap(cov: &Coverage, attack: Option<&Attack>) -> Heatmap {
    // (tactic, technique) → the cell's rules, for techniques and subs.
    let mut cells: HashMap<(String, &str), &Vec<String>> = HashMap::new();
    // (tactic, parent) → covered sub-techniques.
    let mut subs: BTreeMap<(String, String), Vec<SubCell>> = BTreeMap::new();
    for t in &cov.techniques {
        for c in &t.tactics {
            let short = c.tactic.clone().unwrap_or_else(|| NONE.to_string());
            match &t.parent {
                Some(parent) => subs
                    .entry((short, parent.clone()))
                    .or_default()
                    .push(SubCell {
                        id: t.id.clone(),
                        name: t.name.clone().unwrap_or_default(),
                        score: c.score,
                        rules: c.rules.clone(),
                    }),
                None => {
                    cells.insert((short, t.id.as_str()), &c.rules);
                }
            }
        }
    }
    let name_of = |id: &str| {
        attack
            .and_then(|a| a.technique(id))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };

    let mut max = 0;
    let mut columns = Vec::new();
    for tc in &cov.tactics {
        let short = tc.shortname.clone();
        // Every technique the column shows: the bundle's active parents
        // of the tactic, plus whatever was credited under it.
        let mut ids: BTreeSet<String> = cells
            .keys()
            .filter(|(t, _)| *t == short)
            .map(|(_, id)| id.to_string())
            .collect();
        ids.extend(
            subs.keys()
                .filter(|(t, _)| *t == short)
                .map(|(_, p)| p.clone()),
        );
        if let Some(a) = attack {
            ids.extend(
                a.techniques()
                    .iter()
                    .filter(|t| t.is_active() && t.parent.is_none() && t.tactics.contains(&short))
                    .map(|t| t.id.clone()),
            );
        }
        let mut col_cells: Vec<Cell> = ids
            .into_iter()
            .map(|id| {
                let rules = cells
                    .get(&(short.clone(), id.as_str()))
                    .map(|r| (*r).clone())
                    .unwrap_or_default();
                let subs = subs
                    .remove(&(short.clone(), id.clone()))
                    .unwrap_or_default();
                Cell {
                    name: name_of(&id),
                    score: rules.len(),
                    rules,
                    subs,
                    id,
                }
            })
            .collect();
        col_cells.sort_by(|a, b| {
            (a.name.is_empty(), a.name.to_lowercase(), &a.id).cmp(&(
                b.name.is_empty(),
                b.name.to_lowercase(),
                &b.id,
            ))
        });
        max = col_cells.iter().map(|c| c.score).fold(max, usize::max);
        columns.push(Column {
            id: tc.id.clone(),
            shortname: short,
            name: tc.name.clone(),
            rules: tc.rules,
            covered: tc.techniques_covered,
            total: tc.techniques_total,
            cells: col_cells,
        });
    }

    Heatmap {
        bundle: cov.bundle,
        version: cov.attack_version.clone(),
        notes: cov.notes.clone(),
        mapped: cov.totals.mapped,
        unmapped: cov.totals.unmapped,
        max,
        columns,
        findings: cov
            .findings
            .iter()
            .map(|f| FindingRow {
                kind: f.kind.code().to_string(),
                rule: f.rule.clone(),
                raw: f.raw.clone(),
                message: f.message.clone(),
            })
            .collect(),
    }
}

/// The `n` indicators carried by the most rules (ties by key).
fn top_indicators(mut stats: Vec<IndicatorStat>, n: usize) -> Vec<TopIndicator> {
    stats.sort_by(|a, b| b.rules.total.cmp(&a.rules.total).then(a.key.cmp(&b.key)));
    stats
        .into_iter()
        .take(n)
        .map(|s| TopIndicator {
            field: s.field,
            op: s.op,
            value: s.value,
            rules: s.rules,
            rule_ids: s.rule_ids.into_iter().take(IDS_PER_INDICATOR).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_leaves_no_tag_openers_and_round_trips() {
        let value = serde_json::json!({
            "yaml": "x: '</script><!--<script>' & \"q\" `b` \u{2028}\u{2029}",
            "near": "é<€–\u{2028}€\u{2029}",
        });
        let raw = serde_json::to_string(&value).expect("serialises");
        let safe = script_json(&raw);
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!safe.contains(bad), "{bad:?} left in {safe}");
        }
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, value);
    }

    #[test]
    fn escape_html_covers_markup_and_quotes() {
        assert_eq!(
            escape_html("<a href=\"x\">'&`</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#96;&lt;/a&gt;"
        );
    }

    #[test]
    fn assets_cannot_end_the_script_element() {
        assert!(!JS.to_ascii_lowercase().contains("</script"));
        assert!(!JS.contains("<!--"));
        assert!(!CSS.to_ascii_lowercase().contains("</style"));
    }

    #[test]
    fn others_removes_the_rule_itself() {
        let c = CorpusCount {
            total: 3,
            splunk: 2,
            kusto: 1,
            snowflake: 0,
        };
        let o = others(c, Language::Splunk);
        assert_eq!((o.total, o.splunk, o.kusto), (2, 1, 1));
        assert_eq!(others(CorpusCount::default(), Language::Kusto).total, 0);
    }

    fn empty_data() -> ReportData {
        ReportData {
            generator: "ruledex test".into(),
            catalogs: vec!["<cat & dog>".into()],
            summary: serde_json::json!({}),
            rules: Vec::new(),
            attack: Heatmap {
                bundle: false,
                version: None,
                notes: Vec::new(),
                mapped: 0,
                unmapped: 0,
                max: 0,
                columns: Vec::new(),
                findings: Vec::new(),
            },
            indicators: Vec::new(),
            help: Help::default(),
        }
    }

    #[test]
    fn render_is_self_contained_and_escapes_the_title() {
        let html = render(&empty_data()).expect("renders");
        assert!(html.contains("<title>ruledex report: &lt;cat &amp; dog&gt;</title>"));
        assert!(html.contains("default-src 'none'"));
        for external in ["<link", "src=\"http", "url(http", "@import"] {
            assert!(!html.contains(external), "{external} in the report");
        }
        // The embedded document is the data, byte for byte once unescaped.
        let start = html.find("id=\"ruledex-data\">").expect("data element") + 18;
        let end = start + html[start..].find("</script>").expect("closed");
        let back: serde_json::Value = serde_json::from_str(&html[start..end]).expect("JSON");
        assert_eq!(back["catalogs"][0], "<cat & dog>");
    }
}
