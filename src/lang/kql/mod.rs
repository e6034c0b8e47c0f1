//! The KQL front-end (placeholder until implemented).

use crate::ir::Query;

/// Parses KQL logic into the shared IR.
pub fn parse(_logic: &str) -> Query {
    Query::default()
}
