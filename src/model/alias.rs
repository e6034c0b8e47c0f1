//! The field alias table: one canonical name per concept, across languages.
//!
//! Corpus counts are only comparable when `EventID == 4688` (KQL),
//! `EventCode=4688` (SPL) and `event_id = 4688` (SQL) land on one key. The
//! canonical names are the Splunk CIM names the armory and security_content
//! rules use (`EventCode`, `process_name`, `process_path`…), because the
//! seed page and most of the corpus speak them.
//!
//! Lookup tries the exact spelling first, then ASCII case-insensitively:
//! Snowflake folds unquoted identifiers, and the corpora spell the same
//! Windows field in several cases (`EventID`, `EventId`). The exact pass
//! matters where case is all that separates two concepts: SecurityEvent's
//! `Process` is an image, CIM's `process` a command line. A field not in
//! the table keeps its spelling.
//!
//! Data-model prefixes are dropped first: `Processes.process_name` in a
//! `tstats` search is the CIM field `process_name`.

/// `(canonical name, aliases)`; every alias maps to the canonical name.
///
/// Sources: Sysmon / Windows Security XML (`Image`, `NewProcessName`…),
/// Sentinel tables (`SecurityEvent`, `DeviceProcessEvents`), CrowdStrike
/// FDR columns as armory's Snowflake rules name them, and the CIM.
pub const ALIASES: &[(&str, &[&str])] = &[
    (
        "EventCode",
        &["EventID", "EventCode", "event_id", "event_code", "EventId"],
    ),
    (
        "process_path",
        &[
            "process_path",
            "Image",
            "NewProcessName",
            "Process",
            "FolderPath",
            "ImageFileName",
            "ProcessPath",
            "process_image",
        ],
    ),
    (
        "process_name",
        &[
            "process_name",
            "FileName",
            "ProcessName",
            "process_file_name",
        ],
    ),
    (
        "process",
        &[
            "process",
            "CommandLine",
            "ProcessCommandLine",
            "command_line",
            "cmdline",
            "process_command_line",
        ],
    ),
    (
        "parent_process_path",
        &[
            "parent_process_path",
            "ParentImage",
            "ParentProcessName",
            "InitiatingProcessFolderPath",
            "parent_image",
        ],
    ),
    (
        "parent_process_name",
        &[
            "parent_process_name",
            "ParentBaseFileName",
            "InitiatingProcessFileName",
            "parent_name",
        ],
    ),
    (
        "parent_process",
        &[
            "parent_process",
            "ParentCommandLine",
            "InitiatingProcessCommandLine",
            "parent_command_line",
        ],
    ),
    (
        "original_file_name",
        &[
            "original_file_name",
            "OriginalFileName",
            "ProcessVersionInfoOriginalFileName",
        ],
    ),
    (
        "process_hash",
        &["process_hash", "Hashes", "SHA256", "sha256", "MD5"],
    ),
    (
        "user",
        &[
            "user",
            "User",
            "SubjectUserName",
            "AccountName",
            "Account",
            "UserName",
            "user_name",
            "TargetUserName",
        ],
    ),
    (
        "dest",
        &[
            "dest",
            "Computer",
            "DeviceName",
            "ComputerName",
            "dest_host",
        ],
    ),
    (
        "dest_ip",
        &[
            "dest_ip",
            "DestinationIp",
            "DestinationIP",
            "RemoteIP",
            "dst_ip",
            "dest_address",
        ],
    ),
    (
        "dest_port",
        &["dest_port", "DestinationPort", "RemotePort", "dst_port"],
    ),
    (
        "src_ip",
        &[
            "src_ip",
            "SourceIp",
            "SourceIP",
            "IpAddress",
            "ClientIP",
            "src_address",
            "CallerIPAddress",
        ],
    ),
    ("src_port", &["src_port", "SourcePort", "LocalPort"]),
    (
        "registry_path",
        &["registry_path", "TargetObject", "RegistryKey", "ObjectName"],
    ),
    (
        "registry_value_name",
        &["registry_value_name", "RegistryValueName"],
    ),
    (
        "registry_value_data",
        &["registry_value_data", "Details", "RegistryValueData"],
    ),
    (
        "file_path",
        &["file_path", "TargetFilename", "TargetFileName"],
    ),
    ("query", &["query", "QueryName", "DnsQuery", "query_name"]),
    ("url", &["url", "Url", "RemoteUrl", "RequestURL"]),
    (
        "http_user_agent",
        &[
            "http_user_agent",
            "UserAgent",
            "useragent",
            "user_agent",
            "cs_user_agent",
        ],
    ),
    ("sourcetype", &["sourcetype"]),
    ("source", &["source"]),
    ("index", &["index"]),
];

/// CIM data-model dataset prefixes dropped before lookup
/// (`Processes.process_name` → `process_name`).
const DATAMODEL_PREFIXES: &[&str] = &[
    "Processes.",
    "Filesystem.",
    "Registry.",
    "All_Traffic.",
    "Web.",
    "Authentication.",
    "DNS.",
    "Endpoint.",
    "Network_Traffic.",
    "Services.",
    "Ports.",
    "All_Changes.",
    "All_Email.",
    "Certificates.",
    "Updates.",
    "All_Risk.",
    "Change.",
    "Email.",
    "Network_Resolution.",
    "Intrusion_Detection.",
    "IDS_Attacks.",
    "All_Certificates.",
];

/// The canonical name of `field`: data-model prefix dropped, then the
/// alias table applied case-insensitively; unknown fields keep their name.
pub fn canonical_field(field: &str) -> String {
    let bare = DATAMODEL_PREFIXES
        .iter()
        .find_map(|p| strip_prefix_ignore_case(field, p))
        .unwrap_or(field);
    let exact = ALIASES.iter().find(|(_, aliases)| aliases.contains(&bare));
    let folded = || {
        ALIASES
            .iter()
            .find(|(_, aliases)| aliases.iter().any(|a| a.eq_ignore_ascii_case(bare)))
    };
    match exact.or_else(folded) {
        Some((canonical, _)) => (*canonical).to_string(),
        None => bare.to_string(),
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    (head.eq_ignore_ascii_case(prefix) && s.len() > prefix.len()).then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_spellings_meet() {
        for f in ["EventID", "EventCode", "event_id", "eventid", "EVENTCODE"] {
            assert_eq!(canonical_field(f), "EventCode", "{f}");
        }
    }

    #[test]
    fn image_spellings_meet() {
        for f in [
            "Process",
            "NewProcessName",
            "Image",
            "process_path",
            "Processes.process_path",
        ] {
            assert_eq!(canonical_field(f), "process_path", "{f}");
        }
        assert_eq!(canonical_field("Processes.process_name"), "process_name");
        // Case alone separates SecurityEvent's image from CIM's command line.
        assert_eq!(canonical_field("process"), "process");
        assert_eq!(canonical_field("commandline"), "process");
    }

    #[test]
    fn unknown_fields_keep_their_spelling() {
        assert_eq!(canonical_field("Foo_Bar"), "Foo_Bar");
        // A bare prefix is not stripped to nothing.
        assert_eq!(canonical_field("Processes."), "Processes.");
    }

    #[test]
    fn every_alias_maps_to_one_canonical_name() {
        let mut seen = std::collections::HashMap::new();
        for (canonical, aliases) in ALIASES {
            assert!(aliases.contains(canonical), "{canonical} must list itself");
            for a in *aliases {
                let prev = seen.insert(*a, *canonical);
                assert!(
                    prev.is_none() || prev == Some(*canonical),
                    "{a} is ambiguous"
                );
            }
        }
    }
}
