//! Incident use cases. One transaction each; the timeline event and the audit row are written
//! inside it. The same functions serve pages and the API.

use chrono::{Duration, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::model::{IncidentFilter, IncidentInput, IncidentRow, IncidentView, Loaded, NewIncident};
use super::queries::{self, IncidentUpdate, ListScope};
use super::rules::{self, Action, CloseBlocker, Level, Priority, Status};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::auth::permissions::Role;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::tickets::model::{ClockFacts, Kind, NewFacts, NewTicket};
use crate::tickets::queries::{self as ticket_queries, TicketUpdate};
use crate::tickets::service::{add_event, allocate_number, stale};
use crate::tickets::work::check_people;
pub use crate::tickets::work::{AssignInput, CommentInput};
use crate::users::rules::required_text;

pub const MAX_TITLE: usize = 200;
pub const MAX_TEXT: usize = 20_000;
pub const MAX_SHORT: usize = 200;
pub const PAGE_LIMIT: i64 = 100;

pub const CHANNELS: [&str; 5] = ["phone", "mail", "web", "monitoring", "api"];
/// Status-update states (一次連絡 and later), each with ja/en labels in the message files.
pub const UPDATE_STATES: [&str; 5] = ["confirming", "investigating", "identified", "monitoring", "recovered"];

fn optional_text(raw: &str, max: usize) -> Result<String, FieldMessage> {
    let text = raw.trim();
    if text.chars().count() > max {
        Err(FieldMessage::new("error-too-long").with("max", max as i64))
    } else {
        Ok(text.to_string())
    }
}

fn long_text(raw: &str) -> Result<String, FieldMessage> {
    let text = raw.trim();
    if text.is_empty() {
        Err(FieldMessage::new("error-required"))
    } else if text.chars().count() > MAX_TEXT {
        Err(FieldMessage::new("error-too-long").with("max", MAX_TEXT as i64))
    } else {
        Ok(text.to_string())
    }
}

/// Parses a reported time: RFC 3339, or a `datetime-local` value in the user's zone.
pub fn parse_reported_at(raw: &str, tz: &str, now: NaiveDateTime) -> Result<NaiveDateTime, FieldMessage> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(now);
    }
    let at = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        t.naive_utc()
    } else {
        let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| FieldMessage::new("error-datetime-invalid"))?;
        let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Tokyo);
        zone.from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| FieldMessage::new("error-datetime-invalid"))?
            .naive_utc()
    };
    // A minute of clock skew between the caller and us is not "the future".
    if at > now + Duration::minutes(1) {
        return Err(FieldMessage::new("error-reported-in-future"));
    }
    Ok(crate::db::truncate(at))
}

/// The one permission check of the people fields (`rules::PEOPLE_FIELDS`), made by every
/// handler that takes them: a role that may not set a field it sent is refused, as the route
/// that sets only that field would refuse it.
pub fn check_people_fields(role: Role, sets_team: bool, sets_assignee: bool) -> Result<(), AppError> {
    match rules::refused_people_field(role, sets_team, sets_assignee) {
        Some(_) => Err(AppError::Forbidden),
        None => Ok(()),
    }
}

/// A compact snapshot for the audit log.
#[derive(Serialize)]
struct Snapshot<'a> {
    number: &'a str,
    status: &'a str,
    priority: &'a str,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
    escalation_level: i32,
    version: i32,
}

fn snapshot((ticket, incident): &Loaded) -> serde_json::Value {
    serde_json::to_value(Snapshot {
        number: &ticket.reference,
        status: &ticket.status,
        priority: &ticket.priority,
        team_id: ticket.team_id,
        assignee_id: ticket.assignee_id,
        escalation_level: incident.escalation_level,
        version: ticket.version,
    })
    .unwrap_or_default()
}

/// Creates an incident: number, ticket row, incident row, "created" event, audit row.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    tz: &str,
    input: &IncidentInput,
) -> Result<IncidentView, AppError> {
    let mut errors = FieldErrors::new();
    let title = required_text(&input.title, MAX_TITLE)
        .map_err(|e| errors.add("title", e))
        .ok();
    let description = optional_text(&input.description, MAX_TEXT)
        .map_err(|e| errors.add("description", e))
        .ok();
    let impact = Level::parse(&input.impact)
        .ok_or(())
        .map_err(|_| errors.add("impact", FieldMessage::new("error-level-invalid")))
        .ok();
    let urgency = Level::parse(&input.urgency)
        .ok_or(())
        .map_err(|_| errors.add("urgency", FieldMessage::new("error-level-invalid")))
        .ok();
    let channel = if input.channel.trim().is_empty() {
        "web".to_string()
    } else {
        input.channel.trim().to_string()
    };
    if !CHANNELS.contains(&channel.as_str()) {
        errors.add("channel", FieldMessage::new("error-channel-invalid"));
    }
    let category = optional_text(&input.category, MAX_SHORT)
        .map_err(|e| errors.add("category", e))
        .ok();
    let service = optional_text(&input.service, MAX_SHORT)
        .map_err(|e| errors.add("service", e))
        .ok();
    let reported_at = parse_reported_at(&input.reported_at, tz, now)
        .map_err(|e| errors.add("reported_at", e))
        .ok();
    let names = check_people(conn, input.team_id, input.assignee_id, &mut errors)?;
    errors.into_result()?;
    let (title, description, impact, urgency, category, service, reported_at) = (
        title.expect("validated"),
        description.expect("validated"),
        impact.expect("validated"),
        urgency.expect("validated"),
        category.expect("validated"),
        service.expect("validated"),
        reported_at.expect("validated"),
    );
    let priority = rules::priority(impact, urgency);

    // Read before the transaction: on SQLite the writer lock is held for less time.
    let settings = crate::sla::settings::current(conn)?;
    let (loaded, sla) = write_transaction(conn, |conn| {
        let (number, reference) = allocate_number(conn, Kind::Incident)?;
        let ticket = ticket_queries::insert(
            conn,
            &NewTicket {
                kind: Kind::Incident.as_str(),
                number,
                reference: &reference,
                title: &title,
                description: &description,
                status: Status::New.as_str(),
                priority: priority.as_str(),
                team_id: input.team_id,
                assignee_id: input.assignee_id,
                reporter_id: actor.user_id,
                version: 1,
                created_at: now,
                updated_at: now,
            },
        )?;
        let id = ticket.id;
        let incident = queries::insert(
            conn,
            &NewIncident {
                ticket_id: id,
                impact: impact.as_str(),
                urgency: urgency.as_str(),
                channel: &channel,
                category: &category,
                service: &service,
                reported_at,
                escalation_level: rules::MIN_LEVEL,
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
            Some(
                json!({ "priority": priority.as_str(), "impact": impact.as_str(), "urgency": urgency.as_str(), "channel": channel }),
            ),
        )?;
        ticket_queries::insert_facts(
            conn,
            &NewFacts {
                ticket_id: id,
                category: &category,
                service: &service,
                started_at: reported_at,
                first_response_at: None,
            },
        )?;
        let loaded = (ticket, incident);
        record(
            conn,
            actor,
            now,
            "incident.create",
            "incident",
            id,
            None::<&()>,
            Some(&snapshot(&loaded)),
        )?;
        // The SLA clocks are stored at every transition, in the same transaction.
        let sla = crate::sla::service::start(conn, &settings, &clock_facts(&loaded), now)?;
        Ok::<_, AppError>((loaded, sla))
    })?;
    // Everything shown is what was just written: nothing to read back.
    let mut view = view_of_loaded(loaded, names, Vec::new(), None);
    view.sla = sla.map(|row| crate::sla::service::stored_view(&settings, row));
    Ok(view)
}

/// The facts the SLA clocks run on, as an incident holds them (the same values its use cases
/// write to `ticket_facts`).
fn clock_facts((ticket, incident): &super::model::Loaded) -> ClockFacts {
    ClockFacts {
        ticket_id: ticket.id,
        kind: ticket.kind.clone(),
        priority: ticket.priority.clone(),
        team_id: ticket.team_id,
        category: incident.category.clone(),
        service: incident.service.clone(),
        started_at: incident.reported_at,
        first_response_at: incident.acknowledged_at,
    }
}

/// One incident with its stored SLA figures, optionally with its timeline.
pub fn get(conn: &mut DbConnection, id: i64, with_timeline: bool) -> Result<IncidentView, AppError> {
    let (loaded, team, assignee) = queries::load_named(conn, id)?;
    let timeline = if with_timeline {
        Some(ticket_queries::timeline(conn, id)?)
    } else {
        None
    };
    let problems = ticket_queries::linked_to(conn, id, "problem")?;
    let mut view = view_of_loaded(loaded, (team, assignee), problems, timeline);
    view.sla = crate::sla::service::stored(conn, id)?;
    Ok(view)
}

/// The view of a loaded incident and what it is shown with; the SLA object is filled by the
/// caller (stored, live or just computed).
fn view_of_loaded(
    (ticket, incident): super::model::Loaded,
    (team, assignee): (Option<String>, Option<String>),
    problems: Vec<ticket_queries::LinkedTicket>,
    timeline: Option<Vec<crate::tickets::model::EventView>>,
) -> IncidentView {
    let status = Status::parse(&ticket.status).unwrap_or(Status::New);
    let similar = None;
    IncidentView {
        problems,
        similar,
        id: ticket.id,
        number: ticket.reference,
        title: ticket.title,
        description: ticket.description,
        major: Priority::parse(&ticket.priority).is_some_and(Priority::is_major),
        status: ticket.status,
        priority: ticket.priority,
        team_id: ticket.team_id,
        team,
        assignee_id: ticket.assignee_id,
        assignee,
        reporter_id: ticket.reporter_id,
        version: ticket.version,
        created_at: ticket.created_at,
        updated_at: ticket.updated_at,
        closed_at: ticket.closed_at,
        incident,
        allowed_actions: rules::allowed_actions(status).into_iter().map(Action::as_str).collect(),
        sla: None,
        timeline,
    }
}

/// The incident with its SLA clocks as they stand at `now` (and how they got there), and for
/// the page the similar past incidents (a bounded search, so it stays off write responses).
pub fn get_live(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
    with_similar: bool,
) -> Result<IncidentView, AppError> {
    // Loaded once for both the view and the live clocks, which run over the timeline shown
    // unless it was cut at its bound.
    let (loaded, team, assignee) = queries::load_named(conn, id)?;
    let timeline = ticket_queries::timeline(conn, id)?;
    let history = if timeline.len() < ticket_queries::TIMELINE_LIMIT {
        crate::sla::service::History::Timeline(&timeline)
    } else {
        crate::sla::service::History::Stored
    };
    let sla = crate::sla::service::live(conn, &clock_facts(&loaded), history, now)?;
    let problems = ticket_queries::linked_to(conn, id, "problem")?;
    let mut view = view_of_loaded(loaded, (team, assignee), problems, Some(timeline));
    view.sla = sla;
    if with_similar {
        let found = queries::similar(
            conn,
            id,
            &view.title,
            &view.incident.category,
            &view.incident.service,
            5,
        )?;
        view.similar = Some(
            found
                .into_iter()
                .map(
                    |(ticket, same_category_or_service, similar_text)| super::model::Similar {
                        ticket,
                        same_category_or_service,
                        similar_text,
                    },
                )
                .collect(),
        );
    }
    Ok(view)
}

/// Midnight (start of `day`) in zone `tz`, as UTC; a bad date is an error on `field`.
pub fn day_start(day: &str, tz: &str, field: &'static str) -> Result<NaiveDateTime, AppError> {
    let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::Validation(FieldErrors::single(field, FieldMessage::new("error-date-invalid"))))?;
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let local = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    Ok(zone
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(local))
}

/// A list row with the SLA clock that matters now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListItem {
    #[serde(flatten)]
    pub row: IncidentRow,
    pub sla: Option<crate::sla::model::SlaBrief>,
}

/// A page of incidents for `user_id`'s view with their time to breach at `now`, and the
/// cursor of the next page.
pub fn list(
    conn: &mut DbConnection,
    user_id: i64,
    tz: &str,
    filter: &IncidentFilter,
    limit: i64,
    now: NaiveDateTime,
) -> Result<(Vec<ListItem>, Option<i64>), AppError> {
    let (rows, next) = list_rows(conn, user_id, tz, filter, limit.clamp(1, PAGE_LIMIT))?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut briefs = crate::sla::service::briefs(conn, &ids, now)?;
    let items = rows
        .into_iter()
        .map(|row| ListItem {
            sla: briefs.remove(&row.id),
            row,
        })
        .collect();
    Ok((items, next))
}

/// The most rows one CSV export carries.
pub const EXPORT_LIMIT: usize = 50_000;

/// Every row of a filtered list for CSV, newest first, at most `EXPORT_LIMIT`, read in pages.
pub fn export(
    conn: &mut DbConnection,
    user_id: i64,
    tz: &str,
    filter: &IncidentFilter,
) -> Result<Vec<IncidentRow>, AppError> {
    let mut all = Vec::new();
    let mut filter = filter.clone();
    // Every match, not the best of a window: a search exports newest first.
    if filter.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        filter.sort = Some(queries::ListSort::Newest.as_str().into());
    }
    loop {
        let (rows, next) = list_rows(conn, user_id, tz, &filter, 1000)?;
        all.extend(rows);
        match next {
            Some(before) if all.len() < EXPORT_LIMIT => filter.before = Some(before),
            _ => break,
        }
    }
    all.truncate(EXPORT_LIMIT);
    Ok(all)
}

/// The order a list takes. A text search lists its hits newest first (recent recurrences are
/// what an operator looks for first, and it is the order the indexes serve cheaply), or best
/// match first when asked (`relevance`, for 3+ characters, which the trigram indexes serve);
/// the other orders don't apply to a search. Without a search, relevance is newest first.
pub fn effective_sort(q: Option<&str>, asked: Option<queries::ListSort>) -> queries::ListSort {
    use queries::ListSort::{Newest, Relevance};
    let q = q.map(str::trim).unwrap_or("");
    match (q.is_empty(), asked) {
        (true, Some(Relevance) | None) => Newest,
        (true, Some(sort)) => sort,
        (false, Some(Relevance)) if ticket_queries::can_rank_by_relevance(q) => Relevance,
        (false, _) => Newest,
    }
}

fn list_rows(
    conn: &mut DbConnection,
    user_id: i64,
    tz: &str,
    filter: &IncidentFilter,
    limit: i64,
) -> Result<(Vec<IncidentRow>, Option<i64>), AppError> {
    let open: Vec<Status> = Status::OPEN.to_vec();
    let mut scope = ListScope::default();
    match filter.view.as_deref().unwrap_or("open") {
        "mine" => {
            scope.assignee_id = Some(user_id);
            scope.statuses = Some(open.clone());
        }
        "team" => {
            scope.team_ids = Some(crate::users::queries::team_ids(conn, user_id)?);
            scope.statuses = Some(open.clone());
        }
        "unassigned" => {
            scope.unassigned = true;
            scope.statuses = Some(open.clone());
        }
        "major" => {
            scope.priority = Some(Priority::P1);
            scope.statuses = Some(open.clone());
        }
        "all" => {}
        "open" | "" => scope.statuses = Some(open.clone()),
        _ => {
            return Err(AppError::Validation(FieldErrors::single(
                "view",
                FieldMessage::new("error-view-invalid"),
            )))
        }
    }
    if let Some(status) = filter.status.as_deref().filter(|s| !s.is_empty()) {
        let status = Status::parse(status).ok_or_else(|| {
            AppError::Validation(FieldErrors::single("status", FieldMessage::new("error-status-invalid")))
        })?;
        scope.statuses = Some(vec![status]);
    }
    if let Some(priority) = filter.priority.as_deref().filter(|s| !s.is_empty()) {
        let priority = Priority::parse(priority).ok_or_else(|| {
            AppError::Validation(FieldErrors::single(
                "priority",
                FieldMessage::new("error-priority-invalid"),
            ))
        })?;
        scope.priority = Some(priority);
    }
    if let Some(team) = filter.team_id {
        scope.team_ids = Some(vec![team]);
    }
    if let Some(assignee) = filter.assignee_id {
        scope.assignee_id = Some(assignee);
    }
    if let Some(from) = filter.from.as_deref().filter(|d| !d.trim().is_empty()) {
        scope.reported_from = Some(day_start(from, tz, "from")?);
    }
    if let Some(to) = filter.to.as_deref().filter(|d| !d.trim().is_empty()) {
        scope.reported_before = Some(day_start(to, tz, "to")? + Duration::days(1));
    }
    if crate::tickets::queries::include_archived(filter.archived.as_deref()).is_none() {
        return Err(AppError::Validation(FieldErrors::single(
            "archived",
            FieldMessage::new("archived-error-invalid"),
        )));
    }
    let asked = match filter.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(queries::ListSort::parse(text).ok_or_else(|| {
            AppError::Validation(FieldErrors::single("sort", FieldMessage::new("error-sort-invalid")))
        })?),
    };
    scope.sort = effective_sort(filter.q.as_deref(), asked);
    scope.cursor = match (filter.before, scope.sort) {
        (None, _) => None,
        // Id orders need only the id (any id is a valid position).
        (Some(id), queries::ListSort::Newest | queries::ListSort::Oldest | queries::ListSort::Relevance) => {
            Some(queries::Cursor {
                id,
                priority: String::new(),
                updated_at: NaiveDateTime::default(),
            })
        }
        (Some(id), _) => queries::cursor(conn, id)?,
    };
    let mut rows = queries::list(conn, filter, &scope, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// Extra input some transitions need.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TransitionInput {
    /// Expected version (optimistic locking); `None` = the current one.
    pub version: Option<i32>,
    /// Why the incident waits (hold).
    #[schema(example = "ベンダーの回答待ち")]
    pub reason: String,
    /// The workaround that restored service (mitigate).
    pub workaround: String,
    /// What fixed it (resolve).
    pub resolution: String,
    /// `permanent` (default) or `workaround`: resolved by a lasting fix or only worked around.
    pub resolution_kind: String,
}

/// Loads under the write transaction and checks the expected version.
fn load_for_change(conn: &mut DbConnection, id: i64, expected: Option<i32>) -> Result<Loaded, AppError> {
    let loaded = queries::load(conn, id)?;
    if expected.is_some_and(|v| v != loaded.0.version) {
        return Err(stale());
    }
    Ok(loaded)
}

fn bump(
    conn: &mut DbConnection,
    loaded: &Loaded,
    changes: &TicketUpdate<'_>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if !ticket_queries::update_versioned(conn, loaded.0.id, loaded.0.version, changes, now)? {
        return Err(stale());
    }
    Ok(())
}

fn not_allowed(from: Status, action: Action) -> AppError {
    let allowed: Vec<&str> = rules::allowed_actions(from).into_iter().map(Action::as_str).collect();
    AppError::Conflict(format!(
        "cannot {} an incident that is {}; allowed: {}",
        action.as_str(),
        from.as_str(),
        if allowed.is_empty() {
            "none".to_string()
        } else {
            allowed.join(", ")
        }
    ))
}

/// What can be corrected on an incident after filing: all optional, `version` required.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EditInput {
    pub version: Option<i32>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub impact: Option<String>,
    pub urgency: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

/// Corrects an incident's text, classification or impact/urgency. A new priority from the
/// matrix is recorded on the timeline and the SLA clocks are recomputed from the same history
/// with the policy of the new priority (pauses kept).
pub fn edit(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &EditInput,
) -> Result<IncidentView, AppError> {
    let mut errors = FieldErrors::new();
    if input.version.is_none() {
        errors.add("version", FieldMessage::new("error-required"));
    }
    let title = input
        .title
        .as_deref()
        .map(|t| required_text(t, MAX_TITLE).map_err(|e| errors.add("title", e)).ok());
    let description = input.description.as_deref().map(|t| {
        optional_text(t, MAX_TEXT)
            .map_err(|e| errors.add("description", e))
            .ok()
    });
    let level = |raw: &Option<String>, field: &'static str, errors: &mut FieldErrors| {
        raw.as_deref().map(|r| {
            Level::parse(r).or_else(|| {
                errors.add(field, FieldMessage::new("error-level-invalid"));
                None
            })
        })
    };
    let impact = level(&input.impact, "impact", &mut errors);
    let urgency = level(&input.urgency, "urgency", &mut errors);
    let category = input
        .category
        .as_deref()
        .map(|t| optional_text(t, MAX_SHORT).map_err(|e| errors.add("category", e)).ok());
    let service = input
        .service
        .as_deref()
        .map(|t| optional_text(t, MAX_SHORT).map_err(|e| errors.add("service", e)).ok());
    errors.into_result()?;
    let (title, description, category, service) = (
        title.flatten(),
        description.flatten(),
        category.flatten(),
        service.flatten(),
    );

    write_transaction(conn, |conn| {
        let loaded = load_for_change(conn, id, input.version)?;
        let mut before = snapshot(&loaded);
        let mut texts = rules::TextChanges::default();
        texts.compare("title", &loaded.0.title, title.as_deref());
        texts.compare("description", &loaded.0.description, description.as_deref());
        texts.compare("category", &loaded.1.category, category.as_deref());
        texts.compare("service", &loaded.1.service, service.as_deref());
        let impact = impact
            .flatten()
            .or_else(|| Level::parse(&loaded.1.impact))
            .unwrap_or(Level::Low);
        let urgency = urgency
            .flatten()
            .or_else(|| Level::parse(&loaded.1.urgency))
            .unwrap_or(Level::Low);
        let priority = rules::priority(impact, urgency);
        let changed_priority = priority.as_str() != loaded.0.priority;
        bump(
            conn,
            &loaded,
            &TicketUpdate {
                title: title.as_deref(),
                description: description.as_deref(),
                priority: Some(priority.as_str()),
                ..Default::default()
            },
            now,
        )?;
        queries::update(
            conn,
            id,
            &IncidentUpdate {
                impact: Some(impact.as_str()),
                urgency: Some(urgency.as_str()),
                category: category.as_deref(),
                service: service.as_deref(),
                ..Default::default()
            },
        )?;
        if category.is_some() || service.is_some() {
            ticket_queries::update_facts(
                conn,
                id,
                category.as_deref().unwrap_or(&loaded.1.category),
                service.as_deref().unwrap_or(&loaded.1.service),
                loaded.1.reported_at,
            )?;
        }
        if changed_priority {
            add_event(
                conn,
                id,
                now,
                actor.user_id,
                "priority_changed",
                "internal",
                "",
                Some(json!({ "from": loaded.0.priority, "to": priority.as_str() })),
            )?;
        }
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
        let mut after = snapshot(&queries::load(conn, id)?);
        texts.add_to(&mut before, &mut after);
        record(
            conn,
            actor,
            now,
            "incident.edit",
            "incident",
            id,
            Some(&before),
            Some(&after),
        )?;
        crate::sla::service::refresh(conn, id, now)?;
        Ok::<_, AppError>(())
    })?;
    get(conn, id, true)
}

/// Moves an incident through its state machine.
pub fn transition(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    action: Action,
    input: &TransitionInput,
) -> Result<IncidentView, AppError> {
    // Field checks first, so a missing reason is a 422 whatever the state.
    let mut errors = FieldErrors::new();
    let reason = match action {
        Action::Hold => long_text(&input.reason).map_err(|e| errors.add("reason", e)).ok(),
        _ => None,
    };
    let workaround = match action {
        Action::Mitigate => long_text(&input.workaround)
            .map_err(|e| errors.add("workaround", e))
            .ok(),
        _ => None,
    };
    let resolution = match action {
        Action::Resolve => long_text(&input.resolution)
            .map_err(|e| errors.add("resolution", e))
            .ok(),
        _ => None,
    };
    let resolution_kind = match (action, input.resolution_kind.trim()) {
        (Action::Resolve, "" | "permanent") => Some("permanent"),
        (Action::Resolve, "workaround") => Some("workaround"),
        (Action::Resolve, _) => {
            errors.add("resolution_kind", FieldMessage::new("error-resolution-kind-invalid"));
            None
        }
        _ => None,
    };
    errors.into_result()?;

    let (loaded, names, problems, sla) = write_transaction(conn, |conn| {
        // Loaded once, with the names the answer shows; everything after is built from it.
        let (loaded, team, assignee) = queries::load_named(conn, id)?;
        crate::tickets::service::check_version(&loaded.0, input.version)?;
        let from = Status::parse(&loaded.0.status).unwrap_or(Status::New);
        let held_from = loaded.1.held_from.as_deref().and_then(Status::parse);
        let to = rules::next_status(from, action, held_from).ok_or_else(|| not_allowed(from, action))?;
        let problems = ticket_queries::linked_to(conn, id, "problem")?;
        if action == Action::Close {
            let priority = Priority::parse(&loaded.0.priority).unwrap_or(Priority::P4);
            let only_workaround = loaded.1.resolution_kind.as_deref() == Some("workaround");
            let linked_to_problem = !problems.is_empty();
            let published = crate::postmortems::queries::is_published(conn, id)?;
            let blockers = rules::close_blockers(priority, published, only_workaround, linked_to_problem);
            if let Some(blocker) = blockers.first() {
                return Err(AppError::Conflict(
                    match blocker {
                        CloseBlocker::PostmortemNotPublished => {
                            "a major incident (P1) can be closed only after its post-mortem is published"
                        }
                        CloseBlocker::WorkaroundWithoutProblem => {
                            "an incident resolved only by a workaround must be linked to a problem before it is closed"
                        }
                    }
                    .into(),
                ));
            }
        }
        let mut changes = IncidentUpdate::default();
        let mut incident = loaded.1.clone();
        if incident.acknowledged_at.is_none() && to != Status::New {
            changes.acknowledged_at = Some(Some(now));
            incident.acknowledged_at = Some(now);
        }
        match action {
            Action::Hold => {
                changes.hold_reason = Some(reason.as_deref());
                changes.held_from = Some(Some(from.as_str()));
                incident.hold_reason = reason.clone();
                incident.held_from = Some(from.as_str().to_string());
            }
            Action::Resume => {
                changes.hold_reason = Some(None);
                changes.held_from = Some(None);
                (incident.hold_reason, incident.held_from) = (None, None);
            }
            Action::Mitigate => {
                changes.workaround = Some(workaround.as_deref());
                changes.mitigated_at = Some(Some(now));
                incident.workaround = workaround.clone();
                incident.mitigated_at = Some(now);
            }
            Action::Resolve => {
                changes.resolution = Some(resolution.as_deref());
                changes.resolution_kind = Some(resolution_kind);
                changes.resolved_at = Some(Some(now));
                incident.resolution = resolution.clone();
                incident.resolution_kind = resolution_kind.map(str::to_string);
                incident.resolved_at = Some(now);
            }
            Action::Reopen => {
                changes.resolved_at = Some(None);
                incident.resolved_at = None;
            }
            Action::Close | Action::Acknowledge | Action::Start => {}
        }
        let body = reason
            .as_deref()
            .or(workaround.as_deref())
            .or(resolution.as_deref())
            .unwrap_or("");
        let mut after_ticket = loaded.0.clone();
        after_ticket.status = to.as_str().to_string();
        after_ticket.version += 1;
        let facts = clock_facts(&(after_ticket.clone(), incident.clone()));
        let mut data = serde_json::Map::new();
        data.insert("resolution_kind".into(), json!(resolution_kind));
        let changed = crate::tickets::service::change_state(
            conn,
            actor,
            now,
            &loaded.0,
            input.version,
            crate::tickets::service::StateChange {
                action: action.as_str(),
                to: to.as_str(),
                body,
                data,
                before: snapshot(&loaded),
                after: snapshot(&(after_ticket, incident.clone())),
            },
            |conn| {
                queries::update(conn, id, &changes)?;
                if changes.acknowledged_at.is_some() {
                    ticket_queries::note_first_response(conn, id, now)?;
                }
                Ok(facts)
            },
        )?;
        Ok::<_, AppError>(((changed.ticket, incident), (team, assignee), problems, changed.sla))
    })?;
    // The answer is what was just written, with the timeline: the incident is not read again.
    let timeline = ticket_queries::timeline(conn, id)?;
    let mut view = view_of_loaded(loaded, names, problems, Some(timeline));
    if let Some(row) = sla {
        let settings = crate::sla::settings::current(conn)?;
        view.sla = Some(crate::sla::service::stored_view(&settings, row));
    }
    Ok(view)
}

/// Adds a comment to the timeline (the core use case, `tickets::work::comment`).
pub fn comment(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &CommentInput,
) -> Result<IncidentView, AppError> {
    queries::load(conn, id)?;
    crate::tickets::work::comment(conn, actor, now, id, input)?;
    get(conn, id, true)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StatusUpdateInput {
    /// confirming | investigating | identified | monitoring | recovered
    #[schema(example = "identified")]
    pub state: String,
    #[schema(example = "原因を特定しました。DB サーバーのディスク I/O 飽和により応答が遅延しています。")]
    pub message: String,
}

/// The text a status update starts from (一次連絡 and later) in `lang`, filled from the incident
/// and the time now in `tz`; people edit it before posting. `None` for an unknown state.
pub fn status_update_template(
    view: &IncidentView,
    state: &str,
    lang: crate::web::i18n::Lang,
    now: NaiveDateTime,
    tz: &str,
) -> Option<String> {
    use crate::web::i18n::translate_text;
    if !UPDATE_STATES.contains(&state) {
        return None;
    }
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let time = now.and_utc().with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    let service = match view.incident.service.trim() {
        "" => translate_text(lang, "update-template-service-unknown", &[]),
        named => named.to_string(),
    };
    Some(translate_text(
        lang,
        &format!("update-template-{state}"),
        &[
            ("reference", &view.number),
            ("title", &view.title),
            ("service", &service),
            ("time", &time),
        ],
    ))
}

/// A status update for the affected departments (一次連絡 and later); always stakeholder-visible.
/// Like a comment it moves `updated_at` and leaves the version alone.
pub fn status_update(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &StatusUpdateInput,
) -> Result<IncidentView, AppError> {
    let mut errors = FieldErrors::new();
    let state = input.state.trim();
    if !UPDATE_STATES.contains(&state) {
        errors.add("state", FieldMessage::new("error-update-state-invalid"));
    }
    let message = long_text(&input.message).map_err(|e| errors.add("message", e)).ok();
    errors.into_result()?;
    let message = message.expect("validated");
    write_transaction(conn, |conn| {
        queries::load(conn, id)?;
        ticket_queries::touch(conn, id, now)?;
        add_event(
            conn,
            id,
            now,
            actor.user_id,
            "status_update",
            "stakeholder",
            &message,
            Some(json!({ "state": state })),
        )?;
        crate::tickets::watchers::notify(conn, id, actor.user_id, "status_update", &message, now)?;
        record(
            conn,
            actor,
            now,
            "incident.status_update",
            "incident",
            id,
            None::<&()>,
            Some(&json!({ "state": state, "message": message })),
        )?;
        crate::sla::service::refresh(conn, id, now)?;
        Ok::<_, AppError>(())
    })?;
    get(conn, id, true)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EscalationInput {
    pub version: Option<i32>,
    /// `functional` (default: to another team, a level up), `hierarchical` (tell the manager)
    /// or `down` (de-escalation).
    pub kind: String,
    pub to_team: Option<i64>,
    #[schema(example = "ネットワーク機器の設定変更が必要なため")]
    pub reason: String,
    /// What was tried before escalating (required for escalations up).
    #[schema(example = "端末の再起動、VPN クライアントの再インストール")]
    pub tried: String,
}

/// Functional or hierarchical escalation, or de-escalation; recorded on the timeline.
pub fn escalate(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &EscalationInput,
) -> Result<IncidentView, AppError> {
    let kind = match input.kind.trim() {
        "" | "functional" => "functional",
        "hierarchical" => "hierarchical",
        "down" => "down",
        _ => {
            return Err(AppError::Validation(FieldErrors::single(
                "kind",
                FieldMessage::new("error-escalation-kind-invalid"),
            )))
        }
    };
    let mut errors = FieldErrors::new();
    let reason = long_text(&input.reason).map_err(|e| errors.add("reason", e)).ok();
    let tried = if kind == "down" {
        optional_text(&input.tried, MAX_TEXT)
            .map_err(|e| errors.add("tried", e))
            .ok()
    } else {
        long_text(&input.tried).map_err(|e| errors.add("tried", e)).ok()
    };
    if kind == "functional" && input.to_team.is_none() {
        errors.add("to_team", FieldMessage::new("error-required"));
    }
    check_people(conn, input.to_team, None, &mut errors)?;
    if let Some(e) = errors.0.remove("team_id") {
        errors.add("to_team", e);
    }
    errors.into_result()?;
    let (reason, tried) = (reason.expect("validated"), tried.expect("validated"));

    write_transaction(conn, |conn| {
        let loaded = load_for_change(conn, id, input.version)?;
        let from_level = loaded.1.escalation_level;
        let to_level = match kind {
            "functional" => (from_level + 1).min(rules::MAX_LEVEL),
            "down" => (from_level - 1).max(rules::MIN_LEVEL),
            _ => from_level,
        };
        let to_team = if kind == "hierarchical" {
            loaded.0.team_id
        } else {
            input.to_team.or(loaded.0.team_id)
        };
        record_escalation(
            conn,
            actor,
            now,
            &loaded,
            &Step {
                kind,
                to_team,
                to_level,
                reason: &reason,
                details: json!({ "tried": tried }),
            },
        )
    })?;
    get(conn, id, true)
}

/// What an escalation level does to an incident (the core's `sla::model::AutomaticEscalation`).
pub use crate::sla::model::AutomaticEscalation;

/// Records an automatic escalation inside the caller's transaction: the hand-over and the
/// level (with a version bump), an `escalated` event, the audit row and the SLA figures. A
/// level that changes neither still goes on the timeline (as a hierarchical escalation: the
/// people of the level were told). Refused (409) for a resolved or closed incident.
pub fn escalate_automatically(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    auto: &AutomaticEscalation<'_>,
) -> Result<(), AppError> {
    let loaded = load_for_change(conn, id, None)?;
    let from_level = loaded.1.escalation_level;
    let to_team = auto.to_team.filter(|t| Some(*t) != loaded.0.team_id);
    let to_level = match auto.to_level {
        Some(level) => from_level.max(level.clamp(rules::MIN_LEVEL, rules::MAX_LEVEL)),
        None if to_team.is_some() => (from_level + 1).min(rules::MAX_LEVEL),
        None => from_level,
    };
    let mut details = auto.details.clone();
    if let Some(map) = details.as_object_mut() {
        map.insert("automatic".into(), json!(true));
    }
    record_escalation(
        conn,
        actor,
        now,
        &loaded,
        &Step {
            kind: if to_team.is_some() {
                "functional"
            } else {
                "hierarchical"
            },
            to_team: to_team.or(loaded.0.team_id),
            to_level,
            reason: auto.reason,
            details,
        },
    )
}

/// One escalation step, by a person or by the SLA job.
struct Step<'a> {
    /// `functional`, `hierarchical` or `down`.
    kind: &'a str,
    /// The team holding the incident afterwards.
    to_team: Option<i64>,
    to_level: i32,
    reason: &'a str,
    /// Merged into the event's data (`tried`, or what the job knows).
    details: serde_json::Value,
}

/// Applies an escalation step to a loaded incident: team (the receiving team picks its own
/// assignee), level and version, the timeline event, the audit row, the SLA figures.
fn record_escalation(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    loaded: &Loaded,
    step: &Step<'_>,
) -> Result<(), AppError> {
    let id = loaded.0.id;
    let status = Status::parse(&loaded.0.status).unwrap_or(Status::New);
    if !status.is_open() {
        return Err(AppError::Conflict(format!(
            "cannot escalate an incident that is {}",
            status.as_str()
        )));
    }
    let from_level = loaded.1.escalation_level;
    let team_changes = step.to_team != loaded.0.team_id;
    let before = snapshot(loaded);
    bump(
        conn,
        loaded,
        &TicketUpdate {
            team_id: team_changes.then_some(step.to_team),
            // The receiving team picks its own assignee.
            assignee_id: team_changes.then_some(None),
            ..Default::default()
        },
        now,
    )?;
    queries::update(
        conn,
        id,
        &IncidentUpdate {
            escalation_level: Some(step.to_level),
            ..Default::default()
        },
    )?;
    let event_kind = if step.kind == "down" {
        "deescalated"
    } else {
        "escalated"
    };
    let mut data = json!({
        "kind": step.kind, "from_team": loaded.0.team_id, "to_team": step.to_team,
        "from_level": from_level, "to_level": step.to_level, "reason": step.reason,
    });
    if let (Some(data), Some(details)) = (data.as_object_mut(), step.details.as_object()) {
        data.extend(details.clone());
    }
    add_event(
        conn,
        id,
        now,
        actor.user_id,
        event_kind,
        "internal",
        step.reason,
        Some(data.clone()),
    )?;
    let mut after = snapshot(&queries::load(conn, id)?);
    if let (Some(after), Some(details)) = (after.as_object_mut(), step.details.as_object()) {
        // What the job knows (rule, trigger, people told) stays with the audit row.
        after.extend(details.clone().into_iter().filter(|(k, _)| k != "tried"));
    }
    record(
        conn,
        actor,
        now,
        &format!("incident.{event_kind}"),
        "incident",
        id,
        Some(&before),
        Some(&after),
    )?;
    crate::sla::service::refresh(conn, id, now)?;
    Ok(())
}

/// Sets the team and assignee (the core use case, `tickets::work::assign`, with its rule that
/// the assignee belongs to the team).
pub fn assign(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &AssignInput,
) -> Result<IncidentView, AppError> {
    queries::load(conn, id)?;
    crate::tickets::work::assign(conn, actor, now, id, input)?;
    get(conn, id, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn reported_time_is_read_in_the_users_zone_and_never_in_the_future() {
        let now = at("2026-11-23 03:00:00");
        assert_eq!(parse_reported_at("", "Asia/Tokyo", now).unwrap(), now);
        // 11:30 in Tokyo is 02:30 UTC.
        assert_eq!(
            parse_reported_at("2026-11-23T11:30", "Asia/Tokyo", now).unwrap(),
            at("2026-11-23 02:30:00")
        );
        assert_eq!(
            parse_reported_at("2026-11-23T02:45:00Z", "Asia/Tokyo", now).unwrap(),
            at("2026-11-23 02:45:00")
        );
        assert_eq!(
            parse_reported_at("2026-11-23T12:30", "Asia/Tokyo", now)
                .unwrap_err()
                .key,
            "error-reported-in-future"
        );
        assert_eq!(
            parse_reported_at("yesterday", "Asia/Tokyo", now).unwrap_err().key,
            "error-datetime-invalid"
        );
    }
}
