//! Cross-site request forgery: what a page on another site can make a
//! browser send without a CORS preflight (an HTML form's encodings,
//! `text/plain`, a plain GET) never runs a mutation. Each test tries
//! `register` and checks that no account appeared.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use xpr_tests::{PASSWORD, REGISTER, TestApp};

fn variables(handle: &str) -> Value {
    json!({ "input": { "handle": handle, "email": format!("{handle}@example.com"), "password": PASSWORD } })
}

fn operation(handle: &str) -> String {
    json!({ "query": REGISTER, "variables": variables(handle) }).to_string()
}

/// Sends a POST as a cross-site form or `fetch` without custom headers would, and checks it ran nothing.
async fn refused_without_effect(app: &TestApp, handle: &str, content_type: &str, body: String) {
    let response = app
        .http
        .post(format!("{}/graphql", app.url))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
    assert_no_account(app, handle).await;
}

async fn assert_no_account(app: &TestApp, handle: &str) {
    let user = app.gql(None, "query($h: String!) { user(handle: $h) { handle } }", json!({ "h": handle })).await;
    assert_eq!(user["data"]["user"], Value::Null, "{handle} was registered: {user}");
}

#[tokio::test]
async fn form_urlencoded_posts_never_run_mutations() {
    let app = TestApp::spawn().await;
    let variables = variables("formed").to_string();
    let body = reqwest::Url::parse_with_params("http://x/", [("query", REGISTER), ("variables", variables.as_str())])
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    refused_without_effect(&app, "formed", "application/x-www-form-urlencoded", body).await;
}

#[tokio::test]
async fn multipart_posts_without_the_preflight_header_never_run_mutations() {
    let app = TestApp::spawn().await;
    let body = format!(
        "--x\r\ncontent-disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n\
         --x\r\ncontent-disposition: form-data; name=\"map\"\r\n\r\n{{}}\r\n--x--\r\n",
        operation("multiparted")
    );
    refused_without_effect(&app, "multiparted", "multipart/form-data; boundary=x", body).await;
}

#[tokio::test]
async fn text_plain_posts_never_run_mutations() {
    let app = TestApp::spawn().await;
    refused_without_effect(&app, "plain", "text/plain", operation("plain")).await;
    refused_without_effect(&app, "plainer", "text/plain;charset=UTF-8", operation("plainer")).await;
}

#[tokio::test]
async fn header_less_gets_never_run_mutations() {
    let app = TestApp::spawn().await;
    let variables = variables("gotten").to_string();
    let response = app
        .http
        .get(format!("{}/graphql", app.url))
        .query(&[("query", REGISTER), ("variables", variables.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_no_account(&app, "gotten").await;
}
