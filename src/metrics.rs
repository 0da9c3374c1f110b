//! `GET /metrics`: Prometheus text exposition format 0.0.4, for administrators and for
//! scrapers with an administrator's API token (`Authorization: Bearer …`).
//!
//! Counters live in one process-wide registry, updated by the [`track`] middleware (requests
//! by route pattern — never the raw path, whose ids would make a series per ticket — method
//! and status, with a latency histogram) and by the SLA job ([`sla_job_ran`]). Gauges about the
//! database (pool use, open incidents by priority, breached running clocks) are read at scrape
//! time with indexed counts: open incidents through `tickets (kind, status, priority, id)`,
//! breached clocks through the partial indexes of migration `…_audit_chain`, so a scrape reads
//! only the rows it counts, never the whole table.
//!
//! Backups are read from `backup_runs` at scrape time (one indexed aggregate and the last
//! row), so every instance reports the same figures whichever instance ran the backup:
//! `mamori_backup_last_success_timestamp_seconds` (0: never), `mamori_backup_age_seconds`
//! (since the last successful, verified backup; absent until there is one) and
//! `mamori_backup_last_verification_ok` (1 or 0; absent until a run finished).
//!
//! The mail outbox gauges ([`set_mail_outbox`]) are read from the outbox table at scrape time,
//! so every instance reports the shared queue.
//!
//! We use the `prometheus` crate (no default features: no protobuf) for the registry and the
//! text encoder, so names, labels and escaping follow the format without our own code.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::db::schema::tickets;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

/// Latency buckets in seconds: a page or API call normally answers in a few milliseconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    sla_runs: IntCounter,
    sla_failures: IntCounter,
    sla_ticket_failures: IntCounter,
    outbox_depth: IntGauge,
    outbox_oldest_seconds: Gauge,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new();
    let requests = register(
        &registry,
        IntCounterVec::new(
            Opts::new(
                "mamori_http_requests_total",
                "HTTP requests answered, by route pattern, method and status code.",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric"),
    );
    let latency = register(
        &registry,
        HistogramVec::new(
            HistogramOpts::new(
                "mamori_http_request_duration_seconds",
                "Time to answer an HTTP request, by route pattern and method.",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "method"],
        )
        .expect("valid metric"),
    );
    let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help).expect("valid metric"));
    let sla_runs = counter("mamori_sla_job_runs_total", "Runs of the SLA job in this process.");
    let sla_failures = counter(
        "mamori_sla_job_failures_total",
        "Runs of the SLA job that failed as a whole (database unavailable, …).",
    );
    let sla_ticket_failures = counter(
        "mamori_sla_job_ticket_failures_total",
        "Tickets the SLA job could not process in a run (retried by the next run).",
    );
    let gauge = |name: &str, help: &str| register(&registry, Gauge::new(name, help).expect("valid metric"));
    let outbox_depth = register(
        &registry,
        IntGauge::new(
            "mamori_mail_outbox_depth",
            "Mails waiting in the outbox; 0 until the outbox reports here.",
        )
        .expect("valid metric"),
    );
    let outbox_oldest_seconds = gauge(
        "mamori_mail_outbox_oldest_age_seconds",
        "Age of the oldest mail still waiting in the outbox; 0 until the outbox reports here.",
    );
    let start_time = gauge("mamori_process_start_time_seconds", "Unix time this process started.");
    start_time.set(chrono::Utc::now().timestamp() as f64);
    Metrics {
        registry,
        requests,
        latency,
        sla_runs,
        sla_failures,
        sla_ticket_failures,
        outbox_depth,
        outbox_oldest_seconds,
    }
});

/// Counts every request by its route pattern (`/incidents/{id}`), `unmatched` for paths no
/// route knows. Wraps the whole stack, so refusals by the access and CSRF checks count too.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_string());
    let response = next.call(req).await;
    let status = match &response {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    let metrics = &*METRICS;
    metrics
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), &status.to_string()])
        .inc();
    metrics
        .latency
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The SLA job's loop reports each run: whether it failed as a whole and how many tickets failed.
pub fn sla_job_ran(failed: bool, tickets_failed: u64) {
    let metrics = &*METRICS;
    metrics.sla_runs.inc();
    if failed {
        metrics.sla_failures.inc();
    }
    metrics.sla_ticket_failures.inc_by(tickets_failed);
}

/// For the mail outbox: how many mails wait and how long the oldest has waited.
pub fn set_mail_outbox(depth: i64, oldest_pending_seconds: f64) {
    METRICS.outbox_depth.set(depth);
    METRICS.outbox_oldest_seconds.set(oldest_pending_seconds);
}

/// The database facts of one scrape.
struct DbFacts {
    open_incidents: Vec<(String, i64)>,
    breached_response: i64,
    breached_resolution: i64,
    backup_last_success: Option<chrono::NaiveDateTime>,
    /// Whether the last finished backup run passed its restore test.
    backup_last_verified: Option<bool>,
    /// Pending mails and when the oldest was written.
    outbox: (i64, Option<chrono::NaiveDateTime>),
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn db_facts(conn: &mut DbConnection) -> Result<DbFacts, AppError> {
    let open: Vec<&str> = crate::incidents::rules::Status::OPEN
        .iter()
        .map(|s| s.as_str())
        .collect();
    let open_incidents = tickets::table
        .filter(tickets::kind.eq("incident"))
        .filter(tickets::status.eq_any(open))
        .filter(tickets::deleted_at.is_null())
        .group_by(tickets::priority)
        .select((tickets::priority, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?;
    // Written as the partial indexes' predicates, so both planners use them.
    let breached_response =
        diesel::sql_query("SELECT COUNT(*) AS n FROM ticket_sla WHERE response_breached AND response_met_at IS NULL")
            .get_result::<Count>(conn)?
            .n;
    let breached_resolution = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM ticket_sla WHERE resolution_breached AND resolution_met_at IS NULL",
    )
    .get_result::<Count>(conn)?
    .n;
    let backup_last_verified =
        crate::backup::queries::last_finished(conn)?.map(|run| run.verification == crate::backup::model::VERIFY_PASSED);
    let outbox = crate::mail::outbox::depth(conn)?;
    Ok(DbFacts {
        open_incidents,
        breached_response,
        breached_resolution,
        backup_last_success: crate::backup::queries::last_success_at(conn)?,
        backup_last_verified,
        outbox,
    })
}

/// Resident memory from `/proc/self/status` (Linux); `None` elsewhere.
fn resident_memory_bytes() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// `GET /metrics`.
pub async fn scrape(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let facts = state.db(db_facts).await?;
    let (depth, oldest) = facts.outbox;
    let oldest_age = oldest.map_or(0.0, |at| {
        (state.clock.now() - at).num_milliseconds().max(0) as f64 / 1000.0
    });
    set_mail_outbox(depth, oldest_age);
    let scrape = Registry::new();
    let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
        register(
            &scrape,
            GaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
        )
    };
    let gauge = |name: &str, help: &str, value: f64| {
        register(&scrape, Gauge::new(name, help).expect("valid metric")).set(value)
    };

    let pool = state.pool.state();
    gauge(
        "mamori_db_pool_connections",
        "Open database connections of this process's pool.",
        f64::from(pool.connections),
    );
    gauge(
        "mamori_db_pool_idle_connections",
        "Idle database connections of this process's pool.",
        f64::from(pool.idle_connections),
    );
    gauge(
        "mamori_db_pool_max_connections",
        "Largest size of this process's pool.",
        f64::from(state.pool.max_size()),
    );
    let open = gauge_vec(
        "mamori_open_incidents",
        "Open incidents (not resolved or closed), by priority.",
        &["priority"],
    );
    for priority in crate::incidents::rules::Priority::ALL {
        open.with_label_values(&[priority.as_str()]).set(0.0);
    }
    for (priority, n) in &facts.open_incidents {
        open.with_label_values(&[priority.as_str()]).set(*n as f64);
    }
    let breached = gauge_vec(
        "mamori_sla_breached_clocks",
        "SLA clocks past their due time and still running, by clock.",
        &["clock"],
    );
    breached
        .with_label_values(&["response"])
        .set(facts.breached_response as f64);
    breached
        .with_label_values(&["resolution"])
        .set(facts.breached_resolution as f64);
    gauge(
        "mamori_backup_last_success_timestamp_seconds",
        "Unix time of the last successful, verified backup; 0 if there has been none.",
        facts
            .backup_last_success
            .map_or(0.0, |at| at.and_utc().timestamp() as f64),
    );
    if let Some(at) = facts.backup_last_success {
        gauge(
            "mamori_backup_age_seconds",
            "Seconds since the last successful, verified backup finished.",
            (state.clock.now() - at).num_milliseconds() as f64 / 1000.0,
        );
    }
    if let Some(ok) = facts.backup_last_verified {
        gauge(
            "mamori_backup_last_verification_ok",
            "1 if the last finished backup passed its restore test, 0 if it or its backup failed.",
            if ok { 1.0 } else { 0.0 },
        );
    }
    if let Some(rss) = resident_memory_bytes() {
        gauge(
            "mamori_process_resident_memory_bytes",
            "Resident memory of this process.",
            rss,
        );
    }

    let mut families = METRICS.registry.gather();
    families.extend(scrape.gather());
    families.sort_by(|a, b| a.name().cmp(b.name()));
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    encoder.encode(&families, &mut body).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().content_type(encoder.format_type()).body(body))
}
