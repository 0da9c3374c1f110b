//! Shared ticket steps used inside the kinds' own use cases (always within their transaction).

use chrono::NaiveDateTime;
use serde_json::Value;

use super::model::{Kind, NewEvent};
use super::queries;
use crate::db::DbConnection;
use crate::error::AppError;

/// Allocates the next number and its reference (`INC-000123`).
pub fn allocate_number(conn: &mut DbConnection, kind: Kind) -> Result<(i64, String), AppError> {
    let number = queries::next_number(conn, kind)?;
    Ok((number, kind.reference(number)))
}

/// Appends one timeline event and moves the ticket's `updated_at` to it: any activity on the
/// timeline is an update in the lists' "recently updated" order (the version stays: an event
/// overwrites nothing). (The arguments are the event's columns, as in `audit::record`.)
#[allow(clippy::too_many_arguments)]
pub fn add_event(
    conn: &mut DbConnection,
    ticket_id: i64,
    at: NaiveDateTime,
    actor_id: Option<i64>,
    kind: &str,
    visibility: &str,
    body: &str,
    data: Option<Value>,
) -> Result<(), AppError> {
    queries::insert_event(
        conn,
        &NewEvent {
            ticket_id,
            at,
            actor_id,
            kind,
            visibility,
            body,
            data: data.map(|d| d.to_string()),
        },
    )?;
    queries::touch(conn, ticket_id, at)?;
    Ok(())
}

/// The optimistic-lock failure everyone sees the same way.
pub fn stale() -> AppError {
    AppError::Conflict("this ticket was changed by someone else; reload it and try again".into())
}

/// Deletes a ticket softly: it leaves every list and page, keeps its rows, and can be restored.
/// Admins only (the route says so); the reason is required and goes to the timeline and audit.
pub fn soft_delete(
    conn: &mut DbConnection,
    actor: &crate::audit::model::Actor,
    now: NaiveDateTime,
    id: i64,
    reason: &str,
) -> Result<(), AppError> {
    let reason = crate::users::rules::required_text(reason, 2000)
        .map_err(|e| AppError::Validation(crate::error::FieldErrors::single("reason", e)))?;
    crate::db::write_transaction(conn, |conn| {
        let ticket = queries::find(conn, id)?;
        queries::set_deleted(conn, id, Some(now), now)?;
        add_event(conn, id, now, actor.user_id, "deleted", "internal", &reason, None)?;
        crate::audit::service::record(
            conn,
            actor,
            now,
            &format!("{}.delete", ticket.kind),
            &ticket.kind,
            id,
            Some(&ticket),
            Some(&serde_json::json!({ "deleted_at": now, "reason": reason })),
        )
    })
}

/// Brings a softly deleted ticket back; a ticket that is not deleted is a conflict. An
/// incident's SLA clocks are recomputed in the same transaction (which also marks its hour of
/// the SLA rollup dirty, as `set_deleted` does).
pub fn restore(
    conn: &mut DbConnection,
    actor: &crate::audit::model::Actor,
    now: NaiveDateTime,
    id: i64,
) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        let ticket = queries::find_any(conn, id)?;
        if ticket.deleted_at.is_none() {
            return Err(AppError::Conflict(format!("{} is not deleted", ticket.reference)));
        }
        queries::set_deleted(conn, id, None, now)?;
        add_event(conn, id, now, actor.user_id, "restored", "internal", "", None)?;
        if ticket.kind == Kind::Incident.as_str() {
            // Recomputations skip deleted incidents (and the SLA job drops their figures), so
            // the clocks come back up to date, with the policies and calendars of today.
            crate::sla::service::refresh(conn, id, now)?;
        }
        crate::audit::service::record(
            conn,
            actor,
            now,
            &format!("{}.restore", ticket.kind),
            &ticket.kind,
            id,
            Some(&serde_json::json!({ "deleted_at": ticket.deleted_at })),
            None::<&()>,
        )
    })
}
