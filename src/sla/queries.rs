//! Diesel queries for calendars, policies and ticket clocks.

use diesel::prelude::*;

use super::model::{CalendarRow, Closure, EscalationRule, Policy, TicketSla};
use crate::db::schema::{
    calendar_closures, calendars, escalation_firings, escalation_rules, sla_policies, sla_recompute_queue, ticket_sla,
    tickets,
};
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
    crate::reports::rollup::mark_dirty(conn, row.ticket_id)
}

/// Writes the first clocks of a ticket created in this transaction.
pub fn store_new(conn: &mut DbConnection, row: &TicketSla) -> QueryResult<()> {
    diesel::insert_into(ticket_sla::table).values(row).execute(conn)?;
    crate::reports::rollup::mark_dirty(conn, row.ticket_id)
}

pub fn forget(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<usize> {
    let removed = diesel::delete(ticket_sla::table.find(ticket_id)).execute(conn)?;
    crate::reports::rollup::mark_dirty(conn, ticket_id)?;
    Ok(removed)
}

/// Incident ids in id order after `after`, for recomputing in batches.
pub fn incident_ids_after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<i64>> {
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
    ticket_sla::table
        .inner_join(tickets::table)
        .filter(ticket_sla::policy_id.eq(policy_id))
        .filter(tickets::status.ne("closed"))
        .select(ticket_sla::ticket_id)
        .load(conn)
}

/// A team's escalation levels in order (a handful of rows).
pub fn escalation_rules(conn: &mut DbConnection, team_id: i64) -> QueryResult<Vec<EscalationRule>> {
    escalation_rules::table
        .filter(escalation_rules::team_id.eq(team_id))
        .order((escalation_rules::position, escalation_rules::id))
        .select(EscalationRule::as_select())
        .load(conn)
}

pub fn escalation_rule(conn: &mut DbConnection, id: i64) -> QueryResult<EscalationRule> {
    escalation_rules::table
        .find(id)
        .select(EscalationRule::as_select())
        .first(conn)
}

/// A team's levels that watch one clock's warning or breach, in order.
pub fn alert_rules(conn: &mut DbConnection, team_id: i64, clock: &str, kind: &str) -> QueryResult<Vec<EscalationRule>> {
    escalation_rules::table
        .filter(escalation_rules::team_id.eq(team_id))
        .filter(escalation_rules::clock.eq(clock))
        .filter(escalation_rules::kind.eq(kind))
        .order((escalation_rules::position, escalation_rules::id))
        .select(EscalationRule::as_select())
        .load(conn)
}

#[derive(Insertable)]
#[diesel(table_name = escalation_rules)]
pub struct RuleValues<'a> {
    pub team_id: i64,
    pub position: i32,
    pub clock: &'a str,
    pub kind: &'a str,
    pub delay_minutes: Option<i32>,
    pub notify: &'a str,
    pub escalate_to_team_id: Option<i64>,
    pub to_level: Option<i32>,
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert_escalation_rule(conn: &mut DbConnection, values: &RuleValues<'_>) -> QueryResult<i64> {
    diesel::insert_into(escalation_rules::table)
        .values(values)
        .returning(escalation_rules::id)
        .get_result(conn)
}

pub fn delete_escalation_rule(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(escalation_rules::table.find(id)).execute(conn)
}

/// The position after a team's last level.
pub fn next_rule_position(conn: &mut DbConnection, team_id: i64) -> QueryResult<i32> {
    let last: Option<i32> = escalation_rules::table
        .filter(escalation_rules::team_id.eq(team_id))
        .select(diesel::dsl::max(escalation_rules::position))
        .first(conn)?;
    Ok(last.map_or(10, |p| p.saturating_add(10)))
}

/// A level that fired for a ticket.
#[derive(Debug, Clone, Queryable)]
pub struct Firing {
    pub rule_id: i64,
    /// The team whose policy the level belongs to.
    pub policy_team_id: i64,
    pub position: i32,
    /// Where it handed the ticket (`None`: it stayed).
    pub to_team_id: Option<i64>,
    pub fired_at: chrono::NaiveDateTime,
}

/// What fired for a ticket (a few rows, by the primary key's prefix).
pub fn firings(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<Firing>> {
    escalation_firings::table
        .inner_join(escalation_rules::table)
        .filter(escalation_firings::ticket_id.eq(ticket_id))
        .order((
            escalation_firings::fired_at,
            escalation_rules::position,
            escalation_rules::id,
        ))
        .select((
            escalation_firings::rule_id,
            escalation_rules::team_id,
            escalation_rules::position,
            escalation_firings::to_team_id,
            escalation_firings::fired_at,
        ))
        .load(conn)
}

/// Claims a level for a ticket: fails with a unique violation when it already fired (on
/// PostgreSQL after waiting for the transaction that claimed it to commit).
pub fn claim_firing(
    conn: &mut DbConnection,
    ticket_id: i64,
    rule_id: i64,
    to_team_id: Option<i64>,
    now: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(escalation_firings::table)
        .values((
            escalation_firings::ticket_id.eq(ticket_id),
            escalation_firings::rule_id.eq(rule_id),
            escalation_firings::fired_at.eq(now),
            escalation_firings::to_team_id.eq(to_team_id),
        ))
        .execute(conn)
}

/// Tickets whose next delay level is due, soonest first (`ticket_sla_next_escalation_idx`).
pub fn escalation_candidates(conn: &mut DbConnection, now: chrono::NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    ticket_sla::table
        .filter(ticket_sla::next_escalation_at.le(now))
        .order((ticket_sla::next_escalation_at, ticket_sla::ticket_id))
        .limit(limit)
        .select(ticket_sla::ticket_id)
        .load(conn)
}

/// Open tickets with clocks that a team's escalation policy may govern: those the team holds
/// (`tickets_team_idx`), and those one of its levels handed on (`escalation_firings_rule_idx`).
pub fn open_tickets_under_team_policy(conn: &mut DbConnection, team_id: i64) -> QueryResult<Vec<i64>> {
    // Open statuses listed, so the (team, status) index is searched, not the team's history:
    // those any kind declares open (`tickets::kind`). A status open in one kind and closed in
    // another only adds tickets to recompute, which finds their clocks stopped.
    let mut open: Vec<&str> = crate::tickets::kind::all()
        .iter()
        .flat_map(|spec| spec.open_statuses())
        .collect();
    open.sort_unstable();
    open.dedup();
    let mut held: Vec<i64> = ticket_sla::table
        .inner_join(tickets::table)
        .filter(tickets::team_id.eq(team_id))
        .filter(tickets::status.eq_any(&open))
        .select(ticket_sla::ticket_id)
        .load(conn)?;
    let handed: Vec<i64> = escalation_firings::table
        .inner_join(escalation_rules::table)
        .inner_join(tickets::table.on(tickets::id.eq(escalation_firings::ticket_id)))
        .filter(escalation_rules::team_id.eq(team_id))
        .filter(escalation_firings::to_team_id.is_not_null())
        .filter(tickets::status.eq_any(&open))
        .select(escalation_firings::ticket_id)
        .load(conn)?;
    held.extend(handed);
    held.sort_unstable();
    held.dedup();
    Ok(held)
}

/// Queues tickets for the SLA job to recompute (a ticket already queued stays queued once).
pub fn queue_recompute(conn: &mut DbConnection, tickets: &[i64]) -> QueryResult<()> {
    if tickets.is_empty() {
        return Ok(());
    }
    // Ids are integers from the database: safe to inline, one statement per chunk.
    let values: Vec<String> = tickets.iter().map(|id| format!("({id})")).collect();
    diesel::sql_query(format!(
        "INSERT INTO sla_recompute_queue (ticket_id) VALUES {} ON CONFLICT DO NOTHING",
        values.join(", ")
    ))
    .execute(conn)?;
    Ok(())
}

pub fn queued_recomputes(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<i64>> {
    sla_recompute_queue::table
        .order(sla_recompute_queue::ticket_id)
        .limit(limit)
        .select(sla_recompute_queue::ticket_id)
        .load(conn)
}

/// Claims a queued ticket: 1 when this call removed it, 0 when another instance did.
pub fn dequeue_recompute(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<usize> {
    diesel::delete(sla_recompute_queue::table.find(ticket_id)).execute(conn)
}
