//! Diesel queries for attachments.

use diesel::prelude::*;

use super::model::{Attachment, NewAttachment};
use chrono::NaiveDateTime;

use crate::db::schema::{attachments, storage_usage};
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, new: &NewAttachment<'_>) -> QueryResult<i64> {
    diesel::insert_into(attachments::table)
        .values(new)
        .returning(attachments::id)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Attachment> {
    attachments::table.find(id).select(Attachment::as_select()).first(conn)
}

pub fn of_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<Attachment>> {
    attachments::table
        .filter(attachments::ticket_id.eq(ticket_id))
        .order(attachments::id)
        .limit(500)
        .select(Attachment::as_select())
        .load(conn)
}

/// When `user_id` uploaded their latest `limit` attachments, newest first (through the
/// `(uploaded_by, created_at)` index: at most `limit` rows, whatever the table holds).
pub fn recent_uploads(conn: &mut DbConnection, user_id: i64, limit: i64) -> QueryResult<Vec<NaiveDateTime>> {
    attachments::table
        .filter(attachments::uploaded_by.eq(user_id))
        .order(attachments::created_at.desc())
        .limit(limit)
        .select(attachments::created_at)
        .load(conn)
}

/// The bytes of all attachments (the running total kept in `storage_usage`).
pub fn storage_used(conn: &mut DbConnection) -> QueryResult<i64> {
    storage_usage::table.find(1).select(storage_usage::bytes).first(conn)
}

/// Adds `bytes` to the running total if the total stays within `quota` (always without one);
/// `false` when it would not. One statement, so concurrent uploads cannot both pass the check:
/// the row lock orders them.
pub fn add_to_storage(conn: &mut DbConnection, bytes: i64, quota: Option<i64>) -> QueryResult<bool> {
    let row = storage_usage::table.filter(storage_usage::id.eq(1));
    let updated = match quota {
        Some(quota) => diesel::update(row.filter(storage_usage::bytes.le(quota - bytes)))
            .set(storage_usage::bytes.eq(storage_usage::bytes + bytes))
            .execute(conn)?,
        None => diesel::update(row)
            .set(storage_usage::bytes.eq(storage_usage::bytes + bytes))
            .execute(conn)?,
    };
    Ok(updated == 1)
}
