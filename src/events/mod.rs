//! Events that rules are evaluated against, and the loaders that read them.
//!
//! Every loader produces the same [`Event`]: named, possibly multi-valued
//! string fields plus the `_raw` text Splunk's bare terms are matched
//! against. Field names are those of the source (`EventID`, `Image`…)
//! until the field map adds the Splunk/CIM names rules use.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// One event: fields, raw text and provenance.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Event {
    /// Field name → values (one for most fields, several for multivalue).
    pub fields: BTreeMap<String, Vec<String>>,
    /// The event as text: the XML for EVTX/XML input, the line for JSON
    /// lines and CSV.
    pub raw: String,
    /// Where the event came from.
    pub origin: EventOrigin,
}

/// Where an event was read from, for `--explain` and reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EventOrigin {
    /// The file.
    pub path: PathBuf,
    /// The record number (EVTX) or 1-based line / element index.
    pub record: u64,
}

impl Event {
    /// The first value of `name`, if present. `_raw` is the raw text.
    pub fn get(&self, name: &str) -> Option<&str> {
        if name == "_raw" {
            return Some(&self.raw);
        }
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of `name` (empty when missing). `_raw` is the raw text.
    pub fn values(&self, name: &str) -> &[String] {
        self.fields.get(name).map_or(&[], Vec::as_slice)
    }

    /// Sets `name` to a single value, replacing what was there.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.fields.insert(name.into(), vec![value.into()]);
    }
}
