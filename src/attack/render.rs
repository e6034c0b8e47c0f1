//! Coverage as text: the tactic × technique table, the by-tactic summary,
//! the gaps and the findings for the terminal, plus CSV and JSON.
//!
//! Tables take an optional width so the caller can size them to the
//! terminal; `None` lets comfy-table lay them out unconstrained.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::coverage::{Coverage, LanguageCounts};
use crate::rule::{Language, Rule};

/// A table with the project's look, sized to `width` when given.
fn new_table(width: Option<u16>, header: Vec<&str>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = width {
        table.set_width(w);
    }
    table.set_header(header);
    table
}

/// A right-aligned number cell.
fn num(n: usize) -> Cell {
    Cell::new(n).set_alignment(CellAlignment::Right)
}

/// One cell per language, in [`Language::ALL`] order.
fn language_cells(c: &LanguageCounts) -> Vec<Cell> {
    Language::ALL.iter().map(|&l| num(c.get(l))).collect()
}

/// The notes, one `note:` line each, after a table.
fn push_notes(out: &mut String, cov: &Coverage) {
    for note in &cov.notes {
        let _ = writeln!(out, "note: {note}");
    }
}

/// The tactic × technique table: one row per covered cell, grouped by
/// tactic in matrix order, with rule counts in total, direct and per
/// language.
pub fn render_table(cov: &Coverage, width: Option<u16>) -> String {
    let mut header = vec!["Tactic", "Technique", "Name", "Rules", "Direct"];
    header.extend(Language::ALL.iter().map(|l| l.as_str()));
    let mut table = new_table(width, header);
    for tactic in &cov.tactics {
        let mut first = true;
        for t in &cov.techniques {
            let tactic_key = (tactic.id.is_some()).then_some(tactic.shortname.as_str());
            let Some(cell) = t.tactics.iter().find(|c| c.tactic.as_deref() == tactic_key) else {
                continue;
            };
            // Sub-techniques are indented under their parent, which sorts
            // just before them by id.
            let id = if t.parent.is_some() {
                format!("  {}", t.id)
            } else {
                t.id.clone()
            };
            let mut row = vec![
                Cell::new(if first { tactic.name.as_str() } else { "" }),
                Cell::new(id),
                Cell::new(t.name.as_deref().unwrap_or("")),
                num(cell.score),
                num(cell.direct),
            ];
            row.extend(language_cells(&cell.by_language));
            table.add_row(row);
            first = false;
        }
    }
    let mut out = table.to_string();
    out.push('\n');
    let _ = writeln!(
        out,
        "{} rules, {} mapped to ATT&CK, {} techniques covered, {} findings",
        cov.totals.rules,
        cov.totals.mapped,
        cov.techniques.len(),
        cov.findings.len()
    );
    push_notes(&mut out, cov);
    out
}

/// The `by tactic` summary: rules per tactic and how many of its
/// techniques and sub-techniques have a rule.
pub fn render_by_tactic(cov: &Coverage, width: Option<u16>) -> String {
    let mut header = vec!["Tactic", "ID", "Rules", "Techniques", "Sub-techniques", "%"];
    header.extend(Language::ALL.iter().map(|l| l.as_str()));
    let mut table = new_table(width, header);
    let ratio = |covered: usize, total: Option<usize>| match total {
        Some(total) => format!("{covered}/{total}"),
        None => covered.to_string(),
    };
    for t in &cov.tactics {
        let pct = match t.techniques_total {
            Some(total) if total > 0 => {
                format!("{:.0}", 100.0 * t.techniques_covered as f64 / total as f64)
            }
            _ => "-".to_string(),
        };
        let mut row = vec![
            Cell::new(&t.name),
            Cell::new(t.id.as_deref().unwrap_or("")),
            num(t.rules),
            Cell::new(ratio(t.techniques_covered, t.techniques_total))
                .set_alignment(CellAlignment::Right),
            Cell::new(ratio(t.subtechniques_covered, t.subtechniques_total))
                .set_alignment(CellAlignment::Right),
            Cell::new(pct).set_alignment(CellAlignment::Right),
        ];
        row.extend(language_cells(&t.by_language));
        table.add_row(row);
    }
    let mut out = table.to_string();
    out.push('\n');
    push_notes(&mut out, cov);
    out
}

/// The gaps: techniques with no rule, after the platform and tactic
/// filters.
pub fn render_gaps(cov: &Coverage, width: Option<u16>) -> String {
    let mut out = String::new();
    if !cov.bundle {
        let _ = writeln!(out, "gaps need the ATT&CK bundle (--attack)");
        return out;
    }
    let mut table = new_table(width, vec!["Technique", "Name", "Tactics", "Platforms"]);
    for g in &cov.gaps {
        let id = if g.parent.is_some() {
            format!("  {}", g.id)
        } else {
            g.id.clone()
        };
        table.add_row(vec![
            Cell::new(id),
            Cell::new(&g.name),
            Cell::new(g.tactics.join(", ")),
            Cell::new(g.platforms.join(", ")),
        ]);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    let _ = writeln!(out, "{} techniques without a rule", cov.gaps.len());
    push_notes(&mut out, cov);
    out
}

/// The findings as diagnostics (`path:line:col: warning: …` with the
/// offending line), using the rules' YAML text for positions.
pub fn render_findings(cov: &Coverage, rules: &[Rule]) -> String {
    let yaml: HashMap<&Path, &str> = rules
        .iter()
        .map(|r| (r.path.as_path(), r.yaml.as_str()))
        .collect();
    let mut out = String::new();
    for f in &cov.findings {
        let text = yaml.get(f.path.as_path()).copied();
        out.push_str(&f.to_diagnostic().render(text));
    }
    out
}

/// The whole report as pretty-printed JSON.
pub fn render_json(cov: &Coverage) -> String {
    // Every field is a plain string, number, list or map, so serialising
    // cannot fail.
    serde_json::to_string_pretty(cov).expect("coverage serialises to JSON")
}

/// One CSV row per covered (tactic, technique) cell, rule ids joined by `;`.
pub fn render_csv(cov: &Coverage) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "tactic_id",
        "tactic",
        "technique_id",
        "technique",
        "parent",
        "rules",
        "direct",
        "splunk",
        "kusto",
        "snowflake",
        "rule_ids",
    ])?;
    for tactic in &cov.tactics {
        let key = tactic.id.is_some().then_some(tactic.shortname.as_str());
        for t in &cov.techniques {
            for cell in t.tactics.iter().filter(|c| c.tactic.as_deref() == key) {
                w.write_record([
                    tactic.id.clone().unwrap_or_default(),
                    key.unwrap_or_default().to_string(),
                    t.id.clone(),
                    t.name.clone().unwrap_or_default(),
                    t.parent.clone().unwrap_or_default(),
                    cell.score.to_string(),
                    cell.direct.to_string(),
                    cell.by_language.splunk.to_string(),
                    cell.by_language.kusto.to_string(),
                    cell.by_language.snowflake.to_string(),
                    cell.rules.join(";"),
                ])?;
            }
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// One CSV row per gap.
pub fn render_gaps_csv(cov: &Coverage) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "technique_id",
        "technique",
        "parent",
        "tactics",
        "platforms",
    ])?;
    for g in &cov.gaps {
        w.write_record([
            g.id.as_str(),
            g.name.as_str(),
            g.parent.as_deref().unwrap_or(""),
            &g.tactics.join(";"),
            &g.platforms.join(";"),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::coverage::tests::rule;
    use crate::attack::testdata::attack;
    use crate::attack::{coverage, CoverageOptions};

    fn sample() -> (Vec<Rule>, Coverage) {
        let a = attack();
        let rules = vec![
            rule("r1", Language::Splunk, &["T1059.001"], &[]),
            rule("r2", Language::Kusto, &["T1046", "T1086", "t1059_001"], &[]),
        ];
        let cov = coverage(&rules, Some(&a), &CoverageOptions::default());
        (rules, cov)
    }

    #[test]
    fn table_groups_by_tactic_with_language_counts() {
        let (_, cov) = sample();
        let out = render_table(&cov, Some(120));
        assert!(out.contains("Execution"), "{out}");
        assert!(out.contains("  T1059.001"), "{out}");
        let exec = out.find("Execution").unwrap_or(usize::MAX);
        let disc = out.find("Discovery").unwrap_or(0);
        assert!(exec < disc, "matrix order:\n{out}");
        assert!(out.contains("2 rules, 2 mapped to ATT&CK"), "{out}");
    }

    #[test]
    fn by_tactic_shows_ratios() {
        let (_, cov) = sample();
        let out = render_by_tactic(&cov, None);
        assert!(out.contains("TA0002"), "{out}");
        assert!(out.contains("1/1"), "{out}");
        assert!(out.contains("2/2") || out.contains("1/2"), "{out}");
    }

    #[test]
    fn gaps_and_findings_render() {
        let (rules, cov) = sample();
        let gaps = render_gaps(&cov, None);
        assert!(
            gaps.contains("T1078") && gaps.contains("Valid Accounts"),
            "{gaps}"
        );
        let f = render_findings(&cov, &rules);
        assert!(
            f.contains("rules/r2.yml:5:3: warning: `t1059_001` is not a technique id"),
            "{f}"
        );
        assert!(f.contains("revoked-technique"), "{f}");
    }

    #[test]
    fn csv_and_json_round_trip() {
        let (_, cov) = sample();
        let csv_text = render_csv(&cov).expect("csv");
        let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
        let rows: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>().expect("rows");
        let t1059 = rows.iter().find(|r| &r[2] == "T1059").expect("a T1059 row");
        assert_eq!(&t1059[1], "execution");
        assert_eq!(&t1059[5], "2");
        assert_eq!(&t1059[10], "r1;r2");
        let json: serde_json::Value = serde_json::from_str(&render_json(&cov)).expect("json");
        assert_eq!(json["bundle"], true);
        assert!(json["findings"].as_array().is_some_and(|f| f.len() == 2));
        let gaps = render_gaps_csv(&cov).expect("gaps csv");
        assert!(
            gaps.lines().any(|l| l.starts_with("T1078,Valid Accounts")),
            "{gaps}"
        );
    }
}
