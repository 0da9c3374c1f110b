//! The SLA job: finds clocks that crossed their warning threshold or their due time and delay
//! levels that fell due, records each on the ticket's timeline once, and applies the team's
//! escalation policy (notify the assignee, the team or its managers; hand the ticket to another
//! team; raise its escalation level).
//!
//! A team's escalation policy is an ordered list of levels. A level fires on a clock's warning
//! or breach, or after a delay: `unacknowledged` (no first response N minutes after the report)
//! or `unresolved`. Delays are business minutes on the ticket's SLA calendar, measured by the
//! clock of what the level waits for, so they count what the SLA counts: office hours for an
//! office-hours policy, every minute for 24×7, nothing while the ticket is on hold; they stop
//! once the ticket is answered (or resolved). We chose business time over wall time so that a
//! level never fires at a moment its own SLA says nobody is expected to work, and a P3 filed on
//! Friday evening does not page L2 before Monday. A ticket without SLA clocks (no policy covers
//! it, or its policy was switched off) escalates by no level at all.
//!
//! The policy that applies is that of the ticket's team, except while the ticket sits where a
//! level handed it: then the policy that handed it on keeps escalating it (its later levels are
//! the next levels), see `service::escalation_policy_team`. Levels are counted from the report,
//! so levels of a newly responsible policy that are already past fire at the next run.
//!
//! Safe with several instances on one database. Each alert's row in `sla_alerts` has a primary
//! key of (ticket, clock, kind), and each level's row in `escalation_firings` one of (ticket,
//! level), inserted in the same transaction as everything it does, so the second instance's
//! insert fails (on PostgreSQL it waits for the first to commit) and its savepoint rolls back
//! with nothing done. Each ticket's work starts by taking the ticket's row lock, in the same
//! order as people's writes (ticket, then clocks). Candidates come from indexed instants stored
//! at every transition (`*_warn_at`, `*_due_at`, `next_escalation_at`), in bounded batches.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::model::{EscalationRule, TicketSla};
use super::{queries, service};
use crate::audit::model::Actor;
use crate::db::schema::{sla_alerts, team_members, teams, ticket_sla, tickets, users};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// Alerts handled per clock and kind in one run, and tickets with due levels; the next run
/// takes the rest.
const BATCH: i64 = 200;
/// Queued tickets recomputed per run (after an admin change covering many tickets).
const RECOMPUTE_BATCH: i64 = 500;
/// Hours of the SLA report's rollup rebuilt per run (each a small indexed aggregate).
const ROLLUP_BATCH: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Response,
    Resolution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    Warning,
    Breach,
}

impl Clock {
    fn as_str(self) -> &'static str {
        match self {
            Clock::Response => "response",
            Clock::Resolution => "resolution",
        }
    }
}

impl Alert {
    fn as_str(self) -> &'static str {
        match self {
            Alert::Warning => "warning",
            Alert::Breach => "breach",
        }
    }
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Run {
    pub warnings: usize,
    pub breaches: usize,
    /// Delay levels fired.
    pub escalations: usize,
    /// Queued tickets whose clocks were recomputed.
    pub recomputed: usize,
    /// Tickets whose work failed this run (logged with their ids; tried again next run).
    pub failed: usize,
}

/// Tickets whose clock crossed the instant for this alert and that have not had it.
fn candidates(conn: &mut DbConnection, clock: Clock, alert: Alert, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let fired = diesel::dsl::exists(
        sla_alerts::table
            .filter(sla_alerts::ticket_id.eq(ticket_sla::ticket_id))
            .filter(sla_alerts::clock.eq(clock.as_str()))
            .filter(sla_alerts::kind.eq(alert.as_str())),
    );
    let query = ticket_sla::table
        .filter(ticket_sla::paused.eq(false))
        .filter(diesel::dsl::not(fired))
        .select(ticket_sla::ticket_id)
        .order(ticket_sla::ticket_id)
        .limit(BATCH)
        .into_boxed();
    let query = match (clock, alert) {
        (Clock::Response, Alert::Warning) => query
            .filter(ticket_sla::response_met_at.is_null())
            .filter(ticket_sla::response_warn_at.le(now)),
        (Clock::Response, Alert::Breach) => query
            .filter(ticket_sla::response_met_at.is_null())
            .filter(ticket_sla::response_due_at.le(now)),
        (Clock::Resolution, Alert::Warning) => query
            .filter(ticket_sla::resolution_met_at.is_null())
            .filter(ticket_sla::resolution_warn_at.le(now)),
        (Clock::Resolution, Alert::Breach) => query
            .filter(ticket_sla::resolution_met_at.is_null())
            .filter(ticket_sla::resolution_due_at.le(now)),
    };
    query.load(conn)
}

/// Whether freshly computed figures still say the alert is due.
fn still_due(row: &TicketSla, clock: Clock, alert: Alert, now: NaiveDateTime) -> bool {
    let (met, warn, due) = match clock {
        Clock::Response => (row.response_met_at, row.response_warn_at, row.response_due_at),
        Clock::Resolution => (row.resolution_met_at, row.resolution_warn_at, row.resolution_due_at),
    };
    let at = match alert {
        Alert::Warning => warn,
        Alert::Breach => due,
    };
    !row.paused && met.is_none() && at.is_some_and(|at| at <= now)
}

/// What the job needs to know about a ticket to act on it.
struct Ticket {
    id: i64,
    kind: String,
    status: String,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
    reference: String,
    title: String,
}

impl Ticket {
    fn load(conn: &mut DbConnection, id: i64) -> QueryResult<Ticket> {
        let (kind, status, team_id, assignee_id, reference, title) = tickets::table
            .filter(tickets::id.eq(id))
            .select((
                tickets::kind,
                tickets::status,
                tickets::team_id,
                tickets::assignee_id,
                tickets::reference,
                tickets::title,
            ))
            .first(conn)?;
        Ok(Ticket {
            id,
            kind,
            status,
            team_id,
            assignee_id,
            reference,
            title,
        })
    }

    /// Someone still has to act, and nobody is waiting on the requester or a vendor.
    fn escalates(&self) -> bool {
        !matches!(self.status.as_str(), "resolved" | "closed" | "on_hold")
    }

    fn label(&self) -> String {
        format!("{} {}", self.reference, self.title)
    }
}

/// The people told about a ticket held by `team_id`: its assignee, its team's members or its
/// team's managers. Nobody there: every active manager.
fn recipients(
    conn: &mut DbConnection,
    notify: &str,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
) -> QueryResult<Vec<i64>> {
    let team_members = |conn: &mut DbConnection, role: Option<&str>| -> QueryResult<Vec<i64>> {
        let Some(team) = team_id else { return Ok(Vec::new()) };
        let mut query = team_members::table
            .inner_join(users::table)
            .filter(team_members::team_id.eq(team))
            .filter(users::active.eq(true))
            .select(users::id)
            .into_boxed();
        if let Some(role) = role {
            query = query.filter(users::role.eq(role));
        }
        query.load(conn)
    };
    let people = match (notify, assignee_id) {
        ("assignee", Some(assignee)) => vec![assignee],
        ("assignee", None) | ("team", _) => team_members(conn, None)?,
        _ => team_members(conn, Some("manager"))?,
    };
    if !people.is_empty() {
        return Ok(people);
    }
    users::table
        .filter(users::role.eq("manager"))
        .filter(users::active.eq(true))
        .select(users::id)
        .load(conn)
}

/// What a level's trigger is, for the timeline's reason.
fn trigger_text(rule: &EscalationRule) -> String {
    match (rule.kind.as_str(), rule.delay_minutes) {
        ("unacknowledged", Some(minutes)) => format!("not acknowledged after {minutes} business minutes"),
        ("unresolved", Some(minutes)) => format!("unresolved after {minutes} business minutes"),
        (kind, _) => format!("SLA {} {kind}", rule.clock),
    }
}

/// Claims a level for a ticket; false when it already fired (another instance, or earlier).
fn claim(
    conn: &mut DbConnection,
    ticket_id: i64,
    rule: &EscalationRule,
    to_team: Option<i64>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    match write_transaction(conn, |conn| {
        queries::claim_firing(conn, ticket_id, rule.id, to_team, now)
    }) {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Fires one claimed level: hands the ticket on and/or raises its level, records it on the
/// timeline and in the audit log (as an escalation by the job); returns the people of the level
/// (of the team holding the ticket afterwards), for the caller to notify. `ticket` follows.
fn act(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    ticket: &mut Ticket,
    rule: &EscalationRule,
) -> Result<Vec<i64>, AppError> {
    let to_team = rule.escalate_to_team_id.filter(|t| Some(*t) != ticket.team_id);
    let (team_after, assignee_after) = match to_team {
        Some(team) => (Some(team), None),
        None => (ticket.team_id, ticket.assignee_id),
    };
    let told = recipients(conn, &rule.notify, team_after, assignee_after)?;
    let policy: String = teams::table.find(rule.team_id).select(teams::name).first(conn)?;
    let reason = format!("automatic: rule {} of {policy} ({})", rule.id, trigger_text(rule));
    let escalate = crate::tickets::kind::find_str(&ticket.kind)
        .and_then(|spec| spec.escalate)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("{} has no escalation hook", ticket.kind)))?;
    escalate(
        conn,
        actor,
        now,
        ticket.id,
        &super::model::AutomaticEscalation {
            to_team,
            to_level: rule.to_level,
            reason: &reason,
            details: json!({
                "rule_id": rule.id, "policy_team": rule.team_id, "trigger": rule.kind,
                "clock": rule.clock, "delay_minutes": rule.delay_minutes,
                "notify": rule.notify, "notified": told.len(),
            }),
        },
    )?;
    ticket.team_id = team_after;
    ticket.assignee_id = assignee_after;
    Ok(told)
}

/// Fires one alert if it is still due and nobody fired it; true when this call fired it.
fn fire(
    conn: &mut DbConnection,
    ticket_id: i64,
    clock: Clock,
    alert: Alert,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    if !crate::tickets::queries::lock(conn, ticket_id)? {
        return Ok(false);
    }
    // Recompute first: the ticket may have been acknowledged, put on hold or had its policy
    // switched off since the figures were stored.
    let Some(row) = service::refresh(conn, ticket_id, now)? else {
        return Ok(false);
    };
    if !still_due(&row, clock, alert, now) {
        return Ok(false);
    }
    let claimed = write_transaction(conn, |conn| {
        diesel::insert_into(sla_alerts::table)
            .values((
                sla_alerts::ticket_id.eq(ticket_id),
                sla_alerts::clock.eq(clock.as_str()),
                sla_alerts::kind.eq(alert.as_str()),
                sla_alerts::fired_at.eq(now),
            ))
            .execute(conn)
    });
    match claimed {
        Ok(_) => {}
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    }
    let mut ticket = Ticket::load(conn, ticket_id)?;
    let due = match clock {
        Clock::Response => row.response_due_at,
        Clock::Resolution => row.resolution_due_at,
    };
    let event_kind = format!("sla_{}", alert.as_str());
    crate::tickets::service::add_event(
        conn,
        ticket_id,
        now,
        None,
        &event_kind,
        "internal",
        "",
        Some(json!({ "clock": clock.as_str(), "due_at": due.map(|d| crate::db::utc::format(&d)) })),
    )?;
    let actor = Actor::system("sla-job");
    let mut told = Vec::new();
    let rules = match service::escalation_policy_team(conn, ticket_id, ticket.team_id)? {
        Some(team) => queries::alert_rules(conn, team, clock.as_str(), alert.as_str())?,
        None => Vec::new(),
    };
    if rules.is_empty() {
        // Without levels: a warning goes to whoever holds the ticket, a breach to the managers.
        let notify = match alert {
            Alert::Warning => "assignee",
            Alert::Breach => "managers",
        };
        told = recipients(conn, notify, ticket.team_id, ticket.assignee_id)?;
    }
    for rule in &rules {
        if !ticket.escalates() {
            break;
        }
        let to_team = rule.escalate_to_team_id.filter(|t| Some(*t) != ticket.team_id);
        if claim(conn, ticket_id, rule, to_team, now)? {
            told.extend(act(conn, &actor, now, &mut ticket, rule)?);
        }
    }
    let kind = format!("sla_{}_{}", clock.as_str(), alert.as_str());
    crate::notifications::notify(conn, &told, Some(ticket_id), &kind, &ticket.label(), now)?;
    crate::audit::service::record(
        conn,
        &actor,
        now,
        &format!("incident.{event_kind}"),
        "incident",
        ticket_id,
        None::<&()>,
        Some(&json!({ "clock": clock.as_str(), "notified": told.len() })),
    )?;
    Ok(true)
}

/// Fires the delay levels of a ticket's policy that are due and nobody fired, in order;
/// returns how many this call fired.
fn fire_levels(conn: &mut DbConnection, ticket_id: i64, now: NaiveDateTime) -> Result<usize, AppError> {
    if !crate::tickets::queries::lock(conn, ticket_id)? {
        return Ok(0);
    }
    // Recomputed first: answered, on hold, resolved or switched off since the figures were
    // stored means nothing is due.
    let Some((_, due)) = service::refresh_with_levels(conn, ticket_id, now)? else {
        return Ok(0);
    };
    if due.is_empty() {
        return Ok(0);
    }
    let mut ticket = Ticket::load(conn, ticket_id)?;
    let actor = Actor::system("sla-job");
    let mut fired = 0;
    for rule in &due {
        if !ticket.escalates() {
            break;
        }
        let to_team = rule.escalate_to_team_id.filter(|t| Some(*t) != ticket.team_id);
        if !claim(conn, ticket_id, rule, to_team, now)? {
            continue;
        }
        let told = act(conn, &actor, now, &mut ticket, rule)?;
        crate::notifications::notify(
            conn,
            &told,
            Some(ticket_id),
            &format!("escalation_{}", rule.kind),
            &ticket.label(),
            now,
        )?;
        fired += 1;
    }
    // Moves `next_escalation_at` past what fired here (or elsewhere).
    service::refresh(conn, ticket_id, now)?;
    Ok(fired)
}

/// One ticket's outcome. A ticket another writer changed under the job (a stale version) is
/// left for the next run; a ticket whose work failed is logged, counted and left for the next
/// run too, so one bad ticket never stops the alerts and escalations of all the others.
fn settle<T: Default>(ticket_id: i64, result: Result<T, AppError>, failed: &mut usize) -> T {
    match result {
        Ok(value) => value,
        Err(AppError::Conflict(reason)) => {
            tracing::info!(ticket_id, %reason, "SLA job: ticket changed meanwhile; next run");
            T::default()
        }
        Err(e) => {
            tracing::error!(ticket_id, error = %e, "SLA job: ticket failed; next run");
            *failed += 1;
            T::default()
        }
    }
}

/// One pass over every clock and alert kind, then the delay levels. Each ticket's work runs in
/// its own transaction.
pub fn run_once(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Run, AppError> {
    // Queued recomputes first, so the alerts below read current figures.
    let (recomputed, failed) = service::recompute_queued(conn, now, RECOMPUTE_BATCH)?;
    let mut run = Run {
        recomputed,
        failed,
        ..Run::default()
    };
    for clock in [Clock::Response, Clock::Resolution] {
        for alert in [Alert::Warning, Alert::Breach] {
            for ticket_id in candidates(conn, clock, alert, now)? {
                let fired = write_transaction(conn, |conn| fire(conn, ticket_id, clock, alert, now));
                if settle(ticket_id, fired, &mut run.failed) {
                    match alert {
                        Alert::Warning => run.warnings += 1,
                        Alert::Breach => run.breaches += 1,
                    }
                }
            }
        }
    }
    for ticket_id in queries::escalation_candidates(conn, now, BATCH)? {
        let fired = write_transaction(conn, |conn| fire_levels(conn, ticket_id, now));
        run.escalations += settle(ticket_id, fired, &mut run.failed);
    }
    Ok(run)
}

/// Runs the job every `seconds` on its own thread for the life of the process (0: never).
/// A failed run is logged and retried at the next tick.
pub fn spawn(pool: crate::db::DbPool, clock: crate::clock::Clock, seconds: u64) {
    if seconds == 0 {
        tracing::info!("SLA job switched off in this instance (MAMORI_SLA_JOB_SECONDS=0)");
        return;
    }
    std::thread::Builder::new()
        .name("sla-job".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(seconds));
            let result = crate::db::background_connection(&pool)
                .map_err(AppError::from)
                .and_then(|mut conn| {
                    let run = run_once(&mut conn, clock.now());
                    // The report's hourly rollup: hours changed since the last run.
                    if let Err(e) = crate::reports::rollup::roll_up(&mut conn, ROLLUP_BATCH) {
                        tracing::warn!(error = %e, "SLA report rollup failed");
                    }
                    run
                });
            crate::metrics::sla_job_ran(result.is_err(), result.as_ref().map_or(0, |run| run.failed as u64));
            match result {
                Ok(run) if run.warnings + run.breaches + run.escalations + run.failed > 0 => {
                    tracing::info!(
                        warnings = run.warnings,
                        breaches = run.breaches,
                        escalations = run.escalations,
                        failed = run.failed,
                        "SLA job fired alerts and escalation levels"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "SLA job run failed"),
            }
        })
        .expect("spawn the SLA job thread");
}
