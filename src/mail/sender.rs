//! The background sender: claims due mails from the outbox one at a time (a lease, so several
//! instances never send the same mail together), renders each at its first attempt (the
//! message, Message-ID included, is kept for every retry), delivers it through lettre's async
//! SMTP transport — or, with no `MAMORI_SMTP_URL`, writes it as an `.eml` file under
//! `<data dir>/mail/outbox/` — and records the attempt with the server's reply. A failure is
//! retried on the schedule of [`super::rules::retry_delay`]; an outage only delays mail.
//!
//! Delivery is at least once: a mail whose delivery succeeded but whose outcome could not be
//! written (the database went away in between) is sent again with the same Message-ID, which
//! mail clients show once.

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::outbox::{self, Mail};
use super::rules::{self, SmtpUrl};
use super::templates::{self, Site};
use crate::db::schema::tickets;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

/// How often an idle sender looks for due mail.
pub const POLL: Duration = Duration::from_secs(2);
/// Most mails one run delivers before it looks again (and lets the others have a turn).
pub const BATCH: usize = 50;
/// Longest wait for the SMTP server at each step; well inside the lease.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where mail goes.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in this folder.
    Files(PathBuf),
}

impl Transport {
    /// SMTP when `MAMORI_SMTP_URL` is set, files under `<data dir>/mail/outbox/` otherwise.
    pub fn from_config(config: &crate::config::Config) -> Result<Self, String> {
        match &config.smtp_url {
            Some(url) => smtp(url).map(Transport::Smtp),
            None => Ok(Transport::Files(config.data_dir.join("mail").join("outbox"))),
        }
    }
}

fn smtp(url: &SmtpUrl) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls_parameters = || TlsParameters::new(url.host.clone()).map_err(|e| format!("TLS for {}: {e}", url.host));
    let tls = match url.tls {
        rules::Tls::None => Tls::None,
        rules::Tls::StartTls => Tls::Required(tls_parameters()?),
        rules::Tls::Wrapper => Tls::Wrapper(tls_parameters()?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.as_str())
        .port(url.port)
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = &url.user {
        builder = builder.credentials(Credentials::new(user.clone(), url.password.clone().unwrap_or_default()));
    }
    Ok(builder.build())
}

/// One sender: its lease name, its transport and the runtime lettre's transport runs on.
pub struct Sender {
    holder: String,
    transport: Transport,
    runtime: tokio::runtime::Runtime,
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Run {
    pub sent: usize,
    pub failed: usize,
}

impl Sender {
    pub fn new(transport: Transport) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Self {
            holder: format!("{}-{}", std::process::id(), crate::auth::tokens::random_hex(8)),
            transport,
            runtime,
        })
    }

    /// Delivers what is due at `now`, up to [`BATCH`] mails, each claimed on its own. Blocking:
    /// call it from a thread of its own (or `spawn_blocking`).
    pub fn run_once(&self, state: &AppState, conn: &mut DbConnection, now: NaiveDateTime) -> Result<Run, AppError> {
        let mut run = Run::default();
        for _ in 0..BATCH {
            let Some(id) = outbox::claim(conn, &self.holder, now, 1)?.pop() else {
                break;
            };
            let mail = outbox::load(conn, id)?;
            let outcome = self.attempt(state, conn, &mail);
            if let Err(e) = &outcome {
                tracing::warn!(mail = id, attempt = mail.row.attempts + 1, error = %e, "mail not delivered");
            }
            let (ok, reply) = match outcome {
                Ok(reply) => (true, reply),
                Err(error) => (false, error),
            };
            crate::db::write_transaction(conn, |conn| {
                outbox::finish(conn, &mail.row, &self.holder, now, ok, &reply)
            })?;
            if ok {
                run.sent += 1;
            } else {
                run.failed += 1;
            }
        }
        Ok(run)
    }

    /// Renders (first attempt only) and delivers one mail: the server's reply, or the error.
    fn attempt(&self, state: &AppState, conn: &mut DbConnection, mail: &Mail) -> Result<String, String> {
        let bytes = match &mail.content.message {
            Some(message) => message.clone().into_bytes(),
            None => {
                let path = ticket_path(conn, mail.row.ticket_id).map_err(|e| e.to_string())?;
                let site = Site {
                    key: &state.config.secret_key,
                    base_url: &state.config.base_url,
                    from: &state.config.mail_from,
                };
                let rendered = templates::render(&state.templates, &site, mail, path.as_deref())?;
                let text = String::from_utf8(rendered.bytes).map_err(|e| format!("message is not UTF-8: {e}"))?;
                outbox::set_message(conn, mail.row.id, &rendered.message_id, &text).map_err(|e| e.to_string())?;
                text.into_bytes()
            }
        };
        match &self.transport {
            Transport::Files(folder) => write_file(folder, &mail.row, &bytes),
            Transport::Smtp(transport) => {
                let from: Mailbox = state
                    .config
                    .mail_from
                    .parse()
                    .map_err(|e| format!("MAMORI_MAIL_FROM: {e}"))?;
                let to = mail.row.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
                let envelope = Envelope::new(Some(from.email), vec![to]).map_err(|e| e.to_string())?;
                let response = self
                    .runtime
                    .block_on(transport.send_raw(&envelope, &bytes))
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ))
            }
        }
    }
}

fn ticket_path(conn: &mut DbConnection, ticket_id: Option<i64>) -> QueryResult<Option<String>> {
    let Some(id) = ticket_id else { return Ok(None) };
    let kind: Option<String> = tickets::table.find(id).select(tickets::kind).first(conn).optional()?;
    Ok(kind
        .as_deref()
        .and_then(crate::tickets::kind::find_str)
        .map(|spec| spec.page(id)))
}

/// `INC-000123-42.eml` (the ticket reference, then the outbox id), written whole or not at all.
fn write_file(folder: &std::path::Path, mail: &outbox::MailRow, bytes: &[u8]) -> Result<String, String> {
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let name = format!("{}-{}.eml", mail.ticket_reference.as_deref().unwrap_or("mail"), mail.id);
    let path = folder.join(&name);
    let partial = folder.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes).map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    std::fs::rename(&partial, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!("written to {}", path.display()))
}

/// Runs a sender on its own thread for the life of the process.
pub fn spawn(state: actix_web::web::Data<AppState>) -> Result<(), String> {
    let transport = Transport::from_config(&state.config)?;
    match &transport {
        Transport::Smtp(_) => tracing::info!("mail is sent through MAMORI_SMTP_URL"),
        Transport::Files(folder) => {
            tracing::info!(folder = %folder.display(), "no MAMORI_SMTP_URL: mail is written as .eml files")
        }
    }
    let sender = Sender::new(transport).map_err(|e| format!("mail sender runtime: {e}"))?;
    std::thread::Builder::new()
        .name("mail-sender".into())
        .spawn(move || loop {
            let result = crate::db::background_connection(&state.pool)
                .map_err(AppError::from)
                .and_then(|mut conn| sender.run_once(&state, &mut conn, state.clock.now()));
            match result {
                Ok(run) if run.sent + run.failed > 0 => {
                    tracing::info!(sent = run.sent, failed = run.failed, "mail sender run")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail sender run failed"),
            }
            std::thread::sleep(POLL);
        })
        .map_err(|e| format!("mail sender thread: {e}"))?;
    Ok(())
}
