//! The main flow in a real browser: sign in, switch to Japanese, see the Japanese navigation.

use fantoccini::Locator;
use mamori::auth::permissions::Role;
use mamori::web::i18n::{translate, Lang};

use crate::on_both;
use crate::support::browser::Browser;
use crate::support::TestApp;

async fn sign_in_and_switch_to_japanese(app: TestApp) {
    let Some(browser) = Browser::start().await else { return };
    let user = app.create_user(Role::Admin).await;
    let c = &browser.client;
    c.goto(&app.url("/")).await.unwrap();
    // Redirected to the sign-in page, in the browser's language (English).
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    c.find(Locator::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys(&user.email)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(&user.password)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let nav = c.wait().for_element(Locator::Id("main-nav")).await.unwrap();
    let english = nav.text().await.unwrap();
    assert!(english.contains(&translate(Lang::En, "nav-users")), "{english}");

    c.find(Locator::Id("lang-ja")).await.unwrap().click().await.unwrap();
    let nav = c.wait().for_element(Locator::Id("main-nav")).await.unwrap();
    let japanese = nav.text().await.unwrap();
    assert!(japanese.contains(&translate(Lang::Ja, "nav-users")), "{japanese}");
    assert!(japanese.contains(&translate(Lang::Ja, "nav-audit")), "{japanese}");
    let lang = c.find(Locator::Css("html")).await.unwrap().attr("lang").await.unwrap();
    assert_eq!(lang.as_deref(), Some("ja"));
    browser.client.clone().close().await.unwrap();
}

on_both!(sign_in_and_switch_to_japanese);
