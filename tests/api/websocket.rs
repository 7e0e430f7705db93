//! WebSocket transport: both subprotocols, token in `connection_init`, keep-alive.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
use xpr_tests::{TestApp, WsEvent};

async fn connect(
    app: &TestApp,
    protocol: &'static str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = format!("{}/graphql", app.url.replace("http", "ws")).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
    let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("websocket upgrade");
    assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
    socket
}

async fn next_json(
    socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        match socket.next().await.expect("a message").expect("no socket error") {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => {
                return json!({
                    "closed": frame.as_ref().map(|f| u16::from(f.code)),
                    "reason": frame.map(|f| f.reason.to_string()),
                });
            }
            _ => continue,
        }
    }
}

#[tokio::test]
async fn graphql_transport_ws_authenticates_in_connection_init_by_token_or_authorization_header() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    // GraphiQL sends its header editor's headers as the payload.
    let graphiql = json!({ "Authorization": format!("Bearer {}", alice.access) });
    for payload in [json!({ "authToken": alice.access }), graphiql] {
        let mut socket = connect(&app, "graphql-transport-ws").await;
        socket.send(Message::text(json!({ "type": "connection_init", "payload": payload }).to_string())).await.unwrap();
        assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ viewer { handle } }" } });
        socket.send(Message::text(subscribe.to_string())).await.unwrap();
        let next = next_json(&mut socket).await;
        assert_eq!(next["type"], "next");
        assert_eq!(next["payload"]["data"]["viewer"]["handle"], "alice", "signed in by {payload}");
        assert_eq!(next_json(&mut socket).await["type"], "complete");
    }
}

#[tokio::test]
async fn legacy_graphql_ws_is_supported() {
    let app = TestApp::spawn().await;
    let mut socket = connect(&app, "graphql-ws").await;
    socket.send(Message::text(json!({ "type": "connection_init", "payload": {} }).to_string())).await.unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({ "id": "1", "type": "start", "payload": { "query": "{ viewer { id } }" } }).to_string(),
        ))
        .await
        .unwrap();
    let data = next_json(&mut socket).await;
    assert_eq!(data["type"], "data");
    assert_eq!(data["payload"]["data"]["viewer"], Value::Null);
}

#[tokio::test]
async fn a_bad_token_in_connection_init_closes_the_socket() {
    let app = TestApp::spawn().await;
    let mut socket = connect(&app, "graphql-transport-ws").await;
    socket
        .send(Message::text(json!({ "type": "connection_init", "payload": { "authToken": "garbage" } }).to_string()))
        .await
        .unwrap();
    let reply = next_json(&mut socket).await;
    // Not 1002 (async-graphql's): `graphql-ws` must not retry a token that will never verify.
    assert_eq!(reply["closed"], 4401, "{reply}");
    assert!(reply["reason"].as_str().unwrap().starts_with("TOKEN_INVALID"), "{reply}");
}

#[tokio::test]
async fn an_expired_token_in_connection_init_closes_with_a_code_clients_retry() {
    let app = TestApp::spawn_with(&["--access-token-ttl-secs", "1"]).await;
    let alice = app.register("alice").await;
    // Past the lifetime and the server's 5 s leeway, at whole-second precision.
    tokio::time::sleep(std::time::Duration::from_millis(7500)).await;
    let mut socket = connect(&app, "graphql-transport-ws").await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", alice.access) } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let reply = next_json(&mut socket).await;
    assert_eq!(reply["closed"], 4403, "{reply}");
    assert!(reply["reason"].as_str().unwrap().starts_with("TOKEN_EXPIRED"), "{reply}");
}

#[tokio::test]
async fn a_client_silent_for_two_ping_intervals_is_closed_and_one_answering_pings_stays_open() {
    let app = TestApp::spawn_with(&["--ws-ping-secs", "1"]).await;
    let alice = app.register("alice").await;
    let mut deaf = app.ws(Some(&alice.access)).await;
    let mut answering = app.ws(Some(&alice.access)).await;
    // Only `answering` reads its socket, and so answers the server's pings; `deaf` sends nothing.
    answering.silent(std::time::Duration::from_secs(4)).await;
    assert_eq!(
        deaf.next(std::time::Duration::from_secs(5)).await,
        Some(WsEvent::Closed(4408, "Keep-alive timeout".into()))
    );
    answering.subscribe("1", "{ viewer { handle } }", json!({})).await;
    assert_eq!(answering.next_data("1").await["data"]["viewer"]["handle"], "alice", "still open and served");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    let app = TestApp::spawn_with(&["--ws-send-timeout-secs", "1", "--ws-ping-secs", "60"]).await;
    // A small receive window, so the server's writes back up quickly.
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let address = app.url.trim_start_matches("http://").parse().unwrap();
    let tcp = tcp.connect(address).await.unwrap();
    let mut request = format!("{}/graphql", app.url.replace("http", "ws")).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut socket, _) = tokio_tungstenite::client_async(request, tcp).await.expect("websocket upgrade");
    socket.send(Message::text(json!({ "type": "connection_init" }).to_string())).await.unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    // Each answer is the whole schema (~100 KiB): far more than the kernel's buffers hold.
    let schema = "{ __schema { types { name description fields { name description args { name description } } } } }";
    for id in 0..200 {
        let subscribe = json!({ "id": id.to_string(), "type": "subscribe", "payload": { "query": schema } });
        socket.send(Message::text(subscribe.to_string())).await.unwrap();
    }
    // The client reads nothing for longer than the send timeout…
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    // …so the server gave up on it: draining what was buffered reaches the end of the
    // stream. A server still blocked in its write would resume, and, with pings a
    // minute apart, keep the socket open past this wait.
    let drained = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut answers = 0;
        while let Some(Ok(message)) = socket.next().await {
            answers += usize::from(message.is_text());
        }
        answers
    })
    .await;
    let answers = drained.expect("the server dropped the socket");
    assert!(answers < 200, "the server stopped writing before answering everything: {answers}");
}
