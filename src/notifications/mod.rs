//! In-app notifications: what the SLA job and ticket changes tell people. Stored per recipient
//! with a kind and the ticket, shown in the reader's language; also written as mail into the
//! outbox (`mail::service`) for those who chose that event by mail.

pub mod routes;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{notifications, tickets};
use crate::db::DbConnection;
use crate::error::AppError;

/// How many notifications a page or API call shows at most.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub kind: String,
    pub body: String,
    pub ticket_id: Option<i64>,
    pub ticket_number: Option<String>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub read_at: Option<NaiveDateTime>,
    /// The ticket's page, built from its kind (`/problems/12`).
    pub ticket_page: Option<String>,
}

/// Tells each of `users` (duplicates dropped) about a ticket, in the app and — for the users
/// whose mail preferences include the kind's event — by mail, written into the outbox in the
/// same transaction.
pub fn notify(
    conn: &mut DbConnection,
    users: &[i64],
    ticket_id: Option<i64>,
    kind: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let mut unique = users.to_vec();
    unique.sort_unstable();
    unique.dedup();
    for user in &unique {
        diesel::insert_into(notifications::table)
            .values((
                notifications::user_id.eq(user),
                notifications::ticket_id.eq(ticket_id),
                notifications::kind.eq(kind),
                notifications::body.eq(body),
                notifications::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    crate::mail::service::enqueue_for_users(conn, &unique, ticket_id, kind, body, now)?;
    Ok(unique.len())
}

/// A user's notifications, newest first; keyset paging with `before`.
pub fn of_user(
    conn: &mut DbConnection,
    user_id: i64,
    unread_only: bool,
    before: Option<i64>,
) -> Result<Vec<NotificationView>, AppError> {
    let mut query = notifications::table
        .left_join(tickets::table)
        .filter(notifications::user_id.eq(user_id))
        .order(notifications::id.desc())
        .limit(PAGE_SIZE)
        .select((
            notifications::id,
            notifications::kind,
            notifications::body,
            notifications::ticket_id,
            tickets::reference.nullable(),
            notifications::created_at,
            notifications::read_at,
            tickets::kind.nullable(),
        ))
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    if let Some(before) = before {
        query = query.filter(notifications::id.lt(before));
    }
    type Row = (
        i64,
        String,
        String,
        Option<i64>,
        Option<String>,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let rows: Vec<Row> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, body, ticket_id, ticket_number, created_at, read_at, ticket_kind)| NotificationView {
                ticket_page: ticket_id
                    .zip(ticket_kind.as_deref().and_then(crate::tickets::kind::find_str))
                    .map(|(id, spec)| spec.page(id)),
                id,
                kind,
                body,
                ticket_id,
                ticket_number,
                created_at,
                read_at,
            },
        )
        .collect())
}

/// Marks one of the user's notifications read (someone else's is "not found"); audited.
pub fn mark_read(
    conn: &mut DbConnection,
    actor: &crate::audit::model::Actor,
    user_id: i64,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        let updated = diesel::update(
            notifications::table
                .filter(notifications::id.eq(id))
                .filter(notifications::user_id.eq(user_id)),
        )
        .set(notifications::read_at.eq(now))
        .execute(conn)?;
        if updated == 0 {
            return Err(AppError::NotFound);
        }
        crate::audit::service::record(
            conn,
            actor,
            now,
            "notification.read",
            "notification",
            id,
            None::<&()>,
            Some(&serde_json::json!({ "read_at": now })),
        )
    })
}
