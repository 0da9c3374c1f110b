//! The SLA job: finds clocks that crossed their warning threshold or their due time, records
//! each on the ticket's timeline once, and applies the team's escalation rules (notify the
//! assignee, the team or its managers; hand the ticket to another team).
//!
//! Safe with several instances on one database: each alert's row in `sla_alerts` has a primary
//! key of (ticket, clock, kind), inserted in the same transaction as everything the alert does,
//! so the second instance's insert fails (on PostgreSQL it waits for the first to commit) and
//! its savepoint rolls back with nothing done. Candidates come from indexed due/warn instants
//! stored at every transition, in bounded batches.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::model::TicketSla;
use super::service;
use crate::audit::model::Actor;
use crate::db::schema::{escalation_rules, sla_alerts, team_members, ticket_sla, tickets, users};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

/// Alerts handled per clock and kind in one run; the next run takes the rest.
const BATCH: i64 = 200;

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
}

/// A team's rule, or the default when the team has none.
#[derive(Debug, Clone, Queryable)]
pub struct Rule {
    pub notify: String,
    pub escalate_to_team_id: Option<i64>,
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

fn rules_for(conn: &mut DbConnection, team_id: Option<i64>, clock: Clock, alert: Alert) -> QueryResult<Vec<Rule>> {
    let found = match team_id {
        Some(team) => escalation_rules::table
            .filter(escalation_rules::team_id.eq(team))
            .filter(escalation_rules::clock.eq(clock.as_str()))
            .filter(escalation_rules::kind.eq(alert.as_str()))
            .order(escalation_rules::id)
            .select((escalation_rules::notify, escalation_rules::escalate_to_team_id))
            .load(conn)?,
        None => Vec::new(),
    };
    if !found.is_empty() {
        return Ok(found);
    }
    // Without rules: a warning goes to whoever holds the ticket, a breach to the managers.
    Ok(vec![Rule {
        notify: match alert {
            Alert::Warning => "assignee".into(),
            Alert::Breach => "managers".into(),
        },
        escalate_to_team_id: None,
    }])
}

/// The people a rule tells about a ticket.
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
    // Nobody on the team to tell: every active manager hears of it.
    users::table
        .filter(users::role.eq("manager"))
        .filter(users::active.eq(true))
        .select(users::id)
        .load(conn)
}

/// Fires one alert if it is still due and nobody fired it; true when this call fired it.
fn fire(
    conn: &mut DbConnection,
    ticket_id: i64,
    clock: Clock,
    alert: Alert,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
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
    let (team_id, assignee_id, reference, title): (Option<i64>, Option<i64>, String, String) = tickets::table
        .find(ticket_id)
        .select((
            tickets::team_id,
            tickets::assignee_id,
            tickets::reference,
            tickets::title,
        ))
        .first(conn)?;
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
    for rule in rules_for(conn, team_id, clock, alert)? {
        told.extend(recipients(conn, &rule.notify, team_id, assignee_id)?);
        if let Some(to_team) = rule.escalate_to_team_id.filter(|t| Some(*t) != team_id) {
            let input = crate::incidents::service::EscalationInput {
                kind: "functional".into(),
                to_team: Some(to_team),
                reason: format!("SLA {} {}", clock.as_str(), alert.as_str()),
                tried: "automatic escalation by the SLA job".into(),
                ..Default::default()
            };
            crate::incidents::service::escalate(conn, &actor, now, ticket_id, &input)?;
        }
    }
    let kind = format!("sla_{}_{}", clock.as_str(), alert.as_str());
    crate::notifications::notify(
        conn,
        &told,
        Some(ticket_id),
        &kind,
        &format!("{reference} {title}"),
        now,
    )?;
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

/// One pass over every clock and alert kind. Each alert runs in its own transaction.
pub fn run_once(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Run, AppError> {
    let mut run = Run::default();
    for clock in [Clock::Response, Clock::Resolution] {
        for alert in [Alert::Warning, Alert::Breach] {
            for ticket_id in candidates(conn, clock, alert, now)? {
                if write_transaction(conn, |conn| fire(conn, ticket_id, clock, alert, now))? {
                    match alert {
                        Alert::Warning => run.warnings += 1,
                        Alert::Breach => run.breaches += 1,
                    }
                }
            }
        }
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
            let result = pool
                .get()
                .map_err(AppError::from)
                .and_then(|mut conn| run_once(&mut conn, clock.now()));
            match result {
                Ok(run) if run.warnings + run.breaches > 0 => {
                    tracing::info!(warnings = run.warnings, breaches = run.breaches, "SLA job fired alerts")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "SLA job run failed"),
            }
        })
        .expect("spawn the SLA job thread");
}
