//! Shared plumbing for the HTML side and HTTP in general: templates and rendering, i18n, CSRF,
//! flash messages, error pages, form, JSON body and query string extraction (and the body size limits,
//! and the refusal of control characters in text input),
//! security headers, static files.

pub mod body;
pub mod csrf;
pub mod csv;
pub mod errors;
pub mod flash;
pub mod forms;
pub mod i18n;
pub mod idempotency;
pub mod json;
pub mod openapi;
pub mod query;
pub mod templates;
pub mod text;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::AppError;

/// Cookie remembering the language chosen before signing in.
pub const LANG_COOKIE: &str = "mamori_lang";

/// Security headers on every response. No inline scripts or styles anywhere, so the CSP is strict.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; \
             form-action 'self'; frame-ancestors 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=()"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"));
    if https {
        headers.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"))
    } else {
        headers
    }
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when configured
/// to trust a proxy in front.
pub fn client_ip(req: &HttpRequest, trust_proxy_headers: bool) -> String {
    if trust_proxy_headers {
        if let Some(ip) = req.connection_info().realip_remote_addr() {
            return ip.to_string();
        }
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The request path as routing sees it: percent-decoded (except `%2F`, `%25` and `%2B`), so
/// `/%61pi/v1/me` is `/api/v1/me`. Every decision about a path is made on this, never on the
/// raw `req.path()`, or an encoded path would be routed one way and checked another.
pub fn routing_path(req: &HttpRequest) -> &str {
    req.match_info().as_str()
}

/// Whether the request is for the JSON API (bearer tokens, no cookies, no CSRF, JSON errors).
/// The one place that decides it.
pub fn is_api(req: &HttpRequest) -> bool {
    let path = routing_path(req);
    path == "/api" || path.starts_with("/api/")
}

pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `GET /static/{path}` from the files embedded in the binary.
pub async fn static_file(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let file = templates::StaticFiles::get(&path).ok_or(AppError::NotFound)?;
    let mime = mime_guess::from_path(path.as_str()).first_or_octet_stream();
    Ok(HttpResponse::Ok()
        .content_type(mime.as_ref())
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(file.data.into_owned()))
}

/// Fallback for unknown paths.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// The end of a page action on a ticket: on success a flash that names what happened and a
/// 303 back to `back` (the ticket's page); a refused form (422) re-rendered by `rerender` with
/// the field errors translated for the reader (the page again, each error beside its field);
/// any other error as it is.
pub async fn after_action<T, R, Fut>(
    req: &HttpRequest,
    session: &actix_session::Session,
    outcome: Result<T, AppError>,
    flash_key: &str,
    back: &str,
    rerender: R,
) -> Result<HttpResponse, AppError>
where
    R: FnOnce(std::collections::BTreeMap<String, String>) -> Fut,
    Fut: std::future::Future<Output = Result<HttpResponse, AppError>>,
{
    match outcome {
        Ok(_) => {
            flash::push(session, flash::Kind::Success, flash_key);
            Ok(redirect(back))
        }
        Err(AppError::Validation(errors)) => rerender(errors.translated(templates::request_lang(req))).await,
        Err(e) => Err(e),
    }
}

/// [`after_action`] for a page that has no form of its own to re-render (the shared
/// `/tickets/{id}/…` actions): a refused form goes to the error page, which names each field
/// and its reason (422).
pub fn flash_back<T>(
    session: &actix_session::Session,
    outcome: Result<T, AppError>,
    flash_key: &str,
    back: &str,
) -> Result<HttpResponse, AppError> {
    outcome?;
    flash::push(session, flash::Kind::Success, flash_key);
    Ok(redirect(back))
}
