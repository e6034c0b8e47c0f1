//! Regular expressions with each language's engine semantics.
//!
//! SPL (`match`, `regex`, `rex`, `replace`) runs PCRE through the `pcre2`
//! crate, as Splunk does; KQL `matches regex`/`extract` runs RE2 semantics
//! through the `regex` crate; Snowflake `regexp_like`/`rlike` is POSIX-like
//! and implicitly anchored, run through the `regex` crate wrapped as
//! `^(?:…)$`. Every pattern is compiled once per rule; one that cannot be
//! compiled is reported as a reason the rule is not evaluable.

use crate::rule::Language;

/// Compiled-size limit for `regex`-crate patterns (bytes).
const SIZE_LIMIT: usize = 8 << 20;

/// Which engine a pattern runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// PCRE (Splunk).
    Pcre,
    /// RE2 (Kusto).
    Re2,
    /// POSIX ERE plus Perl classes, whole-value (Snowflake).
    Posix,
}

impl Flavor {
    /// The engine a language's regex functions use.
    pub fn of(language: Language) -> Flavor {
        match language {
            Language::Splunk => Flavor::Pcre,
            Language::Kusto => Flavor::Re2,
            Language::Snowflake => Flavor::Posix,
        }
    }
}

/// A compiled pattern.
#[derive(Debug)]
pub struct Rx {
    inner: Inner,
    /// The pattern as written (before anchoring or flags were added).
    pub pattern: String,
}

#[derive(Debug)]
enum Inner {
    Pcre(pcre2::bytes::Regex),
    Rust(regex::Regex),
}

/// One match with its capture groups, as byte ranges into the subject.
pub type Groups = Vec<Option<(usize, usize)>>;

impl Rx {
    /// Compiles `pattern` for `flavor`; `anchored` wraps it to match the
    /// whole value, `case_insensitive` adds `(?i)`.
    pub fn new(
        pattern: &str,
        flavor: Flavor,
        case_insensitive: bool,
        anchored: bool,
    ) -> Result<Rx, String> {
        let anchored = anchored || flavor == Flavor::Posix;
        let inner = match flavor {
            Flavor::Pcre => {
                let body = if anchored {
                    format!("^(?:{pattern})$")
                } else {
                    pattern.to_string()
                };
                let re = pcre2::bytes::RegexBuilder::new()
                    .utf(true)
                    .caseless(case_insensitive)
                    .jit_if_available(true)
                    .build(&body)
                    .map_err(|e| e.to_string())?;
                Inner::Pcre(re)
            }
            Flavor::Re2 | Flavor::Posix => {
                let body = if anchored {
                    format!("^(?:{pattern})$")
                } else {
                    pattern.to_string()
                };
                let re = regex::RegexBuilder::new(&body)
                    .case_insensitive(case_insensitive)
                    .size_limit(SIZE_LIMIT)
                    .dfa_size_limit(SIZE_LIMIT)
                    .build()
                    .map_err(|e| e.to_string())?;
                Inner::Rust(re)
            }
        };
        Ok(Rx {
            inner,
            pattern: pattern.to_string(),
        })
    }

    /// Whether the pattern matches somewhere in `s`. A PCRE run-time
    /// failure (match limit hit) is an error, not a non-match.
    pub fn is_match(&self, s: &str) -> Result<bool, String> {
        match &self.inner {
            Inner::Pcre(re) => re.is_match(s.as_bytes()).map_err(|e| e.to_string()),
            Inner::Rust(re) => Ok(re.is_match(s)),
        }
    }

    /// Capture group names by group index (index 0 is the whole match).
    pub fn names(&self) -> Vec<Option<String>> {
        match &self.inner {
            Inner::Pcre(re) => re.capture_names().to_vec(),
            Inner::Rust(re) => re.capture_names().map(|n| n.map(str::to_string)).collect(),
        }
    }

    /// Up to `max` successive matches (0 = all), each with its groups.
    pub fn captures(&self, s: &str, max: usize) -> Result<Vec<Groups>, String> {
        let mut out = Vec::new();
        match &self.inner {
            Inner::Pcre(re) => {
                for caps in re.captures_iter(s.as_bytes()) {
                    let caps = caps.map_err(|e| e.to_string())?;
                    out.push(
                        (0..caps.len())
                            .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
                            .collect(),
                    );
                    if max != 0 && out.len() >= max {
                        break;
                    }
                }
            }
            Inner::Rust(re) => {
                for caps in re.captures_iter(s) {
                    out.push(
                        (0..caps.len())
                            .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
                            .collect(),
                    );
                    if max != 0 && out.len() >= max {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Replaces matches with `repl`, where `\N` (and `$N` for RE2) insert
    /// group N and `&` is literal: `which` = 0 replaces every match,
    /// N replaces only the N-th.
    pub fn replace(&self, s: &str, repl: &str, which: usize) -> Result<String, String> {
        let all = self.captures(s, if which == 0 { 0 } else { which })?;
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for (i, groups) in all.iter().enumerate() {
            if which != 0 && i + 1 != which {
                continue;
            }
            let Some((start, end)) = groups.first().copied().flatten() else {
                continue;
            };
            out.push_str(&s[last..start]);
            expand_replacement(repl, s, groups, &mut out);
            last = end;
        }
        out.push_str(&s[last..]);
        Ok(out)
    }
}

/// Writes `repl` with `\N`/`$N` group references resolved.
fn expand_replacement(repl: &str, s: &str, groups: &Groups, out: &mut String) {
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if (c == '\\' || c == '$') && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut n = 0usize;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d as usize;
                chars.next();
            }
            if let Some(Some((a, b))) = groups.get(n) {
                out.push_str(&s[*a..*b]);
            }
        } else if c == '\\' && chars.peek().is_some() {
            // `\x` for any other x is the literal x (sed and Splunk replace).
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
}

/// Whether every match of `pattern` must contain a literal backslash.
///
/// Used by lint: such a regex cannot match a field whose values never
/// contain one. Patterns regex-syntax cannot read (PCRE-only syntax) give
/// `false`, so lint stays silent rather than guess.
pub fn requires_backslash(pattern: &str) -> bool {
    let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(pattern) else {
        return false;
    };
    hir_requires(&hir, '\\')
}

fn hir_requires(hir: &regex_syntax::hir::Hir, c: char) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Literal(lit) => std::str::from_utf8(&lit.0).is_ok_and(|s| s.contains(c)),
        HirKind::Class(Class::Unicode(cls)) => {
            cls.iter().all(|r| r.start() == c && r.end() == c) && cls.iter().next().is_some()
        }
        HirKind::Class(Class::Bytes(cls)) => {
            cls.iter()
                .all(|r| r.start() as u32 == c as u32 && r.end() as u32 == c as u32)
                && cls.iter().next().is_some()
        }
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Repetition(rep) => rep.min >= 1 && hir_requires(&rep.sub, c),
        HirKind::Capture(cap) => hir_requires(&cap.sub, c),
        HirKind::Concat(items) => items.iter().any(|h| hir_requires(h, c)),
        HirKind::Alternation(items) => items.iter().all(|h| hir_requires(h, c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcre_is_unanchored_and_case_sensitive() {
        let re = Rx::new("cmd", Flavor::Pcre, false, false).unwrap();
        assert!(re.is_match("xcmd.exe").unwrap());
        assert!(!re.is_match("XCMD.EXE").unwrap());
        let re = Rx::new("(?i)\\x5cnetscan(32|64)?\\.exe", Flavor::Pcre, false, false).unwrap();
        assert!(re.is_match("C:\\Tools\\NETSCAN64.EXE").unwrap());
        assert!(!re.is_match("netscan64.exe").unwrap());
    }

    #[test]
    fn pcre_only_syntax_compiles() {
        // Lookbehind and possessive quantifiers are PCRE, not RE2.
        let re = Rx::new("(?<=a)b++", Flavor::Pcre, false, false).unwrap();
        assert!(re.is_match("ab").unwrap());
        assert!(Rx::new("(?<=a)b", Flavor::Re2, false, false).is_err());
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(Rx::new("(unclosed", Flavor::Pcre, false, false).is_err());
        assert!(Rx::new("(unclosed", Flavor::Re2, false, false).is_err());
    }

    #[test]
    fn posix_is_anchored() {
        let re = Rx::new("enc", Flavor::Posix, false, false).unwrap();
        assert!(!re.is_match("powershell.exe -enc").unwrap());
        let re = Rx::new(".*enc.*", Flavor::Posix, false, false).unwrap();
        assert!(re.is_match("powershell.exe -enc").unwrap());
    }

    #[test]
    fn replace_with_groups() {
        let re = Rx::new("(\\w+)@(\\w+)", Flavor::Pcre, false, false).unwrap();
        assert_eq!(re.replace("a@b c@d", "\\2-\\1", 0).unwrap(), "b-a d-c");
        assert_eq!(re.replace("a@b c@d", "X", 2).unwrap(), "a@b X");
    }

    #[test]
    fn backslash_requirement() {
        assert!(requires_backslash("(?i)\\x5cnetscan(32|64)?\\.exe"));
        assert!(requires_backslash("\\\\netscan"));
        assert!(!requires_backslash("(?i)netscan"));
        assert!(!requires_backslash("[\\\\/]netscan"));
        assert!(!requires_backslash("(\\\\|^)netscan"));
    }
}
