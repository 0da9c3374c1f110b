//! Faults from the outside (issue 13, items 16–19): slow clients, a database that stops
//! answering, a full disk, a clean stop of the server.

use std::time::{Duration, Instant};

use mamori::auth::permissions::Role;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::TestApp;

/// Like `on_both!`, with extra configuration for the app.
macro_rules! on_both_with {
    ($name:ident, $extra:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::support::TestApp::spawn_with(mamori::db::Backend::Sqlite, $extra).await {
                    super::$name(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::spawn_with(mamori::db::Backend::Postgres, $extra).await {
                    super::$name(app).await;
                }
            }
        }
    };
}

/// A connection to the app from a loopback address of our choice (127.0.0.x), so the
/// per-address cap of one test's clients does not touch the others.
async fn connect_from(app: &TestApp, source: [u8; 4]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::from((source, 0)))
        .expect("bind a loopback source address");
    let target: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    socket.connect(target).await.expect("connect")
}

/// What the server sent until it closed the connection (`true`) or `within` ran out (`false`).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let deadline = tokio::time::Instant::now() + within;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(Err(_)) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), false),
        }
    }
}

/// Headers of a form post that promise a body, then nothing.
const SLOW_POST: &[u8] = b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=";

async fn slow_clients_are_closed_after_the_timeout_and_capped_per_address(app: TestApp) {
    // MAMORI_REQUEST_TIMEOUT_SECONDS=3, MAMORI_MAX_CONNECTIONS_PER_IP=10.
    let slow_source = [127, 0, 0, 3];
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut stream = connect_from(&app, slow_source).await;
        stream.write_all(SLOW_POST).await.unwrap();
        held.push(stream);
    }
    // Headers that never end, from another address: closed after the header timeout.
    let mut half_headers = connect_from(&app, [127, 0, 0, 4]).await;
    half_headers
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Past the cap: answered at once with 429 and closed, without waiting for the body.
    let mut past_cap = Vec::new();
    for _ in 0..5 {
        let mut stream = connect_from(&app, slow_source).await;
        stream.write_all(SLOW_POST).await.unwrap();
        past_cap.push(tokio::spawn(async move {
            read_until_closed(&mut stream, Duration::from_millis(1500)).await
        }));
    }
    for answer in past_cap {
        let (answer, closed) = answer.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 429"), "past the cap: {answer:?}");
        assert!(closed, "a connection past the cap stays open");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    // Everyone else is still served, on a fresh connection.
    let asked = Instant::now();
    let health = app.api_client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(asked.elapsed() < Duration::from_secs(1), "{:?}", asked.elapsed());

    // The slow ones: 408 after the timeout, and closed.
    for mut stream in held {
        let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(6)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "slow body: {answer:?}");
        assert!(closed, "a timed-out connection stays open");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
    let (_, closed) = read_until_closed(&mut half_headers, Duration::from_secs(4)).await;
    assert!(closed, "unfinished headers keep the connection open");

    // Their slots are free again: the address is served.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut stream = connect_from(&app, slow_source).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "after the slow ones left: {answer:?}"
    );
}
on_both_with!(
    slow_clients_are_closed_after_the_timeout_and_capped_per_address,
    &[
        ("MAMORI_REQUEST_TIMEOUT_SECONDS", "3"),
        ("MAMORI_MAX_CONNECTIONS_PER_IP", "10")
    ]
);

async fn a_slow_but_steady_body_gets_through(app: TestApp) {
    // MAMORI_REQUEST_TIMEOUT_SECONDS=2; the body takes 4 s in pieces a second apart.
    let user = app.create_user(Role::Helpdesk).await;
    let token = app.api_token(&user).await;
    let body = json!({"title": "回線が遅い拠点からの起票", "impact": "low", "urgency": "low", "description": "x".repeat(4000)})
        .to_string()
        .into_bytes();
    let mut stream = connect_from(&app, [127, 0, 0, 5]).await;
    let head = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(body.len().div_ceil(5)) {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}
on_both_with!(
    a_slow_but_steady_body_gets_through,
    &[("MAMORI_REQUEST_TIMEOUT_SECONDS", "2")]
);

/// Refuses (`false`) or allows again (`true`) every connection to the app's PostgreSQL
/// database, closing the open ones: to the app, its database is down, and no other test's is.
fn set_postgres_reachable(app: &TestApp, reachable: bool) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let name = url::Url::parse(&app.database_url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_string();
    let mut admin = diesel::PgConnection::establish(crate::support::postgres::server().admin_url()).unwrap();
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"))
        .unwrap();
    if reachable {
        return;
    }
    #[derive(diesel::QueryableByName)]
    struct Left {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    for _ in 0..100 {
        admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .unwrap();
        // pg_terminate_backend only signals: wait until the backends are gone.
        let left: Left = diesel::RunQueryDsl::get_result(
            diesel::sql_query(format!(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{name}'"
            )),
            &mut admin,
        )
        .unwrap();
        if left.n == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the backends of {name} did not go away");
}

/// `GET path` with a bearer token: the status and how long the answer took.
async fn timed_get(app: &TestApp, path: &str, token: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = app
        .api_client()
        .get(app.url(path))
        .bearer_auth(token)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    (status, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_down_readiness_and_pages_answer_503_quickly() {
    let Some(app) = TestApp::spawn(mamori::db::Backend::Postgres).await else {
        return;
    };
    let user = app.create_user(Role::Engineer).await;
    let token = app.api_token(&user).await;
    assert_eq!(timed_get(&app, "/readyz", "").await.0, 200);
    assert_eq!(timed_get(&app, "/api/v1/me", &token).await.0, 200);

    let app_ref = &app;
    tokio::task::block_in_place(|| set_postgres_reachable(app_ref, false));
    // Past the 500 ms in which a just-used connection is handed out untested.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for _ in 0..3 {
        let (status, took) = timed_get(&app, "/readyz", "").await;
        eprintln!("PostgreSQL down: /readyz {status} in {took:?}");
        assert_eq!(status, 503);
        assert!(took < Duration::from_secs(1), "/readyz took {took:?}");
    }
    // A request needing the database waits MAMORI_DB_CHECKOUT_TIMEOUT_MS (2 s), not 10 s.
    let (status, took) = timed_get(&app, "/api/v1/me", &token).await;
    eprintln!("PostgreSQL down: /api/v1/me {status} in {took:?}");
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(4), "a page took {took:?}");
    // The process itself is alive.
    assert_eq!(timed_get(&app, "/healthz", "").await.0, 200);

    tokio::task::block_in_place(|| set_postgres_reachable(app_ref, true));
    let back = Instant::now();
    loop {
        let (status, _) = timed_get(&app, "/api/v1/me", &token).await;
        if status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "still {status} after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("PostgreSQL back: requests succeed after {:?}", back.elapsed());
    assert_eq!(timed_get(&app, "/readyz", "").await.0, 200);
}
