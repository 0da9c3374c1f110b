//! Operations (issue 19): scheduled, self-verifying backups with retention, safe on several
//! instances; failures reported as incidents; `/admin/backups`, `/readyz` and `/metrics`.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use mamori::audit::model::Actor;
use mamori::auth::permissions::Role;
use mamori::backup::model::{BackupRun, SettingsInput};
use mamori::backup::{job, queries, rules};
use mamori::db::schema::{backup_runs, ticket_events, tickets};
use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::PrometheusValue;
use serde_json::Value;

use crate::on_both;
use crate::support::TestApp;

fn at(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, day)
        .unwrap()
        .and_hms_opt(hour, minute, 0)
        .unwrap()
}

/// Saves backup settings through the service, at the app clock's now.
async fn configure(app: &TestApp, target: &Path, keep_daily: i32, keep_weekly: i32, team: Option<i64>) {
    let input = SettingsInput {
        enabled: true,
        time_of_day: "02:00".into(),
        time_zone: "Asia/Tokyo".into(),
        target_dir: target.to_string_lossy().into_owned(),
        keep_daily,
        keep_weekly,
        alert_team_id: team,
    };
    let now = app.state.clock.now();
    app.state
        .db(move |conn| mamori::backup::service::update_settings(conn, &Actor::system("test"), now, &input))
        .await
        .expect("settings saved");
}

/// One pass of the scheduled job as instance `holder`, with a hook before the restore test.
async fn run_due(app: &TestApp, holder: &'static str, damage: bool) -> Option<BackupRun> {
    let (data_dir, now) = (app.data_dir.clone(), app.state.clock.now());
    app.state
        .db(move |conn| {
            job::run_due(conn, &data_dir, holder, now, &|archive: &Path| {
                if damage {
                    let file = ["database.sqlite", "database.jsonl"]
                        .iter()
                        .map(|f| archive.join(f))
                        .find(|p| p.exists())
                        .expect("database file in the archive");
                    let mut bytes = std::fs::read(&file).unwrap();
                    let middle = bytes.len() / 2;
                    bytes[middle] ^= 0xff;
                    std::fs::write(&file, bytes).unwrap();
                }
            })
        })
        .await
        .expect("job ran")
}

fn archives_on_disk(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("mamori-backup-"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

async fn backup_incidents(app: &TestApp) -> Vec<(i64, Option<i64>)> {
    app.with_db(|conn| {
        tickets::table
            .filter(tickets::kind.eq("incident"))
            .select((tickets::id, tickets::team_id))
            .order(tickets::id)
            .load::<(i64, Option<i64>)>(conn)
            .unwrap()
    })
    .await
}

async fn comments(app: &TestApp, ticket: i64) -> Vec<String> {
    app.with_db(move |conn| {
        ticket_events::table
            .filter(ticket_events::ticket_id.eq(ticket))
            .filter(ticket_events::kind.eq("comment"))
            .select(ticket_events::body)
            .load::<String>(conn)
            .unwrap()
    })
    .await
}

async fn new_team(app: &TestApp, name: &str) -> i64 {
    let input = mamori::teams::model::TeamInput {
        name: name.into(),
        description: String::new(),
    };
    let now = app.state.clock.now();
    app.state
        .db(move |conn| mamori::teams::service::create(conn, &Actor::system("test"), now, &input))
        .await
        .unwrap()
        .id
}

async fn scheduled_backups_run_when_due_and_keep_n_daily_and_m_weekly(app: TestApp) {
    let target = app.data_dir.join("scheduled");
    // Saved on Sunday 2026-11-01 19:00 Tokyo: the first slot is Monday 02:00 Tokyo (Sunday 17:00 UTC).
    app.state.clock.set(at(1, 10, 0));
    configure(&app, &target, 2, 2, None).await;
    assert!(
        run_due(&app, "a", false).await.is_none(),
        "the slot before saving is not run"
    );
    app.state.clock.set(at(1, 16, 59));
    assert!(run_due(&app, "a", false).await.is_none(), "not yet due");
    app.state.clock.set(at(1, 17, 0) + Duration::seconds(30));
    let first = run_due(&app, "a", false).await.expect("due at 02:00 Tokyo");
    assert_eq!(first.kind, "scheduled");
    assert_eq!(first.slot_at, Some(at(1, 17, 0)));
    assert_eq!(
        (first.result.as_str(), first.verification.as_str()),
        ("succeeded", "passed"),
        "{first:?}"
    );
    assert!(first.size_bytes.unwrap() > 0 && first.duration_ms.is_some());
    assert!(Path::new(first.archive_path.as_deref().unwrap())
        .join("manifest.json")
        .is_file());
    assert!(run_due(&app, "a", false).await.is_none(), "one run per slot");

    // Fifteen more days, one run each (Tuesday 2026-11-03 … Tuesday 2026-11-17 in Tokyo).
    for day in 1..=15 {
        app.state.clock.set(at(1, 17, 1) + Duration::days(day));
        run_due(&app, "a", false).await.expect("due every day");
    }
    let runs: Vec<BackupRun> = app.with_db(|conn| queries::recent_runs(conn, 100).unwrap()).await;
    assert_eq!(runs.len(), 16);
    let dated: Vec<(i64, NaiveDateTime)> = runs.iter().map(|r| (r.id, r.started_at)).collect();
    let pruned = rules::archives_to_prune(&dated, 2, 2, chrono_tz::Asia::Tokyo);
    // Kept: the last two days (Tue 17, Mon 16) and the newest of the two last ISO weeks (17, Sun 15).
    assert_eq!(pruned.len(), 13, "{pruned:?}");
    let on_disk = archives_on_disk(&target);
    assert_eq!(on_disk.len(), 3, "{on_disk:?}");
    for run in &runs {
        let path = PathBuf::from(run.archive_path.as_deref().unwrap());
        assert_eq!(path.exists(), !pruned.contains(&run.id), "{run:?}");
        assert_eq!(run.pruned_at.is_some(), pruned.contains(&run.id), "{run:?}");
    }
}

async fn two_instances_racing_run_one_backup(app: TestApp) {
    app.state.clock.set(at(1, 10, 0));
    configure(&app, &app.data_dir.join("race"), 7, 4, None).await;
    app.state.clock.set(at(1, 17, 5));
    let now = app.state.clock.now();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let mut racers = Vec::new();
    for holder in ["instance-a", "instance-b"] {
        let (pool, data_dir, barrier) = (app.state.pool.clone(), app.data_dir.clone(), barrier.clone());
        racers.push(tokio::task::spawn_blocking(move || {
            let mut conn = mamori::db::background_connection(&pool).unwrap();
            barrier.wait();
            job::run_due(&mut conn, &data_dir, holder, now, &|_| {}).unwrap()
        }));
    }
    let mut ran = 0;
    for racer in racers {
        ran += usize::from(racer.await.unwrap().is_some());
    }
    assert_eq!(ran, 1, "exactly one instance runs the slot");
    let count: i64 = app
        .with_db(|conn| backup_runs::table.count().get_result(conn).unwrap())
        .await;
    assert_eq!(count, 1);

    // The lease itself: held by one holder until it expires or is released.
    let taken = app
        .with_db(move |conn| {
            let until = now + Duration::minutes(10);
            (
                queries::take_lease(conn, "backup", "instance-a", now, until).unwrap(),
                queries::take_lease(conn, "backup", "instance-b", now, until).unwrap(),
                queries::take_lease(conn, "backup", "instance-a", now, until).unwrap(),
                queries::take_lease(conn, "backup", "instance-b", until, until + Duration::minutes(10)).unwrap(),
            )
        })
        .await;
    assert_eq!(taken, (true, false, true, true));
}

async fn a_failed_backup_opens_one_incident_for_the_admin_team_and_then_comments(app: TestApp) {
    let team = new_team(&app, "基盤運用チーム").await;
    // A folder that cannot be created: its parent is a file.
    let blocker = app.data_dir.join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    app.state.clock.set(at(1, 10, 0));
    configure(&app, &blocker.join("backups"), 7, 4, Some(team)).await;

    let admin = app.create_user(Role::Admin).await;
    let token = app.api_token(&admin).await;
    let response = app
        .api_client()
        .post(app.url("/api/v1/admin/backups"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let run: Value = response.json().await.unwrap();
    assert_eq!(run["result"], "failed", "{run}");
    assert_eq!(run["verification"], "skipped");
    assert!(run["error"].as_str().unwrap().contains("cannot create"), "{run}");
    let incidents = backup_incidents(&app).await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].1, Some(team), "opened for the configured team");
    let incident = incidents[0].0;
    let settings = app.with_db(|conn| queries::settings(conn).unwrap()).await;
    assert_eq!(settings.failure_incident_id, Some(incident));

    // The scheduled run fails too: a comment on the open incident, no second incident.
    app.state.clock.set(at(1, 17, 1));
    let second = run_due(&app, "a", false).await.expect("due");
    assert_eq!(second.result, "failed");
    assert_eq!(backup_incidents(&app).await.len(), 1);
    let said = comments(&app, incident).await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains(&second.id.to_string()), "{said:?}");

    // /readyz reports the failed backup, and stays ready.
    let ready = app.api_client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["backup"]["status"], "failed", "{body}");
    assert_eq!(body["backup"]["result"], "failed");
}

async fn a_failed_restore_test_opens_an_incident_for_the_first_admins_team(app: TestApp) {
    let team = new_team(&app, "情報システム部").await;
    let admin = app.create_user(Role::Admin).await;
    let admin_id = admin.id;
    app.with_db(move |conn| {
        diesel::insert_into(mamori::db::schema::team_members::table)
            .values((
                mamori::db::schema::team_members::team_id.eq(team),
                mamori::db::schema::team_members::user_id.eq(admin_id),
            ))
            .execute(conn)
            .unwrap()
    })
    .await;
    app.state.clock.set(at(1, 10, 0));
    configure(&app, &app.data_dir.join("damaged"), 7, 4, None).await;
    app.state.clock.set(at(1, 17, 1));
    let run = run_due(&app, "a", true).await.expect("due");
    assert_eq!(
        (run.result.as_str(), run.verification.as_str()),
        ("succeeded", "failed"),
        "{run:?}"
    );
    assert!(run.error.as_deref().unwrap().contains("checksum"), "{run:?}");
    let incidents = backup_incidents(&app).await;
    assert_eq!(incidents, vec![(incidents[0].0, Some(team))], "the first admin's team");
    // A damaged archive is kept for inspection, not counted by retention.
    assert!(Path::new(run.archive_path.as_deref().unwrap()).exists());

    let token = app.api_token(&admin).await;
    let scrape = metrics(&app, &token).await;
    assert_eq!(gauge(&scrape, "mamori_backup_last_verification_ok"), Some(0.0));
    assert_eq!(
        gauge(&scrape, "mamori_backup_age_seconds"),
        None,
        "no verified backup yet"
    );
    assert_eq!(
        gauge(&scrape, "mamori_backup_last_success_timestamp_seconds"),
        Some(0.0)
    );
}

fn gauge(body: &str, family: &str) -> Option<f64> {
    let scrape = parse_prometheus(body).unwrap_or_else(|e| panic!("{e:?}\n{body}"));
    scrape
        .families
        .get(family)
        .map(|f| match &f.iter_samples().next().expect("one sample").value {
            PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
            other => panic!("{family}: {other:?}"),
        })
}

async fn metrics(app: &TestApp, token: &str) -> String {
    let response = app
        .api_client()
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn the_admin_page_lists_runs_and_metrics_show_the_backup_age(app: TestApp) {
    let (client, admin) = app.login_as(Role::Admin).await;
    let response = app.post_form(&client, "/admin/backups/run", &[]).await;
    assert_eq!(response.status(), 303);
    let page = app.get(&client, "/admin/backups").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let run = app.with_db(|conn| queries::last_finished(conn).unwrap().unwrap()).await;
    assert_eq!(
        (run.kind.as_str(), run.verification.as_str()),
        ("manual", "passed"),
        "{run:?}"
    );
    let archive = PathBuf::from(run.archive_path.as_deref().unwrap());
    assert!(
        html.contains(&*archive.file_name().unwrap().to_string_lossy()),
        "{html}"
    );
    assert!(html.contains("Passed") && html.contains("Manual"), "{html}");
    assert!(html.contains(" KB") && html.contains(" ms"), "{html}");
    assert!(run
        .archive_path
        .unwrap()
        .starts_with(&*app.data_dir.join("backups").to_string_lossy()));

    // A bad setting comes back at the form, naming the field.
    let refused = app
        .post_form(
            &client,
            "/admin/backups/settings",
            &[
                ("time_of_day", "25:00"),
                ("time_zone", "Asia/Tokyo"),
                ("keep_daily", "7"),
                ("keep_weekly", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("id=\"error-time_of_day\"") && html.contains("id=\"error-keep_weekly\""),
        "{html}"
    );

    // /metrics: 401 without credentials (a scraper is not sent to the sign-in page), 200 for a token.
    let anonymous = app.api_client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let token = app.api_token(&admin).await;
    let body = metrics(&app, &token).await;
    assert_eq!(gauge(&body, "mamori_backup_last_verification_ok"), Some(1.0));
    let age = gauge(&body, "mamori_backup_age_seconds").expect("age");
    assert!((0.0..60.0).contains(&age), "{age}");
    app.state.clock.advance(Duration::hours(30));
    let age = gauge(&metrics(&app, &token).await, "mamori_backup_age_seconds").unwrap();
    assert!(age >= 30.0 * 3600.0, "{age}");
    let ready: Value = app
        .api_client()
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["backup"]["status"], "ok", "{ready}");
}

async fn audit_rows(app: &TestApp, n: usize, label: &'static str) {
    let now = app.state.clock.now();
    app.with_db(move |conn| {
        for i in 0..n {
            mamori::db::write_transaction(conn, |conn| {
                mamori::audit::service::record(
                    conn,
                    &Actor::system(label),
                    now,
                    "test.row",
                    "test",
                    i,
                    None::<&()>,
                    None::<&()>,
                )
            })
            .unwrap();
        }
    })
    .await;
}

async fn audit_intact(app: &TestApp) -> bool {
    let clock = app.state.clock.clone();
    app.state
        .db(move |conn| mamori::audit::service::verify(conn, "test", || clock.now()))
        .await
        .unwrap()
        .intact
}

async fn pruning_in_batches_keeps_the_audit_chain_verifiable_and_tampering_detectable(app: TestApp) {
    use mamori::db::schema::{audit_log, audit_prune_anchors, login_attempts};
    app.state.clock.set(at(1, 0, 0));
    audit_rows(&app, 20, "old").await;
    // A verification now anchors at an old row that pruning will remove.
    assert!(audit_intact(&app).await);
    let old = app.state.clock.now();
    app.with_db(move |conn| {
        for i in 0..10 {
            diesel::insert_into(login_attempts::table)
                .values((
                    login_attempts::attempted_at.eq(old),
                    login_attempts::email.eq(format!("old{i}@example.jp")),
                    login_attempts::ip.eq("192.0.2.1"),
                    login_attempts::succeeded.eq(false),
                ))
                .execute(conn)
                .unwrap();
        }
    })
    .await;

    app.state.clock.set(at(20, 0, 0));
    audit_rows(&app, 5, "new").await;
    let now = app.state.clock.now();
    let periods = mamori::retention::model::Periods {
        days: [("audit_log".to_string(), 10), ("login_attempts".to_string(), 10)].into(),
    };
    app.state
        .db(move |conn| mamori::retention::service::update_periods(conn, &Actor::system("test"), now, &periods))
        .await
        .unwrap();
    let run = app
        .state
        .db(move |conn| mamori::retention::service::run_batched(conn, "test", now, 7))
        .await
        .unwrap();
    let counts: std::collections::BTreeMap<String, i64> = serde_json::from_str(&run.counts).unwrap();
    assert!(counts["audit_log"] >= 20, "{counts:?}");
    assert_eq!(counts["login_attempts"], 10, "{counts:?}");
    assert!(run.error.is_none() && run.finished_at.is_some(), "{run:?}");
    let (left_old, anchors, attempts) = app
        .with_db(|conn| {
            (
                audit_log::table
                    .filter(audit_log::actor_label.eq("old"))
                    .count()
                    .get_result::<i64>(conn)
                    .unwrap(),
                audit_prune_anchors::table.count().get_result::<i64>(conn).unwrap(),
                login_attempts::table.count().get_result::<i64>(conn).unwrap(),
            )
        })
        .await;
    assert_eq!((left_old, attempts), (0, 0));
    assert!(anchors >= 3, "batches of 7 rows: {anchors} anchors");
    assert!(audit_intact(&app).await, "the pruned chain verifies from its anchor");

    // Deleting a row in the middle directly is refused …
    let middle: i64 = app
        .with_db(|conn| {
            audit_log::table
                .filter(audit_log::actor_label.eq("new"))
                .select(audit_log::id)
                .order(audit_log::id)
                .offset(2)
                .first(conn)
                .unwrap()
        })
        .await;
    let refused = app
        .with_db(move |conn| diesel::delete(audit_log::table.find(middle)).execute(conn))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    // … and with the triggers switched off, the walk finds the gap.
    let backend = app.backend;
    app.with_db(move |conn| {
        use diesel::connection::SimpleConnection;
        let off = match backend {
            mamori::db::Backend::Sqlite => "DROP TRIGGER audit_log_no_delete",
            mamori::db::Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        };
        conn.batch_execute(off).unwrap();
        diesel::delete(audit_log::table.find(middle)).execute(conn).unwrap();
    })
    .await;
    assert!(
        !audit_intact(&app).await,
        "a row removed in the middle breaks the chain"
    );
}

async fn retention_periods_are_set_by_admins_on_the_page_and_the_api(app: TestApp) {
    let (client, admin) = app.login_as(Role::Admin).await;
    let token = app.api_token(&admin).await;
    let put = |body: Value| {
        let request = app
            .api_client()
            .put(app.url("/api/v1/admin/retention-periods"))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = put(serde_json::json!({"days": {"audit_log": 400}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["days"]["audit_log"], 400);
    assert_eq!(body["days"]["sessions"], 30, "others keep their default");
    let (status, body) = put(serde_json::json!({"days": {"tickets": 5, "sessions": -1}})).await;
    assert_eq!(status, 422, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("days.tickets") && text.contains("days.sessions"),
        "{body}"
    );

    let refused = app
        .post_form(&client, "/admin/backups/retention", &[("days.notifications", "x")])
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"error-days.notifications\""), "{html}");
    let saved = app
        .post_form(&client, "/admin/backups/retention", &[("days.notifications", "30")])
        .await;
    assert_eq!(saved.status(), 303);
    let periods = app
        .with_db(|conn| mamori::retention::service::periods(conn).unwrap())
        .await;
    assert_eq!((periods.days["notifications"], periods.days["audit_log"]), (30, 400));
}

on_both!(
    pruning_in_batches_keeps_the_audit_chain_verifiable_and_tampering_detectable,
    retention_periods_are_set_by_admins_on_the_page_and_the_api,
);

on_both!(
    scheduled_backups_run_when_due_and_keep_n_daily_and_m_weekly,
    two_instances_racing_run_one_backup,
    a_failed_backup_opens_one_incident_for_the_admin_team_and_then_comments,
    a_failed_restore_test_opens_an_incident_for_the_first_admins_team,
    the_admin_page_lists_runs_and_metrics_show_the_backup_age,
);
