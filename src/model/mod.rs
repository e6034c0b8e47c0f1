//! Indicators and search terms read off the IR.
//!
//! An indicator is the canonical `(field, op, value)` of one predicate
//! leaf; its corpus count (how many other rules carry the same key) is read
//! from the index. Search terms are the bare tokens Splunk matches against
//! `_raw`.

pub mod alias;
mod indicator;
mod value;

pub use alias::canonical_field;
pub use indicator::{indicators, search_terms, Indicator, SearchTerm};
pub use value::{normalize, Normalized};
