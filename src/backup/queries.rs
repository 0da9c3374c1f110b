//! Backup settings, runs and job leases: diesel only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{BackupRun, BackupSettings};
use crate::db::schema::{backup_runs, backup_settings, job_leases};
use crate::db::DbConnection;

pub fn settings(conn: &mut DbConnection) -> QueryResult<BackupSettings> {
    backup_settings::table
        .select(BackupSettings::as_select())
        .filter(backup_settings::id.eq(1))
        .first(conn)
}

#[allow(clippy::too_many_arguments)]
pub fn update_settings(
    conn: &mut DbConnection,
    enabled: bool,
    time_of_day: &str,
    time_zone: &str,
    target_dir: &str,
    keep_daily: i32,
    keep_weekly: i32,
    alert_team_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(backup_settings::table.filter(backup_settings::id.eq(1)))
        .set((
            backup_settings::enabled.eq(enabled),
            backup_settings::time_of_day.eq(time_of_day),
            backup_settings::time_zone.eq(time_zone),
            backup_settings::target_dir.eq(target_dir),
            backup_settings::keep_daily.eq(keep_daily),
            backup_settings::keep_weekly.eq(keep_weekly),
            backup_settings::alert_team_id.eq(alert_team_id),
            backup_settings::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_failure_incident(conn: &mut DbConnection, incident_id: i64) -> QueryResult<usize> {
    diesel::update(backup_settings::table.filter(backup_settings::id.eq(1)))
        .set(backup_settings::failure_incident_id.eq(Some(incident_id)))
        .execute(conn)
}

/// Takes the lease `name` for `holder` until `until` when it is free, expired or already
/// `holder`'s: one conditional UPDATE, so of several instances racing exactly one gets it
/// (PostgreSQL re-checks the condition after waiting for the other's commit; SQLite writes
/// one at a time).
pub fn take_lease(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let taken = diesel::update(
        job_leases::table
            .filter(job_leases::name.eq(name))
            .filter(job_leases::expires_at.le(now).or(job_leases::holder.eq(holder))),
    )
    .set((job_leases::holder.eq(holder), job_leases::expires_at.eq(until)))
    .execute(conn)?;
    Ok(taken == 1)
}

pub fn release_lease(conn: &mut DbConnection, name: &str, holder: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        job_leases::table
            .filter(job_leases::name.eq(name))
            .filter(job_leases::holder.eq(holder)),
    )
    .set((job_leases::holder.eq(None::<String>), job_leases::expires_at.eq(now)))
    .execute(conn)
}

pub fn slot_has_run(conn: &mut DbConnection, slot: NaiveDateTime) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        backup_runs::table.filter(backup_runs::slot_at.eq(slot)),
    ))
    .get_result(conn)
}

pub fn insert_run(
    conn: &mut DbConnection,
    kind: &str,
    slot: Option<NaiveDateTime>,
    holder: &str,
    now: NaiveDateTime,
) -> QueryResult<BackupRun> {
    let id: i64 = diesel::insert_into(backup_runs::table)
        .values((
            backup_runs::kind.eq(kind),
            backup_runs::slot_at.eq(slot),
            backup_runs::holder.eq(holder),
            backup_runs::started_at.eq(now),
            backup_runs::result.eq(super::model::RESULT_RUNNING),
            backup_runs::verification.eq(super::model::VERIFY_PENDING),
        ))
        .returning(backup_runs::id)
        .get_result(conn)?;
    run(conn, id)
}

pub fn run(conn: &mut DbConnection, id: i64) -> QueryResult<BackupRun> {
    backup_runs::table.find(id).select(BackupRun::as_select()).first(conn)
}

/// What a finished run records.
pub struct Finish<'a> {
    pub finished_at: NaiveDateTime,
    pub archive_path: Option<&'a str>,
    pub size_bytes: Option<i64>,
    pub duration_ms: i64,
    pub result: &'a str,
    pub verification: &'a str,
    pub error: Option<&'a str>,
}

pub fn finish_run(conn: &mut DbConnection, id: i64, f: &Finish) -> QueryResult<BackupRun> {
    diesel::update(backup_runs::table.find(id))
        .set((
            backup_runs::finished_at.eq(f.finished_at),
            backup_runs::archive_path.eq(f.archive_path),
            backup_runs::size_bytes.eq(f.size_bytes),
            backup_runs::duration_ms.eq(f.duration_ms),
            backup_runs::result.eq(f.result),
            backup_runs::verification.eq(f.verification),
            backup_runs::error.eq(f.error),
        ))
        .execute(conn)?;
    run(conn, id)
}

/// The newest runs first.
pub fn recent_runs(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<BackupRun>> {
    backup_runs::table
        .select(BackupRun::as_select())
        .order(backup_runs::id.desc())
        .limit(limit)
        .load(conn)
}

/// The last run that has finished.
pub fn last_finished(conn: &mut DbConnection) -> QueryResult<Option<BackupRun>> {
    backup_runs::table
        .select(BackupRun::as_select())
        .filter(backup_runs::finished_at.is_not_null())
        .order(backup_runs::id.desc())
        .first(conn)
        .optional()
}

/// When the last successful, verified backup finished.
pub fn last_success_at(conn: &mut DbConnection) -> QueryResult<Option<NaiveDateTime>> {
    backup_runs::table
        .filter(backup_runs::result.eq(super::model::RESULT_SUCCEEDED))
        .filter(backup_runs::verification.eq(super::model::VERIFY_PASSED))
        .select(diesel::dsl::max(backup_runs::finished_at))
        .first(conn)
}

/// Verified archives still on disk: what retention chooses among.
pub fn kept_archives(conn: &mut DbConnection) -> QueryResult<Vec<(i64, NaiveDateTime, Option<String>)>> {
    backup_runs::table
        .filter(backup_runs::verification.eq(super::model::VERIFY_PASSED))
        .filter(backup_runs::pruned_at.is_null())
        .filter(backup_runs::archive_path.is_not_null())
        .select((backup_runs::id, backup_runs::started_at, backup_runs::archive_path))
        .load(conn)
}

pub fn mark_pruned(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(backup_runs::table.find(id))
        .set(backup_runs::pruned_at.eq(now))
        .execute(conn)
}
