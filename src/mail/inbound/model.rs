//! Rows of `mail_inbound`: one per received message.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::mail_inbound;

/// A received message and what became of it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = mail_inbound)]
pub struct InboundMail {
    pub id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub received_at: NaiveDateTime,
    pub received_by: Option<i64>,
    /// SHA-256 of the raw message (its file name under the data folder).
    pub sha256: String,
    pub from_address: String,
    #[schema(example = "佐藤 花子")]
    pub from_name: String,
    pub subject: String,
    pub message_id: String,
    pub team_id: Option<i64>,
    /// What the gateway asked for: `` (decide), `new` or `comment`.
    pub requested_action: String,
    /// `received` (stored, not yet processed), `processed`, `ignored`, `unparseable`, `failed`.
    pub state: String,
    /// `comment`, `new_ticket`, `reopened`, `ignored`, `unparseable`, or empty.
    pub outcome: String,
    /// Why it was ignored (`auto_submitted`, `precedence`, `empty_return_path`, `mailer_daemon`,
    /// `bounce`, `own_mail`, `no_ticket`), or how it was matched (`message_id`, `subject_token`,
    /// `new`, `closed_ticket`).
    pub reason: String,
    /// The ticket it was added to or opened.
    pub ticket_id: Option<i64>,
    /// An automatic message: nothing may answer it by mail.
    pub no_auto_reply: bool,
    pub error: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = mail_inbound)]
pub struct NewInboundMail<'a> {
    pub received_at: NaiveDateTime,
    pub received_by: Option<i64>,
    pub sha256: &'a str,
    pub from_address: &'a str,
    pub from_name: &'a str,
    pub subject: &'a str,
    pub message_id: &'a str,
    pub team_id: Option<i64>,
    pub requested_action: &'a str,
    pub state: &'a str,
    pub outcome: &'a str,
    pub reason: &'a str,
    pub ticket_id: Option<i64>,
    pub no_auto_reply: bool,
    pub error: &'a str,
}

/// What processing decided, written back to the row.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = mail_inbound)]
pub struct Outcome<'a> {
    pub state: &'a str,
    pub outcome: &'a str,
    pub reason: &'a str,
    pub ticket_id: Option<i64>,
    pub no_auto_reply: bool,
    pub error: &'a str,
}

/// The gateway's flags (`--team`, `--action`), as query parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct GatewayOptions {
    /// Team (name or id) of a new incident; else `MAMORI_MAIL_DEFAULT_TEAM`, else the first team.
    pub team: Option<String>,
    /// `new`: always a new incident; `comment`: only a comment on a known ticket (else
    /// ignored); absent: decided by threading.
    pub action: Option<String>,
}

/// The answer to the gateway: the stored row and the ticket it concerns.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboundMailView {
    #[serde(flatten)]
    pub mail: InboundMail,
    /// The reference (`INC-000123`) of `ticket_id`.
    pub ticket_reference: Option<String>,
}
