//! The `xpr` command: `serve` (default), `migrate`, `export-schema`, `create-admin`.

use std::io::BufRead;

use clap::{Parser, Subcommand};
use xpr_api::{App, Config, config::LogFormat, db, graphql, modules::identity::service, telemetry};

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
            app.serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("shutting down");
            })
            .await?;
        }
        Command::CreateAdmin { handle, email } => {
            telemetry::init(LogFormat::Pretty);
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let app = App::build(cli.config).await?;
            let admin = service::create_admin(&app.state, &handle, &email, password.trim_end_matches(['\r', '\n']))
                .await
                .map_err(|err| anyhow::anyhow!("{}", async_graphql::Error::from(err).message))?;
            tracing::info!(handle = %admin.handle, id = %admin.uuid, "administrator created");
        }
    }
    Ok(())
}
