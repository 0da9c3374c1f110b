//! The SLA report against figures worked out by hand, its CSV and SVG, backlog ageing and the
//! manager dashboard (API, page and a real browser).

use chrono::{DateTime, Duration, Timelike, Utc};
use fantoccini::Locator;
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::browser::Browser;
use crate::support::TestApp;
use mamori::auth::permissions::Role;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Files an incident at `reported` and walks it: each step is (minutes after the report, action).
async fn incident(
    app: &TestApp,
    api: &Api<'_>,
    reported: &str,
    levels: (&str, &str),
    team: i64,
    steps: &[(i64, &str)],
) -> i64 {
    let t0 = utc(reported);
    app.state.clock.set((t0 + Duration::seconds(1)).naive_utc());
    let (status, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": format!("fixture {reported}"), "impact": levels.0, "urgency": levels.1,
                   "team_id": team, "reported_at": reported}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    for (minutes, action) in steps {
        app.state.clock.set((t0 + Duration::minutes(*minutes)).naive_utc());
        let body = match *action {
            "mitigate" => json!({"workaround": "再起動"}),
            "resolve" => json!({"resolution": "設定修正"}),
            _ => json!({}),
        };
        let (status, answer) = api.post(&format!("/api/v1/incidents/{id}/{action}"), body).await;
        assert_eq!(status, 200, "{action}: {answer}");
    }
    id
}

fn row<'a>(report: &'a Value, key: &str, value: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no row {key}={value} in {report}"))
}

fn close(value: &Value, expected: f64) {
    let got = value.as_f64().unwrap_or_else(|| panic!("not a number: {value}"));
    assert!((got - expected).abs() < 0.02, "{got} != {expected}");
}

/// Five incidents whose figures are worked out by hand (P1/P2 run 24×7, so business minutes
/// equal wall minutes; P4 runs on office hours and is never answered).
async fn the_sla_report_matches_a_hand_computed_fixture(app: TestApp) {
    let engineer = Api::new(&app, Role::Engineer).await;
    let manager = Api::new(&app, Role::Manager).await;
    let team = |name: &'static str| {
        let app = &app;
        async move {
            app.with_db(move |conn| {
                mamori::teams::service::create(
                    conn,
                    &mamori::audit::model::Actor::system("test"),
                    mamori::db::now(),
                    &mamori::teams::model::TeamInput {
                        name: name.into(),
                        description: String::new(),
                    },
                )
                .unwrap()
                .id
            })
            .await
        }
    };
    let (x, y) = (team("基盤").await, team("業務アプリ").await);
    // D (October, P2): answered in 29 min (met), resolved after 500 (target 480: breached).
    incident(
        &app,
        &engineer,
        "2026-10-30T00:00:00Z",
        ("high", "medium"),
        y,
        &[(29, "acknowledge"), (500, "resolve")],
    )
    .await;
    // A (P1): answered in 10, worked around at 120 (a workaround stops P1's clock): met both.
    incident(
        &app,
        &engineer,
        "2026-11-02T00:00:00Z",
        ("high", "high"),
        x,
        &[(10, "acknowledge"), (120, "mitigate")],
    )
    .await;
    // B (P1): answered in 20 (target 15), worked around at 300 (target 240): breached both.
    incident(
        &app,
        &engineer,
        "2026-11-03T00:00:00Z",
        ("high", "high"),
        x,
        &[(20, "acknowledge"), (300, "mitigate")],
    )
    .await;
    // C (P2): answered in 5, resolved at 60: met both.
    incident(
        &app,
        &engineer,
        "2026-11-04T00:00:00Z",
        ("medium", "high"),
        y,
        &[(5, "acknowledge"), (60, "resolve")],
    )
    .await;
    // E (P4, office hours): never answered; by 11-20 both clocks are past due.
    incident(&app, &engineer, "2026-11-05T00:00:00Z", ("low", "low"), y, &[]).await;
    app.state.clock.set(utc("2026-11-20T03:00:00Z").naive_utc());
    // The job records E's breaches (stored figures are what reports read).
    let now = app.state.clock.now();
    let run = app
        .with_db(move |conn| mamori::sla::job::run_once(conn, now).unwrap())
        .await;
    assert_eq!(run.breaches, 2, "E's response and resolution");

    let (status, by_month) = manager
        .get("/api/v1/reports/sla?from=2026-10-01&to=2026-11-30&group_by=month")
        .await;
    assert_eq!(status, 200, "{by_month}");
    let october = row(&by_month, "month", "2026-10");
    assert_eq!(october["tickets"], 1);
    close(&october["response_met_percent"], 100.0);
    close(&october["resolution_met_percent"], 0.0);
    assert_eq!(october["breaches"], 1);
    close(&october["mtta_business_minutes"], 29.0);
    close(&october["mttr_business_minutes"], 500.0);
    close(&october["mttr_wall_minutes"], 500.0);
    let november = row(&by_month, "month", "2026-11");
    assert_eq!(november["tickets"], 4);
    close(&november["response_met_percent"], 50.0);
    close(&november["resolution_met_percent"], 50.0);
    assert_eq!(november["breaches"], 2);
    close(&november["mtta_business_minutes"], 35.0 / 3.0);
    close(&november["mtta_wall_minutes"], 35.0 / 3.0);
    close(&november["mttr_business_minutes"], 160.0);
    close(&november["mttr_wall_minutes"], 160.0);
    let breached: Vec<&str> = by_month["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["priority"].as_str().unwrap())
        .collect();
    assert_eq!(breached, ["P4", "P1", "P2"], "newest first: E, B, D");

    let (_, by_priority) = manager
        .get("/api/v1/reports/sla?from=2026-10-01&to=2026-11-30&group_by=priority")
        .await;
    let p2 = row(&by_priority, "priority", "P2");
    assert_eq!(p2["tickets"], 2);
    close(&p2["response_met_percent"], 100.0);
    close(&p2["resolution_met_percent"], 50.0);
    close(&p2["mtta_business_minutes"], 17.0);
    close(&p2["mttr_business_minutes"], 280.0);
    let p4 = row(&by_priority, "priority", "P4");
    close(&p4["response_met_percent"], 0.0);
    assert!(p4["mtta_business_minutes"].is_null());
    let (_, by_team) = manager
        .get("/api/v1/reports/sla?from=2026-11-01&to=2026-11-30&group_by=team,priority")
        .await;
    let kiban = row(&by_team, "team", "基盤");
    assert_eq!(
        (kiban["priority"].as_str(), kiban["tickets"].as_i64()),
        (Some("P1"), Some(2))
    );

    // Bad parameters name the field.
    for (query, field) in [
        ("from=2026-12-01&to=2026-11-01", "from"),
        ("from=yesterday", "from"),
        ("group_by=colour", "group_by"),
    ] {
        let (status, e) = manager.get(&format!("/api/v1/reports/sla?{query}")).await;
        assert_eq!(status, 422, "{query}");
        assert!(e["error"]["fields"][field].is_string(), "{query}: {e}");
    }
    assert_eq!(engineer.get("/api/v1/reports/sla").await.0, 403);

    // CSV by content negotiation, and the page's CSV links.
    let csv = app
        .api_client()
        .get(app.url("/api/v1/reports/sla?from=2026-10-01&to=2026-11-30"))
        .bearer_auth(&manager.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let text = text.trim_start_matches('\u{feff}');
    assert!(
        text.starts_with("month,team,priority,tickets,response_met_percent"),
        "{text}"
    );
    assert!(text.contains("2026-11,,,4,50.0,50.0,2,11.7,11.7,160.0,160.0"), "{text}");

    // Backlog: A and B (mitigated) and E (new) are open.
    let (_, backlog) = manager.get("/api/v1/reports/backlog").await;
    let total: i64 = backlog["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tickets"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 3);

    // Dashboard: open by priority, breaches of incidents reported this month.
    let (status, dashboard) = manager.get("/api/v1/dashboard").await;
    assert_eq!(status, 200);
    assert_eq!(dashboard["open_by_priority"], json!([["P1", 2], ["P4", 1]]));
    assert_eq!(dashboard["breached_this_month"], 2);

    // The pages render the charts as SVG and link the CSV.
    let (client, _) = app.login_as(Role::Manager).await;
    let page = app
        .get(&client, "/reports/sla?from=2026-10-01&to=2026-11-30&group_by=month")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<svg") && page.contains("id=\"sla-report\""));
    let csv_link = app
        .get(
            &client,
            "/reports/sla.csv?from=2026-10-01&to=2026-11-30&group_by=month&table=breaches",
        )
        .await;
    assert_eq!(csv_link.status(), 200);
    assert!(csv_link.text().await.unwrap().contains("number,title,priority,team"));

    // The same figures once the hourly rollup holds them, and while some hours are dirty.
    let reports = || async {
        let mut all = Vec::new();
        for group in ["month", "priority", "team,priority"] {
            let (status, body) = manager
                .get(&format!(
                    "/api/v1/reports/sla?from=2026-10-01&to=2026-11-30&group_by={group}"
                ))
                .await;
            assert_eq!(status, 200, "{body}");
            all.push(body["rows"].clone());
        }
        all
    };
    let live = reports().await;
    let rolled = app
        .with_db(|conn| mamori::reports::rollup::roll_up(conn, 1000).unwrap())
        .await;
    assert_eq!(rolled, 5, "one hour per incident");
    let dirty_hours = app
        .with_db(|conn| mamori::reports::rollup::roll_up(conn, 1000).unwrap())
        .await;
    assert_eq!(dirty_hours, 0, "nothing left to roll up");
    same_figures(&live, &reports().await);
    // A change after the roll-up shows at once (its hour is added up from the tickets).
    incident(
        &app,
        &engineer,
        "2026-11-06T00:00:00Z",
        ("low", "low"),
        x,
        &[(5, "acknowledge")],
    )
    .await;
    app.state.clock.set(utc("2026-11-20T03:00:00Z").naive_utc());
    let (_, by_month) = manager
        .get("/api/v1/reports/sla?from=2026-10-01&to=2026-11-30&group_by=month")
        .await;
    assert_eq!(row(&by_month, "month", "2026-11")["tickets"], 5);
    let partly_dirty = reports().await;
    app.with_db(|conn| mamori::reports::rollup::roll_up(conn, 1000).unwrap())
        .await;
    same_figures(&partly_dirty, &reports().await);
    // A soft delete takes the incident out of the report, rolled up or not.
    let deleted = by_month["breaches"][0]["id"].as_i64().unwrap();
    app.with_db(move |conn| {
        mamori::tickets::service::soft_delete(
            conn,
            &mamori::audit::model::Actor::system("test"),
            mamori::db::now(),
            deleted,
            "entered twice",
        )
        .unwrap()
    })
    .await;
    let (_, by_month) = manager
        .get("/api/v1/reports/sla?from=2026-10-01&to=2026-11-30&group_by=month")
        .await;
    assert_eq!(row(&by_month, "month", "2026-11")["tickets"], 4);
}

/// A manager opens the dashboard in a real browser and sees its sections and charts.
async fn a_manager_opens_the_dashboard_in_a_browser(app: TestApp) {
    let Some(browser) = Browser::start().await else { return };
    let manager = app.create_user(Role::Manager).await;
    let c = &browser.client;
    crate::support::browser::sign_in(c, &app.url("/login"), &manager.email, &manager.password).await;
    crate::support::browser::click_to_navigate(c, Locator::Css("#main-nav a[href='/dashboard']")).await;
    c.wait().for_element(Locator::Id("at-risk")).await.unwrap();
    assert!(c.find(Locator::Id("open-by-priority")).await.is_ok());
    let charts = c.find_all(Locator::Css("svg.chart")).await.unwrap();
    assert_eq!(charts.len(), 2);
    browser.client.clone().close().await.unwrap();
}

/// Two reports' rows agree: counts exactly, averages to a millionth (sums of sums may round
/// differently from one sum).
fn same_figures(a: &[Value], b: &[Value]) {
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(b) {
        let (a, b) = (a.as_array().unwrap(), b.as_array().unwrap());
        assert_eq!(a.len(), b.len(), "{a:?} / {b:?}");
        for (x, y) in a.iter().zip(b) {
            for (key, value) in x.as_object().unwrap() {
                match (value.as_f64(), y[key].as_f64()) {
                    (Some(p), Some(q)) if value.is_f64() => assert!((p - q).abs() < 1e-6, "{key}: {p} / {q}"),
                    _ => assert_eq!(value, &y[key], "{key}"),
                }
            }
        }
    }
}

/// Bulk-seeded incidents (the benchmark's data) carry SLA figures the report reads.
async fn seeded_incidents_feed_the_report(app: TestApp) {
    let report = app
        .with_db(|conn| {
            let engineer = mamori::users::queries::list(conn, &Default::default(), 1).unwrap();
            let reporter = engineer.first().map(|u| u.id);
            let now = mamori::db::now();
            let reporter = reporter.unwrap_or_else(|| {
                mamori::users::service::create(
                    conn,
                    &mamori::audit::model::Actor::system("test"),
                    now,
                    &mamori::users::model::UserInput {
                        email: "seed@example.jp".into(),
                        display_name: "seed".into(),
                        role: "engineer".into(),
                        locale: "ja".into(),
                        time_zone: "Asia/Tokyo".into(),
                        password: crate::support::PASSWORD.into(),
                        team_ids: vec![],
                    },
                )
                .unwrap()
                .id
            });
            mamori::incidents::queries::bulk_seed(conn, 200, reporter, now).unwrap();
            let query = mamori::reports::ReportQuery {
                from: Some((now - Duration::days(400)).format("%Y-%m-%d").to_string()),
                to: None,
                group_by: Some("priority".into()),
            };
            let period = mamori::reports::period(&query, "Asia/Tokyo", now).unwrap();
            // The seed's hour is marked dirty: the rollup plus that hour from the tickets.
            let with_dirty_hour = mamori::reports::sla_report(conn, &period).unwrap();
            mamori::reports::rollup::rebuild_all(conn).unwrap();
            let from_rollup = mamori::reports::sla_report(conn, &period).unwrap();
            // More dirty hours than the report inlines (a backlog after a bulk change): it adds
            // up the tickets of the whole period instead, and the figures stay the same.
            use diesel::connection::SimpleConnection;
            let hour = now.date().and_hms_opt(now.time().hour(), 0, 0).unwrap();
            let marks: Vec<String> = (0..600)
                .map(|h| format!("('{}')", (hour - Duration::hours(h)).format("%Y-%m-%d %H:%M:%S")))
                .collect();
            conn.batch_execute(&format!(
                "INSERT INTO sla_rollup_dirty (bucket) VALUES {}",
                marks.join(", ")
            ))
            .unwrap();
            let from_tickets = mamori::reports::sla_report(conn, &period).unwrap();
            (with_dirty_hour, from_rollup, from_tickets)
        })
        .await;
    let (with_dirty_hour, from_rollup, report) = report;
    let tickets: i64 = report.rows.iter().map(|r| r.row.tickets).sum();
    assert_eq!(tickets, 200);
    assert!(report.rows.iter().any(|r| r.row.breaches > 0));
    assert!(report.rows.iter().all(|r| r.response_met_percent.is_some()));
    let rows = |r: &mamori::reports::SlaReport| serde_json::to_value(&r.rows).unwrap();
    assert_eq!(rows(&with_dirty_hour), rows(&report));
    assert_eq!(rows(&from_rollup), rows(&report));
}

on_both!(
    seeded_incidents_feed_the_report,
    the_sla_report_matches_a_hand_computed_fixture,
    a_manager_opens_the_dashboard_in_a_browser
);
