//! CMDB rows, inserts and views.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

use crate::db::schema::{ci_classes, ci_details, cis};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = ci_classes)]
pub struct CiClass {
    pub id: i64,
    /// snake_case (`business_service`, `server`, …).
    pub name: String,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cis)]
pub struct CiRow {
    pub id: i64,
    pub class_id: i64,
    pub name: String,
    pub environment: String,
    pub criticality: i32,
    pub status: String,
    pub owner_team_id: Option<i64>,
    pub location: String,
    pub host_name: String,
    pub ip_addresses: String,
    pub software_name: String,
    pub software_version: String,
    pub support_ends_on: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = ci_details)]
pub struct CiDetails {
    pub ci_id: i64,
    pub os_family: String,
    pub os_release: String,
    pub vendor: String,
    /// JSON object of text keys to text values.
    pub attributes: String,
    pub notes: String,
}

/// The columns of `cis` a create or an update writes (after validation).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = cis, treat_none_as_null = true)]
pub struct CiFields {
    pub class_id: i64,
    pub name: String,
    pub environment: String,
    pub criticality: i32,
    pub status: String,
    pub owner_team_id: Option<i64>,
    pub location: String,
    pub host_name: String,
    pub ip_addresses: String,
    pub software_name: String,
    pub software_version: String,
    pub support_ends_on: Option<String>,
}

/// A whole CI as the API returns it and the audit log keeps it (before/after).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Ci {
    pub id: i64,
    #[schema(example = "server")]
    pub class: String,
    #[schema(example = "web-prd-01")]
    pub name: String,
    #[schema(example = "production")]
    pub environment: String,
    #[schema(example = 2)]
    pub criticality: i32,
    #[schema(example = "active")]
    pub status: String,
    pub owner_team_id: Option<i64>,
    pub owner_team: Option<String>,
    pub location: String,
    pub host_name: String,
    pub ip_addresses: String,
    pub os_family: String,
    pub os_release: String,
    pub software_name: String,
    pub software_version: String,
    pub vendor: String,
    /// End of support, YYYY-MM-DD.
    pub support_ends_on: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub notes: String,
    pub version: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
}

/// One row of a CI list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CiSummary {
    pub id: i64,
    pub class: String,
    pub name: String,
    pub environment: String,
    pub criticality: i32,
    pub status: String,
    pub owner_team_id: Option<i64>,
    pub owner_team: Option<String>,
    pub host_name: String,
    pub ip_addresses: String,
    pub version: i64,
}

/// What a create or an update takes: `POST /api/v1/cis` (`{name, class, environment,
/// criticality, status, host_name, ...}`), the merged body of a PATCH, and the page form.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CiInput {
    #[schema(example = "web-prd-01")]
    pub name: String,
    #[schema(example = "server")]
    pub class: String,
    #[schema(example = "production")]
    pub environment: String,
    #[serde(deserialize_with = "int_or_text")]
    #[schema(value_type = i32, example = 2)]
    pub criticality: Option<i64>,
    #[schema(example = "active")]
    pub status: String,
    #[serde(deserialize_with = "int_or_text")]
    #[schema(value_type = Option<i64>)]
    pub owner_team_id: Option<i64>,
    pub location: String,
    #[schema(example = "web-prd-01.example.jp")]
    pub host_name: String,
    /// Comma- or space-separated IPv4/IPv6 addresses.
    #[schema(example = "10.0.1.11, 10.0.1.12")]
    pub ip_addresses: String,
    pub os_family: String,
    pub os_release: String,
    pub software_name: String,
    pub software_version: String,
    pub vendor: String,
    /// YYYY-MM-DD, or empty.
    #[schema(example = "2028-03-31")]
    pub support_ends_on: String,
    pub attributes: BTreeMap<String, String>,
    pub notes: String,
    /// The version the change was based on (optimistic locking); a stale one is a 409.
    #[serde(deserialize_with = "int_or_text")]
    #[schema(value_type = Option<i64>)]
    pub version: Option<i64>,
}

impl Default for CiInput {
    fn default() -> Self {
        Self {
            name: String::new(),
            class: String::new(),
            environment: "production".into(),
            criticality: Some(3),
            status: "active".into(),
            owner_team_id: None,
            location: String::new(),
            host_name: String::new(),
            ip_addresses: String::new(),
            os_family: String::new(),
            os_release: String::new(),
            software_name: String::new(),
            software_version: String::new(),
            vendor: String::new(),
            support_ends_on: String::new(),
            attributes: BTreeMap::new(),
            notes: String::new(),
            version: None,
        }
    }
}

impl CiInput {
    /// The stored CI as input: the base a PATCH merges into, and the edit form's values.
    pub fn from_ci(ci: &Ci) -> Self {
        Self {
            name: ci.name.clone(),
            class: ci.class.clone(),
            environment: ci.environment.clone(),
            criticality: Some(ci.criticality.into()),
            status: ci.status.clone(),
            owner_team_id: ci.owner_team_id,
            location: ci.location.clone(),
            host_name: ci.host_name.clone(),
            ip_addresses: ci.ip_addresses.clone(),
            os_family: ci.os_family.clone(),
            os_release: ci.os_release.clone(),
            software_name: ci.software_name.clone(),
            software_version: ci.software_version.clone(),
            vendor: ci.vendor.clone(),
            support_ends_on: ci.support_ends_on.clone().unwrap_or_default(),
            attributes: ci.attributes.clone(),
            notes: ci.notes.clone(),
            version: Some(ci.version),
        }
    }
}

/// A number from JSON (`2`), or from a form or a JSON string (`"2"`); empty or null is none.
fn int_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Int(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Raw::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("invalid digit found in string")),
    }
}

/// The page form: every field as text, free attributes as `key=value` lines.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CiForm {
    pub name: String,
    pub class: String,
    pub environment: String,
    pub criticality: String,
    pub status: String,
    pub owner_team_id: String,
    pub location: String,
    pub host_name: String,
    pub ip_addresses: String,
    pub os_family: String,
    pub os_release: String,
    pub software_name: String,
    pub software_version: String,
    pub vendor: String,
    pub support_ends_on: String,
    pub attributes: String,
    pub notes: String,
    pub version: String,
}

/// List filters of `/cmdb` and `GET /api/v1/cis`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CiFilter {
    /// Class name (`server`).
    pub class: Option<String>,
    pub status: Option<String>,
    pub environment: Option<String>,
    /// Owner team id.
    pub team_id: Option<i64>,
    /// Text in the name, host name or IP addresses.
    pub q: Option<String>,
    /// Keyset cursor: CIs with a smaller id (the `next_before` of the previous page).
    pub before: Option<i64>,
}

/// One field change of a CI, read from the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub changes: Vec<super::rules::FieldChange>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = crate::db::schema::ci_relationships)]
pub struct RelationshipRow {
    pub id: i64,
    pub from_id: i64,
    pub to_id: i64,
    pub kind: String,
    pub redundancy_group_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// `POST /api/v1/ci-relationships`: `from_id` depends on `to_id`. Edges of one CI that name
/// the same `redundancy_group` form a redundant group.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RelationshipInput {
    #[serde(deserialize_with = "int_or_text")]
    #[schema(value_type = Option<i64>, example = 12)]
    pub from_id: Option<i64>,
    #[serde(deserialize_with = "int_or_text")]
    #[schema(value_type = Option<i64>, example = 34)]
    pub to_id: Option<i64>,
    /// `depends_on`, `runs_on`, `connected_to` or `part_of`.
    #[schema(example = "runs_on")]
    pub kind: String,
    /// A name shared by the edges of one CI that back each other up (empty: not redundant).
    #[schema(example = "web-cluster")]
    pub redundancy_group: String,
}

/// A CI as a step of a path or an end of a relationship.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CiRef {
    pub id: i64,
    pub name: String,
    pub class: String,
    pub status: String,
}

/// A relationship with both ends named.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Relationship {
    pub id: i64,
    pub from_id: i64,
    pub to_id: i64,
    pub kind: String,
    pub redundancy_group: Option<String>,
    pub from: CiRef,
    pub to: CiRef,
}

/// `GET /api/v1/cis/{id}/impact` parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ImpactQuery {
    /// `down` (default): what fails when this CI fails; `up`: what it rests on.
    #[param(value_type = Option<String>)]
    pub direction: Option<super::impact::Direction>,
    /// Steps to follow, 1–50 (default 10).
    pub depth: Option<u32>,
}

/// One CI the impact reaches, with the chain of CIs that explains it (from the start).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ImpactItem {
    pub id: i64,
    pub name: String,
    pub class: String,
    pub status: String,
    pub depth: u32,
    pub path: Vec<CiRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Impact {
    pub ci: CiRef,
    pub direction: super::impact::Direction,
    pub depth: u32,
    pub items: Vec<ImpactItem>,
    /// Cycles met on the way, each a chain that starts and ends on the same CI.
    pub cycles: Vec<Vec<CiRef>>,
    /// The item bound cut the answer short.
    pub truncated: bool,
}
