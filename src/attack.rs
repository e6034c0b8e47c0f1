//! MITRE ATT&CK: technique ids, names and tactics from the STIX bundle.
