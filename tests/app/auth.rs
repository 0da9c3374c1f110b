//! Setup, sign-in, throttling, sessions, CSRF.

use mamori::auth::permissions::Role;
use mamori::web::i18n::{translate, translate_with, Lang};

use crate::on_both;
use crate::support::{TestApp, PASSWORD};

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mamori_session="))
}

async fn first_start_leads_to_a_one_time_setup(app: TestApp) {
    let client = app.client();
    let home = app.get(&client, "/").await;
    assert_eq!(home.status(), 303);
    assert_eq!(location(&home), "/login?next=%2F");
    let login = app.get(&client, "/login").await;
    assert_eq!(location(&login), "/setup");
    let setup = app.get(&client, "/setup").await;
    assert_eq!(setup.status(), 200);

    // Bad input: field errors, nothing stored.
    let bad = app
        .post_form(
            &client,
            "/setup",
            &[
                ("email", "not-an-email"),
                ("display_name", ""),
                ("password", "short"),
                ("locale", "ja"),
                ("time_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    for field in ["email", "display_name", "password"] {
        assert!(
            html.contains(&format!("id=\"error-{field}\"")),
            "no error shown for {field}"
        );
    }
    let count = app.with_db(|conn| mamori::users::queries::count(conn).unwrap()).await;
    assert_eq!(count, 0);

    let done = app
        .post_form(
            &client,
            "/setup",
            &[
                ("email", "Admin@Example.jp"),
                ("display_name", "運用 管理者"),
                ("password", PASSWORD),
                ("locale", "ja"),
                ("time_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/");
    let home = app.get(&client, "/").await;
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("運用 管理者"));
    let admin = app
        .with_db(|conn| {
            mamori::users::queries::find_by_email(conn, "admin@example.jp")
                .unwrap()
                .unwrap()
        })
        .await;
    assert_eq!(admin.role, "admin");

    // The setup page is gone for good, for everyone.
    assert_eq!(app.get(&app.client(), "/setup").await.status(), 404);
    let again = app
        .post_form(
            &app.client(),
            "/setup",
            &[
                ("email", "second@example.jp"),
                ("display_name", "x"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status(), 404);
}

async fn wrong_password_and_unknown_user_look_the_same(app: TestApp) {
    let user = app.create_user(Role::Engineer).await;
    let client = app.client();
    let wrong = app
        .post_form(
            &client,
            "/login",
            &[("email", &user.email), ("password", "not the password at all")],
        )
        .await;
    let unknown = app
        .post_form(
            &client,
            "/login",
            &[("email", "nobody@example.jp"), ("password", "not the password at all")],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(unknown.status(), 422);
    let (a, b) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    let expected = translate(Lang::Ja, "login-failed");
    assert!(
        a.contains(&expected) && b.contains(&expected),
        "same message for both: {expected}"
    );
}

async fn login_rotates_the_session_and_returns_to_the_page_asked_for(app: TestApp) {
    let user = app.create_user(Role::Admin).await;
    let client = app.client();
    let asked = app.get(&client, "/admin/users?q=x").await;
    assert_eq!(location(&asked), "/login?next=%2Fadmin%2Fusers%3Fq%3Dx");
    let page = app.get(&client, "/login?next=%2Fadmin%2Fusers%3Fq%3Dx").await;
    let before = session_cookie(&page).expect("anonymous session for the CSRF token");
    let html = page.text().await.unwrap();
    let token = crate::support::extract_csrf(&html).unwrap();
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("email", user.email.as_str()),
            ("password", PASSWORD),
            ("next", "/admin/users?q=x"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/users?q=x");
    let after = session_cookie(&response).expect("new session cookie");
    assert_ne!(before, after);
    // The pre-login CSRF token is dead after login.
    let stale = client
        .post(app.url("/profile/tokens"))
        .form(&[("name", "x"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 403);
    // Open redirects are not followed.
    let client2 = app.client();
    let evil = app
        .post_form(
            &client2,
            "/login",
            &[
                ("email", &user.email),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&evil), "/");
}

async fn repeated_failures_lock_the_account(app: TestApp) {
    let user = app.create_user(Role::Helpdesk).await;
    let client = app.client();
    for _ in 0..mamori::auth::throttle::PAIR_LIMIT {
        let r = app
            .post_form(
                &client,
                "/login",
                &[("email", &user.email), ("password", "wrong wrong wrong")],
            )
            .await;
        assert_eq!(r.status(), 422);
    }
    // Even the right password is refused now, with a clear message.
    let locked = app
        .post_form(&client, "/login", &[("email", &user.email), ("password", PASSWORD)])
        .await;
    assert_eq!(locked.status(), 429);
    let html = locked.text().await.unwrap();
    assert!(
        html.contains(&translate_with(Lang::Ja, "login-throttled", &[("minutes", 15)])),
        "{html}"
    );
    // The window passes: the account opens again.
    app.state.clock.advance(chrono::Duration::minutes(16));
    let ok = app
        .post_form(&client, "/login", &[("email", &user.email), ("password", PASSWORD)])
        .await;
    assert_eq!(ok.status(), 303);
}

async fn an_idle_session_expires_and_comes_back_to_the_page(app: TestApp) {
    let (client, _) = app.login_as(Role::Engineer).await;
    assert_eq!(app.get(&client, "/profile").await.status(), 200);
    app.state
        .clock
        .advance(chrono::Duration::minutes(app.state.config.session_idle_minutes + 1));
    let expired = app.get(&client, "/profile").await;
    assert_eq!(expired.status(), 303);
    assert_eq!(location(&expired), "/login?next=%2Fprofile");
    let login = app.get(&client, "/login?next=%2Fprofile").await;
    let html = login.text().await.unwrap();
    assert!(
        html.contains(&translate(Lang::Ja, "session-expired")),
        "session-expired message expected"
    );
}

async fn logout_ends_the_session(app: TestApp) {
    let (client, _) = app.login_as(Role::Manager).await;
    let out = app.post_form(&client, "/logout", &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(app.get(&client, "/profile").await.status(), 303);
}

async fn deactivating_a_user_ends_their_session(app: TestApp) {
    let (client, user) = app.login_as(Role::Engineer).await;
    let (admin_client, _) = app.login_as(Role::Admin).await;
    let response = app
        .post_form(
            &admin_client,
            &format!("/admin/users/{}", user.id),
            &[
                ("email", &user.email),
                ("display_name", "Deactivated"),
                ("role", "engineer"),
                ("locale", "en"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.get(&client, "/profile").await.status(), 303);
}

async fn forms_without_csrf_token_or_from_another_origin_are_refused(app: TestApp) {
    let (client, _) = app.login_as(Role::Admin).await;
    let without = client
        .post(app.url("/admin/teams"))
        .form(&[("name", "Network")])
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    let forged = client
        .post(app.url("/admin/teams"))
        .form(&[("name", "Network"), ("csrf_token", "0000")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let token = app.csrf_token(&client).await;
    let cross = client
        .post(app.url("/admin/teams"))
        .header("Origin", "https://evil.example")
        .form(&[("name", "Network"), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let teams = app.with_db(|conn| mamori::teams::queries::count(conn).unwrap()).await;
    assert_eq!(teams, 0, "nothing may be stored by a refused form");
    let same = client
        .post(app.url("/admin/teams"))
        .header("Origin", app.address.clone())
        .form(&[("name", "Network"), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 303);
}

async fn session_cookie_flags(app: TestApp) {
    app.create_user(Role::Helpdesk).await; // past first-run setup
    let page = app.get(&app.client(), "/login").await;
    let cookie = session_cookie(&page).unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http on localhost must stay usable");
}

on_both!(
    first_start_leads_to_a_one_time_setup,
    wrong_password_and_unknown_user_look_the_same,
    login_rotates_the_session_and_returns_to_the_page_asked_for,
    repeated_failures_lock_the_account,
    an_idle_session_expires_and_comes_back_to_the_page,
    logout_ends_the_session,
    deactivating_a_user_ends_their_session,
    forms_without_csrf_token_or_from_another_origin_are_refused,
    session_cookie_flags,
);

#[tokio::test]
async fn https_base_url_sets_secure_cookies() {
    let Some(app) = TestApp::spawn_with(
        mamori::db::Backend::Sqlite,
        &[("MAMORI_BASE_URL", "https://itsm.example.jp")],
    )
    .await
    else {
        return;
    };
    app.create_user(Role::Helpdesk).await;
    let page = app.get(&app.client(), "/login").await;
    assert!(page.headers().contains_key("strict-transport-security"));
    assert!(session_cookie(&page).unwrap().contains("Secure"));
}
