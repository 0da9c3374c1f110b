//! SLA use cases: calendars and policies (validated, audited), and each ticket's clocks computed
//! from its history with [`rules::compute`] and stored at every transition.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::json;

use super::holidays;
use diesel::prelude::*;

use super::model::{
    CalendarInput, CalendarRef, CalendarRow, CalendarView, EscalationRule, EscalationRuleInput, Explain, Policy,
    PolicyInput, PolicyRef, SlaBrief, SlaView, TicketSla,
};
use super::queries::{self, PolicyValues};
use super::rules::{self, Calendar, ClockInput, Clocks, Interval, StatusChange, StatusClass, Targets, WeekError};
use super::settings::{self, Settings};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::tickets::model::ClockFacts;
use crate::users::rules::required_text;

/// The longest company closure accepted in one entry (a year-end closure is about a week).
const MAX_CLOSURE_DAYS: i64 = 366;
const KINDS: [&str; 1] = ["incident"];
const PRIORITIES: [&str; 4] = ["P1", "P2", "P3", "P4"];

fn parse_date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

/// A calendar's week from its stored JSON.
fn week_of(row: &CalendarRow) -> [Vec<Interval>; 7] {
    let lists: Vec<Vec<String>> = serde_json::from_str(&row.week).unwrap_or_default();
    std::array::from_fn(|day| {
        lists
            .get(day)
            .map(|list| list.iter().filter_map(|text| Interval::parse(text)).collect())
            .unwrap_or_default()
    })
}

/// What a built calendar depends on: its stored content and the years of holidays computed.
/// Keyed by content rather than id, so an edit (on this instance or another) is a new key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CalendarKey {
    time_zone: String,
    week: String,
    japanese_holidays: bool,
    closures: Vec<(String, String)>,
    years: (i32, i32),
}

/// Built calendars are kept per process: building one computes years of holidays and of
/// working spans, and the content changes only through the admin pages. A handful of entries
/// per calendar at most (one per range of years asked for), cleared when it grows past this.
const BUILT_CALENDARS_KEPT: usize = 64;

static BUILT_CALENDARS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<CalendarKey, Arc<Calendar>>>> =
    std::sync::LazyLock::new(Default::default);

/// The rules' calendar for a stored one and its closures, with the holidays of `years` and its
/// working spans indexed over them (built once per content, then from the process's cache).
pub fn calendar_rules(
    row: &CalendarRow,
    closures: &[super::model::Closure],
    years: std::ops::RangeInclusive<i32>,
) -> Arc<Calendar> {
    let key = CalendarKey {
        time_zone: row.time_zone.clone(),
        week: row.week.clone(),
        japanese_holidays: row.japanese_holidays,
        closures: closures
            .iter()
            .map(|c| (c.starts_on.clone(), c.ends_on.clone()))
            .collect(),
        years: (*years.start(), *years.end()),
    };
    let kept = BUILT_CALENDARS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    if let Some(found) = kept {
        return found;
    }
    let time_zone = row.time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let mut closed = BTreeSet::new();
    if row.japanese_holidays {
        for year in years.clone() {
            closed.extend(holidays::japanese_holidays(year).into_iter().map(|(d, _)| d));
        }
    }
    for closure in closures {
        if let (Some(mut day), Some(last)) = (parse_date(&closure.starts_on), parse_date(&closure.ends_on)) {
            while day <= last {
                closed.insert(day);
                day += Duration::days(1);
            }
        }
    }
    let first = NaiveDate::from_ymd_opt(*years.start(), 1, 1).expect("a calendar year");
    let after = NaiveDate::from_ymd_opt(years.end() + 1, 1, 1).expect("a calendar year");
    let built = Arc::new(Calendar::new(time_zone, week_of(row), closed).with_index(first, after));
    let mut cache = BUILT_CALENDARS.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= BUILT_CALENDARS_KEPT {
        cache.clear();
    }
    cache.insert(key, Arc::clone(&built));
    built
}

/// The years a ticket's clocks need: from the year before it started (a shift begun on New
/// Year's Eve) to two years ahead (due times lie under a year of business time past the last
/// event). At least the last five years, so most tickets share one built calendar.
fn clock_years(started_at: NaiveDateTime, now: NaiveDateTime) -> std::ops::RangeInclusive<i32> {
    (started_at.year() - 1).min(now.year() - 5)..=now.year().max(started_at.year()) + 2
}

fn calendar_of(calendar: CalendarRow, closures: Vec<super::model::Closure>) -> CalendarView {
    let week = week_of(&calendar)
        .iter()
        .map(|day| day.iter().map(Interval::format).collect())
        .collect();
    CalendarView {
        calendar,
        week,
        closures,
    }
}

pub fn calendar_view(conn: &mut DbConnection, id: i64) -> Result<CalendarView, AppError> {
    let calendar = queries::calendar(conn, id)?;
    let closures = queries::closures(conn, id)?;
    Ok(calendar_of(calendar, closures))
}

/// Every calendar with its closures: two queries, whatever the number of calendars.
pub fn calendars(conn: &mut DbConnection) -> Result<Vec<CalendarView>, AppError> {
    let calendars = queries::calendars(conn)?;
    let mut by_calendar: std::collections::HashMap<i64, Vec<super::model::Closure>> = Default::default();
    for closure in queries::all_closures(conn)? {
        by_calendar.entry(closure.calendar_id).or_default().push(closure);
    }
    Ok(calendars
        .into_iter()
        .map(|calendar| {
            let own = by_calendar.remove(&calendar.id).unwrap_or_default();
            calendar_of(calendar, own)
        })
        .collect())
}

/// A checked calendar input: name, zone, week JSON and closures.
struct CheckedCalendar {
    name: String,
    time_zone: String,
    week_json: String,
    closures: Option<Vec<(String, String, String)>>,
}

fn check_calendar(input: &CalendarInput) -> Result<CheckedCalendar, AppError> {
    let mut errors = FieldErrors::new();
    let name = required_text(&input.name, 100).map_err(|e| errors.add("name", e)).ok();
    let time_zone = input.time_zone.trim();
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        errors.add("time_zone", FieldMessage::new("error-timezone-invalid"));
    }
    let mut week: [Vec<Interval>; 7] = Default::default();
    if input.week.len() != 7 {
        errors.add("week", FieldMessage::new("error-week-shape"));
    } else {
        for (day, list) in input.week.iter().enumerate() {
            for text in list {
                match Interval::parse(text) {
                    Some(interval) => week[day].push(interval),
                    None => errors.add(
                        "week",
                        FieldMessage::new("error-interval-invalid").with("day", day as i64 + 1),
                    ),
                }
            }
            week[day].sort();
        }
        if !errors.contains("week") {
            match rules::check_week(&week) {
                Ok(()) => {}
                Err(WeekError::Empty) => errors.add("week", FieldMessage::new("error-week-empty")),
                Err(WeekError::Overlap { weekday }) => errors.add(
                    "week",
                    FieldMessage::new("error-interval-overlap").with("day", weekday as i64 + 1),
                ),
            }
        }
    }
    let closures = input.closures.as_ref().map(|list| {
        let mut checked = Vec::new();
        for closure in list {
            let starts = parse_date(&closure.starts_on);
            let ends = if closure.ends_on.trim().is_empty() {
                starts
            } else {
                parse_date(&closure.ends_on)
            };
            match (starts, ends) {
                (Some(s), Some(e)) if s <= e && (e - s).num_days() < MAX_CLOSURE_DAYS => checked.push((
                    s.format("%Y-%m-%d").to_string(),
                    e.format("%Y-%m-%d").to_string(),
                    closure.name.trim().chars().take(100).collect::<String>(),
                )),
                _ => errors.add("closures", FieldMessage::new("error-closure-invalid")),
            }
        }
        checked
    });
    errors.into_result()?;
    let lists: Vec<Vec<String>> = week.iter().map(|d| d.iter().map(Interval::format).collect()).collect();
    Ok(CheckedCalendar {
        name: name.expect("validated"),
        time_zone: time_zone.to_string(),
        week_json: serde_json::to_string(&lists).expect("json"),
        closures,
    })
}

fn name_taken(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::Validation(FieldErrors::single("name", FieldMessage::new("error-name-taken")))
        }
        other => other.into(),
    }
}

pub fn create_calendar(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: &CalendarInput,
) -> Result<CalendarView, AppError> {
    let checked = check_calendar(input)?;
    let id = write_transaction(conn, |conn| {
        let id = queries::insert_calendar(
            conn,
            &checked.name,
            &checked.time_zone,
            &checked.week_json,
            input.japanese_holidays,
            now,
        )
        .map_err(name_taken)?;
        if let Some(closures) = &checked.closures {
            queries::replace_closures(conn, id, closures)?;
        }
        let after = calendar_view(conn, id)?;
        record(
            conn,
            actor,
            now,
            "calendar.create",
            "calendar",
            id,
            None::<&()>,
            Some(&after),
        )?;
        Ok::<_, AppError>(id)
    })?;
    calendar_view(conn, id)
}

/// Changes a calendar and recomputes the open tickets whose policy uses it.
pub fn update_calendar(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &CalendarInput,
) -> Result<CalendarView, AppError> {
    let checked = check_calendar(input)?;
    write_transaction(conn, |conn| {
        let before = calendar_view(conn, id)?;
        queries::update_calendar(
            conn,
            id,
            &checked.name,
            &checked.time_zone,
            &checked.week_json,
            input.japanese_holidays,
            now,
        )
        .map_err(name_taken)?;
        if let Some(closures) = &checked.closures {
            queries::replace_closures(conn, id, closures)?;
        }
        let after = calendar_view(conn, id)?;
        record(
            conn,
            actor,
            now,
            "calendar.update",
            "calendar",
            id,
            Some(&before),
            Some(&after),
        )?;
        for policy in queries::policies(conn)?.iter().filter(|p| p.calendar_id == id) {
            refresh_open_on_policy(conn, policy.id, now)?;
        }
        Ok::<_, AppError>(())
    })?;
    calendar_view(conn, id)
}

/// Deletes a calendar no policy uses; otherwise a conflict naming the policies.
pub fn delete_calendar(conn: &mut DbConnection, actor: &Actor, now: NaiveDateTime, id: i64) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let before = calendar_view(conn, id)?;
        let users = queries::policies_using(conn, id)?;
        if !users.is_empty() {
            return Err(AppError::Conflict(format!(
                "calendar \"{}\" is used by: {}",
                before.calendar.name,
                users.join(", ")
            )));
        }
        queries::delete_calendar(conn, id)?;
        record(
            conn,
            actor,
            now,
            "calendar.delete",
            "calendar",
            id,
            Some(&before),
            None::<&()>,
        )
    })
}

/// Adds the all-day events of an iCalendar file to a calendar's closures.
pub fn import_ics(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    ics: &str,
) -> Result<CalendarView, AppError> {
    let days = super::ics::all_day_events(ics).map_err(|e| match e {
        super::ics::IcsError::ControlCharacter => crate::web::text::refused("file"),
        _ => AppError::Validation(FieldErrors::single("file", FieldMessage::new("error-ics-invalid"))),
    })?;
    write_transaction(conn, |conn| {
        let before = calendar_view(conn, id)?;
        let mut closures: Vec<(String, String, String)> = before
            .closures
            .iter()
            .map(|c| (c.starts_on.clone(), c.ends_on.clone(), c.name.clone()))
            .collect();
        for (starts, ends, name) in &days {
            let entry = (
                starts.format("%Y-%m-%d").to_string(),
                ends.format("%Y-%m-%d").to_string(),
                name.chars().take(100).collect(),
            );
            if !closures.contains(&entry) {
                closures.push(entry);
            }
        }
        closures.sort();
        queries::replace_closures(conn, id, &closures)?;
        let after = calendar_view(conn, id)?;
        record(
            conn,
            actor,
            now,
            "calendar.import",
            "calendar",
            id,
            Some(&before),
            Some(&json!({ "imported": days.len(), "closures": after.closures })),
        )
    })?;
    calendar_view(conn, id)
}

struct CheckedPolicy {
    name: String,
    priorities: String,
    category: Option<String>,
}

fn check_policy(conn: &mut DbConnection, input: &PolicyInput) -> Result<CheckedPolicy, AppError> {
    let mut errors = FieldErrors::new();
    let name = required_text(&input.name, 100).map_err(|e| errors.add("name", e)).ok();
    let kind = if input.kind.trim().is_empty() {
        "incident"
    } else {
        input.kind.trim()
    };
    if !KINDS.contains(&kind) {
        errors.add("kind", FieldMessage::new("error-kind-invalid"));
    }
    if input.priorities.iter().any(|p| !PRIORITIES.contains(&p.trim())) {
        errors.add("priorities", FieldMessage::new("error-priority-invalid"));
    }
    if input.response_minutes.is_none() && input.resolution_minutes.is_none() {
        errors.add("response_minutes", FieldMessage::new("error-policy-no-targets"));
        errors.add("resolution_minutes", FieldMessage::new("error-policy-no-targets"));
    }
    for (field, value) in [
        ("response_minutes", input.response_minutes),
        ("resolution_minutes", input.resolution_minutes),
    ] {
        if value.is_some_and(|m| !(1..=525_600).contains(&m)) {
            errors.add(field, FieldMessage::new("error-minutes-range"));
        }
    }
    if input.warn_percent.is_some_and(|p| !(1..=99).contains(&p)) {
        errors.add("warn_percent", FieldMessage::new("error-percent-range"));
    }
    match input.calendar_id {
        None => errors.add("calendar_id", FieldMessage::new("error-required")),
        Some(id) => {
            if queries::calendar(conn, id).optional_found()?.is_none() {
                errors.add("calendar_id", FieldMessage::new("error-calendar-unknown"));
            }
        }
    }
    if let Some(team) = input.team_id {
        if crate::teams::queries::find(conn, team).optional_found()?.is_none() {
            errors.add("team_id", FieldMessage::new("error-team-unknown"));
        }
    }
    errors.into_result()?;
    let mut priorities: Vec<&str> = input.priorities.iter().map(|p| p.trim()).collect();
    priorities.sort();
    priorities.dedup();
    Ok(CheckedPolicy {
        name: name.expect("validated"),
        priorities: priorities.join(","),
        category: input
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    })
}

/// `Option` for "not found" on a lookup used in validation.
trait OptionalFound<T> {
    fn optional_found(self) -> Result<Option<T>, AppError>;
}

impl<T> OptionalFound<T> for diesel::QueryResult<T> {
    fn optional_found(self) -> Result<Option<T>, AppError> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(diesel::result::Error::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

fn values<'a>(
    input: &'a PolicyInput,
    checked: &'a CheckedPolicy,
    position: i32,
    now: NaiveDateTime,
) -> PolicyValues<'a> {
    PolicyValues {
        name: &checked.name,
        position,
        active: input.active.unwrap_or(true),
        kind: "incident",
        priorities: &checked.priorities,
        category: checked.category.as_deref(),
        team_id: input.team_id,
        response_minutes: input.response_minutes,
        resolution_minutes: input.resolution_minutes,
        calendar_id: input.calendar_id.expect("validated"),
        warn_percent: input.warn_percent.unwrap_or(75),
        mitigation_stops_resolution: input.mitigation_stops_resolution,
        updated_at: now,
    }
}

pub fn create_policy(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: &PolicyInput,
) -> Result<Policy, AppError> {
    write_transaction(conn, |conn| {
        let checked = check_policy(conn, input)?;
        let position = input.position.unwrap_or_else(|| {
            queries::policies(conn)
                .ok()
                .and_then(|p| p.last().map(|p| p.position + 10))
                .unwrap_or(10)
        });
        let id = queries::insert_policy(conn, &values(input, &checked, position, now), now).map_err(name_taken)?;
        let policy = queries::policy(conn, id)?;
        record(
            conn,
            actor,
            now,
            "sla_policy.create",
            "sla_policy",
            id,
            None::<&()>,
            Some(&policy),
        )?;
        Ok(policy)
    })
}

/// Changes a policy (a switched-off policy stops applying at once) and recomputes the clocks of
/// the open incidents it covered or now covers.
pub fn update_policy(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &PolicyInput,
) -> Result<Policy, AppError> {
    write_transaction(conn, |conn| {
        let before = queries::policy(conn, id)?;
        let checked = check_policy(conn, input)?;
        let position = input.position.unwrap_or(before.position);
        queries::update_policy(conn, id, &values(input, &checked, position, now)).map_err(name_taken)?;
        let after = queries::policy(conn, id)?;
        record(
            conn,
            actor,
            now,
            "sla_policy.update",
            "sla_policy",
            id,
            Some(&before),
            Some(&after),
        )?;
        refresh_open_on_policy(conn, id, now)?;
        Ok(after)
    })
}

pub fn delete_policy(conn: &mut DbConnection, actor: &Actor, now: NaiveDateTime, id: i64) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let before = queries::policy(conn, id)?;
        let covered = queries::open_tickets_on_policy(conn, id)?;
        queries::delete_policy(conn, id)?;
        record(
            conn,
            actor,
            now,
            "sla_policy.delete",
            "sla_policy",
            id,
            Some(&before),
            None::<&()>,
        )?;
        refresh_many(conn, covered, now)
    })
}

/// Recomputes the open tickets a policy covers (after it changed: a switched-off policy stops
/// applying at once, and the next matching one takes over from the same history).
fn refresh_open_on_policy(conn: &mut DbConnection, policy_id: i64, now: NaiveDateTime) -> Result<(), AppError> {
    let tickets = queries::open_tickets_on_policy(conn, policy_id)?;
    refresh_many(conn, tickets, now)
}

/// Tickets recomputed inside the transaction of an admin change (policy, calendar, escalation
/// levels). Beyond this many the change queues them (`sla_recompute_queue`) and the SLA job
/// recomputes them in batches, so the admin request stays short however many tickets a policy
/// covers. Pages and `GET` compute clocks live meanwhile; lists, reports and alerts catch up
/// at the job's next run.
const INLINE_RECOMPUTE: usize = 500;

fn refresh_many(conn: &mut DbConnection, tickets: Vec<i64>, now: NaiveDateTime) -> Result<(), AppError> {
    if tickets.len() <= INLINE_RECOMPUTE {
        for ticket in tickets {
            refresh(conn, ticket, now)?;
        }
        return Ok(());
    }
    for chunk in tickets.chunks(1000) {
        queries::queue_recompute(conn, chunk)?;
    }
    Ok(())
}

/// Recomputes up to `limit` queued tickets in one transaction (the SLA job's first step);
/// returns how many were recomputed and how many failed. Each is claimed by deleting its queue
/// row, so a second instance skips it. Each ticket has its own savepoint: one that fails is
/// logged and stays queued for the next run without undoing the others.
pub fn recompute_queued(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> Result<(usize, usize), AppError> {
    let queued = queries::queued_recomputes(conn, limit)?;
    if queued.is_empty() {
        return Ok((0, 0));
    }
    write_transaction(conn, |conn| {
        let (mut done, mut failed) = (0, 0);
        for ticket in queued {
            let recomputed = write_transaction(conn, |conn| {
                if queries::dequeue_recompute(conn, ticket)? == 0 {
                    return Ok(false);
                }
                refresh(conn, ticket, now)?;
                Ok::<_, AppError>(true)
            });
            match recomputed {
                Ok(true) => done += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(ticket_id = ticket, error = %e, "SLA recompute failed; stays queued");
                    failed += 1;
                }
            }
        }
        Ok((done, failed))
    })
}

/// Everything the clocks of one incident are computed from, and the result.
struct Evaluation {
    policy: Policy,
    calendar: CalendarRow,
    started_at: NaiveDateTime,
    clocks: Clocks,
    /// The team holding the ticket, and the facts the clocks ran over (for the delay levels).
    team_id: Option<i64>,
    rules_calendar: Arc<Calendar>,
    input: ClockInput,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Where the status history the clocks run over comes from.
pub enum History<'a> {
    /// The ticket's state changes and status updates, read from its events.
    Stored,
    /// The ticket's whole timeline, already loaded, oldest first.
    Timeline(&'a [crate::tickets::model::EventView]),
    /// A ticket created in this transaction: nothing has happened to it yet.
    Created,
}

/// Computes a ticket's clocks at `now` from the facts the core holds (read here); `None` when
/// it is deleted or unknown, or no policy applies.
fn evaluate(
    conn: &mut DbConnection,
    settings: &Settings,
    ticket_id: i64,
    now: NaiveDateTime,
) -> Result<Option<Evaluation>, AppError> {
    match crate::tickets::queries::clock_facts(conn, ticket_id)? {
        Some(facts) => evaluate_facts(conn, settings, &facts, History::Stored, now),
        None => Ok(None),
    }
}

/// A calendar and its closures from the settings; from the database when the snapshot lacks
/// it (one taken while an admin was saving, see [`settings::current`]).
fn calendar_parts(
    conn: &mut DbConnection,
    settings: &Settings,
    id: i64,
) -> Result<(CalendarRow, Vec<super::model::Closure>), AppError> {
    match settings.calendar(id) {
        Some(row) => Ok((row.clone(), settings.closures(id).to_vec())),
        None => Ok((queries::calendar(conn, id)?, queries::closures(conn, id)?)),
    }
}

/// [`evaluate`] over facts the caller holds (just written, or loaded with the ticket). The
/// statuses count by the class their kind declares (`tickets::kind`); a kind no module
/// declares has no clocks.
fn evaluate_facts(
    conn: &mut DbConnection,
    settings: &Settings,
    facts: &ClockFacts,
    history: History<'_>,
    now: NaiveDateTime,
) -> Result<Option<Evaluation>, AppError> {
    let Some(spec) = crate::tickets::kind::find_str(&facts.kind) else {
        return Ok(None);
    };
    let Some(policy) = settings
        .policy_for(&facts.kind, &facts.priority, &facts.category, facts.team_id)
        .cloned()
    else {
        return Ok(None);
    };
    let (calendar, closures) = calendar_parts(conn, settings, policy.calendar_id)?;
    let started_at = facts.started_at;
    let rules_calendar = calendar_rules(&calendar, &closures, clock_years(started_at, now));

    let mut changes = Vec::new();
    let mut first_response = facts.first_response_at;
    let mut note = |at: NaiveDateTime, kind: &str, to: Option<&str>| {
        if kind == "status_update" {
            first_response = Some(first_response.map_or(at, |f| f.min(at)));
            return;
        }
        if let Some(to) = to {
            let class = spec.class_of(to);
            if class == StatusClass::Responded {
                first_response = Some(first_response.map_or(at, |f| f.min(at)));
            }
            changes.push(StatusChange { at: utc(at), to: class });
        }
    };
    const KINDS: [&str; 2] = ["state_changed", "status_update"];
    match history {
        History::Stored => {
            for (at, kind, data) in crate::tickets::queries::events_of_kinds(conn, facts.ticket_id, &KINDS)? {
                let data = data.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok());
                note(at, &kind, data.as_ref().and_then(|d| d["to"].as_str()));
            }
        }
        History::Timeline(events) => {
            for event in events.iter().filter(|e| KINDS.contains(&e.kind.as_str())) {
                note(event.at, &event.kind, event.data["to"].as_str());
            }
        }
        History::Created => {}
    }
    let input = ClockInput {
        started_at: utc(started_at),
        first_response_at: first_response.map(utc),
        changes,
    };
    let targets = Targets {
        response_minutes: policy.response_minutes.map(i64::from),
        resolution_minutes: policy.resolution_minutes.map(i64::from),
        mitigation_stops_resolution: policy.mitigation_stops_resolution,
        warn_percent: i64::from(policy.warn_percent),
    };
    let clocks = rules::compute(&rules_calendar, &input, &targets, utc(now));
    Ok(Some(Evaluation {
        policy,
        calendar,
        started_at,
        clocks,
        team_id: facts.team_id,
        rules_calendar,
        input,
    }))
}

fn naive(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(|t| crate::db::truncate(t.naive_utc()))
}

fn figures(ticket_id: i64, e: &Evaluation, now: NaiveDateTime) -> TicketSla {
    let (response, resolution) = (e.clocks.response.as_ref(), e.clocks.resolution.as_ref());
    TicketSla {
        ticket_id,
        policy_id: Some(e.policy.id),
        response_due_at: naive(response.and_then(|c| c.due_at)),
        response_met_at: naive(response.and_then(|c| c.met_at)),
        response_breached: response.is_some_and(|c| c.breached),
        response_elapsed_minutes: response.map_or(0, |c| c.elapsed_minutes),
        resolution_due_at: naive(resolution.and_then(|c| c.due_at)),
        resolution_met_at: naive(resolution.and_then(|c| c.met_at)),
        resolution_breached: resolution.is_some_and(|c| c.breached),
        resolution_elapsed_minutes: resolution.map_or(0, |c| c.elapsed_minutes),
        paused: resolution.is_some_and(|c| c.paused) || response.is_some_and(|c| c.paused && c.met_at.is_none()),
        computed_at: now,
        response_warn_at: naive(response.and_then(|c| c.warn_at)),
        resolution_warn_at: naive(resolution.and_then(|c| c.warn_at)),
        next_escalation_at: None,
    }
}

fn policy_ref(p: &Policy) -> PolicyRef {
    PolicyRef {
        id: p.id,
        name: p.name.clone(),
        warn_percent: p.warn_percent,
        response_minutes: p.response_minutes,
        resolution_minutes: p.resolution_minutes,
        mitigation_stops_resolution: p.mitigation_stops_resolution,
    }
}

/// How the figures read at a glance: breached, met, paused, warning (past the threshold) or ok.
fn level(row: &TicketSla, policy: Option<&Policy>) -> &'static str {
    if row.response_breached || row.resolution_breached {
        return "breached";
    }
    let response_done = row.response_met_at.is_some() || policy.is_some_and(|p| p.response_minutes.is_none());
    let resolution_done = row.resolution_met_at.is_some() || policy.is_some_and(|p| p.resolution_minutes.is_none());
    if response_done && resolution_done {
        return "met";
    }
    if row.paused {
        return "paused";
    }
    let Some(policy) = policy else { return "ok" };
    let past_threshold = |elapsed: i64, target: Option<i32>, done: bool| {
        !done && target.is_some_and(|t| elapsed * 100 >= i64::from(t) * i64::from(policy.warn_percent))
    };
    if past_threshold(row.response_elapsed_minutes, policy.response_minutes, response_done)
        || past_threshold(
            row.resolution_elapsed_minutes,
            policy.resolution_minutes,
            resolution_done,
        )
    {
        "warning"
    } else {
        "ok"
    }
}

fn view_of(row: TicketSla, policy: Option<&Policy>, explain: Option<Explain>) -> SlaView {
    let remaining = |target: Option<i32>, elapsed: i64| target.map(|t| i64::from(t) - elapsed);
    SlaView {
        policy: policy.map(policy_ref),
        business_minutes_elapsed: row.resolution_elapsed_minutes,
        response_remaining_minutes: remaining(policy.and_then(|p| p.response_minutes), row.response_elapsed_minutes),
        resolution_remaining_minutes: remaining(
            policy.and_then(|p| p.resolution_minutes),
            row.resolution_elapsed_minutes,
        ),
        level: level(&row, policy),
        figures: row,
        explain,
    }
}

/// Recomputes and stores a ticket's clocks (inside the caller's transaction) from the facts
/// the core holds; removes them when no policy applies any more (or the ticket is deleted).
pub fn refresh(conn: &mut DbConnection, ticket_id: i64, now: NaiveDateTime) -> Result<Option<TicketSla>, AppError> {
    Ok(refresh_with_levels(conn, ticket_id, now)?.map(|(row, _)| row))
}

/// [`refresh`] over the facts a use case has just written, passed in rather than read back.
pub fn refresh_with(
    conn: &mut DbConnection,
    facts: &ClockFacts,
    now: NaiveDateTime,
) -> Result<Option<TicketSla>, AppError> {
    let settings = settings::current(conn)?;
    let evaluation = evaluate_facts(conn, &settings, facts, History::Stored, now)?;
    Ok(store_evaluation(conn, &settings, facts.ticket_id, evaluation, now)?.map(|(row, _)| row))
}

/// [`refresh`], also returning the delay levels of the ticket's escalation policy that are due
/// now and have not fired, in order (the SLA job fires them).
pub fn refresh_with_levels(
    conn: &mut DbConnection,
    ticket_id: i64,
    now: NaiveDateTime,
) -> Result<Option<(TicketSla, Vec<EscalationRule>)>, AppError> {
    let settings = settings::current(conn)?;
    let evaluation = evaluate(conn, &settings, ticket_id, now)?;
    store_evaluation(conn, &settings, ticket_id, evaluation, now)
}

/// Stores what an evaluation found (and which delay levels are due), or forgets the figures.
fn store_evaluation(
    conn: &mut DbConnection,
    settings: &Settings,
    ticket_id: i64,
    evaluation: Option<Evaluation>,
    now: NaiveDateTime,
) -> Result<Option<(TicketSla, Vec<EscalationRule>)>, AppError> {
    match evaluation {
        Some(evaluation) => {
            let mut row = figures(ticket_id, &evaluation, now);
            let fired = queries::firings(conn, ticket_id)?;
            let (due, next) = delay_levels(settings, &evaluation, &fired, now);
            row.next_escalation_at = next;
            queries::store(conn, &row)?;
            Ok(Some((row, due)))
        }
        None => {
            queries::forget(conn, ticket_id)?;
            Ok(None)
        }
    }
}

/// Whose escalation policy governs a ticket: its team's, except while it sits where a level
/// handed it; then the policy that handed it on keeps escalating it, so a policy's later levels
/// follow its earlier hand-overs. A person moving the ticket elsewhere makes the new team's
/// policy the one.
fn policy_team(team_id: Option<i64>, fired: &[queries::Firing]) -> Option<i64> {
    // `fired` is in firing order; the last hand-over decides.
    match fired.iter().rev().find(|f| f.to_team_id.is_some()) {
        Some(last) if last.to_team_id == team_id => Some(last.policy_team_id),
        _ => team_id,
    }
}

/// The team whose escalation policy governs a ticket held by `team_id` (see [`policy_team`]).
pub fn escalation_policy_team(
    conn: &mut DbConnection,
    ticket_id: i64,
    team_id: Option<i64>,
) -> Result<Option<i64>, AppError> {
    Ok(policy_team(team_id, &queries::firings(conn, ticket_id)?))
}

/// The delay levels of the ticket's policy that are due now (not fired yet, in order), and when
/// the next pending one falls due. Delays are business minutes on the ticket's SLA calendar,
/// counted by the clock of what the level waits for (see [`rules::delay_state`]): they pause on
/// hold, stop once that happened, and a ticket without SLA clocks has none.
fn delay_levels(
    settings: &Settings,
    e: &Evaluation,
    fired: &[queries::Firing],
    now: NaiveDateTime,
) -> (Vec<EscalationRule>, Option<NaiveDateTime>) {
    let Some(team) = e.team_id else {
        return (Vec::new(), None);
    };
    let Some(team) = policy_team(Some(team), fired) else {
        return (Vec::new(), None);
    };
    let mut due = Vec::new();
    let mut next: Option<NaiveDateTime> = None;
    for rule in settings.delay_rules(team) {
        if fired.iter().any(|f| f.rule_id == rule.id) {
            continue;
        }
        let (Some(awaited), Some(delay)) = (rules::Awaited::parse(&rule.kind), rule.delay_minutes) else {
            continue;
        };
        let state = rules::delay_state(
            &e.rules_calendar,
            &e.input,
            e.policy.mitigation_stops_resolution,
            awaited,
            i64::from(delay),
            utc(now),
        );
        // Compared as stored (to the microsecond), so the job's index and this agree.
        let Some(at) = naive(state.due_at).filter(|_| state.running) else {
            continue;
        };
        next = Some(next.map_or(at, |n| n.min(at)));
        if at <= now {
            due.push(rule.clone());
        }
    }
    // While a level is due, `next` is in the past and the job picks the ticket up; once it
    // fired, the next refresh moves `next` on.
    (due, next)
}

/// Computes and stores the clocks of a ticket created in this transaction from the facts its
/// kind just wrote (no history, no levels fired, no stored row yet: nothing to read back).
pub fn start(
    conn: &mut DbConnection,
    settings: &Settings,
    facts: &ClockFacts,
    now: NaiveDateTime,
) -> Result<Option<TicketSla>, AppError> {
    let Some(evaluation) = evaluate_facts(conn, settings, facts, History::Created, now)? else {
        return Ok(None);
    };
    let mut row = figures(facts.ticket_id, &evaluation, now);
    row.next_escalation_at = delay_levels(settings, &evaluation, &[], now).1;
    queries::store_new(conn, &row)?;
    Ok(Some(row))
}

/// The stored figures (as of the last transition or job run).
pub fn stored(conn: &mut DbConnection, ticket_id: i64) -> Result<Option<SlaView>, AppError> {
    let Some(row) = queries::stored(conn, ticket_id)? else {
        return Ok(None);
    };
    let settings = settings::current(conn)?;
    Ok(Some(stored_view(&settings, row)))
}

/// Figures as stored (or just computed), with the policy they were computed under.
pub fn stored_view(settings: &Settings, row: TicketSla) -> SlaView {
    let policy = row.policy_id.and_then(|id| settings.policy(id));
    view_of(row, policy, None)
}

/// The clocks of a loaded ticket right now, with the explanation (policy, calendar, running
/// and paused stretches).
pub fn live(
    conn: &mut DbConnection,
    facts: &ClockFacts,
    history: History<'_>,
    now: NaiveDateTime,
) -> Result<Option<SlaView>, AppError> {
    let ticket_id = facts.ticket_id;
    let settings = settings::current(conn)?;
    let Some(evaluation) = evaluate_facts(conn, &settings, facts, history, now)? else {
        return Ok(None);
    };
    let row = figures(ticket_id, &evaluation, now);
    let explain = Explain {
        calendar: CalendarRef {
            id: evaluation.calendar.id,
            name: evaluation.calendar.name.clone(),
            time_zone: evaluation.calendar.time_zone.clone(),
            japanese_holidays: evaluation.calendar.japanese_holidays,
        },
        started_at: evaluation.started_at,
        response: evaluation.clocks.response.clone(),
        resolution: evaluation.clocks.resolution.clone(),
    };
    Ok(Some(view_of(row, Some(&evaluation.policy), Some(explain))))
}

/// Recomputes every incident's clocks in batches (`mamori sla recompute`); returns how many.
pub fn recompute_all(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut after = 0;
    let mut done = 0;
    loop {
        let ids = queries::incident_ids_after(conn, after, 500)?;
        let Some(last) = ids.last().copied() else { break };
        write_transaction(conn, |conn| {
            for id in &ids {
                refresh(conn, *id, now)?;
            }
            Ok::<_, AppError>(())
        })?;
        done += ids.len();
        after = last;
    }
    Ok(done)
}

/// A team's escalation policy: its levels in order.
pub fn escalation_rules(conn: &mut DbConnection, team_id: i64) -> Result<Vec<EscalationRule>, AppError> {
    crate::teams::queries::find(conn, team_id)?;
    Ok(queries::escalation_rules(conn, team_id)?)
}

const RULE_KINDS: [&str; 4] = ["warning", "breach", "unacknowledged", "unresolved"];
const RULE_NOTIFY: [&str; 3] = ["assignee", "team", "managers"];
/// The longest delay a level may wait: a year of business minutes, like the SLA targets.
const MAX_DELAY_MINUTES: i32 = 525_600;

/// Checks a level for a team; returns its clock (fixed for the delay triggers).
fn check_escalation_rule(
    conn: &mut DbConnection,
    team_id: i64,
    input: &EscalationRuleInput,
) -> Result<&'static str, AppError> {
    let mut errors = FieldErrors::new();
    let kind = input.kind.trim();
    let clock = input.clock.trim();
    let fixed_clock = match rules::Awaited::parse(kind) {
        Some(rules::Awaited::FirstResponse) => Some("response"),
        Some(rules::Awaited::Resolution) => Some("resolution"),
        None => None,
    };
    if !RULE_KINDS.contains(&kind) {
        errors.add("kind", FieldMessage::new("error-rule-kind-invalid"));
    }
    let clock = match (fixed_clock, clock) {
        (Some(fixed), "") => fixed,
        (Some(fixed), given) if given == fixed => fixed,
        (Some(_), _) => {
            errors.add("clock", FieldMessage::new("error-rule-clock-fixed"));
            "response"
        }
        (None, "response") => "response",
        (None, "resolution") => "resolution",
        (None, _) => {
            errors.add("clock", FieldMessage::new("error-rule-clock-invalid"));
            "response"
        }
    };
    match (fixed_clock.is_some(), input.delay_minutes) {
        (true, None) => errors.add("delay_minutes", FieldMessage::new("error-required")),
        (true, Some(m)) if !(1..=MAX_DELAY_MINUTES).contains(&m) => {
            errors.add("delay_minutes", FieldMessage::new("error-minutes-range"))
        }
        (false, Some(_)) if RULE_KINDS.contains(&kind) => {
            errors.add("delay_minutes", FieldMessage::new("error-rule-delay-not-allowed"))
        }
        _ => {}
    }
    if !RULE_NOTIFY.contains(&input.notify.trim()) {
        errors.add("notify", FieldMessage::new("error-rule-notify-invalid"));
    }
    if input
        .to_level
        .is_some_and(|l| !(rules::MIN_LEVEL..=rules::MAX_LEVEL).contains(&l))
    {
        errors.add("to_level", FieldMessage::new("error-rule-level-invalid"));
    }
    if input.position.is_some_and(|p| !(1..=1_000_000).contains(&p)) {
        errors.add("position", FieldMessage::new("error-position-range"));
    }
    crate::teams::queries::find(conn, team_id)?;
    if let Some(to) = input.escalate_to_team_id {
        if to == team_id {
            errors.add("escalate_to_team_id", FieldMessage::new("error-rule-same-team"));
        } else if crate::teams::queries::find(conn, to).optional_found()?.is_none() {
            errors.add("escalate_to_team_id", FieldMessage::new("error-team-unknown"));
        }
    }
    errors.into_result()?;
    Ok(clock)
}

/// Adds a level to a team's escalation policy. A delay level recomputes when the next level is
/// due for the open tickets under the policy, so it applies to them at once.
pub fn create_escalation_rule(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    team_id: i64,
    input: &EscalationRuleInput,
) -> Result<EscalationRule, AppError> {
    write_transaction(conn, |conn| {
        let clock = check_escalation_rule(conn, team_id, input)?;
        let position = match input.position {
            Some(position) => position,
            None => queries::next_rule_position(conn, team_id)?,
        };
        let id = queries::insert_escalation_rule(
            conn,
            &queries::RuleValues {
                team_id,
                position,
                clock,
                kind: input.kind.trim(),
                delay_minutes: input.delay_minutes,
                notify: input.notify.trim(),
                escalate_to_team_id: input.escalate_to_team_id,
                to_level: input.to_level,
                created_at: now,
            },
        )?;
        let rule = queries::escalation_rule(conn, id)?;
        record(
            conn,
            actor,
            now,
            "escalation_rule.create",
            "escalation_rule",
            id,
            None::<&()>,
            Some(&rule),
        )?;
        if rule.is_delay() {
            refresh_under_team_policy(conn, team_id, now)?;
        }
        Ok(rule)
    })
}

/// Removes a level (and the record of where it fired, so tickets it handed on fall under their
/// new team's policy); returns it. The open tickets under the policy are recomputed.
pub fn delete_escalation_rule(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
) -> Result<EscalationRule, AppError> {
    write_transaction(conn, |conn| {
        let before = queries::escalation_rule(conn, id)?;
        // Found before the delete: afterwards the tickets it handed on are no longer linked.
        let governed = if before.is_delay() || before.escalate_to_team_id.is_some() {
            queries::open_tickets_under_team_policy(conn, before.team_id)?
        } else {
            Vec::new()
        };
        queries::delete_escalation_rule(conn, id)?;
        record(
            conn,
            actor,
            now,
            "escalation_rule.delete",
            "escalation_rule",
            id,
            Some(&before),
            None::<&()>,
        )?;
        refresh_many(conn, governed, now)?;
        Ok(before)
    })
}

/// Recomputes the open tickets a team's escalation policy may govern (after its delay levels
/// changed), like a policy change recomputes the tickets it covers.
fn refresh_under_team_policy(conn: &mut DbConnection, team_id: i64, now: NaiveDateTime) -> Result<(), AppError> {
    let tickets = queries::open_tickets_under_team_policy(conn, team_id)?;
    refresh_many(conn, tickets, now)
}

/// The list rows' SLA at `now`: one query for the stored figures of all rows, each calendar
/// built once, remaining business time measured on it (no query per row).
pub fn briefs(
    conn: &mut DbConnection,
    ticket_ids: &[i64],
    now: NaiveDateTime,
) -> Result<std::collections::HashMap<i64, SlaBrief>, AppError> {
    use crate::db::schema::ticket_sla;
    use std::collections::HashMap;
    let rows: Vec<TicketSla> = crate::native!(conn, |c| {
        ticket_sla::table
            .filter(ticket_sla::ticket_id.eq_any(ticket_ids))
            .select(TicketSla::as_select())
            .load(c)
    })?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let settings = settings::current(conn)?;
    let mut calendars: HashMap<i64, Arc<Calendar>> = HashMap::new();
    let mut out = HashMap::new();
    for row in rows {
        let next = if row.response_met_at.is_none() && row.response_due_at.is_some() {
            Some((
                "response",
                row.response_due_at,
                row.response_warn_at,
                row.response_breached,
            ))
        } else if row.resolution_met_at.is_none() && row.resolution_due_at.is_some() {
            Some((
                "resolution",
                row.resolution_due_at,
                row.resolution_warn_at,
                row.resolution_breached,
            ))
        } else {
            None
        };
        let brief = match next {
            None => SlaBrief {
                level: if row.paused { "paused" } else { "met" },
                clock: None,
                due_at: None,
                remaining_minutes: None,
            },
            Some((clock, due, warn, breached)) => {
                let due = due.expect("checked");
                let remaining = match row.policy_id.and_then(|id| settings.policy(id)) {
                    Some(policy) => {
                        let calendar = match calendars.entry(policy.calendar_id) {
                            std::collections::hash_map::Entry::Occupied(found) => found.into_mut(),
                            std::collections::hash_map::Entry::Vacant(slot) => {
                                let (row, closures) = calendar_parts(conn, &settings, policy.calendar_id)?;
                                slot.insert(calendar_rules(&row, &closures, clock_years(now, now)))
                            }
                        };
                        if due >= now {
                            calendar.between(utc(now), utc(due)) / 60
                        } else {
                            -(calendar.between(utc(due), utc(now)) / 60)
                        }
                    }
                    None => (due - now).num_minutes(),
                };
                let level = if breached || due < now {
                    "breached"
                } else if warn.is_some_and(|w| w <= now) {
                    "warning"
                } else {
                    "ok"
                };
                SlaBrief {
                    level,
                    clock: Some(clock),
                    due_at: Some(due),
                    remaining_minutes: Some(remaining),
                }
            }
        };
        out.insert(row.ticket_id, brief);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(rule_id: i64, policy_team_id: i64, to_team_id: Option<i64>) -> queries::Firing {
        queries::Firing {
            rule_id,
            policy_team_id,
            position: 10 * rule_id as i32,
            to_team_id,
            fired_at: NaiveDate::from_ymd_opt(2026, 11, 23)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("time"),
        }
    }

    #[test]
    fn the_policy_that_handed_an_incident_on_keeps_it_while_it_stays_there() {
        let (desk, network, database) = (1, 2, 3);
        // Nothing fired: the team's own policy.
        assert_eq!(policy_team(Some(desk), &[]), Some(desk));
        assert_eq!(policy_team(None, &[]), None);
        // The desk's level handed it to the network team: still the desk's policy there, also
        // after a later level of that policy that only notified.
        let handed = [fired(1, desk, Some(network)), fired(2, desk, None)];
        assert_eq!(policy_team(Some(network), &handed), Some(desk));
        // A person moved it on to the database team: that team's policy from now on.
        assert_eq!(policy_team(Some(database), &handed), Some(database));
        // The last hand-over decides.
        let twice = [fired(1, desk, Some(network)), fired(3, desk, Some(database))];
        assert_eq!(policy_team(Some(database), &twice), Some(desk));
        assert_eq!(policy_team(Some(network), &twice), Some(network));
    }
}
