//! GraphQL over Server-Sent Events on `/graphql/stream`: the `graphql-sse`
//! protocol's distinct connections mode, for networks that block WebSockets.
//! One request (POST with a JSON body, or GET with the query string) is one
//! operation; its results are `next` events and its end a `complete` event.
//! The same bearer header, persisted documents, limits and executor as
//! GraphQL over HTTP and WebSocket; per the protocol, what refuses an
//! operation before it runs (a refused token included) is a `next` event with
//! the errors on an accepted stream, not an HTTP error (which `graphql-sse`
//! retries). The stream listens to its user's credentials channel, as a
//! socket does: revoked or banned, it ends with a `next` carrying
//! `UNAUTHENTICATED` and the reason, then `complete`; role or suspension
//! changed (the socket's 4412), or the server stopping (1001), it ends
//! without `complete`, which the client retries.
//! Must not: parse or execute documents itself (`graphql::AppExecutor` does).

use std::{convert::Infallible, sync::Arc, time::Duration};

use async_graphql::{
    Data, Executor, Request, Response, ServerError,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    extract::{Query, Request as HttpRequest, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response as HttpResponse,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use futures_util::{StreamExt, stream::BoxStream};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{
    HttpState,
    websocket::{self, Recheck},
};
use crate::{
    auth::{Auth, ClientInfo},
    error::AppError,
    graphql::{
        coded,
        context::{Loaders, RequestContext},
        cost::Spender,
        persisted,
    },
    modules::identity::{domain::Role, selectors},
    realtime::{Channel, bus::Signal},
};

const EVENT_STREAM: &str = "text/event-stream";

pub async fn post(State(state): State<HttpState>, client: ClientInfo, request: HttpRequest) -> HttpResponse {
    let (parts, body) = request.into_parts();
    if let Some(refused) = not_acceptable(&parts.headers) {
        return refused;
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/json");
    if !is_json {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the operation as application/json").into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, state.app.config.max_body_bytes).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let request = serde_json::from_slice::<serde_json::Value>(&body).and_then(|mut json| {
        persisted::lift_document_id(&mut json);
        serde_json::from_value::<Request>(json)
    });
    match request {
        Ok(request) => stream(state, client, &parts.headers, request, false).await,
        Err(_) => (StatusCode::BAD_REQUEST, "the body is not one GraphQL request in JSON").into_response(),
    }
}

/// For `EventSource`, which can only GET (and set no header: anonymous).
pub async fn get(State(state): State<HttpState>, client: ClientInfo, request: HttpRequest) -> HttpResponse {
    let (parts, _) = request.into_parts();
    if let Some(refused) = not_acceptable(&parts.headers) {
        return refused;
    }
    let Ok(mut request) = async_graphql::http::parse_query_string(parts.uri.query().unwrap_or("")) else {
        return (StatusCode::BAD_REQUEST, "malformed query string").into_response();
    };
    let params = Query::<std::collections::HashMap<String, String>>::try_from_uri(&parts.uri);
    if let Some(id) = params.ok().and_then(|Query(mut params)| params.remove("documentId")) {
        persisted::set_document_id(&mut request, id);
    }
    stream(state, client, &parts.headers, request, true).await
}

fn not_acceptable(headers: &HeaderMap) -> Option<HttpResponse> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let accepted = accept.split(',').any(|t| t.split(';').next().unwrap_or("").trim() == EVENT_STREAM);
    (!accepted).then(|| (StatusCode::NOT_ACCEPTABLE, "accept text/event-stream").into_response())
}

/// Who the stream runs for, to check again when their credentials change.
struct Signed {
    token: String,
    role: Role,
    suspended: bool,
    changes: broadcast::Receiver<Signal>,
    _slot: websocket::SocketSlot,
}

async fn stream(
    state: HttpState,
    client: ClientInfo,
    headers: &HeaderMap,
    mut request: Request,
    get: bool,
) -> HttpResponse {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned())
        .filter(|t| !t.is_empty());
    let (auth, signed) = match &token {
        None => (Auth::Anonymous, None),
        Some(token) => match selectors::authenticate(&state.app, token).await {
            Ok(viewer) => {
                let max = state.app.config.ws_max_connections_per_user;
                let Some(slot) = state.sockets.take(viewer.uuid, max) else {
                    let refused = coded(&format!("too many connections: at most {max} per user"), "FORBIDDEN");
                    return refusal(&state, refused);
                };
                let changes = state.app.bus.subscribe(Channel::Credentials(viewer.id));
                let (role, suspended) = (viewer.role, viewer.suspended);
                let token = token.clone();
                (Auth::Viewer(viewer), Some(Signed { token, role, suspended, changes, _slot: slot }))
            }
            Err(err @ AppError::Refused(_)) => return refusal(&state, server_error(err)),
            // Couldn't check (an outage): a status `graphql-sse` retries.
            Err(_) => {
                let retry = [(header::RETRY_AFTER, HeaderValue::from_static("1"))];
                return (StatusCode::SERVICE_UNAVAILABLE, retry, "could not check the token").into_response();
            }
        },
    };
    if get && let Err(error) = only_reads(&state, &mut request, &auth) {
        return refusal(&state, error);
    }
    let mut data = Data::default();
    // What the operation spends from, and the trace it joins (ADR 0030).
    data.insert(Spender::of(&auth, token.as_deref(), &client));
    if let Some(caller) = state.app.traces.caller(headers) {
        data.insert(caller);
    }
    data.insert(RequestContext::new(auth, client));
    data.insert(Loaders::spawned(&state.app.db));
    let responses = state.schema.execute_stream(request, Some(Arc::new(data)));
    respond(&state, events(state.clone(), responses, signed))
}

/// Over GET, only queries and subscriptions run: a link must not write.
fn only_reads(state: &HttpState, request: &mut Request, auth: &Auth) -> Result<(), ServerError> {
    // The executor resolves the document again: a manifest's text, or text whose hash now matches.
    state.schema.persisted().resolve(request, auth)?;
    state.schema.limits().check_text(&request.query)?;
    let name = request.operation_name.clone();
    let document = request.parsed_query().map_err(|err| coded(&err.message, "GRAPHQL_PARSE_FAILED"))?;
    let kind = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()).map(|op| op.node.ty),
        // One named operation runs without its name.
        (DocumentOperations::Multiple(ops), None) => {
            ops.values().next().filter(|_| ops.len() == 1).map(|op| op.node.ty)
        }
    };
    match kind {
        Some(OperationType::Mutation) => {
            Err(coded("only queries and subscriptions may use GET; send mutations with POST", "METHOD_NOT_ALLOWED"))
        }
        _ => Ok(()),
    }
}

fn server_error(err: AppError) -> ServerError {
    let err = async_graphql::Error::from(err);
    let mut error = ServerError::new(err.message, None);
    error.extensions = err.extensions;
    error
}

/// A stream refused before execution: one `next` with the error, then `complete`.
fn refusal(state: &HttpState, error: ServerError) -> HttpResponse {
    let events = futures_util::stream::iter([next(Response::from_errors(vec![error])), complete()]);
    respond(state, events.boxed())
}

fn respond(state: &HttpState, events: BoxStream<'static, SseEvent>) -> HttpResponse {
    let keep_alive = KeepAlive::new().interval(Duration::from_secs(state.app.config.ws_ping_secs.max(1)));
    let mut response = Sse::new(events.map(Ok::<_, Infallible>)).keep_alive(keep_alive).into_response();
    // Proxies that buffer responses (nginx) would hold events back.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn next(mut response: Response) -> SseEvent {
    super::graphql::fill_codes(&mut response);
    let json = serde_json::to_string(&response).unwrap_or_else(|_| r#"{"errors":[{"message":"INTERNAL"}]}"#.into());
    SseEvent::default().event("next").data(json)
}

fn complete() -> SseEvent {
    // `EventSource` drops an event without data (and would then reconnect,
    // running the operation again); axum writes no field for empty data.
    // `graphql-sse` reads `null` as no data.
    SseEvent::default().event("complete").data("null")
}

/// The operation's results as events, until it completes, the user's
/// credentials change so that the stream must end, or the server stops.
fn events(
    state: HttpState,
    responses: BoxStream<'static, Response>,
    signed: Option<Signed>,
) -> BoxStream<'static, SseEvent> {
    struct Open {
        state: HttpState,
        responses: BoxStream<'static, Response>,
        signed: Option<Signed>,
        /// The last events to send, in reverse, once the stream is ending.
        ending: Option<Vec<SseEvent>>,
    }
    let open = Open { state, responses, signed, ending: None };
    futures_util::stream::unfold(open, |mut open| async move {
        if let Some(ending) = &mut open.ending {
            return ending.pop().map(|event| (event, open));
        }
        let mut stopping = open.state.stopping.clone();
        let ending = loop {
            tokio::select! {
                response = open.responses.next() => match response {
                    Some(response) => return Some((next(response), open)),
                    None => break vec![complete()],
                },
                signal = changed(&mut open.signed) => {
                    if matches!(signal, Err(RecvError::Closed)) {
                        open.signed = None;
                        continue;
                    }
                    let Some(s) = &open.signed else { continue };
                    match websocket::recheck(&open.state, &s.token, s.role, s.suspended).await {
                        Recheck::Keep => continue,
                        // Ended without `complete`: the client connects again, as the user now is.
                        Recheck::Reconnect(_) => break Vec::new(),
                        // Why, then `complete`: the client must not retry.
                        Recheck::Refused(refusal) => {
                            let error = server_error(AppError::Refused(refusal));
                            break vec![complete(), next(Response::from_errors(vec![error]))];
                        }
                    }
                }
                // Going away: the client connects again (to another replica) and resumes by cursor.
                () = async { drop(stopping.wait_for(|stopping| *stopping).await) } => break Vec::new(),
            }
        };
        open.ending = Some(ending);
        let event = open.ending.as_mut().and_then(Vec::pop)?;
        Some((event, open))
    })
    .boxed()
}

async fn changed(signed: &mut Option<Signed>) -> Result<Signal, RecvError> {
    match signed {
        Some(s) => s.changes.recv().await,
        None => futures_util::future::pending().await,
    }
}
