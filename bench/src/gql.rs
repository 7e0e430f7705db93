//! A small GraphQL-over-HTTP client, latency percentiles and the results file.

use std::{io::Write, path::Path, time::Duration};

use anyhow::{Context, bail};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    pub fn new(url: &str) -> Self {
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("HTTP client");
        Self { http, url: format!("{}/graphql", url.trim_end_matches('/')) }
    }

    /// Sends one operation; fails on transport errors and on GraphQL errors.
    pub async fn run(&self, token: Option<&str>, query: &str, variables: &Value) -> anyhow::Result<Value> {
        let mut request = self.http.post(&self.url).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let body: Value = request.send().await?.json().await?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(body["data"].clone())
    }

    pub async fn login(&self, login: impl AsRef<str>, password: &str) -> anyhow::Result<String> {
        let login = login.as_ref();
        let data = self
            .run(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                &json!({ "i": { "login": login, "password": password } }),
            )
            .await
            .with_context(|| format!("login as {login}"))?;
        Ok(data["login"]["accessToken"].as_str().context("an access token")?.to_owned())
    }

    /// The server's `/metrics` counter `name`.
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let url = self.url.replace("/graphql", "/metrics");
        let text = self.http.get(url).send().await?.text().await?;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("{name} in /metrics"))
    }
}

/// p50, p95, p99 and max of `samples`, in milliseconds.
pub fn percentiles(mut samples: Vec<Duration>) -> Value {
    samples.sort_unstable();
    let at = |p: f64| {
        let i = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len().max(1)) - 1;
        samples.get(i).map_or(0.0, |d| (d.as_secs_f64() * 1e5).round() / 100.0)
    };
    json!({ "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": at(1.0), "samples": samples.len() })
}

/// Appends one result line to `path`, and prints it.
pub fn record(path: &Path, result: Value) -> anyhow::Result<()> {
    println!("{result}");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(file, "{result}")?;
    Ok(())
}
