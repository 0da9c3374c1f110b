//! `/api/v1/profile/mail-preferences`: which events the signed-in user receives by mail.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::service::{self, Preference};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::json::Json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/profile/mail-preferences", web::get().to(preferences))
        .route("/profile/mail-preferences", web::put().to(set_preferences));
}

/// Every mail event and whether the user receives it by mail.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MailPreferences {
    /// Events not named in a `PUT` keep their setting.
    pub preferences: Vec<Preference>,
}

/// The signed-in user's mail preferences (defaults: assigned, escalated, SLA breach).
#[utoipa::path(get, path = "/api/v1/profile/mail-preferences", tag = "users", operation_id = "get_mail_preferences",
    responses((status = 200, description = "Mail preferences", body = MailPreferences)))]
pub(crate) async fn preferences(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let user_id = user.id;
    let preferences = state.db(move |conn| service::preferences(conn, user_id)).await?;
    Ok(HttpResponse::Ok().json(MailPreferences { preferences }))
}

/// Sets the signed-in user's choices for the events named; an unknown event is a 422.
#[utoipa::path(put, path = "/api/v1/profile/mail-preferences", tag = "users", operation_id = "set_mail_preferences",
    request_body = MailPreferences,
    responses((status = 200, description = "Mail preferences after the change", body = MailPreferences)))]
pub(crate) async fn set_preferences(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: Json<MailPreferences>,
) -> Result<HttpResponse, AppError> {
    let (actor, user_id, now, input) = (user.actor(&req), user.id, state.clock.now(), body.into_inner());
    let preferences = state
        .db(move |conn| service::set_preferences(conn, &actor, user_id, &input.preferences, now))
        .await?;
    Ok(HttpResponse::Ok().json(MailPreferences { preferences }))
}
