//! ATT&CK identifiers as rule files write them: technique ids in any case
//! and padding, ids buried in free text, and tactic names in the three
//! spellings the corpora use (`command-and-control`, `CommandAndControl`,
//! `Command and Control`).

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

/// Why a string is not a technique id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", content = "raw", rename_all = "kebab-case")]
pub enum IdProblem {
    /// The string is empty or only whitespace.
    #[error("empty technique id")]
    Empty,
    /// The string is not of the form `T####` or `T####.###`.
    #[error("`{0}` is not a technique id of the form T#### or T####.###")]
    Malformed(String),
}

/// Normalises a technique id as written to its canonical form.
///
/// Surrounding whitespace is dropped and the `T` upper-cased; anything else
/// (`t1059_001`, `T1059/001`, `T10178`) is [`IdProblem::Malformed`], since
/// guessing would credit a rule to a technique its author may not mean.
///
/// ```
/// use ruledex::attack::{normalize_id, IdProblem};
/// assert_eq!(normalize_id("t1059.001").as_deref(), Ok("T1059.001"));
/// assert_eq!(normalize_id(" T1046 ").as_deref(), Ok("T1046"));
/// assert!(matches!(normalize_id("t1059_001"), Err(IdProblem::Malformed(_))));
/// ```
pub fn normalize_id(raw: &str) -> Result<String, IdProblem> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(IdProblem::Empty);
    }
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let well_formed = matches!(b[0], b'T' | b't')
        && match b.len() {
            5 => digits(1..5),
            9 => digits(1..5) && b[5] == b'.' && digits(6..9),
            _ => false,
        };
    if well_formed {
        Ok(s.to_ascii_uppercase())
    } else {
        Err(IdProblem::Malformed(s.to_string()))
    }
}

/// The parent of a sub-technique id (`T1059.001` → `T1059`), or `None`
/// for a technique.
pub fn parent_id(id: &str) -> Option<&str> {
    id.split_once('.').map(|(parent, _)| parent)
}

/// Every well-formed technique id standing as a word inside `text`,
/// normalised, in order of appearance and without repeats.
///
/// `execution:T1059.001` and `T1046 (Network Service Discovery)` yield ids;
/// `t1059_001` does not, because `_` joins it to the next word.
pub fn embedded_ids(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    // The pattern is a constant, so compiling it cannot fail at run time.
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)\bT\d{4}(?:\.\d{3})?\b").expect("constant pattern compiles")
    });
    let mut out: Vec<String> = Vec::new();
    for m in re.find_iter(text) {
        let id = m.as_str().to_ascii_uppercase();
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// A spelling-independent key for a tactic or technique name: lower-case
/// letters and digits only, so `Command and Control`, `command-and-control`
/// and `CommandAndControl` all become `commandandcontrol`.
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The Enterprise tactics in matrix order as `(id, shortname, name)`.
///
/// Used when no bundle is loaded, so tactic names written by rules can
/// still be recognised and ordered; with a bundle its matrix wins.
pub const ENTERPRISE_TACTICS: [(&str, &str, &str); 14] = [
    ("TA0043", "reconnaissance", "Reconnaissance"),
    ("TA0042", "resource-development", "Resource Development"),
    ("TA0001", "initial-access", "Initial Access"),
    ("TA0002", "execution", "Execution"),
    ("TA0003", "persistence", "Persistence"),
    ("TA0004", "privilege-escalation", "Privilege Escalation"),
    ("TA0005", "defense-evasion", "Defense Evasion"),
    ("TA0006", "credential-access", "Credential Access"),
    ("TA0007", "discovery", "Discovery"),
    ("TA0008", "lateral-movement", "Lateral Movement"),
    ("TA0009", "collection", "Collection"),
    ("TA0011", "command-and-control", "Command and Control"),
    ("TA0010", "exfiltration", "Exfiltration"),
    ("TA0040", "impact", "Impact"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_padding() {
        assert_eq!(normalize_id("t1059.001").as_deref(), Ok("T1059.001"));
        assert_eq!(normalize_id(" T1046 ").as_deref(), Ok("T1046"));
        assert_eq!(normalize_id("t1046").as_deref(), Ok("T1046"));
        assert_eq!(normalize_id("T1021.002\t").as_deref(), Ok("T1021.002"));
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "t1059_001",
            "T1059/001",
            "T10178",
            "T105",
            "T1059.01",
            "1059",
            "TA0002",
            "Tx059",
            "T1059.001x",
            "Т1059", // Cyrillic Te: not ASCII, must not panic on slicing
        ] {
            assert_eq!(
                normalize_id(bad),
                Err(IdProblem::Malformed(bad.trim().to_string())),
                "{bad}"
            );
        }
        assert_eq!(normalize_id("  "), Err(IdProblem::Empty));
    }

    #[test]
    fn finds_ids_inside_text() {
        assert_eq!(
            embedded_ids("execution:T1059.001, t1046 (scan) T1046"),
            vec!["T1059.001", "T1046"]
        );
        assert!(embedded_ids("t1059_001").is_empty());
        assert!(embedded_ids("command and scripting interpreter").is_empty());
    }

    #[test]
    fn parent_of_subtechnique() {
        assert_eq!(parent_id("T1059.001"), Some("T1059"));
        assert_eq!(parent_id("T1059"), None);
    }

    #[test]
    fn name_keys_ignore_spelling() {
        let k = name_key("Command and Control");
        assert_eq!(name_key("command-and-control"), k);
        assert_eq!(name_key("CommandAndControl "), k);
    }
}
