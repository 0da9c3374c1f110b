//! Retention periods, runs, and the generic batch delete of a prunable table.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Timestamp;

use super::model::RetentionRun;
use super::rules::Prunable;
use crate::db::schema::{retention_periods, retention_runs};
use crate::db::DbConnection;

/// The periods administrators set, by table.
pub fn set_periods(conn: &mut DbConnection) -> QueryResult<Vec<(String, i32)>> {
    retention_periods::table
        .select((retention_periods::name, retention_periods::days))
        .load(conn)
}

/// Sets one period (delete and insert: no `on_conflict` on the multi-backend connection).
pub fn put_period(conn: &mut DbConnection, name: &str, days: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(retention_periods::table.filter(retention_periods::name.eq(name))).execute(conn)?;
    diesel::insert_into(retention_periods::table)
        .values((
            retention_periods::name.eq(name),
            retention_periods::days.eq(days),
            retention_periods::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn last_run_started(conn: &mut DbConnection) -> QueryResult<Option<NaiveDateTime>> {
    retention_runs::table
        .select(diesel::dsl::max(retention_runs::started_at))
        .first(conn)
}

pub fn insert_run(conn: &mut DbConnection, holder: &str, now: NaiveDateTime) -> QueryResult<i64> {
    diesel::insert_into(retention_runs::table)
        .values((
            retention_runs::holder.eq(holder),
            retention_runs::started_at.eq(now),
            retention_runs::counts.eq("{}"),
        ))
        .returning(retention_runs::id)
        .get_result(conn)
}

pub fn finish_run(
    conn: &mut DbConnection,
    id: i64,
    counts: &str,
    error: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(retention_runs::table.find(id))
        .set((
            retention_runs::counts.eq(counts),
            retention_runs::error.eq(error),
            retention_runs::finished_at.eq(now),
        ))
        .execute(conn)
}

pub fn recent_runs(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<RetentionRun>> {
    retention_runs::table
        .select(RetentionRun::as_select())
        .order(retention_runs::id.desc())
        .limit(limit)
        .load(conn)
}

/// Deletes at most about `limit` of the oldest rows older than `cutoff`: those up to the time of
/// the `limit`-th oldest (rows sharing that time go together). Table and column names come
/// from `rules::PRUNABLE`, never from input.
pub fn delete_batch(conn: &mut DbConnection, p: &Prunable, cutoff: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let (t, c) = (p.table, p.time_column);
    diesel::sql_query(format!(
        "DELETE FROM {t} WHERE {c} < $1 AND {c} <= COALESCE( \
         (SELECT {c} FROM {t} WHERE {c} < $1 ORDER BY {c} LIMIT 1 OFFSET {offset}), $1)",
        offset = limit.max(1) - 1
    ))
    .bind::<Timestamp, _>(cutoff)
    .execute(conn)
}

/// Archives at most `limit` closed, not yet archived tickets closed before `cutoff`, oldest
/// closed first; returns how many.
pub fn archive_batch(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO ticket_archive (ticket_id, archived_at) \
         SELECT t.id, $1 FROM tickets t \
         WHERE t.status = 'closed' AND t.closed_at < $2 AND t.deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM ticket_archive a WHERE a.ticket_id = t.id) \
         ORDER BY t.closed_at, t.id LIMIT $3",
    )
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(cutoff)
    .bind::<diesel::sql_types::BigInt, _>(limit.max(1))
    .execute(conn)
}

/// What the next run would archive: the tickets [`archive_batch`] takes, counted by kind and by
/// the month they were closed (`YYYY-MM`, UTC), oldest first.
pub fn archive_report(conn: &mut DbConnection, cutoff: NaiveDateTime) -> QueryResult<Vec<super::model::ReportRow>> {
    let month = match crate::db::backend_of(conn) {
        crate::db::Backend::Sqlite => "strftime('%Y-%m', t.closed_at)",
        crate::db::Backend::Postgres => "to_char(t.closed_at, 'YYYY-MM')",
    };
    diesel::sql_query(format!(
        "SELECT t.kind AS kind, {month} AS month, COUNT(*) AS count FROM tickets t \
         WHERE t.status = 'closed' AND t.closed_at < $1 AND t.deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM ticket_archive a WHERE a.ticket_id = t.id) \
         GROUP BY t.kind, {month} ORDER BY 2, 1"
    ))
    .bind::<Timestamp, _>(cutoff)
    .load(conn)
}
