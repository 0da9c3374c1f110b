//! `POST /api/v1/inbound-mail` (the gateway's endpoint) and `GET /api/v1/inbound-mail/{id}/raw`.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};

use super::model::{GatewayOptions, InboundMailView};
use super::service;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::query::Query;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/inbound-mail", web::post().to(receive))
        .route("/inbound-mail/{id}/raw", web::get().to(raw));
}

/// Receives one raw message (`message/rfc822`), as `mamori mailgate` sends it.
#[utoipa::path(post, path = "/api/v1/inbound-mail", tag = "mail", operation_id = "receive_mail",
    summary = "Receives one incoming mail",
    description = "The body is the raw RFC 822 message. It is stored first (never lost), then becomes a comment on the ticket it answers (by our Message-IDs, then by the `[INC-000123]` subject token), a new incident (channel `mail`), or is ignored with a reason (auto-replies, bounces, lists, our own mail). Larger than `MAMORI_MAIL_MAX_BYTES`: 413. Not readable as mail: 422, the message kept for admins.",
    params(GatewayOptions),
    request_body(content = Vec<u8>, content_type = "message/rfc822"),
    responses(
        (status = 201, description = "Stored (and processed); the outcome says what became of it", body = InboundMailView),
        (status = 413, description = "Larger than MAMORI_MAIL_MAX_BYTES"),
        (status = 422, description = "Not readable as mail (kept), or an unknown team or action")))]
pub(crate) async fn receive(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<GatewayOptions>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let limit = state.config.mail_max_bytes;
    let raw = match crate::web::body::read(&req, &mut payload.into_inner(), limit).await {
        Err(AppError::PayloadTooLarge) => return Ok(too_large(limit)),
        other => other?,
    };
    let (actor, now, options, config) = (
        user.actor(&req),
        state.clock.now(),
        query.into_inner(),
        state.config.clone(),
    );
    let view = state
        .db(move |conn| service::receive(conn, &config, &actor, now, &raw, &options))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// 413 in the API's error format, naming the limit and its setting.
fn too_large(limit: usize) -> HttpResponse {
    HttpResponse::PayloadTooLarge().json(serde_json::json!({
        "error": {
            "code": "payload_too_large",
            "message": format!(
                "the message is larger than {} bytes ({} MB), the limit set by MAMORI_MAIL_MAX_BYTES",
                limit,
                limit / (1024 * 1024)
            ),
            "fields": {},
        }
    }))
}

/// The raw message as received, for admins and for those who may see its ticket.
#[utoipa::path(get, path = "/api/v1/inbound-mail/{id}/raw", tag = "mail", operation_id = "download_mail",
    params(("id" = i64, Path, example = 1, description = "Received mail id")),
    responses((status = 200, description = "The message as received", content_type = "message/rfc822", body = Vec<u8>)))]
pub(crate) async fn raw(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    download(&state, user, path.into_inner()).await
}

/// Shared with the page route the timeline links to.
pub(crate) async fn download(state: &AppState, user: CurrentUser, id: i64) -> Result<HttpResponse, AppError> {
    let config = state.config.clone();
    let user = user.0;
    let (mail, bytes) = state.db(move |conn| service::raw(conn, &config, &user, id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("message/rfc822")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(format!("mail-{}.eml", mail.id))],
        })
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}
