//! Who is asking, and may they: sessions, API tokens, passwords, throttling and the access
//! middleware that applies the one permission table (`permissions`) to every route.

pub mod pages;
pub mod password;
pub mod permissions;
pub mod service;
pub mod sessions;
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

/// Session keys: the server-side session's id (see [`sessions`]) and when the cookie was last
/// renewed (writing it keeps the cookie's idle expiry moving while the session is used).
const SESSION_ID: &str = "sid";
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
    /// The server-side session of this request (`None` for a bearer token).
    pub session_id: Option<i64>,
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

/// The client's `User-Agent`, kept with a session so its owner can tell sessions apart.
pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Starts a session in the cookie for a session row just opened (see [`sessions::open`]): a
/// fresh cookie session and CSRF token (no fixation).
pub fn start_session(session: &Session, session_secret: &str, now_secs: i64) -> Result<(), AppError> {
    session.renew();
    session.clear();
    let internal = |e: actix_session::SessionInsertError| AppError::internal(anyhow::anyhow!("{e}"));
    session.insert(SESSION_ID, session_secret).map_err(internal)?;
    session.insert(SESSION_SEEN, now_secs).map_err(internal)?;
    crate::web::csrf::rotate(session);
    Ok(())
}

/// The server-side session id the cookie carries, if any.
pub fn session_secret(session: &Session) -> Option<String> {
    session.get::<String>(SESSION_ID).ok().flatten()
}

/// Empties the cookie but keeps it for the flash message and a new CSRF token. The
/// server-side row is ended by the caller (logout) or has already ended.
pub fn end_session(session: &Session) {
    session.clear();
    session.renew();
    crate::web::csrf::rotate(session);
}

/// Authenticates the request (bearer token on `/api`, session elsewhere) and applies the
/// route's access rule from `routes::ROUTES`. A routed path missing from that table is
/// refused: new routes are closed until someone decides who may use them.
///
/// Every API response and every response to a signed-in user (pages, the page showing a new
/// token, CSV downloads) gets `Cache-Control: no-store` unless its handler chose a policy
/// (static files keep their caching): nothing personal is left in a shared or browser cache.
pub async fn access(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let mut res = authenticate_and_call(req, next).await?;
    let private = crate::web::is_api(res.request()) || res.request().extensions().get::<AuthUser>().is_some();
    let headers = res.headers_mut();
    if private && !headers.contains_key(actix_web::http::header::CACHE_CONTROL) {
        headers.insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

async fn authenticate_and_call(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req
            .error_response(AppError::internal(anyhow::anyhow!("state missing")))
            .map_into_right_body());
    };
    // Matched on the decoded path, as the router will: the raw path of `/%61dmin/users`
    // matches no pattern and would pass as public.
    let pattern = req
        .request()
        .resource_map()
        .match_pattern(crate::web::routing_path(req.request()));
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
    let is_api = crate::web::is_api(req.request());
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
    let Some(secret) = session_secret(&session) else {
        return Ok(None);
    };
    if !sessions::looks_like_session_id(&secret) {
        end_session(&session);
        return Ok(None);
    }
    let now = state.clock.now();
    let found = match in_process_connection(state) {
        Some(mut conn) => sessions::find_with_user(&mut conn, &secret)?,
        None => {
            state
                .db(move |conn| Ok(sessions::find_with_user(conn, &secret)?))
                .await?
        }
    };
    let Some((row, user)) = found else {
        end_session(&session);
        return Ok(None);
    };
    match sessions::liveness(&row, now, sessions::Lifetimes::from_config(&state.config)) {
        sessions::Liveness::Live if user.active => {}
        sessions::Liveness::Expired => {
            end_session(&session);
            req.extensions_mut().insert(SessionExpired);
            return Ok(None);
        }
        _ => {
            end_session(&session);
            return Ok(None);
        }
    }
    if sessions::touch_is_due(&row, now) {
        let id = row.id;
        state.db(move |conn| Ok(sessions::touch(conn, id, now)?)).await?;
        let _ = session.insert(SESSION_SEEN, now.and_utc().timestamp());
    }
    Ok(AuthUser::from_user(&user).map(|auth| AuthUser {
        session_id: Some(row.id),
        ..auth
    }))
}
