//! Every rule of the real corpora gets a page in all three formats: the
//! page model and its renderers never fail or panic on real rules, and
//! every indicator's corpus count includes no more than the other rules.

mod common;

use ruledex::index::{write_index, Catalog, IndexedRule};
use ruledex::model::{indicators, search_terms};
use ruledex::report::{render, RulePage};
use ruledex::{crawl, lang};

#[test]
fn every_corpus_rule_renders_a_page() {
    let Some(shared) = common::shared() else {
        return;
    };
    let dirs: Vec<_> = ["armory", "security_content", "sentinel"]
        .iter()
        .map(|c| shared.join("corpus").join(c))
        .collect();
    let crawled = crawl::crawl(&dirs);
    let rules: Vec<IndexedRule> = crawled
        .rules
        .iter()
        .map(|r| {
            let q = lang::parse(r.language, &r.logic);
            IndexedRule {
                rule: r.clone(),
                indicators: indicators(&q),
                terms: search_terms(&q),
            }
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    write_index(dir.path(), &rules, &serde_json::json!({})).expect("index written");
    let catalog = Catalog::open(dir.path()).expect("index opens");

    let mut pages = 0;
    let mut sentinel_with_stages = 0;
    for r in &rules {
        let rule = &r.rule;
        let q = lang::parse(rule.language, &rule.logic);
        let page = RulePage::build(rule, &q, &catalog).expect("page builds");
        assert!(!render::text(&page, Some(100)).is_empty());
        assert!(render::markdown(&page).starts_with("Detection rules › "));
        serde_json::to_string(&page).expect("page serialises");
        for row in &page.indicators {
            // Other rules only: never more than the catalog minus this rule.
            assert!(
                row.corpus.total < rules.len() as u64,
                "{} {}",
                rule.id,
                row.field
            );
            assert_eq!(
                row.corpus.total,
                row.corpus.splunk + row.corpus.kusto + row.corpus.snowflake
            );
        }
        if rule.format == ruledex::rule::SourceFormat::Sentinel && !page.stages.is_empty() {
            sentinel_with_stages += 1;
        }
        pages += 1;
    }
    assert_eq!(pages, rules.len());
    assert!(pages > 3900, "{pages} pages");
    // Every Sentinel rule has a query; all but unreadable ones give stages.
    assert!(
        sentinel_with_stages >= 360,
        "{sentinel_with_stages} Sentinel pages with stages"
    );
}
