//! Team use cases: one transaction each, with the audit row inside it.

use chrono::NaiveDateTime;

use super::model::{NewTeam, Team, TeamInput};
use super::queries;
use crate::audit::model::Actor;
use crate::audit::service::record;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::users::rules::{required_text, MAX_NAME, MAX_TEAM_DESCRIPTION};

fn validate(conn: &mut DbConnection, input: &TeamInput, except_id: Option<i64>) -> Result<(String, String), AppError> {
    let mut errors = FieldErrors::new();
    let name = required_text(&input.name, MAX_NAME)
        .map_err(|e| errors.add("name", e))
        .ok();
    let description = input.description.trim().to_string();
    if description.chars().count() > MAX_TEAM_DESCRIPTION {
        errors.add(
            "description",
            FieldMessage::new("error-too-long").with("max", MAX_TEAM_DESCRIPTION as i64),
        );
    }
    if let Some(name) = &name {
        if queries::name_taken(conn, name, except_id)? {
            errors.add("name", FieldMessage::new("error-team-name-taken"));
        }
    }
    errors.into_result()?;
    Ok((name.expect("validated"), description))
}

pub fn create(conn: &mut DbConnection, actor: &Actor, now: NaiveDateTime, input: &TeamInput) -> Result<Team, AppError> {
    write_transaction(conn, |conn| {
        let (name, description) = validate(conn, input, None)?;
        let id = queries::insert(
            conn,
            &NewTeam {
                name: &name,
                description: &description,
                created_at: now,
                updated_at: now,
            },
        )
        .map_err(name_conflict)?;
        let team = queries::find(conn, id)?;
        record(conn, actor, now, "team.create", "team", id, None::<&()>, Some(&team))?;
        Ok(team)
    })
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &TeamInput,
) -> Result<Team, AppError> {
    write_transaction(conn, |conn| {
        let before = queries::find(conn, id)?;
        let (name, description) = validate(conn, input, Some(id))?;
        queries::update(conn, id, &name, &description, now).map_err(name_conflict)?;
        let after = queries::find(conn, id)?;
        record(conn, actor, now, "team.update", "team", id, Some(&before), Some(&after))?;
        Ok(after)
    })
}

/// A unique violation that slipped past the check (a concurrent insert) is still a field error.
fn name_conflict(err: diesel::result::Error) -> AppError {
    match err {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::Validation(FieldErrors::single("name", FieldMessage::new("error-team-name-taken")))
        }
        other => other.into(),
    }
}
