//! Login throttling, kept in the database so it holds across several instances. Three keys:
//!
//! - the pair of account and client address: locked while its last [`PAIR_LIMIT`] attempts in
//!   the window all failed (a success from that address resets it). Guessing from one address
//!   locks that address out of that account, not the owner elsewhere (OWASP ASVS 2.2.1);
//! - the client address: locked while it has [`IP_LIMIT`] failures in the window, whatever
//!   the account; successes do not count, so signing in to your own account between guesses
//!   resets nothing;
//! - the account, across addresses: locked while it has [`ACCOUNT_CAP`] failures in the window
//!   (distributed guessing), except from an address that has signed in to that account before,
//!   so the owner at their usual place is not locked out by someone else's guessing.
//!
//! A lock opens when the oldest counted attempt leaves the window.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{login_attempts, sessions, users};
use crate::db::DbConnection;

pub const PAIR_LIMIT: usize = 5;
pub const IP_LIMIT: usize = 20;
pub const ACCOUNT_CAP: usize = 50;
pub const WINDOW_MINUTES: i64 = 15;

/// Which rule locked a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    Pair,
    Address,
    Account,
}

/// Pure rule: given the most recent attempts (newest first, `true` = success), how long the
/// key stays locked from `now`, if at all: locked while the last `limit` attempts inside the
/// window all failed.
pub fn lockout(
    recent: &[(NaiveDateTime, bool)],
    now: NaiveDateTime,
    limit: usize,
    window: Duration,
) -> Option<Duration> {
    let in_window: Vec<_> = recent.iter().take(limit).filter(|(at, _)| now - *at < window).collect();
    if in_window.len() < limit || in_window.iter().any(|(_, ok)| *ok) {
        return None;
    }
    let oldest = in_window.last().map(|(at, _)| *at)?;
    Some(window - (now - oldest))
}

fn attempts(
    conn: &mut DbConnection,
    email: Option<&str>,
    ip: Option<&str>,
    failures_only: bool,
    since: NaiveDateTime,
    limit: usize,
) -> QueryResult<Vec<(NaiveDateTime, bool)>> {
    let mut query = login_attempts::table
        .filter(login_attempts::attempted_at.gt(since))
        .select((login_attempts::attempted_at, login_attempts::succeeded))
        .order(login_attempts::attempted_at.desc())
        .limit(limit as i64)
        .into_boxed();
    if let Some(email) = email {
        query = query.filter(login_attempts::email.eq(email));
    }
    if let Some(ip) = ip {
        query = query.filter(login_attempts::ip.eq(ip));
    }
    if failures_only {
        query = query.filter(login_attempts::succeeded.eq(false));
    }
    query.load(conn)
}

/// Whether `ip` has opened a session of the account `email` before.
fn known_source(conn: &mut DbConnection, email: &str, ip: &str) -> QueryResult<bool> {
    let found: Option<i64> = sessions::table
        .inner_join(users::table)
        .filter(users::email.eq(email))
        .filter(sessions::ip.eq(ip))
        .select(sessions::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The remaining lock for this sign-in, the longest of the three rules, and which rule it is.
pub fn check(
    conn: &mut DbConnection,
    email: &str,
    ip: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(Duration, LockKind)>> {
    let window = Duration::minutes(WINDOW_MINUTES);
    let since = now - window;
    let pair = attempts(conn, Some(email), Some(ip), false, since, PAIR_LIMIT)?;
    let by_ip = attempts(conn, None, Some(ip), true, since, IP_LIMIT)?;
    let mut locks = vec![
        lockout(&pair, now, PAIR_LIMIT, window).map(|d| (d, LockKind::Pair)),
        lockout(&by_ip, now, IP_LIMIT, window).map(|d| (d, LockKind::Address)),
    ];
    let by_account = attempts(conn, Some(email), None, true, since, ACCOUNT_CAP)?;
    if let Some(remaining) = lockout(&by_account, now, ACCOUNT_CAP, window) {
        if !known_source(conn, email, ip)? {
            locks.push(Some((remaining, LockKind::Account)));
        }
    }
    Ok(locks.into_iter().flatten().max_by_key(|(d, _)| *d))
}

pub fn record(conn: &mut DbConnection, email: &str, ip: &str, succeeded: bool, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::attempted_at.eq(now),
            login_attempts::email.eq(email),
            login_attempts::ip.eq(ip),
            login_attempts::succeeded.eq(succeeded),
        ))
        .execute(conn)?;
    // Attempts older than a day serve no rule; drop this account's so the table stays small.
    diesel::delete(
        login_attempts::table
            .filter(login_attempts::email.eq(email))
            .filter(login_attempts::attempted_at.lt(now - Duration::days(1))),
    )
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + minute * 60, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn locks_after_limit_failures_in_window() {
        let window = Duration::minutes(15);
        let failures: Vec<_> = (0..5).rev().map(|m| (t(m), false)).collect();
        assert_eq!(lockout(&failures, t(5), 5, window), Some(Duration::minutes(10)));
        assert_eq!(lockout(&failures[..4], t(5), 5, window), None);
        // The oldest failure leaving the window opens the lock again.
        assert_eq!(lockout(&failures, t(16), 5, window), None);
    }

    #[test]
    fn a_success_resets() {
        let window = Duration::minutes(15);
        let mut attempts: Vec<_> = (0..4).rev().map(|m| (t(m + 1), false)).collect();
        attempts.push((t(0), true));
        assert_eq!(lockout(&attempts, t(6), 5, window), None);
    }
}
