//! The command line: `mamori serve` (the default), `migrate`, `user create`, `token create`, `seed`,
//! `demo`, `backup [verify]`, `restore`, `export`, `import`, `audit verify`, `audit export`, and
//! `mailgate` (the MTA's pipe into `POST /api/v1/inbound-mail`; it needs no configuration).

use std::io::Read;

use clap::{Args, Parser, Subcommand};

use crate::audit::model::Actor;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::AppError;
use crate::users::model::UserInput;
use crate::users::{queries as user_queries, service as user_service};
use crate::web::i18n::Lang;

#[derive(Parser)]
#[command(
    name = "mamori",
    version,
    about = "Mamori — IT service management for operations teams (運用保守)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web application (the default).
    Serve,
    /// Read one mail on stdin and post it to Mamori (for the MTA: an alias
    /// `mamori: "|/usr/local/bin/mamori mailgate --url https://... --token ..."`). Exit codes
    /// follow sysexits: 0 stored, 75 try again later, 65/69/77 refused for good.
    Mailgate(MailgateArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage personal API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Generate data for benchmarks: N incidents in bulk (1M in minutes).
    Seed {
        #[arg(long)]
        incidents: i64,
    },
    /// Load a realistic demo data set (teams, people, months of incidents, problems and
    /// post-mortems) into an empty database and print the demo sign-ins once.
    Demo,
    /// SLA administration.
    Sla {
        #[command(subcommand)]
        command: SlaCommand,
    },
    /// Write a backup archive (database, attachments, manifest) into a folder; `backup verify`
    /// tests one by restoring it.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        command: Option<BackupCommand>,
        /// Folder for the archive (default: <data dir>/backups).
        #[arg(long)]
        to: Option<std::path::PathBuf>,
    },
    /// Restore a backup archive into the configured database and data folder (stop the app first).
    Restore {
        path: std::path::PathBuf,
        /// Replace a database that already holds data.
        #[arg(long)]
        force: bool,
    },
    /// Write everything (every table and attachment) into one portable file, for `import` on
    /// either backend.
    Export {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Load a file written by `export` into the configured database (SQLite or PostgreSQL).
    Import {
        file: std::path::PathBuf,
        /// Replace a database that already holds data.
        #[arg(long)]
        force: bool,
    },
    /// The audit log's hash chain: verify it, export it.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Args)]
pub struct MailgateArgs {
    /// Mamori's address (`https://mamori.example.jp`).
    #[arg(long)]
    pub url: String,
    /// An API token of a user who may file incidents.
    #[arg(long, env = "MAMORI_MAILGATE_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Team (name or id) of the incidents this address opens.
    #[arg(long)]
    pub team: Option<String>,
    /// `new`: always a new incident; `comment`: only comments on known tickets.
    #[arg(long, value_parser = ["new", "comment"])]
    pub action: Option<String>,
    /// Seconds to wait for Mamori before asking the MTA to try again.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

/// sysexits.h: the MTA bounces on 65/69/77 and retries on 75.
pub mod exit {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 64;
    pub const DATAERR: i32 = 65;
    pub const UNAVAILABLE: i32 = 69;
    pub const IOERR: i32 = 74;
    pub const TEMPFAIL: i32 = 75;
    pub const NOPERM: i32 = 77;
}

/// The exit code for an HTTP status from Mamori.
pub fn mailgate_exit_code(status: u16) -> i32 {
    match status {
        200..=299 => exit::OK,
        // Not authorised: the alias's token is wrong or lacks the permission.
        401 | 403 => exit::NOPERM,
        // Too large, not readable as mail, or a bad --team/--action.
        400 | 413 | 415 | 422 => exit::DATAERR,
        // Timeouts, rate limits, conflicts of a retry in flight: try again.
        408 | 409 | 425 | 429 => exit::TEMPFAIL,
        500..=599 => exit::TEMPFAIL,
        _ => exit::UNAVAILABLE,
    }
}

/// `mamori mailgate`: one message from stdin to `POST /api/v1/inbound-mail`. Returns the exit
/// code; messages go to stderr, where the MTA puts them into its bounce or log.
pub fn mailgate(args: &MailgateArgs) -> i32 {
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut raw) {
        eprintln!("mamori mailgate: cannot read the message from stdin: {e}");
        return exit::IOERR;
    }
    let mut url = match url::Url::parse(args.url.trim_end_matches('/')) {
        Ok(url) if url.scheme() == "http" || url.scheme() == "https" => url,
        _ => {
            eprintln!("mamori mailgate: --url must be Mamori's http:// or https:// address");
            return exit::USAGE;
        }
    };
    if !url.path().ends_with("/api/v1/inbound-mail") {
        let path = format!("{}/api/v1/inbound-mail", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    {
        let mut query = url.query_pairs_mut();
        if let Some(team) = &args.team {
            query.append_pair("team", team);
        }
        if let Some(action) = &args.action {
            query.append_pair("action", action);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let client = match reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(args.timeout))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("mamori mailgate: cannot start an HTTP client: {e}");
            return exit::TEMPFAIL;
        }
    };
    let response = client
        .post(url.clone())
        .bearer_auth(args.token.trim())
        .header("Content-Type", "message/rfc822")
        .body(raw)
        .send();
    let response = match response {
        Ok(response) => response,
        Err(e) => {
            // Server down, refused, timed out: the MTA keeps the message and tries again.
            eprintln!(
                "mamori mailgate: cannot reach {}: {e}; the mail server will try again",
                args.url
            );
            return exit::TEMPFAIL;
        }
    };
    let status = response.status().as_u16();
    let body = response.text().unwrap_or_default();
    let code = mailgate_exit_code(status);
    let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if code == exit::OK {
        println!(
            "stored as received mail {}: {} {}",
            value["id"],
            value["outcome"].as_str().unwrap_or(""),
            value["ticket_reference"].as_str().unwrap_or("")
        );
    } else {
        let message = value["error"]["message"].as_str().map(str::to_string).unwrap_or(body);
        eprintln!("mamori mailgate: Mamori answered {status}: {message}");
    }
    code
}

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Restore an archive into a scratch database and compare it with its manifest; exits
    /// non-zero naming the first difference.
    Verify { path: std::path::PathBuf },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the whole hash chain; exit non-zero at the first broken link (its row id and what
    /// differs), exit 0 with the number of rows when it is intact.
    Verify,
    /// Write the log as JSON lines (one object per row, with its hash and previous hash).
    Export {
        /// Only rows with an id above this one (where the last export ended).
        #[arg(long)]
        since: Option<i64>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        to: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum SlaCommand {
    /// Recompute every incident's SLA clocks from its history (after changing calendars or
    /// policies outside the app, or to check the stored figures).
    Recompute,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create(UserCreate),
}

#[derive(Args)]
pub struct UserCreate {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// helpdesk | engineer | manager | admin
    #[arg(long)]
    pub role: String,
    /// Team name; repeat for several teams.
    #[arg(long = "team")]
    pub teams: Vec<String>,
    /// ja | en
    #[arg(long, default_value = "ja")]
    pub locale: String,
    #[arg(long, default_value = "Asia/Tokyo")]
    pub time_zone: String,
    /// Read the password from standard input (required: passwords never go on the command line).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (alone, on the last line).
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
    },
}

/// Runs an administrative command against the configured database.
pub fn run_admin(config: Config, command: Command) -> anyhow::Result<()> {
    crate::kinds::register();
    let pool = crate::db::build_pool(&config.database_url, 1, crate::db::BACKGROUND_CHECKOUT)?;
    let mut conn = pool.get()?;
    match command {
        Command::Serve | Command::Mailgate(_) => unreachable!("serve and mailgate are handled by main"),
        Command::Backup {
            command: Some(BackupCommand::Verify { path }),
            ..
        } => {
            let started = std::time::Instant::now();
            let manifest = crate::backup::service::verify(&path)?;
            println!(
                "verified {} in {:.1}s: {} files, {} rows, {} attachments",
                path.display(),
                started.elapsed().as_secs_f64(),
                manifest.files.len(),
                manifest.tables.values().sum::<i64>(),
                manifest.attachments
            );
        }
        Command::Backup { command: None, to } => {
            crate::db::run_migrations(&mut conn)?;
            let started = std::time::Instant::now();
            let to = to.unwrap_or_else(|| config.data_dir.join("backups"));
            let made = crate::backup::service::backup(&mut conn, &config.data_dir, &to, Clock::system().now())?;
            eprintln!(
                "backed up {} rows and {} attachments ({}, {} bytes) in {:.1}s",
                made.manifest.tables.values().sum::<i64>(),
                made.manifest.attachments,
                made.manifest.method,
                made.size_bytes,
                started.elapsed().as_secs_f64()
            );
            println!("{}", made.path.display());
        }
        Command::Restore { path, force } => {
            let started = std::time::Instant::now();
            let manifest =
                crate::backup::service::restore(&mut conn, &config.data_dir, &path, force, Clock::system().now())?;
            println!(
                "restored {} ({}) in {:.1}s: {} rows, {} attachments",
                path.display(),
                manifest.created_at,
                started.elapsed().as_secs_f64(),
                manifest.tables.values().sum::<i64>(),
                manifest.attachments
            );
        }
        Command::Export { to } => {
            crate::db::run_migrations(&mut conn)?;
            let started = std::time::Instant::now();
            let counts = crate::backup::service::export(&mut conn, &config.data_dir, &to)?;
            println!(
                "exported {} rows to {} in {:.1}s",
                counts.values().sum::<i64>(),
                to.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Import { file, force } => {
            let started = std::time::Instant::now();
            let counts =
                crate::backup::service::import(&mut conn, &config.data_dir, &file, force, Clock::system().now())?;
            println!(
                "imported {} rows from {} in {:.1}s",
                counts.values().sum::<i64>(),
                file.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Migrate => {
            crate::db::check_postgres_locale(&mut conn);
            let applied = crate::db::run_migrations(&mut conn)?;
            if applied.is_empty() {
                println!("database is up to date");
            } else {
                for name in applied {
                    println!("applied {name}");
                }
            }
        }
        Command::User {
            command: UserCommand::Create(args),
        } => {
            crate::db::run_migrations(&mut conn)?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.strip_suffix('\n').unwrap_or(&password);
            let password = password.strip_suffix('\r').unwrap_or(password).to_string();
            let mut team_ids = Vec::new();
            for team in &args.teams {
                match crate::teams::queries::find_by_name(&mut conn, team.trim())? {
                    Some(t) => team_ids.push(t.id),
                    None => anyhow::bail!("team: no team named '{team}'"),
                }
            }
            let input = UserInput {
                email: args.email,
                display_name: args.name,
                role: args.role,
                locale: args.locale,
                time_zone: args.time_zone,
                password,
                team_ids,
            };
            let user = user_service::create(&mut conn, &Actor::system("cli"), Clock::system().now(), &input)
                .map_err(describe)?;
            println!("created user {} ({}, {})", user.email, user.role, user.id);
        }
        Command::Seed { incidents } => {
            crate::db::run_migrations(&mut conn)?;
            if !(1..=50_000_000).contains(&incidents) {
                anyhow::bail!("incidents: must be between 1 and 50000000");
            }
            let reporter = seed_user(&mut conn)?;
            let started = std::time::Instant::now();
            let mut done = 0;
            while done < incidents {
                // Chunks keep each transaction (and SQLite's WAL) bounded.
                let chunk = (incidents - done).min(100_000);
                crate::incidents::queries::bulk_seed(&mut conn, chunk, reporter, Clock::system().now())?;
                done += chunk;
                eprintln!(
                    "seeded {done}/{incidents} incidents ({:.1}s)",
                    started.elapsed().as_secs_f64()
                );
            }
            audit_bulk(&mut conn, "incident.seed", incidents)?;
            crate::reports::rollup::rebuild_all(&mut conn).map_err(describe)?;
            crate::tickets::queries::compact_search_index(&mut conn)?;
            crate::db::after_bulk_load(&mut conn)?;
            println!(
                "seeded {incidents} incidents in {:.1}s",
                started.elapsed().as_secs_f64()
            );
        }
        Command::Sla {
            command: SlaCommand::Recompute,
        } => {
            crate::db::run_migrations(&mut conn)?;
            let started = std::time::Instant::now();
            let count = crate::sla::service::recompute_all(&mut conn, Clock::system().now()).map_err(describe)?;
            crate::reports::rollup::rebuild_all(&mut conn).map_err(describe)?;
            audit_bulk(&mut conn, "sla.recompute", count as i64)?;
            println!(
                "recomputed the SLA clocks of {count} incidents in {:.1}s",
                started.elapsed().as_secs_f64()
            );
        }
        Command::Demo => {
            crate::db::run_migrations(&mut conn)?;
            let started = std::time::Instant::now();
            let report = crate::demo::load(&mut conn, Clock::system().now()).map_err(describe)?;
            println!(
                "loaded the demo in {:.1}s: {} teams, {} people, {} incidents, {} problems, {} post-mortems",
                started.elapsed().as_secs_f64(),
                report.teams,
                report.accounts.len(),
                report.incidents,
                report.problems,
                report.postmortems
            );
            println!();
            println!(
                "Sign in at {} with any of these accounts.",
                config.base_url.join("/login")?
            );
            println!("They share one password, shown only now (only its hash is stored):");
            println!();
            println!("  password: {}", report.password);
            println!();
            for (email, role, name) in &report.accounts {
                println!("  {role:<9} {email:<40} {name}");
            }
        }
        Command::Audit { command } => {
            crate::db::run_migrations(&mut conn)?;
            run_audit(&mut conn, command)?;
        }
        Command::Token {
            command: TokenCommand::Create { user, name },
        } => {
            crate::db::run_migrations(&mut conn)?;
            let owner = user_service::find_by_email(&mut conn, &user).map_err(|e| match e {
                AppError::NotFound => anyhow::anyhow!("user: no user with e-mail '{user}'"),
                other => describe(other),
            })?;
            let _ = user_queries::find(&mut conn, owner.id)?;
            let created =
                user_service::create_token(&mut conn, &Actor::system("cli"), Clock::system().now(), owner.id, &name)
                    .map_err(describe)?;
            eprintln!(
                "token '{}' for {} — store it now, it is not shown again:",
                created.token.name, owner.email
            );
            println!("{}", created.secret);
        }
    }
    Ok(())
}

/// `mamori audit verify|export`.
fn run_audit(conn: &mut crate::db::DbConnection, command: AuditCommand) -> anyhow::Result<()> {
    use crate::audit::service as audit;
    use std::io::Write;
    match command {
        AuditCommand::Verify => {
            audit::seal_backlog(conn).map_err(describe)?;
            let clock = Clock::system();
            let result = audit::verify(conn, "cli", || clock.now()).map_err(describe)?;
            if !result.intact {
                anyhow::bail!(
                    "audit log broken at row {}: {} ({} rows verified before it)",
                    result.broken_id.unwrap_or_default(),
                    result.detail.unwrap_or_default(),
                    result.rows_checked
                );
            }
            println!("audit log intact: {} rows verified", result.rows_checked);
        }
        AuditCommand::Export { since, to } => {
            let mut out: Box<dyn std::io::Write> = match &to {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).map_err(|e| anyhow::anyhow!("--to {}: {e}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let (mut after, mut rows) = (since.unwrap_or(i64::MIN), 0_u64);
            while let Some((lines, last)) = audit::export_batch(conn, after).map_err(describe)? {
                out.write_all(lines.as_bytes())?;
                rows += lines.matches('\n').count() as u64;
                after = last;
            }
            out.flush()?;
            if to.is_some() {
                eprintln!("exported {rows} audit rows");
            }
        }
    }
    Ok(())
}

/// A service error as a line per field, in English.
fn describe(err: AppError) -> anyhow::Error {
    match err {
        AppError::Validation(errors) => {
            let lines: Vec<String> = errors
                .0
                .iter()
                .map(|(field, msg)| format!("{field}: {}", msg.translate(Lang::En)))
                .collect();
            anyhow::anyhow!(lines.join("\n"))
        }
        AppError::Internal(cause) => cause,
        other => anyhow::anyhow!(other.to_string()),
    }
}

/// The reporter of generated incidents: an engineer account that cannot sign in by itself
/// (random password, never shown).
fn seed_user(conn: &mut crate::db::DbConnection) -> anyhow::Result<i64> {
    const EMAIL: &str = "seed-bot@mamori.invalid";
    if let Some(user) = user_queries::find_by_email(conn, EMAIL)? {
        return Ok(user.id);
    }
    let input = UserInput {
        email: EMAIL.into(),
        display_name: "Seed bot".into(),
        role: "engineer".into(),
        locale: "en".into(),
        time_zone: "Asia/Tokyo".into(),
        password: crate::auth::tokens::random_hex(40),
        team_ids: vec![],
    };
    Ok(
        user_service::create(conn, &Actor::system("cli"), Clock::system().now(), &input)
            .map_err(describe)?
            .id,
    )
}

/// Audits a bulk command on incidents (seed, recompute) as one row with the count.
fn audit_bulk(conn: &mut crate::db::DbConnection, action: &str, count: i64) -> anyhow::Result<()> {
    let (actor, now) = (Actor::system("cli"), Clock::system().now());
    crate::db::write_transaction(conn, |conn| {
        crate::audit::service::record(
            conn,
            &actor,
            now,
            action,
            "incident",
            "*",
            None::<&()>,
            Some(&serde_json::json!({ "count": count })),
        )
    })
    .map_err(describe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailgate_exit_codes_follow_sysexits() {
        assert_eq!(mailgate_exit_code(201), exit::OK);
        for temporary in [500, 502, 503, 504, 507, 429, 408] {
            assert_eq!(mailgate_exit_code(temporary), exit::TEMPFAIL, "{temporary}");
        }
        assert_eq!(mailgate_exit_code(413), exit::DATAERR);
        assert_eq!(mailgate_exit_code(422), exit::DATAERR);
        assert_eq!(mailgate_exit_code(401), exit::NOPERM);
        assert_eq!(mailgate_exit_code(403), exit::NOPERM);
        assert_eq!(mailgate_exit_code(404), exit::UNAVAILABLE);
    }
}
