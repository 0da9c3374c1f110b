//! `GET /api/v1/audit?entity_type=&entity_id=&action=&actor=&before=&limit=` (administrators),
//! `GET /api/v1/audit/export?since=` (the log as JSON lines with the chain's hashes, streamed).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::model::AuditFilter;
use super::service;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::PageBefore;
use crate::web::query::Query;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list))
        .route("/audit/export", web::get().to(export));
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// Only rows with a larger id (where the last export ended).
    since: Option<i64>,
}

/// The log in id order as JSON lines, one object per row with every column and the chain's
/// `prev_hash` and `row_hash` (for a SIEM); streamed, so memory stays bounded at any size.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", operation_id = "export_audit", params(ExportQuery),
    responses((status = 200, description = "JSON lines, one audit row each", content_type = "application/x-ndjson", body = String)))]
pub(crate) async fn export(state: web::Data<AppState>, query: Query<ExportQuery>) -> Result<HttpResponse, AppError> {
    let start = query.into_inner().since.unwrap_or(i64::MIN);
    let body = futures_util::stream::unfold(Some(start), move |after| {
        let state = state.clone();
        async move {
            let after = after?;
            match state.db(move |conn| service::export_batch(conn, after)).await {
                Ok(Some((lines, last))) => Some((Ok(web::Bytes::from(lines)), Some(last))),
                Ok(None) => None,
                Err(e) => {
                    // The status line is sent already: end the body early; the receiver sees
                    // a last line that is not followed by the rest.
                    tracing::error!(error = %e, "audit export failed");
                    Some((Err(actix_web::error::ErrorInternalServerError("export failed")), None))
                }
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson; charset=utf-8")
        .streaming(body))
}
