//! Maps a position in a rule's logic back to its place in the YAML file.
//!
//! Front-ends report spans into the logic string, i.e. the YAML scalar
//! after unquoting and line folding. An editor needs the file's line and
//! column, so this walks the scalar's source text and the logic side by
//! side, undoing what YAML did: `''` in single-quoted scalars, backslash
//! escapes in double-quoted ones, folded line breaks (a break plus
//! indentation reads as one space; each blank line as a newline), and the
//! indentation of block scalars (`|`, `>`). When the two texts stop
//! agreeing — an escape this walk does not model — it gives up and the
//! caller keeps the logic-relative position.

use super::yaml::top_level_key_span;

/// The byte offset in `yaml` of byte `target` of `logic`, the value of
/// top-level key `key`; `None` when the scalar cannot be followed.
pub fn logic_offset_in_file(yaml: &str, key: &str, logic: &str, target: usize) -> Option<usize> {
    let span = top_level_key_span(yaml, key)?;
    let b = yaml.as_bytes();
    let mut i = span.end;
    i += 1; // the ':'
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    let style = *b.get(i)?;
    let walk = Walk {
        yaml,
        logic,
        target,
    };
    match style {
        b'|' | b'>' => walk.block(i),
        b'\'' => walk.flow(i + 1, Quote::Single),
        b'"' => walk.flow(i + 1, Quote::Double),
        _ => walk.flow(i, Quote::Plain),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
    Plain,
}

struct Walk<'a> {
    yaml: &'a str,
    logic: &'a str,
    target: usize,
}

impl Walk<'_> {
    /// Block scalar: content lines share one indentation, which is dropped.
    fn block(&self, header: usize) -> Option<usize> {
        let y = self.yaml.as_bytes();
        let mut f = header + self.yaml[header..].find('\n')? + 1;
        // Indentation of the first non-blank content line.
        let indent = self.yaml[f..]
            .split('\n')
            .find(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())?;
        let skip_indent = |mut f: usize| {
            let mut n = 0;
            while n < indent && f < y.len() && y[f] == b' ' {
                f += 1;
                n += 1;
            }
            f
        };
        f = skip_indent(f);
        let l = self.logic.as_bytes();
        let mut p = 0;
        while p < self.target {
            if p >= l.len() || f >= y.len() {
                return None;
            }
            if l[p] == b'\n' {
                f = skip_indent(f + self.yaml[f..].find('\n')? + 1);
            } else if l[p] == y[f] {
                f += 1;
            } else {
                return None;
            }
            p += 1;
        }
        Some(f)
    }

    /// Flow scalar (plain, single- or double-quoted) with line folding.
    fn flow(&self, start: usize, quote: Quote) -> Option<usize> {
        let y = self.yaml.as_bytes();
        let l = self.logic.as_bytes();
        let (mut f, mut p) = (start, 0);
        while p < self.target {
            if f >= y.len() || p >= l.len() {
                return None;
            }
            match y[f] {
                b'\n' | b'\r' => {
                    // A break, the next lines' indentation, and any blank
                    // lines fold to one space or to one newline per blank line.
                    let mut blank = 0;
                    loop {
                        f += self.yaml[f..].find('\n')? + 1;
                        let line = &self.yaml[f..];
                        let ws = line.len() - line.trim_start_matches([' ', '\t']).len();
                        if line[ws..].starts_with('\n') || line[ws..].starts_with("\r\n") {
                            blank += 1;
                            continue;
                        }
                        f += ws;
                        break;
                    }
                    // Trailing spaces before the break were dropped from the value.
                    if blank == 0 {
                        if l[p] != b' ' {
                            return None;
                        }
                        p += 1;
                    } else {
                        for _ in 0..blank {
                            if l.get(p) != Some(&b'\n') {
                                return None;
                            }
                            p += 1;
                        }
                    }
                }
                b'\'' if quote == Quote::Single => {
                    if y.get(f + 1) != Some(&b'\'') || l[p] != b'\'' {
                        return None;
                    }
                    f += 2;
                    p += 1;
                }
                b'\\' if quote == Quote::Double => {
                    // One escape, one logic character (\xNN etc. are longer
                    // in the file; their exact width is not modelled).
                    f += 2;
                    p += self.logic[p..].chars().next()?.len_utf8();
                }
                c if c == l[p] => {
                    f += 1;
                    p += 1;
                }
                b' ' | b'\t'
                    if self.yaml[f..]
                        .trim_start_matches([' ', '\t'])
                        .starts_with(['\n', '\r']) =>
                {
                    // Spaces before a line break are not part of the value.
                    f = self.yaml.len() - self.yaml[f..].trim_start_matches([' ', '\t']).len();
                }
                _ => return None,
            }
        }
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str, key: &str, logic: &str, needle: &str) {
        let target = logic.find(needle).expect("needle in logic");
        let at = logic_offset_in_file(yaml, key, logic, target).expect("mapped");
        assert!(yaml[at..].starts_with(needle), "{:?} at {at}", &yaml[at..]);
    }

    #[test]
    fn single_quoted_folded_scalar() {
        let yaml =
            "id: x\nlogic: 'index=a \"b\"\n  | where x=''y'' | stats count\n  by host'\nother: 1\n";
        let logic = "index=a \"b\" | where x='y' | stats count by host";
        check(yaml, "logic", logic, "stats");
        check(yaml, "logic", logic, "host");
        check(yaml, "logic", logic, "| where");
    }

    #[test]
    fn literal_block_scalar() {
        let yaml = "query: |\n  let a = 1;\n  T\n  | where X == a\nname: n\n";
        let logic = "let a = 1;\nT\n| where X == a\n";
        check(yaml, "query", logic, "where");
        check(yaml, "query", logic, "T\n");
    }

    #[test]
    fn blank_line_in_block_and_plain_scalar() {
        let yaml = "query: |\n  A\n\n  | take 1\n";
        check(yaml, "query", "A\n\n| take 1\n", "take");
        let plain = "search: index=x\n  foo | head 1\n";
        check(plain, "search", "index=x foo | head 1", "head");
    }

    #[test]
    fn gives_up_rather_than_guessing() {
        let yaml = "logic: 'abc'\n";
        assert_eq!(logic_offset_in_file(yaml, "logic", "xyz", 2), None);
        assert_eq!(logic_offset_in_file(yaml, "nokey", "abc", 1), None);
    }
}
