//! CSRF protection for the HTML side: a synchronizer token kept in the signed session, sent back
//! by every form as `csrf_token` (or the `X-CSRF-Token` header), checked in constant time by
//! [`protect`] for every unsafe method outside `/api`, together with an Origin check.
//! The JSON API uses bearer tokens and no cookies, so it needs neither.

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;

pub const SESSION_KEY: &str = "csrf";
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

/// The session's token, created on first use.
pub fn session_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(SESSION_KEY) {
        return token;
    }
    rotate(session)
}

/// Issues a new token (at login, so a token seen before login is worthless after).
pub fn rotate(session: &Session) -> String {
    let token = crate::auth::tokens::random_hex(48);
    if let Err(e) = session.insert(SESSION_KEY, &token) {
        tracing::error!(error = %e, "cannot store CSRF token in session");
    }
    token
}

fn is_unsafe(method: &actix_web::http::Method) -> bool {
    !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// The middleware. It buffers url-encoded bodies (up to the form limit) to read the field, then
/// hands the body on unchanged. Multipart uploads carry the token in the query string instead.
pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !is_unsafe(req.method()) || super::is_api(req.request()) {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    if !origin_allowed(req.request()) {
        tracing::warn!(origin = ?req.headers().get("origin"), "cross-origin form post refused");
        return Ok(req.error_response(AppError::CsrfRejected).map_into_right_body());
    }
    let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
    let mut provided = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query_token(req.query_string()));
    let is_form = req.content_type() == "application/x-www-form-urlencoded";
    if provided.is_none() && is_form {
        // Bounded like the form extractor that reads it next, so no legitimate form is cut short.
        let limit = super::body::form_limit(req.request());
        let (request, payload) = req.parts_mut();
        let body = match super::body::read(request, payload, limit).await {
            Ok(body) => body,
            Err(e) => return Ok(req.error_response(e).map_into_right_body()),
        };
        provided = form_token(&body);
        req.set_payload(bytes_to_payload(body));
    }
    let valid = match (expected, provided) {
        (Some(expected), Some(provided)) => expected.as_bytes().ct_eq(provided.as_bytes()).into(),
        _ => false,
    };
    if !valid {
        return Ok(req.error_response(AppError::CsrfRejected).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

fn query_token(query: &str) -> Option<String> {
    form_token(query.as_bytes())
}

fn form_token(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

fn bytes_to_payload(body: Bytes) -> actix_web::dev::Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    actix_web::dev::Payload::from(payload)
}

/// A state-changing request must come from our own pages: when the browser sends `Origin`
/// (or, failing that, `Referer`), its host must be the one the request was addressed to or the
/// configured base URL.
fn origin_allowed(req: &HttpRequest) -> bool {
    let source = req
        .headers()
        .get("origin")
        .or_else(|| req.headers().get("referer"))
        .and_then(|v| v.to_str().ok());
    let Some(source) = source else { return true };
    let Ok(source) = url::Url::parse(source) else {
        return false;
    };
    let Some(source_host) = source.host_str() else {
        return false;
    };
    let source_authority = match source.port() {
        Some(port) => format!("{source_host}:{port}"),
        None => source_host.to_string(),
    };
    let own_host = req.connection_info().host().to_string();
    if source_authority.eq_ignore_ascii_case(&own_host) {
        return true;
    }
    req.app_data::<actix_web::web::Data<AppState>>().is_some_and(|state| {
        let base = &state.config.base_url;
        base.host_str() == Some(source_host) && base.port_or_known_default() == source.port_or_known_default()
    })
}
