//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers; 503 otherwise, so a load balancer takes the instance out.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.backend;
    let result = state
        .db(|conn| conn.batch_execute("SELECT 1").map_err(Into::into))
        .await;
    match result {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready", "database": backend })),
        Err(e) => {
            tracing::warn!(error = ?e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable", "database": backend }))
        }
    }
}
