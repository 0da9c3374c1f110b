//! The `mamori` binary: user and token creation, configuration errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::on_both;
use crate::support::TestApp;

fn mamori(app: &TestApp, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mamori"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAMORI_DATA_DIR", &app.data_dir)
        .env("MAMORI_DATABASE_URL", &app.database_url)
        .env("MAMORI_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run mamori");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

async fn user_and_token_from_the_command_line_open_the_api(app: TestApp) {
    app.with_db(|conn| {
        mamori::teams::service::create(
            conn,
            &mamori::audit::model::Actor::system("test"),
            mamori::db::now(),
            &mamori::teams::model::TeamInput {
                name: "DB運用".into(),
                description: String::new(),
            },
        )
        .unwrap()
    })
    .await;
    let created = mamori(
        &app,
        &[
            "user",
            "create",
            "--email",
            "Ito@Example.jp",
            "--name",
            "伊藤 次郎",
            "--role",
            "engineer",
            "--team",
            "DB運用",
            "--password-stdin",
        ],
        "correct horse battery staple\n",
        &[],
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let token_out = mamori(
        &app,
        &["token", "create", "--user", "ito@example.jp", "--name", "zabbix"],
        "",
        &[],
    );
    assert!(
        token_out.status.success(),
        "{}",
        String::from_utf8_lossy(&token_out.stderr)
    );
    let stdout = String::from_utf8(token_out.stdout).unwrap();
    let token = stdout.trim_end().lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("mamori_"));

    let me = app
        .api_client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["email"], "ito@example.jp");
    assert_eq!(body["display_name"], "伊藤 次郎");
    assert_eq!(body["team_ids"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.api_client()
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // The creation was audited with the CLI as actor.
    let actions = app
        .with_db(|conn| {
            let filter = mamori::audit::model::AuditFilter {
                entity_type: Some("user".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 10).unwrap().0
        })
        .await;
    assert!(actions
        .iter()
        .any(|e| e.action == "user.create" && e.actor_label == "cli"));
}

async fn bad_command_line_input_is_refused_and_nothing_stored(app: TestApp) {
    let bad_role = mamori(
        &app,
        &[
            "user",
            "create",
            "--email",
            "a@example.jp",
            "--name",
            "A",
            "--role",
            "root",
            "--password-stdin",
        ],
        "correct horse battery staple",
        &[],
    );
    assert_eq!(bad_role.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("role:"));
    let weak = mamori(
        &app,
        &[
            "user",
            "create",
            "--email",
            "a@example.jp",
            "--name",
            "A",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "",
        &[],
    );
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password:"));
    let no_team = mamori(
        &app,
        &[
            "user",
            "create",
            "--email",
            "a@example.jp",
            "--name",
            "A",
            "--role",
            "admin",
            "--team",
            "nope",
            "--password-stdin",
        ],
        "correct horse battery staple",
        &[],
    );
    assert!(!no_team.status.success());
    let count = app.with_db(|conn| mamori::users::queries::count(conn).unwrap()).await;
    assert_eq!(count, 0);
    let unknown = mamori(
        &app,
        &["token", "create", "--user", "ghost@example.jp", "--name", "x"],
        "",
        &[],
    );
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user"));
}

/// `mamori seed` fills the real tables: the incidents list, filter and search like any other,
/// the sequence moves past them, and the run is audited.
async fn seeded_incidents_behave_like_real_ones(app: TestApp) {
    let out = mamori(&app, &["seed", "--incidents", "300"], "", &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let refused = mamori(&app, &["seed", "--incidents", "0"], "", &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("incidents"));

    let engineer = app.create_user(mamori::auth::permissions::Role::Engineer).await;
    let token = app.api_token(&engineer).await;
    let get = |path: String| {
        let (client, token) = (app.api_client(), token.clone());
        let url = app.url(&path);
        async move {
            let response = client.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    // n % 50 == 0 → P1, mitigated: 6 of 300, and the matrix holds for them.
    let majors = get("/api/v1/incidents?view=all&priority=P1".into()).await;
    let majors = majors["items"].as_array().unwrap();
    assert_eq!(majors.len(), 6);
    assert!(majors.iter().all(|i| i["status"] == "mitigated"));
    let one = get(format!("/api/v1/incidents/{}", majors[0]["id"])).await;
    assert_eq!(
        (one["impact"].as_str(), one["urgency"].as_str()),
        (Some("high"), Some("high"))
    );
    assert_eq!(one["timeline"][0]["kind"], "created");
    // Japanese text search finds seeded titles ("VPN に接続できない" is every n % 8 == 1).
    let found = get("/api/v1/incidents?view=all&q=接続できない".into()).await;
    let found = found["items"].as_array().unwrap();
    assert!(!found.is_empty());
    assert!(found
        .iter()
        .all(|i| i["title"].as_str().unwrap().contains("接続できない")));

    let created = app
        .api_client()
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "after seed", "description": "", "impact": "low", "urgency": "low"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.json::<Value>().await.unwrap()["number"], "INC-000301");

    let audited = app
        .with_db(|conn| {
            let filter = mamori::audit::model::AuditFilter {
                entity_type: Some("incident".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 10).unwrap().0
        })
        .await;
    assert!(audited
        .iter()
        .any(|e| e.action == "incident.seed" && e.actor_label == "cli"));
}

on_both!(
    user_and_token_from_the_command_line_open_the_api,
    bad_command_line_input_is_refused_and_nothing_stored,
    seeded_incidents_behave_like_real_ones
);

#[tokio::test]
async fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let Some(app) = TestApp::spawn(mamori::db::Backend::Sqlite).await else {
        return;
    };
    let out = mamori(&app, &["migrate"], "", &[("MAMORI_BIND", "nowhere")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("MAMORI_BIND"));
}

#[tokio::test]
async fn an_unreachable_postgres_is_reported_with_its_cause() {
    let Some(app) = TestApp::spawn(mamori::db::Backend::Sqlite).await else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://mamori:secret@127.0.0.1:{port}/mamori");
    let out = mamori(&app, &["migrate"], "", &[("MAMORI_DATABASE_URL", &url)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Connection refused") || stderr.contains("connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "password leaked: {stderr}");
}
