//! The field map: derives the Splunk CIM names rules use (`process_name`,
//! `process_path`, `parent_process`…) from a source's own names (`Image`,
//! `NewProcessName`, `ImageFileName`…).
//!
//! A map is a YAML file (the default is `catalog/fieldmap.yml`, embedded in
//! the binary; its header documents the language). It is a list of entries;
//! each has a `when` condition on field values and a `set` list of derived
//! fields, applied in order. Derivations: copy, `basename`, `dirname`,
//! `value`, `lower`, `hex_to_dec`, `kv`, `epoch_ms`, `time`, `template`.
//! A derived field never replaces a field the event already has unless the
//! entry says `overwrite: true`, so sources that already carry CIM names
//! keep them.

use std::path::Path;

use anyhow::Context as _;
use serde_yaml::Value;

use super::time::{any_time_to_epoch, epoch_ms_to_epoch};
use super::Event;

/// The default map's text, as shipped in `catalog/fieldmap.yml`.
pub const DEFAULT_MAP_YAML: &str = include_str!("../../catalog/fieldmap.yml");

/// An ordered list of derivation entries (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldMap {
    entries: Vec<Entry>,
}

/// One entry: a condition and the fields it derives.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    name: String,
    when: Vec<Condition>,
    overwrite: bool,
    set: Vec<(String, Derivation)>,
}

/// `field: value` (or a list of values, any of which may match;
/// `"*"` = the field exists). Values compare case-insensitively.
#[derive(Clone, Debug, PartialEq)]
struct Condition {
    field: String,
    values: Vec<String>,
}

/// How a derived field gets its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derivation {
    /// What is done to the source values.
    pub kind: DeriveKind,
    /// Source fields, tried in order: the first one present is used.
    pub sources: Vec<String>,
    /// The literal (`value`), the key (`kv`) or the pattern (`template`).
    pub arg: String,
}

/// The derivations the map language has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeriveKind {
    /// The source values as they are.
    Copy,
    /// The part after the last `\` or `/` (the file name of a path).
    Basename,
    /// The part before the last `\` or `/` (the folder of a path).
    Dirname,
    /// A constant.
    Value,
    /// Lower-cased values.
    Lower,
    /// `0x1a2c` → `6700` (Windows Security process ids are hex).
    HexToDec,
    /// The value of one key in `K=v,K=v` text (Sysmon `Hashes`).
    Kv,
    /// Epoch milliseconds → epoch seconds (CrowdStrike `timestamp`).
    EpochMs,
    /// ISO 8601 text, or epoch seconds or milliseconds → epoch seconds.
    Time,
    /// Text with `{Field}` placeholders filled from first values.
    Template,
}

impl DeriveKind {
    const NAMES: [(&'static str, DeriveKind); 10] = [
        ("copy", DeriveKind::Copy),
        ("basename", DeriveKind::Basename),
        ("dirname", DeriveKind::Dirname),
        ("value", DeriveKind::Value),
        ("lower", DeriveKind::Lower),
        ("hex_to_dec", DeriveKind::HexToDec),
        ("kv", DeriveKind::Kv),
        ("epoch_ms", DeriveKind::EpochMs),
        ("time", DeriveKind::Time),
        ("template", DeriveKind::Template),
    ];

    /// The name the map language uses for it.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("copy", |(n, _)| n)
    }
}

/// One way the map can set a field, for linters and `--explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSource {
    /// The entry's name.
    pub entry: String,
    /// Its condition, as `field=value|value` strings.
    pub when: Vec<String>,
    /// The derivation.
    pub derivation: Derivation,
}

impl FieldMap {
    /// The map embedded from `catalog/fieldmap.yml`.
    pub fn default_map() -> FieldMap {
        // The embedded text is fixed at build time and the unit test
        // `default_map_parses` fails on any error in it.
        FieldMap::from_yaml(DEFAULT_MAP_YAML).expect("catalog/fieldmap.yml is a valid field map")
    }

    /// A map that derives nothing.
    pub fn empty() -> FieldMap {
        FieldMap {
            entries: Vec::new(),
        }
    }

    /// Reads a map from YAML text; errors name the entry and field.
    pub fn from_yaml(text: &str) -> Result<FieldMap, String> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
        let Value::Mapping(top) = doc else {
            return Err("a field map is a mapping with an `entries` list".into());
        };
        let mut entries = Vec::new();
        for (k, v) in &top {
            match k.as_str() {
                Some("version") => {
                    if v.as_u64() != Some(1) {
                        return Err(format!(
                            "unsupported version {}",
                            scalar(v).unwrap_or_default()
                        ));
                    }
                }
                Some("entries") => {
                    let Value::Sequence(items) = v else {
                        return Err("`entries` must be a list".into());
                    };
                    for (i, item) in items.iter().enumerate() {
                        entries.push(parse_entry(i + 1, item)?);
                    }
                }
                _ => {
                    return Err(format!(
                        "unknown top-level key `{}` (expected version, entries)",
                        scalar(k).unwrap_or_default()
                    ))
                }
            }
        }
        Ok(FieldMap { entries })
    }

    /// Reads a map from a YAML file.
    pub fn load(path: &Path) -> anyhow::Result<FieldMap> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read field map {}", path.display()))?;
        FieldMap::from_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Adds the derived fields of every matching entry to `ev`.
    pub fn apply(&self, ev: &mut Event) {
        for entry in &self.entries {
            if !entry.when.iter().all(|c| c.matches(ev)) {
                continue;
            }
            for (target, derivation) in &entry.set {
                if !entry.overwrite && ev.fields.contains_key(target) {
                    continue;
                }
                let values = derivation.derive(ev);
                if !values.is_empty() {
                    ev.fields.insert(target.clone(), values);
                }
            }
        }
    }

    /// Every way the map can set `field`, in map order.
    pub fn sources_of(&self, field: &str) -> Vec<FieldSource> {
        let mut out = Vec::new();
        for e in &self.entries {
            for (target, d) in &e.set {
                if target == field {
                    out.push(FieldSource {
                        entry: e.name.clone(),
                        when: e
                            .when
                            .iter()
                            .map(|c| format!("{}={}", c.field, c.values.join("|")))
                            .collect(),
                        derivation: d.clone(),
                    });
                }
            }
        }
        out
    }

    /// Whether every value the map derives for `field` is a path's last
    /// component, so it can never hold `\` or `/` (e.g. `process_name`).
    ///
    /// This says nothing of values an event brings itself under that name.
    pub fn derives_only_file_names(&self, field: &str) -> bool {
        let sources = self.sources_of(field);
        !sources.is_empty()
            && sources
                .iter()
                .all(|s| s.derivation.kind == DeriveKind::Basename)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap::default_map()
    }
}

impl Condition {
    fn matches(&self, ev: &Event) -> bool {
        let values = ev.values(&self.field);
        self.values.iter().any(|want| {
            if want == "*" {
                !values.is_empty()
            } else {
                values.iter().any(|v| v.eq_ignore_ascii_case(want))
            }
        })
    }
}

impl Derivation {
    /// The values this derivation gives on `ev` (empty: no field).
    fn derive(&self, ev: &Event) -> Vec<String> {
        match self.kind {
            DeriveKind::Value => return vec![self.arg.clone()],
            DeriveKind::Template => return template(&self.arg, ev).into_iter().collect(),
            _ => {}
        }
        let Some(values) = self
            .sources
            .iter()
            .map(|s| ev.values(s))
            .find(|v| !v.is_empty())
        else {
            return Vec::new();
        };
        values
            .iter()
            .filter_map(|v| self.one(v))
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn one(&self, v: &str) -> Option<String> {
        match self.kind {
            DeriveKind::Copy => Some(v.to_string()),
            DeriveKind::Basename => Some(v.rsplit(['\\', '/']).next().unwrap_or(v).to_string()),
            DeriveKind::Dirname => v.rfind(['\\', '/']).map(|i| v[..i].to_string()),
            DeriveKind::Lower => Some(v.to_lowercase()),
            DeriveKind::HexToDec => {
                let t = v.trim();
                match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(hex) => u64::from_str_radix(hex, 16)
                        .map(|n| n.to_string())
                        .ok()
                        .or_else(|| Some(v.to_string())),
                    None => Some(v.to_string()),
                }
            }
            DeriveKind::Kv => v.split(',').find_map(|pair| {
                let (k, val) = pair.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case(&self.arg)
                    .then(|| val.trim().to_string())
            }),
            DeriveKind::EpochMs => epoch_ms_to_epoch(v),
            DeriveKind::Time => any_time_to_epoch(v),
            DeriveKind::Value | DeriveKind::Template => None,
        }
    }
}

/// Fills `{Field}` placeholders with first values; `None` when one is missing.
fn template(pattern: &str, ev: &Event) -> Option<String> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        out.push_str(ev.get(&rest[open + 1..close])?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A YAML scalar as text (numbers and booleans too).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A scalar or a list of scalars, as strings.
fn scalars(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Sequence(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

fn parse_entry(index: usize, item: &Value) -> Result<Entry, String> {
    let Value::Mapping(m) = item else {
        return Err(format!("entry {index}: must be a mapping"));
    };
    let name = m
        .get("name")
        .and_then(scalar)
        .unwrap_or_else(|| format!("#{index}"));
    let at = |msg: String| format!("entry {index} (`{name}`): {msg}");
    let mut entry = Entry {
        name: name.clone(),
        when: Vec::new(),
        overwrite: false,
        set: Vec::new(),
    };
    for (k, v) in m {
        match k.as_str() {
            Some("name") => {}
            Some("overwrite") => {
                entry.overwrite = v
                    .as_bool()
                    .ok_or_else(|| at("`overwrite` must be true or false".into()))?;
            }
            Some("when") => {
                let Value::Mapping(conds) = v else {
                    return Err(at("`when` must be a mapping of field: value".into()));
                };
                for (f, want) in conds {
                    let field =
                        scalar(f).ok_or_else(|| at("a `when` key must be a field name".into()))?;
                    let values = scalars(want).filter(|v| !v.is_empty()).ok_or_else(|| {
                        at(format!(
                            "`when.{field}` must be a value or a list of values"
                        ))
                    })?;
                    entry.when.push(Condition { field, values });
                }
            }
            Some("set") => {
                let Value::Mapping(set) = v else {
                    return Err(at("`set` must be a mapping of field: derivation".into()));
                };
                for (t, d) in set {
                    let target =
                        scalar(t).ok_or_else(|| at("a `set` key must be a field name".into()))?;
                    let derivation =
                        parse_derivation(d).map_err(|e| at(format!("field `{target}`: {e}")))?;
                    entry.set.push((target, derivation));
                }
            }
            _ => {
                return Err(at(format!(
                    "unknown key `{}` (expected name, when, set, overwrite)",
                    scalar(k).unwrap_or_default()
                )))
            }
        }
    }
    if entry.set.is_empty() {
        return Err(at("has no `set`".into()));
    }
    Ok(entry)
}

fn parse_derivation(v: &Value) -> Result<Derivation, String> {
    if let Some(source) = scalar(v) {
        return Ok(Derivation {
            kind: DeriveKind::Copy,
            sources: vec![source],
            arg: String::new(),
        });
    }
    let Value::Mapping(m) = v else {
        return Err("expected a source field name or a {derivation: source} mapping".into());
    };
    let mut found: Option<(DeriveKind, &Value)> = None;
    let mut key: Option<String> = None;
    for (k, val) in m {
        let k = k.as_str().unwrap_or_default();
        if k == "key" {
            key = scalar(val);
            continue;
        }
        let Some((_, kind)) = DeriveKind::NAMES.iter().find(|(n, _)| *n == k) else {
            let names: Vec<_> = DeriveKind::NAMES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown derivation `{k}` (expected one of {})",
                names.join(", ")
            ));
        };
        if found.is_some() {
            return Err("one derivation per field".into());
        }
        found = Some((*kind, val));
    }
    let Some((kind, arg)) = found else {
        return Err("no derivation given".into());
    };
    let values = scalars(arg).ok_or_else(|| format!("`{}` needs a field name", kind.name()))?;
    if kind != DeriveKind::Kv && key.is_some() {
        return Err("`key` only goes with `kv`".into());
    }
    let d = match kind {
        DeriveKind::Value | DeriveKind::Template => Derivation {
            kind,
            sources: Vec::new(),
            arg: values.join(","),
        },
        DeriveKind::Kv => Derivation {
            kind,
            sources: values,
            arg: key.ok_or("`kv` needs a `key`")?,
        },
        _ => Derivation {
            kind,
            sources: values,
            arg: String::new(),
        },
    };
    if d.sources.iter().any(String::is_empty) {
        return Err("empty source field name".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(pairs: &[(&str, &str)]) -> Event {
        let mut e = Event::default();
        for (k, v) in pairs {
            e.fields
                .entry(k.to_string())
                .or_default()
                .push(v.to_string());
        }
        e
    }

    #[test]
    fn default_map_parses() {
        let m = FieldMap::from_yaml(DEFAULT_MAP_YAML).unwrap_or_else(|e| panic!("{e}"));
        assert!(m.len() > 5);
    }

    #[test]
    fn sysmon_process_create_gets_cim_names() {
        let mut e = ev(&[
            ("Provider_Name", "Microsoft-Windows-Sysmon"),
            ("EventCode", "1"),
            ("Computer", "WS01"),
            ("Channel", "Microsoft-Windows-Sysmon/Operational"),
            (
                "Image",
                "C:\\Users\\bob\\Downloads\\netscan_portable\\netscan64.exe",
            ),
            ("CommandLine", "netscan64.exe /hide"),
            ("ParentImage", "C:\\Windows\\explorer.exe"),
            ("ParentCommandLine", "C:\\Windows\\Explorer.EXE"),
            ("User", "CORP\\bob"),
            ("ProcessId", "4242"),
            ("ParentProcessId", "1000"),
            ("Hashes", "SHA1=AA,MD5=BB,SHA256=CC,IMPHASH=DD"),
            ("OriginalFileName", "netscan.exe"),
            ("ProcessGuid", "{g}"),
        ]);
        FieldMap::default_map().apply(&mut e);
        assert_eq!(e.get("process_name"), Some("netscan64.exe"));
        assert_eq!(
            e.get("process_path"),
            Some("C:\\Users\\bob\\Downloads\\netscan_portable\\netscan64.exe")
        );
        assert_eq!(e.get("process"), Some("netscan64.exe /hide"));
        assert_eq!(e.get("parent_process_name"), Some("explorer.exe"));
        assert_eq!(
            e.get("parent_process_path"),
            Some("C:\\Windows\\explorer.exe")
        );
        assert_eq!(e.get("parent_process"), Some("C:\\Windows\\Explorer.EXE"));
        assert_eq!(e.get("user"), Some("CORP\\bob"));
        assert_eq!(e.get("dest"), Some("WS01"));
        assert_eq!(e.get("process_id"), Some("4242"));
        assert_eq!(e.get("parent_process_id"), Some("1000"));
        assert_eq!(
            e.get("process_hash"),
            Some("SHA1=AA,MD5=BB,SHA256=CC,IMPHASH=DD")
        );
        assert_eq!(e.get("SHA256"), Some("CC"));
        assert_eq!(e.get("original_file_name"), Some("netscan.exe"));
        assert_eq!(e.get("process_guid"), Some("{g}"));
        assert_eq!(
            e.get("source"),
            Some("XmlWinEventLog:Microsoft-Windows-Sysmon/Operational")
        );
        assert_eq!(e.get("sourcetype"), Some("XmlWinEventLog"));
    }

    #[test]
    fn security_4688_gets_cim_names() {
        let mut e = ev(&[
            ("Provider_Name", "Microsoft-Windows-Security-Auditing"),
            ("EventCode", "4688"),
            ("Channel", "Security"),
            ("Computer", "WS02"),
            ("NewProcessName", "C:\\Tools\\netscan.exe"),
            ("NewProcessId", "0x1a2c"),
            ("ProcessId", "0x3e8"),
            ("ParentProcessName", "C:\\Windows\\System32\\cmd.exe"),
            ("CommandLine", "netscan.exe"),
            ("SubjectUserName", "alice"),
        ]);
        FieldMap::default_map().apply(&mut e);
        assert_eq!(e.get("process_name"), Some("netscan.exe"));
        assert_eq!(e.get("process_path"), Some("C:\\Tools\\netscan.exe"));
        assert_eq!(e.get("process_id"), Some("6700"));
        assert_eq!(e.get("parent_process_id"), Some("1000"));
        assert_eq!(e.get("parent_process_name"), Some("cmd.exe"));
        assert_eq!(e.get("process"), Some("netscan.exe"));
        assert_eq!(e.get("user"), Some("alice"));
        assert_eq!(e.get("dest"), Some("WS02"));
    }

    #[test]
    fn crowdstrike_process_gets_cim_names_and_time() {
        let mut e = ev(&[
            ("event_simpleName", "ProcessRollup2"),
            (
                "ImageFileName",
                "\\Device\\HarddiskVolume3\\Tools\\netscan32.exe",
            ),
            ("CommandLine", "netscan32.exe"),
            ("ParentBaseFileName", "cmd.exe"),
            ("ComputerName", "WS03"),
            ("UserName", "carol"),
            ("timestamp", "1718187300123"),
            ("TargetProcessId", "99"),
        ]);
        FieldMap::default_map().apply(&mut e);
        assert_eq!(e.get("process_name"), Some("netscan32.exe"));
        assert_eq!(
            e.get("process_path"),
            Some("\\Device\\HarddiskVolume3\\Tools\\netscan32.exe")
        );
        assert_eq!(e.get("parent_process_name"), Some("cmd.exe"));
        assert_eq!(e.get("host"), Some("WS03"));
        assert_eq!(e.get("dest"), Some("WS03"));
        assert_eq!(e.get("user"), Some("carol"));
        assert_eq!(e.get("_time"), Some("1718187300.123"));
        assert_eq!(e.get("process_id"), Some("99"));
    }

    #[test]
    fn generic_json_gets_time_and_host() {
        let mut e = ev(&[
            ("@timestamp", "2024-06-12T10:00:00.250Z"),
            ("hostname", "h1"),
        ]);
        FieldMap::default_map().apply(&mut e);
        assert_eq!(e.get("_time"), Some("1718186400.250"));
        assert_eq!(e.get("host"), Some("h1"));
        // A source's own _time and host are kept.
        let mut e = ev(&[
            ("_time", "5"),
            ("host", "mine"),
            ("timestamp", "2024-06-12 10:00:00"),
        ]);
        FieldMap::default_map().apply(&mut e);
        assert_eq!(e.get("_time"), Some("5"));
        assert_eq!(e.get("host"), Some("mine"));
        // SQL table rows keep their own columns only.
        let mut e = ev(&[
            ("event_time", "2024-06-12 10:00:00"),
            ("computer_name", "c"),
        ]);
        FieldMap::default_map().apply(&mut e);
        assert_eq!(e.get("_time"), None);
        assert_eq!(e.get("host"), None);
    }

    #[test]
    fn existing_fields_are_kept_unless_overwrite() {
        let yaml =
            "entries:\n- name: a\n  set: {x: y}\n- name: b\n  overwrite: true\n  set: {z: y}\n";
        let m = FieldMap::from_yaml(yaml).expect("valid");
        let mut e = ev(&[("x", "old"), ("z", "old"), ("y", "new")]);
        m.apply(&mut e);
        assert_eq!(e.get("x"), Some("old"));
        assert_eq!(e.get("z"), Some("new"));
    }

    #[test]
    fn derivations() {
        let yaml = r#"
version: 1
entries:
  - name: all
    when: {kind: [A, b], present: "*"}
    set:
      base: {basename: p}
      dir: {dirname: p}
      first: {copy: [missing, q]}
      const: {value: fixed}
      low: {lower: q}
      dec: {hex_to_dec: h}
      sha: {kv: hashes, key: sha256}
      t: {time: iso}
      t_ms: {time: ms}
      t_s: {time: secs}
      t_bad: {time: q}
      src: {template: "Log:{kind}/{q}"}
      none: {template: "{missing}"}
      nodir: {dirname: q}
"#;
        let m = FieldMap::from_yaml(yaml).expect("valid");
        let mut e = ev(&[
            ("kind", "B"),
            ("present", "1"),
            ("p", "C:/x/y\\z.exe"),
            ("q", "Q1"),
            ("q", "Q2"),
            ("h", "0xff"),
            ("hashes", "MD5=1,SHA256=abc"),
            ("iso", "1970-01-01T00:01:00Z"),
            ("ms", "1718187300123"),
            ("secs", "1718187300.5"),
        ]);
        m.apply(&mut e);
        assert_eq!(e.get("base"), Some("z.exe"));
        assert_eq!(e.get("dir"), Some("C:/x/y"));
        assert_eq!(e.values("first"), ["Q1", "Q2"]);
        assert_eq!(e.get("const"), Some("fixed"));
        assert_eq!(e.values("low"), ["q1", "q2"]);
        assert_eq!(e.get("dec"), Some("255"));
        assert_eq!(e.get("sha"), Some("abc"));
        assert_eq!(e.get("t"), Some("60"));
        assert_eq!(e.get("t_ms"), Some("1718187300.123"));
        assert_eq!(e.get("t_s"), Some("1718187300.5"));
        assert_eq!(e.get("t_bad"), None);
        assert_eq!(e.get("src"), Some("Log:B/Q1"));
        assert_eq!(e.get("none"), None);
        assert_eq!(e.get("nodir"), None);

        let mut other = ev(&[("kind", "C"), ("present", "1"), ("p", "a\\b")]);
        m.apply(&mut other);
        assert_eq!(other.get("base"), None, "condition not met");
    }

    #[test]
    fn errors_name_the_entry_and_field() {
        let e = FieldMap::from_yaml("entries:\n- name: s\n  set: {f: {basenme: Image}}\n")
            .expect_err("typo");
        assert!(
            e.contains("entry 1 (`s`): field `f`: unknown derivation `basenme`"),
            "{e}"
        );
        let e = FieldMap::from_yaml("entries:\n- name: s\n  set: {f: {kv: Hashes}}\n")
            .expect_err("no key");
        assert!(e.contains("`kv` needs a `key`"), "{e}");
        let e = FieldMap::from_yaml("entrys: []\n").expect_err("typo");
        assert!(e.contains("unknown top-level key `entrys`"), "{e}");
        let e = FieldMap::from_yaml("entries: [\n").expect_err("yaml");
        assert!(e.starts_with("invalid YAML"), "{e}");
    }

    #[test]
    fn process_name_only_holds_file_names() {
        let m = FieldMap::default_map();
        assert!(m.derives_only_file_names("process_name"));
        assert!(!m.derives_only_file_names("process_path"));
        assert!(!m.derives_only_file_names("no_such_field"));
    }
}
