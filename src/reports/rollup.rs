//! The SLA report's hourly roll-up: per hour (UTC) of the reported time, team and priority,
//! the counts and sums the report adds up. A year's report then reads a few thousand rows
//! instead of joining a million tickets with their figures.
//!
//! It is never stale: every write of a ticket's SLA figures (and every soft delete or restore)
//! marks its hour dirty in the same transaction; the report adds dirty hours up from the
//! tickets themselves, and [`roll_up`] (run by the background job) folds them back in. An hour
//! is claimed by deleting its dirty mark inside the transaction that rebuilds it, so two
//! instances never rebuild the same hour, and a write that lands meanwhile marks it again.

use chrono::{Duration, NaiveDateTime, Timelike};
use diesel::prelude::*;
use diesel::sql_types::Timestamp;

use super::{literal, Dialect};
use crate::db::{backend_of, write_transaction, Backend, DbConnection};
use crate::error::AppError;

/// The rollup's columns after (bucket, team_id, priority), in order.
pub(super) const FIGURES: [&str; 12] = [
    "tickets",
    "response_decided",
    "response_met",
    "resolution_decided",
    "resolution_met",
    "breaches",
    "mtta_count",
    "mtta_business_sum",
    "mtta_wall_sum",
    "mttr_count",
    "mttr_business_sum",
    "mttr_wall_sum",
];

/// One row per incident with what it adds to each figure: `at`, `team_id`, `priority`, then
/// [`FIGURES`]. Aliases: `i` incidents, `t` tickets, `s` ticket_sla (left-joined). Ends with
/// the FROM clause, for the caller's WHERE.
pub(super) fn contributions(dialect: &Dialect) -> String {
    let mtta_wall = dialect.minutes_between("i.reported_at", "s.response_met_at");
    let mttr_wall = dialect.minutes_between("i.reported_at", "s.resolution_met_at");
    format!(
        "SELECT i.reported_at AS at, COALESCE(t.team_id, 0) AS team_id, t.priority AS priority,
           1 AS tickets,
           CASE WHEN s.response_met_at IS NOT NULL OR s.response_breached THEN 1 ELSE 0 END AS response_decided,
           CASE WHEN s.response_met_at IS NOT NULL AND NOT s.response_breached THEN 1 ELSE 0 END AS response_met,
           CASE WHEN s.resolution_met_at IS NOT NULL OR s.resolution_breached THEN 1 ELSE 0 END AS resolution_decided,
           CASE WHEN s.resolution_met_at IS NOT NULL AND NOT s.resolution_breached THEN 1 ELSE 0 END AS resolution_met,
           CASE WHEN s.response_breached OR s.resolution_breached THEN 1 ELSE 0 END AS breaches,
           CASE WHEN s.response_met_at IS NOT NULL THEN 1 ELSE 0 END AS mtta_count,
           CASE WHEN s.response_met_at IS NOT NULL THEN s.response_elapsed_minutes ELSE 0 END AS mtta_business_sum,
           CAST(CASE WHEN s.response_met_at IS NOT NULL THEN {mtta_wall} ELSE 0 END AS DOUBLE PRECISION) AS mtta_wall_sum,
           CASE WHEN s.resolution_met_at IS NOT NULL THEN 1 ELSE 0 END AS mttr_count,
           CASE WHEN s.resolution_met_at IS NOT NULL THEN s.resolution_elapsed_minutes ELSE 0 END AS mttr_business_sum,
           CAST(CASE WHEN s.resolution_met_at IS NOT NULL THEN {mttr_wall} ELSE 0 END AS DOUBLE PRECISION) AS mttr_wall_sum
         FROM incidents i
         JOIN tickets t ON t.id = i.ticket_id
         LEFT JOIN ticket_sla s ON s.ticket_id = i.ticket_id"
    )
}

/// The hour (UTC) a timestamp expression falls in, as the rollup stores it.
pub fn hour_of(backend: Backend, expression: &str) -> String {
    match backend {
        Backend::Sqlite => format!("strftime('%Y-%m-%d %H:00:00', {expression})"),
        Backend::Postgres => format!("date_trunc('hour', {expression})"),
    }
}

/// Whether the report over `[from, to)` can read the rollup: both ends on whole hours.
pub fn covers(from: NaiveDateTime, to: NaiveDateTime) -> bool {
    let whole = |t: NaiveDateTime| t.minute() == 0 && t.second() == 0 && t.nanosecond() == 0;
    whole(from) && whole(to)
}

/// Marks the hour of a ticket's reported time for rolling up again (inside the caller's
/// transaction: the mark commits with the change, or not at all).
pub fn mark_dirty(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<()> {
    // The core's copy of when the clocks started (an incident's reported time).
    let hour = hour_of(backend_of(conn), "f.started_at");
    diesel::sql_query(format!(
        "INSERT INTO sla_rollup_dirty (bucket) SELECT {hour} FROM ticket_facts f WHERE f.ticket_id = {ticket_id} \
         ON CONFLICT DO NOTHING"
    ))
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
pub(super) struct Bucket {
    #[diesel(sql_type = Timestamp)]
    pub(super) bucket: NaiveDateTime,
}

/// Dirty hours a report adds up from the tickets at most; past this (the job is off or far
/// behind) the report adds up the whole period from the tickets instead.
pub(super) const MAX_DIRTY_IN_REPORT: i64 = 500;

/// The dirty hours in `[from, to)`, at most `MAX_DIRTY_IN_REPORT + 1`.
pub(super) fn dirty_between(conn: &mut DbConnection, from: &str, to: &str) -> QueryResult<Vec<NaiveDateTime>> {
    let found: Vec<Bucket> = diesel::sql_query(format!(
        "SELECT bucket FROM sla_rollup_dirty WHERE bucket >= {from} AND bucket < {to} ORDER BY bucket LIMIT {}",
        MAX_DIRTY_IN_REPORT + 1
    ))
    .load(conn)?;
    Ok(found.into_iter().map(|b| b.bucket).collect())
}

fn insert_columns() -> String {
    format!("bucket, team_id, priority, {}", FIGURES.join(", "))
}

fn summed() -> String {
    FIGURES
        .iter()
        .map(|f| format!("SUM(c.{f})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rolls up at most `limit` dirty hours, oldest first, each in its own transaction; returns
/// how many this call rebuilt (an hour another instance claimed first is skipped).
pub fn roll_up(conn: &mut DbConnection, limit: i64) -> Result<usize, AppError> {
    let dialect = Dialect {
        backend: backend_of(conn),
    };
    let buckets: Vec<Bucket> = diesel::sql_query(format!(
        "SELECT bucket FROM sla_rollup_dirty ORDER BY bucket LIMIT {limit}"
    ))
    .load(conn)?;
    let mut done = 0;
    for Bucket { bucket } in buckets {
        let (from, to) = (literal(bucket), literal(bucket + Duration::hours(1)));
        let rebuilt = write_transaction(conn, |conn| {
            let claimed =
                diesel::sql_query(format!("DELETE FROM sla_rollup_dirty WHERE bucket = {from}")).execute(conn)?;
            if claimed == 0 {
                return Ok::<_, AppError>(false);
            }
            diesel::sql_query(format!("DELETE FROM sla_rollup WHERE bucket = {from}")).execute(conn)?;
            diesel::sql_query(format!(
                "INSERT INTO sla_rollup ({columns})
                 SELECT {from}, c.team_id, c.priority, {sums}
                 FROM ({contributions}
                       WHERE i.reported_at >= {from} AND i.reported_at < {to} AND t.deleted_at IS NULL) c
                 GROUP BY c.team_id, c.priority",
                columns = insert_columns(),
                sums = summed(),
                contributions = contributions(&dialect),
            ))
            .execute(conn)?;
            Ok(true)
        })?;
        done += usize::from(rebuilt);
    }
    Ok(done)
}

/// Rebuilds the whole rollup in one statement (after `mamori seed` or `mamori sla recompute`,
/// which write figures in bulk).
pub fn rebuild_all(conn: &mut DbConnection) -> Result<(), AppError> {
    let dialect = Dialect {
        backend: backend_of(conn),
    };
    let hour = hour_of(dialect.backend, "c.at");
    write_transaction(conn, |conn| {
        diesel::sql_query("DELETE FROM sla_rollup_dirty").execute(conn)?;
        diesel::sql_query("DELETE FROM sla_rollup").execute(conn)?;
        diesel::sql_query(format!(
            "INSERT INTO sla_rollup ({columns})
             SELECT {hour}, c.team_id, c.priority, {sums}
             FROM ({contributions} WHERE t.deleted_at IS NULL) c
             GROUP BY {hour}, c.team_id, c.priority",
            columns = insert_columns(),
            sums = summed(),
            contributions = contributions(&dialect),
        ))
        .execute(conn)?;
        Ok(())
    })
}
