//! Renders a [`RulePage`] for the terminal (comfy-table) and as markdown.

use std::fmt::Write as _;

use comfy_table::{presets, ContentArrangement, Table};

use super::page::{IndicatorRow, RulePage};

/// Explains the Indicators table, as the page says it.
pub(crate) const INDICATORS_HELP: &str =
    "Each row is a field, operator, and value that the rule matches. \
The corpus column counts how many other rules in the catalog look for the same combination \
(split by language): high numbers point to widely used, community-vetted indicators; 0 shows \
that the indicator is specific to this rule.";

/// Explains the Search terms table.
pub(crate) const TERMS_HELP: &str =
    "Bare-string tokens in the search body. Splunk matches each token \
against _raw (the untyped raw event text) wherever it appears, not against a specific field, \
so they are not predicates on a known field and do not appear among the Indicators.";

/// The Search terms explanation for a page's language: bare terms are a
/// Splunk notion, so other languages say why the table is empty.
fn terms_help(language: &str) -> &'static str {
    match language {
        "splunk" => TERMS_HELP,
        _ => {
            "Bare search terms are Splunk's: tokens matched against _raw. This rule's language \
matches named columns only, so every test it makes is among the Indicators."
        }
    }
}

/// The separator shown before stage `n`: SPL and KQL stages are piped, SQL
/// clauses are not.
fn stage_prefix(language: &str, n: usize) -> &'static str {
    if n > 1 && language != "snowflake" {
        "| "
    } else {
        ""
    }
}

/// Indicators grouped for display: one row per (field, op), values listed.
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

fn table(width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = width {
        t.set_width(w);
    }
    t
}

fn heading(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}\n{}", "─".repeat(title.chars().count()));
}

/// The page for a terminal `width` columns wide (`None`: no limit).
pub fn text(page: &RulePage, width: Option<u16>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Detection rules › {}", capitalise(&page.language));
    let _ = writeln!(out, "\n{}", display_title(page));
    let _ = writeln!(out, "id {}  ·  {}", page.id, page.path);
    if !page.group_by.is_empty() {
        let _ = writeln!(out, "\nGroup by: {}", page.group_by.join(", "));
    }
    let _ = writeln!(out, "Source: {}", page.source);
    if !page.description.is_empty() {
        let _ = writeln!(out, "\n{}", page.description);
    }

    heading(&mut out, "MITRE ATT&CK coverage");
    let mut t = table(width);
    t.set_header(vec!["Tactic", "Techniques"]);
    for tr in &page.techniques {
        t.add_row(vec![
            tr.tactic.clone(),
            format!("{} {}", tr.id, tr.name).trim().to_string(),
        ]);
    }
    let _ = writeln!(out, "{t}");

    if !page.references.is_empty() {
        heading(&mut out, "References");
        for r in &page.references {
            let _ = writeln!(out, "- {r}");
        }
    }

    heading(&mut out, "Event coverage");
    if page.event_coverage.is_empty() {
        let _ = writeln!(out, "(no Windows event ids in the rule)");
    } else {
        let mut t = table(width);
        t.set_header(vec!["Provider", "Event", "Title"]);
        for e in &page.event_coverage {
            t.add_row(vec![&e.provider, &e.event, &e.title]);
        }
        let _ = writeln!(out, "{t}");
    }

    heading(&mut out, "Rule body yaml");
    let _ = writeln!(out, "{}", page.yaml.trim_end());

    heading(&mut out, "Stages and Predicates");
    for s in &page.stages {
        let pipe = stage_prefix(&page.language, s.n);
        let _ = writeln!(out, "\nStage {}: {}\n\n  {pipe}{}", s.n, s.kind, s.text);
    }

    heading(&mut out, "Indicators");
    let _ = writeln!(out, "{INDICATORS_HELP}\n");
    if page.indicators.is_empty() {
        let _ = writeln!(out, "(none)");
    } else {
        let mut t = table(width);
        t.set_header(vec!["Field", "Kind", "Values"]);
        for (field, op, rows) in grouped(&page.indicators) {
            let values = rows
                .iter()
                .map(|r| format!("• {}  corpus {}", r.value, r.corpus.display()))
                .collect::<Vec<_>>()
                .join("\n");
            t.add_row(vec![field, op, &values]);
        }
        let _ = writeln!(out, "{t}");
    }

    heading(&mut out, "Search terms");
    let _ = writeln!(out, "{}\n", terms_help(&page.language));
    if page.search_terms.is_empty() {
        let _ = writeln!(out, "(none)");
    } else {
        let mut t = table(width);
        t.set_header(vec!["Stage", "Term"]);
        for st in &page.search_terms {
            t.add_row(vec![st.stage.to_string(), st.term.clone()]);
        }
        let _ = writeln!(out, "{t}");
    }

    if !page.diagnostics.is_empty() {
        heading(&mut out, "Diagnostics");
        for d in &page.diagnostics {
            let _ = write!(out, "{}", d.rendered);
        }
    }
    out
}

/// The page as GitHub-flavoured markdown.
pub fn markdown(page: &RulePage) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Detection rules › {}\n", capitalise(&page.language));
    let _ = writeln!(out, "# {}\n", md_escape(&display_title(page)));
    let _ = writeln!(out, "- **Id:** `{}`", page.id);
    let _ = writeln!(out, "- **Language:** {}", page.language);
    if !page.group_by.is_empty() {
        let _ = writeln!(out, "- **Group by:** {}", page.group_by.join(", "));
    }
    let _ = writeln!(out, "- **Source:** {}", page.source);
    let _ = writeln!(out, "- **File:** `{}`", page.path);
    if !page.description.is_empty() {
        let _ = writeln!(out, "\n{}", md_escape(&page.description));
    }

    let _ = writeln!(
        out,
        "\n## MITRE ATT&CK coverage\n\n| Tactic | Techniques |\n|---|---|"
    );
    for t in &page.techniques {
        let _ = writeln!(out, "| {} | {} {} |", t.tactic, t.id, md_cell(&t.name));
    }
    if !page.references.is_empty() {
        let _ = writeln!(out, "\n## References\n");
        for r in &page.references {
            let _ = writeln!(out, "- <{r}>");
        }
    }
    let _ = writeln!(out, "\n## Event coverage\n");
    if page.event_coverage.is_empty() {
        let _ = writeln!(out, "No Windows event ids in the rule.");
    } else {
        let _ = writeln!(out, "| Provider | Event | Title |\n|---|---|---|");
        for e in &page.event_coverage {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                e.provider,
                e.event,
                md_cell(&e.title)
            );
        }
    }
    let fence = fence_for(&page.yaml);
    let _ = writeln!(
        out,
        "\n## Rule body\n\n{fence}yaml\n{}\n{fence}",
        page.yaml.trim_end()
    );

    let _ = writeln!(out, "\n## Stages and Predicates");
    for s in &page.stages {
        let pipe = stage_prefix(&page.language, s.n);
        let fence = fence_for(&s.text);
        let _ = writeln!(
            out,
            "\n### Stage {}: {}\n\n{fence}\n{pipe}{}\n{fence}",
            s.n, s.kind, s.text
        );
    }

    let _ = writeln!(out, "\n## Indicators\n\n{INDICATORS_HELP}\n");
    if page.indicators.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| Field | Kind | Values |\n|---|---|---|");
        for (field, op, rows) in grouped(&page.indicators) {
            let values = rows
                .iter()
                .map(|r| format!("{} corpus {}", md_code(&r.value), r.corpus.display()))
                .collect::<Vec<_>>()
                .join("<br>");
            let _ = writeln!(out, "| {} | {} | {} |", md_cell(field), op, values);
        }
    }
    let _ = writeln!(out, "\n## Search terms\n\n{}\n", terms_help(&page.language));
    if page.search_terms.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| Stage | Term |\n|---|---|");
        for t in &page.search_terms {
            let _ = writeln!(out, "| {} | {} |", t.stage, md_code(&t.term));
        }
    }
    if !page.diagnostics.is_empty() {
        let _ = writeln!(out, "\n## Diagnostics\n\n```text");
        for d in &page.diagnostics {
            let _ = write!(out, "{}", d.rendered);
        }
        let _ = writeln!(out, "```");
    }
    out
}

fn display_title(page: &RulePage) -> String {
    match page.data_categories.first() {
        Some(c) => format!("{} ({c})", page.title),
        None => page.title.clone(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A code fence longer than any backtick run inside `text`.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// Escapes text so markdown shows it literally in a paragraph.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes a table cell (pipes and newlines would break the row).
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// An inline code span for a table cell: the fence is longer than any
/// backtick run inside, and pipes are escaped (GFM tables split on them
/// even inside code).
fn md_code(s: &str) -> String {
    let body = s.replace('|', "\\|").replace('\n', " ");
    let fence = "`".repeat(body.split(|c| c != '`').map(str::len).max().unwrap_or(0) + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}
