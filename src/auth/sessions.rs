//! Server-side sessions. The signed and encrypted cookie carries a random session id; the
//! database keeps only its SHA-256 with the user, when it started, when it was last seen and
//! when it ended. Logging out, an administrator's "end all sessions", a password change (the
//! other sessions) and a role change or deactivation end rows here, so a copied cookie dies
//! with its session. The access check reads the row and its user in one indexed query.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::tokens;
use crate::db::schema::{sessions, users};
use crate::db::DbConnection;
use crate::users::model::User;

/// How often `last_seen_at` is written: browsing must not turn every page view into a write.
pub const TOUCH_EVERY: Duration = Duration::seconds(60);

/// How long a session row is kept after it started.
const KEEP_DAYS: i64 = 90;

/// Longest user agent kept (it is shown on the profile page, never trusted).
const MAX_USER_AGENT: usize = 300;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    #[serde(skip)]
    pub token_hash: String,
    pub user_id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub last_seen_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub ended_at: Option<NaiveDateTime>,
    pub ip: String,
    pub user_agent: String,
}

/// The lifetimes a session is held to.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle: Duration,
    pub max: Duration,
}

impl Lifetimes {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            idle: Duration::minutes(config.session_idle_minutes),
            max: Duration::hours(config.session_max_hours),
        }
    }
}

/// Whether a session may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Live,
    /// Unused for longer than the idle lifetime, or older than the absolute one.
    Expired,
    /// Ended by logout, an administrator or a password change.
    Ended,
}

/// Pure rule: a session lives until it is ended, left idle too long, or reaches its absolute lifetime.
pub fn liveness(row: &SessionRow, now: NaiveDateTime, lifetimes: Lifetimes) -> Liveness {
    if row.ended_at.is_some() {
        Liveness::Ended
    } else if now - row.last_seen_at > lifetimes.idle || now - row.created_at >= lifetimes.max {
        Liveness::Expired
    } else {
        Liveness::Live
    }
}

/// Whether `last_seen_at` is old enough to be written again.
pub fn touch_is_due(row: &SessionRow, now: NaiveDateTime) -> bool {
    now - row.last_seen_at >= TOUCH_EVERY
}

/// A session id is 256 random bits as hex; anything else is not looked up.
pub fn looks_like_session_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Starts a session row and returns the id for the cookie (never stored in clear).
pub fn open(
    conn: &mut DbConnection,
    user_id: i64,
    ip: &str,
    user_agent: &str,
    now: NaiveDateTime,
) -> QueryResult<(i64, String)> {
    let secret = tokens::random_hex(64);
    let user_agent: String = user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT)
        .collect();
    let id = diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(tokens::hash_token(&secret)),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::ip.eq(ip),
            sessions::user_agent.eq(user_agent),
        ))
        .returning(sessions::id)
        .get_result(conn)?;
    // Sessions long over serve only as "signed in from here before" for the throttle; keep
    // this user's last 90 days.
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::created_at.lt(now - Duration::days(KEEP_DAYS))),
    )
    .execute(conn)?;
    Ok((id, secret))
}

/// The access check's one read: the session behind a cookie's id, with its user.
pub fn find_with_user(conn: &mut DbConnection, secret: &str) -> QueryResult<Option<(SessionRow, User)>> {
    let hash = tokens::hash_token(secret);
    crate::native!(conn, |c| sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(&hash))
        .select((SessionRow::as_select(), User::as_select()))
        .first(c)
        .optional())
}

pub fn find(conn: &mut DbConnection, secret: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::token_hash.eq(tokens::hash_token(secret)))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Ends one session; false when it had already ended.
pub fn end(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(sessions::table.find(id).filter(sessions::ended_at.is_null()))
        .set(sessions::ended_at.eq(now))
        .execute(conn)
        .map(|n| n > 0)
}

/// Ends every open session of a user, except `keep`; returns how many ended.
pub fn end_all_of(conn: &mut DbConnection, user_id: i64, keep: Option<i64>, now: NaiveDateTime) -> QueryResult<usize> {
    let open = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::id.ne(keep.unwrap_or(0)));
    diesel::update(open).set(sessions::ended_at.eq(now)).execute(conn)
}

/// The user's sessions that are still live, newest first.
pub fn live_of(
    conn: &mut DbConnection,
    user_id: i64,
    now: NaiveDateTime,
    lifetimes: Lifetimes,
) -> QueryResult<Vec<SessionRow>> {
    let rows: Vec<SessionRow> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::created_at.gt(now - lifetimes.max))
        .order(sessions::id.desc())
        .select(SessionRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| liveness(row, now, lifetimes) == Liveness::Live)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + minute * 60, 0)
            .unwrap()
            .naive_utc()
    }

    fn row(created: i64, seen: i64) -> SessionRow {
        SessionRow {
            id: 1,
            token_hash: String::new(),
            user_id: 1,
            created_at: t(created),
            last_seen_at: t(seen),
            ended_at: None,
            ip: String::new(),
            user_agent: String::new(),
        }
    }

    #[test]
    fn idle_and_absolute_lifetimes() {
        let lifetimes = Lifetimes {
            idle: Duration::minutes(120),
            max: Duration::hours(12),
        };
        assert_eq!(liveness(&row(0, 0), t(120), lifetimes), Liveness::Live);
        assert_eq!(liveness(&row(0, 0), t(121), lifetimes), Liveness::Expired);
        // Busy all along, but twelve hours old.
        assert_eq!(liveness(&row(0, 719), t(719), lifetimes), Liveness::Live);
        assert_eq!(liveness(&row(0, 719), t(720), lifetimes), Liveness::Expired);
        let mut ended = row(0, 0);
        ended.ended_at = Some(t(1));
        assert_eq!(liveness(&ended, t(2), lifetimes), Liveness::Ended);
    }

    #[test]
    fn session_ids_are_checked_for_shape() {
        assert!(looks_like_session_id(&tokens::random_hex(64)));
        assert!(!looks_like_session_id("abc"));
        assert!(!looks_like_session_id(&"g".repeat(64)));
    }
}
