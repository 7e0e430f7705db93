//! Responses shaped as the GraphQL spec says, whichever path resolved them:
//! an errored nullable field is present as `null`, a null in a non-null
//! position nulls the nearest nullable parent (up to `data: null`), and every
//! object's keys follow the selection order. Apollo Client's cache depends on
//! all three (a missing key is "Missing field …" and a refetch).

use serde_json::{Value, json};
use xpr_tests::TestApp;

/// The `data` part of a response body, as text: key order is part of the contract.
async fn data_text(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> String {
    let mut request =
        app.http.post(format!("{}/graphql", app.url)).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let text = request.send().await.unwrap().text().await.unwrap();
    text.split(",\"errors\":").next().unwrap().to_owned()
}

#[tokio::test]
async fn errored_fields_are_null_nulls_propagate_and_keys_follow_the_selection() {
    let app = TestApp::spawn().await;
    let admin = app.admin("chief").await;
    let user = app.register("alice").await;
    let entry = app.places(&admin, &["Harbor".into()]).await.remove(0);
    let cases: [(&str, Option<&str>, &str); 9] = [
        (
            "{ a: entryKinds { slug } broken: entry(id: \"not-an-id\") { id } b: viewer { id } }",
            None,
            r#"{"data":{"a":[{"slug":"place"}],"broken":null,"b":null}"#,
        ),
        ("{ entry(id: \"not-an-id\") { id } }", None, r#"{"data":{"entry":null}"#),
        // `history` is non-null: its error nulls the entry.
        (
            "query($id: ID!) { entry(id: $id) { title history(first: 1000) { nodes { number } } } }",
            None,
            r#"{"data":{"entry":null}"#,
        ),
        // A non-null root field's error nulls `data` itself.
        (
            "{ entryKinds { slug } moderationQueue(first: 1) { edges { cursor } } }",
            Some(&user.access),
            r#"{"data":null"#,
        ),
        // Up a chain of non-null positions: node → nodes → entries → data.
        (
            "{ v: viewer { handle } entries(first: 1) { nodes { title history(first: 1000) { pageInfo { hasNextPage } } } } }",
            None,
            r#"{"data":null"#,
        ),
        // Root fields that wait for loaders answer in the order asked.
        (
            "{ e: entries(first: 1) { nodes { creator { handle } title } } k: entryKinds { slug } v: viewer { handle } }",
            Some(&user.access),
            r#"{"data":{"e":{"nodes":[{"creator":{"handle":"chief"},"title":"Harbor"}]},"k":[{"slug":"place"}],"v":{"handle":"alice"}}}"#,
        ),
        // Fragments (async-graphql's own path), with loads before ready fields.
        (
            "query($id: ID!) { entry(id: $id) { ...F title } } fragment F on Entry { creator { handle } __typename kind { slug } }",
            None,
            r#"{"data":{"entry":{"creator":{"handle":"chief"},"__typename":"Entry","kind":{"slug":"place"},"title":"Harbor"}}}"#,
        ),
        // An interface: fields of the other types' fragments are not the object's.
        (
            "query($id: ID!) { node(id: $id) { __typename ... on User { handle } ... on Entry { title kind { slug } } id } }",
            None,
            r#"{"data":{"node":{"__typename":"Entry","title":"Harbor","kind":{"slug":"place"},"id":"ENTRY"}}}"#,
        ),
        (
            "query($id: ID!) { node(id: $id) { ... on Entry { history(first: 1000) { pageInfo { hasNextPage } } } } t: __typename }",
            None,
            r#"{"data":{"node":null,"t":"Query"}"#,
        ),
    ];
    for (query, token, expected) in cases {
        let expected = expected.replace("ENTRY", &entry);
        assert_eq!(data_text(&app, token, query, json!({ "id": entry })).await, expected, "{query}");
    }
}

#[tokio::test]
async fn an_apollo_style_query_with_an_error_answers_every_selected_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin("chief").await;
    let entry = app.places(&admin, &["Harbor".into()]).await.remove(0);
    // As Apollo Client sends it: `__typename` everywhere, colocated fragments, an
    // errored nullable field; with `errorPolicy: 'all'` it caches what answered.
    let query = "query EntryPage($id: ID!) { entry(id: $id) { __typename id ...EntryHeader \
        reviews(first: 5) { __typename edges { __typename node { __typename id } } } } \
        missing: entry(id: \"nope\") { __typename id } viewer { __typename id } } \
        fragment EntryHeader on Entry { title kind { __typename slug } creator { __typename handle } }";
    let body: Value =
        serde_json::from_str(&format!("{}}}", data_text(&app, None, query, json!({ "id": entry })).await))
            .unwrap_or_else(|_| panic!("a JSON object"));
    assert_eq!(
        body["data"],
        json!({
            "entry": {
                "__typename": "Entry", "id": entry, "title": "Harbor",
                "kind": { "__typename": "EntryKind", "slug": "place" },
                "creator": { "__typename": "User", "handle": "chief" },
                "reviews": { "__typename": "ReviewConnection", "edges": [] },
            },
            "missing": null,
            "viewer": null,
        })
    );
}

#[tokio::test]
async fn operations_over_websocket_are_completed_the_same_way() {
    let app = TestApp::spawn().await;
    let mut socket = app.ws(None).await;
    socket.subscribe("1", "{ a: entryKinds { slug } broken: entry(id: \"not-an-id\") { id } }", json!({})).await;
    let payload = socket.next_data("1").await;
    assert_eq!(payload["data"], json!({ "a": [], "broken": null }), "{payload}");
    assert_eq!(payload["errors"][0]["path"], json!(["broken"]), "{payload}");
}
