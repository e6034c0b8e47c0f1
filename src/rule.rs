//! The one rule model every source format is mapped onto by `crawl`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The query language of a rule's logic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Splunk SPL.
    Splunk,
    /// Microsoft Kusto (KQL), as used by Sentinel.
    Kusto,
    /// Snowflake SQL.
    Snowflake,
}

impl Language {
    /// Every language, in the order corpus counts are shown.
    pub const ALL: [Language; 3] = [Language::Splunk, Language::Kusto, Language::Snowflake];

    /// The lower-case name used in the index, in JSON and on pages.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Splunk => "splunk",
            Language::Kusto => "kusto",
            Language::Snowflake => "snowflake",
        }
    }

    /// Parses a lower-case name as written by [`Language::as_str`].
    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which repository layout a rule file came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// anvilogic armory: `logic` + `logic_format`.
    Armory,
    /// Splunk security_content: `search` + `tags.mitre_attack_id`.
    SecurityContent,
    /// Microsoft Sentinel: `query` + `relevantTechniques`.
    Sentinel,
}

impl SourceFormat {
    /// The top-level YAML key holding the rule's logic.
    pub fn logic_key(self) -> &'static str {
        match self {
            SourceFormat::Armory => "logic",
            SourceFormat::SecurityContent => "search",
            SourceFormat::Sentinel => "query",
        }
    }

    /// The public repository the format comes from, shown as a page's Source.
    pub fn repository(self) -> &'static str {
        match self {
            SourceFormat::Armory => "github.com/anvilogic-forge/armory",
            SourceFormat::SecurityContent => "github.com/splunk/security_content",
            SourceFormat::Sentinel => "github.com/Azure/Azure-Sentinel",
        }
    }
}

impl Rule {
    /// Re-anchors a diagnostic about the logic onto the rule file, so its
    /// line and column are the file's (what an editor jumps to); the
    /// position within the logic is kept as a note. Returns the diagnostic
    /// unchanged when the scalar cannot be followed.
    pub fn in_file(&self, d: crate::diag::Diagnostic) -> crate::diag::Diagnostic {
        use crate::crawl::position::logic_offset_in_file;
        use crate::diag::{Origin, Position, Span};
        let Some(span) = d.span.filter(|_| d.origin == Origin::Logic) else {
            return d;
        };
        let key = self.format.logic_key();
        let Some(start) = logic_offset_in_file(&self.yaml, key, &self.logic, span.start) else {
            return d;
        };
        let end = logic_offset_in_file(&self.yaml, key, &self.logic, span.end)
            .filter(|&e| e >= start)
            .unwrap_or(start + 1);
        let at = Position::of(&self.logic, span.start);
        let mut d = d.with_note(format!("logic line {}, column {}", at.line, at.column));
        d.origin = Origin::File;
        d.span = Some(Span::new(start, end));
        d.path = Some(self.path.clone());
        d
    }
}

/// A detection rule, whatever file format it was written in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The rule's id as written (armory ids such as `24804.45867`, UUIDs
    /// elsewhere).
    pub id: String,
    /// `title` (armory) or `name` (security_content, Sentinel).
    pub title: String,
    /// Free text; may be empty.
    pub description: String,
    /// The language of `logic`.
    pub language: Language,
    /// The query text, exactly as the YAML scalar holds it.
    pub logic: String,
    /// Which layout the file follows.
    pub format: SourceFormat,
    /// The file the rule was read from.
    pub path: PathBuf,
    /// ATT&CK technique ids as written, flattened from whatever nesting
    /// the file used (`T1046`, `t1059.001`, even malformed ones).
    pub technique_ids: Vec<String>,
    /// Tactic names as written (`discovery`, `Persistence`), from armory
    /// `techniques` prefixes or Sentinel `tactics`.
    pub tactics: Vec<String>,
    /// Technique names as written (armory `techniques` suffixes).
    pub technique_names: Vec<String>,
    /// armory `data_category`, security_content `data_source`, Sentinel
    /// `requiredDataConnectors` ids.
    pub data_categories: Vec<String>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// Sentinel `severity`, when given.
    pub severity: Option<String>,
    /// security_content `type` or Sentinel `kind`, when given.
    pub kind: Option<String>,
    /// The rule's YAML text as read (after BOM removal and lossy decoding),
    /// shown as the page's "Rule body".
    pub yaml: String,
}
