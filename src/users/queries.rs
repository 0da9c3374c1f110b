//! Diesel queries for users and their API tokens. Named functions only; no rules here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{ApiToken, NewApiToken, NewUser, User, UserFilter};
use crate::db::schema::{api_tokens, team_members, teams, users};
use crate::db::DbConnection;

pub use crate::db::{like_pattern, lower};

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<User> {
    crate::native!(conn, |c| users::table.find(id).select(User::as_select()).first(c))
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn email_taken(conn: &mut DbConnection, email: &str, except_id: Option<i64>) -> QueryResult<bool> {
    let mut query = users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .into_boxed();
    if let Some(id) = except_id {
        query = query.filter(users::id.ne(id));
    }
    Ok(query.first::<i64>(conn).optional()?.is_some())
}

pub fn insert(conn: &mut DbConnection, new: &NewUser<'_>) -> QueryResult<i64> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::id)
        .get_result(conn)
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = users)]
pub struct UserUpdate<'a> {
    pub email: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub role: Option<&'a str>,
    pub locale: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub active: Option<bool>,
    pub last_login_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update(conn: &mut DbConnection, id: i64, changes: &UserUpdate<'_>) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
}

pub fn team_ids(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<i64>> {
    team_members::table
        .filter(team_members::user_id.eq(user_id))
        .select(team_members::team_id)
        .order(team_members::team_id)
        .load(conn)
}

/// Team names of many users in one query (no query per row).
pub fn team_names_of(conn: &mut DbConnection, user_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<String>>> {
    let rows: Vec<(i64, String)> = team_members::table
        .inner_join(teams::table)
        .filter(team_members::user_id.eq_any(user_ids))
        .select((team_members::user_id, teams::name))
        .order(teams::name)
        .load(conn)?;
    let mut map: HashMap<i64, Vec<String>> = HashMap::new();
    for (user_id, name) in rows {
        map.entry(user_id).or_default().push(name);
    }
    Ok(map)
}

/// Team ids of many users in one query.
pub fn team_ids_of_many(conn: &mut DbConnection, user_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64)> = team_members::table
        .filter(team_members::user_id.eq_any(user_ids))
        .select((team_members::user_id, team_members::team_id))
        .order(team_members::team_id)
        .load(conn)?;
    let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
    for (user_id, team_id) in rows {
        map.entry(user_id).or_default().push(team_id);
    }
    Ok(map)
}

pub fn set_teams(conn: &mut DbConnection, user_id: i64, team_ids: &[i64]) -> QueryResult<()> {
    diesel::delete(team_members::table.filter(team_members::user_id.eq(user_id))).execute(conn)?;
    // One row at a time: multi-row inserts are not available on the multi-backend connection,
    // and a person belongs to a handful of teams.
    for team_id in team_ids {
        diesel::insert_into(team_members::table)
            .values((team_members::team_id.eq(*team_id), team_members::user_id.eq(user_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// At most `limit` users after the cursor, by id.
pub fn list(conn: &mut DbConnection, filter: &UserFilter, limit: i64) -> QueryResult<Vec<User>> {
    let mut query = users::table.select(User::as_select()).into_boxed();
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = like_pattern(&q.to_lowercase());
        query = query.filter(
            users::email
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::display_name).like(pattern).escape('\\')),
        );
    }
    if let Some(role) = filter.role.as_deref().filter(|r| !r.is_empty()) {
        query = query.filter(users::role.eq(role.to_string()));
    }
    if let Some(after) = filter.after {
        query = query.filter(users::id.gt(after));
    }
    query.order(users::id).limit(limit).load(conn)
}

pub fn insert_token(conn: &mut DbConnection, new: &NewApiToken<'_>) -> QueryResult<i64> {
    diesel::insert_into(api_tokens::table)
        .values(new)
        .returning(api_tokens::id)
        .get_result(conn)
}

pub fn tokens_of(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .select(ApiToken::as_select())
        .order(api_tokens::id.desc())
        .limit(200)
        .load(conn)
}

pub fn find_token(conn: &mut DbConnection, id: i64) -> QueryResult<ApiToken> {
    api_tokens::table.find(id).select(ApiToken::as_select()).first(conn)
}

/// The live token with this hash and its active owner.
pub fn find_live_token(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<(ApiToken, User)>> {
    crate::native!(conn, |c| {
        api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(token_hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(users::active.eq(true))
            .select((ApiToken::as_select(), User::as_select()))
            .first(c)
            .optional()
    })
}

pub fn revoke_token(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::revoked_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}

pub fn touch_token(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}
