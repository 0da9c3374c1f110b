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
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub ip: Option<&'a str>,
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
