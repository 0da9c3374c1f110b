//! Writing the audit log. Services call [`record`] inside their own transaction, so a change
//! and its audit row are committed together or not at all.

use serde::Serialize;

use super::model::{Actor, AuditEntry, AuditFilter, NewAuditEntry};
use super::queries;
use crate::db::DbConnection;
use crate::error::AppError;

pub const MAX_PAGE: i64 = 100;

/// Appends one entry. `before`/`after` are the record's state as JSON (secrets left out by the caller).
#[allow(clippy::too_many_arguments)]
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConnection,
    actor: &Actor,
    at: chrono::NaiveDateTime,
    action: &str,
    entity_type: &str,
    entity_id: impl ToString,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), AppError> {
    let to_json = |value: Option<String>| value;
    let before_json = to_json(
        before
            .map(serde_json::to_string)
            .transpose()
            .map_err(AppError::internal)?,
    );
    let after_json = to_json(
        after
            .map(serde_json::to_string)
            .transpose()
            .map_err(AppError::internal)?,
    );
    queries::insert(
        conn,
        &NewAuditEntry {
            at,
            actor_id: actor.user_id,
            actor_label: &actor.label,
            action,
            entity_type,
            entity_id: entity_id.to_string(),
            before_json,
            after_json,
            ip: actor.ip.as_deref(),
        },
    )?;
    Ok(())
}

/// One page of the log (newest first) and the cursor for the next page, if any.
pub fn browse(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    limit: i64,
) -> Result<(Vec<AuditEntry>, Option<i64>), AppError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut rows = queries::list(conn, filter, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next))
}
