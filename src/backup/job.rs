//! Scheduled backups: the job that runs a backup when it is due, tests the restore of every
//! archive it makes, keeps N daily and M weekly archives, and reports a failure as an incident.
//!
//! Safe with several instances on one database: a run is taken through the `backup` lease (a
//! row of `job_leases` claimed with one conditional UPDATE, see [`queries::take_lease`]), and
//! `backup_runs.slot_at` is unique, so each scheduled instant gets at most one run even if a
//! lease expired under a very slow backup.
//!
//! A failed backup or restore test opens an incident through the normal incident creation
//! (`incidents::service::create`, actor `system:backup`, channel `monitoring`) for the team
//! set on the backup settings, or, when none is set, the first team of the first active
//! administrator (lowest ids): the people who can act on a backup. While that incident is open
//! a further failure comments on it instead of opening another.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::model::{
    BackupRun, BackupSettings, RESULT_FAILED, RESULT_SUCCEEDED, RUN_MANUAL, RUN_SCHEDULED, VERIFY_FAILED,
    VERIFY_PASSED, VERIFY_SKIPPED,
};
use super::{queries, rules};
use crate::audit::model::Actor;
use crate::db::schema::{team_members, tickets, users};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::web::i18n::{translate_text, Lang};

/// The lease's name in `job_leases`.
pub const LEASE: &str = "backup";
/// How long a taken lease holds: longer than any backup should take; a crashed instance's
/// lease frees itself after this.
pub const LEASE_FOR: Duration = Duration::hours(2);

/// The folder archives go to: the configured one, or `<data dir>/backups`.
pub fn target_dir(settings: &BackupSettings, data_dir: &Path) -> PathBuf {
    if settings.target_dir.trim().is_empty() {
        data_dir.join("backups")
    } else {
        PathBuf::from(settings.target_dir.trim())
    }
}

fn zone(settings: &BackupSettings) -> chrono_tz::Tz {
    settings.time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo)
}

/// A test hook between the backup and its restore test (a test damages the archive there).
pub type BeforeVerify<'a> = &'a dyn Fn(&Path);

/// Runs the scheduled backup when it is due and this instance gets the lease; `None` when
/// nothing was due or another instance holds the lease.
pub fn run_due(
    conn: &mut DbConnection,
    data_dir: &Path,
    holder: &str,
    now: NaiveDateTime,
    before_verify: BeforeVerify,
) -> Result<Option<BackupRun>, AppError> {
    let settings = queries::settings(conn)?;
    let time = rules::parse_time_of_day(&settings.time_of_day).unwrap_or_default();
    let slot = rules::latest_slot(now, time, zone(&settings));
    if !rules::backup_due(
        settings.enabled,
        slot,
        settings.updated_at,
        queries::slot_has_run(conn, slot)?,
    ) {
        return Ok(None);
    }
    if !write_transaction(conn, |conn| {
        queries::take_lease(conn, LEASE, holder, now, now + LEASE_FOR)
    })? {
        return Ok(None);
    }
    // Under the lease: another instance may have run this slot and released it meanwhile.
    let result = if queries::slot_has_run(conn, slot)? {
        Ok(None)
    } else {
        perform(
            conn,
            &settings,
            data_dir,
            holder,
            now,
            RUN_SCHEDULED,
            Some(slot),
            &Actor::system("backup"),
            before_verify,
        )
        .map(Some)
    };
    write_transaction(conn, |conn| queries::release_lease(conn, LEASE, holder, now))?;
    result
}

/// "Back up now": a manual run under the same lease; 409 while another run holds it.
pub fn run_now(
    conn: &mut DbConnection,
    data_dir: &Path,
    holder: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<BackupRun, AppError> {
    let settings = queries::settings(conn)?;
    if !write_transaction(conn, |conn| {
        queries::take_lease(conn, LEASE, holder, now, now + LEASE_FOR)
    })? {
        return Err(AppError::Conflict("a backup is already running".into()));
    }
    let result = perform(conn, &settings, data_dir, holder, now, RUN_MANUAL, None, actor, &|_| {});
    write_transaction(conn, |conn| queries::release_lease(conn, LEASE, holder, now))?;
    result
}

/// One run: the backup, its restore test, the record, retention, and the incident on failure.
#[allow(clippy::too_many_arguments)]
fn perform(
    conn: &mut DbConnection,
    settings: &BackupSettings,
    data_dir: &Path,
    holder: &str,
    now: NaiveDateTime,
    kind: &str,
    slot: Option<NaiveDateTime>,
    actor: &Actor,
    before_verify: BeforeVerify,
) -> Result<BackupRun, AppError> {
    let run = write_transaction(conn, |conn| queries::insert_run(conn, kind, slot, holder, now))?;
    let started = Instant::now();
    let target = target_dir(settings, data_dir);
    let made = super::service::backup(conn, data_dir, &target, now);
    let (archive, size, result, verification, error) = match made {
        Ok(made) => {
            before_verify(&made.path);
            let archive = Some(made.path.to_string_lossy().into_owned());
            match super::service::verify(&made.path) {
                Ok(_) => (
                    archive,
                    Some(made.size_bytes as i64),
                    RESULT_SUCCEEDED,
                    VERIFY_PASSED,
                    None,
                ),
                Err(e) => (
                    archive,
                    Some(made.size_bytes as i64),
                    RESULT_SUCCEEDED,
                    VERIFY_FAILED,
                    Some(format!("{e:#}")),
                ),
            }
        }
        Err(e) => (None, None, RESULT_FAILED, VERIFY_SKIPPED, Some(format!("{e:#}"))),
    };
    let elapsed = started.elapsed();
    let finished_at = crate::db::truncate(now + Duration::from_std(elapsed).unwrap_or_default());
    let run = write_transaction(conn, |conn| {
        let done = queries::finish_run(
            conn,
            run.id,
            &queries::Finish {
                finished_at,
                archive_path: archive.as_deref(),
                size_bytes: size,
                duration_ms: elapsed.as_millis() as i64,
                result,
                verification,
                error: error.as_deref(),
            },
        )?;
        crate::audit::service::record(
            conn,
            actor,
            finished_at,
            "backup.run",
            "backup_run",
            done.id,
            None::<&()>,
            Some(&json!({
                "kind": done.kind,
                "archive": done.archive_path,
                "size_bytes": done.size_bytes,
                "result": done.result,
                "verification": done.verification,
                "error": done.error,
            })),
        )?;
        Ok::<_, AppError>(done)
    })?;
    if let Some(error) = &run.error {
        tracing::error!(run = run.id, %error, verification = %run.verification, "backup failed");
        report_failure(conn, settings, &run, finished_at)?;
    } else if let Err(e) = prune_archives(conn, settings, &target, finished_at) {
        tracing::warn!(error = %e, "backup retention failed");
    }
    Ok(run)
}

/// Keeps N daily and M weekly verified archives; removes the others' folders (only folders
/// this job made, inside the target folder) and marks their runs.
fn prune_archives(
    conn: &mut DbConnection,
    settings: &BackupSettings,
    target: &Path,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let archives = queries::kept_archives(conn)?;
    let dated: Vec<(i64, NaiveDateTime)> = archives.iter().map(|(id, at, _)| (*id, *at)).collect();
    let prune = rules::archives_to_prune(
        &dated,
        settings.keep_daily.max(0) as u32,
        settings.keep_weekly.max(0) as u32,
        zone(settings),
    );
    let mut removed = 0;
    for (id, _, path) in archives.iter().filter(|(id, _, _)| prune.contains(id)) {
        let Some(path) = path.as_deref().map(PathBuf::from) else {
            continue;
        };
        let ours = path.parent() == Some(target)
            && path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("mamori-backup-"));
        if !ours {
            continue;
        }
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(AppError::internal)?;
        }
        write_transaction(conn, |conn| queries::mark_pruned(conn, *id, now))?;
        removed += 1;
    }
    Ok(removed)
}

/// The team told about a failed backup: the configured one, or the first team of the first
/// active administrator.
fn alert_team(conn: &mut DbConnection, settings: &BackupSettings) -> Result<Option<i64>, AppError> {
    if settings.alert_team_id.is_some() {
        return Ok(settings.alert_team_id);
    }
    Ok(users::table
        .inner_join(team_members::table)
        .filter(users::role.eq("admin"))
        .filter(users::active.eq(true))
        .order((users::id, team_members::team_id))
        .select(team_members::team_id)
        .first(conn)
        .optional()?)
}

/// Opens an incident for the failure, or comments on the one still open from an earlier one.
fn report_failure(
    conn: &mut DbConnection,
    settings: &BackupSettings,
    run: &BackupRun,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let actor = Actor::system("backup");
    let what = if run.verification == VERIFY_FAILED {
        "backup-incident-verify-failed"
    } else {
        "backup-incident-backup-failed"
    };
    let error = run.error.clone().unwrap_or_default();
    let run_id = run.id.to_string();
    let body = translate_text(
        Lang::Ja,
        "backup-incident-body",
        &[
            ("what", &translate_text(Lang::Ja, what, &[])),
            ("run", &run_id),
            ("error", &error),
        ],
    );
    if let Some(id) = settings.failure_incident_id {
        let open: Vec<&str> = crate::tickets::kind::find_str("incident")
            .map(|spec| spec.open_statuses().collect())
            .unwrap_or_default();
        let still_open = tickets::table
            .filter(tickets::id.eq(id))
            .filter(tickets::deleted_at.is_null())
            .filter(tickets::status.eq_any(open))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if still_open {
            crate::incidents::service::comment(
                conn,
                &actor,
                now,
                id,
                &crate::incidents::service::CommentInput {
                    body,
                    visibility: "internal".into(),
                },
            )?;
            return Ok(());
        }
    }
    let team_id = alert_team(conn, settings)?;
    let incident = crate::incidents::service::create(
        conn,
        &actor,
        now,
        &settings.time_zone,
        &crate::incidents::model::IncidentInput {
            title: translate_text(Lang::Ja, what, &[]),
            description: body,
            impact: "medium".into(),
            urgency: "high".into(),
            channel: "monitoring".into(),
            category: translate_text(Lang::Ja, "backup-incident-category", &[]),
            team_id,
            ..Default::default()
        },
    )?;
    write_transaction(conn, |conn| queries::set_failure_incident(conn, incident.id))?;
    Ok(())
}

/// Starts the scheduled backup thread: every `seconds` it runs the backup when due (and when
/// this instance gets the lease), then the daily retention run when due (its own lease).
/// `0`: never in this instance.
pub fn spawn(pool: crate::db::DbPool, clock: crate::clock::Clock, data_dir: PathBuf, seconds: u64) {
    if seconds == 0 {
        tracing::info!("backup job switched off in this instance (MAMORI_BACKUP_JOB_SECONDS=0)");
        return;
    }
    let holder = instance_id();
    std::thread::Builder::new()
        .name("backup-job".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(seconds));
            let result = crate::db::background_connection(&pool)
                .map_err(AppError::from)
                .and_then(|mut conn| run_due(&mut conn, &data_dir, holder, clock.now(), &|_| {}));
            match result {
                Ok(Some(run)) => tracing::info!(
                    run = run.id,
                    result = %run.result,
                    verification = %run.verification,
                    "scheduled backup ran"
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "backup job run failed"),
            }
            let pruned = crate::db::background_connection(&pool)
                .map_err(AppError::from)
                .and_then(|mut conn| crate::retention::service::run_due(&mut conn, holder, clock.now()));
            match pruned {
                Ok(Some(run)) => tracing::info!(run = run.id, counts = %run.counts, "retention ran"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "retention run failed"),
            }
        })
        .expect("spawn the backup job thread");
}

/// This process's name as a lease holder: host and process id, with a random suffix.
pub fn instance_id() -> &'static str {
    static ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!(
            "{}:{}:{}",
            host.trim(),
            std::process::id(),
            crate::auth::tokens::random_hex(4)
        )
    });
    &ID
}
