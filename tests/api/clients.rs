//! The real client libraries our users run, against the real server:
//! graphql-js's standard introspection, and the realtime guide's overlay on
//! the `graphql-ws` client (both in `tests/clients/`, run on Node.js).

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use xpr_tests::{TestApp, node};

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");

#[tokio::test]
async fn graphql_js_standard_introspection_yields_schema_graphql() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let url = format!("{}/graphql", app.url);
    for token in [None, Some(alice.access.as_str())] {
        let mut args = vec![url.as_str(), SCHEMA];
        args.extend(token);
        let output = node("introspect.mjs", &args).output().await.expect("node");
        let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "token: {}\n{stdout}{stderr}", token.is_some());
        assert!(stdout.contains("all: ") && stdout.contains("none: "), "{stdout}");
    }
}

/// The overlay's lines: notifications and connection events, as JSON.
struct Overlay {
    lines: Lines<BufReader<tokio::process::ChildStdout>>,
    stdin: tokio::process::ChildStdin,
    _process: tokio::process::Child,
}

impl Overlay {
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.lines.next_line()).await;
        let line = line.expect("the overlay printed nothing for 20 s").unwrap().expect("the overlay exited");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// The next notification's message, noting the connection events before it.
    async fn notification(&mut self, events: &mut Vec<Value>) -> String {
        loop {
            let line = self.next().await;
            match line["notification"]["message"].as_str() {
                Some(message) => return message.to_owned(),
                None => events.push(line),
            }
        }
    }
}

#[tokio::test]
async fn the_guides_overlay_keeps_every_notification_across_token_expiry() {
    // Tokens last a second here, so every write below signs in afresh.
    let app = TestApp::spawn_with(&[
        "--access-token-ttl-secs",
        "1",
        "--rate-limit-per-address",
        "1000",
        "--rate-limit-per-account",
        "1000",
    ])
    .await;
    app.admin("chief").await;
    let kind = json!({ "i": { "slug": "ship", "name": "Ship", "attributeSchema": {} } });
    let create_kind = "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }";
    app.gql(Some(&app.login("chief").await.access), create_kind, kind).await;
    let alice = app.verified("alice").await;
    let app = &app;
    let merge = |slug: &'static str| async move {
        let changes = json!([{ "op": "CREATE", "kind": "ship", "fields": { "slug": slug, "title": slug } }]);
        let create = "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }";
        let body = app
            .gql(Some(&app.login("alice").await.access), create, json!({ "i": { "title": slug, "changes": changes } }))
            .await;
        let id = body["data"]["createSubmission"]["id"].clone();
        let submit = "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }";
        app.gql(Some(&app.login("alice").await.access), submit, json!({ "id": id })).await;
        let approve = "mutation($id: ID!) { approveSubmission(submissionId: $id) { merged } }";
        let body = app.gql(Some(&app.login("chief").await.access), approve, json!({ "id": id })).await;
        assert_eq!(body["data"]["approveSubmission"]["merged"], true, "{body}");
    };

    let url = format!("{}/graphql", app.url);
    let mut process = node("overlay-driver.mjs", &[&url, &alice.access, &alice.refresh])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let (stdin, stdout) = (process.stdin.take().unwrap(), process.stdout.take().unwrap());
    let mut overlay = Overlay { lines: BufReader::new(stdout).lines(), stdin, _process: process };
    let mut events = Vec::new();
    assert_eq!(overlay.next().await, json!({ "connected": true }));
    merge("first").await;
    assert!(overlay.notification(&mut events).await.contains("first"));

    // Past the token's lifetime (and the server's 5 s leeway) the socket still works…
    tokio::time::sleep(Duration::from_millis(7500)).await;
    merge("second").await;
    assert!(overlay.notification(&mut events).await.contains("second"));
    // …and after the network drops, three merges happen before the overlay is back.
    overlay.stdin.write_all(b"cut\n").await.unwrap();
    for slug in ["third", "fourth", "fifth"] {
        merge(slug).await;
    }
    let mut missed = Vec::new();
    for _ in 0..3 {
        missed.push(overlay.notification(&mut events).await);
    }
    for (message, slug) in missed.iter().zip(["third", "fourth", "fifth"]) {
        assert!(message.contains(slug), "in order, once each: {missed:?}");
    }
    // The expired token was refused with the code graphql-ws retries, then refreshed.
    assert_eq!(events.first(), Some(&json!({ "closed": 4499 })), "{events:?}");
    assert!(events.contains(&json!({ "closed": 4403 })), "{events:?}");
    assert_eq!(events.last(), Some(&json!({ "connected": true })), "{events:?}");
    merge("sixth").await;
    assert!(overlay.notification(&mut events).await.contains("sixth"));
}

#[test]
fn the_realtime_guide_shows_the_overlay_the_tests_run() {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/guides/realtime.md")).unwrap();
    let overlay = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/clients/overlay.mjs")).unwrap();
    assert!(guide.contains(&overlay), "docs/guides/realtime.md must show tests/clients/overlay.mjs verbatim");
}
