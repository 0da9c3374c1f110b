//! Use cases of outgoing mail: writing mails into the outbox inside the caller's transaction
//! (from `notifications::notify`), a user's mail preferences, an admin's resend.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::outbox::{self, NewContent, NewMail};
use super::rules::{self, State};
use crate::audit::model::Actor;
use crate::db::schema::{mail_preferences, tickets, users};
use crate::db::DbConnection;
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::web::i18n::Lang;

/// Writes one mail per user in `users` whose preferences include the mail event of `kind`
/// (see [`rules::event_of`]); inactive users and unknown kinds get none. Runs in the caller's
/// transaction: the mail exists exactly when the change that causes it does.
pub fn enqueue_for_users(
    conn: &mut DbConnection,
    users: &[i64],
    ticket_id: Option<i64>,
    kind: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let Some(event) = rules::event_of(kind) else {
        return Ok(0);
    };
    if users.is_empty() {
        return Ok(0);
    }
    let people: Vec<(i64, String, String, String, String)> = users::table
        .filter(users::id.eq_any(users))
        .filter(users::active.eq(true))
        .order(users::id)
        .select((
            users::id,
            users::email,
            users::display_name,
            users::locale,
            users::time_zone,
        ))
        .load(conn)?;
    let chosen: Vec<(i64, bool)> = mail_preferences::table
        .filter(mail_preferences::user_id.eq_any(users))
        .filter(mail_preferences::event.eq(event))
        .select((mail_preferences::user_id, mail_preferences::enabled))
        .load(conn)?;
    let ticket: Option<(String, String)> = match ticket_id {
        Some(id) => tickets::table
            .find(id)
            .select((tickets::reference, tickets::title))
            .first(conn)
            .optional()?,
        None => None,
    };
    let mut written = 0;
    for (user_id, email, name, locale, time_zone) in people {
        let wanted = chosen
            .iter()
            .find(|(id, _)| *id == user_id)
            .map_or(rules::default_on(event), |(_, enabled)| *enabled);
        if !wanted {
            continue;
        }
        let lang = Lang::parse(&locale).unwrap_or(Lang::Ja);
        let (reference, title) = match &ticket {
            Some((reference, title)) => (Some(reference.as_str()), title.as_str()),
            None => (None, body),
        };
        let subject = super::templates::subject(lang, event, reference, title);
        write(
            conn,
            Recipient {
                address: &email,
                name: &name,
                user_id: Some(user_id),
                locale: lang.code(),
                time_zone: &time_zone,
            },
            ticket_id.filter(|_| ticket.is_some()),
            reference,
            event,
            &subject,
            body,
            now,
        )?;
        written += 1;
    }
    Ok(written)
}

/// Who a mail goes to.
pub struct Recipient<'a> {
    pub address: &'a str,
    pub name: &'a str,
    pub user_id: Option<i64>,
    pub locale: &'a str,
    pub time_zone: &'a str,
}

/// Writes one queued mail (due now) with a fresh token; its Message-ID follows from the token.
#[allow(clippy::too_many_arguments)]
pub fn write(
    conn: &mut DbConnection,
    to: Recipient,
    ticket_id: Option<i64>,
    reference: Option<&str>,
    event: &str,
    subject: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    let token = crate::auth::tokens::random_hex(16);
    Ok(outbox::insert(
        conn,
        &NewMail {
            recipient: to.address,
            ticket_id,
            ticket_reference: reference,
            event,
            subject,
            token: &token,
            state: State::Queued.as_str(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        },
        |mail_id| NewContent {
            mail_id,
            recipient_name: to.name,
            user_id: to.user_id,
            locale: to.locale,
            time_zone: to.time_zone,
            body,
        },
    )?)
}

/// One event and whether the user gets it by mail.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Preference {
    pub event: String,
    pub mail: bool,
}

/// Every event with the user's choice (or the default), in [`rules::EVENTS`] order.
pub fn preferences(conn: &mut DbConnection, user_id: i64) -> Result<Vec<Preference>, AppError> {
    let chosen: Vec<(String, bool)> = mail_preferences::table
        .filter(mail_preferences::user_id.eq(user_id))
        .select((mail_preferences::event, mail_preferences::enabled))
        .load(conn)?;
    Ok(rules::EVENTS
        .iter()
        .map(|event| Preference {
            event: event.to_string(),
            mail: chosen
                .iter()
                .find(|(e, _)| e == event)
                .map_or(rules::default_on(event), |(_, on)| *on),
        })
        .collect())
}

/// Sets the user's choices for the events named (others keep theirs); audited.
pub fn set_preferences(
    conn: &mut DbConnection,
    actor: &Actor,
    user_id: i64,
    choices: &[Preference],
    now: NaiveDateTime,
) -> Result<Vec<Preference>, AppError> {
    let mut errors = FieldErrors::new();
    for choice in choices {
        if !rules::EVENTS.contains(&choice.event.as_str()) {
            errors.add("event", FieldMessage::new("error-mail-event-unknown"));
        }
    }
    errors.into_result()?;
    crate::db::write_transaction(conn, |conn| {
        let before = preferences(conn, user_id)?;
        for choice in choices {
            diesel::delete(
                mail_preferences::table
                    .filter(mail_preferences::user_id.eq(user_id))
                    .filter(mail_preferences::event.eq(&choice.event)),
            )
            .execute(conn)?;
            diesel::insert_into(mail_preferences::table)
                .values((
                    mail_preferences::user_id.eq(user_id),
                    mail_preferences::event.eq(&choice.event),
                    mail_preferences::enabled.eq(choice.mail),
                ))
                .execute(conn)?;
        }
        let after = preferences(conn, user_id)?;
        crate::audit::service::record(
            conn,
            actor,
            now,
            "mail.preferences",
            "user",
            user_id,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// An admin's resend: the mail is due again now (same Message-ID); audited.
pub fn resend(conn: &mut DbConnection, actor: &Actor, id: i64, now: NaiveDateTime) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        let before = outbox::load(conn, id).optional()?.ok_or(AppError::NotFound)?.row;
        if outbox::requeue(conn, id, now)? == 0 {
            return Err(AppError::Conflict("the mail is being sent right now".into()));
        }
        crate::audit::service::record(
            conn,
            actor,
            now,
            "mail.resend",
            "mail",
            id,
            Some(&serde_json::json!({ "state": before.state, "attempts": before.attempts })),
            Some(&serde_json::json!({ "state": State::Queued.as_str() })),
        )
    })
}
