//! The ticket core every kind shares (issue 12, part A): the SLA engine on the core's own
//! facts (`tickets`, `ticket_facts`, `ticket_events`) and each kind's status classes.

use chrono::Duration;
use serde_json::json;

use crate::on_both;
use crate::sla::utc;
use crate::support::api::Api;
use crate::support::TestApp;
use mamori::auth::permissions::Role;

/// The facts an incident's use cases write are the core's: category, service, the reported
/// time and the first response land in `ticket_facts`, and the clocks are computed from them
/// and the timeline alone, so they come out the same with the incident's own row gone.
async fn the_clocks_run_on_the_core_facts_alone(app: TestApp) {
    let t0 = utc("2026-11-23T00:00:00Z");
    app.state.clock.set((t0 + Duration::minutes(5)).naive_utc());
    let api = Api::new(&app, Role::Engineer).await;
    let (status, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "VPN 接続障害", "impact": "high", "urgency": "high",
                   "category": "network", "service": "VPN", "reported_at": "2026-11-23T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    app.state.clock.advance(Duration::minutes(10));
    let acked_at = app.state.clock.now();
    let (status, acked) = api
        .post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({}))
        .await;
    assert_eq!(status, 200, "{acked}");
    app.state.clock.advance(Duration::minutes(20));
    let (status, held) = api
        .post(
            &format!("/api/v1/incidents/{id}/hold"),
            json!({"reason": "ベンダー回答待ち"}),
        )
        .await;
    assert_eq!(status, 200, "{held}");

    let now = app.state.clock.now();
    let (facts, stored, recomputed) = app
        .with_db(move |conn| {
            use diesel::RunQueryDsl;
            let facts = mamori::tickets::queries::clock_facts(conn, id).unwrap().expect("facts");
            let stored = mamori::sla::queries::stored(conn, id).unwrap().expect("stored clocks");
            // Without the incident's row the core still has everything the clocks need.
            diesel::sql_query(format!("DELETE FROM incidents WHERE ticket_id = {id}"))
                .execute(conn)
                .unwrap();
            let recomputed = mamori::sla::service::refresh(conn, id, now).unwrap();
            (facts, stored, recomputed)
        })
        .await;
    assert_eq!(
        (facts.kind.as_str(), facts.category.as_str(), facts.service.as_str()),
        ("incident", "network", "VPN")
    );
    assert_eq!(facts.started_at.and_utc(), t0, "the reported time, not the filing");
    let first = facts.first_response_at.expect("written by the acknowledgement");
    assert!(
        first >= acked_at && first - acked_at < Duration::seconds(5),
        "{first} vs {acked_at}"
    );
    let recomputed = recomputed.expect("clocks without the incident row");
    assert_eq!(recomputed.policy_id, stored.policy_id);
    assert_eq!(recomputed.response_met_at, stored.response_met_at);
    assert_eq!(recomputed.response_elapsed_minutes, 15);
    assert_eq!(recomputed.resolution_due_at, stored.resolution_due_at);
    assert!(
        recomputed.paused,
        "on hold is paused through the incident's status classes"
    );
    assert_eq!(recomputed.resolution_elapsed_minutes, 35);
}

/// How many statements read the `incidents` table while `f` runs on the connection (diesel's
/// instrumentation sees every statement, the backend's own connection's included).
fn incident_reads<T>(
    conn: &mut mamori::db::DbConnection,
    f: impl FnOnce(&mut mamori::db::DbConnection) -> T,
) -> (T, Vec<String>) {
    use diesel::connection::{Connection, InstrumentationEvent};
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let sql = query.to_string();
            let lower = sql.to_lowercase().replace(['"', '`'], "");
            if lower.contains("from incidents") || lower.contains("join incidents") {
                log.lock().unwrap().push(sql);
            }
        }
    });
    let out = f(conn);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    let seen = seen.lock().unwrap().clone();
    (out, seen)
}

/// One incident transition reads the incident once: loaded for change with the names the
/// answer shows; the SLA refresh gets the facts passed in and the answer is built from what
/// was written (before: in the use case, twice in the SLA refresh, once more for the view).
async fn one_transition_loads_the_incident_once(app: TestApp) {
    app.state.clock.set(utc("2026-11-23T00:05:00Z").naive_utc());
    let api = Api::new(&app, Role::Engineer).await;
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "基幹DB 応答遅延", "impact": "high", "urgency": "medium",
                   "reported_at": "2026-11-23T00:00:00Z"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let now = app.state.clock.now();
    let (view, reads) = app
        .with_db(move |conn| {
            incident_reads(conn, |conn| {
                mamori::incidents::service::transition(
                    conn,
                    &mamori::audit::model::Actor::system("test"),
                    now,
                    id,
                    mamori::incidents::rules::Action::Acknowledge,
                    &mamori::incidents::service::TransitionInput::default(),
                )
            })
        })
        .await;
    let view = view.expect("acknowledged");
    assert_eq!(view.status, "acknowledged");
    assert!(view.sla.is_some(), "the answer carries the clocks just stored");
    assert!(view
        .timeline
        .is_some_and(|t| t.iter().any(|e| e.kind == "state_changed")));
    assert_eq!(reads.len(), 1, "the incident is read once: {reads:#?}");
}

/// A problem's transitions run in the core's skeleton, so closing one records when, as an
/// incident's does (before, a closed problem kept `closed_at` empty), and each step leaves
/// the same `state_changed` event and audit row.
async fn a_problem_closes_through_the_core_transition(app: TestApp) {
    let api = Api::new(&app, Role::Admin).await;
    let (status, problem) = api.post("/api/v1/problems", json!({"title": "夜間バッチの遅延"})).await;
    assert_eq!(status, 201, "{problem}");
    let id = problem["id"].as_i64().unwrap();
    let step = |action: &'static str, body: serde_json::Value| {
        let api = &api;
        async move { api.post(&format!("/api/v1/problems/{id}/{action}"), body).await }
    };
    assert_eq!(step("investigate", json!({})).await.0, 200);
    let (status, resolved) = step("resolve", json!({"resolution": "ログ退避を自動化"})).await;
    assert_eq!(status, 200, "{resolved}");
    let closed_at = || app.with_db(move |conn| mamori::tickets::queries::find(conn, id).unwrap().closed_at);
    assert_eq!(closed_at().await, None);
    let (status, closed) = step("close", json!({})).await;
    assert_eq!((status, closed["status"].as_str()), (200, Some("closed")), "{closed}");
    assert!(closed_at().await.is_some(), "closing records when");
    let (_, audit) = api.get("/api/v1/audit?entity_type=problem").await;
    assert!(audit.to_string().contains("problem.close"), "{audit}");
}

/// The core and the shared plumbing import no kind: the kinds declare themselves through
/// `tickets::kind` and `crate::kinds` registers them. (`web/openapi.rs` lists every handler
/// and moves to the composition layer at the merge.)
#[test]
fn the_core_imports_no_kind() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut hits = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = [
        "tickets",
        "sla",
        "reports",
        "notifications",
        "attachments",
        "search",
        "web",
    ]
    .iter()
    .map(|dir| root.join(dir))
    .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("web/openapi.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for kind in ["crate::incidents", "crate::problems", "crate::postmortems"] {
                if line.contains(kind) {
                    hits.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(hits.is_empty(), "the core imports a kind:\n{}", hits.join("\n"));
}

on_both!(
    the_clocks_run_on_the_core_facts_alone,
    one_transition_loads_the_incident_once,
    a_problem_closes_through_the_core_transition,
);
