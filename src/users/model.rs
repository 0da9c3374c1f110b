//! Users: rows, inserts, changes, and the views handed to pages and the API.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{api_tokens, users};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub locale: String,
    pub time_zone: String,
    pub active: bool,
    pub last_login_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub locale: &'a str,
    pub time_zone: &'a str,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What the outside world sees of a user (never the password hash); also the audit snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub locale: String,
    pub time_zone: String,
    pub active: bool,
    pub team_ids: Vec<i64>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub last_login_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
}

impl UserView {
    pub fn new(user: &User, team_ids: Vec<i64>) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            role: user.role.clone(),
            locale: user.locale.clone(),
            time_zone: user.time_zone.clone(),
            active: user.active,
            team_ids,
            last_login_at: user.last_login_at,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// Input for creating a user, from a form, the API or the CLI. Raw strings: validation
/// (in `rules`) turns them into field errors rather than deserialisation failures.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct UserInput {
    #[schema(example = "sato@example.co.jp")]
    pub email: String,
    #[schema(example = "佐藤 花子")]
    pub display_name: String,
    /// `helpdesk`, `engineer`, `manager` or `admin`.
    #[schema(example = "engineer")]
    pub role: String,
    pub locale: String,
    pub time_zone: String,
    #[serde(skip_serializing)]
    pub password: String,
    pub team_ids: Vec<i64>,
}

/// Input for changing a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
    pub team_ids: Option<Vec<i64>>,
}

/// A user's own preferences (profile page, language switch).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PreferencesInput {
    pub display_name: String,
    pub locale: String,
    pub time_zone: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub token_prefix: String,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub last_used_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::serialize_option")]
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub token_prefix: &'a str,
    pub created_at: NaiveDateTime,
}

/// Filters for the user list; keyset pagination by id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub role: Option<String>,
    pub after: Option<i64>,
}
