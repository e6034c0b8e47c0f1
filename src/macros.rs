//! Splunk macro definitions (`macros.conf`, security_content `macros/*.yml`).
//!
//! Loading only: a [`MacroDef`] holds the name, argument names and
//! definition text; [`MacroSet`] looks them up by name and arity, the way
//! Splunk keys `[name(2)]` stanzas. Expanding a macro substitutes its
//! `$arg$` tokens; parsing the result is the SPL front-end's job.

// `Diagnostic` (128+ bytes) is the error type of the crawl API; errors
// are one per bad file, so boxing them would buy nothing measurable.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_yaml::Value;

use crate::crawl::yaml;
use crate::diag::{Diagnostic, Severity, Span};

/// One macro definition, from a `macros.conf` stanza or a macro YAML file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MacroDef {
    /// The name without the `(N)` arity suffix.
    pub name: String,
    /// Argument names, in call order; their count is the macro's arity.
    pub args: Vec<String>,
    /// The SPL the macro stands for, with `$arg$` placeholders.
    pub definition: String,
    /// The file the definition was read from.
    pub path: PathBuf,
}

impl MacroDef {
    /// The number of arguments the macro takes.
    pub fn arity(&self) -> usize {
        self.args.len()
    }

    /// The definition with each `$arg$` token replaced by the matching
    /// value of `args` (by position).
    ///
    /// Substitution is a single left-to-right pass, so `$x$` text inside
    /// an argument value is never substituted again. `$name$` tokens that
    /// are not argument names (e.g. `$process_name$` meant for a later
    /// layer) are kept as written; missing values leave their token as is.
    pub fn expand(&self, args: &[String]) -> String {
        let def = self.definition.as_str();
        let mut out = String::with_capacity(def.len());
        let mut rest = def;
        while let Some(open) = rest.find('$') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let replaced = after.find('$').and_then(|close| {
                let name = &after[..close];
                let i = self.args.iter().position(|a| a == name)?;
                Some((args.get(i)?, close))
            });
            match replaced {
                Some((value, close)) => {
                    out.push_str(value);
                    rest = &after[close + 1..];
                }
                None => {
                    // Not a token: keep the `$` and look again from the
                    // next character, so `$$x$` still finds `$x$`.
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Macro definitions indexed by (name, arity).
#[derive(Clone, Debug, Default)]
pub struct MacroSet {
    /// Every definition, first-loaded first.
    defs: Vec<MacroDef>,
    /// (name, arity) → index into `defs` of the first such definition.
    by_key: HashMap<(String, usize), usize>,
}

impl MacroSet {
    /// Indexes `defs`; when a (name, arity) pair repeats, the first
    /// definition wins (the crawler warns about the others).
    pub fn new(defs: Vec<MacroDef>) -> Self {
        let mut by_key = HashMap::with_capacity(defs.len());
        for (i, d) in defs.iter().enumerate() {
            by_key.entry((d.name.clone(), d.arity())).or_insert(i);
        }
        MacroSet { defs, by_key }
    }

    /// The definition of `name` taking `arity` arguments.
    pub fn get(&self, name: &str, arity: usize) -> Option<&MacroDef> {
        // Building the owned key costs an allocation per lookup; macro
        // lookups are rare next to parsing, so a borrowed-key map is not
        // worth its complexity.
        self.by_key
            .get(&(name.to_string(), arity))
            .map(|&i| &self.defs[i])
    }

    /// The arities `name` is defined with, ascending (for "called with 2
    /// arguments, defined with 1" messages).
    pub fn arities(&self, name: &str) -> Vec<usize> {
        let mut a: Vec<usize> = self
            .by_key
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .collect();
        a.sort_unstable();
        a
    }

    /// The number of distinct (name, arity) definitions.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no macro is defined.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Every definition in load order, including shadowed duplicates.
    pub fn iter(&self) -> impl Iterator<Item = &MacroDef> {
        self.defs.iter()
    }
}

/// Splits a stanza or macro name `name(2)` into `("name", Some(2))`.
fn split_arity(name: &str) -> (&str, Option<usize>) {
    let name = name.trim();
    if let Some(body) = name.strip_suffix(')') {
        if let Some(open) = body.rfind('(') {
            if let Ok(n) = body[open + 1..].trim().parse::<usize>() {
                return (body[..open].trim_end(), Some(n));
            }
        }
    }
    (name, None)
}

/// Splits an `args = a, b` value into names.
fn split_args(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// A stanza being collected from a `macros.conf` file.
struct Stanza {
    /// The header text between the brackets.
    header: String,
    /// Span of the header line's name, for diagnostics.
    span: Span,
    /// Keys with their values and value spans, in file order.
    keys: Vec<(String, String, Span)>,
}

impl Stanza {
    /// The value of `key` (the last one, as in Splunk's layered .conf files).
    fn value(&self, key: &str) -> Option<&(String, String, Span)> {
        self.keys.iter().rev().find(|(k, _, _)| k == key)
    }
}

/// Parses a Splunk `macros.conf`: `[name]` / `[name(2)]` stanzas with
/// `args = a, b` and `definition = ...`.
///
/// A line ending in a backslash continues on the next line; the backslash
/// is dropped and the line break kept, so multi-line definitions keep
/// their lines. Other keys (`iseval`, `description`, `errormsg`,
/// `validation`) are read and ignored. A stanza whose `args` count differs
/// from its `(N)`, or that has no `definition`, is an error and skipped.
pub fn parse_macros_conf(text: &str, path: &Path) -> (Vec<MacroDef>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut stanzas: Vec<Stanza> = Vec::new();
    let lines = logical_lines(text);

    for (start, line) in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let lead = line.len() - line.trim_start().len();
        let line_span = Span::new(start + lead, start + lead + trimmed.len());
        if let Some(inner) = trimmed.strip_prefix('[') {
            let Some(header) = inner.strip_suffix(']') else {
                diags.push(Diagnostic::file(
                    Severity::Error,
                    "invalid-conf-line",
                    "stanza header has no closing `]`",
                    path,
                    Some(line_span),
                ));
                continue;
            };
            let header = header.trim().to_string();
            if let Some(prev) = stanzas.iter().position(|s| s.header == header) {
                diags.push(
                    Diagnostic::file(
                        Severity::Warning,
                        "duplicate-stanza",
                        format!("stanza `[{header}]` appears twice; its keys are merged, later values win"),
                        path,
                        Some(line_span),
                    )
                    .with_note(format!(
                        "first at line {}",
                        crate::diag::Position::of(text, stanzas[prev].span.start).line
                    )),
                );
                // Re-open the earlier stanza so its keys merge, as Splunk does.
                let s = stanzas.remove(prev);
                stanzas.push(s);
            } else {
                stanzas.push(Stanza {
                    header,
                    span: line_span,
                    keys: Vec::new(),
                });
            }
            continue;
        }
        let Some(eq) = line.find('=') else {
            diags.push(Diagnostic::file(
                Severity::Warning,
                "invalid-conf-line",
                "line is neither a `[stanza]` nor `key = value`; ignored",
                path,
                Some(line_span),
            ));
            continue;
        };
        let key = line[..eq].trim().to_string();
        let raw = &line[eq + 1..];
        let value = raw.trim().to_string();
        let vstart = start + eq + 1 + (raw.len() - raw.trim_start().len());
        let vspan = Span::new(vstart, vstart + value.len());
        match stanzas.last_mut() {
            Some(s) => s.keys.push((key, value, vspan)),
            // Keys before the first stanza belong to [default], which does
            // not define macros.
            None => log::debug!("{}: key `{key}` outside any stanza ignored", path.display()),
        }
    }

    let mut defs = Vec::new();
    for s in &stanzas {
        let (name, arity) = split_arity(&s.header);
        let args = s
            .value("args")
            .map(|(_, v, _)| split_args(v))
            .unwrap_or_default();
        let declared = arity.unwrap_or(0);
        if args.len() != declared {
            diags.push(Diagnostic::file(
                Severity::Error,
                "macro-args-mismatch",
                format!(
                    "macro `{}` declares {declared} argument(s) but `args` names {}; skipped",
                    s.header,
                    args.len()
                ),
                path,
                Some(s.value("args").map_or(s.span, |(_, _, sp)| *sp)),
            ));
            continue;
        }
        let Some((_, definition, _)) = s.value("definition") else {
            diags.push(Diagnostic::file(
                Severity::Error,
                "missing-definition",
                format!("macro `{}` has no `definition`; skipped", s.header),
                path,
                Some(s.span),
            ));
            continue;
        };
        if s.value("iseval").is_some_and(|(_, v, _)| v.trim() == "1") {
            diags.push(Diagnostic::file(
                Severity::Warning,
                "eval-macro",
                format!("macro `{}` is an eval-based macro (iseval = 1); its definition is kept as text", s.header),
                path,
                Some(s.span),
            ));
        }
        defs.push(MacroDef {
            name: name.to_string(),
            args,
            definition: definition.clone(),
            path: path.to_path_buf(),
        });
    }
    (defs, diags)
}

/// Yields `(byte offset, logical line)` pairs, joining physical lines that
/// end in a backslash (the backslash dropped, the line break kept).
fn logical_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut physical = text
        .split('\n')
        .scan(0usize, |off, l| {
            let start = *off;
            *off += l.len() + 1;
            Some((start, l.strip_suffix('\r').unwrap_or(l)))
        })
        .peekable();
    std::iter::from_fn(move || {
        let (start, first) = physical.next()?;
        let mut line = first.to_string();
        while line.ends_with('\\') {
            line.pop();
            match physical.next() {
                Some((_, next)) => {
                    line.push('\n');
                    line.push_str(next);
                }
                None => break,
            }
        }
        Some((start, line))
    })
}

/// Parses a security_content macro YAML file (`name`, `definition`,
/// optional `arguments` list).
pub fn parse_macro_yaml(text: &str, path: &Path) -> Result<MacroDef, Diagnostic> {
    let value = yaml::parse_document(text, path)?;
    macro_from_value(&value, text, path)
}

/// Maps a parsed macro YAML document onto a [`MacroDef`].
pub(crate) fn macro_from_value(
    value: &Value,
    text: &str,
    path: &Path,
) -> Result<MacroDef, Diagnostic> {
    let Some(map) = value.as_mapping() else {
        return Err(Diagnostic::file(
            Severity::Error,
            "invalid-macro",
            "macro file is not a YAML mapping",
            path,
            None,
        ));
    };
    let field_error = |key: &str, what: &str| {
        Diagnostic::file(
            Severity::Error,
            "invalid-macro",
            format!("macro `{key}` {what}"),
            path,
            yaml::top_level_key_span(text, key),
        )
    };
    let name = yaml::get(map, "name")
        .and_then(yaml::scalar_text)
        .ok_or_else(|| field_error("name", "is missing or not a string"))?;
    let definition = yaml::get(map, "definition")
        .and_then(yaml::scalar_text)
        .ok_or_else(|| field_error("definition", "is missing or not a string"))?;
    let (args, odd) = yaml::get(map, "arguments").map_or((Vec::new(), 0), yaml::flatten_scalars);
    if odd > 0 {
        return Err(field_error(
            "arguments",
            "holds mappings; expected a list of names",
        ));
    }
    let (bare, arity) = split_arity(&name);
    if let Some(n) = arity {
        if n != args.len() {
            return Err(field_error(
                "arguments",
                &format!("names {} argument(s) but the name says {n}", args.len()),
            ));
        }
    }
    Ok(MacroDef {
        name: bare.to_string(),
        args,
        definition,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, args: &[&str], definition: &str) -> MacroDef {
        MacroDef {
            name: name.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            definition: definition.into(),
            path: PathBuf::from("m.conf"),
        }
    }

    #[test]
    fn conf_stanzas_args_and_continuations() {
        let text = "# comment\n[plain]\ndefinition = index=win\n\n[two(2)]\nargs = a, b\ndefinition = search x=$a$ \\\n| where y=\"$b$\"\niseval = 0\n";
        let (defs, diags) = parse_macros_conf(text, Path::new("m.conf"));
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[0], def("plain", &[], "index=win"));
        assert_eq!(defs[1].name, "two");
        assert_eq!(defs[1].args, vec!["a", "b"]);
        assert_eq!(defs[1].definition, "search x=$a$ \n| where y=\"$b$\"");
    }

    #[test]
    fn conf_arity_mismatch_and_missing_definition_are_errors() {
        let text =
            "[f(2)]\nargs = a\ndefinition = x\n[g]\nargs=\n[h(1)]\nargs = q\ndefinition = $q$\n";
        let (defs, diags) = parse_macros_conf(text, Path::new("m.conf"));
        assert_eq!(
            defs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            vec!["h"]
        );
        let codes: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, vec!["macro-args-mismatch", "missing-definition"]);
        assert_eq!(diags[0].position(text).map(|p| p.line), Some(2));
    }

    #[test]
    fn conf_duplicate_stanza_merges() {
        let text = "[a]\ndefinition = 1\n[b]\ndefinition = 2\n[a]\ndefinition = 3\n";
        let (defs, diags) = parse_macros_conf(text, Path::new("m.conf"));
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "duplicate-stanza");
        let a = defs.iter().find(|d| d.name == "a").expect("a");
        assert_eq!(a.definition, "3");
    }

    #[test]
    fn yaml_macro_with_arguments() {
        let text = "arguments:\n  - field\ndefinition: 'convert ctime($field$)'\nname: security_content_ctime\n";
        let m = parse_macro_yaml(text, Path::new("m.yml")).expect("macro");
        assert_eq!(m.name, "security_content_ctime");
        assert_eq!(m.args, vec!["field"]);
        assert_eq!(m.expand(&["firstTime".into()]), "convert ctime(firstTime)");
    }

    #[test]
    fn yaml_macro_without_definition_is_error() {
        let e = parse_macro_yaml("name: x\n", Path::new("m.yml")).expect_err("error");
        assert_eq!(e.code, "invalid-macro");
        assert!(e.message.contains("definition"));
    }

    #[test]
    fn expand_is_single_pass_and_keeps_unknown_tokens() {
        let m = def("m", &["a", "b"], "$a$ and $b$ and $other$ and $$a$");
        let got = m.expand(&["$b$".into(), "B".into()]);
        assert_eq!(got, "$b$ and B and $other$ and $$b$");
        // A missing value leaves its token.
        assert_eq!(m.expand(&["x".into()]), "x and $b$ and $other$ and $x");
    }

    #[test]
    fn set_looks_up_by_name_and_arity() {
        let set = MacroSet::new(vec![
            def("m", &[], "zero"),
            def("m", &["x"], "one"),
            def("m", &[], "shadowed"),
        ]);
        assert_eq!(set.len(), 2);
        assert!(!set.is_empty());
        assert_eq!(set.get("m", 0).map(|d| d.definition.as_str()), Some("zero"));
        assert_eq!(set.get("m", 1).map(|d| d.definition.as_str()), Some("one"));
        assert!(set.get("m", 2).is_none());
        assert!(set.get("M", 0).is_none());
        assert_eq!(set.arities("m"), vec![0, 1]);
    }

    #[test]
    fn split_arity_forms() {
        assert_eq!(split_arity("a(2)"), ("a", Some(2)));
        assert_eq!(split_arity("a"), ("a", None));
        assert_eq!(split_arity("a(x)"), ("a(x)", None));
    }
}
