//! Shared ticket steps used inside the kinds' own use cases (always within their transaction),
//! and the one transition skeleton every kind's state machine runs in ([`change_state`]).

use chrono::NaiveDateTime;
use serde_json::Value;

use super::model::{ClockFacts, Kind, NewEvent, Ticket};
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

/// The version check of a ticket loaded for change: a client that read an older version gets
/// the conflict (no version given: the latest is meant, as on the JSON API).
pub fn check_version(ticket: &Ticket, expected: Option<i32>) -> Result<(), AppError> {
    if expected.is_some_and(|v| v != ticket.version) {
        return Err(stale());
    }
    Ok(())
}

/// One move of a ticket through its kind's state machine, as the kind decided it.
pub struct StateChange<'a> {
    /// The action's name (`acknowledge`, `known-error`): on the event, and in the audit action
    /// (`incident.acknowledge`, `problem.known_error`).
    pub action: &'a str,
    /// The status the kind's state machine gives for (current status, action).
    pub to: &'a str,
    /// The event's text (a hold reason, a resolution).
    pub body: &'a str,
    /// More of the event's data besides `from`, `to` and `action`.
    pub data: serde_json::Map<String, Value>,
    /// The audit row's before and after, in the kind's own shape.
    pub before: Value,
    pub after: Value,
}

/// What a transition wrote: the ticket row as it now stands and its SLA figures, so the kind
/// builds its answer without reading the ticket again.
pub struct Changed {
    pub ticket: Ticket,
    pub sla: Option<crate::sla::model::TicketSla>,
}

/// The transition skeleton, inside the kind's transaction, on the ticket it loaded for change
/// (once): the version check, the new status with `closed_at` (set on reaching `closed`,
/// cleared on leaving it), the kind's own fields (`own_fields`, which returns the SLA facts as
/// they stand after it), the `state_changed` event, the audit row and the SLA clocks, computed
/// from those facts and stored.
pub fn change_state(
    conn: &mut DbConnection,
    actor: &crate::audit::model::Actor,
    now: NaiveDateTime,
    ticket: &Ticket,
    expected_version: Option<i32>,
    change: StateChange<'_>,
    own_fields: impl FnOnce(&mut DbConnection) -> Result<ClockFacts, AppError>,
) -> Result<Changed, AppError> {
    check_version(ticket, expected_version)?;
    let closed_at = match (ticket.status == CLOSED, change.to == CLOSED) {
        (false, true) => Some(Some(now)),
        (true, false) => Some(None),
        _ => None,
    };
    let update = queries::TicketUpdate {
        status: Some(change.to),
        closed_at,
        ..Default::default()
    };
    if !queries::update_versioned(conn, ticket.id, ticket.version, &update, now)? {
        return Err(stale());
    }
    let facts = own_fields(conn)?;
    let mut data = serde_json::Map::new();
    data.insert("from".into(), ticket.status.clone().into());
    data.insert("to".into(), change.to.into());
    data.insert("action".into(), change.action.into());
    data.extend(change.data);
    add_event(
        conn,
        ticket.id,
        now,
        actor.user_id,
        "state_changed",
        "internal",
        change.body,
        Some(Value::Object(data)),
    )?;
    crate::audit::service::record(
        conn,
        actor,
        now,
        &format!("{}.{}", ticket.kind, change.action.replace('-', "_")),
        &ticket.kind,
        ticket.id,
        Some(&change.before),
        Some(&change.after),
    )?;
    // The SLA clocks are stored at every transition, in the same transaction.
    let sla = crate::sla::service::refresh_with(conn, &facts, now)?;
    let mut written = ticket.clone();
    written.status = change.to.to_string();
    written.version += 1;
    written.updated_at = now;
    if let Some(closed_at) = closed_at {
        written.closed_at = closed_at;
    }
    Ok(Changed { ticket: written, sla })
}

/// The status that ends a ticket of any kind: reaching it sets `closed_at`.
const CLOSED: &str = "closed";

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

/// Brings a softly deleted ticket back; a ticket that is not deleted is a conflict. Its SLA
/// clocks, whatever its kind, are recomputed in the same transaction (which also marks its
/// hour of the SLA rollup dirty, as `set_deleted` does).
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
        // Recomputations skip deleted tickets (and the SLA job drops their figures), so the
        // clocks come back up to date, with the policies and calendars of today.
        crate::sla::service::refresh(conn, id, now)?;
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
