//! The main flow in a real browser: sign in, switch to Japanese, see the Japanese navigation.

use fantoccini::Locator;
use mamori::auth::permissions::Role;
use mamori::web::i18n::{translate, Lang};

use crate::on_both;
use crate::support::browser::{click_to_navigate, sign_in, Browser};
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

    click_to_navigate(c, Locator::Id("lang-ja")).await;
    let nav = c.wait().for_element(Locator::Id("main-nav")).await.unwrap();
    let japanese = nav.text().await.unwrap();
    assert!(japanese.contains(&translate(Lang::Ja, "nav-users")), "{japanese}");
    assert!(japanese.contains(&translate(Lang::Ja, "nav-audit")), "{japanese}");
    let lang = c.find(Locator::Css("html")).await.unwrap().attr("lang").await.unwrap();
    assert_eq!(lang.as_deref(), Some("ja"));
    browser.client.clone().close().await.unwrap();
}

async fn walk_an_incident_to_a_published_post_mortem(app: TestApp) {
    let Some(browser) = Browser::start().await else { return };
    let user = app.create_user(Role::Manager).await;
    let c = &browser.client;
    sign_in(c, &app.url("/login"), &user.email, &user.password).await;

    // File a major incident.
    c.goto(&app.url("/incidents/new")).await.unwrap();
    c.find(Locator::Id("title"))
        .await
        .unwrap()
        .send_keys("Order system down")
        .await
        .unwrap();
    c.find(Locator::Id("description"))
        .await
        .unwrap()
        .send_keys("Users get HTTP 503 on every order")
        .await
        .unwrap();
    c.find(Locator::Css("#impact option[value=high]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("#urgency option[value=high]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_to_navigate(c, Locator::Css("form[action='/incidents'] button[type=submit]")).await;
    let title = c.wait().for_element(Locator::Id("incident-title")).await.unwrap();
    assert_eq!(title.text().await.unwrap(), "Order system down");
    let incident_url = c.current_url().await.unwrap();

    // First response, then resolution.
    click_to_navigate(c, Locator::Id("action-acknowledge")).await;
    let status = c.wait().for_element(Locator::Id("incident-status")).await.unwrap();
    assert_eq!(status.text().await.unwrap(), translate(Lang::En, "status-acknowledged"));
    c.find(Locator::XPath(
        "//form[contains(@action,'/resolve')]/parent::details/summary",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.find(Locator::Id("resolution"))
        .await
        .unwrap()
        .send_keys("Restarted the database cluster")
        .await
        .unwrap();
    click_to_navigate(c, Locator::Css("form[action$='/resolve'] button[type=submit]")).await;
    let status = c.wait().for_element(Locator::Id("incident-status")).await.unwrap();
    assert_eq!(status.text().await.unwrap(), translate(Lang::En, "status-resolved"));

    // The post-mortem, drafted from the incident, written, reviewed and published.
    click_to_navigate(c, Locator::Id("create-postmortem")).await;
    let summary = c.wait().for_element(Locator::Id("pm-summary")).await.unwrap();
    assert!(summary
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
        .contains("Order system down"));
    c.find(Locator::Id("pm-root_cause"))
        .await
        .unwrap()
        .send_keys("Connection pool exhausted after a config change")
        .await
        .unwrap();
    click_to_navigate(c, Locator::Id("submit-postmortem")).await;
    let pm_status = c.wait().for_element(Locator::Id("postmortem-status")).await.unwrap();
    assert_eq!(
        pm_status.text().await.unwrap(),
        translate(Lang::En, "postmortem-status-in_review")
    );
    click_to_navigate(c, Locator::Id("publish-postmortem")).await;
    let pm_status = c.wait().for_element(Locator::Id("postmortem-status")).await.unwrap();
    assert_eq!(
        pm_status.text().await.unwrap(),
        translate(Lang::En, "postmortem-status-published")
    );
    assert!(c
        .find(Locator::Id("postmortem-report"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Connection pool exhausted"));

    // Now the major incident may be closed.
    c.goto(incident_url.as_str()).await.unwrap();
    click_to_navigate(c, Locator::Id("action-close")).await;
    let status = c.wait().for_element(Locator::Id("incident-status")).await.unwrap();
    assert_eq!(status.text().await.unwrap(), translate(Lang::En, "status-closed"));
    browser.client.clone().close().await.unwrap();
}

on_both!(
    sign_in_and_switch_to_japanese,
    walk_an_incident_to_a_published_post_mortem
);
