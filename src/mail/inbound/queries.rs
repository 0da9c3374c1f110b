//! Queries of incoming mail.

use diesel::prelude::*;
use diesel::QueryResult;

use super::model::{InboundMail, NewInboundMail, Outcome};
use crate::db::schema::{mail_inbound, ticket_events, tickets};
use crate::db::DbConnection;
use crate::tickets::model::Ticket;

pub fn insert(conn: &mut DbConnection, new: &NewInboundMail<'_>) -> QueryResult<i64> {
    diesel::insert_into(mail_inbound::table)
        .values(new)
        .returning(mail_inbound::id)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<InboundMail> {
    mail_inbound::table
        .find(id)
        .select(InboundMail::as_select())
        .first(conn)
}

/// The row of an identical message already stored (a retried delivery).
pub fn find_by_sha256(conn: &mut DbConnection, sha256: &str) -> QueryResult<Option<InboundMail>> {
    mail_inbound::table
        .filter(mail_inbound::sha256.eq(sha256))
        .order(mail_inbound::id)
        .select(InboundMail::as_select())
        .first(conn)
        .optional()
}

pub fn set_outcome(conn: &mut DbConnection, id: i64, outcome: &Outcome<'_>) -> QueryResult<usize> {
    diesel::update(mail_inbound::table.find(id)).set(outcome).execute(conn)
}

/// Newest first; `states` empty: all.
pub fn list(
    conn: &mut DbConnection,
    states: &[&str],
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<InboundMail>> {
    let mut query = mail_inbound::table.select(InboundMail::as_select()).into_boxed();
    if !states.is_empty() {
        query = query.filter(mail_inbound::state.eq_any(states.to_vec()));
    }
    if let Some(before) = before {
        query = query.filter(mail_inbound::id.lt(before));
    }
    query.order(mail_inbound::id.desc()).limit(limit).load(conn)
}

/// A live (not deleted) ticket by its reference (`INC-000123`).
pub fn ticket_by_reference(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<Ticket>> {
    tickets::table
        .filter(tickets::reference.eq(reference))
        .filter(tickets::deleted_at.is_null())
        .select(Ticket::as_select())
        .first(conn)
        .optional()
}

/// The newest timeline event of `kind` on a ticket, with its data.
pub fn last_event(conn: &mut DbConnection, ticket_id: i64, kind: &str) -> QueryResult<Option<(i64, Option<String>)>> {
    ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .filter(ticket_events::kind.eq(kind))
        .order(ticket_events::id.desc())
        .select((ticket_events::id, ticket_events::data))
        .first(conn)
        .optional()
}

pub fn set_event_data(conn: &mut DbConnection, event_id: i64, data: &str) -> QueryResult<usize> {
    diesel::update(ticket_events::table.find(event_id))
        .set(ticket_events::data.eq(Some(data)))
        .execute(conn)
}
