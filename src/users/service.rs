//! User use cases: one transaction each, with the audit row inside it. The same functions
//! serve the admin pages, the profile page, the JSON API and the CLI.

use chrono::NaiveDateTime;

use super::model::{ApiToken, NewApiToken, NewUser, PreferencesInput, User, UserChanges, UserInput, UserView};
use super::queries::{self, UserUpdate};
use super::rules::{self, MAX_NAME};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::auth::{password, sessions, throttle, tokens};
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::teams::queries as team_queries;

pub fn view(conn: &mut DbConnection, user: &User) -> Result<UserView, AppError> {
    Ok(UserView::new(user, queries::team_ids(conn, user.id)?))
}

pub fn view_by_id(conn: &mut DbConnection, id: i64) -> Result<UserView, AppError> {
    let user = queries::find(conn, id)?;
    view(conn, &user)
}

fn check_teams(conn: &mut DbConnection, team_ids: &[i64], errors: &mut FieldErrors) -> Result<Vec<i64>, AppError> {
    let mut ids = team_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if !ids.is_empty() && team_queries::existing_ids(conn, &ids)?.len() != ids.len() {
        errors.add("team_ids", FieldMessage::new("error-team-unknown"));
    }
    Ok(ids)
}

fn email_conflict(err: diesel::result::Error) -> AppError {
    match err {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::Validation(FieldErrors::single("email", FieldMessage::new("error-email-taken")))
        }
        other => other.into(),
    }
}

/// Creates a user. Validation covers every field at once; the hash is computed before the
/// transaction so the write lock is held only for the inserts.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: &UserInput,
) -> Result<UserView, AppError> {
    let valid = rules::validate_new_user(
        &input.email,
        &input.display_name,
        &input.role,
        &input.locale,
        &input.time_zone,
        &input.password,
    )
    .map_err(AppError::Validation);
    // Report database-dependent problems (taken e-mail, unknown team) together with the rest.
    let mut errors = match &valid {
        Ok(_) => FieldErrors::new(),
        Err(AppError::Validation(e)) => e.clone(),
        Err(_) => unreachable!("validation only"),
    };
    if let Ok(email) = rules::normalize_email(&input.email) {
        if queries::email_taken(conn, &email, None)? {
            errors.add("email", FieldMessage::new("error-email-taken"));
        }
    }
    let team_ids = check_teams(conn, &input.team_ids, &mut errors)?;
    errors.into_result()?;
    let valid = valid?;
    let hash = password::hash(&valid.password).map_err(AppError::internal)?;

    write_transaction(conn, |conn| {
        let id = queries::insert(
            conn,
            &NewUser {
                email: &valid.email,
                display_name: &valid.display_name,
                password_hash: &hash,
                role: valid.role.as_str(),
                locale: valid.locale.code(),
                time_zone: &valid.time_zone,
                active: true,
                created_at: now,
                updated_at: now,
            },
        )
        .map_err(email_conflict)?;
        queries::set_teams(conn, id, &team_ids)?;
        let user = queries::find(conn, id)?;
        let view = UserView::new(&user, team_ids.clone());
        record(conn, actor, now, "user.create", "user", id, None::<&()>, Some(&view))?;
        Ok(view)
    })
}

/// Changes a user (admin). A new password, role change or deactivation ends their sessions.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    changes: &UserChanges,
) -> Result<UserView, AppError> {
    let before_user = queries::find(conn, id)?;
    let mut errors = FieldErrors::new();
    let email = changes
        .email
        .as_deref()
        .map(rules::normalize_email)
        .transpose()
        .map_err(|e| errors.add("email", e))
        .ok()
        .flatten();
    let display_name = changes
        .display_name
        .as_deref()
        .map(|n| rules::required_text(n, MAX_NAME))
        .transpose()
        .map_err(|e| errors.add("display_name", e))
        .ok()
        .flatten();
    let role = changes
        .role
        .as_deref()
        .map(rules::parse_role)
        .transpose()
        .map_err(|e| errors.add("role", e))
        .ok()
        .flatten();
    let locale = changes
        .locale
        .as_deref()
        .map(rules::parse_locale)
        .transpose()
        .map_err(|e| errors.add("locale", e))
        .ok()
        .flatten();
    let time_zone = changes
        .time_zone
        .as_deref()
        .map(rules::parse_time_zone)
        .transpose()
        .map_err(|e| errors.add("time_zone", e))
        .ok()
        .flatten();
    let new_password = changes.password.as_deref().filter(|p| !p.is_empty());
    if let Some(p) = new_password {
        let email_for_policy = email.clone().unwrap_or_else(|| before_user.email.clone());
        let name_for_policy = display_name.clone().unwrap_or_else(|| before_user.display_name.clone());
        if let Err(e) = password::check_policy(p, &email_for_policy, &name_for_policy) {
            errors.add("password", e);
        }
    }
    if let Some(email) = &email {
        if queries::email_taken(conn, email, Some(id))? {
            errors.add("email", FieldMessage::new("error-email-taken"));
        }
    }
    let team_ids = changes
        .team_ids
        .as_deref()
        .map(|ids| check_teams(conn, ids, &mut errors))
        .transpose()?;
    // An administrator cannot lock themselves out by demoting or deactivating their own account.
    if actor.user_id == Some(id) {
        if role.is_some_and(|r| r.as_str() != before_user.role) {
            errors.add("role", FieldMessage::new("error-own-account"));
        }
        if changes.active == Some(false) {
            errors.add("active", FieldMessage::new("error-own-account"));
        }
    }
    errors.into_result()?;
    let hash = new_password
        .map(password::hash)
        .transpose()
        .map_err(AppError::internal)?;

    write_transaction(conn, |conn| {
        let before_user = queries::find(conn, id)?;
        let before = view(conn, &before_user)?;
        let ends_sessions = hash.is_some()
            || role.is_some_and(|r| r.as_str() != before_user.role)
            || changes.active.is_some_and(|a| !a && before_user.active);
        queries::update(
            conn,
            id,
            &UserUpdate {
                email: email.as_deref(),
                display_name: display_name.as_deref(),
                password_hash: hash.as_deref(),
                role: role.map(|r| r.as_str()),
                locale: locale.map(|l| l.code()),
                time_zone: time_zone.as_deref(),
                active: changes.active,
                updated_at: Some(now),
                ..Default::default()
            },
        )
        .map_err(email_conflict)?;
        if ends_sessions {
            sessions::end_all_of(conn, id, None, now)?;
        }
        if let Some(team_ids) = &team_ids {
            queries::set_teams(conn, id, team_ids)?;
        }
        let after = view_by_id(conn, id)?;
        record(conn, actor, now, "user.update", "user", id, Some(&before), Some(&after))?;
        if hash.is_some() {
            record(
                conn,
                actor,
                now,
                "user.password_reset",
                "user",
                id,
                None::<&()>,
                None::<&()>,
            )?;
        }
        Ok(after)
    })
}

/// A user changes their own name, language and time zone.
pub fn update_preferences(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &PreferencesInput,
) -> Result<UserView, AppError> {
    update_own(
        conn,
        actor,
        now,
        id,
        &UserChanges {
            display_name: Some(input.display_name.clone()),
            locale: Some(input.locale.clone()),
            time_zone: Some(input.time_zone.clone()),
            ..Default::default()
        },
    )
}

/// The language switch of a signed-in user.
pub fn set_locale(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    locale: &str,
) -> Result<UserView, AppError> {
    update_own(
        conn,
        actor,
        now,
        id,
        &UserChanges {
            locale: Some(locale.to_string()),
            ..Default::default()
        },
    )
}

fn update_own(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    changes: &UserChanges,
) -> Result<UserView, AppError> {
    if actor.user_id != Some(id) {
        return Err(AppError::Forbidden);
    }
    update(conn, actor, now, id, changes)
}

/// A user changes their own password, proving they know the current one. Their other
/// sessions end; `keep_session` (the one making the change) carries on.
#[allow(clippy::too_many_arguments)]
pub fn change_password(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    current: &str,
    new_password: &str,
    keep_session: Option<i64>,
) -> Result<(), AppError> {
    let user = queries::find(conn, id)?;
    // Guesses at the current password (a session left open) are throttled like sign-in.
    let ip = actor.ip.as_deref().unwrap_or("unknown");
    if let Some((remaining, _)) = throttle::check(conn, &user.email, ip, now)? {
        return Err(AppError::TooManyRequests {
            retry_after_secs: remaining.num_seconds().max(1),
        });
    }
    let mut errors = FieldErrors::new();
    let current_ok = password::verify(current, &user.password_hash);
    if !current_ok {
        write_transaction(conn, |conn| throttle::record(conn, &user.email, ip, false, now))?;
        errors.add("current_password", FieldMessage::new("error-current-password-wrong"));
    }
    if let Err(e) = password::check_policy(new_password, &user.email, &user.display_name) {
        errors.add("new_password", e);
    }
    errors.into_result()?;
    let hash = password::hash(new_password).map_err(AppError::internal)?;
    write_transaction(conn, |conn| {
        queries::update(
            conn,
            id,
            &UserUpdate {
                password_hash: Some(&hash),
                updated_at: Some(now),
                ..Default::default()
            },
        )?;
        throttle::record(conn, &user.email, ip, true, now)?;
        sessions::end_all_of(conn, id, keep_session, now)?;
        record(
            conn,
            actor,
            now,
            "user.password_change",
            "user",
            id,
            None::<&()>,
            None::<&()>,
        )
    })
}

/// Records a successful sign-in.
pub fn record_login(conn: &mut DbConnection, actor: &Actor, now: NaiveDateTime, id: i64) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        queries::update(
            conn,
            id,
            &UserUpdate {
                last_login_at: Some(now),
                ..Default::default()
            },
        )?;
        record(conn, actor, now, "user.login", "user", id, None::<&()>, None::<&()>)
    })
}

#[derive(Debug, serde::Serialize)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// The clear-text token, returned once.
    pub secret: String,
}

/// Creates a personal API token for `user_id`.
pub fn create_token(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    user_id: i64,
    name: &str,
) -> Result<CreatedToken, AppError> {
    let name =
        rules::required_text(name, MAX_NAME).map_err(|e| AppError::Validation(FieldErrors::single("name", e)))?;
    let secret = tokens::new_api_token();
    let hash = tokens::hash_token(&secret);
    let prefix = tokens::display_prefix(&secret);
    write_transaction(conn, |conn| {
        let owner = queries::find(conn, user_id)?;
        if !owner.active {
            return Err(AppError::Conflict("the user is deactivated".into()));
        }
        let id = queries::insert_token(
            conn,
            &NewApiToken {
                user_id,
                name: &name,
                token_hash: &hash,
                token_prefix: &prefix,
                created_at: now,
            },
        )?;
        let token = queries::find_token(conn, id)?;
        record(
            conn,
            actor,
            now,
            "api_token.create",
            "api_token",
            id,
            None::<&()>,
            Some(&token),
        )?;
        Ok(CreatedToken { token, secret })
    })
}

/// Revokes one of the user's own tokens.
pub fn revoke_token(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    user_id: i64,
    token_id: i64,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let token = queries::find_token(conn, token_id)?;
        if token.user_id != user_id {
            return Err(AppError::NotFound);
        }
        if token.revoked_at.is_some() {
            return Ok(());
        }
        queries::revoke_token(conn, token_id, now)?;
        let after = queries::find_token(conn, token_id)?;
        record(
            conn,
            actor,
            now,
            "api_token.revoke",
            "api_token",
            token_id,
            Some(&token),
            Some(&after),
        )
    })
}

/// Looks up a user by e-mail for the CLI and tests.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> Result<User, AppError> {
    let email = rules::normalize_email(email).map_err(|e| AppError::Validation(FieldErrors::single("email", e)))?;
    queries::find_by_email(conn, &email)?.ok_or(AppError::NotFound)
}
