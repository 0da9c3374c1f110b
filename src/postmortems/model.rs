//! Post-mortem and action-item rows and views.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{action_items, postmortems};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = postmortems)]
pub struct Postmortem {
    pub id: i64,
    pub incident_id: i64,
    pub status: String,
    pub sections: String,
    pub impact_started_at: NaiveDateTime,
    pub impact_mitigated_at: Option<NaiveDateTime>,
    pub impact_resolved_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
}

/// The written sections of a report. Blameless: about systems and decisions, not people.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(default)]
pub struct Sections {
    pub summary: String,
    pub impact: String,
    pub detection: String,
    pub root_cause: String,
    pub resolution: String,
    pub timeline: String,
    pub went_well: String,
    pub went_badly: String,
    pub lucky: String,
}

impl Sections {
    pub const NAMES: [&'static str; 9] = [
        "summary",
        "impact",
        "detection",
        "root_cause",
        "resolution",
        "timeline",
        "went_well",
        "went_badly",
        "lucky",
    ];
}

/// Changes to a report; absent sections stay as they are, a section sent empty (or `null`) is
/// cleared.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SectionsPatch {
    pub version: Option<i32>,
    #[serde(deserialize_with = "sent")]
    pub summary: Option<String>,
    #[serde(deserialize_with = "sent")]
    pub impact: Option<String>,
    #[serde(deserialize_with = "sent")]
    pub detection: Option<String>,
    #[serde(deserialize_with = "sent")]
    pub root_cause: Option<String>,
    #[serde(deserialize_with = "sent")]
    pub resolution: Option<String>,
    #[serde(deserialize_with = "sent")]
    pub timeline: Option<String>,
    #[serde(deserialize_with = "sent")]
    pub went_well: Option<String>,
    #[serde(deserialize_with = "sent")]
    pub went_badly: Option<String>,
    #[serde(deserialize_with = "sent")]
    pub lucky: Option<String>,
}

/// A sent section, empty included: HTML forms send a cleared textarea as an empty value, which
/// the form decoder would otherwise take for "not sent" and leave the old text in place.
fn sent<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Some(Option::<String>::deserialize(deserializer)?.unwrap_or_default()))
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = action_items)]
pub struct ActionItem {
    pub id: i64,
    pub postmortem_id: i64,
    pub title: String,
    pub owner_id: i64,
    pub due_on: String,
    pub status: String,
    pub problem_id: Option<i64>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub done_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ActionItemInput {
    #[schema(example = "DB ディスク使用率の監視閾値を見直す")]
    pub title: String,
    pub owner_id: Option<i64>,
    /// YYYY-MM-DD
    pub due_on: String,
    pub problem_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionItemView {
    #[serde(flatten)]
    pub item: ActionItem,
    pub owner: String,
    pub overdue: bool,
    pub incident_id: i64,
    pub incident_number: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostmortemView {
    pub id: i64,
    pub incident_id: i64,
    pub incident_number: String,
    pub incident_title: String,
    pub priority: String,
    pub status: String,
    /// The status-changing steps allowed now (`submit`, `return`, `publish`), whoever may
    /// take them.
    pub allowed_steps: Vec<&'static str>,
    pub version: i32,
    #[serde(flatten)]
    pub sections: Sections,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub impact_started_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub impact_mitigated_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub impact_resolved_at: Option<NaiveDateTime>,
    /// Minutes from the start of impact to restoration (mitigation, else resolution).
    pub duration_minutes: Option<i64>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub published_at: Option<NaiveDateTime>,
    pub action_items: Vec<ActionItemView>,
}
