//! Database plumbing shared by every domain: the connection type over SQLite and PostgreSQL,
//! the pool, migrations, write transactions and the clock-independent time helpers.
//!
//! One code path serves both backends through diesel's `MultiConnection`. Anything that has
//! to differ per backend stays in this module (or in one named function with a `match` on
//! [`DbConnection`]), never scattered through the domains.

pub mod schema;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The two migration sets; they carry identical names and a test proves they build the same tables.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Runs a query on the backend's own connection instead of through [`DbConnection`]:
/// `native!(conn, |c| query.first::<Row>(c))`. The body is compiled once per backend.
///
/// diesel 2.3's `MultiConnection` renders a query's SQL text again on every execution, in
/// each of its passes, even when the prepared statement is cached; on the per-request reads
/// (the access check, the incident page) that rendering cost more CPU than SQLite's own work.
/// A backend's own connection finds a statically typed query's cached statement by its type,
/// with no rendering. Only for static queries (no `into_boxed`, no `sql()` text): the others
/// are rendered anyway.
#[macro_export]
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgres($c) => $body,
        }
    };
}

pub type DbPool = Pool<ConnectionManager>;
pub type PooledDb = PooledConnection<ConnectionManager>;

/// How long a PostgreSQL connection that was just in use is handed out again without a test
/// query (HikariCP's "alive bypass window" has the same length). A busy server reuses its
/// connections within microseconds, and the `SELECT 1` on every checkout was a loopback round
/// trip on every request; an idle connection is still tested before use.
const ALIVE_WITHOUT_TEST: Duration = Duration::from_millis(500);

/// A pooled connection with when it was last given back, which decides whether it is tested
/// on checkout.
pub struct PoolConnection {
    conn: DbConnection,
    returned_at: Instant,
}

impl std::ops::Deref for PoolConnection {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database location, with the backend decided by the URL scheme (never by trying to connect).
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    // Never print a PostgreSQL password into logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => write!(f, "{}", redact_url(url)),
        }
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://./data/mamori.db".into());
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
            Ok(Self::Postgres(raw.to_string()))
        } else {
            Err("must start with sqlite:// or postgres://".into())
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Replaces the password of a URL with `***` for logs and error messages.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparseable url>".to_string(),
    }
}

/// r2d2 manager that opens the backend named by the URL and applies per-connection settings.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    /// SQLite's page cache per connection, in KiB (`PRAGMA cache_size`); `None` keeps SQLite's
    /// default (2,000 KiB).
    cache_kib: Option<u32>,
}

/// The SQLite page cache of a whole pool, in KiB, shared out between its connections: each
/// connection keeps its own cache, so 16 pooled connections at SQLite's default of 2,000 KiB held
/// 32 MB of the server's memory once a benchmark had used each of them. The hot pages (the
/// indexes' upper levels) fit in far less; the rest is read from the operating system's file
/// cache, which every connection shares.
const SQLITE_POOL_CACHE_KIB: u32 = 16 * 1024;

/// Each connection's page cache for a pool of `max_size`: its share of [`SQLITE_POOL_CACHE_KIB`],
/// between 512 KiB and SQLite's default.
pub fn sqlite_cache_kib(max_size: u32) -> u32 {
    (SQLITE_POOL_CACHE_KIB / max_size.max(1)).clamp(512, 2000)
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connection(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl ManageConnection for ConnectionManager {
    type Connection = PoolConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<PoolConnection, ConnectError> {
        Ok(PoolConnection {
            conn: self.open()?,
            returned_at: Instant::now(),
        })
    }

    /// Runs on checkout. A SQLite file does not drop a connection, so only PostgreSQL
    /// connections are tested, and only when idle for a while.
    fn is_valid(&self, pooled: &mut PoolConnection) -> Result<(), ConnectError> {
        match &mut pooled.conn {
            DbConnection::Sqlite(_) => Ok(()),
            DbConnection::Postgres(_) if pooled.returned_at.elapsed() < ALIVE_WITHOUT_TEST => Ok(()),
            conn => conn.batch_execute("SELECT 1").map_err(Into::into),
        }
    }

    /// Runs when a connection is given back: one left inside a transaction, or whose server
    /// went away (diesel marks it broken when libpq no longer knows its transaction state),
    /// is closed rather than reused. So a dead connection fails at most one use.
    fn has_broken(&self, pooled: &mut PoolConnection) -> bool {
        pooled.returned_at = Instant::now();
        diesel::r2d2::R2D2Connection::is_broken(&mut pooled.conn)
    }
}

impl ConnectionManager {
    fn open(&self) -> Result<DbConnection, ConnectError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // A checkpoint runs inside the commit that crosses the WAL's threshold, holding
                // the one writer's lock. At 10,000 pages (~40 MB of WAL) instead of 1,000, pages
                // that every creation rewrites (index edges, the FTS segments) are copied back
                // once per many commits: +10% creations per second at 200,000 incidents, no
                // change to reads.
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                     PRAGMA wal_autocheckpoint = 10000;",
                )?;
                if let Some(kib) = self.cache_kib {
                    conn.batch_execute(&format!("PRAGMA cache_size = -{kib};"))?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                conn.batch_execute("SET TIME ZONE 'UTC'")?;
                Ok(DbConnection::Postgres(conn))
            }
        }
    }
}

/// Opens a single connection, reporting PostgreSQL's own message when the server cannot be reached.
pub fn connect(url: &DatabaseUrl) -> Result<DbConnection, ConnectError> {
    ConnectionManager {
        url: url.clone(),
        cache_kib: None,
    }
    .open()
}

/// Builds the pool. For SQLite the file's folder is created and WAL mode is switched on once,
/// before any pooled connection exists (journal_mode is a property of the file).
///
/// `checkout` bounds `pool.get()`: how long a request waits for a connection before it answers
/// 503 (`MAMORI_DB_CHECKOUT_TIMEOUT_MS`). While PostgreSQL is down every checkout waits this
/// long, so it is kept short; background work waits longer through [`background_connection`].
pub fn build_pool(url: &DatabaseUrl, max_size: u32, checkout: Duration) -> anyhow::Result<DbPool> {
    if let DatabaseUrl::Sqlite(path) = url {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create database folder {}: {e}", dir.display()))?;
        }
        let mut conn =
            connect(url).map_err(|e| anyhow::anyhow!("cannot open SQLite database {}: {e}", path.display()))?;
        conn.batch_execute("PRAGMA journal_mode = WAL;")?;
    } else {
        // Connect once outside the pool so the real cause (refused, auth, unknown database)
        // reaches the operator instead of r2d2's generic timeout.
        connect(url).map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL at {url:?}: {e}"))?;
    }
    let pool = Pool::builder()
        .max_size(max_size)
        .connection_timeout(checkout)
        // `is_valid` decides per connection whether a test query is worth it.
        .test_on_check_out(true)
        .build(ConnectionManager {
            url: url.clone(),
            cache_kib: Some(sqlite_cache_kib(max_size)),
        })?;
    Ok(pool)
}

/// How long background work (jobs, checkpoints, statistics) and the CLI wait for a connection:
/// nobody is waiting on them, so they ride out a short outage instead of failing at once.
pub const BACKGROUND_CHECKOUT: Duration = Duration::from_secs(10);

/// A connection for background work, waiting up to [`BACKGROUND_CHECKOUT`].
pub fn background_connection(pool: &DbPool) -> Result<PooledDb, diesel::r2d2::PoolError> {
    pool.get_timeout(BACKGROUND_CHECKOUT)
}

/// Whether a database error means the disk (or the SQLite file's size limit) is full: SQLite's
/// `SQLITE_FULL` ("database or disk is full") or PostgreSQL's `disk_full` (53100, "could not
/// extend file …: No space left on device"). diesel does not pass PostgreSQL's SQLSTATE on, so
/// the operating system's wording is matched; `out_of_memory` (53200) is not a full disk.
pub fn is_disk_full(message: &str) -> bool {
    message.contains("database or disk is full") || message.contains("No space left on device")
}

/// Applies pending migrations of the backend's own set. Returns the names applied.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// Reverts every migration (used by the migration round-trip test and nothing else).
pub fn revert_all_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| anyhow::anyhow!("revert failed: {e}"))
}

/// Which backend a live connection talks to.
pub fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Sqlite(_) => Backend::Sqlite,
        DbConnection::Postgres(_) => Backend::Postgres,
    }
}

/// Rows of each index SQLite reads when refreshing its planner statistics: enough to tell a
/// column with one value in a million rows (`tickets.kind`) from a selective one, in ~50 ms of
/// CPU on a million tickets. Unbounded, `ANALYZE` reads every row (seconds at that size).
const SQLITE_ANALYSIS_LIMIT: u32 = 20_000;

/// Refreshes the query planner's statistics. Without them SQLite guesses that an equality on
/// any indexed column is selective, and pages that look incidents up by a list of ids (text
/// search) scan every incident through the `kind` index instead (300 ms instead of 2 ms at 1M).
/// PostgreSQL's autovacuum does this by itself; an explicit run helps right after a bulk load.
pub fn refresh_statistics(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    match backend_of(conn) {
        Backend::Sqlite => conn.batch_execute(&format!(
            "PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}; ANALYZE; PRAGMA analysis_limit = 0;"
        )),
        Backend::Postgres => conn.batch_execute("ANALYZE"),
    }
}

/// After a bulk load (`mamori seed`): statistics, and on PostgreSQL a VACUUM as well, which sets
/// the rows' visibility hints at once instead of leaving autovacuum and the first readers to
/// write every page again while the system is in use. Runs outside any transaction.
pub fn after_bulk_load(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    match backend_of(conn) {
        Backend::Sqlite => refresh_statistics(conn),
        Backend::Postgres => conn.batch_execute("VACUUM ANALYZE"),
    }
}

/// How often a running server refreshes SQLite's statistics (tables grow as tickets come in).
const STATISTICS_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Refreshes SQLite's planner statistics at start and every few hours, in a thread of its own.
/// Nothing to do on PostgreSQL, whose autovacuum keeps them.
pub fn spawn_statistics(pool: DbPool) {
    let Ok(mut conn) = pool.get() else { return };
    if backend_of(&conn) != Backend::Sqlite {
        return;
    }
    if let Err(e) = refresh_statistics(&mut conn) {
        tracing::warn!(error = %e, "could not refresh the database statistics");
    }
    drop(conn);
    let spawned = std::thread::Builder::new()
        .name("db-statistics".into())
        .spawn(move || loop {
            std::thread::sleep(STATISTICS_EVERY);
            if let Err(e) = background_connection(&pool)
                .map_err(|e| e.to_string())
                .and_then(|mut conn| refresh_statistics(&mut conn).map_err(|e| e.to_string()))
            {
                tracing::warn!(error = %e, "could not refresh the database statistics");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the statistics thread");
    }
}

/// How long SQLite's WAL has to be left unwritten before the idle checkpoint copies it back.
pub const CHECKPOINT_WHEN_IDLE: Duration = Duration::from_secs(5);

/// Checkpoints SQLite's WAL by time as well as by size: once the WAL has not been written for
/// [`CHECKPOINT_WHEN_IDLE`], a PASSIVE checkpoint copies its pages into the database file, in a
/// thread of its own that looks once a second. The size threshold (`wal_autocheckpoint`, 10,000
/// pages, ~40 MB) alone let a quiet server keep every change of the day only in the WAL, and
/// on a small disk the WAL filled it first. PASSIVE never waits for readers or writers; what it
/// cannot copy now it copies at the next idle moment. Nothing to do on PostgreSQL.
pub fn spawn_idle_checkpoints(pool: DbPool, url: &DatabaseUrl) {
    let DatabaseUrl::Sqlite(path) = url else { return };
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let spawned = std::thread::Builder::new().name("db-checkpoint".into()).spawn(move || {
        // The WAL's modification time at the last checkpoint: nothing new to copy while unchanged.
        let mut done: Option<std::time::SystemTime> = None;
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let Ok(meta) = std::fs::metadata(&wal) else { continue };
            let Ok(modified) = meta.modified() else { continue };
            let idle = modified.elapsed().unwrap_or_default() >= CHECKPOINT_WHEN_IDLE;
            if meta.len() == 0 || done == Some(modified) || !idle {
                continue;
            }
            match background_connection(&pool)
                .map_err(|e| e.to_string())
                .and_then(|mut conn| checkpoint(&mut conn, "PASSIVE").map_err(|e| e.to_string()))
            {
                Ok(result) => {
                    tracing::debug!(?result, "idle WAL checkpoint");
                    done = Some(modified);
                }
                Err(e) => tracing::warn!(error = %e, "idle WAL checkpoint failed"),
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the checkpoint thread");
    }
}

/// What `PRAGMA wal_checkpoint` reports: whether it was blocked, the WAL's frames, and how many
/// of them are now in the database file.
#[derive(Debug, diesel::QueryableByName)]
pub struct Checkpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub busy: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub log: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub checkpointed: i32,
}

/// Runs `PRAGMA wal_checkpoint(mode)` on a SQLite connection (`None` on PostgreSQL).
pub fn checkpoint(conn: &mut DbConnection, mode: &'static str) -> diesel::QueryResult<Option<Checkpoint>> {
    match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})"))
            .get_result::<Checkpoint>(c)
            .map(Some),
        DbConnection::Postgres(_) => Ok(None),
    }
}

/// After a graceful stop: copies the whole WAL into the SQLite file and truncates it to zero
/// bytes, so `mamori.db` alone holds every committed change (a copy of the file taken after the
/// stop misses nothing). Logged, never fatal: SQLite replays a WAL left behind on the next start.
pub fn checkpoint_on_shutdown(pool: &DbPool) {
    let result = background_connection(pool)
        .map_err(|e| e.to_string())
        .and_then(|mut conn| checkpoint(&mut conn, "TRUNCATE").map_err(|e| e.to_string()));
    match result {
        Ok(None) => {}
        Ok(Some(done)) if done.busy == 0 => tracing::info!("WAL checkpointed and truncated"),
        Ok(Some(done)) => tracing::warn!(?done, "WAL checkpoint at shutdown was blocked; the WAL stays"),
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint at shutdown failed; the WAL stays"),
    }
}

thread_local! {
    /// Write transactions committed on this thread; [`commits_on_this_thread`] reads it.
    static COMMITS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many write transactions this thread has committed so far: a request that sees it grow
/// knows that its use case wrote something (readiness after a full disk).
pub fn commits_on_this_thread() -> u64 {
    COMMITS.with(|c| c.get())
}

/// SQLite has one writer at a time. Writers of this process queue on this lock before
/// `BEGIN IMMEDIATE` instead of on SQLite's busy handler, which sleeps 1, 2, 5, 10 … 100 ms
/// between retries: under eight concurrent creators those sleeps left the database idle and
/// put 70–190 ms on the slowest creations. Other processes (the CLI) still meet the busy
/// timeout. One lock for the process: it serves one database (tests share it across theirs).
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (so two writers queue on the
/// busy timeout instead of failing on lock upgrade), a plain `BEGIN` on PostgreSQL.
/// Commits on `Ok`, rolls back on `Err`; nested `conn.transaction` calls become savepoints.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    // Held until commit or rollback (dropped at the end of this function).
    let mut _writer = None;
    match conn {
        DbConnection::Sqlite(c) => {
            if in_transaction(c)? {
                // Already inside a transaction: a savepoint.
                AnsiTransactionManager::begin_transaction(c)?
            } else {
                _writer = Some(SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner()));
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
            }
        }
        DbConnection::Postgres(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            let committed = match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
                DbConnection::Postgres(c) => AnsiTransactionManager::commit_transaction(c),
            };
            committed?;
            COMMITS.with(|c| c.set(c.get() + 1));
            Ok(value)
        }
        Err(err) => {
            let rolled_back = match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
                DbConnection::Postgres(c) => AnsiTransactionManager::rollback_transaction(c),
            };
            if let Err(rollback_err) = rolled_back {
                tracing::error!(error = %rollback_err, "rollback failed");
            }
            Err(err)
        }
    }
}

fn in_transaction(conn: &mut SqliteConnection) -> diesel::QueryResult<bool> {
    Ok(AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some())
}

/// The current UTC time truncated to microseconds, so both backends store and return the same value.
pub fn now() -> NaiveDateTime {
    truncate(Utc::now().naive_utc())
}

pub fn truncate(t: NaiveDateTime) -> NaiveDateTime {
    t.trunc_subsecs(6)
}

/// Warns when a PostgreSQL database's character type is plain `C`: Japanese text search
/// (pg_trgm) needs a UTF-8 locale.
pub fn check_postgres_locale(conn: &mut DbConnection) {
    #[derive(diesel::QueryableByName)]
    struct Ctype {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ctype: String,
    }
    if let DbConnection::Postgres(_) = conn {
        let found = diesel::sql_query("SELECT datctype AS ctype FROM pg_database WHERE datname = current_database()")
            .get_result::<Ctype>(conn);
        match found {
            Ok(row) if row.ctype == "C" || row.ctype == "POSIX" => tracing::warn!(
                lc_ctype = %row.ctype,
                "PostgreSQL database uses LC_CTYPE=C; Japanese text search needs a UTF-8 locale (create the database with LC_CTYPE 'C.UTF-8' or 'ja_JP.UTF-8')"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the database locale"),
        }
    }
}

/// Serialises stored UTC times as RFC 3339 with a `Z` (`2026-11-23T03:47:56.901653Z`), so API
/// clients never have to guess the zone. Use with `#[serde(serialize_with = "...")]`.
pub mod utc {
    use chrono::{NaiveDateTime, SecondsFormat};
    use serde::Serializer;

    pub fn format(t: &NaiveDateTime) -> String {
        t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn serialize_option<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(t)),
            None => s.serialize_none(),
        }
    }
}

diesel::define_sql_function!(
    /// SQL `lower()`, for case-insensitive `LIKE`s (SQLite folds ASCII letters only).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text
);

/// A `LIKE` pattern that finds `text` anywhere, with `%`, `_` and `\` taken literally (used with
/// `ESCAPE '\'`): a search for "100%" means the text.
pub fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}
