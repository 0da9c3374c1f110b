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

/// Appends one timeline event. (The arguments are the event's columns, as in `audit::record`.)
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
    Ok(())
}

/// The optimistic-lock failure everyone sees the same way.
pub fn stale() -> AppError {
    AppError::Conflict("this ticket was changed by someone else; reload it and try again".into())
}
