//! Language front-ends: each turns a rule's logic into the shared [`Query`] IR.

pub mod kql;
pub mod spl;
pub mod sql;

use crate::ir::Query;
use crate::rule::Language;

/// Parses `logic` written in `language` into stages and predicates.
///
/// Never fails: what cannot be read becomes diagnostics in the result,
/// and the front-end recovers to keep as many stages as it can.
pub fn parse(language: Language, logic: &str) -> Query {
    match language {
        Language::Splunk => spl::parse(logic),
        Language::Kusto => kql::parse(logic),
        Language::Snowflake => sql::parse(logic),
    }
}
