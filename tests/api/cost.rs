//! The cost model and the per-spender budget (ADR 0024), through the HTTP API.

use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use xpr_tests::{PASSWORD, TestApp, WsClient, WsEvent, code, node};

/// POSTs `query` asking for `extensions.cost`; returns the status, headers and body.
pub(crate) async fn post(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (StatusCode, HeaderMap, Value) {
    let body = json!({ "query": query, "variables": variables });
    let mut request = app.http.post(format!("{}/graphql", app.url)).header("x-xpr-cost", "1").json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.headers().clone(), response.json().await.unwrap())
}

pub(crate) fn header(headers: &HeaderMap, name: &str) -> u64 {
    headers.get(name).unwrap_or_else(|| panic!("no {name}")).to_str().unwrap().parse().unwrap()
}

async fn metric(app: &TestApp, line: &str) -> u64 {
    let text = app.http.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(line)).map_or(0, |n| n.trim().parse().unwrap())
}

const PAGES: &str =
    "query($n: Int) { entries(first: $n) { edges { node { reviews(first: 10) { edges { node { id } } } } } } }";
pub(crate) const TWENTY: &str = "{ entries(first: 20) { nodes { id } } }";
pub(crate) const RATE_LIMIT: &str = "{ rateLimit { cost limit used remaining resetAt } }";

#[tokio::test]
async fn cost_counts_objects_with_nested_pages_multiplied() {
    let app = TestApp::spawn().await;
    // entries 1 + 10 × (edge 1 + node 1 + reviews (1 + 10 × (edge 1 + node 1))) = 231
    let (status, _, body) = post(&app, None, PAGES, json!({ "n": 10 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["extensions"]["cost"]["requested"], 231, "{body}");
    assert_eq!(body["extensions"]["cost"]["maximum"], 25_000);
    // Absent `first`: the default page (20); over the cap: the cap (100).
    let (_, _, body) = post(&app, None, PAGES, json!({})).await;
    assert_eq!(body["extensions"]["cost"]["requested"], 1 + 20 * 23);
    let (_, _, body) = post(&app, None, "{ entries(first: 500) { nodes { id } } }", json!({})).await;
    assert_eq!(body["extensions"]["cost"]["requested"], 101, "{body}");
    // Without the header, no extension.
    let body = app.gql(None, TWENTY, json!({})).await;
    assert!(body.get("extensions").is_none(), "{body}");
}

#[tokio::test]
async fn over_cost_operations_are_refused_before_execution() {
    let app = TestApp::spawn_with(&["--max-cost", "100"]).await;
    let before = app.sql_statements().await;
    let (status, headers, body) = post(&app, None, "{ entries(first: 100) { nodes { id } } }", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("costs 101 points") && message.contains("the limit is 100"), "{message}");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(app.sql_statements().await, before, "no statement ran");
    assert_eq!(header(&headers, "x-ratelimit-remaining"), 500_000, "a refused operation spends nothing");
    assert_eq!(metric(&app, "xpr_graphql_rejected_total{reason=\"cost\"} ").await, 1);
    assert!(post(&app, None, "{ entries(first: 99) { nodes { id } } }", json!({})).await.2.get("errors").is_none());
}

#[tokio::test]
async fn the_rate_limit_field_and_headers_show_the_budget() {
    let app = TestApp::spawn_with(&["--cost-budget", "1000", "--max-cost", "1000"]).await;
    let (_, headers, body) = post(&app, None, TWENTY, json!({})).await;
    assert_eq!(header(&headers, "x-ratelimit-limit"), 1000);
    assert_eq!(header(&headers, "x-ratelimit-remaining"), 979);
    let reset = header(&headers, "x-ratelimit-reset") as i64;
    let now = chrono::Utc::now().timestamp();
    assert!((now + 3_590..=now + 3_601).contains(&reset), "the window ends in an hour: {reset} vs {now}");
    assert_eq!(body["extensions"]["cost"]["remaining"], 979);
    // rateLimit is an object: it costs one point, included in what it shows.
    let (_, _, body) = post(&app, None, RATE_LIMIT, json!({})).await;
    let limit = &body["data"]["rateLimit"];
    assert_eq!(
        (&limit["cost"], &limit["limit"], &limit["used"], &limit["remaining"]),
        (&json!(1), &json!(1000), &json!(22), &json!(978))
    );
    let reset_at = chrono::DateTime::parse_from_rfc3339(limit["resetAt"].as_str().unwrap()).unwrap();
    assert_eq!(reset_at.timestamp(), reset, "{limit}");
    // Refusals carry the headers too: a parse error, a GET mutation.
    let (status, headers, _) = post(&app, None, "{ entries(", json!({})).await;
    assert_eq!((status, header(&headers, "x-ratelimit-remaining")), (StatusCode::OK, 978));
    let response = app.http.get(format!("{}/graphql?query=mutation%7Blogout%7D", app.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(response.headers(), "x-ratelimit-limit"), 1000);
}

#[tokio::test]
async fn over_budget_is_429_with_retry_after_until_the_window_ends() {
    let app = TestApp::spawn_with(&["--cost-budget", "30", "--max-cost", "30", "--cost-budget-window-secs", "2"]).await;
    assert_eq!(post(&app, None, TWENTY, json!({})).await.0, StatusCode::OK);
    let before = app.sql_statements().await;
    let (status, headers, body) = post(&app, None, TWENTY, json!({})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(code(&body), "RATE_LIMITED");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("costs 21 points and 9 of 30 remain"), "{body}");
    assert!((1..=2).contains(&header(&headers, "retry-after")));
    assert_eq!(header(&headers, "x-ratelimit-remaining"), 9, "the refused operation spent nothing");
    assert_eq!(app.sql_statements().await, before);
    assert_eq!(metric(&app, "xpr_graphql_rejected_total{reason=\"rate_limit\"} ").await, 1);
    // A cheaper operation still fits.
    assert_eq!(post(&app, None, RATE_LIMIT, json!({})).await.2["data"]["rateLimit"]["remaining"], 8);
    tokio::time::sleep(std::time::Duration::from_millis(2_600)).await;
    let (status, headers, _) = post(&app, None, TWENTY, json!({})).await;
    assert_eq!((status, header(&headers, "x-ratelimit-remaining")), (StatusCode::OK, 9), "a new window");
    assert_eq!(metric(&app, "xpr_graphql_cost_spent_total ").await, 21 + 1 + 21);
}

#[tokio::test]
async fn each_user_token_and_address_has_its_own_budget() {
    let app = TestApp::spawn_with(&["--cost-budget", "100", "--max-cost", "100"]).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let body = app
        .gql(
            Some(&alice.access),
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
            json!({ "i": { "name": "bot", "scopes": ["READ"] } }),
        )
        .await;
    let token = body["data"]["createApiToken"]["token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let remaining = |headers: HeaderMap| header(&headers, "x-ratelimit-remaining");
    let alice_left = remaining(post(&app, Some(&alice.access), TWENTY, json!({})).await.1);
    assert_eq!(remaining(post(&app, Some(&alice.access), TWENTY, json!({})).await.1), alice_left - 21);
    let bob_left = remaining(post(&app, Some(&bob.access), TWENTY, json!({})).await.1);
    assert_eq!(bob_left, alice_left + 1, "bob's budget is untouched by alice's (who also created a token: 1 point)");
    assert_eq!(remaining(post(&app, Some(&token), TWENTY, json!({})).await.1), 79, "the token has its own");
    // Anonymous requests spend their address's budget (registering two users spent some of it).
    let anonymous = remaining(post(&app, None, TWENTY, json!({})).await.1);
    assert_eq!(remaining(post(&app, None, TWENTY, json!({})).await.1), anonymous - 21);
    assert_eq!(remaining(post(&app, Some(&bob.access), RATE_LIMIT, json!({})).await.1), bob_left - 1);
    if std::env::var("XPR_TEST_REDIS_URL").is_ok() {
        // With Redis the budget is the same on every replica.
        let replica = app.replica().await;
        assert_eq!(remaining(post(&replica, Some(&bob.access), RATE_LIMIT, json!({})).await.1), bob_left - 2);
    }
}

/// Runs a query over the socket: its one `next` payload, then `complete`.
async fn ws_query(ws: &mut WsClient, id: &str, query: &str) -> Value {
    ws.subscribe(id, query, json!({})).await;
    let payload = ws.next_data(id).await;
    let complete = ws.next(std::time::Duration::from_secs(5)).await;
    assert_eq!(complete, Some(WsEvent::Message(json!({ "type": "complete", "id": id }))), "{payload}");
    payload
}

#[tokio::test]
async fn websocket_operations_spend_the_budget_of_the_same_spender_as_http() {
    let app = TestApp::spawn_with(&["--cost-budget", "30", "--max-cost", "30"]).await;
    let alice = app.register("alice").await;
    let mut ws = app.ws(Some(&alice.access)).await;
    let limit = ws_query(&mut ws, "1", RATE_LIMIT).await["data"]["rateLimit"].clone();
    assert_eq!((&limit["cost"], &limit["used"], &limit["remaining"]), (&json!(1), &json!(1), &json!(29)), "{limit}");
    assert!(ws_query(&mut ws, "2", TWENTY).await.get("errors").is_none());

    let (spent, before) = (metric(&app, "xpr_graphql_cost_spent_total ").await, app.sql_statements_settled().await);
    let refused = ws_query(&mut ws, "3", TWENTY).await;
    assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("costs 21 points and 8 of 30 remain; retry after"), "{message}");
    assert_eq!(app.sql_statements().await, before, "a refused operation runs nothing");
    assert_eq!(metric(&app, "xpr_graphql_cost_spent_total ").await, spent, "and spends nothing");
    assert_eq!(metric(&app, "xpr_graphql_rejected_total{reason=\"rate_limit\"} ").await, 1);
    // The socket stays open; a cheaper operation still fits, and HTTP sees what it spent.
    assert_eq!(ws_query(&mut ws, "4", RATE_LIMIT).await["data"]["rateLimit"]["remaining"], 7);
    let (_, headers, _) = post(&app, Some(&alice.access), RATE_LIMIT, json!({})).await;
    assert_eq!(header(&headers, "x-ratelimit-remaining"), 6, "one budget for the user's socket and requests");

    // An API token spends its own budget over a socket too; anyone else their address's.
    let created = app
        .gql(
            Some(&alice.access),
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
            json!({ "i": { "name": "bot", "scopes": ["READ"] } }),
        )
        .await;
    let token = created["data"]["createApiToken"]["token"].as_str().unwrap_or_else(|| panic!("{created}"));
    let mut bot = app.ws(Some(token)).await;
    assert_eq!(ws_query(&mut bot, "1", RATE_LIMIT).await["data"]["rateLimit"]["remaining"], 29);
    assert_eq!(header(&post(&app, Some(token), RATE_LIMIT, json!({})).await.1, "x-ratelimit-remaining"), 28);
    let anonymous = header(&post(&app, None, RATE_LIMIT, json!({})).await.1, "x-ratelimit-remaining");
    let mut stranger = app.ws(None).await;
    assert_eq!(ws_query(&mut stranger, "1", RATE_LIMIT).await["data"]["rateLimit"]["remaining"], anonymous - 1);
}

#[tokio::test]
async fn aliased_login_attempts_each_count() {
    let app = TestApp::spawn_with(&["--max-aliases", "100", "--max-tokens", "5000"]).await;
    app.register("carol").await;
    let attempts: String = (0..100)
        .map(|i| {
            format!("a{i}: login(input: {{ login: \"carol\", password: \"wrong password {i}\" }}) {{ accessToken }} ")
        })
        .collect();
    let (_, _, body) = post(&app, None, &format!("mutation {{ {attempts} }}"), json!({})).await;
    let codes: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["extensions"]["code"].as_str().unwrap()).collect();
    assert_eq!(codes.len(), 100, "{body}");
    // The account allows 10 attempts per window (XPR_RATE_LIMIT_PER_ACCOUNT): the other 90 are refused.
    assert_eq!(codes.iter().filter(|c| **c == "RATE_LIMITED").count(), 90, "{codes:?}");
    let body = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "login": "carol", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(code(&body), "RATE_LIMITED", "the right password waits for the window too");
}

#[tokio::test]
async fn the_example_clients_stay_within_the_default_limits() {
    let app = TestApp::spawn().await;
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/dashboard/src");
    let output = node("operations.mjs", &[src]).output().await.expect("node");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let operations: Value = serde_json::from_slice(&output.stdout).unwrap();
    let (_, _, body) = post(&app, None, operations["introspection"].as_str().unwrap(), json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let introspection = body["extensions"]["cost"]["requested"].as_u64().unwrap();
    assert_eq!(introspection, 71, "graphql-js's standard introspection (ADR 0024)");
    let mut costs = Vec::new();
    for (name, document) in operations["dashboard"].as_object().unwrap() {
        let (_, _, body) = post(&app, None, document.as_str().unwrap(), json!({})).await;
        if let Some(cost) = body["extensions"]["cost"]["requested"].as_u64() {
            costs.push((cost, name.clone()));
        } else {
            assert!(document.as_str().unwrap().starts_with("subscription"), "{name}: {body}");
        }
    }
    costs.sort();
    let (heaviest, name) = costs.last().unwrap();
    assert_eq!((*heaviest, name.as_str()), (501, "ModerationQueue"), "the heaviest (ADR 0024): {costs:?}");
    assert!(costs.iter().any(|(cost, name)| (*cost, name.as_str()) == (241, "EntriesPage")), "{costs:?}");
}
