//! The use cases every kind shares (comment, assign, attach, watch) through `/tickets/{id}/…`,
//! with the kind deciding who may do what; requester, watchers and their notifications.

use mamori::auth::permissions::Role;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

fn file(name: &str, bytes: Vec<u8>) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str("text/plain")
            .unwrap(),
    )
}

async fn new_problem(api: &Api<'_>, title: &str) -> i64 {
    let (status, problem) = api
        .post("/api/v1/problems", json!({"title": title, "priority": "P3"}))
        .await;
    assert_eq!(status, 201, "{problem}");
    problem["id"].as_i64().unwrap()
}

async fn new_incident(api: &Api<'_>, title: &str) -> i64 {
    let (status, incident) = api
        .post(
            "/api/v1/incidents",
            json!({"title": title, "impact": "low", "urgency": "low"}),
        )
        .await;
    assert_eq!(status, 201, "{incident}");
    incident["id"].as_i64().unwrap()
}

fn event_kinds(view: &Value) -> Vec<String> {
    view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn a_problem_is_commented_assigned_and_attached_through_the_core_routes(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let token = app.api_token(&engineer).await;
    let api = Api::with_token(&app, &token);
    let id = new_problem(&api, "月末バッチの遅延").await;

    // API: comment, assign, attach, download.
    let (status, ticket) = api
        .post(
            &format!("/api/v1/tickets/{id}/comments"),
            json!({"body": "ログを確認中"}),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["page"], format!("/problems/{id}"));
    let (status, bad) = api
        .post(&format!("/api/v1/tickets/{id}/comments"), json!({"body": "  "}))
        .await;
    assert_eq!(status, 422);
    assert!(bad["error"]["fields"]["body"].is_string(), "{bad}");
    let other = app.create_user(Role::Engineer).await;
    let (status, ticket) = api
        .post(
            &format!("/api/v1/tickets/{id}/assign"),
            json!({"assignee_id": other.id, "version": ticket["version"]}),
        )
        .await;
    assert_eq!(status, 200, "{ticket}");
    assert_eq!(ticket["assignee_id"], other.id);
    // A stale version is a conflict.
    let (status, _) = api
        .post(
            &format!("/api/v1/tickets/{id}/assign"),
            json!({"assignee_id": engineer.id, "version": 1}),
        )
        .await;
    assert_eq!(status, 409);
    let uploaded = app
        .api_client()
        .post(app.url(&format!("/api/v1/tickets/{id}/attachments")))
        .bearer_auth(&token)
        .multipart(file("trace.log", b"ERROR slow query".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let attachment: Value = uploaded.json().await.unwrap();
    let aid = attachment["id"].as_i64().unwrap();
    let download = app
        .api_client()
        .get(app.url(&format!("/api/v1/tickets/{id}/attachments/{aid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"ERROR slow query");
    // Under another ticket's id the attachment does not exist.
    let incident = new_incident(&api, "別チケット").await;
    let (status, _) = api.get(&format!("/api/v1/tickets/{incident}/attachments/{aid}")).await;
    assert_eq!(status, 404);

    // Pages: a form with its CSRF token, back to the problem's page.
    let (client, _) = app.login_as(Role::Engineer).await;
    let response = app
        .post_form(
            &client,
            &format!("/tickets/{id}/comments"),
            &[("body", "画面からのコメント"), ("visibility", "internal")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/problems/{id}").as_str());
    // Without the token the form is refused.
    let refused = client
        .post(app.url(&format!("/tickets/{id}/comments")))
        .form(&[("body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let page = app.get(&client, &format!("/problems/{id}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("画面からのコメント"));
    assert!(
        html.contains(&format!("/tickets/{id}/attachments/{aid}")),
        "the download link"
    );
    assert!(html.contains(&format!("action=\"/tickets/{id}/comments\"")));

    let (_, view) = api.get(&format!("/api/v1/problems/{id}")).await;
    let kinds = event_kinds(&view);
    for kind in ["comment", "assigned", "attachment"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    // The audit rows name the kind.
    let actions: Vec<String> = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use mamori::db::schema::audit_log;
            audit_log::table
                .filter(audit_log::entity_id.eq(id.to_string()))
                .select(audit_log::action)
                .load::<String>(conn)
                .unwrap()
        })
        .await;
    assert!(actions.iter().any(|a| a == "problem.comment"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "problem.assign"), "{actions:?}");
}

async fn the_kind_decides_who_may_work_a_ticket(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let engineer_api = Api::with_token(&app, &app.api_token(&engineer).await);
    let problem = new_problem(&engineer_api, "DB 接続断").await;
    let helpdesk = app.create_user(Role::Helpdesk).await;
    let helpdesk_api = Api::with_token(&app, &app.api_token(&helpdesk).await);
    let incident = new_incident(&helpdesk_api, "VPN 接続不可").await;

    // The helpdesk reads problems but does not work them: 403, as the problem routes answer.
    let (status, _) = helpdesk_api
        .post(&format!("/api/v1/tickets/{problem}/comments"), json!({"body": "x"}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = helpdesk_api
        .post(&format!("/api/v1/problems/{problem}/investigate"), json!({}))
        .await;
    assert_eq!(status, 403, "the same answer as the problem's own routes");
    let (client, _) = app.login_as(Role::Helpdesk).await;
    let page = app
        .post_form(&client, &format!("/tickets/{problem}/comments"), &[("body", "x")])
        .await;
    assert_eq!(page.status(), 403);
    let upload = app
        .api_client()
        .post(app.url(&format!("/api/v1/tickets/{problem}/attachments")))
        .bearer_auth(app.api_token(&helpdesk).await)
        .multipart(file("a.txt", b"a".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 403);
    // A missing ticket is 404 for everyone.
    let (status, _) = helpdesk_api
        .post("/api/v1/tickets/999999/comments", json!({"body": "x"}))
        .await;
    assert_eq!(status, 404);

    // Incidents: the helpdesk comments and hands over to a team, but names no assignee
    // (`incidents::rules::PEOPLE_FIELDS`), on the shared routes as on the incident's own.
    let (status, _) = helpdesk_api
        .post(
            &format!("/api/v1/tickets/{incident}/comments"),
            json!({"body": "再起動を案内"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = helpdesk_api
        .post(
            &format!("/api/v1/tickets/{incident}/assign"),
            json!({"assignee_id": engineer.id}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = helpdesk_api
        .post(
            &format!("/api/v1/incidents/{incident}/assign"),
            json!({"assignee_id": engineer.id}),
        )
        .await;
    assert_eq!(status, 403);
    // The assignee must belong to the team, on every kind.
    let admin = app.create_user(Role::Admin).await;
    let admin_api = Api::with_token(&app, &app.api_token(&admin).await);
    let (status, team) = admin_api.post("/api/v1/teams", json!({"name": "DB チーム"})).await;
    assert_eq!(status, 201, "{team}");
    let (status, body) = engineer_api
        .post(
            &format!("/api/v1/tickets/{problem}/assign"),
            json!({"team_id": team["id"], "assignee_id": engineer.id}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["assignee_id"].is_string(), "{body}");
    let (status, body) = helpdesk_api
        .post(
            &format!("/api/v1/tickets/{incident}/assign"),
            json!({"team_id": team["id"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["team_id"], team["id"]);
}

on_both!(
    a_problem_is_commented_assigned_and_attached_through_the_core_routes,
    the_kind_decides_who_may_work_a_ticket,
);
