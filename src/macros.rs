//! Splunk macro definitions (`macros.conf`, security_content `macros/*.yml`).
