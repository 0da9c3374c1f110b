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

/// Sets SQLite's `max_page_count` on every pooled connection (it is a per-connection setting):
/// the file may not grow past it, so the next write that needs a page fails with SQLITE_FULL,
/// as on a full disk. `None` lifts the limit again.
async fn limit_sqlite_pages(app: &TestApp, full: bool) {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Pages {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        page_count: i64,
    }
    let pool = app.state.pool.clone();
    let size = app.state.config.db_pool_size as usize;
    tokio::task::spawn_blocking(move || {
        let mut held: Vec<_> = (0..size).map(|_| pool.get().expect("pooled connection")).collect();
        for conn in &mut held {
            let max = if full {
                diesel::sql_query("PRAGMA page_count")
                    .get_result::<Pages>(&mut ***conn)
                    .unwrap()
                    .page_count
            } else {
                1_073_741_823
            };
            diesel::sql_query(format!("PRAGMA max_page_count = {max}"))
                .execute(&mut ***conn)
                .unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_fails_readiness_until_a_write_succeeds() {
    // SQLite only: it can be made full on demand. The PostgreSQL wording (disk_full, 53100) is
    // mapped by the same code, tested in the library (`error::tests`).
    let Some(app) = TestApp::spawn(mamori::db::Backend::Sqlite).await else {
        return;
    };
    let api = crate::support::api::Api::new(&app, Role::Helpdesk).await;
    // Large enough to need new pages of its own.
    let incident =
        |title: &str| json!({"title": title, "impact": "low", "urgency": "low", "description": "ログ".repeat(9_000)});
    let (status, _) = api
        .send(reqwest::Method::POST, "/api/v1/incidents", Some(incident("満杯の前")))
        .await;
    assert_eq!(status, 201);

    limit_sqlite_pages(&app, true).await;
    let (status, body) = api
        .send(reqwest::Method::POST, "/api/v1/incidents", Some(incident("満杯")))
        .await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_storage");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("no space left"),
        "{body}"
    );
    let ready = app.api_client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["reason"],
        "storage_full"
    );
    // Reads still work, and do not make the instance ready again.
    let (status, _) = api.send(reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.api_client().get(app.url("/readyz")).send().await.unwrap().status(),
        503
    );

    // Space again: the next write succeeds, and so does readiness.
    limit_sqlite_pages(&app, false).await;
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/incidents",
            Some(incident("空きができた")),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        app.api_client().get(app.url("/readyz")).send().await.unwrap().status(),
        200
    );
}

/// The real `mamori serve` on a copy of a fresh SQLite database, and its folder.
struct Served {
    child: std::process::Child,
    data_dir: std::path::PathBuf,
    db: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mamori_command(data_dir: &std::path::Path, db: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mamori"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAMORI_DATA_DIR", data_dir)
        .env("MAMORI_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("MAMORI_LOG", "warn")
        .env("MAMORI_SLA_JOB_SECONDS", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    cmd
}

async fn serve_sqlite() -> Served {
    let url = crate::support::fresh_database_url(mamori::db::Backend::Sqlite);
    let db = std::path::PathBuf::from(url.trim_start_matches("sqlite://"));
    let data_dir = db.parent().unwrap().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = mamori_command(&data_dir, &db)
        .env("MAMORI_BIND", format!("127.0.0.1:{port}"))
        .spawn()
        .expect("start mamori");
    let served = Served { child, data_dir, db };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            if r.status() == 200 {
                return served;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("mamori did not start");
}

/// Creates a user through `mamori user create` (another process, writing into the WAL).
fn create_user_from_cli(served: &Served, email: &str) {
    use std::io::Write;
    let mut child = mamori_command(&served.data_dir, &served.db)
        .args([
            "user",
            "create",
            "--email",
            email,
            "--name",
            "運用 太郎",
            "--role",
            "engineer",
        ])
        .arg("--password-stdin")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// Copies only the database file (no `-wal`, no `-shm`) and looks for the user in the copy.
fn copy_has_user(served: &Served, email: &str) -> bool {
    use diesel::Connection;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let copy = served
        .db
        .with_file_name(format!("copy-{}.db", mamori::auth::tokens::random_hex(6)));
    std::fs::copy(&served.db, &copy).unwrap();
    let mut conn = diesel::SqliteConnection::establish(&copy.to_string_lossy()).unwrap();
    let found: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM users WHERE email = '{email}'"))
        .get_result(&mut conn)
        .unwrap();
    found.n == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_checkpoints_the_wal_into_the_database_file() {
    if !crate::support::enabled(mamori::db::Backend::Sqlite) {
        return;
    }
    let served = serve_sqlite().await;
    let served = tokio::task::spawn_blocking(move || {
        create_user_from_cli(&served, "idle@example.jp");
        assert!(
            !copy_has_user(&served, "idle@example.jp"),
            "already in the file: nothing to test"
        );
        served
    })
    .await
    .unwrap();
    let written = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if copy_has_user(&served, "idle@example.jp") {
            break;
        }
        assert!(
            written.elapsed() < mamori::db::CHECKPOINT_WHEN_IDLE + Duration::from_secs(5),
            "the WAL was not checkpointed while idle"
        );
    }
    eprintln!("idle checkpoint after {:?}", written.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigterm_the_database_file_alone_holds_every_change() {
    if !crate::support::enabled(mamori::db::Backend::Sqlite) {
        return;
    }
    let served = serve_sqlite().await;
    tokio::task::spawn_blocking(move || {
        let mut served = served;
        let written = Instant::now();
        create_user_from_cli(&served, "stop@example.jp");
        let pid = served.child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = served.child.wait().unwrap();
        assert!(status.success(), "{status}");
        // Well before the idle checkpoint could have run.
        assert!(
            written.elapsed() < mamori::db::CHECKPOINT_WHEN_IDLE,
            "{:?}",
            written.elapsed()
        );
        assert!(copy_has_user(&served, "stop@example.jp"));
        let mut wal = served.db.clone().into_os_string();
        wal.push("-wal");
        let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert_eq!(wal_len, 0, "the WAL was left with {wal_len} bytes");
    })
    .await
    .unwrap();
}
