//! Post-mortem use cases: draft from the incident, edit, review, publish; action items.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::model::{ActionItemInput, ActionItemView, Postmortem, PostmortemView, Sections, SectionsPatch};
use super::queries::{self, NewPostmortem};
use super::rules::{self, Status, Step};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::tickets::queries as ticket_queries;
use crate::tickets::service::add_event;

/// A section's maximum length in characters; the body limit of page forms and API calls
/// (`web::body::SIGNED_IN_LIMIT`) is computed from it.
pub const MAX_SECTION: usize = 50_000;

/// Text of the incident's timeline for the report (editable afterwards).
fn timeline_text(conn: &mut DbConnection, incident_id: i64) -> Result<String, AppError> {
    let events = ticket_queries::timeline(conn, incident_id)?;
    let mut lines = Vec::with_capacity(events.len());
    for e in events {
        let what = match e.kind.as_str() {
            "state_changed" => format!(
                "{} → {}",
                e.data["from"].as_str().unwrap_or(""),
                e.data["to"].as_str().unwrap_or("")
            ),
            "status_update" => format!("status update ({})", e.data["state"].as_str().unwrap_or("")),
            "escalated" | "deescalated" => format!(
                "{} L{} → L{}",
                e.kind,
                e.data["from_level"].as_i64().unwrap_or(0),
                e.data["to_level"].as_i64().unwrap_or(0)
            ),
            other => other.to_string(),
        };
        let body = if e.body.is_empty() {
            String::new()
        } else {
            format!(": {}", e.body.replace('\n', " "))
        };
        lines.push(format!("{} UTC  {}{}", e.at.format("%Y-%m-%d %H:%M"), what, body));
    }
    Ok(lines.join("\n"))
}

fn view(conn: &mut DbConnection, pm: Postmortem, now: NaiveDateTime) -> Result<PostmortemView, AppError> {
    let (ticket, _) = crate::incidents::queries::load(conn, pm.incident_id)?;
    let sections: Sections = serde_json::from_str(&pm.sections).unwrap_or_default();
    let restored = pm.impact_mitigated_at.or(pm.impact_resolved_at);
    Ok(PostmortemView {
        id: pm.id,
        incident_id: pm.incident_id,
        incident_number: ticket.reference,
        incident_title: ticket.title,
        priority: ticket.priority,
        allowed_steps: Status::parse(&pm.status)
            .map(|s| rules::moves(s).into_iter().map(Step::as_str).collect())
            .unwrap_or_default(),
        status: pm.status,
        version: pm.version,
        sections,
        impact_started_at: pm.impact_started_at,
        impact_mitigated_at: pm.impact_mitigated_at,
        impact_resolved_at: pm.impact_resolved_at,
        duration_minutes: restored.map(|r| (r - pm.impact_started_at).num_minutes()),
        published_at: pm.published_at,
        action_items: items_of(conn, Some(pm.id), None, false, now)?,
    })
}

pub fn items_of(
    conn: &mut DbConnection,
    postmortem_id: Option<i64>,
    owner: Option<i64>,
    open_only: bool,
    now: NaiveDateTime,
) -> Result<Vec<ActionItemView>, AppError> {
    let today = now.date().to_string();
    Ok(queries::items(conn, postmortem_id, owner, open_only)?
        .into_iter()
        .map(|(item, owner, incident_id, incident_number)| ActionItemView {
            overdue: item.status == "open" && item.due_on < today,
            item,
            owner,
            incident_id,
            incident_number,
        })
        .collect())
}

/// The incident's post-mortem.
pub fn get(conn: &mut DbConnection, incident_id: i64, now: NaiveDateTime) -> Result<PostmortemView, AppError> {
    let pm = queries::for_incident(conn, incident_id)?.ok_or(AppError::NotFound)?;
    view(conn, pm, now)
}

/// Drafts the post-mortem from the incident: impact window, timeline, resolution, and the root
/// cause of a linked problem when there is one. One per incident.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    incident_id: i64,
) -> Result<PostmortemView, AppError> {
    write_transaction(conn, |conn| {
        let (ticket, incident) = crate::incidents::queries::load(conn, incident_id)?;
        if queries::for_incident(conn, incident_id)?.is_some() {
            return Err(AppError::Conflict("this incident already has a post-mortem".into()));
        }
        let mut root_cause = String::new();
        for problem in ticket_queries::linked_to(conn, incident_id, "problem")? {
            let (_, p) = crate::problems::queries::load(conn, problem.id)?;
            if !p.root_cause.is_empty() {
                root_cause = format!("{} ({})", p.root_cause, problem.number);
                break;
            }
        }
        let sections = Sections {
            summary: format!("{}\n\n{}", ticket.title, ticket.description).trim().to_string(),
            impact: incident.service.clone(),
            detection: format!("channel: {}", incident.channel),
            root_cause,
            resolution: [incident.workaround.clone(), incident.resolution.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n"),
            timeline: timeline_text(conn, incident_id)?,
            ..Default::default()
        };
        let text = serde_json::to_string(&sections).map_err(AppError::internal)?;
        let id = queries::insert(
            conn,
            &NewPostmortem {
                incident_id,
                status: "draft",
                sections: &text,
                impact_started_at: incident.reported_at,
                impact_mitigated_at: incident.mitigated_at,
                impact_resolved_at: incident.resolved_at,
                version: 1,
                created_by: actor.user_id,
                created_at: now,
                updated_at: now,
            },
        )?;
        add_event(
            conn,
            incident_id,
            now,
            actor.user_id,
            "postmortem",
            "internal",
            "",
            Some(json!({ "state": "draft" })),
        )?;
        // Activity on the incident ("recently updated"), not an edit: the version stays.
        crate::tickets::queries::touch(conn, incident_id, now)?;
        record(
            conn,
            actor,
            now,
            "postmortem.create",
            "postmortem",
            id,
            None::<&()>,
            Some(&json!({ "incident": ticket.reference })),
        )
    })?;
    get(conn, incident_id, now)
}

fn apply(sections: &mut Sections, patch: &SectionsPatch, errors: &mut FieldErrors) {
    let fields: [(&'static str, &Option<String>, &mut String); 9] = [
        ("summary", &patch.summary, &mut sections.summary),
        ("impact", &patch.impact, &mut sections.impact),
        ("detection", &patch.detection, &mut sections.detection),
        ("root_cause", &patch.root_cause, &mut sections.root_cause),
        ("resolution", &patch.resolution, &mut sections.resolution),
        ("timeline", &patch.timeline, &mut sections.timeline),
        ("went_well", &patch.went_well, &mut sections.went_well),
        ("went_badly", &patch.went_badly, &mut sections.went_badly),
        ("lucky", &patch.lucky, &mut sections.lucky),
    ];
    for (name, new, target) in fields {
        if let Some(text) = new {
            if text.chars().count() > MAX_SECTION {
                errors.add(
                    name,
                    FieldMessage::new("error-too-long").with("max", MAX_SECTION as i64),
                );
            } else {
                *target = text.trim().to_string();
            }
        }
    }
}

/// One step of the review flow (`rules::next`): `Edit` changes sections (draft or in review),
/// `Submit` sends a draft to review, `Return` sends it back to draft for changes, `Publish`
/// publishes a report in review (final) and needs summary and root cause. A step the status
/// does not allow is a conflict naming the allowed moves. Sections sent with any step are
/// saved with it.
pub fn change(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    incident_id: i64,
    step: Step,
    patch: &SectionsPatch,
) -> Result<PostmortemView, AppError> {
    write_transaction(conn, |conn| {
        let pm = queries::for_incident(conn, incident_id)?.ok_or(AppError::NotFound)?;
        if patch.version.is_some_and(|v| v != pm.version) {
            return Err(crate::tickets::service::stale());
        }
        let from = Status::parse(&pm.status)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("post-mortem {} has status {:?}", pm.id, pm.status)))?;
        let to = rules::next(from, step).ok_or_else(|| AppError::Conflict(rules::refusal(from, step)))?;
        let mut sections: Sections = serde_json::from_str(&pm.sections).unwrap_or_default();
        let stored = serde_json::to_value(&sections).map_err(AppError::internal)?;
        let mut errors = FieldErrors::new();
        apply(&mut sections, patch, &mut errors);
        let published_at = if to == Status::Published {
            if sections.summary.is_empty() {
                errors.add("summary", FieldMessage::new("error-required"));
            }
            if sections.root_cause.is_empty() {
                errors.add("root_cause", FieldMessage::new("error-required"));
            }
            Some(now)
        } else {
            None
        };
        let status = to.as_str();
        errors.into_result()?;
        let text = serde_json::to_string(&sections).map_err(AppError::internal)?;
        if !queries::update_versioned(conn, pm.id, pm.version, status, &text, now, published_at)? {
            return Err(crate::tickets::service::stale());
        }
        if status != pm.status {
            add_event(
                conn,
                incident_id,
                now,
                actor.user_id,
                "postmortem",
                "internal",
                "",
                Some(json!({ "state": status })),
            )?;
            crate::tickets::queries::touch(conn, incident_id, now)?;
        }
        // Each changed section before and after in the audit log; its name on the timeline.
        let edited = serde_json::to_value(&sections).map_err(AppError::internal)?;
        let mut texts = crate::incidents::rules::TextChanges::default();
        for name in Sections::NAMES {
            let text = |value: &serde_json::Value| value[name].as_str().unwrap_or_default().to_string();
            texts.compare(name, &text(&stored), Some(&text(&edited)));
        }
        if !texts.is_empty() {
            add_event(
                conn,
                incident_id,
                now,
                actor.user_id,
                "postmortem_edited",
                "internal",
                "",
                Some(texts.event_data()),
            )?;
        }
        let mut before = json!({ "status": pm.status });
        let mut after = json!({ "status": status, "sections": sections });
        texts.add_to(&mut before, &mut after);
        record(
            conn,
            actor,
            now,
            &format!("postmortem.{}", step.as_str()),
            "postmortem",
            pm.id,
            Some(&before),
            Some(&after),
        )
    })?;
    get(conn, incident_id, now)
}

/// Adds an action item (title, owner, due date, optionally the problem it serves).
pub fn add_item(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    incident_id: i64,
    input: &ActionItemInput,
) -> Result<PostmortemView, AppError> {
    let mut errors = FieldErrors::new();
    let title = crate::users::rules::required_text(&input.title, 300)
        .map_err(|e| errors.add("title", e))
        .ok();
    match input.owner_id {
        None => errors.add("owner_id", FieldMessage::new("error-required")),
        Some(owner) => match crate::users::queries::find(conn, owner) {
            Ok(u) if u.active => {}
            Ok(_) | Err(diesel::result::Error::NotFound) => {
                errors.add("owner_id", FieldMessage::new("error-user-unknown"))
            }
            Err(e) => return Err(e.into()),
        },
    }
    let due = NaiveDate::parse_from_str(input.due_on.trim(), "%Y-%m-%d")
        .map_err(|_| errors.add("due_on", FieldMessage::new("error-date-invalid")))
        .ok();
    if let Some(problem) = input.problem_id {
        match crate::problems::queries::load(conn, problem) {
            Ok(_) => {}
            Err(diesel::result::Error::NotFound) => {
                errors.add("problem_id", FieldMessage::new("error-problem-unknown"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    errors.into_result()?;
    let (title, owner, due) = (
        title.expect("valid"),
        input.owner_id.expect("valid"),
        due.expect("valid").to_string(),
    );
    write_transaction(conn, |conn| {
        let pm = queries::for_incident(conn, incident_id)?.ok_or(AppError::NotFound)?;
        let id = queries::insert_item(conn, pm.id, &title, owner, &due, input.problem_id, now)?;
        record(
            conn,
            actor,
            now,
            "action_item.create",
            "action_item",
            id,
            None::<&()>,
            Some(&json!({ "title": title, "owner_id": owner, "due_on": due })),
        )
    })?;
    get(conn, incident_id, now)
}

/// Marks an action item done: its owner may, and so may whoever writes post-mortems
/// (`may_manage`); the incident's timeline records it.
pub fn complete_item(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    item_id: i64,
    may_manage: bool,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let item = queries::find_item(conn, item_id)?;
        if !may_manage && actor.user_id != Some(item.owner_id) {
            return Err(AppError::Forbidden);
        }
        if item.status == "done" {
            return Ok(());
        }
        queries::mark_done(conn, item_id, now)?;
        let incident_id: i64 = {
            use crate::db::schema::postmortems;
            use diesel::prelude::*;
            postmortems::table
                .find(item.postmortem_id)
                .select(postmortems::incident_id)
                .first(conn)?
        };
        crate::tickets::service::add_event(
            conn,
            incident_id,
            now,
            actor.user_id,
            "action_item_done",
            "internal",
            &item.title,
            Some(json!({ "action_item_id": item_id })),
        )?;
        crate::tickets::queries::touch(conn, incident_id, now)?;
        record(
            conn,
            actor,
            now,
            "action_item.done",
            "action_item",
            item_id,
            Some(&json!({ "status": "open" })),
            Some(&json!({ "status": "done" })),
        )
    })
}

#[cfg(test)]
mod tests {
    /// The body limit of signed-in users (`web::body`, which imports no domain) is written out
    /// there; the longest legitimate post-mortem form and JSON body must fit in it.
    #[test]
    fn the_longest_post_mortem_form_fits() {
        use super::super::model::Sections;
        use super::MAX_SECTION;
        use crate::web::body::SIGNED_IN_LIMIT;
        let section = "𠮷".repeat(MAX_SECTION);
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for name in Sections::NAMES {
            form.append_pair(name, &section);
        }
        form.append_pair("version", "2147483647");
        form.append_pair("csrf_token", &"f".repeat(96));
        let length = form.finish().len();
        assert!(length <= SIGNED_IN_LIMIT, "{length} > {SIGNED_IN_LIMIT}");
        // As JSON with every character escaped (`\ud842\udfb7`).
        let escaped = "\\ud842\\udfb7".repeat(MAX_SECTION);
        let fields: Vec<String> = Sections::NAMES
            .iter()
            .map(|name| format!("\"{name}\":\"{escaped}\""))
            .collect();
        let json = format!("{{\"version\":2147483647,{}}}", fields.join(","));
        assert!(json.len() <= SIGNED_IN_LIMIT, "{} > {SIGNED_IN_LIMIT}", json.len());
    }
}
