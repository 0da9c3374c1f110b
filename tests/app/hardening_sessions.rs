//! Hardening of sessions and sign-in (issue 13): server-side sessions, throttling that cannot
//! be reset or turned against the owner, safe redirects, the API decided on the decoded path,
//! security events in the audit log, `Cache-Control` and the password list.

use mamori::auth::permissions::Role;
use mamori::web::i18n::{translate, Lang};

use crate::on_both;
use crate::support::api::Api;
use crate::support::{TestApp, TestUser, PASSWORD};

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The `name=value` of the session cookie a response sets.
fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mamori_session="))
        .and_then(|c| c.split(';').next().map(str::to_string))
        .expect("a session cookie")
}

/// Signs `user` in with a fresh client; returns the client and a copy of its session cookie.
async fn sign_in(app: &TestApp, user: &TestUser) -> (reqwest::Client, String) {
    let client = app.client();
    let response = app
        .post_form(
            &client,
            "/login",
            &[("email", &user.email), ("password", &user.password)],
        )
        .await;
    assert_eq!(response.status(), 303, "sign-in of {}", user.email);
    let cookie = session_cookie(&response);
    (client, cookie)
}

/// `GET path` with nothing but `cookie` (a copied cookie, replayed by another client).
async fn replay(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    app.api_client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.with_db(|conn| {
        use diesel::prelude::*;
        use mamori::db::schema::audit_log;
        audit_log::table
            .order(audit_log::id)
            .select(audit_log::action)
            .load::<String>(conn)
            .unwrap()
    })
    .await
}

// ---- 1. Sessions end server-side ---------------------------------------------------------

async fn a_copied_session_cookie_is_dead_after_logout(app: TestApp) {
    let user = app.create_user(Role::Engineer).await;
    let (client, cookie) = sign_in(&app, &user).await;
    assert_eq!(replay(&app, &cookie, "/profile").await.status(), 200);
    let out = app.post_form(&client, "/logout", &[]).await;
    assert_eq!(out.status(), 303);
    let replayed = replay(&app, &cookie, "/profile").await;
    assert_eq!(replayed.status(), 303, "the copied cookie must not outlive the logout");
    assert!(location(&replayed).starts_with("/login"));
}

async fn a_busy_session_ends_after_its_absolute_lifetime(app: TestApp) {
    let user = app.create_user(Role::Engineer).await;
    let (client, _) = sign_in(&app, &user).await;
    let max_hours = app.state.config.session_max_hours;
    assert_eq!(max_hours, 12, "MAMORI_SESSION_MAX_HOURS defaults to 12");
    // Used every hour, so never idle.
    for _ in 0..max_hours - 1 {
        app.state.clock.advance(chrono::Duration::hours(1));
        assert_eq!(app.get(&client, "/profile").await.status(), 200);
    }
    app.state.clock.advance(chrono::Duration::minutes(59));
    assert_eq!(app.get(&client, "/profile").await.status(), 200);
    app.state.clock.advance(chrono::Duration::minutes(1));
    let ended = app.get(&client, "/profile").await;
    assert_eq!(ended.status(), 303);
    assert_eq!(location(&ended), "/login?next=%2Fprofile");
    let login = app.get(&client, "/login?next=%2Fprofile").await.text().await.unwrap();
    assert!(login.contains(&translate(Lang::Ja, "session-expired")));
}

async fn the_absolute_lifetime_is_configurable(default_app: TestApp) {
    let backend = default_app.backend;
    drop(default_app);
    let app = TestApp::spawn_with(backend, &[("MAMORI_SESSION_MAX_HOURS", "2")])
        .await
        .unwrap();
    let user = app.create_user(Role::Helpdesk).await;
    let (client, _) = sign_in(&app, &user).await;
    app.state.clock.advance(chrono::Duration::minutes(100));
    assert_eq!(app.get(&client, "/profile").await.status(), 200);
    app.state.clock.advance(chrono::Duration::minutes(20));
    assert_eq!(app.get(&client, "/profile").await.status(), 303);
}

async fn an_admin_ends_every_session_of_a_user(app: TestApp) {
    let user = app.create_user(Role::Engineer).await;
    let (laptop, _) = sign_in(&app, &user).await;
    let (_, phone_cookie) = sign_in(&app, &user).await;
    let (admin, _) = app.login_as(Role::Admin).await;

    let edit = app
        .get(&admin, &format!("/admin/users/{}/edit", user.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(edit.contains(&format!("action=\"/admin/users/{}/sessions/end\"", user.id)));
    let ended = app
        .post_form(&admin, &format!("/admin/users/{}/sessions/end", user.id), &[])
        .await;
    assert_eq!(ended.status(), 303);
    assert_eq!(location(&ended), format!("/admin/users/{}/edit", user.id));
    assert_eq!(app.get(&laptop, "/profile").await.status(), 303);
    assert_eq!(replay(&app, &phone_cookie, "/profile").await.status(), 303);
    // The administrator's own session carries on.
    assert_eq!(app.get(&admin, "/admin/users").await.status(), 200);
    assert!(audit_actions(&app).await.contains(&"session.end_all".to_string()));

    // The same through the API.
    let (_, cookie) = sign_in(&app, &user).await;
    let api = Api::new(&app, Role::Admin).await;
    let (status, body) = api
        .post(
            &format!("/api/v1/users/{}/sessions/end", user.id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_ended"], 1);
    assert_eq!(replay(&app, &cookie, "/profile").await.status(), 303);
    let (status, _) = api
        .post("/api/v1/users/999999/sessions/end", serde_json::json!({}))
        .await;
    assert_eq!(status, 404);
}

async fn a_password_change_ends_the_other_sessions_only(app: TestApp) {
    let user = app.create_user(Role::Manager).await;
    let (here, _) = sign_in(&app, &user).await;
    let (_, elsewhere) = sign_in(&app, &user).await;
    let changed = app
        .post_form(
            &here,
            "/profile/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new and rather long passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    assert_eq!(app.get(&here, "/profile").await.status(), 200);
    assert_eq!(replay(&app, &elsewhere, "/profile").await.status(), 303);
}

on_both!(
    a_copied_session_cookie_is_dead_after_logout,
    a_busy_session_ends_after_its_absolute_lifetime,
    the_absolute_lifetime_is_configurable,
    an_admin_ends_every_session_of_a_user,
    a_password_change_ends_the_other_sessions_only,
);

// ---- 2 and 3. Throttling that cannot be reset, nor turned against the owner ---------------

/// One sign-in attempt from `ip` (the app trusts `X-Forwarded-For` in these tests).
async fn attempt(app: &TestApp, email: &str, password: &str, ip: &str) -> u16 {
    let client = app.client();
    let token = app.csrf_token(&client).await;
    client
        .post(app.url("/login"))
        .header("x-forwarded-for", ip)
        .form(&[("email", email), ("password", password), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn behind_proxy(default_app: TestApp) -> TestApp {
    let backend = default_app.backend;
    drop(default_app);
    TestApp::spawn_with(backend, &[("MAMORI_TRUST_PROXY_HEADERS", "true")])
        .await
        .unwrap()
}

async fn a_success_on_your_own_account_does_not_reset_the_address_limit(app: TestApp) {
    let app = behind_proxy(app).await;
    let own = app.create_user(Role::Helpdesk).await;
    let ip = "203.0.113.20";
    let limit = mamori::auth::throttle::IP_LIMIT;
    for i in 0..limit - 1 {
        let status = attempt(&app, &format!("victim{i}@example.jp"), "guess guess guess", ip).await;
        assert_eq!(status, 422, "failure {i}");
    }
    assert_eq!(attempt(&app, &own.email, PASSWORD, ip).await, 303);
    assert_eq!(
        attempt(&app, "victim-last@example.jp", "guess guess guess", ip).await,
        422
    );
    // Twenty failures from this address: the next attempt waits, whatever the account.
    assert_eq!(
        attempt(&app, "victim-next@example.jp", "guess guess guess", ip).await,
        429
    );
    assert_eq!(attempt(&app, &own.email, PASSWORD, ip).await, 429);
    // Another address is not affected.
    assert_eq!(attempt(&app, &own.email, PASSWORD, "203.0.113.21").await, 303);
}

async fn guessing_from_one_address_does_not_lock_the_owner_out_elsewhere(app: TestApp) {
    let app = behind_proxy(app).await;
    let user = app.create_user(Role::Engineer).await;
    for _ in 0..mamori::auth::throttle::PAIR_LIMIT {
        assert_eq!(
            attempt(&app, &user.email, "guess guess guess", "203.0.113.66").await,
            422
        );
    }
    // The guessing address is locked out of this account, even with the right password …
    assert_eq!(attempt(&app, &user.email, PASSWORD, "203.0.113.66").await, 429);
    // … but the owner, from anywhere else, signs in.
    assert_eq!(attempt(&app, &user.email, PASSWORD, "198.51.100.2").await, 303);
}

async fn distributed_guessing_meets_the_account_cap_but_not_the_owners_usual_address(app: TestApp) {
    let app = behind_proxy(app).await;
    let user = app.create_user(Role::Manager).await;
    let usual = "198.51.100.7";
    assert_eq!(attempt(&app, &user.email, PASSWORD, usual).await, 303);
    for i in 0..mamori::auth::throttle::ACCOUNT_CAP {
        let ip = format!("10.0.{}.{}", i / 200, i % 200 + 1);
        assert_eq!(attempt(&app, &user.email, "guess guess guess", &ip).await, 422, "{ip}");
    }
    // The account-wide cap: a new address waits, even with the right password …
    assert_eq!(attempt(&app, &user.email, PASSWORD, "192.0.2.99").await, 429);
    // … the owner's usual address does not.
    assert_eq!(attempt(&app, &user.email, PASSWORD, usual).await, 303);
    app.state.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(attempt(&app, &user.email, PASSWORD, "192.0.2.99").await, 303);
}

on_both!(
    a_success_on_your_own_account_does_not_reset_the_address_limit,
    guessing_from_one_address_does_not_lock_the_owner_out_elsewhere,
    distributed_guessing_meets_the_account_cap_but_not_the_owners_usual_address,
);

// ---- 4. Current-password guesses on a password change are throttled ----------------------

async fn current_password_guesses_are_throttled(app: TestApp) {
    let user = app.create_user(Role::Engineer).await;
    let (client, _) = sign_in(&app, &user).await;
    let new_password = "a new and rather long passphrase";
    for i in 0..mamori::auth::throttle::PAIR_LIMIT {
        let wrong = app
            .post_form(
                &client,
                "/profile/password",
                &[
                    ("current_password", &format!("guess number {i}")),
                    ("new_password", new_password),
                ],
            )
            .await;
        assert_eq!(wrong.status(), 422, "guess {i}");
    }
    let locked = app
        .post_form(
            &client,
            "/profile/password",
            &[("current_password", PASSWORD), ("new_password", new_password)],
        )
        .await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    let html = locked.text().await.unwrap();
    assert!(html.contains("id=\"error-current_password\""), "{html}");
    let hash_unchanged = app
        .with_db(move |conn| mamori::users::queries::find(conn, user.id).unwrap().password_hash)
        .await;
    assert!(mamori::auth::password::verify(PASSWORD, &hash_unchanged));
    // The window passes.
    app.state.clock.advance(chrono::Duration::minutes(16));
    let changed = app
        .post_form(
            &client,
            "/profile/password",
            &[("current_password", PASSWORD), ("new_password", new_password)],
        )
        .await;
    assert_eq!(changed.status(), 303);
}

on_both!(current_password_guesses_are_throttled);

// ---- 5. Redirects built from input stay on this site ---------------------------------------

async fn sign_in_and_language_switch_redirect_only_to_local_paths(app: TestApp) {
    let user = app.create_user(Role::Helpdesk).await;
    for (next, expected) in [
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\u{b}/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/incidents?q=障害", "/incidents?q=%E9%9A%9C%E5%AE%B3"),
        ("/profile", "/profile"),
    ] {
        let client = app.client();
        let response = app
            .post_form(
                &client,
                "/login",
                &[("email", &user.email), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(response.status(), 303, "sign-in with next={next:?}");
        assert_eq!(location(&response), expected, "sign-in with next={next:?}");

        let switched = app
            .post_form(&client, "/locale", &[("lang", "en"), ("next", next)])
            .await;
        assert_eq!(switched.status(), 303, "/locale with next={next:?}");
        assert_eq!(location(&switched), expected, "/locale with next={next:?}");
    }
    // The login page carries only a safe value into its form.
    let page = app
        .get(&app.client(), "/login?next=%2F%09%2Fevil.example")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"next\" value=\"&#x2F;\">"), "{page}");
}

on_both!(sign_in_and_language_switch_redirect_only_to_local_paths);

// ---- 6. "Is this the API?" is decided on the decoded path ----------------------------------

async fn a_percent_encoded_path_is_checked_as_it_is_routed(app: TestApp) {
    let (browser, user) = app.login_as(Role::Helpdesk).await;
    for path in ["/api/v1/me", "/%61pi/v1/me", "/%61%70%69/v1/me"] {
        let response = app.get(&browser, path).await;
        assert_eq!(response.status(), 401, "a session cookie on {path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}: the API's error format"
        );
    }
    let token = app.api_token(&user).await;
    let api = Api::with_token(&app, &token);
    assert_eq!(api.get("/%61pi/v1/me").await.0, 200);
    // The route table applies to the decoded path: an encoded admin path is no way round it.
    assert_eq!(app.get(&browser, "/%61dmin/users").await.status(), 403);
    assert_eq!(app.get(&browser, "/admin/users").await.status(), 403);
    // An encoded API path takes no form post without a token, and no CSRF token either.
    let (status, _) = api.post("/%61pi/v1/teams", serde_json::json!({ "name": "x" })).await;
    assert_eq!(status, 403, "a helpdesk token may not create teams");
}

on_both!(a_percent_encoded_path_is_checked_as_it_is_routed);

// ---- 7. Security events in the audit log ---------------------------------------------------

async fn sign_in_failures_lockouts_logouts_and_session_ends_are_audited(app: TestApp) {
    let user = app.create_user(Role::Engineer).await;
    let client = app.client();
    for _ in 0..mamori::auth::throttle::PAIR_LIMIT {
        let r = app
            .post_form(
                &client,
                "/login",
                &[("email", &user.email), ("password", "guess guess guess")],
            )
            .await;
        assert_eq!(r.status(), 422);
    }
    let unknown = app
        .post_form(
            &client,
            "/login",
            &[("email", "Nobody@Example.jp"), ("password", "guess guess guess")],
        )
        .await;
    assert_eq!(unknown.status(), 422);
    let (browser, _) = sign_in(&app, &app.create_user(Role::Helpdesk).await).await;
    assert_eq!(app.post_form(&browser, "/logout", &[]).await.status(), 303);
    let api = Api::new(&app, Role::Admin).await;
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/sessions/end", user.id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200);

    let rows = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use mamori::db::schema::audit_log;
            audit_log::table
                .order(audit_log::id)
                .select((
                    audit_log::action,
                    audit_log::entity_type,
                    audit_log::entity_id,
                    audit_log::actor_label,
                    audit_log::after_json,
                ))
                .load::<(String, String, String, String, Option<String>)>(conn)
                .unwrap()
        })
        .await;
    let of = |action: &str| rows.iter().filter(|r| r.0 == action).collect::<Vec<_>>();
    let failed = of("login.failed");
    assert_eq!(failed.len(), mamori::auth::throttle::PAIR_LIMIT + 1);
    assert_eq!(
        (failed[0].1.as_str(), failed[0].2.clone()),
        ("user", user.id.to_string())
    );
    assert_eq!(failed[0].3, user.email);
    assert_eq!(
        (failed[5].1.as_str(), failed[5].2.as_str()),
        ("login", "nobody@example.jp")
    );
    let lockouts = of("login.lockout");
    assert_eq!(lockouts.len(), 1, "one lockout, when the fifth failure locked the pair");
    assert!(lockouts[0].4.as_deref().unwrap().contains("\"rule\":\"pair\""));
    assert_eq!(of("session.logout").len(), 1);
    assert_eq!(of("session.end_all").len(), 1);

    // The audit page names them in the reader's language (English for this admin).
    let (admin, _) = app.login_as(Role::Admin).await;
    let page = app.get(&admin, "/admin/audit").await.text().await.unwrap();
    for key in [
        "audit-event-login-failed",
        "audit-event-login-lockout",
        "audit-event-session-logout",
        "audit-event-session-end-all",
    ] {
        assert!(page.contains(&translate(Lang::En, key)), "{key} on the audit page");
    }
}

on_both!(sign_in_failures_lockouts_logouts_and_session_ends_are_audited);

// ---- 13. Nothing personal is cached ----------------------------------------------------------

fn cache_control(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn sensitive_responses_are_not_stored(app: TestApp) {
    let (manager, user) = app.login_as(Role::Manager).await;
    for path in ["/", "/profile", "/incidents/export.csv", "/reports/sla.csv"] {
        let response = app.get(&manager, path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(cache_control(&response), "no-store", "{path}");
    }
    let token_page = app.post_form(&manager, "/profile/tokens", &[("name", "laptop")]).await;
    assert_eq!(token_page.status(), 200);
    assert_eq!(cache_control(&token_page), "no-store", "the page showing a new token");

    let token = app.api_token(&user).await;
    let me = app
        .api_client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(cache_control(&me), "no-store");
    let refused = app.api_client().get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(cache_control(&refused), "no-store");

    // An error page shown to a signed-in person (it carries their name) is not stored either.
    let forbidden = app.get(&manager, "/admin/users").await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        cache_control(&forbidden),
        "no-store",
        "an error page for a signed-in user"
    );

    // Static files keep their caching, also for a signed-in browser.
    let css = app.get(&manager, "/static/app.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(cache_control(&css), "public, max-age=3600");
}

on_both!(sensitive_responses_are_not_stored);

// ---- 15. Passwords are checked against a list of common and breached ones ----------------

async fn common_breached_and_personal_passwords_are_refused_everywhere(app: TestApp) {
    // First-run setup.
    let client = app.client();
    let setup = app
        .post_form(
            &client,
            "/setup",
            &[
                ("email", "admin@example.jp"),
                ("display_name", "Setup Admin"),
                ("password", "Password1!"),
                ("locale", "en"),
                ("time_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(setup.status(), 422);
    assert!(setup
        .text()
        .await
        .unwrap()
        .contains(&translate(Lang::Ja, "error-password-common")));

    // Creation by an administrator (API and page).
    let api = Api::new(&app, Role::Admin).await;
    for (password, key) in [
        ("Password1!", "common"),
        ("P@ssw0rd2026", "common"),
        ("sunshine12345", "common"),
        ("Hanako-Sato-1990", "contains-name"),
    ] {
        let (status, body) = api
            .post(
                "/api/v1/users",
                serde_json::json!({
                    "email": "h.sato@example.jp",
                    "display_name": "Hanako Sato",
                    "role": "helpdesk",
                    "password": password,
                }),
            )
            .await;
        assert_eq!(status, 422, "{password}: {body}");
        assert!(body["error"]["fields"]["password"].is_string(), "{password}: {body}");
        let message = body["error"]["fields"]["password"].as_str().unwrap().to_string();
        let key = format!("error-password-{key}");
        assert!(
            [Lang::En, Lang::Ja]
                .iter()
                .any(|lang| message == translate(*lang, &key)),
            "{password}: {message}"
        );
    }

    // A change of one's own password.
    let (browser, _) = app.login_as(Role::Engineer).await;
    let refused = app
        .post_form(
            &browser,
            "/profile/password",
            &[("current_password", PASSWORD), ("new_password", "Password1!")],
        )
        .await;
    assert_eq!(refused.status(), 422);
}

on_both!(common_breached_and_personal_passwords_are_refused_everywhere);

async fn users_see_and_end_their_own_sessions(app: TestApp) {
    let user = app.create_user(Role::Helpdesk).await;
    let (here, _) = sign_in(&app, &user).await;
    let (_, elsewhere) = sign_in(&app, &user).await;
    let other = app.create_user(Role::Helpdesk).await;
    let (_, others_cookie) = sign_in(&app, &other).await;
    let ids = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use mamori::db::schema::sessions;
            sessions::table
                .order(sessions::id)
                .select((sessions::id, sessions::user_id))
                .load::<(i64, i64)>(conn)
                .unwrap()
        })
        .await;
    let (elsewhere_id, others_id) = (ids[1].0, ids[2].0);
    let page = app.get(&here, "/profile").await.text().await.unwrap();
    assert!(page.contains(&format!("action=\"/profile/sessions/{elsewhere_id}/end\"")));
    assert!(
        !page.contains(&format!("action=\"/profile/sessions/{}/end\"", ids[0].0)),
        "not this one"
    );
    assert!(!page.contains(&format!("/profile/sessions/{others_id}/end")));
    // Someone else's session is not yours to end.
    let refused = app
        .post_form(&here, &format!("/profile/sessions/{others_id}/end"), &[])
        .await;
    assert_eq!(refused.status(), 404);
    assert_eq!(replay(&app, &others_cookie, "/profile").await.status(), 200);
    let ended = app
        .post_form(&here, &format!("/profile/sessions/{elsewhere_id}/end"), &[])
        .await;
    assert_eq!(ended.status(), 303);
    assert_eq!(replay(&app, &elsewhere, "/profile").await.status(), 303);
    assert_eq!(app.get(&here, "/profile").await.status(), 200);
    assert!(audit_actions(&app).await.contains(&"session.end".to_string()));
}

on_both!(users_see_and_end_their_own_sessions);
