//! Term matching: Splunk bare terms and phrases against `_raw` (with
//! Splunk's major and minor breakers), and KQL `has` on alphanumeric term
//! boundaries.
//!
//! Both are compiled to one `regex`-crate pattern per term: the term's
//! text, with boundary assertions at each end that does not already start
//! or end on a breaker. Searching the raw text for that pattern is the
//! same as tokenising it and looking the term up, without tokenising.

use regex::Regex;

/// Splunk's default major breakers (segmenters.conf), single characters.
const MAJOR: &str = "[]<>(){}|!;,'\"*\n\r\t &?+ ";
/// Splunk's default minor breakers.
const MINOR: &str = "/:=@.-$#%\\_";
/// Multi-character major breakers: `--` and URL-encoded separators.
const MAJOR_SEQ: [&str; 12] = [
    "--", "%20", "%2C", "%3B", "%7C", "%22", "%27", "%3D", "%26", "%09", "%0A", "%0D",
];

/// ASCII breaker table: 1 = major, 2 = minor.
const TABLE: [u8; 128] = {
    let mut t = [0u8; 128];
    let major = MAJOR.as_bytes();
    let mut i = 0;
    while i < major.len() {
        t[major[i] as usize] = 1;
        i += 1;
    }
    let minor = MINOR.as_bytes();
    let mut i = 0;
    while i < minor.len() {
        t[minor[i] as usize] = 2;
        i += 1;
    }
    // ASCII whitespace not listed above (vertical tab, form feed).
    t[0x0b] = 1;
    t[0x0c] = 1;
    t
};

/// Whether `c` is a Splunk major breaker. The default breakers are ASCII
/// (segmenters.conf lists ASCII characters and whitespace): a non-ASCII
/// character never breaks a term.
pub fn is_major(c: char) -> bool {
    c.is_ascii() && TABLE[c as usize] == 1
}

/// Whether `c` is a Splunk major or minor breaker.
pub fn is_breaker(c: char) -> bool {
    c.is_ascii() && TABLE[c as usize] != 0
}

/// Whether `before` ends with a multi-character major breaker.
pub fn seq_ends_at(before: &[u8]) -> bool {
    MAJOR_SEQ.iter().any(|q| {
        let q = q.as_bytes();
        before.len() >= q.len() && before[before.len() - q.len()..].eq_ignore_ascii_case(q)
    })
}

/// Whether `after` starts with a multi-character major breaker.
pub fn seq_starts_at(after: &[u8]) -> bool {
    MAJOR_SEQ.iter().any(|q| {
        let q = q.as_bytes();
        after.len() >= q.len() && after[..q.len()].eq_ignore_ascii_case(q)
    })
}

/// A character class matching any of `chars`, escaped for the regex crate.
fn class(chars: &str, extra_space: bool) -> String {
    let mut s = String::from("[");
    for c in chars.chars() {
        s.push_str(&format!("\\x{{{:x}}}", c as u32));
    }
    if extra_space {
        // The other ASCII whitespace: vertical tab, form feed.
        s.push_str("\\x0b\\x0c");
    }
    s.push(']');
    s
}

/// Compiles a Splunk bare term or phrase into a pattern over `_raw`.
///
/// `*` matches any run of characters that are not major breakers (a
/// wildcard never spans two indexed segments). A plain term must start
/// and end on a breaker (major or minor) or the raw text's ends: `mimi`
/// does not match `mimikatz.exe`, `mimikatz` does. `whole_token`
/// (`TERM(x)`) requires major breakers around it instead.
pub fn spl_term(value: &str, whole_token: bool, case_sensitive: bool) -> Result<Regex, String> {
    let majors = class(MAJOR, true);
    let all = {
        let mut chars = String::from(MAJOR);
        chars.push_str(MINOR);
        class(&chars, true)
    };
    let boundary = if whole_token {
        let seqs: Vec<String> = MAJOR_SEQ.iter().map(|s| regex::escape(s)).collect();
        format!("{majors}|{}", seqs.join("|"))
    } else {
        all
    };
    let trimmed = value.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut body = String::new();
    for c in trimmed.chars() {
        if c == '*' {
            body.push_str(&format!("[^{}]*", &majors[1..majors.len() - 1]));
        } else {
            body.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    if body.is_empty() {
        return Err("empty search term".to_string());
    }
    let first = trimmed.chars().next();
    let last = trimmed.chars().last();
    let edge = |c: Option<char>| {
        c.is_some_and(|c| {
            c == '*'
                || if whole_token {
                    is_major(c)
                } else {
                    is_breaker(c)
                }
        })
    };
    let mut pat = String::new();
    if !case_sensitive {
        pat.push_str("(?i)");
    }
    if !edge(first) {
        pat.push_str(&format!("(?:^|{boundary})"));
    }
    pat.push_str(&body);
    if !edge(last) {
        pat.push_str(&format!("(?:{boundary}|$)"));
    }
    regex::RegexBuilder::new(&pat)
        .size_limit(8 << 20)
        .build()
        .map_err(|e| e.to_string())
}

/// Compiles a KQL `has` operand: a run of alphanumerics that must be a
/// whole term, or a sequence with punctuation matched on term boundaries
/// at its alphanumeric ends (`has "cmd.exe"`: `C:\x\cmd.exe` yes,
/// `xcmd.exe` no).
pub fn kql_has(value: &str, case_sensitive: bool) -> Result<Regex, String> {
    if value.is_empty() {
        return Err("empty has operand".to_string());
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let mut pat = String::new();
    if !case_sensitive {
        pat.push_str("(?i)");
    }
    if alnum(value.chars().next()) {
        pat.push_str("(?:^|[^0-9A-Za-z])");
    }
    pat.push_str(&regex::escape(value));
    if alnum(value.chars().last()) {
        pat.push_str("(?:[^0-9A-Za-z]|$)");
    }
    regex::RegexBuilder::new(&pat)
        .size_limit(8 << 20)
        .build()
        .map_err(|e| e.to_string())
}

/// Calls `f` with each segment of `folded` (text already case-folded by
/// the pre-selection fold): maximal runs of characters that are not
/// breakers. With `seq_aware`, the multi-character major breakers
/// (`--`, `%20`…) also split, as they bound `TERM()` tokens.
///
/// Used for pre-selection: every plain-character segment of a matching
/// term is a segment of the raw text it matches in (breaker boundaries
/// on both sides), so a term whose segments the raw text lacks cannot
/// match.
pub fn segments(folded: &str, seq_aware: bool, mut f: impl FnMut(&str)) {
    segments_both(folded, |s, plain, seq| {
        if (seq_aware && seq) || (!seq_aware && plain) {
            f(s);
        }
    });
}

/// One pass producing both segmentations: `f(segment, is_plain,
/// is_seq_aware)`. Plain segments split at breaker characters; the
/// sequence-aware ones also drop a URL-encoded code (`%20` → the `20`)
/// at the start of a segment that follows `%`, `--` being two minor
/// breakers already.
pub fn segments_both(folded: &str, mut f: impl FnMut(&str, bool, bool)) {
    let b = folded.as_bytes();
    let mut start: Option<usize> = None;
    let mut emit = |s: usize, e: usize| {
        let seg = &folded[s..e];
        let code = s > 0
            && b[s - 1] == b'%'
            && e - s >= 2
            && MAJOR_SEQ
                .iter()
                .any(|q| q.len() == 3 && q.as_bytes()[1..].eq_ignore_ascii_case(&b[s..s + 2]));
        if code {
            f(seg, true, false);
            if e - s > 2 {
                f(&folded[s + 2..e], false, true);
            }
        } else {
            f(seg, true, true);
        }
    };
    for (i, c) in folded.char_indices() {
        let brk = is_breaker(c);
        match (brk, start) {
            (true, Some(s)) => {
                emit(s, i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        emit(s, folded.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spl(term: &str, raw: &str) -> bool {
        spl_term(term, false, false).unwrap().is_match(raw)
    }

    #[test]
    fn trap_9_bare_terms_are_segments() {
        assert!(!spl("mimi", "mimikatz.exe"));
        assert!(spl("mimikatz", "mimikatz.exe"));
        assert!(spl("MIMIKATZ", "C:\\x\\mimikatz.exe"));
        assert!(spl("*mimi*", "xmimikatz.exe"));
    }

    #[test]
    fn terms_with_minor_breakers_match_as_sequences() {
        assert!(spl("10.1.2.3", "src=10.1.2.3 dst=x"));
        assert!(!spl("10.1.2.3", "src=110.1.2.3"));
        assert!(spl("cmd.exe", "C:\\Windows\\cmd.exe"));
        assert!(spl("netscan", "C:\\x\\netscan_portable\\a.exe"));
        assert!(!spl("netscan", "C:\\x\\netscan64.exe"));
    }

    #[test]
    fn phrases_starting_on_breakers() {
        assert!(spl("<EventID>1<", "<System><EventID>1</EventID>"));
        assert!(!spl("<EventID>1<", "<System><EventID>10</EventID>"));
        assert!(spl("web error", "a web error b"));
        assert!(!spl("web error", "a web errors b"));
    }

    #[test]
    fn wildcards_stay_within_major_segments() {
        assert!(spl("net*exe", "C:\\net\\scan.exe"));
        assert!(!spl("net*exe", "net user a.exe"));
    }

    #[test]
    fn term_and_case() {
        let t = spl_term("EventCode=1", true, false).unwrap();
        assert!(t.is_match("x EventCode=1 y"));
        assert!(!t.is_match("x EventCode=10 y"));
        assert!(!t.is_match("x.EventCode=1"));
        let c = spl_term("LOCALHOST", false, true).unwrap();
        assert!(c.is_match("host LOCALHOST"));
        assert!(!c.is_match("host localhost"));
    }

    #[test]
    fn segments_split_at_breakers_and_sequences() {
        let mut v = Vec::new();
        segments("c:\\x\\cmd.exe a%20b--c", false, |s| v.push(s.to_string()));
        assert_eq!(v, vec!["c", "x", "cmd", "exe", "a", "20b", "c"]);
        let mut v = Vec::new();
        segments("a%20b--c x-y", true, |s| v.push(s.to_string()));
        assert_eq!(v, vec!["a", "b", "c", "x", "y"]);
    }

    #[test]
    fn trap_15_and_18_kql_has() {
        let has = |v: &str, s: &str| kql_has(v, false).unwrap().is_match(s);
        assert!(!has("Explorer", "KustoExplorerQueryRun"));
        assert!(has("america", "North America"));
        assert!(!has("amer", "North America"));
        assert!(has("b", "a b"));
        assert!(has("cmd.exe", "C:\\x\\cmd.exe"));
        assert!(!has("cmd.exe", "xcmd.exe"));
        assert!(!kql_has("Explorer", true)
            .unwrap()
            .is_match("Kusto explorer"));
    }
}
