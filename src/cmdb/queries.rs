//! Diesel queries for the CMDB.

use std::collections::HashMap;

use diesel::prelude::*;

use super::impact::Edge;
use super::model::{CiClass, CiDetails, CiFields, CiFilter, CiRef, CiRow, RelationshipRow};
use crate::db::schema::{ci_classes, ci_details, ci_redundancy_groups, ci_relationships, cis, teams, ticket_cis};
use crate::db::DbConnection;

/// A page of a CI list.
pub const PAGE_SIZE: i64 = 50;
/// Classes are a short admin list; bounded all the same.
pub const MAX_CLASSES: i64 = 500;

use crate::db::{like_pattern, lower};

pub fn classes(conn: &mut DbConnection) -> QueryResult<Vec<CiClass>> {
    ci_classes::table
        .select(CiClass::as_select())
        .order(ci_classes::id)
        .limit(MAX_CLASSES)
        .load(conn)
}

pub fn class_id(conn: &mut DbConnection, name: &str) -> QueryResult<Option<i64>> {
    ci_classes::table
        .filter(ci_classes::name.eq(name))
        .select(ci_classes::id)
        .first(conn)
        .optional()
}

pub fn insert_class(conn: &mut DbConnection, name: &str, at: chrono::NaiveDateTime) -> QueryResult<CiClass> {
    let id: i64 = diesel::insert_into(ci_classes::table)
        .values((ci_classes::name.eq(name), ci_classes::created_at.eq(at)))
        .returning(ci_classes::id)
        .get_result(conn)?;
    ci_classes::table.find(id).select(CiClass::as_select()).first(conn)
}

/// A CI's row with its class name and owner team's name.
pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<(CiRow, String, Option<String>, CiDetails)> {
    cis::table
        .inner_join(ci_classes::table)
        .left_join(teams::table)
        .inner_join(ci_details::table)
        .filter(cis::id.eq(id))
        .select((
            CiRow::as_select(),
            ci_classes::name,
            teams::name.nullable(),
            CiDetails::as_select(),
        ))
        .first(conn)
}

/// Whether another CI of the class has the name.
pub fn name_taken(conn: &mut DbConnection, class_id: i64, name: &str, except_id: Option<i64>) -> QueryResult<bool> {
    let mut query = cis::table
        .filter(cis::class_id.eq(class_id))
        .filter(cis::name.eq(name))
        .select(cis::id)
        .into_boxed();
    if let Some(id) = except_id {
        query = query.filter(cis::id.ne(id));
    }
    Ok(query.first::<i64>(conn).optional()?.is_some())
}

/// A page of CIs, newest first, under the filters and the keyset cursor.
pub fn list(
    conn: &mut DbConnection,
    filter: &CiFilter,
    limit: i64,
) -> QueryResult<Vec<(CiRow, String, Option<String>)>> {
    let mut query = cis::table
        .inner_join(ci_classes::table)
        .left_join(teams::table)
        .select((CiRow::as_select(), ci_classes::name, teams::name.nullable()))
        .into_boxed();
    if let Some(class) = filter.class.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(ci_classes::name.eq(class.to_string()));
    }
    if let Some(status) = filter.status.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(cis::status.eq(status.to_string()));
    }
    if let Some(environment) = filter.environment.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(cis::environment.eq(environment.to_string()));
    }
    if let Some(team) = filter.team_id {
        query = query.filter(cis::owner_team_id.eq(team));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        // Lower case on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        let pattern = like_pattern(&q.to_lowercase());
        query = query.filter(
            lower(cis::name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(cis::host_name).like(pattern.clone()).escape('\\'))
                .or(cis::ip_addresses.like(pattern).escape('\\')),
        );
    }
    if let Some(before) = filter.before {
        query = query.filter(cis::id.lt(before));
    }
    query.order(cis::id.desc()).limit(limit).load(conn)
}

pub fn insert(conn: &mut DbConnection, fields: &CiFields, at: chrono::NaiveDateTime) -> QueryResult<i64> {
    diesel::insert_into(cis::table)
        .values((
            fields,
            cis::version.eq(1_i64),
            cis::created_at.eq(at),
            cis::updated_at.eq(at),
        ))
        .returning(cis::id)
        .get_result(conn)
}

pub fn insert_details(conn: &mut DbConnection, details: &CiDetails) -> QueryResult<()> {
    diesel::insert_into(ci_details::table)
        .values(details)
        .execute(conn)
        .map(|_| ())
}

/// Writes the fields if the row is still at `version`; false when someone changed it first.
pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    version: i64,
    fields: &CiFields,
    at: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(cis::table.filter(cis::id.eq(id)).filter(cis::version.eq(version)))
        .set((fields, cis::version.eq(version + 1), cis::updated_at.eq(at)))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn update_details(conn: &mut DbConnection, details: &CiDetails) -> QueryResult<()> {
    diesel::update(ci_details::table.find(details.ci_id))
        .set(details)
        .execute(conn)
        .map(|_| ())
}

/// How many tickets name the CI.
pub fn ticket_count(conn: &mut DbConnection, ci_id: i64) -> QueryResult<i64> {
    ticket_cis::table
        .filter(ticket_cis::ci_id.eq(ci_id))
        .count()
        .get_result(conn)
}

pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(cis::table.find(id)).execute(conn).map(|_| ())
}

/// Ids per `IN (…)` list: well under both backends' bound parameters.
pub const CHUNK: usize = 1000;

/// The edges into (`to_id` in) or out of (`from_id` in) a frontier, one query per chunk.
pub fn edges_touching(conn: &mut DbConnection, ids: &[i64], by_target: bool) -> QueryResult<Vec<Edge>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let query = ci_relationships::table.select((
            ci_relationships::from_id,
            ci_relationships::to_id,
            ci_relationships::redundancy_group_id,
        ));
        let rows: Vec<(i64, i64, Option<i64>)> = if by_target {
            query.filter(ci_relationships::to_id.eq_any(chunk)).load(conn)?
        } else {
            query.filter(ci_relationships::from_id.eq_any(chunk)).load(conn)?
        };
        out.extend(rows.into_iter().map(|(from_id, to_id, group_id)| Edge {
            from_id,
            to_id,
            group_id,
        }));
    }
    Ok(out)
}

/// How many edges each redundant group has.
pub fn group_sizes(conn: &mut DbConnection, groups: &[i64]) -> QueryResult<HashMap<i64, usize>> {
    let mut out = HashMap::new();
    for chunk in groups.chunks(CHUNK) {
        let rows: Vec<(Option<i64>, i64)> = ci_relationships::table
            .filter(ci_relationships::redundancy_group_id.eq_any(chunk))
            .group_by(ci_relationships::redundancy_group_id)
            .select((ci_relationships::redundancy_group_id, diesel::dsl::count_star()))
            .load(conn)?;
        out.extend(rows.into_iter().filter_map(|(g, n)| Some((g?, n as usize))));
    }
    Ok(out)
}

/// Name, class and status of each CI, one query per chunk.
pub fn refs(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<HashMap<i64, CiRef>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, String, String)> = cis::table
            .inner_join(ci_classes::table)
            .filter(cis::id.eq_any(chunk))
            .select((cis::id, cis::name, ci_classes::name, cis::status))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, name, class, status)| {
            (
                id,
                CiRef {
                    id,
                    name,
                    class,
                    status,
                },
            )
        }));
    }
    Ok(out)
}

/// A CI's relationships both ways, bounded.
pub fn relationships_of(conn: &mut DbConnection, ci_id: i64, limit: i64) -> QueryResult<Vec<RelationshipRow>> {
    ci_relationships::table
        .filter(
            ci_relationships::from_id
                .eq(ci_id)
                .or(ci_relationships::to_id.eq(ci_id)),
        )
        .select(RelationshipRow::as_select())
        .order(ci_relationships::id)
        .limit(limit)
        .load(conn)
}

pub fn find_relationship(conn: &mut DbConnection, id: i64) -> QueryResult<RelationshipRow> {
    ci_relationships::table
        .find(id)
        .select(RelationshipRow::as_select())
        .first(conn)
}

pub fn relationship_exists(conn: &mut DbConnection, from_id: i64, to_id: i64, kind: &str) -> QueryResult<bool> {
    Ok(ci_relationships::table
        .filter(ci_relationships::from_id.eq(from_id))
        .filter(ci_relationships::to_id.eq(to_id))
        .filter(ci_relationships::kind.eq(kind))
        .select(ci_relationships::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

pub fn group_names(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = ci_redundancy_groups::table
        .filter(ci_redundancy_groups::id.eq_any(ids))
        .select((ci_redundancy_groups::id, ci_redundancy_groups::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The id of the CI's redundant group of this name, created when missing.
pub fn group_id(conn: &mut DbConnection, from_id: i64, name: &str, at: chrono::NaiveDateTime) -> QueryResult<i64> {
    let found = ci_redundancy_groups::table
        .filter(ci_redundancy_groups::from_id.eq(from_id))
        .filter(ci_redundancy_groups::name.eq(name))
        .select(ci_redundancy_groups::id)
        .first::<i64>(conn)
        .optional()?;
    match found {
        Some(id) => Ok(id),
        None => diesel::insert_into(ci_redundancy_groups::table)
            .values((
                ci_redundancy_groups::from_id.eq(from_id),
                ci_redundancy_groups::name.eq(name),
                ci_redundancy_groups::created_at.eq(at),
            ))
            .returning(ci_redundancy_groups::id)
            .get_result(conn),
    }
}

pub fn insert_relationship(
    conn: &mut DbConnection,
    from_id: i64,
    to_id: i64,
    kind: &str,
    group: Option<i64>,
    at: chrono::NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(ci_relationships::table)
        .values((
            ci_relationships::from_id.eq(from_id),
            ci_relationships::to_id.eq(to_id),
            ci_relationships::kind.eq(kind),
            ci_relationships::redundancy_group_id.eq(group),
            ci_relationships::created_at.eq(at),
        ))
        .returning(ci_relationships::id)
        .get_result(conn)
}

/// Deletes an edge, and its redundant group once the group has no edge left.
pub fn delete_relationship(conn: &mut DbConnection, row: &RelationshipRow) -> QueryResult<()> {
    diesel::delete(ci_relationships::table.find(row.id)).execute(conn)?;
    if let Some(group) = row.redundancy_group_id {
        let left: i64 = ci_relationships::table
            .filter(ci_relationships::redundancy_group_id.eq(group))
            .count()
            .get_result(conn)?;
        if left == 0 {
            diesel::delete(ci_redundancy_groups::table.find(group)).execute(conn)?;
        }
    }
    Ok(())
}
