//! Watchers and the requester of a ticket, and who hears of what happens on it.
//!
//! Anyone who can see a ticket (its kind's `view`) may watch it; adding or removing someone
//! else is work on it (`work`), and only someone who can see the kind can be added. The
//! requester is the person the ticket is for (a user, or a plain address for someone without
//! an account), distinct from who filed it (`reporter_id`). [`audience`] is the one answer to
//! "who hears of this ticket" for in-app notifications and, later, mail.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::service::add_event;
use super::work::{self, Need};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::auth::permissions::Role;
use crate::db::schema::{ticket_requesters, ticket_watchers, tickets, users};
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};

/// The longest requester address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// Who hears of a ticket: its assignee, its watchers and its requester when a user;
/// each once, in id order.
pub fn audience(conn: &mut DbConnection, ticket_id: i64) -> Result<Vec<i64>, AppError> {
    let mut ids: Vec<i64> = ticket_watchers::table
        .filter(ticket_watchers::ticket_id.eq(ticket_id))
        .select(ticket_watchers::user_id)
        .load(conn)?;
    let assignee: Option<Option<i64>> = tickets::table
        .find(ticket_id)
        .select(tickets::assignee_id)
        .first(conn)
        .optional()?;
    ids.extend(assignee.flatten());
    let requester: Option<Option<i64>> = ticket_requesters::table
        .find(ticket_id)
        .select(ticket_requesters::user_id)
        .first(conn)
        .optional()?;
    ids.extend(requester.flatten());
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Tells the ticket's audience, except `actor_id` (who knows what they just did), in-app.
pub fn notify(
    conn: &mut DbConnection,
    ticket_id: i64,
    actor_id: Option<i64>,
    kind: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let mut users = audience(conn, ticket_id)?;
    users.retain(|u| Some(*u) != actor_id);
    let body: String = body.chars().take(200).collect();
    crate::notifications::notify(conn, &users, Some(ticket_id), kind, &body, now)?;
    Ok(())
}

/// One watcher as listed on the ticket.
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct Watcher {
    pub user_id: i64,
    #[schema(example = "佐藤 花子")]
    pub name: String,
    pub added_by: Option<i64>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
}

/// The watchers of a ticket, in the order they started watching.
pub fn list(conn: &mut DbConnection, ticket_id: i64) -> Result<Vec<Watcher>, AppError> {
    Ok(ticket_watchers::table
        .inner_join(users::table.on(users::id.eq(ticket_watchers::user_id)))
        .filter(ticket_watchers::ticket_id.eq(ticket_id))
        .order((ticket_watchers::created_at, ticket_watchers::user_id))
        .limit(500)
        .select((
            ticket_watchers::user_id,
            users::display_name,
            ticket_watchers::added_by,
            ticket_watchers::created_at,
        ))
        .load(conn)?)
}

/// Who to add or remove; absent = the person asking.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WatchInput {
    pub user_id: Option<i64>,
}

/// Checks that `user_id` is an active user who may see tickets of this kind (422 on `user_id`).
fn check_watcher(conn: &mut DbConnection, spec: &super::kind::KindSpec, user_id: i64) -> Result<String, AppError> {
    let refused = |key: &'static str| AppError::Validation(FieldErrors::single("user_id", FieldMessage::new(key)));
    let user = match crate::users::queries::find(conn, user_id) {
        Ok(u) if u.active => u,
        Ok(_) | Err(diesel::result::Error::NotFound) => return Err(refused("error-user-unknown")),
        Err(e) => return Err(e.into()),
    };
    let role = Role::parse(&user.role).ok_or_else(|| refused("error-user-unknown"))?;
    if !work::may(spec, role, Need::View) {
        return Err(refused("error-watcher-cannot-see"));
    }
    Ok(user.display_name)
}

/// Adds a watcher (the person asking when `user_id` is absent). Watching oneself needs the
/// kind's `view`; adding someone else its `work`. Already watching: nothing changes.
pub fn add(
    conn: &mut DbConnection,
    actor: &Actor,
    role: Role,
    now: NaiveDateTime,
    ticket_id: i64,
    user_id: Option<i64>,
) -> Result<(), AppError> {
    let me = actor.user_id.ok_or(AppError::Forbidden)?;
    let user_id = user_id.unwrap_or(me);
    let need = if user_id == me { Need::View } else { Need::Work };
    let (ticket, spec) = work::load_for(conn, ticket_id, role, need)?;
    let name = check_watcher(conn, spec, user_id)?;
    write_transaction(conn, |conn| {
        let inserted = diesel::insert_into(ticket_watchers::table)
            .values((
                ticket_watchers::ticket_id.eq(ticket_id),
                ticket_watchers::user_id.eq(user_id),
                ticket_watchers::added_by.eq(actor.user_id),
                ticket_watchers::created_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            // Already watching (a concurrent add included): nothing to record.
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                return Ok(())
            }
            Err(e) => return Err(e.into()),
        }
        let data = json!({ "user_id": user_id, "name": name });
        add_event(
            conn,
            ticket_id,
            now,
            actor.user_id,
            "watcher_added",
            "internal",
            "",
            Some(data.clone()),
        )?;
        record(
            conn,
            actor,
            now,
            &format!("{}.watch", ticket.kind),
            &ticket.kind,
            ticket_id,
            None::<&()>,
            Some(&data),
        )
    })
}

/// Removes a watcher: oneself with `view`, someone else with `work`; not watching is 404.
pub fn remove(
    conn: &mut DbConnection,
    actor: &Actor,
    role: Role,
    now: NaiveDateTime,
    ticket_id: i64,
    user_id: i64,
) -> Result<(), AppError> {
    let need = if Some(user_id) == actor.user_id {
        Need::View
    } else {
        Need::Work
    };
    let (ticket, _) = work::load_for(conn, ticket_id, role, need)?;
    write_transaction(conn, |conn| {
        let deleted = diesel::delete(
            ticket_watchers::table
                .filter(ticket_watchers::ticket_id.eq(ticket_id))
                .filter(ticket_watchers::user_id.eq(user_id)),
        )
        .execute(conn)?;
        if deleted == 0 {
            return Err(AppError::NotFound);
        }
        let data = json!({ "user_id": user_id });
        add_event(
            conn,
            ticket_id,
            now,
            actor.user_id,
            "watcher_removed",
            "internal",
            "",
            Some(data.clone()),
        )?;
        record(
            conn,
            actor,
            now,
            &format!("{}.unwatch", ticket.kind),
            &ticket.kind,
            ticket_id,
            Some(&data),
            None::<&()>,
        )
    })
}

/// The requester as given on a form or in the API: a user, or an address, or neither.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RequesterInput {
    /// The user the ticket is for.
    pub requester_id: Option<i64>,
    /// Or the address of someone without an account.
    #[schema(example = "tanaka@example.co.jp")]
    pub requester_email: String,
}

/// A checked requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    pub user_id: Option<i64>,
    pub email: Option<String>,
}

/// A plausible address: one `@` with text on both sides, a dot in the domain, no spaces.
pub fn valid_email(email: &str) -> bool {
    let mut parts = email.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                && email.len() <= MAX_EMAIL
        }
        _ => false,
    }
}

/// Checks a requester: an active user (422 on `requester_id`) and a plausible address (422 on
/// `requester_email`); `None` when neither is given.
pub fn check_requester(conn: &mut DbConnection, input: &RequesterInput) -> Result<Option<Requester>, AppError> {
    let mut errors = FieldErrors::new();
    if let Some(user) = input.requester_id {
        match crate::users::queries::find(conn, user) {
            Ok(u) if u.active => {}
            Ok(_) | Err(diesel::result::Error::NotFound) => {
                errors.add("requester_id", FieldMessage::new("error-user-unknown"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let email = input.requester_email.trim();
    if !email.is_empty() && !valid_email(email) {
        errors.add("requester_email", FieldMessage::new("error-email-invalid"));
    }
    errors.into_result()?;
    Ok((input.requester_id.is_some() || !email.is_empty()).then(|| Requester {
        user_id: input.requester_id,
        email: (!email.is_empty()).then(|| email.to_lowercase()),
    }))
}

/// The requester as shown: the user's name, or the address.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequesterView {
    pub user_id: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The requester of a ticket, if it has one.
pub fn requester_of(conn: &mut DbConnection, ticket_id: i64) -> Result<Option<RequesterView>, AppError> {
    Ok(ticket_requesters::table
        .left_join(users::table.on(users::id.nullable().eq(ticket_requesters::user_id)))
        .filter(ticket_requesters::ticket_id.eq(ticket_id))
        .select((
            ticket_requesters::user_id,
            users::display_name.nullable(),
            ticket_requesters::email,
        ))
        .first::<(Option<i64>, Option<String>, Option<String>)>(conn)
        .optional()?
        .map(|(user_id, name, email)| RequesterView { user_id, name, email }))
}

/// Stores (or clears) the requester inside the caller's transaction.
pub fn store_requester(conn: &mut DbConnection, ticket_id: i64, requester: Option<&Requester>) -> Result<(), AppError> {
    diesel::delete(ticket_requesters::table.find(ticket_id)).execute(conn)?;
    if let Some(r) = requester {
        diesel::insert_into(ticket_requesters::table)
            .values((
                ticket_requesters::ticket_id.eq(ticket_id),
                ticket_requesters::user_id.eq(r.user_id),
                ticket_requesters::email.eq(r.email.as_deref()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Runs a kind's create use case and stores the requester with it, in one transaction; the
/// requester is checked first (a refused requester creates nothing).
pub fn create_with_requester<T>(
    conn: &mut DbConnection,
    requester: &RequesterInput,
    create: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    id_of: impl FnOnce(&T) -> i64,
) -> Result<T, AppError> {
    let checked = check_requester(conn, requester)?;
    write_transaction(conn, |conn| {
        let created = create(conn)?;
        store_requester(conn, id_of(&created), checked.as_ref())?;
        Ok(created)
    })
}

/// Changes the requester of a ticket (work on it): the event `requester_changed` and the audit
/// row `{kind}.requester` record before and after.
pub fn set_requester(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    ticket_id: i64,
    input: &RequesterInput,
) -> Result<(), AppError> {
    let checked = check_requester(conn, input)?;
    write_transaction(conn, |conn| {
        let ticket = super::queries::find(conn, ticket_id)?;
        let before = requester_of(conn, ticket_id)?;
        store_requester(conn, ticket_id, checked.as_ref())?;
        let after = requester_of(conn, ticket_id)?;
        let data = json!({
            "from": before.as_ref().and_then(|r| r.name.clone().or(r.email.clone())),
            "to": after.as_ref().and_then(|r| r.name.clone().or(r.email.clone())),
        });
        add_event(
            conn,
            ticket_id,
            now,
            actor.user_id,
            "requester_changed",
            "internal",
            "",
            Some(data),
        )?;
        record(
            conn,
            actor,
            now,
            &format!("{}.requester", ticket.kind),
            &ticket.kind,
            ticket_id,
            Some(
                &json!({ "requester_id": before.as_ref().and_then(|r| r.user_id), "requester_email": before.and_then(|r| r.email) }),
            ),
            Some(
                &json!({ "requester_id": after.as_ref().and_then(|r| r.user_id), "requester_email": after.and_then(|r| r.email) }),
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_plainly() {
        assert!(valid_email("tanaka@example.co.jp"));
        assert!(!valid_email("tanaka"));
        assert!(!valid_email("tanaka@localhost"));
        assert!(!valid_email("a b@example.jp"));
        assert!(!valid_email("a@b@example.jp"));
        assert!(!valid_email("@example.jp"));
    }
}
