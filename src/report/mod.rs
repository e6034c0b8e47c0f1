//! Rendering: rule pages and tables for the terminal, markdown and JSON,
//! and the self-contained HTML report.

mod event_titles;
pub mod html;
pub mod page;
pub mod render;

pub use page::RulePage;

/// Output formats shared by every report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for the terminal.
    Text,
    /// Markdown for wikis and tickets.
    Markdown,
    /// JSON for programs.
    Json,
}
