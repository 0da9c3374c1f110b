//! Problem use cases, one transaction each with timeline event and audit row.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::json;

use super::model::{AnalysisInput, Candidate, ProblemInput, ProblemRow, ProblemView};
use super::queries::{self, ProblemUpdate};
use super::rules::{self, Action, Status};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::incidents::rules::Priority;
use crate::tickets::model::{ClockFacts, Kind, NewFacts, NewTicket};
use crate::tickets::queries as ticket_queries;
use crate::tickets::service::{add_event, allocate_number};
use crate::users::rules::required_text;

const MAX_TEXT: usize = 20_000;

fn text(raw: &str, required: bool) -> Result<String, FieldMessage> {
    let t = raw.trim();
    if required && t.is_empty() {
        Err(FieldMessage::new("error-required"))
    } else if t.chars().count() > MAX_TEXT {
        Err(FieldMessage::new("error-too-long").with("max", MAX_TEXT as i64))
    } else {
        Ok(t.to_string())
    }
}

fn due_date(raw: &str) -> Result<Option<String>, FieldMessage> {
    match raw.trim() {
        "" => Ok(None),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| Some(d.to_string()))
            .map_err(|_| FieldMessage::new("error-date-invalid")),
    }
}

/// Incidents must exist and be incidents.
fn check_incidents(conn: &mut DbConnection, ids: &[i64], errors: &mut FieldErrors) -> Result<(), AppError> {
    for id in ids {
        match crate::incidents::queries::load(conn, *id) {
            Ok(_) => {}
            Err(diesel::result::Error::NotFound) => {
                errors.add("incident_ids", FieldMessage::new("error-incident-unknown"));
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Creates a problem, usually from one or more incidents.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: &ProblemInput,
) -> Result<ProblemView, AppError> {
    let mut errors = FieldErrors::new();
    let title = required_text(&input.title, 200)
        .map_err(|e| errors.add("title", e))
        .ok();
    let description = text(&input.description, false)
        .map_err(|e| errors.add("description", e))
        .ok();
    let priority = match input.priority.trim() {
        "" => Some(Priority::P3),
        p => Priority::parse(p).or_else(|| {
            errors.add("priority", FieldMessage::new("error-priority-invalid"));
            None
        }),
    };
    let fix_due_on = due_date(&input.fix_due_on)
        .map_err(|e| errors.add("fix_due_on", e))
        .ok();
    check_incidents(conn, &input.incident_ids, &mut errors)?;
    errors.into_result()?;
    let (title, description, priority, fix_due_on) = (
        title.expect("valid"),
        description.expect("valid"),
        priority.expect("valid"),
        fix_due_on.expect("valid"),
    );

    let id = write_transaction(conn, |conn| {
        let (number, reference) = allocate_number(conn, Kind::Problem)?;
        let id = ticket_queries::insert(
            conn,
            &NewTicket {
                kind: Kind::Problem.as_str(),
                number,
                reference: &reference,
                title: &title,
                description: &description,
                status: Status::New.as_str(),
                priority: priority.as_str(),
                team_id: input.team_id,
                assignee_id: input.owner_id.or(actor.user_id),
                reporter_id: actor.user_id,
                version: 1,
                created_at: now,
                updated_at: now,
            },
        )?
        .id;
        queries::insert(conn, id, fix_due_on.as_deref())?;
        // A problem's clocks run from its creation; it has no category or service of its own.
        ticket_queries::insert_facts(
            conn,
            &NewFacts {
                ticket_id: id,
                category: "",
                service: "",
                started_at: now,
                first_response_at: None,
            },
        )?;
        add_event(
            conn,
            id,
            now,
            actor.user_id,
            "created",
            "internal",
            "",
            Some(json!({ "incidents": input.incident_ids })),
        )?;
        for incident in &input.incident_ids {
            link_one(conn, actor, now, *incident, id, &reference)?;
        }
        record(
            conn,
            actor,
            now,
            "problem.create",
            "problem",
            id,
            None::<&()>,
            Some(&json!({ "number": reference, "incidents": input.incident_ids })),
        )?;
        Ok::<_, AppError>(id)
    })?;
    get(conn, id)
}

/// The facts a problem's SLA clocks run on: from its creation, no category or service (what
/// `create` writes to `ticket_facts`).
fn clock_facts(ticket: &crate::tickets::model::Ticket) -> ClockFacts {
    ClockFacts {
        ticket_id: ticket.id,
        kind: ticket.kind.clone(),
        priority: ticket.priority.clone(),
        team_id: ticket.team_id,
        category: String::new(),
        service: String::new(),
        started_at: ticket.created_at,
        first_response_at: None,
    }
}

fn link_one(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    incident: i64,
    problem: i64,
    reference: &str,
) -> Result<(), AppError> {
    if ticket_queries::link(conn, incident, problem, "problem", actor.user_id, now)? {
        add_event(
            conn,
            incident,
            now,
            actor.user_id,
            "linked",
            "internal",
            "",
            Some(json!({ "problem": reference, "problem_id": problem })),
        )?;
        // Activity on the incident ("recently updated"), not an edit: the version stays.
        ticket_queries::touch(conn, incident, now)?;
    }
    Ok(())
}

/// Links more incidents to a problem.
pub fn link_incidents(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    incident_ids: &[i64],
) -> Result<ProblemView, AppError> {
    let mut errors = FieldErrors::new();
    if incident_ids.is_empty() {
        errors.add("incident_ids", FieldMessage::new("error-required"));
    }
    check_incidents(conn, incident_ids, &mut errors)?;
    errors.into_result()?;
    write_transaction(conn, |conn| {
        let (ticket, _) = queries::load(conn, id)?;
        for incident in incident_ids {
            link_one(conn, actor, now, *incident, id, &ticket.reference)?;
        }
        record(
            conn,
            actor,
            now,
            "problem.link_incidents",
            "problem",
            id,
            None::<&()>,
            Some(&json!({ "incidents": incident_ids })),
        )
    })?;
    get(conn, id)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<ProblemView, AppError> {
    let (ticket, problem) = queries::load(conn, id)?;
    let (_, owner) = crate::incidents::queries::names(conn, None, ticket.assignee_id)?;
    let status = Status::parse(&ticket.status).unwrap_or(Status::New);
    Ok(ProblemView {
        id: ticket.id,
        number: ticket.reference,
        title: ticket.title,
        description: ticket.description,
        status: ticket.status,
        priority: ticket.priority,
        team_id: ticket.team_id,
        owner_id: ticket.assignee_id,
        owner,
        version: ticket.version,
        created_at: ticket.created_at,
        updated_at: ticket.updated_at,
        problem,
        incidents: ticket_queries::linked_from(conn, id, "problem")?,
        allowed_actions: rules::allowed_actions(status).into_iter().map(Action::as_str).collect(),
        timeline: ticket_queries::timeline(conn, id)?,
    })
}

pub fn list(
    conn: &mut DbConnection,
    open_only: bool,
    include_archived: bool,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<ProblemRow>, Option<i64>), AppError> {
    let limit = limit.clamp(1, 100);
    let mut rows = queries::list(conn, open_only, include_archived, before, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// The incident list showing exactly what a candidate counts: every state, `key` = `value`,
/// reported from `first_day`, not covered by a problem. Encoded.
fn list_query(key: &str, value: &str, first_day: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("view", "all")
        .append_pair(key, value)
        .append_pair("from", first_day)
        .append_pair("without_problem", "true")
        .finish()
}

/// Categories and services with 3+ incidents in the last 30 days that no problem covers yet
/// (incidents linked to a problem that is not deleted do not count): the list suggests where
/// to open a problem, so a family already under investigation drops off it, and comes back
/// only if enough new incidents arrive that nobody has linked. The 30 days are whole days in
/// the viewer's zone `tz` (from midnight 30 days before today), so the incident list a
/// candidate links to, which filters by day, holds the same incidents as its count.
pub fn candidates(conn: &mut DbConnection, now: NaiveDateTime, tz: &str) -> Result<Vec<Candidate>, AppError> {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let today = chrono::TimeZone::from_utc_datetime(&zone, &now).date_naive();
    let first_day = (today - Duration::days(rules::CANDIDATE_WINDOW_DAYS))
        .format("%Y-%m-%d")
        .to_string();
    let since = crate::incidents::service::day_start(&first_day, tz, "from")?;
    let mut out: Vec<Candidate> = queries::busy_categories(conn, since, rules::CANDIDATE_MIN_INCIDENTS)?
        .into_iter()
        .map(|(value, incidents)| Candidate {
            dimension: "category",
            list_query: list_query("category", &value, &first_day),
            value,
            incidents,
        })
        .collect();
    out.extend(
        queries::busy_services(conn, since, rules::CANDIDATE_MIN_INCIDENTS)?
            .into_iter()
            .map(|(value, incidents)| Candidate {
                dimension: "service",
                list_query: list_query("service", &value, &first_day),
                value,
                incidents,
            }),
    );
    Ok(out)
}

/// Records the root-cause analysis; with `action` = KnownError it also moves the problem to
/// known error, which needs a root cause and a workaround.
pub fn transition(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    action: Action,
    input: &AnalysisInput,
    resolution: &str,
) -> Result<ProblemView, AppError> {
    let mut errors = FieldErrors::new();
    let known = action == Action::KnownError;
    let root_cause = text(&input.root_cause, known)
        .map_err(|e| errors.add("root_cause", e))
        .ok();
    let workaround = text(&input.workaround, known)
        .map_err(|e| errors.add("workaround", e))
        .ok();
    let factors = text(&input.contributing_factors, false)
        .map_err(|e| errors.add("contributing_factors", e))
        .ok();
    let whys = text(&input.five_whys, false)
        .map_err(|e| errors.add("five_whys", e))
        .ok();
    let due = due_date(&input.fix_due_on)
        .map_err(|e| errors.add("fix_due_on", e))
        .ok();
    let resolution = if action == Action::Resolve {
        text(resolution, true).map_err(|e| errors.add("resolution", e)).ok()
    } else {
        None
    };
    errors.into_result()?;

    write_transaction(conn, |conn| {
        let (ticket, problem) = queries::load(conn, id)?;
        crate::tickets::service::check_version(&ticket, input.version)?;
        let from = Status::parse(&ticket.status).unwrap_or(Status::New);
        let to = rules::next_status(from, action).ok_or_else(|| {
            let allowed: Vec<&str> = rules::allowed_actions(from).into_iter().map(Action::as_str).collect();
            AppError::Conflict(format!(
                "cannot {} a problem that is {}; allowed: {}",
                action.as_str(),
                from.as_str(),
                allowed.join(", ")
            ))
        })?;
        let keep =
            |new: &Option<String>, old: &str| new.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| old.to_string());
        let (rc, wa, cf, fw) = (
            keep(&root_cause, &problem.root_cause),
            keep(&workaround, &problem.workaround),
            keep(&factors, &problem.contributing_factors),
            keep(&whys, &problem.five_whys),
        );
        let mut texts = crate::incidents::rules::TextChanges::default();
        texts.compare("root_cause", &problem.root_cause, Some(&rc));
        texts.compare("workaround", &problem.workaround, Some(&wa));
        texts.compare("contributing_factors", &problem.contributing_factors, Some(&cf));
        texts.compare("five_whys", &problem.five_whys, Some(&fw));
        let mut before = json!({ "status": from.as_str() });
        let mut after = json!({ "status": to.as_str(), "root_cause": rc, "workaround": wa });
        texts.add_to(&mut before, &mut after);
        crate::tickets::service::change_state(
            conn,
            actor,
            now,
            &ticket,
            input.version,
            crate::tickets::service::StateChange {
                action: action.as_str(),
                to: to.as_str(),
                body: resolution.as_deref().unwrap_or(&rc),
                data: serde_json::Map::new(),
                before,
                after,
            },
            |conn| {
                queries::update(
                    conn,
                    id,
                    &ProblemUpdate {
                        root_cause: Some(&rc),
                        workaround: Some(&wa),
                        contributing_factors: Some(&cf),
                        five_whys: Some(&fw),
                        resolution: resolution.as_deref(),
                        fix_due_on: due.as_ref().and_then(|d| d.as_deref()).map(Some),
                        known_error_at: (to == Status::KnownError && problem.known_error_at.is_none())
                            .then_some(Some(now)),
                        resolved_at: match to {
                            Status::Resolved => Some(Some(now)),
                            Status::Investigating => Some(None),
                            _ => None,
                        },
                    },
                )?;
                Ok(clock_facts(&ticket))
            },
        )?;
        if !texts.is_empty() {
            add_event(
                conn,
                id,
                now,
                actor.user_id,
                "edited",
                "internal",
                "",
                Some(texts.event_data()),
            )?;
        }
        Ok::<_, AppError>(())
    })?;
    get(conn, id)
}
