//! `ruledex show ID`: one rule's page.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::Global;
use ruledex::index::Catalog;
use ruledex::lang;
use ruledex::report::{render, Format, RulePage};

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The rule's id (e.g. `24804.45867`).
    pub id: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Runs `show`.
pub fn run(global: &Global, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::open(&global.index)?;
    let Some(rule) = catalog.rule(&args.id)? else {
        let hint = suggestions(&catalog, &args.id)?;
        anyhow::bail!(
            "no rule with id {:?} in {}{hint}",
            args.id,
            global.index.display()
        );
    };
    let query = lang::parse(rule.language, &rule.logic);
    let page = RulePage::build(&rule, &query, &catalog)
        .with_context(|| format!("reading corpus counts for {}", rule.id))?;
    match args.format {
        Format::Json => super::output::print_json(&page)?,
        Format::Markdown => super::output::print(&render::markdown(&page))?,
        Format::Text => super::output::print(&render::text(&page, None))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// "did you mean" text: ids sharing the given prefix, at most five.
fn suggestions(catalog: &Catalog, id: &str) -> anyhow::Result<String> {
    let stem: String = id.chars().take(id.len().saturating_sub(2).max(1)).collect();
    let near: Vec<String> = catalog
        .rules()?
        .into_iter()
        .map(|r| r.id)
        .filter(|i| i.starts_with(&stem))
        .take(5)
        .collect();
    Ok(if near.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", near.join(", "))
    })
}
