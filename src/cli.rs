//! The command line: `mamori serve` (the default), `migrate`, `user create`, `token create`, `seed`,
//! `demo`.

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
    let pool = crate::db::build_pool(&config.database_url, 1, crate::db::BACKGROUND_CHECKOUT)?;
    let mut conn = pool.get()?;
    match command {
        Command::Serve => unreachable!("serve is handled by main"),
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
