//! Japanese and English: message coverage, the language switch, the browser default.

use std::collections::BTreeSet;

use mamori::auth::permissions::Role;

use crate::on_both;
use crate::support::TestApp;

fn ids(path: &str) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim().to_string()))
        .collect()
}

#[test]
fn both_languages_have_the_same_messages_and_templates_use_only_those() {
    let en = ids("locales/en/main.ftl");
    let ja = ids("locales/ja/main.ftl");
    assert!(en.len() > 50);
    assert_eq!(
        en.symmetric_difference(&ja).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "ja and en differ"
    );
    let marker = "fluent(key=\"";
    for (name, text) in mamori::web::templates::template_sources() {
        let mut rest = text.as_str();
        while let Some(start) = rest.find(marker) {
            let after = &rest[start + marker.len()..];
            let end = after.find('"').unwrap();
            let key = &after[..end];
            if !key.ends_with('-') {
                assert!(en.contains(key), "{name} uses {key}, missing from the message files");
            }
            rest = &after[end..];
        }
    }
    // Ids the Rust code uses.
    let rust_ids = [
        "error-required",
        "error-too-long",
        "error-email-invalid",
        "error-email-taken",
        "error-password-too-short",
        "error-password-common",
        "error-password-contains-email",
        "error-role-invalid",
        "error-locale-invalid",
        "error-timezone-invalid",
        "error-team-unknown",
        "error-team-name-taken",
        "error-current-password-wrong",
        "error-own-account",
        "error-json-type",
        "error-json-choice",
        "error-json-value",
        "login-failed",
        "login-throttled",
        "session-expired",
        "csrf-failed",
        "role-helpdesk",
        "role-engineer",
        "role-manager",
        "role-admin",
    ];
    for id in rust_ids {
        assert!(en.contains(id), "{id} missing");
    }
    for code in [400, 401, 403, 404, 409, 413, 422, 429, 500, 503] {
        assert!(en.contains(&format!("error-page-title-{code}")) && en.contains(&format!("error-page-body-{code}")));
    }
}

async fn the_browser_language_is_the_default_and_the_switch_sticks(app: TestApp) {
    let (client, user) = app.login_as(Role::Engineer).await; // created with locale "en"
    let home = app.get(&client, "/").await.text().await.unwrap();
    assert!(home.contains("lang=\"en\""));
    let switched = app
        .post_form(&client, "/locale", &[("lang", "ja"), ("next", "/profile")])
        .await;
    assert_eq!(switched.status(), 303);
    assert_eq!(switched.headers()["location"], "/profile");
    let page = app.get(&client, "/").await.text().await.unwrap();
    assert!(page.contains("lang=\"ja\""));
    let stored = app
        .with_db(move |conn| mamori::users::queries::find(conn, user.id).unwrap().locale)
        .await;
    assert_eq!(stored, "ja");

    // Anonymous visitors: Accept-Language first, then the cookie set by the switch.
    let visitor = app.client();
    let en = visitor
        .get(app.url("/login"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("lang=\"en\""));
    let ja = visitor
        .get(app.url("/login"))
        .header("accept-language", "ja-JP,ja;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ja.contains("lang=\"ja\""));
    let token = crate::support::extract_csrf(&ja).unwrap();
    visitor
        .post(app.url("/locale"))
        .form(&[("lang", "ja"), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    let after = visitor
        .get(app.url("/login"))
        .header("accept-language", "en-US")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        after.contains("lang=\"ja\""),
        "the chosen language wins over the browser's"
    );
}

async fn times_are_shown_in_the_users_zone(app: TestApp) {
    let (client, _) = app.login_as(Role::Admin).await;
    let html = app.get(&client, "/admin/audit").await.text().await.unwrap();
    let entry = app
        .with_db(|conn| {
            mamori::audit::service::browse(conn, &Default::default(), 1)
                .unwrap()
                .0
                .remove(0)
        })
        .await;
    let local = mamori::web::templates::format_local(&entry.at.format("%Y-%m-%dT%H:%M:%S").to_string(), "Asia/Tokyo");
    assert!(html.contains(&local), "expected {local} (Asia/Tokyo) on the audit page");
}

on_both!(
    the_browser_language_is_the_default_and_the_switch_sticks,
    times_are_shown_in_the_users_zone
);
