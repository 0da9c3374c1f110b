//! Incident rows, inputs and views.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::incidents;
use crate::tickets::model::{EventView, Ticket};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = incidents)]
pub struct Incident {
    #[serde(skip)]
    pub ticket_id: i64,
    pub impact: String,
    pub urgency: String,
    pub channel: String,
    pub category: String,
    pub service: String,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub reported_at: NaiveDateTime,
    pub escalation_level: i32,
    pub hold_reason: Option<String>,
    #[serde(skip)]
    pub held_from: Option<String>,
    pub workaround: Option<String>,
    pub resolution: Option<String>,
    pub resolution_kind: Option<String>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub acknowledged_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub mitigated_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub resolved_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = incidents)]
pub struct NewIncident<'a> {
    pub ticket_id: i64,
    pub impact: &'a str,
    pub urgency: &'a str,
    pub channel: &'a str,
    pub category: &'a str,
    pub service: &'a str,
    pub reported_at: NaiveDateTime,
    pub escalation_level: i32,
}

/// A new incident from a form, the API or monitoring. Strings, so validation reports fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct IncidentInput {
    #[schema(example = "VPN 接続不可")]
    pub title: String,
    #[schema(example = "本社3階の複数名から、9時頃より VPN に接続できないとの連絡あり。")]
    pub description: String,
    /// `high`, `medium` or `low`; with `urgency` it decides the priority.
    #[schema(example = "high")]
    pub impact: String,
    /// `high`, `medium` or `low`.
    #[schema(example = "high")]
    pub urgency: String,
    /// `phone`, `mail`, `web`, `monitoring` or `api` (the default through the API).
    #[schema(example = "phone")]
    pub channel: String,
    #[schema(example = "ネットワーク")]
    pub category: String,
    #[schema(example = "社内VPN")]
    pub service: String,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` in the user's zone (HTML datetime-local); empty = now.
    pub reported_at: String,
    /// The person the incident is for, when not who files it: a user ...
    pub requester_id: Option<i64>,
    /// ... or the address of someone without an account.
    #[schema(example = "tanaka@example.co.jp")]
    pub requester_email: String,
}

/// An incident as the API and pages see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: String,
    pub major: bool,
    pub team_id: Option<i64>,
    pub team: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub reporter_id: Option<i64>,
    pub version: i32,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub closed_at: Option<NaiveDateTime>,
    #[serde(flatten)]
    pub incident: Incident,
    pub allowed_actions: Vec<&'static str>,
    /// The SLA clocks: stored figures, or live with `explain` on the detail view.
    pub sla: Option<crate::sla::model::SlaView>,
    /// Problems behind this incident.
    pub problems: Vec<crate::tickets::queries::LinkedTicket>,
    /// Similar past incidents (detail view only): a cause is often found from past cases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similar: Option<Vec<Similar>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<EventView>>,
}

/// A row of an incident list (the select in `queries::rows_for` follows this field order).
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct IncidentRow {
    pub id: i64,
    #[schema(example = "INC-000186")]
    pub number: String,
    #[schema(example = "DB 応答遅延")]
    pub title: String,
    pub status: String,
    pub priority: String,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub category: String,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub reported_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
}

/// List filters; all optional. `view` picks a saved queue: mine, team, unassigned, major, open.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct IncidentFilter {
    pub view: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub category: Option<String>,
    /// The affected service, exactly.
    pub service: Option<String>,
    /// Only incidents that no problem covers (see
    /// [`crate::problems::queries::NOT_COVERED_BY_A_PROBLEM`]): what a problem candidate counts.
    pub without_problem: Option<bool>,
    pub q: Option<String>,
    /// Keyset cursor: the id of the last incident of the previous page (in the list's order).
    pub before: Option<i64>,
    /// Order: `newest` (default), `oldest`, `priority` (P1 first, longest waiting first within
    /// a priority) or `updated` (most recently changed first). `relevance` (a text search's best matches
    /// first). A search is newest first unless `relevance` is asked for.
    pub sort: Option<String>,
    /// Page size for API clients (at most 100).
    pub limit: Option<i64>,
    /// Reported on or after this day (YYYY-MM-DD, in the user's time zone).
    pub from: Option<String>,
    /// Reported on or before this day (YYYY-MM-DD, in the user's time zone).
    pub to: Option<String>,
    /// `include` lists archived incidents too; left out by default (`exclude`).
    pub archived: Option<String>,
}

/// The ticket and its incident row together.
pub type Loaded = (Ticket, Incident);

/// A past incident like this one, and why it was chosen.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Similar {
    #[serde(flatten)]
    pub ticket: crate::tickets::queries::LinkedTicket,
    pub same_category_or_service: bool,
    pub similar_text: bool,
}

impl IncidentInput {
    /// The requester fields, for `tickets::watchers::create_with_requester`.
    pub fn requester(&self) -> crate::tickets::watchers::RequesterInput {
        crate::tickets::watchers::RequesterInput {
            requester_id: self.requester_id,
            requester_email: self.requester_email.clone(),
        }
    }
}
