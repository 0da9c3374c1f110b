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
