//! Audit log rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_log;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub ip: Option<String>,
    pub prev_hash: Option<String>,
    pub row_hash: Option<String>,
}

impl AuditEntry {
    /// The columns the row's hash covers.
    pub fn content(&self) -> super::rules::Content<'_> {
        super::rules::Content {
            id: self.id,
            at: self.at,
            actor_id: self.actor_id,
            actor_label: &self.actor_label,
            action: &self.action,
            entity_type: &self.entity_type,
            entity_id: &self.entity_id,
            before_json: self.before_json.as_deref(),
            after_json: self.after_json.as_deref(),
            ip: self.ip.as_deref(),
        }
    }
}

/// A new row; `id` and the hashes are decided under the chain's lock (`service::record`).
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub ip: Option<&'a str>,
    pub prev_hash: &'a str,
    pub row_hash: &'a str,
}

/// One run of the chain's verification.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = crate::db::schema::audit_verifications)]
pub struct Verification {
    pub id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub started_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub finished_at: NaiveDateTime,
    pub intact: bool,
    pub rows_checked: i64,
    pub broken_id: Option<i64>,
    pub detail: Option<String>,
    pub last_id: Option<i64>,
    pub last_hash: Option<String>,
    pub started_by: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = crate::db::schema::audit_verifications)]
pub struct NewVerification<'a> {
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
    pub intact: bool,
    pub rows_checked: i64,
    pub broken_id: Option<i64>,
    pub detail: Option<String>,
    pub last_id: Option<i64>,
    pub last_hash: Option<String>,
    pub started_by: &'a str,
}

/// Who did something and from where; passed into every service call that changes data.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// E-mail of the user, or `cli` / `setup` for changes made outside a session.
    pub label: String,
    pub ip: Option<String>,
}

impl Actor {
    pub fn user(user_id: i64, email: &str, ip: Option<String>) -> Self {
        Self {
            user_id: Some(user_id),
            label: email.to_string(),
            ip,
        }
    }

    pub fn system(label: &str) -> Self {
        Self {
            user_id: None,
            label: label.to_string(),
            ip: None,
        }
    }
}

/// Filters for browsing the log; all optional.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub actor: Option<String>,
    /// Keyset cursor: only entries with a smaller id.
    pub before: Option<i64>,
}
