//! Teams: rows, inserts and views.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::teams;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub description: String,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = teams)]
pub struct NewTeam<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TeamInput {
    #[schema(example = "ネットワーク運用チーム")]
    pub name: String,
    #[schema(example = "社内ネットワークと VPN の一次対応")]
    pub description: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub member_count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: i64,
    pub display_name: String,
    pub email: String,
    pub role: String,
}
