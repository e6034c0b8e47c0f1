//! Coverage by ATT&CK tactic and technique: which rules credit which
//! technique, under which tactics, and what in their mapping is wrong.
//!
//! # How rules are credited
//!
//! - **Ids.** Every entry of [`Rule::technique_ids`] goes through
//!   [`normalize_id`]; an entry that is not an id but holds one as a word
//!   (`execution:T1059.001`) is credited with an `embedded-id` note, and
//!   anything else (`t1059_001`) is a `malformed-id` finding with the
//!   rule's path.
//! - **Names.** Only when a rule has no usable id, its
//!   [`Rule::technique_names`] are looked up in the bundle; a
//!   `tactic:technique[:sub-technique]` string also contributes its tactic.
//! - **Revoked** ids (T1086) are reported and credited to the end of their
//!   `revoked-by` chain (T1059.001). **Deprecated** ids (T1064) are reported
//!   and credited nowhere, so they never count in a score. Ids the bundle
//!   does not know are reported and not credited.
//! - **Roll-up.** A rule crediting a sub-technique also credits its parent
//!   (unless [`CoverageOptions::roll_up`] is off). A parent's score is the
//!   number of *distinct* rules naming the parent or any of its
//!   sub-techniques, each rule once; [`TechniqueCoverage::direct`] counts
//!   those naming the parent itself.
//! - **Tactics.** A rule that names no tactic credits the technique under
//!   every tactic of its kill-chain phases. A rule that names tactics
//!   credits only the intersection of those with the kill-chain phases; if
//!   the intersection is empty the rule's tactics contradict ATT&CK, which
//!   is reported (`tactic-mismatch`), and the kill-chain phases are used.
//!   Without a bundle the rule's own tactics are used as written.
//!
//! Without a bundle ids are credited as written (after normalising);
//! names, kill-chain tactics, revocations, unknown ids and gaps need it,
//! and [`Coverage::notes`] says so.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use super::ids::{embedded_ids, name_key, normalize_id, parent_id, IdProblem, ENTERPRISE_TACTICS};
use super::{Attack, Resolution, Tactic};
use crate::diag::{Diagnostic, Severity, Span};
use crate::rule::{Language, Rule};

/// What to include in a coverage report.
#[derive(Clone, Debug)]
pub struct CoverageOptions {
    /// Keep only techniques on one of these platforms (case-insensitive,
    /// e.g. `windows`); empty keeps all. Needs the bundle.
    pub platforms: Vec<String>,
    /// Keep only these tactics (id, shortname or name in any spelling);
    /// empty keeps all.
    pub tactics: Vec<String>,
    /// Credit a sub-technique's rules to its parent as well.
    pub roll_up: bool,
    /// List uncovered sub-techniques among the gaps, not only techniques.
    pub gap_subtechniques: bool,
}

impl Default for CoverageOptions {
    fn default() -> Self {
        CoverageOptions {
            platforms: Vec::new(),
            tactics: Vec::new(),
            roll_up: true,
            gap_subtechniques: true,
        }
    }
}

/// Rule counts per language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LanguageCounts {
    /// Splunk SPL rules.
    pub splunk: usize,
    /// Kusto (KQL) rules.
    pub kusto: usize,
    /// Snowflake SQL rules.
    pub snowflake: usize,
}

impl LanguageCounts {
    /// The count for one language.
    pub fn get(&self, language: Language) -> usize {
        match language {
            Language::Splunk => self.splunk,
            Language::Kusto => self.kusto,
            Language::Snowflake => self.snowflake,
        }
    }

    /// Counts one more rule in `language`.
    fn add(&mut self, language: Language) {
        match language {
            Language::Splunk => self.splunk += 1,
            Language::Kusto => self.kusto += 1,
            Language::Snowflake => self.snowflake += 1,
        }
    }

    /// The sum over all languages.
    pub fn total(&self) -> usize {
        self.splunk + self.kusto + self.snowflake
    }
}

/// How a rule came to credit a technique.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "via", rename_all = "kebab-case")]
pub enum Via {
    /// The rule names the technique's id.
    Id,
    /// The rule names a revoked id that this technique replaced.
    Revoked {
        /// The revoked id as normalised (`T1086`).
        from: String,
    },
    /// The rule holds the id inside a longer string.
    Embedded {
        /// The string as written.
        raw: String,
    },
    /// The rule names the technique only by name.
    Name {
        /// The name as written.
        name: String,
    },
    /// The rule credits a sub-technique of this technique (roll-up).
    SubTechnique {
        /// The sub-technique's id.
        id: String,
    },
}

impl Via {
    /// Whether the rule credits the technique itself rather than a child.
    pub fn is_direct(&self) -> bool {
        !matches!(self, Via::SubTechnique { .. })
    }
}

/// One rule crediting a technique.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleCredit {
    /// The rule's id.
    pub id: String,
    /// The rule's language.
    pub language: Language,
    /// How the rule credits the technique.
    #[serde(flatten)]
    pub via: Via,
}

/// The rules crediting one technique under one tactic (a matrix cell).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TacticCell {
    /// The tactic shortname; `None` when no tactic is known (no bundle and
    /// the rule named none).
    pub tactic: Option<String>,
    /// Distinct rules in this cell.
    pub score: usize,
    /// Of those, rules naming the technique itself.
    pub direct: usize,
    /// Rules per language.
    pub by_language: LanguageCounts,
    /// The rules' ids, sorted.
    pub rules: Vec<String>,
}

/// The rules crediting one technique, over all its tactics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TechniqueCoverage {
    /// The technique id.
    pub id: String,
    /// The ATT&CK name (needs the bundle).
    pub name: Option<String>,
    /// The parent technique, for a sub-technique.
    pub parent: Option<String>,
    /// The technique's page.
    pub url: Option<String>,
    /// Distinct rules crediting it, directly or through sub-techniques.
    pub score: usize,
    /// Of those, rules naming the technique itself.
    pub direct: usize,
    /// Rules per language.
    pub by_language: LanguageCounts,
    /// Each crediting rule once, with how it credits (direct wins over
    /// roll-up), sorted by rule id.
    pub rules: Vec<RuleCredit>,
    /// The cells, in matrix order.
    pub tactics: Vec<TacticCell>,
}

/// Coverage summed over one tactic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TacticCoverage {
    /// The tactic id (`TA0007`); `None` for the no-tactic bucket.
    pub id: Option<String>,
    /// The shortname (`discovery`), or `(none)`.
    pub shortname: String,
    /// The display name.
    pub name: String,
    /// Distinct rules crediting any technique under this tactic.
    pub rules: usize,
    /// Those rules per language.
    pub by_language: LanguageCounts,
    /// Techniques (not sub-techniques) with at least one rule.
    pub techniques_covered: usize,
    /// Active techniques in the tactic, after the platform filter (needs
    /// the bundle).
    pub techniques_total: Option<usize>,
    /// Sub-techniques with at least one rule.
    pub subtechniques_covered: usize,
    /// Active sub-techniques in the tactic, after the platform filter.
    pub subtechniques_total: Option<usize>,
}

/// A technique no rule credits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The technique id.
    pub id: String,
    /// The ATT&CK name.
    pub name: String,
    /// The parent, for a sub-technique.
    pub parent: Option<String>,
    /// Its tactics (after the tactic filter), in matrix order.
    pub tactics: Vec<String>,
    /// Its platforms.
    pub platforms: Vec<String>,
}

/// The kind of a mapping finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The id is revoked; `replacement` says what it was credited to.
    RevokedTechnique,
    /// The id is deprecated and left out of every score.
    DeprecatedTechnique,
    /// A well-formed id that the bundle does not hold.
    UnknownTechnique,
    /// Not a technique id (`t1059_001`).
    MalformedId,
    /// An id found inside a longer string and credited.
    EmbeddedId,
    /// A technique name the bundle does not hold.
    UnknownTechniqueName,
    /// A tactic name that is not an ATT&CK tactic.
    UnknownTactic,
    /// The rule's tactics and the technique's kill-chain phases share none.
    TacticMismatch,
}

impl FindingKind {
    /// The kebab-case code used in diagnostics and JSON.
    pub fn code(self) -> &'static str {
        match self {
            FindingKind::RevokedTechnique => "revoked-technique",
            FindingKind::DeprecatedTechnique => "deprecated-technique",
            FindingKind::UnknownTechnique => "unknown-technique",
            FindingKind::MalformedId => "malformed-id",
            FindingKind::EmbeddedId => "embedded-id",
            FindingKind::UnknownTechniqueName => "unknown-technique-name",
            FindingKind::UnknownTactic => "unknown-tactic",
            FindingKind::TacticMismatch => "tactic-mismatch",
        }
    }

    /// How serious the finding is: a lost mapping is a warning, a repaired
    /// or merely odd one a note.
    pub fn severity(self) -> Severity {
        match self {
            FindingKind::EmbeddedId | FindingKind::TacticMismatch => Severity::Note,
            _ => Severity::Warning,
        }
    }
}

/// Something wrong or repaired in one rule's ATT&CK mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The rule's id.
    pub rule: String,
    /// The rule's file.
    pub path: PathBuf,
    /// The id, name or tactic as written.
    pub raw: String,
    /// What the rule was credited with instead, if anything.
    pub replacement: Option<String>,
    /// One sentence, no trailing period.
    pub message: String,
    /// Where `raw` first appears in the rule's YAML text, when found.
    pub span: Option<Span>,
}

impl Finding {
    /// The finding as a diagnostic about the rule's file; its span indexes
    /// [`Rule::yaml`].
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::file(
            self.kind.severity(),
            self.kind.code(),
            self.message.clone(),
            self.path.clone(),
            self.span,
        );
        d.notes.push(format!("rule {}", self.rule));
        d
    }
}

/// Rule totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleTotals {
    /// Rules considered.
    pub rules: usize,
    /// Rules crediting at least one technique.
    pub mapped: usize,
    /// Rules crediting none.
    pub unmapped: usize,
}

/// The coverage report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Whether an ATT&CK bundle was used.
    pub bundle: bool,
    /// The ATT&CK version, when the bundle says.
    pub attack_version: Option<String>,
    /// Rule totals.
    pub totals: RuleTotals,
    /// Per tactic, in matrix order (only tactics with rules when there is
    /// no bundle).
    pub tactics: Vec<TacticCoverage>,
    /// Covered techniques, by id.
    pub techniques: Vec<TechniqueCoverage>,
    /// Active techniques no rule credits, by id (empty without a bundle).
    pub gaps: Vec<Gap>,
    /// Mapping findings, by path.
    pub findings: Vec<Finding>,
    /// Platforms the report was filtered to.
    pub platforms: Vec<String>,
    /// Caveats about this report (e.g. what needs the bundle).
    pub notes: Vec<String>,
}

/// The tactics known to a run (the bundle's, or the built-in Enterprise
/// list) with a lookup by any spelling.
struct TacticIndex {
    /// In matrix order.
    list: Vec<Tactic>,
    /// [`name_key`] of each id, shortname and name → index into `list`.
    keys: HashMap<String, usize>,
}

impl TacticIndex {
    fn new(attack: Option<&Attack>) -> Self {
        let list: Vec<Tactic> = match attack {
            Some(a) => a.tactics().to_vec(),
            None => ENTERPRISE_TACTICS
                .iter()
                .map(|(id, short, name)| Tactic {
                    id: id.to_string(),
                    shortname: short.to_string(),
                    name: name.to_string(),
                })
                .collect(),
        };
        let mut keys = HashMap::new();
        for (i, t) in list.iter().enumerate() {
            for k in [&t.id, &t.shortname, &t.name] {
                keys.entry(name_key(k)).or_insert(i);
            }
        }
        TacticIndex { list, keys }
    }

    /// Looks a tactic up by id, shortname or name in any spelling.
    fn find(&self, name: &str) -> Option<&Tactic> {
        self.keys.get(&name_key(name)).map(|&i| &self.list[i])
    }
}

/// Keys under which the corpora list ATT&CK mappings; a finding points at
/// an occurrence after the first of them, so a technique id quoted in the
/// description is not taken for the mapping.
const MAPPING_KEYS: [&str; 6] = [
    "technique_id:",
    "techniques:",
    "mitre_attack_id:",
    "relevantTechniques:",
    "tactics:",
    "technique_names:",
];

/// The byte range of `needle` in `text` to point a finding at: the first
/// whole-word occurrence after the mapping keys, else the first anywhere.
fn locate(text: &str, needle: &str) -> Option<Span> {
    let needle = needle.trim();
    if needle.is_empty() {
        return None;
    }
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let whole_word = |i: usize| {
        !is_word(text[..i].chars().next_back()) && !is_word(text[i + needle.len()..].chars().next())
    };
    let from = MAPPING_KEYS
        .iter()
        .filter_map(|k| text.find(k))
        .min()
        .unwrap_or(0);
    let found = text[from..]
        .match_indices(needle)
        .map(|(i, _)| from + i)
        .find(|&i| whole_word(i))
        .or_else(|| {
            text.match_indices(needle)
                .map(|(i, _)| i)
                .find(|&i| whole_word(i))
        })
        .or_else(|| text.find(needle));
    found.map(|i| Span::new(i, i + needle.len()))
}

/// Collects one rule's credits and findings.
struct RuleMapper<'a> {
    attack: Option<&'a Attack>,
    tactics: &'a TacticIndex,
    rule: &'a Rule,
    findings: Vec<Finding>,
    /// Tactic shortnames the rule names.
    rule_tactics: BTreeSet<String>,
    /// Technique id → how it is credited (first way wins).
    credits: Vec<(String, Via)>,
}

impl<'a> RuleMapper<'a> {
    fn finding(
        &mut self,
        kind: FindingKind,
        raw: &str,
        replacement: Option<String>,
        message: String,
    ) {
        self.findings.push(Finding {
            kind,
            rule: self.rule.id.clone(),
            path: self.rule.path.clone(),
            raw: raw.trim().to_string(),
            replacement,
            message,
            span: locate(&self.rule.yaml, raw),
        });
    }

    fn add_tactic(&mut self, raw: &str) -> bool {
        match self.tactics.find(raw) {
            Some(t) => {
                self.rule_tactics.insert(t.shortname.clone());
                true
            }
            None => false,
        }
    }

    /// Credits a normalised id, following revocations; `via` says how the
    /// rule wrote it.
    fn credit_id(&mut self, raw: &str, id: String, via: Via) {
        let Some(attack) = self.attack else {
            self.credits.push((id, via));
            return;
        };
        match attack.resolve(&id) {
            Resolution::Active(t) => self.credits.push((t.id.clone(), via)),
            Resolution::Revoked { from, to: Some(to) } => {
                let message = format!(
                    "{} ({}) is revoked by ATT&CK; counted as {} ({})",
                    from.id, from.name, to.id, to.name
                );
                self.finding(
                    FindingKind::RevokedTechnique,
                    raw,
                    Some(to.id.clone()),
                    message,
                );
                if to.deprecated {
                    let message = format!("{} ({}) is deprecated; not counted", to.id, to.name);
                    self.finding(FindingKind::DeprecatedTechnique, raw, None, message);
                } else {
                    let via = match via {
                        Via::Id => Via::Revoked { from: id },
                        other => other,
                    };
                    self.credits.push((to.id.clone(), via));
                }
            }
            Resolution::Revoked { from, to: None } => {
                let message = format!(
                    "{} ({}) is revoked by ATT&CK with no replacement; not counted",
                    from.id, from.name
                );
                self.finding(FindingKind::RevokedTechnique, raw, None, message);
            }
            Resolution::Deprecated(t) => {
                let message = format!(
                    "{} ({}) is deprecated by ATT&CK; left out of the score",
                    t.id, t.name
                );
                self.finding(FindingKind::DeprecatedTechnique, raw, None, message);
            }
            Resolution::Unknown => {
                let message = format!("{id} is not an ATT&CK Enterprise technique");
                self.finding(FindingKind::UnknownTechnique, raw, None, message);
            }
        }
    }

    /// Reads the rule's ids, then (when none is usable) its names.
    fn map(&mut self, notes: &mut NoteCounts) {
        for raw in &self.rule.tactics {
            if !self.add_tactic(raw) && !raw.trim().is_empty() {
                let message = format!("`{}` is not an ATT&CK tactic", raw.trim());
                self.finding(FindingKind::UnknownTactic, raw, None, message);
            }
        }

        let mut any_id = false;
        for raw in &self.rule.technique_ids {
            match normalize_id(raw) {
                Ok(id) => {
                    any_id = true;
                    self.credit_id(raw, id, Via::Id);
                }
                // Empty list items (`- ` in YAML) carry no mapping at all.
                Err(IdProblem::Empty) => {}
                Err(problem @ IdProblem::Malformed(_)) => {
                    let found = embedded_ids(raw);
                    if found.is_empty() {
                        self.finding(FindingKind::MalformedId, raw, None, problem.to_string());
                        continue;
                    }
                    any_id = true;
                    let message =
                        format!("`{}` is not an id; using {}", raw.trim(), found.join(", "));
                    self.finding(
                        FindingKind::EmbeddedId,
                        raw,
                        Some(found.join(", ")),
                        message,
                    );
                    // A tactic written next to the id (`execution:T1059`).
                    for part in raw.split([':', '/', '|']) {
                        self.add_tactic(part);
                    }
                    for id in found {
                        let via = Via::Embedded {
                            raw: raw.trim().to_string(),
                        };
                        self.credit_id(raw, id, via);
                    }
                }
            }
        }
        if any_id {
            return;
        }

        for raw in &self.rule.technique_names {
            let name = raw.trim();
            if name.is_empty() {
                continue;
            }
            let Some(attack) = self.attack else {
                notes.names_without_bundle += 1;
                continue;
            };
            // `tactic:technique[:sub]`: peel off leading tactic names.
            let mut parts: Vec<&str> = name.split(':').collect();
            while parts.len() > 1 && self.tactics.find(parts[0]).is_some() {
                self.add_tactic(parts[0]);
                parts.remove(0);
            }
            let technique_part = parts.join(":");
            match attack.technique_by_name(&technique_part) {
                Some(t) => {
                    let via = Via::Name {
                        name: name.to_string(),
                    };
                    let id = t.id.clone();
                    self.credit_id(raw, id, via);
                }
                None => {
                    let message = format!("`{name}` is not the name of an ATT&CK technique");
                    self.finding(FindingKind::UnknownTechniqueName, raw, None, message);
                }
            }
        }
    }

    /// The tactics a credit to `id` lands under, per the module rules.
    fn tactics_for(&mut self, id: &str, raw_for_finding: &str) -> Vec<Option<String>> {
        let kill_chain: Vec<String> = self
            .attack
            .and_then(|a| a.technique(id))
            .map(|t| t.tactics.clone())
            .unwrap_or_default();
        if kill_chain.is_empty() {
            if self.rule_tactics.is_empty() {
                return vec![None];
            }
            return self.rule_tactics.iter().cloned().map(Some).collect();
        }
        if self.rule_tactics.is_empty() {
            return kill_chain.into_iter().map(Some).collect();
        }
        let both: Vec<Option<String>> = kill_chain
            .iter()
            .filter(|t| self.rule_tactics.contains(*t))
            .cloned()
            .map(Some)
            .collect();
        if !both.is_empty() {
            return both;
        }
        let message = format!(
            "the rule's tactics ({}) are not tactics of {id} ({}); counted under the latter",
            self.rule_tactics
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            kill_chain.join(", ")
        );
        self.finding(FindingKind::TacticMismatch, raw_for_finding, None, message);
        kill_chain.into_iter().map(Some).collect()
    }
}

/// Counts behind the report's notes.
#[derive(Default)]
struct NoteCounts {
    names_without_bundle: usize,
}

/// The rules in one cell: rule index → how it credits.
type CellRules = BTreeMap<usize, Via>;

/// Accumulates credits: (tactic, technique) → rules.
type Cells = BTreeMap<(Option<String>, String), CellRules>;

/// Maps `rules` onto ATT&CK and sums the result per technique and tactic.
///
/// See the module documentation for the crediting rules. Filters in
/// `opts` narrow techniques, tactics and gaps; findings always cover every
/// rule.
pub fn coverage(rules: &[Rule], attack: Option<&Attack>, opts: &CoverageOptions) -> Coverage {
    let tactics = TacticIndex::new(attack);
    let mut notes = Vec::new();
    let mut counts = NoteCounts::default();
    let mut findings = Vec::new();
    let mut cells: Cells = BTreeMap::new();
    let mut mapped = 0;

    for (ri, rule) in rules.iter().enumerate() {
        let mut m = RuleMapper {
            attack,
            tactics: &tactics,
            rule,
            findings: Vec::new(),
            rule_tactics: BTreeSet::new(),
            credits: Vec::new(),
        };
        m.map(&mut counts);
        let credits = std::mem::take(&mut m.credits);
        if !credits.is_empty() {
            mapped += 1;
        }
        let mut seen = BTreeSet::new();
        for (id, via) in credits {
            if !seen.insert(id.clone()) {
                continue;
            }
            let cell_tactics = m.tactics_for(&id, &id);
            for t in &cell_tactics {
                let slot = cells.entry((t.clone(), id.clone())).or_default();
                // A direct credit beats a roll-up; otherwise first wins.
                match slot.get(&ri) {
                    Some(existing) if existing.is_direct() => {}
                    _ => {
                        slot.insert(ri, via.clone());
                    }
                }
            }
            if !opts.roll_up {
                continue;
            }
            let parent = match attack {
                Some(a) => a.technique(&id).and_then(|t| t.parent.clone()),
                None => parent_id(&id).map(str::to_string),
            };
            let Some(parent) = parent else { continue };
            let parent_chain: Vec<String> = attack
                .and_then(|a| a.technique(&parent))
                .map(|t| t.tactics.clone())
                .unwrap_or_default();
            for t in &cell_tactics {
                // A sub-technique's tactic the parent lacks goes to all of
                // the parent's tactics instead.
                let targets: Vec<Option<String>> = match t {
                    Some(t) if !parent_chain.is_empty() && !parent_chain.contains(t) => {
                        parent_chain.iter().cloned().map(Some).collect()
                    }
                    other => vec![other.clone()],
                };
                for target in targets {
                    let slot = cells.entry((target, parent.clone())).or_default();
                    let via = Via::SubTechnique { id: id.clone() };
                    match slot.get(&ri) {
                        Some(existing) if existing.is_direct() => {}
                        _ => {
                            slot.insert(ri, via);
                        }
                    }
                }
            }
        }
        findings.append(&mut m.findings);
    }

    if attack.is_none() {
        notes.push(
            "no ATT&CK bundle: ids are counted as written; technique names, kill-chain \
             tactics, revoked and deprecated ids, unknown ids and gaps need the bundle (--attack)"
                .to_string(),
        );
        if counts.names_without_bundle > 0 {
            notes.push(format!(
                "{} technique names of rules without ids were not resolved: names need the bundle",
                counts.names_without_bundle
            ));
        }
        if !opts.platforms.is_empty() {
            notes.push("the platform filter needs the bundle; it was ignored".to_string());
        }
    }

    // Filters.
    let mut tactic_filter: Option<BTreeSet<String>> = None;
    if !opts.tactics.is_empty() {
        let mut keep = BTreeSet::new();
        for raw in &opts.tactics {
            match tactics.find(raw) {
                Some(t) => {
                    keep.insert(t.shortname.clone());
                }
                None => notes.push(format!("unknown tactic `{raw}` in the filter")),
            }
        }
        tactic_filter = Some(keep);
    }
    let tactic_ok = |t: &Option<String>| match (&tactic_filter, t) {
        (None, _) => true,
        (Some(keep), Some(t)) => keep.contains(t),
        (Some(_), None) => false,
    };
    let platform_ok = |id: &str| -> bool {
        if opts.platforms.is_empty() {
            return true;
        }
        match attack.and_then(|a| a.technique(id)) {
            Some(t) => opts.platforms.iter().any(|p| t.has_platform(p)),
            None => attack.is_none(),
        }
    };
    cells.retain(|(t, id), _| tactic_ok(t) && platform_ok(id));

    // Matrix order of a tactic shortname; the no-tactic bucket goes last.
    let order: HashMap<&str, usize> = tactics
        .list
        .iter()
        .enumerate()
        .map(|(i, t)| (t.shortname.as_str(), i))
        .collect();
    let tactic_rank = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| order.get(t).copied())
            .unwrap_or(usize::MAX)
    };

    // Per technique.
    let mut per_technique: BTreeMap<&str, Vec<(&Option<String>, &CellRules)>> = BTreeMap::new();
    for ((t, id), rs) in &cells {
        per_technique.entry(id).or_default().push((t, rs));
    }
    let counts_of = |rs: &CellRules| {
        let mut c = LanguageCounts::default();
        for &ri in rs.keys() {
            c.add(rules[ri].language);
        }
        c
    };
    let mut techniques = Vec::new();
    for (id, mut tcells) in per_technique {
        tcells.sort_by_key(|(t, _)| tactic_rank(t));
        let mut all: CellRules = BTreeMap::new();
        for (_, rs) in &tcells {
            for (&ri, via) in rs.iter() {
                match all.get(&ri) {
                    Some(v) if v.is_direct() => {}
                    _ => {
                        all.insert(ri, via.clone());
                    }
                }
            }
        }
        let info = attack.and_then(|a| a.technique(id));
        let mut credits: Vec<RuleCredit> = all
            .iter()
            .map(|(&ri, via)| RuleCredit {
                id: rules[ri].id.clone(),
                language: rules[ri].language,
                via: via.clone(),
            })
            .collect();
        credits.sort_by(|a, b| a.id.cmp(&b.id));
        techniques.push(TechniqueCoverage {
            id: id.to_string(),
            name: info.map(|t| t.name.clone()),
            parent: info
                .map(|t| t.parent.clone())
                .unwrap_or_else(|| parent_id(id).map(str::to_string)),
            url: info.and_then(|t| t.url.clone()),
            score: all.len(),
            direct: all.values().filter(|v| v.is_direct()).count(),
            by_language: counts_of(&all),
            rules: credits,
            tactics: tcells
                .iter()
                .map(|(t, rs)| {
                    let mut ids: Vec<String> = rs.keys().map(|&ri| rules[ri].id.clone()).collect();
                    ids.sort();
                    TacticCell {
                        tactic: (*t).clone(),
                        score: rs.len(),
                        direct: rs.values().filter(|v| v.is_direct()).count(),
                        by_language: counts_of(rs),
                        rules: ids,
                    }
                })
                .collect(),
        });
    }

    // Per tactic.
    let mut tactic_rows = Vec::new();
    let mut buckets: Vec<Option<&Tactic>> = tactics.list.iter().map(Some).collect();
    buckets.push(None);
    for bucket in buckets {
        let short = bucket.map(|t| t.shortname.clone());
        if !tactic_ok(&short) {
            continue;
        }
        let mut rule_set: BTreeSet<usize> = BTreeSet::new();
        let (mut tech, mut sub) = (0, 0);
        for ((t, id), rs) in &cells {
            if *t != short {
                continue;
            }
            rule_set.extend(rs.keys());
            if id.contains('.') {
                sub += 1;
            } else {
                tech += 1;
            }
        }
        let totals = attack.zip(bucket).map(|(a, tactic)| {
            let mut n = (0, 0);
            for t in a.techniques() {
                if t.is_active() && t.tactics.contains(&tactic.shortname) && platform_ok(&t.id) {
                    if t.parent.is_some() {
                        n.1 += 1;
                    } else {
                        n.0 += 1;
                    }
                }
            }
            n
        });
        // Without a bundle only tactics that rules name are worth a row;
        // the no-tactic bucket appears only when something fell in it.
        if (attack.is_none() || bucket.is_none()) && rule_set.is_empty() {
            continue;
        }
        let mut by_language = LanguageCounts::default();
        for &ri in &rule_set {
            by_language.add(rules[ri].language);
        }
        tactic_rows.push(TacticCoverage {
            id: bucket.map(|t| t.id.clone()),
            shortname: short.unwrap_or_else(|| "(none)".to_string()),
            name: bucket.map_or_else(|| "(no tactic)".to_string(), |t| t.name.clone()),
            rules: rule_set.len(),
            by_language,
            techniques_covered: tech,
            techniques_total: totals.map(|n| n.0),
            subtechniques_covered: sub,
            subtechniques_total: totals.map(|n| n.1),
        });
    }

    // Gaps: active techniques with no rule under any kept tactic.
    let mut gaps = Vec::new();
    if let Some(a) = attack {
        let covered: BTreeSet<&str> = techniques.iter().map(|t| t.id.as_str()).collect();
        for t in a.techniques() {
            if !t.is_active() || covered.contains(t.id.as_str()) || !platform_ok(&t.id) {
                continue;
            }
            if t.parent.is_some() && !opts.gap_subtechniques {
                continue;
            }
            let mut kept: Vec<String> = t
                .tactics
                .iter()
                .filter(|s| tactic_ok(&Some((*s).clone())))
                .cloned()
                .collect();
            if kept.is_empty() {
                continue;
            }
            kept.sort_by_key(|s| tactic_rank(&Some(s.clone())));
            gaps.push(Gap {
                id: t.id.clone(),
                name: t.name.clone(),
                parent: t.parent.clone(),
                tactics: kept,
                platforms: t.platforms.clone(),
            });
        }
    }

    findings.sort_by(|a, b| (&a.path, a.kind, &a.raw).cmp(&(&b.path, b.kind, &b.raw)));
    // A rule listing the same bad id twice gets one finding.
    findings.dedup_by(|a, b| {
        a.path == b.path && a.kind == b.kind && a.raw == b.raw && a.rule == b.rule
    });
    Coverage {
        bundle: attack.is_some(),
        attack_version: attack.and_then(|a| a.version().map(str::to_string)),
        totals: RuleTotals {
            rules: rules.len(),
            mapped,
            unmapped: rules.len() - mapped,
        },
        tactics: tactic_rows,
        techniques,
        gaps,
        findings,
        platforms: if attack.is_some() {
            opts.platforms.clone()
        } else {
            Vec::new()
        },
        notes,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attack::testdata::attack;
    use crate::rule::SourceFormat;

    /// A rule with the given ids and tactics; its YAML lists them so
    /// findings can point at them.
    pub(crate) fn rule(id: &str, language: Language, ids: &[&str], tactics: &[&str]) -> Rule {
        let yaml = format!(
            "id: {id}\ntechnique_id:\n{}tactics:\n{}",
            ids.iter().map(|i| format!("- {i}\n")).collect::<String>(),
            tactics
                .iter()
                .map(|t| format!("- {t}\n"))
                .collect::<String>()
        );
        Rule {
            id: id.to_string(),
            title: format!("rule {id}"),
            description: String::new(),
            language,
            logic: String::new(),
            format: SourceFormat::Armory,
            path: PathBuf::from(format!("rules/{id}.yml")),
            technique_ids: ids.iter().map(|s| s.to_string()).collect(),
            tactics: tactics.iter().map(|s| s.to_string()).collect(),
            technique_names: Vec::new(),
            data_categories: Vec::new(),
            references: Vec::new(),
            severity: None,
            kind: None,
            yaml,
        }
    }

    fn tech<'a>(cov: &'a Coverage, id: &str) -> &'a TechniqueCoverage {
        cov.techniques
            .iter()
            .find(|t| t.id == id)
            .unwrap_or_else(|| panic!("{id} should be covered: {:?}", cov.techniques))
    }

    fn cell<'a>(t: &'a TechniqueCoverage, tactic: &str) -> &'a TacticCell {
        t.tactics
            .iter()
            .find(|c| c.tactic.as_deref() == Some(tactic))
            .unwrap_or_else(|| panic!("{} should have a {tactic} cell", t.id))
    }

    fn kinds(cov: &Coverage) -> Vec<(FindingKind, &str)> {
        cov.findings
            .iter()
            .map(|f| (f.kind, f.raw.as_str()))
            .collect()
    }

    #[test]
    fn revoked_t1086_is_reported_and_remapped_to_t1059_001() {
        let a = attack();
        let cov = coverage(
            &[rule("r1", Language::Splunk, &["T1086"], &[])],
            Some(&a),
            &CoverageOptions::default(),
        );
        assert_eq!(kinds(&cov), vec![(FindingKind::RevokedTechnique, "T1086")]);
        let f = &cov.findings[0];
        assert_eq!(f.replacement.as_deref(), Some("T1059.001"));
        assert_eq!(f.path, PathBuf::from("rules/r1.yml"));
        assert!(f.message.contains("counted as T1059.001"), "{}", f.message);
        let ps = tech(&cov, "T1059.001");
        assert_eq!(ps.score, 1);
        assert_eq!(
            ps.rules[0].via,
            Via::Revoked {
                from: "T1086".to_string()
            }
        );
        assert!(cov.techniques.iter().all(|t| t.id != "T1086"));
        // The diagnostic points at the id in the file.
        let d = f
            .to_diagnostic()
            .render(Some(&rule("r1", Language::Splunk, &["T1086"], &[]).yaml));
        assert!(d.starts_with("rules/r1.yml:3:3: warning:"), "{d}");
    }

    #[test]
    fn deprecated_t1064_is_reported_and_left_out_of_the_score() {
        let a = attack();
        let cov = coverage(
            &[
                rule("r1", Language::Splunk, &["T1064"], &[]),
                rule("r2", Language::Kusto, &["T1064", "T1046"], &[]),
            ],
            Some(&a),
            &CoverageOptions::default(),
        );
        assert_eq!(
            kinds(&cov),
            vec![
                (FindingKind::DeprecatedTechnique, "T1064"),
                (FindingKind::DeprecatedTechnique, "T1064")
            ]
        );
        assert!(cov.techniques.iter().all(|t| t.id != "T1064"));
        // Execution and defense evasion gain nothing from T1064.
        for t in &cov.tactics {
            if t.shortname != "discovery" {
                assert_eq!(t.rules, 0, "{}", t.shortname);
            }
        }
        assert_eq!(cov.totals.mapped, 1);
        assert_eq!(cov.totals.unmapped, 1);
        assert!(cov.gaps.iter().all(|g| g.id != "T1064"));
    }

    #[test]
    fn spellings_parse_and_subtechniques_roll_up_to_parents() {
        let a = attack();
        let rules = [
            rule("r1", Language::Splunk, &["T1021.002"], &[]),
            rule("r2", Language::Kusto, &["t1059.001"], &[]),
            rule("r3", Language::Snowflake, &[" T1059.004 ", "t1059"], &[]),
            rule("r4", Language::Splunk, &["t1046", "T1046"], &[]),
        ];
        let cov = coverage(&rules, Some(&a), &CoverageOptions::default());
        assert!(cov.findings.is_empty(), "{:?}", cov.findings);
        let smb = tech(&cov, "T1021.002");
        assert_eq!((smb.score, smb.direct), (1, 1));
        let rs = tech(&cov, "T1021");
        assert_eq!((rs.score, rs.direct), (1, 0));
        assert_eq!(
            rs.rules[0].via,
            Via::SubTechnique {
                id: "T1021.002".to_string()
            }
        );
        // T1059: r2 via its sub-technique, r3 directly (direct wins over
        // its own T1059.004), each counted once.
        let csi = tech(&cov, "T1059");
        assert_eq!((csi.score, csi.direct), (2, 1));
        assert_eq!(csi.by_language.kusto, 1);
        assert_eq!(csi.by_language.snowflake, 1);
        assert_eq!(tech(&cov, "T1046").score, 1);

        let flat = coverage(
            &rules,
            Some(&a),
            &CoverageOptions {
                roll_up: false,
                ..CoverageOptions::default()
            },
        );
        assert!(flat.techniques.iter().all(|t| t.id != "T1021"));
        assert_eq!(tech(&flat, "T1059").score, 1);
    }

    #[test]
    fn malformed_t1059_001_is_a_finding_with_the_rule_path() {
        let a = attack();
        for attack in [Some(&a), None] {
            let cov = coverage(
                &[rule("r1", Language::Splunk, &["t1059_001"], &[])],
                attack,
                &CoverageOptions::default(),
            );
            assert_eq!(kinds(&cov), vec![(FindingKind::MalformedId, "t1059_001")]);
            assert_eq!(cov.findings[0].path, PathBuf::from("rules/r1.yml"));
            assert!(cov.findings[0].span.is_some());
            assert!(cov.techniques.is_empty());
            assert_eq!(cov.totals.unmapped, 1);
        }
    }

    #[test]
    fn technique_without_rule_tactic_gets_its_kill_chain_tactics() {
        let a = attack();
        let cov = coverage(
            &[rule("r1", Language::Splunk, &["T1078"], &[])],
            Some(&a),
            &CoverageOptions::default(),
        );
        let va = tech(&cov, "T1078");
        let tactics: Vec<_> = va.tactics.iter().map(|c| c.tactic.as_deref()).collect();
        // Matrix order: persistence before defense-evasion.
        assert_eq!(tactics, vec![Some("persistence"), Some("defense-evasion")]);
    }

    #[test]
    fn rule_tactics_intersect_the_kill_chain() {
        let a = attack();
        let cov = coverage(
            &[
                rule("r1", Language::Splunk, &["T1078"], &["DefenseEvasion"]),
                rule("r2", Language::Kusto, &["T1078"], &["Discovery"]),
            ],
            Some(&a),
            &CoverageOptions::default(),
        );
        let va = tech(&cov, "T1078");
        assert_eq!(cell(va, "defense-evasion").rules, vec!["r1", "r2"]);
        // r2's tactic contradicts ATT&CK: reported, kill chain used.
        assert_eq!(cell(va, "persistence").rules, vec!["r2"]);
        assert_eq!(kinds(&cov), vec![(FindingKind::TacticMismatch, "T1078")]);
    }

    #[test]
    fn unknown_ids_and_tactics_are_findings() {
        let a = attack();
        let cov = coverage(
            &[rule(
                "r1",
                Language::Splunk,
                &["T9999", "T10178"],
                &["PreAttack"],
            )],
            Some(&a),
            &CoverageOptions::default(),
        );
        let mut k = kinds(&cov);
        k.sort();
        assert_eq!(
            k,
            vec![
                (FindingKind::UnknownTechnique, "T9999"),
                (FindingKind::MalformedId, "T10178"),
                (FindingKind::UnknownTactic, "PreAttack"),
            ]
        );
    }

    #[test]
    fn findings_point_at_the_mapping_not_the_description() {
        let text = "description: like T1064 scripting\ntechnique_id:\n- T10640\n- T1064\n";
        let span = locate(text, "T1064").expect("found");
        assert_eq!(span.start, text.rfind("T1064").unwrap_or(0));
        assert_eq!(locate(text, "  "), None);
        assert_eq!(
            locate("x: t1059_001y", "t1059_001").map(|s| s.start),
            Some(3)
        );
    }

    #[test]
    fn repeated_bad_ids_give_one_finding() {
        let a = attack();
        let cov = coverage(
            &[rule("r1", Language::Splunk, &["T1064", " T1064"], &[])],
            Some(&a),
            &CoverageOptions::default(),
        );
        assert_eq!(cov.findings.len(), 1);
    }

    #[test]
    fn embedded_ids_are_credited_with_a_note() {
        let a = attack();
        let cov = coverage(
            &[rule("r1", Language::Splunk, &["discovery:T1046"], &[])],
            Some(&a),
            &CoverageOptions::default(),
        );
        assert_eq!(
            kinds(&cov),
            vec![(FindingKind::EmbeddedId, "discovery:T1046")]
        );
        assert_eq!(cov.findings[0].kind.severity(), Severity::Note);
        assert_eq!(tech(&cov, "T1046").score, 1);
    }

    #[test]
    fn names_resolve_when_the_rule_has_no_id() {
        let a = attack();
        let mut r1 = rule("r1", Language::Splunk, &[], &["execution"]);
        r1.technique_names = vec![
            "command and scripting interpreter:powershell".to_string(),
            "initial-access:no such technique".to_string(),
        ];
        let mut r2 = rule("r2", Language::Splunk, &[], &[]);
        r2.technique_names = vec!["discovery:network service discovery".to_string()];
        // Ids win: names are ignored when an id is given.
        let mut r3 = rule("r3", Language::Splunk, &["T1046"], &[]);
        r3.technique_names = vec!["powershell".to_string()];
        let cov = coverage(&[r1, r2, r3], Some(&a), &CoverageOptions::default());
        assert_eq!(
            kinds(&cov),
            vec![(
                FindingKind::UnknownTechniqueName,
                "initial-access:no such technique"
            )]
        );
        assert_eq!(cell(tech(&cov, "T1059.001"), "execution").rules, vec!["r1"]);
        assert_eq!(
            cell(tech(&cov, "T1046"), "discovery").rules,
            vec!["r2", "r3"]
        );
        assert!(matches!(
            tech(&cov, "T1059.001").rules[0].via,
            Via::Name { .. }
        ));
    }

    #[test]
    fn without_bundle_ids_still_count_and_notes_say_what_is_missing() {
        let mut r2 = rule("r2", Language::Kusto, &[], &[]);
        r2.technique_names = vec!["network service discovery".to_string()];
        let cov = coverage(
            &[
                rule(
                    "r1",
                    Language::Splunk,
                    &["t1059.001", "T1086"],
                    &["Execution"],
                ),
                r2,
            ],
            None,
            &CoverageOptions::default(),
        );
        assert!(!cov.bundle);
        assert!(cov.gaps.is_empty());
        let ps = tech(&cov, "T1059.001");
        assert_eq!(ps.name, None);
        assert_eq!(cell(ps, "execution").score, 1);
        // Roll-up by id shape.
        assert_eq!(tech(&cov, "T1059").score, 1);
        // Revocation is unknown without the bundle: T1086 counts as written.
        assert_eq!(tech(&cov, "T1086").score, 1);
        assert!(cov.notes.iter().any(|n| n.contains("gaps need the bundle")));
        assert!(cov
            .notes
            .iter()
            .any(|n| n.contains("names need the bundle")));
        let tactics: Vec<&str> = cov.tactics.iter().map(|t| t.shortname.as_str()).collect();
        assert_eq!(tactics, vec!["execution"]);
    }

    #[test]
    fn gaps_filter_by_platform_and_tactic() {
        let a = attack();
        let rules = [rule("r1", Language::Splunk, &["T1059.001"], &[])];
        let all = coverage(&rules, Some(&a), &CoverageOptions::default());
        let ids: Vec<&str> = all.gaps.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["T1021", "T1021.002", "T1046", "T1059.004", "T1078"]
        );

        let opts = CoverageOptions {
            platforms: vec!["linux".to_string()],
            tactics: vec!["Execution".to_string(), "TA0007".to_string()],
            ..CoverageOptions::default()
        };
        let filtered = coverage(&rules, Some(&a), &opts);
        let ids: Vec<&str> = filtered.gaps.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, vec!["T1046", "T1059.004"]);
        // T1059.001 is Windows-only, so the Linux view does not count it.
        assert!(filtered.techniques.iter().all(|t| t.id != "T1059.001"));
        let shown: Vec<&str> = filtered
            .tactics
            .iter()
            .map(|t| t.shortname.as_str())
            .collect();
        assert_eq!(shown, vec!["execution", "discovery"]);
        let exec = &filtered.tactics[0];
        assert_eq!(exec.techniques_total, Some(1));
        assert_eq!(exec.subtechniques_total, Some(1));

        let no_subs = coverage(
            &rules,
            Some(&a),
            &CoverageOptions {
                gap_subtechniques: false,
                ..CoverageOptions::default()
            },
        );
        assert!(no_subs.gaps.iter().all(|g| g.parent.is_none()));
    }

    #[test]
    fn tactic_summary_counts_rules_and_techniques() {
        let a = attack();
        let rules = [
            rule("r1", Language::Splunk, &["T1059.001"], &[]),
            rule("r2", Language::Kusto, &["T1059"], &[]),
            rule("r3", Language::Kusto, &["T1046"], &[]),
        ];
        let cov = coverage(&rules, Some(&a), &CoverageOptions::default());
        let order: Vec<&str> = cov.tactics.iter().map(|t| t.shortname.as_str()).collect();
        assert_eq!(
            order,
            vec![
                "execution",
                "persistence",
                "defense-evasion",
                "discovery",
                "lateral-movement"
            ]
        );
        let exec = &cov.tactics[0];
        assert_eq!(exec.rules, 2);
        assert_eq!((exec.by_language.splunk, exec.by_language.kusto), (1, 1));
        assert_eq!(
            (exec.techniques_covered, exec.techniques_total),
            (1, Some(1))
        );
        assert_eq!(
            (exec.subtechniques_covered, exec.subtechniques_total),
            (1, Some(2))
        );
    }
}
