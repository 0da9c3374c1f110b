//! JSON API bodies of the wrong shape: a 422 naming the field (`error.fields.<path>`), malformed
//! JSON a 400, and nothing stored either way.

use mamori::auth::permissions::Role;
use reqwest::Method;
use serde_json::Value;

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

/// Posts `body` as it is, as JSON.
async fn post_raw(api: &Api<'_>, path: &str, body: &str) -> (u16, Value) {
    api.send_raw(Method::POST, path, Some("application/json"), body.to_string())
        .await
}

/// GET `path`, which must answer 200.
async fn read(api: &Api<'_>, path: &str) -> Value {
    let (status, answer) = api.get(path).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

/// Each body is refused with 422 and a message for `field`.
async fn refuses_field(api: &Api<'_>, path: &str, cases: &[(&str, &str)]) {
    for (body, field) in cases {
        let (status, answer) = post_raw(api, path, body).await;
        assert_eq!(status, 422, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed", "{body}: {answer}");
        assert!(
            answer["error"]["fields"][field].as_str().is_some_and(|m| !m.is_empty()),
            "{path} {body}: expected a message for {field}: {answer}"
        );
    }
}

/// Each body is refused with 400 `bad_request` and a message.
async fn refuses_malformed(api: &Api<'_>, path: &str, bodies: &[&str]) {
    for body in bodies {
        let (status, answer) = post_raw(api, path, body).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_request", "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

async fn wrong_shaped_json_names_the_field_and_stores_nothing(app: TestApp) {
    let manager = app.create_user(Role::Manager).await;
    let api = Api::with_token(&app, &app.api_token(&manager).await);

    // Incidents: wrong type, unknown choice, missing field, malformed.
    refuses_field(
        &api,
        "/api/v1/incidents",
        &[
            (
                r#"{"title":"x","description":"y","impact":"high","urgency":"high","team_id":"x"}"#,
                "team_id",
            ),
            (
                r#"{"title":"x","impact":"high","urgency":"high","assignee_id":1.5}"#,
                "assignee_id",
            ),
            (r#"{"title":["x"],"impact":"high","urgency":"high"}"#, "title"),
            (r#"{"title":"x","impact":"extreme","urgency":"high"}"#, "impact"),
            (r#"{"description":"y","impact":"high","urgency":"high"}"#, "title"),
        ],
    )
    .await;
    refuses_malformed(
        &api,
        "/api/v1/incidents",
        &[r#"{"title":"x","#, r#"{"title":"x"} trailing"#, "42", ""],
    )
    .await;
    let (status, answer) = api
        .send_raw(
            Method::POST,
            "/api/v1/incidents",
            None,
            r#"{"title":"x","impact":"high","urgency":"high"}"#.to_string(),
        )
        .await;
    assert_eq!(status, 400, "JSON needs its content type: {answer}");
    let listed = read(&api, "/api/v1/incidents?view=all").await;
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");

    // Problems: the same, and a path into a list.
    refuses_field(
        &api,
        "/api/v1/problems",
        &[
            (r#"{"title":"x","priority":"P3","team_id":true}"#, "team_id"),
            (
                r#"{"title":"x","priority":"P3","incident_ids":[1,"two"]}"#,
                "incident_ids[1]",
            ),
            (r#"{"title":"x","priority":"P9"}"#, "priority"),
            (r#"{"priority":"P3"}"#, "title"),
        ],
    )
    .await;
    refuses_malformed(&api, "/api/v1/problems", &[r#"{"title":"x""#]).await;
    let listed = read(&api, "/api/v1/problems").await;
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");

    // Escalating, assigning and a move whose body is optional leave the incident as it was.
    let (status, incident) = post_raw(
        &api,
        "/api/v1/incidents",
        r#"{"title":"VPN に接続できない","impact":"high","urgency":"medium"}"#,
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    refuses_field(
        &api,
        &format!("/api/v1/incidents/{id}/escalate"),
        &[
            (
                r#"{"kind":"functional","to_team":"ops","reason":"r","tried":"t"}"#,
                "to_team",
            ),
            (r#"{"version":"1","kind":"down","reason":"r"}"#, "version"),
            (r#"{"kind":"sideways","reason":"r","tried":"t"}"#, "kind"),
        ],
    )
    .await;
    refuses_malformed(&api, &format!("/api/v1/incidents/{id}/escalate"), &["{kind:down}"]).await;
    refuses_field(
        &api,
        &format!("/api/v1/incidents/{id}/assign"),
        &[
            (r#"{"team_id":"x"}"#, "team_id"),
            (r#"{"assignee_id":[1]}"#, "assignee_id"),
        ],
    )
    .await;
    refuses_malformed(&api, &format!("/api/v1/incidents/{id}/assign"), &[r#"{"team_id":}"#]).await;
    refuses_field(
        &api,
        &format!("/api/v1/incidents/{id}/acknowledge"),
        &[(r#"{"version":"one"}"#, "version")],
    )
    .await;
    let read = read(&api, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(read["status"], "new", "{read}");
    assert_eq!(read["version"], incident["version"], "{read}");
    assert_eq!(read["escalation_level"], incident["escalation_level"], "{read}");
    assert!(read["team_id"].is_null() && read["assignee_id"].is_null(), "{read}");
    assert_eq!(read["timeline"].as_array().unwrap().len(), 1, "{read}");

    // An optional body may still be left out.
    let (status, moved) = api
        .send_raw(
            Method::POST,
            &format!("/api/v1/incidents/{id}/acknowledge"),
            None,
            String::new(),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["status"], "acknowledged");
}

/// Query parameters of the wrong shape: a 422 naming the parameter, like a body's field.
async fn bad_query_parameters_are_named(app: TestApp) {
    let api = Api::new(&app, Role::Admin).await;
    for (path, field) in [
        ("/api/v1/incidents?team_id=abc", "team_id"),
        ("/api/v1/incidents?view=all&without_problem=yes", "without_problem"),
        ("/api/v1/incidents?limit=many", "limit"),
        ("/api/v1/incidents?before=1.5", "before"),
        ("/api/v1/problems?before=x", "before"),
        ("/api/v1/tickets/deleted?before_id=x", "before_id"),
    ] {
        let (status, answer) = api.get(path).await;
        assert_eq!(status, 422, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed", "{path}: {answer}");
        assert!(
            answer["error"]["fields"][field].as_str().is_some_and(|m| !m.is_empty()),
            "{path}: expected a message for {field}: {answer}"
        );
    }
    let (status, answer) = api.get("/api/v1/incidents?view=all&without_problem=true").await;
    assert_eq!(status, 200, "{answer}");
}

on_both!(
    wrong_shaped_json_names_the_field_and_stores_nothing,
    bad_query_parameters_are_named
);
