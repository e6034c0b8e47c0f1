//! Indicators and search terms read off the IR, with canonical field names.
