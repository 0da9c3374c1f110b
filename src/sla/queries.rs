//! Diesel queries for calendars, policies and ticket clocks.

use diesel::prelude::*;

use super::model::{CalendarRow, Closure, Policy, TicketSla};
use crate::db::schema::{calendar_closures, calendars, sla_policies, ticket_sla};
use crate::db::DbConnection;

pub fn calendars(conn: &mut DbConnection) -> QueryResult<Vec<CalendarRow>> {
    calendars::table
        .order(calendars::id)
        .select(CalendarRow::as_select())
        .load(conn)
}

pub fn calendar(conn: &mut DbConnection, id: i64) -> QueryResult<CalendarRow> {
    calendars::table.find(id).select(CalendarRow::as_select()).first(conn)
}

/// Every calendar's closures (a handful per calendar), for the calendar list.
pub fn all_closures(conn: &mut DbConnection) -> QueryResult<Vec<Closure>> {
    calendar_closures::table
        .order((
            calendar_closures::calendar_id,
            calendar_closures::starts_on,
            calendar_closures::id,
        ))
        .select(Closure::as_select())
        .load(conn)
}

pub fn closures(conn: &mut DbConnection, calendar_id: i64) -> QueryResult<Vec<Closure>> {
    calendar_closures::table
        .filter(calendar_closures::calendar_id.eq(calendar_id))
        .order((calendar_closures::starts_on, calendar_closures::id))
        .select(Closure::as_select())
        .load(conn)
}

#[allow(clippy::too_many_arguments)]
pub fn insert_calendar(
    conn: &mut DbConnection,
    name: &str,
    time_zone: &str,
    week: &str,
    japanese_holidays: bool,
    now: chrono::NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(calendars::table)
        .values((
            calendars::name.eq(name),
            calendars::time_zone.eq(time_zone),
            calendars::week.eq(week),
            calendars::japanese_holidays.eq(japanese_holidays),
            calendars::created_at.eq(now),
            calendars::updated_at.eq(now),
        ))
        .returning(calendars::id)
        .get_result(conn)
}

pub fn update_calendar(
    conn: &mut DbConnection,
    id: i64,
    name: &str,
    time_zone: &str,
    week: &str,
    japanese_holidays: bool,
    now: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(calendars::table.find(id))
        .set((
            calendars::name.eq(name),
            calendars::time_zone.eq(time_zone),
            calendars::week.eq(week),
            calendars::japanese_holidays.eq(japanese_holidays),
            calendars::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn replace_closures(
    conn: &mut DbConnection,
    calendar_id: i64,
    closures: &[(String, String, String)],
) -> QueryResult<()> {
    diesel::delete(calendar_closures::table.filter(calendar_closures::calendar_id.eq(calendar_id))).execute(conn)?;
    for (starts_on, ends_on, name) in closures {
        diesel::insert_into(calendar_closures::table)
            .values((
                calendar_closures::calendar_id.eq(calendar_id),
                calendar_closures::starts_on.eq(starts_on),
                calendar_closures::ends_on.eq(ends_on),
                calendar_closures::name.eq(name),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_calendar(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(calendars::table.find(id)).execute(conn)
}

/// Names of the policies that use a calendar.
pub fn policies_using(conn: &mut DbConnection, calendar_id: i64) -> QueryResult<Vec<String>> {
    sla_policies::table
        .filter(sla_policies::calendar_id.eq(calendar_id))
        .order(sla_policies::position)
        .select(sla_policies::name)
        .load(conn)
}

/// Policies in the order they are tried.
pub fn policies(conn: &mut DbConnection) -> QueryResult<Vec<Policy>> {
    sla_policies::table
        .order((sla_policies::position, sla_policies::id))
        .select(Policy::as_select())
        .load(conn)
}

pub fn policy(conn: &mut DbConnection, id: i64) -> QueryResult<Policy> {
    sla_policies::table.find(id).select(Policy::as_select()).first(conn)
}

/// Active policies of a kind, in the order they are tried (a handful of rows).
pub fn active_policies(conn: &mut DbConnection, kind: &str) -> QueryResult<Vec<Policy>> {
    sla_policies::table
        .filter(sla_policies::kind.eq(kind))
        .filter(sla_policies::active.eq(true))
        .order((sla_policies::position, sla_policies::id))
        .select(Policy::as_select())
        .load(conn)
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = sla_policies, treat_none_as_null = true)]
pub struct PolicyValues<'a> {
    pub name: &'a str,
    pub position: i32,
    pub active: bool,
    pub kind: &'a str,
    pub priorities: &'a str,
    pub category: Option<&'a str>,
    pub team_id: Option<i64>,
    pub response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub calendar_id: i64,
    pub warn_percent: i32,
    pub mitigation_stops_resolution: bool,
    pub updated_at: chrono::NaiveDateTime,
}

pub fn insert_policy(
    conn: &mut DbConnection,
    values: &PolicyValues<'_>,
    now: chrono::NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(sla_policies::table)
        .values((values, sla_policies::created_at.eq(now)))
        .returning(sla_policies::id)
        .get_result(conn)
}

pub fn update_policy(conn: &mut DbConnection, id: i64, values: &PolicyValues<'_>) -> QueryResult<usize> {
    diesel::update(sla_policies::table.find(id)).set(values).execute(conn)
}

pub fn delete_policy(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(sla_policies::table.find(id)).execute(conn)
}

pub fn stored(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Option<TicketSla>> {
    ticket_sla::table
        .find(ticket_id)
        .select(TicketSla::as_select())
        .first(conn)
        .optional()
}

/// Writes a ticket's clocks (update, or insert the first time).
pub fn store(conn: &mut DbConnection, row: &TicketSla) -> QueryResult<()> {
    let updated = diesel::update(ticket_sla::table.find(row.ticket_id))
        .set(row)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(ticket_sla::table).values(row).execute(conn)?;
    }
    Ok(())
}

pub fn forget(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<usize> {
    diesel::delete(ticket_sla::table.find(ticket_id)).execute(conn)
}

/// Incident ids in id order after `after`, for recomputing in batches.
pub fn incident_ids_after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<i64>> {
    use crate::db::schema::tickets;
    tickets::table
        .filter(tickets::kind.eq("incident"))
        .filter(tickets::id.gt(after))
        .filter(tickets::deleted_at.is_null())
        .order(tickets::id)
        .limit(limit)
        .select(tickets::id)
        .load(conn)
}

/// Open (not closed) tickets whose stored clocks use a policy.
pub fn open_tickets_on_policy(conn: &mut DbConnection, policy_id: i64) -> QueryResult<Vec<i64>> {
    use crate::db::schema::tickets;
    ticket_sla::table
        .inner_join(tickets::table)
        .filter(ticket_sla::policy_id.eq(policy_id))
        .filter(tickets::status.ne("closed"))
        .select(ticket_sla::ticket_id)
        .load(conn)
}
