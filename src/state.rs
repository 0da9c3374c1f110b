//! Application state shared by every request: configuration, the pool, templates, the clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tera::Tera;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{Backend, DbConnection, DbPool};
use crate::error::AppError;

pub struct AppState {
    pub config: Arc<Config>,
    pub pool: DbPool,
    pub backend: Backend,
    pub templates: Tera,
    pub clock: Clock,
    /// Set once the first administrator exists; saves a query per request afterwards.
    setup_done: AtomicBool,
    /// Set when a use case failed for lack of space (507), cleared by the next one that commits a
    /// write; readiness fails while it is set.
    storage_full: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(config: Arc<Config>, pool: DbPool, templates: Tera, clock: Clock) -> Self {
        let backend = config.database_url.backend();
        Self {
            config,
            pool,
            backend,
            templates,
            clock,
            setup_done: AtomicBool::new(false),
            storage_full: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Runs one use case on a pooled connection off the async threads: one `web::block` per
    /// use case, never one per query.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let storage_full = self.storage_full.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            let commits = crate::db::commits_on_this_thread();
            let result = f(&mut conn);
            match &result {
                Err(AppError::InsufficientStorage(_)) => storage_full.store(true, Ordering::Relaxed),
                Ok(_) if crate::db::commits_on_this_thread() != commits => storage_full.store(false, Ordering::Relaxed),
                _ => {}
            }
            result
        })
        .await?
    }

    /// The last write failed for lack of space and none has succeeded since.
    pub fn storage_full(&self) -> bool {
        self.storage_full.load(Ordering::Relaxed)
    }

    pub fn setup_done(&self) -> bool {
        self.setup_done.load(Ordering::Relaxed)
    }

    pub fn mark_setup_done(&self) {
        self.setup_done.store(true, Ordering::Relaxed);
    }
}
