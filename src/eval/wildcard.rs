//! Wildcard matching without regexes: SPL `*` globs, SQL `like`
//! patterns, and Splunk term search in raw text.
//!
//! These run for most predicates of most rules; compiling a regex for
//! each of thousands of distinct patterns cost more than matching them
//! directly.

use super::terms;

/// A whole-value pattern with `*` (any run), matched case-insensitively
/// when `ci`.
#[derive(Clone, Debug)]
pub struct Glob {
    /// The pieces between stars (lower-cased when `ci`).
    pieces: Vec<String>,
    ci: bool,
}

impl Glob {
    /// Builds a glob from a value with `*` wildcards.
    pub fn new(pattern: &str, ci: bool) -> Glob {
        let pieces = pattern
            .split('*')
            .map(|p| if ci { p.to_lowercase() } else { p.to_string() })
            .collect();
        Glob { pieces, ci }
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        let folded;
        let s = if self.ci {
            folded = s.to_lowercase();
            folded.as_str()
        } else {
            s
        };
        let n = self.pieces.len();
        let (first, last) = (&self.pieces[0], &self.pieces[n - 1]);
        if n == 1 {
            return s == first;
        }
        if s.len() < first.len() + last.len()
            || !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
        {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for mid in &self.pieces[1..n - 1] {
            match rest.find(mid.as_str()) {
                Some(at) => rest = &rest[at + mid.len()..],
                None => return false,
            }
        }
        true
    }
}

/// A SQL `like` pattern: `%` any run, `_` exactly one character; whole
/// value; case-insensitive when `ci` (Snowflake `ILIKE`).
#[derive(Clone, Debug)]
pub struct Like {
    pattern: Vec<char>,
    ci: bool,
}

impl Like {
    /// Builds a like pattern.
    pub fn new(pattern: &str, ci: bool) -> Like {
        let p = if ci {
            pattern.to_lowercase()
        } else {
            pattern.to_string()
        };
        Like {
            pattern: p.chars().collect(),
            ci,
        }
    }

    /// Whether the whole of `s` matches (iterative matching with one
    /// backtrack point, linear in practice).
    pub fn is_match(&self, s: &str) -> bool {
        let folded;
        let s = if self.ci {
            folded = s.to_lowercase();
            folded.as_str()
        } else {
            s
        };
        let t: Vec<char> = s.chars().collect();
        let p = &self.pattern;
        let (mut i, mut j) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while i < t.len() {
            if j < p.len() && (p[j] == '_' || p[j] == t[i]) {
                i += 1;
                j += 1;
            } else if j < p.len() && p[j] == '%' {
                star = Some((j, i));
                j += 1;
            } else if let Some((sj, si)) = star {
                j = sj + 1;
                i = si + 1;
                star = Some((sj, si + 1));
            } else {
                return false;
            }
        }
        while j < p.len() && p[j] == '%' {
            j += 1;
        }
        j == p.len()
    }
}

/// Searches `raw` for a Splunk term without wildcards, as the term regex
/// would: ASCII case-insensitive unless `cs`, starting and ending on a
/// breaker (major only, or a `--`/`%20`-style sequence, for `TERM()`).
///
/// Returns `None` when the fast path does not apply exactly (a non-ASCII
/// term, or raw text holding one of the non-ASCII characters that case
/// folding equates with an ASCII letter); the caller then uses the regex.
pub fn find_term(raw: &str, term: &str, cs: bool, whole: bool) -> Option<bool> {
    let t = term.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() || !t.is_ascii() || t.contains('*') {
        return None;
    }
    if !cs && !raw.is_ascii() && raw.contains(['\u{212A}', '\u{17F}']) {
        return None;
    }
    let r = raw.as_bytes();
    let v = t.as_bytes();
    let n = v.len();
    if r.len() < n {
        return Some(false);
    }
    let brk = |b: u8| {
        let c = b as char;
        b.is_ascii()
            && if whole {
                terms::is_major(c)
            } else {
                terms::is_breaker(c)
            }
    };
    let need_left = !brk(v[0]);
    let need_right = !brk(v[n - 1]);
    let eq = |a: u8, b: u8| {
        if cs {
            a == b
        } else {
            a.eq_ignore_ascii_case(&b)
        }
    };
    let left_ok = |s: usize| {
        if s == 0 || brk(r[s - 1]) {
            return true;
        }
        whole && terms::seq_ends_at(&r[..s])
    };
    let right_ok = |e: usize| {
        if e == r.len() || brk(r[e]) {
            return true;
        }
        whole && terms::seq_starts_at(&r[e..])
    };
    let first = v[0];
    let mut s = 0;
    while s + n <= r.len() {
        if eq(r[s], first)
            && r[s..s + n].iter().zip(v).all(|(a, b)| eq(*a, *b))
            && (!need_left || left_ok(s))
            && (!need_right || right_ok(s + n))
        {
            return Some(true);
        }
        s += 1;
    }
    Some(false)
}

/// [`find_term`] over raw text already folded by the pre-selection
/// (ASCII lower-case, KELVIN SIGN and LONG S to `k`, `s`): a substring
/// search for the lower-cased term, then the boundary checks. Exact for
/// case-insensitive ASCII terms; `None` otherwise.
pub fn find_term_folded(folded: &str, term: &str, whole: bool) -> Option<bool> {
    let t = term.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() || !t.is_ascii() || t.contains('*') {
        return None;
    }
    let needle = t.to_ascii_lowercase();
    let r = folded.as_bytes();
    let v = needle.as_bytes();
    let n = v.len();
    let brk = |b: u8| {
        let c = b as char;
        b.is_ascii()
            && if whole {
                terms::is_major(c)
            } else {
                terms::is_breaker(c)
            }
    };
    let need_left = !brk(v[0]);
    let need_right = !brk(v[n - 1]);
    let mut from = 0;
    while let Some(at) = folded[from..].find(needle.as_str()) {
        let s = from + at;
        let e = s + n;
        let left = !need_left || s == 0 || brk(r[s - 1]) || (whole && terms::seq_ends_at(&r[..s]));
        let right =
            !need_right || e == r.len() || brk(r[e]) || (whole && terms::seq_starts_at(&r[e..]));
        if left && right {
            return Some(true);
        }
        // Next candidate: one character further (the needle is ASCII, so
        // `s + 1` may split a character only if the match started on a
        // multi-byte one, which an ASCII needle never does).
        from = s + 1;
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = Glob::new("*\\cmd.exe", true);
        assert!(g.is_match("C:\\Windows\\CMD.EXE"));
        assert!(!g.is_match("C:\\Windows\\xcmd.exe"));
        assert!(Glob::new("a*b*c", false).is_match("axxbyyc"));
        assert!(!Glob::new("ab*ba", false).is_match("aba"));
        assert!(Glob::new("*", false).is_match(""));
        assert!(Glob::new("x", true).is_match("X"));
    }

    #[test]
    fn likes() {
        let l = Like::new("%netscan_portable%", true);
        assert!(l.is_match("C:\\NETSCAN-PORTABLE\\a.exe"));
        assert!(!Like::new("cmd.exe", true).is_match("C:\\a\\cmd.exe"));
        assert!(Like::new("%cmd.exe", true).is_match("C:\\a\\CMD.exe"));
        assert!(!Like::new("a_", false).is_match("a"));
        assert!(Like::new("a%b%", false).is_match("axxbyy"));
        assert!(!Like::new("a%b", false).is_match("axxbyy"));
        assert!(Like::new("%", false).is_match(""));
    }

    #[test]
    fn terms_match_like_their_regex() {
        let cases = [
            ("mimikatz", "run mimikatz.exe", false, true),
            ("mimi", "run mimikatz.exe", false, false),
            ("<EventID>1<", "<EventID>1</EventID>", false, true),
            ("<EventID>1<", "<EventID>10</EventID>", false, false),
            ("EventCode=1", "x EventCode=1 y", true, true),
            ("EventCode=1", "x.EventCode=1", true, false),
            ("x", "a%20x%20b", true, true),
            ("x", "a--x b", true, true),
            ("netscan", "C:\\netscan64.exe", false, false),
            ("cmd.exe", "C:\\x\\CMD.EXE", false, true),
        ];
        for (term, raw, whole, want) in cases {
            assert_eq!(
                find_term(raw, term, false, whole),
                Some(want),
                "{term} in {raw}"
            );
            let re = terms::spl_term(term, whole, false).unwrap();
            assert_eq!(re.is_match(raw), want, "regex {term} in {raw}");
        }
        for (term, raw, whole, want) in cases {
            let mut folded = String::new();
            super::super::prefilter::fold_simple_into(&mut folded, raw);
            assert_eq!(
                find_term_folded(&folded, term, whole),
                Some(want),
                "{term} in {raw}"
            );
        }
        assert_eq!(
            find_term("LOCALHOST", "localhost", true, false),
            Some(false)
        );
        assert_eq!(find_term("a \u{212A}", "k", false, false), None);
    }
}
