//! Problem management: from incidents to known error to closure, and what it unblocks.

use mamori::auth::permissions::Role;
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

async fn call(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    Api::with_token(app, token).send(method, path, Some(body)).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    call(app, token, reqwest::Method::POST, path, body).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    call(app, token, reqwest::Method::GET, path, Value::Null).await
}

async fn a_problem_from_incidents_to_known_error_unblocks_closing(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let token = app.api_token(&engineer).await;
    let mut incidents = Vec::new();
    for i in 0..3 {
        let (_, inc) = post(
            &app,
            &token,
            "/api/v1/incidents",
            json!({"title": format!("バッチ遅延 {i}"), "impact": "medium", "urgency": "low", "category": "batch"}),
        )
        .await;
        incidents.push(inc["id"].as_i64().unwrap());
    }
    // Resolved only by a workaround: closing needs a problem.
    let first = incidents[0];
    post(
        &app,
        &token,
        &format!("/api/v1/incidents/{first}/resolve"),
        json!({"resolution": "ジョブ再実行", "resolution_kind": "workaround"}),
    )
    .await;
    let (status, _) = post(&app, &token, &format!("/api/v1/incidents/{first}/close"), json!({})).await;
    assert_eq!(status, 409);

    // Three incidents in a category within 30 days: a candidate.
    let (_, candidates) = get(&app, &token, "/api/v1/problems/candidates").await;
    let items = candidates["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|c| c["dimension"] == "category" && c["value"] == "batch" && c["incidents"] == 3),
        "{candidates}"
    );
    // The problems page lists the candidate with a link to its incidents.
    let (client, _) = app.login_as(mamori::auth::permissions::Role::Engineer).await;
    let page = app.get(&client, "/problems").await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("/incidents?view=all&amp;category=batch"));

    let (status, bad) = post(
        &app,
        &token,
        "/api/v1/problems",
        json!({"title": "", "incident_ids": [999999], "fix_due_on": "soon"}),
    )
    .await;
    assert_eq!(status, 422);
    for field in ["title", "incident_ids", "fix_due_on"] {
        assert!(bad["error"]["fields"][field].is_string(), "{field}: {bad}");
    }

    let (status, problem) = post(
        &app,
        &token,
        "/api/v1/problems",
        json!({"title": "夜間バッチの遅延", "incident_ids": [first, incidents[1]], "fix_due_on": "2026-12-31"}),
    )
    .await;
    assert_eq!(status, 201, "{problem}");
    assert_eq!(problem["number"], "PRB-000001");
    assert_eq!(problem["incidents"].as_array().unwrap().len(), 2);
    let pid = problem["id"].as_i64().unwrap();
    let (_, linked) = post(
        &app,
        &token,
        &format!("/api/v1/problems/{pid}/incidents"),
        json!({"incident_ids": [incidents[2], first]}),
    )
    .await;
    assert_eq!(
        linked["incidents"].as_array().unwrap().len(),
        3,
        "linking twice is harmless"
    );

    // The incident now shows its problem and may be closed.
    let (_, inc) = get(&app, &token, &format!("/api/v1/incidents/{first}")).await;
    assert_eq!(inc["problems"][0]["number"], "PRB-000001");
    let (status, closed) = post(&app, &token, &format!("/api/v1/incidents/{first}/close"), json!({})).await;
    assert_eq!((status, closed["status"].as_str()), (200, Some("closed")), "{closed}");

    // Known error needs a root cause and a workaround.
    let (status, e) = post(&app, &token, &format!("/api/v1/problems/{pid}/known-error"), json!({})).await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["root_cause"].is_string() && e["error"]["fields"]["workaround"].is_string());
    let (status, known) = post(
        &app,
        &token,
        &format!("/api/v1/problems/{pid}/known-error"),
        json!({"root_cause": "ログ肥大でディスクI/Oが飽和", "workaround": "ログ退避後に再実行", "five_whys": "1. 遅延 2. I/O 飽和 3. ログ肥大"}),
    )
    .await;
    assert_eq!(status, 200, "{known}");
    assert_eq!(known["status"], "known_error");
    assert!(known["known_error_at"].is_string());
    let (status, e) = post(&app, &token, &format!("/api/v1/problems/{pid}/close"), json!({})).await;
    assert_eq!(status, 409, "{e}");
    let (_, resolved) = post(
        &app,
        &token,
        &format!("/api/v1/problems/{pid}/resolve"),
        json!({"resolution": "ログローテーション設定"}),
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    let (_, closed) = post(&app, &token, &format!("/api/v1/problems/{pid}/close"), json!({})).await;
    assert_eq!(closed["status"], "closed");

    // Helpdesk reads problems but cannot act on them.
    let helpdesk = app.create_user(Role::Helpdesk).await;
    let htoken = app.api_token(&helpdesk).await;
    assert_eq!(get(&app, &htoken, &format!("/api/v1/problems/{pid}")).await.0, 200);
    assert_eq!(
        post(&app, &htoken, &format!("/api/v1/problems/{pid}/reopen"), json!({}))
            .await
            .0,
        403
    );
}

async fn problem_pages(app: TestApp) {
    let (client, _) = app.login_as(Role::Engineer).await;
    let created = app
        .post_form(
            &client,
            "/incidents",
            &[("title", "印刷できない"), ("impact", "low"), ("urgency", "medium")],
        )
        .await;
    let incident_path = created.headers()["location"].to_str().unwrap().to_string();
    let id = incident_path.rsplit('/').next().unwrap().to_string();
    let form = app
        .get(&client, &format!("/problems/new?incident={id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("印刷できない"), "pre-filled from the incident");
    let made = app
        .post_form(
            &client,
            "/problems",
            &[("title", "印刷サーバ不調"), ("priority", "P3"), ("incident_ids", &id)],
        )
        .await;
    assert_eq!(made.status(), 303);
    let problem_path = made.headers()["location"].to_str().unwrap().to_string();
    let page = app.get(&client, &problem_path).await.text().await.unwrap();
    assert!(page.contains("PRB-000001") && page.contains("INC-000001"));
    let bad = app
        .post_form(
            &client,
            &format!("{problem_path}/known-error"),
            &[("root_cause", ""), ("workaround", "")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("id=\"error-root_cause\""));
    let unknown = app
        .post_form(
            &client,
            &format!("{problem_path}/incidents"),
            &[("incident_number", "INC-999999")],
        )
        .await;
    assert_eq!(unknown.status(), 422);
    let incident_page = app.get(&client, &incident_path).await.text().await.unwrap();
    assert!(incident_page.contains("PRB-000001"));
    let list = app.get(&client, "/problems").await.text().await.unwrap();
    assert!(list.contains("印刷サーバ不調"));
}

/// Candidates count only incidents no problem covers: once a problem takes some of a family,
/// the family drops off until enough new, unlinked incidents arrive; a deleted problem covers
/// nothing.
async fn problem_candidates_count_only_incidents_without_a_problem(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let token = app.api_token(&engineer).await;
    let file = |n: usize| {
        let (app, token) = (&app, &token);
        async move {
            let (status, inc) = post(
                app,
                token,
                "/api/v1/incidents",
                json!({"title": format!("帳票出力エラー {n}"), "impact": "low", "urgency": "low",
                       "category": "reporting", "service": "帳票基盤"}),
            )
            .await;
            assert_eq!(status, 201, "{inc}");
            inc["id"].as_i64().unwrap()
        }
    };
    // Each candidate's count, checked against the incident list its link opens.
    let counts = || async {
        let (status, list) = get(&app, &token, "/api/v1/problems/candidates").await;
        assert_eq!(status, 200, "{list}");
        let mut found = (None, None);
        for candidate in list["items"].as_array().unwrap() {
            let count = candidate["incidents"].as_i64().unwrap();
            let query = candidate["list_query"].as_str().unwrap();
            let (status, listed) = get(&app, &token, &format!("/api/v1/incidents?{query}&limit=100")).await;
            assert_eq!(status, 200, "{listed}");
            assert_eq!(
                listed["items"].as_array().unwrap().len() as i64,
                count,
                "{candidate} lists {listed}"
            );
            match (candidate["dimension"].as_str(), candidate["value"].as_str()) {
                (Some("category"), Some("reporting")) => found.0 = Some(count),
                (Some("service"), Some("帳票基盤")) => found.1 = Some(count),
                _ => {}
            }
        }
        found
    };
    // Reported 31 days ago (logged late): outside the window, counted and listed nowhere.
    let (status, old) = post(
        &app,
        &token,
        "/api/v1/incidents",
        json!({"title": "帳票出力エラー 古い", "impact": "low", "urgency": "low", "category": "reporting",
               "service": "帳票基盤",
               "reported_at": (app.state.clock.now() - chrono::Duration::days(31)).and_utc().to_rfc3339()}),
    )
    .await;
    assert_eq!(status, 201, "{old}");
    let mut filed = Vec::new();
    for n in 0..3 {
        filed.push(file(n).await);
    }
    assert_eq!(counts().await, (Some(3), Some(3)));
    // The problems page links to that list.
    let (client, _) = app.login_as(Role::Engineer).await;
    let page = app.get(&client, "/problems").await.text().await.unwrap();
    assert!(
        page.contains("service=%E5%B8%B3%E7%A5%A8%E5%9F%BA%E7%9B%A4&amp;from="),
        "{page}"
    );
    assert!(page.contains("without_problem=true"), "{page}");

    let (status, problem) = post(
        &app,
        &token,
        "/api/v1/problems",
        json!({"title": "帳票エンジンのメモリ不足", "incident_ids": [filed[0]]}),
    )
    .await;
    assert_eq!(status, 201, "{problem}");
    assert_eq!(
        counts().await,
        (None, None),
        "two unexplained incidents are no candidate"
    );
    filed.push(file(3).await);
    assert_eq!(counts().await, (Some(3), Some(3)), "a new, unlinked one brings it back");

    // A deleted problem explains nothing.
    let admin = app.create_user(Role::Admin).await;
    let admin_token = app.api_token(&admin).await;
    let (status, _) = call(
        &app,
        &admin_token,
        reqwest::Method::DELETE,
        &format!("/api/v1/tickets/{}", problem["id"]),
        json!({"reason": "誤起票"}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(counts().await, (Some(4), Some(4)));
}

on_both!(
    a_problem_from_incidents_to_known_error_unblocks_closing,
    problem_pages,
    problem_candidates_count_only_incidents_without_a_problem
);
