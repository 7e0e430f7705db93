//! GraphQL over Server-Sent Events (`graphql-sse`, distinct connections mode)
//! on `/graphql/stream`: events in order, resume by cursor, refusals as
//! `next` events, and revocation ending the stream.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use xpr_tests::{TestApp, code};

use crate::{
    cost::{RATE_LIMIT, TWENTY, header, post},
    realtime::world_with,
};

const UPDATED: &str = "subscription($id: ID!, $v: Int) { entryUpdated(id: $id, afterVersion: $v) { version title } }";
const NOTIFIED: &str = "subscription { notificationReceived { message } }";

/// One open event stream, read as `graphql-sse`'s client reads it.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

/// What the stream said: an event's name and data, or its end.
#[derive(Debug, PartialEq)]
enum Heard {
    Event(String, Value),
    Ended,
}

impl Events {
    async fn open(app: &TestApp, token: Option<&str>, body: Value) -> Self {
        let mut request = reqwest::Client::new()
            .post(format!("{}/graphql/stream", app.url))
            .header("accept", "text/event-stream")
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { response, buffer: String::new() }
    }

    /// The next event (keep-alive comments skipped), within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Heard> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut data) = (None, String::new());
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = Some(name.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.strip_prefix(' ').unwrap_or(value));
                    }
                }
                if let Some(event) = event {
                    let data = serde_json::from_str(&data).unwrap_or_else(|_| panic!("JSON data: {block}"));
                    return Some(Heard::Event(event, data));
                }
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return None,
                Ok(Ok(Some(chunk))) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                Ok(_) => return Some(Heard::Ended),
            }
        }
    }

    async fn next_data(&mut self) -> Value {
        match self.next(Duration::from_secs(10)).await {
            Some(Heard::Event(event, data)) if event == "next" => data,
            other => panic!("expected a `next` event, got {other:?}"),
        }
    }
}

fn next(data: Value) -> Option<Heard> {
    Some(Heard::Event("next".into(), data))
}

fn complete() -> Option<Heard> {
    Some(Heard::Event("complete".into(), Value::Null))
}

#[tokio::test]
async fn a_subscription_over_sse_delivers_each_merge_in_order_and_resumes_by_cursor() {
    let w = world_with(&[]).await;
    let entry = w.entry("aurora").await;
    let body = json!({ "query": UPDATED, "variables": { "id": entry } });
    let mut live = Events::open(&w.app, None, body).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (base, title) in [(1, "Aurora II"), (2, "Aurora III"), (3, "Aurora IV")] {
        w.edit(&w.moderator, &entry, base, title).await;
    }
    for (version, title) in [(2, "Aurora II"), (3, "Aurora III"), (4, "Aurora IV")] {
        let data = live.next_data().await;
        assert_eq!(data, json!({ "data": { "entryUpdated": { "version": version, "title": title } } }));
    }
    // A client that saw version 2 resumes after it: 3 and 4, as they were, in order.
    let resume = json!({ "query": UPDATED, "variables": { "id": entry, "v": 2 } });
    let mut resumed = Events::open(&w.app, Some(&w.alice.access), resume).await;
    assert_eq!(resumed.next_data().await["data"]["entryUpdated"]["title"], "Aurora III");
    assert_eq!(resumed.next_data().await["data"]["entryUpdated"]["title"], "Aurora IV");

    // A query is one `next`, then `complete`.
    let mut query = Events::open(&w.app, Some(&w.alice.access), json!({ "query": "{ viewer { handle } }" })).await;
    assert_eq!(query.next(Duration::from_secs(5)).await, next(json!({ "data": { "viewer": { "handle": "alice" } } })));
    assert_eq!(query.next(Duration::from_secs(5)).await, complete());
    assert_eq!(query.next(Duration::from_secs(5)).await, Some(Heard::Ended));
}

#[tokio::test]
async fn refusals_over_sse_are_next_events_with_their_code_then_complete() {
    let w = world_with(&[]).await;
    let code = |heard: Option<Heard>| match heard {
        Some(Heard::Event(event, data)) if event == "next" => {
            let error = &data["errors"][0]["extensions"];
            format!(
                "{}{}",
                error["code"].as_str().unwrap_or("?"),
                error["reason"].as_str().map(|r| format!(" {r}")).unwrap_or_default()
            )
        }
        other => format!("{other:?}"),
    };
    let cases = [
        (None, NOTIFIED, "UNAUTHENTICATED"),
        (Some("garbage"), NOTIFIED, "UNAUTHENTICATED TOKEN_INVALID"),
        (Some(w.alice.access.as_str()), "subscription { moderationQueueChanged { kind } }", "FORBIDDEN"),
        (Some(w.alice.access.as_str()), "subscription { nope }", "GRAPHQL_VALIDATION_FAILED"),
    ];
    for (token, query, expected) in cases {
        let mut events = Events::open(&w.app, token, json!({ "query": query })).await;
        assert_eq!(code(events.next(Duration::from_secs(5)).await), expected, "{query} with {token:?}");
        assert_eq!(events.next(Duration::from_secs(5)).await, complete(), "{query}");
    }
    // A link can't write: GET runs queries and subscriptions only.
    for mutation in ["mutation { logout }", "mutation Out { logout }"] {
        let response = reqwest::Client::new()
            .get(format!("{}/graphql/stream", w.app.url))
            .query(&[("query", mutation)])
            .header("accept", "text/event-stream")
            .bearer_auth(&w.alice.access)
            .send()
            .await
            .unwrap();
        let mut events = Events { response, buffer: String::new() };
        assert_eq!(code(events.next(Duration::from_secs(5)).await), "METHOD_NOT_ALLOWED", "{mutation}");
    }
    let status = reqwest::Client::new().post(format!("{}/graphql/stream", w.app.url)).json(&json!({})).send();
    assert_eq!(status.await.unwrap().status(), 406, "without `accept: text/event-stream`");
}

#[tokio::test]
async fn operations_over_sse_spend_the_budget_and_over_it_are_refused_with_an_event() {
    let app = TestApp::spawn_with(&["--cost-budget", "30", "--max-cost", "30"]).await;
    // Anonymous: the address's budget, as over HTTP (a signed-in stream would check its token first).
    let mut events = Events::open(&app, None, json!({ "query": RATE_LIMIT })).await;
    assert_eq!(events.next_data().await["data"]["rateLimit"]["remaining"], 29);
    assert_eq!(events.next(Duration::from_secs(5)).await, complete());
    let mut events = Events::open(&app, None, json!({ "query": TWENTY })).await;
    assert!(events.next_data().await.get("errors").is_none());

    let before = app.sql_statements_settled().await;
    let mut events = Events::open(&app, None, json!({ "query": TWENTY })).await;
    let refused = events.next_data().await;
    assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("costs 21 points and 8 of 30 remain"));
    assert_eq!(events.next(Duration::from_secs(5)).await, complete(), "refused: the client must not retry");
    assert_eq!(app.sql_statements().await, before, "a refused operation runs nothing");
    assert_eq!(app.metric("xpr_graphql_rejected_total{reason=\"rate_limit\"}").await, 1.0);
    let (_, headers, _) = post(&app, None, RATE_LIMIT, json!({})).await;
    assert_eq!(header(&headers, "x-ratelimit-remaining"), 7, "one budget for the address's streams and requests");
}

#[tokio::test]
async fn a_ban_ends_the_users_stream_within_two_seconds_and_a_suspension_makes_it_reconnect() {
    let w = world_with(&[]).await;
    let mut bob = Events::open(&w.app, Some(&w.bob.access), json!({ "query": NOTIFIED })).await;
    let mut alice = Events::open(&w.app, Some(&w.alice.access), json!({ "query": NOTIFIED })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let suspend = "mutation($u: ID!) { suspendUser(userId: $u, reason: \"cool down\") { status } }";
    w.gql(&w.moderator, suspend, json!({ "u": w.alice.id })).await;
    // Ended without `complete`: `graphql-sse` connects again, as the user now is.
    assert_eq!(alice.next(Duration::from_secs(5)).await, Some(Heard::Ended));

    let ban = "mutation($u: ID!) { banUser(userId: $u, reason: \"spam\") { status } }";
    let banned_at = Instant::now();
    w.gql(&w.moderator, ban, json!({ "u": w.bob.id })).await;
    let refused = bob.next(Duration::from_secs(2)).await;
    let within = banned_at.elapsed();
    let Some(Heard::Event(event, data)) = refused else { panic!("no event within 2 s: {refused:?}") };
    assert_eq!(event, "next");
    // A ban ends the user's sessions: the session is what the check finds gone first.
    assert_eq!(data["errors"][0]["extensions"], json!({ "code": "UNAUTHENTICATED", "reason": "SESSION_REVOKED" }));
    assert!(within < Duration::from_secs(2), "the stream ended {within:?} after the ban");
    assert_eq!(bob.next(Duration::from_secs(1)).await, complete(), "complete: the client must not retry");
    assert_eq!(bob.next(Duration::from_secs(1)).await, Some(Heard::Ended));
}

#[tokio::test]
async fn stopping_the_server_ends_open_streams_without_complete_so_clients_reconnect() {
    let app = TestApp::spawn_with(&["--shutdown-grace-secs", "5"]).await;
    let alice = app.verified("alice").await;
    let mut events = Events::open(&app, Some(&alice.access), json!({ "query": NOTIFIED })).await;
    let started = Instant::now();
    app.shut_down().await.expect("a clean stop");
    assert!(started.elapsed() < Duration::from_secs(3), "an open stream doesn't hold the shutdown");
    assert_eq!(events.next(Duration::from_secs(5)).await, Some(Heard::Ended));
}

#[tokio::test]
async fn a_stream_whose_client_stops_reading_is_dropped_after_the_send_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(&["--ws-send-timeout-secs", "1"]).await;
    // A small receive window: the answer (the whole schema, ~100 KiB) can't all be taken.
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let address = app.url.trim_start_matches("http://");
    let mut tcp = tcp.connect(address.parse().unwrap()).await.unwrap();
    let schema = "{ __schema { types { name description fields { name description args { name description } } } } }";
    let body = json!({ "query": schema }).to_string();
    let request = format!(
        "POST /graphql/stream HTTP/1.1\r\nhost: {address}\r\naccept: text/event-stream\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    // The client reads nothing for longer than the timeout: the server's kernel gives up on it…
    tokio::time::sleep(Duration::from_secs(4)).await;
    // …so what the client then reads stops short of `complete`.
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut received)).await;
    let read = read.expect("the connection ended");
    let text = String::from_utf8_lossy(&received);
    assert!(!text.contains("event: complete"), "the whole answer arrived ({} bytes, {read:?})", received.len());
}
