//! Backups (issue 19): `mamori backup`, `backup verify`, `restore`, `export` and `import`, run
//! as the built binary against a serving app.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mamori::auth::permissions::Role;
use mamori::backup::portable;
use mamori::backup::rules::TABLES;
use mamori::db::{Backend, DatabaseUrl};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

/// Runs `mamori` against a database and data folder, off the async runtime.
async fn mamori(database_url: &str, data_dir: &Path, args: &[&str]) -> Output {
    let (url, dir) = (database_url.to_string(), data_dir.to_path_buf());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MAMORI_DATA_DIR", &dir)
            .env("MAMORI_DATABASE_URL", &url)
            .env("MAMORI_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("run mamori")
    })
    .await
    .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "mamori failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "mamori should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Runs `mamori backup --to DIR` and returns the archive's folder.
async fn backup(app: &TestApp, to: &Path) -> PathBuf {
    let out = mamori(
        &app.database_url,
        &app.data_dir,
        &["backup", "--to", to.to_str().unwrap()],
    )
    .await;
    PathBuf::from(ok(&out).trim())
}

async fn verify(archive: &Path, app: &TestApp) -> Output {
    mamori(
        &app.database_url,
        &app.data_dir,
        &["backup", "verify", archive.to_str().unwrap()],
    )
    .await
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mamori-backup-test-{name}-{}",
        mamori::auth::tokens::random_hex(6)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn new_incident(api: &Api<'_>, title: &str) -> i64 {
    let (status, body) = api
        .post(
            "/api/v1/incidents",
            json!({"title": title, "impact": "high", "urgency": "medium"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn attach(app: &TestApp, token: &str, incident: i64, name: &str, bytes: Vec<u8>) -> i64 {
    let form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str("text/plain")
            .unwrap(),
    );
    let r = app
        .api_client()
        .post(app.url(&format!("/api/v1/incidents/{incident}/attachments")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn download(app: &TestApp, token: &str, attachment: i64) -> Vec<u8> {
    let r = app
        .api_client()
        .get(app.url(&format!("/api/v1/attachments/{attachment}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

/// The database part of an archive, whichever method made it.
fn database_part(archive: &Path) -> &'static str {
    if archive.join("database.sqlite").exists() {
        "database.sqlite"
    } else {
        "database.jsonl"
    }
}

async fn every_table_is_in_the_backup_list(app: TestApp) {
    let tables = app.with_db(|conn| portable::database_tables(conn).unwrap()).await;
    let listed: BTreeSet<String> = TABLES.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        tables, listed,
        "src/backup/rules.rs TABLES must list every table of the schema"
    );
}

async fn backup_then_verify_and_damage_is_named(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let id = new_incident(&api, "DB接続断").await;
    attach(&app, &api.token, id, "app.log", b"ERROR timeout\n".repeat(50)).await;
    let dir = scratch("verify");
    let archive = backup(&app, &dir).await;
    let manifest: Value = serde_json::from_slice(&std::fs::read(archive.join("manifest.json")).unwrap()).unwrap();
    let method = if app.backend == Backend::Sqlite {
        "sqlite-vacuum-into"
    } else {
        "mamori-portable-jsonl"
    };
    assert_eq!(manifest["method"], method);
    assert_eq!(manifest["tables"]["incidents"], 1);
    assert_eq!(manifest["attachments"], 1);
    assert!(manifest["schema_migration"].as_str().unwrap().starts_with("2026"));
    let out = verify(&archive, &app).await;
    assert!(ok(&out).starts_with("verified"));

    // One changed byte in the database part.
    let damaged = dir.join("damaged");
    copy_dir(&archive, &damaged);
    let part = damaged.join(database_part(&archive));
    let mut bytes = std::fs::read(&part).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&part, bytes).unwrap();
    let err = failure(&verify(&damaged, &app).await);
    assert!(
        err.contains(database_part(&archive)) && err.contains("checksum"),
        "{err}"
    );

    // A missing attachment.
    let gutted = dir.join("gutted");
    copy_dir(&archive, &gutted);
    let blob = manifest["files"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.starts_with("attachments/"))
        .unwrap()
        .clone();
    std::fs::remove_file(gutted.join(&blob)).unwrap();
    let err = failure(&verify(&gutted, &app).await);
    assert!(err.contains(&blob) && err.contains("missing"), "{err}");

    // A count that differs from the manifest (the manifest edited, its files intact).
    let miscounted = dir.join("miscounted");
    copy_dir(&archive, &miscounted);
    let mut edited = manifest.clone();
    edited["tables"]["incidents"] = json!(2);
    std::fs::write(miscounted.join("manifest.json"), edited.to_string()).unwrap();
    let err = failure(&verify(&miscounted, &app).await);
    assert!(err.contains("table incidents: 1 rows, manifest says 2"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

async fn backup_while_the_app_writes(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    new_incident(&api, "最初の障害").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, token, url) = (stop.clone(), api.token.clone(), app.url("/api/v1/incidents"));
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut created = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"title": "書き込み中", "impact": "low", "urgency": "low"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                created += 1;
            }
            created
        })
    };
    let dir = scratch("live");
    let archive = backup(&app, &dir).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let created = writer.await.unwrap();
    assert!(created > 0, "the app kept serving writes during the backup");
    ok(&verify(&archive, &app).await);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A read without what is computed at the moment of reading (SLA time left and elapsed).
fn stable(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| {
                    k != "computed_at" && !k.ends_with("remaining_minutes") && !k.ends_with("elapsed_minutes")
                })
                .map(|(k, v)| (k, stable(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(stable).collect()),
        other => other,
    }
}

/// Stops nothing: drops the database under the app (SQLite: the file; PostgreSQL: the database,
/// created again empty) and the attachments, restores, and reads again through a new app.
async fn restore_brings_back_a_lost_database(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let first = new_incident(&api, "ディスク満杯").await;
    let second = new_incident(&api, "バックアップ失敗").await;
    let (status, _) = api
        .post(
            &format!("/api/v1/incidents/{second}/comments"),
            json!({"body": "調査中です"}),
        )
        .await;
    assert!(status == 201 || status == 404, "comment: {status}");
    let log = "障害ログ\n".repeat(200).into_bytes();
    let attachment = attach(&app, &api.token, first, "障害.log", log.clone()).await;
    let reads = [
        "/api/v1/incidents",
        &format!("/api/v1/incidents/{first}"),
        &format!("/api/v1/incidents/{second}"),
    ];
    let mut before = Vec::new();
    for path in reads {
        before.push(stable(api.get(path).await.1));
    }
    let dir = scratch("restore");
    let archive = backup(&app, &dir).await;
    let (url, data_dir, backend, token) = (
        app.database_url.clone(),
        app.data_dir.clone(),
        app.backend,
        api.token.clone(),
    );
    drop(api);
    drop(app);

    match DatabaseUrl::parse(&url).unwrap() {
        DatabaseUrl::Sqlite(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        DatabaseUrl::Postgres(raw) => {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            let name = url::Url::parse(&raw)
                .unwrap()
                .path()
                .trim_start_matches('/')
                .to_string();
            let mut admin = diesel::PgConnection::establish(crate::support::postgres::server().admin_url()).unwrap();
            admin
                .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .unwrap();
            admin
                .batch_execute(&format!(
                    "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
                ))
                .unwrap();
        }
    }
    std::fs::remove_dir_all(data_dir.join("attachments")).unwrap();

    let out = mamori(&url, &data_dir, &["restore", archive.to_str().unwrap()]).await;
    assert!(ok(&out).starts_with("restored"));

    let url_env = url.clone();
    let dir_env = data_dir.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(
        backend,
        &[("MAMORI_DATABASE_URL", &url_env), ("MAMORI_DATA_DIR", &dir_env)],
    )
    .await
    .unwrap();
    let api = Api::with_token(&app, &token);
    for (path, was) in reads.iter().zip(before) {
        assert_eq!(stable(api.get(path).await.1), was, "{path} after the restore");
    }
    assert_eq!(download(&app, &token, attachment).await, log);
    // New records continue after the restored ones.
    let third = new_incident(&api, "復元後の障害").await;
    assert!(third > second);

    // A database in use is refused without --force, and replaced with it.
    let out = mamori(&url, &data_dir, &["restore", archive.to_str().unwrap()]).await;
    assert!(failure(&out).contains("--force"));
    let out = mamori(&url, &data_dir, &["restore", "--force", archive.to_str().unwrap()]).await;
    ok(&out);
    std::fs::remove_dir_all(dir).unwrap();
}

async fn restore_refuses_a_database_in_use(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    new_incident(&api, "既存の障害").await;
    let dir = scratch("refuse");
    let archive = backup(&app, &dir).await;
    let extra = new_incident(&api, "バックアップ後の障害").await;
    let out = mamori(
        &app.database_url,
        &app.data_dir,
        &["restore", archive.to_str().unwrap()],
    )
    .await;
    let err = failure(&out);
    assert!(err.contains("already holds data") && err.contains("--force"), "{err}");
    let (status, _) = api.get(&format!("/api/v1/incidents/{extra}")).await;
    assert_eq!(status, 200, "nothing was changed");
    std::fs::remove_dir_all(dir).unwrap();
}

on_both!(
    every_table_is_in_the_backup_list,
    backup_then_verify_and_damage_is_named,
    backup_while_the_app_writes,
    restore_brings_back_a_lost_database,
    restore_refuses_a_database_in_use,
);

fn sorted_rows(conn: &mut mamori::db::DbConnection, table: &str) -> Vec<String> {
    let mut rows: Vec<String> = portable::rows(conn, table)
        .unwrap()
        .into_iter()
        .map(|r| Value::Object(r).to_string())
        .collect();
    rows.sort();
    rows
}

/// A demo database with an attachment, exported from SQLite and imported into PostgreSQL:
/// every table equal, then the PostgreSQL side takes a new incident with fresh ids and numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_sqlite_and_import_into_postgres() {
    if !crate::support::enabled(Backend::Sqlite) || !crate::support::enabled(Backend::Postgres) {
        eprintln!("SKIPPED: needs both backends");
        return;
    }
    let sqlite = TestApp::spawn(Backend::Sqlite).await.unwrap();
    ok(&mamori(&sqlite.database_url, &sqlite.data_dir, &["demo"]).await);
    let api = Api::new(&sqlite, Role::Engineer).await;
    let incident = new_incident(&api, "移行前の障害").await;
    let bytes = "移行テスト\n".repeat(30).into_bytes();
    let attachment = attach(&sqlite, &api.token, incident, "移行.txt", bytes.clone()).await;
    let dir = scratch("move");
    let file = dir.join("mamori.jsonl");
    ok(&mamori(
        &sqlite.database_url,
        &sqlite.data_dir,
        &["export", "--to", file.to_str().unwrap()],
    )
    .await);

    let pg_url = tokio::task::spawn_blocking(|| crate::support::postgres::server().empty_database())
        .await
        .unwrap();
    let pg_data = dir.join("pg-data");
    ok(&mamori(&pg_url, &pg_data, &["import", file.to_str().unwrap()]).await);

    let (source_url, target_url) = (sqlite.database_url.clone(), pg_url.clone());
    let (source_numbers, target_max_id) = tokio::task::spawn_blocking(move || {
        let mut from = mamori::db::connect(&DatabaseUrl::parse(&source_url).unwrap()).unwrap();
        let mut to = mamori::db::connect(&DatabaseUrl::parse(&target_url).unwrap()).unwrap();
        for table in TABLES {
            let (a, mut b) = (sorted_rows(&mut from, table), sorted_rows(&mut to, table));
            if *table == "audit_log" {
                // The import records itself.
                assert_eq!(b.len(), a.len() + 1);
                b.retain(|row| !row.contains("\"database.import\""));
            }
            assert_eq!(a.len(), b.len(), "{table}: row counts");
            if let Some((x, y)) = a.iter().zip(&b).find(|(x, y)| x != y) {
                panic!("{table} differs:\n sqlite:   {x}\n postgres: {y}");
            }
        }
        let numbers = portable::ticket_numbers(&mut from).unwrap();
        let max_id = portable::rows(&mut to, "tickets")
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .max()
            .unwrap();
        (numbers, max_id)
    })
    .await
    .unwrap();
    assert!(source_numbers["incident"] > 100, "the demo's incidents came along");

    let pg = TestApp::spawn_with(
        Backend::Postgres,
        &[
            ("MAMORI_DATABASE_URL", &pg_url),
            ("MAMORI_DATA_DIR", pg_data.to_str().unwrap()),
        ],
    )
    .await
    .unwrap();
    let pg_api = Api::new(&pg, Role::Helpdesk).await;
    let new_id = new_incident(&pg_api, "移行後の障害").await;
    assert!(new_id > target_max_id);
    let (_, created) = pg_api.get(&format!("/api/v1/incidents/{new_id}")).await;
    let expected = format!("{}", source_numbers["incident"] + 1);
    assert!(
        created.to_string().contains(&expected),
        "ticket numbers continue after {}: {created}",
        source_numbers["incident"]
    );
    assert_eq!(download(&pg, &pg_api.token, attachment).await, bytes);
    std::fs::remove_dir_all(dir).unwrap();
}
