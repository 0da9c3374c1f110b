//! `Idempotency-Key` on the API's POSTs (the IETF httpapi "Idempotency-Key" draft), one
//! middleware for every one of them, so a client that lost the answer to a creation can send
//! it again without creating twice:
//!
//! - the first request with a key (per signed-in user) is recorded as in progress, then runs;
//!   a successful (2xx) answer is stored with it, status and body (and `Location`);
//! - the same key with the same request (method, path, query and body) within
//!   [`KEEP_HOURS`] gets the stored answer again, marked `Idempotent-Replayed: true`, and
//!   nothing is done again;
//! - the same key with another request is a 422 naming the header; a second request while the
//!   first is still running is a 409; a claim still unanswered after [`ABANDONED_MINUTES`]
//!   (its process died mid-request) is taken over by the next identical request;
//! - an answer that is not a success is not kept (the key is released), so the client may
//!   retry after a refusal, a conflict or an outage;
//! - keys older than [`KEEP_HOURS`] are pruned whenever a key is used (through the
//!   `created_at` index).
//!
//! Requests without the header are untouched. It sits inside the access middleware, which has
//! found the user the key belongs to.

use actix_web::body::{to_bytes, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::auth::AuthUser;
use crate::db::schema::idempotency_keys;
use crate::db::{write_transaction, DbConnection};
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::state::AppState;

pub const HEADER: &str = "Idempotency-Key";

/// How long an answer is kept for replay.
pub const KEEP_HOURS: i64 = 24;

/// After this long without an answer a claim counts as abandoned (the process that made it was
/// stopped mid-request): no request runs that long, so the same request may run again.
pub const ABANDONED_MINUTES: i64 = 10;

/// The longest key accepted (the draft suggests UUIDs; this leaves room for other schemes).
const MAX_KEY_LENGTH: usize = 255;

/// What a key finds.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// New: recorded as in progress; run the request.
    Run,
    /// Answered before: send this again.
    Replay {
        status: u16,
        body: String,
        location: Option<String>,
    },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used with another request.
    Mismatch,
}

#[derive(Queryable)]
struct Stored {
    fingerprint: String,
    status: Option<i32>,
    response_body: Option<String>,
    location: Option<String>,
    created_at: NaiveDateTime,
}

fn refused_header(key: &'static str) -> AppError {
    AppError::Validation(FieldErrors::single(HEADER, FieldMessage::new(key)))
}

/// The middleware.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<actix_web::body::BoxBody>>, actix_web::Error> {
    let applies = req.method() == Method::POST && req.path().starts_with("/api/");
    let key = req.headers().get(HEADER).cloned();
    let user = req.extensions().get::<AuthUser>().map(|u| u.id);
    let (Some(key), Some(user_id), true) = (key, user, applies) else {
        return next
            .call(req)
            .await
            .map(|res| res.map_into_boxed_body().map_into_left_body());
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(|res| res.map_into_boxed_body().map_into_left_body());
    };
    let key = match key.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_LENGTH => key.to_string(),
        _ => {
            return Ok(req
                .error_response(refused_header("error-idempotency-key-invalid"))
                .map_into_right_body())
        }
    };
    // The whole body is part of what the key stands for: read it (within the largest body any
    // API route takes, an upload) and hand it on unchanged.
    let limit = super::body::json_limit(req.request()).max(state.config.max_upload_bytes * 2);
    let (request, payload) = req.parts_mut();
    let body = match super::body::read(request, payload, limit).await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e).map_into_right_body()),
    };
    let fingerprint = fingerprint(req.method(), &req.uri().to_string(), &body);
    req.set_payload(payload_of(body));

    let now = state.clock.now();
    let claim = {
        let (key, fingerprint) = (key.clone(), fingerprint.clone());
        state
            .db(move |conn| claim(conn, user_id, &key, &fingerprint, now))
            .await
    };
    match claim {
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
        Ok(Claim::Mismatch) => Ok(req
            .error_response(refused_header("error-idempotency-key-reused"))
            .map_into_right_body()),
        Ok(Claim::InProgress) => Ok(req
            .error_response(AppError::Conflict(
                "a request with this Idempotency-Key is still in progress; retry when it has finished".into(),
            ))
            .map_into_right_body()),
        Ok(Claim::Replay { status, body, location }) => {
            let mut response = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
            response
                .insert_header((CONTENT_TYPE, "application/json"))
                .insert_header(("Idempotent-Replayed", "true"));
            if let Some(location) = location {
                response.insert_header((LOCATION, location));
            }
            let response = response.body(body);
            Ok(req.into_response(response).map_into_right_body())
        }
        Ok(Claim::Run) => {
            let res = next.call(req).await?;
            let (request, response) = res.into_parts();
            let status = response.status();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let (head, body) = response.into_parts();
            let bytes = to_bytes(body).await.unwrap_or_else(|_| Bytes::new());
            let kept = status
                .is_success()
                .then(|| String::from_utf8_lossy(&bytes).into_owned());
            let outcome = state
                .db(move |conn| finish(conn, user_id, &key, kept.map(|body| (status.as_u16(), body, location))))
                .await;
            if let Err(e) = outcome {
                // The answer stands; only its replay is lost (a retry meets "in progress" until
                // the key expires).
                tracing::error!(error = ?e, "cannot store the answer of an Idempotency-Key");
            }
            let response = head.set_body(bytes).map_into_boxed_body();
            Ok(ServiceResponse::new(request, response).map_into_left_body())
        }
    }
}

/// SHA-256 over what the key stands for: method, path with query, body.
pub fn fingerprint(method: &Method, uri: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_str().as_bytes());
    hash.update(b" ");
    hash.update(uri.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}

fn payload_of(body: Bytes) -> actix_web::dev::Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    actix_web::dev::Payload::from(payload)
}

/// Prunes expired keys, then finds or records `key` for `user_id`. The insert of a new key is
/// committed before the request runs, so a concurrent second request finds it in progress (or
/// fails on the primary key, which also means in progress).
pub fn claim(
    conn: &mut DbConnection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> Result<Claim, AppError> {
    let expired = now - chrono::Duration::hours(KEEP_HOURS);
    write_transaction(conn, |conn| {
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(expired))).execute(conn)?;
        let stored: Option<Stored> = idempotency_keys::table
            .find((user_id, key))
            .select((
                idempotency_keys::fingerprint,
                idempotency_keys::status,
                idempotency_keys::response_body,
                idempotency_keys::location,
                idempotency_keys::created_at,
            ))
            .first(conn)
            .optional()?;
        Ok::<_, AppError>(match stored {
            Some(stored) if stored.fingerprint != fingerprint => Claim::Mismatch,
            Some(Stored {
                status: Some(status),
                response_body,
                location,
                ..
            }) => Claim::Replay {
                status: status as u16,
                body: response_body.unwrap_or_default(),
                location,
            },
            Some(stored) if stored.created_at < now - chrono::Duration::minutes(ABANDONED_MINUTES) => {
                diesel::update(idempotency_keys::table.find((user_id, key)))
                    .set(idempotency_keys::created_at.eq(now))
                    .execute(conn)?;
                Claim::Run
            }
            Some(_) => Claim::InProgress,
            None => {
                let inserted = diesel::insert_into(idempotency_keys::table)
                    .values((
                        idempotency_keys::user_id.eq(user_id),
                        idempotency_keys::idempotency_key.eq(key),
                        idempotency_keys::fingerprint.eq(fingerprint),
                        idempotency_keys::created_at.eq(now),
                    ))
                    .execute(conn);
                match inserted {
                    Ok(_) => Claim::Run,
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => Claim::InProgress,
                    Err(e) => return Err(e.into()),
                }
            }
        })
    })
}

/// Stores the answer to replay, or releases the key when there is none to keep.
pub fn finish(
    conn: &mut DbConnection,
    user_id: i64,
    key: &str,
    answer: Option<(u16, String, Option<String>)>,
) -> Result<(), AppError> {
    let row = idempotency_keys::table.find((user_id, key));
    write_transaction(conn, |conn| {
        match answer {
            Some((status, body, location)) => diesel::update(row)
                .set((
                    idempotency_keys::status.eq(Some(status as i32)),
                    idempotency_keys::response_body.eq(Some(body)),
                    idempotency_keys::location.eq(location),
                ))
                .execute(conn)?,
            None => diesel::delete(row).execute(conn)?,
        };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_covers_method_path_and_body() {
        let a = fingerprint(&Method::POST, "/api/v1/incidents", b"{\"title\":\"a\"}");
        assert_eq!(a, fingerprint(&Method::POST, "/api/v1/incidents", b"{\"title\":\"a\"}"));
        assert_ne!(a, fingerprint(&Method::POST, "/api/v1/incidents", b"{\"title\":\"b\"}"));
        assert_ne!(a, fingerprint(&Method::POST, "/api/v1/problems", b"{\"title\":\"a\"}"));
        assert_ne!(
            a,
            fingerprint(&Method::PATCH, "/api/v1/incidents", b"{\"title\":\"a\"}")
        );
    }
}
