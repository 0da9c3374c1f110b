//! SLA clocks through the real app: business calendars with lunch, weekends and Japanese
//! holidays; pauses on hold; a policy change recomputing from the same history; calendars and
//! policies with their bad input.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::on_both;
pub(crate) use crate::support::api::Api;
use crate::support::TestApp;
use mamori::auth::permissions::Role;

fn instant(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

pub(crate) fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// P3 uses the shipped office calendar (Mon–Fri 09:00–12:00 and 13:00–18:00, Japanese
/// holidays): filed on Friday 2026-11-20 16:50 JST, the Monday after is 勤労感謝の日.
async fn due_times_follow_the_business_calendar(app: TestApp) {
    app.state.clock.set(utc("2026-11-20T08:00:00Z").naive_utc());
    let api = Api::new(&app, Role::Engineer).await;
    let (status, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "帳票出力が遅い", "impact": "medium", "urgency": "medium",
                   "reported_at": "2026-11-20T07:50:00Z"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["priority"], "P3");
    let sla = &created["sla"];
    assert_eq!(sla["policy"]["name"], "P3 normal");
    // Response (120 min): 70 min on Friday, Monday is a holiday, 50 min on Tuesday → 09:50 JST.
    assert_eq!(instant(&sla["response_due_at"]), utc("2026-11-24T00:50:00Z"));
    // Resolution (1,440 min = three 8-hour days): Friday 70, Tuesday 480, Wednesday 480, then
    // 410 on Thursday: 09:00–12:00 and 13:00–16:50 JST.
    assert_eq!(instant(&sla["resolution_due_at"]), utc("2026-11-26T07:50:00Z"));
    assert_eq!(sla["paused"], false);
    assert_eq!(sla["response_breached"], false);

    // The list shows the time to breach in business time: 60 minutes left on Friday (it is
    // 17:00 JST) and 50 on Tuesday.
    let (_, list) = api.get("/api/v1/incidents?view=all").await;
    let brief = &list["items"][0]["sla"];
    assert_eq!(
        (brief["clock"].as_str(), brief["level"].as_str()),
        (Some("response"), Some("ok"))
    );
    let left = brief["remaining_minutes"].as_i64().unwrap();
    assert!((109..=110).contains(&left), "{brief}");
    let (client, _) = app.login_as(Role::Engineer).await;
    let page = app.get(&client, "/incidents?view=all").await.text().await.unwrap();
    assert!(
        page.contains("sla-badge-ok") && (page.contains("1h 49m") || page.contains("1h 50m")),
        "time to breach on the list page"
    );

    // Tuesday 10:00 JST: the response is 10 business minutes late.
    app.state.clock.set(utc("2026-11-24T01:00:00Z").naive_utc());
    let id = created["id"].as_i64().unwrap();
    let (status, acked) = api
        .post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(acked["sla"]["response_breached"], true);
    assert_eq!(acked["sla"]["response_elapsed_minutes"], 130);
    assert_eq!(acked["sla"]["level"], "breached");
    let (_, live) = api.get(&format!("/api/v1/incidents/{id}")).await;
    let explain = &live["sla"]["explain"];
    assert_eq!(explain["calendar"]["japanese_holidays"], true);
    assert_eq!(explain["response"]["stretches"][0]["business_minutes"], 130);
}

/// P1 on the 24×7 calendar: on hold pauses the resolution clock; resuming continues it; a
/// policy change recomputes from the same history and keeps the pause; switching the policy
/// off removes the clocks at once.
async fn pauses_and_policy_changes_keep_the_history(app: TestApp) {
    let t0 = utc("2026-11-23T00:00:00Z");
    app.state.clock.set((t0 + Duration::minutes(1)).naive_utc());
    let api = Api::new(&app, Role::Engineer).await;
    let admin = Api::new(&app, Role::Admin).await;
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "基幹DB停止", "impact": "high", "urgency": "high", "reported_at": "2026-11-23T00:00:00Z"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = |action: &str| format!("/api/v1/incidents/{id}/{action}");
    assert_eq!(instant(&created["sla"]["response_due_at"]), t0 + Duration::minutes(15));
    assert_eq!(
        instant(&created["sla"]["resolution_due_at"]),
        t0 + Duration::minutes(240)
    );

    app.state.clock.advance(Duration::minutes(4));
    assert_eq!(api.post(&path("acknowledge"), json!({})).await.0, 200);
    app.state.clock.advance(Duration::minutes(60));
    let (status, held) = api.post(&path("hold"), json!({"reason": "ベンダー回答待ち"})).await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["sla"]["paused"], true);
    assert!(held["sla"]["resolution_due_at"].is_null());
    assert_eq!(held["sla"]["level"], "paused");

    app.state.clock.advance(Duration::hours(3));
    let (_, during) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(during["sla"]["business_minutes_elapsed"], 65);
    let (status, resumed) = api.post(&path("resume"), json!({})).await;
    assert_eq!(status, 200, "{resumed}");
    // 65 minutes ran before the hold; 175 remain from the resume: due ≈ t0 + 7h.
    let due = instant(&resumed["sla"]["resolution_due_at"]);
    assert!((due - (t0 + Duration::hours(7))).num_seconds().abs() < 5, "{due}");
    let (_, live) = api.get(&format!("/api/v1/incidents/{id}")).await;
    let states: Vec<&str> = live["sla"]["explain"]["resolution"]["stretches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["running", "paused", "running"]);

    // The P1 policy's target doubles: same history, same pause, due 4h later.
    let (status, policy) = admin
        .patch("/api/v1/sla-policies/1", json!({"resolution_minutes": 480}))
        .await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["resolution_minutes"], 480);
    assert_eq!(policy["priorities"], "P1");
    let (_, after) = api.get(&format!("/api/v1/incidents/{id}")).await;
    let due = instant(&after["sla"]["resolution_due_at"]);
    assert!((due - (t0 + Duration::hours(11))).num_seconds().abs() < 5, "{due}");
    assert_eq!(after["sla"]["business_minutes_elapsed"], 65);

    // Switched off: no policy covers P1 any more, so the clocks go, stored figures included.
    let (status, _) = admin.patch("/api/v1/sla-policies/1", json!({"active": false})).await;
    assert_eq!(status, 200);
    let (_, off) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert!(off["sla"].is_null(), "{}", off["sla"]);
    let stored = app
        .with_db(move |conn| mamori::sla::queries::stored(conn, id).unwrap())
        .await;
    assert!(stored.is_none());
}

/// Calendars and policies: bad input is refused with the field named and nothing stored; a
/// calendar in use cannot be deleted; holidays come in from an .ics file.
async fn calendars_and_policies_refuse_bad_input(app: TestApp) {
    let admin = Api::new(&app, Role::Admin).await;
    let engineer = Api::new(&app, Role::Engineer).await;
    let week = |monday: Value| json!([monday, [], [], [], [], [], []]);
    let cases = [
        (
            json!({"name": "x", "time_zone": "Asia/Tokyo", "week": week(json!(["09:00-12:00", "11:00-13:00"]))}),
            "week",
        ),
        (
            json!({"name": "x", "time_zone": "Asia/Tokyo", "week": week(json!(["9-17"]))}),
            "week",
        ),
        (
            json!({"name": "x", "time_zone": "Asia/Tokyo", "week": week(json!(["09:00-09:00"]))}),
            "week",
        ),
        (
            json!({"name": "x", "time_zone": "Asia/Tokyo", "week": week(json!([]))}),
            "week",
        ),
        (
            json!({"name": "x", "time_zone": "Mars/Olympus", "week": week(json!(["09:00-17:00"]))}),
            "time_zone",
        ),
        (
            json!({"name": "", "time_zone": "Asia/Tokyo", "week": week(json!(["09:00-17:00"]))}),
            "name",
        ),
        (
            json!({"name": "x", "time_zone": "Asia/Tokyo", "week": week(json!(["09:00-17:00"])),
                "closures": [{"starts_on": "2026-12-31", "ends_on": "2026-12-29", "name": "逆"}]}),
            "closures",
        ),
        (
            json!({"name": "24×7", "time_zone": "Asia/Tokyo", "week": week(json!(["09:00-17:00"]))}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let (status, e) = admin.post("/api/v1/calendars", body.clone()).await;
        assert_eq!(status, 422, "{body}");
        assert!(e["error"]["fields"][field].is_string(), "{body}: {e}");
    }
    let (_, list) = engineer.get("/api/v1/calendars").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "nothing stored");

    let (status, created) = admin
        .post(
            "/api/v1/calendars",
            json!({"name": "London office", "time_zone": "Europe/London",
                   "week": [["09:00-17:00"], ["09:00-17:00"], ["09:00-17:00"], ["09:00-17:00"], ["09:00-17:00"], [], []],
                   "japanese_holidays": false}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let calendar = created["id"].as_i64().unwrap();
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1\r\n\
               DTSTART;VALUE=DATE:20261229\r\nDTEND;VALUE=DATE:20270104\r\nSUMMARY:年末年始休業\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let import = |body: &'static str| {
        admin
            .app
            .api_client()
            .post(admin.app.url(&format!("/api/v1/calendars/{calendar}/import")))
            .bearer_auth(&admin.token)
            .header("Content-Type", "text/calendar")
            .body(body)
            .send()
    };
    let imported = import(ics).await.unwrap();
    assert_eq!(imported.status(), 200);
    let imported: Value = imported.json().await.unwrap();
    assert_eq!(imported["closures"][0]["starts_on"], "2026-12-29");
    assert_eq!(imported["closures"][0]["ends_on"], "2027-01-03");
    let garbage = import("not a calendar").await.unwrap();
    assert_eq!(garbage.status(), 422);
    let (_, unchanged) = admin.get(&format!("/api/v1/calendars/{calendar}")).await;
    assert_eq!(unchanged["closures"].as_array().unwrap().len(), 1);

    // Policies: targets required, known calendar and priorities.
    for (body, field) in [
        (
            json!({"name": "no targets", "priorities": ["P2"], "calendar_id": calendar}),
            "response_minutes",
        ),
        (
            json!({"name": "bad prio", "priorities": ["P9"], "calendar_id": calendar, "response_minutes": 5}),
            "priorities",
        ),
        (
            json!({"name": "no cal", "priorities": ["P2"], "calendar_id": 999, "response_minutes": 5}),
            "calendar_id",
        ),
        (
            json!({"name": "pct", "priorities": ["P2"], "calendar_id": calendar, "response_minutes": 5, "warn_percent": 100}),
            "warn_percent",
        ),
    ] {
        let (status, e) = admin.post("/api/v1/sla-policies", body.clone()).await;
        assert_eq!(status, 422, "{body}");
        assert!(e["error"]["fields"][field].is_string(), "{body}: {e}");
    }
    let (status, policy) = admin
        .post(
            "/api/v1/sla-policies",
            json!({"name": "London P2", "priorities": ["P2"], "calendar_id": calendar, "position": 5,
                   "response_minutes": 60, "resolution_minutes": 960}),
        )
        .await;
    assert_eq!(status, 201, "{policy}");
    assert_eq!(engineer.post("/api/v1/sla-policies", json!({})).await.0, 403);

    // In use: 409 naming the policy; after the policy goes, the calendar can go.
    let (status, e) = admin
        .send(reqwest::Method::DELETE, &format!("/api/v1/calendars/{calendar}"), None)
        .await;
    assert_eq!(status, 409);
    assert!(e["error"]["message"].as_str().unwrap().contains("London P2"), "{e}");
    let policy_path = format!("/api/v1/sla-policies/{}", policy["id"]);
    assert_eq!(admin.send(reqwest::Method::DELETE, &policy_path, None).await.0, 204);
    let (status, _) = admin
        .send(reqwest::Method::DELETE, &format!("/api/v1/calendars/{calendar}"), None)
        .await;
    assert_eq!(status, 204);

    // Every change is audited.
    let actions = app
        .with_db(|conn| {
            let filter = mamori::audit::model::AuditFilter {
                entity_type: Some("calendar".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 20).unwrap().0
        })
        .await;
    let mut names: Vec<&str> = actions.iter().map(|e| e.action.as_str()).collect();
    names.sort();
    assert_eq!(names, ["calendar.create", "calendar.delete", "calendar.import"]);
}

/// Correcting impact/urgency changes the priority and with it the policy: the clocks are
/// recomputed from the same history, keeping the pause; the page shows the panel and the form.
async fn a_priority_change_recomputes_the_clocks(app: TestApp) {
    // Tuesday 2026-11-24 09:00 JST.
    let t0 = utc("2026-11-24T00:00:00Z");
    app.state.clock.set((t0 + Duration::minutes(1)).naive_utc());
    let api = Api::new(&app, Role::Engineer).await;
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "経費精算が開けない", "impact": "medium", "urgency": "medium", "reported_at": "2026-11-24T00:00:00Z"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = |action: &str| format!("/api/v1/incidents/{id}/{action}");
    app.state.clock.advance(Duration::minutes(4));
    api.post(&path("acknowledge"), json!({})).await;
    app.state.clock.advance(Duration::minutes(55));
    api.post(&path("hold"), json!({"reason": "利用者の返信待ち"})).await;
    app.state.clock.advance(Duration::hours(2));
    let (_, resumed) = api.post(&path("resume"), json!({})).await;
    // P3 on office hours: 60 minutes before the hold; resumed at 12:00 (lunch), so 1,380 left
    // from 13:00 Tuesday → Friday 11:00 JST.
    let due = instant(&resumed["sla"]["resolution_due_at"]);
    assert!((due - utc("2026-11-27T02:00:00Z")).num_seconds().abs() < 5, "{due}");

    let version = resumed["version"].as_i64().unwrap();
    let (status, e) = api
        .patch(
            &format!("/api/v1/incidents/{id}"),
            json!({"version": version, "impact": "huge"}),
        )
        .await;
    assert_eq!((status, e["error"]["fields"]["impact"].is_string()), (422, true));
    let (status, _) = api
        .patch(
            &format!("/api/v1/incidents/{id}"),
            json!({"version": version - 1, "impact": "high"}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, p2) = api
        .patch(
            &format!("/api/v1/incidents/{id}"),
            json!({"version": version, "impact": "high"}),
        )
        .await;
    assert_eq!(status, 200, "{p2}");
    assert_eq!(p2["priority"], "P2");
    assert_eq!(p2["sla"]["policy"]["name"], "P2 high");
    assert_eq!(p2["sla"]["business_minutes_elapsed"], 60);
    // P2 is 24×7 with 480 minutes: 420 left from the resume at t0 + 3h.
    let due = instant(&p2["sla"]["resolution_due_at"]);
    assert!((due - (t0 + Duration::hours(10))).num_seconds().abs() < 5, "{due}");
    let last = p2["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["data"]["to"].as_str()),
        (Some("priority_changed"), Some("P2"))
    );

    // The page: the SLA panel with its explanation, and the correction form.
    let (client, _) = app.login_as(Role::Engineer).await;
    let page = app
        .get(&client, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("sla-panel") && page.contains("P2 high") && page.contains("sla-explain"));
    let version = p2["version"].as_i64().unwrap().to_string();
    let posted = app
        .post_form(
            &client,
            &format!("/incidents/{id}/edit"),
            &[
                ("version", &version),
                ("impact", "high"),
                ("urgency", "high"),
                ("title", "経費精算が開けない"),
            ],
        )
        .await;
    assert_eq!(posted.status(), 303);
    let (_, p1) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        (p1["priority"].as_str(), p1["major"].as_bool()),
        (Some("P1"), Some(true))
    );
    let bad = app
        .post_form(
            &client,
            &format!("/incidents/{id}/edit"),
            &[("version", "1"), ("title", "")],
        )
        .await;
    assert_eq!(bad.status(), 422);
}

pub(crate) async fn team(app: &TestApp, name: &str) -> i64 {
    let input = mamori::teams::model::TeamInput {
        name: name.into(),
        description: String::new(),
    };
    app.with_db(move |conn| {
        mamori::teams::service::create(
            conn,
            &mamori::audit::model::Actor::system("test"),
            mamori::db::now(),
            &input,
        )
        .unwrap()
        .id
    })
    .await
}

pub(crate) async fn member(app: &TestApp, email: &str, role: &str, team: i64) -> i64 {
    let input = mamori::users::model::UserInput {
        email: email.into(),
        display_name: email.into(),
        role: role.into(),
        locale: "ja".into(),
        time_zone: "Asia/Tokyo".into(),
        password: crate::support::PASSWORD.into(),
        team_ids: vec![team],
    };
    app.with_db(move |conn| {
        mamori::users::service::create(
            conn,
            &mamori::audit::model::Actor::system("test"),
            mamori::db::now(),
            &input,
        )
        .unwrap()
        .id
    })
    .await
}

pub(crate) async fn run_job(app: &TestApp) -> mamori::sla::job::Run {
    let now = app.state.clock.now();
    app.with_db(move |conn| mamori::sla::job::run_once(conn, now).unwrap())
        .await
}

pub(crate) async fn timeline_kinds(api: &Api<'_>, id: i64) -> Vec<String> {
    let (_, incident) = api.get(&format!("/api/v1/incidents/{id}")).await;
    incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The job: a warning at 75% to the assignee, a breach to the team's managers with a
/// functional escalation by the team's rule, each once, even with two workers at the same
/// moment; a switched-off policy stops alerting at once.
async fn warnings_and_breaches_fire_once_and_escalate(app: TestApp) {
    let desk = team(&app, "L1 デスク").await;
    let dba = team(&app, "L2 DB").await;
    let assignee = member(&app, "tanaka@example.jp", "engineer", desk).await;
    let manager = member(&app, "sato@example.jp", "manager", desk).await;
    let admin = Api::new(&app, Role::Admin).await;
    let api = Api::new(&app, Role::Engineer).await;
    let (status, rule) = admin
        .post(
            &format!("/api/v1/teams/{desk}/escalation-rules"),
            json!({"clock": "response", "kind": "breach", "notify": "managers", "escalate_to_team_id": dba}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let (status, e) = admin
        .post(
            &format!("/api/v1/teams/{desk}/escalation-rules"),
            json!({"clock": "later", "kind": "breach", "notify": "everyone"}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["clock"].is_string() && e["error"]["fields"]["notify"].is_string());

    let t0 = utc("2026-11-23T00:00:00Z");
    app.state.clock.set((t0 + Duration::minutes(1)).naive_utc());
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "決済APIタイムアウト", "impact": "high", "urgency": "high", "team_id": desk,
                   "assignee_id": assignee, "reported_at": "2026-11-23T00:00:00Z"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(run_job(&app).await, Default::default(), "nothing is due yet");

    // 12 minutes: past 75% of the 15-minute response target.
    app.state.clock.set((t0 + Duration::minutes(12)).naive_utc());
    let run = run_job(&app).await;
    assert_eq!((run.warnings, run.breaches), (1, 0));
    assert_eq!(run_job(&app).await, Default::default(), "a warning fires once");
    let notes = |user: i64| {
        let app = &app;
        async move {
            app.with_db(move |conn| mamori::notifications::of_user(conn, user, false, None).unwrap())
                .await
        }
    };
    assert_eq!(notes(assignee).await[0].kind, "sla_response_warning");
    assert!(notes(manager).await.is_empty());

    // 16 minutes: breached; the desk's rule tells its managers and hands the ticket to L2 DB.
    app.state.clock.set((t0 + Duration::minutes(16)).naive_utc());
    let run = run_job(&app).await;
    assert_eq!((run.warnings, run.breaches), (0, 1));
    let (_, escalated) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(escalated["team_id"], dba);
    assert_eq!(escalated["escalation_level"], 2);
    let kinds = timeline_kinds(&api, id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "sla_warning").count(), 1);
    assert_eq!(kinds.iter().filter(|k| *k == "sla_breach").count(), 1);
    assert!(kinds.contains(&"escalated".to_string()));
    let manager_notes = notes(manager).await;
    assert_eq!(manager_notes.len(), 1);
    assert_eq!(manager_notes[0].kind, "sla_response_breach");
    assert_eq!(manager_notes[0].ticket_number.as_deref(), created["number"].as_str());

    // Acknowledge, then 3h01m: the resolution warning (75% of 240) — two workers at once.
    api.post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({}))
        .await;
    app.state.clock.set((t0 + Duration::minutes(181)).naive_utc());
    let (a, b) = tokio::join!(run_job(&app), run_job(&app));
    assert_eq!(a.warnings + b.warnings, 1, "{a:?} {b:?}");
    let kinds = timeline_kinds(&api, id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "sla_warning").count(), 2);

    // The P1 policy is switched off: past the resolution due time nothing fires.
    let (status, _) = admin.patch("/api/v1/sla-policies/1", json!({"active": false})).await;
    assert_eq!(status, 200);
    app.state.clock.set((t0 + Duration::hours(5)).naive_utc());
    assert_eq!(run_job(&app).await, Default::default());
    assert_eq!(
        timeline_kinds(&api, id)
            .await
            .iter()
            .filter(|k| *k == "sla_breach")
            .count(),
        1
    );

    // Notifications through the API: one's own only.
    let (status, list) = api.get("/api/v1/notifications").await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 0));
    let note = manager_notes[0].id;
    let (status, _) = api.post(&format!("/api/v1/notifications/{note}/read"), json!({})).await;
    assert_eq!(status, 404, "someone else's notification");
    let read = app
        .with_db(move |conn| {
            mamori::notifications::mark_read(
                conn,
                &mamori::audit::model::Actor::user(manager, "sato@example.jp", None),
                manager,
                note,
                mamori::db::now(),
            )
            .is_ok()
        })
        .await;
    assert!(read);
    let audited = app
        .with_db(|conn| {
            let filter = mamori::audit::model::AuditFilter {
                action: Some("notification.read".into()),
                ..Default::default()
            };
            mamori::audit::service::browse(conn, &filter, 5).unwrap().0
        })
        .await;
    assert_eq!(audited.len(), 1, "marking read is audited");
    assert!(notes(manager)
        .await
        .iter()
        .find(|n| n.id == note)
        .unwrap()
        .read_at
        .is_some());
}

/// The admin pages: calendars with a month view, .ics import, policies; bad input shows the
/// field and stores nothing; a calendar in use is not deleted.
async fn admin_pages_manage_calendars_and_policies(app: TestApp) {
    let (client, _) = app.login_as(Role::Admin).await;
    let list = app.get(&client, "/admin/calendars").await.text().await.unwrap();
    assert!(list.contains("24×7"));
    let office = [
        ("name", "大阪オフィス"),
        ("time_zone", "Asia/Tokyo"),
        ("japanese_holidays", "on"),
        ("mon", "09:00-12:00, 13:00-17:30"),
        ("tue", "09:00-12:00, 13:00-17:30"),
        ("wed", "09:00-12:00, 13:00-17:30"),
        ("thu", "09:00-12:00, 13:00-17:30"),
        ("fri", "09:00-12:00, 13:00-17:30"),
        ("closures", "2026-12-29..2027-01-03 年末年始"),
    ];
    let mut overlapping = office.to_vec();
    overlapping[3] = ("mon", "09:00-12:00, 11:00-13:00");
    let refused = app.post_form(&client, "/admin/calendars", &overlapping).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("field-error"));
    let created = app.post_form(&client, "/admin/calendars", &office).await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();

    let november = app
        .get(&client, &format!("/admin/calendars/{id}?month=2026-11"))
        .await
        .text()
        .await
        .unwrap();
    assert!(november.contains("month-grid") && november.contains("勤労感謝の日"));
    assert!(november.contains("09:00-12:00 13:00-17:30"));
    let december = app
        .get(&client, &format!("/admin/calendars/{id}?month=2026-12"))
        .await
        .text()
        .await
        .unwrap();
    assert!(december.contains("年末年始"));

    // .ics import through the page's multipart form.
    let csrf = app.csrf_token(&client).await;
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:9\r\nDTSTART;VALUE=DATE:20260814\r\nSUMMARY:創立記念日\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(ics.as_bytes().to_vec()).file_name("holidays.ics"),
    );
    let imported = client
        .post(app.url(&format!("/admin/calendars/{id}/import?csrf_token={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 303);
    let august = app
        .get(&client, &format!("/admin/calendars/{id}?month=2026-08"))
        .await
        .text()
        .await
        .unwrap();
    assert!(august.contains("創立記念日"));

    // Policies: bad input, then a good one on the new calendar.
    let id_text = id.to_string();
    let refused = app
        .post_form(
            &client,
            "/admin/sla-policies",
            &[("name", "大阪 P3"), ("priorities", "P3"), ("calendar_id", &id_text)],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let saved = app
        .post_form(
            &client,
            "/admin/sla-policies",
            &[
                ("name", "大阪 P3"),
                ("priorities", "P3"),
                ("priorities", "P4"),
                ("calendar_id", &id_text),
                ("response_minutes", "60"),
                ("warn_percent", "80"),
                ("position", "1"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let policies = app.get(&client, "/admin/sla-policies").await.text().await.unwrap();
    assert!(policies.contains("大阪 P3"));
    let stored = app.with_db(|conn| mamori::sla::queries::policies(conn).unwrap()).await;
    let osaka = stored.iter().find(|p| p.name == "大阪 P3").unwrap();
    assert_eq!(
        (osaka.priorities.as_str(), osaka.warn_percent, osaka.position),
        ("P3,P4", 80, 1)
    );

    // In use: the delete is refused and the calendar stays.
    let refused = app
        .post_form(&client, &format!("/admin/calendars/{id}/delete"), &[])
        .await;
    assert_eq!(refused.status(), 303);
    assert_eq!(app.get(&client, &format!("/admin/calendars/{id}")).await.status(), 200);
}

/// A policy change over more open tickets than one request should recompute queues them; the
/// job recomputes them in batches, each once, and the change's own request stays short.
async fn a_policy_change_over_many_tickets_is_recomputed_by_the_job(app: TestApp) {
    let admin = Api::new(&app, Role::Admin).await;
    let now = app.state.clock.now();
    // Seeded incidents: about 30% open, half of them P4 (policy 4): over 500 open on it.
    let open_on_p4 = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use mamori::db::schema::{ticket_sla, tickets};
            let reporter = mamori::users::queries::list(conn, &Default::default(), 1).unwrap()[0].id;
            mamori::incidents::queries::bulk_seed(conn, 4000, reporter, now).unwrap();
            ticket_sla::table
                .inner_join(tickets::table)
                .filter(ticket_sla::policy_id.eq(4))
                .filter(tickets::status.ne("closed"))
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
        .await;
    assert!(open_on_p4 > 500, "{open_on_p4}");
    app.state.clock.advance(chrono::Duration::minutes(1));
    let (status, body) = admin
        .patch("/api/v1/sla-policies/4", json!({"resolution_minutes": 600}))
        .await;
    assert_eq!(status, 200, "{body}");
    let queued = || {
        app.with_db(|conn| {
            use diesel::prelude::*;
            mamori::db::schema::sla_recompute_queue::table
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
    };
    assert_eq!(queued().await, open_on_p4, "queued, not recomputed in the request");
    let changed_at = app.state.clock.now() - chrono::Duration::milliseconds(1);
    let mut recomputed = 0;
    loop {
        let run = run_job(&app).await;
        if run.recomputed == 0 {
            break;
        }
        assert!(run.recomputed <= 500, "bounded batches");
        recomputed += run.recomputed;
    }
    assert_eq!((recomputed as i64, queued().await), (open_on_p4, 0));
    // Every one was recomputed by the job (the seed wrote its figures with earlier times).
    let stale = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use mamori::db::schema::{ticket_sla, tickets};
            ticket_sla::table
                .inner_join(tickets::table)
                .filter(ticket_sla::policy_id.eq(4))
                .filter(tickets::status.ne("closed"))
                .filter(ticket_sla::computed_at.lt(changed_at))
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(stale, 0);
}

/// The SLA settings are kept per process by a token that database triggers change: a change
/// made behind this server's back (another server, a manual fix in SQL) is seen on the next
/// request, for every table the clocks are computed from.
async fn settings_changed_anywhere_are_seen_at_once(app: TestApp) {
    use diesel::RunQueryDsl;
    let t0 = utc("2026-11-23T00:00:00Z");
    app.state.clock.set((t0 + Duration::minutes(1)).naive_utc());
    let api = Api::new(&app, Role::Engineer).await;
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "基幹DB停止", "impact": "high", "urgency": "high", "reported_at": "2026-11-23T00:00:00Z"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let (_, read) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(instant(&read["sla"]["resolution_due_at"]), t0 + Duration::minutes(240));
    // The create answer is built from what was written, without reading it back: it must say
    // what a read says.
    for field in [
        "number",
        "status",
        "priority",
        "title",
        "version",
        "created_at",
        "updated_at",
    ] {
        assert_eq!(created[field], read[field], "{field}");
    }
    assert_eq!(created["incident"], read["incident"]);
    assert_eq!(created["sla"]["figures"], read["sla"]["figures"]);
    assert_eq!(created["sla"]["policy"], read["sla"]["policy"]);

    let sql = |statement: String| {
        app.with_db(move |conn| {
            diesel::sql_query(&statement).execute(conn).unwrap();
            mamori::sla::settings::current(conn).unwrap()
        })
    };
    let settings = sql("UPDATE sla_policies SET resolution_minutes = 480 WHERE id = 1".into()).await;
    assert_eq!(settings.policy(1).unwrap().resolution_minutes, Some(480));
    let (_, read) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(instant(&read["sla"]["resolution_due_at"]), t0 + Duration::minutes(480));

    let calendar = settings.policy(1).unwrap().calendar_id;
    let settings = sql(format!(
        "UPDATE calendars SET name = 'renamed elsewhere' WHERE id = {calendar}"
    ))
    .await;
    assert_eq!(settings.calendar(calendar).unwrap().name, "renamed elsewhere");
    let settings = sql(format!(
        "INSERT INTO calendar_closures (calendar_id, starts_on, ends_on, name) \
             VALUES ({calendar}, '2026-11-23', '2026-11-23', 'closed elsewhere')"
    ))
    .await;
    assert_eq!(settings.closures(calendar).len(), 1);
    // The 24×7 calendar is closed all of that Tokyo day now: the clock starts at its end.
    let (_, read) = api.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        instant(&read["sla"]["resolution_due_at"]),
        utc("2026-11-23T15:00:00Z") + Duration::minutes(480)
    );
    let settings = sql("DELETE FROM calendar_closures".into()).await;
    assert!(settings.closures(calendar).is_empty());

    let desk = team(&app, "L1 デスク").await;
    let settings = sql(format!(
        "INSERT INTO escalation_rules (team_id, position, clock, kind, delay_minutes, notify, created_at) \
             VALUES ({desk}, 1, 'response', 'unacknowledged', 15, 'team', '2026-11-23 00:00:00')"
    ))
    .await;
    assert_eq!(settings.delay_rules(desk).count(), 1);
    let settings = sql("DELETE FROM escalation_rules".into()).await;
    assert_eq!(settings.delay_rules(desk).count(), 0);
    let settings = sql(
        "INSERT INTO sla_policies (name, position, active, kind, priorities, response_minutes, \
         calendar_id, warn_percent, mitigation_stops_resolution, created_at, updated_at) \
         SELECT 'added elsewhere', 1, active, kind, 'P4', 30, calendar_id, 80, mitigation_stops_resolution, \
         created_at, updated_at FROM sla_policies WHERE id = 1"
            .into(),
    )
    .await;
    let first = settings.policy_for("incident", "P4", "", None).map(|p| p.name.clone());
    assert_eq!(first.as_deref(), Some("added elsewhere"));
}

/// A restored incident comes back with its clocks recomputed in the restoring transaction:
/// a policy change made while it was deleted passed it by (and dropped its stored figures),
/// and its hour of the SLA report is marked for rolling up again.
async fn a_restored_incident_gets_its_clocks_recomputed(app: TestApp) {
    let t0 = utc("2026-11-23T00:00:00Z");
    app.state.clock.set((t0 + Duration::minutes(1)).naive_utc());
    let api = Api::new(&app, Role::Engineer).await;
    let admin = Api::new(&app, Role::Admin).await;
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "誤削除されたP1", "impact": "high", "urgency": "high", "reported_at": "2026-11-23T00:00:00Z"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        instant(&created["sla"]["resolution_due_at"]),
        t0 + Duration::minutes(240)
    );
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/tickets/{id}"),
            Some(json!({"reason": "誤操作"})),
        )
        .await;
    assert_eq!(status, 204);
    app.state.clock.advance(Duration::minutes(10));
    let (status, _) = admin
        .patch("/api/v1/sla-policies/1", json!({"resolution_minutes": 480}))
        .await;
    assert_eq!(status, 200);

    app.with_db(|conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query("DELETE FROM sla_rollup_dirty").execute(conn).unwrap();
    })
    .await;
    app.state.clock.advance(Duration::minutes(10));
    let restored_at = app.state.clock.now(); // the clock runs on from here
    let (status, _) = admin
        .send(reqwest::Method::POST, &format!("/api/v1/tickets/{id}/restore"), None)
        .await;
    assert_eq!(status, 204);

    let (stored, dirty) = app
        .with_db(move |conn| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let stored = mamori::sla::queries::stored(conn, id).unwrap();
            let dirty = diesel::sql_query("SELECT COUNT(*) AS n FROM sla_rollup_dirty")
                .get_result::<Count>(conn)
                .unwrap()
                .n;
            (stored, dirty)
        })
        .await;
    let stored = stored.expect("stored clocks after the restore");
    assert!(stored.computed_at >= restored_at, "computed by the restore");
    assert_eq!(
        stored.resolution_due_at.map(|t| t.and_utc()),
        Some(t0 + Duration::minutes(480)),
        "the policy of today"
    );
    assert_eq!(dirty, 1, "the incident's hour is rolled up again");
}

/// One ticket whose alert cannot be written (a trigger refuses it here, as a bug or bad data
/// would) is logged and counted, and the job goes on to the others; it is tried again on the
/// next run while the others are not fired twice.
async fn one_failing_ticket_does_not_stop_the_job(app: TestApp) {
    use diesel::RunQueryDsl;
    let t0 = utc("2026-11-23T00:00:00Z");
    app.state.clock.set(t0.naive_utc());
    let api = Api::new(&app, Role::Engineer).await;
    let mut ids = Vec::new();
    for title in ["基幹DB停止", "決済API停止"] {
        let (status, body) = api
            .post(
                "/api/v1/incidents",
                json!({"title": title, "impact": "high", "urgency": "high", "reported_at": "2026-11-23T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_i64().unwrap());
    }
    let (bad, good) = (ids[0], ids[1]);
    app.with_db(move |conn| {
        let statements = match conn {
            mamori::db::DbConnection::Sqlite(_) => vec![format!(
                "CREATE TRIGGER poison BEFORE INSERT ON sla_alerts WHEN NEW.ticket_id = {bad} \
                 BEGIN SELECT RAISE(ABORT, 'poisoned ticket'); END"
            )],
            mamori::db::DbConnection::Postgres(_) => vec![
                format!(
                    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.ticket_id = {bad} THEN RAISE EXCEPTION 'poisoned ticket'; END IF; RETURN NEW; END $$"
                ),
                "CREATE TRIGGER poison BEFORE INSERT ON sla_alerts FOR EACH ROW EXECUTE FUNCTION poison()".into(),
            ],
        };
        for statement in statements {
            diesel::sql_query(statement).execute(conn).unwrap();
        }
    })
    .await;
    // 20 minutes: both P1 response clocks (15 minutes) are past their warning and breach.
    app.state.clock.advance(Duration::minutes(20));
    let alerts_of = |ticket: i64| {
        app.with_db(move |conn| {
            use diesel::prelude::*;
            use mamori::db::schema::sla_alerts;
            sla_alerts::table
                .filter(sla_alerts::ticket_id.eq(ticket))
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
    };
    let run = run_job(&app).await;
    assert!(run.failed >= 1, "{run:?}");
    assert_eq!((run.warnings, run.breaches), (1, 1), "the other ticket fired: {run:?}");
    assert_eq!(alerts_of(bad).await, 0);
    assert_eq!(alerts_of(good).await, 2);
    let again = run_job(&app).await;
    assert!(again.failed >= 1, "tried again: {again:?}");
    assert_eq!((again.warnings, again.breaches), (0, 0), "nothing fires twice");

    // Queued recomputes: the bad ticket's figures cannot be written; the other's are, and the
    // bad one stays queued.
    app.with_db(move |conn| {
        let statements = match conn {
            mamori::db::DbConnection::Sqlite(_) => vec![format!(
                "CREATE TRIGGER poison_figures BEFORE UPDATE ON ticket_sla WHEN NEW.ticket_id = {bad} \
                 BEGIN SELECT RAISE(ABORT, 'poisoned ticket'); END"
            )],
            mamori::db::DbConnection::Postgres(_) => vec![
                format!(
                    "CREATE FUNCTION poison_figures() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.ticket_id = {bad} THEN RAISE EXCEPTION 'poisoned ticket'; END IF; RETURN NEW; END $$"
                ),
                "CREATE TRIGGER poison_figures BEFORE UPDATE ON ticket_sla FOR EACH ROW EXECUTE FUNCTION poison_figures()"
                    .into(),
            ],
        };
        for statement in statements {
            diesel::sql_query(statement).execute(conn).unwrap();
        }
        diesel::sql_query(format!(
            "INSERT INTO sla_recompute_queue (ticket_id) VALUES ({bad}), ({good})"
        ))
        .execute(conn)
        .unwrap();
    })
    .await;
    let run = run_job(&app).await;
    assert_eq!(run.recomputed, 1, "{run:?}");
    assert!(run.failed >= 2, "the recompute and the alert: {run:?}");
    let queued: Vec<i64> = app
        .with_db(|conn| {
            use diesel::prelude::*;
            mamori::db::schema::sla_recompute_queue::table
                .select(mamori::db::schema::sla_recompute_queue::ticket_id)
                .load(conn)
                .unwrap()
        })
        .await;
    assert_eq!(queued, [bad]);
}

on_both!(
    one_failing_ticket_does_not_stop_the_job,
    settings_changed_anywhere_are_seen_at_once,
    a_restored_incident_gets_its_clocks_recomputed,
    a_policy_change_over_many_tickets_is_recomputed_by_the_job,
    admin_pages_manage_calendars_and_policies,
    warnings_and_breaches_fire_once_and_escalate,
    a_priority_change_recomputes_the_clocks,
    due_times_follow_the_business_calendar,
    pauses_and_policy_changes_keep_the_history,
    calendars_and_policies_refuse_bad_input
);
