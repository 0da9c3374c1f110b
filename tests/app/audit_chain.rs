//! The audit log's hash chain: it verifies after normal work, finds a row changed or removed
//! with SQL (as an attacker with database access would, after dropping the triggers), holds
//! under concurrent writers, and its export verifies on its own.

use std::process::{Command, Output, Stdio};

use mamori::audit::rules::{row_hash, Content, GENESIS};
use mamori::auth::permissions::Role;
use mamori::db::Backend;
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

fn mamori(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAMORI_DATA_DIR", &app.data_dir)
        .env("MAMORI_DATABASE_URL", &app.database_url)
        .env("MAMORI_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run mamori")
}

fn incident(title: &str) -> Value {
    json!({ "title": title, "description": "利用者から接続できないとの連絡", "impact": "high", "urgency": "medium", "category": "network" })
}

/// Some ordinary work through the API: incidents created, acknowledged, commented on.
async fn work(app: &TestApp) {
    let api = Api::new(app, Role::Engineer).await;
    for title in ["VPN に接続できない", "基幹DB停止", "メール遅延"] {
        let (status, created) = api.post("/api/v1/incidents", incident(title)).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().unwrap();
        let (status, body) = api
            .post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// Recomputes the chain from exported JSON lines.
fn verify_lines(text: &str) -> usize {
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).expect("one JSON object per line");
        let at = chrono::DateTime::parse_from_rfc3339(row["at"].as_str().unwrap())
            .unwrap()
            .naive_utc();
        let text = |key: &str| row[key].as_str();
        let content = Content {
            id: row["id"].as_i64().unwrap(),
            at,
            actor_id: row["actor_id"].as_i64(),
            actor_label: text("actor_label").unwrap(),
            action: text("action").unwrap(),
            entity_type: text("entity_type").unwrap(),
            entity_id: text("entity_id").unwrap(),
            before_json: text("before_json"),
            after_json: text("after_json"),
            ip: text("ip"),
        };
        assert_eq!(text("prev_hash"), Some(prev.as_str()), "row {}", content.id);
        let hash = row_hash(&content, &prev);
        assert_eq!(text("row_hash"), Some(hash.as_str()), "row {}", content.id);
        prev = hash;
        count += 1;
    }
    count
}

async fn export(app: &TestApp, token: &str, since: Option<i64>) -> String {
    let path = match since {
        Some(id) => format!("/api/v1/audit/export?since={id}"),
        None => "/api/v1/audit/export".to_string(),
    };
    let response = app
        .api_client()
        .get(app.url(&path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/x-ndjson"));
    response.text().await.unwrap()
}

fn ids(text: &str) -> Vec<i64> {
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_i64().unwrap())
        .collect()
}

async fn the_chain_verifies_after_normal_work_and_its_export_verifies(app: TestApp) {
    work(&app).await;
    let verified = mamori(&app, &["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let admin = app.create_user(Role::Admin).await;
    let token = app.api_token(&admin).await;
    let lines = export(&app, &token, None).await;
    let rows = verify_lines(&lines);
    assert!(rows >= 8, "{rows} rows");
    // Verified before the admin and the token were created: their two rows came later.
    assert!(stdout.contains(&format!("{} rows verified", rows - 2)), "{stdout}");

    // `--since` continues where an earlier export ended.
    let all = ids(&lines);
    let tail = export(&app, &token, Some(all[2])).await;
    assert_eq!(ids(&tail), all[3..].to_vec());

    // The command line writes the same lines to a file.
    let file = app.data_dir.join("audit.jsonl");
    let exported = mamori(&app, &["audit", "export", "--to", file.to_str().unwrap()]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), lines);

    // Not for other roles.
    let engineer = Api::new(&app, Role::Engineer).await;
    assert_eq!(engineer.get("/api/v1/audit/export").await.0, 403);
}

fn drop_guard_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
        Backend::Postgres => "DROP TRIGGER audit_log_no_change ON audit_log;",
    }
}

async fn tamper(app: &TestApp, sql: String) {
    let sql = format!("{}{sql}", drop_guard_sql(app.backend));
    app.with_db(move |conn| {
        diesel::connection::SimpleConnection::batch_execute(conn, &sql).expect("tamper");
    })
    .await;
}

async fn middle_ids(app: &TestApp) -> Vec<i64> {
    let admin = app.create_user(Role::Admin).await;
    let token = app.api_token(&admin).await;
    ids(&export(app, &token, None).await)
}

async fn an_update_through_sql_is_found_with_its_row_id(app: TestApp) {
    work(&app).await;
    let all = middle_ids(&app).await;
    let victim = all[all.len() / 2];
    // The update is refused while the trigger stands.
    let refused = app
        .with_db(move |conn| {
            diesel::connection::SimpleConnection::batch_execute(
                conn,
                &format!("UPDATE audit_log SET actor_label = 'someone@else' WHERE id = {victim}"),
            )
        })
        .await;
    assert!(refused.is_err());
    tamper(
        &app,
        format!("UPDATE audit_log SET after_json = '{{\"priority\":\"P4\"}}' WHERE id = {victim}"),
    )
    .await;
    let verified = mamori(&app, &["audit", "verify"]);
    assert!(!verified.status.success());
    let stderr = String::from_utf8_lossy(&verified.stderr);
    assert!(
        stderr.contains(&format!(
            "broken at row {victim}: row {victim}: its content does not match"
        )),
        "{stderr}"
    );

    // The page shows the outcome of the last verification, and can run one.
    let (client, _) = app.login_as(Role::Admin).await;
    let page = app.get(&client, "/admin/audit").await.text().await.unwrap();
    assert!(page.contains(&format!("Broken at entry {victim}")), "{page}");
    let response = app.post_form(&client, "/admin/audit/verify", &[]).await;
    assert_eq!(response.status(), 303);
    let page = app.get(&client, "/admin/audit").await.text().await.unwrap();
    assert!(page.contains("The audit log has been tampered with."), "{page}");
    assert!(page.contains(&format!("Broken at entry {victim}")), "{page}");
}

async fn a_deleted_middle_row_is_found(app: TestApp) {
    work(&app).await;
    let all = middle_ids(&app).await;
    let k = all.len() / 2;
    let (before, victim, after) = (all[k - 1], all[k], all[k + 1]);
    tamper(&app, format!("DELETE FROM audit_log WHERE id = {victim}")).await;
    let verified = mamori(&app, &["audit", "verify"]);
    assert!(!verified.status.success());
    let stderr = String::from_utf8_lossy(&verified.stderr);
    assert!(
        stderr.contains(&format!(
            "broken at row {after}: row {after}: prev_hash does not match the hash of row {before}"
        )),
        "{stderr}"
    );
}

async fn the_page_verifies_an_intact_log(app: TestApp) {
    let (client, _) = app.login_as(Role::Admin).await;
    let page = app.get(&client, "/admin/audit").await.text().await.unwrap();
    assert!(page.contains("The log has not been verified yet."));
    let response = app.post_form(&client, "/admin/audit/verify", &[]).await;
    assert_eq!(response.status(), 303);
    let page = app.get(&client, "/admin/audit").await.text().await.unwrap();
    assert!(page.contains("The audit log is intact."), "{page}");
    assert!(page.contains(">Intact<"), "{page}");
    // Cutting the end off the log is found against the last verification's last row.
    tamper(
        &app,
        "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)".into(),
    )
    .await;
    let verified = mamori(&app, &["audit", "verify"]);
    assert!(!verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stderr).contains("was cut short"));
}

async fn concurrent_writers_leave_one_intact_chain(app: TestApp) {
    let clients: Vec<Api<'_>> = futures_util::future::join_all((0..8).map(|_| Api::new(&app, Role::Helpdesk))).await;
    let creations = clients.iter().enumerate().flat_map(|(c, api)| {
        (0..6).map(move |i| async move {
            let (status, body) = api
                .post("/api/v1/incidents", incident(&format!("同時作成 {c}-{i}")))
                .await;
            assert_eq!(status, 201, "{body}");
        })
    });
    futures_util::future::join_all(creations).await;
    let verified = mamori(&app, &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let all = middle_ids(&app).await;
    // 8 users, 8 tokens, 48 incidents and the admin with a token: no row missing.
    assert!(all.len() >= 66, "{} rows", all.len());
}

on_both!(
    the_chain_verifies_after_normal_work_and_its_export_verifies,
    an_update_through_sql_is_found_with_its_row_id,
    a_deleted_middle_row_is_found,
    the_page_verifies_an_intact_log,
    concurrent_writers_leave_one_intact_chain,
);

/// Rows written before the chain existed (no hashes) are chained in id order: at start-up, or
/// by the next write if one comes first.
async fn rows_from_before_the_chain_are_sealed(app: TestApp) {
    let insert = "INSERT INTO audit_log (at, actor_label, action, entity_type, entity_id, after_json) \
                  VALUES ('2026-11-30 01:02:03.456789', 'old@example.jp', 'user.create', 'user', '1', '{\"a\":1}'), \
                         ('2026-11-30 01:02:04', 'old@example.jp', 'team.create', 'team', '2', NULL)";
    app.with_db(move |conn| diesel::connection::SimpleConnection::batch_execute(conn, insert).unwrap())
        .await;
    let sealed = app
        .with_db(|conn| mamori::audit::service::seal_backlog(conn).unwrap())
        .await;
    assert_eq!(sealed, 2);
    app.with_db(move |conn| diesel::connection::SimpleConnection::batch_execute(conn, insert).unwrap())
        .await;
    // The next write seals them before appending its own row.
    work(&app).await;
    let verified = mamori(&app, &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    // A sealed row takes no second seal.
    let resealed = app
        .with_db(|conn| {
            diesel::connection::SimpleConnection::batch_execute(
                conn,
                "UPDATE audit_log SET row_hash = 'x', prev_hash = 'y' WHERE id = (SELECT MIN(id) FROM audit_log)",
            )
        })
        .await;
    assert!(resealed.is_err());
}

on_both!(rows_from_before_the_chain_are_sealed);
