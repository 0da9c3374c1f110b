//! Load generator for scripts/bench.sh: drives one scenario against a running Mamori with a
//! fixed number of concurrent clients for a fixed time and prints throughput and latency
//! percentiles. Loopback only; bounded in time and requests.
//!
//! cargo run --release --example loadgen -- BASE_URL TOKEN SCENARIO CONCURRENCY SECONDS MAX_ID
//! SCENARIO: create | read | list | search | search-ranked | unified-search | report | me | health

use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 {
        eprintln!("usage: loadgen BASE_URL TOKEN SCENARIO CONCURRENCY SECONDS MAX_ID");
        std::process::exit(2);
    }
    let (base, token, scenario) = (args[1].clone(), args[2].clone(), args[3].clone());
    let concurrency: usize = args[4].parse().expect("concurrency");
    let seconds: u64 = args[5].parse().expect("seconds");
    let max_id: u64 = args[6].parse().expect("max id");
    assert!(
        base.starts_with("http://127.") || base.starts_with("http://localhost"),
        "loopback only"
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (client, base, token, scenario) = (client.clone(), base.clone(), token.clone(), scenario.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n: u64 = worker as u64 * 7919;
            while Instant::now() < deadline && latencies.len() < 5_000_000 {
                n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let request = match scenario.as_str() {
                    "create" => client.post(format!("{base}/api/v1/incidents")).json(&serde_json::json!({
                        "title": format!("負荷試験 {n}"), "description": "bench", "impact": "low", "urgency": "medium", "category": "bench"
                    })),
                    // The floor: a route with no database work (what HTTP, the middleware and this
                    // client cost on the same machine).
                    "health" => client.get(format!("{base}/healthz")),
                    // Authentication plus one small look-up: what every API call pays before its work.
                    "me" => client.get(format!("{base}/api/v1/me")),
                    "read" => client.get(format!("{base}/api/v1/incidents/{}", 1 + (n >> 33) % max_id)),
                    "list" => {
                        let priority = ["P2", "P3", "P4"][((n >> 40) % 3) as usize];
                        let status = ["new", "in_progress", "acknowledged"][((n >> 42) % 3) as usize];
                        client.get(format!("{base}/api/v1/incidents?view=all&status={status}&priority={priority}&limit=50"))
                    }
                    "search" | "search-ranked" => {
                        // Two-character Japanese words are the most common searches (and the hard
                        // case: 障害 is in half of the seeded incidents).
                        let q = [
                            "データベース", "VPN", "バッチ", "Backup job", "ファイルサーバ", "503", "障害", "復旧", "ＤＢ",
                        ][((n >> 40) % 9) as usize];
                        let sort = if scenario == "search" { "newest" } else { "relevance" };
                        client
                            .get(format!("{base}/api/v1/incidents"))
                            .query(&[("view", "all"), ("q", q), ("limit", "50"), ("sort", sort)])
                    }
                    // One search over every kind (incidents and problems), best match first and newest
                    // first in turn, as the header's search box asks.
                    "unified-search" => {
                        let q = ["障害", "復旧", "ＤＢ", "VPN 障害", "データベース", "503", "接続", "遅延"][((n >> 40) % 8) as usize];
                        let sort = ["relevance", "newest"][((n >> 44) % 2) as usize];
                        client
                            .get(format!("{base}/api/v1/search"))
                            .query(&[("q", q), ("limit", "20"), ("sort", sort)])
                    }
                    // A year's SLA report by month (and one by priority): one aggregate each.
                    "report" => {
                        let group = ["month", "priority"][((n >> 40) % 2) as usize];
                        let today = chrono::Utc::now().date_naive();
                        let from = today - chrono::Duration::days(365);
                        client.get(format!("{base}/api/v1/reports/sla?from={from}&to={today}&group_by={group}"))
                    }
                    other => panic!("unknown scenario {other}"),
                };
                let started = Instant::now();
                match request.bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64().max(seconds as f64);
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!(
        "{scenario}: {} ok, {errors} errors, {:.0} req/s, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms (concurrency {concurrency}, {seconds} s)",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.95),
        pct(0.99)
    );
}
