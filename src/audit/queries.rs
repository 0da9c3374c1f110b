//! Audit log queries: insert and keyset-paginated reads, newest first.

use diesel::prelude::*;

use super::model::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::db::schema::audit_log;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .map(|_| ())
}

/// At most `limit` entries matching `filter`, newest first (uses the id index, never a count).
pub fn list(conn: &mut DbConnection, filter: &AuditFilter, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table.select(AuditEntry::as_select()).into_boxed();
    if let Some(t) = filter.entity_type.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::entity_type.eq(t.to_string()));
    }
    if let Some(id) = filter.entity_id.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::entity_id.eq(id.to_string()));
    }
    if let Some(action) = filter.action.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::action.eq(action.to_string()));
    }
    if let Some(actor) = filter.actor.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::actor_label.eq(actor.trim().to_lowercase()));
    }
    if let Some(before) = filter.before {
        query = query.filter(audit_log::id.lt(before));
    }
    query.order(audit_log::id.desc()).limit(limit).load(conn)
}
