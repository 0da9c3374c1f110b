//! Login throttling per account and per client address, kept in the database so it holds
//! across several instances. A key is locked while its last `limit` attempts inside the
//! window all failed; it opens again when the oldest of them leaves the window.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::login_attempts;
use crate::db::DbConnection;

pub const ACCOUNT_LIMIT: usize = 5;
pub const IP_LIMIT: usize = 20;
pub const WINDOW_MINUTES: i64 = 15;

/// Pure rule: given the most recent attempts (newest first, `true` = success), how long the
/// key stays locked from `now`, if at all.
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

fn recent_for_email(
    conn: &mut DbConnection,
    email: &str,
    since: NaiveDateTime,
    limit: usize,
) -> QueryResult<Vec<(NaiveDateTime, bool)>> {
    login_attempts::table
        .filter(login_attempts::email.eq(email))
        .filter(login_attempts::attempted_at.gt(since))
        .order(login_attempts::attempted_at.desc())
        .select((login_attempts::attempted_at, login_attempts::succeeded))
        .limit(limit as i64)
        .load(conn)
}

fn recent_for_ip(
    conn: &mut DbConnection,
    ip: &str,
    since: NaiveDateTime,
    limit: usize,
) -> QueryResult<Vec<(NaiveDateTime, bool)>> {
    login_attempts::table
        .filter(login_attempts::ip.eq(ip))
        .filter(login_attempts::attempted_at.gt(since))
        .order(login_attempts::attempted_at.desc())
        .select((login_attempts::attempted_at, login_attempts::succeeded))
        .limit(limit as i64)
        .load(conn)
}

/// The remaining lock for this account or address, the longer of the two.
pub fn check(conn: &mut DbConnection, email: &str, ip: &str, now: NaiveDateTime) -> QueryResult<Option<Duration>> {
    let window = Duration::minutes(WINDOW_MINUTES);
    let since = now - window;
    let by_account = lockout(
        &recent_for_email(conn, email, since, ACCOUNT_LIMIT)?,
        now,
        ACCOUNT_LIMIT,
        window,
    );
    let by_ip = lockout(&recent_for_ip(conn, ip, since, IP_LIMIT)?, now, IP_LIMIT, window);
    Ok(by_account.max(by_ip))
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
