//! Retention periods and the record of each run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Every prunable table's period in days (0: for ever), by table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Periods {
    #[schema(example = json!({"audit_log": 0, "login_attempts": 90, "notifications": 365, "idempotency_keys": 7, "sessions": 30}))]
    pub days: BTreeMap<String, i32>,
}

/// One run of the pruning job.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = crate::db::schema::retention_runs)]
pub struct RetentionRun {
    pub id: i64,
    pub holder: String,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub started_at: chrono::NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub finished_at: Option<chrono::NaiveDateTime>,
    /// Rows removed per table (JSON object).
    pub counts: String,
    pub error: Option<String>,
}

/// One line of the report of what the next run would archive.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName, Serialize)]
pub struct ReportRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    /// The month the tickets were closed, `YYYY-MM`.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub month: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub count: i64,
}
