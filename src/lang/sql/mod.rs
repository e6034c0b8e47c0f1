//! The SQL front-end (placeholder until implemented).

use crate::ir::Query;

/// Parses SQL logic into the shared IR.
pub fn parse(_logic: &str) -> Query {
    Query::default()
}
