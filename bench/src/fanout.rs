//! WebSocket fan-out: many authenticated `graphql-transport-ws` subscribers,
//! events, and the time until each subscriber has its frame; the servers'
//! resident memory per socket and CPU per delivered frame.
//!
//! A process may hold at most `ulimit -Hn` descriptors (20,000 on the bench
//! machine), so the sockets are opened by worker processes (`fanout-worker`,
//! `--per-worker` sockets each) that report each frame's latency on stdout.
//! Every socket signs in with its own user's API token (`{token_prefix}{i}`,
//! seeded by bench/seed.sql): no password hashing per socket. The time an
//! event was sent travels in it (`sent@<unix µs>` in the summary, title or
//! message), so a worker measures latency on its own.

use std::{
    path::PathBuf,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail, ensure};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, Command},
    sync::{Semaphore, broadcast, mpsc},
};
use tokio_tungstenite::tungstenite::{
    Message, Utf8Bytes,
    client::IntoClientRequest,
    handshake::server::{ErrorResponse, Request, Response},
    http::HeaderValue,
    protocol::WebSocketConfig,
};

use crate::gql::{Client, percentiles, record};

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Mode {
    /// Signed-in sockets held open with pings on, without subscriptions (those
    /// of the other modes are measured there); no events.
    Idle,
    /// Every socket on `entryUpdated` of one entry; a merge per round.
    Entry,
    /// Every socket on its user's `notificationReceived`; every user watches the
    /// entry, so a merge per round writes one notification per user.
    Notification,
    /// Notifications to random users at `--rate` per second for `--duration-secs`,
    /// written as services write them (a notification and its outbox event) by psql.
    Sustained,
    /// `entry`'s frames from a reference server (`fanout-floor`, started here
    /// at the first `--url`) that writes one prebuilt frame to every socket:
    /// the floor the machine sets, its clients included.
    Floor,
    /// As `floor`, but one task writes the frame to every socket in turn: no
    /// task is woken per socket.
    FloorOneWriter,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    name: String,
    /// Server base URL; given several times, sockets are spread round-robin.
    #[arg(long, required = true)]
    url: Vec<String>,
    /// Server process ids, for their resident memory and CPU time.
    #[arg(long)]
    pid: Vec<u32>,
    #[arg(long, value_enum)]
    mode: Mode,
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    #[arg(long, default_value_t = 9_000)]
    per_worker: usize,
    #[arg(long, default_value = "xpr_benchfan_")]
    token_prefix: String,
    /// Who merges (a moderator: merged on submit), and with what password.
    #[arg(long)]
    moderator: String,
    #[arg(long)]
    password: String,
    /// The entry the merges change.
    #[arg(long)]
    entry: String,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Idle: how long the sockets are held; sustained: how long events are sent.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Sustained: events per second.
    #[arg(long, default_value_t = 2000)]
    rate: u64,
    /// Sustained: the database psql writes the events into.
    #[arg(long, default_value = "")]
    database: String,
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    #[arg(long, required = true)]
    url: Vec<String>,
    #[arg(long)]
    from: usize,
    #[arg(long)]
    to: usize,
    #[arg(long)]
    token_prefix: String,
    #[arg(long, value_enum)]
    mode: Mode,
    #[arg(long)]
    entry: String,
}

fn unix_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
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

/// CPU time (user + system) `pid` has used, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which may hold spaces: state is the first.
    let fields: Vec<&str> = stat.rsplit_once(") ").context("stat")?.1.split(' ').collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

fn sum(pids: &[u32], of: fn(u32) -> anyhow::Result<u64>) -> anyhow::Result<u64> {
    pids.iter().map(|&p| of(p)).sum()
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn text(socket: &mut Socket, value: Value) -> anyhow::Result<()> {
    Ok(socket.send(Message::text(value.to_string())).await?)
}

/// Opens and initialises one socket, and subscribes it if there is a query.
async fn open(url: &str, token: &str, query: Option<&str>, variables: &Value) -> anyhow::Result<Socket> {
    let mut request = format!("{}/graphql", url.replacen("http", "ws", 1)).into_client_request()?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    // tungstenite zeroes its whole read buffer before each read: its default
    // 128 KiB made the bench's clients spend more CPU per frame than the server.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    text(&mut socket, json!({ "type": "connection_init", "payload": { "authToken": token } })).await?;
    match socket.next().await {
        Some(Ok(Message::Text(t))) if t.contains("connection_ack") => {}
        other => bail!("no connection_ack: {other:?}"),
    }
    if let Some(query) = query {
        let subscribe =
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } });
        text(&mut socket, subscribe).await?;
    }
    Ok(socket)
}

/// The `sent@<unix µs>` stamp in a frame.
fn sent_at(frame: &str) -> Option<u64> {
    let digits = frame.split_once("sent@")?.1;
    digits[..digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len())].parse().ok()
}

/// Reads a socket until it closes, reporting each frame's latency (µs).
async fn listen(mut socket: Socket, report: mpsc::UnboundedSender<String>) {
    let ended = loop {
        let Some(message) = socket.next().await else { break "closed by the server".to_owned() };
        let t = match message {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(frame)) => break format!("close {frame:?}"),
            Ok(_) => continue,
            Err(err) => break err.to_string(),
        };
        if t.contains(r#""type":"next""#) {
            let at = unix_micros();
            let _ = report.send(sent_at(&t).map_or_else(|| "err no stamp".into(), |s| format!("lat {}", at - s)));
        } else if t.contains(r#""type":"ping""#) {
            if let Err(err) = text(&mut socket, json!({ "type": "pong" })).await {
                break err.to_string();
            }
        } else if t.contains(r#""type":"error""#) || t.contains(r#""type":"complete""#) {
            break format!("subscription ended: {t}");
        }
    };
    let _ = report.send(format!("closed {}", ended.replace('\n', " ")));
}

/// A worker process: opens sockets `from..to`, prints `ready`, then a line per
/// frame until its stdin closes.
pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let (query, variables) = match args.mode {
        Mode::Idle => (None, json!({})),
        Mode::Entry | Mode::Floor | Mode::FloorOneWriter => {
            (Some("subscription($id: ID!) { entryUpdated(id: $id) { version summary } }"), json!({ "id": args.entry }))
        }
        _ => (Some("subscription { notificationReceived { cursor message } }"), json!({})),
    };
    let (report, mut lines) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(64));
    let mut opening = Vec::new();
    for i in args.from..args.to {
        let (url, token, gate) =
            (args.url[i % args.url.len()].clone(), format!("{}{i}", args.token_prefix), gate.clone());
        let (variables, report) = (variables.clone(), report.clone());
        opening.push(tokio::spawn(async move {
            let socket = {
                let _permit = gate.acquire().await?;
                open(&url, &token, query, &variables).await.with_context(|| format!("socket {i}"))?
            };
            tokio::spawn(listen(socket, report));
            anyhow::Ok(())
        }));
    }
    for task in opening {
        task.await??;
    }
    let mut out = tokio::io::stdout();
    out.write_all(b"ready\n").await?;
    out.flush().await?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.recv() => {
                let Some(line) = line else { break };
                let mut batch = line + "\n";
                while let Ok(more) = lines.try_recv() {
                    batch += &more;
                    batch.push('\n');
                }
                out.write_all(batch.as_bytes()).await?;
                out.flush().await?;
            }
            line = stdin.next_line() => if line?.is_none() { break },
        }
    }
    Ok(())
}

/// What the workers report, merged.
struct Workers {
    children: Vec<Child>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Workers {
    async fn start(args: &Args) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let (tx, lines) = mpsc::unbounded_channel();
        let mut children = Vec::new();
        for from in (0..args.subscribers).step_by(args.per_worker.max(1)) {
            let to = (from + args.per_worker).min(args.subscribers);
            let mut command = Command::new(&exe);
            command.arg("fanout-worker").args(["--from", &from.to_string(), "--to", &to.to_string()]);
            for url in &args.url {
                command.args(["--url", url]);
            }
            command.args(["--token-prefix", &args.token_prefix, "--entry", &args.entry]);
            command.args([
                "--mode",
                match args.mode {
                    Mode::Idle => "idle",
                    Mode::Entry | Mode::Floor | Mode::FloorOneWriter => "entry",
                    _ => "notification",
                },
            ]);
            let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).kill_on_drop(true).spawn()?;
            let mut out = BufReader::new(child.stdout.take().context("worker stdout")?).lines();
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Ok(Some(line)) = out.next_line().await {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
                let _ = tx.send("exited".into());
            });
            children.push(child);
        }
        let mut workers = Self { children, lines };
        let mut ready = 0;
        while ready < workers.children.len() {
            match workers.next(Duration::from_secs(600)).await? {
                Line::Ready => ready += 1,
                Line::Exited => bail!("a worker failed while opening its sockets"),
                Line::Closed(why) => bail!("a socket closed while opening: {why}"),
                Line::Latency(_) => {}
            }
        }
        Ok(workers)
    }

    async fn next(&mut self, within: Duration) -> anyhow::Result<Line> {
        let line = tokio::time::timeout(within, self.lines.recv()).await?.context("workers gone")?;
        Ok(match line.split_once(' ') {
            Some(("lat", micros)) => Line::Latency(Duration::from_micros(micros.parse()?)),
            Some(("closed", why)) => Line::Closed(why.to_owned()),
            _ if line == "ready" => Line::Ready,
            _ if line == "exited" => Line::Exited,
            _ => bail!("worker: {line}"),
        })
    }

    /// Adds the latencies of the next `count` frames to `got`, waiting at most
    /// `within` for the last; the sockets that closed meanwhile are counted.
    async fn collect(&mut self, got: &mut Vec<Duration>, count: usize, within: Duration, closed: &mut usize) {
        let deadline = Instant::now() + within;
        let until = got.len() + count;
        while got.len() < until {
            match self.next(deadline.saturating_duration_since(Instant::now())).await {
                Ok(Line::Latency(latency)) => got.push(latency),
                Ok(Line::Closed(why)) => {
                    *closed += 1;
                    eprintln!("socket closed: {why}");
                }
                _ => break,
            }
        }
    }
}

enum Line {
    Ready,
    Latency(Duration),
    Closed(String),
    Exited,
}

/// Sustained load: every 50 ms, `rate / 20` notifications to random users of
/// the fan-out users, each with its outbox event, in one statement, stamped
/// with the time it was written.
async fn sustain(args: &Args) -> anyhow::Result<usize> {
    let mut psql = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", &args.database])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = psql.stdin.take().context("psql stdin")?;
    let per_tick = (args.rate / 20).max(1);
    let ticks = args.duration_secs * 20;
    let mut interval = tokio::time::interval(Duration::from_millis(50));
    // Fan-out users were inserted in one statement, in token order: user i is `lo + i`.
    let lo = std::process::Command::new("psql")
        .args(["-tA", &args.database, "-c", r"SELECT min(id) FROM users WHERE handle LIKE 'bench\_fan\_%'"])
        .output()?;
    let lo: i64 = String::from_utf8(lo.stdout)?.trim().parse().context("fan-out users")?;
    let statement = format!(
        "WITH written AS (INSERT INTO notifications (uuid, user_id, kind, subject_type, subject_id, message, created_at) \
           SELECT gen_random_uuid(), {lo} + floor(random() * {subscribers})::bigint, 'WATCHED_ENTRY_UPDATED', 'ENTRY', \
                  '{entry}', 'sustained sent@' || (extract(epoch FROM clock_timestamp()) * 1e6)::bigint, now() \
           FROM generate_series(1, {per_tick}) RETURNING *) \
         INSERT INTO outbox_events (channel, payload, created_at) \
         SELECT 'user_' || w.user_id, jsonb_build_object('notification', to_jsonb(w)), now() FROM written w;\n",
        subscribers = args.subscribers,
        entry = args.entry,
    );
    for _ in 0..ticks {
        interval.tick().await;
        stdin.write_all(statement.as_bytes()).await?;
    }
    drop(stdin);
    ensure!(psql.wait().await?.success(), "psql failed");
    Ok((per_tick * ticks) as usize)
}

/// One merge of `entry`, stamped with the time the submission was created;
/// returns how long before the merging request that was, and how long the request took.
async fn merge(client: &Client, moderator: &str, entry: &str, round: usize) -> anyhow::Result<(Duration, Duration)> {
    let current = client.run(None, "query($id: ID!) { entry(id: $id) { version } }", &json!({ "id": entry })).await?;
    let stamped = Instant::now();
    let stamp = format!("round {round} sent@{}", unix_micros());
    let change = json!({ "op": "UPDATE", "entryId": entry, "baseRevision": current["entry"]["version"],
                         "fields": { "summary": format!("Fan-out {stamp}") } });
    let created = client
        .run(
            Some(moderator),
            "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }",
            &json!({ "i": { "title": format!("Fan-out {stamp}"), "changes": [change] } }),
        )
        .await?;
    let before_merge = stamped.elapsed();
    let merged = client
        .run(
            Some(moderator),
            "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }",
            &json!({ "id": created["createSubmission"]["id"] }),
        )
        .await?;
    ensure!(merged["submitForReview"]["status"] == "MERGED", "not merged: {merged}");
    Ok((before_merge, stamped.elapsed() - before_merge))
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let client = Client::new(&args.url[0]);
    let mut floors = Vec::new();
    let (moderator, pids) = match args.mode {
        Mode::Floor | Mode::FloorOneWriter => {
            // One reference server per `--url`, as the servers would be.
            for url in &args.url {
                let bind = url.trim_start_matches("http://");
                let mut command = Command::new(std::env::current_exe()?);
                floors.push(
                    command
                        .args(["fanout-floor", "--bind", bind])
                        .args((args.mode == Mode::FloorOneWriter).then_some("--one-writer"))
                        .stdin(Stdio::piped())
                        .kill_on_drop(true)
                        .spawn()?,
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            (String::new(), floors.iter().filter_map(Child::id).collect())
        }
        _ => (client.login(&args.moderator, &args.password).await?, args.pid.clone()),
    };
    let rss_before = sum(&pids, rss_kib)?;
    let started = Instant::now();
    let mut workers = Workers::start(&args).await?;
    let connect_secs = started.elapsed().as_secs_f64();
    // The servers set up each subscription after its `subscribe` message: let them finish.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_open = sum(&pids, rss_kib)?;

    let mut closed = 0;
    // How long each merging request took: its commit comes at its end, so a
    // frame's latency after the commit lies between its latency from the
    // request and that less the request's time.
    let (mut merges, mut after_merge) = (Vec::new(), Vec::new());
    // The clients' CPU too: they share the machine with the servers.
    let clients: Vec<u32> = workers.children.iter().filter_map(Child::id).collect();
    let cpu_before = sum(&pids, cpu_ticks)?;
    let client_cpu_before = sum(&clients, cpu_ticks)?;
    let (latencies, expected, mut memory) = match args.mode {
        Mode::Idle => {
            // Any frame or close while idle is a failure; the pings go on.
            let mut got = Vec::new();
            workers.collect(&mut got, 1, Duration::from_secs(args.duration_secs), &mut closed).await;
            ensure!(got.is_empty(), "a frame arrived on an idle socket");
            (Vec::new(), 0, vec![sum(&pids, rss_kib)?])
        }
        Mode::Entry | Mode::Notification | Mode::Floor | Mode::FloorOneWriter => {
            let mut latencies = Vec::new();
            for round in 0..args.rounds {
                let from = latencies.len();
                let (before_merge, merging) = if floors.is_empty() {
                    merge(&client, &moderator, &args.entry, round).await?
                } else {
                    for stdin in floors.iter_mut().filter_map(|floor| floor.stdin.as_mut()) {
                        stdin.write_all(format!("round {round}\n").as_bytes()).await?;
                        stdin.flush().await?;
                    }
                    (Duration::ZERO, Duration::ZERO)
                };
                workers.collect(&mut latencies, args.subscribers, Duration::from_secs(30), &mut closed).await;
                // Measured from the request that merges, not from creating the submission.
                latencies[from..].iter_mut().for_each(|l| *l = l.saturating_sub(before_merge));
                after_merge.extend(latencies[from..].iter().map(|l| l.saturating_sub(merging)));
                merges.push(merging);
            }
            (latencies, args.subscribers * args.rounds, vec![sum(&pids, rss_kib)?])
        }
        Mode::Sustained => {
            let sending = sustain(&args);
            let mut memory = Vec::new();
            let mut latencies = Vec::new();
            let receiving = async {
                // Until the sender is done; memory every 10 s.
                let mut sampled = Instant::now();
                loop {
                    workers.collect(&mut latencies, 1000, Duration::from_secs(1), &mut closed).await;
                    if sampled.elapsed() >= Duration::from_secs(10) {
                        sampled = Instant::now();
                        memory.push(sum(&pids, rss_kib).unwrap_or(0));
                    }
                }
            };
            let sent = tokio::select! { sent = sending => sent?, () = receiving => unreachable!() };
            // The last events' frames.
            let rest = sent.saturating_sub(latencies.len());
            workers.collect(&mut latencies, rest, Duration::from_secs(10), &mut closed).await;
            (latencies, sent, memory)
        }
    };
    let cpu_ms = (sum(&pids, cpu_ticks)? - cpu_before) * 10;
    let client_cpu_ms = (sum(&clients, cpu_ticks)? - client_cpu_before) * 10;
    memory.insert(0, rss_open);
    // Gone before the next scenario binds their ports.
    for floor in &mut floors {
        floor.kill().await?;
    }
    let delivered = latencies.len();
    for child in &mut workers.children {
        drop(child.stdin.take());
    }
    let kib_per_socket = rss_open.saturating_sub(rss_before) as f64 / args.subscribers as f64;
    record(
        &args.out,
        json!({
            "kind": "fanout", "scenario": args.name, "processes": args.url.len(),
            "mode": match args.mode {
                Mode::Idle => "idle", Mode::Entry => "entryUpdated", Mode::Floor => "floor", Mode::FloorOneWriter => "floor, one writer",
                Mode::Notification => "notificationReceived", Mode::Sustained => "sustained",
            },
            "subscribers": args.subscribers, "rounds": args.rounds, "connect_s": (connect_secs * 10.0).round() / 10.0,
            "expected": expected, "missing": expected.saturating_sub(delivered), "closed": closed,
            "latency": percentiles(latencies),
            "latency_after_merge": (!merges.is_empty()).then(|| percentiles(after_merge)),
            "merge_ms": merges.iter().map(|m| (m.as_secs_f64() * 1e4).round() / 10.0).collect::<Vec<_>>(),
            "rss_before_kib": rss_before, "rss_kib": memory,
            "kib_per_subscriber": (kib_per_socket * 10.0).round() / 10.0,
            "cpu_us_per_frame": (delivered > 0).then(|| (cpu_ms * 1000) as f64 / delivered as f64).map(f64::round),
            "client_cpu_us_per_frame": (delivered > 0).then(|| (client_cpu_ms * 1000) as f64 / delivered as f64).map(f64::round),
        }),
    )?;
    ensure!(closed == 0, "{closed} sockets closed");
    ensure!(delivered >= expected, "{} deliveries missing", expected - delivered);
    Ok(())
}

/// `fanout-floor`: a `graphql-transport-ws` server with nothing between an
/// event and its sockets. Each line on stdin is one `next` frame, built once
/// and stamped, that a broadcast hands to every socket's task to write (one
/// task per socket, as in the server), or that one task writes to every
/// socket in turn. Subscriptions are not checked: every socket gets every frame.
pub async fn floor(bind: &str, one_writer: bool) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let (frames, _) = broadcast::channel::<Utf8Bytes>(16);
    let sockets: Arc<std::sync::Mutex<Vec<Socket>>> = Arc::default();
    let (sender, written) = (frames.clone(), sockets.clone());
    tokio::spawn(async move {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(round)) = stdin.next_line().await {
            let item = json!({ "version": 1, "summary": format!("Fan-out {round} sent@{}", unix_micros()) });
            let frame = json!({ "id": "1", "type": "next", "payload": { "data": { "entryUpdated": item } } });
            let frame = frame.to_string();
            if !one_writer {
                let _ = sender.send(frame.into());
                continue;
            }
            // A server's text frame, unmasked: the header, then the payload.
            let mut bytes = match frame.len() {
                len @ 0..126 => vec![0x81, len as u8],
                len => [&[0x81, 126][..], &(len as u16).to_be_bytes()].concat(),
            };
            bytes.extend_from_slice(frame.as_bytes());
            for socket in written.lock().expect("sockets lock").iter() {
                let tcp = match socket.get_ref() {
                    tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp,
                    _ => continue,
                };
                let _ = tcp.try_write(&bytes);
            }
        }
        std::process::exit(0);
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
        if one_writer {
            tokio::spawn(register(stream, sockets.clone()));
        } else {
            tokio::spawn(serve_floor(stream, frames.subscribe()));
        }
    }
}

/// Accepts a socket, acknowledges its `connection_init`, waits for its
/// `subscribe` and hands it to the one writer.
async fn register(
    stream: tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    sockets: Arc<std::sync::Mutex<Vec<Socket>>>,
) -> anyhow::Result<()> {
    let mut socket = accept(stream).await?;
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(t) if t.contains("connection_init") => {
                socket.send(Message::text(r#"{"type":"connection_ack"}"#)).await?;
            }
            Message::Text(t) if t.contains("subscribe") => {
                sockets.lock().expect("sockets lock").push(socket);
                break;
            }
            _ => {}
        }
    }
    Ok(())
}

async fn accept(stream: tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>) -> anyhow::Result<Socket> {
    // The server's socket settings.
    let config = WebSocketConfig::default().read_buffer_size(512).write_buffer_size(0);
    Ok(tokio_tungstenite::accept_hdr_async_with_config(stream, subprotocol, Some(config)).await?)
}

/// Answers the clients' `graphql-transport-ws` (tungstenite's callback type, hence the large error).
#[allow(clippy::result_large_err)]
fn subprotocol(_: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    response.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    Ok(response)
}

async fn serve_floor(
    stream: tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    mut frames: broadcast::Receiver<Utf8Bytes>,
) -> anyhow::Result<()> {
    let mut socket = accept(stream).await?;
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Text(t))) if t.contains("connection_init") => {
                    socket.send(Message::text(r#"{"type":"connection_ack"}"#)).await?;
                }
                Some(Ok(_)) => {}
                _ => return Ok(()),
            },
            frame = frames.recv() => socket.send(Message::Text(frame?)).await?,
        }
    }
}
