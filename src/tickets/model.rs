//! Ticket core rows and timeline events.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{ticket_events, ticket_facts, tickets};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Incident,
    Problem,
    Change,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Incident => "incident",
            Kind::Problem => "problem",
            Kind::Change => "change",
        }
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Incident => "INC",
            Kind::Problem => "PRB",
            Kind::Change => "CHG",
        }
    }

    /// `INC-000123`.
    pub fn reference(self, number: i64) -> String {
        format!("{}-{number:06}", self.prefix())
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = tickets)]
pub struct Ticket {
    pub id: i64,
    pub kind: String,
    pub number: i64,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: String,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub reporter_id: Option<i64>,
    pub version: i32,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub closed_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tickets)]
pub struct NewTicket<'a> {
    pub kind: &'a str,
    pub number: i64,
    pub reference: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub priority: &'a str,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub reporter_id: Option<i64>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = ticket_events)]
pub struct Event {
    pub id: i64,
    #[serde(skip)]
    pub ticket_id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub visibility: String,
    pub body: String,
    #[serde(skip)]
    pub data: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ticket_events)]
pub struct NewEvent<'a> {
    pub ticket_id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub kind: &'a str,
    pub visibility: &'a str,
    pub body: &'a str,
    pub data: Option<String>,
}

/// An event as shown on the timeline: with the actor's name and its structured data.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub kind: String,
    pub visibility: String,
    pub body: String,
    pub data: serde_json::Value,
}

/// The facts of a ticket the SLA engine runs on, all held by the core (`tickets` and
/// `ticket_facts`). A use case that has just written them fills this itself and passes it in
/// (`sla::service::refresh_with`); other callers read it with `tickets::queries::clock_facts`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ClockFacts {
    pub ticket_id: i64,
    pub kind: String,
    pub priority: String,
    pub team_id: Option<i64>,
    /// What the policies match on besides kind, priority and team.
    pub category: String,
    pub service: String,
    /// When the clocks start: an incident's reported time, a problem's creation.
    pub started_at: NaiveDateTime,
    /// The first response the kind recorded itself (an incident's acknowledgement); status
    /// updates and reaching a `Responded` status count too (read from the history).
    pub first_response_at: Option<NaiveDateTime>,
}

/// The `ticket_facts` row a kind writes when it creates a ticket.
#[derive(Debug, Insertable)]
#[diesel(table_name = ticket_facts)]
pub struct NewFacts<'a> {
    pub ticket_id: i64,
    pub category: &'a str,
    pub service: &'a str,
    pub started_at: NaiveDateTime,
    pub first_response_at: Option<NaiveDateTime>,
}
