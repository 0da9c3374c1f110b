//! Reading request bodies, and the size limits in one place: [`LIMIT`] for everything read
//! through actix's own extractors (`PayloadConfig` in `server.rs`) and for anonymous JSON,
//! [`SIGNED_IN_LIMIT`] for page forms and JSON bodies of signed-in users (long post-mortems),
//! [`ANONYMOUS_FORM_LIMIT`] for forms without a session. Uploads have their own limit
//! (`MAMORI_MAX_UPLOAD_MB`, read by `attachments::routes::read_upload`).

use std::future::Future;

use actix_web::body::{to_bytes_limited, BodyStream};
use actix_web::dev::{Decompress, Payload};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::Bytes;
use actix_web::HttpRequest;

use crate::error::AppError;

/// Bodies without a limit of their own, and JSON from a client that is not signed in.
pub const LIMIT: usize = 1024 * 1024;

/// Page forms and JSON bodies of signed-in users. The largest legitimate one is a post-mortem
/// with every section at its maximum length. One character costs up to 12 bytes: url-encoded,
/// a 4-byte UTF-8 character such as 𠮷 or an emoji becomes `%F0%A0%AE%B7` (most Japanese text
/// costs 9: `障` is `%E9%9A%9C`); in JSON a client may escape it as `\ud842\udfb7`. So such a
/// body can reach about 5.4 MB: nine sections of 50,000 characters at 12 bytes. The 64 KiB on
/// top cover its other fields (CSRF token, version, the field names). Written out here, so web
/// depends on no domain; `postmortems::service`'s tests check its longest form still fits.
pub const SIGNED_IN_LIMIT: usize = 9 * 50_000 * 12 + 64 * 1024;

/// Forms of anonymous requests (sign-in, first setup): no need for more, and an anonymous
/// client must not make the server buffer megabytes.
pub const ANONYMOUS_FORM_LIMIT: usize = 64 * 1024;

fn signed_in(req: &HttpRequest) -> bool {
    use actix_web::HttpMessage;
    req.extensions().contains::<crate::auth::AuthUser>()
}

/// The form limit for this request: [`SIGNED_IN_LIMIT`] once the access middleware has found
/// a signed-in user, [`ANONYMOUS_FORM_LIMIT`] otherwise.
pub fn form_limit(req: &HttpRequest) -> usize {
    if signed_in(req) {
        SIGNED_IN_LIMIT
    } else {
        ANONYMOUS_FORM_LIMIT
    }
}

/// The JSON body limit for this request: [`SIGNED_IN_LIMIT`] for a signed-in user (a whole
/// post-mortem in one PATCH), [`LIMIT`] otherwise.
pub fn json_limit(req: &HttpRequest) -> usize {
    if signed_in(req) {
        SIGNED_IN_LIMIT
    } else {
        LIMIT
    }
}

/// The request body, decompressed as actix's extractors do; 413 past `limit` bytes.
pub fn read(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<Bytes, AppError>> + 'static {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let stream = BodyStream::new(Decompress::from_headers(payload.take(), req.headers()));
    async move {
        if declared.is_some_and(|length| length > limit) {
            return Err(AppError::PayloadTooLarge);
        }
        match to_bytes_limited(stream, limit).await {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) => Err(AppError::BadRequest(format!("cannot read the request body: {e}"))),
            Err(_) => Err(AppError::PayloadTooLarge),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    /// A body streamed without a declared length.
    fn undeclared(data: &'static [u8]) -> Payload {
        let (_, mut payload) = actix_http::h1::Payload::create(true);
        payload.unread_data(Bytes::from_static(data));
        Payload::from(payload)
    }

    #[actix_web::test]
    async fn a_body_within_the_limit_is_read() {
        let (req, mut payload) = TestRequest::default().set_payload("0123456789").to_http_parts();
        assert_eq!(read(&req, &mut payload, 10).await.unwrap(), "0123456789");
        let req = TestRequest::default().to_http_request();
        assert_eq!(
            read(&req, &mut undeclared(b"0123456789"), 10).await.unwrap(),
            "0123456789"
        );
    }

    #[actix_web::test]
    async fn a_body_past_the_limit_is_too_large() {
        let (req, mut payload) = TestRequest::default().set_payload("0123456789").to_http_parts();
        assert!(matches!(
            read(&req, &mut payload, 9).await,
            Err(AppError::PayloadTooLarge)
        ));
        let req = TestRequest::default().to_http_request();
        assert!(matches!(
            read(&req, &mut undeclared(b"0123456789"), 9).await,
            Err(AppError::PayloadTooLarge)
        ));
    }
}
