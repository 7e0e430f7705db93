//! WebSocket fan-out: many authenticated `graphql-transport-ws` subscribers,
//! a merge, and the time until each of them has the event; plus the servers'
//! resident memory per open subscription.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::gql::{Client, percentiles, record};

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    /// Every socket on `entryUpdated` of the one entry.
    Entry,
    /// Every socket on its user's `notificationReceived`; every user watches the entry.
    Notification,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    name: String,
    /// Server base URL; given several times, sockets are spread round-robin.
    #[arg(long, required = true)]
    url: Vec<String>,
    /// Server process ids, for their resident memory.
    #[arg(long)]
    pid: Vec<u32>,
    #[arg(long, value_enum, default_value = "entry")]
    mode: Mode,
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Users `{user_prefix}0..{users}` sign in, each holding several sockets.
    #[arg(long, default_value = "bench_user_")]
    user_prefix: String,
    #[arg(long, default_value_t = 1000)]
    users: usize,
    #[arg(long)]
    password: String,
    /// Who merges (a moderator: merged on submit).
    #[arg(long)]
    moderator: String,
    /// The entry the merges change.
    #[arg(long)]
    entry: String,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    #[arg(long)]
    out: PathBuf,
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmRSS")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn text(socket: &mut Socket, value: Value) -> anyhow::Result<()> {
    Ok(socket.send(Message::text(value.to_string())).await?)
}

/// Opens, initialises and subscribes one socket.
async fn open(url: &str, token: &str, query: &str, variables: &Value) -> anyhow::Result<Socket> {
    let mut request = format!("{}/graphql", url.replacen("http", "ws", 1)).into_client_request()?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    text(&mut socket, json!({ "type": "connection_init", "payload": { "authToken": token } })).await?;
    match socket.next().await {
        Some(Ok(Message::Text(t))) if t.contains("connection_ack") => {}
        other => bail!("no connection_ack: {other:?}"),
    }
    text(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }))
        .await?;
    Ok(socket)
}

/// Reads a socket until it closes, reporting when each event arrives.
async fn listen(mut socket: Socket, events: mpsc::UnboundedSender<Instant>) -> anyhow::Result<()> {
    while let Some(message) = socket.next().await {
        let Message::Text(t) = message? else { continue };
        let value: Value = serde_json::from_str(&t)?;
        match value["type"].as_str() {
            Some("next") => {
                let _ = events.send(Instant::now());
            }
            Some("ping") => text(&mut socket, json!({ "type": "pong" })).await?,
            Some("error" | "complete") => bail!("subscription ended: {value}"),
            _ => {}
        }
    }
    Ok(())
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let client = Client::new(&args.url[0]);
    let moderator = client.login(&args.moderator, &args.password).await?;
    let users = args.users.min(args.subscribers);
    let mut tokens = Vec::with_capacity(users);
    for chunk in (0..users).collect::<Vec<_>>().chunks(8) {
        let logins = chunk.iter().map(|i| client.login(format!("{}{i}", args.user_prefix), &args.password));
        for token in futures_util::future::join_all(logins).await {
            tokens.push(token?);
        }
    }
    let (query, variables) = match args.mode {
        Mode::Entry => ("subscription($id: ID!) { entryUpdated(id: $id) { version } }", json!({ "id": args.entry })),
        Mode::Notification => {
            for token in &tokens {
                client
                    .run(
                        Some(token),
                        "mutation($id: ID!) { watchEntry(entryId: $id) { id } }",
                        &json!({ "id": args.entry }),
                    )
                    .await?;
            }
            ("subscription { notificationReceived { id } }", json!({}))
        }
    };

    let rss_before: Vec<u64> = args.pid.iter().map(|&p| rss_kib(p)).collect::<Result<_, _>>()?;
    let (events, mut received) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(128));
    let started = Instant::now();
    let mut opening = Vec::with_capacity(args.subscribers);
    for i in 0..args.subscribers {
        let (url, token, gate) = (args.url[i % args.url.len()].clone(), tokens[i % users].clone(), gate.clone());
        let (query, variables, events) = (query.to_owned(), variables.clone(), events.clone());
        opening.push(tokio::spawn(async move {
            let socket = {
                let _permit = gate.acquire().await?;
                open(&url, &token, &query, &variables).await?
            };
            Ok::<_, anyhow::Error>(tokio::spawn(listen(socket, events)))
        }));
    }
    let mut sockets = Vec::with_capacity(args.subscribers);
    for task in opening {
        sockets.push(task.await??);
    }
    let connect_secs = started.elapsed().as_secs_f64();
    // The servers set up each subscription after its `subscribe` message: let them finish.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after: Vec<u64> = args.pid.iter().map(|&p| rss_kib(p)).collect::<Result<_, _>>()?;

    let mut latencies = Vec::with_capacity(args.subscribers * args.rounds);
    let mut missing = 0;
    for round in 0..args.rounds {
        let entry =
            client.run(None, "query($id: ID!) { entry(id: $id) { version } }", &json!({ "id": args.entry })).await?;
        let change = json!({ "op": "UPDATE", "entryId": args.entry, "baseRevision": entry["entry"]["version"],
                             "fields": { "summary": format!("Fan-out round {round} at {:?}", started.elapsed()) } });
        let created = client
            .run(
                Some(&moderator),
                "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }",
                &json!({ "i": { "title": format!("Fan-out {round}"), "changes": [change] } }),
            )
            .await?;
        let sent = Instant::now();
        let merged = client
            .run(
                Some(&moderator),
                "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }",
                &json!({ "id": created["createSubmission"]["id"] }),
            )
            .await?;
        ensure!(merged["submitForReview"]["status"] == "MERGED", "not merged: {merged}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut got = 0;
        while got < args.subscribers {
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some(at)) => {
                    latencies.push(at - sent);
                    got += 1;
                }
                _ => break,
            }
        }
        missing += args.subscribers - got;
    }
    for socket in &sockets {
        socket.abort();
    }
    // Memory freed by other work may be reused by the sockets (after < before):
    // also measure what closing them gives back, and take the larger.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_closed: Vec<u64> = args.pid.iter().map(|&p| rss_kib(p)).collect::<Result<_, _>>()?;
    let delta = |from: &[u64]| -> u64 { rss_after.iter().zip(from).map(|(a, b)| a.saturating_sub(*b)).sum() };
    let grown = delta(&rss_before).max(delta(&rss_closed));
    record(
        &args.out,
        json!({
            "kind": "fanout", "scenario": args.name, "processes": args.url.len(),
            "mode": match args.mode { Mode::Entry => "entryUpdated", Mode::Notification => "notificationReceived" },
            "subscribers": args.subscribers, "users": users, "rounds": args.rounds, "connect_s": (connect_secs * 10.0).round() / 10.0,
            "missing": missing, "latency": percentiles(latencies),
            "rss_before_kib": rss_before, "rss_after_kib": rss_after, "rss_closed_kib": rss_closed,
            "kib_per_subscriber": (grown as f64 / args.subscribers as f64 * 10.0).round() / 10.0,
        }),
    )?;
    ensure!(missing == 0, "{missing} deliveries missing");
    Ok(())
}
