//! The manifest of a backup and the header of a portable export.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How the database part of a backup was made.
pub const METHOD_SQLITE: &str = "sqlite-vacuum-into";
pub const METHOD_PORTABLE: &str = "mamori-portable-jsonl";

/// The database file of a SQLite backup and the export file of a logical one.
pub const SQLITE_FILE: &str = "database.sqlite";
pub const PORTABLE_FILE: &str = "database.jsonl";
pub const MANIFEST_FILE: &str = "manifest.json";

/// `manifest.json`: what the archive holds and how to check it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub mamori_version: String,
    /// UTC, RFC 3339.
    pub created_at: String,
    pub backend: String,
    pub method: String,
    /// The latest schema migration applied to the database that was backed up.
    pub schema_migration: String,
    /// Rows per table.
    pub tables: BTreeMap<String, i64>,
    /// The last ticket number handed out per kind.
    pub ticket_numbers: BTreeMap<String, i64>,
    pub attachments: usize,
    /// SHA-256 (hex) of every file of the archive but the manifest, by relative path.
    pub files: BTreeMap<String, String>,
}

/// The first line of a portable export (`mamori export`, `database.jsonl`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportHeader {
    pub mamori_export: u32,
    pub mamori_version: String,
    pub backend: String,
    pub schema_migration: String,
    pub tables: BTreeMap<String, i64>,
    pub ticket_numbers: BTreeMap<String, i64>,
}

/// Every further line of a portable export: a row of a table, or an attachment's bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExportLine {
    Row {
        table: String,
        row: serde_json::Map<String, serde_json::Value>,
    },
    Attachment {
        attachment: String,
        base64: String,
    },
}
