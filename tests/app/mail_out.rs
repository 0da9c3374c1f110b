//! Outgoing mail: the outbox written with the change, the sender delivering to a real SMTP
//! server (aiosmtpd on loopback) or to `.eml` files, retries across an outage, leases, the
//! recipient's preferences. Messages are parsed from the received bytes.

use base64::Engine;
use chrono::Duration;
use diesel::prelude::*;
use mamori::auth::permissions::Role;
use mamori::db::schema::{mail_attempts, mail_outbox, users};
use mamori::mail::sender::{Run, Sender, Transport};
use serde_json::json;

use crate::on_both;
use crate::support::api::Api;
use crate::support::smtp::SmtpSink;
use crate::support::TestApp;

/// Runs one sender pass at `now` (its own sender, as another instance would).
async fn run_sender(app: &TestApp, now: chrono::NaiveDateTime) -> Run {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let sender = Sender::new(Transport::from_config(&state.config).unwrap()).unwrap();
        let mut conn = mamori::db::background_connection(&state.pool).unwrap();
        sender.run_once(&state, &mut conn, now).unwrap()
    })
    .await
    .unwrap()
}

/// A new incident assigned by a manager to a new engineer (locale `locale`): (incident id,
/// reference, engineer id).
async fn assign_new_incident(app: &TestApp, api: &Api<'_>, title: &str, locale: &str) -> (i64, String, i64) {
    let engineer = app.create_user(Role::Engineer).await;
    let (id, locale) = (engineer.id, locale.to_string());
    app.with_db(move |conn| {
        diesel::update(users::table.find(id))
            .set(users::locale.eq(locale))
            .execute(conn)
            .unwrap()
    })
    .await;
    let (status, incident) = api
        .post(
            "/api/v1/incidents",
            json!({"title": title, "impact": "low", "urgency": "low"}),
        )
        .await;
    assert_eq!(status, 201, "{incident}");
    let incident_id = incident["id"].as_i64().unwrap();
    let (status, body) = api
        .post(
            &format!("/api/v1/incidents/{incident_id}/assign"),
            json!({"assignee_id": engineer.id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (incident_id, body["number"].as_str().unwrap().to_string(), engineer.id)
}

/// A received message: unfolded headers (name lower-cased, value raw) and the decoded
/// text/plain part.
struct Parsed {
    headers: Vec<(String, String)>,
    text: String,
}

impl Parsed {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    /// A header with its RFC 2047 encoded words decoded.
    fn decoded(&self, name: &str) -> String {
        decode_words(self.header(name).unwrap_or_default())
    }
}

fn split_head(part: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = part.split_once("\r\n\r\n").expect("a blank line after the headers");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            headers.last_mut().expect("continuation").1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    (headers, body)
}

/// `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words (whitespace between words dropped, RFC 2047 §6.2).
fn decode_words(value: &str) -> String {
    let mut out = Vec::new();
    let mut rest = value;
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some(start) = rest.find("=?") {
            let between = &rest[..start];
            if !(last_was_word && between.trim().is_empty()) {
                out.extend_from_slice(between.as_bytes());
            }
            let word = &rest[start + 2..];
            let mut pieces = word.splitn(3, '?');
            let (charset, encoding, tail) = (pieces.next().unwrap(), pieces.next().unwrap(), pieces.next().unwrap());
            assert!(charset.eq_ignore_ascii_case("utf-8"), "{charset}");
            let end = tail.find("?=").expect("end of encoded word");
            let text = &tail[..end];
            match encoding {
                "b" | "B" => out.extend(base64::engine::general_purpose::STANDARD.decode(text).unwrap()),
                _ => out.extend(decode_qp(&text.replace('_', " "))),
            }
            rest = &tail[end + 2..];
            last_was_word = true;
        } else {
            out.extend_from_slice(rest.as_bytes());
            break;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

fn decode_qp(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\r') {
                i += 3; // soft line break
                continue;
            }
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn parse(raw: &[u8]) -> Parsed {
    let text = std::str::from_utf8(raw).expect("a 7-bit message");
    assert!(text.is_ascii(), "every header and part is encoded for transport");
    let (headers, body) = split_head(text);
    let content_type = headers.iter().find(|(n, _)| n == "content-type").unwrap().1.clone();
    assert!(content_type.starts_with("multipart/alternative"), "{content_type}");
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"')
        .to_string();
    let plain = body
        .split(&format!("--{boundary}"))
        .find(|part| {
            part.to_ascii_lowercase()
                .contains("content-type: text/plain; charset=utf-8")
        })
        .expect("a text/plain part");
    let (part_headers, part_body) = split_head(plain.trim_start_matches("\r\n"));
    let encoding = part_headers
        .iter()
        .find(|(n, _)| n == "content-transfer-encoding")
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    let decoded = match encoding.as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(part_body.split_whitespace().collect::<String>())
            .unwrap(),
        "quoted-printable" => decode_qp(part_body),
        _ => part_body.as_bytes().to_vec(),
    };
    Parsed {
        headers,
        text: String::from_utf8(decoded).expect("UTF-8 body"),
    }
}

/// The acceptance check: with no SMTP configured, assigning an incident writes a mail to the
/// assignee as an `.eml` under `<data dir>/mail/outbox/`, its subject carrying the reference.
async fn assigning_mails_the_assignee_as_an_eml_file(app: TestApp) {
    let api = Api::new(&app, Role::Manager).await;
    let (incident_id, reference, _) = assign_new_incident(&app, &api, "印刷できない", "en").await;
    // Written with the assignment, before any sender ran.
    let queued: Vec<(String, Option<i64>)> = app
        .with_db(|conn| {
            mail_outbox::table
                .select((mail_outbox::state, mail_outbox::ticket_id))
                .load(conn)
                .unwrap()
        })
        .await;
    assert_eq!(queued, vec![("queued".to_string(), Some(incident_id))]);

    let run = run_sender(&app, app.state.clock.now()).await;
    assert_eq!(run, Run { sent: 1, failed: 0 });
    let folder = app.data_dir.join("mail").join("outbox");
    let files: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&reference) && name.ends_with(".eml"), "{name}");
    let mail = parse(&std::fs::read(&files[0]).unwrap());
    let subject = mail.decoded("Subject");
    assert_eq!(subject, format!("[{reference}] Assigned to you: 印刷できない"));
    assert!(
        mail.text.contains(&format!("/incidents/{incident_id}")),
        "{}",
        mail.text
    );
    // Nothing is sent twice.
    assert_eq!(run_sender(&app, app.state.clock.now()).await, Run::default());
}

/// Through a real SMTP server: a Japanese mail decodes to the right subject and body and
/// carries the threading and loop-guard headers of the contract.
async fn a_japanese_mail_reaches_the_smtp_server_with_threading_headers(app: TestApp) {
    let Some(sink) = SmtpSink::start_new() else { return };
    let app = TestApp::spawn_with(app.backend, &[("MAMORI_SMTP_URL", &sink.url())])
        .await
        .unwrap();
    let api = Api::new(&app, Role::Manager).await;
    let (incident_id, reference, engineer) = assign_new_incident(&app, &api, "基幹システム障害①", "ja").await;
    assert_eq!(
        run_sender(&app, app.state.clock.now()).await,
        Run { sent: 1, failed: 0 }
    );
    let messages = sink.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    let mail = parse(&messages[0]);

    assert_eq!(
        mail.decoded("Subject"),
        format!("[{reference}] 担当になりました：基幹システム障害①")
    );
    assert!(mail.decoded("To").contains("engineer"), "{}", mail.decoded("To"));
    assert!(mail.text.contains("様　以下のチケットの担当"), "{}", mail.text);
    assert!(mail.text.contains("(Asia/Tokyo)"), "{}", mail.text);
    let key = &app.state.config.secret_key;
    let root = mamori::mail::threading::thread_root(key, "127.0.0.1", incident_id);
    assert_eq!(mail.header("In-Reply-To"), Some(root.as_str()));
    assert_eq!(mail.header("References"), Some(root.as_str()));
    let message_id = mail.header("Message-ID").unwrap();
    assert_eq!(mamori::mail::threading::ticket_of(key, message_id), Some(incident_id));
    assert_eq!(mail.header("Auto-Submitted"), Some("auto-generated"));
    assert_eq!(mail.header("X-Mamori-Loop"), Some("127.0.0.1"));
    assert_eq!(mail.header("From"), Some("mamori@127.0.0.1"));
    // The attempt is recorded with the server's reply.
    let (state, stored_id, reply): (String, Option<String>, String) = app
        .with_db(move |conn| {
            mail_outbox::table
                .inner_join(mail_attempts::table)
                .select((mail_outbox::state, mail_outbox::message_id, mail_attempts::reply))
                .first(conn)
                .unwrap()
        })
        .await;
    assert_eq!(state, "sent");
    assert_eq!(stored_id.as_deref(), Some(message_id));
    assert!(reply.starts_with("250 "), "{reply}");
    let _ = engineer;
}

/// The SMTP server goes away: mails wait and are retried on the schedule; after it is back
/// every mail arrives exactly once, with the Message-ID it had from the start.
async fn an_smtp_outage_delays_mail_and_loses_none(app: TestApp) {
    let Some(mut sink) = SmtpSink::start_new() else { return };
    let app = TestApp::spawn_with(app.backend, &[("MAMORI_SMTP_URL", &sink.url())])
        .await
        .unwrap();
    let api = Api::new(&app, Role::Manager).await;
    sink.stop();
    for title in ["障害その1", "障害その2", "障害その3"] {
        assign_new_incident(&app, &api, title, "ja").await;
    }
    let t0 = app.state.clock.now();
    assert_eq!(run_sender(&app, t0).await, Run { sent: 0, failed: 3 });
    // Not due again before a minute has passed.
    assert_eq!(run_sender(&app, t0 + Duration::seconds(30)).await, Run::default());
    assert_eq!(
        run_sender(&app, t0 + Duration::seconds(61)).await,
        Run { sent: 0, failed: 3 }
    );
    let rows: Vec<(String, i32, Option<String>, chrono::NaiveDateTime)> = app
        .with_db(|conn| {
            mail_outbox::table
                .select((
                    mail_outbox::state,
                    mail_outbox::attempts,
                    mail_outbox::last_error,
                    mail_outbox::next_attempt_at,
                ))
                .load(conn)
                .unwrap()
        })
        .await;
    for (state, attempts, error, next) in &rows {
        assert_eq!((state.as_str(), *attempts), ("failed", 2));
        assert!(error.as_deref().is_some_and(|e| !e.is_empty()));
        // The second failure waits two minutes.
        assert_eq!(*next, t0 + Duration::seconds(61) + Duration::minutes(2));
    }
    let ids_before: Vec<Option<String>> = app
        .with_db(|conn| {
            mail_outbox::table
                .order(mail_outbox::id)
                .select(mail_outbox::message_id)
                .load(conn)
                .unwrap()
        })
        .await;

    sink.start();
    let later = t0 + Duration::minutes(4);
    assert_eq!(run_sender(&app, later).await, Run { sent: 3, failed: 0 });
    assert_eq!(run_sender(&app, later + Duration::hours(7)).await, Run::default());
    let messages = sink.wait_for(3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let messages_after = sink.messages();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages_after.len(), 3, "nothing arrives twice");
    let mut received: Vec<String> = messages
        .iter()
        .map(|m| parse(m).header("Message-ID").unwrap().to_string())
        .collect();
    received.sort();
    let mut expected: Vec<String> = ids_before.into_iter().map(|id| id.unwrap()).collect();
    expected.sort();
    assert_eq!(received, expected, "the Message-IDs fixed at the first attempt");
    let attempts: i64 = app
        .with_db(|conn| mail_attempts::table.count().get_result(conn).unwrap())
        .await;
    assert_eq!(attempts, 9);
}

/// Two senders (two instances) racing over the same outbox deliver each mail once.
async fn racing_senders_claim_each_mail_once(app: TestApp) {
    let Some(sink) = SmtpSink::start_new() else { return };
    let app = TestApp::spawn_with(app.backend, &[("MAMORI_SMTP_URL", &sink.url())])
        .await
        .unwrap();
    let api = Api::new(&app, Role::Manager).await;
    for i in 0..6 {
        assign_new_incident(&app, &api, &format!("同時送信 {i}"), "en").await;
    }
    let now = app.state.clock.now();
    let (a, b) = tokio::join!(run_sender(&app, now), run_sender(&app, now));
    assert_eq!(a.sent + b.sent, 6, "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    let messages = sink.wait_for(6).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 6);
    let mut ids: Vec<String> = messages
        .iter()
        .map(|m| parse(m).header("Message-ID").unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
}

/// A lease with expiry: a mail claimed by a sender that then died is claimed again only after
/// its lease ran out, and by one sender.
async fn an_expired_lease_is_taken_over_once(app: TestApp) {
    let api = Api::new(&app, Role::Manager).await;
    assign_new_incident(&app, &api, "リース", "en").await;
    let now = app.state.clock.now();
    let claimed = app
        .with_db(move |conn| {
            let first = mamori::mail::outbox::claim(conn, "a", now, 10).unwrap();
            let again = mamori::mail::outbox::claim(conn, "b", now + Duration::seconds(299), 10).unwrap();
            let expired = mamori::mail::outbox::claim(conn, "c", now + Duration::seconds(301), 10).unwrap();
            let twice = mamori::mail::outbox::claim(conn, "d", now + Duration::seconds(301), 10).unwrap();
            (first.len(), again.len(), expired.len(), twice.len())
        })
        .await;
    assert_eq!(claimed, (1, 0, 1, 0));
}

/// Each user chooses which events reach them by mail; assignment is on by default.
async fn mail_preferences_are_respected(app: TestApp) {
    let api = Api::new(&app, Role::Manager).await;
    let engineer = app.create_user(Role::Engineer).await;
    let id = engineer.id;
    let now = app.state.clock.now();
    let prefs = app
        .with_db(move |conn| {
            mamori::mail::service::set_preferences(
                conn,
                &mamori::audit::model::Actor::system("test"),
                id,
                &[mamori::mail::service::Preference {
                    event: "assigned".into(),
                    mail: false,
                }],
                now,
            )
            .unwrap()
        })
        .await;
    assert!(prefs.iter().any(|p| p.event == "assigned" && !p.mail));
    assert!(prefs.iter().any(|p| p.event == "sla_breach" && p.mail));
    let (_, incident) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "x", "impact": "low", "urgency": "low"}),
        )
        .await;
    let (status, _) = api
        .post(
            &format!("/api/v1/incidents/{}/assign", incident["id"]),
            json!({"assignee_id": id}),
        )
        .await;
    assert_eq!(status, 200);
    let (mails, notifications): (i64, i64) = app
        .with_db(|conn| {
            (
                mail_outbox::table.count().get_result(conn).unwrap(),
                mamori::db::schema::notifications::table
                    .count()
                    .get_result(conn)
                    .unwrap(),
            )
        })
        .await;
    assert_eq!((mails, notifications), (0, 1), "notified in the app, not by mail");
}

/// `GET`/`PUT /api/v1/profile/mail-preferences`: defaults, a change that sticks (and stops
/// the mail), an unknown event refused naming the field.
async fn mail_preferences_through_the_api(app: TestApp) {
    let engineer = app.create_user(Role::Engineer).await;
    let token = app.api_token(&engineer).await;
    let me = Api::with_token(&app, &token);
    let (status, body) = me.get("/api/v1/profile/mail-preferences").await;
    assert_eq!(status, 200, "{body}");
    let on: Vec<&str> = body["preferences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["mail"] == true)
        .map(|p| p["event"].as_str().unwrap())
        .collect();
    assert_eq!(on, ["assigned", "escalated", "sla_breach"]);
    let (status, body) = me
        .send(
            reqwest::Method::PUT,
            "/api/v1/profile/mail-preferences",
            Some(json!({"preferences": [{"event": "assigned", "mail": false}, {"event": "commented", "mail": true}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = me.get("/api/v1/profile/mail-preferences").await;
    let chosen = |event: &str| {
        body["preferences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["event"] == event)
            .unwrap()["mail"]
            .clone()
    };
    assert_eq!((chosen("assigned"), chosen("commented")), (json!(false), json!(true)));
    let (status, body) = me
        .send(
            reqwest::Method::PUT,
            "/api/v1/profile/mail-preferences",
            Some(json!({"preferences": [{"event": "everything", "mail": true}]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("event"), "{body}");

    let manager = Api::new(&app, Role::Manager).await;
    let (_, incident) = manager
        .post(
            "/api/v1/incidents",
            json!({"title": "x", "impact": "low", "urgency": "low"}),
        )
        .await;
    let (status, _) = manager
        .post(
            &format!("/api/v1/incidents/{}/assign", incident["id"]),
            json!({"assignee_id": engineer.id}),
        )
        .await;
    assert_eq!(status, 200);
    let mails: i64 = app
        .with_db(|conn| mail_outbox::table.count().get_result(conn).unwrap())
        .await;
    assert_eq!(mails, 0);
}

/// `/metrics` reports the waiting mails and the age of the oldest, from the shared outbox.
async fn metrics_report_the_outbox(app: TestApp) {
    let admin = app.create_user(Role::Admin).await;
    let token = app.api_token(&admin).await;
    let api = Api::new(&app, Role::Manager).await;
    assign_new_incident(&app, &api, "待機中", "en").await;
    assign_new_incident(&app, &api, "待機中2", "en").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let scrape = |token: String| {
        let app = &app;
        async move {
            app.api_client()
                .get(app.url("/metrics"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let gauge = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing"))
            .trim()
            .parse()
            .unwrap()
    };
    let text = scrape(token.clone()).await;
    assert_eq!(gauge(&text, "mamori_mail_outbox_depth"), 2.0);
    assert!(gauge(&text, "mamori_mail_outbox_oldest_age_seconds") >= 1.0);
    run_sender(&app, app.state.clock.now()).await;
    let text = scrape(token).await;
    assert_eq!(gauge(&text, "mamori_mail_outbox_depth"), 0.0);
    assert_eq!(gauge(&text, "mamori_mail_outbox_oldest_age_seconds"), 0.0);
}

on_both!(
    mail_preferences_through_the_api,
    metrics_report_the_outbox,
    assigning_mails_the_assignee_as_an_eml_file,
    a_japanese_mail_reaches_the_smtp_server_with_threading_headers,
    an_smtp_outage_delays_mail_and_loses_none,
    racing_senders_claim_each_mail_once,
    an_expired_lease_is_taken_over_once,
    mail_preferences_are_respected,
);
