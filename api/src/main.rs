//! The `xpr` command: `serve` (default), `migrate`, `export-schema`, `create-admin`,
//! `import`, `archive-history`, `cleanup-media`.

use std::io::BufRead;

use clap::{Parser, Subcommand};
use xpr_api::{
    App, Config,
    config::LogFormat,
    db,
    error::AppResult,
    graphql,
    modules::{
        identity::{selectors, service},
        media::{self, store::MediaStore},
        versioning,
    },
    telemetry,
};

/// Many small short-lived allocations per request: mimalloc halves their cost
/// against glibc's malloc (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "xpr", version, about = "XP-R API: the GraphQL server of the XP-R knowledge base")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default): migrates the database, then serves HTTP and WebSocket.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) that `schema.graphql` holds.
    ExportSchema,
    /// Create an administrator with a verified email; reads the password from stdin.
    CreateAdmin {
        #[arg(long)]
        handle: String,
        #[arg(long)]
        email: String,
    },
    /// Import a JSON Lines file of changes, merged in chunked transactions (see docs/guides/import.md).
    Import {
        /// The `.jsonl` file.
        file: std::path::PathBuf,
        /// Handle of the moderator or admin the import is made as.
        #[arg(long = "as")]
        operator: String,
        /// Changes per transaction.
        #[arg(long, default_value_t = 100)]
        chunk: usize,
    },
    /// Move snapshots of old revisions to archive storage (they stay readable, flagged `archived`).
    ArchiveHistory {
        /// Only revisions older than this many days.
        #[arg(long, default_value_t = 365)]
        older_than_days: i64,
        /// Always keep the newest this-many revisions of each entry.
        #[arg(long, default_value_t = 50)]
        keep: i32,
        /// Revisions per transaction.
        #[arg(long, default_value_t = 500)]
        batch: u64,
    },
    /// Delete uploaded media that no review uses (rows and stored bytes).
    CleanupMedia {
        /// Only uploads older than this many hours.
        #[arg(long, default_value_t = 24)]
        older_than_hours: i64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::ExportSchema => print!("{}", graphql::sdl()),
        Command::Migrate => {
            telemetry::init(cli.config.log_format);
            db::migrate(&db::connect(&cli.config, 1).await?).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            telemetry::init(cli.config.log_format);
            let listener = tokio::net::TcpListener::bind(cli.config.bind).await?;
            let app = App::build(cli.config).await?;
            app.serve(listener, stop_signal()).await?;
        }
        Command::CreateAdmin { handle, email } => {
            telemetry::init(LogFormat::Pretty);
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let app = App::build(cli.config).await?;
            let password = password.trim_end_matches(['\r', '\n']);
            let admin = service_error(service::create_admin(&app.state, &handle, &email, password).await)?;
            tracing::info!(handle = %admin.handle, id = %admin.uuid, "administrator created");
        }
        Command::Import { file, operator, chunk } => {
            telemetry::init(cli.config.log_format);
            let text = std::fs::read_to_string(&file)?;
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let app = App::build(cli.config).await?;
            let viewer = service_error(selectors::operator(&app.state.db, &operator).await)?;
            let bar = indicatif::ProgressBar::new(lines.len() as u64);
            let report = versioning::import::import(&app.state, &viewer, lines, chunk.max(1), |n| bar.inc(n));
            let report = service_error(report.await)?;
            bar.finish();
            for (line, reason) in &report.failed {
                tracing::warn!(line, reason = %reason, "line not imported");
            }
            tracing::info!(
                applied = report.applied,
                unchanged = report.unchanged,
                failed = report.failed.len(),
                "import done"
            );
        }
        Command::ArchiveHistory { older_than_days, keep, batch } => {
            telemetry::init(cli.config.log_format);
            let db = db::connect(&cli.config, 2).await?;
            db::migrate(&db).await?;
            let bar = indicatif::ProgressBar::new_spinner().with_message("revisions archived");
            let before = chrono::Utc::now() - chrono::Duration::days(older_than_days);
            let archived =
                service_error(versioning::service::archive_history(&db, before, keep, batch, |n| bar.inc(n)).await)?;
            bar.finish();
            tracing::info!(archived, "history archived");
        }
        Command::CleanupMedia { older_than_hours } => {
            telemetry::init(cli.config.log_format);
            let db = db::connect(&cli.config, 2).await?;
            db::migrate(&db).await?;
            let store = MediaStore::from_config(&cli.config)?;
            let bar = indicatif::ProgressBar::new_spinner().with_message("media deleted");
            let before = chrono::Utc::now() - chrono::Duration::hours(older_than_hours);
            let deleted = service_error(
                media::service::cleanup(&db, &store, before, versioning::selectors::open_changes_citing, |n| {
                    bar.inc(n)
                })
                .await,
            )?;
            bar.finish();
            tracing::info!(deleted, "unattached media cleaned up");
        }
    }
    Ok(())
}

/// A service error as the CLI shows it: the same message a client would get.
fn service_error<T>(result: AppResult<T>) -> anyhow::Result<T> {
    result.map_err(|err| anyhow::anyhow!("{}", async_graphql::Error::from(err).message))
}

/// SIGTERM (systemd, Kubernetes, `docker stop`) or Ctrl-C.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
