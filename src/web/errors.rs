//! Turns errors into what the client expects: on `/api` the JSON error format (also for
//! actix's own errors such as a malformed query string), on pages a rendered error page in the
//! user's language, and a redirect to the login page when a page needs a session.
//! Pages that re-render a form with field errors return a normal response and pass untouched.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use tera::Context;

use super::flash;
use super::i18n::translate;
use super::templates::{render_status, request_lang};
use crate::error::AppError;

/// Marker left by the access middleware when an idle session was ended.
#[derive(Clone, Copy)]
pub struct SessionExpired;

pub async fn handle(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The request cannot be cloned before routing (the router needs it unshared), so only
    // responses are handled here; handler and middleware errors all arrive as responses.
    let res = next.call(req).await?.map_into_boxed_body();
    let request = res.request().clone();
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let Some(error) = res.response().error() else {
        return Ok(res);
    };
    let app_error = error.as_error::<AppError>();
    let is_api = super::is_api(&request);

    if is_api {
        if app_error.is_some() {
            return Ok(res);
        }
        // actix's own extractor errors, in our format.
        let wrapped = if status.is_client_error() {
            AppError::BadRequest(error.to_string())
        } else {
            AppError::internal(anyhow::anyhow!("{error}"))
        };
        let mut response = wrapped.error_response();
        *response.status_mut() = if status == StatusCode::PAYLOAD_TOO_LARGE {
            status
        } else {
            wrapped.status_code()
        };
        return Ok(ServiceResponse::new(request, response));
    }

    // A scraper is not a browser: `/metrics` without credentials answers 401, not the sign-in page.
    if matches!(app_error, Some(AppError::Unauthenticated)) && super::routing_path(&request) != "/metrics" {
        return Ok(ServiceResponse::new(request.clone(), login_redirect(&request)));
    }
    let headers = res.response().headers().clone();
    let body_key = match app_error {
        Some(AppError::CsrfRejected) => "csrf-failed".to_string(),
        _ => format!("error-page-body-{}", page_code(status)),
    };
    let lang = request_lang(&request);
    let mut context = Context::new();
    // A refused form that could not be drawn again (its extractor refused it before the
    // handler ran, e.g. a control character): the page still names each field and why.
    let fields: Vec<(String, String)> = match app_error {
        Some(AppError::Validation(errors)) => errors.translated(lang).into_iter().collect(),
        _ => Vec::new(),
    };
    context.insert("fields", &fields);
    context.insert("status", &status.as_u16());
    context.insert(
        "title",
        &translate(lang, &format!("error-page-title-{}", page_code(status))),
    );
    context.insert("message", &translate(lang, &body_key));
    let mut response = match render_status(&request, status, "errors/error.html", context) {
        Ok(page) => page,
        Err(e) => {
            tracing::error!(error = ?e, "error page failed to render");
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(status.to_string())
        }
    };
    // The page is new, but what the inner layers said about retrying and caching still holds
    // (an error page for a signed-in user shows their name: `no-store`, as the access layer set).
    for name in [header::RETRY_AFTER, header::CACHE_CONTROL] {
        if let Some(value) = headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    Ok(ServiceResponse::new(request, response))
}

fn page_code(status: StatusCode) -> u16 {
    match status.as_u16() {
        code @ (400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 503 | 507) => code,
        code if code < 500 => 400,
        _ => 500,
    }
}

/// 303 to the login page, remembering the page asked for (GET only; a form post cannot be replayed).
fn login_redirect(req: &HttpRequest) -> HttpResponse {
    if req.extensions().get::<SessionExpired>().is_some() {
        flash::push(&req.get_session(), flash::Kind::Info, "session-expired");
    }
    let location = if req.method() == actix_web::http::Method::GET {
        let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        format!("/login?next={encoded}")
    } else {
        "/login".to_string()
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The page to go to after signing in or switching language, from user input: only a local
/// path, one that starts with a single `/` and holds no control character (a tab or line
/// break that browsers drop, turning `/\t/evil.example` into `//evil.example`) and no
/// backslash (which browsers read as `/`). Anything else means `/`. Characters outside ASCII
/// are percent-encoded so the value is always a valid `Location` header.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            let mut out = String::with_capacity(path.len());
            for c in path.chars() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    let mut buf = [0u8; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{byte:02X}"));
                    }
                }
            }
            out
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next(Some("/admin/users?q=a")), "/admin/users?q=a");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\u{b}/evil.example",
            "/\r\nSet-Cookie: a=b",
            "/a\\b",
            "/\u{7f}",
            "/\u{85}/evil.example",
            "",
            "evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(Some("/incidents?q=障害")), "/incidents?q=%E9%9A%9C%E5%AE%B3");
    }
}
