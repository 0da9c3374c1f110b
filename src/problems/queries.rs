//! Diesel queries for problems.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Problem, ProblemRow};
use crate::db::schema::{incidents, problems, tickets, users};
use crate::db::DbConnection;
use crate::tickets::model::Ticket;

/// An SQL condition on the outer query's `tickets` row: no problem covers it, i.e. it has no
/// link to a problem that is not deleted. The problem candidates count such incidents, and the
/// incident list they link to filters by it (`without_problem`), so both agree.
pub const NOT_COVERED_BY_A_PROBLEM: &str = "NOT EXISTS (SELECT 1 FROM ticket_links \
     JOIN tickets AS problem_tickets ON problem_tickets.id = ticket_links.to_ticket_id \
     WHERE ticket_links.from_ticket_id = tickets.id AND ticket_links.kind = 'problem' \
     AND problem_tickets.kind = 'problem' AND problem_tickets.deleted_at IS NULL)";

pub fn insert(conn: &mut DbConnection, ticket_id: i64, fix_due_on: Option<&str>) -> QueryResult<()> {
    diesel::insert_into(problems::table)
        .values((problems::ticket_id.eq(ticket_id), problems::fix_due_on.eq(fix_due_on)))
        .execute(conn)
        .map(|_| ())
}

pub fn load(conn: &mut DbConnection, id: i64) -> QueryResult<(Ticket, Problem)> {
    tickets::table
        .inner_join(problems::table)
        .filter(tickets::id.eq(id))
        .filter(tickets::kind.eq("problem"))
        .filter(tickets::deleted_at.is_null())
        .select((Ticket::as_select(), Problem::as_select()))
        .first(conn)
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = problems)]
pub struct ProblemUpdate<'a> {
    pub root_cause: Option<&'a str>,
    pub contributing_factors: Option<&'a str>,
    pub five_whys: Option<&'a str>,
    pub workaround: Option<&'a str>,
    pub resolution: Option<&'a str>,
    pub fix_due_on: Option<Option<&'a str>>,
    pub known_error_at: Option<Option<NaiveDateTime>>,
    pub resolved_at: Option<Option<NaiveDateTime>>,
}

pub fn update(conn: &mut DbConnection, id: i64, changes: &ProblemUpdate<'_>) -> QueryResult<()> {
    diesel::update(problems::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
}

pub fn list(
    conn: &mut DbConnection,
    open_only: bool,
    include_archived: bool,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<ProblemRow>> {
    let mut query = tickets::table
        .inner_join(problems::table)
        .left_join(users::table.on(tickets::assignee_id.eq(users::id.nullable())))
        .filter(tickets::kind.eq("problem"))
        .filter(tickets::deleted_at.is_null())
        .select((
            tickets::id,
            tickets::reference,
            tickets::title,
            tickets::status,
            tickets::priority,
            users::display_name.nullable(),
            problems::fix_due_on,
            tickets::created_at,
        ))
        .into_boxed();
    if !include_archived {
        query = query.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            crate::tickets::queries::NOT_ARCHIVED,
        ));
    }
    if open_only {
        query = query.filter(tickets::status.ne_all(vec!["resolved", "closed"]));
    }
    if let Some(before) = before {
        query = query.filter(tickets::id.lt(before));
    }
    query.order(tickets::id.desc()).limit(limit).load(conn)
}

/// Categories (or services) with at least `min` incidents reported since `since` that no
/// problem covers yet: an incident linked to a problem (that is not deleted) is already being
/// looked into, so it does not count towards a new candidate.
pub fn busy_categories(conn: &mut DbConnection, since: NaiveDateTime, min: i64) -> QueryResult<Vec<(String, i64)>> {
    incidents::table
        .inner_join(tickets::table)
        .filter(incidents::reported_at.ge(since))
        .filter(incidents::category.ne(""))
        .filter(tickets::deleted_at.is_null())
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(NOT_COVERED_BY_A_PROBLEM))
        .group_by(incidents::category)
        .having(diesel::dsl::count_star().ge(min))
        .select((incidents::category, diesel::dsl::count_star()))
        .order((diesel::dsl::count_star().desc(), incidents::category))
        .limit(200)
        .load(conn)
}

/// [`busy_categories`] by service.
pub fn busy_services(conn: &mut DbConnection, since: NaiveDateTime, min: i64) -> QueryResult<Vec<(String, i64)>> {
    incidents::table
        .inner_join(tickets::table)
        .filter(incidents::reported_at.ge(since))
        .filter(incidents::service.ne(""))
        .filter(tickets::deleted_at.is_null())
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(NOT_COVERED_BY_A_PROBLEM))
        .group_by(incidents::service)
        .having(diesel::dsl::count_star().ge(min))
        .select((incidents::service, diesel::dsl::count_star()))
        .order((diesel::dsl::count_star().desc(), incidents::service))
        .limit(200)
        .load(conn)
}
