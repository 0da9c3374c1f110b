//! Builds the application: state, middleware stack and routes, and the HTTP server.
//! `main` and the integration tests start the app through the same functions.
//!
//! Middleware, outermost first: request tracing (request id) → request metrics → security headers → session
//! (signed + encrypted cookie) → error pages → access (authentication + permission table)
//! → CSRF → handler.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::clock::Clock;
use crate::config::Config;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "mamori_session";

/// Connects, migrates and assembles the shared state.
pub fn prepare_state(config: Config, clock: Clock) -> anyhow::Result<web::Data<AppState>> {
    let pool = crate::db::build_pool(&config.database_url, config.db_pool_size)?;
    {
        let mut conn = pool.get()?;
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
    })
    .listen(listener)?;
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}
