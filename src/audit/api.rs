//! `GET /api/v1/audit?entity_type=&entity_id=&action=&actor=&before=&limit=` (administrators).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::model::AuditFilter;
use super::service;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::PageBefore;
use crate::web::query::Query;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

// Not `#[serde(flatten)]`: flattened query strings lose their number types.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// `user`, `team`, `incident`, ...
    entity_type: Option<String>,
    entity_id: Option<String>,
    action: Option<String>,
    actor: Option<String>,
    /// Keyset cursor: `next_before` of the previous page.
    before: Option<i64>,
    /// Page size, 1 to 100 (default 100).
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct EntryJson {
    id: i64,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    at: chrono::NaiveDateTime,
    actor_id: Option<i64>,
    actor: String,
    action: String,
    entity_type: String,
    entity_id: String,
    /// The record before the change (JSON), if any.
    before: Option<serde_json::Value>,
    /// The record after the change (JSON), if any.
    after: Option<serde_json::Value>,
    ip: Option<String>,
}

/// The audit log, newest first (administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit", params(AuditQuery),
    responses((status = 200, description = "A page of audit entries", body = PageBefore<EntryJson>)))]
pub(crate) async fn list(state: web::Data<AppState>, query: Query<AuditQuery>) -> Result<HttpResponse, AppError> {
    let AuditQuery {
        entity_type,
        entity_id,
        action,
        actor,
        before,
        limit,
    } = query.into_inner();
    let filter = AuditFilter {
        entity_type,
        entity_id,
        action,
        actor,
        before,
    };
    let limit = limit.unwrap_or(service::MAX_PAGE);
    let (entries, next_before) = state.db(move |conn| service::browse(conn, &filter, limit)).await?;
    let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
    let items: Vec<EntryJson> = entries
        .into_iter()
        .map(|e| EntryJson {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            actor: e.actor_label,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            before: parse(e.before_json),
            after: parse(e.after_json),
            ip: e.ip,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PageBefore { items, next_before }))
}
