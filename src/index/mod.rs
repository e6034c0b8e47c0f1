//! The tantivy index of rules and indicators, and corpus counts read from it.
//!
//! One index holds two kinds of document, told apart by `doc_type`:
//! - `rule`: one per rule, its searchable text and its whole [`Rule`]
//!   stored as JSON (so `show` needs no re-crawl);
//! - `indicator`: one per (rule, indicator key), so the corpus count of a
//!   key is a document count, and a rule that repeats a predicate counts
//!   once.
//!
//! The index is rebuilt whole and swapped in atomically (see [`writer`]):
//! readers never see a half-written catalog.

mod reader;
mod schema;
pub mod search;
pub mod terms;
pub mod writer;

pub use reader::{Catalog, CorpusCount, IndicatorStat};
pub use schema::Fields;
pub use search::{Hit, MatchedIndicator, SearchError, SearchOptions, SearchResults, Snippet};
pub use terms::{term_key, TermStat};
pub use writer::{write_index, IndexedRule};

use crate::rule::Rule;

/// The sub-directory of `--index DIR` holding the tantivy files.
pub const TANTIVY_DIR: &str = "tantivy";

/// The file beside the tantivy files holding the build's summary, crawl
/// diagnostics and macro definitions.
pub const META_FILE: &str = "catalog.json";

/// Errors reading or writing the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// No index has been built in the directory.
    #[error("no index at {0} (run `ruledex build` first)")]
    Missing(std::path::PathBuf),
    /// tantivy failed.
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A stored document could not be decoded.
    #[error("corrupt index document: {0}")]
    Corrupt(String),
}

/// A rule as stored, with its language name for quick filtering.
pub fn rule_language(rule: &Rule) -> &'static str {
    rule.language.as_str()
}
