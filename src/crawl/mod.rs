//! Crawl catalog directories and map each rule file onto [`crate::rule::Rule`].
//!
//! The crawl is the first stage of the pipeline. It walks every catalog
//! directory, reads `.yml`/`.yaml` files and `macros.conf` files in
//! parallel, recognises the three source formats by their keys, and
//! gathers every problem as a positioned [`Diagnostic`] instead of
//! stopping: one bad file never ends a build.
//!
//! Format recognition, in order:
//! - a file under a `macros/` directory with a `definition` key is a
//!   macro definition ([`crate::macros`]);
//! - `logic` or `logic_format` → armory ([`armory`]);
//! - `search` → Splunk security_content ([`security_content`]);
//! - `query` → Microsoft Sentinel ([`sentinel`]);
//! - anything else is skipped as `not-a-rule` (a note, not an error).
//!
//! Skipped files are counted in [`CrawlStats::skipped`] under the code of
//! the diagnostic that skipped them (`invalid-yaml`, `tab-indentation`,
//! `duplicate-key`, `not-a-rule`, `missing-id`, `duplicate-id`,
//! `missing-logic`, `unknown-language`, `invalid-macro`, `io-error`).
//!
//! # Determinism
//! Files are processed in path order, so when two files share an id the
//! one whose path sorts first is kept and the other is skipped as
//! `duplicate-id`. Rules, macros and diagnostics come out in path order.

// `Diagnostic` (128+ bytes) is the error type of the crawl API; errors
// are one per bad file, so boxing them would buy nothing measurable.
#![allow(clippy::result_large_err)]

pub mod armory;
mod fields;
pub mod position;
pub mod security_content;
pub mod sentinel;
pub mod yaml;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use walkdir::WalkDir;

use crate::diag::{Diagnostic, Severity};
use crate::macros::{self, MacroDef, MacroSet};
use crate::rule::{Language, Rule};
use fields::Fields;

/// Everything one crawl found: rules, macros, and what went wrong.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Crawl {
    /// Rules that were read, in path order, ids unique.
    pub rules: Vec<Rule>,
    /// Macro definitions, in path order (then file order).
    pub macros: Vec<MacroDef>,
    /// Every finding, in path order.
    pub diagnostics: Vec<Diagnostic>,
    /// Counts for the build summary.
    pub stats: CrawlStats,
}

/// Counts for the build summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CrawlStats {
    /// Candidate files (`.yml`, `.yaml`, `macros.conf`) whose bytes were read.
    pub files_read: usize,
    /// Rules kept, per language.
    pub rules_by_language: BTreeMap<Language, usize>,
    /// Files not turned into a rule or macro, by reason code.
    pub skipped: BTreeMap<String, usize>,
    /// How many warning diagnostics were produced.
    pub warnings: usize,
}

impl Crawl {
    /// The macros indexed for lookup (first definition by path wins).
    pub fn macro_set(&self) -> MacroSet {
        MacroSet::new(self.macros.clone())
    }

    /// Whether any diagnostic is an error (the build then exits 2).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

impl CrawlStats {
    /// Rules kept, all languages together.
    pub fn rules_total(&self) -> usize {
        self.rules_by_language.values().sum()
    }

    /// Files skipped, all reasons together.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// What reading one file produced.
enum Outcome {
    /// A rule, with any warnings.
    Rule(Box<Rule>, Vec<Diagnostic>),
    /// Macro definitions (a `macros.conf` or a macro YAML), with findings.
    Macros(Vec<MacroDef>, Vec<Diagnostic>),
    /// Nothing usable: the reason code and the findings.
    Skipped(String, Vec<Diagnostic>),
}

/// Crawls `dirs` (each walked recursively) and returns every rule, macro
/// and diagnostic found. Never panics on bad input; a directory that
/// cannot be read becomes an `io-error` diagnostic.
pub fn crawl(dirs: &[PathBuf]) -> Crawl {
    let walked: Vec<(Vec<PathBuf>, Vec<Diagnostic>)> = dirs.par_iter().map(|d| walk(d)).collect();
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for (paths, diags) in walked {
        files.extend(paths);
        diagnostics.extend(diags);
    }
    // The same catalog given twice (or nested catalogs) must not make
    // every rule a duplicate of itself.
    files.sort();
    files.dedup();

    let outcomes: Vec<(PathBuf, Outcome)> = files
        .into_par_iter()
        .map(|p| {
            let o = read_path(&p);
            (p, o)
        })
        .collect();

    let mut out = Crawl::default();
    let mut seen_ids: HashMap<String, PathBuf> = HashMap::new();
    for (path, outcome) in outcomes {
        if !matches!(&outcome, Outcome::Skipped(r, _) if r == "io-error") {
            out.stats.files_read += 1;
        }
        match outcome {
            Outcome::Rule(rule, diags) => {
                diagnostics.extend(diags);
                if let Some(first) = seen_ids.get(&rule.id) {
                    diagnostics.push(duplicate_id(&rule, first));
                    *out.stats.skipped.entry("duplicate-id".into()).or_default() += 1;
                    continue;
                }
                seen_ids.insert(rule.id.clone(), path);
                *out.stats
                    .rules_by_language
                    .entry(rule.language)
                    .or_default() += 1;
                out.rules.push(*rule);
            }
            Outcome::Macros(defs, diags) => {
                diagnostics.extend(diags);
                out.macros.extend(defs);
            }
            Outcome::Skipped(reason, diags) => {
                log::debug!("skipped {}: {reason}", path.display());
                diagnostics.extend(diags);
                *out.stats.skipped.entry(reason).or_default() += 1;
            }
        }
    }
    diagnostics.extend(duplicate_macros(&out.macros));
    out.stats.warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    out.diagnostics = diagnostics;
    out
}

/// Lists the candidate files under `dir`, skipping hidden entries (such as
/// `.git` or `.github`) below the root.
fn walk(dir: &Path) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    let entries = WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in entries {
        match entry {
            Ok(e) if is_candidate(e.path()) && is_file(&e) => {
                if e.path().to_str().is_none() {
                    diags.push(Diagnostic::file(
                        Severity::Warning,
                        "non-utf8-path",
                        "path is not valid UTF-8; it is shown with U+FFFD in reports",
                        e.path(),
                        None,
                    ));
                }
                files.push(e.into_path());
            }
            Ok(_) => {}
            Err(err) => {
                let path = err.path().unwrap_or(dir).to_path_buf();
                diags.push(Diagnostic::file(
                    Severity::Error,
                    "io-error",
                    format!("cannot read directory entry: {err}"),
                    path,
                    None,
                ));
            }
        }
    }
    (files, diags)
}

/// Whether the entry is a regular file, or a symlink to one.
///
/// Symlinked files are read, but symlinked directories are not walked
/// into: a link to `/` or a link loop must not turn a crawl into a scan of
/// the whole disk.
fn is_file(e: &walkdir::DirEntry) -> bool {
    let t = e.file_type();
    t.is_file() || (t.is_symlink() && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()))
}

/// Whether the crawler reads this file: YAML by extension, or a
/// `macros.conf`.
fn is_candidate(path: &Path) -> bool {
    if path.file_name() == Some(OsStr::new("macros.conf")) {
        return true;
    }
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Reads and classifies one file; an unreadable file is skipped as
/// `io-error`.
fn read_path(path: &Path) -> Outcome {
    match std::fs::read(path) {
        Ok(bytes) => classify(path, &bytes),
        Err(e) => Outcome::Skipped(
            "io-error".into(),
            vec![Diagnostic::file(
                Severity::Error,
                "io-error",
                format!("cannot read file: {e}"),
                path,
                None,
            )],
        ),
    }
}

/// Decodes, parses and maps one file's bytes.
fn classify(path: &Path, bytes: &[u8]) -> Outcome {
    let decoded = yaml::decode(bytes);
    let mut diags: Vec<Diagnostic> = yaml::decode_warning(&decoded, path).into_iter().collect();
    let text = decoded.text.as_str();

    if path.file_name() == Some(OsStr::new("macros.conf")) {
        let (defs, more) = macros::parse_macros_conf(text, path);
        diags.extend(more);
        return Outcome::Macros(defs, diags);
    }

    let value = match yaml::parse_document(text, path) {
        Ok(v) => v,
        Err(d) => return skipped(d, diags),
    };
    let Some(map) = value.as_mapping() else {
        let d = Diagnostic::file(
            Severity::Note,
            "not-a-rule",
            "YAML file is not a mapping, so not a rule; skipped",
            path,
            None,
        );
        return skipped(d, diags);
    };

    if in_macros_dir(path) && map.contains_key("definition") {
        return match macros::macro_from_value(&value, text, path) {
            Ok(m) => Outcome::Macros(vec![m], diags),
            Err(d) => skipped(d, diags),
        };
    }

    let mut f = Fields::new(map, text, path);
    let result = if armory::detect(&f) {
        armory::to_rule(&mut f)
    } else if security_content::detect(&f) {
        security_content::to_rule(&mut f)
    } else if sentinel::detect(&f) {
        sentinel::to_rule(&mut f)
    } else {
        Err(Diagnostic::file(
            Severity::Note,
            "not-a-rule",
            "YAML file has none of `logic`, `search` or `query`, so it is not a rule; skipped",
            path,
            None,
        ))
    };
    diags.append(&mut f.diags);
    match result {
        Ok(rule) => Outcome::Rule(Box::new(rule), diags),
        Err(d) => skipped(d, diags),
    }
}

/// A skipped outcome whose reason is `d`'s code.
fn skipped(d: Diagnostic, mut diags: Vec<Diagnostic>) -> Outcome {
    let reason = d.code.clone();
    diags.push(d);
    Outcome::Skipped(reason, diags)
}

/// Whether any directory above the file is named `macros`.
fn in_macros_dir(path: &Path) -> bool {
    path.parent()
        .is_some_and(|p| p.components().any(|c| c.as_os_str() == "macros"))
}

/// The error for a rule whose id an earlier file (by path order) took.
fn duplicate_id(rule: &Rule, first: &Path) -> Diagnostic {
    Diagnostic::file(
        Severity::Error,
        "duplicate-id",
        format!(
            "rule id `{}` is already used by {}; skipped",
            rule.id,
            first.display()
        ),
        &rule.path,
        yaml::top_level_key_span(&rule.yaml, "id"),
    )
    .with_note(format!(
        "kept {}, skipped {} (the first by path order wins)",
        first.display(),
        rule.path.display()
    ))
}

/// Warnings for macros defined twice with the same arity (the first, by
/// path order, wins in [`crate::macros::MacroSet`]).
fn duplicate_macros(defs: &[MacroDef]) -> Vec<Diagnostic> {
    let mut first: HashMap<(&str, usize), &Path> = HashMap::new();
    let mut out = Vec::new();
    for d in defs {
        match first.get(&(d.name.as_str(), d.arity())) {
            Some(p) => out.push(Diagnostic::file(
                Severity::Warning,
                "duplicate-macro",
                format!(
                    "macro `{}` with {} argument(s) is also defined in {}; that definition is used",
                    d.name,
                    d.arity(),
                    p.display()
                ),
                &d.path,
                None,
            )),
            None => {
                first.insert((d.name.as_str(), d.arity()), &d.path);
            }
        }
    }
    out
}

/// Reads one rule file's bytes (for tests and single-file tools).
///
/// `Ok` holds the rule and its warnings; `Err` holds the diagnostics that
/// explain why no rule came out (the last one is the reason). A macro
/// file gives `Err` with a `not-a-rule` note.
pub fn read_rule_file(
    path: &Path,
    bytes: &[u8],
) -> Result<(Rule, Vec<Diagnostic>), Vec<Diagnostic>> {
    match classify(path, bytes) {
        Outcome::Rule(rule, diags) => Ok((*rule, diags)),
        Outcome::Skipped(_, diags) => Err(diags),
        Outcome::Macros(_, mut diags) => {
            diags.push(Diagnostic::file(
                Severity::Note,
                "not-a-rule",
                "file holds macro definitions, not a rule",
                path,
                None,
            ));
            Err(diags)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> (Rule, Vec<Diagnostic>) {
        match read_rule_file(Path::new("r.yml"), text.as_bytes()) {
            Ok(r) => r,
            Err(d) => panic!("no rule: {d:?}"),
        }
    }

    fn reason(path: &str, text: &[u8]) -> String {
        match read_rule_file(Path::new(path), text) {
            Ok((r, _)) => panic!("expected a skip, got rule {}", r.id),
            Err(d) => d.last().map(|d| d.code.clone()).unwrap_or_default(),
        }
    }

    #[test]
    fn armory_technique_shapes_flatten() {
        let (r, d) = rule(
            "id: '1.2'\ntitle: T\nlogic_format: Splunk\nlogic: index=x\ntechniques:\n- discovery:network service discovery\n- Execution:Command: PowerShell\ntechnique_id:\n- - T1046\n- t1059.001\ndata_category: null\nreferences:\n- https://a\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(r.language, Language::Splunk);
        assert_eq!(r.technique_ids, vec!["T1046", "t1059.001"]);
        assert_eq!(r.tactics, vec!["discovery", "Execution"]);
        assert_eq!(
            r.technique_names,
            vec!["network service discovery", "Command: PowerShell"]
        );
        assert!(r.data_categories.is_empty());
        assert_eq!(r.references, vec!["https://a"]);
        let (r, _) = rule(
            "id: 7\ntitle: T\nlogic_format: SNOWFLAKE\nlogic: select 1\ntechnique_id: T1003\n",
        );
        assert_eq!(r.language, Language::Snowflake);
        assert_eq!(r.technique_ids, vec!["T1003"]);
        let (r, _) =
            rule("id: 7\ntitle: T\nlogic_format: snowflake\nlogic: select 1\ntechnique_id: null\n");
        assert!(r.technique_ids.is_empty());
    }

    #[test]
    fn numeric_id_keeps_spelling() {
        let (r, _) = rule("id: 18093.30\ntitle: T\nlogic_format: Splunk\nlogic: x\n");
        assert_eq!(r.id, "18093.30");
    }

    #[test]
    fn security_content_and_sentinel_fields() {
        let (r, _) = rule(
            "name: N\nid: abc\ntype: TTP\ndata_source:\n- Sysmon EventID 1\nsearch: '| tstats count'\ntags:\n  mitre_attack_id:\n  - T1560.001\n",
        );
        assert_eq!(r.format, crate::rule::SourceFormat::SecurityContent);
        assert_eq!(
            (r.title.as_str(), r.logic.as_str()),
            ("N", "| tstats count")
        );
        assert_eq!(r.technique_ids, vec!["T1560.001"]);
        assert_eq!(r.data_categories, vec!["Sysmon EventID 1"]);
        assert_eq!(r.kind.as_deref(), Some("TTP"));

        let (r, _) = rule(
            "id: u\nname: S\nseverity: Low\nrequiredDataConnectors:\n  - connectorId: SecurityEvents\n    dataTypes:\n      - SecurityEvent\ntactics:\n  - CredentialAccess\nrelevantTechniques:\n  - T1110\nquery: |\n  SecurityEvent\n  | where EventID == 4625\n",
        );
        assert_eq!(r.language, Language::Kusto);
        assert_eq!(r.data_categories, vec!["SecurityEvents"]);
        assert_eq!(r.tactics, vec!["CredentialAccess"]);
        assert_eq!(r.technique_ids, vec!["T1110"]);
        assert_eq!(r.severity.as_deref(), Some("Low"));
        assert_eq!(r.logic, "SecurityEvent\n| where EventID == 4625\n");
    }

    #[test]
    fn skip_reasons() {
        assert_eq!(reason("r.yml", b"title: x\nfoo: 1\n"), "not-a-rule");
        assert_eq!(reason("r.yml", b"- a\n"), "not-a-rule");
        assert_eq!(reason("r.yml", b""), "not-a-rule");
        assert_eq!(
            reason("r.yml", b"title: x\nlogic_format: Splunk\nlogic: a\n"),
            "missing-id"
        );
        assert_eq!(
            reason("r.yml", b"id: ''\nname: x\nquery: a\n"),
            "missing-id"
        );
        assert_eq!(
            reason("r.yml", b"id: 1\nlogic_format: cobol\nlogic: a\n"),
            "unknown-language"
        );
        assert_eq!(
            reason("r.yml", b"id: 1\nlogic_format: Splunk\nlogic:\n"),
            "missing-logic"
        );
        assert_eq!(reason("r.yml", b"id: [\n"), "invalid-yaml");
        assert_eq!(
            reason("macros/m.yml", b"name: m\ndefinition: x\n"),
            "not-a-rule"
        );
    }

    #[test]
    fn macro_file_outside_macros_dir_is_not_a_rule() {
        assert_eq!(reason("x/m.yml", b"name: m\ndefinition: x\n"), "not-a-rule");
    }
}
