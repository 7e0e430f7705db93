//! Traces exported over OTLP/HTTP (ADR 0027), received by a collector stand-in in the test.

use std::sync::{Arc, Mutex};

use axum::{Router, body::Bytes, extract::State, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, KeyValue, any_value},
    trace::v1::Span,
};
use prost::Message;
use serde_json::json;
use xpr_tests::{PASSWORD, TestApp};

/// An OTLP/HTTP receiver on an ephemeral port: the spans it was sent, and its base URL.
async fn collector() -> (Arc<Mutex<Vec<Span>>>, String) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let receive = |State(spans): State<Arc<Mutex<Vec<Span>>>>, body: Bytes| async move {
        let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
        let received = request.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans);
        spans.lock().unwrap().extend(received);
        // An empty `ExportTraceServiceResponse`: zero protobuf bytes.
        ([("content-type", "application/x-protobuf")], Vec::new())
    };
    let router = Router::new().route("/v1/traces", post(receive)).with_state(spans.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (spans, url)
}

fn attribute<'s>(span: &'s Span, key: &str) -> Option<&'s str> {
    let value = span.attributes.iter().find(|a| a.key == key)?.value.as_ref()?.value.as_ref()?;
    match value {
        any_value::Value::StringValue(text) => Some(text),
        _ => None,
    }
}

fn every_text(attributes: &[KeyValue]) -> impl Iterator<Item = &str> {
    attributes.iter().filter_map(|a| match a.value.as_ref() {
        Some(AnyValue { value: Some(any_value::Value::StringValue(text)) }) => Some(text.as_str()),
        _ => None,
    })
}

#[tokio::test]
async fn an_operation_is_exported_as_a_span_with_its_statements_and_no_values() {
    let (spans, endpoint) = collector().await;
    let app = TestApp::spawn_with(&["--otel-exporter-otlp-endpoint", &endpoint]).await;
    app.register("tracy").await;
    let body = app.gql(None, r#"query Profile { user(handle: "tracy") { handle } }"#, json!({})).await;
    assert_eq!(body["data"]["user"]["handle"], "tracy", "{body}");
    // Shutting down exports what is queued.
    app.shut_down().await.unwrap();

    let spans = spans.lock().unwrap();
    let operation = spans.iter().find(|s| s.name == "query Profile").expect("the operation's span");
    assert_eq!(attribute(operation, "graphql.operation.type"), Some("query"));
    assert_eq!(attribute(operation, "graphql.operation.name"), Some("Profile"));
    assert_eq!(attribute(operation, "graphql.document"), Some(r#"query Profile { user(handle: "") { handle } }"#));
    assert!(operation.parent_span_id.is_empty(), "the operation is the root of its trace");

    let statements: Vec<&Span> =
        spans.iter().filter(|s| s.trace_id == operation.trace_id && s.parent_span_id == operation.span_id).collect();
    assert!(!statements.is_empty(), "the operation's SQL statements are its children");
    for statement in &statements {
        assert!(matches!(attribute(statement, "db.system.name"), Some("sqlite" | "postgresql")));
        let sql = attribute(statement, "db.query.text").expect("the statement's SQL");
        assert!(!sql.contains("tracy"), "statements are recorded without their values: {sql}");
        assert!(statement.start_time_unix_nano >= operation.start_time_unix_nano);
        assert!(statement.end_time_unix_nano <= operation.end_time_unix_nano);
    }
    assert!(statements.iter().any(|s| s.name == "SELECT"));

    let register = spans.iter().find(|s| s.name == "mutation").expect("the registration's span");
    assert_eq!(attribute(register, "graphql.operation.name"), None, "an anonymous operation has no name");
    let texts = spans.iter().flat_map(|s| every_text(&s.attributes)).collect::<Vec<_>>();
    assert!(!texts.iter().any(|t| t.contains(PASSWORD) || t.contains("tracy@")), "variables are never recorded");
}

/// A caller's W3C trace context: its trace id and the id of its span.
const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_traceparent_header_makes_the_operation_a_child_of_the_callers_span() {
    let (spans, endpoint) = collector().await;
    let app = TestApp::spawn_with(&["--otel-exporter-otlp-endpoint", &endpoint]).await;
    for (name, traceparent) in [("Joined", format!("00-{TRACE}-{PARENT}-01")), ("Malformed", "00-nonsense-01".into())] {
        let body = json!({ "query": format!("query {name} {{ entryKinds {{ slug }} }}") });
        let request = app.http.post(format!("{}/graphql", app.url)).header("traceparent", traceparent).json(&body);
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
    app.shut_down().await.unwrap();

    let spans = spans.lock().unwrap();
    let joined = spans.iter().find(|s| s.name == "query Joined").expect("the operation's span");
    assert_eq!((hex(&joined.trace_id), hex(&joined.parent_span_id)), (TRACE.into(), PARENT.into()));
    let malformed = spans.iter().find(|s| s.name == "query Malformed").expect("the operation's span");
    assert!(malformed.parent_span_id.is_empty(), "a malformed traceparent is ignored: the span is a root");
    assert_ne!(hex(&malformed.trace_id), TRACE);
}

#[tokio::test]
async fn websocket_operations_are_spans_with_their_statements_under_the_upgrades_traceparent() {
    let (spans, endpoint) = collector().await;
    let app = TestApp::spawn_with(&["--otel-exporter-otlp-endpoint", &endpoint]).await;
    let admin = app.admin("root_admin").await;
    let ids = app.places(&admin, &["Harbour".into(), "Lighthouse".into()]).await;
    let mut ws = app.ws_open_with(&[("traceparent", &format!("00-{TRACE}-{PARENT}-01"))]).await;
    ws.init(Some(&admin.access)).await;
    // `kind` and `tags` come through the socket's loaders, whose batches run as tasks of their own.
    ws.subscribe("1", "query Places { entries(first: 5) { nodes { title kind { slug } tags } } }", json!({})).await;
    let places = ws.next_data("1").await;
    assert_eq!(places["data"]["entries"]["nodes"][0]["kind"]["slug"], "place", "{places}");
    assert!(ws.next(std::time::Duration::from_secs(5)).await.is_some_and(|m| format!("{m:?}").contains("complete")));
    let updates = "subscription Updates($id: ID!) { entryUpdated(id: $id, afterVersion: 0) { version } }";
    ws.subscribe("2", updates, json!({ "id": ids[0] })).await;
    assert_eq!(ws.next_data("2").await["data"]["entryUpdated"]["version"], 1);
    let first_item = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    app.shut_down().await.unwrap();

    let spans = spans.lock().unwrap();
    let children = |operation: &Span| -> Vec<Span> {
        spans
            .iter()
            .filter(|s| s.trace_id == operation.trace_id && s.parent_span_id == operation.span_id)
            .cloned()
            .collect()
    };
    let query = spans.iter().find(|s| s.name == "query Places").expect("the query's span");
    assert_eq!((hex(&query.trace_id), hex(&query.parent_span_id)), (TRACE.into(), PARENT.into()));
    assert_eq!(attribute(query, "graphql.operation.type"), Some("query"));
    let statements = children(query);
    let texts: Vec<&str> = statements.iter().filter_map(|s| attribute(s, "db.query.text")).collect();
    for table in ["entry_kinds", "entry_tags"] {
        assert!(texts.iter().any(|sql| sql.contains(table)), "the loaders' batches are children: {texts:#?}");
    }
    for statement in &statements {
        assert!(statement.start_time_unix_nano >= query.start_time_unix_nano);
        assert!(statement.end_time_unix_nano <= query.end_time_unix_nano);
    }

    let subscription = spans.iter().find(|s| s.name == "subscription Updates").expect("the subscription's span");
    assert_eq!(hex(&subscription.parent_span_id), PARENT);
    assert!(subscription.end_time_unix_nano <= first_item, "the span ends with the first item, not the subscription");
    assert!(!children(subscription).is_empty(), "its set-up's statements are its children");
}
