//! Who is asking, and may they: sessions, API tokens, passwords, throttling and the access
//! middleware that applies the one permission table (`permissions`) to every route.

pub mod pages;
pub mod password;
pub mod permissions;
pub mod service;
pub mod throttle;
pub mod tokens;

use std::future::{ready, Ready};

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::Serialize;

use crate::audit::model::Actor;
use crate::error::AppError;
use crate::routes;
use crate::state::AppState;
use crate::web::errors::SessionExpired;
use crate::web::i18n::Lang;
use permissions::{Access, Role};

/// Session keys.
const SESSION_USER: &str = "uid";
const SESSION_VERSION: &str = "sv";
const SESSION_SEEN: &str = "seen";

/// The signed-in user of this request, put into the request extensions by [`access`].
#[derive(Debug, Clone, Serialize)]
pub struct AuthUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub locale: Lang,
    pub time_zone: String,
    pub session_version: i32,
}

/// Extractor for handlers that need the user; the access middleware has already decided
/// whether the route may be reached at all.
pub struct CurrentUser(pub AuthUser);

impl std::ops::Deref for CurrentUser {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<AuthUser>()
                .cloned()
                .map(CurrentUser)
                .ok_or(AppError::Unauthenticated),
        )
    }
}

impl CurrentUser {
    /// The audit actor for changes made by this user from this request.
    pub fn actor(&self, req: &HttpRequest) -> Actor {
        Actor::user(self.id, &self.email, Some(request_ip(req)))
    }
}

/// The client address under the configured proxy policy.
pub fn request_ip(req: &HttpRequest) -> String {
    let trust = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.trust_proxy_headers);
    crate::web::client_ip(req, trust)
}

/// Starts a session for `user`: a fresh session id and CSRF token (no fixation).
pub fn start_session(session: &Session, user: &crate::users::model::User, now_secs: i64) -> Result<(), AppError> {
    session.renew();
    session.clear();
    let store = |key: &str, value: i64| {
        session
            .insert(key, value)
            .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
    };
    store(SESSION_USER, user.id)?;
    store(SESSION_VERSION, user.session_version as i64)?;
    store(SESSION_SEEN, now_secs)?;
    crate::web::csrf::rotate(session);
    Ok(())
}

/// After the user's own password change: this session moves to the new generation while
/// every other session of the user ends.
pub fn keep_session_generation(session: &Session, session_version: i32) {
    let _ = session.insert(SESSION_VERSION, session_version as i64);
}

/// Ends the session but keeps a cookie for the flash message and a new CSRF token.
pub fn end_session(session: &Session) {
    session.clear();
    session.renew();
    crate::web::csrf::rotate(session);
}

/// Authenticates the request (bearer token on `/api`, session elsewhere) and applies the
/// route's access rule from `routes::ROUTES`. A routed path missing from that table is
/// refused: new routes are closed until someone decides who may use them.
pub async fn access(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req
            .error_response(AppError::internal(anyhow::anyhow!("state missing")))
            .map_into_right_body());
    };
    let pattern = req.match_pattern();
    let access = match &pattern {
        None => Access::Public, // unrouted: the default service answers 404
        Some(pattern) => match routes::access_for(req.method(), pattern) {
            Some(access) => access,
            None => {
                tracing::error!(%pattern, method = %req.method(), "route missing from routes::ROUTES");
                return Ok(req.error_response(AppError::Forbidden).map_into_right_body());
            }
        },
    };
    let is_api = req.path().starts_with("/api/");
    // Prometheus scrapes `/metrics` with a bearer token; an administrator's browser has a session.
    let is_scrape = req.path() == "/metrics" && req.headers().contains_key(actix_web::http::header::AUTHORIZATION);
    let user = if is_api || is_scrape {
        match bearer_user(&req, &state).await {
            Ok(user) => user,
            Err(e) => return Ok(req.error_response(e).map_into_right_body()),
        }
    } else {
        match session_user(&req, &state).await {
            Ok(user) => user,
            Err(e) => return Ok(req.error_response(e).map_into_right_body()),
        }
    };
    if let Some(user) = &user {
        req.extensions_mut().insert(user.clone());
    }
    if !access.allows(user.as_ref().map(|u| u.role)) {
        let err = if user.is_none() {
            AppError::Unauthenticated
        } else {
            AppError::Forbidden
        };
        return Ok(req.error_response(err).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

async fn bearer_user(req: &ServiceRequest, state: &web::Data<AppState>) -> Result<Option<AuthUser>, AppError> {
    let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string())
        .ok_or(AppError::Unauthenticated)?;
    let now = state.clock.now();
    let found = in_process_connection(state)
        .map(|mut conn| service::lookup_token(&mut conn, &token, now))
        .transpose()?;
    let user = match found {
        Some(service::TokenLookup::Live(user)) => Some(user),
        Some(service::TokenLookup::Unknown) => None,
        // Not looked up here, or its use is due to be recorded (a write): in the blocking pool.
        None | Some(service::TokenLookup::LiveButStale) => {
            state
                .db(move |conn| service::authenticate_token(conn, &token, now))
                .await?
        }
    };
    // A token that was sent but is not valid is an error, not an anonymous request.
    user.map(Some).ok_or(AppError::Unauthenticated)
}

/// An idle SQLite connection for the access check's one indexed read, run right here on the
/// request's thread. The trip to the blocking pool and back (two thread wake-ups) cost more
/// than the read itself, and every request made it before its own trip. Only SQLite: its read
/// is in-process and never waits (WAL readers take no lock), while a PostgreSQL read waits on
/// the network, which must not stall the other requests of this thread. With no idle
/// connection, `None`: the caller goes to the blocking pool, which may wait for one.
fn in_process_connection(state: &AppState) -> Option<crate::db::PooledDb> {
    if state.backend != crate::db::Backend::Sqlite {
        return None;
    }
    state.pool.try_get()
}

async fn session_user(req: &ServiceRequest, state: &web::Data<AppState>) -> Result<Option<AuthUser>, AppError> {
    let session = req.get_session();
    let Some(user_id) = session.get::<i64>(SESSION_USER).ok().flatten() else {
        return Ok(None);
    };
    let version = session.get::<i64>(SESSION_VERSION).ok().flatten().unwrap_or(0) as i32;
    let seen = session.get::<i64>(SESSION_SEEN).ok().flatten().unwrap_or(0);
    let now = state.clock.now().and_utc().timestamp();
    if now - seen > state.config.session_idle_minutes * 60 {
        end_session(&session);
        req.extensions_mut().insert(SessionExpired);
        return Ok(None);
    }
    let user = match in_process_connection(state) {
        Some(mut conn) => service::session_user(&mut conn, user_id, version)?,
        None => {
            state
                .db(move |conn| service::session_user(conn, user_id, version))
                .await?
        }
    };
    match &user {
        Some(_) if now - seen >= 30 => {
            let _ = session.insert(SESSION_SEEN, now);
        }
        Some(_) => {}
        None => end_session(&session),
    }
    Ok(user)
}
