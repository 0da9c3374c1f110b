//! SLA rows and the views the API and pages show.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{calendar_closures, calendars, sla_policies, ticket_sla};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = calendars)]
pub struct CalendarRow {
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    #[serde(skip)]
    pub week: String,
    pub japanese_holidays: bool,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = calendar_closures)]
pub struct Closure {
    pub id: i64,
    #[serde(skip)]
    pub calendar_id: i64,
    pub starts_on: String,
    pub ends_on: String,
    pub name: String,
}

/// A calendar with its week spelled out, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalendarView {
    #[serde(flatten)]
    pub calendar: CalendarRow,
    /// Seven lists of "HH:MM-HH:MM", Monday first.
    pub week: Vec<Vec<String>>,
    pub closures: Vec<Closure>,
}

/// What a calendar is created or changed from (API JSON and the admin form).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CalendarInput {
    #[schema(example = "平日日中（9時〜18時）")]
    pub name: String,
    pub time_zone: String,
    /// Seven lists of "HH:MM-HH:MM", Monday first.
    pub week: Vec<Vec<String>>,
    pub japanese_holidays: bool,
    /// Company holidays and closures; replaces the calendar's list when given.
    pub closures: Option<Vec<ClosureInput>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ClosureInput {
    pub starts_on: String,
    /// Empty: the same day as `starts_on`.
    pub ends_on: String,
    pub name: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = sla_policies)]
pub struct Policy {
    pub id: i64,
    pub name: String,
    pub position: i32,
    pub active: bool,
    pub kind: String,
    pub priorities: String,
    pub category: Option<String>,
    pub team_id: Option<i64>,
    pub response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub calendar_id: i64,
    pub warn_percent: i32,
    pub mitigation_stops_resolution: bool,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
}

impl Policy {
    /// Whether this policy covers a ticket of `kind` with these fields.
    pub fn matches(&self, kind: &str, priority: &str, category: &str, team_id: Option<i64>) -> bool {
        self.active
            && self.kind == kind
            && (self.priorities.is_empty() || self.priorities.split(',').any(|p| p.trim() == priority))
            && self.category.as_deref().is_none_or(|c| c == category)
            && self.team_id.is_none_or(|t| Some(t) == team_id)
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PolicyInput {
    pub name: String,
    pub position: Option<i32>,
    pub active: Option<bool>,
    /// Only `incident` for now.
    pub kind: String,
    pub priorities: Vec<String>,
    pub category: Option<String>,
    pub team_id: Option<i64>,
    pub response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub calendar_id: Option<i64>,
    pub warn_percent: Option<i32>,
    pub mitigation_stops_resolution: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize, utoipa::ToSchema)]
#[diesel(table_name = ticket_sla, treat_none_as_null = true)]
pub struct TicketSla {
    #[serde(skip)]
    pub ticket_id: i64,
    pub policy_id: Option<i64>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub response_due_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub response_met_at: Option<NaiveDateTime>,
    pub response_breached: bool,
    pub response_elapsed_minutes: i64,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub resolution_due_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub resolution_met_at: Option<NaiveDateTime>,
    pub resolution_breached: bool,
    pub resolution_elapsed_minutes: i64,
    pub paused: bool,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub computed_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub response_warn_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub resolution_warn_at: Option<NaiveDateTime>,
    /// When the next delay level of the ticket's escalation policy falls due: the SLA job's
    /// index, kept by `refresh` (not part of the figures people read).
    #[serde(skip)]
    pub next_escalation_at: Option<NaiveDateTime>,
}

/// The `sla` object of a ticket: the stored figures, and with `explain` the live clocks.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaView {
    pub policy: Option<PolicyRef>,
    #[serde(flatten)]
    pub figures: TicketSla,
    /// Resolution business minutes so far (the issue's `business_minutes_elapsed`).
    pub business_minutes_elapsed: i64,
    pub response_remaining_minutes: Option<i64>,
    pub resolution_remaining_minutes: Option<i64>,
    /// `ok`, `warning` (past the policy's threshold), `breached`, `met` or `paused`.
    pub level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyRef {
    pub id: i64,
    pub name: String,
    pub warn_percent: i32,
    pub response_minutes: Option<i32>,
    pub resolution_minutes: Option<i32>,
    pub mitigation_stops_resolution: bool,
}

/// How the figures were reached: the calendar and each clock's running and paused stretches.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Explain {
    pub calendar: CalendarRef,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub started_at: NaiveDateTime,
    pub response: Option<super::rules::ClockState>,
    pub resolution: Option<super::rules::ClockState>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalendarRef {
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    pub japanese_holidays: bool,
}

/// One level of a team's escalation policy: a trigger, and what happens when it fires.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = crate::db::schema::escalation_rules)]
pub struct EscalationRule {
    pub id: i64,
    pub team_id: i64,
    /// The order of the levels in the policy (smallest first).
    pub position: i32,
    /// `response` or `resolution`: the clock the trigger watches.
    pub clock: String,
    /// `warning` or `breach` of the clock; or a delay: `unacknowledged` (no first response
    /// `delay_minutes` after the report) or `unresolved`.
    pub kind: String,
    /// Business minutes on the ticket's SLA calendar (delay triggers only).
    pub delay_minutes: Option<i32>,
    /// `assignee`, `team` or `managers` of the team that holds the ticket once the level acted.
    pub notify: String,
    pub escalate_to_team_id: Option<i64>,
    /// The escalation level (1–3) the incident is raised to at least.
    pub to_level: Option<i32>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
}

impl EscalationRule {
    /// Whether this level waits a delay (rather than a clock's warning or breach).
    pub fn is_delay(&self) -> bool {
        super::rules::Awaited::parse(&self.kind).is_some()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EscalationRuleInput {
    /// `response` or `resolution`; may be left out for the delay triggers, whose clock is fixed.
    pub clock: String,
    /// `warning`, `breach`, `unacknowledged` or `unresolved`.
    pub kind: String,
    /// Required for `unacknowledged` and `unresolved`, refused for the others.
    pub delay_minutes: Option<i32>,
    /// `assignee`, `team` or `managers`.
    pub notify: String,
    pub escalate_to_team_id: Option<i64>,
    /// 1–3.
    pub to_level: Option<i32>,
    /// Where the level goes in the policy; after the last one when left out.
    pub position: Option<i32>,
}

/// The clock that matters now for a list row: what is due next, and how much business time is
/// left (negative: over by that much).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaBrief {
    /// `ok`, `warning`, `breached`, `paused` or `met`.
    pub level: &'static str,
    /// `response` or `resolution`, when a clock is running.
    pub clock: Option<&'static str>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub due_at: Option<NaiveDateTime>,
    pub remaining_minutes: Option<i64>,
}

/// What one escalation level does to a ticket, handed by the SLA job to the escalation hook
/// of the ticket's kind (`tickets::kind::KindSpec::escalate`).
#[derive(Debug, Clone)]
pub struct AutomaticEscalation<'a> {
    /// The team to hand the ticket to; `None` keeps it with its team.
    pub to_team: Option<i64>,
    /// The level to raise it to. Never lowered; without one, a hand-over to another team
    /// raises it by one, like a person's functional escalation.
    pub to_level: Option<i32>,
    /// Why, for the timeline: "automatic: rule 7 of L1 デスク (…)".
    pub reason: &'a str,
    /// Facts for the timeline event and the audit row: the rule, its trigger, who was told.
    pub details: serde_json::Value,
}
