//! `xpr-bench`: the steps of `bench/run.sh` that talk to a running server —
//! dataset set-up through the API, HTTP load, merges, WebSocket fan-out — and
//! the report. Each measuring step appends one JSON object to a results file;
//! `report` turns that file into the Markdown table.

mod dataset;
mod fanout;
mod gql;
mod load;
mod report;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "XP-R API benchmark steps (driven by bench/run.sh)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the entry kinds (as the admin) and writes the import file.
    Dataset(dataset::Args),
    /// Closed-loop HTTP load: `concurrency` clients send one GraphQL request each, back to back.
    Http(load::Args),
    /// SQL statements one request runs, read from `/metrics`, at each page size.
    Statements(load::StatementArgs),
    /// Approves submissions of each size and times the merge.
    Merge(load::MergeArgs),
    /// Opens WebSocket subscribers, merges, and times the delivery.
    Fanout(fanout::Args),
    /// One of `fanout`'s processes holding sockets (started by `fanout`).
    FanoutWorker(fanout::WorkerArgs),
    /// `fanout --mode floor`'s reference server (started by `fanout`).
    FanoutFloor {
        #[arg(long)]
        bind: String,
        /// One task writes every socket, instead of a task per socket.
        #[arg(long)]
        one_writer: bool,
    },
    /// Writes the Markdown tables and a JSON array of a results file.
    Report {
        results: PathBuf,
        #[arg(long)]
        markdown: PathBuf,
        #[arg(long)]
        json: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command;
    // A worker's sockets on one thread: no wake-ups across threads per frame.
    let mut runtime = match command {
        Command::FanoutWorker(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    runtime.enable_all().build()?.block_on(run(command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dataset(args) => dataset::run(args).await,
        Command::Http(args) => load::http(args).await,
        Command::Statements(args) => load::statements(args).await,
        Command::Merge(args) => load::merge(args).await,
        Command::Fanout(args) => fanout::run(args).await,
        Command::FanoutWorker(args) => fanout::worker(args).await,
        Command::FanoutFloor { bind, one_writer } => fanout::floor(&bind, one_writer).await,
        Command::Report { results, markdown, json } => report::write(&results, &markdown, &json),
    }
}
