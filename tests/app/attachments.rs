//! Attachments: upload with limits, stored by hash, downloaded as attachments.

use mamori::auth::permissions::Role;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::TestApp;

fn file(name: &str, bytes: Vec<u8>, mime: &str) -> Form {
    // Raw UTF-8 file names, as browsers send them.
    Form::new().percent_encode_noop().part(
        "file",
        Part::bytes(bytes).file_name(name.to_string()).mime_str(mime).unwrap(),
    )
}

async fn new_incident(app: &TestApp, token: &str) -> i64 {
    let r = app
        .api_client()
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(token)
        .json(&json!({"title": "ログ添付", "impact": "low", "urgency": "low"}))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn upload_limits_storage_and_download(app: TestApp) {
    let user = app.create_user(Role::Helpdesk).await;
    let token = app.api_token(&user).await;
    let id = new_incident(&app, &token).await;
    let url = app.url(&format!("/api/v1/incidents/{id}/attachments"));
    let api = app.api_client();

    let log = "2026-11-23 03:00:01 ERROR 接続タイムアウト\n".repeat(100).into_bytes();
    let updated_at = || async {
        let r = api
            .get(app.url(&format!("/api/v1/incidents/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["updated_at"].clone()
    };
    let before = updated_at().await;
    app.state.clock.advance(chrono::Duration::minutes(1));
    let created = api
        .post(&url)
        .bearer_auth(&token)
        .multipart(file("../../app.log", log.clone(), "text/plain"))
        .send()
        .await
        .unwrap();
    let status = created.status();
    if status != 201 {
        panic!("{status}: {}", created.text().await.unwrap());
    }
    let attachment: Value = created.json().await.unwrap();
    assert_eq!(attachment["filename"], "app.log");
    assert_ne!(updated_at().await, before, "an upload is activity on the incident");
    assert_eq!(attachment["size_bytes"], log.len());
    let sha = attachment["sha256"].as_str().unwrap();
    let stored = app
        .data_dir
        .join("attachments")
        .join(&sha[0..2])
        .join(&sha[2..4])
        .join(sha);
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        log,
        "stored under the data folder by content hash"
    );

    let download = api
        .get(app.url(&format!("/api/v1/attachments/{}", attachment["id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(
        disposition.starts_with("attachment") && disposition.contains("app.log"),
        "{disposition}"
    );
    assert_eq!(download.headers()["content-type"], "text/plain");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(download.bytes().await.unwrap().to_vec(), log);

    // Empty and missing files are refused with a field error.
    let empty = api
        .post(&url)
        .bearer_auth(&token)
        .multipart(file("empty.txt", vec![], "text/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    assert!(empty.json::<Value>().await.unwrap()["error"]["fields"]["file"].is_string());
    let none = api
        .post(&url)
        .bearer_auth(&token)
        .multipart(Form::new().text("note", "no file"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 422);

    // On the timeline.
    let incident: Value = api
        .get(app.url(&format!("/api/v1/incidents/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "attachment"));
    let missing = api
        .get(app.url("/api/v1/attachments/999999"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

async fn page_upload_needs_the_csrf_token(app: TestApp) {
    let (client, _) = app.login_as(Role::Engineer).await;
    let made = app
        .post_form(
            &client,
            "/incidents",
            &[("title", "画面崩れ"), ("impact", "low"), ("urgency", "low")],
        )
        .await;
    let path = made.headers()["location"].to_str().unwrap().to_string();
    let without = client
        .post(app.url(&format!("{path}/attachments")))
        .multipart(file("s.png", vec![1, 2, 3], "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    let token = app.csrf_token(&client).await;
    let with = client
        .post(app.url(&format!("{path}/attachments?csrf_token={token}")))
        .multipart(file("スクリーンショット.png", vec![137, 80, 78, 71], "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 303);
    let page = app.get(&client, &path).await.text().await.unwrap();
    assert!(
        page.contains("スクリーンショット.png"),
        "{}",
        &page[page.len().saturating_sub(3000)..]
    );
    let empty = client
        .post(app.url(&format!("{path}/attachments?csrf_token={token}")))
        .multipart(file("e.txt", vec![], "text/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("id=\"error-file\""));
}

on_both!(upload_limits_storage_and_download, page_upload_needs_the_csrf_token);

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_and_nothing_stored() {
    let Some(app) = TestApp::spawn_with(mamori::db::Backend::Sqlite, &[("MAMORI_MAX_UPLOAD_MB", "1")]).await else {
        return;
    };
    let user = app.create_user(Role::Helpdesk).await;
    let token = app.api_token(&user).await;
    let id = new_incident(&app, &token).await;
    let big = vec![b'x'; 1024 * 1024 + 10];
    let r = app
        .api_client()
        .post(app.url(&format!("/api/v1/incidents/{id}/attachments")))
        .bearer_auth(&token)
        .multipart(file("big.log", big, "text/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["fields"]["file"].as_str().unwrap().contains('1'));
    assert!(!app.data_dir.join("attachments").exists(), "nothing written");
}
