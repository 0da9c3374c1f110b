//! Diesel queries for post-mortems and action items.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{ActionItem, Postmortem};
use crate::db::schema::{action_items, postmortems, tickets, users};
use crate::db::DbConnection;

#[derive(Insertable)]
#[diesel(table_name = postmortems)]
pub struct NewPostmortem<'a> {
    pub incident_id: i64,
    pub status: &'a str,
    pub sections: &'a str,
    pub impact_started_at: NaiveDateTime,
    pub impact_mitigated_at: Option<NaiveDateTime>,
    pub impact_resolved_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewPostmortem<'_>) -> QueryResult<i64> {
    diesel::insert_into(postmortems::table)
        .values(new)
        .returning(postmortems::id)
        .get_result(conn)
}

pub fn for_incident(conn: &mut DbConnection, incident_id: i64) -> QueryResult<Option<Postmortem>> {
    postmortems::table
        .filter(postmortems::incident_id.eq(incident_id))
        .select(Postmortem::as_select())
        .first(conn)
        .optional()
}

pub fn is_published(conn: &mut DbConnection, incident_id: i64) -> QueryResult<bool> {
    Ok(for_incident(conn, incident_id)?.is_some_and(|p| p.status == "published"))
}

/// Writes new sections/status if the version still matches; false when someone was faster.
pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    version: i32,
    status: &str,
    sections: &str,
    at: NaiveDateTime,
    published_at: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    let n = diesel::update(postmortems::table.find(id).filter(postmortems::version.eq(version)))
        .set((
            postmortems::status.eq(status),
            postmortems::sections.eq(sections),
            postmortems::version.eq(version + 1),
            postmortems::updated_at.eq(at),
            postmortems::published_at.eq(published_at),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn insert_item(
    conn: &mut DbConnection,
    postmortem_id: i64,
    title: &str,
    owner_id: i64,
    due_on: &str,
    problem_id: Option<i64>,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(action_items::table)
        .values((
            action_items::postmortem_id.eq(postmortem_id),
            action_items::title.eq(title),
            action_items::owner_id.eq(owner_id),
            action_items::due_on.eq(due_on),
            action_items::status.eq("open"),
            action_items::problem_id.eq(problem_id),
            action_items::created_at.eq(at),
        ))
        .returning(action_items::id)
        .get_result(conn)
}

pub fn find_item(conn: &mut DbConnection, id: i64) -> QueryResult<ActionItem> {
    action_items::table.find(id).select(ActionItem::as_select()).first(conn)
}

pub fn mark_done(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(action_items::table.find(id))
        .set((action_items::status.eq("done"), action_items::done_at.eq(Some(at))))
        .execute(conn)
        .map(|_| ())
}

/// Items with their owner's name and the incident they came from, in one query.
pub fn items(
    conn: &mut DbConnection,
    postmortem_id: Option<i64>,
    owner_id: Option<i64>,
    open_only: bool,
) -> QueryResult<Vec<(ActionItem, String, i64, String)>> {
    let mut query = action_items::table
        .inner_join(users::table.on(users::id.eq(action_items::owner_id)))
        .inner_join(postmortems::table)
        .inner_join(tickets::table.on(tickets::id.eq(postmortems::incident_id)))
        .select((
            ActionItem::as_select(),
            users::display_name,
            tickets::id,
            tickets::reference,
        ))
        .into_boxed();
    if let Some(pm) = postmortem_id {
        query = query.filter(action_items::postmortem_id.eq(pm));
    }
    if let Some(owner) = owner_id {
        query = query.filter(action_items::owner_id.eq(owner));
    }
    if open_only {
        query = query.filter(action_items::status.eq("open"));
    }
    query
        .order((action_items::due_on, action_items::id))
        .limit(500)
        .load(conn)
}
