//! Rendering: rule pages, tables, markdown, JSON.
