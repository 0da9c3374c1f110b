//! Escalation policies as ordered levels: delay levels fire once after their delay (in business
//! minutes on the SLA calendar), hand the incident on, raise its level and tell the people of
//! the level, even with two job runs at once; answered, held, resolved and uncovered incidents do
//! not escalate; the admin page and the API refuse bad input with the field named.

use chrono::Duration;
use serde_json::{json, Value};

use crate::on_both;
use crate::sla::{member, run_job, team, timeline_kinds, utc, Api};
use crate::support::TestApp;
use mamori::auth::permissions::Role;

/// A user's notifications, newest first.
async fn notes(app: &TestApp, user: i64) -> Vec<mamori::notifications::NotificationView> {
    app.with_db(move |conn| mamori::notifications::of_user(conn, user, false, None).unwrap())
        .await
}

/// Sets the app clock `minutes` after `t0`.
fn at(app: &TestApp, t0: chrono::DateTime<chrono::Utc>, minutes: i64) {
    app.state.clock.set((t0 + Duration::minutes(minutes)).naive_utc());
}

async fn incident(api: &Api<'_>, title: &str, urgency: &str, team: i64, reported_at: &str) -> Value {
    let (status, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": title, "impact": "high", "urgency": urgency, "team_id": team,
                   "reported_at": reported_at}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created
}

fn escalations(incident: &Value) -> Vec<Value> {
    incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "escalated")
        .cloned()
        .collect()
}

/// The desk's policy: not acknowledged 15 minutes after the report → L2-Network at L2, tell that
/// team; unresolved after 240 → L3, tell the managers. P2 runs on the 24×7 calendar.
async fn delay_levels_hand_on_raise_and_notify_once(app: TestApp) {
    let desk = team(&app, "L1 デスク").await;
    let network = team(&app, "L2-Network").await;
    let tanaka = member(&app, "tanaka@example.jp", "engineer", desk).await;
    let sato = member(&app, "sato@example.jp", "manager", desk).await;
    let suzuki = member(&app, "suzuki@example.jp", "engineer", network).await;
    let takahashi = member(&app, "takahashi@example.jp", "manager", network).await;
    let admin = Api::new(&app, Role::Admin).await;
    let api = Api::new(&app, Role::Engineer).await;
    let rules = format!("/api/v1/teams/{desk}/escalation-rules");
    let (status, first) = admin
        .post(
            &rules,
            json!({"kind": "unacknowledged", "delay_minutes": 15, "notify": "team",
                   "escalate_to_team_id": network, "to_level": 2}),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (
            &first["clock"],
            &first["delay_minutes"],
            &first["to_level"],
            &first["position"]
        ),
        (&json!("response"), &json!(15), &json!(2), &json!(10))
    );
    let (status, last) = admin
        .post(
            &rules,
            json!({"kind": "unresolved", "delay_minutes": 240, "notify": "managers", "to_level": 3}),
        )
        .await;
    assert_eq!(status, 201, "{last}");
    let (_, listed) = admin.get(&rules).await;
    let kinds: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["unacknowledged", "unresolved"]);

    let t0 = utc("2026-11-23T00:00:00Z");
    at(&app, t0, 1);
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "拠点間VPN断", "impact": "high", "urgency": "medium", "team_id": desk,
                   "assignee_id": tanaka, "reported_at": "2026-11-23T00:00:00Z"}),
        )
        .await;
    assert_eq!(created["priority"], "P2");
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/incidents/{id}");

    at(&app, t0, 14);
    assert_eq!(run_job(&app).await, Default::default(), "not before the delay");

    // 15 minutes, two workers at the same moment: the level fires once.
    at(&app, t0, 15);
    let (a, b) = tokio::join!(run_job(&app), run_job(&app));
    assert_eq!(a.escalations + b.escalations, 1, "{a:?} {b:?}");
    assert_eq!(run_job(&app).await, Default::default(), "a level fires once");
    let (_, handed) = api.get(&path).await;
    assert_eq!(handed["team_id"], network);
    assert_eq!(handed["escalation_level"], 2);
    assert!(handed["assignee_id"].is_null(), "the receiving team picks its assignee");
    assert!(handed["version"].as_i64() > created["version"].as_i64());
    let events = escalations(&handed);
    assert_eq!(events.len(), 1);
    let data = &events[0]["data"];
    assert_eq!((&data["from_team"], &data["to_team"]), (&json!(desk), &json!(network)));
    assert_eq!((&data["from_level"], &data["to_level"]), (&json!(1), &json!(2)));
    assert_eq!(
        (&data["automatic"], &data["trigger"]),
        (&json!(true), &json!("unacknowledged"))
    );
    assert!(
        events[0]["body"].as_str().unwrap().starts_with("automatic: rule"),
        "{}",
        events[0]["body"]
    );
    // The people of the level: L2-Network, nobody at the desk.
    for user in [suzuki, takahashi] {
        let got = notes(&app, user).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, "escalation_unacknowledged");
        assert_eq!(got[0].ticket_number.as_deref(), created["number"].as_str());
    }
    assert!(notes(&app, tanaka).await.is_empty() && notes(&app, sato).await.is_empty());

    // Acknowledged by the network team; unresolved at 240 minutes: the desk's policy goes on
    // where it handed the incident, L3 and the managers there.
    at(&app, t0, 20);
    assert_eq!(api.post(&format!("{path}/acknowledge"), json!({})).await.0, 200);
    at(&app, t0, 239);
    assert_eq!(run_job(&app).await, Default::default());
    at(&app, t0, 240);
    assert_eq!(run_job(&app).await.escalations, 1);
    let (_, raised) = api.get(&path).await;
    assert_eq!(
        (&raised["escalation_level"], &raised["team_id"]),
        (&json!(3), &json!(network))
    );
    let events = escalations(&raised);
    assert_eq!(events.len(), 2);
    assert_eq!(
        (&events[1]["data"]["from_level"], &events[1]["data"]["to_level"]),
        (&json!(2), &json!(3))
    );
    assert_eq!(notes(&app, takahashi).await[0].kind, "escalation_unresolved");
    assert_eq!(notes(&app, suzuki).await.len(), 1, "managers only");
    assert!(notes(&app, sato).await.is_empty());

    // Audited as the job's, and shown on the page as automatic.
    let audited = app
        .with_db(|conn| {
            let filter = mamori::audit::model::AuditFilter {
                action: Some("incident.escalated".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 10).unwrap().0
        })
        .await;
    assert_eq!(audited.len(), 2);
    assert!(audited.iter().all(|e| e.actor_label.contains("sla-job")), "{audited:?}");
    let (client, _) = app.login_as(Role::Engineer).await;
    let page = app
        .get(&client, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("automatic: rule") && page.contains("L2 → L3"));
}

/// Answered, held, resolved and uncovered incidents do not escalate; a held one resumes with the
/// time it had already waited. (Putting an incident on hold takes it out of `new`, which is a
/// first response, so the held one waits on an `unresolved` level.)
async fn answered_held_resolved_or_uncovered_incidents_do_not_escalate(app: TestApp) {
    let desk = team(&app, "L1 デスク").await;
    let ops = team(&app, "運用チーム").await;
    let manager = member(&app, "sato@example.jp", "manager", desk).await;
    member(&app, "ito@example.jp", "manager", ops).await;
    let admin = Api::new(&app, Role::Admin).await;
    let api = Api::new(&app, Role::Engineer).await;
    for (team, level) in [
        (
            desk,
            json!({"kind": "unacknowledged", "delay_minutes": 15, "notify": "managers"}),
        ),
        (
            ops,
            json!({"kind": "unresolved", "delay_minutes": 15, "notify": "managers"}),
        ),
    ] {
        let (status, body) = admin
            .post(&format!("/api/v1/teams/{team}/escalation-rules"), level)
            .await;
        assert_eq!(status, 201, "{body}");
    }

    let t0 = utc("2026-11-23T00:00:00Z");
    at(&app, t0, 1);
    let reported = "2026-11-23T00:00:00Z";
    let answered = incident(&api, "メール遅延", "medium", desk, reported).await["id"]
        .as_i64()
        .unwrap();
    let resolved = incident(&api, "誤報", "medium", desk, reported).await["id"]
        .as_i64()
        .unwrap();
    let held = incident(&api, "帳票エラー", "medium", ops, reported).await["id"]
        .as_i64()
        .unwrap();
    let path = |id: i64, action: &str| format!("/api/v1/incidents/{id}/{action}");
    at(&app, t0, 5);
    assert_eq!(api.post(&path(answered, "acknowledge"), json!({})).await.0, 200);
    let (status, body) = api
        .post(&path(resolved, "resolve"), json!({"resolution": "監視の誤検知"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        api.post(&path(held, "hold"), json!({"reason": "利用者の返信待ち"}))
            .await
            .0,
        200
    );

    at(&app, t0, 60);
    assert_eq!(run_job(&app).await.escalations, 0);
    // Resumed at 60 (and a few milliseconds: the clock runs on): five minutes ran before the
    // hold, so ten more to go.
    assert_eq!(api.post(&path(held, "resume"), json!({})).await.0, 200);
    at(&app, t0, 69);
    assert_eq!(run_job(&app).await.escalations, 0);
    at(&app, t0, 71);
    assert_eq!(run_job(&app).await.escalations, 1);
    for (id, expected) in [(answered, 0), (resolved, 0), (held, 1)] {
        let kinds = timeline_kinds(&api, id).await;
        assert_eq!(kinds.iter().filter(|k| *k == "escalated").count(), expected, "{id}");
    }
    assert!(notes(&app, manager).await.is_empty(), "nothing at the desk");

    // The P2 policy is switched off: a new incident has no clocks and never escalates.
    let uncovered = incident(&api, "VPN 遅延", "medium", desk, "2026-11-23T01:11:00Z").await["id"]
        .as_i64()
        .unwrap();
    let (status, _) = admin.patch("/api/v1/sla-policies/2", json!({"active": false})).await;
    assert_eq!(status, 200);
    at(&app, t0, 300);
    assert_eq!(run_job(&app).await, Default::default());
    assert!(!timeline_kinds(&api, uncovered).await.contains(&"escalated".to_string()));
    let stored = app
        .with_db(move |conn| mamori::sla::queries::stored(conn, uncovered).unwrap())
        .await;
    assert!(stored.is_none());
}

/// Delays count business minutes of the incident's SLA calendar: a P3 (office hours, Japanese
/// holidays) filed Friday 17:50 JST with a 15-minute level escalates on Monday at 09:05. The
/// level is added after the incident was filed: it applies to the open incidents at once.
async fn delays_count_business_minutes_on_the_sla_calendar(app: TestApp) {
    let desk = team(&app, "L1 デスク").await;
    member(&app, "sato@example.jp", "manager", desk).await;
    let admin = Api::new(&app, Role::Admin).await;
    let api = Api::new(&app, Role::Engineer).await;
    app.state.clock.set(utc("2026-11-27T08:51:00Z").naive_utc());
    let (status, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "経費精算の承認が止まる", "impact": "medium", "urgency": "medium",
                   "team_id": desk, "reported_at": "2026-11-27T08:50:00Z"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["priority"], "P3");
    let id = created["id"].as_i64().unwrap();
    let (status, _) = admin
        .post(
            &format!("/api/v1/teams/{desk}/escalation-rules"),
            json!({"kind": "unacknowledged", "delay_minutes": 15, "notify": "managers", "to_level": 2}),
        )
        .await;
    assert_eq!(status, 201);
    // Friday 19:00 JST: 70 wall minutes, 10 business minutes.
    app.state.clock.set(utc("2026-11-27T10:00:00Z").naive_utc());
    assert_eq!(run_job(&app).await, Default::default());
    // Monday 09:04 JST: 14 business minutes.
    app.state.clock.set(utc("2026-11-30T00:04:00Z").naive_utc());
    assert_eq!(run_job(&app).await, Default::default());
    app.state.clock.set(utc("2026-11-30T00:05:00Z").naive_utc());
    assert_eq!(run_job(&app).await.escalations, 1);
    let (_, raised) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        (&raised["escalation_level"], &raised["team_id"]),
        (&json!(2), &json!(desk))
    );
    assert_eq!(escalations(&raised)[0]["data"]["kind"], "hierarchical");
}

/// The API refuses bad levels with 422 naming the field, stores nothing, and is for admins.
async fn escalation_levels_refuse_bad_input(app: TestApp) {
    let desk = team(&app, "L1 デスク").await;
    let network = team(&app, "L2-Network").await;
    let admin = Api::new(&app, Role::Admin).await;
    let engineer = Api::new(&app, Role::Engineer).await;
    let rules = format!("/api/v1/teams/{desk}/escalation-rules");
    let delay = |extra: Value| {
        let mut body = json!({"kind": "unresolved", "delay_minutes": 60, "notify": "team"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (json!({"kind": "unacknowledged", "notify": "team"}), "delay_minutes"),
        (delay(json!({"delay_minutes": 0})), "delay_minutes"),
        (delay(json!({"delay_minutes": 600_000})), "delay_minutes"),
        (
            json!({"kind": "warning", "clock": "response", "delay_minutes": 10, "notify": "team"}),
            "delay_minutes",
        ),
        (delay(json!({"clock": "response"})), "clock"),
        (delay(json!({"kind": "soon"})), "kind"),
        (delay(json!({"notify": "everyone"})), "notify"),
        (delay(json!({"to_level": 7})), "to_level"),
        (delay(json!({"escalate_to_team_id": desk})), "escalate_to_team_id"),
        (delay(json!({"escalate_to_team_id": 999_999})), "escalate_to_team_id"),
        (delay(json!({"position": 0})), "position"),
    ];
    for (body, field) in cases {
        let (status, e) = admin.post(&rules, body.clone()).await;
        assert_eq!(status, 422, "{body}: {e}");
        assert!(e["error"]["fields"][field].is_string(), "{body}: {e}");
    }
    let (_, listed) = admin.get(&rules).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "nothing stored");
    assert_eq!(engineer.post(&rules, delay(json!({}))).await.0, 403);
    assert_eq!(
        admin
            .post("/api/v1/teams/999999/escalation-rules", delay(json!({})))
            .await
            .0,
        404
    );
    let (status, rule) = admin
        .post(&rules, delay(json!({"escalate_to_team_id": network, "position": 5})))
        .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!((&rule["clock"], &rule["position"]), (&json!("resolution"), &json!(5)));
    let path = format!("/api/v1/escalation-rules/{}", rule["id"]);
    assert_eq!(admin.send(reqwest::Method::DELETE, &path, None).await.0, 204);
    assert_eq!(admin.send(reqwest::Method::DELETE, &path, None).await.0, 404);
}

/// The admin page, linked from the teams page: levels in order, a bad level shows its field and
/// stores nothing, a form without the CSRF token is refused, a level is deleted; ja and en.
async fn the_admin_page_adds_and_deletes_levels(app: TestApp) {
    let desk = team(&app, "L1 デスク").await;
    let network = team(&app, "L2-Network").await;
    let (client, _) = app.login_as(Role::Admin).await;
    let page_path = format!("/admin/teams/{desk}/escalation");
    let teams = app.get(&client, "/admin/teams").await.text().await.unwrap();
    assert!(teams.contains(&page_path), "linked from the teams page");
    let page = app.get(&client, &page_path).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Escalation policy: L1 デスク"));
    let stored = || app.with_db(move |conn| mamori::sla::service::escalation_rules(conn, desk).unwrap());

    let network_id = network.to_string();
    for (fields, field) in [
        (
            vec![("trigger", "unacknowledged"), ("delay_minutes", ""), ("notify", "team")],
            "delay_minutes",
        ),
        (
            vec![
                ("trigger", "unacknowledged"),
                ("delay_minutes", "15分"),
                ("notify", "team"),
            ],
            "delay_minutes",
        ),
        (
            vec![("trigger", "whenever"), ("delay_minutes", "15"), ("notify", "team")],
            "trigger",
        ),
        (
            vec![
                ("trigger", "resolution_breach"),
                ("delay_minutes", "15"),
                ("notify", "team"),
            ],
            "delay_minutes",
        ),
    ] {
        let refused = app.post_form(&client, &page_path, &fields).await;
        assert_eq!(refused.status(), 422, "{fields:?}");
        let body = refused.text().await.unwrap();
        assert!(body.contains(&format!("id=\"error-{field}\"")), "{fields:?}");
    }
    let no_token = client
        .post(app.url(&page_path))
        .form(&[("trigger", "unresolved"), ("delay_minutes", "60"), ("notify", "team")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    assert!(stored().await.is_empty(), "nothing stored");

    let saved = app
        .post_form(
            &client,
            &page_path,
            &[
                ("trigger", "unacknowledged"),
                ("delay_minutes", "15"),
                ("notify", "team"),
                ("escalate_to_team_id", &network_id),
                ("to_level", "2"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.headers()["location"], page_path.as_str());
    let saved = app
        .post_form(
            &client,
            &page_path,
            &[
                ("trigger", "resolution_warning"),
                ("notify", "managers"),
                ("position", "5"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let levels = stored().await;
    let summary: Vec<_> = levels
        .iter()
        .map(|r| {
            (
                r.clock.as_str(),
                r.kind.as_str(),
                r.delay_minutes,
                r.escalate_to_team_id,
                r.to_level,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("resolution", "warning", None, None, None),
            ("response", "unacknowledged", Some(15), Some(network), Some(2)),
        ],
        "in order"
    );
    let page = app.get(&client, &page_path).await.text().await.unwrap();
    assert!(page.contains("L2-Network") && page.contains("after 15 business minutes"));

    let switched = app
        .post_form(&client, "/locale", &[("lang", "ja"), ("next", &page_path)])
        .await;
    assert_eq!(switched.status(), 303);
    let page = app.get(&client, &page_path).await.text().await.unwrap();
    assert!(page.contains("エスカレーションポリシー") && page.contains("受付から 15 営業分"));

    let deleted = app
        .post_form(
            &client,
            &format!("/admin/escalation-rules/{}/delete", levels[0].id),
            &[],
        )
        .await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(deleted.headers()["location"], page_path.as_str());
    let left = stored().await;
    assert_eq!((left.len(), left[0].kind.as_str()), (1, "unacknowledged"));
    let actions = app
        .with_db(|conn| {
            let filter = mamori::audit::model::AuditFilter {
                entity_type: Some("escalation_rule".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 10).unwrap().0
        })
        .await;
    let mut names: Vec<&str> = actions.iter().map(|e| e.action.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "escalation_rule.create",
            "escalation_rule.create",
            "escalation_rule.delete"
        ]
    );
}

on_both!(
    delay_levels_hand_on_raise_and_notify_once,
    answered_held_resolved_or_uncovered_incidents_do_not_escalate,
    delays_count_business_minutes_on_the_sla_calendar,
    escalation_levels_refuse_bad_input,
    the_admin_page_adds_and_deletes_levels
);
