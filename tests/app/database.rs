//! Both backends: migrations, transactions, the append-only audit log, health endpoints.

use std::collections::BTreeSet;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use mamori::db::{Backend, DatabaseUrl, DbConnection};

use crate::on_both;
use crate::support::{self, postgres, TestApp};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

/// Every (table, column) of the application schema. SQLite's FTS5 search indexes (virtual
/// tables and their shadow tables) are left out: PostgreSQL searches through GIN indexes
/// instead, by design.
fn columns(conn: &mut DbConnection) -> BTreeSet<(String, String)> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations' \
             AND m.name NOT LIKE 'tickets_fts%' AND m.name NOT LIKE 'ticket_search_fts%'"
        }
        DbConnection::Postgres(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'"
        }
    };
    diesel::sql_query(sql)
        .load::<Column>(conn)
        .expect("columns")
        .into_iter()
        .map(|c| (c.table_name, c.column_name))
        .collect()
}

fn empty_connection(backend: Backend) -> DbConnection {
    let url = match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("mamori-mig-{}", mamori::auth::tokens::random_hex(8)));
            std::fs::create_dir_all(&dir).unwrap();
            DatabaseUrl::Sqlite(dir.join("empty.db"))
        }
        Backend::Postgres => DatabaseUrl::parse(&postgres::server().empty_database()).unwrap(),
    };
    mamori::db::connect(&url).expect("connect")
}

#[tokio::test]
async fn both_migration_sets_build_the_same_tables_and_columns() {
    if !(support::enabled(Backend::Sqlite) && support::enabled(Backend::Postgres)) {
        eprintln!("SKIPPED: needs both backends");
        return;
    }
    tokio::task::spawn_blocking(|| {
        let mut sqlite = empty_connection(Backend::Sqlite);
        let mut pg = empty_connection(Backend::Postgres);
        mamori::db::run_migrations(&mut sqlite).unwrap();
        mamori::db::run_migrations(&mut pg).unwrap();
        let (a, b) = (columns(&mut sqlite), columns(&mut pg));
        assert!(a.len() > 20, "{a:?}");
        assert_eq!(a, b, "the SQLite and PostgreSQL migration sets disagree");
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("migrations/sqlite"), names("migrations/postgres"));
    })
    .await
    .unwrap();
}

async fn migrations_go_up_down_and_up_again(app: TestApp) {
    let backend = app.backend;
    tokio::task::spawn_blocking(move || {
        let mut conn = empty_connection(backend);
        mamori::db::run_migrations(&mut conn).unwrap();
        let first = columns(&mut conn);
        mamori::db::revert_all_migrations(&mut conn).unwrap();
        assert!(columns(&mut conn).is_empty(), "down left tables behind");
        mamori::db::run_migrations(&mut conn).unwrap();
        assert_eq!(columns(&mut conn), first);
    })
    .await
    .unwrap();
}

async fn audit_log_refuses_updates_and_deletes(app: TestApp) {
    let admin = app.create_user(mamori::auth::permissions::Role::Admin).await;
    let _ = admin;
    let (update, delete) = app
        .with_db(|conn| {
            let update = conn.batch_execute("UPDATE audit_log SET action = 'forged'");
            let delete = conn.batch_execute("DELETE FROM audit_log");
            (update.is_err(), delete.is_err())
        })
        .await;
    assert!(update && delete, "audit_log must be append-only");
    let count: i64 = app
        .with_db(|conn| mamori::db::schema::audit_log::table.count().get_result(conn).unwrap())
        .await;
    assert_eq!(count, 1);
}

async fn a_failed_write_leaves_nothing_behind(app: TestApp) {
    let (teams, audits) = app
        .with_db(|conn| {
            use mamori::db::schema::{audit_log, teams};
            let now = mamori::db::now();
            let result: Result<(), mamori::error::AppError> = mamori::db::write_transaction(conn, |conn| {
                mamori::teams::service::create(
                    conn,
                    &mamori::audit::model::Actor::system("test"),
                    now,
                    &mamori::teams::model::TeamInput {
                        name: "Network".into(),
                        description: String::new(),
                    },
                )?;
                Err(mamori::error::AppError::Conflict("fail after the first write".into()))
            });
            assert!(result.is_err());
            (
                teams::table.count().get_result::<i64>(conn).unwrap(),
                audit_log::table.count().get_result::<i64>(conn).unwrap(),
            )
        })
        .await;
    assert_eq!(
        (teams, audits),
        (0, 0),
        "a rolled-back use case must leave no row, audit included"
    );
}

async fn health_and_readiness(app: TestApp) {
    let client = app.api_client();
    let health = app.get(&client, "/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get(&client, "/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], format!("{:?}", app.backend).to_lowercase());
    for header in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(health.headers().contains_key(header), "missing {header}");
    }
    let csp = health.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline")
    );
}

on_both!(
    migrations_go_up_down_and_up_again,
    audit_log_refuses_updates_and_deletes,
    a_failed_write_leaves_nothing_behind,
    health_and_readiness
);

#[tokio::test]
async fn readyz_is_503_when_postgres_is_gone() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let name = url::Url::parse(&app.database_url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_string();
    let admin_url = postgres::server().admin_url().to_string();
    tokio::task::spawn_blocking(move || {
        let mut admin = PgConnection::establish(&admin_url).unwrap();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .unwrap();
    })
    .await
    .unwrap();
    let response = app.get(&app.api_client(), "/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(app.get(&app.api_client(), "/healthz").await.status(), 200);
}

/// A PostgreSQL connection that was in use a moment ago is handed out without a test query,
/// so when the server drops connections (a restart, a failover) one request may meet a dead
/// one. That request fails with 503, never 500, and the connection is tested before its next
/// use and replaced; one idle for longer than the window is tested on checkout at once.
#[tokio::test]
async fn dropped_postgres_connections_are_replaced_without_a_restart() {
    // One pooled connection, so every use below gets the same one.
    let Some(app) = TestApp::spawn_with(Backend::Postgres, &[("MAMORI_DB_POOL_SIZE", "1")]).await else {
        return;
    };
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let backend_pid = || async {
        app.state
            .db(|conn| {
                Ok(diesel::sql_query("SELECT pg_backend_pid() AS pid")
                    .get_result::<Pid>(conn)?
                    .pid)
            })
            .await
    };
    let admin_url = postgres::server().admin_url().to_string();
    let admin = tokio::task::spawn_blocking(move || PgConnection::establish(&admin_url).unwrap())
        .await
        .unwrap();
    let admin = std::sync::Arc::new(std::sync::Mutex::new(admin));
    let terminate = |pid: i32| {
        let admin = admin.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut admin = admin.lock().unwrap();
                admin
                    .batch_execute(&format!("SELECT pg_terminate_backend({pid})"))
                    .unwrap();
                // pg_terminate_backend only signals: wait until the backend is gone.
                for _ in 0..500 {
                    let left = diesel::sql_query(format!("SELECT pid FROM pg_stat_activity WHERE pid = {pid}"))
                        .load::<Pid>(&mut *admin)
                        .unwrap();
                    if left.is_empty() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                panic!("backend {pid} did not end");
            })
            .await
            .unwrap()
        }
    };

    // Dropped right after use: the next use meets the dead connection and is "unavailable".
    let first = backend_pid().await.unwrap();
    terminate(first).await;
    let failed = backend_pid().await.unwrap_err();
    assert!(matches!(failed, mamori::error::AppError::Unavailable(_)), "{failed:?}");
    assert_eq!(actix_web::ResponseError::status_code(&failed), 503);
    // The use after that gets a new connection, though the window has not passed.
    let second = backend_pid().await.unwrap();
    assert_ne!(second, first);

    // Dropped while idle for longer than the window: tested on checkout, so nothing fails.
    terminate(second).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let third = backend_pid().await.unwrap();
    assert_ne!(third, second);
}

/// Every pooled SQLite connection carries the settings the app relies on.
#[tokio::test]
async fn sqlite_connections_carry_their_settings() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let app = &app;
    let read = |pragma: &'static str| async move {
        app.with_db(move |conn| {
            diesel::sql_query(format!("SELECT CAST(({pragma}) AS TEXT) AS value"))
                .get_result::<Setting>(conn)
                .unwrap()
                .value
        })
        .await
    };
    assert_eq!(read("SELECT foreign_keys FROM pragma_foreign_keys").await, "1");
    assert_eq!(read("SELECT timeout FROM pragma_busy_timeout").await, "10000");
    assert_eq!(read("SELECT synchronous FROM pragma_synchronous").await, "1", "NORMAL");
    assert_eq!(read("SELECT journal_mode FROM pragma_journal_mode").await, "wal");
    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        wal_autocheckpoint: i32,
    }
    let pages = app
        .with_db(|conn| {
            diesel::sql_query("PRAGMA wal_autocheckpoint")
                .get_result::<Checkpoint>(conn)
                .unwrap()
                .wal_autocheckpoint
        })
        .await;
    assert_eq!(pages, 10_000);
}

#[derive(QueryableByName)]
struct SqlitePlan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlan {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

async fn text_search_uses_the_trigram_index(app: TestApp) {
    let plan = app
        .with_db(|conn| match conn {
            DbConnection::Sqlite(_) => diesel::sql_query(
                "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE id IN \
                 (SELECT rowid FROM ticket_search_fts_text WHERE ticket_search_fts_text MATCH '\"データベース\"')",
            )
            .load::<SqlitePlan>(conn)
            .unwrap()
            .into_iter()
            .map(|p| p.detail)
            .collect::<Vec<_>>(),
            DbConnection::Postgres(_) => {
                conn.batch_execute("SET enable_seqscan = off").unwrap();
                diesel::sql_query("EXPLAIN SELECT ticket_id FROM ticket_search WHERE body LIKE '%データベース%'")
                    .load::<PgPlan>(conn)
                    .unwrap()
                    .into_iter()
                    .map(|p| p.line)
                    .collect()
            }
        })
        .await;
    let joined = plan.join("\n");
    assert!(
        joined.contains("VIRTUAL TABLE INDEX") || joined.contains("ticket_search_body_trgm_idx"),
        "{joined}"
    );
}

on_both!(text_search_uses_the_trigram_index);
