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

async fn notifications_of(api: &Api<'_>) -> Vec<Value> {
    let (status, body) = api.get("/api/v1/notifications").await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn watchers_follow_a_ticket_and_hear_of_it(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let engineer_api = Api::with_token(&app, &app.api_token(&engineer).await);
    let helpdesk = app.create_user(Role::Helpdesk).await;
    let helpdesk_api = Api::with_token(&app, &app.api_token(&helpdesk).await);
    let problem = new_problem(&engineer_api, "ファイルサーバー遅延").await;

    // Anyone who can see it watches it; watching is on the timeline, audited, and moves
    // `updated_at`.
    let (_, before) = engineer_api.get(&format!("/api/v1/problems/{problem}")).await;
    app.state.clock.advance(chrono::Duration::minutes(1));
    let (status, list) = helpdesk_api
        .post(&format!("/api/v1/tickets/{problem}/watchers"), json!({}))
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["user_id"], helpdesk.id);
    let (_, ticket) = engineer_api
        .post(
            &format!("/api/v1/tickets/{problem}/comments"),
            json!({"body": "調査開始"}),
        )
        .await;
    assert_ne!(ticket["updated_at"], before["updated_at"]);
    // Watching twice changes nothing.
    let (status, list) = helpdesk_api
        .post(&format!("/api/v1/tickets/{problem}/watchers"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Adding someone else is work on the ticket: the helpdesk may not on a problem.
    let other = app.create_user(Role::Manager).await;
    let (status, _) = helpdesk_api
        .post(
            &format!("/api/v1/tickets/{problem}/watchers"),
            json!({"user_id": other.id}),
        )
        .await;
    assert_eq!(status, 403);
    // Someone who is no active user is refused by name.
    let (status, body) = engineer_api
        .post(
            &format!("/api/v1/tickets/{problem}/watchers"),
            json!({"user_id": 999_999}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["user_id"].is_string(), "{body}");
    let (status, list) = engineer_api
        .post(
            &format!("/api/v1/tickets/{problem}/watchers"),
            json!({"user_id": other.id}),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // The comment above reached the watcher, in-app, with a link built from the kind; the
    // author (who is also the owner) heard nothing.
    let heard = notifications_of(&helpdesk_api).await;
    assert!(
        heard.iter().any(|n| n["kind"] == "comment"
            && n["ticket_id"] == problem
            && n["ticket_page"] == format!("/problems/{problem}")),
        "{heard:?}"
    );
    assert!(notifications_of(&engineer_api).await.is_empty(), "not for the actor");
    let other_api = Api::with_token(&app, &app.api_token(&other).await);
    assert!(notifications_of(&other_api).await.is_empty(), "added after the comment");
    engineer_api
        .post(
            &format!("/api/v1/tickets/{problem}/comments"),
            json!({"body": "原因を特定"}),
        )
        .await;
    assert_eq!(notifications_of(&other_api).await.len(), 1);

    // An incident's public status update reaches its watchers too.
    let incident = new_incident(&helpdesk_api, "メール送信遅延").await;
    engineer_api
        .post(&format!("/api/v1/tickets/{incident}/watchers"), json!({}))
        .await;
    let (status, _) = helpdesk_api
        .post(
            &format!("/api/v1/incidents/{incident}/status-updates"),
            json!({"state": "investigating", "message": "調査中です"}),
        )
        .await;
    assert_eq!(status, 201);
    let heard = notifications_of(&engineer_api).await;
    assert!(
        heard
            .iter()
            .any(|n| n["kind"] == "status_update" && n["ticket_page"] == format!("/incidents/{incident}")),
        "{heard:?}"
    );

    // Unwatching: oneself (a page with its CSRF token), or another watcher by API.
    let (client, me) = app.login_as(Role::Helpdesk).await;
    let watched = app
        .post_form(&client, &format!("/tickets/{problem}/watchers"), &[])
        .await;
    assert_eq!(watched.status(), 303);
    let page = app
        .get(&client, &format!("/problems/{problem}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"unwatch\""), "the page offers to stop watching");
    let unwatched = app
        .post_form(&client, &format!("/tickets/{problem}/watchers/{}/delete", me.id), &[])
        .await;
    assert_eq!(unwatched.status(), 303);
    let (status, _) = engineer_api
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/tickets/{problem}/watchers/{}", other.id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = engineer_api
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/tickets/{problem}/watchers/{}", other.id),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, view) = engineer_api.get(&format!("/api/v1/problems/{problem}")).await;
    let kinds = event_kinds(&view);
    assert!(kinds.iter().any(|k| k == "watcher_added"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "watcher_removed"), "{kinds:?}");
    let page = app.get(&client, &format!("/problems/{problem}")).await;
    assert_eq!(page.status(), 200);
}

async fn the_requester_is_checked_stored_and_shown(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let api = Api::with_token(&app, &app.api_token(&engineer).await);
    for (body, field) in [
        (json!({"requester_email": "not an address"}), "requester_email"),
        (json!({"requester_id": 999_999}), "requester_id"),
    ] {
        let mut input = json!({"title": "依頼者つき", "impact": "low", "urgency": "low"});
        input.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        let (status, refused) = api.post("/api/v1/incidents", input).await;
        assert_eq!(status, 422, "{refused}");
        assert!(refused["error"]["fields"][field].is_string(), "{field}: {refused}");
        let mut input = json!({"title": "依頼者つき", "priority": "P3"});
        input.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        let (status, refused) = api.post("/api/v1/problems", input).await;
        assert_eq!(status, 422, "{refused}");
        assert!(refused["error"]["fields"][field].is_string(), "{field}: {refused}");
    }
    let (status, incidents) = api.get("/api/v1/incidents?view=all").await;
    assert_eq!(status, 200);
    assert!(
        incidents["items"].as_array().unwrap().is_empty(),
        "a refused requester creates nothing"
    );

    let requester = app.create_user(Role::Helpdesk).await;
    let (status, incident) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "プリンター故障", "impact": "low", "urgency": "low", "requester_email": "Guest@Example.co.jp"}),
        )
        .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    let (client, _) = app.login_as(Role::Engineer).await;
    let page = app
        .get(&client, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("guest@example.co.jp"), "shown on the page");
    // Editable: now a user, who then hears of the ticket.
    let (status, ticket) = api
        .post(
            &format!("/api/v1/tickets/{id}/requester"),
            json!({"requester_id": requester.id}),
        )
        .await;
    assert_eq!(status, 200, "{ticket}");
    assert_eq!(ticket["requester"]["user_id"], requester.id);
    assert!(ticket["requester"]["email"].is_null());
    api.post(
        &format!("/api/v1/tickets/{id}/comments"),
        json!({"body": "部品を手配しました"}),
    )
    .await;
    let requester_api = Api::with_token(&app, &app.api_token(&requester).await);
    assert_eq!(notifications_of(&requester_api).await.len(), 1);
    let (status, body) = api
        .post(
            &format!("/api/v1/tickets/{id}/requester"),
            json!({"requester_email": "x@"}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["error"]["fields"]["requester_email"].is_string(), "{body}");
    // A problem from its page form.
    let response = app
        .post_form(
            &client,
            "/problems",
            &[
                ("title", "依頼者フォーム"),
                ("priority", "P3"),
                ("requester_email", "bad"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
}

async fn updated_at_of(api: &Api<'_>, path: &str) -> Value {
    let (status, view) = api.get(path).await;
    assert_eq!(status, 200, "{view}");
    view["updated_at"].clone()
}

async fn every_event_on_the_timeline_moves_updated_at(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let token = app.api_token(&engineer).await;
    let api = Api::with_token(&app, &token);
    let other = app.create_user(Role::Helpdesk).await;
    let incident = new_incident(&api, "更新日時の確認").await;
    let path = format!("/api/v1/incidents/{incident}");
    let steps: Vec<(&str, reqwest::Method, String, Value)> = vec![
        (
            "comment",
            reqwest::Method::POST,
            format!("/api/v1/tickets/{incident}/comments"),
            json!({"body": "確認中"}),
        ),
        (
            "status update",
            reqwest::Method::POST,
            format!("/api/v1/incidents/{incident}/status-updates"),
            json!({"state": "investigating", "message": "調査中です"}),
        ),
        (
            "watch",
            reqwest::Method::POST,
            format!("/api/v1/tickets/{incident}/watchers"),
            json!({"user_id": other.id}),
        ),
        (
            "unwatch",
            reqwest::Method::DELETE,
            format!("/api/v1/tickets/{incident}/watchers/{}", other.id),
            Value::Null,
        ),
        (
            "requester",
            reqwest::Method::POST,
            format!("/api/v1/tickets/{incident}/requester"),
            json!({"requester_email": "user@example.jp"}),
        ),
    ];
    for (name, method, route, body) in steps {
        let before = updated_at_of(&api, &path).await;
        app.state.clock.advance(chrono::Duration::minutes(1));
        let body = (!body.is_null()).then_some(body);
        let (status, answer) = api.send(method, &route, body).await;
        assert!(status < 300, "{name}: {status} {answer}");
        assert_ne!(updated_at_of(&api, &path).await, before, "{name} moves updated_at");
    }
    // An attachment, on a problem too.
    let problem = new_problem(&api, "更新日時の確認").await;
    for path in [
        format!("/api/v1/incidents/{incident}"),
        format!("/api/v1/problems/{problem}"),
    ] {
        let id = path.rsplit('/').next().unwrap().to_string();
        let before = updated_at_of(&api, &path).await;
        app.state.clock.advance(chrono::Duration::minutes(1));
        let uploaded = app
            .api_client()
            .post(app.url(&format!("/api/v1/tickets/{id}/attachments")))
            .bearer_auth(&token)
            .multipart(file("a.log", b"log".to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), 201);
        assert_ne!(
            updated_at_of(&api, &path).await,
            before,
            "an attachment moves updated_at"
        );
    }
}

async fn seeded_and_odd_events_render_on_every_ticket_page(app: TestApp) {
    let (client, engineer) = app.login_as(Role::Engineer).await;
    let (reporter, now) = (engineer.id, app.state.clock.now());
    let last = app
        .with_db(move |conn| mamori::incidents::queries::bulk_seed(conn, 10, reporter, now).unwrap())
        .await;
    assert_eq!(last, 10);
    let token = app.api_token(&engineer).await;
    let api = Api::with_token(&app, &token);
    let (_, list) = api.get("/api/v1/incidents?view=all&limit=10").await;
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 10, "{list}");
    for id in &ids {
        let page = app.get(&client, &format!("/incidents/{id}")).await;
        assert_eq!(page.status(), 200, "seeded incident {id}");
    }
    // The seed writes the events the services write.
    let (_, view) = api.get(&format!("/api/v1/incidents/{}", ids[0])).await;
    let created = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "created")
        .cloned()
        .unwrap();
    assert!(created["data"]["priority"].is_string(), "{created}");

    // Events with missing or older fields show a neutral text on both kinds of page.
    let incident = new_incident(&api, "古いイベント").await;
    let problem = new_problem(&api, "古いイベント").await;
    for ticket in [incident, problem] {
        app.with_db(move |conn| {
            for (kind, data) in [
                ("created", None),
                ("state_changed", Some(json!({}))),
                ("status_update", None),
                ("escalated", Some(json!({"reason": "x"}))),
                ("priority_changed", None),
                ("attachment", None),
                ("edited", None),
                ("watcher_added", None),
                ("requester_changed", Some(json!({"to": null}))),
                ("some_future_kind", Some(json!({"x": 1}))),
            ] {
                mamori::tickets::service::add_event(conn, ticket, now, None, kind, "internal", "", data).unwrap();
            }
        })
        .await;
    }
    for path in [format!("/incidents/{incident}"), format!("/problems/{problem}")] {
        let page = app.get(&client, &path).await;
        assert_eq!(page.status(), 200, "{path}");
        let html = page.text().await.unwrap();
        assert!(html.contains("—"), "{path}: a neutral text");
    }
}

on_both!(
    a_problem_is_commented_assigned_and_attached_through_the_core_routes,
    the_kind_decides_who_may_work_a_ticket,
    watchers_follow_a_ticket_and_hear_of_it,
    the_requester_is_checked_stored_and_shown,
    every_event_on_the_timeline_moves_updated_at,
    seeded_and_odd_events_render_on_every_ticket_page,
);
