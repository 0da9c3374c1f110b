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

/// The administrators' backup settings (one row).
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = crate::db::schema::backup_settings)]
pub struct BackupSettings {
    #[serde(skip)]
    pub id: i32,
    pub enabled: bool,
    /// `HH:MM`, 24-hour, in `time_zone`.
    #[schema(example = "02:00")]
    pub time_of_day: String,
    #[schema(example = "Asia/Tokyo")]
    pub time_zone: String,
    /// Empty: `<data dir>/backups`.
    pub target_dir: String,
    pub keep_daily: i32,
    pub keep_weekly: i32,
    /// The team a failed backup or restore test is reported to; none: the first admin's team.
    pub alert_team_id: Option<i64>,
    /// The incident of the last failure, commented on by further failures while it is open.
    pub failure_incident_id: Option<i64>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: chrono::NaiveDateTime,
}

/// New backup settings from the admin page or the API. Strings, so validation names fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SettingsInput {
    pub enabled: bool,
    #[schema(example = "02:00")]
    pub time_of_day: String,
    #[schema(example = "Asia/Tokyo")]
    pub time_zone: String,
    pub target_dir: String,
    #[schema(example = 7)]
    pub keep_daily: i32,
    #[schema(example = 4)]
    pub keep_weekly: i32,
    pub alert_team_id: Option<i64>,
}

/// The largest number of daily or weekly archives kept.
pub const MAX_KEEP: i32 = 366;

/// A backup run: scheduled or asked for, with its archive and restore test.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = crate::db::schema::backup_runs)]
pub struct BackupRun {
    pub id: i64,
    /// `scheduled` or `manual`.
    pub kind: String,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub slot_at: Option<chrono::NaiveDateTime>,
    /// The instance that ran it.
    pub holder: String,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub started_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub finished_at: Option<chrono::NaiveDateTime>,
    pub archive_path: Option<String>,
    pub size_bytes: Option<i64>,
    pub duration_ms: Option<i64>,
    /// `running`, `succeeded` or `failed`.
    pub result: String,
    /// `pending`, `passed`, `failed` or `skipped`.
    pub verification: String,
    pub error: Option<String>,
    /// When retention removed the archive from disk.
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub pruned_at: Option<chrono::NaiveDateTime>,
}

pub const RUN_SCHEDULED: &str = "scheduled";
pub const RUN_MANUAL: &str = "manual";
pub const RESULT_RUNNING: &str = "running";
pub const RESULT_SUCCEEDED: &str = "succeeded";
pub const RESULT_FAILED: &str = "failed";
pub const VERIFY_PENDING: &str = "pending";
pub const VERIFY_PASSED: &str = "passed";
pub const VERIFY_FAILED: &str = "failed";
pub const VERIFY_SKIPPED: &str = "skipped";
