//! Reading request bodies, and the size limit in one place: [`LIMIT`] for JSON API bodies and
//! everything read through actix's own extractors (`PayloadConfig` in `server.rs`). Uploads
//! have their own limit (`MAMORI_MAX_UPLOAD_MB`, read by `attachments::routes::read_upload`).

use std::future::Future;

use actix_web::body::{to_bytes_limited, BodyStream};
use actix_web::dev::{Decompress, Payload};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::Bytes;
use actix_web::HttpRequest;

use crate::error::AppError;

/// JSON API bodies and anything else without a limit of its own.
pub const LIMIT: usize = 1024 * 1024;

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
