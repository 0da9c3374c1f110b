//! Hardening of data and input (issue 13, items 8–12, 14 and 20): control characters refused in
//! one place, text edits traced, assignment checked at creation, PATCH as a merge, upload rate
//! and quota, CSV defusing after NFKC, idempotent creation.

use mamori::auth::permissions::Role;
use mamori::routes::ROUTES;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

const NUL_TEXT: &str = "a\u{0}b";

fn concrete(path: &str, id: i64) -> String {
    path.replace("{path:.*}", "app.css").replace("{id}", &id.to_string())
}

/// Unsafe routes that read no text at all (a CSRF token alone, or nothing): a NUL has no way in.
const NO_TEXT: &[&str] = &[
    "POST /logout",
    "POST /profile/tokens/{id}/revoke",
    "POST /notifications/{id}/read",
    "POST /api/v1/notifications/{id}/read",
    "POST /admin/calendars/{id}/delete",
    "POST /admin/escalation-rules/{id}/delete",
    "POST /admin/deleted/{id}/restore",
    "POST /incidents/{id}/postmortem",
    "POST /api/v1/incidents/{id}/postmortem",
    "POST /action-items/{id}/done",
    "POST /api/v1/action-items/{id}/done",
    "DELETE /api/v1/escalation-rules/{id}",
    "DELETE /api/v1/calendars/{id}",
    "DELETE /api/v1/sla-policies/{id}",
    "POST /api/v1/tickets/{id}/restore",
    "POST /profile/sessions/{id}/end",
    "POST /admin/users/{id}/sessions/end",
    "POST /api/v1/users/{id}/sessions/end",
    "POST /admin/audit/verify",
    "POST /tickets/{id}/watchers/{user_id}/delete",
    "DELETE /api/v1/tickets/{id}/watchers/{user_id}",
    "POST /admin/backups/run",
    "POST /api/v1/admin/backups",
    "POST /admin/inbound-mail/{id}/reprocess",
    "POST /cmdb/{id}/delete",
    "DELETE /api/v1/cis/{id}",
    "DELETE /api/v1/ci-relationships/{id}",
];

/// Every unsafe route of the table gets a NUL in a text field through the way it reads text
/// (JSON, form, multipart, an .ics body) and answers 422 naming that field; every GET route gets
/// one in its query string and never answers 500. The search text `q` is the one exception.
async fn a_nul_is_refused_on_every_route_that_takes_text(app: TestApp) {
    let (client, user) = app.login_as(Role::Admin).await;
    let token = app.api_token(&user).await;
    let csrf = app.csrf_token(&client).await;
    let missing = 999_999; // extractors run before any record is looked up
    let api = Api::with_token(&app, &token);
    // Upload pages answer a refused field with the page of their record, which must exist.
    let (_, incident) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "添付", "impact": "low", "urgency": "low"}),
        )
        .await;
    let (_, calendars) = api.get("/api/v1/calendars").await;
    let existing = |path: &str| match path {
        "/incidents/{id}/attachments" => incident["id"].as_i64().unwrap(),
        "/admin/calendars/{id}/import" => calendars["items"][0]["id"].as_i64().expect("a calendar"),
        _ => missing,
    };
    let mut refused = 0;
    let mut wrong = Vec::new();
    for route in ROUTES {
        let method = route.method.as_str();
        let name = format!("{method} {}", route.path);
        let path = concrete(route.path, existing(route.path));
        let is_api = route.path.starts_with("/api/");
        let http_method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        if method == "GET" {
            let url = app.url(&format!("{path}?description=a%00b"));
            let request = if is_api {
                app.api_client().get(url).bearer_auth(&token)
            } else {
                client.get(url)
            };
            let status = request.send().await.unwrap().status().as_u16();
            assert!(status < 500, "{name} with a NUL in the query answered {status}");
            continue;
        }
        if NO_TEXT.contains(&name.as_str()) {
            continue;
        }
        if route.path == "/api/v1/inbound-mail" {
            // A raw message, not a form: its text is the mail's. A NUL in the subject and the
            // body is stored (the raw message is kept) and never a 500.
            let mail = format!(
                "From: nul@example.jp\r\nTo: mamori@example.jp\r\nSubject: {NUL_TEXT}\r\nMessage-ID: <nul@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{NUL_TEXT}\r\n"
            );
            let r = app
                .api_client()
                .post(app.url(&path))
                .bearer_auth(&token)
                .header("content-type", "message/rfc822")
                .body(mail)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            if status >= 500 {
                wrong.push(format!("{name}: {status} {}", r.text().await.unwrap_or_default()));
            }
            refused += 1;
            continue;
        }
        let multipart = route.path.ends_with("/attachments") || route.path == "/admin/calendars/{id}/import";
        let (field, response) = if route.path == "/api/v1/calendars/{id}/import" {
            let ics = format!(
                "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261229\r\nSUMMARY:{NUL_TEXT}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            );
            let r = app
                .api_client()
                .post(app.url(&path))
                .bearer_auth(&token)
                .header("content-type", "text/calendar")
                .body(ics)
                .send()
                .await
                .unwrap();
            ("file", r)
        } else if multipart {
            let form = Form::new()
                .text("description", NUL_TEXT)
                .part("file", Part::bytes(b"x".to_vec()).file_name("x.txt"));
            let r = if is_api {
                app.api_client()
                    .post(app.url(&path))
                    .bearer_auth(&token)
                    .multipart(form)
            } else {
                client
                    .post(app.url(&format!("{path}?csrf_token={csrf}")))
                    .multipart(form)
            };
            ("description", r.send().await.unwrap())
        } else if is_api {
            let r = app
                .api_client()
                .request(http_method, app.url(&path))
                .bearer_auth(&token)
                .json(&json!({ "description": NUL_TEXT }))
                .send()
                .await
                .unwrap();
            ("description", r)
        } else {
            let r = client
                .request(http_method, app.url(&path))
                .form(&[("csrf_token", csrf.as_str()), ("description", NUL_TEXT)])
                .send()
                .await
                .unwrap();
            ("description", r)
        };
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        if status != 422 {
            wrong.push(format!("{name}: {status}"));
            continue;
        }
        if is_api {
            let body: Value = serde_json::from_str(&body).unwrap();
            if !body["error"]["fields"][field].is_string() {
                wrong.push(format!("{name} does not name {field}: {body}"));
                continue;
            }
        }
        refused += 1;
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(refused > 60, "only {refused} routes walked");

    // The same field through the real creation, on both backends: refused, nothing stored.
    let (status, body) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "VPN", "description": NUL_TEXT, "impact": "low", "urgency": "low"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["fields"]["description"],
        "Contains a control character (such as NUL) that cannot be stored. Remove it and try again."
    );
    // Tab, CR and LF are text.
    let (status, body) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "VPN", "description": "一行目\r\n\t二行目", "impact": "low", "urgency": "low"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // A search text is the named exception (`web::text::SEARCH_QUERY_PARAMETER`): the search
    // normaliser turns its control characters into spaces, so the extractor lets it pass.
    let (status, body) = api.get("/api/v1/incidents?q=VPN%00").await;
    assert_ne!(status, 422, "{body}");
    // Any other parameter is refused and named.
    let (status, body) = api.get("/api/v1/incidents?category=a%00b").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["category"].is_string(), "{body}");
}

on_both!(a_nul_is_refused_on_every_route_that_takes_text);

/// A page form refused by the extractor (before its handler could draw the form again) still
/// names the field and the reason, and says how to get the typed text back.
async fn a_refused_page_form_names_the_field(app: TestApp) {
    let (client, _) = app.login_as(Role::Admin).await;
    let response = app
        .post_form(
            &client,
            "/admin/teams",
            &[("name", "DB\u{0}チーム"), ("description", "")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("<code>name</code>"), "{page}");
    assert!(page.contains("control character"), "{page}");
    assert!(page.contains("Back button"), "{page}");
}

on_both!(a_refused_page_form_names_the_field);

/// Item 9: an edit of an incident's text leaves before and after in the audit log and an event
/// naming the fields on the timeline (ja and en); problems and post-mortems alike.
async fn text_edits_are_audited_and_on_the_timeline(app: TestApp) {
    let (client, user) = app.login_as(Role::Engineer).await;
    let api = Api::with_token(&app, &app.api_token(&user).await);
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "VPN 障害", "description": "接続できない", "impact": "low", "urgency": "low"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let (status, edited) = api
        .patch(
            &format!("/api/v1/incidents/{id}"),
            json!({"version": created["version"], "title": "VPN 接続障害", "description": "本社から接続できない", "category": created["category"]}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let event = edited["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "edited")
        .unwrap_or_else(|| panic!("no edit on the timeline: {edited}"))
        .clone();
    assert_eq!(event["data"]["fields"], json!(["title", "description"]));
    assert_eq!(event["body"], "", "the text itself stays in the audit log");

    let entity = id.to_string();
    let audit = app
        .with_db(move |conn| {
            let filter = mamori::audit::model::AuditFilter {
                entity_id: Some(entity),
                action: Some("incident.edit".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 10).unwrap().0
        })
        .await;
    assert_eq!(audit.len(), 1);
    let before: Value = serde_json::from_str(audit[0].before_json.as_deref().unwrap()).unwrap();
    let after: Value = serde_json::from_str(audit[0].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(
        (&before["title"], &after["title"]),
        (&json!("VPN 障害"), &json!("VPN 接続障害"))
    );
    assert_eq!(
        (&before["description"], &after["description"]),
        (&json!("接続できない"), &json!("本社から接続できない"))
    );
    assert!(
        before.get("category").is_none(),
        "unchanged fields are left out: {before}"
    );

    let page = app
        .get(&client, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Text corrected") && page.contains("Title, Description"),
        "{page}"
    );
    app.post_form(&client, "/locale", &[("lang", "ja"), ("next", "/profile")])
        .await;
    let page = app
        .get(&client, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("記載内容の修正") && page.contains("件名、説明"), "{page}");

    // Problems: the analysis texts a step changes.
    let (status, problem) = api
        .post(
            "/api/v1/problems",
            json!({"title": "VPN 断の再発", "incident_ids": [id]}),
        )
        .await;
    assert_eq!(status, 201, "{problem}");
    let pid = problem["id"].as_i64().unwrap();
    let (status, problem) = api
        .post(
            &format!("/api/v1/problems/{pid}/investigate"),
            json!({"root_cause": "証明書の期限切れ"}),
        )
        .await;
    assert_eq!(status, 200, "{problem}");
    let event = problem["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "edited")
        .cloned();
    assert_eq!(
        event.unwrap_or_default()["data"]["fields"],
        json!(["root_cause"]),
        "{problem}"
    );
    let page = app
        .get(&client, &format!("/problems/{pid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("記載内容の修正"), "{page}");

    // Post-mortems: the sections an edit changes.
    let (status, pm) = api.post(&format!("/api/v1/incidents/{id}/postmortem"), json!({})).await;
    assert_eq!(status, 201, "{pm}");
    let (status, pm) = api
        .patch(
            &format!("/api/v1/incidents/{id}/postmortem"),
            json!({"version": pm["version"], "summary": "証明書の期限切れで VPN が 2時間 停止"}),
        )
        .await;
    assert_eq!(status, 200, "{pm}");
    let (_, incident) = api.get(&format!("/api/v1/incidents/{id}")).await;
    let event = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "postmortem_edited")
        .cloned();
    assert_eq!(
        event.unwrap_or_default()["data"]["fields"],
        json!(["summary"]),
        "{incident}"
    );
    let entity = pm["id"].to_string();
    let audit = app
        .with_db(move |conn| {
            let filter = mamori::audit::model::AuditFilter {
                entity_type: Some("postmortem".into()),
                entity_id: Some(entity),
                action: Some("postmortem.edit".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 10).unwrap().0
        })
        .await;
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0].before_json.as_deref().unwrap().contains("\"summary\""),
        "{audit:?}"
    );
    let page = app
        .get(&client, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("事後報告の編集") && page.contains("概要"), "{page}");
}

on_both!(text_edits_are_audited_and_on_the_timeline);

/// Item 10: choosing the assignee is second-line work wherever the field comes in, and the
/// assignee must belong to the team that holds the incident.
async fn the_assignee_is_checked_wherever_it_comes_in(app: TestApp) {
    let admin = Api::new(&app, Role::Admin).await;
    let helpdesk = Api::new(&app, Role::Helpdesk).await;
    let engineer = Api::new(&app, Role::Engineer).await;
    let (_, team) = admin.post("/api/v1/teams", json!({"name": "ネットワーク"})).await;
    let team = team["id"].as_i64().unwrap();
    let member = app.create_user(Role::Engineer).await;
    let outsider = app.create_user(Role::Engineer).await;
    let (status, body) = admin
        .patch(&format!("/api/v1/users/{}", member.id), json!({"team_ids": [team]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let incident = |assignee: i64| json!({"title": "VPN 障害", "impact": "low", "urgency": "low", "team_id": team, "assignee_id": assignee});

    // The helpdesk files to a team but may not choose the assignee: refused as `/assign` is.
    let (status, body) = helpdesk.post("/api/v1/incidents", incident(member.id)).await;
    assert_eq!(status, 403, "{body}");
    let (_, list) = admin.get("/api/v1/incidents").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing created: {list}");
    let (status, filed) = helpdesk
        .post(
            "/api/v1/incidents",
            json!({"title": "VPN 障害", "impact": "low", "urgency": "low", "team_id": team}),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    let (status, body) = helpdesk
        .post(
            &format!("/api/v1/incidents/{}/assign", filed["id"]),
            json!({"assignee_id": member.id}),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    // Second line chooses, but only a member of the team.
    let (status, body) = engineer.post("/api/v1/incidents", incident(outsider.id)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["assignee_id"].is_string(), "{body}");
    let (status, created) = engineer.post("/api/v1/incidents", incident(member.id)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["assignee_id"], member.id);
    let (status, body) = engineer
        .post(
            &format!("/api/v1/incidents/{}/assign", filed["id"]),
            json!({"version": filed["version"], "assignee_id": outsider.id}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["assignee_id"].is_string(), "{body}");
    let (status, body) = engineer
        .post(
            &format!("/api/v1/incidents/{}/assign", filed["id"]),
            json!({"version": filed["version"], "assignee_id": member.id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

on_both!(the_assignee_is_checked_wherever_it_comes_in);

/// Item 11: every PATCH route of the table is a merge. Each gets a record with every field
/// filled, a body with one field, and must leave every other field as it was.
async fn every_patch_leaves_what_it_does_not_name(app: TestApp) {
    let admin = Api::new(&app, Role::Admin).await;
    let (_, team) = admin
        .post(
            "/api/v1/teams",
            json!({"name": "ネットワーク", "description": "拠点間 VPN と回線"}),
        )
        .await;
    let team_id = team["id"].as_i64().unwrap();
    let (_, user) = admin
        .post(
            "/api/v1/users",
            json!({"email": "patch@example.jp", "display_name": "山田 太郎", "role": "engineer",
                   "locale": "ja", "time_zone": "Asia/Tokyo", "password": crate::support::PASSWORD,
                   "team_ids": [team_id]}),
        )
        .await;
    let (status, calendar) = admin
        .post(
            "/api/v1/calendars",
            json!({"name": "大阪拠点", "time_zone": "Asia/Tokyo",
                   "week": [["09:00-12:00", "13:00-18:00"], ["09:00-18:00"], ["09:00-18:00"], ["09:00-18:00"], ["09:00-18:00"], [], []],
                   "closures": [{"starts_on": "2026-12-29", "ends_on": "2027-01-03", "name": "年末年始"}]}),
        )
        .await;
    assert_eq!(status, 201, "{calendar}");
    let (status, policy) = admin
        .post(
            "/api/v1/sla-policies",
            json!({"name": "大阪 P2", "priorities": ["P2"], "calendar_id": calendar["id"], "position": 5,
                   "category": "network", "team_id": team_id, "response_minutes": 60, "resolution_minutes": 960}),
        )
        .await;
    assert_eq!(status, 201, "{policy}");
    let (status, incident) = admin
        .post(
            "/api/v1/incidents",
            json!({"title": "VPN 障害", "description": "本社から接続できない", "impact": "medium", "urgency": "high",
                   "category": "network", "service": "VPN", "team_id": team_id}),
        )
        .await;
    assert_eq!(status, 201, "{incident}");
    let incident_id = incident["id"].as_i64().unwrap();
    let (status, pm) = admin
        .post(&format!("/api/v1/incidents/{incident_id}/postmortem"), json!({}))
        .await;
    assert_eq!(status, 201, "{pm}");
    let mut sections = json!({"version": pm["version"]});
    for name in [
        "summary",
        "impact",
        "detection",
        "root_cause",
        "resolution",
        "timeline",
        "went_well",
        "went_badly",
        "lucky",
    ] {
        sections[name] = json!(format!("{name} の記述"));
    }
    let pm_path = format!("/api/v1/incidents/{incident_id}/postmortem");
    let (status, pm) = admin.patch(&pm_path, sections).await;
    assert_eq!(status, 200, "{pm}");

    let (status, ci) = admin
        .post(
            "/api/v1/cis",
            json!({"name": "db-osaka-01", "class": "database", "environment": "production", "criticality": 2,
                   "status": "active", "host_name": "db-osaka-01.example.jp", "location": "大阪DC",
                   "owner_team_id": team_id, "vendor": "PostgreSQL", "notes": "主系"}),
        )
        .await;
    assert_eq!(status, 201, "{ci}");
    // (PATCH path, the one field sent, how to read the record back, fields that may change).
    let teams_entry = |list: Value| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == team_id)
            .cloned()
            .unwrap()
    };
    let mut walked = 0;
    for route in ROUTES.iter().filter(|r| r.method.as_str() == "PATCH") {
        let (path, one_field, read, volatile): (String, Value, String, &[&str]) = match route.path {
            "/api/v1/users/{id}" => (
                format!("/api/v1/users/{}", user["id"]),
                json!({"display_name": "山田 花子"}),
                format!("/api/v1/users/{}", user["id"]),
                &["updated_at"],
            ),
            "/api/v1/teams/{id}" => (
                format!("/api/v1/teams/{team_id}"),
                json!({"name": "ネットワーク運用"}),
                "/api/v1/teams".to_string(),
                &["updated_at"],
            ),
            "/api/v1/calendars/{id}" => (
                format!("/api/v1/calendars/{}", calendar["id"]),
                json!({"name": "大阪拠点 (新)"}),
                format!("/api/v1/calendars/{}", calendar["id"]),
                &["updated_at"],
            ),
            "/api/v1/sla-policies/{id}" => (
                format!("/api/v1/sla-policies/{}", policy["id"]),
                json!({"name": "大阪 P2 (新)"}),
                format!("/api/v1/sla-policies/{}", policy["id"]),
                &["updated_at"],
            ),
            "/api/v1/incidents/{id}" => (
                format!("/api/v1/incidents/{incident_id}"),
                json!({"title": "VPN 接続障害"}),
                format!("/api/v1/incidents/{incident_id}"),
                &["updated_at", "version", "timeline", "sla"],
            ),
            "/api/v1/incidents/{id}/postmortem" => (
                pm_path.clone(),
                json!({"summary": "要約を更新"}),
                pm_path.clone(),
                &["updated_at", "version"],
            ),
            "/api/v1/cis/{id}" => (
                format!("/api/v1/cis/{}", ci["id"]),
                json!({"location": "大阪DC 3F"}),
                format!("/api/v1/cis/{}", ci["id"]),
                &["updated_at", "version", "history"],
            ),
            other => panic!("PATCH {other}: add a case to this walk"),
        };
        let read_back = |body: Value| {
            if route.path == "/api/v1/teams/{id}" {
                teams_entry(body)
            } else {
                body
            }
        };
        let (_, before) = admin.get(&read).await;
        let before = read_back(before);
        // The optimistic lock is not a field of the record: sent where the record has one.
        let mut body = one_field.clone();
        if let Some(version) = before.get("version") {
            body["version"] = version.clone();
        }
        let (status, body) = admin.patch(&path, body).await;
        assert_eq!(status, 200, "PATCH {path} {one_field}: {body}");
        let (_, after) = admin.get(&read).await;
        let after = read_back(after);
        let (field, value) = one_field.as_object().unwrap().iter().next().unwrap();
        assert_eq!(&after[field], value, "PATCH {path} did not change {field}");
        for (key, old) in before.as_object().unwrap() {
            if key == field || volatile.contains(&key.as_str()) {
                continue;
            }
            assert_eq!(&after[key], old, "PATCH {path} with only {field} changed {key}");
        }
        walked += 1;
    }
    assert_eq!(walked, 7);

    // An explicit null clears a nullable field (the team of a policy), and only that.
    let (status, cleared) = admin
        .patch(
            &format!("/api/v1/sla-policies/{}", policy["id"]),
            json!({"team_id": null}),
        )
        .await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["team_id"], Value::Null);
    assert_eq!(cleared["category"], "network");
}

on_both!(every_patch_leaves_what_it_does_not_name);

fn upload(name: &str, bytes: Vec<u8>, mime: &str) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes).file_name(name.to_string()).mime_str(mime).unwrap(),
    )
}

/// Item 12: a burst of uploads meets the per-person rate (429 with Retry-After, on the page a
/// message beside the file field), the storage quota answers 507, and only allow-listed content
/// types are kept; downloads stay attachments with nosniff.
async fn uploads_have_a_rate_and_a_quota(app: TestApp) {
    let (client, user) = app.login_as(Role::Engineer).await;
    let token = app.api_token(&user).await;
    let api = Api::with_token(&app, &token);
    let (_, incident) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "ログ添付", "impact": "low", "urgency": "low"}),
        )
        .await;
    let id = incident["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/incidents/{id}/attachments"));

    // 12 at once against a limit of 3 a minute: exactly 3 get through, on both backends.
    let burst = (0..12).map(|i| {
        let request = app.api_client().post(&url).bearer_auth(&token).multipart(upload(
            &format!("log{i}.txt"),
            format!("line {i}\n").into_bytes(),
            "text/plain",
        ));
        async move { request.send().await.unwrap() }
    });
    let answers = futures_util::future::join_all(burst).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [vec![201; 3], vec![429; 9]].concat());
    let mut accepted_bytes = 0;
    let mut refused = None;
    for answer in answers {
        if answer.status() == 201 {
            accepted_bytes += answer.json::<Value>().await.unwrap()["size_bytes"].as_i64().unwrap();
        } else if refused.is_none() {
            refused = Some(answer);
        }
    }
    let refused = refused.unwrap();
    let retry: i64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");

    // On the page: the incident again, the reason beside the file field, in the reader's language.
    app.post_form(&client, "/locale", &[("lang", "ja"), ("next", "/profile")])
        .await;
    let csrf = app.csrf_token(&client).await;
    let page = client
        .post(app.url(&format!("/incidents/{id}/attachments?csrf_token={csrf}")))
        .multipart(upload("more.txt", b"more".to_vec(), "text/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 429);
    assert!(page.headers().contains_key("retry-after"));
    let html = page.text().await.unwrap();
    assert!(html.contains("アップロードは1分間に3件までです。"), "{html}");

    // A minute later the person may upload again.
    app.state.clock.advance(chrono::Duration::seconds(61));
    let stored = app
        .api_client()
        .post(&url)
        .bearer_auth(&token)
        .multipart(upload("page.html", b"<script>alert(1)</script>".to_vec(), "text/html"))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 201);
    let stored: Value = stored.json().await.unwrap();
    assert_eq!(
        stored["content_type"], "application/octet-stream",
        "HTML is not kept as HTML"
    );
    let download = app
        .api_client()
        .get(app.url(&format!("/api/v1/attachments/{}", stored["id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.headers()["content-type"], "application/octet-stream");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let png = app
        .api_client()
        .post(&url)
        .bearer_auth(&token)
        .multipart(upload("screen.png", vec![0x89, b'P', b'N', b'G'], "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(png.json::<Value>().await.unwrap()["content_type"], "image/png");

    // The quota (1 MB here) counts every stored byte; past it a 507, and nothing recorded.
    app.state.clock.advance(chrono::Duration::seconds(61));
    let big = |n: u8| upload(&format!("dump{n}.log"), vec![b'a' + n; 600 * 1024], "text/plain");
    let first = app
        .api_client()
        .post(&url)
        .bearer_auth(&token)
        .multipart(big(0))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let second = app
        .api_client()
        .post(&url)
        .bearer_auth(&token)
        .multipart(big(1))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 507);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_storage");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MAMORI_STORAGE_QUOTA_MB"),
        "{body}"
    );
    let (_, listed) = api.get(&format!("/api/v1/incidents/{id}")).await;
    let attachments = listed["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "attachment")
        .count();
    assert_eq!(attachments, 6, "3 of the burst, HTML, PNG and the first dump");
    let used = app
        .with_db(|conn| mamori::attachments::queries::storage_used(conn).unwrap())
        .await;
    let expected = accepted_bytes + 25 + 4 + 600 * 1024;
    assert_eq!(used, expected, "the running total is what was recorded");
}

mod uploads_have_a_rate_and_a_quota {
    use mamori::db::Backend;

    use crate::support::TestApp;

    const LIMITS: &[(&str, &str)] = &[("MAMORI_UPLOADS_PER_MINUTE", "3"), ("MAMORI_STORAGE_QUOTA_MB", "1")];

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        if let Some(app) = TestApp::spawn_with(Backend::Sqlite, LIMITS).await {
            super::uploads_have_a_rate_and_a_quota(app).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = TestApp::spawn_with(Backend::Postgres, LIMITS).await {
            super::uploads_have_a_rate_and_a_quota(app).await;
        }
    }
}

/// Item 14: a cell that starts with a full-width `＝ ＋ － ＠` is defused like its ASCII form.
async fn full_width_formulas_are_defused_in_csv(app: TestApp) {
    let (client, user) = app.login_as(Role::Engineer).await;
    let api = Api::with_token(&app, &app.api_token(&user).await);
    for title in [
        "＝HYPERLINK(\"http://evil.example\")",
        "＠SUM(A1)",
        "=1+1",
        "通常の件名",
    ] {
        let (status, body) = api
            .post(
                "/api/v1/incidents",
                json!({"title": title, "impact": "low", "urgency": "low"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let csv = app
        .get(&client, "/incidents/export.csv?view=all")
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("'＝HYPERLINK"), "{csv}");
    assert!(csv.contains("'＠SUM(A1)"), "{csv}");
    assert!(csv.contains("'=1+1"), "{csv}");
    assert!(csv.contains(",通常の件名,") && !csv.contains("'通常の件名"), "{csv}");
}

on_both!(full_width_formulas_are_defused_in_csv);

/// Item 20: a creation retried with the same `Idempotency-Key` is answered from the first
/// answer, per user, for 24 hours; another body is a 422 naming the header; a retry while the
/// first is still running is a 409.
async fn a_retried_creation_with_its_key_creates_once(app: TestApp) {
    let user = app.create_user(Role::Engineer).await;
    let token = app.api_token(&user).await;
    let other = Api::new(&app, Role::Engineer).await;
    let post = |token: &str, key: &str, body: Value| {
        let request = app
            .api_client()
            .post(app.url("/api/v1/incidents"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let replayed = response.headers().contains_key("idempotent-replayed");
            let location = response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string());
            (status, replayed, location, response.json::<Value>().await.unwrap())
        }
    };
    let body = json!({"title": "VPN 障害", "impact": "low", "urgency": "low"});
    let key = "8e03978e-40d5-43e8-bc93-6894a57f9324";
    let (status, replayed, location, first) = post(&token, key, body.clone()).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, location_again, again) = post(&token, key, body.clone()).await;
    assert_eq!((status, replayed), (201, true), "{again}");
    assert_eq!(again, first, "the first answer, whole");
    assert_eq!(location_again, location);
    let count = || async {
        let (_, list) = Api::with_token(&app, &token).get("/api/v1/incidents").await;
        list["items"].as_array().unwrap().len()
    };
    assert_eq!(count().await, 1, "created once");

    // The same key with another body: refused, naming the header.
    let (status, _, _, refused) = post(&token, key, json!({"title": "別件", "impact": "low", "urgency": "low"})).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"]["fields"]["Idempotency-Key"].is_string(), "{refused}");
    // Keys belong to their user: another user's same key is their own.
    let (status, replayed, _, theirs) = post(&other.token, key, body.clone()).await;
    assert_eq!((status, replayed), (201, false), "{theirs}");
    assert_ne!(theirs["id"], first["id"]);

    // A refusal is not kept: the client may correct nothing and retry after the cause is gone.
    let (status, _, _, invalid) = post(
        &token,
        "k-invalid",
        json!({"title": "", "impact": "low", "urgency": "low"}),
    )
    .await;
    assert_eq!(status, 422, "{invalid}");
    let (status, replayed, _, _) = post(
        &token,
        "k-invalid",
        json!({"title": "", "impact": "low", "urgency": "low"}),
    )
    .await;
    assert_eq!((status, replayed), (422, false));

    // While the first request with a key runs, a second gets 409 (the first's claim is made
    // here as the middleware makes it).
    let user_id = user.id;
    let now = app.state.clock.now();
    let fingerprint = mamori::web::idempotency::fingerprint(
        &actix_web::http::Method::POST,
        "/api/v1/incidents",
        serde_json::to_vec(&body).unwrap().as_slice(),
    );
    let claim = app
        .with_db(move |conn| mamori::web::idempotency::claim(conn, user_id, "k-running", &fingerprint, now).unwrap())
        .await;
    assert_eq!(claim, mamori::web::idempotency::Claim::Run);
    let (status, _, _, busy) = post(&token, "k-running", body.clone()).await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(
        count().await,
        2,
        "nothing created while the first runs (the other user's one)"
    );

    // A claim whose process died mid-request is taken over once it is older than any request
    // runs: the same request then creates (once).
    app.state.clock.advance(chrono::Duration::minutes(
        mamori::web::idempotency::ABANDONED_MINUTES + 1,
    ));
    let (status, replayed, _, taken_over) = post(&token, "k-running", body.clone()).await;
    assert_eq!((status, replayed), (201, false), "{taken_over}");
    let (status, replayed, _, again) = post(&token, "k-running", body.clone()).await;
    assert_eq!((status, replayed), (201, true), "{again}");
    assert_eq!(again["id"], taken_over["id"]);
    assert_eq!(count().await, 3);

    // After 24 hours the key is forgotten (and pruned): the same request creates again.
    app.state.clock.advance(chrono::Duration::hours(25));
    let (status, replayed, _, later) = post(&token, key, body.clone()).await;
    assert_eq!((status, replayed), (201, false), "{later}");
    assert_ne!(later["id"], first["id"]);
    let kept = app
        .with_db(|conn| {
            use diesel::prelude::*;
            mamori::db::schema::idempotency_keys::table
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(kept, 1, "expired keys pruned, only the new one kept");

    // Uploads (multipart) are creations too: the same file sent again is stored once.
    let id = first["id"].as_i64().unwrap();
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.log\"\r\n\
                     Content-Type: text/plain\r\n\r\nERROR 接続断\r\n--XyZ--\r\n";
    let upload = || {
        app.api_client()
            .post(app.url(&format!("/api/v1/incidents/{id}/attachments")))
            .bearer_auth(&token)
            .header("Idempotency-Key", "upload-1")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(multipart)
            .send()
    };
    let first_upload = upload().await.unwrap();
    assert_eq!(first_upload.status(), 201);
    let first_upload: Value = first_upload.json().await.unwrap();
    let second_upload = upload().await.unwrap();
    assert_eq!(second_upload.status(), 201);
    assert_eq!(second_upload.json::<Value>().await.unwrap()["id"], first_upload["id"]);
}

on_both!(a_retried_creation_with_its_key_creates_once);
