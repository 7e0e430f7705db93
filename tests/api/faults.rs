//! Faults an operator meets: the database unreachable for a while. An outage
//! answers fast with a retryable code, never as a failed sign-in, and the
//! server recovers by itself.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use xpr_tests::{TestApp, code};

#[tokio::test]
async fn a_database_outage_answers_fast_and_retryable_and_recovers() {
    // Only PostgreSQL has a network between the server and its data.
    let Some((app, proxy)) = TestApp::spawn_behind_proxy(&["--db-timeout-ms", "500"]).await else { return };
    let alice = app.register("alice").await;
    let post = |token: Option<String>, query: &'static str| {
        let mut request = app.http.post(format!("{}/graphql", app.url)).json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let (status, retry) = (response.status().as_u16(), response.headers().get("retry-after").cloned());
            (status, retry, response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(post(Some(alice.access.clone()), "{ viewer { handle } }").await.2["data"]["viewer"]["handle"], "alice");

    proxy.cut();
    for (token, query) in [(Some(alice.access.clone()), "{ viewer { handle } }"), (None, "{ entryKinds { slug } }")] {
        let started = Instant::now();
        let (status, retry, body) = post(token, query).await;
        // Not UNAUTHENTICATED: a client would sign its user out.
        assert_eq!((status, code(&body)), (503, "UNAVAILABLE"), "{body}");
        assert!(retry.is_some(), "a 503 says when to retry");
        assert!(started.elapsed() < Duration::from_secs(5), "no request waits out the outage");
    }
    let started = Instant::now();
    let ready = app.http.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(3), "readiness answers within a second or so");

    proxy.restore();
    // Connections broken by the cut are replaced; a client retrying gets through.
    let mut answered = None;
    for _ in 0..20 {
        let (status, _, body) = post(Some(alice.access.clone()), "{ viewer { handle } }").await;
        if status == 200 {
            answered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(answered.expect("recovered")["data"]["viewer"]["handle"], "alice");
}
