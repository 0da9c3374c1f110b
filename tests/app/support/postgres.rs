//! A throwaway PostgreSQL for the test run: `MAMORI_TEST_DATABASE_URL` when set, else a private
//! cluster from the system's initdb/pg_ctl (run as the `postgres` user when we are root),
//! stopped and deleted by a watchdog once the test process exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

pub struct PgServer {
    /// URL of the maintenance database, used to create test databases.
    admin_url: String,
    template: String,
    create_lock: Mutex<()>,
    counter: AtomicU32,
}

static SERVER: OnceLock<PgServer> = OnceLock::new();

pub fn server() -> &'static PgServer {
    SERVER.get_or_init(|| {
        let admin_url = match std::env::var("MAMORI_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => start_cluster(),
        };
        let template = format!("mamori_tpl_{}", std::process::id());
        let mut admin =
            PgConnection::establish(&admin_url).unwrap_or_else(|e| panic!("cannot reach test PostgreSQL: {e}"));
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {template}"))
            .expect("drop old template");
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {template} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            ))
            .expect("create template database");
        let template_url = database_url(&admin_url, &template);
        let url = mamori::db::DatabaseUrl::parse(&template_url).expect("url");
        let mut conn = mamori::db::connect(&url).expect("connect to template");
        mamori::db::run_migrations(&mut conn).expect("migrate template");
        drop(conn);
        PgServer {
            admin_url,
            template,
            create_lock: Mutex::new(()),
            counter: AtomicU32::new(0),
        }
    })
}

impl PgServer {
    /// A new database cloned from the migrated template; returns its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "mamori_t{}_{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        );
        // CREATE DATABASE ... TEMPLATE refuses while another copy of the template is running.
        let _guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut admin = PgConnection::establish(&self.admin_url).expect("admin connection");
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", self.template))
            .expect("create test database");
        database_url(&self.admin_url, &name)
    }

    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// An empty database (no migrations), for the migration tests.
    pub fn empty_database(&self) -> String {
        let name = format!(
            "mamori_e{}_{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::establish(&self.admin_url).expect("admin connection");
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            ))
            .expect("create");
        database_url(&self.admin_url, &name)
    }
}

fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("admin url");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn find_bin(name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin").join(name)))
        .filter(|p| p.is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the postgres user when we are root (initdb refuses root).
fn pg_command(bin: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin);
        cmd
    } else {
        Command::new(bin)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start_cluster() -> String {
    let missing = "PostgreSQL server binaries (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql/*/bin. \
                   Install them (Debian: apt-get install postgresql) or set MAMORI_TEST_DATABASE_URL, \
                   or run only SQLite with MAMORI_TEST_BACKENDS=sqlite (not allowed in CI).";
    let initdb = find_bin("initdb").expect(missing);
    let pg_ctl = find_bin("pg_ctl").expect(missing);
    let as_postgres = is_root();
    let dir = std::env::temp_dir().join(format!("mamori-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cluster dir");
    if as_postgres {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown of {} failed", dir.display());
    }
    let data = dir.join("data");
    let out = pg_command(&initdb, as_postgres)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        dir.display()
    );
    let out = pg_command(&pg_ctl, as_postgres)
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("server.log"))
        .args(["-w", "-t", "60", "start"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("run pg_ctl");
    assert!(
        out.status.success(),
        "pg_ctl start failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
    // Stop and delete the cluster when this test process is gone, however it ends.
    let runas = if as_postgres { "runuser -u postgres -- " } else { "" };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runas}{pg_ctl} -D {data} stop -m immediate >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        pg_ctl = pg_ctl.display(),
        data = data.display(),
        dir = dir.display(),
    );
    super::after_exit(&script);
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}
