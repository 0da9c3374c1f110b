//! The incident spine through the API and the pages, on both backends.

use mamori::auth::permissions::Role;
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

async fn create_team(app: &TestApp, name: &str) -> i64 {
    let name = name.to_string();
    app.with_db(move |conn| {
        mamori::teams::service::create(
            conn,
            &mamori::audit::model::Actor::system("test"),
            mamori::db::now(),
            &mamori::teams::model::TeamInput {
                name,
                description: String::new(),
            },
        )
        .unwrap()
        .id
    })
    .await
}

fn incident(title: &str, impact: &str, urgency: &str) -> Value {
    json!({ "title": title, "description": "利用者から接続できないとの連絡", "impact": impact, "urgency": urgency, "category": "network" })
}

async fn filing_an_incident_sets_number_priority_and_timeline(app: TestApp) {
    let api = Api::new(&app, Role::Helpdesk).await;
    let (status, created) = api
        .post("/api/v1/incidents", incident("VPN に接続できない", "high", "medium"))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["number"], "INC-000001");
    assert_eq!(created["status"], "new");
    assert_eq!(created["priority"], "P2");
    assert_eq!(created["channel"], "api");
    assert!(created["id"].as_i64().unwrap() > 0);
    let (_, second) = api
        .post("/api/v1/incidents", incident("基幹DB停止", "high", "high"))
        .await;
    assert_eq!(second["number"], "INC-000002");
    assert_eq!(second["priority"], "P1");
    assert_eq!(second["major"], true);
    let (status, read) = api.get(&format!("/api/v1/incidents/{}", created["id"])).await;
    assert_eq!(status, 200);
    let timeline = read["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["kind"], "created");
    assert!(read["reported_at"].as_str().unwrap().ends_with('Z'));
}

async fn bad_incident_input_is_refused_and_nothing_stored(app: TestApp) {
    let api = Api::new(&app, Role::Helpdesk).await;
    let cases = [
        (json!({"title": "", "impact": "high", "urgency": "high"}), "title"),
        (json!({"title": "x", "impact": "severe", "urgency": "high"}), "impact"),
        (json!({"title": "x", "impact": "high", "urgency": "now"}), "urgency"),
        (
            json!({"title": "x", "impact": "high", "urgency": "high", "reported_at": "2999-01-01T00:00:00Z"}),
            "reported_at",
        ),
        (
            json!({"title": "x", "impact": "high", "urgency": "high", "reported_at": "yesterday"}),
            "reported_at",
        ),
        (
            json!({"title": "x", "impact": "high", "urgency": "high", "team_id": 4242}),
            "team_id",
        ),
        (
            json!({"title": "x", "impact": "high", "urgency": "high", "channel": "pigeon"}),
            "channel",
        ),
        (
            json!({"title": "長".repeat(201), "impact": "high", "urgency": "high"}),
            "title",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = api.post("/api/v1/incidents", body).await;
        assert_eq!(status, 422, "{field}: {error}");
        assert!(error["error"]["fields"][field].is_string(), "{field}: {error}");
    }
    let (_, list) = api.get("/api/v1/incidents?view=all").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    // The number sequence was not consumed by the refused attempts.
    let (_, created) = api.post("/api/v1/incidents", incident("ok", "low", "low")).await;
    assert_eq!(created["number"], "INC-000001");
}

async fn the_whole_flow_from_first_response_to_closure(app: TestApp) {
    let helpdesk = Api::new(&app, Role::Helpdesk).await;
    let engineer = Api::new(&app, Role::Engineer).await;
    let network = create_team(&app, "ネットワーク").await;
    let (_, created) = helpdesk
        .post("/api/v1/incidents", incident("メール送信遅延", "medium", "medium"))
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = |action: &str| format!("/api/v1/incidents/{id}/{action}");

    let (status, acked) = helpdesk.post(&path("acknowledge"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(acked["status"], "acknowledged");
    assert!(acked["acknowledged_at"].is_string());

    let (status, _) = helpdesk
        .post(
            &path("status-updates"),
            json!({"state": "investigating", "message": "調査中です。"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, e) = helpdesk
        .post(&path("status-updates"), json!({"state": "panicking", "message": "x"}))
        .await;
    assert_eq!((status, e["error"]["fields"]["state"].is_string()), (422, true));

    // Escalation needs a reason and what was tried.
    let (status, e) = helpdesk
        .post(&path("escalate"), json!({"to_team": network, "reason": ""}))
        .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["reason"].is_string() && e["error"]["fields"]["tried"].is_string());
    let (status, escalated) = helpdesk
        .post(
            &path("escalate"),
            json!({"to_team": network, "reason": "手順書の範囲外", "tried": "サービス再起動"}),
        )
        .await;
    assert_eq!(status, 200, "{escalated}");
    assert_eq!(escalated["escalation_level"], 2);
    assert_eq!(escalated["team_id"], network);

    // The helpdesk may not do second-line work.
    let (status, _) = helpdesk.post(&path("resolve"), json!({"resolution": "x"})).await;
    assert_eq!(status, 403);

    let (status, started) = engineer.post(&path("start"), json!({})).await;
    assert_eq!((status, started["status"].as_str()), (200, Some("in_progress")));
    let (status, e) = engineer.post(&path("hold"), json!({})).await;
    assert_eq!((status, e["error"]["fields"]["reason"].is_string()), (422, true));
    let (_, held) = engineer
        .post(&path("hold"), json!({"reason": "ベンダー回答待ち"}))
        .await;
    assert_eq!(held["status"], "on_hold");
    assert_eq!(held["hold_reason"], "ベンダー回答待ち");
    let (_, resumed) = engineer.post(&path("resume"), json!({})).await;
    assert_eq!(
        resumed["status"], "in_progress",
        "resume returns to the state before the hold"
    );
    let (_, mitigated) = engineer
        .post(&path("mitigate"), json!({"workaround": "別経路で送信"}))
        .await;
    assert_eq!(mitigated["status"], "mitigated");
    let (status, e) = engineer.post(&path("resolve"), json!({})).await;
    assert_eq!((status, e["error"]["fields"]["resolution"].is_string()), (422, true));
    let (_, resolved) = engineer
        .post(&path("resolve"), json!({"resolution": "キュー設定を修正"}))
        .await;
    assert_eq!(resolved["status"], "resolved");
    let (status, closed) = engineer.post(&path("close"), json!({})).await;
    assert_eq!((status, closed["status"].as_str()), (200, Some("closed")), "{closed}");
    assert!(closed["closed_at"].is_string());

    let kinds: Vec<String> = closed["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "state_changed",
            "status_update",
            "escalated",
            "state_changed",
            "state_changed",
            "state_changed",
            "state_changed",
            "state_changed",
            "state_changed"
        ]
    );
    let escalation = &closed["timeline"][3];
    assert_eq!(escalation["data"]["tried"], "サービス再起動");
    assert_eq!(escalation["body"], "手順書の範囲外");

    // Every step is in the audit log.
    let actions = app
        .with_db(move |conn| {
            let filter = mamori::audit::model::AuditFilter {
                entity_type: Some("incident".into()),
                entity_id: Some(id.to_string()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 100)
                .unwrap()
                .0
                .into_iter()
                .map(|e| e.action)
                .collect::<Vec<_>>()
        })
        .await;
    for action in [
        "incident.create",
        "incident.acknowledge",
        "incident.escalated",
        "incident.hold",
        "incident.resolve",
        "incident.close",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
}

async fn illegal_moves_and_closing_rules_are_conflicts(app: TestApp) {
    let engineer = Api::new(&app, Role::Engineer).await;
    let (_, minor) = engineer.post("/api/v1/incidents", incident("x", "low", "low")).await;
    let (status, e) = engineer
        .post(&format!("/api/v1/incidents/{}/close", minor["id"]), json!({}))
        .await;
    assert_eq!(status, 409);
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("acknowledge") && message.contains("resolve"),
        "the allowed moves are named: {message}"
    );

    // A P1 waits for its post-mortem.
    let (_, major) = engineer
        .post("/api/v1/incidents", incident("全面停止", "high", "high"))
        .await;
    engineer
        .post(
            &format!("/api/v1/incidents/{}/resolve", major["id"]),
            json!({"resolution": "復旧"}),
        )
        .await;
    let (status, e) = engineer
        .post(&format!("/api/v1/incidents/{}/close", major["id"]), json!({}))
        .await;
    assert_eq!(status, 409);
    assert!(e["error"]["message"].as_str().unwrap().contains("post-mortem"));

    // Resolved only by a workaround: needs a problem first.
    let (_, wa) = engineer
        .post("/api/v1/incidents", incident("再発", "medium", "low"))
        .await;
    let (status, _) = engineer
        .post(
            &format!("/api/v1/incidents/{}/resolve", wa["id"]),
            json!({"resolution": "再起動", "resolution_kind": "workaround"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, e) = engineer
        .post(&format!("/api/v1/incidents/{}/close", wa["id"]), json!({}))
        .await;
    assert_eq!(status, 409);
    assert!(e["error"]["message"].as_str().unwrap().contains("problem"));
}

async fn a_second_writer_with_a_stale_version_gets_a_conflict(app: TestApp) {
    let a = Api::new(&app, Role::Engineer).await;
    let b = Api::new(&app, Role::Manager).await;
    let (_, created) = a.post("/api/v1/incidents", incident("x", "medium", "low")).await;
    let (id, version) = (created["id"].as_i64().unwrap(), created["version"].as_i64().unwrap());
    let (status, _) = a
        .post(
            &format!("/api/v1/incidents/{id}/acknowledge"),
            json!({"version": version}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, e) = b
        .post(
            &format!("/api/v1/incidents/{id}/hold"),
            json!({"version": version, "reason": "待ち"}),
        )
        .await;
    assert_eq!(status, 409, "{e}");
    let (_, now) = b.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(now["status"], "acknowledged", "the stale write changed nothing");
}

async fn concurrent_filing_never_reuses_a_number(app: TestApp) {
    let api = Api::new(&app, Role::Helpdesk).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (url, token) = (app.url("/api/v1/incidents"), api.token.clone());
        tasks.push(tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&incident(&format!("同時 {i}"), "low", "low"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_string()
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=10).map(|n| format!("INC-{n:06}")).collect();
    assert_eq!(numbers, expected);
}

async fn queues_filters_and_paging(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let me = app
        .with_db(|conn| mamori::users::queries::list(conn, &Default::default(), 10).unwrap()[0].id)
        .await;
    let team = create_team(&app, "DB").await;
    // An assignee belongs to the team that holds the incident.
    let (status, body) = Api::new(&app, Role::Admin)
        .await
        .patch(&format!("/api/v1/users/{me}"), json!({"team_ids": [team]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, major) = api
        .post("/api/v1/incidents", incident("データベース応答なし", "high", "high"))
        .await;
    let (_, mine) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "帳票が出ない", "impact": "low", "urgency": "low", "assignee_id": me, "team_id": team}),
        )
        .await;
    for i in 0..55 {
        api.post(
            "/api/v1/incidents",
            incident(&format!("雑多な問い合わせ {i}"), "low", "medium"),
        )
        .await;
    }
    let ids = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let (_, majors) = api.get("/api/v1/incidents?view=major").await;
    assert_eq!(ids(&majors), vec![major["id"].as_i64().unwrap()]);
    let (_, my) = api.get("/api/v1/incidents?view=mine").await;
    assert_eq!(ids(&my), vec![mine["id"].as_i64().unwrap()]);
    let (_, by_team) = api.get(&format!("/api/v1/incidents?team_id={team}")).await;
    assert_eq!(ids(&by_team), vec![mine["id"].as_i64().unwrap()]);
    let (_, unassigned) = api.get("/api/v1/incidents?view=unassigned").await;
    assert!(!ids(&unassigned).contains(&mine["id"].as_i64().unwrap()));
    // Japanese substring search.
    let (_, found) = api
        .get(&format!(
            "/api/v1/incidents?q={}",
            "%E3%83%87%E3%83%BC%E3%82%BF%E3%83%99%E3%83%BC%E3%82%B9"
        ))
        .await;
    assert_eq!(ids(&found), vec![major["id"].as_i64().unwrap()]);
    // Two characters: below the trigram length, the LIKE fallback still finds it.
    let (_, short) = api.get(&format!("/api/v1/incidents?q={}", "%E5%B8%B3%E7%A5%A8")).await;
    assert_eq!(ids(&short), vec![mine["id"].as_i64().unwrap()]);
    // By number, and case-insensitively in English.
    let (_, by_number) = api.get("/api/v1/incidents?q=inc-000002&view=all").await;
    assert_eq!(ids(&by_number), vec![mine["id"].as_i64().unwrap()]);
    api.post(
        "/api/v1/incidents",
        incident("Backup job FAILED on nas01", "low", "low"),
    )
    .await;
    let (_, english) = api.get("/api/v1/incidents?q=failed%20on").await;
    assert_eq!(english["items"].as_array().unwrap().len(), 1);
    let (_, p1) = api.get("/api/v1/incidents?priority=P1").await;
    assert_eq!(ids(&p1).len(), 1);
    // Keyset pages: newest first, no overlap, everything once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/incidents?view=all&limit=20".to_string();
    loop {
        let (_, page) = api.get(&path).await;
        let page_ids = ids(&page);
        assert!(page_ids.windows(2).all(|w| w[0] > w[1]), "newest first");
        seen.extend(page_ids);
        match page["next_before"].as_i64() {
            Some(before) => path = format!("/api/v1/incidents?view=all&limit=20&before={before}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (58, 58));
    let (status, bad) = api.get("/api/v1/incidents?priority=P9").await;
    assert_eq!((status, bad["error"]["fields"]["priority"].is_string()), (422, true));
}

async fn pages_file_show_and_move_an_incident(app: TestApp) {
    let (client, _) = app.login_as(Role::Engineer).await;
    let bad = app
        .post_form(
            &client,
            "/incidents",
            &[
                ("title", ""),
                ("impact", "high"),
                ("urgency", "high"),
                ("reported_at", "2999-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("id=\"error-title\"") && html.contains("id=\"error-reported_at\""));

    let created = app
        .post_form(
            &client,
            "/incidents",
            &[
                ("title", "ファイルサーバ遅延"),
                ("impact", "medium"),
                ("urgency", "high"),
                ("channel", "phone"),
                ("reported_at", "2026-01-05T09:15"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let page = app.get(&client, &location).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("INC-000001") && html.contains("ファイルサーバ遅延") && html.contains("P2"));
    // 09:15 Tokyo was entered; it is shown back in Tokyo time.
    assert!(
        html.contains("2026-01-05 09:15"),
        "reported time shown in the user's zone"
    );

    let ack = app
        .post_form(&client, &format!("{location}/acknowledge"), &[("version", "1")])
        .await;
    assert_eq!(ack.status(), 303);
    // The same stale version again: a conflict page, not a silent overwrite.
    let stale = app
        .post_form(&client, &format!("{location}/start"), &[("version", "1")])
        .await;
    assert_eq!(stale.status(), 409);
    let no_reason = app
        .post_form(
            &client,
            &format!("{location}/escalate"),
            &[("kind", "hierarchical"), ("reason", ""), ("tried", "")],
        )
        .await;
    assert_eq!(no_reason.status(), 422);
    assert!(no_reason.text().await.unwrap().contains("id=\"error-reason\""));
    let comment = app
        .post_form(
            &client,
            &format!("{location}/comments"),
            &[("body", "ログを確認中"), ("visibility", "internal")],
        )
        .await;
    assert_eq!(comment.status(), 303);
    let page = app.get(&client, &location).await.text().await.unwrap();
    assert!(page.contains("ログを確認中"));
    let list = app.get(&client, "/incidents").await.text().await.unwrap();
    assert!(list.contains("ファイルサーバ遅延"));
}

async fn similar_past_incidents_are_suggested(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let (_, old_text) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "基幹データベースの応答遅延", "impact": "medium", "urgency": "medium"}),
        )
        .await;
    let (_, old_category) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "夜間バッチ失敗", "impact": "low", "urgency": "low", "category": "db"}),
        )
        .await;
    let (_, unrelated) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "プリンタ紙詰まり", "impact": "low", "urgency": "low", "category": "office"}),
        )
        .await;
    let (_, now) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "データベースの応答遅延が再発", "impact": "high", "urgency": "medium", "category": "db"}),
        )
        .await;
    let (_, plain) = api.get(&format!("/api/v1/incidents/{}", now["id"])).await;
    assert!(plain.get("similar").is_none(), "similar incidents only on request");
    let (_, read) = api.get(&format!("/api/v1/incidents/{}?similar=true", now["id"])).await;
    let similar = read["similar"].as_array().unwrap();
    let ids: Vec<i64> = similar.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&old_text["id"].as_i64().unwrap()), "{read}");
    assert!(ids.contains(&old_category["id"].as_i64().unwrap()), "{read}");
    assert!(!ids.contains(&unrelated["id"].as_i64().unwrap()));
    assert!(!ids.contains(&now["id"].as_i64().unwrap()), "never itself");
    let text_hit = similar.iter().find(|s| s["id"] == old_text["id"]).unwrap();
    assert_eq!(text_hit["similar_text"], true);

    // The list's category filter, alone and with a text search, each in order and paged.
    let numbers = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, db) = api.get("/api/v1/incidents?view=all&category=db").await;
    assert_eq!(numbers(&db), [now["number"].clone(), old_category["number"].clone()]);
    assert_eq!(db["items"][0]["category"], "db");
    let (_, first) = api.get("/api/v1/incidents?view=all&category=db&limit=1").await;
    let next = first["next_before"].as_i64().unwrap();
    let (_, second) = api
        .get(&format!("/api/v1/incidents?view=all&category=db&limit=1&before={next}"))
        .await;
    assert_eq!(numbers(&second), [old_category["number"].clone()]);
    let (_, searched) = api.get("/api/v1/incidents?view=all&category=db&q=データベース").await;
    assert_eq!(numbers(&searched), [now["number"].clone()]);
}

async fn csv_export_and_date_filters(app: TestApp) {
    let (client, _) = app.login_as(Role::Engineer).await;
    for (title, at) in [
        ("=HYPERLINK(\"x\")", "2026-01-10T09:00"),
        ("年末のバックアップ失敗", "2025-12-30T23:30"),
        ("新年の障害", "2026-01-02T00:10"),
    ] {
        let r = app
            .post_form(
                &client,
                "/incidents",
                &[
                    ("title", title),
                    ("impact", "low"),
                    ("urgency", "low"),
                    ("reported_at", at),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    let csv = app.get(&client, "/incidents/export.csv?view=all").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let bytes = csv.bytes().await.unwrap();
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF], "BOM for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "number,priority,status,title,category,team,assignee,reported_at,updated_at"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        text.contains("年末のバックアップ失敗") && text.contains("2025-12-30 23:30"),
        "times in the user's zone: {text}"
    );
    assert!(text.contains("'=HYPERLINK"), "formulas are defused: {text}");
    // Dates are days in the user's zone (Asia/Tokyo): 2026-01-02 00:10 JST is 2026-01-01 UTC.
    let html = app
        .get(&client, "/incidents?view=all&from=2026-01-01&to=2026-01-02")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("新年の障害") && !html.contains("年末のバックアップ失敗") && !html.contains("HYPERLINK"));
    let filtered = app
        .get(&client, "/incidents/export.csv?view=all&from=2026-01-01&to=2026-01-02")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(filtered.lines().count(), 2);
    let bad = app.get(&client, "/incidents?from=2026-13-45").await;
    assert_eq!(bad.status(), 422);
}

/// The list page filters by assignee and by affected service, and its export and next-page
/// links keep those filters.
async fn the_list_page_filters_by_assignee_and_service(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let (client, me) = app.login_as(Role::Engineer).await;
    for (title, assignee, service) in [
        ("担当者つきの障害", Some(me.id), "会計システム"),
        ("担当者なしの障害", None, "人事システム"),
    ] {
        let (status, body) = api
            .post(
                "/api/v1/incidents",
                json!({"title": title, "impact": "low", "urgency": "low", "assignee_id": assignee, "service": service}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let page = |path: String| {
        let (app, client) = (&app, &client);
        async move {
            let response = app.get(client, &path).await;
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let mine = page(format!("/incidents?view=all&assignee_id={}", me.id)).await;
    assert!(
        mine.contains("担当者つきの障害") && !mine.contains("担当者なしの障害"),
        "{mine}"
    );
    assert!(
        mine.contains(&format!("<option value=\"{}\" selected>", me.id)),
        "{mine}"
    );
    assert!(
        mine.contains(&format!("export.csv?view=all&amp;assignee_id={}", me.id)),
        "{mine}"
    );
    let by_service = page("/incidents?view=all&service=人事システム".to_string()).await;
    assert!(by_service.contains("担当者なしの障害") && !by_service.contains("担当者つきの障害"));
    let csv = page(format!("/incidents/export.csv?view=all&assignee_id={}", me.id)).await;
    assert_eq!(csv.lines().count(), 2, "{csv}");
}

/// Status updates start from ja/en templates filled from the incident; the API serves the
/// text, the page prefills the form from a link.
async fn status_updates_start_from_language_templates(app: TestApp) {
    let api = Api::new(&app, Role::Helpdesk).await;
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "勤怠システムに入れない", "impact": "high", "urgency": "high", "service": "勤怠システム"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let reference = created["number"].as_str().unwrap().to_string();
    let path = |q: &str| format!("/api/v1/incidents/{id}/status-update-template?{q}");

    let (status, ja) = api.get(&path("state=confirming&lang=ja")).await;
    assert_eq!(status, 200);
    let text = ja["message"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("【第一報】{reference} 勤怠システムに入れない")),
        "{text}"
    );
    assert!(text.contains("勤怠システムに関する障害の連絡を受け"), "{text}");
    let (_, en) = api.get(&path("state=recovered&lang=en")).await;
    let text = en["message"].as_str().unwrap();
    assert!(text.starts_with(&format!("[Recovered] {reference}")), "{text}");
    assert!(text.contains("confirmed that 勤怠システム has recovered"), "{text}");
    // No isolation marks or unfilled placeholders leak into the text people send.
    assert!(!text.contains('\u{2068}') && !text.contains('$'), "{text}");

    let (status, e) = api.get(&path("state=panicking")).await;
    assert_eq!((status, e["error"]["fields"]["state"].is_string()), (422, true));
    let (status, e) = api.get(&path("state=confirming&lang=fr")).await;
    assert_eq!((status, e["error"]["fields"]["lang"].is_string()), (422, true));

    // The page: a template link fills the form with the chosen state selected.
    let (client, _) = app.login_as(Role::Helpdesk).await;
    let page = app
        .get(&client, &format!("/incidents/{id}?update_template=investigating"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<option value=\"investigating\" selected>"),
        "state not selected"
    );
    assert!(page.contains("we are investigating the cause of the problem with 勤怠システム"));
    let plain = app
        .get(&client, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!plain.contains(" selected>"));
}

/// Only admins delete, softly and with a reason; the ticket leaves lists and search, the audit
/// log keeps the before image, and a restore brings it back with its timeline.
async fn admins_delete_softly_and_restore(app: TestApp) {
    let engineer = Api::new(&app, Role::Engineer).await;
    let admin = Api::new(&app, Role::Admin).await;
    let (_, created) = engineer
        .post("/api/v1/incidents", incident("誤登録チケット削除テスト", "low", "low"))
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/tickets/{id}");
    assert_eq!(engineer.delete(&path, json!({"reason": "x"})).await.0, 403);
    let refused = admin.delete(&path, json!({"reason": "  "})).await;
    assert_eq!(refused.0, 422);
    assert!(refused.1["error"]["fields"]["reason"].is_string());
    assert_eq!(engineer.get(&format!("/api/v1/incidents/{id}")).await.0, 200);

    assert_eq!(admin.delete(&path, json!({"reason": "重複登録"})).await.0, 204);
    assert_eq!(engineer.get(&format!("/api/v1/incidents/{id}")).await.0, 404);
    let (_, listed) = engineer.get("/api/v1/incidents?view=all").await;
    assert!(listed["items"].as_array().unwrap().iter().all(|i| i["id"] != id));
    let (_, found) = engineer.get("/api/v1/incidents?view=all&q=誤登録チケット").await;
    assert!(found["items"].as_array().unwrap().is_empty());
    assert_eq!(admin.delete(&path, json!({"reason": "again"})).await.0, 404);
    let (status, deleted) = admin.get("/api/v1/tickets/deleted").await;
    assert_eq!(status, 200);
    assert_eq!(deleted["items"][0]["id"], id);
    assert_eq!(engineer.get("/api/v1/tickets/deleted").await.0, 403);
    let entity = id.to_string();
    let audit = app
        .with_db(move |conn| {
            let filter = mamori::audit::model::AuditFilter {
                entity_id: Some(entity),
                action: Some("incident.delete".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 10).unwrap().0
        })
        .await;
    assert_eq!(audit.len(), 1);
    assert!(audit[0]
        .before_json
        .as_deref()
        .unwrap()
        .contains("誤登録チケット削除テスト"));
    assert!(audit[0].after_json.as_deref().unwrap().contains("重複登録"));

    let restore = format!("/api/v1/tickets/{id}/restore");
    assert_eq!(engineer.send(reqwest::Method::POST, &restore, None).await.0, 403);
    assert_eq!(admin.send(reqwest::Method::POST, &restore, None).await.0, 204);
    assert_eq!(admin.send(reqwest::Method::POST, &restore, None).await.0, 409);
    let (status, back) = engineer.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = back["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "deleted", "restored"]);

    // The pages: a confirmation with a required reason, then the list with a restore button.
    let (client, _) = app.login_as(Role::Admin).await;
    let confirm = app.get(&client, &format!("/tickets/{id}/delete")).await;
    assert_eq!(confirm.status(), 200);
    assert!(confirm
        .text()
        .await
        .unwrap()
        .contains(created["number"].as_str().unwrap()));
    let empty = app
        .post_form(&client, &format!("/tickets/{id}/delete"), &[("reason", "")])
        .await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("field-error"));
    let done = app
        .post_form(&client, &format!("/tickets/{id}/delete"), &[("reason", "テスト")])
        .await;
    assert_eq!(done.status(), 303);
    let list = app.get(&client, "/admin/deleted").await.text().await.unwrap();
    assert!(list.contains(created["number"].as_str().unwrap()));
    assert_eq!(app.get(&client, &format!("/incidents/{id}")).await.status(), 404);
    let restored = app
        .post_form(&client, &format!("/admin/deleted/{id}/restore"), &[])
        .await;
    assert_eq!(restored.status(), 303);
    assert_eq!(app.get(&client, &format!("/incidents/{id}")).await.status(), 200);
    let (engineer_page, _) = app.login_as(Role::Engineer).await;
    let page = app
        .get(&engineer_page, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains(&format!("/tickets/{id}/delete")),
        "delete link shown to a non-admin"
    );
}

/// Every order pages through everything once, in that order, with the keyset cursor.
async fn lists_sort_in_four_orders(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    // Priorities P4, P2, P1, P3, P4, P2, P1 … in filing order, each a minute apart.
    let levels = [
        ("low", "low"),
        ("high", "medium"),
        ("high", "high"),
        ("medium", "medium"),
    ];
    let mut filed = Vec::new();
    for i in 0..14 {
        app.state.clock.advance(chrono::Duration::minutes(1));
        let (impact, urgency) = levels[i % 4];
        let (status, body) = api
            .post("/api/v1/incidents", incident(&format!("順序 {i}"), impact, urgency))
            .await;
        assert_eq!(status, 201, "{body}");
        filed.push((
            body["id"].as_i64().unwrap(),
            body["priority"].as_str().unwrap().to_string(),
        ));
    }
    // The oldest incident changes last: it heads the "recently updated" order.
    app.state.clock.advance(chrono::Duration::minutes(1));
    let (status, body) = api
        .post(&format!("/api/v1/incidents/{}/acknowledge", filed[0].0), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let walk = |sort: &'static str| {
        let api = &api;
        async move {
            let mut seen = Vec::new();
            let mut path = format!("/api/v1/incidents?view=all&limit=4&sort={sort}");
            loop {
                let (status, page) = api.get(&path).await;
                assert_eq!(status, 200, "{page}");
                seen.extend(
                    page["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i["id"].as_i64().unwrap()),
                );
                match page["next_before"].as_i64() {
                    Some(before) => path = format!("/api/v1/incidents?view=all&limit=4&sort={sort}&before={before}"),
                    None => break,
                }
            }
            seen
        }
    };
    let ids: Vec<i64> = filed.iter().map(|(id, _)| *id).collect();
    let newest: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(walk("newest").await, newest);
    assert_eq!(walk("oldest").await, ids);
    let mut by_priority = filed.clone();
    by_priority.sort_by(|a, b| (a.1.as_str(), a.0).cmp(&(b.1.as_str(), b.0)));
    assert_eq!(
        walk("priority").await,
        by_priority.iter().map(|(id, _)| *id).collect::<Vec<_>>()
    );
    let updated = walk("updated").await;
    assert_eq!(updated[0], ids[0], "the acknowledged one first");
    assert_eq!(&updated[1..], &newest[..newest.len() - 1]);
    let (status, bad) = api.get("/api/v1/incidents?sort=colour").await;
    assert_eq!((status, bad["error"]["fields"]["sort"].is_string()), (422, true));
    // The page offers the orders, in the user's language, and shows the chosen one.
    let (client, _) = app.login_as(Role::Engineer).await;
    let page = app
        .get(&client, "/incidents?view=all&sort=priority")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<option value=\"priority\" selected>"), "{page}");
    assert!(page.contains("優先度順") || page.contains("By priority"));
}

/// A comment and a status update are activity: they move `updated_at`, and with it the
/// "recently updated" order, but not the version that guards edits, so an edit started
/// before them still saves.
async fn comments_and_status_updates_count_as_updates(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let mut filed = Vec::new();
    for title in ["先に起票", "後に起票"] {
        app.state.clock.advance(chrono::Duration::minutes(1));
        let (status, body) = api.post("/api/v1/incidents", incident(title, "low", "low")).await;
        assert_eq!(status, 201, "{body}");
        filed.push(body);
    }
    let (first, second) = (filed[0]["id"].as_i64().unwrap(), filed[1]["id"].as_i64().unwrap());
    let order = || async {
        let (_, list) = api.get("/api/v1/incidents?view=all&sort=updated").await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(order().await, [second, first]);

    app.state.clock.advance(chrono::Duration::minutes(1));
    let (status, commented) = api
        .post(
            &format!("/api/v1/incidents/{first}/comments"),
            json!({"body": "再現手順を確認中"}),
        )
        .await;
    assert_eq!(status, 201, "{commented}");
    assert_eq!(commented["version"], filed[0]["version"], "a comment is no edit");
    assert_ne!(commented["updated_at"], filed[0]["updated_at"]);
    assert_eq!(order().await, [first, second]);

    app.state.clock.advance(chrono::Duration::minutes(1));
    let (status, updated) = api
        .post(
            &format!("/api/v1/incidents/{second}/status-updates"),
            json!({"state": "investigating", "message": "調査中です"}),
        )
        .await;
    assert_eq!(status, 201, "{updated}");
    assert_eq!(updated["version"], filed[1]["version"]);
    assert_eq!(order().await, [second, first]);

    // The edit opened before the comment still goes through with its version.
    let (status, acked) = api
        .post(
            &format!("/api/v1/incidents/{first}/acknowledge"),
            json!({"version": filed[0]["version"]}),
        )
        .await;
    assert_eq!(status, 200, "{acked}");

    // Linking a problem and drafting a post-mortem are activity on the incident too.
    app.state.clock.advance(chrono::Duration::minutes(1));
    let (status, problem) = api
        .post(
            "/api/v1/problems",
            json!({"title": "原因調査", "priority": "P3", "incident_ids": [second]}),
        )
        .await;
    assert_eq!(status, 201, "{problem}");
    assert_eq!(order().await, [second, first]);
    app.state.clock.advance(chrono::Duration::minutes(1));
    let (status, pm) = api
        .post(&format!("/api/v1/incidents/{second}/postmortem"), json!({}))
        .await;
    assert_eq!(status, 201, "{pm}");
    app.state.clock.advance(chrono::Duration::minutes(1));
    let (status, pm) = api
        .post(&format!("/api/v1/incidents/{first}/postmortem"), json!({}))
        .await;
    assert_eq!(status, 201, "{pm}");
    assert_eq!(order().await, [first, second]);
}

/// Assigning: an absent field keeps what the incident has, `null` clears it; handing the
/// incident to another team without naming an assignee leaves the choice to that team.
async fn assigning_keeps_what_is_not_named(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let (desk, network) = (
        create_team(&app, "サービスデスク").await,
        create_team(&app, "ネットワーク").await,
    );
    let person = app.create_user(Role::Engineer).await.id;
    // An assignee belongs to the team that holds the incident.
    let admin = Api::new(&app, Role::Admin).await;
    let (status, body) = admin
        .patch(&format!("/api/v1/users/{person}"), json!({"team_ids": [desk, network]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "VPN接続不可", "impact": "low", "urgency": "low", "team_id": desk}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let assign = |body: Value| {
        let api = &api;
        async move { api.post(&format!("/api/v1/incidents/{id}/assign"), body).await }
    };
    let holder = |v: &Value| (v["team_id"].as_i64(), v["assignee_id"].as_i64());

    let (status, v) = assign(json!({"assignee_id": person})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(holder(&v), (Some(desk), Some(person)), "the team is kept");
    let (_, v) = assign(json!({})).await;
    assert_eq!(holder(&v), (Some(desk), Some(person)), "nothing named, nothing changes");
    let (_, v) = assign(json!({"team_id": desk, "version": v["version"]})).await;
    assert_eq!(holder(&v), (Some(desk), Some(person)), "same team: the assignee stays");
    let (_, v) = assign(json!({"assignee_id": null})).await;
    assert_eq!(holder(&v), (Some(desk), None));
    let (_, v) = assign(json!({"assignee_id": person})).await;
    let (_, v) = assign(json!({"team_id": network, "version": v["version"]})).await;
    assert_eq!(
        holder(&v),
        (Some(network), None),
        "the receiving team picks its assignee"
    );
    let (_, v) = assign(json!({"team_id": null, "assignee_id": person})).await;
    assert_eq!(holder(&v), (None, Some(person)));

    let (status, e) = assign(json!({"team_id": 999_999})).await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["team_id"].is_string(), "{e}");
    let (status, e) = assign(json!({"version": 1})).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("conflict")),
        "stale version"
    );

    // The page always sends both fields; an empty choice clears.
    let (client, _) = app.login_as(Role::Engineer).await;
    let (_, now) = api.get(&format!("/api/v1/incidents/{id}")).await;
    let version = now["version"].to_string();
    let response = app
        .post_form(
            &client,
            &format!("/incidents/{id}/assign"),
            &[
                ("version", &version),
                ("team_id", &desk.to_string()),
                ("assignee_id", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, v) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(holder(&v), (Some(desk), None));
}

/// A text search lists its hits newest first, or best match first when asked (pg_trgm's
/// similarity, titles weighing double, on both backends), paging through them in that order;
/// a reference typed in is the best match.
async fn text_search_ranks_best_matches_first(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let file = |title: &'static str, description: &'static str| {
        let api = &api;
        app.state.clock.advance(chrono::Duration::minutes(1));
        async move {
            let (status, body) = api
                .post(
                    "/api/v1/incidents",
                    json!({"title": title, "description": description, "impact": "low", "urgency": "low"}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            (
                body["id"].as_i64().unwrap(),
                body["number"].as_str().unwrap().to_string(),
            )
        }
    };
    let (in_title, in_title_number) = file("VPN 接続障害", "拠点から社内に入れない").await;
    let (in_long_text, _) = file(
        "定例作業の記録",
        "月次の作業ログ。サーバの再起動、証明書の更新、バックアップの確認、ディスク容量の点検、VPN の設定見直し、監視閾値の調整、パッチ適用の計画を行った。",
    )
    .await;
    let (in_short_text, _) = file("ファイルサーバ遅延", "VPN 経由").await;
    file("プリンタ故障", "トナー切れ").await;

    let ids = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    let best = [in_title, in_short_text, in_long_text];
    let newest = [in_short_text, in_long_text, in_title];
    let (status, page) = api.get("/api/v1/incidents?view=all&q=VPN&sort=relevance").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), best, "{page}");
    let (_, page) = api.get("/api/v1/incidents?view=all&q=vpn&sort=relevance").await;
    assert_eq!(ids(&page), best, "case does not matter: {page}");
    let (_, page) = api.get("/api/v1/incidents?view=all&q=VPN").await;
    assert_eq!(ids(&page), newest, "a search is newest first unless asked");
    // One at a time: the same order, each once.
    let mut walked = Vec::new();
    let mut path = "/api/v1/incidents?view=all&q=VPN&sort=relevance&limit=1".to_string();
    loop {
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{page}");
        walked.extend(ids(&page));
        match page["next_before"].as_i64() {
            Some(before) => path = format!("/api/v1/incidents?view=all&q=VPN&sort=relevance&limit=1&before={before}"),
            None => break,
        }
        assert!(walked.len() <= 3, "{walked:?}");
    }
    assert_eq!(walked, best);
    // The orders that make no sense for a search stay newest first.
    let (_, page) = api.get("/api/v1/incidents?view=all&q=VPN&sort=oldest").await;
    assert_eq!(ids(&page), newest);
    // A reference is the best match of all.
    let (_, page) = api
        .get(&format!(
            "/api/v1/incidents?view=all&sort=relevance&q={}",
            in_title_number.to_lowercase()
        ))
        .await;
    assert_eq!(ids(&page).first(), Some(&in_title), "{page}");
    // The page shows the order it lists in.
    let (client, _) = app.login_as(Role::Engineer).await;
    let html = app
        .get(&client, "/incidents?view=all&q=VPN&sort=relevance")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<option value=\"relevance\" selected>"), "{html}");
    let at = |title: &str| html.find(title).unwrap_or_else(|| panic!("{title} missing"));
    assert!(at("VPN 接続障害") < at("ファイルサーバ遅延") && at("ファイルサーバ遅延") < at("定例作業の記録"));
    assert!(!html.contains("プリンタ故障"));
}

on_both!(
    the_list_page_filters_by_assignee_and_service,
    text_search_ranks_best_matches_first,
    assigning_keeps_what_is_not_named,
    comments_and_status_updates_count_as_updates,
    lists_sort_in_four_orders,
    admins_delete_softly_and_restore,
    status_updates_start_from_language_templates,
    csv_export_and_date_filters,
    similar_past_incidents_are_suggested,
    filing_an_incident_sets_number_priority_and_timeline,
    bad_incident_input_is_refused_and_nothing_stored,
    the_whole_flow_from_first_response_to_closure,
    illegal_moves_and_closing_rules_are_conflicts,
    a_second_writer_with_a_stale_version_gets_a_conflict,
    concurrent_filing_never_reuses_a_number,
    queues_filters_and_paging,
    pages_file_show_and_move_an_incident,
);
