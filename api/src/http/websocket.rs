//! GraphQL over WebSocket (`graphql-transport-ws` and legacy `graphql-ws`) on
//! `/graphql`. We drive async-graphql's protocol state machine ourselves so
//! the connection can be closed from outside it: no `connection_init` in
//! time (4408), credentials revoked or account banned (4401, or 4403 for an
//! expired token: ADR 0016), checked again whenever the bus says the user's
//! sessions, role or status changed, role or suspension changed (4412: the
//! socket's context and subscriptions were authorized for the user as they
//! were, so the client reconnects and subscribes again as it now is),
//! keep-alive pings, clients silent for two ping intervals dropped (4408 as
//! well: a timeout that clients such as `graphql-ws` retry, where a 1011 is
//! fatal to them), a write that a client doesn't take within the send timeout
//! drops the socket, and caps on connections per user and subscriptions per
//! connection.

use std::{
    collections::HashMap,
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::{
    Data,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as Protocol, WebSocketProtocols, WsMessage},
};
use axum::{
    body::Bytes,
    extract::{
        FromRequestParts, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use futures_util::{
    SinkExt, StreamExt, future,
    stream::{self, BoxStream},
};
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::HttpState;
use crate::{
    auth::{Auth, ClientInfo},
    error::{AppError, Refusal},
    graphql::{
        context::{Loaders, RequestContext},
        cost::Spender,
        persisted,
    },
    modules::identity::{domain::Role, selectors},
    realtime::{Channel, bus::Signal, delivery::SubscriptionSlots},
    telemetry::traces::Caller,
};

/// Open WebSockets and event streams per user on this process.
#[derive(Default)]
pub struct Sockets(Mutex<HashMap<Uuid, usize>>);

/// Holds one of a user's socket slots until dropped.
pub(super) struct SocketSlot(Arc<Sockets>, Uuid);

impl Sockets {
    pub(super) fn take(self: &Arc<Self>, user: Uuid, max: usize) -> Option<SocketSlot> {
        let mut open = self.0.lock().expect("sockets lock");
        let count = open.entry(user).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SocketSlot(self.clone(), user))
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.0.0.lock().expect("sockets lock");
        if let Some(count) = open.get_mut(&self.1) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// Who signed in on the socket, to check again when told their credentials changed.
struct Signed {
    token: String,
    role: Role,
    suspended: bool,
    /// The user's credentials channel, until the socket's loop takes it.
    changes: Option<broadcast::Receiver<Signal>>,
    _slot: SocketSlot,
}

/// What checking a signed-in connection's credentials again found.
pub(super) enum Recheck {
    /// Still good (or couldn't be checked: an outage, and the credentials may be fine).
    Keep,
    /// Good, but the user's role or suspension changed: the connection was
    /// authorized as the user was, so the client reconnects (4412).
    Reconnect(&'static str),
    /// Refused (ADR 0016): revoked, banned, expired.
    Refused(Refusal),
}

/// Checks a connection's credentials again after its user's changed.
pub(super) async fn recheck(state: &HttpState, token: &str, role: Role, suspended: bool) -> Recheck {
    match selectors::authenticate(&state.app, token).await {
        Ok(viewer) if viewer.role != role => Recheck::Reconnect("Role changed: reconnect"),
        Ok(viewer) if viewer.suspended != suspended => Recheck::Reconnect("Standing changed: reconnect"),
        Err(AppError::Refused(refusal)) => Recheck::Refused(refusal),
        Ok(_) | Err(_) => Recheck::Keep,
    }
}

/// The socket's writes, each given up after the send timeout: a client that
/// stopped reading (its buffers full) must not hold the loop, whose pings
/// and checks would stop with it.
struct Writer {
    sink: futures_util::stream::SplitSink<WebSocket, Message>,
    timeout: Duration,
}

impl Writer {
    /// False when the message couldn't be written in time: drop the socket.
    async fn send(&mut self, message: Message) -> bool {
        matches!(tokio::time::timeout(self.timeout, self.sink.send(message)).await, Ok(Ok(())))
    }
}

type Changes = BoxStream<'static, Result<Signal, RecvError>>;

/// The user's credentials channel as a stream: its wait is made once, not
/// anew (and registered with the channel again) in every turn of the loop.
fn changes(rx: broadcast::Receiver<Signal>) -> Changes {
    stream::unfold(rx, |mut rx| async move { Some((rx.recv().await, rx)) }).boxed()
}

/// The next signal on the user's credentials channel; never, before sign-in.
async fn changed(changes: &mut Option<Changes>) -> Result<Signal, RecvError> {
    match changes.as_mut() {
        Some(changes) => changes.next().await.unwrap_or(Err(RecvError::Closed)),
        None => future::pending().await,
    }
}

pub async fn upgrade(state: HttpState, client: ClientInfo, parts: &mut Parts) -> Response {
    let protocol = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| protocols.split(',').find_map(|p| WebSocketProtocols::from_str(p.trim()).ok()));
    let Some(protocol) = protocol else {
        return (StatusCode::BAD_REQUEST, "unsupported WebSocket subprotocol").into_response();
    };
    let caller = state.app.traces.caller(&parts.headers);
    match WebSocketUpgrade::from_request_parts(parts, &()).await {
        // GraphQL messages are small: the default 128 KiB read buffer, filled
        // in for every socket, would cost as much for each idle subscriber; a
        // larger message grows it (docs/benchmarks.md).
        Ok(upgrade) => upgrade
            .read_buffer_size(512)
            .write_buffer_size(0)
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .on_upgrade(move |socket| serve(state, client, caller, protocol, socket)),
        Err(rejection) => rejection.into_response(),
    }
}

/// A `subscribe` message may name its document by `documentId` (as over
/// HTTP); async-graphql's protocol would drop the field, so it moves to where
/// persisted ids are read before the protocol parses the message.
fn lift_document_id(message: Bytes) -> Bytes {
    if !persisted::mentions_document_id(&message) {
        return message;
    }
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&message) else { return message };
    match json.get_mut("payload") {
        Some(payload) => persisted::lift_document_id(payload),
        None => return message,
    }
    serde_json::to_vec(&json).map_or(message, Bytes::from)
}

fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

async fn serve(
    state: HttpState,
    client: ClientInfo,
    caller: Option<Caller>,
    protocol: WebSocketProtocols,
    socket: WebSocket,
) {
    let config = &state.app.config;
    let (sink, stream) = socket.split();
    let mut sink = Writer { sink, timeout: Duration::from_secs(config.ws_send_timeout_secs.max(1)) };
    // Any inbound frame (a pong too) proves the client alive: milliseconds since `opened`.
    let opened = Instant::now();
    let last_inbound = Arc::new(AtomicU64::new(0));
    let heard = last_inbound.clone();
    let incoming = stream
        .inspect(move |_| heard.store(millis_since(opened), Ordering::Relaxed))
        .take_while(|m| future::ready(m.is_ok()))
        .filter_map(|m| {
            future::ready(match m {
                Ok(Message::Text(text)) => Some(lift_document_id(Bytes::from(text))),
                Ok(Message::Binary(bytes)) => Some(lift_document_id(bytes)),
                _ => None,
            })
        });
    let initialized = Arc::new(AtomicBool::new(false));
    let signed: Arc<Mutex<Option<Signed>>> = Arc::default();
    let slots = SubscriptionSlots::new(config.ws_max_subscriptions);

    // Why `connection_init` was refused: async-graphql closes with 1002,
    // which `graphql-ws` never retries, so the close code comes from here.
    let refusal: Arc<Mutex<Option<(u16, &'static str)>>> = Arc::default();
    let init = {
        let (state, initialized, signed, refusal) =
            (state.clone(), initialized.clone(), signed.clone(), refusal.clone());
        move |payload: serde_json::Value| async move {
            let token = ["authToken", "token", "Authorization", "authorization"]
                .iter()
                .find_map(|key| payload.get(*key).and_then(|v| v.as_str()))
                .map(|t| t.strip_prefix("Bearer ").unwrap_or(t).trim().to_owned())
                .filter(|t| !t.is_empty());
            let auth = match &token {
                Some(token) => match selectors::authenticate(&state.app, token).await {
                    Ok(viewer) => Auth::Viewer(viewer),
                    Err(err) => {
                        let closing = match &err {
                            AppError::Refused(refusal) => (refusal.close_code(), refusal.reason()),
                            // Couldn't check (an outage): a code clients retry.
                            _ => (1013, "UNAVAILABLE"),
                        };
                        *refusal.lock().expect("refusal lock") = Some(closing);
                        return Err(async_graphql::Error::from(err));
                    }
                },
                None => Auth::Anonymous,
            };
            let spender = Spender::of(&auth, token.as_deref(), &client);
            if let (Auth::Viewer(viewer), Some(token)) = (&auth, token) {
                let max = state.app.config.ws_max_connections_per_user;
                let slot = state.sockets.take(viewer.uuid, max).ok_or_else(|| {
                    async_graphql::Error::new(format!("too many connections: at most {max} per user"))
                })?;
                // Only this user's credential changes wake the socket. One
                // published while `authenticate` answered is missed (until a
                // resync): the window is that of one query's reply.
                let changes = Some(state.app.bus.subscribe(Channel::Credentials(viewer.id)));
                let (role, suspended) = (viewer.role, viewer.suspended);
                *signed.lock().expect("signed lock") = Some(Signed { token, role, suspended, changes, _slot: slot });
            }
            initialized.store(true, Ordering::SeqCst);
            let mut data = Data::default();
            data.insert(RequestContext::new(auth, client));
            data.insert(Loaders::spawned(&state.app.db));
            data.insert(slots);
            // What the socket's operations spend from, and the trace they join (ADR 0030).
            data.insert(spender);
            if let Some(caller) = caller {
                data.insert(caller);
            }
            Ok(data)
        }
    };
    let mut graphql = std::pin::pin!(Protocol::new(state.schema.clone(), incoming, protocol).on_connection_init(init));

    let mut changes = None;
    let init_deadline = tokio::time::sleep(Duration::from_secs(config.ws_init_timeout_secs));
    tokio::pin!(init_deadline);
    let period = Duration::from_secs(config.ws_ping_secs.max(1));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    // Made once: a wait made anew in each turn of the loop registers and
    // unregisters with the watch for every frame written.
    let mut stopping = state.stopping.clone();
    let stopping = async move { drop(stopping.wait_for(|stopping| *stopping).await) };
    tokio::pin!(stopping);

    loop {
        if changes.is_none() && initialized.load(Ordering::SeqCst) {
            changes = signed.lock().expect("signed lock").as_mut().and_then(|s| s.changes.take()).map(self::changes);
        }
        tokio::select! {
            message = graphql.next() => match message {
                Some(WsMessage::Text(text)) => {
                    if !sink.send(Message::Text(text.into())).await {
                        break;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    let (code, reason) = match refusal.lock().expect("refusal lock").take() {
                        Some((code, why)) => (code, format!("{why}: {reason}")),
                        None => (code, reason),
                    };
                    let _ = sink.send(close(code, &reason)).await;
                    break;
                }
                None => break,
            },
            () = &mut stopping => {
                // Going away: `graphql-ws` reconnects (to another replica) and resumes by cursor.
                let _ = sink.send(close(1001, "Server shutting down")).await;
                break;
            }
            () = &mut init_deadline, if !initialized.load(Ordering::SeqCst) => {
                let _ = sink.send(close(4408, "Connection initialisation timeout")).await;
                break;
            }
            _ = ping.tick() => {
                let silent_ms = millis_since(opened).saturating_sub(last_inbound.load(Ordering::Relaxed));
                if Duration::from_millis(silent_ms) > 2 * period {
                    let _ = sink.send(close(4408, "Keep-alive timeout")).await;
                    break;
                }
                if !sink.send(Message::Ping(Bytes::new())).await {
                    break;
                }
            }
            signal = changed(&mut changes) => {
                if matches!(signal, Err(RecvError::Closed)) {
                    changes = None;
                    continue;
                }
                // An event on the channel concerns this user; a resync or a lag
                // means one might have been missed: check either way.
                let signed = signed.lock().expect("signed lock").as_ref().map(|s| (s.token.clone(), s.role, s.suspended));
                let Some((token, role, suspended)) = signed else { continue };
                // Boxed: the loop's future would otherwise keep room for a database read.
                let (code, reason) = match Box::pin(recheck(&state, &token, role, suspended)).await {
                    Recheck::Keep => continue,
                    Recheck::Reconnect(reason) => (4412, reason),
                    Recheck::Refused(refusal) => (refusal.close_code(), refusal.reason()),
                };
                let _ = sink.send(close(code, reason)).await;
                break;
            }
        }
    }
}
