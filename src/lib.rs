//! ruledex: crawl detection-rule catalogs, parse their SPL, KQL and SQL
//! into one query IR, count indicators across the corpus with tantivy,
//! evaluate rules against events, and report.
//!
//! The module tree follows the pipeline:
//! `crawl` → `lang` → `ir` → `model` → `index` → `eval` → `report`.
#![warn(missing_docs)]

pub mod attack;
pub mod crawl;
pub mod diag;
pub mod eval;
pub mod events;
pub mod index;
pub mod ir;
pub mod lang;
pub mod macros;
pub mod model;
pub mod report;
pub mod rule;
