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
///
/// The body also reports the last backup (`backup.status`: `ok`, `failed` — the backup or its
/// restore test — or `none`). A failed backup does not make the instance unready: the instance
/// still serves correctly, and taking every instance out of the load balancer would turn a
/// backup problem into an outage. It is alerted on instead (an incident for the admin team,
/// and `/metrics`' backup age).
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
    let check = web::block(move || -> Result<serde_json::Value, AppError> {
        let mut conn = pool.get_timeout(READY_CHECKOUT)?;
        conn.batch_execute("SELECT 1")?;
        Ok(backup_status(crate::backup::queries::last_finished(&mut conn)?))
    });
    match actix_web::rt::time::timeout(READY_WITHIN, check).await {
        Ok(Ok(Ok(backup))) => {
            HttpResponse::Ok().json(json!({ "status": "ready", "database": backend, "backup": backup }))
        }
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

/// The last finished backup run as `/readyz` reports it.
fn backup_status(last: Option<crate::backup::model::BackupRun>) -> serde_json::Value {
    use crate::backup::model::{RESULT_SUCCEEDED, VERIFY_PASSED};
    match last {
        None => json!({ "status": "none" }),
        Some(run) => {
            let ok = run.result == RESULT_SUCCEEDED && run.verification == VERIFY_PASSED;
            json!({
                "status": if ok { "ok" } else { "failed" },
                "finished_at": run.finished_at.map(|t| crate::db::utc::format(&t)),
                "result": run.result,
                "verification": run.verification,
            })
        }
    }
}
