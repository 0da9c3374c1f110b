//! `TestApp`: the real application on a random port against a fresh database of the chosen
//! backend, plus helpers to act as a browser (cookies, CSRF) or an API client.

pub mod api;
pub mod browser;
pub mod postgres;
pub mod smtp;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::OnceLock;

use actix_web::web;
use mamori::audit::model::Actor;
use mamori::auth::permissions::Role;
use mamori::clock::Clock;
use mamori::config::Config;
use mamori::db::Backend;
use mamori::state::AppState;
use mamori::users::model::UserInput;

pub const PASSWORD: &str = "correct horse battery staple";

/// Which backends this run covers: `MAMORI_TEST_BACKENDS` (default `sqlite,postgres`).
/// CI must run both.
pub fn enabled(backend: Backend) -> bool {
    let list = std::env::var("MAMORI_TEST_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let on = list
        .split(',')
        .any(|b| b.trim() == format!("{backend:?}").to_lowercase());
    if !on && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but MAMORI_TEST_BACKENDS={list} leaves out {backend:?}");
    }
    on
}

/// Runs one test body on a backend, or says loudly that it was left out.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::support::TestApp::spawn(mamori::db::Backend::Sqlite).await {
                    super::$name(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::spawn(mamori::db::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

static TMP_ROOT: OnceLock<PathBuf> = OnceLock::new();

fn tmp_root() -> &'static PathBuf {
    TMP_ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mamori-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp root");
        // Removed once this test process has exited.
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; rm -rf {}",
            std::process::id(),
            dir.display()
        );
        after_exit(&script);
        dir
    })
}

fn unique_dir(prefix: &str) -> PathBuf {
    let dir = tmp_root().join(format!("{prefix}-{}", mamori::auth::tokens::random_hex(10)));
    std::fs::create_dir_all(&dir).expect("test dir");
    dir
}

static SQLITE_TEMPLATE: OnceLock<PathBuf> = OnceLock::new();

/// A migrated SQLite file made once per run; each test copies it.
fn sqlite_template() -> &'static PathBuf {
    SQLITE_TEMPLATE.get_or_init(|| {
        let path = unique_dir("template").join("template.db");
        let url = mamori::db::DatabaseUrl::Sqlite(path.clone());
        let mut conn = mamori::db::connect(&url).expect("open template");
        mamori::db::run_migrations(&mut conn).expect("migrate template");
        drop(conn);
        path
    })
}

/// A fresh, migrated database URL for the backend.
pub fn fresh_database_url(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let path = unique_dir("db").join("mamori.db");
            std::fs::copy(sqlite_template(), &path).expect("copy template");
            format!("sqlite://{}", path.display())
        }
        Backend::Postgres => postgres::server().fresh_database(),
    }
}

pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub password: String,
}

pub struct TestApp {
    pub address: String,
    pub backend: Backend,
    pub database_url: String,
    pub state: web::Data<AppState>,
    pub data_dir: PathBuf,
    handle: actix_web::dev::ServerHandle,
    counter: std::sync::atomic::AtomicU32,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop without waiting; the runtime ends with the test anyway.
        drop(handle.stop(false));
    }
}

impl TestApp {
    /// Starts the app, or returns `None` when the backend is switched off for this run.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
        // The app's warnings and errors (with their causes) show up in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(std::env::var("MAMORI_TEST_LOG").unwrap_or_else(|_| "mamori=warn".into()))
            .try_init();
        if !enabled(backend) {
            eprintln!("SKIPPED on {backend:?}: not in MAMORI_TEST_BACKENDS");
            return None;
        }
        let database_url = tokio::task::spawn_blocking(move || fresh_database_url(backend))
            .await
            .expect("database");
        let data_dir = unique_dir("data");
        let mut env: HashMap<String, String> = HashMap::from([
            ("MAMORI_DATA_DIR".into(), data_dir.to_string_lossy().into_owned()),
            ("MAMORI_DATABASE_URL".into(), database_url.clone()),
            ("MAMORI_SECRET_KEY".into(), mamori::auth::tokens::random_hex(64)),
            ("MAMORI_DB_POOL_SIZE".into(), "4".into()),
        ]);
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("test config");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = tokio::task::spawn_blocking(move || mamori::server::prepare_state(config, Clock::system()))
            .await
            .expect("join")
            .expect("prepare state");
        let server = mamori::server::serve(listener, state.clone(), Some(1)).expect("serve");
        let handle = server.handle();
        tokio::spawn(server);
        Some(TestApp {
            address: format!("http://127.0.0.1:{port}"),
            backend,
            database_url,
            state,
            data_dir,
            handle,
            counter: std::sync::atomic::AtomicU32::new(0),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// A plain client without cookies, for the API.
    pub fn api_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    /// Reads the CSRF token the server put into a page for this client's session.
    pub async fn csrf_token(&self, client: &reqwest::Client) -> String {
        for path in ["/login", "/setup", "/profile"] {
            let response = self.get(client, path).await;
            if response.status().is_success() {
                let body = response.text().await.expect("body");
                if let Some(token) = extract_csrf(&body) {
                    return token;
                }
            }
        }
        panic!("no page offered a CSRF token");
    }

    /// Posts a form with this session's CSRF token added.
    pub async fn post_form(&self, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token(client).await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        client.post(self.url(path)).form(&all).send().await.expect("POST")
    }

    /// Creates a user directly through the service layer.
    pub async fn create_user(&self, role: Role) -> TestUser {
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!("{}{n}@example.jp", role.as_str());
        let input = UserInput {
            email: email.clone(),
            display_name: format!("{} {n}", role.as_str()),
            role: role.as_str().into(),
            locale: "en".into(),
            time_zone: "Asia/Tokyo".into(),
            password: PASSWORD.into(),
            team_ids: vec![],
        };
        let now = self.state.clock.now();
        let view = self
            .state
            .db(move |conn| mamori::users::service::create(conn, &Actor::system("test"), now, &input))
            .await
            .expect("create user");
        TestUser {
            id: view.id,
            email,
            password: PASSWORD.into(),
        }
    }

    /// A client signed in as a new user of `role`.
    pub async fn login_as(&self, role: Role) -> (reqwest::Client, TestUser) {
        let user = self.create_user(role).await;
        let client = self.client();
        let response = self
            .post_form(
                &client,
                "/login",
                &[("email", &user.email), ("password", &user.password)],
            )
            .await;
        assert_eq!(response.status(), 303, "login of {} failed", user.email);
        (client, user)
    }

    /// A personal API token for `user`.
    pub async fn api_token(&self, user: &TestUser) -> String {
        let id = user.id;
        let now = self.state.clock.now();
        self.state
            .db(move |conn| mamori::users::service::create_token(conn, &Actor::system("test"), now, id, "test"))
            .await
            .expect("token")
            .secret
    }

    /// Runs a closure on a database connection.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut mamori::db::DbConnection) -> T + Send + 'static,
    ) -> T {
        self.state.db(move |conn| Ok(f(conn))).await.expect("db")
    }
}

/// Runs a shell script in its own session; it outlives this process on purpose (it waits for
/// this process to exit, then cleans up), so it is never waited for.
#[allow(clippy::zombie_processes)]
pub fn after_exit(script: &str) {
    std::process::Command::new("setsid")
        .args(["sh", "-c", script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start clean-up watchdog");
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// True when running under CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}
