//! Liveness and readiness for load balancers and orchestrators.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::error::AppError;
use crate::state::AppState;

/// `/readyz` answers within this, whatever the database does: a load balancer's probe must not
/// hang on a database that is down or stuck.
pub const READY_WITHIN: Duration = Duration::from_millis(600);

/// How long the readiness check waits for a pooled connection, inside [`READY_WITHIN`].
const READY_CHECKOUT: Duration = Duration::from_millis(400);

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers within [`READY_WITHIN`] and the last write did not fail for lack of
/// space; 503 otherwise, so a load balancer takes the instance out.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.backend;
    let unavailable = |reason: &str| {
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": backend, "reason": reason }))
    };
    if state.storage_full() {
        tracing::warn!("readiness check failed: the last write found the disk full");
        return unavailable("storage_full");
    }
    let pool = state.pool.clone();
    // The blocking thread may stay stuck on a dead connection after the answer; it ends when
    // the connection does.
    let check = web::block(move || -> Result<(), AppError> {
        let mut conn = pool.get_timeout(READY_CHECKOUT)?;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    });
    match actix_web::rt::time::timeout(READY_WITHIN, check).await {
        Ok(Ok(Ok(()))) => HttpResponse::Ok().json(json!({ "status": "ready", "database": backend })),
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = ?e, "readiness check failed");
            unavailable("database")
        }
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, "readiness check failed");
            unavailable("database")
        }
        Err(_) => {
            tracing::warn!("readiness check failed: the database did not answer in time");
            unavailable("database")
        }
    }
}
