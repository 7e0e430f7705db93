//! GraphQL over HTTP: media types, methods, status codes and limits.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use xpr_tests::{TestApp, code};

const VIEWER: &str = "{ viewer { id } }";

#[tokio::test]
async fn graphql_response_json_gets_400_for_invalid_queries_and_200_with_data() {
    let app = TestApp::spawn().await;
    let post = |body: serde_json::Value| {
        app.http
            .post(format!("{}/graphql", app.url))
            .header(header::ACCEPT, "application/graphql-response+json")
            .json(&body)
            .send()
    };
    let ok = post(json!({ "query": "{ __typename }" })).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/graphql-response+json"));
    assert_eq!(ok.json::<serde_json::Value>().await.unwrap()["data"]["__typename"], "Query");

    let invalid = post(json!({ "query": "{ nope }" })).await.unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = invalid.json().await.unwrap();
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    assert!(body.get("data").is_none(), "request errors carry no data: {body}");

    let unparsable = post(json!({ "query": "{ viewer { " })).await.unwrap();
    assert_eq!(unparsable.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&unparsable.json().await.unwrap()), "GRAPHQL_PARSE_FAILED");
}

#[tokio::test]
async fn legacy_json_clients_get_200_with_coded_errors() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, "{ nope }", json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    let body =
        app.gql(None, "query($n: Int) { sessions(first: $n) { edges { cursor } } }", json!({ "n": "ten" })).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "a wrongly typed variable is refused: {body}");
}

#[tokio::test]
async fn mutations_are_refused_over_get_and_queries_work() {
    let app = TestApp::spawn().await;
    let get = |q: &str| app.http.get(format!("{}/graphql", app.url)).query(&[("query", q)]).send();
    let ok = get(VIEWER).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.json::<serde_json::Value>().await.unwrap()["data"]["viewer"], serde_json::Value::Null);

    let refused = get("mutation { logout }").await.unwrap();
    assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(refused.headers()[header::ALLOW], "POST");
}

#[tokio::test]
async fn malformed_wrongly_typed_and_oversized_bodies_are_refused() {
    let app = TestApp::spawn_with(&["--max-body-bytes", "2048"]).await;
    let url = format!("{}/graphql", app.url);
    let raw = |content_type: &'static str, body: String| {
        app.http.post(&url).header(header::CONTENT_TYPE, content_type).body(body).send()
    };

    let broken = raw("application/json", "{\"query\": ".into()).await.unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&broken.json().await.unwrap()), "BAD_REQUEST");

    let text = raw("text/plain", json!({ "query": VIEWER }).to_string()).await.unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let multipart = raw("multipart/form-data; boundary=x", "--x--".into()).await.unwrap();
    assert_eq!(multipart.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge =
        raw("application/json", json!({ "query": format!("{{ viewer {{ id }} }} #{}", "x".repeat(4096)) }).to_string())
            .await
            .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&huge.json().await.unwrap()), "PAYLOAD_TOO_LARGE");

    let not_acceptable =
        app.http.post(&url).header(header::ACCEPT, "text/html").json(&json!({ "query": VIEWER })).send().await.unwrap();
    assert_eq!(not_acceptable.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn batches_are_capped() {
    let app = TestApp::spawn_with(&["--max-batch", "2"]).await;
    let url = format!("{}/graphql", app.url);
    let op = json!({ "query": "{ __typename }" });
    let two: serde_json::Value = app.http.post(&url).json(&json!([op, op])).send().await.unwrap().json().await.unwrap();
    assert_eq!(two.as_array().map(Vec::len), Some(2));
    let three = app.http.post(&url).json(&json!([op, op, op])).send().await.unwrap();
    assert_eq!(three.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deep_and_complex_queries_are_refused_with_a_clear_code() {
    let app = TestApp::spawn_with(&["--max-query-depth", "5", "--max-cost", "50"]).await;
    let deep = app
        .gql(None, "{ entries(first: 1) { nodes { creator { reviews(first: 1) { nodes { id } } } } } }", json!({}))
        .await;
    assert_eq!(code(&deep), "QUERY_TOO_COMPLEX");
    assert_eq!(deep["errors"][0]["message"], "the query is nested 6 levels deep; the limit is 5");
    // Introspection has a bound of its own (15, what graphql-js's standard query needs)…
    let schema = app.gql(None, "{ __schema { types { fields { type { ofType { name } } } } } }", json!({})).await;
    assert!(schema["errors"].is_null(), "{schema}");
    // …so a hand-made chain deeper than that is still refused.
    let chain = format!("{{ __schema {{ types {{ {}name{} }} }} }}", "ofType { ".repeat(14), " }".repeat(14));
    let chain = app.gql(None, &chain, json!({})).await;
    assert_eq!(code(&chain), "QUERY_TOO_COMPLEX", "{chain}");
    assert_eq!(chain["errors"][0]["message"], "the introspection query is nested 17 levels deep; the limit is 15");
    // The cost counts a page at its `first` (1 + 100 × 2 here), so big pages can't slip through.
    let wide = app.gql(None, "{ sessions(first: 100) { edges { node { id createdAt } } } }", json!({})).await;
    assert_eq!(code(&wide), "QUERY_TOO_COMPLEX");
    let small = app.gql(None, "{ sessions(first: 2) { edges { node { id } } } }", json!({})).await;
    assert_eq!(code(&small), "UNAUTHENTICATED", "a small page passes the limits: {small}");
}

#[tokio::test]
async fn health_readiness_metrics_and_graphiql_are_served() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.http.get(format!("{}{path}", app.url)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
    let expected_bus = if std::env::var("XPR_TEST_REDIS_URL").is_ok() { "redis" } else { "in-process" };
    assert_eq!(ready["bus"], expected_bus);
    let page = get("/").await.unwrap();
    assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("GraphiQL"));
    let response = get("/metrics").await.unwrap();
    assert!(response.headers().contains_key("x-request-id"), "every response carries its request id");
    assert!(response.text().await.unwrap().contains("xpr_db_statements_total"));
}

#[tokio::test]
async fn internal_details_never_reach_clients() {
    let app = TestApp::spawn().await;
    // A malformed id is a typed input error, not a database error.
    let body = app.gql(None, "{ node(id: \"x'; DROP TABLE users; --\") { id } }", json!({})).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "id");
}

/// A stylesheet or script of GraphiQL's page.
struct Asset {
    url: String,
    integrity: String,
    crossorigin: String,
}

impl Asset {
    /// `(package, version, path)` of a CDN URL.
    fn package(&self) -> (&str, &str, &str) {
        let rest = self.url.strip_prefix("https://cdn.jsdelivr.net/npm/").expect("a CDN URL");
        let (package, path) = rest.split_once('/').unwrap();
        let (name, version) = package.rsplit_once('@').unwrap();
        (name, version, path)
    }
}

async fn graphiql_assets(app: &TestApp) -> Vec<Asset> {
    let page = app.http.get(format!("{}/", app.url)).send().await.unwrap().text().await.unwrap();
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!(" {name}=\"")).map(|i| i + name.len() + 3);
        start.map(|start| tag[start..].split('"').next().unwrap().to_owned()).unwrap_or_default()
    };
    page.split('<')
        .filter(|tag| tag.starts_with("script src=") || tag.starts_with("link rel=\"stylesheet\""))
        .map(|tag| Asset {
            url: attribute(tag, if tag.starts_with("script") { "src" } else { "href" }),
            integrity: attribute(tag, "integrity"),
            crossorigin: attribute(tag, "crossorigin"),
        })
        .collect()
}

#[tokio::test]
async fn graphiql_loads_exact_versions_with_integrity_hashes_and_the_readme_installs_those() {
    let app = TestApp::spawn().await;
    let assets = graphiql_assets(&app).await;
    assert_eq!(assets.len(), 4, "a stylesheet and three scripts");
    let mut pinned = Vec::new();
    for asset in &assets {
        let (name, version, _) = asset.package();
        assert!(
            version.split('.').all(|n| n.parse::<u32>().is_ok()) && version.split('.').count() == 3,
            "{}",
            asset.url
        );
        assert!(asset.integrity.starts_with("sha384-") && asset.integrity.len() == 71, "{}", asset.url);
        assert_eq!(asset.crossorigin, "anonymous", "SRI needs a CORS request: {}", asset.url);
        pinned.push(format!("{name}@{version}"));
    }
    pinned.sort();
    pinned.dedup();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let step = readme.lines().find(|line| line.contains("npm install --prefix")).expect("README's offline step");
    let mut installed: Vec<String> =
        step.split([' ', '`']).filter(|word| word.contains('@')).map(str::to_owned).collect();
    installed.sort();
    assert_eq!(installed, pinned, "README installs the versions the page loads: {step}");
}

#[tokio::test]
async fn graphiql_assets_installed_after_start_are_served_without_a_restart() {
    let folder = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(&["--graphiql-dir", folder.path().to_str().unwrap()]).await;
    let online = graphiql_assets(&app).await;
    let install = |version_of: &dyn Fn(&str) -> String| {
        for asset in &online {
            let (name, version, path) = asset.package();
            let package = folder.path().join("node_modules").join(name);
            let file = package.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, format!("/* {name} {path} */")).unwrap();
            let manifest = json!({ "name": name, "version": version_of(version) });
            std::fs::write(package.join("package.json"), manifest.to_string()).unwrap();
        }
    };

    install(&|version| if version.starts_with("18.") { "19.0.0".into() } else { version.into() });
    let other = graphiql_assets(&app).await;
    assert!(other.iter().all(|a| a.url.starts_with("https://")), "other versions are not used (their hashes differ)");

    install(&str::to_owned);
    let local = graphiql_assets(&app).await;
    assert_eq!(local.len(), online.len());
    for (local, online) in local.iter().zip(&online) {
        let (name, _, path) = online.package();
        assert_eq!(local.url, format!("/graphiql/assets/{name}/{path}"), "no internet needed");
        assert_eq!(local.integrity, online.integrity, "the same files, the same hashes");
        let served = app.http.get(format!("{}{}", app.url, local.url)).send().await.unwrap();
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.text().await.unwrap(), format!("/* {name} {path} */"));
    }
}

#[tokio::test]
async fn documents_over_the_token_alias_directive_or_field_limits_are_refused_before_validation() {
    let app = TestApp::spawn().await;
    let refused = |body: &Value, what: &str| {
        assert_eq!(code(body), "QUERY_TOO_COMPLEX", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(what), "{what}: {message}");
        assert!(body.get("data").is_none(), "refused before execution: {body}");
    };
    // Cheap-looking documents that once cost seconds of CPU: ~1 MiB of fields or directives.
    refused(&app.gql(None, &format!("{{ {} }}", "__typename ".repeat(90_000)), json!({})).await, "1000 tokens");
    let included = format!("{{ __typename {} }}", "@include(if: true) ".repeat(50_000));
    refused(&app.gql(None, &included, json!({})).await, "1000 tokens");
    let aliases: String = (0..16).map(|i| format!("a{i}: __typename ")).collect();
    refused(&app.gql(None, &format!("{{ {aliases} }}"), json!({})).await, "16 aliases; the limit is 15");
    let directives = "@skip(if: false) ".repeat(51);
    refused(&app.gql(None, &format!("{{ __typename {directives} }}"), json!({})).await, "51 directives");
    // A fragment that spreads a fragment 10 times, 4 levels deep: 10⁴ fields from a few lines.
    let mut bomb = String::from("{ ...F0 } fragment F4 on Query { __typename }");
    for level in 0..4 {
        bomb += &format!(" fragment F{level} on Query {{ {} }}", format!("...F{} ", level + 1).repeat(10));
    }
    refused(&app.gql(None, &bomb, json!({})).await, "10000 fields");
    // The same limits hold over WebSocket.
    let mut socket = app.ws(None).await;
    socket.subscribe("1", &format!("subscription {{ {aliases} }}"), json!({})).await;
    let reply = format!("{:?}", socket.next(std::time::Duration::from_secs(5)).await);
    assert!(reply.contains("16 aliases"), "{reply}");
}

#[tokio::test]
async fn text_with_a_nul_character_is_refused_naming_the_input() {
    let app = TestApp::spawn().await;
    let refused = |body: &Value, field: &str| {
        assert_eq!(code(body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], field, "{body}");
        assert!(body.get("data").is_none(), "refused before execution: {body}");
    };
    let login = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
    let body = app.gql(None, login, json!({ "i": { "login": "al\u{0}ice", "password": "x" } })).await;
    refused(&body, "i.login");
    refused(&app.gql(None, "{ user(handle: \"al\\u0000ice\") { id } }", json!({})).await, "handle");
    let lookup = "query($s: String!) { entry(kind: \"ship\", slug: $s) { id } }";
    refused(&app.gql(None, lookup, json!({ "s": "a\u{0}" })).await, "s");
    let alice = app.verified("alice").await;
    let changes =
        json!([{ "op": "CREATE", "kind": "ship", "fields": { "slug": "s", "title": "T", "body": "x\u{0}y" } }]);
    let create = "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }";
    let body = app.gql(Some(&alice.access), create, json!({ "i": { "title": "t", "changes": changes } })).await;
    refused(&body, "i.changes.0.fields.body");
    let mine = app.gql(Some(&alice.access), "{ submissions(first: 5) { edges { node { id } } } }", json!({})).await;
    assert_eq!(mine["data"]["submissions"]["edges"], json!([]), "nothing was written: {mine}");
}

#[tokio::test]
async fn an_email_in_display_name_form_is_refused_and_addresses_are_unique_once_normalised() {
    let app = TestApp::spawn().await;
    let register = "mutation($i: RegisterInput!) { register(input: $i) { user { handle } } }";
    let input = |handle: &str, email: &str| json!({ "i": { "handle": handle, "email": email, "password": xpr_tests::PASSWORD } });
    let body = app.gql(None, register, input("alice", "Alice <alice@example.com>")).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "email", "{body}");
    let first = app.gql(None, register, input("alice", "Alice@Example.com")).await;
    assert!(first["errors"].is_null(), "{first}");
    let second = app.gql(None, register, input("alice2", " alice@EXAMPLE.com ")).await;
    assert!(!second["errors"].is_null(), "one mailbox, one account: {second}");
}

#[tokio::test]
async fn production_errors_suggest_no_field_names() {
    let app = TestApp::spawn().await; // the harness runs in production mode
    let body = app.gql(None, "{ entryKind { slug } }", json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(!body["errors"][0]["message"].as_str().unwrap().contains("Did you mean"), "{body}");
}
