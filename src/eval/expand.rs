//! Textual expansion of SPL macros (`` `name` ``, `` `name(a,b)` ``)
//! before parsing, as Splunk does.
//!
//! Expansion is recursive (a definition may call other macros) with a
//! depth limit. Backticks inside double-quoted strings are not macros
//! (SEMANTICS.md C, trap 21), and triple-backtick ```comments``` are
//! left alone. An undefined macro is a reason the rule cannot be
//! evaluated — never "match everything". The result keeps a map from the
//! expanded text back to the original logic, so positions in reasons and
//! diagnostics point at the macro call the user wrote.

use crate::diag::Span;

use super::Reason;

/// How deep macro definitions may nest.
const MAX_DEPTH: usize = 16;

/// A source of macro definitions: the definition of `name` called with
/// `args` (arguments already substituted), or `None` when undefined.
pub trait Macros {
    /// The expanded body of `name(args)`, when defined for that arity.
    fn lookup(&self, name: &str, args: &[String]) -> Option<String>;

    /// The arities `name` is defined with (for "defined with 1 argument").
    fn arities(&self, _name: &str) -> Vec<usize> {
        Vec::new()
    }
}

impl Macros for crate::macros::MacroSet {
    fn lookup(&self, name: &str, args: &[String]) -> Option<String> {
        self.get(name, args.len()).map(|d| d.expand(args))
    }

    fn arities(&self, name: &str) -> Vec<usize> {
        crate::macros::MacroSet::arities(self, name)
    }
}

impl<F: Fn(&str, &[String]) -> Option<String>> Macros for F {
    fn lookup(&self, name: &str, args: &[String]) -> Option<String> {
        self(name, args)
    }
}

/// A macro reference found in text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The macro's name.
    pub name: String,
    /// Arguments as written, trimmed.
    pub args: Vec<String>,
    /// The backtick-delimited reference.
    pub span: Span,
}

/// An expanded text with its map back to the original.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The text after expansion.
    pub text: String,
    /// `(original call span, expanded replacement span)`, in order.
    segments: Vec<(Span, Span)>,
}

impl Expansion {
    /// Maps a span of the expanded text back to the original text: spans
    /// inside an expansion map to the macro call that produced them.
    pub fn to_original(&self, span: Span) -> Span {
        let mut delta: isize = 0;
        for (orig, exp) in &self.segments {
            if span.start >= exp.end {
                delta = orig.end as isize - exp.end as isize;
                continue;
            }
            if span.start >= exp.start {
                return *orig;
            }
            break;
        }
        let shift = |x: usize| (x as isize + delta).max(0) as usize;
        Span::new(shift(span.start), shift(span.end))
    }
}

/// Finds every macro call outside quoted strings and comments.
pub fn calls(text: &str) -> Vec<Call> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'`' if text[i..].starts_with("```") => {
                i = text[i + 3..].find("```").map_or(b.len(), |j| i + 3 + j + 3);
            }
            b'`' => {
                let Some(len) = text[i + 1..].find('`') else {
                    break;
                };
                let inner = &text[i + 1..i + 1 + len];
                let (name, args) = split_call(inner);
                if !name.is_empty() {
                    out.push(Call {
                        name,
                        args,
                        span: Span::new(i, i + len + 2),
                    });
                }
                i += len + 2;
            }
            _ => i += 1,
        }
    }
    out
}

/// Splits `name(a, "b,c", d)` into its name and top-level arguments.
fn split_call(inner: &str) -> (String, Vec<String>) {
    let inner = inner.trim();
    let Some(open) = inner.find('(') else {
        return (inner.to_string(), Vec::new());
    };
    let name = inner[..open].trim().to_string();
    let body = inner[open + 1..]
        .strip_suffix(')')
        .unwrap_or(&inner[open + 1..]);
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut quote = false;
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '"' => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote => depth = depth.saturating_sub(1),
            ',' if !quote && depth == 0 => {
                args.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() || !args.is_empty() {
        args.push(cur.trim().to_string());
    }
    (name, args)
}

/// Expands every macro in `text`, recursively.
pub fn expand(text: &str, macros: &dyn Macros) -> Result<Expansion, Vec<Reason>> {
    let mut reasons = Vec::new();
    let exp = expand_at(text, macros, 0, None, &mut reasons);
    if reasons.is_empty() {
        Ok(exp)
    } else {
        Err(reasons)
    }
}

fn expand_at(
    text: &str,
    macros: &dyn Macros,
    depth: usize,
    outer: Option<Span>,
    reasons: &mut Vec<Reason>,
) -> Expansion {
    let mut out = Expansion::default();
    let mut last = 0;
    for call in calls(text) {
        let at = outer.unwrap_or(call.span);
        out.text.push_str(&text[last..call.span.start]);
        last = call.span.end;
        let arity = call.args.len();
        let Some(body) = macros.lookup(&call.name, &call.args) else {
            let defined = macros.arities(&call.name);
            let note = if defined.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = defined.iter().map(usize::to_string).collect();
                format!(" (defined with {} arguments)", list.join(" or "))
            };
            reasons.push(Reason {
                what: "macro".to_string(),
                span: Some(at),
                message: format!(
                    "not evaluable: undefined macro `{}` with {arity} argument{}{note}",
                    call.name,
                    if arity == 1 { "" } else { "s" }
                ),
                position: None,
            });
            out.text.push_str(&text[call.span.start..call.span.end]);
            continue;
        };
        if depth >= MAX_DEPTH {
            reasons.push(Reason {
                what: "macro".to_string(),
                span: Some(at),
                message: format!(
                    "not evaluable: macro `{}` nests deeper than {MAX_DEPTH} levels",
                    call.name
                ),
                position: None,
            });
            continue;
        }
        let inner = expand_at(&body, macros, depth + 1, Some(at), reasons);
        let start = out.text.len();
        // Spaces keep the expansion from gluing onto neighbouring words.
        out.text.push(' ');
        out.text.push_str(&inner.text);
        out.text.push(' ');
        out.segments
            .push((call.span, Span::new(start, out.text.len())));
    }
    out.text.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(name: &str, args: &[String]) -> Option<String> {
        match (name, args.len()) {
            ("a", 0) => Some("index=x `b`".to_string()),
            ("b", 0) => Some("sourcetype=y".to_string()),
            ("f", 2) => Some(format!("{}={}", args[0], args[1])),
            ("loop", 0) => Some("`loop`".to_string()),
            _ => None,
        }
    }

    #[test]
    fn expands_recursively_with_args() {
        let e = expand("`a` `f(user, \"x,y\")` | table x", &defs).unwrap();
        assert_eq!(
            e.text.split_whitespace().collect::<Vec<_>>(),
            vec!["index=x", "sourcetype=y", "user=\"x,y\"", "|", "table", "x"]
        );
    }

    #[test]
    fn trap_21_macros_in_quotes_are_not_expanded() {
        let e = expand("\"x`a`y\" `b`", &defs).unwrap();
        assert!(e.text.starts_with("\"x`a`y\""), "{}", e.text);
        assert!(e.text.contains("sourcetype=y"));
    }

    #[test]
    fn comments_are_not_macros() {
        let e = expand("a ```skip `zz` this``` b", &defs).unwrap();
        assert_eq!(e.text, "a ```skip `zz` this``` b");
    }

    #[test]
    fn undefined_macro_is_a_reason_with_its_span() {
        let r = expand("x `nope(1)` y", &defs).unwrap_err();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].span, Some(Span::new(2, 11)));
        assert!(r[0]
            .message
            .contains("undefined macro `nope` with 1 argument"));
        // Undefined inside a definition points at the outer call.
        let r = expand("`g`", &|n: &str, _: &[String]| {
            (n == "g").then(|| "`h`".to_string())
        })
        .unwrap_err();
        assert_eq!(r[0].span, Some(Span::new(0, 3)));
    }

    #[test]
    fn macro_set_lookup_by_arity() {
        use crate::macros::{MacroDef, MacroSet};
        let set = MacroSet::new(vec![MacroDef {
            name: "g".into(),
            args: vec!["f".into()],
            definition: "by $f$".into(),
            path: "m.conf".into(),
        }]);
        assert_eq!(expand("`g(host)`", &set).unwrap().text.trim(), "by host");
        let r = expand("`g`", &set).unwrap_err();
        assert!(
            r[0].message.contains("(defined with 1 arguments)"),
            "{}",
            r[0].message
        );
    }

    #[test]
    fn recursion_is_limited() {
        let r = expand("`loop`", &defs).unwrap_err();
        assert!(r[0].message.contains("nests deeper"));
    }

    #[test]
    fn spans_map_back() {
        let e = expand("`b` | where x=1", &defs).unwrap();
        let at = e.text.find("where").unwrap();
        let orig = e.to_original(Span::new(at, at + 5));
        assert_eq!(orig, Span::new(6, 11));
        let inside = e.text.find("sourcetype").unwrap();
        assert_eq!(
            e.to_original(Span::new(inside, inside + 3)),
            Span::new(0, 3)
        );
    }
}
