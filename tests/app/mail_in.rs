//! Incoming mail through the real `mamori mailgate` binary against the test server: Japanese
//! encodings, MIME shapes, the noise guard, threading, replies to closed tickets, size limit,
//! unreadable messages and an unreachable server.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mamori::audit::model::Actor;
use mamori::auth::permissions::Role;
use mamori::mail::inbound::model::InboundMail;
use serde_json::Value;

use crate::on_both;
use crate::support::TestApp;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/mail/{name}", env!("CARGO_MANIFEST_DIR"))).expect(name)
}

/// Delivers like an MTA: `mamori mailgate`, tried again (a few times) when it exits 75, as the
/// mail server does; a busy test machine may make the server answer 503 now and then.
fn mailgate(url: &str, token: &str, args: &[&str], message: &[u8]) -> Output {
    let mut out = mailgate_once(url, token, args, message);
    for _ in 0..3 {
        if code(&out) != 75 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        out = mailgate_once(url, token, args, message);
    }
    out
}

/// Runs `mamori mailgate` once with `args` after the URL and token, the message on stdin.
fn mailgate_once(url: &str, token: &str, args: &[&str], message: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mamori"));
    cmd.args(["mailgate", "--url", url, "--token", token])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run mamori mailgate");
    child.stdin.take().unwrap().write_all(message).unwrap();
    child.wait_with_output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

/// The gateway's user and token (a helpdesk user may file incidents).
async fn gateway(app: &TestApp) -> String {
    let user = app.create_user(Role::Helpdesk).await;
    app.api_token(&user).await
}

async fn user_with_email(app: &TestApp, email: &str, role: Role) -> i64 {
    let input = mamori::users::model::UserInput {
        email: email.into(),
        display_name: email.split('@').next().unwrap().into(),
        role: role.as_str().into(),
        locale: "ja".into(),
        time_zone: "Asia/Tokyo".into(),
        password: "correct horse battery staple".into(),
        team_ids: vec![],
    };
    let now = app.state.clock.now();
    app.state
        .db(move |conn| mamori::users::service::create(conn, &Actor::system("test"), now, &input))
        .await
        .expect("user")
        .id
}

async fn mails(app: &TestApp) -> Vec<InboundMail> {
    app.with_db(|conn| mamori::mail::inbound::service::list(conn, "", None).unwrap())
        .await
        .into_iter()
        .rev()
        .collect()
}

async fn last_mail(app: &TestApp) -> InboundMail {
    mails(app).await.pop().expect("a stored mail")
}

async fn incident(app: &TestApp, id: i64) -> mamori::incidents::model::IncidentView {
    app.with_db(move |conn| mamori::incidents::service::get(conn, id, true).unwrap())
        .await
}

async fn incident_count(app: &TestApp) -> i64 {
    app.with_db(|conn| {
        use diesel::prelude::*;
        mamori::db::schema::tickets::table
            .count()
            .get_result::<i64>(conn)
            .unwrap()
    })
    .await
}

async fn file_incident(app: &TestApp, title: &str) -> i64 {
    let input = mamori::incidents::model::IncidentInput {
        title: title.into(),
        description: "社内の記録".into(),
        impact: "high".into(),
        urgency: "high".into(),
        ..Default::default()
    };
    let now = app.state.clock.now();
    app.with_db(move |conn| {
        mamori::incidents::service::create(conn, &Actor::system("test"), now, "Asia/Tokyo", &input)
            .unwrap()
            .id
    })
    .await
}

async fn resolve(app: &TestApp, id: i64) {
    let now = app.state.clock.now();
    app.with_db(move |conn| {
        let input = mamori::incidents::service::TransitionInput {
            resolution: "再起動で復旧".into(),
            ..Default::default()
        };
        mamori::incidents::service::transition(
            conn,
            &Actor::system("test"),
            now,
            id,
            mamori::incidents::rules::Action::Resolve,
            &input,
        )
        .unwrap();
    })
    .await
}

fn thread_root(app: &TestApp, ticket_id: i64) -> String {
    let host = app.state.config.base_url.host_str().unwrap().to_string();
    mamori::mail::threading::thread_root(&app.state.config.secret_key, &host, ticket_id)
}

/// A plain UTF-8 reply as a mail client writes it.
fn reply(from: &str, subject: &str, in_reply_to: Option<&str>, body: &str) -> Vec<u8> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let mut m = format!(
        "From: {from}\r\nTo: mamori@example.jp\r\nSubject: =?UTF-8?B?{}?=\r\nDate: Thu, 03 Dec 2026 11:00:00 +0900\r\nMessage-ID: <{}@client.example.jp>\r\nMIME-Version: 1.0\r\n",
        b64(subject),
        mamori::auth::tokens::random_hex(12)
    );
    if let Some(id) = in_reply_to {
        m.push_str(&format!("In-Reply-To: {id}\r\nReferences: {id}\r\n"));
    }
    m.push_str(&format!(
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        b64(body)
    ));
    m.into_bytes()
}

const SUBJECT: &str = "【障害】①サーバ停止 ｻｰﾊﾞ室";

async fn japanese_mail_keeps_names_and_subjects_character_for_character(app: TestApp) {
    let token = gateway(&app).await;
    for name in ["iso2022jp_7bit.eml", "iso2022jp_qp.eml", "shift_jis.eml", "euc_jp.eml"] {
        let out = mailgate(&app.address, &token, &[], &fixture(name));
        assert_eq!(code(&out), 0, "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let mail = last_mail(&app).await;
        assert_eq!(mail.from_name, "佐藤 花子", "{name}");
        assert_eq!(mail.from_address, "sato@example.jp", "{name}");
        assert_eq!(mail.subject, SUBJECT, "{name}");
        assert_eq!(
            (mail.state.as_str(), mail.outcome.as_str()),
            ("processed", "new_ticket"),
            "{name}"
        );
        let view = incident(&app, mail.ticket_id.unwrap()).await;
        assert_eq!(view.title, SUBJECT, "{name}");
        assert_eq!(
            view.description,
            "From: 佐藤 花子 <sato@example.jp>\n\nお世話になっております。\n①ファイルサーバに接続できません。\nｶﾞｲﾄﾞ確認済みです。",
            "{name}"
        );
        assert_eq!(view.incident.channel, "mail");
        // The gateway's answer names the new ticket.
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("new_ticket INC-"), "{stdout}");
    }
}

async fn mime_shapes_become_incidents_with_their_attachments(app: TestApp) {
    let token = gateway(&app).await;
    let known = user_with_email(&app, "tanaka@example.jp", Role::Engineer).await;
    assert_eq!(
        code(&mailgate(&app.address, &token, &[], &fixture("alternative.eml"))),
        0
    );
    let alt = incident(&app, last_mail(&app).await.ticket_id.unwrap()).await;
    assert_eq!(alt.title, "VPNに接続できません");
    assert!(
        alt.description
            .ends_with("本社からVPNに接続できません。\nエラー番号は 809 です。"),
        "{}",
        alt.description
    );

    assert_eq!(code(&mailgate(&app.address, &token, &[], &fixture("html_only.eml"))), 0);
    let html = incident(&app, last_mail(&app).await.ticket_id.unwrap()).await;
    assert!(
        html.description.contains("3階のプリンタが印刷しません。"),
        "{}",
        html.description
    );
    assert!(!html.description.contains("<p>"), "{}", html.description);

    // From a known user: filed by them, with both files attached through the attachments service.
    assert_eq!(
        code(&mailgate(&app.address, &token, &[], &fixture("attachments.eml"))),
        0
    );
    let mail = last_mail(&app).await;
    let att = incident(&app, mail.ticket_id.unwrap()).await;
    assert_eq!(att.description, "画面の写真と手順書を添付します。");
    let ticket_id = att.id;
    let files = app
        .with_db(move |conn| mamori::attachments::queries::of_ticket(conn, ticket_id).unwrap())
        .await;
    let mut names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
    names.sort();
    assert_eq!(names, ["screen.png", "手順書.pdf"]);
    assert!(files.iter().all(|f| f.uploaded_by == Some(known)));
    let created = att
        .timeline
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.kind == "created")
        .unwrap();
    assert_eq!(created.actor_id, Some(known));
    assert_eq!(created.data["mail_id"], mail.id);
}

async fn noise_is_stored_and_ignored_with_its_reason(app: TestApp) {
    let token = gateway(&app).await;
    for (name, reason) in [
        ("dsn.eml", "bounce"),
        ("outlook_autoreply.eml", "auto_submitted"),
        ("own_loop.eml", "own_mail"),
    ] {
        let out = mailgate(&app.address, &token, &[], &fixture(name));
        assert_eq!(code(&out), 0, "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let mail = last_mail(&app).await;
        assert_eq!(
            (mail.state.as_str(), mail.reason.as_str()),
            ("ignored", reason),
            "{name}"
        );
        assert!(mail.no_auto_reply, "{name}");
        assert_eq!(mail.ticket_id, None, "{name}");
    }
    assert_eq!(incident_count(&app).await, 0);
    // Listed for admins with the reason, in their language.
    let (admin, _) = app.login_as(Role::Admin).await;
    let page = app.get(&admin, "/admin/inbound-mail?filter=ignored").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Delivery failure report (bounce)"), "{html}");
    assert!(html.contains("自動応答: 【障害】メールが届かない"));
    // An admin may decide an ignored message is real: re-processed, it opens an incident.
    let id = last_mail(&app).await.id;
    let response = app
        .post_form(&admin, &format!("/admin/inbound-mail/{id}/reprocess"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(last_mail(&app).await.outcome, "new_ticket");
    assert_eq!(incident_count(&app).await, 1);
}

async fn an_unreadable_message_is_kept_raw_and_refused_in_words(app: TestApp) {
    let token = gateway(&app).await;
    let raw = fixture("unparseable.eml");
    let out = mailgate(&app.address, &token, &[], &raw);
    assert_eq!(code(&out), 65);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be read as mail"), "{stderr}");
    let mail = last_mail(&app).await;
    assert_eq!(mail.state, "unparseable");
    assert!(!mail.error.is_empty());
    // Kept byte for byte, downloadable by an admin.
    let admin = app.create_user(Role::Admin).await;
    let admin_token = app.api_token(&admin).await;
    let response = app
        .api_client()
        .get(app.url(&format!("/api/v1/inbound-mail/{}/raw", mail.id)))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), raw);
    // Not by someone who may not see it (no ticket): as if it did not exist.
    let response = app
        .api_client()
        .get(app.url(&format!("/api/v1/inbound-mail/{}/raw", mail.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (admin_page, _) = app.login_as(Role::Admin).await;
    let html = app
        .get(&admin_page, "/admin/inbound-mail?filter=unparseable")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("/inbound-mail/{}/raw", mail.id)), "{html}");
}

async fn replies_thread_by_message_id_and_by_subject_token(app: TestApp) {
    let token = gateway(&app).await;
    let engineer = user_with_email(&app, "ito@example.jp", Role::Engineer).await;
    let id = file_incident(&app, "基幹システム停止").await;
    let reference = incident(&app, id).await.number;
    let root = thread_root(&app, id);

    // A known user's reply by In-Reply-To: a comment from them, the quote trimmed.
    let body =
        "再起動しました。\r\n\r\n2026年12月3日(木) 10:15 Mamori <mamori@example.jp>:\r\n> 割り当てられました\r\n";
    let out = mailgate(
        &app.address,
        &token,
        &[],
        &reply("Ito <ITO@example.jp>", "Re: 通知", Some(&root), body),
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let mail = last_mail(&app).await;
    assert_eq!((mail.outcome.as_str(), mail.reason.as_str()), ("comment", "message_id"));
    let comment = incident(&app, id)
        .await
        .timeline
        .unwrap()
        .into_iter()
        .rfind(|e| e.kind == "comment")
        .unwrap();
    assert_eq!(comment.body, "再起動しました。");
    assert_eq!(comment.actor_id, Some(engineer));
    assert_eq!(comment.data["mail_id"], mail.id);

    // The timeline links the whole message.
    let (client, _) = app.login_as(Role::Helpdesk).await;
    let html = app
        .get(&client, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("/inbound-mail/{}/raw", mail.id)));
    let raw = app.get(&client, &format!("/inbound-mail/{}/raw", mail.id)).await;
    assert_eq!(raw.status(), 200);
    assert!(raw.text().await.unwrap().contains("In-Reply-To"));

    // An address that is not a user, through our Message-ID: a comment naming the address.
    let out = mailgate(
        &app.address,
        &token,
        &[],
        &reply(
            "Vendor <support@vendor.example.com>",
            "Re: 通知",
            Some(&root),
            "ベンダーです。調査します。",
        ),
    );
    assert_eq!(code(&out), 0);
    let comment = incident(&app, id)
        .await
        .timeline
        .unwrap()
        .into_iter()
        .rfind(|e| e.kind == "comment")
        .unwrap();
    assert_eq!(comment.body, "ベンダーです。調査します。");
    assert_eq!(comment.data["mail_from"], "Vendor <support@vendor.example.com>");

    // A known user by the subject token alone.
    let subject = format!("RE: [{reference}] 基幹システム停止");
    let out = mailgate(
        &app.address,
        &token,
        &[],
        &reply("ito@example.jp", &subject, None, "続報です。"),
    );
    assert_eq!(code(&out), 0);
    let mail = last_mail(&app).await;
    assert_eq!(
        (mail.outcome.as_str(), mail.reason.as_str(), mail.ticket_id),
        ("comment", "subject_token", Some(id))
    );

    // A forged Message-ID (wrong MAC) threads nothing: a new ticket.
    let forged = root.replace(&format!("mamori.{id}."), &format!("mamori.{}.", id + 1000));
    let before = incident_count(&app).await;
    mailgate(
        &app.address,
        &token,
        &[],
        &reply("ito@example.jp", "別件", Some(&forged), "別件です。"),
    );
    assert_eq!(last_mail(&app).await.outcome, "new_ticket");
    assert_eq!(incident_count(&app).await, before + 1);

    // The same delivery again (the MTA retried): stored once, applied once.
    let again = reply("ito@example.jp", "再送", None, "一度だけ");
    mailgate(&app.address, &token, &[], &again);
    let count = incident_count(&app).await;
    let mails_before = mails(&app).await.len();
    assert_eq!(code(&mailgate(&app.address, &token, &[], &again)), 0);
    assert_eq!(incident_count(&app).await, count);
    assert_eq!(mails(&app).await.len(), mails_before);
}

async fn a_token_for_a_ticket_the_sender_may_not_see_opens_a_new_one_and_reveals_nothing(app: TestApp) {
    let token = gateway(&app).await;
    let id = file_incident(&app, "人事システム 給与データ 極秘").await;
    let reference = incident(&app, id).await.number;
    let timeline_before = incident(&app, id).await.timeline.unwrap().len();

    // Not a user, naming the ticket in the subject only.
    let subject = format!("Re: [{reference}] 状況を教えてください");
    let out = mailgate(
        &app.address,
        &token,
        &[],
        &reply("outsider@example.net", &subject, None, "どうなっていますか"),
    );
    assert_eq!(code(&out), 0);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains(&reference), "{stdout}");
    let mail = last_mail(&app).await;
    assert_eq!(mail.outcome, "new_ticket");
    let new_id = mail.ticket_id.unwrap();
    assert_ne!(new_id, id);
    let new = incident(&app, new_id).await;
    assert_eq!(new.title, "状況を教えてください");
    assert!(!new.description.contains("極秘"));
    assert_eq!(incident(&app, id).await.timeline.unwrap().len(), timeline_before);

    // A deleted ticket is one nobody may see: a known user's token opens a new ticket too.
    user_with_email(&app, "kato@example.jp", Role::Manager).await;
    let now = app.state.clock.now();
    app.with_db(move |conn| {
        mamori::tickets::service::soft_delete(conn, &Actor::system("test"), now, id, "誤登録").unwrap()
    })
    .await;
    mailgate(
        &app.address,
        &token,
        &[],
        &reply("kato@example.jp", &subject, None, "確認です"),
    );
    let mail = last_mail(&app).await;
    assert_eq!(mail.outcome, "new_ticket");
    assert_ne!(mail.ticket_id, Some(id));

    // An unknown token opens a new ticket as well.
    mailgate(
        &app.address,
        &token,
        &[],
        &reply("kato@example.jp", "[INC-999999] 不明", None, "不明です"),
    );
    assert_eq!(last_mail(&app).await.outcome, "new_ticket");
}

async fn a_reply_to_a_resolved_incident_opens_a_linked_new_one_by_default(app: TestApp) {
    let token = gateway(&app).await;
    let id = file_incident(&app, "メール遅延").await;
    resolve(&app, id).await;
    let out = mailgate(
        &app.address,
        &token,
        &[],
        &reply(
            "someone@example.jp",
            "Re: 通知",
            Some(&thread_root(&app, id)),
            "また遅れています",
        ),
    );
    assert_eq!(code(&out), 0);
    let mail = last_mail(&app).await;
    assert_eq!(
        (mail.outcome.as_str(), mail.reason.as_str()),
        ("new_ticket", "closed_ticket")
    );
    let new_id = mail.ticket_id.unwrap();
    assert_ne!(new_id, id);
    let linked = app
        .with_db(move |conn| mamori::tickets::queries::linked_to(conn, new_id, "related").unwrap())
        .await;
    assert_eq!(linked.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);
    assert_eq!(incident(&app, id).await.status, "resolved");
}

on_both!(
    japanese_mail_keeps_names_and_subjects_character_for_character,
    mime_shapes_become_incidents_with_their_attachments,
    noise_is_stored_and_ignored_with_its_reason,
    an_unreadable_message_is_kept_raw_and_refused_in_words,
    replies_thread_by_message_id_and_by_subject_token,
    a_token_for_a_ticket_the_sender_may_not_see_opens_a_new_one_and_reveals_nothing,
    a_reply_to_a_resolved_incident_opens_a_linked_new_one_by_default,
);

/// Like `on_both!`, with extra configuration.
macro_rules! on_both_with {
    ($name:ident, $env:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::support::TestApp::spawn_with(mamori::db::Backend::Sqlite, $env).await {
                    super::$name(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::spawn_with(mamori::db::Backend::Postgres, $env).await {
                    super::$name(app).await;
                }
            }
        }
    };
}

async fn with_reopen_a_reply_reopens_the_resolved_incident(app: TestApp) {
    let token = gateway(&app).await;
    let engineer = user_with_email(&app, "mori@example.jp", Role::Engineer).await;
    let id = file_incident(&app, "メール遅延").await;
    resolve(&app, id).await;
    let out = mailgate(
        &app.address,
        &token,
        &[],
        &reply(
            "mori@example.jp",
            "Re: 通知",
            Some(&thread_root(&app, id)),
            "再発しました",
        ),
    );
    assert_eq!(code(&out), 0);
    let mail = last_mail(&app).await;
    assert_eq!((mail.outcome.as_str(), mail.ticket_id), ("reopened", Some(id)));
    let view = incident(&app, id).await;
    assert_eq!(view.status, "in_progress");
    let comment = view
        .timeline
        .as_ref()
        .unwrap()
        .iter()
        .rfind(|e| e.kind == "comment")
        .unwrap();
    assert_eq!(
        (comment.body.as_str(), comment.actor_id),
        ("再発しました", Some(engineer))
    );
    assert_eq!(incident_count(&app).await, 1);
}
on_both_with!(
    with_reopen_a_reply_reopens_the_resolved_incident,
    &[("MAMORI_MAIL_REPLY_TO_CLOSED", "reopen")]
);

async fn a_message_over_the_limit_is_refused_with_413(app: TestApp) {
    let token = gateway(&app).await;
    let mut big = fixture("alternative.eml");
    big.extend(std::iter::repeat_n(b'x', 4096));
    let out = mailgate(&app.address, &token, &[], &big);
    assert_eq!(code(&out), 65);
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAMORI_MAIL_MAX_BYTES"));
    let response = app
        .api_client()
        .post(app.url("/api/v1/inbound-mail"))
        .bearer_auth(&token)
        .header("Content-Type", "message/rfc822")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert!(mails(&app).await.is_empty());
    // Within the limit, the same endpoint takes a raw body directly.
    let response = app
        .api_client()
        .post(app.url("/api/v1/inbound-mail?action=new"))
        .bearer_auth(&token)
        .header("Content-Type", "message/rfc822")
        .body(fixture("alternative.eml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["outcome"], "new_ticket");
    // A bad flag is named.
    let out = mailgate(
        &app.address,
        &token,
        &["--team", "存在しないチーム"],
        &fixture("html_only.eml"),
    );
    assert_eq!(code(&out), 65);
    assert!(String::from_utf8_lossy(&out.stderr).contains("team"));
}
on_both_with!(
    a_message_over_the_limit_is_refused_with_413,
    &[("MAMORI_MAIL_MAX_BYTES", "2048")]
);

#[test]
fn mailgate_asks_the_mta_to_retry_when_the_server_is_down() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let out = mailgate_once(
        &format!("http://127.0.0.1:{port}"),
        "mamori_x",
        &[],
        &fixture("alternative.eml"),
    );
    assert_eq!(code(&out), 75, "{}", String::from_utf8_lossy(&out.stderr));
    let out = mailgate_once("not a url", "mamori_x", &[], b"x");
    assert_eq!(code(&out), 64);
}
