//! Field access shared by events and pipeline rows.
//!
//! Filters that open a pipeline run on borrowed [`Event`]s (nothing is
//! copied for the events they drop); later stages run on owned [`Rec`]s.
//! Both answer the same question — "the values of field `name`" — through
//! [`Record`].

use std::collections::BTreeMap;

use crate::events::Event;

use super::prefilter::Bits;

/// Read access to a row's fields.
pub trait Record {
    /// The non-empty values of `name`, or `None` when it is missing.
    /// `_raw` is the raw text.
    fn values(&self, name: &str) -> Option<&[String]>;

    /// Every field name present (for wildcard patterns).
    fn names(&self) -> Vec<&str>;

    /// The pre-selection atoms of the event, when it was scanned.
    fn atoms(&self) -> Option<&Bits> {
        None
    }
}

/// An event with its pre-selection atoms (see [`super::prefilter`]).
pub struct Scanned<'a>(pub &'a Event, pub &'a Bits);

impl Record for Scanned<'_> {
    fn values(&self, name: &str) -> Option<&[String]> {
        Record::values(self.0, name)
    }

    fn names(&self) -> Vec<&str> {
        Record::names(self.0)
    }

    fn atoms(&self) -> Option<&Bits> {
        Some(self.1)
    }
}

impl Record for Event {
    fn values(&self, name: &str) -> Option<&[String]> {
        if name == "_raw" {
            return Some(std::slice::from_ref(&self.raw));
        }
        self.fields
            .get(name)
            .map(Vec::as_slice)
            .filter(|v| !v.is_empty())
    }

    fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.fields.keys().map(String::as_str).collect();
        v.push("_raw");
        v
    }
}

/// A row flowing through the pipeline after the leading filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rec {
    /// Field name → values; `_raw` is an ordinary field here.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Indexes of the input events this row was made from (sorted).
    pub src: Vec<u32>,
}

impl Rec {
    /// A row copied from input event `index`.
    pub fn from_event(event: &Event, index: u32) -> Rec {
        let mut fields = event.fields.clone();
        fields.insert("_raw".to_string(), vec![event.raw.clone()]);
        Rec {
            fields,
            src: vec![index],
        }
    }

    /// Sets a field; an empty value list removes it (a null eval result).
    pub fn set(&mut self, name: &str, values: Vec<String>) {
        if values.is_empty() {
            self.fields.remove(name);
        } else {
            self.fields.insert(name.to_string(), values);
        }
    }
}

impl Record for Rec {
    fn values(&self, name: &str) -> Option<&[String]> {
        self.fields
            .get(name)
            .map(Vec::as_slice)
            .filter(|v| !v.is_empty())
    }

    fn names(&self) -> Vec<&str> {
        self.fields.keys().map(String::as_str).collect()
    }
}

/// A view for `tstats`: a data-model field such as
/// `Processes.process_name` reads the event's CIM field `process_name`
/// when the event has no field of the prefixed name.
pub struct DataModel<'a, R: ?Sized>(pub &'a R);

impl<R: Record + ?Sized> Record for DataModel<'_, R> {
    fn values(&self, name: &str) -> Option<&[String]> {
        self.0.values(name).or_else(|| {
            name.rsplit_once('.')
                .and_then(|(_, short)| self.0.values(short))
        })
    }

    fn names(&self) -> Vec<&str> {
        self.0.names()
    }

    fn atoms(&self) -> Option<&Bits> {
        self.0.atoms()
    }
}

/// Whether `name` matches a field-name pattern where `*` is any run.
pub fn glob_name(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let last = parts.pop().unwrap_or("");
    for mid in parts {
        match rest.find(mid) {
            Some(at) => rest = &rest[at + mid.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Matches a field-name pattern and returns what each `*` matched
/// (leftmost-shortest per star, last star greedy), for `rename a* AS b*`.
pub fn glob_captures(pattern: &str, name: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return (pattern == name).then(Vec::new);
    }
    let first = parts[0];
    let last = parts[parts.len() - 1];
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return None;
    }
    let mut caps = Vec::new();
    let mut pos = first.len();
    let end = name.len() - last.len();
    for mid in &parts[1..parts.len() - 1] {
        let rest = &name[pos..end];
        let at = rest.find(mid)?;
        caps.push(rest[..at].to_string());
        pos += at + mid.len();
    }
    caps.push(name[pos..end].to_string());
    Some(caps)
}

/// Fills the `*`s of `pattern` with `caps`, in order.
pub fn glob_fill(pattern: &str, caps: &[String]) -> String {
    let mut out = String::new();
    let mut it = caps.iter();
    for (i, part) in pattern.split('*').enumerate() {
        if i > 0 {
            if let Some(c) = it.next() {
                out.push_str(c);
            }
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_on_names() {
        assert!(glob_name("process_*", "process_name"));
        assert!(!glob_name("process_*", "parent_process"));
        assert!(glob_name("*", "x"));
        assert_eq!(
            glob_captures("*_ip", "src_ip"),
            Some(vec!["src".to_string()])
        );
        assert_eq!(glob_fill("ip_*", &["src".to_string()]), "ip_src");
        assert_eq!(
            glob_captures("Processes.*", "Processes.dest"),
            Some(vec!["dest".to_string()])
        );
        assert_eq!(
            glob_captures("a*b*c", "axxbyyc"),
            Some(vec!["xx".into(), "yy".into()])
        );
        assert_eq!(glob_captures("ab*ba", "aba"), None);
        assert!(!glob_name("ab*ba", "aba"));
        assert!(glob_name("a*b*c", "axxbyyc"));
        assert!(!glob_name("a*b*c", "axxbyy"));
        assert!(glob_name("*_ip", "src_ip"));
        assert!(!glob_name("x", "xy"));
    }

    #[test]
    fn data_model_view_strips_prefix() {
        let mut e = Event::default();
        e.set("process_name", "cmd.exe");
        let dm = DataModel(&e);
        assert_eq!(
            dm.values("Processes.process_name").map(|v| v[0].as_str()),
            Some("cmd.exe")
        );
        assert!(dm.values("Processes.user").is_none());
    }
}
