//! Windows event XML → fields, for EVTX records and XML exports alike.
//!
//! One scanner reads `<Event>` elements wherever they are (a lone record, a
//! `wevtutil qe /f:xml` stream of concatenated events, an Event Viewer
//! export under an `<Events>` root) and turns each into Splunk-named
//! fields:
//!
//! - `System` children keep their names (`Channel`, `Level`, `Task`,
//!   `Keywords`, `EventRecordID`…); `EventID` is also `EventCode`,
//!   `Computer` is also `host` and `ComputerName`, `Provider/@Name` is
//!   `Provider_Name` and `SourceName`, `TimeCreated/@SystemTime` is
//!   `SystemTime` (ISO text) and `_time` (epoch seconds),
//!   `Execution/@ProcessID`, `@ThreadID` and `Security/@UserID` keep their
//!   attribute names; other `System` attributes become `Element_Attribute`.
//! - `EventData/Data[@Name]` become fields; `Data` without a name becomes
//!   `Data[0]`, `Data[1]`… in document order; `Binary` keeps its hex text.
//! - `UserData` is flattened: each leaf element is a field named after it,
//!   each attribute `Element_Attribute`.
//! - `RenderingInfo/Message` becomes `Message`.
//!
//! A name seen twice gets both values (a multivalue field), as Splunk
//! does; nothing is overwritten. Empty elements give no field, as Splunk's
//! extractions give none, but an empty unnamed `Data` still takes its index
//! so the numbering stays stable.

use std::borrow::Cow;
use std::collections::BTreeMap;

use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::{Reader, XmlVersion};

use super::time::iso_to_epoch;

/// Fields of an event, name → values.
pub(crate) type Fields = BTreeMap<String, Vec<String>>;

/// One `<Event>` element found in a text.
#[derive(Debug)]
pub(crate) struct XmlRecord {
    /// Byte offset of `<Event` in the scanned text.
    pub start: usize,
    /// Byte offset one past `</Event>`.
    pub end: usize,
    /// The fields read from it.
    pub fields: Fields,
    /// Character references that named no character (lone surrogates),
    /// replaced by U+FFFD.
    pub warnings: usize,
}

/// A syntax error while scanning, at a byte offset of the scanned text.
#[derive(Debug)]
pub(crate) struct XmlError {
    /// Where the error was noticed.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// Where the `<Event>` the error happened in starts (that event is
    /// lost), or `None` when it happened between events.
    pub event_start: Option<usize>,
}

/// Scans `text` for `<Event>` elements and passes each to `found`, stopping
/// at the first syntax error.
pub(crate) fn scan<'a>(text: &'a str, found: &mut dyn FnMut(XmlRecord)) -> Result<(), XmlError> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    // Our own stack checks end names inside events; outside them a stray
    // `</Events>` (after resynchronising past a broken record) is harmless.
    config.check_end_names = false;
    config.allow_unmatched_ends = true;

    let mut builder: Option<Builder<'a>> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                return Err(XmlError {
                    offset: reader.error_position() as usize,
                    message: e.to_string(),
                    event_start: builder.as_ref().map(|b| b.start),
                });
            }
        };
        let after = reader.buffer_position() as usize;
        let event_start = builder.as_ref().map(|b| b.start);
        let err = |message: String| XmlError {
            offset: before,
            message,
            event_start,
        };
        match (&mut builder, event) {
            (_, XmlEvent::Eof) => {
                return match builder {
                    Some(_) => Err(err("the text ends inside an <Event>".into())),
                    None => Ok(()),
                };
            }
            (None, XmlEvent::Start(e)) if e.local_name().as_ref() == "Event" => {
                let mut b = Builder::new(before);
                b.start(&e, name_at(text, before, &e));
                builder = Some(b);
            }
            (None, XmlEvent::Empty(e)) if e.local_name().as_ref() == "Event" => {
                // `<Event/>`: an event with no content at all.
                found(XmlRecord {
                    start: before,
                    end: after,
                    fields: Fields::new(),
                    warnings: 0,
                });
            }
            (None, _) => {}
            (Some(b), XmlEvent::Start(e)) => b.start(&e, name_at(text, before, &e)),
            (Some(b), XmlEvent::Empty(e)) => {
                b.start(&e, name_at(text, before, &e));
                b.end();
            }
            (Some(b), XmlEvent::End(e)) => {
                let name = e.local_name();
                if b.stack.last().map(|f| f.name.as_ref()) != Some(name.as_ref()) {
                    let expected = b.stack.last().map_or("", |f| f.name.as_ref()).to_string();
                    return Err(err(format!(
                        "expected </{expected}>, found </{}>",
                        name.as_ref()
                    )));
                }
                b.end();
                if b.stack.is_empty() {
                    let done = builder.take().expect("builder is Some in this arm");
                    found(XmlRecord {
                        start: done.start,
                        end: after,
                        fields: done.fields,
                        warnings: done.warnings,
                    });
                }
            }
            (Some(b), XmlEvent::Text(t)) => b.text.push_str(&t.xml10_content()),
            (Some(b), XmlEvent::CData(t)) => b.text.push_str(&t.xml10_content()),
            (Some(b), XmlEvent::GeneralRef(r)) => match r.resolve_char_ref() {
                Ok(Some(c)) => b.text.push(c),
                Ok(None) => match predefined_entity(&r) {
                    Some(s) => b.text.push_str(s),
                    None => return Err(err(format!("unknown entity &{};", &*r))),
                },
                // `&#xD800;` names no character: keep the value, mark the loss.
                Err(_) => {
                    b.text.push(char::REPLACEMENT_CHARACTER);
                    b.warnings += 1;
                }
            },
            (Some(_), _) => {}
        }
    }
}

/// The local name of the tag that starts at `at`, borrowed from `text`
/// when it can be (it always can for a tag read from `text`), so that
/// opening an element allocates nothing.
fn name_at<'a>(text: &'a str, at: usize, e: &BytesStart<'_>) -> Cow<'a, str> {
    let qname = e.name();
    let qname = qname.as_ref();
    match text.get(at + 1..at + 1 + qname.len()) {
        Some(q) if q == qname => Cow::Borrowed(q.rsplit(':').next().unwrap_or(q)),
        _ => Cow::Owned(e.local_name().as_ref().to_string()),
    }
}

/// The five entities XML predefines.
fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

/// One open element inside an event.
struct Frame<'a> {
    /// Local name.
    name: Cow<'a, str>,
    /// Whether it has child elements (then its text is layout, not a value).
    has_child: bool,
    /// The `Name` attribute, for `EventData/Data`.
    data_name: Option<String>,
}

/// Builds one event's fields from the elements inside `<Event>`.
struct Builder<'a> {
    start: usize,
    stack: Vec<Frame<'a>>,
    text: String,
    fields: Fields,
    unnamed_data: usize,
    warnings: usize,
}

impl<'a> Builder<'a> {
    fn new(start: usize) -> Builder<'a> {
        Builder {
            start,
            stack: Vec::with_capacity(8),
            text: String::new(),
            fields: Fields::new(),
            unnamed_data: 0,
            warnings: 0,
        }
    }

    /// Which top-level part of the event (`System`, `EventData`…) we are in.
    fn section(&self) -> &str {
        self.stack.get(1).map_or("", |f| f.name.as_ref())
    }

    fn add(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        push(&mut self.fields, name, value);
    }

    fn start(&mut self, e: &BytesStart<'_>, name: Cow<'a, str>) {
        if let Some(parent) = self.stack.last_mut() {
            parent.has_child = true;
        }
        self.stack.push(Frame {
            name,
            has_child: false,
            data_name: None,
        });
        self.text.clear();
        let depth = self.stack.len();
        for attr in e.attributes().with_checks(false).flatten() {
            let key = attr.key.local_name();
            let key = key.as_ref();
            if attr.key.as_ref().starts_with("xmlns") {
                continue;
            }
            let value = match attr.normalized_value(XmlVersion::Implicit1_0) {
                Ok(v) => v,
                Err(_) => {
                    // A bad character reference; keep the raw text, marked.
                    self.warnings += 1;
                    Cow::Owned(attr.value.replace("&#", "\u{FFFD}&#"))
                }
            };
            self.attribute(depth, key, &value);
        }
    }

    /// Handles one attribute of the element just opened at `depth`.
    fn attribute(&mut self, depth: usize, key: &str, value: &str) {
        let elem = self.stack[depth - 1].name.clone();
        match (self.section(), depth, elem.as_ref(), key) {
            (_, 1, _, _) => {}
            ("System", 3, "Provider", "Name") => {
                self.add("Provider_Name", value);
                self.add("SourceName", value);
            }
            ("System", 3, "Provider", "Guid") => self.add("Provider_Guid", value),
            ("System", 3, "Provider", "EventSourceName") => self.add("EventSourceName", value),
            ("System", 3, "TimeCreated", "SystemTime") => {
                self.add("SystemTime", value);
                if let Some(t) = iso_to_epoch(value) {
                    self.add("_time", &t);
                }
            }
            ("System", 3, "EventID" | "Execution" | "Security" | "Correlation", _) => {
                self.add(key, value)
            }
            ("EventData", 3, "Data", "Name") => {
                self.stack[depth - 1].data_name = Some(value.to_string());
            }
            ("EventData", _, _, _) | ("RenderingInfo", _, _, _) => {}
            _ => self.add(&format!("{elem}_{key}"), value),
        }
    }

    fn end(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if frame.has_child {
            self.text.clear();
            return;
        }
        let text = std::mem::take(&mut self.text);
        let depth = self.stack.len() + 1;
        match (self.section(), depth, frame.name.as_ref()) {
            (_, 1, _) => {}
            ("System", 3, "EventID") => {
                self.add("EventID", &text);
                self.add("EventCode", &text);
            }
            ("System", 3, "Computer") => {
                self.add("Computer", &text);
                self.add("host", &text);
                self.add("ComputerName", &text);
            }
            ("EventData", 3, "Data") => match frame.data_name {
                Some(name) => self.add(&name, &text),
                None => {
                    let name = format!("Data[{}]", self.unnamed_data);
                    self.unnamed_data += 1;
                    self.add(&name, &text);
                }
            },
            ("RenderingInfo", 3, "Message") => self.add("Message", &text),
            ("RenderingInfo", _, _) => {}
            (_, _, name) => self.add(name, &text),
        }
        self.text = text;
        self.text.clear();
    }
}

/// Appends a value to a field, creating it when missing.
pub(crate) fn push(fields: &mut Fields, name: &str, value: &str) {
    match fields.get_mut(name) {
        Some(values) => values.push(value.to_string()),
        None => {
            fields.insert(name.to_string(), vec![value.to_string()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(text: &str) -> (Vec<XmlRecord>, Result<(), XmlError>) {
        let mut out = Vec::new();
        let r = scan(text, &mut |rec| out.push(rec));
        (out, r)
    }

    fn one(text: &str) -> Fields {
        let (mut recs, r) = scan_all(text);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(recs.len(), 1);
        recs.remove(0).fields
    }

    fn get<'a>(f: &'a Fields, name: &str) -> Vec<&'a str> {
        f.get(name)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    const SYSMON: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>\
<System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/>\
<EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode>\
<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2024-06-12T10:15:01.1234567Z'/>\
<EventRecordID>101</EventRecordID><Correlation/><Execution ProcessID='2804' ThreadID='3900'/>\
<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS01.corp.example</Computer>\
<Security UserID='S-1-5-18'/></System><EventData><Data Name='Image'>C:\\Tools\\a &amp; b.exe</Data>\
<Data Name='RuleName'>-</Data><Data Name='ParentCommandLine'></Data></EventData></Event>";

    #[test]
    fn system_fields_get_splunk_names() {
        let f = one(SYSMON);
        assert_eq!(get(&f, "EventCode"), ["1"]);
        assert_eq!(get(&f, "EventID"), ["1"]);
        assert_eq!(get(&f, "host"), ["WS01.corp.example"]);
        assert_eq!(get(&f, "ComputerName"), ["WS01.corp.example"]);
        assert_eq!(get(&f, "Computer"), ["WS01.corp.example"]);
        assert_eq!(get(&f, "Provider_Name"), ["Microsoft-Windows-Sysmon"]);
        assert_eq!(get(&f, "SourceName"), ["Microsoft-Windows-Sysmon"]);
        assert_eq!(get(&f, "_time"), ["1718187301.123456"]);
        assert_eq!(get(&f, "SystemTime"), ["2024-06-12T10:15:01.1234567Z"]);
        assert_eq!(get(&f, "ProcessID"), ["2804"]);
        assert_eq!(get(&f, "ThreadID"), ["3900"]);
        assert_eq!(get(&f, "UserID"), ["S-1-5-18"]);
        assert_eq!(get(&f, "EventRecordID"), ["101"]);
        assert_eq!(get(&f, "Keywords"), ["0x8000000000000000"]);
        assert_eq!(get(&f, "Channel"), ["Microsoft-Windows-Sysmon/Operational"]);
        assert_eq!(get(&f, "Image"), ["C:\\Tools\\a & b.exe"]);
        assert_eq!(get(&f, "RuleName"), ["-"]);
        // Empty elements give no field.
        assert!(!f.contains_key("ParentCommandLine"));
        assert!(!f.contains_key("Correlation"));
        assert!(!f.contains_key("xmlns"));
    }

    #[test]
    fn data_without_name_and_binary_are_all_kept() {
        let f = one(
            "<Event><System><EventID Qualifiers='16384'>7036</EventID></System>\
<EventData><Data>first</Data><Data Name='Named'>n</Data><Data></Data><Data>third</Data>\
<Data Name='Named'>again</Data><Binary>0A0B0C</Binary></EventData></Event>",
        );
        assert_eq!(get(&f, "Data[0]"), ["first"]);
        // The empty second unnamed item keeps its index, so the third is [2].
        assert!(!f.contains_key("Data[1]"));
        assert_eq!(get(&f, "Data[2]"), ["third"]);
        assert_eq!(get(&f, "Named"), ["n", "again"]);
        assert_eq!(get(&f, "Binary"), ["0A0B0C"]);
        assert_eq!(get(&f, "Qualifiers"), ["16384"]);
        assert_eq!(get(&f, "EventCode"), ["7036"]);
    }

    #[test]
    fn user_data_is_flattened() {
        let f = one(
            "<Event><System><EventID>1102</EventID></System><UserData>\
<LogFileCleared xmlns='http://manifests.microsoft.com/win/2004/08/windows/eventlog'>\
<SubjectUserSid>S-1-5-21-1</SubjectUserSid><SubjectUserName>admin</SubjectUserName>\
<Extra Kind='k'/></LogFileCleared></UserData>\
<RenderingInfo Culture='en-US'><Message>The audit log was cleared.</Message><Level>Information</Level></RenderingInfo></Event>",
        );
        assert_eq!(get(&f, "SubjectUserName"), ["admin"]);
        assert_eq!(get(&f, "SubjectUserSid"), ["S-1-5-21-1"]);
        assert_eq!(get(&f, "Extra_Kind"), ["k"]);
        assert_eq!(get(&f, "Message"), ["The audit log was cleared."]);
        // RenderingInfo's Level text does not clash with System's Level.
        assert!(!f.contains_key("Level"));
    }

    #[test]
    fn rootless_stream_of_events() {
        let text = "<Event><System><EventID>1</EventID></System></Event>\n\
<Event><System><EventID>2</EventID></System></Event><Event><System><EventID>3</EventID></System></Event>";
        let (recs, r) = scan_all(text);
        assert!(r.is_ok());
        let ids: Vec<_> = recs.iter().map(|r| get(&r.fields, "EventID")[0]).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        assert_eq!(
            &text[recs[1].start..recs[1].end],
            "<Event><System><EventID>2</EventID></System></Event>"
        );
    }

    #[test]
    fn events_under_a_root_element() {
        let text = "<?xml version='1.0' encoding='utf-8'?>\n<Events>\n\
<Event><System><EventID>4688</EventID></System></Event>\n\
<Event><System><EventID>4689</EventID></System></Event>\n</Events>\n";
        let (recs, r) = scan_all(text);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(recs.len(), 2);
        assert_eq!(get(&recs[1].fields, "EventCode"), ["4689"]);
        assert!(text[recs[0].start..].starts_with("<Event>"));
    }

    #[test]
    fn mismatched_end_tag_is_an_error_in_event() {
        let text = "<Event><System><EventID>1</Channel></System></Event>";
        let (recs, r) = scan_all(text);
        assert!(recs.is_empty());
        let e = r.unwrap_err();
        assert_eq!(e.event_start, Some(0));
        assert!(e.message.contains("</EventID>"), "{}", e.message);
    }

    #[test]
    fn char_ref_to_lone_surrogate_is_replaced_and_counted() {
        let (recs, r) = scan_all(
            "<Event><EventData><Data Name='x'>a&#xD800;b&#x41;</Data></EventData></Event>",
        );
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(get(&recs[0].fields, "x"), ["a\u{FFFD}bA"]);
        assert_eq!(recs[0].warnings, 1);
    }

    #[test]
    fn truncated_event_is_an_error() {
        let (recs, r) = scan_all("<Event><System><EventID>1</EventID>");
        assert!(recs.is_empty());
        assert_eq!(r.unwrap_err().event_start, Some(0));
    }
}
