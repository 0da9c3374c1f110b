//! Builds the application: state, middleware stack and routes, and the HTTP server.
//! `main` and the integration tests start the app through the same functions.
//!
//! Middleware, outermost first: limits (connections per address, body read timeout) → request
//! tracing (request id) → request metrics → security headers → session (signed + encrypted
//! cookie) → error pages → access (authentication + permission table) → CSRF → handler.
//!
//! Slow clients: the headers of a request must arrive within `MAMORI_REQUEST_TIMEOUT_SECONDS`
//! (actix's client request timeout, 408), and so must each next piece of a body once something
//! reads it ([`limits`]: an idle time per read, not a total, so a large upload over a slow but
//! working line still gets through). One client address holds at most
//! `MAMORI_MAX_CONNECTIONS_PER_IP` connections: a request on a connection past the cap is
//! answered 429 and the connection closed, before any handler or database work.

use std::cell::Cell;
use std::collections::HashMap;
use std::net::{IpAddr, TcpListener};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Extensions, Payload, Server, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::{from_fn, Next};
use actix_web::web::Bytes;
use actix_web::{web, App, HttpMessage, HttpServer, ResponseError};
use futures_util::Stream;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::AppError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "mamori_session";

/// Connects, migrates and assembles the shared state.
pub fn prepare_state(config: Config, clock: Clock) -> anyhow::Result<web::Data<AppState>> {
    crate::kinds::register();
    let checkout = std::time::Duration::from_millis(config.db_checkout_timeout_ms);
    let pool = crate::db::build_pool(&config.database_url, config.db_pool_size, checkout)?;
    {
        let mut conn = crate::db::background_connection(&pool)?;
        let applied = crate::db::run_migrations(&mut conn)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied migrations");
        }
        crate::audit::service::seal_backlog(&mut conn).map_err(|e| anyhow::anyhow!("sealing the audit log: {e}"))?;
        crate::db::check_postgres_locale(&mut conn);
        crate::tickets::queries::backfill_search(&mut conn)?;
    }
    let templates = crate::web::templates::load().map_err(|e| anyhow::anyhow!("templates: {e:?}"))?;
    Ok(web::Data::new(AppState::new(Arc::new(config), pool, templates, clock)))
}

/// Starts serving on an already bound listener (tests bind port 0).
pub fn serve(listener: TcpListener, state: web::Data<AppState>, workers: Option<usize>) -> anyhow::Result<Server> {
    let key = Key::derive_from(&state.config.secret_key);
    let secure = state.config.secure_cookies();
    let idle = actix_web::cookie::time::Duration::minutes(state.config.session_idle_minutes);
    let request_timeout = Duration::from_secs(state.config.request_timeout_seconds);
    let connections = ConnectionCounter::new(state.config.max_connections_per_ip);
    // Behind a trusted proxy every connection comes from the proxy: capping its address would
    // cap everyone together. The proxy limits its own clients; the body timeout still applies.
    let count_connections = !state.config.trust_proxy_headers;
    let mut server = HttpServer::new(move || {
        let session = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name(SESSION_COOKIE.to_string())
            .cookie_secure(secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(
                PersistentSession::default()
                    .session_ttl(idle)
                    .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
            )
            .build();
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::default().limit(crate::web::body::LIMIT))
            .configure(crate::routes::configure)
            .default_service(web::to(crate::web::not_found))
            .wrap(from_fn(crate::web::idempotency::guard))
            .wrap(from_fn(crate::web::csrf::protect))
            .wrap(from_fn(crate::auth::access))
            .wrap(from_fn(crate::web::errors::handle))
            .wrap(session)
            .wrap(crate::web::security_headers(secure))
            .wrap(from_fn(crate::metrics::track))
            .wrap(tracing_actix_web::TracingLogger::default())
            .wrap(from_fn(limits))
    })
    .client_request_timeout(request_timeout)
    .on_connect(move |io, extensions| {
        if count_connections {
            connections.on_connect(io, extensions);
        }
    })
    .listen(listener)?;
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Open connections per client address, shared by the server's workers.
#[derive(Clone)]
struct ConnectionCounter {
    max: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// Kept in a connection's data for as long as it is open: counts it for its address and knows
/// whether it was one too many.
struct ConnectionSlot {
    counter: ConnectionCounter,
    ip: IpAddr,
    over_cap: bool,
}

impl ConnectionCounter {
    fn new(max: u32) -> Self {
        Self {
            max,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn on_connect(&self, io: &dyn std::any::Any, extensions: &mut Extensions) {
        let Some(ip) = io
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|stream| stream.peer_addr().ok())
            .map(|addr| addr.ip())
        else {
            return;
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        *count += 1;
        let over_cap = *count > self.max;
        drop(open);
        extensions.insert(ConnectionSlot {
            counter: self.clone(),
            ip,
            over_cap,
        });
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.counter.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The outermost layer: refuses requests on a connection past its address's cap (429, closed),
/// and bounds the wait for each next piece of a request body (408, closed).
async fn limits(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.conn_data::<ConnectionSlot>().is_some_and(|slot| slot.over_cap) {
        tracing::warn!(peer = ?req.peer_addr(), "too many connections from one address; closing");
        let response = closing(AppError::TooManyRequests { retry_after_secs: 1 });
        return Ok(req.into_response(response).map_into_right_body());
    }
    let Some(idle) = req
        .app_data::<web::Data<AppState>>()
        .map(|state| Duration::from_secs(state.config.request_timeout_seconds))
    else {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    };
    let timed_out = Rc::new(Cell::new(false));
    if has_body(&req) {
        let payload = req.take_payload();
        req.set_payload(Payload::Stream {
            payload: Box::pin(IdleTimeout {
                inner: payload,
                idle,
                sleep: None,
                timed_out: timed_out.clone(),
            }),
        });
    }
    let response = next.call(req).await?;
    if timed_out.get() {
        tracing::info!(peer = ?response.request().peer_addr(), "request body did not arrive in time; closing");
        return Ok(response
            .into_response(closing(AppError::RequestTimeout))
            .map_into_right_body());
    }
    Ok(response.map_into_left_body())
}

fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// An error answer after which the server closes the connection.
fn closing(error: AppError) -> actix_web::HttpResponse {
    let mut response = error.error_response();
    response
        .head_mut()
        .set_connection_type(actix_http::ConnectionType::Close);
    response
}

/// A request body that fails when no next piece arrives within `idle` of asking for it.
struct IdleTimeout {
    inner: Payload,
    idle: Duration,
    /// Started at the first read, so a handler that reads late is not charged for its own work.
    sleep: Option<Pin<Box<actix_web::rt::time::Sleep>>>,
    timed_out: Rc<Cell<bool>>,
}

impl Stream for IdleTimeout {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => {
                if let Some(sleep) = this.sleep.as_mut() {
                    sleep.as_mut().reset(actix_web::rt::time::Instant::now() + this.idle);
                }
                Poll::Ready(item)
            }
            Poll::Pending => {
                let idle = this.idle;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(actix_web::rt::time::sleep(idle)));
                match std::future::Future::poll(sleep.as_mut(), cx) {
                    Poll::Ready(()) => {
                        this.timed_out.set(true);
                        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "request body timed out",
                        )))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// Raises the soft limit on open files to the hard limit (each connection is a file), and
/// answers the limit now in force. Unchanged where the system refuses.
#[cfg(unix)]
pub fn raise_open_file_limit() -> Option<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by reference.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let now = super::raise_open_file_limit().expect("limit");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
        assert_eq!(now, limit.rlim_cur);
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }
}
