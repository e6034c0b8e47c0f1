//! Crawl catalog directories and map each rule file onto [`crate::rule::Rule`].
