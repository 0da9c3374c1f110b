//! Use cases of incoming mail: receive (store first, then process), process, re-process, and
//! reading a raw message back.
//!
//! The ticket changes go through the kinds' own services, each called in one place here:
//! `incidents::service::create` ([`open_incident`]), `incidents::service::comment`
//! ([`comment_on`]), `incidents::service::transition` with `Reopen` ([`reopen`]) and
//! `attachments::service::store` ([`attach`]). Processing runs them inside one write
//! transaction together with the row's outcome, so a message is either fully applied or
//! marked `failed` with the reason (and kept for re-processing).

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::model::{GatewayOptions, InboundMail, InboundMailView, NewInboundMail, Outcome};
use super::parse::{self, ParsedMail};
use super::{queries, rules};
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::auth::permissions::{allows, Permission, Role};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::tickets::model::Ticket;
use crate::users::model::User;

/// A page of the admin list.
pub const PAGE_SIZE: i64 = 50;

/// Title of an incident from a mail without a subject.
const NO_SUBJECT: &str = "(件名なし)";

/// Where a raw message is kept: `<data dir>/mail/inbound/<sha256>.eml`.
pub fn raw_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir.join("mail").join("inbound").join(format!("{sha256}.eml"))
}

/// Writes the raw message durably (temporary name, fsync, rename) unless it is already there.
fn write_raw(data_dir: &Path, sha256: &str, bytes: &[u8]) -> Result<(), AppError> {
    use std::io::Write;
    let path = raw_path(data_dir, sha256);
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().expect("raw path has a folder");
    std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    let tmp = dir.join(format!(".{sha256}.{}", crate::auth::tokens::random_hex(8)));
    let mut file = std::fs::File::create(&tmp).map_err(AppError::internal)?;
    file.write_all(bytes).map_err(AppError::internal)?;
    file.sync_all().map_err(AppError::internal)?;
    std::fs::rename(&tmp, &path).map_err(AppError::internal)
}

/// The gateway's flags, checked: (team id, action).
fn check_options(conn: &mut DbConnection, options: &GatewayOptions) -> Result<(Option<i64>, &'static str), AppError> {
    let mut errors = FieldErrors::new();
    let action = match options.action.as_deref().map(str::trim) {
        None | Some("") => "",
        Some("new") => "new",
        Some("comment") => "comment",
        Some(_) => {
            errors.add("action", FieldMessage::new("error-mail-action-invalid"));
            ""
        }
    };
    let team_id = match options.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(raw) => {
            let by_id = match raw.parse::<i64>() {
                Ok(id) => crate::teams::queries::existing_ids(conn, &[id])?.first().copied(),
                Err(_) => None,
            };
            let found = match by_id {
                Some(id) => Some(id),
                None => crate::teams::queries::find_by_name(conn, raw)?.map(|t| t.id),
            };
            if found.is_none() {
                errors.add("team", FieldMessage::new("error-mail-team-unknown"));
            }
            found
        }
    };
    errors.into_result()?;
    Ok((team_id, action))
}

fn view(conn: &mut DbConnection, id: i64) -> Result<InboundMailView, AppError> {
    let mail = queries::find(conn, id)?;
    let ticket_reference = match mail.ticket_id {
        Some(t) => crate::tickets::queries::find_any(conn, t).ok().map(|t| t.reference),
        None => None,
    };
    Ok(InboundMailView { mail, ticket_reference })
}

/// Receives one raw message from the gateway: stores it (file, then row, with its audit entry)
/// before anything else, then processes it. An identical message already stored (a retried
/// delivery) is not processed twice. A message that cannot be read is kept and refused with a
/// 422 naming its number.
pub fn receive(
    conn: &mut DbConnection,
    config: &Config,
    gateway: &Actor,
    now: NaiveDateTime,
    raw: &[u8],
    options: &GatewayOptions,
) -> Result<InboundMailView, AppError> {
    let (team_id, action) = check_options(conn, options)?;
    let sha256 = hex::encode(Sha256::digest(raw));
    if let Some(existing) = queries::find_by_sha256(conn, &sha256)? {
        if existing.state != "received" {
            return view(conn, existing.id);
        }
    }
    write_raw(&config.data_dir, &sha256, raw)?;
    let parsed = parse::parse(raw);
    let (from_address, from_name, subject, message_id) = match &parsed {
        Ok(p) => (
            p.from_address.as_str(),
            p.from_name.as_str(),
            p.subject.as_str(),
            p.message_id.as_str(),
        ),
        Err(_) => ("", "", "", ""),
    };
    let error = parsed.as_ref().err().cloned().unwrap_or_default();
    let unparseable = parsed.is_err();
    let id = write_transaction(conn, |conn| {
        let id = queries::insert(
            conn,
            &NewInboundMail {
                received_at: now,
                received_by: gateway.user_id,
                sha256: &sha256,
                from_address,
                from_name,
                subject,
                message_id,
                team_id,
                requested_action: action,
                state: if unparseable { "unparseable" } else { "received" },
                outcome: if unparseable { "unparseable" } else { "" },
                reason: "",
                ticket_id: None,
                no_auto_reply: unparseable,
                error: &error,
            },
        )?;
        record(
            conn,
            gateway,
            now,
            "mail.receive",
            "mail_inbound",
            id,
            None::<&()>,
            Some(&json!({ "from": from_address, "subject": subject, "sha256": sha256, "size": raw.len() })),
        )?;
        Ok::<_, AppError>(id)
    })?;
    match parsed {
        Err(_) => Err(AppError::Validation(FieldErrors::single(
            "message",
            FieldMessage::new("error-mail-unparseable").with("id", id),
        ))),
        Ok(parsed) => process(conn, config, gateway, now, id, &parsed, false),
    }
}

/// Re-processes a stored message (admin): read again from its file, the noise guard skipped
/// (an admin decided it is real mail). A message already applied to a ticket is a 409.
pub fn reprocess(
    conn: &mut DbConnection,
    config: &Config,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
) -> Result<InboundMailView, AppError> {
    let mail = queries::find(conn, id)?;
    if mail.state == "processed" {
        return Err(AppError::Conflict(
            "this message has already been applied to a ticket".into(),
        ));
    }
    let raw = std::fs::read(raw_path(&config.data_dir, &mail.sha256)).map_err(AppError::internal)?;
    match parse::parse(&raw) {
        Err(e) => {
            write_transaction(conn, |conn| {
                queries::set_outcome(
                    conn,
                    id,
                    &Outcome {
                        state: "unparseable",
                        outcome: "unparseable",
                        reason: "",
                        ticket_id: None,
                        no_auto_reply: true,
                        error: &e,
                    },
                )?;
                record(
                    conn,
                    actor,
                    now,
                    "mail.reprocess",
                    "mail_inbound",
                    id,
                    None::<&()>,
                    Some(&json!({ "error": e })),
                )
            })?;
            view(conn, id)
        }
        Ok(parsed) => process(conn, config, actor, now, id, &parsed, true),
    }
}

/// What a message becomes.
enum Target {
    Ignore(&'static str),
    Comment { ticket_id: i64, reason: &'static str },
    New { related: Option<i64>, reason: &'static str },
}

fn may_see(user: &User, ticket: &Ticket) -> bool {
    let Some(role) = Role::parse(&user.role) else {
        return false;
    };
    user.active && crate::tickets::kind::find_str(&ticket.kind).is_some_and(|spec| allows(role, spec.view))
}

/// Threading: our verified Message-IDs first, then the subject token. An address that is not a
/// user may comment only through a verified Message-ID; a ticket the sender may not see, an
/// unknown token or a deleted ticket opens a new ticket and reveals nothing about it.
fn decide(
    conn: &mut DbConnection,
    config: &Config,
    parsed: &ParsedMail,
    sender: Option<&User>,
    action: &str,
) -> Result<Target, AppError> {
    if action == "new" {
        return Ok(Target::New {
            related: None,
            reason: "new",
        });
    }
    let mut found: Option<(Ticket, &'static str)> = None;
    for id in parsed
        .refers_to
        .iter()
        .filter_map(|m| crate::mail::threading::ticket_of(&config.secret_key, m))
    {
        if let Ok(ticket) = crate::tickets::queries::find(conn, id) {
            found = Some((ticket, "message_id"));
            break;
        }
    }
    // A subject token counts only for a user (checked below for what they may see).
    if found.is_none() && sender.is_some() {
        for reference in rules::subject_references(&parsed.subject) {
            if let Some(ticket) = queries::ticket_by_reference(conn, &reference)? {
                found = Some((ticket, "subject_token"));
                break;
            }
        }
    }
    let visible = match (&found, sender) {
        (Some((ticket, _)), Some(user)) => may_see(user, ticket),
        // Not a user: only a verified Message-ID (they received our mail about it).
        (Some((_, how)), None) => *how == "message_id",
        (None, _) => false,
    };
    let target = match found {
        Some((ticket, how)) if visible && ticket.kind == "incident" => {
            let open =
                crate::tickets::kind::find_str(&ticket.kind).is_some_and(|s| s.class_of(&ticket.status).is_open());
            if open {
                Target::Comment {
                    ticket_id: ticket.id,
                    reason: how,
                }
            } else if config.mail_reply_reopens && ticket.status == "resolved" {
                Target::Comment {
                    ticket_id: ticket.id,
                    reason: "reopened",
                }
            } else {
                Target::New {
                    related: Some(ticket.id),
                    reason: "closed_ticket",
                }
            }
        }
        _ => Target::New {
            related: None,
            reason: "new",
        },
    };
    Ok(match target {
        Target::New { .. } if action == "comment" => Target::Ignore("no_ticket"),
        other => other,
    })
}

/// Processes a stored, parsed message and writes its outcome.
fn process(
    conn: &mut DbConnection,
    config: &Config,
    gateway: &Actor,
    now: NaiveDateTime,
    id: i64,
    parsed: &ParsedMail,
    forced: bool,
) -> Result<InboundMailView, AppError> {
    let stored = queries::find(conn, id)?;
    let noise = rules::noise_reason(&parsed.signals);
    let ignore = if forced { None } else { noise };
    let target = match ignore {
        Some(reason) => Target::Ignore(reason),
        None => {
            let sender = crate::users::queries::find_by_email(conn, &parsed.from_address)?.filter(|u| u.active);
            decide(conn, config, parsed, sender.as_ref(), &stored.requested_action)?
        }
    };
    let result = write_transaction(conn, |conn| {
        apply(conn, config, gateway, now, &stored, parsed, target, noise.is_some())
    });
    if let Err(e) = result {
        if matches!(e, AppError::Unavailable(_)) {
            // Stored as `received`: the gateway retries, and the retry processes it.
            return Err(e);
        }
        tracing::warn!(mail = id, error = %e, "incoming mail could not be applied");
        let message = match &e {
            AppError::Validation(fields) => fields
                .0
                .iter()
                .map(|(field, m)| format!("{field}: {}", m.translate(crate::web::i18n::Lang::En)))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        write_transaction(conn, |conn| {
            queries::set_outcome(
                conn,
                id,
                &Outcome {
                    state: "failed",
                    outcome: "",
                    reason: "",
                    ticket_id: None,
                    no_auto_reply: noise.is_some(),
                    error: &message,
                },
            )?;
            record(
                conn,
                gateway,
                now,
                "mail.process",
                "mail_inbound",
                id,
                None::<&()>,
                Some(&json!({ "state": "failed", "error": message })),
            )
        })?;
    }
    view(conn, id)
}

/// The actor of a change made from a mail: the sender when a user, else the gateway.
fn actor_of(sender: Option<&User>, gateway: &Actor) -> Actor {
    match sender {
        Some(u) => Actor::user(u.id, &u.email, None),
        None => gateway.clone(),
    }
}

/// Adds `extra` to the data of the newest `kind` event of a ticket (the event the service just
/// wrote): the timeline links it to the stored message.
fn tag_event(conn: &mut DbConnection, ticket_id: i64, kind: &str, extra: serde_json::Value) -> Result<(), AppError> {
    if let Some((event_id, data)) = queries::last_event(conn, ticket_id, kind)? {
        let mut value = data
            .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| json!({}));
        if let (Some(map), Some(add)) = (value.as_object_mut(), extra.as_object()) {
            for (k, v) in add {
                map.insert(k.clone(), v.clone());
            }
        }
        queries::set_event_data(conn, event_id, &value.to_string())?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn apply(
    conn: &mut DbConnection,
    config: &Config,
    gateway: &Actor,
    now: NaiveDateTime,
    stored: &InboundMail,
    parsed: &ParsedMail,
    target: Target,
    automatic: bool,
) -> Result<(), AppError> {
    let sender = crate::users::queries::find_by_email(conn, &parsed.from_address)?.filter(|u| u.active);
    let named = if parsed.from_name.is_empty() {
        format!("<{}>", parsed.from_address)
    } else {
        format!("{} <{}>", parsed.from_name, parsed.from_address)
    };
    let mut errors = Vec::new();
    let (state, outcome, reason, ticket_id) = match target {
        Target::Ignore(reason) => ("ignored", "ignored", reason, None),
        Target::Comment { ticket_id, reason } => {
            // A user comments as themself; an address that is not a user through the gateway,
            // and the comment names the address.
            let actor = actor_of(sender.as_ref(), gateway);
            let outcome = if reason == "reopened" {
                reopen(conn, &actor, now, ticket_id)?;
                "reopened"
            } else {
                "comment"
            };
            let mut body = rules::trim_quoted(&parsed.text);
            if body.is_empty() {
                body = rules::title_of(&parsed.subject, NO_SUBJECT);
            }
            comment_on(conn, &actor, now, ticket_id, truncate(&body))?;
            let mut tag = json!({ "mail_id": stored.id });
            if sender.is_none() {
                tag["mail_from"] = json!(named);
            }
            tag_event(conn, ticket_id, "comment", tag)?;
            attach(conn, config, &actor, now, ticket_id, parsed, &mut errors);
            ("processed", outcome, reason, Some(ticket_id))
        }
        Target::New { related, reason } => {
            // A user who may file incidents reports it; anyone else through the gateway.
            let reporter = sender
                .as_ref()
                .filter(|u| Role::parse(&u.role).is_some_and(|r| allows(r, Permission::WorkIncidents)));
            let actor = actor_of(reporter, gateway);
            let team_id = match stored.team_id {
                Some(t) => Some(t),
                None => default_team(conn, config)?,
            };
            let mut description = String::new();
            if reporter.is_none() {
                description.push_str(&format!("From: {named}\n\n"));
            }
            description.push_str(&parsed.text);
            let input = crate::incidents::model::IncidentInput {
                title: rules::title_of(&parsed.subject, NO_SUBJECT),
                description: truncate(&description),
                impact: "medium".into(),
                urgency: "medium".into(),
                channel: "mail".into(),
                team_id,
                ..Default::default()
            };
            let ticket_id = open_incident(conn, &actor, now, &input)?;
            if let Some(old) = related {
                crate::tickets::queries::link(conn, ticket_id, old, "related", actor.user_id, now)?;
            }
            tag_event(conn, ticket_id, "created", json!({ "mail_id": stored.id }))?;
            attach(conn, config, &actor, now, ticket_id, parsed, &mut errors);
            ("processed", "new_ticket", reason, Some(ticket_id))
        }
    };
    let error = errors.join("; ");
    queries::set_outcome(
        conn,
        stored.id,
        &Outcome {
            state,
            outcome,
            reason,
            ticket_id,
            no_auto_reply: automatic,
            error: &error,
        },
    )?;
    record(
        conn,
        gateway,
        now,
        "mail.process",
        "mail_inbound",
        stored.id,
        None::<&()>,
        Some(&json!({ "state": state, "outcome": outcome, "reason": reason, "ticket_id": ticket_id, "error": error })),
    )
}

fn truncate(text: &str) -> String {
    text.chars().take(crate::incidents::service::MAX_TEXT).collect()
}

/// `MAMORI_MAIL_DEFAULT_TEAM` by name, else (unset or not found) the first team.
fn default_team(conn: &mut DbConnection, config: &Config) -> Result<Option<i64>, AppError> {
    if let Some(name) = &config.mail_default_team {
        if let Some(team) = crate::teams::queries::find_by_name(conn, name)? {
            return Ok(Some(team.id));
        }
        tracing::warn!(team = %name, "MAMORI_MAIL_DEFAULT_TEAM names no team; using the first team");
    }
    Ok(crate::teams::queries::all(conn)?.iter().map(|t| t.id).min())
}

// The ticket core's use cases, each called in one place.

fn open_incident(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: &crate::incidents::model::IncidentInput,
) -> Result<i64, AppError> {
    Ok(crate::incidents::service::create(conn, actor, now, "Asia/Tokyo", input)?.id)
}

fn comment_on(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    ticket_id: i64,
    body: String,
) -> Result<(), AppError> {
    let input = crate::incidents::service::CommentInput {
        body,
        visibility: "internal".into(),
    };
    crate::incidents::service::comment(conn, actor, now, ticket_id, &input)?;
    Ok(())
}

fn reopen(conn: &mut DbConnection, actor: &Actor, now: NaiveDateTime, ticket_id: i64) -> Result<(), AppError> {
    crate::incidents::service::transition(
        conn,
        actor,
        now,
        ticket_id,
        crate::incidents::rules::Action::Reopen,
        &Default::default(),
    )?;
    Ok(())
}

/// Stores each attachment through the attachments service (size, rate and quota rules); one
/// that is refused is named in the row's `error` and the rest go on.
fn attach(
    conn: &mut DbConnection,
    config: &Config,
    actor: &Actor,
    now: NaiveDateTime,
    ticket_id: i64,
    parsed: &ParsedMail,
    errors: &mut Vec<String>,
) {
    for file in &parsed.attachments {
        let filename = crate::attachments::service::clean_filename(&file.filename);
        if file.bytes.is_empty() {
            continue;
        }
        if file.bytes.len() > config.max_upload_bytes {
            errors.push(format!("{filename}: larger than MAMORI_MAX_UPLOAD_MB"));
            continue;
        }
        let upload = crate::attachments::model::Upload {
            filename: filename.clone(),
            content_type: crate::attachments::rules::stored_content_type(&file.content_type).to_string(),
            bytes: file.bytes.clone(),
        };
        let limits = crate::attachments::service::Limits::of(config);
        if let Err(e) =
            crate::attachments::service::store(conn, &config.data_dir, actor, now, ticket_id, &upload, limits)
        {
            errors.push(format!("{filename}: {e}"));
        }
    }
}

/// One page of received messages for admins; `filter`: `ignored`, `unparseable`, `failed`, or
/// everything.
pub fn list(conn: &mut DbConnection, filter: &str, before: Option<i64>) -> Result<Vec<InboundMail>, AppError> {
    let states: &[&str] = match filter {
        "ignored" => &["ignored"],
        "unparseable" => &["unparseable"],
        "failed" => &["failed", "received"],
        _ => &[],
    };
    Ok(queries::list(conn, states, before, PAGE_SIZE)?)
}

/// The raw message, for an admin or for someone who may see the ticket it went to.
pub fn raw(
    conn: &mut DbConnection,
    config: &Config,
    user: &AuthUser,
    id: i64,
) -> Result<(InboundMail, Vec<u8>), AppError> {
    let mail = queries::find(conn, id)?;
    let allowed = allows(user.role, Permission::ViewAudit)
        || match mail.ticket_id {
            Some(t) => crate::tickets::queries::find(conn, t)
                .ok()
                .and_then(|ticket| crate::tickets::kind::find_str(&ticket.kind))
                .is_some_and(|spec| allows(user.role, spec.view)),
            None => false,
        };
    if !allowed {
        return Err(AppError::NotFound);
    }
    let bytes = std::fs::read(raw_path(&config.data_dir, &mail.sha256)).map_err(AppError::internal)?;
    Ok((mail, bytes))
}
