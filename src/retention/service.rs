//! The use cases: read and set the periods, and run the pruning (daily, under a lease).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::model::{Periods, RetentionRun};
use super::queries;
use super::rules::{self, How, MAX_DAYS, MAX_MONTHS, PRUNABLE, TICKET_ARCHIVE, TICKET_ARCHIVE_DEFAULT_MONTHS};
use crate::audit::model::Actor;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};

/// The lease's name in `job_leases`.
pub const LEASE: &str = "retention";
const LEASE_FOR: Duration = Duration::hours(2);

/// Every prunable table's period and the tickets' archiving period ([`TICKET_ARCHIVE`], in
/// months): what an administrator set, else its default.
pub fn periods(conn: &mut DbConnection) -> Result<Periods, AppError> {
    let mut days: BTreeMap<String, i32> = PRUNABLE.iter().map(|p| (p.table.to_string(), p.default_days)).collect();
    days.insert(TICKET_ARCHIVE.to_string(), TICKET_ARCHIVE_DEFAULT_MONTHS);
    for (name, set) in queries::set_periods(conn)? {
        if let Some(d) = days.get_mut(&name) {
            *d = set;
        }
    }
    Ok(Periods { days })
}

/// Sets the periods given (others keep theirs); each checked, audited with before and after.
pub fn update_periods(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: &Periods,
) -> Result<Periods, AppError> {
    let mut errors = FieldErrors::new();
    for (name, days) in &input.days {
        if name == TICKET_ARCHIVE {
            if !(0..=MAX_MONTHS).contains(days) {
                errors.add(
                    format!("days.{name}"),
                    FieldMessage::new("retention-error-months").with("max", i64::from(MAX_MONTHS)),
                );
            }
        } else if rules::find(name).is_none() {
            errors.add(format!("days.{name}"), FieldMessage::new("retention-error-table"));
        } else if !(0..=MAX_DAYS).contains(days) {
            errors.add(
                format!("days.{name}"),
                FieldMessage::new("retention-error-days").with("max", i64::from(MAX_DAYS)),
            );
        }
    }
    errors.into_result()?;
    write_transaction(conn, |conn| {
        let before = periods(conn)?;
        for (name, days) in &input.days {
            queries::put_period(conn, name, *days, now)?;
        }
        let after = periods(conn)?;
        crate::audit::service::record(
            conn,
            actor,
            now,
            "retention.settings",
            "retention_periods",
            "*",
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// What the next run would archive at `now`, by kind and month closed (empty when archiving
/// is off).
pub fn archive_report(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Vec<super::model::ReportRow>, AppError> {
    let months = periods(conn)?
        .days
        .get(TICKET_ARCHIVE)
        .copied()
        .unwrap_or(TICKET_ARCHIVE_DEFAULT_MONTHS);
    match rules::archive_cutoff(now, months) {
        Some(cutoff) => Ok(queries::archive_report(conn, cutoff)?),
        None => Ok(Vec::new()),
    }
}

/// Prunes every table past its period and archives the tickets closed before the archiving
/// period, in batches of [`rules::BATCH`] rows (one short transaction each), and records the
/// run with its counts per table (`ticket_archive`: tickets archived).
pub fn run(conn: &mut DbConnection, holder: &str, now: NaiveDateTime) -> Result<RetentionRun, AppError> {
    run_batched(conn, holder, now, rules::BATCH)
}

/// [`run`] with another batch size (tests show the batching with a few rows).
pub fn run_batched(
    conn: &mut DbConnection,
    holder: &str,
    now: NaiveDateTime,
    batch_size: i64,
) -> Result<RetentionRun, AppError> {
    let periods = periods(conn)?;
    let id = write_transaction(conn, |conn| queries::insert_run(conn, holder, now))?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failure = None;
    for p in PRUNABLE {
        let days = periods.days.get(p.table).copied().unwrap_or(p.default_days);
        let Some(cutoff) = rules::cutoff(now, days) else {
            continue;
        };
        let mut removed = 0;
        loop {
            let batch = match p.how {
                How::Rows => write_transaction(conn, |conn| queries::delete_batch(conn, p, cutoff, batch_size))
                    .map_err(AppError::from),
                How::AuditChain => crate::audit::service::prune_batch(conn, cutoff, batch_size, now),
            };
            match batch {
                Ok(0) => break,
                Ok(n) => removed += n,
                Err(e) => {
                    tracing::warn!(table = p.table, error = %e, "retention: pruning failed");
                    failure = Some(format!("{}: {e}", p.table));
                    break;
                }
            }
        }
        counts.insert(p.table, removed);
    }
    let months = periods
        .days
        .get(TICKET_ARCHIVE)
        .copied()
        .unwrap_or(TICKET_ARCHIVE_DEFAULT_MONTHS);
    if let Some(cutoff) = rules::archive_cutoff(now, months) {
        let mut archived = 0;
        loop {
            match write_transaction(conn, |conn| queries::archive_batch(conn, cutoff, now, batch_size)) {
                Ok(0) => break,
                Ok(n) => archived += n,
                Err(e) => {
                    tracing::warn!(error = %e, "retention: archiving failed");
                    failure = Some(format!("ticket_archive: {e}"));
                    break;
                }
            }
        }
        counts.insert("ticket_archive", archived);
    }
    let counts_json = serde_json::to_string(&counts).map_err(AppError::internal)?;
    write_transaction(conn, |conn| {
        queries::finish_run(conn, id, &counts_json, failure.as_deref(), now)?;
        crate::audit::service::record(
            conn,
            &Actor::system("retention"),
            now,
            "retention.run",
            "retention_run",
            id,
            None::<&()>,
            Some(&json!({ "counts": counts, "error": failure })),
        )
    })?;
    queries::recent_runs(conn, 1)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("retention run {id} not stored")))
}

/// The daily run when due and this instance gets the lease; `None` otherwise.
pub fn run_due(conn: &mut DbConnection, holder: &str, now: NaiveDateTime) -> Result<Option<RetentionRun>, AppError> {
    if !rules::run_due(queries::last_run_started(conn)?, now) {
        return Ok(None);
    }
    let lease = |conn: &mut DbConnection| {
        write_transaction(conn, |conn| {
            crate::backup::queries::take_lease(conn, LEASE, holder, now, now + LEASE_FOR)
        })
    };
    if !lease(conn)? {
        return Ok(None);
    }
    let result = if rules::run_due(queries::last_run_started(conn)?, now) {
        run(conn, holder, now).map(Some)
    } else {
        Ok(None)
    };
    write_transaction(conn, |conn| {
        crate::backup::queries::release_lease(conn, LEASE, holder, now)
    })?;
    result
}
