//! CMDB use cases: one transaction each, with the audit row (before/after) inside it.

use chrono::NaiveDateTime;

use std::collections::HashMap;

use super::impact::{traverse, Direction};
use super::model::{
    Ci, CiClass, CiDetails, CiFields, CiFilter, CiInput, CiRef, CiSummary, HistoryEntry, Impact, ImpactItem,
    ImpactQuery, Relationship, RelationshipInput, RelationshipRow,
};
use super::{queries, rules};
use crate::audit::model::{Actor, AuditFilter};
use crate::audit::service::record;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::web::json::PageBefore;

/// How many audit rows the CI page reads for its history.
pub const HISTORY_LIMIT: i64 = 200;

/// The whole CI.
pub fn get(conn: &mut DbConnection, id: i64) -> Result<Ci, AppError> {
    let (row, class, owner_team, details) = queries::find(conn, id)?;
    let attributes = serde_json::from_str(&details.attributes).map_err(AppError::internal)?;
    Ok(Ci {
        id: row.id,
        class,
        name: row.name,
        environment: row.environment,
        criticality: row.criticality,
        status: row.status,
        owner_team_id: row.owner_team_id,
        owner_team,
        location: row.location,
        host_name: row.host_name,
        ip_addresses: row.ip_addresses,
        os_family: details.os_family,
        os_release: details.os_release,
        software_name: row.software_name,
        software_version: row.software_version,
        vendor: details.vendor,
        support_ends_on: row.support_ends_on,
        attributes,
        notes: details.notes,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// A page of CIs under the filters, newest first.
pub fn list(conn: &mut DbConnection, filter: &CiFilter) -> Result<PageBefore<CiSummary>, AppError> {
    let mut errors = FieldErrors::new();
    if let Some(status) = filter.status.as_deref().filter(|s| !s.is_empty()) {
        if !rules::STATUSES.contains(&status) {
            errors.add("status", FieldMessage::new("error-ci-status"));
        }
    }
    if let Some(environment) = filter.environment.as_deref().filter(|s| !s.is_empty()) {
        if !rules::ENVIRONMENTS.contains(&environment) {
            errors.add("environment", FieldMessage::new("error-ci-environment"));
        }
    }
    errors.into_result()?;
    let rows = queries::list(conn, filter, queries::PAGE_SIZE + 1)?;
    let more = rows.len() as i64 > queries::PAGE_SIZE;
    let items: Vec<CiSummary> = rows
        .into_iter()
        .take(queries::PAGE_SIZE as usize)
        .map(|(row, class, owner_team)| CiSummary {
            id: row.id,
            class,
            name: row.name,
            environment: row.environment,
            criticality: row.criticality,
            status: row.status,
            owner_team_id: row.owner_team_id,
            owner_team,
            host_name: row.host_name,
            ip_addresses: row.ip_addresses,
            version: row.version,
        })
        .collect();
    let next_before = if more { items.last().map(|c| c.id) } else { None };
    Ok(PageBefore { items, next_before })
}

/// The checks that need the database: the class exists, the team exists, the name is free.
fn resolve(
    conn: &mut DbConnection,
    input: &CiInput,
    except_id: Option<i64>,
) -> Result<(CiFields, rules::Valid), AppError> {
    let mut errors = match rules::validate(input) {
        Ok(_) => FieldErrors::new(),
        Err(errors) => errors,
    };
    let class_id = match input.class.trim() {
        "" => None,
        name => {
            let id = queries::class_id(conn, name)?;
            if id.is_none() {
                errors.add("class", FieldMessage::new("error-ci-class-unknown"));
            }
            id
        }
    };
    if let Some(team) = input.owner_team_id {
        if crate::teams::queries::existing_ids(conn, &[team])?.is_empty() {
            errors.add("owner_team_id", FieldMessage::new("error-ci-team-unknown"));
        }
    }
    if let Some(class_id) = class_id {
        if queries::name_taken(conn, class_id, input.name.trim(), except_id)? {
            errors.add("name", FieldMessage::new("error-ci-name-taken"));
        }
    }
    errors.into_result()?;
    let valid = rules::validate(input).map_err(AppError::Validation)?;
    let fields = CiFields {
        class_id: class_id.expect("validated"),
        name: valid.name.clone(),
        environment: valid.environment.clone(),
        criticality: valid.criticality,
        status: valid.status.clone(),
        owner_team_id: valid.owner_team_id,
        location: valid.location.clone(),
        host_name: valid.host_name.clone(),
        ip_addresses: valid.ip_addresses.clone(),
        software_name: valid.software_name.clone(),
        software_version: valid.software_version.clone(),
        support_ends_on: valid.support_ends_on.clone(),
    };
    Ok((fields, valid))
}

fn details(ci_id: i64, valid: &rules::Valid) -> Result<CiDetails, AppError> {
    Ok(CiDetails {
        ci_id,
        os_family: valid.os_family.clone(),
        os_release: valid.os_release.clone(),
        vendor: valid.vendor.clone(),
        attributes: serde_json::to_string(&valid.attributes).map_err(AppError::internal)?,
        notes: valid.notes.clone(),
    })
}

/// A unique violation that slipped past the check (a concurrent insert) is still a field error.
fn name_conflict(err: diesel::result::Error) -> AppError {
    match err {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::Validation(FieldErrors::single("name", FieldMessage::new("error-ci-name-taken")))
        }
        other => other.into(),
    }
}

pub fn create(conn: &mut DbConnection, actor: &Actor, now: NaiveDateTime, input: &CiInput) -> Result<Ci, AppError> {
    write_transaction(conn, |conn| {
        let (fields, valid) = resolve(conn, input, None)?;
        let id = queries::insert(conn, &fields, now).map_err(name_conflict)?;
        queries::insert_details(conn, &details(id, &valid)?)?;
        let ci = get(conn, id)?;
        record(conn, actor, now, "ci.create", "ci", id, None::<&()>, Some(&ci))?;
        Ok(ci)
    })
}

/// Changes a CI. `input.version`, when given, must be the stored version (else a 409).
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    input: &CiInput,
) -> Result<Ci, AppError> {
    write_transaction(conn, |conn| {
        let before = get(conn, id)?;
        let version = input.version.unwrap_or(before.version);
        if version != before.version {
            return Err(stale());
        }
        let (fields, valid) = resolve(conn, input, Some(id))?;
        if !queries::update_versioned(conn, id, version, &fields, now).map_err(name_conflict)? {
            return Err(stale());
        }
        queries::update_details(conn, &details(id, &valid)?)?;
        let after = get(conn, id)?;
        record(conn, actor, now, "ci.update", "ci", id, Some(&before), Some(&after))?;
        Ok(after)
    })
}

fn stale() -> AppError {
    AppError::Conflict(
        "ci_version: the CI was changed by someone else since you opened it; reload and apply your change again".into(),
    )
}

/// Deletes a CI no ticket names; one that tickets name is retired instead (409).
pub fn delete(conn: &mut DbConnection, actor: &Actor, now: NaiveDateTime, id: i64) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let before = get(conn, id)?;
        let tickets = queries::ticket_count(conn, id)?;
        if tickets > 0 {
            return Err(AppError::Conflict(format!(
                "ci_referenced_by_tickets: {tickets} ticket(s) name this CI; set its status to retired instead of deleting it"
            )));
        }
        queries::delete(conn, id)?;
        record(conn, actor, now, "ci.delete", "ci", id, Some(&before), None::<&()>)?;
        Ok(())
    })
}

pub fn create_class(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    name: &str,
) -> Result<CiClass, AppError> {
    write_transaction(conn, |conn| {
        let name = rules::valid_class_name(name).map_err(|e| AppError::Validation(FieldErrors::single("name", e)))?;
        if queries::class_id(conn, &name)?.is_some() {
            return Err(AppError::Validation(FieldErrors::single(
                "name",
                FieldMessage::new("error-ci-class-taken"),
            )));
        }
        let class = queries::insert_class(conn, &name, now)?;
        record(
            conn,
            actor,
            now,
            "ci_class.create",
            "ci_class",
            class.id,
            None::<&()>,
            Some(&class),
        )?;
        Ok(class)
    })
}

/// Every field change of a CI, newest first, from its audit rows.
pub fn history(conn: &mut DbConnection, id: i64) -> Result<Vec<HistoryEntry>, AppError> {
    let filter = AuditFilter {
        entity_type: Some("ci".into()),
        entity_id: Some(id.to_string()),
        ..AuditFilter::default()
    };
    let rows = crate::audit::queries::list(conn, &filter, HISTORY_LIMIT)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str(s).ok());
            let (before, after): (Option<serde_json::Value>, Option<serde_json::Value>) =
                (parse(&row.before_json), parse(&row.after_json));
            HistoryEntry {
                at: row.at,
                actor: row.actor_label,
                action: row.action,
                changes: rules::field_changes(before.as_ref(), after.as_ref()),
            }
        })
        .collect())
}

/// The relationship kinds.
pub const KINDS: [&str; 4] = ["depends_on", "runs_on", "connected_to", "part_of"];
/// How many relationships of one CI its page and the API list.
pub const RELATIONSHIPS_LIMIT: i64 = 500;
/// Impact answers list at most this many CIs.
pub const IMPACT_MAX_ITEMS: usize = 10_000;
pub const IMPACT_DEFAULT_DEPTH: u32 = 10;
pub const IMPACT_MAX_DEPTH: u32 = 50;

fn named(conn: &mut DbConnection, rows: Vec<RelationshipRow>) -> Result<Vec<Relationship>, AppError> {
    let mut ids: Vec<i64> = rows.iter().flat_map(|r| [r.from_id, r.to_id]).collect();
    ids.sort_unstable();
    ids.dedup();
    let refs = queries::refs(conn, &ids)?;
    let groups: Vec<i64> = rows.iter().filter_map(|r| r.redundancy_group_id).collect();
    let group_names = queries::group_names(conn, &groups)?;
    rows.into_iter()
        .map(|r| {
            let end = |id: i64| refs.get(&id).cloned().ok_or(AppError::NotFound);
            Ok(Relationship {
                id: r.id,
                from_id: r.from_id,
                to_id: r.to_id,
                from: end(r.from_id)?,
                to: end(r.to_id)?,
                kind: r.kind,
                redundancy_group: r.redundancy_group_id.and_then(|g| group_names.get(&g).cloned()),
            })
        })
        .collect()
}

/// A CI's relationships, both ways.
pub fn relationships(conn: &mut DbConnection, ci_id: i64) -> Result<Vec<Relationship>, AppError> {
    let rows = queries::relationships_of(conn, ci_id, RELATIONSHIPS_LIMIT)?;
    named(conn, rows)
}

/// Adds an edge: both CIs exist, no self-loop, a known kind, not a duplicate (409).
pub fn relate(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: &RelationshipInput,
) -> Result<Relationship, AppError> {
    write_transaction(conn, |conn| {
        let mut errors = FieldErrors::new();
        let kind = input.kind.trim();
        if !KINDS.contains(&kind) {
            errors.add("kind", FieldMessage::new("error-ci-relationship-kind"));
        }
        let ids: Vec<i64> = [input.from_id, input.to_id].into_iter().flatten().collect();
        let found = queries::refs(conn, &ids)?;
        for (field, id) in [("from_id", input.from_id), ("to_id", input.to_id)] {
            match id {
                None => errors.add(field, FieldMessage::new("error-required")),
                Some(id) if !found.contains_key(&id) => errors.add(field, FieldMessage::new("error-ci-unknown")),
                Some(_) => {}
            }
        }
        if input.from_id.is_some() && input.from_id == input.to_id {
            errors.add("to_id", FieldMessage::new("error-ci-relationship-self"));
        }
        let group = input.redundancy_group.trim();
        if group.chars().count() > rules::MAX_TEXT {
            errors.add(
                "redundancy_group",
                FieldMessage::new("error-too-long").with("max", rules::MAX_TEXT as i64),
            );
        }
        errors.into_result()?;
        let (from_id, to_id) = (input.from_id.expect("checked"), input.to_id.expect("checked"));
        if queries::relationship_exists(conn, from_id, to_id, kind)? {
            return Err(duplicate());
        }
        let group_id = match group {
            "" => None,
            name => Some(queries::group_id(conn, from_id, name, now)?),
        };
        let id = queries::insert_relationship(conn, from_id, to_id, kind, group_id, now).map_err(|e| match e {
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => duplicate(),
            other => other.into(),
        })?;
        let row = queries::find_relationship(conn, id)?;
        let relationship = named(conn, vec![row])?.pop().expect("one row");
        record(
            conn,
            actor,
            now,
            "ci_relationship.create",
            "ci_relationship",
            id,
            None::<&()>,
            Some(&relationship),
        )?;
        Ok(relationship)
    })
}

fn duplicate() -> AppError {
    AppError::Conflict("ci_relationship_duplicate: these two CIs already have a relationship of this kind".into())
}

/// Removes an edge (and its redundant group once empty).
pub fn unrelate(conn: &mut DbConnection, actor: &Actor, now: NaiveDateTime, id: i64) -> Result<Relationship, AppError> {
    write_transaction(conn, |conn| {
        let row = queries::find_relationship(conn, id)?;
        let before = named(conn, vec![row.clone()])?.pop().expect("one row");
        queries::delete_relationship(conn, &row)?;
        record(
            conn,
            actor,
            now,
            "ci_relationship.delete",
            "ci_relationship",
            id,
            Some(&before),
            None::<&()>,
        )?;
        Ok(before)
    })
}

/// What fails when the CI fails (down), or what it rests on (up), each with its path: a walk
/// over the edges a frontier at a time (`impact::traverse`), then the names in one bounded read.
pub fn impact(conn: &mut DbConnection, id: i64, query: &ImpactQuery) -> Result<Impact, AppError> {
    let direction = query.direction.unwrap_or(Direction::Down);
    let depth = query.depth.unwrap_or(IMPACT_DEFAULT_DEPTH);
    if !(1..=IMPACT_MAX_DEPTH).contains(&depth) {
        return Err(AppError::Validation(FieldErrors::single(
            "depth",
            FieldMessage::new("error-ci-impact-depth").with("max", IMPACT_MAX_DEPTH as i64),
        )));
    }
    let start = queries::refs(conn, &[id])?.remove(&id).ok_or(AppError::NotFound)?;
    let by_target = direction == Direction::Down;
    let walk = {
        // Both callbacks read through the one connection, never at the same time.
        let conn = std::cell::RefCell::new(&mut *conn);
        traverse(
            id,
            direction,
            depth,
            IMPACT_MAX_ITEMS,
            |frontier| queries::edges_touching(&mut conn.borrow_mut(), frontier, by_target),
            |groups| queries::group_sizes(&mut conn.borrow_mut(), groups),
        )?
    };
    let ids: Vec<i64> = walk.reached.iter().map(|r| r.id).collect();
    let mut refs = queries::refs(conn, &ids)?;
    refs.insert(id, start.clone());
    let name = |id: i64, refs: &HashMap<i64, CiRef>| refs.get(&id).cloned();
    let items = walk
        .reached
        .iter()
        .filter_map(|r| {
            let ci = name(r.id, &refs)?;
            Some(ImpactItem {
                id: r.id,
                name: ci.name,
                class: ci.class,
                status: ci.status,
                depth: r.depth,
                path: walk.path(id, r.id).into_iter().filter_map(|p| name(p, &refs)).collect(),
            })
        })
        .collect();
    let cycles = walk
        .cycles
        .iter()
        .map(|c| c.iter().filter_map(|p| name(*p, &refs)).collect())
        .collect();
    Ok(Impact {
        ci: start,
        direction,
        depth,
        items,
        cycles,
        truncated: walk.truncated,
    })
}
