//! Persisted documents: manifest ids (trusted documents) and automatic
//! persisted queries over HTTP POST, GET and WebSocket, in each mode.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use xpr_api::auth::hash_token;
use xpr_tests::{PASSWORD, REGISTER, TestApp, WsClient, WsEvent, code};

const VIEWER: &str = "query Viewer { viewer { handle } }";
const LOGOUT: &str = "mutation Logout { logout }";
const CREATE_TOKEN: &str = "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }";
const FREE: &str = "{ __typename }";

/// A manifest as the clients' builds write it; ids are the documents' SHA-256, as Apollo's tools make them.
fn manifest() -> Value {
    let operation = |name: &str, kind: &str, body: &str| json!({ "id": hash_token(body), "name": name, "type": kind, "body": body });
    json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            operation("Viewer", "query", VIEWER),
            operation("Logout", "mutation", LOGOUT),
            operation("Register", "mutation", REGISTER),
            operation("CreateApiToken", "mutation", CREATE_TOKEN),
        ],
    })
}

/// A server in `mode` with the manifest in its trusted-documents directory.
async fn spawn(mode: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("persisted-query-manifest.json"), manifest().to_string()).unwrap();
    TestApp::spawn_with(&["--trusted-documents", mode, "--trusted-documents-dir", dir.to_str().unwrap()]).await
}

async fn post(app: &TestApp, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request = app.http.post(format!("{}/graphql", app.url)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

fn apollo(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// Registers `handle` by the manifest's id (the helper `TestApp::register` sends text) and returns its access token.
async fn register(app: &TestApp, handle: &str) -> String {
    let input = json!({ "handle": handle, "email": format!("{handle}@example.com"), "password": PASSWORD });
    let (_, body) =
        post(app, None, json!({ "documentId": hash_token(REGISTER), "variables": { "input": input } })).await;
    body["data"]["register"]["accessToken"].as_str().unwrap_or_else(|| panic!("register: {body}")).to_owned()
}

async fn api_token(app: &TestApp, session: &str) -> String {
    let body =
        json!({ "documentId": hash_token(CREATE_TOKEN), "variables": { "i": { "name": "bot", "scopes": ["READ"] } } });
    let (_, body) = post(app, Some(session), body).await;
    body["data"]["createApiToken"]["token"].as_str().unwrap_or_else(|| panic!("token: {body}")).to_owned()
}

#[tokio::test]
async fn allow_mode_runs_manifest_ids_in_both_styles_and_free_text() {
    let app = spawn("allow").await;
    let alice = register(&app, "alice").await;
    let id = hash_token(VIEWER);
    for body in [
        json!({ "documentId": id }),
        json!({ "documentId": format!("sha256:{id}") }),
        json!({ "extensions": apollo(&id) }),
    ] {
        let (status, reply) = post(&app, Some(&alice), body.clone()).await;
        assert_eq!((status, &reply["data"]["viewer"]["handle"]), (StatusCode::OK, &json!("alice")), "{body}: {reply}");
    }
    let (_, free) = post(&app, None, json!({ "query": FREE })).await;
    assert_eq!(free["data"]["__typename"], "Query");

    let (_, unknown) = post(&app, None, json!({ "documentId": hash_token("{ nope }") })).await;
    assert_eq!(code(&unknown), "PERSISTED_QUERY_NOT_FOUND", "{unknown}");
}

#[tokio::test]
async fn get_runs_query_ids_and_refuses_mutation_ids() {
    let app = spawn("require").await;
    let get = |params: Vec<(&'static str, String)>| app.http.get(format!("{}/graphql", app.url)).query(&params).send();
    let by_id = get(vec![("documentId", hash_token(VIEWER))]).await.unwrap();
    assert_eq!(by_id.status(), StatusCode::OK);
    assert_eq!(by_id.json::<Value>().await.unwrap(), json!({ "data": { "viewer": null } }));
    let apollo_style = get(vec![("extensions", apollo(&hash_token(VIEWER)).to_string())]).await.unwrap();
    assert_eq!(apollo_style.json::<Value>().await.unwrap(), json!({ "data": { "viewer": null } }));

    let mutation = get(vec![("documentId", hash_token(LOGOUT))]).await.unwrap();
    assert_eq!(mutation.status(), StatusCode::METHOD_NOT_ALLOWED, "GET stays for queries");
    let free = get(vec![("query", FREE.to_owned())]).await.unwrap();
    assert_eq!(code(&free.json().await.unwrap()), "PERSISTED_QUERY_ID_REQUIRED");
}

#[tokio::test]
async fn require_mode_runs_only_manifest_ids_except_for_api_tokens() {
    let app = spawn("require").await;
    let alice = register(&app, "alice").await;
    for token in [None, Some(alice.as_str())] {
        let response = app
            .http
            .post(format!("{}/graphql", app.url))
            .header(header::ACCEPT, "application/graphql-response+json")
            .json(&json!({ "query": FREE }));
        let response = match token {
            Some(token) => response.bearer_auth(token),
            None => response,
        };
        let response = response.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "PERSISTED_QUERY_ID_REQUIRED", "{body}");
        assert!(body.get("data").is_none(), "refused before execution: {body}");
    }
    let (_, by_id) = post(&app, Some(&alice), json!({ "documentId": hash_token(VIEWER) })).await;
    assert_eq!(by_id["data"]["viewer"]["handle"], "alice");

    // A third party's API token keeps free queries, introspection included.
    let token = api_token(&app, &alice).await;
    let (_, free) =
        post(&app, Some(&token), json!({ "query": "{ viewer { handle } __schema { queryType { name } } }" })).await;
    assert_eq!(free["data"]["viewer"]["handle"], "alice", "{free}");
    assert_eq!(free["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn automatic_persisted_queries_are_a_cache_and_never_trusted() {
    let app = spawn("allow").await;
    let hash = hash_token(FREE);
    let (_, miss) = post(&app, None, json!({ "extensions": apollo(&hash) })).await;
    assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND");
    let (_, wrong) = post(&app, None, json!({ "query": "{ viewer { id } }", "extensions": apollo(&hash) })).await;
    assert_eq!(code(&wrong), "PERSISTED_QUERY_HASH_MISMATCH", "the hash is verified: {wrong}");
    let (_, registered) = post(&app, None, json!({ "query": FREE, "extensions": apollo(&hash) })).await;
    assert_eq!(registered["data"]["__typename"], "Query");
    let (_, hit) = post(&app, None, json!({ "extensions": apollo(&hash) })).await;
    assert_eq!(hit["data"]["__typename"], "Query", "{hit}");

    let app = spawn("require").await;
    let alice = register(&app, "alice").await;
    let token = api_token(&app, &alice).await;
    let (_, registered) = post(&app, Some(&token), json!({ "query": FREE, "extensions": apollo(&hash) })).await;
    assert_eq!(registered["data"]["__typename"], "Query", "an API token may register: {registered}");
    let (_, by_token) = post(&app, Some(&token), json!({ "extensions": apollo(&hash) })).await;
    assert_eq!(by_token["data"]["__typename"], "Query");
    let (_, by_session) = post(&app, Some(&alice), json!({ "extensions": apollo(&hash) })).await;
    assert_eq!(code(&by_session), "PERSISTED_QUERY_NOT_FOUND", "what a client registered is not trusted: {by_session}");
}

#[tokio::test]
async fn off_mode_loads_no_manifest() {
    let app = spawn("off").await;
    let (_, by_id) = post(&app, None, json!({ "documentId": hash_token(VIEWER) })).await;
    assert_eq!(code(&by_id), "PERSISTED_QUERY_NOT_FOUND");
    let (_, free) = post(&app, None, json!({ "query": FREE })).await;
    assert_eq!(free["data"]["__typename"], "Query");
}

/// Runs one operation over a `graphql-transport-ws` socket: its one result, then `complete`.
async fn query(ws: &mut WsClient, payload: Value) -> Value {
    ws.send(json!({ "id": "q", "type": "subscribe", "payload": payload })).await;
    let result = ws.next_data("q").await;
    let complete = ws.next(std::time::Duration::from_secs(5)).await;
    assert_eq!(complete, Some(WsEvent::Message(json!({ "id": "q", "type": "complete" }))));
    result
}

#[tokio::test]
async fn websocket_operations_run_by_id_and_free_text_only_with_an_api_token() {
    let app = spawn("require").await;
    let alice = register(&app, "alice").await;
    let mut ws = app.ws(Some(&alice)).await;
    let by_id = query(&mut ws, json!({ "documentId": hash_token(VIEWER) })).await;
    assert_eq!(by_id["data"]["viewer"]["handle"], "alice");
    let apollo_style = query(&mut ws, json!({ "query": "", "extensions": apollo(&hash_token(VIEWER)) })).await;
    assert_eq!(apollo_style["data"]["viewer"]["handle"], "alice");
    assert_eq!(code(&query(&mut ws, json!({ "query": FREE })).await), "PERSISTED_QUERY_ID_REQUIRED");

    let token = api_token(&app, &alice).await;
    let mut bot = app.ws(Some(&token)).await;
    assert_eq!(query(&mut bot, json!({ "query": FREE })).await["data"]["__typename"], "Query");
}
