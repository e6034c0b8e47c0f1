//! The tantivy index of rules and indicators, and corpus counts read from it.
