//! HTTP scenarios: closed-loop load, SQL statement counts, merge latency.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use serde_json::{Value, json};

use crate::gql::{Client, percentiles, record};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario name in the results.
    #[arg(long)]
    name: String,
    /// Which server answers (`xpr`, `postgraphile`, …).
    #[arg(long, default_value = "xpr")]
    target: String,
    /// Server base URL; given several times, clients are spread round-robin.
    #[arg(long, required = true)]
    url: Vec<String>,
    #[arg(long)]
    query: String,
    #[arg(long, default_value = "{}")]
    variables: String,
    #[arg(long)]
    token: Option<String>,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Unmeasured load before the measured run (warms caches, pools and the JIT of a Node peer).
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    #[arg(long)]
    out: PathBuf,
}

/// One client's loop: requests until `until`, latencies kept from `from` on.
async fn client_loop(
    http: reqwest::Client,
    url: String,
    body: Vec<u8>,
    token: Option<String>,
    from: Instant,
    until: Instant,
) -> (Vec<Duration>, u64) {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while Instant::now() < until {
        let start = Instant::now();
        let mut request = http.post(&url).header("content-type", "application/json").body(body.clone());
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let ok = match request.send().await {
            Ok(response) if response.status().is_success() => match response.bytes().await {
                // A GraphQL error anywhere in the body fails the request.
                Ok(bytes) => !bytes.windows(9).any(|w| w == b"\"errors\":"),
                Err(_) => false,
            },
            _ => false,
        };
        if start >= from {
            latencies.push(start.elapsed());
            errors += u64::from(!ok);
        }
    }
    (latencies, errors)
}

pub async fn http(args: Args) -> anyhow::Result<()> {
    let variables: Value = serde_json::from_str(&args.variables).context("--variables is JSON")?;
    let body = serde_json::to_vec(&json!({ "query": args.query, "variables": variables }))?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let from = Instant::now() + Duration::from_secs(args.warmup_secs);
    let until = from + Duration::from_secs(args.duration_secs);
    let clients: Vec<_> = (0..args.concurrency)
        .map(|i| {
            let url = format!("{}/graphql", args.url[i % args.url.len()].trim_end_matches('/'));
            tokio::spawn(client_loop(http.clone(), url, body.clone(), args.token.clone(), from, until))
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for client in clients {
        let (l, e) = client.await?;
        latencies.extend(l);
        errors += e;
    }
    let requests = latencies.len();
    let rps = requests as f64 / args.duration_secs as f64;
    record(
        &args.out,
        json!({
            "kind": "http", "scenario": args.name, "target": args.target, "processes": args.url.len(),
            "concurrency": args.concurrency, "duration_s": args.duration_secs, "requests": requests,
            "errors": errors, "rps": rps.round(), "latency": percentiles(latencies),
        }),
    )?;
    ensure!(errors == 0, "{errors} of {requests} requests failed");
    Ok(())
}

#[derive(clap::Args)]
pub struct StatementArgs {
    #[arg(long)]
    name: String,
    #[arg(long)]
    url: String,
    /// An operation with a `$first: Int` variable.
    #[arg(long)]
    query: String,
    #[arg(long, value_delimiter = ',', default_value = "10,100")]
    sizes: Vec<u32>,
    #[arg(long)]
    out: PathBuf,
}

pub async fn statements(args: StatementArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.url);
    let mut counts = serde_json::Map::new();
    for first in args.sizes {
        // Unmeasured first: a cold server runs a few one-off statements.
        client.run(None, &args.query, &json!({ "first": first })).await?;
        let before = client.metric("xpr_db_statements_total").await?;
        client.run(None, &args.query, &json!({ "first": first })).await?;
        let after = client.metric("xpr_db_statements_total").await?;
        counts.insert(first.to_string(), json!(after - before));
    }
    record(&args.out, json!({ "kind": "statements", "scenario": args.name, "statements": counts }))
}

#[derive(clap::Args)]
pub struct MergeArgs {
    #[arg(long)]
    url: String,
    /// The moderator who approves.
    #[arg(long)]
    moderator: String,
    /// The user whose submissions wait for review.
    #[arg(long)]
    author: String,
    #[arg(long)]
    password: String,
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    sizes: Vec<usize>,
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    #[arg(long)]
    out: PathBuf,
}

const SHIPS: &str = "query($n: Int) { entries(filter: { kind: \"ship\" }, orderBy: TITLE, first: $n) { edges { node { id version } } } }";

pub async fn merge(args: MergeArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.url);
    let moderator = client.login(&args.moderator, &args.password).await?;
    let author = client.login(&args.author, &args.password).await?;
    for size in args.sizes {
        let mut latencies = Vec::new();
        for round in 0..args.repeat {
            // Re-read versions: the previous round moved them on.
            let ships = client.run(None, SHIPS, &json!({ "n": size })).await?;
            let edges = ships["entries"]["edges"].as_array().context("entries")?;
            ensure!(edges.len() == size, "the dataset has fewer than {size} ships");
            let changes: Vec<Value> = edges
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    json!({ "op": "UPDATE", "entryId": e["node"]["id"], "baseRevision": e["node"]["version"],
                            "fields": { "summary": format!("Benchmark merge {size}/{round}/{i}") } })
                })
                .collect();
            let created = client
                .run(
                    Some(&author),
                    "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }",
                    &json!({ "i": { "title": format!("Benchmark {size}/{round}"), "changes": changes } }),
                )
                .await?;
            let id = created["createSubmission"]["id"].clone();
            let submitted = client
                .run(
                    Some(&author),
                    "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }",
                    &json!({ "id": id }),
                )
                .await?;
            ensure!(submitted["submitForReview"]["status"] == "PENDING", "not pending: {submitted}");
            let start = Instant::now();
            let merged = client
                .run(
                    Some(&moderator),
                    "mutation($id: ID!) { approveSubmission(submissionId: $id) { merged } }",
                    &json!({ "id": id }),
                )
                .await?;
            latencies.push(start.elapsed());
            ensure!(merged["approveSubmission"]["merged"] == true, "not merged: {merged}");
        }
        record(
            &args.out,
            json!({ "kind": "merge", "scenario": format!("merge {size} changes"), "changes": size,
                    "latency": percentiles(latencies) }),
        )?;
    }
    Ok(())
}
