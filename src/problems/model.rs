//! Problem rows, inputs and views.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::problems;
use crate::tickets::model::EventView;
use crate::tickets::queries::LinkedTicket;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = problems)]
pub struct Problem {
    #[serde(skip)]
    pub ticket_id: i64,
    pub root_cause: String,
    pub contributing_factors: String,
    pub five_whys: String,
    pub workaround: String,
    pub resolution: String,
    pub fix_due_on: Option<String>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub known_error_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub resolved_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProblemInput {
    #[schema(example = "月末バッチ実行時の DB 応答遅延")]
    pub title: String,
    pub description: String,
    pub priority: String,
    pub team_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// Incidents this problem is behind.
    pub incident_ids: Vec<i64>,
    /// 'YYYY-MM-DD'
    pub fix_due_on: String,
    /// The person the problem is for, when not who files it: a user ...
    pub requester_id: Option<i64>,
    /// ... or the address of someone without an account.
    #[schema(example = "tanaka@example.co.jp")]
    pub requester_email: String,
}

/// Root-cause analysis; also what `known-error` requires.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AnalysisInput {
    pub version: Option<i32>,
    #[schema(example = "バッチの全件走査クエリにインデックスが効いていない")]
    pub root_cause: String,
    pub contributing_factors: String,
    pub five_whys: String,
    pub workaround: String,
    pub fix_due_on: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProblemView {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: String,
    pub team_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub version: i32,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    /// The last activity on its timeline.
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
    #[serde(flatten)]
    pub problem: Problem,
    pub incidents: Vec<LinkedTicket>,
    pub allowed_actions: Vec<&'static str>,
    pub timeline: Vec<EventView>,
}

#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct ProblemRow {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub status: String,
    pub priority: String,
    pub owner: Option<String>,
    pub fix_due_on: Option<String>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
}

/// A category or service with enough recent incidents to deserve a problem.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    /// `category` or `service`.
    pub dimension: &'static str,
    pub value: String,
    pub incidents: i64,
    /// The incident list filtered to this value (URL-encoded query string).
    pub list_query: String,
}

impl ProblemInput {
    /// The requester fields, for `tickets::watchers::create_with_requester`.
    pub fn requester(&self) -> crate::tickets::watchers::RequesterInput {
        crate::tickets::watchers::RequesterInput {
            requester_id: self.requester_id,
            requester_email: self.requester_email.clone(),
        }
    }
}
