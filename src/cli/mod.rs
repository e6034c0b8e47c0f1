//! Verbs of the command line, one module each.

mod build;
mod coverage;
mod eval;
mod indicators;
mod lint;
pub mod logger;
mod output;
mod search;
mod show;
mod terms;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Detection-rule catalogs as something to reason about: crawl, parse,
/// index, evaluate, report.
#[derive(Debug, Parser)]
#[command(
    name = "ruledex",
    version,
    about,
    after_help = "Examples:
  ruledex build                                   # the project's own catalog/
  ruledex build --catalog ../shared/corpus/armory --catalog ../shared/corpus/sentinel
  ruledex show 24804.45867 --format markdown
  ruledex lint

Exit status: 0 ok, 1 nothing found where that is the question, 2 error.
Results go to stdout; progress, warnings and errors to stderr."
)]
pub struct Cli {
    /// Options every verb takes.
    #[command(flatten)]
    pub global: Global,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every verb.
#[derive(Debug, Args)]
pub struct Global {
    /// Where the index is written (`build`) and read (every other verb).
    #[arg(long, global = true, default_value = "index", value_name = "DIR")]
    pub index: PathBuf,
    /// Where generated reports go.
    #[arg(long, global = true, default_value = "reports", value_name = "DIR")]
    pub reports: PathBuf,
    /// More logging on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Crawl catalogs, parse every rule and write the index.
    Build(build::BuildArgs),
    /// Print a rule's page: stages, indicators with corpus counts, search terms.
    Show(show::ShowArgs),
    /// List every rule the crawler or parser could not fully read, with positions.
    Lint(lint::LintArgs),
    /// Evaluate rules against events and explain the verdicts.
    Eval(eval::EvalArgs),
    /// Search the catalog (tantivy query syntax); ranked rules with snippets.
    Search(search::SearchArgs),
    /// Most shared indicators, one rule's or a search's; single-use and duplicate sets.
    Indicators(indicators::IndicatorsArgs),
    /// Most common bare search terms with the rules that use them.
    Terms(terms::TermsArgs),
    /// Coverage by MITRE ATT&CK tactic and technique, gaps, Navigator layers.
    Coverage(coverage::CoverageArgs),
}

/// Runs the verb and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Build(a) => build::run(&cli.global, a),
        Command::Show(a) => show::run(&cli.global, a),
        Command::Lint(a) => lint::run(&cli.global, a),
        Command::Eval(a) => eval::run(&cli.global, a),
        Command::Search(a) => search::run(&cli.global, a),
        Command::Indicators(a) => indicators::run(&cli.global, a),
        Command::Terms(a) => terms::run(&cli.global, a),
        Command::Coverage(a) => coverage::run(&cli.global, a),
    }
}
