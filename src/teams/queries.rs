//! Diesel queries for teams and membership.

use std::collections::HashMap;

use diesel::prelude::*;

use super::model::{Member, NewTeam, Team};
use crate::db::schema::{team_members, teams, users};
use crate::db::DbConnection;

/// Teams are a short directory list; bounded all the same.
pub const MAX_TEAMS: i64 = 1000;

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    teams::table.count().get_result(conn)
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Team>> {
    teams::table
        .select(Team::as_select())
        .order(teams::name)
        .limit(MAX_TEAMS)
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Team> {
    teams::table.find(id).select(Team::as_select()).first(conn)
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Team>> {
    teams::table
        .filter(teams::name.eq(name))
        .select(Team::as_select())
        .first(conn)
        .optional()
}

pub fn name_taken(conn: &mut DbConnection, name: &str, except_id: Option<i64>) -> QueryResult<bool> {
    let mut query = teams::table.filter(teams::name.eq(name)).select(teams::id).into_boxed();
    if let Some(id) = except_id {
        query = query.filter(teams::id.ne(id));
    }
    Ok(query.first::<i64>(conn).optional()?.is_some())
}

/// Which of `ids` exist.
pub fn existing_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
    teams::table.filter(teams::id.eq_any(ids)).select(teams::id).load(conn)
}

pub fn insert(conn: &mut DbConnection, new: &NewTeam<'_>) -> QueryResult<i64> {
    diesel::insert_into(teams::table)
        .values(new)
        .returning(teams::id)
        .get_result(conn)
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    name: &str,
    description: &str,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(teams::table.find(id))
        .set((
            teams::name.eq(name),
            teams::description.eq(description),
            teams::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Member counts of all teams in one grouped query.
pub fn member_counts(conn: &mut DbConnection) -> QueryResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = team_members::table
        .group_by(team_members::team_id)
        .select((team_members::team_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn members(conn: &mut DbConnection, team_id: i64) -> QueryResult<Vec<Member>> {
    let rows: Vec<(i64, String, String, String)> = team_members::table
        .inner_join(users::table)
        .filter(team_members::team_id.eq(team_id))
        .select((users::id, users::display_name, users::email, users::role))
        .order(users::display_name)
        .limit(1000)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, display_name, email, role)| Member {
            id,
            display_name,
            email,
            role,
        })
        .collect())
}
