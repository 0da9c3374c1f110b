//! The use cases every kind of ticket shares: comment, assign (team hand-over and assignee),
//! attach and watch. One transaction each, with the timeline event and the audit row inside.
//! Who may do them comes from the ticket's kind (`KindSpec::view` / `work` and the people
//! fields' permissions), so the routes under `/tickets/{id}/…` serve every kind and the kinds'
//! own routes (`/incidents/{id}/comments`, …) call the same functions.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::kind::{self, KindSpec};
use super::model::Ticket;
use super::queries::{self, TicketUpdate};
use super::service::{add_event, stale};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::auth::permissions::{allows, Role};
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};

/// The longest comment.
pub const MAX_COMMENT: usize = 20_000;

/// What a person wants to do with a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// See it: its page, timeline, attachments and watchers.
    View,
    /// Work on it: comment, attach, assign, add or remove other watchers.
    Work,
}

/// The declaration of a ticket's kind.
pub fn spec_of(ticket: &Ticket) -> Result<&'static KindSpec, AppError> {
    kind::find_str(&ticket.kind)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown ticket kind {}", ticket.kind)))
}

/// Whether `role` may do `need` on tickets of this kind.
pub fn may(spec: &KindSpec, role: Role, need: Need) -> bool {
    match need {
        Need::View => allows(role, spec.view),
        Need::Work => allows(role, spec.view) && allows(role, spec.work),
    }
}

/// Loads a (not deleted) ticket for someone who needs to see or work it: a missing ticket is
/// 404, one whose kind the role may not see or work is 403 (as the kind's own routes answer).
pub fn load_for(
    conn: &mut DbConnection,
    id: i64,
    role: Role,
    need: Need,
) -> Result<(Ticket, &'static KindSpec), AppError> {
    let ticket = queries::find(conn, id)?;
    let spec = spec_of(&ticket)?;
    if !may(spec, role, need) {
        return Err(AppError::Forbidden);
    }
    Ok((ticket, spec))
}

/// A comment on the timeline.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CommentInput {
    #[schema(example = "ルーターを再起動したところ、一部の利用者は接続できるようになりました。")]
    pub body: String,
    /// `internal` (default) or `stakeholder`.
    pub visibility: String,
}

fn parse_visibility(raw: &str) -> Result<&'static str, FieldMessage> {
    match raw.trim() {
        "" | "internal" => Ok("internal"),
        "stakeholder" => Ok("stakeholder"),
        _ => Err(FieldMessage::new("error-visibility-invalid")),
    }
}

fn comment_body(raw: &str) -> Result<String, FieldMessage> {
    let text = raw.trim();
    if text.is_empty() {
        Err(FieldMessage::new("error-required"))
    } else if text.chars().count() > MAX_COMMENT {
        Err(FieldMessage::new("error-too-long").with("max", MAX_COMMENT as i64))
    } else {
        Ok(text.to_string())
    }
}

/// Adds a comment to the timeline. No version check and no version bump: a comment overwrites
/// nothing, so it neither fails on nor invalidates an edit in progress; it does move the
/// ticket's `updated_at` (the lists' "recently updated" order).
pub fn comment(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &CommentInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let body = comment_body(&input.body).map_err(|e| errors.add("body", e)).ok();
    let visibility = parse_visibility(&input.visibility)
        .map_err(|e| errors.add("visibility", e))
        .ok();
    errors.into_result()?;
    let (body, visibility) = (body.expect("validated"), visibility.expect("validated"));
    write_transaction(conn, |conn| {
        let ticket = queries::find(conn, id)?;
        add_event(conn, id, now, actor.user_id, "comment", visibility, &body, None)?;
        super::watchers::notify(conn, id, actor.user_id, "comment", &body, now)?;
        record(
            conn,
            actor,
            now,
            &format!("{}.comment", ticket.kind),
            &ticket.kind,
            id,
            None::<&()>,
            Some(&json!({ "visibility": visibility, "body": body })),
        )
    })
}

/// Who holds a ticket. Each field: absent = keep, `null` = clear, an id = set; except that
/// moving the ticket to another team without naming an assignee clears the assignee (the
/// receiving team picks its own, as on escalation).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AssignInput {
    pub version: Option<i32>,
    #[serde(deserialize_with = "present")]
    pub team_id: Option<Option<i64>>,
    #[serde(deserialize_with = "present")]
    pub assignee_id: Option<Option<i64>>,
}

/// A field that is present (`null` or a value) becomes `Some`; `#[serde(default)]` leaves an
/// absent one `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The one permission check of the people fields (`KindSpec::assign_team`,
/// `KindSpec::assign_person`), made by every handler that takes them: a role that may not set
/// a field it sent is refused, as the route that sets only that field would refuse it.
pub fn check_people_fields(spec: &KindSpec, role: Role, sets_team: bool, sets_assignee: bool) -> Result<(), AppError> {
    if (sets_team && !allows(role, spec.assign_team)) || (sets_assignee && !allows(role, spec.assign_person)) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Checks that the team exists and the assignee is an active user; returns their names.
pub fn check_people(
    conn: &mut DbConnection,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<(Option<String>, Option<String>), AppError> {
    let mut names = (None, None);
    if let Some(team) = team_id {
        match crate::teams::queries::find(conn, team) {
            Ok(t) => names.0 = Some(t.name),
            Err(diesel::result::Error::NotFound) => errors.add("team_id", FieldMessage::new("error-team-unknown")),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(user) = assignee_id {
        match crate::users::queries::find(conn, user) {
            Ok(u) if u.active => names.1 = Some(u.display_name),
            Ok(_) | Err(diesel::result::Error::NotFound) => {
                errors.add("assignee_id", FieldMessage::new("error-user-unknown"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if names.0.is_some() && names.1.is_some() {
        check_member(conn, team_id, assignee_id, errors)?;
    }
    Ok(names)
}

/// The assignee must be a member of the team that holds the ticket (when it has one).
pub fn check_member(
    conn: &mut DbConnection,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    if let (Some(team), Some(user)) = (team_id, assignee_id) {
        if !crate::users::queries::team_ids(conn, user)?.contains(&team) {
            errors.add("assignee_id", FieldMessage::new("error-assignee-not-member"));
        }
    }
    Ok(())
}

/// A compact snapshot of who holds a ticket, for the audit log.
#[derive(Serialize)]
struct Holder<'a> {
    number: &'a str,
    status: &'a str,
    priority: &'a str,
    team_id: Option<i64>,
    assignee_id: Option<i64>,
    version: i32,
}

fn holder(ticket: &Ticket) -> serde_json::Value {
    serde_json::to_value(Holder {
        number: &ticket.reference,
        status: &ticket.status,
        priority: &ticket.priority,
        team_id: ticket.team_id,
        assignee_id: ticket.assignee_id,
        version: ticket.version,
    })
    .unwrap_or_default()
}

/// Sets the team and assignee of any kind of ticket (see [`AssignInput`] for what is kept):
/// the team must exist, the assignee be active and a member of the team; the version is
/// checked and bumped, `assigned` goes on the timeline and `{kind}.assign` in the audit log.
/// The SLA clocks are recomputed in the same transaction (its team picks the policy), and a
/// newly named assignee is notified (in the app and, by their preferences, by mail).
pub fn assign(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &AssignInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    check_people(conn, input.team_id.flatten(), input.assignee_id.flatten(), &mut errors)?;
    errors.into_result()?;
    write_transaction(conn, |conn| {
        let ticket = queries::find(conn, id)?;
        if input.version.is_some_and(|v| v != ticket.version) {
            return Err(stale());
        }
        let team_id = input.team_id.unwrap_or(ticket.team_id);
        let assignee_id = match input.assignee_id {
            Some(assignee) => assignee,
            None if team_id != ticket.team_id => None,
            None => ticket.assignee_id,
        };
        let mut errors = FieldErrors::new();
        check_member(conn, team_id, assignee_id, &mut errors)?;
        errors.into_result()?;
        let changes = TicketUpdate {
            team_id: Some(team_id),
            assignee_id: Some(assignee_id),
            ..Default::default()
        };
        if !queries::update_versioned(conn, id, ticket.version, &changes, now)? {
            return Err(stale());
        }
        add_event(
            conn,
            id,
            now,
            actor.user_id,
            "assigned",
            "internal",
            "",
            Some(
                json!({ "from_team": ticket.team_id, "to_team": team_id, "from_assignee": ticket.assignee_id, "to_assignee": assignee_id }),
            ),
        )?;
        let after = queries::find(conn, id)?;
        record(
            conn,
            actor,
            now,
            &format!("{}.assign", ticket.kind),
            &ticket.kind,
            id,
            Some(&holder(&ticket)),
            Some(&holder(&after)),
        )?;
        // As `service::restore` does: the team picks the policy and the calendar (any kind).
        crate::sla::service::refresh(conn, id, now)?;
        // Tells (and, by their mail preferences, mails) a newly named assignee.
        if let Some(assignee) = assignee_id.filter(|a| Some(*a) != ticket.assignee_id) {
            let label = format!("{} {}", ticket.reference, ticket.title);
            crate::notifications::notify(conn, &[assignee], Some(id), "assigned", &label, now)?;
        }
        Ok(())
    })
}
