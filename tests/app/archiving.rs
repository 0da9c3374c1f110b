//! Archiving closed tickets (issue 19, "Retention and archiving"): the retention run archives
//! tickets closed before the archiving period, in batches; archived tickets are out of the
//! incident list (page, API, CSV) and search unless `archived=include` is asked.

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use mamori::audit::model::Actor;
use mamori::auth::permissions::Role;
use mamori::db::schema::{ticket_archive, tickets};
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 3)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

fn ids_of(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// Three closed incidents titled "アーカイブ試験 N", two closed 25 months ago and one 2 months ago,
/// and one open incident; returns their ids and references in that order.
async fn incidents(app: &TestApp, api: &Api<'_>) -> (Vec<i64>, Vec<String>) {
    let mut ids = Vec::new();
    let mut references = Vec::new();
    for n in 0..4 {
        let (status, body) = api
            .post(
                "/api/v1/incidents",
                json!({"title": format!("アーカイブ試験 {n}"), "description": "VPN", "impact": "low", "urgency": "low"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_i64().unwrap());
        references.push(body["number"].as_str().unwrap().to_string());
    }
    let closed: Vec<(i64, NaiveDateTime)> = vec![
        (ids[0], now() - Months::new(25)),
        (ids[1], now() - Months::new(25)),
        (ids[2], now() - Months::new(2)),
    ];
    app.with_db(move |conn| {
        for (id, at) in closed {
            diesel::update(tickets::table.find(id))
                .set((tickets::status.eq("closed"), tickets::closed_at.eq(Some(at))))
                .execute(conn)
                .unwrap();
        }
    })
    .await;
    (ids, references)
}

async fn the_run_archives_closed_tickets_in_batches_and_lists_and_search_leave_them_out(app: TestApp) {
    app.state.clock.set(now());
    let api = Api::new(&app, Role::Engineer).await;
    let (ids, references) = incidents(&app, &api).await;
    let (old, recent, open) = (vec![ids[0], ids[1]], ids[2], ids[3]);

    // The report first: the admin page shows what the next run archives, by month and kind.
    let (admin, _) = app.login_as(Role::Admin).await;
    let report = app
        .with_db(|conn| mamori::retention::service::archive_report(conn, now()).unwrap())
        .await;
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(
        (report[0].kind.as_str(), report[0].month.as_str(), report[0].count),
        ("incident", "2024-11", 2)
    );
    let html = app.get(&admin, "/admin/backups").await.text().await.unwrap();
    assert!(html.contains("<tr><td>2024-11</td>"), "{html}");

    let run = app
        .state
        .db(|conn| mamori::retention::service::run_batched(conn, "test", now(), 1))
        .await
        .unwrap();
    let counts: std::collections::BTreeMap<String, i64> = serde_json::from_str(&run.counts).unwrap();
    assert_eq!(counts["ticket_archive"], 2, "{counts:?}");
    assert!(run.error.is_none(), "{run:?}");
    let mut archived = app
        .with_db(|conn| {
            ticket_archive::table
                .select(ticket_archive::ticket_id)
                .load::<i64>(conn)
                .unwrap()
        })
        .await;
    archived.sort();
    assert_eq!(
        archived, old,
        "closed 25 months ago, in batches of one; the recent and open stay"
    );
    // A second run finds nothing more.
    let run = app
        .state
        .db(|conn| mamori::retention::service::run_batched(conn, "test", now(), 1))
        .await
        .unwrap();
    assert!(run.counts.contains("\"ticket_archive\":0"), "{run:?}");
    let html = app.get(&admin, "/admin/backups").await.text().await.unwrap();
    assert!(
        !html.contains("<tr><td>2024-11</td>"),
        "nothing left to archive: {html}"
    );

    // The API list and the search leave them out unless asked.
    let (status, list) = api.get("/api/v1/incidents?view=all").await;
    assert_eq!(status, 200, "{list}");
    let listed = ids_of(&list);
    assert!(listed.contains(&recent) && listed.contains(&open), "{list}");
    assert!(!listed.contains(&old[0]) && !listed.contains(&old[1]), "{list}");
    let (_, list) = api.get("/api/v1/incidents?view=all&archived=include").await;
    assert!(old.iter().all(|id| ids_of(&list).contains(id)), "{list}");
    let (status, body) = api.get("/api/v1/incidents?view=all&archived=maybe").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["archived"].is_string(), "{body}");

    let q = "/api/v1/search?q=%E3%82%A2%E3%83%BC%E3%82%AB%E3%82%A4%E3%83%96%E8%A9%A6%E9%A8%93";
    let (status, page) = api.get(q).await;
    assert_eq!(status, 200, "{page}");
    let found = ids_of(&page);
    assert!(found.contains(&recent) && !found.contains(&old[0]), "{page}");
    let (_, page) = api.get(&format!("{q}&archived=include")).await;
    assert!(old.iter().all(|id| ids_of(&page).contains(id)), "{page}");
    let (status, _) = api.get(&format!("{q}&archived=yes")).await;
    assert_eq!(status, 422);

    // The page list and its CSV export likewise; the checkbox includes them.
    let (client, _) = app.login_as(Role::Engineer).await;
    let reference = |id: i64| references[ids.iter().position(|i| *i == id).unwrap()].clone();
    let html = app.get(&client, "/incidents?view=all").await.text().await.unwrap();
    assert!(
        !html.contains(&reference(old[0])) && html.contains(&reference(recent)),
        "{html}"
    );
    let html = app
        .get(&client, "/incidents?view=all&archived=include")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&reference(old[0])), "{html}");
    assert!(html.contains("name=\"archived\" value=\"include\" checked"), "{html}");
    let csv = app
        .get(&client, "/incidents/export.csv?view=all")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !csv.contains(&reference(old[0])) && csv.contains(&reference(recent)),
        "{csv}"
    );
    let csv = app
        .get(&client, "/incidents/export.csv?view=all&archived=include")
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains(&reference(old[0])), "{csv}");

    // An archived incident's page still opens, with a badge; a live one has none.
    let page = app.get(&client, &format!("/incidents/{}", old[0])).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"archived-badge\""), "{html}");
    let html = app
        .get(&client, &format!("/incidents/{recent}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"archived-badge\""), "{html}");
}

async fn the_archiving_period_is_set_by_admins_and_zero_never_archives(app: TestApp) {
    app.state.clock.set(now());
    let api = Api::new(&app, Role::Engineer).await;
    incidents(&app, &api).await;
    let admin = Api::new(&app, Role::Admin).await;
    let (status, body) = admin.get("/api/v1/admin/retention-periods").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["days"]["ticket_archive_months"], 24, "{body}");
    let (status, body) = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/admin/retention-periods",
            Some(json!({"days": {"ticket_archive_months": 1201}})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("days.ticket_archive_months"), "{body}");
    let (status, body) = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/admin/retention-periods",
            Some(json!({"days": {"ticket_archive_months": 0}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let run = app
        .state
        .db(|conn| mamori::retention::service::run(conn, "test", now()))
        .await
        .unwrap();
    assert!(!run.counts.contains("ticket_archive"), "0 never archives: {run:?}");

    // Through the page: a month's period archives the ticket closed 2 months ago too.
    let periods = mamori::retention::model::Periods {
        days: [("ticket_archive_months".to_string(), 1)].into(),
    };
    app.state
        .db(move |conn| mamori::retention::service::update_periods(conn, &Actor::system("test"), now(), &periods))
        .await
        .unwrap();
    let run = app
        .state
        .db(|conn| mamori::retention::service::run(conn, "test", now()))
        .await
        .unwrap();
    assert!(run.counts.contains("\"ticket_archive\":3"), "{run:?}");
    let (client, _) = app.login_as(Role::Admin).await;
    let html = app.get(&client, "/admin/backups").await.text().await.unwrap();
    assert!(html.contains("name=\"days.ticket_archive_months\""), "{html}");
    assert!(html.contains("max=\"1200\""), "{html}");
}

async fn the_problem_list_leaves_archived_problems_out_unless_asked(app: TestApp) {
    app.state.clock.set(now());
    let api = Api::new(&app, Role::Manager).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let (status, body) = api
            .post(
                "/api/v1/problems",
                json!({"title": format!("アーカイブ試験の問題 {n}")}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_i64().unwrap());
    }
    let old = ids[0];
    app.with_db(move |conn| {
        diesel::update(tickets::table.find(old))
            .set((
                tickets::status.eq("closed"),
                tickets::closed_at.eq(Some(now() - Months::new(30))),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
    let run = app
        .state
        .db(|conn| mamori::retention::service::run(conn, "test", now()))
        .await
        .unwrap();
    assert!(run.counts.contains("\"ticket_archive\":1"), "{run:?}");
    let (status, list) = api.get("/api/v1/problems").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(ids_of(&list), vec![ids[1]], "{list}");
    let (_, list) = api.get("/api/v1/problems?archived=include").await;
    assert!(ids_of(&list).contains(&old), "{list}");
    let (status, _) = api.get("/api/v1/problems?archived=all").await;
    assert_eq!(status, 422);
    let (client, _) = app.login_as(Role::Manager).await;
    let html = app.get(&client, "/problems?all=1").await.text().await.unwrap();
    assert!(
        !html.contains("アーカイブ試験の問題 0") && html.contains("アーカイブ試験の問題 1"),
        "{html}"
    );
    let html = app
        .get(&client, "/problems?all=1&archived=include")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("アーカイブ試験の問題 0"), "{html}");
}

on_both!(
    the_problem_list_leaves_archived_problems_out_unless_asked,
    the_run_archives_closed_tickets_in_batches_and_lists_and_search_leave_them_out,
    the_archiving_period_is_set_by_admins_and_zero_never_archives,
);
