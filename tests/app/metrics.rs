//! `GET /metrics`: parsed with a Prometheus text-format parser (the `openmetrics-parser`
//! crate's grammar for format 0.0.4), for an administrator's API token or session only.

use mamori::auth::permissions::Role;
use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use serde_json::json;

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

type Scrape = MetricsExposition<PrometheusType, PrometheusValue>;

async fn scrape(app: &TestApp, token: &str) -> Scrape {
    let response = app
        .api_client()
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let body = response.text().await.unwrap();
    parse_prometheus(&body).unwrap_or_else(|e| panic!("{e:?}\n{body}"))
}

/// The value of a family's sample whose labels include `labels`.
fn sample<'a>(scrape: &'a Scrape, family: &str, labels: &[(&str, &str)]) -> Option<&'a PrometheusValue> {
    scrape
        .families
        .get(family)?
        .iter_samples()
        .find(|s| {
            let set = s.get_labelset().unwrap();
            labels.iter().all(|(k, v)| set.get_label_value(k) == Some(*v))
        })
        .map(|s| &s.value)
}

fn value(scrape: &Scrape, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    sample(scrape, family, labels).map(|v| match v {
        PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
        PrometheusValue::Counter(c) => c.value.as_f64(),
        other => panic!("{family} is not a single value: {other:?}"),
    })
}

async fn metrics_parse_and_count_requests_incidents_and_clocks(app: TestApp) {
    let admin = app.create_user(Role::Admin).await;
    let token = app.api_token(&admin).await;
    let engineer = Api::new(&app, Role::Engineer).await;
    let (status, created) = engineer
        .post(
            "/api/v1/incidents",
            json!({"title": "基幹DB停止", "impact": "high", "urgency": "high", "description": "全社で業務停止"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["priority"], "P1");
    let id = created["id"].as_i64().unwrap();

    let route = [
        ("route", "/api/v1/incidents/{id}"),
        ("method", "GET"),
        ("status", "200"),
    ];
    let before = scrape(&app, &token).await;
    let counted_before = value(&before, "mamori_http_requests_total", &route).unwrap_or(0.0);
    for _ in 0..3 {
        assert_eq!(engineer.get(&format!("/api/v1/incidents/{id}")).await.0, 200);
    }
    let after = scrape(&app, &token).await;
    // Other tests share the process's counters: at least our three.
    let counted = value(&after, "mamori_http_requests_total", &route).expect("counted");
    assert!(counted >= counted_before + 3.0, "{counted_before} → {counted}");
    // Route patterns only: no raw path with an id becomes a series.
    let requests = &after.families["mamori_http_requests_total"];
    assert_eq!(requests.family_type, PrometheusType::Counter);
    for s in requests.iter_samples() {
        let route = s.get_labelset().unwrap().get_label_value("route").unwrap().to_string();
        assert!(!route.contains(&format!("/{id}")), "raw path {route}");
    }
    assert_eq!(
        after.families["mamori_http_request_duration_seconds"].family_type,
        PrometheusType::Histogram
    );
    match sample(&after, "mamori_http_request_duration_seconds", &route[..2]) {
        Some(PrometheusValue::Histogram(h)) => {
            assert!(h.buckets.len() >= 10);
            assert!(h.count.unwrap() >= 3);
        }
        other => panic!("not a histogram: {other:?}"),
    }

    assert_eq!(value(&after, "mamori_open_incidents", &[("priority", "P1")]), Some(1.0));
    assert_eq!(value(&after, "mamori_open_incidents", &[("priority", "P4")]), Some(0.0));
    let max = value(&after, "mamori_db_pool_max_connections", &[]).unwrap();
    assert_eq!(max, f64::from(app.state.config.db_pool_size));
    assert!(value(&after, "mamori_db_pool_connections", &[]).unwrap() >= 1.0);
    assert!(value(&after, "mamori_db_pool_idle_connections", &[]).is_some());
    for family in [
        "mamori_sla_job_runs_total",
        "mamori_sla_job_failures_total",
        "mamori_process_start_time_seconds",
        "mamori_process_resident_memory_bytes",
    ] {
        assert!(value(&after, family, &[]).is_some(), "{family}");
    }
    // Defined for the backup and outbox work; 0 until they report.
    assert_eq!(
        value(&after, "mamori_backup_last_success_timestamp_seconds", &[]),
        Some(0.0)
    );
    assert_eq!(value(&after, "mamori_mail_outbox_depth", &[]), Some(0.0));
    assert_eq!(
        value(&after, "mamori_sla_breached_clocks", &[("clock", "response")]),
        Some(0.0)
    );

    // Three days later the P1's response clock is breached and still running.
    app.state.clock.advance(chrono::Duration::days(3));
    let now = app.state.clock.now();
    app.with_db(move |conn| mamori::sla::job::run_once(conn, now).unwrap())
        .await;
    let later = scrape(&app, &token).await;
    assert_eq!(
        value(&later, "mamori_sla_breached_clocks", &[("clock", "response")]),
        Some(1.0)
    );
    assert_eq!(
        value(&later, "mamori_sla_breached_clocks", &[("clock", "resolution")]),
        Some(1.0)
    );
    // Once answered, the response clock has stopped: no longer counted.
    let (status, _) = engineer
        .post(&format!("/api/v1/incidents/{id}/acknowledge"), json!({}))
        .await;
    assert_eq!(status, 200);
    let answered = scrape(&app, &token).await;
    assert_eq!(
        value(&answered, "mamori_sla_breached_clocks", &[("clock", "response")]),
        Some(0.0)
    );
}

async fn metrics_answer_administrators_only(app: TestApp) {
    let url = app.url("/metrics");
    // No credentials: the sign-in page, never the figures.
    let anonymous = app.api_client().get(&url).send().await.unwrap();
    assert!(
        matches!(anonymous.status().as_u16(), 303 | 401),
        "{}",
        anonymous.status()
    );
    // A token that is not one.
    let forged = app
        .api_client()
        .get(&url)
        .bearer_auth("mamori_notatoken")
        .send()
        .await
        .unwrap();
    assert!(matches!(forged.status().as_u16(), 303 | 401), "{}", forged.status());
    // Other roles' tokens and sessions.
    for role in [Role::Helpdesk, Role::Engineer, Role::Manager] {
        let user = app.create_user(role).await;
        let token = app.api_token(&user).await;
        let refused = app.api_client().get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(refused.status(), 403, "{role:?}");
        let (client, _) = app.login_as(role).await;
        assert_eq!(app.get(&client, "/metrics").await.status(), 403, "{role:?}");
    }
    // An administrator's session reads them in the browser.
    let (client, _) = app.login_as(Role::Admin).await;
    let page = app.get(&client, "/metrics").await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("# TYPE mamori_http_requests_total counter"));
}

on_both!(
    metrics_parse_and_count_requests_incidents_and_clocks,
    metrics_answer_administrators_only,
);
