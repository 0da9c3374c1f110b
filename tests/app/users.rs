//! People and teams through the admin pages and the JSON API; bad input; the audit trail.

use mamori::auth::permissions::Role;
use serde_json::{json, Value};

use crate::on_both;
use crate::support::{TestApp, PASSWORD};

async fn admin_creates_a_user_and_the_audit_log_shows_it(app: TestApp) {
    let (client, admin) = app.login_as(Role::Admin).await;
    let team = app
        .post_form(
            &client,
            "/admin/teams",
            &[("name", "ネットワーク運用"), ("description", "NW 二次対応")],
        )
        .await;
    assert_eq!(team.status(), 303);
    let team_id = app
        .with_db(|conn| {
            mamori::teams::queries::find_by_name(conn, "ネットワーク運用")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    let created = app
        .post_form(
            &client,
            "/admin/users",
            &[
                ("email", "Sato@Example.jp"),
                ("display_name", "佐藤 花子"),
                ("role", "engineer"),
                ("locale", "ja"),
                ("time_zone", "Asia/Tokyo"),
                ("password", PASSWORD),
                ("team_ids", &team_id.to_string()),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let list = app.get(&client, "/admin/users").await.text().await.unwrap();
    assert!(list.contains("sato@example.jp") && list.contains("佐藤 花子") && list.contains("ネットワーク運用"));

    // The admin reads the creation back through the API.
    let token = app.api_token(&admin).await;
    let user = app
        .with_db(|conn| {
            mamori::users::queries::find_by_email(conn, "sato@example.jp")
                .unwrap()
                .unwrap()
        })
        .await;
    let audit: Value = app
        .api_client()
        .get(app.url(&format!("/api/v1/audit?entity_type=user&entity_id={}", user.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = audit["items"].as_array().unwrap();
    let creation = items
        .iter()
        .find(|e| e["action"] == "user.create")
        .expect("user.create in the audit log");
    assert_eq!(creation["actor"], admin.email.as_str());
    assert_eq!(creation["after"]["email"], "sato@example.jp");
    assert_eq!(creation["after"]["team_ids"], json!([team_id]));
    assert!(
        creation["after"].get("password_hash").is_none(),
        "no secrets in the audit log"
    );
    assert_eq!(creation["ip"], "127.0.0.1");
    // And on the admin page.
    let page = app
        .get(&client, &format!("/admin/audit?entity_type=user&entity_id={}", user.id))
        .await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("user.create"));
}

async fn bad_user_input_is_refused_with_field_errors_and_nothing_stored(app: TestApp) {
    let (client, _) = app.login_as(Role::Admin).await;
    let before = app.with_db(|conn| mamori::users::queries::count(conn).unwrap()).await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("email", "bad"),
                ("display_name", "A"),
                ("role", "engineer"),
                ("password", PASSWORD),
            ],
            "email",
        ),
        (
            &[
                ("email", "a@example.jp"),
                ("display_name", "A"),
                ("role", "root"),
                ("password", PASSWORD),
            ],
            "role",
        ),
        (
            &[
                ("email", "a@example.jp"),
                ("display_name", "A"),
                ("role", "engineer"),
                ("password", ""),
            ],
            "password",
        ),
        (
            &[
                ("email", "a@example.jp"),
                ("display_name", "A"),
                ("role", "engineer"),
                ("password", "short"),
            ],
            "password",
        ),
        (
            &[
                ("email", "admin0@example.jp"),
                ("display_name", "A"),
                ("role", "engineer"),
                ("password", PASSWORD),
            ],
            "email",
        ),
        (
            &[
                ("email", "a@example.jp"),
                ("display_name", &"長".repeat(101)),
                ("role", "engineer"),
                ("password", PASSWORD),
            ],
            "display_name",
        ),
        (
            &[
                ("email", "a@example.jp"),
                ("display_name", "A"),
                ("role", "engineer"),
                ("password", PASSWORD),
                ("time_zone", "Moon/Base"),
            ],
            "time_zone",
        ),
        (
            &[
                ("email", "a@example.jp"),
                ("display_name", "A"),
                ("role", "engineer"),
                ("password", PASSWORD),
                ("team_ids", "424242"),
            ],
            "team_ids",
        ),
    ];
    for (fields, field) in cases {
        let response = app.post_form(&client, "/admin/users", fields).await;
        assert_eq!(response.status(), 422, "{field}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"error-{field}\"")),
            "no error shown under {field}"
        );
    }
    let after = app.with_db(|conn| mamori::users::queries::count(conn).unwrap()).await;
    assert_eq!(before, after);
}

async fn api_user_creation_validates_and_names_fields(app: TestApp) {
    let admin = app.create_user(Role::Admin).await;
    let token = app.api_token(&admin).await;
    let api = app.api_client();
    let post = |body: Value| {
        api.post(app.url("/api/v1/users"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let bad = post(json!({"email": "x", "display_name": "", "role": "superuser", "password": "pw", "locale": "fr"}))
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    for field in ["email", "display_name", "role", "password", "locale"] {
        assert!(body["error"]["fields"][field].is_string(), "{field}: {body}");
    }
    let malformed = api
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    let good =
        post(json!({"email": "Kato@example.jp", "display_name": "加藤", "role": "manager", "password": PASSWORD}))
            .await
            .unwrap();
    assert_eq!(good.status(), 201);
    assert!(good.headers().get("set-cookie").is_none(), "no cookies on /api");
    let created: Value = good.json().await.unwrap();
    assert_eq!(created["email"], "kato@example.jp");
    assert_eq!(created["locale"], "ja");
    assert_eq!(created["time_zone"], "Asia/Tokyo");
    assert!(created.get("password_hash").is_none());

    let duplicate =
        post(json!({"email": "KATO@example.jp", "display_name": "加藤", "role": "manager", "password": PASSWORD}))
            .await
            .unwrap();
    assert_eq!(duplicate.status(), 422);
    let body: Value = duplicate.json().await.unwrap();
    assert!(body["error"]["fields"]["email"].is_string());

    let patched = api
        .patch(app.url(&format!("/api/v1/users/{}", created["id"])))
        .bearer_auth(&token)
        .json(&json!({"role": "engineer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(patched.json::<Value>().await.unwrap()["role"], "engineer");
}

async fn me_needs_a_live_token(app: TestApp) {
    let user = app.create_user(Role::Helpdesk).await;
    let token = app.api_token(&user).await;
    let api = app.api_client();
    let me = api.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert!(me.headers().get("set-cookie").is_none());
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["email"], user.email.as_str());
    assert_eq!(body["role"], "helpdesk");

    let none = api.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.json::<Value>().await.unwrap()["error"]["code"], "unauthenticated");
    let wrong = api
        .get(app.url("/api/v1/me"))
        .bearer_auth("mamori_not-a-real-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // A helpdesk user may not read the audit log.
    let audit = api
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(audit.status(), 403);
    assert_eq!(audit.json::<Value>().await.unwrap()["error"]["code"], "forbidden");

    // Revoked through the profile page: dead at once.
    let client = app.client();
    app.post_form(&client, "/login", &[("email", &user.email), ("password", PASSWORD)])
        .await;
    let token_id = app
        .with_db(move |conn| mamori::users::queries::tokens_of(conn, user.id).unwrap()[0].id)
        .await;
    let revoke = app
        .post_form(&client, &format!("/profile/tokens/{token_id}/revoke"), &[])
        .await;
    assert_eq!(revoke.status(), 303);
    let after = api.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), 401);
}

/// A token's use is written at most every five minutes (reads stay reads), and a token of a
/// user switched off is refused on the next request.
async fn token_use_is_recorded_every_five_minutes(app: TestApp) {
    use diesel::prelude::*;
    use mamori::db::schema::users;
    let user = app.create_user(Role::Engineer).await;
    let token = app.api_token(&user).await;
    let last_used = || async {
        let id = user.id;
        app.with_db(move |conn| mamori::users::queries::tokens_of(conn, id).unwrap()[0].last_used_at)
            .await
    };
    let me = || async {
        app.api_client()
            .get(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(last_used().await, None);
    let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
        .unwrap()
        .and_hms_opt(1, 0, 0)
        .unwrap();
    app.state.clock.set(start);
    // The test clock runs on from where it is set: compare within a minute.
    let near = |t: Option<chrono::NaiveDateTime>, at: chrono::NaiveDateTime| {
        t.is_some_and(|t| t >= at && t < at + chrono::Duration::minutes(1))
    };
    assert_eq!(me().await, 200);
    let first = last_used().await;
    assert!(near(first, start), "the first use is recorded: {first:?}");
    app.state.clock.advance(chrono::Duration::minutes(4));
    assert_eq!(me().await, 200);
    assert_eq!(last_used().await, first, "a use within five minutes is not written");
    app.state.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(me().await, 200);
    let third = last_used().await;
    assert!(
        near(third, start + chrono::Duration::minutes(6)),
        "a use after five minutes is: {third:?}"
    );
    let id = user.id;
    app.with_db(move |conn| {
        diesel::update(users::table.find(id))
            .set(users::active.eq(false))
            .execute(conn)
            .unwrap()
    })
    .await;
    assert_eq!(me().await, 401, "a deactivated user's token is dead at once");
}

async fn profile_token_is_shown_once(app: TestApp) {
    let (client, _) = app.login_as(Role::Engineer).await;
    let created = app
        .post_form(&client, "/profile/tokens", &[("name", "監視スクリプト")])
        .await;
    assert_eq!(created.status(), 200);
    let html = created.text().await.unwrap();
    let start = html.find("mamori_").expect("token shown");
    let token: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let me = app
        .api_client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let again = app.get(&client, "/profile").await.text().await.unwrap();
    assert!(!again.contains(&token), "the secret must not be shown twice");
}

async fn helpdesk_cannot_open_admin_pages(app: TestApp) {
    let (client, _) = app.login_as(Role::Helpdesk).await;
    for path in ["/admin/users", "/admin/teams", "/admin/audit", "/admin/users/new"] {
        let response = app.get(&client, path).await;
        assert_eq!(response.status(), 403, "{path}");
        assert!(response.text().await.unwrap().contains("<html"), "a real error page");
    }
}

async fn concurrent_creations_all_succeed(app: TestApp) {
    let admin = app.create_user(Role::Admin).await;
    let token = app.api_token(&admin).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (url, token) = (app.url("/api/v1/users"), token.clone());
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"email": format!("op{i}@example.jp"), "display_name": format!("Op {i}"), "role": "helpdesk", "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 201);
    }
}

async fn user_list_is_paginated_and_filtered(app: TestApp) {
    let (client, _) = app.login_as(Role::Admin).await;
    for _ in 0..55 {
        app.create_user(Role::Engineer).await;
    }
    let first = app.get(&client, "/admin/users").await.text().await.unwrap();
    assert!(first.contains("after="), "a next-page link");
    let filtered = app
        .get(&client, "/admin/users?q=ENGINEER5&role=engineer")
        .await
        .text()
        .await
        .unwrap();
    assert!(filtered.contains("engineer5@example.jp") && !filtered.contains("engineer6@example.jp"));
}

on_both!(
    admin_creates_a_user_and_the_audit_log_shows_it,
    bad_user_input_is_refused_with_field_errors_and_nothing_stored,
    api_user_creation_validates_and_names_fields,
    me_needs_a_live_token,
    token_use_is_recorded_every_five_minutes,
    profile_token_is_shown_once,
    helpdesk_cannot_open_admin_pages,
    concurrent_creations_all_succeed,
    user_list_is_paginated_and_filtered,
);
