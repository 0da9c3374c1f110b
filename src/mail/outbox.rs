//! The outbox table: rows, inserts and the queries of the sender (claim with a lease, record an
//! attempt) and of the admin views. Diesel only; the schedule is in [`super::rules`].

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::rules::{self, State};
use crate::db::schema::{mail_attempts, mail_messages, mail_outbox};
use crate::db::DbConnection;

/// One outbox row: where a mail goes and where it is in its delivery.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = mail_outbox)]
pub struct MailRow {
    pub id: i64,
    pub recipient: String,
    pub ticket_id: Option<i64>,
    pub ticket_reference: Option<String>,
    pub event: String,
    pub subject: String,
    pub message_id: Option<String>,
    #[serde(skip)]
    pub token: String,
    pub state: String,
    pub attempts: i32,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub next_attempt_at: NaiveDateTime,
    #[serde(skip)]
    pub lease_holder: Option<String>,
    #[serde(skip)]
    pub lease_expires_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub sent_at: Option<NaiveDateTime>,
}

/// What a mail says.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_messages)]
pub struct MailContent {
    pub recipient_name: String,
    pub user_id: Option<i64>,
    pub locale: String,
    pub time_zone: String,
    pub body: String,
    /// The whole RFC 5322 message, fixed at the first attempt so a retry sends the same bytes.
    pub message: Option<String>,
}

/// A mail: its outbox row and its content.
#[derive(Debug, Clone, Queryable, Selectable)]
pub struct Mail {
    #[diesel(embed)]
    pub row: MailRow,
    #[diesel(embed)]
    pub content: MailContent,
}

/// A new mail, as the change causing it writes it.
#[derive(Debug, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct NewMail<'a> {
    pub recipient: &'a str,
    pub ticket_id: Option<i64>,
    pub ticket_reference: Option<&'a str>,
    pub event: &'a str,
    pub subject: &'a str,
    pub token: &'a str,
    pub state: &'a str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// A new mail's content.
#[derive(Debug, Insertable)]
#[diesel(table_name = mail_messages)]
pub struct NewContent<'a> {
    pub mail_id: i64,
    pub recipient_name: &'a str,
    pub user_id: Option<i64>,
    pub locale: &'a str,
    pub time_zone: &'a str,
    pub body: &'a str,
}

/// One delivery attempt.
#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub id: i64,
    pub mail_id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub attempted_at: NaiveDateTime,
    pub ok: bool,
    pub reply: String,
}

/// Writes a mail and its content; its id.
pub fn insert<'a>(
    conn: &mut DbConnection,
    mail: &NewMail,
    content: impl FnOnce(i64) -> NewContent<'a>,
) -> QueryResult<i64> {
    let id = diesel::insert_into(mail_outbox::table)
        .values(mail)
        .returning(mail_outbox::id)
        .get_result(conn)?;
    diesel::insert_into(mail_messages::table)
        .values(&content(id))
        .execute(conn)?;
    Ok(id)
}

pub fn load(conn: &mut DbConnection, id: i64) -> QueryResult<Mail> {
    mail_outbox::table
        .inner_join(mail_messages::table)
        .filter(mail_outbox::id.eq(id))
        .select(Mail::as_select())
        .first(conn)
}

/// Takes up to `limit` due mails for `holder` until `now + LEASE_SECONDS`. Each row is taken by a
/// conditional UPDATE that only matches while it is still claimable, so of several senders
/// racing for a row exactly one wins (both backends, no `SKIP LOCKED` needed); a sender that
/// died leaves its lease to expire.
pub fn claim(conn: &mut DbConnection, holder: &str, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    let due = [State::Queued.as_str(), State::Failed.as_str()];
    let candidates: Vec<i64> = mail_outbox::table
        .filter(
            mail_outbox::state
                .eq_any(due)
                .and(mail_outbox::next_attempt_at.le(now))
                .or(mail_outbox::state
                    .eq(State::Sending.as_str())
                    .and(mail_outbox::lease_expires_at.lt(now))),
        )
        .order(mail_outbox::id)
        .limit(limit)
        .select(mail_outbox::id)
        .load(conn)?;
    let until = now + Duration::seconds(rules::LEASE_SECONDS);
    let mut claimed = Vec::new();
    for id in candidates {
        let taken = diesel::update(
            mail_outbox::table.filter(mail_outbox::id.eq(id)).filter(
                mail_outbox::state
                    .eq_any(due)
                    .and(mail_outbox::next_attempt_at.le(now))
                    .or(mail_outbox::state
                        .eq(State::Sending.as_str())
                        .and(mail_outbox::lease_expires_at.lt(now))),
            ),
        )
        .set((
            mail_outbox::state.eq(State::Sending.as_str()),
            mail_outbox::lease_holder.eq(holder),
            mail_outbox::lease_expires_at.eq(until),
        ))
        .execute(conn)?;
        if taken == 1 {
            claimed.push(id);
        }
    }
    Ok(claimed)
}

/// Fixes the message of a mail at its first attempt (kept for every retry).
pub fn set_message(conn: &mut DbConnection, id: i64, message_id: &str, message: &str) -> QueryResult<()> {
    diesel::update(mail_outbox::table.find(id))
        .set(mail_outbox::message_id.eq(message_id))
        .execute(conn)?;
    diesel::update(mail_messages::table.find(id))
        .set(mail_messages::message.eq(message))
        .execute(conn)
        .map(|_| ())
}

/// Records one attempt and its outcome; only the lease holder's result counts (a sender whose
/// lease was taken over changes nothing). Returns whether the row was still ours.
pub fn finish(
    conn: &mut DbConnection,
    mail: &MailRow,
    holder: &str,
    now: NaiveDateTime,
    ok: bool,
    reply: &str,
) -> QueryResult<bool> {
    let attempts = mail.attempts + 1;
    let (state, next) = if ok {
        (State::Sent, now)
    } else {
        rules::after_failure(mail.created_at, attempts, now)
    };
    let updated = diesel::update(
        mail_outbox::table
            .filter(mail_outbox::id.eq(mail.id))
            .filter(mail_outbox::state.eq(State::Sending.as_str()))
            .filter(mail_outbox::lease_holder.eq(holder)),
    )
    .set((
        mail_outbox::state.eq(state.as_str()),
        mail_outbox::attempts.eq(attempts),
        mail_outbox::next_attempt_at.eq(next),
        mail_outbox::lease_holder.eq(None::<String>),
        mail_outbox::lease_expires_at.eq(None::<NaiveDateTime>),
        mail_outbox::last_error.eq((!ok).then_some(reply)),
        mail_outbox::sent_at.eq(ok.then_some(now)),
    ))
    .execute(conn)?;
    diesel::insert_into(mail_attempts::table)
        .values((
            mail_attempts::mail_id.eq(mail.id),
            mail_attempts::attempted_at.eq(now),
            mail_attempts::ok.eq(ok),
            mail_attempts::reply.eq(reply),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The attempts at one mail, oldest first.
pub fn attempts_of(conn: &mut DbConnection, mail_id: i64) -> QueryResult<Vec<Attempt>> {
    mail_attempts::table
        .filter(mail_attempts::mail_id.eq(mail_id))
        .order(mail_attempts::id)
        .load(conn)
}

/// The newest mails, optionally in one state; keyset paging with `before`.
pub fn list(
    conn: &mut DbConnection,
    state: Option<State>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<MailRow>> {
    let mut query = mail_outbox::table
        .order(mail_outbox::id.desc())
        .limit(limit)
        .select(MailRow::as_select())
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(mail_outbox::state.eq(state.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(mail_outbox::id.lt(before));
    }
    query.load(conn)
}

/// Pending mails and the creation time of the oldest (the `/metrics` gauges).
pub fn depth(conn: &mut DbConnection) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let pending: Vec<&str> = State::ALL
        .into_iter()
        .filter(|s| s.pending())
        .map(State::as_str)
        .collect();
    mail_outbox::table
        .filter(mail_outbox::state.eq_any(pending))
        .select((diesel::dsl::count_star(), diesel::dsl::min(mail_outbox::created_at)))
        .first(conn)
}

/// Makes a mail due again now (an admin's resend), whatever its state but `sending`; the three
/// days before it is given up count from the resend.
pub fn requeue(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        mail_outbox::table
            .filter(mail_outbox::id.eq(id))
            .filter(mail_outbox::state.ne(State::Sending.as_str())),
    )
    .set((
        mail_outbox::state.eq(State::Queued.as_str()),
        mail_outbox::next_attempt_at.eq(now),
        mail_outbox::created_at.eq(now),
    ))
    .execute(conn)
}
