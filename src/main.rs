//! `mamori`: config → state → server, or an administrative subcommand.

use std::net::TcpListener;

use clap::Parser;
use mamori::cli::{Cli, Command};
use mamori::config::Config;

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if config.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() {
    mamori::kinds::register();
    let cli = Cli::parse();
    // The gateway runs under the MTA, with no Mamori configuration or data folder of its own.
    if let Some(Command::Mailgate(args)) = &cli.command {
        std::process::exit(mamori::cli::mailgate(args));
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mamori: configuration error: {e}");
            std::process::exit(2);
        }
    };
    init_logging(&config);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        other => mamori::cli::run_admin(config, other),
    };
    if let Err(e) = result {
        eprintln!("mamori: {e:#}");
        std::process::exit(1);
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let base_url = config.base_url.clone();
    let listener =
        TcpListener::bind(&bind).map_err(|e| anyhow::anyhow!("MAMORI_BIND: cannot listen on {bind}: {e}"))?;
    match mamori::server::raise_open_file_limit() {
        Some(limit) => tracing::info!(open_files = limit, "open-file limit"),
        None => tracing::warn!("could not read the open-file limit"),
    }
    let state = mamori::server::prepare_state(config, mamori::clock::Clock::system())?;
    tracing::info!(%bind, base_url = %base_url, backend = ?state.backend, "Mamori is listening");
    mamori::db::spawn_statistics(state.pool.clone());
    mamori::db::spawn_idle_checkpoints(state.pool.clone(), &state.config.database_url);
    mamori::sla::job::spawn(state.pool.clone(), state.clock.clone(), state.config.sla_job_seconds);
    mamori::backup::job::spawn(
        state.pool.clone(),
        state.clock.clone(),
        state.config.data_dir.clone(),
        state.config.backup_job_seconds,
    );
    mamori::mail::sender::spawn(state.clone()).map_err(|e| anyhow::anyhow!("MAMORI_SMTP_URL: {e}"))?;
    let pool = state.pool.clone();
    // actix stops gracefully on SIGTERM and SIGINT: in-flight requests finish, then this returns.
    let served = actix_web::rt::System::new().block_on(async move {
        mamori::server::serve(listener, state, None)?
            .await
            .map_err(anyhow::Error::from)
    });
    // After the server has stopped, so `mamori.db` alone holds every committed change.
    mamori::db::checkpoint_on_shutdown(&pool);
    served
}
