//! Typed configuration, read once at start-up from environment variables.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MAMORI_DATA_DIR` | `./data` | data folder (SQLite file, secret key); created on first start |
//! | `MAMORI_DATABASE_URL` | `sqlite://<data dir>/mamori.db` | `sqlite://PATH` or `postgres://...` |
//! | `MAMORI_BIND` | `127.0.0.1:8080` | address and port to listen on |
//! | `MAMORI_BASE_URL` | `http://<bind>` | public address, for links in mails; `https://` turns on `Secure` cookies and HSTS |
//! | `MAMORI_SECRET_KEY` | generated into `<data dir>/secret_key` | session key, at least 32 bytes; share it between instances |
//! | `MAMORI_SESSION_IDLE_MINUTES` | `120` | a session unused this long must log in again |
//! | `MAMORI_SESSION_MAX_HOURS` | `12` | a session this old must log in again, however busy |
//! | `MAMORI_DB_POOL_SIZE` | `8` | connections per instance |
//! | `MAMORI_MAX_UPLOAD_MB` | `20` | largest attachment accepted |
//! | `MAMORI_UPLOADS_PER_MINUTE` | `30` | attachments one person may upload in any minute (then 429 with `Retry-After`) |
//! | `MAMORI_STORAGE_QUOTA_MB` | `10240` | total size of all attachments (then 507); `0`: no quota |
//! | `MAMORI_SLA_JOB_SECONDS` | `60` | how often the SLA job looks for warnings, breaches and due escalation levels (`0`: never, in this instance) |
//! | `MAMORI_BACKUP_JOB_SECONDS` | `60` | how often this instance looks whether the scheduled backup (set on `/admin/backups`) is due (`0`: never, in this instance; one instance of several runs each backup, through a lease) |
//! | `MAMORI_TRUST_PROXY_HEADERS` | `false` | take the client IP from `X-Forwarded-For` (only behind your own proxy) |
//! | `MAMORI_REQUEST_TIMEOUT_SECONDS` | `30` | longest wait for a request's headers, and for each next piece of its body (408, connection closed) |
//! | `MAMORI_MAX_CONNECTIONS_PER_IP` | `100` | open connections one client address may hold; past it a request gets 429 and the connection is closed (not applied behind a trusted proxy) |
//! | `MAMORI_DB_CHECKOUT_TIMEOUT_MS` | `2000` | longest wait of a request for a database connection before it gets 503 |
//! | `MAMORI_MAIL_MAX_BYTES` | `26214400` (25 MB) | largest incoming mail `POST /api/v1/inbound-mail` accepts (then 413) |
//! | `MAMORI_MAIL_DEFAULT_TEAM` | the first team | team (by name) of incidents opened from mail when the gateway names none |
//! | `MAMORI_MAIL_REPLY_TO_CLOSED` | `new` | a mail reply to a resolved or closed ticket: `new` (a new incident linked to it) or `reopen` (reopens a resolved incident) |
//! | `MAMORI_SMTP_URL` | none: mail is written as `.eml` files under `<data dir>/mail/outbox/` | `smtp://host:25`, `smtp://host:587?tls=starttls` or `smtps://user:pass@host:465` |
//! | `MAMORI_MAIL_FROM` | `mamori@<host of MAMORI_BASE_URL>` | sender of every mail (`Name <address>` or an address) |
//! | `MAMORI_LOG` | `info` | log filter (tracing `EnvFilter` syntax) |
//! | `MAMORI_LOG_FORMAT` | `text` | `text` or `json` |
//!
//! A bad value stops start-up with one line naming the variable.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};

use crate::db::DatabaseUrl;

#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub bind: String,
    pub base_url: url::Url,
    pub secret_key: Vec<u8>,
    pub session_idle_minutes: i64,
    /// Absolute session lifetime from sign-in.
    pub session_max_hours: i64,
    pub db_pool_size: u32,
    pub max_upload_bytes: usize,
    /// Uploads one user may make in any 60 seconds.
    pub uploads_per_minute: i64,
    /// Total bytes of all attachments; `None`: no quota.
    pub storage_quota_bytes: Option<i64>,
    /// Seconds between SLA job runs; 0 switches the job off in this instance.
    pub sla_job_seconds: u64,
    /// Seconds between looks whether the scheduled backup is due; 0 switches it off here.
    pub backup_job_seconds: u64,
    pub trust_proxy_headers: bool,
    /// Seconds allowed for a request's headers, and between two pieces of its body.
    pub request_timeout_seconds: u64,
    /// Open connections per client address (the socket peer); not applied behind a trusted proxy.
    pub max_connections_per_ip: u32,
    /// Milliseconds a request waits for a pooled database connection.
    pub db_checkout_timeout_ms: u64,
    /// Largest incoming mail in bytes.
    pub mail_max_bytes: usize,
    /// Team name for incidents from mail when the gateway names none; `None`: the first team.
    pub mail_default_team: Option<String>,
    /// `MAMORI_MAIL_REPLY_TO_CLOSED=reopen`: a reply reopens a resolved incident (else a new one).
    pub mail_reply_reopens: bool,
    /// The SMTP relay; `None`: mail is written as `.eml` files.
    pub smtp_url: Option<crate::mail::rules::SmtpUrl>,
    pub mail_from: String,
    pub log_filter: String,
    pub log_json: bool,
}

impl std::fmt::Debug for Config {
    // The secret key is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url.as_str())
            .field("secret_key", &"<hidden>")
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_max_hours", &self.session_max_hours)
            .field("db_pool_size", &self.db_pool_size)
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("request_timeout_seconds", &self.request_timeout_seconds)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("db_checkout_timeout_ms", &self.db_checkout_timeout_ms)
            .field("smtp_url", &self.smtp_url)
            .field("mail_from", &self.mail_from)
            .finish()
    }
}

/// A configuration error always names the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`; creates the data folder and, when no key is
    /// configured, the persisted secret key.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

        let data_dir = PathBuf::from(get("MAMORI_DATA_DIR").unwrap_or_else(|| "./data".into()));
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| bad("MAMORI_DATA_DIR", format!("cannot create {}: {e}", data_dir.display())))?;

        let database_url = match get("MAMORI_DATABASE_URL") {
            Some(raw) => DatabaseUrl::parse(&raw).map_err(|m| bad("MAMORI_DATABASE_URL", m))?,
            None => DatabaseUrl::Sqlite(data_dir.join("mamori.db")),
        };

        let bind = get("MAMORI_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        if !bind.to_socket_addrs().is_ok_and(|mut addrs| addrs.next().is_some()) {
            return Err(bad("MAMORI_BIND", format!("'{bind}' is not a host:port address")));
        }

        let base_url = match get("MAMORI_BASE_URL") {
            Some(raw) => {
                let url =
                    url::Url::parse(&raw).map_err(|e| bad("MAMORI_BASE_URL", format!("'{raw}' is not a URL: {e}")))?;
                if url.scheme() != "http" && url.scheme() != "https" {
                    return Err(bad("MAMORI_BASE_URL", "must start with http:// or https://"));
                }
                url
            }
            None => url::Url::parse(&format!("http://{bind}"))
                .map_err(|e| bad("MAMORI_BIND", format!("cannot derive a base URL from '{bind}': {e}")))?,
        };

        let secret_key = match get("MAMORI_SECRET_KEY") {
            Some(key) if key.len() >= 32 => key.into_bytes(),
            Some(_) => return Err(bad("MAMORI_SECRET_KEY", "must be at least 32 characters")),
            None => load_or_create_secret(&data_dir).map_err(|m| bad("MAMORI_SECRET_KEY", m))?,
        };

        let session_idle_minutes = parse_number(&get, "MAMORI_SESSION_IDLE_MINUTES", 120, 1, 60 * 24 * 30)?;
        let session_max_hours = parse_number(&get, "MAMORI_SESSION_MAX_HOURS", 12, 1, 24 * 30)?;
        let db_pool_size = parse_number(&get, "MAMORI_DB_POOL_SIZE", 8, 1, 256)? as u32;
        let max_upload_bytes = parse_number(&get, "MAMORI_MAX_UPLOAD_MB", 20, 1, 1024)? as usize * 1024 * 1024;
        let uploads_per_minute = parse_number(&get, "MAMORI_UPLOADS_PER_MINUTE", 30, 1, 100_000)?;
        let storage_quota_bytes = match parse_number(&get, "MAMORI_STORAGE_QUOTA_MB", 10_240, 0, 1 << 30)? {
            0 => None,
            mb => Some(mb * 1024 * 1024),
        };
        let sla_job_seconds = parse_number(&get, "MAMORI_SLA_JOB_SECONDS", 60, 0, 86_400)? as u64;
        let backup_job_seconds = parse_number(&get, "MAMORI_BACKUP_JOB_SECONDS", 60, 0, 86_400)? as u64;
        let trust_proxy_headers = parse_bool(&get, "MAMORI_TRUST_PROXY_HEADERS", false)?;
        let request_timeout_seconds = parse_number(&get, "MAMORI_REQUEST_TIMEOUT_SECONDS", 30, 1, 3600)? as u64;
        let max_connections_per_ip = parse_number(&get, "MAMORI_MAX_CONNECTIONS_PER_IP", 100, 1, 1_000_000)? as u32;
        let db_checkout_timeout_ms = parse_number(&get, "MAMORI_DB_CHECKOUT_TIMEOUT_MS", 2000, 100, 60_000)? as u64;
        let mail_max_bytes = parse_number(&get, "MAMORI_MAIL_MAX_BYTES", 25 * 1024 * 1024, 1024, 1 << 30)? as usize;
        let mail_default_team = get("MAMORI_MAIL_DEFAULT_TEAM");
        let mail_reply_reopens = match get("MAMORI_MAIL_REPLY_TO_CLOSED").as_deref() {
            None | Some("new") => false,
            Some("reopen") => true,
            Some(other) => {
                return Err(bad(
                    "MAMORI_MAIL_REPLY_TO_CLOSED",
                    format!("'{other}' is not 'new' or 'reopen'"),
                ))
            }
        };
        let smtp_url = get("MAMORI_SMTP_URL")
            .map(|raw| crate::mail::rules::SmtpUrl::parse(&raw))
            .transpose()
            .map_err(|m| bad("MAMORI_SMTP_URL", m))?;
        let mail_from = get("MAMORI_MAIL_FROM").unwrap_or_else(|| crate::mail::rules::default_from(&base_url));
        if let Err(e) = mail_from.parse::<lettre::message::Mailbox>() {
            return Err(bad(
                "MAMORI_MAIL_FROM",
                format!("'{mail_from}' is not a mail address: {e}"),
            ));
        }
        let log_filter = get("MAMORI_LOG").unwrap_or_else(|| "info".into());
        let log_json = match get("MAMORI_LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => return Err(bad("MAMORI_LOG_FORMAT", format!("'{other}' is not 'text' or 'json'"))),
        };

        Ok(Self {
            data_dir,
            database_url,
            bind,
            base_url,
            secret_key,
            session_idle_minutes,
            session_max_hours,
            db_pool_size,
            max_upload_bytes,
            uploads_per_minute,
            storage_quota_bytes,
            sla_job_seconds,
            backup_job_seconds,
            trust_proxy_headers,
            request_timeout_seconds,
            max_connections_per_ip,
            db_checkout_timeout_ms,
            mail_max_bytes,
            mail_default_team,
            mail_reply_reopens,
            smtp_url,
            mail_from,
            log_filter,
            log_json,
        })
    }

    /// Cookies get the `Secure` flag when the public address is https; plain http stays usable
    /// for a local start.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

fn parse_number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(bad(
                var,
                format!("'{raw}' is not a whole number between {min} and {max}"),
            )),
        },
    }
}

fn parse_bool(get: &impl Fn(&str) -> Option<String>, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(var).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(bad(var, format!("'{other}' is not true or false"))),
    }
}

fn load_or_create_secret(data_dir: &Path) -> Result<Vec<u8>, String> {
    let path = data_dir.join("secret_key");
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(format!(
                "{} is shorter than 32 characters; delete it to generate a new one",
                path.display()
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let key = crate::auth::tokens::random_hex(64);
    write_private(&path, key.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("mamori-config-{}", crate::auth::tokens::random_hex(8)));
        let mut map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        map.entry("MAMORI_DATA_DIR".into())
            .or_insert(dir.to_string_lossy().into_owned());
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let config = load(&[]).unwrap();
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.base_url.as_str(), "http://127.0.0.1:8080/");
        assert!(matches!(config.database_url, DatabaseUrl::Sqlite(ref p) if p.ends_with("mamori.db")));
        assert!(!config.secure_cookies());
        assert!(config.secret_key.len() >= 32);
        assert!(config.smtp_url.is_none(), "mail is written to files by default");
        assert_eq!(config.mail_from, "mamori@127.0.0.1");
        // The generated key is kept, so sessions survive a restart.
        let again =
            Config::from_lookup(|k| (k == "MAMORI_DATA_DIR").then(|| config.data_dir.to_string_lossy().into_owned()))
                .unwrap();
        assert_eq!(again.secret_key, config.secret_key);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("MAMORI_BIND", "not an address"),
            ("MAMORI_DATABASE_URL", "mysql://x"),
            ("MAMORI_BASE_URL", "ftp://example.com"),
            ("MAMORI_SECRET_KEY", "short"),
            ("MAMORI_SESSION_IDLE_MINUTES", "0"),
            ("MAMORI_DB_POOL_SIZE", "many"),
            ("MAMORI_MAX_UPLOAD_MB", "0"),
            ("MAMORI_TRUST_PROXY_HEADERS", "perhaps"),
            ("MAMORI_REQUEST_TIMEOUT_SECONDS", "0"),
            ("MAMORI_MAX_CONNECTIONS_PER_IP", "none"),
            ("MAMORI_DB_CHECKOUT_TIMEOUT_MS", "5"),
            ("MAMORI_LOG_FORMAT", "xml"),
            ("MAMORI_SMTP_URL", "mail.example.jp:25"),
            ("MAMORI_SMTP_URL", "smtp://relay:587?tls=maybe"),
            ("MAMORI_MAIL_FROM", "not an address"),
        ] {
            let err = load(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn https_base_url_means_secure_cookies() {
        let config = load(&[("MAMORI_BASE_URL", "https://itsm.example.co.jp")]).unwrap();
        assert!(config.secure_cookies());
    }

    #[test]
    fn database_url_picks_backend_by_scheme_and_hides_password() {
        let config = load(&[("MAMORI_DATABASE_URL", "postgres://mamori:s3cret@db.internal/mamori")]).unwrap();
        assert_eq!(config.database_url.backend(), crate::db::Backend::Postgres);
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
