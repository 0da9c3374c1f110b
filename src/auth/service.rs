//! Authentication use cases: sign-in with throttling, the one-time first-administrator setup,
//! API token and session look-ups.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::permissions::Role;
use super::{password, sessions, throttle, tokens, AuthUser};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::db::schema::app_flags;
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::users::model::{ApiToken, User, UserInput, UserView};
use crate::users::{queries as user_queries, rules, service as user_service};
use crate::web::i18n::Lang;

const SETUP_FLAG: &str = "first_admin_created";

#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in, with the new server-side session's id for the cookie.
    Success {
        user_id: i64,
        session_secret: String,
    },
    /// Wrong password and unknown e-mail look the same.
    Failed,
    Locked {
        minutes: i64,
    },
}

/// Checks credentials, honouring and recording throttling.
pub fn login(
    conn: &mut DbConnection,
    email: &str,
    password_text: &str,
    ip: &str,
    user_agent: &str,
    now: NaiveDateTime,
) -> Result<LoginOutcome, AppError> {
    // What was typed, bounded (no address is longer) and printable: it keys the throttle and
    // names the attempt in the audit log.
    let email: String = email
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .take(crate::users::rules::MAX_EMAIL)
        .collect();
    if let Some((remaining, _)) = throttle::check(conn, &email, ip, now)? {
        let minutes = (remaining.num_seconds() + 59) / 60;
        return Ok(LoginOutcome::Locked {
            minutes: minutes.max(1),
        });
    }
    let user = user_queries::find_by_email(conn, &email)?;
    let verified = match &user {
        Some(u) => password::verify(password_text, &u.password_hash) && u.active,
        None => {
            password::verify_dummy(password_text);
            false
        }
    };
    if !verified {
        write_transaction(conn, |conn| record_failure(conn, &email, user.as_ref(), ip, now))?;
        return Ok(LoginOutcome::Failed);
    }
    write_transaction(conn, |conn| throttle::record(conn, &email, ip, true, now))?;
    match user {
        Some(u) if verified => {
            let actor = Actor::user(u.id, &u.email, Some(ip.to_string()));
            let session_secret = write_transaction(conn, |conn| -> Result<String, AppError> {
                user_service::record_login(conn, &actor, now, u.id)?;
                Ok(sessions::open(conn, u.id, ip, user_agent, now)?.1)
            })?;
            Ok(LoginOutcome::Success {
                user_id: u.id,
                session_secret,
            })
        }
        _ => Ok(LoginOutcome::Failed),
    }
}

/// A failed sign-in: the throttle's row, and audit rows for the failure and, when this failure
/// starts a lock, for the lockout.
fn record_failure(
    conn: &mut DbConnection,
    email: &str,
    user: Option<&User>,
    ip: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    #[derive(serde::Serialize)]
    struct Lockout {
        rule: throttle::LockKind,
        minutes: i64,
    }
    throttle::record(conn, email, ip, false, now)?;
    let actor = Actor {
        user_id: None,
        label: email.to_string(),
        ip: Some(ip.to_string()),
    };
    // An unknown address has no user to point at; the attempt is filed under what was typed.
    let (entity_type, entity_id) = match user {
        Some(u) => ("user", u.id.to_string()),
        None => ("login", email.to_string()),
    };
    record(
        conn,
        &actor,
        now,
        "login.failed",
        entity_type,
        &entity_id,
        None::<&()>,
        None::<&()>,
    )?;
    // Not locked before this attempt (checked first), so a lock now began with it.
    if let Some((remaining, rule)) = throttle::check(conn, email, ip, now)? {
        let lockout = Lockout {
            rule,
            minutes: ((remaining.num_seconds() + 59) / 60).max(1),
        };
        record(
            conn,
            &actor,
            now,
            "login.lockout",
            entity_type,
            &entity_id,
            None::<&()>,
            Some(&lockout),
        )?;
    }
    Ok(())
}

/// Opens a server-side session for `user_id` (after setup); the id is for the cookie.
pub fn open_session(
    conn: &mut DbConnection,
    user_id: i64,
    ip: &str,
    user_agent: &str,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    write_transaction(conn, |conn| Ok(sessions::open(conn, user_id, ip, user_agent, now)?.1))
}

/// Ends the session behind a cookie's id (logout), with its audit row.
pub fn logout(conn: &mut DbConnection, session_secret: &str, ip: &str, now: NaiveDateTime) -> Result<(), AppError> {
    if !sessions::looks_like_session_id(session_secret) {
        return Ok(());
    }
    write_transaction(conn, |conn| {
        let Some(row) = sessions::find(conn, session_secret)? else {
            return Ok(());
        };
        if !sessions::end(conn, row.id, now)? {
            return Ok(());
        }
        let user = user_queries::find(conn, row.user_id)?;
        let actor = Actor::user(user.id, &user.email, Some(ip.to_string()));
        record(
            conn,
            &actor,
            now,
            "session.logout",
            "user",
            user.id,
            None::<&()>,
            None::<&()>,
        )
    })
}

/// An administrator ends every session of a user; returns how many were open.
pub fn end_sessions_of(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    user_id: i64,
) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        user_queries::find(conn, user_id)?;
        let ended = sessions::end_all_of(conn, user_id, None, now)?;
        #[derive(serde::Serialize)]
        struct Ended {
            sessions_ended: usize,
        }
        record(
            conn,
            actor,
            now,
            "session.end_all",
            "user",
            user_id,
            None::<&()>,
            Some(&Ended { sessions_ended: ended }),
        )?;
        Ok(ended)
    })
}

/// A user ends one of their own sessions (a browser elsewhere) from the profile page.
pub fn end_own_session(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    user_id: i64,
    session_id: i64,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let row = sessions::find_by_id(conn, session_id)?.filter(|row| row.user_id == user_id);
        let Some(row) = row else {
            return Err(AppError::NotFound);
        };
        if sessions::end(conn, row.id, now)? {
            record(
                conn,
                actor,
                now,
                "session.end",
                "user",
                user_id,
                None::<&()>,
                Some(&row),
            )?;
        }
        Ok(())
    })
}

/// Whether the first administrator still has to be created.
pub fn needs_setup(conn: &mut DbConnection) -> Result<bool, AppError> {
    Ok(user_queries::count(conn)? == 0)
}

/// Creates the first administrator, once. The flag row's primary key makes a second,
/// concurrent attempt fail instead of creating a second "first" admin.
pub fn setup_first_admin(
    conn: &mut DbConnection,
    ip: &str,
    now: NaiveDateTime,
    mut input: UserInput,
) -> Result<UserView, AppError> {
    input.role = Role::Admin.as_str().to_string();
    let actor = Actor {
        user_id: None,
        label: "setup".to_string(),
        ip: Some(ip.to_string()),
    };
    if !needs_setup(conn)? {
        return Err(AppError::NotFound);
    }
    // Validate first so field errors are shown; then claim the flag and create in one transaction.
    rules::validate_new_user(
        &input.email,
        &input.display_name,
        &input.role,
        &input.locale,
        &input.time_zone,
        &input.password,
    )
    .map_err(AppError::Validation)?;
    write_transaction(conn, |conn| {
        let claimed = diesel::insert_into(app_flags::table)
            .values((app_flags::name.eq(SETUP_FLAG), app_flags::set_at.eq(now)))
            .execute(conn);
        match claimed {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(AppError::NotFound)
            }
            Err(e) => return Err(e.into()),
        }
        user_service::create(conn, &actor, now, &input)
    })
}

/// What a read-only look-up of a bearer token found.
pub enum TokenLookup {
    /// Not a live token of an active user.
    Unknown,
    Live(AuthUser),
    /// Live, but its last use is older than [`TOKEN_TOUCH_EVERY`]: [`authenticate_token`]
    /// records the use.
    LiveButStale,
}

/// How often a token's `last_used_at` is written: API traffic must not turn every read into a write.
const TOKEN_TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(5);

/// The live token behind `token` with its active owner.
fn live_token(conn: &mut DbConnection, token: &str) -> Result<Option<(ApiToken, User)>, AppError> {
    if !tokens::looks_like_api_token(token) {
        return Ok(None);
    }
    Ok(user_queries::find_live_token(conn, &tokens::hash_token(token))?)
}

fn use_is_due(api_token: &ApiToken, now: NaiveDateTime) -> bool {
    api_token.last_used_at.is_none_or(|t| now - t > TOKEN_TOUCH_EVERY)
}

/// Looks a bearer token up without writing anything.
pub fn lookup_token(conn: &mut DbConnection, token: &str, now: NaiveDateTime) -> Result<TokenLookup, AppError> {
    Ok(match live_token(conn, token)? {
        None => TokenLookup::Unknown,
        Some((api_token, _)) if use_is_due(&api_token, now) => TokenLookup::LiveButStale,
        Some((_, user)) => AuthUser::from_user(&user).map_or(TokenLookup::Unknown, TokenLookup::Live),
    })
}

/// The user behind a bearer token, if the token is live, recording the use when the last one
/// recorded is older than [`TOKEN_TOUCH_EVERY`].
pub fn authenticate_token(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<AuthUser>, AppError> {
    let Some((api_token, user)) = live_token(conn, token)? else {
        return Ok(None);
    };
    if use_is_due(&api_token, now) {
        user_queries::touch_token(conn, api_token.id, now)?;
    }
    Ok(AuthUser::from_user(&user))
}

impl AuthUser {
    pub fn from_user(user: &User) -> Option<Self> {
        Some(Self {
            id: user.id,
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            role: Role::parse(&user.role)?,
            locale: Lang::parse(&user.locale).unwrap_or(Lang::Ja),
            time_zone: user.time_zone.clone(),
            session_id: None,
        })
    }
}
