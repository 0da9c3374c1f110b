//! Diesel queries for attachments.

use diesel::prelude::*;

use super::model::{Attachment, NewAttachment};
use crate::db::schema::attachments;
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
