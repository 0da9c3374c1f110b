//! JSON API for administrators: the backup settings, the runs, and "back up now".

use actix_web::{web, HttpRequest, HttpResponse};

use super::model::{BackupRun, BackupSettings, SettingsInput};
use super::{job, pages::RUNS_SHOWN, queries, service};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::{Items, Json};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/backup-settings")
            .route(web::get().to(settings))
            .route(web::put().to(update_settings)),
    )
    .service(
        web::resource("/admin/backups")
            .route(web::get().to(runs))
            .route(web::post().to(run_now)),
    )
    .service(
        web::resource("/admin/retention-periods")
            .route(web::get().to(retention_periods))
            .route(web::put().to(update_retention_periods)),
    );
}

/// The backup schedule, target folder, retention and the team told of failures.
#[utoipa::path(get, path = "/api/v1/admin/backup-settings", tag = "operations", operation_id = "backup_settings",
    responses((status = 200, description = "The backup settings", body = BackupSettings)))]
pub(crate) async fn settings(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let settings = state.db(|conn| Ok(queries::settings(conn)?)).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Replaces the backup settings (every field; 422 names a wrong one).
#[utoipa::path(put, path = "/api/v1/admin/backup-settings", tag = "operations", operation_id = "update_backup_settings",
    request_body = SettingsInput,
    responses((status = 200, description = "The saved settings", body = BackupSettings)))]
pub(crate) async fn update_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<SettingsInput>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let saved = state
        .db(move |conn| service::update_settings(conn, &actor, now, &input))
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// The latest backup runs, newest first, with size, duration and restore test.
#[utoipa::path(get, path = "/api/v1/admin/backups", tag = "operations", operation_id = "list_backups",
    responses((status = 200, description = "The latest runs", body = Items<BackupRun>)))]
pub(crate) async fn runs(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let items = state.db(|conn| Ok(queries::recent_runs(conn, RUNS_SHOWN)?)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Backs up now and tests the restore (synchronously); 409 while another run is going.
#[utoipa::path(post, path = "/api/v1/admin/backups", tag = "operations", operation_id = "run_backup",
    responses((status = 201, description = "The finished run (see `result` and `verification`)", body = BackupRun)))]
pub(crate) async fn run_now(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let (actor, now, data_dir) = (user.actor(&req), state.clock.now(), state.config.data_dir.clone());
    let run = state
        .db(move |conn| job::run_now(conn, &data_dir, job::instance_id(), &actor, now))
        .await?;
    Ok(HttpResponse::Created().json(run))
}

/// How long each prunable kind of record is kept, in days (0: for ever).
#[utoipa::path(get, path = "/api/v1/admin/retention-periods", tag = "operations", operation_id = "retention_periods",
    responses((status = 200, description = "Every prunable table's period", body = crate::retention::model::Periods)))]
pub(crate) async fn retention_periods(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let periods = state.db(crate::retention::service::periods).await?;
    Ok(HttpResponse::Ok().json(periods))
}

/// Sets the periods given (others keep theirs); 422 names `days.<table>` for a wrong one.
#[utoipa::path(put, path = "/api/v1/admin/retention-periods", tag = "operations", operation_id = "update_retention_periods",
    request_body = crate::retention::model::Periods,
    responses((status = 200, description = "Every prunable table's period", body = crate::retention::model::Periods)))]
pub(crate) async fn update_retention_periods(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<crate::retention::model::Periods>,
) -> Result<HttpResponse, AppError> {
    let (actor, now, input) = (user.actor(&req), state.clock.now(), body.into_inner());
    let saved = state
        .db(move |conn| crate::retention::service::update_periods(conn, &actor, now, &input))
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}
