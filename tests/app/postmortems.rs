//! Post-mortems: drafted from the incident, reviewed, published by a manager; action items;
//! and the rule that a major incident closes only after its post-mortem is published.

use mamori::auth::permissions::Role;
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

async fn send(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    Api::with_token(app, token).send(method, path, Some(body)).await
}

async fn a_major_incident_closes_after_its_published_post_mortem(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let manager = app.create_user(Role::Manager).await;
    let (et, mt) = (app.api_token(&engineer).await, app.api_token(&manager).await);
    let post = reqwest::Method::POST;
    let (_, inc) = send(
        &app,
        &et,
        post.clone(),
        "/api/v1/incidents",
        json!({"title": "基幹システム全面停止", "impact": "high", "urgency": "high", "service": "受発注"}),
    )
    .await;
    let id = inc["id"].as_i64().unwrap();
    send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/acknowledge"),
        json!({}),
    )
    .await;
    send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/mitigate"),
        json!({"workaround": "待機系へ切替"}),
    )
    .await;
    send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/resolve"),
        json!({"resolution": "ストレージ交換"}),
    )
    .await;
    let (status, _) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409);

    let (status, _) = send(
        &app,
        &et,
        reqwest::Method::GET,
        &format!("/api/v1/incidents/{id}/postmortem"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    let (status, pm) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{pm}");
    assert_eq!(pm["status"], "draft");
    assert!(pm["summary"].as_str().unwrap().contains("基幹システム全面停止"));
    assert!(pm["resolution"].as_str().unwrap().contains("待機系へ切替"));
    let timeline = pm["timeline"].as_str().unwrap();
    assert!(
        timeline.contains("new → acknowledged") && timeline.contains("ストレージ交換"),
        "{timeline}"
    );
    assert!(pm["duration_minutes"].is_i64());
    let (status, _) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "one post-mortem per incident");

    let (status, edited) = send(
        &app,
        &et,
        reqwest::Method::PATCH,
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({"went_well": "切替手順が機能した", "version": pm["version"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(edited["went_well"], "切替手順が機能した");
    let (status, _) = send(
        &app,
        &et,
        reqwest::Method::PATCH,
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({"lucky": "x", "version": pm["version"]}),
    )
    .await;
    assert_eq!(status, 409, "stale version");

    // A manager publishes only what is in review; the engineer submits it first.
    let (status, refused) = send(
        &app,
        &mt,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/publish"),
        json!({"root_cause": "RAIDコントローラ故障"}),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    let (status, submitted) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/submit"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, submitted["status"].as_str()),
        (200, Some("in_review")),
        "{submitted}"
    );

    // Engineers cannot publish; a manager can, once summary and root cause are written.
    let (status, _) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/publish"),
        json!({}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, e) = send(
        &app,
        &mt,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/publish"),
        json!({}),
    )
    .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["root_cause"].is_string());
    let (status, published) = send(
        &app,
        &mt,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/publish"),
        json!({"root_cause": "RAIDコントローラ故障"}),
    )
    .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["status"], "published");
    let (status, _) = send(
        &app,
        &et,
        reqwest::Method::PATCH,
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({"lucky": "x"}),
    )
    .await;
    assert_eq!(status, 409, "published is final");

    let (status, closed) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!((status, closed["status"].as_str()), (200, Some("closed")), "{closed}");
}

async fn action_items_have_owners_due_dates_and_an_overdue_flag(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let owner = app.create_user(Role::Helpdesk).await;
    let (et, ot) = (app.api_token(&engineer).await, app.api_token(&owner).await);
    let post = reqwest::Method::POST;
    let (_, inc) = send(
        &app,
        &et,
        post.clone(),
        "/api/v1/incidents",
        json!({"title": "x", "impact": "low", "urgency": "low"}),
    )
    .await;
    let id = inc["id"].as_i64().unwrap();
    send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({}),
    )
    .await;
    let (status, e) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/action-items"),
        json!({"title": "", "due_on": "tomorrow"}),
    )
    .await;
    assert_eq!(status, 422);
    for field in ["title", "owner_id", "due_on"] {
        assert!(e["error"]["fields"][field].is_string(), "{field}");
    }
    let (status, pm) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/action-items"),
        json!({"title": "監視閾値の見直し", "owner_id": owner.id, "due_on": "2020-01-31"}),
    )
    .await;
    assert_eq!(status, 201);
    send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/action-items"),
        json!({"title": "手順書更新", "owner_id": owner.id, "due_on": "2999-12-31"}),
    )
    .await;
    assert_eq!(pm["action_items"].as_array().unwrap().len(), 1);

    let (_, mine) = send(&app, &ot, reqwest::Method::GET, "/api/v1/action-items", Value::Null).await;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["title"], "監視閾値の見直し");
    assert_eq!(items[0]["overdue"], true);
    assert_eq!(items[1]["overdue"], false);
    // Someone else (without post-mortem rights) cannot tick off the owner's item.
    let stranger = app.create_user(mamori::auth::permissions::Role::Helpdesk).await;
    let stranger_token = app.api_token(&stranger).await;
    let (status, _) = send(
        &app,
        &stranger_token,
        post.clone(),
        &format!("/api/v1/action-items/{}/done", items[0]["id"]),
        Value::Null,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(
        &app,
        &ot,
        post.clone(),
        &format!("/api/v1/action-items/{}/done", items[0]["id"]),
        Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    let (_, open) = send(&app, &ot, reqwest::Method::GET, "/api/v1/action-items", Value::Null).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1);

    // The page highlights overdue items.
    let client = app.client();
    app.post_form(
        &client,
        "/login",
        &[("email", &owner.email), ("password", &owner.password)],
    )
    .await;
    let (_, _) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem/action-items"),
        json!({"title": "期限切れ項目", "owner_id": owner.id, "due_on": "2021-05-01"}),
    )
    .await;
    let html = app.get(&client, "/action-items").await.text().await.unwrap();
    assert!(html.contains("class=\"overdue\"") && html.contains("期限切れ項目"));
}

/// Draft → in review → published: publishing a draft is refused (409, naming the allowed move)
/// on the API and on the page; a report in review goes back to draft for changes.
async fn publishing_needs_review_and_review_can_return_to_draft(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let manager = app.create_user(Role::Manager).await;
    let (et, mt) = (app.api_token(&engineer).await, app.api_token(&manager).await);
    let post = reqwest::Method::POST;
    let (_, inc) = send(
        &app,
        &et,
        post.clone(),
        "/api/v1/incidents",
        json!({"title": "メール配送遅延", "impact": "medium", "urgency": "medium"}),
    )
    .await;
    let id = inc["id"].as_i64().unwrap();
    let path = |step: &str| format!("/api/v1/incidents/{id}/postmortem{step}");
    let (status, pm) = send(&app, &et, post.clone(), &path(""), json!({})).await;
    assert_eq!(status, 201, "{pm}");
    assert_eq!(pm["allowed_steps"], json!(["submit"]));

    // Straight from draft: refused, nothing saved, the message names the allowed move.
    let (status, e) = send(
        &app,
        &mt,
        post.clone(),
        &path("/publish"),
        json!({"root_cause": "キュー滞留"}),
    )
    .await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "conflict");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("draft") && message.contains("allowed: submit"),
        "{message}"
    );
    let (_, unchanged) = send(&app, &et, reqwest::Method::GET, &path(""), Value::Null).await;
    assert_eq!(
        (unchanged["status"].as_str(), unchanged["root_cause"].as_str()),
        (Some("draft"), Some(""))
    );
    let (status, _) = send(&app, &et, post.clone(), &path("/return"), json!({})).await;
    assert_eq!(status, 409, "a draft is not in review");

    // To review (saving a section on the way), back to draft for changes, and to review again.
    let (status, in_review) = send(
        &app,
        &et,
        post.clone(),
        &path("/submit"),
        json!({"root_cause": "キュー滞留", "version": pm["version"]}),
    )
    .await;
    assert_eq!(status, 200, "{in_review}");
    assert_eq!(in_review["status"], "in_review");
    assert_eq!(in_review["root_cause"], "キュー滞留");
    assert_eq!(in_review["allowed_steps"], json!(["return", "publish"]));
    let (status, _) = send(&app, &et, post.clone(), &path("/submit"), json!({})).await;
    assert_eq!(status, 409, "already in review");
    let (status, returned) = send(&app, &et, post.clone(), &path("/return"), Value::Null).await;
    assert_eq!(
        (status, returned["status"].as_str()),
        (200, Some("draft")),
        "{returned}"
    );
    let (status, _) = send(&app, &et, post.clone(), &path("/submit"), Value::Null).await;
    assert_eq!(status, 200);

    // The timeline and the audit log follow the review.
    let audit = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use mamori::db::schema::audit_log;
            audit_log::table
                .filter(audit_log::action.like("postmortem.%"))
                .order(audit_log::id)
                .select(audit_log::action)
                .load::<String>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(
        audit,
        [
            "postmortem.create",
            "postmortem.submit",
            "postmortem.return",
            "postmortem.submit"
        ]
    );

    // The page: a draft offers review, not publication; publishing it anyway shows why not.
    let (client, _) = app.login_as(Role::Manager).await;
    let page_path = format!("/incidents/{id}/postmortem");
    send(&app, &et, post.clone(), &path("/return"), json!({})).await;
    let html = app.get(&client, &page_path).await.text().await.unwrap();
    assert!(html.contains("id=\"submit-postmortem\"") && !html.contains("id=\"publish-postmortem\""));
    let response = app
        .post_form(&client, &format!("{page_path}/publish"), &[("root_cause", "x")])
        .await;
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    let expected = mamori::web::i18n::translate(mamori::web::i18n::Lang::En, "error-postmortem-publish-needs-review");
    assert!(
        html.contains("id=\"error-status\"") && html.contains(&expected),
        "{html}"
    );

    // In review the page offers return and publish; the manager publishes from the page.
    let response = app.post_form(&client, &format!("{page_path}/submit"), &[]).await;
    assert_eq!(response.status(), 303);
    let html = app.get(&client, &page_path).await.text().await.unwrap();
    assert!(html.contains("id=\"return-postmortem\"") && html.contains("id=\"publish-postmortem\""));
    let response = app.post_form(&client, &format!("{page_path}/publish"), &[]).await;
    assert_eq!(response.status(), 303);
    let (_, published) = send(&app, &et, reqwest::Method::GET, &path(""), Value::Null).await;
    assert_eq!(published["status"], "published");
    assert_eq!(published["allowed_steps"], json!([]));
}

/// An action item may name the problem it serves: an unknown problem is a field error (422),
/// but a database failure while looking it up is an internal error (500), not "unknown".
async fn an_action_items_problem_must_exist_and_failures_are_not_hidden(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let et = app.api_token(&engineer).await;
    let post = reqwest::Method::POST;
    let (_, inc) = send(
        &app,
        &et,
        post.clone(),
        "/api/v1/incidents",
        json!({"title": "バックアップ失敗", "impact": "low", "urgency": "low"}),
    )
    .await;
    let id = inc["id"].as_i64().unwrap();
    send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({}),
    )
    .await;
    let items = format!("/api/v1/incidents/{id}/postmortem/action-items");
    let item = |problem: i64| json!({"title": "容量監視", "owner_id": engineer.id, "due_on": "2030-01-31", "problem_id": problem});

    // The problems table is out of reach (first, before any connection has used it).
    let rename = |from: &'static str, to: &'static str| {
        app.with_db(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("ALTER TABLE {from} RENAME TO {to}"))
                .execute(conn)
                .unwrap();
        })
    };
    rename("problems", "problems_away").await;
    let (status, e) = send(&app, &et, post.clone(), &items, item(1)).await;
    rename("problems_away", "problems").await;
    assert_eq!(status, 500, "{e}");
    assert_eq!(e["error"]["code"], "internal");
    assert!(e["error"]["fields"].as_object().is_none_or(|f| f.is_empty()), "{e}");

    let (status, e) = send(&app, &et, post.clone(), &items, item(999_999)).await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["problem_id"].is_string(), "{e}");
    let (status, problem) = send(
        &app,
        &et,
        post.clone(),
        "/api/v1/problems",
        json!({"title": "バックアップ領域の逼迫", "incident_ids": [id]}),
    )
    .await;
    assert_eq!(status, 201, "{problem}");
    let (status, pm) = send(&app, &et, post.clone(), &items, item(problem["id"].as_i64().unwrap())).await;
    assert_eq!(status, 201, "{pm}");
    assert_eq!(pm["action_items"][0]["problem_id"], problem["id"]);
}

/// Input the page refuses comes back as typed: the sections of a refused step (409) or of an
/// invalid one (422), and an action item with a field missing.
async fn refused_page_input_is_shown_as_typed(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let et = app.api_token(&engineer).await;
    let post = reqwest::Method::POST;
    let (_, inc) = send(
        &app,
        &et,
        post.clone(),
        "/api/v1/incidents",
        json!({"title": "証明書期限切れ", "impact": "medium", "urgency": "medium"}),
    )
    .await;
    let id = inc["id"].as_i64().unwrap();
    let (status, _) = send(
        &app,
        &et,
        post.clone(),
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({}),
    )
    .await;
    assert_eq!(status, 201);
    let (client, _) = app.login_as(Role::Manager).await;
    let page = format!("/incidents/{id}/postmortem");

    // Publishing a draft is refused; what was typed is still in the form.
    let response = app
        .post_form(
            &client,
            &format!("{page}/publish"),
            &[("summary", "入力した要約その一"), ("root_cause", "入力した原因その一")],
        )
        .await;
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("入力した要約その一") && html.contains("入力した原因その一"),
        "{html}"
    );

    // Saved over someone else's change (a stale version): refused, the typed text stays.
    let response = app
        .post_form(
            &client,
            &format!("{page}/edit"),
            &[
                ("version", "999"),
                ("root_cause", "入力した原因その二"),
                ("went_well", "入力した良かった点"),
            ],
        )
        .await;
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(html.contains("入力した原因その二") && html.contains("入力した良かった点"));

    // An action item without an owner: the title and due date stay.
    let response = app
        .post_form(
            &client,
            &format!("{page}/action-items"),
            &[("title", "入力した対策"), ("owner_id", ""), ("due_on", "2026-12-24")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("value=\"入力した対策\"") && html.contains("value=\"2026-12-24\""),
        "{html}"
    );
    // A section cleared on the page is cleared (an empty form value is not "unchanged").
    let response = app
        .post_form(
            &client,
            &format!("{page}/edit"),
            &[("summary", "消す前の要約"), ("lucky", "")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let response = app
        .post_form(&client, &format!("{page}/edit"), &[("summary", "")])
        .await;
    assert_eq!(response.status(), 303);
    let (_, cleared) = send(
        &app,
        &et,
        reqwest::Method::GET,
        &format!("/api/v1/incidents/{id}/postmortem"),
        Value::Null,
    )
    .await;
    assert_eq!(cleared["summary"], "", "{cleared}");
    // Nothing of the refused input was saved.
    let (_, pm) = send(
        &app,
        &et,
        reqwest::Method::GET,
        &format!("/api/v1/incidents/{id}/postmortem"),
        Value::Null,
    )
    .await;
    assert_ne!(pm["root_cause"], "入力した原因その二");
    assert_eq!(pm["action_items"], json!([]));
}

async fn a_long_page_form_is_saved_whole(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let et = app.api_token(&engineer).await;
    let post = reqwest::Method::POST;
    let (_, inc) = send(
        &app,
        &et,
        post.clone(),
        "/api/v1/incidents",
        json!({"title": "夜間バッチ停止", "impact": "medium", "urgency": "medium"}),
    )
    .await;
    let id = inc["id"].as_i64().unwrap();
    let (status, _) = send(
        &app,
        &et,
        post,
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({}),
    )
    .await;
    assert_eq!(status, 201);
    let (client, _) = app.login_as(Role::Manager).await;

    // Every section at its maximum, in Japanese (9 bytes a character url-encoded); the last in
    // characters outside the BMP (𠮷: 12 bytes). About 4.2 MB, far over the 1 MB of other bodies.
    let max = mamori::postmortems::service::MAX_SECTION;
    let fill = |pattern: &str| pattern.chars().cycle().take(max).collect::<String>();
    let names = mamori::postmortems::model::Sections::NAMES;
    let texts: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if i + 1 == names.len() {
                fill("𠮷")
            } else {
                fill(&format!("{i}番目の節：障害の経緯と対応を記録する。"))
            }
        })
        .collect();
    let fields: Vec<(&str, &str)> = names.iter().copied().zip(texts.iter().map(String::as_str)).collect();
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish()
        .len();
    assert!(encoded > 4_000_000, "{encoded} bytes");
    let response = app
        .post_form(&client, &format!("/incidents/{id}/postmortem/edit"), &fields)
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap_or_default());

    let (_, pm) = send(
        &app,
        &et,
        reqwest::Method::GET,
        &format!("/api/v1/incidents/{id}/postmortem"),
        Value::Null,
    )
    .await;
    for (name, text) in &fields {
        assert!(pm[name].as_str() == Some(*text), "{name} was not stored whole");
    }

    // The same through the API in one PATCH, every character escaped (`\ud842\udfb7`, 12
    // bytes for 𠮷, 6 for the rest) as a client may send it: about 3 MB of JSON.
    let rotated: Vec<(&str, &str)> = names
        .iter()
        .copied()
        .zip(texts.iter().rev().map(String::as_str))
        .collect();
    let mut body = serde_json::to_string(&json!({"version": pm["version"]})).unwrap();
    body.pop();
    for (name, text) in &rotated {
        let escaped: String = text.encode_utf16().map(|unit| format!("\\u{unit:04x}")).collect();
        body.push_str(&format!(",\"{name}\":\"{escaped}\""));
    }
    body.push('}');
    assert!(body.len() > 2_900_000, "{} bytes", body.len());
    let response = app
        .api_client()
        .patch(app.url(&format!("/api/v1/incidents/{id}/postmortem")))
        .bearer_auth(&et)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    let (_, pm) = send(
        &app,
        &et,
        reqwest::Method::GET,
        &format!("/api/v1/incidents/{id}/postmortem"),
        Value::Null,
    )
    .await;
    for (name, text) in rotated {
        assert!(
            pm[name].as_str() == Some(text),
            "{name} was not stored whole through the API"
        );
    }
    // Past that limit: 413, nothing changed.
    let (status, _) = send(
        &app,
        &et,
        reqwest::Method::PATCH,
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({"summary": "x".repeat(mamori::web::body::SIGNED_IN_LIMIT)}),
    )
    .await;
    assert_eq!(status, 413);
    let (_, after) = send(
        &app,
        &et,
        reqwest::Method::GET,
        &format!("/api/v1/incidents/{id}/postmortem"),
        Value::Null,
    )
    .await;
    assert_eq!(after["summary"], pm["summary"]);

    // Without a session the limit is small: nobody signed in makes the server buffer megabytes.
    let anonymous = app.client();
    let token = app.csrf_token(&anonymous).await;
    let padding = "x".repeat(mamori::web::body::ANONYMOUS_FORM_LIMIT);
    let refused = anonymous
        .post(app.url("/login"))
        .form(&[
            ("email", "a@example.jp"),
            ("password", padding.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
}

on_both!(
    a_long_page_form_is_saved_whole,
    refused_page_input_is_shown_as_typed,
    a_major_incident_closes_after_its_published_post_mortem,
    an_action_items_problem_must_exist_and_failures_are_not_hidden,
    publishing_needs_review_and_review_can_return_to_draft,
    action_items_have_owners_due_dates_and_an_overdue_flag
);
