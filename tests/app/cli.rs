//! The `mamori` binary: user and token creation, seeding, the demo, configuration errors.

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
    // A second load later, as a bulk import would: the text index is left in one segment, so
    // the next writers don't pay for merging what the loads left behind (docs/PERFORMANCE.md).
    let again = mamori(&app, &["seed", "--incidents", "20"], "", &[]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let segments = app
        .with_db(|conn| match conn {
            mamori::db::DbConnection::Sqlite(_) => {
                use diesel::RunQueryDsl;
                #[derive(diesel::QueryableByName)]
                struct Count {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                diesel::sql_query(
                    "SELECT (SELECT count(DISTINCT segid) FROM ticket_search_fts_text_idx) \
                     * (SELECT count(DISTINCT segid) FROM ticket_search_fts_grams_idx) AS n",
                )
                .get_result::<Count>(conn)
                .unwrap()
                .n
            }
            mamori::db::DbConnection::Postgres(_) => 1,
        })
        .await;
    assert_eq!(segments, 1);
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
    assert_eq!(created.json::<Value>().await.unwrap()["number"], "INC-000321");

    // The seed leaves planner statistics behind: a page of search hits is looked up by id,
    // not by scanning every incident through the `kind` index (SQLite's guess without them).
    let plans = app
        .with_db(|conn| match conn {
            mamori::db::DbConnection::Sqlite(_) => {
                use diesel::RunQueryDsl;
                #[derive(diesel::QueryableByName)]
                struct Plan {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    detail: String,
                }
                let ids: Vec<String> = (1..=40).map(|id| id.to_string()).collect();
                diesel::sql_query(format!(
                    "EXPLAIN QUERY PLAN SELECT tickets.id FROM tickets JOIN incidents ON incidents.ticket_id = tickets.id \
                     WHERE tickets.kind = 'incident' AND tickets.deleted_at IS NULL AND tickets.id IN ({}) \
                     ORDER BY tickets.id DESC LIMIT 50",
                    ids.join(", ")
                ))
                .load::<Plan>(conn)
                .unwrap()
                .into_iter()
                .map(|p| p.detail)
                .collect::<Vec<_>>()
            }
            mamori::db::DbConnection::Postgres(_) => Vec::new(),
        })
        .await;
    assert!(
        plans.is_empty() || plans.iter().any(|p| p.contains("tickets USING INTEGER PRIMARY KEY")),
        "{plans:?}"
    );

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

/// `mamori demo` tells months of operations through the real services: teams and people, incidents
/// in every state, P1s closed only after their post-mortems were published, problems behind the
/// recurring ones; nothing in the future; a printed sign-in that works. It refuses a second run.
async fn the_demo_fills_an_empty_system_once(app: TestApp) {
    let out = mamori(&app, &["demo"], "", &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let password = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("the password is printed")
        .to_string();
    let admin = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("admin "))
        .find_map(|l| l.split_whitespace().find(|w| w.ends_with("@demo.mamori.example")))
        .expect("an admin account is printed")
        .to_string();

    let now = app.state.clock.now();
    let admin_email = admin.clone();
    let (teams, users, rows, majors, known_errors, candidates, stored_hash) = app
        .with_db(move |conn| {
            use mamori::incidents::model::IncidentFilter;
            let teams = mamori::teams::queries::all(conn).unwrap().len();
            let users = mamori::users::queries::count(conn).unwrap();
            let admin = mamori::users::queries::find_by_email(conn, &admin_email)
                .unwrap()
                .unwrap();
            let all = IncidentFilter {
                view: Some("all".into()),
                ..Default::default()
            };
            let rows = mamori::incidents::service::export(conn, admin.id, "Asia/Tokyo", &all).unwrap();
            // Each P1 with the state of its post-mortem.
            let majors: Vec<(String, Option<String>)> = rows
                .iter()
                .filter(|r| r.priority == "P1")
                .map(|r| {
                    let pm = mamori::postmortems::service::get(conn, r.id, now).ok();
                    (r.status.clone(), pm.map(|p| p.status))
                })
                .collect();
            let (problems, _) = mamori::problems::service::list(conn, false, true, None, 100).unwrap();
            let known_errors: Vec<usize> = problems
                .iter()
                .filter(|p| p.status == "known_error")
                .map(|p| mamori::problems::service::get(conn, p.id).unwrap().incidents.len())
                .collect();
            let candidates = mamori::problems::service::candidates(conn, now, "Asia/Tokyo")
                .unwrap()
                .len();
            (
                teams,
                users,
                rows,
                majors,
                known_errors,
                candidates,
                admin.password_hash,
            )
        })
        .await;
    assert!(teams >= 4, "{teams} teams");
    assert!(users >= 10, "{users} users");
    assert!(rows.len() >= 150, "{} incidents", rows.len());
    let statuses: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    for status in [
        "new",
        "acknowledged",
        "in_progress",
        "on_hold",
        "mitigated",
        "resolved",
        "closed",
    ] {
        assert!(statuses.contains(status), "no {status} incident: {statuses:?}");
    }
    let closed = rows.iter().filter(|r| r.status == "closed").count();
    assert!(
        closed * 2 > rows.len(),
        "most incidents are closed ({closed} of {})",
        rows.len()
    );
    let published = majors
        .iter()
        .filter(|(status, pm)| status == "closed" && pm.as_deref() == Some("published"))
        .count();
    assert!(published >= 2, "{majors:?}");
    assert!(majors
        .iter()
        .all(|(status, pm)| status != "closed" || pm.as_deref() == Some("published")));
    assert!(majors.iter().any(|(status, _)| status == "in_progress"), "{majors:?}");
    assert!(known_errors.iter().any(|linked| *linked > 0), "{known_errors:?}");
    assert!(candidates > 0);
    let first = rows.iter().map(|r| r.reported_at).min().unwrap();
    let last = rows.iter().map(|r| r.reported_at).max().unwrap();
    assert!(last - first > chrono::Duration::days(60), "{first} .. {last}");
    assert!(rows.iter().all(|r| r.reported_at <= now && r.updated_at <= now));
    assert!(stored_hash.starts_with("$argon2id$") && !stored_hash.contains(&password));

    let client = app.client();
    let signed_in = app
        .post_form(&client, "/login", &[("email", &admin), ("password", &password)])
        .await;
    assert_eq!(signed_in.status(), 303);

    let again = mamori(&app, &["demo"], "", &[]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("already holds tickets"), "{stderr}");
    let (users_after, incidents_after) = app
        .with_db(|conn| {
            let filter = mamori::incidents::model::IncidentFilter {
                view: Some("all".into()),
                ..Default::default()
            };
            let any = mamori::users::queries::find_by_email(conn, "naoki.nakamura@demo.mamori.example")
                .unwrap()
                .unwrap();
            let rows = mamori::incidents::service::export(conn, any.id, "Asia/Tokyo", &filter).unwrap();
            (mamori::users::queries::count(conn).unwrap(), rows.len())
        })
        .await;
    assert_eq!((users_after, incidents_after), (users, rows.len()));
}

/// `mamori sla recompute` rebuilds the stored clocks from the history.
async fn sla_recompute_rebuilds_the_stored_figures(app: TestApp) {
    let engineer = app.create_user(mamori::auth::permissions::Role::Engineer).await;
    let token = app.api_token(&engineer).await;
    let created: Value = app
        .api_client()
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "再計算", "impact": "high", "urgency": "high"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let before = created["sla"]["response_due_at"].clone();
    assert!(before.is_string());
    app.with_db(move |conn| {
        use diesel::prelude::*;
        diesel::delete(mamori::db::schema::ticket_sla::table.find(id))
            .execute(conn)
            .unwrap();
    })
    .await;
    let out = mamori(&app, &["sla", "recompute"], "", &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("recomputed the SLA clocks of 1 incidents"));
    let stored = app
        .with_db(move |conn| mamori::sla::queries::stored(conn, id).unwrap())
        .await
        .expect("figures stored again");
    assert_eq!(
        Some(mamori::db::utc::format(&stored.response_due_at.unwrap())),
        before.as_str().map(String::from)
    );
}

on_both!(
    user_and_token_from_the_command_line_open_the_api,
    bad_command_line_input_is_refused_and_nothing_stored,
    seeded_incidents_behave_like_real_ones,
    sla_recompute_rebuilds_the_stored_figures,
    the_demo_fills_an_empty_system_once
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
